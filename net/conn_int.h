// conn_int.h: the connection object, shared by conn.c (state machine) and conn_io.c (requests,
// framing and dispatch). Nothing outside net/ includes this.
#ifndef NET_CONN_INT_H
#define NET_CONN_INT_H

#include "net/conn.h"
#include "net/internal.h"
#include "net/log.h"
#include "net/membudget.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

struct req {
    struct req *next;
    struct net_conn *c;
    struct net_req r;
    uint8_t *body_copy; // net_conn_send_body's copy
    size_t body_len;
    struct net_timer *timer;
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

struct net_conn {
    struct net_reactor *reactor;
    char *host;
    uint16_t port;
    char name[300];
    char log[KESM_LOG_COMPONENT_CAP]; // log component: "net" or "net <log_tag>"
    struct net_conn_config cfg;
    struct net_conn_callbacks cb;

    enum net_conn_state state;
    bool entry_pending; // the driver has yet to run do_<state>() for |state|
    int busy;           // depth of libevent callbacks and public calls on the stack
    bool freed;         // net_conn_free was called while busy

    // RESOLVING / CONNECTING
    struct net_lookup dns;
    evutil_socket_t fd;
    struct event *connect_ev;
    char conn_errs[256]; // why each address failed

    // connected
    struct bufferevent *bev;
    uint32_t bev_gen; // bumped whenever bev is torn down
    bool paused;
    struct event *kick_ev; // deferred flush + input processing

    struct net_timer *state_timer; // connect/handshake timeout, backoff, idle
    uint32_t attempt;              // failures since the last READY
    bool authn_failure;            // the last failure was an authentication failure

    // KIP-368
    struct net_timer *reauth_timer;
    enum reauth_phase reauth;
    int64_t session_lifetime_ms; // granted by the exchange running now (0 = no limit)
    uint64_t reauth_began_ms;    // reactor time the drain began

    int16_t apiv_version;
    bool apiv_retried;
    struct kp_versions versions;
    bool have_versions;

    // the process-wide memory budget (net/membudget.h) for the frame being received
    struct net_membudget_waiter mb_wait;
    size_t mb_reserved;

    struct req_list queue;    // accepted, not yet written
    struct req_list inflight; // written, awaiting a response
    int32_t next_corr;

    char last_error[512];
    struct net_conn_stats stats;
};

// conn.c
void conn_fail(struct net_conn *c, int err, enum net_tls_fail tf, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void conn_handshake_done(struct net_conn *c);
void conn_wake(struct net_conn *c); // IDLE -> RESOLVING
void conn_enter(struct net_conn *c);
bool conn_leave(struct net_conn *c);
// conn_auth_running returns true while the plug-in's exchange runs (AUTH, or a
// re-authentication); conn_auth_stop calls the plug-in's stop() if |was_running|.
bool conn_auth_running(const struct net_conn *c);
void conn_auth_stop(struct net_conn *c, bool was_running);

// conn_reauth.c (KIP-368)
void conn_schedule_reauth(struct net_conn *c);    // after an exchange: arm the next one, if any
void conn_on_reauth_timer(void *arg);             // READY -> DRAINING
void conn_reauth_maybe_begin(struct net_conn *c); // DRAINING with nothing on the wire -> RUNNING
void conn_reauth_done(struct net_conn *c, int err, const char *reason); // RUNNING -> READY/fail
void conn_drive(struct net_conn *c);
void conn_note_activity(struct net_conn *c);

// conn_io.c
void io_start_api_versions(struct net_conn *c);
void io_kick(struct net_conn *c);
void io_on_read(struct bufferevent *bev, void *arg);
void io_kick_cb(evutil_socket_t fd, short what, void *arg);
void io_fail_inflight(struct net_conn *c, int err, const char *msg);
void io_fail_queued(struct net_conn *c, int err, const char *msg, bool handshake_only);
void io_deliver_error(struct net_conn *c, struct req *q, int err, const char *msg);
void io_budget_init(struct net_conn *c);    // a new bufferevent: read at most the free share
void io_budget_release(struct net_conn *c); // the bufferevent goes: give the reservation back
bool io_idle(const struct net_conn *c);

#endif
