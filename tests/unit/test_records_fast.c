// test_records_fast.c: the fast path of magic-2 record decoding (kp_batch_next_record) against
// the checked path (kp_batch_next_record_checked) over records chosen to sit on the fast path's
// edges (varints of one to four bytes, null and empty keys and values, negative timestamp
// deltas, headers, the batch's last record), then over every one-byte corruption of that batch:
// both paths must give the same records, views, statuses and error positions.
#include "proto/batch_builder.h"
#include "proto/kw.h"
#include "proto/records.h"
#include "tests/lib/unit.h"

#include <string.h>

static const uint8_t big[200] = {1, 2, 3}; // a value whose length takes two varint bytes
static const uint8_t huge[9000] = {4, 5};  // three varint bytes (zigzag 18000)
static const struct kp_header_in hdr = {"h", 1, "v", 1};

// build writes one uncompressed batch of edge-case records into |w|; returns its record count.
static int build(kw *w, int64_t base_ts)
{
    struct kp_batch_params p;
    kp_batch_params_default(&p);
    p.base_offset = 1000;
    struct kp_batch_builder bb;
    kp_batch_builder_init(&bb, &p);
    struct {
        int32_t delta; // offset delta
        struct kp_record_in r;
    } recs[] = {
        {0, {base_ts, NULL, 0, "v", 1, NULL, 0}},                    // shortest: below FAST_MIN_LEN
        {1, {base_ts + 5, NULL, 0, "abcdefgh", 8, NULL, 0}},         // null key
        {2, {base_ts - 70, "k", 1, "", 0, NULL, 0}},                 // negative delta, empty value
        {3, {base_ts + 100000, "", 0, NULL, 0, NULL, 0}},            // 3-byte delta, null value
        {70, {base_ts - 100000, NULL, 0, big, sizeof big, NULL, 0}}, // 2-byte lengths
        {9000, {base_ts + 1, "key", 3, huge, sizeof huge, NULL, 0}}, // 3-byte lengths, offset
        {9001, {base_ts + (1 << 21), "kk", 2, "vv", 2, NULL, 0}}, // 4-byte ts delta: checked path
        {9002, {base_ts, "kh", 2, "vh", 2, &hdr, 1}},             // a header: checked path
        {1100000, {base_ts, "k4", 2, "offset delta of 4 bytes", 23, NULL, 0}},
        {1100001, {base_ts + 2, NULL, 0, "the batch's last", 16, NULL, 0}},
    };
    int n = (int)(sizeof recs / sizeof recs[0]);
    for (int i = 0; i < n; i++) {
        assert_true(kp_batch_builder_add_at(&bb, recs[i].delta, &recs[i].r));
    }
    assert_int_equal(kp_batch_builder_finish(&bb, w), KP_OK);
    kp_batch_builder_cleanup(&bb);
    return n;
}

// build_short_tail writes a batch whose last record is ten bytes of three-byte varints (its
// timestamp and offset deltas) with null key and value: the fast path must not read past it.
static void build_short_tail(kw *w)
{
    struct kp_batch_params p;
    kp_batch_params_default(&p);
    struct kp_batch_builder bb;
    kp_batch_builder_init(&bb, &p);
    assert_true(kp_batch_builder_add_at(
        &bb, 0, &(struct kp_record_in){1700000000000, NULL, 0, "first one", 9, NULL, 0}));
    assert_true(kp_batch_builder_add_at(
        &bb, 9000, &(struct kp_record_in){1700000100000, NULL, 0, NULL, 0, NULL, 0}));
    assert_int_equal(kp_batch_builder_finish(&bb, w), KP_OK);
    kp_batch_builder_cleanup(&bb);
}

static bool same_kr(const kr *x, const kr *y)
{
    return x->p == y->p && x->len == y->len;
}

static void check_same_record(struct kp_record a, struct kp_record b)
{
    assert_int_equal(a.offset, b.offset);
    assert_int_equal(a.timestamp, b.timestamp);
    assert_int_equal(a.ts_type, b.ts_type);
    assert_int_equal(a.attributes, b.attributes);
    assert_int_equal(a.key_null, b.key_null);
    assert_int_equal(a.value_null, b.value_null);
    assert_true(same_kr(&a.key, &b.key));
    assert_true(same_kr(&a.value, &b.value));
    assert_int_equal(a.num_headers, b.num_headers);
    assert_int_equal(a.header_bytes.len, b.header_bytes.len);
    for (;;) {
        struct kp_header ha, hb;
        bool ea, eb;
        assert_int_equal(kp_record_next_header(&a, &ha, &ea, NULL), KP_OK);
        assert_int_equal(kp_record_next_header(&b, &hb, &eb, NULL), KP_OK);
        assert_int_equal(ea, eb);
        if (ea) {
            return;
        }
        assert_true(same_kr(&ha.key, &hb.key) && same_kr(&ha.value, &hb.value));
        assert_int_equal(ha.value_null, hb.value_null);
    }
}

// diff decodes |len| bytes through both paths and checks they agree; returns the records read
// before the end or the first error, and that status in *out_st.
static int diff(const uint8_t *p, size_t len, enum kp_status *out_st)
{
    struct kp_records_opts opts = {.skip_crc = true};
    struct kp_records_iter it;
    kp_records_init(&it, p, len, NULL, &opts);
    struct kp_batch b;
    bool end;
    *out_st = kp_records_next_batch(&it, &b, &end, NULL);
    if (*out_st != KP_OK || end) {
        return 0;
    }
    struct kp_batch fast = b, checked = b;
    for (int n = 0;; n++) {
        struct kp_record ra, rb;
        bool ea = false, eb = false;
        struct kp_err xa = {NULL, 0}, xb = {NULL, 0};
        enum kp_status sa = kp_batch_next_record(&fast, &ra, &ea, &xa);
        enum kp_status sb = kp_batch_next_record_checked(&checked, &rb, &eb, &xb);
        assert_int_equal(sa, sb);
        *out_st = sa;
        if (sa != KP_OK) {
            assert_int_equal(xa.offset, xb.offset);
            assert_string_equal(xa.field, xb.field);
            return n;
        }
        assert_int_equal(ea, eb);
        if (ea) {
            return n;
        }
        check_same_record(ra, rb);
        assert_int_equal(fast.left, checked.left);
        assert_ptr_equal(fast.recs.p, checked.recs.p);
    }
}

static void test_paths_agree(void **state)
{
    (void)state;
    kw w;
    kw_init_grow(&w);
    int n = build(&w, 1700000000000);
    enum kp_status st;
    assert_int_equal(diff(kw_data(&w), kw_len(&w), &st), n);
    assert_int_equal(st, KP_OK);
    // The records as written, through the fast path's caller.
    struct kp_records_iter it;
    kp_records_init(&it, kw_data(&w), kw_len(&w), NULL, NULL);
    struct kp_batch b;
    bool end;
    assert_int_equal(kp_records_next_batch(&it, &b, &end, NULL), KP_OK);
    struct kp_record r;
    int64_t want_off[] = {1000, 1001, 1002, 1003, 1070, 10000, 10001, 10002, 1101000, 1101001};
    int64_t want_ts[] = {0, 5, -70, 100000, -100000, 1, 1 << 21, 0, 0, 2};
    for (int i = 0; i < n; i++) {
        assert_int_equal(kp_batch_next_record(&b, &r, &end, NULL), KP_OK);
        assert_false(end);
        assert_int_equal(r.offset, want_off[i]);
        assert_int_equal(r.timestamp, 1700000000000 + want_ts[i]);
    }
    assert_int_equal(kp_batch_next_record(&b, &r, &end, NULL), KP_OK);
    assert_true(end);
    kw_cleanup(&w);
}

static void test_short_last_record(void **state)
{
    (void)state;
    kw w;
    kw_init_grow(&w);
    build_short_tail(&w);
    size_t len = kw_len(&w);
    assert_int_equal(kw_data(&w)[len - 11], 10 * 2); // the last record's length: 10 (zigzag)
    uint8_t *exact = malloc(len); // no bytes after the batch: ASan sees any read past it
    assert_non_null(exact);
    memcpy(exact, kw_data(&w), len);
    enum kp_status st;
    assert_int_equal(diff(exact, len, &st), 2);
    assert_int_equal(st, KP_OK);
    free(exact);
    kw_cleanup(&w);
}

// Every byte of the batch from its magic on (the CRC is not checked here) replaced by each of a
// few values: both paths agree on each.
static void test_paths_agree_on_corruptions(void **state)
{
    (void)state;
    kw w;
    kw_init_grow(&w);
    build(&w, 1700000000000);
    size_t len = kw_len(&w);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    static const uint8_t vals[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xfe, 0xff};
    size_t errors = 0;
    for (size_t i = 17; i < len; i++) {
        for (size_t k = 0; k < sizeof vals; k++) {
            memcpy(buf, kw_data(&w), len);
            if (buf[i] == vals[k]) {
                continue;
            }
            buf[i] = vals[k];
            enum kp_status st;
            diff(buf, len, &st);
            errors += st != KP_OK;
        }
    }
    assert_true(errors > 0); // the corruptions did reach the decoders' checks
    free(buf);
    kw_cleanup(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_agree),
        cmocka_unit_test(test_paths_agree_on_corruptions),
        cmocka_unit_test(test_short_last_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
