// api.c: the event source mapping management API on net/httpd (see api.h).
#include "esm/api.h"

#include "esm/api_int.h"
#include "esm/json_guard.h"
#include "esm/metrics.h"
#include "invoke/credentials.h"
#include "invoke/sigv4.h"
#include "net/httpd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define API_PREFIX "/2015-03-31/event-source-mappings"
#define SIGV4_MAX_SKEW_S 300 // AWS: a request must arrive within 5 minutes of its X-Amz-Date

struct esm_api {
    struct net_httpd *srv;
    struct esm_manager *mgr;
    bool allow_remote;
    bool no_auth;
    const struct inv_creds *creds;
    const char *region;
    char *host;
    char **allowed;
    size_t num_allowed;
    esm_api_extra_fn *extra;
    void *extra_ctx;
    struct esm_api_writer writer; // fleet mode (esm/fleet.h); ops NULL otherwise
};

struct error_kind {
    const char *type; // x-amzn-ErrorType
    int status;
    bool lower_message; // "message" (true) or "Message"
    const char *fault;  // "User" or "Service"
};

static const struct error_kind ERR_INVALID = {"InvalidParameterValueException", 400, true, "User"};
static const struct error_kind ERR_CONTENT = {"InvalidRequestContentException", 400, true, "User"};
static const struct error_kind ERR_IN_USE = {"ResourceInUseException", 400, false, "User"};
static const struct error_kind ERR_NOT_FOUND = {"ResourceNotFoundException", 404, false, "User"};
static const struct error_kind ERR_CONFLICT = {"ResourceConflictException", 409, true, "User"};
static const struct error_kind ERR_SERVICE = {"ServiceException", 500, false, "Service"};
static const struct error_kind ERR_DENIED = {"AccessDeniedException", 403, false, "User"};
static const struct error_kind ERR_UNKNOWN = {"UnknownOperationException", 404, true, "User"};
static const struct error_kind ERR_NO_AUTH = {"MissingAuthenticationTokenException", 403, true,
                                              "User"};
static const struct error_kind ERR_BAD_SIG = {"InvalidSignatureException", 403, true, "User"};
static const struct error_kind ERR_MEDIA = {"UnsupportedMediaTypeException", 415, true, "User"};
static const struct error_kind ERR_TOO_LARGE = {"RequestTooLargeException", 413, true, "User"};
static const struct error_kind ERR_THROTTLE = {"TooManyRequestsException", 429, true, "User"};
static const struct error_kind ERR_TIMEOUT = {"RequestTimeoutException", 408, true, "User"};

// ---- responses ------------------------------------------------------------------------------

static void common_headers(struct net_httpd_response *resp, const char *type)
{
    char rid[37];
    esm_uuid_v4(rid);
    net_httpd_response_header(resp, "Content-Type", type);
    net_httpd_response_header(resp, "x-amzn-RequestId", rid);
}

static void send_json(struct net_httpd_response *resp, int status, const cJSON *body,
                      const char *error_type)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    if (!text) {
        status = 500;
        error_type = ERR_SERVICE.type;
        text = strdup("{\"Type\":\"Service\",\"Message\":\"out of memory\"}");
    }
    resp->status = status;
    common_headers(resp, "application/json");
    if (error_type) {
        net_httpd_response_header(resp, "x-amzn-ErrorType", error_type);
    }
    if (text) {
        net_httpd_response_body_take(resp, text, strlen(text));
    }
}

static void send_error(struct net_httpd_response *resp, const struct error_kind *k, const char *msg)
{
    char clean[2400];
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "Type", k->fault);
        cJSON_AddStringToObject(o, k->lower_message ? "message" : "Message",
                                esm_utf8_sanitize(clean, sizeof clean, msg, strlen(msg)));
        if (k == &ERR_THROTTLE) {
            cJSON_AddStringToObject(o, "Reason", "CallerRateLimitExceeded");
        }
    }
    send_json(resp, k->status, o, k->type);
    cJSON_Delete(o);
}

// on_server_error formats the errors net/httpd answers itself (framing, timeouts, the cap).
static void on_server_error(void *ctx, int status, const char *message,
                            struct net_httpd_response *resp)
{
    (void)ctx;
    const struct error_kind *k = &ERR_CONTENT;
    if (status == 413 || status == 414 || status == 431) {
        k = &ERR_TOO_LARGE;
    } else if (status == 429) {
        k = &ERR_THROTTLE;
    } else if (status == 408) {
        k = &ERR_TIMEOUT;
    }
    send_error(resp, k, message);
    resp->status = status;
}

static void send_result(struct net_httpd_response *resp, struct esm_op_result *r, int ok_status)
{
    switch (r->status) {
    case ESM_OP_OK:
        send_json(resp, ok_status, r->body, NULL);
        break;
    case ESM_OP_INVALID:
        send_error(resp, &ERR_INVALID, r->message);
        break;
    case ESM_OP_NOT_FOUND:
        send_error(resp, &ERR_NOT_FOUND, r->message);
        break;
    case ESM_OP_CONFLICT:
        send_error(resp, &ERR_CONFLICT, r->message);
        break;
    case ESM_OP_IN_USE:
        send_error(resp, &ERR_IN_USE, r->message);
        break;
    case ESM_OP_INTERNAL:
        send_error(resp, &ERR_SERVICE, r->message);
        break;
    }
    cJSON_Delete(r->body);
    r->body = NULL;
}

// ---- request checks -------------------------------------------------------------------------

// parse_body parses the request body as guarded JSON; an empty body is {}. Sends the error itself
// and returns NULL on failure.
static cJSON *parse_body(const struct net_httpd_parser *req, struct net_httpd_response *resp)
{
    if (req->body_len == 0) {
        return cJSON_CreateObject();
    }
    char why[300], msg[400];
    cJSON *o = esm_json_parse_guarded(req->body, req->body_len, NULL, why, sizeof why);
    if (!o) {
        snprintf(msg, sizeof msg, "Could not parse request body into json: %s", why);
        send_error(resp, &ERR_CONTENT, msg);
        return NULL;
    }
    if (!cJSON_IsObject(o)) {
        send_error(resp, &ERR_CONTENT,
                   "Could not parse request body into json: expected an object");
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static bool state_changing(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

// cross_site refuses what a browser could send on a page's behalf: an Origin header, and a
// state-changing request whose body is not JSON (a text/plain or form POST needs no preflight).
static bool cross_site(const struct net_httpd_parser *req, struct net_httpd_response *resp)
{
    const char *origin = net_httpd_find(req, "Origin");
    if (origin != NULL) {
        char msg[300];
        snprintf(msg, sizeof msg,
                 "kesm serve refuses requests that carry an Origin header (here '%.100s'): "
                 "browsers send it, the AWS CLI and SDKs never do",
                 origin);
        send_error(resp, &ERR_DENIED, msg);
        return true;
    }
    if (!state_changing(req->method)) {
        return false;
    }
    const char *ct = net_httpd_find(req, "Content-Type");
    if (ct == NULL && req->body_len == 0) {
        return false; // a body-less DELETE, as botocore sends it
    }
    if (ct == NULL || !esm_api_json_content_type(ct)) {
        char msg[300];
        snprintf(msg, sizeof msg,
                 "Content-Type '%.80s' is not accepted: send application/json (as the AWS CLI "
                 "and SDKs do)",
                 ct ? ct : "(none)");
        send_error(resp, &ERR_MEDIA, msg);
        return true;
    }
    return false;
}

// authentic checks the request's SigV4 signature; sends the error itself and returns false when
// it fails.
static bool authentic(struct esm_api *api, const struct net_httpd_parser *req,
                      struct net_httpd_response *resp)
{
    if (api->no_auth) {
        return true;
    }
    if (!net_httpd_find(req, "Authorization")) {
        send_error(resp, &ERR_NO_AUTH, "Missing Authentication Token");
        return false;
    }
    struct sigv4_header *hdrs = calloc(req->num_fields + 1, sizeof *hdrs);
    if (!hdrs) {
        send_error(resp, &ERR_SERVICE, "out of memory");
        return false;
    }
    for (size_t i = 0; i < req->num_fields; i++) {
        hdrs[i].name = req->fields[i].name;
        hdrs[i].value = req->fields[i].value;
    }
    struct sigv4_request sr = {req->method,     req->path, req->query,   hdrs,
                               req->num_fields, req->body, req->body_len};
    struct inv_err err = {{0}};
    int rc = sigv4_verify(&sr, api->creds, api->region, "lambda", (int64_t)time(NULL),
                          SIGV4_MAX_SKEW_S, &err);
    free(hdrs);
    if (rc != 0) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "The request signature we calculated does not match the signature you provided "
                 "(%s)",
                 err.msg);
        send_error(resp, &ERR_BAD_SIG, msg);
        return false;
    }
    return true;
}

// ---- operations -----------------------------------------------------------------------------

static void do_list(struct esm_api *api, const char *query, struct net_httpd_response *resp)
{
    char fn[300], arn[300], marker[64], max[32];
    int has_fn = esm_api_query_get(query, "FunctionName", fn, sizeof fn);
    int has_arn = esm_api_query_get(query, "EventSourceArn", arn, sizeof arn);
    int has_marker = esm_api_query_get(query, "Marker", marker, sizeof marker);
    int has_max = esm_api_query_get(query, "MaxItems", max, sizeof max);
    if (has_fn < 0 || has_arn < 0 || has_marker < 0 || has_max < 0) {
        send_error(resp, &ERR_INVALID, "The query string could not be parsed");
        return;
    }
    long max_items = 0;
    if (has_max) {
        char *end = NULL;
        max_items = strtol(max, &end, 10);
        if (!*max || *end || max_items < 1 || max_items > 10000) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "1 validation error detected: Value '%.40s' at 'MaxItems' failed to satisfy "
                     "constraint: Member must be an integer between 1 and 10000",
                     max);
            send_error(resp, &ERR_INVALID, msg);
            return;
        }
    }
    struct esm_op_result r;
    esm_manager_list(api->mgr, has_fn ? fn : NULL, has_arn ? arn : NULL, has_marker ? marker : NULL,
                     max_items, &r);
    if (r.status == ESM_OP_OK && api->writer.decorate) {
        api->writer.decorate(api->writer.ctx, r.body, true);
    }
    send_result(resp, &r, 200);
}

static void send_text(struct net_httpd_response *resp, const char *type, char *body, size_t len)
{
    resp->status = 200;
    common_headers(resp, type);
    net_httpd_response_header(resp, "Cache-Control", "no-store");
    net_httpd_response_body_take(resp, body, len);
}

static void do_metrics(struct esm_api *api, struct net_httpd_response *resp)
{
    static const enum esm_state all[] = {
        ESM_STATE_CREATING, ESM_STATE_ENABLING, ESM_STATE_ENABLED, ESM_STATE_DISABLING,
        ESM_STATE_DISABLED, ESM_STATE_UPDATING, ESM_STATE_DELETING};
    const char *names[sizeof all / sizeof all[0]];
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        names[i] = esm_state_name(all[i]);
    }
    struct esm_metrics_mapping *maps = NULL;
    size_t n = 0, len = 0;
    if (esm_manager_metrics(api->mgr, &maps, &n) != 0) {
        send_error(resp, &ERR_SERVICE, "out of memory");
        return;
    }
    char *text = esm_metrics_format(maps, n, names, sizeof all / sizeof all[0], &len);
    for (size_t i = 0; i < n; i++) {
        esm_metrics_mapping_cleanup(&maps[i]);
    }
    free(maps);
    if (text && api->writer.metrics) {
        text = api->writer.metrics(api->writer.ctx, text, len, &len);
    }
    if (!text) {
        send_error(resp, &ERR_SERVICE, "out of memory");
        return;
    }
    send_text(resp, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

// do_health answers 200 while the API serves: the process is up and its loop turns. Mapping
// problems are reported per mapping (State, LastProcessingResult, kesm_mapping_state), not as
// process ill-health, so one broken mapping does not get the whole service restarted.
static void do_health(struct esm_api *api, struct net_httpd_response *resp)
{
    struct esm_metrics_mapping *maps = NULL;
    size_t n = 0;
    cJSON *body = cJSON_CreateObject();
    cJSON *states = body ? cJSON_AddObjectToObject(body, "Mappings") : NULL;
    if (!states || esm_manager_metrics(api->mgr, &maps, &n) != 0) {
        cJSON_Delete(body);
        send_error(resp, &ERR_SERVICE, "out of memory");
        return;
    }
    cJSON_AddStringToObject(body, "Status", "ok");
    cJSON_AddNumberToObject(body, "Total", (double)n);
    for (size_t i = 0; i < n; i++) {
        cJSON *c = cJSON_GetObjectItemCaseSensitive(states, maps[i].state);
        if (c) {
            cJSON_SetNumberValue(c, c->valuedouble + 1);
        } else {
            cJSON_AddNumberToObject(states, maps[i].state, 1);
        }
        esm_metrics_mapping_cleanup(&maps[i]);
    }
    free(maps);
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!text) {
        send_error(resp, &ERR_SERVICE, "out of memory");
        return;
    }
    send_text(resp, "application/json", text, strlen(text));
}

// observability answers GET /metrics and GET /health (and /healthz); returns false for any other
// path. These are not SigV4-signed (scrapers and probes cannot sign); they carry no secret.
static bool observability(struct esm_api *api, const struct net_httpd_parser *req,
                          struct net_httpd_response *resp)
{
    bool metrics = !strcmp(req->path, "/metrics");
    bool health = !strcmp(req->path, "/health") || !strcmp(req->path, "/healthz");
    if (!metrics && !health) {
        return false;
    }
    if (strcmp(req->method, "GET") != 0) {
        send_error(resp, &ERR_UNKNOWN, "Unknown operation: only GET is used on this path");
    } else if (metrics) {
        do_metrics(api, resp);
    } else {
        do_health(api, resp);
    }
    return true;
}

// fleet_route answers what fleet mode changes: reads on a node that cannot answer them truthfully
// (ServiceException), and writes, which the writer takes over. Returns true when the request
// goes on as usual (a read on a healthy node).
static bool fleet_route(struct esm_api *api, const struct net_httpd_parser *req, const char *id,
                        struct net_httpd_response *resp)
{
    const char *m = req->method;
    char why[400];
    if (!api->writer.read_ok(api->writer.ctx, why, sizeof why)) {
        send_error(resp, &ERR_SERVICE, why);
        return false;
    }
    enum esm_api_op op;
    if (!id[0] && !strcmp(m, "POST")) {
        op = ESM_API_CREATE;
    } else if (id[0] && !strcmp(m, "PUT")) {
        op = ESM_API_UPDATE;
    } else if (id[0] && !strcmp(m, "DELETE")) {
        op = ESM_API_DELETE;
    } else {
        return true;
    }
    cJSON *body = op == ESM_API_DELETE ? NULL : parse_body(req, resp);
    if (op != ESM_API_DELETE && !body) {
        return false;
    }
    struct esm_op_result r = {0};
    if (!api->writer.write(api->writer.ctx, op, id, body, resp, &r)) {
        send_result(resp, &r, 202);
    }
    cJSON_Delete(body);
    return false;
}

void esm_api_answer(struct net_httpd_deferred *d, struct esm_op_result *r, int ok_status)
{
    struct net_httpd_response resp = {.status = 500};
    send_result(&resp, r, ok_status);
    net_httpd_deferred_finish(d, &resp);
}

// route runs an API operation on |path| (under API_PREFIX, checked).
static void route(struct esm_api *api, const struct net_httpd_parser *req,
                  struct net_httpd_response *resp)
{
    size_t plen = strlen(API_PREFIX);
    const char *path = req->path;
    char id[64] = "";
    const char *rest = path[plen] ? path + plen + 1 : "";
    size_t idlen = strcspn(rest, "/");
    if (idlen >= sizeof id || (rest[idlen] == '/' && rest[idlen + 1] != '\0')) {
        send_error(resp, &ERR_NOT_FOUND, "The resource you requested does not exist.");
        return;
    }
    memcpy(id, rest, idlen);
    id[idlen] = '\0';
    const char *m = req->method;
    struct esm_op_result r;
    cJSON *body = NULL;
    if (api->writer.read_ok && !fleet_route(api, req, id, resp)) {
        return;
    }
    if (!id[0] && !strcmp(m, "POST")) {
        if ((body = parse_body(req, resp)) != NULL) {
            esm_manager_create(api->mgr, body, &r);
            send_result(resp, &r, 202);
        }
    } else if (!id[0] && !strcmp(m, "GET")) {
        do_list(api, req->query, resp);
    } else if (id[0] && !strcmp(m, "GET")) {
        esm_manager_get(api->mgr, id, &r);
        if (r.status == ESM_OP_OK && api->writer.decorate) {
            api->writer.decorate(api->writer.ctx, r.body, false);
        }
        send_result(resp, &r, 200);
    } else if (id[0] && !strcmp(m, "PUT")) {
        if ((body = parse_body(req, resp)) != NULL) {
            esm_manager_update(api->mgr, id, body, &r);
            send_result(resp, &r, 202);
        }
    } else if (id[0] && !strcmp(m, "DELETE")) {
        esm_manager_delete(api->mgr, id, &r);
        send_result(resp, &r, 202);
    } else {
        send_error(resp, &ERR_UNKNOWN, "Unknown operation: this method is not used on this path");
    }
    cJSON_Delete(body);
}

static void handle(void *ctx, const struct net_httpd_parser *req, const struct net_httpd_peer *peer,
                   struct net_httpd_response *resp)
{
    struct esm_api *api = ctx;
    if (!api->allow_remote && !esm_api_addr_is_loopback(peer->addr)) {
        send_error(resp, &ERR_DENIED,
                   "kesm serve answers loopback clients only (start it with --allow-remote)");
        resp->close = true;
        return;
    }
    if (api->extra && api->extra(api->extra_ctx, req, peer, resp)) {
        return; // the status page: it checks its own Host, Origin and method
    }
    const char *host = net_httpd_find(req, "Host");
    if (!esm_api_host_ok(host, api->host, esm_api_port(api), (const char *const *)api->allowed,
                         api->num_allowed)) {
        char msg[300];
        snprintf(msg, sizeof msg,
                 "Host '%.100s' does not name this server (listening on %s port %u; add a name "
                 "with kesm serve --allowed-host)",
                 host ? host : "(none)", api->host, (unsigned)esm_api_port(api));
        send_error(resp, &ERR_DENIED, msg);
        resp->close = true;
        return;
    }
    if (observability(api, req, resp)) {
        return;
    }
    if (cross_site(req, resp) || !authentic(api, req, resp)) {
        return;
    }
    size_t plen = strlen(API_PREFIX);
    if (strncmp(req->path, API_PREFIX, plen) != 0 || (req->path[plen] && req->path[plen] != '/')) {
        char msg[300];
        snprintf(msg, sizeof msg, "Unknown operation: %.200s", req->path);
        send_error(resp, &ERR_UNKNOWN, msg);
        return;
    }
    route(api, req, resp);
}

struct esm_api *esm_api_new(struct event_base *base, struct esm_manager *mgr,
                            const struct esm_api_config *cfg, char *why, size_t why_len)
{
    if (!cfg->verify_creds && !cfg->no_auth) {
        snprintf(why, why_len,
                 "refusing to serve the API without authentication: give credentials to check "
                 "SigV4 signatures against, or opt out explicitly");
        return NULL;
    }
    struct esm_api *api = calloc(1, sizeof *api);
    if (!api) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    api->mgr = mgr;
    api->allow_remote = cfg->allow_remote;
    api->no_auth = cfg->no_auth && !cfg->verify_creds;
    api->creds = cfg->verify_creds;
    api->region = cfg->verify_region ? cfg->verify_region : "us-east-1";
    api->extra = cfg->extra;
    api->extra_ctx = cfg->extra_ctx;
    if (cfg->writer) {
        api->writer = *cfg->writer;
    }
    api->host = strdup(cfg->host ? cfg->host : "127.0.0.1");
    api->allowed = calloc(cfg->num_allowed_hosts + 1, sizeof *api->allowed);
    for (size_t i = 0; api->allowed && i < cfg->num_allowed_hosts; i++) {
        api->allowed[api->num_allowed++] = strdup(cfg->allowed_hosts[i]);
    }
    struct net_httpd_config hc = {
        .host = api->host,
        .port = cfg->port,
        .max_conns = cfg->max_conns,
        .header_timeout_ms = cfg->header_timeout_ms,
        .body_timeout_ms = cfg->body_timeout_ms,
        .idle_timeout_ms = cfg->idle_timeout_ms,
        .limits = {.max_body = cfg->max_body ? cfg->max_body : ESM_API_MAX_BODY},
        .handler = handle,
        .error = on_server_error,
        .ctx = api,
        .log_component = "serve",
    };
    api->srv = api->host ? net_httpd_new(base, &hc, why, why_len) : NULL;
    if (!api->srv) {
        esm_api_free(api);
        return NULL;
    }
    return api;
}

uint16_t esm_api_port(const struct esm_api *api)
{
    return net_httpd_port(api->srv);
}

void esm_api_free(struct esm_api *api)
{
    if (!api) {
        return;
    }
    net_httpd_free(api->srv);
    for (size_t i = 0; i < api->num_allowed; i++) {
        free(api->allowed[i]);
    }
    free(api->allowed);
    free(api->host);
    free(api);
}
