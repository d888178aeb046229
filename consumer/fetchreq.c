// fetchreq.c: the Fetch request (see fetcher.h): which partitions go first and what limit each
// asks for under the request's MaxBytes. No I/O, no clock.
//
// A broker fills a Fetch answer partition by partition in request order and stops at the
// request's MaxBytes (KIP-74; FetchRequest v3+): only the first partition with data is sure of
// a whole batch beyond the limits. So the order decides who is served when the grant is small,
// and the per-partition limits decide how many partitions share one answer.
#include "base/alloc.h"
#include "consumer/fetcher.h"
#include "proto/fetch.h"

#include <stdlib.h>
#include <string.h>

static bool marked(const struct cons_part *p, int32_t broker)
{
    return p->fetching && p->fetch_broker == broker && p->topic != NULL;
}

static size_t floor_of(const struct cons_part *p)
{
    size_t own = p->max_bytes > 0 ? (size_t)p->max_bytes : 1;
    return own < CONS_FETCH_PART_FLOOR ? own : CONS_FETCH_PART_FLOOR;
}

// clamp_ask keeps |v| between the partition's floor and its limit, and at least its batch hint
// (the size its recent whole batches needed), so a whole batch can come.
static size_t clamp_ask(const struct cons_part *p, size_t v)
{
    size_t lo = floor_of(p), hi = (size_t)p->max_bytes;
    if (p->hint > 0 && (size_t)p->hint > lo) {
        lo = (size_t)p->hint < hi ? (size_t)p->hint : hi;
    }
    return v < lo ? lo : v > hi ? hi : v;
}

// need is what a partition asks for before the grant is known: its whole limit when it had
// data last time, its idle ask (the floor, or its batch hint) when it was caught up.
static size_t need(const struct cons_part *p)
{
    return p->busy ? (size_t)p->max_bytes : clamp_ask(p, 0);
}

size_t cons_fetcher_fetch_want(const struct cons_fetcher *f, int32_t broker)
{
    size_t cap = (size_t)f->cfg.max_bytes, sum = 0;
    for (size_t i = 0; i < f->num_parts && sum < cap; i++) {
        if (marked(&f->parts[i], broker)) {
            sum += need(&f->parts[i]); // each term <= INT32_MAX: no overflow before the cap
        }
    }
    return sum == 0 ? 1 : sum < cap ? sum : cap;
}

// share_of returns what each busy partition may ask for under |grant|: the grant less what the
// idle ones ask for, split evenly.
static size_t share_of(const struct cons_fetcher *f, int32_t broker, size_t grant)
{
    size_t fixed = 0, busy = 0;
    for (size_t i = 0; i < f->num_parts; i++) {
        const struct cons_part *p = &f->parts[i];
        if (marked(p, broker)) {
            busy += p->busy ? 1 : 0;
            fixed += p->busy ? 0 : clamp_ask(p, 0);
        }
    }
    return busy == 0 || fixed >= grant ? 0 : (grant - fixed) / busy;
}

int32_t cons_fetcher_part_ask(const struct cons_part *p, size_t share)
{
    return (int32_t)clamp_ask(p, p->busy ? share : 0);
}

// struct slot: a marked partition's place in the request. Partitions that brought records least
// recently go first (Java's consumer likewise moves a partition that returned data to the end),
// then table order from f->rot, so a small grant reaches every busy partition in turn.
struct slot {
    uint64_t served;
    size_t dist;
    size_t idx;
};

static int slot_cmp(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;
    if (x->served != y->served) {
        return x->served < y->served ? -1 : 1;
    }
    return x->dist < y->dist ? -1 : x->dist > y->dist ? 1 : 0;
}

// order_marked fills |out| with the marked partitions in request order; returns how many.
static size_t order_marked(const struct cons_fetcher *f, int32_t broker, struct slot *out)
{
    size_t n = f->num_parts, m = 0, r0 = n > 0 ? f->rot % n : 0;
    for (size_t i = 0; i < n; i++) {
        if (marked(&f->parts[i], broker)) {
            out[m++] = (struct slot){f->parts[i].served, (i + n - r0) % n, i};
        }
    }
    qsort(out, m, sizeof *out, slot_cmp);
    return m;
}

bool cons_fetcher_write_request(struct cons_fetcher *f, int32_t broker, int16_t version, kw *w)
{
    return cons_fetcher_write_request_max(f, broker, version, f->cfg.max_bytes, w);
}

bool cons_fetcher_write_request_max(struct cons_fetcher *f, int32_t broker, int16_t version,
                                    int32_t max_bytes, kw *w)
{
    if (max_bytes <= 0) {
        max_bytes = f->cfg.max_bytes;
    }
    size_t n = f->num_parts;
    struct slot *order = xcalloc(n + 1, sizeof *order);
    struct kp_fetch_req_topic *topics = xcalloc(n + 1, sizeof *topics);
    struct kp_fetch_req_partition *ps = xcalloc(n + 1, sizeof *ps);
    size_t m = order_marked(f, broker, order), nt = 0, np = 0;
    size_t share = share_of(f, broker, (size_t)max_bytes);
    // Topics in the order of their first partition; each topic's partitions contiguous.
    for (size_t k = 0; k < m; k++) {
        const char *topic = f->parts[order[k].idx].topic;
        size_t t = 0;
        while (t < nt && strcmp(topics[t].topic, topic) != 0) {
            t++;
        }
        if (t == nt) {
            topics[nt++].topic = topic;
        }
    }
    for (size_t t = 0; t < nt; t++) {
        topics[t].partitions = &ps[np];
        for (size_t k = 0; k < m; k++) {
            struct cons_part *p = &f->parts[order[k].idx];
            if (strcmp(p->topic, topics[t].topic) != 0) {
                continue;
            }
            p->asked = cons_fetcher_part_ask(p, share);
            ps[np++] = (struct kp_fetch_req_partition){
                .partition = p->partition,
                .current_leader_epoch = p->leader_epoch,
                .fetch_offset = p->fetch_offset,
                .last_fetched_epoch = -1,
                .log_start_offset = -1,
                .partition_max_bytes = p->asked,
            };
            topics[t].num_partitions++;
        }
    }
    struct kp_fetch_req req = {.replica_id = -1,
                               .max_wait_ms = f->cfg.max_wait_ms,
                               .min_bytes = f->cfg.min_bytes,
                               .max_bytes = max_bytes,
                               .isolation_level = f->cfg.read_uncommitted ? 0 : 1,
                               .session_id = 0,
                               .session_epoch = -1,
                               .topics = topics,
                               .num_topics = nt};
    bool ok = kp_fetch_req_write(w, version, &req);
    free(order);
    free(topics);
    free(ps);
    return ok;
}
