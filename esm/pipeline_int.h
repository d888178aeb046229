// pipeline_int.h: internals shared by esm/pipeline.c and esm/pipeline_fail.c (not a public API).
#ifndef ESM_PIPELINE_INT_H
#define ESM_PIPELINE_INT_H

#include "invoke/batcher.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// struct pl_spans: where each record object of a batch payload lies (payload order, the order
// of batch->offsets) and its timestamp.
struct pl_spans {
    size_t *start;
    size_t *len;
    int64_t *ts;
    size_t n;
};

// pl_spans_parse scans |b|'s payload (event JSON made by invoke/event_json.c with |cfg|) into
// record spans. Returns 0, or -1 with |err| if the payload does not have the expected shape.
int pl_spans_parse(struct pl_spans *out, const struct batch *b, const struct inv_event_cfg *cfg,
                   char *err, size_t err_cap);
void pl_spans_free(struct pl_spans *s);

// pl_part_of returns the index of the part holding record |idx| of |b|.
size_t pl_part_of(const struct batch *b, size_t idx);

// pl_subpayload builds the event for the records |sel| (|n| increasing record indices) of |b|.
// Returns the NUL-terminated payload (caller frees) and its length in *out_len.
char *pl_subpayload(const struct batch *b, const struct pl_spans *s,
                    const struct inv_event_cfg *cfg, const size_t *sel, size_t n, size_t *out_len);

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
    bool omit_payload; // payloadSize from |payload|, but no "payload" member (SQS, SNS)
    int64_t now_ms;    // epoch ms
};

// pl_failure_write writes the failure record of records |sel| of |b| to a new file in |dir|,
// atomically (temporary name, fsync, rename). |s| may be NULL (the part's first/last timestamps
// are used then). Returns 0, or -1 with |err|. |*seq| makes file names unique.
int pl_failure_write(const char *dir, const struct pl_failure *f, const struct batch *b,
                     const struct pl_spans *s, const size_t *sel, size_t n, uint64_t *seq,
                     char *err, size_t err_cap);

// pl_failure_text formats the failure record of records |sel| of |b| (as pl_failure_write
// writes it) into a heap string (caller frees) of *out_len bytes; NULL on out-of-memory.
char *pl_failure_text(const struct pl_failure *f, const struct batch *b, const struct pl_spans *s,
                      const size_t *sel, size_t n, size_t *out_len);

// pl_failure_batch_msgs builds the messages of a per-batch destination (SQS, SNS, S3) for the
// records |sel| (|n|, in order): one failure record of the selection, with "payload" (the event
// of those records, as a JSON string) when |with_payload| and |s| is set; while a record is
// above |max| bytes (0: no limit) and covers more than one record, the selection is halved and
// each half gets its own record, in order. Returns the number of messages in *out (an array the
// caller frees with pl_dest_msgs_free).
struct esm_dest_msg;
size_t pl_failure_batch_msgs(const struct pl_failure *f, const struct batch *b,
                             const struct pl_spans *s, const size_t *sel, size_t n,
                             bool with_payload, size_t max, struct esm_dest_msg **out);
void pl_dest_msgs_free(struct esm_dest_msg *msgs, size_t n);

// pl_record_key decodes the key of record |idx| from its span: returns the bytes (caller frees;
// NULL with *out_null set when the key is null or cannot be read).
uint8_t *pl_record_key(const struct batch *b, const struct pl_spans *s, size_t idx, size_t *out_len,
                       bool *out_null);

// pl_failure_record_value builds the value of a kafka:// destination message for record |idx|:
// the failure record with batchSize 1, KafkaBatchInfo.recordInfo {offset, timestamp} and payload
// the record's event as a JSON object (null when |s| is NULL: an oversized record). Returns the
// text (caller frees) and its length in *out_len.
char *pl_failure_record_value(const struct pl_failure *f, const struct batch *b,
                              const struct pl_spans *s, size_t idx, size_t *out_len);

// pl_iso8601 writes an epoch-ms time as 2019-11-14T00:38:06.021Z into |out| (>= 25 bytes).
void pl_iso8601(char *out, size_t cap, int64_t ms);

#endif
