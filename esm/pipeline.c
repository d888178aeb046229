// pipeline.c: the delivery pipeline (see pipeline.h for the rules).
//
// A batch handed out by the batcher becomes a job. A job delivers a selection of the batch's
// records (at first all of them); bisect and 413 push the second half of a selection on the job's
// stack, partial batch responses and record age shrink it. Each record carries a done flag;
// after every change the job acknowledges, per partition, the offset after the longest finished
// prefix. The job ends (batcher_complete) when nothing is left to deliver.
#include "esm/pipeline.h"

#include "esm/pipeline_int.h"
#include "invoke/transport_net.h"
#include "net/log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_BACKOFF_INITIAL_MS 500u
#define DEFAULT_BACKOFF_MAX_MS 30000u
#define RETRY_CAP_WITH_DESTINATION 10

struct sel {
    size_t *idx;
    size_t n;
};

struct job {
    struct esm_pipeline *pl;
    struct job *next;
    struct batch *b;
    unsigned char *done; // per record
    size_t *acked;       // per part: records acknowledged from the part's start
    struct sel cur;      // the selection being delivered
    struct sel *stack;   // selections waiting (top = last)
    size_t num_stack, cap_stack;
    uint32_t retries;   // function-error retries of cur
    uint32_t invokes;   // invocations of cur (approximateInvokeCount)
    uint32_t backoff_n; // consecutive failures, for the delay
    bool sending;
    double sent_s; // monotonic seconds at submit (invoke latency)
    uint64_t req_id;
    char *sub; // sub-payload for cur (NULL: cur is the whole batch)
    size_t sub_len;
    struct pl_spans spans;
    bool have_spans;
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
    int64_t last_ok_ms; // wall time of the last success that moved it on (-1: none)
    int64_t acked_next; // the last acknowledgement (-1: none yet), for records_acked
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

// TRANSPORT_WARN_EVERY_S: while transport errors go on, a WARN line at most this often.
#define TRANSPORT_WARN_EVERY_S 60.0

static void pump(struct esm_pipeline *pl);
static void held_drop(struct part *p);
static void job_send(struct job *j);
static void job_next(struct job *j);
static void check_wait(struct esm_pipeline *pl);
static void on_wait_timeout(void *ctx);
static void on_wait_zero(void *ctx);

static int64_t wall_now(struct esm_pipeline *pl)
{
    if (pl->cfg.wall_ms) {
        return pl->cfg.wall_ms(pl->cfg.wall_ctx);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_now(struct esm_pipeline *pl)
{
    return (int64_t)net_reactor_now_ms(pl->cfg.reactor);
}

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_result(struct esm_pipeline *pl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_result(struct esm_pipeline *pl, const char *fmt, ...)
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

static struct part *part_find(struct esm_pipeline *pl, const char *topic, size_t topic_len,
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
        pl->parts = inv_xrealloc(pl->parts, pl->cap_parts * sizeof *pl->parts);
    }
    struct part *p = &pl->parts[pl->num_parts++];
    memset(p, 0, sizeof *p);
    p->topic = inv_xstrndup(topic, topic_len);
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
    return p;
}

static void ack_source(struct esm_pipeline *pl, const char *topic, int32_t partition, int64_t next)
{
    struct part *p = part_find(pl, topic, strlen(topic), partition, false);
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
static void filtered_release(struct esm_pipeline *pl, struct part *p)
{
    if (!p->has_filt || (p->filt_after >= 0 && p->done_next <= p->filt_after)) {
        return;
    }
    p->has_filt = false;
    if (p->filt_next > p->done_next) {
        p->done_next = p->filt_next;
        ack_source(pl, p->topic, p->partition, p->filt_next);
    }
}

static void part_pause(struct esm_pipeline *pl, struct part *p)
{
    if (!p->paused && pl->cfg.source.pause) {
        pl->cfg.source.pause(pl->cfg.source.ctx, p->topic, p->partition);
    }
    p->paused = true;
}

static void resume_parts(struct esm_pipeline *pl)
{
    if (pl->draining || batcher_pending(pl->bt) > pl->cfg.pause_total / 2) {
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

static void mark_done(struct job *j, const size_t *idx, size_t n, bool ok)
{
    struct esm_pipeline *pl = j->pl;
    for (size_t i = 0; i < n; i++) {
        if (!j->done[idx[i]]) {
            j->done[idx[i]] = 1;
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
        if (a != j->acked[k]) {
            j->acked[k] = a;
            int64_t next = j->b->offsets[bp->first_index + a - 1] + 1;
            ack_source(pl, bp->topic, bp->partition, next);
            // A revoked job's partition may have been assigned again: its acknowledgements say
            // nothing about the records the pipeline holds now. (A drained one's do: the
            // filtered records behind it are acknowledged with it.)
            struct part *p =
                j->revoked ? NULL : part_find(pl, bp->topic, bp->topic_len, bp->partition, false);
            if (p) {
                if (next > p->done_next) {
                    p->done_next = next;
                }
                if (ok) {
                    p->last_ok_ms = wall_now(pl);
                }
                filtered_release(pl, p);
            }
        }
    }
}

// ---- jobs: lifecycle ----------------------------------------------------------------------

static void job_free(struct job *j)
{
    net_timer_free(j->timer);
    free(j->done);
    free(j->acked);
    free(j->cur.idx);
    free(j->disp.idx);
    for (size_t i = 0; i < j->num_stack; i++) {
        free(j->stack[i].idx);
    }
    free(j->stack);
    free(j->sub);
    pl_spans_free(&j->spans);
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

// job_finish completes the batch and frees the job.
static void job_finish(struct job *j)
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
    if (batcher_complete(pl->bt, j->b, mono_now(pl), &err) != 0) {
        // Oversized under BATCH_OVERSIZE_BLOCK: the partition stays blocked.
        j->blocked = true;
        set_result(pl, "PROBLEM: %s", err.msg);
        kesm_log(KESM_LOG_ERROR, pl->log, "%s", err.msg);
        return;
    }
    j->b = NULL;
    job_unlink(j);
    job_free(j);
    check_wait(pl);
    pump(pl);
}

static void on_job_timer(void *ctx);

static struct job *job_new(struct esm_pipeline *pl, struct batch *b)
{
    struct job *j = inv_xcalloc(1, sizeof *j);
    j->pl = pl;
    j->b = b;
    j->done = inv_xcalloc(b->num_records ? b->num_records : 1, 1);
    j->acked = inv_xcalloc(b->num_parts ? b->num_parts : 1, sizeof *j->acked);
    j->cur.n = b->num_records;
    j->cur.idx = inv_xcalloc(b->num_records ? b->num_records : 1, sizeof *j->cur.idx);
    for (size_t i = 0; i < b->num_records; i++) {
        j->cur.idx[i] = i;
    }
    j->timer = net_timer_new(pl->cfg.reactor, on_job_timer, j);
    j->next = pl->jobs;
    pl->jobs = j;
    return j;
}

static bool ensure_spans(struct job *j)
{
    if (j->have_spans) {
        return true;
    }
    char err[200];
    if (pl_spans_parse(&j->spans, j->b, &j->pl->cfg.batch.event, err, sizeof err) != 0) {
        kesm_log(KESM_LOG_ERROR, j->pl->log, "batch %" PRIu64 ": %s", j->b->id, err);
        return false;
    }
    j->have_spans = true;
    return true;
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

static void job_backoff(struct job *j)
{
    j->backoff_n++;
    net_timer_arm(j->timer, backoff_delay(j));
}

static void dispose_done(struct job *j);
static void dispose_run(struct job *j);

static void dispose_failed(struct job *j, const char *msg)
{
    struct esm_pipeline *pl = j->pl;
    pl->st.dest_errors++;
    set_result(pl, "PROBLEM: %.200s", msg);
    kesm_log(KESM_LOG_ERROR, pl->log, "%s (retrying)", msg);
    job_backoff(j);
}

static void log_disposed(struct job *j, const char *what)
{
    const struct batch *b = j->b;
    kesm_log(KESM_LOG_WARN, j->pl->log, "%s: %zu record(s) from %s offset %" PRId64 " %s",
             j->disp_cond, j->disp.n, b->parts[pl_part_of(b, j->disp.idx[0])].key,
             b->offsets[j->disp.idx[0]], what);
}

static void on_dest_done(void *arg, bool ok, const char *msg)
{
    struct job *j = arg;
    j->disp_inflight = false;
    if (j->abandon) {
        job_finish(j);
        return;
    }
    if (!ok) {
        dispose_failed(j, msg ? msg : "on-failure destination: delivery failed");
        return;
    }
    j->pl->st.dest_written++;
    j->pl->st.records_dest_delivered += j->disp.n;
    log_disposed(j, "sent to the on-failure destination");
    dispose_done(j);
}

static struct pl_failure failure_of(struct job *j)
{
    struct esm_pipeline *pl = j->pl;
    struct pl_failure f = {.condition = j->disp_cond,
                           .function_arn = pl->cfg.function_arn,
                           .event = &pl->cfg.batch.event,
                           .invoke_count = j->invokes,
                           .invoked = j->disp_invoked,
                           .status_code = j->disp_status,
                           .now_ms = wall_now(pl)};
    return f;
}

// dispose_batch hands the failure record(s) of the selection to a per-batch destination (SQS,
// SNS, S3).
static void dispose_batch(struct job *j)
{
    struct esm_pipeline *pl = j->pl;
    const struct batch *b = j->b;
    bool spans = !b->oversized && ensure_spans(j);
    struct pl_failure f = failure_of(j);
    struct esm_dest_msg *msgs = NULL;
    size_t n = pl_failure_batch_msgs(&f, b, spans ? &j->spans : NULL, j->disp.idx, j->disp.n,
                                     pl->cfg.dest_with_payload, pl->cfg.dest_max_message, &msgs);
    j->disp_id = pl->cfg.dest.send(pl->cfg.dest.ctx, msgs, n, on_dest_done, j);
    pl_dest_msgs_free(msgs, n);
    if (j->disp_id == 0) {
        dispose_failed(j, "on-failure destination: cannot start a delivery");
        return;
    }
    j->disp_inflight = true;
}

// dispose_async hands one message per record to the asynchronous destination (kafka://).
static void dispose_async(struct job *j)
{
    struct esm_pipeline *pl = j->pl;
    const struct batch *b = j->b;
    if (pl->cfg.dest_per_batch) {
        dispose_batch(j);
        return;
    }
    bool spans = !b->oversized && ensure_spans(j);
    struct pl_failure f = failure_of(j);
    struct esm_dest_msg *msgs = inv_xcalloc(j->disp.n, sizeof *msgs);
    uint8_t **keys = inv_xcalloc(j->disp.n, sizeof *keys);
    for (size_t i = 0; i < j->disp.n; i++) {
        size_t key_len = 0;
        bool key_null = true;
        keys[i] = spans ? pl_record_key(b, &j->spans, j->disp.idx[i], &key_len, &key_null) : NULL;
        msgs[i].key = key_null ? inv_bytes_null() : inv_bytes_of(keys[i], key_len);
        msgs[i].value = pl_failure_record_value(&f, b, spans ? &j->spans : NULL, j->disp.idx[i],
                                                &msgs[i].value_len);
    }
    j->disp_id = pl->cfg.dest.send(pl->cfg.dest.ctx, msgs, j->disp.n, on_dest_done, j);
    for (size_t i = 0; i < j->disp.n; i++) {
        free(keys[i]);
        free(msgs[i].value);
    }
    free(keys);
    free(msgs);
    if (j->disp_id == 0) {
        dispose_failed(j, "on-failure destination: cannot start a delivery");
        return;
    }
    j->disp_inflight = true;
}

// dispose_run delivers the pending disposal (j->disp): a failure record to the destination (or a
// log line), after which the records count as done.
static void dispose_run(struct job *j)
{
    struct esm_pipeline *pl = j->pl;
    const struct batch *b = j->b;
    if (pl->cfg.dest.send) {
        dispose_async(j);
        return;
    }
    if (!pl->cfg.dest_dir) {
        pl->st.records_dropped += j->disp.n;
        log_disposed(j, "dropped (no on-failure destination)");
        dispose_done(j);
        return;
    }
    bool spans = !b->oversized && ensure_spans(j);
    struct pl_failure f = failure_of(j);
    char *payload = NULL;
    if (spans) {
        payload = pl_subpayload(b, &j->spans, &pl->cfg.batch.event, j->disp.idx, j->disp.n,
                                &f.payload_len);
        f.payload = payload;
    }
    char err[300];
    int rc = pl_failure_write(pl->cfg.dest_dir, &f, b, spans ? &j->spans : NULL, j->disp.idx,
                              j->disp.n, &pl->seq, err, sizeof err);
    free(payload);
    if (rc != 0) {
        dispose_failed(j, err);
        return;
    }
    pl->st.dest_written++;
    pl->st.records_dest_delivered += j->disp.n;
    log_disposed(j, "sent to the on-failure destination");
    dispose_done(j);
}

// dispose_start gives up on records |idx| of |j| (copied): see dispose_run. What is left of cur
// afterwards goes on (dispose_done).
static void dispose_start(struct job *j, const size_t *idx, size_t n, const char *cond,
                          bool invoked, int status)
{
    free(j->disp.idx);
    j->disp.idx = inv_xcalloc(n ? n : 1, sizeof(size_t));
    memcpy(j->disp.idx, idx, n * sizeof(size_t));
    j->disp.n = n;
    j->disp_cond = cond;
    j->disp_invoked = invoked;
    j->disp_status = status;
    j->backoff_n = 0;
    dispose_run(j);
}

// dispose_done marks the disposed records done and continues with what is left of cur.
static void dispose_done(struct job *j)
{
    mark_done(j, j->disp.idx, j->disp.n, false);
    free(j->disp.idx);
    j->disp.idx = NULL;
    j->disp.n = 0;
    size_t keep = 0;
    for (size_t i = 0; i < j->cur.n; i++) {
        if (!j->done[j->cur.idx[i]]) {
            j->cur.idx[keep++] = j->cur.idx[i];
        }
    }
    if (keep != j->cur.n) {
        j->cur.n = keep;
        free(j->sub);
        j->sub = NULL;
    }
    if (j->cur.n == 0) {
        job_next(j);
    } else {
        job_send(j);
    }
}

// dispose_cur disposes of the current selection and moves on.
static void dispose_cur(struct job *j, const char *cond, bool invoked, int status)
{
    dispose_start(j, j->cur.idx, j->cur.n, cond, invoked, status);
}

// job_next moves to the next waiting selection, or finishes the job.
static void job_next(struct job *j)
{
    free(j->sub);
    j->sub = NULL;
    free(j->cur.idx);
    j->cur.idx = NULL;
    j->cur.n = 0;
    j->retries = j->invokes = j->backoff_n = 0;
    if (j->num_stack == 0 || j->abandon) {
        job_finish(j);
        return;
    }
    j->cur = j->stack[--j->num_stack];
    job_send(j);
}

// split_cur keeps the first half in cur and pushes the second half.
static void split_cur(struct job *j)
{
    size_t half = j->cur.n / 2;
    if (j->num_stack == j->cap_stack) {
        j->cap_stack = j->cap_stack ? j->cap_stack * 2 : 8;
        j->stack = inv_xrealloc(j->stack, j->cap_stack * sizeof *j->stack);
    }
    struct sel second = {inv_xcalloc(j->cur.n - half, sizeof(size_t)), j->cur.n - half};
    memcpy(second.idx, j->cur.idx + half, second.n * sizeof(size_t));
    j->stack[j->num_stack++] = second;
    j->cur.n = half;
    free(j->sub);
    j->sub = NULL;
    j->retries = j->invokes = j->backoff_n = 0;
    j->pl->st.bisects++;
}

// drop_expired starts disposing of the records of cur older than MaximumRecordAgeInSeconds and
// returns true (the disposal continues the job), or returns false when there are none.
static bool drop_expired(struct job *j)
{
    struct esm_pipeline *pl = j->pl;
    if (pl->cfg.max_record_age_s < 0 || j->b->oversized || !ensure_spans(j)) {
        return false;
    }
    int64_t cutoff = wall_now(pl) - (int64_t)pl->cfg.max_record_age_s * 1000;
    size_t *old = inv_xcalloc(j->cur.n ? j->cur.n : 1, sizeof *old), num_old = 0;
    for (size_t i = 0; i < j->cur.n; i++) {
        if (!j->done[j->cur.idx[i]] && j->spans.ts[j->cur.idx[i]] < cutoff) {
            old[num_old++] = j->cur.idx[i];
        }
    }
    if (num_old > 0) {
        dispose_start(j, old, num_old, "RecordAgeExceeded", false, 0);
    }
    free(old);
    return num_old > 0;
}

static void on_result(void *ctx, uint64_t id, const struct inv_result *res);

static void job_send(struct job *j)
{
    struct esm_pipeline *pl = j->pl;
    if (j->abandon) {
        job_finish(j);
        return;
    }
    if (pl->stopped || j->sending) {
        return;
    }
    if (drop_expired(j)) {
        return;
    }
    if (j->cur.n == 0) {
        job_next(j);
        return;
    }
    const char *payload = j->b->payload;
    size_t len = j->b->payload_len;
    if (j->cur.n != j->b->num_records) {
        if (!j->sub) {
            if (!ensure_spans(j)) {
                pl->stopped = true;
                set_result(pl, "PROBLEM: internal error: cannot split a payload");
                return;
            }
            j->sub = pl_subpayload(j->b, &j->spans, &pl->cfg.batch.event, j->cur.idx, j->cur.n,
                                   &j->sub_len);
        }
        payload = j->sub;
        len = j->sub_len;
    }
    struct inv_err err;
    if (inv_transport_submit(pl->cfg.transport, payload, len, on_result, j, &j->req_id, &err) !=
        0) {
        set_result(pl, "PROBLEM: Function call failed: %s", err.msg);
        kesm_log(KESM_LOG_WARN, pl->log, "submit: %s", err.msg);
        job_backoff(j);
        return;
    }
    j->sending = true;
    j->invokes++;
    pl->st.invocations++;
    pl->st.records_invoked += j->cur.n;
    j->sent_s = mono_seconds();
    esm_hist_observe(&pl->st.batch_records, &esm_batch_records_bounds, (double)j->cur.n);
    inv_driver_kick(pl->driver);
}

static void on_job_timer(void *ctx)
{
    struct job *j = ctx;
    if (j->abandon) {
        job_finish(j);
    } else if (j->disp.n > 0) {
        dispose_run(j);
    } else {
        job_send(j);
    }
}

// partial applies a batchItemFailures answer: returns false if an identifier is not in cur.
static bool partial(struct job *j, const struct inv_result *res)
{
    const struct batch *b = j->b;
    int64_t *min = inv_xcalloc(b->num_parts, sizeof *min);
    for (size_t k = 0; k < b->num_parts; k++) {
        min[k] = INT64_MAX;
    }
    bool ok = true;
    for (size_t f = 0; f < res->num_failures && ok; f++) {
        bool found = false;
        for (size_t i = 0; i < j->cur.n && !found; i++) {
            size_t k = pl_part_of(b, j->cur.idx[i]);
            if (b->offsets[j->cur.idx[i]] == res->failures[f].offset &&
                strcmp(b->parts[k].key, res->failures[f].partition) == 0) {
                found = true;
                if (res->failures[f].offset < min[k]) {
                    min[k] = res->failures[f].offset;
                }
            }
        }
        ok = found;
    }
    if (ok) {
        size_t *fine = inv_xcalloc(j->cur.n, sizeof *fine), nf = 0, keep = 0;
        for (size_t i = 0; i < j->cur.n; i++) {
            size_t x = j->cur.idx[i];
            if (b->offsets[x] < min[pl_part_of(b, x)]) {
                fine[nf++] = x;
            } else {
                j->cur.idx[keep++] = x;
            }
        }
        mark_done(j, fine, nf, true);
        free(fine);
        j->cur.n = keep;
        free(j->sub);
        j->sub = NULL;
    }
    free(min);
    return ok;
}

static int32_t retry_limit(const struct esm_pipeline *pl)
{
    if (pl->cfg.max_retry_attempts < 0 &&
        (pl->cfg.dest_dir || pl->cfg.dest_other || pl->cfg.dest.send)) {
        return RETRY_CAP_WITH_DESTINATION;
    }
    return pl->cfg.max_retry_attempts;
}

static void function_failed(struct job *j, const struct inv_result *res, const char *msg,
                            bool was_partial)
{
    struct esm_pipeline *pl = j->pl;
    pl->st.function_errors++;
    if (!msg) {
        msg = res->message;
    }
    set_result(pl, "PROBLEM: Function call failed%s%.200s", msg ? ": " : "", msg ? msg : "");
    kesm_log(KESM_LOG_WARN, pl->log, "batch %" PRIu64 ": function error%s%.200s", j->b->id,
             msg ? ": " : "", msg ? msg : "");
    int status = res->status >= 100 ? res->status : 200;
    if (!was_partial && pl->cfg.bisect_on_error && j->cur.n > 1) {
        split_cur(j);
        job_send(j);
        return;
    }
    int32_t limit = retry_limit(pl);
    if (limit >= 0 && j->retries >= (uint32_t)limit) {
        dispose_cur(j, "RetryAttemptsExhausted", true, status);
        return;
    }
    j->retries++;
    pl->st.retries++;
    job_backoff(j);
}

// count_result records an invocation's outcome and latency (metrics).
static void count_result(struct esm_pipeline *pl, const struct job *j, const struct inv_result *res)
{
    enum esm_outcome o = ESM_OUTCOME_DROPPED;
    switch (res->kind) {
    case INV_RESULT_OK:
        o = ESM_OUTCOME_OK;
        break;
    case INV_RESULT_PARTIAL:
        o = res->num_failures > 0 ? ESM_OUTCOME_PARTIAL : ESM_OUTCOME_OK;
        break;
    case INV_RESULT_FUNCTION_ERROR:
        o = ESM_OUTCOME_FUNCTION_ERROR;
        break;
    case INV_RESULT_RETRYABLE:
        o = ESM_OUTCOME_RETRYABLE;
        break;
    case INV_RESULT_TOO_LARGE:
        o = ESM_OUTCOME_TOO_LARGE;
        break;
    case INV_RESULT_FATAL:
        o = ESM_OUTCOME_FATAL;
        break;
    }
    if (j->abandon && res->kind != INV_RESULT_OK && res->kind != INV_RESULT_FATAL) {
        o = ESM_OUTCOME_DROPPED;
    }
    pl->st.outcomes[o]++;
    if (o == ESM_OUTCOME_FUNCTION_ERROR) {
        pl->st.records_failed_invoke += j->cur.n;
    } else if (o == ESM_OUTCOME_PARTIAL) {
        pl->st.records_failed_invoke += res->num_failures;
    }
    if (o == ESM_OUTCOME_FUNCTION_ERROR || o == ESM_OUTCOME_RETRYABLE ||
        o == ESM_OUTCOME_TOO_LARGE || o == ESM_OUTCOME_FATAL) {
        pl->st.invoke_errors++;
    }
    double dt = mono_seconds() - j->sent_s;
    esm_hist_observe(&pl->st.invoke_seconds, &esm_invoke_seconds_bounds, dt > 0 ? dt : 0);
}

// note_transport keeps transport errors from going unnoticed: they are retried without end and
// without counting as retry attempts (as Lambda does with throttles and service errors), so the
// first one and then one a minute is logged at WARN with the transport's message (which names
// the endpoint; LastProcessingResult carries it too), and kesm_transport_error_seconds says for
// how long they have lasted. Any other result ends the episode.
static void note_transport(struct esm_pipeline *pl, const struct job *j,
                           const struct inv_result *res)
{
    double now = mono_seconds();
    if (res->kind != INV_RESULT_RETRYABLE) {
        if (pl->transport_since > 0) {
            kesm_log(KESM_LOG_INFO, pl->log,
                     "invocations reach the function again after %.0f s of transport errors",
                     now - pl->transport_since);
            pl->transport_since = 0;
        }
        return;
    }
    if (pl->transport_since == 0) {
        pl->transport_since = j->sent_s > 0 && j->sent_s <= now ? j->sent_s : now;
        pl->transport_warned = 0;
    }
    if (pl->transport_warned == 0 || now - pl->transport_warned >= TRANSPORT_WARN_EVERY_S) {
        pl->transport_warned = now;
        kesm_log(KESM_LOG_WARN, pl->log,
                 "function calls have failed with transport errors for %.0f s (retried without "
                 "end, not counted as retry attempts): %s",
                 now - pl->transport_since, res->message ? res->message : "retryable error");
    }
}

static void on_result(void *ctx, uint64_t id, const struct inv_result *res)
{
    struct job *j = ctx;
    struct esm_pipeline *pl = j->pl;
    (void)id;
    j->sending = false;
    count_result(pl, j, res);
    note_transport(pl, j, res);
    switch (res->kind) {
    case INV_RESULT_OK:
        mark_done(j, j->cur.idx, j->cur.n, true);
        set_result(pl, "OK");
        j->backoff_n = 0;
        job_next(j);
        return;
    case INV_RESULT_PARTIAL:
        if (j->abandon) {
            break;
        }
        if (!partial(j, res)) {
            function_failed(j, res, "batchItemFailures names a record that was not invoked", false);
            return;
        }
        if (j->cur.n == 0) {
            set_result(pl, "OK");
            job_next(j);
            return;
        }
        function_failed(j, res, NULL, true);
        return;
    case INV_RESULT_FUNCTION_ERROR:
        if (j->abandon) {
            break;
        }
        function_failed(j, res, NULL, false);
        return;
    case INV_RESULT_RETRYABLE:
        if (j->abandon) {
            break;
        }
        pl->st.retryable_errors++;
        pl->st.retries++;
        set_result(pl, "PROBLEM: Function call failed: %.200s",
                   res->message ? res->message : "retryable error");
        job_backoff(j);
        return;
    case INV_RESULT_TOO_LARGE:
        if (j->abandon) {
            break;
        }
        if (j->cur.n > 1) {
            split_cur(j);
            job_send(j);
        } else {
            dispose_cur(j, "MaximumPayloadSizeExceeded", false, 0);
        }
        return;
    case INV_RESULT_FATAL:
        pl->stopped = true;
        set_result(pl, "PROBLEM: Function configuration not valid: %.180s",
                   res->message ? res->message : "the function cannot be invoked");
        kesm_log(KESM_LOG_ERROR, pl->log, "%s", pl->result);
        if (j->abandon) {
            job_finish(j);
        }
        // on_fatal may drain (and so free this job): nothing touches |j| after it.
        if (pl->cfg.on_fatal) {
            pl->cfg.on_fatal(pl->cfg.cb_ctx, pl->result);
        }
        return;
    }
    job_finish(j);
}

// ---- the batcher side ---------------------------------------------------------------------

static void on_batch_timer(void *ctx)
{
    pump(ctx);
}

static void job_start(struct esm_pipeline *pl, struct batch *b)
{
    struct job *j = job_new(pl, b);
    if (b->oversized) {
        dispose_cur(
            j, b->gap == BATCH_GAP_CORRUPT ? "RecordBatchCorrupt" : "MaximumPayloadSizeExceeded",
            false, 0);
        return;
    }
    if (b->reject) { // the schema registry could not decode it (esm/schema_stage.h)
        dispose_cur(j, b->reject, false, 0);
        return;
    }
    job_send(j);
}

static void pump(struct esm_pipeline *pl)
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
        while ((b = batcher_next(pl->bt, mono_now(pl))) != NULL) {
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
    int64_t now = mono_now(pl);
    net_timer_arm(pl->batch_timer, d <= now ? 0 : (uint64_t)(d - now));
}

// ---- revoke and drain ---------------------------------------------------------------------

static void finish_wait(struct esm_pipeline *pl)
{
    if (!pl->waiting) {
        return;
    }
    pl->waiting = false;
    net_timer_cancel(pl->wait_timer);
    net_timer_cancel(pl->wait_zero);
    void (*done)(void *) = pl->wait_done;
    pl->wait_done = NULL;
    if (done) {
        done(pl->wait_ctx);
    }
}

static void on_wait_zero(void *ctx)
{
    finish_wait(ctx);
}

static void on_wait_timeout(void *ctx)
{
    struct esm_pipeline *pl = ctx;
    struct job *j = pl->jobs;
    while (j) {
        struct job *next = j->next;
        if (j->abandon) {
            kesm_log(KESM_LOG_WARN, pl->log,
                     "batch %" PRIu64 " still running at the deadline: cancelled (not acked)",
                     j->b ? j->b->id : 0);
            job_finish(j);
        }
        j = next;
    }
    finish_wait(pl);
}

static void check_wait(struct esm_pipeline *pl)
{
    if (!pl->waiting) {
        return;
    }
    for (struct job *j = pl->jobs; j; j = j->next) {
        if (j->abandon) {
            return;
        }
    }
    net_timer_arm(pl->wait_zero, 0);
}

static bool job_touches(const struct job *j, const struct esm_tp *tps, size_t n)
{
    for (size_t k = 0; k < j->b->num_parts; k++) {
        for (size_t i = 0; i < n; i++) {
            if (tps[i].partition == j->b->parts[k].partition &&
                strcmp(tps[i].topic, j->b->parts[k].topic) == 0) {
                return true;
            }
        }
    }
    return false;
}

// abandon_jobs marks the jobs touching |tps| (all jobs when |tps| is NULL) and finishes those
// not waiting for a result.
static void abandon_jobs(struct esm_pipeline *pl, const struct esm_tp *tps, size_t n)
{
    for (struct job *j = pl->jobs; j; j = j->next) {
        if (!tps || job_touches(j, tps, n)) {
            j->abandon = true;
            j->revoked = j->revoked || tps != NULL;
        }
    }
    struct job *j = pl->jobs;
    while (j) {
        struct job *next = j->next;
        if (j->abandon && !j->sending && !j->disp_inflight) {
            net_timer_cancel(j->timer);
            job_finish(j);
        }
        j = next;
    }
}

static void begin_wait(struct esm_pipeline *pl, uint32_t timeout_ms, void (*done)(void *ctx),
                       void *ctx)
{
    if (pl->waiting) {
        finish_wait(pl); // a second revoke/drain: the first one is answered now
    }
    pl->waiting = true;
    pl->wait_done = done;
    pl->wait_ctx = ctx;
    net_timer_arm(pl->wait_timer, timeout_ms);
}

void esm_pipeline_revoke(struct esm_pipeline *pl, const struct esm_tp *tps, size_t n,
                         uint32_t timeout_ms, void (*done)(void *ctx), void *ctx)
{
    begin_wait(pl, timeout_ms, done, ctx);
    for (size_t i = 0; i < n; i++) {
        size_t tl = strlen(tps[i].topic);
        batcher_drop_partition(pl->bt, tps[i].topic, tl, tps[i].partition);
        struct part *p = part_find(pl, tps[i].topic, tl, tps[i].partition, false);
        if (p) {
            held_drop(p);
            free(p->topic);
            *p = pl->parts[--pl->num_parts];
        }
    }
    abandon_jobs(pl, tps, n);
    check_wait(pl);
}

void esm_pipeline_drain(struct esm_pipeline *pl, uint32_t timeout_ms, void (*done)(void *ctx),
                        void *ctx)
{
    pl->draining = true;
    net_timer_cancel(pl->batch_timer);
    begin_wait(pl, timeout_ms, done, ctx);
    for (size_t i = 0; i < pl->num_parts; i++) {
        struct part *p = &pl->parts[i];
        batcher_drop_partition(pl->bt, p->topic, p->topic_len, p->partition);
        held_drop(p);
        part_pause(pl, p);
    }
    abandon_jobs(pl, NULL, 0);
    check_wait(pl);
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
    double now = mono_seconds();
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
    set_result(pl, "%s", result);
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
        held_drop(&pl->parts[i]);
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
    struct esm_pipeline *pl = inv_xcalloc(1, sizeof *pl);
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
        pl->cfg.pause_records = 2 * (size_t)bs;
    }
    if (!pl->cfg.pause_total) {
        pl->cfg.pause_total = 4 * (size_t)bs;
    }
    struct inv_err ie;
    if (batcher_new(&pl->bt, &pl->cfg.batch, &ie) != 0) {
        snprintf(err, err_cap, "pipeline: %s", ie.msg);
        free(pl);
        return -1;
    }
    pl->driver = inv_driver_new(cfg->reactor, cfg->transport);
    pl->batch_timer = net_timer_new(cfg->reactor, on_batch_timer, pl);
    pl->wait_timer = net_timer_new(cfg->reactor, on_wait_timeout, pl);
    pl->wait_zero = net_timer_new(cfg->reactor, on_wait_zero, pl);
    pl->rng = 0x9e3779b97f4a7c15u ^ (uint64_t)wall_now(pl);
    snprintf(pl->result, sizeof pl->result, "No records processed");
    *out = pl;
    return 0;
}

// add_gap puts an undecodable range into the batcher, in its place after the partition's records.
static int add_gap(struct esm_pipeline *pl, struct part *p, int64_t first_offset,
                   int64_t last_offset, int64_t timestamp, bool too_large)
{
    struct inv_err err;
    if (batcher_add_gap(pl->bt, p->topic, p->topic_len, p->partition, first_offset, last_offset,
                        timestamp, too_large ? BATCH_GAP_TOO_LARGE : BATCH_GAP_CORRUPT,
                        mono_now(pl), &err) != 0) {
        kesm_log(KESM_LOG_ERROR, pl->log, "undecodable range refused: %s", err.msg);
        return -1;
    }
    kesm_log(KESM_LOG_WARN, pl->log,
             "%.*s-%" PRId32 " offsets %" PRId64 "-%" PRId64
             ": record batch cannot be decoded; disposing of it as %s",
             (int)p->topic_len, p->topic, p->partition, first_offset, last_offset,
             too_large ? "MaximumPayloadSizeExceeded" : "RecordBatchCorrupt");
    p->kept_last = last_offset;
    pl->st.records_in++;
    return 0;
}

// add_one queues one decoded record: FilterCriteria (on |fv|, the value the filter sees), then
// the batcher. Returns 0, or -1 if the record was refused.
static int add_one(struct esm_pipeline *pl, struct part *p, const struct inv_record *r,
                   struct inv_bytes fv, int64_t now)
{
    struct inv_err err;
    bool keep = true;
    if (!r->reject) { // a rejected record is disposed of, not filtered
        struct inv_record fr = *r;
        fr.value = fv;
        uint64_t over = esm_filter_budget_exceeded(pl->cfg.filter);
        keep = esm_filter_match(pl->cfg.filter, &fr);
        if (esm_filter_budget_exceeded(pl->cfg.filter) != over) {
            kesm_log(KESM_LOG_WARN, pl->log,
                     "FilterCriteria: offset %" PRId64 " of %.*s-%" PRId32
                     " needs more matching steps than its size allows: delivered unfiltered",
                     r->offset, (int)r->topic_len, r->topic, r->partition);
        }
    }
    if (!keep) {
        if (r->offset <= p->kept_last || (p->has_filt && r->offset < p->filt_next) ||
            r->offset < p->done_next) {
            kesm_log(KESM_LOG_ERROR, pl->log,
                     "record refused: offset %" PRId64 " of %.*s-%" PRId32
                     " is not above the previous one",
                     r->offset, (int)r->topic_len, r->topic, r->partition);
            return -1;
        }
        pl->st.records_filtered++;
        p->has_filt = true;
        p->filt_next = r->offset + 1;
        p->filt_after = p->kept_last;
        return 0;
    }
    if (batcher_add(pl->bt, r, now, &err) != 0) {
        kesm_log(KESM_LOG_ERROR, pl->log, "record refused: %s", err.msg);
        return -1;
    }
    if (r->reject) {
        pl->st.records_rejected++;
    }
    p->kept_last = r->offset;
    pl->st.records_in++;
    return 0;
}

// ---- records waiting for a schema ---------------------------------------------------------

// struct held: a copy of a record (headers and bytes in the same allocation).
struct held {
    struct held *next;
    struct inv_record r;
};

static uint8_t *put(uint8_t *o, struct inv_bytes *b)
{
    if (!b->is_null && b->len) {
        memcpy(o, b->p, b->len);
        b->p = o;
        o += b->len;
    }
    return o;
}

static void held_push(struct part *p, const struct inv_record *r)
{
    size_t n = sizeof(struct held) + r->num_headers * sizeof(struct inv_header);
    n += (r->key.is_null ? 0 : r->key.len) + (r->value.is_null ? 0 : r->value.len);
    for (size_t i = 0; i < r->num_headers; i++) {
        n += r->headers[i].name_len + (r->headers[i].value.is_null ? 0 : r->headers[i].value.len);
    }
    struct held *h = inv_xmalloc(n);
    struct inv_header *hdrs = (struct inv_header *)(h + 1);
    uint8_t *o = (uint8_t *)(hdrs + r->num_headers);
    h->next = NULL;
    h->r = *r;
    h->r.topic = p->topic;
    o = put(o, &h->r.key);
    o = put(o, &h->r.value);
    for (size_t i = 0; i < r->num_headers; i++) {
        hdrs[i] = r->headers[i];
        if (hdrs[i].name_len) {
            memcpy(o, r->headers[i].name, hdrs[i].name_len);
        }
        hdrs[i].name = (const char *)o;
        o += hdrs[i].name_len;
        o = put(o, &hdrs[i].value);
    }
    h->r.headers = hdrs;
    if (p->held_tail) {
        p->held_tail->next = h;
    } else {
        p->held_head = h;
    }
    p->held_tail = h;
    p->num_held++;
}

static void held_pop(struct part *p)
{
    struct held *h = p->held_head;
    p->held_head = h->next;
    if (!p->held_head) {
        p->held_tail = NULL;
    }
    p->num_held--;
    free(h);
}

static void held_drop(struct part *p)
{
    while (p->held_head) {
        held_pop(p);
    }
}

// process decodes one record through the schema stage (when there is one) and queues it;
// returns 1 when the record had to wait (it was copied), else add_one's result.
static int process(struct esm_pipeline *pl, struct part *p, const struct inv_record *r, int64_t now)
{
    if (!pl->cfg.schema) {
        return add_one(pl, p, r, r->value, now);
    }
    struct inv_record dec;
    struct inv_bytes fv;
    switch (esm_sstage_decode(pl->cfg.schema, r, &dec, &fv)) {
    case ESM_SSTAGE_WAIT:
        return 1;
    case ESM_SSTAGE_REJECT:
    case ESM_SSTAGE_READY:
        break;
    }
    return add_one(pl, p, &dec, fv, now);
}

static void pause_if_full(struct esm_pipeline *pl, struct part *p)
{
    if (p->num_held > 0 ||
        batcher_partition_queued(pl->bt, p->topic, p->topic_len, p->partition) >=
            pl->cfg.pause_records ||
        batcher_pending(pl->bt) >= pl->cfg.pause_total) {
        part_pause(pl, p);
    }
}

void esm_pipeline_schema_ready(struct esm_pipeline *pl)
{
    if (pl->draining) {
        return;
    }
    int64_t now = mono_now(pl);
    for (size_t i = 0; i < pl->num_parts; i++) {
        struct part *p = &pl->parts[i];
        while (p->held_head && process(pl, p, &p->held_head->r, now) != 1) {
            held_pop(p);
        }
        if (!p->held_head && p->gap_pending) { // an undecodable range waited behind them
            p->gap_pending = false;
            add_gap(pl, p, p->gap_first, p->gap_last, -1, p->gap_too_large);
        }
        filtered_release(pl, p);
        pause_if_full(pl, p);
    }
    pump(pl);
}

int esm_pipeline_add_gap(struct esm_pipeline *pl, const char *topic, int32_t partition,
                         int64_t first_offset, int64_t last_offset, int64_t timestamp,
                         bool too_large)
{
    if (pl->draining || pl->stopped) {
        return 0;
    }
    struct part *p = part_find(pl, topic, strlen(topic), partition, true);
    if (p->held_head || p->gap_pending) {
        // Records before it wait for a schema: the range follows them (the partition is paused
        // meanwhile, so no second range can arrive).
        if (p->gap_pending) {
            kesm_log(KESM_LOG_ERROR, pl->log, "undecodable range refused: one is waiting already");
            return -1;
        }
        p->gap_pending = true;
        p->gap_first = first_offset;
        p->gap_last = last_offset;
        p->gap_too_large = too_large;
        return 0;
    }
    int rc = add_gap(pl, p, first_offset, last_offset, timestamp, too_large);
    pump(pl);
    return rc;
}

int esm_pipeline_add(struct esm_pipeline *pl, const struct inv_record *recs, size_t n)
{
    if (pl->draining || n == 0) {
        return 0;
    }
    int64_t now = mono_now(pl);
    int rc = 0;
    struct part *p = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct inv_record *r = &recs[i];
        if (!p || p->partition != r->partition || p->topic_len != r->topic_len ||
            memcmp(p->topic, r->topic, r->topic_len) != 0) {
            p = part_find(pl, r->topic, r->topic_len, r->partition, true);
        }
        if (p->acked_next < 0) {
            p->acked_next = r->offset; // everything before it was committed already
        }
        int one = p->num_held > 0 ? 1 : process(pl, p, r, now);
        if (one == 1) {
            held_push(p, r); // waits for its schema, and so does everything after it
        } else if (one != 0) {
            rc = -1;
        }
    }
    for (size_t i = 0; i < pl->num_parts; i++) {
        filtered_release(pl, &pl->parts[i]);
    }
    p = part_find(pl, recs[0].topic, recs[0].topic_len, recs[0].partition, true);
    pause_if_full(pl, p);
    pump(pl);
    return rc;
}
