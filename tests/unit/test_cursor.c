// test_cursor.c: the kr reader and kw writer cursors, and the frame splitter.
#include "proto/frame.h"
#include "proto/kr.h"
#include "proto/kw.h"
#include "tests/lib/golden.h"
#include "tests/lib/unit.h"

#include <string.h>

static void test_fixed_ints(void **state)
{
    (void)state;
    uint8_t in[] = {0x80, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0xff,
                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    struct guarded g;
    guarded_copy(&g, in, sizeof in);
    kr r;
    kr_init(&r, g.data, g.len);
    int8_t a;
    int16_t b;
    uint32_t c;
    int64_t d;
    assert_true(kr_i8(&r, &a) && kr_i16(&r, &b) && kr_u32(&r, &c) && kr_i64(&r, &d));
    assert_int_equal(a, -128);
    assert_int_equal(b, 0x1234);
    assert_int_equal(c, 0xdeadbeefu);
    assert_int_equal(d, -2);
    assert_true(kr_done(&r));
    // One more read: truncated, sticky, cursor unchanged.
    assert_false(kr_i8(&r, &a));
    assert_int_equal(r.fault, KR_TRUNCATED);
    guarded_free(&g);
}

static void test_truncation_is_sticky(void **state)
{
    (void)state;
    uint8_t in[] = {0x00, 0x01, 0x02};
    kr r;
    kr_init(&r, in, sizeof in);
    int32_t v;
    int8_t b;
    assert_false(kr_i32(&r, &v));
    assert_int_equal(kr_left(&r), 3);
    assert_false(kr_i8(&r, &b)); // sticky even though one byte would fit
    assert_int_equal(r.fault, KR_TRUNCATED);
}

static void test_varints(void **state)
{
    (void)state;
    // 300 unsigned; -1, 1, 300 zigzag; max uint32 (5 bytes); int64 min (10 bytes).
    uint8_t in[] = {0xac, 0x02, 0x01, 0x02, 0xd8, 0x04, 0xff, 0xff, 0xff, 0xff, 0x0f,
                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    kr r;
    kr_init(&r, in, sizeof in);
    uint32_t u;
    int32_t s1, s2, s3;
    uint32_t umax;
    int64_t lmin;
    assert_true(kr_uvarint32(&r, &u));
    assert_int_equal(u, 300);
    assert_true(kr_varint(&r, &s1) && kr_varint(&r, &s2) && kr_varint(&r, &s3));
    assert_int_equal(s1, -1);
    assert_int_equal(s2, 1);
    assert_int_equal(s3, 300);
    assert_true(kr_uvarint32(&r, &umax));
    assert_int_equal(umax, UINT32_MAX);
    assert_true(kr_varlong(&r, &lmin));
    assert_true(lmin == INT64_MIN);
    assert_true(kr_done(&r));

    // A 5th byte carrying bits above 32 is malformed; so is a 6-byte uvarint32.
    uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0x1f};
    kr_init(&r, over, sizeof over);
    assert_false(kr_uvarint32(&r, &u));
    assert_int_equal(r.fault, KR_MALFORMED);
    uint8_t longer[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    kr_init(&r, longer, sizeof longer);
    assert_false(kr_uvarint32(&r, &u));
    assert_int_equal(r.fault, KR_MALFORMED);
    // Ending inside a varint is truncation.
    kr_init(&r, longer, 3);
    assert_false(kr_uvarint32(&r, &u));
    assert_int_equal(r.fault, KR_TRUNCATED);
}

static void test_varint_roundtrip(void **state)
{
    (void)state;
    const int64_t vals[] = {0, 1, -1, 63, -64, 64, 300, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        uint8_t buf[16];
        kw w;
        kw_init_fixed(&w, buf, sizeof buf);
        assert_true(kw_varlong(&w, vals[i]));
        assert_int_equal(kw_len(&w), kw_varlong_len(vals[i]));
        kr r;
        kr_init(&r, buf, kw_len(&w));
        int64_t got;
        assert_true(kr_varlong(&r, &got));
        assert_true(got == vals[i]);
        assert_true(kr_done(&r));
    }
}

static void test_strings(void **state)
{
    (void)state;
    uint8_t in[] = {0x00, 0x02, 'h', 'i', 0xff, 0xff, 0x03, 'y', 'o', 0x00, 0xff, 0xfe};
    kr r, s;
    bool null;
    kr_init(&r, in, sizeof in);
    assert_true(kr_str(&r, &s, NULL));
    assert_true(kr_eq_cstr(&s, "hi"));
    assert_true(kr_str(&r, &s, &null));
    assert_true(null);
    assert_true(kr_compact_str(&r, &s, &null));
    assert_false(null);
    assert_true(kr_eq_cstr(&s, "yo"));
    assert_true(kr_compact_str(&r, &s, &null)); // 0 = null
    assert_true(null);
    // -2 is never a valid length.
    assert_false(kr_str(&r, &s, &null));
    assert_int_equal(r.fault, KR_MALFORMED);

    // Null where the field is not nullable.
    uint8_t nul[] = {0xff, 0xff};
    kr_init(&r, nul, sizeof nul);
    assert_false(kr_str(&r, &s, NULL));
    assert_int_equal(r.fault, KR_MALFORMED);
    // A length past the end is truncation.
    uint8_t shortstr[] = {0x00, 0x05, 'a'};
    kr_init(&r, shortstr, sizeof shortstr);
    assert_false(kr_str(&r, &s, NULL));
    assert_int_equal(r.fault, KR_TRUNCATED);
}

static void test_array_count_checked(void **state)
{
    (void)state;
    // A count of 1e9 with four bytes behind it must fail before any loop.
    uint8_t in[] = {0x3b, 0x9a, 0xca, 0x00, 0, 0, 0, 0};
    kr r;
    uint32_t n;
    kr_init(&r, in, sizeof in);
    assert_false(kr_array_count(&r, 4, UINT32_MAX, &n, NULL));
    assert_int_equal(r.fault, KR_TRUNCATED);
    kr_init(&r, in, sizeof in);
    assert_false(kr_array_count(&r, 0, 1000, &n, NULL));
    assert_int_equal(r.fault, KR_LIMIT);
    // Exactly enough: one element of four bytes.
    uint8_t one[] = {0, 0, 0, 1, 1, 2, 3, 4};
    kr_init(&r, one, sizeof one);
    assert_true(kr_array_count(&r, 4, 10, &n, NULL));
    assert_int_equal(n, 1);
    // Compact null array.
    uint8_t cnull[] = {0x00};
    bool isnull;
    kr_init(&r, cnull, 1);
    assert_true(kr_compact_array_count(&r, 1, 10, &n, &isnull));
    assert_true(isnull);
    assert_int_equal(n, 0);
}

static void test_tags(void **state)
{
    (void)state;
    // Two tags (0: 2 bytes, 5: 1 byte) then one trailing byte.
    uint8_t in[] = {0x02, 0x00, 0x02, 0xaa, 0xbb, 0x05, 0x01, 0xcc, 0x7f};
    kr r;
    kr_init(&r, in, sizeof in);
    assert_true(kr_skip_tags(&r));
    assert_int_equal(kr_left(&r), 1);
    assert_false(kr_expect_done(&r));
    assert_int_equal(r.fault, KR_MALFORMED);
    // Descending tags are malformed.
    uint8_t desc[] = {0x02, 0x05, 0x00, 0x01, 0x00};
    kr_init(&r, desc, sizeof desc);
    assert_false(kr_skip_tags(&r));
    assert_int_equal(r.fault, KR_MALFORMED);
    // A tag whose size runs past the end is truncated.
    uint8_t trunc[] = {0x01, 0x00, 0x09, 0x00};
    kr_init(&r, trunc, sizeof trunc);
    assert_false(kr_skip_tags(&r));
    assert_int_equal(r.fault, KR_TRUNCATED);
}

static void test_writer_fixed_overflow_sticky(void **state)
{
    (void)state;
    uint8_t buf[5];
    kw w;
    size_t len;
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kw_i32(&w, 7));
    assert_false(kw_i16(&w, 1));
    assert_false(kw_i8(&w, 1)); // sticky even though one byte is free
    assert_false(kw_finish(&w, &len));
}

static void test_writer_grow_and_size_prefix(void **state)
{
    (void)state;
    kw w;
    size_t pos, len;
    kw_init_grow(&w);
    assert_true(kw_begin_size32(&w, &pos));
    for (int i = 0; i < 1000; i++) {
        assert_true(kw_compact_str(&w, "abc"));
    }
    assert_true(kw_end_size32(&w, pos));
    assert_true(kw_finish(&w, &len));
    assert_int_equal(len, 4 + 4000);
    kr r, frame;
    size_t consumed, need;
    assert_int_equal(kp_frame_split(kw_data(&w), len, 1 << 20, &frame, &consumed, &need), KP_OK);
    assert_int_equal(consumed, len);
    assert_int_equal(kr_left(&frame), 4000);
    kr_init(&r, kw_data(&w), len);
    kw_cleanup(&w);
    kw_cleanup(&w); // idempotent
}

static void test_frame_split(void **state)
{
    (void)state;
    uint8_t in[] = {0x00, 0x00, 0x00, 0x03, 'a', 'b', 'c', 0x00};
    kr f;
    size_t consumed, need;
    for (size_t n = 0; n < 7; n++) {
        assert_int_equal(kp_frame_split(in, n, 100, &f, &consumed, &need), KP_NEED_MORE);
        assert_int_equal(need, n < 4 ? 4 : 7);
        assert_int_equal(consumed, 0);
    }
    assert_int_equal(kp_frame_split(in, sizeof in, 100, &f, &consumed, &need), KP_OK);
    assert_int_equal(consumed, 7);
    assert_true(kr_eq_cstr(&f, "abc"));
    assert_int_equal(kr_offset(&f), 0);
    // Over the limit is refused before the payload arrives.
    uint8_t big[] = {0x7f, 0xff, 0xff, 0xff};
    assert_int_equal(kp_frame_split(big, 4, 100 << 20, &f, &consumed, &need), KP_ERR_LIMIT);
    uint8_t neg[] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(kp_frame_split(neg, 4, 100, &f, &consumed, &need), KP_ERR_MALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_ints),
        cmocka_unit_test(test_truncation_is_sticky),
        cmocka_unit_test(test_varints),
        cmocka_unit_test(test_varint_roundtrip),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_array_count_checked),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_writer_fixed_overflow_sticky),
        cmocka_unit_test(test_writer_grow_and_size_prefix),
        cmocka_unit_test(test_frame_split),
    };
    return cmocka_run_group_tests_name("cursor", tests, NULL, NULL);
}
