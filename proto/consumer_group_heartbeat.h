// consumer_group_heartbeat.h: ConsumerGroupHeartbeat (API 68, KIP-848, the "consumer" group
// protocol) request writer and response parser, versions 0-1, flexible from version 0.
//
// Wire layout (ConsumerGroupHeartbeatRequest.json / ConsumerGroupHeartbeatResponse.json, Kafka
// 4.0): every string, array and struct is in the compact encoding and each struct ends with a
// tagged-field section.
//
//   request:  GroupId compact string, MemberId compact string, MemberEpoch int32,
//             InstanceId compact nullable string, RackId compact nullable string,
//             RebalanceTimeoutMs int32, SubscribedTopicNames compact nullable [compact string],
//             SubscribedTopicRegex compact nullable string (v1+),
//             ServerAssignor compact nullable string,
//             TopicPartitions compact nullable [TopicId uuid, Partitions compact [int32], tags],
//             tags
//   response: ThrottleTimeMs int32, ErrorCode int16, ErrorMessage compact nullable string,
//             MemberId compact nullable string, MemberEpoch int32, HeartbeatIntervalMs int32,
//             Assignment nullable struct: int8 -1 (null) or 1, then
//               TopicPartitions compact [TopicId uuid, Partitions compact [int32], tags], tags;
//             tags
//
// Version 1 adds SubscribedTopicRegex, and the member must choose its own MemberId (a UUID,
// KIP-1082): a v1 coordinator refuses an empty one.
#ifndef PROTO_CONSUMER_GROUP_HEARTBEAT_H
#define PROTO_CONSUMER_GROUP_HEARTBEAT_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Limits of the response parser: more assigned topics or partitions of one topic than this is
// KP_ERR_LIMIT (a coordinator never sends that many to one member).
#define KP_CGHB_MAX_TOPICS 100000
#define KP_CGHB_MAX_PARTITIONS 1000000

// One topic's partitions, by topic id (borrowed for the call).
struct kp_cghb_topic_partitions {
    const uint8_t *topic_id; // 16 bytes
    const int32_t *partitions;
    size_t num_partitions;
};

// struct kp_cghb_req: strings are NUL-terminated and borrowed. A NULL nullable string is null
// ("unchanged since the last heartbeat"); |send_topics| / |send_owned| false write a null array.
// topic_regex needs v1+ (set at v0 it fails the writer).
struct kp_cghb_req {
    const char *group_id;
    const char *member_id;
    int32_t member_epoch;
    const char *instance_id;
    const char *rack_id;
    int32_t rebalance_timeout_ms; // -1 = unchanged
    bool send_topics;
    const char *const *topics;
    size_t num_topics;
    const char *topic_regex;
    const char *server_assignor;
    bool send_owned;
    const struct kp_cghb_topic_partitions *owned;
    size_t num_owned;
};

// kp_cghb_req_write writes the request body; false (the kw failed) for a version outside 0-1, a
// NULL group or member id, or a field the version lacks.
bool kp_cghb_req_write(kw *w, int16_t version, const struct kp_cghb_req *req);

// struct kp_cghb_resp: views into the body, which must outlive them.
struct kp_cghb_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    kr error_message;
    bool error_message_null;
    kr member_id;
    bool member_id_null;
    int32_t member_epoch;
    int32_t heartbeat_interval_ms;
    bool has_assignment; // false: the Assignment was null (unchanged)
    uint32_t num_topics; // assigned topics (0 when has_assignment is false)
    kr topics;           // walk with kp_cghb_next_topic
};

// kp_cghb_resp_parse parses the whole body (after the response header): every array count is
// checked against the bytes left, every tagged section read, and nothing may follow.
enum kp_status kp_cghb_resp_parse(kr *body, int16_t version, struct kp_cghb_resp *out,
                                  struct kp_err *err);

// One assigned topic, from a parsed response.
struct kp_cghb_topic {
    uint8_t topic_id[16];
    uint32_t num_partitions;
    kr partitions; // num_partitions big-endian int32s
};

struct kp_cghb_iter {
    kr rest;
    uint32_t left;
};

// kp_cghb_topics starts a walk over a parsed response's assignment; kp_cghb_next_topic returns
// false at the end; kp_cghb_partition reads partition |i| of a topic (false past the end).
void kp_cghb_topics(const struct kp_cghb_resp *resp, struct kp_cghb_iter *out_it);
bool kp_cghb_next_topic(struct kp_cghb_iter *it, struct kp_cghb_topic *out);
bool kp_cghb_partition(const struct kp_cghb_topic *t, uint32_t i, int32_t *out);

#endif
