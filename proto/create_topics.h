// create_topics.h: CreateTopics (API 19) request writer and response parser, versions 2-7
// (flexible 5+), for the fleet's config topic (esm/fleet.c through consumer/admin.c).
//
// Written from apache/kafka CreateTopicsRequest.json / CreateTopicsResponse.json:
// request Topics[] {Name, NumPartitions int32, ReplicationFactor int16, Assignments[]
// {PartitionIndex int32, BrokerIds[] int32}, Configs[] {Name, Value nullable}}, TimeoutMs int32,
// ValidateOnly bool (v1+); response ThrottleTimeMs (v2+), Topics[] {Name, TopicId uuid (v7+),
// ErrorCode int16, ErrorMessage nullable (v1+), TopicConfigErrorCode int16 (tag 0, v5+),
// NumPartitions int32 (v5+), ReplicationFactor int16 (v5+), Configs nullable[] (v5+) {Name,
// Value nullable, ReadOnly bool, ConfigSource int8, IsSensitive bool}}. Versions below 2 are
// not offered (Kafka 4.x serves 2-7). kesm never sends manual assignments.
#ifndef PROTO_CREATE_TOPICS_H
#define PROTO_CREATE_TOPICS_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kp_create_topics_config {
    const char *name;
    const char *value; // NULL = null
};

// struct kp_create_topics_topic_req: one topic to create; strings borrowed for the call.
struct kp_create_topics_topic_req {
    const char *name;
    int32_t num_partitions;     // -1 = the broker's default
    int16_t replication_factor; // -1 = the broker's default
    const struct kp_create_topics_config *configs;
    size_t num_configs;
};

struct kp_create_topics_req {
    const struct kp_create_topics_topic_req *topics;
    size_t num_topics;
    int32_t timeout_ms;
    bool validate_only;
};

// kp_create_topics_req_write writes the body for |version| (2-7); a bad version or a null name
// fails |w|.
bool kp_create_topics_req_write(kw *w, int16_t version, const struct kp_create_topics_req *req);

// struct kp_create_topics_result: one topic's outcome; views into the frame.
struct kp_create_topics_result {
    kr name;
    int16_t error_code;
    kr error_message;
    bool error_message_null;
    int32_t num_partitions; // -1 below v5 (or when the broker does not say)
};

// struct kp_create_topics_resp: views into the response frame, which must outlive them.
struct kp_create_topics_resp {
    int16_t version;
    int32_t throttle_time_ms;
    uint32_t num_topics;
    kr topics; // the validated entries
};

struct kp_create_topics_iter {
    kr rest;
    uint32_t left;
    int16_t version;
};

// kp_create_topics_resp_parse parses and validates a whole response body of |version| (2-7).
enum kp_status kp_create_topics_resp_parse(kr *body, int16_t version,
                                           struct kp_create_topics_resp *out, struct kp_err *err);
// kp_create_topics_results starts an iteration; kp_create_topics_next returns false at the end.
void kp_create_topics_results(const struct kp_create_topics_resp *resp,
                              struct kp_create_topics_iter *out_it);
bool kp_create_topics_next(struct kp_create_topics_iter *it, struct kp_create_topics_result *out);

#endif
