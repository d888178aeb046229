// httpd.c: the bounded HTTP/1.1 server of kesm serve's API (see httpd.h).
#include "net/httpd.h"

#include "base/alloc.h"
#include "base/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define OUTPUT_PAUSE_BYTES (256u * 1024u)
// DEFERRED_DEADLINE_MS: how long a deferred answer may take before the connection is closed.
#define DEFERRED_DEADLINE_MS 120000u
#define ACCEPT_PAUSE_MS 250
#define LOG_BURST 5 // lines per kind per second

enum phase {
    PH_REQUEST, // waiting for, or reading, a request (head or body)
    PH_IDLE,    // keep-alive: a response was sent, nothing of the next request yet
    PH_CLOSING, // the last response is being flushed
    PH_WAITING, // the handler deferred its answer (net_httpd_defer): nothing is read meanwhile
};

enum log_kind {
    LOG_ACCEPT,
    LOG_REFUSED,
    LOG_BAD,
    LOG_TIMEOUT,
    LOG_KINDS,
};

struct ratelog {
    uint64_t window_ms;
    unsigned lines;
    unsigned suppressed;
};

struct hconn {
    struct hconn *prev, *next; // accept order, oldest first
    struct net_httpd *s;
    struct bufferevent *bev;
    struct event *timer;
    struct sockaddr_storage addr;
    struct sockaddr_storage local;
    struct net_httpd_parser p;
    enum phase phase;
    uint64_t since_ms; // when the current request (or idle period) began
    bool got_bytes;    // some of the current request arrived
    bool output_paused;
    struct net_httpd_deferred *deferred; // the answer the handler owes (PH_WAITING)
};

// struct net_httpd_deferred: an answer owed by its owner; |c| is NULL once the connection is gone.
struct net_httpd_deferred {
    struct hconn *c;
};

struct net_httpd {
    struct net_httpd_config cfg;
    struct event_base *base;
    struct evconnlistener *lev;
    struct event *resume_ev; // re-enables the listener after an accept failure
    struct hconn *head, *tail;
    uint16_t port;
    char log[KESM_LOG_COMPONENT_CAP];
    struct ratelog rl[LOG_KINDS];
    struct net_httpd_stats st;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

__attribute__((format(printf, 3, 4))) static void rlog(struct net_httpd *s, enum log_kind k,
                                                       const char *fmt, ...)
{
    struct ratelog *r = &s->rl[k];
    uint64_t now = now_ms();
    if (now - r->window_ms >= 1000) {
        if (r->suppressed > 0) {
            kesm_log(KESM_LOG_WARN, s->log, "%u similar log lines suppressed in the last second",
                     r->suppressed);
        }
        r->window_ms = now;
        r->lines = 0;
        r->suppressed = 0;
    }
    if (r->lines >= LOG_BURST) {
        r->suppressed++;
        return;
    }
    r->lines++;
    va_list ap;
    va_start(ap, fmt);
    kesm_vlog(KESM_LOG_WARN, s->log, fmt, ap);
    va_end(ap);
}

// ---- responses ---------------------------------------------------------------------------

void net_httpd_response_header(struct net_httpd_response *r, const char *name, const char *value)
{
    r->headers = xrealloc(r->headers, (r->num_headers + 1) * sizeof *r->headers);
    r->headers[r->num_headers].name = xstrdup(name);
    r->headers[r->num_headers].value = xstrdup(value);
    r->num_headers++;
}

void net_httpd_response_body(struct net_httpd_response *r, const char *body, size_t len)
{
    char *b = xmalloc(len + 1);
    if (len > 0) {
        memcpy(b, body, len);
    }
    b[len] = '\0';
    net_httpd_response_body_take(r, b, len);
}

void net_httpd_response_body_take(struct net_httpd_response *r, char *body, size_t len)
{
    free(r->body);
    r->body = body;
    r->body_len = len;
}

struct net_httpd_deferred *net_httpd_defer(struct net_httpd_response *r)
{
    if (!r->deferred) {
        r->deferred = xcalloc(1, sizeof *r->deferred);
    }
    return r->deferred;
}

static void response_cleanup(struct net_httpd_response *r)
{
    for (size_t i = 0; i < r->num_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

static const char *reason(int status)
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
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status >= 500 ? "Internal Server Error" : status >= 400 ? "Bad Request" : "OK";
    }
}

// serialize appends the status line, headers and body of |r| (not for HEAD) to |out|.
static void serialize(struct evbuffer *out, const struct net_httpd_response *r, bool head)
{
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", r->status, reason(r->status));
    for (size_t i = 0; i < r->num_headers; i++) {
        evbuffer_add_printf(out, "%s: %s\r\n", r->headers[i].name, r->headers[i].value);
    }
    evbuffer_add_printf(out, "Content-Length: %zu\r\n", r->body_len);
    if (r->close) {
        evbuffer_add(out, "Connection: close\r\n", 19);
    }
    evbuffer_add(out, "\r\n", 2);
    if (r->body_len > 0 && !head) {
        evbuffer_add(out, r->body, r->body_len);
    }
}

static void error_response(struct net_httpd *s, int status, const char *msg,
                           struct net_httpd_response *r)
{
    r->status = status;
    r->close = true;
    if (s->cfg.error != NULL) {
        s->cfg.error(s->cfg.ctx, status, msg, r);
        r->status = status;
        r->close = true;
        return;
    }
    char body[400];
    int n = snprintf(body, sizeof body, "{\"message\":\"%s\"}", msg);
    net_httpd_response_header(r, "Content-Type", "application/json");
    net_httpd_response_body(r, body, n > 0 && (size_t)n < sizeof body ? (size_t)n : 0);
}

// ---- connections ---------------------------------------------------------------------------

static void conn_free(struct hconn *c)
{
    struct net_httpd *s = c->s;
    if (c->deferred) {
        c->deferred->c = NULL; // its owner still finishes it, into the void
    }
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        s->head = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    } else {
        s->tail = c->prev;
    }
    s->st.open--;
    if (c->timer) {
        event_free(c->timer);
    }
    if (c->bev) {
        // Close the socket now: libevent finalizes a freed bufferevent (and would close it) only
        // on a later loop turn, and a burst of evictions must not pile up descriptors.
        evutil_socket_t fd = bufferevent_getfd(c->bev);
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
        bufferevent_setfd(c->bev, -1);
        if (fd >= 0) {
            evutil_closesocket(fd);
        }
        bufferevent_free(c->bev);
    }
    net_httpd_parser_cleanup(&c->p);
    free(c);
}

static void arm(struct hconn *c, uint32_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(c->timer, &tv);
}

static void begin_request(struct hconn *c)
{
    c->phase = PH_REQUEST;
    c->since_ms = now_ms();
    c->got_bytes = false;
    arm(c, c->s->cfg.header_timeout_ms);
}

static void begin_idle(struct hconn *c)
{
    c->phase = PH_IDLE;
    c->since_ms = now_ms();
    c->got_bytes = false;
    arm(c, c->s->cfg.idle_timeout_ms);
}

// begin_closing stops reading; on_write closes once the response (always some bytes) is
// flushed, or the timer at the write deadline.
static void begin_closing(struct hconn *c)
{
    c->phase = PH_CLOSING;
    bufferevent_disable(c->bev, EV_READ);
    arm(c, c->s->cfg.write_timeout_ms);
}

static void send_response(struct hconn *c, struct net_httpd_response *r)
{
    bool head = c->p.head_done && c->p.method && !strcmp(c->p.method, "HEAD");
    serialize(bufferevent_get_output(c->bev), r, head);
    bool close = r->close;
    response_cleanup(r);
    net_httpd_parser_reset(&c->p);
    if (close) {
        begin_closing(c);
        return;
    }
    begin_idle(c);
}

static void handle(struct hconn *c)
{
    struct net_httpd *s = c->s;
    struct net_httpd_response r = {.status = 500};
    struct net_httpd_peer peer = {(const struct sockaddr *)&c->addr,
                                  (const struct sockaddr *)&c->local};
    s->st.requests++;
    s->cfg.handler(s->cfg.ctx, &c->p, &peer, &r);
    if (r.deferred) {
        // The owner answers later (net_httpd_deferred_finish); meanwhile nothing more is read
        // from this connection, and a safety deadline closes it if the answer never comes.
        struct net_httpd_deferred *d = r.deferred;
        response_cleanup(&r);
        c->deferred = d;
        c->deferred->c = c;
        c->phase = PH_WAITING;
        arm(c, DEFERRED_DEADLINE_MS);
        return;
    }
    if (!c->p.keep_alive) {
        r.close = true;
    }
    send_response(c, &r);
}

static void refuse(struct hconn *c, int status, const char *msg)
{
    struct net_httpd_response r = {0};
    error_response(c->s, status, msg, &r);
    send_response(c, &r);
}

// process parses and answers what has arrived. |c| may be closing afterwards, never freed.
static void process(struct hconn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (c->phase != PH_CLOSING && c->phase != PH_WAITING && !c->output_paused &&
           evbuffer_get_length(in) > 0) {
        if (c->phase == PH_IDLE) {
            begin_request(c);
        }
        c->got_bytes = true;
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) {
            break;
        }
        bool head_before = c->p.head_done;
        size_t used = 0;
        enum net_httpd_parse_status st = net_httpd_parse(&c->p, v.iov_base, v.iov_len, &used);
        evbuffer_drain(in, used);
        if (st == NET_HTTPD_PARSE_ERROR) {
            c->s->st.bad_requests++;
            rlog(c->s, LOG_BAD, "refused a request (%d): %s", c->p.err_status, c->p.err);
            char msg[sizeof c->p.err];
            snprintf(msg, sizeof msg, "%s", c->p.err);
            refuse(c, c->p.err_status, msg);
            return;
        }
        if (!head_before && c->p.head_done) {
            arm(c, c->s->cfg.body_timeout_ms);
            if (c->p.expect_continue && st == NET_HTTPD_PARSE_MORE) {
                evbuffer_add(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
            }
        }
        if (st == NET_HTTPD_PARSE_DONE) {
            handle(c);
            if (c->phase != PH_CLOSING &&
                evbuffer_get_length(bufferevent_get_output(c->bev)) > OUTPUT_PAUSE_BYTES) {
                c->output_paused = true; // resumed by on_write once the client read it
                bufferevent_disable(c->bev, EV_READ);
            }
        }
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    process(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct hconn *c = arg;
    if (c->phase == PH_CLOSING) {
        conn_free(c);
        return;
    }
    if (c->output_paused && c->phase != PH_WAITING) {
        c->output_paused = false;
        bufferevent_enable(c->bev, EV_READ);
        process(c);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct hconn *c = arg;
    // A client that half-closes after its request still gets the answer already queued.
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
        evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
        begin_closing(c);
        return;
    }
    conn_free(c); // EOF or error with nothing to send: nothing more can be answered
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hconn *c = arg;
    struct net_httpd *s = c->s;
    if (c->phase == PH_REQUEST && c->got_bytes) {
        s->st.timed_out++;
        rlog(s, LOG_TIMEOUT, "closed a connection that did not send its request in time");
        refuse(c, 408,
               c->p.head_done ? "the request body did not arrive in time"
                              : "the request head did not arrive in time");
        return;
    }
    if (c->phase == PH_REQUEST || c->phase == PH_WAITING) {
        s->st.timed_out++;
    }
    conn_free(c); // idle, silent, not reading its response, or never answered
}

// make_room closes one connection to admit a new one: the oldest idle keep-alive connection,
// else the oldest one slower than pressure_ms with its request. Returns false if none qualifies.
static bool make_room(struct net_httpd *s)
{
    for (struct hconn *c = s->head; c; c = c->next) {
        if (c->phase == PH_IDLE) {
            s->st.evicted++;
            conn_free(c);
            return true;
        }
    }
    uint64_t now = now_ms();
    for (struct hconn *c = s->head; c; c = c->next) {
        if (c->phase == PH_REQUEST && now - c->since_ms >= s->cfg.pressure_ms) {
            s->st.evicted++;
            conn_free(c);
            return true;
        }
    }
    return false;
}

// reject answers a connection over the cap with the error hook's 429 and closes it, without
// reading: one small non-blocking send into an empty socket buffer.
static void reject(struct net_httpd *s, evutil_socket_t fd)
{
    struct net_httpd_response r = {0};
    error_response(s, 429, "too many connections to the kesm serve API; retry later", &r);
    net_httpd_response_header(&r, "Retry-After", "1");
    struct evbuffer *b = evbuffer_new();
    if (b != NULL) {
        serialize(b, &r, false);
        size_t n = evbuffer_get_length(b);
        const void *p = evbuffer_pullup(b, (ev_ssize_t)n);
        if (p != NULL) {
            (void)send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        evbuffer_free(b);
    }
    response_cleanup(&r);
    evutil_closesocket(fd);
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)lev;
    struct net_httpd *s = arg;
    if (s->st.open >= s->cfg.max_conns && !make_room(s)) {
        s->st.refused++;
        rlog(s, LOG_REFUSED, "%zu connections open (the limit): answered 429", s->st.open);
        reject(s, fd);
        return;
    }
    struct hconn *c = xcalloc(1, sizeof *c);
    c->s = s;
    if (salen > 0 && (size_t)salen <= sizeof c->addr) {
        memcpy(&c->addr, sa, (size_t)salen);
    }
    socklen_t ll = sizeof c->local;
    if (getsockname(fd, (struct sockaddr *)&c->local, &ll) != 0) {
        memset(&c->local, 0, sizeof c->local);
    }
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(s->base, on_timer, c);
    if (c->bev == NULL || c->timer == NULL) {
        if (c->bev == NULL) {
            evutil_closesocket(fd);
        }
        if (c->timer) {
            event_free(c->timer);
        }
        if (c->bev) {
            bufferevent_free(c->bev);
        }
        free(c);
        return;
    }
    net_httpd_parser_init(&c->p, &s->cfg.limits);
    c->prev = s->tail;
    if (s->tail) {
        s->tail->next = c;
    } else {
        s->head = c;
    }
    s->tail = c;
    s->st.open++;
    s->st.accepted++;
    if (s->st.open > s->st.peak_open) {
        s->st.peak_open = s->st.open;
    }
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, 64u * 1024u);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    begin_request(c);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct net_httpd *s = arg;
    evconnlistener_enable(s->lev);
}

// on_accept_error: accept() failed for a reason other than EAGAIN/EINTR/ECONNABORTED (libevent
// retries those itself). The listening socket stays readable, so keep going would spin: pause.
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
    struct net_httpd *s = arg;
    int e = EVUTIL_SOCKET_ERROR();
    s->st.accept_pauses++;
    rlog(s, LOG_ACCEPT, "accept() failed (%s): pausing the API listener for %d ms",
         evutil_socket_error_to_string(e), ACCEPT_PAUSE_MS);
    evconnlistener_disable(lev);
    struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
    evtimer_add(s->resume_ev, &tv);
}

// ---- setup --------------------------------------------------------------------------------

static bool make_addr(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (!strcmp(host, "localhost")) {
        host = "127.0.0.1";
    }
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        *len = sizeof *sin;
        return true;
    }
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        *len = sizeof *sin6;
        return true;
    }
    return false;
}

static void defaults(struct net_httpd_config *c)
{
    c->max_conns = c->max_conns ? c->max_conns : 128;
    c->header_timeout_ms = c->header_timeout_ms ? c->header_timeout_ms : 10000;
    c->body_timeout_ms = c->body_timeout_ms ? c->body_timeout_ms : 30000;
    c->idle_timeout_ms = c->idle_timeout_ms ? c->idle_timeout_ms : 15000;
    c->write_timeout_ms = c->write_timeout_ms ? c->write_timeout_ms : 30000;
    c->pressure_ms = c->pressure_ms ? c->pressure_ms : 1000;
    c->host = c->host ? c->host : "127.0.0.1";
}

struct net_httpd *net_httpd_new(struct event_base *base, const struct net_httpd_config *cfg,
                                char *why, size_t why_len)
{
    struct net_httpd *s = xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    defaults(&s->cfg);
    s->base = base;
    snprintf(s->log, sizeof s->log, "%s", cfg->log_component ? cfg->log_component : "httpd");
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    if (!make_addr(s->cfg.host, s->cfg.port, &ss, &sl)) {
        snprintf(why, why_len, "cannot listen on '%s': not an IP address", s->cfg.host);
        free(s);
        return NULL;
    }
    s->resume_ev = evtimer_new(base, on_resume, s);
    s->lev = evconnlistener_new_bind(
        base, on_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 511,
        (struct sockaddr *)&ss, (int)sl);
    if (s->lev == NULL || s->resume_ev == NULL) {
        snprintf(why, why_len, "cannot listen on %s port %u: %s", s->cfg.host,
                 (unsigned)s->cfg.port, strerror(errno));
        net_httpd_free(s);
        return NULL;
    }
    evconnlistener_set_error_cb(s->lev, on_accept_error);
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    if (getsockname(evconnlistener_get_fd(s->lev), (struct sockaddr *)&bound, &bl) == 0) {
        s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    }
    return s;
}

uint16_t net_httpd_port(const struct net_httpd *s)
{
    return s->port;
}

void net_httpd_get_stats(const struct net_httpd *s, struct net_httpd_stats *out)
{
    *out = s->st;
}

void net_httpd_free(struct net_httpd *s)
{
    if (s == NULL) {
        return;
    }
    while (s->head != NULL) {
        conn_free(s->head);
    }
    if (s->lev != NULL) {
        evconnlistener_free(s->lev);
    }
    if (s->resume_ev != NULL) {
        event_free(s->resume_ev);
    }
    free(s);
}

void net_httpd_deferred_finish(struct net_httpd_deferred *d, struct net_httpd_response *resp)
{
    if (!d) {
        return;
    }
    struct hconn *c = d->c;
    free(d);
    if (!c) {
        response_cleanup(resp);
        return;
    }
    c->deferred = NULL;
    c->phase = PH_REQUEST;
    resp->deferred = NULL;
    if (!c->p.keep_alive) {
        resp->close = true;
    }
    send_response(c, resp);
    if (c->phase != PH_CLOSING) {
        process(c); // pipelined requests that waited in the input buffer
    }
}
