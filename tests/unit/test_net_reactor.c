// test_net_reactor.c: the reactor's timers and signals, and SIGPIPE being ignored.
#include "net/reactor.h"
#include "tests/lib/unit.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

struct counter {
    struct net_reactor *r;
    int n;
    uint64_t at;
    struct net_timer *self; // freed from its own callback when set
};

static void tick(void *ctx)
{
    struct counter *c = ctx;
    c->n++;
    c->at = net_reactor_now_ms(c->r);
    net_reactor_stop(c->r);
    if (c->self != NULL) {
        net_timer_free(c->self);
        c->self = NULL;
    }
}

static void test_timers(void **state)
{
    (void)state;
    struct net_reactor *r = net_reactor_new(NULL);
    assert_non_null(r);
    struct counter a = {.r = r}, b = {.r = r};
    struct net_timer *ta = net_timer_new(r, tick, &a);
    struct net_timer *tb = net_timer_new(r, tick, &b);
    assert_false(net_timer_armed(ta));
    uint64_t t0 = net_reactor_now_ms(r);
    net_timer_arm(ta, 30);
    net_timer_arm(tb, 10);
    assert_true(net_timer_armed(ta));
    net_timer_cancel(tb); // cancelled: never fires
    assert_false(net_timer_armed(tb));
    net_reactor_run_for(r, 2000); // |a| stops the loop
    assert_int_equal(a.n, 1);
    assert_int_equal(b.n, 0);
    assert_true(a.at - t0 >= 29);
    // Re-arming an armed timer moves it; a timer may free itself from its callback.
    net_timer_arm(ta, 500);
    net_timer_arm(ta, 5);
    b.self = tb;
    net_timer_arm(tb, 1);
    net_reactor_run_for(r, 2000); // |b| stops it first
    assert_int_equal(b.n, 1);
    net_reactor_run_for(r, 2000);
    assert_int_equal(a.n, 2);
    assert_int_equal(b.n, 1);
    assert_null(b.self);
    net_timer_free(ta);
    net_timer_free(NULL);
    net_reactor_free(r);
    net_reactor_free(NULL);
}

struct sig_seen {
    struct net_reactor *r;
    int signo;
    int n;
};

static void on_signal(int signo, void *ctx)
{
    struct sig_seen *s = ctx;
    s->signo = signo;
    s->n++;
    net_reactor_stop(s->r);
}

static void test_signal(void **state)
{
    (void)state;
    struct net_reactor *r = net_reactor_new(NULL);
    struct sig_seen s = {.r = r};
    struct net_signal *sig = net_signal_new(r, SIGUSR1, on_signal, &s);
    assert_non_null(sig);
    raise(SIGUSR1);
    net_reactor_run_for(r, 2000);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.signo, SIGUSR1);
    net_signal_free(sig);
    net_signal_free(NULL);
    net_reactor_free(r);
}

static void test_sigpipe_ignored(void **state)
{
    (void)state;
    struct net_reactor *r = net_reactor_new(NULL);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    // Without the reactor's SIG_IGN this write would kill the test process.
    assert_int_equal(write(fds[1], "x", 1), -1);
    close(fds[1]);
    net_reactor_free(r);
}

static void test_bad_nameserver(void **state)
{
    (void)state;
    struct net_reactor_config cfg = {.nameserver = "not an address"};
    assert_null(net_reactor_new(&cfg));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers),
        cmocka_unit_test(test_signal),
        cmocka_unit_test(test_sigpipe_ignored),
        cmocka_unit_test(test_bad_nameserver),
    };
    return cmocka_run_group_tests_name("net_reactor", tests, NULL, NULL);
}
