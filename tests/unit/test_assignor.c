// test_assignor.c: range and roundrobin against the documented Java/librdkafka results.
#include "consumer/assignor.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <string.h>

// render writes a member's share as "t0:0,t0:1,t1:0" for easy comparison.
static void render(const struct cons_assignment *a, char *buf, size_t cap)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < a->num_tps && off < cap; i++) {
        int n = snprintf(buf + off, cap - off, "%s%s:%d", i ? "," : "", a->tps[i].topic,
                         a->tps[i].partition);
        off += (size_t)n;
    }
}

static void check(enum cons_assignor kind, const struct cons_member_sub *m, size_t n,
                  const struct cons_topic_meta *t, size_t nt, const char *const *expect)
{
    struct cons_assignment out[8];
    char buf[512];
    assert_int_equal(cons_assign(kind, m, n, t, nt, out), 0);
    for (size_t i = 0; i < n; i++) {
        render(&out[i], buf, sizeof buf);
        assert_string_equal(buf, expect[i]);
        cons_assignment_cleanup(&out[i]);
    }
}

static const char *const t01[] = {"t0", "t1"};
static const struct cons_topic_meta three_each[] = {{"t0", 3}, {"t1", 3}};

static void test_range_two_members(void **state)
{
    (void)state;
    // Input order C1, C0: output follows input order, assignment follows member-id order.
    struct cons_member_sub m[] = {{"C1", NULL, t01, 2}, {"C0", NULL, t01, 2}};
    const char *const expect[] = {"t0:2,t1:2", "t0:0,t0:1,t1:0,t1:1"};
    check(CONS_ASSIGNOR_RANGE, m, 2, three_each, 2, expect);
}

static void test_roundrobin_two_members(void **state)
{
    (void)state;
    struct cons_member_sub m[] = {{"C0", NULL, t01, 2}, {"C1", NULL, t01, 2}};
    const char *const expect[] = {"t0:0,t0:2,t1:1", "t0:1,t1:0,t1:2"};
    check(CONS_ASSIGNOR_ROUNDROBIN, m, 2, three_each, 2, expect);
}

static void test_roundrobin_uneven_subscriptions(void **state)
{
    (void)state;
    // The Java RoundRobinAssignor documentation example.
    static const char *const s0[] = {"t0"};
    static const char *const s1[] = {"t0", "t1"};
    static const char *const s2[] = {"t0", "t1", "t2"};
    struct cons_member_sub m[] = {{"C0", NULL, s0, 1}, {"C1", NULL, s1, 2}, {"C2", NULL, s2, 3}};
    // Topics given out of order: roundrobin sorts them.
    struct cons_topic_meta t[] = {{"t2", 3}, {"t0", 1}, {"t1", 2}};
    const char *const expect[] = {"t0:0", "t1:0", "t1:1,t2:0,t2:1,t2:2"};
    check(CONS_ASSIGNOR_ROUNDROBIN, m, 3, t, 3, expect);
}

static void test_range_remainder_and_missing_topic(void **state)
{
    (void)state;
    static const char *const s[] = {"orders", "nosuch"};
    struct cons_member_sub m[] = {{"b", NULL, s, 2}, {"a", NULL, s, 2}, {"c", NULL, s, 2}};
    struct cons_topic_meta t[] = {{"orders", 7}, {"empty", 0}};
    // 7 over 3: a gets 3, b 2, c 2.
    const char *const expect[] = {"orders:3,orders:4", "orders:0,orders:1,orders:2",
                                  "orders:5,orders:6"};
    check(CONS_ASSIGNOR_RANGE, m, 3, t, 2, expect);
}

static void test_static_members_first(void **state)
{
    (void)state;
    static const char *const s[] = {"t"};
    // "z" is static and sorts first although its member id is largest.
    struct cons_member_sub m[] = {{"a", NULL, s, 1}, {"z", "inst-1", s, 1}};
    struct cons_topic_meta t[] = {{"t", 3}};
    const char *const expect[] = {"t:2", "t:0,t:1"};
    check(CONS_ASSIGNOR_RANGE, m, 2, t, 1, expect);
}

static void test_more_members_than_partitions(void **state)
{
    (void)state;
    static const char *const s[] = {"t"};
    struct cons_member_sub m[] = {{"m1", NULL, s, 1}, {"m2", NULL, s, 1}, {"m3", NULL, s, 1}};
    struct cons_topic_meta t[] = {{"t", 2}};
    const char *const expect_range[] = {"t:0", "t:1", ""};
    check(CONS_ASSIGNOR_RANGE, m, 3, t, 1, expect_range);
    check(CONS_ASSIGNOR_ROUNDROBIN, m, 3, t, 1, expect_range);
}

static void test_duplicate_member_refused(void **state)
{
    (void)state;
    static const char *const s[] = {"t"};
    struct cons_member_sub m[] = {{"m1", NULL, s, 1}, {"m1", NULL, s, 1}};
    struct cons_topic_meta t[] = {{"t", 2}};
    struct cons_assignment out[2];
    assert_int_equal(cons_assign(CONS_ASSIGNOR_RANGE, m, 2, t, 1, out), -1);
    assert_int_equal(out[0].num_tps, 0);
    assert_int_equal(out[1].num_tps, 0);
}

static void test_names(void **state)
{
    (void)state;
    enum cons_assignor a;
    assert_int_equal(cons_assignor_from_name("roundrobin", &a), 0);
    assert_int_equal(a, CONS_ASSIGNOR_ROUNDROBIN);
    assert_string_equal(cons_assignor_name(a), "roundrobin");
    assert_int_equal(cons_assignor_from_name("cooperative-sticky", &a), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_two_members),
        cmocka_unit_test(test_roundrobin_two_members),
        cmocka_unit_test(test_roundrobin_uneven_subscriptions),
        cmocka_unit_test(test_range_remainder_and_missing_topic),
        cmocka_unit_test(test_static_members_first),
        cmocka_unit_test(test_more_members_than_partitions),
        cmocka_unit_test(test_duplicate_member_refused),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests_name("assignor", tests, NULL, NULL);
}
