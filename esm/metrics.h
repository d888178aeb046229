// metrics.h: kesm serve's observability: the counters and fixed-bucket histograms collected where
// events happen (the pipeline, the instance), a snapshot per mapping, and the formatter of the
// Prometheus text exposition format 0.0.4 served at GET /metrics (esm/api.c).
//
// Hot path: esm_hist_observe is a short loop over a fixed bound array and three additions; the
// counters are plain integers in struct esm_pipeline_stats and struct esm_instance. Everything
// runs on the reactor thread, so nothing is atomic.
//
// Exposition (esm_metrics_format): one "# HELP" and "# TYPE" line per family, then its samples
//   kesm_<name>{uuid="...",function="...",topic="...",partition="N"} value
// Label values escape backslash, double quote and newline as \\, \" and \n. Histograms write
// cumulative _bucket{le="..."} samples ending with le="+Inf" (equal to _count), then _sum and
// _count. kesm_partition_stuck is 1 for a partition esm/status.c found stuck (set in the
// snapshot's parts), 0 for the others. Nothing secret is exposed: labels are the mapping UUID, the
// function ARN, topic names and partition numbers; never URIs, credentials or headers.
#ifndef ESM_METRICS_H
#define ESM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ESM_HIST_MAX_BOUNDS 16
#define ESM_METRICS_MAX_LANES 10 // ParallelizationFactor's maximum

// struct esm_hist: a histogram with per-bucket (not cumulative) counts; bucket i counts
// observations <= bounds[i] (and > bounds[i-1]); bucket num_bounds counts the rest (+Inf).
struct esm_hist {
    uint64_t buckets[ESM_HIST_MAX_BOUNDS + 1];
    uint64_t count;
    double sum;
};

// struct esm_hist_bounds: the upper bounds of a histogram's buckets, increasing, static.
struct esm_hist_bounds {
    const double *le;
    size_t n; // <= ESM_HIST_MAX_BOUNDS
};

// The two histograms kesm keeps: records per invocation, invoke latency in seconds.
extern const struct esm_hist_bounds esm_batch_records_bounds;
extern const struct esm_hist_bounds esm_invoke_seconds_bounds;

// esm_hist_observe adds |v| to |h|.
void esm_hist_observe(struct esm_hist *h, const struct esm_hist_bounds *b, double v);

// enum esm_outcome: how one invocation ended (kesm_invocations_total{outcome=...}).
enum esm_outcome {
    ESM_OUTCOME_OK,             // success (including a partial batch response naming nothing)
    ESM_OUTCOME_PARTIAL,        // batchItemFailures named records (they are retried)
    ESM_OUTCOME_FUNCTION_ERROR, // the function failed (retried, bisected or disposed of)
    ESM_OUTCOME_RETRYABLE,      // throttle, service or network error (retried)
    ESM_OUTCOME_TOO_LARGE,      // 413: the selection is split or disposed of
    ESM_OUTCOME_FATAL,          // the function cannot be invoked: the mapping stops
    ESM_OUTCOME_DROPPED,        // the answer came after the partitions were revoked or drained
    ESM_OUTCOME_COUNT,
};
const char *esm_outcome_name(enum esm_outcome o);

// Connection states counted per mapping (kesm_broker_connections{state=...}); the same order as
// enum broker_conn_state.
#define ESM_CONN_STATES 9
#define ESM_CONN_READY 5   // the index of READY
#define ESM_CONN_BACKOFF 6 // the index of BACKOFF (waiting to reconnect after a failure)

// struct esm_metrics_part: one assigned partition of a mapping.
struct esm_metrics_part {
    char *topic; // owned by the snapshot
    int32_t partition;
    int64_t lag;            // OffsetLag: high watermark - next unprocessed offset; -1 unknown
    int64_t fetch_lag;      // high watermark - next offset to fetch; -1 unknown
    int64_t committed;      // -1 none
    int64_t high_watermark; // -1 unknown
    uint64_t records_received;
    // For the status page and stuck detection (esm/status.h):
    int64_t processed;        // the next offset not yet processed (lag counts from it); -1
    int64_t last_delivery_ms; // epoch ms of the last successful invocation with its records; -1
    uint32_t inflight;        // batches holding its records (being sent or waiting to be retried)
    bool paused;              // fetching paused by backpressure (its queue is full)
    bool stuck;               // lag > 0 and no progress for too long (set by esm/status.c)
    // Rebalances: how often the partition was revoked and came back to this member in the next
    // assignment, and for how long in all (revocation to assignment).
    uint64_t rebalance_pauses;
    double rebalance_pause_s;
    // ParallelizationFactor > 1 (lanes; 0 otherwise): per lane, the high watermark minus its
    // lowest unfinished offset (the fetch lag when it has none; -1 unknown), and its records
    // received and not yet finished.
    uint32_t lanes;
    int64_t lane_lag[ESM_METRICS_MAX_LANES];
    uint64_t lane_pending[ESM_METRICS_MAX_LANES];
};

// struct esm_metrics_aws: the counters behind AWS's metric names (esm/metrics_aws.c), and the
// MetricsConfig groups (ESM_METRICS_* of esm/config.h) that turn them on.
struct esm_metrics_aws {
    unsigned groups;
    uint64_t polled, filtered, invoked, failed_invoke, dropped, dest_delivered, committed;
    uint64_t polling_errors, invoke_errors, dest_errors, commit_errors, schema_registry_errors;
};

// struct esm_metrics_mapping: a snapshot of one mapping. Strings are owned by the snapshot
// (esm_metrics_mapping_cleanup frees them).
struct esm_metrics_mapping {
    char *uuid;
    char *function;    // function ARN
    const char *state; // static name ("Enabled", ...)
    // For the status page (esm/status.h); NULL when unknown:
    char *topic;
    const char *reason; // StateTransitionReason (static name)
    char *last_result;  // LastProcessingResult as the API shows it
    bool running;       // an instance exists: the counters below are meaningful
    // counters (of the current instance; they restart from zero when the mapping restarts)
    uint64_t invocations[ESM_OUTCOME_COUNT];
    uint64_t retries;
    uint64_t records_ok, records_disposed, records_filtered;
    uint64_t records_rejected; // the schema registry stage could not decode them
    uint64_t registry_errors;  // SchemaRegistryErrorCount
    uint64_t rebalances;
    uint64_t undecodable_batches; // fetched record batches that could not be decoded
    uint64_t queued, inflight;
    uint64_t transport_error_seconds; // whole seconds; 0 while invocations reach the function
    struct esm_hist batch_records;
    struct esm_hist invoke_seconds;
    uint64_t connections[ESM_CONN_STATES];
    uint64_t dest_errors; // on-failure destination deliveries that failed (retried)
    uint64_t conn_errors; // broker connection problems the consumer reported (retried)
    struct esm_metrics_part *parts;
    size_t num_parts;
    struct esm_metrics_aws aws;
};

void esm_metrics_mapping_cleanup(struct esm_metrics_mapping *m);

// esm_metrics_format writes the exposition of |n| mappings. |states|/|num_states| are the state
// names every mapping gets a kesm_mapping_state sample for (1 for its own, 0 otherwise). Returns
// a NUL-terminated heap string (caller frees) and its length in *out_len (never NULL: the buffer
// aborts on out-of-memory, base/buf.h).
char *esm_metrics_format(const struct esm_metrics_mapping *maps, size_t n,
                         const char *const *states, size_t num_states, size_t *out_len);

// esm_metrics_aws_write appends AWS's event source mapping metrics (PolledEventCount, ...,
// CommitErrorCount, MaxOffsetLag, SumOffsetLag) of the running mappings whose MetricsConfig
// asks for their group, in the exposition format, labelled uuid and function.
struct buf;
void esm_metrics_aws_write(struct buf *b, const struct esm_metrics_mapping *maps, size_t n);

#endif
