// group.c: the classic consumer-group state machine. See group.h for the flow and the error
// table; this file has no I/O, no clock and no logging, so tests and the fuzzer drive it alone.
#include "consumer/group.h"

#include "base/alloc.h"
#include "proto/api.h"
#include "proto/consumer_protocol.h"
#include "proto/errors.h"
#include "proto/find_coordinator.h"
#include "proto/heartbeat.h"
#include "proto/join_group.h"
#include "proto/leave_group.h"
#include "proto/sync_group.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ID 256
#define MAX_MEMBERS 1024
#define NUM_KINDS 5

// INVALID_REQUEST (42): not among proto/errors.h's named codes.
enum { ERR_INVALID_REQUEST = 42 };

// Request kinds the machine sends (index into inflight/pending).
enum kind { K_FIND = 0, K_JOIN, K_SYNC, K_HEARTBEAT, K_LEAVE };

static const int16_t kind_api[NUM_KINDS] = {KP_API_FIND_COORDINATOR, KP_API_JOIN_GROUP,
                                            KP_API_SYNC_GROUP, KP_API_HEARTBEAT,
                                            KP_API_LEAVE_GROUP};

struct sync_entry {
    char *member_id;
    uint8_t *blob;
    size_t blob_len;
};

struct cons_group {
    // configuration
    char *group_id;
    char *instance_id;
    char **topics;
    size_t num_topics;
    uint32_t session_ms, heartbeat_ms, rebalance_ms, backoff_ms, sync_delay_ms;
    enum cons_assignor assignors[2];
    size_t num_assignors;
    uint8_t *sub_blob; // our subscription (same for every protocol)
    size_t sub_blob_len;

    // membership
    enum cons_group_state state;
    char member_id[MAX_ID];
    int32_t generation;
    char leader[MAX_ID];
    char protocol[32];
    struct cons_tp *assigned;
    size_t num_assigned;
    char **assigned_topics; // owned strings the cons_tp entries point at
    size_t num_assigned_topics;
    struct sync_entry *sync;
    size_t num_sync;

    // coordinator
    int32_t coord_id; // -1 unknown
    char coord_host[256];
    uint16_t coord_port;
    bool coord_announce;

    // scheduling
    bool inflight[NUM_KINDS];
    bool join_wanted;  // send JoinGroup when possible
    bool sync_wanted;  // send SyncGroup when possible
    bool leave_wanted; // send LeaveGroup when possible
    bool closing;
    bool revoke_announce;
    bool revoke_done;
    bool assigned_announce;
    uint64_t revoke_deadline;
    uint64_t wait_until; // backoff: no request before this time
    uint64_t next_heartbeat;
    uint64_t last_heartbeat_ok;
    uint32_t failures;     // consecutive, for the backoff
    uint32_t sync_invalid; // consecutive SyncGroup INVALID_REQUEST answers

    // topic metadata for assignment
    struct cons_topic_meta *meta;
    char **meta_names; // owned strings meta[].topic points at
    size_t num_meta;

    // fatal
    bool fatal_announce;
    enum cons_error_class fatal_class;
    char fatal_msg[256];
};

// ---- small helpers ----------------------------------------------------------------------------

static int kind_of(int16_t api_key)
{
    for (int i = 0; i < NUM_KINDS; i++) {
        if (kind_api[i] == api_key) {
            return i;
        }
    }
    return -1;
}

static void free_sync(struct cons_group *g)
{
    for (size_t i = 0; i < g->num_sync; i++) {
        free(g->sync[i].member_id);
        free(g->sync[i].blob);
    }
    free(g->sync);
    g->sync = NULL;
    g->num_sync = 0;
}

static void clear_assignment(struct cons_group *g)
{
    free(g->assigned);
    g->assigned = NULL;
    g->num_assigned = 0;
    for (size_t i = 0; i < g->num_assigned_topics; i++) {
        free(g->assigned_topics[i]);
    }
    free(g->assigned_topics);
    g->assigned_topics = NULL;
    g->num_assigned_topics = 0;
}

static void backoff(struct cons_group *g, uint64_t now)
{
    uint32_t n = g->failures < 10 ? g->failures : 10;
    g->failures++;
    g->wait_until = now + (uint64_t)g->backoff_ms * (n + 1);
}

static void fail(struct cons_group *g, enum cons_error_class cls, const char *what, int16_t code)
{
    if (g->state == CONS_GROUP_FAILED || g->state == CONS_GROUP_CLOSED) {
        return;
    }
    char nb[KP_ERROR_NAME_BUF];
    snprintf(g->fatal_msg, sizeof g->fatal_msg, "group %s: %s: %s", g->group_id, what,
             code ? kp_error_name_buf(code, nb, sizeof nb) : "failed");
    g->fatal_class = cls;
    g->fatal_announce = true;
    g->state = CONS_GROUP_FAILED;
    clear_assignment(g);
}

static void fail_code(struct cons_group *g, const char *what, int16_t code)
{
    enum kp_error_action a = kp_error_action_of(code);
    enum cons_error_class cls = a == KP_ACTION_AUTHZ_FATAL   ? CONS_ERR_AUTHZ
                                : a == KP_ACTION_AUTHN_FATAL ? CONS_ERR_AUTHN
                                : code == 26 ? CONS_ERR_CONFIG // INVALID_SESSION_TIMEOUT
                                : code == 24 ? CONS_ERR_CONFIG // INVALID_GROUP_ID
                                             : CONS_ERR_FATAL;
    fail(g, cls, what, code);
}

static void forget_coordinator(struct cons_group *g, uint64_t now)
{
    g->coord_id = -1;
    backoff(g, now);
}

// start_rejoin leaves STABLE/SYNCING/JOINING for a new join, revoking first if partitions are
// assigned.
static void start_rejoin(struct cons_group *g, uint64_t now)
{
    if (g->state == CONS_GROUP_FAILED || g->state == CONS_GROUP_CLOSED || g->closing) {
        return;
    }
    g->sync_wanted = false;
    free_sync(g);
    if (g->num_assigned > 0) {
        if (g->state != CONS_GROUP_REVOKING) {
            g->state = CONS_GROUP_REVOKING;
            g->revoke_announce = true;
            g->revoke_done = false;
            g->revoke_deadline = now + g->rebalance_ms;
        }
        return;
    }
    g->state = CONS_GROUP_JOINING;
    g->join_wanted = true;
}

// ---- lifecycle --------------------------------------------------------------------------------

static void build_subscription(struct cons_group *g)
{
    kw w;
    kw_init_grow(&w);
    struct kp_consumer_subscription s = {.version = 1,
                                         .topics = (const char *const *)g->topics,
                                         .num_topics = g->num_topics,
                                         .user_data = (const uint8_t *)"",
                                         .user_data_len = 0,
                                         .generation_id = -1};
    size_t len = 0;
    if (!kp_consumer_subscription_write(&w, &s) || !kw_finish(&w, &len)) {
        kw_cleanup(&w);
        fail(g, CONS_ERR_CONFIG, "subscription does not encode (topic name too long?)", 0);
        return;
    }
    g->sub_blob = kw_take_buf(&w, &g->sub_blob_len);
}

struct cons_group *cons_group_new(const struct cons_group_config *cfg)
{
    struct cons_group *g = xcalloc(1, sizeof *g);
    g->group_id = xstrdup(cfg->group_id ? cfg->group_id : "");
    g->instance_id = cfg->group_instance_id ? xstrdup(cfg->group_instance_id) : NULL;
    g->num_topics = cfg->num_topics;
    g->topics = xcalloc(cfg->num_topics + 1, sizeof *g->topics);
    for (size_t i = 0; i < cfg->num_topics; i++) {
        g->topics[i] = xstrdup(cfg->topics[i]);
    }
    g->session_ms = cfg->session_timeout_ms ? cfg->session_timeout_ms : 45000;
    g->heartbeat_ms = cfg->heartbeat_interval_ms ? cfg->heartbeat_interval_ms : 3000;
    g->rebalance_ms = cfg->rebalance_timeout_ms ? cfg->rebalance_timeout_ms : 300000;
    g->backoff_ms = cfg->retry_backoff_ms ? cfg->retry_backoff_ms : 100;
    g->sync_delay_ms = cfg->leader_sync_delay_ms;
    if (cfg->assignors && cfg->num_assignors > 0) {
        g->num_assignors = cfg->num_assignors < 2 ? cfg->num_assignors : 2;
        memcpy(g->assignors, cfg->assignors, g->num_assignors * sizeof *g->assignors);
    } else {
        g->assignors[0] = CONS_ASSIGNOR_RANGE;
        g->assignors[1] = CONS_ASSIGNOR_ROUNDROBIN;
        g->num_assignors = 2;
    }
    g->generation = -1;
    g->coord_id = -1;
    g->state = CONS_GROUP_INIT;
    if (!g->group_id[0]) {
        fail(g, CONS_ERR_CONFIG, "empty group id", 0);
    } else if (g->num_topics == 0) {
        fail(g, CONS_ERR_CONFIG, "no topics to subscribe to", 0);
    } else {
        build_subscription(g);
    }
    return g;
}

void cons_group_free(struct cons_group *g)
{
    if (!g) {
        return;
    }
    free(g->group_id);
    free(g->instance_id);
    for (size_t i = 0; i < g->num_topics; i++) {
        free(g->topics[i]);
    }
    free(g->topics);
    free(g->sub_blob);
    clear_assignment(g);
    free_sync(g);
    for (size_t i = 0; i < g->num_meta; i++) {
        free(g->meta_names[i]);
    }
    free(g->meta_names);
    free(g->meta);
    free(g);
}

void cons_group_set_topic_meta(struct cons_group *g, const struct cons_topic_meta *topics,
                               size_t num_topics)
{
    for (size_t i = 0; i < g->num_meta; i++) {
        free(g->meta_names[i]);
    }
    free(g->meta_names);
    free(g->meta);
    g->meta = xcalloc(num_topics + 1, sizeof *g->meta);
    g->meta_names = xcalloc(num_topics + 1, sizeof *g->meta_names);
    for (size_t i = 0; i < num_topics; i++) {
        g->meta_names[i] = xstrdup(topics[i].topic);
        g->meta[i].topic = g->meta_names[i];
        g->meta[i].num_partitions = topics[i].num_partitions;
    }
    g->num_meta = num_topics;
}

// ---- actions ----------------------------------------------------------------------------------

static bool send(struct cons_group *g, enum kind k, struct cons_group_action *out)
{
    g->inflight[k] = true;
    out->kind = CONS_GACT_SEND;
    out->api_key = kind_api[k];
    out->to_coordinator = k != K_FIND;
    out->timeout_ms = k == K_JOIN ? g->rebalance_ms + 5000 : g->session_ms + 5000;
    if (k == K_SYNC) {
        out->timeout_ms = g->rebalance_ms + 5000;
    }
    return true;
}

// need_coordinator handles the coordinator lookup shared by every state: returns true with an
// action when one is due (FindCoordinator or the COORDINATOR announcement), and sets *blocked
// when the state must wait for the coordinator.
static bool need_coordinator(struct cons_group *g, uint64_t now, struct cons_group_action *out,
                             bool *blocked)
{
    *blocked = false;
    if (g->coord_announce) {
        g->coord_announce = false;
        out->kind = CONS_GACT_COORDINATOR;
        out->node_id = g->coord_id;
        out->host = g->coord_host;
        out->port = g->coord_port;
        return true;
    }
    if (g->coord_id >= 0) {
        return false;
    }
    *blocked = true;
    if (g->inflight[K_FIND] || now < g->wait_until) {
        return false;
    }
    return send(g, K_FIND, out);
}

static bool do_init(struct cons_group *g, uint64_t now, struct cons_group_action *out)
{
    (void)now;
    (void)out;
    g->state = CONS_GROUP_JOINING;
    g->join_wanted = true;
    return false;
}

static bool do_joining(struct cons_group *g, uint64_t now, struct cons_group_action *out)
{
    bool blocked;
    if (need_coordinator(g, now, out, &blocked)) {
        return true;
    }
    if (blocked || !g->join_wanted || g->inflight[K_JOIN] || now < g->wait_until) {
        return false;
    }
    g->join_wanted = false;
    return send(g, K_JOIN, out);
}

static bool do_syncing(struct cons_group *g, uint64_t now, struct cons_group_action *out)
{
    bool blocked;
    if (need_coordinator(g, now, out, &blocked)) {
        return true;
    }
    if (blocked || !g->sync_wanted || g->inflight[K_SYNC] || now < g->wait_until) {
        return false;
    }
    g->sync_wanted = false;
    return send(g, K_SYNC, out);
}

static bool do_stable(struct cons_group *g, uint64_t now, struct cons_group_action *out)
{
    if (g->assigned_announce) {
        g->assigned_announce = false;
        out->kind = CONS_GACT_ASSIGNED;
        return true;
    }
    if (now >= g->last_heartbeat_ok + g->session_ms) {
        // No successful heartbeat for a whole session: the coordinator has dropped us.
        g->generation = -1;
        start_rejoin(g, now);
        return false;
    }
    bool blocked;
    if (need_coordinator(g, now, out, &blocked)) {
        return true;
    }
    if (blocked || g->inflight[K_HEARTBEAT] || now < g->next_heartbeat || now < g->wait_until) {
        return false;
    }
    g->next_heartbeat = now + g->heartbeat_ms;
    return send(g, K_HEARTBEAT, out);
}

static bool do_revoking(struct cons_group *g, uint64_t now, struct cons_group_action *out)
{
    if (g->revoke_announce) {
        g->revoke_announce = false;
        out->kind = CONS_GACT_REVOKE;
        return true;
    }
    bool blocked;
    if (need_coordinator(g, now, out, &blocked)) {
        return true; // the final commit of the revoke needs the coordinator too
    }
    if (!g->revoke_done && now < g->revoke_deadline) {
        // Keep the session alive while the upper layer finishes (as Java's heartbeat thread
        // does during onPartitionsRevoked); the answers only matter if they end the membership.
        if (g->coord_id >= 0 && g->member_id[0] && !g->inflight[K_HEARTBEAT] &&
            now >= g->next_heartbeat) {
            g->next_heartbeat = now + g->heartbeat_ms;
            return send(g, K_HEARTBEAT, out);
        }
        return false;
    }
    clear_assignment(g);
    if (g->closing) {
        g->state = CONS_GROUP_LEAVING;
        g->leave_wanted = g->member_id[0] && !g->instance_id;
    } else {
        g->state = CONS_GROUP_JOINING;
        g->join_wanted = true;
    }
    return false;
}

static bool do_leaving(struct cons_group *g, uint64_t now, struct cons_group_action *out)
{
    if (g->leave_wanted) {
        if (g->coord_id < 0) {
            // No coordinator to tell: the session timeout will remove us.
            g->leave_wanted = false;
        } else if (!g->inflight[K_LEAVE]) {
            g->leave_wanted = false;
            return send(g, K_LEAVE, out);
        }
    }
    (void)now;
    if (!g->leave_wanted && !g->inflight[K_LEAVE]) {
        g->state = CONS_GROUP_CLOSED;
        g->member_id[0] = 0;
        g->generation = -1;
        out->kind = CONS_GACT_CLOSED;
        return true;
    }
    return false;
}

static bool do_failed(struct cons_group *g, struct cons_group_action *out)
{
    if (!g->fatal_announce) {
        return false;
    }
    g->fatal_announce = false;
    out->kind = CONS_GACT_FATAL;
    out->err_class = g->fatal_class;
    out->msg = g->fatal_msg;
    return true;
}

void cons_group_poll(struct cons_group *g, uint64_t now, struct cons_group_action *out)
{
    memset(out, 0, sizeof *out);
    for (int guard = 0; guard < 8; guard++) {
        enum cons_group_state before = g->state;
        bool acted = false;
        switch (g->state) {
        case CONS_GROUP_INIT:
            acted = do_init(g, now, out);
            break;
        case CONS_GROUP_JOINING:
            acted = do_joining(g, now, out);
            break;
        case CONS_GROUP_SYNCING:
            acted = do_syncing(g, now, out);
            break;
        case CONS_GROUP_STABLE:
            acted = do_stable(g, now, out);
            break;
        case CONS_GROUP_REVOKING:
            acted = do_revoking(g, now, out);
            break;
        case CONS_GROUP_LEAVING:
            acted = do_leaving(g, now, out);
            break;
        case CONS_GROUP_CLOSED:
            break;
        case CONS_GROUP_FAILED:
            acted = do_failed(g, out);
            break;
        }
        if (acted || g->state == before) {
            return;
        }
    }
}

uint64_t cons_group_next_wake(const struct cons_group *g)
{
    uint64_t t = UINT64_MAX;
    switch (g->state) {
    case CONS_GROUP_STABLE:
        t = g->next_heartbeat;
        if (g->last_heartbeat_ok + g->session_ms < t) {
            t = g->last_heartbeat_ok + g->session_ms;
        }
        break;
    case CONS_GROUP_REVOKING:
        t = g->revoke_deadline < g->next_heartbeat ? g->revoke_deadline : g->next_heartbeat;
        break;
    case CONS_GROUP_INIT:
        t = 0;
        break;
    case CONS_GROUP_JOINING:
    case CONS_GROUP_SYNCING:
    case CONS_GROUP_LEAVING:
    case CONS_GROUP_CLOSED:
    case CONS_GROUP_FAILED:
        break;
    }
    if (g->wait_until > 0 && g->wait_until < t && g->state != CONS_GROUP_CLOSED &&
        g->state != CONS_GROUP_FAILED) {
        t = g->wait_until;
    }
    return t;
}

// ---- request bodies ---------------------------------------------------------------------------

static bool write_join(struct cons_group *g, int16_t version, kw *w)
{
    struct kp_join_group_req_protocol protos[2];
    for (size_t i = 0; i < g->num_assignors; i++) {
        protos[i] = (struct kp_join_group_req_protocol){.name = cons_assignor_name(g->assignors[i]),
                                                        .metadata = g->sub_blob,
                                                        .metadata_len = g->sub_blob_len};
    }
    struct kp_join_group_req req = {.group_id = g->group_id,
                                    .session_timeout_ms = (int32_t)g->session_ms,
                                    .rebalance_timeout_ms = (int32_t)g->rebalance_ms,
                                    .member_id = g->member_id,
                                    .group_instance_id = version >= 5 ? g->instance_id : NULL,
                                    .protocol_type = "consumer",
                                    .protocols = protos,
                                    .num_protocols = g->num_assignors};
    return kp_join_group_req_write(w, version, &req);
}

static bool write_sync(struct cons_group *g, int16_t version, kw *w)
{
    struct kp_sync_group_req_assignment *as = xcalloc(g->num_sync + 1, sizeof *as);
    for (size_t i = 0; i < g->num_sync; i++) {
        as[i] = (struct kp_sync_group_req_assignment){.member_id = g->sync[i].member_id,
                                                      .assignment = g->sync[i].blob,
                                                      .assignment_len = g->sync[i].blob_len};
    }
    struct kp_sync_group_req req = {.group_id = g->group_id,
                                    .generation_id = g->generation,
                                    .member_id = g->member_id,
                                    .group_instance_id = version >= 3 ? g->instance_id : NULL,
                                    .protocol_type = "consumer",
                                    .protocol_name = g->protocol,
                                    .assignments = as,
                                    .num_assignments = g->num_sync};
    bool ok = kp_sync_group_req_write(w, version, &req);
    free(as);
    return ok;
}

bool cons_group_write_request(struct cons_group *g, int16_t api_key, int16_t version, kw *w)
{
    int k = kind_of(api_key);
    if (k < 0 || !g->inflight[k]) {
        return false;
    }
    switch ((enum kind)k) {
    case K_FIND: {
        const char *keys[] = {g->group_id};
        struct kp_find_coordinator_req req = {
            .key_type = KP_COORDINATOR_GROUP, .keys = keys, .num_keys = 1};
        return kp_find_coordinator_req_write(w, version, &req);
    }
    case K_JOIN:
        return write_join(g, version, w);
    case K_SYNC:
        return write_sync(g, version, w);
    case K_HEARTBEAT: {
        struct kp_heartbeat_req req = {.group_id = g->group_id,
                                       .generation_id = g->generation,
                                       .member_id = g->member_id,
                                       .group_instance_id = version >= 3 ? g->instance_id : NULL};
        return kp_heartbeat_req_write(w, version, &req);
    }
    case K_LEAVE: {
        struct kp_leave_group_req_member m = {
            .member_id = g->member_id, .group_instance_id = version >= 3 ? g->instance_id : NULL};
        struct kp_leave_group_req req = {.group_id = g->group_id, .members = &m, .num_members = 1};
        return kp_leave_group_req_write(w, version, &req);
    }
    }
    return false;
}

// ---- responses --------------------------------------------------------------------------------

// coordinator_error handles the codes every coordinator request shares; returns true if it
// handled |code|.
static bool coordinator_error(struct cons_group *g, uint64_t now, int16_t code)
{
    switch (code) {
    case KP_ERR_CODE_COORDINATOR_NOT_AVAILABLE:
    case KP_ERR_CODE_NOT_COORDINATOR:
        forget_coordinator(g, now);
        return true;
    case KP_ERR_CODE_COORDINATOR_LOAD_IN_PROGRESS:
        backoff(g, now);
        return true;
    default:
        return false;
    }
}

static void on_find(struct cons_group *g, uint64_t now, const struct kp_find_coordinator_resp *r)
{
    struct kp_find_coordinator_iter it;
    struct kp_find_coordinator_coord c;
    kp_find_coordinator_coordinators(r, &it);
    if (!kp_find_coordinator_next_coordinator(&it, &c)) {
        backoff(g, now);
        return;
    }
    if (c.error_code != 0) {
        enum kp_error_action a = kp_error_action_of(c.error_code);
        if (a == KP_ACTION_AUTHZ_FATAL || a == KP_ACTION_FATAL) {
            fail_code(g, "FindCoordinator", c.error_code);
        } else {
            backoff(g, now);
        }
        return;
    }
    if (c.node_id < 0 || c.port <= 0 || c.port > 65535 ||
        !kr_copy_cstr(&c.host, g->coord_host, sizeof g->coord_host) || !g->coord_host[0]) {
        backoff(g, now);
        return;
    }
    g->coord_id = c.node_id;
    g->coord_port = (uint16_t)c.port;
    g->coord_announce = true;
    g->failures = 0;
    g->wait_until = 0;
}

// collect_members decodes the leader's member list into assignor input. Returns the count, or
// -1 if a member entry is unusable (the caller fails the join).
static long collect_members(const struct kp_join_group_resp *r, struct cons_member_sub *subs,
                            char ***topic_store, size_t *num_store)
{
    struct kp_join_group_member_iter it;
    struct kp_join_group_member m;
    kp_join_group_members(r, &it);
    size_t n = 0;
    while (n < MAX_MEMBERS && kp_join_group_next_member(&it, &m)) {
        char *mid = xmalloc(m.member_id.len + 1);
        char *iid = NULL;
        *topic_store = xrealloc(*topic_store, (*num_store + 2) * sizeof **topic_store);
        (*topic_store)[(*num_store)++] = mid;
        if (!kr_copy_cstr(&m.member_id, mid, m.member_id.len + 1)) {
            return -1;
        }
        if (!m.group_instance_id_null) {
            iid = xmalloc(m.group_instance_id.len + 1);
            (*topic_store)[(*num_store)++] = iid;
            if (!kr_copy_cstr(&m.group_instance_id, iid, m.group_instance_id.len + 1)) {
                return -1;
            }
        }
        kr meta = m.metadata;
        struct kp_consumer_subscription_view sv;
        struct kp_err err = {0};
        const char **topics = NULL;
        size_t nt = 0;
        if (kp_consumer_subscription_parse(&meta, &sv, &err) == KP_OK) {
            struct kp_consumer_iter ti;
            kr name;
            topics = xcalloc(sv.num_topics + 1, sizeof *topics);
            kp_consumer_iter_init(&ti, &sv.topics, sv.num_topics);
            while (kp_consumer_next_topic_name(&ti, &name)) {
                char *t = xmalloc(name.len + 1);
                *topic_store = xrealloc(*topic_store, (*num_store + 1) * sizeof **topic_store);
                (*topic_store)[(*num_store)++] = t;
                if (kr_copy_cstr(&name, t, name.len + 1)) {
                    topics[nt++] = t;
                }
            }
        }
        // A member whose subscription does not decode gets an empty entry (it still must get one).
        *topic_store = xrealloc(*topic_store, (*num_store + 1) * sizeof **topic_store);
        (*topic_store)[(*num_store)++] = (char *)topics;
        subs[n++] = (struct cons_member_sub){
            .member_id = mid, .instance_id = iid, .topics = topics, .num_topics = nt};
    }
    return (long)n;
}

static uint8_t *encode_assignment(const struct cons_assignment *a, size_t *out_len)
{
    // Group the (sorted) entries by topic.
    struct kp_consumer_topic_partitions *tps = xcalloc(a->num_tps + 1, sizeof *tps);
    int32_t *parts = xcalloc(a->num_tps + 1, sizeof *parts);
    size_t nt = 0;
    for (size_t i = 0; i < a->num_tps; i++) {
        if (nt == 0 || strcmp(tps[nt - 1].topic, a->tps[i].topic) != 0) {
            tps[nt++] = (struct kp_consumer_topic_partitions){.topic = a->tps[i].topic,
                                                              .partitions = &parts[i]};
        }
        parts[i] = a->tps[i].partition;
        tps[nt - 1].num_partitions++;
    }
    struct kp_consumer_assignment ca = {.version = 1,
                                        .assigned = tps,
                                        .num_assigned = nt,
                                        .user_data = (const uint8_t *)"",
                                        .user_data_len = 0};
    kw w;
    kw_init_grow(&w);
    uint8_t *blob = NULL;
    if (kp_consumer_assignment_write(&w, &ca)) {
        blob = kw_take_buf(&w, out_len);
    }
    kw_cleanup(&w);
    free(tps);
    free(parts);
    return blob;
}

// lead computes the assignment as leader; returns false (after failing the machine) when it
// cannot.
static bool lead(struct cons_group *g, const struct kp_join_group_resp *r)
{
    enum cons_assignor a;
    if (cons_assignor_from_name(g->protocol, &a) != 0) {
        fail(g, CONS_ERR_FATAL, "coordinator selected an assignor kesm does not offer", 0);
        return false;
    }
    size_t cap = r->num_members < MAX_MEMBERS ? r->num_members : MAX_MEMBERS;
    struct cons_member_sub *subs = xcalloc(cap + 1, sizeof *subs);
    char **store = NULL;
    size_t num_store = 0;
    long n = collect_members(r, subs, &store, &num_store);
    bool ok = n > 0;
    struct cons_assignment *out = NULL;
    if (ok) {
        out = xcalloc((size_t)n, sizeof *out);
        ok = cons_assign(a, subs, (size_t)n, g->meta, g->num_meta, out) == 0;
    }
    if (ok) {
        g->sync = xcalloc((size_t)n, sizeof *g->sync);
        for (size_t i = 0; i < (size_t)n; i++) {
            struct sync_entry *e = &g->sync[g->num_sync++];
            e->member_id = xstrdup(subs[i].member_id);
            e->blob = encode_assignment(&out[i], &e->blob_len);
            ok = ok && e->blob != NULL;
        }
        for (size_t i = 0; i < (size_t)n; i++) {
            cons_assignment_cleanup(&out[i]);
        }
    }
    free(out);
    for (size_t i = 0; i < num_store; i++) {
        free(store[i]);
    }
    free(store);
    free(subs);
    if (!ok) {
        free_sync(g);
        fail(g, CONS_ERR_FATAL, "cannot compute the group assignment (bad member list)", 0);
    }
    return ok;
}

static void on_join(struct cons_group *g, uint64_t now, const struct kp_join_group_resp *r)
{
    if (g->state != CONS_GROUP_JOINING) {
        return;
    }
    int16_t code = r->error_code;
    switch (code) {
    case 0:
        break;
    case KP_ERR_CODE_MEMBER_ID_REQUIRED:
        if (!kr_copy_cstr(&r->member_id, g->member_id, sizeof g->member_id)) {
            g->member_id[0] = 0;
        }
        g->join_wanted = true;
        return;
    case KP_ERR_CODE_UNKNOWN_MEMBER_ID:
        g->member_id[0] = 0;
        g->generation = -1;
        g->join_wanted = true;
        return;
    case KP_ERR_CODE_ILLEGAL_GENERATION:
        g->generation = -1;
        g->join_wanted = true;
        return;
    case KP_ERR_CODE_REBALANCE_IN_PROGRESS:
        g->join_wanted = true;
        return;
    case KP_ERR_CODE_FENCED_INSTANCE_ID:
        fail(g, CONS_ERR_FATAL, "JoinGroup: another consumer uses this group.instance.id", code);
        return;
    default:
        if (coordinator_error(g, now, code)) {
            g->join_wanted = true;
            return;
        }
        if (kp_error_action_of(code) == KP_ACTION_RETRY) {
            backoff(g, now);
            g->join_wanted = true;
            return;
        }
        fail_code(g, "JoinGroup", code);
        return;
    }
    if (!kr_copy_cstr(&r->member_id, g->member_id, sizeof g->member_id) || !g->member_id[0] ||
        !kr_copy_cstr(&r->leader, g->leader, sizeof g->leader) ||
        !kr_copy_cstr(&r->protocol_name, g->protocol, sizeof g->protocol)) {
        g->member_id[0] = 0;
        backoff(g, now);
        g->join_wanted = true;
        return;
    }
    g->generation = r->generation_id;
    g->failures = 0;
    free_sync(g);
    if (strcmp(g->leader, g->member_id) == 0 && !lead(g, r)) {
        return;
    }
    g->state = CONS_GROUP_SYNCING;
    g->sync_wanted = true;
    if (g->num_sync > 1 && g->sync_delay_ms > 0) {
        g->wait_until = now + g->sync_delay_ms;
    }
}

static void set_assignment(struct cons_group *g, const struct kp_consumer_assignment_view *av)
{
    clear_assignment(g);
    struct kp_consumer_iter ti, pi;
    struct kp_consumer_tp_view tv;
    int32_t p;
    size_t total = 0;
    kp_consumer_iter_init(&ti, &av->assigned, av->num_assigned);
    while (kp_consumer_next_topic_partitions(&ti, &tv)) {
        total += tv.num_partitions;
    }
    g->assigned = xcalloc(total + 1, sizeof *g->assigned);
    g->assigned_topics = xcalloc(av->num_assigned + 1, sizeof *g->assigned_topics);
    kp_consumer_iter_init(&ti, &av->assigned, av->num_assigned);
    while (kp_consumer_next_topic_partitions(&ti, &tv)) {
        char *t = xmalloc(tv.topic.len + 1);
        if (!kr_copy_cstr(&tv.topic, t, tv.topic.len + 1)) {
            free(t);
            continue;
        }
        g->assigned_topics[g->num_assigned_topics++] = t;
        kp_consumer_iter_init(&pi, &tv.partitions, tv.num_partitions);
        while (kp_consumer_next_partition(&pi, &p)) {
            bool dup = false;
            for (size_t i = 0; i < g->num_assigned; i++) {
                dup = dup || (g->assigned[i].partition == p && !strcmp(g->assigned[i].topic, t));
            }
            if (!dup && p >= 0) {
                g->assigned[g->num_assigned++] = (struct cons_tp){.topic = t, .partition = p};
            }
        }
    }
}

static void on_sync(struct cons_group *g, uint64_t now, const struct kp_sync_group_resp *r)
{
    if (g->state != CONS_GROUP_SYNCING) {
        return;
    }
    int16_t code = r->error_code;
    free_sync(g);
    switch (code) {
    case 0:
        break;
    case KP_ERR_CODE_UNKNOWN_MEMBER_ID:
        g->member_id[0] = 0;
        g->generation = -1;
        start_rejoin(g, now);
        return;
    case KP_ERR_CODE_ILLEGAL_GENERATION:
        g->generation = -1;
        start_rejoin(g, now);
        return;
    case KP_ERR_CODE_REBALANCE_IN_PROGRESS:
        start_rejoin(g, now);
        return;
    case KP_ERR_CODE_FENCED_INSTANCE_ID:
        fail(g, CONS_ERR_FATAL, "SyncGroup: another consumer uses this group.instance.id", code);
        return;
    case ERR_INVALID_REQUEST:
        // librdkafka 2.0.2's mock completes a sync as soon as the leader's SyncGroup arrives and
        // answers a follower whose SyncGroup comes later with INVALID_REQUEST; librdkafka rejoins
        // on any SyncGroup error, and so do we, a few times in a row before giving up.
        if (++g->sync_invalid < 5) {
            backoff(g, now);
            start_rejoin(g, now);
            return;
        }
        fail_code(g, "SyncGroup", code);
        return;
    default:
        if (coordinator_error(g, now, code) || kp_error_action_of(code) == KP_ACTION_RETRY) {
            // The generation is lost with the coordinator: join again.
            backoff(g, now);
            start_rejoin(g, now);
            return;
        }
        fail_code(g, "SyncGroup", code);
        return;
    }
    g->sync_invalid = 0;
    kr in = r->assignment;
    struct kp_consumer_assignment_view av;
    struct kp_err err = {0};
    if (kp_consumer_assignment_parse(&in, &av, &err) != KP_OK) {
        fail(g, CONS_ERR_FATAL, "SyncGroup: the assignment from the leader does not decode", 0);
        return;
    }
    set_assignment(g, &av);
    g->state = CONS_GROUP_STABLE;
    g->assigned_announce = true;
    g->last_heartbeat_ok = now;
    g->next_heartbeat = now + g->heartbeat_ms;
}

// on_heartbeat_revoking handles a heartbeat answered while the upper layer is revoking: the
// rejoin is already decided, so only a lost membership or coordinator changes anything.
static void on_heartbeat_revoking(struct cons_group *g, uint64_t now, int16_t code)
{
    if (code == KP_ERR_CODE_UNKNOWN_MEMBER_ID || code == KP_ERR_CODE_FENCED_INSTANCE_ID) {
        g->member_id[0] = 0;
        g->generation = -1;
    } else if (code == KP_ERR_CODE_ILLEGAL_GENERATION) {
        g->generation = -1;
    } else {
        coordinator_error(g, now, code);
    }
}

static void on_heartbeat(struct cons_group *g, uint64_t now, int16_t code)
{
    if (g->state == CONS_GROUP_REVOKING) {
        on_heartbeat_revoking(g, now, code);
        return;
    }
    if (g->state != CONS_GROUP_STABLE) {
        return;
    }
    switch (code) {
    case 0:
        g->last_heartbeat_ok = now;
        g->failures = 0;
        return;
    case KP_ERR_CODE_REBALANCE_IN_PROGRESS:
        start_rejoin(g, now);
        return;
    case KP_ERR_CODE_ILLEGAL_GENERATION:
        g->generation = -1;
        start_rejoin(g, now);
        return;
    case KP_ERR_CODE_UNKNOWN_MEMBER_ID:
    case KP_ERR_CODE_FENCED_INSTANCE_ID:
        g->member_id[0] = 0;
        g->generation = -1;
        start_rejoin(g, now);
        return;
    default:
        if (coordinator_error(g, now, code)) {
            return;
        }
        if (kp_error_action_of(code) == KP_ACTION_RETRY) {
            backoff(g, now);
            return;
        }
        if (kp_error_action_of(code) == KP_ACTION_REJOIN ||
            kp_error_action_of(code) == KP_ACTION_RESET_MEMBER_AND_REJOIN) {
            start_rejoin(g, now);
            return;
        }
        fail_code(g, "Heartbeat", code);
        return;
    }
}

// on_lost handles a request that got no usable answer (timeout, disconnect, unparsable body).
static void on_lost(struct cons_group *g, uint64_t now, enum kind k)
{
    if (k == K_FIND) {
        backoff(g, now);
        return;
    }
    forget_coordinator(g, now);
    switch (k) {
    case K_JOIN:
        if (g->state == CONS_GROUP_JOINING) {
            g->join_wanted = true;
        }
        break;
    case K_SYNC:
        if (g->state == CONS_GROUP_SYNCING) {
            start_rejoin(g, now);
        }
        break;
    case K_LEAVE:
    case K_HEARTBEAT:
    case K_FIND:
        break;
    }
}

// find_error_only handles a FindCoordinator answer (v0-3) that does not parse but carries an
// error code: librdkafka 2.0.2's mock writes a null Host with its errors, which the schema does
// not allow. The error code comes first (after the throttle time from v1), so act on it when it
// is non-zero; a body that does not even have that stays a parse failure.
static enum kp_status find_error_only(struct cons_group *g, uint64_t now, kr *body, int16_t version)
{
    int32_t throttle;
    int16_t code;
    if (version > 3 || (version >= 1 && !kr_i32(body, &throttle)) || !kr_i16(body, &code) ||
        code == 0) {
        return KP_ERR_MALFORMED;
    }
    enum kp_error_action a = kp_error_action_of(code);
    if (a == KP_ACTION_AUTHZ_FATAL || a == KP_ACTION_FATAL) {
        fail_code(g, "FindCoordinator", code);
    } else {
        backoff(g, now);
    }
    return KP_OK;
}

static enum kp_status dispatch(struct cons_group *g, uint64_t now, enum kind k, int16_t version,
                               kr *body)
{
    struct kp_err err = {0};
    enum kp_status st = KP_ERR_MALFORMED;
    switch (k) {
    case K_FIND: {
        struct kp_find_coordinator_resp r;
        kr copy = *body;
        if ((st = kp_find_coordinator_resp_parse(body, version, &r, &err)) == KP_OK &&
            g->coord_id < 0) {
            on_find(g, now, &r);
        } else if (st != KP_OK && g->coord_id < 0) {
            st = find_error_only(g, now, &copy, version);
        }
        break;
    }
    case K_JOIN: {
        struct kp_join_group_resp r;
        if ((st = kp_join_group_resp_parse(body, version, &r, &err)) == KP_OK) {
            on_join(g, now, &r);
        }
        break;
    }
    case K_SYNC: {
        struct kp_sync_group_resp r;
        if ((st = kp_sync_group_resp_parse(body, version, &r, &err)) == KP_OK) {
            on_sync(g, now, &r);
        }
        break;
    }
    case K_HEARTBEAT: {
        struct kp_heartbeat_resp r;
        if ((st = kp_heartbeat_resp_parse(body, version, &r, &err)) == KP_OK) {
            on_heartbeat(g, now, r.error_code);
        }
        break;
    }
    case K_LEAVE: {
        struct kp_leave_group_resp r;
        st = kp_leave_group_resp_parse(body, version, &r, &err);
        break; // whatever the answer, we are gone
    }
    }
    return st;
}

void cons_group_on_response(struct cons_group *g, uint64_t now, int16_t api_key, int16_t version,
                            const kr *body, int net_err)
{
    int k = kind_of(api_key);
    if (k < 0 || !g->inflight[k]) {
        return;
    }
    g->inflight[k] = false;
    if (g->state == CONS_GROUP_FAILED || g->state == CONS_GROUP_CLOSED) {
        return;
    }
    if (net_err != 0 || body == NULL) {
        on_lost(g, now, (enum kind)k);
        return;
    }
    kr b = *body;
    if (dispatch(g, now, (enum kind)k, version, &b) != KP_OK) {
        on_lost(g, now, (enum kind)k);
    }
}

// ---- upper-layer inputs -----------------------------------------------------------------------

void cons_group_revoke_done(struct cons_group *g, uint64_t now)
{
    (void)now;
    if (g->state == CONS_GROUP_REVOKING && !g->revoke_announce) {
        g->revoke_done = true;
    }
}

void cons_group_rejoin(struct cons_group *g, uint64_t now, int16_t error_code)
{
    if (error_code == KP_ERR_CODE_UNKNOWN_MEMBER_ID) {
        g->member_id[0] = 0;
        g->generation = -1;
    } else if (error_code == KP_ERR_CODE_ILLEGAL_GENERATION) {
        g->generation = -1;
    }
    if (g->state == CONS_GROUP_STABLE || g->state == CONS_GROUP_SYNCING) {
        start_rejoin(g, now);
    } else if (g->state == CONS_GROUP_JOINING && !g->inflight[K_JOIN]) {
        g->join_wanted = true;
    }
}

void cons_group_coordinator_lost(struct cons_group *g, uint64_t now)
{
    if (g->coord_id >= 0) {
        forget_coordinator(g, now);
    }
}

void cons_group_close(struct cons_group *g, uint64_t now)
{
    if (g->closing || g->state == CONS_GROUP_FAILED || g->state == CONS_GROUP_CLOSED) {
        if (g->state == CONS_GROUP_FAILED) {
            g->state = CONS_GROUP_CLOSED;
        }
        return;
    }
    g->closing = true;
    g->join_wanted = false;
    g->sync_wanted = false;
    free_sync(g);
    if (g->num_assigned > 0) {
        if (g->state != CONS_GROUP_REVOKING) {
            g->revoke_announce = true;
            g->revoke_done = false;
            g->revoke_deadline = now + g->rebalance_ms;
        }
        g->state = CONS_GROUP_REVOKING;
        return;
    }
    g->state = CONS_GROUP_LEAVING;
    g->leave_wanted = g->member_id[0] && !g->instance_id;
}

// ---- accessors --------------------------------------------------------------------------------

enum cons_group_state cons_group_state(const struct cons_group *g)
{
    return g->state;
}

const char *cons_group_state_name(enum cons_group_state st)
{
    switch (st) {
    case CONS_GROUP_INIT:
        return "INIT";
    case CONS_GROUP_JOINING:
        return "JOINING";
    case CONS_GROUP_SYNCING:
        return "SYNCING";
    case CONS_GROUP_STABLE:
        return "STABLE";
    case CONS_GROUP_REVOKING:
        return "REVOKING";
    case CONS_GROUP_LEAVING:
        return "LEAVING";
    case CONS_GROUP_CLOSED:
        return "CLOSED";
    case CONS_GROUP_FAILED:
        return "FAILED";
    }
    return "UNKNOWN";
}

int32_t cons_group_generation(const struct cons_group *g)
{
    return g->generation;
}

const char *cons_group_member_id(const struct cons_group *g)
{
    return g->member_id;
}

const char *cons_group_id(const struct cons_group *g)
{
    return g->group_id;
}

const char *cons_group_instance_id(const struct cons_group *g)
{
    return g->instance_id;
}

bool cons_group_is_leader(const struct cons_group *g)
{
    return g->member_id[0] && strcmp(g->leader, g->member_id) == 0;
}

const char *cons_group_protocol(const struct cons_group *g)
{
    return g->protocol;
}

int32_t cons_group_coordinator(const struct cons_group *g)
{
    return g->coord_id;
}

const struct cons_tp *cons_group_assigned(const struct cons_group *g, size_t *out_n)
{
    *out_n = g->num_assigned;
    return g->assigned;
}

bool cons_group_inflight(const struct cons_group *g, int16_t api_key)
{
    int k = kind_of(api_key);
    return k >= 0 && g->inflight[k];
}

const char *cons_error_class_name(enum cons_error_class c)
{
    switch (c) {
    case CONS_ERR_TRANSIENT:
        return "transient";
    case CONS_ERR_AUTHN:
        return "authn";
    case CONS_ERR_AUTHZ:
        return "authz";
    case CONS_ERR_CONFIG:
        return "config";
    case CONS_ERR_FATAL:
        return "fatal";
    }
    return "unknown";
}
