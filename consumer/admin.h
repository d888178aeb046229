// admin.h: one-shot cluster administration on broker/cluster.h: creating a topic (CreateTopics),
// for the fleet's config topic (esm/fleet.c).
//
// cons_admin_create_topic connects, waits for a broker connection that is READY, and sends it
// CreateTopics (v2-7, the highest both sides speak; a KRaft broker forwards it to the
// controller). |done| runs once from the reactor with the topic's error code (0 created, 36
// TOPIC_ALREADY_EXISTS, ...) and one line saying what happened; -1 when no answer came (no
// broker offers CreateTopics v2+, the request failed, |timeout_ms| passed).
#ifndef CONSUMER_ADMIN_H
#define CONSUMER_ADMIN_H

#include "broker/conn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cons_admin;
struct net_reactor;

struct cons_admin_topic {
    const char *bootstrap;          // required
    struct net_tls_ctx *tls;        // borrowed, NULL = plaintext
    const struct broker_auth *auth; // borrowed, NULL = none
    const char *name;
    int32_t num_partitions;     // 1
    int16_t replication_factor; // -1: the broker's default
    const char *cleanup_policy; // e.g. "compact"; NULL = the broker's default
    uint32_t timeout_ms;        // 30000
    const char *log_tag;
};

typedef void cons_admin_done_fn(void *ctx, int error_code, const char *msg);

// cons_admin_create_topic starts; NULL with |err| when the bootstrap list does not parse.
struct cons_admin *cons_admin_create_topic(struct net_reactor *r, const struct cons_admin_topic *t,
                                           cons_admin_done_fn *done, void *ctx, char *err,
                                           size_t err_cap);
// cons_admin_free drops the connection (|done| no longer runs). NULL is a no-op; not from |done|.
void cons_admin_free(struct cons_admin *a);

#endif
