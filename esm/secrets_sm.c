// secrets_sm.c: fetching secrets from AWS Secrets Manager (GetSecretValue, SigV4-signed with
// the credential chain of invoke/aws.h) into the resolver's cache (see secrets.h).
#include "base/alloc.h"
#include "esm/secrets_int.h"
#include "invoke/aws.h"
#include "invoke/err.h"
#include "invoke/sigv4.h"
#include "net/http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pending {
    struct esm_secrets_fetch *f;
    char *uri;
    uint64_t id;
    bool active;
};

struct esm_secrets_fetch {
    struct esm_secrets_fetch *next;
    struct esm_secrets *s;
    esm_secrets_done_fn *done;
    void *ctx;
    struct pending *p;
    size_t num_p, left;
    struct net_timer *later;
    uint64_t creds_wait; // waiting for AWS credentials before the requests go out
    const struct esm_config *cfg;
    int rc;
    enum esm_reason reason;
    char err[512];
};

// ---- Secrets Manager ----------------------------------------------------------------------

void sec_fetch_free(struct esm_secrets_fetch *f)
{
    struct esm_secrets *s = f->s;
    for (struct esm_secrets_fetch **pf = &s->fetches; *pf; pf = &(*pf)->next) {
        if (*pf == f) {
            *pf = f->next;
            break;
        }
    }
    for (size_t i = 0; i < f->num_p; i++) {
        if (f->p[i].active) {
            net_http_cancel(s->http, f->p[i].id);
        }
        free(f->p[i].uri);
    }
    free(f->p);
    net_timer_free(f->later);
    if (f->creds_wait != 0) {
        inv_aws_creds_cancel(s->aws, f->creds_wait);
    }
    free(f);
}

void esm_secrets_fetch_cancel(struct esm_secrets_fetch *f)
{
    if (f) {
        sec_fetch_free(f);
    }
}

static void fetch_later(void *ctx)
{
    struct esm_secrets_fetch *f = ctx;
    esm_secrets_done_fn *done = f->done;
    void *dctx = f->ctx;
    int rc = f->rc;
    enum esm_reason reason = f->reason;
    char err[sizeof f->err];
    memcpy(err, f->err, sizeof err);
    sec_fetch_free(f);
    done(dctx, rc, reason, err);
}

static void fetch_fail(struct esm_secrets_fetch *f, enum esm_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fetch_fail(struct esm_secrets_fetch *f, enum esm_reason reason, const char *fmt, ...)
{
    if (f->rc != 0) {
        return; // the first problem is the one reported
    }
    f->rc = -1;
    f->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->err, sizeof f->err, fmt, ap);
    va_end(ap);
}

static void cache_put(struct esm_secrets *s, const char *uri, const char *text)
{
    for (struct cached *c = s->cache; c; c = c->next) {
        if (!strcmp(c->uri, uri)) {
            return;
        }
    }
    struct cached *c = xcalloc(1, sizeof *c);
    c->uri = xstrdup(uri);
    c->len = strlen(text);
    c->text = xmalloc(c->len + 1);
    memcpy(c->text, text, c->len + 1);
    c->next = s->cache;
    s->cache = c;
}

static bool authn_error(const char *type)
{
    static const char *const authn[] = {
        "AccessDeniedException",      "UnrecognizedClientException", "InvalidSignatureException",
        "IncompleteSignature",        "ExpiredTokenException",       "InvalidClientTokenId",
        "MissingAuthenticationToken", "SignatureDoesNotMatch",
    };
    for (size_t i = 0; i < sizeof authn / sizeof authn[0]; i++) {
        if (!strcmp(type, authn[i])) {
            return true;
        }
    }
    return false;
}

// error_shape takes the AWS JSON error apart: the type (x-amzn-ErrorType or __type, without a
// "prefix#" or ":suffix") and the message.
static void error_shape(const struct net_http_response *resp, const cJSON *j, char *type,
                        size_t type_cap, char *msg, size_t msg_cap)
{
    const char *t = net_http_response_header(resp, "x-amzn-ErrorType");
    const cJSON *jt = cJSON_GetObjectItemCaseSensitive(j, "__type");
    if (!t && cJSON_IsString(jt)) {
        t = jt->valuestring;
    }
    const char *hash = t ? strrchr(t, '#') : NULL;
    t = hash ? hash + 1 : t;
    size_t tl = t ? strcspn(t, ":") : 0;
    snprintf(type, type_cap, "%.*s", (int)tl, t ? t : "");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "Message");
    if (!cJSON_IsString(m)) {
        m = cJSON_GetObjectItemCaseSensitive(j, "message");
    }
    snprintf(msg, msg_cap, "%s", cJSON_IsString(m) ? m->valuestring : "");
    for (char *c = msg; *c; c++) {
        if ((unsigned char)*c < 0x20) {
            *c = ' ';
        }
    }
}

static void on_response(void *ctx, uint64_t id, const struct net_http_response *resp)
{
    struct pending *p = ctx;
    struct esm_secrets_fetch *f = p->f;
    (void)id;
    p->active = false;
    if (resp->err != NET_HTTP_OK) {
        fetch_fail(f, ESM_REASON_ESM_CONFIG_NOT_VALID,
                   "Secrets Manager GetSecretValue for secret '%s' failed: %s", p->uri,
                   resp->error);
    } else {
        cJSON *j = cJSON_ParseWithLength(resp->body, resp->body_len);
        if (resp->status != 200) {
            char type[128], msg[256];
            error_shape(resp, j, type, sizeof type, msg, sizeof msg);
            fetch_fail(f,
                       authn_error(type) ? ESM_REASON_EVENT_SOURCE_AUTHN_ERROR
                                         : ESM_REASON_ESM_CONFIG_NOT_VALID,
                       "Secrets Manager GetSecretValue for secret '%s' failed: HTTP %d %s%s%s",
                       p->uri, resp->status, type[0] ? type : "(no error type)", msg[0] ? ": " : "",
                       msg);
        } else {
            const cJSON *ss = cJSON_GetObjectItemCaseSensitive(j, "SecretString");
            if (cJSON_IsString(ss)) {
                cache_put(f->s, p->uri, ss->valuestring);
            } else {
                fetch_fail(f, ESM_REASON_ESM_CONFIG_NOT_VALID,
                           "Secrets Manager secret '%s' has no SecretString (kesm needs the "
                           "JSON text shape Lambda uses, not SecretBinary)",
                           p->uri);
            }
        }
        esm_secret_json_free(j);
    }
    if (--f->left == 0) {
        net_timer_arm(f->later, 0);
    }
}

// start_get signs and sends one GetSecretValue. Returns 0, or -1 after fetch_fail.
static int start_get(struct esm_secrets_fetch *f, struct pending *p, const struct esm_config *cfg,
                     const struct inv_creds *creds)
{
    struct esm_secrets *s = f->s;
    char region[64], url[600], err[256];
    if (!esm_secret_arn_region(p->uri, region, sizeof region)) {
        snprintf(region, sizeof region, "%s",
                 s->sm_region ? s->sm_region : (cfg->fn.region ? cfg->fn.region : "us-east-1"));
    }
    struct inv_err ie = {{0}};
    if (inv_aws_endpoint(s->aws, INV_AWS_SECRETS_MANAGER, region, s->sm_endpoint, url,
                         sizeof url - 1, NULL, &ie) != 0) {
        fetch_fail(f, ESM_REASON_ESM_CONFIG_NOT_VALID, "Secrets Manager endpoint: %s", ie.msg);
        return -1;
    }
    strcat(url, "/");
    struct net_http_url u;
    if (net_http_url_parse(&u, url, err, sizeof err) != 0) {
        fetch_fail(f, ESM_REASON_ESM_CONFIG_NOT_VALID, "Secrets Manager endpoint %s: %s", url, err);
        return -1;
    }
    // The body as botocore writes it (json.dumps: ": " after the name), so that the request is
    // byte for byte the one the AWS SDK would sign.
    cJSON *id = cJSON_CreateString(p->uri);
    char *quoted = id ? cJSON_PrintUnformatted(id) : NULL;
    cJSON_Delete(id);
    if (!quoted) {
        fetch_fail(f, ESM_REASON_ESM_CONFIG_NOT_VALID, "out of memory");
        return -1;
    }
    size_t blen = strlen(quoted) + 16;
    char *body = xmalloc(blen);
    snprintf(body, blen, "{\"SecretId\": %s}", quoted);
    free(quoted);
    struct sigv4_header sh[] = {{"Host", u.host_header},
                                {"Content-Type", "application/x-amz-json-1.1"},
                                {"X-Amz-Target", "secretsmanager.GetSecretValue"}};
    struct sigv4_request rq = {"POST", u.path,      u.query[0] ? u.query : NULL, sh, 3,
                               body,   strlen(body)};
    struct sigv4_signed sig = {{0}, {0}, NULL, NULL};
    int rc = -1;
    if (sigv4_sign(&sig, creds, region, "secretsmanager", inv_aws_now(s->aws), &rq, &ie) != 0) {
        fetch_fail(f, ESM_REASON_ESM_CONFIG_NOT_VALID, "signing GetSecretValue: %s", ie.msg);
        goto out;
    }
    struct net_http_header hh[6] = {{"Host", u.host_header},
                                    {"Content-Type", "application/x-amz-json-1.1"},
                                    {"X-Amz-Target", "secretsmanager.GetSecretValue"},
                                    {"X-Amz-Date", sig.amz_date},
                                    {"Authorization", sig.authorization},
                                    {"X-Amz-Security-Token", sig.security_token}};
    struct net_http_request hr = {
        "POST", url, hh, sig.security_token ? 6u : 5u, body, strlen(body), s->sm_timeout_ms};
    p->active = true;
    if (net_http_request(s->http, &hr, on_response, p, &p->id, err, sizeof err) != 0) {
        p->active = false;
        fetch_fail(f, ESM_REASON_ESM_CONFIG_NOT_VALID, "GetSecretValue request: %s", err);
        goto out;
    }
    rc = 0;
out:
    sigv4_signed_cleanup(&sig);
    free(body);
    return rc;
}

static bool cached_has(const struct esm_secrets *s, const char *uri)
{
    for (const struct cached *c = s->cache; c; c = c->next) {
        if (!strcmp(c->uri, uri)) {
            return true;
        }
    }
    return false;
}

// on_fetch_creds: credentials are there (or not): send every GetSecretValue.
static void on_fetch_creds(void *ctx, const struct inv_creds *creds, const char *err, bool perm)
{
    struct esm_secrets_fetch *f = ctx;
    (void)perm;
    f->creds_wait = 0;
    if (creds == NULL) {
        fetch_fail(f, ESM_REASON_ESM_CONFIG_NOT_VALID, "AWS credentials for Secrets Manager: %s",
                   err);
        net_timer_arm(f->later, 0);
        return;
    }
    size_t started = 0;
    for (size_t i = 0; i < f->num_p && f->rc == 0; i++) {
        f->left++;
        if (start_get(f, &f->p[i], f->cfg, creds) != 0) {
            f->left--;
            break;
        }
        started++;
    }
    if (started == 0 || f->left == 0) {
        net_timer_arm(f->later, 0);
    }
}

struct esm_secrets_fetch *esm_secrets_fetch(struct esm_secrets *s, const struct esm_config *cfg,
                                            esm_secrets_done_fn *done, void *ctx)
{
    struct esm_secrets_fetch *f = xcalloc(1, sizeof *f);
    f->s = s;
    f->done = done;
    f->ctx = ctx;
    f->later = net_timer_new(s->r, fetch_later, f);
    f->next = s->fetches;
    s->fetches = f;
    f->p = xcalloc(cfg->num_sacs + cfg->registry.num_access + 1, sizeof *f->p);
    for (size_t i = 0; i < cfg->num_sacs + cfg->registry.num_access; i++) {
        // the broker's secrets, then the schema registry's (SchemaRegistryConfig.AccessConfigs)
        bool sac = i < cfg->num_sacs;
        const char *uri = sac ? cfg->sacs[i].uri : cfg->registry.access[i - cfg->num_sacs].uri;
        if ((sac && !sec_is_secret_sac(cfg->sacs[i].type)) || !esm_secrets_uses_manager(s, uri) ||
            cached_has(s, uri)) {
            continue;
        }
        bool dup = false;
        for (size_t k = 0; k < f->num_p; k++) {
            dup = dup || !strcmp(f->p[k].uri, uri);
        }
        if (dup) {
            continue;
        }
        struct pending *p = &f->p[f->num_p++];
        p->f = f;
        p->uri = xstrdup(uri);
    }
    if (f->num_p == 0) {
        net_timer_arm(f->later, 0);
        return f;
    }
    f->cfg = cfg;
    f->creds_wait = inv_aws_creds_get(s->aws, on_fetch_creds, f);
    return f;
}
