// config_update.c: UpdateEventSourceMapping (see esm_config_merge_update in config.h). The
// update body is checked for members that are fixed at creation, overlaid on the stored request
// (null or, for FilterCriteria, {} removes a member), and the result is validated as a whole by
// esm_config_parse, so every combination rule holds after an update too.
#include "esm/config_internal.h"

#include <stdio.h>
#include <string.h>

static const char *const create_only[] = {"Topics",
                                          "StartingPosition",
                                          "StartingPositionTimestamp",
                                          "SelfManagedEventSource",
                                          "EventSourceArn",
                                          "Tags"};

// overlay_members updates the members of the stored object named like |upd| one by one (a null
// member removes it), so an update of SelfManagedKafkaEventSourceConfig.SchemaRegistryConfig
// keeps the ConsumerGroupId.
static void overlay_members(cJSON *merged, const cJSON *upd)
{
    cJSON *cur = cJSON_GetObjectItemCaseSensitive(merged, upd->string);
    if (!cJSON_IsObject(cur)) {
        cJSON_DeleteItemFromObjectCaseSensitive(merged, upd->string);
        cJSON_AddItemToObject(merged, upd->string, cJSON_Duplicate(upd, true));
        return;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, upd)
    {
        cJSON_DeleteItemFromObjectCaseSensitive(cur, m->string);
        if (!cJSON_IsNull(m)) {
            cJSON_AddItemToObject(cur, m->string, cJSON_Duplicate(m, true));
        }
    }
}

bool esm_config_merge_update(struct esm_config *out, const struct esm_config *cur,
                             const cJSON *update, const struct esm_parse_opts *opts,
                             struct esm_cfg_err *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    if (!cJSON_IsObject(update)) {
        cfg_fail(err, "request", update, "The request body must be a JSON object");
        cfg_finish(err);
        return false;
    }
    cJSON *merged = cJSON_Duplicate(cur->request, true);
    if (!merged) {
        cfg_fail_text(err, "out of memory");
        cfg_finish(err);
        return false;
    }
    size_t idx;
    const cJSON *e;
    cJSON_ArrayForEach(e, update)
    {
        if (!strcmp(e->string, "UUID")) {
            continue; // the path names the mapping; a body copy is tolerated
        }
        if (cfg_lookup(create_only, sizeof create_only / sizeof create_only[0], e->string, &idx)) {
            cfg_fail(err, e->string, e, "Member cannot be updated: it is fixed at creation");
            continue;
        }
        bool group_member = !strcmp(e->string, "SelfManagedKafkaEventSourceConfig") ||
                            !strcmp(e->string, "AmazonManagedKafkaEventSourceConfig");
        if (group_member) {
            const cJSON *g = cJSON_GetObjectItemCaseSensitive(e, "ConsumerGroupId");
            const char *now_g = cur->consumer_group_id;
            if (g && (!cJSON_IsString(g) || !now_g || strcmp(g->valuestring, now_g) != 0)) {
                char f[80];
                snprintf(f, sizeof f, "%s.ConsumerGroupId", e->string);
                cfg_fail(err, f, g,
                         "Member cannot be updated: the consumer group is fixed at creation");
                continue;
            }
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "ConsumptionMode");
            const char *now_m = cur->aws.consumption_mode ? cur->aws.consumption_mode : "Stream";
            if (m && (!cJSON_IsString(m) || strcmp(m->valuestring, now_m) != 0)) {
                cfg_fail(err, "SelfManagedKafkaEventSourceConfig.ConsumptionMode", m,
                         "Member cannot be updated: the consumption mode is fixed at creation");
                continue;
            }
        }
        if (group_member && cJSON_IsObject(e)) {
            overlay_members(merged, e);
            continue;
        }
        bool remove = cJSON_IsNull(e) || (!strcmp(e->string, "FilterCriteria") &&
                                          cJSON_IsObject(e) && cJSON_GetArraySize(e) == 0);
        cJSON_DeleteItemFromObjectCaseSensitive(merged, e->string);
        if (!remove) {
            cJSON_AddItemToObject(merged, e->string, cJSON_Duplicate(e, true));
        }
    }
    if (err->num > 0) {
        cfg_finish(err);
        cJSON_Delete(merged);
        return false;
    }
    bool ok = esm_config_parse(out, merged, opts, err);
    cJSON_Delete(merged);
    return ok;
}
