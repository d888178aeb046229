// test_create_topics.c: CreateTopics v2-7 request writer and response parser (proto/).
#include "proto/api.h"
#include "proto/create_topics.h"
#include "tests/lib/golden.h"
#include "tests/lib/proto_check.h"
#include "tests/lib/unit.h"

#include <string.h>

static enum kp_status parse_cb(kr *body, int16_t version, void *ctx, struct kp_err *err)
{
    return kp_create_topics_resp_parse(body, version, ctx, err);
}

static const struct kp_create_topics_config compact = {"cleanup.policy", "compact"};
static const struct kp_create_topics_topic_req topic = {"_kesm-f1-configs", 1, -1, &compact, 1};

static void check_request(int16_t version, const char *file)
{
    struct guarded g;
    golden_load_guarded(&g, file);
    kw w;
    kw_init_grow(&w);
    struct kp_create_topics_req req = {&topic, 1, 30000, false};
    assert_true(kp_create_topics_req_write(&w, version, &req));
    assert_int_equal(kw_len(&w), g.len);
    assert_memory_equal(kw_data(&w), g.data, g.len);
    kw_cleanup(&w);
    guarded_free(&g);
}

static void test_request_v4_v5(void **state)
{
    (void)state;
    check_request(4, "create_topics_req_v4.bin");
    check_request(5, "create_topics_req_v5.bin");
    // v6 and v7 add nothing to the request: the v5 bytes.
    check_request(7, "create_topics_req_v5.bin");
}

static void test_request_bad(void **state)
{
    (void)state;
    kw w;
    kw_init_grow(&w);
    struct kp_create_topics_req req = {&topic, 1, 30000, false};
    assert_false(kp_create_topics_req_write(&w, 1, &req)); // below the supported range
    kw_cleanup(&w);
    kw_init_grow(&w);
    struct kp_create_topics_topic_req nameless = {NULL, 1, -1, NULL, 0};
    struct kp_create_topics_req bad = {&nameless, 1, 30000, false};
    assert_false(kp_create_topics_req_write(&w, 5, &bad));
    kw_cleanup(&w);
}

// parse_one parses |file| at |version| into |g| (the caller frees it: |out| views it) and
// returns the single result.
static void parse_one(struct guarded *gp, const char *file, int16_t version,
                      struct kp_create_topics_result *out)
{
    struct guarded g;
    golden_load_guarded(&g, file);
    *gp = g;
    kr body;
    kr_init(&body, g.data, g.len);
    struct kp_create_topics_resp resp;
    assert_int_equal(kp_create_topics_resp_parse(&body, version, &resp, NULL), KP_OK);
    assert_int_equal(resp.throttle_time_ms, 0);
    assert_int_equal(resp.num_topics, 1);
    struct kp_create_topics_iter it;
    kp_create_topics_results(&resp, &it);
    assert_true(kp_create_topics_next(&it, out));
    assert_true(kr_eq_cstr(&out->name, "_kesm-f1-configs"));
    struct kp_create_topics_result extra;
    assert_false(kp_create_topics_next(&it, &extra));
    proto_check_bounds(g.data, g.len, version, parse_cb, &resp);
}

static void test_response_v2(void **state)
{
    (void)state;
    struct kp_create_topics_result r;
    struct guarded keep;
    parse_one(&keep, "create_topics_resp_v2.bin", 2, &r);
    assert_int_equal(r.error_code, 0);
    assert_true(r.error_message_null);
    assert_int_equal(r.num_partitions, -1);
    guarded_free(&keep);
}

static void test_response_v5(void **state)
{
    (void)state;
    struct kp_create_topics_result r;
    struct guarded keep;
    parse_one(&keep, "create_topics_resp_v5.bin", 5, &r);
    assert_int_equal(r.error_code, 0);
    assert_true(r.error_message_null);
    assert_int_equal(r.num_partitions, 1);
    guarded_free(&keep);
    // The same bytes are not a v7 answer (no topic id).
    struct guarded g;
    golden_load_guarded(&g, "create_topics_resp_v5.bin");
    kr body;
    kr_init(&body, g.data, g.len);
    struct kp_create_topics_resp resp;
    assert_int_not_equal(kp_create_topics_resp_parse(&body, 7, &resp, NULL), KP_OK);
    guarded_free(&g);
}

static void test_response_v7_exists(void **state)
{
    (void)state;
    struct kp_create_topics_result r;
    struct guarded keep;
    parse_one(&keep, "create_topics_resp_v7.bin", 7, &r);
    assert_int_equal(r.error_code, 36);
    assert_false(r.error_message_null);
    assert_true(kr_eq_cstr(&r.error_message, "Topic '_kesm-f1-configs' already exists."));
    assert_int_equal(r.num_partitions, -1);
    guarded_free(&keep);
}

// A topic count beyond the bytes is refused before anything is walked.
static void test_response_count_limit(void **state)
{
    (void)state;
    const uint8_t body[] = {0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff};
    kr r;
    kr_init(&r, body, sizeof body);
    struct kp_create_topics_resp resp;
    assert_int_not_equal(kp_create_topics_resp_parse(&r, 2, &resp, NULL), KP_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_v4_v5),      cmocka_unit_test(test_request_bad),
        cmocka_unit_test(test_response_v2),        cmocka_unit_test(test_response_v5),
        cmocka_unit_test(test_response_v7_exists), cmocka_unit_test(test_response_count_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
