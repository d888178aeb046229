// conn_reauth.c: KIP-368 re-authentication of a READY connection (see conn.h): scheduling at
// 85-95% of the session lifetime, draining the requests on the wire, running the auth plug-in's
// exchange again on the same socket, and resuming.
#include "base/log.h"
#include "broker/conn.h"
#include "broker/conn_int.h"

#include <stdint.h>

// conn_schedule_reauth arms the re-authentication at a random point in [85%, 95%] of the session
// lifetime granted by the exchange that just finished (the Java client's window).
void conn_schedule_reauth(struct broker_conn *c)
{
    c->reauth_at = BROKER_NEVER;
    c->stats.reauth_ms = 0;
    if (c->session_lifetime_ms <= 0) {
        return;
    }
    uint64_t life = (uint64_t)c->session_lifetime_ms;
    uint32_t r = c->io.random(c->io.ctx);
    // life * (0.85 + 0.10 * r / 2^32), computed in 1/1000ths so it cannot overflow for any
    // lifetime below 2^53 ms.
    uint64_t per_mille = 850 + (uint64_t)r * 100 / UINT32_MAX;
    uint64_t d = life / 1000 * per_mille + life % 1000 * per_mille / 1000;
    if (d == 0) {
        d = 1;
    }
    if (d > UINT32_MAX) {
        d = UINT32_MAX;
    }
    c->stats.reauth_ms = (uint32_t)d;
    c->reauth_at = conn_now(c) + d;
    conn_deadline(c, c->reauth_at);
    kesm_log(KESM_LOG_DEBUG, c->log,
             "broker %s: session lifetime %lld ms; re-authenticating in %u ms", c->name,
             (long long)c->session_lifetime_ms, c->stats.reauth_ms);
}

void conn_reauth_due(struct broker_conn *c)
{
    if (c->state != BROKER_CONN_READY || c->reauth != REAUTH_NONE || c->cfg.auth == NULL) {
        return;
    }
    c->reauth = REAUTH_DRAINING;
    c->stats.reauth_ms = 0;
    c->reauth_began_ms = conn_now(c);
    kesm_log(KESM_LOG_INFO, c->log,
             "broker %s: re-authenticating (%s); holding new requests until %u in flight are "
             "answered",
             c->name, c->cfg.auth->mechanism ? c->cfg.auth->mechanism : "SASL", c->inflight.n);
    c->state_at = BROKER_NEVER; // no idle close while re-authenticating
    req_kick(c);
}

void conn_reauth_maybe_begin(struct broker_conn *c)
{
    if (c->state != BROKER_CONN_READY || c->reauth != REAUTH_DRAINING || c->inflight.n > 0 ||
        !c->wire_up) {
        return;
    }
    c->reauth = REAUTH_RUNNING;
    c->session_lifetime_ms = 0;
    conn_sync_reading(c); // the exchange's answers must be read, even while paused
    c->state_at = conn_now(c) + c->cfg.handshake_timeout_ms;
    conn_deadline(c, c->state_at);
    c->cfg.auth->start(c, c->cfg.auth->ctx);
}

void conn_reauth_done(struct broker_conn *c, int err, const char *reason)
{
    const char *mech = c->cfg.auth->mechanism ? c->cfg.auth->mechanism : "SASL";
    if (err != BROKER_OK) {
        conn_fail(c, err < 0 ? err : BROKER_ERR_AUTH, NET_TLS_FAIL_NONE,
                  "%s re-authentication with broker %s failed: %s", mech, c->name,
                  reason ? reason : "no reason given");
        return;
    }
    c->reauth = REAUTH_NONE;
    c->stats.reauths++;
    uint64_t held = conn_now(c) - c->reauth_began_ms;
    if (held > c->stats.reauth_hold_max_ms) {
        c->stats.reauth_hold_max_ms = held > UINT32_MAX ? UINT32_MAX : (uint32_t)held;
    }
    c->state_at = BROKER_NEVER;
    conn_sync_reading(c);
    conn_auth_stop(c, true);
    conn_schedule_reauth(c);
    kesm_log(KESM_LOG_DEBUG, c->log,
             "broker %s: re-authentication (%s) done; %u queued requests resume", c->name, mech,
             c->queue.n);
    req_kick(c);
    conn_note_activity(c);
}

void broker_conn_auth_session_lifetime(struct broker_conn *c, int64_t lifetime_ms)
{
    if (!c->freed && conn_auth_running(c)) {
        c->session_lifetime_ms = lifetime_ms > 0 ? lifetime_ms : 0;
    }
}

bool broker_conn_reauthenticating(const struct broker_conn *c)
{
    return c->state == BROKER_CONN_READY && c->reauth != REAUTH_NONE;
}
