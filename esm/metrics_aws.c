// metrics_aws.c: the event source mapping metrics AWS publishes to CloudWatch, under AWS's own
// names, for the groups a mapping's MetricsConfig turns on (see esm_metrics_aws_write in
// metrics.h). Only running mappings have them (AWS emits nothing while a mapping is disabled).
#include "base/buf.h"
#include "esm/metrics.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct family {
    unsigned group; // ESM_METRICS_* bit of esm/config.h (1 EventCount, 2 ErrorCount, 4 Kafka)
    const char *name, *type, *help;
    size_t off; // into struct esm_metrics_aws; SIZE_MAX: computed from the partitions
};

#define AWS_OFF(m) offsetof(struct esm_metrics_aws, m)

static const struct family families[] = {
    {1, "PolledEventCount", "counter", "Records read from Kafka (EventCount).", AWS_OFF(polled)},
    {1, "FilteredOutEventCount", "counter", "Records that matched no FilterCriteria filter.",
     AWS_OFF(filtered)},
    {1, "InvokedEventCount", "counter",
     "Records sent to the function, once per invocation (retries count again).", AWS_OFF(invoked)},
    {1, "FailedInvokeEventCount", "counter",
     "Records of failed invocations, and records named in batchItemFailures.",
     AWS_OFF(failed_invoke)},
    {1, "DroppedEventCount", "counter",
     "Records given up on without an on-failure destination (retries or record age exhausted).",
     AWS_OFF(dropped)},
    {1, "OnFailureDestinationDeliveredEventCount", "counter",
     "Records whose failure record reached the on-failure destination.", AWS_OFF(dest_delivered)},
    {1, "CommittedEventCount", "counter",
     "Offsets acknowledged for commit (the consumer commits them every KESM_COMMIT_INTERVAL_MS).",
     AWS_OFF(committed)},
    {2, "PollingErrorCount", "counter", "Errors while reading from Kafka (ErrorCount).",
     AWS_OFF(polling_errors)},
    {2, "InvokeErrorCount", "counter",
     "Invocations that failed (function errors, throttles, service and network errors).",
     AWS_OFF(invoke_errors)},
    {2, "OnFailureDestinationDeliveryErrorCount", "counter",
     "Failed attempts to deliver to the on-failure destination (each is retried).",
     AWS_OFF(dest_errors)},
    {2, "CommitErrorCount", "counter", "Partition offset commits that failed.",
     AWS_OFF(commit_errors)},
    {2, "SchemaRegistryErrorCount", "counter",
     "Schema registry lookups that failed (only with SchemaRegistryConfig).",
     AWS_OFF(schema_registry_errors)},
    {4, "MaxOffsetLag", "gauge",
     "KafkaMetrics: the largest high watermark minus committed offset over the partitions.",
     SIZE_MAX},
    {4, "SumOffsetLag", "gauge",
     "KafkaMetrics: the sum of high watermark minus committed offset over the partitions.",
     SIZE_MAX},
};

static void escaped(struct buf *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"') {
            buf_addc(b, '\\');
            buf_addc(b, *s);
        } else if (*s == '\n') {
            buf_adds(b, "\\n");
        } else {
            buf_addc(b, *s);
        }
    }
}

// kafka_lag computes MaxOffsetLag (max) or SumOffsetLag over the partitions with a committed
// offset and a known high watermark; false when there is none.
static bool kafka_lag(const struct esm_metrics_mapping *m, bool max, int64_t *out)
{
    bool any = false;
    int64_t v = 0;
    for (size_t p = 0; p < m->num_parts; p++) {
        const struct esm_metrics_part *pt = &m->parts[p];
        if (pt->committed < 0 || pt->high_watermark < 0) {
            continue;
        }
        int64_t lag = pt->high_watermark - pt->committed;
        lag = lag > 0 ? lag : 0;
        v = max ? (lag > v ? lag : v) : v + lag;
        any = true;
    }
    *out = v;
    return any;
}

void esm_metrics_aws_write(struct buf *b, const struct esm_metrics_mapping *maps, size_t n)
{
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        const struct family *fa = &families[f];
        bool header = false;
        for (size_t i = 0; i < n; i++) {
            const struct esm_metrics_mapping *m = &maps[i];
            if (!m->running || (m->aws.groups & fa->group) == 0) {
                continue;
            }
            char num[32];
            if (fa->off == SIZE_MAX) {
                int64_t v;
                if (!kafka_lag(m, fa->name[0] == 'M', &v)) {
                    continue;
                }
                snprintf(num, sizeof num, "%" PRId64, v);
            } else {
                uint64_t v;
                memcpy(&v, (const char *)&m->aws + fa->off, sizeof v);
                snprintf(num, sizeof num, "%" PRIu64, v);
            }
            if (!header) {
                buf_adds(b, "# HELP ");
                buf_adds(b, fa->name);
                buf_addc(b, ' ');
                buf_adds(b, fa->help);
                buf_adds(b, "\n# TYPE ");
                buf_adds(b, fa->name);
                buf_addc(b, ' ');
                buf_adds(b, fa->type);
                buf_addc(b, '\n');
                header = true;
            }
            buf_adds(b, fa->name);
            buf_adds(b, "{uuid=\"");
            escaped(b, m->uuid);
            buf_adds(b, "\",function=\"");
            escaped(b, m->function);
            buf_adds(b, "\"} ");
            buf_adds(b, num);
            buf_addc(b, '\n');
        }
    }
}
