// produce.h: Produce (API 0) request writer and response parser, versions 3-9 (flexible 9+).
//
// Checked against apache/kafka ProduceRequest.json / ProduceResponse.json. v3 is the first
// version with TransactionalId and record batch v2; v5 adds LogStartOffset, v7 allows zstd, v8
// adds RecordErrors and ErrorMessage (KIP-467), v9 is flexible. kesm produces only to feed tests
// and benchmarks; the records blob is a ready record batch built elsewhere (proto/records.h).
//
// Acks 0 means the broker sends no response at all: do not wait for one.
#ifndef PROTO_PRODUCE_H
#define PROTO_PRODUCE_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// struct kp_produce_req_partition: |records| is |records_len| bytes of record batches (NULL =
// null records), borrowed for the call.
struct kp_produce_req_partition {
    int32_t index;
    const uint8_t *records;
    size_t records_len;
};

struct kp_produce_req_topic {
    const char *name;
    const struct kp_produce_req_partition *partitions;
    size_t num_partitions;
};

// struct kp_produce_req: |transactional_id| NULL for a non-transactional producer; |acks| 0, 1
// or -1 (anything else fails the writer).
struct kp_produce_req {
    const char *transactional_id;
    int16_t acks;
    int32_t timeout_ms;
    const struct kp_produce_req_topic *topics;
    size_t num_topics;
};

// kp_produce_req_write writes the body for |version| (3-9).
bool kp_produce_req_write(kw *w, int16_t version, const struct kp_produce_req *req);

// struct kp_produce_resp holds views into the response frame, which must outlive them.
struct kp_produce_resp {
    int16_t version;
    uint32_t num_topics;
    kr topics;
    int32_t throttle_time_ms;
};

struct kp_produce_topic {
    kr name;
    uint32_t num_partitions;
    kr partitions;
};

struct kp_produce_partition {
    int32_t index;
    int16_t error_code;
    int64_t base_offset;
    int64_t log_append_time_ms; // -1 unless the topic uses LogAppendTime
    int64_t log_start_offset;   // -1 before v5
    uint32_t num_record_errors; // v8+
    kr record_errors;
    kr error_message;
    bool error_message_null; // true before v8
};

// struct kp_produce_record_error: a record that made the broker drop the whole batch (v8+).
struct kp_produce_record_error {
    int32_t batch_index;
    kr message;
    bool message_null;
};

struct kp_produce_iter {
    kr rest;
    uint32_t left;
    int16_t version;
};

// kp_produce_resp_parse parses and validates a whole response body of |version| (3-9).
enum kp_status kp_produce_resp_parse(kr *body, int16_t version, struct kp_produce_resp *out,
                                     struct kp_err *err);

// Iterators: topics of a response, partitions of a topic, record errors of a partition (pass the
// iterator the parent came from).
void kp_produce_topics(const struct kp_produce_resp *resp, struct kp_produce_iter *out_it);
bool kp_produce_next_topic(struct kp_produce_iter *it, struct kp_produce_topic *out);
void kp_produce_partitions(const struct kp_produce_iter *topics,
                           const struct kp_produce_topic *topic, struct kp_produce_iter *out_it);
bool kp_produce_next_partition(struct kp_produce_iter *it, struct kp_produce_partition *out);
void kp_produce_record_errors(const struct kp_produce_iter *partitions,
                              const struct kp_produce_partition *partition,
                              struct kp_produce_iter *out_it);
bool kp_produce_next_record_error(struct kp_produce_iter *it, struct kp_produce_record_error *out);

#endif
