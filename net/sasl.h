// sasl.h: the SASL driver that plugs sasl/ mechanisms into a broker connection's AUTH state.
//
// net_sasl_new makes a struct net_auth (conn.h) that, on each connection reaching AUTH, runs
// SaslHandshake v1 (the mechanism) and then SaslAuthenticate rounds at the negotiated version,
// feeding the broker's tokens to the sasl/ mechanism (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN) until it
// completes (the server's SCRAM signature verified) or fails. Failures end AUTH with
// NET_ERR_AUTH and one line, e.g.
//   SCRAM-SHA-512 authentication failed: broker says: Authentication failed during
//   authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512
// which net_conn_event_is_authn classifies as an authentication error.
//
// Secrets: the password is copied once into a heap buffer wiped on net_sasl_free; request
// buffers that carried a token are wiped after the token is handed to the socket. libevent's
// own output buffers (and, under TLS, OpenSSL's) are not wiped: they hold a PLAIN password or a
// SCRAM proof until they are freed or reused. Nothing secret is logged.
//
// Not done: KIP-368 re-authentication (the session lifetime a broker may return is ignored, so
// a broker that enforces one closes the connection when it runs out and the connection
// reconnects and authenticates again).
#ifndef NET_SASL_H
#define NET_SASL_H

#include "net/conn.h"

#include <stddef.h>

struct net_sasl;

// net_sasl_new copies the mechanism name, user and password. Returns NULL with a reason in
// |err| for an unknown mechanism or credentials it refuses. |scram_max_iterations| bounds the
// server's iteration count (0 = the sasl/ default).
struct net_sasl *net_sasl_new(const char *mechanism, const char *user, const char *password,
                              uint32_t scram_max_iterations, char *err, size_t err_len);
// net_sasl_auth returns the plug-in to put in net_conn_config.auth; valid until net_sasl_free.
// One net_sasl may serve any number of connections at once.
const struct net_auth *net_sasl_auth(struct net_sasl *s);
// net_sasl_free wipes and frees; free every connection using it first. NULL is a no-op.
void net_sasl_free(struct net_sasl *s);

#endif
