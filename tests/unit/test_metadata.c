// test_metadata.c: Metadata v1-12 request writer and response parser.
#include "proto/api.h"
#include "proto/metadata.h"
#include "tests/lib/golden.h"
#include "tests/lib/proto_check.h"
#include "tests/lib/unit.h"

#include <string.h>

static enum kp_status parse_cb(kr *body, int16_t version, void *ctx, struct kp_err *err)
{
    return kp_metadata_resp_parse(body, version, ctx, err);
}

// body_of skips the size prefix and response header of a captured frame.
static kr body_of(const struct guarded *g, int16_t version)
{
    kr r;
    kr_init(&r, g->data + 4, g->len - 4);
    int32_t corr;
    assert_int_equal(kp_resp_hdr_parse(&r, KP_API_METADATA, version, &corr, NULL), KP_OK);
    return r;
}

static void test_mock_v2(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "metadata_resp_v2.bin");
    kr body = body_of(&g, 2);
    kr copy = body;
    struct kp_metadata_resp resp;
    struct kp_err err = {0};
    assert_int_equal(kp_metadata_resp_parse(&body, 2, &resp, &err), KP_OK);
    assert_int_equal(resp.throttle_time_ms, 0);
    assert_int_equal(resp.num_brokers, 1);
    assert_false(resp.cluster_id_null);
    assert_true(kr_eq_cstr(&resp.cluster_id, "mockCluster156934898ad8"));
    assert_int_equal(resp.controller_id, 0); // the mock's constant
    assert_int_equal(resp.cluster_authorized_operations, KP_METADATA_NO_AUTH_OPS);

    struct kp_metadata_iter bi;
    struct kp_metadata_broker b;
    kp_metadata_brokers(&resp, &bi);
    assert_true(kp_metadata_next_broker(&bi, &b));
    assert_int_equal(b.node_id, 1);
    assert_true(kr_eq_cstr(&b.host, "127.0.0.1"));
    assert_int_equal(b.port, 36117);
    assert_true(b.rack_null);
    assert_false(kp_metadata_next_broker(&bi, &b));

    assert_int_equal(resp.num_topics, 1);
    struct kp_metadata_iter ti, pi;
    struct kp_metadata_topic t;
    struct kp_metadata_partition p;
    kp_metadata_topics(&resp, &ti);
    assert_true(kp_metadata_next_topic(&ti, &t));
    assert_int_equal(t.error_code, 0);
    assert_true(kr_eq_cstr(&t.name, "golden"));
    assert_false(t.name_null);
    assert_false(t.is_internal);
    static const uint8_t zero[16];
    assert_memory_equal(t.topic_id, zero, 16);
    assert_int_equal(t.topic_authorized_operations, KP_METADATA_NO_AUTH_OPS);
    assert_int_equal(t.num_partitions, 4);
    kp_metadata_partitions(&ti, &t, &pi);
    for (int32_t i = 0; i < 4; i++) {
        assert_true(kp_metadata_next_partition(&pi, &p));
        assert_int_equal(p.error_code, 0);
        assert_int_equal(p.partition_index, i);
        assert_int_equal(p.leader_id, 1);
        assert_int_equal(p.leader_epoch, -1);
        assert_int_equal(p.num_replicas, 1);
        assert_int_equal(kp_metadata_node(&p.replica_nodes, 0), 1);
        assert_int_equal(kp_metadata_node(&p.replica_nodes, 1), -1); // out of range
        assert_int_equal(p.num_isr, 1);
        assert_int_equal(kp_metadata_node(&p.isr_nodes, 0), 1);
        assert_int_equal(p.num_offline, 0);
    }
    assert_false(kp_metadata_next_partition(&pi, &p));
    assert_false(kp_metadata_next_topic(&ti, &t));

    proto_check_bounds(copy.p, copy.len, 2, parse_cb, &resp);
    // As v1 the cluster id is absent, so the same bytes do not parse.
    body = copy;
    assert_int_not_equal(kp_metadata_resp_parse(&body, 1, &resp, &err), KP_OK);
    guarded_free(&g);
}

// frame_equals checks that |w| holds exactly the bytes of golden file |name|.
static void frame_equals(kw *w, const char *name)
{
    struct guarded g;
    golden_load_guarded(&g, name);
    size_t len;
    assert_true(kw_finish(w, &len));
    assert_int_equal(len, g.len);
    assert_memory_equal(kw_data(w), g.data, len);
    guarded_free(&g);
}

static void test_mock_v1(void **state)
{
    (void)state;
    const char *files[] = {"metadata_resp_v1.bin", "metadata_resp_v1_all.bin"};
    for (size_t f = 0; f < 2; f++) {
        struct guarded g;
        golden_load_guarded(&g, files[f]);
        kr body = body_of(&g, 1);
        kr copy = body;
        struct kp_metadata_resp resp;
        assert_int_equal(kp_metadata_resp_parse(&body, 1, &resp, NULL), KP_OK);
        assert_true(resp.cluster_id_null); // no ClusterId before v2
        assert_int_equal(resp.controller_id, 0);
        assert_int_equal(resp.num_brokers, 1);
        struct kp_metadata_iter it, pi;
        struct kp_metadata_broker b;
        kp_metadata_brokers(&resp, &it);
        assert_true(kp_metadata_next_broker(&it, &b));
        assert_int_equal(b.node_id, 1);
        assert_true(b.rack_null);
        struct kp_metadata_topic t;
        struct kp_metadata_partition p;
        kp_metadata_topics(&resp, &it);
        assert_true(kp_metadata_next_topic(&it, &t));
        assert_true(kr_eq_cstr(&t.name, "cap"));
        assert_false(t.is_internal);
        assert_int_equal(t.num_partitions, 1);
        kp_metadata_partitions(&it, &t, &pi);
        assert_true(kp_metadata_next_partition(&pi, &p));
        assert_int_equal(p.leader_id, 1);
        assert_int_equal(kp_metadata_node(&p.isr_nodes, 0), 1);
        assert_false(kp_metadata_next_topic(&it, &t));
        proto_check_bounds(copy.p, copy.len, 1, parse_cb, &resp);
        guarded_free(&g);
    }
    // The requests that produced them (written by the capture script from the schema).
    struct kp_metadata_req_topic topic = {"cap", NULL};
    struct kp_metadata_req one = {
        .topics = &topic, .num_topics = 1, .allow_auto_topic_creation = true};
    struct kp_metadata_req all = {.all_topics = true, .allow_auto_topic_creation = true};
    const struct kp_metadata_req *reqs[] = {&one, &all};
    const char *req_files[] = {"metadata_req_v1.bin", "metadata_req_v1_all.bin"};
    for (size_t f = 0; f < 2; f++) {
        struct guarded g;
        golden_load_guarded(&g, req_files[f]);
        kr r;
        kr_init(&r, g.data + 4, g.len - 4);
        struct kp_req_hdr hdr;
        assert_int_equal(kp_req_hdr_parse(&r, &hdr, NULL), KP_OK);
        kw w;
        kw_init_grow(&w);
        size_t pos;
        assert_true(kp_req_begin(&w, KP_API_METADATA, 1, hdr.correlation_id, "kesm-capture", &pos));
        assert_true(kp_metadata_req_write(&w, 1, reqs[f]));
        assert_true(kp_req_end(&w, pos));
        frame_equals(&w, req_files[f]);
        kw_cleanup(&w);
        guarded_free(&g);
    }
}

// v12 (flexible, topic ids, leader epochs, offline replicas, null name), from
// MetadataResponse.json.
static const char v12_hex[] =
    "00000000"                         // ThrottleTimeMs
    "02"                               // Brokers: 1
    "00000001 03 6231 00002384 00 00"  // 1, "b1", 9092, rack null, tags
    "07 636c73747231"                  // ClusterId "clstr1"
    "00000001"                         // ControllerId 1
    "03"                               // Topics: 2
    "0000 07 6f7264657273"             // error 0, "orders"
    "0102030405060708090a0b0c0d0e0f10" // TopicId
    "00"                               // IsInternal
    "02"                               // Partitions: 1
    "0000 00000000 00000001 00000005"  // error, index 0, leader 1, epoch 5
    "02 00000001 02 00000001 01 00"    // replicas [1], isr [1], offline [], tags
    "80000000 00"                      // TopicAuthorizedOperations, tags
    "0064 00"                          // error 100 UNKNOWN_TOPIC_ID, name null
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "00 01 80000000 00" // not internal, no partitions
    "01 05 02 abcd";    // tags: unknown tag 5, 2 bytes

static void test_v12(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t len = hex_decode(v12_hex, buf, sizeof buf);
    struct guarded g;
    guarded_copy(&g, buf, len);
    kr body;
    kr_init(&body, g.data, g.len);
    struct kp_metadata_resp resp;
    struct kp_err err = {0};
    assert_int_equal(kp_metadata_resp_parse(&body, 12, &resp, &err), KP_OK);
    assert_true(kr_eq_cstr(&resp.cluster_id, "clstr1"));
    assert_int_equal(resp.controller_id, 1);
    struct kp_metadata_iter it, pi;
    struct kp_metadata_broker b;
    kp_metadata_brokers(&resp, &it);
    assert_true(kp_metadata_next_broker(&it, &b));
    assert_true(kr_eq_cstr(&b.host, "b1"));
    assert_int_equal(b.port, 9092);
    assert_true(b.rack_null);
    struct kp_metadata_topic t;
    struct kp_metadata_partition p;
    kp_metadata_topics(&resp, &it);
    assert_true(kp_metadata_next_topic(&it, &t));
    assert_true(kr_eq_cstr(&t.name, "orders"));
    assert_int_equal(t.topic_id[0], 1);
    assert_int_equal(t.topic_id[15], 0x10);
    assert_int_equal(t.topic_authorized_operations, INT32_MIN);
    kp_metadata_partitions(&it, &t, &pi);
    assert_true(kp_metadata_next_partition(&pi, &p));
    assert_int_equal(p.leader_epoch, 5);
    assert_int_equal(p.num_offline, 0);
    assert_false(kp_metadata_next_partition(&pi, &p));
    assert_true(kp_metadata_next_topic(&it, &t));
    assert_int_equal(t.error_code, 100);
    assert_true(t.name_null);
    assert_int_equal(t.topic_id[7], 0xaa);
    assert_int_equal(t.num_partitions, 0);
    assert_false(kp_metadata_next_topic(&it, &t));
    proto_check_bounds(buf, len, 12, parse_cb, &resp);
    // A null topic name is not allowed before v12.
    kr_init(&body, g.data, g.len);
    assert_int_equal(kp_metadata_resp_parse(&body, 11, &resp, &err), KP_ERR_MALFORMED);
    assert_string_equal(err.field, "topics.name");
    guarded_free(&g);
}

// v9: flexible, no topic ids, cluster authorized operations present (v8-10).
static const char v9_hex[] = "00000000 01 00 ffffffff"    // throttle, no brokers, cluster id null,
                                                          // controller -1
                             "02 0003 07 6f7264657273 01" // 1 topic: error 3, "orders", internal
                             "02 0006 00000002 ffffffff 00000007" // error 6, index 2, no leader,
                                                                  // epoch 7
                             "03 00000001 00000002 01 02 00000002 00" // replicas [1,2], isr [],
                                                                      // offline [2]
                             "00000008 00"                            // topic auth ops 8, tags
                             "00000010 00";                           // cluster auth ops 16, tags

static void test_v9(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t len = hex_decode(v9_hex, buf, sizeof buf);
    struct kp_metadata_resp resp;
    kr body;
    kr_init(&body, buf, len);
    assert_int_equal(kp_metadata_resp_parse(&body, 9, &resp, NULL), KP_OK);
    assert_int_equal(resp.num_brokers, 0);
    assert_true(resp.cluster_id_null);
    assert_int_equal(resp.controller_id, -1);
    assert_int_equal(resp.cluster_authorized_operations, 16);
    struct kp_metadata_iter it, pi;
    struct kp_metadata_topic t;
    struct kp_metadata_partition p;
    kp_metadata_topics(&resp, &it);
    assert_true(kp_metadata_next_topic(&it, &t));
    assert_int_equal(t.error_code, 3);
    assert_true(t.is_internal);
    assert_int_equal(t.topic_authorized_operations, 8);
    kp_metadata_partitions(&it, &t, &pi);
    assert_true(kp_metadata_next_partition(&pi, &p));
    assert_int_equal(p.error_code, 6);
    assert_int_equal(p.partition_index, 2);
    assert_int_equal(p.leader_id, -1);
    assert_int_equal(p.leader_epoch, 7);
    assert_int_equal(p.num_replicas, 2);
    assert_int_equal(kp_metadata_node(&p.replica_nodes, 1), 2);
    assert_int_equal(p.num_isr, 0);
    assert_int_equal(p.num_offline, 1);
    assert_int_equal(kp_metadata_node(&p.offline_replicas, 0), 2);
    proto_check_bounds(buf, len, 9, parse_cb, &resp);
    // v11 has no cluster authorized operations: four bytes left over.
    kr_init(&body, buf, len);
    assert_int_equal(kp_metadata_resp_parse(&body, 11, &resp, NULL), KP_ERR_MALFORMED);
}

static void test_bad_input(void **state)
{
    (void)state;
    uint8_t buf[64];
    struct kp_metadata_resp resp;
    struct kp_err err = {0};
    kr body;
    size_t len = hex_decode("00000000 00000000 ffff ffffffff 00000000", buf, sizeof buf);
    kr_init(&body, buf, len);
    assert_int_equal(kp_metadata_resp_parse(&body, 0, &resp, &err), KP_ERR_VERSION);
    kr_init(&body, buf, len);
    assert_int_equal(kp_metadata_resp_parse(&body, 13, &resp, &err), KP_ERR_VERSION);
    // A negative broker count.
    len = hex_decode("ffffffff", buf, sizeof buf);
    kr_init(&body, buf, len);
    assert_int_equal(kp_metadata_resp_parse(&body, 1, &resp, &err), KP_ERR_MALFORMED);
    assert_string_equal(err.field, "brokers");
    // A replica count larger than the bytes left.
    len = hex_decode("00000000 ffffffff 00000001 0000 0001 61 00 00000001"
                     "0000 00000000 00000001 00000005 00000001 00000001",
                     buf, sizeof buf);
    kr_init(&body, buf, len);
    assert_int_equal(kp_metadata_resp_parse(&body, 1, &resp, &err), KP_ERR_TRUNCATED);
    assert_string_equal(err.field, "topics.partitions.replica_nodes");
    assert_int_equal(err.offset, 36); // just after the count
}

static void write_check(int16_t version, const struct kp_metadata_req *req, const char *want_hex)
{
    uint8_t want[128], buf[128];
    size_t want_len = hex_decode(want_hex, want, sizeof want);
    kw w;
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_metadata_req_write(&w, version, req));
    size_t len;
    assert_true(kw_finish(&w, &len));
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, len);
}

static bool write_fails(int16_t version, const struct kp_metadata_req *req)
{
    uint8_t buf[128];
    kw w;
    kw_init_fixed(&w, buf, sizeof buf);
    return !kp_metadata_req_write(&w, version, req) && !kw_ok(&w);
}

static void test_request_writer_matches_kcat(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "metadata_req_v2.bin");
    struct kp_metadata_req_topic topic = {"golden", NULL};
    struct kp_metadata_req req = {
        .topics = &topic, .num_topics = 1, .allow_auto_topic_creation = true};
    kw w;
    kw_init_grow(&w);
    size_t pos, len;
    assert_true(kp_req_begin(&w, KP_API_METADATA, 2, 4, "rdkafka", &pos));
    assert_true(kp_metadata_req_write(&w, 2, &req));
    assert_true(kp_req_end(&w, pos));
    assert_true(kw_finish(&w, &len));
    assert_int_equal(len, g.len);
    assert_memory_equal(kw_data(&w), g.data, len);
    kw_cleanup(&w);
    guarded_free(&g);
}

static void test_request_writer_versions(void **state)
{
    (void)state;
    static const uint8_t id[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    struct kp_metadata_req_topic topics[] = {{"orders", id}, {NULL, NULL}};
    struct kp_metadata_req all = {.all_topics = true, .allow_auto_topic_creation = true};
    write_check(1, &all, "ffffffff");
    struct kp_metadata_req none = {.allow_auto_topic_creation = true};
    write_check(3, &none, "00000000");
    none.allow_auto_topic_creation = false;
    write_check(4, &none, "00000000 00");
    all.allow_auto_topic_creation = false;
    // null compact array, auto, cluster ops, topic ops, tags
    write_check(9, &all, "00 00 00 00 00");
    struct kp_metadata_req r = {.topics = topics,
                                .num_topics = 1,
                                .allow_auto_topic_creation = true,
                                .include_cluster_authorized_operations = true,
                                .include_topic_authorized_operations = true};
    write_check(8, &r, "00000001 0006 6f7264657273 01 01 01");
    write_check(10, &r, "02 0102030405060708090a0b0c0d0e0f10 07 6f7264657273 00 01 01 01 00");
    r.include_cluster_authorized_operations = false;
    r.num_topics = 2;
    write_check(12, &r,
                "03 0102030405060708090a0b0c0d0e0f10 07 6f7264657273 00"
                "00000000000000000000000000000000 00 00 01 01 00");
    // The topic id is ignorable: dropped before v10.
    r.num_topics = 1;
    write_check(9, &r, "02 07 6f7264657273 00 01 00 01 00");

    // Fields a version cannot carry fail the writer.
    assert_true(write_fails(0, &all));
    assert_true(write_fails(13, &all));
    assert_true(write_fails(3, &none)); // allow_auto_topic_creation false before v4
    r.include_cluster_authorized_operations = true;
    assert_true(write_fails(11, &r));
    r.include_cluster_authorized_operations = false;
    assert_true(write_fails(7, &r)); // include_topic_authorized_operations before v8
    r.include_topic_authorized_operations = false;
    r.topics = &topics[1];
    assert_true(write_fails(9, &r)); // null name before v10
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mock_v2),
        cmocka_unit_test(test_mock_v1),
        cmocka_unit_test(test_v12),
        cmocka_unit_test(test_v9),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_request_writer_matches_kcat),
        cmocka_unit_test(test_request_writer_versions),
    };
    return cmocka_run_group_tests_name("metadata", tests, NULL, NULL);
}
