// policy.c: the operator's opt-ins for mappings managed through the API (see policy.h).
#include "esm/policy.h"

#include "esm/config_internal.h"

#include <stdio.h>
#include <string.h>

static const cJSON *kesm_member(const struct esm_config *cfg, const char *name)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(cfg->request, "Kesm");
    return cJSON_GetObjectItemCaseSensitive(k, name);
}

static void refuse(struct esm_cfg_err *err, const char *field, const cJSON *v, const char *what,
                   const char *flag)
{
    char why[300];
    snprintf(why, sizeof why, "kesm serve %s through its API only when started with %s", what,
             flag);
    cfg_fail(err, field, v, why);
}

static void check_secrets(const struct esm_config *cfg, const struct esm_policy *pol,
                          struct esm_cfg_err *err)
{
    if (cfg->kesm.oauth_token_file && !pol->allow_file_secrets) {
        refuse(err, "Kesm.OAuthBearerTokenFile", kesm_member(cfg, "OAuthBearerTokenFile"),
               "reads OAUTHBEARER token files", "--allow-api-file-secrets");
    }
    for (size_t i = 0; i < cfg->num_sacs; i++) {
        if (strncmp(cfg->sacs[i].uri, "file://", 7) != 0 || pol->allow_file_secrets) {
            continue;
        }
        char f[80];
        snprintf(f, sizeof f, "SourceAccessConfigurations[%zu].URI", i);
        const cJSON *list =
            cJSON_GetObjectItemCaseSensitive(cfg->request, "SourceAccessConfigurations");
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(list, (int)i), "URI");
        refuse(err, f, u,
               "reads secret files named by a file:// URI (use --secrets-dir names or Secrets "
               "Manager ARNs)",
               "--allow-api-file-secrets");
    }
}

// registry_member returns SchemaRegistryConfig's member |name| (or AccessConfigs[i].URI when
// |i| >= 0), for messages.
static const cJSON *registry_member(const struct esm_config *cfg, const char *name, int i)
{
    const char *gm = cfg->group_member ? cfg->group_member : "SelfManagedKafkaEventSourceConfig";
    const cJSON *smk = cJSON_GetObjectItemCaseSensitive(cfg->request, gm);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(smk, "SchemaRegistryConfig"), name);
    return i < 0 ? v : cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(v, i), "URI");
}

// check_registry: a schema registry's secrets follow the same rules as the brokers': no file://
// URI without its flag, and no BASIC_AUTH credentials to an http:// (cleartext) registry.
static void check_registry(const struct esm_config *cfg, const struct esm_policy *pol,
                           struct esm_cfg_err *err)
{
    const struct esm_schema_registry *r = &cfg->registry;
    char f[80];
    snprintf(f, sizeof f, "%s.SchemaRegistryConfig",
             cfg->group_member ? cfg->group_member : "SelfManagedKafkaEventSourceConfig");
    char field[160];
    for (size_t i = 0; i < r->num_access; i++) {
        if (strncmp(r->access[i].uri, "file://", 7) == 0 && !pol->allow_file_secrets) {
            snprintf(field, sizeof field, "%s.AccessConfigs[%zu].URI", f, i);
            refuse(err, field, registry_member(cfg, "AccessConfigs", (int)i),
                   "reads secret files named by a file:// URI", "--allow-api-file-secrets");
        }
        if (r->kind == ESM_SR_CONFLUENT && r->access[i].type == ESM_SR_BASIC_AUTH &&
            strncmp(r->uri, "http://", 7) == 0 && !pol->allow_plaintext_sasl) {
            snprintf(field, sizeof field, "%s.SchemaRegistryURI", f);
            refuse(err, field, registry_member(cfg, "SchemaRegistryURI", -1),
                   "sends BASIC_AUTH credentials to a registry without TLS (http://)",
                   "--allow-api-plaintext-sasl");
        }
    }
}

bool esm_policy_check(const struct esm_config *cfg, const struct esm_policy *pol, char *why,
                      size_t why_len)
{
    static const struct esm_policy none = {0};
    if (pol == NULL) {
        pol = &none;
    }
    struct esm_cfg_err err;
    memset(&err, 0, sizeof err);
    const struct esm_kesm *k = &cfg->kesm;
    const char *exec_what = "runs programs named (the operator's --route exec:... targets need no "
                            "flag)";
    if (k->transport == ESM_TRANSPORT_EXEC && !pol->allow_exec) {
        refuse(&err, "Kesm.Transport", kesm_member(cfg, "Transport"), exec_what,
               "--allow-api-exec");
    } else if (kesm_member(cfg, "Command") && !pol->allow_exec) {
        refuse(&err, "Kesm.Command", kesm_member(cfg, "Command"), exec_what, "--allow-api-exec");
    }
    const char *http_what = "sends events to URLs named";
    if (k->transport == ESM_TRANSPORT_HTTP && !pol->allow_http) {
        refuse(&err, "Kesm.Transport", kesm_member(cfg, "Transport"), http_what,
               "--allow-api-http");
    } else if (kesm_member(cfg, "Url") && !pol->allow_http) {
        refuse(&err, "Kesm.Url", kesm_member(cfg, "Url"), http_what, "--allow-api-http");
    }
    if (k->sasl_allow_plaintext && !pol->allow_plaintext_sasl) {
        refuse(&err, "Kesm.SaslAllowPlaintext", kesm_member(cfg, "SaslAllowPlaintext"),
               "sends SASL credentials without TLS (Kesm.Tls false) when asked",
               "--allow-api-plaintext-sasl");
    }
    if (k->tls_insecure_skip_verify && !pol->allow_insecure_tls) {
        refuse(&err, "Kesm.TlsInsecureSkipVerify", kesm_member(cfg, "TlsInsecureSkipVerify"),
               "skips broker certificate verification when asked", "--allow-api-insecure-tls");
    }
    check_secrets(cfg, pol, &err);
    check_registry(cfg, pol, &err);
    if (cfg->dest_kind == ESM_DEST_DIR && !pol->allow_file_destinations) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cfg->request, "DestinationConfig"), "OnFailure"),
            "Destination");
        refuse(&err, "DestinationConfig.OnFailure.Destination", d,
               "writes failure records into file:// directories named",
               "--allow-api-file-destinations");
    }
    static const char *const run_only[] = {"SecretsDir", "SecretsManager",
                                           "SecretsManagerEndpoint"};
    for (size_t i = 0; i < sizeof run_only / sizeof run_only[0]; i++) {
        const cJSON *v = kesm_member(cfg, run_only[i]);
        if (v != NULL) {
            char f[64];
            snprintf(f, sizeof f, "Kesm.%s", run_only[i]);
            cfg_fail(&err, f, v,
                     "Member applies to kesm run only: kesm serve resolves secrets with its own "
                     "--secrets-dir and --secrets-manager flags");
        }
    }
    if (err.num == 0) {
        return true;
    }
    cfg_finish(&err);
    snprintf(why, why_len, "%s", err.message);
    return false;
}
