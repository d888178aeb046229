// tls.h: TLS client contexts for broker connections (and for invoke/'s HTTPS).
//
// Policy: TLS 1.2 is the minimum; the peer certificate is verified against a CA file, a CA
// directory, or the system store (when neither is given), and its name against the host the
// connection was asked for (DNS names through SSL_set1_host, IP literals through the IP SAN).
// SNI is sent for names, never for IP literals. Turning verification off needs
// insecure_skip_verify and logs a warning on every connect.
//
// Failures come out as one readable line and a class (enum net_tls_fail), so a higher layer can
// tell an authentication problem (EVENT_SOURCE_AUTHN_ERROR in Lambda's terms) from a network one.
#ifndef NET_TLS_H
#define NET_TLS_H

#include <stdbool.h>
#include <stddef.h>

// struct net_tls_config: every field is borrowed for the duration of net_tls_ctx_new only.
struct net_tls_config {
    const char *ca_file; // PEM file of trusted CA certificates
    const char *ca_dir;  // directory of hashed CA certificates (c_rehash layout)
    // When both ca_file and ca_dir are NULL the system store (OpenSSL default paths) is used.
    const char *cert_file;     // client certificate chain, PEM (mTLS); NULL = no client cert
    const char *key_file;      // its private key, PEM, possibly encrypted
    const char *key_password;  // password of an encrypted key; used once, never stored or logged
    bool insecure_skip_verify; // accept any certificate and name (warned on every connect)
    // The same material as PEM text in memory (so that secrets need no file), used instead of
    // ca_file / cert_file / key_file when those are NULL; pem_source names it in messages (for
    // example "secret arn:aws:secretsmanager:..."; never the text itself).
    const char *ca_pem;
    const char *cert_pem;
    const char *key_pem;
    const char *pem_source;
};

// enum net_tls_fail classifies a TLS failure. Every class except NET_TLS_FAIL_NONE,
// NET_TLS_HANDSHAKE_TIMEOUT and NET_TLS_NOT_TLS is an authentication failure.
enum net_tls_fail {
    NET_TLS_FAIL_NONE = 0,
    NET_TLS_UNKNOWN_CA,           // chain does not lead to a trusted CA
    NET_TLS_HOSTNAME_MISMATCH,    // certificate does not name the host/IP we dialled
    NET_TLS_EXPIRED,              // certificate expired or not yet valid
    NET_TLS_CERT_INVALID,         // any other certificate verification failure
    NET_TLS_CLIENT_CERT_REQUIRED, // server wanted a client certificate we did not send
    NET_TLS_CLIENT_CERT_REJECTED, // server refused the client certificate we sent
    NET_TLS_HANDSHAKE_TIMEOUT,    // no handshake completion within the handshake timeout
    NET_TLS_NOT_TLS,              // the peer does not speak TLS
    NET_TLS_PROTOCOL,             // any other handshake or record-layer failure
};

// net_tls_fail_name returns a short static name, e.g. "unknown CA".
const char *net_tls_fail_name(enum net_tls_fail f);
// net_tls_fail_is_authn returns true for the classes that mean "credentials or trust are wrong".
bool net_tls_fail_is_authn(enum net_tls_fail f);

// struct net_tls_ctx is an opaque shared client context (an SSL_CTX plus policy).
struct net_tls_ctx;

// net_tls_ctx_new loads the trust store and client credentials. Returns NULL on failure with a
// one-line reason in |err| (|err_len| bytes, may be 0), e.g.
//   client key /path/client.key: cannot decrypt it (wrong password?)
// The context must outlive every connection that uses it.
struct net_tls_ctx *net_tls_ctx_new(const struct net_tls_config *cfg, char *err, size_t err_len);
// net_tls_ctx_free frees a context; NULL is a no-op.
void net_tls_ctx_free(struct net_tls_ctx *ctx);
// net_tls_ctx_verifies returns false iff the context was made with insecure_skip_verify.
bool net_tls_ctx_verifies(const struct net_tls_ctx *ctx);

#endif
