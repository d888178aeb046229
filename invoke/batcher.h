// batcher.h: sans-I/O batching of records into Lambda Kafka event payloads.
//
// The batcher owns no clock and no I/O: the caller passes the monotonic time in milliseconds to
// every call that needs it, asks batcher_next_deadline() when to call again, takes ready batches
// with batcher_next(), and reports each batch done with batcher_complete().
//
// A batch is cut when the first of these holds (Lambda's rules, spec 3.3):
//   - BatchSize records are available (BATCH_REASON_COUNT),
//   - the available records would not fit in max_payload bytes of ENCODED event JSON, or an
//     oversized record waits behind them (BATCH_REASON_BYTES),
//   - the batching window of the oldest available record elapsed (BATCH_REASON_WINDOW),
//   - batcher_flush() was called (BATCH_REASON_FLUSH).
// The payload is filled in arrival order and cut before the first record that would make the
// encoded payload exceed max_payload, so payload_len <= max_payload always holds and adding the
// next record would have crossed it.
//
// Mixing partitions (decided here): like Lambda's pollers, one payload may carry records of several
// partitions, each under its own "<topic>-<partition>" key, contiguous and in offset order. A
// partition with a batch in flight contributes nothing to new batches (at most one batch in flight
// per partition keeps per-partition order); its newly added records wait, and their batching
// window starts when the in-flight batch completes. Batches that share no partition run
// concurrently: one per partition, up to max_inflight when it is set.
//
// Lanes (ParallelizationFactor): with lanes > 1 each partition is split into that many lanes, a
// record's lane chosen by a hash of its key (batcher_lane; null keys are spread by offset), and
// the rule above holds per lane: one batch in flight per lane, each lane in offset order, so
// records with the same key stay in order. A payload holds at most one lane of a partition.
//
// Oversized records (spec 3.6.6): a record whose event alone exceeds max_payload is never put in
// a payload and never dropped silently: when it reaches the head of its partition it is handed out
// as its own batch with oversized = true and no payload (its encoded size in oversized_len), after
// the records before it and before the records after it. With BATCH_OVERSIZE_SKIP (default) the
// caller logs/counts it or sends it to an on-failure destination (condition
// "MaximumPayloadSizeExceeded") and completes it, which moves the partition past it. With
// BATCH_OVERSIZE_BLOCK completing it fails and the partition stays blocked until
// batcher_drop_partition() (the ESM reports a problem; an operator seeks past it).
//
// Rejected records (inv_record.reject: a schema registry could not decode them) are handed out
// the same way, each alone in its place in the partition's order, but with a payload and
// batch.reject set; the caller disposes of them and completes the batch.
//
// Retries: a failed batch stays in flight until the caller completes it; the caller retries by
// resubmitting the same payload. To resume a partition elsewhere (partial batch failure, seek,
// revoked partition) the caller completes the batch, calls batcher_drop_partition() and re-feeds
// records from the new position.
#ifndef INVOKE_BATCHER_H
#define INVOKE_BATCHER_H

#include "invoke/err.h"
#include "invoke/event_json.h"
#include "invoke/record.h"
#include "invoke/transport.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BATCH_SIZE_DEFAULT 100
#define BATCH_SIZE_MAX 10000
#define BATCH_WINDOW_MS_DEFAULT 500
#define BATCH_WINDOW_MS_MAX 300000
#define BATCH_MAX_PAYLOAD 6291456 // synchronous Invoke request limit (6 MiB)
#define BATCH_MAX_LANES 10        // ParallelizationFactor's maximum

enum batch_oversize {
    BATCH_OVERSIZE_SKIP,  // hand it out flagged; completing it moves past it (default)
    BATCH_OVERSIZE_BLOCK, // hand it out flagged; the partition stays blocked
};

struct batcher_cfg {
    uint32_t batch_size;          // 1..10000 records (BatchSize), default 100
    uint32_t window_ms;           // 0..300000 (MaximumBatchingWindowInSeconds * 1000), default 500
    size_t max_payload;           // encoded bytes per payload, default and maximum 6291456
    uint32_t max_inflight;        // concurrent batches; 0 (default): no cap (one per partition)
    uint32_t lanes;               // batches in flight per partition, 0 or 1 (default) .. 10
    enum batch_oversize oversize; // default BATCH_OVERSIZE_SKIP
    struct inv_event_cfg event;   // payload constants; strings borrowed for the batcher's life
};

enum batch_reason {
    BATCH_REASON_COUNT,
    BATCH_REASON_BYTES,
    BATCH_REASON_WINDOW,
    BATCH_REASON_FLUSH,
    BATCH_REASON_OVERSIZED,
};

// batch_part: the records of one partition in a batch.
struct batch_part {
    char *topic;
    size_t topic_len;
    int32_t partition;
    char *key;            // "<topic>-<partition>", NUL-terminated
    int64_t first_offset; // commit last_offset + 1 after success
    int64_t last_offset;
    int64_t first_timestamp;
    int64_t last_timestamp;
    size_t first_index; // into batch.offsets
    size_t num_records;
};

// enum batch_gap: an offset range that stands for records the source could not decode (a record
// batch that decompresses beyond its limit, or is corrupt). It is handed out like an oversized
// record: a batch with oversized = true and no payload, whose one part spans the range.
enum batch_gap {
    BATCH_GAP_NONE = 0,
    BATCH_GAP_TOO_LARGE, // decompressed beyond the limit
    BATCH_GAP_CORRUPT,   // does not decode
};

// batch_rec: one record of a batch, in payload order (the order of batch.offsets): where its
// JSON object lies in the payload, its timestamp and its key, so a caller that sends part of a
// payload again (bisect, partial batch response, record age) or writes failure records never
// reads the JSON back. An oversized record has no span (start = len = 0) and a null key (the
// batcher keeps only its size).
struct batch_rec {
    size_t start; // the record's object: payload[start .. start + len)
    size_t len;
    int64_t timestamp;
    size_t key_off; // the key's bytes: keys[key_off .. key_off + key_len)
    size_t key_len;
    bool key_null;
};

// batch: owned by the caller between batcher_next() and batcher_complete().
struct batch {
    uint64_t id; // 1, 2, 3, ... in hand-out order
    enum batch_reason reason;
    enum batch_gap gap;   // not NONE: an undecodable range (then also oversized)
    bool oversized;       // true: one record, no payload; see the file comment
    size_t oversized_len; // the event size that record would need
    const char *reject;   // non-NULL: one record added with inv_record.reject (this condition),
                          // with its payload, to be disposed of rather than delivered
    char *payload;        // the event JSON (NUL-terminated); NULL when oversized
    size_t payload_len;
    size_t num_records;
    struct batch_part *parts; // in payload order
    size_t num_parts;
    int64_t *offsets;       // every record's offset, grouped by part
    struct batch_rec *recs; // every record's span, timestamp and key, in the same order
    uint8_t *keys;          // the keys' bytes (recs[i].key_off); NULL when no record has one
    size_t *pidx;           // internal: the batcher's partition index of each part
    size_t payload_cap;     // internal: the payload's allocation (reused after completion)
};

struct batcher;

// batcher_cfg_defaults fills Lambda's defaults (and a self-managed event config with no servers).
void batcher_cfg_defaults(struct batcher_cfg *cfg);

// batcher_new validates |cfg| (copied; its strings stay borrowed) and returns a batcher in *out.
// Returns 0, or -1 with |err| naming the bad setting.
int batcher_new(struct batcher **out, const struct batcher_cfg *cfg, struct inv_err *err);
// batcher_free frees the batcher and its pending records; batches handed out stay valid and must
// still be freed with batch_free(). NULL is a no-op.
void batcher_free(struct batcher *b);

// batcher_add encodes |rec| (copying what it keeps) and queues it. Returns 0, or -1 with |err| if
// its offset does not increase within its partition (the record is not queued).
int batcher_add(struct batcher *b, const struct inv_record *rec, int64_t now_ms,
                struct inv_err *err);

// batcher_add_hint is batcher_add for a caller that keeps one |*hint| per partition (start it at
// SIZE_MAX and pass only that partition's records with it): the batcher remembers where the
// partition's queue is, so it does not look it up for every record. Without lanes only.
int batcher_add_hint(struct batcher *b, const struct inv_record *rec, int64_t now_ms, size_t *hint,
                     struct inv_err *err);

// batcher_add_run is batcher_add_hint over |n| records of one partition (one topic and
// partition), one call for the run: returns how many were queued, all |n|, or the index of the
// first one refused (with |err|; the records after it are not looked at).
size_t batcher_add_run(struct batcher *b, const struct inv_record *recs, size_t n, int64_t now_ms,
                       size_t *hint, struct inv_err *err);

// batcher_lane returns the lane (0 .. lanes-1) of |rec|: FNV-1a of its key modulo |lanes|, or its
// offset modulo |lanes| for a null key; 0 when |lanes| <= 1.
uint32_t batcher_lane(uint32_t lanes, const struct inv_record *rec);

// batcher_add_gap queues the undecodable range [first_offset, last_offset] of one partition in
// its place among the records (see enum batch_gap); |timestamp| stands for its records'. Returns
// 0, or -1 with |err| if the range does not start after the partition's last offset. With lanes
// the range, whose records have no key, goes to lane 0: it waits for that lane's records before
// it, and the other lanes go on (whoever commits must hold the partition below it meanwhile).
int batcher_add_gap(struct batcher *b, const char *topic, size_t topic_len, int32_t partition,
                    int64_t first_offset, int64_t last_offset, int64_t timestamp,
                    enum batch_gap gap, int64_t now_ms, struct inv_err *err);

// batcher_next_deadline returns the time at which batcher_next() will hand out a batch if nothing
// else happens: INT64_MIN if one is ready now, INT64_MAX if none can be (nothing available, or
// max_inflight batches in flight).
int64_t batcher_next_deadline(const struct batcher *b);

// batcher_next returns a ready batch (the caller owns it until batcher_complete) or NULL.
struct batch *batcher_next(struct batcher *b, int64_t now_ms);

// batcher_flush makes every available record ready regardless of window and count (shutdown,
// rebalance). It stays in effect until nothing is available.
void batcher_flush(struct batcher *b);

// batcher_complete ends |batch| (success, or given up after retries): its partitions may form new
// batches, whose window starts at |now_ms|. Frees the batch and returns 0. For an oversized batch
// under BATCH_OVERSIZE_BLOCK it returns -1 with |err| set and keeps the batch in flight.
int batcher_complete(struct batcher *b, struct batch *batch, int64_t now_ms, struct inv_err *err);

// batcher_drop_partition discards the queued records of one partition (seek, revoke, partial
// failure) and forgets its last offset. A batch of it still in flight stays valid and must still
// be completed; a blocked oversized batch of it can then be completed.
void batcher_drop_partition(struct batcher *b, const char *topic, size_t topic_len,
                            int32_t partition);

// batcher_pending returns the number of queued records not handed out yet, and
// batcher_pending_bytes their encoded size (oversized records count 0: the batcher keeps only
// their size).
size_t batcher_pending(const struct batcher *b);
size_t batcher_pending_bytes(const struct batcher *b);
// batcher_partition_queued returns the number of queued records of one partition (0 if unknown):
// the consumer pauses fetching a partition whose queue grows (e.g. while it is blocked).
size_t batcher_partition_queued(const struct batcher *b, const char *topic, size_t topic_len,
                                int32_t partition);
// batcher_inflight returns the number of batches handed out and not completed.
size_t batcher_inflight(const struct batcher *b);

// batch_has_record reports whether the record (partition key "<topic>-<partition>", offset) is in
// |batch|: the check for batchItemFailures identifiers (an unknown one fails the whole batch).
bool batch_has_record(const struct batch *batch, const char *key, int64_t offset);

// batch_check_failures applies Lambda's rule to an INV_RESULT_PARTIAL result: if any identifier
// names a record that is not in |batch|, the whole batch failed (the result becomes
// INV_RESULT_FUNCTION_ERROR with a message naming it). Returns true if |res| was left unchanged.
bool batch_check_failures(const struct batch *batch, struct inv_result *res);

// batch_free frees a batch without completing it (only for batches that outlive their batcher).
// NULL is a no-op.
void batch_free(struct batch *batch);

#endif
