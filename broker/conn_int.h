// conn_int.h: the session object, shared by conn.c (state machine), conn_req.c (requests,
// framing and dispatch) and conn_reauth.c (KIP-368). Nothing outside broker/ includes this.
#ifndef BROKER_CONN_INT_H
#define BROKER_CONN_INT_H

#include "base/log.h"
#include "broker/conn.h"
#include "broker/conn_io.h"

struct req {
    struct req *next;
    struct broker_conn *c;
    struct broker_req r;
    uint8_t *body_copy; // broker_conn_send_body's copy
    size_t body_len;
    uint64_t deadline; // BROKER_NEVER for our ApiVersions (the handshake deadline bounds it)
    uint32_t timeout_ms;
    int32_t corr;
    int16_t version; // written version, -1 until written
    bool internal;   // our ApiVersions
};

// A re-authentication (KIP-368) while READY: DRAINING holds new requests until the ones on the
// wire are answered; RUNNING has the auth plug-in's exchange on the wire.
enum reauth_phase {
    REAUTH_NONE = 0,
    REAUTH_DRAINING,
    REAUTH_RUNNING,
};

struct req_list {
    struct req *head, *tail;
    uint32_t n;
};

struct broker_conn {
    struct broker_io io;
    struct net_reactor *reactor; // broker_conn_new's (NULL over another driver)
    char *host;
    uint16_t port;
    char name[300];
    char log[KESM_LOG_COMPONENT_CAP]; // log component: "net" or "net <log_tag>"
    struct broker_conn_config cfg;
    struct broker_conn_callbacks cb;

    enum broker_conn_state state;
    bool entry_pending; // the driver has yet to run do_<state>() for |state|
    int busy;           // depth of inputs and public calls on the stack
    bool freed;         // broker_conn_free was called while busy

    // the byte stream
    bool open;         // io.open was called and the stream not closed since
    bool wire_up;      // the stream reported NET_STREAM_OPEN: bytes may be written
    uint32_t gen;      // bumped whenever the stream is torn down
    bool paused;       // broker_conn_pause
    bool reading;      // what io.set_reading was last told (a new stream reads)
    bool kick_pending; // io.defer was called and broker_conn_io_wake has not run yet

    // deadlines (BROKER_NEVER = none) and what io.arm was last asked for
    uint64_t state_at;  // handshake timeout, backoff, idle, re-authentication timeout
    uint64_t reauth_at; // the next KIP-368 re-authentication
    uint64_t armed_at;
    uint32_t attempt;   // failures since the last READY
    bool authn_failure; // the last failure was an authentication failure

    // KIP-368
    enum reauth_phase reauth;
    int64_t session_lifetime_ms; // granted by the exchange running now (0 = no limit)
    uint64_t reauth_began_ms;    // when the drain began

    int16_t apiv_version;
    bool apiv_retried;
    struct kp_versions versions;
    bool have_versions;

    struct req_list queue;    // accepted, not yet written
    struct req_list inflight; // written, awaiting a response
    int32_t next_corr;

    char last_error[512];
    struct broker_conn_stats stats;
};

// conn.c
void conn_fail(struct broker_conn *c, int err, enum net_tls_fail tf, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void conn_handshake_done(struct broker_conn *c);
void conn_wake(struct broker_conn *c); // IDLE -> RESOLVING
void conn_enter(struct broker_conn *c);
bool conn_leave(struct broker_conn *c);
// conn_auth_running returns true while the plug-in's exchange runs (AUTH, or a
// re-authentication); conn_auth_stop calls the plug-in's stop() if |was_running|.
bool conn_auth_running(const struct broker_conn *c);
void conn_auth_stop(struct broker_conn *c, bool was_running);
void conn_drive(struct broker_conn *c);
void conn_note_activity(struct broker_conn *c);
uint64_t conn_now(struct broker_conn *c);
// conn_deadline asks for a timer tick at |at| (no later); conn_sync_reading tells the stream
// whether to read (not while paused and READY, unless a re-authentication runs).
void conn_deadline(struct broker_conn *c, uint64_t at);
void conn_sync_reading(struct broker_conn *c);

// conn_reauth.c (KIP-368)
void conn_schedule_reauth(struct broker_conn *c);    // after an exchange: arm the next one, if any
void conn_reauth_due(struct broker_conn *c);         // READY -> DRAINING
void conn_reauth_maybe_begin(struct broker_conn *c); // DRAINING with nothing on the wire -> RUNNING
void conn_reauth_done(struct broker_conn *c, int err, const char *reason); // RUNNING -> READY/fail

// conn_req.c
void req_start_api_versions(struct broker_conn *c);
void req_kick(struct broker_conn *c);
void req_flush(struct broker_conn *c);
void req_dispatch_frame(struct broker_conn *c, const uint8_t *p, size_t len);
// req_expire handles the requests whose deadline passed; returns the earliest deadline left.
uint64_t req_expire(struct broker_conn *c, uint64_t now);
void req_fail_inflight(struct broker_conn *c, int err, const char *msg);
void req_fail_queued(struct broker_conn *c, int err, const char *msg, bool handshake_only);
bool req_idle(const struct broker_conn *c);
bool req_read_paused(const struct broker_conn *c);

#endif
