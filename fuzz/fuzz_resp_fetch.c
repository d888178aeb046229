// fuzz_resp_fetch.c: the Fetch response parser. The first byte picks the version (4-13), the
// rest is a response body. On KP_OK every iterator is walked to its end; the number of items
// must match the parsed counts and every view must lie inside the input.
#include "proto/fetch.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *in_start;
static const uint8_t *in_end;

static void assert_inside(const kr *v)
{
    if (v->len == 0) {
        return;
    }
    assert(v->p >= in_start && v->p + v->len <= in_end);
}

static void walk_partition(const struct kp_fetch_iter *parts, const struct kp_fetch_partition *p)
{
    assert_inside(&p->records);
    assert_inside(&p->aborted);
    assert(!p->records_null || p->records.len == 0);
    struct kp_fetch_iter it;
    struct kp_fetch_aborted ab;
    kp_fetch_aborted_txns(parts, p, &it);
    uint32_t n = 0;
    while (kp_fetch_next_aborted(&it, &ab)) {
        n++;
    }
    assert(n == p->num_aborted);
    assert(kr_left(&it.rest) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    int16_t version = (int16_t)(4 + data[0] % 10);
    in_start = data + 1;
    in_end = data + size;
    kr body;
    kr_init(&body, data + 1, size - 1);
    struct kp_fetch_resp resp;
    struct kp_err err = {0};
    enum kp_status st = kp_fetch_resp_parse(&body, version, &resp, &err);
    if (st != KP_OK) {
        assert(err.field != NULL && err.offset <= size - 1);
        return 0;
    }
    assert(kr_done(&body));
    struct kp_fetch_iter ti, pi;
    struct kp_fetch_topic t;
    struct kp_fetch_partition p;
    uint32_t topics = 0;
    kp_fetch_topics(&resp, &ti);
    while (kp_fetch_next_topic(&ti, &t)) {
        assert_inside(&t.topic);
        assert_inside(&t.partitions);
        uint32_t parts = 0;
        kp_fetch_partitions(&ti, &t, &pi);
        while (kp_fetch_next_partition(&pi, &p)) {
            walk_partition(&pi, &p);
            parts++;
        }
        assert(parts == t.num_partitions);
        assert(kr_left(&pi.rest) == 0);
        topics++;
    }
    assert(topics == resp.num_topics);
    assert(kr_left(&ti.rest) == 0);
    return 0;
}
