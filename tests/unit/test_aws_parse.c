// test_aws_parse.c: the parsers of credential answers (invoke/aws_parse.h) on golden bytes
// (tests/golden/aws), every strict prefix, trailing bytes, hostile XML, the JSON shapes of the
// container endpoint, instance metadata and credential_process, times and command lines.
#include "invoke/aws_parse.h"
#include "tests/lib/golden.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum inv_aws_parse_status sts(struct inv_aws_creds_doc *d, const char *result, const char *s,
                                     size_t n)
{
    struct guarded g;
    guarded_copy(&g, s, n);
    struct inv_err e = {{0}};
    memset(d, 0, sizeof *d);
    enum inv_aws_parse_status st = inv_aws_sts_parse(d, result, (const char *)g.data, n, &e);
    guarded_free(&g);
    return st;
}

static void test_sts_web_identity_golden(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "aws/sts_web_identity.xml");
    struct inv_aws_creds_doc d;
    memset(&d, 0, sizeof d);
    struct inv_err e = {{0}};
    assert_int_equal(
        inv_aws_sts_parse(&d, "AssumeRoleWithWebIdentityResult", (const char *)g.data, g.len, &e),
        INV_AWS_PARSE_OK);
    assert_string_equal(d.access_key_id, "ASgeIAIOSFODNN7EXAMPLE");
    assert_string_equal(d.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
    assert_string_equal(d.session_token, "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE");
    assert_int_equal(d.expiration, 1414191623); // 2014-10-24T23:00:23Z
    inv_aws_creds_doc_cleanup(&d);
    // The wrong result element: well-formed, but no credentials there.
    memset(&d, 0, sizeof d);
    assert_int_equal(inv_aws_sts_parse(&d, "AssumeRoleResult", (const char *)g.data, g.len, &e),
                     INV_AWS_PARSE_MISSING);
    assert_null(d.access_key_id);
    // Every strict prefix fails; one stray byte after the document fails; blanks do not.
    for (size_t n = 0; n < g.len - 1; n++) {
        memset(&d, 0, sizeof d);
        enum inv_aws_parse_status st =
            sts(&d, "AssumeRoleWithWebIdentityResult", (const char *)g.data, n);
        if (st == INV_AWS_PARSE_OK) {
            fail_msg("prefix of %zu bytes parsed", n);
        }
        assert_null(d.secret_access_key);
    }
    char *more = malloc(g.len + 2);
    memcpy(more, g.data, g.len);
    more[g.len] = 'x';
    assert_int_equal(sts(&d, "AssumeRoleWithWebIdentityResult", more, g.len + 1),
                     INV_AWS_PARSE_MALFORMED);
    more[g.len] = ' ';
    assert_int_equal(sts(&d, "AssumeRoleWithWebIdentityResult", more, g.len + 1), INV_AWS_PARSE_OK);
    inv_aws_creds_doc_cleanup(&d);
    free(more);
    guarded_free(&g);
}

static void test_sts_assume_role_xml_features(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "aws/sts_assume_role.xml");
    struct inv_aws_creds_doc d;
    memset(&d, 0, sizeof d);
    struct inv_err e = {{0}};
    assert_int_equal(inv_aws_sts_parse(&d, "AssumeRoleResult", (const char *)g.data, g.len, &e),
                     INV_AWS_PARSE_OK);
    assert_string_equal(d.access_key_id, "ASIAIOSFODNN7EXAMPLE");
    assert_string_equal(d.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
    assert_string_equal(d.session_token,
                        "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW+"
                        "LvVUJ&EXAMPLE==");
    assert_int_equal(d.expiration, 1573302881); // 2019-11-09T12:34:41Z
    inv_aws_creds_doc_cleanup(&d);
    guarded_free(&g);
}

static void test_sts_error_document(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "aws/sts_error.xml");
    struct inv_aws_creds_doc d;
    memset(&d, 0, sizeof d);
    struct inv_err e = {{0}};
    assert_int_equal(
        inv_aws_sts_parse(&d, "AssumeRoleWithWebIdentityResult", (const char *)g.data, g.len, &e),
        INV_AWS_PARSE_SERVICE_ERROR);
    assert_string_equal(d.error_code, "InvalidIdentityToken");
    assert_non_null(strstr(d.error_message, "Couldn't retrieve verification key"));
    inv_aws_creds_doc_cleanup(&d);
    guarded_free(&g);
}

static void test_sts_hostile(void **state)
{
    (void)state;
    struct inv_aws_creds_doc d;
    static const char *const bad[] = {
        // entity definitions (billion laughs) are never expanded: DOCTYPE is refused
        "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>",
        "<x>&unknown;</x>",
        "<x>&#0;</x>",
        "<x>&#xD800;</x>",
        "<x>&#x110000;</x>",
        "<x></y>",
        "<x><y></x></y>",
        "<x a=b></x>",
        "<x a='<'></x>",
        "<x/><y/>",
        "text<x/>",
        "<x>\x01</x>",
        "<x><![CDATA[never closed</x>",
        "<!-- never closed <x/>",
        "<1x/>",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum inv_aws_parse_status st = sts(&d, "AssumeRoleResult", bad[i], strlen(bad[i]));
        if (st != INV_AWS_PARSE_MALFORMED) {
            fail_msg("case %zu (%s): status %d", i, bad[i], st);
        }
    }
    // Nesting beyond 32 levels is a limit, not a crash.
    char deep[1000] = "";
    for (int i = 0; i < 40; i++) {
        strcat(deep, "<a>");
    }
    assert_int_equal(sts(&d, "AssumeRoleResult", deep, strlen(deep)), INV_AWS_PARSE_LIMIT);
    // A credential field above its limit.
    char big[20000];
    int n = snprintf(big, sizeof big,
                     "<R><AssumeRoleResult><Credentials><AccessKeyId>AKIDAKIDAKIDAKID</"
                     "AccessKeyId><SessionToken>");
    memset(big + n, 'A', 16500);
    n += 16500;
    n += snprintf(big + n, sizeof big - (size_t)n,
                  "</SessionToken></Credentials></"
                  "AssumeRoleResult></R>");
    assert_int_equal(sts(&d, "AssumeRoleResult", big, (size_t)n), INV_AWS_PARSE_LIMIT);
    // Values that are not credentials.
    static const char *const missing[] = {
        "<R><AssumeRoleResult><Credentials><AccessKeyId>short</AccessKeyId><SecretAccessKey>s</"
        "SecretAccessKey><SessionToken>t</SessionToken><Expiration>2030-01-01T00:00:00Z</"
        "Expiration></Credentials></AssumeRoleResult></R>",
        "<R><AssumeRoleResult><Credentials><AccessKeyId>AKIDAKIDAKIDAKID</AccessKeyId>"
        "<SecretAccessKey>s s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>"
        "2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></R>",
        "<R><AssumeRoleResult><Credentials><AccessKeyId>AKIDAKIDAKIDAKID</AccessKeyId>"
        "<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>"
        "tomorrow</Expiration></Credentials></AssumeRoleResult></R>",
        "<ErrorResponse><Error><Message>no code</Message></Error></ErrorResponse>",
    };
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        enum inv_aws_parse_status st = sts(&d, "AssumeRoleResult", missing[i], strlen(missing[i]));
        if (st != INV_AWS_PARSE_MISSING) {
            fail_msg("missing case %zu: status %d", i, st);
        }
    }
}

static enum inv_aws_parse_status json(struct inv_aws_creds_doc *d, enum inv_aws_json_kind k,
                                      const char *s, struct inv_err *e)
{
    struct guarded g;
    size_t n = strlen(s);
    guarded_copy(&g, s, n);
    memset(d, 0, sizeof *d);
    memset(e, 0, sizeof *e);
    enum inv_aws_parse_status st = inv_aws_creds_json_parse(d, k, (const char *)g.data, n, e);
    guarded_free(&g);
    return st;
}

static void test_json_answers(void **state)
{
    (void)state;
    struct inv_aws_creds_doc d;
    struct inv_err e;
    // The container endpoint (ECS): RoleArn and AccountId come along and are ignored.
    assert_int_equal(
        json(&d, INV_AWS_JSON_CONTAINER,
             "{\"RoleArn\":\"arn:aws:iam::123456789012:role/t\",\"AccessKeyId\":"
             "\"ASIAIOSFODNN7EXAMPLE\",\"SecretAccessKey\":\"wJalr/K7\",\"Token\":\"tok==\","
             "\"Expiration\":\"2030-01-01T00:00:00Z\",\"AccountId\":\"123456789012\"}",
             &e),
        INV_AWS_PARSE_OK);
    assert_string_equal(d.session_token, "tok==");
    assert_int_equal(d.expiration, 1893456000);
    inv_aws_creds_doc_cleanup(&d);
    // IMDS: Code Success; another Code is the service's error.
    assert_int_equal(json(&d, INV_AWS_JSON_IMDS,
                          "{\"Code\":\"Success\",\"LastUpdated\":\"2030-01-01T00:00:00Z\","
                          "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAIOSFODNN7EXAMPLE\","
                          "\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":"
                          "\"2030-01-01T06:00:00Z\"}",
                          &e),
                     INV_AWS_PARSE_OK);
    inv_aws_creds_doc_cleanup(&d);
    assert_int_equal(json(&d, INV_AWS_JSON_IMDS,
                          "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"EC2 "
                          "cannot assume the role\"}",
                          &e),
                     INV_AWS_PARSE_SERVICE_ERROR);
    assert_string_equal(d.error_code, "AssumeRoleUnauthorizedAccess");
    // credential_process: Version 1; token and expiration optional.
    assert_int_equal(json(&d, INV_AWS_JSON_PROCESS,
                          "{\"Version\":1,\"AccessKeyId\":\"AKIDAKIDAKIDAKID\","
                          "\"SecretAccessKey\":\"secret-VALUE\"}",
                          &e),
                     INV_AWS_PARSE_OK);
    assert_null(d.session_token);
    assert_int_equal(d.expiration, -1);
    inv_aws_creds_doc_cleanup(&d);
    static const struct {
        enum inv_aws_json_kind k;
        const char *s;
        enum inv_aws_parse_status want;
        const char *msg;
    } bad[] = {
        {INV_AWS_JSON_PROCESS,
         "{\"Version\":2,\"AccessKeyId\":\"AKIDAKIDAKIDAKID\",\"SecretAccessKey\":\"s\"}",
         INV_AWS_PARSE_MISSING, "Version must be 1"},
        {INV_AWS_JSON_PROCESS, "{\"AccessKeyId\":\"AKIDAKIDAKIDAKID\",\"SecretAccessKey\":\"s\"}",
         INV_AWS_PARSE_MISSING, "Version must be 1"},
        {INV_AWS_JSON_CONTAINER,
         "{\"AccessKeyId\":\"AKIDAKIDAKIDAKID\",\"SecretAccessKey\":\"SECRETX\",\"Token\":\"t\"}",
         INV_AWS_PARSE_MISSING, "member Expiration is missing"},
        {INV_AWS_JSON_CONTAINER,
         "{\"AccessKeyId\":\"AKIDAKIDAKIDAKID\",\"AccessKeyId\":\"AKIDOTHEROTHEROTH\","
         "\"SecretAccessKey\":\"SECRETX\",\"Token\":\"t\",\"Expiration\":\"2030-01-01T00:00:00Z\"}",
         INV_AWS_PARSE_MALFORMED, "appears more than once"},
        {INV_AWS_JSON_CONTAINER,
         "{\"AccessKeyId\":\"AKIDAKIDAKIDAKID\",\"SecretAccessKey\":\"SECRETX\",\"Token\":"
         "\"a\\r\\nX-Evil: 1\",\"Expiration\":\"2030-01-01T00:00:00Z\"}",
         INV_AWS_PARSE_MISSING, "Token is not"},
        {INV_AWS_JSON_CONTAINER,
         "{\"AccessKeyId\":\"AKIDAKIDAKIDAKID\",\"SecretAccessKey\":\"SECRETX\",\"Token\":\"t\","
         "\"Expiration\":\"2030-01-01 00:00:00\"}",
         INV_AWS_PARSE_MISSING, "Expiration is not an ISO 8601 time"},
        {INV_AWS_JSON_CONTAINER, "[1,2]", INV_AWS_PARSE_MALFORMED, "not a JSON object"},
        {INV_AWS_JSON_CONTAINER, "{\"AccessKeyId\":", INV_AWS_PARSE_MALFORMED, "not a JSON object"},
        {INV_AWS_JSON_IMDS, "{\"AccessKeyId\":7}", INV_AWS_PARSE_MISSING, "is not a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum inv_aws_parse_status st = json(&d, bad[i].k, bad[i].s, &e);
        if (st != bad[i].want || strstr(e.msg, bad[i].msg) == NULL ||
            strstr(e.msg, "SECRETX") != NULL) {
            fail_msg("case %zu: status %d, message \"%s\"", i, st, e.msg);
        }
        assert_null(d.secret_access_key);
    }
}

static void test_times(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        long long want; // -1: refused
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2030-01-01T00:00:00Z", 1893456000},
        {"2024-02-29T12:00:00Z", 1709208000},
        {"2024-02-29T12:00:00.123456Z", 1709208000},
        {"2024-02-29t12:00:00z", 1709208000},
        {"2024-02-29T13:30:00+01:30", 1709208000},
        {"2024-02-29T10:00:00-02:00", 1709208000},
        {"2023-02-29T12:00:00Z", -1},
        {"2024-13-01T00:00:00Z", -1},
        {"2024-01-01T24:00:00Z", -1},
        {"2024-01-01T00:00:00", -1},
        {"2024-01-01T00:00:00.Z", -1},
        {"2024-01-01 00:00:00Z", -1},
        {"2024-01-01T00:00:00+0100", -1},
        {"1969-12-31T23:59:59Z", -1},
        {"", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t t = -7;
        bool ok = inv_aws_time_parse(cases[i].s, strlen(cases[i].s), &t);
        if (ok != (cases[i].want >= 0) || (ok && t != cases[i].want)) {
            fail_msg("%s: ok %d value %lld", cases[i].s, ok, (long long)t);
        }
    }
}

static void test_shell_split(void **state)
{
    (void)state;
    // Expected words from Python's shlex.split (what botocore runs credential_process with).
    static const struct {
        const char *cmd;
        const char *words[6];
    } cases[] = {
        {"a \"b c\" d", {"a", "b c", "d"}},
        {"a 'b\\c'", {"a", "b\\c"}},
        {"a \"x\\$y\" \"q\\\"r\" \"s\\\\t\"", {"a", "x\\$y", "q\"r", "s\\t"}},
        {"a\\ b", {"a b"}},
        {"x \"\" y", {"x", "", "y"}},
        {"a#b c", {"a#b", "c"}},
        {"  /usr/bin/tool\t--profile\n prod  ", {"/usr/bin/tool", "--profile", "prod"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[INV_AWS_ARGV_MAX + 1];
        struct inv_err e = {{0}};
        int n = inv_aws_shell_split(argv, INV_AWS_ARGV_MAX + 1, cases[i].cmd, &e);
        int want = 0;
        while (want < 6 && cases[i].words[want] != NULL) {
            want++;
        }
        assert_int_equal(n, want);
        for (int k = 0; k < n; k++) {
            assert_string_equal(argv[k], cases[i].words[k]);
        }
        assert_null(argv[n]);
        inv_aws_argv_free(argv);
    }
    static const char *const bad[] = {"a 'b", "a \"b", "a\\", "", "   "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[INV_AWS_ARGV_MAX + 1];
        struct inv_err e = {{0}};
        assert_int_equal(inv_aws_shell_split(argv, INV_AWS_ARGV_MAX + 1, bad[i], &e), -1);
        assert_non_null(strstr(e.msg, "credential_process:"));
    }
    char many[400] = "";
    for (int i = 0; i < 70; i++) {
        strcat(many, "w ");
    }
    char *argv[INV_AWS_ARGV_MAX + 1];
    struct inv_err e = {{0}};
    assert_int_equal(inv_aws_shell_split(argv, INV_AWS_ARGV_MAX + 1, many, &e), -1);
    assert_non_null(strstr(e.msg, "more than 64 words"));
}

static void test_xml_value(void **state)
{
    (void)state;
    static const char *const msg_id[] = {"SendMessageResponse", "SendMessageResult", "MessageId"};
    const char *ok = "<?xml version=\"1.0\"?><SendMessageResponse xmlns=\"http://queue.amazonaws."
                     "com/doc/2012-11-05/\"><SendMessageResult><MD5OfMessageBody>fafb00f5732ab2"
                     "83681e124bf8747ed1</MD5OfMessageBody><MessageId>5fea7756-0ea4-451a-a703-"
                     "a558b933e274</MessageId></SendMessageResult></SendMessageResponse>";
    char out[64];
    struct inv_err e = {{0}};
    assert_int_equal(inv_aws_xml_value(out, sizeof out, msg_id, 3, ok, strlen(ok), &e),
                     INV_AWS_PARSE_OK);
    assert_string_equal(out, "5fea7756-0ea4-451a-a703-a558b933e274");
    const char *none = "<SendMessageResponse><SendMessageResult/></SendMessageResponse>";
    assert_int_equal(inv_aws_xml_value(out, sizeof out, msg_id, 3, none, strlen(none), &e),
                     INV_AWS_PARSE_MISSING);
    static const char *const s3[] = {"Error", "Code"};
    const char *err = "<Error><Code>SignatureDoesNotMatch</Code><Message>x</Message></Error>";
    assert_int_equal(inv_aws_xml_value(out, sizeof out, s3, 2, err, strlen(err), &e),
                     INV_AWS_PARSE_OK);
    assert_string_equal(out, "SignatureDoesNotMatch");
    const char *split = "<Error><Code>Sig<!-- c -->nature<![CDATA[Does]]>NotMatch</Code></Error>";
    assert_int_equal(inv_aws_xml_value(out, sizeof out, s3, 2, split, strlen(split), &e),
                     INV_AWS_PARSE_OK);
    assert_string_equal(out, "SignatureDoesNotMatch");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sts_web_identity_golden),
        cmocka_unit_test(test_sts_assume_role_xml_features),
        cmocka_unit_test(test_sts_error_document),
        cmocka_unit_test(test_sts_hostile),
        cmocka_unit_test(test_json_answers),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_shell_split),
        cmocka_unit_test(test_xml_value),
    };
    return cmocka_run_group_tests_name("aws_parse", tests, NULL, NULL);
}
