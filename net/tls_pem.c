// tls_pem.c: TLS material given as PEM text in memory (net_tls_config's ca_pem, cert_pem,
// key_pem), so that secrets never pass through a file. Messages name pem_source, never the text.
#include "net/internal.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *source(const struct net_tls_config *cfg)
{
    return cfg->pem_source ? cfg->pem_source : "PEM text";
}

static BIO *mem_bio(const char *pem)
{
    size_t n = strlen(pem);
    return BIO_new_mem_buf(pem, n > INT32_MAX ? INT32_MAX : (int)n);
}

bool net_tls_pem_ca(SSL_CTX *ssl, const struct net_tls_config *cfg, char *err, size_t err_len)
{
    BIO *b = mem_bio(cfg->ca_pem);
    X509_STORE *store = SSL_CTX_get_cert_store(ssl);
    size_t n = 0;
    X509 *x;
    while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, x) == 1) {
            n++;
        }
        X509_free(x);
    }
    BIO_free(b);
    ERR_clear_error();
    if (n == 0) {
        snprintf(err, err_len, "CA certificate (%s): no PEM certificate in it", source(cfg));
        return false;
    }
    return true;
}

static bool use_chain(SSL_CTX *ssl, const struct net_tls_config *cfg, char *err, size_t err_len)
{
    BIO *b = mem_bio(cfg->cert_pem);
    X509 *leaf = b ? PEM_read_bio_X509_AUX(b, NULL, NULL, NULL) : NULL;
    char reason[160];
    if (leaf == NULL || SSL_CTX_use_certificate(ssl, leaf) != 1) {
        snprintf(err, err_len, "client certificate (%s): not a valid PEM certificate (%s)",
                 source(cfg), net_tls_last_error(reason, sizeof reason));
        X509_free(leaf);
        BIO_free(b);
        return false;
    }
    X509_free(leaf);
    SSL_CTX_clear_chain_certs(ssl);
    X509 *ca;
    while ((ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (SSL_CTX_add0_chain_cert(ssl, ca) != 1) {
            X509_free(ca);
        }
    }
    BIO_free(b);
    ERR_clear_error(); // the end of the chain reads as "no start line"
    return true;
}

bool net_tls_pem_client(SSL_CTX *ssl, const struct net_tls_config *cfg, char *err, size_t err_len)
{
    if (cfg->cert_pem == NULL || cfg->key_pem == NULL) {
        snprintf(err, err_len, "client certificate and key must be given together");
        return false;
    }
    if (!use_chain(ssl, cfg, err, err_len)) {
        return false;
    }
    // An encrypted key says so in its header ("BEGIN ENCRYPTED PRIVATE KEY", or the legacy
    // "Proc-Type: 4,ENCRYPTED"); the decoder's own errors for a wrong password vary.
    bool encrypted = strstr(cfg->key_pem, "ENCRYPTED") != NULL;
    BIO *b = mem_bio(cfg->key_pem);
    EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, net_tls_password_cb,
                                                (void *)(uintptr_t)cfg->key_password)
                      : NULL;
    BIO_free(b);
    char reason[160];
    if (key == NULL) {
        if (encrypted) {
            snprintf(err, err_len, "client key (%s): %s", source(cfg),
                     cfg->key_password ? "cannot decrypt it (wrong password?)"
                                       : "it is encrypted and no password was given");
        } else {
            snprintf(err, err_len, "client key (%s): not a valid PEM private key (%s)", source(cfg),
                     net_tls_last_error(reason, sizeof reason));
        }
        ERR_clear_error();
        return false;
    }
    int ok = SSL_CTX_use_PrivateKey(ssl, key);
    EVP_PKEY_free(key);
    if (ok != 1 || SSL_CTX_check_private_key(ssl) != 1) {
        snprintf(err, err_len, "client key (%s): does not match the client certificate",
                 source(cfg));
        ERR_clear_error();
        return false;
    }
    return true;
}
