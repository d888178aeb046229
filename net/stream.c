// stream.c: a framed byte stream to one broker (see stream.h).
#include "net/stream.h"

#include "base/log.h"
#include "net/dial.h"
#include "net/internal.h"
#include "net/membudget.h"
#include "proto/frame.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct net_stream {
    struct net_reactor *r;
    struct net_stream_callbacks cb;
    struct net_tls_ctx *tls;
    size_t max_frame;
    char *host;
    char log[KESM_LOG_COMPONENT_CAP];
    char name[300];
    struct net_dial *dial;   // while dialling
    struct bufferevent *bev; // once open
    struct event *kick_ev;   // deferred processing of buffered frames
    bool reading;
    bool got_bytes; // anything arrived since the stream opened
    bool ended;     // on_close ran (or is running)
    int busy;       // callbacks on the stack
    bool freed;     // net_stream_free was called while busy

    // the process-wide memory budget (net/membudget.h) for the frame being received
    struct net_membudget_waiter mb_wait;
    size_t mb_reserved;
};

// ---- the memory budget for frames being received (net/membudget.h) ----------------------------

static void budget_granted(void *ctx)
{
    struct net_stream *s = ctx;
    s->mb_reserved = s->mb_wait.want;
    if (s->bev != NULL) {
        bufferevent_setwatermark(s->bev, EV_READ, 0, s->mb_reserved + NET_MEMBUDGET_FREE);
        event_active(s->kick_ev, EV_TIMEOUT, 0); // the part already buffered
    }
}

// budget_init: a new bufferevent reads at most the free share until a reservation is granted.
static void budget_init(struct net_stream *s)
{
    s->mb_wait.granted = budget_granted;
    s->mb_wait.ctx = s;
    bufferevent_setwatermark(s->bev, EV_READ, 0, NET_MEMBUDGET_FREE);
}

// budget_release leaves the line and gives the reservation back (the frame was handed up, or
// the bufferevent goes).
static void budget_release(struct net_stream *s)
{
    net_membudget_cancel(&s->mb_wait);
    if (s->mb_reserved > 0) {
        size_t n = s->mb_reserved;
        s->mb_reserved = 0;
        if (s->bev != NULL) {
            bufferevent_setwatermark(s->bev, EV_READ, 0, NET_MEMBUDGET_FREE);
        }
        net_membudget_release(n);
    }
}

static void destroy(struct net_stream *s)
{
    budget_release(s);
    net_dial_cancel(s->dial);
    if (s->bev != NULL) {
        bufferevent_free(s->bev);
    }
    if (s->kick_ev != NULL) {
        event_free(s->kick_ev);
    }
    free(s->host);
    free(s);
}

static void enter(struct net_stream *s)
{
    s->busy++;
}

// leave returns false when the stream was freed meanwhile (and destroys it at the outermost
// level).
static bool leave(struct net_stream *s)
{
    if (--s->busy == 0 && s->freed) {
        destroy(s);
        return false;
    }
    return !s->freed;
}

static void end(struct net_stream *s, enum net_stream_end e, enum net_tls_fail tf, size_t pending,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

// end tears the connection down and reports why, once.
static void end(struct net_stream *s, enum net_stream_end e, enum net_tls_fail tf, size_t pending,
                const char *fmt, ...)
{
    if (s->ended || s->freed) {
        return;
    }
    s->ended = true;
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    net_dial_cancel(s->dial);
    s->dial = NULL;
    budget_release(s);
    if (s->bev != NULL) {
        bufferevent_free(s->bev);
        s->bev = NULL;
    }
    struct net_stream_close why = {e, tf, msg, pending};
    if (s->cb.on_close != NULL) {
        s->cb.on_close(s->cb.ctx, &why);
    }
}

// ---- reading ---------------------------------------------------------------------------------

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// budget_for makes room to buffer a frame of |total| bytes of which |have| arrived: frames up to
// NET_MEMBUDGET_FREE need nothing, larger ones a reservation (granted now, or later through
// budget_granted while reading waits at the free share). A frame larger than the whole budget
// ends the stream, refused like one above max_frame.
static void budget_for(struct net_stream *s, struct evbuffer *in, size_t total, size_t have)
{
    if (total <= NET_MEMBUDGET_FREE || s->mb_reserved >= total || s->mb_wait.queued) {
        return;
    }
    if (total > net_membudget_limit()) {
        end(s, NET_STREAM_END_FRAME_LIMIT, NET_TLS_FAIL_NONE, have,
            "response frame of %zu bytes exceeds the broker memory budget of %zu bytes "
            "(KESM_BROKER_MEMORY_MB); refused before reading it",
            total - 4, net_membudget_limit());
        return;
    }
    if (!net_membudget_reserve(&s->mb_wait, total)) {
        kesm_log(KESM_LOG_DEBUG, s->log,
                 "broker %s: a frame of %zu bytes waits for the broker memory budget", s->name,
                 total);
        return;
    }
    s->mb_reserved = total;
    bufferevent_setwatermark(s->bev, EV_READ, 0, total + NET_MEMBUDGET_FREE);
    evbuffer_expand(in, total - have); // one contiguous chain: the pullup below copies nothing
}

// process hands up every whole frame in the input buffer while reading is on.
static void process(struct net_stream *s)
{
    while (!s->freed && !s->ended && s->bev != NULL && s->reading) {
        struct evbuffer *in = bufferevent_get_input(s->bev);
        size_t have = evbuffer_get_length(in);
        uint8_t hdr[4];
        if (have < sizeof hdr || evbuffer_copyout(in, hdr, sizeof hdr) != (ev_ssize_t)sizeof hdr) {
            return;
        }
        kr frame;
        size_t consumed = 0, need = 0;
        enum kp_status st = kp_frame_split(hdr, sizeof hdr, s->max_frame, &frame, &consumed, &need);
        if (st == KP_ERR_LIMIT || st == KP_ERR_MALFORMED) {
            end(s, st == KP_ERR_LIMIT ? NET_STREAM_END_FRAME_LIMIT : NET_STREAM_END_FRAME_BAD,
                NET_TLS_FAIL_NONE, have,
                "response frame size %u%s exceeds the limit of %zu bytes (max_frame); refused "
                "before reading it",
                be32(hdr), st == KP_ERR_MALFORMED ? " (negative)" : "", s->max_frame);
            return;
        }
        size_t total = st == KP_OK ? consumed : need;
        if (have < total) {
            budget_for(s, in, total, have);
            return;
        }
        const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)total);
        if (p == NULL ||
            kp_frame_split(p, total, s->max_frame, &frame, &consumed, &need) != KP_OK) {
            end(s, NET_STREAM_END_FRAME_BAD, NET_TLS_FAIL_NONE, have,
                "cannot split a response frame");
            return;
        }
        struct bufferevent *bev = s->bev;
        s->cb.on_frame(s->cb.ctx, frame.p, kr_left(&frame));
        if (s->freed || s->ended || s->bev != bev) {
            return;
        }
        evbuffer_drain(in, consumed);
        if (s->mb_reserved > 0) {
            budget_release(s);
        }
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct net_stream *s = arg;
    enter(s);
    s->got_bytes = true;
    process(s);
    leave(s);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct net_stream *s = arg;
    enter(s);
    process(s);
    leave(s);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct net_stream *s = arg;
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
        return;
    }
    enter(s);
    int sock_err = EVUTIL_SOCKET_ERROR();
    char msg[400];
    enum net_tls_fail tf = NET_TLS_FAIL_NONE;
    if (s->tls != NULL) {
        tf = net_tls_explain(bev, s->tls, s->host, false, msg, sizeof msg);
    }
    size_t pending = evbuffer_get_length(bufferevent_get_input(bev));
    const char *how = (what & BEV_EVENT_EOF) ? "closed" : evutil_socket_error_to_string(sock_err);
    if (tf != NET_TLS_FAIL_NONE) {
        end(s, NET_STREAM_END_TLS, tf, pending, "%s", msg);
    } else if (s->tls != NULL && !s->got_bytes && pending == 0 &&
               !net_tls_ctx_has_client_cert(s->tls)) {
        // With TLS 1.3 a server that wants a client certificate finds out after the handshake
        // and sends an alert; a reset often overtakes the alert, so a close before the first
        // answer, without a client certificate, is read as that.
        end(s, NET_STREAM_END_TLS, NET_TLS_CLIENT_CERT_REQUIRED, pending,
            "TLS: client certificate required: the broker closed the connection right after the "
            "TLS handshake; it requires a client certificate and none is configured (%s)",
            how);
    } else if (what & BEV_EVENT_EOF) {
        end(s, NET_STREAM_END_EOF, NET_TLS_FAIL_NONE, pending, "%s", "");
    } else if (s->tls != NULL && sock_err == 0) {
        end(s, NET_STREAM_END_NO_NOTIFY, NET_TLS_FAIL_NONE, pending, "%s", "");
    } else {
        end(s, NET_STREAM_END_ERROR, NET_TLS_FAIL_NONE, pending, "%s", how);
    }
    leave(s);
}

// ---- dialling --------------------------------------------------------------------------------

static void phase(struct net_stream *s, enum net_stream_phase ph)
{
    if (s->cb.on_phase != NULL) {
        s->cb.on_phase(s->cb.ctx, ph);
    }
}

static void on_dial_resolved(void *ctx)
{
    struct net_stream *s = ctx;
    enter(s);
    phase(s, NET_STREAM_RESOLVED); // freeing or ending the stream from here cancels the dial
    leave(s);
}

static void on_dial_tcp(void *ctx)
{
    struct net_stream *s = ctx;
    enter(s);
    phase(s, NET_STREAM_TCP); // freeing or ending the stream from here cancels the dial
    leave(s);
}

static void on_dial_done(void *ctx, const struct net_dial_outcome *o)
{
    struct net_stream *s = ctx;
    s->dial = NULL; // the dial frees itself
    enter(s);
    if (o->err != NET_DIAL_OK) {
        enum net_stream_end e = o->err == NET_DIAL_RESOLVE   ? NET_STREAM_END_RESOLVE
                                : o->err == NET_DIAL_CONNECT ? NET_STREAM_END_CONNECT
                                                             : NET_STREAM_END_TLS;
        end(s, e, o->tls_fail, 0, "%s", o->msg);
    } else {
        s->bev = o->bev;
        bufferevent_setcb(s->bev, on_read, NULL, on_event, s);
        budget_init(s);
        if (!s->reading) {
            bufferevent_disable(s->bev, EV_READ);
        }
        phase(s, NET_STREAM_OPEN);
    }
    leave(s);
}

// ---- public ----------------------------------------------------------------------------------

struct net_stream *net_stream_open(struct net_reactor *r, const char *host, uint16_t port,
                                   const struct net_stream_config *cfg,
                                   const struct net_stream_callbacks *cb)
{
    struct net_stream *s = xcalloc(1, sizeof *s);
    s->r = r;
    s->cb = *cb;
    s->tls = cfg->tls;
    s->max_frame = cfg->max_frame;
    s->host = xstrdup(host);
    s->reading = true;
    snprintf(s->log, sizeof s->log, "%s", cfg->log ? cfg->log : "net");
    snprintf(s->name, sizeof s->name, "%s", cfg->name ? cfg->name : host);
    s->kick_ev = event_new(net_reactor_base(r), -1, 0, on_kick, s);
    if (s->kick_ev == NULL) {
        fputs("kesm: out of memory (event)\n", stderr);
        abort();
    }
    struct net_dial_config dc = {.tls = cfg->tls,
                                 .connect_timeout_ms = cfg->connect_timeout_ms,
                                 .log = s->log,
                                 .name = s->name};
    struct net_dial_callbacks dcb = {on_dial_resolved, on_dial_tcp, on_dial_done, s};
    s->dial = net_dial_start(r, host, port, &dc, &dcb);
    return s;
}

void net_stream_free(struct net_stream *s)
{
    if (s == NULL || s->freed) {
        return;
    }
    s->freed = true;
    s->cb.on_close = NULL;
    if (s->busy > 0) {
        // Inside one of our callbacks: stop everything now, release when it returns.
        net_dial_cancel(s->dial);
        s->dial = NULL;
        budget_release(s);
        if (s->bev != NULL) {
            bufferevent_free(s->bev);
            s->bev = NULL;
        }
        return;
    }
    destroy(s);
}

void net_stream_write(struct net_stream *s, const void *p, size_t len)
{
    if (s->bev == NULL || s->freed || s->ended) {
        return;
    }
    if (bufferevent_write(s->bev, p, len) != 0) {
        fputs("kesm: out of memory (write)\n", stderr);
        abort();
    }
}

void net_stream_set_reading(struct net_stream *s, bool on)
{
    if (s->reading == on) {
        return;
    }
    s->reading = on;
    if (s->bev == NULL) {
        return;
    }
    if (on) {
        bufferevent_enable(s->bev, EV_READ);
        event_active(s->kick_ev, EV_TIMEOUT, 0); // frames already buffered
    } else {
        bufferevent_disable(s->bev, EV_READ);
    }
}

size_t net_stream_buffered(const struct net_stream *s)
{
    return s->bev != NULL ? evbuffer_get_length(bufferevent_get_input(s->bev)) : 0;
}
