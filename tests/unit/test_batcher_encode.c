// test_batcher_encode.c: the batcher encodes each record once, when it is added, and assembles
// payloads from those encodings. Golden comparison: every payload (and every batch_rec span and
// key) must be byte for byte what the streaming encoder (inv_event_begin/add/end, the path the
// batcher used to encode at cut time) writes for the same records in the same order, over records
// built to hit every encoding branch: null/empty/binary keys and values, headers with quotes,
// control characters and invalid UTF-8, null header values, schema metadata, the three timestamp
// types, offsets crossing 9 -> 10 -> 100 digits and jumping, equal and negative timestamps, lanes,
// small payload caps (byte cuts), oversized and rejected records. The caller's buffers are
// clobbered after each add: the batcher may keep no pointer into them.
#include "base/buf.h"
#include "invoke/batcher.h"
#include "invoke/event_json.h"
#include "tests/lib/unit.h"

#include <stdlib.h>
#include <string.h>

#define NREC 3000

// A record the test keeps (its own copies of every byte) to encode the expected payloads.
struct kept {
    struct inv_record r;
    struct inv_header hdrs[3];
    uint8_t key[40], value[1400], hv[3][8];
    char hname[3][8];
    bool used; // handed out in some batch
};

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33) % n;
}

static const struct inv_schema_meta key_meta = {"AVRO", "17"};
static const struct inv_schema_meta value_meta = {"JSON", "a\"b\x01"};
static const char *const topics[] = {"orders", "t\"q\\x", "caf\xc3\xa9\xff"};

static void fill(struct kept *k, int32_t partition, int64_t offset, int64_t ts)
{
    memset(k, 0, sizeof *k);
    struct inv_record *r = &k->r;
    const char *topic = topics[partition % 3];
    *r = (struct inv_record){.topic = topic,
                             .topic_len = strlen(topic),
                             .partition = partition,
                             .offset = offset,
                             .timestamp = ts,
                             .ts_type = (enum inv_ts_type)rnd(3)};
    uint32_t kl = rnd(5) == 0 ? 0 : rnd(sizeof k->key);
    for (uint32_t i = 0; i < kl; i++) {
        k->key[i] = (uint8_t)rnd(256);
    }
    r->key = rnd(3) == 0 ? inv_bytes_null() : inv_bytes_of(k->key, kl);
    uint32_t vl = rnd(4) == 0 ? rnd(20) : rnd(100) == 0 ? 1200 + rnd(200) : rnd(300);
    for (uint32_t i = 0; i < vl; i++) {
        k->value[i] = (uint8_t)rnd(256);
    }
    r->value = rnd(8) == 0 ? inv_bytes_null() : inv_bytes_of(k->value, vl);
    r->num_headers = rnd(4);
    static const char *const names[] = {"h", "q\"", "c\x01", "\xc3", "", "\xe2\x82\xac"};
    for (size_t i = 0; i < r->num_headers; i++) {
        const char *nm = names[rnd(6)];
        memcpy(k->hname[i], nm, strlen(nm));
        uint32_t hl = rnd(9);
        for (uint32_t j = 0; j < hl && j < 8; j++) {
            k->hv[i][j] = (uint8_t)rnd(256);
        }
        k->hdrs[i] = (struct inv_header){k->hname[i], strlen(nm),
                                         hl == 8 ? inv_bytes_null() : inv_bytes_of(k->hv[i], hl)};
    }
    r->headers = k->hdrs;
    r->key_meta = rnd(6) == 0 ? &key_meta : NULL;
    r->value_meta = rnd(6) == 0 ? &value_meta : NULL;
}

// clone_into copies |k|'s record into scratch memory the caller clobbers after the add.
static struct inv_record clone_into(const struct kept *k, uint8_t *scratch)
{
    struct inv_record r = k->r;
    memcpy(scratch, k, sizeof *k);
    const struct kept *c = (const struct kept *)(const void *)scratch;
    if (!r.key.is_null) {
        r.key.p = c->key;
    }
    if (!r.value.is_null) {
        r.value.p = c->value;
    }
    r.headers = c->hdrs;
    return r;
}

static struct kept *find(struct kept *all, size_t n, const char *key, int64_t offset)
{
    int32_t partition = atoi(strrchr(key, '-') + 1); // the topic follows from the partition
    for (size_t i = 0; i < n; i++) {
        if (all[i].r.offset == offset && all[i].r.partition == partition) {
            const char *t = topics[partition % 3];
            assert_memory_equal(key, t, strlen(t));
            return &all[i];
        }
    }
    fail_msg("record %s offset %lld is not one the test added", key, (long long)offset);
    return NULL;
}

// check_batch encodes the batch's records with the streaming encoder and compares bytes.
static void check_batch(const struct batch *bt, const struct inv_event_cfg *ev, struct kept *all,
                        size_t n)
{
    struct buf want, one;
    buf_init(&want);
    buf_init(&one);
    struct inv_event_enc enc;
    inv_event_begin(&enc, &want, ev);
    for (size_t g = 0; g < bt->num_parts; g++) {
        const struct batch_part *bp = &bt->parts[g];
        for (size_t i = bp->first_index; i < bp->first_index + bp->num_records; i++) {
            struct kept *k = find(all, n, bp->key, bt->offsets[i]);
            assert_false(k->used);
            k->used = true;
            assert_int_equal(inv_event_add(&enc, &k->r, NULL), 0);
            // The record's span and key.
            one.len = 0;
            inv_event_record_write(&one, ev, &k->r);
            const struct batch_rec *br = &bt->recs[i];
            assert_int_equal(br->len, one.len);
            assert_memory_equal(bt->payload + br->start, one.p, one.len);
            assert_int_equal(br->timestamp, k->r.timestamp);
            assert_int_equal(br->key_null, k->r.key.is_null);
            if (!k->r.key.is_null) {
                assert_int_equal(br->key_len, k->r.key.len);
                if (br->key_len) {
                    assert_memory_equal(bt->keys + br->key_off, k->r.key.p, br->key_len);
                }
            }
        }
    }
    inv_event_end(&enc);
    assert_int_equal(bt->payload_len, want.len);
    assert_memory_equal(bt->payload, want.p, want.len);
    assert_int_equal(bt->payload[bt->payload_len], '\0');
    buf_cleanup(&want);
    buf_cleanup(&one);
}

static void run_case(uint32_t lanes, uint32_t batch_size, size_t max_payload, uint64_t seed)
{
    rng_state = seed;
    struct batcher_cfg cfg;
    batcher_cfg_defaults(&cfg);
    cfg.batch_size = batch_size;
    cfg.window_ms = 10;
    cfg.max_payload = max_payload;
    cfg.lanes = lanes;
    cfg.event.bootstrap_servers = "b1:9092,b\"2:9092";
    cfg.event.null_value = seed & 1 ? INV_NULL_VALUE_JSON_NULL : INV_NULL_VALUE_OMIT;
    cfg.event.null_header = seed & 2 ? INV_NULL_HEADER_JSON_NULL : INV_NULL_HEADER_EMPTY;
    struct batcher *b;
    assert_int_equal(batcher_new(&b, &cfg, NULL), 0);
    struct kept *all = calloc(NREC, sizeof *all);
    uint8_t *scratch = malloc(sizeof(struct kept));
    int64_t next[5] = {0, 7, 95, 998, 99990}; // digit-count boundaries ahead
    int64_t ts = 1545084650987;
    size_t added = 0, oversized = 0, rejected = 0, handed = 0;
    int64_t now = 0;
    while (added < NREC || batcher_pending(b) > 0 || batcher_inflight(b) > 0) {
        for (int burst = (int)rnd(60); burst > 0 && added < NREC; burst--) {
            int32_t part = (int32_t)rnd(5);
            next[part] += rnd(10) == 0 ? 1 + rnd(1000) : 1;
            ts = rnd(4) == 0 ? ts + rnd(3) : rnd(50) == 0 ? -1 : ts;
            struct kept *k = &all[added];
            fill(k, part, next[part], ts);
            if (rnd(200) == 0) {
                k->r.reject = "RecordDeserializationFailure";
            }
            struct inv_record r = clone_into(k, scratch);
            assert_int_equal(batcher_add(b, &r, now, NULL), 0);
            memset(scratch, 0xa5, sizeof(struct kept)); // no pointer may survive the add
            added++;
        }
        if (added == NREC) {
            batcher_flush(b);
        }
        struct batch *bt;
        while ((bt = batcher_next(b, now)) != NULL) {
            handed += bt->num_records;
            if (bt->oversized) {
                oversized++;
                struct kept *k = find(all, added, bt->parts[0].key, bt->offsets[0]);
                k->used = true;
                struct buf one;
                buf_init(&one);
                inv_event_record_write(&one, &cfg.event, &k->r);
                assert_true(bt->oversized_len > max_payload);
                assert_int_equal(
                    bt->oversized_len,
                    inv_event_head_len(&cfg.event) +
                        inv_event_group_len(k->r.topic, k->r.topic_len, k->r.partition) + one.len);
                buf_cleanup(&one);
            } else {
                rejected += bt->reject != NULL;
                assert_true(bt->payload_len <= max_payload);
                check_batch(bt, &cfg.event, all, added);
            }
            assert_int_equal(batcher_complete(b, bt, now, NULL), 0);
        }
        now += 5;
    }
    assert_int_equal(handed, NREC);
    for (size_t i = 0; i < NREC; i++) {
        assert_true(all[i].used);
    }
    // The cases must reach the branches they are there for.
    if (max_payload < 2048) {
        assert_true(oversized > 0);
    }
    assert_true(rejected > 0);
    batcher_free(b);
    free(scratch);
    free(all);
}

static void test_golden_one_lane(void **state)
{
    (void)state;
    run_case(1, 10000, BATCH_MAX_PAYLOAD, 1);
    run_case(1, 37, BATCH_MAX_PAYLOAD, 2);
}

static void test_golden_small_cap(void **state)
{
    (void)state;
    run_case(1, 10000, 1500, 3); // byte cuts and oversized records
    run_case(3, 50, 1200, 4);
}

static void test_golden_lanes(void **state)
{
    (void)state;
    run_case(4, 100, BATCH_MAX_PAYLOAD, 5);
    run_case(10, 10000, 40000, 6);
}

// Fixed bytes: two records of one partition whose offsets cross from one to two digits and share
// a timestamp, then a jump (the digits reused, incremented, and printed again).
static void test_golden_bytes(void **state)
{
    (void)state;
    struct batcher_cfg cfg;
    batcher_cfg_defaults(&cfg);
    cfg.batch_size = 3;
    cfg.event.bootstrap_servers = "b:1";
    struct batcher *b;
    assert_int_equal(batcher_new(&b, &cfg, NULL), 0);
    int64_t offs[3] = {9, 10, 1000};
    for (int i = 0; i < 3; i++) {
        struct inv_header h = {"h", 1, inv_bytes_of("\xff\x01", 2)};
        struct inv_record r = {.topic = "t",
                               .topic_len = 1,
                               .partition = 2,
                               .offset = offs[i],
                               .timestamp = i == 2 ? 7 : 1545084650987,
                               .key = i == 0 ? inv_bytes_of("k", 1) : inv_bytes_null(),
                               .value = inv_bytes_of("abc", 3),
                               .headers = i == 1 ? &h : NULL,
                               .num_headers = i == 1 ? 1 : 0};
        assert_int_equal(batcher_add(b, &r, 0, NULL), 0);
    }
    struct batch *bt = batcher_next(b, 0);
    assert_non_null(bt);
    assert_string_equal(
        bt->payload,
        "{\"eventSource\":\"SelfManagedKafka\",\"bootstrapServers\":\"b:1\",\"records\":{\"t-2\":["
        "{\"topic\":\"t\",\"partition\":2,\"offset\":9,\"timestamp\":1545084650987,"
        "\"timestampType\":\"CREATE_TIME\",\"key\":\"aw==\",\"value\":\"YWJj\",\"headers\":[]},"
        "{\"topic\":\"t\",\"partition\":2,\"offset\":10,\"timestamp\":1545084650987,"
        "\"timestampType\":\"CREATE_TIME\",\"value\":\"YWJj\",\"headers\":[{\"h\":[-1,1]}]},"
        "{\"topic\":\"t\",\"partition\":2,\"offset\":1000,\"timestamp\":7,"
        "\"timestampType\":\"CREATE_TIME\",\"value\":\"YWJj\",\"headers\":[]}]}}");
    const char *second = "{\"topic\":\"t\",\"partition\":2,\"offset\":10,";
    assert_memory_equal(bt->payload + bt->recs[1].start, second, strlen(second));
    assert_int_equal(bt->payload[bt->recs[1].start + bt->recs[1].len], ',');
    assert_int_equal(batcher_complete(b, bt, 0, NULL), 0);
    batcher_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_bytes),
        cmocka_unit_test(test_golden_one_lane),
        cmocka_unit_test(test_golden_small_cap),
        cmocka_unit_test(test_golden_lanes),
    };
    return cmocka_run_group_tests_name("batcher_encode", tests, NULL, NULL);
}
