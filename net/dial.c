// dial.c: resolve, connect each address in turn, optional TLS (see dial.h).
#include "net/dial.h"

#include "base/log.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum phase {
    PH_RESOLVING,
    PH_CONNECTING,
    PH_TLS,
};

struct net_dial {
    struct net_reactor *r;
    struct net_dial_callbacks cb;
    struct net_tls_ctx *tls;
    uint32_t connect_timeout_ms, tls_timeout_ms;
    char *host;
    char log[KESM_LOG_COMPONENT_CAP];
    char name[300];
    uint16_t port;
    enum phase phase;
    struct net_lookup dns;
    evutil_socket_t fd;
    struct event *connect_ev;
    struct bufferevent *bev; // PH_TLS: the handshaking bufferevent
    struct net_timer *timer; // deferred start, connect timeout, TLS timeout
    char errs[400];          // why each address failed
    bool in_cb;              // inside on_resolved / on_tcp
    bool cancelled;          // net_dial_cancel was called from there
};

static void dial_free(struct net_dial *d)
{
    net_lookup_cancel(&d->dns);
    if (d->connect_ev != NULL) {
        event_free(d->connect_ev);
    }
    if (d->fd >= 0) {
        evutil_closesocket(d->fd);
    }
    if (d->bev != NULL) {
        bufferevent_free(d->bev);
    }
    net_timer_free(d->timer);
    free(d->host);
    free(d);
}

// progress runs an owner callback; false when the owner cancelled the dial from it (|d| is then
// freed).
static bool progress(struct net_dial *d, void (*fn)(void *ctx))
{
    if (fn == NULL) {
        return true;
    }
    d->in_cb = true;
    fn(d->cb.ctx);
    d->in_cb = false;
    if (d->cancelled) {
        dial_free(d);
        return false;
    }
    return true;
}

// finish reports the outcome and frees the dial; on success the bufferevent goes to the owner.
static void finish(struct net_dial *d, enum net_dial_err err, enum net_tls_fail tf, const char *msg,
                   struct bufferevent *bev)
{
    struct net_dial_outcome o = {err, tf, msg, bev};
    struct net_dial_callbacks cb = d->cb;
    if (bev != NULL) {
        d->bev = NULL;
    }
    dial_free(d);
    cb.on_done(cb.ctx, &o);
}

static void close_attempt(struct net_dial *d)
{
    if (d->connect_ev != NULL) {
        event_free(d->connect_ev);
        d->connect_ev = NULL;
    }
    if (d->fd >= 0) {
        evutil_closesocket(d->fd);
        d->fd = -1;
    }
}

static void addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
    const void *a = sa->sa_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    if (evutil_inet_ntop(sa->sa_family, a, buf, len) == NULL) {
        snprintf(buf, len, "?");
    }
}

// note_addr_error records why the current address failed and moves to the next one.
static void note_addr_error(struct net_dial *d, const char *why)
{
    char a[64];
    addr_str(d->dns.ai_cur->ai_addr, a, sizeof a);
    size_t n = strlen(d->errs);
    snprintf(d->errs + n, sizeof d->errs - n, "%s%s: %s", n ? "; " : "", a, why);
    close_attempt(d);
    d->dns.ai_cur = d->dns.ai_cur->ai_next;
}

static void on_tls_event(struct bufferevent *bev, short what, void *arg)
{
    struct net_dial *d = arg;
    if (what & BEV_EVENT_CONNECTED) {
        net_tls_log_session(bev, d->log, d->name);
        bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
        net_timer_cancel(d->timer);
        finish(d, NET_DIAL_OK, NET_TLS_FAIL_NONE, "", bev);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        char msg[400];
        enum net_tls_fail tf = net_tls_explain(bev, d->tls, d->host, true, msg, sizeof msg);
        finish(d, NET_DIAL_TLS, tf, msg, NULL);
    }
}

// connected wraps the connected socket (TLS or plain) and hands it over, or starts the TLS
// handshake.
static void connected(struct net_dial *d)
{
    evutil_socket_t fd = d->fd;
    d->fd = -1;
    if (d->connect_ev != NULL) {
        event_free(d->connect_ev);
        d->connect_ev = NULL;
    }
    net_timer_cancel(d->timer);
    struct event_base *base = net_reactor_base(d->r);
    char err[200];
    struct bufferevent *bev;
    if (d->tls != NULL) {
        bev = net_tls_bev_new(base, fd, d->tls, d->host, d->log, err, sizeof err);
    } else {
        bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (bev == NULL) {
            evutil_closesocket(fd);
            snprintf(err, sizeof err, "cannot create a connection object");
        }
    }
    if (bev == NULL) {
        finish(d, d->tls ? NET_DIAL_TLS : NET_DIAL_CONNECT, NET_TLS_PROTOCOL, err, NULL);
        return;
    }
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (d->tls == NULL) {
        finish(d, NET_DIAL_OK, NET_TLS_FAIL_NONE, "", bev);
        return;
    }
    d->bev = bev;
    d->phase = PH_TLS;
    bufferevent_setcb(bev, NULL, NULL, on_tls_event, d);
    if (d->tls_timeout_ms > 0) {
        net_timer_arm(d->timer, d->tls_timeout_ms);
    }
}

static bool start_connect(struct net_dial *d, const struct evutil_addrinfo *ai);

// connect_next tries the remaining addresses; when none is left the dial fails with the list of
// what happened to each.
static void connect_next(struct net_dial *d)
{
    while (d->dns.ai_cur != NULL) {
        if (start_connect(d, d->dns.ai_cur)) {
            return;
        }
        note_addr_error(d, strerror(errno));
    }
    char errs[sizeof d->errs];
    memcpy(errs, d->errs, sizeof errs);
    finish(d, NET_DIAL_CONNECT, NET_TLS_FAIL_NONE, errs, NULL);
}

static void on_connect_ev(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct net_dial *d = arg;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
        soerr = errno;
    }
    if (soerr != 0) {
        note_addr_error(d, strerror(soerr));
        connect_next(d);
        return;
    }
    if (progress(d, d->cb.on_tcp)) {
        connected(d);
    }
}

static bool start_connect(struct net_dial *d, const struct evutil_addrinfo *ai)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) {
        return false;
    }
    d->fd = fd;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        return false;
    }
    d->connect_ev = event_new(net_reactor_base(d->r), fd, EV_WRITE, on_connect_ev, d);
    if (d->connect_ev == NULL || event_add(d->connect_ev, NULL) != 0) {
        return false;
    }
    d->phase = PH_CONNECTING;
    net_timer_arm(d->timer, d->connect_timeout_ms);
    return true;
}

static void resolved(struct net_dial *d)
{
    if (d->dns.err != 0 || d->dns.ai == NULL) {
        char msg[400];
        snprintf(msg, sizeof msg, "cannot resolve \"%s\": %s", d->host,
                 d->dns.err ? evutil_gai_strerror(d->dns.err) : "no address");
        finish(d, NET_DIAL_RESOLVE, NET_TLS_FAIL_NONE, msg, NULL);
        return;
    }
    d->dns.ai_cur = d->dns.ai;
    d->errs[0] = '\0';
    if (progress(d, d->cb.on_resolved)) {
        connect_next(d);
    }
}

// on_lookup is an answer that came after net_lookup_start returned.
static void on_lookup(void *arg)
{
    resolved(arg);
}

static void on_timer(void *arg)
{
    struct net_dial *d = arg;
    switch (d->phase) {
    case PH_RESOLVING:
        // The deferred start: callbacks never run inside net_dial_start.
        if (net_lookup_start(&d->dns, d->r, d->host, d->port, on_lookup, d)) {
            resolved(d);
        }
        return;
    case PH_CONNECTING: {
        char why[64];
        snprintf(why, sizeof why, "timed out after %u ms", d->connect_timeout_ms);
        note_addr_error(d, why);
        connect_next(d);
        return;
    }
    case PH_TLS: {
        char msg[100];
        snprintf(msg, sizeof msg, "TLS handshake timed out after %u ms", d->tls_timeout_ms);
        finish(d, NET_DIAL_TLS, NET_TLS_HANDSHAKE_TIMEOUT, msg, NULL);
        return;
    }
    }
}

struct net_dial *net_dial_start(struct net_reactor *r, const char *host, uint16_t port,
                                const struct net_dial_config *cfg,
                                const struct net_dial_callbacks *cb)
{
    struct net_dial *d = xcalloc(1, sizeof *d);
    d->r = r;
    d->cb = *cb;
    d->tls = cfg->tls;
    d->connect_timeout_ms = cfg->connect_timeout_ms;
    d->tls_timeout_ms = cfg->tls_timeout_ms;
    d->host = xstrdup(host);
    d->port = port;
    d->fd = -1;
    snprintf(d->log, sizeof d->log, "%s", cfg->log ? cfg->log : "net");
    snprintf(d->name, sizeof d->name, "%s", cfg->name ? cfg->name : host);
    d->phase = PH_RESOLVING;
    d->timer = net_timer_new(r, on_timer, d);
    net_timer_arm(d->timer, 0);
    return d;
}

void net_dial_cancel(struct net_dial *d)
{
    if (d == NULL) {
        return;
    }
    if (d->in_cb) {
        d->cancelled = true;
        return;
    }
    dial_free(d);
}
