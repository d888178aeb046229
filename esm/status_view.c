// status_view.c: the terminal view of the status JSON (see status_view.h).
#include "esm/status_view.h"

#include "base/buf.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_STRING 400

static void addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) {
        buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
    }
}

// safe copies a JSON string member for a terminal: "-" when absent; control bytes (ESC, CR,
// ...) become '?'; cut at MAX_STRING bytes.
static const char *safe(char *out, size_t cap, const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    const char *s = cJSON_IsString(v) && v->valuestring ? v->valuestring : "-";
    size_t i = 0;
    for (; s[i] && i + 1 < cap && i < MAX_STRING; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[i] = '\0';
    return out;
}

// num writes an integer member ("-" when absent, null or not a finite integer-sized number).
static const char *num(char *out, size_t cap, const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || fabs(v->valuedouble) > 9.0e15) {
        snprintf(out, cap, "-");
    } else {
        snprintf(out, cap, "%.0f", v->valuedouble);
    }
    return out;
}

static bool is_true(const cJSON *o, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, name));
}

static bool str_is(const cJSON *o, const char *name, const char *want)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) && v->valuestring && !strcmp(v->valuestring, want);
}

static bool str_starts(const cJSON *o, const char *name, const char *prefix)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) && v->valuestring && !strncmp(v->valuestring, prefix, strlen(prefix));
}

// health names the mapping's health (status_view.h); *attention is set for STUCK and STOPPED.
static const char *health(const cJSON *m, char *buf, size_t cap, bool *attention)
{
    if (is_true(m, "Stuck")) {
        *attention = true;
        return "STUCK";
    }
    if (str_is(m, "State", "Disabled") && !str_is(m, "StateTransitionReason", "USER_INITIATED")) {
        *attention = true;
        return "STOPPED";
    }
    if (str_starts(m, "LastProcessingResult", "PROBLEM")) {
        return "PROBLEM";
    }
    if (str_is(m, "State", "Disabled")) {
        return "DISABLED";
    }
    if (!str_is(m, "State", "Enabled")) {
        safe(buf, cap, m, "State");
        for (char *p = buf; *p; p++) {
            *p = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        }
        return buf;
    }
    return "OK";
}

// function_name: the name in a function ARN (after ":function:"), else the whole string.
static const char *function_name(char *buf)
{
    char *f = strstr(buf, ":function:");
    if (!f) {
        return buf;
    }
    f += 10;
    f[strcspn(f, ":")] = '\0';
    return f;
}

static void partition_line(struct buf *b, const cJSON *p)
{
    char topic[MAX_STRING + 1], part[32], c[32], hw[32], lag[32], fl[32], last[64], cause[128],
        secs[32];
    addf(b, "         %s-%s  committed %s  high watermark %s  lag %s  in flight %s",
         safe(topic, sizeof topic, p, "Topic"), num(part, sizeof part, p, "Partition"),
         num(c, sizeof c, p, "CommittedOffset"), num(hw, sizeof hw, p, "HighWatermark"),
         num(lag, sizeof lag, p, "OffsetLag"), num(fl, sizeof fl, p, "BatchesInFlight"));
    const cJSON *ld = cJSON_GetObjectItemCaseSensitive(p, "LastDeliveryTime");
    addf(b, "  last delivery %s",
         cJSON_IsString(ld) ? safe(last, sizeof last, p, "LastDeliveryTime") : "never");
    if (is_true(p, "Stuck")) {
        addf(b, "  STUCK %s s (%s)", num(secs, sizeof secs, p, "StuckSeconds"),
             safe(cause, sizeof cause, p, "StuckCause"));
    } else if (is_true(p, "Paused")) {
        addf(b, "  PAUSED");
    }
    buf_addc(b, '\n');
}

static void mapping_line(struct buf *b, const cJSON *m, bool verbose, bool *attention, size_t *ok)
{
    char hbuf[32], uuid[MAX_STRING + 1], state[MAX_STRING + 1], lag[32], fn[MAX_STRING + 1],
        topic[MAX_STRING + 1], result[MAX_STRING + 1];
    const char *h = health(m, hbuf, sizeof hbuf, attention);
    *ok += !strcmp(h, "OK") ? 1 : 0;
    safe(fn, sizeof fn, m, "FunctionArn");
    char ft[2 * MAX_STRING + 4];
    snprintf(ft, sizeof ft, "%s / %s", function_name(fn), safe(topic, sizeof topic, m, "Topic"));
    addf(b, "%-8s %-37s %-10s %-9s %-18s ", h, safe(uuid, sizeof uuid, m, "UUID"),
         safe(state, sizeof state, m, "State"), num(lag, sizeof lag, m, "OffsetLag"), ft);
    buf_adds(b, safe(result, sizeof result, m, "LastProcessingResult"));
    buf_addc(b, '\n');
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(m, "Partitions");
    const cJSON *p;
    if (verbose && cJSON_IsArray(parts)) {
        cJSON_ArrayForEach(p, parts)
        {
            if (cJSON_IsObject(p)) {
                partition_line(b, p);
            }
        }
    }
}

enum esm_status_verdict esm_status_view(const char *json, size_t len, bool verbose, char **out)
{
    struct buf b, body;
    buf_init(&b);
    buf_init(&body);
    cJSON *doc = cJSON_ParseWithLength(json, len);
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(doc, "Kesm");
    const cJSON *maps = cJSON_GetObjectItemCaseSensitive(doc, "EventSourceMappings");
    if (!cJSON_IsObject(doc) || !cJSON_IsObject(k) || !cJSON_IsArray(maps)) {
        buf_adds(&b, doc ? "the answer is not a kesm status document (no Kesm object and "
                           "EventSourceMappings array)"
                         : "the answer is not JSON");
        cJSON_Delete(doc);
        *out = buf_steal(&b, &len);
        return ESM_STATUS_INVALID;
    }
    bool attention = false;
    size_t n = 0, ok = 0, stuck = 0;
    const cJSON *m;
    addf(&body, "%-8s %-37s %-10s %-9s %-18s %s\n", "HEALTH", "UUID", "STATE", "LAG",
         "FUNCTION / TOPIC", "RESULT");
    cJSON_ArrayForEach(m, maps)
    {
        if (!cJSON_IsObject(m)) {
            continue;
        }
        n++;
        stuck += is_true(m, "Stuck") ? 1 : 0;
        mapping_line(&body, m, verbose, &attention, &ok);
    }
    char ver[64], after[32];
    addf(&b, "kesm %s: %zu mapping%s, %zu OK, %zu stuck; stuck after %s s\n",
         safe(ver, sizeof ver, k, "Version"), n, n == 1 ? "" : "s", ok, stuck,
         num(after, sizeof after, k, "StuckAfterSeconds"));
    if (n > 0) {
        buf_add(&b, body.p, body.len);
    }
    buf_cleanup(&body);
    cJSON_Delete(doc);
    *out = buf_steal(&b, &len);
    return attention ? ESM_STATUS_ATTENTION : ESM_STATUS_FINE;
}
