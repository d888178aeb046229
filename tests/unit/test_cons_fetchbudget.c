// test_cons_fetchbudget.c: the process-wide Fetch budget (consumer/fetchbudget.h): shares that
// halve as the budget fills, the floor, waiting when nothing is free, giving back, the limit's
// default and floor.
#include "consumer/fetchbudget.h"
#include "tests/lib/unit.h"

#define MIB ((size_t)1 << 20)

static void test_shares_halve(void **state)
{
    (void)state;
    cons_fetch_budget_set_limit(8 * MIB);
    // three brokers wanting 4 MiB each: 4, 2 and 1 MiB (each leaves half of what is free)
    size_t a = cons_fetch_budget_take(4 * MIB);
    size_t b = cons_fetch_budget_take(4 * MIB);
    size_t c = cons_fetch_budget_take(4 * MIB);
    assert_int_equal(a, 4 * MIB);
    assert_int_equal(b, 2 * MIB);
    assert_int_equal(c, 1 * MIB);
    struct cons_fetch_budget_stats st;
    cons_fetch_budget_get_stats(&st);
    assert_int_equal(st.used, 7 * MIB);
    assert_int_equal(st.limit, 8 * MIB);
    // a small request gets what it wants while that leaves half of the rest
    assert_int_equal(cons_fetch_budget_take(100 * 1024), 100 * 1024);
    cons_fetch_budget_give(100 * 1024);
    cons_fetch_budget_give(a);
    cons_fetch_budget_give(b);
    cons_fetch_budget_give(c);
    cons_fetch_budget_get_stats(&st);
    assert_int_equal(st.used, 0);
    assert_true(st.peak >= 7 * MIB);
}

static void test_floor_and_wait(void **state)
{
    (void)state;
    cons_fetch_budget_set_limit(256 * 1024);
    // 128 KiB (half), then 64 KiB (half of 128), then the floor takes the last 64 KiB
    size_t a = cons_fetch_budget_take(50 * MIB);
    size_t b = cons_fetch_budget_take(50 * MIB);
    size_t c = cons_fetch_budget_take(50 * MIB);
    assert_int_equal(a, 128 * 1024);
    assert_int_equal(b, CONS_FETCH_BUDGET_MIN);
    assert_int_equal(c, CONS_FETCH_BUDGET_MIN);
    struct cons_fetch_budget_stats st;
    cons_fetch_budget_get_stats(&st);
    uint64_t waits = st.waits;
    // nothing is free: the next request waits, whatever it wants
    assert_int_equal(cons_fetch_budget_take(50 * MIB), 0);
    assert_int_equal(cons_fetch_budget_take(1000), 0);
    cons_fetch_budget_get_stats(&st);
    assert_int_equal(st.waits, waits + 2);
    cons_fetch_budget_give(b);
    assert_int_equal(cons_fetch_budget_take(50 * MIB), CONS_FETCH_BUDGET_MIN);
    cons_fetch_budget_give(CONS_FETCH_BUDGET_MIN);
    cons_fetch_budget_give(a);
    cons_fetch_budget_give(c);
    // giving back more than is granted cannot underflow
    cons_fetch_budget_give(MIB);
    cons_fetch_budget_get_stats(&st);
    assert_int_equal(st.used, 0);
}

static void test_limit_default_and_floor(void **state)
{
    (void)state;
    cons_fetch_budget_set_limit(0);
    assert_int_equal(cons_fetch_budget_limit(), CONS_FETCH_BUDGET_DEFAULT);
    cons_fetch_budget_set_limit(1);
    assert_int_equal(cons_fetch_budget_limit(), CONS_FETCH_BUDGET_MIN);
    // the whole (floor) budget: a request still gets the floor when everything is free
    assert_int_equal(cons_fetch_budget_take(MIB), CONS_FETCH_BUDGET_MIN);
    assert_int_equal(cons_fetch_budget_take(MIB), 0);
    cons_fetch_budget_give(CONS_FETCH_BUDGET_MIN);
    cons_fetch_budget_set_limit(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shares_halve),
        cmocka_unit_test(test_floor_and_wait),
        cmocka_unit_test(test_limit_default_and_floor),
    };
    return cmocka_run_group_tests_name("cons_fetchbudget", tests, NULL, NULL);
}
