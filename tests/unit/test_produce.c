// test_produce.c: Produce v3-9 request writer and response parser.
#include "proto/api.h"
#include "proto/produce.h"
#include "tests/lib/golden.h"
#include "tests/lib/proto_check.h"
#include "tests/lib/unit.h"

#include <string.h>

static enum kp_status parse_cb(kr *body, int16_t version, void *ctx, struct kp_err *err)
{
    return kp_produce_resp_parse(body, version, ctx, err);
}

static void parse_ok(const uint8_t *p, size_t len, int16_t version, struct kp_produce_resp *out)
{
    kr body;
    kr_init(&body, p, len);
    struct kp_err err = {0};
    if (kp_produce_resp_parse(&body, version, out, &err) != KP_OK) {
        fail_msg("v%d: %s at %zu", version, err.field, err.offset);
    }
}

// one_partition returns the only partition of the only topic, named |topic|.
static void one_partition(const struct kp_produce_resp *resp, const char *topic,
                          struct kp_produce_iter *out_pi, struct kp_produce_partition *out)
{
    struct kp_produce_iter ti;
    struct kp_produce_topic t;
    assert_int_equal(resp->num_topics, 1);
    kp_produce_topics(resp, &ti);
    assert_true(kp_produce_next_topic(&ti, &t));
    assert_true(kr_eq_cstr(&t.name, topic));
    assert_int_equal(t.num_partitions, 1);
    kp_produce_partitions(&ti, &t, out_pi);
    assert_true(kp_produce_next_partition(out_pi, out));
    struct kp_produce_iter rest = *out_pi;
    struct kp_produce_partition extra;
    assert_false(kp_produce_next_partition(&rest, &extra));
    assert_false(kp_produce_next_topic(&ti, &t));
}

static void test_mock_v7(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "produce_resp_v7.bin");
    kr body;
    kr_init(&body, g.data + 4, g.len - 4);
    int32_t corr;
    assert_int_equal(kp_resp_hdr_parse(&body, KP_API_PRODUCE, 7, &corr, NULL), KP_OK);
    struct kp_produce_resp resp;
    parse_ok(body.p, body.len, 7, &resp);
    assert_int_equal(resp.throttle_time_ms, 0);
    struct kp_produce_iter pi;
    struct kp_produce_partition p;
    one_partition(&resp, "golden", &pi, &p);
    assert_int_equal(p.index, 0);
    assert_int_equal(p.error_code, 0);
    assert_int_equal(p.base_offset, 0);
    assert_int_equal(p.log_append_time_ms, 1234); // the mock's constant
    assert_int_equal(p.log_start_offset, 0);
    assert_int_equal(p.num_record_errors, 0);
    assert_true(p.error_message_null);
    proto_check_bounds(body.p, body.len, 7, parse_cb, &resp);
    // As v4 (no LogStartOffset) eight bytes are left over.
    kr r = body;
    assert_int_equal(kp_produce_resp_parse(&r, 4, &resp, NULL), KP_ERR_MALFORMED);
    guarded_free(&g);
}

static void test_mock_captures(void **state)
{
    (void)state;
    const char *files[] = {"produce_resp_v3.bin", "produce_resp_v6.bin"};
    const int16_t versions[] = {3, 6};
    const int64_t base[] = {3, 9};
    for (size_t i = 0; i < 2; i++) {
        struct guarded g;
        golden_load_guarded(&g, files[i]);
        kr body;
        kr_init(&body, g.data + 8, g.len - 8); // size prefix, header v0
        struct kp_produce_resp resp;
        parse_ok(body.p, body.len, versions[i], &resp);
        struct kp_produce_iter pi;
        struct kp_produce_partition p;
        one_partition(&resp, "cap", &pi, &p);
        assert_int_equal(p.error_code, 0);
        assert_int_equal(p.base_offset, base[i]);
        assert_int_equal(p.log_append_time_ms, 1234);
        assert_int_equal(p.log_start_offset, versions[i] >= 5 ? 0 : -1);
        proto_check_bounds(body.p, body.len, versions[i], parse_cb, &resp);
        guarded_free(&g);
    }
    // The mock's v5 answer lacks LogStartOffset: rejected, as the schema says.
    struct guarded g;
    golden_load_guarded(&g, "produce_resp_v5.bin");
    kr body;
    kr_init(&body, g.data + 8, g.len - 8);
    struct kp_produce_resp resp;
    struct kp_err err = {0};
    assert_int_equal(kp_produce_resp_parse(&body, 5, &resp, &err), KP_ERR_TRUNCATED);
    assert_string_equal(err.field, "responses.partition_responses.log_start_offset");
    guarded_free(&g);

    // The v3 request behind them (the capture script reused kcat's record batch).
    struct guarded batch_src;
    golden_load_guarded(&batch_src, "produce_req_v7.bin");
    golden_load_guarded(&g, "produce_req_v3.bin");
    kr r;
    kr_init(&r, g.data + 4, g.len - 4);
    struct kp_req_hdr hdr;
    assert_int_equal(kp_req_hdr_parse(&r, &hdr, NULL), KP_OK);
    struct kp_produce_req_partition part = {0, batch_src.data + batch_src.len - 85, 85};
    struct kp_produce_req_topic topic = {"cap", &part, 1};
    struct kp_produce_req req = {NULL, 1, 5000, &topic, 1};
    kw w;
    kw_init_grow(&w);
    size_t pos, len;
    assert_true(kp_req_begin(&w, KP_API_PRODUCE, 3, hdr.correlation_id, "kesm-capture", &pos));
    assert_true(kp_produce_req_write(&w, 3, &req));
    assert_true(kp_req_end(&w, pos));
    assert_true(kw_finish(&w, &len));
    assert_int_equal(len, g.len);
    assert_memory_equal(kw_data(&w), g.data, len);
    kw_cleanup(&w);
    guarded_free(&g);
    guarded_free(&batch_src);
}

static void test_v8_v9(void **state)
{
    (void)state;
    uint8_t buf[160];
    // v8: INVALID_RECORD (87) with two record errors and a message.
    size_t len = hex_decode("00000001 0001 74 00000001"         // 1 topic "t", 1 partition
                            "00000002 0057 ffffffffffffffff"    // index 2, error 87, no offset
                            "ffffffffffffffff 0000000000000005" // append time, log start 5
                            "00000002 00000000 0003 626164 00000003 ffff" // [0 "bad"], [3 null]
                            "0004 6f6f7073"                               // ErrorMessage "oops"
                            "00000064",                                   // throttle 100
                            buf, sizeof buf);
    struct guarded g;
    guarded_copy(&g, buf, len);
    struct kp_produce_resp resp;
    parse_ok(g.data, g.len, 8, &resp);
    assert_int_equal(resp.throttle_time_ms, 100);
    struct kp_produce_iter pi, ei;
    struct kp_produce_partition p;
    struct kp_produce_record_error e;
    one_partition(&resp, "t", &pi, &p);
    assert_int_equal(p.index, 2);
    assert_int_equal(p.error_code, 87);
    assert_int_equal(p.base_offset, -1);
    assert_int_equal(p.log_start_offset, 5);
    assert_false(p.error_message_null);
    assert_true(kr_eq_cstr(&p.error_message, "oops"));
    assert_int_equal(p.num_record_errors, 2);
    kp_produce_record_errors(&pi, &p, &ei);
    assert_true(kp_produce_next_record_error(&ei, &e));
    assert_int_equal(e.batch_index, 0);
    assert_true(kr_eq_cstr(&e.message, "bad"));
    assert_true(kp_produce_next_record_error(&ei, &e));
    assert_int_equal(e.batch_index, 3);
    assert_true(e.message_null);
    assert_false(kp_produce_next_record_error(&ei, &e));
    proto_check_bounds(buf, len, 8, parse_cb, &resp);
    guarded_free(&g);

    // v9: flexible, one record error, null message, tags everywhere.
    len = hex_decode("02 02 74 02"                       // 1 topic "t", 1 partition
                     "00000000 0000 000000000000000a"    // index 0, ok, base offset 10
                     "ffffffffffffffff 0000000000000000" // append time, log start 0
                     "02 00000001 00 00"                 // [1 null] + tags
                     "00 00"                             // ErrorMessage null, tags
                     "00"                                // topic tags
                     "00000000 00",                      // throttle, tags
                     buf, sizeof buf);
    guarded_copy(&g, buf, len);
    parse_ok(g.data, g.len, 9, &resp);
    one_partition(&resp, "t", &pi, &p);
    assert_int_equal(p.base_offset, 10);
    assert_int_equal(p.num_record_errors, 1);
    assert_true(p.error_message_null);
    kp_produce_record_errors(&pi, &p, &ei);
    assert_true(kp_produce_next_record_error(&ei, &e));
    assert_int_equal(e.batch_index, 1);
    assert_true(e.message_null);
    assert_false(kp_produce_next_record_error(&ei, &e));
    proto_check_bounds(buf, len, 9, parse_cb, &resp);
    guarded_free(&g);

    struct kp_err err = {0};
    kr body;
    kr_init(&body, buf, len);
    assert_int_equal(kp_produce_resp_parse(&body, 2, &resp, &err), KP_ERR_VERSION);
    kr_init(&body, buf, len);
    assert_int_equal(kp_produce_resp_parse(&body, 10, &resp, &err), KP_ERR_VERSION);
}

static void test_request_matches_kcat(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "produce_req_v7.bin");
    // Take kcat's record batch out of its request and write a request around it.
    kr r;
    kr_init(&r, g.data + 4, g.len - 4);
    struct kp_req_hdr hdr;
    assert_int_equal(kp_req_hdr_parse(&r, &hdr, NULL), KP_OK);
    kr txn, name, records;
    bool txn_null;
    int16_t acks;
    int32_t timeout, ntopics, nparts, index;
    assert_true(kr_str(&r, &txn, &txn_null) && kr_i16(&r, &acks) && kr_i32(&r, &timeout) &&
                kr_i32(&r, &ntopics) && kr_str(&r, &name, NULL) && kr_i32(&r, &nparts) &&
                kr_i32(&r, &index) && kr_bytes(&r, &records, NULL) && kr_done(&r));
    assert_true(txn_null);
    assert_int_equal(acks, -1);
    assert_int_equal(timeout, 30000);
    assert_int_equal(records.len, 85);
    assert_int_equal(records.p[16], 2); // record batch magic
    struct kp_produce_req_partition part = {0, records.p, records.len};
    struct kp_produce_req_topic topic = {"golden", &part, 1};
    struct kp_produce_req req = {NULL, -1, 30000, &topic, 1};
    kw w;
    kw_init_grow(&w);
    size_t pos, len;
    assert_true(kp_req_begin(&w, KP_API_PRODUCE, 7, hdr.correlation_id, "rdkafka", &pos));
    assert_true(kp_produce_req_write(&w, 7, &req));
    assert_true(kp_req_end(&w, pos));
    assert_true(kw_finish(&w, &len));
    assert_int_equal(len, g.len);
    assert_memory_equal(kw_data(&w), g.data, len);
    kw_cleanup(&w);
    guarded_free(&g);
}

static void write_check(int16_t version, const struct kp_produce_req *req, const char *want_hex)
{
    uint8_t want[96], buf[96];
    size_t want_len = hex_decode(want_hex, want, sizeof want);
    kw w;
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_produce_req_write(&w, version, req));
    assert_int_equal(kw_len(&w), want_len);
    assert_memory_equal(buf, want, want_len);
}

static bool write_fails(int16_t version, const struct kp_produce_req *req)
{
    uint8_t buf[96];
    kw w;
    kw_init_fixed(&w, buf, sizeof buf);
    return !kp_produce_req_write(&w, version, req) && !kw_ok(&w);
}

static void test_request_versions(void **state)
{
    (void)state;
    const uint8_t blob[] = {0xaa, 0xbb};
    struct kp_produce_req_partition parts[] = {{1, blob, 2}, {2, NULL, 0}};
    struct kp_produce_req_topic topic = {"t", parts, 2};
    struct kp_produce_req req = {"tx", 1, 1000, &topic, 1};
    write_check(3, &req,
                "0002 7478 0001 000003e8 00000001 0001 74 00000002"
                "00000001 00000002 aabb 00000002 ffffffff");
    write_check(9, &req,
                "03 7478 0001 000003e8 02 02 74 03"
                "00000001 03 aabb 00 00000002 00 00 00 00");
    req.transactional_id = NULL;
    req.acks = 0;
    topic.num_partitions = 0;
    write_check(8, &req, "ffff 0000 000003e8 00000001 0001 74 00000000");
    req.acks = 2;
    assert_true(write_fails(7, &req));
    req.acks = -1;
    assert_true(write_fails(2, &req));
    assert_true(write_fails(10, &req));
    topic.name = NULL;
    assert_true(write_fails(5, &req));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mock_v7),
        cmocka_unit_test(test_mock_captures),
        cmocka_unit_test(test_v8_v9),
        cmocka_unit_test(test_request_matches_kcat),
        cmocka_unit_test(test_request_versions),
    };
    return cmocka_run_group_tests_name("produce", tests, NULL, NULL);
}
