// instance_metrics.c: a running mapping's /metrics snapshot (see instance.h), and the rebalance
// pauses it reports per partition: the time from a revocation of the partition to its assignment
// again in the next generation (a partition that moves to another member is that member's to
// measure, so a revocation not followed by the partition's return is forgotten).
#include "base/alloc.h"
#include "consumer/consumer.h"
#include "esm/instance_int.h"
#include "esm/metrics.h"
#include "esm/pipeline.h"
#include "net/reactor.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(ESM_METRICS_MAX_LANES == BATCH_MAX_LANES, "one lane table size");

static struct esm_rb_pause *pause_find(struct esm_instance *in, const char *topic,
                                       int32_t partition, bool create)
{
    for (size_t i = 0; i < in->num_pauses; i++) {
        if (in->pauses[i].partition == partition && !strcmp(in->pauses[i].topic, topic)) {
            return &in->pauses[i];
        }
    }
    if (!create) {
        return NULL;
    }
    in->pauses = xrealloc(in->pauses, (in->num_pauses + 1) * sizeof *in->pauses);
    struct esm_rb_pause *p = &in->pauses[in->num_pauses++];
    memset(p, 0, sizeof *p);
    p->topic = xstrdup(topic);
    p->partition = partition;
    p->revoked_ms = -1;
    return p;
}

void esm_inst_pause_revoked(struct esm_instance *in, const struct cons_tp *tps, size_t n)
{
    int64_t now = (int64_t)net_reactor_now_ms(in->r);
    for (size_t i = 0; i < n; i++) {
        pause_find(in, tps[i].topic, tps[i].partition, true)->revoked_ms = now;
    }
}

void esm_inst_pause_assigned(struct esm_instance *in, const struct cons_tp *tps, size_t n)
{
    int64_t now = (int64_t)net_reactor_now_ms(in->r);
    for (size_t i = 0; i < n; i++) {
        struct esm_rb_pause *p = pause_find(in, tps[i].topic, tps[i].partition, false);
        if (p && p->revoked_ms >= 0) {
            p->pauses++;
            p->pause_ms += (uint64_t)(now > p->revoked_ms ? now - p->revoked_ms : 0);
        }
    }
    for (size_t i = 0; i < in->num_pauses; i++) {
        in->pauses[i].revoked_ms = -1; // the ones that did not come back moved elsewhere
    }
}

void esm_inst_pause_free(struct esm_instance *in)
{
    for (size_t i = 0; i < in->num_pauses; i++) {
        free(in->pauses[i].topic);
    }
    free(in->pauses);
    in->pauses = NULL;
    in->num_pauses = 0;
}

// lanes_of fills the lane gauges of |p| (ParallelizationFactor > 1): a lane's lag is the high
// watermark minus its lowest unfinished offset or, when it has none, the partition's fetch lag.
static void lanes_of(struct esm_metrics_part *p, const struct esm_pipeline_part_info *pi,
                     int64_t hw, int64_t fetch_lag)
{
    p->lanes = pi->lanes <= ESM_METRICS_MAX_LANES ? pi->lanes : 0;
    for (uint32_t l = 0; l < p->lanes; l++) {
        int64_t old = pi->lane_oldest[l];
        p->lane_lag[l] = hw < 0 ? -1 : old >= 0 ? (hw > old ? hw - old : 0) : fetch_lag;
        p->lane_pending[l] = pi->lane_pending[l];
    }
}

void esm_instance_metrics(struct esm_instance *in, struct esm_metrics_mapping *out)
{
    struct esm_pipeline_stats st;
    out->running = true;
    if (!in->pl) { // an MSK mapping still asking for its brokers
        memset(out->connections, 0, sizeof out->connections);
        out->num_parts = 0;
        return;
    }
    esm_pipeline_stats(in->pl, &st);
    memcpy(out->invocations, st.outcomes, sizeof out->invocations);
    out->retries = st.retries;
    out->records_ok = st.records_ok;
    out->records_disposed = st.records_disposed;
    out->records_filtered = st.records_filtered;
    out->records_rejected = st.records_rejected;
    out->registry_errors = st.registry_errors;
    out->rebalances = in->rebalances;
    out->undecodable_batches = in->cons ? cons_undecodable_batches(in->cons) : 0;
    out->queued = st.queued;
    out->inflight = st.inflight;
    out->transport_error_seconds = (uint64_t)st.transport_error_seconds;
    out->batch_records = st.batch_records;
    out->invoke_seconds = st.invoke_seconds;
    out->dest_errors = st.dest_errors;
    out->conn_errors = in->conn_errors;
    out->aws = (struct esm_metrics_aws){
        .groups = in->cfg->aws.metrics,
        .polled = st.records_in,
        .filtered = st.records_filtered,
        .invoked = st.records_invoked,
        .failed_invoke = st.records_failed_invoke,
        .dropped = st.records_dropped,
        .dest_delivered = st.records_dest_delivered,
        .committed = st.records_acked,
        .polling_errors = in->poll_errors,
        .invoke_errors = st.invoke_errors,
        .dest_errors = st.dest_errors,
        .commit_errors = in->cons ? cons_commit_errors(in->cons) : 0,
        .schema_registry_errors = st.registry_errors,
    };
    memset(out->connections, 0, sizeof out->connections);
    out->num_parts = 0;
    if (!in->cons) {
        return;
    }
    cons_conn_counts(in->cons, out->connections);
    size_t n = cons_stats(in->cons, NULL, 0);
    struct cons_partition_stats *ps = xcalloc(n ? n : 1, sizeof *ps);
    n = cons_stats(in->cons, ps, n);
    out->parts = xcalloc(n ? n : 1, sizeof *out->parts);
    for (size_t i = 0; i < n; i++) {
        struct esm_metrics_part *p = &out->parts[i];
        // The next unprocessed offset: acknowledged or committed; before either, where this
        // assignment started (the fetch position minus the records delivered since).
        int64_t done = ps[i].acked > ps[i].committed ? ps[i].acked : ps[i].committed;
        if (done < 0 && ps[i].position >= 0) {
            done = ps[i].position - (int64_t)ps[i].records_delivered;
            done = done > ps[i].log_start ? done : ps[i].log_start;
        }
        int64_t hw = ps[i].high_watermark;
        p->topic = xstrdup(ps[i].topic ? ps[i].topic : "");
        p->partition = ps[i].partition;
        p->lag = hw >= 0 && done >= 0 ? (hw > done ? hw - done : 0) : -1;
        p->fetch_lag = ps[i].lag;
        p->committed = ps[i].committed;
        p->high_watermark = hw;
        p->records_received = ps[i].records_delivered;
        p->processed = done;
        struct esm_pipeline_part_info pi;
        esm_pipeline_part_info(in->pl, p->topic, p->partition, &pi);
        p->inflight = pi.inflight;
        p->paused = pi.paused;
        p->last_delivery_ms = pi.last_ok_ms;
        lanes_of(p, &pi, hw, ps[i].lag);
        const struct esm_rb_pause *rp = pause_find(in, p->topic, p->partition, false);
        if (rp) {
            p->rebalance_pauses = rp->pauses;
            p->rebalance_pause_s = (double)rp->pause_ms / 1000.0;
        }
    }
    free(ps);
    out->num_parts = n;
}
