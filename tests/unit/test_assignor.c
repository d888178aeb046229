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
    struct cons_member_sub m[] = {{"C1", NULL, t01, 2, NULL, 0, -1},
                                  {"C0", NULL, t01, 2, NULL, 0, -1}};
    const char *const expect[] = {"t0:2,t1:2", "t0:0,t0:1,t1:0,t1:1"};
    check(CONS_ASSIGNOR_RANGE, m, 2, three_each, 2, expect);
}

static void test_roundrobin_two_members(void **state)
{
    (void)state;
    struct cons_member_sub m[] = {{"C0", NULL, t01, 2, NULL, 0, -1},
                                  {"C1", NULL, t01, 2, NULL, 0, -1}};
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
    struct cons_member_sub m[] = {{"C0", NULL, s0, 1, NULL, 0, -1},
                                  {"C1", NULL, s1, 2, NULL, 0, -1},
                                  {"C2", NULL, s2, 3, NULL, 0, -1}};
    // Topics given out of order: roundrobin sorts them.
    struct cons_topic_meta t[] = {{"t2", 3}, {"t0", 1}, {"t1", 2}};
    const char *const expect[] = {"t0:0", "t1:0", "t1:1,t2:0,t2:1,t2:2"};
    check(CONS_ASSIGNOR_ROUNDROBIN, m, 3, t, 3, expect);
}

static void test_range_remainder_and_missing_topic(void **state)
{
    (void)state;
    static const char *const s[] = {"orders", "nosuch"};
    struct cons_member_sub m[] = {{"b", NULL, s, 2, NULL, 0, -1},
                                  {"a", NULL, s, 2, NULL, 0, -1},
                                  {"c", NULL, s, 2, NULL, 0, -1}};
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
    struct cons_member_sub m[] = {{"a", NULL, s, 1, NULL, 0, -1},
                                  {"z", "inst-1", s, 1, NULL, 0, -1}};
    struct cons_topic_meta t[] = {{"t", 3}};
    const char *const expect[] = {"t:2", "t:0,t:1"};
    check(CONS_ASSIGNOR_RANGE, m, 2, t, 1, expect);
}

static void test_more_members_than_partitions(void **state)
{
    (void)state;
    static const char *const s[] = {"t"};
    struct cons_member_sub m[] = {{"m1", NULL, s, 1, NULL, 0, -1},
                                  {"m2", NULL, s, 1, NULL, 0, -1},
                                  {"m3", NULL, s, 1, NULL, 0, -1}};
    struct cons_topic_meta t[] = {{"t", 2}};
    const char *const expect_range[] = {"t:0", "t:1", ""};
    check(CONS_ASSIGNOR_RANGE, m, 3, t, 1, expect_range);
    check(CONS_ASSIGNOR_ROUNDROBIN, m, 3, t, 1, expect_range);
}

static void test_duplicate_member_refused(void **state)
{
    (void)state;
    static const char *const s[] = {"t"};
    struct cons_member_sub m[] = {{"m1", NULL, s, 1, NULL, 0, -1}, {"m1", NULL, s, 1, NULL, 0, -1}};
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
    assert_int_equal(cons_assignor_from_name("cooperative-sticky", &a), 0);
    assert_int_equal(a, CONS_ASSIGNOR_COOPERATIVE_STICKY);
    assert_true(cons_assignor_is_cooperative(a));
    assert_false(cons_assignor_is_cooperative(CONS_ASSIGNOR_RANGE));
    assert_int_equal(cons_assignor_from_name("sticky", &a), -1);
}

static void test_list_parse(void **state)
{
    (void)state;
    enum cons_assignor a[CONS_MAX_ASSIGNORS];
    char err[160];
    assert_int_equal(cons_assignors_parse(" range , roundrobin", a, err, sizeof err), 2);
    assert_int_equal(a[0], CONS_ASSIGNOR_RANGE);
    assert_int_equal(a[1], CONS_ASSIGNOR_ROUNDROBIN);
    assert_int_equal(cons_assignors_parse("cooperative-sticky", a, err, sizeof err), 1);
    assert_int_equal(a[0], CONS_ASSIGNOR_COOPERATIVE_STICKY);
    assert_int_equal(cons_assignors_parse("range,cooperative-sticky", a, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot be mixed"));
    assert_int_equal(cons_assignors_parse("range,range", a, err, sizeof err), -1);
    assert_non_null(strstr(err, "twice"));
    assert_int_equal(cons_assignors_parse("range,,roundrobin", a, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(cons_assignors_parse("", a, err, sizeof err), -1);
    assert_int_equal(cons_assignors_parse("sticky", a, err, sizeof err), -1);
    assert_non_null(strstr(err, "'sticky'"));
    assert_int_equal(cons_assignors_parse("range,roundrobin,range,x", a, err, sizeof err), -1);
}

static const char *const t0[] = {"t0"};
static const struct cons_topic_meta six[] = {{"t0", 6}};

// A fresh group: balanced, nothing withheld.
static void test_sticky_fresh(void **state)
{
    (void)state;
    struct cons_member_sub m[] = {{"B", NULL, t0, 1, NULL, 0, -1}, {"A", NULL, t0, 1, NULL, 0, -1}};
    const char *const expect[] = {"t0:1,t0:3,t0:5", "t0:0,t0:2,t0:4"};
    check(CONS_ASSIGNOR_COOPERATIVE_STICKY, m, 2, six, 1, expect);
}

// KIP-429: a member joins a group whose only member owns everything. The owner keeps half; the
// other half is withheld from the newcomer (the owner must revoke it first).
static void test_sticky_join_withholds_moving(void **state)
{
    (void)state;
    static const struct cons_tp owned[] = {{"t0", 0}, {"t0", 1}, {"t0", 2},
                                           {"t0", 3}, {"t0", 4}, {"t0", 5}};
    struct cons_member_sub m[] = {{"A", NULL, t0, 1, owned, 6, 3}, {"B", NULL, t0, 1, NULL, 0, -1}};
    const char *const expect[] = {"t0:0,t0:1,t0:2", ""};
    check(CONS_ASSIGNOR_COOPERATIVE_STICKY, m, 2, six, 1, expect);
    // The second rebalance: A revoked 3-5, which are free now and go to B.
    m[0].num_owned = 3;
    const char *const expect2[] = {"t0:0,t0:1,t0:2", "t0:3,t0:4,t0:5"};
    check(CONS_ASSIGNOR_COOPERATIVE_STICKY, m, 2, six, 1, expect2);
}

// A member leaves: the survivors keep theirs and share the orphans; a partition two members
// claim goes to the higher generation; claims of unknown partitions are ignored.
static void test_sticky_leave_and_conflicts(void **state)
{
    (void)state;
    static const struct cons_tp a_owned[] = {{"t0", 0}, {"t0", 1}, {"t0", 9}, {"zz", 0}};
    static const struct cons_tp b_owned[] = {{"t0", 1}, {"t0", 2}};
    struct cons_member_sub m[] = {{"A", NULL, t0, 1, a_owned, 4, 5},
                                  {"B", NULL, t0, 1, b_owned, 2, 4}};
    // A keeps 0 and 1 (generation 5 beats 4 for partition 1), B keeps 2; the orphans 3-5 go to
    // the least loaded: B gets 3 and 5, A gets 4. Partition 1 stays A's, so B must revoke it.
    const char *const expect[] = {"t0:0,t0:1,t0:4", "t0:2,t0:3,t0:5"};
    check(CONS_ASSIGNOR_COOPERATIVE_STICKY, m, 2, six, 1, expect);
}

// Balance comes before stickiness: an owner of too many gives the excess up (withheld first).
static void test_sticky_rebalances_excess(void **state)
{
    (void)state;
    static const struct cons_tp a_owned[] = {{"t0", 0}, {"t0", 1}, {"t0", 2}, {"t0", 3}};
    static const struct cons_tp b_owned[] = {{"t0", 4}};
    struct cons_member_sub m[] = {{"A", NULL, t0, 1, a_owned, 4, 2},
                                  {"B", NULL, t0, 1, b_owned, 1, 2},
                                  {"C", NULL, t0, 1, NULL, 0, -1}};
    // 6 over 3 members: 2 each. C gets the orphan 5; A's 2 and 3 move to B and C: withheld
    // until A has revoked them.
    const char *const expect[] = {"t0:0,t0:1", "t0:4", "t0:5"};
    check(CONS_ASSIGNOR_COOPERATIVE_STICKY, m, 3, six, 1, expect);
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
        cmocka_unit_test(test_list_parse),
        cmocka_unit_test(test_sticky_fresh),
        cmocka_unit_test(test_sticky_join_withholds_moving),
        cmocka_unit_test(test_sticky_leave_and_conflicts),
        cmocka_unit_test(test_sticky_rebalances_excess),
    };
    return cmocka_run_group_tests_name("assignor", tests, NULL, NULL);
}
