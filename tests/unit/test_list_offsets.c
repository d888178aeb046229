// test_list_offsets.c: ListOffsets v1-7 request writer and response parser.
#include "proto/api.h"
#include "proto/list_offsets.h"
#include "tests/lib/golden.h"
#include "tests/lib/proto_check.h"
#include "tests/lib/unit.h"

#include <string.h>

static enum kp_status parse_cb(kr *body, int16_t version, void *ctx, struct kp_err *err)
{
    return kp_list_offsets_resp_parse(body, version, ctx, err);
}

// first_partition parses |len| bytes at |p| as |version| and returns the first partition of
// the first topic, checking there is exactly one of each.
static void first_partition(const uint8_t *p, size_t len, int16_t version, const char *topic,
                            struct kp_list_offsets_partition *out)
{
    struct guarded g;
    guarded_copy(&g, p, len);
    kr body;
    kr_init(&body, g.data, g.len);
    struct kp_list_offsets_resp resp;
    struct kp_err err = {0};
    if (kp_list_offsets_resp_parse(&body, version, &resp, &err) != KP_OK) {
        fail_msg("v%d: %s at %zu", version, err.field, err.offset);
    }
    assert_int_equal(resp.num_topics, 1);
    struct kp_list_offsets_iter ti, pi;
    struct kp_list_offsets_topic t;
    kp_list_offsets_topics(&resp, &ti);
    assert_true(kp_list_offsets_next_topic(&ti, &t));
    assert_true(kr_eq_cstr(&t.name, topic));
    assert_int_equal(t.num_partitions, 1);
    kp_list_offsets_partitions(&ti, &t, &pi);
    assert_true(kp_list_offsets_next_partition(&pi, out));
    struct kp_list_offsets_partition extra;
    assert_false(kp_list_offsets_next_partition(&pi, &extra));
    assert_false(kp_list_offsets_next_topic(&ti, &t));
    guarded_free(&g);
    proto_check_bounds(p, len, version, parse_cb, &resp);
}

static void test_mock_v2(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "list_offsets_resp_v2.bin");
    kr body;
    kr_init(&body, g.data + 4, g.len - 4);
    int32_t corr;
    assert_int_equal(kp_resp_hdr_parse(&body, KP_API_LIST_OFFSETS, 2, &corr, NULL), KP_OK);
    struct kp_list_offsets_partition p;
    first_partition(body.p, body.len, 2, "golden", &p);
    assert_int_equal(p.partition_index, 0);
    assert_int_equal(p.error_code, 0);
    assert_int_equal(p.timestamp, -1);
    assert_int_equal(p.offset, 0); // earliest offset of a fresh partition
    assert_int_equal(p.leader_epoch, -1);
    guarded_free(&g);
}

// golden_body loads a captured response frame and returns a view of its body (header v0).
static kr golden_body(struct guarded *g, const char *name)
{
    golden_load_guarded(g, name);
    kr body;
    kr_init(&body, g->data + 4, g->len - 4);
    int32_t corr;
    assert_int_equal(kp_resp_hdr_parse(&body, KP_API_LIST_OFFSETS, 1, &corr, NULL), KP_OK);
    return body;
}

static void test_mock_captures(void **state)
{
    (void)state;
    const char *resp_files[] = {"list_offsets_resp_v1.bin", "list_offsets_resp_v3.bin"};
    const int16_t versions[] = {1, 3};
    for (size_t i = 0; i < 2; i++) {
        struct guarded g;
        kr body = golden_body(&g, resp_files[i]);
        struct kp_list_offsets_partition p;
        first_partition(body.p, body.len, versions[i], "cap", &p);
        assert_int_equal(p.partition_index, 0);
        assert_int_equal(p.error_code, 0);
        assert_int_equal(p.timestamp, -1);
        assert_int_equal(p.offset, 3); // KP_OFFSET_LATEST after three records
        guarded_free(&g);
    }
    // The mock's v4 answer carries an int64 LeaderEpoch: rejected, as the schema says.
    struct guarded g;
    kr body = golden_body(&g, "list_offsets_resp_v4.bin");
    struct kp_list_offsets_resp resp;
    struct kp_err err = {0};
    assert_int_equal(kp_list_offsets_resp_parse(&body, 4, &resp, &err), KP_ERR_MALFORMED);
    guarded_free(&g);

    // The requests behind them, written by the capture script from the schema.
    const char *req_files[] = {"list_offsets_req_v1.bin", "list_offsets_req_v3.bin",
                               "list_offsets_req_v4.bin"};
    const int16_t req_versions[] = {1, 3, 4};
    struct kp_list_offsets_req_partition part = {0, -1, KP_OFFSET_LATEST};
    struct kp_list_offsets_req_topic topic = {"cap", &part, 1};
    struct kp_list_offsets_req req = {KP_READ_UNCOMMITTED, &topic, 1};
    for (size_t i = 0; i < 3; i++) {
        golden_load_guarded(&g, req_files[i]);
        kr r;
        kr_init(&r, g.data + 4, g.len - 4);
        struct kp_req_hdr hdr;
        assert_int_equal(kp_req_hdr_parse(&r, &hdr, NULL), KP_OK);
        kw w;
        kw_init_grow(&w);
        size_t pos, len;
        assert_true(kp_req_begin(&w, KP_API_LIST_OFFSETS, req_versions[i], hdr.correlation_id,
                                 "kesm-capture", &pos));
        assert_true(kp_list_offsets_req_write(&w, req_versions[i], &req));
        assert_true(kp_req_end(&w, pos));
        assert_true(kw_finish(&w, &len));
        assert_int_equal(len, g.len);
        assert_memory_equal(kw_data(&w), g.data, len);
        kw_cleanup(&w);
        guarded_free(&g);
    }
}

static void test_versions(void **state)
{
    (void)state;
    uint8_t buf[128];
    struct kp_list_offsets_partition p;
    // v1: no throttle time.
    size_t len = hex_decode("00000001 0001 74 00000001 00000003 0000"
                            "ffffffffffffffff 000000000000002a",
                            buf, sizeof buf);
    first_partition(buf, len, 1, "t", &p);
    assert_int_equal(p.partition_index, 3);
    assert_int_equal(p.offset, 42);
    // v4: leader epoch.
    len = hex_decode("00000000 00000001 0001 74 00000001 00000003 004e"
                     "00000000000003e8 000000000000002a 00000009",
                     buf, sizeof buf);
    first_partition(buf, len, 4, "t", &p);
    assert_int_equal(p.error_code, 78);
    assert_int_equal(p.timestamp, 1000);
    assert_int_equal(p.leader_epoch, 9);
    // v6 and v7: flexible.
    len = hex_decode("00000005 02 02 74 02 00000003 0000"
                     "ffffffffffffffff 0000000000000064 00000002 00 00 00",
                     buf, sizeof buf);
    first_partition(buf, len, 6, "t", &p);
    assert_int_equal(p.offset, 100);
    assert_int_equal(p.leader_epoch, 2);
    first_partition(buf, len, 7, "t", &p);
    assert_int_equal(p.offset, 100);
}

static void test_mock_v4_quirk_rejected(void **state)
{
    (void)state;
    // The librdkafka 2.0.2 mock writes LeaderEpoch as an int64 in v4/v5: four bytes too many.
    uint8_t buf[64];
    size_t len = hex_decode("00000000 00000001 0001 74 00000001 00000000 0000"
                            "ffffffffffffffff 0000000000000000 0000000000000000",
                            buf, sizeof buf);
    kr body;
    kr_init(&body, buf, len);
    struct kp_list_offsets_resp resp;
    struct kp_err err = {0};
    assert_int_equal(kp_list_offsets_resp_parse(&body, 4, &resp, &err), KP_ERR_MALFORMED);
    assert_string_equal(err.field, "end of body");
    kr_init(&body, buf, len);
    assert_int_equal(kp_list_offsets_resp_parse(&body, 8, &resp, &err), KP_ERR_VERSION);
    kr_init(&body, buf, len);
    assert_int_equal(kp_list_offsets_resp_parse(&body, 0, &resp, &err), KP_ERR_VERSION);
}

static void write_check(int16_t version, const struct kp_list_offsets_req *req,
                        const char *want_hex)
{
    uint8_t want[96], buf[96];
    size_t want_len = hex_decode(want_hex, want, sizeof want);
    kw w;
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_list_offsets_req_write(&w, version, req));
    assert_int_equal(kw_len(&w), want_len);
    assert_memory_equal(buf, want, want_len);
}

static bool write_fails(int16_t version, const struct kp_list_offsets_req *req)
{
    uint8_t buf[96];
    kw w;
    kw_init_fixed(&w, buf, sizeof buf);
    return !kp_list_offsets_req_write(&w, version, req) && !kw_ok(&w);
}

static void test_request_writer(void **state)
{
    (void)state;
    struct guarded g;
    golden_load_guarded(&g, "list_offsets_req_v2.bin");
    struct kp_list_offsets_req_partition part = {0, -1, KP_OFFSET_EARLIEST};
    struct kp_list_offsets_req_topic topic = {"golden", &part, 1};
    struct kp_list_offsets_req req = {KP_READ_COMMITTED, &topic, 1};
    kw w;
    kw_init_grow(&w);
    size_t pos, len;
    assert_true(kp_req_begin(&w, KP_API_LIST_OFFSETS, 2, 5, "rdkafka", &pos));
    assert_true(kp_list_offsets_req_write(&w, 2, &req));
    assert_true(kp_req_end(&w, pos));
    assert_true(kw_finish(&w, &len));
    assert_int_equal(len, g.len);
    assert_memory_equal(kw_data(&w), g.data, len);
    kw_cleanup(&w);
    guarded_free(&g);

    struct kp_list_offsets_req_partition p = {3, 7, KP_OFFSET_LATEST};
    struct kp_list_offsets_req_topic t = {"t", &p, 1};
    struct kp_list_offsets_req r = {KP_READ_UNCOMMITTED, &t, 1};
    write_check(1, &r, "ffffffff 00000001 0001 74 00000001 00000003 ffffffffffffffff");
    write_check(4, &r, "ffffffff 00 00000001 0001 74 00000001 00000003 00000007 ffffffffffffffff");
    write_check(6, &r, "ffffffff 00 02 02 74 02 00000003 00000007 ffffffffffffffff 00 00 00");
    p.timestamp = KP_OFFSET_MAX_TIMESTAMP;
    write_check(7, &r, "ffffffff 00 02 02 74 02 00000003 00000007 fffffffffffffffd 00 00 00");
    assert_true(write_fails(6, &r)); // MAX_TIMESTAMP needs v7
    p.timestamp = -4;
    assert_true(write_fails(7, &r)); // EARLIEST_LOCAL (v8+) is not in our range
    p.timestamp = 1700000000000;
    write_check(3, &r, "ffffffff 00 00000001 0001 74 00000001 00000003 0000018bcfe56800");
    assert_true(write_fails(1, &req)); // read_committed needs v2
    assert_true(write_fails(0, &r));
    assert_true(write_fails(8, &r));
    t.name = NULL;
    assert_true(write_fails(2, &r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mock_v2),        cmocka_unit_test(test_mock_captures),
        cmocka_unit_test(test_versions),       cmocka_unit_test(test_mock_v4_quirk_rejected),
        cmocka_unit_test(test_request_writer),
    };
    return cmocka_run_group_tests_name("list_offsets", tests, NULL, NULL);
}
