// test_consumer_protocol.c: ConsumerProtocolSubscription / ConsumerProtocolAssignment. The
// librdkafka blobs come from the kcat/mock captures (the JoinGroup v5 response carries kcat's
// subscription, the SyncGroup v3 response its assignment); the v2/v3 and "newer version"
// blobs are built by hand from the Kafka schemas. Every decoded blob is re-encoded and must
// come out byte for byte (write(parse(x)) == x).
#include "proto/api.h"
#include "proto/consumer_protocol.h"
#include "proto/join_group.h"
#include "proto/sync_group.h"
#include "tests/lib/golden.h"
#include "tests/lib/proto_check.h"
#include "tests/lib/unit.h"

#include <string.h>

#define MAX_ITEMS 8

// A decoded blob turned back into encoder inputs (NUL-terminated copies of the views).
struct rebuilt {
    char names[MAX_ITEMS][32];
    const char *topics[MAX_ITEMS];
    int32_t parts[MAX_ITEMS][MAX_ITEMS];
    struct kp_consumer_topic_partitions tps[MAX_ITEMS];
    char rack[32];
};

static size_t rebuild_tps(struct rebuilt *rb, const kr *view, uint32_t n)
{
    struct kp_consumer_iter it, pit;
    struct kp_consumer_tp_view tp;
    kp_consumer_iter_init(&it, view, n);
    size_t i = 0;
    while (kp_consumer_next_topic_partitions(&it, &tp)) {
        assert_true(i < MAX_ITEMS && tp.num_partitions <= MAX_ITEMS);
        assert_true(kr_copy_cstr(&tp.topic, rb->names[i], sizeof rb->names[i]));
        kp_consumer_iter_init(&pit, &tp.partitions, tp.num_partitions);
        size_t j = 0;
        while (kp_consumer_next_partition(&pit, &rb->parts[i][j])) {
            j++;
        }
        assert_int_equal(j, tp.num_partitions);
        rb->tps[i] = (struct kp_consumer_topic_partitions){
            .topic = rb->names[i], .partitions = rb->parts[i], .num_partitions = j};
        i++;
    }
    assert_int_equal(i, n);
    return i;
}

static void assert_sub_round_trip(const uint8_t *p, size_t len,
                                  const struct kp_consumer_subscription_view *v)
{
    struct rebuilt rb;
    struct kp_consumer_iter it;
    kr name;
    kp_consumer_iter_init(&it, &v->topics, v->num_topics);
    size_t n = 0;
    while (kp_consumer_next_topic_name(&it, &name)) {
        assert_true(n < MAX_ITEMS && kr_copy_cstr(&name, rb.names[n], sizeof rb.names[n]));
        rb.topics[n] = rb.names[n];
        n++;
    }
    assert_int_equal(n, v->num_topics);
    struct rebuilt owned;
    size_t num_owned = rebuild_tps(&owned, &v->owned, v->num_owned);
    if (!v->rack_id_null) {
        assert_true(kr_copy_cstr(&v->rack_id, rb.rack, sizeof rb.rack));
    }
    struct kp_consumer_subscription s = {
        .version = v->version,
        .topics = rb.topics,
        .num_topics = n,
        .user_data =
            v->user_data_null ? NULL : (v->user_data.len ? v->user_data.p : (const uint8_t *)""),
        .user_data_len = v->user_data.len,
        .owned = owned.tps,
        .num_owned = num_owned,
        .generation_id = v->generation_id,
        .rack_id = v->rack_id_null ? NULL : rb.rack};
    uint8_t buf[256];
    kw w;
    kw_init_fixed(&w, buf, sizeof buf);
    size_t out_len;
    assert_true(kp_consumer_subscription_write(&w, &s) && kw_finish(&w, &out_len));
    assert_int_equal(out_len, len);
    assert_memory_equal(buf, p, len);
}

static enum kp_status sub_parse(kr *b, int16_t v, void *ctx, struct kp_err *err)
{
    (void)v;
    return kp_consumer_subscription_parse(b, ctx, err);
}

static enum kp_status parse_asg_guarded(const uint8_t *p, size_t n)
{
    struct guarded g;
    guarded_copy(&g, p, n);
    kr r;
    kr_init(&r, g.data, g.len);
    struct kp_consumer_assignment_view v;
    enum kp_status st = kp_consumer_assignment_parse(&r, &v, NULL);
    guarded_free(&g);
    return st;
}

// check_assignment_bounds is proto_check_bounds for assignments, whose empty prefix is valid
// (a member the leader left out has no partitions).
static void check_assignment_bounds(const uint8_t *p, size_t len)
{
    assert_int_equal(parse_asg_guarded(p, len), KP_OK);
    assert_int_equal(parse_asg_guarded(p, 0), KP_OK);
    for (size_t n = 1; n < len; n++) {
        if (parse_asg_guarded(p, n) != KP_ERR_TRUNCATED) {
            fail_msg("assignment prefix %zu/%zu is not truncated", n, len);
        }
    }
    uint8_t more[256];
    assert_true(len < sizeof more);
    memcpy(more, p, len);
    more[len] = 0;
    assert_int_equal(parse_asg_guarded(more, len + 1), KP_ERR_MALFORMED);
}

static void test_librdkafka_subscription_v1(void **state)
{
    (void)state;
    struct guarded g;
    kr body;
    proto_golden_resp("join_group_resp_v5.bin", KP_API_JOIN_GROUP, 5, &g, &body);
    struct kp_join_group_resp jr;
    assert_int_equal(kp_join_group_resp_parse(&body, 5, &jr, NULL), KP_OK);
    struct kp_join_group_member_iter mi;
    struct kp_join_group_member m;
    kp_join_group_members(&jr, &mi);
    assert_true(kp_join_group_next_member(&mi, &m));

    kr meta = m.metadata;
    struct kp_consumer_subscription_view v;
    assert_int_equal(kp_consumer_subscription_parse(&meta, &v, NULL), KP_OK);
    assert_int_equal(v.version, 1);
    assert_int_equal(v.num_topics, 1);
    struct kp_consumer_iter it;
    kr name;
    kp_consumer_iter_init(&it, &v.topics, v.num_topics);
    assert_true(kp_consumer_next_topic_name(&it, &name));
    assert_true(kr_eq_cstr(&name, "t1"));
    assert_false(kp_consumer_next_topic_name(&it, &name));
    assert_false(v.user_data_null); // librdkafka sends empty, not null
    assert_int_equal(v.user_data.len, 0);
    assert_int_equal(v.num_owned, 0);
    assert_int_equal(v.generation_id, -1); // not in v1
    assert_true(v.rack_id_null);
    assert_sub_round_trip(m.metadata.p, m.metadata.len, &v);
    proto_check_bounds(m.metadata.p, m.metadata.len, 1, sub_parse, &v);
    guarded_free(&g);
}

static void test_mock_assignment_v0(void **state)
{
    (void)state;
    struct guarded g;
    kr body;
    proto_golden_resp("sync_group_resp_v3.bin", KP_API_SYNC_GROUP, 3, &g, &body);
    struct kp_sync_group_resp sr;
    assert_int_equal(kp_sync_group_resp_parse(&body, 3, &sr, NULL), KP_OK);
    kr blob = sr.assignment;
    struct kp_consumer_assignment_view v;
    assert_int_equal(kp_consumer_assignment_parse(&blob, &v, NULL), KP_OK);
    assert_int_equal(v.version, 0);
    assert_int_equal(v.num_assigned, 1);
    struct rebuilt rb;
    assert_int_equal(rebuild_tps(&rb, &v.assigned, v.num_assigned), 1);
    assert_string_equal(rb.names[0], "t1");
    assert_int_equal(rb.tps[0].num_partitions, 4);
    for (int32_t i = 0; i < 4; i++) {
        assert_int_equal(rb.parts[0][i], i);
    }
    assert_false(v.user_data_null);
    // Re-encode.
    struct kp_consumer_assignment a = {
        .version = 0, .assigned = rb.tps, .num_assigned = 1, .user_data = (const uint8_t *)""};
    uint8_t buf[128];
    kw w;
    kw_init_fixed(&w, buf, sizeof buf);
    size_t len;
    assert_true(kp_consumer_assignment_write(&w, &a) && kw_finish(&w, &len));
    assert_int_equal(len, sr.assignment.len);
    assert_memory_equal(buf, sr.assignment.p, len);
    check_assignment_bounds(sr.assignment.p, sr.assignment.len);
    guarded_free(&g);
}

static void test_empty_assignment_is_no_partitions(void **state)
{
    (void)state;
    kr r;
    kr_init(&r, (const uint8_t *)"", 0);
    struct kp_consumer_assignment_view v = {.num_assigned = 9};
    assert_int_equal(kp_consumer_assignment_parse(&r, &v, NULL), KP_OK);
    assert_int_equal(v.num_assigned, 0);
}

// Subscription v3 from ConsumerProtocolSubscription.json: topics [a, bb], user data 0102,
// owned [a [0, 2]], generation 7, rack "r1".
static const char sub_v3[] = "0003"
                             "00000002 000161 00026262"
                             "00000002 0102"
                             "00000001 000161 00000002 00000000 00000002"
                             "00000007"
                             "0002 7231";

static void test_subscription_v3_round_trip(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t n = hex_decode(sub_v3, buf, sizeof buf);
    struct guarded g;
    guarded_copy(&g, buf, n);
    kr r;
    kr_init(&r, g.data, g.len);
    struct kp_consumer_subscription_view v;
    assert_int_equal(kp_consumer_subscription_parse(&r, &v, NULL), KP_OK);
    assert_int_equal(v.version, 3);
    assert_int_equal(v.num_topics, 2);
    assert_int_equal(v.user_data.len, 2);
    assert_int_equal(v.num_owned, 1);
    assert_int_equal(v.generation_id, 7);
    assert_false(v.rack_id_null);
    assert_true(kr_eq_cstr(&v.rack_id, "r1"));
    struct rebuilt rb;
    rebuild_tps(&rb, &v.owned, v.num_owned);
    assert_string_equal(rb.names[0], "a");
    assert_int_equal(rb.parts[0][1], 2);
    assert_sub_round_trip(buf, n, &v);
    proto_check_bounds(buf, n, 3, sub_parse, &v);
    guarded_free(&g);

    // The same fields written as v2 drop the rack, as v0 drop everything after user data.
    static const char *const topics[] = {"a", "bb"};
    static const int32_t parts[] = {0, 2};
    struct kp_consumer_topic_partitions owned = {
        .topic = "a", .partitions = parts, .num_partitions = 2};
    struct kp_consumer_subscription s = {.version = 2,
                                         .topics = topics,
                                         .num_topics = 2,
                                         .user_data = (const uint8_t *)"\x01\x02",
                                         .user_data_len = 2,
                                         .owned = &owned,
                                         .num_owned = 1,
                                         .generation_id = 7,
                                         .rack_id = "r1"};
    kw w;
    size_t len;
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_consumer_subscription_write(&w, &s) && kw_finish(&w, &len));
    assert_int_equal(len, n - 4);
    assert_int_equal(buf[1], 2);
    s.version = 0;
    kw_init_fixed(&w, buf, sizeof buf);
    assert_true(kp_consumer_subscription_write(&w, &s) && kw_finish(&w, &len));
    assert_int_equal(len, 2 + 4 + 3 + 4 + 4 + 2);
    s.version = 4;
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_consumer_subscription_write(&w, &s));
    s.version = -1;
    kw_init_fixed(&w, buf, sizeof buf);
    assert_false(kp_consumer_subscription_write(&w, &s));
}

static void test_newer_versions_ignore_trailing_bytes(void **state)
{
    (void)state;
    // A "v4" subscription: the v3 fields, then bytes from a future schema.
    uint8_t buf[128];
    size_t n = hex_decode(sub_v3, buf, sizeof buf);
    buf[1] = 4;
    buf[n] = 0xee;
    buf[n + 1] = 0xff;
    kr r;
    kr_init(&r, buf, n + 2);
    struct kp_consumer_subscription_view v;
    assert_int_equal(kp_consumer_subscription_parse(&r, &v, NULL), KP_OK);
    assert_int_equal(v.version, 4);
    assert_int_equal(v.generation_id, 7);
    assert_true(kr_eq_cstr(&v.rack_id, "r1"));
    proto_check_prefixes(buf, n, 4, sub_parse, &v);
    // The same trailing bytes on a v3 blob are malformed.
    buf[1] = 3;
    struct kp_err err = {0};
    kr_init(&r, buf, n + 2);
    assert_int_equal(kp_consumer_subscription_parse(&r, &v, &err), KP_ERR_MALFORMED);
    assert_string_equal(err.field, "trailing bytes");
    assert_int_equal(err.offset, n);
    // A negative version is malformed.
    buf[0] = 0xff;
    kr_init(&r, buf, n);
    assert_int_equal(kp_consumer_subscription_parse(&r, &v, &err), KP_ERR_MALFORMED);
    assert_string_equal(err.field, "version");

    // Assignment v3 and "v5" with a trailing field; null user data.
    n = hex_decode("0003 00000001 000174 00000001 00000009 ffffffff", buf, sizeof buf);
    struct kp_consumer_assignment_view a;
    kr_init(&r, buf, n);
    assert_int_equal(kp_consumer_assignment_parse(&r, &a, NULL), KP_OK);
    assert_true(a.user_data_null);
    check_assignment_bounds(buf, n);
    buf[1] = 5;
    buf[n] = 0x01;
    kr_init(&r, buf, n + 1);
    assert_int_equal(kp_consumer_assignment_parse(&r, &a, NULL), KP_OK);
    assert_int_equal(a.version, 5);
    assert_int_equal(a.num_assigned, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_librdkafka_subscription_v1),
        cmocka_unit_test(test_mock_assignment_v0),
        cmocka_unit_test(test_empty_assignment_is_no_partitions),
        cmocka_unit_test(test_subscription_v3_round_trip),
        cmocka_unit_test(test_newer_versions_ignore_trailing_bytes),
    };
    return cmocka_run_group_tests_name("consumer_protocol", tests, NULL, NULL);
}
