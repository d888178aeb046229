// producer.h: kesm's Kafka producer, next to the consumer and on the same cluster code
// (broker/cluster.h: one connection per broker, the metadata cache, the tick). The kafka://
// on-failure destination (esm/dest_kafka.c) is its user.
//
// A delivery is a set of messages to one topic, sent together: each message goes to a partition
// (a key to murmur2(key) % partitions, Kafka's default partitioner; a null key round-robin),
// each partition's messages in one uncompressed record batch to its leader with acks=-1. It
// succeeds when every partition's Produce succeeded; anything else fails it whole with one line
// naming the topic and, where there is one, the partition (the caller retries; a retried delivery
// may duplicate what was written already: at-least-once). The topic's metadata is fetched when a
// delivery first needs it and again after any failure; the producer never creates topics.
//
// Single-threaded: the reactor's thread only. done callbacks run from the reactor, never inside
// prod_send or prod_cancel.
#ifndef CONSUMER_PRODUCER_H
#define CONSUMER_PRODUCER_H

#include "broker/conn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct prod;
struct net_reactor;

// struct prod_config: zero means the default shown. Strings are copied; tls and auth are
// borrowed and must outlive the producer.
struct prod_config {
    const char *bootstrap;          // "host:port,host:port" (required)
    const char *client_id;          // "kesm"
    struct net_tls_ctx *tls;        // NULL = plaintext
    const struct broker_auth *auth; // SASL plug-in, NULL = none
    uint32_t request_timeout_ms;    // 30000
    int32_t produce_timeout_ms;     // the broker's wait for acks=-1 (30000)
    const char *what;               // how failure lines and config errors name it ("producer")
    const char *log_tag;            // as in broker_conn_config (copied)
};

// struct prod_msg: one message; borrowed for the duration of prod_send (copied).
struct prod_msg {
    const uint8_t *key; // NULL: a null key
    size_t key_len;
    const void *value;
    size_t value_len;
    bool value_null; // a null value (a tombstone); value is then ignored
};

// prod_done_fn: |ok|, or the reason (one line, valid during the call).
typedef void prod_done_fn(void *arg, bool ok, const char *why);

// prod_new checks the bootstrap list and starts connecting. Returns NULL with one line in |err|
// ("<what>: bad bootstrap entry ...") when the list does not parse.
struct prod *prod_new(struct net_reactor *r, const struct prod_config *cfg, char *err,
                      size_t err_cap);
// prod_free closes every connection; pending deliveries are dropped without callbacks. NULL is a
// no-op. Not from inside a done callback.
void prod_free(struct prod *p);

// prod_send starts a delivery of |n| messages (copied) to |topic| and returns its id (non-zero);
// |done| runs exactly once later unless the delivery is cancelled.
uint64_t prod_send(struct prod *p, const char *topic, const struct prod_msg *msgs, size_t n,
                   prod_done_fn *done, void *arg);
// prod_offset_done_fn: as prod_done_fn, plus the offset the broker gave the first message of the
// (last) partition written (-1 when unknown).
typedef void prod_offset_done_fn(void *arg, bool ok, const char *why, int64_t base_offset);
// prod_send_tracked is prod_send with the offset reported to |done|; for a delivery to one
// partition it is the first message's offset (read-your-writes: esm/fleet.c).
uint64_t prod_send_tracked(struct prod *p, const char *topic, const struct prod_msg *msgs, size_t n,
                           prod_offset_done_fn *done, void *arg);
// prod_cancel abandons a delivery: its done never runs (what was sent may still be written).
void prod_cancel(struct prod *p, uint64_t id);

// prod_murmur2 is Kafka's murmur2 hash (seed 0x9747b28c) of |len| bytes, the partitioner's.
uint32_t prod_murmur2(const uint8_t *p, size_t len);

#endif
