// test_net_membudget.c: the process-wide memory budget of broker frames (net/membudget.h):
// reservations within the limit, first-come-first-served waiting (a big frame is not starved by
// small ones arriving after it), grants on release, cancel, and the limit's floor.
#include "net/membudget.h"
#include "tests/lib/unit.h"

#include <string.h>

struct w {
    struct net_membudget_waiter mw;
    int granted;
};

static void on_grant(void *ctx)
{
    ((struct w *)ctx)->granted++;
}

static void init(struct w *x)
{
    memset(x, 0, sizeof *x);
    x->mw.granted = on_grant;
    x->mw.ctx = x;
}

static void test_fifo_and_release(void **state)
{
    (void)state;
    net_membudget_set_limit(1000 * 1000);
    struct w a, b, c;
    init(&a);
    init(&b);
    init(&c);
    assert_true(net_membudget_reserve(&a.mw, 600 * 1000));
    assert_false(net_membudget_reserve(&b.mw, 700 * 1000)); // does not fit: waits
    // c would fit, but b came first: c waits behind it (no starvation of the big frame)
    assert_false(net_membudget_reserve(&c.mw, 100 * 1000));
    struct net_membudget_stats st;
    net_membudget_get_stats(&st);
    assert_int_equal(st.used, 600 * 1000);
    assert_int_equal(st.waiting, 2);
    net_membudget_release(600 * 1000); // b and c both fit now, in order
    assert_int_equal(b.granted, 1);
    assert_int_equal(c.granted, 1);
    net_membudget_get_stats(&st);
    assert_int_equal(st.used, 800 * 1000);
    assert_int_equal(st.waiting, 0);
    assert_true(st.peak >= 800 * 1000);
    net_membudget_release(800 * 1000);
    net_membudget_get_stats(&st);
    assert_int_equal(st.used, 0);
}

static void test_cancel_and_floor(void **state)
{
    (void)state;
    net_membudget_set_limit(1); // raised to the free share
    assert_int_equal(net_membudget_limit(), NET_MEMBUDGET_FREE);
    net_membudget_set_limit(0);
    assert_int_equal(net_membudget_limit(), NET_MEMBUDGET_DEFAULT);
    net_membudget_set_limit(100);
    struct w a, b;
    init(&a);
    init(&b);
    assert_true(net_membudget_reserve(&a.mw, NET_MEMBUDGET_FREE));
    assert_false(net_membudget_reserve(&b.mw, 10));
    net_membudget_cancel(&b.mw); // gone away: never granted
    net_membudget_release(NET_MEMBUDGET_FREE);
    assert_int_equal(b.granted, 0);
    struct net_membudget_stats st;
    net_membudget_get_stats(&st);
    assert_int_equal(st.used, 0);
    assert_int_equal(st.waiting, 0);
    net_membudget_set_limit(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_release),
        cmocka_unit_test(test_cancel_and_floor),
    };
    return cmocka_run_group_tests_name("net_membudget", tests, NULL, NULL);
}
