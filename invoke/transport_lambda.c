// transport_lambda.c: the "lambda" transport: AWS Lambda Invoke (RequestResponse) signed with
// SigV4, on the shared network engine of transport_net.c (see transport_net.h).
//
// Request: POST <endpoint>/2015-03-31/functions/<function>/invocations[?Qualifier=<q>], the
// function name percent-encoded except A-Z a-z 0-9 - _ . ~ (so "f:prod" is sent as f%3Aprod, as
// botocore does), headers Host, X-Amz-Invocation-Type: RequestResponse, X-Amz-Date,
// [X-Amz-Security-Token], Authorization; the body is the event, with no Content-Type (as the SDKs
// send a blob payload). The signature covers host, x-amz-date, x-amz-invocation-type and the
// token.
#include "base/alloc.h"
#include "base/buf.h"
#include "invoke/sigv4.h"
#include "invoke/transport_net_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct lambda_state {
    char *base_url; // endpoint + path + query
    char *path;     // wire path (for signing)
    char *query;    // wire query or NULL
    char host_header[272];
    char region[64];
    bool https;
    struct inv_creds creds; // static credentials (tests), when aws is NULL
    struct inv_aws *aws;    // the credential chain (borrowed)
    int64_t (*clock)(void);
};

static void lambda_free_state(void *state)
{
    struct lambda_state *s = state;
    if (s == NULL) {
        return;
    }
    free(s->base_url);
    free(s->path);
    free(s->query);
    inv_creds_cleanup(&s->creds);
    free(s);
}

int inv_net_sign(struct inv_net_prepared *p, const struct inv_creds *creds, const char *region,
                 int64_t now, const char *path, const char *query, const char *payload, size_t len,
                 struct inv_err *err)
{
    struct sigv4_header hs[INV_NET_MAX_HEADERS];
    for (size_t i = 0; i < p->num_headers; i++) {
        hs[i].name = p->names[i];
        hs[i].value = p->values[i];
    }
    struct sigv4_request rq = {
        .method = "POST",
        .path = path,
        .query = query,
        .headers = hs,
        .num_headers = p->num_headers,
        .body = payload,
        .body_len = len,
    };
    struct sigv4_signed sig;
    memset(&sig, 0, sizeof sig);
    if (sigv4_sign(&sig, creds, region, "lambda", now, &rq, err) != 0) {
        sigv4_signed_cleanup(&sig);
        return -1;
    }
    inv_net_prepared_add(p, "X-Amz-Date", sig.amz_date);
    if (sig.security_token != NULL) {
        inv_net_prepared_add(p, "X-Amz-Security-Token", sig.security_token);
    }
    inv_net_prepared_add(p, "Authorization", sig.authorization);
    sigv4_signed_cleanup(&sig);
    return 0;
}

static int lambda_prepare(void *state, const char *payload, size_t len,
                          struct inv_net_prepared *out, struct inv_err *err)
{
    struct lambda_state *s = state;
    out->url = xstrdup(s->base_url);
    inv_net_prepared_add(out, "Host", s->host_header);
    inv_net_prepared_add(out, "X-Amz-Invocation-Type", "RequestResponse");
    const struct inv_creds *creds = s->aws ? inv_aws_creds_peek(s->aws) : &s->creds;
    if (creds == NULL) {
        return inv_fail(err, -1, "lambda transport: AWS credentials expired before signing");
    }
    int64_t now = s->clock ? s->clock() : s->aws ? inv_aws_now(s->aws) : (int64_t)time(NULL);
    return inv_net_sign(out, creds, s->region, now, s->path, s->query, payload, len, err);
}

static struct inv_aws *lambda_aws(void *state)
{
    return ((struct lambda_state *)state)->aws;
}

static void lambda_classify_error_status(void *state, const struct net_http_response *resp,
                                         struct inv_result *out)
{
    (void)state;
    char text[440], msg[600];
    inv_net_error_text(resp, text, sizeof text);
    const char *what = resp->status == 401 || resp->status == 403 ? "not authorized"
                       : resp->status == 404                      ? "function not found"
                       : resp->status >= 300 && resp->status < 400
                           ? "unexpected redirect (check the endpoint)"
                           : "request refused";
    snprintf(msg, sizeof msg, "Lambda Invoke: HTTP %d, %s (FUNCTION_CONFIG_NOT_VALID)%s%s",
             resp->status, what, text[0] ? ": " : "", text);
    inv_result_cleanup(out);
    out->kind = INV_RESULT_FATAL;
    out->status = resp->status;
    out->message = xstrdup(msg);
}

static const struct inv_net_flavour lambda_flavour = {
    .name = "lambda",
    .prepare = lambda_prepare,
    .classify_error_status = lambda_classify_error_status,
    .rie_heuristics = false,
    .max_request = 6291456, // Lambda's synchronous Invoke payload limit
    .aws = lambda_aws,
    .free_state = lambda_free_state,
};

// arn_region copies the region of a full ARN "arn:<partition>:lambda:<region>:..." into |out|.
static bool arn_region(const char *fn, char *out, size_t len)
{
    if (strncmp(fn, "arn:", 4) != 0) {
        return false;
    }
    const char *p = strchr(fn + 4, ':'); // after the partition
    if (p == NULL || strncmp(p + 1, "lambda:", 7) != 0) {
        return false;
    }
    const char *r = p + 8;
    const char *e = strchr(r, ':');
    if (e == NULL || e == r || (size_t)(e - r) >= len) {
        return false;
    }
    memcpy(out, r, (size_t)(e - r));
    out[e - r] = '\0';
    return true;
}

static bool function_ok(const char *fn)
{
    size_t n = strlen(fn);
    if (n == 0 || n > 256) {
        return false;
    }
    for (const char *c = fn; *c != '\0'; c++) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f || *c == '/') {
            return false;
        }
    }
    return true;
}

static bool region_ok(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n >= 64) {
        return false;
    }
    for (; *r != '\0'; r++) {
        if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-')) {
            return false;
        }
    }
    return true;
}

static int lambda_setup(struct lambda_state *s, const struct inv_lambda_cfg *cfg,
                        struct inv_err *err)
{
    if (cfg->function == NULL || !function_ok(cfg->function)) {
        return inv_fail(err, -1,
                        "lambda transport: function name missing or invalid (1-256 visible "
                        "characters, no '/')");
    }
    if (cfg->region != NULL) {
        snprintf(s->region, sizeof s->region, "%s", cfg->region);
    } else if (!arn_region(cfg->function, s->region, sizeof s->region)) {
        return inv_fail(err, -1,
                        "lambda transport: no region (configure one or give the function as a "
                        "full ARN)");
    }
    if (!region_ok(s->region)) {
        return inv_fail(err, -1, "lambda transport: invalid region \"%.40s\"", s->region);
    }
    s->aws = cfg->aws;
    if (s->aws == NULL && (cfg->creds == NULL || cfg->creds->access_key_id == NULL ||
                           cfg->creds->secret_access_key == NULL)) {
        return inv_fail(err, -1, "lambda transport: no AWS credentials");
    }
    if (s->aws == NULL) {
        inv_creds_set(&s->creds, cfg->creds->access_key_id, cfg->creds->secret_access_key,
                      cfg->creds->session_token, cfg->creds->source);
    }
    struct buf b;
    buf_init(&b);
    if (cfg->endpoint != NULL) {
        size_t n = strlen(cfg->endpoint);
        while (n > 0 && cfg->endpoint[n - 1] == '/') {
            n--;
        }
        buf_add(&b, cfg->endpoint, n);
    } else {
        buf_adds(&b, "https://lambda.");
        buf_adds(&b, s->region);
        buf_adds(&b, ".amazonaws.com");
    }
    size_t path_at = b.len;
    buf_adds(&b, "/2015-03-31/functions/");
    sigv4_uri_encode(&b, cfg->function, strlen(cfg->function), false);
    buf_adds(&b, "/invocations");
    s->path = xstrndup(b.p + path_at, b.len - path_at);
    if (cfg->qualifier != NULL) {
        if (!function_ok(cfg->qualifier) || strlen(cfg->qualifier) > 128) {
            buf_cleanup(&b);
            return inv_fail(err, -1, "lambda transport: invalid qualifier");
        }
        struct buf q;
        buf_init(&q);
        buf_adds(&q, "Qualifier=");
        sigv4_uri_encode(&q, cfg->qualifier, strlen(cfg->qualifier), false);
        s->query = buf_steal(&q, NULL);
        buf_addc(&b, '?');
        buf_adds(&b, s->query);
    }
    s->base_url = buf_steal(&b, NULL);
    struct net_http_url u;
    char e[200];
    if (net_http_url_parse(&u, s->base_url, e, sizeof e) != 0 || strcmp(u.path, s->path) != 0) {
        return inv_fail(err, -1, "lambda transport: bad endpoint: %s",
                        strcmp(u.path, s->path) ? "it must be scheme://host[:port] only" : e);
    }
    s->https = u.tls;
    snprintf(s->host_header, sizeof s->host_header, "%s", u.host_header);
    s->clock = cfg->clock;
    return 0;
}

int inv_lambda_new(struct inv_transport **out, struct net_reactor *r,
                   const struct inv_lambda_cfg *cfg, struct inv_err *err)
{
    struct lambda_state *s = xcalloc(1, sizeof *s);
    inv_creds_init(&s->creds);
    if (lambda_setup(s, cfg, err) != 0) {
        lambda_free_state(s);
        return -1;
    }
    return inv_net_new(out, r, &cfg->opts, s->https, &lambda_flavour, s, err);
}
