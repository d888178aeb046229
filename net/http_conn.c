// http_conn.c: one connection of the HTTP client's pool (see http.h): dialled through net/dial,
// sending one request at a time, reading the response through net/http_parse, going back to the
// pool idle or closing, and the keep-alive race retry.
#include "base/alloc.h"
#include "base/log.h"
#include "net/dial.h"
#include "net/http_int.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- connections ------------------------------------------------------------------------------

static void conn_unlink(struct hconn *c)
{
    for (struct hconn **pp = &c->h->conns; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
}

void http_kick(struct net_http *h);

// kick_if_waiting re-runs the assignment when a request waits for a connection.
static void kick_if_waiting(struct net_http *h)
{
    for (const struct hreq *q = h->reqs; q != NULL; q = q->next) {
        if (q->conn == NULL) {
            http_kick(h);
            return;
        }
    }
}

// conn_free closes |c| without touching its request (the caller detached or finished it).
void http_conn_free(struct hconn *c)
{
    struct net_http *h = c->h;
    conn_unlink(c);
    if (c->req != NULL) {
        c->req->conn = NULL;
    }
    net_dial_cancel(c->dial);
    if (c->bev != NULL) {
        bufferevent_free(c->bev);
    }
    net_timer_free(c->timer);
    net_http_parser_cleanup(&c->parser);
    free(c);
    kick_if_waiting(h);
}

void http_kick(struct net_http *h)
{
    net_timer_arm(h->kick, 0);
}

// conn_fail ends the request on |c| with an error (or, for the keep-alive race, puts it back in
// the queue) and frees the connection.
__attribute__((format(printf, 4, 5))) static void
conn_fail(struct hconn *c, enum net_http_err e, enum net_tls_fail tf, const char *fmt, ...)
{
    struct hreq *q = c->req;
    char msg[500];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bool started = c->parser.in_total > 0;
    bool stale =
        q != NULL && c->served > 0 && !started && e == NET_HTTP_ERR_DISCONNECTED && !q->retried;
    c->req = NULL;
    http_conn_free(c);
    if (q == NULL) {
        return;
    }
    q->conn = NULL;
    if (stale) {
        kesm_log(KESM_LOG_DEBUG, q->h->log,
                 "%s: kept-alive connection was closed (%s); retrying on "
                 "a new connection",
                 q->url.host_header, msg);
        q->retried = true;
        q->sent = false;
        q->h->stats.stale_retries++;
        http_kick(q->h);
        return;
    }
    char full[800];
    snprintf(full, sizeof full, "%s://%s: %s", q->url.tls ? "https" : "http", q->url.host_header,
             msg);
    struct net_http_response r = {
        .err = e, .tls_fail = tf, .error = full, .status = -1, .response_started = started};
    http_finish(q, &r);
}

void http_conn_send(struct hconn *c)
{
    struct hreq *q = c->req;
    net_http_parser_cleanup(&c->parser);
    struct net_http_parse_limits lim = {.max_head = c->h->cfg.max_response_head,
                                        .max_body = c->h->cfg.max_response_body};
    net_http_parser_init(&c->parser, &lim, q->head);
    c->state = CS_ACTIVE;
    net_timer_cancel(c->timer);
    bufferevent_write(c->bev, q->wire, q->wire_len);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void conn_to_idle(struct hconn *c)
{
    size_t idle = 0;
    for (struct hconn *o = c->h->conns; o != NULL; o = o->next) {
        if (o != c && o->state == CS_IDLE && o->tls == c->tls && o->port == c->port &&
            strcmp(o->host, c->host) == 0) {
            idle++;
        }
    }
    if (idle >= c->h->cfg.max_idle_per_origin) {
        http_conn_free(c);
        return;
    }
    c->state = CS_IDLE;
    net_timer_arm(c->timer, c->h->cfg.idle_timeout_ms);
    kick_if_waiting(c->h);
}

// response_done completes the request on |c| with the parsed response.
static void response_done(struct hconn *c, size_t leftover)
{
    struct hreq *q = c->req;
    struct net_http_parser *p = &c->parser;
    c->req = NULL;
    q->conn = NULL;
    c->served++;
    if (leftover > 0) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "%zu unexpected bytes after the end of the response (body longer than its "
                 "Content-Length?)",
                 leftover);
        http_conn_free(c);
        http_finish_err(q, NET_HTTP_ERR_PROTOCOL, NET_TLS_FAIL_NONE, "%s://%s: %s",
                        q->url.tls ? "https" : "http", q->url.host_header, msg);
        return;
    }
    // A server may answer before reading the whole request (e.g. 413 on a large body); the rest
    // of our body would then be read as a new request, so such a connection is not reused.
    bool keep = p->keep_alive && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
    struct net_http_response r = {
        .err = NET_HTTP_OK,
        .status = p->status,
        .reason = p->reason,
        .headers = p->fields,
        .num_headers = p->num_fields,
        .body = p->body,
        .body_len = p->body_len,
        .response_started = true,
    };
    http_finish_parsed(q, &r, p); // takes the parser's buffers; c's parser is left empty
    if (keep) {
        conn_to_idle(c);
    } else {
        http_conn_free(c);
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct hconn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (c->req == NULL) {
        // Idle: a server does not talk unasked. Whatever it is, this connection is done.
        kesm_log(KESM_LOG_DEBUG, c->h->log,
                 "%s: %zu unsolicited bytes on an idle connection; closed", c->origin,
                 evbuffer_get_length(in));
        http_conn_free(c);
        return;
    }
    while (evbuffer_get_length(in) > 0) {
        size_t n = evbuffer_get_contiguous_space(in);
        const char *d = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
        size_t used = 0;
        enum net_http_parse_status st = net_http_parser_feed(&c->parser, d, n, &used);
        evbuffer_drain(in, used);
        if (st == NET_HTTP_PARSE_DONE) {
            response_done(c, evbuffer_get_length(in));
            return;
        }
        if (st == NET_HTTP_PARSE_MALFORMED || st == NET_HTTP_PARSE_LIMIT) {
            conn_fail(c,
                      st == NET_HTTP_PARSE_LIMIT ? NET_HTTP_ERR_TOO_LARGE : NET_HTTP_ERR_PROTOCOL,
                      NET_TLS_FAIL_NONE, "bad response: %s", c->parser.err);
            return;
        }
    }
}

static void on_write(struct bufferevent *bev, void *arg)
{
    struct hconn *c = arg;
    if (c->req != NULL && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        c->req->sent = true;
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct hconn *c = arg;
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
        return;
    }
    int sock_err = EVUTIL_SOCKET_ERROR();
    if (c->req == NULL) {
        http_conn_free(c); // an idle connection closed by the server
        return;
    }
    char msg[400];
    enum net_tls_fail tf = NET_TLS_FAIL_NONE;
    if (c->tls) {
        tf = net_tls_explain(bev, c->h->cfg.tls, c->host, false, msg, sizeof msg);
    }
    if (tf != NET_TLS_FAIL_NONE) {
        conn_fail(c, NET_HTTP_ERR_TLS, tf, "%s", msg);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        enum net_http_parse_status st = net_http_parser_eof(&c->parser);
        if (st == NET_HTTP_PARSE_DONE) {
            response_done(c, 0);
        } else {
            conn_fail(c, NET_HTTP_ERR_DISCONNECTED, NET_TLS_FAIL_NONE, "%s", c->parser.err);
        }
        return;
    }
    conn_fail(c, NET_HTTP_ERR_DISCONNECTED, NET_TLS_FAIL_NONE, "connection error: %s",
              evutil_socket_error_to_string(sock_err));
}

// ---- connecting (net/dial) -------------------------------------------------------------------

static void on_dial_resolved(void *ctx)
{
    struct hconn *c = ctx;
    c->state = CS_CONNECTING;
}

static void on_dial_tcp(void *ctx)
{
    struct hconn *c = ctx;
    c->h->stats.connections_opened++;
    if (c->tls) {
        c->state = CS_HANDSHAKE;
    }
}

static void on_dial_done(void *ctx, const struct net_dial_outcome *o)
{
    struct hconn *c = ctx;
    c->dial = NULL; // the dial frees itself
    switch (o->err) {
    case NET_DIAL_OK:
        c->bev = o->bev;
        bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
        http_conn_send(c);
        return;
    case NET_DIAL_RESOLVE:
        conn_fail(c, NET_HTTP_ERR_RESOLVE, NET_TLS_FAIL_NONE, "%s", o->msg);
        return;
    case NET_DIAL_CONNECT:
        conn_fail(c, NET_HTTP_ERR_CONNECT, NET_TLS_FAIL_NONE, "cannot connect (%s)", o->msg);
        return;
    case NET_DIAL_TLS:
        conn_fail(c, NET_HTTP_ERR_TLS, o->tls_fail, "%s", o->msg);
        return;
    }
}

static void on_conn_timer(void *arg)
{
    struct hconn *c = arg;
    if (c->state == CS_IDLE) {
        http_conn_free(c);
    }
}

// conn_open makes a connection for |q| and starts dialling it (callbacks come later).
void http_conn_open(struct net_http *h, struct hreq *q)
{
    struct hconn *c = xcalloc(1, sizeof *c);
    c->h = h;
    c->tls = q->url.tls;
    c->port = q->url.port;
    snprintf(c->host, sizeof c->host, "%s", q->url.host);
    snprintf(c->origin, sizeof c->origin, "%s://%s", c->tls ? "https" : "http", q->url.host_header);
    c->timer = net_timer_new(h->reactor, on_conn_timer, c);
    net_http_parser_init(&c->parser, NULL, false);
    c->next = h->conns;
    h->conns = c;
    c->req = q;
    q->conn = c;
    c->state = CS_RESOLVING;
    struct net_dial_config dc = {.tls = c->tls ? h->cfg.tls : NULL,
                                 .connect_timeout_ms = h->cfg.connect_timeout_ms,
                                 .tls_timeout_ms = h->cfg.connect_timeout_ms,
                                 .log = h->log,
                                 .name = c->origin};
    struct net_dial_callbacks cb = {on_dial_resolved, on_dial_tcp, on_dial_done, c};
    c->dial = net_dial_start(h->reactor, c->host, c->port, &dc, &cb);
}
