// config_kesm.c: the "Kesm" extension member of a mapping configuration.
//
// AWS has no place for where a self-hosted mapping delivers its batches, so kesm adds one member
// to the CreateEventSourceMapping shape (documented in README.md under Configuration):
//
//   "Kesm": {"Transport": "lambda" | "http" | "exec" | "stdout",   default "lambda"
//            "Url": "http(s)://...",       http: required; lambda: endpoint override
//            "Command": ["prog", "arg"],   exec: required (argv; the event arrives on stdin)
//            "Region": "us-east-1",        lambda: region override (default: the function ARN's)
//            "InvokeTimeoutMs": 840000,    1-900000
//            "Tls": true | false,          broker TLS; default from SourceAccessConfigurations
//            "TlsInsecureSkipVerify": false,
//            "SaslAllowPlaintext": false,
//            "SecretsDir": "/abs/dir",      kesm run: where secret ARNs and names resolve
//            "SecretsManager": false,       kesm run: fetch them from AWS Secrets Manager
//            "SecretsManagerEndpoint": "http(s)://...",   kesm run: its endpoint override
//            "MaxConcurrency": 100,         batches in flight at once, 1-1000 (default: kesm serve
//                                           --max-concurrency, else ESM_MAX_CONCURRENCY_DEFAULT;
//                                           the stdout transport: ESM_STDOUT_CONCURRENCY_DEFAULT)
//            "PartitionAssignmentStrategy": "range,roundrobin" | "cooperative-sticky",
//            "GroupProtocol": "classic" | "consumer" | "auto",
//            "OAuthBearerTokenFile": "/abs/file"}  SASL/OAUTHBEARER with this token (self-managed)
#include "esm/config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kesm_members[] = {
    "Transport",
    "Url",
    "Command",
    "Region",
    "InvokeTimeoutMs",
    "Tls",
    "TlsInsecureSkipVerify",
    "SaslAllowPlaintext",
    "SecretsDir",
    "SecretsManager",
    "SecretsManagerEndpoint",
    "MaxConcurrency",
    "PartitionAssignmentStrategy",
    "GroupProtocol",
    "OAuthBearerTokenFile",
};

static void parse_command(struct esm_config *c, const cJSON *v, struct esm_cfg_err *err)
{
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (n < 1 || n > 64) {
        cfg_fail(err, "Kesm.Command", v, "Member must be a list of 1 to 64 strings (argv)");
        return;
    }
    const char **argv = calloc((size_t)n + 1, sizeof *argv);
    if (!argv) {
        cfg_fail_text(err, "out of memory");
        return;
    }
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        char f[48];
        snprintf(f, sizeof f, "Kesm.Command[%d]", i);
        const char *s;
        if (cfg_str(err, f, e, 1, 4096, &s)) {
            argv[i] = s;
        }
        i++;
    }
    c->kesm.command = argv;
    c->kesm.num_command = (size_t)n;
}

static bool sasl_configured(const struct esm_config *c)
{
    for (size_t i = 0; i < c->num_sacs; i++) {
        switch (c->sacs[i].type) {
        case ESM_SAC_BASIC_AUTH:
        case ESM_SAC_SASL_SCRAM_256_AUTH:
        case ESM_SAC_SASL_SCRAM_512_AUTH:
            return true;
        case ESM_SAC_CLIENT_CERTIFICATE_TLS_AUTH:
        case ESM_SAC_SERVER_ROOT_CA_CERTIFICATE:
        case ESM_SAC_VPC_SUBNET:
        case ESM_SAC_VPC_SECURITY_GROUP:
            break;
        }
    }
    return false;
}

static bool tls_material(const struct esm_config *c)
{
    for (size_t i = 0; i < c->num_sacs; i++) {
        if (c->sacs[i].type == ESM_SAC_CLIENT_CERTIFICATE_TLS_AUTH ||
            c->sacs[i].type == ESM_SAC_SERVER_ROOT_CA_CERTIFICATE) {
            return true;
        }
    }
    return false;
}

static void check_transport(struct esm_config *c, const cJSON *v, struct esm_cfg_err *err)
{
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(v, "Url");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(v, "Command");
    const cJSON *reg = cJSON_GetObjectItemCaseSensitive(v, "Region");
    enum esm_transport t = c->kesm.transport;
    if (t == ESM_TRANSPORT_HTTP && !url) {
        cfg_fail(err, "Kesm.Url", url, "Member is required when Kesm.Transport is \"http\"");
    }
    if (t == ESM_TRANSPORT_EXEC && !cmd) {
        cfg_fail(err, "Kesm.Command", cmd, "Member is required when Kesm.Transport is \"exec\"");
    }
    if (url && (t == ESM_TRANSPORT_EXEC || t == ESM_TRANSPORT_STDOUT)) {
        cfg_fail(err, "Kesm.Url", url, "Member only applies to the lambda and http transports");
    }
    if (cmd && t != ESM_TRANSPORT_EXEC) {
        cfg_fail(err, "Kesm.Command", cmd, "Member only applies to the exec transport");
    }
    if (reg && t != ESM_TRANSPORT_LAMBDA) {
        cfg_fail(err, "Kesm.Region", reg, "Member only applies to the lambda transport");
    }
}

// parse_assignors reads librdkafka's partition.assignment.strategy syntax.
static void parse_assignors(struct esm_kesm *k, const char *f, const cJSON *e,
                            struct esm_cfg_err *err)
{
    const char *s;
    char why[120], msg[300];
    if (!cfg_str(err, f, e, 1, 128, &s)) {
        return;
    }
    int n = cons_assignors_parse(s, k->assignors, why, sizeof why);
    if (n < 0) {
        snprintf(msg, sizeof msg,
                 "Member must be a comma-separated list of range, roundrobin or "
                 "cooperative-sticky: %s",
                 why);
        cfg_fail(err, f, e, msg);
        return;
    }
    k->num_assignors = (size_t)n;
}

void cfg_parse_kesm(struct esm_config *c, const cJSON *v, struct esm_cfg_err *err)
{
    struct esm_kesm *k = &c->kesm;
    k->transport = ESM_TRANSPORT_LAMBDA;
    k->invoke_timeout_ms = 840000;
    k->tls = -1;
    if (v && !cJSON_IsObject(v)) {
        cfg_fail(err, "Kesm", v, "Member must be an object (see README.md, Configuration)");
        v = NULL;
    }
    const cJSON *e;
    size_t idx;
    bool b;
    int64_t x;
    const char *s;
    cJSON_ArrayForEach(e, v)
    {
        char f[140];
        snprintf(f, sizeof f, "Kesm.%.120s", e->string);
        if (!cfg_lookup(kesm_members, sizeof kesm_members / sizeof kesm_members[0], e->string,
                        &idx)) {
            cfg_fail(err, f, e,
                     "Member is not one of Transport, Url, Command, Region, InvokeTimeoutMs, "
                     "Tls, TlsInsecureSkipVerify, SaslAllowPlaintext, SecretsDir, "
                     "SecretsManager, SecretsManagerEndpoint, MaxConcurrency, "
                     "PartitionAssignmentStrategy, GroupProtocol, "
                     "OAuthBearerTokenFile");
            continue;
        }
        switch (idx) {
        case 0: {
            static const char *const names[] = {"lambda", "http", "exec", "stdout"};
            if (!cJSON_IsString(e) || !cfg_lookup(names, 4, e->valuestring, &idx)) {
                cfg_fail(err, f, e,
                         "Member must satisfy enum value set: [lambda, http, exec, stdout]");
            } else {
                k->transport = (enum esm_transport)idx;
            }
            break;
        }
        case 1:
            if (cfg_str(err, f, e, 8, 2048, &s)) {
                if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) {
                    cfg_fail(err, f, e, "Member must be an http:// or https:// URL");
                } else {
                    k->url = s;
                }
            }
            break;
        case 2:
            parse_command(c, e, err);
            break;
        case 3:
            if (cfg_str(err, f, e, 1, 32, &s)) {
                if (!cfg_charset_ok(s, "-")) {
                    cfg_fail(err, f, e, "Member must be a region name such as us-east-1");
                } else {
                    k->region = s;
                }
            }
            break;
        case 4:
            if (cfg_int(err, f, e, 1, 900000, &x)) {
                k->invoke_timeout_ms = (uint32_t)x;
            }
            break;
        case 5:
            if (cfg_bool(err, f, e, &b)) {
                k->tls = b ? 1 : 0;
            }
            break;
        case 6:
            cfg_bool(err, f, e, &k->tls_insecure_skip_verify);
            break;
        case 7:
            cfg_bool(err, f, e, &k->sasl_allow_plaintext);
            break;
        case 8:
            if (cfg_str(err, f, e, 2, 1024, &s)) {
                if (s[0] != '/') {
                    cfg_fail(err, f, e, "Member must be an absolute directory path");
                } else {
                    k->secrets_dir = s;
                }
            }
            break;
        case 9:
            cfg_bool(err, f, e, &k->secrets_manager);
            break;
        case 11:
            if (cfg_int(err, f, e, 1, ESM_MAX_CONCURRENCY_MAX, &x)) {
                k->max_concurrency = (uint32_t)x;
            }
            break;
        case 12:
            parse_assignors(k, f, e, err);
            break;
        case 13: {
            static const char *const names[] = {"classic", "consumer", "auto"};
            if (!cJSON_IsString(e) || !cfg_lookup(names, 3, e->valuestring, &idx)) {
                cfg_fail(err, f, e,
                         "Member must satisfy enum value set: [classic, consumer, auto]");
            } else {
                k->group_protocol = (int)idx;
            }
            break;
        }
        case 10:
            if (cfg_str(err, f, e, 8, 2048, &s)) {
                if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) {
                    cfg_fail(err, f, e, "Member must be an http:// or https:// URL");
                } else {
                    k->secrets_manager_endpoint = s;
                }
            }
            break;
        default:
            if (cfg_str(err, f, e, 2, 1024, &s)) {
                if (s[0] != '/') {
                    cfg_fail(err, f, e, "Member must be an absolute file path");
                } else if (c->msk.arn) {
                    cfg_fail(err, f, e,
                             "Member applies to self-managed clusters; an Amazon MSK source "
                             "authenticates with IAM, SCRAM or a client certificate");
                } else {
                    k->oauth_token_file = s;
                }
            }
            break;
        }
    }
    if (v) {
        check_transport(c, v, err);
    }
    if (k->oauth_token_file && sasl_configured(c)) {
        cfg_fail(err, "Kesm.OAuthBearerTokenFile",
                 cJSON_GetObjectItemCaseSensitive(v, "OAuthBearerTokenFile"),
                 "At most one authentication is allowed: OAUTHBEARER or a "
                 "SourceAccessConfigurations SASL entry");
    }
    if (k->tls == 0 && (sasl_configured(c) || k->oauth_token_file) && !k->sasl_allow_plaintext) {
        cfg_fail(err, "Kesm.Tls", cJSON_GetObjectItemCaseSensitive(v, "Tls"),
                 "SASL authentication needs TLS (as on AWS); set Kesm.SaslAllowPlaintext to true "
                 "to send credentials in clear text anyway");
    }
    if (k->tls == 0 && tls_material(c)) {
        cfg_fail(err, "Kesm.Tls", cJSON_GetObjectItemCaseSensitive(v, "Tls"),
                 "CLIENT_CERTIFICATE_TLS_AUTH and SERVER_ROOT_CA_CERTIFICATE need TLS");
    }
}
