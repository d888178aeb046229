// reader.c: the log reader (see reader.h): one partition from its first offset, followed.
#include "consumer/reader.h"

#include "base/alloc.h"
#include "base/log.h"
#include "broker/cluster.h"
#include "consumer/offsets.h"
#include "proto/api.h"
#include "proto/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 50

enum rd_req { RD_METADATA, RD_LIST, RD_FETCH };

struct cons_reader {
    struct broker_cluster *cl;
    struct broker_metadata *md;
    struct cons_fetcher f;
    struct cons_reader_callbacks cb;
    char *topic;
    int32_t partition;
    uint32_t request_timeout_ms;
    char log[KESM_LOG_COMPONENT_CAP];
    bool md_inflight, md_wanted, boot_drop, busy, failed, freeing;
    uint64_t md_next, last_ok, problem_at;
    int32_t partitions;
};

struct rd_ctx {
    struct cons_reader *lr;
    enum rd_req kind;
    int32_t broker;
};

static void problem(struct cons_reader *lr, bool fatal, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(struct cons_reader *lr, bool fatal, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    uint64_t now = broker_cluster_now_ms(lr->cl);
    if (fatal) {
        lr->failed = true;
    } else if (now < lr->problem_at + 5000) {
        return; // at most one retried problem per 5 s
    }
    lr->problem_at = now;
    if (lr->cb.on_problem) {
        lr->cb.on_problem(lr->cb.ctx, fatal, msg);
    }
}

static bool write_body(kw *w, int16_t version, void *ctx)
{
    struct rd_ctx *rc = ctx;
    switch (rc->kind) {
    case RD_METADATA:
        return broker_metadata_write_request(rc->lr->md, version, w);
    case RD_LIST:
        return cons_offsets_list_write(&rc->lr->f, rc->broker, version, w);
    case RD_FETCH:
        return cons_fetcher_write_request(&rc->lr->f, rc->broker, version, w);
    }
    return false;
}

static void on_metadata(struct cons_reader *lr, const struct broker_resp *resp)
{
    uint64_t now = broker_cluster_now_ms(lr->cl);
    lr->md_inflight = false;
    lr->md_next = now + 500;
    struct kp_err err = {0};
    if (resp->err != BROKER_OK ||
        broker_metadata_update(lr->md, &resp->body, resp->version, &err) != KP_OK) {
        problem(lr, false, "metadata: %s",
                resp->err != BROKER_OK ? broker_err_name(resp->err) : "response does not parse");
        return;
    }
    const struct broker_md_topic *t = broker_metadata_topic(lr->md, lr->topic);
    lr->partitions = t && t->error_code == 0 ? t->num_partitions : 0;
    if (t && t->error_code == KP_ERR_CODE_TOPIC_AUTHORIZATION_FAILED) {
        problem(lr, true, "not authorized to read topic %s", lr->topic);
        return;
    }
    if (lr->partitions <= lr->partition) {
        problem(lr, false, "topic %s [%d] does not exist", lr->topic, (int)lr->partition);
        return;
    }
    if (!lr->boot_drop && lr->md->num_brokers > 0) {
        lr->boot_drop = true;
        broker_cluster_retire_bootstrap(lr->cl);
    }
    int32_t epoch;
    lr->f.parts[0].leader = broker_metadata_leader(lr->md, lr->topic, lr->partition, &epoch);
    lr->f.parts[0].leader_epoch = epoch;
    lr->md_wanted = lr->f.parts[0].leader < 0;
    lr->md_next = now + (lr->md_wanted ? 500 : 30000);
}

static void on_fetch(struct cons_reader *lr, int32_t broker, const struct broker_resp *resp)
{
    uint64_t now = broker_cluster_now_ms(lr->cl);
    struct cons_fetch_outcome o;
    cons_fetcher_on_response(&lr->f, broker, now, resp->version,
                             resp->err == BROKER_OK ? &resp->body : NULL, &o);
    if (resp->err != BROKER_OK) {
        problem(lr, false, "Fetch from broker %d: %s", (int)broker, broker_err_name(resp->err));
    } else if (lr->f.note[0]) {
        problem(lr, false, "%s", lr->f.note);
    }
    if (o.fatal) {
        problem(lr, true, "%s", o.msg);
    }
    if (o.refresh_metadata) {
        lr->md_wanted = true;
        lr->md_next = 0;
    }
    if (resp->err == BROKER_OK && !o.fatal) {
        lr->last_ok = now;
        if (lr->cb.on_progress) {
            lr->cb.on_progress(lr->cb.ctx, lr->f.parts[0].position, lr->f.parts[0].high_watermark);
        }
    }
}

static void on_resp(struct broker_conn *conn, const struct broker_resp *resp, void *ctx)
{
    (void)conn;
    struct rd_ctx *rc = ctx;
    struct cons_reader *lr = rc->lr;
    if (!lr->freeing) {
        struct cons_offsets_outcome o;
        switch (rc->kind) {
        case RD_METADATA:
            on_metadata(lr, resp);
            break;
        case RD_LIST:
            lr->busy = false;
            cons_offsets_list_on_response(&lr->f, rc->broker, resp->version,
                                          resp->err == BROKER_OK ? &resp->body : NULL, &o);
            lr->md_wanted = lr->md_wanted || o.refresh_metadata;
            break;
        case RD_FETCH:
            lr->busy = false;
            on_fetch(lr, rc->broker, resp);
            break;
        }
        broker_cluster_wake(lr->cl);
    }
    free(rc);
}

static bool send_req(struct cons_reader *lr, struct broker_node *b, enum rd_req kind,
                     int16_t api_key, int16_t version, uint32_t timeout_ms)
{
    struct rd_ctx *rc = xcalloc(1, sizeof *rc);
    *rc = (struct rd_ctx){lr, kind, b->id};
    struct broker_req req = {.api_key = api_key,
                             .version = version,
                             .write_body = write_body,
                             .body_ctx = rc,
                             .on_resp = on_resp,
                             .ctx = rc,
                             .timeout_ms = timeout_ms};
    if (broker_conn_send(b->conn, &req) != BROKER_OK) {
        free(rc);
        return false;
    }
    return true;
}

static void maybe_metadata(struct cons_reader *lr, uint64_t now)
{
    bool due = lr->md_wanted || lr->partitions <= lr->partition || now >= lr->md_next;
    if (lr->md_inflight || !due || now < lr->md_next) {
        return;
    }
    struct broker_node *b = broker_cluster_any(lr->cl);
    lr->md_next = now + 500;
    if (b && send_req(lr, b, RD_METADATA, KP_API_METADATA, BROKER_VERSION_AUTO, 0)) {
        lr->md_inflight = true;
        lr->md_wanted = false;
    }
}

// maybe_fetch sends the leader a ListOffsets (a reset is due) or the next Fetch.
static void maybe_fetch(struct cons_reader *lr, uint64_t now)
{
    int32_t leader = lr->f.parts[0].leader;
    struct broker_node *b =
        !lr->busy && leader >= 0 ? broker_cluster_node(lr->cl, leader, false, NULL, 0) : NULL;
    if (!b || broker_conn_state(b->conn) != BROKER_CONN_READY) {
        return;
    }
    int16_t v = broker_conn_version(b->conn, KP_API_LIST_OFFSETS);
    v = v > 3 ? 3 : v;
    if (v >= 1 && cons_offsets_list_begin(&lr->f, leader) > 0) {
        lr->busy = send_req(lr, b, RD_LIST, KP_API_LIST_OFFSETS, v, 0);
        if (!lr->busy) {
            struct cons_offsets_outcome o;
            cons_offsets_list_on_response(&lr->f, leader, v, NULL, &o);
        }
        return;
    }
    if (cons_fetcher_begin_fetch(&lr->f, leader, now) > 0) {
        uint32_t t = lr->request_timeout_ms + (uint32_t)lr->f.cfg.max_wait_ms;
        lr->busy = send_req(lr, b, RD_FETCH, KP_API_FETCH, BROKER_VERSION_AUTO, t);
        if (!lr->busy) {
            struct cons_fetch_outcome o;
            cons_fetcher_on_response(&lr->f, leader, now, -1, NULL, &o);
        }
    }
}

static void on_tick(struct broker_cluster *cl, void *ctx)
{
    struct cons_reader *lr = ctx;
    if (lr->failed) {
        return;
    }
    if (lr->boot_drop) {
        broker_cluster_drop_bootstrap(cl);
    }
    uint64_t now = broker_cluster_now_ms(cl);
    maybe_metadata(lr, now);
    maybe_fetch(lr, now);
}

static void on_conn_state(struct broker_cluster *cl, struct broker_node *n,
                          const struct broker_conn_event *ev, void *ctx)
{
    (void)cl;
    struct cons_reader *lr = ctx;
    if (lr->freeing || ev->err == BROKER_OK) {
        return;
    }
    bool fatal = ev->err == BROKER_ERR_VERSION || broker_conn_event_is_authn(ev);
    problem(lr, fatal, "broker %s:%u: %s%s", n->host, (unsigned)n->port,
            broker_conn_event_is_authn(ev) ? "authentication failed: " : "",
            ev->msg ? ev->msg : broker_err_name(ev->err));
}

static void deliver(const struct cons_record_batch *batch, void *ctx)
{
    struct cons_reader *lr = ctx;
    if (lr->cb.on_records && !lr->failed) {
        lr->cb.on_records(lr->cb.ctx, batch);
    }
}

struct cons_reader *cons_reader_new(struct net_reactor *r, const struct cons_reader_config *cfg,
                                    const struct cons_reader_callbacks *cb, char *err,
                                    size_t err_cap)
{
    if (!cfg->topic || !cfg->topic[0] || strlen(cfg->topic) > 249 || cfg->partition < 0) {
        snprintf(err, err_cap, "reader config: a topic (1-249 bytes) and a partition >= 0");
        return NULL;
    }
    struct cons_reader *lr = xcalloc(1, sizeof *lr);
    lr->cb = *cb;
    lr->topic = xstrdup(cfg->topic);
    lr->partition = cfg->partition;
    lr->partitions = -1;
    lr->request_timeout_ms = cfg->request_timeout_ms ? cfg->request_timeout_ms : 30000;
    kesm_log_component(lr->log, sizeof lr->log, "consumer", cfg->log_tag ? cfg->log_tag : "");
    struct cons_fetcher_config fc = {.max_wait_ms = cfg->max_wait_ms ? cfg->max_wait_ms : 500,
                                     .start = CONS_START_TRIM_HORIZON};
    cons_fetcher_init(&lr->f, &fc, deliver, lr);
    struct cons_tp tp = {lr->topic, lr->partition};
    cons_fetcher_assign(&lr->f, &tp, 1);
    lr->f.parts[0].pos_state = CONS_POS_NEED_RESET; // the earliest offset, by ListOffsets
    const char *topics[1] = {lr->topic};
    struct broker_cluster_config cc = {.bootstrap = cfg->bootstrap,
                                       .client_id = cfg->client_id,
                                       .tls = cfg->tls,
                                       .auth = cfg->auth,
                                       .request_timeout_ms = lr->request_timeout_ms,
                                       .topics = topics,
                                       .num_topics = 1,
                                       .allow_auto_create = false,
                                       .tick_ms = TICK_MS,
                                       .log_tag = cfg->log_tag};
    struct broker_cluster_callbacks ccb = {
        .on_tick = on_tick, .on_conn_state = on_conn_state, .ctx = lr};
    lr->cl = broker_cluster_new(r, &cc, &ccb, "reader config", err, err_cap);
    if (!lr->cl) {
        cons_reader_free(lr);
        return NULL;
    }
    lr->md = broker_cluster_metadata(lr->cl);
    return lr;
}

void cons_reader_free(struct cons_reader *lr)
{
    if (!lr) {
        return;
    }
    lr->freeing = true;
    broker_cluster_free(lr->cl);
    cons_fetcher_cleanup(&lr->f);
    free(lr->topic);
    free(lr);
}

int64_t cons_reader_position(const struct cons_reader *lr)
{
    const struct cons_part *p = &lr->f.parts[0];
    return p->pos_state == CONS_POS_READY ? p->position : -1;
}

int32_t cons_reader_partitions(const struct cons_reader *lr)
{
    return lr->partitions;
}

uint64_t cons_reader_last_ok_ms(const struct cons_reader *lr)
{
    return lr->last_ok;
}
