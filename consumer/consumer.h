// consumer.h: kesm's Kafka consumer-group client, the public API of consumer/.
//
// A cons joins a consumer group (classic protocol; eager with the assignors range then
// roundrobin by default, or incremental with cooperative-sticky, where a rebalance stops only
// the partitions that move to another member),
// fetches its assigned partitions from their leaders (one long-poll Fetch per leader at a time;
// one connection per broker, plus one to the group coordinator for the group's requests),
// hands records to on_records in offset order per partition, and commits, per partition, the
// offsets the caller acknowledged with cons_ack: periodically, before a rebalance and on close.
//
// Delivery is at-least-once: a partition's records are never delivered twice in one assignment
// unless its position is reset (OFFSET_OUT_OF_RANGE); after a rebalance a partition resumes from
// its last committed offset, so records delivered but not yet acknowledged-and-committed by the
// old owner are delivered again (to whichever member gets the partition).
//
// Everything runs on the reactor thread; callbacks run there too. Inside a callback the caller
// may use cons_ack, cons_pause, cons_resume, cons_stats, cons_revoke_done and cons_close (which
// only starts closing); cons_free must not be called from a callback.
//
//     struct cons_config cfg = {.bootstrap = "127.0.0.1:9092", .group_id = "g",
//                               .topics = topics, .num_topics = 1};
//     struct cons_callbacks cb = {.on_records = got, .on_error = oops, .ctx = app};
//     struct cons *c = cons_new(reactor, &cfg, &cb);
//     ... in got(): process batch->records, then cons_ack(c, batch->topic, batch->partition,
//                   batch->records[batch->num_records - 1].offset + 1);
//     cons_close(c, closed, app);   // closed() runs after the final commit and LeaveGroup
//     ... after closed(): cons_free(c);
#ifndef CONSUMER_CONSUMER_H
#define CONSUMER_CONSUMER_H

#include "broker/conn.h"
#include "consumer/assignor.h"
#include "consumer/cons_error.h"
#include "consumer/fetcher.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cons;
struct net_reactor;

// Which group protocol the consumer speaks (Kesm.GroupProtocol).
enum cons_group_protocol {
    CONS_GROUP_PROTOCOL_CLASSIC = 0, // JoinGroup/SyncGroup, client-side assignment
    CONS_GROUP_PROTOCOL_CONSUMER,    // KIP-848 ConsumerGroupHeartbeat; fails without API 68
    CONS_GROUP_PROTOCOL_AUTO,        // consumer if the first broker offers API 68, else classic
};

// struct cons_config: zero-initialise, set what you need; zero means the default shown.
// Strings are copied by cons_new; tls and auth are borrowed and must outlive the consumer.
struct cons_config {
    const char *bootstrap;         // "host:port,host:port" (IPv6 literals as [addr]:port)
    const char *group_id;          // the consumer group (the ESM's UUID by default, set by esm/)
    const char *group_instance_id; // static membership; NULL = dynamic
    const char *const *topics;
    size_t num_topics;
    const char *client_id;             // "kesm"
    enum cons_start start;             // LATEST (the Lambda default is set by the caller)
    int64_t start_timestamp_ms;        // AT_TIMESTAMP: epoch ms
    uint32_t session_timeout_ms;       // 45000
    uint32_t heartbeat_interval_ms;    // 3000
    uint32_t rebalance_timeout_ms;     // 300000
    uint32_t auto_commit_interval_ms;  // 5000
    uint32_t metadata_max_age_ms;      // 300000
    uint32_t retry_backoff_ms;         // 100
    uint32_t request_timeout_ms;       // 30000
    int32_t fetch_max_wait_ms;         // 500
    int32_t fetch_min_bytes;           // 1
    int32_t fetch_partition_max_bytes; // 1 MiB
    int32_t fetch_max_bytes;           // 50 MiB
    size_t decompress_limit;           // 64 MiB (KESM_MAX_DECOMPRESSED_MB for esm/)
    uint32_t undecodable_retries;      // 3: fetches of an undecodable batch before skipping it
    bool read_uncommitted;             // default read_committed
    bool check_crcs;                   // default off
    struct net_tls_ctx *tls;           // NULL = plaintext
    const struct broker_auth *auth;    // SASL plug-in, NULL = none; passed to every connection
    // log_tag: added to the component of the consumer's log lines and of its connections'
    // ("consumer <tag>", "net <tag>"), e.g. "mapping=<UUID>" (esm/ sets it). NULL = none.
    const char *log_tag;
    // assignors: the classic protocol's assignors in preference order (consumer/assignor.h);
    // NULL = range, roundrobin. All cooperative (cooperative-sticky: incremental rebalancing,
    // KIP-429) or all eager.
    const enum cons_assignor *assignors;
    size_t num_assignors;
    // group_protocol: classic (default), consumer (KIP-848: server-side assignment; the assignors
    // do not apply) or auto (consumer when the broker advertises ConsumerGroupHeartbeat).
    enum cons_group_protocol group_protocol;
};

// Group state reported to on_state.
struct cons_state_info {
    const char *state; // "JOINING", "STABLE", ... (consumer/group.h names)
    int32_t generation;
    const char *member_id;
    bool leader;
    const char *protocol; // "range" / "roundrobin" once synced
    size_t num_assigned;
};

// cons_done_fn: the upper layer's "I am finished" for on_revoking; call cons_revoke_done.
struct cons_callbacks {
    // on_records: one partition's records from one Fetch, in offset order; views valid during
    // the call only.
    void (*on_records)(struct cons *c, const struct cons_record_batch *batch, void *ctx);
    // on_assigned: the new assignment (may be empty); valid during the call.
    void (*on_assigned)(struct cons *c, const struct cons_tp *tps, size_t n, void *ctx);
    // on_revoking: the assignment is going away. Finish or abandon in-flight work, cons_ack what
    // finished, then call cons_revoke_done(c) (now or later, within the rebalance timeout). NULL:
    // the consumer goes on at once.
    void (*on_revoking)(struct cons *c, const struct cons_tp *tps, size_t n, void *ctx);
    // on_error: |cls| TRANSIENT is informational (the consumer retries); any other class means the
    // consumer has stopped (call cons_close / cons_free).
    void (*on_error)(struct cons *c, enum cons_error_class cls, const char *msg, void *ctx);
    // on_state: the group state changed.
    void (*on_state)(struct cons *c, const struct cons_state_info *st, void *ctx);
    // on_undecodable: a record batch cannot be decoded (consumer/fetcher.h). While u->skipped is
    // false it is retried; once true, the partition moved past it and the upper layer reports
    // the range (an on-failure record) and acknowledges past u->last_offset. NULL: such a batch
    // is retried for ever (and logged each time).
    void (*on_undecodable)(struct cons *c, const struct cons_undecodable *u, void *ctx);
    void *ctx;
};

// cons_new validates |cfg| and starts (bootstrap metadata, then the group join). Returns NULL
// (and writes one line to |err| of |err_cap| bytes) for a configuration that cannot work.
struct cons *cons_new(struct net_reactor *r, const struct cons_config *cfg,
                      const struct cons_callbacks *cb, char *err, size_t err_cap);

// cons_ack acknowledges that every record of |topic| |partition| below |next_offset| is done;
// commits never go beyond acknowledged offsets. Returns 0, or -1 if the partition is not
// assigned or |next_offset| is beyond what was delivered.
int cons_ack(struct cons *c, const char *topic, int32_t partition, int64_t next_offset);

// cons_pause / cons_resume stop and restart fetching one partition (returns -1 if unassigned).
int cons_pause(struct cons *c, const char *topic, int32_t partition);
int cons_resume(struct cons *c, const char *topic, int32_t partition);

// cons_revoke_done ends the upper layer's part of a revoke (see on_revoking).
void cons_revoke_done(struct cons *c);

// Per-partition statistics. Lags are -1 when unknown.
struct cons_partition_stats {
    const char *topic; // valid until the next assignment change
    int32_t partition;
    int32_t leader;
    int64_t position, committed, acked, high_watermark, log_start;
    int64_t lag;           // high watermark - position
    int64_t committed_lag; // high watermark - committed
    bool paused;
    uint64_t records_delivered;
};
// cons_stats fills up to |cap| entries; returns the number of assigned partitions.
size_t cons_stats(struct cons *c, struct cons_partition_stats *out, size_t cap);

// cons_undecodable_batches returns how many times a record batch failed to decode.
uint64_t cons_undecodable_batches(const struct cons *c);
// cons_commit_errors returns how many partition commits failed (refused by the coordinator, or
// the whole OffsetCommit lost) since cons_new.
uint64_t cons_commit_errors(const struct cons *c);

// cons_conn_counts adds the number of the consumer's broker connections in each state to
// |counts| (indexed by enum broker_conn_state, BROKER_CONN_CLOSED + 1 entries).
void cons_conn_counts(const struct cons *c, uint64_t *counts);

// cons_close stops fetching, commits acknowledged offsets, leaves the group (dynamic members),
// then calls |done(c, ctx)| from the reactor (never from inside cons_close). Bounded by the
// session timeout plus the request timeout. |done| may be NULL.
void cons_close(struct cons *c, void (*done)(struct cons *c, void *ctx), void *ctx);

// cons_free releases everything at once (no commit, no LeaveGroup). NULL is a no-op.
void cons_free(struct cons *c);

#endif
