// offset_commit.h: OffsetCommit (API 8) request writer and response parser, versions 2-9
// (flexible 8+).
#ifndef PROTO_OFFSET_COMMIT_H
#define PROTO_OFFSET_COMMIT_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// One partition's commit. committed_offset is the next offset to consume;
// committed_leader_epoch (v6+, left out below) is the leader epoch of the last consumed record,
// -1 if unknown; committed_metadata may be NULL (null).
struct kp_offset_commit_req_partition {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch;
    const char *committed_metadata;
};

struct kp_offset_commit_req_topic {
    const char *name;
    const struct kp_offset_commit_req_partition *partitions;
    size_t num_partitions;
};

// struct kp_offset_commit_req: strings are NUL-terminated and borrowed for the call.
// generation_id -1 and member_id "" commit as a non-member. group_instance_id needs v7+ (set
// below v7 it fails the writer). retention_time_ms is written only in v2-4 (-1 = broker
// default).
struct kp_offset_commit_req {
    const char *group_id;
    int32_t generation_id;
    const char *member_id;
    const char *group_instance_id;
    int64_t retention_time_ms;
    const struct kp_offset_commit_req_topic *topics;
    size_t num_topics;
};

bool kp_offset_commit_req_write(kw *w, int16_t version, const struct kp_offset_commit_req *req);

// struct kp_offset_commit_resp holds views into the response frame, which must outlive them.
struct kp_offset_commit_resp {
    int32_t throttle_time_ms; // 0 below v3
    uint32_t num_topics;
    kr topics;
    int16_t version;
};

struct kp_offset_commit_topic {
    kr name;
    uint32_t num_partitions;
    kr partitions;
};

struct kp_offset_commit_partition {
    int32_t partition_index;
    int16_t error_code;
};

struct kp_offset_commit_iter {
    kr rest;
    uint32_t left;
    int16_t version;
};

enum kp_status kp_offset_commit_resp_parse(kr *body, int16_t version,
                                           struct kp_offset_commit_resp *out, struct kp_err *err);
void kp_offset_commit_topics(const struct kp_offset_commit_resp *resp,
                             struct kp_offset_commit_iter *out_it);
bool kp_offset_commit_next_topic(struct kp_offset_commit_iter *it,
                                 struct kp_offset_commit_topic *out);
// kp_offset_commit_partitions starts an iteration over one topic's partitions.
void kp_offset_commit_partitions(const struct kp_offset_commit_iter *topics,
                                 const struct kp_offset_commit_topic *topic,
                                 struct kp_offset_commit_iter *out_it);
bool kp_offset_commit_next_partition(struct kp_offset_commit_iter *it,
                                     struct kp_offset_commit_partition *out);

#endif
