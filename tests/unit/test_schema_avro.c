// test_schema_avro.c: Avro schemas and Avro binary to JSON (schema/avro.h) on golden bytes
// written by avsc (tests/node/schema_golden.mjs; the JSON beside each is avsc's decoding), every
// strict prefix, a trailing byte, and hostile schemas and data.
#include "schema/avro.h"
#include "tests/lib/golden.h"
#include "tests/lib/schema_check.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SR "tests/integration/schema_registry/"

static struct sch_avro *parse1(const char *text, enum sch_status want, const char *msg_part)
{
    struct sch_avro *s = NULL;
    struct sch_err err = {{0}};
    size_t len = strlen(text);
    enum sch_status st = sch_avro_parse(&s, &text, &len, 1, &err);
    if (st != want || (msg_part && !strstr(err.msg, msg_part))) {
        fprintf(stderr, "schema %s: got %s \"%s\"\n", text, sch_status_name(st), err.msg);
    }
    assert_int_equal(st, want);
    if (msg_part) {
        assert_non_null(strstr(err.msg, msg_part));
    }
    return s;
}

static enum sch_status decode(const struct sch_avro *s, const uint8_t *p, size_t n,
                              struct sch_out *out, struct sch_err *err)
{
    sch_out_reset(out);
    return sch_avro_to_json(s, p, n, out, err);
}

// check_golden decodes tests/golden/schema/NAME.bin with |s|, compares with NAME.json, then
// checks every strict prefix fails as truncated and one extra byte as malformed.
static void check_golden(const struct sch_avro *s, const char *name)
{
    char bin[128], json[128];
    snprintf(bin, sizeof bin, "schema/%s.bin", name);
    snprintf(json, sizeof json, "tests/golden/schema/%s.json", name);
    struct guarded g;
    golden_load_guarded(&g, bin);
    size_t wl;
    char *want = src_text(json, &wl);
    struct sch_out out;
    sch_out_init(&out, 0);
    struct sch_err err = {{0}};
    assert_int_equal(decode(s, g.data, g.len, &out, &err), SCH_OK);
    assert_true(json_same(out.p, out.len, want, wl));
    for (size_t k = 0; k < g.len; k++) {
        struct guarded pre;
        guarded_copy(&pre, g.data, k);
        enum sch_status st = decode(s, pre.data, k, &out, &err);
        if (st != SCH_ERR_TRUNCATED) {
            fprintf(stderr, "%s prefix %zu: %s %s\n", name, k, sch_status_name(st), err.msg);
        }
        assert_int_equal(st, SCH_ERR_TRUNCATED);
        guarded_free(&pre);
    }
    uint8_t *more = malloc(g.len + 1);
    memcpy(more, g.data, g.len);
    more[g.len] = 0;
    assert_int_equal(decode(s, more, g.len + 1, &out, &err), SCH_ERR_MALFORMED);
    assert_non_null(strstr(err.msg, "1 byte(s) left after the value"));
    free(more);
    free(want);
    sch_out_cleanup(&out);
    guarded_free(&g);
}

static void test_golden_orders(void **state)
{
    (void)state;
    char *text = src_text(SR "order_v1.avsc", NULL);
    struct sch_avro *s = parse1(text, SCH_OK, NULL);
    check_golden(s, "avro_order0");
    check_golden(s, "avro_order1");
    // the exact text for one of them: key order, escapes, decimal, bytes, float, unions
    struct guarded g;
    golden_load_guarded(&g, "schema/avro_order1.bin");
    struct sch_out out;
    sch_out_init(&out, 0);
    struct sch_err err;
    assert_int_equal(decode(s, g.data, g.len, &out, &err), SCH_OK);
    const char *want = "{\"id\":-1,\"customer\":{\"name\":\"\",\"email\":null},\"lines\":[],"
                       "\"attrs\":{},\"status\":\"NEW\",\"blob\":\"\",\"digest\":\"\\u0000\\u0000"
                       "\\u0000\\u0000\",\"amount\":\"0.05\",\"ratio\":-0,\"total\":1e-300,"
                       "\"paid\":false,\"address\":{\"city\":\"Oslo\",\"zip\":null}}";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.p, want, out.len);
    sch_out_cleanup(&out);
    guarded_free(&g);
    sch_avro_free(s);
    free(text);
}

static void test_golden_references(void **state)
{
    (void)state;
    char *addr = src_text(SR "address.avsc", NULL);
    char *ship = src_text(SR "order_ref.avsc", NULL);
    const char *texts[2] = {addr, ship};
    size_t lens[2] = {strlen(addr), strlen(ship)};
    struct sch_avro *s = NULL;
    struct sch_err err;
    assert_int_equal(sch_avro_parse(&s, texts, lens, 2, &err), SCH_OK);
    check_golden(s, "avro_shipment");
    sch_avro_free(s);
    // without the reference the named type is unknown
    assert_int_equal(sch_avro_parse(&s, texts + 1, lens + 1, 1, &err), SCH_ERR_SCHEMA);
    assert_non_null(strstr(err.msg, "unknown type 'com.acme.Address'"));
    free(addr);
    free(ship);
}

static void test_schema_errors(void **state)
{
    (void)state;
    parse1("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"Nope\"}]}",
           SCH_ERR_SCHEMA, "at /fields/0: unknown type 'Nope'");
    parse1("{\"type\":\"record\",\"fields\":[]}", SCH_ERR_SCHEMA, "needs a non-empty \"name\"");
    parse1("[\"null\",[\"int\"]]", SCH_ERR_SCHEMA, "a union may not contain a union");
    parse1("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[1]}", SCH_ERR_SCHEMA,
           "enum symbols must be strings");
    parse1("{\"type\":\"fixed\",\"name\":\"F\",\"size\":-1}", SCH_ERR_SCHEMA, "\"size\" of 0..");
    parse1("[{\"type\":\"fixed\",\"name\":\"F\",\"size\":1},{\"type\":\"fixed\",\"name\":\"F\","
           "\"size\":2}]",
           SCH_ERR_SCHEMA, "type 'F' is defined twice");
    parse1("{\"type\":\"array\"}", SCH_ERR_SCHEMA, "missing \"items\"");
    parse1("{\"type\":", SCH_ERR_SCHEMA, "not valid JSON");
    parse1("\"int\" x", SCH_ERR_SCHEMA, "not valid JSON");
    parse1("42", SCH_ERR_SCHEMA, "a type must be a name, an object or a union array");
    // definitions nested deeper than SCH_MAX_DEPTH
    char deep[4096] = "";
    for (int i = 0; i < 70; i++) {
        strcat(deep, "{\"type\":\"array\",\"items\":");
    }
    strcat(deep, "\"int\"");
    for (int i = 0; i < 70; i++) {
        strcat(deep, "}");
    }
    parse1(deep, SCH_ERR_LIMIT, "definitions nested deeper than");
}

// run decodes |hex| with the schema |schema| and checks status and output or message.
static void run(const char *schema, const char *hex, enum sch_status want, const char *expect)
{
    struct sch_avro *s = parse1(schema, SCH_OK, NULL);
    uint8_t buf[512];
    size_t n = hex_decode(hex, buf, sizeof buf);
    struct guarded g;
    guarded_copy(&g, buf, n);
    struct sch_out out;
    sch_out_init(&out, 0);
    struct sch_err err = {{0}};
    enum sch_status st = sch_avro_to_json(s, g.data, n, &out, &err);
    if (st != want) {
        fprintf(stderr, "%s / %s: %s %s %.*s\n", schema, hex, sch_status_name(st), err.msg,
                (int)out.len, out.p);
    }
    assert_int_equal(st, want);
    if (want == SCH_OK) {
        assert_int_equal(out.len, strlen(expect));
        assert_memory_equal(out.p, expect, out.len);
    } else {
        assert_non_null(strstr(err.msg, expect));
    }
    sch_out_cleanup(&out);
    guarded_free(&g);
    sch_avro_free(s);
}

static void test_data(void **state)
{
    (void)state;
    const char *dec =
        "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":40,\"scale\":3}";
    run(dec, "02 ff", SCH_OK, "\"-0.001\"");
    run(dec, "00", SCH_OK, "\"0.000\"");
    run(dec, "06 01 e2 40", SCH_OK, "\"123.456\"");
    run(dec, "12 80 00 00 00 00 00 00 00 00", SCH_OK, "\"-2361183241434822606.848\"");
    // an invalid decimal (scale above precision) is plain bytes, as Avro's Java library does
    run("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":2,\"scale\":3}", "02 41",
        SCH_OK, "\"A\"");
    run("{\"type\":\"fixed\",\"name\":\"D\",\"size\":2,\"logicalType\":\"decimal\",\"precision\":4,"
        "\"scale\":2}",
        "ff 9c", SCH_OK, "\"-1.00\"");
    run("\"long\"", "fe ff ff ff ff ff ff ff ff 01", SCH_OK, "9223372036854775807");
    run("\"long\"", "ff ff ff ff ff ff ff ff ff 01", SCH_OK, "-9223372036854775808");
    run("\"long\"", "ff ff ff ff ff ff ff ff ff ff 01", SCH_ERR_MALFORMED, "long at byte");
    run("\"int\"", "80 80 80 80 10", SCH_ERR_MALFORMED, "int at byte");
    run("\"double\"", "00 00 00 00 00 00 f8 7f", SCH_OK, "\"NaN\"");
    run("\"float\"", "00 00 80 ff", SCH_OK, "\"-Infinity\"");
    run("\"float\"", "cd cc cc 3d", SCH_OK, "0.1");
    run("\"boolean\"", "02", SCH_ERR_MALFORMED, "boolean byte not 0 or 1");
    run("\"string\"", "03", SCH_ERR_MALFORMED, "negative length");
    run("\"string\"", "08 61 62", SCH_ERR_TRUNCATED, "length beyond the data");
    run("\"string\"", "04 c3 28", SCH_ERR_MALFORMED, "not valid UTF-8");
    run("\"string\"", "0a 22 5c 0a 01 e2", SCH_ERR_MALFORMED, "not valid UTF-8");
    run("\"string\"", "08 22 5c 0a 01", SCH_OK, "\"\\\"\\\\\\n\\u0001\"");
    run("\"bytes\"", "06 00 ff 7f", SCH_OK, "\"\\u0000\xc3\xbf\x7f\"");
    run("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}", "04", SCH_ERR_MALFORMED,
        "enum index out of range");
    run("[\"null\",\"int\"]", "04", SCH_ERR_MALFORMED, "union branch index out of range");
    run("[\"null\",\"int\"]", "02 54", SCH_OK, "42");
    // array blocks: a negative count with a byte size, then an end
    run("{\"type\":\"array\",\"items\":\"int\"}", "03 04 02 04 00", SCH_OK, "[1,2]");
    run("{\"type\":\"map\",\"values\":\"null\"}", "02 02 6b 00", SCH_OK, "{\"k\":null}");
    run("{\"type\":\"array\",\"items\":\"int\"}", "02 02", SCH_ERR_TRUNCATED, "block count");
    run("{\"type\":\"record\",\"name\":\"E\",\"fields\":[]}", "", SCH_OK, "{}");
}

static void test_limits(void **state)
{
    (void)state;
    // a recursive type nested deeper than SCH_MAX_DEPTH
    struct sch_avro *s = parse1("{\"type\":\"record\",\"name\":\"L\",\"fields\":[{\"name\":\"n\","
                                "\"type\":[\"null\",\"L\"]}]}",
                                SCH_OK, NULL);
    uint8_t deep[200];
    memset(deep, 2, sizeof deep);
    struct sch_out out;
    sch_out_init(&out, 0);
    struct sch_err err;
    assert_int_equal(sch_avro_to_json(s, deep, sizeof deep, &out, &err), SCH_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "nested deeper than 64"));
    sch_avro_free(s);
    sch_out_cleanup(&out);
    // a block of 2^62 zero-byte items stops at the output limit, quickly
    s = parse1("{\"type\":\"array\",\"items\":\"null\"}", SCH_OK, NULL);
    uint8_t huge[] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    sch_out_init(&out, 4096);
    assert_int_equal(sch_avro_to_json(s, huge, sizeof huge, &out, &err), SCH_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "exceeds 4096 bytes"));
    sch_out_cleanup(&out);
    sch_avro_free(s);
    // a decimal longer than 128 bytes
    s = parse1("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":9}", SCH_OK, NULL);
    uint8_t big[3 + 200] = {0x92, 0x03};
    sch_out_init(&out, 0);
    assert_int_equal(sch_avro_to_json(s, big, 2 + 201, &out, &err), SCH_ERR_LIMIT);
    sch_out_cleanup(&out);
    sch_avro_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_orders), cmocka_unit_test(test_golden_references),
        cmocka_unit_test(test_schema_errors), cmocka_unit_test(test_data),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
