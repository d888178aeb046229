// test_net_tls_pem.c: TLS contexts from PEM text in memory (net_tls_config ca_pem / cert_pem /
// key_pem): a CA and a client certificate made at run time, a PBES1-encrypted PKCS#8 key with the
// right and the wrong password, invalid PEM, a key that does not match; messages name pem_source
// and never the PEM or the password.
#include "net/tls.h"
#include "tests/lib/unit.h"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

struct pki {
    char *ca;      // self-signed CA certificate
    char *cert;    // client certificate signed by the CA, then the CA (a chain)
    char *key;     // the client key, PKCS#8 PEM
    char *enc_key; // the same key, encrypted (PBES1, pbeWithSHA1And3-KeyTripleDES-CBC)
    char *other;   // an unrelated key
};

static char *bio_text(BIO *b)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = malloc((size_t)n + 1);
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    BIO_free(b);
    return s;
}

static EVP_PKEY *ec_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    return k;
}

static X509 *make_cert(EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer, const char *cn, long serial)
{
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
    return x;
}

static char *cert_pem(X509 *a, X509 *b)
{
    BIO *m = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(m, a);
    if (b) {
        PEM_write_bio_X509(m, b);
    }
    return bio_text(m);
}

static int setup(void **state)
{
    struct pki *p = calloc(1, sizeof *p);
    EVP_PKEY *ca_key = ec_key(), *cl_key = ec_key(), *other = ec_key();
    X509 *ca = make_cert(ca_key, ca_key, NULL, "kesm test CA", 1);
    X509 *cl = make_cert(cl_key, ca_key, ca, "kesm test client", 2);
    p->ca = cert_pem(ca, NULL);
    p->cert = cert_pem(cl, ca);
    BIO *m = BIO_new(BIO_s_mem());
    PEM_write_bio_PKCS8PrivateKey(m, cl_key, NULL, NULL, 0, NULL, NULL);
    p->key = bio_text(m);
    m = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PKCS8PrivateKey_nid(m, cl_key,
                                                       NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
                                                       "right-password", 14, NULL, NULL),
                     1);
    p->enc_key = bio_text(m);
    m = BIO_new(BIO_s_mem());
    PEM_write_bio_PKCS8PrivateKey(m, other, NULL, NULL, 0, NULL, NULL);
    p->other = bio_text(m);
    X509_free(ca);
    X509_free(cl);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(cl_key);
    EVP_PKEY_free(other);
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    struct pki *p = *state;
    free(p->ca);
    free(p->cert);
    free(p->key);
    free(p->enc_key);
    free(p->other);
    free(p);
    return 0;
}

// ctx_err makes a context that must fail and returns its message (static buffer).
static const char *ctx_err(const struct net_tls_config *c)
{
    static char err[512];
    err[0] = '\0';
    struct net_tls_ctx *ctx = net_tls_ctx_new(c, err, sizeof err);
    assert_null(ctx);
    assert_null(strstr(err, "BEGIN"));
    assert_null(strstr(err, "password\""));
    return err;
}

static void test_memory_pem_loads(void **state)
{
    struct pki *p = *state;
    char err[256] = "";
    struct net_tls_config c = {
        .ca_pem = p->ca, .cert_pem = p->cert, .key_pem = p->key, .pem_source = "secret S"};
    struct net_tls_ctx *ctx = net_tls_ctx_new(&c, err, sizeof err);
    if (!ctx) {
        fail_msg("%s", err);
    }
    assert_true(net_tls_ctx_verifies(ctx));
    net_tls_ctx_free(ctx);
    c.key_pem = p->enc_key;
    c.key_password = "right-password";
    ctx = net_tls_ctx_new(&c, err, sizeof err);
    if (!ctx) {
        fail_msg("encrypted key: %s", err);
    }
    net_tls_ctx_free(ctx);
    struct net_tls_config only_ca = {.ca_pem = p->ca};
    ctx = net_tls_ctx_new(&only_ca, err, sizeof err);
    assert_non_null(ctx);
    net_tls_ctx_free(ctx);
}

static void test_memory_pem_errors(void **state)
{
    struct pki *p = *state;
    struct net_tls_config c = {.ca_pem = p->ca,
                               .cert_pem = p->cert,
                               .key_pem = p->enc_key,
                               .key_password = "wrong-password",
                               .pem_source = "secret S"};
    assert_string_equal(ctx_err(&c), "client key (secret S): cannot decrypt it (wrong password?)");
    c.key_password = NULL;
    assert_string_equal(ctx_err(&c),
                        "client key (secret S): it is encrypted and no password was given");
    c.key_pem = p->other;
    assert_string_equal(ctx_err(&c),
                        "client key (secret S): does not match the client certificate");
    c.key_pem = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";
    assert_non_null(strstr(ctx_err(&c), "client key (secret S): not a valid PEM private key"));
    c.key_pem = p->key;
    c.cert_pem = "not PEM at all";
    assert_non_null(
        strstr(ctx_err(&c), "client certificate (secret S): not a valid PEM certificate"));
    c.cert_pem = NULL;
    assert_string_equal(ctx_err(&c), "client certificate and key must be given together");
    struct net_tls_config bad_ca = {.ca_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                              "-----END CERTIFICATE-----\n",
                                    .pem_source = "secret R"};
    assert_string_equal(ctx_err(&bad_ca), "CA certificate (secret R): no PEM certificate in it");
    struct net_tls_config no_source = {.ca_pem = "junk"};
    assert_string_equal(ctx_err(&no_source), "CA certificate (PEM text): no PEM certificate in it");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memory_pem_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_pem_errors, setup, teardown),
    };
    return cmocka_run_group_tests_name("net_tls_pem", tests, NULL, NULL);
}
