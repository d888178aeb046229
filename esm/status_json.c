// status_json.c: the status document of GET /status.json (see status.h for its shape).
#include "esm/status.h"
#include "esm/status_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void iso8601(char *out, size_t cap, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

// add_time adds an ISO-8601 time, or null for a negative one.
static void add_time(cJSON *o, const char *name, int64_t ms)
{
    if (ms < 0) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    char t[64];
    iso8601(t, sizeof t, ms);
    cJSON_AddStringToObject(o, name, t);
}

// add_offset adds a number, or null for a negative one (unknown).
static void add_offset(cJSON *o, const char *name, int64_t v)
{
    if (v < 0) {
        cJSON_AddNullToObject(o, name);
    } else {
        cJSON_AddNumberToObject(o, name, (double)v);
    }
}

static double round3(double v)
{
    return (double)(long long)(v * 1000.0 + 0.5) / 1000.0;
}

static void add_sample_value(cJSON *a, bool has, double v)
{
    cJSON_AddItemToArray(a, has ? cJSON_CreateNumber(round3(v)) : cJSON_CreateNull());
}

static void add_samples(cJSON *o, const struct esm_status *st, const struct trk_map *m,
                        const struct esm_metrics_mapping *mm)
{
    cJSON *tp = cJSON_AddObjectToObject(o, "Throughput");
    cJSON *lat = cJSON_AddObjectToObject(o, "InvokeLatency");
    if (!tp || !lat) {
        return;
    }
    cJSON_AddStringToObject(tp, "Unit", "records/s");
    cJSON_AddStringToObject(lat, "Unit", "ms");
    cJSON *rate = cJSON_AddArrayToObject(tp, "Values");
    cJSON *mean = cJSON_AddArrayToObject(lat, "Mean");
    cJSON *p95 = cJSON_AddArrayToObject(lat, "P95");
    if (!rate || !mean || !p95 || !m) {
        return;
    }
    for (size_t i = 0; i < m->ring_n; i++) {
        const struct st_sample *s = &m->ring[(m->ring_head + i) % ESM_STATUS_SAMPLES];
        add_sample_value(rate, true, s->rate);
        add_sample_value(mean, s->has_latency, s->mean_ms);
        add_sample_value(p95, s->has_latency, s->p95_ms);
    }
    // the interval in progress, once a second of it has passed
    int64_t now = st_mono(st);
    if (now - m->sample_start >= 1000) {
        struct st_sample s;
        st_sample_compute(&s, m, mm->running ? mm->records_ok : 0, &mm->invoke_seconds, now);
        add_sample_value(rate, true, s.rate);
        add_sample_value(mean, s.has_latency, s.mean_ms);
        add_sample_value(p95, s.has_latency, s.p95_ms);
    }
}

static cJSON *part_json(const struct esm_status *st, const struct trk_part *t,
                        const struct esm_metrics_part *p)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        return NULL;
    }
    cJSON_AddStringToObject(o, "Topic", p->topic ? p->topic : "");
    cJSON_AddNumberToObject(o, "Partition", p->partition);
    add_offset(o, "CommittedOffset", p->committed);
    add_offset(o, "ProcessedOffset", p->processed);
    add_offset(o, "HighWatermark", p->high_watermark);
    add_offset(o, "OffsetLag", p->lag);
    cJSON_AddNumberToObject(o, "BatchesInFlight", p->inflight);
    cJSON_AddBoolToObject(o, "Paused", p->paused);
    add_time(o, "LastDeliveryTime", p->last_delivery_ms);
    bool stuck = t && t->stuck;
    cJSON_AddBoolToObject(o, "Stuck", stuck);
    if (stuck) {
        cJSON_AddNumberToObject(o, "StuckSeconds", (double)((st_mono(st) - t->since) / 1000));
        cJSON_AddStringToObject(o, "StuckCause", t->cause);
    } else {
        cJSON_AddNullToObject(o, "StuckSeconds");
        cJSON_AddNullToObject(o, "StuckCause");
    }
    return o;
}

// mapping_json builds one mapping; *out_stuck says whether a partition of it is stuck.
static cJSON *mapping_json(const struct esm_status *st, const struct esm_metrics_mapping *mm,
                           bool *out_stuck)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        return NULL;
    }
    const struct trk_map *m = st_find_map(st, mm->uuid);
    cJSON_AddStringToObject(o, "UUID", mm->uuid);
    cJSON_AddStringToObject(o, "FunctionArn", mm->function ? mm->function : "");
    cJSON_AddStringToObject(o, "Topic", mm->topic ? mm->topic : "");
    cJSON_AddStringToObject(o, "State", mm->state ? mm->state : "");
    cJSON_AddStringToObject(o, "StateTransitionReason", mm->reason ? mm->reason : "");
    cJSON_AddStringToObject(o, "LastProcessingResult", mm->last_result ? mm->last_result : "");
    cJSON_AddBoolToObject(o, "Running", mm->running);
    int64_t lag = -1;
    cJSON *parts = cJSON_CreateArray();
    *out_stuck = false;
    for (size_t i = 0; parts && i < mm->num_parts; i++) {
        const struct esm_metrics_part *p = &mm->parts[i];
        const struct trk_part *t = st_find_part(m, p->topic ? p->topic : "", p->partition);
        *out_stuck = *out_stuck || (t && t->stuck);
        if (p->lag >= 0) {
            lag = (lag < 0 ? 0 : lag) + p->lag;
        }
        cJSON_AddItemToArray(parts, part_json(st, t, p));
    }
    cJSON_AddBoolToObject(o, "Stuck", *out_stuck);
    add_offset(o, "OffsetLag", lag);
    cJSON_AddNumberToObject(o, "BatchesInFlight", (double)mm->inflight);
    cJSON_AddNumberToObject(o, "RecordsQueued", (double)mm->queued);
    cJSON_AddNumberToObject(o, "BrokersReady", (double)mm->connections[ESM_CONN_READY]);
    if (parts) {
        cJSON_AddItemToObject(o, "Partitions", parts);
    }
    add_samples(o, st, m, mm);
    return o;
}

static cJSON *errors_json(struct esm_status *st)
{
    cJSON *a = cJSON_CreateArray();
    pthread_mutex_lock(&st->err_lock);
    for (size_t i = 0; a && i < st->num_errors; i++) {
        const struct st_error *e = &st->errors[(st->err_head + i) % ESM_STATUS_ERRORS];
        cJSON *o = cJSON_CreateObject();
        if (!o) {
            continue;
        }
        add_time(o, "Time", e->time_ms);
        cJSON_AddStringToObject(o, "Level", e->level);
        if (e->mapping[0]) {
            cJSON_AddStringToObject(o, "Mapping", e->mapping);
        } else {
            cJSON_AddNullToObject(o, "Mapping");
        }
        cJSON_AddStringToObject(o, "Message", e->message);
        cJSON_AddNumberToObject(o, "Count", e->count);
        cJSON_AddItemToArray(a, o);
    }
    pthread_mutex_unlock(&st->err_lock);
    return a;
}

static cJSON *header_json(const struct esm_status *st)
{
    cJSON *k = cJSON_CreateObject();
    if (k) {
        cJSON_AddStringToObject(k, "Version", st->cfg.version);
        add_time(k, "Time", st_wall(st));
        cJSON_AddNumberToObject(k, "StuckAfterSeconds", st->cfg.stuck_after_s);
        cJSON_AddNumberToObject(k, "SampleSeconds", ESM_STATUS_SAMPLE_MS / 1000);
        cJSON_AddNumberToObject(k, "WindowSeconds",
                                ESM_STATUS_SAMPLES * (ESM_STATUS_SAMPLE_MS / 1000));
    }
    return k;
}

char *esm_status_json(struct esm_status *st, size_t *out_len)
{
    struct esm_metrics_mapping *maps = NULL;
    size_t n = 0;
    if (esm_manager_metrics(st->mgr, &maps, &n) != 0) {
        return NULL;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON *sum = cJSON_CreateObject();
    cJSON *list = cJSON_CreateArray();
    size_t running = 0, stuck = 0, problems = 0, stopped = 0;
    for (size_t i = 0; list && i < n; i++) {
        bool s = false;
        cJSON_AddItemToArray(list, mapping_json(st, &maps[i], &s));
        running += maps[i].running ? 1 : 0;
        stuck += s ? 1 : 0;
        problems += maps[i].last_result && !strncmp(maps[i].last_result, "PROBLEM", 7) ? 1 : 0;
        stopped += maps[i].reason && !strcmp(maps[i].state, "Disabled") &&
                           strcmp(maps[i].reason, "USER_INITIATED") != 0
                       ? 1
                       : 0;
    }
    if (sum) {
        cJSON_AddNumberToObject(sum, "Mappings", (double)n);
        cJSON_AddNumberToObject(sum, "Running", (double)running);
        cJSON_AddNumberToObject(sum, "Stuck", (double)stuck);
        cJSON_AddNumberToObject(sum, "Problems", (double)problems);
        cJSON_AddNumberToObject(sum, "Stopped", (double)stopped);
    }
    char *text = NULL;
    if (doc && sum && list) {
        cJSON_AddItemToObject(doc, "Kesm", header_json(st));
        cJSON_AddItemToObject(doc, "Summary", sum);
        cJSON_AddItemToObject(doc, "EventSourceMappings", list);
        cJSON_AddItemToObject(doc, "RecentErrors", errors_json(st));
        text = cJSON_PrintUnformatted(doc);
    } else {
        cJSON_Delete(sum);
        cJSON_Delete(list);
    }
    cJSON_Delete(doc);
    for (size_t i = 0; i < n; i++) {
        esm_metrics_mapping_cleanup(&maps[i]);
    }
    free(maps);
    if (text) {
        *out_len = strlen(text);
    }
    return text;
}
