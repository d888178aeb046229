// txn_filter.h: read_committed filtering of record batches with a Fetch response's
// AbortedTransactions list, the way the Java consumer does it:
//   1. the aborted transactions are taken in order of firstOffset;
//   2. for each batch with a producer id: every aborted transaction whose firstOffset is at most
//      the batch's last offset joins the set of aborted producer ids; then an ABORT control
//      batch removes its producer id from the set (that transaction ends there), while a
//      transactional data batch whose producer id is in the set is skipped whole;
//   3. control batches are never delivered.
// The filter is sans-I/O and allocation-free: it works inside the caller's array.
#ifndef PROTO_TXN_FILTER_H
#define PROTO_TXN_FILTER_H

#include "proto/records.h"

#include <stddef.h>
#include <stdint.h>

// struct kp_aborted_txn is one AbortedTransactions entry of a Fetch response partition.
struct kp_aborted_txn {
    int64_t producer_id;
    int64_t first_offset;
};

// struct kp_txn_filter is the filter state for one partition's records. Fields are private.
struct kp_txn_filter {
    struct kp_aborted_txn *txns;
    size_t num_txns;
    size_t next; // txns[0, next) have joined the set; ended ones have producer_id < 0
};

enum kp_txn_verdict {
    KP_TXN_DELIVER = 0,      // deliver the batch's records
    KP_TXN_SKIP_ABORTED = 1, // a batch of an aborted transaction: skip it whole
    KP_TXN_SKIP_CONTROL = 2, // a control batch (commit or abort marker): skip it
};

// kp_txn_filter_init starts filtering one partition's batches, in order, with the |num_txns|
// entries of |txns| (may be NULL when 0). The filter sorts |txns| in place by first_offset and
// later overwrites producer_id of entries whose transaction ended, so the array belongs to the
// filter until the partition's batches are done.
void kp_txn_filter_init(struct kp_txn_filter *f, struct kp_aborted_txn *txns, size_t num_txns);

// kp_txn_filter_batch decides about the next batch; call it for every batch, in order, including
// the ones skipped for other reasons (so ABORT markers are seen).
enum kp_txn_verdict kp_txn_filter_batch(struct kp_txn_filter *f, const struct kp_batch *b);

#endif
