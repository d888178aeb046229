// test_cons_fetcher.c: the consumer's fetcher (consumer/fetcher.h) and offsets logic
// (consumer/offsets.h), sans-I/O: Fetch v11, OffsetFetch v5, ListOffsets v1 and OffsetCommit v7
// answers built by hand (record batches with proto/batch_builder.h), the effects checked on the
// partition table and on what is delivered.
#include "consumer/fetcher.h"
#include "consumer/offsets.h"
#include "proto/batch_builder.h"
#include "proto/compress.h"
#include "proto/list_offsets.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXREC 64

struct got {
    int calls;
    size_t n;
    int64_t offsets[MAXREC];
    char values[MAXREC][32];
    int32_t partition;
    char hdr[64];
};

static void deliver(const struct cons_record_batch *b, void *ctx)
{
    struct got *g = ctx;
    g->calls++;
    g->partition = b->partition;
    for (size_t i = 0; i < b->num_records && g->n < MAXREC; i++) {
        const struct cons_record *r = &b->records[i];
        g->offsets[g->n] = r->offset;
        snprintf(g->values[g->n], sizeof g->values[0], "%.*s", (int)r->value_len,
                 (const char *)r->value);
        if (r->num_headers > 0 && !g->hdr[0]) {
            struct cons_record_header_iter it;
            struct cons_header h;
            cons_record_headers(r, &it);
            if (cons_record_next_header(&it, &h)) {
                snprintf(g->hdr, sizeof g->hdr, "%.*s=%.*s", (int)h.key_len, (const char *)h.key,
                         (int)h.value_len, (const char *)h.value);
            }
        }
        g->n++;
    }
}

static const struct cons_tp tps[] = {{"t", 0}, {"t", 1}};

static void setup(struct cons_fetcher *f, struct got *g, bool uncommitted, enum cons_start start)
{
    memset(g, 0, sizeof *g);
    struct cons_fetcher_config cfg = {.read_uncommitted = uncommitted,
                                      .check_crcs = true,
                                      .partition_max_bytes = 1000,
                                      .max_bytes = 100000,
                                      .start = start,
                                      .start_timestamp_ms = 5000};
    cons_fetcher_init(f, &cfg, deliver, g);
    cons_fetcher_assign(f, tps, 2);
    for (int i = 0; i < 2; i++) {
        f->parts[i].leader = 1;
    }
}

static void ready(struct cons_fetcher *f, int part, int64_t pos)
{
    f->parts[part].pos_state = CONS_POS_READY;
    f->parts[part].position = pos;
}

// add_batch appends a batch of |n| records with values "v<offset>" starting at |base|.
static void add_batch(kw *w, int64_t base, int n, int codec, int64_t pid, bool txn, bool control)
{
    struct kp_batch_params p;
    kp_batch_params_default(&p);
    p.base_offset = base;
    p.codec = codec;
    p.compress = kp_compress; // the builder compresses only when given a compressor
    p.producer_id = pid;
    p.transactional = txn;
    p.control = control;
    struct kp_batch_builder bb;
    kp_batch_builder_init(&bb, &p);
    for (int i = 0; i < n; i++) {
        char v[16];
        int len = snprintf(v, sizeof v, "v%lld", (long long)(base + i));
        struct kp_header_in h = {.key = "h", .key_len = 1, .value = "x", .value_len = 1};
        if (control) {
            static const uint8_t abort_key[4] = {0, 0, 0, 0}; // version 0, type ABORT
            struct kp_record_in r = {.key = abort_key, .key_len = 4, .value = "", .value_len = 0};
            assert_true(kp_batch_builder_add(&bb, &r));
        } else {
            struct kp_record_in r = {.timestamp = 1000 + i,
                                     .value = v,
                                     .value_len = (size_t)len,
                                     .headers = &h,
                                     .num_headers = 1};
            assert_true(kp_batch_builder_add(&bb, &r));
        }
    }
    assert_int_equal(kp_batch_builder_finish(&bb, w), KP_OK);
    kp_batch_builder_cleanup(&bb);
}

struct fpart {
    int32_t idx;
    int16_t err;
    int64_t hw;
    const uint8_t *recs;
    size_t recs_len;
    int num_aborted; // -1 = null
    int64_t aborted_pid, aborted_first;
};

// fetch_answer feeds a Fetch v11 answer with |n| partitions of topic "t" to broker 1's fetch.
static void fetch_answer(struct cons_fetcher *f, const struct fpart *ps, size_t n, uint64_t now,
                         struct cons_fetch_outcome *out)
{
    kw w;
    kw_init_grow(&w);
    kw_i32(&w, 0);
    kw_i16(&w, 0);
    kw_i32(&w, 0);
    kw_i32(&w, 1);
    kw_str(&w, "t");
    kw_i32(&w, (int32_t)n);
    for (size_t i = 0; i < n; i++) {
        kw_i32(&w, ps[i].idx);
        kw_i16(&w, ps[i].err);
        kw_i64(&w, ps[i].hw);
        kw_i64(&w, ps[i].hw);
        kw_i64(&w, 0);
        kw_i32(&w, ps[i].num_aborted);
        for (int k = 0; k < ps[i].num_aborted; k++) {
            kw_i64(&w, ps[i].aborted_pid);
            kw_i64(&w, ps[i].aborted_first);
        }
        kw_i32(&w, -1);
        kw_bytes(&w, ps[i].recs ? ps[i].recs : (const uint8_t *)"", ps[i].recs_len);
    }
    size_t len;
    assert_true(kw_finish(&w, &len));
    kr body;
    kr_init(&body, kw_data(&w), len);
    cons_fetcher_on_response(f, 1, now, 11, &body, out);
    kw_cleanup(&w);
}

static void begin(struct cons_fetcher *f, size_t want)
{
    assert_int_equal(cons_fetcher_begin_fetch(f, 1, 0), want);
    kw w;
    kw_init_grow(&w);
    assert_true(cons_fetcher_write_request(f, 1, 11, &w));
    kw_cleanup(&w);
}

// The record array grows to the largest partition's records and shrinks back (halving after
// each response that used less than a quarter of it) to 4,096 entries.
static void test_record_array_shrinks_back(void **state)
{
    (void)state;
    struct cons_fetcher f;
    struct got g;
    setup(&f, &g, true, CONS_START_LATEST);
    int64_t pos = 0;
    for (int round = 0; round < 8; round++) {
        int n = round == 0 ? 20000 : 10;
        ready(&f, 0, pos);
        begin(&f, 1);
        kw recs;
        kw_init_grow(&recs);
        add_batch(&recs, pos, n, KP_CODEC_NONE, -1, false, false);
        struct fpart p = {.idx = 0,
                          .hw = pos + n,
                          .recs = kw_data(&recs),
                          .recs_len = kw_len(&recs),
                          .num_aborted = -1};
        struct cons_fetch_outcome o;
        fetch_answer(&f, &p, 1, 0, &o);
        assert_int_equal(o.delivered, n);
        pos += n;
        assert_int_equal(f.parts[0].position, pos);
        if (round == 0) {
            assert_true(f.recs_cap >= 20000);
        }
        kw_cleanup(&recs);
    }
    assert_int_equal(f.recs_cap, 4096);
    cons_fetcher_cleanup(&f);
}

static uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// A Fetch request carries the MaxBytes it was given (the Fetch budget's grant), and successive
// requests start at different partitions of the table.
static void test_request_max_bytes_and_rotation(void **state)
{
    (void)state;
    struct cons_fetcher f;
    struct got g;
    setup(&f, &g, true, CONS_START_LATEST);
    ready(&f, 0, 0);
    ready(&f, 1, 0);
    uint32_t first[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(cons_fetcher_begin_fetch(&f, 1, 0), 2);
        kw w;
        kw_init_grow(&w);
        assert_true(cons_fetcher_write_request_max(&f, 1, 11, 300000 + i, &w));
        const uint8_t *b = kw_data(&w);
        // v11: replica_id, max_wait_ms, min_bytes, max_bytes, isolation_level, session_id,
        // session_epoch, topics [name "t", partitions [partition, ...]]
        assert_int_equal(be32_at(b + 12), 300000 + i);
        assert_int_equal(be32_at(b + 25), 1); // one topic
        assert_int_equal(be32_at(b + 32), 2); // both partitions
        first[i] = be32_at(b + 36);
        kw_cleanup(&w);
        cons_fetcher_cancel_fetch(&f, 1);
        assert_false(f.parts[0].fetching || f.parts[1].fetching);
    }
    assert_true(first[0] != first[1] || first[1] != first[2] || first[2] != first[3]);
    // without a grant, the configured MaxBytes
    assert_int_equal(cons_fetcher_begin_fetch(&f, 1, 0), 2);
    kw w;
    kw_init_grow(&w);
    assert_true(cons_fetcher_write_request(&f, 1, 11, &w));
    assert_int_equal(be32_at(kw_data(&w) + 12), 100000);
    kw_cleanup(&w);
    cons_fetcher_cleanup(&f);
}

static void test_skips_records_below_the_fetch_offset(void **state)
{
    (void)state;
    struct cons_fetcher f;
    struct got g;
    setup(&f, &g, false, CONS_START_LATEST);
    ready(&f, 0, 3);
    begin(&f, 1);
    kw recs;
    kw_init_grow(&recs);
    add_batch(&recs, 0, 5, KP_CODEC_NONE, -1, false, false); // offsets 0-4, fetch at 3
    add_batch(&recs, 5, 2, KP_CODEC_LZ4, -1, false, false);  // compressed: 5-6
    struct fpart p = {
        .idx = 0, .hw = 7, .recs = kw_data(&recs), .recs_len = kw_len(&recs), .num_aborted = -1};
    struct cons_fetch_outcome o;
    fetch_answer(&f, &p, 1, 0, &o);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.n, 4);
    assert_int_equal(g.offsets[0], 3);
    assert_int_equal(g.offsets[3], 6);
    assert_string_equal(g.values[0], "v3");
    assert_string_equal(g.values[3], "v6");
    assert_string_equal(g.hdr, "h=x");
    assert_int_equal(f.parts[0].position, 7);
    assert_int_equal(f.parts[0].high_watermark, 7);
    assert_int_equal(o.delivered, 4);
    assert_false(f.parts[0].fetching);
    kw_cleanup(&recs);
    cons_fetcher_cleanup(&f);
}

static void test_partial_batch_at_the_end(void **state)
{
    (void)state;
    struct cons_fetcher f;
    struct got g;
    setup(&f, &g, false, CONS_START_LATEST);
    ready(&f, 0, 0);
    begin(&f, 1);
    kw recs;
    kw_init_grow(&recs);
    add_batch(&recs, 0, 3, KP_CODEC_NONE, -1, false, false);
    size_t whole = kw_len(&recs);
    add_batch(&recs, 3, 3, KP_CODEC_NONE, -1, false, false);
    struct fpart p = {
        .idx = 0, .hw = 6, .recs = kw_data(&recs), .recs_len = whole + 20, .num_aborted = -1};
    struct cons_fetch_outcome o;
    fetch_answer(&f, &p, 1, 0, &o);
    assert_int_equal(g.n, 3);
    assert_int_equal(f.parts[0].position, 3); // fetch again from the cut batch
    assert_int_equal(f.parts[0].max_bytes, 1000);
    // Only a partial batch: nothing delivered, the limit doubles (up to max_bytes).
    begin(&f, 1);
    p.recs = kw_data(&recs) + whole;
    p.recs_len = 20;
    fetch_answer(&f, &p, 1, 0, &o);
    assert_int_equal(g.n, 3);
    assert_int_equal(f.parts[0].position, 3);
    assert_int_equal(f.parts[0].max_bytes, 2000);
    assert_non_null(strstr(f.note, "exceeds the partition limit"));
    kw_cleanup(&recs);
    cons_fetcher_cleanup(&f);
}

static void test_read_committed_filters_aborted_and_control(void **state)
{
    (void)state;
    for (int uncommitted = 0; uncommitted < 2; uncommitted++) {
        struct cons_fetcher f;
        struct got g;
        setup(&f, &g, uncommitted, CONS_START_LATEST);
        ready(&f, 0, 0);
        begin(&f, 1);
        kw recs;
        kw_init_grow(&recs);
        add_batch(&recs, 0, 2, KP_CODEC_NONE, 7, true, false); // aborted transaction
        add_batch(&recs, 2, 1, KP_CODEC_NONE, 7, true, true);  // its ABORT marker
        add_batch(&recs, 3, 2, KP_CODEC_NONE, -1, false, false);
        struct fpart p = {.idx = 0,
                          .hw = 5,
                          .recs = kw_data(&recs),
                          .recs_len = kw_len(&recs),
                          .num_aborted = uncommitted ? -1 : 1,
                          .aborted_pid = 7,
                          .aborted_first = 0};
        struct cons_fetch_outcome o;
        fetch_answer(&f, &p, 1, 0, &o);
        if (uncommitted) {
            assert_int_equal(g.n, 4); // the aborted data too, never the marker
            assert_int_equal(g.offsets[2], 3);
        } else {
            assert_int_equal(g.n, 2);
            assert_int_equal(g.offsets[0], 3);
        }
        assert_int_equal(f.parts[0].position, 5);
        kw_cleanup(&recs);
        cons_fetcher_cleanup(&f);
    }
}

static void test_partition_errors(void **state)
{
    (void)state;
    struct cons_fetcher f;
    struct got g;
    setup(&f, &g, false, CONS_START_TRIM_HORIZON);
    ready(&f, 0, 10);
    ready(&f, 1, 20);
    begin(&f, 2);
    struct fpart ps[] = {{.idx = 0, .err = 1, .num_aborted = -1},  // OFFSET_OUT_OF_RANGE
                         {.idx = 1, .err = 6, .num_aborted = -1}}; // NOT_LEADER_OR_FOLLOWER
    struct cons_fetch_outcome o;
    fetch_answer(&f, ps, 2, 0, &o);
    assert_int_equal(o.resets, 1);
    assert_int_equal(f.parts[0].pos_state, CONS_POS_NEED_RESET);
    assert_true(o.refresh_metadata);
    assert_int_equal(f.parts[1].leader, -1);
    assert_int_equal(f.parts[1].position, 20); // kept: fetch again once the leader is known
    assert_false(o.fatal);
    assert_int_equal(cons_fetcher_begin_fetch(&f, 1, 0), 0);

    f.parts[1].leader = 1;
    begin(&f, 1);
    struct fpart authz = {.idx = 1, .err = 29, .num_aborted = -1};
    fetch_answer(&f, &authz, 1, 0, &o);
    assert_true(o.fatal);
    assert_int_equal(o.err_class, CONS_ERR_AUTHZ);
    assert_non_null(strstr(o.msg, "TOPIC_AUTHORIZATION_FAILED"));

    // A request that failed: back off, ask for metadata.
    begin(&f, 1);
    cons_fetcher_on_response(&f, 1, 1000, 11, NULL, &o);
    assert_true(o.refresh_metadata);
    assert_false(f.parts[1].fetching);
    assert_int_equal(cons_fetcher_begin_fetch(&f, 1, 1000), 0);
    assert_int_equal(cons_fetcher_begin_fetch(&f, 1, 1100), 1);
    cons_fetcher_cleanup(&f);
}

static void test_paused_and_stopped_partitions(void **state)
{
    (void)state;
    struct cons_fetcher f;
    struct got g;
    setup(&f, &g, false, CONS_START_LATEST);
    ready(&f, 0, 0);
    ready(&f, 1, 0);
    f.parts[1].paused = true;
    begin(&f, 1); // only partition 0
    f.parts[1].paused = false;
    begin(&f, 1);              // now partition 1 too (0 is in flight)
    f.parts[1].paused = true;  // paused while its fetch is out: the data is dropped unread
    f.parts[0].stopped = true; // revoked while in flight: ignored
    kw recs;
    kw_init_grow(&recs);
    add_batch(&recs, 0, 2, KP_CODEC_NONE, -1, false, false);
    struct fpart ps[] = {
        {.idx = 0, .hw = 2, .recs = kw_data(&recs), .recs_len = kw_len(&recs), .num_aborted = -1},
        {.idx = 1, .hw = 2, .recs = kw_data(&recs), .recs_len = kw_len(&recs), .num_aborted = -1}};
    struct cons_fetch_outcome o;
    fetch_answer(&f, ps, 2, 0, &o);
    assert_int_equal(g.calls, 0);
    assert_int_equal(f.parts[0].position, 0);
    assert_int_equal(f.parts[1].position, 0);
    assert_int_equal(f.parts[1].high_watermark, 2); // watermarks still tracked for lag
    f.parts[1].paused = false;
    begin(&f, 1);
    fetch_answer(&f, &ps[1], 1, 0, &o);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.partition, 1);
    kw_cleanup(&recs);
    cons_fetcher_cleanup(&f);
}

// ---- offsets ------------------------------------------------------------------------------------

static void answer(struct cons_fetcher *f, int api, kw *w, struct cons_offsets_outcome *o)
{
    size_t len;
    assert_true(kw_finish(w, &len));
    kr body;
    kr_init(&body, kw_data(w), len);
    if (api == 9) {
        cons_offsets_fetch_on_response(f, 5, &body, o);
    } else if (api == 2) {
        cons_offsets_list_on_response(f, 1, 1, &body, o);
    } else {
        cons_offsets_commit_on_response(f, 7, &body, o);
    }
    kw_cleanup(w);
}

// list_timestamps reads the timestamps of a ListOffsets v1 request body into ts[partition].
static void list_timestamps(struct cons_fetcher *f, int64_t ts[2])
{
    kw w;
    kw_init_grow(&w);
    assert_true(cons_offsets_list_write(f, 1, 1, &w));
    kr r, s;
    kr_init(&r, kw_data(&w), kw_len(&w));
    int32_t replica, p;
    uint32_t nt, np;
    assert_true(kr_i32(&r, &replica) && replica == -1);
    assert_true(kr_array_count(&r, 6, 10, &nt, NULL) && nt == 1);
    assert_true(kr_str(&r, &s, NULL) && kr_eq_cstr(&s, "t"));
    assert_true(kr_array_count(&r, 12, 10, &np, NULL));
    ts[0] = ts[1] = 0;
    for (uint32_t i = 0; i < np; i++) {
        int64_t t;
        assert_true(kr_i32(&r, &p) && kr_i64(&r, &t) && p >= 0 && p < 2);
        ts[p] = t;
    }
    assert_true(kr_done(&r));
    kw_cleanup(&w);
}

static void test_offset_fetch_then_starting_position(void **state)
{
    (void)state;
    struct cons_fetcher f;
    struct got g;
    setup(&f, &g, false, CONS_START_AT_TIMESTAMP);
    assert_int_equal(cons_offsets_fetch_begin(&f), 2);
    assert_int_equal(cons_offsets_fetch_begin(&f), 0); // already asked
    kw w;
    kw_init_grow(&w); // OffsetFetch v5: p0 committed at 42, p1 nothing
    kw_i32(&w, 0);
    kw_i32(&w, 1);
    kw_str(&w, "t");
    kw_i32(&w, 2);
    kw_i32(&w, 0);
    kw_i64(&w, 42);
    kw_i32(&w, -1);
    kw_str(&w, "");
    kw_i16(&w, 0);
    kw_i32(&w, 1);
    kw_i64(&w, -1);
    kw_i32(&w, -1);
    kw_str(&w, "");
    kw_i16(&w, 0);
    kw_i16(&w, 0);
    struct cons_offsets_outcome o;
    answer(&f, 9, &w, &o);
    assert_int_equal(f.parts[0].pos_state, CONS_POS_READY);
    assert_int_equal(f.parts[0].position, 42);
    assert_int_equal(f.parts[0].committed, 42);
    assert_int_equal(f.parts[1].pos_state, CONS_POS_NEED_RESET);

    // AT_TIMESTAMP asks for the time; no record (offset -1, the mock's answer) -> the end.
    assert_int_equal(cons_offsets_list_begin(&f, 1), 1);
    int64_t ts[2];
    list_timestamps(&f, ts);
    assert_int_equal(ts[1], 5000);
    kw_init_grow(&w); // ListOffsets v1
    kw_i32(&w, 1);
    kw_str(&w, "t");
    kw_i32(&w, 1);
    kw_i32(&w, 1);
    kw_i16(&w, 0);
    kw_i64(&w, -1);
    kw_i64(&w, -1);
    answer(&f, 2, &w, &o);
    assert_non_null(strstr(o.note, "starting at the end"));
    assert_int_equal(f.parts[1].pos_state, CONS_POS_NEED_RESET);
    assert_int_equal(cons_offsets_list_begin(&f, 1), 1);
    list_timestamps(&f, ts);
    assert_int_equal(ts[1], KP_OFFSET_LATEST);
    kw_init_grow(&w);
    kw_i32(&w, 1);
    kw_str(&w, "t");
    kw_i32(&w, 1);
    kw_i32(&w, 1);
    kw_i16(&w, 0);
    kw_i64(&w, -1);
    kw_i64(&w, 77);
    answer(&f, 2, &w, &o);
    assert_int_equal(f.parts[1].pos_state, CONS_POS_READY);
    assert_int_equal(f.parts[1].position, 77);
    cons_fetcher_cleanup(&f);
}

static void test_start_policies_ask_for_the_right_offset(void **state)
{
    (void)state;
    static const int64_t want[] = {KP_OFFSET_LATEST, KP_OFFSET_EARLIEST, 5000};
    for (int s = 0; s < 3; s++) {
        struct cons_fetcher f;
        struct got g;
        setup(&f, &g, false, (enum cons_start)s);
        cons_fetcher_reset_position(&f, &f.parts[0]);
        assert_int_equal(cons_offsets_list_begin(&f, 1), 1);
        assert_int_equal(cons_offsets_list_begin(&f, 2), 0); // other leader: nothing
        int64_t ts[2];
        list_timestamps(&f, ts);
        assert_int_equal(ts[0], want[s]);
        cons_fetcher_cleanup(&f);
    }
}

static void commit_answer(struct cons_fetcher *f, int16_t e0, int16_t e1,
                          struct cons_offsets_outcome *o)
{
    kw w;
    kw_init_grow(&w); // OffsetCommit v7
    kw_i32(&w, 0);
    kw_i32(&w, 1);
    kw_str(&w, "t");
    kw_i32(&w, 2);
    kw_i32(&w, 0);
    kw_i16(&w, e0);
    kw_i32(&w, 1);
    kw_i16(&w, e1);
    answer(f, 8, &w, o);
}

static void test_commits_cover_only_acks(void **state)
{
    (void)state;
    struct cons_fetcher f;
    struct got g;
    setup(&f, &g, false, CONS_START_LATEST);
    ready(&f, 0, 10);
    ready(&f, 1, 10);
    assert_int_equal(cons_offsets_commit_begin(&f), 0); // nothing acknowledged
    f.parts[0].acked = 4;
    assert_true(cons_offsets_pending_commit(&f));
    assert_int_equal(cons_offsets_commit_begin(&f), 1);
    f.parts[0].acked = 8; // acked more while the commit is out
    kw w;
    kw_init_grow(&w);
    assert_true(cons_offsets_commit_write(&f, "grp", 3, "m-1", NULL, 7, &w));
    kr r, s;
    kr_init(&r, kw_data(&w), kw_len(&w));
    int32_t gen, p;
    int64_t off;
    uint32_t n;
    assert_true(kr_str(&r, &s, NULL) && kr_eq_cstr(&s, "grp"));
    assert_true(kr_i32(&r, &gen) && gen == 3);
    assert_true(kr_str(&r, &s, NULL) && kr_eq_cstr(&s, "m-1"));
    bool null;
    assert_true(kr_str(&r, &s, &null) && null); // no group instance id
    assert_true(kr_array_count(&r, 6, 10, &n, NULL) && n == 1);
    assert_true(kr_str(&r, &s, NULL) && kr_eq_cstr(&s, "t"));
    assert_true(kr_array_count(&r, 10, 10, &n, NULL) && n == 1);
    assert_true(kr_i32(&r, &p) && p == 0);
    assert_true(kr_i64(&r, &off) && off == 4); // what was acked when the commit began
    kw_cleanup(&w);
    struct cons_offsets_outcome o;
    commit_answer(&f, 0, 0, &o);
    assert_int_equal(f.parts[0].committed, 4);
    assert_true(cons_offsets_pending_commit(&f)); // 8 is still to commit
    assert_int_equal(cons_offsets_commit_begin(&f), 1);
    commit_answer(&f, 27, 0, &o);
    assert_int_equal(o.rejoin_code, 27);
    assert_int_equal(f.parts[0].committed, 4);
    assert_int_equal(cons_offsets_commit_begin(&f), 1);
    commit_answer(&f, 16, 0, &o);
    assert_true(o.coordinator_lost);
    assert_int_equal(cons_offsets_commit_begin(&f), 1);
    cons_offsets_commit_on_response(&f, 7, NULL, &o); // lost: commit again later
    assert_true(o.coordinator_lost);
    assert_int_equal(f.parts[0].commit_sent, -1);
    assert_int_equal(cons_offsets_commit_begin(&f), 1);
    commit_answer(&f, 0, 0, &o);
    assert_int_equal(f.parts[0].committed, 8);
    assert_false(cons_offsets_pending_commit(&f));
    cons_fetcher_cleanup(&f);
}

struct undec {
    int calls;
    struct cons_undecodable last;
    char reason[200];
};

static void on_undec(const struct cons_undecodable *u, void *ctx)
{
    struct undec *d = ctx;
    d->calls++;
    d->last = *u;
    snprintf(d->reason, sizeof d->reason, "%s", u->reason);
}

// A batch that decompresses beyond the limit (a decompression bomb) is reported on every
// attempt, retried undecodable_retries times, then skipped: the partition moves past it
// instead of stalling for ever (before: retried every second, silently, without end).
static void test_undecodable_batch_reported_then_skipped(void **state)
{
    (void)state;
    struct cons_fetcher f;
    struct got g;
    memset(&g, 0, sizeof g);
    struct cons_fetcher_config cfg = {.check_crcs = true,
                                      .partition_max_bytes = 1000,
                                      .max_bytes = 100000,
                                      .decompress_limit = 16,
                                      .undecodable_retries = 2};
    cons_fetcher_init(&f, &cfg, deliver, &g);
    struct undec d = {0};
    cons_fetcher_set_undecodable(&f, on_undec, &d);
    cons_fetcher_assign(&f, tps, 2);
    f.parts[0].leader = 1;
    f.parts[1].leader = 1;
    ready(&f, 0, 0);
    kw recs;
    kw_init_grow(&recs);
    add_batch(&recs, 0, 2, KP_CODEC_NONE, -1, false, false); // 0-1: fine
    add_batch(&recs, 2, 3, KP_CODEC_ZSTD, -1, false, false); // 2-4: more than 16 bytes inflated
    add_batch(&recs, 5, 1, KP_CODEC_NONE, -1, false, false); // 5: behind it
    struct fpart p = {
        .idx = 0, .hw = 6, .recs = kw_data(&recs), .recs_len = kw_len(&recs), .num_aborted = -1};
    struct cons_fetch_outcome o;
    uint64_t now = 0;
    for (int attempt = 1; attempt <= 3; attempt++) {
        assert_int_equal(cons_fetcher_begin_fetch(&f, 1, now), 1);
        fetch_answer(&f, &p, 1, now, &o);
        assert_int_equal(d.calls, attempt);
        assert_int_equal(d.last.first_offset, 2);
        assert_int_equal(d.last.last_offset, 4);
        assert_int_equal(d.last.attempts, (uint32_t)attempt);
        assert_true(d.last.too_large);
        assert_string_equal(d.reason, "it decompresses to more than 16 bytes (zstd data)");
        assert_non_null(strstr(f.note, "the record batch at offsets 2-4 cannot be decoded"));
        if (attempt < 3) {
            assert_false(d.last.skipped);
            assert_int_equal(f.parts[0].position, 2); // the records before it were delivered
            assert_true(f.parts[0].retry_at > now);   // and it is fetched again after a back-off
        } else {
            assert_true(d.last.skipped);
            assert_int_equal(f.parts[0].position, 5);
        }
        now = f.parts[0].retry_at + 1;
    }
    assert_int_equal(g.n, 2); // offsets 0 and 1, once
    assert_int_equal(g.offsets[1], 1);
    // After the skip the record behind the bomb arrives.
    assert_int_equal(cons_fetcher_begin_fetch(&f, 1, now), 1);
    fetch_answer(&f, &p, 1, now, &o);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.offsets[2], 5);
    assert_int_equal(f.parts[0].position, 6);
    kw_cleanup(&recs);
    cons_fetcher_cleanup(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skips_records_below_the_fetch_offset),
        cmocka_unit_test(test_record_array_shrinks_back),
        cmocka_unit_test(test_request_max_bytes_and_rotation),
        cmocka_unit_test(test_partial_batch_at_the_end),
        cmocka_unit_test(test_read_committed_filters_aborted_and_control),
        cmocka_unit_test(test_partition_errors),
        cmocka_unit_test(test_paused_and_stopped_partitions),
        cmocka_unit_test(test_offset_fetch_then_starting_position),
        cmocka_unit_test(test_start_policies_ask_for_the_right_offset),
        cmocka_unit_test(test_commits_cover_only_acks),
        cmocka_unit_test(test_undecodable_batch_reported_then_skipped),
    };
    return cmocka_run_group_tests_name("cons_fetcher", tests, NULL, NULL);
}
