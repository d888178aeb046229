// config_aws.c: the members Lambda added to CreateEventSourceMapping since 2024, validated with
// the limits of Lambda's API model (botocore's lambda/2015-03-31 service-2.json) and the
// constraint texts AWS's validation messages use:
//   KMSKeyArn                      0-10000 characters, (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()
//   MetricsConfig.Metrics          0-3 of EventCount | ErrorCount | KafkaMetrics
//   LoggingConfig.SystemLogLevel   DEBUG | INFO | WARN
//   ProvisionedPollerConfig        MinimumPollers 1-200, MaximumPollers 1-10000 (not below the
//                                  minimum), PollerGroupName 0-128 of [a-zA-Z0-9-_]
//   SelfManagedKafkaEventSourceConfig.ConsumptionMode   Stream | Queue (create-only; Queue,
//                                  Kafka share groups, is refused until kesm speaks KIP-932)
//   Tags                           an object of at most 50 tags, keys of 1-128 characters not
//                                  starting with aws:, string values of at most 256 (AWS's
//                                  tagging limits; create-only, not echoed)
// Everything is echoed exactly as given (config_response.c). What they do in kesm: README.md.
// cfg_arn_ok checks the frame of the ARNs kesm builds AWS endpoints from (destinations, secrets).
#include "esm/config_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MAX_TAGS 50

static const char *const metric_names[] = {"EventCount", "ErrorCount", "KafkaMetrics"};
static const char *const log_levels[] = {"DEBUG", "INFO", "WARN"};

// only_members refuses members of object |v| (at |field|) other than |names|.
static void only_members(const cJSON *v, const char *field, const char *const *names, size_t n,
                         struct esm_cfg_err *err)
{
    const cJSON *e;
    size_t idx;
    cJSON_ArrayForEach(e, v)
    {
        if (!cfg_lookup(names, n, e->string, &idx)) {
            char f[200];
            snprintf(f, sizeof f, "%s.%.100s", field, e->string);
            cfg_fail(err, f, e, "Member is not a known member of the structure");
        }
    }
}

static void enum_fail(struct esm_cfg_err *err, const char *field, const cJSON *v,
                      const char *const *names, size_t n)
{
    char c[200] = "Member must satisfy enum value set: [";
    for (size_t i = 0; i < n; i++) {
        strncat(c, names[i], sizeof c - strlen(c) - 3);
        strncat(c, i + 1 < n ? ", " : "]", sizeof c - strlen(c) - 1);
    }
    cfg_fail(err, field, v, c);
}

static void parse_kms(struct esm_config *c, const cJSON *v, struct esm_cfg_err *err)
{
    const char *s;
    if (v == NULL || !cfg_str(err, "KMSKeyArn", v, 0, 10000, &s)) {
        return;
    }
    // (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()
    bool ok = *s == '\0';
    if (!ok && strncmp(s, "arn:", 4) == 0) {
        const char *p = s + 4;
        if (strncmp(p, "aws", 3) == 0) {
            p += 3;
            while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '-') {
                p++;
            }
        }
        if (*p == ':') {
            const char *q = ++p;
            while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.') {
                p++;
            }
            ok = p > q && *p == ':';
        }
    }
    if (!ok) {
        cfg_fail(err, "KMSKeyArn", v,
                 "Member must satisfy regular expression pattern: "
                 "(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()");
        return;
    }
    c->aws.kms_key_arn = s;
}

static void parse_metrics(struct esm_config *c, const cJSON *v, struct esm_cfg_err *err)
{
    if (v == NULL) {
        return;
    }
    if (!cJSON_IsObject(v)) {
        cfg_fail(err, "MetricsConfig", v, "Member must be an object {\"Metrics\": [...]}");
        return;
    }
    static const char *const members[] = {"Metrics"};
    only_members(v, "MetricsConfig", members, 1, err);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, "Metrics");
    if (m == NULL || cJSON_IsNull(m)) {
        return;
    }
    if (!cJSON_IsArray(m)) {
        cfg_fail(err, "MetricsConfig.Metrics", m, "Member must be a list");
        return;
    }
    if (cJSON_GetArraySize(m) > 3) {
        cfg_fail(err, "MetricsConfig.Metrics", m,
                 "Member must have length less than or equal to 3");
        return;
    }
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, m)
    {
        char f[64];
        snprintf(f, sizeof f, "MetricsConfig.Metrics[%d]", i++);
        size_t idx;
        if (!cJSON_IsString(e) || !cfg_lookup(metric_names, 3, e->valuestring, &idx)) {
            enum_fail(err, f, e, metric_names, 3);
            continue;
        }
        c->aws.metrics |= 1u << idx;
    }
}

static void parse_logging(struct esm_config *c, const cJSON *v, struct esm_cfg_err *err)
{
    c->aws.system_log_level = -1;
    if (v == NULL) {
        return;
    }
    if (!cJSON_IsObject(v)) {
        cfg_fail(err, "LoggingConfig", v, "Member must be an object {\"SystemLogLevel\": ...}");
        return;
    }
    static const char *const members[] = {"SystemLogLevel"};
    only_members(v, "LoggingConfig", members, 1, err);
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(v, "SystemLogLevel");
    if (l == NULL || cJSON_IsNull(l)) {
        return;
    }
    size_t idx;
    if (!cJSON_IsString(l) || !cfg_lookup(log_levels, 3, l->valuestring, &idx)) {
        enum_fail(err, "LoggingConfig.SystemLogLevel", l, log_levels, 3);
        return;
    }
    c->aws.system_log_level = (int)idx; // 0 DEBUG, 1 INFO, 2 WARN: net/log.h's numbering
}

static void parse_pollers(struct esm_config *c, const cJSON *v, struct esm_cfg_err *err)
{
    if (v == NULL) {
        return;
    }
    if (!cJSON_IsObject(v)) {
        cfg_fail(err, "ProvisionedPollerConfig", v, "Member must be an object");
        return;
    }
    static const char *const members[] = {"MinimumPollers", "MaximumPollers", "PollerGroupName"};
    only_members(v, "ProvisionedPollerConfig", members, 3, err);
    const cJSON *e;
    int64_t x;
    unsigned before = err->num;
    c->aws.provisioned = true;
    c->aws.min_pollers = 1;
    c->aws.max_pollers = 200;
    if ((e = cJSON_GetObjectItemCaseSensitive(v, "MinimumPollers")) && !cJSON_IsNull(e) &&
        cfg_int(err, "ProvisionedPollerConfig.MinimumPollers", e, 1, 200, &x)) {
        c->aws.min_pollers = (uint32_t)x;
    }
    if ((e = cJSON_GetObjectItemCaseSensitive(v, "MaximumPollers")) && !cJSON_IsNull(e) &&
        cfg_int(err, "ProvisionedPollerConfig.MaximumPollers", e, 1, 10000, &x)) {
        c->aws.max_pollers = (uint32_t)x;
    }
    const char *s;
    if ((e = cJSON_GetObjectItemCaseSensitive(v, "PollerGroupName")) && !cJSON_IsNull(e) &&
        cfg_str(err, "ProvisionedPollerConfig.PollerGroupName", e, 0, 128, &s)) {
        if (!cfg_charset_ok(s, "-_")) {
            cfg_fail(err, "ProvisionedPollerConfig.PollerGroupName", e,
                     "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]*");
        } else {
            c->aws.poller_group = s;
        }
    }
    if (err->num == before && c->aws.min_pollers > c->aws.max_pollers) {
        cfg_fail(err, "ProvisionedPollerConfig.MinimumPollers",
                 cJSON_GetObjectItemCaseSensitive(v, "MinimumPollers"),
                 "MinimumPollers must not be greater than MaximumPollers");
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

// cfg_arn_ok checks an ARN's frame as Lambda's API model does for destinations
// (arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9-])+:(<region>)?:(\d{12})?:(.*)), loosely: the region is
// [a-z0-9-]* (not starting with '-'), the account 0-12 digits, the resource not empty. kesm builds
// AWS endpoints from the region (https://<service>.<region>.amazonaws.com), so nothing in it may
// name another host ('.', '/', '@', ':').
bool cfg_arn_split(const char *s, const char *f[6], size_t n[6])
{
    const char *c = s;
    for (int i = 0; i < 5; i++) {
        const char *colon = strchr(c, ':');
        if (!colon) {
            return false;
        }
        f[i] = c;
        n[i] = (size_t)(colon - c);
        c = colon + 1;
    }
    f[5] = c;
    n[5] = strlen(c);
    return true;
}

bool cfg_arn_ok(const char *s)
{
    const char *f[6];
    size_t n[6];
    if (!cfg_arn_split(s, f, n)) {
        return false;
    }
    if (n[0] != 3 || memcmp(f[0], "arn", 3) != 0 || n[1] < 3 || memcmp(f[1], "aws", 3) != 0 ||
        n[2] == 0 || n[3] > 32 || n[4] > 12 || n[5] == 0 || (n[3] > 0 && f[3][0] == '-')) {
        return false;
    }
    for (size_t i = 3; i < n[1]; i++) {
        if (!isalnum((unsigned char)f[1][i]) && f[1][i] != '-') {
            return false;
        }
    }
    for (size_t i = 0; i < n[2]; i++) {
        if (!isalnum((unsigned char)f[2][i]) && f[2][i] != '-') {
            return false;
        }
    }
    for (size_t i = 0; i < n[3]; i++) {
        char ch = f[3][i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) {
            return false;
        }
    }
    for (size_t i = 0; i < n[4]; i++) {
        if (!isdigit((unsigned char)f[4][i])) {
            return false;
        }
    }
    return true;
}

bool cfg_group_member_known(const char *name)
{
    return strcmp(name, "ConsumerGroupId") == 0 || strcmp(name, "ConsumptionMode") == 0 ||
           strcmp(name, "SchemaRegistryConfig") == 0;
}

static void parse_consumption(struct esm_config *c, const cJSON *group, struct esm_cfg_err *err)
{
    const cJSON *m =
        cJSON_IsObject(group) ? cJSON_GetObjectItemCaseSensitive(group, "ConsumptionMode") : NULL;
    if (m == NULL || cJSON_IsNull(m)) {
        return;
    }
    static const char *const modes[] = {"Stream", "Queue"};
    size_t idx;
    const char *f = "SelfManagedKafkaEventSourceConfig.ConsumptionMode";
    if (!cJSON_IsString(m) || !cfg_lookup(modes, 2, m->valuestring, &idx)) {
        enum_fail(err, f, m, modes, 2);
    } else if (idx == 1) {
        cfg_fail(err, f, m,
                 "Queue mode (Kafka share groups, KIP-932) is not supported by kesm: use Stream "
                 "(consumer groups, order kept per partition)");
    } else {
        c->aws.consumption_mode = m->valuestring;
    }
}

void cfg_parse_aws_fields(struct esm_config *c, const cJSON *req, struct esm_cfg_err *err)
{
    memset(&c->aws, 0, sizeof c->aws);
    parse_kms(c, cJSON_GetObjectItemCaseSensitive(req, "KMSKeyArn"), err);
    parse_metrics(c, cJSON_GetObjectItemCaseSensitive(req, "MetricsConfig"), err);
    parse_logging(c, cJSON_GetObjectItemCaseSensitive(req, "LoggingConfig"), err);
    parse_pollers(c, cJSON_GetObjectItemCaseSensitive(req, "ProvisionedPollerConfig"), err);
    parse_consumption(c, cJSON_GetObjectItemCaseSensitive(req, "SelfManagedKafkaEventSourceConfig"),
                      err);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, "Tags");
    if (v != NULL) {
        parse_tags(v, err);
    }
}
