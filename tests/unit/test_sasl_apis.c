// test_sasl_apis.c: SaslHandshake v0-1 and SaslAuthenticate v0-2 codecs.
#include "proto/api.h"
#include "proto/sasl_authenticate.h"
#include "proto/sasl_handshake.h"
#include "tests/lib/golden.h"
#include "tests/lib/proto_check.h"
#include "tests/lib/unit.h"

#include <string.h>

static enum kp_status handshake_cb(kr *body, int16_t version, void *ctx, struct kp_err *err)
{
    return kp_sasl_handshake_resp_parse(body, version, ctx, err);
}

static enum kp_status auth_cb(kr *body, int16_t version, void *ctx, struct kp_err *err)
{
    return kp_sasl_authenticate_resp_parse(body, version, ctx, err);
}

// frame_matches checks that |w| holds exactly the bytes of golden file |name|.
static void frame_matches(kw *w, const char *name)
{
    struct guarded g;
    golden_load_guarded(&g, name);
    size_t len;
    assert_true(kw_finish(w, &len));
    assert_int_equal(len, g.len);
    assert_memory_equal(kw_data(w), g.data, len);
    guarded_free(&g);
}

static void test_handshake_request(void **state)
{
    (void)state;
    struct kp_sasl_handshake_req req = {"SCRAM-SHA-256"};
    kw w;
    kw_init_grow(&w);
    size_t pos;
    assert_true(kp_req_begin(&w, KP_API_SASL_HANDSHAKE, 1, 3, "rdkafka", &pos));
    assert_true(kp_sasl_handshake_req_write(&w, 1, &req));
    assert_true(kp_req_end(&w, pos));
    frame_matches(&w, "sasl_handshake_req_v1.bin");
    kw_cleanup(&w);

    uint8_t buf[32], want[32];
    size_t want_len = hex_decode("0005 504c41494e", want, sizeof want);
    struct kp_sasl_handshake_req plain = {"PLAIN"};
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_sasl_handshake_req_write(&w, 0, &plain));
    assert_int_equal(kw_len(&w), want_len);
    assert_memory_equal(buf, want, want_len);
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_sasl_handshake_req_write(&w, 2, &plain));
    struct kp_sasl_handshake_req none = {NULL};
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_sasl_handshake_req_write(&w, 1, &none));
}

static void test_handshake_response(void **state)
{
    (void)state;
    uint8_t buf[64];
    // UNSUPPORTED_SASL_MECHANISM with the enabled list.
    size_t len = hex_decode("0021 00000002 000d 534352414d2d5348412d323536 0005 504c41494e", buf,
                            sizeof buf);
    struct guarded g;
    guarded_copy(&g, buf, len);
    kr body;
    kr_init(&body, g.data, g.len);
    struct kp_sasl_handshake_resp resp;
    assert_int_equal(kp_sasl_handshake_resp_parse(&body, 1, &resp, NULL), KP_OK);
    assert_int_equal(resp.error_code, 33);
    assert_int_equal(resp.num_mechanisms, 2);
    struct kp_sasl_handshake_iter it;
    kr m;
    kp_sasl_handshake_mechanisms(&resp, &it);
    assert_true(kp_sasl_handshake_next_mechanism(&it, &m));
    assert_true(kr_eq_cstr(&m, "SCRAM-SHA-256"));
    assert_true(kp_sasl_handshake_next_mechanism(&it, &m));
    assert_true(kr_eq_cstr(&m, "PLAIN"));
    assert_false(kp_sasl_handshake_next_mechanism(&it, &m));
    assert_true(kp_sasl_handshake_has_mechanism(&resp, "PLAIN"));
    assert_false(kp_sasl_handshake_has_mechanism(&resp, "SCRAM-SHA-512"));
    assert_false(kp_sasl_handshake_has_mechanism(&resp, "PLAI"));
    proto_check_bounds(buf, len, 0, handshake_cb, &resp);
    proto_check_bounds(buf, len, 1, handshake_cb, &resp);
    guarded_free(&g);

    struct kp_err err = {0};
    len = hex_decode("0000 00000001 ffff", buf, sizeof buf); // a null mechanism name
    kr_init(&body, buf, len);
    assert_int_equal(kp_sasl_handshake_resp_parse(&body, 1, &resp, &err), KP_ERR_MALFORMED);
    assert_string_equal(err.field, "mechanisms.name");
    kr_init(&body, buf, len);
    assert_int_equal(kp_sasl_handshake_resp_parse(&body, 2, &resp, &err), KP_ERR_VERSION);
}

static void test_authenticate_request(void **state)
{
    (void)state;
    // kcat's SaslAuthenticate v0 carried its SCRAM client-first message: write the same bytes.
    struct guarded g;
    golden_load_guarded(&g, "sasl_authenticate_req_v0.bin");
    kr frame;
    kr_init(&frame, g.data + 4, g.len - 4);
    struct kp_req_hdr hdr;
    assert_int_equal(kp_req_hdr_parse(&frame, &hdr, NULL), KP_OK);
    assert_int_equal(hdr.api_key, KP_API_SASL_AUTHENTICATE);
    kr auth;
    assert_true(kr_bytes(&frame, &auth, NULL));
    assert_true(kr_done(&frame));
    assert_int_equal(memcmp(auth.p, "n,,n=alice,r=", 13), 0);
    struct kp_sasl_authenticate_req req = {auth.p, auth.len};
    kw w;
    kw_init_grow(&w);
    size_t pos;
    assert_true(kp_req_begin(&w, KP_API_SASL_AUTHENTICATE, 0, hdr.correlation_id, "rdkafka", &pos));
    assert_true(kp_sasl_authenticate_req_write(&w, 0, &req));
    assert_true(kp_req_end(&w, pos));
    frame_matches(&w, "sasl_authenticate_req_v0.bin");
    kw_cleanup(&w);
    guarded_free(&g);

    uint8_t buf[32], want[32];
    const uint8_t tok[] = {'a', 'b', 0};
    struct kp_sasl_authenticate_req r = {tok, sizeof tok};
    size_t want_len = hex_decode("00000003 616200", want, sizeof want);
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_sasl_authenticate_req_write(&w, 1, &r));
    assert_int_equal(kw_len(&w), want_len);
    assert_memory_equal(buf, want, want_len);
    want_len = hex_decode("04 616200 00", want, sizeof want); // v2: compact bytes + tags
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_sasl_authenticate_req_write(&w, 2, &r));
    assert_int_equal(kw_len(&w), want_len);
    assert_memory_equal(buf, want, want_len);
    // Empty tokens are empty bytes, never null.
    struct kp_sasl_authenticate_req empty = {NULL, 0};
    want_len = hex_decode("00000000", want, sizeof want);
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_sasl_authenticate_req_write(&w, 0, &empty));
    assert_int_equal(kw_len(&w), want_len);
    assert_memory_equal(buf, want, want_len);
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_sasl_authenticate_req_write(&w, 2, &empty));
    assert_int_equal(kw_len(&w), 2);
    assert_int_equal(buf[0], 1);
    struct kp_sasl_authenticate_req bad = {NULL, 3};
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_sasl_authenticate_req_write(&w, 1, &bad));
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_sasl_authenticate_req_write(&w, 3, &r));
}

static void parse_auth(const char *hex, int16_t version, struct kp_sasl_authenticate_resp *out,
                       uint8_t *buf, size_t cap)
{
    size_t len = hex_decode(hex, buf, cap);
    struct kp_err err = {0};
    kr body;
    kr_init(&body, buf, len);
    if (kp_sasl_authenticate_resp_parse(&body, version, out, &err) != KP_OK) {
        fail_msg("v%d: %s at %zu", version, err.field, err.offset);
    }
    proto_check_bounds(buf, len, version, auth_cb, out);
    kr_init(&body, buf, len);
    assert_int_equal(kp_sasl_authenticate_resp_parse(&body, version, out, NULL), KP_OK);
}

static void test_authenticate_response(void **state)
{
    (void)state;
    uint8_t buf[96];
    struct kp_sasl_authenticate_resp resp;
    // v0: error 58 with a message, empty auth bytes.
    parse_auth("003a 0015 41757468656e7469636174696f6e206661696c6564 00000000", 0, &resp, buf,
               sizeof buf);
    assert_int_equal(resp.error_code, 58);
    assert_false(resp.error_message_null);
    assert_true(kr_eq_cstr(&resp.error_message, "Authentication failed"));
    assert_int_equal(resp.auth_bytes.len, 0);
    assert_int_equal(resp.session_lifetime_ms, 0);
    // v1: success, server-final "v=AB", session lifetime one hour.
    parse_auth("0000 ffff 00000004 763d4142 000000000036ee80", 1, &resp, buf, sizeof buf);
    assert_int_equal(resp.error_code, 0);
    assert_true(resp.error_message_null);
    assert_true(kr_eq_cstr(&resp.auth_bytes, "v=AB"));
    assert_int_equal(resp.session_lifetime_ms, 3600000);
    // v2: flexible.
    parse_auth("0000 00 05 763d4142 00000000000003e8 00", 2, &resp, buf, sizeof buf);
    assert_true(resp.error_message_null);
    assert_true(kr_eq_cstr(&resp.auth_bytes, "v=AB"));
    assert_int_equal(resp.session_lifetime_ms, 1000);

    // AuthBytes may not be null.
    struct kp_err err = {0};
    size_t len = hex_decode("0000 ffff ffffffff", buf, sizeof buf);
    kr body;
    kr_init(&body, buf, len);
    assert_int_equal(kp_sasl_authenticate_resp_parse(&body, 0, &resp, &err), KP_ERR_MALFORMED);
    assert_string_equal(err.field, "auth_bytes");
    kr_init(&body, buf, len);
    assert_int_equal(kp_sasl_authenticate_resp_parse(&body, 3, &resp, &err), KP_ERR_VERSION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_request),
        cmocka_unit_test(test_handshake_response),
        cmocka_unit_test(test_authenticate_request),
        cmocka_unit_test(test_authenticate_response),
    };
    return cmocka_run_group_tests_name("sasl_apis", tests, NULL, NULL);
}
