// fleet_status_int.h: the status topic's run-time state (esm/fleet_status.c), shared with the
// fleet-wide views (esm/fleet_view.c) and esm/fleet.c; not for other modules.
#ifndef ESM_FLEET_STATUS_INT_H
#define ESM_FLEET_STATUS_INT_H

#include "esm/fleet_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_reactor;
struct net_timer;
struct net_tls_ctx;
struct broker_auth;
struct prod;
struct esm_manager;
struct esm_metrics_mapping;
struct cons_reader;
struct cons_admin;

struct fleet_status_config {
    struct net_reactor *r;
    struct esm_manager *mgr;
    struct prod *prod; // borrowed: the fleet's producer
    const char *bootstrap;
    struct net_tls_ctx *tls;
    const struct broker_auth *auth;
    const char *cluster_id;
    const char *node; // copied
    uint32_t refresh_ms;
    // may_publish: whether this node's view is worth publishing now (it has read the config
    // topic); NULL = always.
    bool (*may_publish)(void *ctx);
    void *may_publish_ctx;
};

struct fst_entry {
    struct fleet_status_rec rec;
    size_t bytes; // its value's length (counted against FLEET_STATUS_MAX_TABLE_BYTES)
};

// struct fst_pub: a mapping this node published a status of.
struct fst_pub {
    char uuid[37];
    uint64_t sig;
    uint64_t sent_ms;
    double sent_time; // the Time of the last record written
    bool seen;        // still published (set by each publish pass)
};

struct fleet_status {
    struct fleet_status_config cfg;
    char node[FLEET_NODE_ID_MAX + 1];
    char topic[256];
    struct cons_reader **readers; // one per partition
    size_t num_readers;
    struct cons_admin *admin;
    bool create_tried, admin_done, send_failing, retired;
    struct net_timer *tick;
    struct fst_entry *entries;
    size_t num_entries, cap_entries;
    size_t table_bytes;
    struct fst_pub *pubs;
    size_t num_pubs;
    bool dup_warned;   // another process publishes under this node id (logged once)
    unsigned inflight; // status records sent and not yet acknowledged
    uint64_t skipped;  // records skipped (bad key or value, full table)
    char problem[1200];
};

struct fleet_status *fleet_status_new(const struct fleet_status_config *cfg, char *why,
                                      size_t why_len);
// fleet_status_retire writes a tombstone for every mapping this node published (a clean stop)
// and stops publishing.
void fleet_status_retire(struct fleet_status *s);
void fleet_status_free(struct fleet_status *s);

// fleet_status_apply takes one record of the status topic's |partition| into the table: a
// tombstone removes its entry, a valid record replaces it, anything else (a bad key or value, a
// full table) is skipped with a warning naming the partition, offset and key, and counted.
struct cons_record;
void fleet_status_apply(struct fleet_status *s, int32_t partition, const struct cons_record *rec);

double fleet_now_epoch(void);
// fleet_status_publishes returns whether this node publishes a status for mapping |m| (it runs
// it, or it stopped with a problem); fleet_status_from_local builds that status.
bool fleet_status_publishes(const struct esm_metrics_mapping *m);
int fleet_status_from_local(const struct fleet_status *s, const struct esm_metrics_mapping *m,
                            struct fleet_status_rec *out);

// fleet_status_decorate adds the fleet's view to a Get answer (|list| false: |body| is one
// mapping) or a List answer (|body| holds EventSourceMappings): the combined State,
// StateTransitionReason and LastProcessingResult, and the KesmFleet member (esm/fleet_view.c).
void fleet_status_decorate(struct fleet_status *s, cJSON *body, bool list);
// fleet_status_metrics labels every sample of |text| (this node's exposition; consumed) with
// node="ID" and appends the kesm_fleet_* families. Returns the new heap text and its length.
char *fleet_status_metrics(struct fleet_status *s, char *text, size_t len, size_t *out_len);

#endif
