// test_group_sm.c: scripted conversations with the sans-I/O group state machine
// (consumer/group.h), no sockets: the test plays the coordinator, building response bodies by
// hand in the non-flexible layouts (FindCoordinator v1, JoinGroup v5, SyncGroup v3, Heartbeat
// v3, LeaveGroup v1) and reading back the request bodies the machine writes.
#include "consumer/group.h"
#include "proto/api.h"
#include "proto/consumer_protocol.h"
#include "tests/lib/unit.h"

#include <stdlib.h>
#include <string.h>

#define V_FIND 1
#define V_JOIN 5
#define V_SYNC 3
#define V_HB 3
#define V_LEAVE 1

static const char *const topics[] = {"orders"};
static const struct cons_topic_meta meta[] = {{"orders", 4}};

struct h {
    struct cons_group *g;
    uint64_t now;
    uint8_t req[4096]; // the last request body written
    size_t req_len;
};

static struct h *h_new(const char *instance_id)
{
    struct h *h = calloc(1, sizeof *h);
    struct cons_group_config cfg = {.group_id = "grp",
                                    .group_instance_id = instance_id,
                                    .topics = topics,
                                    .num_topics = 1,
                                    .session_timeout_ms = 6000,
                                    .heartbeat_interval_ms = 500,
                                    .rebalance_timeout_ms = 10000,
                                    .retry_backoff_ms = 100};
    h->g = cons_group_new(&cfg);
    cons_group_set_topic_meta(h->g, meta, 1);
    h->now = 1000;
    return h;
}

static void h_free(struct h *h)
{
    cons_group_free(h->g);
    free(h);
}

static int16_t version_of(int16_t api)
{
    switch (api) {
    case KP_API_FIND_COORDINATOR:
        return V_FIND;
    case KP_API_JOIN_GROUP:
        return V_JOIN;
    case KP_API_SYNC_GROUP:
        return V_SYNC;
    case KP_API_HEARTBEAT:
        return V_HB;
    default:
        return V_LEAVE;
    }
}

// poll returns the next action kind; for SEND it also writes the request body into h->req.
static enum cons_group_act_kind poll_act(struct h *h, struct cons_group_action *a)
{
    cons_group_poll(h->g, h->now, a);
    if (a->kind == CONS_GACT_SEND) {
        kw w;
        kw_init_fixed(&w, h->req, sizeof h->req);
        assert_true(cons_group_write_request(h->g, a->api_key, version_of(a->api_key), &w));
        assert_true(kw_finish(&w, &h->req_len));
    }
    return a->kind;
}

static void expect_send(struct h *h, int16_t api)
{
    struct cons_group_action a;
    assert_int_equal(poll_act(h, &a), CONS_GACT_SEND);
    assert_int_equal(a.api_key, api);
    assert_true(cons_group_inflight(h->g, api));
}

static void expect_kind(struct h *h, enum cons_group_act_kind kind)
{
    struct cons_group_action a;
    assert_int_equal(poll_act(h, &a), kind);
}

static void respond(struct h *h, int16_t api, kw *w)
{
    size_t len;
    assert_true(kw_finish(w, &len));
    kr body;
    kr_init(&body, kw_data(w), len);
    cons_group_on_response(h->g, h->now, api, version_of(api), &body, 0);
    kw_cleanup(w);
    assert_false(cons_group_inflight(h->g, api));
}

static bool req_has(const struct h *h, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= h->req_len; i++) {
        if (memcmp(h->req + i, s, n) == 0) {
            return true;
        }
    }
    return false;
}

// ---- coordinator replies -----------------------------------------------------------------------

static void reply_find(struct h *h, int16_t err, int32_t node)
{
    kw w;
    kw_init_grow(&w);
    kw_i32(&w, 0);
    kw_i16(&w, err);
    kw_str(&w, NULL);
    kw_i32(&w, node);
    kw_str(&w, "127.0.0.1");
    kw_i32(&w, 9092);
    respond(h, KP_API_FIND_COORDINATOR, &w);
}

static size_t sub_blob(uint8_t *buf, size_t cap, int16_t version)
{
    struct kp_consumer_subscription s = {
        .version = version, .topics = topics, .num_topics = 1, .generation_id = -1};
    kw w;
    kw_init_fixed(&w, buf, cap);
    size_t len = 0;
    assert_true(kp_consumer_subscription_write(&w, &s));
    assert_true(kw_finish(&w, &len));
    return len;
}

// reply_join answers JoinGroup; |members| > 0 lists "me" plus members-1 others ("m-b", ...).
static void reply_join(struct h *h, int16_t err, int32_t gen, const char *leader, const char *me,
                       int members)
{
    kw w;
    kw_init_grow(&w);
    kw_i32(&w, 0);
    kw_i16(&w, err);
    kw_i32(&w, gen);
    kw_str(&w, err ? "" : "range");
    kw_str(&w, leader);
    kw_str(&w, me);
    kw_i32(&w, members);
    uint8_t blob[128];
    for (int i = 0; i < members; i++) {
        char id[16] = "m-a";
        id[2] = (char)('a' + i);
        kw_str(&w, i == 0 ? me : id);
        kw_str(&w, NULL);
        // The other members send older subscription versions: all must decode.
        size_t len = sub_blob(blob, sizeof blob, (int16_t)(i == 0 ? 1 : i % 4));
        kw_bytes(&w, blob, len);
    }
    respond(h, KP_API_JOIN_GROUP, &w);
}

static void reply_sync(struct h *h, int16_t err, const int32_t *parts, size_t n)
{
    struct kp_consumer_topic_partitions tp = {
        .topic = "orders", .partitions = parts, .num_partitions = n};
    struct kp_consumer_assignment a = {.version = 0, .assigned = &tp, .num_assigned = n ? 1 : 0};
    uint8_t blob[256];
    kw bw;
    kw_init_fixed(&bw, blob, sizeof blob);
    size_t blen = 0;
    assert_true(kp_consumer_assignment_write(&bw, &a) && kw_finish(&bw, &blen));
    kw w;
    kw_init_grow(&w);
    kw_i32(&w, 0);
    kw_i16(&w, err);
    kw_bytes(&w, blob, err ? 0 : blen);
    respond(h, KP_API_SYNC_GROUP, &w);
}

static void reply_code(struct h *h, int16_t api, int16_t err)
{
    kw w;
    kw_init_grow(&w);
    kw_i32(&w, 0);
    kw_i16(&w, err);
    respond(h, api, &w);
}

// join_stable drives a fresh machine to STABLE as the group's only member with all 4
// partitions (generation 7, member "m-1").
static void join_stable(struct h *h)
{
    expect_send(h, KP_API_FIND_COORDINATOR);
    assert_true(req_has(h, "grp"));
    reply_find(h, 0, 3);
    struct cons_group_action a;
    assert_int_equal(poll_act(h, &a), CONS_GACT_COORDINATOR);
    assert_int_equal(a.node_id, 3);
    assert_string_equal(a.host, "127.0.0.1");
    assert_int_equal(a.port, 9092);
    expect_send(h, KP_API_JOIN_GROUP);
    assert_true(req_has(h, "range") && req_has(h, "roundrobin") && req_has(h, "consumer"));
    reply_join(h, 0, 7, "m-1", "m-1", 1);
    expect_send(h, KP_API_SYNC_GROUP);
    static const int32_t all[] = {0, 1, 2, 3};
    reply_sync(h, 0, all, 4);
    expect_kind(h, CONS_GACT_ASSIGNED);
    assert_int_equal(cons_group_state(h->g), CONS_GROUP_STABLE);
    assert_int_equal(cons_group_generation(h->g), 7);
    assert_string_equal(cons_group_member_id(h->g), "m-1");
}

// ---- tests --------------------------------------------------------------------------------------

static void test_leader_join_assigns_every_member(void **state)
{
    (void)state;
    struct h *h = h_new(NULL);
    expect_send(h, KP_API_FIND_COORDINATOR);
    reply_find(h, 0, 2);
    expect_kind(h, CONS_GACT_COORDINATOR);
    expect_send(h, KP_API_JOIN_GROUP);
    reply_join(h, 0, 2, "m-1", "m-1", 3); // us and m-b (v1 blob) and m-c (v2 blob)
    assert_true(cons_group_is_leader(h->g));
    expect_send(h, KP_API_SYNC_GROUP);
    // SyncGroup v3 body: group, generation, member, instance id, assignments.
    kr r, s, mid, blob;
    kr_init(&r, h->req, h->req_len);
    int32_t gen;
    uint32_t n;
    bool null;
    assert_true(kr_str(&r, &s, NULL) && kr_eq_cstr(&s, "grp"));
    assert_true(kr_i32(&r, &gen) && gen == 2);
    assert_true(kr_str(&r, &s, NULL) && kr_eq_cstr(&s, "m-1"));
    assert_true(kr_str(&r, &s, &null) && null);
    assert_true(kr_array_count(&r, 6, 100, &n, NULL));
    assert_int_equal(n, 3);
    int seen[4] = {0};
    for (uint32_t i = 0; i < n; i++) {
        assert_true(kr_str(&r, &mid, NULL) && kr_bytes(&r, &blob, NULL));
        struct kp_consumer_assignment_view av;
        struct kp_err err = {0};
        assert_int_equal(kp_consumer_assignment_parse(&blob, &av, &err), KP_OK);
        struct kp_consumer_iter ti, pi;
        struct kp_consumer_tp_view tv;
        int32_t p;
        size_t count = 0;
        kp_consumer_iter_init(&ti, &av.assigned, av.num_assigned);
        while (kp_consumer_next_topic_partitions(&ti, &tv)) {
            kp_consumer_iter_init(&pi, &tv.partitions, tv.num_partitions);
            while (kp_consumer_next_partition(&pi, &p)) {
                assert_true(p >= 0 && p < 4);
                seen[p]++;
                count++;
            }
        }
        // range over 4 partitions and 3 members: 2, 1, 1 in member-id order.
        assert_int_equal(count, i == 0 ? 2 : 1);
    }
    assert_true(kr_done(&r));
    for (int p = 0; p < 4; p++) {
        assert_int_equal(seen[p], 1); // no overlap, no gap
    }
    static const int32_t mine[] = {0, 1};
    reply_sync(h, 0, mine, 2);
    expect_kind(h, CONS_GACT_ASSIGNED);
    size_t na;
    const struct cons_tp *tps = cons_group_assigned(h->g, &na);
    assert_int_equal(na, 2);
    assert_string_equal(tps[0].topic, "orders");
    assert_int_equal(tps[1].partition, 1);
    assert_string_equal(cons_group_protocol(h->g), "range");
    h_free(h);
}

static void test_follower_sends_no_assignments(void **state)
{
    (void)state;
    struct h *h = h_new(NULL);
    expect_send(h, KP_API_FIND_COORDINATOR);
    reply_find(h, 0, 1);
    expect_kind(h, CONS_GACT_COORDINATOR);
    expect_send(h, KP_API_JOIN_GROUP);
    reply_join(h, 0, 4, "m-z", "m-1", 0);
    assert_false(cons_group_is_leader(h->g));
    expect_send(h, KP_API_SYNC_GROUP);
    // The body ends with an empty assignments array.
    assert_true(h->req_len >= 4);
    assert_memory_equal(h->req + h->req_len - 4, "\0\0\0\0", 4);
    static const int32_t two[] = {2, 3};
    reply_sync(h, 0, two, 2);
    expect_kind(h, CONS_GACT_ASSIGNED);
    h_free(h);
}

static void test_member_id_required_round_trip(void **state)
{
    (void)state;
    struct h *h = h_new(NULL);
    expect_send(h, KP_API_FIND_COORDINATOR);
    reply_find(h, 0, 1);
    expect_kind(h, CONS_GACT_COORDINATOR);
    expect_send(h, KP_API_JOIN_GROUP);
    assert_false(req_has(h, "member-from-broker"));
    reply_join(h, 79, -1, "", "member-from-broker", 0);
    expect_send(h, KP_API_JOIN_GROUP); // at once, no back-off
    assert_true(req_has(h, "member-from-broker"));
    h_free(h);
}

static void test_heartbeats_on_their_timer_one_at_a_time(void **state)
{
    (void)state;
    struct h *h = h_new(NULL);
    join_stable(h);
    expect_kind(h, CONS_GACT_NONE);
    assert_int_equal(cons_group_next_wake(h->g), h->now + 500);
    h->now += 500;
    expect_send(h, KP_API_HEARTBEAT);
    assert_true(req_has(h, "m-1"));
    h->now += 2000; // still in flight: no second heartbeat
    expect_kind(h, CONS_GACT_NONE);
    reply_code(h, KP_API_HEARTBEAT, 0);
    h->now += 500;
    expect_send(h, KP_API_HEARTBEAT);
    h_free(h);
}

// rebalance_after answers a heartbeat with |err| and checks the revoke + rejoin that follows.
static void rebalance_after(int16_t err, int32_t want_gen, const char *want_member)
{
    struct h *h = h_new(NULL);
    join_stable(h);
    h->now += 500;
    expect_send(h, KP_API_HEARTBEAT);
    reply_code(h, KP_API_HEARTBEAT, err);
    expect_kind(h, CONS_GACT_REVOKE);
    assert_int_equal(cons_group_state(h->g), CONS_GROUP_REVOKING);
    assert_non_null(strstr(cons_group_why(h->g), "Heartbeat answered "));
    expect_kind(h, CONS_GACT_NONE); // waits for the upper layer
    cons_group_revoke_done(h->g, h->now);
    expect_send(h, KP_API_JOIN_GROUP);
    assert_int_equal(cons_group_generation(h->g), want_gen);
    assert_string_equal(cons_group_member_id(h->g), want_member);
    size_t n;
    cons_group_assigned(h->g, &n);
    assert_int_equal(n, 0);
    h_free(h);
}

static void test_rebalance_in_progress_keeps_member(void **state)
{
    (void)state;
    rebalance_after(27, 7, "m-1");
}

static void test_illegal_generation_resets_generation(void **state)
{
    (void)state;
    rebalance_after(22, -1, "m-1");
}

static void test_unknown_member_resets_member(void **state)
{
    (void)state;
    rebalance_after(25, -1, "");
}

static void test_fenced_instance_on_heartbeat_rejoins(void **state)
{
    (void)state;
    rebalance_after(82, -1, "");
}

static void test_coordinator_moves(void **state)
{
    (void)state;
    static const int16_t codes[] = {15, 16};
    for (size_t i = 0; i < 2; i++) {
        struct h *h = h_new(NULL);
        join_stable(h);
        h->now += 500;
        expect_send(h, KP_API_HEARTBEAT);
        reply_code(h, KP_API_HEARTBEAT, codes[i]);
        assert_int_equal(cons_group_coordinator(h->g), -1);
        assert_int_equal(cons_group_state(h->g), CONS_GROUP_STABLE); // membership kept
        expect_kind(h, CONS_GACT_NONE);                              // back-off first
        h->now += 100;
        expect_send(h, KP_API_FIND_COORDINATOR);
        reply_find(h, 0, 2);
        expect_kind(h, CONS_GACT_COORDINATOR);
        assert_int_equal(cons_group_coordinator(h->g), 2);
        h->now += 500;
        expect_send(h, KP_API_HEARTBEAT);
        h_free(h);
    }
}

static void test_coordinator_load_backs_off(void **state)
{
    (void)state;
    struct h *h = h_new(NULL);
    expect_send(h, KP_API_FIND_COORDINATOR);
    reply_find(h, 0, 1);
    expect_kind(h, CONS_GACT_COORDINATOR);
    expect_send(h, KP_API_JOIN_GROUP);
    reply_join(h, 14, -1, "", "", 0);
    assert_int_equal(cons_group_coordinator(h->g), 1); // same coordinator
    expect_kind(h, CONS_GACT_NONE);
    assert_true(cons_group_next_wake(h->g) > h->now);
    h->now = cons_group_next_wake(h->g);
    expect_send(h, KP_API_JOIN_GROUP);
    h_free(h);
}

static void test_find_coordinator_not_available_retries(void **state)
{
    (void)state;
    struct h *h = h_new(NULL);
    expect_send(h, KP_API_FIND_COORDINATOR);
    reply_find(h, 15, -1);
    expect_kind(h, CONS_GACT_NONE);
    h->now += 1000;
    expect_send(h, KP_API_FIND_COORDINATOR);
    h_free(h);
}

static void test_join_lost_finds_coordinator_again(void **state)
{
    (void)state;
    struct h *h = h_new(NULL);
    expect_send(h, KP_API_FIND_COORDINATOR);
    reply_find(h, 0, 1);
    expect_kind(h, CONS_GACT_COORDINATOR);
    expect_send(h, KP_API_JOIN_GROUP);
    cons_group_on_response(h->g, h->now, KP_API_JOIN_GROUP, V_JOIN, NULL, -2);
    assert_int_equal(cons_group_coordinator(h->g), -1);
    h->now += 1000;
    expect_send(h, KP_API_FIND_COORDINATOR);
    // A garbage body is handled like a lost connection, not trusted.
    uint8_t junk[3] = {1, 2, 3};
    kr b;
    kr_init(&b, junk, sizeof junk);
    cons_group_on_response(h->g, h->now, KP_API_FIND_COORDINATOR, V_FIND, &b, 0);
    assert_int_equal(cons_group_coordinator(h->g), -1);
    h_free(h);
}

static void expect_fatal_join(int16_t code, enum cons_error_class cls, const char *name)
{
    struct h *h = h_new(NULL);
    expect_send(h, KP_API_FIND_COORDINATOR);
    reply_find(h, 0, 1);
    expect_kind(h, CONS_GACT_COORDINATOR);
    expect_send(h, KP_API_JOIN_GROUP);
    reply_join(h, code, -1, "", "", 0);
    struct cons_group_action a;
    assert_int_equal(poll_act(h, &a), CONS_GACT_FATAL);
    assert_int_equal(a.err_class, cls);
    assert_non_null(strstr(a.msg, name));
    assert_non_null(strstr(a.msg, "grp"));
    assert_int_equal(cons_group_state(h->g), CONS_GROUP_FAILED);
    expect_kind(h, CONS_GACT_NONE); // reported once, then silent
    h->now += 100000;
    expect_kind(h, CONS_GACT_NONE);
    h_free(h);
}

static void test_fatal_join_errors(void **state)
{
    (void)state;
    expect_fatal_join(23, CONS_ERR_FATAL, "INCONSISTENT_GROUP_PROTOCOL");
    expect_fatal_join(26, CONS_ERR_CONFIG, "INVALID_SESSION_TIMEOUT");
    expect_fatal_join(24, CONS_ERR_CONFIG, "INVALID_GROUP_ID");
    expect_fatal_join(30, CONS_ERR_AUTHZ, "GROUP_AUTHORIZATION_FAILED");
    expect_fatal_join(81, CONS_ERR_FATAL, "GROUP_MAX_SIZE_REACHED");
    expect_fatal_join(82, CONS_ERR_FATAL, "FENCED_INSTANCE_ID");
}

static void test_sync_rebalance_rejoins(void **state)
{
    (void)state;
    struct h *h = h_new(NULL);
    expect_send(h, KP_API_FIND_COORDINATOR);
    reply_find(h, 0, 1);
    expect_kind(h, CONS_GACT_COORDINATOR);
    expect_send(h, KP_API_JOIN_GROUP);
    reply_join(h, 0, 3, "m-1", "m-1", 1);
    expect_send(h, KP_API_SYNC_GROUP);
    assert_string_equal(cons_group_why(h->g), "");
    reply_sync(h, 27, NULL, 0);
    expect_send(h, KP_API_JOIN_GROUP); // nothing assigned yet: no revoke
    assert_string_equal(cons_group_member_id(h->g), "m-1");
    // The answer that sent it back is kept for the state line, until the next join succeeds.
    assert_non_null(strstr(cons_group_why(h->g), "SyncGroup answered REBALANCE_IN_PROGRESS"));
    reply_join(h, 0, 4, "m-1", "m-1", 1);
    assert_string_equal(cons_group_why(h->g), "");
    h_free(h);
}

static void test_sync_invalid_request_rejoins_then_gives_up(void **state)
{
    (void)state;
    // The librdkafka mock's answer to a follower whose SyncGroup arrives after the leader's.
    struct h *h = h_new(NULL);
    expect_send(h, KP_API_FIND_COORDINATOR);
    reply_find(h, 0, 1);
    expect_kind(h, CONS_GACT_COORDINATOR);
    for (int i = 0; i < 5; i++) {
        expect_send(h, KP_API_JOIN_GROUP);
        reply_join(h, 0, 3 + i, "m-z", "m-1", 0);
        expect_send(h, KP_API_SYNC_GROUP);
        reply_sync(h, 42, NULL, 0);
        h->now += 10000; // past the back-off
    }
    struct cons_group_action a;
    assert_int_equal(poll_act(h, &a), CONS_GACT_FATAL);
    assert_non_null(strstr(a.msg, "INVALID_REQUEST"));
    h_free(h);
}

static void test_revoke_deadline(void **state)
{
    (void)state;
    struct h *h = h_new(NULL);
    join_stable(h);
    cons_group_rejoin(h->g, h->now, 0);
    expect_kind(h, CONS_GACT_REVOKE);
    // While the upper layer takes its time, heartbeats keep the session alive.
    h->now += 500;
    expect_send(h, KP_API_HEARTBEAT);
    reply_code(h, KP_API_HEARTBEAT, 27);
    assert_int_equal(cons_group_state(h->g), CONS_GROUP_REVOKING);
    h->now += 500;
    expect_send(h, KP_API_HEARTBEAT);
    reply_code(h, KP_API_HEARTBEAT, 25); // the membership is gone: rejoin as a new member
    assert_string_equal(cons_group_member_id(h->g), "");
    h->now += 8999;
    expect_kind(h, CONS_GACT_NONE); // no member id: no more heartbeats
    h->now += 1; // rebalance timeout (10000) passed: go on without the upper layer
    expect_send(h, KP_API_JOIN_GROUP);
    h_free(h);
}

static void test_coordinator_found_while_revoking(void **state)
{
    (void)state;
    struct h *h = h_new(NULL);
    join_stable(h);
    cons_group_rejoin(h->g, h->now, 0);
    expect_kind(h, CONS_GACT_REVOKE);
    cons_group_coordinator_lost(h->g, h->now); // e.g. the revoke's commit saw NOT_COORDINATOR
    h->now += 100;
    expect_send(h, KP_API_FIND_COORDINATOR);
    reply_find(h, 0, 2);
    struct cons_group_action a;
    assert_int_equal(poll_act(h, &a), CONS_GACT_COORDINATOR);
    assert_int_equal(a.node_id, 2);
    assert_int_equal(cons_group_state(h->g), CONS_GROUP_REVOKING);
    cons_group_revoke_done(h->g, h->now);
    expect_send(h, KP_API_JOIN_GROUP);
    h_free(h);
}

static void test_session_expiry_rejoins(void **state)
{
    (void)state;
    struct h *h = h_new(NULL);
    join_stable(h);
    for (int i = 0; i < 12; i++) { // heartbeats that never get answers in time...
        h->now += 500;
        struct cons_group_action a;
        poll_act(h, &a);
        if (a.kind == CONS_GACT_SEND) {
            cons_group_on_response(h->g, h->now, a.api_key, V_HB, NULL, -2);
        }
        if (a.kind == CONS_GACT_REVOKE) {
            break;
        }
    }
    assert_int_equal(cons_group_state(h->g), CONS_GROUP_REVOKING);
    h_free(h);
}

static void test_leave_on_close(void **state)
{
    (void)state;
    struct h *h = h_new(NULL);
    join_stable(h);
    cons_group_close(h->g, h->now);
    expect_kind(h, CONS_GACT_REVOKE);
    cons_group_revoke_done(h->g, h->now);
    expect_send(h, KP_API_LEAVE_GROUP);
    assert_true(req_has(h, "m-1") && req_has(h, "grp"));
    expect_kind(h, CONS_GACT_NONE);
    reply_code(h, KP_API_LEAVE_GROUP, 0);
    expect_kind(h, CONS_GACT_CLOSED);
    assert_int_equal(cons_group_state(h->g), CONS_GROUP_CLOSED);
    h_free(h);
}

static void test_static_member(void **state)
{
    (void)state;
    struct h *h = h_new("host-a");
    expect_send(h, KP_API_FIND_COORDINATOR);
    reply_find(h, 0, 1);
    expect_kind(h, CONS_GACT_COORDINATOR);
    expect_send(h, KP_API_JOIN_GROUP);
    assert_true(req_has(h, "host-a")); // group.instance.id in JoinGroup v5
    reply_join(h, 0, 2, "m-1", "m-1", 1);
    expect_send(h, KP_API_SYNC_GROUP);
    assert_true(req_has(h, "host-a"));
    static const int32_t all[] = {0, 1, 2, 3};
    reply_sync(h, 0, all, 4);
    expect_kind(h, CONS_GACT_ASSIGNED);
    h->now += 500;
    expect_send(h, KP_API_HEARTBEAT);
    assert_true(req_has(h, "host-a"));
    reply_code(h, KP_API_HEARTBEAT, 0);
    // A static member does not send LeaveGroup (the coordinator keeps its slot), as Java.
    cons_group_close(h->g, h->now);
    expect_kind(h, CONS_GACT_REVOKE);
    cons_group_revoke_done(h->g, h->now);
    expect_kind(h, CONS_GACT_CLOSED);
    h_free(h);
}

static void test_find_coordinator_error_with_null_host(void **state)
{
    (void)state;
    // librdkafka's mock answers errors with a null Host, which the schema forbids: the error
    // code (read first) still counts.
    struct h *h = h_new(NULL);
    expect_send(h, KP_API_FIND_COORDINATOR);
    kw w;
    kw_init_grow(&w);
    kw_i32(&w, 0);
    kw_i16(&w, 30); // GROUP_AUTHORIZATION_FAILED
    kw_str(&w, "Broker: Group authorization failed");
    kw_i32(&w, -1);
    kw_str(&w, NULL);
    kw_i32(&w, -1);
    respond(h, KP_API_FIND_COORDINATOR, &w);
    struct cons_group_action a;
    assert_int_equal(poll_act(h, &a), CONS_GACT_FATAL);
    assert_int_equal(a.err_class, CONS_ERR_AUTHZ);
    assert_non_null(strstr(a.msg, "GROUP_AUTHORIZATION_FAILED"));
    h_free(h);
}

static void test_config_errors(void **state)
{
    (void)state;
    struct cons_group_config cfg = {.group_id = "", .topics = topics, .num_topics = 1};
    struct cons_group *g = cons_group_new(&cfg);
    struct cons_group_action a;
    cons_group_poll(g, 0, &a);
    assert_int_equal(a.kind, CONS_GACT_FATAL);
    assert_int_equal(a.err_class, CONS_ERR_CONFIG);
    cons_group_free(g);
    cons_group_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leader_join_assigns_every_member),
        cmocka_unit_test(test_follower_sends_no_assignments),
        cmocka_unit_test(test_member_id_required_round_trip),
        cmocka_unit_test(test_heartbeats_on_their_timer_one_at_a_time),
        cmocka_unit_test(test_rebalance_in_progress_keeps_member),
        cmocka_unit_test(test_illegal_generation_resets_generation),
        cmocka_unit_test(test_unknown_member_resets_member),
        cmocka_unit_test(test_fenced_instance_on_heartbeat_rejoins),
        cmocka_unit_test(test_coordinator_moves),
        cmocka_unit_test(test_coordinator_load_backs_off),
        cmocka_unit_test(test_find_coordinator_not_available_retries),
        cmocka_unit_test(test_join_lost_finds_coordinator_again),
        cmocka_unit_test(test_fatal_join_errors),
        cmocka_unit_test(test_sync_rebalance_rejoins),
        cmocka_unit_test(test_sync_invalid_request_rejoins_then_gives_up),
        cmocka_unit_test(test_revoke_deadline),
        cmocka_unit_test(test_coordinator_found_while_revoking),
        cmocka_unit_test(test_session_expiry_rejoins),
        cmocka_unit_test(test_leave_on_close),
        cmocka_unit_test(test_static_member),
        cmocka_unit_test(test_find_coordinator_error_with_null_host),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests_name("group_sm", tests, NULL, NULL);
}
