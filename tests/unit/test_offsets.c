// test_offsets.c: OffsetFetch and OffsetCommit codecs. Non-flexible versions against bytes
// captured from kcat and the librdkafka mock (tests/golden/*.txt); flexible versions against
// frames built by hand from the Kafka JSON schemas.
#include "proto/api.h"
#include "proto/offset_commit.h"
#include "proto/offset_fetch.h"
#include "tests/lib/golden.h"
#include "tests/lib/proto_check.h"
#include "tests/lib/unit.h"

#include <string.h>

static const char *const kcat_member = "0x7efed0002fc0";

static void assert_view(const kr *v, const char *want)
{
    if (!kr_eq_cstr(v, want)) {
        fail_msg("view of %zu bytes is not \"%s\"", v->len, want);
    }
}

static enum kp_status of_parse(kr *b, int16_t v, void *ctx, struct kp_err *err)
{
    return kp_offset_fetch_resp_parse(b, v, ctx, err);
}

static enum kp_status oc_parse(kr *b, int16_t v, void *ctx, struct kp_err *err)
{
    return kp_offset_commit_resp_parse(b, v, ctx, err);
}

static void write_body(kw *w, uint8_t *buf, size_t cap)
{
    kw_init_fixed(w, buf, cap);
}

// ---- OffsetFetch ------------------------------------------------------------------------------

static void test_offset_fetch_v5_request_matches_kcat(void **state)
{
    (void)state;
    static const int32_t parts[] = {0, 1, 2, 3};
    struct kp_offset_fetch_req_topic t = {
        .name = "t1", .partition_indexes = parts, .num_partitions = 4};
    struct kp_offset_fetch_req_group g = {.group_id = "grp1", .topics = &t, .num_topics = 1};
    struct kp_offset_fetch_req req = {.groups = &g, .num_groups = 1};
    kw w;
    kw_init_grow(&w);
    size_t pos, len;
    assert_true(kp_req_begin(&w, KP_API_OFFSET_FETCH, 5, 8, "kcat-cap", &pos));
    assert_true(kp_offset_fetch_req_write(&w, 5, &req));
    assert_true(kp_req_end(&w, pos) && kw_finish(&w, &len));
    proto_golden_equal("offset_fetch_req_v5.bin", kw_data(&w), len);
    kw_cleanup(&w);
}

static void test_offset_fetch_v5_response_from_mock(void **state)
{
    (void)state;
    struct guarded g;
    kr body;
    proto_golden_resp("offset_fetch_resp_v5.bin", KP_API_OFFSET_FETCH, 5, &g, &body);
    const uint8_t *p = body.p;
    size_t n = body.len;
    struct kp_offset_fetch_resp resp;
    assert_int_equal(kp_offset_fetch_resp_parse(&body, 5, &resp, NULL), KP_OK);
    assert_int_equal(resp.throttle_time_ms, 0);
    assert_int_equal(resp.num_groups, 1);
    struct kp_offset_fetch_iter gi, ti, pi;
    struct kp_offset_fetch_group grp;
    struct kp_offset_fetch_topic topic;
    struct kp_offset_fetch_partition part;
    kp_offset_fetch_groups(&resp, &gi);
    assert_true(kp_offset_fetch_next_group(&gi, &grp));
    assert_int_equal(grp.group_id.len, 0);
    assert_int_equal(grp.error_code, 0);
    assert_int_equal(grp.num_topics, 1);
    kp_offset_fetch_topics(&gi, &grp, &ti);
    assert_true(kp_offset_fetch_next_topic(&ti, &topic));
    assert_view(&topic.name, "t1");
    assert_int_equal(topic.num_partitions, 4);
    kp_offset_fetch_partitions(&ti, &topic, &pi);
    for (int32_t i = 0; i < 4; i++) {
        assert_true(kp_offset_fetch_next_partition(&pi, &part));
        assert_int_equal(part.partition_index, i);
        assert_int_equal(part.committed_offset, -1);
        assert_int_equal(part.committed_leader_epoch, -1);
        assert_true(part.metadata_null);
        assert_int_equal(part.error_code, 0);
    }
    assert_false(kp_offset_fetch_next_partition(&pi, &part));
    assert_false(kp_offset_fetch_next_topic(&ti, &topic));
    assert_false(kp_offset_fetch_next_group(&gi, &grp));
    proto_check_bounds(p, n, 5, of_parse, &resp);
    guarded_free(&g);
}

// OffsetFetch v8 response (flexible, batched groups), from OffsetFetchResponse.json.
static const char of_v8_resp[] = "00000000"                     // throttle
                                 "03"                           // groups: 2
                                 "02 67"                        // group_id "g"
                                 "02 03 7431"                   // topics: 1, "t1"
                                 "02 00000000 000000000000000a" // partitions: 1; p0 offset 10
                                 "00000003 00 0000 00"          // epoch 3, metadata null, err, tags
                                 "00"                           // topic tags
                                 "0000 00"                      // group error 0, tags
                                 "03 6832 01 000f 00"           // "h2": no topics, error 15
                                 "00";                          // tags

static void test_offset_fetch_v8_response_groups(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t n = hex_decode(of_v8_resp, buf, sizeof buf);
    struct guarded gd;
    guarded_copy(&gd, buf, n);
    kr body;
    kr_init(&body, gd.data, gd.len);
    struct kp_offset_fetch_resp resp;
    assert_int_equal(kp_offset_fetch_resp_parse(&body, 8, &resp, NULL), KP_OK);
    assert_int_equal(resp.num_groups, 2);
    struct kp_offset_fetch_iter gi, ti, pi;
    struct kp_offset_fetch_group grp;
    struct kp_offset_fetch_topic topic;
    struct kp_offset_fetch_partition part;
    kp_offset_fetch_groups(&resp, &gi);
    assert_true(kp_offset_fetch_next_group(&gi, &grp));
    assert_view(&grp.group_id, "g");
    assert_int_equal(grp.error_code, 0);
    kp_offset_fetch_topics(&gi, &grp, &ti);
    assert_true(kp_offset_fetch_next_topic(&ti, &topic));
    assert_view(&topic.name, "t1");
    kp_offset_fetch_partitions(&ti, &topic, &pi);
    assert_true(kp_offset_fetch_next_partition(&pi, &part));
    assert_int_equal(part.committed_offset, 10);
    assert_int_equal(part.committed_leader_epoch, 3);
    assert_true(part.metadata_null);
    assert_false(kp_offset_fetch_next_partition(&pi, &part));
    assert_false(kp_offset_fetch_next_topic(&ti, &topic));
    assert_true(kp_offset_fetch_next_group(&gi, &grp));
    assert_view(&grp.group_id, "h2");
    assert_int_equal(grp.num_topics, 0);
    assert_int_equal(grp.error_code, 15);
    assert_false(kp_offset_fetch_next_group(&gi, &grp));
    proto_check_bounds(buf, n, 8, of_parse, &resp);
    guarded_free(&gd);
}

static void test_offset_fetch_v6_response_flexible_single(void **state)
{
    (void)state;
    // v6: throttle, topics [t1 [p2 offset 7 epoch -1 metadata "m" err 0]], error 16, tags.
    uint8_t buf[64];
    size_t n = hex_decode("00000001 02 037431 02 00000002 0000000000000007 ffffffff 026d 0000 00"
                          "00 0010 00",
                          buf, sizeof buf);
    kr body;
    kr_init(&body, buf, n);
    struct kp_offset_fetch_resp resp;
    assert_int_equal(kp_offset_fetch_resp_parse(&body, 6, &resp, NULL), KP_OK);
    struct kp_offset_fetch_iter gi, ti, pi;
    struct kp_offset_fetch_group grp;
    struct kp_offset_fetch_topic topic;
    struct kp_offset_fetch_partition part;
    kp_offset_fetch_groups(&resp, &gi);
    assert_true(kp_offset_fetch_next_group(&gi, &grp));
    assert_int_equal(grp.error_code, 16);
    kp_offset_fetch_topics(&gi, &grp, &ti);
    assert_true(kp_offset_fetch_next_topic(&ti, &topic));
    kp_offset_fetch_partitions(&ti, &topic, &pi);
    assert_true(kp_offset_fetch_next_partition(&pi, &part));
    assert_int_equal(part.partition_index, 2);
    assert_int_equal(part.committed_offset, 7);
    assert_view(&part.metadata, "m");
    proto_check_bounds(buf, n, 6, of_parse, &resp);
    // v1 has neither throttle nor top-level error, v2 adds the error.
    n = hex_decode("00000001 00027431 00000001 00000000 0000000000000005 ffff 0000", buf,
                   sizeof buf);
    kr_init(&body, buf, n);
    assert_int_equal(kp_offset_fetch_resp_parse(&body, 1, &resp, NULL), KP_OK);
    proto_check_bounds(buf, n, 1, of_parse, &resp);
    kr_init(&body, buf, n);
    assert_int_equal(kp_offset_fetch_resp_parse(&body, 2, &resp, NULL), KP_ERR_TRUNCATED);
    kr_init(&body, buf, n);
    assert_int_equal(kp_offset_fetch_resp_parse(&body, 9, &resp, NULL), KP_ERR_VERSION);
}

// The librdkafka mock answers an all-topics OffsetFetch (v2+) with a null topics array; the
// parser reads it as no topics (v5 body: throttle, null topics, error 0).
static void test_offset_fetch_mock_null_topics(void **state)
{
    (void)state;
    uint8_t buf[16];
    size_t n = hex_decode("00000000 ffffffff 0000", buf, sizeof buf);
    kr body;
    kr_init(&body, buf, n);
    struct kp_offset_fetch_resp resp;
    assert_int_equal(kp_offset_fetch_resp_parse(&body, 5, &resp, NULL), KP_OK);
    struct kp_offset_fetch_iter gi;
    struct kp_offset_fetch_group grp;
    kp_offset_fetch_groups(&resp, &gi);
    assert_true(kp_offset_fetch_next_group(&gi, &grp));
    assert_int_equal(grp.num_topics, 0);
    proto_check_bounds(buf, n, 5, of_parse, &resp);
}

static void test_offset_fetch_requests(void **state)
{
    (void)state;
    static const int32_t p0[] = {0};
    struct kp_offset_fetch_req_topic t = {
        .name = "t1", .partition_indexes = p0, .num_partitions = 1};
    struct kp_offset_fetch_req_group groups[] = {
        {.group_id = "g1", .all_topics = true},
        {.group_id = "g2", .topics = &t, .num_topics = 1},
    };
    struct kp_offset_fetch_req req = {.groups = groups, .num_groups = 2, .require_stable = true};
    uint8_t want[64], buf[64];
    size_t want_len =
        hex_decode("03 036731 00 00 036732 02 037431 02 00000000 00 00 01 00", want, sizeof want);
    kw w;
    size_t len;
    write_body(&w, buf, sizeof buf);
    assert_true(kp_offset_fetch_req_write(&w, 8, &req) && kw_finish(&w, &len));
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, len);
    // Below v8 exactly one group; require_stable needs v7.
    write_body(&w, buf, sizeof buf);
    assert_false(kp_offset_fetch_req_write(&w, 7, &req));
    req.num_groups = 1;
    write_body(&w, buf, sizeof buf);
    assert_true(kp_offset_fetch_req_write(&w, 7, &req) && kw_finish(&w, &len));
    want_len = hex_decode("036731 00 01 00", want, sizeof want); // group, null topics, stable, tags
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, len);
    write_body(&w, buf, sizeof buf);
    assert_false(kp_offset_fetch_req_write(&w, 6, &req));
    // All topics (a null array) needs v2.
    req.require_stable = false;
    write_body(&w, buf, sizeof buf);
    assert_true(kp_offset_fetch_req_write(&w, 2, &req) && kw_finish(&w, &len));
    want_len = hex_decode("00026731 ffffffff", want, sizeof want);
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, len);
    write_body(&w, buf, sizeof buf);
    assert_false(kp_offset_fetch_req_write(&w, 1, &req));
}

// librdkafka's flexible OffsetFetch v7 request (from a fake broker advertising v7, see
// tests/golden/offset_fetch_req_v7.txt) and the v7 response it accepted.
static void test_offset_fetch_v7_librdkafka(void **state)
{
    (void)state;
    static const int32_t p0[] = {0};
    struct kp_offset_fetch_req_topic t = {
        .name = "t1", .partition_indexes = p0, .num_partitions = 1};
    struct kp_offset_fetch_req_group g = {.group_id = "g1", .topics = &t, .num_topics = 1};
    struct kp_offset_fetch_req req = {.groups = &g, .num_groups = 1, .require_stable = true};
    kw w;
    kw_init_grow(&w);
    size_t pos, len;
    assert_true(kp_req_begin(&w, KP_API_OFFSET_FETCH, 7, 2, "kcat-cap", &pos));
    assert_true(kp_offset_fetch_req_write(&w, 7, &req));
    assert_true(kp_req_end(&w, pos) && kw_finish(&w, &len));
    proto_golden_equal("offset_fetch_req_v7.bin", kw_data(&w), len);
    kw_cleanup(&w);

    struct guarded gd;
    kr body;
    proto_golden_resp("offset_fetch_resp_v7.bin", KP_API_OFFSET_FETCH, 7, &gd, &body);
    const uint8_t *b = body.p;
    size_t n = body.len;
    struct kp_offset_fetch_resp resp;
    assert_int_equal(kp_offset_fetch_resp_parse(&body, 7, &resp, NULL), KP_OK);
    struct kp_offset_fetch_iter gi, ti, pi;
    struct kp_offset_fetch_group grp;
    struct kp_offset_fetch_topic topic;
    struct kp_offset_fetch_partition part;
    kp_offset_fetch_groups(&resp, &gi);
    assert_true(kp_offset_fetch_next_group(&gi, &grp));
    assert_int_equal(grp.error_code, 0);
    kp_offset_fetch_topics(&gi, &grp, &ti);
    assert_true(kp_offset_fetch_next_topic(&ti, &topic));
    assert_view(&topic.name, "t1");
    kp_offset_fetch_partitions(&ti, &topic, &pi);
    assert_true(kp_offset_fetch_next_partition(&pi, &part));
    assert_int_equal(part.partition_index, 0);
    assert_int_equal(part.committed_offset, 5);
    assert_int_equal(part.committed_leader_epoch, -1);
    assert_true(part.metadata_null);
    assert_false(kp_offset_fetch_next_partition(&pi, &part));
    proto_check_bounds(b, n, 7, of_parse, &resp);
    guarded_free(&gd);
}

// ---- OffsetCommit -----------------------------------------------------------------------------

static void test_offset_commit_v7_golden(void **state)
{
    (void)state;
    struct kp_offset_commit_req_partition p = {.partition_index = 0,
                                               .committed_offset = 3,
                                               .committed_leader_epoch = -1,
                                               .committed_metadata = ""};
    struct kp_offset_commit_req_topic t = {.name = "t1", .partitions = &p, .num_partitions = 1};
    struct kp_offset_commit_req req = {.group_id = "grp1",
                                       .generation_id = 2,
                                       .member_id = kcat_member,
                                       .retention_time_ms = -1,
                                       .topics = &t,
                                       .num_topics = 1};
    kw w;
    kw_init_grow(&w);
    size_t pos, len;
    assert_true(kp_req_begin(&w, KP_API_OFFSET_COMMIT, 7, 13, "kcat-cap", &pos));
    assert_true(kp_offset_commit_req_write(&w, 7, &req));
    assert_true(kp_req_end(&w, pos) && kw_finish(&w, &len));
    proto_golden_equal("offset_commit_req_v7.bin", kw_data(&w), len);
    kw_cleanup(&w);

    struct guarded g;
    kr body;
    proto_golden_resp("offset_commit_resp_v7.bin", KP_API_OFFSET_COMMIT, 7, &g, &body);
    const uint8_t *b = body.p;
    size_t n = body.len;
    struct kp_offset_commit_resp resp;
    assert_int_equal(kp_offset_commit_resp_parse(&body, 7, &resp, NULL), KP_OK);
    assert_int_equal(resp.throttle_time_ms, 0);
    assert_int_equal(resp.num_topics, 1);
    struct kp_offset_commit_iter ti, pi;
    struct kp_offset_commit_topic topic;
    struct kp_offset_commit_partition part;
    kp_offset_commit_topics(&resp, &ti);
    assert_true(kp_offset_commit_next_topic(&ti, &topic));
    assert_view(&topic.name, "t1");
    kp_offset_commit_partitions(&ti, &topic, &pi);
    assert_true(kp_offset_commit_next_partition(&pi, &part));
    assert_int_equal(part.partition_index, 0);
    assert_int_equal(part.error_code, 0);
    assert_false(kp_offset_commit_next_partition(&pi, &part));
    assert_false(kp_offset_commit_next_topic(&ti, &topic));
    proto_check_bounds(b, n, 7, oc_parse, &resp);
    guarded_free(&g);
}

static void test_offset_commit_versions(void **state)
{
    (void)state;
    struct kp_offset_commit_req_partition p = {.partition_index = 1,
                                               .committed_offset = 100,
                                               .committed_leader_epoch = 5,
                                               .committed_metadata = ""};
    struct kp_offset_commit_req_topic t = {.name = "t1", .partitions = &p, .num_partitions = 1};
    struct kp_offset_commit_req req = {.group_id = "g",
                                       .generation_id = 1,
                                       .member_id = "m",
                                       .retention_time_ms = -1,
                                       .topics = &t,
                                       .num_topics = 1};
    uint8_t want[64], buf[64];
    kw w;
    size_t len;
    // v9 (flexible).
    size_t want_len = hex_decode("0267 00000001 026d 00 02 037431 02 00000001 0000000000000064"
                                 "00000005 01 00 00 00",
                                 want, sizeof want);
    write_body(&w, buf, sizeof buf);
    assert_true(kp_offset_commit_req_write(&w, 9, &req) && kw_finish(&w, &len));
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, len);
    // v2: retention time, no leader epoch, no instance id.
    want_len = hex_decode("000167 00000001 00016d ffffffffffffffff 00000001 00027431 00000001"
                          "00000001 0000000000000064 0000",
                          want, sizeof want);
    write_body(&w, buf, sizeof buf);
    assert_true(kp_offset_commit_req_write(&w, 2, &req) && kw_finish(&w, &len));
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, len);
    // A static member needs v7.
    req.group_instance_id = "i";
    write_body(&w, buf, sizeof buf);
    assert_false(kp_offset_commit_req_write(&w, 6, &req));
    write_body(&w, buf, sizeof buf);
    assert_false(kp_offset_commit_req_write(&w, 1, &req));

    // v9 response: t1 [p0 ok, p1 OFFSET_METADATA_TOO_LARGE (12)].
    size_t n = hex_decode("00000000 02 037431 03 00000000 0000 00 00000001 000c 00 00 00", buf,
                          sizeof buf);
    kr body;
    kr_init(&body, buf, n);
    struct kp_offset_commit_resp resp;
    assert_int_equal(kp_offset_commit_resp_parse(&body, 9, &resp, NULL), KP_OK);
    struct kp_offset_commit_iter ti, pi;
    struct kp_offset_commit_topic topic;
    struct kp_offset_commit_partition part;
    kp_offset_commit_topics(&resp, &ti);
    assert_true(kp_offset_commit_next_topic(&ti, &topic));
    assert_int_equal(topic.num_partitions, 2);
    kp_offset_commit_partitions(&ti, &topic, &pi);
    assert_true(kp_offset_commit_next_partition(&pi, &part));
    assert_true(kp_offset_commit_next_partition(&pi, &part));
    assert_int_equal(part.partition_index, 1);
    assert_int_equal(part.error_code, 12);
    proto_check_bounds(buf, n, 9, oc_parse, &resp);
    // A failure inside a partition names its field: p1 claims 5 tagged fields.
    struct kp_err err = {0};
    buf[22] = 0x05;
    kr_init(&body, buf, n);
    assert_int_equal(kp_offset_commit_resp_parse(&body, 9, &resp, &err), KP_ERR_TRUNCATED);
    assert_string_equal(err.field, "topics.partitions.tagged_fields");
    assert_int_equal(err.offset, 23);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offset_fetch_v5_request_matches_kcat),
        cmocka_unit_test(test_offset_fetch_v5_response_from_mock),
        cmocka_unit_test(test_offset_fetch_v8_response_groups),
        cmocka_unit_test(test_offset_fetch_v6_response_flexible_single),
        cmocka_unit_test(test_offset_fetch_mock_null_topics),
        cmocka_unit_test(test_offset_fetch_requests),
        cmocka_unit_test(test_offset_fetch_v7_librdkafka),
        cmocka_unit_test(test_offset_commit_v7_golden),
        cmocka_unit_test(test_offset_commit_versions),
    };
    return cmocka_run_group_tests_name("offsets", tests, NULL, NULL);
}
