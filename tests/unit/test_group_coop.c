// test_group_coop.c: the group state machine (consumer/group.h) with cooperative-sticky: a
// scripted coordinator (JoinGroup v5, SyncGroup v3, Heartbeat v3 bodies built by hand) checks
// that a rebalance keeps the assignment, that only the partitions that move are revoked, that
// the member rejoins at once with what it owns, that as leader it withholds moving partitions,
// and that a lost membership still revokes everything.
#include "consumer/group.h"
#include "proto/api.h"
#include "proto/consumer_protocol.h"
#include "tests/lib/unit.h"

#include <stdlib.h>
#include <string.h>

static const char *const topics[] = {"orders"};
static const struct cons_topic_meta topic_meta[] = {{"orders", 4}};
static const enum cons_assignor coop[] = {CONS_ASSIGNOR_COOPERATIVE_STICKY};

struct rig {
    struct cons_group *g;
    uint64_t now;
    uint8_t req[4096];
    size_t req_len;
};

static int16_t ver(int16_t api)
{
    return api == KP_API_JOIN_GROUP ? 5 : api == KP_API_FIND_COORDINATOR ? 1 : 3;
}

static enum cons_group_act_kind next(struct rig *r, struct cons_group_action *a)
{
    cons_group_poll(r->g, r->now, a);
    if (a->kind == CONS_GACT_SEND) {
        kw w;
        kw_init_fixed(&w, r->req, sizeof r->req);
        assert_true(cons_group_write_request(r->g, a->api_key, ver(a->api_key), &w));
        assert_true(kw_finish(&w, &r->req_len));
    }
    return a->kind;
}

static void want(struct rig *r, enum cons_group_act_kind kind, int16_t api)
{
    struct cons_group_action a;
    assert_int_equal(next(r, &a), kind);
    if (kind == CONS_GACT_SEND) {
        assert_int_equal(a.api_key, api);
    }
}

static void answer(struct rig *r, int16_t api, kw *w)
{
    size_t len;
    assert_true(kw_finish(w, &len));
    kr body;
    kr_init(&body, kw_data(w), len);
    cons_group_on_response(r->g, r->now, api, ver(api), &body, 0);
    kw_cleanup(w);
}

static size_t blob_owning(uint8_t *buf, size_t cap, const int32_t *owned, size_t n)
{
    struct kp_consumer_topic_partitions tp = {
        .topic = "orders", .partitions = owned, .num_partitions = n};
    struct kp_consumer_subscription s = {.version = 1,
                                         .topics = topics,
                                         .num_topics = 1,
                                         .owned = &tp,
                                         .num_owned = n ? 1 : 0,
                                         .generation_id = -1};
    kw w;
    kw_init_fixed(&w, buf, cap);
    size_t len = 0;
    assert_true(kp_consumer_subscription_write(&w, &s) && kw_finish(&w, &len));
    return len;
}

// join_reply answers JoinGroup with protocol cooperative-sticky; as leader the member list is
// "me" with |my_blob| and "m-z" owning nothing.
static void join_reply(struct rig *r, int32_t gen, bool leader, const uint8_t *my_blob,
                       size_t my_len)
{
    kw w;
    kw_init_grow(&w);
    kw_i32(&w, 0);
    kw_i16(&w, 0);
    kw_i32(&w, gen);
    kw_str(&w, "cooperative-sticky");
    kw_str(&w, leader ? "m-1" : "m-z");
    kw_str(&w, "m-1");
    kw_i32(&w, leader ? 2 : 0);
    if (leader) {
        uint8_t other[128];
        kw_str(&w, "m-1");
        kw_str(&w, NULL);
        kw_bytes(&w, my_blob, my_len);
        kw_str(&w, "m-z");
        kw_str(&w, NULL);
        kw_bytes(&w, other, blob_owning(other, sizeof other, NULL, 0));
    }
    answer(r, KP_API_JOIN_GROUP, &w);
}

static void sync_reply(struct rig *r, const int32_t *parts, size_t n)
{
    struct kp_consumer_topic_partitions tp = {
        .topic = "orders", .partitions = parts, .num_partitions = n};
    struct kp_consumer_assignment a = {.version = 1, .assigned = &tp, .num_assigned = n ? 1 : 0};
    uint8_t blob[256];
    kw bw;
    kw_init_fixed(&bw, blob, sizeof blob);
    size_t blen = 0;
    assert_true(kp_consumer_assignment_write(&bw, &a) && kw_finish(&bw, &blen));
    kw w;
    kw_init_grow(&w);
    kw_i32(&w, 0);
    kw_i16(&w, 0);
    kw_bytes(&w, blob, blen);
    answer(r, KP_API_SYNC_GROUP, &w);
}

static void heartbeat_reply(struct rig *r, int16_t err)
{
    kw w;
    kw_init_grow(&w);
    kw_i32(&w, 0);
    kw_i16(&w, err);
    answer(r, KP_API_HEARTBEAT, &w);
}

// join_owned reads the JoinGroup v5 request just written: the member id and the partitions its
// (only) protocol's subscription owns, as a bit mask; the protocol name must be
// cooperative-sticky. Returns a view of the metadata in |out_meta|.
static unsigned join_owned(struct rig *r, char *member, size_t cap, kr *out_meta)
{
    kr q, s, name, meta;
    int32_t i32;
    uint32_t n;
    kr_init(&q, r->req, r->req_len);
    assert_true(kr_str(&q, &s, NULL) && kr_i32(&q, &i32) && kr_i32(&q, &i32));
    assert_true(kr_str(&q, &s, NULL) && kr_copy_cstr(&s, member, cap));
    bool null;
    assert_true(kr_str(&q, &s, &null) && null); // no group.instance.id
    assert_true(kr_str(&q, &s, NULL) && kr_eq_cstr(&s, "consumer"));
    assert_true(kr_array_count(&q, 6, 10, &n, NULL) && n == 1);
    assert_true(kr_str(&q, &name, NULL) && kr_eq_cstr(&name, "cooperative-sticky"));
    assert_true(kr_bytes(&q, &meta, NULL) && kr_done(&q));
    *out_meta = meta;
    struct kp_consumer_subscription_view sv;
    struct kp_err err = {0};
    assert_int_equal(kp_consumer_subscription_parse(&meta, &sv, &err), KP_OK);
    assert_int_equal(sv.version, 1);
    unsigned mask = 0;
    struct kp_consumer_iter ti, pi;
    struct kp_consumer_tp_view tv;
    int32_t p;
    kp_consumer_iter_init(&ti, &sv.owned, sv.num_owned);
    while (kp_consumer_next_topic_partitions(&ti, &tv)) {
        assert_true(kr_eq_cstr(&tv.topic, "orders"));
        kp_consumer_iter_init(&pi, &tv.partitions, tv.num_partitions);
        while (kp_consumer_next_partition(&pi, &p)) {
            mask |= 1u << p;
        }
    }
    return mask;
}

static unsigned mask_of(const struct cons_tp *tps, size_t n)
{
    unsigned m = 0;
    for (size_t i = 0; i < n; i++) {
        m |= 1u << tps[i].partition;
    }
    return m;
}

// sync_assignments reads the leader's SyncGroup v3 request: the masks given to m-1 and m-z.
static void sync_assignments(struct rig *r, unsigned *mine, unsigned *other)
{
    kr q, s, mid, blob;
    int32_t gen;
    uint32_t n;
    kr_init(&q, r->req, r->req_len);
    bool null;
    assert_true(kr_str(&q, &s, NULL) && kr_i32(&q, &gen) && kr_str(&q, &s, NULL));
    assert_true(kr_str(&q, &s, &null) && kr_array_count(&q, 6, 10, &n, NULL) && n == 2);
    for (uint32_t i = 0; i < n; i++) {
        assert_true(kr_str(&q, &mid, NULL) && kr_bytes(&q, &blob, NULL));
        struct kp_consumer_assignment_view av;
        struct kp_err err = {0};
        assert_int_equal(kp_consumer_assignment_parse(&blob, &av, &err), KP_OK);
        struct kp_consumer_iter ti, pi;
        struct kp_consumer_tp_view tv;
        int32_t p;
        unsigned m = 0;
        kp_consumer_iter_init(&ti, &av.assigned, av.num_assigned);
        while (kp_consumer_next_topic_partitions(&ti, &tv)) {
            kp_consumer_iter_init(&pi, &tv.partitions, tv.num_partitions);
            while (kp_consumer_next_partition(&pi, &p)) {
                m |= 1u << p;
            }
        }
        *(kr_eq_cstr(&mid, "m-1") ? mine : other) = m;
    }
}

static struct rig *rig_new(void)
{
    struct rig *r = calloc(1, sizeof *r);
    struct cons_group_config cfg = {.group_id = "grp",
                                    .topics = topics,
                                    .num_topics = 1,
                                    .session_timeout_ms = 6000,
                                    .heartbeat_interval_ms = 500,
                                    .rebalance_timeout_ms = 10000,
                                    .assignors = coop,
                                    .num_assignors = 1};
    r->g = cons_group_new(&cfg);
    cons_group_set_topic_meta(r->g, topic_meta, 1);
    r->now = 1000;
    assert_true(cons_group_cooperative(r->g));
    want(r, CONS_GACT_SEND, KP_API_FIND_COORDINATOR);
    kw w;
    kw_init_grow(&w);
    kw_i32(&w, 0);
    kw_i16(&w, 0);
    kw_str(&w, NULL);
    kw_i32(&w, 1);
    kw_str(&w, "127.0.0.1");
    kw_i32(&w, 9092);
    answer(r, KP_API_FIND_COORDINATOR, &w);
    want(r, CONS_GACT_COORDINATOR, 0);
    return r;
}

static void test_cooperative_rebalance(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    char member[64];
    kr meta;
    // First join: follower, owns nothing yet; all 4 partitions assigned.
    want(r, CONS_GACT_SEND, KP_API_JOIN_GROUP);
    assert_int_equal(join_owned(r, member, sizeof member, &meta), 0);
    join_reply(r, 7, false, NULL, 0);
    want(r, CONS_GACT_SEND, KP_API_SYNC_GROUP);
    static const int32_t all[] = {0, 1, 2, 3};
    sync_reply(r, all, 4);
    want(r, CONS_GACT_ASSIGNED, 0);
    // A member joins: REBALANCE_IN_PROGRESS. No revoke: straight to JoinGroup, owning 0-3.
    r->now += 500;
    want(r, CONS_GACT_SEND, KP_API_HEARTBEAT);
    heartbeat_reply(r, 27);
    want(r, CONS_GACT_SEND, KP_API_JOIN_GROUP);
    assert_int_equal(cons_group_state(r->g), CONS_GROUP_JOINING);
    size_t n;
    cons_group_assigned(r->g, &n);
    assert_int_equal(n, 4); // still fetching everything while the group rebalances
    assert_int_equal(join_owned(r, member, sizeof member, &meta), 0xf);
    assert_string_equal(member, "m-1");
    // As leader: m-z owns nothing; the 2 partitions moving to it are withheld from it.
    uint8_t mine_blob[256];
    assert_true(meta.len <= sizeof mine_blob);
    memcpy(mine_blob, meta.p, meta.len);
    join_reply(r, 8, true, mine_blob, meta.len);
    want(r, CONS_GACT_SEND, KP_API_SYNC_GROUP);
    unsigned mine = 0, other = 0xff;
    sync_assignments(r, &mine, &other);
    assert_int_equal(other, 0);
    assert_int_equal(__builtin_popcount(mine), 2);
    // The coordinator hands us our share: revoke only what moved, then rejoin at once.
    static const int32_t two[] = {0, 1};
    sync_reply(r, two, 2);
    want(r, CONS_GACT_REVOKE, 0);
    const struct cons_tp *rev = cons_group_revoking(r->g, &n);
    assert_int_equal(mask_of(rev, n), 0xc);
    cons_group_revoke_done(r->g, r->now);
    want(r, CONS_GACT_ASSIGNED, 0);
    const struct cons_tp *tps = cons_group_assigned(r->g, &n);
    assert_int_equal(mask_of(tps, n), 0x3);
    want(r, CONS_GACT_SEND, KP_API_JOIN_GROUP);
    assert_int_equal(join_owned(r, member, sizeof member, &meta), 0x3);
    join_reply(r, 9, false, NULL, 0);
    want(r, CONS_GACT_SEND, KP_API_SYNC_GROUP);
    sync_reply(r, two, 2);
    want(r, CONS_GACT_ASSIGNED, 0);
    assert_int_equal(cons_group_state(r->g), CONS_GROUP_STABLE);
    // A lost membership loses everything: a full revoke first, then a join owning nothing.
    r->now += 500;
    want(r, CONS_GACT_SEND, KP_API_HEARTBEAT);
    heartbeat_reply(r, 25);
    want(r, CONS_GACT_REVOKE, 0);
    rev = cons_group_revoking(r->g, &n);
    assert_int_equal(mask_of(rev, n), 0x3);
    cons_group_revoke_done(r->g, r->now);
    want(r, CONS_GACT_SEND, KP_API_JOIN_GROUP);
    assert_int_equal(join_owned(r, member, sizeof member, &meta), 0);
    assert_string_equal(member, "");
    cons_group_free(r->g);
    free(r);
}

// Closing during the revoke of moving partitions revokes the rest too, then leaves.
static void test_close_while_revoking_moving(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    char member[64];
    kr meta;
    want(r, CONS_GACT_SEND, KP_API_JOIN_GROUP);
    join_reply(r, 7, false, NULL, 0);
    want(r, CONS_GACT_SEND, KP_API_SYNC_GROUP);
    static const int32_t all[] = {0, 1, 2, 3}, one[] = {1};
    sync_reply(r, all, 4);
    want(r, CONS_GACT_ASSIGNED, 0);
    cons_group_rejoin(r->g, r->now, 0);
    want(r, CONS_GACT_SEND, KP_API_JOIN_GROUP);
    assert_int_equal(join_owned(r, member, sizeof member, &meta), 0xf);
    join_reply(r, 8, false, NULL, 0);
    want(r, CONS_GACT_SEND, KP_API_SYNC_GROUP);
    sync_reply(r, one, 1);
    want(r, CONS_GACT_REVOKE, 0);
    size_t n;
    const struct cons_tp *rev = cons_group_revoking(r->g, &n);
    assert_int_equal(mask_of(rev, n), 0xd);
    cons_group_close(r->g, r->now);
    cons_group_revoke_done(r->g, r->now);
    want(r, CONS_GACT_REVOKE, 0);
    rev = cons_group_revoking(r->g, &n);
    assert_int_equal(mask_of(rev, n), 0x2);
    cons_group_revoke_done(r->g, r->now);
    want(r, CONS_GACT_SEND, KP_API_LEAVE_GROUP);
    cons_group_free(r->g);
    free(r);
}

static void test_mixed_assignors_refused(void **state)
{
    (void)state;
    static const enum cons_assignor mixed[] = {CONS_ASSIGNOR_RANGE,
                                               CONS_ASSIGNOR_COOPERATIVE_STICKY};
    struct cons_group_config cfg = {.group_id = "grp",
                                    .topics = topics,
                                    .num_topics = 1,
                                    .assignors = mixed,
                                    .num_assignors = 2};
    struct cons_group *g = cons_group_new(&cfg);
    struct cons_group_action a;
    cons_group_poll(g, 0, &a);
    assert_int_equal(a.kind, CONS_GACT_FATAL);
    assert_int_equal(a.err_class, CONS_ERR_CONFIG);
    assert_non_null(strstr(a.msg, "cannot be mixed"));
    cons_group_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cooperative_rebalance),
        cmocka_unit_test(test_close_while_revoking_moving),
        cmocka_unit_test(test_mixed_assignors_refused),
    };
    return cmocka_run_group_tests_name("group_coop", tests, NULL, NULL);
}
