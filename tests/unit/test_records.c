// test_records.c: record batches (magic 2), legacy message sets (magic 0/1), the batch builder
// and the read_committed filter, over golden bytes captured from librdkafka and hand-built sets.
#include "proto/batch_builder.h"
#include "proto/compress.h"
#include "proto/crc32c.h"
#include "proto/kw.h"
#include "proto/records.h"
#include "proto/txn_filter.h"
#include "tests/lib/golden.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- helpers: decode a whole blob into flat records ----------------------------------------

#define MAX_FLAT 64

struct flat {
    int64_t offset, timestamp;
    int ts_type;
    char key[64], value[64];
    bool key_null, value_null;
    size_t value_len;
    uint32_t num_headers;
    char hkey[4][16], hval[4][16];
    bool hval_null[4];
    int batch; // index of the batch it came from
};

struct decoded {
    struct flat rec[MAX_FLAT];
    size_t n;
    struct kp_batch batch[16];
    size_t num_batches;
    size_t partial;
    enum kp_status st;
    struct kp_err err;
};

static void copy_view(char *dst, size_t cap, const kr *v)
{
    size_t n = v->len < cap - 1 ? v->len : cap - 1;
    if (n > 0) {
        memcpy(dst, v->p, n);
    }
    dst[n] = 0;
}

static enum kp_status flatten_record(struct kp_record *rec, struct flat *f, struct kp_err *err)
{
    memset(f, 0, sizeof *f);
    f->offset = rec->offset;
    f->timestamp = rec->timestamp;
    f->ts_type = rec->ts_type;
    f->key_null = rec->key_null;
    f->value_null = rec->value_null;
    f->value_len = rec->value.len;
    copy_view(f->key, sizeof f->key, &rec->key);
    copy_view(f->value, sizeof f->value, &rec->value);
    f->num_headers = rec->num_headers;
    struct kp_header h, h2;
    bool end;
    // header_bytes walks the same headers (kp_headers_next, for copies of the record)
    kr hb = rec->header_bytes;
    for (size_t i = 0;; i++) {
        enum kp_status st = kp_record_next_header(rec, &h, &end, err);
        if (st != KP_OK || end) {
            assert_false(st == KP_OK && kp_headers_next(&hb, &h2));
            assert_int_equal(kr_left(&hb), 0);
            return st;
        }
        assert_true(kp_headers_next(&hb, &h2));
        assert_int_equal(h2.key.len, h.key.len);
        assert_ptr_equal(h2.key.p, h.key.p);
        assert_int_equal(h2.value_null, h.value_null);
        assert_int_equal(h2.value.len, h.value.len);
        if (!h.value_null && h.value.len > 0) {
            assert_ptr_equal(h2.value.p, h.value.p);
        }
        if (i < 4) {
            copy_view(f->hkey[i], sizeof f->hkey[i], &h.key);
            copy_view(f->hval[i], sizeof f->hval[i], &h.value);
            f->hval_null[i] = h.value_null;
        }
    }
}

// decode walks every batch and record of |len| bytes at |p| into |d|.
static void decode(const uint8_t *p, size_t len, struct kp_arena *arena,
                   const struct kp_records_opts *opts, struct decoded *d)
{
    memset(d, 0, sizeof *d);
    struct kp_records_iter it;
    kp_records_init(&it, p, len, arena, opts);
    for (;;) {
        struct kp_batch b;
        bool end;
        d->st = kp_records_next_batch(&it, &b, &end, &d->err);
        if (d->st != KP_OK || end) {
            break;
        }
        struct kp_record rec;
        for (;;) {
            d->st = kp_batch_next_record(&b, &rec, &end, &d->err);
            if (d->st != KP_OK || end) {
                break;
            }
            if (d->n < MAX_FLAT) {
                d->st = flatten_record(&rec, &d->rec[d->n], &d->err);
                d->rec[d->n].batch = (int)d->num_batches;
                d->n++;
            }
            if (d->st != KP_OK) {
                break;
            }
        }
        if (d->num_batches < 16) {
            d->batch[d->num_batches] = b;
        }
        d->num_batches++;
        if (d->st != KP_OK) {
            break;
        }
    }
    d->partial = kp_records_partial_len(&it);
}

// ---- golden batches from librdkafka ---------------------------------------------------------

static void check_librdkafka_golden(const char *name, int codec)
{
    struct guarded g;
    golden_load_guarded(&g, name);
    struct kp_arena arena;
    kp_arena_init(&arena, 0);
    struct decoded *d = calloc(1, sizeof *d);
    decode(g.data, g.len, &arena, NULL, d);
    assert_int_equal(d->st, KP_OK);
    assert_int_equal(d->num_batches, 3);
    assert_int_equal(d->partial, 0);
    assert_int_equal(d->n, 10);
    int64_t bases[3] = {0, 5, 8};
    int32_t counts[3] = {5, 3, 2};
    for (int i = 0; i < 3; i++) {
        const struct kp_batch *b = &d->batch[i];
        assert_int_equal(b->magic, 2);
        // librdkafka sends a batch uncompressed when compression does not make it smaller,
        // which is what happens to the two small batches.
        assert_int_equal(b->codec, i == 0 ? codec : KP_CODEC_NONE);
        assert_int_equal(b->base_offset, bases[i]);
        assert_int_equal(b->num_records, counts[i]);
        assert_int_equal(b->last_offset, bases[i] + counts[i] - 1);
        assert_int_equal(b->ts_type, KP_TS_CREATE);
        assert_false(b->is_control);
        assert_false(b->is_transactional);
        assert_int_equal(b->crc, kp_crc32c(0, b->wire + 21, b->wire_len - 21));
    }
    for (int i = 0; i < 5; i++) {
        const struct flat *f = &d->rec[i];
        char want[32];
        assert_int_equal(f->offset, i);
        assert_int_equal(f->timestamp, 1700000000000 + 1000 * i);
        snprintf(want, sizeof want, "k0-%d", i);
        assert_string_equal(f->key, want);
        snprintf(want, sizeof want, "seq=%d part=0", i);
        assert_string_equal(f->value, want);
        assert_int_equal(f->num_headers, 2);
        assert_string_equal(f->hkey[0], "h1");
        assert_string_equal(f->hval[0], "v1");
        assert_false(f->hval_null[0]);
        assert_string_equal(f->hkey[1], "hnull");
        assert_true(f->hval_null[1]);
    }
    for (int i = 5; i < 8; i++) {
        const struct flat *f = &d->rec[i];
        assert_int_equal(f->offset, i);
        assert_int_equal(f->timestamp, 1700000100000 + (i - 5));
        assert_true(f->key_null);
        assert_false(f->value_null);
        assert_int_equal(f->value_len, 0);
        assert_int_equal(f->num_headers, 0);
    }
    for (int i = 8; i < 10; i++) {
        const struct flat *f = &d->rec[i];
        assert_int_equal(f->offset, i);
        assert_string_equal(f->key, "tomb");
        assert_true(f->value_null);
        assert_int_equal(f->timestamp, 1700000200000 + (i - 8));
    }
    free(d);
    kp_arena_cleanup(&arena);
    guarded_free(&g);
}

static void test_golden_none(void **state)
{
    (void)state;
    check_librdkafka_golden("records_none.bin", KP_CODEC_NONE);
}

static void test_golden_gzip(void **state)
{
    (void)state;
    check_librdkafka_golden("records_gzip.bin", KP_CODEC_GZIP);
}

static void test_golden_snappy(void **state)
{
    (void)state;
    check_librdkafka_golden("records_snappy.bin", KP_CODEC_SNAPPY);
}

static void test_golden_lz4(void **state)
{
    (void)state;
    check_librdkafka_golden("records_lz4.bin", KP_CODEC_LZ4);
}

static void test_golden_zstd(void **state)
{
    (void)state;
    check_librdkafka_golden("records_zstd.bin", KP_CODEC_ZSTD);
}

// Every strict prefix decodes the complete batches it holds, then reports the rest as partial.
static void check_prefixes(const char *name)
{
    struct guarded full;
    golden_load_guarded(&full, name);
    struct kp_arena arena;
    kp_arena_init(&arena, 0);
    struct decoded *whole = calloc(1, sizeof *whole), *d = calloc(1, sizeof *d);
    decode(full.data, full.len, &arena, NULL, whole);
    assert_int_equal(whole->st, KP_OK);
    for (size_t n = 0; n < full.len; n++) {
        struct guarded g;
        guarded_copy(&g, full.data, n);
        decode(g.data, g.len, &arena, NULL, d);
        if (d->st != KP_OK) {
            fail_msg("%s prefix %zu: %s at %zu (%s)", name, n, kp_status_name(d->st), d->err.offset,
                     d->err.field);
        }
        // The complete batches are those that end within n bytes.
        size_t want = 0, end_of_complete = 0;
        for (size_t i = 0; i < whole->num_batches; i++) {
            const struct kp_batch *b = &whole->batch[i];
            if (b->wire_offset + b->wire_len <= n) {
                want++;
                end_of_complete = b->wire_offset + b->wire_len;
            }
        }
        assert_int_equal(d->num_batches, want);
        assert_int_equal(d->partial, n - end_of_complete);
        kp_arena_reset(&arena);
        guarded_free(&g);
    }
    free(whole);
    free(d);
    kp_arena_cleanup(&arena);
    guarded_free(&full);
}

static void test_prefixes_are_partial(void **state)
{
    (void)state;
    check_prefixes("records_none.bin");
    check_prefixes("records_gzip.bin");
    check_prefixes("records_snappy.bin");
    check_prefixes("records_lz4.bin");
    check_prefixes("records_zstd.bin");
    check_prefixes("records_legacy_v0.bin");
    check_prefixes("records_legacy_v1.bin");
}

static void test_corrupt_crc(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "records_none.bin");
    struct decoded *d = calloc(1, sizeof *d);
    // Flip one bit in the first record's value (well inside the CRC-covered range).
    g.data[100] ^= 0x01;
    decode(g.data, g.len, NULL, NULL, d);
    assert_int_equal(d->st, KP_ERR_CORRUPT);
    assert_non_null(strstr(d->err.field, "crc"));
    assert_int_equal(d->num_batches, 0);
    // With CRC checks off the batch decodes (the changed byte is part of a value).
    struct kp_records_opts opts = {.skip_crc = true};
    decode(g.data, g.len, NULL, &opts, d);
    assert_int_equal(d->st, KP_OK);
    assert_int_equal(d->n, 10);
    // The iterator stays failed after an error.
    struct kp_records_iter it;
    kp_records_init(&it, g.data, g.len, NULL, NULL);
    struct kp_batch b;
    bool end;
    assert_int_equal(kp_records_next_batch(&it, &b, &end, NULL), KP_ERR_CORRUPT);
    assert_int_equal(kp_records_next_batch(&it, &b, &end, NULL), KP_ERR_MALFORMED);
    free(d);
    guarded_free(&g);
}

static void test_compressed_batch_needs_arena(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "records_lz4.bin");
    struct kp_records_iter it;
    kp_records_init(&it, g.data, g.len, NULL, NULL);
    struct kp_batch b;
    struct kp_record rec;
    bool end;
    struct kp_err err;
    // Headers can be read and the batch skipped without an arena ...
    assert_int_equal(kp_records_next_batch(&it, &b, &end, &err), KP_OK);
    assert_false(end);
    assert_int_equal(b.codec, KP_CODEC_LZ4);
    // ... but reading its records needs one.
    assert_int_equal(kp_batch_next_record(&b, &rec, &end, &err), KP_ERR_UNSUPPORTED);
    assert_int_equal(kp_records_next_batch(&it, &b, &end, &err), KP_OK);
    assert_int_equal(b.base_offset, 5);
    guarded_free(&g);
}

// ---- builder round trips --------------------------------------------------------------------

static const struct kp_header_in hdrs[3] = {
    {"a", 1, "1", 1},
    {"empty", 5, "", 0},
    {"null", 4, NULL, 0},
};

// build writes a batch of 6 varied records with |p| into |w|.
static void build_varied(kw *w, const struct kp_batch_params *p)
{
    struct kp_batch_builder bb;
    kp_batch_builder_init(&bb, p);
    struct kp_record_in r[6] = {
        {1700000000000, "key0", 4, "value0", 6, hdrs, 3},
        {1700000000500, NULL, 0, "null key", 8, NULL, 0},
        {1699999999000, "", 0, "", 0, hdrs, 1}, // earlier timestamp: negative delta
        {1700000000001, "tomb", 4, NULL, 0, NULL, 0},
        {1700000000002, NULL, 0, NULL, 0, hdrs + 2, 1},
        {1700000000003, "k5", 2, "v5", 2, hdrs + 1, 2},
    };
    for (int i = 0; i < 6; i++) {
        assert_true(kp_batch_builder_add(&bb, &r[i]));
    }
    assert_int_equal(kp_batch_builder_finish(&bb, w), KP_OK);
    kp_batch_builder_cleanup(&bb);
}

static void check_varied(const struct decoded *d, int64_t base, bool log_append)
{
    assert_int_equal(d->st, KP_OK);
    assert_int_equal(d->n, 6);
    int64_t ts[6] = {1700000000000, 1700000000500, 1699999999000,
                     1700000000001, 1700000000002, 1700000000003};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(d->rec[i].offset, base + i);
        assert_int_equal(d->rec[i].timestamp, log_append ? 1800000000000 : ts[i]);
        assert_int_equal(d->rec[i].ts_type, log_append ? KP_TS_LOG_APPEND : KP_TS_CREATE);
    }
    assert_string_equal(d->rec[0].key, "key0");
    assert_string_equal(d->rec[0].value, "value0");
    assert_int_equal(d->rec[0].num_headers, 3);
    assert_string_equal(d->rec[0].hkey[1], "empty");
    assert_false(d->rec[0].hval_null[1]);
    assert_true(d->rec[0].hval_null[2]);
    assert_true(d->rec[1].key_null);
    assert_false(d->rec[2].key_null);
    assert_false(d->rec[2].value_null);
    assert_int_equal(d->rec[2].value_len, 0);
    assert_true(d->rec[3].value_null);
    assert_true(d->rec[4].key_null && d->rec[4].value_null);
    assert_string_equal(d->rec[4].hkey[0], "null");
    assert_int_equal(d->rec[5].num_headers, 2);
    assert_int_equal(d->batch[0].max_timestamp, log_append ? 1800000000000 : 1700000000500);
    assert_int_equal(d->batch[0].base_timestamp, 1700000000000);
}

static void test_round_trip_every_codec(void **state)
{
    (void)state;
    struct {
        int codec;
        unsigned flags;
    } cases[] = {
        {KP_CODEC_NONE, 0},   {KP_CODEC_GZIP, 0},
        {KP_CODEC_SNAPPY, 0}, {KP_CODEC_SNAPPY, KP_COMP_SNAPPY_XERIAL},
        {KP_CODEC_LZ4, 0},    {KP_CODEC_ZSTD, 0},
    };
    struct decoded *d = calloc(1, sizeof *d);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int lat = 0; lat < 2; lat++) {
            struct kp_batch_params p;
            kp_batch_params_default(&p);
            p.codec = cases[c].codec;
            p.compress = kp_compress;
            p.compress_flags = cases[c].flags;
            p.base_offset = 1000 + (int64_t)c;
            p.log_append_time = lat != 0;
            p.log_append_time_ms = 1800000000000;
            kw w;
            kw_init_grow(&w);
            build_varied(&w, &p);
            build_varied(&w, &p); // two batches back to back
            struct kp_arena arena;
            kp_arena_init(&arena, 0);
            struct guarded g;
            guarded_copy(&g, kw_data(&w), kw_len(&w));
            decode(g.data, g.len, &arena, NULL, d);
            assert_int_equal(d->num_batches, 2);
            assert_int_equal(d->batch[0].codec, cases[c].codec);
            assert_int_equal(d->batch[0].ts_type, lat ? KP_TS_LOG_APPEND : KP_TS_CREATE);
            d->n = 6;
            check_varied(d, 1000 + (int64_t)c, lat != 0);
            assert_int_equal(d->rec[6].offset, 1000 + (int64_t)c);
            guarded_free(&g);
            kp_arena_cleanup(&arena);
            kw_cleanup(&w);
        }
    }
    free(d);
}

// The builder's uncompressed output for the spec's one-record example is byte-exact.
static void test_builder_matches_spec_example(void **state)
{
    (void)state;
    uint8_t want[128];
    // The spec's example (kafka-protocol guide, section 4.1), laid out field by field.
    size_t n = hex_decode("00 00 00 00 00 00 00 00 | 00 00 00 3a | ff ff ff ff | 02 | e9 9b 8d d8"
                          "00 00 | 00 00 00 00 | 00 00 01 8b cf e5 68 00 | 00 00 01 8b cf e5 68 00"
                          "ff ff ff ff ff ff ff ff | ff ff | ff ff ff ff | 00 00 00 01"
                          "10 00 00 00 02 6b 02 76 00",
                          want, sizeof want);
    struct kp_batch_params p;
    kp_batch_params_default(&p);
    struct kp_batch_builder bb;
    kp_batch_builder_init(&bb, &p);
    struct kp_record_in r = {1700000000000, "k", 1, "v", 1, NULL, 0};
    assert_true(kp_batch_builder_add(&bb, &r));
    kw w;
    kw_init_grow(&w);
    assert_int_equal(kp_batch_builder_finish(&bb, &w), KP_OK);
    assert_int_equal(kw_len(&w), n);
    assert_memory_equal(kw_data(&w), want, n);
    kw_cleanup(&w);
    kp_batch_builder_cleanup(&bb);
}

static void test_builder_errors(void **state)
{
    (void)state;
    struct kp_batch_params p;
    kp_batch_params_default(&p);
    struct kp_batch_builder bb;
    kp_batch_builder_init(&bb, &p);
    struct kp_record_in r = {1, "k", 1, "v", 1, NULL, 0};
    assert_true(kp_batch_builder_add_at(&bb, 5, &r));
    assert_false(kp_batch_builder_add_at(&bb, 5, &r)); // offsets must increase
    kw w;
    kw_init_grow(&w);
    assert_int_equal(kp_batch_builder_finish(&bb, &w), KP_ERR_LIMIT);
    kp_batch_builder_cleanup(&bb);
    // A fixed buffer too small for the batch.
    uint8_t small[40];
    kw f;
    kw_init_fixed(&f, small, sizeof small);
    kp_batch_builder_init(&bb, &p);
    assert_true(kp_batch_builder_add(&bb, &r));
    assert_int_equal(kp_batch_builder_finish(&bb, &f), KP_ERR_LIMIT);
    // Unknown codec.
    bb.params.codec = 6;
    assert_int_equal(kp_batch_builder_finish(&bb, &w), KP_ERR_UNSUPPORTED);
    // A real codec without a compressor: the builder never reaches compress.h by itself.
    bb.params.codec = KP_CODEC_GZIP;
    bb.params.compress = NULL;
    assert_int_equal(kp_batch_builder_finish(&bb, &w), KP_ERR_UNSUPPORTED);
    kp_batch_builder_cleanup(&bb);
    kw_cleanup(&w);
}

// Offset gaps (as after compaction) decode; the next position is lastOffset + 1.
static void test_offset_gaps(void **state)
{
    (void)state;
    struct kp_batch_params p;
    kp_batch_params_default(&p);
    p.base_offset = 50;
    struct kp_batch_builder bb;
    kp_batch_builder_init(&bb, &p);
    struct kp_record_in r = {1, "k", 1, "v", 1, NULL, 0};
    assert_true(kp_batch_builder_add_at(&bb, 2, &r));
    assert_true(kp_batch_builder_add_at(&bb, 7, &r));
    kw w;
    kw_init_grow(&w);
    assert_int_equal(kp_batch_builder_finish(&bb, &w), KP_OK);
    struct decoded *d = calloc(1, sizeof *d);
    decode(kw_data(&w), kw_len(&w), NULL, NULL, d);
    assert_int_equal(d->st, KP_OK);
    assert_int_equal(d->n, 2);
    assert_int_equal(d->rec[0].offset, 52);
    assert_int_equal(d->rec[1].offset, 57);
    assert_int_equal(d->batch[0].last_offset, 57);
    free(d);
    kw_cleanup(&w);
    kp_batch_builder_cleanup(&bb);
}

// ---- malformed batches (CRC recomputed so the structure checks are reached) ------------------

static void refresh_crc(uint8_t *batch, size_t len)
{
    uint32_t c = kp_crc32c(0, batch + 21, len - 21);
    batch[17] = (uint8_t)(c >> 24);
    batch[18] = (uint8_t)(c >> 16);
    batch[19] = (uint8_t)(c >> 8);
    batch[20] = (uint8_t)c;
}

static enum kp_status decode_status(uint8_t *p, size_t len, const char **out_field)
{
    refresh_crc(p, len);
    struct decoded *d = calloc(1, sizeof *d);
    decode(p, len, NULL, NULL, d);
    enum kp_status st = d->st;
    *out_field = d->err.field;
    free(d);
    return st;
}

static void test_malformed_batches(void **state)
{
    (void)state;
    struct kp_batch_params p;
    kp_batch_params_default(&p);
    struct kp_batch_builder bb;
    kp_batch_builder_init(&bb, &p);
    struct kp_record_in r = {1, "k", 1, "v", 1, NULL, 0};
    assert_true(kp_batch_builder_add(&bb, &r));
    assert_true(kp_batch_builder_add(&bb, &r));
    kw w;
    kw_init_grow(&w);
    assert_int_equal(kp_batch_builder_finish(&bb, &w), KP_OK);
    size_t len = kw_len(&w);
    uint8_t *b = malloc(len + 8);
    const char *field;

    // Record count larger than the records present.
    memcpy(b, kw_data(&w), len);
    b[60] = 3;
    assert_int_equal(decode_status(b, len, &field), KP_ERR_MALFORMED);
    // Record count far larger than the bytes could hold.
    memcpy(b, kw_data(&w), len);
    b[57] = 0x10;
    assert_int_equal(decode_status(b, len, &field), KP_ERR_MALFORMED);
    assert_non_null(strstr(field, "records_count"));
    // Negative record count.
    memcpy(b, kw_data(&w), len);
    b[57] = 0xff;
    assert_int_equal(decode_status(b, len, &field), KP_ERR_MALFORMED);
    // Fewer records declared than present: trailing bytes.
    memcpy(b, kw_data(&w), len);
    b[60] = 1;
    assert_int_equal(decode_status(b, len, &field), KP_ERR_MALFORMED);
    assert_non_null(strstr(field, "after the last record"));
    // Second record's offset delta equal to the first's (record 2 starts at 61 + 9).
    memcpy(b, kw_data(&w), len);
    assert_int_equal(b[61 + 9 + 3], 2); // zigzag(1)
    b[61 + 9 + 3] = 0;
    assert_int_equal(decode_status(b, len, &field), KP_ERR_MALFORMED);
    assert_non_null(strstr(field, "offset_delta"));
    // Offset delta past lastOffsetDelta.
    memcpy(b, kw_data(&w), len);
    b[26] = 0; // lastOffsetDelta 1 -> 0
    assert_int_equal(decode_status(b, len, &field), KP_ERR_MALFORMED);
    // A record length that leaves bytes unread inside the record (key length shortened).
    memcpy(b, kw_data(&w), len);
    b[61 + 4] = 0; // keyLength 1 -> 0: the key byte is now read as the value length ...
    assert_int_not_equal(decode_status(b, len, &field), KP_OK);
    // Unknown magic.
    memcpy(b, kw_data(&w), len);
    b[16] = 3;
    assert_int_equal(decode_status(b, len, &field), KP_ERR_VERSION);
    // Unknown codec.
    memcpy(b, kw_data(&w), len);
    b[22] = 5;
    assert_int_equal(decode_status(b, len, &field), KP_ERR_UNSUPPORTED);
    // Batch length below the header size.
    memcpy(b, kw_data(&w), len);
    b[11] = 20;
    assert_int_equal(decode_status(b, len, &field), KP_ERR_MALFORMED);
    // Negative header count.
    memcpy(b, kw_data(&w), len);
    b[61 + 8] = 1; // headersCount zigzag(-1)
    assert_int_equal(decode_status(b, len, &field), KP_ERR_MALFORMED);

    free(b);
    kw_cleanup(&w);
    kp_batch_builder_cleanup(&bb);
}

// ---- control batches and read_committed ------------------------------------------------------

static void add_batch(kw *w, int64_t base, int64_t pid, bool txn, int n)
{
    struct kp_batch_params p;
    kp_batch_params_default(&p);
    p.base_offset = base;
    p.producer_id = pid;
    p.producer_epoch = 0;
    p.base_sequence = 0;
    p.transactional = txn;
    struct kp_batch_builder bb;
    kp_batch_builder_init(&bb, &p);
    for (int i = 0; i < n; i++) {
        char v[16];
        snprintf(v, sizeof v, "v%lld", (long long)(base + i));
        struct kp_record_in r = {1000 + base + i, NULL, 0, v, strlen(v), NULL, 0};
        assert_true(kp_batch_builder_add(&bb, &r));
    }
    assert_int_equal(kp_batch_builder_finish(&bb, w), KP_OK);
    kp_batch_builder_cleanup(&bb);
}

static void add_marker(kw *w, int64_t base, int64_t pid, int16_t type)
{
    struct kp_batch_params p;
    kp_batch_params_default(&p);
    p.base_offset = base;
    p.producer_id = pid;
    p.producer_epoch = 0;
    p.transactional = true;
    p.control = true;
    struct kp_batch_builder bb;
    kp_batch_builder_init(&bb, &p);
    uint8_t key[4] = {0, 0, (uint8_t)(type >> 8), (uint8_t)type};
    uint8_t value[6] = {0, 0, 0, 0, 0, 5}; // version 0, coordinatorEpoch 5
    struct kp_record_in r = {2000 + base, key, 4, value, 6, NULL, 0};
    assert_true(kp_batch_builder_add(&bb, &r));
    assert_int_equal(kp_batch_builder_finish(&bb, w), KP_OK);
    kp_batch_builder_cleanup(&bb);
}

static void test_control_and_read_committed(void **state)
{
    (void)state;
    kw w;
    kw_init_grow(&w);
    add_batch(&w, 0, 7, true, 3);   // 0-2 pid 7, aborted below
    add_batch(&w, 3, 8, true, 2);   // 3-4 pid 8, committed
    add_marker(&w, 5, 7, 0);        // ABORT pid 7
    add_batch(&w, 6, -1, false, 1); // 6 plain
    add_marker(&w, 7, 8, 1);        // COMMIT pid 8
    add_batch(&w, 8, 7, true, 2);   // 8-9 pid 7, a new transaction, aborted (second entry)
    add_marker(&w, 10, 7, 0);       // ABORT pid 7
    add_batch(&w, 11, 7, true, 1);  // 11 pid 7, not listed: delivered
    add_batch(&w, 12, 9, false, 1); // 12 pid 9 idempotent, not transactional
    struct kp_aborted_txn txns[2] = {{7, 8}, {7, 0}}; // unsorted on purpose
    struct kp_txn_filter f;
    kp_txn_filter_init(&f, txns, 2);
    struct kp_records_iter it;
    kp_records_init(&it, kw_data(&w), kw_len(&w), NULL, NULL);
    int64_t delivered[16];
    size_t nd = 0, controls = 0;
    int ctypes[4];
    for (;;) {
        struct kp_batch b;
        bool end;
        assert_int_equal(kp_records_next_batch(&it, &b, &end, NULL), KP_OK);
        if (end) {
            break;
        }
        enum kp_txn_verdict v = kp_txn_filter_batch(&f, &b);
        if (b.is_control) {
            assert_int_equal(v, KP_TXN_SKIP_CONTROL);
            ctypes[controls++] = b.control_type;
            continue;
        }
        if (v != KP_TXN_DELIVER) {
            assert_int_equal(v, KP_TXN_SKIP_ABORTED);
            continue;
        }
        struct kp_record rec;
        while (kp_batch_next_record(&b, &rec, &end, NULL) == KP_OK && !end) {
            delivered[nd++] = rec.offset;
        }
    }
    int64_t want[] = {3, 4, 6, 11, 12};
    assert_int_equal(nd, 5);
    assert_memory_equal(delivered, want, sizeof want);
    assert_int_equal(controls, 3);
    assert_int_equal(ctypes[0], KP_CONTROL_ABORT);
    assert_int_equal(ctypes[1], KP_CONTROL_COMMIT);
    assert_int_equal(ctypes[2], KP_CONTROL_ABORT);
    kw_cleanup(&w);
}

// ---- legacy message sets ---------------------------------------------------------------------

static void test_legacy_v0(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "records_legacy_v0.bin");
    struct kp_arena arena;
    kp_arena_init(&arena, 0);
    struct decoded *d = calloc(1, sizeof *d);
    decode(g.data, g.len, &arena, NULL, d);
    assert_int_equal(d->st, KP_OK);
    assert_int_equal(d->num_batches, 4);
    assert_int_equal(d->n, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(d->rec[i].offset, 10 + (int64_t)i);
        assert_int_equal(d->rec[i].timestamp, -1);
        assert_int_equal(d->rec[i].ts_type, KP_TS_NONE);
        assert_int_equal(d->rec[i].num_headers, 0);
    }
    assert_string_equal(d->rec[0].key, "a");
    assert_string_equal(d->rec[0].value, "one");
    assert_true(d->rec[1].key_null);
    assert_false(d->rec[1].value_null);
    assert_string_equal(d->rec[2].key, "k12");
    assert_true(d->rec[3].key_null && d->rec[3].value_null);
    assert_string_equal(d->rec[6].value, "v16");
    assert_int_equal(d->batch[2].codec, KP_CODEC_LZ4);
    assert_int_equal(d->batch[2].base_offset, 12);
    assert_int_equal(d->batch[2].last_offset, 14);
    assert_int_equal(d->batch[2].num_records, 3);
    assert_int_equal(d->batch[3].codec, KP_CODEC_GZIP);
    assert_int_equal(d->batch[0].magic, 0);
    // A flipped bit in the first message fails its CRC-32.
    g.data[28] ^= 0x40; // inside the value "one"
    decode(g.data, g.len, &arena, NULL, d);
    assert_int_equal(d->st, KP_ERR_CORRUPT);
    free(d);
    kp_arena_cleanup(&arena);
    guarded_free(&g);
}

static void test_legacy_v1(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "records_legacy_v1.bin");
    struct kp_arena arena;
    kp_arena_init(&arena, 0);
    struct decoded *d = calloc(1, sizeof *d);
    decode(g.data, g.len, &arena, NULL, d);
    assert_int_equal(d->st, KP_OK);
    assert_int_equal(d->num_batches, 4);
    assert_int_equal(d->n, 8);
    for (size_t i = 0; i < 8; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%zu", 20 + i);
        assert_int_equal(d->rec[i].offset, 20 + (int64_t)i);
        assert_string_equal(d->rec[i].key, k);
    }
    assert_int_equal(d->rec[0].timestamp, 1600000000000);
    assert_int_equal(d->rec[0].ts_type, KP_TS_CREATE);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(d->rec[i].timestamp, 1600000000000 + i);
        assert_int_equal(d->rec[i].ts_type, KP_TS_CREATE);
    }
    assert_int_equal(d->batch[1].base_offset, 21);
    assert_int_equal(d->batch[1].last_offset, 23);
    // LogAppendTime wrapper: inner records take the wrapper timestamp.
    assert_int_equal(d->batch[2].codec, KP_CODEC_SNAPPY);
    assert_int_equal(d->rec[4].timestamp, 1600000009999);
    assert_int_equal(d->rec[5].timestamp, 1600000009999);
    assert_int_equal(d->rec[4].ts_type, KP_TS_LOG_APPEND);
    assert_true(d->rec[5].value_null);
    assert_int_equal(d->rec[7].timestamp, 1600000000027);
    free(d);
    kp_arena_cleanup(&arena);
    guarded_free(&g);
}

static void test_xerial_golden(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "records_xerial.bin");
    static const uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
    assert_memory_equal(g.data + 61, magic, 8);
    struct kp_arena arena;
    kp_arena_init(&arena, 0);
    struct decoded *d = calloc(1, sizeof *d);
    decode(g.data, g.len, &arena, NULL, d);
    assert_int_equal(d->st, KP_OK);
    assert_int_equal(d->n, 3);
    for (int i = 0; i < 3; i++) {
        char k[16];
        snprintf(k, sizeof k, "x%d", i);
        assert_int_equal(d->rec[i].offset, 100 + i);
        assert_string_equal(d->rec[i].key, k);
        assert_int_equal(d->rec[i].value_len, 40000);
        assert_string_equal(d->rec[i].hval[0], k);
    }
    assert_true(kp_arena_used(&arena) > 120000);
    // A limit below the decompressed size turns into KP_ERR_LIMIT.
    struct kp_arena small;
    kp_arena_init(&small, 100000);
    decode(g.data, g.len, &small, NULL, d);
    assert_int_equal(d->st, KP_ERR_LIMIT);
    assert_true(kp_arena_used(&small) == 0);
    kp_arena_cleanup(&small);
    free(d);
    kp_arena_cleanup(&arena);
    guarded_free(&g);
}

// legacy_msg writes one magic-0/1 entry (offset, size, crc, magic, attributes, [timestamp], key,
// value); a NULL key or value is written as null.
static void legacy_msg(kw *w, int64_t off, int8_t magic, int8_t attrs, const char *key,
                       const void *val, size_t val_len)
{
    size_t sp;
    assert_true(kw_i64(w, off) && kw_begin_size32(w, &sp));
    size_t cp = kw_len(w);
    assert_true(kw_u32(w, 0) && kw_i8(w, magic) && kw_i8(w, attrs));
    if (magic == 1) {
        assert_true(kw_i64(w, 1600000000000));
    }
    assert_true(kw_bytes(w, key, key ? strlen(key) : 0) && kw_bytes(w, val, val_len));
    assert_true(kw_end_size32(w, sp));
    assert_true(kw_patch_u32(w, cp, kp_crc32(0, kw_data(w) + cp + 4, kw_len(w) - cp - 4)));
}

// legacy_wrapper writes a gzip wrapper at |off| whose value is |inner| compressed.
static void legacy_wrapper(kw *w, int64_t off, int8_t magic, const kw *inner)
{
    kw c;
    kw_init_grow(&c);
    assert_int_equal(kp_compress(&c, KP_CODEC_GZIP, 0, kw_data(inner), kw_len(inner)), KP_OK);
    legacy_msg(w, off, magic, KP_CODEC_GZIP, NULL, kw_data(&c), kw_len(&c));
    kw_cleanup(&c);
}

static enum kp_status legacy_status(const kw *w, const char **out_field)
{
    struct kp_arena arena;
    kp_arena_init(&arena, 0);
    struct decoded *d = calloc(1, sizeof *d);
    decode(kw_data(w), kw_len(w), &arena, NULL, d);
    enum kp_status st = d->st;
    *out_field = d->err.field;
    free(d);
    kp_arena_cleanup(&arena);
    return st;
}

static void test_legacy_malformed(void **state)
{
    (void)state;
    const char *field;
    kw w, in;
    // An inner message that is itself compressed.
    kw_init_grow(&w);
    kw_init_grow(&in);
    legacy_msg(&in, 0, 1, KP_CODEC_GZIP, NULL, "x", 1);
    legacy_wrapper(&w, 0, 1, &in);
    assert_int_equal(legacy_status(&w, &field), KP_ERR_MALFORMED);
    assert_non_null(strstr(field, "inner"));
    kw_cleanup(&w);
    kw_cleanup(&in);
    // An inner message of another magic.
    kw_init_grow(&w);
    kw_init_grow(&in);
    legacy_msg(&in, 0, 0, 0, "k", "v", 1);
    legacy_wrapper(&w, 0, 1, &in);
    assert_int_equal(legacy_status(&w, &field), KP_ERR_MALFORMED);
    kw_cleanup(&w);
    kw_cleanup(&in);
    // An empty inner message set.
    kw_init_grow(&w);
    kw_init_grow(&in);
    legacy_wrapper(&w, 0, 0, &in);
    assert_int_equal(legacy_status(&w, &field), KP_ERR_MALFORMED);
    assert_non_null(strstr(field, "empty"));
    kw_cleanup(&w);
    // Inner offsets not increasing.
    kw_init_grow(&w);
    legacy_msg(&in, 5, 0, 0, "a", "1", 1);
    legacy_msg(&in, 5, 0, 0, "b", "2", 1);
    legacy_wrapper(&w, 5, 0, &in);
    assert_int_equal(legacy_status(&w, &field), KP_ERR_MALFORMED);
    kw_cleanup(&w);
    kw_cleanup(&in);
    // Magic 0 inner offsets beyond the wrapper's offset.
    kw_init_grow(&w);
    kw_init_grow(&in);
    legacy_msg(&in, 5, 0, 0, "a", "1", 1);
    legacy_msg(&in, 9, 0, 0, "b", "2", 1);
    legacy_wrapper(&w, 6, 0, &in);
    assert_int_equal(legacy_status(&w, &field), KP_ERR_MALFORMED);
    kw_cleanup(&w);
    kw_cleanup(&in);
    // A wrapper with a null value.
    kw_init_grow(&w);
    legacy_msg(&w, 0, 1, KP_CODEC_GZIP, NULL, NULL, 0);
    assert_int_equal(legacy_status(&w, &field), KP_ERR_MALFORMED);
    kw_cleanup(&w);
    // A message size below the smallest message.
    kw_init_grow(&w);
    legacy_msg(&w, 0, 0, 0, NULL, NULL, 0);
    w.buf[11] = 13;
    assert_int_equal(legacy_status(&w, &field), KP_ERR_MALFORMED);
    kw_cleanup(&w);
    // The same helper writes a valid message (so the failures above come from what they change).
    kw_init_grow(&w);
    legacy_msg(&w, 0, 1, 0, "k", "v", 1);
    assert_int_equal(legacy_status(&w, &field), KP_OK);
    kw_cleanup(&w);
}

// A 64 MiB run of zeros compressed with every codec stops at the arena limit.
static void test_bomb_limit(void **state)
{
    (void)state;
    size_t big = (size_t)64 << 20;
    uint8_t *zeros = calloc(1, big);
    assert_non_null(zeros);
    int codecs[] = {KP_CODEC_GZIP, KP_CODEC_SNAPPY, KP_CODEC_LZ4, KP_CODEC_ZSTD};
    for (size_t c = 0; c < 4; c++) {
        struct kp_batch_params p;
        kp_batch_params_default(&p);
        p.codec = codecs[c];
        p.compress = kp_compress;
        struct kp_batch_builder bb;
        kp_batch_builder_init(&bb, &p);
        struct kp_record_in r = {1, NULL, 0, zeros, big, NULL, 0};
        assert_true(kp_batch_builder_add(&bb, &r));
        kw w;
        kw_init_grow(&w);
        assert_int_equal(kp_batch_builder_finish(&bb, &w), KP_OK);
        kp_batch_builder_cleanup(&bb);
        assert_true(kw_len(&w) < big / 8);
        struct kp_arena arena;
        kp_arena_init(&arena, (size_t)1 << 20);
        struct decoded *d = calloc(1, sizeof *d);
        decode(kw_data(&w), kw_len(&w), &arena, NULL, d);
        assert_int_equal(d->st, KP_ERR_LIMIT);
        assert_int_equal(kp_arena_used(&arena), 0);
        free(d);
        kp_arena_cleanup(&arena);
        kw_cleanup(&w);
    }
    free(zeros);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_none),
        cmocka_unit_test(test_golden_gzip),
        cmocka_unit_test(test_golden_snappy),
        cmocka_unit_test(test_golden_lz4),
        cmocka_unit_test(test_golden_zstd),
        cmocka_unit_test(test_prefixes_are_partial),
        cmocka_unit_test(test_corrupt_crc),
        cmocka_unit_test(test_compressed_batch_needs_arena),
        cmocka_unit_test(test_round_trip_every_codec),
        cmocka_unit_test(test_builder_matches_spec_example),
        cmocka_unit_test(test_builder_errors),
        cmocka_unit_test(test_offset_gaps),
        cmocka_unit_test(test_malformed_batches),
        cmocka_unit_test(test_control_and_read_committed),
        cmocka_unit_test(test_legacy_v0),
        cmocka_unit_test(test_legacy_v1),
        cmocka_unit_test(test_legacy_malformed),
        cmocka_unit_test(test_xerial_golden),
        cmocka_unit_test(test_bomb_limit),
    };
    return cmocka_run_group_tests_name("records", tests, NULL, NULL);
}
