// msk_discover.c: GetBootstrapBrokers for an Amazon MSK mapping (see msk_discover.h).
#include "esm/msk_discover.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/hostport.h"
#include "base/log.h"
#include "esm/json_guard.h"
#include "invoke/sigv4.h"
#include "net/http.h"
#include "net/tls.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATTEMPTS 4            // a failed request (network, HTTP 5xx, throttling) is retried
#define TIMEOUT_MS 10000u     // per request
#define FIRST_BACKOFF_MS 500u // doubling

struct esm_msk_discover {
    struct net_reactor *r;
    struct inv_aws *aws;
    struct net_http *http;
    struct net_tls_ctx *tls;
    struct net_timer *timer;
    char *arn;
    char region[32];
    enum esm_msk_auth auth;
    esm_msk_done_fn *done;
    void *ctx;
    uint64_t creds_id;
    unsigned attempt;
    char log[96];
    // the outcome, reported from the timer (never inside a start or cancel call)
    bool finished;
    char *brokers;
    enum esm_msk_listener listener;
    enum esm_reason why;
    char err[600];
};

bool esm_msk_path(const char *arn, char *out, size_t cap)
{
    struct buf b;
    buf_init(&b);
    buf_adds(&b, "/v1/clusters/");
    sigv4_uri_encode(&b, arn, strlen(arn), false);
    buf_adds(&b, "/bootstrap-brokers");
    size_t len;
    char *s = buf_steal(&b, &len);
    bool fits = s != NULL && len < cap;
    if (fits) {
        memcpy(out, s, len + 1);
    }
    free(s);
    return fits;
}

// ---- the request --------------------------------------------------------------------------

static void finish(struct esm_msk_discover *d, const char *brokers, enum esm_reason why,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void finish(struct esm_msk_discover *d, const char *brokers, enum esm_reason why,
                   const char *fmt, ...)
{
    d->finished = true;
    d->brokers = brokers ? xstrdup(brokers) : NULL;
    d->why = why;
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->err, sizeof d->err, fmt, ap);
        va_end(ap);
    }
    net_timer_arm(d->timer, 0);
}

// retry_or_fail: a failure that may pass (network, 5xx, throttling) is retried with backoff.
static void retry_or_fail(struct esm_msk_discover *d, const char *what)
{
    if (d->attempt < ATTEMPTS) {
        uint32_t ms = FIRST_BACKOFF_MS << (d->attempt - 1);
        kesm_log(KESM_LOG_WARN, d->log, "GetBootstrapBrokers for %s: %s; retrying in %u ms", d->arn,
                 what, ms);
        net_timer_arm(d->timer, ms);
        return;
    }
    finish(d, NULL, ESM_REASON_ESM_CONFIG_NOT_VALID,
           "GetBootstrapBrokers for %s failed %u times: %s", d->arn, d->attempt, what);
}

static void on_response(void *ctx, uint64_t id, const struct net_http_response *resp)
{
    struct esm_msk_discover *d = ctx;
    (void)id;
    char what[400];
    if (resp->err != NET_HTTP_OK) {
        retry_or_fail(d, resp->error);
        return;
    }
    if (resp->status != 200) {
        const char *type = net_http_response_header(resp, "x-amzn-ErrorType");
        char shown[200];
        esm_utf8_sanitize(shown, sizeof shown, resp->body,
                          resp->body_len < 160 ? resp->body_len : 160);
        snprintf(what, sizeof what, "HTTP %d %.60s%s%s", resp->status, type ? type : "",
                 type ? ": " : "", shown);
        if (resp->status >= 500 || resp->status == 429) {
            retry_or_fail(d, what);
            return;
        }
        bool authn = resp->status == 401 || resp->status == 403;
        finish(d, NULL,
               authn ? ESM_REASON_EVENT_SOURCE_AUTHN_ERROR : ESM_REASON_ESM_CONFIG_NOT_VALID,
               "GetBootstrapBrokers for %s: %s", d->arn, what);
        return;
    }
    char list[ESM_MSK_MAX_STRING + 1];
    const char *used = NULL;
    if (!esm_msk_pick(resp->body, resp->body_len, d->auth, list, sizeof list, &d->listener, &used,
                      d->err, sizeof d->err)) {
        finish(d, NULL, ESM_REASON_ESM_CONFIG_NOT_VALID, NULL);
        return;
    }
    kesm_log(KESM_LOG_INFO, d->log, "MSK cluster %s: brokers %s (%s)", d->arn, list, used);
    finish(d, list, ESM_REASON_USER_INITIATED, NULL);
}

// send_request signs the GET with |creds| and sends it; false after finishing with an error.
static void send_request(struct esm_msk_discover *d, const struct inv_creds *creds)
{
    char url[2600], path[1600], err[300];
    const char *from = NULL;
    struct inv_err ie = {{0}};
    if (!esm_msk_path(d->arn, path, sizeof path) ||
        inv_aws_endpoint(d->aws, INV_AWS_KAFKA, d->region, NULL, url, sizeof url - sizeof path,
                         &from, &ie) != 0) {
        finish(d, NULL, ESM_REASON_ESM_CONFIG_NOT_VALID, "Kafka API endpoint: %s",
               ie.msg[0] ? ie.msg : "too long");
        return;
    }
    if (d->attempt == 1 && strcmp(from, "default") != 0) {
        kesm_log(KESM_LOG_INFO, d->log, "Kafka API endpoint %s (from %s)", url, from);
    }
    struct net_http_url u;
    strcat(url, path);
    if (net_http_url_parse(&u, url, err, sizeof err) != 0) {
        finish(d, NULL, ESM_REASON_ESM_CONFIG_NOT_VALID, "Kafka API endpoint %s: %s", url, err);
        return;
    }
    struct sigv4_header sh[] = {{"Host", u.host_header}};
    struct sigv4_request rq = {"GET", u.path, u.query[0] ? u.query : NULL, sh, 1, "", 0};
    struct sigv4_signed sig = {{0}, {0}, NULL, NULL};
    if (sigv4_sign(&sig, creds, d->region, "kafka", inv_aws_now(d->aws), &rq, &ie) != 0) {
        finish(d, NULL, ESM_REASON_ESM_CONFIG_NOT_VALID, "signing GetBootstrapBrokers: %s", ie.msg);
        sigv4_signed_cleanup(&sig);
        return;
    }
    struct net_http_header hh[4] = {{"Host", u.host_header},
                                    {"X-Amz-Date", sig.amz_date},
                                    {"Authorization", sig.authorization},
                                    {"X-Amz-Security-Token", sig.security_token}};
    struct net_http_request hr = {"GET", url, hh, sig.security_token ? 4u : 3u, NULL, 0, 0};
    uint64_t id;
    if (net_http_request(d->http, &hr, on_response, d, &id, err, sizeof err) != 0) {
        finish(d, NULL, ESM_REASON_ESM_CONFIG_NOT_VALID, "GetBootstrapBrokers request: %s", err);
    }
    sigv4_signed_cleanup(&sig);
}

static void on_creds(void *ctx, const struct inv_creds *creds, const char *err, bool permanent)
{
    struct esm_msk_discover *d = ctx;
    d->creds_id = 0;
    if (creds == NULL) {
        if (!permanent) {
            retry_or_fail(d, err ? err : "no AWS credentials");
            return;
        }
        finish(d, NULL, ESM_REASON_EVENT_SOURCE_AUTHN_ERROR,
               "AWS credentials for GetBootstrapBrokers: %s", err ? err : "none");
        return;
    }
    send_request(d, creds);
}

static void on_timer(void *ctx)
{
    struct esm_msk_discover *d = ctx;
    if (!d->finished) {
        d->attempt++;
        d->creds_id = inv_aws_creds_get(d->aws, on_creds, d);
        return;
    }
    esm_msk_done_fn *done = d->done;
    d->done = NULL;
    if (done != NULL) {
        done(d->ctx, d->brokers, d->listener, d->why, d->err);
    }
}

struct esm_msk_discover *esm_msk_discover_start(struct net_reactor *r, struct inv_aws *aws,
                                                const char *arn, const char *region,
                                                enum esm_msk_auth auth, const char *log_tag,
                                                esm_msk_done_fn *done, void *ctx, char *err,
                                                size_t cap)
{
    struct net_tls_config tc = {0};
    char terr[256];
    struct net_tls_ctx *t = net_tls_ctx_new(&tc, terr, sizeof terr);
    if (t == NULL) {
        snprintf(err, cap, "Kafka API TLS: %s", terr);
        return NULL;
    }
    struct esm_msk_discover *d = xcalloc(1, sizeof *d);
    d->r = r;
    d->aws = aws;
    d->tls = t;
    struct net_http_config hc = {.tls = t,
                                 .default_timeout_ms = TIMEOUT_MS,
                                 .max_response_body = ESM_MSK_MAX_RESPONSE,
                                 .log_tag = log_tag};
    d->http = net_http_new(r, &hc);
    d->timer = net_timer_new(r, on_timer, d);
    d->arn = xstrdup(arn);
    snprintf(d->region, sizeof d->region, "%s", region);
    d->auth = auth;
    d->done = done;
    d->ctx = ctx;
    kesm_log_component(d->log, sizeof d->log, "esm", log_tag);
    net_timer_arm(d->timer, 0);
    return d;
}

void esm_msk_discover_free(struct esm_msk_discover *d)
{
    if (d == NULL) {
        return;
    }
    if (d->creds_id != 0) {
        inv_aws_creds_cancel(d->aws, d->creds_id);
    }
    net_timer_free(d->timer);
    net_http_free(d->http);
    net_tls_ctx_free(d->tls);
    free(d->brokers);
    free(d->arn);
    free(d);
}
