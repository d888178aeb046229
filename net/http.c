// http.c: the asynchronous HTTP/1.1 client (see http.h): request bytes, the per-origin
// keep-alive pool, connection setup (resolve, connect each address, TLS), response reading
// through net/http_parse, timeouts and the keep-alive race retry.
#include "net/http.h"

#include "net/http_int.h"
#include "net/http_parse.h"
#include "net/internal.h"
#include "net/log.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

enum cstate {
    CS_RESOLVING,
    CS_CONNECTING,
    CS_HANDSHAKE,
    CS_ACTIVE,
    CS_IDLE,
};

struct hreq;
struct hconn;

struct hconn {
    struct net_http *h;
    struct hconn *next;
    bool tls;
    uint16_t port;
    char host[256];
    char origin[300]; // "https://host:port" for messages
    enum cstate state;
    struct net_lookup dns;
    int fd;
    struct event *connect_ev;
    struct net_timer *timer; // connect / handshake / idle
    struct bufferevent *bev;
    struct hreq *req;
    unsigned served;
    struct net_http_parser parser;
    char errs[400];
};

struct hreq {
    struct net_http *h;
    struct hreq *next;
    uint64_t id;
    net_http_done_fn *done;
    void *ctx;
    struct net_http_url url;
    char method[NET_HTTP_METHOD_MAX + 1];
    char *wire;
    size_t wire_len;
    bool head, sent, retried, reused;
    uint32_t timeout_ms;
    uint64_t start_ms;
    struct net_timer *timer;
    struct hconn *conn;
};

// done_item: a finished request waiting for its callback (delivered from the reactor by
// on_deliver, so no callback ever runs inside the client's own bookkeeping).
struct done_item {
    struct done_item *next;
    net_http_done_fn *done;
    void *ctx;
    uint64_t id;
    struct net_http_response resp;
    struct net_http_parser parser; // owns the head and body resp points into
    char *error;                   // owns resp.error
};

struct net_http {
    struct net_reactor *reactor;
    struct net_http_config cfg;
    char log[KESM_LOG_COMPONENT_CAP]; // log component: "http" or "http <log_tag>"
    struct hconn *conns;
    struct hreq *reqs;
    uint64_t next_id;
    struct net_timer *kick;
    struct net_timer *deliver;
    struct done_item *done_head, *done_tail;
    bool delivering;     // inside on_deliver
    bool free_requested; // net_http_free was called from a callback
    struct net_http_stats stats;
};

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

static void conn_free(struct hconn *c);

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
static void finish_parsed(struct hreq *q, struct net_http_response *resp,
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

static void finish(struct hreq *q, struct net_http_response *resp)
{
    finish_parsed(q, resp, NULL);
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

__attribute__((format(printf, 4, 5))) static void
finish_err(struct hreq *q, enum net_http_err e, enum net_tls_fail tf, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct net_http_response r = {.err = e, .tls_fail = tf, .error = msg, .status = -1};
    finish(q, &r);
}

// ---- connections ------------------------------------------------------------------------------

static void conn_close_attempt(struct hconn *c)
{
    if (c->connect_ev != NULL) {
        event_free(c->connect_ev);
        c->connect_ev = NULL;
    }
    if (c->fd >= 0) {
        evutil_closesocket(c->fd);
        c->fd = -1;
    }
}

static void conn_cancel_resolve(struct hconn *c)
{
    net_lookup_cancel(&c->dns);
}

static void conn_unlink(struct hconn *c)
{
    for (struct hconn **pp = &c->h->conns; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
}

static void kick(struct net_http *h);

// kick_if_waiting re-runs the assignment when a request waits for a connection.
static void kick_if_waiting(struct net_http *h)
{
    for (const struct hreq *q = h->reqs; q != NULL; q = q->next) {
        if (q->conn == NULL) {
            kick(h);
            return;
        }
    }
}

// conn_free closes |c| without touching its request (the caller detached or finished it).
static void conn_free(struct hconn *c)
{
    struct net_http *h = c->h;
    conn_unlink(c);
    if (c->req != NULL) {
        c->req->conn = NULL;
    }
    conn_cancel_resolve(c);
    conn_close_attempt(c);
    if (c->bev != NULL) {
        bufferevent_free(c->bev);
    }
    net_timer_free(c->timer);
    net_http_parser_cleanup(&c->parser);
    free(c);
    kick_if_waiting(h);
}

static void kick(struct net_http *h)
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
    conn_free(c);
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
        kick(q->h);
        return;
    }
    char full[800];
    snprintf(full, sizeof full, "%s://%s: %s", q->url.tls ? "https" : "http", q->url.host_header,
             msg);
    struct net_http_response r = {
        .err = e, .tls_fail = tf, .error = full, .status = -1, .response_started = started};
    finish(q, &r);
}

static void conn_send(struct hconn *c)
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
        conn_free(c);
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
        conn_free(c);
        finish_err(q, NET_HTTP_ERR_PROTOCOL, NET_TLS_FAIL_NONE, "%s://%s: %s",
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
    finish_parsed(q, &r, p); // takes the parser's buffers; c's parser is left empty
    if (keep) {
        conn_to_idle(c);
    } else {
        conn_free(c);
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
        conn_free(c);
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
    if (what & BEV_EVENT_CONNECTED) {
        if (c->state == CS_HANDSHAKE) {
            net_tls_log_session(bev, c->h->log, c->origin);
            conn_send(c);
        }
        return;
    }
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
        return;
    }
    int sock_err = EVUTIL_SOCKET_ERROR();
    if (c->req == NULL) {
        conn_free(c); // an idle connection closed by the server
        return;
    }
    char msg[400];
    enum net_tls_fail tf = NET_TLS_FAIL_NONE;
    if (c->tls) {
        tf =
            net_tls_explain(bev, c->h->cfg.tls, c->host, c->state == CS_HANDSHAKE, msg, sizeof msg);
    }
    if (tf != NET_TLS_FAIL_NONE) {
        conn_fail(c, NET_HTTP_ERR_TLS, tf, "%s", msg);
        return;
    }
    if (c->state == CS_HANDSHAKE) {
        conn_fail(c, NET_HTTP_ERR_TLS, NET_TLS_PROTOCOL, "TLS handshake failed: %s",
                  (what & BEV_EVENT_EOF) ? "connection closed by the server"
                                         : evutil_socket_error_to_string(sock_err));
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

static void connect_next(struct hconn *c);

static void note_addr_error(struct hconn *c, const char *why)
{
    char a[64] = "?";
    const struct sockaddr *sa = c->dns.ai_cur->ai_addr;
    const void *ap = sa->sa_family == AF_INET6
                         ? (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr
                         : (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    evutil_inet_ntop(sa->sa_family, ap, a, sizeof a);
    size_t n = strlen(c->errs);
    snprintf(c->errs + n, sizeof c->errs - n, "%s%s: %s", n ? "; " : "", a, why);
    conn_close_attempt(c);
    c->dns.ai_cur = c->dns.ai_cur->ai_next;
}

static void connected(struct hconn *c)
{
    evutil_socket_t fd = c->fd;
    c->fd = -1;
    event_free(c->connect_ev);
    c->connect_ev = NULL;
    c->h->stats.connections_opened++;
    struct event_base *base = net_reactor_base(c->h->reactor);
    char err[200];
    if (c->tls) {
        c->bev = net_tls_bev_new(base, fd, c->h->cfg.tls, c->host, c->h->log, err, sizeof err);
    } else {
        c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (c->bev == NULL) {
            evutil_closesocket(fd);
            snprintf(err, sizeof err, "cannot create a connection object");
        }
    }
    if (c->bev == NULL) {
        conn_fail(c, c->tls ? NET_HTTP_ERR_TLS : NET_HTTP_ERR_CONNECT, NET_TLS_PROTOCOL, "%s", err);
        return;
    }
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    if (c->tls) {
        c->state = CS_HANDSHAKE;
        bufferevent_enable(c->bev, EV_READ | EV_WRITE);
        net_timer_arm(c->timer, c->h->cfg.connect_timeout_ms);
    } else {
        conn_send(c);
    }
}

static void on_connect_ev(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct hconn *c = arg;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
        soerr = errno;
    }
    if (soerr != 0) {
        note_addr_error(c, strerror(soerr));
        connect_next(c);
    } else {
        connected(c);
    }
}

static bool start_connect(struct hconn *c, const struct evutil_addrinfo *ai)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
        return false;
    }
    c->fd = fd;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        return false;
    }
    c->connect_ev = event_new(net_reactor_base(c->h->reactor), fd, EV_WRITE, on_connect_ev, c);
    if (c->connect_ev == NULL || event_add(c->connect_ev, NULL) != 0) {
        return false;
    }
    c->state = CS_CONNECTING;
    net_timer_arm(c->timer, c->h->cfg.connect_timeout_ms);
    return true;
}

// connect_next tries the remaining addresses; when none is left the request fails.
static void connect_next(struct hconn *c)
{
    while (c->dns.ai_cur != NULL) {
        if (start_connect(c, c->dns.ai_cur)) {
            return;
        }
        note_addr_error(c, strerror(errno));
    }
    char errs[sizeof c->errs];
    memcpy(errs, c->errs, sizeof errs);
    conn_fail(c, NET_HTTP_ERR_CONNECT, NET_TLS_FAIL_NONE, "cannot connect (%s)", errs);
}

static void resolved(struct hconn *c)
{
    if (c->dns.err != 0 || c->dns.ai == NULL) {
        conn_fail(c, NET_HTTP_ERR_RESOLVE, NET_TLS_FAIL_NONE, "cannot resolve \"%s\": %s", c->host,
                  c->dns.err ? evutil_gai_strerror(c->dns.err) : "no address");
        return;
    }
    c->dns.ai_cur = c->dns.ai;
    connect_next(c);
}

// on_resolved is an answer that came after the lookup was started.
static void on_resolved(void *arg)
{
    resolved(arg);
}

static void on_conn_timer(void *arg)
{
    struct hconn *c = arg;
    switch (c->state) {
    case CS_CONNECTING:
        note_addr_error(c, "connect timed out");
        connect_next(c);
        return;
    case CS_HANDSHAKE:
        conn_fail(c, NET_HTTP_ERR_TLS, NET_TLS_HANDSHAKE_TIMEOUT,
                  "TLS handshake timed out after %u ms", c->h->cfg.connect_timeout_ms);
        return;
    case CS_IDLE:
        conn_free(c);
        return;
    case CS_RESOLVING:
    case CS_ACTIVE:
        return;
    }
}

// conn_open makes a connection for |q| and starts resolving; it may finish |q| synchronously.
static void conn_open(struct net_http *h, struct hreq *q)
{
    struct hconn *c = xcalloc(1, sizeof *c);
    c->h = h;
    c->fd = -1;
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
    if (net_lookup_start(&c->dns, h->reactor, c->host, c->port, on_resolved, c)) {
        resolved(c);
    }
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
                conn_send(c);
            } else if (h->cfg.max_conns_per_origin == 0 ||
                       origin_conns(h, &q->url) < h->cfg.max_conns_per_origin) {
                q->reused = false;
                conn_open(h, q); // may finish q at once: the list changed, start over
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
        conn_free(c);
    }
    char msg[500];
    snprintf(msg, sizeof msg, "%s://%s: timed out after %u ms %s", q->url.tls ? "https" : "http",
             q->url.host_header, q->timeout_ms, where);
    struct net_http_response r = {
        .err = NET_HTTP_ERR_TIMEOUT, .error = msg, .status = -1, .response_started = started};
    finish(q, &r);
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
        conn_free(c);
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
    kick(h);
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
                conn_free(c);
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
