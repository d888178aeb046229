// dest_kafka.c: the kafka:// on-failure destination (see dest_kafka.h).
#include "esm/dest_kafka.h"

#include "base/alloc.h"
#include "base/hostport.h"
#include "base/log.h"
#include "proto/api.h"
#include "proto/batch_builder.h"
#include "proto/errors.h"
#include "proto/metadata.h"
#include "proto/produce.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRODUCE_TIMEOUT_MS 30000

struct broker {
    int32_t node_id; // -1: the bootstrap connection
    struct broker_conn *conn;
};

struct msg {
    uint8_t *key; // NULL: null key
    size_t key_len;
    char *value;
    size_t value_len;
    int32_t partition;
};

struct delivery {
    struct esm_dest_kafka *k;
    struct delivery *next;
    uint64_t id;
    esm_dest_done_fn *done; // NULL once cancelled
    void *arg;
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

struct esm_dest_kafka {
    struct net_reactor *r;
    char *topic;
    char *boot_host;
    uint16_t boot_port;
    struct net_tls_ctx *tls;
    const struct broker_auth *auth;
    char log_tag[KESM_LOG_TAG_MAX + 1]; // handed to each connection
    struct broker *brokers;
    size_t num_brokers;
    // metadata
    bool meta_ok, meta_inflight;
    int32_t *leaders; // per partition
    size_t num_partitions;
    uint32_t rr; // round-robin counter for null keys
    struct delivery *deliveries;
    uint64_t next_id;
    bool closing;
    struct net_timer *kick; // runs completions and pending work from a clean stack
};

uint32_t esm_murmur2(const uint8_t *p, size_t len)
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

static struct broker_conn *conn_to(struct esm_dest_kafka *k, int32_t node_id, const char *host,
                                   uint16_t port)
{
    for (size_t i = 0; i < k->num_brokers; i++) {
        if (k->brokers[i].node_id == node_id) {
            return k->brokers[i].conn;
        }
    }
    struct broker_conn_config cc = {.client_id = "kesm",
                                    .software_name = "kesm",
                                    .software_version = "1",
                                    .tls = k->tls,
                                    .auth = k->auth,
                                    .log_tag = k->log_tag};
    struct broker_conn_callbacks cb = {0};
    k->brokers = xrealloc(k->brokers, (k->num_brokers + 1) * sizeof *k->brokers);
    k->brokers[k->num_brokers].node_id = node_id;
    k->brokers[k->num_brokers].conn = broker_conn_new(k->r, host, port, &cc, &cb);
    return k->brokers[k->num_brokers++].conn;
}

static void schedule(struct esm_dest_kafka *k)
{
    if (!k->closing) {
        net_timer_arm(k->kick, 0);
    }
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
    d->k->meta_ok = false; // look the leaders up again next time
}

// ---- metadata -----------------------------------------------------------------------------

static bool write_metadata(kw *w, int16_t version, void *ctx)
{
    struct esm_dest_kafka *k = ctx;
    struct kp_metadata_req_topic t = {k->topic, NULL};
    struct kp_metadata_req req = {
        .topics = &t, .num_topics = 1, .allow_auto_topic_creation = version < 4};
    return kp_metadata_req_write(w, version, &req);
}

static void fail_waiting(struct esm_dest_kafka *k, const char *why)
{
    for (struct delivery *d = k->deliveries; d; d = d->next) {
        if (!d->started) {
            fail_delivery(d, "%s", why);
            d->started = true;
        }
    }
    schedule(k);
}

static void on_metadata(struct broker_conn *c, const struct broker_resp *resp, void *ctx)
{
    struct esm_dest_kafka *k = ctx;
    (void)c;
    k->meta_inflight = false;
    if (k->closing) {
        return;
    }
    char why[256];
    if (resp->err != BROKER_OK) {
        snprintf(why, sizeof why, "kafka destination %s: metadata: %s", k->topic,
                 resp->msg ? resp->msg : broker_err_name(resp->err));
        fail_waiting(k, why);
        return;
    }
    kr body = resp->body;
    struct kp_metadata_resp m;
    struct kp_err err;
    if (kp_metadata_resp_parse(&body, resp->version, &m, &err) != KP_OK) {
        snprintf(why, sizeof why, "kafka destination %s: metadata response does not parse (%s)",
                 k->topic, err.field ? err.field : "?");
        fail_waiting(k, why);
        return;
    }
    struct kp_metadata_iter it, pit;
    struct kp_metadata_broker b;
    kp_metadata_brokers(&m, &it);
    while (kp_metadata_next_broker(&it, &b)) {
        char host[256];
        snprintf(host, sizeof host, "%.*s", (int)b.host.len, (const char *)b.host.p);
        conn_to(k, b.node_id, host, (uint16_t)b.port);
    }
    struct kp_metadata_topic t;
    kp_metadata_topics(&m, &it);
    bool found = false;
    while (kp_metadata_next_topic(&it, &t)) {
        if (t.error_code != 0 || t.num_partitions == 0) {
            snprintf(why, sizeof why, "kafka destination %s: %s", k->topic,
                     t.error_code ? kp_error_name(t.error_code) : "no partitions");
            fail_waiting(k, why);
            return;
        }
        free(k->leaders);
        k->num_partitions = t.num_partitions;
        k->leaders = xcalloc(t.num_partitions, sizeof *k->leaders);
        for (size_t i = 0; i < t.num_partitions; i++) {
            k->leaders[i] = -1;
        }
        struct kp_metadata_partition p;
        kp_metadata_partitions(&it, &t, &pit);
        while (kp_metadata_next_partition(&pit, &p)) {
            if (p.partition_index >= 0 && (size_t)p.partition_index < k->num_partitions) {
                k->leaders[p.partition_index] = p.error_code ? -1 : p.leader_id;
            }
        }
        found = true;
    }
    if (!found) {
        snprintf(why, sizeof why, "kafka destination %s: not in the metadata", k->topic);
        fail_waiting(k, why);
        return;
    }
    k->meta_ok = true;
    schedule(k);
}

static void request_metadata(struct esm_dest_kafka *k)
{
    if (k->meta_inflight) {
        return;
    }
    struct broker_conn *c = conn_to(k, -1, k->boot_host, k->boot_port);
    struct broker_req req = {.api_key = KP_API_METADATA,
                             .version = BROKER_VERSION_AUTO,
                             .write_body = write_metadata,
                             .body_ctx = k,
                             .on_resp = on_metadata,
                             .ctx = k};
    int rc = broker_conn_send(c, &req);
    if (rc != BROKER_OK) {
        char why[200];
        snprintf(why, sizeof why, "kafka destination %s: metadata: %s", k->topic,
                 broker_err_name(rc));
        fail_waiting(k, why);
        return;
    }
    k->meta_inflight = true;
}

// ---- produce ------------------------------------------------------------------------------

static bool write_produce(kw *w, int16_t version, void *ctx)
{
    struct produce *p = ctx;
    struct kp_produce_req_partition part = {p->partition, kw_data(&p->batch), kw_len(&p->batch)};
    struct kp_produce_req_topic t = {p->d->k->topic, &part, 1};
    struct kp_produce_req req = {
        .acks = -1, .timeout_ms = PRODUCE_TIMEOUT_MS, .topics = &t, .num_topics = 1};
    return kp_produce_req_write(w, version, &req);
}

static void check_produce(struct produce *p, const struct broker_resp *resp)
{
    struct delivery *d = p->d;
    if (resp->err != BROKER_OK) {
        fail_delivery(d, "kafka destination %s [%" PRId32 "]: %s", d->k->topic, p->partition,
                      resp->msg ? resp->msg : broker_err_name(resp->err));
        return;
    }
    kr body = resp->body;
    struct kp_produce_resp pr;
    struct kp_err err;
    if (kp_produce_resp_parse(&body, resp->version, &pr, &err) != KP_OK) {
        fail_delivery(d, "kafka destination %s: produce response does not parse (%s)", d->k->topic,
                      err.field ? err.field : "?");
        return;
    }
    struct kp_produce_iter it, pit;
    struct kp_produce_topic t;
    struct kp_produce_partition pp;
    bool seen = false;
    kp_produce_topics(&pr, &it);
    while (kp_produce_next_topic(&it, &t)) {
        kp_produce_partitions(&it, &t, &pit);
        while (kp_produce_next_partition(&pit, &pp)) {
            seen = true;
            if (pp.error_code != 0) {
                fail_delivery(d, "kafka destination %s [%" PRId32 "]: %s", d->k->topic, pp.index,
                              kp_error_name(pp.error_code));
            }
        }
    }
    if (!seen) {
        fail_delivery(d, "kafka destination %s: empty produce response", d->k->topic);
    }
}

static void on_produce(struct broker_conn *c, const struct broker_resp *resp, void *ctx)
{
    struct produce *p = ctx;
    (void)c;
    struct delivery *d = p->d;
    if (!d->k->closing) {
        check_produce(p, resp);
    }
    kw_cleanup(&p->batch);
    free(p);
    d->pending--;
    schedule(d->k);
}

static bool send_partition(struct delivery *d, int32_t partition)
{
    struct esm_dest_kafka *k = d->k;
    int32_t leader = k->leaders[partition];
    struct broker_conn *c = NULL;
    for (size_t i = 0; i < k->num_brokers && leader >= 0; i++) {
        if (k->brokers[i].node_id == leader) {
            c = k->brokers[i].conn;
        }
    }
    if (!c) {
        fail_delivery(d, "kafka destination %s [%" PRId32 "]: no leader", k->topic, partition);
        return false;
    }
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
                                     .value = m->value,
                                     .value_len = m->value_len};
            kp_batch_builder_add(&bb, &r);
        }
    }
    struct produce *p = xcalloc(1, sizeof *p);
    p->d = d;
    p->partition = partition;
    kw_init_grow(&p->batch);
    enum kp_status st = kp_batch_builder_finish(&bb, &p->batch);
    kp_batch_builder_cleanup(&bb);
    struct broker_req req = {.api_key = KP_API_PRODUCE,
                             .version = BROKER_VERSION_AUTO,
                             .write_body = write_produce,
                             .body_ctx = p,
                             .on_resp = on_produce,
                             .ctx = p};
    int rc = st == KP_OK ? broker_conn_send(c, &req) : BROKER_ERR_INVALID;
    if (rc != BROKER_OK) {
        fail_delivery(d, "kafka destination %s [%" PRId32 "]: %s", k->topic, partition,
                      st == KP_OK ? broker_err_name(rc) : "cannot build the record batch");
        kw_cleanup(&p->batch);
        free(p);
        return false;
    }
    d->pending++;
    return true;
}

static void start_delivery(struct delivery *d)
{
    struct esm_dest_kafka *k = d->k;
    d->started = true;
    int32_t n = (int32_t)k->num_partitions;
    for (size_t i = 0; i < d->num_msgs; i++) {
        struct msg *m = &d->msgs[i];
        uint32_t h = m->key ? esm_murmur2(m->key, m->key_len) & 0x7fffffffu : k->rr++;
        m->partition = (int32_t)(h % (uint32_t)n);
    }
    for (int32_t p = 0; p < n && !d->failed; p++) {
        for (size_t i = 0; i < d->num_msgs; i++) {
            if (d->msgs[i].partition == p) {
                send_partition(d, p);
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
    free(d);
}

// on_kick starts what waits for metadata and completes finished deliveries.
static void on_kick(void *ctx)
{
    struct esm_dest_kafka *k = ctx;
    bool waiting = false;
    for (struct delivery *d = k->deliveries; d; d = d->next) {
        if (!d->started && d->done) {
            if (k->meta_ok) {
                start_delivery(d);
            } else {
                waiting = true;
            }
        }
    }
    if (waiting) {
        request_metadata(k);
    }
    struct delivery **pp = &k->deliveries;
    while (*pp) {
        struct delivery *d = *pp;
        if ((d->started || !d->done) && d->pending == 0) {
            *pp = d->next;
            if (d->done) {
                d->done(d->arg, !d->failed, d->failed ? d->why : NULL);
            }
            delivery_free(d);
            continue;
        }
        pp = &d->next;
    }
}

static uint64_t dk_send(void *ctx, const struct esm_dest_msg *msgs, size_t n,
                        esm_dest_done_fn *done, void *arg)
{
    struct esm_dest_kafka *k = ctx;
    struct delivery *d = xcalloc(1, sizeof *d);
    d->k = k;
    d->id = ++k->next_id;
    d->done = done;
    d->arg = arg;
    d->msgs = xcalloc(n ? n : 1, sizeof *d->msgs);
    d->num_msgs = n;
    for (size_t i = 0; i < n; i++) {
        if (!msgs[i].key.is_null) {
            d->msgs[i].key = xmalloc(msgs[i].key.len + 1);
            memcpy(d->msgs[i].key, msgs[i].key.p, msgs[i].key.len);
            d->msgs[i].key_len = msgs[i].key.len;
        }
        d->msgs[i].value = xstrndup(msgs[i].value, msgs[i].value_len);
        d->msgs[i].value_len = msgs[i].value_len;
    }
    struct delivery **tail = &k->deliveries;
    while (*tail) {
        tail = &(*tail)->next;
    }
    *tail = d;
    schedule(k);
    return d->id;
}

static void dk_cancel(void *ctx, uint64_t id)
{
    struct esm_dest_kafka *k = ctx;
    for (struct delivery *d = k->deliveries; d; d = d->next) {
        if (d->id == id) {
            d->done = NULL;
        }
    }
    schedule(k);
}

struct esm_dest esm_dest_kafka_dest(struct esm_dest_kafka *k)
{
    struct esm_dest d = {dk_send, dk_cancel, k};
    return d;
}

struct esm_dest_kafka *esm_dest_kafka_new(struct net_reactor *r, const char *const *bootstrap,
                                          size_t num_bootstrap, const char *topic,
                                          struct net_tls_ctx *tls, const struct broker_auth *auth,
                                          const char *log_tag, char *err, size_t err_cap)
{
    struct esm_dest_kafka *k = xcalloc(1, sizeof *k);
    char host[HOSTPORT_HOST_MAX + 1];
    if (num_bootstrap == 0 || !hostport_parse(bootstrap[0], strlen(bootstrap[0]), 0, host,
                                              sizeof host, &k->boot_port, NULL)) {
        snprintf(err, err_cap, "kafka destination: bootstrap server '%s' is not host:port",
                 num_bootstrap ? bootstrap[0] : "");
        free(k);
        return NULL;
    }
    k->boot_host = xstrdup(host);
    k->r = r;
    k->topic = xstrdup(topic);
    k->tls = tls;
    k->auth = auth;
    snprintf(k->log_tag, sizeof k->log_tag, "%s", log_tag ? log_tag : "");
    k->kick = net_timer_new(r, on_kick, k);
    return k;
}

void esm_dest_kafka_free(struct esm_dest_kafka *k)
{
    if (!k) {
        return;
    }
    k->closing = true;
    for (size_t i = 0; i < k->num_brokers; i++) {
        broker_conn_free(k->brokers[i].conn); // outstanding callbacks run now, as closing
    }
    free(k->brokers);
    while (k->deliveries) {
        struct delivery *d = k->deliveries;
        k->deliveries = d->next;
        delivery_free(d);
    }
    net_timer_free(k->kick);
    free(k->leaders);
    free(k->topic);
    free(k->boot_host);
    free(k);
}
