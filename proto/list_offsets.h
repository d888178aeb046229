// list_offsets.h: ListOffsets (API 2) request writer and response parser, versions 1-7
// (flexible 6+).
//
// Checked against apache/kafka ListOffsetsRequest.json / ListOffsetsResponse.json: v1 one offset
// plus its timestamp per partition (v0's MaxNumOffsets / OldStyleOffsets are gone); v2
// IsolationLevel and throttle time; v4 CurrentLeaderEpoch (request) and LeaderEpoch (response);
// v5 adds OFFSET_NOT_AVAILABLE; v6 flexible; v7 MAX_TIMESTAMP lookups (KIP-734).
//
// The librdkafka 2.0.2 mock writes LeaderEpoch as an int64 in its v4/v5 responses (4 extra bytes
// per partition). This parser follows the schema and rejects those bodies: use v1-3 against the
// mock.
#ifndef PROTO_LIST_OFFSETS_H
#define PROTO_LIST_OFFSETS_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Special timestamps.
#define KP_OFFSET_LATEST (-1)        // the high watermark (last stable offset when read_committed)
#define KP_OFFSET_EARLIEST (-2)      // the log start offset
#define KP_OFFSET_MAX_TIMESTAMP (-3) // the record with the largest timestamp; v7+

// Isolation levels (v2+).
#define KP_READ_UNCOMMITTED 0
#define KP_READ_COMMITTED 1

// struct kp_list_offsets_req_partition: |timestamp| is a KP_OFFSET_* value or a time in ms
// (the earliest offset whose record timestamp is >= it). KP_OFFSET_MAX_TIMESTAMP below v7, or any
// other negative value except -1/-2, fails the writer. |current_leader_epoch| (v4+, ignorable,
// -1 = unknown) lets the broker fence a stale leader.
struct kp_list_offsets_req_partition {
    int32_t partition_index;
    int32_t current_leader_epoch;
    int64_t timestamp;
};

struct kp_list_offsets_req_topic {
    const char *name;
    const struct kp_list_offsets_req_partition *partitions;
    size_t num_partitions;
};

// struct kp_list_offsets_req: a consumer's request (ReplicaId is always written as -1).
// |isolation_level| KP_READ_COMMITTED below v2 fails the writer. Strings are NUL-terminated and
// borrowed for the call.
struct kp_list_offsets_req {
    int8_t isolation_level;
    const struct kp_list_offsets_req_topic *topics;
    size_t num_topics;
};

// kp_list_offsets_req_write writes the body for |version| (1-7); anything |version| cannot carry
// fails |w|.
bool kp_list_offsets_req_write(kw *w, int16_t version, const struct kp_list_offsets_req *req);

// struct kp_list_offsets_resp holds views into the response frame, which must outlive them.
struct kp_list_offsets_resp {
    int16_t version;
    int32_t throttle_time_ms; // 0 before v2
    uint32_t num_topics;
    kr topics;
};

struct kp_list_offsets_topic {
    kr name;
    uint32_t num_partitions;
    kr partitions;
};

// struct kp_list_offsets_partition: |offset| and |timestamp| are -1 when no record matches a
// timestamp lookup.
struct kp_list_offsets_partition {
    int32_t partition_index;
    int16_t error_code;
    int64_t timestamp;
    int64_t offset;
    int32_t leader_epoch; // -1 before v4
};

struct kp_list_offsets_iter {
    kr rest;
    uint32_t left;
    int16_t version;
};

// kp_list_offsets_resp_parse parses and validates a whole response body of |version| (1-7).
enum kp_status kp_list_offsets_resp_parse(kr *body, int16_t version,
                                          struct kp_list_offsets_resp *out, struct kp_err *err);

// Iterators: topics of a response, partitions of a topic (pass the topic iterator).
void kp_list_offsets_topics(const struct kp_list_offsets_resp *resp,
                            struct kp_list_offsets_iter *out_it);
bool kp_list_offsets_next_topic(struct kp_list_offsets_iter *it, struct kp_list_offsets_topic *out);
void kp_list_offsets_partitions(const struct kp_list_offsets_iter *topics,
                                const struct kp_list_offsets_topic *topic,
                                struct kp_list_offsets_iter *out_it);
bool kp_list_offsets_next_partition(struct kp_list_offsets_iter *it,
                                    struct kp_list_offsets_partition *out);

#endif
