// fleet.h: fleet mode of `kesm serve`: several nodes share their mappings through the Kafka
// cluster itself, on the model of Kafka Connect's distributed mode.
//
// With --cluster-bootstrap and --cluster-id NAME, the mappings live in the config topic
// "_kesm-NAME-configs" (one partition, cleanup.policy=compact): one record per mapping, key = its
// UUID, value = {"KesmFleetVersion":1,"UUID":...,"LastModified":...,"Request":{...}} (the
// accepted request: secrets are named by URI, never included), a tombstone (null value) when it
// is deleted. Every node reads the topic from its first offset with no consumer group and
// follows it, applying each record in topic order (esm/mapping_fleet.h), so the last writer
// wins and every node converges. An API write is checked on the node that receives it, produced
// with acks=all, and answered only once this node has read its own record back
// (read-your-writes), within --cluster-timeout ms; otherwise a ServiceException (500) says the
// write is unconfirmed. A node that is not caught up with the topic, or whose last good read is
// older than a few seconds, answers every API request with a ServiceException instead of stale
// data.
//
// Work placement needs nothing more: every node runs every enabled mapping, all with the same
// consumer group (the UUID by default), so Kafka spreads each topic's partitions over the live
// nodes, and a dead node's partitions move to the others after the session timeout and resume
// at the committed offsets.
//
// Each node also publishes its view of the mappings it runs to the status topic
// "_kesm-NAME-status" and follows it, so that Get, List and /metrics on any node show the fleet
// (esm/fleet_status.h).
//
// The config topic is created when missing (CreateTopics, 1 partition, compacted) where the
// broker offers CreateTopics; one with more than one partition is refused (no order across
// partitions).
#ifndef ESM_FLEET_H
#define ESM_FLEET_H

#include "esm/api.h"
#include "esm/mapping.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct esm_fleet;
struct net_reactor;

// struct esm_fleet_opts: the --cluster-* flags of `kesm serve` (borrowed argv strings).
struct esm_fleet_opts {
    const char *bootstrap;      // --cluster-bootstrap HOST:PORT[,HOST:PORT...]
    const char *cluster_id;     // --cluster-id NAME ([a-zA-Z0-9._-], 1-200)
    bool tls;                   // --cluster-tls (implied by the CA and certificate flags)
    const char *ca_file;        // --cluster-ca FILE (PEM)
    const char *cert_file;      // --cluster-cert FILE (PEM, mutual TLS)
    const char *key_file;       // --cluster-key FILE
    const char *sasl_file;      // --cluster-sasl-file FILE: {"username":..,"password":..}
    const char *sasl_mechanism; // --cluster-sasl-mechanism (SCRAM-SHA-512)
    const char *import_dir;     // --import-state DIR: write its mappings to the cluster, exit
    long timeout_ms;            // --cluster-timeout MS: read-your-writes bound (10000)
    const char *node_id;        // --cluster-node-id ID (default: hostname:API port)
    long status_ms;             // --cluster-status-interval MS: status refresh period (10000)
};

// esm_fleet_flag handles a --cluster-* or --import-state flag: returns how many arguments it
// took (2), 0 when |a| is none of them, -1 (after a message on stderr) for a bad value.
int esm_fleet_flag(struct esm_fleet_opts *o, const char *a, const char *v);
// esm_fleet_check returns false (after a message) when the flags are inconsistent.
bool esm_fleet_check(const struct esm_fleet_opts *o);
void esm_fleet_usage(FILE *out);
// esm_fleet_wanted returns whether fleet mode is on.
bool esm_fleet_wanted(const struct esm_fleet_opts *o);

// esm_fleet_new connects to the cluster and starts reading the config topic into |mgr|
// (borrowed; it must hold no mapping of its own). Returns NULL with the reason in |why|.
struct esm_fleet *esm_fleet_new(struct net_reactor *r, struct esm_manager *mgr,
                                const struct esm_fleet_opts *o, char *why, size_t why_len);
// esm_fleet_free answers what is pending with a ServiceException and disconnects. NULL is a
// no-op.
void esm_fleet_free(struct esm_fleet *f);
// esm_fleet_writer returns the API hooks (esm/api.h) of |f|.
struct esm_api_writer esm_fleet_writer(struct esm_fleet *f);

// esm_fleet_start_status starts publishing this node's view to the status topic and following
// it (esm/fleet_status.h), as node --cluster-node-id or "HOSTNAME:|api_port|". Returns 0, or -1
// with the reason in |why|.
int esm_fleet_start_status(struct esm_fleet *f, uint16_t api_port, char *why, size_t why_len);
// esm_fleet_retire writes tombstones for this node's status records (a clean stop; the reactor
// must run a little longer to send them) and returns how many status records are still being
// sent (call again to poll; 0 when done).
unsigned esm_fleet_retire(struct esm_fleet *f);

// esm_fleet_import writes every mapping of the state directory |dir| (esm/store.h files) to the
// config topic, keeping UUIDs, and waits until this node has read them back. Runs the reactor
// itself; returns 0 or -1 after messages on stderr.
int esm_fleet_import(struct esm_fleet *f, struct net_reactor *r, const char *dir);

#endif
