// batcher_take.c: handing batches out of the batcher's queues (see batcher.h): the records to
// take (plan), the payload assembled from the queued records' JSON, the batches of one oversized,
// rejected or undecodable entry, and the batch helpers callers use.
#include "base/alloc.h"
#include "invoke/batcher_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// batch_alloc: every offset and rec is written by the caller (no zeroing of large arrays).
static struct batch *batch_alloc(size_t num_records, size_t num_parts)
{
    struct batch *bt = xcalloc(1, sizeof *bt);
    bt->offsets = xmalloc(num_records * sizeof *bt->offsets);
    bt->recs = xmalloc(num_records * sizeof *bt->recs);
    bt->parts = xcalloc(num_parts, sizeof *bt->parts);
    bt->pidx = xcalloc(num_parts, sizeof *bt->pidx);
    return bt;
}

static void batch_part_init(struct batch_part *bp, const struct part *p)
{
    bp->topic = xstrndup(p->topic, p->topic_len);
    bp->topic_len = p->topic_len;
    bp->partition = p->partition;
    bp->key = xstrdup(p->key);
}

// take_reject hands out the rejected record at the head of partition |pi| as a batch of its own,
// with a payload (the on-failure destination gets the record as it came).
static struct batch *take_reject(struct batcher *b, size_t pi)
{
    struct part *p = &b->parts[pi];
    struct entry *e = &p->q[p->q_head++];
    b->pending_bytes -= e->len;
    struct batch *bt = batch_alloc(1, 1);
    bt->reason = BATCH_REASON_OVERSIZED;
    bt->reject = e->reject;
    bt->num_records = 1;
    bt->num_parts = 1;
    bt->offsets[0] = e->offset;
    struct batch_part *bp = &bt->parts[0];
    batch_part_init(bp, p);
    bp->first_offset = bp->last_offset = e->offset;
    bp->first_timestamp = bp->last_timestamp = e->timestamp;
    bp->num_records = 1;
    bt->pidx[0] = pi;
    struct buf out;
    buf_init(&out);
    inv_event_head_write(&out, &b->cfg.event);
    inv_event_group_open(&out, p->topic, p->topic_len, p->partition);
    bt->recs[0] = (struct batch_rec){.start = out.len,
                                     .len = e->len,
                                     .timestamp = e->timestamp,
                                     .key_len = e->key_null ? 0 : e->key_len,
                                     .key_null = e->key_null};
    bt_arena_copy(&p->ev, e->off, e->len, buf_reserve(&out, e->len));
    out.len += e->len;
    if (!e->key_null && e->key_len > 0) {
        bt->keys = xmalloc(e->key_len);
        bt_arena_copy(&p->keys, e->key_off, e->key_len, (char *)bt->keys);
    }
    inv_event_group_close(&out);
    inv_event_tail_write(&out);
    bt->payload = buf_steal(&out, &bt->payload_len);
    bt_recount(p);
    bt_compact(b, p);
    return bt;
}

static struct batch *take_oversized(struct batcher *b, size_t pi)
{
    struct part *p = &b->parts[pi];
    if (p->q[p->q_head].reject) {
        return take_reject(b, pi);
    }
    struct entry *e = &p->q[p->q_head++];
    struct batch *bt = batch_alloc(1, 1);
    bt->reason = BATCH_REASON_OVERSIZED;
    bt->oversized = true;
    bt->oversized_len = e->len;
    bt->num_records = 1;
    bt->num_parts = 1;
    bt->offsets[0] = e->offset;
    bt->recs[0] = (struct batch_rec){.timestamp = e->timestamp, .key_null = true};
    struct batch_part *bp = &bt->parts[0];
    batch_part_init(bp, p);
    bp->first_offset = bp->last_offset = e->offset;
    bp->first_timestamp = bp->last_timestamp = e->timestamp;
    bp->num_records = 1;
    bt->pidx[0] = pi;
    p->blocked = b->cfg.oversize == BATCH_OVERSIZE_BLOCK;
    if (e->gap != BATCH_GAP_NONE) {
        bt->gap = e->gap;
        bp->first_offset = e->first;
        p->blocked = false; // a range that cannot be decoded never blocks its partition
    }
    bt_recount(p);
    bt_compact(b, p);
    return bt;
}

// other_lane_taken: another lane of part |i|'s partition already gives records to this batch (a
// payload holds each partition once, under its "topic-partition" key).
static bool other_lane_taken(const struct batcher *b, const size_t *take, size_t i)
{
    if (b->cfg.lanes <= 1) {
        return false;
    }
    const struct part *p = &b->parts[i];
    for (size_t j = 0; j < b->num_parts; j++) {
        if (j != i && take[j] > 0 &&
            bt_same_partition(&b->parts[j], p->topic, p->topic_len, p->partition)) {
            return true;
        }
    }
    return false;
}

// plan picks records in arrival order: returns how many to take from each idle partition
// (take[pi]), in which order the partitions first appear (order[], *out_groups) and the totals.
// Records arrive in runs per partition (one fetch response at a time), so it takes whole runs: the
// partition holding the oldest record gives every record older than the oldest of any other
// partition before the partitions are scanned again.
static size_t plan(struct batcher *b, size_t *take, size_t *order, size_t *out_groups,
                   size_t *out_bytes)
{
    size_t count = 0, groups = 0, bytes = b->head_len;
    bool full = false;
    while (!full && count < b->cfg.batch_size) {
        size_t best = SIZE_MAX;
        uint64_t best_seq = UINT64_MAX, next_seq = UINT64_MAX;
        for (size_t i = 0; i < b->num_parts; i++) {
            struct part *p = &b->parts[i];
            if (p->inflight || take[i] >= p->avail || other_lane_taken(b, take, i)) {
                continue;
            }
            uint64_t seq = p->q[p->q_head + take[i]].seq;
            if (seq < best_seq) {
                next_seq = best_seq;
                best_seq = seq;
                best = i;
            } else if (seq < next_seq) {
                next_seq = seq;
            }
        }
        if (best == SIZE_MAX) {
            break;
        }
        struct part *p = &b->parts[best];
        const struct entry *e = &p->q[p->q_head + take[best]];
        size_t lim = p->avail - take[best], k = 0;
        if (lim > b->cfg.batch_size - count) {
            lim = b->cfg.batch_size - count;
        }
        if (take[best] == 0) { // the partition's group opens with its first record
            // (its first record is the oldest of all: best_seq < next_seq)
            size_t add = (groups ? 1 : 0) + p->group_len + e->len;
            if (bytes + add > b->cfg.max_payload) {
                break; // cut before the record that would cross the cap
            }
            order[groups++] = best;
            bytes += add;
            k = 1;
        }
        for (; k < lim; k++) {
            if (e[k].seq > next_seq) {
                break; // another partition holds an older record
            }
            if (bytes + e[k].len + 1 > b->cfg.max_payload) {
                full = true; // cut before the record that would cross the cap
                break;
            }
            bytes += e[k].len + 1;
        }
        take[best] += k;
        count += k;
    }
    *out_groups = groups;
    *out_bytes = bytes;
    return count;
}

static struct batch *take_batch(struct batcher *b, enum batch_reason reason)
{
    size_t *take = xcalloc(b->num_parts, sizeof *take);
    size_t *order = xcalloc(b->num_parts, sizeof *order);
    size_t groups, bytes;
    size_t count = plan(b, take, order, &groups, &bytes);
    struct batch *bt = NULL;
    if (count == 0) {
        goto out;
    }
    bt = batch_alloc(count, groups);
    bt->reason = reason;
    bt->num_records = count;
    bt->num_parts = groups;
    // The payload is exactly |bytes| long: reserve once and copy each group's span in place. The
    // reserve rounds the allocation up to a power of two, so successive payloads reuse the same
    // malloc chunks instead of fragmenting the heap with slightly different sizes.
    struct buf out, keys;
    buf_init(&out);
    buf_init(&keys);
    if (b->spare_payload && b->spare_payload_cap / 4 > bytes) {
        free(b->spare_payload); // left by a spike: give it back
        b->spare_payload = NULL;
        b->spare_payload_cap = 0;
    } else if (b->spare_payload && b->spare_payload_cap > bytes) {
        // A completed payload's memory, already faulted in: no fresh pages for this one.
        out.p = b->spare_payload;
        out.cap = b->spare_payload_cap;
        b->spare_payload = NULL;
        b->spare_payload_cap = 0;
    }
    buf_reserve(&out, bytes);
    inv_event_head_write(&out, &b->cfg.event);
    size_t ri = 0;
    for (size_t g = 0; g < groups; g++) {
        struct part *p = &b->parts[order[g]];
        struct batch_part *bp = &bt->parts[g];
        batch_part_init(bp, p);
        bt->pidx[g] = order[g];
        bp->first_index = ri;
        bp->num_records = take[order[g]];
        if (g) {
            buf_addc(&out, ',');
        }
        inv_event_group_open(&out, p->topic, p->topic_len, p->partition);
        const struct entry *q = &p->q[p->q_head];
        size_t n = bp->num_records;
        // The taken records are consecutive and none is oversized, so their objects are one
        // span of p->ev, separated by commas.
        size_t base = q[0].off, span = q[n - 1].off + q[n - 1].len - base;
        if (span >= out.cap - out.len) {
            abort(); // plan() and the arena disagree
        }
        size_t part_bytes = n - 1;
        size_t at = out.len - base;
        bt_arena_copy(&p->ev, base, span, out.p + out.len);
        size_t kbase = SIZE_MAX, kend = 0;
        for (size_t k = 0; k < n; k++) {
            const struct entry *e = &q[k];
            bt->recs[ri] = (struct batch_rec){.start = at + e->off,
                                              .len = e->len,
                                              .timestamp = e->timestamp,
                                              .key_len = e->key_null ? 0 : e->key_len,
                                              .key_null = e->key_null};
            if (!e->key_null) {
                kbase = kbase == SIZE_MAX ? e->key_off : kbase;
                kend = e->key_off + e->key_len;
                bt->recs[ri].key_off = keys.len + e->key_off - kbase;
            }
            bt->offsets[ri++] = e->offset;
            part_bytes += e->len;
        }
        if (part_bytes != span) {
            abort(); // the records are not one span
        }
        if (kbase != SIZE_MAX) { // the keys of consecutive records are consecutive too
            bt_arena_copy(&p->keys, kbase, kend - kbase, buf_reserve(&keys, kend - kbase));
            keys.len += kend - kbase;
        }
        out.len += span;
        p->avail_bytes -= span - (n - 1);
        b->pending_bytes -= span - (n - 1);
        inv_event_group_close(&out);
        bp->first_offset = q[0].offset;
        bp->first_timestamp = q[0].timestamp;
        bp->last_offset = q[n - 1].offset;
        bp->last_timestamp = q[n - 1].timestamp;
        p->q_head += n;
        p->avail -= n;
        p->inflight = true;
        bt_compact(b, p);
    }
    inv_event_tail_write(&out);
    if (out.len != bytes) {
        // The size functions and writers disagree: a bug that would break the cap guarantee.
        abort();
    }
    bt->payload_cap = out.cap;
    bt->payload = buf_steal(&out, &bt->payload_len);
    bt->keys = keys.len > 0 ? (uint8_t *)buf_steal(&keys, NULL) : NULL;
    buf_cleanup(&keys);
out:
    free(take);
    free(order);
    return bt;
}

struct batch *batcher_next(struct batcher *b, int64_t now_ms)
{
    enum batch_reason reason;
    int64_t deadline;
    bool ready = bt_readiness(b, &reason, &deadline);
    if (!ready && deadline <= now_ms) {
        ready = true;
        reason = BATCH_REASON_WINDOW;
    }
    if (!ready) {
        return NULL;
    }
    struct batch *bt = NULL;
    if (reason == BATCH_REASON_OVERSIZED) {
        for (size_t i = 0; i < b->num_parts; i++) {
            if (bt_part_ready_oversized(&b->parts[i])) {
                bt = take_oversized(b, i);
                b->parts[i].inflight = true;
                break;
            }
        }
    } else {
        bt = take_batch(b, reason);
    }
    if (bt == NULL) {
        return NULL;
    }
    bt->id = b->next_id++;
    b->inflight++;
    b->pending -= bt->num_records;
    if (b->pending == 0) {
        b->flush = false;
    }
    return bt;
}

bool batch_has_record(const struct batch *batch, const char *key, int64_t offset)
{
    for (size_t g = 0; g < batch->num_parts; g++) {
        const struct batch_part *bp = &batch->parts[g];
        if (strcmp(bp->key, key) != 0) {
            continue;
        }
        // Offsets increase within a part: binary search.
        size_t lo = bp->first_index, hi = bp->first_index + bp->num_records;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (batch->offsets[mid] == offset) {
                return true;
            }
            if (batch->offsets[mid] < offset) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return false;
    }
    return false;
}

bool batch_check_failures(const struct batch *batch, struct inv_result *res)
{
    if (res->kind != INV_RESULT_PARTIAL) {
        return true;
    }
    for (size_t i = 0; i < res->num_failures; i++) {
        const struct inv_item_failure *f = &res->failures[i];
        if (!batch_has_record(batch, f->partition, f->offset)) {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "batchItemFailures names %.100s offset %lld, which is not in the batch",
                     f->partition, (long long)f->offset);
            int status = res->status;
            inv_result_cleanup(res);
            res->kind = INV_RESULT_FUNCTION_ERROR;
            res->status = status;
            res->message = xstrdup(msg);
            return false;
        }
    }
    return true;
}

void batch_free(struct batch *batch)
{
    if (batch == NULL) {
        return;
    }
    for (size_t g = 0; g < batch->num_parts; g++) {
        free(batch->parts[g].topic);
        free(batch->parts[g].key);
    }
    free(batch->parts);
    free(batch->offsets);
    free(batch->recs);
    free(batch->keys);
    free(batch->pidx);
    free(batch->payload);
    free(batch);
}
