// test_schema_proto.c: .proto text and Protobuf binary to the proto3 JSON mapping
// (schema/proto.h): golden bytes written by protobufjs whose JSON beside them is
// @bufbuild/protobuf's toJson of the same bytes (tests/node/schema_golden.mjs); message
// selection by Confluent indexes and Glue index; parse errors with file:line:col; hostile data.
#include "schema/proto.h"
#include "tests/lib/golden.h"
#include "tests/lib/schema_check.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SR "tests/integration/schema_registry/"

struct pool {
    struct sch_proto *p;
    char *texts[2];
};

static void load_shop(struct pool *out)
{
    size_t l0, l1;
    out->texts[0] = src_text(SR "common.proto", &l0);
    out->texts[1] = src_text(SR "shop.proto", &l1);
    struct sch_proto_file files[2] = {{"common.proto", out->texts[0], l0},
                                      {"shop.proto", out->texts[1], l1}};
    struct sch_err err = {{0}};
    enum sch_status st = sch_proto_parse(&out->p, files, 2, &err);
    if (st != SCH_OK) {
        fprintf(stderr, "%s\n", err.msg);
    }
    assert_int_equal(st, SCH_OK);
}

static void free_pool(struct pool *p)
{
    sch_proto_free(p->p);
    free(p->texts[0]);
    free(p->texts[1]);
}

static uint32_t by_path(const struct sch_proto *p, uint32_t n, uint32_t a, uint32_t b)
{
    struct sch_msg_path path = {n, {a, b}};
    uint32_t msg = 0;
    struct sch_err err;
    assert_int_equal(sch_proto_confluent_msg(p, &path, &msg, &err), SCH_OK);
    return msg;
}

static void check_golden(const struct sch_proto *p, uint32_t msg, const char *name)
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
    assert_int_equal(sch_proto_to_json(p, msg, g.data, g.len, &out, &err), SCH_OK);
    assert_true(json_same(out.p, out.len, want, wl));
    // a strict prefix is a shorter message or an error, never a read past the end
    for (size_t k = 0; k < g.len; k++) {
        struct guarded pre;
        guarded_copy(&pre, g.data, k);
        sch_out_reset(&out);
        enum sch_status st = sch_proto_to_json(p, msg, pre.data, k, &out, &err);
        assert_true(st == SCH_OK || st == SCH_ERR_TRUNCATED || st == SCH_ERR_MALFORMED);
        guarded_free(&pre);
    }
    free(want);
    sch_out_cleanup(&out);
    guarded_free(&g);
}

static void test_golden(void **state)
{
    (void)state;
    struct pool sp;
    load_shop(&sp);
    uint32_t order = by_path(sp.p, 1, 0, 0), other = by_path(sp.p, 1, 1, 0),
             line = by_path(sp.p, 2, 0, 0);
    assert_string_equal(sch_proto_msg_name(sp.p, order), "shop.v1.Order");
    assert_string_equal(sch_proto_msg_name(sp.p, other), "shop.v1.Other");
    assert_string_equal(sch_proto_msg_name(sp.p, line), "shop.v1.Order.Line");
    // nested messages count in declaration order, the map entries where their fields are
    assert_string_equal(sch_proto_msg_name(sp.p, by_path(sp.p, 2, 0, 1)),
                        "shop.v1.Order.CountersEntry");
    check_golden(sp.p, order, "proto_order");
    check_golden(sp.p, other, "proto_other");
    check_golden(sp.p, line, "proto_line");
    struct sch_msg_path bad = {2, {1, 0}};
    uint32_t m;
    struct sch_err err;
    assert_int_equal(sch_proto_confluent_msg(sp.p, &bad, &m, &err), SCH_ERR_MALFORMED);
    assert_non_null(strstr(err.msg, "index 0 at depth 1: the schema has 0 messages there"));
    free_pool(&sp);

    // Glue: every message of the file, sorted by full name
    size_t gl;
    char *gtext = src_text(SR "glue.proto", &gl);
    struct sch_proto_file gf = {"glue.proto", gtext, gl};
    struct sch_proto *gp = NULL;
    assert_int_equal(sch_proto_parse(&gp, &gf, 1, &err), SCH_OK);
    const char *names[3] = {"glue.v1.Device", "glue.v1.Reading", "glue.v1.Reading.Calibration"};
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(sch_proto_glue_msg(gp, i, &m, &err), SCH_OK);
        assert_string_equal(sch_proto_msg_name(gp, m), names[i]);
    }
    assert_int_equal(sch_proto_glue_msg(gp, 3, &m, &err), SCH_ERR_MALFORMED);
    assert_int_equal(sch_proto_glue_msg(gp, 1, &m, &err), SCH_OK);
    check_golden(gp, m, "proto_reading");
    sch_proto_free(gp);
    free(gtext);
}

static void parse_fails(const char *text, enum sch_status want, const char *msg)
{
    struct sch_proto_file f = {"x.proto", text, strlen(text)};
    struct sch_proto *p = NULL;
    struct sch_err err = {{0}};
    enum sch_status st = sch_proto_parse(&p, &f, 1, &err);
    if (st != want || !strstr(err.msg, msg)) {
        fprintf(stderr, "%s\n-> %s: %s\n", text, sch_status_name(st), err.msg);
    }
    assert_int_equal(st, want);
    assert_non_null(strstr(err.msg, msg));
    assert_null(p);
}

static void test_parse_errors(void **state)
{
    (void)state;
    parse_fails("syntax = \"proto3\";\nmessage M {\n  Missing m = 1;\n}\n", SCH_ERR_SCHEMA,
                "M.m: unknown type 'Missing'");
    parse_fails("syntax = \"proto3\";\nmessage M { int32 a = 1; int32 b = 1; }", SCH_ERR_SCHEMA,
                "x.proto:2:39: field 'b' (number 1) is declared twice");
    parse_fails("message M { int32 a = 0; }", SCH_ERR_SCHEMA, "number 0 is outside 1..536870911");
    parse_fails("syntax = \"proto3\"; message M { map<float, int32> m = 1; }", SCH_ERR_SCHEMA,
                "map key type 'float' is not an integer, bool or string");
    parse_fails("edition = \"2023\";", SCH_ERR_UNSUPPORTED, "editions");
    parse_fails("syntax = \"proto4\";", SCH_ERR_UNSUPPORTED, "syntax \"proto4\"");
    parse_fails("import \"other.proto\";", SCH_ERR_SCHEMA,
                "import \"other.proto\" is neither built in nor among the schema's references");
    parse_fails("message M { int32 a = 1;", SCH_ERR_SCHEMA, "message 'M' is not closed");
    parse_fails("/* open comment", SCH_ERR_SCHEMA, "unterminated comment");
    parse_fails("message M { string s = 1 [json_name = \"x]; }", SCH_ERR_SCHEMA,
                "x.proto:1:39: unterminated string");
    parse_fails("message M { string s = 1 [json_name = \"x\n\"]; }", SCH_ERR_SCHEMA,
                "line break inside a string");
    parse_fails("message M {} message M {}", SCH_ERR_SCHEMA, "'M' is already defined");
    parse_fails("message M { int32 a = 99999999999999999999; }", SCH_ERR_SCHEMA, "too large");
    parse_fails("enum E { A = 2147483648; }", SCH_ERR_SCHEMA, "outside the int32 range");
    parse_fails("package p; ~", SCH_ERR_SCHEMA, "x.proto:1:12: unexpected '~' at the top level");
    char deep[8192] = "";
    for (int i = 0; i < 70; i++) {
        strcat(deep, "message M { ");
    }
    parse_fails(deep, SCH_ERR_LIMIT, "messages nested deeper than 64");
}

static uint32_t find_msg(const struct sch_proto *p, const char *name)
{
    uint32_t m = 0;
    struct sch_err err;
    for (uint32_t i = 0; sch_proto_glue_msg(p, i, &m, &err) == SCH_OK; i++) {
        if (!strcmp(sch_proto_msg_name(p, m), name)) {
            return m;
        }
    }
    fail_msg("no message %s", name);
    return 0;
}

static void decode_hex(const char *proto, const char *msg_name, const char *hex,
                       enum sch_status want, const char *expect)
{
    struct sch_proto_file f = {"t.proto", proto, strlen(proto)};
    struct sch_proto *p = NULL;
    struct sch_err err = {{0}};
    assert_int_equal(sch_proto_parse(&p, &f, 1, &err), SCH_OK);
    uint32_t m = find_msg(p, msg_name);
    uint8_t buf[512];
    size_t n = hex_decode(hex, buf, sizeof buf);
    struct sch_out out;
    sch_out_init(&out, 0);
    enum sch_status st = sch_proto_to_json(p, m, buf, n, &out, &err);
    if (st != want) {
        fprintf(stderr, "%s: %s %s %.*s\n", hex, sch_status_name(st), err.msg, (int)out.len, out.p);
    }
    assert_int_equal(st, want);
    if (want == SCH_OK) {
        if (out.len != strlen(expect) || memcmp(out.p, expect, out.len)) {
            fprintf(stderr, "got  %.*s\nwant %s\n", (int)out.len, out.p, expect);
        }
        assert_int_equal(out.len, strlen(expect));
        assert_memory_equal(out.p, expect, out.len);
    } else {
        assert_non_null(strstr(err.msg, expect));
    }
    sch_out_cleanup(&out);
    sch_proto_free(p);
}

static const char P3[] =
    "syntax = \"proto3\";\n"
    "import \"google/protobuf/timestamp.proto\";\n"
    "import \"google/protobuf/duration.proto\";\n"
    "import \"google/protobuf/struct.proto\";\n"
    "import \"google/protobuf/field_mask.proto\";\n"
    "import \"google/protobuf/any.proto\";\n"
    "import \"google/protobuf/wrappers.proto\";\n"
    "message M {\n"
    "  int32 a = 1; string s = 2; repeated int32 r = 3; E e = 4; bytes b = 5;\n"
    "  oneof o { int32 x = 6; string y = 7; }\n"
    "  google.protobuf.Timestamp t = 8; google.protobuf.Duration d = 9;\n"
    "  google.protobuf.Struct st = 10; google.protobuf.FieldMask fm = 11;\n"
    "  google.protobuf.Any any = 12; google.protobuf.Int64Value w = 13; M child = 14;\n"
    "  double dbl = 15; string snake_case_name = 16 [json_name = \"custom\"];\n"
    "}\n"
    "enum E { ZERO = 0; ONE = 1; }\n";

static const char P2[] = "syntax = \"proto2\";\n"
                         "message G {\n"
                         "  optional int32 a = 1;\n"
                         "  repeated group Item = 2 { optional string name = 3; }\n"
                         "  optional K k = 4;\n"
                         "  enum K { ONE = 1; }\n"
                         "}\n";

static void test_data(void **state)
{
    (void)state;
    decode_hex(P3, "M", "", SCH_OK, "{}");
    // implicit presence: zero values are left out; repeated packed and not, mixed
    decode_hex(P3, "M", "08 00 12 00 1a 02 01 02 18 03 20 00", SCH_OK, "{\"r\":[1,2,3]}");
    decode_hex(P3, "M", "20 01 20 07", SCH_OK, "{\"e\":7}");        // open enum: the number
    decode_hex(P3, "M", "30 05 3a 01 7a", SCH_OK, "{\"y\":\"z\"}"); // the oneof member seen last
    decode_hex(P3, "M", "3a 01 7a 30 00", SCH_OK, "{\"x\":0}");
    decode_hex(P3, "M", "08 05 08 09", SCH_OK, "{\"a\":9}"); // the last value wins
    decode_hex(P3, "M", "72 02 08 01 72 03 12 01 71 72 00", SCH_OK,
               "{\"child\":{\"a\":1,\"s\":\"q\"}}"); // message occurrences merge
    decode_hex(P3, "M", "2a 03 ff fe fd", SCH_OK, "{\"b\":\"//79\"}");
    decode_hex(P3, "M", "82 01 02 68 69", SCH_OK, "{\"custom\":\"hi\"}");
    decode_hex(P3, "M", "79 00 00 00 00 00 00 f0 7f", SCH_OK, "{\"dbl\":\"Infinity\"}");
    decode_hex(P3, "M", "42 0d 08 ff ff ff ff ff ff ff ff ff 01 10 01", SCH_OK,
               "{\"t\":\"1969-12-31T23:59:59.000000001Z\"}");
    decode_hex(P3, "M", "4a 00", SCH_OK, "{\"d\":\"0s\"}");
    decode_hex(P3, "M", "4a 0b 08 ff ff ff ff ff ff ff ff ff 01", SCH_OK, "{\"d\":\"-1s\"}");
    decode_hex(P3, "M", "5a 08 0a 06 61 5f 62 2e 63 64", SCH_OK, "{\"fm\":\"aB.cd\"}");
    decode_hex(P3, "M", "6a 02 08 07", SCH_OK, "{\"w\":\"7\"}");
    decode_hex(P3, "M", "52 16 0a 14 0a 01 6b 12 0f 32 0d 0a 02 08 00 0a 02 20 01 0a 03 1a 01 3f",
               SCH_OK, "{\"st\":{\"k\":[null,true,\"?\"]}}");
    // Any holding a message of the schema, and one holding a well-known type
    decode_hex(P3, "M", "62 0e 0a 08 74 79 70 65 2e 67 2f 4d 12 02 08 05", SCH_OK,
               "{\"any\":{\"@type\":\"type.g/M\",\"a\":5}}");
    decode_hex(P3, "M",
               "62 23 0a 1f 74 79 70 65 2e 67 2f 67 6f 6f 67 6c 65 2e 70 72 6f 74 6f 62 75 66 2e "
               "44 75 72 61 74 69 6f 6e 12 00",
               SCH_OK,
               "{\"any\":{\"@type\":\"type.g/google.protobuf.Duration\",\"value\":\"0s\"}}");
    decode_hex(P3, "M", "62 07 0a 05 61 2f 4e 6f 70", SCH_ERR_SCHEMA, "Any holds a type");
    // unknown fields are skipped, groups included
    decode_hex(P3, "M", "f8 07 01 fb 07 08 01 fc 07 08 02", SCH_OK, "{\"a\":2}");
    // hostile data
    decode_hex(P3, "M", "12 05 61", SCH_ERR_TRUNCATED, "truncated");
    decode_hex(P3, "M", "0f", SCH_ERR_MALFORMED, "invalid field tag");
    decode_hex(P3, "M", "00", SCH_ERR_MALFORMED, "invalid field tag");
    decode_hex(P3, "M", "fb 07 fc 08", SCH_ERR_MALFORMED, "malformed field");
    decode_hex(P3, "M", "12 02 c3 28", SCH_ERR_MALFORMED, "string field 's' is not valid UTF-8");
    decode_hex(P3, "M", "42 02 10 ff", SCH_ERR_TRUNCATED, "truncated");
    decode_hex(P3, "M", "42 02 10 7f", SCH_OK, "{\"t\":\"1970-01-01T00:00:00.000000127Z\"}");
    decode_hex(P3, "M", "4a 0d 08 01 10 ff ff ff ff ff ff ff ff ff 01", SCH_ERR_MALFORMED,
               "different signs");
    decode_hex(P3, "M", "42 0a 08 80 80 80 80 80 80 80 80 01", SCH_ERR_MALFORMED,
               "Timestamp outside");
    // proto2: presence, groups, closed enums drop unknown values
    decode_hex(P2, "G", "08 00 13 1a 02 61 62 14 20 09", SCH_OK,
               "{\"a\":0,\"item\":[{\"name\":\"ab\"}]}");
    decode_hex(P2, "G", "20 01", SCH_OK, "{\"k\":\"ONE\"}");
    decode_hex(P2, "G", "13 1a 01 61 1c", SCH_ERR_MALFORMED, "malformed field");
}

static void test_limits(void **state)
{
    (void)state;
    struct sch_proto_file f = {"t.proto", P3, strlen(P3)};
    struct sch_proto *p = NULL;
    struct sch_err err;
    assert_int_equal(sch_proto_parse(&p, &f, 1, &err), SCH_OK);
    uint32_t m = find_msg(p, "M");
    // 80 nested child messages (field 14, LEN)
    uint8_t deep[1024];
    size_t n = 0;
    for (int i = 0; i < 80; i++) {
        uint8_t hdr[3] = {0x72, (uint8_t)n, 0};
        size_t h = 2;
        if (n >= 128) {
            hdr[1] = (uint8_t)(0x80 | (n & 0x7f));
            hdr[2] = (uint8_t)(n >> 7);
            h = 3;
        }
        memmove(deep + h, deep, n);
        memcpy(deep, hdr, h);
        n += h;
    }
    struct sch_out out;
    sch_out_init(&out, 0);
    assert_int_equal(sch_proto_to_json(p, m, deep, n, &out, &err), SCH_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "nested deeper than 64"));
    sch_out_cleanup(&out);
    // output limit
    sch_out_init(&out, 64);
    uint8_t rep[300];
    for (size_t i = 0; i < sizeof rep; i += 2) {
        rep[i] = 0x18;
        rep[i + 1] = 0x7f;
    }
    assert_int_equal(sch_proto_to_json(p, m, rep, sizeof rep, &out, &err), SCH_ERR_LIMIT);
    sch_out_cleanup(&out);
    sch_proto_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_data),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
