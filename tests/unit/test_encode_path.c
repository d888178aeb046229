// test_encode_path.c: the fast event-encoding path: the base64 pair table against a bit-by-bit
// reference, the record prefix/rest split and integer formatting against snprintf, and the
// batcher's payload bytes for fixed workloads against hashes taken from the previous (simple)
// encoder, so any change to the output bytes fails here.
#include "base/base64.h"
#include "base/buf.h"
#include "invoke/batcher.h"
#include "invoke/event_json.h"
#include "tests/lib/unit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ref_b64 encodes one bit at a time: slow, obviously right.
static size_t ref_b64(char *out, const uint8_t *in, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    size_t bits = n * 8;
    for (size_t pos = 0; pos < bits; pos += 6) {
        unsigned v = 0;
        for (size_t k = 0; k < 6; k++) {
            size_t bit = pos + k;
            unsigned b = bit < bits ? ((unsigned)in[bit / 8] >> (7 - bit % 8)) & 1u : 0u;
            v = v << 1 | b;
        }
        out[o++] = a[v];
    }
    while (o % 4) {
        out[o++] = '=';
    }
    return o;
}

static void test_base64_pairs_and_tails(void **state)
{
    (void)state;
    // Every 12-bit value in both halves of a 3-byte group, and in the second group of a 6-byte
    // step.
    for (uint32_t h = 0; h < 4096; h++) {
        uint32_t g = (h * 2654435761u) & 0xfff;
        uint32_t v1 = h << 12 | g, v2 = g << 12 | h;
        uint8_t in[9] = {(uint8_t)(v1 >> 16), (uint8_t)(v1 >> 8), (uint8_t)v1,
                         (uint8_t)(v2 >> 16), (uint8_t)(v2 >> 8), (uint8_t)v2,
                         (uint8_t)h,          (uint8_t)g,         (uint8_t)(h ^ g)};
        for (size_t n = 3; n <= 9; n++) {
            char want[16], got[16];
            size_t wl = ref_b64(want, in, n);
            size_t gl = base64_encode(got, in, n);
            assert_int_equal(gl, wl);
            assert_int_equal(gl, base64_len(n));
            assert_memory_equal(got, want, wl);
        }
    }
    // Every length 0..200 (all tails after 6-byte steps), with a guard byte after the output.
    uint64_t rng = 0x243f6a8885a308d3u;
    uint8_t in[200];
    for (size_t i = 0; i < sizeof in; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        in[i] = (uint8_t)rng;
    }
    for (size_t n = 0; n <= sizeof in; n++) {
        char want[280], got[281];
        got[base64_len(n)] = '#';
        size_t wl = ref_b64(want, in, n);
        assert_int_equal(base64_encode(got, in, n), wl);
        assert_memory_equal(got, want, wl);
        assert_int_equal(got[wl], '#');
    }
}

// check_split encodes |r| whole and as prefix + rest, and checks lengths and bytes agree.
static void check_split(const struct inv_event_cfg *cfg, const struct inv_record *r)
{
    struct buf whole, split;
    buf_init(&whole);
    buf_init(&split);
    inv_event_record_write(&whole, cfg, r);
    size_t len = inv_event_record_len(cfg, r);
    assert_int_equal(whole.len, len);
    size_t plen = inv_event_record_prefix_len(r->topic, r->topic_len, r->partition);
    size_t rlen = inv_event_record_rest_len(cfg, r);
    assert_int_equal(plen + rlen, len);
    inv_event_record_prefix_write(&split, r->topic, r->topic_len, r->partition);
    assert_int_equal(split.len, plen);
    char *d = buf_reserve(&split, rlen);
    char *end = inv_event_record_put_rest(d, cfg, r);
    assert_ptr_equal(end, d + rlen);
    split.len += rlen;
    assert_int_equal(split.len, whole.len);
    assert_memory_equal(split.p, whole.p, whole.len);
    // inv_event_record_put writes exactly the same bytes in place.
    char *buf = malloc(len + 1);
    buf[len] = '#';
    assert_ptr_equal(inv_event_record_put(buf, cfg, r), buf + len);
    assert_memory_equal(buf, whole.p, len);
    assert_int_equal(buf[len], '#');
    free(buf);
    buf_cleanup(&whole);
    buf_cleanup(&split);
}

static void test_record_split_and_integers(void **state)
{
    (void)state;
    static const int64_t nums[] = {0,
                                   1,
                                   9,
                                   10,
                                   99,
                                   100,
                                   999,
                                   1000,
                                   9999,
                                   10000,
                                   99999,
                                   100000,
                                   1545084650987,
                                   999999999999999999,
                                   1000000000000000000,
                                   INT64_MAX,
                                   -1,
                                   -9,
                                   -10,
                                   -100,
                                   -10000,
                                   INT64_MIN + 1,
                                   INT64_MIN};
    static const int32_t parts[] = {0, 7, 10, 47, 12345, INT32_MAX, -1, INT32_MIN};
    const uint8_t hv[] = {0x00, 0x7f, 0x80, 0xff, 0x0a, 0x9c};
    struct inv_header hdrs[3] = {{"trace\"id", 8, {hv, sizeof hv, false}},
                                 {"nil", 3, {NULL, 0, true}},
                                 {"empty", 5, {hv, 0, false}}};
    struct inv_event_cfg cfgs[2] = {
        {INV_EVENT_SELF_MANAGED, NULL, "b:9092", INV_NULL_VALUE_OMIT, INV_NULL_HEADER_EMPTY},
        {INV_EVENT_MSK, "arn:x", "b:9092", INV_NULL_VALUE_JSON_NULL, INV_NULL_HEADER_JSON_NULL}};
    const char *topics[] = {"orders", "t\\o\"p\x01\xff\xc3\xa9"};
    size_t n = sizeof nums / sizeof nums[0];
    for (size_t i = 0; i < n; i++) {
        int64_t v = nums[i];
        struct inv_record r = {topics[i % 2],
                               strlen(topics[i % 2]),
                               parts[i % (sizeof parts / sizeof parts[0])],
                               v,
                               nums[n - 1 - i],
                               (enum inv_ts_type)(i % 3),
                               i % 2 ? inv_bytes_of("k", 1) : inv_bytes_null(),
                               i % 3 ? inv_bytes_of(hv, i % 7) : inv_bytes_null(),
                               hdrs,
                               i % 4,
                               NULL,
                               NULL,
                               NULL};
        for (size_t c = 0; c < 2; c++) {
            check_split(&cfgs[c], &r);
        }
        // The offset and timestamp digits are printf's.
        struct buf b;
        buf_init(&b);
        inv_event_record_write(&b, &cfgs[0], &r);
        char want[96];
        snprintf(want, sizeof want, ",\"offset\":%" PRId64 ",\"timestamp\":%" PRId64 ",", v,
                 nums[n - 1 - i]);
        assert_non_null(strstr(buf_cstr(&b), want));
        snprintf(want, sizeof want, ",\"partition\":%" PRId32 ",", r.partition);
        assert_non_null(strstr(b.p, want));
        buf_cleanup(&b);
    }
}

// run_workload feeds |num| generated records (100-byte-ish values, some keys, some null values,
// optional headers) in runs of |chunk| per partition over 48 partitions, draining every |every|
// runs, and returns the FNV-1a hash of every payload in order (total bytes in *out_bytes).
static uint64_t run_workload(size_t num, size_t chunk, bool headers, size_t max_payload,
                             size_t every, uint64_t *out_bytes, size_t *out_batches)
{
    struct batcher_cfg cfg;
    batcher_cfg_defaults(&cfg);
    cfg.batch_size = 10000;
    cfg.window_ms = 0;
    cfg.max_inflight = 1;
    cfg.max_payload = max_payload;
    cfg.event.bootstrap_servers = "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094";
    struct batcher *b;
    struct inv_err err;
    assert_int_equal(batcher_new(&b, &cfg, &err), 0);
    enum { P = 48 };
    int64_t next_off[P] = {0};
    uint8_t val[128];
    uint64_t h = 1469598103934665603u, total = 0, rng = 88172645463325252u;
    struct inv_header hd[2] = {{"trace-id", 8, {NULL, 0, false}}, {"n\"ull", 5, {NULL, 0, true}}};
    size_t done = 0, runs = 0, batches = 0;
    int32_t pi = 0;
    for (;;) {
        for (size_t k = 0; k < chunk && done < num; k++, done++) {
            for (size_t i = 0; i < 100; i++) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                val[i] = (uint8_t)rng;
            }
            struct inv_record r = {
                "bench-1000000x100-p48",
                21,
                pi,
                next_off[pi]++,
                1700000000000 + (int64_t)done,
                INV_TS_CREATE_TIME,
                (done % 7 == 0) ? inv_bytes_of(val + 3, done % 11) : inv_bytes_null(),
                (done % 13 == 5) ? inv_bytes_null() : inv_bytes_of(val, 100 - done % 3),
                hd,
                0,
                NULL,
                NULL,
                NULL};
            if (headers && done % 5 == 0) {
                hd[0].value = inv_bytes_of(val, done % 9);
                r.num_headers = 2;
            }
            assert_int_equal(batcher_add(b, &r, 0, &err), 0);
        }
        pi = (pi + 1) % P;
        bool last = done == num;
        if (last) {
            batcher_flush(b);
        }
        if (++runs % every == 0 || last) {
            struct batch *bt;
            while ((bt = batcher_next(b, 0)) != NULL) {
                assert_int_equal(strlen(bt->payload), bt->payload_len);
                assert_true(bt->payload_len <= max_payload);
                for (size_t i = 0; i < bt->payload_len; i++) {
                    h ^= (uint8_t)bt->payload[i];
                    h *= 1099511628211u;
                }
                total += bt->payload_len;
                batches++;
                assert_int_equal(batcher_complete(b, bt, 0, &err), 0);
            }
        }
        if (last) {
            break;
        }
    }
    assert_int_equal(batcher_pending(b), 0);
    batcher_free(b);
    *out_bytes = total;
    *out_batches = batches;
    return h;
}

static void test_batcher_payload_bytes_unchanged(void **state)
{
    (void)state;
    // Hashes and sizes from the encoder and batcher before the fast path (commit 9c20809).
    static const struct {
        size_t num, chunk;
        bool headers;
        size_t max_payload, every;
        uint64_t hash, bytes;
    } cases[] = {
        {20000, 37, true, 60000, 50, 0xe087b78da8ae005bu, 5522911},
        {20000, 37, true, BATCH_MAX_PAYLOAD, 100, 0xeb77e04ee91ccd1cu, 5502877},
        {30000, 400, false, BATCH_MAX_PAYLOAD, 1, 0x90d39bd84a472eaau, 7997017},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t bytes;
        size_t batches;
        uint64_t h = run_workload(cases[i].num, cases[i].chunk, cases[i].headers,
                                  cases[i].max_payload, cases[i].every, &bytes, &batches);
        assert_true(batches > 1);
        assert_int_equal(bytes, cases[i].bytes);
        assert_int_equal(h, cases[i].hash);
    }
}

// The batcher's payload (records copied raw, encoded at cut time) equals the streaming encoder's
// over the same records: every timestamp type, null/empty keys and values, null header values
// under both options, and header counts growing past the decoder's scratch size.
static void test_batcher_matches_streaming_encoder(void **state)
{
    (void)state;
    const uint8_t bytes[] = {0x00, 0xff, 0x80, 0x7f, 0x41, 0x22, 0x5c, 0x0a, 0xc3, 0xa9};
    enum { N = 40, MAXH = 12 };
    struct inv_header hdrs[N][MAXH];
    struct inv_record recs[N];
    static const char *names[] = {"a", "trace\"id", "\x01ctl", "caf\xc3\xa9", "bad\xff"};
    for (size_t i = 0; i < N; i++) {
        size_t nh = (i * 5) % (MAXH + 1);
        for (size_t h = 0; h < nh; h++) {
            const char *nm = names[(i + h) % 5];
            hdrs[i][h].name = nm;
            hdrs[i][h].name_len = strlen(nm);
            hdrs[i][h].value =
                (i + h) % 4 == 0 ? inv_bytes_null() : inv_bytes_of(bytes, (i + h) % 11);
        }
        struct inv_record r = {i % 3 ? "orders" : "t\"x",
                               i % 3 ? 6u : 3u,
                               (int32_t)(i % 4),
                               (int64_t)(i * 1000 + 7),
                               i % 6 == 0 ? -1 : 1545084650987 + (int64_t)i,
                               (enum inv_ts_type)(i % 3),
                               i % 5 == 0   ? inv_bytes_null()
                               : i % 5 == 1 ? inv_bytes_of(bytes, 0)
                                            : inv_bytes_of(bytes, i % 11),
                               i % 7 == 3   ? inv_bytes_null()
                               : i % 7 == 4 ? inv_bytes_of(bytes, 0)
                                            : inv_bytes_of(bytes + i % 3, 7),
                               hdrs[i],
                               nh,
                               NULL,
                               NULL,
                               NULL};
        recs[i] = r;
    }
    for (int variant = 0; variant < 2; variant++) {
        struct batcher_cfg cfg;
        batcher_cfg_defaults(&cfg);
        cfg.batch_size = 10000;
        cfg.event.bootstrap_servers = "b1:9092";
        if (variant) {
            cfg.event.source = INV_EVENT_MSK;
            cfg.event.event_source_arn = "arn:aws:kafka:x";
            cfg.event.null_value = INV_NULL_VALUE_JSON_NULL;
            cfg.event.null_header = INV_NULL_HEADER_JSON_NULL;
        }
        struct batcher *b;
        struct inv_err err;
        assert_int_equal(batcher_new(&b, &cfg, &err), 0);
        for (size_t i = 0; i < N; i++) {
            assert_int_equal(batcher_add(b, &recs[i], 0, &err), 0);
        }
        batcher_flush(b);
        struct batch *bt = batcher_next(b, 0);
        assert_non_null(bt);
        assert_int_equal(bt->num_records, N);
        // The streaming encoder over the same records in the batch's partition order.
        struct buf want;
        buf_init(&want);
        struct inv_event_enc enc;
        inv_event_begin(&enc, &want, &cfg.event);
        for (size_t g = 0; g < bt->num_parts; g++) {
            const struct batch_part *bp = &bt->parts[g];
            for (size_t i = 0; i < N; i++) {
                if (recs[i].partition == bp->partition && recs[i].topic_len == bp->topic_len &&
                    memcmp(recs[i].topic, bp->topic, bp->topic_len) == 0) {
                    assert_int_equal(inv_event_add(&enc, &recs[i], NULL), 0);
                }
            }
        }
        assert_int_equal(inv_event_end(&enc), N);
        assert_int_equal(bt->payload_len, want.len);
        assert_memory_equal(bt->payload, want.p, want.len);
        buf_cleanup(&want);
        assert_int_equal(batcher_complete(b, bt, 0, &err), 0);
        batcher_free(b);
    }
}

// expect_batch checks a batch's payload against the streaming encoder over the records it names
// (found in |recs| by partition and offset).
static void expect_batch(const struct inv_event_cfg *cfg, const struct batch *bt,
                         const struct inv_record *recs, size_t num_recs)
{
    struct buf want;
    buf_init(&want);
    struct inv_event_enc enc;
    inv_event_begin(&enc, &want, cfg);
    for (size_t g = 0; g < bt->num_parts; g++) {
        const struct batch_part *bp = &bt->parts[g];
        for (size_t k = 0; k < bp->num_records; k++) {
            int64_t off = bt->offsets[bp->first_index + k];
            size_t i = 0;
            while (i < num_recs && !(recs[i].partition == bp->partition && recs[i].offset == off)) {
                i++;
            }
            assert_true(i < num_recs);
            assert_int_equal(inv_event_add(&enc, &recs[i], NULL), 0);
        }
    }
    assert_int_equal(inv_event_end(&enc), bt->num_records);
    assert_int_equal(bt->payload_len, want.len);
    assert_memory_equal(bt->payload, want.p, want.len);
    buf_cleanup(&want);
}

// A partition whose queue is compacted (more than 1024 records taken, fewer left) with an
// oversized record among the rest still yields the same bytes, batch after batch.
static void test_batcher_compaction_keeps_bytes(void **state)
{
    (void)state;
    enum { N = 3000, BIG = 1700 };
    static uint8_t big[70000];
    static struct inv_record recs[N];
    uint8_t small[64];
    for (size_t i = 0; i < sizeof small; i++) {
        small[i] = (uint8_t)(i * 37 + 1);
    }
    for (size_t i = 0; i < N; i++) {
        struct inv_record r = {"c",
                               1,
                               (int32_t)(i % 2 ? 0 : 1) * (i < 2400 ? 0 : 1),
                               (int64_t)i,
                               (int64_t)i * 3,
                               INV_TS_CREATE_TIME,
                               i % 3 ? inv_bytes_of(small, i % 5) : inv_bytes_null(),
                               i == BIG ? inv_bytes_of(big, sizeof big)
                                        : inv_bytes_of(small, i % sizeof small),
                               NULL,
                               0,
                               NULL,
                               NULL,
                               NULL};
        recs[i] = r;
    }
    struct batcher_cfg cfg;
    batcher_cfg_defaults(&cfg);
    cfg.batch_size = 1200;
    cfg.window_ms = 1000;
    cfg.max_payload = 65536;
    cfg.max_inflight = 1;
    cfg.event.bootstrap_servers = "b:1";
    struct batcher *b;
    struct inv_err err;
    assert_int_equal(batcher_new(&b, &cfg, &err), 0);
    size_t added = 0, seen = 0, oversized = 0;
    int64_t now = 0;
    while (seen < N) {
        // Feed in slices of 1300 so the queue is partly consumed while records keep coming, and
        // each slice overwrites the arena bytes a compaction moved away from.
        for (size_t k = 0; k < 1300 && added < N; k++, added++) {
            assert_int_equal(batcher_add(b, &recs[added], now, &err), 0);
        }
        if (added == N) {
            batcher_flush(b);
        }
        struct batch *bt;
        while ((bt = batcher_next(b, now)) != NULL) {
            if (bt->oversized) {
                assert_int_equal(bt->offsets[0], BIG);
                oversized++;
            } else {
                expect_batch(&cfg.event, bt, recs, N);
            }
            seen += bt->num_records;
            assert_int_equal(batcher_complete(b, bt, now, &err), 0);
        }
        now += 2000;
    }
    assert_int_equal(oversized, 1);
    assert_int_equal(batcher_pending(b), 0);
    batcher_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_pairs_and_tails),
        cmocka_unit_test(test_record_split_and_integers),
        cmocka_unit_test(test_batcher_payload_bytes_unchanged),
        cmocka_unit_test(test_batcher_matches_streaming_encoder),
        cmocka_unit_test(test_batcher_compaction_keeps_bytes),
    };
    return cmocka_run_group_tests_name("encode_path", tests, NULL, NULL);
}
