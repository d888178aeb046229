// config_opaque.c: the request members kesm stores and echoes without acting on them (KMSKeyArn,
// MetricsConfig, LoggingConfig, ProvisionedPollerConfig, Tags). They are checked against the
// Lambda API model's shapes (botocore's lambda 2015-03-31 model), so that what is accepted is
// bounded and reads back: unknown members inside them are refused, strings and lists have the
// model's limits, and Tags follow AWS's tagging limits (at most 50 tags, keys of 1-128 and values
// of 0-256 characters).
#include "esm/config_internal.h"

#include <stdio.h>
#include <string.h>

#define MAX_TAGS 50

// only_members refuses members of |v| (an object) that are not in |names|.
static bool only_members(struct esm_cfg_err *err, const char *field, const cJSON *v,
                         const char *const *names, size_t n, const char *list)
{
    if (!cJSON_IsObject(v)) {
        cfg_fail(err, field, v, "Member must be an object");
        return false;
    }
    bool ok = true;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        size_t idx;
        if (!cfg_lookup(names, n, e->string, &idx)) {
            char f[200], why[160];
            snprintf(f, sizeof f, "%s.%.100s", field, e->string);
            snprintf(why, sizeof why, "Member is not one of %s", list);
            cfg_fail(err, f, e, why);
            ok = false;
        }
    }
    return ok;
}

static void parse_metrics(const cJSON *v, struct esm_cfg_err *err)
{
    static const char *const members[] = {"Metrics"};
    if (!only_members(err, "MetricsConfig", v, members, 1, "Metrics")) {
        return;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, "Metrics");
    if (!m) {
        return;
    }
    int n = cJSON_IsArray(m) ? cJSON_GetArraySize(m) : -1;
    if (n < 0 || n > 3) {
        cfg_fail(err, "MetricsConfig.Metrics", m, "Member must be a list of 0 to 3 metric groups");
        return;
    }
    static const char *const groups[] = {"EventCount", "ErrorCount", "KafkaMetrics"};
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, m)
    {
        size_t idx;
        char f[64];
        snprintf(f, sizeof f, "MetricsConfig.Metrics[%d]", i++);
        if (!cJSON_IsString(e) || !cfg_lookup(groups, 3, e->valuestring, &idx)) {
            cfg_fail(err, f, e,
                     "Member must satisfy enum value set: [EventCount, ErrorCount, KafkaMetrics]");
        }
    }
}

static void parse_logging(const cJSON *v, struct esm_cfg_err *err)
{
    static const char *const members[] = {"SystemLogLevel"};
    if (!only_members(err, "LoggingConfig", v, members, 1, "SystemLogLevel")) {
        return;
    }
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(v, "SystemLogLevel");
    static const char *const levels[] = {"DEBUG", "INFO", "WARN"};
    size_t idx;
    if (l && (!cJSON_IsString(l) || !cfg_lookup(levels, 3, l->valuestring, &idx))) {
        cfg_fail(err, "LoggingConfig.SystemLogLevel", l,
                 "Member must satisfy enum value set: [DEBUG, INFO, WARN]");
    }
}

static void parse_pollers(const cJSON *v, struct esm_cfg_err *err)
{
    static const char *const members[] = {"MinimumPollers", "MaximumPollers", "PollerGroupName"};
    if (!only_members(err, "ProvisionedPollerConfig", v, members, 3,
                      "MinimumPollers, MaximumPollers, PollerGroupName")) {
        return;
    }
    const cJSON *x;
    int64_t n;
    const char *s;
    if ((x = cJSON_GetObjectItemCaseSensitive(v, "MinimumPollers"))) {
        cfg_int(err, "ProvisionedPollerConfig.MinimumPollers", x, 1, 200, &n);
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(v, "MaximumPollers"))) {
        cfg_int(err, "ProvisionedPollerConfig.MaximumPollers", x, 1, 2000, &n);
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(v, "PollerGroupName")) &&
        cfg_str(err, "ProvisionedPollerConfig.PollerGroupName", x, 0, 128, &s) &&
        !cfg_charset_ok(s, "-_")) {
        cfg_fail(err, "ProvisionedPollerConfig.PollerGroupName", x,
                 "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]*");
    }
}

// utf8_chars counts the characters of a valid UTF-8 string (the request is strict UTF-8 already).
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        n += ((unsigned char)*s & 0xC0) != 0x80 ? 1u : 0u;
    }
    return n;
}

static void parse_tags(const cJSON *v, struct esm_cfg_err *err)
{
    if (!cJSON_IsObject(v)) {
        cfg_fail(err, "Tags", v, "Member must be an object of tag keys and string values");
        return;
    }
    if (cJSON_GetArraySize(v) > MAX_TAGS) {
        cfg_fail_text(err,
                      "Value at 'Tags' failed to satisfy constraint: Member must have at most "
                      "%d tags",
                      MAX_TAGS);
        return;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        char f[200];
        snprintf(f, sizeof f, "Tags.%.100s", e->string);
        size_t kl = utf8_chars(e->string);
        if (kl < 1 || kl > 128 || !strncmp(e->string, "aws:", 4)) {
            cfg_fail_text(err,
                          "Key '%.100s' at 'Tags' failed to satisfy constraint: a tag key has 1 "
                          "to 128 characters and does not start with aws:",
                          e->string);
            continue;
        }
        if (!cJSON_IsString(e) || utf8_chars(e->valuestring) > 256) {
            cfg_fail(err, f, e, "Member must be a string of at most 256 characters");
        }
    }
}

void cfg_parse_opaque(const cJSON *req, struct esm_cfg_err *err)
{
    const cJSON *v;
    const char *s;
    if ((v = cJSON_GetObjectItemCaseSensitive(req, "KMSKeyArn")) &&
        cfg_str(err, "KMSKeyArn", v, 0, 2048, &s) && *s && strncmp(s, "arn:", 4) != 0) {
        cfg_fail(err, "KMSKeyArn", v,
                 "Member must satisfy regular expression pattern: "
                 "(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()");
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(req, "MetricsConfig"))) {
        parse_metrics(v, err);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(req, "LoggingConfig"))) {
        parse_logging(v, err);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(req, "ProvisionedPollerConfig"))) {
        parse_pollers(v, err);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(req, "Tags"))) {
        parse_tags(v, err);
    }
}
