// test_find_coordinator.c: FindCoordinator v0-4 request writer and response parser.
#include "proto/api.h"
#include "proto/find_coordinator.h"
#include "tests/lib/golden.h"
#include "tests/lib/proto_check.h"
#include "tests/lib/unit.h"

#include <string.h>

static enum kp_status parse_cb(kr *body, int16_t version, void *ctx, struct kp_err *err)
{
    return kp_find_coordinator_resp_parse(body, version, ctx, err);
}

static void test_mock_v2(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "find_coordinator_resp_v2.bin");
    kr body;
    kr_init(&body, g.data + 4, g.len - 4);
    int32_t corr;
    assert_int_equal(kp_resp_hdr_parse(&body, KP_API_FIND_COORDINATOR, 2, &corr, NULL), KP_OK);
    assert_int_equal(corr, 4);
    kr copy = body;
    struct kp_find_coordinator_resp resp;
    assert_int_equal(kp_find_coordinator_resp_parse(&body, 2, &resp, NULL), KP_OK);
    assert_int_equal(resp.throttle_time_ms, 0);
    assert_int_equal(resp.num_coordinators, 1);
    struct kp_find_coordinator_iter it;
    struct kp_find_coordinator_coord c;
    kp_find_coordinator_coordinators(&resp, &it);
    assert_true(kp_find_coordinator_next_coordinator(&it, &c));
    assert_int_equal(c.error_code, 0);
    assert_true(c.error_message_null);
    assert_int_equal(c.node_id, 1);
    assert_true(kr_eq_cstr(&c.host, "127.0.0.1"));
    assert_int_equal(c.port, 36117);
    assert_int_equal(c.key.len, 0);
    assert_false(kp_find_coordinator_next_coordinator(&it, &c));
    proto_check_bounds(copy.p, copy.len, 2, parse_cb, &resp);
    // v0 has no throttle time and no error message: the same bytes are 6 too many.
    body = copy;
    assert_int_equal(kp_find_coordinator_resp_parse(&body, 0, &resp, NULL), KP_ERR_MALFORMED);
    guarded_free(&g);
}

// The mock's v0 and v1 answers, and the requests that produced them.
static void test_mock_v0_v1(void **state)
{
    (void)state;
    const char *resp_files[] = {"find_coordinator_resp_v0.bin", "find_coordinator_resp_v1.bin"};
    const char *req_files[] = {"find_coordinator_req_v0.bin", "find_coordinator_req_v1.bin"};
    for (int16_t v = 0; v <= 1; v++) {
        struct guarded g;
        golden_load_guarded(&g, resp_files[v]);
        kr body;
        kr_init(&body, g.data + 4, g.len - 4);
        int32_t corr;
        assert_int_equal(kp_resp_hdr_parse(&body, KP_API_FIND_COORDINATOR, v, &corr, NULL), KP_OK);
        kr copy = body;
        struct kp_find_coordinator_resp resp;
        assert_int_equal(kp_find_coordinator_resp_parse(&body, v, &resp, NULL), KP_OK);
        struct kp_find_coordinator_iter it;
        struct kp_find_coordinator_coord c;
        kp_find_coordinator_coordinators(&resp, &it);
        assert_true(kp_find_coordinator_next_coordinator(&it, &c));
        assert_int_equal(c.error_code, 0);
        assert_true(c.error_message_null);
        assert_int_equal(c.node_id, 1);
        assert_true(kr_eq_cstr(&c.host, "127.0.0.1"));
        assert_false(kp_find_coordinator_next_coordinator(&it, &c));
        proto_check_bounds(copy.p, copy.len, v, parse_cb, &resp);
        guarded_free(&g);

        golden_load_guarded(&g, req_files[v]);
        kr r;
        kr_init(&r, g.data + 4, g.len - 4);
        struct kp_req_hdr hdr;
        assert_int_equal(kp_req_hdr_parse(&r, &hdr, NULL), KP_OK);
        const char *keys[] = {"capgroup"};
        struct kp_find_coordinator_req req = {KP_COORDINATOR_GROUP, keys, 1};
        kw w;
        kw_init_grow(&w);
        size_t pos, len;
        assert_true(
            kp_req_begin(&w, KP_API_FIND_COORDINATOR, v, hdr.correlation_id, "kesm-capture", &pos));
        assert_true(kp_find_coordinator_req_write(&w, v, &req));
        assert_true(kp_req_end(&w, pos));
        assert_true(kw_finish(&w, &len));
        assert_int_equal(len, g.len);
        assert_memory_equal(kw_data(&w), g.data, len);
        kw_cleanup(&w);
        guarded_free(&g);
    }
}

static void check_hex(const char *hex, int16_t version, struct kp_find_coordinator_resp *resp,
                      uint8_t *buf, size_t cap)
{
    size_t len = hex_decode(hex, buf, cap);
    kr body;
    kr_init(&body, buf, len);
    struct kp_err err = {0};
    if (kp_find_coordinator_resp_parse(&body, version, resp, &err) != KP_OK) {
        fail_msg("v%d: %s at %zu", version, err.field, err.offset);
    }
    proto_check_bounds(buf, len, version, parse_cb, resp);
    // proto_check_bounds reuses |resp|: parse again for the caller.
    kr_init(&body, buf, len);
    assert_int_equal(kp_find_coordinator_resp_parse(&body, version, resp, NULL), KP_OK);
}

static void test_v0_v3(void **state)
{
    (void)state;
    uint8_t buf[128];
    struct kp_find_coordinator_resp resp;
    struct kp_find_coordinator_iter it;
    struct kp_find_coordinator_coord c;
    // v0: ErrorCode, NodeId, Host, Port.
    check_hex("0000 00000002 0001 68 00002384", 0, &resp, buf, sizeof buf);
    kp_find_coordinator_coordinators(&resp, &it);
    assert_true(kp_find_coordinator_next_coordinator(&it, &c));
    assert_int_equal(c.node_id, 2);
    assert_true(kr_eq_cstr(&c.host, "h"));
    assert_int_equal(c.port, 9092);
    assert_true(c.error_message_null);
    assert_false(kp_find_coordinator_next_coordinator(&it, &c));
    // v3 (flexible): throttle 7, error 15 "x", node -1, host "", port -1, tags.
    check_hex("00000007 000f 02 78 ffffffff 01 ffffffff 00", 3, &resp, buf, sizeof buf);
    assert_int_equal(resp.throttle_time_ms, 7);
    kp_find_coordinator_coordinators(&resp, &it);
    assert_true(kp_find_coordinator_next_coordinator(&it, &c));
    assert_int_equal(c.error_code, 15);
    assert_false(c.error_message_null);
    assert_true(kr_eq_cstr(&c.error_message, "x"));
    assert_int_equal(c.node_id, -1);
    assert_int_equal(c.host.len, 0);
    assert_false(kp_find_coordinator_next_coordinator(&it, &c));
}

static void test_v4_batched(void **state)
{
    (void)state;
    uint8_t buf[128];
    struct kp_find_coordinator_resp resp;
    check_hex("00000000 03"                                    // throttle, 2 coordinators
              "03 6731 00000001 03 6831 00002384 0000 00 00"   // "g1" -> 1 h1:9092, ok, null msg
              "03 6732 ffffffff 01 ffffffff 000f 04 6e6f21 00" // "g2": error 15 "no!"
              "00",                                            // tags
              4, &resp, buf, sizeof buf);
    assert_int_equal(resp.num_coordinators, 2);
    struct kp_find_coordinator_iter it;
    struct kp_find_coordinator_coord c;
    kp_find_coordinator_coordinators(&resp, &it);
    assert_true(kp_find_coordinator_next_coordinator(&it, &c));
    assert_true(kr_eq_cstr(&c.key, "g1"));
    assert_int_equal(c.node_id, 1);
    assert_true(kr_eq_cstr(&c.host, "h1"));
    assert_int_equal(c.port, 9092);
    assert_int_equal(c.error_code, 0);
    assert_true(c.error_message_null);
    assert_true(kp_find_coordinator_next_coordinator(&it, &c));
    assert_true(kr_eq_cstr(&c.key, "g2"));
    assert_int_equal(c.error_code, 15);
    assert_true(kr_eq_cstr(&c.error_message, "no!"));
    assert_false(kp_find_coordinator_next_coordinator(&it, &c));

    struct kp_err err = {0};
    kr body;
    size_t len = hex_decode("00000000 03 03 6731", buf, sizeof buf);
    kr_init(&body, buf, len);
    assert_int_equal(kp_find_coordinator_resp_parse(&body, 4, &resp, &err), KP_ERR_TRUNCATED);
    assert_string_equal(err.field, "coordinators");
    kr_init(&body, buf, len);
    assert_int_equal(kp_find_coordinator_resp_parse(&body, 5, &resp, &err), KP_ERR_VERSION);
}

static void write_check(int16_t version, const struct kp_find_coordinator_req *req,
                        const char *want_hex)
{
    uint8_t want[64], buf[64];
    size_t want_len = hex_decode(want_hex, want, sizeof want);
    kw w;
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_find_coordinator_req_write(&w, version, req));
    assert_int_equal(kw_len(&w), want_len);
    assert_memory_equal(buf, want, want_len);
}

static bool write_fails(int16_t version, const struct kp_find_coordinator_req *req)
{
    uint8_t buf[64];
    kw w;
    kw_init_fixed(&w, buf, sizeof buf);
    return !kp_find_coordinator_req_write(&w, version, req) && !kw_ok(&w);
}

static void test_request_writer(void **state)
{
    (void)state;
    // Same fields as kcat's request: the whole frame matches the capture.
    struct guarded g;
    golden_load_guarded(&g, "find_coordinator_req_v2.bin");
    const char *grp[] = {"grp"};
    struct kp_find_coordinator_req req = {KP_COORDINATOR_GROUP, grp, 1};
    kw w;
    kw_init_grow(&w);
    size_t pos, len;
    assert_true(kp_req_begin(&w, KP_API_FIND_COORDINATOR, 2, 4, "rdkafka", &pos));
    assert_true(kp_find_coordinator_req_write(&w, 2, &req));
    assert_true(kp_req_end(&w, pos));
    assert_true(kw_finish(&w, &len));
    assert_int_equal(len, g.len);
    assert_memory_equal(kw_data(&w), g.data, len);
    kw_cleanup(&w);
    guarded_free(&g);

    write_check(0, &req, "0003 677270");
    write_check(1, &req, "0003 677270 00");
    write_check(3, &req, "04 677270 00 00");
    const char *two[] = {"g1", "g2"};
    struct kp_find_coordinator_req batch = {KP_COORDINATOR_TRANSACTION, two, 2};
    write_check(4, &batch, "01 03 03 6731 03 6732 00");

    assert_true(write_fails(3, &batch)); // two keys before v4
    assert_true(write_fails(5, &req));
    assert_true(write_fails(-1, &req));
    struct kp_find_coordinator_req txn = {KP_COORDINATOR_TRANSACTION, grp, 1};
    assert_true(write_fails(0, &txn));
    write_check(1, &txn, "0003 677270 01");
    const char *null_key[] = {NULL};
    struct kp_find_coordinator_req bad = {KP_COORDINATOR_GROUP, null_key, 1};
    assert_true(write_fails(2, &bad));
    assert_true(write_fails(4, &bad));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mock_v2),        cmocka_unit_test(test_mock_v0_v1),
        cmocka_unit_test(test_v0_v3),          cmocka_unit_test(test_v4_batched),
        cmocka_unit_test(test_request_writer),
    };
    return cmocka_run_group_tests_name("find_coordinator", tests, NULL, NULL);
}
