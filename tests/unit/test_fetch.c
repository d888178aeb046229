// test_fetch.c: the Fetch codec. v11 against bytes captured from kcat and the librdkafka mock
// (tests/golden/fetch_*_v11.txt); v12 (flexible, tagged fields), v13 (topic ids) and v4 against
// frames built by hand from FetchRequest.json / FetchResponse.json.
#include "proto/api.h"
#include "proto/fetch.h"
#include "tests/lib/golden.h"
#include "tests/lib/proto_check.h"
#include "tests/lib/unit.h"

#include <string.h>

static void assert_view(const kr *v, const char *want)
{
    if (!kr_eq_cstr(v, want)) {
        fail_msg("view of %zu bytes is not \"%s\"", v->len, want);
    }
}

// find returns the first occurrence of |needle| in |hay|, or NULL.
static const uint8_t *find(const uint8_t *hay, size_t hay_len, const void *needle, size_t n)
{
    for (size_t i = 0; i + n <= hay_len; i++) {
        if (memcmp(hay + i, needle, n) == 0) {
            return hay + i;
        }
    }
    return NULL;
}

static enum kp_status fetch_parse(kr *b, int16_t v, void *ctx, struct kp_err *err)
{
    return kp_fetch_resp_parse(b, v, ctx, err);
}

static struct kp_fetch_req_partition part(int32_t p, int64_t offset)
{
    return (struct kp_fetch_req_partition){.partition = p,
                                           .current_leader_epoch = -1,
                                           .fetch_offset = offset,
                                           .last_fetched_epoch = -1,
                                           .log_start_offset = -1,
                                           .partition_max_bytes = 1048576};
}

static void test_fetch_v11_request_matches_kcat(void **state)
{
    (void)state;
    struct kp_fetch_req_partition parts[] = {part(3, 0), part(0, 0), part(1, 0), part(2, 0)};
    struct kp_fetch_req_topic t = {.topic = "t1", .partitions = parts, .num_partitions = 4};
    struct kp_fetch_req req = {.replica_id = -1,
                               .max_wait_ms = 500,
                               .min_bytes = 1,
                               .max_bytes = 52428800,
                               .isolation_level = 1, // librdkafka defaults to read_committed
                               .session_id = 0,
                               .session_epoch = -1,
                               .topics = &t,
                               .num_topics = 1};
    kw w;
    kw_init_grow(&w);
    size_t pos, len;
    assert_true(kp_req_begin(&w, KP_API_FETCH, 11, 12, "kcat-cap", &pos));
    assert_true(kp_fetch_req_write(&w, 11, &req));
    assert_true(kp_req_end(&w, pos) && kw_finish(&w, &len));
    proto_golden_equal("fetch_req_v11.bin", kw_data(&w), len);
    kw_cleanup(&w);
}

static void test_fetch_v11_response_from_mock(void **state)
{
    (void)state;
    struct guarded g;
    kr body;
    proto_golden_resp("fetch_resp_v11.bin", KP_API_FETCH, 11, &g, &body);
    const uint8_t *p = body.p;
    size_t n = body.len;
    struct kp_fetch_resp resp;
    assert_int_equal(kp_fetch_resp_parse(&body, 11, &resp, NULL), KP_OK);
    assert_int_equal(resp.throttle_time_ms, 0);
    assert_int_equal(resp.error_code, 0);
    assert_int_equal(resp.session_id, 0);
    assert_int_equal(resp.num_topics, 1);
    struct kp_fetch_iter ti, pi, ai;
    struct kp_fetch_topic topic;
    struct kp_fetch_partition fp;
    struct kp_fetch_aborted ab;
    kp_fetch_topics(&resp, &ti);
    assert_true(kp_fetch_next_topic(&ti, &topic));
    assert_view(&topic.topic, "t1");
    assert_int_equal(topic.num_partitions, 4);
    kp_fetch_partitions(&ti, &topic, &pi);
    static const int32_t order[] = {3, 0, 1, 2};
    for (int i = 0; i < 4; i++) {
        assert_true(kp_fetch_next_partition(&pi, &fp));
        assert_int_equal(fp.partition_index, order[i]);
        assert_int_equal(fp.error_code, 0);
        assert_int_equal(fp.high_watermark, order[i] == 0 ? 3 : 0);
        assert_int_equal(fp.last_stable_offset, fp.high_watermark);
        assert_int_equal(fp.log_start_offset, 0);
        assert_false(fp.aborted_null); // the mock sends an empty array
        assert_int_equal(fp.num_aborted, 0);
        kp_fetch_aborted_txns(&pi, &fp, &ai);
        assert_false(kp_fetch_next_aborted(&ai, &ab));
        assert_int_equal(fp.preferred_read_replica, -1);
        assert_false(fp.records_null);
        assert_false(fp.has_current_leader || fp.has_diverging_epoch || fp.has_snapshot_id);
        if (order[i] != 0) {
            assert_int_equal(fp.records.len, 0);
            continue;
        }
        // One magic-2 batch of 3 records: base offset 0, batch length 91, magic at byte 16.
        assert_int_equal(fp.records.len, 103);
        assert_true(fp.records.p > p && fp.records.p + fp.records.len <= p + n);
        kr rec = fp.records;
        int64_t base;
        int32_t batch_len;
        assert_true(kr_i64(&rec, &base) && kr_i32(&rec, &batch_len));
        assert_int_equal(base, 0);
        assert_int_equal(batch_len, 91);
        assert_int_equal(fp.records.p[16], 2);
        assert_non_null(find(fp.records.p, fp.records.len, "msg-3", 5));
    }
    assert_false(kp_fetch_next_partition(&pi, &fp));
    assert_false(kp_fetch_next_topic(&ti, &topic));
    proto_check_bounds(p, n, 11, fetch_parse, &resp);
    guarded_free(&g);
}

// Fetch v12 response with every tagged partition field, an unknown tag and aborted
// transactions, built from FetchResponse.json.
static const char fetch_v12_resp[] =
    "00000000 0000 00000001"                  // throttle, error, session 1
    "02 037431 02"                            // 1 topic "t1", 1 partition
    "00000000 0006"                           // partition 0, NOT_LEADER_OR_FOLLOWER
    "0000000000000064 0000000000000064"       // high watermark, LSO 100
    "0000000000000000"                        // log start offset
    "03 0000000000000007 0000000000000010 00" // 2 aborted: pid 7 @16,
    "0000000000000008 0000000000000020 00"    //            pid 8 @32
    "ffffffff 00"                             // preferred replica -1, records null
    "04"                                      // 4 tagged fields
    "00 0d 00000002 0000000000000050 00"      // tag 0 DivergingEpoch {2, 80}
    "01 09 00000003 00000009 00"              // tag 1 CurrentLeader {3, 9}
    "02 0d 0000000000000040 00000001 00"      // tag 2 SnapshotId {64, 1}
    "05 02 abcd"                              // tag 5: unknown, skipped
    "00 00";                                  // topic tags, top-level tags

static void test_fetch_v12_response_tags(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = hex_decode(fetch_v12_resp, buf, sizeof buf);
    struct guarded g;
    guarded_copy(&g, buf, n);
    kr body;
    kr_init(&body, g.data, g.len);
    struct kp_fetch_resp resp;
    assert_int_equal(kp_fetch_resp_parse(&body, 12, &resp, NULL), KP_OK);
    assert_int_equal(resp.session_id, 1);
    struct kp_fetch_iter ti, pi, ai;
    struct kp_fetch_topic topic;
    struct kp_fetch_partition fp;
    struct kp_fetch_aborted ab;
    kp_fetch_topics(&resp, &ti);
    assert_true(kp_fetch_next_topic(&ti, &topic));
    kp_fetch_partitions(&ti, &topic, &pi);
    assert_true(kp_fetch_next_partition(&pi, &fp));
    assert_int_equal(fp.error_code, 6);
    assert_int_equal(fp.high_watermark, 100);
    assert_true(fp.records_null);
    assert_int_equal(fp.records.len, 0);
    assert_true(fp.has_diverging_epoch);
    assert_int_equal(fp.diverging_epoch, 2);
    assert_int_equal(fp.diverging_end_offset, 80);
    assert_true(fp.has_current_leader);
    assert_int_equal(fp.current_leader_id, 3);
    assert_int_equal(fp.current_leader_epoch, 9);
    assert_true(fp.has_snapshot_id);
    assert_int_equal(fp.snapshot_end_offset, 64);
    assert_int_equal(fp.snapshot_epoch, 1);
    assert_int_equal(fp.num_aborted, 2);
    kp_fetch_aborted_txns(&pi, &fp, &ai);
    assert_true(kp_fetch_next_aborted(&ai, &ab));
    assert_int_equal(ab.producer_id, 7);
    assert_int_equal(ab.first_offset, 16);
    assert_true(kp_fetch_next_aborted(&ai, &ab));
    assert_int_equal(ab.producer_id, 8);
    assert_int_equal(ab.first_offset, 32);
    assert_false(kp_fetch_next_aborted(&ai, &ab));
    assert_false(kp_fetch_next_partition(&pi, &fp));
    proto_check_bounds(buf, n, 12, fetch_parse, &resp);
    guarded_free(&g);
}

static void test_fetch_v12_bad_tag_payload(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = hex_decode(fetch_v12_resp, buf, sizeof buf);
    // CurrentLeader's size says 9; make it 8 and drop one byte of its payload: the struct no
    // longer fits its payload, which is malformed (not truncated).
    const uint8_t *tag1 = find(buf, n, "\x01\x09\x00\x00\x00\x03", 6);
    assert_non_null(tag1);
    size_t at = (size_t)(tag1 - buf);
    buf[at + 1] = 0x08;
    memmove(buf + at + 9, buf + at + 10, n - at - 10);
    kr body;
    kr_init(&body, buf, n - 1);
    struct kp_fetch_resp resp;
    struct kp_err err = {0};
    assert_int_equal(kp_fetch_resp_parse(&body, 12, &resp, &err), KP_ERR_MALFORMED);
    assert_string_equal(err.field, "responses.partitions.current_leader");
    // Tags out of order are malformed too.
    n = hex_decode(fetch_v12_resp, buf, sizeof buf);
    const uint8_t *tag5 = find(buf, n, "\x05\x02\xab\xcd", 4);
    assert_non_null(tag5);
    buf[tag5 - buf] = 0x01;
    kr_init(&body, buf, n);
    assert_int_equal(kp_fetch_resp_parse(&body, 12, &resp, &err), KP_ERR_MALFORMED);
    assert_string_equal(err.field, "responses.partitions.tagged_fields");
}

static void test_fetch_v4_response(void **state)
{
    (void)state;
    // v4: throttle, 1 topic "t", partition 2 (OFFSET_OUT_OF_RANGE), HW 5, LSO 4, null aborted,
    // records of 3 bytes (a partial batch is the record decoder's business).
    uint8_t buf[128];
    size_t n = hex_decode("00000000 00000001 000174 00000001 00000002 0001 0000000000000005"
                          "0000000000000004 ffffffff 00000003 aabbcc",
                          buf, sizeof buf);
    kr body;
    kr_init(&body, buf, n);
    struct kp_fetch_resp resp;
    assert_int_equal(kp_fetch_resp_parse(&body, 4, &resp, NULL), KP_OK);
    struct kp_fetch_iter ti, pi;
    struct kp_fetch_topic topic;
    struct kp_fetch_partition fp;
    kp_fetch_topics(&resp, &ti);
    assert_true(kp_fetch_next_topic(&ti, &topic));
    kp_fetch_partitions(&ti, &topic, &pi);
    assert_true(kp_fetch_next_partition(&pi, &fp));
    assert_int_equal(fp.error_code, 1);
    assert_int_equal(fp.last_stable_offset, 4);
    assert_int_equal(fp.log_start_offset, -1); // not in v4
    assert_true(fp.aborted_null);
    assert_int_equal(fp.records.len, 3);
    proto_check_bounds(buf, n, 4, fetch_parse, &resp);
    // An aborted count that cannot fit is rejected before any loop.
    buf[37] = 0x7f;
    struct kp_err err = {0};
    kr_init(&body, buf, n);
    assert_int_equal(kp_fetch_resp_parse(&body, 4, &resp, &err), KP_ERR_TRUNCATED);
    assert_string_equal(err.field, "responses.partitions.aborted_transactions");
    assert_int_equal(err.offset, 41);
    // A negative count other than -1 (null) is malformed.
    buf[37] = 0xff;
    buf[40] = 0xfe;
    kr_init(&body, buf, n);
    assert_int_equal(kp_fetch_resp_parse(&body, 4, &resp, &err), KP_ERR_MALFORMED);
    assert_string_equal(err.field, "responses.partitions.aborted_transactions");
    kr_init(&body, buf, n);
    assert_int_equal(kp_fetch_resp_parse(&body, 3, &resp, &err), KP_ERR_VERSION);
    kr_init(&body, buf, n);
    assert_int_equal(kp_fetch_resp_parse(&body, 14, &resp, &err), KP_ERR_VERSION);
}

static const uint8_t tid[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01};

static void test_fetch_v13_topic_ids(void **state)
{
    (void)state;
    // Response v13: the topic is named by its id.
    uint8_t buf[128];
    size_t n = hex_decode("00000000 0000 00000000 02 112233445566778899aabbccddeeff01 02"
                          "00000001 0000 0000000000000002 0000000000000002 0000000000000000"
                          "01 ffffffff 01 00 00 00",
                          buf, sizeof buf);
    kr body;
    kr_init(&body, buf, n);
    struct kp_fetch_resp resp;
    assert_int_equal(kp_fetch_resp_parse(&body, 13, &resp, NULL), KP_OK);
    struct kp_fetch_iter ti, pi;
    struct kp_fetch_topic topic;
    struct kp_fetch_partition fp;
    kp_fetch_topics(&resp, &ti);
    assert_true(kp_fetch_next_topic(&ti, &topic));
    assert_memory_equal(topic.topic_id, tid, 16);
    assert_int_equal(topic.topic.len, 0);
    kp_fetch_partitions(&ti, &topic, &pi);
    assert_true(kp_fetch_next_partition(&pi, &fp));
    assert_int_equal(fp.partition_index, 1);
    assert_int_equal(fp.high_watermark, 2);
    assert_false(fp.records_null);
    assert_int_equal(fp.records.len, 0);
    proto_check_bounds(buf, n, 13, fetch_parse, &resp);
    // The same bytes as v12 read the id's first byte as a string length: no longer valid.
    kr_init(&body, buf, n);
    assert_int_not_equal(kp_fetch_resp_parse(&body, 12, &resp, NULL), KP_OK);

    // Request v13: ids in topics and forgotten topics; an all-zero id fails the writer.
    struct kp_fetch_req_partition p = part(1, 2);
    struct kp_fetch_req_topic t = {.partitions = &p, .num_partitions = 1};
    memcpy(t.topic_id, tid, 16);
    static const int32_t gone[] = {3};
    struct kp_fetch_req_forgotten f = {.partitions = gone, .num_partitions = 1};
    memcpy(f.topic_id, tid, 16);
    struct kp_fetch_req req = {.replica_id = -1,
                               .max_wait_ms = 500,
                               .min_bytes = 1,
                               .max_bytes = 1024,
                               .session_epoch = -1,
                               .topics = &t,
                               .num_topics = 1,
                               .forgotten = &f,
                               .num_forgotten = 1};
    uint8_t want[128];
    size_t want_len = hex_decode("ffffffff 000001f4 00000001 00000400 00 00000000 ffffffff"
                                 "02 112233445566778899aabbccddeeff01 02 00000001 ffffffff"
                                 "0000000000000002 ffffffff ffffffffffffffff 00100000 00 00"
                                 "02 112233445566778899aabbccddeeff01 02 00000003 00"
                                 "01 00",
                                 want, sizeof want);
    kw w;
    size_t len;
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_fetch_req_write(&w, 13, &req) && kw_finish(&w, &len));
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, len);
    memset(f.topic_id, 0, 16);
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_fetch_req_write(&w, 13, &req));
    // Names are still required up to v12.
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_fetch_req_write(&w, 12, &req));
}

static void test_fetch_v12_request(void **state)
{
    (void)state;
    struct kp_fetch_req_partition p = part(0, 10);
    p.current_leader_epoch = 4;
    p.last_fetched_epoch = 3;
    struct kp_fetch_req_topic t = {.topic = "t1", .partitions = &p, .num_partitions = 1};
    static const int32_t gone[] = {1, 2};
    struct kp_fetch_req_forgotten f = {.topic = "t2", .partitions = gone, .num_partitions = 2};
    struct kp_fetch_req req = {.replica_id = -1,
                               .max_wait_ms = 500,
                               .min_bytes = 1,
                               .max_bytes = 52428800,
                               .isolation_level = 1,
                               .session_id = 0,
                               .session_epoch = -1,
                               .topics = &t,
                               .num_topics = 1,
                               .forgotten = &f,
                               .num_forgotten = 1,
                               .rack_id = "r1"};
    uint8_t want[128], buf[128];
    size_t want_len = hex_decode("ffffffff 000001f4 00000001 03200000 01 00000000 ffffffff"
                                 "02 037431 02 00000000 00000004 000000000000000a 00000003"
                                 "ffffffffffffffff 00100000 00 00"
                                 "02 037432 03 00000001 00000002 00"
                                 "03 7231 00",
                                 want, sizeof want);
    kw w;
    size_t len;
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_fetch_req_write(&w, 12, &req) && kw_finish(&w, &len));
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, len);
    // last_fetched_epoch is not ignorable below v12; forgotten topics need v7.
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_fetch_req_write(&w, 11, &req));
    p.last_fetched_epoch = -1;
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_fetch_req_write(&w, 11, &req));
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_fetch_req_write(&w, 6, &req));
    req.num_forgotten = 0;
    // v4: no session, no leader epoch, no log start offset, no rack.
    want_len = hex_decode("ffffffff 000001f4 00000001 03200000 01"
                          "00000001 00027431 00000001 00000000 000000000000000a 00100000",
                          want, sizeof want);
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_fetch_req_write(&w, 4, &req) && kw_finish(&w, &len));
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, len);
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_fetch_req_write(&w, 14, &req));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_v11_request_matches_kcat),
        cmocka_unit_test(test_fetch_v11_response_from_mock),
        cmocka_unit_test(test_fetch_v12_response_tags),
        cmocka_unit_test(test_fetch_v12_bad_tag_payload),
        cmocka_unit_test(test_fetch_v4_response),
        cmocka_unit_test(test_fetch_v12_request),
        cmocka_unit_test(test_fetch_v13_topic_ids),
    };
    return cmocka_run_group_tests_name("fetch", tests, NULL, NULL);
}
