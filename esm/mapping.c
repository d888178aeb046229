// mapping.c: the set of mappings, their lifecycle, transitions and persistence (see mapping.h); the
// API operations are mapping_ops.c's.
#include "esm/mapping.h"

#include "esm/json_guard.h"
#include "esm/mapping_int.h"
#include "esm/metrics.h"
#include "esm/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>

static const char *const state_names[] = {"Creating", "Enabling", "Enabled", "Disabling",
                                          "Disabled", "Updating", "Deleting"};
static const char *const reason_names[] = {
    "USER_INITIATED",           "ESM_CONFIG_NOT_VALID",      "EVENT_SOURCE_AUTHN_ERROR",
    "EVENT_SOURCE_AUTHZ_ERROR", "FUNCTION_CONFIG_NOT_VALID", "KESM_CONSUMER_NOT_AVAILABLE",
};

const char *esm_state_name(enum esm_state s)
{
    return (size_t)s < 7 ? state_names[s] : "?";
}

const char *esm_reason_name(enum esm_reason r)
{
    return (size_t)r < 6 ? reason_names[r] : "?";
}

bool esm_state_is_transitional(enum esm_state s)
{
    switch (s) {
    case ESM_STATE_ENABLED:
    case ESM_STATE_DISABLED:
        return false;
    case ESM_STATE_CREATING:
    case ESM_STATE_ENABLING:
    case ESM_STATE_DISABLING:
    case ESM_STATE_UPDATING:
    case ESM_STATE_DELETING:
        return true;
    }
    return true;
}

const struct esm_config *esm_mapping_config(const struct esm_mapping *m)
{
    return &m->cfg;
}

const char *esm_mapping_uuid(const struct esm_mapping *m)
{
    return m->uuid;
}

enum esm_state esm_mapping_state(const struct esm_mapping *m)
{
    return m->state;
}

void esm_mapping_set_runner_data(struct esm_mapping *m, void *data)
{
    m->runner_data = data;
}

void *esm_mapping_runner_data(const struct esm_mapping *m)
{
    return m->runner_data;
}

// ---- helpers ---------------------------------------------------------------------------------

void map_log(struct esm_manager *mgr, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (mgr->cfg.log) {
        mgr->cfg.log(mgr->cfg.log_ctx, line);
    } else {
        fprintf(stderr, "kesm: %s\n", line);
    }
}

static double now_s(struct esm_manager *mgr)
{
    if (mgr->cfg.now) {
        return mgr->cfg.now(mgr->cfg.now_ctx);
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    // Millisecond precision, as Lambda shows (1735689600.123).
    return (double)tv.tv_sec + (double)(tv.tv_usec / 1000) / 1000.0;
}

struct esm_parse_opts map_parse_opts(struct esm_manager *mgr)
{
    struct esm_parse_opts o = {now_s(mgr), mgr->cfg.region, mgr->cfg.account};
    return o;
}

void esm_uuid_v4(char out[37])
{
    uint8_t b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        srand((unsigned)(tv.tv_sec ^ tv.tv_usec));
        for (size_t i = 0; i < sizeof b; i++) {
            b[i] = (uint8_t)rand();
        }
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

// map_set_result keeps |text| as LastProcessingResult, made valid UTF-8 without control
// characters (it may quote a function's error output, which is any bytes) and at most 1 KiB long.
bool map_set_result(struct esm_mapping *m, const char *text)
{
    char clean[1100];
    char *d = strdup(esm_utf8_sanitize(clean, sizeof clean, text, strlen(text)));
    if (!d) {
        return false;
    }
    free(m->last_result);
    m->last_result = d;
    return true;
}

struct esm_mapping *map_find(struct esm_manager *mgr, const char *uuid)
{
    for (struct esm_mapping *m = mgr->head; m; m = m->next) {
        if (uuid && !strcmp(m->uuid, uuid)) {
            return m;
        }
    }
    return NULL;
}

void map_link_sorted(struct esm_manager *mgr, struct esm_mapping *m)
{
    struct esm_mapping **pp = &mgr->head;
    while (*pp && (*pp)->seq < m->seq) {
        pp = &(*pp)->next;
    }
    m->next = *pp;
    *pp = m;
}

// shown_result is LastProcessingResult as the API shows it: a stuck partition's PROBLEM wins.
static const char *shown_result(const struct esm_mapping *m)
{
    if (m->stuck_result) {
        return m->stuck_result;
    }
    return m->last_result ? m->last_result : "No records processed";
}

static void clear_stuck(struct esm_mapping *m)
{
    free(m->stuck_result);
    m->stuck_result = NULL;
}

void map_free(struct esm_mapping *m)
{
    esm_config_cleanup(&m->cfg);
    free(m->last_result);
    free(m->stuck_result);
    free(m);
}

cJSON *map_snapshot(const struct esm_mapping *m)
{
    struct esm_config_meta meta = {m->uuid, esm_state_name(m->state), esm_reason_name(m->reason),
                                   shown_result(m), m->last_modified};
    return esm_config_to_response(&m->cfg, &meta);
}

// ---- persistence -----------------------------------------------------------------------------

int map_save(struct esm_manager *mgr, struct esm_mapping *m, char *why, size_t why_len)
{
    if (!mgr->cfg.store || mgr->shutting_down) {
        return 0;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    cJSON_AddNumberToObject(o, "KesmStateVersion", 1);
    cJSON_AddStringToObject(o, "UUID", m->uuid);
    cJSON_AddNumberToObject(o, "Seq", (double)m->seq);
    cJSON_AddStringToObject(o, "State", esm_state_name(m->state));
    cJSON_AddStringToObject(o, "StateTransitionReason", esm_reason_name(m->reason));
    cJSON_AddStringToObject(o, "LastProcessingResult", m->last_result ? m->last_result : "");
    cJSON_AddNumberToObject(o, "LastModified", m->last_modified);
    cJSON_AddItemToObject(o, "Request", cJSON_Duplicate(m->cfg.request, true));
    // Compact: what the API accepted (at most ESM_API_MAX_BODY bytes) always fits the store's
    // file limit this way.
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    int rc = esm_store_save(mgr->cfg.store, m->uuid, text, strlen(text), why, why_len);
    free(text);
    return rc;
}

static void save_or_log(struct esm_manager *mgr, struct esm_mapping *m)
{
    char why[512];
    if (map_save(mgr, m, why, sizeof why) != 0) {
        map_log(mgr, "mapping %s: cannot persist its state: %s", m->uuid, why);
    }
}

// ---- transitions -----------------------------------------------------------------------------

static void finalize_delete(struct esm_manager *mgr, struct esm_mapping *m)
{
    char why[512];
    if (mgr->cfg.store && esm_store_remove(mgr->cfg.store, m->uuid, why, sizeof why) != 0) {
        map_log(mgr, "mapping %s: deleted, but its state file stays: %s", m->uuid, why);
    }
    for (struct esm_mapping **pp = &mgr->head; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
    map_log(mgr, "mapping %s: deleted", m->uuid);
    map_free(m);
}

static void request_stop(struct esm_manager *mgr, struct esm_mapping *m)
{
    if (!m->stop_requested) {
        m->stop_requested = true;
        mgr->runner.ops->stop(mgr->runner.impl, m);
    }
}

// reconcile moves |m| toward what its configuration asks for. Called after the caller has taken
// its response snapshot; runner calls come last because a runner may report synchronously (and
// free the mapping, for a delete).
void map_reconcile(struct esm_manager *mgr, struct esm_mapping *m)
{
    if (m->state == ESM_STATE_DELETING) {
        if (m->active) {
            request_stop(mgr, m);
        } else {
            finalize_delete(mgr, m);
        }
        return;
    }
    if (m->cfg.enabled && !m->active) {
        m->active = true;
        m->stop_requested = false;
        mgr->runner.ops->start(mgr->runner.impl, m);
    } else if (m->cfg.enabled) {
        mgr->runner.ops->update(mgr->runner.impl, m);
    } else if (m->active) {
        request_stop(mgr, m);
    } else {
        m->state = ESM_STATE_DISABLED;
        save_or_log(mgr, m);
    }
}

void esm_manager_on_running(struct esm_manager *mgr, struct esm_mapping *m)
{
    clear_stuck(m);
    switch (m->state) {
    case ESM_STATE_CREATING:
    case ESM_STATE_ENABLING:
    case ESM_STATE_UPDATING:
        m->state = ESM_STATE_ENABLED;
        m->reason = ESM_REASON_USER_INITIATED;
        save_or_log(mgr, m);
        break;
    case ESM_STATE_ENABLED:
    case ESM_STATE_DISABLING:
    case ESM_STATE_DISABLED:
    case ESM_STATE_DELETING:
        break;
    }
}

void esm_manager_on_stopped(struct esm_manager *mgr, struct esm_mapping *m, enum esm_reason reason,
                            const char *detail)
{
    m->active = false;
    m->stop_requested = false;
    m->runner_data = NULL;
    clear_stuck(m);
    if (m->state == ESM_STATE_DELETING) {
        finalize_delete(mgr, m);
        return;
    }
    if (mgr->shutting_down) {
        return;
    }
    m->state = ESM_STATE_DISABLED;
    m->reason = reason;
    if (reason != ESM_REASON_USER_INITIATED) {
        char text[1100];
        snprintf(text, sizeof text, "PROBLEM: %s", detail && *detail ? detail : "stopped");
        map_set_result(m, text);
        map_log(mgr, "mapping %s: stopped: %s: %s", m->uuid, esm_reason_name(reason),
                detail ? detail : "");
    }
    save_or_log(mgr, m);
}

void esm_manager_on_result(struct esm_manager *mgr, struct esm_mapping *m, const char *result)
{
    if (m->last_result && !strcmp(m->last_result, result)) {
        return;
    }
    map_set_result(m, result);
    save_or_log(mgr, m);
}

// ---- manager ---------------------------------------------------------------------------------

static void noop_runner_call(void *impl, struct esm_mapping *m)
{
    (void)impl;
    (void)m;
}

static void noop_runner_free(void *impl)
{
    (void)impl;
}

struct esm_manager *esm_manager_new(const struct esm_manager_config *cfg)
{
    struct esm_manager *mgr = calloc(1, sizeof *mgr);
    if (!mgr) {
        return NULL;
    }
    if (cfg) {
        mgr->cfg = *cfg;
    }
    mgr->next_seq = 1;
    mgr->runner = esm_runner_unavailable(mgr);
    return mgr;
}

void esm_manager_set_runner(struct esm_manager *mgr, struct esm_runner runner)
{
    if (mgr->runner.ops && mgr->runner.ops->free) {
        mgr->runner.ops->free(mgr->runner.impl);
    }
    mgr->runner = runner;
}

void esm_manager_free(struct esm_manager *mgr)
{
    if (!mgr) {
        return;
    }
    // The runner first: freeing what it still runs clears each mapping's runner data, so the
    // mappings must outlive it (the other order wrote into freed mappings at shutdown).
    if (mgr->runner.ops && mgr->runner.ops->free) {
        mgr->runner.ops->free(mgr->runner.impl);
    }
    struct esm_mapping *m = mgr->head;
    while (m) {
        struct esm_mapping *next = m->next;
        map_free(m);
        m = next;
    }
    free(mgr);
}

void esm_manager_set_runner_metrics(struct esm_manager *mgr, esm_runner_metrics_fn fn)
{
    mgr->runner_metrics = fn;
}

void esm_manager_set_metrics_hook(struct esm_manager *mgr, esm_metrics_hook_fn fn, void *ctx)
{
    mgr->metrics_hook = fn;
    mgr->metrics_hook_ctx = ctx;
}

int esm_manager_set_stuck(struct esm_manager *mgr, const char *uuid, const char *problem)
{
    struct esm_mapping *m = map_find(mgr, uuid);
    if (!m) {
        return -1;
    }
    if (!problem) {
        clear_stuck(m);
        return 0;
    }
    if (m->stuck_result && !strcmp(m->stuck_result, problem)) {
        return 0;
    }
    char *d = strdup(problem);
    if (!d) {
        return -1;
    }
    free(m->stuck_result);
    m->stuck_result = d;
    return 0;
}

int esm_manager_metrics(struct esm_manager *mgr, struct esm_metrics_mapping **out, size_t *out_n)
{
    size_t n = esm_manager_count(mgr), i = 0;
    struct esm_metrics_mapping *v = calloc(n ? n : 1, sizeof *v);
    if (!v) {
        return -1;
    }
    for (struct esm_mapping *m = mgr->head; m && i < n; m = m->next, i++) {
        v[i].uuid = strdup(m->uuid);
        v[i].function = strdup(m->cfg.fn.arn ? m->cfg.fn.arn : "");
        v[i].state = esm_state_name(m->state);
        v[i].reason = esm_reason_name(m->reason);
        v[i].topic = strdup(m->cfg.topic ? m->cfg.topic : "");
        v[i].last_result = strdup(shown_result(m));
        if (m->active && mgr->runner_metrics) {
            mgr->runner_metrics(mgr->runner.impl, m, &v[i]);
        }
        if (!v[i].uuid || !v[i].function || !v[i].topic || !v[i].last_result) {
            for (size_t k = 0; k <= i; k++) {
                esm_metrics_mapping_cleanup(&v[k]);
            }
            free(v);
            return -1;
        }
    }
    if (mgr->metrics_hook) {
        mgr->metrics_hook(mgr->metrics_hook_ctx, v, i);
    }
    *out = v;
    *out_n = i;
    return 0;
}

unsigned esm_manager_count(const struct esm_manager *mgr)
{
    unsigned n = 0;
    for (const struct esm_mapping *m = mgr->head; m; m = m->next) {
        n++;
    }
    return n;
}

unsigned esm_manager_active(const struct esm_manager *mgr)
{
    unsigned n = 0;
    for (const struct esm_mapping *m = mgr->head; m; m = m->next) {
        n += m->active ? 1u : 0u;
    }
    return n;
}

unsigned esm_manager_stop_all(struct esm_manager *mgr)
{
    mgr->shutting_down = true;
    // Collect first: a synchronous on_stopped for a Deleting mapping unlinks it.
    unsigned n = esm_manager_count(mgr), waiting = 0;
    struct esm_mapping **all = calloc(n + 1, sizeof *all);
    if (!all) {
        return n;
    }
    unsigned i = 0;
    for (struct esm_mapping *m = mgr->head; m; m = m->next) {
        all[i++] = m;
    }
    for (i = 0; i < n; i++) {
        if (all[i]->active) {
            request_stop(mgr, all[i]);
        }
    }
    free(all);
    waiting = esm_manager_active(mgr);
    return waiting;
}

// ---- restore ---------------------------------------------------------------------------------

static bool restore_one(void *ctx, const char *name, const char *text, size_t len, char *why,
                        size_t why_len)
{
    struct esm_manager *mgr = ctx;
    struct esm_json_limits lim;
    esm_json_limits_request(&lim);
    lim.max_depth++; // the request sits one level down in the state file
    char jwhy[300];
    cJSON *o = esm_json_parse_guarded(text, len, &lim, jwhy, sizeof jwhy);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "UUID");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(o, "Seq");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(o, "Request");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "State");
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(o, "LastProcessingResult");
    const cJSON *mod = cJSON_GetObjectItemCaseSensitive(o, "LastModified");
    char expect[64];
    bool ok = false;
    struct esm_mapping *m = NULL;
    if (!o) {
        if (!strncmp(jwhy, "syntax error", 12)) {
            snprintf(why, why_len, "not valid JSON");
        } else {
            snprintf(why, why_len, "not accepted JSON: %s", jwhy);
        }
        goto out;
    }
    if (!cJSON_IsString(u) || strlen(u->valuestring) != 36 || !cJSON_IsNumber(seq) ||
        seq->valuedouble < 1 || !cJSON_IsObject(req) || !cJSON_IsString(st) ||
        !cJSON_IsString(res) || !cJSON_IsNumber(mod)) {
        snprintf(why, why_len,
                 "missing or mistyped UUID, Seq, Request, State, LastProcessingResult or "
                 "LastModified");
        goto out;
    }
    snprintf(expect, sizeof expect, "%s.json", u->valuestring);
    if (strcmp(expect, name) != 0 || map_find(mgr, u->valuestring)) {
        snprintf(why, why_len, "its UUID %s does not match the file name", u->valuestring);
        goto out;
    }
    m = calloc(1, sizeof *m);
    struct esm_parse_opts po = {0, mgr->cfg.region, mgr->cfg.account};
    struct esm_cfg_err err;
    if (!m || !esm_config_parse(&m->cfg, req, &po, &err)) {
        snprintf(why, why_len, "invalid stored request: %s", m ? err.message : "out of memory");
        free(m);
        goto out;
    }
    memcpy(m->uuid, u->valuestring, 37);
    m->seq = (uint64_t)seq->valuedouble;
    m->last_modified = mod->valuedouble;
    m->state = !strcmp(st->valuestring, "Deleting") ? ESM_STATE_DELETING
               : m->cfg.enabled                     ? ESM_STATE_ENABLING
                                                    : ESM_STATE_DISABLED;
    m->reason = ESM_REASON_USER_INITIATED;
    if (!map_set_result(m, res->valuestring)) {
        map_free(m);
        snprintf(why, why_len, "out of memory");
        goto out;
    }
    map_link_sorted(mgr, m);
    if (m->seq >= mgr->next_seq) {
        mgr->next_seq = m->seq + 1;
    }
    ok = true;
out:
    cJSON_Delete(o);
    return ok;
}

static void restore_report(void *ctx, const char *line)
{
    map_log(ctx, "%s", line);
}

unsigned esm_manager_restore(struct esm_manager *mgr)
{
    if (!mgr->cfg.store) {
        return 0;
    }
    unsigned loaded = 0, bad = 0;
    if (esm_store_load_all(mgr->cfg.store, restore_one, restore_report, mgr, &loaded, &bad) != 0) {
        map_log(mgr, "cannot list the state directory %s", esm_store_dir(mgr->cfg.store));
        return 0;
    }
    map_log(mgr, "restored %u mapping%s from %s%s", loaded, loaded == 1 ? "" : "s",
            esm_store_dir(mgr->cfg.store), bad ? " (some files were moved aside, see above)" : "");
    unsigned n = esm_manager_count(mgr);
    struct esm_mapping **all = calloc(n + 1, sizeof *all);
    if (!all) {
        return loaded;
    }
    unsigned i = 0;
    for (struct esm_mapping *m = mgr->head; m; m = m->next) {
        all[i++] = m;
    }
    for (i = 0; i < n; i++) {
        save_or_log(mgr, all[i]);
        map_reconcile(mgr, all[i]);
    }
    free(all);
    return loaded;
}

// ---- the runner of a build without a Kafka consumer ------------------------------------------

static void unavailable_start(void *impl, struct esm_mapping *m)
{
    esm_manager_on_stopped(impl, m, ESM_REASON_CONSUMER_NOT_AVAILABLE,
                           "The Kafka consumer is not available in this build of kesm, so this "
                           "mapping is stored but does not poll its topic.");
}

static void unavailable_stop(void *impl, struct esm_mapping *m)
{
    esm_manager_on_stopped(impl, m, ESM_REASON_USER_INITIATED, NULL);
}

static const struct esm_runner_ops unavailable_ops = {
    "unavailable", unavailable_start, noop_runner_call, unavailable_stop, noop_runner_free,
};

struct esm_runner esm_runner_unavailable(struct esm_manager *mgr)
{
    struct esm_runner r = {&unavailable_ops, mgr};
    return r;
}
