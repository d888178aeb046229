// test_group.c: JoinGroup, SyncGroup, Heartbeat and LeaveGroup codecs. Non-flexible versions
// against bytes captured from kcat and the librdkafka mock (tests/golden/*.txt say how);
// flexible versions against frames built by hand from the Kafka JSON schemas.
#include "proto/api.h"
#include "proto/consumer_protocol.h"
#include "proto/heartbeat.h"
#include "proto/join_group.h"
#include "proto/leave_group.h"
#include "proto/sync_group.h"
#include "tests/lib/golden.h"
#include "tests/lib/proto_check.h"
#include "tests/lib/unit.h"

#include <string.h>

static const char *const kcat_member = "0x7efed0002fc0";

// The v1 subscription librdkafka 2.0.2 sends for topic t1 (empty user data, no owned
// partitions), and the v0 assignment of t1 [0,1,2,3] the mock hands back.
static size_t kcat_subscription(uint8_t *buf, size_t cap)
{
    static const char *const topics[] = {"t1"};
    struct kp_consumer_subscription s = {
        .version = 1, .topics = topics, .num_topics = 1, .user_data = (const uint8_t *)""};
    kw w;
    kw_init_fixed(&w, buf, cap);
    size_t len = 0;
    assert_true(kp_consumer_subscription_write(&w, &s) && kw_finish(&w, &len));
    return len;
}

static size_t kcat_assignment(uint8_t *buf, size_t cap)
{
    static const int32_t parts[] = {0, 1, 2, 3};
    struct kp_consumer_topic_partitions tp = {
        .topic = "t1", .partitions = parts, .num_partitions = 4};
    struct kp_consumer_assignment a = {
        .version = 0, .assigned = &tp, .num_assigned = 1, .user_data = (const uint8_t *)""};
    kw w;
    kw_init_fixed(&w, buf, cap);
    size_t len = 0;
    assert_true(kp_consumer_assignment_write(&w, &a) && kw_finish(&w, &len));
    return len;
}

static void assert_view(const kr *v, const char *want)
{
    if (!kr_eq_cstr(v, want)) {
        fail_msg("view of %zu bytes is not \"%s\"", v->len, want);
    }
}

static void assert_view_bytes(const kr *v, const uint8_t *want, size_t len)
{
    assert_int_equal(v->len, len);
    assert_memory_equal(v->p, want, len);
}

// ---- parse callbacks for proto_check ----------------------------------------------------------

static enum kp_status join_parse(kr *b, int16_t v, void *ctx, struct kp_err *err)
{
    return kp_join_group_resp_parse(b, v, ctx, err);
}

static enum kp_status sync_parse(kr *b, int16_t v, void *ctx, struct kp_err *err)
{
    return kp_sync_group_resp_parse(b, v, ctx, err);
}

static enum kp_status hb_parse(kr *b, int16_t v, void *ctx, struct kp_err *err)
{
    return kp_heartbeat_resp_parse(b, v, ctx, err);
}

static enum kp_status leave_parse(kr *b, int16_t v, void *ctx, struct kp_err *err)
{
    return kp_leave_group_resp_parse(b, v, ctx, err);
}

// ---- JoinGroup --------------------------------------------------------------------------------

static void test_join_group_v5_request_matches_kcat(void **state)
{
    (void)state;
    uint8_t meta[64];
    size_t meta_len = kcat_subscription(meta, sizeof meta);
    assert_int_equal(meta_len, 18);
    struct kp_join_group_req_protocol protos[] = {
        {.name = "range", .metadata = meta, .metadata_len = meta_len},
        {.name = "roundrobin", .metadata = meta, .metadata_len = meta_len},
    };
    struct kp_join_group_req req = {.group_id = "grp1",
                                    .session_timeout_ms = 6000,
                                    .rebalance_timeout_ms = 300000,
                                    .member_id = "",
                                    .protocol_type = "consumer",
                                    .protocols = protos,
                                    .num_protocols = 2};
    kw w;
    kw_init_grow(&w);
    size_t pos, len;
    assert_true(kp_req_begin(&w, KP_API_JOIN_GROUP, 5, 4, "kcat-cap", &pos));
    assert_true(kp_join_group_req_write(&w, 5, &req));
    assert_true(kp_req_end(&w, pos) && kw_finish(&w, &len));
    proto_golden_equal("join_group_req_v5.bin", kw_data(&w), len);
    kw_cleanup(&w);
}

static void test_join_group_v5_response_from_mock(void **state)
{
    (void)state;
    struct guarded g;
    kr body;
    proto_golden_resp("join_group_resp_v5.bin", KP_API_JOIN_GROUP, 5, &g, &body);
    struct kp_join_group_resp resp;
    const uint8_t *p = body.p;
    size_t n = body.len;
    struct kp_err err = {0};
    assert_int_equal(kp_join_group_resp_parse(&body, 5, &resp, &err), KP_OK);
    assert_int_equal(resp.throttle_time_ms, 0);
    assert_int_equal(resp.error_code, 0);
    assert_int_equal(resp.generation_id, 2);
    assert_true(resp.protocol_type_null); // not in v5
    assert_view(&resp.protocol_name, "range");
    assert_view(&resp.leader, kcat_member);
    assert_view(&resp.member_id, kcat_member);
    assert_false(resp.skip_assignment);
    assert_int_equal(resp.num_members, 1);
    uint8_t meta[64];
    size_t meta_len = kcat_subscription(meta, sizeof meta);
    struct kp_join_group_member_iter it;
    struct kp_join_group_member m;
    kp_join_group_members(&resp, &it);
    assert_true(kp_join_group_next_member(&it, &m));
    assert_view(&m.member_id, kcat_member);
    assert_true(m.group_instance_id_null);
    assert_view_bytes(&m.metadata, meta, meta_len);
    assert_false(kp_join_group_next_member(&it, &m));
    proto_check_bounds(p, n, 5, join_parse, &resp);
    guarded_free(&g);
}

// JoinGroup v9 response (flexible), from JoinGroupResponse.json.
static const char join_v9_resp[] = "00000000"              // throttle_time_ms
                                   "0000"                  // error_code
                                   "00000005"              // generation_id
                                   "09 636f6e73756d6572"   // protocol_type "consumer" (compact)
                                   "06 72616e6765"         // protocol_name "range"
                                   "03 6d31"               // leader "m1"
                                   "01"                    // skip_assignment true
                                   "03 6d32"               // member_id "m2"
                                   "03"                    // members: 2 (compact count)
                                   "03 6d31 00 03 aabb 00" // m1, instance null, metadata aabb, tags
                                   "03 6d32 03 6932 01 00" // m2, instance "i2", empty metadata
                                   "00";                   // tagged fields

static void test_join_group_v9_response_flexible(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t n = hex_decode(join_v9_resp, buf, sizeof buf);
    struct guarded g;
    guarded_copy(&g, buf, n);
    kr body;
    kr_init(&body, g.data, g.len);
    struct kp_join_group_resp resp;
    assert_int_equal(kp_join_group_resp_parse(&body, 9, &resp, NULL), KP_OK);
    assert_int_equal(resp.generation_id, 5);
    assert_false(resp.protocol_type_null);
    assert_view(&resp.protocol_type, "consumer");
    assert_view(&resp.protocol_name, "range");
    assert_view(&resp.leader, "m1");
    assert_view(&resp.member_id, "m2");
    assert_true(resp.skip_assignment);
    assert_int_equal(resp.num_members, 2);
    struct kp_join_group_member_iter it;
    struct kp_join_group_member m;
    kp_join_group_members(&resp, &it);
    assert_true(kp_join_group_next_member(&it, &m));
    assert_view(&m.member_id, "m1");
    assert_true(m.group_instance_id_null);
    assert_view_bytes(&m.metadata, (const uint8_t *)"\xaa\xbb", 2);
    assert_true(kp_join_group_next_member(&it, &m));
    assert_view(&m.member_id, "m2");
    assert_false(m.group_instance_id_null);
    assert_view(&m.group_instance_id, "i2");
    assert_int_equal(m.metadata.len, 0);
    assert_false(kp_join_group_next_member(&it, &m));
    proto_check_bounds(buf, n, 9, join_parse, &resp);
    // The same bytes at v6 (no protocol_type, skip_assignment): the layout no longer fits.
    kr_init(&body, g.data, g.len);
    assert_int_not_equal(kp_join_group_resp_parse(&body, 6, &resp, NULL), KP_OK);
    guarded_free(&g);
}

static void test_join_group_v9_request_flexible(void **state)
{
    (void)state;
    struct kp_join_group_req_protocol proto = {
        .name = "range", .metadata = (const uint8_t *)"\x01", .metadata_len = 1};
    struct kp_join_group_req req = {.group_id = "g",
                                    .session_timeout_ms = 10000,
                                    .rebalance_timeout_ms = 60000,
                                    .member_id = "m",
                                    .group_instance_id = "i",
                                    .protocol_type = "consumer",
                                    .protocols = &proto,
                                    .num_protocols = 1,
                                    .reason = "rejoin"};
    uint8_t want[128];
    size_t want_len = hex_decode("02 67"                     // group_id "g"
                                 "00002710 0000ea60"         // session 10000, rebalance 60000
                                 "02 6d 02 69"               // member_id "m", group_instance_id "i"
                                 "09 636f6e73756d6572"       // protocol_type
                                 "02 06 72616e6765 02 01 00" // 1 protocol: range, metadata 01
                                 "07 72656a6f696e"           // reason "rejoin"
                                 "00",                       // tags
                                 want, sizeof want);
    uint8_t buf[128];
    kw w;
    kw_init_fixed(&w, buf, sizeof buf);
    size_t len;
    assert_true(kp_join_group_req_write(&w, 9, &req) && kw_finish(&w, &len));
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, len);
    // v7: no reason (ignorable), same otherwise.
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_join_group_req_write(&w, 7, &req) && kw_finish(&w, &len));
    assert_int_equal(len, want_len - 7);
    assert_memory_equal(buf, want, len - 1);
    // A static member below v5 cannot be written; versions outside 2-9 fail.
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_join_group_req_write(&w, 4, &req));
    assert_false(kw_ok(&w));
    req.group_instance_id = NULL;
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_join_group_req_write(&w, 10, &req));
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_join_group_req_write(&w, 1, &req));
}

// The librdkafka mock's JoinGroup error answer (v5, COORDINATOR_NOT_AVAILABLE injected with
// kmock's `reqerr JoinGroup`): generation -1 and null strings where the schema has
// non-nullable ones. The layout follows the mock's handler; group_codecs.sh sees it live.
static void test_join_group_mock_error_nulls(void **state)
{
    (void)state;
    uint8_t buf[32];
    size_t n = hex_decode("00000000 000f ffffffff ffff ffff ffff 00000000", buf, sizeof buf);
    kr body;
    kr_init(&body, buf, n);
    struct kp_join_group_resp resp;
    assert_int_equal(kp_join_group_resp_parse(&body, 5, &resp, NULL), KP_OK);
    assert_int_equal(resp.error_code, 15);
    assert_int_equal(resp.generation_id, -1);
    assert_true(resp.protocol_name_null);
    assert_int_equal(resp.leader.len, 0);
    assert_int_equal(resp.member_id.len, 0);
    assert_int_equal(resp.num_members, 0);
    proto_check_bounds(buf, n, 5, join_parse, &resp);
}

static void test_join_group_errors_name_field(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t n = hex_decode(join_v9_resp, buf, sizeof buf);
    buf[32] = 0x7f; // members count: 126 members cannot fit
    kr body;
    kr_init(&body, buf, n);
    struct kp_join_group_resp resp;
    struct kp_err err = {0};
    assert_int_equal(kp_join_group_resp_parse(&body, 9, &resp, &err), KP_ERR_TRUNCATED);
    assert_string_equal(err.field, "members");
    assert_int_equal(err.offset, 33);
    kr_init(&body, buf, n);
    assert_int_equal(kp_join_group_resp_parse(&body, 10, &resp, &err), KP_ERR_VERSION);
    // A null member id is malformed (not nullable).
    n = hex_decode(join_v9_resp, buf, sizeof buf);
    buf[33] = 0x00;
    kr_init(&body, buf, n);
    assert_int_equal(kp_join_group_resp_parse(&body, 9, &resp, &err), KP_ERR_MALFORMED);
    assert_string_equal(err.field, "members.member_id");
}

// ---- SyncGroup --------------------------------------------------------------------------------

static void test_sync_group_v3_request_matches_kcat(void **state)
{
    (void)state;
    uint8_t asg[64];
    size_t asg_len = kcat_assignment(asg, sizeof asg);
    struct kp_sync_group_req_assignment a = {
        .member_id = kcat_member, .assignment = asg, .assignment_len = asg_len};
    struct kp_sync_group_req req = {.group_id = "grp1",
                                    .generation_id = 2,
                                    .member_id = kcat_member,
                                    .assignments = &a,
                                    .num_assignments = 1};
    kw w;
    kw_init_grow(&w);
    size_t pos, len;
    assert_true(kp_req_begin(&w, KP_API_SYNC_GROUP, 3, 6, "kcat-cap", &pos));
    assert_true(kp_sync_group_req_write(&w, 3, &req));
    assert_true(kp_req_end(&w, pos) && kw_finish(&w, &len));
    proto_golden_equal("sync_group_req_v3.bin", kw_data(&w), len);
    kw_cleanup(&w);
}

static void test_sync_group_v3_response_from_mock(void **state)
{
    (void)state;
    struct guarded g;
    kr body;
    proto_golden_resp("sync_group_resp_v3.bin", KP_API_SYNC_GROUP, 3, &g, &body);
    const uint8_t *p = body.p;
    size_t n = body.len;
    struct kp_sync_group_resp resp;
    assert_int_equal(kp_sync_group_resp_parse(&body, 3, &resp, NULL), KP_OK);
    assert_int_equal(resp.throttle_time_ms, 0);
    assert_int_equal(resp.error_code, 0);
    assert_true(resp.protocol_type_null && resp.protocol_name_null);
    assert_false(resp.assignment_null);
    uint8_t asg[64];
    size_t asg_len = kcat_assignment(asg, sizeof asg);
    assert_view_bytes(&resp.assignment, asg, asg_len);
    proto_check_bounds(p, n, 3, sync_parse, &resp);
    guarded_free(&g);
}

// The librdkafka mock answers a SyncGroup that arrives after the group is stable with
// INVALID_REQUEST (42) and a null assignment; these are the bytes it sent (v3 body), seen by
// tests/tools/group_probe in tests/integration/group_codecs.sh.
static void test_sync_group_mock_error_null_assignment(void **state)
{
    (void)state;
    uint8_t buf[16];
    size_t n = hex_decode("00000000 002a ffffffff", buf, sizeof buf);
    kr body;
    kr_init(&body, buf, n);
    struct kp_sync_group_resp resp;
    assert_int_equal(kp_sync_group_resp_parse(&body, 3, &resp, NULL), KP_OK);
    assert_int_equal(resp.error_code, 42);
    assert_true(resp.assignment_null);
    assert_int_equal(resp.assignment.len, 0);
    proto_check_bounds(buf, n, 3, sync_parse, &resp);
    // A negative length other than -1 is still malformed.
    buf[9] = 0xfe;
    kr_init(&body, buf, n);
    struct kp_err err = {0};
    assert_int_equal(kp_sync_group_resp_parse(&body, 3, &resp, &err), KP_ERR_MALFORMED);
    assert_string_equal(err.field, "assignment");
}

static void test_sync_group_v5_flexible(void **state)
{
    (void)state;
    // Response v5: throttle 7, error 0, protocol_type "consumer", protocol_name null,
    // assignment 0a0b, tags.
    uint8_t buf[64];
    size_t n = hex_decode("00000007 0000 09636f6e73756d6572 00 03 0a0b 00", buf, sizeof buf);
    kr body;
    kr_init(&body, buf, n);
    struct kp_sync_group_resp resp;
    assert_int_equal(kp_sync_group_resp_parse(&body, 5, &resp, NULL), KP_OK);
    assert_int_equal(resp.throttle_time_ms, 7);
    assert_view(&resp.protocol_type, "consumer");
    assert_true(resp.protocol_name_null);
    assert_view_bytes(&resp.assignment, (const uint8_t *)"\x0a\x0b", 2);
    proto_check_bounds(buf, n, 5, sync_parse, &resp);

    // Request v5: group "g", generation 3, member "m", instance null, "consumer", "range",
    // one assignment (member "m", empty bytes).
    struct kp_sync_group_req_assignment a = {.member_id = "m"};
    struct kp_sync_group_req req = {.group_id = "g",
                                    .generation_id = 3,
                                    .member_id = "m",
                                    .protocol_type = "consumer",
                                    .protocol_name = "range",
                                    .assignments = &a,
                                    .num_assignments = 1};
    uint8_t want[64];
    size_t want_len = hex_decode("0267 00000003 026d 00 09636f6e73756d6572 0672616e6765"
                                 "02 026d 01 00 00",
                                 want, sizeof want);
    kw w;
    kw_init_fixed(&w, buf, sizeof buf);
    size_t len;
    assert_true(kp_sync_group_req_write(&w, 5, &req) && kw_finish(&w, &len));
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, len);
    // v4 leaves out the protocol fields (ignorable).
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_sync_group_req_write(&w, 4, &req) && kw_finish(&w, &len));
    assert_int_equal(len, want_len - 15);
    // Non-empty assignment bytes with a NULL pointer fail the writer.
    a.assignment_len = 3;
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_sync_group_req_write(&w, 5, &req));
}

// ---- Heartbeat --------------------------------------------------------------------------------

static void test_heartbeat_v3_golden(void **state)
{
    (void)state;
    struct kp_heartbeat_req req = {
        .group_id = "grp1", .generation_id = 2, .member_id = kcat_member};
    kw w;
    kw_init_grow(&w);
    size_t pos, len;
    assert_true(kp_req_begin(&w, KP_API_HEARTBEAT, 3, 7, "kcat-cap", &pos));
    assert_true(kp_heartbeat_req_write(&w, 3, &req));
    assert_true(kp_req_end(&w, pos) && kw_finish(&w, &len));
    proto_golden_equal("heartbeat_req_v3.bin", kw_data(&w), len);
    kw_cleanup(&w);

    struct guarded g;
    kr body;
    proto_golden_resp("heartbeat_resp_v3.bin", KP_API_HEARTBEAT, 3, &g, &body);
    const uint8_t *p = body.p;
    size_t n = body.len;
    struct kp_heartbeat_resp resp = {.error_code = -1};
    assert_int_equal(kp_heartbeat_resp_parse(&body, 3, &resp, NULL), KP_OK);
    assert_int_equal(resp.error_code, 0);
    assert_int_equal(resp.throttle_time_ms, 0);
    proto_check_bounds(p, n, 3, hb_parse, &resp);
    guarded_free(&g);
}

static void test_heartbeat_versions(void **state)
{
    (void)state;
    uint8_t buf[64];
    // v4 response: throttle 100, REBALANCE_IN_PROGRESS (27), tags.
    size_t n = hex_decode("00000064 001b 00", buf, sizeof buf);
    struct kp_heartbeat_resp resp;
    kr body;
    kr_init(&body, buf, n);
    assert_int_equal(kp_heartbeat_resp_parse(&body, 4, &resp, NULL), KP_OK);
    assert_int_equal(resp.throttle_time_ms, 100);
    assert_int_equal(resp.error_code, 27);
    proto_check_bounds(buf, n, 4, hb_parse, &resp);
    // v0 response: error code only.
    n = hex_decode("0019", buf, sizeof buf);
    kr_init(&body, buf, n);
    assert_int_equal(kp_heartbeat_resp_parse(&body, 0, &resp, NULL), KP_OK);
    assert_int_equal(resp.error_code, 25);
    assert_int_equal(resp.throttle_time_ms, 0);
    proto_check_bounds(buf, n, 0, hb_parse, &resp);

    // v4 request: compact strings and a tag section; instance "s".
    struct kp_heartbeat_req req = {
        .group_id = "g", .generation_id = 1, .member_id = "m", .group_instance_id = "s"};
    uint8_t want[32];
    size_t want_len = hex_decode("0267 00000001 026d 0273 00", want, sizeof want);
    kw w;
    kw_init_fixed(&w, buf, sizeof buf);
    size_t len;
    assert_true(kp_heartbeat_req_write(&w, 4, &req) && kw_finish(&w, &len));
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, len);
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_heartbeat_req_write(&w, 2, &req)); // static member below v3
    req.group_id = NULL;
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_heartbeat_req_write(&w, 4, &req)); // group id is not nullable
}

// ---- LeaveGroup -------------------------------------------------------------------------------

static void test_leave_group_v1_golden(void **state)
{
    (void)state;
    struct kp_leave_group_req_member m = {.member_id = kcat_member};
    struct kp_leave_group_req req = {.group_id = "grp1", .members = &m, .num_members = 1};
    kw w;
    kw_init_grow(&w);
    size_t pos, len;
    assert_true(kp_req_begin(&w, KP_API_LEAVE_GROUP, 1, 23, "kcat-cap", &pos));
    assert_true(kp_leave_group_req_write(&w, 1, &req));
    assert_true(kp_req_end(&w, pos) && kw_finish(&w, &len));
    proto_golden_equal("leave_group_req_v1.bin", kw_data(&w), len);
    kw_cleanup(&w);

    struct guarded g;
    kr body;
    proto_golden_resp("leave_group_resp_v1.bin", KP_API_LEAVE_GROUP, 1, &g, &body);
    const uint8_t *p = body.p;
    size_t n = body.len;
    struct kp_leave_group_resp resp;
    assert_int_equal(kp_leave_group_resp_parse(&body, 1, &resp, NULL), KP_OK);
    assert_int_equal(resp.error_code, 0);
    assert_int_equal(resp.num_members, 0);
    proto_check_bounds(p, n, 1, leave_parse, &resp);
    guarded_free(&g);
}

static void test_leave_group_v5_batch(void **state)
{
    (void)state;
    struct kp_leave_group_req_member ms[] = {
        {.member_id = "a", .reason = "bye"},
        {.member_id = "b", .group_instance_id = "i"},
    };
    struct kp_leave_group_req req = {.group_id = "g", .members = ms, .num_members = 2};
    uint8_t want[64];
    size_t want_len = hex_decode("0267 03"
                                 "0261 00 04627965 00" // a, instance null, reason "bye"
                                 "0262 0269 00 00"     // b, instance "i", reason null
                                 "00",
                                 want, sizeof want);
    uint8_t buf[64];
    kw w;
    kw_init_fixed(&w, buf, sizeof buf);
    size_t len;
    assert_true(kp_leave_group_req_write(&w, 5, &req) && kw_finish(&w, &len));
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, len);
    // v3: int16 strings, int32 count, no reasons, no tags.
    size_t v3_len = hex_decode("000167 00000002 000161 ffff 000162 000169", want, sizeof want);
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_leave_group_req_write(&w, 3, &req) && kw_finish(&w, &len));
    assert_int_equal(len, v3_len);
    assert_memory_equal(buf, want, len);
    // Below v3 only one dynamic member fits.
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_leave_group_req_write(&w, 2, &req));

    // v5 response: throttle 0, error 0, members [a null 0, b "i" UNKNOWN_MEMBER_ID 25].
    size_t n = hex_decode("00000000 0000 03 0261 00 0000 00 0262 0269 0019 00 00", buf, sizeof buf);
    kr body;
    kr_init(&body, buf, n);
    struct kp_leave_group_resp resp;
    assert_int_equal(kp_leave_group_resp_parse(&body, 5, &resp, NULL), KP_OK);
    assert_int_equal(resp.num_members, 2);
    struct kp_leave_group_member_iter it;
    struct kp_leave_group_member m;
    kp_leave_group_members(&resp, &it);
    assert_true(kp_leave_group_next_member(&it, &m));
    assert_view(&m.member_id, "a");
    assert_true(m.group_instance_id_null);
    assert_int_equal(m.error_code, 0);
    assert_true(kp_leave_group_next_member(&it, &m));
    assert_view(&m.group_instance_id, "i");
    assert_int_equal(m.error_code, 25);
    assert_false(kp_leave_group_next_member(&it, &m));
    proto_check_bounds(buf, n, 5, leave_parse, &resp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_group_v5_request_matches_kcat),
        cmocka_unit_test(test_join_group_v5_response_from_mock),
        cmocka_unit_test(test_join_group_v9_response_flexible),
        cmocka_unit_test(test_join_group_v9_request_flexible),
        cmocka_unit_test(test_join_group_mock_error_nulls),
        cmocka_unit_test(test_join_group_errors_name_field),
        cmocka_unit_test(test_sync_group_v3_request_matches_kcat),
        cmocka_unit_test(test_sync_group_v3_response_from_mock),
        cmocka_unit_test(test_sync_group_mock_error_null_assignment),
        cmocka_unit_test(test_sync_group_v5_flexible),
        cmocka_unit_test(test_heartbeat_v3_golden),
        cmocka_unit_test(test_heartbeat_versions),
        cmocka_unit_test(test_leave_group_v1_golden),
        cmocka_unit_test(test_leave_group_v5_batch),
    };
    return cmocka_run_group_tests_name("group", tests, NULL, NULL);
}
