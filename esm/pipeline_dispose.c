// pipeline_dispose.c: the records a job gives up on (see pipeline.h): the failure record to the
// on-failure destination (a directory, or one message per record to kafka://), the log line when
// there is none, and MaximumRecordAgeInSeconds.
#include "base/alloc.h"
#include "base/log.h"
#include "esm/pipeline_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void dispose_done(struct job *j);

static void dispose_failed(struct job *j, const char *msg)
{
    struct esm_pipeline *pl = j->pl;
    pl->st.dest_errors++;
    pl_set_result(pl, "PROBLEM: %.200s", msg);
    kesm_log(KESM_LOG_ERROR, pl->log, "%s (retrying)", msg);
    pl_job_backoff(j);
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
        pl_job_finish(j);
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
                           .now_ms = pl_wall_now(pl)};
    return f;
}

// dispose_batch hands the failure record(s) of the selection to a per-batch destination (SQS,
// SNS, S3).
static void dispose_batch(struct job *j)
{
    struct esm_pipeline *pl = j->pl;
    struct pl_failure f = failure_of(j);
    struct esm_dest_msg *msgs = NULL;
    size_t n = pl_failure_batch_msgs(&f, j->b, j->disp.idx, j->disp.n, pl->cfg.dest_with_payload,
                                     pl->cfg.dest_max_message, &msgs);
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
    struct pl_failure f = failure_of(j);
    struct esm_dest_msg *msgs = xcalloc(j->disp.n, sizeof *msgs);
    for (size_t i = 0; i < j->disp.n; i++) {
        const struct batch_rec *r = &b->recs[j->disp.idx[i]];
        msgs[i].key =
            r->key_null ? inv_bytes_null() : inv_bytes_of(b->keys + r->key_off, r->key_len);
        msgs[i].value = pl_failure_record_value(&f, b, j->disp.idx[i], &msgs[i].value_len);
    }
    j->disp_id = pl->cfg.dest.send(pl->cfg.dest.ctx, msgs, j->disp.n, on_dest_done, j);
    for (size_t i = 0; i < j->disp.n; i++) {
        free(msgs[i].value);
    }
    free(msgs);
    if (j->disp_id == 0) {
        dispose_failed(j, "on-failure destination: cannot start a delivery");
        return;
    }
    j->disp_inflight = true;
}

// pl_dispose_run delivers the pending disposal (j->disp): a failure record to the destination (or a
// log line), after which the records count as done.
void pl_dispose_run(struct job *j)
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
    struct pl_failure f = failure_of(j);
    char *payload = NULL;
    if (!b->oversized) {
        payload = pl_subpayload(b, &pl->cfg.batch.event, j->disp.idx, j->disp.n, &f.payload_len);
        f.payload = payload;
    }
    char err[300];
    int rc = pl_failure_write(pl->cfg.dest_dir, &f, b, j->disp.idx, j->disp.n, &pl->seq, err,
                              sizeof err);
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

// dispose_start gives up on records |idx| of |j| (copied): see pl_dispose_run. What is left of cur
// afterwards goes on (dispose_done).
static void dispose_start(struct job *j, const size_t *idx, size_t n, const char *cond,
                          bool invoked, int status)
{
    free(j->disp.idx);
    j->disp.idx = xcalloc(n ? n : 1, sizeof(size_t));
    memcpy(j->disp.idx, idx, n * sizeof(size_t));
    j->disp.n = n;
    j->disp_cond = cond;
    j->disp_invoked = invoked;
    j->disp_status = status;
    j->backoff_n = 0;
    pl_dispose_run(j);
}

// dispose_done marks the disposed records done and continues with what is left of cur.
static void dispose_done(struct job *j)
{
    pl_mark_done(j, j->disp.idx, j->disp.n, false);
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
        pl_job_next(j);
    } else {
        pl_job_send(j);
    }
}

// pl_dispose_cur disposes of the current selection and moves on.
void pl_dispose_cur(struct job *j, const char *cond, bool invoked, int status)
{
    dispose_start(j, j->cur.idx, j->cur.n, cond, invoked, status);
}

// pl_job_next moves to the next waiting selection, or finishes the job.
bool pl_drop_expired(struct job *j)
{
    struct esm_pipeline *pl = j->pl;
    if (pl->cfg.max_record_age_s < 0 || j->b->oversized) {
        return false;
    }
    int64_t cutoff = pl_wall_now(pl) - (int64_t)pl->cfg.max_record_age_s * 1000;
    size_t *old = xcalloc(j->cur.n ? j->cur.n : 1, sizeof *old), num_old = 0;
    for (size_t i = 0; i < j->cur.n; i++) {
        if (!j->done[j->cur.idx[i]] && j->b->recs[j->cur.idx[i]].timestamp < cutoff) {
            old[num_old++] = j->cur.idx[i];
        }
    }
    if (num_old > 0) {
        dispose_start(j, old, num_old, "RecordAgeExceeded", false, 0);
    }
    free(old);
    return num_old > 0;
}
