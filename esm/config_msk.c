// config_msk.c: an Amazon MSK event source in a mapping's configuration.
//
//   "EventSourceArn": "arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>"
//   "AmazonManagedKafkaEventSourceConfig": {"ConsumerGroupId": "...", "SchemaRegistryConfig": ...}
//
// Exactly one of EventSourceArn and SelfManagedEventSource names the cluster. The ARN is checked
// against Lambda's pattern for event source ARNs, narrowed to what an MSK source can be: the
// partition aws[-...], service kafka, a region in AWS's form ([a-z]{2}(-gov)?-[a-z]+-\d), a
// 12-digit account and a provisioned or serverless cluster resource cluster/<name>/<uuid>
// (MSK's cluster names: a letter or digit, then letters, digits and '-', at most 64). The region
// must be the mapping's own (the function's region, or kesm serve --region for a bare function
// name), as Lambda reads only clusters of its own region. The bootstrap brokers are not in the
// configuration: the running mapping asks the Kafka API (esm/msk_discover.c).
//
// Amazon MSK takes no SASL/PLAIN and SCRAM-SHA-512 only: BASIC_AUTH and SASL_SCRAM_256_AUTH are
// refused for an MSK source. Without an authentication entry the mapping uses IAM (SASL/
// OAUTHBEARER with the MSK IAM token of the AWS credential chain) when the cluster has IAM
// brokers, as Lambda does.
#include "esm/config_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char amazon[] = "AmazonManagedKafkaEventSourceConfig";
static const char self[] = "SelfManagedKafkaEventSourceConfig";

static bool all_of(const char *p, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)p[i]) && strchr(set, p[i]) == NULL) {
            return false;
        }
    }
    return true;
}

// region_ok: [a-z]{2}(-gov)?-[a-z]+-\d, AWS's pattern for event source ARNs.
static bool region_ok(const char *p, size_t n)
{
    if (n < 6 || n > 31 || !islower((unsigned char)p[0]) || !islower((unsigned char)p[1]) ||
        p[2] != '-' || !isdigit((unsigned char)p[n - 1]) || p[n - 2] != '-') {
        return false;
    }
    size_t i = 3;
    if (n > 7 && strncmp(p + 3, "gov-", 4) == 0) {
        i = 7;
    }
    if (i >= n - 2) {
        return false;
    }
    for (; i < n - 2; i++) {
        if (!islower((unsigned char)p[i])) {
            return false;
        }
    }
    return true;
}

// cluster_resource: cluster/<name>/<uuid> with the name copied to |name|.
static bool cluster_resource(const char *p, size_t n, char *name, size_t cap)
{
    if (n < 10 || strncmp(p, "cluster/", 8) != 0) {
        return false;
    }
    p += 8;
    n -= 8;
    const char *slash = memchr(p, '/', n);
    if (slash == NULL) {
        return false;
    }
    size_t name_len = (size_t)(slash - p), id_len = n - name_len - 1;
    if (name_len < 1 || name_len > 64 || name_len >= cap || !isalnum((unsigned char)p[0]) ||
        !all_of(p, name_len, "-") || id_len < 1 || id_len > 64 || !all_of(slash + 1, id_len, "-")) {
        return false;
    }
    memcpy(name, p, name_len);
    name[name_len] = '\0';
    return true;
}

static void parse_arn(struct esm_config *c, const cJSON *v, const struct esm_parse_opts *o,
                      struct esm_cfg_err *err)
{
    const char *s;
    if (!cfg_str(err, "EventSourceArn", v, 12, 1024, &s)) {
        return;
    }
    const char *f[6];
    size_t n[6];
    bool frame = cfg_arn_split(s, f, n) && n[0] == 3 && memcmp(f[0], "arn", 3) == 0 && n[1] >= 3 &&
                 memcmp(f[1], "aws", 3) == 0 && all_of(f[1], n[1], "-");
    if (!frame || n[2] != 5 || memcmp(f[2], "kafka", 5) != 0) {
        cfg_fail(err, "EventSourceArn", v,
                 "kesm reads Amazon MSK clusters (arn:aws:kafka:<region>:<account>:cluster/"
                 "<name>/<uuid>) and self-managed Kafka clusters (SelfManagedEventSource)");
        return;
    }
    if (!region_ok(f[3], n[3]) || n[4] != 12 || !all_of(f[4], 12, "") ||
        strspn(f[4], "0123456789") < 12) {
        cfg_fail(err, "EventSourceArn", v,
                 "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z0-9-]*):kafka:"
                 "([a-z]{2}(-gov)?-[a-z]+-\\d{1}):(\\d{12}):cluster/<name>/<uuid>");
        return;
    }
    if (!cluster_resource(f[5], n[5], c->msk.cluster, sizeof c->msk.cluster)) {
        cfg_fail(err, "EventSourceArn", v,
                 "An MSK event source must be a cluster ARN (cluster/<name>/<uuid>, the name 1-64 "
                 "letters, digits or '-'); VPC connection ARNs are not supported");
        return;
    }
    snprintf(c->msk.region, sizeof c->msk.region, "%.*s", (int)n[3], f[3]);
    const char *want = c->fn.given_as_arn || c->fn.given_as_partial ? c->fn.region : NULL;
    if (want == NULL && o != NULL) {
        want = o->default_region;
    }
    if (want != NULL && c->fn.region != NULL && strcmp(want, c->msk.region) != 0) {
        char why[200];
        snprintf(why, sizeof why,
                 "The cluster must be in the mapping's region %s (Lambda reads MSK clusters of "
                 "its own region only)",
                 want);
        cfg_fail(err, "EventSourceArn", v, why);
        return;
    }
    c->msk.arn = s;
}

bool cfg_parse_msk(struct esm_config *c, const cJSON *req, const struct esm_parse_opts *o,
                   struct esm_cfg_err *err)
{
    const cJSON *arn = cJSON_GetObjectItemCaseSensitive(req, "EventSourceArn");
    const cJSON *am = cJSON_GetObjectItemCaseSensitive(req, amazon);
    c->group_member = self;
    if (arn == NULL) {
        if (am != NULL) {
            cfg_fail(err, amazon, am,
                     "Member applies to an Amazon MSK source (EventSourceArn); a self-managed "
                     "cluster takes SelfManagedKafkaEventSourceConfig");
        }
        return false;
    }
    c->group_member = amazon;
    const cJSON *smes = cJSON_GetObjectItemCaseSensitive(req, "SelfManagedEventSource");
    if (smes != NULL) {
        cfg_fail(err, "SelfManagedEventSource", smes,
                 "Member must not be given together with EventSourceArn: a mapping reads either "
                 "an Amazon MSK cluster or a self-managed one");
    }
    const cJSON *sm = cJSON_GetObjectItemCaseSensitive(req, self);
    if (sm != NULL) {
        cfg_fail(err, self, sm,
                 "Member applies to a self-managed cluster; an Amazon MSK source (EventSourceArn) "
                 "takes AmazonManagedKafkaEventSourceConfig");
    }
    parse_arn(c, arn, o, err);
    return true;
}

void cfg_check_msk_access(const struct esm_config *c, const cJSON *req, struct esm_cfg_err *err)
{
    if (c->msk.arn == NULL) {
        return;
    }
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(req, "SourceAccessConfigurations");
    for (size_t i = 0; i < c->num_sacs; i++) {
        enum esm_sac_type t = c->sacs[i].type;
        if (t != ESM_SAC_BASIC_AUTH && t != ESM_SAC_SASL_SCRAM_256_AUTH) {
            continue;
        }
        char f[80];
        snprintf(f, sizeof f, "SourceAccessConfigurations[%zu].Type", i);
        const cJSON *e = cJSON_GetArrayItem(list, (int)i);
        cfg_fail(err, f, cJSON_GetObjectItemCaseSensitive(e, "Type"),
                 t == ESM_SAC_BASIC_AUTH
                     ? "Amazon MSK does not support SASL/PLAIN: use SASL_SCRAM_512_AUTH, "
                       "CLIENT_CERTIFICATE_TLS_AUTH or no entry (IAM)"
                     : "Amazon MSK supports SCRAM-SHA-512 only: use SASL_SCRAM_512_AUTH");
    }
}
