// status_http.c: serving the status page (see status_http.h).
#include "esm/status_http.h"

#include "esm/api.h"
#include "esm/status.h"
#include "esm/status_assets.h"
#include "net/log.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TICK_MS 1000

struct esm_status_server {
    struct net_reactor *r;
    struct esm_status *st;
    struct net_timer *tick;
    struct evhttp *http; // the status listener (NULL: none)
    uint16_t port;
    bool allow_remote;
};

static const char CSP[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

// ---- flags ------------------------------------------------------------------------------------

static bool parse_hostport(struct esm_status_opts *o, const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s) {
        return false;
    }
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535) {
        return false;
    }
    size_t hl = (size_t)(colon - s);
    if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') {
        s++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof o->host) {
        return false;
    }
    memcpy(o->host, s, hl);
    o->host[hl] = '\0';
    o->port = (uint16_t)port;
    return true;
}

int esm_status_flag(struct esm_status_opts *o, const char *a, const char *v)
{
    if (!strcmp(a, "--status-listen")) {
        if (!v || !parse_hostport(o, v)) {
            fprintf(stderr,
                    "kesm serve: --status-listen wants HOST:PORT (port 0-65535), not '%s'\n",
                    v ? v : "");
            return -1;
        }
        o->listen = true;
        return 2;
    }
    if (!strcmp(a, "--stuck-after")) {
        char *end = NULL;
        long s = v ? strtol(v, &end, 10) : 0;
        if (!v || !*v || *end || s < 1 || s > ESM_STATUS_STUCK_MAX_S) {
            fprintf(stderr, "kesm serve: --stuck-after wants 1-%d seconds, not '%s'\n",
                    ESM_STATUS_STUCK_MAX_S, v ? v : "");
            return -1;
        }
        o->stuck_after_s = (uint32_t)s;
        return 2;
    }
    return 0;
}

void esm_status_usage(FILE *out)
{
    fprintf(out,
            "  --status-listen HOST:PORT  also serve the status page (/status, /status.json) on\n"
            "                      a listener of its own (it is always on the API listener too)\n"
            "  --stuck-after SECONDS  a partition with lag whose processed offset has not moved\n"
            "                      for this long is stuck (default 300; 1-86400)\n");
}

// ---- answering --------------------------------------------------------------------------------

static void security_headers(struct evkeyvalq *h)
{
    evhttp_add_header(h, "Content-Security-Policy", CSP);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "Cross-Origin-Resource-Policy", "same-origin");
    evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
    evhttp_add_header(h, "Cache-Control", "no-store");
}

static void reply(struct evhttp_request *req, int status, const char *reason, const char *type,
                  const void *body, size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    security_headers(h);
    evhttp_add_header(h, "Content-Type", type);
    struct evbuffer *b = evbuffer_new();
    if (b && len) {
        evbuffer_add(b, body, len);
    }
    evhttp_send_reply(req, status, reason, b);
    if (b) {
        evbuffer_free(b);
    }
}

static void refuse(struct evhttp_request *req, int status, const char *reason, const char *msg)
{
    if (status == 405) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
    }
    reply(req, status, reason, "text/plain; charset=utf-8", msg, strlen(msg));
}

// local_addr reads the address the request's connection arrived at.
static bool local_addr(struct evhttp_request *req, struct sockaddr_storage *ss)
{
    struct evhttp_connection *c = evhttp_request_get_connection(req);
    struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    socklen_t sl = sizeof *ss;
    memset(ss, 0, sizeof *ss);
    return fd >= 0 && getsockname(fd, (struct sockaddr *)ss, &sl) == 0;
}

// same_origin: an Origin header (if any) must be http://<Host>.
static bool same_origin(const char *origin, const char *host)
{
    return !origin || (!strncmp(origin, "http://", 7) && !strcmp(origin + 7, host));
}

// allowed checks the request's method, client, Host, Origin and Sec-Fetch-Site; answers and
// returns false when it is refused.
static bool allowed(struct esm_status_server *srv, struct evhttp_request *req)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        refuse(req, 405, "Method Not Allowed", "the status page is read-only: GET only\n");
        return false;
    }
    struct evhttp_connection *c = evhttp_request_get_connection(req);
    if (!srv->allow_remote && !esm_api_addr_is_loopback(c ? evhttp_connection_get_addr(c) : NULL)) {
        refuse(req, 403, "Forbidden",
               "kesm serve answers loopback clients only (start it with --allow-remote)\n");
        return false;
    }
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *host = evhttp_find_header(in, "Host");
    struct sockaddr_storage ss;
    if (!local_addr(req, &ss) || !esm_status_host_ok(host, (const struct sockaddr *)&ss)) {
        refuse(req, 403, "Forbidden",
               "the Host header must name the address and port this server listens on (an IP "
               "address, or localhost)\n");
        return false;
    }
    const char *site = evhttp_find_header(in, "Sec-Fetch-Site");
    if (!same_origin(evhttp_find_header(in, "Origin"), host) ||
        (site && !strcmp(site, "cross-site"))) {
        refuse(req, 403, "Forbidden", "cross-origin requests are refused\n");
        return false;
    }
    return true;
}

static const struct esm_status_asset *asset(const char *name)
{
    for (size_t i = 0; i < esm_status_num_assets; i++) {
        if (!strcmp(esm_status_assets[i].name, name)) {
            return &esm_status_assets[i];
        }
    }
    return NULL;
}

// route maps a path to an asset name, "json", or NULL; |own| is the status listener.
static const char *route(const char *path, bool own)
{
    if (!strcmp(path, "/status") || !strcmp(path, "/status/") || (own && !strcmp(path, "/"))) {
        return "index.html";
    }
    if (!strcmp(path, "/status.json")) {
        return "json";
    }
    if (!strncmp(path, "/status/", 8) && path[8] && !strchr(path + 8, '/') &&
        strcmp(path + 8, "index.html") != 0) {
        return path + 8;
    }
    return NULL;
}

static bool serve_path(struct esm_status_server *srv, struct evhttp_request *req, const char *path,
                       bool own)
{
    const char *name = route(path, own);
    if (!name) {
        return false;
    }
    if (!allowed(srv, req)) {
        return true;
    }
    if (!strcmp(name, "json")) {
        size_t len = 0;
        char *text = esm_status_json(srv->st, &len);
        if (!text) {
            refuse(req, 500, "Internal Server Error", "out of memory\n");
            return true;
        }
        reply(req, 200, "OK", "application/json", text, len);
        free(text);
        return true;
    }
    const struct esm_status_asset *a = asset(name);
    if (!a) {
        refuse(req, 404, "Not Found", "no such file\n");
        return true;
    }
    reply(req, 200, "OK", a->content_type, a->data, a->len);
    return true;
}

bool esm_status_server_handle(void *ctx, struct evhttp_request *req, const char *path)
{
    return serve_path(ctx, req, path, false);
}

static void own_handle(struct evhttp_request *req, void *ctx)
{
    struct esm_status_server *srv = ctx;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || !serve_path(srv, req, path, true)) {
        if (allowed(srv, req)) {
            refuse(req, 404, "Not Found", "not found: the status page is /status\n");
        }
    }
}

// ---- lifetime ---------------------------------------------------------------------------------

static void on_tick(void *ctx)
{
    struct esm_status_server *srv = ctx;
    esm_status_tick(srv->st);
    net_timer_arm(srv->tick, TICK_MS);
}

// sink writes every log line to stderr (one write, as net/log.c does) and keeps the WARN and
// ERROR ones.
static void sink(enum kesm_log_level level, const char *line, void *ctx)
{
    struct esm_status_server *srv = ctx;
    if (level >= KESM_LOG_WARN) {
        esm_status_note_log_line(srv->st, line);
    }
    char buf[1100];
    size_t len = strlen(line);
    if (len > sizeof buf - 1) {
        len = sizeof buf - 1;
    }
    memcpy(buf, line, len);
    buf[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, len);
    (void)w;
}

static int bind_own(struct esm_status_server *srv, const struct esm_status_opts *o, char *why,
                    size_t why_len)
{
    srv->http = evhttp_new(net_reactor_event_base(srv->r));
    if (!srv->http) {
        snprintf(why, why_len, "cannot create the status HTTP server");
        return -1;
    }
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_max_body_size(srv->http, 0);
    evhttp_set_max_headers_size(srv->http, 16 * 1024);
    evhttp_set_timeout(srv->http, 30);
    evhttp_set_gencb(srv->http, own_handle, srv);
    struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(srv->http, o->host, o->port);
    if (!sock) {
        snprintf(why, why_len, "cannot listen on %s port %u (--status-listen)", o->host,
                 (unsigned)o->port);
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) == 0) {
        srv->port = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                            : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return 0;
}

struct esm_status_server *esm_status_server_new(struct net_reactor *r, struct esm_manager *mgr,
                                                const struct esm_status_opts *o, bool allow_remote,
                                                const char *version, char *why, size_t why_len)
{
    struct esm_status_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    srv->r = r;
    srv->allow_remote = allow_remote;
    struct esm_status_config sc = {.stuck_after_s = o->stuck_after_s, .version = version};
    srv->st = esm_status_new(mgr, &sc);
    srv->tick = net_timer_new(r, on_tick, srv);
    if (!srv->st || !srv->tick) {
        snprintf(why, why_len, "out of memory");
        esm_status_server_free(srv);
        return NULL;
    }
    if (o->listen && bind_own(srv, o, why, why_len) != 0) {
        esm_status_server_free(srv);
        return NULL;
    }
    kesm_log_set_sink(sink, srv);
    net_timer_arm(srv->tick, TICK_MS);
    return srv;
}

uint16_t esm_status_server_port(const struct esm_status_server *srv)
{
    return srv->http ? srv->port : 0;
}

void esm_status_server_free(struct esm_status_server *srv)
{
    if (!srv) {
        return;
    }
    kesm_log_set_sink(NULL, NULL);
    if (srv->http) {
        evhttp_free(srv->http);
    }
    net_timer_free(srv->tick);
    esm_status_free(srv->st);
    free(srv);
}
