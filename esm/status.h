// status.h: what `kesm serve` knows about its mappings, for people: the tracker behind the status
// page, GET /status.json and `kesm status` (esm/status_http.c serves it, esm/status_view.c prints
// it), and stuck detection.
//
// esm_status_tick (once a second, from a reactor timer) takes a snapshot of every mapping
// (esm_manager_metrics) and
//   - samples throughput (records acknowledged after a successful invocation, per second) and
//     invoke latency (mean and 95th percentile, from the kesm_invoke_duration_seconds histogram)
//     per ESM_STATUS_SAMPLE_MS interval into a ring of ESM_STATUS_SAMPLES per mapping (15 minutes);
//   - detects stuck partitions: a partition is stuck when its lag is above zero and its processed
//     offset (the next offset not yet processed: acknowledged after its invocation, or committed;
//     the position kesm_offset_lag counts from) has not moved for stuck_after_s seconds. The
//     cause is what changed meanwhile, in this order: the on-failure destination failed
//     ("destination down"), the function failed ("function failing"), the function could not be
//     reached ("function unreachable"), the consumer reported broker connection problems or
//     has a connection waiting to reconnect, or none ready ("broker unreachable"), the partition is
//     paused because its queue is full ("paused by backpressure"), a batch of it is still being
//     delivered ("waiting for the function"), else "no progress". A mapping with a stuck partition
//     gets the LastProcessingResult "PROBLEM: Stuck partition <topic>-<p> at offset <o>: no
//     progress for <n> s or more with records waiting (<cause>)" (esm_manager_set_stuck; the API
//     shows it too), the partition's kesm_partition_stuck is 1, and a WARN line is logged; once it
//     moves again the problem is cleared (an INFO line), and the pipeline's own result shows again.
//
// Recent errors: esm_status_note_log_line keeps the last ESM_STATUS_ERRORS WARN and ERROR log
// lines (a repeated message counts up instead of taking a new entry). Log lines never hold
// secrets; each kept message is also cut to ESM_STATUS_ERROR_LEN bytes, its control characters
// become spaces and invalid UTF-8 bytes '?'.
//
// Memory is bounded: per mapping a fixed ring and one small record per assigned partition;
// trackers of mappings and partitions that disappear are dropped at the next tick.
//
// The JSON (esm_status_json; field names in the style of the Lambda API):
//   {"Kesm": {"Version", "Time" (ISO-8601 UTC), "StuckAfterSeconds", "SampleSeconds",
//             "WindowSeconds"},
//    "Summary": {"Mappings", "Running", "Stuck" (mappings with a stuck partition),
//                "Problems" (LastProcessingResult starting with PROBLEM), "Stopped" (Disabled
//                by a problem: StateTransitionReason other than USER_INITIATED)},
//    "EventSourceMappings": [{"UUID", "FunctionArn", "Topic", "State", "StateTransitionReason",
//        "LastProcessingResult", "Running", "Stuck", "OffsetLag" (sum; null unknown),
//        "BatchesInFlight", "RecordsQueued", "BrokersReady",
//        "Partitions": [{"Topic", "Partition", "CommittedOffset", "ProcessedOffset",
//            "HighWatermark", "OffsetLag" (null while unknown), "BatchesInFlight", "Paused",
//            "LastDeliveryTime" (null: none yet), "Stuck", "StuckSeconds" (null unless stuck),
//            "StuckCause" (null unless stuck)}],
//        "Throughput": {"Unit": "records/s", "Values": [...]},
//        "InvokeLatency": {"Unit": "ms", "Mean": [...], "P95": [...]}}],
//    "RecentErrors": [{"Time", "Level", "Mapping" (UUID or null), "Message", "Count"}]}
// Sample arrays run oldest to newest, one value per interval (null: no invocation in it), the
// last one being the interval in progress; they hold at most ESM_STATUS_SAMPLES + 1 values.
// Nothing secret is included: no request members other than the function ARN and topic, no
// URIs, URLs, commands or credentials.
#ifndef ESM_STATUS_H
#define ESM_STATUS_H

#include "esm/mapping.h"
#include "esm/metrics.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ESM_STATUS_SAMPLES 90
#define ESM_STATUS_SAMPLE_MS 10000
#define ESM_STATUS_ERRORS 50
#define ESM_STATUS_ERROR_LEN 300
#define ESM_STATUS_STUCK_DEFAULT_S 300
#define ESM_STATUS_STUCK_MAX_S 86400

struct esm_status;

// struct esm_status_config: zero fields take the defaults in brackets.
struct esm_status_config {
    uint32_t stuck_after_s;        // [300] 1..ESM_STATUS_STUCK_MAX_S
    const char *version;           // kesm's version for the JSON ["0.0.0"]; borrowed
    int64_t (*mono_ms)(void *ctx); // a monotonic clock in ms [CLOCK_MONOTONIC]
    int64_t (*wall_ms)(void *ctx); // epoch ms [CLOCK_REALTIME]
    void *clock_ctx;
};

// esm_status_new makes the tracker of |mgr| (borrowed; must outlive it) and installs its
// metrics hook on |mgr| (kesm_partition_stuck). Returns NULL on out-of-memory.
struct esm_status *esm_status_new(struct esm_manager *mgr, const struct esm_status_config *cfg);
// esm_status_free removes the hook and clears the stuck problems it set. NULL is a no-op.
void esm_status_free(struct esm_status *st);

// esm_status_tick updates the samples and the stuck state (see the file comment).
void esm_status_tick(struct esm_status *st);

// esm_status_json returns the JSON document above (NUL-terminated, caller frees) and its length
// in *out_len, from a fresh snapshot; NULL on out-of-memory.
char *esm_status_json(struct esm_status *st, size_t *out_len);

// esm_status_note_log_line keeps a formatted log line ("<time> <LEVEL> <component> <message>",
// net/log.h) among the recent errors when its level is WARN or ERROR. It may be called from any
// thread (the recent errors have a lock); everything else runs on the reactor thread.
void esm_status_note_log_line(struct esm_status *st, const char *line);

// esm_status_stuck_after returns the stuck time in seconds.
uint32_t esm_status_stuck_after(const struct esm_status *st);

// esm_status_sanitize copies |src| into |out| (|cap| >= 4 bytes, always NUL-terminated): control
// characters become spaces, bytes that are not valid UTF-8 become '?', and the text is cut at
// |cap| - 1 bytes on a character boundary. Returns |out|.
char *esm_status_sanitize(char *out, size_t cap, const char *src);

#endif
