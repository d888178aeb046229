// fleet_status_rec.c: the status topic's record codec (see fleet_status.h). No I/O, no clock:
// fuzzed by fuzz/fuzz_fleet_status.c.
#include "esm/fleet_status.h"
#include "esm/json_guard.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const states[] = {"Creating", "Enabling", "Enabled", "Disabling",
                                     "Disabled", "Updating", "Deleting"};
static const char *const reasons[] = {
    "USER_INITIATED",           "ESM_CONFIG_NOT_VALID",      "EVENT_SOURCE_AUTHN_ERROR",
    "EVENT_SOURCE_AUTHZ_ERROR", "FUNCTION_CONFIG_NOT_VALID", "KESM_CONSUMER_NOT_AVAILABLE",
};

void fleet_status_rec_init(struct fleet_status_rec *r)
{
    memset(r, 0, sizeof *r);
    r->lag = -1;
}

void fleet_status_rec_cleanup(struct fleet_status_rec *r)
{
    for (size_t i = 0; r->parts && i < r->num_parts; i++) {
        free(r->parts[i].topic);
    }
    free(r->parts);
    fleet_status_rec_init(r);
}

bool fleet_node_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > FLEET_NODE_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c < 0x21 || c > 0x7e || c == '/' || c == '"' || c == '\\') {
            return false;
        }
    }
    return true;
}

static bool uuid_ok(const char *u, size_t n)
{
    if (n != 36) {
        return false;
    }
    for (size_t i = 0; i < 36; i++) {
        char c = u[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

bool fleet_status_key_parse(const uint8_t *key, size_t key_len,
                            char out_node[FLEET_NODE_ID_MAX + 1], char out_uuid[37])
{
    if (!key || key_len < 38 || key_len > FLEET_NODE_ID_MAX + 37 || key[key_len - 37] != '/') {
        return false;
    }
    size_t nlen = key_len - 37;
    memcpy(out_node, key, nlen);
    out_node[nlen] = '\0';
    memcpy(out_uuid, key + nlen + 1, 36);
    out_uuid[36] = '\0';
    return strlen(out_node) == nlen && fleet_node_id_ok(out_node) && uuid_ok(out_uuid, 36);
}

static bool one_of(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(s, set[i])) {
            return true;
        }
    }
    return false;
}

static bool fail(char *why, size_t why_len, const char *what)
{
    snprintf(why, why_len, "%s", what);
    return false;
}

// num_in reads member |name| of |o| as a finite number in [lo, hi].
static bool num_in(const cJSON *o, const char *name, double lo, double hi, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi) {
        return false;
    }
    *out = v->valuedouble;
    return true;
}

// int_in reads member |name| of |o| as an integer in [lo, hi].
static bool int_in(const cJSON *o, const char *name, double lo, double hi, double *out)
{
    return num_in(o, name, lo, hi, out) && *out == floor(*out);
}

static const char *str_of(const cJSON *o, const char *name, size_t max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(v) || strlen(v->valuestring) > max) {
        return NULL;
    }
    return v->valuestring;
}

static bool parse_parts(const cJSON *arr, struct fleet_status_rec *out, char *why, size_t why_len)
{
    int n = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || n > FLEET_STATUS_MAX_PARTS || (uint32_t)n > out->num_assigned) {
        snprintf(why, why_len,
                 "Partitions must be a list of at most %d (and at most AssignedPartitions) "
                 "partitions",
                 FLEET_STATUS_MAX_PARTS);
        return false;
    }
    out->parts = n ? calloc((size_t)n, sizeof *out->parts) : NULL;
    if (n && !out->parts) {
        return fail(why, why_len, "out of memory");
    }
    int i = 0;
    for (const cJSON *p = arr->child; p; p = p->next, i++) {
        const char *topic = str_of(p, "Topic", 249);
        double part = 0, lag = 0;
        if (!cJSON_IsObject(p) || !topic || !*topic ||
            !int_in(p, "Partition", 0, INT32_MAX, &part) ||
            !int_in(p, "Lag", -1, 9007199254740991.0, &lag) || cJSON_GetArraySize(p) != 3) {
            snprintf(why, why_len,
                     "Partitions[%d] must be {\"Topic\": 1-249 characters, \"Partition\": 0 or "
                     "more, \"Lag\": -1 or more}",
                     i);
            return false;
        }
        out->parts[i].topic = strdup(topic);
        out->num_parts = (size_t)i + 1; // cleanup frees what is set
        if (!out->parts[i].topic) {
            return fail(why, why_len, "out of memory");
        }
        out->parts[i].partition = (int32_t)part;
        out->parts[i].lag = (int64_t)lag;
    }
    out->num_parts = (size_t)n;
    return true;
}

bool fleet_status_parse(const char *node, const char *uuid, const uint8_t *value, size_t value_len,
                        struct fleet_status_rec *out, char *why, size_t why_len)
{
    fleet_status_rec_init(out);
    if (value_len > FLEET_STATUS_MAX_RECORD) {
        snprintf(why, why_len, "value of %zu bytes (at most %d)", value_len,
                 FLEET_STATUS_MAX_RECORD);
        return false;
    }
    struct esm_json_limits lim = {.max_depth = 4,
                                  .max_members = 16,
                                  .max_items = FLEET_STATUS_MAX_PARTS,
                                  .max_values = 4 * FLEET_STATUS_MAX_PARTS + 64,
                                  .max_string = 4096};
    char jwhy[200];
    cJSON *o = esm_json_parse_guarded((const char *)value, value_len, &lim, jwhy, sizeof jwhy);
    if (!o) {
        snprintf(why, why_len, "value is not accepted JSON: %s", jwhy);
        return false;
    }
    double ver = 0, t = 0, refresh = 0, assigned = 0, lag = 0;
    const char *n = str_of(o, "Node", FLEET_NODE_ID_MAX), *u = str_of(o, "UUID", 36);
    const char *st = str_of(o, "State", 15), *re = str_of(o, "StateTransitionReason", 39);
    const char *res = str_of(o, "LastProcessingResult", FLEET_STATUS_RESULT_MAX);
    bool ok = false;
    if (!cJSON_IsObject(o) || !int_in(o, "KesmFleetStatusVersion", 1, 1, &ver)) {
        fail(why, why_len, "value lacks KesmFleetStatusVersion 1");
    } else if (!n || !u || strcmp(n, node) != 0 || strcmp(u, uuid) != 0) {
        fail(why, why_len, "Node and UUID must be the key's");
    } else if (!st || !one_of(st, states, sizeof states / sizeof states[0]) || !re ||
               !one_of(re, reasons, sizeof reasons / sizeof reasons[0])) {
        fail(why, why_len, "State or StateTransitionReason is not one kesm knows");
    } else if (!res) {
        snprintf(why, why_len, "LastProcessingResult must be a string of at most %d bytes",
                 FLEET_STATUS_RESULT_MAX);
    } else if (!num_in(o, "Time", 0, 1e11, &t)) {
        fail(why, why_len, "Time must be epoch seconds");
    } else if (!int_in(o, "RefreshMs", FLEET_STATUS_REFRESH_MIN, FLEET_STATUS_REFRESH_MAX,
                       &refresh)) {
        snprintf(why, why_len, "RefreshMs must be %d-%d", FLEET_STATUS_REFRESH_MIN,
                 FLEET_STATUS_REFRESH_MAX);
    } else if (!int_in(o, "AssignedPartitions", 0, 1000000, &assigned) ||
               !int_in(o, "Lag", -1, 9007199254740991.0, &lag)) {
        fail(why, why_len,
             "AssignedPartitions (0-1000000) or Lag (-1 or more) is missing or wrong");
    } else if (cJSON_GetArraySize(o) != 11) {
        fail(why, why_len, "value has members kesm does not know");
    } else {
        snprintf(out->node, sizeof out->node, "%s", n);
        snprintf(out->uuid, sizeof out->uuid, "%s", u);
        snprintf(out->state, sizeof out->state, "%s", st);
        snprintf(out->reason, sizeof out->reason, "%s", re);
        esm_utf8_sanitize(out->result, sizeof out->result, res, strlen(res));
        out->time = t;
        out->refresh_ms = (uint32_t)refresh;
        out->num_assigned = (uint32_t)assigned;
        out->lag = (int64_t)lag;
        ok = parse_parts(cJSON_GetObjectItemCaseSensitive(o, "Partitions"), out, why, why_len);
    }
    cJSON_Delete(o);
    return ok;
}

char *fleet_status_encode(const struct fleet_status_rec *r, size_t *out_len)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o ? cJSON_CreateArray() : NULL;
    if (!arr) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddNumberToObject(o, "KesmFleetStatusVersion", 1);
    cJSON_AddStringToObject(o, "Node", r->node);
    cJSON_AddStringToObject(o, "UUID", r->uuid);
    cJSON_AddStringToObject(o, "State", r->state);
    cJSON_AddStringToObject(o, "StateTransitionReason", r->reason);
    cJSON_AddStringToObject(o, "LastProcessingResult", r->result);
    cJSON_AddNumberToObject(o, "Time", r->time);
    cJSON_AddNumberToObject(o, "RefreshMs", r->refresh_ms);
    cJSON_AddNumberToObject(o, "AssignedPartitions", r->num_assigned);
    cJSON_AddNumberToObject(o, "Lag", (double)r->lag);
    size_t n = r->num_parts < FLEET_STATUS_MAX_PARTS ? r->num_parts : FLEET_STATUS_MAX_PARTS;
    for (size_t i = 0; i < n; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, p);
        cJSON_AddStringToObject(p, "Topic", r->parts[i].topic);
        cJSON_AddNumberToObject(p, "Partition", r->parts[i].partition);
        cJSON_AddNumberToObject(p, "Lag", (double)r->parts[i].lag);
    }
    cJSON_AddItemToObject(o, "Partitions", arr);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text && out_len) {
        *out_len = strlen(text);
    }
    return text;
}

bool fleet_status_stale(double time, uint32_t refresh_ms, double now)
{
    return now - time > (double)refresh_ms * FLEET_STATUS_STALE_PERIODS / 1000.0;
}

void fleet_status_json(cJSON *arr, const struct fleet_status_rec *r, bool stale)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        return;
    }
    cJSON_AddItemToArray(arr, o);
    cJSON_AddStringToObject(o, "Node", r->node);
    cJSON_AddStringToObject(o, "State", r->state);
    cJSON_AddStringToObject(o, "StateTransitionReason", r->reason);
    cJSON_AddStringToObject(o, "LastProcessingResult", r->result);
    cJSON_AddNumberToObject(o, "AssignedPartitions", r->num_assigned);
    cJSON_AddNumberToObject(o, "Lag", (double)r->lag);
    cJSON *ps = cJSON_AddArrayToObject(o, "Partitions");
    for (size_t i = 0; ps && i < r->num_parts; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddItemToArray(ps, p);
        cJSON_AddStringToObject(p, "Topic", r->parts[i].topic);
        cJSON_AddNumberToObject(p, "Partition", r->parts[i].partition);
        cJSON_AddNumberToObject(p, "Lag", (double)r->parts[i].lag);
    }
    cJSON_AddNumberToObject(o, "LastSeen", r->time);
    cJSON_AddBoolToObject(o, "Stale", stale);
}
