// fuzz_cghb.c: the ConsumerGroupHeartbeat (API 68, KIP-848) response parser, versions 0-1. The
// first byte picks the version (its low bit; 2 and above exercise the version check), the rest
// is a response body. On KP_OK the assignment is walked to its end (topic and partition counts
// must match, views must lie inside the input) and written back as the owned partitions of a
// request, which must encode; on failure the error names a field inside the input. Every input
// is also the answer to the join heartbeat of a KIP-848 group machine (consumer/group848.h),
// which is then polled, revoked and closed: every request it asks for must encode.
#include "consumer/group848.h"
#include "proto/api.h"
#include "proto/consumer_group_heartbeat.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *in_start;
static const uint8_t *in_end;

static void assert_inside(const kr *v)
{
    if (v->len > 0) {
        assert(v->p >= in_start && v->p + v->len <= in_end);
    }
}

// echo writes the assignment back as owned partitions (what a member acknowledges).
static void echo(const struct kp_cghb_resp *r)
{
    struct kp_cghb_topic_partitions *owned = calloc(r->num_topics + 1, sizeof *owned);
    struct kp_cghb_topic *topics = calloc(r->num_topics + 1, sizeof *topics);
    int32_t **parts = calloc(r->num_topics + 1, sizeof *parts);
    struct kp_cghb_iter it;
    uint32_t n = 0;
    kp_cghb_topics(r, &it);
    while (kp_cghb_next_topic(&it, &topics[n])) {
        assert(n < r->num_topics);
        assert_inside(&topics[n].partitions);
        assert(topics[n].partitions.len == (size_t)topics[n].num_partitions * 4);
        parts[n] = calloc(topics[n].num_partitions + 1, sizeof **parts);
        for (uint32_t i = 0; i < topics[n].num_partitions; i++) {
            assert(kp_cghb_partition(&topics[n], i, &parts[n][i]));
        }
        owned[n] = (struct kp_cghb_topic_partitions){.topic_id = topics[n].topic_id,
                                                     .partitions = parts[n],
                                                     .num_partitions = topics[n].num_partitions};
        n++;
    }
    assert(n == (r->has_assignment ? r->num_topics : 0));
    struct kp_cghb_req req = {.group_id = "g",
                              .member_id = "m",
                              .member_epoch = r->member_epoch,
                              .rebalance_timeout_ms = -1,
                              .send_owned = true,
                              .owned = owned,
                              .num_owned = n};
    kw w;
    kw_init_grow(&w);
    size_t len = 0;
    assert(kp_cghb_req_write(&w, 1, &req) && kw_finish(&w, &len));
    kw_cleanup(&w);
    for (uint32_t i = 0; i < n; i++) {
        free(parts[i]);
    }
    free(parts);
    free(topics);
    free(owned);
}

// drain polls the machine until it has nothing to do, writing every request it sends.
static void drain(struct cons_g848 *g, uint64_t now)
{
    for (int i = 0; i < 16; i++) {
        struct cons_g848_action a;
        cons_g848_poll(g, now, &a);
        if (a.kind == CONS_G848_NONE) {
            return;
        }
        if (a.kind == CONS_G848_SEND) {
            kw w;
            kw_init_grow(&w);
            assert(cons_g848_write_request(g, a.api_key, 1, &w));
            kw_cleanup(&w);
            cons_g848_on_response(g, now, a.api_key, 1, NULL, 1);
        }
        if (a.kind == CONS_G848_REVOKE) {
            cons_g848_revoke_done(g, now);
        }
    }
}

static void session(const uint8_t *body, size_t len, int16_t version)
{
    static const char *const topics[] = {"t"};
    struct cons_g848_config cfg = {
        .group_id = "g", .member_id = "m", .topics = topics, .num_topics = 1};
    struct cons_g848 *g = cons_g848_new(&cfg);
    // FindCoordinator v1 answer: node 1 at h:1.
    static const uint8_t find[] = {0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1, 0, 1, 'h', 0, 0, 0, 1};
    struct cons_g848_action a;
    cons_g848_poll(g, 0, &a);
    assert(a.kind == CONS_G848_SEND && a.api_key == KP_API_FIND_COORDINATOR);
    kr f;
    kr_init(&f, find, sizeof find);
    cons_g848_on_response(g, 0, KP_API_FIND_COORDINATOR, 1, &f, 0);
    cons_g848_poll(g, 0, &a);
    assert(a.kind == CONS_G848_COORDINATOR);
    cons_g848_poll(g, 0, &a);
    assert(a.kind == CONS_G848_SEND && a.api_key == KP_API_CONSUMER_GROUP_HEARTBEAT);
    kw w;
    kw_init_grow(&w);
    assert(cons_g848_write_request(g, a.api_key, 1, &w));
    kw_cleanup(&w);
    kr b;
    kr_init(&b, body, len);
    cons_g848_on_response(g, 0, a.api_key, version, &b, 0);
    drain(g, 10);
    cons_g848_close(g, 20);
    drain(g, 400000);
    cons_g848_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    int16_t version = (int16_t)(data[0] & 3);
    in_start = data + 1;
    in_end = data + size;
    session(data + 1, size - 1, version);
    kr body;
    kr_init(&body, data + 1, size - 1);
    struct kp_cghb_resp r;
    struct kp_err err = {0};
    enum kp_status st = kp_cghb_resp_parse(&body, version, &r, &err);
    if (st != KP_OK) {
        assert(err.field != NULL);
        assert(err.offset <= size - 1);
        return 0;
    }
    assert(version <= 1 && kr_done(&body));
    assert_inside(&r.error_message);
    assert_inside(&r.member_id);
    echo(&r);
    return 0;
}
