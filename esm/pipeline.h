// pipeline.h: the delivery pipeline of one event source mapping: records in, batches out to a
// transport, offsets acknowledged back to the source after success or disposal.
//
//   source (consumer) --esm_pipeline_add--> batcher --> transport --> result
//        ^                                                              |
//        +------ ack(next offset) / pause / resume ---------------------+
//
// The pipeline knows its source only through struct esm_source (ack, pause, resume), so it runs
// against the Kafka consumer (esm/pipeline_cons.c glues the two) or a test double. Everything
// runs on one net_reactor thread; the transport is driven there too (poll-based transports
// through inv_driver).
//
// Delivery rules (Lambda's, spec 3.3-3.6; the choices where Lambda says nothing are in README.md,
// "Failure handling"):
//   - at most one batch per partition in flight, up to batch.max_inflight batches at once when it
//     is set (0: no cap; the batcher); with batch.lanes > 1 (ParallelizationFactor) one per lane
//     (records of a key share a lane, in order), and a partition is acknowledged only up to its
//     lowest offset not yet finished, whichever lane holds it (pipeline_track.c);
//   - success: every partition of the batch is acknowledged at last offset + 1;
//   - function error: the batch (or what is left of it) is retried with exponential backoff,
//     holding its partitions; MaximumRetryAttempts counts retries, not the first attempt (-1:
//     infinite; infinite with an on-failure destination is capped at 10 retries, as Lambda
//     does); BisectBatchOnFunctionError splits a failing selection in two halves, delivered in
//     order, without using the retry budget, down to single records;
//   - partial batch response (ReportBatchItemFailures): each partition named is acknowledged up
//     to its lowest failed offset and retried from there; partitions not named succeeded. An
//     identifier that is not in the invoked selection fails the whole selection;
//   - throttles, service and network errors (INV_RESULT_RETRYABLE) are retried with backoff
//     without counting as attempts;
//   - 413 (INV_RESULT_TOO_LARGE) splits the selection; a single record is disposed of as
//     MaximumPayloadSizeExceeded, as is a record too large for any payload (batcher's oversized
//     batch);
//   - MaximumRecordAgeInSeconds: records older than that when they would be (re)sent are not
//     sent but disposed of (condition "RecordAgeExceeded");
//   - disposal writes one failure record per disposed selection to the on-failure directory
//     (atomically: temporary file, fsync, rename), or one message per disposed record to an
//     asynchronous destination (kafka://), or logs and counts it when there is none, and then
//     acknowledges past it. A destination that fails is retried with backoff (nothing is acked);
//   - INV_RESULT_FATAL (the function cannot be invoked at all) stops submitting and reports
//     on_fatal; nothing more is acknowledged;
//   - FilterCriteria (cfg.filter): a record that matches no filter is not batched; it is counted
//     (records_filtered) and acknowledged once every record of its partition added before it is
//     finished (at once when none is outstanding), so a fetch filtered out entirely still moves
//     the committed offset with no invocation.
//   - a schema registry (cfg.schema, esm/schema_stage.h) decodes each record before filtering and
//     batching; a record whose schema is still being fetched is held (copied) with every later
//     record of its partition, and the partition paused, until the stage reports it can go on;
//     records the stage rejects are disposed of alone (their condition is SCHEMA_NOT_FOUND or
//     DESERIALIZATION_ERROR), in their place in the partition's order.
// Offsets are acknowledged only after success or disposal, per partition up to the first record
// not yet finished, so a crash at any moment loses nothing (records may be delivered again).
#ifndef ESM_PIPELINE_H
#define ESM_PIPELINE_H

#include "esm/filter.h"
#include "esm/metrics.h"
#include "esm/schema_stage.h"
#include "invoke/batcher.h"
#include "invoke/transport.h"
#include "net/reactor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// struct esm_source: what the pipeline asks of the record source. Every function may be NULL.
// ack returns 0, or -1 when the partition is no longer assigned (ignored).
struct esm_source {
    int (*ack)(void *ctx, const char *topic, int32_t partition, int64_t next_offset);
    int (*pause)(void *ctx, const char *topic, int32_t partition);
    int (*resume)(void *ctx, const char *topic, int32_t partition);
    void *ctx;
};

// struct esm_tp: one topic-partition (borrowed strings).
struct esm_tp {
    const char *topic;
    int32_t partition;
};

// struct esm_dest_msg: one message for an asynchronous on-failure destination (one per disposed
// record: its key, and the failure record as the value). Borrowed during send only.
struct esm_dest_msg {
    struct inv_bytes key;
    char *value;
    size_t value_len;
    // where the records come from (per-batch messages: the first record's): "topic-partition",
    // its offset, and the failure record's time (epoch ms), e.g. for an S3 object key.
    const char *part_key;
    int64_t first_offset;
    int64_t time_ms;
    size_t num_records; // records this message covers
};

// struct esm_dest: an asynchronous on-failure destination (kafka://<topic>). send starts
// delivering |n| messages (copied) and returns a non-zero id, or 0 if nothing was started;
// done(arg, ok, msg) runs later from a reactor callback, never inside send; cancel(ctx, id)
// abandons a delivery (done never runs).
typedef void esm_dest_done_fn(void *arg, bool ok, const char *msg);
struct esm_dest {
    uint64_t (*send)(void *ctx, const struct esm_dest_msg *msgs, size_t n, esm_dest_done_fn *done,
                     void *arg);
    void (*cancel)(void *ctx, uint64_t id);
    void *ctx;
};

struct esm_pipeline_cfg {
    struct net_reactor *reactor;     // borrowed; must outlive the pipeline
    struct inv_transport *transport; // borrowed; must outlive the pipeline
    struct batcher_cfg batch;        // strings borrowed for the pipeline's life
    int32_t max_retry_attempts;      // -1 infinite
    int32_t max_record_age_s;        // -1 infinite
    bool bisect_on_error;
    const char *dest_dir; // on-failure directory (absolute path), NULL: none
    struct esm_dest dest; // asynchronous destination (send != NULL): used instead of dest_dir
    bool dest_other;      // a destination kesm cannot write (an ARN): caps retries only
    // dest_per_batch: the asynchronous destination gets one failure record per disposed
    // selection (Lambda's SQS, SNS and S3 shape: KafkaBatchInfo.recordsInfo) instead of one
    // message per record (kafka://); with dest_with_payload it carries "payload", the event as a
    // JSON string (S3). A record above dest_max_message bytes (0: no limit) is split: the
    // selection is halved until each part's record fits (SNS 256 KiB, SQS 256 KiB).
    bool dest_per_batch;
    bool dest_with_payload;
    size_t dest_max_message;
    const char *function_arn;    // for failure records; NULL: ""
    uint32_t backoff_initial_ms; // first retry delay [500]
    uint32_t backoff_max_ms;     // cap [30000]
    // pause_records: pause a partition with this many queued records [2 * BatchSize * lanes]
    size_t pause_records;
    // pause_total: pause any partition while this many records are queued in all [2 * BatchSize *
    // the partitions seen, at least 2 and at most batch.max_inflight when that is set]: enough
    // for every partition that can have a batch in flight to have its next batch ready.
    size_t pause_total;
    // pause_bytes: pause any partition while the queued records' encoded size plus the bytes the
    // transport holds unwritten (inv_transport_queued: stdout, exec) reach this [4 x
    // batch.max_payload, at most ESM_PIPELINE_PAUSE_BYTES]; every limit resumes at half.
    size_t pause_bytes;
    struct esm_source source;
    // filter: FilterCriteria (borrowed; must outlive the pipeline); NULL delivers every record.
    struct esm_filter *filter;
    // schema: the schema-registry stage (borrowed; must outlive the pipeline; its on_ready must
    // call esm_pipeline_schema_ready); NULL: records are delivered as they come.
    struct esm_sstage *schema;
    // on_result: LastProcessingResult changed ("OK", "PROBLEM: ..."); may be NULL.
    void (*on_result)(void *ctx, const char *result);
    // on_fatal: the transport reported INV_RESULT_FATAL; the pipeline has stopped submitting.
    void (*on_fatal)(void *ctx, const char *detail);
    void *cb_ctx;
    // wall_ms: epoch milliseconds (record age, failure-record timestamps); NULL: the system clock.
    int64_t (*wall_ms)(void *ctx);
    void *wall_ctx;
    // log_component: the component of the pipeline's log lines (copied; e.g. "pipeline
    // mapping=<UUID>" so a line names its mapping); NULL: "pipeline".
    const char *log_component;
};

// ESM_PIPELINE_PAUSE_BYTES: the most pause_bytes defaults to (queued, not yet sent event bytes).
#define ESM_PIPELINE_PAUSE_BYTES (64u * 1024 * 1024)

struct esm_pipeline_stats {
    uint64_t records_in;       // records added
    uint64_t records_ok;       // records acknowledged after a successful invocation
    uint64_t records_disposed; // records given up on (destination or dropped)
    uint64_t records_filtered; // records that matched no filter (not delivered)
    uint64_t records_rejected; // records the schema stage rejected (then disposed)
    uint64_t registry_errors;  // SchemaRegistryErrorCount
    size_t records_held;       // records waiting for a schema
    uint64_t invocations;      // submits
    uint64_t function_errors;  // FUNCTION_ERROR and PARTIAL results
    uint64_t retryable_errors; // RETRYABLE results
    uint64_t bisects;          // selections split (bisect or 413)
    uint64_t dest_written;     // failure records written
    uint64_t dest_errors;      // failure records that could not be written
    // AWS's event source mapping metrics (esm/metrics_aws.c names them):
    uint64_t records_invoked;             // InvokedEventCount: records sent, once per invocation
    uint64_t records_failed_invoke;       // FailedInvokeEventCount
    uint64_t records_dropped;             // DroppedEventCount: disposed without a destination
    uint64_t records_dest_delivered;      // OnFailureDestinationDeliveredEventCount
    uint64_t invoke_errors;               // InvokeErrorCount: invocations that failed
    uint64_t records_acked;               // offsets acknowledged for commit (CommittedEventCount)
    size_t queued;                        // records waiting in the batcher
    size_t inflight;                      // batches handed out and not finished
    uint64_t outcomes[ESM_OUTCOME_COUNT]; // results by outcome (esm/metrics.h)
    uint64_t retries;                     // sends repeated after a function or retryable error
    double transport_error_seconds;       // how long invocations have failed with transport
                                          // errors (RETRYABLE results only); 0: they do not
    struct esm_hist batch_records;        // records per invocation (esm_batch_records_bounds)
    struct esm_hist invoke_seconds;       // submit to result (esm_invoke_seconds_bounds)
};

struct esm_pipeline;

// esm_pipeline_cfg_defaults zeroes |cfg| and fills the defaults (batcher defaults, infinite
// retries and age, backoff 500 ms .. 30 s).
void esm_pipeline_cfg_defaults(struct esm_pipeline_cfg *cfg);

// esm_pipeline_new validates |cfg| and returns the pipeline in *out; 0, or -1 with one line in
// |err| (|err_cap| bytes).
int esm_pipeline_new(struct esm_pipeline **out, const struct esm_pipeline_cfg *cfg, char *err,
                     size_t err_cap);

// esm_pipeline_add queues records (views valid during the call; the batcher copies them) and
// starts what can start. Records of one partition must arrive in increasing offset order.
// Returns 0, or -1 (logged) if a record was refused (offset not increasing): the source should
// then be treated as broken.
int esm_pipeline_add(struct esm_pipeline *pl, const struct inv_record *recs, size_t n);

// esm_pipeline_add_gap queues the offset range [first_offset, last_offset] of one partition
// whose records could not be decoded (consumer/fetcher.h, struct cons_undecodable) in its place
// after the records already added. It is disposed of like an oversized record: a failure record
// with condition "MaximumPayloadSizeExceeded" (|too_large|: the batch decompressed beyond the
// limit) or "RecordBatchCorrupt", responseContext null and the range in recordsInfo, then
// acknowledged past last_offset. |timestamp| stands for the records' (-1 unknown). Returns 0, or
// -1 (logged) if the range does not lie after the partition's last offset.
int esm_pipeline_add_gap(struct esm_pipeline *pl, const char *topic, int32_t partition,
                         int64_t first_offset, int64_t last_offset, int64_t timestamp,
                         bool too_large);

// esm_pipeline_schema_ready: the schema stage has schemas for held records: decode and queue
// what it can (the stage's on_ready calls this). Not from inside esm_pipeline_add.
void esm_pipeline_schema_ready(struct esm_pipeline *pl);

// esm_pipeline_revoke: the partitions |tps| go away. Their queued records are dropped, batches
// waiting to be retried are abandoned (not acknowledged), and batches being delivered are waited
// for at most |timeout_ms| (a success is still acknowledged), then cancelled. |done(ctx)| runs
// once that is over (from a reactor callback, never inside this call).
void esm_pipeline_revoke(struct esm_pipeline *pl, const struct esm_tp *tps, size_t n,
                         uint32_t timeout_ms, void (*done)(void *ctx), void *ctx);

// esm_pipeline_drain: shutdown. Stops forming batches, drops queued records, pauses every known
// partition, abandons batches waiting to be retried and waits at most |timeout_ms| for those
// being delivered (their successes are acknowledged), then calls |done(ctx)| (from a reactor
// callback). Records accepted afterwards are ignored.
void esm_pipeline_drain(struct esm_pipeline *pl, uint32_t timeout_ms, void (*done)(void *ctx),
                        void *ctx);

void esm_pipeline_stats(const struct esm_pipeline *pl, struct esm_pipeline_stats *out);

// struct esm_pipeline_part_info: one partition as the pipeline sees it (the status page,
// /metrics). With ParallelizationFactor > 1, lanes is the factor and, per lane, lane_oldest is its
// lowest offset received and not yet finished (-1: none) and lane_pending how many of its records
// are received and not yet finished (queued, in flight or being disposed of); lanes is 0 otherwise.
struct esm_pipeline_part_info {
    uint32_t inflight;  // batches holding records of it not yet finished (sent or retrying)
    bool paused;        // paused by backpressure: its queue (or the pipeline's) is full
    int64_t last_ok_ms; // wall time (epoch ms) of the last success that moved it on; -1: none
    uint32_t lanes;
    int64_t lane_oldest[BATCH_MAX_LANES];
    uint64_t lane_pending[BATCH_MAX_LANES];
};

// esm_pipeline_part_info fills |out| for a partition; false (and an empty |out|) if the
// pipeline has not seen it.
bool esm_pipeline_part_info(const struct esm_pipeline *pl, const char *topic, int32_t partition,
                            struct esm_pipeline_part_info *out);

// esm_pipeline_last_result returns the current LastProcessingResult ("No records processed"
// until the first result).
const char *esm_pipeline_last_result(const struct esm_pipeline *pl);

// esm_pipeline_set_result sets LastProcessingResult from outside the pipeline (e.g. the consumer's
// "PROBLEM: Connection error. ..."), reporting it through on_result if it changed, so that the
// pipeline's next "OK" is reported again.
void esm_pipeline_set_result(struct esm_pipeline *pl, const char *result);

// esm_pipeline_free cancels everything outstanding (nothing more is acknowledged). NULL is a
// no-op. Not from inside a pipeline callback.
void esm_pipeline_free(struct esm_pipeline *pl);

#endif
