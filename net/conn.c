// conn.c: the broker connection state machine (see conn.h): resolving, connecting, TLS, the
// ApiVersions and auth handshake, backoff and idle close. Requests, framing and dispatch live in
// conn_io.c.
#include "net/conn.h"

#include "net/conn_int.h"
#include "net/log.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef KESM_VERSION
#define KESM_VERSION "0.0.0"
#endif

const char *net_conn_state_name(enum net_conn_state st)
{
    switch (st) {
    case NET_CONN_RESOLVING:
        return "RESOLVING";
    case NET_CONN_CONNECTING:
        return "CONNECTING";
    case NET_CONN_TLS_HANDSHAKE:
        return "TLS_HANDSHAKE";
    case NET_CONN_API_VERSIONS:
        return "API_VERSIONS";
    case NET_CONN_AUTH:
        return "AUTH";
    case NET_CONN_READY:
        return "READY";
    case NET_CONN_BACKOFF:
        return "BACKOFF";
    case NET_CONN_IDLE:
        return "IDLE";
    case NET_CONN_CLOSED:
        return "CLOSED";
    }
    return "?";
}

const char *net_err_name(int err)
{
    static const char *const names[] = {
        "ok",     "disconnected", "timeout",        "resolve failed",   "connect failed",
        "tls",    "auth",         "protocol error", "frame too large",  "version",
        "closed", "queue full",   "encode failed",  "invalid argument",
    };
    if (err > 0 || -err >= (int)(sizeof names / sizeof names[0])) {
        return "unknown";
    }
    return names[-err];
}

bool net_conn_event_is_authn(const struct net_conn_event *ev)
{
    return ev->err == NET_ERR_AUTH ||
           (ev->err == NET_ERR_TLS && net_tls_fail_is_authn(ev->tls_fail));
}

// ---- entry, exit and deferred free ---------------------------------------------------------

static void destroy(struct net_conn *c)
{
    net_timer_free(c->state_timer);
    net_timer_free(c->reauth_timer);
    if (c->kick_ev != NULL) {
        event_free(c->kick_ev);
    }
    free(c->host);
    free(c);
}

void conn_enter(struct net_conn *c)
{
    c->busy++;
}

// conn_leave returns false when the connection is gone (freed now or marked freed).
bool conn_leave(struct net_conn *c)
{
    if (--c->busy == 0 && c->freed) {
        destroy(c);
        return false;
    }
    return !c->freed;
}

static void transition(struct net_conn *c, enum net_conn_state to, int err, enum net_tls_fail tf,
                       const char *msg)
{
    struct net_conn_event ev = {c->state, to, err, tf, msg};
    c->state = to;
    c->entry_pending = true;
    kesm_log(err ? KESM_LOG_WARN : KESM_LOG_INFO, c->log, "broker %s: %s -> %s%s%s", c->name,
             net_conn_state_name(ev.from), net_conn_state_name(to), msg ? ": " : "",
             msg ? msg : "");
    if (c->cb.on_state != NULL) {
        c->cb.on_state(c, &ev, c->cb.ctx);
    }
}

// ---- tearing the transport down --------------------------------------------------------------

static void cancel_resolve(struct net_conn *c)
{
    net_lookup_cancel(&c->dns);
}

static void close_attempt(struct net_conn *c)
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

static void teardown(struct net_conn *c)
{
    cancel_resolve(c);
    close_attempt(c);
    io_budget_release(c);
    if (c->bev != NULL) {
        bufferevent_free(c->bev);
        c->bev = NULL;
        c->bev_gen++;
    }
    net_timer_cancel(c->state_timer);
    net_timer_cancel(c->reauth_timer);
    c->reauth = REAUTH_NONE;
    c->stats.reauth_ms = 0;
}

bool conn_auth_running(const struct net_conn *c)
{
    return c->state == NET_CONN_AUTH || (c->state == NET_CONN_READY && c->reauth == REAUTH_RUNNING);
}

void conn_auth_stop(struct net_conn *c, bool was_running)
{
    if (was_running && c->cfg.auth != NULL && c->cfg.auth->stop != NULL) {
        c->cfg.auth->stop(c, c->cfg.auth->ctx);
    }
}

void conn_fail(struct net_conn *c, int err, enum net_tls_fail tf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->last_error, sizeof c->last_error, fmt, ap);
    va_end(ap);
    char msg[sizeof c->last_error];
    memcpy(msg, c->last_error, sizeof msg);
    bool was_running = conn_auth_running(c);
    teardown(c);
    c->stats.failures++;
    c->attempt++;
    struct net_conn_event probe = {c->state, NET_CONN_BACKOFF, err, tf, msg};
    c->authn_failure = net_conn_event_is_authn(&probe);
    transition(c, c->cfg.no_reconnect ? NET_CONN_CLOSED : NET_CONN_BACKOFF, err, tf, msg);
    char why[sizeof c->name + sizeof msg + 32];
    snprintf(why, sizeof why, "connection to %s lost: %s", c->name, msg);
    io_fail_inflight(c, NET_ERR_DISCONNECTED, why);
    io_fail_queued(c, NET_ERR_DISCONNECTED, why, true);
    // Last, so the plug-in's own requests were failed while its state still existed.
    conn_auth_stop(c, was_running);
}

// ---- states ----------------------------------------------------------------------------------

static void resolved(struct net_conn *c)
{
    if (c->dns.err != 0) {
        conn_fail(c, NET_ERR_RESOLVE, NET_TLS_FAIL_NONE, "cannot resolve \"%s\": %s", c->host,
                  evutil_gai_strerror(c->dns.err));
        return;
    }
    c->dns.ai_cur = c->dns.ai;
    c->conn_errs[0] = '\0';
    transition(c, NET_CONN_CONNECTING, NET_OK, NET_TLS_FAIL_NONE, NULL);
}

// on_resolved is an answer that came after do_resolving returned.
static void on_resolved(void *arg)
{
    struct net_conn *c = arg;
    conn_enter(c);
    resolved(c);
    conn_drive(c);
    conn_leave(c);
}

static void do_resolving(struct net_conn *c)
{
    teardown(c);
    if (net_lookup_start(&c->dns, c->reactor, c->host, c->port, on_resolved, c)) {
        resolved(c);
    }
}

static void addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
    if (evutil_inet_ntop(
            sa->sa_family,
            sa->sa_family == AF_INET6
                ? (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr
                : (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr,
            buf, len) == NULL) {
        snprintf(buf, len, "?");
    }
}

static void note_addr_error(struct net_conn *c, const char *why)
{
    char a[64];
    addr_str(c->dns.ai_cur->ai_addr, a, sizeof a);
    size_t n = strlen(c->conn_errs);
    snprintf(c->conn_errs + n, sizeof c->conn_errs - n, "%s%s: %s", n ? "; " : "", a, why);
    close_attempt(c);
    c->dns.ai_cur = c->dns.ai_cur->ai_next;
}

static void connected(struct net_conn *c);

static void on_connect_ev(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct net_conn *c = arg;
    conn_enter(c);
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
        soerr = errno;
    }
    if (soerr != 0) {
        note_addr_error(c, strerror(soerr));
        c->entry_pending = true; // try the next address
    } else {
        connected(c);
    }
    conn_drive(c);
    conn_leave(c);
}

static bool start_connect(struct net_conn *c, const struct evutil_addrinfo *ai)
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
    c->connect_ev = event_new(net_reactor_base(c->reactor), fd, EV_WRITE, on_connect_ev, c);
    if (c->connect_ev == NULL || event_add(c->connect_ev, NULL) != 0) {
        return false;
    }
    net_timer_arm(c->state_timer, c->cfg.connect_timeout_ms);
    return true;
}

static void do_connecting(struct net_conn *c)
{
    while (c->dns.ai_cur != NULL) {
        if (start_connect(c, c->dns.ai_cur)) {
            return;
        }
        note_addr_error(c, strerror(errno));
    }
    char errs[sizeof c->conn_errs];
    memcpy(errs, c->conn_errs, sizeof errs);
    conn_fail(c, NET_ERR_CONNECT, NET_TLS_FAIL_NONE, "cannot connect to %s (%s)", c->name, errs);
}

static void on_bev_event(struct bufferevent *bev, short what, void *arg);

static void connected(struct net_conn *c)
{
    evutil_socket_t fd = c->fd;
    c->fd = -1;
    if (c->connect_ev != NULL) {
        event_free(c->connect_ev);
        c->connect_ev = NULL;
    }
    cancel_resolve(c);
    struct event_base *base = net_reactor_base(c->reactor);
    char err[200];
    if (c->cfg.tls != NULL) {
        c->bev = net_tls_bev_new(base, fd, c->cfg.tls, c->host, c->log, err, sizeof err);
    } else {
        c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (c->bev == NULL) {
            evutil_closesocket(fd);
            snprintf(err, sizeof err, "cannot create a connection object");
        }
    }
    if (c->bev == NULL) {
        conn_fail(c, c->cfg.tls ? NET_ERR_TLS : NET_ERR_CONNECT, NET_TLS_PROTOCOL, "%s", err);
        return;
    }
    bufferevent_setcb(c->bev, io_on_read, NULL, on_bev_event, c);
    io_budget_init(c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    net_timer_arm(c->state_timer, c->cfg.handshake_timeout_ms);
    c->apiv_version = c->cfg.api_versions_version;
    c->apiv_retried = false;
    transition(c, c->cfg.tls ? NET_CONN_TLS_HANDSHAKE : NET_CONN_API_VERSIONS, NET_OK,
               NET_TLS_FAIL_NONE, NULL);
}

static void do_tls_handshake(struct net_conn *c)
{
    (void)c; // the openssl bufferevent drives the handshake; on_bev_event sees its end
}

static void do_api_versions(struct net_conn *c)
{
    io_start_api_versions(c);
}

void conn_wake(struct net_conn *c)
{
    transition(c, NET_CONN_RESOLVING, NET_OK, NET_TLS_FAIL_NONE, "request queued");
}

void conn_handshake_done(struct net_conn *c)
{
    if (c->cfg.auth != NULL) {
        transition(c, NET_CONN_AUTH, NET_OK, NET_TLS_FAIL_NONE, c->cfg.auth->mechanism);
    } else {
        transition(c, NET_CONN_READY, NET_OK, NET_TLS_FAIL_NONE, NULL);
    }
}

static void do_auth(struct net_conn *c)
{
    c->session_lifetime_ms = 0;
    c->cfg.auth->start(c, c->cfg.auth->ctx);
}

bool net_conn_is_tls(const struct net_conn *c)
{
    return c->cfg.tls != NULL;
}

void net_conn_auth_done(struct net_conn *c, int err, const char *reason)
{
    if (c->freed || !conn_auth_running(c)) {
        return;
    }
    conn_enter(c);
    if (c->state == NET_CONN_READY) {
        conn_reauth_done(c, err, reason);
    } else if (err == NET_OK) {
        transition(c, NET_CONN_READY, NET_OK, NET_TLS_FAIL_NONE, NULL);
        conn_auth_stop(c, true);
        conn_schedule_reauth(c);
    } else {
        const char *mech = c->cfg.auth->mechanism ? c->cfg.auth->mechanism : "SASL";
        conn_fail(c, err < 0 ? err : NET_ERR_AUTH, NET_TLS_FAIL_NONE,
                  "%s authentication with broker %s failed: %s", mech, c->name,
                  reason ? reason : "no reason given");
    }
    conn_drive(c);
    conn_leave(c);
}

static void do_ready(struct net_conn *c)
{
    net_timer_cancel(c->state_timer);
    c->attempt = 0;
    c->authn_failure = false;
    c->stats.connects++;
    if (c->paused && c->bev != NULL) {
        bufferevent_disable(c->bev, EV_READ);
    }
    io_kick(c);
    conn_note_activity(c);
}

static uint32_t jitter_delay(struct net_conn *c)
{
    uint64_t d = c->authn_failure ? c->cfg.auth_backoff_initial_ms : c->cfg.backoff_initial_ms;
    uint64_t cap = c->authn_failure ? c->cfg.auth_backoff_max_ms : c->cfg.backoff_max_ms;
    for (uint32_t i = 1; i < c->attempt && d < cap; i++) {
        d *= 2;
    }
    if (d > cap) {
        d = cap;
    }
    uint32_t r;
    evutil_secure_rng_get_bytes(&r, sizeof r);
    // +-20%: d * (0.8 + 0.4 * r / 2^32)
    uint64_t j = d * 8 / 10 + (d * 4 / 10) * (uint64_t)r / UINT32_MAX;
    return (uint32_t)(j ? j : 1);
}

static void do_backoff(struct net_conn *c)
{
    c->stats.backoff_ms = jitter_delay(c);
    kesm_log(KESM_LOG_INFO, c->log, "broker %s: reconnecting in %u ms (attempt %u%s)", c->name,
             c->stats.backoff_ms, c->attempt, c->authn_failure ? ", authentication backoff" : "");
    net_timer_arm(c->state_timer, c->stats.backoff_ms);
}

static void do_idle(struct net_conn *c)
{
    teardown(c);
}

static void do_closed(struct net_conn *c)
{
    teardown(c);
    io_fail_queued(c, NET_ERR_CLOSED, "connection closed for good (no_reconnect)", false);
}

void conn_drive(struct net_conn *c)
{
    while (!c->freed && c->entry_pending) {
        c->entry_pending = false;
        switch (c->state) {
        case NET_CONN_RESOLVING:
            do_resolving(c);
            break;
        case NET_CONN_CONNECTING:
            do_connecting(c);
            break;
        case NET_CONN_TLS_HANDSHAKE:
            do_tls_handshake(c);
            break;
        case NET_CONN_API_VERSIONS:
            do_api_versions(c);
            break;
        case NET_CONN_AUTH:
            do_auth(c);
            break;
        case NET_CONN_READY:
            do_ready(c);
            break;
        case NET_CONN_BACKOFF:
            do_backoff(c);
            break;
        case NET_CONN_IDLE:
            do_idle(c);
            break;
        case NET_CONN_CLOSED:
            do_closed(c);
            break;
        }
    }
}

void conn_note_activity(struct net_conn *c)
{
    if (c->state != NET_CONN_READY || c->freed || c->reauth != REAUTH_NONE) {
        return; // a re-authentication owns the state timer (its deadline)
    }
    if (io_idle(c) && c->cfg.idle_timeout_ms != NET_TIMEOUT_NEVER) {
        net_timer_arm(c->state_timer, c->cfg.idle_timeout_ms);
    } else {
        net_timer_cancel(c->state_timer);
    }
}

// ---- events ------------------------------------------------------------------------------------

static void on_state_timer(void *arg)
{
    struct net_conn *c = arg;
    conn_enter(c);
    switch (c->state) {
    case NET_CONN_CONNECTING: {
        char why[64];
        snprintf(why, sizeof why, "timed out after %u ms", c->cfg.connect_timeout_ms);
        note_addr_error(c, why);
        c->entry_pending = true;
        break;
    }
    case NET_CONN_TLS_HANDSHAKE:
        conn_fail(c, NET_ERR_TLS, NET_TLS_HANDSHAKE_TIMEOUT,
                  "TLS: handshake timeout: no TLS handshake completed within %u ms",
                  c->cfg.handshake_timeout_ms);
        break;
    case NET_CONN_API_VERSIONS:
    case NET_CONN_AUTH:
        conn_fail(c, NET_ERR_TIMEOUT, NET_TLS_FAIL_NONE, "handshake timed out in %s after %u ms",
                  net_conn_state_name(c->state), c->cfg.handshake_timeout_ms);
        break;
    case NET_CONN_READY:
        if (c->reauth == REAUTH_RUNNING) {
            conn_fail(c, NET_ERR_TIMEOUT, NET_TLS_FAIL_NONE,
                      "re-authentication timed out after %u ms", c->cfg.handshake_timeout_ms);
        } else if (c->reauth == REAUTH_NONE && io_idle(c)) {
            char msg[64];
            snprintf(msg, sizeof msg, "idle for %u ms", c->cfg.idle_timeout_ms);
            transition(c, NET_CONN_IDLE, NET_OK, NET_TLS_FAIL_NONE, msg);
        }
        break;
    case NET_CONN_BACKOFF:
        transition(c, NET_CONN_RESOLVING, NET_OK, NET_TLS_FAIL_NONE, NULL);
        break;
    case NET_CONN_RESOLVING:
    case NET_CONN_IDLE:
    case NET_CONN_CLOSED:
        break;
    }
    conn_drive(c);
    conn_leave(c);
}

static void on_bev_event(struct bufferevent *bev, short what, void *arg)
{
    struct net_conn *c = arg;
    if (bev != c->bev) {
        return;
    }
    conn_enter(c);
    if (what & BEV_EVENT_CONNECTED) {
        if (c->state == NET_CONN_TLS_HANDSHAKE) {
            net_tls_log_session(bev, c->log, c->name);
            transition(c, NET_CONN_API_VERSIONS, NET_OK, NET_TLS_FAIL_NONE, NULL);
        }
    } else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        int sock_err = EVUTIL_SOCKET_ERROR();
        char msg[400];
        enum net_tls_fail tf = NET_TLS_FAIL_NONE;
        if (c->cfg.tls != NULL) {
            tf = net_tls_explain(bev, c->cfg.tls, c->host, c->state == NET_CONN_TLS_HANDSHAKE, msg,
                                 sizeof msg);
        }
        size_t pending = evbuffer_get_length(bufferevent_get_input(bev));
        if (tf != NET_TLS_FAIL_NONE) {
            conn_fail(c, NET_ERR_TLS, tf, "%s", msg);
        } else if (c->cfg.tls != NULL && c->state == NET_CONN_API_VERSIONS && !c->apiv_retried &&
                   pending == 0 && !net_tls_ctx_has_client_cert(c->cfg.tls)) {
            // With TLS 1.3 a server that wants a client certificate finds out after the
            // handshake and sends an alert; a reset often overtakes the alert, so a close
            // before the first answer, without a client certificate, is read as that.
            conn_fail(c, NET_ERR_TLS, NET_TLS_CLIENT_CERT_REQUIRED,
                      "TLS: client certificate required: the broker closed the connection right "
                      "after the TLS handshake; it requires a client certificate and none is "
                      "configured (%s)",
                      (what & BEV_EVENT_EOF) ? "closed" : evutil_socket_error_to_string(sock_err));
        } else if (what & BEV_EVENT_EOF) {
            if (pending > 0) {
                conn_fail(c, NET_ERR_DISCONNECTED, tf,
                          "connection closed by the broker mid-frame (%zu bytes of an incomplete "
                          "frame received)",
                          pending);
            } else {
                conn_fail(c, NET_ERR_DISCONNECTED, tf, "connection closed by the broker in %s",
                          net_conn_state_name(c->state));
            }
        } else if (c->cfg.tls != NULL && sock_err == 0) {
            conn_fail(c, NET_ERR_DISCONNECTED, tf,
                      "connection closed by the broker in %s (without a TLS close_notify)",
                      net_conn_state_name(c->state));
        } else {
            conn_fail(c, NET_ERR_DISCONNECTED, tf, "connection error in %s: %s",
                      net_conn_state_name(c->state), evutil_socket_error_to_string(sock_err));
        }
    }
    conn_drive(c);
    conn_leave(c);
}

// ---- public lifecycle ------------------------------------------------------------------------

static void dflt32(uint32_t *v, uint32_t d)
{
    if (*v == 0) {
        *v = d;
    }
}

static void config_defaults(struct net_conn_config *g)
{
    if (g->client_id == NULL) {
        g->client_id = "kesm";
    }
    if (g->software_name == NULL) {
        g->software_name = "kesm";
    }
    if (g->software_version == NULL) {
        g->software_version = KESM_VERSION;
    }
    dflt32(&g->connect_timeout_ms, 10000);
    dflt32(&g->handshake_timeout_ms, 10000);
    dflt32(&g->request_timeout_ms, 30000);
    dflt32(&g->idle_timeout_ms, 540000);
    dflt32(&g->backoff_initial_ms, 100);
    dflt32(&g->backoff_max_ms, 10000);
    dflt32(&g->auth_backoff_initial_ms, 1000);
    dflt32(&g->auth_backoff_max_ms, 30000);
    if (g->auth_backoff_max_ms < g->auth_backoff_initial_ms) {
        g->auth_backoff_max_ms = g->auth_backoff_initial_ms;
    }
    dflt32(&g->max_in_flight, 32);
    dflt32(&g->max_queued, 10000);
    if (g->backoff_max_ms < g->backoff_initial_ms) {
        g->backoff_max_ms = g->backoff_initial_ms;
    }
    if (g->max_frame == 0) {
        g->max_frame = 104857600;
    }
    const struct kp_api_info *av = kp_api_info_get(KP_API_API_VERSIONS);
    if (g->api_versions_version <= 0 || g->api_versions_version > av->max_version) {
        g->api_versions_version = av->max_version;
    }
}

struct net_conn *net_conn_new(struct net_reactor *r, const char *host, uint16_t port,
                              const struct net_conn_config *cfg,
                              const struct net_conn_callbacks *cb)
{
    struct net_conn *c = xcalloc(1, sizeof *c);
    c->reactor = r;
    c->host = xstrdup(host);
    c->port = port;
    snprintf(c->name, sizeof c->name, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
    if (cfg != NULL) {
        c->cfg = *cfg;
    }
    kesm_log_component(c->log, sizeof c->log, "net", c->cfg.log_tag);
    c->cfg.log_tag = NULL; // borrowed only for the call; c->log keeps it
    config_defaults(&c->cfg);
    if (cb != NULL) {
        c->cb = *cb;
    }
    c->fd = -1;
    c->next_corr = 1;
    for (size_t i = 0; i <= KP_API_KEY_MAX; i++) {
        c->versions.v[i] = -1;
    }
    c->state_timer = net_timer_new(r, on_state_timer, c);
    c->reauth_timer = net_timer_new(r, conn_on_reauth_timer, c);
    c->kick_ev = event_new(net_reactor_base(r), -1, 0, io_kick_cb, c);
    if (c->kick_ev == NULL) {
        fputs("kesm: out of memory (event)\n", stderr);
        abort();
    }
    c->state = NET_CONN_RESOLVING;
    c->entry_pending = true;
    kesm_log(KESM_LOG_INFO, c->log, "broker %s: connecting%s", c->name, c->cfg.tls ? " (TLS)" : "");
    conn_enter(c);
    conn_drive(c);
    conn_leave(c);
    return c;
}

void net_conn_free(struct net_conn *c)
{
    if (c == NULL || c->freed) {
        return;
    }
    conn_enter(c);
    c->freed = true;
    bool was_running = conn_auth_running(c);
    teardown(c);
    c->state = NET_CONN_CLOSED;
    io_fail_inflight(c, NET_ERR_CLOSED, "connection freed");
    io_fail_queued(c, NET_ERR_CLOSED, "connection freed", false);
    conn_auth_stop(c, was_running);
    conn_leave(c);
}

struct net_reactor *net_conn_reactor(const struct net_conn *c)
{
    return c->reactor;
}

enum net_conn_state net_conn_state(const struct net_conn *c)
{
    return c->state;
}

const struct kp_versions *net_conn_versions(const struct net_conn *c)
{
    return c->have_versions ? &c->versions : NULL;
}

int16_t net_conn_version(const struct net_conn *c, int16_t api_key)
{
    return c->have_versions ? kp_versions_get(&c->versions, api_key) : -1;
}

const char *net_conn_last_error(const struct net_conn *c)
{
    return c->last_error;
}

const char *net_conn_name(const struct net_conn *c)
{
    return c->name;
}

const char *net_conn_log_component(const struct net_conn *c)
{
    return c->log;
}

void net_conn_get_stats(const struct net_conn *c, struct net_conn_stats *out)
{
    *out = c->stats;
    out->in_flight = c->inflight.n;
    out->queued = c->queue.n;
}
