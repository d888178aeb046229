// test_batcher.c: the sans-I/O batcher: count, window (injected time), the encoded 6 MB cap split
// exactly, oversized records, per-partition in-flight rule, partition mixing, failure identifiers.
#include "base/buf.h"
#include "invoke/batcher.h"
#include "invoke/event_json.h"
#include "tests/lib/unit.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

static struct batcher *mk(uint32_t size, uint32_t window_ms, size_t max_payload, uint32_t inflight,
                          enum batch_oversize ov)
{
    struct batcher_cfg cfg;
    batcher_cfg_defaults(&cfg);
    cfg.batch_size = size;
    cfg.window_ms = window_ms;
    cfg.max_payload = max_payload;
    cfg.max_inflight = inflight;
    cfg.oversize = ov;
    cfg.event.bootstrap_servers = "127.0.0.1:9092";
    struct batcher *b;
    struct inv_err err;
    assert_int_equal(batcher_new(&b, &cfg, &err), 0);
    return b;
}

static struct inv_record rec(int32_t partition, int64_t offset, const void *value, size_t len)
{
    struct inv_record r = {"orders",
                           6,
                           partition,
                           offset,
                           1000 + offset,
                           INV_TS_CREATE_TIME,
                           inv_bytes_null(),
                           inv_bytes_of(value, len),
                           NULL,
                           0,
                           NULL,
                           NULL,
                           NULL};
    return r;
}

static void add(struct batcher *b, int32_t partition, int64_t offset, int64_t now)
{
    struct inv_record r = rec(partition, offset, "v", 1);
    assert_int_equal(batcher_add(b, &r, now, NULL), 0);
}

// check_payload parses the payload and checks it lists exactly the batch's records.
static void check_payload(const struct batch *bt)
{
    assert_false(bt->oversized);
    assert_int_equal(strlen(bt->payload), bt->payload_len);
    cJSON *j = cJSON_ParseWithLength(bt->payload, bt->payload_len);
    assert_non_null(j);
    const cJSON *g = cJSON_GetObjectItem(j, "records")->child;
    size_t gi = 0, ri = 0;
    for (; g; g = g->next, gi++) {
        assert_true(gi < bt->num_parts);
        assert_string_equal(g->string, bt->parts[gi].key);
        assert_int_equal(cJSON_GetArraySize(g), (int)bt->parts[gi].num_records);
        const cJSON *r;
        cJSON_ArrayForEach(r, g)
        {
            assert_true(cJSON_GetObjectItem(r, "offset")->valuedouble == (double)bt->offsets[ri]);
            assert_int_equal(cJSON_GetObjectItem(r, "partition")->valueint,
                             bt->parts[gi].partition);
            ri++;
        }
    }
    assert_int_equal(gi, bt->num_parts);
    assert_int_equal(ri, bt->num_records);
    cJSON_Delete(j);
}

static void test_config_validation(void **state)
{
    (void)state;
    struct batcher_cfg cfg;
    batcher_cfg_defaults(&cfg);
    assert_int_equal(cfg.batch_size, 100);
    assert_int_equal(cfg.window_ms, 500);
    assert_int_equal(cfg.max_payload, 6291456);
    struct batcher *b;
    struct inv_err err;
    cfg.batch_size = 0;
    assert_int_equal(batcher_new(&b, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "BatchSize 0"));
    cfg.batch_size = 10001;
    assert_int_equal(batcher_new(&b, &cfg, &err), -1);
    cfg.batch_size = 10000;
    cfg.window_ms = 300001;
    assert_int_equal(batcher_new(&b, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "window"));
    cfg.window_ms = 300000;
    cfg.max_payload = 6291457;
    assert_int_equal(batcher_new(&b, &cfg, &err), -1);
    cfg.max_payload = 6291456;
    cfg.event.source = INV_EVENT_MSK;
    assert_int_equal(batcher_new(&b, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "eventSourceArn"));
    cfg.event.event_source_arn = "arn:aws:kafka:us-east-1:123456789012:cluster/x/y";
    assert_int_equal(batcher_new(&b, &cfg, &err), 0);
    batcher_free(b);
}

static void test_count_and_window(void **state)
{
    (void)state;
    struct batcher *b = mk(3, 1000, BATCH_MAX_PAYLOAD, 5, BATCH_OVERSIZE_SKIP);
    assert_int_equal(batcher_next_deadline(b), INT64_MAX);
    for (int64_t o = 0; o < 7; o++) {
        add(b, 0, o, 100 + o);
    }
    assert_int_equal(batcher_next_deadline(b), INT64_MIN);
    struct batch *bt = batcher_next(b, 110);
    assert_non_null(bt);
    assert_int_equal(bt->reason, BATCH_REASON_COUNT);
    assert_int_equal(bt->num_records, 3);
    assert_int_equal(bt->parts[0].first_offset, 0);
    assert_int_equal(bt->parts[0].last_offset, 2);
    check_payload(bt);
    // Partition 0 is in flight: nothing else may go, whatever the count.
    assert_null(batcher_next(b, 5000));
    assert_int_equal(batcher_next_deadline(b), INT64_MAX);
    assert_int_equal(batcher_pending(b), 4);
    assert_int_equal(batcher_complete(b, bt, 2000, NULL), 0);
    bt = batcher_next(b, 2000);
    assert_non_null(bt);
    assert_int_equal(bt->num_records, 3);
    assert_int_equal(bt->parts[0].first_offset, 3);
    assert_int_equal(batcher_complete(b, bt, 3000, NULL), 0);
    // One record left: its window restarts at the completion time (3000).
    assert_int_equal(batcher_next_deadline(b), 4000);
    assert_null(batcher_next(b, 3999));
    bt = batcher_next(b, 4000);
    assert_non_null(bt);
    assert_int_equal(bt->reason, BATCH_REASON_WINDOW);
    assert_int_equal(bt->num_records, 1);
    assert_int_equal(bt->offsets[0], 6);
    assert_int_equal(batcher_complete(b, bt, 4001, NULL), 0);
    // A fresh record on an idle partition: window from its arrival.
    add(b, 0, 7, 10000);
    assert_int_equal(batcher_next_deadline(b), 11000);
    // Flush overrides the window.
    batcher_flush(b);
    bt = batcher_next(b, 10001);
    assert_non_null(bt);
    assert_int_equal(bt->reason, BATCH_REASON_FLUSH);
    assert_int_equal(batcher_complete(b, bt, 10002, NULL), 0);
    assert_int_equal(batcher_inflight(b), 0);
    // Out-of-order offsets are refused.
    struct inv_err err;
    struct inv_record r = rec(0, 7, "v", 1);
    assert_int_equal(batcher_add(b, &r, 10003, &err), -1);
    assert_non_null(strstr(err.msg, "orders-0: offset 7 after 7"));
    batcher_free(b);
}

static void test_window_zero_dispatches_at_once(void **state)
{
    (void)state;
    struct batcher *b = mk(1000, 0, BATCH_MAX_PAYLOAD, 5, BATCH_OVERSIZE_SKIP);
    for (int64_t o = 0; o < 100; o++) {
        add(b, 0, o, 50);
    }
    assert_true(batcher_next_deadline(b) <= 50);
    struct batch *bt = batcher_next(b, 50);
    assert_non_null(bt);
    assert_int_equal(bt->num_records, 100);
    batcher_complete(b, bt, 51, NULL);
    batcher_free(b);
}

// batcher_add_run queues a run of one partition's records like one batcher_add each, and stops
// at the first record it refuses (an offset that does not increase), saying how many it took.
static void test_add_run(void **state)
{
    (void)state;
    struct batcher *b = mk(1000, 0, BATCH_MAX_PAYLOAD, 5, BATCH_OVERSIZE_SKIP);
    struct inv_record run[6];
    int64_t offsets[6] = {10, 11, 13, 13, 14, 15}; // the fourth repeats the third
    for (int i = 0; i < 6; i++) {
        run[i] = rec(2, offsets[i], "run", 3);
    }
    size_t hint = SIZE_MAX;
    struct inv_err err;
    assert_int_equal(batcher_add_run(b, run, 6, 50, &hint, &err), 3);
    assert_non_null(strstr(err.msg, "offset 13 after 13"));
    assert_int_equal(batcher_pending(b), 3);
    assert_int_equal(batcher_add_run(b, run + 4, 2, 50, &hint, &err), 2);
    assert_int_equal(batcher_add_run(b, run, 0, 50, &hint, &err), 0);
    struct batch *bt = batcher_next(b, 50);
    assert_non_null(bt);
    check_payload(bt);
    int64_t want[5] = {10, 11, 13, 14, 15};
    assert_int_equal(bt->num_records, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(bt->offsets[i], want[i]);
    }
    // The same records one at a time give the same payload.
    struct batcher *one = mk(1000, 0, BATCH_MAX_PAYLOAD, 5, BATCH_OVERSIZE_SKIP);
    for (int i = 0; i < 6; i++) {
        (void)batcher_add(one, &run[i], 50, &err);
    }
    struct batch *bt1 = batcher_next(one, 50);
    assert_non_null(bt1);
    assert_int_equal(bt1->payload_len, bt->payload_len);
    assert_memory_equal(bt1->payload, bt->payload, bt->payload_len);
    batcher_complete(one, bt1, 51, NULL);
    batcher_free(one);
    batcher_complete(b, bt, 51, NULL);
    batcher_free(b);
}

// encoded_len re-encodes records with the streaming encoder (independent of the batcher's
// fragment bookkeeping) and returns the payload size.
static size_t encoded_len(const struct inv_event_cfg *cfg, const struct inv_record *recs, size_t n)
{
    struct buf buf;
    buf_init(&buf);
    struct inv_event_enc enc;
    inv_event_begin(&enc, &buf, cfg);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(inv_event_add(&enc, &recs[i], NULL), 0);
    }
    inv_event_end(&enc);
    size_t len = buf.len;
    buf_cleanup(&buf);
    return len;
}

static void test_cap_splits_exactly_near_6mb(void **state)
{
    (void)state;
    struct batcher *b = mk(10000, 1000, BATCH_MAX_PAYLOAD, 5, BATCH_OVERSIZE_SKIP);
    struct inv_event_cfg ev = {.source = INV_EVENT_SELF_MANAGED,
                               .bootstrap_servers = "127.0.0.1:9092"};
    // Values of varying sizes (about 100-300 KB raw) so the cut lands on no round number.
    size_t n = 90;
    uint8_t *val = malloc(300000);
    memset(val, 0x5a, 300000);
    struct inv_record *recs = calloc(n, sizeof *recs);
    for (size_t i = 0; i < n; i++) {
        size_t len = 100000 + (i * 7919) % 200000;
        recs[i] = rec(0, (int64_t)i, val, len);
        assert_int_equal(batcher_add(b, &recs[i], 0, NULL), 0);
    }
    size_t done = 0;
    int batches = 0;
    int64_t now = 5000;
    while (done < n) {
        struct batch *bt = batcher_next(b, now);
        assert_non_null(bt);
        check_payload(bt);
        assert_true(bt->payload_len <= 6291456);
        assert_int_equal(bt->payload_len, encoded_len(&ev, recs + done, bt->num_records));
        if (done + bt->num_records < n) {
            assert_int_equal(bt->reason, BATCH_REASON_BYTES);
            // Adding the next record would have crossed the cap.
            assert_true(encoded_len(&ev, recs + done, bt->num_records + 1) > 6291456);
            assert_true(bt->payload_len > 6291456 - 450000);
        }
        done += bt->num_records;
        batches++;
        assert_int_equal(batcher_complete(b, bt, now, NULL), 0);
        now += 1000; // the last, partial batch goes when its window expires
    }
    assert_true(batches >= 3);
    free(recs);
    free(val);
    batcher_free(b);
}

static void test_cap_boundary_is_inclusive(void **state)
{
    (void)state;
    struct inv_event_cfg ev = {.source = INV_EVENT_SELF_MANAGED,
                               .bootstrap_servers = "127.0.0.1:9092"};
    struct inv_record recs[4];
    for (int i = 0; i < 4; i++) {
        recs[i] = rec(0, i, "abcdef", 6);
    }
    size_t three = encoded_len(&ev, recs, 3);
    for (int delta = 0; delta <= 1; delta++) {
        struct batcher *b = mk(100, 1000, three - (size_t)delta, 5, BATCH_OVERSIZE_SKIP);
        for (int i = 0; i < 4; i++) {
            assert_int_equal(batcher_add(b, &recs[i], 0, NULL), 0);
        }
        struct batch *bt = batcher_next(b, 0);
        assert_non_null(bt);
        assert_int_equal(bt->reason, BATCH_REASON_BYTES);
        assert_int_equal(bt->num_records, delta ? 2 : 3);
        assert_int_equal(bt->payload_len, encoded_len(&ev, recs, bt->num_records));
        assert_true(bt->payload_len <= three - (size_t)delta);
        batcher_complete(b, bt, 0, NULL);
        batcher_free(b);
    }
}

static void test_oversized_skip_in_order(void **state)
{
    (void)state;
    struct batcher *b = mk(100, 1000, 4096, 5, BATCH_OVERSIZE_SKIP);
    static uint8_t big[8000];
    struct inv_record r0 = rec(0, 10, "a", 1), r1 = rec(0, 11, big, sizeof big),
                      r2 = rec(0, 12, "c", 1);
    assert_int_equal(batcher_add(b, &r0, 0, NULL), 0);
    assert_int_equal(batcher_add(b, &r1, 0, NULL), 0);
    assert_int_equal(batcher_add(b, &r2, 0, NULL), 0);
    // The oversized record cuts the batch before it: r0 goes at once.
    struct batch *bt = batcher_next(b, 1);
    assert_non_null(bt);
    assert_int_equal(bt->reason, BATCH_REASON_BYTES);
    assert_int_equal(bt->num_records, 1);
    assert_int_equal(bt->offsets[0], 10);
    assert_int_equal(batcher_complete(b, bt, 2, NULL), 0);
    bt = batcher_next(b, 2);
    assert_non_null(bt);
    assert_true(bt->oversized);
    assert_int_equal(bt->reason, BATCH_REASON_OVERSIZED);
    assert_null(bt->payload);
    assert_int_equal(bt->offsets[0], 11);
    assert_string_equal(bt->parts[0].key, "orders-0");
    assert_true(bt->oversized_len > 4096);
    // No span (no payload), its timestamp, no key kept.
    assert_int_equal(bt->recs[0].len, 0);
    assert_int_equal(bt->recs[0].timestamp, 1011);
    assert_true(bt->recs[0].key_null);
    assert_null(batcher_next(b, 5000)); // r2 waits behind it
    assert_int_equal(batcher_complete(b, bt, 3, NULL), 0);
    bt = batcher_next(b, 1003);
    assert_non_null(bt);
    assert_int_equal(bt->offsets[0], 12);
    batcher_complete(b, bt, 1004, NULL);
    assert_int_equal(batcher_pending(b), 0);
    batcher_free(b);
}

// A rejected record (the schema stage could not decode it) goes out alone, in its place, with
// its payload and its condition; the records before and after it batch normally.
static void test_reject_alone_in_order(void **state)
{
    (void)state;
    struct batcher *b = mk(100, 1000, 1 << 20, 5, BATCH_OVERSIZE_SKIP);
    struct inv_schema_meta vm = {"AVRO", "9"};
    struct inv_record r0 = rec(0, 10, "a", 1),
                      r1 = rec(0, 11,
                               "\x01"
                               "bad",
                               4),
                      r2 = rec(0, 12, "c", 1);
    r0.value_meta = &vm;
    r1.reject = "DESERIALIZATION_ERROR";
    assert_int_equal(batcher_add(b, &r0, 0, NULL), 0);
    assert_int_equal(batcher_add(b, &r1, 0, NULL), 0);
    assert_int_equal(batcher_add(b, &r2, 0, NULL), 0);
    struct batch *bt = batcher_next(b, 1);
    assert_non_null(bt);
    assert_null(bt->reject);
    assert_int_equal(bt->num_records, 1);
    assert_int_equal(bt->offsets[0], 10);
    assert_non_null(strstr(bt->payload,
                           "\"valueSchemaMetadata\":{\"dataFormat\":\"AVRO\",\"schemaId\":\"9\"}"));
    check_payload(bt);
    assert_int_equal(batcher_complete(b, bt, 2, NULL), 0);
    bt = batcher_next(b, 2);
    assert_non_null(bt);
    assert_string_equal(bt->reject, "DESERIALIZATION_ERROR");
    assert_false(bt->oversized);
    assert_int_equal(bt->num_records, 1);
    assert_int_equal(bt->offsets[0], 11);
    check_payload(bt);
    assert_non_null(strstr(bt->payload, "\"value\":\"AWJhZA==\""));
    assert_null(strstr(bt->payload, "SchemaMetadata"));
    assert_null(batcher_next(b, 5000)); // r2 waits behind it
    assert_int_equal(batcher_complete(b, bt, 3, NULL), 0);
    bt = batcher_next(b, 1003);
    assert_non_null(bt);
    assert_null(bt->reject);
    assert_int_equal(bt->offsets[0], 12);
    batcher_complete(b, bt, 1004, NULL);
    assert_int_equal(batcher_pending(b), 0);
    batcher_free(b);
}

static void test_oversized_block(void **state)
{
    (void)state;
    struct batcher *b = mk(100, 0, 4096, 5, BATCH_OVERSIZE_BLOCK);
    static uint8_t big[8000];
    struct inv_record r1 = rec(1, 5, big, sizeof big), r2 = rec(1, 6, "c", 1);
    assert_int_equal(batcher_add(b, &r1, 0, NULL), 0);
    assert_int_equal(batcher_add(b, &r2, 0, NULL), 0);
    struct batch *bt = batcher_next(b, 0);
    assert_non_null(bt);
    assert_true(bt->oversized);
    struct inv_err err;
    assert_int_equal(batcher_complete(b, bt, 1, &err), -1);
    assert_non_null(strstr(err.msg, "orders-1 is blocked"));
    assert_non_null(strstr(err.msg, "offset 5"));
    assert_null(batcher_next(b, 100)); // still blocked
    assert_int_equal(batcher_partition_queued(b, "orders", 6, 1), 1);
    assert_int_equal(batcher_partition_queued(b, "orders", 6, 2), 0);
    batcher_drop_partition(b, "orders", 6, 1);
    assert_int_equal(batcher_partition_queued(b, "orders", 6, 1), 0);
    assert_int_equal(batcher_pending(b), 0);
    assert_int_equal(batcher_complete(b, bt, 101, &err), 0);
    // Re-fed from a new position, the partition works again.
    add(b, 1, 6, 200);
    bt = batcher_next(b, 200);
    assert_non_null(bt);
    assert_int_equal(bt->offsets[0], 6);
    batcher_complete(b, bt, 201, NULL);
    batcher_free(b);
}

// An undecodable range is handed out like an oversized record but never blocks its partition,
// even under BATCH_OVERSIZE_BLOCK: it is disposed of and acknowledged.
static void test_gap_never_blocks(void **state)
{
    (void)state;
    struct batcher *b = mk(100, 0, 4096, 5, BATCH_OVERSIZE_BLOCK);
    struct inv_err err;
    add(b, 1, 2, 0);
    assert_int_equal(batcher_add_gap(b, "orders", 6, 1, 3, 5, 77, BATCH_GAP_CORRUPT, 0, &err), 0);
    assert_int_equal(batcher_add_gap(b, "orders", 6, 1, 4, 9, 77, BATCH_GAP_CORRUPT, 0, &err), -1);
    struct batch *bt = batcher_next(b, 0);
    assert_non_null(bt);
    assert_int_equal(bt->offsets[0], 2);
    assert_int_equal(batcher_complete(b, bt, 1, &err), 0);
    bt = batcher_next(b, 1);
    assert_non_null(bt);
    assert_true(bt->oversized);
    assert_int_equal(bt->gap, BATCH_GAP_CORRUPT);
    assert_int_equal(bt->parts[0].first_offset, 3);
    assert_int_equal(bt->offsets[0], 5);
    assert_int_equal(batcher_complete(b, bt, 2, &err), 0); // not blocked
    add(b, 1, 6, 3);
    bt = batcher_next(b, 3);
    assert_non_null(bt);
    assert_int_equal(bt->offsets[0], 6);
    assert_int_equal(batcher_complete(b, bt, 4, &err), 0);
    batcher_free(b);
}

static void test_mixing_and_inflight_limit(void **state)
{
    (void)state;
    struct batcher *b = mk(5, 100, BATCH_MAX_PAYLOAD, 2, BATCH_OVERSIZE_SKIP);
    // Interleaved arrivals on three partitions: 0,1,2,0,1,2,...
    for (int64_t o = 0; o < 4; o++) {
        for (int32_t p = 0; p < 3; p++) {
            add(b, p, o, 0);
        }
    }
    struct batch *a = batcher_next(b, 0);
    assert_non_null(a);
    // Arrival order: p0o0 p1o0 p2o0 p0o1 p1o1 -> groups orders-0 (2), orders-1 (2), orders-2 (1)
    assert_int_equal(a->num_records, 5);
    assert_int_equal(a->num_parts, 3);
    assert_string_equal(a->parts[0].key, "orders-0");
    assert_int_equal(a->parts[0].num_records, 2);
    assert_int_equal(a->parts[1].num_records, 2);
    assert_int_equal(a->parts[2].num_records, 1);
    check_payload(a);
    // All three partitions are in flight: nothing else can go.
    assert_null(batcher_next(b, 1000));
    // A new partition forms a concurrent batch.
    add(b, 3, 0, 1000);
    struct batch *c = batcher_next(b, 1100);
    assert_non_null(c);
    assert_int_equal(c->num_parts, 1);
    assert_int_equal(c->parts[0].partition, 3);
    assert_int_equal(batcher_inflight(b), 2);
    // The in-flight limit (2) holds back partition 4.
    add(b, 4, 0, 1100);
    assert_int_equal(batcher_next_deadline(b), INT64_MAX);
    assert_null(batcher_next(b, 9999));
    assert_int_equal(batcher_complete(b, c, 10000, NULL), 0);
    struct batch *d = batcher_next(b, 10000);
    assert_non_null(d);
    assert_int_equal(d->parts[0].partition, 4);
    assert_int_equal(batcher_complete(b, d, 10001, NULL), 0);
    assert_int_equal(batcher_complete(b, a, 10002, NULL), 0);
    // The rest of partitions 0-2 (7 records) comes in order, 5 then 2.
    struct batch *e = batcher_next(b, 10002);
    assert_non_null(e);
    assert_int_equal(e->num_records, 5);
    check_payload(e);
    for (size_t g = 0; g < e->num_parts; g++) {
        for (size_t k = 1; k < e->parts[g].num_records; k++) {
            assert_true(e->offsets[e->parts[g].first_index + k] >
                        e->offsets[e->parts[g].first_index + k - 1]);
        }
    }
    batcher_complete(b, e, 10003, NULL);
    e = batcher_next(b, 10103);
    assert_non_null(e);
    assert_int_equal(e->num_records, 2);
    batcher_complete(b, e, 10104, NULL);
    assert_int_equal(batcher_pending(b), 0);
    batcher_free(b);
}

static void test_batch_has_record(void **state)
{
    (void)state;
    struct batcher *b = mk(10, 0, BATCH_MAX_PAYLOAD, 5, BATCH_OVERSIZE_SKIP);
    add(b, 0, 3, 0);
    add(b, 0, 5, 0);
    add(b, 0, 9, 0);
    add(b, 2, 100, 0);
    struct batch *bt = batcher_next(b, 0);
    assert_non_null(bt);
    assert_true(batch_has_record(bt, "orders-0", 3));
    assert_true(batch_has_record(bt, "orders-0", 5));
    assert_true(batch_has_record(bt, "orders-0", 9));
    assert_false(batch_has_record(bt, "orders-0", 4)); // gap (compacted topic)
    assert_true(batch_has_record(bt, "orders-2", 100));
    assert_false(batch_has_record(bt, "orders-2", 3));
    assert_false(batch_has_record(bt, "orders-1", 3));
    assert_false(batch_has_record(bt, "orders", 3));
    // batchItemFailures identifiers: known ones keep the partial result, an unknown one fails all.
    struct inv_result res;
    inv_result_init(&res);
    const char *known = "{\"batchItemFailures\":[{\"itemIdentifier\":"
                        "{\"partition\":\"orders-0\",\"offset\":5}}]}";
    inv_result_from_response(&res, known, strlen(known), true);
    assert_int_equal(res.kind, INV_RESULT_PARTIAL);
    assert_true(batch_check_failures(bt, &res));
    assert_int_equal(res.kind, INV_RESULT_PARTIAL);
    const char *unknown = "{\"batchItemFailures\":[{\"itemIdentifier\":{\"partition\":"
                          "\"orders-0\",\"offset\":5}},{\"itemIdentifier\":{\"partition\":"
                          "\"orders-7\",\"offset\":5}}]}";
    inv_result_from_response(&res, unknown, strlen(unknown), true);
    assert_int_equal(res.num_failures, 2);
    assert_false(batch_check_failures(bt, &res));
    assert_int_equal(res.kind, INV_RESULT_FUNCTION_ERROR);
    assert_string_equal(res.message,
                        "batchItemFailures names orders-7 offset 5, which is not in the batch");
    inv_result_cleanup(&res);
    batcher_complete(b, bt, 1, NULL);
    // Dropping a partition forgets its queue and its last offset.
    add(b, 0, 10, 1);
    batcher_drop_partition(b, "orders", 6, 0);
    assert_int_equal(batcher_pending(b), 0);
    add(b, 0, 4, 2); // rewound: accepted again
    assert_int_equal(batcher_pending(b), 1);
    batcher_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_validation),
        cmocka_unit_test(test_count_and_window),
        cmocka_unit_test(test_window_zero_dispatches_at_once),
        cmocka_unit_test(test_cap_splits_exactly_near_6mb),
        cmocka_unit_test(test_cap_boundary_is_inclusive),
        cmocka_unit_test(test_oversized_skip_in_order),
        cmocka_unit_test(test_reject_alone_in_order),
        cmocka_unit_test(test_oversized_block),
        cmocka_unit_test(test_gap_never_blocks),
        cmocka_unit_test(test_mixing_and_inflight_limit),
        cmocka_unit_test(test_batch_has_record),
        cmocka_unit_test(test_add_run),
    };
    return cmocka_run_group_tests_name("batcher", tests, NULL, NULL);
}
