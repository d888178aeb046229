// group848.c: the KIP-848 consumer-group machine. See group848.h for the flow and the rules.
// No I/O, no clock, no logging: tests and the fuzzer drive it alone.
#include "consumer/group848.h"

#include "base/alloc.h"
#include "proto/api.h"
#include "proto/consumer_group_heartbeat.h"
#include "proto/errors.h"
#include "proto/find_coordinator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tpid_set {
    struct cons_tpid *v;
    size_t n;
};

struct cons_g848 {
    char *group_id, *member_id, *instance_id, *assignor;
    char **topics;
    size_t num_topics;
    uint32_t rebalance_ms, backoff_ms, request_ms, interval_ms;

    enum cons_g848_state state;
    int32_t epoch;
    struct tpid_set owned, target, rev;
    bool has_target;  // |target| holds an assignment not yet reconciled
    bool rev_lost;    // the revoke in progress is of lost partitions
    bool owned_dirty; // the owned set changed since the last heartbeat written
    bool full;        // the next heartbeat is a full one
    bool closing, leave_sent;

    int32_t coord_id;
    char coord_host[256];
    uint16_t coord_port;
    bool coord_announce;

    bool inflight_find, inflight_hb;
    bool revoke_announce, revoke_done, assigned_announce, closed_announce;
    uint64_t next_hb, wait_until, revoke_deadline;
    uint32_t failures;

    bool fatal_announce;
    enum cons_error_class fatal_class;
    char fatal_msg[256];
};

// ---- sets -----------------------------------------------------------------------------------

static bool set_has(const struct tpid_set *s, const struct cons_tpid *tp)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].partition == tp->partition && !memcmp(s->v[i].topic_id, tp->topic_id, 16)) {
            return true;
        }
    }
    return false;
}

static void set_add(struct tpid_set *s, const struct cons_tpid *tp)
{
    s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
    s->v[s->n++] = *tp;
}

static void set_clear(struct tpid_set *s)
{
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static void set_copy(struct tpid_set *dst, const struct tpid_set *src)
{
    set_clear(dst);
    for (size_t i = 0; i < src->n; i++) {
        set_add(dst, &src->v[i]);
    }
}

// set_minus leaves in |out| what |a| has and |b| has not.
static void set_minus(struct tpid_set *out, const struct tpid_set *a, const struct tpid_set *b)
{
    set_clear(out);
    for (size_t i = 0; i < a->n; i++) {
        if (!set_has(b, &a->v[i])) {
            set_add(out, &a->v[i]);
        }
    }
}

static bool set_equal(const struct tpid_set *a, const struct tpid_set *b)
{
    if (a->n != b->n) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (!set_has(b, &a->v[i])) {
            return false;
        }
    }
    return true;
}

// ---- lifecycle --------------------------------------------------------------------------------

static void fail(struct cons_g848 *g, enum cons_error_class cls, const char *what, int16_t code)
{
    if (g->state == CONS_G848_FAILED || g->state == CONS_G848_CLOSED) {
        return;
    }
    char nb[KP_ERROR_NAME_BUF];
    snprintf(g->fatal_msg, sizeof g->fatal_msg, "group %s: %s%s%s", g->group_id, what,
             code ? ": " : "", code ? kp_error_name_buf(code, nb, sizeof nb) : "");
    g->fatal_class = cls;
    g->fatal_announce = true;
    g->state = CONS_G848_FAILED;
    set_clear(&g->owned);
}

struct cons_g848 *cons_g848_new(const struct cons_g848_config *cfg)
{
    struct cons_g848 *g = xcalloc(1, sizeof *g);
    g->group_id = xstrdup(cfg->group_id ? cfg->group_id : "");
    g->member_id = xstrdup(cfg->member_id ? cfg->member_id : "");
    g->instance_id = cfg->instance_id ? xstrdup(cfg->instance_id) : NULL;
    g->assignor = cfg->server_assignor ? xstrdup(cfg->server_assignor) : NULL;
    g->topics = xcalloc(cfg->num_topics + 1, sizeof *g->topics);
    for (size_t i = 0; i < cfg->num_topics; i++) {
        g->topics[i] = xstrdup(cfg->topics[i]);
    }
    g->num_topics = cfg->num_topics;
    g->rebalance_ms = cfg->rebalance_timeout_ms ? cfg->rebalance_timeout_ms : 300000;
    g->backoff_ms = cfg->retry_backoff_ms ? cfg->retry_backoff_ms : 100;
    g->request_ms = cfg->request_timeout_ms ? cfg->request_timeout_ms : 30000;
    g->interval_ms = 5000; // until the coordinator says otherwise
    g->coord_id = -1;
    if (!g->group_id[0]) {
        fail(g, CONS_ERR_CONFIG, "empty group id", 0);
    } else if (!g->member_id[0] || strlen(g->member_id) > 64) {
        fail(g, CONS_ERR_CONFIG, "the member id must be 1-64 bytes", 0);
    } else if (g->num_topics == 0) {
        fail(g, CONS_ERR_CONFIG, "no topics to subscribe to", 0);
    }
    return g;
}

void cons_g848_free(struct cons_g848 *g)
{
    if (!g) {
        return;
    }
    for (size_t i = 0; i < g->num_topics; i++) {
        free(g->topics[i]);
    }
    free(g->topics);
    free(g->group_id);
    free(g->member_id);
    free(g->instance_id);
    free(g->assignor);
    set_clear(&g->owned);
    set_clear(&g->target);
    set_clear(&g->rev);
    free(g);
}

static void backoff(struct cons_g848 *g, uint64_t now)
{
    uint32_t n = g->failures < 10 ? g->failures : 10;
    g->failures++;
    g->wait_until = now + (uint64_t)g->backoff_ms * (n + 1);
}

static void forget_coordinator(struct cons_g848 *g, uint64_t now)
{
    g->coord_id = -1;
    g->full = true;   // the new coordinator may not have seen our last heartbeat
    g->next_hb = now; // as soon as it is found (after the back-off)
    backoff(g, now);
}

// ---- reconciliation ---------------------------------------------------------------------------

static void begin_revoke(struct cons_g848 *g, uint64_t now, bool lost)
{
    g->state = CONS_G848_RECONCILING;
    g->rev_lost = lost;
    g->revoke_announce = true;
    g->revoke_done = false;
    g->revoke_deadline = now + g->rebalance_ms;
}

// reconcile moves towards the target: revoke first what is no longer assigned; once nothing is
// to be revoked, take the target and acknowledge it at once.
static void reconcile(struct cons_g848 *g, uint64_t now)
{
    if (!g->has_target) {
        g->state = CONS_G848_STABLE;
        return;
    }
    set_minus(&g->rev, &g->owned, &g->target);
    if (g->rev.n > 0) {
        begin_revoke(g, now, false);
        return;
    }
    g->has_target = false;
    g->state = CONS_G848_STABLE;
    if (!set_equal(&g->owned, &g->target)) {
        set_copy(&g->owned, &g->target);
        g->owned_dirty = true;
        g->assigned_announce = true;
        g->next_hb = now; // the acknowledgement
    }
}

// lose: the membership is gone (fenced, unknown member): every owned partition is lost and the
// member joins again with epoch 0.
static void lose(struct cons_g848 *g, uint64_t now)
{
    g->epoch = 0;
    g->full = true;
    g->has_target = false;
    set_clear(&g->target);
    g->next_hb = now;
    if (g->owned.n > 0) {
        set_copy(&g->rev, &g->owned);
        begin_revoke(g, now, true);
        return;
    }
    g->state = g->closing ? CONS_G848_LEAVING : CONS_G848_JOINING;
}

static void finish_revoke(struct cons_g848 *g, uint64_t now)
{
    struct tpid_set rest = {0};
    set_minus(&rest, &g->owned, &g->rev);
    set_clear(&g->owned);
    g->owned = rest;
    g->owned_dirty = true;
    bool lost = g->rev_lost;
    set_clear(&g->rev);
    g->rev_lost = false;
    if (g->closing) {
        if (g->owned.n > 0) {
            set_copy(&g->rev, &g->owned);
            begin_revoke(g, now, false);
            return;
        }
        g->state = CONS_G848_LEAVING;
        return;
    }
    if (lost) {
        g->state = CONS_G848_JOINING;
        g->next_hb = now;
        return;
    }
    reconcile(g, now); // the target may have moved on meanwhile
    if (g->state == CONS_G848_STABLE) {
        g->next_hb = now; // acknowledge what was revoked
    }
}

// ---- responses --------------------------------------------------------------------------------

static void take_assignment(struct cons_g848 *g, const struct kp_cghb_resp *r)
{
    set_clear(&g->target);
    struct kp_cghb_iter it;
    struct kp_cghb_topic t;
    kp_cghb_topics(r, &it);
    while (kp_cghb_next_topic(&it, &t)) {
        for (uint32_t i = 0; i < t.num_partitions; i++) {
            struct cons_tpid tp;
            memcpy(tp.topic_id, t.topic_id, 16);
            if (kp_cghb_partition(&t, i, &tp.partition) && tp.partition >= 0 &&
                !set_has(&g->target, &tp)) {
                set_add(&g->target, &tp);
            }
        }
    }
    g->has_target = true;
}

static void on_heartbeat_error(struct cons_g848 *g, uint64_t now, int16_t code)
{
    switch (code) {
    case 110: // FENCED_MEMBER_EPOCH
    case KP_ERR_CODE_UNKNOWN_MEMBER_ID:
        lose(g, now);
        return;
    case KP_ERR_CODE_NOT_COORDINATOR:
    case KP_ERR_CODE_COORDINATOR_NOT_AVAILABLE:
        forget_coordinator(g, now);
        return;
    case KP_ERR_CODE_COORDINATOR_LOAD_IN_PROGRESS:
        backoff(g, now);
        return;
    case KP_ERR_CODE_UNSUPPORTED_VERSION:
        fail(g, CONS_ERR_CONFIG,
             "the cluster does not run the consumer group protocol (KIP-848); use GroupProtocol "
             "classic",
             code);
        return;
    case KP_ERR_CODE_GROUP_AUTHORIZATION_FAILED:
    case KP_ERR_CODE_TOPIC_AUTHORIZATION_FAILED:
        fail(g, CONS_ERR_AUTHZ, "ConsumerGroupHeartbeat", code);
        return;
    default:
        break;
    }
    enum kp_error_action a = kp_error_action_of(code);
    if (a == KP_ACTION_RETRY && code != KP_ERR_CODE_INVALID_REQUEST) {
        backoff(g, now);
        return;
    }
    fail(g, a == KP_ACTION_AUTHZ_FATAL ? CONS_ERR_AUTHZ : CONS_ERR_FATAL, "ConsumerGroupHeartbeat",
         code);
}

static void on_heartbeat(struct cons_g848 *g, uint64_t now, const struct kp_cghb_resp *r)
{
    if (g->state == CONS_G848_LEAVING) {
        g->state = CONS_G848_CLOSED;
        g->closed_announce = true;
        return;
    }
    if (r->error_code != 0) {
        on_heartbeat_error(g, now, r->error_code);
        return;
    }
    g->failures = 0;
    g->full = false;
    g->epoch = r->member_epoch;
    if (r->heartbeat_interval_ms > 0) {
        g->interval_ms = (uint32_t)r->heartbeat_interval_ms;
    }
    g->next_hb = now + g->interval_ms;
    if (!r->member_id_null && r->member_id.len > 0 && r->member_id.len <= 64) {
        char id[65];
        if (kr_copy_cstr(&r->member_id, id, sizeof id)) {
            free(g->member_id);
            g->member_id = xstrdup(id); // version 0: the coordinator may choose it
        }
    }
    if (r->has_assignment) {
        take_assignment(g, r);
    }
    if (g->state == CONS_G848_JOINING) {
        g->state = CONS_G848_STABLE;
    }
    if (g->state == CONS_G848_STABLE) {
        reconcile(g, now);
    }
}

static void on_find(struct cons_g848 *g, uint64_t now, kr *body, int16_t version)
{
    struct kp_find_coordinator_resp r;
    struct kp_err err = {0};
    struct kp_find_coordinator_iter it;
    struct kp_find_coordinator_coord c = {0};
    if (kp_find_coordinator_resp_parse(body, version, &r, &err) != KP_OK) {
        backoff(g, now);
        return;
    }
    kp_find_coordinator_coordinators(&r, &it);
    if (!kp_find_coordinator_next_coordinator(&it, &c) || c.error_code != 0 || c.node_id < 0 ||
        c.port <= 0 || c.port > 65535 ||
        !kr_copy_cstr(&c.host, g->coord_host, sizeof g->coord_host) || !g->coord_host[0]) {
        if (kp_error_action_of(c.error_code) == KP_ACTION_AUTHZ_FATAL) {
            fail(g, CONS_ERR_AUTHZ, "FindCoordinator", c.error_code);
        }
        backoff(g, now);
        return;
    }
    g->coord_id = c.node_id;
    g->coord_port = (uint16_t)c.port;
    g->coord_announce = true;
    g->failures = 0;
    g->wait_until = 0;
}

void cons_g848_on_response(struct cons_g848 *g, uint64_t now, int16_t api_key, int16_t version,
                           const kr *body, int net_err)
{
    bool *inflight = api_key == KP_API_FIND_COORDINATOR ? &g->inflight_find : &g->inflight_hb;
    if ((api_key != KP_API_FIND_COORDINATOR && api_key != KP_API_CONSUMER_GROUP_HEARTBEAT) ||
        !*inflight) {
        return;
    }
    *inflight = false;
    if (g->state == CONS_G848_FAILED || g->state == CONS_G848_CLOSED) {
        return;
    }
    kr b = body ? *body : (kr){0};
    if (api_key == KP_API_FIND_COORDINATOR) {
        if (net_err || !body) {
            backoff(g, now);
        } else {
            on_find(g, now, &b, version);
        }
        return;
    }
    struct kp_cghb_resp r;
    struct kp_err err = {0};
    if (net_err || !body || kp_cghb_resp_parse(&b, version, &r, &err) != KP_OK) {
        if (g->state == CONS_G848_LEAVING) {
            g->state = CONS_G848_CLOSED; // the session timeout removes us
            g->closed_announce = true;
            return;
        }
        forget_coordinator(g, now); // unknown whether it arrived: the next one is full
        return;
    }
    on_heartbeat(g, now, &r);
}

// ---- actions ----------------------------------------------------------------------------------

static bool send(struct cons_g848 *g, int16_t api, struct cons_g848_action *out)
{
    bool find = api == KP_API_FIND_COORDINATOR;
    *(find ? &g->inflight_find : &g->inflight_hb) = true;
    out->kind = CONS_G848_SEND;
    out->api_key = api;
    out->to_coordinator = !find;
    out->timeout_ms = g->request_ms;
    return true;
}

// announce returns the pending announcement, if any.
static bool announce(struct cons_g848 *g, struct cons_g848_action *out)
{
    if (g->coord_announce) {
        g->coord_announce = false;
        out->kind = CONS_G848_COORDINATOR;
        out->node_id = g->coord_id;
        out->host = g->coord_host;
        out->port = g->coord_port;
        return true;
    }
    if (g->revoke_announce) {
        g->revoke_announce = false;
        out->kind = CONS_G848_REVOKE;
        out->lost = g->rev_lost;
        return true;
    }
    if (g->assigned_announce) {
        g->assigned_announce = false;
        out->kind = CONS_G848_ASSIGNED;
        return true;
    }
    if (g->closed_announce) {
        g->closed_announce = false;
        out->kind = CONS_G848_CLOSED_ACT;
        return true;
    }
    return false;
}

// heartbeat_due: whether this state heartbeats now.
static bool heartbeat_due(const struct cons_g848 *g, uint64_t now)
{
    if (g->inflight_hb || g->coord_id < 0 || now < g->wait_until) {
        return false;
    }
    switch (g->state) {
    case CONS_G848_JOINING:
    case CONS_G848_STABLE:
        return now >= g->next_hb;
    case CONS_G848_RECONCILING:
        return !g->rev_lost && now >= g->next_hb; // keep the membership while revoking
    case CONS_G848_LEAVING:
        return !g->leave_sent;
    case CONS_G848_INIT:
    case CONS_G848_CLOSED:
    case CONS_G848_FAILED:
        return false;
    }
    return false;
}

void cons_g848_poll(struct cons_g848 *g, uint64_t now, struct cons_g848_action *out)
{
    memset(out, 0, sizeof *out);
    if (g->state == CONS_G848_FAILED) {
        if (g->fatal_announce) {
            g->fatal_announce = false;
            out->kind = CONS_G848_FATAL;
            out->err_class = g->fatal_class;
            out->msg = g->fatal_msg;
        }
        return;
    }
    if (announce(g, out) || g->state == CONS_G848_CLOSED) {
        return;
    }
    if (g->state == CONS_G848_INIT) {
        g->state = CONS_G848_JOINING;
        g->epoch = 0;
        g->full = true;
    }
    if (g->state == CONS_G848_RECONCILING && (g->revoke_done || now >= g->revoke_deadline)) {
        finish_revoke(g, now);
        if (announce(g, out)) {
            return;
        }
    }
    if (g->state == CONS_G848_LEAVING && (g->epoch <= 0 || g->coord_id < 0) && !g->inflight_hb) {
        // Never joined, or nobody to tell: the session timeout removes us.
        g->state = CONS_G848_CLOSED;
        out->kind = CONS_G848_CLOSED_ACT;
        return;
    }
    if (g->coord_id < 0) {
        if (!g->inflight_find && now >= g->wait_until) {
            send(g, KP_API_FIND_COORDINATOR, out);
        }
        return;
    }
    if (heartbeat_due(g, now)) {
        if (g->state == CONS_G848_LEAVING) {
            g->leave_sent = true;
        } else {
            g->next_hb = now + g->interval_ms;
        }
        send(g, KP_API_CONSUMER_GROUP_HEARTBEAT, out);
    }
}

uint64_t cons_g848_next_wake(const struct cons_g848 *g)
{
    if (g->state == CONS_G848_FAILED || g->state == CONS_G848_CLOSED) {
        return UINT64_MAX;
    }
    uint64_t t = g->next_hb > g->wait_until ? g->next_hb : g->wait_until;
    if (g->state == CONS_G848_RECONCILING && g->revoke_deadline < t) {
        t = g->revoke_deadline;
    }
    return t;
}

// ---- request bodies ---------------------------------------------------------------------------

// write_heartbeat groups the owned partitions by topic id when they go out.
static bool write_heartbeat(struct cons_g848 *g, int16_t version, kw *w)
{
    bool leaving = g->state == CONS_G848_LEAVING;
    bool full = g->full && !leaving;
    bool send_owned = !leaving && (full || g->owned_dirty);
    struct kp_cghb_topic_partitions *tps = xcalloc(g->owned.n + 1, sizeof *tps);
    int32_t *parts = xcalloc(g->owned.n + 1, sizeof *parts);
    size_t nt = 0, np = 0;
    for (size_t i = 0; send_owned && i < g->owned.n; i++) {
        bool seen = false;
        for (size_t t = 0; t < nt && !seen; t++) {
            seen = !memcmp(tps[t].topic_id, g->owned.v[i].topic_id, 16);
        }
        if (seen) {
            continue;
        }
        tps[nt] = (struct kp_cghb_topic_partitions){.topic_id = g->owned.v[i].topic_id,
                                                    .partitions = &parts[np]};
        for (size_t j = i; j < g->owned.n; j++) {
            if (!memcmp(g->owned.v[j].topic_id, g->owned.v[i].topic_id, 16)) {
                parts[np++] = g->owned.v[j].partition;
                tps[nt].num_partitions++;
            }
        }
        nt++;
    }
    struct kp_cghb_req req = {
        .group_id = g->group_id,
        .member_id = g->member_id,
        .member_epoch = leaving ? (g->instance_id ? -2 : -1) : g->epoch,
        .instance_id = full ? g->instance_id : NULL,
        .rebalance_timeout_ms = full ? (int32_t)g->rebalance_ms : -1,
        .send_topics = full,
        .topics = (const char *const *)g->topics,
        .num_topics = g->num_topics,
        .server_assignor = full ? g->assignor : NULL,
        .send_owned = send_owned,
        .owned = tps,
        .num_owned = nt,
    };
    bool ok = kp_cghb_req_write(w, version, &req);
    if (ok && send_owned) {
        g->owned_dirty = false;
    }
    free(tps);
    free(parts);
    return ok;
}

bool cons_g848_write_request(struct cons_g848 *g, int16_t api_key, int16_t version, kw *w)
{
    if (api_key == KP_API_FIND_COORDINATOR && g->inflight_find) {
        const char *keys[] = {g->group_id};
        struct kp_find_coordinator_req req = {
            .key_type = KP_COORDINATOR_GROUP, .keys = keys, .num_keys = 1};
        return kp_find_coordinator_req_write(w, version, &req);
    }
    if (api_key == KP_API_CONSUMER_GROUP_HEARTBEAT && g->inflight_hb) {
        return write_heartbeat(g, version, w);
    }
    return false;
}

// ---- upper-layer inputs and accessors ---------------------------------------------------------

void cons_g848_revoke_done(struct cons_g848 *g, uint64_t now)
{
    (void)now;
    if (g->state == CONS_G848_RECONCILING && !g->revoke_announce) {
        g->revoke_done = true;
    }
}

void cons_g848_close(struct cons_g848 *g, uint64_t now)
{
    if (g->closing || g->state == CONS_G848_FAILED || g->state == CONS_G848_CLOSED) {
        return;
    }
    g->closing = true;
    g->has_target = false;
    if (g->state == CONS_G848_RECONCILING) {
        return; // finish_revoke revokes the rest, then leaves
    }
    if (g->owned.n > 0) {
        set_copy(&g->rev, &g->owned);
        begin_revoke(g, now, false);
        return;
    }
    g->state = CONS_G848_LEAVING;
}

void cons_g848_coordinator_lost(struct cons_g848 *g, uint64_t now)
{
    if (g->coord_id >= 0) {
        forget_coordinator(g, now);
    }
}

enum cons_g848_state cons_g848_state(const struct cons_g848 *g)
{
    return g->state;
}

const char *cons_g848_state_name(enum cons_g848_state st)
{
    static const char *const names[] = {"INIT",    "JOINING", "STABLE", "RECONCILING",
                                        "LEAVING", "CLOSED",  "FAILED"};
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "UNKNOWN";
}

int32_t cons_g848_epoch(const struct cons_g848 *g)
{
    return g->epoch;
}

const char *cons_g848_member_id(const struct cons_g848 *g)
{
    return g->member_id;
}

uint32_t cons_g848_heartbeat_interval(const struct cons_g848 *g)
{
    return g->interval_ms;
}

int32_t cons_g848_coordinator(const struct cons_g848 *g)
{
    return g->coord_id;
}

const struct cons_tpid *cons_g848_assigned(const struct cons_g848 *g, size_t *out_n)
{
    *out_n = g->owned.n;
    return g->owned.v;
}

const struct cons_tpid *cons_g848_revoking(const struct cons_g848 *g, size_t *out_n)
{
    *out_n = g->rev.n;
    return g->rev.v;
}
