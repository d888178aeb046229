// httpd.h: a small, bounded HTTP/1.1 server for kesm serve's API (libevent sockets, the strict
// request parser of net/httpd_parse.h).
//
// It is built to stay up and fair under a flood, whatever the clients do:
//   - at most max_conns connections at once. When a new connection arrives at the cap, room is
//     made by closing the oldest idle keep-alive connection, else the oldest connection that has
//     been sending its request for longer than pressure_ms (a slow client); if neither exists
//     the newcomer is answered 429 with Retry-After and closed (the AWS SDKs retry that);
//   - deadlines, not idle timers: the whole request head must arrive within header_timeout_ms of
//     its first byte, the body within body_timeout_ms of the head, an idle keep-alive connection
//     is closed after idle_timeout_ms, a response the client does not read after
//     write_timeout_ms. A client that sends one byte every few seconds is cut at the deadline;
//   - accept() never spins: when it fails for lack of descriptors or memory (EMFILE, ENFILE,
//     ENOBUFS, ENOMEM) the listener pauses for a quarter second; the kernel keeps the backlog;
//   - the server's log lines are rate-limited (a few per second per kind, then one line saying
//     how many were suppressed);
//   - requests are parsed strictly (httpd_parse.h): malformed framing is answered with the
//     parser's status and the connection closed; the error body comes from the error hook.
// A response to HEAD carries the Content-Length of the body it describes, and no body.
// Requests of one connection are handled one at a time, in order (pipelined requests wait in the
// input buffer; reading pauses while a response of more than 256 KiB is unsent).
//
// Everything runs on the event loop thread of |base|; the handler is called synchronously and
// fills the response before returning, or defers it (net_httpd_defer) and answers later.
#ifndef NET_HTTPD_H
#define NET_HTTPD_H

#include "net/httpd_parse.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct sockaddr;
struct net_httpd;
struct net_httpd_deferred;

// struct net_httpd_header: one response header (owned copies).
struct net_httpd_header {
    char *name;
    char *value;
};

// struct net_httpd_response: what a handler fills. Strings are copied by the setters.
struct net_httpd_response {
    int status;
    struct net_httpd_header *headers;
    size_t num_headers;
    char *body; // owned
    size_t body_len;
    bool close;                          // close the connection after this response
    struct net_httpd_deferred *deferred; // set by net_httpd_defer
};

// net_httpd_response_header adds a header (copies both strings).
void net_httpd_response_header(struct net_httpd_response *r, const char *name, const char *value);
// net_httpd_response_body sets the body (copies |len| bytes); net_httpd_response_body_take takes
// ownership of a malloc'ed buffer instead.
void net_httpd_response_body(struct net_httpd_response *r, const char *body, size_t len);
void net_httpd_response_body_take(struct net_httpd_response *r, char *body, size_t len);

// net_httpd_defer, called by a handler, says the answer comes later: whatever |r| holds is
// dropped when the handler returns, nothing more is read from the connection, and the returned
// token is the caller's until it passes it to net_httpd_deferred_finish (exactly once, from the
// event loop, never from inside the handler). A connection that is closed meanwhile (by the
// client, net_httpd_free, or a 120 s safety deadline) makes the finish a no-op.
struct net_httpd_deferred *net_httpd_defer(struct net_httpd_response *r);
// net_httpd_deferred_finish sends |resp| (filled as a handler would, then cleaned up here) as the
// answer of |d| and frees |d|; NULL |d| is a no-op.
void net_httpd_deferred_finish(struct net_httpd_deferred *d, struct net_httpd_response *resp);

// struct net_httpd_peer: the client of a request, and the local address its connection arrived
// at.
struct net_httpd_peer {
    const struct sockaddr *addr;
    const struct sockaddr *local;
};

// net_httpd_handler_fn answers one complete request (|req| is the parser, valid during the call).
typedef void net_httpd_handler_fn(void *ctx, const struct net_httpd_parser *req,
                                  const struct net_httpd_peer *peer,
                                  struct net_httpd_response *resp);
// net_httpd_error_fn fills the response for a request the server refuses itself: a parse error
// (status 400, 413, 414, 417, 431, 501, 505 with the parser's reason), a request timeout (408) or
// a connection over the cap (429). The status is preset; the hook sets headers and body.
typedef void net_httpd_error_fn(void *ctx, int status, const char *message,
                                struct net_httpd_response *resp);

struct net_httpd_config {
    const char *host;           // address to bind; NULL = "127.0.0.1"
    uint16_t port;              // 0 = any free port (see net_httpd_port)
    size_t max_conns;           // default 128
    uint32_t header_timeout_ms; // default 10000
    uint32_t body_timeout_ms;   // default 30000
    uint32_t idle_timeout_ms;   // default 15000
    uint32_t write_timeout_ms;  // default 30000
    uint32_t pressure_ms;       // default 1000 (see the file comment)
    struct net_httpd_limits limits;
    net_httpd_handler_fn *handler;
    net_httpd_error_fn *error; // NULL: a plain JSON {"message": ...} body
    void *ctx;
    const char *log_component; // default "httpd"
};

// struct net_httpd_stats: counters for tests and logs.
struct net_httpd_stats {
    size_t open;            // connections open now
    size_t peak_open;       // most connections open at once
    uint64_t accepted;      // connections accepted
    uint64_t refused;       // answered 429 at the cap
    uint64_t evicted;       // closed to make room (idle or slow)
    uint64_t timed_out;     // closed at a deadline
    uint64_t requests;      // requests handed to the handler
    uint64_t bad_requests;  // refused by the parser
    uint64_t accept_pauses; // accept() failures that paused the listener
};

// net_httpd_new binds and starts serving on |base| (borrowed; must outlive the server). Returns
// NULL with the reason in |why| when it cannot listen.
struct net_httpd *net_httpd_new(struct event_base *base, const struct net_httpd_config *cfg,
                                char *why, size_t why_len);
// net_httpd_port returns the bound port.
uint16_t net_httpd_port(const struct net_httpd *s);
void net_httpd_get_stats(const struct net_httpd *s, struct net_httpd_stats *out);
// net_httpd_free closes the listener and every connection. NULL is a no-op.
void net_httpd_free(struct net_httpd *s);

#endif
