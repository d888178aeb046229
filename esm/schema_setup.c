// schema_setup.c: a mapping's schema-registry stage built from its configuration and secrets
// (see esm_schema_setup in schema_stage.h).
#include "esm/schema_stage.h"
#include "esm/secrets.h"

#include <stdio.h>
#include <string.h>

static const char *find_access(const struct esm_schema_registry *r, enum esm_sr_auth t)
{
    for (size_t i = 0; i < r->num_access; i++) {
        if (r->access[i].type == t) {
            return r->access[i].uri;
        }
    }
    return NULL;
}

// build_tls makes the registry's TLS context: the CA secret (plain PEM or {"certificate"}) or
// the system store, and the client certificate secret.
static struct net_tls_ctx *build_tls(const struct esm_schema_registry *r, struct esm_secrets *sec,
                                     enum esm_reason *why, char *err, size_t cap)
{
    const char *ca = find_access(r, ESM_SR_SERVER_ROOT_CA_CERTIFICATE);
    const char *cl = find_access(r, ESM_SR_CLIENT_CERTIFICATE_TLS_AUTH);
    struct net_tls_config tc = {.pem_source = "the schema registry's secrets"};
    cJSON *ca_j = NULL, *cl_j = NULL;
    char *ca_text = NULL;
    size_t ca_len = 0;
    struct net_tls_ctx *tls = NULL;
    const char *what = "SchemaRegistryConfig SERVER_ROOT_CA_CERTIFICATE";
    if (ca && !(ca_text = esm_secret_read(sec, ca, what, &ca_len, why, err, cap))) {
        goto out;
    }
    if (ca_text && strncmp(ca_text, "-----BEGIN", 10) == 0) {
        tc.ca_pem = ca_text;
    } else if (ca_text) {
        ca_j = esm_secret_json(sec, ca, what, why, err, cap);
        tc.ca_pem = ca_j ? esm_secret_member(ca_j, "certificate") : NULL;
        if (!tc.ca_pem) {
            if (ca_j) {
                snprintf(err, cap, "%s: secret %s has no \"certificate\"", what,
                         esm_secret_label(ca));
            }
            goto out;
        }
    }
    if (cl) {
        what = "SchemaRegistryConfig CLIENT_CERTIFICATE_TLS_AUTH";
        if (!(cl_j = esm_secret_json(sec, cl, what, why, err, cap))) {
            goto out;
        }
        tc.cert_pem = esm_secret_member(cl_j, "certificate");
        tc.key_pem = esm_secret_member(cl_j, "privateKey");
        tc.key_password = esm_secret_member(cl_j, "privateKeyPassword");
        if (!tc.cert_pem || !tc.key_pem) {
            snprintf(err, cap, "%s: secret %s needs \"certificate\" and \"privateKey\"", what,
                     esm_secret_label(cl));
            goto out;
        }
    }
    char terr[600];
    tls = net_tls_ctx_new(&tc, terr, sizeof terr);
    if (!tls) {
        snprintf(err, cap, "SchemaRegistryConfig TLS: %s", terr);
        *why = ca || cl ? ESM_REASON_EVENT_SOURCE_AUTHN_ERROR : ESM_REASON_ESM_CONFIG_NOT_VALID;
    }
out:
    esm_secret_free(ca_text, ca_len);
    esm_secret_json_free(ca_j);
    esm_secret_json_free(cl_j);
    return tls;
}

int esm_schema_setup(struct esm_schema_setup *out, const struct esm_sstage_cfg *cfg,
                     struct esm_secrets *secrets, enum esm_reason *why, char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    *why = ESM_REASON_ESM_CONFIG_NOT_VALID;
    const struct esm_schema_registry *r = cfg->reg;
    out->tls = build_tls(r, secrets, why, err, err_cap);
    if (!out->tls) {
        return -1;
    }
    struct esm_sstage_cfg c = *cfg;
    c.tls = out->tls;
    cJSON *basic = NULL;
    const char *basic_uri = find_access(r, ESM_SR_BASIC_AUTH);
    if (basic_uri) {
        const char *what = "SchemaRegistryConfig BASIC_AUTH";
        basic = esm_secret_json(secrets, basic_uri, what, why, err, err_cap);
        if (!basic) {
            esm_schema_setup_cleanup(out);
            return -1;
        }
        c.user = esm_secret_member(basic, "username");
        c.password = esm_secret_member(basic, "password");
        if (!c.user || !c.password) {
            snprintf(err, err_cap,
                     "%s: secret %s has no \"%s\" (it needs \"username\" and "
                     "\"password\")",
                     what, esm_secret_label(basic_uri), c.user ? "password" : "username");
            esm_secret_json_free(basic);
            esm_schema_setup_cleanup(out);
            return -1;
        }
    }
    out->stage = esm_sstage_new(&c, err, err_cap);
    esm_secret_json_free(basic);
    if (!out->stage) {
        esm_schema_setup_cleanup(out);
        return -1;
    }
    return 0;
}

void esm_schema_setup_cleanup(struct esm_schema_setup *s)
{
    esm_sstage_free(s->stage);
    net_tls_ctx_free(s->tls);
    memset(s, 0, sizeof *s);
}
