// internal.h: what net/ files share and nothing outside net/ may use.
#ifndef NET_INTERNAL_H
#define NET_INTERNAL_H

#include "net/reactor.h"
#include "net/tls.h"
#include "net/xmalloc.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <stdbool.h>
#include <stddef.h>

// net_reactor_base / net_reactor_dns expose the libevent objects a reactor owns.
struct event_base *net_reactor_base(struct net_reactor *r);
struct evdns_base *net_reactor_dns(struct net_reactor *r);

// Internal TLS plumbing (tls.c).
struct bufferevent;
struct net_tls_ctx;

// net_tls_bev_new makes an SSL for |host| from |ctx| (SNI for names, name or IP verification
// unless the context skips it) and wraps it in a not-yet-connected openssl bufferevent
// over the connected socket |fd| (CLOSE_ON_FREE, deferred callbacks), which it takes in every
// case: on failure |fd| is closed and NULL returned with a reason in |err|.
//
// Ownership: bufferevent_openssl_socket_new takes the SSL even when it fails, so this is the
// one place that calls it; callers never see the SSL and never free it.
struct bufferevent *net_tls_bev_new(struct event_base *base, evutil_socket_t fd,
                                    struct net_tls_ctx *ctx, const char *host, char *err,
                                    size_t err_len);

// net_tls_explain classifies why the TLS bufferevent |bev| failed and writes one line into
// |buf|. It drains the bufferevent's OpenSSL error queue and reads the verify result. After
// the handshake (|in_handshake| false) a plain close with no TLS error gives NET_TLS_FAIL_NONE
// and leaves |buf| untouched.
enum net_tls_fail net_tls_explain(struct bufferevent *bev, const struct net_tls_ctx *ctx,
                                  const char *host, bool in_handshake, char *buf, size_t len);

// net_tls_log_session logs the negotiated protocol and cipher of |bev| (debug level).
void net_tls_log_session(struct bufferevent *bev, const char *name);

// net_tls_pem_ca / net_tls_pem_client load net_tls_config's in-memory PEM (tls_pem.c): the trusted
// CA certificates, and the client certificate chain with its possibly encrypted key. false with a
// line in |err| that names cfg->pem_source.
typedef struct ssl_ctx_st SSL_CTX;
bool net_tls_pem_ca(SSL_CTX *ssl, const struct net_tls_config *cfg, char *err, size_t err_len);
bool net_tls_pem_client(SSL_CTX *ssl, const struct net_tls_config *cfg, char *err, size_t err_len);

// net_tls_ctx_has_client_cert returns whether the context sends a client certificate.
bool net_tls_ctx_has_client_cert(const struct net_tls_ctx *ctx);

#endif
