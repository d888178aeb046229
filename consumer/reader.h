// reader.h: a log reader: one partition of one topic read from its first offset and followed,
// with no consumer group (Kafka Connect's KafkaBasedLog, for kesm's fleet config topic:
// esm/fleet.c). Nothing is committed; a new reader always replays the whole partition.
//
// It runs on broker/cluster.h like the consumer and the producer: Metadata until the topic's
// leader is known (the request never creates the topic), then one long-poll Fetch at a time to
// the leader through the consumer's fetcher (consumer/fetcher.h: decoding, decompression,
// aborted transactions, leader changes). A position outside the log (OFFSET_OUT_OF_RANGE, e.g.
// after retention deleted the start) is reset to the earliest offset with ListOffsets.
//
// Single-threaded: the reactor's thread only. Callbacks run from the reactor and may read the
// reader's state; cons_reader_free must not be called from one.
#ifndef CONSUMER_READER_H
#define CONSUMER_READER_H

#include "broker/conn.h"
#include "consumer/fetcher.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cons_reader;
struct net_reactor;

// struct cons_reader_config: zero means the default shown. Strings are copied; tls and auth are
// borrowed and must outlive the reader.
struct cons_reader_config {
    const char *bootstrap;          // "host:port,..." (required)
    const char *topic;              // (required)
    int32_t partition;              // 0
    const char *client_id;          // "kesm"
    struct net_tls_ctx *tls;        // NULL = plaintext
    const struct broker_auth *auth; // NULL = none
    uint32_t request_timeout_ms;    // 30000
    int32_t max_wait_ms;            // the Fetch long-poll (500)
    const char *log_tag;            // as in broker_conn_config (copied)
};

struct cons_reader_callbacks {
    // on_records: the next records of the partition, in offset order (views valid during the
    // call only).
    void (*on_records)(void *ctx, const struct cons_record_batch *batch);
    // on_progress: a Fetch was answered; the position and the high watermark after it.
    void (*on_progress)(void *ctx, int64_t position, int64_t high_watermark);
    // on_problem: something the reader retries (one line): a lost connection, a missing topic,
    // a partition error. |fatal| when retrying cannot help (authentication or authorization
    // refused, a broker without the APIs); the reader then stops fetching.
    void (*on_problem)(void *ctx, bool fatal, const char *msg);
    void *ctx;
};

// cons_reader_new checks |cfg| and starts. Returns NULL with one line in |err| on a config that
// cannot work.
struct cons_reader *cons_reader_new(struct net_reactor *r, const struct cons_reader_config *cfg,
                                    const struct cons_reader_callbacks *cb, char *err,
                                    size_t err_cap);
// cons_reader_free closes every connection. NULL is a no-op.
void cons_reader_free(struct cons_reader *lr);

// cons_reader_position returns the next offset to read (-1 before the first answer);
// cons_reader_partitions the topic's partition count from the last metadata (-1 unknown, 0 the
// topic does not exist); cons_reader_last_ok_ms the reactor time of the last good Fetch answer
// (0: none yet).
int64_t cons_reader_position(const struct cons_reader *lr);
int32_t cons_reader_partitions(const struct cons_reader *lr);
uint64_t cons_reader_last_ok_ms(const struct cons_reader *lr);

#endif
