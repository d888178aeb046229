// transport_http.c: what the network transports make of an HTTP answer (result classification;
// see transport_net.h), their prepared requests, and the "http" transport itself.
#include "base/alloc.h"
#include "invoke/transport_net_int.h"
#include "net/http.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void inv_net_prepared_add(struct inv_net_prepared *p, const char *name, const char *value)
{
    if (p->num_headers < INV_NET_MAX_HEADERS) {
        p->names[p->num_headers] = xstrdup(name);
        p->values[p->num_headers] = xstrdup(value);
        p->num_headers++;
    }
}

void inv_net_prepared_cleanup(struct inv_net_prepared *p)
{
    free(p->url);
    for (size_t i = 0; i < p->num_headers; i++) {
        free(p->names[i]);
        free(p->values[i]);
    }
    memset(p, 0, sizeof *p);
}

// ---- classification ---------------------------------------------------------------------------

void inv_net_set_result(struct inv_result *out, enum inv_result_kind kind, int status,
                        const char *msg)
{
    inv_result_cleanup(out);
    out->kind = kind;
    out->status = status;
    out->message = msg ? xstrdup(msg) : NULL;
}

static const char *json_str(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (!cJSON_IsString(v) && b != NULL) {
        v = cJSON_GetObjectItemCaseSensitive(o, b);
    }
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

// clean copies |s| into |buf| with control bytes replaced, so one message stays one log line.
static void clean(char *buf, size_t len, const char *s)
{
    snprintf(buf, len, "%s", s);
    for (char *c = buf; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            *c = ' ';
        }
    }
}

void inv_net_error_text(const struct net_http_response *resp, char *buf, size_t len)
{
    char type[128] = "", msg[300] = "";
    const char *h = net_http_response_header(resp, "x-amzn-ErrorType");
    if (h != NULL) {
        clean(type, sizeof type, h);
        type[strcspn(type, ":")] = '\0'; // "Type:http://internal..." -> "Type"
    }
    cJSON *j = cJSON_ParseWithLength(resp->body, resp->body_len);
    if (cJSON_IsObject(j)) {
        const char *t = json_str(j, "__type", "errorType");
        const char *m = json_str(j, "message", "Message");
        if (m == NULL) {
            m = json_str(j, "errorMessage", NULL);
        }
        if (type[0] == '\0' && t != NULL) {
            clean(type, sizeof type, t);
            type[strcspn(type, "#")] = '\0';
        }
        if (m != NULL) {
            clean(msg, sizeof msg, m);
        }
    }
    cJSON_Delete(j);
    snprintf(buf, len, "%s%s%s", type, type[0] && msg[0] ? ": " : "", msg);
}

// function_error fills a function error from the body's errorType/errorMessage.
static void function_error(struct inv_result *out, const struct net_http_response *resp,
                           const char *prefix)
{
    char text[440], msg[500];
    inv_net_error_text(resp, text, sizeof text);
    if (text[0] == '\0' && resp->body_len > 0 && strncmp(resp->body, "Task timed out", 14) == 0) {
        clean(text, 120, resp->body);
    }
    snprintf(msg, sizeof msg, "function error%s%s%s%s", prefix ? " (" : "", prefix ? prefix : "",
             prefix ? ")" : "", text[0] ? ": " : "");
    size_t n = strlen(msg);
    snprintf(msg + n, sizeof msg - n, "%s", text);
    inv_net_set_result(out, INV_RESULT_FUNCTION_ERROR, resp->status, msg);
}

static bool rie_error_body(const struct net_http_response *resp)
{
    if (resp->body_len >= 20 && strncmp(resp->body, "Task timed out after", 20) == 0) {
        return true;
    }
    cJSON *j = cJSON_ParseWithLength(resp->body, resp->body_len);
    bool err =
        cJSON_IsObject(j) && (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "errorMessage")) ||
                              cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "errorType")));
    cJSON_Delete(j);
    return err;
}

// inv_net_classify: see transport_net_int.h.
void inv_net_classify(const struct net_transport *t, const struct net_http_response *resp,
                      struct inv_result *out, bool *retry, uint32_t *retry_after_ms)
{
    char msg[700];
    *retry = false;
    *retry_after_ms = 0;
    if (resp->err != NET_HTTP_OK) {
        // net/http starts its messages with "scheme://host[:port]: "; the final message names
        // the endpoint once, in front (see on_attempt_done).
        const char *e = resp->error;
        size_t n = strlen(t->endpoint);
        if (n > 0 && strncmp(e, t->endpoint, n) == 0 && e[n] == ':' && e[n + 1] == ' ') {
            e += n + 2;
        }
        if (resp->err == NET_HTTP_ERR_TIMEOUT && resp->request_sent) {
            snprintf(msg, sizeof msg, "function error: invocation timed out (%s)", e);
            inv_net_set_result(out, INV_RESULT_FUNCTION_ERROR, -1, msg);
        } else if (resp->err == NET_HTTP_ERR_TLS && net_tls_fail_is_authn(resp->tls_fail)) {
            snprintf(msg, sizeof msg, "TLS: %s (%s)", net_tls_fail_name(resp->tls_fail), e);
            inv_net_set_result(out, INV_RESULT_FATAL, -1, msg);
        } else if (resp->err == NET_HTTP_ERR_TOO_LARGE) {
            snprintf(msg, sizeof msg, "function error: response too large (%s)", e);
            inv_net_set_result(out, INV_RESULT_FUNCTION_ERROR, -1, msg);
        } else {
            snprintf(msg, sizeof msg, "%s error: %s", net_http_err_name(resp->err), e);
            inv_net_set_result(out, INV_RESULT_RETRYABLE, -1, msg);
            *retry = true;
        }
        return;
    }
    int s = resp->status;
    if (s >= 200 && s < 300) {
        const char *fe = net_http_response_header(resp, "X-Amz-Function-Error");
        if (fe != NULL) {
            char h[64];
            clean(h, sizeof h, fe);
            function_error(out, resp, h);
        } else if (t->flavour->rie_heuristics && rie_error_body(resp)) {
            function_error(out, resp, NULL);
        } else {
            out->status = s;
            inv_result_from_response(out, resp->body, resp->body_len,
                                     t->opts.report_batch_item_failures);
        }
        return;
    }
    char text[440];
    inv_net_error_text(resp, text, sizeof text);
    if (s == 413) {
        snprintf(msg, sizeof msg, "HTTP 413: request too large, split the batch%s%s",
                 text[0] ? ": " : "", text);
        inv_net_set_result(out, INV_RESULT_TOO_LARGE, s, msg);
        return;
    }
    if (s == 502 && t->flavour->bad_gateway_is_function_error) {
        snprintf(msg, sizeof msg, "function error: HTTP 502 (the runtime failed)%s%s",
                 text[0] ? ": " : "", text);
        inv_net_set_result(out, INV_RESULT_FUNCTION_ERROR, s, msg);
        return;
    }
    if (s == 429 || s >= 500 || s == 408 || s == 409) {
        snprintf(msg, sizeof msg, "HTTP %d%s%s", s, text[0] ? ": " : "", text);
        inv_net_set_result(out, INV_RESULT_RETRYABLE, s, msg);
        *retry = true;
        const char *ra = net_http_response_header(resp, "Retry-After");
        if (ra != NULL) {
            char *end;
            unsigned long v = strtoul(ra, &end, 10);
            if (end != ra && *end == '\0' && v <= 3600) {
                *retry_after_ms = (uint32_t)v * 1000u;
            }
        }
        return;
    }
    t->flavour->classify_error_status(t->state, resp, out);
}

// ---- the "http" flavour -------------------------------------------------------------------------

#define REGION_MAX 64

struct http_state {
    char *url;
    bool sign; // SigV4 (a function URL with AuthType AWS_IAM)
    struct inv_creds creds;
    char region[REGION_MAX];
    struct net_http_url parsed;
    int64_t (*clock)(void);
};

static int http_prepare(void *state, const char *payload, size_t len, struct inv_net_prepared *out,
                        struct inv_err *err)
{
    struct http_state *s = state;
    out->url = xstrdup(s->url);
    if (!s->sign) {
        inv_net_prepared_add(out, "Content-Type", "application/json");
        return 0;
    }
    inv_net_prepared_add(out, "Host", s->parsed.host_header);
    inv_net_prepared_add(out, "Content-Type", "application/json");
    int64_t now = s->clock ? s->clock() : (int64_t)time(NULL);
    return inv_net_sign(out, &s->creds, s->region, now, s->parsed.path,
                        s->parsed.query[0] ? s->parsed.query : NULL, payload, len, err);
}

static void http_classify_error_status(void *state, const struct net_http_response *resp,
                                       struct inv_result *out)
{
    (void)state;
    char text[440], msg[600];
    inv_net_error_text(resp, text, sizeof text);
    snprintf(msg, sizeof msg, "HTTP %d%s%s: the endpoint refused the invocation%s%s", resp->status,
             resp->reason && resp->reason[0] ? " " : "", resp->reason ? resp->reason : "",
             text[0] ? ": " : "", text);
    inv_net_set_result(out, INV_RESULT_FATAL, resp->status, msg);
}

static void http_free_state(void *state)
{
    struct http_state *s = state;
    if (s != NULL) {
        free(s->url);
        inv_creds_cleanup(&s->creds);
        free(s);
    }
}

static const struct inv_net_flavour http_flavour = {
    .name = "http",
    .prepare = http_prepare,
    .classify_error_status = http_classify_error_status,
    .rie_heuristics = true,
    .bad_gateway_is_function_error = true,
    .free_state = http_free_state,
};

int inv_http_new(struct inv_transport **out, struct net_reactor *r, const struct inv_http_cfg *cfg,
                 struct inv_err *err)
{
    struct net_http_url u;
    char e[200];
    if (cfg->url == NULL || net_http_url_parse(&u, cfg->url, e, sizeof e) != 0) {
        return inv_fail(err, -1, "http transport: %s", cfg->url ? e : "no URL");
    }
    if (cfg->sign_creds != NULL &&
        (cfg->sign_creds->access_key_id == NULL || cfg->sign_creds->secret_access_key == NULL ||
         cfg->sign_region == NULL || cfg->sign_region[0] == '\0' ||
         strlen(cfg->sign_region) >= sizeof((struct http_state *)NULL)->region)) {
        return inv_fail(err, -1, "http transport: signing needs credentials and a region");
    }
    struct http_state *s = xcalloc(1, sizeof *s);
    inv_creds_init(&s->creds);
    s->url = xstrdup(cfg->url);
    if (cfg->sign_creds != NULL) {
        s->sign = true;
        inv_creds_set(&s->creds, cfg->sign_creds->access_key_id, cfg->sign_creds->secret_access_key,
                      cfg->sign_creds->session_token, cfg->sign_creds->source);
        snprintf(s->region, sizeof s->region, "%s", cfg->sign_region);
        s->parsed = u;
        s->clock = cfg->clock;
    }
    return inv_net_new(out, r, &cfg->opts, u.tls, &http_flavour, s, err);
}
