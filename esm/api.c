// api.c: the event source mapping management API on evhttp (see api.h).
#include "esm/api.h"

#include "esm/metrics.h"
#include "invoke/credentials.h"
#include "invoke/sigv4.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#define API_PREFIX "/2015-03-31/event-source-mappings"

struct esm_api {
    struct evhttp *http;
    struct esm_manager *mgr;
    uint16_t port;
    bool allow_remote;
    const struct inv_creds *creds;
    const char *region;
    bool (*extra)(void *ctx, struct evhttp_request *req, const char *path);
    void *extra_ctx;
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

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    default:
        return "Internal Server Error";
    }
}

static void send_json(struct evhttp_request *req, int status, const cJSON *body,
                      const char *error_type)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char rid[37];
    esm_uuid_v4(rid);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "x-amzn-RequestId", rid);
    if (error_type) {
        evhttp_add_header(h, "x-amzn-ErrorType", error_type);
    }
    struct evbuffer *buf = evbuffer_new();
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    if (!buf || !text) {
        free(text);
        if (buf) {
            evbuffer_free(buf);
        }
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    evbuffer_add(buf, text, strlen(text));
    free(text);
    evhttp_send_reply(req, status, reason_phrase(status), buf);
    evbuffer_free(buf);
}

static void send_error(struct evhttp_request *req, const struct error_kind *k, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "Type", k->fault);
        cJSON_AddStringToObject(o, k->lower_message ? "message" : "Message", msg);
    }
    send_json(req, k->status, o, k->type);
    cJSON_Delete(o);
}

static void send_result(struct evhttp_request *req, struct esm_op_result *r, int ok_status)
{
    switch (r->status) {
    case ESM_OP_OK:
        send_json(req, ok_status, r->body, NULL);
        break;
    case ESM_OP_INVALID:
        send_error(req, &ERR_INVALID, r->message);
        break;
    case ESM_OP_NOT_FOUND:
        send_error(req, &ERR_NOT_FOUND, r->message);
        break;
    case ESM_OP_CONFLICT:
        send_error(req, &ERR_CONFLICT, r->message);
        break;
    case ESM_OP_IN_USE:
        send_error(req, &ERR_IN_USE, r->message);
        break;
    case ESM_OP_INTERNAL:
        send_error(req, &ERR_SERVICE, r->message);
        break;
    }
    cJSON_Delete(r->body);
    r->body = NULL;
}

static bool peer_is_loopback(struct evhttp_request *req)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    const struct sockaddr *sa = conn ? evhttp_connection_get_addr(conn) : NULL;
    return esm_api_addr_is_loopback(sa);
}

bool esm_api_addr_is_loopback(const struct sockaddr *sa)
{
    if (!sa) {
        return false;
    }
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof sin);
        return (ntohl(sin.sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof sin6);
        const uint8_t *a = sin6.sin6_addr.s6_addr;
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        return IN6_IS_ADDR_LOOPBACK(&sin6.sin6_addr) ||
               (!memcmp(a, v4mapped, sizeof v4mapped) && a[12] == 127);
    }
    return false;
}

// parse_body parses the request body as JSON; an empty body is {}. Sends the error itself and
// returns NULL on failure.
static cJSON *parse_body(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len == 0) {
        return cJSON_CreateObject();
    }
    const char *text = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
    const char *end = NULL;
    cJSON *o = text ? cJSON_ParseWithLengthOpts(text, len, &end, false) : NULL;
    if (!o) {
        char msg[160];
        size_t at = text && end && end >= text ? (size_t)(end - text) : 0;
        snprintf(msg, sizeof msg,
                 "Could not parse request body into json: syntax error at byte %zu", at);
        send_error(req, &ERR_CONTENT, msg);
        return NULL;
    }
    if (!cJSON_IsObject(o)) {
        send_error(req, &ERR_CONTENT, "Could not parse request body into json: expected an object");
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void do_list(struct esm_api *api, struct evhttp_request *req, const char *query)
{
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (query && evhttp_parse_query_str(query, &q) != 0) {
        send_error(req, &ERR_INVALID, "The query string could not be parsed");
        return;
    }
    const char *fn = evhttp_find_header(&q, "FunctionName");
    const char *arn = evhttp_find_header(&q, "EventSourceArn");
    const char *marker = evhttp_find_header(&q, "Marker");
    const char *max = evhttp_find_header(&q, "MaxItems");
    long max_items = 0;
    if (max) {
        char *end = NULL;
        max_items = strtol(max, &end, 10);
        if (!*max || *end || max_items < 1 || max_items > 10000) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "1 validation error detected: Value '%.40s' at 'MaxItems' failed to satisfy "
                     "constraint: Member must be an integer between 1 and 10000",
                     max);
            send_error(req, &ERR_INVALID, msg);
            evhttp_clear_headers(&q);
            return;
        }
    }
    struct esm_op_result r;
    esm_manager_list(api->mgr, fn, arn, marker, max_items, &r);
    send_result(req, &r, 200);
    evhttp_clear_headers(&q);
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_HEAD:
    case EVHTTP_REQ_OPTIONS:
    case EVHTTP_REQ_TRACE:
    case EVHTTP_REQ_CONNECT:
    case EVHTTP_REQ_PATCH:
        break;
    }
    return "OTHER";
}

// authentic checks the request's SigV4 signature when credentials are configured; sends the
// error itself and returns false when it fails.
static bool authentic(struct esm_api *api, struct evhttp_request *req)
{
    if (!api->creds) {
        return true;
    }
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    if (!evhttp_find_header(in, "Authorization")) {
        send_error(req, &ERR_NO_AUTH, "Missing Authentication Token");
        return false;
    }
    size_t n = 0;
    for (struct evkeyval *kv = in->tqh_first; kv; kv = kv->next.tqe_next) {
        n++;
    }
    struct sigv4_header *hdrs = calloc(n + 1, sizeof *hdrs);
    char *target = strdup(evhttp_request_get_uri(req));
    if (!hdrs || !target) {
        free(hdrs);
        free(target);
        send_error(req, &ERR_SERVICE, "out of memory");
        return false;
    }
    size_t i = 0;
    for (struct evkeyval *kv = in->tqh_first; kv; kv = kv->next.tqe_next) {
        hdrs[i].name = kv->key;
        hdrs[i].value = kv->value;
        i++;
    }
    char *q = strchr(target, '?');
    if (q) {
        *q++ = '\0';
    }
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(body);
    struct sigv4_request sr = {
        method_name(evhttp_request_get_command(req)),          target, q, hdrs, n,
        blen ? evbuffer_pullup(body, (ev_ssize_t)blen) : NULL, blen};
    struct inv_err err = {{0}};
    int rc = sigv4_verify(&sr, api->creds, api->region, "lambda", (int64_t)time(NULL), 900, &err);
    free(hdrs);
    free(target);
    if (rc != 0) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "The request signature we calculated does not match the signature you provided "
                 "(%s)",
                 err.msg);
        send_error(req, &ERR_BAD_SIG, msg);
        return false;
    }
    return true;
}

// ---- observability: GET /metrics, GET /health ---------------------------------------------

static void send_text(struct evhttp_request *req, int status, const char *type, const char *body,
                      size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char rid[37];
    esm_uuid_v4(rid);
    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "x-amzn-RequestId", rid);
    struct evbuffer *b = evbuffer_new();
    if (b) {
        evbuffer_add(b, body, len);
    }
    evhttp_send_reply(req, status, status == 200 ? "OK" : "Service Unavailable", b);
    if (b) {
        evbuffer_free(b);
    }
}

static void do_metrics(struct esm_api *api, struct evhttp_request *req)
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
        send_error(req, &ERR_SERVICE, "out of memory");
        return;
    }
    char *text = esm_metrics_format(maps, n, names, sizeof all / sizeof all[0], &len);
    for (size_t i = 0; i < n; i++) {
        esm_metrics_mapping_cleanup(&maps[i]);
    }
    free(maps);
    if (!text) {
        send_error(req, &ERR_SERVICE, "out of memory");
        return;
    }
    send_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

// do_health answers 200 while the API serves: the process is up and its loop turns. Mapping
// problems are reported per mapping (State, LastProcessingResult, kesm_mapping_state), not as
// process ill-health, so one broken mapping does not get the whole service restarted.
static void do_health(struct esm_api *api, struct evhttp_request *req)
{
    struct esm_metrics_mapping *maps = NULL;
    size_t n = 0;
    cJSON *body = cJSON_CreateObject();
    cJSON *states = body ? cJSON_AddObjectToObject(body, "Mappings") : NULL;
    if (!states || esm_manager_metrics(api->mgr, &maps, &n) != 0) {
        cJSON_Delete(body);
        send_error(req, &ERR_SERVICE, "out of memory");
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
        send_error(req, &ERR_SERVICE, "out of memory");
        return;
    }
    send_text(req, 200, "application/json", text, strlen(text));
    free(text);
}

// observability answers GET /metrics and GET /health (and /healthz); returns false for any other
// path. These are not SigV4-signed (scrapers and probes cannot sign); they carry no secret.
static bool observability(struct esm_api *api, struct evhttp_request *req, const char *path)
{
    bool metrics = !strcmp(path, "/metrics");
    bool health = !strcmp(path, "/health") || !strcmp(path, "/healthz");
    if (!metrics && !health) {
        return false;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        send_error(req, &ERR_UNKNOWN, "Unknown operation: only GET is used on this path");
    } else if (metrics) {
        do_metrics(api, req);
    } else {
        do_health(api, req);
    }
    return true;
}

static void handle(struct evhttp_request *req, void *ctx)
{
    struct esm_api *api = ctx;
    if (!api->allow_remote && !peer_is_loopback(req)) {
        send_error(req, &ERR_DENIED,
                   "kesm serve answers loopback clients only (start it with --allow-remote)");
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (path && api->extra && api->extra(api->extra_ctx, req, path)) {
        return;
    }
    if (path && observability(api, req, path)) {
        return;
    }
    if (!authentic(api, req)) {
        return;
    }
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    size_t plen = strlen(API_PREFIX);
    if (!path || strncmp(path, API_PREFIX, plen) != 0 || (path[plen] && path[plen] != '/')) {
        char msg[300];
        snprintf(msg, sizeof msg, "Unknown operation: %.200s", path ? path : "(no path)");
        send_error(req, &ERR_UNKNOWN, msg);
        return;
    }
    char id[64] = "";
    const char *rest = path[plen] ? path + plen + 1 : "";
    size_t idlen = strcspn(rest, "/");
    if (idlen >= sizeof id || (rest[idlen] == '/' && rest[idlen + 1] != '\0')) {
        send_error(req, &ERR_NOT_FOUND, "The resource you requested does not exist.");
        return;
    }
    memcpy(id, rest, idlen);
    id[idlen] = '\0';
    struct esm_op_result r;
    cJSON *body = NULL;
    if (!id[0] && cmd == EVHTTP_REQ_POST) {
        if ((body = parse_body(req)) != NULL) {
            esm_manager_create(api->mgr, body, &r);
            send_result(req, &r, 202);
        }
    } else if (!id[0] && cmd == EVHTTP_REQ_GET) {
        do_list(api, req, query);
    } else if (id[0] && cmd == EVHTTP_REQ_GET) {
        esm_manager_get(api->mgr, id, &r);
        send_result(req, &r, 200);
    } else if (id[0] && cmd == EVHTTP_REQ_PUT) {
        if ((body = parse_body(req)) != NULL) {
            esm_manager_update(api->mgr, id, body, &r);
            send_result(req, &r, 202);
        }
    } else if (id[0] && cmd == EVHTTP_REQ_DELETE) {
        esm_manager_delete(api->mgr, id, &r);
        send_result(req, &r, 202);
    } else {
        send_error(req, &ERR_UNKNOWN, "Unknown operation: this method is not used on this path");
    }
    cJSON_Delete(body);
}

struct esm_api *esm_api_new(struct event_base *base, struct esm_manager *mgr,
                            const struct esm_api_config *cfg, char *why, size_t why_len)
{
    struct esm_api *api = calloc(1, sizeof *api);
    if (!api || !(api->http = evhttp_new(base))) {
        free(api);
        snprintf(why, why_len, "cannot create the HTTP server");
        return NULL;
    }
    api->mgr = mgr;
    api->allow_remote = cfg->allow_remote;
    api->creds = cfg->verify_creds;
    api->region = cfg->verify_region ? cfg->verify_region : "us-east-1";
    api->extra = cfg->extra;
    api->extra_ctx = cfg->extra_ctx;
    const char *host = cfg->host ? cfg->host : "127.0.0.1";
    evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                              EVHTTP_REQ_DELETE);
    evhttp_set_max_body_size(api->http, (ev_ssize_t)(cfg->max_body ? cfg->max_body : 1u << 20));
    evhttp_set_max_headers_size(api->http, 64 * 1024);
    evhttp_set_timeout(api->http, 60);
    evhttp_set_gencb(api->http, handle, api);
    struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(api->http, host, cfg->port);
    if (!sock) {
        snprintf(why, why_len, "cannot listen on %s port %u", host, (unsigned)cfg->port);
        esm_api_free(api);
        return NULL;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    evutil_socket_t fd = evhttp_bound_socket_get_fd(sock);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            api->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            api->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    return api;
}

uint16_t esm_api_port(const struct esm_api *api)
{
    return api->port;
}

void esm_api_free(struct esm_api *api)
{
    if (!api) {
        return;
    }
    if (api->http) {
        evhttp_free(api->http);
    }
    free(api);
}
