// stream.c: a framed byte stream to one broker (see stream.h).
#include "net/stream.h"

#include "base/alloc.h"
#include "base/log.h"
#include "net/dial.h"
#include "net/internal.h"
#include "net/membudget.h"
#include "proto/frame.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

// Reading. libevent 2.1 reads a plain socket at most 4 KiB at a time (EVBUFFER_MAX_READ, whatever
// bufferevent_set_max_single_read says) and asks the kernel how much is waiting
// (ioctl FIONREAD) before each read, and a frame spread over its chains is copied whole by
// evbuffer_pullup. So a stream keeps its own input: a head buffer of HEAD_CAP bytes for small
// frames and the start of the next one, and for a larger frame one buffer of exactly its size
// (under a reservation of the memory budget), into which the rest of the frame is read directly.
// A plain TCP stream reads the socket itself (rd_ev, the bufferevent only writes): one readv into
// the rest of the frame plus the free part of the head. A TLS stream takes what the bufferevent
// decrypted (its input watermark is HEAD_CAP). Frames are handed up in place, never copied whole.
#define HEAD_CAP NET_MEMBUDGET_FREE

struct net_stream {
    struct net_reactor *r;
    struct net_stream_callbacks cb;
    struct net_tls_ctx *tls;
    size_t max_frame;
    char *host;
    char log[KESM_LOG_COMPONENT_CAP];
    char name[300];
    struct net_dial *dial;   // while dialling
    struct bufferevent *bev; // once open: writes, and with TLS reads
    struct event *rd_ev;     // plain TCP: our reader of the socket
    bool rd_armed;           // rd_ev is added
    struct event *kick_ev;   // deferred processing of buffered frames
    bool reading;
    bool got_bytes; // anything arrived since the stream opened
    bool ended;     // on_close ran (or is running)
    int busy;       // callbacks on the stack
    bool freed;     // net_stream_free was called while busy

    // input: head[h_start, h_end) are bytes received outside |big|; |big| holds a frame larger
    // than the head (big_total bytes with its prefix, big_have of them received)
    uint8_t *head;
    size_t h_start, h_end;
    uint8_t *big;
    size_t big_total, big_have;

    // the process-wide memory budget (net/membudget.h) for the large frame being received
    struct net_membudget_waiter mb_wait;
    size_t mb_reserved;
};

// ---- the memory budget for frames being received (net/membudget.h) ----------------------------

static void budget_granted(void *ctx)
{
    struct net_stream *s = ctx;
    s->mb_reserved = s->mb_wait.want;
    if (s->bev != NULL) {
        event_active(s->kick_ev, EV_TIMEOUT, 0); // start the frame from the reactor
    }
}

// budget_release leaves the line and gives the reservation back (the frame was handed up, or
// the stream ends).
static void budget_release(struct net_stream *s)
{
    net_membudget_cancel(&s->mb_wait);
    if (s->mb_reserved > 0) {
        size_t n = s->mb_reserved;
        s->mb_reserved = 0;
        net_membudget_release(n);
    }
}

static void drop_reader(struct net_stream *s)
{
    if (s->rd_ev != NULL) {
        event_free(s->rd_ev);
        s->rd_ev = NULL;
        s->rd_armed = false;
    }
}

// drop_io stops reading and writing (the input buffers stay until destroy: a frame handed up
// may still be on the stack).
static void drop_io(struct net_stream *s)
{
    net_dial_cancel(s->dial);
    s->dial = NULL;
    budget_release(s);
    drop_reader(s);
    if (s->bev != NULL) {
        bufferevent_free(s->bev);
        s->bev = NULL;
    }
}

static void destroy(struct net_stream *s)
{
    drop_io(s);
    if (s->kick_ev != NULL) {
        event_free(s->kick_ev);
    }
    free(s->head);
    free(s->big);
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
    drop_io(s);
    struct net_stream_close why = {e, tf, msg, pending};
    if (s->cb.on_close != NULL) {
        s->cb.on_close(s->cb.ctx, &why);
    }
}

// ---- the input buffers -----------------------------------------------------------------------

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t buffered(const struct net_stream *s)
{
    size_t n = s->h_end - s->h_start + s->big_have;
    if (s->tls != NULL && s->bev != NULL) {
        n += evbuffer_get_length(bufferevent_get_input(s->bev));
    }
    return n;
}

// compact moves the head's bytes to its start.
static void compact(struct net_stream *s)
{
    size_t have = s->h_end - s->h_start;
    if (s->h_start > 0) {
        memmove(s->head, s->head + s->h_start, have);
        s->h_start = 0;
        s->h_end = have;
    }
}

// fill_iov describes where the next bytes go: the rest of the large frame, then the free part of
// the head. Returns the number of vectors (0: no room until a frame is handed up or the budget
// grants a reservation).
static int fill_iov(struct net_stream *s, struct iovec iov[2])
{
    int n = 0;
    if (s->big != NULL && s->big_have < s->big_total) {
        iov[n].iov_base = s->big + s->big_have;
        iov[n++].iov_len = s->big_total - s->big_have;
    }
    if (s->h_end == HEAD_CAP && s->h_start > 0) {
        compact(s);
    }
    if (s->h_end < HEAD_CAP) {
        iov[n].iov_base = s->head + s->h_end;
        iov[n++].iov_len = HEAD_CAP - s->h_end;
    }
    return n;
}

// took accounts |got| bytes received into the vectors fill_iov described.
static void took(struct net_stream *s, size_t got)
{
    if (s->big != NULL && s->big_have < s->big_total) {
        size_t rest = s->big_total - s->big_have;
        size_t k = got < rest ? got : rest;
        s->big_have += k;
        got -= k;
    }
    s->h_end += got;
}

// start_big moves a frame of |total| bytes (prefix included) that does not fit the head into a
// buffer of its own, once the memory budget reserved it. Returns false while it waits (or when
// the frame is refused: the stream then ended).
static bool start_big(struct net_stream *s, size_t total)
{
    if (s->mb_reserved < total) {
        if (s->mb_wait.queued) {
            return false;
        }
        if (total > net_membudget_limit()) {
            end(s, NET_STREAM_END_FRAME_LIMIT, NET_TLS_FAIL_NONE, buffered(s),
                "response frame of %zu bytes exceeds the broker memory budget of %zu bytes "
                "(KESM_BROKER_MEMORY_MB); refused before reading it",
                total - 4, net_membudget_limit());
            return false;
        }
        if (!net_membudget_reserve(&s->mb_wait, total)) {
            kesm_log(KESM_LOG_DEBUG, s->log,
                     "broker %s: a frame of %zu bytes waits for the broker memory budget", s->name,
                     total);
            return false;
        }
        s->mb_reserved = total;
    }
    size_t have = s->h_end - s->h_start;
    s->big = xmalloc(total);
    memcpy(s->big, s->head + s->h_start, have); // at most HEAD_CAP bytes
    s->big_total = total;
    s->big_have = have;
    s->h_start = s->h_end = 0;
    return true;
}

// hand_up gives one frame to the owner; false when the stream ended or was freed meanwhile.
static bool hand_up(struct net_stream *s, const uint8_t *p, size_t len)
{
    struct bufferevent *bev = s->bev;
    s->cb.on_frame(s->cb.ctx, p, len);
    return !s->freed && !s->ended && s->bev == bev;
}

// process hands up every whole frame received while reading is on.
static void process(struct net_stream *s)
{
    while (!s->freed && !s->ended && s->bev != NULL && s->reading) {
        if (s->big != NULL) {
            if (s->big_have < s->big_total || !hand_up(s, s->big + 4, s->big_total - 4)) {
                return;
            }
            free(s->big);
            s->big = NULL;
            s->big_total = s->big_have = 0;
            budget_release(s);
            continue;
        }
        size_t have = s->h_end - s->h_start;
        if (have < 4) {
            return;
        }
        const uint8_t *p = s->head + s->h_start;
        kr frame;
        size_t consumed = 0, need = 0;
        enum kp_status st = kp_frame_split(p, have, s->max_frame, &frame, &consumed, &need);
        if (st == KP_ERR_LIMIT || st == KP_ERR_MALFORMED) {
            end(s, st == KP_ERR_LIMIT ? NET_STREAM_END_FRAME_LIMIT : NET_STREAM_END_FRAME_BAD,
                NET_TLS_FAIL_NONE, buffered(s),
                "response frame size %u%s exceeds the limit of %zu bytes (max_frame); refused "
                "before reading it",
                be32(p), st == KP_ERR_MALFORMED ? " (negative)" : "", s->max_frame);
            return;
        }
        if (st == KP_OK) {
            if (!hand_up(s, frame.p, kr_left(&frame))) {
                return;
            }
            s->h_start += consumed;
            if (s->h_start == s->h_end) {
                s->h_start = s->h_end = 0;
            }
            continue;
        }
        if (need <= HEAD_CAP) {
            if (s->h_start + need > HEAD_CAP) {
                compact(s);
            }
            return;
        }
        if (!start_big(s, need)) {
            return;
        }
    }
}

// update_reader arms the plain TCP reader while reading is on and there is room for bytes.
static void update_reader(struct net_stream *s)
{
    if (s->rd_ev == NULL) {
        return;
    }
    bool room =
        (s->big != NULL && s->big_have < s->big_total) || s->h_end < HEAD_CAP || s->h_start > 0;
    bool want = s->reading && !s->ended && !s->freed && room;
    if (want && !s->rd_armed) {
        event_add(s->rd_ev, NULL);
    } else if (!want && s->rd_armed) {
        event_del(s->rd_ev);
    }
    s->rd_armed = want;
}

// pull_tls takes what the TLS bufferevent decrypted, as far as there is room, handing frames up
// as they complete.
static void pull_tls(struct net_stream *s)
{
    while (!s->freed && !s->ended && s->bev != NULL && s->reading) {
        struct evbuffer *in = bufferevent_get_input(s->bev);
        struct iovec iov[2];
        int n = evbuffer_get_length(in) > 0 ? fill_iov(s, iov) : 0;
        if (n == 0) {
            return;
        }
        size_t got = 0;
        for (int i = 0; i < n; i++) {
            int k = evbuffer_remove(in, iov[i].iov_base, iov[i].iov_len);
            got += k > 0 ? (size_t)k : 0;
            if (k < 0 || (size_t)k < iov[i].iov_len) {
                break;
            }
        }
        if (got == 0) {
            return;
        }
        took(s, got);
        process(s);
    }
}

// on_sock reads a plain TCP socket: one readv into the rest of the frame and the head.
static void on_sock(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct net_stream *s = arg;
    enter(s);
    struct iovec iov[2];
    int n = s->reading ? fill_iov(s, iov) : 0;
    if (n > 0) {
        ssize_t r = readv(fd, iov, n);
        int err = errno;
        if (r > 0) {
            took(s, (size_t)r);
            s->got_bytes = true;
            process(s);
        } else if (r == 0) {
            end(s, NET_STREAM_END_EOF, NET_TLS_FAIL_NONE, buffered(s), "%s", "");
        } else if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
            end(s, NET_STREAM_END_ERROR, NET_TLS_FAIL_NONE, buffered(s), "%s", strerror(err));
        }
    }
    if (!s->freed) {
        update_reader(s);
    }
    leave(s);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct net_stream *s = arg;
    enter(s);
    s->got_bytes = true;
    pull_tls(s);
    leave(s);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct net_stream *s = arg;
    enter(s);
    process(s);
    if (s->tls != NULL) {
        pull_tls(s);
    }
    if (!s->freed) {
        update_reader(s);
    }
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
    size_t pending = buffered(s);
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
        s->head = xmalloc(HEAD_CAP);
        s->mb_wait.granted = budget_granted;
        s->mb_wait.ctx = s;
        bufferevent_setcb(s->bev, on_read, NULL, on_event, s);
        if (s->tls == NULL) {
            bufferevent_disable(s->bev, EV_READ);
            s->rd_ev = event_new(net_reactor_base(s->r), bufferevent_getfd(s->bev),
                                 EV_READ | EV_PERSIST, on_sock, s);
            if (s->rd_ev == NULL) {
                fputs("kesm: out of memory (event)\n", stderr);
                abort();
            }
            update_reader(s);
        } else {
            bufferevent_setwatermark(s->bev, EV_READ, 0, HEAD_CAP);
            if (!s->reading) {
                bufferevent_disable(s->bev, EV_READ);
            }
            event_active(s->kick_ev, EV_TIMEOUT, 0); // anything read with the handshake
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
        drop_io(s);
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
    if (s->tls != NULL) {
        if (on) {
            bufferevent_enable(s->bev, EV_READ);
        } else {
            bufferevent_disable(s->bev, EV_READ);
        }
    }
    update_reader(s);
    if (on) {
        event_active(s->kick_ev, EV_TIMEOUT, 0); // frames already buffered
    }
}

size_t net_stream_buffered(const struct net_stream *s)
{
    return buffered(s);
}
