// test_group848.c: scripted conversations with the KIP-848 group machine (consumer/group848.h):
// the test plays the coordinator (FindCoordinator v1 and ConsumerGroupHeartbeat v1 answers
// built by hand in the schema's flexible layout) and decodes every heartbeat the machine writes,
// checking the epoch, the full/partial fields, the owned partitions, revoke-before-acknowledge,
// fencing, the heartbeat interval from the answers, and leaving with epoch -1.
#include "consumer/group848.h"
#include "proto/api.h"
#include "tests/lib/unit.h"

#include <stdlib.h>
#include <string.h>

static const char *const topics[] = {"orders"};
static const uint8_t tid_a[16] = {0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t tid_b[16] = {0xbb, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

struct rig {
    struct cons_g848 *g;
    uint64_t now;
    uint8_t req[4096];
    size_t req_len;
};

// A decoded heartbeat request.
struct hb {
    char member[80];
    int32_t epoch;
    int32_t rebalance_ms;
    bool topics_null;
    uint32_t num_topics;
    bool assignor_null;
    bool owned_null;
    unsigned owned_a, owned_b; // partition bit masks per topic id
};

static enum cons_g848_act_kind next(struct rig *r, struct cons_g848_action *a)
{
    cons_g848_poll(r->g, r->now, a);
    if (a->kind == CONS_G848_SEND) {
        kw w;
        kw_init_fixed(&w, r->req, sizeof r->req);
        int16_t v = a->api_key == KP_API_FIND_COORDINATOR ? 1 : 1;
        assert_true(cons_g848_write_request(r->g, a->api_key, v, &w));
        assert_true(kw_finish(&w, &r->req_len));
    }
    return a->kind;
}

static void want(struct rig *r, enum cons_g848_act_kind kind)
{
    struct cons_g848_action a;
    assert_int_equal(next(r, &a), kind);
}

static void decode_owned(kr *q, struct hb *h)
{
    uint32_t n;
    assert_true(kr_compact_array_count(q, 18, 100, &n, &h->owned_null));
    for (uint32_t i = 0; i < n; i++) {
        uint8_t id[16];
        uint32_t np;
        assert_true(kr_uuid(q, id) && kr_compact_array_count(q, 4, 100, &np, NULL));
        for (uint32_t k = 0; k < np; k++) {
            int32_t p;
            assert_true(kr_i32(q, &p) && p >= 0 && p < 32);
            *(memcmp(id, tid_a, 16) == 0 ? &h->owned_a : &h->owned_b) |= 1u << p;
        }
        assert_true(kr_skip_tags(q));
    }
}

// heartbeat_sent: the next action is a ConsumerGroupHeartbeat v1; decode it into |h|.
static void heartbeat_sent(struct rig *r, struct hb *h)
{
    struct cons_g848_action a;
    assert_int_equal(next(r, &a), CONS_G848_SEND);
    assert_int_equal(a.api_key, KP_API_CONSUMER_GROUP_HEARTBEAT);
    memset(h, 0, sizeof *h);
    kr q, s;
    bool null;
    kr_init(&q, r->req, r->req_len);
    assert_true(kr_compact_str(&q, &s, NULL) && kr_eq_cstr(&s, "grp"));
    assert_true(kr_compact_str(&q, &s, NULL) && kr_copy_cstr(&s, h->member, sizeof h->member));
    assert_true(kr_i32(&q, &h->epoch));
    assert_true(kr_compact_str(&q, &s, &null) && null); // instance id
    assert_true(kr_compact_str(&q, &s, &null) && null); // rack id
    assert_true(kr_i32(&q, &h->rebalance_ms));
    assert_true(kr_compact_array_count(&q, 1, 10, &h->num_topics, &h->topics_null));
    for (uint32_t i = 0; i < h->num_topics; i++) {
        assert_true(kr_compact_str(&q, &s, NULL) && kr_eq_cstr(&s, "orders"));
    }
    assert_true(kr_compact_str(&q, &s, &null) && null); // regex (v1)
    assert_true(kr_compact_str(&q, &s, &h->assignor_null));
    decode_owned(&q, h);
    assert_true(kr_skip_tags(&q) && kr_done(&q));
}

// answer sends a ConsumerGroupHeartbeat v1 answer; |parts_a| / |parts_b| (bit masks) make the
// assignment, with_assignment false sends a null one.
static void answer(struct rig *r, int16_t err, int32_t epoch, int32_t interval,
                   bool with_assignment, unsigned parts_a, unsigned parts_b)
{
    kw w;
    kw_init_grow(&w);
    kw_i32(&w, 0);
    kw_i16(&w, err);
    kw_compact_str(&w, NULL);
    kw_compact_str(&w, NULL);
    kw_i32(&w, epoch);
    kw_i32(&w, interval);
    if (with_assignment) {
        kw_i8(&w, 1);
        kw_compact_array_count(&w, 2);
        const unsigned masks[2] = {parts_a, parts_b};
        for (int t = 0; t < 2; t++) {
            kw_uuid(&w, t == 0 ? tid_a : tid_b);
            kw_compact_array_count(&w, __builtin_popcount(masks[t]));
            for (int32_t p = 0; p < 32; p++) {
                if (masks[t] & (1u << p)) {
                    kw_i32(&w, p);
                }
            }
            kw_empty_tags(&w);
        }
        kw_empty_tags(&w);
    } else {
        kw_i8(&w, -1);
    }
    kw_empty_tags(&w);
    size_t len;
    assert_true(kw_finish(&w, &len));
    kr body;
    kr_init(&body, kw_data(&w), len);
    cons_g848_on_response(r->g, r->now, KP_API_CONSUMER_GROUP_HEARTBEAT, 1, &body, 0);
    kw_cleanup(&w);
}

static unsigned mask_of(const struct cons_tpid *v, size_t n, const uint8_t *tid)
{
    unsigned m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!memcmp(v[i].topic_id, tid, 16)) {
            m |= 1u << v[i].partition;
        }
    }
    return m;
}

static void find_reply(struct rig *r);

static struct rig *rig_new(void)
{
    struct rig *r = calloc(1, sizeof *r);
    struct cons_g848_config cfg = {.group_id = "grp",
                                   .member_id = "mem-1",
                                   .topics = topics,
                                   .num_topics = 1,
                                   .rebalance_timeout_ms = 60000};
    r->g = cons_g848_new(&cfg);
    r->now = 1000;
    struct cons_g848_action a;
    assert_int_equal(next(r, &a), CONS_G848_SEND);
    assert_int_equal(a.api_key, KP_API_FIND_COORDINATOR);
    find_reply(r);
    return r;
}

// find_reply answers FindCoordinator v1 with broker 2 and expects the COORDINATOR action.
static void find_reply(struct rig *r)
{
    struct cons_g848_action a;
    kw w;
    kw_init_grow(&w);
    kw_i32(&w, 0);
    kw_i16(&w, 0);
    kw_str(&w, NULL);
    kw_i32(&w, 2);
    kw_str(&w, "127.0.0.1");
    kw_i32(&w, 9092);
    size_t len;
    assert_true(kw_finish(&w, &len));
    kr body;
    kr_init(&body, kw_data(&w), len);
    cons_g848_on_response(r->g, r->now, KP_API_FIND_COORDINATOR, 1, &body, 0);
    kw_cleanup(&w);
    assert_int_equal(next(r, &a), CONS_G848_COORDINATOR);
    assert_int_equal(a.node_id, 2);
}

static void rig_free(struct rig *r)
{
    cons_g848_free(r->g);
    free(r);
}

// join: the full join heartbeat, answered with epoch 1, interval 4000 and A:{0,1} B:{0}, then
// the acknowledgement at once.
static void join(struct rig *r)
{
    struct hb h;
    heartbeat_sent(r, &h);
    assert_string_equal(h.member, "mem-1");
    assert_int_equal(h.epoch, 0);
    assert_int_equal(h.rebalance_ms, 60000);
    assert_false(h.topics_null);
    assert_int_equal(h.num_topics, 1);
    assert_false(h.owned_null); // an empty array on join, not null
    assert_int_equal(h.owned_a | h.owned_b, 0);
    answer(r, 0, 1, 4000, true, 0x3, 0x1);
    want(r, CONS_G848_ASSIGNED);
    size_t n;
    const struct cons_tpid *tps = cons_g848_assigned(r->g, &n);
    assert_int_equal(n, 3);
    assert_int_equal(mask_of(tps, n, tid_a), 0x3);
    heartbeat_sent(r, &h); // the acknowledgement: partial, owned as assigned
    assert_int_equal(h.epoch, 1);
    assert_int_equal(h.rebalance_ms, -1);
    assert_true(h.topics_null);
    assert_false(h.owned_null);
    assert_int_equal(h.owned_a, 0x3);
    assert_int_equal(h.owned_b, 0x1);
    answer(r, 0, 1, 4000, false, 0, 0);
}

static void test_join_interval_and_quiet_heartbeats(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    join(r);
    assert_int_equal(cons_g848_state(r->g), CONS_G848_STABLE);
    assert_int_equal(cons_g848_heartbeat_interval(r->g), 4000);
    assert_int_equal(cons_g848_epoch(r->g), 1);
    r->now += 3999;
    want(r, CONS_G848_NONE);
    r->now += 1;
    struct hb h;
    heartbeat_sent(r, &h);
    assert_true(h.owned_null && h.topics_null); // nothing changed
    assert_int_equal(h.epoch, 1);
    want(r, CONS_G848_NONE); // one heartbeat in flight at most
    rig_free(r);
}

static void test_revoke_before_acknowledge(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    join(r);
    r->now += 4000;
    struct hb h;
    heartbeat_sent(r, &h);
    answer(r, 0, 2, 4000, true, 0x1, 0); // A:1 and B:0 go away
    want(r, CONS_G848_REVOKE);
    size_t n;
    const struct cons_tpid *rev = cons_g848_revoking(r->g, &n);
    assert_int_equal(n, 2);
    assert_int_equal(mask_of(rev, n, tid_a), 0x2);
    assert_int_equal(mask_of(rev, n, tid_b), 0x1);
    // While revoking, heartbeats go on without acknowledging anything.
    r->now += 4000;
    heartbeat_sent(r, &h);
    assert_true(h.owned_null);
    assert_int_equal(h.epoch, 2);
    answer(r, 0, 2, 4000, false, 0, 0);
    cons_g848_revoke_done(r->g, r->now);
    heartbeat_sent(r, &h); // now the acknowledgement, at once
    assert_false(h.owned_null);
    assert_int_equal(h.owned_a, 0x1);
    assert_int_equal(h.owned_b, 0);
    rig_free(r);
}

static void test_fenced_loses_everything_and_rejoins(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    join(r);
    r->now += 4000;
    struct hb h;
    heartbeat_sent(r, &h);
    answer(r, 110, 0, 0, false, 0, 0); // FENCED_MEMBER_EPOCH
    struct cons_g848_action a;
    assert_int_equal(next(r, &a), CONS_G848_REVOKE);
    assert_true(a.lost);
    assert_int_equal(cons_g848_epoch(r->g), 0);
    want(r, CONS_G848_NONE); // no heartbeat before the lost partitions are released
    cons_g848_revoke_done(r->g, r->now);
    heartbeat_sent(r, &h);
    assert_int_equal(h.epoch, 0);
    assert_string_equal(h.member, "mem-1"); // the same member id
    assert_false(h.topics_null);
    assert_false(h.owned_null);
    assert_int_equal(h.owned_a | h.owned_b, 0);
    answer(r, 25, 0, 0, false, 0, 0); // UNKNOWN_MEMBER_ID with nothing owned: join again
    heartbeat_sent(r, &h);
    assert_int_equal(h.epoch, 0);
    rig_free(r);
}

static void test_leave_with_epoch_minus_one(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    join(r);
    cons_g848_close(r->g, r->now);
    want(r, CONS_G848_REVOKE);
    cons_g848_revoke_done(r->g, r->now);
    struct hb h;
    heartbeat_sent(r, &h);
    assert_int_equal(h.epoch, -1);
    assert_true(h.owned_null);
    answer(r, 0, -1, 0, false, 0, 0);
    want(r, CONS_G848_CLOSED_ACT);
    assert_int_equal(cons_g848_state(r->g), CONS_G848_CLOSED);
    rig_free(r);
}

static void test_lost_answer_sends_full_heartbeat(void **state)
{
    (void)state;
    struct rig *r = rig_new();
    join(r);
    r->now += 4000;
    struct hb h;
    heartbeat_sent(r, &h);
    cons_g848_on_response(r->g, r->now, KP_API_CONSUMER_GROUP_HEARTBEAT, 1, NULL, 1);
    // The coordinator is looked up again, then a full heartbeat with the owned partitions.
    struct cons_g848_action a;
    r->now += 1000;
    assert_int_equal(next(r, &a), CONS_G848_SEND);
    assert_int_equal(a.api_key, KP_API_FIND_COORDINATOR);
    find_reply(r);
    heartbeat_sent(r, &h);
    assert_int_equal(h.epoch, 1);
    assert_int_equal(h.rebalance_ms, 60000);
    assert_false(h.topics_null);
    assert_false(h.owned_null);
    assert_int_equal(h.owned_a, 0x3);
    assert_int_equal(h.owned_b, 0x1);
    rig_free(r);
}

static void test_fatal_errors(void **state)
{
    (void)state;
    static const struct {
        int16_t code;
        enum cons_error_class cls;
        const char *text;
    } cases[] = {{35, CONS_ERR_CONFIG, "GroupProtocol classic"},
                 {30, CONS_ERR_AUTHZ, "GROUP_AUTHORIZATION_FAILED"},
                 {112, CONS_ERR_FATAL, "UNSUPPORTED_ASSIGNOR"},
                 {42, CONS_ERR_FATAL, "INVALID_REQUEST"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rig *r = rig_new();
        struct hb h;
        heartbeat_sent(r, &h);
        answer(r, cases[i].code, 0, 0, false, 0, 0);
        struct cons_g848_action a;
        assert_int_equal(next(r, &a), CONS_G848_FATAL);
        assert_int_equal(a.err_class, cases[i].cls);
        assert_non_null(strstr(a.msg, cases[i].text));
        rig_free(r);
    }
}

static void test_config_errors(void **state)
{
    (void)state;
    struct cons_g848_config cfg = {.group_id = "grp", .topics = topics, .num_topics = 1};
    struct cons_g848 *g = cons_g848_new(&cfg); // no member id
    struct cons_g848_action a;
    cons_g848_poll(g, 0, &a);
    assert_int_equal(a.kind, CONS_G848_FATAL);
    assert_int_equal(a.err_class, CONS_ERR_CONFIG);
    cons_g848_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_interval_and_quiet_heartbeats),
        cmocka_unit_test(test_revoke_before_acknowledge),
        cmocka_unit_test(test_fenced_loses_everything_and_rejoins),
        cmocka_unit_test(test_leave_with_epoch_minus_one),
        cmocka_unit_test(test_lost_answer_sends_full_heartbeat),
        cmocka_unit_test(test_fatal_errors),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests_name("group848", tests, NULL, NULL);
}
