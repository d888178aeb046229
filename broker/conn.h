// conn.h: one Kafka session with one broker, the public API of broker/.
//
// A broker_conn is a sans-I/O state machine (conn.c, conn_req.c, conn_reauth.c: no libevent, no
// sockets, no clock of its own) driven over a byte stream. broker_conn_new drives it over
// net/stream (conn_net.c); broker_conn_new_io (broker/conn_io.h) over anything, which is how the
// fuzz target runs it without a reactor.
//
// The stream resolves the host with evdns (hosts file first; never blocking the loop), tries each
// address in turn with a connect timeout (TCP_NODELAY and keepalive on), optionally runs TLS; the
// session then negotiates API versions with ApiVersions (highest version first; on
// UNSUPPORTED_VERSION or an unparsable answer it retries once at the version
// kp_api_versions_fallback picks, v0 when nothing better is known), runs the SASL plug-in when
// one is configured, and is then READY. Requests sent before READY wait in a queue and go out
// when it is reached.
//
// States (the driver in conn.c runs one do_<state>() on entry to each):
//
//   RESOLVING -> CONNECTING -> [TLS_HANDSHAKE] -> API_VERSIONS -> [AUTH] -> READY
//        ^                                                                  |  \ idle
//        +------ BACKOFF <---------- any failure ---------------------------+   IDLE
//                   \ (no_reconnect)-> CLOSED
//
// After a failure the connection waits in BACKOFF (exponential, from backoff_initial_ms doubling
// up to backoff_max_ms, each delay jittered by +-20%, reset once READY) and starts again. After an
// authentication failure (broker_conn_event_is_authn) the delays run from auth_backoff_initial_ms
// (1 s) up to auth_backoff_max_ms (30 s) instead: wrong credentials do not fix themselves, and a
// broker must not be hammered with failing logins. An idle
// READY connection (nothing queued or in flight for idle_timeout_ms) closes to IDLE and reconnects
// when the next request is sent. Every state change is one log line ("net" component) and one
// on_state callback.
//
// Requests are pipelined (up to max_in_flight on the wire, the rest queued). Each has a timeout
// counted from broker_conn_send; a request that times out while on the wire gets BROKER_ERR_TIMEOUT
// and the connection is closed and re-established (its response would otherwise be ambiguous), as
// the Java client and librdkafka do. The response callback runs exactly once per accepted request:
// with the response body, or with an error when the request times out, cannot be encoded, the
// connection drops while it is in flight (BROKER_ERR_DISCONNECTED), or the connection is freed
// (BROKER_ERR_CLOSED). Queued requests that were not yet written survive a reconnect.
//
// Re-authentication (KIP-368): when the auth plug-in reports a session lifetime
// (broker_conn_auth_session_lifetime), the connection re-authenticates on the same socket at a
// random point between 85% and 95% of it, as the Java client does. The connection stays READY
// throughout: new requests stay queued, the requests on the wire are answered first, then the
// plug-in's start() runs again (its requests are the only ones written) and, once it calls
// broker_conn_auth_done(BROKER_OK), queued requests flow again. A failed re-authentication drops
// the connection like a failed authentication (BROKER_ERR_AUTH); one that does not finish within
// handshake_timeout_ms drops it with BROKER_ERR_TIMEOUT. While reading is paused
// (broker_conn_pause) the drain waits for broker_conn_resume; if the session runs out meanwhile the
// broker closes the connection and it reconnects (queued requests survive, none is on the wire).
//
// Reads: a response frame larger than max_frame is refused from its size prefix, before anything
// is allocated, and drops the connection. broker_conn_pause stops reading (TCP then pushes back on
// the broker) until broker_conn_resume, so a slow consumer never buffers without bound; while
// paused the timeouts of requests already on the wire are extended (their answers may be sitting
// unread in the socket).
//
// Single-threaded: use a connection only on its reactor's thread. Callbacks may call any function
// here, including broker_conn_free on the connection they are called for.
#ifndef BROKER_CONN_H
#define BROKER_CONN_H

#include "net/tls.h"
#include "proto/api_versions.h"
#include "proto/kr.h"
#include "proto/kw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker_conn;
struct net_reactor;

enum broker_conn_state {
    BROKER_CONN_RESOLVING = 0,
    BROKER_CONN_CONNECTING,
    BROKER_CONN_TLS_HANDSHAKE,
    BROKER_CONN_API_VERSIONS,
    BROKER_CONN_AUTH,
    BROKER_CONN_READY,
    BROKER_CONN_BACKOFF,
    BROKER_CONN_IDLE,
    BROKER_CONN_CLOSED,
};

// enum broker_err: 0 or negative. "Fatal" in nghttp2's sense means the connection is dropped;
// every error below that drops it is followed by BACKOFF and a reconnect unless no_reconnect.
enum broker_err {
    BROKER_OK = 0,
    BROKER_ERR_DISCONNECTED = -1,    // connection dropped while the request was in flight
    BROKER_ERR_TIMEOUT = -2,         // request (or connect/handshake) timed out
    BROKER_ERR_RESOLVE = -3,         // name did not resolve
    BROKER_ERR_CONNECT = -4,         // no address accepted a TCP connection
    BROKER_ERR_TLS = -5,             // TLS failure; see broker_conn_event.tls_fail
    BROKER_ERR_AUTH = -6,            // SASL failure reported by the auth plug-in
    BROKER_ERR_PROTOCOL = -7,        // bad frame, header or correlation id from the broker
    BROKER_ERR_FRAME_TOO_LARGE = -8, // response frame above max_frame
    BROKER_ERR_VERSION = -9,         // no version in common (for the request or a required API)
    BROKER_ERR_CLOSED = -10,         // the connection was freed or closed for good
    BROKER_ERR_QUEUE_FULL = -11,     // max_queued requests already waiting
    BROKER_ERR_ENCODE = -12,         // the body writer failed
    BROKER_ERR_INVALID = -13,        // bad argument to broker_conn_send
};

// broker_err_name returns a static name ("timeout") for an enum broker_err value.
const char *broker_err_name(int err);
// broker_conn_state_name returns "READY" etc.
const char *broker_conn_state_name(enum broker_conn_state st);

// struct broker_conn_event describes one state change (passed to on_state).
struct broker_conn_event {
    enum broker_conn_state from, to;
    int err;                    // why the connection went down (BROKER_OK for normal progress)
    enum net_tls_fail tls_fail; // TLS class when err == BROKER_ERR_TLS
    const char *msg;            // one readable line, or NULL; valid during the callback only
};

// broker_conn_event_is_authn returns true when the failure is about credentials or trust (TLS
// certificate problems, client certificate refused, SASL failure): the ESM reason
// EVENT_SOURCE_AUTHN_ERROR.
bool broker_conn_event_is_authn(const struct broker_conn_event *ev);

// struct broker_auth is the SASL plug-in point. After ApiVersions, a connection whose config has
// an auth enters AUTH and calls start(conn, ctx). The plug-in drives its mechanism with requests
// sent through broker_conn_send with .handshake = true (those go out before READY; it reads the
// negotiated versions with broker_conn_versions), and ends the phase with broker_conn_auth_done.
// stop(conn, ctx), if set, is called whenever the connection leaves AUTH (done, dropped or
// freed), so per-connection mechanism state can be released there.
struct broker_auth {
    const char *mechanism; // for logs only, e.g. "SCRAM-SHA-512"
    void (*start)(struct broker_conn *c, void *ctx);
    void (*stop)(struct broker_conn *c, void *ctx);
    void *ctx;
};

// The plug-in's start() is also how a re-authentication runs (see above): the connection is then
// READY and broker_conn_reauthenticating returns true.
//
// broker_conn_auth_done ends AUTH (or a re-authentication): |err| BROKER_OK makes the connection
// READY; BROKER_ERR_AUTH (or any other error) drops it with |reason| (one line, logged; never put
// secrets in it). The event message reads "<mechanism> authentication with broker <host:port>
// failed: <reason>" ("re-authentication" for a re-authentication). Ignored when no exchange is
// running.
void broker_conn_auth_done(struct broker_conn *c, int err, const char *reason);
// broker_conn_auth_session_lifetime records the session lifetime the broker granted (KIP-368
// SessionLifetimeMs; <= 0 = no limit). Call it before broker_conn_auth_done(BROKER_OK); it
// schedules the next re-authentication. Ignored when no exchange is running.
void broker_conn_auth_session_lifetime(struct broker_conn *c, int64_t lifetime_ms);
// broker_conn_reauthenticating returns true while a re-authentication is draining or running.
bool broker_conn_reauthenticating(const struct broker_conn *c);
// broker_conn_is_tls returns true when the connection is configured with TLS.
bool broker_conn_is_tls(const struct broker_conn *c);

// Timeout value meaning "never" (idle_timeout_ms).
#define BROKER_TIMEOUT_NEVER UINT32_MAX

// struct broker_conn_config: zero-initialise, then set what you need; zero means the default shown.
// Borrowed pointers must outlive the connection.
struct broker_conn_config {
    const char *client_id;          // request header ClientId ("kesm")
    const char *software_name;      // ApiVersions v3 ClientSoftwareName ("kesm")
    const char *software_version;   // ApiVersions v3 ClientSoftwareVersion (KESM_VERSION)
    struct net_tls_ctx *tls;        // NULL = plaintext
    const struct broker_auth *auth; // NULL = no SASL
    const int16_t *required_apis;   // APIs without which the broker is unusable (none)
    size_t num_required_apis;
    uint32_t connect_timeout_ms;      // per address (10000)
    uint32_t handshake_timeout_ms;    // TLS + ApiVersions + auth, from TCP connect (10000)
    uint32_t request_timeout_ms;      // default per request (30000)
    uint32_t idle_timeout_ms;         // close when idle (540000, Kafka's connections.max.idle.ms)
    uint32_t backoff_initial_ms;      // first reconnect delay (100)
    uint32_t backoff_max_ms;          // reconnect delay cap (10000)
    uint32_t auth_backoff_initial_ms; // first delay after an authentication failure (1000)
    uint32_t auth_backoff_max_ms;     // cap after authentication failures (30000)
    uint32_t max_in_flight;           // requests on the wire (32)
    uint32_t max_queued;              // requests waiting to be written (10000)
    size_t max_frame;                 // largest response frame accepted (104857600, 100 MiB)
    int16_t api_versions_version;     // first ApiVersions version to try (-1 or 0 = our highest)
    bool no_reconnect;                // go to CLOSED instead of BACKOFF after a failure
    // log_tag: added to the component of this connection's log lines ("net <tag>"), e.g.
    // "mapping=<UUID>" so a user of `kesm serve` can tell which mapping a broker line is about.
    // Copied. NULL = none.
    const char *log_tag;
};

// struct broker_conn_callbacks: every member may be NULL.
struct broker_conn_callbacks {
    void (*on_state)(struct broker_conn *c, const struct broker_conn_event *ev, void *ctx);
    void *ctx;
};

// broker_conn_new creates a connection to |host|:|port| (a name, or an IPv4/IPv6 literal) and
// starts connecting at once. |cfg| and |cb| are copied (the pointers inside them are borrowed).
// Never returns NULL (aborts on out-of-memory).
struct broker_conn *broker_conn_new(struct net_reactor *r, const char *host, uint16_t port,
                                    const struct broker_conn_config *cfg,
                                    const struct broker_conn_callbacks *cb);
// broker_conn_free closes the connection. Every accepted request whose callback has not run yet
// gets BROKER_ERR_CLOSED, from inside this call. NULL is a no-op. May be called from a callback.
void broker_conn_free(struct broker_conn *c);

// Requests.
#define BROKER_VERSION_AUTO (-1)

// struct broker_resp is what a response callback sees. |body| views the response body after the
// response header (parsed with kp_resp_hdr_parse for the request's key and version); it is valid
// only during the callback: copy anything kept.
struct broker_resp {
    int err;         // BROKER_OK, or an enum broker_err
    const char *msg; // error text when err != BROKER_OK
    int16_t api_key;
    int16_t version; // the version written (-1 if it never was)
    int32_t correlation_id;
    kr body;
};
typedef void (*broker_resp_fn)(struct broker_conn *c, const struct broker_resp *resp, void *ctx);
// broker_body_fn writes a request body at |version| into |w| (the header is written by broker/);
// returns false on failure.
typedef bool (*broker_body_fn)(kw *w, int16_t version, void *ctx);

struct broker_req {
    int16_t api_key;
    int16_t version;           // the version to write, or BROKER_VERSION_AUTO: the negotiated one
    broker_body_fn write_body; // called when the request is written; NULL = empty body
    void *body_ctx;            // must stay valid until on_resp runs
    broker_resp_fn on_resp;    // may be NULL (the response is read and dropped)
    void *ctx;
    uint32_t timeout_ms; // 0 = config request_timeout_ms
    bool handshake;      // auth plug-in requests: may be written before READY
    bool sensitive;      // the body carries a secret: wipe the encoding buffer after sending
};

// broker_conn_send accepts a request. Returns BROKER_OK (on_resp will run exactly once, never from
// inside this call), or an error and on_resp never runs: BROKER_ERR_CLOSED (state CLOSED),
// BROKER_ERR_QUEUE_FULL, BROKER_ERR_VERSION (AUTO on a READY connection whose broker lacks the
// API), BROKER_ERR_INVALID (unknown API with AUTO). An IDLE connection starts reconnecting.
int broker_conn_send(struct broker_conn *c, const struct broker_req *req);
// broker_conn_send_body is broker_conn_send with a prebuilt body (copied now; |version| must be
// explicit).
int broker_conn_send_body(struct broker_conn *c, int16_t api_key, int16_t version, const void *body,
                          size_t body_len, broker_resp_fn on_resp, void *ctx);

// Accessors.
enum broker_conn_state broker_conn_state(const struct broker_conn *c);
// broker_conn_versions returns the negotiated versions, or NULL before the first ApiVersions
// answer. The pointer stays valid for the connection's life (refreshed on each reconnect).
const struct kp_versions *broker_conn_versions(const struct broker_conn *c);
// broker_conn_version returns the negotiated version of |api_key|, or -1.
int16_t broker_conn_version(const struct broker_conn *c, int16_t api_key);
// broker_conn_last_error returns the last failure line ("" if none).
const char *broker_conn_last_error(const struct broker_conn *c);
// broker_conn_name returns "host:port".
const char *broker_conn_name(const struct broker_conn *c);
// broker_conn_log_component returns the component its log lines use: "net" or "net <log_tag>".
// Plug-ins that log about the connection (broker/sasl.c) use it too.
const char *broker_conn_log_component(const struct broker_conn *c);
// broker_conn_reactor returns the reactor a broker_conn_new session runs on (NULL for a session
// over another driver, broker_conn_new_io): broker/sasl.c runs SCRAM key derivations off it.
struct net_reactor *broker_conn_reactor(const struct broker_conn *c);

// Read backpressure: while paused no response is dispatched and the socket is not read.
void broker_conn_pause(struct broker_conn *c);
void broker_conn_resume(struct broker_conn *c);
// broker_conn_buffered returns the bytes read from the socket but not yet dispatched.
size_t broker_conn_buffered(const struct broker_conn *c);

struct broker_conn_stats {
    uint64_t connects;           // times READY was reached
    uint64_t failures;           // times the connection went down with an error
    uint64_t requests;           // requests written
    uint64_t responses;          // responses dispatched
    uint64_t timeouts;           // requests that timed out
    uint32_t in_flight;          // requests on the wire now
    uint32_t queued;             // requests waiting now
    uint32_t backoff_ms;         // the last backoff delay chosen
    uint64_t reauths;            // successful re-authentications (KIP-368)
    uint32_t reauth_ms;          // delay of the scheduled re-authentication (0 = none)
    uint32_t reauth_hold_max_ms; // longest time a re-authentication held new requests back
};
void broker_conn_get_stats(const struct broker_conn *c, struct broker_conn_stats *out);

#endif
