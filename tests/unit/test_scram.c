// test_scram.c: the SCRAM client (sasl/scram.c), the crypto helpers it uses (sasl/crypto.c), the
// salted-password cache and the generic mechanism interface (sasl/sasl.c).
//
// Vectors: RFC 5802 section 5 (SCRAM-SHA-1), RFC 7677 section 3 (SCRAM-SHA-256), and a
// SCRAM-SHA-512 exchange produced by Perl's Authen::SCRAM (tests/golden/scram/).
#include "sasl/crypto.h"
#include "sasl/sasl.h"
#include "sasl/scram.h"
#include "tests/lib/golden.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RFC7677_NONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC7677_SNONCE RFC7677_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC7677_SALT "W22ZaJ0SNY7soEsUEjb6gQ=="
#define RFC7677_FIRST "r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=4096"
#define RFC7677_FINAL "c=biws,r=" RFC7677_SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC7677_V "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

// step_str feeds a C string (length by strlen) and returns the status.
static enum scram_status step_str(struct scram *s, const char *in, const uint8_t **out,
                                  size_t *out_len, struct sasl_err *err)
{
    return scram_step(s, (const uint8_t *)in, strlen(in), out, out_len, err);
}

static void assert_token(const uint8_t *out, size_t out_len, const char *want)
{
    assert_non_null(out);
    assert_int_equal(out_len, strlen(want));
    assert_memory_equal(out, want, out_len);
}

// run_vector runs a whole exchange and checks every client message byte for byte.
static void run_vector(enum sasl_hash hash, const char *user, const char *pass, const char *nonce,
                       const char *c1, const char *s1, const char *c2, const char *s2,
                       const struct sasl_opts *opts)
{
    struct sasl_err err = {{0}};
    const uint8_t *out;
    size_t out_len;
    struct scram *s = scram_new(hash, user, pass, opts, &err);
    assert_non_null(s);
    assert_int_equal(scram_start(s, nonce, &out, &out_len, &err), SCRAM_CONTINUE);
    assert_token(out, out_len, c1);
    assert_int_equal(step_str(s, s1, &out, &out_len, &err), SCRAM_CONTINUE);
    assert_token(out, out_len, c2);
    assert_int_equal(step_str(s, s2, &out, &out_len, &err), SCRAM_COMPLETE);
    assert_int_equal(out_len, 0);
    assert_string_equal(err.msg, "");
    scram_free(s);
}

static void test_rfc5802_sha1(void **state)
{
    (void)state;
    run_vector(SASL_HASH_SHA1, "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL",
               "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
               "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
               "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
               "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", NULL);
}

static void test_rfc7677_sha256(void **state)
{
    (void)state;
    run_vector(SASL_HASH_SHA256, "user", "pencil", RFC7677_NONCE, "n,,n=user,r=" RFC7677_NONCE,
               RFC7677_FIRST, RFC7677_FINAL, RFC7677_V, NULL);
}

// golden_field finds "label: value\n" in |text| and copies the value into |buf|.
static void golden_field(const char *text, const char *label, char *buf, size_t cap)
{
    char key[64];
    snprintf(key, sizeof key, "%s: ", label);
    const char *p = strstr(text, key);
    assert_non_null(p);
    p += strlen(key);
    size_t n = strcspn(p, "\n");
    assert_true(n < cap);
    memcpy(buf, p, n);
    buf[n] = '\0';
}

static void test_sha512_authen_scram(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "scram/sha512_exchange.txt");
    char *text = malloc(g.len + 1);
    assert_non_null(text);
    memcpy(text, g.data, g.len);
    text[g.len] = '\0';
    char f[7][256];
    const char *labels[7] = {"user",         "password",     "client-nonce", "client-first",
                             "server-first", "client-final", "server-final"};
    for (int i = 0; i < 7; i++) {
        golden_field(text, labels[i], f[i], sizeof f[i]);
    }
    run_vector(SASL_HASH_SHA512, f[0], f[1], f[2], f[3], f[4], f[5], f[6], NULL);
    free(text);
    guarded_free(&g);
}

// first_fails starts an RFC 7677 exchange, feeds |len| bytes of |s1| and checks the error text.
static void first_fails(const char *s1, size_t len, const char *want, uint32_t max_iter)
{
    struct sasl_err err = {{0}};
    struct sasl_opts opts = {.scram_max_iterations = max_iter};
    const uint8_t *out;
    size_t out_len;
    struct scram *s = scram_new(SASL_HASH_SHA256, "user", "pencil", &opts, &err);
    assert_non_null(s);
    assert_int_equal(scram_start(s, RFC7677_NONCE, &out, &out_len, &err), SCRAM_CONTINUE);
    struct guarded g;
    guarded_copy(&g, s1, len);
    enum scram_status st = scram_step(s, g.data, g.len, &out, &out_len, &err);
    if (st != SCRAM_FAILED || strcmp(err.msg, want) != 0) {
        print_error("input %.*s: status %d, error \"%s\", expected \"%s\"\n", (int)len, s1, st,
                    err.msg, want);
    }
    assert_int_equal(st, SCRAM_FAILED);
    assert_string_equal(err.msg, want);
    assert_null(out);
    // The object stays failed: a retry with a valid message is refused.
    assert_int_equal(step_str(s, RFC7677_FIRST, &out, &out_len, &err), SCRAM_FAILED);
    guarded_free(&g);
    scram_free(s);
}

#define MAL(x) "malformed SCRAM message (" x ")"
#define ITER_RANGE(n) "SCRAM iteration count " n " is outside the allowed range [4096, 1000000]"

static void test_server_first_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", MAL("empty message")},
        {"s=" RFC7677_SALT ",i=4096", MAL("attribute \"r\" expected")},
        {"s=" RFC7677_SALT ",r=" RFC7677_SNONCE ",i=4096", MAL("attribute \"r\" expected")},
        {"e=other-error", MAL("attribute \"r\" expected")},
        {"r" RFC7677_SNONCE, MAL("attribute \"r\" expected")},
        {"R=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=4096", MAL("attribute \"r\" expected")},
        {"r=" RFC7677_SNONCE, MAL("attribute \"s\" expected")},
        {"r=" RFC7677_SNONCE ",i=4096,s=" RFC7677_SALT, MAL("attribute \"s\" expected")},
        {"r=" RFC7677_SNONCE ",s=" RFC7677_SALT, MAL("attribute \"i\" expected")},
        {"r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",", MAL("attribute \"i\" expected")},
        {"m=ext,r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=4096",
         MAL("unsupported mandatory extension")},
        {"r=XOprNGfwEbeRWgbNEkqO%hvYDpWUa2R,s=" RFC7677_SALT ",i=4096",
         MAL("server nonce does not extend the client nonce")},
        {"r=" RFC7677_NONCE ",s=" RFC7677_SALT ",i=4096",
         MAL("server nonce does not extend the client nonce")},
        {"r=rOprNGfwEbe,s=" RFC7677_SALT ",i=4096",
         MAL("server nonce does not extend the client nonce")},
        {"r=" RFC7677_NONCE "ab cd,s=" RFC7677_SALT ",i=4096", MAL("invalid nonce")},
        {"r=" RFC7677_NONCE "ab\x7f"
         "cd,s=" RFC7677_SALT ",i=4096",
         MAL("invalid nonce")},
        {"r=" RFC7677_NONCE "ab\xc3\xa9,s=" RFC7677_SALT ",i=4096", MAL("invalid nonce")},
        {"r=,s=" RFC7677_SALT ",i=4096", MAL("server nonce does not extend the client nonce")},
        {"r=" RFC7677_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096", MAL("invalid salt")},
        {"r=" RFC7677_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ,i=4096", MAL("invalid salt")},
        {"r=" RFC7677_SNONCE ",s=W22Z!J0SNY7soEsUEjb6gQ==,i=4096", MAL("invalid salt")},
        {"r=" RFC7677_SNONCE ",s=W22ZaJ0S NY7soEsUEjb6gQ==,i=4096", MAL("invalid salt")},
        {"r=" RFC7677_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gR==,i=4096", MAL("invalid salt")},
        {"r=" RFC7677_SNONCE ",s=W2==aJ0SNY7soEsUEjb6gQ==,i=4096", MAL("invalid salt")},
        {"r=" RFC7677_SNONCE ",s=,i=4096", MAL("invalid salt")},
        {"r=" RFC7677_SNONCE ",s=====,i=4096", MAL("invalid salt")},
        {"r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=1", ITER_RANGE("1")},
        {"r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=4095", ITER_RANGE("4095")},
        {"r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=1000001", ITER_RANGE("1000001")},
        {"r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=4294967295", ITER_RANGE("4294967295")},
        {"r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=4294967296", MAL("invalid iteration count")},
        {"r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=99999999999999999999",
         MAL("invalid iteration count")},
        {"r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=abc", MAL("invalid iteration count")},
        {"r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=", MAL("invalid iteration count")},
        {"r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=-4096", MAL("invalid iteration count")},
        {"r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=+4096", MAL("invalid iteration count")},
        {"r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=04096", MAL("invalid iteration count")},
        {"r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=0", MAL("invalid iteration count")},
        {"r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=4096x", MAL("invalid iteration count")},
        {"r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i= 4096", MAL("invalid iteration count")},
        {RFC7677_FIRST ",", MAL("garbage at end of server-first-message")},
        {RFC7677_FIRST ",garbage", MAL("garbage at end of server-first-message")},
        {RFC7677_FIRST ",x=", MAL("garbage at end of server-first-message")},
        {RFC7677_FIRST ",1=one", MAL("garbage at end of server-first-message")},
        {RFC7677_FIRST ",x=1,,y=2", MAL("garbage at end of server-first-message")},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        first_fails(cases[i].in, strlen(cases[i].in), cases[i].want, 0);
    }
    // NUL bytes anywhere, and an oversized message.
    static const char with_nul[] = "r=" RFC7677_SNONCE "\0,s=" RFC7677_SALT ",i=4096";
    first_fails(with_nul, sizeof with_nul - 1, MAL("NUL byte in message"), 0);
    static const char nul_end[] = RFC7677_FIRST "\0";
    first_fails(nul_end, sizeof nul_end - 1, MAL("NUL byte in message"), 0);
    char *big = malloc(SCRAM_MAX_MSG + 100);
    assert_non_null(big);
    int n = snprintf(big, SCRAM_MAX_MSG + 100, "%s,x=", RFC7677_FIRST);
    memset(big + n, 'a', SCRAM_MAX_MSG + 100 - (size_t)n);
    first_fails(big, SCRAM_MAX_MSG + 100, MAL("message too long"), 0);
    free(big);
    // A configured maximum below the default.
    first_fails("r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=5000",
                strlen("r=" RFC7677_SNONCE ",s=" RFC7677_SALT ",i=5000"),
                "SCRAM iteration count 5000 is outside the allowed range [4096, 4096]", 4096);
}

static void test_server_first_extensions_allowed(void **state)
{
    (void)state;
    struct sasl_err err = {{0}};
    const uint8_t *out;
    size_t out_len;
    struct scram *s = scram_new(SASL_HASH_SHA256, "user", "pencil", NULL, &err);
    assert_non_null(s);
    assert_int_equal(scram_start(s, RFC7677_NONCE, &out, &out_len, &err), SCRAM_CONTINUE);
    assert_int_equal(step_str(s, RFC7677_FIRST ",x=ext,Y=a=b", &out, &out_len, &err),
                     SCRAM_CONTINUE);
    // The AuthMessage includes the extension, so the proof differs from the RFC's.
    assert_int_equal(out_len, strlen(RFC7677_FINAL));
    assert_memory_equal(out, RFC7677_FINAL, strlen(RFC7677_FINAL) - 45);
    assert_memory_not_equal(out, RFC7677_FINAL, out_len);
    scram_free(s);
}

// final_fails runs RFC 7677 up to the server-final and feeds |len| bytes of |s2|.
static void final_fails(const char *s2, size_t len, const char *want)
{
    struct sasl_err err = {{0}};
    const uint8_t *out;
    size_t out_len;
    struct scram *s = scram_new(SASL_HASH_SHA256, "user", "pencil", NULL, &err);
    assert_non_null(s);
    assert_int_equal(scram_start(s, RFC7677_NONCE, &out, &out_len, &err), SCRAM_CONTINUE);
    assert_int_equal(step_str(s, RFC7677_FIRST, &out, &out_len, &err), SCRAM_CONTINUE);
    struct guarded g;
    guarded_copy(&g, s2, len);
    enum scram_status st = scram_step(s, g.data, g.len, &out, &out_len, &err);
    if (st != SCRAM_FAILED || strcmp(err.msg, want) != 0) {
        print_error("input %.*s: status %d, error \"%s\", expected \"%s\"\n", (int)len, s2, st,
                    err.msg, want);
    }
    assert_int_equal(st, SCRAM_FAILED);
    assert_string_equal(err.msg, want);
    assert_int_equal(step_str(s, RFC7677_V, &out, &out_len, &err), SCRAM_FAILED);
    guarded_free(&g);
    scram_free(s);
}

static void test_server_final_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", MAL("empty message")},
        {"e=invalid-proof", "SCRAM authentication failed: server error \"invalid-proof\""},
        {"e=other-error,x=1", "SCRAM authentication failed: server error \"other-error\""},
        {"e=bad\x01\x7f\xff", "SCRAM authentication failed: server error \"bad???\""},
        {"e=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "SCRAM authentication failed: server error "
         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""},
        {"x=1", MAL("attribute \"v\" expected")},
        {"V=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", MAL("attribute \"v\" expected")},
        {"v", MAL("attribute \"v\" expected")},
        {"v=", MAL("server signature has the wrong length")},
        {"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G=",
         MAL("server signature has the wrong length")},
        {"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", MAL("server signature has the wrong length")},
        {RFC7677_V "AAAA", MAL("server signature has the wrong length")},
        {RFC7677_V "garbage", MAL("server signature has the wrong length")},
        {"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G!=", MAL("invalid server signature")},
        {"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=", MAL("invalid server signature")},
        {"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4A", MAL("invalid server signature")},
        {"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G8=", "incorrect server signature"},
        {"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", "incorrect server signature"},
        {"v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "incorrect server signature"},
        {RFC7677_V ",", MAL("garbage at end of server-final-message")},
        {RFC7677_V ",garbage", MAL("garbage at end of server-final-message")},
        {RFC7677_FIRST, MAL("attribute \"v\" expected")},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        final_fails(cases[i].in, strlen(cases[i].in), cases[i].want);
    }
    static const char with_nul[] = RFC7677_V "\0";
    final_fails(with_nul, sizeof with_nul - 1, MAL("NUL byte in message"));
    static const char nul_in[] = "v=6rriTRBi23WpRR/wtup+mMhU\0n/dB5nLTJRsjl95G4=";
    final_fails(nul_in, sizeof nul_in - 1, MAL("NUL byte in message"));
}

static void test_server_final_extension_allowed(void **state)
{
    (void)state;
    run_vector(SASL_HASH_SHA256, "user", "pencil", RFC7677_NONCE, "n,,n=user,r=" RFC7677_NONCE,
               RFC7677_FIRST, RFC7677_FINAL, RFC7677_V ",x=later", NULL);
}

static void test_credentials_policy(void **state)
{
    (void)state;
    struct sasl_err err = {{0}};
    static const char user_msg[] =
        "SCRAM user name must be non-empty printable ASCII (SASLprep is not implemented)";
    static const char pass_msg[] =
        "SCRAM password must be non-empty printable ASCII (SASLprep is not implemented)";
    const struct {
        const char *user, *pass, *want;
    } cases[] = {
        {"", "pencil", user_msg},         {NULL, "pencil", user_msg},
        {"us\ter", "pencil", user_msg},   {"us\xc3\xa9r", "pencil", user_msg},
        {"user", "", pass_msg},           {"user", NULL, pass_msg},
        {"user", "pen\ncil", pass_msg},   {"user", "p\xe2\x82\xac", pass_msg},
        {"user", "pencil\x7f", pass_msg},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err.msg[0] = '\0';
        assert_null(scram_new(SASL_HASH_SHA256, cases[i].user, cases[i].pass, NULL, &err));
        assert_string_equal(err.msg, cases[i].want);
    }
    struct sasl_opts opts = {.scram_max_iterations = 4095};
    assert_null(scram_new(SASL_HASH_SHA256, "user", "pencil", &opts, &err));
    assert_string_equal(err.msg,
                        "SCRAM maximum iteration count 4095 is outside [4096, 2147483647]");
    // Spaces and punctuation are printable ASCII and allowed.
    struct scram *s = scram_new(SASL_HASH_SHA256, "a user", "p a$$ {word}", NULL, &err);
    assert_non_null(s);
    scram_free(s);
}

static void test_user_name_escaping_and_nonce(void **state)
{
    (void)state;
    struct sasl_err err = {{0}};
    const uint8_t *out;
    size_t out_len;
    struct scram *s = scram_new(SASL_HASH_SHA512, "a,b=c==,", "pw", NULL, &err);
    assert_non_null(s);
    assert_int_equal(scram_start(s, "short", &out, &out_len, &err), SCRAM_FAILED);
    assert_string_equal(err.msg, "invalid SCRAM client nonce");
    scram_free(s);

    const char *bad_nonces[] = {NULL,
                                "",
                                "0123456789abcde",
                                "0123456789abcdef,",
                                "0123456789 abcdef",
                                "0123456789abcdef\x80"};
    for (size_t i = 0; i < sizeof bad_nonces / sizeof bad_nonces[0]; i++) {
        s = scram_new(SASL_HASH_SHA512, "u", "pw", NULL, &err);
        assert_non_null(s);
        assert_int_equal(scram_start(s, bad_nonces[i], &out, &out_len, &err), SCRAM_FAILED);
        assert_string_equal(err.msg, "invalid SCRAM client nonce");
        scram_free(s);
    }

    s = scram_new(SASL_HASH_SHA512, "a,b=c==,", "pw", NULL, &err);
    assert_non_null(s);
    assert_int_equal(scram_start(s, "0123456789abcdef", &out, &out_len, &err), SCRAM_CONTINUE);
    assert_token(out, out_len, "n,,n=a=2Cb=3Dc=3D=3D=2C,r=0123456789abcdef");
    scram_free(s);
}

static void test_wrong_state(void **state)
{
    (void)state;
    struct sasl_err err = {{0}};
    const uint8_t *out;
    size_t out_len;
    struct scram *s = scram_new(SASL_HASH_SHA256, "user", "pencil", NULL, &err);
    assert_non_null(s);
    assert_int_equal(step_str(s, RFC7677_FIRST, &out, &out_len, &err), SCRAM_FAILED);
    assert_string_equal(err.msg, "SCRAM exchange called in the wrong state");
    scram_free(s);

    s = scram_new(SASL_HASH_SHA256, "user", "pencil", NULL, &err);
    assert_int_equal(scram_start(s, RFC7677_NONCE, &out, &out_len, &err), SCRAM_CONTINUE);
    assert_int_equal(scram_start(s, RFC7677_NONCE, &out, &out_len, &err), SCRAM_FAILED);
    assert_string_equal(err.msg, "SCRAM exchange called in the wrong state");
    scram_free(s);

    s = scram_new(SASL_HASH_SHA256, "user", "pencil", NULL, &err);
    assert_int_equal(scram_start(s, RFC7677_NONCE, &out, &out_len, &err), SCRAM_CONTINUE);
    assert_int_equal(step_str(s, RFC7677_FIRST, &out, &out_len, &err), SCRAM_CONTINUE);
    assert_int_equal(step_str(s, RFC7677_V, &out, &out_len, &err), SCRAM_COMPLETE);
    assert_int_equal(step_str(s, RFC7677_V, &out, &out_len, &err), SCRAM_FAILED);
    assert_string_equal(err.msg, "SCRAM exchange called in the wrong state");
    scram_free(s);
    scram_free(NULL);
}

static void test_salted_password_cache(void **state)
{
    (void)state;
    uint64_t hits, misses;
    struct scram_cache *c = scram_cache_new(2);
    assert_non_null(c);
    struct sasl_opts opts = {.cache = c};
    for (int i = 0; i < 3; i++) {
        run_vector(SASL_HASH_SHA256, "user", "pencil", RFC7677_NONCE, "n,,n=user,r=" RFC7677_NONCE,
                   RFC7677_FIRST, RFC7677_FINAL, RFC7677_V, &opts);
    }
    scram_cache_stats(c, &hits, &misses);
    assert_int_equal(hits, 2);
    assert_int_equal(misses, 1);

    // A different password, hash or salt is a different entry, and a wrong cached key would
    // make the proof wrong: the second run of each must still produce the RFC bytes above.
    struct sasl_err err = {{0}};
    const uint8_t *out;
    size_t out_len;
    struct scram *s = scram_new(SASL_HASH_SHA256, "user", "pencil2", &opts, &err);
    assert_int_equal(scram_start(s, RFC7677_NONCE, &out, &out_len, &err), SCRAM_CONTINUE);
    assert_int_equal(step_str(s, RFC7677_FIRST, &out, &out_len, &err), SCRAM_CONTINUE);
    assert_memory_not_equal(out, RFC7677_FINAL, out_len);
    assert_int_equal(step_str(s, RFC7677_V, &out, &out_len, &err), SCRAM_FAILED);
    assert_string_equal(err.msg, "incorrect server signature");
    scram_free(s);
    scram_cache_stats(c, &hits, &misses);
    assert_int_equal(hits, 2);
    assert_int_equal(misses, 2);
    // The RFC entry is still there (two slots), and the SHA-1 vector with the same password but
    // another salt misses and then works.
    run_vector(SASL_HASH_SHA256, "user", "pencil", RFC7677_NONCE, "n,,n=user,r=" RFC7677_NONCE,
               RFC7677_FIRST, RFC7677_FINAL, RFC7677_V, &opts);
    run_vector(SASL_HASH_SHA1, "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL",
               "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
               "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
               "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
               "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=", &opts);
    scram_cache_stats(c, &hits, &misses);
    assert_int_equal(hits, 3);
    assert_int_equal(misses, 3);
    scram_cache_free(c);
    scram_cache_free(NULL);
    assert_null(scram_cache_new(0));
}

// test_no_secret_in_errors drives many failures with a recognisable password and checks that no
// error text contains the password, the proof, or the expected server signature.
static void test_no_secret_in_errors(void **state)
{
    (void)state;
    static const char pass[] = "Tr0ub4dor&3-secret";
    const char *finals[] = {"e=invalid-proof",
                            "v=AAAA",
                            RFC7677_V,
                            "v=" RFC7677_SALT,
                            "",
                            "garbage",
                            "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="};
    struct sasl_err err;
    const uint8_t *out;
    size_t out_len;
    size_t checked = 0;
    for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++) {
        memset(&err, 0, sizeof err);
        struct scram *s = scram_new(SASL_HASH_SHA256, "user", pass, NULL, &err);
        assert_non_null(s);
        assert_int_equal(scram_start(s, RFC7677_NONCE, &out, &out_len, &err), SCRAM_CONTINUE);
        assert_int_equal(step_str(s, RFC7677_FIRST, &out, &out_len, &err), SCRAM_CONTINUE);
        char proof[128];
        const char *p = memchr(out, 'p', out_len);
        assert_non_null(p);
        // the proof is everything after ",p="
        const char *pp = strstr((const char *)out, ",p=");
        assert_non_null(pp);
        snprintf(proof, sizeof proof, "%.*s", (int)(out_len - (size_t)(pp + 3 - (const char *)out)),
                 pp + 3);
        assert_int_equal(step_str(s, finals[i], &out, &out_len, &err), SCRAM_FAILED);
        assert_true(strlen(err.msg) > 0);
        assert_null(strstr(err.msg, pass));
        assert_null(strstr(err.msg, "Tr0ub"));
        assert_null(strstr(err.msg, proof));
        assert_null(strstr(err.msg, "6rriTRBi")); // a server signature (the RFC's, not ours)
        checked++;
        scram_free(s);
    }
    // Policy errors do not echo the offending credential either.
    assert_null(scram_new(SASL_HASH_SHA256, "user", "Tr0ub4dor\x01", NULL, &err));
    assert_null(strstr(err.msg, "Tr0ub"));
    assert_int_equal(checked, sizeof finals / sizeof finals[0]);
}

static void test_generic_mechanisms(void **state)
{
    (void)state;
    struct sasl_err err = {{0}};
    const uint8_t *out;
    size_t out_len;
    struct sasl_opts opts = {.nonce = RFC7677_NONCE};
    struct sasl_mech *m = sasl_mech_new("SCRAM-SHA-256", "user", "pencil", &opts, &err);
    assert_non_null(m);
    assert_string_equal(sasl_mech_name(m), "SCRAM-SHA-256");
    assert_false(sasl_mech_finished(m));
    assert_int_equal(sasl_mech_step(m, (const uint8_t *)"x", 1, &out, &out_len, &err), SASL_FAILED);
    assert_string_equal(err.msg, "SASL exchange called in the wrong state");
    assert_int_equal(sasl_mech_start(m, &out, &out_len, &err), SASL_CONTINUE);
    assert_token(out, out_len, "n,,n=user,r=" RFC7677_NONCE);
    assert_int_equal(sasl_mech_step(m, (const uint8_t *)RFC7677_FIRST, strlen(RFC7677_FIRST), &out,
                                    &out_len, &err),
                     SASL_CONTINUE);
    assert_token(out, out_len, RFC7677_FINAL);
    assert_int_equal(
        sasl_mech_step(m, (const uint8_t *)RFC7677_V, strlen(RFC7677_V), &out, &out_len, &err),
        SASL_COMPLETE);
    assert_true(sasl_mech_finished(m));
    sasl_mech_free(m);

    // Random nonce: 32 base64 characters, different each time.
    char first[2][128];
    for (int i = 0; i < 2; i++) {
        m = sasl_mech_new("SCRAM-SHA-512", "alice", "pw", NULL, &err);
        assert_non_null(m);
        assert_string_equal(sasl_mech_name(m), "SCRAM-SHA-512");
        assert_int_equal(sasl_mech_start(m, &out, &out_len, &err), SASL_CONTINUE);
        assert_int_equal(out_len, strlen("n,,n=alice,r=") + SASL_NONCE_LEN);
        assert_memory_equal(out, "n,,n=alice,r=", 13);
        for (size_t k = 13; k < out_len; k++) {
            assert_true(out[k] > 0x20 && out[k] < 0x7f && out[k] != ',');
        }
        snprintf(first[i], sizeof first[i], "%.*s", (int)out_len, (const char *)out);
        assert_int_equal(sasl_mech_start(m, &out, &out_len, &err), SASL_FAILED);
        sasl_mech_free(m);
    }
    assert_string_not_equal(first[0], first[1]);

    const char *refused[] = {"SCRAM-SHA-1", "scram-sha-256", "GSSAPI", "", NULL};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_null(sasl_mech_new(refused[i], "u", "p", NULL, &err));
        assert_string_equal(err.msg, "unsupported SASL mechanism (supported: SCRAM-SHA-512, "
                                     "SCRAM-SHA-256, PLAIN)");
    }
    enum sasl_hash h;
    assert_false(sasl_hash_from_mech("SCRAM-SHA-1", &h));
    const char *const *names = sasl_mech_names();
    assert_string_equal(names[0], "SCRAM-SHA-512");
    assert_string_equal(names[1], "SCRAM-SHA-256");
    assert_string_equal(names[2], "PLAIN");
    assert_null(names[3]);
    sasl_mech_free(NULL);
}

// With defer_kdf the derivation is handed out instead of run inside the step; run elsewhere and
// resumed, it gives the RFC 7677 client-final exactly, and fills the cache so the next exchange
// with the same salt needs no derivation at all.
static void test_deferred_kdf(void **state)
{
    (void)state;
    struct sasl_err err = {{0}};
    struct scram_cache *cache = scram_cache_new(4);
    struct sasl_opts opts = {.cache = cache, .defer_kdf = true};
    const uint8_t *out;
    size_t out_len;
    for (int round = 0; round < 2; round++) {
        struct scram *s = scram_new(SASL_HASH_SHA256, "user", "pencil", &opts, &err);
        assert_non_null(s);
        assert_int_equal(scram_start(s, RFC7677_NONCE, &out, &out_len, &err), SCRAM_CONTINUE);
        enum scram_status st = step_str(s, RFC7677_FIRST, &out, &out_len, &err);
        if (round == 0) {
            assert_int_equal(st, SCRAM_NEED_KDF);
            assert_null(out);
            struct sasl_kdf *k = scram_take_kdf(s);
            assert_non_null(k);
            assert_null(scram_take_kdf(s));
            sasl_kdf_run(k);
            st = scram_resume(s, k, &out, &out_len, &err);
        }
        assert_int_equal(st, SCRAM_CONTINUE); // round 1: from the cache, no derivation
        assert_int_equal(out_len, strlen(RFC7677_FINAL));
        assert_memory_equal(out, RFC7677_FINAL, out_len);
        assert_int_equal(step_str(s, RFC7677_V, &out, &out_len, &err), SCRAM_COMPLETE);
        scram_free(s);
    }
    // A mechanism freed while its derivation runs elsewhere: the derivation lives on alone.
    scram_cache_free(cache);
    opts.cache = NULL;
    struct scram *s = scram_new(SASL_HASH_SHA256, "user", "pencil", &opts, &err);
    assert_int_equal(scram_start(s, RFC7677_NONCE, &out, &out_len, &err), SCRAM_CONTINUE);
    assert_int_equal(step_str(s, RFC7677_FIRST, &out, &out_len, &err), SCRAM_NEED_KDF);
    struct sasl_kdf *k = scram_take_kdf(s);
    scram_free(s);
    sasl_kdf_run(k);
    sasl_kdf_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc5802_sha1),
        cmocka_unit_test(test_rfc7677_sha256),
        cmocka_unit_test(test_sha512_authen_scram),
        cmocka_unit_test(test_server_first_malformed),
        cmocka_unit_test(test_server_first_extensions_allowed),
        cmocka_unit_test(test_server_final_malformed),
        cmocka_unit_test(test_server_final_extension_allowed),
        cmocka_unit_test(test_credentials_policy),
        cmocka_unit_test(test_user_name_escaping_and_nonce),
        cmocka_unit_test(test_wrong_state),
        cmocka_unit_test(test_salted_password_cache),
        cmocka_unit_test(test_no_secret_in_errors),
        cmocka_unit_test(test_generic_mechanisms),
        cmocka_unit_test(test_deferred_kdf),
    };
    return cmocka_run_group_tests_name("scram", tests, NULL, NULL);
}
