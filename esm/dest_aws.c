// dest_aws.c: SQS, SNS and S3 on-failure destinations (see dest_aws.h).
#include "esm/dest_aws.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "esm/mapping.h"
#include "invoke/aws_parse.h"
#include "invoke/err.h"
#include "invoke/sigv4.h"
#include "net/http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSG_LIMIT 262144 // SNS's message limit, and SQS's classic one
#define REQUEST_TIMEOUT_MS 30000

struct delivery {
    struct delivery *next;
    struct esm_dest_aws *d;
    uint64_t id;
    struct esm_dest_msg *msgs; // owned copies
    size_t n, at;
    esm_dest_done_fn *done;
    void *arg;
    uint64_t http_id;
    bool http_active;
    uint64_t creds_wait;
    bool getting_url; // SQS: GetQueueUrl in flight
    struct net_timer *later;
    bool ok;
    char err[600];
};

struct esm_dest_aws {
    struct net_reactor *r;
    struct inv_aws *aws;
    enum esm_dest_aws_kind kind;
    char *arn;
    char region[64];
    char account[16];
    char name[260]; // queue, topic or bucket
    char mapping[80];
    char endpoint[2100];
    bool overridden; // the endpoint came from an override: path style, GetQueueUrl
    char queue_url[2400];
    struct net_tls_ctx *tls;
    struct net_http *http;
    struct delivery *deliveries;
    uint64_t next_id;
    char log[KESM_LOG_COMPONENT_CAP];
};

static const char *kind_name(enum esm_dest_aws_kind k)
{
    return k == ESM_DEST_AWS_SQS ? "SQS" : k == ESM_DEST_AWS_SNS ? "SNS" : "S3";
}

// arn_field copies field |i| (':'-separated, the last one runs to the end) of |arn|.
static bool arn_field(const char *arn, int i, char *out, size_t cap)
{
    const char *p = arn;
    for (int k = 0; k < i; k++) {
        p = strchr(p, ':');
        if (p == NULL) {
            return false;
        }
        p++;
    }
    size_t n = i < 5 ? strcspn(p, ":") : strlen(p);
    if (n >= cap) {
        return false;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

bool esm_dest_aws_kind_of(const char *arn, enum esm_dest_aws_kind *out)
{
    char svc[16];
    if (strncmp(arn, "arn:", 4) != 0 || !arn_field(arn, 2, svc, sizeof svc)) {
        return false;
    }
    if (!strcmp(svc, "sqs")) {
        *out = ESM_DEST_AWS_SQS;
    } else if (!strcmp(svc, "sns")) {
        *out = ESM_DEST_AWS_SNS;
    } else if (!strcmp(svc, "s3")) {
        *out = ESM_DEST_AWS_S3;
    } else {
        return false;
    }
    return true;
}

static bool name_ok(const char *s, bool bucket)
{
    size_t n = strlen(s);
    if (n == 0 || n > (bucket ? 63 : 256)) {
        return false;
    }
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                  (!bucket && ((c >= 'A' && c <= 'Z') || c == '_')) || c == '.';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static int failf(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_arn(struct esm_dest_aws *d, const char *default_region, char *err, size_t cap)
{
    if (!esm_dest_aws_kind_of(d->arn, &d->kind)) {
        return failf(err, cap,
                     "on-failure destination %s: kesm delivers to SQS queues, SNS topics and S3 "
                     "buckets (and kafka:// topics) only",
                     d->arn);
    }
    if (!arn_field(d->arn, 3, d->region, sizeof d->region) ||
        !arn_field(d->arn, 4, d->account, sizeof d->account) ||
        !arn_field(d->arn, 5, d->name, sizeof d->name)) {
        return failf(err, cap, "on-failure destination %s: not an ARN of a %s resource", d->arn,
                     kind_name(d->kind));
    }
    bool s3 = d->kind == ESM_DEST_AWS_S3;
    if (!name_ok(d->name, s3) || (!s3 && (d->region[0] == '\0' || d->account[0] == '\0'))) {
        return failf(err, cap, "on-failure destination %s: not a valid %s %s ARN", d->arn,
                     kind_name(d->kind),
                     s3                            ? "bucket"
                     : d->kind == ESM_DEST_AWS_SQS ? "queue"
                                                   : "topic");
    }
    if (d->region[0] == '\0') {
        snprintf(d->region, sizeof d->region, "%s", default_region ? default_region : "us-east-1");
    }
    return 0;
}

static enum inv_aws_service service_of(enum esm_dest_aws_kind k)
{
    return k == ESM_DEST_AWS_SQS ? INV_AWS_SQS : k == ESM_DEST_AWS_SNS ? INV_AWS_SNS : INV_AWS_S3;
}

struct esm_dest_aws *esm_dest_aws_new(struct net_reactor *r, struct inv_aws *aws, const char *arn,
                                      const char *mapping, const char *default_region,
                                      const char *log_tag, char *err, size_t err_cap)
{
    struct esm_dest_aws *d = xcalloc(1, sizeof *d);
    d->r = r;
    d->aws = aws;
    d->arn = xstrdup(arn);
    snprintf(d->mapping, sizeof d->mapping, "%s", mapping ? mapping : "kesm");
    kesm_log_component(d->log, sizeof d->log, "dest", log_tag);
    struct inv_err ie = {{0}};
    const char *from = NULL;
    if (parse_arn(d, default_region, err, err_cap) != 0 ||
        inv_aws_endpoint(aws, service_of(d->kind), d->region, NULL, d->endpoint, sizeof d->endpoint,
                         &from, &ie) != 0) {
        if (ie.msg[0]) {
            failf(err, err_cap, "on-failure destination %s: %s", arn, ie.msg);
        }
        esm_dest_aws_free(d);
        return NULL;
    }
    d->overridden = strcmp(from, "default") != 0;
    struct net_http_url u;
    char e[256];
    if (net_http_url_parse(&u, d->endpoint, e, sizeof e) != 0) {
        failf(err, err_cap, "on-failure destination %s: endpoint %s (%s): %s", arn, d->endpoint,
              from, e);
        esm_dest_aws_free(d);
        return NULL;
    }
    if (u.tls) {
        struct net_tls_config tc = {0};
        d->tls = net_tls_ctx_new(&tc, e, sizeof e);
        if (d->tls == NULL) {
            failf(err, err_cap, "on-failure destination %s: TLS: %s", arn, e);
            esm_dest_aws_free(d);
            return NULL;
        }
    }
    struct net_http_config hc = {.tls = d->tls,
                                 .max_response_body = 65536,
                                 .default_timeout_ms = REQUEST_TIMEOUT_MS,
                                 .log_tag = log_tag};
    d->http = net_http_new(r, &hc);
    if (d->kind == ESM_DEST_AWS_SQS && !d->overridden) {
        snprintf(d->queue_url, sizeof d->queue_url, "%s/%s/%s", d->endpoint, d->account, d->name);
    }
    kesm_log(KESM_LOG_INFO, d->log, "on-failure destination %s: %s at %s%s%s", arn,
             kind_name(d->kind), d->endpoint, d->overridden ? " from " : "",
             d->overridden ? from : "");
    return d;
}

// ---- deliveries -----------------------------------------------------------------------------

static void delivery_free(struct delivery *v)
{
    struct esm_dest_aws *d = v->d;
    for (struct delivery **pp = &d->deliveries; *pp; pp = &(*pp)->next) {
        if (*pp == v) {
            *pp = v->next;
            break;
        }
    }
    if (v->http_active) {
        net_http_cancel(d->http, v->http_id);
    }
    if (v->creds_wait) {
        inv_aws_creds_cancel(d->aws, v->creds_wait);
    }
    for (size_t i = 0; i < v->n; i++) {
        free(v->msgs[i].value);
    }
    free(v->msgs);
    net_timer_free(v->later);
    free(v);
}

static void on_later(void *ctx)
{
    struct delivery *v = ctx;
    esm_dest_done_fn *done = v->done;
    void *arg = v->arg;
    bool ok = v->ok;
    char err[sizeof v->err];
    memcpy(err, v->err, sizeof err);
    delivery_free(v);
    done(arg, ok, ok ? NULL : err);
}

static void end(struct delivery *v, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void end(struct delivery *v, bool ok, const char *fmt, ...)
{
    v->ok = ok;
    if (!ok) {
        char msg[500];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(v->err, sizeof v->err, "on-failure destination %s: %s", v->d->arn, msg);
    }
    net_timer_arm(v->later, 0);
}

static void on_http(void *ctx, uint64_t id, const struct net_http_response *resp);

// sign_and_send signs a request for |service| with |creds| and sends it.
static int sign_and_send(struct delivery *v, const struct inv_creds *creds, const char *method,
                         const char *url, const char *ctype, const char *body, size_t len, bool s3,
                         char *err, size_t cap)
{
    struct esm_dest_aws *d = v->d;
    struct net_http_url u;
    if (net_http_url_parse(&u, url, err, cap) != 0) {
        return -1;
    }
    char sha[65] = "";
    if (s3) {
        sigv4_sha256_hex(sha, body, len);
    }
    struct sigv4_header sh[3] = {{"Host", u.host_header}, {"Content-Type", ctype}};
    size_t nsh = 2;
    if (s3) {
        sh[nsh++] = (struct sigv4_header){"X-Amz-Content-SHA256", sha};
    }
    struct sigv4_request rq = {method, u.path, u.query[0] ? u.query : NULL, sh, nsh, body, len};
    struct sigv4_signed sig = {{0}, {0}, NULL, NULL};
    struct inv_err ie = {{0}};
    int64_t now = inv_aws_now(d->aws);
    const char *svc = d->kind == ESM_DEST_AWS_SQS ? "sqs" : "sns";
    int rc = s3 ? sigv4_sign_s3(&sig, creds, d->region, now, &rq, &ie)
                : sigv4_sign(&sig, creds, d->region, svc, now, &rq, &ie);
    if (rc != 0) {
        sigv4_signed_cleanup(&sig);
        return failf(err, cap, "%s", ie.msg);
    }
    struct net_http_header hh[7];
    size_t nh = 0;
    for (size_t i = 0; i < nsh; i++) {
        hh[nh++] = (struct net_http_header){sh[i].name, sh[i].value};
    }
    hh[nh++] = (struct net_http_header){"X-Amz-Date", sig.amz_date};
    if (sig.security_token) {
        hh[nh++] = (struct net_http_header){"X-Amz-Security-Token", sig.security_token};
    }
    hh[nh++] = (struct net_http_header){"Authorization", sig.authorization};
    struct net_http_request hr = {method, url, hh, nh, body, len, REQUEST_TIMEOUT_MS};
    rc = net_http_request(d->http, &hr, on_http, v, &v->http_id, err, cap);
    sigv4_signed_cleanup(&sig);
    if (rc == 0) {
        v->http_active = true;
    }
    return rc;
}

static void s3_key(char *out, size_t cap, const struct esm_dest_aws *d,
                   const struct esm_dest_msg *m)
{
    time_t t = (time_t)(m->time_ms / 1000);
    struct tm tm;
    char day[16] = "1970/01/01", stamp[32] = "1970-01-01T00.00.00";
    if (gmtime_r(&t, &tm) != NULL) {
        strftime(day, sizeof day, "%Y/%m/%d", &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H.%M.%S", &tm);
    }
    char uuid[37];
    esm_uuid_v4(uuid);
    snprintf(out, cap, "aws/lambda/%s/%s/%s/%s-%lld-%s.json", d->mapping,
             m->part_key ? m->part_key : "unknown", day, stamp, (long long)m->first_offset, uuid);
}

// send_current sends the message at v->at (or the SQS GetQueueUrl it needs first).
static void send_current(struct delivery *v, const struct inv_creds *creds)
{
    struct esm_dest_aws *d = v->d;
    const struct esm_dest_msg *m = &v->msgs[v->at];
    char err[300] = "";
    char url[3200];
    struct buf b;
    buf_init(&b);
    int rc;
    const char *form = "application/x-www-form-urlencoded; charset=utf-8";
    if (d->kind == ESM_DEST_AWS_SQS && d->queue_url[0] == '\0') {
        v->getting_url = true;
        sigv4_form_add(&b, "Action", "GetQueueUrl", 11);
        sigv4_form_add(&b, "Version", "2012-11-05", 10);
        sigv4_form_add(&b, "QueueName", d->name, strlen(d->name));
        sigv4_form_add(&b, "QueueOwnerAWSAccountId", d->account, strlen(d->account));
        snprintf(url, sizeof url, "%s/", d->endpoint);
        rc = sign_and_send(v, creds, "POST", url, form, b.p, b.len, false, err, sizeof err);
    } else if (d->kind == ESM_DEST_AWS_SQS) {
        v->getting_url = false;
        sigv4_form_add(&b, "Action", "SendMessage", 11);
        sigv4_form_add(&b, "Version", "2012-11-05", 10);
        sigv4_form_add(&b, "QueueUrl", d->queue_url, strlen(d->queue_url));
        sigv4_form_add(&b, "MessageBody", m->value, m->value_len);
        snprintf(url, sizeof url, "%s/", d->endpoint);
        rc = sign_and_send(v, creds, "POST", url, form, b.p, b.len, false, err, sizeof err);
    } else if (d->kind == ESM_DEST_AWS_SNS) {
        sigv4_form_add(&b, "Action", "Publish", 7);
        sigv4_form_add(&b, "Version", "2010-03-31", 10);
        sigv4_form_add(&b, "TopicArn", d->arn, strlen(d->arn));
        sigv4_form_add(&b, "Message", m->value, m->value_len);
        snprintf(url, sizeof url, "%s/", d->endpoint);
        rc = sign_and_send(v, creds, "POST", url, form, b.p, b.len, false, err, sizeof err);
    } else {
        char key[600];
        s3_key(key, sizeof key, d, m);
        if (d->overridden) {
            snprintf(url, sizeof url, "%s/%s/%s", d->endpoint, d->name, key);
        } else {
            snprintf(url, sizeof url, "https://%s.s3.%s.amazonaws.com/%s", d->name, d->region, key);
        }
        rc = sign_and_send(v, creds, "PUT", url, "application/json", m->value, m->value_len, true,
                           err, sizeof err);
    }
    buf_cleanup(&b);
    if (rc != 0) {
        end(v, false, "%s", err);
    }
}

static void on_creds(void *ctx, const struct inv_creds *creds, const char *err, bool permanent)
{
    struct delivery *v = ctx;
    (void)permanent;
    v->creds_wait = 0;
    if (creds == NULL) {
        end(v, false, "%s", err);
        return;
    }
    send_current(v, creds);
}

static void next(struct delivery *v)
{
    const struct inv_creds *c = inv_aws_creds_peek(v->d->aws);
    if (c != NULL) {
        send_current(v, c);
    } else {
        v->creds_wait = inv_aws_creds_get(v->d->aws, on_creds, v);
    }
}

// service_error describes a non-2xx answer: the XML error code and message when there are any.
static void service_error(struct delivery *v, const struct net_http_response *resp, const char *op)
{
    static const char *const q_code[] = {"ErrorResponse", "Error", "Code"};
    static const char *const q_msg[] = {"ErrorResponse", "Error", "Message"};
    static const char *const s3_code[] = {"Error", "Code"};
    static const char *const s3_msg[] = {"Error", "Message"};
    bool s3 = v->d->kind == ESM_DEST_AWS_S3;
    char code[120] = "", msg[300] = "";
    struct inv_err e;
    inv_aws_xml_value(code, sizeof code, s3 ? s3_code : q_code, s3 ? 2 : 3, resp->body,
                      resp->body_len, &e);
    inv_aws_xml_value(msg, sizeof msg, s3 ? s3_msg : q_msg, s3 ? 2 : 3, resp->body, resp->body_len,
                      &e);
    end(v, false, "%s %s: HTTP %d%s%s%s%s", kind_name(v->d->kind), op, resp->status,
        code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
}

static void on_http(void *ctx, uint64_t id, const struct net_http_response *resp)
{
    struct delivery *v = ctx;
    struct esm_dest_aws *d = v->d;
    (void)id;
    v->http_active = false;
    const char *op = d->kind == ESM_DEST_AWS_SQS ? (v->getting_url ? "GetQueueUrl" : "SendMessage")
                     : d->kind == ESM_DEST_AWS_SNS ? "Publish"
                                                   : "PutObject";
    if (resp->err != NET_HTTP_OK) {
        end(v, false, "%s %s: %s error: %s", kind_name(d->kind), op, net_http_err_name(resp->err),
            resp->error);
        return;
    }
    if (resp->status < 200 || resp->status >= 300) {
        service_error(v, resp, op);
        return;
    }
    struct inv_err e = {{0}};
    char value[2300];
    if (d->kind == ESM_DEST_AWS_SQS && v->getting_url) {
        static const char *const p[] = {"GetQueueUrlResponse", "GetQueueUrlResult", "QueueUrl"};
        struct net_http_url u;
        char ue[200];
        if (inv_aws_xml_value(value, sizeof value, p, 3, resp->body, resp->body_len, &e) != 0 ||
            net_http_url_parse(&u, value, ue, sizeof ue) != 0) {
            end(v, false, "SQS GetQueueUrl: no usable QueueUrl in the answer%s%s",
                e.msg[0] ? ": " : "", e.msg);
            return;
        }
        snprintf(d->queue_url, sizeof d->queue_url, "%s", value);
        next(v);
        return;
    }
    if (d->kind != ESM_DEST_AWS_S3) {
        static const char *const sqs[] = {"SendMessageResponse", "SendMessageResult", "MessageId"};
        static const char *const sns[] = {"PublishResponse", "PublishResult", "MessageId"};
        if (inv_aws_xml_value(value, sizeof value, d->kind == ESM_DEST_AWS_SQS ? sqs : sns, 3,
                              resp->body, resp->body_len, &e) != 0 ||
            value[0] == '\0') {
            end(v, false, "%s %s: the answer has no MessageId%s%s", kind_name(d->kind), op,
                e.msg[0] ? ": " : "", e.msg);
            return;
        }
    }
    if (++v->at < v->n) {
        next(v);
        return;
    }
    end(v, true, "%s", "");
}

static uint64_t da_send(void *ctx, const struct esm_dest_msg *msgs, size_t n,
                        esm_dest_done_fn *done, void *arg)
{
    struct esm_dest_aws *d = ctx;
    if (n == 0) {
        return 0;
    }
    struct delivery *v = xcalloc(1, sizeof *v);
    v->d = d;
    v->id = ++d->next_id;
    v->done = done;
    v->arg = arg;
    v->n = n;
    v->msgs = xcalloc(n, sizeof *v->msgs);
    for (size_t i = 0; i < n; i++) {
        v->msgs[i] = msgs[i];
        v->msgs[i].value = xstrndup(msgs[i].value, msgs[i].value_len);
        v->msgs[i].key = inv_bytes_null();
    }
    v->later = net_timer_new(d->r, on_later, v);
    v->next = d->deliveries;
    d->deliveries = v;
    next(v);
    return v->id;
}

static void da_cancel(void *ctx, uint64_t id)
{
    struct esm_dest_aws *d = ctx;
    for (struct delivery *v = d->deliveries; v; v = v->next) {
        if (v->id == id) {
            delivery_free(v);
            return;
        }
    }
}

struct esm_dest esm_dest_aws_dest(struct esm_dest_aws *d, bool *out_with_payload,
                                  size_t *out_max_message)
{
    *out_with_payload = d->kind == ESM_DEST_AWS_S3;
    *out_max_message = d->kind == ESM_DEST_AWS_S3 ? 0 : MSG_LIMIT;
    struct esm_dest r = {.send = da_send, .cancel = da_cancel, .ctx = d};
    return r;
}

void esm_dest_aws_free(struct esm_dest_aws *d)
{
    if (d == NULL) {
        return;
    }
    while (d->deliveries) {
        delivery_free(d->deliveries);
    }
    net_http_free(d->http);
    net_tls_ctx_free(d->tls);
    free(d->arn);
    free(d);
}
