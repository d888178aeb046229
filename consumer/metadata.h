// metadata.h: the consumer's cache of cluster metadata: brokers (id, host, port) and, for the
// topics it reads, each partition's leader and leader epoch (where the broker gives them, v7+)
// and the topic id (v10+). Sans-I/O: the driver sends Metadata requests (with
// cons_metadata_write_request) and feeds the answers to cons_metadata_update; this file owns no
// connection and reads no clock.
#ifndef CONSUMER_METADATA_H
#define CONSUMER_METADATA_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cons_broker {
    int32_t id;
    char host[256];
    uint16_t port;
};

struct cons_topic_md {
    char *name;
    int16_t error_code; // the topic-level error of the last answer (0 = fine)
    uint8_t topic_id[16];
    int32_t num_partitions;
    int32_t *leaders; // -1 = no leader now
    int32_t *epochs;  // -1 = unknown
};

// struct cons_metadata: zero state is cons_metadata_init; release with cons_metadata_cleanup.
struct cons_metadata {
    struct cons_broker *brokers;
    size_t num_brokers;
    struct cons_topic_md *topics;
    size_t num_topics;
    char **wanted; // the topics to ask for
    size_t num_wanted;
};

// cons_metadata_init copies the |num_topics| topic names to ask for.
void cons_metadata_init(struct cons_metadata *md, const char *const *topics, size_t num_topics);
void cons_metadata_cleanup(struct cons_metadata *md);

// cons_metadata_write_request writes a Metadata request body for the wanted topics at |version|
// (auto-creation allowed from v4, as the Java consumer's default).
bool cons_metadata_write_request(const struct cons_metadata *md, int16_t version, kw *w);

// cons_metadata_update parses a Metadata response body and replaces the broker list and the
// wanted topics' entries. Returns KP_OK or the parse error (the cache is then unchanged).
enum kp_status cons_metadata_update(struct cons_metadata *md, const kr *body, int16_t version,
                                    struct kp_err *err);

// Lookups (NULL when unknown).
const struct cons_broker *cons_metadata_broker(const struct cons_metadata *md, int32_t id);
const struct cons_topic_md *cons_metadata_topic(const struct cons_metadata *md, const char *name);
// cons_metadata_leader returns the leader of |topic| |partition| (-1 when unknown) and its epoch.
int32_t cons_metadata_leader(const struct cons_metadata *md, const char *topic, int32_t partition,
                             int32_t *out_epoch);

#endif
