// pipeline_result.c: what an invocation's result does to its job (see pipeline.h): success,
// partial batch responses, function errors (bisect, retries, then disposal), transport errors
// (retried without end, reported), 413 splits and fatal errors; and the metrics of each result.
#include "base/alloc.h"
#include "base/log.h"
#include "esm/pipeline_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_CAP_WITH_DESTINATION 10

// TRANSPORT_WARN_EVERY_S: while transport errors go on, a WARN line at most this often.
#define TRANSPORT_WARN_EVERY_S 60.0

// partial applies a batchItemFailures answer: returns false if an identifier is not in cur.
static bool partial(struct job *j, const struct inv_result *res)
{
    const struct batch *b = j->b;
    int64_t *min = xcalloc(b->num_parts, sizeof *min);
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
        size_t *fine = xcalloc(j->cur.n, sizeof *fine), nf = 0, keep = 0;
        for (size_t i = 0; i < j->cur.n; i++) {
            size_t x = j->cur.idx[i];
            if (b->offsets[x] < min[pl_part_of(b, x)]) {
                fine[nf++] = x;
            } else {
                j->cur.idx[keep++] = x;
            }
        }
        pl_mark_done(j, fine, nf, true);
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
    pl_set_result(pl, "PROBLEM: Function call failed%s%.200s", msg ? ": " : "", msg ? msg : "");
    kesm_log(KESM_LOG_WARN, pl->log, "batch %" PRIu64 ": function error%s%.200s", j->b->id,
             msg ? ": " : "", msg ? msg : "");
    int status = res->status >= 100 ? res->status : 200;
    if (!was_partial && pl->cfg.bisect_on_error && j->cur.n > 1) {
        pl_split_cur(j);
        pl_job_send(j);
        return;
    }
    int32_t limit = retry_limit(pl);
    if (limit >= 0 && j->retries >= (uint32_t)limit) {
        pl_dispose_cur(j, "RetryAttemptsExhausted", true, status);
        return;
    }
    j->retries++;
    pl->st.retries++;
    pl_job_backoff(j);
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
    double dt = pl_mono_seconds() - j->sent_s;
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
    double now = pl_mono_seconds();
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

void pl_on_result(void *ctx, uint64_t id, const struct inv_result *res)
{
    struct job *j = ctx;
    struct esm_pipeline *pl = j->pl;
    (void)id;
    j->sending = false;
    count_result(pl, j, res);
    note_transport(pl, j, res);
    switch (res->kind) {
    case INV_RESULT_OK:
        pl_mark_done(j, j->cur.idx, j->cur.n, true);
        pl_set_result(pl, "OK");
        j->backoff_n = 0;
        pl_job_next(j);
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
            pl_set_result(pl, "OK");
            pl_job_next(j);
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
        pl_set_result(pl, "PROBLEM: Function call failed: %.200s",
                      res->message ? res->message : "retryable error");
        pl_job_backoff(j);
        return;
    case INV_RESULT_TOO_LARGE:
        if (j->abandon) {
            break;
        }
        if (j->cur.n > 1) {
            pl_split_cur(j);
            pl_job_send(j);
        } else {
            pl_dispose_cur(j, "MaximumPayloadSizeExceeded", false, 0);
        }
        return;
    case INV_RESULT_FATAL:
        pl->stopped = true;
        pl_set_result(pl, "PROBLEM: Function configuration not valid: %.180s",
                      res->message ? res->message : "the function cannot be invoked");
        kesm_log(KESM_LOG_ERROR, pl->log, "%s", pl->result);
        if (j->abandon) {
            pl_job_finish(j);
        }
        // on_fatal may drain (and so free this job): nothing touches |j| after it.
        if (pl->cfg.on_fatal) {
            pl->cfg.on_fatal(pl->cfg.cb_ctx, pl->result);
        }
        return;
    }
    pl_job_finish(j);
}
