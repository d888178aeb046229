// group.c: the classic consumer-group state machine. See group.h for the flow and the error
// table. This file holds the states, the request bodies, the upper layer's inputs and the
// accessors; the response handlers are group_resp.c's and the leader's assignment group_lead.c's.
// None of them has I/O, a clock or logging, so tests and the fuzzer drive the machine alone.
#include "consumer/group.h"

#include "base/alloc.h"
#include "consumer/group_int.h"
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

const int16_t group_kind_api[NUM_KINDS] = {KP_API_FIND_COORDINATOR, KP_API_JOIN_GROUP,
                                           KP_API_SYNC_GROUP, KP_API_HEARTBEAT, KP_API_LEAVE_GROUP};

// ---- small helpers ----------------------------------------------------------------------------

int group_kind_of(int16_t api_key)
{
    for (int i = 0; i < NUM_KINDS; i++) {
        if (group_kind_api[i] == api_key) {
            return i;
        }
    }
    return -1;
}

void group_free_sync(struct cons_group *g)
{
    for (size_t i = 0; i < g->num_sync; i++) {
        free(g->sync[i].member_id);
        free(g->sync[i].blob);
    }
    free(g->sync);
    g->sync = NULL;
    g->num_sync = 0;
}

void group_clear_assignment(struct cons_group *g)
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

void group_backoff(struct cons_group *g, uint64_t now)
{
    uint32_t n = g->failures < 10 ? g->failures : 10;
    g->failures++;
    g->wait_until = now + (uint64_t)g->backoff_ms * (n + 1);
}

void group_fail(struct cons_group *g, enum cons_error_class cls, const char *what, int16_t code)
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
    group_clear_assignment(g);
}

void group_why(struct cons_group *g, const char *what, int16_t code)
{
    char nb[KP_ERROR_NAME_BUF];
    snprintf(g->why, sizeof g->why, "%s answered %s", what, kp_error_name_buf(code, nb, sizeof nb));
}

void group_fail_code(struct cons_group *g, const char *what, int16_t code)
{
    enum kp_error_action a = kp_error_action_of(code);
    enum cons_error_class cls = a == KP_ACTION_AUTHZ_FATAL                    ? CONS_ERR_AUTHZ
                                : a == KP_ACTION_AUTHN_FATAL                  ? CONS_ERR_AUTHN
                                : code == KP_ERR_CODE_INVALID_SESSION_TIMEOUT ? CONS_ERR_CONFIG
                                : code == KP_ERR_CODE_INVALID_GROUP_ID        ? CONS_ERR_CONFIG
                                                                              : CONS_ERR_FATAL;
    group_fail(g, cls, what, code);
}

void group_forget_coordinator(struct cons_group *g, uint64_t now)
{
    g->coord_id = -1;
    group_backoff(g, now);
}

// start_rejoin leaves STABLE/SYNCING/JOINING for a new join. An eager member revokes first if
// partitions are assigned; a cooperative one keeps them unless its membership is gone
// (generation reset) and revokes later, only what moves (group_coop.c).
void group_start_rejoin(struct cons_group *g, uint64_t now)
{
    if (g->state == CONS_GROUP_FAILED || g->state == CONS_GROUP_CLOSED || g->closing) {
        return;
    }
    g->sync_wanted = false;
    group_free_sync(g);
    bool keep = g->cooperative && g->generation >= 0 && g->member_id[0];
    if (g->num_assigned > 0 && !keep) {
        if (g->state != CONS_GROUP_REVOKING) {
            group_begin_revoke(g, now, false);
        }
        return;
    }
    if (g->state == CONS_GROUP_REVOKING) {
        return; // a cooperative revoke in progress rejoins when it is over
    }
    g->state = CONS_GROUP_JOINING;
    g->join_wanted = true;
}

// ---- lifecycle --------------------------------------------------------------------------------

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
    bool mixed = false;
    if (cfg->assignors && cfg->num_assignors > 0) {
        g->num_assignors =
            cfg->num_assignors < CONS_MAX_ASSIGNORS ? cfg->num_assignors : CONS_MAX_ASSIGNORS;
        memcpy(g->assignors, cfg->assignors, g->num_assignors * sizeof *g->assignors);
        g->cooperative = cons_assignor_is_cooperative(g->assignors[0]);
        for (size_t i = 1; i < g->num_assignors; i++) {
            mixed = mixed || cons_assignor_is_cooperative(g->assignors[i]) != g->cooperative;
        }
    } else {
        g->assignors[0] = CONS_ASSIGNOR_RANGE;
        g->assignors[1] = CONS_ASSIGNOR_ROUNDROBIN;
        g->num_assignors = 2;
    }
    g->generation = -1;
    g->coord_id = -1;
    g->state = CONS_GROUP_INIT;
    if (!g->group_id[0]) {
        group_fail(g, CONS_ERR_CONFIG, "empty group id", 0);
    } else if (g->num_topics == 0) {
        group_fail(g, CONS_ERR_CONFIG, "no topics to subscribe to", 0);
    } else if (mixed) {
        group_fail(g, CONS_ERR_CONFIG, "cooperative and eager assignors cannot be mixed", 0);
    } else {
        group_build_subscription(g);
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
    group_clear_assignment(g);
    group_free_sync(g);
    tpset_clear(&g->rev);
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
    out->api_key = group_kind_api[k];
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
    if (g->cooperative && !group_build_subscription(g)) {
        return false; // owned partitions as of now
    }
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
    if (now >= g->last_heartbeat_ok + g->session_ms) {
        // No successful heartbeat for a whole session: the coordinator has dropped us.
        g->generation = -1;
        group_start_rejoin(g, now);
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
    group_revoke_finished(g, now);
    if (g->state == CONS_GROUP_REVOKING && g->revoke_announce) {
        g->revoke_announce = false; // the rest goes too (closing, or the membership was lost)
        out->kind = CONS_GACT_REVOKE;
        return true;
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
        if (g->assigned_announce && g->state != CONS_GROUP_REVOKING &&
            g->state != CONS_GROUP_FAILED && g->state != CONS_GROUP_CLOSED) {
            g->assigned_announce = false; // eager: in STABLE; cooperative: also when rejoining
            out->kind = CONS_GACT_ASSIGNED;
            return;
        }
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
    struct kp_join_group_req_protocol protos[CONS_MAX_ASSIGNORS];
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
    int k = group_kind_of(api_key);
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
        group_start_rejoin(g, now);
    } else if (g->state == CONS_GROUP_JOINING && !g->inflight[K_JOIN]) {
        g->join_wanted = true;
    }
}

void cons_group_coordinator_lost(struct cons_group *g, uint64_t now)
{
    if (g->coord_id >= 0) {
        group_forget_coordinator(g, now);
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
    group_free_sync(g);
    if (g->num_assigned > 0) {
        if (g->state != CONS_GROUP_REVOKING) {
            group_begin_revoke(g, now, false);
        }
        return; // a cooperative revoke in progress ends with the rest (group_coop.c)
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

const char *cons_group_why(const struct cons_group *g)
{
    return g->why;
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

const struct cons_tp *cons_group_revoking(const struct cons_group *g, size_t *out_n)
{
    *out_n = g->rev.n;
    return g->rev.tps;
}

bool cons_group_cooperative(const struct cons_group *g)
{
    return g->cooperative;
}

bool cons_group_inflight(const struct cons_group *g, int16_t api_key)
{
    int k = group_kind_of(api_key);
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
