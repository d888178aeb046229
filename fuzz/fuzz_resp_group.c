// fuzz_resp_group.c: the group-membership and offset response parsers: JoinGroup 2-9,
// SyncGroup 0-5, Heartbeat 0-4, LeaveGroup 0-5, OffsetFetch 1-8, OffsetCommit 2-9. The first
// byte picks the API and version, the rest is a response body. On KP_OK every iterator is
// walked to its end (item counts must match, views must lie inside the input), and embedded
// consumer-protocol blobs (JoinGroup member metadata, SyncGroup assignment) are decoded too.
#include "proto/api.h"
#include "proto/consumer_protocol.h"
#include "proto/heartbeat.h"
#include "proto/join_group.h"
#include "proto/leave_group.h"
#include "proto/offset_commit.h"
#include "proto/offset_fetch.h"
#include "proto/sync_group.h"

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

static void check_status(enum kp_status st, const struct kp_err *err, const kr *body)
{
    if (st == KP_OK) {
        assert(kr_done(body));
    } else {
        assert(err->field != NULL);
        assert(err->offset <= (size_t)(in_end - in_start));
    }
}

static void decode_subscription(const kr *blob)
{
    kr r = *blob;
    struct kp_consumer_subscription_view v;
    if (kp_consumer_subscription_parse(&r, &v, NULL) != KP_OK) {
        return;
    }
    struct kp_consumer_iter it;
    kr name;
    uint32_t n = 0;
    kp_consumer_iter_init(&it, &v.topics, v.num_topics);
    while (kp_consumer_next_topic_name(&it, &name)) {
        assert_inside(&name);
        n++;
    }
    assert(n == v.num_topics);
}

static void decode_assignment(const kr *blob)
{
    kr r = *blob;
    struct kp_consumer_assignment_view v;
    if (kp_consumer_assignment_parse(&r, &v, NULL) != KP_OK) {
        return;
    }
    struct kp_consumer_iter it, pit;
    struct kp_consumer_tp_view tp;
    uint32_t n = 0;
    kp_consumer_iter_init(&it, &v.assigned, v.num_assigned);
    while (kp_consumer_next_topic_partitions(&it, &tp)) {
        int32_t p;
        uint32_t np = 0;
        kp_consumer_iter_init(&pit, &tp.partitions, tp.num_partitions);
        while (kp_consumer_next_partition(&pit, &p)) {
            np++;
        }
        assert(np == tp.num_partitions);
        n++;
    }
    assert(n == v.num_assigned);
}

static void join_group(kr *body, int16_t v)
{
    struct kp_join_group_resp resp;
    struct kp_err err = {0};
    enum kp_status st = kp_join_group_resp_parse(body, v, &resp, &err);
    check_status(st, &err, body);
    if (st != KP_OK) {
        return;
    }
    assert_inside(&resp.leader);
    assert_inside(&resp.member_id);
    struct kp_join_group_member_iter it;
    struct kp_join_group_member m;
    uint32_t n = 0;
    kp_join_group_members(&resp, &it);
    while (kp_join_group_next_member(&it, &m)) {
        assert_inside(&m.member_id);
        assert_inside(&m.metadata);
        decode_subscription(&m.metadata);
        n++;
    }
    assert(n == resp.num_members && kr_left(&it.rest) == 0);
}

static void sync_group(kr *body, int16_t v)
{
    struct kp_sync_group_resp resp;
    struct kp_err err = {0};
    enum kp_status st = kp_sync_group_resp_parse(body, v, &resp, &err);
    check_status(st, &err, body);
    if (st == KP_OK) {
        assert_inside(&resp.assignment);
        decode_assignment(&resp.assignment);
    }
}

static void heartbeat(kr *body, int16_t v)
{
    struct kp_heartbeat_resp resp;
    struct kp_err err = {0};
    check_status(kp_heartbeat_resp_parse(body, v, &resp, &err), &err, body);
}

static void leave_group(kr *body, int16_t v)
{
    struct kp_leave_group_resp resp;
    struct kp_err err = {0};
    enum kp_status st = kp_leave_group_resp_parse(body, v, &resp, &err);
    check_status(st, &err, body);
    if (st != KP_OK) {
        return;
    }
    struct kp_leave_group_member_iter it;
    struct kp_leave_group_member m;
    uint32_t n = 0;
    kp_leave_group_members(&resp, &it);
    while (kp_leave_group_next_member(&it, &m)) {
        assert_inside(&m.member_id);
        n++;
    }
    assert(n == resp.num_members && kr_left(&it.rest) == 0);
}

static void offset_fetch(kr *body, int16_t v)
{
    struct kp_offset_fetch_resp resp;
    struct kp_err err = {0};
    enum kp_status st = kp_offset_fetch_resp_parse(body, v, &resp, &err);
    check_status(st, &err, body);
    if (st != KP_OK) {
        return;
    }
    struct kp_offset_fetch_iter gi, ti, pi;
    struct kp_offset_fetch_group g;
    struct kp_offset_fetch_topic t;
    struct kp_offset_fetch_partition p;
    uint32_t ng = 0;
    kp_offset_fetch_groups(&resp, &gi);
    while (kp_offset_fetch_next_group(&gi, &g)) {
        uint32_t nt = 0;
        kp_offset_fetch_topics(&gi, &g, &ti);
        while (kp_offset_fetch_next_topic(&ti, &t)) {
            uint32_t np = 0;
            assert_inside(&t.name);
            kp_offset_fetch_partitions(&ti, &t, &pi);
            while (kp_offset_fetch_next_partition(&pi, &p)) {
                assert_inside(&p.metadata);
                np++;
            }
            assert(np == t.num_partitions);
            nt++;
        }
        assert(nt == g.num_topics);
        ng++;
    }
    assert(ng == resp.num_groups);
}

static void offset_commit(kr *body, int16_t v)
{
    struct kp_offset_commit_resp resp;
    struct kp_err err = {0};
    enum kp_status st = kp_offset_commit_resp_parse(body, v, &resp, &err);
    check_status(st, &err, body);
    if (st != KP_OK) {
        return;
    }
    struct kp_offset_commit_iter ti, pi;
    struct kp_offset_commit_topic t;
    struct kp_offset_commit_partition p;
    uint32_t nt = 0;
    kp_offset_commit_topics(&resp, &ti);
    while (kp_offset_commit_next_topic(&ti, &t)) {
        uint32_t np = 0;
        kp_offset_commit_partitions(&ti, &t, &pi);
        while (kp_offset_commit_next_partition(&pi, &p)) {
            np++;
        }
        assert(np == t.num_partitions);
        nt++;
    }
    assert(nt == resp.num_topics);
}

struct target {
    void (*run)(kr *body, int16_t version);
    int16_t min_version;
    int16_t num_versions;
};

// Selector byte: index into the flattened (API, version) list below.
static const struct target targets[] = {
    {join_group, 2, 8},  {sync_group, 0, 6},   {heartbeat, 0, 5},
    {leave_group, 0, 6}, {offset_fetch, 1, 8}, {offset_commit, 2, 8},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    int total = 0;
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        total += targets[i].num_versions;
    }
    int sel = data[0] % total;
    size_t t = 0;
    while (sel >= targets[t].num_versions) {
        sel -= targets[t].num_versions;
        t++;
    }
    in_start = data + 1;
    in_end = data + size;
    kr body;
    kr_init(&body, data + 1, size - 1);
    targets[t].run(&body, (int16_t)(targets[t].min_version + sel));
    return 0;
}
