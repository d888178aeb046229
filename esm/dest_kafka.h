// dest_kafka.h: the kafka://<topic> on-failure destination (struct esm_dest): the pipeline's
// disposed records produced to the source cluster by consumer/producer.h.
//
// One message per disposed record, key = the record's key (a null key is spread round-robin over
// the partitions; a key goes to murmur2(key) % partitions, Kafka's default partitioner), value =
// the failure record JSON. Metadata is fetched from the bootstrap servers when first needed and
// again after any error; each partition's messages go in one uncompressed batch to its leader
// with acks=-1. A delivery succeeds when every partition's Produce succeeded; anything else fails
// it (the pipeline retries the whole delivery with backoff, so a retried delivery may duplicate
// messages already written: at-least-once, as Lambda's destinations are).
#ifndef ESM_DEST_KAFKA_H
#define ESM_DEST_KAFKA_H

#include "broker/conn.h"
#include "esm/pipeline.h"

#include <stddef.h>

struct esm_dest_kafka;
struct net_reactor;

// esm_dest_kafka_new: |bootstrap| ("host:port" entries, [v6]:port allowed) and |topic| are
// copied; |tls| and |auth| are borrowed and must outlive it. |log_tag| (copied, may be NULL)
// goes into the log component of its broker connections, as in struct broker_conn_config.
// Returns NULL with |err| for a bootstrap entry that does not parse (checked before |r| is used).
struct esm_dest_kafka *esm_dest_kafka_new(struct net_reactor *r, const char *const *bootstrap,
                                          size_t num_bootstrap, const char *topic,
                                          struct net_tls_ctx *tls, const struct broker_auth *auth,
                                          const char *log_tag, char *err, size_t err_cap);

// esm_dest_kafka_dest returns the struct esm_dest for the pipeline configuration.
struct esm_dest esm_dest_kafka_dest(struct esm_dest_kafka *k);

// esm_dest_kafka_free closes every connection; pending deliveries are dropped without callbacks.
// NULL is a no-op.
void esm_dest_kafka_free(struct esm_dest_kafka *k);

#endif
