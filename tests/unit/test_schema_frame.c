// test_schema_frame.c: the Confluent and Glue framings (schema/frame.h) and the JSON Schema
// payload check (schema/jsonschema.h) on golden bytes (Confluent header + avsc data, Confluent
// Protobuf with message indexes [1], Glue + zlib: tests/node/schema_golden.mjs) and on hostile
// headers.
#include "base/base64.h"
#include "schema/frame.h"
#include "schema/jsonschema.h"
#include "schema/sch.h"
#include "tests/lib/golden.h"
#include "tests/lib/unit.h"

#include <string.h>

// test_out_base64: sch_out_base64_str (now base/base64's codec, fed in chunks) writes the same
// text as one encoding of the whole, around the chunk boundaries and at every tail length.
static void test_out_base64(void **state)
{
    (void)state;
    static uint8_t in[2300];
    for (size_t i = 0; i < sizeof in; i++) {
        in[i] = (uint8_t)(i * 37 + 11);
    }
    static const size_t lens[] = {0, 1, 2, 3, 764, 765, 766, 767, 1530, 1531, 2300};
    static char want[3100];
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        struct sch_out o;
        sch_out_init(&o, 0);
        sch_out_base64_str(&o, in, lens[k]);
        size_t wl = base64_encode(want, in, lens[k]);
        assert_true(sch_out_ok(&o));
        assert_int_equal(o.len, wl + 2);
        assert_int_equal(o.p[0], '"');
        assert_memory_equal(o.p + 1, want, wl);
        assert_int_equal(o.p[wl + 1], '"');
        sch_out_cleanup(&o);
    }
}

static void test_confluent_golden(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "schema/frame_confluent_avro.bin");
    struct sch_confluent c;
    struct sch_err err;
    assert_int_equal(sch_confluent_parse(g.data, g.len, &c, &err), SCH_OK);
    assert_int_equal(c.schema_id, 300);
    assert_int_equal(kr_left(&c.rest), g.len - 5);
    for (size_t k = 0; k < 5; k++) {
        struct guarded pre;
        guarded_copy(&pre, g.data, k);
        assert_int_equal(sch_confluent_parse(pre.data, k, &c, &err), SCH_ERR_TRUNCATED);
        guarded_free(&pre);
    }
    guarded_free(&g);

    golden_load_guarded(&g, "schema/frame_confluent_proto.bin");
    assert_int_equal(sch_confluent_parse(g.data, g.len, &c, &err), SCH_OK);
    assert_int_equal(c.schema_id, 7);
    struct sch_msg_path path;
    assert_int_equal(sch_confluent_msg_indexes(&c.rest, &path, &err), SCH_OK);
    assert_int_equal(path.n, 1);
    assert_int_equal(path.idx[0], 1);
    assert_int_equal(kr_left(&c.rest), g.len - 7);
    guarded_free(&g);
}

static void indexes(const char *hex, enum sch_status want, uint32_t n, uint32_t i0, uint32_t i1,
                    const char *msg)
{
    uint8_t buf[64];
    size_t len = hex_decode(hex, buf, sizeof buf);
    struct guarded g;
    guarded_copy(&g, buf, len);
    kr r;
    kr_init(&r, g.data, len);
    struct sch_msg_path p;
    struct sch_err err = {{0}};
    assert_int_equal(sch_confluent_msg_indexes(&r, &p, &err), want);
    if (want == SCH_OK) {
        assert_int_equal(p.n, n);
        assert_int_equal(p.idx[0], i0);
        if (n > 1) {
            assert_int_equal(p.idx[1], i1);
        }
    } else {
        assert_non_null(strstr(err.msg, msg));
    }
    guarded_free(&g);
}

static void test_message_indexes(void **state)
{
    (void)state;
    indexes("00 0a", SCH_OK, 1, 0, 0, NULL);    // the [0] shortcut
    indexes("02 02", SCH_OK, 1, 1, 0, NULL);    // [1]
    indexes("04 00 06", SCH_OK, 2, 0, 3, NULL); // [0, 3]
    indexes("", SCH_ERR_TRUNCATED, 0, 0, 0, "truncated at byte 0");
    indexes("01", SCH_ERR_MALFORMED, 0, 0, 0, "negative count -1");
    indexes("02 01", SCH_ERR_MALFORMED, 0, 0, 0, "negative index -1");
    indexes("06 02", SCH_ERR_LIMIT, 0, 0, 0, "count 3");
    indexes("42 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "
            "00 00 00 00 00 00 00 00",
            SCH_ERR_LIMIT, 0, 0, 0, "count 33 (at most 32");
    indexes("02 80 80 80 80 80 01", SCH_ERR_MALFORMED, 0, 0, 0, "malformed");
}

static void test_confluent_errors(void **state)
{
    (void)state;
    struct sch_confluent c;
    struct sch_err err;
    const uint8_t magic1[] = {1, 0, 0, 0, 1, 2};
    assert_int_equal(sch_confluent_parse(magic1, sizeof magic1, &c, &err), SCH_ERR_MALFORMED);
    assert_string_equal(err.msg, "Confluent framing: magic byte 0x01 at byte 0, expected 0x00 "
                                 "(not registry-encoded)");
    assert_int_equal(sch_confluent_parse(NULL, 0, &c, &err), SCH_ERR_TRUNCATED);
    assert_non_null(strstr(err.msg, "empty"));
    const uint8_t neg[] = {0, 0x80, 0, 0, 1};
    assert_int_equal(sch_confluent_parse(neg, sizeof neg, &c, &err), SCH_ERR_MALFORMED);
    assert_non_null(strstr(err.msg, "negative schema id"));
}

static void test_glue(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "schema/frame_glue_zlib.bin");
    struct sch_glue gl;
    struct sch_err err;
    assert_int_equal(sch_glue_parse(g.data, g.len, &gl, &err), SCH_OK);
    assert_int_equal(gl.compression, SCH_GLUE_COMPRESSION_ZLIB);
    char id[37];
    sch_uuid_format(gl.version_id, id);
    assert_string_equal(id, "7b8e9f10-1111-4222-8333-944455556666");
    uint8_t back[16];
    assert_true(sch_uuid_parse("7B8E9F10-1111-4222-8333-944455556666", back));
    assert_memory_equal(back, gl.version_id, 16);
    assert_false(sch_uuid_parse("7b8e9f10111142228333944455556666", back));
    assert_false(sch_uuid_parse("7b8e9f10-1111-4222-8333-94445555666g", back));
    assert_int_equal(kr_left(&gl.data), g.len - SCH_GLUE_HEADER_LEN);
    for (size_t k = 0; k < SCH_GLUE_HEADER_LEN; k++) {
        struct guarded pre;
        guarded_copy(&pre, g.data, k);
        assert_int_equal(sch_glue_parse(pre.data, k, &gl, &err), SCH_ERR_TRUNCATED);
        guarded_free(&pre);
    }
    uint8_t bad[SCH_GLUE_HEADER_LEN];
    memcpy(bad, g.data, sizeof bad);
    bad[1] = 4;
    assert_int_equal(sch_glue_parse(bad, sizeof bad, &gl, &err), SCH_ERR_MALFORMED);
    assert_string_equal(err.msg, "Glue framing: compression byte 4 at byte 1 (0 none or 5 zlib)");
    bad[0] = 2;
    assert_int_equal(sch_glue_parse(bad, sizeof bad, &gl, &err), SCH_ERR_MALFORMED);
    assert_non_null(strstr(err.msg, "header version 2 at byte 0, expected 3"));
    guarded_free(&g);
    const uint8_t idx[] = {0x81, 0x01, 0x0a};
    kr r;
    kr_init(&r, idx, sizeof idx);
    uint32_t v;
    assert_int_equal(sch_glue_proto_index(&r, &v, &err), SCH_OK);
    assert_int_equal(v, 129);
    assert_int_equal(kr_left(&r), 1);
}

static void test_json_check(void **state)
{
    (void)state;
    struct sch_err err;
    const char *ok[] = {"{\"a\":[1,2,{\"b\":null}]}", " 42 ", "\"\xc3\xa9\"", "[]\n"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(sch_json_check((const uint8_t *)ok[i], strlen(ok[i]), &err), SCH_OK);
    }
    const char *bad[] = {"", "{\"a\":", "{} {}", "\"\xc3\x28\"", "nul"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(sch_json_check((const uint8_t *)bad[i], strlen(bad[i]), &err),
                         SCH_ERR_MALFORMED);
    }
    assert_int_equal(sch_json_check((const uint8_t *)"{} x", 4, &err), SCH_ERR_MALFORMED);
    assert_string_equal(err.msg, "JSON data: bytes after the value at byte 3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confluent_golden), cmocka_unit_test(test_message_indexes),
        cmocka_unit_test(test_confluent_errors), cmocka_unit_test(test_glue),
        cmocka_unit_test(test_json_check),       cmocka_unit_test(test_out_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
