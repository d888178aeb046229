// instance_msk.c: an Amazon MSK mapping's start: its bootstrap brokers from GetBootstrapBrokers
// (esm/msk_discover.h), then the consumer on the listener its authentication uses.
#include "base/alloc.h"
#include "base/log.h"
#include "esm/instance_int.h"
#include "esm/msk_discover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *listener_name(enum esm_msk_listener l)
{
    switch (l) {
    case ESM_MSK_LISTENER_IAM:
        return "IAM (SASL/OAUTHBEARER)";
    case ESM_MSK_LISTENER_SCRAM:
        return "SASL/SCRAM-SHA-512";
    case ESM_MSK_LISTENER_TLS:
        return "TLS";
    case ESM_MSK_LISTENER_PLAINTEXT:
        return "plaintext";
    }
    return "?";
}

static void keep_brokers(struct esm_instance *in, const char *brokers)
{
    free(in->bootstrap);
    in->bootstrap = xstrdup(brokers);
    size_t n = 1;
    for (const char *p = brokers; *p; p++) {
        n += *p == ',';
    }
    in->msk_brokers = xcalloc(n, sizeof *in->msk_brokers);
    const char *p = brokers;
    for (size_t i = 0; i < n; i++) {
        size_t l = strcspn(p, ",");
        in->msk_brokers[i] = xstrndup(p, l);
        p += l + (p[l] == ',');
    }
    in->num_msk_brokers = n;
}

static void discovered(void *ctx, const char *brokers, enum esm_msk_listener listener,
                       enum esm_reason why, const char *err)
{
    struct esm_instance *in = ctx;
    // |brokers| and |err| belong to the request: use them before freeing it.
    if (brokers != NULL && !in->stopping) {
        keep_brokers(in, brokers);
    }
    char why_text[600];
    snprintf(why_text, sizeof why_text, "%s", err ? err : "");
    esm_msk_discover_free(in->discover);
    in->discover = NULL;
    if (in->stopping) {
        return;
    }
    if (brokers == NULL) {
        kesm_log(KESM_LOG_ERROR, in->log, "consumer stopped: %s", why_text);
        inst_stop_with(in, why, why_text);
        return;
    }
    bool plaintext = listener == ESM_MSK_LISTENER_PLAINTEXT;
    bool tls = !plaintext && inst_wants_tls(in->cfg);
    bool sasl = listener == ESM_MSK_LISTENER_IAM || listener == ESM_MSK_LISTENER_SCRAM;
    if (in->sasl == NULL && sasl) {
        sasl = false;
    }
    kesm_log(KESM_LOG_INFO, in->log, "MSK cluster %s: consuming over %s", in->cfg->msk.arn,
             listener_name(listener));
    char cerr[512];
    if (inst_consume(in, tls, sasl, cerr, sizeof cerr) != 0) {
        kesm_log(KESM_LOG_ERROR, in->log, "consumer stopped: %s", cerr);
        inst_stop_with(in, ESM_REASON_ESM_CONFIG_NOT_VALID, cerr);
    }
}

int inst_msk_start(struct esm_instance *in, char *err, size_t cap)
{
    const struct esm_config *cfg = in->cfg;
    enum esm_msk_auth auth = ESM_MSK_AUTH_NONE;
    for (size_t i = 0; i < cfg->num_sacs; i++) {
        if (cfg->sacs[i].type == ESM_SAC_CLIENT_CERTIFICATE_TLS_AUTH) {
            auth = ESM_MSK_AUTH_MTLS;
        } else if (cfg->sacs[i].type == ESM_SAC_SASL_SCRAM_512_AUTH) {
            auth = ESM_MSK_AUTH_SCRAM;
        }
    }
    in->discover = esm_msk_discover_start(in->r, in->aws, cfg->msk.arn, cfg->msk.region, auth,
                                          in->log_tag, discovered, in, err, cap);
    if (in->discover == NULL) {
        return -1;
    }
    kesm_log(KESM_LOG_INFO, in->log, "MSK cluster %s: asking the Kafka API for its brokers",
             cfg->msk.arn);
    return 0;
}

const char *const *inst_bootstrap_list(const struct esm_instance *in, size_t *out_n)
{
    if (in->cfg->msk.arn) {
        *out_n = in->num_msk_brokers;
        return (const char *const *)in->msk_brokers;
    }
    *out_n = in->cfg->num_bootstrap;
    return in->cfg->bootstrap;
}
