// pipeline.c: the delivery pipeline (see pipeline.h for the rules).
//
// A batch handed out by the batcher becomes a job. A job delivers a selection of the batch's
// records (at first all of them); bisect and 413 push the second half of a selection on the job's
// stack, partial batch responses and record age shrink it. Each record carries a done flag;
// after every change the job acknowledges, per partition, the offset after the longest finished
// prefix. The job ends (batcher_complete) when nothing is left to deliver.
//
// This file holds the jobs, their sending and results, the batcher side and the public API;
// invocation results are pipeline_result.c's, giving records up pipeline_dispose.c's, revoke and
// drain pipeline_drain.c's, sub-payloads and failure records pipeline_fail.c's.
#include "esm/pipeline.h"

#include "base/alloc.h"
#include "base/log.h"
#include "esm/pipeline_int.h"
#include "invoke/transport_net.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_BACKOFF_INITIAL_MS 500u
#define DEFAULT_BACKOFF_MAX_MS 30000u

int64_t pl_wall_now(struct esm_pipeline *pl)
{
    if (pl->cfg.wall_ms) {
        return pl->cfg.wall_ms(pl->cfg.wall_ctx);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t pl_mono_now(struct esm_pipeline *pl)
{
    return (int64_t)net_reactor_now_ms(pl->cfg.reactor);
}

double pl_mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pl_set_result(struct esm_pipeline *pl, const char *fmt, ...)
{
    char buf[sizeof pl->result];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (strcmp(buf, pl->result) == 0) {
        return;
    }
    memcpy(pl->result, buf, sizeof buf);
    if (pl->cfg.on_result) {
        pl->cfg.on_result(pl->cfg.cb_ctx, pl->result);
    }
}

// ---- partitions ---------------------------------------------------------------------------

struct part *pl_part_find(struct esm_pipeline *pl, const char *topic, size_t topic_len,
                          int32_t partition, bool create)
{
    for (size_t i = 0; i < pl->num_parts; i++) {
        struct part *p = &pl->parts[i];
        if (p->partition == partition && p->topic_len == topic_len &&
            memcmp(p->topic, topic, topic_len) == 0) {
            return p;
        }
    }
    if (!create) {
        return NULL;
    }
    if (pl->num_parts == pl->cap_parts) {
        pl->cap_parts = pl->cap_parts ? pl->cap_parts * 2 : 16;
        pl->parts = xrealloc(pl->parts, pl->cap_parts * sizeof *pl->parts);
    }
    struct part *p = &pl->parts[pl->num_parts++];
    memset(p, 0, sizeof *p);
    p->topic = xstrndup(topic, topic_len);
    p->topic_len = topic_len;
    p->partition = partition;
    p->paused = false;
    p->kept_last = -1;
    p->done_next = -1;
    p->has_filt = false;
    p->acked_next = -1;
    p->held_head = p->held_tail = NULL;
    p->num_held = 0;
    p->last_ok_ms = -1;
    p->trk = pl->cfg.batch.lanes > 1 ? pl_track_new() : NULL;
    p->bt_hint = SIZE_MAX;
    return p;
}

static void ack_source(struct esm_pipeline *pl, const char *topic, int32_t partition, int64_t next)
{
    struct part *p = pl_part_find(pl, topic, strlen(topic), partition, false);
    if (p != NULL && p->acked_next >= 0 && next > p->acked_next) {
        pl->st.records_acked += (uint64_t)(next - p->acked_next);
    }
    if (p != NULL && next > p->acked_next) {
        p->acked_next = next;
    }
    if (pl->cfg.source.ack) {
        pl->cfg.source.ack(pl->cfg.source.ctx, topic, partition, next);
    }
}

// filtered_release acknowledges |p|'s pending filtered records if nothing before them is left.
void pl_filtered_release(struct esm_pipeline *pl, struct part *p)
{
    if (!p->has_filt || (p->filt_after >= 0 && p->done_next <= p->filt_after)) {
        return;
    }
    p->has_filt = false;
    if (p->filt_next > p->done_next) {
        p->done_next = p->filt_next;
        if (p->trk) {
            pl_track_acked(p->trk, p->filt_next);
        }
        ack_source(pl, p->topic, p->partition, p->filt_next);
    }
}

void pl_part_pause(struct esm_pipeline *pl, struct part *p)
{
    if (!p->paused && pl->cfg.source.pause) {
        pl->cfg.source.pause(pl->cfg.source.ctx, p->topic, p->partition);
    }
    p->paused = true;
}

bool pl_queue_full(const struct esm_pipeline *pl, size_t div)
{
    size_t total = pl->cfg.pause_total;
    if (!total) {
        // every lane of every partition may want its next batch ready
        size_t lanes = pl->cfg.batch.lanes > 1 ? pl->cfg.batch.lanes : 1;
        size_t n = pl->num_parts * lanes < 2 ? 2 : pl->num_parts * lanes;
        uint32_t cap = pl->cfg.batch.max_inflight;
        if (cap && n > cap) {
            n = cap < 2 ? 2 : cap;
        }
        total = 2 * (size_t)pl->cfg.batch.batch_size * n;
    }
    // Bytes: the queued records' events plus what the transport holds unwritten (stdout and exec
    // write as the reader drains: a slow reader must stop fetching, not grow a queue).
    size_t bytes = batcher_pending_bytes(pl->bt) + inv_transport_queued(pl->cfg.transport);
    return batcher_pending(pl->bt) >= total / div || bytes >= pl->cfg.pause_bytes / div;
}

static void resume_parts(struct esm_pipeline *pl)
{
    if (pl->draining || pl_queue_full(pl, 2)) {
        return;
    }
    for (size_t i = 0; i < pl->num_parts; i++) {
        struct part *p = &pl->parts[i];
        if (p->paused && p->num_held == 0 &&
            batcher_partition_queued(pl->bt, p->topic, p->topic_len, p->partition) <=
                pl->cfg.pause_records / 2) {
            p->paused = false;
            if (pl->cfg.source.resume) {
                pl->cfg.source.resume(pl->cfg.source.ctx, p->topic, p->partition);
            }
        }
    }
}

// ---- jobs: acknowledgement ----------------------------------------------------------------

void pl_mark_done(struct job *j, const size_t *idx, size_t n, bool ok)
{
    struct esm_pipeline *pl = j->pl;
    for (size_t i = 0; i < n; i++) {
        if (!j->done[idx[i]]) {
            j->done[idx[i]] = 1;
            if (j->trk) {
                pl_track_done(j->trk[pl_part_of(j->b, idx[i])], j->b->offsets[idx[i]]);
            }
            if (ok) {
                pl->st.records_ok++;
            } else {
                pl->st.records_disposed++;
            }
        }
    }
    for (size_t k = 0; k < j->b->num_parts; k++) {
        const struct batch_part *bp = &j->b->parts[k];
        size_t a = j->acked[k];
        while (a < bp->num_records && j->done[bp->first_index + a]) {
            a++;
        }
        int64_t next = a ? j->b->offsets[bp->first_index + a - 1] + 1 : -1;
        bool moved = a != j->acked[k];
        j->acked[k] = a;
        if (j->trk) {
            // Lanes: the other lanes' records of the partition may still be unfinished; only the
            // partition's lowest unfinished offset may be acknowledged.
            moved = pl_track_ack(j->trk[k], &next);
        }
        if (moved) {
            ack_source(pl, bp->topic, bp->partition, next);
            // A revoked job's partition may have been assigned again: its acknowledgements say
            // nothing about the records the pipeline holds now. (A drained one's do: the
            // filtered records behind it are acknowledged with it.)
            struct part *p = j->revoked
                                 ? NULL
                                 : pl_part_find(pl, bp->topic, bp->topic_len, bp->partition, false);
            if (p) {
                if (next > p->done_next) {
                    p->done_next = next;
                }
                if (ok) {
                    p->last_ok_ms = pl_wall_now(pl);
                }
                pl_filtered_release(pl, p);
            }
        }
    }
}

// ---- jobs: lifecycle ----------------------------------------------------------------------

static void job_free(struct job *j)
{
    net_timer_free(j->timer);
    for (size_t k = 0; k < j->num_trk; k++) {
        pl_track_unref(j->trk[k]);
    }
    free(j->trk);
    free(j->done);
    free(j->acked);
    free(j->cur.idx);
    free(j->disp.idx);
    for (size_t i = 0; i < j->num_stack; i++) {
        free(j->stack[i].idx);
    }
    free(j->stack);
    free(j->sub);
    free(j);
}

static void job_unlink(struct job *j)
{
    struct esm_pipeline *pl = j->pl;
    for (struct job **pp = &pl->jobs; *pp; pp = &(*pp)->next) {
        if (*pp == j) {
            *pp = j->next;
            return;
        }
    }
}

// pl_job_finish completes the batch and frees the job.
void pl_job_finish(struct job *j)
{
    struct esm_pipeline *pl = j->pl;
    struct inv_err err;
    if (j->sending) {
        inv_transport_cancel(pl->cfg.transport, j->req_id);
        j->sending = false;
    }
    if (j->disp_inflight) {
        if (pl->cfg.dest.cancel) {
            pl->cfg.dest.cancel(pl->cfg.dest.ctx, j->disp_id);
        }
        j->disp_inflight = false;
    }
    if (batcher_complete(pl->bt, j->b, pl_mono_now(pl), &err) != 0) {
        // Oversized under BATCH_OVERSIZE_BLOCK: the partition stays blocked.
        j->blocked = true;
        pl_set_result(pl, "PROBLEM: %s", err.msg);
        kesm_log(KESM_LOG_ERROR, pl->log, "%s", err.msg);
        return;
    }
    j->b = NULL;
    job_unlink(j);
    job_free(j);
    pl_check_wait(pl);
    pl_pump(pl);
}

static void on_job_timer(void *ctx);

static struct job *job_new(struct esm_pipeline *pl, struct batch *b)
{
    struct job *j = xcalloc(1, sizeof *j);
    j->pl = pl;
    j->b = b;
    j->done = xcalloc(b->num_records ? b->num_records : 1, 1);
    j->acked = xcalloc(b->num_parts ? b->num_parts : 1, sizeof *j->acked);
    if (pl->cfg.batch.lanes > 1) {
        j->trk = xcalloc(b->num_parts ? b->num_parts : 1, sizeof *j->trk);
        j->num_trk = b->num_parts;
        for (size_t k = 0; k < b->num_parts; k++) {
            const struct batch_part *bp = &b->parts[k];
            struct part *p = pl_part_find(pl, bp->topic, bp->topic_len, bp->partition, true);
            j->trk[k] = pl_track_ref(p->trk);
        }
    }
    j->cur.n = b->num_records;
    j->cur.idx = xcalloc(b->num_records ? b->num_records : 1, sizeof *j->cur.idx);
    for (size_t i = 0; i < b->num_records; i++) {
        j->cur.idx[i] = i;
    }
    j->timer = net_timer_new(pl->cfg.reactor, on_job_timer, j);
    j->next = pl->jobs;
    pl->jobs = j;
    return j;
}

static uint32_t backoff_delay(struct job *j)
{
    struct esm_pipeline *pl = j->pl;
    uint64_t d = pl->cfg.backoff_initial_ms;
    for (uint32_t i = 1; i < j->backoff_n && d < pl->cfg.backoff_max_ms; i++) {
        d *= 2;
    }
    if (d > pl->cfg.backoff_max_ms) {
        d = pl->cfg.backoff_max_ms;
    }
    pl->rng ^= pl->rng << 13;
    pl->rng ^= pl->rng >> 7;
    pl->rng ^= pl->rng << 17;
    uint64_t half = d / 2;
    return (uint32_t)(half + (half ? pl->rng % (half + 1) : 0));
}

void pl_job_backoff(struct job *j)
{
    j->backoff_n++;
    net_timer_arm(j->timer, backoff_delay(j));
}

void pl_job_next(struct job *j)
{
    free(j->sub);
    j->sub = NULL;
    free(j->cur.idx);
    j->cur.idx = NULL;
    j->cur.n = 0;
    j->retries = j->invokes = j->backoff_n = 0;
    if (j->num_stack == 0 || j->abandon) {
        pl_job_finish(j);
        return;
    }
    j->cur = j->stack[--j->num_stack];
    pl_job_send(j);
}

// pl_split_cur keeps the first half in cur and pushes the second half.
void pl_split_cur(struct job *j)
{
    size_t half = j->cur.n / 2;
    if (j->num_stack == j->cap_stack) {
        j->cap_stack = j->cap_stack ? j->cap_stack * 2 : 8;
        j->stack = xrealloc(j->stack, j->cap_stack * sizeof *j->stack);
    }
    struct sel second = {xcalloc(j->cur.n - half, sizeof(size_t)), j->cur.n - half};
    memcpy(second.idx, j->cur.idx + half, second.n * sizeof(size_t));
    j->stack[j->num_stack++] = second;
    j->cur.n = half;
    free(j->sub);
    j->sub = NULL;
    j->retries = j->invokes = j->backoff_n = 0;
    j->pl->st.bisects++;
}

void pl_job_send(struct job *j)
{
    struct esm_pipeline *pl = j->pl;
    if (j->abandon) {
        pl_job_finish(j);
        return;
    }
    if (pl->stopped || j->sending) {
        return;
    }
    if (pl_drop_expired(j)) {
        return;
    }
    if (j->cur.n == 0) {
        pl_job_next(j);
        return;
    }
    const char *payload = j->b->payload;
    size_t len = j->b->payload_len;
    if (j->cur.n != j->b->num_records) {
        if (!j->sub) {
            j->sub = pl_subpayload(j->b, &pl->cfg.batch.event, j->cur.idx, j->cur.n, &j->sub_len);
        }
        payload = j->sub;
        len = j->sub_len;
    }
    struct inv_err err;
    if (inv_transport_submit(pl->cfg.transport, payload, len, pl_on_result, j, &j->req_id, &err) !=
        0) {
        pl_set_result(pl, "PROBLEM: Function call failed: %s", err.msg);
        kesm_log(KESM_LOG_WARN, pl->log, "submit: %s", err.msg);
        pl_job_backoff(j);
        return;
    }
    j->sending = true;
    j->invokes++;
    pl->st.invocations++;
    pl->st.records_invoked += j->cur.n;
    j->sent_s = pl_mono_seconds();
    esm_hist_observe(&pl->st.batch_records, &esm_batch_records_bounds, (double)j->cur.n);
    inv_driver_kick(pl->driver);
}

static void on_job_timer(void *ctx)
{
    struct job *j = ctx;
    if (j->abandon) {
        pl_job_finish(j);
    } else if (j->disp.n > 0) {
        pl_dispose_run(j);
    } else {
        pl_job_send(j);
    }
}

// ---- the batcher side ---------------------------------------------------------------------

static void on_batch_timer(void *ctx)
{
    pl_pump(ctx);
}

static void job_start(struct esm_pipeline *pl, struct batch *b)
{
    struct job *j = job_new(pl, b);
    if (b->oversized) {
        pl_dispose_cur(
            j, b->gap == BATCH_GAP_CORRUPT ? "RecordBatchCorrupt" : "MaximumPayloadSizeExceeded",
            false, 0);
        return;
    }
    if (b->reject) { // the schema registry could not decode it (esm/schema_stage.h)
        pl_dispose_cur(j, b->reject, false, 0);
        return;
    }
    pl_job_send(j);
}

void pl_pump(struct esm_pipeline *pl)
{
    if (pl->in_pump) {
        pl->pump_again = true;
        return;
    }
    pl->in_pump = true;
    do {
        pl->pump_again = false;
        if (pl->stopped || pl->draining) {
            break;
        }
        struct batch *b;
        while ((b = batcher_next(pl->bt, pl_mono_now(pl))) != NULL) {
            job_start(pl, b);
        }
    } while (pl->pump_again);
    pl->in_pump = false;
    resume_parts(pl);
    int64_t d = batcher_next_deadline(pl->bt);
    if (pl->stopped || pl->draining || d == INT64_MAX) {
        net_timer_cancel(pl->batch_timer);
        return;
    }
    int64_t now = pl_mono_now(pl);
    net_timer_arm(pl->batch_timer, d <= now ? 0 : (uint64_t)(d - now));
}

void esm_pipeline_stats(const struct esm_pipeline *pl, struct esm_pipeline_stats *out)
{
    *out = pl->st;
    out->queued = batcher_pending(pl->bt);
    out->inflight = batcher_inflight(pl->bt);
    out->records_held = 0;
    for (size_t i = 0; i < pl->num_parts; i++) {
        out->records_held += pl->parts[i].num_held;
    }
    if (pl->cfg.schema) {
        struct esm_sstage_stats ss;
        esm_sstage_stats(pl->cfg.schema, &ss);
        out->registry_errors = ss.registry_errors;
    }
    double now = pl_mono_seconds();
    out->transport_error_seconds =
        pl->transport_since > 0 && now > pl->transport_since ? now - pl->transport_since : 0;
}

bool esm_pipeline_part_info(const struct esm_pipeline *pl, const char *topic, int32_t partition,
                            struct esm_pipeline_part_info *out)
{
    memset(out, 0, sizeof *out);
    out->last_ok_ms = -1;
    size_t tl = strlen(topic);
    const struct part *p = NULL;
    for (size_t i = 0; i < pl->num_parts && !p; i++) {
        const struct part *q = &pl->parts[i];
        if (q->partition == partition && q->topic_len == tl && !memcmp(q->topic, topic, tl)) {
            p = q;
        }
    }
    if (!p) {
        return false;
    }
    out->paused = p->paused;
    out->last_ok_ms = p->last_ok_ms;
    if (p->trk) {
        out->lanes = pl->cfg.batch.lanes;
        pl_track_lanes(p->trk, out->lanes, out->lane_oldest, out->lane_pending);
    }
    for (const struct job *j = pl->jobs; j; j = j->next) {
        for (size_t k = 0; !j->revoked && k < j->b->num_parts; k++) {
            const struct batch_part *bp = &j->b->parts[k];
            if (bp->partition == partition && bp->topic_len == tl &&
                !memcmp(bp->topic, topic, tl) && j->acked[k] < bp->num_records) {
                out->inflight++;
                break;
            }
        }
    }
    return true;
}

const char *esm_pipeline_last_result(const struct esm_pipeline *pl)
{
    return pl->result;
}

void esm_pipeline_set_result(struct esm_pipeline *pl, const char *result)
{
    pl_set_result(pl, "%s", result);
}

void esm_pipeline_free(struct esm_pipeline *pl)
{
    if (!pl) {
        return;
    }
    while (pl->jobs) {
        struct job *j = pl->jobs;
        pl->jobs = j->next;
        if (j->sending) {
            inv_transport_cancel(pl->cfg.transport, j->req_id);
        }
        if (j->disp_inflight && pl->cfg.dest.cancel) {
            pl->cfg.dest.cancel(pl->cfg.dest.ctx, j->disp_id);
        }
        batch_free(j->b);
        job_free(j);
    }
    batcher_free(pl->bt);
    inv_driver_free(pl->driver);
    net_timer_free(pl->batch_timer);
    net_timer_free(pl->wait_timer);
    net_timer_free(pl->wait_zero);
    for (size_t i = 0; i < pl->num_parts; i++) {
        pl_held_drop(&pl->parts[i]);
        pl_track_unref(pl->parts[i].trk);
        free(pl->parts[i].topic);
    }
    free(pl->parts);
    free(pl);
}

// ---- public -------------------------------------------------------------------------------

void esm_pipeline_cfg_defaults(struct esm_pipeline_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    batcher_cfg_defaults(&cfg->batch);
    cfg->max_retry_attempts = -1;
    cfg->max_record_age_s = -1;
    cfg->backoff_initial_ms = DEFAULT_BACKOFF_INITIAL_MS;
    cfg->backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
}

int esm_pipeline_new(struct esm_pipeline **out, const struct esm_pipeline_cfg *cfg, char *err,
                     size_t err_cap)
{
    *out = NULL;
    if (!cfg->reactor || !cfg->transport) {
        snprintf(err, err_cap, "pipeline: a reactor and a transport are required");
        return -1;
    }
    struct esm_pipeline *pl = xcalloc(1, sizeof *pl);
    pl->cfg = *cfg;
    snprintf(pl->log, sizeof pl->log, "%s", cfg->log_component ? cfg->log_component : "pipeline");
    pl->cfg.log_component = pl->log;
    if (!pl->cfg.backoff_initial_ms) {
        pl->cfg.backoff_initial_ms = DEFAULT_BACKOFF_INITIAL_MS;
    }
    if (pl->cfg.backoff_max_ms < pl->cfg.backoff_initial_ms) {
        pl->cfg.backoff_max_ms = pl->cfg.backoff_initial_ms;
    }
    uint32_t bs = pl->cfg.batch.batch_size ? pl->cfg.batch.batch_size : BATCH_SIZE_DEFAULT;
    if (!pl->cfg.pause_records) {
        pl->cfg.pause_records =
            2 * (size_t)bs * (pl->cfg.batch.lanes > 1 ? pl->cfg.batch.lanes : 1);
    }
    if (!pl->cfg.pause_bytes) {
        // Four full payloads, whatever the number of partitions: enough for a byte cut (more
        // than max_payload queued) while others are delivered. Measured on the 48-partition
        // benchmark: 2 x paused and resumed so often that fetching lagged (slower, and more
        // memory in bursts); 4 x was as fast as 64 MiB with less memory.
        size_t mp = pl->cfg.batch.max_payload ? pl->cfg.batch.max_payload : BATCH_MAX_PAYLOAD;
        pl->cfg.pause_bytes = 4 * mp < ESM_PIPELINE_PAUSE_BYTES ? 4 * mp : ESM_PIPELINE_PAUSE_BYTES;
    }
    struct inv_err ie;
    if (batcher_new(&pl->bt, &pl->cfg.batch, &ie) != 0) {
        snprintf(err, err_cap, "pipeline: %s", ie.msg);
        free(pl);
        return -1;
    }
    pl->driver = inv_driver_new(cfg->reactor, cfg->transport);
    pl->batch_timer = net_timer_new(cfg->reactor, on_batch_timer, pl);
    pl->wait_timer = net_timer_new(cfg->reactor, pl_on_wait_timeout, pl);
    pl->wait_zero = net_timer_new(cfg->reactor, pl_on_wait_zero, pl);
    pl->rng = 0x9e3779b97f4a7c15u ^ (uint64_t)pl_wall_now(pl);
    snprintf(pl->result, sizeof pl->result, "No records processed");
    *out = pl;
    return 0;
}
