// conn.c: the broker session state machine (see conn.h): the stream's progress, the ApiVersions
// and auth handshake, backoff, idle close and the deadlines. Requests, framing and dispatch live
// in conn_req.c, re-authentication in conn_reauth.c, the net/stream driver in conn_net.c.
#include "broker/conn.h"

#include "base/alloc.h"
#include "base/log.h"
#include "broker/conn_int.h"
#include "proto/api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef KESM_VERSION
#define KESM_VERSION "0.0.0"
#endif

const char *broker_conn_state_name(enum broker_conn_state st)
{
    switch (st) {
    case BROKER_CONN_RESOLVING:
        return "RESOLVING";
    case BROKER_CONN_CONNECTING:
        return "CONNECTING";
    case BROKER_CONN_TLS_HANDSHAKE:
        return "TLS_HANDSHAKE";
    case BROKER_CONN_API_VERSIONS:
        return "API_VERSIONS";
    case BROKER_CONN_AUTH:
        return "AUTH";
    case BROKER_CONN_READY:
        return "READY";
    case BROKER_CONN_BACKOFF:
        return "BACKOFF";
    case BROKER_CONN_IDLE:
        return "IDLE";
    case BROKER_CONN_CLOSED:
        return "CLOSED";
    }
    return "?";
}

const char *broker_err_name(int err)
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

bool broker_conn_event_is_authn(const struct broker_conn_event *ev)
{
    return ev->err == BROKER_ERR_AUTH ||
           (ev->err == BROKER_ERR_TLS && net_tls_fail_is_authn(ev->tls_fail));
}

// ---- entry, exit and deferred free ---------------------------------------------------------

static void destroy(struct broker_conn *c)
{
    c->io.release(c->io.ctx);
    free(c->host);
    free(c);
}

void conn_enter(struct broker_conn *c)
{
    c->busy++;
}

// conn_leave returns false when the connection is gone (freed now or marked freed).
bool conn_leave(struct broker_conn *c)
{
    if (--c->busy == 0 && c->freed) {
        destroy(c);
        return false;
    }
    return !c->freed;
}

uint64_t conn_now(struct broker_conn *c)
{
    return c->io.now_ms(c->io.ctx);
}

void conn_deadline(struct broker_conn *c, uint64_t at)
{
    if (at < c->armed_at) {
        c->armed_at = at;
        c->io.arm(c->io.ctx, at);
    }
}

void conn_sync_reading(struct broker_conn *c)
{
    bool want = !req_read_paused(c);
    if (c->open && want != c->reading) {
        c->reading = want;
        c->io.set_reading(c->io.ctx, want);
    }
}

static void transition(struct broker_conn *c, enum broker_conn_state to, int err,
                       enum net_tls_fail tf, const char *msg)
{
    struct broker_conn_event ev = {c->state, to, err, tf, msg};
    c->state = to;
    c->entry_pending = true;
    kesm_log(err ? KESM_LOG_WARN : KESM_LOG_INFO, c->log, "broker %s: %s -> %s%s%s", c->name,
             broker_conn_state_name(ev.from), broker_conn_state_name(to), msg ? ": " : "",
             msg ? msg : "");
    if (c->cb.on_state != NULL) {
        c->cb.on_state(c, &ev, c->cb.ctx);
    }
}

// ---- tearing the stream down ----------------------------------------------------------------

static void teardown(struct broker_conn *c)
{
    if (c->open) {
        c->io.close(c->io.ctx);
    }
    c->open = false;
    c->wire_up = false;
    c->reading = true;
    c->gen++;
    c->state_at = BROKER_NEVER;
    c->reauth_at = BROKER_NEVER;
    c->reauth = REAUTH_NONE;
    c->stats.reauth_ms = 0;
}

bool conn_auth_running(const struct broker_conn *c)
{
    return c->state == BROKER_CONN_AUTH ||
           (c->state == BROKER_CONN_READY && c->reauth == REAUTH_RUNNING);
}

void conn_auth_stop(struct broker_conn *c, bool was_running)
{
    if (was_running && c->cfg.auth != NULL && c->cfg.auth->stop != NULL) {
        c->cfg.auth->stop(c, c->cfg.auth->ctx);
    }
}

void conn_fail(struct broker_conn *c, int err, enum net_tls_fail tf, const char *fmt, ...)
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
    struct broker_conn_event probe = {c->state, BROKER_CONN_BACKOFF, err, tf, msg};
    c->authn_failure = broker_conn_event_is_authn(&probe);
    transition(c, c->cfg.no_reconnect ? BROKER_CONN_CLOSED : BROKER_CONN_BACKOFF, err, tf, msg);
    char why[sizeof c->name + sizeof msg + 32];
    snprintf(why, sizeof why, "connection to %s lost: %s", c->name, msg);
    req_fail_inflight(c, BROKER_ERR_DISCONNECTED, why);
    req_fail_queued(c, BROKER_ERR_DISCONNECTED, why, true);
    // Last, so the plug-in's own requests were failed while its state still existed.
    conn_auth_stop(c, was_running);
}

// ---- states ----------------------------------------------------------------------------------

static void do_resolving(struct broker_conn *c)
{
    teardown(c);
    c->open = true;
    c->io.open(c->io.ctx, c);
}

static void do_connecting(struct broker_conn *c)
{
    (void)c; // the stream tries each address; broker_conn_io_phase reports the connection
}

static void do_tls_handshake(struct broker_conn *c)
{
    (void)c; // the stream runs the handshake; NET_STREAM_OPEN reports its end
}

static void do_api_versions(struct broker_conn *c)
{
    req_start_api_versions(c);
}

void conn_wake(struct broker_conn *c)
{
    transition(c, BROKER_CONN_RESOLVING, BROKER_OK, NET_TLS_FAIL_NONE, "request queued");
}

void conn_handshake_done(struct broker_conn *c)
{
    if (c->cfg.auth != NULL) {
        transition(c, BROKER_CONN_AUTH, BROKER_OK, NET_TLS_FAIL_NONE, c->cfg.auth->mechanism);
    } else {
        transition(c, BROKER_CONN_READY, BROKER_OK, NET_TLS_FAIL_NONE, NULL);
    }
}

static void do_auth(struct broker_conn *c)
{
    c->session_lifetime_ms = 0;
    c->cfg.auth->start(c, c->cfg.auth->ctx);
}

bool broker_conn_is_tls(const struct broker_conn *c)
{
    return c->cfg.tls != NULL;
}

void broker_conn_auth_done(struct broker_conn *c, int err, const char *reason)
{
    if (c->freed || !conn_auth_running(c)) {
        return;
    }
    conn_enter(c);
    if (c->state == BROKER_CONN_READY) {
        conn_reauth_done(c, err, reason);
    } else if (err == BROKER_OK) {
        transition(c, BROKER_CONN_READY, BROKER_OK, NET_TLS_FAIL_NONE, NULL);
        conn_auth_stop(c, true);
        conn_schedule_reauth(c);
    } else {
        const char *mech = c->cfg.auth->mechanism ? c->cfg.auth->mechanism : "SASL";
        conn_fail(c, err < 0 ? err : BROKER_ERR_AUTH, NET_TLS_FAIL_NONE,
                  "%s authentication with broker %s failed: %s", mech, c->name,
                  reason ? reason : "no reason given");
    }
    conn_drive(c);
    conn_leave(c);
}

static void do_ready(struct broker_conn *c)
{
    c->state_at = BROKER_NEVER;
    c->attempt = 0;
    c->authn_failure = false;
    c->stats.connects++;
    conn_sync_reading(c);
    req_kick(c);
    conn_note_activity(c);
}

static uint32_t jitter_delay(struct broker_conn *c)
{
    uint64_t d = c->authn_failure ? c->cfg.auth_backoff_initial_ms : c->cfg.backoff_initial_ms;
    uint64_t cap = c->authn_failure ? c->cfg.auth_backoff_max_ms : c->cfg.backoff_max_ms;
    for (uint32_t i = 1; i < c->attempt && d < cap; i++) {
        d *= 2;
    }
    if (d > cap) {
        d = cap;
    }
    uint32_t r = c->io.random(c->io.ctx);
    // +-20%: d * (0.8 + 0.4 * r / 2^32)
    uint64_t j = d * 8 / 10 + (d * 4 / 10) * (uint64_t)r / UINT32_MAX;
    return (uint32_t)(j ? j : 1);
}

static void do_backoff(struct broker_conn *c)
{
    c->stats.backoff_ms = jitter_delay(c);
    kesm_log(KESM_LOG_INFO, c->log, "broker %s: reconnecting in %u ms (attempt %u%s)", c->name,
             c->stats.backoff_ms, c->attempt, c->authn_failure ? ", authentication backoff" : "");
    c->state_at = conn_now(c) + c->stats.backoff_ms;
    conn_deadline(c, c->state_at);
}

static void do_idle(struct broker_conn *c)
{
    teardown(c);
}

static void do_closed(struct broker_conn *c)
{
    teardown(c);
    req_fail_queued(c, BROKER_ERR_CLOSED, "connection closed for good (no_reconnect)", false);
}

void conn_drive(struct broker_conn *c)
{
    while (!c->freed && c->entry_pending) {
        c->entry_pending = false;
        switch (c->state) {
        case BROKER_CONN_RESOLVING:
            do_resolving(c);
            break;
        case BROKER_CONN_CONNECTING:
            do_connecting(c);
            break;
        case BROKER_CONN_TLS_HANDSHAKE:
            do_tls_handshake(c);
            break;
        case BROKER_CONN_API_VERSIONS:
            do_api_versions(c);
            break;
        case BROKER_CONN_AUTH:
            do_auth(c);
            break;
        case BROKER_CONN_READY:
            do_ready(c);
            break;
        case BROKER_CONN_BACKOFF:
            do_backoff(c);
            break;
        case BROKER_CONN_IDLE:
            do_idle(c);
            break;
        case BROKER_CONN_CLOSED:
            do_closed(c);
            break;
        }
    }
}

void conn_note_activity(struct broker_conn *c)
{
    if (c->state != BROKER_CONN_READY || c->freed || c->reauth != REAUTH_NONE) {
        return; // a re-authentication owns the state deadline
    }
    if (req_idle(c) && c->cfg.idle_timeout_ms != BROKER_TIMEOUT_NEVER) {
        c->state_at = conn_now(c) + c->cfg.idle_timeout_ms;
        conn_deadline(c, c->state_at);
    } else {
        c->state_at = BROKER_NEVER;
    }
}

// ---- inputs ------------------------------------------------------------------------------------

void broker_conn_io_phase(struct broker_conn *c, enum net_stream_phase phase)
{
    if (c->freed || !c->open) {
        return;
    }
    conn_enter(c);
    switch (phase) {
    case NET_STREAM_RESOLVED:
        if (c->state == BROKER_CONN_RESOLVING) {
            transition(c, BROKER_CONN_CONNECTING, BROKER_OK, NET_TLS_FAIL_NONE, NULL);
        }
        break;
    case NET_STREAM_TCP:
        if (c->state == BROKER_CONN_CONNECTING) {
            c->state_at = conn_now(c) + c->cfg.handshake_timeout_ms;
            conn_deadline(c, c->state_at);
            c->apiv_version = c->cfg.api_versions_version;
            c->apiv_retried = false;
            transition(c, c->cfg.tls ? BROKER_CONN_TLS_HANDSHAKE : BROKER_CONN_API_VERSIONS,
                       BROKER_OK, NET_TLS_FAIL_NONE, NULL);
        }
        break;
    case NET_STREAM_OPEN:
        c->wire_up = true;
        if (c->state == BROKER_CONN_TLS_HANDSHAKE) {
            transition(c, BROKER_CONN_API_VERSIONS, BROKER_OK, NET_TLS_FAIL_NONE, NULL);
        }
        req_kick(c);
        break;
    }
    conn_drive(c);
    conn_leave(c);
}

void broker_conn_io_closed(struct broker_conn *c, const struct net_stream_close *why)
{
    if (c->freed || !c->open) {
        return;
    }
    conn_enter(c);
    c->open = false; // the driver drops the stream itself
    const char *st = broker_conn_state_name(c->state);
    switch (why->end) {
    case NET_STREAM_END_RESOLVE:
        conn_fail(c, BROKER_ERR_RESOLVE, NET_TLS_FAIL_NONE, "%s", why->msg);
        break;
    case NET_STREAM_END_CONNECT:
        conn_fail(c, BROKER_ERR_CONNECT, NET_TLS_FAIL_NONE, "cannot connect to %s (%s)", c->name,
                  why->msg);
        break;
    case NET_STREAM_END_TLS:
        conn_fail(c, BROKER_ERR_TLS, why->tls_fail, "%s", why->msg);
        break;
    case NET_STREAM_END_EOF:
        if (why->pending > 0) {
            conn_fail(c, BROKER_ERR_DISCONNECTED, NET_TLS_FAIL_NONE,
                      "connection closed by the broker mid-frame (%zu bytes of an incomplete "
                      "frame received)",
                      why->pending);
        } else {
            conn_fail(c, BROKER_ERR_DISCONNECTED, NET_TLS_FAIL_NONE,
                      "connection closed by the broker in %s", st);
        }
        break;
    case NET_STREAM_END_NO_NOTIFY:
        conn_fail(c, BROKER_ERR_DISCONNECTED, NET_TLS_FAIL_NONE,
                  "connection closed by the broker in %s (without a TLS close_notify)", st);
        break;
    case NET_STREAM_END_ERROR:
        conn_fail(c, BROKER_ERR_DISCONNECTED, NET_TLS_FAIL_NONE, "connection error in %s: %s", st,
                  why->msg);
        break;
    case NET_STREAM_END_FRAME_LIMIT:
        conn_fail(c, BROKER_ERR_FRAME_TOO_LARGE, NET_TLS_FAIL_NONE, "%s", why->msg);
        break;
    case NET_STREAM_END_FRAME_BAD:
        conn_fail(c, BROKER_ERR_PROTOCOL, NET_TLS_FAIL_NONE, "%s", why->msg);
        break;
    }
    conn_drive(c);
    conn_leave(c);
}

void broker_conn_io_frame(struct broker_conn *c, const uint8_t *p, size_t len)
{
    if (c->freed || !c->open) {
        return;
    }
    conn_enter(c);
    req_dispatch_frame(c, p, len);
    conn_drive(c);
    conn_leave(c);
}

void broker_conn_io_wake(struct broker_conn *c)
{
    if (c->freed) {
        return;
    }
    conn_enter(c);
    c->kick_pending = false;
    if (c->state == BROKER_CONN_IDLE && c->queue.n > 0) {
        conn_wake(c);
    }
    if (!c->freed && c->wire_up) {
        req_flush(c);
    }
    conn_drive(c);
    conn_leave(c);
}

// state_deadline: the state's own deadline passed (handshake, re-authentication, idle, backoff).
static void state_deadline(struct broker_conn *c)
{
    switch (c->state) {
    case BROKER_CONN_TLS_HANDSHAKE:
        conn_fail(c, BROKER_ERR_TLS, NET_TLS_HANDSHAKE_TIMEOUT,
                  "TLS: handshake timeout: no TLS handshake completed within %u ms",
                  c->cfg.handshake_timeout_ms);
        break;
    case BROKER_CONN_API_VERSIONS:
    case BROKER_CONN_AUTH:
        conn_fail(c, BROKER_ERR_TIMEOUT, NET_TLS_FAIL_NONE, "handshake timed out in %s after %u ms",
                  broker_conn_state_name(c->state), c->cfg.handshake_timeout_ms);
        break;
    case BROKER_CONN_READY:
        if (c->reauth == REAUTH_RUNNING) {
            conn_fail(c, BROKER_ERR_TIMEOUT, NET_TLS_FAIL_NONE,
                      "re-authentication timed out after %u ms", c->cfg.handshake_timeout_ms);
        } else if (c->reauth == REAUTH_NONE && req_idle(c)) {
            char msg[64];
            snprintf(msg, sizeof msg, "idle for %u ms", c->cfg.idle_timeout_ms);
            transition(c, BROKER_CONN_IDLE, BROKER_OK, NET_TLS_FAIL_NONE, msg);
        }
        break;
    case BROKER_CONN_BACKOFF:
        transition(c, BROKER_CONN_RESOLVING, BROKER_OK, NET_TLS_FAIL_NONE, NULL);
        break;
    case BROKER_CONN_RESOLVING:
    case BROKER_CONN_CONNECTING:
    case BROKER_CONN_IDLE:
    case BROKER_CONN_CLOSED:
        break;
    }
}

void broker_conn_io_timer(struct broker_conn *c)
{
    if (c->freed) {
        return;
    }
    conn_enter(c);
    c->armed_at = BROKER_NEVER;
    uint64_t now = conn_now(c);
    if (c->state_at <= now) {
        c->state_at = BROKER_NEVER;
        state_deadline(c);
        conn_drive(c);
    }
    if (!c->freed && c->reauth_at <= now) {
        c->reauth_at = BROKER_NEVER;
        conn_reauth_due(c);
        conn_drive(c);
    }
    uint64_t next = BROKER_NEVER;
    if (!c->freed) {
        next = req_expire(c, now);
        conn_drive(c);
    }
    if (!c->freed) {
        next = next < c->state_at ? next : c->state_at;
        next = next < c->reauth_at ? next : c->reauth_at;
        conn_deadline(c, next);
    }
    conn_leave(c);
}

// ---- public lifecycle ------------------------------------------------------------------------

static void dflt32(uint32_t *v, uint32_t d)
{
    if (*v == 0) {
        *v = d;
    }
}

static void config_defaults(struct broker_conn_config *g)
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

struct broker_conn *broker_conn_new_io(const struct broker_io *io, const char *host, uint16_t port,
                                       const struct broker_conn_config *cfg,
                                       const struct broker_conn_callbacks *cb)
{
    struct broker_conn *c = xcalloc(1, sizeof *c);
    c->io = *io;
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
    c->next_corr = 1;
    c->reading = true;
    c->state_at = c->reauth_at = c->armed_at = BROKER_NEVER;
    for (size_t i = 0; i <= KP_API_KEY_MAX; i++) {
        c->versions.v[i] = -1;
    }
    c->state = BROKER_CONN_RESOLVING;
    c->entry_pending = true;
    kesm_log(KESM_LOG_INFO, c->log, "broker %s: connecting%s", c->name, c->cfg.tls ? " (TLS)" : "");
    conn_enter(c);
    conn_drive(c);
    conn_leave(c);
    return c;
}

void broker_conn_free(struct broker_conn *c)
{
    if (c == NULL || c->freed) {
        return;
    }
    conn_enter(c);
    c->freed = true;
    bool was_running = conn_auth_running(c);
    teardown(c);
    c->state = BROKER_CONN_CLOSED;
    req_fail_inflight(c, BROKER_ERR_CLOSED, "connection freed");
    req_fail_queued(c, BROKER_ERR_CLOSED, "connection freed", false);
    conn_auth_stop(c, was_running);
    conn_leave(c);
}

enum broker_conn_state broker_conn_state(const struct broker_conn *c)
{
    return c->state;
}

const struct kp_versions *broker_conn_versions(const struct broker_conn *c)
{
    return c->have_versions ? &c->versions : NULL;
}

int16_t broker_conn_version(const struct broker_conn *c, int16_t api_key)
{
    return c->have_versions ? kp_versions_get(&c->versions, api_key) : -1;
}

const char *broker_conn_last_error(const struct broker_conn *c)
{
    return c->last_error;
}

const char *broker_conn_name(const struct broker_conn *c)
{
    return c->name;
}

const char *broker_conn_log_component(const struct broker_conn *c)
{
    return c->log;
}

struct net_reactor *broker_conn_reactor(const struct broker_conn *c)
{
    return c->reactor;
}

void broker_conn_get_stats(const struct broker_conn *c, struct broker_conn_stats *out)
{
    *out = c->stats;
    out->in_flight = c->inflight.n;
    out->queued = c->queue.n;
}
