// test_consumer_group_heartbeat.c: ConsumerGroupHeartbeat (API 68) against the golden files
// tests/golden/cghb_*.bin, assembled from the Kafka 4.0 JSON schemas by an independent encoder
// (tests/golden/gen_consumer_group_heartbeat.py): the writer must produce them byte for byte,
// the parser must decode them, fail every strict prefix as truncated and an extra byte as
// malformed, and refuse hostile counts and presence bytes.
#include "proto/api.h"
#include "proto/consumer_group_heartbeat.h"
#include "tests/lib/proto_check.h"
#include "tests/lib/unit.h"

#include <string.h>

static const uint8_t topic_a[16] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                                    0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
static const uint8_t topic_b[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                                    0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};

static enum kp_status cghb_parse(kr *b, int16_t v, void *ctx, struct kp_err *err)
{
    return kp_cghb_resp_parse(b, v, ctx, err);
}

static void write_equal(const char *golden, int16_t version, const struct kp_cghb_req *req)
{
    kw w;
    kw_init_grow(&w);
    size_t len;
    assert_true(kp_cghb_req_write(&w, version, req));
    assert_true(kw_finish(&w, &len));
    proto_golden_equal(golden, kw_data(&w), len);
    kw_cleanup(&w);
}

static void test_request_join_v1(void **state)
{
    (void)state;
    static const char *const topics[] = {"orders"};
    struct kp_cghb_req req = {.group_id = "orders-group",
                              .member_id = "6nRZkx8ZQ5eYv0rMXb3b9w",
                              .member_epoch = 0,
                              .rebalance_timeout_ms = 300000,
                              .send_topics = true,
                              .topics = topics,
                              .num_topics = 1,
                              .send_owned = true};
    write_equal("cghb_req_v1_join.bin", 1, &req);
}

static void test_request_ack_v0(void **state)
{
    (void)state;
    static const int32_t parts[] = {0, 2};
    struct kp_cghb_topic_partitions owned[] = {{topic_a, parts, 2}, {topic_b, NULL, 0}};
    struct kp_cghb_req req = {.group_id = "orders-group",
                              .member_id = "m-1",
                              .member_epoch = 7,
                              .rebalance_timeout_ms = -1,
                              .send_owned = true,
                              .owned = owned,
                              .num_owned = 2};
    write_equal("cghb_req_v0_ack.bin", 0, &req);
}

static void test_request_leave_and_refusals(void **state)
{
    (void)state;
    struct kp_cghb_req req = {
        .group_id = "g", .member_id = "m-1", .member_epoch = -1, .rebalance_timeout_ms = -1};
    write_equal("cghb_req_v1_leave.bin", 1, &req);
    kw w;
    kw_init_grow(&w);
    req.topic_regex = "orders.*"; // v1+ only
    assert_false(kp_cghb_req_write(&w, 0, &req));
    kw_cleanup(&w);
    kw_init_grow(&w);
    req.topic_regex = NULL;
    assert_false(kp_cghb_req_write(&w, 2, &req)); // not a version kesm speaks
    kw_cleanup(&w);
    kw_init_grow(&w);
    req.member_id = NULL;
    assert_false(kp_cghb_req_write(&w, 1, &req));
    kw_cleanup(&w);
}

static void test_response_assignment_v1(void **state)
{
    (void)state;
    struct guarded g;
    kr body;
    proto_golden_resp("cghb_resp_v1_assign.bin", KP_API_CONSUMER_GROUP_HEARTBEAT, 1, &g, &body);
    const uint8_t *p = body.p;
    size_t n = body.len;
    struct kp_cghb_resp r;
    struct kp_err err = {0};
    assert_int_equal(kp_cghb_resp_parse(&body, 1, &r, &err), KP_OK);
    assert_int_equal(r.error_code, 0);
    assert_true(r.error_message_null);
    assert_false(r.member_id_null);
    assert_true(kr_eq_cstr(&r.member_id, "6nRZkx8ZQ5eYv0rMXb3b9w"));
    assert_int_equal(r.member_epoch, 1);
    assert_int_equal(r.heartbeat_interval_ms, 5000);
    assert_true(r.has_assignment);
    assert_int_equal(r.num_topics, 2);
    struct kp_cghb_iter it;
    struct kp_cghb_topic t;
    int32_t part;
    kp_cghb_topics(&r, &it);
    assert_true(kp_cghb_next_topic(&it, &t));
    assert_memory_equal(t.topic_id, topic_a, 16);
    assert_int_equal(t.num_partitions, 3);
    assert_true(kp_cghb_partition(&t, 2, &part) && part == 2);
    assert_false(kp_cghb_partition(&t, 3, &part));
    assert_true(kp_cghb_next_topic(&it, &t));
    assert_memory_equal(t.topic_id, topic_b, 16);
    assert_true(t.num_partitions == 1 && kp_cghb_partition(&t, 0, &part) && part == 5);
    assert_false(kp_cghb_next_topic(&it, &t));
    proto_check_bounds(p, n, 1, cghb_parse, &r);
    guarded_free(&g);
}

static void test_response_null_assignment_v0(void **state)
{
    (void)state;
    struct guarded g;
    kr body;
    proto_golden_resp("cghb_resp_v0_null.bin", KP_API_CONSUMER_GROUP_HEARTBEAT, 0, &g, &body);
    const uint8_t *p = body.p;
    size_t n = body.len;
    struct kp_cghb_resp r;
    struct kp_err err = {0};
    assert_int_equal(kp_cghb_resp_parse(&body, 0, &r, &err), KP_OK);
    assert_int_equal(r.throttle_time_ms, 25);
    assert_true(r.member_id_null);
    assert_int_equal(r.member_epoch, 7);
    assert_int_equal(r.heartbeat_interval_ms, 3000);
    assert_false(r.has_assignment);
    struct kp_cghb_iter it;
    struct kp_cghb_topic t;
    kp_cghb_topics(&r, &it);
    assert_false(kp_cghb_next_topic(&it, &t));
    proto_check_bounds(p, n, 0, cghb_parse, &r);
    guarded_free(&g);
}

static void test_response_fenced_v1(void **state)
{
    (void)state;
    struct guarded g;
    kr body;
    proto_golden_resp("cghb_resp_v1_fenced.bin", KP_API_CONSUMER_GROUP_HEARTBEAT, 1, &g, &body);
    struct kp_cghb_resp r;
    struct kp_err err = {0};
    const uint8_t *p = body.p;
    size_t n = body.len;
    assert_int_equal(kp_cghb_resp_parse(&body, 1, &r, &err), KP_OK);
    assert_int_equal(r.error_code, 110);
    assert_false(r.error_message_null);
    assert_int_equal(r.error_message.len, 105);
    proto_check_bounds(p, n, 1, cghb_parse, &r);
    guarded_free(&g);
}

// parse_bytes parses |n| bytes at |p| (a body) at |version|.
static enum kp_status parse_bytes(const uint8_t *p, size_t n, int16_t version, const char **field)
{
    kr b;
    kr_init(&b, p, n);
    struct kp_cghb_resp r;
    struct kp_err err = {0};
    enum kp_status st = kp_cghb_resp_parse(&b, version, &r, &err);
    *field = err.field;
    return st;
}

static void test_response_attacks(void **state)
{
    (void)state;
    const char *field;
    // throttle, error, null message, null member, epoch, interval, then:
    uint8_t b[64] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x13, 0x88};
    size_t head = 16;
    // a presence byte that is neither -1 nor 1
    b[head] = 0;
    b[head + 1] = 0;
    assert_int_equal(parse_bytes(b, head + 2, 1, &field), KP_ERR_MALFORMED);
    assert_non_null(strstr(field, "presence"));
    // a topic count far above the bytes present (uvarint 0x7fffffff)
    b[head] = 1;
    memcpy(b + head + 1, "\xff\xff\xff\xff\x07", 5);
    assert_true(parse_bytes(b, head + 6, 1, &field) != KP_OK);
    assert_string_equal(field, "assignment.topic_partitions");
    // one topic whose partition count runs past the end
    b[head + 1] = 2;
    memcpy(b + head + 2, topic_a, 16);
    b[head + 18] = 0x40; // 63 partitions announced, 4 bytes present
    assert_int_equal(parse_bytes(b, head + 23, 1, &field), KP_ERR_TRUNCATED);
    assert_string_equal(field, "assignment.topic_partitions.partitions");
    // a version kesm does not speak
    assert_int_equal(parse_bytes(b, head, 2, &field), KP_ERR_VERSION);
}

static void test_api_table(void **state)
{
    (void)state;
    const struct kp_api_info *a = kp_api_info_get(KP_API_CONSUMER_GROUP_HEARTBEAT);
    assert_non_null(a);
    assert_string_equal(a->name, "ConsumerGroupHeartbeat");
    assert_int_equal(a->min_version, 0);
    assert_int_equal(a->max_version, 1);
    assert_true(kp_api_is_flexible(KP_API_CONSUMER_GROUP_HEARTBEAT, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_join_v1),
        cmocka_unit_test(test_request_ack_v0),
        cmocka_unit_test(test_request_leave_and_refusals),
        cmocka_unit_test(test_response_assignment_v1),
        cmocka_unit_test(test_response_null_assignment_v0),
        cmocka_unit_test(test_response_fenced_v1),
        cmocka_unit_test(test_response_attacks),
        cmocka_unit_test(test_api_table),
    };
    return cmocka_run_group_tests_name("consumer_group_heartbeat", tests, NULL, NULL);
}
