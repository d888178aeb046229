// test_cons_fetch_limits.c: the fetcher's per-partition limits (consumer/fetcher.h,
// consumer/fetchreq.c), sans-I/O: Fetch v11 answers built byte by byte around record batches
// from proto/batch_builder.h drive a partition's limit up (a batch bigger than it) and back
// down (answers that fit in half of it); the Fetch v11 requests written are read back field by
// field to check what each partition asks for under a grant and in which order they go.
#include "consumer/fetcher.h"
#include "proto/batch_builder.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <string.h>

#define KIB 1024

// start: a fetcher over |n| partitions of "t" led by broker 1, every position known.
static void start(struct cons_fetcher *f, int32_t part_max, int32_t max, size_t n)
{
    struct cons_fetcher_config cfg = {
        .read_uncommitted = true, .partition_max_bytes = part_max, .max_bytes = max};
    cons_fetcher_init(f, &cfg, NULL, NULL);
    struct cons_tp *tps = calloc(n, sizeof *tps);
    for (size_t i = 0; i < n; i++) {
        tps[i] = (struct cons_tp){"t", (int32_t)i};
    }
    cons_fetcher_assign(f, tps, n);
    free(tps);
    for (size_t i = 0; i < n; i++) {
        f->parts[i].leader = 1;
        f->parts[i].pos_state = CONS_POS_READY;
        f->parts[i].position = 0;
    }
}

// batch appends one record batch at |base| of |n| records whose values are |vlen| bytes;
// returns the batch's size on the wire.
static size_t batch(kw *w, int64_t base, int n, size_t vlen)
{
    static uint8_t v[64 * KIB];
    memset(v, 'x', sizeof v);
    struct kp_batch_params p;
    kp_batch_params_default(&p);
    p.base_offset = base;
    struct kp_batch_builder bb;
    kp_batch_builder_init(&bb, &p);
    for (int i = 0; i < n; i++) {
        struct kp_record_in r = {.timestamp = 1, .value = v, .value_len = vlen};
        assert_true(kp_batch_builder_add(&bb, &r));
    }
    size_t before = kw_len(w);
    assert_int_equal(kp_batch_builder_finish(&bb, w), KP_OK);
    kp_batch_builder_cleanup(&bb);
    return kw_len(w) - before;
}

// struct ans: one partition of a Fetch answer: |len| bytes of |recs| (cut anywhere), the high
// watermark |hw|.
struct ans {
    int32_t idx;
    int64_t hw;
    const uint8_t *recs;
    size_t len;
};

// reply answers broker 1's Fetch (v11: throttle, error, session, then per topic and partition
// index, error, high watermark, last stable, log start, aborted (null), preferred replica,
// records).
static void reply(struct cons_fetcher *f, const struct ans *a, size_t n)
{
    assert_true(cons_fetcher_begin_fetch(f, 1, 0) > 0);
    kw w;
    kw_init_grow(&w);
    kw_i32(&w, 0);
    kw_i16(&w, 0);
    kw_i32(&w, 0);
    kw_i32(&w, 1);
    kw_str(&w, "t");
    kw_i32(&w, (int32_t)n);
    for (size_t i = 0; i < n; i++) {
        kw_i32(&w, a[i].idx);
        kw_i16(&w, 0);
        kw_i64(&w, a[i].hw);
        kw_i64(&w, a[i].hw);
        kw_i64(&w, 0);
        kw_i32(&w, -1);
        kw_i32(&w, -1);
        kw_bytes(&w, a[i].len ? a[i].recs : (const uint8_t *)"", a[i].len);
    }
    size_t len;
    assert_true(kw_finish(&w, &len));
    kr body;
    kr_init(&body, kw_data(&w), len);
    struct cons_fetch_outcome out;
    cons_fetcher_on_response(f, 1, 0, 11, &body, &out);
    assert_false(out.fatal);
    kw_cleanup(&w);
}

// struct ask: one partition of a Fetch request as written.
struct ask {
    int32_t partition, max_bytes;
};

// request marks broker 1's partitions, writes its Fetch v11 under |grant| and reads back the
// request's MaxBytes and each partition's (in request order); unmarks them; returns how many.
static size_t request(struct cons_fetcher *f, int32_t grant, int32_t *out_max, struct ask *out,
                      size_t cap)
{
    assert_true(cons_fetcher_begin_fetch(f, 1, 0) > 0);
    kw w;
    kw_init_grow(&w);
    assert_true(cons_fetcher_write_request_max(f, 1, 11, grant, &w));
    kr r;
    kr_init(&r, kw_data(&w), kw_len(&w));
    int32_t i32, nt, np;
    int8_t i8;
    int64_t i64;
    kr name;
    bool null;
    assert_true(kr_i32(&r, &i32) && kr_i32(&r, &i32) && kr_i32(&r, &i32) && kr_i32(&r, out_max));
    assert_true(kr_i8(&r, &i8) && kr_i32(&r, &i32) && kr_i32(&r, &i32) && kr_i32(&r, &nt));
    assert_int_equal(nt, 1);
    assert_true(kr_str(&r, &name, &null) && kr_eq_cstr(&name, "t") && kr_i32(&r, &np));
    assert_true(np >= 0 && (size_t)np <= cap);
    for (int32_t k = 0; k < np; k++) {
        assert_true(kr_i32(&r, &out[k].partition) && kr_i32(&r, &i32) && kr_i64(&r, &i64) &&
                    kr_i64(&r, &i64) && kr_i32(&r, &out[k].max_bytes));
    }
    kw_cleanup(&w);
    cons_fetcher_cancel_fetch(f, 1);
    return (size_t)np;
}

static int32_t ask_of(struct cons_fetcher *f, int32_t grant, int32_t partition)
{
    struct ask a[8];
    int32_t max;
    size_t n = request(f, grant, &max, a, 8);
    for (size_t i = 0; i < n; i++) {
        if (a[i].partition == partition) {
            return a[i].max_bytes;
        }
    }
    fail_msg("partition %d is not in the request", (int)partition);
    return -1;
}

// A partition whose batch is bigger than its limit gets only part of it: the limit doubles until
// the batch comes whole, the raised limit is what it asks for, and once answers fit in half of
// it again (three in a row) it halves, step by step, back to the configured limit and no lower.
static void test_limit_rises_for_a_big_batch_then_decays(void **state)
{
    (void)state;
    struct cons_fetcher f;
    start(&f, 1000, 100000, 1);
    struct cons_part *p = &f.parts[0];
    kw big;
    kw_init_grow(&big);
    size_t big_len = batch(&big, 0, 30, 100); // 30 records of 100 bytes: about 3.5 KB
    assert_true(big_len > 2000 && big_len < 4000);
    struct ans a = {0, 1000, kw_data(&big), 1000};
    reply(&f, &a, 1); // 1,000 bytes of it: no whole batch
    assert_int_equal(p->max_bytes, 2000);
    assert_int_equal(p->position, 0);
    a.len = 2000;
    reply(&f, &a, 1);
    assert_int_equal(p->max_bytes, 4000);
    assert_non_null(strstr(f.note, "raised it to 4000 bytes"));
    assert_int_equal(ask_of(&f, 100000, 0), 4000);
    a.len = big_len; // whole at last, and more than half of 4000: the limit is still needed
    reply(&f, &a, 1);
    assert_int_equal(p->position, 30);
    assert_int_equal(p->max_bytes, 4000);
    assert_int_equal(p->fit_streak, 0);

    // Small batches (under 2000 bytes): the third in a row halves the limit.
    int64_t pos = 30;
    int32_t want[] = {4000, 4000, 2000, 2000, 2000, 1000, 1000, 1000, 1000};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        kw small;
        kw_init_grow(&small);
        batch(&small, pos, 3, 100);
        pos += 3;
        struct ans s = {0, pos + 1000, kw_data(&small), kw_len(&small)};
        reply(&f, &s, 1);
        assert_int_equal(p->position, pos);
        assert_int_equal(p->max_bytes, want[i]);
        kw_cleanup(&small);
    }
    // Back at the configured limit, the request asks for it again (not the raised one).
    assert_int_equal(ask_of(&f, 100000, 0), 1000);
    kw_cleanup(&big);
    cons_fetcher_cleanup(&f);
}

// The count of answers that fit restarts on an answer that uses the raised limit; an empty
// answer counts when the partition is caught up (nothing left to need it) and is ignored while
// it is behind (the broker's response filled up before reaching it).
static void test_decay_counts_only_answers_that_say_so(void **state)
{
    (void)state;
    struct cons_fetcher f;
    start(&f, 1000, 100000, 1);
    struct cons_part *p = &f.parts[0];
    p->max_bytes = 8000; // raised earlier
    kw b;
    kw_init_grow(&b);
    size_t small = batch(&b, 0, 3, 100);
    size_t large = batch(&b, 3, 40, 100); // above 4000 bytes: half of 8000 is not enough
    assert_true(large > 4000 && large <= 8000);
    const uint8_t *d = kw_data(&b);
    struct ans s = {0, 100, d, small};
    reply(&f, &s, 1);
    reply(&f, &s, 1); // the same batch again (a repeat is harmless: below the position)
    assert_int_equal(p->fit_streak, 2);
    struct ans l = {0, 100, d + small, large};
    reply(&f, &l, 1);
    assert_int_equal(p->fit_streak, 0);
    assert_int_equal(p->max_bytes, 8000);
    // Empty while behind (high watermark 100, position 43): no evidence either way.
    struct ans e = {0, 100, NULL, 0};
    for (int i = 0; i < 5; i++) {
        reply(&f, &e, 1);
    }
    assert_int_equal(p->fit_streak, 0);
    assert_int_equal(p->max_bytes, 8000);
    assert_true(p->busy);
    // Empty and caught up: three of them halve the limit, and the partition is idle.
    e.hw = 43;
    for (int i = 0; i < 3; i++) {
        reply(&f, &e, 1);
    }
    assert_int_equal(p->max_bytes, 4000);
    assert_false(p->busy);
    kw_cleanup(&b);
    cons_fetcher_cleanup(&f);
}

// A hostile broker cannot grow what kesm asks for: partial batches without end raise a limit
// only up to the request limit (cfg.max_bytes), answers far larger than asked raise nothing,
// and what a Fetch asks of the budget never passes cfg.max_bytes, with 1,000 partitions.
static void test_hostile_answers_keep_limits_bounded(void **state)
{
    (void)state;
    struct cons_fetcher f;
    start(&f, 1000, 100000, 4);
    kw b;
    kw_init_grow(&b);
    size_t one = batch(&b, 0, 30, 100);
    struct ans a = {0, 1000, kw_data(&b), one - 1}; // always one byte short
    for (int i = 0; i < 40; i++) {
        reply(&f, &a, 1);
        assert_true(f.parts[0].max_bytes <= 100000);
    }
    assert_int_equal(f.parts[0].max_bytes, 100000);
    assert_int_equal(f.parts[0].position, 0);
    assert_true(cons_fetcher_fetch_want(&f, 1) <= 100000);
    // 200 whole batches (about 700 KB) where 1000 bytes were asked: delivered, limit unchanged.
    kw many;
    kw_init_grow(&many);
    for (int i = 0; i < 200; i++) {
        batch(&many, i * 30, 30, 100);
    }
    struct ans m = {1, 6000, kw_data(&many), kw_len(&many)};
    reply(&f, &m, 1);
    assert_int_equal(f.parts[1].position, 6000);
    assert_int_equal(f.parts[1].max_bytes, 1000);
    assert_int_equal(ask_of(&f, 100000, 1), 1000);
    kw_cleanup(&many);
    kw_cleanup(&b);
    cons_fetcher_cleanup(&f);

    // 1,000 busy partitions of 1 MiB each want 1,000 MiB: the request wants cfg.max_bytes.
    start(&f, 1 << 20, 4 << 20, 1000);
    assert_int_equal(cons_fetcher_begin_fetch(&f, 1, 0), 1000);
    assert_int_equal(cons_fetcher_fetch_want(&f, 1), 4 << 20);
    cons_fetcher_cancel_fetch(&f, 1);
    for (size_t i = 0; i < 1000; i++) {
        f.parts[i].busy = false; // all idle: the floor each, still capped
    }
    assert_int_equal(cons_fetcher_begin_fetch(&f, 1, 0), 1000);
    assert_int_equal(cons_fetcher_fetch_want(&f, 1), 4 << 20);
    cons_fetcher_cancel_fetch(&f, 1);
    cons_fetcher_cleanup(&f);
}

// Under a grant G busy partitions split what the idle (the floor each) and raised ones (their
// limit) leave, between the floor and their own limit; the request wants only what its
// partitions would use.
static void test_grant_shared_between_partitions(void **state)
{
    (void)state;
    struct cons_fetcher f;
    start(&f, 1 << 20, 4 << 20, 4);
    struct ask a[8];
    int32_t max;
    assert_int_equal(cons_fetcher_begin_fetch(&f, 1, 0), 4);
    assert_int_equal(cons_fetcher_fetch_want(&f, 1), 4 << 20);
    cons_fetcher_cancel_fetch(&f, 1);
    assert_int_equal(request(&f, 1 << 20, &max, a, 8), 4);
    assert_int_equal(max, 1 << 20);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(a[i].max_bytes, 256 * KIB); // 1 MiB / 4
    }
    // Partitions 2 and 3 answer empty and caught up: idle.
    struct ans idle[] = {{0, 5, NULL, 0}, {1, 5, NULL, 0}, {2, 0, NULL, 0}, {3, 0, NULL, 0}};
    reply(&f, idle, 4);
    assert_true(f.parts[0].busy && f.parts[1].busy);
    assert_false(f.parts[2].busy || f.parts[3].busy);
    assert_int_equal(cons_fetcher_begin_fetch(&f, 1, 0), 4);
    assert_int_equal(cons_fetcher_fetch_want(&f, 1), (2 << 20) + 2 * 64 * KIB);
    cons_fetcher_cancel_fetch(&f, 1);
    assert_int_equal(ask_of(&f, 1 << 20, 0), 448 * KIB); // (1 MiB - 2 x 64 KiB) / 2
    assert_int_equal(ask_of(&f, 1 << 20, 2), 64 * KIB);
    assert_int_equal(ask_of(&f, 64 * KIB, 0), 64 * KIB); // the smallest grant: the floor
    assert_int_equal(ask_of(&f, 4 << 20, 1), 1 << 20);   // never above the partition's limit
    // A partition raised for a 2 MiB batch (limit and batch hint) asks for it whatever the share.
    f.parts[3].max_bytes = 2 << 20;
    f.parts[3].hint = 2 << 20;
    assert_int_equal(ask_of(&f, 1 << 20, 3), 2 << 20);
    assert_int_equal(ask_of(&f, 1 << 20, 0), 64 * KIB); // nothing left: the floor
    cons_fetcher_cleanup(&f);
    // A partition limit above the request limit is the request limit (KESM_FETCH_MAX_KB=64).
    start(&f, 1 << 20, 64 * KIB, 1);
    assert_int_equal(f.cfg.partition_max_bytes, 64 * KIB);
    assert_int_equal(f.parts[0].max_bytes, 64 * KIB);
    assert_int_equal(ask_of(&f, 64 * KIB, 0), 64 * KIB);
    cons_fetcher_cleanup(&f);
    // A limit configured below the floor is never exceeded.
    start(&f, 1000, 100000, 2);
    f.parts[1].busy = false;
    assert_int_equal(ask_of(&f, 100000, 0), 1000);
    assert_int_equal(ask_of(&f, 100000, 1), 1000);
    cons_fetcher_cleanup(&f);
}

// A partition whose share (256 KiB of a 1 MiB grant over 4) is smaller than its batch (about
// 420 KB) gets only part of it: it asks for twice its share next time instead of raising its
// limit; once the batch came whole it asks for at least that much, and the hint halves with
// each answer after it, down to the floor.
static void test_squeezed_partition_asks_for_its_batch(void **state)
{
    (void)state;
    struct cons_fetcher f;
    start(&f, 1 << 20, 4 << 20, 4);
    kw b;
    kw_init_grow(&b);
    size_t len = batch(&b, 0, 7, 60000);
    assert_true(len > 400000 && len < 512 * KIB);
    assert_int_equal(ask_of(&f, 1 << 20, 0), 256 * KIB);
    assert_int_equal(cons_fetcher_begin_fetch(&f, 1, 0), 4);
    kw w;
    kw_init_grow(&w);
    assert_true(cons_fetcher_write_request_max(&f, 1, 11, 1 << 20, &w));
    kw_cleanup(&w);
    cons_fetcher_cancel_fetch(&f, 1);
    struct ans cut = {0, 7, kw_data(&b), 256 * KIB};
    reply(&f, &cut, 1);
    assert_int_equal(f.parts[0].max_bytes, 1 << 20); // not raised: it asked for less
    assert_int_equal(f.parts[0].hint, 512 * KIB);
    assert_int_equal(f.note[0], 0);
    assert_int_equal(ask_of(&f, 1 << 20, 0), 512 * KIB);
    assert_int_equal(ask_of(&f, 1 << 20, 1), 256 * KIB);
    struct ans whole = {0, 7, kw_data(&b), len};
    reply(&f, &whole, 1);
    assert_int_equal(f.parts[0].position, 7);
    assert_int_equal(f.parts[0].hint, (int32_t)len);
    assert_true(f.parts[0].busy); // it had records
    assert_int_equal(ask_of(&f, 1 << 20, 0), (int32_t)len);
    struct ans empty = {0, 7, NULL, 0}; // caught up: idle, it asks for its halved hint
    reply(&f, &empty, 1);
    assert_int_equal(ask_of(&f, 1 << 20, 0), (int32_t)len / 2);
    for (int i = 0; i < 3; i++) {
        reply(&f, &empty, 1);
    }
    assert_int_equal(ask_of(&f, 1 << 20, 0), 64 * KIB);
    kw_cleanup(&b);
    cons_fetcher_cleanup(&f);
}

// Partitions that brought records go behind those that did not: when the broker stops at the
// request's MaxBytes after the first two partitions, the next request starts with the ones
// served least recently (never served first), so every partition is reached in turn.
static void test_request_order_serves_the_others_next(void **state)
{
    (void)state;
    struct cons_fetcher f;
    start(&f, 1 << 20, 4 << 20, 5);
    kw b;
    kw_init_grow(&b);
    batch(&b, 0, 2, 10);
    int last[5] = {0, 0, 0, 0, 0}; // the round that last served each partition (0: none)
    for (int round = 1; round <= 6; round++) {
        struct ask a[8];
        int32_t max;
        assert_int_equal(request(&f, 1 << 20, &max, a, 8), 5);
        for (int i = 1; i < 5; i++) {
            assert_true(last[a[i - 1].partition] <= last[a[i].partition]);
        }
        struct ans r[5];
        for (int i = 0; i < 5; i++) {
            bool got = i < 2; // the broker filled the answer with the first two
            r[i] =
                (struct ans){a[i].partition, 100, got ? kw_data(&b) : NULL, got ? kw_len(&b) : 0};
            if (got) {
                last[a[i].partition] = round;
            }
        }
        reply(&f, r, 5);
    }
    for (int i = 0; i < 5; i++) {
        assert_true(last[i] > 0); // 12 slots over 6 rounds reached all 5 partitions
    }
    kw_cleanup(&b);
    cons_fetcher_cleanup(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_rises_for_a_big_batch_then_decays),
        cmocka_unit_test(test_decay_counts_only_answers_that_say_so),
        cmocka_unit_test(test_hostile_answers_keep_limits_bounded),
        cmocka_unit_test(test_grant_shared_between_partitions),
        cmocka_unit_test(test_squeezed_partition_asks_for_its_batch),
        cmocka_unit_test(test_request_order_serves_the_others_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
