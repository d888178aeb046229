// mapping_fleet.c: prepare and apply, the manager's side of fleet mode (see mapping_fleet.h).
#include "esm/mapping_fleet.h"

#include "esm/mapping_int.h"
#include "esm/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// checked_config parses |req| (create) or merges it into |base| (update), then holds the result
// to the policy and the conflict rules. Returns false with |out| set.
static bool checked_config(struct esm_manager *mgr, const struct esm_mapping *self,
                           const cJSON *req, struct esm_config *cfg, struct esm_op_result *out)
{
    struct esm_parse_opts o = map_parse_opts(mgr);
    struct esm_cfg_err err;
    bool ok = self ? esm_config_merge_update(cfg, &self->cfg, req, &o, &err)
                   : esm_config_parse(cfg, req, &o, &err);
    if (!ok) {
        map_op_fail(out, ESM_OP_INVALID, "%s", err.message);
        return false;
    }
    if (mgr->cfg.policy &&
        !esm_policy_check(cfg, mgr->cfg.policy, err.message, sizeof err.message)) {
        map_op_fail(out, ESM_OP_INVALID, "%s", err.message);
        esm_config_cleanup(cfg);
        return false;
    }
    if (map_conflict(mgr, cfg, self, out)) {
        esm_config_cleanup(cfg);
        return false;
    }
    return true;
}

void esm_manager_prepare_create(struct esm_manager *mgr, const cJSON *req, char out_uuid[37],
                                struct esm_op_result *out)
{
    struct esm_config cfg;
    if (!checked_config(mgr, NULL, req, &cfg, out)) {
        return;
    }
    do {
        esm_uuid_v4(out_uuid);
    } while (map_find(mgr, out_uuid));
    map_op_ok(out, cJSON_Duplicate(cfg.request, true));
    esm_config_cleanup(&cfg);
}

static struct esm_mapping *usable(struct esm_manager *mgr, const char *uuid, const char *verb,
                                  struct esm_op_result *out)
{
    struct esm_mapping *m = map_find(mgr, uuid);
    if (!m || m->state == ESM_STATE_DELETING) {
        map_op_fail(out, ESM_OP_NOT_FOUND, "The resource you requested does not exist.");
        return NULL;
    }
    return map_in_use(m, verb, out) ? NULL : m;
}

void esm_manager_prepare_update(struct esm_manager *mgr, const char *uuid, const cJSON *req,
                                struct esm_op_result *out)
{
    struct esm_mapping *m = usable(mgr, uuid, "update", out);
    struct esm_config cfg;
    if (!m || !checked_config(mgr, m, req, &cfg, out)) {
        return;
    }
    map_op_ok(out, cJSON_Duplicate(cfg.request, true));
    esm_config_cleanup(&cfg);
}

void esm_manager_prepare_delete(struct esm_manager *mgr, const char *uuid,
                                struct esm_op_result *out)
{
    if (usable(mgr, uuid, "delete", out)) {
        out->status = ESM_OP_OK;
        out->body = NULL;
        out->message[0] = '\0';
    }
}

static int apply_delete(struct esm_manager *mgr, struct esm_mapping *m, cJSON **out_snapshot)
{
    if (!m || m->state == ESM_STATE_DELETING) {
        return 0;
    }
    m->state = ESM_STATE_DELETING;
    m->reason = ESM_REASON_USER_INITIATED;
    if (out_snapshot) {
        *out_snapshot = map_snapshot(m);
    }
    map_log(mgr, "mapping %s: deleted through the fleet's config topic", m->uuid);
    map_reconcile(mgr, m);
    return 0;
}

static int apply_create(struct esm_manager *mgr, const char *uuid, struct esm_config *cfg,
                        uint64_t seq, double last_modified, cJSON **out_snapshot)
{
    struct esm_mapping *m = calloc(1, sizeof *m);
    if (!m || !map_set_result(m, "No records processed")) {
        free(m);
        esm_config_cleanup(cfg);
        return -1;
    }
    m->cfg = *cfg;
    snprintf(m->uuid, sizeof m->uuid, "%s", uuid);
    m->seq = seq;
    if (seq >= mgr->next_seq) {
        mgr->next_seq = seq + 1;
    }
    m->state = ESM_STATE_CREATING;
    m->reason = ESM_REASON_USER_INITIATED;
    m->last_modified = last_modified;
    map_link_sorted(mgr, m);
    map_log(mgr, "mapping %s: created for topic %s, function %s (fleet)", m->uuid, m->cfg.topic,
            m->cfg.fn.arn);
    map_note_vpc(mgr, m);
    if (out_snapshot) {
        *out_snapshot = map_snapshot(m);
    }
    map_reconcile(mgr, m);
    return 0;
}

static int apply_update(struct esm_manager *mgr, struct esm_mapping *m, struct esm_config *next,
                        double last_modified, cJSON **out_snapshot)
{
    bool was = m->cfg.enabled;
    esm_config_cleanup(&m->cfg);
    m->cfg = *next;
    m->reason = ESM_REASON_USER_INITIATED;
    m->last_modified = last_modified;
    if (was && !next->enabled) {
        m->state = ESM_STATE_DISABLING;
    } else if (!was && next->enabled) {
        m->state = ESM_STATE_ENABLING;
    } else if (next->enabled || m->active) {
        m->state = ESM_STATE_UPDATING;
    }
    map_log(mgr, "mapping %s: updated through the fleet's config topic (%s)", m->uuid,
            esm_state_name(m->state));
    if (out_snapshot) {
        *out_snapshot = map_snapshot(m);
    }
    map_reconcile(mgr, m);
    return 0;
}

int esm_manager_apply(struct esm_manager *mgr, const char *uuid, const cJSON *request, uint64_t seq,
                      double last_modified, cJSON **out_snapshot, char *why, size_t why_len)
{
    if (out_snapshot) {
        *out_snapshot = NULL;
    }
    struct esm_mapping *m = map_find(mgr, uuid);
    if (!request) {
        return apply_delete(mgr, m, out_snapshot);
    }
    if (m && m->state == ESM_STATE_DELETING) {
        snprintf(why, why_len, "mapping %s is still being deleted here; the newer record waits",
                 uuid);
        return -1;
    }
    if (m && cJSON_Compare(m->cfg.request, request, true)) {
        if (out_snapshot) {
            *out_snapshot = map_snapshot(m); // a write that changed nothing
        }
        return 0;
    }
    struct esm_parse_opts po = {0, mgr->cfg.region, mgr->cfg.account};
    struct esm_cfg_err err;
    struct esm_config cfg;
    if (!esm_config_parse(&cfg, request, &po, &err)) {
        snprintf(why, why_len, "invalid stored request: %s", err.message);
        return -1;
    }
    // Another node may have been started with more --allow-api-* flags than this one: a record
    // is run here only within this node's own policy (a mapping already running stays as it was).
    if (mgr->cfg.policy &&
        !esm_policy_check(&cfg, mgr->cfg.policy, err.message, sizeof err.message)) {
        snprintf(why, why_len, "refused by this node's --allow-api-* policy: %s", err.message);
        esm_config_cleanup(&cfg);
        return -1;
    }
    if (!m) {
        int rc = apply_create(mgr, uuid, &cfg, seq, last_modified, out_snapshot);
        if (rc != 0) {
            snprintf(why, why_len, "out of memory");
        }
        return rc;
    }
    return apply_update(mgr, m, &cfg, last_modified, out_snapshot);
}

void esm_manager_each_request(struct esm_manager *mgr,
                              void (*fn)(void *ctx, const char *uuid, const cJSON *request),
                              void *ctx)
{
    for (struct esm_mapping *m = mgr->head; m; m = m->next) {
        if (m->state != ESM_STATE_DELETING) {
            fn(ctx, m->uuid, m->cfg.request);
        }
    }
}
