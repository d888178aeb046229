// producer.c: the Kafka producer (see producer.h): deliveries waiting for their topic's metadata,
// the partitioner, one record batch per partition, Produce to the leaders, completion.
#include "consumer/producer.h"

#include "base/alloc.h"
#include "broker/cluster.h"
#include "proto/api.h"
#include "proto/batch_builder.h"
#include "proto/errors.h"
#include "proto/produce.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct msg {
    uint8_t *key; // NULL: null key
    size_t key_len;
    uint8_t *value;
    size_t value_len;
    bool value_null; // a tombstone
    int32_t partition;
};

struct delivery {
    struct prod *p;
    struct delivery *next;
    uint64_t id;
    prod_done_fn *done; // NULL once cancelled (or when done_off is the callback)
    prod_offset_done_fn *done_off;
    void *arg;
    int64_t base_offset; // of the last partition answered (-1: none)
    char *topic;
    struct msg *msgs;
    size_t num_msgs;
    size_t pending; // Produce requests in flight
    bool started;
    bool failed;
    char why[256];
};

// One Produce request: the batch of one partition of one delivery.
struct produce {
    struct delivery *d;
    int32_t partition;
    kw batch;
};

struct prod {
    struct broker_cluster *cl;
    struct broker_metadata *md; // the cluster's
    char what[64];
    int32_t produce_timeout_ms;
    bool md_ok, md_inflight;
    bool boot_drop; // bootstrap connections are retired and being dropped
    bool closing;
    uint32_t rr; // round-robin counter for null keys
    struct delivery *deliveries;
    uint64_t next_id;
};

uint32_t prod_murmur2(const uint8_t *p, size_t len)
{
    const uint32_t m = 0x5bd1e995u, seed = 0x9747b28cu;
    uint32_t h = seed ^ (uint32_t)len;
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        uint32_t k = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 |
                     (uint32_t)p[i + 3] << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    switch (len - i) {
    case 3:
        h ^= (uint32_t)p[i + 2] << 16;
        // fall through
    case 2:
        h ^= (uint32_t)p[i + 1] << 8;
        // fall through
    case 1:
        h ^= p[i];
        h *= m;
        break;
    default:
        break;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

static void fail_delivery(struct delivery *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail_delivery(struct delivery *d, const char *fmt, ...)
{
    if (!d->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->why, sizeof d->why, fmt, ap);
        va_end(ap);
        d->failed = true;
    }
    d->p->md_ok = false; // look the leaders up again next time
}

// ---- metadata ----------------------------------------------------------------------------------

static bool write_metadata(kw *w, int16_t version, void *ctx)
{
    struct prod *p = ctx;
    return broker_metadata_write_request(p->md, version, w);
}

// fail_waiting fails every delivery still waiting for metadata.
static void fail_waiting(struct prod *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail_waiting(struct prod *p, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    for (struct delivery *d = p->deliveries; d; d = d->next) {
        if (!d->started) {
            fail_delivery(d, "%s %s: %s", p->what, d->topic, why);
            d->started = true;
        }
    }
    broker_cluster_wake(p->cl);
}

static void on_metadata(struct broker_conn *c, const struct broker_resp *resp, void *ctx)
{
    (void)c;
    struct prod *p = ctx;
    p->md_inflight = false;
    if (p->closing) {
        return;
    }
    if (resp->err != BROKER_OK) {
        fail_waiting(p, "metadata: %s", resp->msg ? resp->msg : broker_err_name(resp->err));
        return;
    }
    struct kp_err err = {0};
    if (broker_metadata_update(p->md, &resp->body, resp->version, &err) != KP_OK) {
        fail_waiting(p, "metadata response does not parse (%s)", err.field ? err.field : "?");
        return;
    }
    p->md_ok = true;
    if (!p->boot_drop && p->md->num_brokers > 0) {
        p->boot_drop = true;
        broker_cluster_retire_bootstrap(p->cl);
    }
    broker_cluster_wake(p->cl);
}

static void request_metadata(struct prod *p)
{
    if (p->md_inflight) {
        return;
    }
    struct broker_node *n = broker_cluster_any(p->cl);
    struct broker_req req = {.api_key = KP_API_METADATA,
                             .version = BROKER_VERSION_AUTO,
                             .write_body = write_metadata,
                             .body_ctx = p,
                             .on_resp = on_metadata,
                             .ctx = p};
    int rc = n != NULL ? broker_conn_send(n->conn, &req) : BROKER_ERR_CLOSED;
    if (rc != BROKER_OK) {
        fail_waiting(p, "metadata: %s", broker_err_name(rc));
        return;
    }
    p->md_inflight = true;
}

// ---- produce -----------------------------------------------------------------------------------

static bool write_produce(kw *w, int16_t version, void *ctx)
{
    struct produce *pr = ctx;
    struct kp_produce_req_partition part = {pr->partition, kw_data(&pr->batch), kw_len(&pr->batch)};
    struct kp_produce_req_topic t = {pr->d->topic, &part, 1};
    struct kp_produce_req req = {
        .acks = -1, .timeout_ms = pr->d->p->produce_timeout_ms, .topics = &t, .num_topics = 1};
    return kp_produce_req_write(w, version, &req);
}

static void check_produce(struct produce *pr, const struct broker_resp *resp)
{
    struct delivery *d = pr->d;
    const char *what = d->p->what;
    if (resp->err != BROKER_OK) {
        fail_delivery(d, "%s %s [%" PRId32 "]: %s", what, d->topic, pr->partition,
                      resp->msg ? resp->msg : broker_err_name(resp->err));
        return;
    }
    kr body = resp->body;
    struct kp_produce_resp r;
    struct kp_err err;
    if (kp_produce_resp_parse(&body, resp->version, &r, &err) != KP_OK) {
        fail_delivery(d, "%s %s: produce response does not parse (%s)", what, d->topic,
                      err.field ? err.field : "?");
        return;
    }
    struct kp_produce_iter it, pit;
    struct kp_produce_topic t;
    struct kp_produce_partition pp;
    bool seen = false;
    kp_produce_topics(&r, &it);
    while (kp_produce_next_topic(&it, &t)) {
        kp_produce_partitions(&it, &t, &pit);
        while (kp_produce_next_partition(&pit, &pp)) {
            seen = true;
            d->base_offset = pp.base_offset;
            if (pp.error_code != 0) {
                fail_delivery(d, "%s %s [%" PRId32 "]: %s", what, d->topic, pp.index,
                              kp_error_name(pp.error_code));
            }
        }
    }
    if (!seen) {
        fail_delivery(d, "%s %s: empty produce response", what, d->topic);
    }
}

static void on_produce(struct broker_conn *c, const struct broker_resp *resp, void *ctx)
{
    (void)c;
    struct produce *pr = ctx;
    struct delivery *d = pr->d;
    if (!d->p->closing) {
        check_produce(pr, resp);
    }
    kw_cleanup(&pr->batch);
    free(pr);
    d->pending--;
    if (!d->p->closing) {
        broker_cluster_wake(d->p->cl);
    }
}

// build_batch writes the messages of |d| for |partition| as one record batch into |out|.
static bool build_batch(const struct delivery *d, int32_t partition, kw *out)
{
    struct kp_batch_params bp;
    kp_batch_params_default(&bp);
    struct kp_batch_builder bb;
    kp_batch_builder_init(&bb, &bp);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    for (size_t i = 0; i < d->num_msgs; i++) {
        const struct msg *m = &d->msgs[i];
        if (m->partition == partition) {
            struct kp_record_in r = {.timestamp = now,
                                     .key = m->key,
                                     .key_len = m->key_len,
                                     .value = m->value_null ? NULL : m->value,
                                     .value_len = m->value_len};
            kp_batch_builder_add(&bb, &r);
        }
    }
    kw_init_grow(out);
    enum kp_status st = kp_batch_builder_finish(&bb, out);
    kp_batch_builder_cleanup(&bb);
    return st == KP_OK;
}

static void send_partition(struct delivery *d, const struct broker_md_topic *t, int32_t partition)
{
    struct prod *p = d->p;
    int32_t leader = t->leaders[partition];
    struct broker_node *n = leader >= 0 ? broker_cluster_node(p->cl, leader, false, NULL, 0) : NULL;
    if (!n) {
        fail_delivery(d, "%s %s [%" PRId32 "]: no leader", p->what, d->topic, partition);
        return;
    }
    struct produce *pr = xcalloc(1, sizeof *pr);
    pr->d = d;
    pr->partition = partition;
    bool built = build_batch(d, partition, &pr->batch);
    struct broker_req req = {.api_key = KP_API_PRODUCE,
                             .version = BROKER_VERSION_AUTO,
                             .write_body = write_produce,
                             .body_ctx = pr,
                             .on_resp = on_produce,
                             .ctx = pr};
    int rc = built ? broker_conn_send(n->conn, &req) : BROKER_ERR_INVALID;
    if (rc != BROKER_OK) {
        fail_delivery(d, "%s %s [%" PRId32 "]: %s", p->what, d->topic, partition,
                      built ? broker_err_name(rc) : "cannot build the record batch");
        kw_cleanup(&pr->batch);
        free(pr);
        return;
    }
    d->pending++;
}

static void start_delivery(struct delivery *d)
{
    struct prod *p = d->p;
    d->started = true;
    const struct broker_md_topic *t = broker_metadata_topic(p->md, d->topic);
    if (!t) {
        fail_delivery(d, "%s %s: not in the metadata", p->what, d->topic);
        return;
    }
    if (t->error_code != 0 || t->num_partitions == 0) {
        fail_delivery(d, "%s %s: %s", p->what, d->topic,
                      t->error_code ? kp_error_name(t->error_code) : "no partitions");
        return;
    }
    uint32_t n = (uint32_t)t->num_partitions;
    for (size_t i = 0; i < d->num_msgs; i++) {
        struct msg *m = &d->msgs[i];
        uint32_t h = m->key ? prod_murmur2(m->key, m->key_len) & 0x7fffffffu : p->rr++;
        m->partition = (int32_t)(h % n);
    }
    for (int32_t part = 0; part < t->num_partitions && !d->failed; part++) {
        for (size_t i = 0; i < d->num_msgs; i++) {
            if (d->msgs[i].partition == part) {
                send_partition(d, t, part);
                break;
            }
        }
    }
}

static void delivery_free(struct delivery *d)
{
    for (size_t i = 0; i < d->num_msgs; i++) {
        free(d->msgs[i].key);
        free(d->msgs[i].value);
    }
    free(d->msgs);
    free(d->topic);
    free(d);
}

// on_tick starts what waits for metadata and completes finished deliveries.
static void on_tick(struct broker_cluster *cl, void *ctx)
{
    struct prod *p = ctx;
    if (p->boot_drop) {
        broker_cluster_drop_bootstrap(cl);
    }
    bool waiting = false;
    for (struct delivery *d = p->deliveries; d; d = d->next) {
        if (!d->started && (d->done || d->done_off)) {
            if (p->md_ok) {
                start_delivery(d);
            } else {
                waiting = true;
            }
        }
    }
    if (waiting) {
        request_metadata(p);
    }
    struct delivery **pp = &p->deliveries;
    while (*pp) {
        struct delivery *d = *pp;
        if ((d->started || !(d->done || d->done_off)) && d->pending == 0) {
            *pp = d->next;
            if (d->done) {
                d->done(d->arg, !d->failed, d->failed ? d->why : NULL);
            } else if (d->done_off) {
                d->done_off(d->arg, !d->failed, d->failed ? d->why : NULL, d->base_offset);
            }
            delivery_free(d);
            continue;
        }
        pp = &d->next;
    }
}

// ---- public
// --------------------------------------------------------------------------------------

uint64_t prod_send(struct prod *p, const char *topic, const struct prod_msg *msgs, size_t n,
                   prod_done_fn *done, void *arg)
{
    struct delivery *d = xcalloc(1, sizeof *d);
    d->p = p;
    d->id = ++p->next_id;
    d->done = done;
    d->arg = arg;
    d->base_offset = -1;
    d->topic = xstrdup(topic);
    d->msgs = xcalloc(n ? n : 1, sizeof *d->msgs);
    d->num_msgs = n;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].key != NULL) {
            d->msgs[i].key = xmalloc(msgs[i].key_len + 1);
            memcpy(d->msgs[i].key, msgs[i].key, msgs[i].key_len);
            d->msgs[i].key_len = msgs[i].key_len;
        }
        d->msgs[i].value = xmalloc(msgs[i].value_len + 1);
        if (msgs[i].value_len > 0) {
            memcpy(d->msgs[i].value, msgs[i].value, msgs[i].value_len);
        }
        d->msgs[i].value_len = msgs[i].value_len;
        d->msgs[i].value_null = msgs[i].value_null;
    }
    broker_metadata_want(p->md, topic);
    struct delivery **tail = &p->deliveries;
    while (*tail) {
        tail = &(*tail)->next;
    }
    *tail = d;
    broker_cluster_wake(p->cl);
    return d->id;
}

uint64_t prod_send_tracked(struct prod *p, const char *topic, const struct prod_msg *msgs, size_t n,
                           prod_offset_done_fn *done, void *arg)
{
    uint64_t id = prod_send(p, topic, msgs, n, NULL, arg);
    for (struct delivery *d = p->deliveries; d; d = d->next) {
        if (d->id == id) {
            d->done_off = done;
        }
    }
    return id;
}

void prod_cancel(struct prod *p, uint64_t id)
{
    for (struct delivery *d = p->deliveries; d; d = d->next) {
        if (d->id == id) {
            d->done = NULL;
            d->done_off = NULL;
        }
    }
    broker_cluster_wake(p->cl);
}

struct prod *prod_new(struct net_reactor *r, const struct prod_config *cfg, char *err,
                      size_t err_cap)
{
    struct prod *p = xcalloc(1, sizeof *p);
    snprintf(p->what, sizeof p->what, "%s", cfg->what ? cfg->what : "producer");
    p->produce_timeout_ms = cfg->produce_timeout_ms > 0 ? cfg->produce_timeout_ms : 30000;
    struct broker_cluster_config cc = {.bootstrap = cfg->bootstrap,
                                       .client_id = cfg->client_id,
                                       .tls = cfg->tls,
                                       .auth = cfg->auth,
                                       .request_timeout_ms = cfg->request_timeout_ms,
                                       .log_tag = cfg->log_tag};
    struct broker_cluster_callbacks cb = {.on_tick = on_tick, .ctx = p};
    p->cl = broker_cluster_new(r, &cc, &cb, p->what, err, err_cap);
    if (p->cl == NULL) {
        free(p);
        return NULL;
    }
    broker_cluster_stop_tick(p->cl); // the producer works when woken, not on a period
    p->md = broker_cluster_metadata(p->cl);
    return p;
}

void prod_free(struct prod *p)
{
    if (!p) {
        return;
    }
    p->closing = true;
    broker_cluster_free(p->cl); // outstanding callbacks run now, as closing
    while (p->deliveries) {
        struct delivery *d = p->deliveries;
        p->deliveries = d->next;
        delivery_free(d);
    }
    free(p);
}
