// txn_filter.c: the read_committed decision per batch (see txn_filter.h).
#include "proto/txn_filter.h"

#include <stdlib.h>

static int by_first_offset(const void *a, const void *b)
{
    const struct kp_aborted_txn *x = a, *y = b;
    if (x->first_offset != y->first_offset) {
        return x->first_offset < y->first_offset ? -1 : 1;
    }
    return 0;
}

void kp_txn_filter_init(struct kp_txn_filter *f, struct kp_aborted_txn *txns, size_t num_txns)
{
    f->txns = txns;
    f->num_txns = txns ? num_txns : 0;
    f->next = 0;
    if (f->num_txns > 1) {
        qsort(f->txns, f->num_txns, sizeof *f->txns, by_first_offset);
    }
}

static bool is_aborted_producer(const struct kp_txn_filter *f, int64_t pid)
{
    for (size_t i = 0; i < f->next; i++) {
        if (f->txns[i].producer_id == pid) {
            return true;
        }
    }
    return false;
}

enum kp_txn_verdict kp_txn_filter_batch(struct kp_txn_filter *f, const struct kp_batch *b)
{
    if (b->producer_id >= 0) {
        while (f->next < f->num_txns && f->txns[f->next].first_offset <= b->last_offset) {
            f->next++;
        }
        if (b->is_control && b->control_type == KP_CONTROL_ABORT) {
            for (size_t i = 0; i < f->next; i++) {
                if (f->txns[i].producer_id == b->producer_id) {
                    f->txns[i].producer_id = -1;
                }
            }
        } else if (b->is_transactional && is_aborted_producer(f, b->producer_id)) {
            return KP_TXN_SKIP_ABORTED;
        }
    }
    return b->is_control ? KP_TXN_SKIP_CONTROL : KP_TXN_DELIVER;
}
