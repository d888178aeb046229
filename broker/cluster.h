// cluster.h: one Kafka cluster as its clients see it - the consumer and the producer of
// consumer/ share this code: the connections (one per broker node id, a separate connection per
// group coordinator, the bootstrap connections until the metadata names the brokers), the
// metadata cache (broker/metadata.h) and the clock and tick their drivers run on.
//
// The user drives: it decides when to ask for metadata and what each connection event means to
// it; the cluster keeps the pool. on_tick runs every tick_ms and soon after broker_cluster_wake
// (never inside a call into the cluster), so a user's whole driver can live in it.
//
// Single-threaded: the reactor's thread only. Callbacks may call anything here except
// broker_cluster_free.
#ifndef BROKER_CLUSTER_H
#define BROKER_CLUSTER_H

#include "broker/conn.h"
#include "broker/metadata.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker_cluster;
struct net_reactor;

// struct broker_node: one connection of the cluster. Stable in memory until the cluster drops it
// (only idle bootstrap connections are dropped, by broker_cluster_drop_bootstrap).
struct broker_node {
    struct broker_cluster *cl; // the cluster it belongs to
    int32_t id;                // -1: a bootstrap connection
    bool coord;                // a group coordinator's own connection
    char host[256];
    uint16_t port;
    struct broker_conn *conn;
    unsigned busy; // the user's bits (e.g. "a Fetch is in flight"); the cluster never reads them
};

// struct broker_cluster_config: zero means the default shown. Strings are copied; tls and auth
// are borrowed and must outlive the cluster.
struct broker_cluster_config {
    const char *bootstrap;          // "host:port,host:port" ([v6]:port allowed; required)
    const char *client_id;          // "kesm"
    struct net_tls_ctx *tls;        // NULL = plaintext
    const struct broker_auth *auth; // SASL plug-in for every connection, NULL = none
    uint32_t request_timeout_ms;    // 30000
    uint32_t backoff_initial_ms;    // 100 (reconnect)
    const int16_t *required_apis;   // APIs a broker must offer (broker/conn.h)
    size_t num_required_apis;
    const char *const *topics; // the topics the metadata cache asks for
    size_t num_topics;
    bool allow_auto_create; // Metadata's allow_auto_topic_creation (v4+)
    uint32_t tick_ms;       // on_tick period (100)
    const char *log_tag;    // as in broker_conn_config (copied)
};

struct broker_cluster_callbacks {
    void (*on_tick)(struct broker_cluster *cl, void *ctx);
    // on_conn_state: a connection of the cluster changed state (broker/conn.h's on_state).
    void (*on_conn_state)(struct broker_cluster *cl, struct broker_node *n,
                          const struct broker_conn_event *ev, void *ctx);
    void *ctx;
};

// broker_cluster_new opens a connection to every bootstrap entry and arms the tick. Returns NULL
// with one line in |err| ("<what>: bad bootstrap entry \"...\"", "<what>: no bootstrap servers",
// where <what> is |what|, e.g. "consumer config") when the list does not parse.
struct broker_cluster *broker_cluster_new(struct net_reactor *r,
                                          const struct broker_cluster_config *cfg,
                                          const struct broker_cluster_callbacks *cb,
                                          const char *what, char *err, size_t err_cap);
// broker_cluster_free closes every connection at once (their pending requests get
// BROKER_ERR_CLOSED from inside this call). NULL is a no-op.
void broker_cluster_free(struct broker_cluster *cl);

// broker_cluster_now_ms returns the reactor's monotonic clock; broker_cluster_wake asks for an
// on_tick soon (from the reactor); broker_cluster_stop_tick stops the periodic tick for good.
uint64_t broker_cluster_now_ms(const struct broker_cluster *cl);
void broker_cluster_wake(struct broker_cluster *cl);
void broker_cluster_stop_tick(struct broker_cluster *cl);

// broker_cluster_metadata returns the metadata cache (for the user to update and read).
struct broker_metadata *broker_cluster_metadata(struct broker_cluster *cl);

// broker_cluster_node returns the connection to broker |id| (the coordinator's own one when
// |coord|), creating it from |host|:|port|, or from the metadata when |host| is NULL; NULL when
// the broker is unknown. A known broker whose address changed gets a new connection.
struct broker_node *broker_cluster_node(struct broker_cluster *cl, int32_t id, bool coord,
                                        const char *host, uint16_t port);
// broker_cluster_any picks a connection for cluster-wide requests: a READY one if possible,
// never a coordinator's nor a bootstrap connection being dropped; else the metadata's first
// broker; NULL when there is none.
struct broker_node *broker_cluster_any(struct broker_cluster *cl);
// broker_cluster_retire_bootstrap marks the bootstrap connections for dropping once the metadata
// names the brokers (from then on one connection per broker id): broker_cluster_any stops
// picking them. broker_cluster_drop_bootstrap then closes those that are idle: one with requests
// on the wire or queued is kept until they are answered (closing it would fail them while the
// broker may have acted on them); it returns true while one is left to drop. Closing fails no
// request, but call it from a clean stack (the user's tick), not from a response callback.
void broker_cluster_retire_bootstrap(struct broker_cluster *cl);
bool broker_cluster_drop_bootstrap(struct broker_cluster *cl);

// Iteration over the connections (indices shift when broker_cluster_drop_bootstrap drops one).
size_t broker_cluster_num_nodes(const struct broker_cluster *cl);
struct broker_node *broker_cluster_node_at(struct broker_cluster *cl, size_t i);

// broker_cluster_conn_counts adds the number of connections in each state to |counts| (indexed
// by enum broker_conn_state, BROKER_CONN_CLOSED + 1 entries).
void broker_cluster_conn_counts(const struct broker_cluster *cl, uint64_t *counts);

#endif
