// fleet_view.c: the fleet-wide views built from the status topic's table (esm/fleet_status.h):
// Get and List answers, and /metrics.
//
// Combined state of a mapping, as Get and List show it on any node:
//   - the answering node's own view is taken live (not from the topic); the other nodes' from
//     their latest status record, if it is not stale;
//   - State is this node's, except that a mapping this node stopped with a problem (Disabled, a
//     reason other than USER_INITIATED) shows Enabled while another live node runs it Enabled;
//   - LastProcessingResult is the first problem of the fleet ("PROBLEM: ... (node ID)"; this
//     node's first, then the others in table order), else this node's own result;
//   - KesmFleet (a kesm extension member: the AWS CLI and SDKs ignore members they do not know)
//     lists the live nodes' views (Nodes: Node, State, StateTransitionReason,
//     LastProcessingResult, AssignedPartitions, Lag, Partitions, LastSeen, Stale) and the stale
//     ones (StaleNodes), with the fleet's AssignedPartitions and Lag (sums over live nodes), and
//     Problem while this node cannot read the status topic (its view may then be incomplete).
#include "base/buf.h"
#include "esm/fleet_status_int.h"
#include "esm/mapping.h"
#include "esm/metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct acc {
    cJSON *nodes, *stale;
    uint32_t assigned;
    int64_t lag;
    bool others_enabled;
    char problem[FLEET_STATUS_RESULT_MAX + FLEET_NODE_ID_MAX + 16];
};

static bool is_problem(const struct fleet_status_rec *r)
{
    return !strncmp(r->result, "PROBLEM", 7);
}

static void add_rec(struct acc *a, const struct fleet_status_rec *r, bool self, double now)
{
    bool stale = !self && fleet_status_stale(r->time, r->refresh_ms, now);
    fleet_status_json(stale ? a->stale : a->nodes, r, stale);
    if (stale) {
        return;
    }
    a->assigned += r->num_assigned;
    if (r->lag >= 0) {
        a->lag = (a->lag < 0 ? 0 : a->lag) + r->lag;
    }
    a->others_enabled |= !self && !strcmp(r->state, "Enabled");
    if (!a->problem[0] && is_problem(r)) {
        snprintf(a->problem, sizeof a->problem, "%s (node %s)", r->result, r->node);
    }
}

static const char *str_member(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void set_str(cJSON *o, const char *name, const char *v)
{
    cJSON *n = cJSON_CreateString(v);
    if (n && !cJSON_ReplaceItemInObjectCaseSensitive(o, name, n)) {
        cJSON_Delete(n);
    }
}

static void combine(struct fleet_status *s, cJSON *m, const struct esm_metrics_mapping *local,
                    double now)
{
    const char *uuid = str_member(m, "UUID");
    struct acc a = {.lag = -1};
    cJSON *kf = cJSON_CreateObject();
    if (!kf) {
        return;
    }
    cJSON_AddStringToObject(kf, "Node", s->node);
    a.nodes = cJSON_AddArrayToObject(kf, "Nodes");
    a.stale = cJSON_AddArrayToObject(kf, "StaleNodes");
    if (local && fleet_status_publishes(local)) {
        struct fleet_status_rec r;
        if (fleet_status_from_local(s, local, &r) == 0) {
            add_rec(&a, &r, true, now);
        }
        fleet_status_rec_cleanup(&r);
    }
    for (size_t i = 0; i < s->num_entries; i++) {
        const struct fleet_status_rec *r = &s->entries[i].rec;
        if (!strcmp(r->uuid, uuid) && strcmp(r->node, s->node) != 0) {
            add_rec(&a, r, false, now);
        }
    }
    cJSON_AddNumberToObject(kf, "AssignedPartitions", a.assigned);
    cJSON_AddNumberToObject(kf, "Lag", (double)a.lag);
    if (s->problem[0]) { // the status topic cannot be read: the view may be incomplete
        cJSON_AddStringToObject(kf, "Problem", s->problem);
    }
    const char *state = str_member(m, "State"), *reason = str_member(m, "StateTransitionReason");
    if (!strcmp(state, "Disabled") && strcmp(reason, "USER_INITIATED") != 0 && a.others_enabled) {
        set_str(m, "State", "Enabled");
        set_str(m, "StateTransitionReason", "USER_INITIATED");
    }
    if (a.problem[0]) {
        set_str(m, "LastProcessingResult", a.problem);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(m, "KesmFleet");
    cJSON_AddItemToObject(m, "KesmFleet", kf);
}

void fleet_status_decorate(struct fleet_status *s, cJSON *body, bool list)
{
    struct esm_metrics_mapping *maps = NULL;
    size_t n = 0;
    if (!s || !body || esm_manager_metrics(s->cfg.mgr, &maps, &n) != 0) {
        return;
    }
    double now = fleet_now_epoch();
    cJSON *arr = list ? cJSON_GetObjectItemCaseSensitive(body, "EventSourceMappings") : NULL;
    cJSON *m = list ? (cJSON_IsArray(arr) ? arr->child : NULL) : body;
    for (; m; m = list ? m->next : NULL) {
        const char *uuid = str_member(m, "UUID");
        const struct esm_metrics_mapping *local = NULL;
        for (size_t i = 0; i < n && !local; i++) {
            local = !strcmp(maps[i].uuid, uuid) ? &maps[i] : NULL;
        }
        combine(s, m, local, now);
    }
    for (size_t i = 0; i < n; i++) {
        esm_metrics_mapping_cleanup(&maps[i]);
    }
    free(maps);
}

// ---- /metrics ---------------------------------------------------------------------------------

// label_node copies one exposition line with node="ID" as its first label.
static void label_node(struct buf *o, const char *line, size_t len, const char *node)
{
    if (!len || line[0] == '#') {
        buf_add(o, line, len);
        return;
    }
    size_t name = 0;
    while (name < len && line[name] != '{' && line[name] != ' ') {
        name++;
    }
    buf_add(o, line, name);
    buf_addf(o, "{node=\"%s\"", node); // node ids hold no '"', '\' or control character
    if (name < len && line[name] == '{') {
        buf_adds(o, line[name + 1] == '}' ? "" : ",");
        buf_add(o, line + name + 1, len - name - 1);
    } else {
        buf_adds(o, "}");
        buf_add(o, line + name, len - name);
    }
}

static void fleet_families(struct fleet_status *s, struct buf *o)
{
    double now = fleet_now_epoch();
    size_t live = 0;
    static const char *const fams[][2] = {
        {"kesm_fleet_mapping_assigned_partitions",
         "Partitions of the mapping the node holds, from the status topic (live entries)."},
        {"kesm_fleet_mapping_lag",
         "Sum of the node's known OffsetLag of the mapping (status topic)."},
        {"kesm_fleet_mapping_last_seen_seconds",
         "Epoch seconds of the node's latest status record."},
    };
    for (size_t f = 0; f < 3; f++) {
        buf_addf(o, "# HELP %s %s\n# TYPE %s gauge\n", fams[f][0], fams[f][1], fams[f][0]);
        for (size_t i = 0; i < s->num_entries; i++) {
            const struct fleet_status_rec *r = &s->entries[i].rec;
            if (fleet_status_stale(r->time, r->refresh_ms, now) || (f == 1 && r->lag < 0)) {
                continue;
            }
            live += f == 0;
            buf_addf(o, "%s{node=\"%s\",uuid=\"%s\"} ", fams[f][0], r->node, r->uuid);
            if (f == 0) {
                buf_addf(o, "%" PRIu32 "\n", r->num_assigned);
            } else if (f == 1) {
                buf_addf(o, "%" PRId64 "\n", r->lag);
            } else {
                buf_addf(o, "%.3f\n", r->time);
            }
        }
    }
    buf_adds(o, "# HELP kesm_fleet_status_entries (node, mapping) entries of the status topic this "
                "node holds, live or stale.\n# TYPE kesm_fleet_status_entries gauge\n");
    buf_addf(o, "kesm_fleet_status_entries{node=\"%s\",kind=\"live\"} %zu\n", s->node, live);
    buf_addf(o, "kesm_fleet_status_entries{node=\"%s\",kind=\"stale\"} %zu\n", s->node,
             s->num_entries - live);
    buf_adds(o, "# HELP kesm_fleet_status_skipped_total Status topic records skipped (bad key or "
                "value, full table).\n# TYPE kesm_fleet_status_skipped_total counter\n");
    buf_addf(o, "kesm_fleet_status_skipped_total{node=\"%s\"} %" PRIu64 "\n", s->node, s->skipped);
}

char *fleet_status_metrics(struct fleet_status *s, char *text, size_t len, size_t *out_len)
{
    struct buf o;
    buf_init(&o);
    size_t at = 0;
    while (at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) + 1 : len;
        label_node(&o, text + at, end - at, s->node);
        at = end;
    }
    free(text);
    fleet_families(s, &o);
    return buf_steal(&o, out_len);
}
