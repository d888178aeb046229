// tls.c: TLS client contexts, the openssl bufferevent wrapper, and readable TLS errors.
#include "net/tls.h"

#include "base/alloc.h"
#include "base/log.h"
#include "net/internal.h"

#include <arpa/inet.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct net_tls_ctx {
    SSL_CTX *ssl;
    bool verify;
    bool client_cert;
};

const char *net_tls_last_error(char *buf, size_t len)
{
    unsigned long e, last = 0;
    while ((e = ERR_get_error()) != 0) {
        last = e;
    }
    const char *reason = last ? ERR_reason_error_string(last) : NULL;
    snprintf(buf, len, "%s", reason ? reason : "unknown error");
    return buf;
}

static struct net_tls_ctx *ctx_fail(struct net_tls_ctx *c, char *err, size_t err_len,
                                    const char *what, const char *path)
{
    char reason[160];
    if (err_len > 0) {
        snprintf(err, err_len, "%s%s%s: %s", what, path ? " " : "", path ? path : "",
                 net_tls_last_error(reason, sizeof reason));
    }
    ERR_clear_error();
    net_tls_ctx_free(c);
    return NULL;
}

int net_tls_password_cb(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    const char *pw = u;
    if (pw == NULL || size <= 0) {
        return 0;
    }
    size_t n = strlen(pw);
    if (n > (size_t)size) {
        return 0;
    }
    memcpy(buf, pw, n);
    return (int)n;
}

// load_key reads the (possibly encrypted) private key; the password is only passed through
// to the PEM decoder and never copied.
static bool load_key(SSL_CTX *ssl, const char *path, const char *password, char *why, size_t len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(why, len, "cannot open it");
        return false;
    }
    // An encrypted PEM key says so in its first lines ("BEGIN ENCRYPTED PRIVATE KEY", or the
    // legacy "Proc-Type: 4,ENCRYPTED"); the decoder's own errors for a wrong password vary.
    char head[256];
    size_t n = fread(head, 1, sizeof head - 1, f);
    head[n] = '\0';
    bool encrypted = strstr(head, "ENCRYPTED") != NULL;
    rewind(f);
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, net_tls_password_cb, (void *)(uintptr_t)password);
    fclose(f);
    if (key == NULL) {
        if (encrypted) {
            snprintf(why, len, "%s",
                     password ? "cannot decrypt it (wrong password?)"
                              : "it is encrypted and no password was given");
        } else {
            char reason[160];
            snprintf(why, len, "cannot read a private key from it (%s)",
                     net_tls_last_error(reason, sizeof reason));
        }
        ERR_clear_error();
        return false;
    }
    int ok = SSL_CTX_use_PrivateKey(ssl, key);
    EVP_PKEY_free(key);
    if (ok != 1) {
        unsigned long e = ERR_peek_last_error();
        if (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
            ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH) {
            snprintf(why, len, "does not match the client certificate");
        } else {
            char reason[160];
            snprintf(why, len, "unusable key (%s)", net_tls_last_error(reason, sizeof reason));
        }
        return false;
    }
    if (SSL_CTX_check_private_key(ssl) != 1) {
        snprintf(why, len, "does not match the client certificate");
        return false;
    }
    return true;
}

static bool load_client_cert(struct net_tls_ctx *c, const struct net_tls_config *cfg, char *err,
                             size_t err_len)
{
    if (cfg->cert_file == NULL && cfg->key_file == NULL &&
        (cfg->cert_pem != NULL || cfg->key_pem != NULL)) {
        if (!net_tls_pem_client(c->ssl, cfg, err, err_len)) {
            return false;
        }
        c->client_cert = true;
        return true;
    }
    if (cfg->cert_file == NULL && cfg->key_file == NULL) {
        return true;
    }
    if (cfg->cert_file == NULL || cfg->key_file == NULL) {
        snprintf(err, err_len, "client certificate and key must be given together");
        return false;
    }
    if (SSL_CTX_use_certificate_chain_file(c->ssl, cfg->cert_file) != 1) {
        char reason[160];
        snprintf(err, err_len, "client certificate %s: %s", cfg->cert_file,
                 net_tls_last_error(reason, sizeof reason));
        return false;
    }
    char why[200];
    if (!load_key(c->ssl, cfg->key_file, cfg->key_password, why, sizeof why)) {
        snprintf(err, err_len, "client key %s: %s", cfg->key_file, why);
        ERR_clear_error();
        return false;
    }
    c->client_cert = true;
    return true;
}

struct net_tls_ctx *net_tls_ctx_new(const struct net_tls_config *cfg, char *err, size_t err_len)
{
    static const struct net_tls_config defaults;
    if (cfg == NULL) {
        cfg = &defaults;
    }
    char scratch[8];
    if (err_len == 0) {
        err = scratch;
        err_len = sizeof scratch;
    }
    err[0] = '\0';
    ERR_clear_error();
    struct net_tls_ctx *c = xcalloc(1, sizeof *c);
    c->verify = !cfg->insecure_skip_verify;
    c->ssl = SSL_CTX_new(TLS_client_method());
    if (c->ssl == NULL) {
        return ctx_fail(c, err, err_len, "cannot create a TLS context", NULL);
    }
    SSL_CTX_set_min_proto_version(c->ssl, TLS1_2_VERSION);
    SSL_CTX_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(c->ssl, c->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (cfg->ca_file != NULL || cfg->ca_dir != NULL) {
        if (SSL_CTX_load_verify_locations(c->ssl, cfg->ca_file, cfg->ca_dir) != 1) {
            return ctx_fail(c, err, err_len, "CA", cfg->ca_file ? cfg->ca_file : cfg->ca_dir);
        }
    } else if (cfg->ca_pem != NULL) {
        if (!net_tls_pem_ca(c->ssl, cfg, err, err_len)) {
            net_tls_ctx_free(c);
            return NULL;
        }
    } else if (SSL_CTX_set_default_verify_paths(c->ssl) != 1) {
        return ctx_fail(c, err, err_len, "system CA store", NULL);
    }
    if (!load_client_cert(c, cfg, err, err_len)) {
        ERR_clear_error();
        net_tls_ctx_free(c);
        return NULL;
    }
    return c;
}

void net_tls_ctx_free(struct net_tls_ctx *ctx)
{
    if (ctx == NULL) {
        return;
    }
    SSL_CTX_free(ctx->ssl);
    free(ctx);
}

bool net_tls_ctx_verifies(const struct net_tls_ctx *ctx)
{
    return ctx->verify;
}

bool net_tls_ctx_has_client_cert(const struct net_tls_ctx *ctx)
{
    return ctx->client_cert;
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

struct bufferevent *net_tls_bev_new(struct event_base *base, evutil_socket_t fd,
                                    struct net_tls_ctx *ctx, const char *host, const char *log,
                                    char *err, size_t err_len)
{
    SSL *ssl = SSL_new(ctx->ssl);
    if (ssl == NULL) {
        evutil_closesocket(fd);
        snprintf(err, err_len, "cannot create a TLS session");
        return NULL;
    }
    bool ip = is_ip_literal(host);
    bool ok = true;
    if (!ip) {
        ok = SSL_set_tlsext_host_name(ssl, host) == 1;
    }
    if (ok && ctx->verify) {
        if (ip) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1;
        } else {
            SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = SSL_set1_host(ssl, host) == 1;
        }
    }
    if (!ok) {
        SSL_free(ssl);
        evutil_closesocket(fd);
        ERR_clear_error();
        snprintf(err, err_len, "cannot set the TLS server name \"%s\"", host);
        return NULL;
    }
    if (!ctx->verify) {
        kesm_log(KESM_LOG_WARN, log,
                 "%s: TLS certificate verification is OFF (insecure_skip_verify): the broker's "
                 "identity is not checked",
                 host);
    }
    // bufferevent_openssl_socket_new frees |ssl| itself when it fails (BEV_OPT_CLOSE_ON_FREE),
    // so |ssl| must not be touched after this call whatever it returns. Whether it also closed
    // |fd| on failure depends on how far it got; close it only if it is still open (single
    // reactor thread, so the descriptor cannot have been reused in between).
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, fd, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (bev == NULL) {
        if (fcntl(fd, F_GETFD) != -1) {
            evutil_closesocket(fd);
        }
        snprintf(err, err_len, "cannot create a TLS connection object");
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

static enum net_tls_fail explain_verify(long v, const char *host, char *buf, size_t len)
{
    const char *what = X509_verify_cert_error_string(v);
    switch (v) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        snprintf(buf, len,
                 "TLS: unknown CA: the broker's certificate is not signed by a trusted "
                 "CA (%s)",
                 what);
        return NET_TLS_UNKNOWN_CA;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        snprintf(buf, len, "TLS: hostname mismatch: the broker's certificate does not name \"%s\"",
                 host);
        return NET_TLS_HOSTNAME_MISMATCH;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        snprintf(buf, len, "TLS: certificate expired: the broker's certificate has expired");
        return NET_TLS_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        snprintf(buf, len, "TLS: certificate expired: the broker's certificate is not yet valid");
        return NET_TLS_EXPIRED;
    default:
        snprintf(buf, len, "TLS: certificate verify failed: %s", what);
        return NET_TLS_CERT_INVALID;
    }
}

static enum net_tls_fail explain_reason(unsigned long e, bool client_cert, char *buf, size_t len)
{
    int lib = ERR_GET_LIB(e);
    int reason = ERR_GET_REASON(e);
    const char *r = ERR_reason_error_string(e);
    char num[48];
    if (r == NULL) {
        snprintf(num, sizeof num, "error %d:%d", lib, reason);
        r = num;
    }
    if (lib != ERR_LIB_SSL) {
        snprintf(buf, len, "TLS: handshake failed: %s", r);
        return NET_TLS_PROTOCOL;
    }
    switch (reason) {
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        snprintf(buf, len,
                 "TLS: client certificate required: the broker requires a client "
                 "certificate%s (%s)",
                 client_cert ? " and refused ours" : " and none is configured", r);
        return client_cert ? NET_TLS_CLIENT_CERT_REJECTED : NET_TLS_CLIENT_CERT_REQUIRED;
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
        if (!client_cert) {
            snprintf(buf, len,
                     "TLS: client certificate required: the broker refused the "
                     "handshake and no client certificate is configured (%s)",
                     r);
            return NET_TLS_CLIENT_CERT_REQUIRED;
        }
        snprintf(buf, len, "TLS: handshake refused by the broker (%s)", r);
        return NET_TLS_PROTOCOL;
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
        snprintf(buf, len, "TLS: client certificate rejected by the broker (%s)", r);
        return NET_TLS_CLIENT_CERT_REJECTED;
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_UNKNOWN_PROTOCOL:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_RECORD_LENGTH_MISMATCH:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
        snprintf(buf, len,
                 "TLS: not TLS: the broker answered with something that is not a TLS "
                 "ServerHello (%s); is this a plaintext listener?",
                 r);
        return NET_TLS_NOT_TLS;
    default:
        snprintf(buf, len, "TLS: handshake failed: %s", r);
        return NET_TLS_PROTOCOL;
    }
}

enum net_tls_fail net_tls_explain(struct bufferevent *bev, const struct net_tls_ctx *ctx,
                                  const char *host, bool in_handshake, char *buf, size_t len)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    // The bufferevent queues OpenSSL's error codes (innermost first) and also bare
    // SSL_get_error() values (library 0); the first real library error is the most specific.
    unsigned long e, last = 0;
    bool verify_failed = false;
    while ((e = bufferevent_get_openssl_error(bev)) != 0) {
        if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
            verify_failed = true;
        }
        if (last == 0 && ERR_GET_LIB(e) != 0) {
            last = e;
        }
    }
    ERR_clear_error();
    long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (ctx->verify && (verify_failed || v != X509_V_OK)) {
        return explain_verify(v, host, buf, len);
    }
    if (!in_handshake && ERR_GET_LIB(last) == ERR_LIB_SSL &&
        ERR_GET_REASON(last) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        return NET_TLS_FAIL_NONE; // the broker closed without close_notify: a plain disconnect
    }
    if (last != 0) {
        return explain_reason(last, ctx->client_cert, buf, len);
    }
    if (!in_handshake) {
        return NET_TLS_FAIL_NONE;
    }
    snprintf(buf, len, "TLS: the broker closed the connection during the handshake");
    return NET_TLS_PROTOCOL;
}

void net_tls_log_session(struct bufferevent *bev, const char *log, const char *name)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    if (ssl != NULL) {
        kesm_log(KESM_LOG_DEBUG, log, "TLS with %s: %s %s", name, SSL_get_version(ssl),
                 SSL_get_cipher_name(ssl));
    }
}
