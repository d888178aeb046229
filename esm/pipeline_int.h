// pipeline_int.h: internals shared by esm/pipeline*.c (not a public API).
#ifndef ESM_PIPELINE_INT_H
#define ESM_PIPELINE_INT_H

#include "invoke/batcher.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// pl_part_of returns the index of the part holding record |idx| of |b|.
size_t pl_part_of(const struct batch *b, size_t idx);

// pl_subpayload builds the event for the records |sel| (|n| increasing record indices) of |b|
// from their spans (batch_rec; |b| must not be oversized). Returns the NUL-terminated payload
// (caller frees) and its length in *out_len.
char *pl_subpayload(const struct batch *b, const struct inv_event_cfg *cfg, const size_t *sel,
                    size_t n, size_t *out_len);

// struct pl_failure: one failure record (spec: the on-failure invocation record).
struct pl_failure {
    const char *condition; // "RetryAttemptsExhausted", "MaximumPayloadSizeExceeded", ...
    const char *function_arn;
    const struct inv_event_cfg *event;
    uint32_t invoke_count; // approximateInvokeCount
    bool invoked;          // false: responseContext is null
    int status_code;       // responseContext.statusCode
    const char *payload;   // the event last sent for these records; NULL: none
    size_t payload_len;
    int64_t now_ms; // epoch ms
};

// pl_failure_write writes the failure record of records |sel| of |b| to a new file in |dir|,
// atomically (temporary name, fsync, rename). Returns 0, or -1 with |err|. |*seq| makes file
// names unique.
int pl_failure_write(const char *dir, const struct pl_failure *f, const struct batch *b,
                     const size_t *sel, size_t n, uint64_t *seq, char *err, size_t err_cap);

// pl_failure_record_value builds the value of a kafka:// destination message for record |idx|:
// the failure record with batchSize 1, KafkaBatchInfo.recordInfo {offset, timestamp} and payload
// the record's event as a JSON object (null for an oversized record). Returns the text (caller
// frees) and its length in *out_len.
char *pl_failure_record_value(const struct pl_failure *f, const struct batch *b, size_t idx,
                              size_t *out_len);

// pl_iso8601 writes an epoch-ms time as 2019-11-14T00:38:06.021Z into |out| (>= 25 bytes).
void pl_iso8601(char *out, size_t cap, int64_t ms);

#endif
