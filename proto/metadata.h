// metadata.h: Metadata (API 3) request writer and response parser, versions 1-12 (flexible 9+).
//
// Checked against apache/kafka MetadataRequest.json / MetadataResponse.json. By version:
// v1 rack, controller id, is_internal, null topics = all topics; v2 cluster id; v3 throttle;
// v4 AllowAutoTopicCreation; v5 offline replicas; v7 leader epoch; v8 authorized operations
// (cluster: v8-10 only); v9 flexible; v10 topic ids; v12 lookup by topic id (null names).
// The librdkafka 2.0.2 mock serves only v0-2; Kafka 4.x serves 0-13.
#ifndef PROTO_METADATA_H
#define PROTO_METADATA_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// KP_METADATA_NO_AUTH_OPS is the authorized-operations value when none were requested (or the
// field does not exist in the version).
#define KP_METADATA_NO_AUTH_OPS INT32_MIN

// struct kp_metadata_req_topic: |name| NULL writes a null name (v12+ lookups by id; v10-11 the
// schema allows null but the broker does not implement it; below v10 it fails the writer).
// |topic_id| is 16 bytes or NULL for the all-zero id; it is written from v10 on and ignored
// before (the field is ignorable).
struct kp_metadata_req_topic {
    const char *name;
    const uint8_t *topic_id;
};

// struct kp_metadata_req: strings are NUL-terminated and borrowed for the call.
//   all_topics: ask for every topic (a null array); |topics| is then ignored. An empty,
//     non-null list (num_topics 0) asks for no topics (brokers only).
//   allow_auto_topic_creation: v4+. The schema's default is true and the field is not
//     ignorable: below v4 (where the broker follows its own auto.create.topics.enable) false
//     fails the writer, so set it to (version >= 4 ? wanted : true).
//   include_cluster_authorized_operations: v8-10; true elsewhere fails the writer.
//   include_topic_authorized_operations: v8+; true below v8 fails the writer.
struct kp_metadata_req {
    bool all_topics;
    const struct kp_metadata_req_topic *topics;
    size_t num_topics;
    bool allow_auto_topic_creation;
    bool include_cluster_authorized_operations;
    bool include_topic_authorized_operations;
};

// kp_metadata_req_write writes the request body for |version|; a version outside 1-12 or a
// field that |version| cannot carry fails |w|.
bool kp_metadata_req_write(kw *w, int16_t version, const struct kp_metadata_req *req);

// struct kp_metadata_resp: a parsed response. Views point into the frame, which must outlive
// them (and the iterators made from them).
struct kp_metadata_resp {
    int16_t version;
    int32_t throttle_time_ms; // 0 before v3
    uint32_t num_brokers;
    kr brokers; // the validated broker entries
    kr cluster_id;
    bool cluster_id_null;  // always true before v2
    int32_t controller_id; // -1 before v1
    uint32_t num_topics;
    kr topics;
    int32_t cluster_authorized_operations; // v8-10; KP_METADATA_NO_AUTH_OPS otherwise
};

struct kp_metadata_broker {
    int32_t node_id;
    kr host;
    int32_t port;
    kr rack;
    bool rack_null; // true before v1
};

// struct kp_metadata_topic: |topic_id| is all-zero before v10 (and for unknown topics).
struct kp_metadata_topic {
    int16_t error_code;
    kr name;
    bool name_null; // only possible from v12
    uint8_t topic_id[16];
    bool is_internal;
    uint32_t num_partitions;
    kr partitions;
    int32_t topic_authorized_operations; // v8+; KP_METADATA_NO_AUTH_OPS otherwise
};

// struct kp_metadata_partition: node lists are views of num_* big-endian int32 values; read
// them with kp_metadata_node.
struct kp_metadata_partition {
    int16_t error_code;
    int32_t partition_index;
    int32_t leader_id;
    int32_t leader_epoch; // -1 before v7
    uint32_t num_replicas;
    kr replica_nodes;
    uint32_t num_isr;
    kr isr_nodes;
    uint32_t num_offline;
    kr offline_replicas; // empty before v5
};

struct kp_metadata_iter {
    kr rest;
    uint32_t left;
    int16_t version;
};

// kp_metadata_resp_parse parses and validates a whole response body of |version| (1-12).
// Returns KP_OK, KP_ERR_VERSION, or a parse error with |err| naming the field and offset.
enum kp_status kp_metadata_resp_parse(kr *body, int16_t version, struct kp_metadata_resp *out,
                                      struct kp_err *err);

// Iterators over a parsed response: brokers and topics of the response, partitions of a topic
// (pass the topic iterator the topic came from). next_* return false at the end.
void kp_metadata_brokers(const struct kp_metadata_resp *resp, struct kp_metadata_iter *out_it);
bool kp_metadata_next_broker(struct kp_metadata_iter *it, struct kp_metadata_broker *out);
void kp_metadata_topics(const struct kp_metadata_resp *resp, struct kp_metadata_iter *out_it);
bool kp_metadata_next_topic(struct kp_metadata_iter *it, struct kp_metadata_topic *out);
void kp_metadata_partitions(const struct kp_metadata_iter *topics,
                            const struct kp_metadata_topic *topic, struct kp_metadata_iter *out_it);
bool kp_metadata_next_partition(struct kp_metadata_iter *it, struct kp_metadata_partition *out);

// kp_metadata_node returns entry |i| of a node list view (replica_nodes, isr_nodes,
// offline_replicas); |i| must be below the matching num_* count (-1 otherwise).
int32_t kp_metadata_node(const kr *nodes, uint32_t i);

#endif
