// batcher_int.h: internals shared by invoke/batcher*.c (not a public API): the queue of each
// partition lane, the record blobs the queues hold, and the helpers the hand-out side uses.
#ifndef INVOKE_BATCHER_INT_H
#define INVOKE_BATCHER_INT_H

#include "base/buf.h"
#include "invoke/batcher.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct entry {
    uint64_t seq;   // arrival order across partitions
    size_t off;     // blob offset in part.raw (unused when oversized)
    size_t len;     // encoded record length; for an oversized record, its whole event size
    int64_t offset; // Kafka offset (of a gap: its last offset)
    int64_t timestamp;
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
    struct buf raw; // the queued records' blobs (raw_put)
    struct entry *q;
    size_t q_head, q_len, q_cap; // live entries are q[q_head .. q_len)
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
    struct inv_header *hdrs; // scratch for decoding a blob's headers
    size_t hdrs_cap;
    struct inv_schema_meta metas[2]; // scratch for a blob's key and value schema metadata
};

// ---- record blobs (batcher_raw.c) -----------------------------------------------------------

// bt_raw_put appends |rec|'s blob to |out|.
void bt_raw_put(struct buf *out, const struct inv_record *rec);
// bt_raw_get fills |r| (offset, timestamp, topic and partition excepted) with views into the blob
// at |p|; headers and schema metadata go to b's scratch space, valid until the next call.
void bt_raw_get(struct batcher *b, const char *p, struct inv_record *r);
// bt_put_bytes copies |n| bytes to |o| and returns the end.
char *bt_put_bytes(char *o, const void *p, size_t n);

// ---- queues (batcher.c) ---------------------------------------------------------------------

bool bt_same_partition(const struct part *p, const char *topic, size_t topic_len,
                       int32_t partition);
// bt_recount recomputes avail/avail_bytes after the head of the queue moved; bt_compact drops
// consumed entries and blob bytes once they dominate.
void bt_recount(struct part *p);
void bt_compact(struct part *p);
// bt_part_ready_oversized: the head of |p| goes out alone (oversized, or a rejected record).
bool bt_part_ready_oversized(const struct part *p);
// bt_readiness evaluates the cut rules over idle lanes: true if a batch is ready now (with
// *out_reason), else false with *out_deadline the window expiry (INT64_MAX if none).
bool bt_readiness(const struct batcher *b, enum batch_reason *out_reason, int64_t *out_deadline);

#endif
