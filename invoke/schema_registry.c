// schema_registry.c: the Confluent and Glue schema registry client (see schema_registry.h).
#include "invoke/schema_registry.h"

#include "base/alloc.h"
#include "base/base64.h"
#include "base/buf.h"
#include "invoke/aws.h"
#include "invoke/credentials.h"
#include "invoke/err.h"
#include "invoke/sigv4.h"
#include "net/http.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct reg_req {
    struct inv_registry *reg;
    struct reg_req *next;
    uint64_t id;      // ours
    uint64_t http_id; // net_http's
    bool glue;
    inv_registry_done_fn *done;
    void *ctx;
    char what[160]; // "schema id 7", for messages
    // Glue with the credential chain: the request waits for credentials before it is signed.
    uint64_t creds_wait; // 0 unless waiting
    char version_id[48];
};

struct inv_registry {
    struct net_http *http;
    bool glue;
    char *base;             // Confluent base URL without a trailing '/'
    char *glue_url;         // Glue endpoint URL
    char *glue_region;      //
    char *auth;             // "Basic ..." (wiped on free) or NULL
    size_t auth_len;        //
    struct inv_aws *aws;    // Glue: the credential chain (borrowed), or NULL
    struct inv_creds creds; // Glue without a chain: the static part, loaded once
    bool creds_loaded;
    uint32_t timeout_ms;
    struct reg_req *reqs;
    uint64_t next_id;
    char desc[300];
};

static void set_err(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

static char *glue_endpoint(struct inv_aws *aws, const char *region, char *err, size_t err_cap)
{
    if (aws != NULL) {
        char url[512];
        struct inv_err ie = {{0}};
        if (inv_aws_endpoint(aws, INV_AWS_GLUE, region, NULL, url, sizeof url - 1, NULL, &ie) !=
            0) {
            set_err(err, err_cap, "Glue endpoint: %s", ie.msg);
            return NULL;
        }
        strcat(url, "/");
        return xstrdup(url);
    }
    const char *env = getenv("AWS_ENDPOINT_URL_GLUE");
    if (!env || !*env) {
        env = getenv("AWS_ENDPOINT_URL");
    }
    if (env && *env) {
        return xstrdup(env);
    }
    struct buf b;
    buf_init(&b);
    buf_adds(&b, "https://glue.");
    buf_adds(&b, region);
    buf_adds(&b, ".amazonaws.com/");
    return buf_steal(&b, NULL);
}

struct inv_registry *inv_registry_new(struct net_reactor *r, const struct inv_registry_cfg *cfg,
                                      char *err, size_t err_cap)
{
    struct inv_registry *reg = xcalloc(1, sizeof *reg);
    struct net_http_url u;
    char uerr[200];
    reg->glue = cfg->glue;
    reg->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000;
    inv_creds_init(&reg->creds);
    if (cfg->glue) {
        reg->aws = cfg->aws;
        reg->glue_region = xstrdup(cfg->glue_region ? cfg->glue_region : "us-east-1");
        reg->glue_url = glue_endpoint(reg->aws, reg->glue_region, err, err_cap);
        if (reg->glue_url == NULL) {
            inv_registry_free(reg);
            return NULL;
        }
        if (net_http_url_parse(&u, reg->glue_url, uerr, sizeof uerr) != 0) {
            set_err(err, err_cap, "Glue endpoint %s: %s", reg->glue_url, uerr);
            inv_registry_free(reg);
            return NULL;
        }
        snprintf(reg->desc, sizeof reg->desc, "Glue (%s) at %s", reg->glue_region, reg->glue_url);
    } else {
        if (!cfg->url || net_http_url_parse(&u, cfg->url, uerr, sizeof uerr) != 0) {
            set_err(err, err_cap, "schema registry URL: %s", cfg->url ? uerr : "missing");
            inv_registry_free(reg);
            return NULL;
        }
        reg->base = xstrdup(cfg->url);
        size_t n = strlen(reg->base);
        while (n > 0 && reg->base[n - 1] == '/') {
            reg->base[--n] = 0;
        }
        snprintf(reg->desc, sizeof reg->desc, "%s", reg->base);
    }
    if (u.tls && !cfg->tls) {
        set_err(err, err_cap, "schema registry %s: https needs a TLS context", reg->desc);
        inv_registry_free(reg);
        return NULL;
    }
    if (cfg->user) {
        struct buf up, hdr;
        buf_init(&up);
        buf_init(&hdr);
        buf_adds(&up, cfg->user);
        buf_addc(&up, ':');
        buf_adds(&up, cfg->password ? cfg->password : "");
        buf_adds(&hdr, "Basic ");
        char *d = buf_reserve(&hdr, base64_len(up.len) + 1);
        hdr.len += base64_encode(d, (const uint8_t *)up.p, up.len);
        OPENSSL_cleanse(up.p, up.len);
        buf_cleanup(&up);
        reg->auth = buf_steal(&hdr, &reg->auth_len);
    }
    struct net_http_config hc = {.tls = cfg->tls,
                                 .default_timeout_ms = reg->timeout_ms,
                                 .max_response_body = INV_REG_MAX_BODY,
                                 .max_conns_per_origin = 4,
                                 .log_tag = cfg->log_tag};
    reg->http = net_http_new(r, &hc);
    return reg;
}

void inv_registry_free(struct inv_registry *reg)
{
    if (!reg) {
        return;
    }
    while (reg->reqs) {
        struct reg_req *q = reg->reqs;
        reg->reqs = q->next;
        if (q->creds_wait != 0) {
            inv_aws_creds_cancel(reg->aws, q->creds_wait);
        }
        free(q);
    }
    net_http_free(reg->http);
    if (reg->auth) {
        OPENSSL_cleanse(reg->auth, reg->auth_len);
        free(reg->auth);
    }
    inv_creds_cleanup(&reg->creds);
    free(reg->base);
    free(reg->glue_url);
    free(reg->glue_region);
    free(reg);
}

const char *inv_registry_describe(const struct inv_registry *reg)
{
    return reg->desc;
}

static struct reg_req *req_new(struct inv_registry *reg, inv_registry_done_fn *done, void *ctx)
{
    struct reg_req *q = xcalloc(1, sizeof *q);
    q->reg = reg;
    q->done = done;
    q->ctx = ctx;
    q->id = ++reg->next_id;
    q->next = reg->reqs;
    reg->reqs = q;
    return q;
}

static void req_unlink(struct reg_req *q)
{
    for (struct reg_req **pp = &q->reg->reqs; *pp; pp = &(*pp)->next) {
        if (*pp == q) {
            *pp = q->next;
            return;
        }
    }
}

void inv_registry_cancel(struct inv_registry *reg, uint64_t req)
{
    for (struct reg_req *q = reg->reqs; q; q = q->next) {
        if (q->id == req) {
            if (q->creds_wait != 0) {
                inv_aws_creds_cancel(reg->aws, q->creds_wait);
            }
            net_http_cancel(reg->http, q->http_id);
            req_unlink(q);
            free(q);
            return;
        }
    }
}

// clean_line copies |s| (up to |n| bytes) into |out| with control characters replaced.
static void clean_line(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && s && s[i] && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[o] = 0;
}

static void finish(struct reg_req *q, const struct inv_registry_result *res)
{
    inv_registry_done_fn *done = q->done;
    void *ctx = q->ctx;
    req_unlink(q);
    free(q);
    done(ctx, res);
}

static void fail_result(struct reg_req *q, enum inv_reg_kind kind, int status, const char *msg)
{
    struct inv_registry_result res = {.kind = kind, .status = status, .message = msg, .id = -1};
    finish(q, &res);
}

static void on_confluent(struct reg_req *q, const struct net_http_response *resp)
{
    char msg[1024], rmsg[200];
    cJSON *j = resp->body_len ? cJSON_ParseWithLength(resp->body, resp->body_len) : NULL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "error_code");
    clean_line(rmsg, sizeof rmsg, cJSON_IsString(m) ? m->valuestring : "", 180);
    if (resp->status != 200) {
        int ec = cJSON_IsNumber(code) ? (int)code->valuedouble : 0;
        bool not_found = resp->status == 404 && (ec == 40401 || ec == 40402 || ec == 40403);
        if (ec) {
            snprintf(msg, sizeof msg, "%s: %s answered HTTP %d, error_code %d%s%s", q->what,
                     q->reg->desc, resp->status, ec, rmsg[0] ? ": " : "", rmsg);
        } else {
            snprintf(
                msg, sizeof msg, "%s: %s answered HTTP %d%s", q->what, q->reg->desc, resp->status,
                resp->status == 404 ? " without a Schema Registry error (is the URL right?)" : "");
        }
        cJSON_Delete(j);
        fail_result(q, not_found ? INV_REG_NOT_FOUND : INV_REG_ERROR, resp->status, msg);
        return;
    }
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(j, "schema");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "schemaType");
    const cJSON *refs = cJSON_GetObjectItemCaseSensitive(j, "references");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    const char *t = cJSON_IsString(type) ? type->valuestring : "AVRO";
    if (!cJSON_IsString(schema) ||
        (strcmp(t, "AVRO") && strcmp(t, "PROTOBUF") && strcmp(t, "JSON"))) {
        snprintf(msg, sizeof msg,
                 "%s: %s answered 200 without a schema of type AVRO, PROTOBUF or JSON", q->what,
                 q->reg->desc);
        cJSON_Delete(j);
        fail_result(q, INV_REG_ERROR, 200, msg);
        return;
    }
    struct inv_registry_result res = {.kind = INV_REG_OK,
                                      .status = 200,
                                      .message = "",
                                      .schema = schema->valuestring,
                                      .schema_len = strlen(schema->valuestring),
                                      .schema_type = t,
                                      .references = cJSON_IsArray(refs) ? refs : NULL,
                                      .id = cJSON_IsNumber(id) ? (int64_t)id->valuedouble : -1};
    finish(q, &res);
    cJSON_Delete(j);
}

static void on_glue(struct reg_req *q, const struct net_http_response *resp)
{
    char msg[1024], rmsg[200], type[100];
    cJSON *j = resp->body_len ? cJSON_ParseWithLength(resp->body, resp->body_len) : NULL;
    if (resp->status != 200) {
        const char *t = net_http_response_header(resp, "x-amzn-ErrorType");
        const cJSON *jt = cJSON_GetObjectItemCaseSensitive(j, "__type");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "Message");
        if (!cJSON_IsString(m)) {
            m = cJSON_GetObjectItemCaseSensitive(j, "message");
        }
        if (!t && cJSON_IsString(jt)) {
            t = jt->valuestring;
        }
        const char *hash = t ? strrchr(t, '#') : NULL;
        t = hash ? hash + 1 : t;
        clean_line(type, sizeof type, t ? t : "", t ? strcspn(t, ":") : 0);
        clean_line(rmsg, sizeof rmsg, cJSON_IsString(m) ? m->valuestring : "", 180);
        snprintf(msg, sizeof msg, "%s: %s answered HTTP %d %s%s%s", q->what, q->reg->desc,
                 resp->status, type[0] ? type : "(no error type)", rmsg[0] ? ": " : "", rmsg);
        cJSON_Delete(j);
        fail_result(q, !strcmp(type, "EntityNotFoundException") ? INV_REG_NOT_FOUND : INV_REG_ERROR,
                    resp->status, msg);
        return;
    }
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(j, "SchemaDefinition");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "DataFormat");
    if (!cJSON_IsString(def) || !cJSON_IsString(fmt) ||
        (strcmp(fmt->valuestring, "AVRO") && strcmp(fmt->valuestring, "PROTOBUF") &&
         strcmp(fmt->valuestring, "JSON"))) {
        snprintf(msg, sizeof msg,
                 "%s: %s answered 200 without a SchemaDefinition of DataFormat "
                 "AVRO, PROTOBUF or JSON",
                 q->what, q->reg->desc);
        cJSON_Delete(j);
        fail_result(q, INV_REG_ERROR, 200, msg);
        return;
    }
    struct inv_registry_result res = {.kind = INV_REG_OK,
                                      .status = 200,
                                      .message = "",
                                      .schema = def->valuestring,
                                      .schema_len = strlen(def->valuestring),
                                      .schema_type = fmt->valuestring,
                                      .id = -1};
    finish(q, &res);
    cJSON_Delete(j);
}

static void on_response(void *ctx, uint64_t id, const struct net_http_response *resp)
{
    struct reg_req *q = ctx;
    (void)id;
    if (resp->err != NET_HTTP_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s: %s: %s", q->what, q->reg->desc, resp->error);
        fail_result(q, INV_REG_ERROR, -1, msg);
        return;
    }
    if (q->glue) {
        on_glue(q, resp);
    } else {
        on_confluent(q, resp);
    }
}

static int confluent_get(struct inv_registry *reg, const char *path, const char *what,
                         inv_registry_done_fn *done, void *ctx, uint64_t *out_req, char *err,
                         size_t err_cap)
{
    if (reg->glue) {
        set_err(err, err_cap, "%s: not a Confluent registry", what);
        return -1;
    }
    struct buf url;
    buf_init(&url);
    buf_adds(&url, reg->base);
    buf_adds(&url, path);
    struct net_http_header h[2] = {
        {"Accept", "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, "
                   "application/json"},
        {"Authorization", reg->auth}};
    struct net_http_request hr = {"GET", buf_cstr(&url), h, reg->auth ? 2u : 1u, NULL,
                                  0,     reg->timeout_ms};
    struct reg_req *q = req_new(reg, done, ctx);
    snprintf(q->what, sizeof q->what, "%s", what);
    int rc = net_http_request(reg->http, &hr, on_response, q, &q->http_id, err, err_cap);
    buf_cleanup(&url);
    if (rc != 0) {
        req_unlink(q);
        free(q);
        return -1;
    }
    *out_req = q->id;
    return 0;
}

int inv_registry_get_id(struct inv_registry *reg, uint32_t id, inv_registry_done_fn *done,
                        void *ctx, uint64_t *out_req, char *err, size_t err_cap)
{
    char path[64], what[64];
    snprintf(path, sizeof path, "/schemas/ids/%u", id);
    snprintf(what, sizeof what, "schema id %u", id);
    return confluent_get(reg, path, what, done, ctx, out_req, err, err_cap);
}

int inv_registry_get_subject_version(struct inv_registry *reg, const char *subject, int64_t version,
                                     inv_registry_done_fn *done, void *ctx, uint64_t *out_req,
                                     char *err, size_t err_cap)
{
    static const char hex[] = "0123456789ABCDEF";
    struct buf path;
    buf_init(&path);
    buf_adds(&path, "/subjects/");
    for (const char *s = subject; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            buf_addc(&path, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_add(&path, e, 3);
        }
    }
    char tail[40], what[160];
    snprintf(tail, sizeof tail, "/versions/%lld", (long long)version);
    buf_adds(&path, tail);
    snprintf(what, sizeof what, "subject '%.100s' version %lld", subject, (long long)version);
    int rc = confluent_get(reg, buf_cstr(&path), what, done, ctx, out_req, err, err_cap);
    buf_cleanup(&path);
    return rc;
}

// load_creds is the one place the client asks for AWS credentials (invoke/credentials.h).
static int load_creds(struct inv_registry *reg, char *err, size_t err_cap)
{
    if (reg->creds_loaded) {
        return 0;
    }
    struct inv_err ie = {{0}};
    if (inv_creds_load(&reg->creds, NULL, &ie) != 0) {
        set_err(err, err_cap, "AWS credentials for Glue: %s", ie.msg);
        return -1;
    }
    reg->creds_loaded = true;
    return 0;
}

// glue_send signs GetSchemaVersion for |q| with |creds| and sends it; -1 with |err| otherwise.
static int glue_send(struct reg_req *q, const struct inv_creds *creds, char *err, size_t err_cap)
{
    struct inv_registry *reg = q->reg;
    struct net_http_url u;
    if (net_http_url_parse(&u, reg->glue_url, err, err_cap) != 0) {
        return -1;
    }
    char body[128];
    snprintf(body, sizeof body, "{\"SchemaVersionId\": \"%s\"}", q->version_id);
    struct sigv4_header sh[] = {{"Host", u.host_header},
                                {"Content-Type", "application/x-amz-json-1.1"},
                                {"X-Amz-Target", "AWSGlue.GetSchemaVersion"}};
    struct sigv4_request rq = {"POST", u.path,      u.query[0] ? u.query : NULL, sh, 3,
                               body,   strlen(body)};
    struct sigv4_signed sig = {{0}, {0}, NULL, NULL};
    struct inv_err ie = {{0}};
    int64_t now = reg->aws ? inv_aws_now(reg->aws) : (int64_t)time(NULL);
    if (sigv4_sign(&sig, creds, reg->glue_region, "glue", now, &rq, &ie) != 0) {
        set_err(err, err_cap, "signing GetSchemaVersion: %s", ie.msg);
        sigv4_signed_cleanup(&sig);
        return -1;
    }
    struct net_http_header hh[6] = {{"Host", u.host_header},
                                    {"Content-Type", "application/x-amz-json-1.1"},
                                    {"X-Amz-Target", "AWSGlue.GetSchemaVersion"},
                                    {"X-Amz-Date", sig.amz_date},
                                    {"Authorization", sig.authorization},
                                    {"X-Amz-Security-Token", sig.security_token}};
    struct net_http_request hr = {
        "POST",       reg->glue_url,  hh, sig.security_token ? 6u : 5u, body,
        strlen(body), reg->timeout_ms};
    int rc = net_http_request(reg->http, &hr, on_response, q, &q->http_id, err, err_cap);
    sigv4_signed_cleanup(&sig);
    return rc;
}

// on_glue_creds: the chain answered a request that waited for credentials.
static void on_glue_creds(void *ctx, const struct inv_creds *creds, const char *cerr,
                          bool permanent)
{
    (void)permanent; // either way the stage retries with backoff and reports it
    struct reg_req *q = ctx;
    q->creds_wait = 0;
    char e[400], msg[1024];
    if (creds != NULL && glue_send(q, creds, e, sizeof e) == 0) {
        return;
    }
    snprintf(msg, sizeof msg, "%s: %s: %s%.400s", q->what, q->reg->desc,
             creds != NULL ? "" : "AWS credentials for Glue: ", creds != NULL ? e : cerr);
    fail_result(q, INV_REG_ERROR, -1, msg);
}

int inv_registry_glue_get(struct inv_registry *reg, const char *version_id,
                          inv_registry_done_fn *done, void *ctx, uint64_t *out_req, char *err,
                          size_t err_cap)
{
    if (!reg->glue) {
        set_err(err, err_cap, "not a Glue registry");
        return -1;
    }
    const struct inv_creds *creds = NULL;
    if (reg->aws == NULL) {
        if (load_creds(reg, err, err_cap) != 0) {
            return -1;
        }
        creds = &reg->creds;
    } else {
        creds = inv_aws_creds_peek(reg->aws); // NULL: fetched or refreshed first
    }
    struct reg_req *q = req_new(reg, done, ctx);
    q->glue = true;
    snprintf(q->version_id, sizeof q->version_id, "%.40s", version_id);
    snprintf(q->what, sizeof q->what, "schema version %.40s", version_id);
    if (creds == NULL) {
        q->creds_wait = inv_aws_creds_get(reg->aws, on_glue_creds, q);
    } else if (glue_send(q, creds, err, err_cap) != 0) {
        req_unlink(q);
        free(q);
        return -1;
    }
    *out_req = q->id;
    return 0;
}
