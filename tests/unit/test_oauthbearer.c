// test_oauthbearer.c: the OAUTHBEARER client (sasl/oauthbearer.c, RFC 7628 as Kafka's KIP-255
// uses it) with golden client messages, and the parser of the server's error JSON
// (sasl/oauthbearer_parse.c): accepted shapes, every rejection with its reason and offset, every
// strict prefix of a valid message refused.
#include "sasl/oauthbearer.h"
#include "sasl/oauthbearer_parse.h"
#include "sasl/sasl.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JWT "eyJhbGciOiJub25lIn0.eyJzdWIiOiJrZXNtIn0."
#define ERR_JSON                                                                                   \
    "{\"status\":\"invalid_token\",\"scope\":\"kafka-cluster\",\"openid-configuration\":"          \
    "\"https://idp.example/.well-known/openid-configuration\"}"

static const uint8_t *u8(const char *s)
{
    return (const uint8_t *)s;
}

static void test_client_message(void **state)
{
    (void)state;
    struct sasl_err err = {{0}};
    const uint8_t *out;
    size_t out_len;
    static const char want[] = "n,,\x01"
                               "auth=Bearer " JWT "\x01\x01";
    // A token file's trailing newline (and other trailing whitespace) is not part of the token.
    const char *given[] = {JWT, JWT "\n", JWT " \r\n\t"};
    for (size_t i = 0; i < sizeof given / sizeof given[0]; i++) {
        struct sasl_mech *m = sasl_mech_new_oauthbearer(u8(given[i]), strlen(given[i]), 0, &err);
        assert_non_null(m);
        assert_string_equal(sasl_mech_name(m), "OAUTHBEARER");
        assert_int_equal(sasl_mech_token_expiry(m), 0);
        assert_int_equal(sasl_mech_start(m, &out, &out_len, &err), SASL_CONTINUE);
        assert_int_equal(out_len, sizeof want - 1);
        assert_memory_equal(out, want, sizeof want - 1);
        assert_int_equal(sasl_mech_step(m, u8(""), 0, &out, &out_len, &err), SASL_COMPLETE);
        assert_int_equal(out_len, 0);
        assert_true(sasl_mech_finished(m));
        assert_int_equal(sasl_mech_step(m, u8(""), 0, &out, &out_len, &err), SASL_FAILED);
        sasl_mech_free(m);
    }
    // RFC 6750 b64token: the other characters and '=' padding.
    struct sasl_mech *m = sasl_mech_new_oauthbearer(u8("a~b+c/d=="), 9, 1700000000, &err);
    assert_non_null(m);
    assert_int_equal(sasl_mech_token_expiry(m), 1700000000);
    assert_int_equal(sasl_mech_start(m, &out, &out_len, &err), SASL_CONTINUE);
    assert_memory_equal(out,
                        "n,,\x01"
                        "auth=Bearer a~b+c/d==\x01\x01",
                        out_len);
    assert_int_equal(sasl_mech_start(m, &out, &out_len, &err), SASL_FAILED);
    assert_string_equal(err.msg, "SASL exchange already started");
    sasl_mech_free(m);
    sasl_mech_free(NULL);
}

static void test_bad_tokens(void **state)
{
    (void)state;
    char *huge = malloc(OAUTHBEARER_MAX_TOKEN + 1);
    assert_non_null(huge);
    memset(huge, 'a', OAUTHBEARER_MAX_TOKEN + 1);
    const struct {
        const char *tok;
        size_t len;
        const char *want;
    } bad[] = {
        {"", 0, "OAUTHBEARER token is empty"},
        {"\n\n", 2, "OAUTHBEARER token is empty"},
        {"=abc", 4,
         "OAUTHBEARER token must start with a letter, digit or one of -._~+/ (RFC "
         "6750 b64token)"},
        {"sec ret", 7,
         "OAUTHBEARER token has a byte not allowed in a bearer token (0x20 at "
         "offset 3; RFC 6750 b64token)"},
        {"secret\x01x", 8,
         "OAUTHBEARER token has a byte not allowed in a bearer token (0x01 at "
         "offset 6; RFC 6750 b64token)"},
        {"sec\0ret", 7,
         "OAUTHBEARER token has a byte not allowed in a bearer token (0x00 at "
         "offset 3; RFC 6750 b64token)"},
        {"ab=c", 4,
         "OAUTHBEARER token has a byte not allowed in a bearer token (0x63 at "
         "offset 3; RFC 6750 b64token)"},
        {"\nsecret", 7,
         "OAUTHBEARER token must start with a letter, digit or one of -._~+/ (RFC "
         "6750 b64token)"},
        {huge, OAUTHBEARER_MAX_TOKEN + 1,
         "OAUTHBEARER token is too long (65537 bytes, at most "
         "65536)"},
    };
    struct sasl_err err;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = '\0';
        assert_null(sasl_mech_new_oauthbearer(u8(bad[i].tok), bad[i].len, 0, &err));
        assert_string_equal(err.msg, bad[i].want);
        assert_null(strstr(err.msg, "secret"));
    }
    assert_null(sasl_mech_new_oauthbearer(NULL, 0, 0, &err));
    assert_string_equal(err.msg, "OAUTHBEARER token is empty");
    // The largest token is fine.
    struct sasl_mech *m = sasl_mech_new_oauthbearer(u8(huge), OAUTHBEARER_MAX_TOKEN, 0, &err);
    assert_non_null(m);
    sasl_mech_free(m);
    free(huge);
    // The user-name-and-password constructor points elsewhere.
    assert_null(sasl_mech_new("OAUTHBEARER", "u", "p", NULL, &err));
    assert_string_equal(err.msg, "OAUTHBEARER takes a bearer token or AWS credentials, not a user "
                                 "name and password");
}

static void test_server_error(void **state)
{
    (void)state;
    struct sasl_err err = {{0}};
    const uint8_t *out;
    size_t out_len;
    struct sasl_mech *m = sasl_mech_new_oauthbearer(u8(JWT), strlen(JWT), 0, &err);
    assert_int_equal(sasl_mech_start(m, &out, &out_len, &err), SASL_CONTINUE);
    // RFC 7628 3.2.3: the client answers an error with a single %x01.
    assert_int_equal(sasl_mech_step(m, u8(ERR_JSON), strlen(ERR_JSON), &out, &out_len, &err),
                     SASL_CONTINUE);
    assert_int_equal(out_len, 1);
    assert_int_equal(out[0], 0x01);
    assert_false(sasl_mech_finished(m));
    assert_string_equal(sasl_mech_server_reason(m),
                        "status invalid_token, scope \"kafka-cluster\", openid-configuration "
                        "\"https://idp.example/.well-known/openid-configuration\"");
    // A server that then answers without an error does not make it a success.
    assert_int_equal(sasl_mech_step(m, u8(""), 0, &out, &out_len, &err), SASL_FAILED);
    assert_string_equal(err.msg, "OAUTHBEARER token rejected by the server: status invalid_token, "
                                 "scope \"kafka-cluster\", openid-configuration "
                                 "\"https://idp.example/.well-known/openid-configuration\"");
    assert_false(sasl_mech_finished(m));
    assert_int_equal(sasl_mech_step(m, u8(""), 0, &out, &out_len, &err), SASL_FAILED);
    assert_string_equal(err.msg, "OAUTHBEARER exchange called in the wrong state");
    sasl_mech_free(m);

    // A malformed error message is still answered with %x01, and reported as malformed.
    m = sasl_mech_new_oauthbearer(u8(JWT), strlen(JWT), 0, &err);
    assert_int_equal(sasl_mech_start(m, &out, &out_len, &err), SASL_CONTINUE);
    assert_int_equal(sasl_mech_step(m, u8("denied\xff"), 7, &out, &out_len, &err), SASL_CONTINUE);
    assert_int_equal(out_len, 1);
    assert_string_equal(sasl_mech_server_reason(m), "malformed error message from the server (7 "
                                                    "bytes: expected a JSON object at offset 0)");
    sasl_mech_free(m);
}

static void test_direct_states(void **state)
{
    (void)state;
    struct sasl_err err = {{0}};
    const uint8_t *out;
    size_t out_len;
    struct oauthbearer *o = oauthbearer_new(u8("t"), 1, &err);
    assert_non_null(o);
    assert_int_equal(oauthbearer_step(o, u8(""), 0, &out, &out_len, &err), SASL_FAILED);
    assert_string_equal(err.msg, "OAUTHBEARER exchange called in the wrong state");
    assert_int_equal(oauthbearer_start(o, &out, &out_len, &err), SASL_FAILED);
    assert_null(out);
    oauthbearer_free(o);
    oauthbearer_free(NULL);
}

struct parse_case {
    const char *in;
    const char *why; // NULL: accepted
    size_t at;
    const char *describe;
};

static void test_error_parse(void **state)
{
    (void)state;
    const struct parse_case cases[] = {
        {"{\"status\":\"invalid_token\"}", NULL, 0, "status invalid_token"},
        {" \r\n\t{ \"status\" : \"x\" , \"scope\":\"\" }\n", NULL, 0, "status x, scope \"\""},
        {"{\"a\":[1,-2.5e+3,0,true,false,null,{\"b\":[]},\"s\"],\"status\":\"s\",\"c\":{}}", NULL,
         0, "status s"},
        {"{\"status\":\"\\u0041\\n\\\"\\\\\\/\\u00e9\xc3\xa9\"}", NULL, 0, "status A?\"\\/???"},
        // An escaped name is another name: "st\u0061tus" does not count as status.
        {"{\"st\\u0061tus\":1,\"status\":\"ok\"}", NULL, 0, "status ok"},
        {"", "expected a JSON object", 0, NULL},
        {"[]", "expected a JSON object", 0, NULL},
        {"{}", "no \"status\" member", 2, NULL},
        {"{\"scope\":\"a\"}", "no \"status\" member", 13, NULL},
        {"{\"status\":1}", "expected a string", 10, NULL},
        {"{\"status\":\"a\",\"status\":\"b\"}", "duplicate member", 15, NULL},
        {"{\"status\":\"a\",\"scope\":\"b\",\"scope\":\"c\"}", "duplicate member", 27, NULL},
        {"{\"status\":\"a\"} x", "trailing bytes after the object", 15, NULL},
        {"{\"status\":\"a\"}{}", "trailing bytes after the object", 14, NULL},
        {"{\"status\":\"a\",}", "expected a string", 14, NULL},
        {"{\"status\":\"a\" \"b\":1}", "expected ',' or '}'", 14, NULL},
        {"{\"status\" \"a\"}", "expected ':'", 10, NULL},
        {"{\"status\":\"a\x01\"}", "control character in a string", 12, NULL},
        {"{\"status\":\"a\\x\"}", "invalid escape in a string", 12, NULL},
        {"{\"status\":\"a\\u12G4\"}", "invalid escape in a string", 12, NULL},
        {"{\"status\":\"a", "unterminated string", 12, NULL},
        {"{\"status\":\"a\",\"n\":01}", "expected ',' or '}'", 19, NULL},
        {"{\"status\":\"a\",\"n\":-}", "invalid number", 19, NULL},
        {"{\"status\":\"a\",\"n\":1.}", "invalid number", 20, NULL},
        {"{\"status\":\"a\",\"n\":1e}", "invalid number", 20, NULL},
        {"{\"status\":\"a\",\"n\":tru}", "expected a value", 18, NULL},
        {"{\"status\":\"a\",\"n\":[1,]}", "invalid number", 21, NULL},
        {"{\"status\":\"a\",\"n\":[1 2]}", "expected ',' or ']'", 21, NULL},
        {"{\"status\":\"a\",\"n\":}", "invalid number", 18, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct parse_case *c = &cases[i];
        struct oauth_error e;
        const char *why = NULL;
        size_t at = 99;
        bool ok = oauth_error_parse(&e, u8(c->in), strlen(c->in), &why, &at);
        if (c->why == NULL) {
            assert_true(ok);
            char buf[160];
            oauth_error_describe(&e, buf, sizeof buf);
            assert_string_equal(buf, c->describe);
        } else {
            if (ok || strcmp(why, c->why) != 0 || at != c->at) {
                print_error("case %zu %s: got %s at %zu\n", i, c->in, ok ? "ok" : why, at);
            }
            assert_false(ok);
            assert_string_equal(why, c->why);
            assert_int_equal(at, c->at);
        }
    }
}

// Every strict prefix of a valid message is refused (it is never an object yet).
static void test_error_prefixes(void **state)
{
    (void)state;
    const char *msg = ERR_JSON;
    for (size_t n = 0; n < strlen(msg); n++) {
        struct oauth_error e;
        const char *why;
        size_t at;
        uint8_t *copy = malloc(n + 1); // exact size: ASan catches a read past the end
        assert_non_null(copy);
        memcpy(copy, msg, n);
        assert_false(oauth_error_parse(&e, copy, n, &why, &at));
        assert_true(at <= n);
        free(copy);
    }
}

static void test_error_limits(void **state)
{
    (void)state;
    struct oauth_error e;
    const char *why;
    size_t at;
    // Nesting: 16 levels in all are fine, 17 are not.
    char deep[128];
    int k = snprintf(deep, sizeof deep, "{\"status\":\"a\",\"n\":");
    for (int i = 0; i < 15; i++) {
        deep[k++] = '[';
    }
    for (int i = 0; i < 15; i++) {
        deep[k++] = ']';
    }
    deep[k++] = '}';
    deep[k] = '\0';
    assert_true(oauth_error_parse(&e, u8(deep), strlen(deep), &why, &at));
    char deeper[128];
    k = snprintf(deeper, sizeof deeper, "{\"status\":\"a\",\"n\":");
    for (int i = 0; i < 16; i++) {
        deeper[k++] = '[';
    }
    for (int i = 0; i < 16; i++) {
        deeper[k++] = ']';
    }
    deeper[k++] = '}';
    deeper[k] = '\0';
    assert_false(oauth_error_parse(&e, u8(deeper), strlen(deeper), &why, &at));
    assert_string_equal(why, "nested too deeply");
    assert_int_equal(at, 18 + 15);
    // Size.
    size_t big = OAUTH_ERR_MAX_LEN + 1;
    char *s = malloc(big);
    assert_non_null(s);
    memset(s, ' ', big);
    memcpy(s, "{\"status\":\"a\"}", 14);
    assert_false(oauth_error_parse(&e, u8(s), big, &why, &at));
    assert_string_equal(why, "longer than 16384 bytes");
    assert_true(oauth_error_parse(&e, u8(s), big - 1, &why, &at));
    free(s);
}

static void test_printable_cut(void **state)
{
    (void)state;
    const char *raw = "abcdefghij";
    kr v;
    kr_init(&v, u8(raw), strlen(raw));
    char buf[8];
    assert_string_equal(oauth_json_printable(&v, buf, sizeof buf), "abcd...");
    char big[11];
    assert_string_equal(oauth_json_printable(&v, big, sizeof big), "abcdefghij");
    char one[1];
    assert_string_equal(oauth_json_printable(&v, one, sizeof one), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_message), cmocka_unit_test(test_bad_tokens),
        cmocka_unit_test(test_server_error),   cmocka_unit_test(test_direct_states),
        cmocka_unit_test(test_error_parse),    cmocka_unit_test(test_error_prefixes),
        cmocka_unit_test(test_error_limits),   cmocka_unit_test(test_printable_cut),
    };
    return cmocka_run_group_tests_name("oauthbearer", tests, NULL, NULL);
}
