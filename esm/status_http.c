// status_http.c: serving the status page (see status_http.h).
#include "esm/status_http.h"

#include "base/hostport.h"
#include "base/log.h"
#include "esm/api.h"
#include "esm/status.h"
#include "esm/status_assets.h"
#include "net/httpd.h"

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
    struct net_httpd *http; // the status listener (NULL: none)
    uint16_t port;
    bool allow_remote;
};

static const char CSP[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

// ---- flags ------------------------------------------------------------------------------------

int esm_status_flag(struct esm_status_opts *o, const char *a, const char *v)
{
    if (!strcmp(a, "--status-listen")) {
        if (!v || !hostport_parse(v, strlen(v), HOSTPORT_PORT_0, o->host, sizeof o->host, &o->port,
                                  NULL)) {
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

static void security_headers(struct net_httpd_response *r)
{
    net_httpd_response_header(r, "Content-Security-Policy", CSP);
    net_httpd_response_header(r, "X-Content-Type-Options", "nosniff");
    net_httpd_response_header(r, "X-Frame-Options", "DENY");
    net_httpd_response_header(r, "Referrer-Policy", "no-referrer");
    net_httpd_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
    net_httpd_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    net_httpd_response_header(r, "Cache-Control", "no-store");
}

static void reply(struct net_httpd_response *r, int status, const char *type, const void *body,
                  size_t len)
{
    r->status = status;
    security_headers(r);
    net_httpd_response_header(r, "Content-Type", type);
    net_httpd_response_body(r, body, len);
}

static void refuse(struct net_httpd_response *r, int status, const char *msg)
{
    if (status == 405) {
        net_httpd_response_header(r, "Allow", "GET, HEAD");
    }
    reply(r, status, "text/plain; charset=utf-8", msg, strlen(msg));
}

// same_origin: an Origin header (if any) must be http://<Host>.
static bool same_origin(const char *origin, const char *host)
{
    return !origin || (!strncmp(origin, "http://", 7) && !strcmp(origin + 7, host));
}

// allowed checks the request's method, client, Host, Origin and Sec-Fetch-Site; answers and
// returns false when it is refused.
static bool allowed(struct esm_status_server *srv, const struct net_httpd_parser *req,
                    const struct net_httpd_peer *peer, struct net_httpd_response *resp)
{
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        refuse(resp, 405, "the status page is read-only: GET only\n");
        return false;
    }
    if (!srv->allow_remote && !esm_api_addr_is_loopback(peer->addr)) {
        refuse(resp, 403,
               "kesm serve answers loopback clients only (start it with --allow-remote)\n");
        return false;
    }
    const char *host = net_httpd_find(req, "Host");
    if (!peer->local || !esm_status_host_ok(host, peer->local)) {
        refuse(resp, 403,
               "the Host header must name the address and port this server listens on (an IP "
               "address, or localhost)\n");
        return false;
    }
    const char *site = net_httpd_find(req, "Sec-Fetch-Site");
    if (!same_origin(net_httpd_find(req, "Origin"), host) ||
        (site && !strcmp(site, "cross-site"))) {
        refuse(resp, 403, "cross-origin requests are refused\n");
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

static bool serve_path(struct esm_status_server *srv, const struct net_httpd_parser *req,
                       const struct net_httpd_peer *peer, struct net_httpd_response *resp, bool own)
{
    const char *name = route(req->path, own);
    if (!name) {
        return false;
    }
    if (!allowed(srv, req, peer, resp)) {
        return true;
    }
    if (!strcmp(name, "json")) {
        size_t len = 0;
        char *text = esm_status_json(srv->st, &len);
        if (!text) {
            refuse(resp, 500, "out of memory\n");
            return true;
        }
        reply(resp, 200, "application/json", text, len);
        free(text);
        return true;
    }
    const struct esm_status_asset *a = asset(name);
    if (!a) {
        refuse(resp, 404, "no such file\n");
        return true;
    }
    reply(resp, 200, a->content_type, a->data, a->len);
    return true;
}

bool esm_status_server_handle(void *ctx, const struct net_httpd_parser *req,
                              const struct net_httpd_peer *peer, struct net_httpd_response *resp)
{
    return serve_path(ctx, req, peer, resp, false);
}

static void own_handle(void *ctx, const struct net_httpd_parser *req,
                       const struct net_httpd_peer *peer, struct net_httpd_response *resp)
{
    struct esm_status_server *srv = ctx;
    if (!serve_path(srv, req, peer, resp, true) && allowed(srv, req, peer, resp)) {
        refuse(resp, 404, "not found: the status page is /status\n");
    }
}

// own_error answers what the status listener's HTTP server refuses itself, in plain text.
static void own_error(void *ctx, int status, const char *message, struct net_httpd_response *resp)
{
    (void)ctx;
    char msg[300];
    snprintf(msg, sizeof msg, "%s\n", message);
    refuse(resp, status, msg);
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
    struct net_httpd_config hc = {.host = o->host,
                                  .port = o->port,
                                  .max_conns = 32,
                                  .limits = {.max_body = 1},
                                  .handler = own_handle,
                                  .error = own_error,
                                  .ctx = srv,
                                  .log_component = "status"};
    char err[200];
    srv->http = net_httpd_new(net_reactor_event_base(srv->r), &hc, err, sizeof err);
    if (!srv->http) {
        snprintf(why, why_len, "%s (--status-listen)", err);
        return -1;
    }
    srv->port = net_httpd_port(srv->http);
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
    net_httpd_free(srv->http);
    net_timer_free(srv->tick);
    esm_status_free(srv->st);
    free(srv);
}
