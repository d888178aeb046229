// offsets.h: positions and commits for the fetcher's partition table, sans-I/O.
//
//   OffsetFetch  for partitions in NEED_COMMITTED: a committed offset becomes the position; none
//                (-1) sends the partition to NEED_RESET.
//   ListOffsets  for partitions in NEED_RESET, per leader: LATEST asks for -1 (the end),
//                TRIM_HORIZON for -2 (the start), AT_TIMESTAMP for the configured time; when a
//                timestamp lookup finds no record (offset -1, which is also what the librdkafka
//                mock always answers) the partition resets to the end, as Lambda documents.
//   OffsetCommit covers, per partition, only what the upper layer acknowledged (cons_part.acked),
//                with the group's generation and member id; never beyond the acks.
//
// Each *_begin marks the partitions that go into the request (and returns how many); the
// matching *_write writes the body; the matching *_on_response handles the answer (NULL body:
// the request failed) and unmarks them. Outcomes the driver must act on come back in
// struct cons_offsets_outcome.
#ifndef CONSUMER_OFFSETS_H
#define CONSUMER_OFFSETS_H

#include "consumer/cons_error.h"
#include "consumer/fetcher.h"
#include "proto/kr.h"
#include "proto/kw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cons_offsets_outcome {
    bool refresh_metadata; // a leader moved
    bool coordinator_lost; // NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / lost request
    int16_t rejoin_code;   // non-zero: the group must rejoin (REBALANCE_IN_PROGRESS ...)
    bool retry_later;      // something retriable failed: back off
    bool fatal;
    enum cons_error_class err_class;
    char msg[256];
    char note[256]; // a warning worth logging, or ""
    size_t done;    // partitions settled by this answer
    size_t failed;  // OffsetCommit: partitions the coordinator refused (CommitErrorCount)
};

// OffsetFetch (to the coordinator).
size_t cons_offsets_fetch_begin(struct cons_fetcher *f);
bool cons_offsets_fetch_write(const struct cons_fetcher *f, const char *group_id, int16_t version,
                              kw *w);
void cons_offsets_fetch_on_response(struct cons_fetcher *f, int16_t version, const kr *body,
                                    struct cons_offsets_outcome *out);

// ListOffsets (to each leader). |version| is capped by the caller (the librdkafka mock answers
// v4+ malformed; v1-3 carry everything a consumer needs).
size_t cons_offsets_list_begin(struct cons_fetcher *f, int32_t broker);
bool cons_offsets_list_write(const struct cons_fetcher *f, int32_t broker, int16_t version, kw *w);
void cons_offsets_list_on_response(struct cons_fetcher *f, int32_t broker, int16_t version,
                                   const kr *body, struct cons_offsets_outcome *out);

// OffsetCommit (to the coordinator). cons_offsets_commit_begin marks every partition whose ack
// is past its committed offset; the body carries |generation| / |member_id|.
size_t cons_offsets_commit_begin(struct cons_fetcher *f);
bool cons_offsets_commit_write(const struct cons_fetcher *f, const char *group_id,
                               int32_t generation, const char *member_id, const char *instance_id,
                               int16_t version, kw *w);
void cons_offsets_commit_on_response(struct cons_fetcher *f, int16_t version, const kr *body,
                                     struct cons_offsets_outcome *out);
// cons_offsets_pending_commit returns whether any partition has acks not yet committed.
bool cons_offsets_pending_commit(const struct cons_fetcher *f);

#endif
