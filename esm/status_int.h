// status_int.h: internals shared by esm/status.c and esm/status_json.c (not a public API).
#ifndef ESM_STATUS_INT_H
#define ESM_STATUS_INT_H

#include "base/log.h"
#include "esm/status.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

// struct st_counters: a mapping's counters that say why a partition does not move.
struct st_counters {
    uint64_t fn_errors;   // function_error + partial invocations
    uint64_t unreachable; // retryable invocations (throttles, network, service errors)
    uint64_t dest_errors; // on-failure destination deliveries that failed
    uint64_t conn_errors; // broker connection problems
};

// struct trk_part: one assigned partition.
struct trk_part {
    char *topic;
    int32_t partition;
    int64_t processed;       // the processed offset last seen (-1 unknown)
    int64_t since;           // monotonic ms: last progress, or when lag last was zero
    struct st_counters base; // the mapping's counters at |since|
    bool stuck;
    const char *cause; // static; set while stuck
    bool seen;         // in the current snapshot
};

// struct st_sample: one interval.
struct st_sample {
    double rate; // records/s acknowledged after a successful invocation
    bool has_latency;
    double mean_ms, p95_ms;
};

// struct trk_map: one mapping.
struct trk_map {
    struct trk_map *next;
    char uuid[40];
    char log[KESM_LOG_COMPONENT_CAP]; // "esm mapping=<UUID>"
    struct trk_part *parts;
    size_t num_parts, cap_parts;
    struct st_sample ring[ESM_STATUS_SAMPLES];
    size_t ring_head, ring_n;
    int64_t sample_start;  // monotonic ms: start of the interval in progress
    uint64_t base_records; // records_ok at sample_start
    struct esm_hist base_hist;
    bool problem_set; // esm_manager_set_stuck holds a problem for it
    bool seen;
};

struct st_error {
    int64_t time_ms;
    char level[8];
    char mapping[40];
    char message[ESM_STATUS_ERROR_LEN + 1];
    uint32_t count;
};

struct esm_status {
    struct esm_manager *mgr;
    struct esm_status_config cfg;
    struct trk_map *maps;
    // recent errors: log lines may come from other threads than the reactor's (a log sink runs
    // where kesm_log is called), so the ring has a lock of its own
    pthread_mutex_t err_lock;
    struct st_error errors[ESM_STATUS_ERRORS];
    size_t err_head, num_errors;
};

int64_t st_mono(const struct esm_status *st);
int64_t st_wall(const struct esm_status *st);
struct trk_map *st_find_map(const struct esm_status *st, const char *uuid);
const struct trk_part *st_find_part(const struct trk_map *m, const char *topic, int32_t partition);
// st_sample_compute fills |out| for the interval from m->sample_start to |now| with the
// mapping's current records_ok and invoke histogram.
void st_sample_compute(struct st_sample *out, const struct trk_map *m, uint64_t records,
                       const struct esm_hist *hist, int64_t now);

#endif
