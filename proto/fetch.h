// fetch.h: Fetch (API 1) request writer and response parser, versions 4-13 (flexible 12+).
//
// v13 names topics by topic id (KIP-516; ids come from Metadata v10+) instead of by name: a
// caller that has no ids must not pick v13 (the writer fails on an all-zero id there). The codec
// handles v13, but the Fetch range in proto/api.c, which drives version negotiation, stays at
// 4-12 until the fetcher keeps topic ids; raising it there to KP_FETCH_MAX_VERSION is all it
// takes to negotiate v13.
//
// The response parser is on the consumer's hot path: one validating pass over the partition
// headers, no per-record work. Each partition's record batches are handed out as a kr view
// (decode them with proto/records.h); the last batch may be partial (KIP-74), which is the
// batch decoder's business.
#ifndef PROTO_FETCH_H
#define PROTO_FETCH_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// KP_FETCH_MAX_VERSION is the highest version this codec writes and parses.
#define KP_FETCH_MAX_VERSION 13

// One partition to fetch. current_leader_epoch (v9+) and log_start_offset (v5+) are left out
// below their versions (ignorable); use -1 when unknown / for a consumer. last_fetched_epoch
// (v12+) is not ignorable: a value other than -1 below v12 fails the writer.
struct kp_fetch_req_partition {
    int32_t partition;
    int32_t current_leader_epoch;
    int64_t fetch_offset;
    int32_t last_fetched_epoch;
    int64_t log_start_offset;
    int32_t partition_max_bytes;
};

// A topic to fetch: |topic| (the name) up to v12, |topic_id| from v13.
struct kp_fetch_req_topic {
    const char *topic;
    uint8_t topic_id[16];
    const struct kp_fetch_req_partition *partitions;
    size_t num_partitions;
};

// A topic whose partitions leave an incremental fetch session (v7+).
struct kp_fetch_req_forgotten {
    const char *topic;    // up to v12
    uint8_t topic_id[16]; // v13+
    const int32_t *partitions;
    size_t num_partitions;
};

// struct kp_fetch_req: strings are NUL-terminated and borrowed for the call. A consumer sends
// replica_id -1. session_id/session_epoch (v7+; 0/-1 = no session) and rack_id (v11+; NULL
// writes "") are left out below their versions; forgotten topics below v7 fail the writer.
struct kp_fetch_req {
    int32_t replica_id;
    int32_t max_wait_ms;
    int32_t min_bytes;
    int32_t max_bytes;
    int8_t isolation_level; // 0 read_uncommitted, 1 read_committed
    int32_t session_id;
    int32_t session_epoch;
    const struct kp_fetch_req_topic *topics;
    size_t num_topics;
    const struct kp_fetch_req_forgotten *forgotten;
    size_t num_forgotten;
    const char *rack_id;
};

bool kp_fetch_req_write(kw *w, int16_t version, const struct kp_fetch_req *req);

// struct kp_fetch_resp holds views into the response frame, which must outlive them.
struct kp_fetch_resp {
    int32_t throttle_time_ms;
    int16_t error_code; // v7+, session errors
    int32_t session_id; // v7+
    uint32_t num_topics;
    kr topics;
    int16_t version;
};

// struct kp_fetch_topic: |topic| is the name up to v12 (empty from v13); |topic_id| the id
// from v13 (all zero before).
struct kp_fetch_topic {
    kr topic;
    uint8_t topic_id[16];
    uint32_t num_partitions;
    kr partitions;
};

// struct kp_fetch_partition: one partition's header and its records. Fields a version lacks
// hold the schema default (-1). The v12+ tagged fields set their has_ flag when present.
struct kp_fetch_partition {
    int32_t partition_index;
    int16_t error_code;
    int64_t high_watermark;
    int64_t last_stable_offset;
    int64_t log_start_offset;
    bool aborted_null; // null when read_uncommitted
    uint32_t num_aborted;
    kr aborted; // walk with kp_fetch_aborted_txns
    int32_t preferred_read_replica;
    bool records_null;
    kr records; // zero or more record batches, the last possibly partial
    bool has_diverging_epoch;
    int32_t diverging_epoch;
    int64_t diverging_end_offset;
    bool has_current_leader;
    int32_t current_leader_id;
    int32_t current_leader_epoch;
    bool has_snapshot_id;
    int64_t snapshot_end_offset;
    int32_t snapshot_epoch;
};

struct kp_fetch_aborted {
    int64_t producer_id;
    int64_t first_offset;
};

struct kp_fetch_iter {
    kr rest;
    uint32_t left;
    int16_t version;
};

enum kp_status kp_fetch_resp_parse(kr *body, int16_t version, struct kp_fetch_resp *out,
                                   struct kp_err *err);
void kp_fetch_topics(const struct kp_fetch_resp *resp, struct kp_fetch_iter *out_it);
bool kp_fetch_next_topic(struct kp_fetch_iter *it, struct kp_fetch_topic *out);
void kp_fetch_partitions(const struct kp_fetch_iter *topics, const struct kp_fetch_topic *topic,
                         struct kp_fetch_iter *out_it);
bool kp_fetch_next_partition(struct kp_fetch_iter *it, struct kp_fetch_partition *out);
void kp_fetch_aborted_txns(const struct kp_fetch_iter *partitions,
                           const struct kp_fetch_partition *partition,
                           struct kp_fetch_iter *out_it);
bool kp_fetch_next_aborted(struct kp_fetch_iter *it, struct kp_fetch_aborted *out);

#endif
