// metrics.c: histograms and the Prometheus text exposition (see metrics.h).
#include "esm/metrics.h"

#include "base/buf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double batch_le[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
static const double invoke_le[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                   1,     2.5,  5,     10,   30,  60,   300};

const struct esm_hist_bounds esm_batch_records_bounds = {batch_le,
                                                         sizeof batch_le / sizeof batch_le[0]};
const struct esm_hist_bounds esm_invoke_seconds_bounds = {invoke_le,
                                                          sizeof invoke_le / sizeof invoke_le[0]};

void esm_hist_observe(struct esm_hist *h, const struct esm_hist_bounds *b, double v)
{
    size_t i = 0;
    while (i < b->n && v > b->le[i]) {
        i++;
    }
    h->buckets[i]++;
    h->count++;
    h->sum += v;
}

static const char *const outcome_names[ESM_OUTCOME_COUNT] = {
    "ok", "partial", "function_error", "retryable", "too_large", "fatal", "dropped"};

const char *esm_outcome_name(enum esm_outcome o)
{
    return (size_t)o < ESM_OUTCOME_COUNT ? outcome_names[o] : "unknown";
}

// Names of the connection states, in enum broker_conn_state order (broker/conn.h).
static const char *const conn_names[ESM_CONN_STATES] = {
    "RESOLVING", "CONNECTING", "TLS_HANDSHAKE", "API_VERSIONS", "AUTH",
    "READY",     "BACKOFF",    "IDLE",          "CLOSED"};

void esm_metrics_mapping_cleanup(struct esm_metrics_mapping *m)
{
    if (!m) {
        return;
    }
    for (size_t i = 0; i < m->num_parts; i++) {
        free(m->parts[i].topic);
    }
    free(m->parts);
    free(m->uuid);
    free(m->function);
    free(m->topic);
    free(m->last_result);
    memset(m, 0, sizeof *m);
}

// ---- a growable text buffer with a sticky out-of-memory flag ------------------------------

// put_escaped writes a label value: backslash, double quote and newline escaped.
static void put_escaped(struct buf *o, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\') {
            buf_adds(o, "\\\\");
        } else if (*s == '"') {
            buf_adds(o, "\\\"");
        } else if (*s == '\n') {
            buf_adds(o, "\\n");
        } else {
            buf_add(o, s, 1);
        }
    }
}

// struct lbl: the labels of one sample: the mapping's, then optional extras.
struct lbl {
    const struct esm_metrics_mapping *m;
    const struct esm_metrics_part *part; // topic, partition; NULL: none
    const char *k1, *v1;                 // an extra label (outcome, state, le); NULL: none
    const char *k2, *v2;
};

static void put_labels(struct buf *o, const struct lbl *l)
{
    buf_adds(o, "{uuid=\"");
    put_escaped(o, l->m->uuid ? l->m->uuid : "");
    buf_adds(o, "\",function=\"");
    put_escaped(o, l->m->function ? l->m->function : "");
    buf_adds(o, "\"");
    if (l->part) {
        buf_adds(o, ",topic=\"");
        put_escaped(o, l->part->topic ? l->part->topic : "");
        buf_addf(o, "\",partition=\"%" PRId32 "\"", l->part->partition);
    }
    const char *k[2] = {l->k1, l->k2}, *v[2] = {l->v1, l->v2};
    for (size_t i = 0; i < 2; i++) {
        if (k[i]) {
            buf_addf(o, ",%s=\"", k[i]);
            put_escaped(o, v[i]);
            buf_adds(o, "\"");
        }
    }
    buf_adds(o, "}");
}

static void family(struct buf *o, const char *name, const char *type, const char *help)
{
    buf_addf(o, "# HELP %s ", name);
    buf_adds(o, help);
    buf_addf(o, "\n# TYPE %s %s\n", name, type);
}

static void sample_u(struct buf *o, const char *name, const struct lbl *l, uint64_t v)
{
    buf_adds(o, name);
    put_labels(o, l);
    buf_addf(o, " %" PRIu64 "\n", v);
}

static void sample_i(struct buf *o, const char *name, const struct lbl *l, int64_t v)
{
    buf_adds(o, name);
    put_labels(o, l);
    buf_addf(o, " %" PRId64 "\n", v);
}

// fmt_double writes |v| in the shortest %g form that reads back exactly (0.1, not
// 0.10000000000000001).
static void fmt_double(char *out, size_t cap, double v)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v) {
            return;
        }
    }
}

static void put_double(struct buf *o, double v)
{
    char tmp[40];
    fmt_double(tmp, sizeof tmp, v);
    buf_adds(o, tmp);
}

static void histogram(struct buf *o, const char *name, const struct lbl *base,
                      const struct esm_hist *h, const struct esm_hist_bounds *b)
{
    char le[40], metric[128];
    uint64_t cum = 0;
    snprintf(metric, sizeof metric, "%s_bucket", name);
    for (size_t i = 0; i <= b->n; i++) {
        cum += h->buckets[i];
        if (i < b->n) {
            fmt_double(le, sizeof le, b->le[i]);
        } else {
            snprintf(le, sizeof le, "+Inf");
        }
        struct lbl l = *base;
        l.k1 = "le";
        l.v1 = le;
        sample_u(o, metric, &l, cum);
    }
    buf_addf(o, "%s_sum", name);
    put_labels(o, base);
    buf_adds(o, " ");
    put_double(o, h->sum);
    buf_adds(o, "\n");
    buf_addf(o, "%s_count", name);
    put_labels(o, base);
    buf_addf(o, " %" PRIu64 "\n", h->count);
}

// ---- families -----------------------------------------------------------------------------

static void mapping_families(struct buf *o, const struct esm_metrics_mapping *maps, size_t n,
                             const char *const *states, size_t num_states)
{
    family(o, "kesm_mapping_state", "gauge",
           "State of the event source mapping: 1 for its current state, 0 for the others.");
    for (size_t i = 0; i < n; i++) {
        for (size_t s = 0; s < num_states; s++) {
            struct lbl l = {&maps[i], NULL, "state", states[s], NULL, NULL};
            sample_u(o, "kesm_mapping_state", &l,
                     maps[i].state && !strcmp(maps[i].state, states[s]) ? 1 : 0);
        }
    }
    family(o, "kesm_mapping_running", "gauge",
           "1 while a consumer and pipeline run the mapping (its counters below exist then).");
    for (size_t i = 0; i < n; i++) {
        struct lbl l = {&maps[i], NULL, NULL, NULL, NULL, NULL};
        sample_u(o, "kesm_mapping_running", &l, maps[i].running ? 1 : 0);
    }
}

// part_scale_families: per partition, its batches in flight and rebalance pauses; per lane
// (ParallelizationFactor > 1), its lag and unfinished records.
static void part_scale_families(struct buf *o, const struct esm_metrics_mapping *maps, size_t n)
{
    family(o, "kesm_partition_batches_inflight", "gauge",
           "Batches holding records of the partition not yet finished (sent, retrying or being "
           "disposed of): at most 1, or ParallelizationFactor.");
    for (size_t i = 0; i < n; i++) {
        for (size_t p = 0; p < maps[i].num_parts; p++) {
            struct lbl l = {&maps[i], &maps[i].parts[p], NULL, NULL, NULL, NULL};
            sample_u(o, "kesm_partition_batches_inflight", &l, maps[i].parts[p].inflight);
        }
    }
    family(o, "kesm_rebalance_pauses_total", "counter",
           "Rebalances that revoked the partition and gave it back to this member.");
    for (size_t i = 0; i < n; i++) {
        for (size_t p = 0; p < maps[i].num_parts; p++) {
            struct lbl l = {&maps[i], &maps[i].parts[p], NULL, NULL, NULL, NULL};
            sample_u(o, "kesm_rebalance_pauses_total", &l, maps[i].parts[p].rebalance_pauses);
        }
    }
    family(o, "kesm_rebalance_pause_seconds_total", "counter",
           "Time the partition stood still in those rebalances (revocation to assignment).");
    for (size_t i = 0; i < n; i++) {
        for (size_t p = 0; p < maps[i].num_parts; p++) {
            struct lbl l = {&maps[i], &maps[i].parts[p], NULL, NULL, NULL, NULL};
            buf_adds(o, "kesm_rebalance_pause_seconds_total");
            put_labels(o, &l);
            buf_adds(o, " ");
            put_double(o, maps[i].parts[p].rebalance_pause_s);
            buf_adds(o, "\n");
        }
    }
    static const char *const lane_names[ESM_METRICS_MAX_LANES] = {"0", "1", "2", "3", "4",
                                                                  "5", "6", "7", "8", "9"};
    family(o, "kesm_lane_offset_lag", "gauge",
           "ParallelizationFactor > 1: high watermark minus the lane's lowest unfinished offset "
           "(the partition's fetch lag when it has none); absent while unknown.");
    for (size_t i = 0; i < n; i++) {
        for (size_t p = 0; p < maps[i].num_parts; p++) {
            const struct esm_metrics_part *pt = &maps[i].parts[p];
            for (uint32_t k = 0; k < pt->lanes && k < ESM_METRICS_MAX_LANES; k++) {
                struct lbl l = {&maps[i], pt, "lane", lane_names[k], NULL, NULL};
                if (pt->lane_lag[k] >= 0) {
                    sample_i(o, "kesm_lane_offset_lag", &l, pt->lane_lag[k]);
                }
            }
        }
    }
    family(o, "kesm_lane_records_pending", "gauge",
           "ParallelizationFactor > 1: the lane's records received and not yet finished.");
    for (size_t i = 0; i < n; i++) {
        for (size_t p = 0; p < maps[i].num_parts; p++) {
            const struct esm_metrics_part *pt = &maps[i].parts[p];
            for (uint32_t k = 0; k < pt->lanes && k < ESM_METRICS_MAX_LANES; k++) {
                struct lbl l = {&maps[i], pt, "lane", lane_names[k], NULL, NULL};
                sample_u(o, "kesm_lane_records_pending", &l, pt->lane_pending[k]);
            }
        }
    }
}

static void partition_families(struct buf *o, const struct esm_metrics_mapping *maps, size_t n)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } lags[] = {
        {"kesm_offset_lag",
         "OffsetLag: high watermark minus the next offset not yet processed (acknowledged after "
         "its invocation, or committed); absent while unknown.",
         offsetof(struct esm_metrics_part, lag)},
        {"kesm_fetch_lag", "High watermark minus the next offset to fetch (absent while unknown).",
         offsetof(struct esm_metrics_part, fetch_lag)},
        {"kesm_high_watermark", "The partition's high watermark (absent while unknown).",
         offsetof(struct esm_metrics_part, high_watermark)},
        {"kesm_committed_offset", "The group's committed offset (absent while none).",
         offsetof(struct esm_metrics_part, committed)},
    };
    for (size_t k = 0; k < sizeof lags / sizeof lags[0]; k++) {
        family(o, lags[k].name, "gauge", lags[k].help);
        for (size_t i = 0; i < n; i++) {
            for (size_t p = 0; p < maps[i].num_parts; p++) {
                const struct esm_metrics_part *pt = &maps[i].parts[p];
                int64_t v;
                memcpy(&v, (const char *)pt + lags[k].off, sizeof v);
                if (v >= 0) {
                    struct lbl l = {&maps[i], pt, NULL, NULL, NULL, NULL};
                    sample_i(o, lags[k].name, &l, v);
                }
            }
        }
    }
    family(o, "kesm_records_received_total", "counter",
           "Records the consumer fetched and handed to the pipeline, per assigned partition.");
    for (size_t i = 0; i < n; i++) {
        for (size_t p = 0; p < maps[i].num_parts; p++) {
            struct lbl l = {&maps[i], &maps[i].parts[p], NULL, NULL, NULL, NULL};
            sample_u(o, "kesm_records_received_total", &l, maps[i].parts[p].records_received);
        }
    }
    part_scale_families(o, maps, n);
    family(o, "kesm_partition_stuck", "gauge",
           "1 while the partition has lag and its processed offset has not moved for the stuck "
           "time (kesm serve --stuck-after), else 0.");
    for (size_t i = 0; i < n; i++) {
        for (size_t p = 0; p < maps[i].num_parts; p++) {
            struct lbl l = {&maps[i], &maps[i].parts[p], NULL, NULL, NULL, NULL};
            sample_u(o, "kesm_partition_stuck", &l, maps[i].parts[p].stuck ? 1 : 0);
        }
    }
}

static void counter_family(struct buf *o, const struct esm_metrics_mapping *maps, size_t n,
                           const char *name, const char *help, size_t off)
{
    family(o, name, "counter", help);
    for (size_t i = 0; i < n; i++) {
        if (maps[i].running) {
            uint64_t v;
            memcpy(&v, (const char *)&maps[i] + off, sizeof v);
            struct lbl l = {&maps[i], NULL, NULL, NULL, NULL, NULL};
            sample_u(o, name, &l, v);
        }
    }
}

static void pipeline_families(struct buf *o, const struct esm_metrics_mapping *maps, size_t n)
{
    family(o, "kesm_invocations_total", "counter", "Function invocations by how they ended.");
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; maps[i].running && k < ESM_OUTCOME_COUNT; k++) {
            struct lbl l = {&maps[i], NULL, "outcome", outcome_names[k], NULL, NULL};
            sample_u(o, "kesm_invocations_total", &l, maps[i].invocations[k]);
        }
    }
    counter_family(o, maps, n, "kesm_retries_total",
                   "Invocations retried after a function error or a retryable error.",
                   offsetof(struct esm_metrics_mapping, retries));
    counter_family(
        o, maps, n, "kesm_records_filtered_total",
        "Records that matched no FilterCriteria filter: not delivered, their offsets committed.",
        offsetof(struct esm_metrics_mapping, records_filtered));
    counter_family(o, maps, n, "kesm_records_processed_total",
                   "Records acknowledged after a successful invocation.",
                   offsetof(struct esm_metrics_mapping, records_ok));
    counter_family(o, maps, n, "kesm_records_disposed_total",
                   "Records given up on (on-failure destination or dropped) and acknowledged.",
                   offsetof(struct esm_metrics_mapping, records_disposed));
    counter_family(o, maps, n, "kesm_schema_registry_errors_total",
                   "Schema registry requests that failed and are retried (Lambda's "
                   "SchemaRegistryErrorCount).",
                   offsetof(struct esm_metrics_mapping, registry_errors));
    counter_family(o, maps, n, "kesm_records_rejected_total",
                   "Records whose schema-registry data did not decode (SCHEMA_NOT_FOUND or "
                   "DESERIALIZATION_ERROR), disposed of like failed records.",
                   offsetof(struct esm_metrics_mapping, records_rejected));
    counter_family(o, maps, n, "kesm_rebalances_total",
                   "Partition assignments received from the consumer group.",
                   offsetof(struct esm_metrics_mapping, rebalances));
    counter_family(o, maps, n, "kesm_undecodable_batches_total",
                   "Fetched record batches that could not be decoded (decompressed beyond the "
                   "limit, or corrupt); each is retried, then skipped like an oversized record.",
                   offsetof(struct esm_metrics_mapping, undecodable_batches));
    static const struct {
        const char *name, *help;
        size_t off;
    } gauges[] = {
        {"kesm_records_queued", "Records waiting in the batcher.",
         offsetof(struct esm_metrics_mapping, queued)},
        {"kesm_batches_inflight", "Batches being delivered.",
         offsetof(struct esm_metrics_mapping, inflight)},
        {"kesm_transport_error_seconds",
         "How long invocations have failed with transport errors (endpoint unreachable, "
         "throttled, 5xx), which are retried without counting as retry attempts; 0 while "
         "invocations reach the function.",
         offsetof(struct esm_metrics_mapping, transport_error_seconds)},
    };
    for (size_t k = 0; k < sizeof gauges / sizeof gauges[0]; k++) {
        family(o, gauges[k].name, "gauge", gauges[k].help);
        for (size_t i = 0; i < n; i++) {
            if (maps[i].running) {
                uint64_t v;
                memcpy(&v, (const char *)&maps[i] + gauges[k].off, sizeof v);
                struct lbl l = {&maps[i], NULL, NULL, NULL, NULL, NULL};
                sample_u(o, gauges[k].name, &l, v);
            }
        }
    }
    family(o, "kesm_batch_records", "histogram", "Records per function invocation.");
    for (size_t i = 0; i < n; i++) {
        if (maps[i].running) {
            struct lbl l = {&maps[i], NULL, NULL, NULL, NULL, NULL};
            histogram(o, "kesm_batch_records", &l, &maps[i].batch_records,
                      &esm_batch_records_bounds);
        }
    }
    family(o, "kesm_invoke_duration_seconds", "histogram",
           "Time from submitting an invocation to its result.");
    for (size_t i = 0; i < n; i++) {
        if (maps[i].running) {
            struct lbl l = {&maps[i], NULL, NULL, NULL, NULL, NULL};
            histogram(o, "kesm_invoke_duration_seconds", &l, &maps[i].invoke_seconds,
                      &esm_invoke_seconds_bounds);
        }
    }
    family(o, "kesm_broker_connections", "gauge",
           "The mapping consumer's broker connections by state.");
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; maps[i].running && k < ESM_CONN_STATES; k++) {
            struct lbl l = {&maps[i], NULL, "state", conn_names[k], NULL, NULL};
            sample_u(o, "kesm_broker_connections", &l, maps[i].connections[k]);
        }
    }
}

char *esm_metrics_format(const struct esm_metrics_mapping *maps, size_t n,
                         const char *const *states, size_t num_states, size_t *out_len)
{
    struct buf o;
    buf_init(&o);
    family(&o, "kesm_mappings", "gauge", "Event source mappings this kesm serve manages.");
    buf_addf(&o, "kesm_mappings %zu\n", n);
    mapping_families(&o, maps, n, states, num_states);
    partition_families(&o, maps, n);
    pipeline_families(&o, maps, n);
    esm_metrics_aws_write(&o, maps, n);
    return buf_steal(&o, out_len);
}
