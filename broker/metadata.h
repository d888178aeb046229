// metadata.h: the cache of cluster metadata that the consumer and the producer share (through
// broker/cluster.h): brokers (id, host, port) and, for the wanted topics, each partition's leader
// and leader epoch (where the broker gives them, v7+) and the topic id (v10+). Sans-I/O: the
// driver sends Metadata requests (with broker_metadata_write_request) and feeds the answers to
// broker_metadata_update; this file owns no connection and reads no clock.
#ifndef BROKER_METADATA_H
#define BROKER_METADATA_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker_md_node {
    int32_t id;
    char host[256];
    uint16_t port;
};

struct broker_md_topic {
    char *name;
    int16_t error_code; // the topic-level error of the last answer (0 = fine)
    uint8_t topic_id[16];
    int32_t num_partitions;
    int32_t *leaders; // -1 = no leader now
    int32_t *epochs;  // -1 = unknown
};

// struct broker_metadata: zero state is broker_metadata_init; release with broker_metadata_cleanup.
struct broker_metadata {
    struct broker_md_node *brokers;
    size_t num_brokers;
    struct broker_md_topic *topics;
    size_t num_topics;
    char **wanted; // the topics to ask for
    size_t num_wanted;
    bool allow_auto_create; // let the broker create a wanted topic that does not exist (v4+)
};

// broker_metadata_init copies the |num_topics| topic names to ask for; |allow_auto_create| is
// what the requests say (the consumer's default is true, as the Java consumer's; the producer
// never creates topics).
void broker_metadata_init(struct broker_metadata *md, const char *const *topics, size_t num_topics,
                          bool allow_auto_create);
// broker_metadata_want adds |topic| to the topics asked for (no-op if it is already wanted).
void broker_metadata_want(struct broker_metadata *md, const char *topic);
void broker_metadata_cleanup(struct broker_metadata *md);

// broker_metadata_write_request writes a Metadata request body for the wanted topics at |version|
// (allow_auto_topic_creation from v4 as configured; older versions always allow it).
bool broker_metadata_write_request(const struct broker_metadata *md, int16_t version, kw *w);

// broker_metadata_update parses a Metadata response body and replaces the broker list and the
// wanted topics' entries. Returns KP_OK or the parse error (the cache is then unchanged).
enum kp_status broker_metadata_update(struct broker_metadata *md, const kr *body, int16_t version,
                                      struct kp_err *err);

// Lookups (NULL when unknown).
const struct broker_md_node *broker_metadata_broker(const struct broker_metadata *md, int32_t id);
const struct broker_md_topic *broker_metadata_topic(const struct broker_metadata *md,
                                                    const char *name);
// broker_metadata_leader returns the leader of |topic| |partition| (-1 when unknown) and its epoch.
int32_t broker_metadata_leader(const struct broker_metadata *md, const char *topic,
                               int32_t partition, int32_t *out_epoch);

#endif
