// fuzz_consumer_session.c: replays a broker conversation, chosen by the input, through the
// sans-I/O consumer: the group state machine (consumer/group.c), the fetcher
// (consumer/fetcher.c) and the offsets logic (consumer/offsets.c), as nghttp2's session fuzzer
// does for its state machine.
//
// Input: one flags byte (bit 0 static member, bit 1 read_uncommitted, bit 2 check CRCs), then
// steps of {op u8, len u16 big-endian, payload[len]}:
//   op % 12 == 0       advance the clock by payload u16 ms
//   1..5               answer the outstanding FindCoordinator / JoinGroup / SyncGroup /
//                      Heartbeat / LeaveGroup: payload[0] picks the version, the rest is the body
//   6                  that request (payload[0] % 5) failed in transport
//   7                  the upper layer finished a revoke
//   8                  the upper layer asks for a rejoin with error code payload u16
//   9                  close
//   10                 answer the outstanding Fetch: payload[0] picks the version (4-12)
//   11                 answer OffsetFetch / ListOffsets / OffsetCommit (payload[0] % 3), version
//                      payload[1], body after
// After every step the harness drains the machine's actions, sending what it asks for.
// Invariants (abort on violation): the machine never asks for a request of a kind already
// outstanding; its own in-flight view matches the harness's; delivered records are in strictly
// increasing offset order, at or after the fetch offset, below the new position; a partition's
// position never moves backwards except through a reset; the fetcher never hands out a record
// of a partition that is not assigned; a partition's fetch limit, batch hint and ask stay
// within the configured bounds.
#include "consumer/fetcher.h"
#include "consumer/group.h"
#include "consumer/offsets.h"
#include "proto/api.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int16_t group_apis[5] = {KP_API_FIND_COORDINATOR, KP_API_JOIN_GROUP, KP_API_SYNC_GROUP,
                                      KP_API_HEARTBEAT, KP_API_LEAVE_GROUP};
// Version ranges kesm speaks (proto/api.c).
static const int16_t vmin[5] = {0, 2, 0, 0, 0};
static const int16_t vmax[5] = {4, 9, 5, 4, 5};
static const int16_t write_v[5] = {1, 5, 3, 3, 1};

struct session {
    struct cons_group *g;
    struct cons_fetcher f;
    uint64_t now;
    bool outstanding[5];
    bool fetch_out, ofetch_out, list_out, commit_out;
    int64_t last_pos[8];  // per partition index of the table, for the monotonic check
    int64_t max_acked[8]; // the highest ack given, for the never-beyond-acks check
};

static int kind_of(int16_t api)
{
    for (int i = 0; i < 5; i++) {
        if (group_apis[i] == api) {
            return i;
        }
    }
    return -1;
}

static void deliver(const struct cons_record_batch *b, void *ctx)
{
    struct session *s = ctx;
    struct cons_part *p = cons_fetcher_find(&s->f, b->topic, b->partition);
    assert(p != NULL);   // only assigned partitions
    assert(!p->stopped); // never after a revoke
    assert(b->num_records > 0);
    int64_t prev = p->fetch_offset - 1;
    for (size_t i = 0; i < b->num_records; i++) {
        assert(b->records[i].offset > prev); // strictly increasing, at or after the fetch offset
        prev = b->records[i].offset;
    }
    assert(prev < p->position); // the position moved past what was delivered
}

static void write_req(kw *w)
{
    size_t len;
    (void)kw_finish(w, &len);
    kw_cleanup(w);
}

static void drain(struct session *s)
{
    for (int guard = 0; guard < 64; guard++) {
        struct cons_group_action a;
        cons_group_poll(s->g, s->now, &a);
        if (a.kind == CONS_GACT_NONE) {
            break;
        }
        if (a.kind == CONS_GACT_SEND) {
            int k = kind_of(a.api_key);
            assert(k >= 0);
            assert(!s->outstanding[k]); // never two of a kind
            s->outstanding[k] = true;
            kw w;
            kw_init_grow(&w);
            (void)cons_group_write_request(s->g, a.api_key, write_v[k], &w);
            write_req(&w);
        } else if (a.kind == CONS_GACT_ASSIGNED) {
            size_t n;
            const struct cons_tp *tps = cons_group_assigned(s->g, &n);
            cons_fetcher_assign(&s->f, tps, n < 8 ? n : 8);
            for (size_t i = 0; i < s->f.num_parts; i++) {
                s->f.parts[i].leader = 1;
                s->last_pos[i] = -1;
                s->max_acked[i] = -1;
            }
        } else if (a.kind == CONS_GACT_REVOKE) {
            for (size_t i = 0; i < s->f.num_parts; i++) {
                s->f.parts[i].stopped = true;
            }
        }
    }
    for (int k = 0; k < 5; k++) {
        assert(cons_group_inflight(s->g, group_apis[k]) == s->outstanding[k]);
    }
    kw w;
    if (!s->ofetch_out && cons_offsets_fetch_begin(&s->f) > 0) {
        s->ofetch_out = true;
        kw_init_grow(&w);
        (void)cons_offsets_fetch_write(&s->f, "grp", 5, &w);
        write_req(&w);
    }
    if (!s->list_out && cons_offsets_list_begin(&s->f, 1) > 0) {
        s->list_out = true;
        kw_init_grow(&w);
        (void)cons_offsets_list_write(&s->f, 1, 3, &w);
        write_req(&w);
    }
    if (!s->fetch_out && cons_fetcher_begin_fetch(&s->f, 1, s->now) > 0) {
        s->fetch_out = true;
        kw_init_grow(&w);
        (void)cons_fetcher_write_request(&s->f, 1, 11, &w);
        write_req(&w);
    }
    if (!s->commit_out && cons_offsets_commit_begin(&s->f) > 0) {
        s->commit_out = true;
        kw_init_grow(&w);
        (void)cons_offsets_commit_write(&s->f, "grp", cons_group_generation(s->g),
                                        cons_group_member_id(s->g), NULL, 7, &w);
        write_req(&w);
    }
}

static void answer_fetch(struct session *s, const uint8_t *p, size_t n)
{
    if (!s->fetch_out || n < 1) {
        return;
    }
    s->fetch_out = false;
    int16_t v = (int16_t)(4 + p[0] % 9);
    kr body;
    kr_init(&body, p + 1, n - 1);
    struct cons_fetch_outcome o;
    cons_fetcher_on_response(&s->f, 1, s->now, v, &body, &o);
    for (size_t i = 0; i < s->f.num_parts; i++) {
        struct cons_part *cp = &s->f.parts[i];
        assert(!cp->fetching);
        // Whatever the broker answers, a partition's limit stays between the configured one and
        // the request limit, and what it asks for within its limit.
        assert(cp->max_bytes >= s->f.cfg.partition_max_bytes &&
               cp->max_bytes <= s->f.cfg.max_bytes);
        assert(cp->hint >= 0 && cp->hint <= cp->max_bytes);
        assert(cp->asked >= 0 && cp->asked <= s->f.cfg.max_bytes);
        if (cp->pos_state == CONS_POS_READY) {
            assert(cp->position >= s->last_pos[i]); // forward only (resets leave READY)
            s->last_pos[i] = cp->position;
            // Ack what was delivered, so commits have something to carry.
            cp->acked = cp->position;
            s->max_acked[i] = cp->position > s->max_acked[i] ? cp->position : s->max_acked[i];
        } else {
            s->last_pos[i] = -1;
        }
    }
}

static void answer_offsets(struct session *s, const uint8_t *p, size_t n)
{
    if (n < 2) {
        return;
    }
    kr body;
    kr_init(&body, p + 2, n - 2);
    struct cons_offsets_outcome o;
    int16_t v = (int16_t)(p[1] % 10);
    switch (p[0] % 3) {
    case 0:
        if (s->ofetch_out) {
            s->ofetch_out = false;
            cons_offsets_fetch_on_response(&s->f, (int16_t)(1 + v % 8), &body, &o);
        }
        break;
    case 1:
        if (s->list_out) {
            s->list_out = false;
            cons_offsets_list_on_response(&s->f, 1, (int16_t)(1 + v % 7), &body, &o);
        }
        break;
    default:
        if (s->commit_out) {
            s->commit_out = false;
            cons_offsets_commit_on_response(&s->f, (int16_t)(2 + v % 8), &body, &o);
            for (size_t i = 0; i < s->f.num_parts; i++) {
                const struct cons_part *cp = &s->f.parts[i];
                assert(cp->commit_sent == -1);
                // Never committed beyond what was acknowledged (or read back from OffsetFetch).
                assert(cp->committed <= s->max_acked[i] || cp->committed == cp->acked);
            }
        }
        break;
    }
}

static void step(struct session *s, uint8_t op, const uint8_t *p, size_t n)
{
    switch (op % 12) {
    case 0:
        s->now += n >= 2 ? (uint64_t)(p[0] << 8 | p[1]) : 100;
        break;
    case 1:
    case 2:
    case 3:
    case 4:
    case 5: {
        int k = op % 12 - 1;
        if (!s->outstanding[k] || n < 1) {
            break;
        }
        s->outstanding[k] = false;
        int16_t v = (int16_t)(vmin[k] + p[0] % (vmax[k] - vmin[k] + 1));
        kr body;
        kr_init(&body, p + 1, n - 1);
        cons_group_on_response(s->g, s->now, group_apis[k], v, &body, 0);
        break;
    }
    case 6: {
        int k = n ? p[0] % 5 : 0;
        if (s->outstanding[k]) {
            s->outstanding[k] = false;
            cons_group_on_response(s->g, s->now, group_apis[k], -1, NULL, -1);
        }
        break;
    }
    case 7:
        cons_group_revoke_done(s->g, s->now);
        break;
    case 8:
        cons_group_rejoin(s->g, s->now, (int16_t)(n >= 2 ? p[0] << 8 | p[1] : 27));
        break;
    case 9:
        cons_group_close(s->g, s->now);
        break;
    case 10:
        answer_fetch(s, p, n);
        break;
    default:
        answer_offsets(s, p, n);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    static const char *const topics[] = {"t"};
    static const struct cons_topic_meta meta[] = {{"t", 4}};
    struct cons_group_config gc = {.group_id = "grp",
                                   .group_instance_id = (data[0] & 1) ? "inst" : NULL,
                                   .topics = topics,
                                   .num_topics = 1,
                                   .session_timeout_ms = 6000,
                                   .heartbeat_interval_ms = 500,
                                   .rebalance_timeout_ms = 10000};
    struct session s;
    memset(&s, 0, sizeof s);
    s.g = cons_group_new(&gc);
    cons_group_set_topic_meta(s.g, meta, 1);
    struct cons_fetcher_config fc = {.read_uncommitted = (data[0] & 2) != 0,
                                     .check_crcs = (data[0] & 4) != 0,
                                     .decompress_limit = 1 << 20,
                                     .start = CONS_START_TRIM_HORIZON};
    cons_fetcher_init(&s.f, &fc, deliver, &s);
    s.now = 1000;
    size_t off = 1;
    drain(&s);
    for (int steps = 0; steps < 256 && off + 3 <= size; steps++) {
        uint8_t op = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (len > size - off) {
            len = size - off;
        }
        step(&s, op, data + off, len);
        off += len;
        drain(&s);
    }
    cons_fetcher_cleanup(&s.f);
    cons_group_free(s.g);
    return 0;
}
