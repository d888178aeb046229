// pipeline_drain.c: revoke and drain (see pipeline.h): abandon the jobs of revoked partitions
// (or every job, on shutdown), wait for them within a timeout, and report from a clean stack.
#include "base/log.h"
#include "esm/pipeline_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void pl_on_wait_zero(void *ctx)
{
    finish_wait(ctx);
}

void pl_on_wait_timeout(void *ctx)
{
    struct esm_pipeline *pl = ctx;
    struct job *j = pl->jobs;
    while (j) {
        struct job *next = j->next;
        if (j->abandon) {
            kesm_log(KESM_LOG_WARN, pl->log,
                     "batch %" PRIu64 " still running at the deadline: cancelled (not acked)",
                     j->b ? j->b->id : 0);
            pl_job_finish(j);
        }
        j = next;
    }
    finish_wait(pl);
}

void pl_check_wait(struct esm_pipeline *pl)
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

static bool tp_listed(const struct esm_tp *tp, const struct esm_tp *tps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (tps[i].partition == tp->partition && strcmp(tps[i].topic, tp->topic) == 0) {
            return true;
        }
    }
    return false;
}

static bool job_touches(const struct job *j, const struct esm_tp *tps, size_t n)
{
    for (size_t k = 0; k < j->b->num_parts; k++) {
        struct esm_tp one = {j->b->parts[k].topic, j->b->parts[k].partition};
        if (tp_listed(&one, tps, n)) {
            return true;
        }
    }
    return false;
}

// job_within is true if every partition of |j| is among |tps|.
static bool job_within(const struct job *j, const struct esm_tp *tps, size_t n)
{
    for (size_t k = 0; k < j->b->num_parts; k++) {
        struct esm_tp one = {j->b->parts[k].topic, j->b->parts[k].partition};
        if (!tp_listed(&one, tps, n)) {
            return false;
        }
    }
    return true;
}

// abandon_jobs marks the jobs of |tps| (all jobs when |tps| is NULL) and finishes those not
// waiting for a result. A job that also holds records of partitions this member keeps (an
// incremental, cooperative revoke) is not abandoned: dropping it would lose the kept
// partitions' records, whose later batches would then be acknowledged past them. It is delivered
// in full, so the revoked partition's part of it may reach the function again from its new owner
// (at least once), and its acknowledgements for the revoked partition are ignored by the consumer.
static void abandon_jobs(struct esm_pipeline *pl, const struct esm_tp *tps, size_t n)
{
    for (struct job *j = pl->jobs; j; j = j->next) {
        if (!tps || job_within(j, tps, n)) {
            j->abandon = true;
            j->revoked = j->revoked || tps != NULL;
        } else if (job_touches(j, tps, n)) {
            kesm_log(KESM_LOG_INFO, pl->log,
                     "batch %" PRIu64 " also holds kept partitions: delivered in full, not "
                     "abandoned by the revoke",
                     j->b ? j->b->id : 0);
        }
    }
    struct job *j = pl->jobs;
    while (j) {
        struct job *next = j->next;
        if (j->abandon && !j->sending && !j->disp_inflight) {
            net_timer_cancel(j->timer);
            pl_job_finish(j);
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
        struct part *p = pl_part_find(pl, tps[i].topic, tl, tps[i].partition, false);
        if (p) {
            pl_held_drop(p);
            pl_track_unref(p->trk); // jobs of it keep theirs
            free(p->topic);
            *p = pl->parts[--pl->num_parts];
        }
    }
    abandon_jobs(pl, tps, n);
    pl_check_wait(pl);
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
        pl_held_drop(p);
        pl_part_pause(pl, p);
    }
    abandon_jobs(pl, NULL, 0);
    pl_check_wait(pl);
}
