// batcher.c: count / window / encoded-byte-cap batching, one batch in flight per partition.
//
// Each added record is encoded at once, its JSON object (base64 key and value, headers, schema
// metadata) appended to its partition lane's event arena followed by a ',', so the batcher keeps
// no pointers into the caller's memory, each record is encoded exactly once, and its exact
// length decides the cuts. A batch's payload is assembled from the arenas: the event's head, then
// per partition its group's opening, one copy of its queued records' span, and ']'.
//
// This file holds the queues (adding, readiness, completion, dropping); handing batches out is
// batcher_take.c's.
#include "invoke/batcher.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "invoke/batcher_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void batcher_cfg_defaults(struct batcher_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->batch_size = BATCH_SIZE_DEFAULT;
    cfg->window_ms = BATCH_WINDOW_MS_DEFAULT;
    cfg->max_payload = BATCH_MAX_PAYLOAD;
    cfg->max_inflight = 0;
    cfg->oversize = BATCH_OVERSIZE_SKIP;
    cfg->event.source = INV_EVENT_SELF_MANAGED;
}

int batcher_new(struct batcher **out, const struct batcher_cfg *cfg, struct inv_err *err)
{
    *out = NULL;
    if (cfg->batch_size < 1 || cfg->batch_size > BATCH_SIZE_MAX) {
        return inv_fail(err, -1, "batcher: BatchSize %u is outside 1..%d", cfg->batch_size,
                        BATCH_SIZE_MAX);
    }
    if (cfg->window_ms > BATCH_WINDOW_MS_MAX) {
        return inv_fail(err, -1, "batcher: batching window %u ms is outside 0..%d ms",
                        cfg->window_ms, BATCH_WINDOW_MS_MAX);
    }
    if (cfg->lanes > BATCH_MAX_LANES) {
        return inv_fail(err, -1, "batcher: %u lanes is outside 1..%d", cfg->lanes, BATCH_MAX_LANES);
    }
    if (cfg->event.source == INV_EVENT_MSK && cfg->event.event_source_arn == NULL) {
        return inv_fail(err, -1, "batcher: an MSK event source needs eventSourceArn");
    }
    size_t head = inv_event_head_len(&cfg->event);
    if (cfg->max_payload > BATCH_MAX_PAYLOAD || cfg->max_payload <= head) {
        return inv_fail(err, -1, "batcher: max_payload %zu is outside %zu..%d", cfg->max_payload,
                        head + 1, BATCH_MAX_PAYLOAD);
    }
    struct batcher *b = xcalloc(1, sizeof *b);
    b->cfg = *cfg;
    b->head_len = head;
    b->next_id = 1;
    *out = b;
    return 0;
}

static void part_cleanup(struct batcher *b, struct part *p)
{
    free(p->topic);
    free(p->key);
    free(p->rec_prefix);
    bt_arena_release(&b->pool, &p->ev, p->ev.end);
    bt_arena_release(&b->pool, &p->keys, p->keys.end);
    free(p->q);
}

void batcher_free(struct batcher *b)
{
    if (b == NULL) {
        return;
    }
    for (size_t i = 0; i < b->num_parts; i++) {
        part_cleanup(b, &b->parts[i]);
    }
    bt_pool_free(&b->pool);
    free(b->parts);
    free(b->spare_q);
    free(b->spare_payload);
    free(b);
}

bool bt_same_partition(const struct part *p, const char *topic, size_t topic_len, int32_t partition)
{
    return p->partition == partition && p->topic_len == topic_len &&
           memcmp(p->topic, topic, topic_len) == 0;
}

// PREFIX_COPY: a record prefix up to this long (a topic name of up to about 30 characters) is
// copied as one block of four fixed 16-byte moves, no loop.
#define PREFIX_COPY 64

static size_t find_part(struct batcher *b, const char *topic, size_t topic_len, int32_t partition,
                        uint32_t lane, bool create)
{
    if (b->last_hit < b->num_parts) {
        struct part *p = &b->parts[b->last_hit];
        if (p->lane == lane && bt_same_partition(p, topic, topic_len, partition)) {
            return b->last_hit;
        }
    }
    for (size_t i = 0; i < b->num_parts; i++) {
        struct part *p = &b->parts[i];
        if (p->lane == lane && bt_same_partition(p, topic, topic_len, partition)) {
            b->last_hit = i;
            return i;
        }
    }
    if (!create) {
        return SIZE_MAX;
    }
    b->parts = xrealloc(b->parts, (b->num_parts + 1) * sizeof *b->parts);
    struct part *p = &b->parts[b->num_parts];
    memset(p, 0, sizeof *p);
    p->topic = xstrndup(topic, topic_len);
    p->topic_len = topic_len;
    p->partition = partition;
    p->lane = lane;
    struct buf k;
    buf_init(&k);
    inv_event_partition_key(&k, topic, topic_len, partition);
    p->key = buf_steal(&k, NULL);
    p->group_len = inv_event_group_len(topic, topic_len, partition);
    inv_event_record_prefix_write(&k, topic, topic_len, partition);
    // Padded to 16 bytes, and to at least PREFIX_COPY: encode() copies it in 16-byte steps.
    p->rec_prefix_len = k.len;
    p->rec_prefix = xcalloc(1, k.len > PREFIX_COPY ? (k.len + 15) & ~(size_t)15 : PREFIX_COPY);
    memcpy(p->rec_prefix, k.p, k.len);
    buf_cleanup(&k);
    size_t fixed = b->head_len + p->group_len + p->rec_prefix_len;
    p->room = b->cfg.max_payload > fixed ? b->cfg.max_payload - fixed : 0;
    b->last_hit = b->num_parts;
    return b->num_parts++;
}

// bt_recount recomputes avail/avail_bytes after the head of the queue moved.
void bt_recount(struct part *p)
{
    p->avail = 0;
    p->avail_bytes = 0;
    for (size_t i = p->q_head; i < p->q_len && !p->q[i].oversized && !p->q[i].reject; i++) {
        p->avail++;
        p->avail_bytes += p->q[i].len;
    }
}

// An emptied partition keeps at most this many queue entries; its arena chunks go back to the
// batcher's pool (batcher_arena.c), so memory follows the records queued, not the number of
// partitions times their largest burst (one full Fetch answer, about 1 MiB per partition).
#define KEEP_ENTRIES 128u

// bt_compact gives back the arena chunks before the queue's head, shrinks an emptied
// partition's queue, and drops consumed entries once they dominate.
void bt_compact(struct batcher *b, struct part *p)
{
    size_t pos = p->ev.end, kpos = p->keys.end;
    for (size_t i = p->q_head; i < p->q_len; i++) {
        if (!p->q[i].oversized) { // positions grow along the queue: the first live one
            pos = p->q[i].off;
            break;
        }
    }
    for (size_t i = p->q_head; i < p->q_len && kpos == p->keys.end; i++) {
        if (!p->q[i].oversized && !p->q[i].key_null) {
            kpos = p->q[i].key_off;
        }
    }
    bt_arena_release(&b->pool, &p->ev, pos);
    bt_arena_release(&b->pool, &p->keys, kpos);
    if (p->q_head == p->q_len) {
        p->q_head = p->q_len = 0;
        if (p->q_cap > KEEP_ENTRIES) {
            // The largest emptied queue is kept for the next partition that starts a run, so
            // partitions taking turns do not grow (realloc, copy) a queue each time.
            p->q_hint = p->q_cap;
            if (b->spare_cap < p->q_cap) {
                free(b->spare_q);
                b->spare_q = p->q;
                b->spare_cap = p->q_cap;
            } else {
                free(p->q);
            }
            p->q = NULL;
            p->q_cap = 0;
        }
        return;
    }
    if (p->q_head < 1024 || p->q_head < p->q_len / 2) {
        return;
    }
    memmove(p->q, p->q + p->q_head, (p->q_len - p->q_head) * sizeof *p->q);
    p->q_len -= p->q_head;
    p->q_head = 0;
}

// grow_queue makes room for one more entry: the batcher's spare queue when |p|'s is empty and
// smaller, else twice the room (for a queue given back earlier, at once the room its last run
// reached).
static void grow_queue(struct batcher *b, struct part *p)
{
    if (p->q_head == p->q_len && b->spare_cap > p->q_cap) {
        free(p->q);
        p->q = b->spare_q;
        p->q_cap = b->spare_cap;
        p->q_head = p->q_len = 0;
        b->spare_q = NULL;
        b->spare_cap = 0;
        return;
    }
    size_t cap = p->q_cap ? p->q_cap * 2 : 64;
    if (p->q_cap == 0 && cap < p->q_hint) {
        cap = p->q_hint; // the size its last run reached: one allocation, no copies as it grows
    }
    p->q_cap = cap;
    p->q = xrealloc(p->q, p->q_cap * sizeof *p->q);
}

// encode appends |rec|'s JSON object and a ',' to p->ev and returns the object's length, or
// SIZE_MAX (appending nothing) when its event would exceed max_payload (oversized). Most records
// are written at once into room for their upper bound (inv_event_record_rest_max); only a record
// whose bound does not fit is measured exactly first, so an oversized one is never copied.
// Inlined into add_to (once per record).
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline size_t
encode(struct batcher *b, struct part *p, const struct inv_record *rec)
{
    size_t room = p->room, bound;
    if (rec->num_headers == 0 && !rec->key_meta && !rec->value_meta) {
        // inv_event_record_rest_max's sum for a record without headers or schema metadata: the
        // two numbers at 20 digits, the longest timestamp type, "headers":[] and the braces.
        // A base64 length, (n + 2) / 3 * 4, is at most n + n / 2 + 3 (no division).
        bound = 103 + (rec->key.is_null ? 0 : 12 + rec->key.len + rec->key.len / 2) +
                (rec->value.is_null ? 13 : 14 + rec->value.len + rec->value.len / 2);
    } else {
        bound = inv_event_record_rest_max(&b->cfg.event, rec);
    }
    if (bound > room) {
        bound = inv_event_record_rest_len(&b->cfg.event, rec);
        if (bound > room) {
            return SIZE_MAX;
        }
    }
    // The prefix is copied in 16-byte steps (at least PREFIX_COPY bytes): what they write past
    // it lands in the record's own room (bound >= 103), overwritten by the rest.
    size_t plen = p->rec_prefix_len;
    char *start = bt_arena_reserve(&b->pool, &p->ev, plen + bound + 16);
    if (plen <= PREFIX_COPY) {
        memcpy(start, p->rec_prefix, 16);
        memcpy(start + 16, p->rec_prefix + 16, 16);
        memcpy(start + 32, p->rec_prefix + 32, 16);
        memcpy(start + 48, p->rec_prefix + 48, 16);
    } else {
        for (size_t k = 0; k < plen; k += 16) {
            memcpy(start + k, p->rec_prefix + k, 16);
        }
    }
    char *o = inv_event_record_put_rest_nums(start + plen, &b->cfg.event, rec, &p->nums);
    *o++ = ',';
    size_t len = (size_t)(o - start);
    bt_arena_commit(&p->ev, len);
    return len - 1;
}

uint32_t batcher_lane(uint32_t lanes, const struct inv_record *rec)
{
    if (lanes <= 1) {
        return 0;
    }
    if (rec->key.is_null) {
        return (uint32_t)((uint64_t)rec->offset % lanes); // no key order to keep: spread them
    }
    uint32_t h = 2166136261u; // FNV-1a
    for (size_t i = 0; i < rec->key.len; i++) {
        h = (h ^ rec->key.p[i]) * 16777619u;
    }
    return h % lanes;
}

int batcher_add(struct batcher *b, const struct inv_record *rec, int64_t now_ms,
                struct inv_err *err)
{
    return batcher_add_hint(b, rec, now_ms, NULL, err);
}

// hinted_part finds the queue of |rec|'s partition lane, through |hint| where it can.
static size_t hinted_part(struct batcher *b, const struct inv_record *rec, size_t *hint)
{
    if (b->cfg.lanes <= 1 && hint && *hint < b->num_parts &&
        b->parts[*hint].partition == rec->partition) {
        return *hint; // the caller vouches for the topic (batcher.h)
    }
    uint32_t lane = batcher_lane(b->cfg.lanes, rec);
    size_t pi = find_part(b, rec->topic, rec->topic_len, rec->partition, lane, true);
    if (hint) {
        *hint = b->cfg.lanes <= 1 ? pi : SIZE_MAX;
    }
    return pi;
}

// add_to encodes |rec| and queues it on |p| (batcher_add_hint past finding the queue); inlined
// into batcher_add_run's loop, where the call would cost a tenth of the work.
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int
add_to(struct batcher *b, struct part *p, const struct inv_record *rec, int64_t now_ms,
       struct inv_err *err)
{
    if (p->has_last && rec->offset <= p->last_offset) {
        return inv_fail(err, -1, "batcher: partition %s: offset %lld after %lld", p->key,
                        (long long)rec->offset, (long long)p->last_offset);
    }
    if (p->q_len == p->q_cap) {
        grow_queue(b, p);
    }
    struct entry *e = &p->q[p->q_len];
    *e = (struct entry){.seq = b->next_seq++, .offset = rec->offset, .timestamp = rec->timestamp};
    size_t len = encode(b, p, rec);
    if (len == SIZE_MAX) {
        e->oversized = true;
        e->len = b->head_len + p->group_len + p->rec_prefix_len +
                 inv_event_record_rest_len(&b->cfg.event, rec);
    } else {
        e->off = p->ev.end - len - 1;
        e->len = len;
        e->key_null = rec->key.is_null;
        if (!rec->key.is_null) {
            e->key_off = p->keys.end;
            e->key_len = rec->key.len;
            if (rec->key.len > 0) {
                memcpy(bt_arena_reserve(&b->pool, &p->keys, rec->key.len), rec->key.p,
                       rec->key.len);
                bt_arena_commit(&p->keys, rec->key.len);
            }
        }
        b->pending_bytes += len;
    }
    bool behind_oversized = p->avail < p->q_len - p->q_head;
    e->reject = e->oversized ? NULL : rec->reject;
    if (p->q_head == p->q_len && !p->inflight) {
        p->window_start = now_ms;
    }
    p->q_len++;
    if (!e->oversized && !e->reject && !behind_oversized) {
        p->avail++;
        p->avail_bytes += len;
    }
    p->has_last = true;
    p->last_offset = rec->offset;
    b->pending++;
    return 0;
}

int batcher_add_hint(struct batcher *b, const struct inv_record *rec, int64_t now_ms, size_t *hint,
                     struct inv_err *err)
{
    size_t pi = hinted_part(b, rec, hint); // may move b->parts
    return add_to(b, &b->parts[pi], rec, now_ms, err);
}

size_t batcher_add_run(struct batcher *b, const struct inv_record *recs, size_t n, int64_t now_ms,
                       size_t *hint, struct inv_err *err)
{
    if (n == 0) {
        return 0;
    }
    if (b->cfg.lanes > 1) { // a partition's records may go to several lanes
        for (size_t i = 0; i < n; i++) {
            if (batcher_add_hint(b, &recs[i], now_ms, hint, err) != 0) {
                return i;
            }
        }
        return n;
    }
    size_t pi = hinted_part(b, &recs[0], hint); // may move b->parts
    struct part *p = &b->parts[pi];
    for (size_t i = 0; i < n; i++) {
        if (add_to(b, p, &recs[i], now_ms, err) != 0) {
            return i;
        }
    }
    return n;
}

int batcher_add_gap(struct batcher *b, const char *topic, size_t topic_len, int32_t partition,
                    int64_t first_offset, int64_t last_offset, int64_t timestamp,
                    enum batch_gap gap, int64_t now_ms, struct inv_err *err)
{
    // An undecodable range has no keys: it takes lane 0, in offset order with that lane's records
    // (the pipeline holds the partition's commit below it until it is disposed of).
    size_t pi = find_part(b, topic, topic_len, partition, 0, true);
    struct part *p = &b->parts[pi];
    if ((p->has_last && first_offset <= p->last_offset) || last_offset < first_offset) {
        return inv_fail(err, -1, "batcher: partition %s: range %lld-%lld after %lld", p->key,
                        (long long)first_offset, (long long)last_offset,
                        (long long)(p->has_last ? p->last_offset : -1));
    }
    if (p->q_len == p->q_cap) {
        grow_queue(b, p);
    }
    struct entry *e = &p->q[p->q_len];
    memset(e, 0, sizeof *e);
    e->seq = b->next_seq++;
    e->offset = last_offset;
    e->first = first_offset;
    e->timestamp = timestamp;
    e->oversized = true;
    e->gap = gap == BATCH_GAP_NONE ? BATCH_GAP_CORRUPT : gap;
    if (p->q_head == p->q_len && !p->inflight) {
        p->window_start = now_ms;
    }
    p->q_len++;
    p->has_last = true;
    p->last_offset = last_offset;
    b->pending++;
    return 0;
}

// bt_part_ready_oversized: the head of |p| goes out alone (oversized, or a rejected record).
bool bt_part_ready_oversized(const struct part *p)
{
    return !p->inflight && p->q_head < p->q_len &&
           (p->q[p->q_head].oversized || p->q[p->q_head].reject);
}

// bt_readiness evaluates the cut rules over idle partitions. Returns true if a batch is ready now
// (with *out_reason), else false with *out_deadline the window expiry (INT64_MAX if none).
bool bt_readiness(const struct batcher *b, enum batch_reason *out_reason, int64_t *out_deadline)
{
    *out_deadline = INT64_MAX;
    if (b->cfg.max_inflight && b->inflight >= b->cfg.max_inflight) {
        return false;
    }
    size_t count = 0, groups = 0, bytes = b->head_len;
    bool oversized_waits = false, any = false;
    int64_t oldest = INT64_MAX;
    for (size_t i = 0; i < b->num_parts; i++) {
        const struct part *p = &b->parts[i];
        if (p->inflight || p->q_head == p->q_len) {
            continue;
        }
        if (bt_part_ready_oversized(p)) {
            *out_reason = BATCH_REASON_OVERSIZED;
            return true;
        }
        any = true;
        if (p->avail < p->q_len - p->q_head) {
            oversized_waits = true;
        }
        count += p->avail;
        bytes += (groups ? 1 : 0) + p->group_len + p->avail_bytes + (p->avail - 1);
        groups++;
        if (p->window_start < oldest) {
            oldest = p->window_start;
        }
    }
    if (!any) {
        return false;
    }
    if (count >= b->cfg.batch_size) {
        *out_reason = BATCH_REASON_COUNT;
        return true;
    }
    if (bytes > b->cfg.max_payload || oversized_waits) {
        *out_reason = BATCH_REASON_BYTES;
        return true;
    }
    if (b->flush) {
        *out_reason = BATCH_REASON_FLUSH;
        return true;
    }
    *out_deadline = oldest > INT64_MAX - (int64_t)b->cfg.window_ms
                        ? INT64_MAX
                        : oldest + (int64_t)b->cfg.window_ms;
    return false;
}

int64_t batcher_next_deadline(const struct batcher *b)
{
    enum batch_reason reason;
    int64_t deadline;
    if (bt_readiness(b, &reason, &deadline)) {
        return INT64_MIN;
    }
    return deadline;
}

void batcher_flush(struct batcher *b)
{
    b->flush = b->pending > 0;
}

// SPARE_PAYLOAD_MAX: the largest completed payload kept for the next batch (a full 6 MiB one,
// rounded up to a power of two); a spare more than four times what a batch needs is freed
// rather than kept (memory shrinks back after a spike).
#define SPARE_PAYLOAD_MAX (8u * 1024u * 1024u)

// keep_payload moves |batch|'s payload to the batcher's spare when it is worth keeping.
static void keep_payload(struct batcher *b, struct batch *batch)
{
    if (!batch->payload || batch->payload_cap > SPARE_PAYLOAD_MAX ||
        batch->payload_cap < b->spare_payload_cap / 4) {
        return;
    }
    free(b->spare_payload);
    b->spare_payload = batch->payload;
    b->spare_payload_cap = batch->payload_cap;
    batch->payload = NULL;
}

int batcher_complete(struct batcher *b, struct batch *batch, int64_t now_ms, struct inv_err *err)
{
    if (batch->oversized) {
        struct part *p = &b->parts[batch->pidx[0]];
        if (p->blocked && !p->dropped) {
            return inv_fail(err, -1,
                            "batcher: partition %s is blocked by a record of %zu bytes at "
                            "offset %lld (payload limit %zu)",
                            p->key, batch->oversized_len, (long long)batch->offsets[0],
                            b->cfg.max_payload);
        }
    }
    for (size_t g = 0; g < batch->num_parts; g++) {
        struct part *p = &b->parts[batch->pidx[g]];
        p->inflight = false;
        p->blocked = false;
        p->dropped = false;
        if (p->q_head < p->q_len) {
            p->window_start = now_ms;
        }
    }
    b->inflight--;
    keep_payload(b, batch);
    batch_free(batch);
    return 0;
}

static void drop_part(struct batcher *b, struct part *p)
{
    b->pending -= p->q_len - p->q_head;
    for (size_t i = p->q_head; i < p->q_len; i++) {
        b->pending_bytes -= p->q[i].oversized ? 0 : p->q[i].len;
    }
    p->q_head = p->q_len = 0;
    bt_arena_release(&b->pool, &p->ev, p->ev.end);
    bt_arena_release(&b->pool, &p->keys, p->keys.end);
    p->avail = p->avail_bytes = 0;
    p->has_last = false;
    if (p->inflight) {
        p->dropped = true;
    }
    if (b->pending == 0) {
        b->flush = false;
    }
}

void batcher_drop_partition(struct batcher *b, const char *topic, size_t topic_len,
                            int32_t partition)
{
    for (size_t i = 0; i < b->num_parts; i++) {
        if (bt_same_partition(&b->parts[i], topic, topic_len, partition)) {
            drop_part(b, &b->parts[i]);
        }
    }
}

size_t batcher_pending(const struct batcher *b)
{
    return b->pending;
}

size_t batcher_pending_bytes(const struct batcher *b)
{
    return b->pending_bytes;
}

size_t batcher_partition_queued(const struct batcher *b, const char *topic, size_t topic_len,
                                int32_t partition)
{
    size_t n = 0;
    for (size_t i = 0; i < b->num_parts; i++) {
        const struct part *p = &b->parts[i];
        if (bt_same_partition(p, topic, topic_len, partition)) {
            n += p->q_len - p->q_head;
        }
    }
    return n;
}

size_t batcher_inflight(const struct batcher *b)
{
    return b->inflight;
}
