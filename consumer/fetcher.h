// fetcher.h: the assigned partitions' table, Fetch request building and Fetch response
// handling, sans-I/O (the driver sends, the fetcher decides and decodes).
//
// Per partition the table keeps the position (next offset to fetch), what the upper layer
// acknowledged, what is committed, the leader, the watermarks and the fetch limit. The driver
// sends at most one Fetch per leader broker at a time (cons_fetcher_begin_fetch marks the
// partitions that go into it) and hands the answer to cons_fetcher_on_response, which:
//   - decodes each partition's record batches (read_committed with the aborted-transaction
//     filter by default), decompressing into one reusable arena with a size limit;
//   - skips records below the fetch offset (a batch may start before it) and control batches;
//   - delivers the records of each partition, in offset order, through the deliver callback
//     (views valid during the call only), then moves the position past the last whole batch;
//   - on a partial batch only (a batch bigger than what the partition asked for) doubles its
//     batch hint when it asked for less than its limit, else doubles that limit, up to the
//     request limit, as the Java client does, and lets a raised
//     limit decay back (halved after CONS_FETCH_DECAY_AFTER answers in a row whose batches fit
//     in half of it) to the configured one, so a spike does not raise the partition for good;
//   - keeps high watermark, last stable offset and log start offset current;
//   - turns partition errors into decisions: OFFSET_OUT_OF_RANGE resets the position by the
//     starting-position policy; leader problems (NOT_LEADER_OR_FOLLOWER,
//     UNKNOWN_TOPIC_OR_PARTITION, FENCED_LEADER_EPOCH, ...) ask for a metadata refresh; the
//     retriable rest backs off; TOPIC_AUTHORIZATION_FAILED is fatal (class AUTHZ).
// Requests (fetchreq.c): the partitions that brought records least recently go first (a broker
// fills an answer in request order up to its MaxBytes, KIP-74), and under a request limit G
// (the Fetch budget's grant) each partition asks for
//   busy (its last answer had records, or it is behind): its share (G - what the idle ones
//     ask) / (busy ones),
//   idle (its last answer was empty and it is caught up): nothing more than the floor,
// each between max(floor, its batch hint) and its limit: floor = CONS_FETCH_PART_FLOOR, the
// batch hint the size its recent whole batches needed (decaying by half per answer), so busy
// partitions share the grant, a partition always asks enough for a whole batch of the size it
// has been getting, and none asks more than its own limit.
// A partition the upper layer paused is left out of fetches, and data that arrives for it while
// paused is dropped unread (the position does not move), so memory stays bounded whatever the
// partition count.
#ifndef CONSUMER_FETCHER_H
#define CONSUMER_FETCHER_H

#include "consumer/assignor.h"
#include "consumer/cons_error.h"
#include "proto/compress.h"
#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/records.h"
#include "proto/txn_filter.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// CONS_FETCH_PART_FLOOR is the least an idle partition asks for in a Fetch (bytes).
#define CONS_FETCH_PART_FLOOR ((size_t)64 * 1024)
// CONS_FETCH_DECAY_AFTER answers in a row that fit in half of a raised limit halve it.
#define CONS_FETCH_DECAY_AFTER 3

// Starting positions (Lambda's StartingPosition).
enum cons_start {
    CONS_START_LATEST = 0,
    CONS_START_TRIM_HORIZON, // earliest
    CONS_START_AT_TIMESTAMP,
};

// Where a partition's position comes from.
enum cons_pos_state {
    CONS_POS_NEED_COMMITTED = 0, // ask the coordinator (OffsetFetch)
    CONS_POS_ASKING_COMMITTED,   // OffsetFetch in flight
    CONS_POS_NEED_RESET,         // apply the starting position (ListOffsets)
    CONS_POS_RESETTING,          // ListOffsets in flight
    CONS_POS_READY,              // position known: fetch
};

struct cons_part {
    char *topic;
    int32_t partition;
    enum cons_pos_state pos_state;
    bool reset_to_end;   // an AT_TIMESTAMP lookup found nothing: reset to the end instead
    int64_t position;    // next offset to fetch (valid when READY)
    int64_t acked;       // the upper layer finished everything below this (-1 none)
    int64_t committed;   // last committed offset known (-1 none)
    int64_t commit_sent; // offset in the commit in flight (-1 none)
    int64_t high_watermark, last_stable, log_start; // -1 unknown
    int32_t leader;                                 // -1 unknown
    int32_t leader_epoch;
    int32_t max_bytes;  // per-partition fetch limit (raised for oversized batches, decays)
    uint8_t fit_streak; // answers in a row that fit in half of a raised max_bytes
    bool busy;          // its last answer had records or it is behind (else: asks the floor)
    uint64_t served;    // f->serve_seq when it last brought records (0: never)
    int32_t asked;      // the limit it asked for in the last request written (0: none)
    int32_t hint;       // bytes its recent whole batches needed (0: unknown; see fetchreq.c)
    bool paused;        // by the upper layer
    bool stopped;       // by a revoke: never fetch again
    bool fetching;      // in the Fetch in flight to |fetch_broker|
    int32_t fetch_broker;
    int64_t fetch_offset;
    uint64_t retry_at; // no fetch before this time (after a retriable error)
    uint64_t records_delivered;
    int64_t bad_offset;    // first offset of a batch that did not decode (-1: none)
    uint32_t bad_attempts; // how often it failed to decode
};

// enum cons_ts_type: what a record's timestamp means (the batch's timestamp type).
enum cons_ts_type {
    CONS_TS_CREATE,     // CreateTime: set by the producer
    CONS_TS_LOG_APPEND, // LogAppendTime: set by the broker
    CONS_TS_NONE,       // magic 0 message sets carry no timestamp
};

// struct cons_header: one record header; views valid during the deliver callback only.
struct cons_header {
    const uint8_t *key;
    size_t key_len;
    const uint8_t *value;
    size_t value_len;
    bool value_null;
};

// struct cons_record: one record as the upper layer sees it. Views are valid during the deliver
// callback only.
struct cons_record {
    int64_t offset;
    int64_t timestamp;
    enum cons_ts_type ts_type;
    const uint8_t *key;
    size_t key_len;
    bool key_null;
    const uint8_t *value;
    size_t value_len;
    bool value_null;
    uint32_t num_headers;
    kr header_bytes; // internal: the record's headers section, for cons_record_next_header
};

// cons_record_header_iter walks a record's headers: start with cons_record_headers, then call
// cons_record_next_header until it returns false.
struct cons_record_header_iter {
    kr left; // the headers not read yet
};
void cons_record_headers(const struct cons_record *r, struct cons_record_header_iter *out_it);
bool cons_record_next_header(struct cons_record_header_iter *it, struct cons_header *out);

// struct cons_record_batch: one partition's records from one Fetch, in offset order.
struct cons_record_batch {
    const char *topic;
    int32_t partition;
    const struct cons_record *records;
    size_t num_records;
    int64_t high_watermark;
};

typedef void (*cons_deliver_fn)(const struct cons_record_batch *batch, void *ctx);

// struct cons_undecodable: a record batch of a partition that cannot be decoded (it decompresses
// beyond the decompression limit, its compressed data or records are corrupt). Offsets are the
// batch's (from the fetch position on). |skipped| is false while the fetcher still retries it
// (attempt |attempts| of 1 + undecodable_retries) and true when it gave up: the partition's
// position then moved past |last_offset|, and the upper layer handles the range like an
// oversized record (an on-failure record, then cons_ack past it).
struct cons_undecodable {
    const char *topic;
    int32_t partition;
    int64_t first_offset, last_offset;
    uint32_t attempts;
    bool skipped;
    bool too_large;     // it decompresses beyond the limit (else: corrupt)
    const char *reason; // "it decompresses to more than 67108864 bytes (zstd)", ...
};
typedef void (*cons_undecodable_fn)(const struct cons_undecodable *u, void *ctx);

struct cons_fetcher_config {
    int32_t max_wait_ms;          // 500
    int32_t min_bytes;            // 1
    int32_t partition_max_bytes;  // 1 MiB
    int32_t max_bytes;            // 50 MiB
    bool read_uncommitted;        // default read_committed
    bool check_crcs;              // verify batch CRCs (default off, as librdkafka)
    size_t decompress_limit;      // most decompressed bytes held at once (64 MiB)
    uint32_t undecodable_retries; // fetches of an undecodable batch before it is skipped (3)
    uint32_t retry_backoff_ms;    // 100
    enum cons_start start;
    int64_t start_timestamp_ms; // AT_TIMESTAMP
};

struct cons_fetcher {
    struct cons_fetcher_config cfg;
    struct cons_part *parts;
    size_t num_parts;
    struct kp_arena arena;
    struct cons_record *recs;
    size_t recs_cap;
    size_t recs_hwm;    // most records one partition of the current response needed
    size_t rot;         // where the next Fetch request starts in the table (ties, see fetchreq.c)
    uint64_t serve_seq; // answers with records so far (orders requests, see fetchreq.c)
    struct kp_aborted_txn *txns;
    size_t txns_cap;
    cons_deliver_fn deliver;
    void *deliver_ctx;
    cons_undecodable_fn undecodable;
    void *undecodable_ctx;
    char note[256]; // the last warning worth logging ("" if none), set by the handlers
};

// cons_fetcher_set_undecodable installs the callback for batches that cannot be decoded (see
// struct cons_undecodable). Without one they are retried for ever (each time in f->note).
void cons_fetcher_set_undecodable(struct cons_fetcher *f, cons_undecodable_fn fn, void *ctx);

// struct cons_fetch_outcome: what one response asks of the driver.
struct cons_fetch_outcome {
    bool refresh_metadata;
    bool fatal;
    enum cons_error_class err_class;
    char msg[256];
    size_t resets;    // partitions whose position must be reset (OFFSET_OUT_OF_RANGE)
    size_t delivered; // records delivered
};

void cons_fetcher_init(struct cons_fetcher *f, const struct cons_fetcher_config *cfg,
                       cons_deliver_fn deliver, void *ctx);
void cons_fetcher_cleanup(struct cons_fetcher *f);

// cons_fetcher_assign replaces the table with |n| partitions (positions unknown: NEED_COMMITTED).
void cons_fetcher_assign(struct cons_fetcher *f, const struct cons_tp *tps, size_t n);
// cons_fetcher_update makes |tps| the table: a partition already in it and not stopped keeps its
// whole state (position, acknowledgements, a fetch in flight), the others start at
// NEED_COMMITTED; partitions not in |tps| are dropped (incremental cooperative rebalancing).
void cons_fetcher_update(struct cons_fetcher *f, const struct cons_tp *tps, size_t n);
// cons_fetcher_remove drops |tps| from the table (the rest keep their state).
void cons_fetcher_remove(struct cons_fetcher *f, const struct cons_tp *tps, size_t n);
// cons_fetcher_find returns the entry of |topic| |partition|, or NULL.
struct cons_part *cons_fetcher_find(struct cons_fetcher *f, const char *topic, int32_t partition);
struct cons_part *cons_fetcher_find_view(struct cons_fetcher *f, const kr *topic,
                                         int32_t partition);

// cons_fetcher_reset_position applies the starting-position policy to |p| (NEED_RESET).
void cons_fetcher_reset_position(struct cons_fetcher *f, struct cons_part *p);

// cons_fetcher_begin_fetch marks the partitions led by |broker| that can be fetched now and
// returns how many (0: send nothing).
size_t cons_fetcher_begin_fetch(struct cons_fetcher *f, int32_t broker, uint64_t now);
// cons_fetcher_write_request writes the Fetch body for the partitions marked for |broker|.
bool cons_fetcher_write_request(struct cons_fetcher *f, int32_t broker, int16_t version, kw *w);
// cons_fetcher_write_request_max is cons_fetcher_write_request with the request's MaxBytes
// (|max_bytes| > 0, e.g. a grant of the process-wide Fetch budget, consumer/fetchbudget.h;
// otherwise cfg.max_bytes).
bool cons_fetcher_write_request_max(struct cons_fetcher *f, int32_t broker, int16_t version,
                                    int32_t max_bytes, kw *w);
// cons_fetcher_fetch_want returns the MaxBytes the Fetch for the partitions marked for |broker|
// would use (the Fetch budget's |want|): the sum of the busy and raised ones' limits and the
// idle ones' floor, at most cfg.max_bytes, at least 1.
size_t cons_fetcher_fetch_want(const struct cons_fetcher *f, int32_t broker);
// cons_fetcher_part_ask returns the limit |p| asks for in a request whose busy partitions have
// |share| bytes each (see the top of this file).
int32_t cons_fetcher_part_ask(const struct cons_part *p, size_t share);
// cons_fetcher_cancel_fetch unmarks the partitions marked for |broker| (a Fetch that was not
// sent), without a back-off.
void cons_fetcher_cancel_fetch(struct cons_fetcher *f, int32_t broker);
// cons_fetcher_on_response handles the answer to |broker|'s Fetch (|body| NULL when the request
// failed: the partitions are then fetched again after a back-off, and a metadata refresh is
// asked for). Every marked partition is unmarked.
void cons_fetcher_on_response(struct cons_fetcher *f, int32_t broker, uint64_t now, int16_t version,
                              const kr *body, struct cons_fetch_outcome *out);

#endif
