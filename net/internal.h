// internal.h: what net/ files share and nothing outside net/ may use.
#ifndef NET_INTERNAL_H
#define NET_INTERNAL_H

#include "base/alloc.h"
#include "net/reactor.h"
#include "net/tls.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// net_reactor_base / net_reactor_dns expose the libevent objects a reactor owns.
struct event_base *net_reactor_base(struct net_reactor *r);
struct evdns_base *net_reactor_dns(struct net_reactor *r);

// struct net_lookup is the host:port lookup (TCP) that a connection owns while it resolves
// (lookup.c; used by dial.c). Zero-initialise it. The owner's memory must not move while
// a lookup is pending. After the answer, |err| is the evdns error (0 on success) and |ai| the
// addresses, owned by the lookup; |ai_cur| is the owner's cursor over them.
struct net_lookup_ticket;
struct evdns_getaddrinfo_request;
struct net_lookup {
    struct net_lookup_ticket *ticket;      // set while the lookup is pending
    struct evdns_getaddrinfo_request *req; // valid while |ticket| is set
    bool sync, done;
    int err;
    struct evutil_addrinfo *ai, *ai_cur;
};

// net_lookup_fn is called with the owner when an answer arrives after net_lookup_start returned.
typedef void (*net_lookup_fn)(void *owner);

// net_lookup_start looks up |host| with the numeric |port|. Returns true when the answer came
// within the call (|fn| is then not called: the caller handles it); otherwise |fn| runs later from
// the reactor unless net_lookup_cancel is called first.
bool net_lookup_start(struct net_lookup *lk, struct net_reactor *r, const char *host, uint16_t port,
                      net_lookup_fn fn, void *owner);
// net_lookup_cancel drops a pending lookup (its callback will not run) and frees the addresses.
void net_lookup_cancel(struct net_lookup *lk);

// Internal TLS plumbing (tls.c).
struct bufferevent;
struct net_tls_ctx;

// net_tls_bev_new makes an SSL for |host| from |ctx| (SNI for names, name or IP verification
// unless the context skips it) and wraps it in a not-yet-connected openssl bufferevent
// over the connected socket |fd| (CLOSE_ON_FREE, deferred callbacks), which it takes in every
// case: on failure |fd| is closed and NULL returned with a reason in |err|. |log| is the
// caller's log component (its lines about this session carry the caller's mapping tag).
//
// Ownership: bufferevent_openssl_socket_new takes the SSL even when it fails, so this is the
// one place that calls it; callers never see the SSL and never free it.
struct bufferevent *net_tls_bev_new(struct event_base *base, evutil_socket_t fd,
                                    struct net_tls_ctx *ctx, const char *host, const char *log,
                                    char *err, size_t err_len);

// net_tls_explain classifies why the TLS bufferevent |bev| failed and writes one line into
// |buf|. It drains the bufferevent's OpenSSL error queue and reads the verify result. After
// the handshake (|in_handshake| false) a plain close with no TLS error gives NET_TLS_FAIL_NONE
// and leaves |buf| untouched.
enum net_tls_fail net_tls_explain(struct bufferevent *bev, const struct net_tls_ctx *ctx,
                                  const char *host, bool in_handshake, char *buf, size_t len);

// net_tls_log_session logs the negotiated protocol and cipher of |bev| (debug level) under the
// caller's log component |log|.
void net_tls_log_session(struct bufferevent *bev, const char *log, const char *name);

// net_tls_pem_ca / net_tls_pem_client load net_tls_config's in-memory PEM (tls_pem.c): the trusted
// CA certificates, and the client certificate chain with its possibly encrypted key. false with a
// line in |err| that names cfg->pem_source.
typedef struct ssl_ctx_st SSL_CTX;
bool net_tls_pem_ca(SSL_CTX *ssl, const struct net_tls_config *cfg, char *err, size_t err_len);
bool net_tls_pem_client(SSL_CTX *ssl, const struct net_tls_config *cfg, char *err, size_t err_len);

// net_tls_last_error renders the newest queued OpenSSL error reason ("bad decrypt") into |buf|,
// clears the queue and returns |buf| (tls.c).
const char *net_tls_last_error(char *buf, size_t len);
// net_tls_password_cb is the pem_password_cb for an encrypted private key: |u| is the password
// (a C string, or NULL for none). It copies the password into OpenSSL's |buf| and never logs it.
int net_tls_password_cb(char *buf, int size, int rwflag, void *u);

// net_tls_ctx_has_client_cert returns whether the context sends a client certificate.
bool net_tls_ctx_has_client_cert(const struct net_tls_ctx *ctx);

#endif
