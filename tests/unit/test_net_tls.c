// test_net_tls.c: net/ TLS against an in-process TLS "broker" on 127.0.0.1 whose PKI the test
// builds with libcrypto at run time (a CA, an unrelated CA, server certificates with the right
// name, a wrong name and an expired date, a client certificate, an encrypted key). It checks
// verification by CA file and directory-less setups, SNI for names and none for IP literals,
// every failure class with its text, mTLS, the insecure switch and its per-connect warning, the
// TLS 1.2 floor, and the context loader's errors.
#include "base/log.h"
#include "broker/conn.h"
#include "net/internal.h"
#include "net/reactor.h"
#include "net/tls.h"
#include "proto/api.h"
#include "proto/kr.h"
#include "proto/kw.h"
#include "tests/lib/unit.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// ---- PKI ---------------------------------------------------------------------------------------

struct pki {
    char dir[64];
    EVP_PKEY *ca_key, *other_key, *leaf_key, *client_key;
    X509 *ca, *other, *server, *wrongname, *expired, *client;
};
static struct pki pki;

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ex);
    assert_int_equal(X509_add_ext(cert, ex, -1), 1);
    X509_EXTENSION_free(ex);
}

// make_cert: |issuer| NULL means self-signed. Validity from |from_s| to |to_s| seconds from now.
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       const char *san, bool ca, long from_s, long to_s, long serial)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), from_s);
    X509_gmtime_adj(X509_getm_notAfter(x), to_s);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509 *iss = issuer ? issuer : x;
    add_ext(x, iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (ca) {
        add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    if (san != NULL) {
        add_ext(x, iss, NID_subject_alt_name, san);
    }
    assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
    return x;
}

static void write_pem(const char *file, X509 *cert, EVP_PKEY *key, const char *password)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", pki.dir, file);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (cert != NULL) {
        assert_int_equal(PEM_write_X509(f, cert), 1);
    } else if (password != NULL) {
        assert_int_equal(PEM_write_PKCS8PrivateKey(f, key, EVP_aes_256_cbc(), NULL, 0, NULL,
                                                   (void *)(uintptr_t)password),
                         1);
    } else {
        assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
    }
    fclose(f);
}

static const char *pki_path(const char *file)
{
    static char paths[8][128];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 128, "%s/%s", pki.dir, file);
    return p;
}

static int pki_setup(void **state)
{
    (void)state;
    snprintf(pki.dir, sizeof pki.dir, "/tmp/test_net_tls.XXXXXX");
    assert_non_null(mkdtemp(pki.dir));
    pki.ca_key = EVP_EC_gen("P-256");
    pki.other_key = EVP_EC_gen("P-256");
    pki.leaf_key = EVP_EC_gen("P-256");
    pki.client_key = EVP_EC_gen("P-256");
    long day = 86400;
    pki.ca = make_cert(pki.ca_key, "kesm unit CA", NULL, pki.ca_key, NULL, true, -day, day, 1);
    pki.other = make_cert(pki.other_key, "other CA", NULL, pki.other_key, NULL, true, -day, day, 2);
    pki.server = make_cert(pki.leaf_key, "localhost", pki.ca, pki.ca_key,
                           "DNS:localhost,IP:127.0.0.1", false, -day, day, 3);
    pki.wrongname = make_cert(pki.leaf_key, "broker.example", pki.ca, pki.ca_key,
                              "DNS:broker.example", false, -day, day, 4);
    pki.expired = make_cert(pki.leaf_key, "localhost", pki.ca, pki.ca_key,
                            "DNS:localhost,IP:127.0.0.1", false, -3 * day, -2 * day, 5);
    pki.client =
        make_cert(pki.client_key, "kesm-client", pki.ca, pki.ca_key, NULL, false, -day, day, 6);
    write_pem("ca.pem", pki.ca, NULL, NULL);
    write_pem("other.pem", pki.other, NULL, NULL);
    write_pem("client.pem", pki.client, NULL, NULL);
    write_pem("client.key", NULL, pki.client_key, NULL);
    write_pem("client-enc.key", NULL, pki.client_key, "unit-pw-1");
    write_pem("other.key", NULL, pki.other_key, NULL);
    return 0;
}

static int pki_teardown(void **state)
{
    (void)state;
    const char *files[] = {"ca.pem",     "other.pem",      "client.pem",
                           "client.key", "client-enc.key", "other.key"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        unlink(pki_path(files[i]));
    }
    rmdir(pki.dir);
    X509 *certs[] = {pki.ca, pki.other, pki.server, pki.wrongname, pki.expired, pki.client};
    for (size_t i = 0; i < 6; i++) {
        X509_free(certs[i]);
    }
    EVP_PKEY_free(pki.ca_key);
    EVP_PKEY_free(pki.other_key);
    EVP_PKEY_free(pki.leaf_key);
    EVP_PKEY_free(pki.client_key);
    return 0;
}

// ---- TLS fake broker: ApiVersions v0 list (v3 refused), echo for everything else ---------------

struct tls_fake {
    struct event_base *base;
    struct evconnlistener *lis;
    uint16_t port;
    SSL_CTX *ctx;
    struct bufferevent *clients[16];
    int nclients;
    char sni[64];
    bool sni_seen;
    char client_cn[64];
};

static int servername_cb(SSL *ssl, int *al, void *arg)
{
    (void)al;
    struct tls_fake *f = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name != NULL) {
        f->sni_seen = true;
        snprintf(f->sni, sizeof f->sni, "%s", name);
    }
    return SSL_TLSEXT_ERR_OK;
}

static void fake_answer(struct tls_fake *f, struct bufferevent *bev, kr *frame)
{
    struct kp_req_hdr h;
    struct kp_err e;
    assert_int_equal(kp_req_hdr_parse(frame, &h, &e), KP_OK);
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    X509 *peer = SSL_get_peer_certificate(ssl);
    if (peer != NULL) {
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, f->client_cn,
                                  sizeof f->client_cn);
        X509_free(peer);
    }
    kw w;
    kw_init_grow(&w);
    size_t pos;
    kw_begin_size32(&w, &pos);
    kw_i32(&w, h.correlation_id);
    if (h.api_key == KP_API_API_VERSIONS) {
        kw_i16(&w, h.api_version >= 3 ? 35 : 0);
        kw_i32(&w, 2);
        kw_i16(&w, KP_API_METADATA);
        kw_i16(&w, 0);
        kw_i16(&w, 2);
        kw_i16(&w, KP_API_API_VERSIONS);
        kw_i16(&w, 0);
        kw_i16(&w, 2);
        if (h.api_version >= 1 && h.api_version < 3) {
            kw_i32(&w, 0);
        }
    } else {
        kw_raw(&w, frame->p, kr_left(frame));
    }
    kw_end_size32(&w, pos);
    bufferevent_write(bev, kw_data(&w), kw_len(&w));
    kw_cleanup(&w);
}

static void fake_read(struct bufferevent *bev, void *arg)
{
    struct tls_fake *f = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        size_t have = evbuffer_get_length(in);
        uint8_t hdr[4];
        if (have < 4 || evbuffer_copyout(in, hdr, 4) != 4) {
            return;
        }
        size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
        if (have < 4 + n) {
            return;
        }
        uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)(4 + n));
        kr frame;
        kr_init(&frame, p + 4, n);
        fake_answer(f, bev, &frame);
        evbuffer_drain(in, 4 + n);
    }
}

static void fake_event(struct bufferevent *bev, short what, void *arg)
{
    (void)arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        bufferevent_disable(bev, EV_READ | EV_WRITE);
    }
}

static void fake_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                        int socklen, void *arg)
{
    (void)lis;
    (void)sa;
    (void)socklen;
    struct tls_fake *f = arg;
    if (f->nclients == 16) {
        evutil_closesocket(fd);
        return;
    }
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        f->base, fd, SSL_new(f->ctx), BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    assert_non_null(bev);
    bufferevent_setcb(bev, fake_read, NULL, fake_event, f);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    f->clients[f->nclients++] = bev;
}

// fake_start serves |cert| (key: the shared leaf key); |require_client| asks for and requires a
// client certificate signed by the CA; |max_proto| caps the server's TLS version (0 = none).
static void fake_start(struct tls_fake *f, struct net_reactor *r, X509 *cert, bool require_client,
                       int max_proto)
{
    memset(f, 0, sizeof *f);
    f->base = net_reactor_base(r);
    f->ctx = SSL_CTX_new(TLS_server_method());
    assert_int_equal(SSL_CTX_use_certificate(f->ctx, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(f->ctx, pki.leaf_key), 1);
    SSL_CTX_set_tlsext_servername_callback(f->ctx, servername_cb);
    SSL_CTX_set_tlsext_servername_arg(f->ctx, f);
    if (require_client) {
        X509_STORE_add_cert(SSL_CTX_get_cert_store(f->ctx), pki.ca);
        SSL_CTX_set_verify(f->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    if (max_proto != 0) {
        SSL_CTX_set_security_level(f->ctx, 0);
        SSL_CTX_set_cipher_list(f->ctx, "DEFAULT:@SECLEVEL=0");
        SSL_CTX_set_min_proto_version(f->ctx, TLS1_VERSION);
        SSL_CTX_set_max_proto_version(f->ctx, max_proto);
    }
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->lis =
        evconnlistener_new_bind(f->base, fake_accept, f, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                16, (struct sockaddr *)&sin, sizeof sin);
    assert_non_null(f->lis);
    struct sockaddr_in bound;
    socklen_t bl = sizeof bound;
    getsockname(evconnlistener_get_fd(f->lis), (struct sockaddr *)&bound, &bl);
    f->port = ntohs(bound.sin_port);
}

static void fake_free(struct tls_fake *f)
{
    evconnlistener_free(f->lis);
    for (int i = 0; i < f->nclients; i++) {
        bufferevent_free(f->clients[i]);
    }
    SSL_CTX_free(f->ctx);
}

// ---- client side -------------------------------------------------------------------------------

struct watch {
    struct net_reactor *r;
    bool done;
    struct broker_conn_event fail;
    char msg[600];
    int readies;
};

static void on_state(struct broker_conn *c, const struct broker_conn_event *ev, void *ctx)
{
    (void)c;
    struct watch *w = ctx;
    if (ev->err != BROKER_OK) {
        w->fail = *ev;
        snprintf(w->msg, sizeof w->msg, "%s", ev->msg ? ev->msg : "");
        w->fail.msg = w->msg;
    }
    if (ev->to == BROKER_CONN_READY) {
        w->readies++;
    }
    if (ev->to == BROKER_CONN_READY || ev->to == BROKER_CONN_CLOSED) {
        w->done = true;
        net_reactor_stop(w->r);
    }
}

static int warn_count;
static void warn_sink(enum kesm_log_level level, const char *line, void *ctx)
{
    (void)ctx;
    if (level == KESM_LOG_WARN && strstr(line, "certificate verification is OFF") != NULL) {
        warn_count++;
    }
}

// dial connects once (no reconnect) to |host| on the fake and runs until READY or CLOSED.
static void dial(struct tls_fake *f, struct net_reactor *r, const char *host,
                 const struct net_tls_config *tc, struct watch *w)
{
    char err[300];
    struct net_tls_ctx *ctx = net_tls_ctx_new(tc, err, sizeof err);
    assert_non_null(ctx);
    memset(w, 0, sizeof *w);
    w->r = r;
    struct broker_conn_config cfg = {
        .tls = ctx, .no_reconnect = true, .handshake_timeout_ms = 3000};
    struct broker_conn_callbacks cb = {on_state, w};
    struct broker_conn *c = broker_conn_new(r, host, f->port, &cfg, &cb);
    net_reactor_run_for(r, 5000);
    assert_true(w->done);
    broker_conn_free(c);
    net_tls_ctx_free(ctx);
}

static int setup(void **state)
{
    int lvl = kesm_log_level_parse(getenv("KESM_TEST_LOG"));
    kesm_log_set_level(lvl < 0 ? KESM_LOG_ERROR : (enum kesm_log_level)lvl);
    struct net_reactor *r = net_reactor_new(NULL);
    assert_non_null(r);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    net_reactor_free(*state);
    kesm_log_set_sink(NULL, NULL);
    return 0;
}

static void expect_fail(struct watch *w, enum net_tls_fail cls, const char *text)
{
    assert_int_equal(w->readies, 0);
    assert_int_equal(w->fail.err, BROKER_ERR_TLS);
    if (w->fail.tls_fail != cls || strstr(w->msg, text) == NULL) {
        fail_msg("got class \"%s\" and \"%s\", want \"%s\" and \"%s\"",
                 net_tls_fail_name(w->fail.tls_fail), w->msg, net_tls_fail_name(cls), text);
    }
}

// ---- tests -------------------------------------------------------------------------------------

static void test_verified_name_with_sni(void **state)
{
    struct tls_fake f;
    struct watch w;
    fake_start(&f, *state, pki.server, false, 0);
    struct net_tls_config tc = {.ca_file = pki_path("ca.pem")};
    dial(&f, *state, "localhost", &tc, &w);
    assert_int_equal(w.readies, 1);
    assert_true(f.sni_seen);
    assert_string_equal(f.sni, "localhost");
    fake_free(&f);
}

static void test_verified_ip_without_sni(void **state)
{
    struct tls_fake f;
    struct watch w;
    fake_start(&f, *state, pki.server, false, 0);
    struct net_tls_config tc = {.ca_file = pki_path("ca.pem")};
    dial(&f, *state, "127.0.0.1", &tc, &w);
    assert_int_equal(w.readies, 1);
    assert_false(f.sni_seen);
    fake_free(&f);
}

static void test_unknown_ca(void **state)
{
    struct tls_fake f;
    struct watch w;
    fake_start(&f, *state, pki.server, false, 0);
    struct net_tls_config tc = {.ca_file = pki_path("other.pem")};
    dial(&f, *state, "localhost", &tc, &w);
    expect_fail(&w, NET_TLS_UNKNOWN_CA,
                "TLS: unknown CA: the broker's certificate is not signed by a trusted CA");
    assert_true(broker_conn_event_is_authn(&w.fail));
    fake_free(&f);
}

static void test_hostname_mismatch(void **state)
{
    struct tls_fake f;
    struct watch w;
    fake_start(&f, *state, pki.wrongname, false, 0);
    struct net_tls_config tc = {.ca_file = pki_path("ca.pem")};
    dial(&f, *state, "localhost", &tc, &w);
    expect_fail(&w, NET_TLS_HOSTNAME_MISMATCH,
                "TLS: hostname mismatch: the broker's certificate does not name \"localhost\"");
    dial(&f, *state, "127.0.0.1", &tc, &w);
    expect_fail(&w, NET_TLS_HOSTNAME_MISMATCH, "does not name \"127.0.0.1\"");
    fake_free(&f);
}

static void test_expired(void **state)
{
    struct tls_fake f;
    struct watch w;
    fake_start(&f, *state, pki.expired, false, 0);
    struct net_tls_config tc = {.ca_file = pki_path("ca.pem")};
    dial(&f, *state, "localhost", &tc, &w);
    expect_fail(&w, NET_TLS_EXPIRED,
                "TLS: certificate expired: the broker's certificate has expired");
    fake_free(&f);
}

static void test_insecure_warns_every_connect(void **state)
{
    struct tls_fake f;
    struct watch w;
    fake_start(&f, *state, pki.expired, false, 0);
    struct net_tls_config tc = {.insecure_skip_verify = true};
    warn_count = 0;
    kesm_log_set_level(KESM_LOG_WARN);
    kesm_log_set_sink(warn_sink, NULL);
    dial(&f, *state, "localhost", &tc, &w);
    assert_int_equal(w.readies, 1);
    dial(&f, *state, "127.0.0.1", &tc, &w);
    assert_int_equal(w.readies, 1);
    kesm_log_set_sink(NULL, NULL);
    kesm_log_set_level(KESM_LOG_ERROR);
    assert_int_equal(warn_count, 2);
    fake_free(&f);
}

static void test_mtls(void **state)
{
    struct tls_fake f;
    struct watch w;
    fake_start(&f, *state, pki.server, true, 0);
    struct net_tls_config none = {.ca_file = pki_path("ca.pem")};
    dial(&f, *state, "localhost", &none, &w);
    expect_fail(&w, NET_TLS_CLIENT_CERT_REQUIRED, "TLS: client certificate required:");
    assert_non_null(strstr(w.msg, "none is configured"));
    assert_true(broker_conn_event_is_authn(&w.fail));
    struct net_tls_config with = {.ca_file = pki_path("ca.pem"),
                                  .cert_file = pki_path("client.pem"),
                                  .key_file = pki_path("client-enc.key"),
                                  .key_password = "unit-pw-1"};
    dial(&f, *state, "localhost", &with, &w);
    assert_int_equal(w.readies, 1);
    assert_string_equal(f.client_cn, "kesm-client");
    fake_free(&f);
}

static void test_tls12_floor(void **state)
{
    struct tls_fake f;
    struct watch w;
    fake_start(&f, *state, pki.server, false, TLS1_1_VERSION);
    struct net_tls_config tc = {.ca_file = pki_path("ca.pem")};
    dial(&f, *state, "localhost", &tc, &w);
    assert_int_equal(w.readies, 0);
    assert_int_equal(w.fail.err, BROKER_ERR_TLS);
    assert_int_equal(w.fail.tls_fail, NET_TLS_PROTOCOL);
    assert_non_null(strstr(w.msg, "TLS: "));
    assert_non_null(strstr(w.msg, "protocol"));
    fake_free(&f);
}

static void expect_ctx_error(const struct net_tls_config *tc, const char *want)
{
    char err[300];
    struct net_tls_ctx *ctx = net_tls_ctx_new(tc, err, sizeof err);
    assert_null(ctx);
    if (strstr(err, want) == NULL) {
        fail_msg("got \"%s\", want \"%s\"", err, want);
    }
    assert_null(strstr(err, "unit-pw"));
}

static void test_ctx_errors(void **state)
{
    (void)state;
    struct net_tls_config missing = {.ca_file = "/nonexistent/ca.pem"};
    expect_ctx_error(&missing, "CA /nonexistent/ca.pem: ");
    struct net_tls_config half = {.ca_file = pki_path("ca.pem"),
                                  .cert_file = pki_path("client.pem")};
    expect_ctx_error(&half, "client certificate and key must be given together");
    struct net_tls_config mismatch = {.ca_file = pki_path("ca.pem"),
                                      .cert_file = pki_path("client.pem"),
                                      .key_file = pki_path("other.key")};
    expect_ctx_error(&mismatch, "other.key: does not match the client certificate");
    struct net_tls_config badpw = {.ca_file = pki_path("ca.pem"),
                                   .cert_file = pki_path("client.pem"),
                                   .key_file = pki_path("client-enc.key"),
                                   .key_password = "unit-pw-2"};
    expect_ctx_error(&badpw, "client-enc.key: cannot decrypt it (wrong password?)");
    struct net_tls_config nopw = {.ca_file = pki_path("ca.pem"),
                                  .cert_file = pki_path("client.pem"),
                                  .key_file = pki_path("client-enc.key")};
    expect_ctx_error(&nopw, "client-enc.key: it is encrypted and no password was given");
    struct net_tls_config notcert = {.ca_file = pki_path("ca.pem"),
                                     .cert_file = pki_path("client.key"),
                                     .key_file = pki_path("client.key")};
    expect_ctx_error(&notcert, "client certificate ");
    // The system store loads (it may be empty) and the context verifies by default.
    struct net_tls_ctx *sys = net_tls_ctx_new(NULL, NULL, 0);
    assert_non_null(sys);
    assert_true(net_tls_ctx_verifies(sys));
    net_tls_ctx_free(sys);
    net_tls_ctx_free(NULL);
}

static void test_fail_classes(void **state)
{
    (void)state;
    assert_true(net_tls_fail_is_authn(NET_TLS_UNKNOWN_CA));
    assert_true(net_tls_fail_is_authn(NET_TLS_CLIENT_CERT_REJECTED));
    assert_false(net_tls_fail_is_authn(NET_TLS_HANDSHAKE_TIMEOUT));
    assert_false(net_tls_fail_is_authn(NET_TLS_NOT_TLS));
    assert_string_equal(net_tls_fail_name(NET_TLS_HOSTNAME_MISMATCH), "hostname mismatch");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_verified_name_with_sni, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verified_ip_without_sni, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostname_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insecure_warns_every_connect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mtls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls12_floor, setup, teardown),
        cmocka_unit_test(test_ctx_errors),
        cmocka_unit_test(test_fail_classes),
    };
    return cmocka_run_group_tests_name("net_tls", tests, pki_setup, pki_teardown);
}
