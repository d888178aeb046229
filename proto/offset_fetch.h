// offset_fetch.h: OffsetFetch (API 9) request writer and response parser, versions 1-8
// (flexible 6+).
//
// v8 batches groups (KIP-709); v1-7 carry one group at the top level. One API covers both: a
// request lists groups (exactly one below v8) and a response is walked as groups; below v8 the
// single group has an empty group_id view (the caller knows which group it asked for) and the
// top-level error code (v2+; 0 in v1, where group errors show in each partition). A null
// topics array in a response (the librdkafka mock's answer to an all-topics request) reads as
// no topics.
#ifndef PROTO_OFFSET_FETCH_H
#define PROTO_OFFSET_FETCH_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kp_offset_fetch_req_topic {
    const char *name;
    const int32_t *partition_indexes;
    size_t num_partitions;
};

// all_topics asks for every topic the group has offsets for (a null topics array, v2+); topics
// is then ignored.
struct kp_offset_fetch_req_group {
    const char *group_id;
    bool all_topics;
    const struct kp_offset_fetch_req_topic *topics;
    size_t num_topics;
};

// struct kp_offset_fetch_req: strings are NUL-terminated and borrowed for the call.
// require_stable needs v7+ (true below v7 fails the writer).
struct kp_offset_fetch_req {
    const struct kp_offset_fetch_req_group *groups;
    size_t num_groups;
    bool require_stable;
};

bool kp_offset_fetch_req_write(kw *w, int16_t version, const struct kp_offset_fetch_req *req);

struct kp_offset_fetch_group {
    kr group_id; // empty below v8
    int16_t error_code;
    uint32_t num_topics;
    kr topics;
};

// struct kp_offset_fetch_resp holds views into the response frame, which must outlive them.
struct kp_offset_fetch_resp {
    int32_t throttle_time_ms; // 0 below v3
    uint32_t num_groups;
    kr groups;                           // v8+
    struct kp_offset_fetch_group legacy; // below v8: the one group
    int16_t version;
};

struct kp_offset_fetch_topic {
    kr name;
    uint32_t num_partitions;
    kr partitions;
};

// committed_offset -1 means no commit; committed_leader_epoch is -1 below v5.
struct kp_offset_fetch_partition {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch;
    kr metadata;
    bool metadata_null;
    int16_t error_code;
};

struct kp_offset_fetch_iter {
    kr rest;
    uint32_t left;
    int16_t version;
    const struct kp_offset_fetch_group *legacy;
};

enum kp_status kp_offset_fetch_resp_parse(kr *body, int16_t version,
                                          struct kp_offset_fetch_resp *out, struct kp_err *err);
// The iterators walk groups, then a group's topics, then a topic's partitions. The response
// must stay in place (and unmoved) while its group iterator is in use.
void kp_offset_fetch_groups(const struct kp_offset_fetch_resp *resp,
                            struct kp_offset_fetch_iter *out_it);
bool kp_offset_fetch_next_group(struct kp_offset_fetch_iter *it, struct kp_offset_fetch_group *out);
void kp_offset_fetch_topics(const struct kp_offset_fetch_iter *groups,
                            const struct kp_offset_fetch_group *group,
                            struct kp_offset_fetch_iter *out_it);
bool kp_offset_fetch_next_topic(struct kp_offset_fetch_iter *it, struct kp_offset_fetch_topic *out);
void kp_offset_fetch_partitions(const struct kp_offset_fetch_iter *topics,
                                const struct kp_offset_fetch_topic *topic,
                                struct kp_offset_fetch_iter *out_it);
bool kp_offset_fetch_next_partition(struct kp_offset_fetch_iter *it,
                                    struct kp_offset_fetch_partition *out);

#endif
