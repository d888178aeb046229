// batcher_int.h: internals shared by invoke/batcher*.c (not a public API): the queue of each
// partition lane, the encoded records the queues hold, and the helpers the hand-out side uses.
#ifndef INVOKE_BATCHER_INT_H
#define INVOKE_BATCHER_INT_H

#include "base/buf.h"
#include "invoke/batcher.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// ---- arenas (batcher_arena.c) ----------------------------------------------------------------

// bt_arena: bytes appended at one growing position (a->end), kept in chunks so that appending
// never moves queued bytes; bt_pool: spare chunks shared by the batcher's arenas.
struct bt_chunk {
    struct bt_chunk *next;
    size_t pos;  // the position of data[0]
    size_t used; // bytes written
    size_t cap;
    char data[];
};
struct bt_arena {
    struct bt_chunk *head, *tail;
    size_t end; // the position after the last byte committed
};
struct bt_pool {
    struct bt_chunk *free;
    size_t n;
};

// bt_arena_reserve returns room for |n| contiguous bytes at position a->end;
// bt_arena_commit(a, k) appends the first k of them. Inline: once per record added.
char *bt_arena_reserve_chunk(struct bt_pool *pool, struct bt_arena *a, size_t n);
static inline char *bt_arena_reserve(struct bt_pool *pool, struct bt_arena *a, size_t n)
{
    struct bt_chunk *t = a->tail;
    if (t && t->cap - t->used >= n) {
        return t->data + t->used;
    }
    return bt_arena_reserve_chunk(pool, a, n);
}
static inline void bt_arena_commit(struct bt_arena *a, size_t n)
{
    a->tail->used += n;
    a->end += n;
}
// bt_arena_copy copies the |n| bytes from position |pos| (committed, not released) to |dst|.
void bt_arena_copy(const struct bt_arena *a, size_t pos, size_t n, char *dst);
// bt_arena_release gives back the chunks that hold nothing at or after |pos| (a->end: all).
void bt_arena_release(struct bt_pool *pool, struct bt_arena *a, size_t pos);
void bt_pool_free(struct bt_pool *pool);

// ---- queues ---------------------------------------------------------------------------------

struct entry {
    uint64_t seq;   // arrival order across partitions
    size_t off;     // the position of the record's JSON object in part.ev (not when oversized)
    size_t len;     // its length (without the ','); for an oversized record, its whole event size
    int64_t offset; // Kafka offset (of a gap: its last offset)
    int64_t timestamp;
    size_t key_off; // the position of the key's bytes in part.keys (not oversized, key not null)
    size_t key_len;
    bool key_null;
    bool oversized;
    enum batch_gap gap; // not NONE: an undecodable range (oversized too)
    int64_t first;      // a gap's first offset
    const char *reject; // handed out alone (a record the schema registry could not decode)
};

struct part {
    char *topic;
    size_t topic_len;
    int32_t partition;
    uint32_t lane; // 0 .. lanes-1 (ParallelizationFactor): records of one key share a lane
    char *key;
    size_t group_len; // inv_event_group_len
    char *rec_prefix; // inv_event_record_prefix_write of this partition, shared by its records
    size_t rec_prefix_len;
    size_t room; // max_payload less the event's head, the group and the prefix (0 if negative)
    // ev: the queued records' JSON objects, each encoded once when added and followed by a ','
    // (so a run of queued records is one contiguous, comma-separated span: a payload's group is
    // one copy); keys: their keys' bytes (batch_rec, failure records).
    struct bt_arena ev;
    struct bt_arena keys;
    struct inv_event_nums nums; // the last offset and timestamp printed (inv_event_put_rest_nums)
    struct entry *q;
    size_t q_head, q_len, q_cap; // live entries are q[q_head .. q_len)
    size_t q_hint;               // q_cap when its last queue was given back (grow_queue)
    size_t avail;                // entries before the first oversized one (from q_head)
    size_t avail_bytes;          // sum of their fragment lengths
    bool inflight;
    bool blocked;         // an oversized batch under BATCH_OVERSIZE_BLOCK is in flight
    bool dropped;         // dropped while in flight
    int64_t window_start; // when the oldest available record's window began
    bool has_last;
    int64_t last_offset;
};

struct batcher {
    struct batcher_cfg cfg;
    size_t head_len;
    struct part *parts;
    size_t num_parts;
    size_t last_hit;
    uint64_t next_seq;
    uint64_t next_id;
    size_t inflight;
    size_t pending;
    size_t pending_bytes; // encoded bytes of the queued records (oversized ones count 0)
    bool flush;
    struct bt_pool pool;   // spare arena chunks
    struct entry *spare_q; // the largest queue array given back by an emptied partition
    size_t spare_cap;
    char *spare_payload; // a completed batch's payload, for the next one (no fresh pages)
    size_t spare_payload_cap;
};

// ---- queues (batcher.c) ---------------------------------------------------------------------

bool bt_same_partition(const struct part *p, const char *topic, size_t topic_len,
                       int32_t partition);
// bt_recount recomputes avail/avail_bytes after the head of the queue moved; bt_compact gives
// back the arena chunks the queue's head passed and drops consumed entries once they dominate.
void bt_recount(struct part *p);
void bt_compact(struct batcher *b, struct part *p);
// bt_part_ready_oversized: the head of |p| goes out alone (oversized, or a rejected record).
bool bt_part_ready_oversized(const struct part *p);
// bt_readiness evaluates the cut rules over idle lanes: true if a batch is ready now (with
// *out_reason), else false with *out_deadline the window expiry (INT64_MAX if none).
bool bt_readiness(const struct batcher *b, enum batch_reason *out_reason, int64_t *out_deadline);

#endif
