// mapping_ops.c: the event source mapping API's operations on the set of mappings (see
// mapping.h): create, get, update, delete and list, with Lambda's conflict and in-use rules.
#include "esm/mapping_int.h"
#include "esm/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- operations ------------------------------------------------------------------------------

void map_op_fail(struct esm_op_result *out, enum esm_op_status st, const char *fmt, ...)
{
    out->status = st;
    out->body = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
}

void map_op_ok(struct esm_op_result *out, cJSON *body)
{
    if (!body) {
        map_op_fail(out, ESM_OP_INTERNAL, "out of memory");
        return;
    }
    out->status = ESM_OP_OK;
    out->body = body;
    out->message[0] = '\0';
}

static bool same_servers(const struct esm_config *a, const struct esm_config *b)
{
    if (a->msk.arn || b->msk.arn) {
        return a->msk.arn && b->msk.arn && !strcmp(a->msk.arn, b->msk.arn);
    }
    if (a->num_bootstrap != b->num_bootstrap) {
        return false;
    }
    for (size_t i = 0; i < a->num_bootstrap; i++) {
        bool found = false;
        for (size_t j = 0; j < b->num_bootstrap && !found; j++) {
            found = !strcmp(a->bootstrap[i], b->bootstrap[j]);
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

// conflict looks for a mapping other than |self| that |cfg| would duplicate.
bool map_conflict(struct esm_manager *mgr, const struct esm_config *cfg,
                  const struct esm_mapping *self, struct esm_op_result *out)
{
    for (struct esm_mapping *m = mgr->head; m; m = m->next) {
        if (m == self || !same_servers(&m->cfg, cfg)) {
            continue;
        }
        if (!strcmp(m->cfg.fn.arn, cfg->fn.arn) && !strcmp(m->cfg.topic, cfg->topic)) {
            map_op_fail(
                out, ESM_OP_CONFLICT,
                "An event source mapping with Kafka topic %s, the same bootstrap servers and "
                "function %s already exists. Please update or delete the existing mapping "
                "with UUID %s",
                cfg->topic, cfg->fn.arn, m->uuid);
            return true;
        }
        if (cfg->consumer_group_id && m->cfg.consumer_group_id &&
            !strcmp(cfg->consumer_group_id, m->cfg.consumer_group_id)) {
            map_op_fail(out, ESM_OP_CONFLICT,
                        "The consumer group id %s is already used by the event source mapping with "
                        "UUID %s on the same Kafka cluster",
                        cfg->consumer_group_id, m->uuid);
            return true;
        }
    }
    return false;
}

void map_note_vpc(struct esm_manager *mgr, const struct esm_mapping *m)
{
    for (size_t i = 0; i < m->cfg.num_sacs; i++) {
        if (m->cfg.sacs[i].type == ESM_SAC_VPC_SUBNET ||
            m->cfg.sacs[i].type == ESM_SAC_VPC_SECURITY_GROUP) {
            map_log(mgr,
                    "mapping %s: VPC_SUBNET/VPC_SECURITY_GROUP entries are kept and echoed but do "
                    "not apply to a self-hosted mapping (kesm connects from this host)",
                    m->uuid);
            return;
        }
    }
}

void esm_manager_create(struct esm_manager *mgr, const cJSON *req, struct esm_op_result *out)
{
    struct esm_parse_opts o = map_parse_opts(mgr);
    struct esm_cfg_err err;
    struct esm_mapping *m = calloc(1, sizeof *m);
    if (!m) {
        map_op_fail(out, ESM_OP_INTERNAL, "out of memory");
        return;
    }
    if (!esm_config_parse(&m->cfg, req, &o, &err)) {
        map_op_fail(out, ESM_OP_INVALID, "%s", err.message);
        free(m);
        return;
    }
    if (mgr->cfg.policy &&
        !esm_policy_check(&m->cfg, mgr->cfg.policy, err.message, sizeof err.message)) {
        map_op_fail(out, ESM_OP_INVALID, "%s", err.message);
        map_free(m);
        return;
    }
    if (map_conflict(mgr, &m->cfg, NULL, out)) {
        map_free(m);
        return;
    }
    do {
        esm_uuid_v4(m->uuid);
    } while (map_find(mgr, m->uuid));
    m->seq = mgr->next_seq++;
    m->state = ESM_STATE_CREATING;
    m->reason = ESM_REASON_USER_INITIATED;
    m->last_modified = o.now;
    char why[512];
    if (!map_set_result(m, "No records processed") || map_save(mgr, m, why, sizeof why) != 0) {
        map_op_fail(out, ESM_OP_INTERNAL, "Could not store the event source mapping: %s", why);
        map_free(m);
        return;
    }
    map_link_sorted(mgr, m);
    map_log(mgr, "mapping %s: created for topic %s, function %s", m->uuid, m->cfg.topic,
            m->cfg.fn.arn);
    map_note_vpc(mgr, m);
    map_op_ok(out, map_snapshot(m));
    map_reconcile(mgr, m);
}

void esm_manager_get(struct esm_manager *mgr, const char *uuid, struct esm_op_result *out)
{
    struct esm_mapping *m = map_find(mgr, uuid);
    if (!m) {
        map_op_fail(out, ESM_OP_NOT_FOUND, "The resource you requested does not exist.");
        return;
    }
    map_op_ok(out, map_snapshot(m));
}

bool map_in_use(const struct esm_mapping *m, const char *verb, struct esm_op_result *out)
{
    if (!esm_state_is_transitional(m->state)) {
        return false;
    }
    map_op_fail(out, ESM_OP_IN_USE,
                "Cannot %s the event source mapping %s because it is in use (State: %s). Try again "
                "once it is Enabled or Disabled.",
                verb, m->uuid, esm_state_name(m->state));
    return true;
}

void esm_manager_update(struct esm_manager *mgr, const char *uuid, const cJSON *req,
                        struct esm_op_result *out)
{
    struct esm_mapping *m = map_find(mgr, uuid);
    if (!m) {
        map_op_fail(out, ESM_OP_NOT_FOUND, "The resource you requested does not exist.");
        return;
    }
    if (map_in_use(m, "update", out)) {
        return;
    }
    struct esm_parse_opts o = map_parse_opts(mgr);
    struct esm_cfg_err err;
    struct esm_config next;
    if (!esm_config_merge_update(&next, &m->cfg, req, &o, &err)) {
        map_op_fail(out, ESM_OP_INVALID, "%s", err.message);
        return;
    }
    if (mgr->cfg.policy &&
        !esm_policy_check(&next, mgr->cfg.policy, err.message, sizeof err.message)) {
        map_op_fail(out, ESM_OP_INVALID, "%s", err.message);
        esm_config_cleanup(&next);
        return;
    }
    if (map_conflict(mgr, &next, m, out)) {
        esm_config_cleanup(&next);
        return;
    }
    struct esm_config prev = m->cfg;
    enum esm_state prev_state = m->state;
    enum esm_reason prev_reason = m->reason;
    double prev_mod = m->last_modified;
    m->cfg = next;
    m->reason = ESM_REASON_USER_INITIATED;
    m->last_modified = o.now;
    if (prev.enabled && !next.enabled) {
        m->state = ESM_STATE_DISABLING;
    } else if (!prev.enabled && next.enabled) {
        m->state = ESM_STATE_ENABLING;
    } else {
        m->state = ESM_STATE_UPDATING;
    }
    char why[512];
    if (map_save(mgr, m, why, sizeof why) != 0) {
        m->cfg = prev;
        m->state = prev_state;
        m->reason = prev_reason;
        m->last_modified = prev_mod;
        esm_config_cleanup(&next);
        map_op_fail(out, ESM_OP_INTERNAL, "Could not store the event source mapping: %s", why);
        return;
    }
    esm_config_cleanup(&prev);
    map_log(mgr, "mapping %s: updated (%s)", m->uuid, esm_state_name(m->state));
    map_op_ok(out, map_snapshot(m));
    map_reconcile(mgr, m);
}

void esm_manager_delete(struct esm_manager *mgr, const char *uuid, struct esm_op_result *out)
{
    struct esm_mapping *m = map_find(mgr, uuid);
    if (!m) {
        map_op_fail(out, ESM_OP_NOT_FOUND, "The resource you requested does not exist.");
        return;
    }
    if (map_in_use(m, "delete", out)) {
        return;
    }
    enum esm_state prev = m->state;
    m->state = ESM_STATE_DELETING;
    m->reason = ESM_REASON_USER_INITIATED;
    char why[512];
    if (map_save(mgr, m, why, sizeof why) != 0) {
        m->state = prev;
        map_op_fail(out, ESM_OP_INTERNAL, "Could not store the event source mapping: %s", why);
        return;
    }
    map_op_ok(out, map_snapshot(m));
    map_reconcile(mgr, m);
}

static bool function_matches(const struct esm_function_ref *f, const struct esm_function_ref *m)
{
    return !strcmp(f->partition, m->partition) && !strcmp(f->region, m->region) &&
           !strcmp(f->account, m->account) && !strcmp(f->name, m->name) &&
           (!f->qualifier || (m->qualifier && !strcmp(f->qualifier, m->qualifier)));
}

void esm_manager_list(struct esm_manager *mgr, const char *function_name,
                      const char *event_source_arn, const char *marker, long max_items,
                      struct esm_op_result *out)
{
    struct esm_parse_opts o = map_parse_opts(mgr);
    struct esm_function_ref fref = {0};
    char why[256];
    if (function_name && !esm_function_ref_parse(&fref, function_name, &o, why, sizeof why)) {
        map_op_fail(
            out, ESM_OP_INVALID,
            "1 validation error detected: Value '%.200s' at 'FunctionName' failed to satisfy "
            "constraint: %s",
            function_name, why);
        return;
    }
    if (max_items < 0 || max_items > 10000) {
        map_op_fail(out, ESM_OP_INVALID,
                    "1 validation error detected: Value '%ld' at 'MaxItems' failed to satisfy "
                    "constraint: Member must be an integer between 1 and 10000",
                    max_items);
        esm_function_ref_cleanup(&fref);
        return;
    }
    uint64_t after = 0;
    if (marker) {
        char *end = NULL;
        unsigned long long v = strtoull(marker, &end, 10);
        if (!*marker || !end || *end || marker[0] == '-') {
            map_op_fail(out, ESM_OP_INVALID,
                        "Invalid Marker '%.100s': use the NextMarker of a previous response",
                        marker);
            esm_function_ref_cleanup(&fref);
            return;
        }
        after = v;
    }
    size_t page = max_items > 0 && max_items < 100 ? (size_t)max_items : 100;
    cJSON *body = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(body, "EventSourceMappings");
    size_t n = 0;
    uint64_t last = 0;
    bool more = false;
    for (struct esm_mapping *m = mgr->head; m && arr; m = m->next) {
        if (m->seq <= after || (function_name && !function_matches(&fref, &m->cfg.fn)) ||
            (event_source_arn && (!m->cfg.msk.arn || strcmp(m->cfg.msk.arn, event_source_arn)))) {
            continue; // self-managed mappings have no EventSourceArn
        }
        if (n == page) {
            more = true;
            break;
        }
        cJSON_AddItemToArray(arr, map_snapshot(m));
        last = m->seq;
        n++;
    }
    if (more) {
        char next[32];
        snprintf(next, sizeof next, "%llu", (unsigned long long)last);
        cJSON_AddStringToObject(body, "NextMarker", next);
    }
    esm_function_ref_cleanup(&fref);
    map_op_ok(out, arr ? body : (cJSON_Delete(body), NULL));
}
