// instance_build.c: what a running mapping connects and delivers with, from its configuration
// and secrets (see instance.h): the broker TLS context and SASL plug-in, and the transport
// (lambda, http, exec, stdout; routes for kesm serve).
#include "base/alloc.h"
#include "base/log.h"
#include "broker/sasl.h"
#include "esm/instance_int.h"
#include "esm/route.h"
#include "esm/sasl_token.h"
#include "esm/secrets.h"
#include "invoke/transport_net.h"
#include "net/tls.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- secrets ------------------------------------------------------------------------------

// secret_fail records why the instance cannot start (the mapping's reason) and fails.
static int secret_fail(struct esm_instance *in, enum esm_reason why)
{
    in->why = why;
    return -1;
}

static const struct esm_sac *find_sac(const struct esm_config *cfg, enum esm_sac_type t)
{
    for (size_t i = 0; i < cfg->num_sacs; i++) {
        if (cfg->sacs[i].type == t) {
            return &cfg->sacs[i];
        }
    }
    return NULL;
}

bool inst_wants_tls(const struct esm_config *cfg)
{
    if (cfg->kesm.tls >= 0) {
        return cfg->kesm.tls == 1;
    }
    if (cfg->msk.arn) {
        return true; // IAM, SCRAM and TLS listeners; a plaintext-only cluster turns it off later
    }
    if (cfg->kesm.oauth_token_file && !cfg->kesm.sasl_allow_plaintext) {
        return true;
    }
    return find_sac(cfg, ESM_SAC_SERVER_ROOT_CA_CERTIFICATE) ||
           find_sac(cfg, ESM_SAC_CLIENT_CERTIFICATE_TLS_AUTH) ||
           ((find_sac(cfg, ESM_SAC_BASIC_AUTH) || find_sac(cfg, ESM_SAC_SASL_SCRAM_256_AUTH) ||
             find_sac(cfg, ESM_SAC_SASL_SCRAM_512_AUTH)) &&
            !cfg->kesm.sasl_allow_plaintext);
}

// inst_build_tls makes the TLS context from the CA and client-certificate secrets, handing the PEM
// text to net/ in memory (no file ever holds it).
int inst_build_tls(struct esm_instance *in, char *err, size_t cap)
{
    const struct esm_config *cfg = in->cfg;
    struct esm_secrets *sec = in->opts.secrets;
    struct net_tls_config tc = {.insecure_skip_verify = cfg->kesm.tls_insecure_skip_verify};
    cJSON *ca_j = NULL, *cl_j = NULL;
    char *ca_text = NULL;
    size_t ca_len = 0;
    int rc = -1;
    enum esm_reason why = ESM_REASON_ESM_CONFIG_NOT_VALID;
    const struct esm_sac *s = find_sac(cfg, ESM_SAC_SERVER_ROOT_CA_CERTIFICATE);
    const struct esm_sac *c = find_sac(cfg, ESM_SAC_CLIENT_CERTIFICATE_TLS_AUTH);
    char source[600];
    snprintf(source, sizeof source, "%s%s%s%s", s || c ? "secret " : "",
             s ? esm_secret_label(s->uri) : "", s && c ? " / secret " : "",
             c ? esm_secret_label(c->uri) : "");
    tc.pem_source = source;
    if (s) {
        const char *what = "SERVER_ROOT_CA_CERTIFICATE";
        ca_text = esm_secret_read(sec, s->uri, what, &ca_len, &why, err, cap);
        if (!ca_text) {
            goto out;
        }
        if (strncmp(ca_text, "-----BEGIN", 10) == 0) {
            tc.ca_pem = ca_text;
        } else {
            ca_j = esm_secret_json(sec, s->uri, what, &why, err, cap);
            tc.ca_pem = ca_j ? esm_secret_member(ca_j, "certificate") : NULL;
            if (!tc.ca_pem) {
                if (ca_j) {
                    inst_fail(err, cap, "%s: secret %s has no \"certificate\"", what,
                              esm_secret_label(s->uri));
                }
                goto out;
            }
        }
    }
    if (c) {
        const char *what = "CLIENT_CERTIFICATE_TLS_AUTH";
        cl_j = esm_secret_json(sec, c->uri, what, &why, err, cap);
        if (!cl_j) {
            goto out;
        }
        tc.cert_pem = esm_secret_member(cl_j, "certificate");
        tc.key_pem = esm_secret_member(cl_j, "privateKey");
        if (!tc.cert_pem || !tc.key_pem) {
            inst_fail(err, cap,
                      "%s: secret %s has no \"%s\" (it needs \"certificate\" and \"privateKey\")",
                      what, esm_secret_label(c->uri), tc.cert_pem ? "privateKey" : "certificate");
            goto out;
        }
        tc.key_password = esm_secret_member(cl_j, "privateKeyPassword");
    }
    char terr[700];
    in->tls = net_tls_ctx_new(&tc, terr, sizeof terr);
    if (!in->tls) {
        bool about_client = c && strncmp(terr, "CA ", 3) != 0;
        const struct esm_sac *bad = about_client ? c : s;
        inst_fail(err, cap, "%s: %s", bad ? esm_sac_type_name(bad->type) : "TLS", terr);
        why = bad ? ESM_REASON_EVENT_SOURCE_AUTHN_ERROR : ESM_REASON_ESM_CONFIG_NOT_VALID;
        goto out;
    }
    rc = 0;
out:
    esm_secret_free(ca_text, ca_len);
    esm_secret_json_free(ca_j);
    esm_secret_json_free(cl_j);
    return rc == 0 ? 0 : secret_fail(in, why);
}

// build_oauthbearer: SASL/OAUTHBEARER with MSK IAM tokens (an MSK source without an
// authentication entry) or the tokens of Kesm.OAuthBearerTokenFile.
static int build_oauthbearer(struct esm_instance *in, bool tls, char *err, size_t cap)
{
    const struct esm_config *cfg = in->cfg;
    in->token = cfg->msk.arn ? esm_token_src_msk_iam(in->aws, cfg->msk.region, in->log)
                             : esm_token_src_file(cfg->kesm.oauth_token_file, in->log);
    struct broker_sasl_config sc = {.mechanism = "OAUTHBEARER",
                                    .tls = tls,
                                    .allow_plaintext = cfg->kesm.sasl_allow_plaintext,
                                    .token_source = esm_token_src_get(in->token)};
    char serr[256];
    in->sasl = broker_sasl_new_config(&sc, serr, sizeof serr);
    if (!in->sasl) {
        return inst_fail(err, cap, "%s", serr);
    }
    return 0;
}

int inst_build_sasl(struct esm_instance *in, bool tls, char *err, size_t cap)
{
    const struct esm_config *cfg = in->cfg;
    if (cfg->kesm.oauth_token_file ||
        (cfg->msk.arn && !find_sac(cfg, ESM_SAC_SASL_SCRAM_512_AUTH) &&
         !find_sac(cfg, ESM_SAC_CLIENT_CERTIFICATE_TLS_AUTH))) {
        return build_oauthbearer(in, tls, err, cap);
    }
    static const struct {
        enum esm_sac_type t;
        const char *mech;
    } mechs[] = {{ESM_SAC_SASL_SCRAM_512_AUTH, "SCRAM-SHA-512"},
                 {ESM_SAC_SASL_SCRAM_256_AUTH, "SCRAM-SHA-256"},
                 {ESM_SAC_BASIC_AUTH, "PLAIN"}};
    for (size_t i = 0; i < 3; i++) {
        const struct esm_sac *s = find_sac(cfg, mechs[i].t);
        if (!s) {
            continue;
        }
        enum esm_reason why = ESM_REASON_ESM_CONFIG_NOT_VALID;
        const char *what = esm_sac_type_name(mechs[i].t);
        cJSON *j = esm_secret_json(in->opts.secrets, s->uri, what, &why, err, cap);
        if (!j) {
            return secret_fail(in, why);
        }
        const char *user = esm_secret_member(j, "username");
        const char *pw = esm_secret_member(j, "password");
        int rc = 0;
        if (!user || !pw) {
            rc = inst_fail(err, cap,
                           "%s: secret %s has no \"%s\" (it needs \"username\" and \"password\")",
                           what, esm_secret_label(s->uri), user ? "password" : "username");
        } else {
            struct broker_sasl_config sc = {.mechanism = mechs[i].mech,
                                            .user = user,
                                            .password = pw,
                                            .tls = tls,
                                            .allow_plaintext = cfg->kesm.sasl_allow_plaintext};
            char serr[256];
            in->sasl = broker_sasl_new_config(&sc, serr, sizeof serr);
            if (!in->sasl) {
                rc = inst_fail(err, cap, "%s", serr);
            }
        }
        esm_secret_json_free(j);
        return rc;
    }
    return 0;
}

// ---- transport ----------------------------------------------------------------------------

int inst_build_transport(struct esm_instance *in, char *err, size_t cap)
{
    const struct esm_config *cfg = in->cfg;
    const struct esm_kesm *k = &cfg->kesm;
    struct inv_err ie;
    struct inv_net_opts no = {.timeout_ms = k->invoke_timeout_ms,
                              .report_batch_item_failures = cfg->report_batch_item_failures,
                              .log_tag = in->log_tag};
    int rc = -1;
    enum esm_transport transport = k->transport;
    const char *url = k->url;
    const char *const *command = k->command;
    const cJSON *kj = cJSON_GetObjectItemCaseSensitive(cfg->request, "Kesm");
    bool explicit = cJSON_GetObjectItemCaseSensitive(kj, "Transport") != NULL;
    if (!explicit && in->opts.routes && in->opts.routes->n > 0) {
        const struct esm_route *rt = esm_routes_match(in->opts.routes, &cfg->fn);
        if (!rt) {
            in->why = ESM_REASON_FUNCTION_CONFIG_NOT_VALID;
            return inst_fail(
                err, cap,
                "no kesm route delivers function %s (kesm serve --route PATTERN=TARGET; "
                "the patterns are '*', a function name, name:qualifier or an ARN)",
                cfg->fn.arn);
        }
        transport = rt->transport;
        url = rt->url;
        command = (const char *const *)rt->argv;
        kesm_log(KESM_LOG_INFO, in->log, "function %s: route %s (%s)", cfg->fn.arn, rt->pattern,
                 esm_transport_name(transport));
    }
    if (k->invoke_timeout_ms > INV_NET_MAX_TIMEOUT_MS) {
        return inst_fail(err, cap,
                         "Kesm.InvokeTimeoutMs %" PRIu32
                         " is above %u: a Kafka event source mapping "
                         "supports functions that run at most 14 minutes",
                         k->invoke_timeout_ms, INV_NET_MAX_TIMEOUT_MS);
    }
    switch (transport) {
    case ESM_TRANSPORT_STDOUT:
        in->transport = inv_stdout_new(1);
        rc = 0;
        break;
    case ESM_TRANSPORT_EXEC: {
        struct inv_exec_cfg ec = {.argv = command,
                                  .timeout_ms = k->invoke_timeout_ms,
                                  .report_batch_item_failures = cfg->report_batch_item_failures};
        rc = inv_exec_new(&in->transport, &ec, &ie);
        break;
    }
    case ESM_TRANSPORT_HTTP: {
        // An Invoke-API-shaped URL on the http transport is the Lambda Runtime Interface
        // Emulator (or something like it): it runs one invocation at a time, and a second one
        // arriving while one runs crashes it (its current builds panic; both callers get an empty
        // reply and the emulator exits). So the endpoint is one-at-a-time (transport_net.h):
        // batches of different partitions take turns, and after an InvokeTimeoutMs the next
        // invocation waits until the emulator has finished the one given up on.
        if (url && strstr(url, "/2015-03-31/functions/") != NULL) {
            no.max_concurrency = 1;
            kesm_log(KESM_LOG_INFO, in->log,
                     "http transport: Invoke API path, one invocation at a time (emulator); after "
                     "a timeout the next waits for the emulator to finish (at most %u s)",
                     INV_NET_ABANDON_WAIT_MS / 1000u);
        }
        struct inv_http_cfg hc = {.url = url, .opts = no};
        rc = inv_http_new(&in->transport, in->r, &hc, &ie);
        break;
    }
    case ESM_TRANSPORT_LAMBDA: {
        char endpoint[2100];
        const char *from = NULL;
        const char *region = k->region ? k->region : cfg->fn.region;
        if (inv_aws_endpoint(in->aws, INV_AWS_LAMBDA, region, url, endpoint, sizeof endpoint, &from,
                             &ie) != 0) {
            return inst_fail(err, cap, "Lambda endpoint: %s", ie.msg);
        }
        if (strcmp(from, "default") != 0) {
            kesm_log(KESM_LOG_INFO, in->log, "Lambda endpoint %s (from %s)", endpoint, from);
        }
        struct inv_lambda_cfg lc = {.function = cfg->fn.arn,
                                    .region = k->region,
                                    .endpoint = endpoint,
                                    .aws = in->aws,
                                    .opts = no};
        rc = inv_lambda_new(&in->transport, in->r, &lc, &ie);
        break;
    }
    }
    if (rc != 0) {
        return inst_fail(err, cap, "transport %s: %s", esm_transport_name(transport), ie.msg);
    }
    return 0;
}
