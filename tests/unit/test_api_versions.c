// test_api_versions.c: ApiVersions v0-3 codec, the UNSUPPORTED_VERSION fallback, negotiation.
#include "proto/api.h"
#include "proto/api_versions.h"
#include "tests/lib/golden.h"
#include "tests/lib/proto_check.h"
#include "tests/lib/unit.h"

#include <string.h>

static enum kp_status parse_cb(kr *body, int16_t version, void *ctx, struct kp_err *err)
{
    return kp_api_versions_resp_parse(body, version, ctx, err);
}

// body_of skips the size prefix and the (v0) response header of a captured frame.
static kr body_of(const struct guarded *g)
{
    kr r;
    kr_init(&r, g->data + 4, g->len - 4);
    int32_t corr;
    assert_int_equal(kp_resp_hdr_parse(&r, KP_API_API_VERSIONS, 0, &corr, NULL), KP_OK);
    return r;
}

// The mock's list (tests/golden/api_versions_resp_v0.txt), in wire order.
static const struct kp_api_versions_key mock_keys[] = {
    {0, 0, 7},  {1, 0, 11}, {2, 0, 5},  {3, 0, 2},  {8, 0, 7},  {9, 0, 5},
    {10, 0, 2}, {11, 0, 5}, {12, 0, 3}, {13, 0, 1}, {14, 0, 3}, {18, 0, 2},
    {22, 0, 4}, {24, 0, 1}, {25, 0, 1}, {26, 0, 1}, {28, 0, 2},
};

static void test_parse_mock_v0(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "api_versions_resp_v0.bin");
    kr body = body_of(&g);
    kr copy = body;
    assert_int_equal(kp_api_versions_fallback(&body, 0), -1);
    struct kp_api_versions_resp resp;
    struct kp_err err = {0};
    assert_int_equal(kp_api_versions_resp_parse(&body, 0, &resp, &err), KP_OK);
    assert_int_equal(resp.error_code, 0);
    assert_int_equal(resp.throttle_time_ms, 0);
    size_t n = sizeof mock_keys / sizeof mock_keys[0];
    assert_int_equal(resp.num_api_keys, n);
    struct kp_api_versions_iter it = resp.api_keys;
    struct kp_api_versions_key k;
    size_t i = 0;
    while (kp_api_versions_next_key(&it, &k)) {
        assert_true(i < n);
        assert_int_equal(k.api_key, mock_keys[i].api_key);
        assert_int_equal(k.min_version, mock_keys[i].min_version);
        assert_int_equal(k.max_version, mock_keys[i].max_version);
        i++;
    }
    assert_int_equal(i, n);
    proto_check_bounds(copy.p, copy.len, 0, parse_cb, &resp);
    guarded_free(&g);
}

// The mock answers v1 and v2 with the same list plus ThrottleTimeMs.
static void test_parse_mock_v1_v2(void **state)
{
    (void)state;
    const char *names[] = {"api_versions_resp_v1.bin", "api_versions_resp_v2.bin"};
    for (int16_t v = 1; v <= 2; v++) {
        struct guarded g;
        golden_load_guarded(&g, names[v - 1]);
        kr body = body_of(&g);
        kr copy = body;
        struct kp_api_versions_resp resp;
        assert_int_equal(kp_api_versions_resp_parse(&body, v, &resp, NULL), KP_OK);
        assert_int_equal(resp.error_code, 0);
        assert_int_equal(resp.throttle_time_ms, 0);
        assert_int_equal(resp.num_api_keys, sizeof mock_keys / sizeof mock_keys[0]);
        struct kp_api_versions_iter it = resp.api_keys;
        struct kp_api_versions_key k;
        size_t i = 0;
        while (kp_api_versions_next_key(&it, &k)) {
            assert_int_equal(k.api_key, mock_keys[i].api_key);
            assert_int_equal(k.max_version, mock_keys[i].max_version);
            i++;
        }
        assert_int_equal(i, resp.num_api_keys);
        proto_check_bounds(copy.p, copy.len, v, parse_cb, &resp);
        // Read as v0 the throttle time is four bytes left over.
        body = copy;
        assert_int_equal(kp_api_versions_resp_parse(&body, 0, &resp, NULL), KP_ERR_MALFORMED);
        guarded_free(&g);
    }
}

// A v3 body as a Kafka >= 2.4 broker writes it, built from ApiVersionsResponse.json.
static const char v3_body_hex[] = "00 00"                      // ErrorCode 0
                                  "04"                         // ApiKeys: compact count 3 (+1)
                                  "0000 0000 000b 00"          // Produce 0-11, no tags
                                  "0001 0004 0011 00"          // Fetch 4-17
                                  "0012 0000 0004 00"          // ApiVersions 0-4
                                  "0000 0000"                  // ThrottleTimeMs 0
                                  "01 01 08 0000000000000005"; // tag 1 FinalizedFeaturesEpoch = 5

static void test_parse_v3(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t len = hex_decode(v3_body_hex, buf, sizeof buf);
    struct guarded g;
    guarded_copy(&g, buf, len);
    kr body;
    kr_init(&body, g.data, g.len);
    struct kp_api_versions_resp resp;
    assert_int_equal(kp_api_versions_resp_parse(&body, 3, &resp, NULL), KP_OK);
    assert_int_equal(resp.num_api_keys, 3);
    struct kp_api_versions_iter it;
    struct kp_api_versions_key k;
    kp_api_versions_keys(&resp, &it);
    assert_true(kp_api_versions_next_key(&it, &k));
    assert_int_equal(k.api_key, 0);
    assert_int_equal(k.max_version, 11);
    assert_true(kp_api_versions_next_key(&it, &k));
    assert_int_equal(k.api_key, 1);
    assert_int_equal(k.min_version, 4);
    assert_int_equal(k.max_version, 17);
    assert_true(kp_api_versions_next_key(&it, &k));
    assert_int_equal(k.api_key, 18);
    assert_int_equal(k.max_version, 4);
    assert_false(kp_api_versions_next_key(&it, &k));
    proto_check_bounds(buf, len, 3, parse_cb, &resp);
    // The same bytes are not a valid v0/v1 body.
    kr_init(&body, g.data, g.len);
    assert_int_not_equal(kp_api_versions_resp_parse(&body, 1, &resp, NULL), KP_OK);
    guarded_free(&g);
}

static void test_parse_v1_and_bad_version(void **state)
{
    (void)state;
    uint8_t buf[32];
    size_t len = hex_decode("0000 00000001 0012 0000 0002 000003e8", buf, sizeof buf);
    struct kp_api_versions_resp resp;
    kr body;
    kr_init(&body, buf, len);
    assert_int_equal(kp_api_versions_resp_parse(&body, 1, &resp, NULL), KP_OK);
    assert_int_equal(resp.throttle_time_ms, 1000);
    proto_check_bounds(buf, len, 2, parse_cb, &resp);
    struct kp_err err = {0};
    kr_init(&body, buf, len);
    assert_int_equal(kp_api_versions_resp_parse(&body, 4, &resp, &err), KP_ERR_VERSION);
    kr_init(&body, buf, len);
    assert_int_equal(kp_api_versions_resp_parse(&body, -1, &resp, &err), KP_ERR_VERSION);
    // A negative count is malformed and the error names the field.
    len = hex_decode("0000 ffffffff 00000000", buf, sizeof buf);
    kr_init(&body, buf, len);
    assert_int_equal(kp_api_versions_resp_parse(&body, 1, &resp, &err), KP_ERR_MALFORMED);
    assert_string_equal(err.field, "api_keys");
}

static void test_mock_v3_answer_falls_back(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "api_versions_resp_v3.bin");
    kr body = body_of(&g);
    // The mock's hybrid body must not parse in either layout...
    kr r = body;
    struct kp_api_versions_resp resp;
    struct kp_err err = {0};
    assert_int_equal(kp_api_versions_resp_parse(&r, 3, &resp, &err), KP_ERR_MALFORMED);
    // (read as v0, the int32 count is 0x01001200: over the entry limit)
    r = body;
    assert_int_equal(kp_api_versions_resp_parse(&r, 0, &resp, &err), KP_ERR_LIMIT);
    assert_string_equal(err.field, "api_keys");
    // ...and the fallback says: retry with v0.
    assert_int_equal(kp_api_versions_fallback(&body, 3), 0);
    guarded_free(&g);
}

static int16_t fallback_hex(const char *hex, int16_t sent)
{
    uint8_t buf[64];
    size_t len = hex_decode(hex, buf, sizeof buf);
    struct guarded g;
    guarded_copy(&g, buf, len);
    kr body;
    kr_init(&body, g.data, g.len);
    int16_t v = kp_api_versions_fallback(&body, sent);
    assert_int_equal(kr_left(&body), len); // not consumed
    guarded_free(&g);
    return v;
}

static void test_fallback_rules(void **state)
{
    (void)state;
    // Kafka >= 2.4: v0 layout listing key 18 with its range.
    assert_int_equal(fallback_hex("0023 00000001 0012 0000 0002", 3), 2);
    // Broker range above ours is capped at our max, but must stay below what was refused.
    assert_int_equal(fallback_hex("0023 00000001 0012 0000 0009", 3), 0);
    assert_int_equal(fallback_hex("0023 00000001 0012 0000 0009", 4), 3);
    // Kafka 0.10.0-2.3: empty list.
    assert_int_equal(fallback_hex("0023 00000000", 3), 0);
    // List without key 18, or a range whose max is below its min.
    assert_int_equal(fallback_hex("0023 00000001 0003 0000 0002", 3), 0);
    assert_int_equal(fallback_hex("0023 00000001 0012 0002 0001", 3), 0);
    // Not error 35: no fallback (parse normally), whatever follows.
    assert_int_equal(fallback_hex("0000 00000000", 3), -1);
    assert_int_equal(fallback_hex("002a", 3), -1);
    assert_int_equal(fallback_hex("00", 3), -1);
    assert_int_equal(fallback_hex("", 3), -1);
    // Error 35 with a v0 body plus trailing bytes: not trusted.
    assert_int_equal(fallback_hex("0023 00000001 0012 0000 0002 00", 3), 0);
}

static void test_request_writer_matches_kcat(void **state)
{
    (void)state;
    const char *names[] = {"api_versions_req_v3.bin", "api_versions_req_v0.bin"};
    const int16_t versions[] = {3, 0};
    const int32_t corr[] = {1, 2};
    for (size_t i = 0; i < 2; i++) {
        struct guarded g;
        golden_load_guarded(&g, names[i]);
        kw w;
        kw_init_grow(&w);
        size_t pos;
        struct kp_api_versions_req req = {"librdkafka", "2.0.2"};
        assert_true(kp_req_begin(&w, KP_API_API_VERSIONS, versions[i], corr[i], "rdkafka", &pos));
        assert_true(kp_api_versions_req_write(&w, versions[i], &req));
        assert_true(kp_req_end(&w, pos));
        size_t len;
        assert_true(kw_finish(&w, &len));
        assert_int_equal(len, g.len);
        assert_memory_equal(kw_data(&w), g.data, len);
        kw_cleanup(&w);
        guarded_free(&g);
    }
}

static void test_request_writer_rejects(void **state)
{
    (void)state;
    uint8_t buf[64];
    kw w;
    struct kp_api_versions_req req = {"kesm", "0.1.0"};
    struct kp_api_versions_req no_name = {NULL, "0.1.0"};
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_api_versions_req_write(&w, 4, &req));
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_api_versions_req_write(&w, -1, &req));
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_api_versions_req_write(&w, 3, &no_name));
    // Before v3 the strings are ignorable: nothing is written.
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_api_versions_req_write(&w, 2, &no_name));
    assert_int_equal(kw_len(&w), 0);
    // v3 body: compact "kesm", compact "0.1.0", empty tags.
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_api_versions_req_write(&w, 3, &req));
    uint8_t want[32];
    size_t want_len = hex_decode("05 6b65736d 06 302e312e30 00", want, sizeof want);
    assert_int_equal(kw_len(&w), want_len);
    assert_memory_equal(buf, want, want_len);
}

static void parse_hex(const char *hex, int16_t version, struct kp_api_versions_resp *resp,
                      uint8_t *buf, size_t cap)
{
    size_t len = hex_decode(hex, buf, cap);
    kr body;
    kr_init(&body, buf, len);
    assert_int_equal(kp_api_versions_resp_parse(&body, version, resp, NULL), KP_OK);
}

static void test_negotiate_mock(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "api_versions_resp_v0.bin");
    kr body = body_of(&g);
    struct kp_api_versions_resp resp;
    assert_int_equal(kp_api_versions_resp_parse(&body, 0, &resp, NULL), KP_OK);
    size_t n_req;
    const int16_t *req = kp_consumer_required_apis(&n_req);
    struct kp_versions vs;
    struct kp_negotiate_fail fail;
    assert_int_equal(kp_negotiate(&vs, &fail, &resp, req, n_req), KP_OK);
    // min(our max, mock max) for every API in both lists.
    assert_int_equal(kp_versions_get(&vs, KP_API_PRODUCE), 7);
    assert_int_equal(kp_versions_get(&vs, KP_API_FETCH), 11);
    assert_int_equal(kp_versions_get(&vs, KP_API_LIST_OFFSETS), 5);
    assert_int_equal(kp_versions_get(&vs, KP_API_METADATA), 2);
    assert_int_equal(kp_versions_get(&vs, KP_API_OFFSET_COMMIT), 7);
    assert_int_equal(kp_versions_get(&vs, KP_API_OFFSET_FETCH), 5);
    assert_int_equal(kp_versions_get(&vs, KP_API_FIND_COORDINATOR), 2);
    assert_int_equal(kp_versions_get(&vs, KP_API_JOIN_GROUP), 5);
    assert_int_equal(kp_versions_get(&vs, KP_API_HEARTBEAT), 3);
    assert_int_equal(kp_versions_get(&vs, KP_API_LEAVE_GROUP), 1);
    assert_int_equal(kp_versions_get(&vs, KP_API_SYNC_GROUP), 3);
    assert_int_equal(kp_versions_get(&vs, KP_API_API_VERSIONS), 2);
    // The mock has no SASL; keys kesm does not speak (22 InitProducerId) stay -1.
    assert_int_equal(kp_versions_get(&vs, KP_API_SASL_HANDSHAKE), -1);
    assert_int_equal(kp_versions_get(&vs, KP_API_SASL_AUTHENTICATE), -1);
    assert_int_equal(kp_versions_get(&vs, 22), -1);
    assert_int_equal(kp_versions_get(&vs, -1), -1);
    assert_int_equal(kp_versions_get(&vs, KP_API_KEY_MAX + 1), -1);

    // With SASL required, negotiation fails and names the missing API.
    const int16_t sasl[] = {KP_API_METADATA, KP_API_SASL_HANDSHAKE, KP_API_SASL_AUTHENTICATE};
    assert_int_equal(kp_negotiate(&vs, &fail, &resp, sasl, 3), KP_ERR_UNSUPPORTED);
    assert_int_equal(fail.api_key, KP_API_SASL_HANDSHAKE);
    assert_false(fail.broker_has);
    char msg[128];
    assert_string_equal(kp_negotiate_fail_str(&fail, msg, sizeof msg),
                        "SaslHandshake (key 17): kesm supports v0-1, broker does not offer it");
    assert_int_equal(kp_versions_get(&vs, KP_API_METADATA), 2); // still filled
    guarded_free(&g);
}

static void test_negotiate_ranges(void **state)
{
    (void)state;
    uint8_t buf[64];
    struct kp_api_versions_resp resp;
    struct kp_versions vs;
    struct kp_negotiate_fail fail;
    char msg[128];
    // Fetch 0-3 (too old for our 4-12), Metadata 5-13 (overlap: 12), Produce 10-13 (none).
    parse_hex("0000 00000003 0001 0000 0003 0003 0005 000d 0000 000a 000d", 0, &resp, buf,
              sizeof buf);
    const int16_t need_meta[] = {KP_API_METADATA};
    assert_int_equal(kp_negotiate(&vs, &fail, &resp, need_meta, 1), KP_OK);
    assert_int_equal(vs.v[KP_API_METADATA], 12);
    assert_int_equal(vs.v[KP_API_FETCH], -1);
    assert_int_equal(vs.v[KP_API_PRODUCE], -1);
    const int16_t need_fetch[] = {KP_API_METADATA, KP_API_PRODUCE, KP_API_FETCH};
    assert_int_equal(kp_negotiate(&vs, &fail, &resp, need_fetch, 3), KP_ERR_UNSUPPORTED);
    // The first failing API in table order is reported.
    assert_int_equal(fail.api_key, KP_API_PRODUCE);
    assert_string_equal(kp_negotiate_fail_str(&fail, msg, sizeof msg),
                        "Produce (key 0): kesm supports v3-9, broker v10-13");
    const int16_t need_f[] = {KP_API_FETCH};
    assert_int_equal(kp_negotiate(&vs, &fail, &resp, need_f, 1), KP_ERR_UNSUPPORTED);
    assert_string_equal(kp_negotiate_fail_str(&fail, msg, sizeof msg),
                        "Fetch (key 1): kesm supports v4-12, broker v0-3");
    // A required key kesm does not speak.
    const int16_t need_unknown[] = {22};
    assert_int_equal(kp_negotiate(&vs, &fail, &resp, need_unknown, 1), KP_ERR_UNSUPPORTED);
    assert_string_equal(kp_negotiate_fail_str(&fail, msg, sizeof msg),
                        "Unknown (key 22): not spoken by kesm");
    // A response carrying an error is never negotiated from.
    parse_hex("0023 00000000", 0, &resp, buf, sizeof buf);
    assert_int_equal(kp_negotiate(&vs, &fail, &resp, need_meta, 1), KP_ERR_UNSUPPORTED);
    assert_int_equal(vs.v[KP_API_METADATA], -1);
    assert_string_equal(kp_negotiate_fail_str(&fail, msg, sizeof msg),
                        "ApiVersions (key 18): broker answered error 35");
    // Truncation of the description.
    parse_hex("0000 00000000", 0, &resp, buf, sizeof buf);
    assert_int_equal(kp_negotiate(&vs, &fail, &resp, need_meta, 1), KP_ERR_UNSUPPORTED);
    assert_string_equal(kp_negotiate_fail_str(&fail, msg, 9), "Metadata");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_mock_v0),
        cmocka_unit_test(test_parse_mock_v1_v2),
        cmocka_unit_test(test_parse_v3),
        cmocka_unit_test(test_parse_v1_and_bad_version),
        cmocka_unit_test(test_mock_v3_answer_falls_back),
        cmocka_unit_test(test_fallback_rules),
        cmocka_unit_test(test_request_writer_matches_kcat),
        cmocka_unit_test(test_request_writer_rejects),
        cmocka_unit_test(test_negotiate_mock),
        cmocka_unit_test(test_negotiate_ranges),
    };
    return cmocka_run_group_tests_name("api_versions", tests, NULL, NULL);
}
