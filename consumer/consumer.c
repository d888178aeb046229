// consumer.c: the driver that connects the sans-I/O parts (group.c, metadata.c, fetcher.c,
// offsets.c) to net/ connections, timers and the caller's callbacks. See consumer.h.
//
// Everything happens in pump(), which runs after every response, timer tick and API call: it
// drains the group machine's actions, then sends whatever is due (Metadata, OffsetFetch,
// ListOffsets, Fetch, OffsetCommit), each kind at most once in flight (per broker for
// ListOffsets and Fetch). A 100 ms tick covers every deadline (heartbeats, back-offs, commits).
#include "consumer/consumer.h"

#include "consumer/group.h"
#include "consumer/metadata.h"
#include "consumer/offsets.h"
#include "net/log.h"
#include "net/xmalloc.h"
#include "proto/api.h"
#include "proto/api_versions.h"
#include "proto/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 100

// struct broker: one connection. Every broker id has one for fetching and cluster requests; the
// group coordinator gets a second one of its own (coord), as the Java client and librdkafka do,
// so heartbeats and commits never queue behind a long-poll Fetch and a held JoinGroup never
// stalls fetches or metadata.
struct broker {
    int32_t id; // -1: a bootstrap connection
    bool coord; // the group coordinator's connection
    char host[256];
    uint16_t port;
    struct net_conn *conn;
    bool fetch_inflight;
    bool list_inflight;
    struct cons *c;
};

enum req_kind { R_GROUP, R_METADATA, R_OFFSET_FETCH, R_LIST, R_FETCH, R_COMMIT };

struct req_ctx {
    struct cons *c;
    enum req_kind kind;
    struct broker *b;
    int16_t api_key;
};

enum revoke_phase { REV_NONE = 0, REV_WAIT_USER, REV_COMMIT, REV_COMMITTING, REV_DONE };

struct cons {
    struct net_reactor *r;
    uint64_t commit_errors; // OffsetCommit answers that failed, per partition (cons_commit_errors)
    struct cons_config cfg;
    char *bootstrap, *client_id;
    char **topics;
    struct cons_callbacks cb;
    struct net_conn_config conn_cfg;
    char log_tag[KESM_LOG_TAG_MAX + 1]; // cfg.log_tag, copied; conn_cfg.log_tag points here
    char log[KESM_LOG_COMPONENT_CAP];   // log component: "consumer" or "consumer <log_tag>"

    struct cons_group *g;
    struct cons_metadata md;
    struct cons_fetcher f;
    struct broker **brokers;
    size_t num_brokers;
    struct broker *coord;

    struct net_timer *tick;
    struct net_timer *done_timer;
    bool in_pump, pump_again;
    bool freeing, failed, closing, close_reported;
    uint64_t undecodable_batches; // decode failures of record batches
    void (*close_done)(struct cons *c, void *ctx);
    void *close_ctx;
    uint64_t close_deadline;

    bool md_ready, md_inflight, md_wanted;
    uint64_t md_next, md_last_ok;
    int unknown_topic_answers;
    bool boot_drop;
    bool ofetch_inflight, commit_inflight;
    uint64_t next_commit, ofetch_retry_at, commit_retry_at;
    enum revoke_phase revoke;
    enum cons_group_state last_state;
    uint64_t last_transient; // when on_error(TRANSIENT) was last called (0 = never)
    int32_t *part_counts;    // per subscribed topic, the partition count last seen (0 = unknown)
};

// ---- helpers ----------------------------------------------------------------------------------

static void pump(struct cons *c);

static void fail(struct cons *c, enum cons_error_class cls, const char *msg)
{
    if (c->failed) {
        return;
    }
    c->failed = true;
    kesm_log(KESM_LOG_ERROR, c->log, "stopping (%s): %s", cons_error_class_name(cls), msg);
    for (size_t i = 0; i < c->f.num_parts; i++) {
        c->f.parts[i].stopped = true;
    }
    if (c->cb.on_error) {
        c->cb.on_error(c, cls, msg, c->cb.ctx);
    }
}

static void on_conn_state(struct net_conn *conn, const struct net_conn_event *ev, void *ctx)
{
    struct broker *b = ctx;
    (void)conn;
    if (b->c->freeing || ev->err == NET_OK) {
        return;
    }
    char msg[300];
    if (ev->err == NET_ERR_VERSION) {
        // The broker lacks an API (or every version of it) a consumer needs: retrying will
        // not help (a broker older than Kafka 0.11, or one with APIs disabled).
        snprintf(msg, sizeof msg, "broker %s:%u: %s", b->host, (unsigned)b->port,
                 ev->msg ? ev->msg : net_err_name(ev->err));
        fail(b->c, CONS_ERR_CONFIG, msg);
        return;
    }
    if (net_conn_event_is_authn(ev)) {
        snprintf(msg, sizeof msg, "broker %s:%u: authentication failed: %s", b->host,
                 (unsigned)b->port, ev->msg ? ev->msg : net_err_name(ev->err));
        fail(b->c, CONS_ERR_AUTHN, msg);
        return;
    }
    // A connection problem the consumer retries by itself: tell the upper layer (at most every
    // 30 s) so it can show it, as Lambda's "PROBLEM: Connection error".
    struct cons *c = b->c;
    uint64_t now = net_reactor_now_ms(c->r);
    if (c->failed || (c->last_transient && now < c->last_transient + 30000)) {
        return;
    }
    c->last_transient = now;
    snprintf(msg, sizeof msg, "broker %s:%u: %s", b->host, (unsigned)b->port,
             ev->msg ? ev->msg : net_err_name(ev->err));
    if (c->cb.on_error) {
        c->cb.on_error(c, CONS_ERR_TRANSIENT, msg, c->cb.ctx);
    }
}

static struct broker *broker_new(struct cons *c, int32_t id, const char *host, uint16_t port)
{
    struct broker *b = xcalloc(1, sizeof *b);
    b->id = id;
    snprintf(b->host, sizeof b->host, "%s", host);
    b->port = port;
    b->c = c;
    struct net_conn_callbacks ncb = {.on_state = on_conn_state, .ctx = b};
    b->conn = net_conn_new(c->r, host, port, &c->conn_cfg, &ncb);
    c->brokers = xrealloc(c->brokers, (c->num_brokers + 1) * sizeof *c->brokers);
    c->brokers[c->num_brokers++] = b;
    return b;
}

// broker_find_or_new returns the (coordinator, if |coord|) connection of broker |id|, creating
// it (from the metadata, or from |host|:|port| when given) if needed; NULL if the broker is
// unknown.
static struct broker *broker_find_or_new(struct cons *c, int32_t id, bool coord, const char *host,
                                         uint16_t port)
{
    for (size_t i = 0; i < c->num_brokers; i++) {
        struct broker *b = c->brokers[i];
        if (b->id == id && id >= 0 && b->coord == coord) {
            if (host && (strcmp(b->host, host) != 0 || b->port != port)) {
                // The broker moved: replace its connection (rare).
                net_conn_free(b->conn);
                snprintf(b->host, sizeof b->host, "%s", host);
                b->port = port;
                struct net_conn_callbacks ncb = {.on_state = on_conn_state, .ctx = b};
                b->conn = net_conn_new(c->r, host, port, &c->conn_cfg, &ncb);
            }
            return b;
        }
    }
    if (!host) {
        const struct cons_broker *mb = cons_metadata_broker(&c->md, id);
        if (!mb) {
            return NULL;
        }
        host = mb->host;
        port = mb->port;
    }
    struct broker *b = broker_new(c, id, host, port);
    b->coord = coord;
    return b;
}

static struct broker *broker_get(struct cons *c, int32_t id, const char *host, uint16_t port)
{
    return broker_find_or_new(c, id, false, host, port);
}

// any_broker picks a connection for cluster-wide requests: a READY one if possible, and never a
// bootstrap connection that is waiting to be dropped (it would never become idle).
static struct broker *any_broker(struct cons *c)
{
    struct broker *pick = NULL;
    for (size_t i = 0; i < c->num_brokers; i++) {
        struct broker *b = c->brokers[i];
        if (b->coord || (c->boot_drop && b->id < 0)) {
            continue;
        }
        if (net_conn_state(b->conn) == NET_CONN_READY) {
            return b;
        }
        if (!pick || net_conn_state(b->conn) != NET_CONN_BACKOFF) {
            pick = pick && net_conn_state(pick->conn) != NET_CONN_BACKOFF ? pick : b;
        }
    }
    if (!pick && c->md.num_brokers > 0) {
        pick = broker_get(c, c->md.brokers[0].id, NULL, 0);
    }
    return pick;
}

static void notify_state(struct cons *c)
{
    enum cons_group_state st = cons_group_state(c->g);
    if (st == c->last_state) {
        return;
    }
    c->last_state = st;
    size_t n = 0;
    cons_group_assigned(c->g, &n);
    kesm_log(KESM_LOG_INFO, c->log, "group %s: %s (generation %d, member %s%s)",
             cons_group_id(c->g), cons_group_state_name(st), (int)cons_group_generation(c->g),
             cons_group_member_id(c->g)[0] ? cons_group_member_id(c->g) : "-",
             cons_group_is_leader(c->g) ? ", leader" : "");
    if (c->cb.on_state) {
        struct cons_state_info info = {.state = cons_group_state_name(st),
                                       .generation = cons_group_generation(c->g),
                                       .member_id = cons_group_member_id(c->g),
                                       .leader = cons_group_is_leader(c->g),
                                       .protocol = cons_group_protocol(c->g),
                                       .num_assigned = n};
        c->cb.on_state(c, &info, c->cb.ctx);
    }
}

// ---- sending ------------------------------------------------------------------------------

static bool write_body(kw *w, int16_t version, void *ctx);
static void on_resp(struct net_conn *conn, const struct net_resp *resp, void *ctx);

static bool send_req(struct cons *c, struct broker *b, enum req_kind kind, int16_t api_key,
                     int16_t version, uint32_t timeout_ms)
{
    struct req_ctx *rc = xcalloc(1, sizeof *rc);
    *rc = (struct req_ctx){.c = c, .kind = kind, .b = b, .api_key = api_key};
    struct net_req req = {.api_key = api_key,
                          .version = version,
                          .write_body = write_body,
                          .body_ctx = rc,
                          .on_resp = on_resp,
                          .ctx = rc,
                          .timeout_ms = timeout_ms};
    int err = net_conn_send(b->conn, &req);
    if (err != NET_OK) {
        kesm_log(KESM_LOG_WARN, c->log, "%s to %s: not sent (%s)", kp_api_name(api_key),
                 net_conn_name(b->conn), net_err_name(err));
        free(rc);
        return false;
    }
    return true;
}

static bool write_body(kw *w, int16_t version, void *ctx)
{
    struct req_ctx *rc = ctx;
    struct cons *c = rc->c;
    switch (rc->kind) {
    case R_GROUP:
        return cons_group_write_request(c->g, rc->api_key, version, w);
    case R_METADATA:
        return cons_metadata_write_request(&c->md, version, w);
    case R_OFFSET_FETCH:
        return cons_offsets_fetch_write(&c->f, cons_group_id(c->g), version, w);
    case R_LIST:
        return cons_offsets_list_write(&c->f, rc->b->id, version, w);
    case R_FETCH:
        return cons_fetcher_write_request(&c->f, rc->b->id, version, w);
    case R_COMMIT:
        return cons_offsets_commit_write(&c->f, cons_group_id(c->g), cons_group_generation(c->g),
                                         cons_group_member_id(c->g), cons_group_instance_id(c->g),
                                         version, w);
    }
    return false;
}

// ---- responses ------------------------------------------------------------------------------

static void apply_leaders(struct cons *c)
{
    for (size_t i = 0; i < c->f.num_parts; i++) {
        struct cons_part *p = &c->f.parts[i];
        int32_t epoch;
        int32_t leader = cons_metadata_leader(&c->md, p->topic, p->partition, &epoch);
        if (leader != p->leader && leader >= 0) {
            kesm_log(KESM_LOG_INFO, c->log, "%s [%d]: leader is broker %d", p->topic,
                     (int)p->partition, (int)leader);
        }
        p->leader = leader;
        p->leader_epoch = epoch;
        if (leader < 0) {
            c->md_wanted = true;
        }
    }
}

// check_partition_counts rejoins the group when a subscribed topic gained (or lost) partitions,
// so the leader assigns the new ones, as the Java client's leader does on a metadata change.
static void check_partition_counts(struct cons *c, uint64_t now)
{
    bool changed = false;
    for (size_t i = 0; i < c->cfg.num_topics; i++) {
        const struct cons_topic_md *t = cons_metadata_topic(&c->md, c->topics[i]);
        int32_t n = t && t->error_code == 0 ? t->num_partitions : 0;
        if (n > 0 && c->part_counts[i] > 0 && n != c->part_counts[i]) {
            kesm_log(KESM_LOG_INFO, c->log, "topic %s: %d partitions, was %d; rejoining group %s",
                     c->topics[i], (int)n, (int)c->part_counts[i], cons_group_id(c->g));
            changed = true;
        }
        if (n > 0) {
            c->part_counts[i] = n;
        }
    }
    if (changed) {
        cons_group_rejoin(c->g, now, 0);
    }
}

static void on_metadata(struct cons *c, const struct net_resp *resp)
{
    uint64_t now = net_reactor_now_ms(c->r);
    c->md_inflight = false;
    if (resp->err != NET_OK) {
        c->md_next = now + 500;
        return;
    }
    struct kp_err err = {0};
    enum kp_status st = cons_metadata_update(&c->md, &resp->body, resp->version, &err);
    if (st != KP_OK) {
        kesm_log(KESM_LOG_WARN, c->log, "Metadata v%d response: %s at byte %zu (%s)", resp->version,
                 kp_status_name(st), err.offset, err.field ? err.field : "?");
        c->md_next = now + 1000;
        return;
    }
    struct cons_topic_meta *tm = xcalloc(c->cfg.num_topics + 1, sizeof *tm);
    size_t ntm = 0;
    bool unknown = false;
    for (size_t i = 0; i < c->cfg.num_topics; i++) {
        const struct cons_topic_md *t = cons_metadata_topic(&c->md, c->topics[i]);
        char nb[KP_ERROR_NAME_BUF], msg[300];
        if (!t || t->error_code == KP_ERR_CODE_UNKNOWN_TOPIC_OR_PARTITION ||
            (t->error_code == 0 && t->num_partitions == 0)) {
            unknown = true;
            continue;
        }
        if (t->error_code == KP_ERR_CODE_TOPIC_AUTHORIZATION_FAILED) {
            snprintf(msg, sizeof msg, "not authorized to read topic %s (%s)", c->topics[i],
                     kp_error_name_buf(t->error_code, nb, sizeof nb));
            fail(c, CONS_ERR_AUTHZ, msg);
            free(tm);
            return;
        }
        if (t->error_code != 0) {
            kesm_log(KESM_LOG_WARN, c->log, "Metadata for topic %s: %s", c->topics[i],
                     kp_error_name_buf(t->error_code, nb, sizeof nb));
        }
        tm[ntm++] = (struct cons_topic_meta){.topic = t->name, .num_partitions = t->num_partitions};
    }
    c->unknown_topic_answers = unknown ? c->unknown_topic_answers + 1 : 0;
    if (c->unknown_topic_answers >= 3) {
        char msg[300];
        snprintf(msg, sizeof msg, "topic %s does not exist (UNKNOWN_TOPIC_OR_PARTITION)",
                 c->cfg.num_topics == 1 ? c->topics[0] : "of the subscription");
        fail(c, CONS_ERR_CONFIG, msg);
        free(tm);
        return;
    }
    cons_group_set_topic_meta(c->g, tm, ntm);
    free(tm);
    check_partition_counts(c, now);
    if (!c->md_ready && !unknown) {
        c->md_ready = true;
        c->boot_drop = true;
        kesm_log(KESM_LOG_INFO, c->log, "metadata: %zu brokers; joining group %s",
                 c->md.num_brokers, cons_group_id(c->g));
    }
    c->md_last_ok = now;
    c->md_next = now + (unknown ? 1000 : c->cfg.retry_backoff_ms * 2);
    c->md_wanted = unknown;
    apply_leaders(c);
}

static void log_note(const struct cons *c, const char *note)
{
    if (note && note[0]) {
        kesm_log(KESM_LOG_WARN, c->log, "%s", note);
    }
}

static void offsets_outcome(struct cons *c, const struct cons_offsets_outcome *o)
{
    uint64_t now = net_reactor_now_ms(c->r);
    log_note(c, o->note);
    if (o->fatal) {
        fail(c, o->err_class, o->msg);
        return;
    }
    if (o->refresh_metadata) {
        c->md_wanted = true;
    }
    if (o->coordinator_lost) {
        cons_group_coordinator_lost(c->g, now);
    }
    if (o->rejoin_code != 0) {
        char nb[KP_ERROR_NAME_BUF];
        kesm_log(KESM_LOG_WARN, c->log, "group %s: %s; rejoining", cons_group_id(c->g),
                 kp_error_name_buf(o->rejoin_code, nb, sizeof nb));
        cons_group_rejoin(c->g, now, o->rejoin_code);
    }
}

static void on_fetch(struct cons *c, struct broker *b, const struct net_resp *resp)
{
    uint64_t now = net_reactor_now_ms(c->r);
    b->fetch_inflight = false;
    struct cons_fetch_outcome o;
    cons_fetcher_on_response(&c->f, b->id, now, resp->version,
                             resp->err == NET_OK ? &resp->body : NULL, &o);
    log_note(c, c->f.note);
    if (resp->err != NET_OK && resp->err != NET_ERR_CLOSED) {
        kesm_log(KESM_LOG_WARN, c->log, "Fetch from broker %d: %s", (int)b->id,
                 net_err_name(resp->err));
    }
    if (o.fatal) {
        fail(c, o.err_class, o.msg);
    }
    if (o.refresh_metadata) {
        c->md_wanted = true;
    }
}

static void on_resp(struct net_conn *conn, const struct net_resp *resp, void *ctx)
{
    (void)conn;
    struct req_ctx *rc = ctx;
    struct cons *c = rc->c;
    if (c->freeing) {
        free(rc);
        return;
    }
    uint64_t now = net_reactor_now_ms(c->r);
    const kr *body = resp->err == NET_OK ? &resp->body : NULL;
    struct cons_offsets_outcome o;
    switch (rc->kind) {
    case R_GROUP:
        cons_group_on_response(c->g, now, rc->api_key, resp->version, body, resp->err);
        break;
    case R_METADATA:
        on_metadata(c, resp);
        break;
    case R_OFFSET_FETCH:
        c->ofetch_inflight = false;
        cons_offsets_fetch_on_response(&c->f, resp->version, body, &o);
        if (o.retry_later || o.coordinator_lost) {
            c->ofetch_retry_at = now + c->cfg.retry_backoff_ms * 2;
        }
        offsets_outcome(c, &o);
        break;
    case R_LIST:
        rc->b->list_inflight = false;
        cons_offsets_list_on_response(&c->f, rc->b->id, resp->version, body, &o);
        offsets_outcome(c, &o);
        break;
    case R_FETCH:
        on_fetch(c, rc->b, resp);
        break;
    case R_COMMIT:
        c->commit_inflight = false;
        cons_offsets_commit_on_response(&c->f, resp->version, body, &o);
        c->commit_errors += o.failed + (o.coordinator_lost ? 1u : 0u);
        if (o.retry_later || o.coordinator_lost) {
            c->commit_retry_at = now + c->cfg.retry_backoff_ms * 2;
        }
        offsets_outcome(c, &o);
        if (c->revoke == REV_COMMITTING) {
            c->revoke = REV_DONE;
        }
        break;
    }
    free(rc);
    pump(c);
}

// ---- group actions ------------------------------------------------------------------------

static void start_revoke(struct cons *c)
{
    size_t n = 0;
    const struct cons_tp *tps = cons_group_assigned(c->g, &n);
    for (size_t i = 0; i < c->f.num_parts; i++) {
        c->f.parts[i].stopped = true;
    }
    kesm_log(KESM_LOG_INFO, c->log, "group %s: revoking %zu partitions", cons_group_id(c->g), n);
    c->revoke = REV_WAIT_USER;
    if (c->cb.on_revoking) {
        c->cb.on_revoking(c, tps, n, c->cb.ctx);
    } else {
        c->revoke = REV_COMMIT;
    }
}

static void assigned(struct cons *c)
{
    size_t n = 0;
    const struct cons_tp *tps = cons_group_assigned(c->g, &n);
    c->revoke = REV_NONE;
    cons_fetcher_assign(&c->f, tps, n);
    apply_leaders(c);
    char line[512];
    size_t off = 0;
    line[0] = 0;
    for (size_t i = 0; i < n && off < sizeof line - 40; i++) {
        off += (size_t)snprintf(line + off, sizeof line - off, "%s%s[%d]", i ? " " : "",
                                tps[i].topic, (int)tps[i].partition);
    }
    kesm_log(KESM_LOG_INFO, c->log, "group %s: generation %d assigned %zu partitions (%s): %s",
             cons_group_id(c->g), (int)cons_group_generation(c->g), n, cons_group_protocol(c->g),
             n ? line : "none");
    c->next_commit = net_reactor_now_ms(c->r) + c->cfg.auto_commit_interval_ms;
    if (c->cb.on_assigned) {
        c->cb.on_assigned(c, tps, n, c->cb.ctx);
    }
}

static void group_actions(struct cons *c, uint64_t now)
{
    for (int guard = 0; guard < 32; guard++) {
        struct cons_group_action a;
        cons_group_poll(c->g, now, &a);
        notify_state(c);
        switch (a.kind) {
        case CONS_GACT_NONE:
            return;
        case CONS_GACT_SEND: {
            struct broker *b = a.to_coordinator ? c->coord : any_broker(c);
            if (!b || !send_req(c, b, R_GROUP, a.api_key, NET_VERSION_AUTO, a.timeout_ms)) {
                cons_group_on_response(c->g, now, a.api_key, -1, NULL, NET_ERR_DISCONNECTED);
            }
            break;
        }
        case CONS_GACT_COORDINATOR:
            kesm_log(KESM_LOG_INFO, c->log, "group %s: coordinator is broker %d (%s:%u)",
                     cons_group_id(c->g), (int)a.node_id, a.host, (unsigned)a.port);
            c->coord = broker_find_or_new(c, a.node_id, true, a.host, a.port);
            break;
        case CONS_GACT_REVOKE:
            start_revoke(c);
            break;
        case CONS_GACT_ASSIGNED:
            assigned(c);
            break;
        case CONS_GACT_FATAL:
            fail(c, a.err_class, a.msg);
            break;
        case CONS_GACT_CLOSED:
            kesm_log(KESM_LOG_INFO, c->log, "group %s: left", cons_group_id(c->g));
            break;
        }
    }
}

// ---- what is due ------------------------------------------------------------------------------

static void maybe_metadata(struct cons *c, uint64_t now)
{
    if (c->md_inflight || c->failed) {
        return;
    }
    bool due = !c->md_ready || c->md_wanted || now >= c->md_last_ok + c->cfg.metadata_max_age_ms;
    if (!due || now < c->md_next) {
        return;
    }
    struct broker *b = any_broker(c);
    if (b && send_req(c, b, R_METADATA, KP_API_METADATA, NET_VERSION_AUTO, 0)) {
        c->md_inflight = true;
        c->md_wanted = false;
    }
    c->md_next = now + c->cfg.retry_backoff_ms * 2;
}

static bool group_usable(const struct cons *c)
{
    return !c->failed && cons_group_state(c->g) == CONS_GROUP_STABLE && c->coord &&
           cons_group_coordinator(c->g) >= 0;
}

static void maybe_offset_fetch(struct cons *c, uint64_t now)
{
    if (c->ofetch_inflight || !group_usable(c) || now < c->ofetch_retry_at) {
        return;
    }
    if (cons_offsets_fetch_begin(&c->f) == 0) {
        return;
    }
    if (send_req(c, c->coord, R_OFFSET_FETCH, KP_API_OFFSET_FETCH, NET_VERSION_AUTO, 0)) {
        c->ofetch_inflight = true;
    } else {
        struct cons_offsets_outcome o;
        cons_offsets_fetch_on_response(&c->f, -1, NULL, &o);
    }
}

static void maybe_broker_work(struct cons *c, struct broker *b, uint64_t now)
{
    if (b->id < 0 || b->coord || c->failed) {
        return;
    }
    if (!b->list_inflight && net_conn_state(b->conn) == NET_CONN_READY) {
        int16_t v = net_conn_version(b->conn, KP_API_LIST_OFFSETS);
        v = v > 3 ? 3 : v;
        if (v >= 1 && cons_offsets_list_begin(&c->f, b->id) > 0) {
            if (send_req(c, b, R_LIST, KP_API_LIST_OFFSETS, v, 0)) {
                b->list_inflight = true;
            } else {
                struct cons_offsets_outcome o;
                cons_offsets_list_on_response(&c->f, b->id, v, NULL, &o);
            }
        }
    }
    if (!b->fetch_inflight && cons_fetcher_begin_fetch(&c->f, b->id, now) > 0) {
        uint32_t t = c->cfg.request_timeout_ms + (uint32_t)c->f.cfg.max_wait_ms;
        if (send_req(c, b, R_FETCH, KP_API_FETCH, NET_VERSION_AUTO, t)) {
            b->fetch_inflight = true;
        } else {
            struct cons_fetch_outcome o;
            cons_fetcher_on_response(&c->f, b->id, now, -1, NULL, &o);
        }
    }
}

// ensure_leaders opens connections to the leaders of assigned partitions.
static void ensure_leaders(struct cons *c)
{
    for (size_t i = 0; i < c->f.num_parts; i++) {
        const struct cons_part *p = &c->f.parts[i];
        if (p->leader >= 0 && !p->stopped && !broker_get(c, p->leader, NULL, 0)) {
            c->md_wanted = true;
        }
    }
}

static void maybe_commit(struct cons *c, uint64_t now, bool force)
{
    if (c->commit_inflight || !c->coord || cons_group_coordinator(c->g) < 0 ||
        cons_group_generation(c->g) < 0 || c->failed || now < c->commit_retry_at) {
        return;
    }
    enum cons_group_state st = cons_group_state(c->g);
    if (st != CONS_GROUP_STABLE && st != CONS_GROUP_REVOKING) {
        return;
    }
    if (!force && now < c->next_commit) {
        return;
    }
    c->next_commit = now + c->cfg.auto_commit_interval_ms;
    if (cons_offsets_commit_begin(&c->f) == 0) {
        return;
    }
    if (send_req(c, c->coord, R_COMMIT, KP_API_OFFSET_COMMIT, NET_VERSION_AUTO, 0)) {
        c->commit_inflight = true;
    } else {
        struct cons_offsets_outcome o;
        cons_offsets_commit_on_response(&c->f, -1, NULL, &o);
    }
}

static void revoke_progress(struct cons *c, uint64_t now)
{
    if (c->revoke == REV_COMMIT) {
        bool can = c->coord && cons_group_coordinator(c->g) >= 0 &&
                   cons_group_generation(c->g) >= 0 && !c->failed;
        if (c->commit_inflight) {
            return; // a periodic commit is out: wait for it, then commit the rest
        }
        if (can && cons_offsets_pending_commit(&c->f)) {
            c->commit_retry_at = 0;
            maybe_commit(c, now, true);
            c->revoke = c->commit_inflight ? REV_COMMITTING : REV_DONE;
        } else {
            c->revoke = REV_DONE;
        }
    }
    if (c->revoke == REV_DONE) {
        c->revoke = REV_NONE;
        cons_fetcher_assign(&c->f, NULL, 0);
        cons_group_revoke_done(c->g, now);
    }
}

static void fire_done(void *ctx)
{
    struct cons *c = ctx;
    if (c->close_reported) {
        return;
    }
    c->close_reported = true;
    kesm_log(KESM_LOG_INFO, c->log, "closed");
    if (c->close_done) {
        c->close_done(c, c->close_ctx);
    }
}

static void pump(struct cons *c)
{
    if (c->in_pump) {
        c->pump_again = true;
        return;
    }
    c->in_pump = true;
    int rounds = 0;
    do {
        c->pump_again = false;
        uint64_t now = net_reactor_now_ms(c->r);
        if (c->md_ready && !c->failed) {
            group_actions(c, now);
            revoke_progress(c, now);
            group_actions(c, now);
        }
        maybe_metadata(c, now);
        maybe_offset_fetch(c, now);
        ensure_leaders(c);
        for (size_t i = 0; i < c->num_brokers; i++) {
            maybe_broker_work(c, c->brokers[i], now);
        }
        maybe_commit(c, now, false);
        if (c->closing && !c->close_reported && !net_timer_armed(c->done_timer) &&
            (cons_group_state(c->g) == CONS_GROUP_CLOSED || c->failed || !c->md_ready ||
             now >= c->close_deadline)) {
            net_timer_arm(c->done_timer, 0);
        }
    } while (c->pump_again && ++rounds < 16);
    c->in_pump = false;
}

// drop_bootstrap closes the bootstrap connections once the metadata names the brokers (one
// connection per broker id from then on). A bootstrap connection with requests on the wire or
// queued is kept until they are answered: closing it would fail them here while the broker may
// already have acted on them (a FindCoordinator answered twice, an injected or real error
// consumed by the lost copy). Returns true while some bootstrap connection is left to drop.
// The pump the closed connections' callbacks ask for is held back until the array is
// consistent again.
static bool drop_bootstrap(struct cons *c)
{
    if (c->md.num_brokers == 0) {
        return false;
    }
    struct broker **boot = xcalloc(c->num_brokers + 1, sizeof *boot);
    size_t nboot = 0, k = 0;
    bool busy = false;
    for (size_t i = 0; i < c->num_brokers; i++) {
        struct broker *b = c->brokers[i];
        struct net_conn_stats st = {0};
        if (b->id < 0) {
            net_conn_get_stats(b->conn, &st);
        }
        if (b->id < 0 && st.in_flight == 0 && st.queued == 0) {
            boot[nboot++] = b;
        } else {
            busy = busy || b->id < 0;
            c->brokers[k++] = b;
        }
    }
    c->num_brokers = k;
    bool was = c->in_pump;
    c->in_pump = true;
    for (size_t i = 0; i < nboot; i++) {
        net_conn_free(boot[i]->conn);
        free(boot[i]);
    }
    c->in_pump = was;
    free(boot);
    return busy;
}

static void on_tick(void *ctx)
{
    struct cons *c = ctx;
    if (c->boot_drop) {
        c->boot_drop = drop_bootstrap(c);
    }
    pump(c);
    net_timer_arm(c->tick, TICK_MS);
}

// ---- public API -------------------------------------------------------------------------------

static bool parse_hostport(const char *s, size_t len, char *host, size_t cap, uint16_t *port)
{
    const char *end = s + len;
    const char *colon = NULL;
    if (len > 0 && s[0] == '[') {
        const char *rb = memchr(s, ']', len);
        if (!rb || rb + 1 >= end || rb[1] != ':') {
            return false;
        }
        if ((size_t)(rb - s - 1) >= cap) {
            return false;
        }
        memcpy(host, s + 1, (size_t)(rb - s - 1));
        host[rb - s - 1] = 0;
        colon = rb + 1;
    } else {
        for (const char *q = s; q < end; q++) {
            colon = *q == ':' ? q : colon;
        }
        if (!colon || colon == s || (size_t)(colon - s) >= cap) {
            return false;
        }
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = 0;
    }
    long p = 0;
    for (const char *q = colon + 1; q < end; q++) {
        if (*q < '0' || *q > '9' || p > 65535) {
            return false;
        }
        p = p * 10 + (*q - '0');
    }
    if (p <= 0 || p > 65535 || colon + 1 == end) {
        return false;
    }
    *port = (uint16_t)p;
    return true;
}

// add_bootstrap opens a connection to every entry of the bootstrap list; false (with |err|
// set) if an entry does not parse or the list is empty.
static bool add_bootstrap(struct cons *c, char *err, size_t err_cap)
{
    const char *s = c->bootstrap;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char host[256];
        uint16_t port;
        while (len > 0 && *s == ' ') {
            s++;
            len--;
        }
        if (len > 0) {
            if (!parse_hostport(s, len, host, sizeof host, &port)) {
                if (err && err_cap) {
                    snprintf(err, err_cap, "consumer config: bad bootstrap entry \"%.*s\"",
                             (int)(len < 100 ? len : 100), s);
                }
                return false;
            }
            broker_new(c, -1, host, port);
        }
        s += len + (comma ? 1 : 0);
    }
    if (c->num_brokers == 0) {
        if (err && err_cap) {
            snprintf(err, err_cap, "consumer config: no bootstrap servers");
        }
        return false;
    }
    return true;
}

static void set_defaults(struct cons_config *cfg)
{
    cfg->session_timeout_ms = cfg->session_timeout_ms ? cfg->session_timeout_ms : 45000;
    cfg->heartbeat_interval_ms = cfg->heartbeat_interval_ms ? cfg->heartbeat_interval_ms : 3000;
    cfg->rebalance_timeout_ms = cfg->rebalance_timeout_ms ? cfg->rebalance_timeout_ms : 300000;
    cfg->auto_commit_interval_ms =
        cfg->auto_commit_interval_ms ? cfg->auto_commit_interval_ms : 5000;
    cfg->metadata_max_age_ms = cfg->metadata_max_age_ms ? cfg->metadata_max_age_ms : 300000;
    cfg->retry_backoff_ms = cfg->retry_backoff_ms ? cfg->retry_backoff_ms : 100;
    cfg->request_timeout_ms = cfg->request_timeout_ms ? cfg->request_timeout_ms : 30000;
}

static bool check_config(const struct cons_config *cfg, char *err, size_t cap)
{
    const char *why = NULL;
    if (!cfg->bootstrap || !cfg->bootstrap[0]) {
        why = "no bootstrap servers";
    } else if (!cfg->group_id || !cfg->group_id[0]) {
        why = "no group id";
    } else if (cfg->num_topics == 0 || !cfg->topics) {
        why = "no topics";
    } else if (cfg->heartbeat_interval_ms && cfg->session_timeout_ms &&
               cfg->heartbeat_interval_ms >= cfg->session_timeout_ms) {
        why = "heartbeat interval must be below the session timeout";
    }
    for (size_t i = 0; !why && i < cfg->num_topics; i++) {
        if (!cfg->topics[i] || !cfg->topics[i][0] || strlen(cfg->topics[i]) > 249) {
            why = "a topic name is empty or longer than 249 bytes";
        }
    }
    if (why && err && cap) {
        snprintf(err, cap, "consumer config: %s", why);
    }
    return why == NULL;
}

static void deliver(const struct cons_record_batch *batch, void *ctx)
{
    struct cons *c = ctx;
    if (c->cb.on_records && !c->failed) {
        c->cb.on_records(c, batch, c->cb.ctx);
    }
}

static void undecodable(const struct cons_undecodable *u, void *ctx)
{
    struct cons *c = ctx;
    c->undecodable_batches++;
    if (c->cb.on_undecodable && !c->failed) {
        c->cb.on_undecodable(c, u, c->cb.ctx);
    }
}

struct cons *cons_new(struct net_reactor *r, const struct cons_config *cfg,
                      const struct cons_callbacks *cb, char *err, size_t err_cap)
{
    if (!check_config(cfg, err, err_cap)) {
        return NULL;
    }
    struct cons *c = xcalloc(1, sizeof *c);
    c->r = r;
    c->cfg = *cfg;
    set_defaults(&c->cfg);
    c->bootstrap = xstrdup(cfg->bootstrap);
    c->client_id = xstrdup(cfg->client_id ? cfg->client_id : "kesm");
    c->topics = xcalloc(cfg->num_topics + 1, sizeof *c->topics);
    c->part_counts = xcalloc(cfg->num_topics + 1, sizeof *c->part_counts);
    for (size_t i = 0; i < cfg->num_topics; i++) {
        c->topics[i] = xstrdup(cfg->topics[i]);
    }
    c->cfg.topics = (const char *const *)c->topics;
    c->cfg.bootstrap = c->bootstrap;
    c->cfg.client_id = c->client_id;
    c->cfg.group_id = NULL; // owned by the group machine
    c->cfg.group_instance_id = NULL;
    snprintf(c->log_tag, sizeof c->log_tag, "%s", cfg->log_tag ? cfg->log_tag : "");
    c->cfg.log_tag = c->log_tag;
    kesm_log_component(c->log, sizeof c->log, "consumer", c->log_tag);
    if (cb) {
        c->cb = *cb;
    }
    size_t nreq = 0;
    c->conn_cfg = (struct net_conn_config){.client_id = c->client_id,
                                           .tls = cfg->tls,
                                           .auth = cfg->auth,
                                           .request_timeout_ms = c->cfg.request_timeout_ms,
                                           .backoff_initial_ms = c->cfg.retry_backoff_ms,
                                           .log_tag = c->log_tag};
    c->conn_cfg.required_apis = kp_consumer_required_apis(&nreq);
    c->conn_cfg.num_required_apis = nreq;

    struct cons_group_config gc = {.group_id = cfg->group_id,
                                   .group_instance_id = cfg->group_instance_id,
                                   .topics = (const char *const *)c->topics,
                                   .num_topics = cfg->num_topics,
                                   .session_timeout_ms = c->cfg.session_timeout_ms,
                                   .heartbeat_interval_ms = c->cfg.heartbeat_interval_ms,
                                   .rebalance_timeout_ms = c->cfg.rebalance_timeout_ms,
                                   .retry_backoff_ms = c->cfg.retry_backoff_ms,
                                   .leader_sync_delay_ms = 300};
    c->g = cons_group_new(&gc);
    c->last_state = cons_group_state(c->g);
    cons_metadata_init(&c->md, (const char *const *)c->topics, cfg->num_topics);
    struct cons_fetcher_config fc = {.max_wait_ms = cfg->fetch_max_wait_ms,
                                     .min_bytes = cfg->fetch_min_bytes,
                                     .partition_max_bytes = cfg->fetch_partition_max_bytes,
                                     .max_bytes = cfg->fetch_max_bytes,
                                     .read_uncommitted = cfg->read_uncommitted,
                                     .check_crcs = cfg->check_crcs,
                                     .decompress_limit = cfg->decompress_limit,
                                     .undecodable_retries = cfg->undecodable_retries,
                                     .retry_backoff_ms = c->cfg.retry_backoff_ms,
                                     .start = cfg->start,
                                     .start_timestamp_ms = cfg->start_timestamp_ms};
    cons_fetcher_init(&c->f, &fc, deliver, c);
    cons_fetcher_set_undecodable(&c->f, undecodable, c);

    if (!add_bootstrap(c, err, err_cap)) {
        cons_free(c);
        return NULL;
    }
    c->tick = net_timer_new(r, on_tick, c);
    c->done_timer = net_timer_new(r, fire_done, c);
    net_timer_arm(c->tick, 0);
    return c;
}

int cons_ack(struct cons *c, const char *topic, int32_t partition, int64_t next_offset)
{
    struct cons_part *p = cons_fetcher_find(&c->f, topic, partition);
    if (!p || next_offset < 0 || p->position < 0 || next_offset > p->position) {
        return -1;
    }
    if (next_offset > p->acked || p->acked > p->position) {
        p->acked = next_offset;
    }
    return 0;
}

int cons_pause(struct cons *c, const char *topic, int32_t partition)
{
    struct cons_part *p = cons_fetcher_find(&c->f, topic, partition);
    if (!p) {
        return -1;
    }
    p->paused = true;
    return 0;
}

int cons_resume(struct cons *c, const char *topic, int32_t partition)
{
    struct cons_part *p = cons_fetcher_find(&c->f, topic, partition);
    if (!p) {
        return -1;
    }
    p->paused = false;
    pump(c);
    return 0;
}

void cons_revoke_done(struct cons *c)
{
    if (c->revoke == REV_WAIT_USER) {
        c->revoke = REV_COMMIT;
        pump(c);
    }
}

size_t cons_stats(struct cons *c, struct cons_partition_stats *out, size_t cap)
{
    for (size_t i = 0; i < c->f.num_parts && i < cap; i++) {
        const struct cons_part *p = &c->f.parts[i];
        int64_t hw = p->high_watermark;
        out[i] = (struct cons_partition_stats){
            .topic = p->topic,
            .partition = p->partition,
            .leader = p->leader,
            .position = p->position,
            .committed = p->committed,
            .acked = p->acked,
            .high_watermark = hw,
            .log_start = p->log_start,
            .lag = hw >= 0 && p->position >= 0 ? hw - p->position : -1,
            .committed_lag = hw >= 0 && p->committed >= 0 ? hw - p->committed : -1,
            .paused = p->paused,
            .records_delivered = p->records_delivered,
        };
    }
    return c->f.num_parts;
}

uint64_t cons_undecodable_batches(const struct cons *c)
{
    return c->undecodable_batches;
}

void cons_conn_counts(const struct cons *c, uint64_t *counts)
{
    for (size_t i = 0; i < c->num_brokers; i++) {
        const struct net_conn *conn = c->brokers[i]->conn;
        if (conn) {
            counts[net_conn_state(conn)]++;
        }
    }
}

void cons_close(struct cons *c, void (*done)(struct cons *c, void *ctx), void *ctx)
{
    if (c->closing) {
        return;
    }
    uint64_t now = net_reactor_now_ms(c->r);
    c->closing = true;
    c->close_done = done;
    c->close_ctx = ctx;
    c->close_deadline = now + c->cfg.session_timeout_ms + c->cfg.request_timeout_ms;
    kesm_log(KESM_LOG_INFO, c->log, "closing: final commit, then leaving group %s",
             cons_group_id(c->g));
    cons_group_close(c->g, now);
    if (!c->in_pump) {
        net_timer_arm(c->tick, 0);
    }
}

void cons_free(struct cons *c)
{
    if (!c) {
        return;
    }
    c->freeing = true;
    for (size_t i = 0; i < c->num_brokers; i++) {
        net_conn_free(c->brokers[i]->conn);
        free(c->brokers[i]);
    }
    free(c->brokers);
    net_timer_free(c->tick);
    net_timer_free(c->done_timer);
    cons_group_free(c->g);
    cons_metadata_cleanup(&c->md);
    cons_fetcher_cleanup(&c->f);
    for (size_t i = 0; i < c->cfg.num_topics; i++) {
        free(c->topics[i]);
    }
    free(c->topics);
    free(c->part_counts);
    free(c->bootstrap);
    free(c->client_id);
    free(c);
}

uint64_t cons_commit_errors(const struct cons *c)
{
    return c->commit_errors;
}
