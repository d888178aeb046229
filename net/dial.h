// dial.h: the one way net/ opens a TCP connection (broker streams in stream.c, the HTTP client in
// http.c): resolve the host with evdns (hosts file first; never blocking the loop), try each
// address in turn with a connect timeout (TCP_NODELAY and keepalive on), then, when a TLS context
// is given, wrap the socket in TLS (SNI, certificate and name verification: net/tls.c) and wait
// for the handshake. The result is a bufferevent, handed to the owner.
//
// Failures are reported the same way to every user: a class (enum net_dial_err), the TLS class
// for TLS failures, and one line. A connect failure lists why each address failed, in order:
//   127.0.0.2: Connection refused; 127.0.0.3: timed out after 200 ms
// The owner puts the line in its own sentence ("cannot connect to <name> (<list>)").
//
// Internal to net/ (it hands out a libevent object). Single-threaded: the reactor's thread only.
#ifndef NET_DIAL_H
#define NET_DIAL_H

#include "net/internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bufferevent;
struct net_dial;

enum net_dial_err {
    NET_DIAL_OK = 0,
    NET_DIAL_RESOLVE, // the name did not resolve (or resolved to no address)
    NET_DIAL_CONNECT, // no address accepted a TCP connection (|msg| lists each address)
    NET_DIAL_TLS,     // TLS setup or handshake failed (|tls_fail|)
};

// struct net_dial_outcome is what on_done sees. On success |bev| is the connected (and, with
// TLS, handshaken) bufferevent, with read and write enabled and no callbacks set: the owner takes
// it and must set its callbacks before returning. |msg| is valid during the call only.
struct net_dial_outcome {
    enum net_dial_err err;
    enum net_tls_fail tls_fail;
    const char *msg;
    struct bufferevent *bev;
};

// struct net_dial_callbacks: on_resolved (may be NULL) runs once the name has addresses,
// on_tcp (may be NULL) each time a TCP connection is established (before TLS), on_done exactly
// once at the end, unless net_dial_cancel is called first. Each may call net_dial_cancel on this
// dial (on_done need not: the dial is over by then and frees itself after it returns).
struct net_dial_callbacks {
    void (*on_resolved)(void *ctx);
    void (*on_tcp)(void *ctx);
    void (*on_done)(void *ctx, const struct net_dial_outcome *o);
    void *ctx;
};

// struct net_dial_config: borrowed for the duration of net_dial_start.
struct net_dial_config {
    struct net_tls_ctx *tls;     // NULL = plaintext (borrowed; must outlive the dial)
    uint32_t connect_timeout_ms; // per address (required, > 0)
    // tls_timeout_ms bounds the TLS handshake; 0 = the owner bounds it (a broker stream counts
    // its handshake timeout from the TCP connect and spans more than TLS).
    uint32_t tls_timeout_ms;
    const char *log;  // the owner's log component (copied)
    const char *name; // how log lines name the peer, e.g. "127.0.0.1:9092" (copied)
};

// net_dial_start begins dialling |host| (a name, or an IPv4/IPv6 literal without brackets) on
// |port|. Callbacks never run inside this call. Returns the dial (never NULL).
struct net_dial *net_dial_start(struct net_reactor *r, const char *host, uint16_t port,
                                const struct net_dial_config *cfg,
                                const struct net_dial_callbacks *cb);

// net_dial_cancel stops a dial that has not reported on_done (no callback runs after it) and
// frees it, closing any socket it holds. NULL is a no-op.
void net_dial_cancel(struct net_dial *d);

#endif
