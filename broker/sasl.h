// sasl.h: the SASL driver that plugs sasl/ mechanisms into a broker connection's AUTH state.
//
// broker_sasl_new_config makes a struct broker_auth (conn.h) that, on each connection reaching
// AUTH, runs SaslHandshake v1 (the mechanism) and then SaslAuthenticate rounds at the negotiated
// version, feeding the broker's tokens to a fresh sasl/ mechanism (SCRAM-SHA-512, SCRAM-SHA-256,
// PLAIN) until it completes (the server's SCRAM signature verified) or fails.
//
// Re-authentication (KIP-368): when the final SaslAuthenticate answer (v1+) carries a session
// lifetime, the driver hands it to the connection (broker_conn_auth_session_lifetime), which runs
// the same exchange again on the same socket at 85-95% of it (see conn.h). Every exchange uses a
// new mechanism instance; the SCRAM salted password is cached (sasl/ scram cache, keyed by an HMAC,
// holding no password), so a re-authentication costs no PBKDF2 as long as the broker keeps the
// same salt and iteration count.
// A broker that negotiates SaslAuthenticate v0 reports no lifetime; if it enforces one anyway it
// closes the connection at expiry and the connection reconnects (queued requests survive).
//
// Plaintext policy (as in Lambda): SCRAM and PLAIN over a connection without TLS are refused
// unless allow_plaintext is set. broker_sasl_new_config refuses such a configuration before
// anything connects ("SASL: ... refused over a plaintext connection ..."); a connection that
// reaches AUTH without TLS anyway fails authentication with the same reason. With allow_plaintext,
// each plaintext connect logs one WARN line.
//
// Failures end the exchange with BROKER_ERR_AUTH (broker_conn_event_is_authn: the ESM reason
// EVENT_SOURCE_AUTHN_ERROR), and the connection backs off with the authentication floor (1 s
// doubling to 30 s, conn.h). The event message names the mechanism, the broker and the cause:
//   SCRAM-SHA-512 authentication with broker b1:9096 failed: SASL_AUTHENTICATION_FAILED (58):
//     Authentication failed during authentication due to invalid credentials with SASL ...
//   SCRAM-SHA-512 authentication with broker b1:9096 failed: UNSUPPORTED_SASL_MECHANISM (33):
//     the broker does not enable SCRAM-SHA-512 (enabled: PLAIN)
//   SCRAM-SHA-256 authentication with broker b1:9096 failed: incorrect server signature
// (ILLEGAL_SASL_STATE (34) likewise; SCRAM protocol failures are sasl/'s texts: a server nonce
// that does not extend ours, an iteration count out of range, a server e= error, a malformed
// message).
//
// Secrets: the password is copied once into a heap buffer wiped on broker_sasl_free (each
// exchange's mechanism copies it for its own life and wipes it when freed); request buffers that
// carried a token are wiped after the token is handed to the socket. libevent's own output buffers
// (and, under TLS, OpenSSL's) are not wiped: they hold a PLAIN password or a SCRAM proof until they
// are freed or reused. Nothing secret is logged or put in an error text.
#ifndef BROKER_SASL_H
#define BROKER_SASL_H

#include "broker/conn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker_sasl;

// OAUTHBEARER (RFC 7628, KIP-255): the token of each exchange (the first authentication and every
// KIP-368 re-authentication) comes from a token source the layer above fills, so a token is never
// older than its exchange: an Amazon MSK IAM token signed with the AWS credentials of that moment
// (msk_iam_region set; the reply carries the credentials, the token is built here), or an opaque
// bearer token (a static token file). The exchange waits for the reply (within the connection's
// handshake timeout); an error reply fails it like a refused login (BROKER_ERR_AUTH).
// When the broker grants a session lifetime, re-authentication comes at 85-95% of it, and never
// later than the token's own expiry allows.
struct broker_sasl_token_req; // one exchange waiting for its credential

struct broker_sasl_token_source {
    // get asks for the credential of the exchange |req|. Answer exactly once with
    // broker_sasl_token_reply or broker_sasl_aws_reply, inside the call or later from the
    // reactor, unless cancel(ctx, req) came first (the connection went away).
    void (*get)(void *ctx, struct broker_sasl_token_req *req);
    void (*cancel)(void *ctx, struct broker_sasl_token_req *req);
    void *ctx;
    const char *msk_iam_region; // non-NULL: Amazon MSK IAM tokens for this region (copied)
    const char *principal;      // what log lines name as the identity ("IAM", "token file ...")
};

// broker_sasl_token_reply answers |req| with an opaque bearer token (|len| bytes, copied and
// checked against the OAUTHBEARER token policy; |expiry| Unix seconds, 0 unknown), or with
// |err| (one line, no secret) when there is none.
void broker_sasl_token_reply(struct broker_sasl_token_req *req, const uint8_t *token, size_t len,
                             int64_t expiry, const char *err);

// struct broker_sasl_aws_creds: the AWS credentials an MSK IAM token is signed with (borrowed).
struct broker_sasl_aws_creds {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; // NULL for long-term keys
    int64_t expiry;            // Unix seconds, 0 = never
    int64_t now;               // the signing time, Unix seconds
};

// broker_sasl_aws_reply answers an MSK IAM |req| with credentials (NULL with |err| when there
// are none); the token is built from them at once and they are not kept.
void broker_sasl_aws_reply(struct broker_sasl_token_req *req, const struct broker_sasl_aws_creds *c,
                           const char *err);

// struct broker_sasl_config: zero-initialise, then set what you need. Strings are copied.
struct broker_sasl_config {
    const char *mechanism; // "SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN" or "OAUTHBEARER"
    const char *user;
    const char *password;
    uint32_t scram_max_iterations; // bound on the server's i= (0 = the sasl/ default)
    bool tls;                      // the connections using it run TLS (the plaintext policy)
    bool allow_plaintext;          // permit SCRAM/PLAIN without TLS (a WARN line per connect)
    bool ignore_session_lifetime;  // never re-authenticate (tests: a client without KIP-368)
    // OAUTHBEARER only (borrowed; must outlive the broker_sasl): where tokens come from. user and
    // password are then unused.
    const struct broker_sasl_token_source *token_source;
};

// broker_sasl_new_config validates and copies |cfg|. Returns NULL with one line in |err| for an
// unknown mechanism, credentials sasl/ refuses, or a plaintext transport without allow_plaintext.
struct broker_sasl *broker_sasl_new_config(const struct broker_sasl_config *cfg, char *err,
                                           size_t err_len);
// broker_sasl_new is broker_sasl_new_config with .tls = true (the transport is then checked only
// when a connection reaches AUTH) and allow_plaintext off.
struct broker_sasl *broker_sasl_new(const char *mechanism, const char *user, const char *password,
                                    uint32_t scram_max_iterations, char *err, size_t err_len);
// broker_sasl_auth returns the plug-in to put in broker_conn_config.auth; valid until
// broker_sasl_free. One broker_sasl may serve any number of connections at once.
const struct broker_auth *broker_sasl_auth(struct broker_sasl *s);

// struct broker_sasl_stats counts exchanges over all connections.
struct broker_sasl_stats {
    uint64_t started;    // exchanges started (first authentications and re-authentications)
    uint64_t completed;  // exchanges that succeeded
    uint64_t failed;     // exchanges that failed
    uint64_t reauths;    // successful re-authentications
    uint64_t cache_hits; // SCRAM salted-password cache hits (PBKDF2 avoided)
    uint64_t cache_misses;
};
void broker_sasl_get_stats(const struct broker_sasl *s, struct broker_sasl_stats *out);

// broker_sasl_free wipes and frees; free every connection using it first. NULL is a no-op.
void broker_sasl_free(struct broker_sasl *s);

#endif
