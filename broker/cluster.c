// cluster.c: the connection pool, metadata cache and tick of one cluster (see cluster.h).
#include "broker/cluster.h"

#include "base/alloc.h"
#include "base/hostport.h"
#include "base/log.h"
#include "net/reactor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct broker_cluster {
    struct net_reactor *r;
    struct broker_cluster_callbacks cb;
    struct broker_conn_config conn_cfg;
    char *client_id;
    char log_tag[KESM_LOG_TAG_MAX + 1]; // conn_cfg.log_tag points here
    struct broker_metadata md;
    struct broker_node **nodes;
    size_t num_nodes;
    bool dropping_boot; // bootstrap connections are being dropped (not picked any more)
    struct net_timer *tick;
    struct net_timer *wake;
    uint32_t tick_ms;
    bool stopped;
    bool freeing;
};

static void on_state(struct broker_conn *conn, const struct broker_conn_event *ev, void *ctx)
{
    (void)conn;
    struct broker_node *n = ctx;
    struct broker_cluster *cl = n->cl;
    if (!cl->freeing && cl->cb.on_conn_state != NULL) {
        cl->cb.on_conn_state(cl, n, ev, cl->cb.ctx);
    }
}

static void node_connect(struct broker_cluster *cl, struct broker_node *n)
{
    struct broker_conn_callbacks cb = {.on_state = on_state, .ctx = n};
    n->conn = broker_conn_new(cl->r, n->host, n->port, &cl->conn_cfg, &cb);
}

static struct broker_node *node_new(struct broker_cluster *cl, int32_t id, const char *host,
                                    uint16_t port)
{
    struct broker_node *n = xcalloc(1, sizeof *n);
    n->cl = cl;
    n->id = id;
    snprintf(n->host, sizeof n->host, "%s", host);
    n->port = port;
    cl->nodes = xrealloc(cl->nodes, (cl->num_nodes + 1) * sizeof *cl->nodes);
    cl->nodes[cl->num_nodes++] = n;
    node_connect(cl, n);
    return n;
}

struct broker_node *broker_cluster_node(struct broker_cluster *cl, int32_t id, bool coord,
                                        const char *host, uint16_t port)
{
    for (size_t i = 0; i < cl->num_nodes; i++) {
        struct broker_node *n = cl->nodes[i];
        if (n->id == id && id >= 0 && n->coord == coord) {
            if (host && (strcmp(n->host, host) != 0 || n->port != port)) {
                // The broker moved: replace its connection (rare).
                broker_conn_free(n->conn);
                snprintf(n->host, sizeof n->host, "%s", host);
                n->port = port;
                node_connect(cl, n);
            }
            return n;
        }
    }
    if (!host) {
        const struct broker_md_node *mb = broker_metadata_broker(&cl->md, id);
        if (!mb) {
            return NULL;
        }
        host = mb->host;
        port = mb->port;
    }
    struct broker_node *n = node_new(cl, id, host, port);
    n->coord = coord;
    return n;
}

struct broker_node *broker_cluster_any(struct broker_cluster *cl)
{
    struct broker_node *pick = NULL;
    for (size_t i = 0; i < cl->num_nodes; i++) {
        struct broker_node *n = cl->nodes[i];
        if (n->coord || (cl->dropping_boot && n->id < 0)) {
            continue;
        }
        if (broker_conn_state(n->conn) == BROKER_CONN_READY) {
            return n;
        }
        if (!pick || broker_conn_state(n->conn) != BROKER_CONN_BACKOFF) {
            pick = pick && broker_conn_state(pick->conn) != BROKER_CONN_BACKOFF ? pick : n;
        }
    }
    if (!pick && cl->md.num_brokers > 0) {
        pick = broker_cluster_node(cl, cl->md.brokers[0].id, false, NULL, 0);
    }
    return pick;
}

void broker_cluster_retire_bootstrap(struct broker_cluster *cl)
{
    cl->dropping_boot = true;
}

bool broker_cluster_drop_bootstrap(struct broker_cluster *cl)
{
    if (cl->md.num_brokers == 0 || !cl->dropping_boot) {
        return false;
    }
    struct broker_node **boot = xcalloc(cl->num_nodes + 1, sizeof *boot);
    size_t nboot = 0, k = 0;
    bool busy = false;
    for (size_t i = 0; i < cl->num_nodes; i++) {
        struct broker_node *n = cl->nodes[i];
        struct broker_conn_stats st = {0};
        if (n->id < 0) {
            broker_conn_get_stats(n->conn, &st);
        }
        if (n->id < 0 && st.in_flight == 0 && st.queued == 0) {
            boot[nboot++] = n;
        } else {
            busy = busy || n->id < 0;
            cl->nodes[k++] = n;
        }
    }
    cl->num_nodes = k;
    for (size_t i = 0; i < nboot; i++) {
        broker_conn_free(boot[i]->conn);
        free(boot[i]);
    }
    free(boot);
    return busy;
}

size_t broker_cluster_num_nodes(const struct broker_cluster *cl)
{
    return cl->num_nodes;
}

struct broker_node *broker_cluster_node_at(struct broker_cluster *cl, size_t i)
{
    return i < cl->num_nodes ? cl->nodes[i] : NULL;
}

void broker_cluster_conn_counts(const struct broker_cluster *cl, uint64_t *counts)
{
    for (size_t i = 0; i < cl->num_nodes; i++) {
        counts[broker_conn_state(cl->nodes[i]->conn)]++;
    }
}

struct broker_metadata *broker_cluster_metadata(struct broker_cluster *cl)
{
    return &cl->md;
}

// ---- the clock -------------------------------------------------------------------------------

uint64_t broker_cluster_now_ms(const struct broker_cluster *cl)
{
    return net_reactor_now_ms(cl->r);
}

static void on_wake(void *ctx)
{
    struct broker_cluster *cl = ctx;
    if (cl->cb.on_tick != NULL) {
        cl->cb.on_tick(cl, cl->cb.ctx);
    }
}

static void on_tick(void *ctx)
{
    struct broker_cluster *cl = ctx;
    if (!cl->stopped) {
        net_timer_arm(cl->tick, cl->tick_ms);
    }
    on_wake(cl);
}

void broker_cluster_wake(struct broker_cluster *cl)
{
    net_timer_arm(cl->wake, 0);
}

void broker_cluster_stop_tick(struct broker_cluster *cl)
{
    cl->stopped = true;
    net_timer_cancel(cl->tick);
}

// ---- lifecycle ---------------------------------------------------------------------------------

// bootstrap_each checks every entry of the bootstrap list and, when |cl| is not NULL, opens a
// connection to each; false (with |err| set) if an entry does not parse or the list is empty.
static bool bootstrap_each(struct broker_cluster *cl, const char *list, const char *what, char *err,
                           size_t err_cap)
{
    const char *s = list;
    size_t n = 0;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char host[HOSTPORT_HOST_MAX + 1];
        uint16_t port;
        while (len > 0 && *s == ' ') {
            s++;
            len--;
        }
        if (len > 0) {
            if (!hostport_parse(s, len, 0, host, sizeof host, &port, NULL)) {
                if (err && err_cap) {
                    snprintf(err, err_cap, "%s: bad bootstrap entry \"%.*s\"", what,
                             (int)(len < 100 ? len : 100), s);
                }
                return false;
            }
            if (cl != NULL) {
                node_new(cl, -1, host, port);
            }
            n++;
        }
        s += len + (comma ? 1 : 0);
    }
    if (n == 0) {
        if (err && err_cap) {
            snprintf(err, err_cap, "%s: no bootstrap servers", what);
        }
        return false;
    }
    return true;
}

struct broker_cluster *broker_cluster_new(struct net_reactor *r,
                                          const struct broker_cluster_config *cfg,
                                          const struct broker_cluster_callbacks *cb,
                                          const char *what, char *err, size_t err_cap)
{
    const char *list = cfg->bootstrap ? cfg->bootstrap : "";
    if (!bootstrap_each(NULL, list, what, err, err_cap)) {
        return NULL; // before anything touches the reactor
    }
    struct broker_cluster *cl = xcalloc(1, sizeof *cl);
    cl->r = r;
    if (cb != NULL) {
        cl->cb = *cb;
    }
    cl->client_id = xstrdup(cfg->client_id ? cfg->client_id : "kesm");
    snprintf(cl->log_tag, sizeof cl->log_tag, "%s", cfg->log_tag ? cfg->log_tag : "");
    cl->conn_cfg = (struct broker_conn_config){.client_id = cl->client_id,
                                               .tls = cfg->tls,
                                               .auth = cfg->auth,
                                               .request_timeout_ms = cfg->request_timeout_ms,
                                               .backoff_initial_ms = cfg->backoff_initial_ms,
                                               .required_apis = cfg->required_apis,
                                               .num_required_apis = cfg->num_required_apis,
                                               .log_tag = cl->log_tag};
    broker_metadata_init(&cl->md, cfg->topics, cfg->num_topics, cfg->allow_auto_create);
    cl->tick_ms = cfg->tick_ms ? cfg->tick_ms : 100;
    cl->tick = net_timer_new(r, on_tick, cl);
    cl->wake = net_timer_new(r, on_wake, cl);
    bootstrap_each(cl, list, what, err, err_cap);
    net_timer_arm(cl->tick, 0);
    return cl;
}

void broker_cluster_free(struct broker_cluster *cl)
{
    if (cl == NULL) {
        return;
    }
    cl->freeing = true;
    for (size_t i = 0; i < cl->num_nodes; i++) {
        broker_conn_free(cl->nodes[i]->conn);
        free(cl->nodes[i]);
    }
    free(cl->nodes);
    net_timer_free(cl->tick);
    net_timer_free(cl->wake);
    broker_metadata_cleanup(&cl->md);
    free(cl->client_id);
    free(cl);
}
