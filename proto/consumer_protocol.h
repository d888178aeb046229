// consumer_protocol.h: the embedded "consumer" group protocol: ConsumerProtocolSubscription
// (JoinGroup protocol metadata) and ConsumerProtocolAssignment (SyncGroup assignment bytes),
// versions 0-3, encode and decode.
//
// Both start with an int16 version, then the fields in the non-flexible encoding (int16
// strings, int32 arrays and bytes); the schemas have no flexible versions. New versions only
// append fields, so a decoder given a version above 3 (a newer client in a mixed group) reads
// the v3 fields and ignores whatever follows, as Kafka's own deserializer does. Versions 0-3
// must be used up exactly (trailing bytes are KP_ERR_MALFORMED); a negative version is
// KP_ERR_MALFORMED.
#ifndef PROTO_CONSUMER_PROTOCOL_H
#define PROTO_CONSUMER_PROTOCOL_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KP_CONSUMER_PROTOCOL_MAX_VERSION 3

// A topic and some of its partitions (owned or assigned). Borrowed for the call.
struct kp_consumer_topic_partitions {
    const char *topic;
    const int32_t *partitions;
    size_t num_partitions;
};

// struct kp_consumer_subscription: what a member subscribes to, for encoding. user_data NULL
// writes null; for empty non-null user data (what librdkafka sends) pass a non-NULL pointer
// with length 0. Fields above |version| are left out (the schema marks them ignorable):
// owned partitions v1+, generation_id v2+ (-1 if unknown), rack_id v3+ (NULL = null).
struct kp_consumer_subscription {
    int16_t version;
    const char *const *topics;
    size_t num_topics;
    const uint8_t *user_data;
    size_t user_data_len;
    const struct kp_consumer_topic_partitions *owned;
    size_t num_owned;
    int32_t generation_id;
    const char *rack_id;
};

// struct kp_consumer_assignment: a member's assignment, for encoding (v0-3 share one layout).
struct kp_consumer_assignment {
    int16_t version;
    const struct kp_consumer_topic_partitions *assigned;
    size_t num_assigned;
    const uint8_t *user_data;
    size_t user_data_len;
};

// The writers write the whole blob (version first); a version outside 0-3 fails the writer.
bool kp_consumer_subscription_write(kw *w, const struct kp_consumer_subscription *s);
bool kp_consumer_assignment_write(kw *w, const struct kp_consumer_assignment *a);

// Decoded forms hold views into the input, which must outlive them. Fields a version lacks
// hold defaults (no owned partitions, generation -1, rack null).
struct kp_consumer_subscription_view {
    int16_t version;
    uint32_t num_topics;
    kr topics; // walk with kp_consumer_next_topic_name
    kr user_data;
    bool user_data_null;
    uint32_t num_owned;
    kr owned; // walk with kp_consumer_next_topic_partitions
    int32_t generation_id;
    kr rack_id;
    bool rack_id_null;
};

struct kp_consumer_assignment_view {
    int16_t version;
    uint32_t num_assigned;
    kr assigned;
    kr user_data;
    bool user_data_null;
};

struct kp_consumer_tp_view {
    kr topic;
    uint32_t num_partitions;
    kr partitions; // walk with kp_consumer_next_partition
};

struct kp_consumer_iter {
    kr rest;
    uint32_t left;
};

enum kp_status kp_consumer_subscription_parse(kr *in, struct kp_consumer_subscription_view *out,
                                              struct kp_err *err);
// kp_consumer_assignment_parse also accepts zero bytes (a member the leader left out) as
// version 0 with no partitions.
enum kp_status kp_consumer_assignment_parse(kr *in, struct kp_consumer_assignment_view *out,
                                            struct kp_err *err);

// Iterators over validated views: kp_consumer_iter_init(view, count) starts one.
void kp_consumer_iter_init(struct kp_consumer_iter *out_it, const kr *view, uint32_t count);
bool kp_consumer_next_topic_name(struct kp_consumer_iter *it, kr *out);
bool kp_consumer_next_topic_partitions(struct kp_consumer_iter *it,
                                       struct kp_consumer_tp_view *out);
bool kp_consumer_next_partition(struct kp_consumer_iter *it, int32_t *out);

#endif
