// config_response.c: a mapping's configuration as Lambda's EventSourceMappingConfiguration (see
// esm_config_to_response in config.h): every member of the stored request echoed as given, plus
// what the service adds (UUID, ARNs, State, StateTransitionReason, LastModified,
// LastProcessingResult) and the effective defaults (StartingPosition, BatchSize,
// ConsumerGroupId).
#include "esm/config.h"

#include <stdio.h>

bool esm_config_esm_arn(const struct esm_config *cfg, const char *uuid, char *out, size_t out_len)
{
    int n = snprintf(out, out_len, "arn:%s:lambda:%s:%s:event-source-mapping:%s", cfg->fn.partition,
                     cfg->fn.region, cfg->fn.account, uuid);
    return n > 0 && (size_t)n < out_len;
}

static void echo(cJSON *out, const cJSON *req, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);
    if (v) {
        cJSON_AddItemToObject(out, name, cJSON_Duplicate(v, true));
    }
}

cJSON *esm_config_to_response(const struct esm_config *cfg, const struct esm_config_meta *meta)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        return NULL;
    }
    const cJSON *r = cfg->request;
    char arn[512];
    cJSON_AddStringToObject(o, "UUID", meta->uuid);
    cJSON_AddStringToObject(o, "StartingPosition", esm_start_pos_name(cfg->starting_position));
    echo(o, r, "StartingPositionTimestamp");
    cJSON_AddNumberToObject(o, "BatchSize", cfg->batch_size);
    echo(o, r, "MaximumBatchingWindowInSeconds");
    echo(o, r, "ParallelizationFactor");
    echo(o, r, "EventSourceArn");
    echo(o, r, "FilterCriteria");
    echo(o, r, "KMSKeyArn");
    echo(o, r, "MetricsConfig");
    echo(o, r, "LoggingConfig");
    cJSON_AddStringToObject(o, "FunctionArn", cfg->fn.arn);
    cJSON_AddNumberToObject(o, "LastModified", meta->last_modified);
    cJSON_AddStringToObject(o, "LastProcessingResult", meta->last_processing_result);
    cJSON_AddStringToObject(o, "State", meta->state);
    cJSON_AddStringToObject(o, "StateTransitionReason", meta->state_transition_reason);
    echo(o, r, "DestinationConfig");
    echo(o, r, "Topics");
    echo(o, r, "SourceAccessConfigurations");
    echo(o, r, "SelfManagedEventSource");
    echo(o, r, "MaximumRecordAgeInSeconds");
    echo(o, r, "BisectBatchOnFunctionError");
    echo(o, r, "MaximumRetryAttempts");
    echo(o, r, "FunctionResponseTypes");
    const char *gm = cfg->group_member ? cfg->group_member : "SelfManagedKafkaEventSourceConfig";
    cJSON *g = cJSON_AddObjectToObject(o, gm);
    if (g) {
        cJSON_AddStringToObject(g, "ConsumerGroupId",
                                cfg->consumer_group_id ? cfg->consumer_group_id : meta->uuid);
        if (cfg->aws.consumption_mode) {
            cJSON_AddStringToObject(g, "ConsumptionMode", cfg->aws.consumption_mode);
        }
        const cJSON *smk = cJSON_GetObjectItemCaseSensitive(r, gm);
        echo(g, smk, "SchemaRegistryConfig");
    }
    if (esm_config_esm_arn(cfg, meta->uuid, arn, sizeof arn)) {
        cJSON_AddStringToObject(o, "EventSourceMappingArn", arn);
    }
    echo(o, r, "ProvisionedPollerConfig");
    echo(o, r, "Kesm");
    return o;
}
