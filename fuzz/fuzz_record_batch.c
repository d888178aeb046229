// fuzz_record_batch.c: the records-blob decoder (magic 0, 1 and 2, every codec), the
// read_committed filter and the batch builder.
//
// The first byte picks the options: bit 0 set = verify CRCs (off by default so the fuzzer gets
// past them), bits 1-2 the arena limit (1 KiB, 64 KiB, 1 MiB, 16 MiB). The rest is the blob.
// Invariants checked: batches are consecutive and inside the input, and with the partial tail
// they account for every byte; record offsets increase strictly within a batch and stay within
// [base_offset, last_offset]; every view lies inside the input or the decompressed block it came
// from; the arena never holds more than its limit; and re-encoding a batch's decoded records with
// the builder (uncompressed) and decoding that again gives the same records; and decoding an
// uncompressed magic-2 batch through kp_batch_next_record (its fast path) and through
// kp_batch_next_record_checked gives the same records, views, statuses and error positions.
#include "proto/batch_builder.h"
#include "proto/compress.h"
#include "proto/records.h"
#include "proto/txn_filter.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_KEEP 256

struct span {
    const uint8_t *lo, *hi;
};

static void assert_inside(const kr *v, struct span a, struct span b)
{
    if (v->len == 0) {
        return;
    }
    bool in_a = v->p >= a.lo && v->p + v->len <= a.hi;
    bool in_b = v->p >= b.lo && v->p + v->len <= b.hi;
    assert(in_a || in_b);
}

static bool same_view(const kr *x, bool xnull, const kr *y, bool ynull)
{
    return xnull == ynull && x->len == y->len && (x->len == 0 || memcmp(x->p, y->p, x->len) == 0);
}

static bool same_headers(struct kp_record a, struct kp_record b)
{
    if (a.num_headers != b.num_headers) {
        return false;
    }
    for (;;) {
        struct kp_header ha, hb;
        bool ea, eb;
        if (kp_record_next_header(&a, &ha, &ea, NULL) != KP_OK ||
            kp_record_next_header(&b, &hb, &eb, NULL) != KP_OK || ea != eb) {
            return false;
        }
        if (ea) {
            return true;
        }
        if (!same_view(&ha.key, false, &hb.key, false) ||
            !same_view(&ha.value, ha.value_null, &hb.value, hb.value_null)) {
            return false;
        }
    }
}

// add_record feeds one decoded record to the builder.
static bool add_record(struct kp_batch_builder *bb, const struct kp_batch *b, struct kp_record rec)
{
    struct kp_header_in hs[8];
    size_t nh = 0;
    struct kp_header h;
    bool end;
    while (kp_record_next_header(&rec, &h, &end, NULL) == KP_OK && !end) {
        if (nh == 8) {
            return false;
        }
        hs[nh].key = h.key.p ? h.key.p : (const uint8_t *)"";
        hs[nh].key_len = h.key.len;
        hs[nh].value = h.value_null ? NULL : (h.value.p ? h.value.p : (const uint8_t *)"");
        hs[nh].value_len = h.value.len;
        nh++;
    }
    struct kp_record_in in = {
        .timestamp = rec.timestamp,
        .key = rec.key_null ? NULL : (rec.key.p ? rec.key.p : (const uint8_t *)""),
        .key_len = rec.key.len,
        .value = rec.value_null ? NULL : (rec.value.p ? rec.value.p : (const uint8_t *)""),
        .value_len = rec.value.len,
        .headers = hs,
        .num_headers = nh,
    };
    return kp_batch_builder_add_at(bb, (int32_t)(rec.offset - b->base_offset), &in);
}

// reencode writes |n| records of |b| as a new uncompressed batch and checks it decodes to them.
static void reencode(const struct kp_batch *b, const struct kp_record *recs, size_t n)
{
    struct kp_batch_params p;
    kp_batch_params_default(&p);
    p.base_offset = b->base_offset;
    bool same_ts_type = true;
    for (size_t i = 1; i < n; i++) {
        same_ts_type =
            same_ts_type && recs[i].ts_type == recs[0].ts_type &&
            (recs[0].ts_type != KP_TS_LOG_APPEND || recs[i].timestamp == recs[0].timestamp);
    }
    if (n > 0 && recs[0].ts_type == KP_TS_LOG_APPEND) {
        p.log_append_time = true;
        p.log_append_time_ms = recs[0].timestamp;
    }
    struct kp_batch_builder bb;
    kp_batch_builder_init(&bb, &p);
    kw w;
    kw_init_grow(&w);
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        ok = add_record(&bb, b, recs[i]);
    }
    if (ok && kp_batch_builder_finish(&bb, &w) == KP_OK) {
        struct kp_records_iter it;
        kp_records_init(&it, kw_data(&w), kw_len(&w), NULL, NULL);
        struct kp_batch nb;
        bool end;
        assert(kp_records_next_batch(&it, &nb, &end, NULL) == KP_OK && !end);
        assert(nb.num_records == (int32_t)n);
        for (size_t i = 0; i < n; i++) {
            struct kp_record r;
            assert(kp_batch_next_record(&nb, &r, &end, NULL) == KP_OK && !end);
            assert(r.offset == recs[i].offset);
            assert(!same_ts_type || r.timestamp == recs[i].timestamp);
            assert(same_view(&r.key, r.key_null, &recs[i].key, recs[i].key_null));
            assert(same_view(&r.value, r.value_null, &recs[i].value, recs[i].value_null));
            assert(same_headers(r, recs[i]));
        }
        assert(kp_batch_next_record(&nb, &(struct kp_record){0}, &end, NULL) == KP_OK && end);
    }
    kw_cleanup(&w);
    kp_batch_builder_cleanup(&bb);
}

// same_record: every field a caller can see, the views by position (both paths read one buffer).
static bool same_kr(const kr *x, const kr *y)
{
    return x->p == y->p && x->len == y->len && (x->len == 0 || x->base == y->base);
}

static void assert_same_record(struct kp_record a, struct kp_record b)
{
    assert(a.offset == b.offset && a.timestamp == b.timestamp && a.ts_type == b.ts_type);
    assert(a.attributes == b.attributes && a.key_null == b.key_null &&
           a.value_null == b.value_null && a.num_headers == b.num_headers);
    assert(same_kr(&a.key, &b.key) && same_kr(&a.value, &b.value));
    assert(a.header_bytes.len == b.header_bytes.len &&
           (a.header_bytes.len == 0 || a.header_bytes.p == b.header_bytes.p));
    for (;;) {
        struct kp_header ha, hb;
        bool ea, eb;
        enum kp_status sa = kp_record_next_header(&a, &ha, &ea, NULL);
        assert(sa == kp_record_next_header(&b, &hb, &eb, NULL));
        if (sa != KP_OK) {
            return;
        }
        assert(ea == eb);
        if (ea) {
            return;
        }
        assert(same_kr(&ha.key, &hb.key) && ha.value_null == hb.value_null &&
               same_kr(&ha.value, &hb.value));
    }
}

// diff_paths decodes an uncompressed magic-2 batch through both record paths, side by side.
static void diff_paths(const struct kp_batch *b)
{
    if (b->magic != 2 || b->codec != KP_CODEC_NONE) {
        return; // a compressed batch would be decompressed twice into one arena
    }
    struct kp_batch fast = *b, checked = *b;
    for (;;) {
        struct kp_record ra, rb;
        bool ea = false, eb = false;
        struct kp_err xa = {NULL, 0}, xb = {NULL, 0};
        enum kp_status sa = kp_batch_next_record(&fast, &ra, &ea, &xa);
        enum kp_status sb = kp_batch_next_record_checked(&checked, &rb, &eb, &xb);
        assert(sa == sb);
        if (sa != KP_OK) {
            assert(xa.offset == xb.offset &&
                   (xa.field == xb.field || strcmp(xa.field, xb.field) == 0));
            return;
        }
        assert(ea == eb);
        if (ea) {
            return;
        }
        assert_same_record(ra, rb);
        assert(fast.left == checked.left && fast.recs.p == checked.recs.p &&
               fast.recs.len == checked.recs.len);
    }
}

// walk_batch reads every record of |b|; returns false on a decode error.
static bool walk_batch(struct kp_batch *b, struct span input, struct kp_record *keep)
{
    size_t n = 0;
    int64_t prev = INT64_MIN;
    for (;;) {
        struct kp_record rec;
        bool end;
        if (kp_batch_next_record(b, &rec, &end, NULL) != KP_OK) {
            return false;
        }
        if (end) {
            break;
        }
        assert(n == 0 || rec.offset > prev);
        assert(rec.offset >= b->base_offset && rec.offset <= b->last_offset);
        prev = rec.offset;
        struct span block = {b->recs.base, b->recs.p + b->recs.len};
        assert_inside(&rec.key, input, block);
        assert_inside(&rec.value, input, block);
        struct kp_record copy = rec;
        struct kp_header h, h2;
        kr hb = rec.header_bytes; // kp_headers_next walks the same headers
        uint32_t nh = 0;
        while (kp_record_next_header(&copy, &h, &end, NULL) == KP_OK && !end) {
            assert_inside(&h.key, input, block);
            assert_inside(&h.value, input, block);
            assert(kp_headers_next(&hb, &h2) && h2.key.len == h.key.len &&
                   h2.value_null == h.value_null && h2.value.len == h.value.len);
            nh++;
        }
        assert(nh == rec.num_headers && !kp_headers_next(&hb, &h2) && kr_left(&hb) == 0);
        if (n < MAX_KEEP) {
            keep[n] = rec;
        }
        n++;
    }
    assert(n == (size_t)b->num_records);
    if (n <= MAX_KEEP) {
        reencode(b, keep, n);
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    static const size_t limits[4] = {1u << 10, 1u << 16, 1u << 20, 1u << 24};
    struct kp_records_opts opts = {.skip_crc = (data[0] & 1) == 0};
    size_t limit = limits[(data[0] >> 1) & 3];
    data++;
    size--;
    struct span input = {data, data + size};
    struct kp_arena arena;
    kp_arena_init(&arena, limit);
    struct kp_records_iter it;
    kp_records_init(&it, data, size, &arena, &opts);
    struct kp_aborted_txn txns[2] = {{1, 0}, {2, 5}};
    struct kp_txn_filter filter;
    kp_txn_filter_init(&filter, txns, 2);
    struct kp_record *keep = malloc(MAX_KEEP * sizeof *keep);
    size_t expect_offset = 0;
    for (;;) {
        struct kp_batch b;
        bool end;
        if (kp_records_next_batch(&it, &b, &end, NULL) != KP_OK) {
            break;
        }
        if (end) {
            assert(expect_offset + kp_records_partial_len(&it) == size);
            break;
        }
        assert(b.wire_offset == expect_offset);
        assert(b.wire == data + b.wire_offset && b.wire_len <= size - b.wire_offset);
        expect_offset += b.wire_len;
        assert(b.last_offset >= b.base_offset);
        (void)kp_txn_filter_batch(&filter, &b);
        diff_paths(&b);
        bool ok = walk_batch(&b, input, keep);
        assert(kp_arena_used(&arena) <= limit);
        if (!ok) {
            continue; // a bad batch's records do not stop the walk over later batches
        }
    }
    free(keep);
    kp_arena_cleanup(&arena);
    return 0;
}
