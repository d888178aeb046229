// records_internal.h: what records.c and records_legacy.c share. Not for use outside proto/.
#ifndef PROTO_RECORDS_INTERNAL_H
#define PROTO_RECORDS_INTERNAL_H

#include "proto/records.h"

// kp_legacy_open fills |out| from one complete magic-0/1 entry (offset, size, message) in
// |entry|; for a compressed wrapper it decompresses the inner message set into |it|'s arena.
enum kp_status kp_legacy_open(struct kp_records_iter *it, kr *entry, struct kp_batch *out,
                              struct kp_err *err);

// kp_legacy_next_record is kp_batch_next_record for batches opened by kp_legacy_open.
enum kp_status kp_legacy_next_record(struct kp_batch *b, struct kp_record *out, bool *out_end,
                                     struct kp_err *err);

// kp_records_fail records an error for |r| with an explicit status.
static inline enum kp_status kp_records_fail(struct kp_err *err, const kr *r, const char *field,
                                             enum kp_status st)
{
    return kp_fail_as(err, r, field, st);
}

#endif
