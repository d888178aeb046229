// test_broker_kdf.c: SCRAM key derivations off the event loop (net/kdf.h): the loop keeps turning
// while a derivation at the iteration cap runs (a timer ticks throughout), the result equals the
// derivation done in place, and a cancelled derivation never calls back and is freed by its
// thread (LeakSanitizer checks).
#include "broker/kdf.h"
#include "net/reactor.h"
#include "sasl/scram.h"
#include "tests/lib/unit.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#define RFC7677_NONCE "rOprNGfwEbeRWgbNEkqO"
#define SNONCE RFC7677_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"

struct st {
    struct net_reactor *r;
    struct net_timer *tick;
    int ticks, ticks_at_done;
    struct sasl_kdf *k;
    int done;
};

static void on_tick(void *ctx)
{
    struct st *s = ctx;
    s->ticks++;
    net_timer_arm(s->tick, 10);
}

static void on_done(void *ctx, struct sasl_kdf *k)
{
    struct st *s = ctx;
    s->done++;
    s->k = k;
    s->ticks_at_done = s->ticks;
    net_reactor_stop(s->r);
}

// pending_kdf runs a SCRAM exchange with |iter| iterations up to its derivation.
static struct sasl_kdf *pending_kdf(struct scram **out_s, const char *first)
{
    struct sasl_err err = {{0}};
    struct sasl_opts opts = {.defer_kdf = true};
    const uint8_t *out;
    size_t out_len;
    struct scram *s = scram_new(SASL_HASH_SHA512, "user", "pencil", &opts, &err);
    assert_int_equal(scram_start(s, RFC7677_NONCE, &out, &out_len, &err), SCRAM_CONTINUE);
    assert_int_equal(scram_step(s, (const uint8_t *)first, strlen(first), &out, &out_len, &err),
                     SCRAM_NEED_KDF);
    *out_s = s;
    return scram_take_kdf(s);
}

static void test_loop_turns_while_deriving(void **state)
{
    (void)state;
    struct st s = {0};
    s.r = net_reactor_new(NULL);
    s.tick = net_timer_new(s.r, on_tick, &s);
    net_timer_arm(s.tick, 10);
    const char *first = "r=" SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000000";
    struct scram *sc;
    struct sasl_kdf *k = pending_kdf(&sc, first);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_non_null(broker_kdf_start(s.r, k, on_done, &s));
    net_reactor_run_for(s.r, 60000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(s.done, 1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    // A million SHA-512 iterations take a few hundred milliseconds; the 10 ms timer kept firing
    // meanwhile (in place, it could not have fired at all before the result).
    assert_true(took > 0.05);
    assert_true(s.ticks_at_done >= 3);
    // The result is the derivation: the exchange completes from it.
    const uint8_t *out;
    size_t out_len;
    struct sasl_err err = {{0}};
    assert_int_equal(scram_resume(sc, s.k, &out, &out_len, &err), SCRAM_CONTINUE);
    assert_true(out_len > 0);
    scram_free(sc);
    net_timer_free(s.tick);
    net_reactor_free(s.r);
}

static void test_cancel(void **state)
{
    (void)state;
    struct st s = {0};
    s.r = net_reactor_new(NULL);
    const char *first = "r=" SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=200000";
    struct scram *sc;
    struct sasl_kdf *k = pending_kdf(&sc, first);
    struct broker_kdf *h = broker_kdf_start(s.r, k, on_done, &s);
    assert_non_null(h);
    scram_free(sc);       // the connection goes away ...
    broker_kdf_cancel(h); // ... and cancels
    for (int i = 0; i < 1000 && broker_kdf_running() > 0; i++) {
        net_reactor_run_for(s.r, 10);
    }
    assert_int_equal(broker_kdf_running(), 0);
    net_reactor_run_for(s.r, 20);
    assert_int_equal(s.done, 0);
    net_reactor_free(s.r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop_turns_while_deriving),
        cmocka_unit_test(test_cancel),
    };
    return cmocka_run_group_tests_name("broker_kdf", tests, NULL, NULL);
}
