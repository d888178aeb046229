// admin.c: one-shot CreateTopics (see admin.h).
#include "consumer/admin.h"

#include "base/alloc.h"
#include "broker/cluster.h"
#include "proto/api.h"
#include "proto/create_topics.h"
#include "proto/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cons_admin {
    struct broker_cluster *cl;
    char *name;
    char *policy;
    int32_t partitions;
    int16_t rf;
    uint32_t timeout_ms;
    uint64_t deadline;
    bool sent, finished, freeing;
    cons_admin_done_fn *done;
    void *ctx;
};

static void finish(struct cons_admin *a, int code, const char *msg)
{
    if (a->finished) {
        return;
    }
    a->finished = true;
    broker_cluster_stop_tick(a->cl);
    a->done(a->ctx, code, msg);
}

static bool write_req(kw *w, int16_t version, void *ctx)
{
    struct cons_admin *a = ctx;
    struct kp_create_topics_config c = {"cleanup.policy", a->policy};
    struct kp_create_topics_topic_req t = {a->name, a->partitions, a->rf, &c, a->policy ? 1 : 0};
    struct kp_create_topics_req req = {&t, 1, (int32_t)a->timeout_ms, false};
    return kp_create_topics_req_write(w, version, &req);
}

static void on_resp(struct broker_conn *c, const struct broker_resp *resp, void *ctx)
{
    (void)c;
    struct cons_admin *a = ctx;
    char msg[640];
    if (a->freeing) {
        return;
    }
    if (resp->err != BROKER_OK) {
        snprintf(msg, sizeof msg, "CreateTopics %s: %s", a->name,
                 resp->msg ? resp->msg : broker_err_name(resp->err));
        finish(a, -1, msg);
        return;
    }
    kr body = resp->body;
    struct kp_create_topics_resp r;
    struct kp_err err = {0};
    if (kp_create_topics_resp_parse(&body, resp->version, &r, &err) != KP_OK) {
        snprintf(msg, sizeof msg, "CreateTopics %s: the answer does not parse (%s)", a->name,
                 err.field ? err.field : "?");
        finish(a, -1, msg);
        return;
    }
    struct kp_create_topics_iter it;
    struct kp_create_topics_result t;
    kp_create_topics_results(&r, &it);
    while (kp_create_topics_next(&it, &t)) {
        if (!kr_eq_cstr(&t.name, a->name)) {
            continue;
        }
        char nb[KP_ERROR_NAME_BUF];
        snprintf(msg, sizeof msg, "CreateTopics %s: %s%s%.*s", a->name,
                 t.error_code ? kp_error_name_buf(t.error_code, nb, sizeof nb) : "created",
                 t.error_message_null ? "" : ": ",
                 (int)(t.error_message_null ? 0 : t.error_message.len),
                 t.error_message_null ? "" : (const char *)t.error_message.p);
        finish(a, t.error_code, msg);
        return;
    }
    snprintf(msg, sizeof msg, "CreateTopics %s: the answer does not name the topic", a->name);
    finish(a, -1, msg);
}

static void on_tick(struct broker_cluster *cl, void *ctx)
{
    struct cons_admin *a = ctx;
    if (a->finished || a->sent) {
        return;
    }
    if (broker_cluster_now_ms(cl) >= a->deadline) {
        finish(a, -1, "CreateTopics: no broker connection became ready in time");
        return;
    }
    struct broker_node *n = broker_cluster_any(cl);
    if (!n || broker_conn_state(n->conn) != BROKER_CONN_READY) {
        return;
    }
    if (broker_conn_version(n->conn, KP_API_CREATE_TOPICS) < 2) {
        char msg[640];
        snprintf(msg, sizeof msg,
                 "CreateTopics %s: the broker %s does not offer CreateTopics v2 or later", a->name,
                 n->host);
        finish(a, -1, msg);
        return;
    }
    struct broker_req req = {.api_key = KP_API_CREATE_TOPICS,
                             .version = BROKER_VERSION_AUTO,
                             .write_body = write_req,
                             .body_ctx = a,
                             .on_resp = on_resp,
                             .ctx = a,
                             .timeout_ms = a->timeout_ms + 5000};
    a->sent = broker_conn_send(n->conn, &req) == BROKER_OK;
}

struct cons_admin *cons_admin_create_topic(struct net_reactor *r, const struct cons_admin_topic *t,
                                           cons_admin_done_fn *done, void *ctx, char *err,
                                           size_t err_cap)
{
    struct cons_admin *a = xcalloc(1, sizeof *a);
    a->name = xstrdup(t->name);
    a->policy = t->cleanup_policy ? xstrdup(t->cleanup_policy) : NULL;
    a->partitions = t->num_partitions ? t->num_partitions : 1;
    a->rf = t->replication_factor ? t->replication_factor : -1;
    a->timeout_ms = t->timeout_ms ? t->timeout_ms : 30000;
    a->done = done;
    a->ctx = ctx;
    struct broker_cluster_config cc = {.bootstrap = t->bootstrap,
                                       .tls = t->tls,
                                       .auth = t->auth,
                                       .tick_ms = 100,
                                       .log_tag = t->log_tag};
    struct broker_cluster_callbacks cb = {.on_tick = on_tick, .ctx = a};
    a->cl = broker_cluster_new(r, &cc, &cb, "admin config", err, err_cap);
    if (!a->cl) {
        cons_admin_free(a);
        return NULL;
    }
    a->deadline = broker_cluster_now_ms(a->cl) + a->timeout_ms;
    return a;
}

void cons_admin_free(struct cons_admin *a)
{
    if (!a) {
        return;
    }
    a->freeing = true;
    broker_cluster_free(a->cl);
    free(a->name);
    free(a->policy);
    free(a);
}
