// pipeline_int.h: internals shared by esm/pipeline*.c (not a public API).
#ifndef ESM_PIPELINE_INT_H
#define ESM_PIPELINE_INT_H

#include "base/log.h"
#include "esm/pipeline.h"
#include "invoke/batcher.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// pl_part_of returns the index of the part holding record |idx| of |b|.
size_t pl_part_of(const struct batch *b, size_t idx);

// pl_subpayload builds the event for the records |sel| (|n| increasing record indices) of |b|
// from their spans (batch_rec; |b| must not be oversized). Returns the NUL-terminated payload
// (caller frees) and its length in *out_len.
char *pl_subpayload(const struct batch *b, const struct inv_event_cfg *cfg, const size_t *sel,
                    size_t n, size_t *out_len);

// struct pl_failure: one failure record (spec: the on-failure invocation record).
struct pl_failure {
    const char *condition; // "RetryAttemptsExhausted", "MaximumPayloadSizeExceeded", ...
    const char *function_arn;
    const struct inv_event_cfg *event;
    uint32_t invoke_count; // approximateInvokeCount
    bool invoked;          // false: responseContext is null
    int status_code;       // responseContext.statusCode
    const char *payload;   // the event last sent for these records; NULL: none
    size_t payload_len;
    bool omit_payload; // payloadSize from |payload|, but no "payload" member (SQS, SNS)
    int64_t now_ms;    // epoch ms
};

// pl_failure_write writes the failure record of records |sel| of |b| to a new file in |dir|,
// atomically (temporary name, fsync, rename). Returns 0, or -1 with |err|. |*seq| makes file
// names unique.
int pl_failure_write(const char *dir, const struct pl_failure *f, const struct batch *b,
                     const size_t *sel, size_t n, uint64_t *seq, char *err, size_t err_cap);

// pl_failure_text formats the failure record of records |sel| of |b| (as pl_failure_write
// writes it) into a heap string (caller frees) of *out_len bytes; NULL on out-of-memory.
char *pl_failure_text(const struct pl_failure *f, const struct batch *b, const size_t *sel,
                      size_t n, size_t *out_len);

// pl_failure_batch_msgs builds the messages of a per-batch destination (SQS, SNS, S3) for the
// records |sel| (|n|, in order): one failure record of the selection, with "payload" (the event
// of those records, as a JSON string) when |with_payload| and |b| is not oversized; while a
// record is above |max| bytes (0: no limit) and covers more than one record, the selection is
// halved and each half gets its own record, in order. Returns the number of messages in *out (an
// array the caller frees with pl_dest_msgs_free).
struct esm_dest_msg;
size_t pl_failure_batch_msgs(const struct pl_failure *f, const struct batch *b, const size_t *sel,
                             size_t n, bool with_payload, size_t max, struct esm_dest_msg **out);
void pl_dest_msgs_free(struct esm_dest_msg *msgs, size_t n);

// pl_failure_record_value builds the value of a kafka:// destination message for record |idx|:
// the failure record with batchSize 1, KafkaBatchInfo.recordInfo {offset, timestamp} and payload
// the record's event as a JSON object (null for an oversized record). Returns the text (caller
// frees) and its length in *out_len.
char *pl_failure_record_value(const struct pl_failure *f, const struct batch *b, size_t idx,
                              size_t *out_len);

// pl_iso8601 writes an epoch-ms time as 2019-11-14T00:38:06.021Z into |out| (>= 25 bytes).
void pl_iso8601(char *out, size_t cap, int64_t ms);

// ---- ParallelizationFactor: the unfinished offsets of a partition (pipeline_track.c) ---------

// struct pl_track: the offsets of one partition handed to the batcher, in order, and which of them
// are finished. Shared (reference counted) by the partition and the jobs holding its records, so
// a job still acknowledges correctly after its partition was revoked: records dropped from the
// queue stay unfinished, and acknowledgements stop below them.
struct pl_track;
struct pl_track *pl_track_new(void);
struct pl_track *pl_track_ref(struct pl_track *t);
void pl_track_unref(struct pl_track *t); // NULL is a no-op
void pl_track_push(struct pl_track *t, int64_t offset, uint32_t lane);
// pl_track_push_range tracks an undecodable range [first, last] as one entry, finished by
// pl_track_done(t, last) (the offset its batch carries); no acknowledgement passes its first
// offset before then.
void pl_track_push_range(struct pl_track *t, int64_t first, int64_t last, uint32_t lane);
void pl_track_done(struct pl_track *t, int64_t offset);
// pl_track_next: the lowest offset not yet finished, or the last finished one + 1 when none is
// left (-1: nothing tracked finished).
int64_t pl_track_next(const struct pl_track *t);
// pl_track_ack: true, with the offset to acknowledge, when the front moved past the last
// acknowledgement; pl_track_acked records one made elsewhere (filtered records).
bool pl_track_ack(struct pl_track *t, int64_t *out_next);
void pl_track_acked(struct pl_track *t, int64_t next);
// pl_track_lanes fills, for lanes 0 .. |lanes|-1, the lowest offset not yet finished (-1: none)
// and how many records are not yet finished (a range counts its offsets).
void pl_track_lanes(const struct pl_track *t, uint32_t lanes, int64_t *oldest, uint64_t *pending);

// ---- the pipeline object (pipeline.c, pipeline_dispose.c, pipeline_drain.c) ---------------

struct sel {
    size_t *idx;
    size_t n;
};

struct job {
    struct esm_pipeline *pl;
    struct job *next;
    struct batch *b;
    unsigned char *done;   // per record
    size_t *acked;         // per part: records finished from the part's start
    struct pl_track **trk; // per part, with lanes (ParallelizationFactor > 1); else NULL
    size_t num_trk;
    struct sel cur;    // the selection being delivered
    struct sel *stack; // selections waiting (top = last)
    size_t num_stack, cap_stack;
    uint32_t retries;   // function-error retries of cur
    uint32_t invokes;   // invocations of cur (approximateInvokeCount)
    uint32_t backoff_n; // consecutive failures, for the delay
    bool sending;
    double sent_s; // monotonic seconds at submit (invoke latency)
    uint64_t req_id;
    char *sub; // sub-payload for cur (NULL: cur is the whole batch)
    size_t sub_len;
    struct net_timer *timer;
    bool abandon;    // revoked or shutting down: finish after the current request
    bool revoked;    // its partitions were revoked (their struct part may be a new assignment's)
    struct sel disp; // records being disposed of (n > 0 while a disposal is pending)
    const char *disp_cond;
    int disp_status;
    bool disp_invoked;
    bool disp_inflight; // an asynchronous destination is delivering it
    uint64_t disp_id;
    bool blocked; // oversized under BATCH_OVERSIZE_BLOCK
};

// struct part: a partition the pipeline has seen. Filtered records are acknowledged through it:
// kept_last is the offset of the last record handed to the batcher, done_next the highest offset
// acknowledged by a job (every record before it finished), and a pending filtered
// acknowledgement (filt_next) waits until the record kept before it (filt_after) is finished.
// One slot is enough: a newer filtered record replaces an older pending one, whose offset the
// newer acknowledgement covers.
struct held;

struct part {
    char *topic;
    size_t topic_len;
    int32_t partition;
    bool paused;
    struct held *held_head, *held_tail; // records waiting for a schema, in offset order
    size_t num_held;
    int64_t kept_last;  // -1: none
    int64_t done_next;  // -1: none
    bool has_filt;      // a filtered acknowledgement is pending
    int64_t filt_next;  // offset to acknowledge
    int64_t filt_after; // once the record at this offset is finished (-1: nothing before it)
    bool gap_pending;   // an undecodable range waits behind held records
    int64_t gap_first, gap_last;
    bool gap_too_large;
    int64_t last_ok_ms;   // wall time of the last success that moved it on (-1: none)
    int64_t acked_next;   // the last acknowledgement (-1: none yet), for records_acked
    struct pl_track *trk; // with lanes: its unfinished offsets (NULL otherwise)
    size_t bt_hint;       // batcher_add_hint's for this partition
};

struct esm_pipeline {
    struct esm_pipeline_cfg cfg;
    struct batcher *bt;
    struct inv_driver *driver;
    struct net_timer *batch_timer;
    struct job *jobs;
    struct part *parts;
    size_t num_parts, cap_parts;
    bool stopped;  // fatal
    bool draining; // shutdown
    bool in_pump, pump_again;
    struct esm_pipeline_stats st;
    char result[256];
    char log[KESM_LOG_COMPONENT_CAP]; // log component
    uint64_t seq;
    uint64_t rng;
    // a revoke or drain waiting for abandoned jobs
    void (*wait_done)(void *ctx);
    void *wait_ctx;
    struct net_timer *wait_timer; // timeout
    struct net_timer *wait_zero;  // completion, from a callback
    bool waiting;
    // invocations failing with transport errors (RETRYABLE results) since this monotonic second
    // (0: they are not), and when that was last logged at WARN
    double transport_since;
    double transport_warned;
};

// pipeline.c
int64_t pl_wall_now(struct esm_pipeline *pl);
void pl_set_result(struct esm_pipeline *pl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
struct part *pl_part_find(struct esm_pipeline *pl, const char *topic, size_t topic_len,
                          int32_t partition, bool create);
void pl_part_pause(struct esm_pipeline *pl, struct part *p);
// pl_queue_full: the queued records reach pause_total or pause_bytes (divided by |div|: 2 is the
// resume threshold).
bool pl_queue_full(const struct esm_pipeline *pl, size_t div);
void pl_mark_done(struct job *j, const size_t *idx, size_t n, bool ok);
void pl_job_finish(struct job *j);
void pl_job_backoff(struct job *j);
void pl_job_next(struct job *j);
void pl_job_send(struct job *j);
// pl_split_cur keeps the first half of cur and pushes the second half (bisect, 413).
void pl_split_cur(struct job *j);
// pl_mono_seconds: the monotonic clock in seconds (invocation latency, transport error spans).
double pl_mono_seconds(void);

// pipeline_result.c: pl_on_result is the transport's callback for a job's invocation.
void pl_on_result(void *ctx, uint64_t id, const struct inv_result *res);

// pl_pump hands out every ready batch and arms the batching timer; pl_mono_now is the reactor's
// clock; pl_filtered_release acknowledges a partition's pending filtered records when the
// records before them are finished.
void pl_pump(struct esm_pipeline *pl);
int64_t pl_mono_now(struct esm_pipeline *pl);
void pl_filtered_release(struct esm_pipeline *pl, struct part *p);

// pipeline_add.c: pl_held_drop frees a partition's records waiting for a schema.
void pl_held_drop(struct part *p);

// pipeline_dispose.c: giving up on records (failure records to the destination, record age)
void pl_dispose_run(struct job *j);
void pl_dispose_cur(struct job *j, const char *cond, bool invoked, int status);
bool pl_drop_expired(struct job *j);

// pipeline_drain.c: revoke and drain
void pl_on_wait_zero(void *ctx);
void pl_on_wait_timeout(void *ctx);
void pl_check_wait(struct esm_pipeline *pl);

#endif
