// pipeline_track.c: the offsets of one partition not yet finished, for ParallelizationFactor > 1
// (see pipeline_int.h). Several batches of a partition are in flight at once and finish in any
// order, so a batch's own finished prefix says nothing about the records of the other lanes: the
// partition may be acknowledged only up to its lowest offset not yet finished.
#include "base/alloc.h"
#include "esm/pipeline_int.h"

#include <stdlib.h>
#include <string.h>

struct pl_track {
    unsigned refs;
    int64_t *off;        // offsets handed to the batcher, increasing (of a range: its last one)
    int64_t *first;      // per entry: its first offset (an undecodable range's; else off)
    unsigned char *done; // per entry
    unsigned char *lane; // per entry: its lane
    size_t head, len, cap;
    int64_t popped_next; // last finished offset + 1 once the queue emptied (-1: none)
    int64_t acked;       // the last acknowledgement made from it (-1: none)
};

struct pl_track *pl_track_new(void)
{
    struct pl_track *t = xcalloc(1, sizeof *t);
    t->refs = 1;
    t->popped_next = -1;
    t->acked = -1;
    return t;
}

struct pl_track *pl_track_ref(struct pl_track *t)
{
    t->refs++;
    return t;
}

void pl_track_unref(struct pl_track *t)
{
    if (t && --t->refs == 0) {
        free(t->off);
        free(t->first);
        free(t->done);
        free(t->lane);
        free(t);
    }
}

void pl_track_push(struct pl_track *t, int64_t offset, uint32_t lane)
{
    pl_track_push_range(t, offset, offset, lane);
}

void pl_track_push_range(struct pl_track *t, int64_t first, int64_t last, uint32_t lane)
{
    if (t->head > 0 && t->head >= t->len / 2) { // reuse the finished front
        memmove(t->off, t->off + t->head, (t->len - t->head) * sizeof *t->off);
        memmove(t->first, t->first + t->head, (t->len - t->head) * sizeof *t->first);
        memmove(t->done, t->done + t->head, t->len - t->head);
        memmove(t->lane, t->lane + t->head, t->len - t->head);
        t->len -= t->head;
        t->head = 0;
    }
    if (t->len == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->off = xrealloc(t->off, t->cap * sizeof *t->off);
        t->first = xrealloc(t->first, t->cap * sizeof *t->first);
        t->done = xrealloc(t->done, t->cap);
        t->lane = xrealloc(t->lane, t->cap);
    }
    t->off[t->len] = last;
    t->first[t->len] = first;
    t->lane[t->len] = (unsigned char)lane;
    t->done[t->len++] = 0;
}

void pl_track_done(struct pl_track *t, int64_t offset)
{
    size_t lo = t->head, hi = t->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->off[mid] < offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == t->len || t->off[lo] != offset) {
        return; // not tracked (added before a revoke reset it): nothing to say
    }
    t->done[lo] = 1;
    while (t->head < t->len && t->done[t->head]) {
        t->popped_next = t->off[t->head] + 1;
        t->head++;
    }
}

int64_t pl_track_next(const struct pl_track *t)
{
    return t->head < t->len ? t->first[t->head] : t->popped_next;
}

bool pl_track_ack(struct pl_track *t, int64_t *out_next)
{
    int64_t next = pl_track_next(t);
    if (t->popped_next < 0 || next <= t->acked) { // nothing finished at the front yet
        return false;
    }
    t->acked = next;
    *out_next = next;
    return true;
}

void pl_track_acked(struct pl_track *t, int64_t next)
{
    if (next > t->acked) {
        t->acked = next;
    }
}

void pl_track_lanes(const struct pl_track *t, uint32_t lanes, int64_t *oldest, uint64_t *pending)
{
    for (uint32_t l = 0; l < lanes; l++) {
        oldest[l] = -1;
        pending[l] = 0;
    }
    for (size_t i = t->head; i < t->len; i++) {
        uint32_t l = t->lane[i];
        if (t->done[i] || l >= lanes) {
            continue;
        }
        if (oldest[l] < 0) {
            oldest[l] = t->first[i];
        }
        pending[l] += (uint64_t)(t->off[i] - t->first[i]) + 1;
    }
}
