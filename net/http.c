// http.c: the asynchronous HTTP/1.1 client (see http.h): requests, their completion and
// timeouts, the per-origin keep-alive pool's scheduling and the public API. A connection
// (net/dial, sending, reading through net/http_parse, the keep-alive race retry) is
// http_conn.c's; the request bytes are http_wire.c's.
#include "net/http.h"

#include "base/alloc.h"
#include "base/log.h"
#include "net/http_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *net_http_err_name(enum net_http_err e)
{
    switch (e) {
    case NET_HTTP_OK:
        return "ok";
    case NET_HTTP_ERR_INVALID:
        return "invalid request";
    case NET_HTTP_ERR_RESOLVE:
        return "name resolution";
    case NET_HTTP_ERR_CONNECT:
        return "connect";
    case NET_HTTP_ERR_TLS:
        return "TLS";
    case NET_HTTP_ERR_TIMEOUT:
        return "timeout";
    case NET_HTTP_ERR_PROTOCOL:
        return "protocol";
    case NET_HTTP_ERR_TOO_LARGE:
        return "response too large";
    case NET_HTTP_ERR_DISCONNECTED:
        return "disconnected";
    }
    return "?";
}

const char *net_http_response_header(const struct net_http_response *r, const char *name)
{
    for (size_t i = 0; i < r->num_headers; i++) {
        if (strcasecmp(r->headers[i].name, name) == 0) {
            return r->headers[i].value;
        }
    }
    return NULL;
}

// ---- request completion ---------------------------------------------------------------------

void http_conn_free(struct hconn *c);

static void req_unlink(struct hreq *q)
{
    for (struct hreq **pp = &q->h->reqs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    }
}

static void req_free(struct hreq *q)
{
    net_timer_free(q->timer);
    free(q->wire);
    free(q);
}

// finish queues |resp| for |q| (already detached from its connection) and frees |q|. |parser|,
// when not NULL, is moved into the queue (resp points into it).
void http_finish_parsed(struct hreq *q, struct net_http_response *resp,
                        struct net_http_parser *parser)
{
    struct net_http *h = q->h;
    req_unlink(q);
    net_timer_cancel(q->timer);
    struct done_item *d = xcalloc(1, sizeof *d);
    d->done = q->done;
    d->ctx = q->ctx;
    d->id = q->id;
    d->resp = *resp;
    d->resp.request_sent = q->sent;
    d->resp.reused = q->reused;
    d->error = xstrdup(resp->error ? resp->error : "");
    d->resp.error = d->error;
    if (parser != NULL) {
        d->parser = *parser; // a move: the heap buffers go with it
        memset(parser, 0, sizeof *parser);
    }
    if (d->resp.body == NULL) {
        d->resp.body = "";
    }
    uint64_t ms = net_reactor_now_ms(h->reactor) - q->start_ms;
    if (resp->err == NET_HTTP_OK) {
        kesm_log(KESM_LOG_DEBUG, h->log, "%s %s://%s%s -> %d (%zu bytes, %llu ms%s)", q->method,
                 q->url.tls ? "https" : "http", q->url.host_header, q->url.path, resp->status,
                 resp->body_len, (unsigned long long)ms, q->reused ? ", reused" : "");
    } else {
        kesm_log(KESM_LOG_DEBUG, h->log, "%s %s://%s%s failed after %llu ms: %s", q->method,
                 q->url.tls ? "https" : "http", q->url.host_header, q->url.path,
                 (unsigned long long)ms, d->error);
    }
    req_free(q);
    if (h->done_tail != NULL) {
        h->done_tail->next = d;
    } else {
        h->done_head = d;
    }
    h->done_tail = d;
    net_timer_arm(h->deliver, 0);
}

void http_finish(struct hreq *q, struct net_http_response *resp)
{
    http_finish_parsed(q, resp, NULL);
}

static void done_item_free(struct done_item *d)
{
    net_http_parser_cleanup(&d->parser);
    free(d->error);
    free(d);
}

static void http_destroy(struct net_http *h);

// on_deliver runs the queued callbacks. A callback may free the client: net_http_free then only
// marks it, and it is destroyed here once the callback returns.
static void on_deliver(void *arg)
{
    struct net_http *h = arg;
    h->delivering = true;
    while (h->done_head != NULL) {
        struct done_item *d = h->done_head;
        h->done_head = d->next;
        if (h->done_head == NULL) {
            h->done_tail = NULL;
        }
        d->done(d->ctx, d->id, &d->resp);
        done_item_free(d);
        if (h->free_requested) {
            http_destroy(h);
            return;
        }
    }
    h->delivering = false;
}

__attribute__((format(printf, 4, 5))) void
http_finish_err(struct hreq *q, enum net_http_err e, enum net_tls_fail tf, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct net_http_response r = {.err = e, .tls_fail = tf, .error = msg, .status = -1};
    http_finish(q, &r);
}

static struct hconn *find_idle(struct net_http *h, const struct net_http_url *u)
{
    for (struct hconn *c = h->conns; c != NULL; c = c->next) {
        if (c->state == CS_IDLE && c->tls == u->tls && c->port == u->port &&
            strcmp(c->host, u->host) == 0) {
            return c;
        }
    }
    return NULL;
}

// on_kick assigns every queued request to an idle or a new connection.
static size_t origin_conns(const struct net_http *h, const struct net_http_url *u)
{
    size_t n = 0;
    for (const struct hconn *c = h->conns; c != NULL; c = c->next) {
        n += c->tls == u->tls && c->port == u->port && strcmp(c->host, u->host) == 0;
    }
    return n;
}

// on_kick assigns queued requests, oldest first, to an idle connection of their origin or to a
// new one while the origin is below max_conns_per_origin; the others keep waiting (a connection
// that goes idle or closes kicks again).
static void on_kick(void *arg)
{
    struct net_http *h = arg;
    bool progress = true;
    while (progress) {
        progress = false;
        for (struct hreq *q = h->reqs; q != NULL; q = q->next) {
            if (q->conn != NULL) {
                continue;
            }
            struct hconn *c = find_idle(h, &q->url);
            if (c != NULL) {
                c->req = q;
                q->conn = c;
                q->reused = true;
                h->stats.connections_reused++;
                http_conn_send(c);
            } else if (h->cfg.max_conns_per_origin == 0 ||
                       origin_conns(h, &q->url) < h->cfg.max_conns_per_origin) {
                q->reused = false;
                http_conn_open(h, q); // the list may have changed: start over
            } else {
                continue;
            }
            progress = true;
            break;
        }
    }
}

static void on_req_timeout(void *arg)
{
    struct hreq *q = arg;
    const char *where = "waiting for a connection";
    bool started = false;
    if (q->conn != NULL) {
        struct hconn *c = q->conn;
        started = c->state == CS_ACTIVE && c->parser.in_total > 0;
        where = c->state == CS_RESOLVING    ? "resolving the host"
                : c->state == CS_CONNECTING ? "connecting"
                : c->state == CS_HANDSHAKE  ? "in the TLS handshake"
                : !q->sent                  ? "sending the request"
                : !started                  ? "waiting for the response"
                                            : "reading the response";
        c->req = NULL;
        q->conn = NULL;
        http_conn_free(c);
    }
    char msg[500];
    snprintf(msg, sizeof msg, "%s://%s: timed out after %u ms %s", q->url.tls ? "https" : "http",
             q->url.host_header, q->timeout_ms, where);
    struct net_http_response r = {
        .err = NET_HTTP_ERR_TIMEOUT, .error = msg, .status = -1, .response_started = started};
    http_finish(q, &r);
}

// ---- public API ---------------------------------------------------------------------------

struct net_http *net_http_new(struct net_reactor *r, const struct net_http_config *cfg)
{
    struct net_http *h = xcalloc(1, sizeof *h);
    h->reactor = r;
    if (cfg != NULL) {
        h->cfg = *cfg;
    }
    kesm_log_component(h->log, sizeof h->log, "http", h->cfg.log_tag);
    h->cfg.log_tag = NULL; // borrowed only for the call; h->log keeps it
    if (h->cfg.connect_timeout_ms == 0) {
        h->cfg.connect_timeout_ms = 10000;
    }
    if (h->cfg.idle_timeout_ms == 0) {
        h->cfg.idle_timeout_ms = 30000;
    }
    if (h->cfg.max_idle_per_origin == 0) {
        h->cfg.max_idle_per_origin = 8;
    }
    if (h->cfg.max_response_head == 0) {
        h->cfg.max_response_head = 65536;
    }
    if (h->cfg.max_response_body == 0) {
        h->cfg.max_response_body = 6291456 + 65536;
    }
    if (h->cfg.default_timeout_ms == 0) {
        h->cfg.default_timeout_ms = 60000;
    }
    h->kick = net_timer_new(r, on_kick, h);
    h->deliver = net_timer_new(r, on_deliver, h);
    return h;
}

// http_teardown closes every connection and drops every request and undelivered result.
static void http_teardown(struct net_http *h)
{
    while (h->conns != NULL) {
        struct hconn *c = h->conns;
        c->req = NULL;
        http_conn_free(c);
    }
    while (h->reqs != NULL) {
        struct hreq *q = h->reqs;
        h->reqs = q->next;
        req_free(q);
    }
    while (h->done_head != NULL) {
        struct done_item *d = h->done_head;
        h->done_head = d->next;
        done_item_free(d);
    }
    h->done_tail = NULL;
}

static void http_destroy(struct net_http *h)
{
    http_teardown(h);
    net_timer_free(h->kick);
    net_timer_free(h->deliver);
    free(h);
}

void net_http_free(struct net_http *h)
{
    if (h == NULL) {
        return;
    }
    if (h->delivering) {
        // Called from a callback: stop everything now, free the struct when it returns.
        http_teardown(h);
        net_timer_cancel(h->kick);
        h->free_requested = true;
        return;
    }
    http_destroy(h);
}

int net_http_request(struct net_http *h, const struct net_http_request *req, net_http_done_fn *done,
                     void *ctx, uint64_t *out_id, char *err, size_t err_len)
{
    struct hreq *q = xcalloc(1, sizeof *q);
    if (net_http_url_parse(&q->url, req->url, err, err_len) != 0) {
        free(q);
        return -1;
    }
    if (q->url.tls && h->cfg.tls == NULL) {
        snprintf(err, err_len, "https URL but no TLS configuration");
        free(q);
        return -1;
    }
    if (net_http_wire(&q->wire, &q->wire_len, &q->url, req, err, err_len) != 0) {
        free(q);
        return -1;
    }
    snprintf(q->method, sizeof q->method, "%s", req->method);
    q->head = strcmp(req->method, "HEAD") == 0;
    q->h = h;
    q->id = ++h->next_id;
    q->done = done;
    q->ctx = ctx;
    q->timeout_ms = req->timeout_ms ? req->timeout_ms : h->cfg.default_timeout_ms;
    q->start_ms = net_reactor_now_ms(h->reactor);
    q->timer = net_timer_new(h->reactor, on_req_timeout, q);
    net_timer_arm(q->timer, q->timeout_ms);
    // Append (requests start in submission order).
    struct hreq **pp = &h->reqs;
    while (*pp != NULL) {
        pp = &(*pp)->next;
    }
    *pp = q;
    h->stats.requests++;
    http_kick(h);
    *out_id = q->id;
    return 0;
}

int net_http_cancel(struct net_http *h, uint64_t id)
{
    for (struct hreq *q = h->reqs; q != NULL; q = q->next) {
        if (q->id == id) {
            if (q->conn != NULL) {
                struct hconn *c = q->conn;
                c->req = NULL;
                http_conn_free(c);
            }
            req_unlink(q);
            req_free(q);
            return 0;
        }
    }
    for (struct done_item **pp = &h->done_head; *pp != NULL; pp = &(*pp)->next) {
        struct done_item *d = *pp;
        if (d->id == id) {
            *pp = d->next;
            if (h->done_tail == d) {
                h->done_tail = NULL;
                for (struct done_item *t = h->done_head; t != NULL; t = t->next) {
                    h->done_tail = t;
                }
            }
            done_item_free(d);
            return 0;
        }
    }
    return -1;
}

int net_http_request_sent(const struct net_http *h, uint64_t id)
{
    for (const struct hreq *q = h->reqs; q != NULL; q = q->next) {
        if (q->id == id) {
            return q->sent ? 1 : 0;
        }
    }
    return -1;
}

void net_http_get_stats(const struct net_http *h, struct net_http_stats *out)
{
    *out = h->stats;
    out->idle_connections = 0;
    for (const struct hconn *c = h->conns; c != NULL; c = c->next) {
        out->idle_connections += c->state == CS_IDLE;
    }
}
