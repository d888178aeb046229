// config_schema.c: SchemaRegistryConfig (KafkaSchemaRegistryConfig in Lambda's API model), under
// SelfManagedKafkaEventSourceConfig.
//
// AWS's model: SchemaRegistryURI 1-10000 characters of [a-zA-Z0-9-/*:_+=.@]; EventRecordFormat
// JSON | SOURCE; AccessConfigs [{Type: BASIC_AUTH | CLIENT_CERTIFICATE_TLS_AUTH |
// SERVER_ROOT_CA_CERTIFICATE, URI: a Secrets Manager ARN}] (CloudFormation: at most 2);
// SchemaValidationConfigs [{Attribute: KEY | VALUE}]. The model marks nothing required; kesm
// requires SchemaRegistryURI, EventRecordFormat and at least one validation attribute, since
// without them the member cannot mean anything. Beyond the pattern the URI must be an http(s)
// URL (Confluent Schema Registry, self-managed or Confluent Cloud) or a Glue registry ARN
// (arn:<partition>:glue:<region>:<account>:registry/<name>). Glue takes no AccessConfigs (AWS:
// the execution role's permissions apply; kesm uses its AWS credentials). Secret URIs are
// resolved as SourceAccessConfigurations URIs are (Secrets Manager ARN or name, or kesm's
// file:///path).
#include "esm/config_internal.h"
#include "net/http.h"

#include <stdio.h>
#include <string.h>

static const char *const auth_names[] = {"BASIC_AUTH", "CLIENT_CERTIFICATE_TLS_AUTH",
                                         "SERVER_ROOT_CA_CERTIFICATE"};

const char *esm_sr_auth_name(enum esm_sr_auth t)
{
    return (size_t)t < 3 ? auth_names[t] : "?";
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return n > 0;
}

// glue_arn takes arn:<partition>:glue:<region>:<12 digits>:registry/<name> apart.
static bool glue_arn(struct esm_schema_registry *r, const char *s)
{
    const char *p[6];
    size_t n[6];
    if (!cfg_arn_split(s, p, n)) {
        return false;
    }
    if (n[0] != 3 || memcmp(p[0], "arn", 3) != 0 || n[1] < 3 || memcmp(p[1], "aws", 3) != 0 ||
        n[2] != 4 || memcmp(p[2], "glue", 4) != 0 || n[3] < 4 || n[3] >= sizeof r->glue_region ||
        !(n[4] == 12 && all_digits(p[4], 12)) || n[5] <= 9 || memcmp(p[5], "registry/", 9) != 0 ||
        n[5] - 9 >= sizeof r->glue_registry) {
        return false;
    }
    for (size_t i = 0; i < n[3]; i++) {
        char ch = p[3][i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) {
            return false;
        }
    }
    const char *name = p[5] + 9;
    if (!cfg_charset_ok(name, "-_$#.")) {
        return false;
    }
    snprintf(r->glue_region, sizeof r->glue_region, "%.*s", (int)n[3], p[3]);
    snprintf(r->glue_registry, sizeof r->glue_registry, "%s", name);
    return true;
}

static void parse_uri(struct esm_config *c, const cJSON *v, const char *field,
                      struct esm_cfg_err *err)
{
    struct esm_schema_registry *r = &c->registry;
    char f[160];
    const char *s;
    snprintf(f, sizeof f, "%s.SchemaRegistryURI", field);
    if (!v) {
        cfg_fail(err, f, v,
                 "Member must not be null (a Confluent Schema Registry URL or a Glue "
                 "registry ARN)");
        return;
    }
    if (!cfg_str(err, f, v, 1, 10000, &s)) {
        return;
    }
    if (!cfg_charset_ok(s, "-/*:_+=.@")) {
        cfg_fail(err, f, v,
                 "Member must satisfy regular expression pattern: [a-zA-Z0-9-\\/*:_+=.@-]*");
        return;
    }
    if (!strncmp(s, "arn:", 4)) {
        if (!glue_arn(r, s)) {
            cfg_fail(err, f, v,
                     "An ARN must name a Glue registry: arn:aws:glue:<region>:<account>:registry/"
                     "<name>");
            return;
        }
        r->kind = ESM_SR_GLUE;
    } else {
        struct net_http_url u;
        char why[200], constraint[300];
        if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) {
            cfg_fail(err, f, v,
                     "Member must be an http:// or https:// URL (Confluent Schema Registry) or a "
                     "Glue registry ARN");
            return;
        }
        if (strlen(s) > 2000 || net_http_url_parse(&u, s, why, sizeof why) != 0) {
            snprintf(constraint, sizeof constraint, "Member must be a valid URL: %s",
                     strlen(s) > 2000 ? "longer than 2000 characters" : why);
            cfg_fail(err, f, v, constraint);
            return;
        }
        r->kind = ESM_SR_CONFLUENT;
    }
    r->uri = s;
}

static void parse_access(struct esm_config *c, const cJSON *v, const char *field,
                         struct esm_cfg_err *err)
{
    struct esm_schema_registry *r = &c->registry;
    char f[160];
    snprintf(f, sizeof f, "%s.AccessConfigs", field);
    if (!v) {
        return;
    }
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (n < 0 || n > ESM_SR_MAX_ACCESS) {
        cfg_fail(err, f, v, "Member must be a list of 0 to 2 {\"Type\",\"URI\"} objects");
        return;
    }
    if (n > 0 && r->kind == ESM_SR_GLUE) {
        cfg_fail(err, f, v,
                 "A Glue schema registry takes no AccessConfigs: its access comes from the AWS "
                 "credentials (the execution role at AWS)");
        return;
    }
    int i = 0;
    unsigned counts[3] = {0};
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        char ft[200], fu[200];
        snprintf(ft, sizeof ft, "%s[%d].Type", f, i);
        snprintf(fu, sizeof fu, "%s[%d].URI", f, i);
        i++;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "Type");
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "URI");
        size_t idx;
        const char *uri;
        if (!cJSON_IsObject(e) || cJSON_GetArraySize(e) != (t ? 1 : 0) + (u ? 1 : 0)) {
            cfg_fail(err, ft, e, "Member must be an object with only Type and URI");
            continue;
        }
        if (!cJSON_IsString(t) || !cfg_lookup(auth_names, 3, t->valuestring, &idx)) {
            cfg_fail(err, ft, t,
                     "Member must satisfy enum value set: [BASIC_AUTH, "
                     "CLIENT_CERTIFICATE_TLS_AUTH, SERVER_ROOT_CA_CERTIFICATE]");
            continue;
        }
        if (!cfg_str(err, fu, u, 1, 2048, &uri)) {
            continue;
        }
        if (!cfg_charset_ok(uri, " -/*:_+=.@")) {
            cfg_fail(err, fu, u,
                     "Member must be a Secrets Manager secret ARN (or name, or kesm's "
                     "file:///path)");
            continue;
        }
        counts[idx]++;
        r->access[r->num_access].type = (enum esm_sr_auth)idx;
        r->access[r->num_access].uri = uri;
        r->num_access++;
    }
    if (counts[ESM_SR_BASIC_AUTH] + counts[ESM_SR_CLIENT_CERTIFICATE_TLS_AUTH] > 1 ||
        counts[ESM_SR_SERVER_ROOT_CA_CERTIFICATE] > 1) {
        cfg_fail(err, f, v,
                 "At most one authentication entry (BASIC_AUTH or CLIENT_CERTIFICATE_TLS_AUTH) "
                 "and one SERVER_ROOT_CA_CERTIFICATE are allowed");
    }
}

static void parse_validation(struct esm_config *c, const cJSON *v, const char *field,
                             struct esm_cfg_err *err)
{
    struct esm_schema_registry *r = &c->registry;
    char f[160];
    snprintf(f, sizeof f, "%s.SchemaValidationConfigs", field);
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (n < 1 || n > 2) {
        cfg_fail(err, f, v,
                 "Member must be a list of 1 or 2 {\"Attribute\": \"KEY\" | \"VALUE\"} objects");
        return;
    }
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        char fa[200];
        snprintf(fa, sizeof fa, "%s[%d].Attribute", f, i++);
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "Attribute");
        if (!cJSON_IsObject(e) || cJSON_GetArraySize(e) != 1 || !cJSON_IsString(a) ||
            (strcmp(a->valuestring, "KEY") != 0 && strcmp(a->valuestring, "VALUE") != 0)) {
            cfg_fail(err, fa, a ? a : e, "Member must satisfy enum value set: [KEY, VALUE]");
            continue;
        }
        bool *flag = a->valuestring[0] == 'K' ? &r->key : &r->value;
        if (*flag) {
            cfg_fail(err, fa, a, "Each attribute may be listed once");
        }
        *flag = true;
    }
}

void cfg_parse_schema_registry(struct esm_config *c, const cJSON *v, const char *field,
                               struct esm_cfg_err *err)
{
    static const char *const members[] = {"SchemaRegistryURI", "EventRecordFormat", "AccessConfigs",
                                          "SchemaValidationConfigs"};
    memset(&c->registry, 0, sizeof c->registry);
    if (!v) {
        return;
    }
    if (!cJSON_IsObject(v)) {
        cfg_fail(err, field, v,
                 "Member must be an object {\"SchemaRegistryURI\", \"EventRecordFormat\", "
                 "\"AccessConfigs\", \"SchemaValidationConfigs\"}");
        return;
    }
    const cJSON *e;
    size_t idx;
    cJSON_ArrayForEach(e, v)
    {
        if (!cfg_lookup(members, 4, e->string, &idx)) {
            char f[200];
            snprintf(f, sizeof f, "%s.%.60s", field, e->string);
            cfg_fail(err, f, e, "Member is not a known KafkaSchemaRegistryConfig member");
        }
    }
    parse_uri(c, cJSON_GetObjectItemCaseSensitive(v, "SchemaRegistryURI"), field, err);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(v, "EventRecordFormat");
    char f[160];
    snprintf(f, sizeof f, "%s.EventRecordFormat", field);
    if (!cJSON_IsString(fmt) ||
        (strcmp(fmt->valuestring, "JSON") != 0 && strcmp(fmt->valuestring, "SOURCE") != 0)) {
        cfg_fail(err, f, fmt, "Member must satisfy enum value set: [JSON, SOURCE]");
    } else {
        c->registry.format = fmt->valuestring[0] == 'J' ? ESM_SR_FORMAT_JSON : ESM_SR_FORMAT_SOURCE;
    }
    parse_access(c, cJSON_GetObjectItemCaseSensitive(v, "AccessConfigs"), field, err);
    parse_validation(c, cJSON_GetObjectItemCaseSensitive(v, "SchemaValidationConfigs"), field, err);
}
