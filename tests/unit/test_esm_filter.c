// test_esm_filter.c: FilterCriteria matching (esm/filter.h): every operator, AND/OR, nesting,
// arrays, JSON vs plain-string values, non-UTF-8 values, metadata keys, bounds, and the exact
// validation messages (through esm_config_parse_text too).
//
// Tables write JSON with single quotes ('), turned into double quotes before use. The cases
// marked [doc] restate, with our own data, the examples of the AWS Lambda developer guide pages
// "Filtering events from Amazon MSK and self-managed Apache Kafka event sources"
// (https://docs.aws.amazon.com/lambda/latest/dg/kafka-filtering.html) and "Control which events
// Lambda sends to your function" (https://docs.aws.amazon.com/lambda/latest/dg/
// invocation-eventfiltering.html: the comparison operator table and the Kafka/MQ table).
#include "esm/config.h"
#include "esm/filter.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// q returns a heap copy of |s| with ' replaced by ".
static char *q(const char *s)
{
    char *out = strdup(s);
    assert_non_null(out);
    for (char *p = out; *p; p++) {
        if (*p == '\'') {
            *p = '"';
        }
    }
    return out;
}

// The record of the doc example: mytopic-0 offset 15, CREATE_TIME, key "k1".
static struct inv_record rec_of(const void *value, size_t len, bool null_value)
{
    struct inv_record r;
    memset(&r, 0, sizeof r);
    r.topic = "mytopic";
    r.topic_len = 7;
    r.partition = 0;
    r.offset = 15;
    r.timestamp = 1545084650987;
    r.ts_type = INV_TS_CREATE_TIME;
    r.key = inv_bytes_of("k1", 2);
    r.value = null_value ? inv_bytes_null() : inv_bytes_of(value, len);
    return r;
}

// match_text: does the single pattern |pat| match a record whose value is the text |val|
// (NULL: a null value)?
static bool match_text(const char *pat, const char *val)
{
    char *p = q(pat);
    char *v = val ? q(val) : NULL;
    char why[200];
    const char *pats[1] = {p};
    struct esm_filter *f = esm_filter_new(pats, 1, NULL, why, sizeof why);
    if (!f) {
        fprintf(stderr, "pattern %s: %s\n", p, why);
    }
    assert_non_null(f);
    struct inv_record r = rec_of(v, v ? strlen(v) : 0, v == NULL);
    bool m = esm_filter_match(f, &r);
    esm_filter_free(f);
    free(p);
    free(v);
    return m;
}

struct mcase {
    const char *pattern;
    const char *value; // NULL: null value
    bool expect;
};

static void run_cases(const struct mcase *c, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        bool got = match_text(c[i].pattern, c[i].value);
        if (got != c[i].expect) {
            fprintf(stderr, "case %zu: pattern %s value %s: expected %s, got %s\n", i, c[i].pattern,
                    c[i].value ? c[i].value : "(null)", c[i].expect ? "match" : "no match",
                    got ? "match" : "no match");
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void test_kafka_doc_examples(void **state)
{
    (void)state;
    static const struct mcase cases[] = {
        // [doc] a JSON value filtered on a prefix of one field.
        {"{'value':{'device_ID':[{'prefix':'AB'}]}}",
         "{'device_ID':'AB7781','session':{'start_time':'2026-01-02T03:04:05','duration':97}}",
         true},
        {"{'value':{'device_ID':[{'prefix':'AB'}]}}", "{'device_ID':'XB7781'}", false},
        {"{'value':{'device_ID':[{'prefix':'AB'}]}}", "{'other':'AB'}", false},
        // [doc] a plain-string value: ignore the records that are exactly "error".
        {"{'value':[{'anything-but':['error']}]}", "error", false},
        {"{'value':[{'anything-but':['error']}]}", "all fine", true},
        {"{'value':[{'anything-but':['error']}]}", "", true},
        // [doc] Kafka table: JSON value + plain-string pattern, or plain value + JSON pattern:
        // only the metadata parts are evaluated (here there are none: the record passes).
        {"{'value':[{'anything-but':['error']}]}", "{'level':'error'}", true},
        {"{'value':{'device_ID':[{'prefix':'AB'}]}}", "XB7781 plain text", true},
        {"{'partition':[3],'value':{'device_ID':[{'prefix':'AB'}]}}", "XB7781 plain", false},
        {"{'partition':[0],'value':{'device_ID':[{'prefix':'AB'}]}}", "XB7781 plain", true},
        {"{'partition':[0],'value':{'device_ID':[{'prefix':'AB'}]}}", "{'device_ID':'XB'}", false},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_operator_table(void **state)
{
    (void)state;
    static const struct mcase cases[] = {
        // [doc] Null
        {"{'value':{'UserID':[null]}}", "{'UserID':null}", true},
        {"{'value':{'UserID':[null]}}", "{'UserID':'u-17'}", false},
        {"{'value':{'UserID':[null]}}", "{'Other':1}", false},
        // [doc] Empty
        {"{'value':{'LastName':['']}}", "{'LastName':''}", true},
        {"{'value':{'LastName':['']}}", "{'LastName':'Okafor'}", false},
        // [doc] Equals
        {"{'value':{'Name':['Alice']}}", "{'Name':'Alice'}", true},
        {"{'value':{'Name':['Alice']}}", "{'Name':'alice'}", false},
        {"{'value':{'Name':['Alice']}}", "{'Name':'Alice '}", false},
        // [doc] And
        {"{'value':{'Location':['New York'],'Day':['Monday']}}",
         "{'Location':'New York','Day':'Monday'}", true},
        {"{'value':{'Location':['New York'],'Day':['Monday']}}",
         "{'Location':'New York','Day':'Friday'}", false},
        {"{'value':{'Location':['New York'],'Day':['Monday']}}", "{'Location':'New York'}", false},
        // [doc] Or
        {"{'value':{'PaymentType':['Credit','Debit']}}", "{'PaymentType':'Debit'}", true},
        {"{'value':{'PaymentType':['Credit','Debit']}}", "{'PaymentType':'Cash'}", false},
        // [doc] Or across fields ($or)
        {"{'value':{'$or':[{'Location':['New York']},{'Day':['Monday']}]}}",
         "{'Location':'Lagos','Day':'Monday'}", true},
        {"{'value':{'$or':[{'Location':['New York']},{'Day':['Monday']}]}}",
         "{'Location':'Lagos','Day':'Sunday'}", false},
        {"{'value':{'Kind':['order'],'$or':[{'Qty':[{'numeric':['>',9]}]},{'Rush':[true]}]}}",
         "{'Kind':'order','Qty':3,'Rush':true}", true},
        {"{'value':{'Kind':['order'],'$or':[{'Qty':[{'numeric':['>',9]}]},{'Rush':[true]}]}}",
         "{'Kind':'refund','Qty':30}", false},
        // [doc] Not
        {"{'value':{'Weather':[{'anything-but':['Raining']}]}}", "{'Weather':'Sunny'}", true},
        {"{'value':{'Weather':[{'anything-but':['Raining']}]}}", "{'Weather':'Raining'}", false},
        {"{'value':{'Weather':[{'anything-but':['Raining']}]}}", "{'Wind':'calm'}", false},
        {"{'value':{'Weather':[{'anything-but':'Raining'}]}}", "{'Weather':'Hail'}", true},
        {"{'value':{'Code':[{'anything-but':[400,404]}]}}", "{'Code':200}", true},
        {"{'value':{'Code':[{'anything-but':[400,404]}]}}", "{'Code':404}", false},
        {"{'value':{'Code':[{'anything-but':[400,404]}]}}", "{'Code':'404'}", true},
        {"{'value':{'Env':[{'anything-but':{'prefix':'dev-'}}]}}", "{'Env':'prod-1'}", true},
        {"{'value':{'Env':[{'anything-but':{'prefix':'dev-'}}]}}", "{'Env':'dev-7'}", false},
        {"{'value':{'F':[{'anything-but':{'suffix':'.tmp'}}]}}", "{'F':'a.tmp'}", false},
        {"{'value':{'F':[{'anything-but':{'suffix':'.tmp'}}]}}", "{'F':'a.txt'}", true},
        {"{'value':{'F':[{'anything-but':{'equals-ignore-case':'x'}}]}}", "{'F':'X'}", false},
        // [doc] Numeric (equals)
        {"{'value':{'Price':[{'numeric':['=',100]}]}}", "{'Price':100}", true},
        {"{'value':{'Price':[{'numeric':['=',100]}]}}", "{'Price':100.0}", true},
        {"{'value':{'Price':[{'numeric':['=',100]}]}}", "{'Price':1e2}", true},
        {"{'value':{'Price':[{'numeric':['=',100]}]}}", "{'Price':100.5}", false},
        {"{'value':{'Price':[{'numeric':['=',100]}]}}", "{'Price':'100'}", false},
        // [doc] Numeric (range)
        {"{'value':{'Price':[{'numeric':['>',10,'<=',20]}]}}", "{'Price':10}", false},
        {"{'value':{'Price':[{'numeric':['>',10,'<=',20]}]}}", "{'Price':10.25}", true},
        {"{'value':{'Price':[{'numeric':['>',10,'<=',20]}]}}", "{'Price':20}", true},
        {"{'value':{'Price':[{'numeric':['>',10,'<=',20]}]}}", "{'Price':20.01}", false},
        {"{'value':{'Price':[{'numeric':['>=',-5,'<',0]}]}}", "{'Price':-5}", true},
        {"{'value':{'Price':[{'numeric':['<',0]}]}}", "{'Price':-0.5}", true},
        {"{'value':{'Price':[{'numeric':['>=',1e9]}]}}", "{'Price':4.2e9}", true},
        // [doc] Exists / does not exist
        {"{'value':{'ProductName':[{'exists':true}]}}", "{'ProductName':'lamp'}", true},
        {"{'value':{'ProductName':[{'exists':true}]}}", "{'ProductName':null}", true},
        {"{'value':{'ProductName':[{'exists':true}]}}", "{'Other':'lamp'}", false},
        {"{'value':{'ProductName':[{'exists':false}]}}", "{'Other':'lamp'}", true},
        {"{'value':{'ProductName':[{'exists':false}]}}", "{'ProductName':'lamp'}", false},
        // exists is for leaves: an object is not a leaf, an empty list has none.
        {"{'value':{'P':[{'exists':true}]}}", "{'P':{'x':1}}", false},
        {"{'value':{'P':[{'exists':false}]}}", "{'P':[]}", true},
        // exists combined with a value (ORed): absent or "none".
        {"{'value':{'P':[{'exists':false},'none']}}", "{'P':'none'}", true},
        {"{'value':{'P':[{'exists':false},'none']}}", "{'P':'some'}", false},
        // [doc] Begins with / ends with
        {"{'value':{'Region':[{'prefix':'us-'}]}}", "{'Region':'us-east-2'}", true},
        {"{'value':{'Region':[{'prefix':'us-'}]}}", "{'Region':'eu-west-1'}", false},
        {"{'value':{'Region':[{'prefix':'us-'}]}}", "{'Region':7}", false},
        {"{'value':{'FileName':[{'suffix':'.png'}]}}", "{'FileName':'cat.png'}", true},
        {"{'value':{'FileName':[{'suffix':'.png'}]}}", "{'FileName':'cat.png.gz'}", false},
        // [doc] Equals, ignoring case
        {"{'value':{'Name':[{'equals-ignore-case':'alice'}]}}", "{'Name':'ALiCE'}", true},
        {"{'value':{'Name':[{'equals-ignore-case':'alice'}]}}", "{'Name':'alicia'}", false},
        // Booleans match exactly.
        {"{'value':{'ok':[true]}}", "{'ok':true}", true},
        {"{'value':{'ok':[true]}}", "{'ok':'true'}", false},
        {"{'value':{'ok':[false]}}", "{'ok':false}", true},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_nesting_and_arrays(void **state)
{
    (void)state;
    static const struct mcase cases[] = {
        // [doc] multi-level: a field nested three objects deep.
        {"{'value':{'Keys':{'Id':{'N':['101']}}}}", "{'Keys':{'Id':{'N':'101'}},'Size':26}", true},
        {"{'value':{'Keys':{'Id':{'N':['101']}}}}", "{'Keys':{'Id':{'N':'102'}}}", false},
        {"{'value':{'Keys':{'Id':{'N':['101']}}}}", "{'Keys':{'Id':'101'}}", false},
        {"{'value':{'Keys':{'Id':{'N':['101']}}}}", "{'Keys':'x'}", false},
        // A data array matches if one element does.
        {"{'value':{'tags':['blue']}}", "{'tags':['red','blue']}", true},
        {"{'value':{'tags':['blue']}}", "{'tags':['red','green']}", false},
        {"{'value':{'n':[{'numeric':['=',2]}]}}", "{'n':[1,[5,[2]]]}", true},
        // An object pattern against an array of objects: one element must match all of it.
        {"{'value':{'items':{'sku':['B2'],'qty':[1]}}}",
         "{'items':[{'sku':'A1','qty':1},{'sku':'B2','qty':1}]}", true},
        {"{'value':{'items':{'sku':['B2'],'qty':[1]}}}",
         "{'items':[{'sku':'A1','qty':1},{'sku':'B2','qty':2}]}", false},
        // A top-level JSON array value.
        {"{'value':{'id':[7]}}", "[{'id':3},{'id':7}]", true},
        {"{'value':{'id':[7]}}", "[{'id':3}]", false},
        // Duplicate keys in the pattern: the last one counts.
        {"{'value':{'k':['hello'],'k':['world']}}", "{'k':'world'}", true},
        {"{'value':{'k':['hello'],'k':['world']}}", "{'k':'hello'}", false},
        // Whitespace around a JSON value is allowed; trailing text makes it a plain string.
        {"{'value':{'a':[1]}}", "  {'a':1}\n", true},
        {"{'value':['{\\'a\\':1} tail']}", "{'a':1} tail", true},
        // A JSON scalar is a plain string for filtering.
        {"{'value':['42']}", "42", true},
        {"{'value':[{'numeric':['>',1]}]}", "42", false},
        // An empty pattern matches everything; an empty rule list matches nothing.
        {"{}", "anything", true},
        {"{'value':{'a':[]}}", "{'a':1}", false},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_metadata(void **state)
{
    (void)state;
    static const struct mcase cases[] = {
        {"{'topic':['mytopic']}", "x", true},
        {"{'topic':[{'prefix':'other'}]}", "x", false},
        {"{'partition':[0]}", "x", true},
        {"{'partition':[1,2]}", "x", false},
        {"{'offset':[{'numeric':['>=',15]}]}", "x", true},
        {"{'offset':[{'numeric':['>',15]}]}", "x", false},
        {"{'timestamp':[{'numeric':['>',1545084650000]}]}", "x", true},
        {"{'timestampType':['CREATE_TIME']}", "x", true},
        {"{'timestampType':['LOG_APPEND_TIME']}", "x", false},
        {"{'key':['azE=']}", "x", true}, // base64 of "k1", as in the event
        {"{'key':['k1']}", "x", false},
        {"{'headers':[{'exists':false}]}", "x", true},
        {"{'headers':[{'exists':true}]}", "x", false},
        {"{'unknownName':['x']}", "x", false},
        {"{'topic':{'x':['y']}}", "x", false},
        // Metadata ANDed with value; $or at the top across metadata and value.
        {"{'topic':['mytopic'],'value':{'a':['b']}}", "{'a':'b'}", true},
        {"{'topic':['mytopic'],'value':{'a':['b']}}", "{'a':'c'}", false},
        {"{'$or':[{'partition':[5]},{'value':{'a':['b']}}]}", "{'a':'b'}", true},
        {"{'$or':[{'partition':[5]},{'value':{'a':['b']}}]}", "{'a':'c'}", false},
        // A null value is an absent field.
        {"{'value':{'a':['b']}}", NULL, false},
        {"{'value':[{'exists':false}]}", NULL, true},
        {"{'value':[{'exists':true}]}", NULL, false},
        {"{'partition':[0]}", NULL, true},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static bool match_bytes(const char *pat, const uint8_t *v, size_t len)
{
    char *p = q(pat);
    const char *pats[1] = {p};
    char why[200];
    struct esm_filter *f = esm_filter_new(pats, 1, NULL, why, sizeof why);
    assert_non_null(f);
    struct inv_record r = rec_of(v, len, false);
    bool m = esm_filter_match(f, &r);
    esm_filter_free(f);
    free(p);
    return m;
}

static void test_not_utf8(void **state)
{
    (void)state;
    // [doc] Kafka table: a value that is not UTF-8: only the metadata parts are evaluated.
    static const uint8_t latin1[] = {'c', 'a', 'f', 0xe9};       // ISO-8859-1 "café"
    static const uint8_t overlong[] = {'{', '}', 0xc0, 0xaf};    // overlong '/'
    static const uint8_t surrogate[] = {'a', 0xed, 0xa0, 0x80};  // U+D800
    static const uint8_t too_big[] = {0xf4, 0x90, 0x80, 0x80};   // U+110000
    static const uint8_t cut[] = {'a', 0xe2, 0x82};              // truncated sequence
    static const uint8_t good[] = {'c', 'a', 'f', 0xc3, 0xa9};   // UTF-8 "café"
    static const uint8_t four[] = {0xf0, 0x9f, 0x98, 0x80, 'x'}; // U+1F600 then x
    const char *str_pat = "{'value':[{'prefix':'zzz'}]}";
    const char *meta_pat = "{'partition':[9],'value':[{'prefix':'c'}]}";
    const uint8_t *bad[] = {latin1, overlong, surrogate, too_big, cut};
    size_t bad_len[] = {sizeof latin1, sizeof overlong, sizeof surrogate, sizeof too_big,
                        sizeof cut};
    for (size_t i = 0; i < 5; i++) {
        assert_true(match_bytes(str_pat, bad[i], bad_len[i]));   // value part skipped
        assert_false(match_bytes(meta_pat, bad[i], bad_len[i])); // metadata still decides
    }
    assert_false(match_bytes(str_pat, good, sizeof good)); // valid UTF-8: the rule applies
    assert_true(match_bytes("{'value':[{'suffix':'\xc3\xa9'}]}", good, sizeof good));
    assert_true(match_bytes("{'value':[{'suffix':'x'}]}", four, sizeof four));
    assert_false(match_bytes("{'value':[{'prefix':'x'}]}", four, sizeof four));
}

static void test_several_filters(void **state)
{
    (void)state;
    char *a = q("{'value':{'kind':['a']}}");
    char *b = q("{'value':{'kind':['b']}}");
    const char *pats[2] = {a, b};
    char why[200];
    struct esm_filter *f = esm_filter_new(pats, 2, NULL, why, sizeof why);
    assert_non_null(f);
    assert_int_equal(esm_filter_count(f), 2);
    const char *vals[] = {"{\"kind\":\"a\"}", "{\"kind\":\"b\"}", "{\"kind\":\"c\"}"};
    bool want[] = {true, true, false};
    for (size_t i = 0; i < 3; i++) {
        struct inv_record r = rec_of(vals[i], strlen(vals[i]), false);
        assert_int_equal(esm_filter_match(f, &r), want[i]);
    }
    esm_filter_free(f);
    free(a);
    free(b);
    // No filter at all (NULL) and zero patterns match everything.
    struct inv_record r = rec_of("x", 1, false);
    assert_true(esm_filter_match(NULL, &r));
    f = esm_filter_new(NULL, 0, NULL, why, sizeof why);
    assert_non_null(f);
    assert_true(esm_filter_match(f, &r));
    esm_filter_free(f);
}

struct bad_case {
    const char *pattern;
    const char *why;
};

static void test_invalid_patterns(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"not json", "pattern is not a JSON object"},
        {"[1]", "pattern is not a JSON object"},
        {"{'a':[1]} trailing", "pattern is not a JSON object"},
        {"{'value':{'price':[{'numberic':['>',1]}]}}",
         "unknown operator 'numberic' at value.price"},
        {"{'a':'x'}", "a must be an object or a list of rules"},
        {"{'a':5}", "a must be an object or a list of rules"},
        {"{'a':[[1]]}",
         "a rule at a must be a string, number, boolean, null or an operator object"},
        {"{'a':[{'prefix':'x','suffix':'y'}]}",
         "a rule object at a must have exactly one operator"},
        {"{'a':[{}]}", "a rule object at a must have exactly one operator"},
        {"{'a':[{'prefix':1}]}", "'prefix' at a must be a string"},
        {"{'a':[{'suffix':null}]}", "'suffix' at a must be a string"},
        {"{'a':[{'equals-ignore-case':['x']}]}", "'equals-ignore-case' at a must be a string"},
        {"{'a':[{'exists':'yes'}]}", "'exists' at a must be true or false"},
        {"{'a':[{'numeric':['>']}]}",
         "'numeric' at a must be [operator, number] or ['>' or '>=', number, '<' or '<=', "
         "number]"},
        {"{'a':[{'numeric':'>5'}]}",
         "'numeric' at a must be [operator, number] or ['>' or '>=', number, '<' or '<=', "
         "number]"},
        {"{'a':[{'numeric':['~',5]}]}", "unknown numeric operator '~' at a (use =, <, <=, >, >=)"},
        {"{'a':[{'numeric':[5,5]}]}",
         "unknown numeric operator a non-string at a (use =, <, <=, >, >=)"},
        {"{'a':[{'numeric':['>','5']}]}",
         "'numeric' at a: operator '>' must be followed by a number"},
        {"{'a':[{'numeric':['<',5,'>',1]}]}",
         "'numeric' range at a must be a lower bound (> or >=) followed by an upper bound (< or "
         "<=)"},
        {"{'a':[{'numeric':['=',5,'<',9]}]}",
         "'numeric' range at a must be a lower bound (> or >=) followed by an upper bound (< or "
         "<=)"},
        {"{'a':[{'numeric':['>',9,'<',1]}]}",
         "'numeric' range at a is empty (lower bound above upper bound)"},
        {"{'a':[{'numeric':['>',1e999]}]}",
         "'numeric' at a: operator '>' must be followed by a number"},
        {"{'a':[1e999]}", "number out of range at a"},
        {"{'a':[{'anything-but':[]}]}",
         "'anything-but' at a must be a string, a number, a non-empty list of them, or an "
         "object with one 'prefix', 'suffix' or 'equals-ignore-case' string"},
        {"{'a':[{'anything-but':[{'x':1}]}]}",
         "'anything-but' at a must be a string, a number, a non-empty list of them, or an "
         "object with one 'prefix', 'suffix' or 'equals-ignore-case' string"},
        {"{'a':[{'anything-but':{'wildcard':'x*'}}]}",
         "unknown operator 'wildcard' inside 'anything-but' at a"},
        {"{'a':[{'anything-but':{'prefix':2}}]}", "'anything-but prefix' at a must be a string"},
        {"{'$or':{'a':[1]}}", "'$or' at the top level must be a non-empty list of pattern objects"},
        {"{'v':{'$or':[]}}", "'$or' at v must be a non-empty list of pattern objects"},
        {"{'v':{'$or':[1]}}", "'$or' at v must be a non-empty list of pattern objects"},
        {"{'v':{'$or':[{'b':[{'bad':1}]}]}}", "unknown operator 'bad' at v.b"},
        {"{'a':{'b':{'c':{'d':{'e':{'f':{'g':{'h':{'i':{'j':{'k':{'l':{'m':{'n':{'o':{'p':"
         "{'q':[1]}}}}}}}}}}}}}}}}}",
         "pattern nests deeper than 16 objects at a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p"},
    };
    size_t bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = q(cases[i].pattern);
        char *w = q(cases[i].why);
        char why[300] = "";
        bool ok = esm_filter_check_pattern(p, why, sizeof why);
        if (ok || strcmp(why, w) != 0) {
            fprintf(stderr, "case %zu: %s\n  expected: %s\n  got:      %s\n", i, p, w,
                    ok ? "(valid)" : why);
            bad++;
        }
        free(p);
        free(w);
    }
    assert_int_equal(bad, 0);
}

static void test_limits(void **state)
{
    (void)state;
    // More than ESM_FILTER_MAX_NODES fields and rules.
    size_t cap = 64 + 12 * (ESM_FILTER_MAX_NODES + 1);
    char *big = malloc(cap);
    assert_non_null(big);
    size_t n = (size_t)snprintf(big, cap, "{\"a\":[");
    for (int i = 0; i <= ESM_FILTER_MAX_NODES; i++) {
        n += (size_t)snprintf(big + n, cap - n, "%s%d", i ? "," : "", i);
    }
    snprintf(big + n, cap - n, "]}");
    char why[200];
    assert_false(esm_filter_check_pattern(big, why, sizeof why));
    assert_string_equal(why, "pattern has more than 1024 fields and rules");
    free(big);
    // More than 10 filters.
    const char *pats[11];
    for (int i = 0; i < 11; i++) {
        pats[i] = "{}";
    }
    size_t which = 99;
    assert_null(esm_filter_new(pats, 11, &which, why, sizeof why));
    assert_string_equal(why, "more than 10 filters");
    // The index of the bad pattern is reported.
    pats[2] = "{\"a\":[{\"nope\":1}]}";
    assert_null(esm_filter_new(pats, 3, &which, why, sizeof why));
    assert_int_equal(which, 2);
    assert_string_equal(why, "unknown operator \"nope\" at a");
}

// A hostile value: a 4 MB JSON array of 500k small objects, against a pattern that descends into
// each of them. It must finish (within the step budget or by running out of it) and not crash.
static void test_hostile_value(void **state)
{
    (void)state;
    size_t count = 500000;
    size_t cap = count * 8 + 16;
    char *v = malloc(cap);
    assert_non_null(v);
    size_t n = 0;
    v[n++] = '[';
    for (size_t i = 0; i < count; i++) {
        n += (size_t)snprintf(v + n, cap - n, "%s{\"a\":1}", i ? "," : "");
    }
    v[n++] = ']';
    const char *pats[1] = {"{\"value\":{\"a\":[2],\"b\":{\"c\":[1]}}}"};
    char why[200];
    struct esm_filter *f = esm_filter_new(pats, 1, NULL, why, sizeof why);
    assert_non_null(f);
    struct inv_record r = rec_of(v, n, false);
    assert_false(esm_filter_match(f, &r)); // no element has a == 2
    assert_int_equal(esm_filter_budget_exceeded(f), 0);
    // 200k-deep nesting is beyond cJSON's nesting limit: a plain string, the JSON pattern is
    // skipped (the record passes on its metadata).
    size_t depth = 200000;
    char *deep = malloc(depth * 2);
    assert_non_null(deep);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    r = rec_of(deep, depth * 2, false);
    assert_true(esm_filter_match(f, &r));
    esm_filter_free(f);
    free(deep);
    free(v);
}

// A pattern of 500 fields against an object of 10000 short keys (80 KB) needs about 5 million
// lookup steps, more than that value's budget (1 M + 32 per byte): the record is delivered and
// counted, not dropped.
static void test_budget_exceeded(void **state)
{
    (void)state;
    size_t pcap = 40 * 500 + 64, vcap = 8 * 10000 + 64;
    char *pat = malloc(pcap), *val = malloc(vcap);
    assert_non_null(pat);
    assert_non_null(val);
    size_t n = (size_t)snprintf(pat, pcap, "{\"value\":{");
    for (int i = 0; i < 500; i++) {
        n += (size_t)snprintf(pat + n, pcap - n, "%s\"f%d\":[{\"exists\":false}]", i ? "," : "", i);
    }
    snprintf(pat + n, pcap - n, "}}");
    n = (size_t)snprintf(val, vcap, "{");
    for (int i = 0; i < 10000; i++) {
        n += (size_t)snprintf(val + n, vcap - n, "%s\"%c%c%c\":0", i ? "," : "", 'a' + i % 26,
                              'a' + i / 26 % 26, 'a' + i / 676 % 26);
    }
    n += (size_t)snprintf(val + n, vcap - n, "}");
    const char *pats[1] = {pat};
    char why[200];
    struct esm_filter *f = esm_filter_new(pats, 1, NULL, why, sizeof why);
    assert_non_null(f);
    struct inv_record r = rec_of(val, n, false);
    assert_true(esm_filter_match(f, &r));
    assert_int_equal(esm_filter_budget_exceeded(f), 1);
    // A small object is within budget: every f<i> is absent, so the pattern matches.
    r = rec_of("{\"k\":1}", 7, false);
    assert_true(esm_filter_match(f, &r));
    assert_int_equal(esm_filter_budget_exceeded(f), 1);
    esm_filter_free(f);
    free(pat);
    free(val);
}

// FilterCriteria validation at Create/Update: the message names the filter and the problem.
static void test_config_messages(void **state)
{
    (void)state;
    const char *req =
        "{\"FunctionName\":\"f\",\"Topics\":[\"orders\"],"
        "\"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b1:9092\"]}},"
        "\"FilterCriteria\":{\"Filters\":[{\"Pattern\":\"{}\"},"
        "{\"Pattern\":\"{\\\"value\\\":{\\\"n\\\":[{\\\"numeric\\\":[\\\">\\\"]}]}}\"}]}}";
    static const struct esm_parse_opts opts = {1764000000.0, "us-east-1", "123456789012"};
    struct esm_config c;
    memset(&c, 0, sizeof c);
    struct esm_cfg_err err;
    assert_false(esm_config_parse_text(&c, req, strlen(req), &opts, &err));
    assert_string_equal(err.message,
                        "1 validation error detected: Value '{\"value\":{\"n\":[{\"numeric\":[\">"
                        "\"]}]}}' at 'FilterCriteria.Filters[1].Pattern' failed to satisfy "
                        "constraint: Member must be a valid filter pattern: \"numeric\" at value.n "
                        "must be [operator, number] or [\">\" or \">=\", number, \"<\" or \"<=\", "
                        "number]");
    // A valid one compiles from the stored criteria.
    const char *ok =
        "{\"FunctionName\":\"f\",\"Topics\":[\"orders\"],"
        "\"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b1:9092\"]}},"
        "\"FilterCriteria\":{\"Filters\":[{\"Pattern\":\"{\\\"partition\\\":[3]}\"}]}}";
    assert_true(esm_config_parse_text(&c, ok, strlen(ok), &opts, &err));
    bool none = true;
    char why[200];
    struct esm_filter *f = esm_filter_from_criteria(c.filter_criteria, &none, why, sizeof why);
    assert_non_null(f);
    assert_false(none);
    struct inv_record r = rec_of("x", 1, false);
    assert_false(esm_filter_match(f, &r));
    r.partition = 3;
    assert_true(esm_filter_match(f, &r));
    esm_filter_free(f);
    esm_config_cleanup(&c);
    // {} and an empty list: no filter.
    cJSON *empty = cJSON_Parse("{}");
    assert_null(esm_filter_from_criteria(empty, &none, why, sizeof why));
    assert_true(none);
    cJSON_Delete(empty);
    empty = cJSON_Parse("{\"Filters\":[]}");
    assert_null(esm_filter_from_criteria(empty, &none, why, sizeof why));
    assert_true(none);
    cJSON_Delete(empty);
    assert_null(esm_filter_from_criteria(NULL, &none, why, sizeof why));
    assert_true(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kafka_doc_examples), cmocka_unit_test(test_operator_table),
        cmocka_unit_test(test_nesting_and_arrays), cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_not_utf8),           cmocka_unit_test(test_several_filters),
        cmocka_unit_test(test_invalid_patterns),   cmocka_unit_test(test_limits),
        cmocka_unit_test(test_hostile_value),      cmocka_unit_test(test_budget_exceeded),
        cmocka_unit_test(test_config_messages),
    };
    return cmocka_run_group_tests_name("esm_filter", tests, NULL, NULL);
}
