// config.c: CreateEventSourceMapping / UpdateEventSourceMapping validation (see config.h).
//
// Constraints follow the Lambda API model for self-managed Kafka; where kesm is stricter or more
// lenient than AWS it says so next to the check. Every check records an error and carries on, so
// one response lists every invalid member.
#include "esm/config.h"

#include "base/hostport.h"
#include "base/str.h"
#include "esm/config_internal.h"
#include "esm/filter.h"
#include "esm/json_guard.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- error collection ----------------------------------------------------------------------

void cfg_fail_text(struct esm_cfg_err *err, const char *fmt, ...)
{
    err->num++;
    if (err->num > ESM_CFG_MAX_ERRORS) {
        return;
    }
    size_t used = strlen(err->items);
    if (used > 0 && used + 2 < sizeof err->items) {
        memcpy(err->items + used, "; ", 3);
        used += 2;
    }
    if (used + 1 >= sizeof err->items) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->items + used, sizeof err->items - used, fmt, ap);
    va_end(ap);
}

// render writes a short form of |v| for a message: strings as they are, other JSON compactly.
static void render(const cJSON *v, char *out, size_t out_len)
{
    if (!v) {
        snprintf(out, out_len, "null");
        return;
    }
    char *s = NULL;
    const char *text;
    if (cJSON_IsString(v)) {
        text = v->valuestring;
    } else {
        s = cJSON_PrintUnformatted(v);
        text = s ? s : "?";
    }
    size_t n = strlen(text);
    if (n + 1 > out_len) {
        snprintf(out, out_len, "%.*s...", (int)(out_len > 4 ? out_len - 4 : 0), text);
    } else {
        memcpy(out, text, n + 1);
    }
    free(s);
}

void cfg_fail(struct esm_cfg_err *err, const char *field, const cJSON *value,
              const char *constraint)
{
    if (!value) {
        cfg_fail_text(err, "Value null at '%s' failed to satisfy constraint: %s", field,
                      constraint);
        return;
    }
    char shown[160];
    render(value, shown, sizeof shown);
    cfg_fail_text(err, "Value '%s' at '%s' failed to satisfy constraint: %s", shown, field,
                  constraint);
}

void cfg_finish(struct esm_cfg_err *err)
{
    snprintf(err->message, sizeof err->message, "%u validation error%s detected: %s%s", err->num,
             err->num == 1 ? "" : "s", err->items,
             err->num > ESM_CFG_MAX_ERRORS ? "; (further errors not listed)" : "");
}

// ---- typed member readers --------------------------------------------------------------------

bool cfg_int(struct esm_cfg_err *err, const char *field, const cJSON *v, int64_t min, int64_t max,
             int64_t *out)
{
    char why[96];
    snprintf(why, sizeof why, "Member must be an integer between %lld and %lld", (long long)min,
             (long long)max);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
        floor(v->valuedouble) != v->valuedouble || v->valuedouble < (double)min ||
        v->valuedouble > (double)max) {
        cfg_fail(err, field, v, why);
        return false;
    }
    *out = (int64_t)v->valuedouble;
    return true;
}

bool cfg_bool(struct esm_cfg_err *err, const char *field, const cJSON *v, bool *out)
{
    if (!cJSON_IsBool(v)) {
        cfg_fail(err, field, v, "Member must be a boolean (true or false)");
        return false;
    }
    *out = cJSON_IsTrue(v);
    return true;
}

bool cfg_str(struct esm_cfg_err *err, const char *field, const cJSON *v, size_t min_len,
             size_t max_len, const char **out)
{
    if (!cJSON_IsString(v) || !v->valuestring) {
        cfg_fail(err, field, v, "Member must be a string");
        return false;
    }
    size_t n = strlen(v->valuestring);
    if (n < min_len || n > max_len) {
        char why[96];
        snprintf(why, sizeof why, "Member must have length between %zu and %zu", min_len, max_len);
        cfg_fail(err, field, v, why);
        return false;
    }
    *out = v->valuestring;
    return true;
}

// charset_ok reports whether every byte of |s| is alphanumeric or in |extra|.
bool cfg_charset_ok(const char *s, const char *extra)
{
    for (; *s; s++) {
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s)) {
            return false;
        }
    }
    return true;
}

// ---- names -----------------------------------------------------------------------------------

static const char *const start_names[] = {"TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"};
static const char *const sac_names[] = {
    "BASIC_AUTH",
    "SASL_SCRAM_256_AUTH",
    "SASL_SCRAM_512_AUTH",
    "CLIENT_CERTIFICATE_TLS_AUTH",
    "SERVER_ROOT_CA_CERTIFICATE",
    "VPC_SUBNET",
    "VPC_SECURITY_GROUP",
};
static const char *const transport_names[] = {"lambda", "http", "exec", "stdout"};

const char *esm_start_pos_name(enum esm_start_pos p)
{
    return (size_t)p < 3 ? start_names[p] : "?";
}

const char *esm_sac_type_name(enum esm_sac_type t)
{
    return (size_t)t < sizeof sac_names / sizeof sac_names[0] ? sac_names[t] : "?";
}

const char *esm_transport_name(enum esm_transport t)
{
    return (size_t)t < 4 ? transport_names[t] : "?";
}

bool cfg_lookup(const char *const *names, size_t num, const char *s, size_t *out)
{
    for (size_t i = 0; i < num; i++) {
        if (!strcmp(names[i], s)) {
            *out = i;
            return true;
        }
    }
    return false;
}

// ---- sections --------------------------------------------------------------------------------

static void parse_function(struct esm_config *c, const cJSON *v, const struct esm_parse_opts *o,
                           struct esm_cfg_err *err)
{
    if (!v) {
        cfg_fail(err, "FunctionName", v, "Member must not be null");
        return;
    }
    const char *s;
    if (!cfg_str(err, "FunctionName", v, 1, 256, &s)) {
        return;
    }
    char why[256];
    if (!esm_function_ref_parse(&c->fn, s, o, why, sizeof why)) {
        cfg_fail(err, "FunctionName", v, why);
    }
}

// topic_ok: Kafka's legal topic characters, 1-249 long, not "." or "..". AWS's pattern also
// forbids a leading '.'.
bool cfg_topic_ok(const char *t)
{
    size_t n = strlen(t);
    return n >= 1 && n <= 249 && t[0] != '.' && cfg_charset_ok(t, "._-");
}

static void parse_topics(struct esm_config *c, const cJSON *v, struct esm_cfg_err *err)
{
    if (!v) {
        cfg_fail(err, "Topics", v, "Member must not be null (give exactly one topic)");
        return;
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 1) {
        cfg_fail(err, "Topics", v, "Member must be a list of exactly 1 topic name");
        return;
    }
    const cJSON *t = cJSON_GetArrayItem(v, 0);
    const char *s;
    if (!cfg_str(err, "Topics[0]", t, 1, 249, &s)) {
        return;
    }
    if (!cfg_topic_ok(s)) {
        cfg_fail(err, "Topics[0]", t,
                 "Member must satisfy regular expression pattern: [^.]([a-zA-Z0-9\\-_.]+)");
        return;
    }
    c->topic = s;
}

static void parse_start(struct esm_config *c, const cJSON *req, const struct esm_parse_opts *o,
                        struct esm_cfg_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, "StartingPosition");
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(req, "StartingPositionTimestamp");
    // Absent: kesm starts at TRIM_HORIZON (AWS's own CLI examples for self-managed Kafka omit the
    // member; TRIM_HORIZON is the choice that loses no records). Committed offsets always win.
    c->starting_position = ESM_START_TRIM_HORIZON;
    if (v) {
        size_t idx;
        if (!cJSON_IsString(v) || !cfg_lookup(start_names, 3, v->valuestring, &idx)) {
            cfg_fail(err, "StartingPosition", v,
                     "Member must satisfy enum value set: [TRIM_HORIZON, LATEST, AT_TIMESTAMP]");
        } else {
            c->starting_position = (enum esm_start_pos)idx;
            c->starting_position_given = true;
        }
    }
    if (c->starting_position == ESM_START_AT_TIMESTAMP) {
        if (!ts) {
            cfg_fail(err, "StartingPositionTimestamp", ts,
                     "Member is required when StartingPosition is AT_TIMESTAMP (epoch seconds)");
        } else if (!cJSON_IsNumber(ts) || !isfinite(ts->valuedouble) || ts->valuedouble < 0) {
            cfg_fail(err, "StartingPositionTimestamp", ts,
                     "Member must be a timestamp in epoch seconds (a non-negative number)");
        } else if (o && o->now > 0 && ts->valuedouble > o->now) {
            cfg_fail(err, "StartingPositionTimestamp", ts, "Member must not be in the future");
        } else {
            c->starting_position_timestamp = ts->valuedouble;
        }
    } else if (ts) {
        cfg_fail(err, "StartingPositionTimestamp", ts,
                 "Member is only allowed when StartingPosition is AT_TIMESTAMP");
    }
}

static void parse_source(struct esm_config *c, const cJSON *req, struct esm_cfg_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, "SelfManagedEventSource");
    if (!v) {
        cfg_fail(err, "SelfManagedEventSource", v,
                 "Member must not be null: kesm needs "
                 "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"host:port\", ...]}}");
        return;
    }
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(v, "Endpoints");
    if (!cJSON_IsObject(v) || !cJSON_IsObject(ep) || cJSON_GetArraySize(v) != 1) {
        cfg_fail(err, "SelfManagedEventSource", v,
                 "Member must be {\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[...]}}");
        return;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, ep)
    {
        if (strcmp(e->string, "KAFKA_BOOTSTRAP_SERVERS") != 0) {
            char f[160];
            snprintf(f, sizeof f, "SelfManagedEventSource.Endpoints.%.100s", e->string);
            cfg_fail(err, f, e, "The only valid key is KAFKA_BOOTSTRAP_SERVERS");
            return;
        }
    }
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(ep, "KAFKA_BOOTSTRAP_SERVERS");
    const char *f = "SelfManagedEventSource.Endpoints.KAFKA_BOOTSTRAP_SERVERS";
    int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
    if (n < 1 || n > 10) {
        cfg_fail(err, f, list, "Member must be a list of 1 to 10 host:port strings");
        return;
    }
    c->bootstrap = calloc((size_t)n, sizeof *c->bootstrap);
    if (!c->bootstrap) {
        cfg_fail_text(err, "out of memory");
        return;
    }
    int i = 0;
    cJSON_ArrayForEach(e, list)
    {
        char fi[96];
        snprintf(fi, sizeof fi, "%s[%d]", f, i++);
        const char *s;
        if (!cfg_str(err, fi, e, 1, 300, &s)) {
            continue;
        }
        if (!hostport_valid(s)) {
            cfg_fail(err, fi, e,
                     "Member must be host:port (DNS name or IPv4 address, or [IPv6], and a port "
                     "1-65535)");
            continue;
        }
        c->bootstrap[c->num_bootstrap++] = s;
    }
}

static void parse_sacs(struct esm_config *c, const cJSON *v, struct esm_cfg_err *err)
{
    if (!v) {
        return;
    }
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (n < 0 || n > 23) {
        cfg_fail(err, "SourceAccessConfigurations", v,
                 "Member must be a list of 0 to 23 {\"Type\",\"URI\"} objects");
        return;
    }
    c->sacs = calloc((size_t)n + 1, sizeof *c->sacs);
    if (!c->sacs) {
        cfg_fail_text(err, "out of memory");
        return;
    }
    unsigned counts[7] = {0};
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        char ft[80], fu[80];
        snprintf(ft, sizeof ft, "SourceAccessConfigurations[%d].Type", i);
        snprintf(fu, sizeof fu, "SourceAccessConfigurations[%d].URI", i);
        i++;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "Type");
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "URI");
        size_t idx;
        if (cJSON_IsString(t) && !strcmp(t->valuestring, "VIRTUAL_HOST")) {
            cfg_fail(err, ft, t, "VIRTUAL_HOST applies to RabbitMQ brokers, not to Kafka");
            continue;
        }
        if (!cJSON_IsString(t) || !cfg_lookup(sac_names, 7, t->valuestring, &idx)) {
            cfg_fail(err, ft, t,
                     "Member must satisfy enum value set: [BASIC_AUTH, SASL_SCRAM_256_AUTH, "
                     "SASL_SCRAM_512_AUTH, CLIENT_CERTIFICATE_TLS_AUTH, "
                     "SERVER_ROOT_CA_CERTIFICATE, VPC_SUBNET, VPC_SECURITY_GROUP]");
            continue;
        }
        const char *uri;
        if (!cfg_str(err, fu, u, 1, 200, &uri)) {
            continue;
        }
        if (!cfg_charset_ok(uri, " -/*:_+=.@")) {
            cfg_fail(err, fu, u,
                     "Member must satisfy regular expression pattern: [ a-zA-Z0-9-\\/*:_+=.@-]*");
            continue;
        }
        if (!strncmp(uri, "arn:", 4) && !cfg_arn_ok(uri)) {
            cfg_fail(err, fu, u,
                     "An ARN must be arn:aws:<service>:<region>:<account>:<resource>, the region "
                     "of [a-z0-9-] (it names no host) and the account of digits");
            continue;
        }
        counts[idx]++;
        c->sacs[c->num_sacs].type = (enum esm_sac_type)idx;
        c->sacs[c->num_sacs].uri = uri;
        c->num_sacs++;
    }
    unsigned auth = counts[ESM_SAC_BASIC_AUTH] + counts[ESM_SAC_SASL_SCRAM_256_AUTH] +
                    counts[ESM_SAC_SASL_SCRAM_512_AUTH] +
                    counts[ESM_SAC_CLIENT_CERTIFICATE_TLS_AUTH];
    if (auth > 1) {
        cfg_fail(err, "SourceAccessConfigurations", v,
                 "At most one authentication entry is allowed (BASIC_AUTH, SASL_SCRAM_256_AUTH, "
                 "SASL_SCRAM_512_AUTH or CLIENT_CERTIFICATE_TLS_AUTH)");
    }
    if (counts[ESM_SAC_SERVER_ROOT_CA_CERTIFICATE] > 1) {
        cfg_fail(err, "SourceAccessConfigurations", v,
                 "At most one SERVER_ROOT_CA_CERTIFICATE entry is allowed");
    }
}

static void parse_group(struct esm_config *c, const cJSON *v, struct esm_cfg_err *err)
{
    const char *gm = c->group_member;
    char f[200];
    if (!v) {
        return;
    }
    bool msk = c->msk.arn != NULL;
    if (!cJSON_IsObject(v)) {
        cfg_fail(err, gm, v,
                 "Member must be an object {\"ConsumerGroupId\": \"...\", "
                 "\"SchemaRegistryConfig\": {...}}");
        return;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!cfg_group_member_known(e->string) ||
            (msk && strcmp(e->string, "ConsumptionMode") == 0)) {
            snprintf(f, sizeof f, "%s.%.100s", gm, e->string);
            cfg_fail(err, f, e,
                     msk ? "The supported members are ConsumerGroupId and SchemaRegistryConfig"
                         : "The supported members are ConsumerGroupId, ConsumptionMode and "
                           "SchemaRegistryConfig");
        }
    }
    snprintf(f, sizeof f, "%s.SchemaRegistryConfig", gm);
    cfg_parse_schema_registry(c, cJSON_GetObjectItemCaseSensitive(v, "SchemaRegistryConfig"), f,
                              err);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(v, "ConsumerGroupId");
    const char *s;
    snprintf(f, sizeof f, "%s.ConsumerGroupId", gm);
    if (g && cfg_str(err, f, g, 1, 200, &s)) {
        if (!cfg_charset_ok(s, "-/*:_+=.@")) {
            cfg_fail(err, f, g,
                     "Member must satisfy regular expression pattern: [a-zA-Z0-9-\\/*:_+=.@-]*");
        } else {
            c->consumer_group_id = s;
        }
    }
}

static void parse_destination(struct esm_config *c, const cJSON *v, struct esm_cfg_err *err)
{
    if (!v) {
        return;
    }
    const cJSON *e;
    if (!cJSON_IsObject(v)) {
        cfg_fail(err, "DestinationConfig", v,
                 "Member must be {\"OnFailure\":{\"Destination\":\"...\"}}");
        return;
    }
    cJSON_ArrayForEach(e, v)
    {
        if (strcmp(e->string, "OnFailure") != 0) {
            char f[160];
            snprintf(f, sizeof f, "DestinationConfig.%.100s", e->string);
            cfg_fail(err, f, e, "Only OnFailure is supported for event source mappings");
        }
    }
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(v, "OnFailure");
    if (!of) {
        return;
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(of, "Destination");
    if (!cJSON_IsObject(of) || (d && cJSON_GetArraySize(of) != 1)) {
        cfg_fail(err, "DestinationConfig.OnFailure", of,
                 "Member must be {\"Destination\":\"...\"}");
        return;
    }
    const char *f = "DestinationConfig.OnFailure.Destination";
    const char *s;
    if (!d || !cfg_str(err, f, d, 0, 350, &s)) {
        return;
    }
    if (!*s) {
        c->dest_kind = ESM_DEST_NONE;
    } else if (!strncmp(s, "kafka://", 8)) {
        if (!cfg_topic_ok(s + 8)) {
            cfg_fail(err, f, d, "kafka://<topic> needs a valid Kafka topic name");
            return;
        }
        if (c->topic && !strcmp(s + 8, c->topic)) {
            cfg_fail(err, f, d, "The failure topic must differ from the source topic");
            return;
        }
        c->dest_kind = ESM_DEST_KAFKA;
    } else if (!strncmp(s, "file://", 7)) {
        if (s[7] != '/' || strstr(s, "/../") || strlen(s) < 9) {
            cfg_fail(err, f, d, "file://<dir> needs an absolute directory path (kesm extension)");
            return;
        }
        c->dest_kind = ESM_DEST_DIR;
    } else if (!strncmp(s, "arn:", 4) && cfg_charset_ok(s, ":/-_.*+=@")) {
        if (!cfg_arn_ok(s)) {
            cfg_fail(err, f, d,
                     "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z0-9-]*):"
                     "([a-zA-Z0-9-])+:([a-z0-9-]*)?:(\\d{12})?:(.*) (the region names no host)");
            return;
        }
        c->dest_kind = ESM_DEST_ARN;
    } else {
        cfg_fail(err, f, d,
                 "Member must be \"\", kafka://<topic>, an ARN, or file:///<absolute dir>");
        return;
    }
    c->destination = c->dest_kind == ESM_DEST_NONE ? NULL : s;
}

static void parse_retry(struct esm_config *c, const cJSON *req, struct esm_cfg_err *err)
{
    const cJSON *v;
    int64_t x;
    c->max_retry_attempts = -1;
    c->max_record_age_s = -1;
    if ((v = cJSON_GetObjectItemCaseSensitive(req, "MaximumRetryAttempts")) &&
        cfg_int(err, "MaximumRetryAttempts", v, -1, 10000, &x)) {
        c->max_retry_attempts = (int32_t)x;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(req, "MaximumRecordAgeInSeconds"))) {
        if (!cJSON_IsNumber(v) || floor(v->valuedouble) != v->valuedouble ||
            !(v->valuedouble == -1 || (v->valuedouble >= 60 && v->valuedouble <= 604800))) {
            cfg_fail(err, "MaximumRecordAgeInSeconds", v,
                     "Member must be -1 (infinite) or an integer between 60 and 604800");
        } else {
            c->max_record_age_s = (int32_t)v->valuedouble;
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(req, "BisectBatchOnFunctionError"))) {
        cfg_bool(err, "BisectBatchOnFunctionError", v, &c->bisect_on_error);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(req, "FunctionResponseTypes"))) {
        int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
        const cJSON *t = n == 1 ? cJSON_GetArrayItem(v, 0) : NULL;
        if (n == 0) {
            c->report_batch_item_failures = false;
        } else if (n == 1 && cJSON_IsString(t) &&
                   !strcmp(t->valuestring, "ReportBatchItemFailures")) {
            c->report_batch_item_failures = true;
        } else {
            cfg_fail(err, "FunctionResponseTypes", v,
                     "Member must be [] or [\"ReportBatchItemFailures\"]");
        }
    }
}

static void parse_filters(struct esm_config *c, const cJSON *v, struct esm_cfg_err *err)
{
    if (!v) {
        return;
    }
    const cJSON *fl = cJSON_GetObjectItemCaseSensitive(v, "Filters");
    if (!cJSON_IsObject(v) || (cJSON_GetArraySize(v) > 0 && !fl) || cJSON_GetArraySize(v) > 1) {
        cfg_fail(err, "FilterCriteria", v,
                 "Member must be {} or {\"Filters\":[{\"Pattern\":...}]}");
        return;
    }
    if (fl) {
        int n = cJSON_IsArray(fl) ? cJSON_GetArraySize(fl) : -1;
        if (n < 0 || n > 10) {
            cfg_fail(err, "FilterCriteria.Filters", fl, "Member must be a list of 0 to 10 filters");
            return;
        }
        int i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, fl)
        {
            char f[64];
            snprintf(f, sizeof f, "FilterCriteria.Filters[%d].Pattern", i++);
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "Pattern");
            const char *s;
            if (!cfg_str(err, f, p, 0, 4096, &s)) {
                continue;
            }
            cJSON *parsed = cJSON_ParseWithOpts(s, NULL, true);
            bool is_obj = cJSON_IsObject(parsed);
            cJSON_Delete(parsed);
            char why[200], constraint[256];
            if (!is_obj) {
                cfg_fail(err, f, p, "Member must be a JSON object (an EventBridge-style pattern)");
            } else if (!esm_filter_check_pattern(s, why, sizeof why)) {
                snprintf(constraint, sizeof constraint, "Member must be a valid filter pattern: %s",
                         why);
                cfg_fail(err, f, p, constraint);
            }
        }
    }
    c->filter_criteria = v;
}

// ---- members ---------------------------------------------------------------------------------

static const char *const create_members[] = {
    "FunctionName",
    "Topics",
    "StartingPosition",
    "StartingPositionTimestamp",
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "Enabled",
    "SelfManagedEventSource",
    "SourceAccessConfigurations",
    "SelfManagedKafkaEventSourceConfig",
    "EventSourceArn",
    "AmazonManagedKafkaEventSourceConfig",
    "DestinationConfig",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "FunctionResponseTypes",
    "FilterCriteria",
    "KMSKeyArn",
    "MetricsConfig",
    "LoggingConfig",
    "ProvisionedPollerConfig",
    "ParallelizationFactor",
    "Tags",
    "Kesm",
};

static const char *const other_sources[] = {
    "TumblingWindowInSeconds",
    "ScalingConfig",
    "Queues",
    "DocumentDBEventSourceConfig",
};

static void check_members(const cJSON *req, struct esm_cfg_err *err)
{
    const cJSON *e;
    size_t idx;
    cJSON_ArrayForEach(e, req)
    {
        if (cfg_lookup(create_members, sizeof create_members / sizeof create_members[0], e->string,
                       &idx)) {
            continue;
        }
        if (cfg_lookup(other_sources, sizeof other_sources / sizeof other_sources[0], e->string,
                       &idx)) {
            cfg_fail(err, e->string, e, "Member does not apply to a Kafka event source");
            continue;
        }
        cfg_fail(err, e->string, e, "Member is not a known CreateEventSourceMapping member");
    }
}

// copy_without_nulls deep-copies |req| leaving out members whose value is JSON null (the
// rest-json rule: null means absent).
static cJSON *copy_without_nulls(const cJSON *req)
{
    cJSON *out = cJSON_CreateObject();
    const cJSON *e;
    cJSON_ArrayForEach(e, req)
    {
        if (cJSON_IsNull(e)) {
            continue;
        }
        cJSON *d = cJSON_Duplicate(e, true);
        if (!d || !out) {
            cJSON_Delete(d);
            cJSON_Delete(out);
            return NULL;
        }
        cJSON_AddItemToObject(out, e->string, d);
    }
    return out;
}

bool esm_config_parse(struct esm_config *out, const cJSON *req, const struct esm_parse_opts *opts,
                      struct esm_cfg_err *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    if (!cJSON_IsObject(req)) {
        cfg_fail(err, "request", req, "The request body must be a JSON object");
        cfg_finish(err);
        return false;
    }
    struct esm_config *c = out;
    c->request = copy_without_nulls(req);
    if (!c->request) {
        cfg_fail_text(err, "out of memory");
        cfg_finish(err);
        return false;
    }
    const cJSON *r = c->request;
    int64_t x;
    const cJSON *v;
    check_members(r, err);
    parse_function(c, cJSON_GetObjectItemCaseSensitive(r, "FunctionName"), opts, err);
    parse_topics(c, cJSON_GetObjectItemCaseSensitive(r, "Topics"), err);
    parse_start(c, r, opts, err);
    c->batch_size = 100;
    if ((v = cJSON_GetObjectItemCaseSensitive(r, "BatchSize")) &&
        cfg_int(err, "BatchSize", v, 1, 10000, &x)) {
        c->batch_size = (uint32_t)x;
    }
    c->batching_window_ms = 500;
    if ((v = cJSON_GetObjectItemCaseSensitive(r, "MaximumBatchingWindowInSeconds")) &&
        cfg_int(err, "MaximumBatchingWindowInSeconds", v, 0, 300, &x)) {
        c->batching_window_ms = (uint32_t)x * 1000u;
        c->batching_window_given = true;
    }
    // ParallelizationFactor: AWS's member for Kinesis and DynamoDB streams (1-10), which kesm also
    // takes for Kafka: batches in flight per partition, records of a key in one lane.
    c->parallelization_factor = 1;
    if ((v = cJSON_GetObjectItemCaseSensitive(r, "ParallelizationFactor")) &&
        cfg_int(err, "ParallelizationFactor", v, 1, 10, &x)) {
        c->parallelization_factor = (uint32_t)x;
    }
    c->enabled = true;
    if ((v = cJSON_GetObjectItemCaseSensitive(r, "Enabled"))) {
        cfg_bool(err, "Enabled", v, &c->enabled);
    }
    if (!cfg_parse_msk(c, r, opts, err)) {
        parse_source(c, r, err);
    }
    parse_sacs(c, cJSON_GetObjectItemCaseSensitive(r, "SourceAccessConfigurations"), err);
    cfg_check_msk_access(c, r, err);
    parse_group(c, cJSON_GetObjectItemCaseSensitive(r, c->group_member), err);
    parse_destination(c, cJSON_GetObjectItemCaseSensitive(r, "DestinationConfig"), err);
    parse_retry(c, r, err);
    parse_filters(c, cJSON_GetObjectItemCaseSensitive(r, "FilterCriteria"), err);
    cfg_parse_aws_fields(c, r, err);
    cfg_parse_kesm(c, cJSON_GetObjectItemCaseSensitive(r, "Kesm"), err);
    if (err->num > 0) {
        cfg_finish(err);
        esm_config_cleanup(c);
        return false;
    }
    return true;
}

bool esm_config_parse_text(struct esm_config *out, const char *text, size_t len,
                           const struct esm_parse_opts *opts, struct esm_cfg_err *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    char why[300];
    cJSON *req = esm_json_parse_guarded(text, len, NULL, why, sizeof why);
    if (!req) {
        snprintf(err->message, sizeof err->message, "Could not parse request body into json: %s",
                 why);
        err->num = 1;
        return false;
    }
    bool ok = esm_config_parse(out, req, opts, err);
    cJSON_Delete(req);
    return ok;
}

void esm_config_cleanup(struct esm_config *cfg)
{
    cJSON_Delete(cfg->request);
    esm_function_ref_cleanup(&cfg->fn);
    free(cfg->bootstrap);
    free(cfg->sacs);
    free(cfg->kesm.command);
    memset(cfg, 0, sizeof *cfg);
}
