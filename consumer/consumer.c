// consumer.c: the driver that connects the sans-I/O parts (group.c, fetcher.c, offsets.c and
// broker/metadata.c through broker/cluster.c) to broker/ connections and the caller's callbacks:
// the public API, the lifecycle, connection events and the pump. See consumer.h.
//
// Everything happens in the pump, which runs after every response, tick and API call: it drains
// the group machine's actions, then sends whatever is due (consumer_due.c: Metadata, OffsetFetch,
// ListOffsets, Fetch, OffsetCommit), each kind at most once in flight (per broker for
// ListOffsets and Fetch); answers are consumer_resp.c's. A 100 ms tick covers every deadline
// (heartbeats, back-offs, commits).
#include "consumer/consumer.h"

#include "base/alloc.h"
#include "consumer/consumer_int.h"
#include "consumer/fetchbudget.h"
#include "proto/api.h"
#include "proto/api_versions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 100

// ---- helpers ----------------------------------------------------------------------------------

void cons_fail(struct cons *c, enum cons_error_class cls, const char *msg)
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

static void on_conn_state(struct broker_cluster *cl, struct broker_node *b,
                          const struct broker_conn_event *ev, void *ctx)
{
    (void)cl;
    struct cons *c = ctx;
    if (c->freeing || ev->err == BROKER_OK) {
        return;
    }
    char msg[300];
    if (ev->err == BROKER_ERR_VERSION) {
        // The broker lacks an API (or every version of it) a consumer needs: retrying will
        // not help (a broker older than Kafka 0.11, or one with APIs disabled).
        snprintf(msg, sizeof msg, "broker %s:%u: %s", b->host, (unsigned)b->port,
                 ev->msg ? ev->msg : broker_err_name(ev->err));
        cons_fail(c, CONS_ERR_CONFIG, msg);
        return;
    }
    if (broker_conn_event_is_authn(ev)) {
        snprintf(msg, sizeof msg, "broker %s:%u: authentication failed: %s", b->host,
                 (unsigned)b->port, ev->msg ? ev->msg : broker_err_name(ev->err));
        cons_fail(c, CONS_ERR_AUTHN, msg);
        return;
    }
    // A connection problem the consumer retries by itself: tell the upper layer (at most every
    // 30 s) so it can show it, as Lambda's "PROBLEM: Connection error".
    uint64_t now = broker_cluster_now_ms(c->cl);
    if (c->failed || (c->last_transient && now < c->last_transient + 30000)) {
        return;
    }
    c->last_transient = now;
    snprintf(msg, sizeof msg, "broker %s:%u: %s", b->host, (unsigned)b->port,
             ev->msg ? ev->msg : broker_err_name(ev->err));
    if (c->cb.on_error) {
        c->cb.on_error(c, CONS_ERR_TRANSIENT, msg, c->cb.ctx);
    }
}

// ---- sending ------------------------------------------------------------------------------

static bool write_body(kw *w, int16_t version, void *ctx);

static bool send_rc(struct cons *c, struct broker_node *b, struct req_ctx *rc, int16_t version,
                    uint32_t timeout_ms)
{
    struct broker_req req = {.api_key = rc->api_key,
                             .version = version,
                             .write_body = write_body,
                             .body_ctx = rc,
                             .on_resp = cons_on_resp,
                             .ctx = rc,
                             .timeout_ms = timeout_ms};
    int err = broker_conn_send(b->conn, &req);
    if (err != BROKER_OK) {
        kesm_log(KESM_LOG_WARN, c->log, "%s to %s: not sent (%s)", kp_api_name(rc->api_key),
                 broker_conn_name(b->conn), broker_err_name(err));
        free(rc);
        return false;
    }
    return true;
}

bool cons_send(struct cons *c, struct broker_node *b, enum req_kind kind, int16_t api_key,
               int16_t version, uint32_t timeout_ms)
{
    struct req_ctx *rc = xcalloc(1, sizeof *rc);
    *rc = (struct req_ctx){.c = c, .kind = kind, .b = b, .api_key = api_key};
    return send_rc(c, b, rc, version, timeout_ms);
}

int cons_send_fetch(struct cons *c, struct broker_node *b, uint32_t timeout_ms)
{
    size_t grant = cons_fetch_budget_take(cons_fetcher_fetch_want(&c->f, b->id));
    if (grant == 0) {
        return 0;
    }
    struct req_ctx *rc = xcalloc(1, sizeof *rc);
    *rc =
        (struct req_ctx){.c = c, .kind = R_FETCH, .b = b, .api_key = KP_API_FETCH, .grant = grant};
    if (!send_rc(c, b, rc, BROKER_VERSION_AUTO, timeout_ms)) {
        cons_fetch_budget_give(grant);
        return -1;
    }
    return 1;
}

static bool write_body(kw *w, int16_t version, void *ctx)
{
    struct req_ctx *rc = ctx;
    struct cons *c = rc->c;
    switch (rc->kind) {
    case R_GROUP:
        return c->g8 ? cons_g848_write_request(c->g8, rc->api_key, version, w)
                     : cons_group_write_request(c->g, rc->api_key, version, w);
    case R_METADATA:
        return broker_metadata_write_request(c->md, version, w);
    case R_OFFSET_FETCH:
        return cons_offsets_fetch_write(&c->f, c->group_id, version, w);
    case R_LIST:
        return cons_offsets_list_write(&c->f, rc->b->id, version, w);
    case R_FETCH:
        return cons_fetcher_write_request_max(&c->f, rc->b->id, version, (int32_t)rc->grant, w);
    case R_COMMIT:
        return cons_offsets_commit_write(&c->f, c->group_id, cons_member_generation(c),
                                         cons_member_id(c), cons_group_instance_id(c->g), version,
                                         w);
    }
    return false;
}

static void fire_done(struct cons *c)
{
    c->done_due = false;
    if (c->close_reported) {
        return;
    }
    c->close_reported = true;
    kesm_log(KESM_LOG_INFO, c->log, "closed");
    if (c->close_done) {
        c->close_done(c, c->close_ctx);
    }
}

void cons_pump(struct cons *c)
{
    if (c->in_pump) {
        c->pump_again = true;
        return;
    }
    c->in_pump = true;
    int rounds = 0;
    do {
        c->pump_again = false;
        uint64_t now = broker_cluster_now_ms(c->cl);
        cons_run_due(c, now);
        if (c->closing && !c->close_reported && !c->done_due &&
            (cons_member_closed(c) || c->failed || !c->md_ready || now >= c->close_deadline)) {
            c->done_due = true;
            broker_cluster_wake(c->cl);
        }
    } while (c->pump_again && ++rounds < 16);
    c->in_pump = false;
}

// on_tick: the cluster's tick. Dropping the bootstrap connections fails nothing, but the pump
// their callbacks could ask for is held back until the cluster's array is consistent again.
static void on_tick(struct broker_cluster *cl, void *ctx)
{
    struct cons *c = ctx;
    if (c->done_due) {
        fire_done(c); // may free the consumer: nothing after it
        return;
    }
    if (c->boot_drop) {
        bool was = c->in_pump;
        c->in_pump = true;
        c->boot_drop = broker_cluster_drop_bootstrap(cl);
        c->in_pump = was;
    }
    cons_pump(c);
}

// ---- public API -------------------------------------------------------------------------------

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
    c->cfg.group_id = NULL;  // owned by the group machine
    c->cfg.assignors = NULL; // copied by the group machine
    c->cfg.group_instance_id = NULL;
    snprintf(c->log_tag, sizeof c->log_tag, "%s", cfg->log_tag ? cfg->log_tag : "");
    c->cfg.log_tag = c->log_tag;
    kesm_log_component(c->log, sizeof c->log, "consumer", c->log_tag);
    if (cb) {
        c->cb = *cb;
    }
    struct cons_group_config gc = {.group_id = cfg->group_id,
                                   .group_instance_id = cfg->group_instance_id,
                                   .topics = (const char *const *)c->topics,
                                   .num_topics = cfg->num_topics,
                                   .session_timeout_ms = c->cfg.session_timeout_ms,
                                   .heartbeat_interval_ms = c->cfg.heartbeat_interval_ms,
                                   .rebalance_timeout_ms = c->cfg.rebalance_timeout_ms,
                                   .retry_backoff_ms = c->cfg.retry_backoff_ms,
                                   .leader_sync_delay_ms = 300,
                                   .assignors = cfg->assignors,
                                   .num_assignors = cfg->num_assignors};
    c->g = cons_group_new(&gc);
    snprintf(c->group_id, sizeof c->group_id, "%s", cfg->group_id);
    c->last_state = cons_group_state(c->g);
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

    size_t nreq = 0;
    struct broker_cluster_config cc = {.bootstrap = c->bootstrap,
                                       .client_id = c->client_id,
                                       .tls = cfg->tls,
                                       .auth = cfg->auth,
                                       .request_timeout_ms = c->cfg.request_timeout_ms,
                                       .backoff_initial_ms = c->cfg.retry_backoff_ms,
                                       .required_apis = kp_consumer_required_apis(&nreq),
                                       .topics = (const char *const *)c->topics,
                                       .num_topics = cfg->num_topics,
                                       .allow_auto_create = true,
                                       .tick_ms = TICK_MS,
                                       .log_tag = c->log_tag};
    cc.num_required_apis = nreq;
    struct broker_cluster_callbacks ccb = {
        .on_tick = on_tick, .on_conn_state = on_conn_state, .ctx = c};
    c->cl = broker_cluster_new(r, &cc, &ccb, "consumer config", err, err_cap);
    if (c->cl == NULL) {
        cons_free(c);
        return NULL;
    }
    c->md = broker_cluster_metadata(c->cl);
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
    cons_pump(c);
    return 0;
}

void cons_revoke_done(struct cons *c)
{
    if (c->revoke == REV_WAIT_USER) {
        c->revoke = REV_COMMIT;
        cons_pump(c);
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
    broker_cluster_conn_counts(c->cl, counts);
}

void cons_close(struct cons *c, void (*done)(struct cons *c, void *ctx), void *ctx)
{
    if (c->closing) {
        return;
    }
    uint64_t now = broker_cluster_now_ms(c->cl);
    c->closing = true;
    c->close_done = done;
    c->close_ctx = ctx;
    c->close_deadline = now + c->cfg.session_timeout_ms + c->cfg.request_timeout_ms;
    kesm_log(KESM_LOG_INFO, c->log, "closing: final commit, then leaving group %s", c->group_id);
    cons_member_close(c, now);
    if (!c->in_pump) {
        broker_cluster_wake(c->cl);
    }
}

void cons_free(struct cons *c)
{
    if (!c) {
        return;
    }
    c->freeing = true;
    broker_cluster_free(c->cl);
    cons_group_free(c->g);
    cons_g848_free(c->g8);
    free(c->tp848);
    free(c->rev848);
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
