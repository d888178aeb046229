// event_json.h: streaming encoder for the Lambda Kafka event JSON.
//
// Writes the exact payload AWS Lambda hands a function for a Kafka event source, straight into a
// growable buffer (no JSON tree on the hot path). Compact output, keys in the order of AWS's
// examples:
//
//   {"eventSource":"SelfManagedKafka","bootstrapServers":"b1:9092,b2:9092","records":{
//    "orders-0":[{"topic":"orders","partition":0,"offset":15,"timestamp":1545084650987,
//    "timestampType":"CREATE_TIME","key":"azA=","value":"eyJ9","headers":[{"h":[118,-48]}]}]}}
//
// MSK ("aws:kafka") adds "eventSourceArn" after "eventSource".
//
// Encoding rules (decided here, shared with the batcher through the *_len functions):
//   - key/value: standard base64 with padding; a null key omits "key"; a null value omits "value"
//     (INV_NULL_VALUE_OMIT, default) or writes "value":null (INV_NULL_VALUE_JSON_NULL); an empty
//     key or value is "".
//   - headers: array of one-member objects {"name":[signed bytes -128..127]}, in record order,
//     duplicates kept; "headers":[] when there are none; a null header value is [] (default,
//     INV_NULL_HEADER_EMPTY) or null (INV_NULL_HEADER_JSON_NULL).
//   - strings (topic, header names, bootstrap servers, ARN): '"' and '\' are backslash-escaped,
//     control characters U+0000..U+001F become \u00XX, everything else is copied. Bytes that are
//     not valid UTF-8 (stray continuation bytes, overlong forms, surrogates, code points above
//     U+10FFFF, truncated sequences) are each replaced by U+FFFD, one replacement per byte, so
//     the payload is always valid UTF-8 and JSON.
//   - keySchemaMetadata / valueSchemaMetadata (records decoded through a schema registry) follow
//     "headers": {"dataFormat":"AVRO","schemaId":"17"}, strings escaped as above.
//   - records are grouped under "<topic>-<partition>"; a group's records are contiguous, and
//     within a group offsets strictly increase.
//
// Sizes: inv_event_head_len + sum of group and record lengths (+1 per separating comma) +
// INV_EVENT_TAIL_LEN is exactly the payload length, which lets the batcher enforce the 6 MB cap
// before encoding anything.
#ifndef INVOKE_EVENT_JSON_H
#define INVOKE_EVENT_JSON_H

#include "base/buf.h"
#include "invoke/err.h"
#include "invoke/record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum inv_event_source {
    INV_EVENT_SELF_MANAGED, // "eventSource":"SelfManagedKafka"
    INV_EVENT_MSK,          // "eventSource":"aws:kafka" plus "eventSourceArn"
};

enum inv_null_value {
    INV_NULL_VALUE_OMIT,      // no "value" member (default; what Lambda is observed to send)
    INV_NULL_VALUE_JSON_NULL, // "value":null
};

enum inv_null_header {
    INV_NULL_HEADER_EMPTY,     // {"name":[]} (default)
    INV_NULL_HEADER_JSON_NULL, // {"name":null}
};

// inv_event_cfg: the per-ESM constants of every payload. Strings are borrowed and must outlive
// every encoder and batcher using the config.
struct inv_event_cfg {
    enum inv_event_source source;
    const char *event_source_arn;  // MSK cluster ARN; required when source is INV_EVENT_MSK
    const char *bootstrap_servers; // "host:port,host:port" (one string, as Lambda sends it)
    enum inv_null_value null_value;
    enum inv_null_header null_header;
};

#define INV_EVENT_TAIL_LEN 2 // "}}"

// inv_event_head_len returns the length of the top-level object before the first group, plus the
// closing INV_EVENT_TAIL_LEN bytes: the size of an event with no records.
size_t inv_event_head_len(const struct inv_event_cfg *cfg);
// inv_event_head_write writes everything up to and including "records":{ .
void inv_event_head_write(struct buf *out, const struct inv_event_cfg *cfg);
// inv_event_tail_write writes "}}".
void inv_event_tail_write(struct buf *out);

// inv_event_group_len returns the length of "<topic>-<partition>":[ plus the closing ']'.
size_t inv_event_group_len(const char *topic, size_t topic_len, int32_t partition);
void inv_event_group_open(struct buf *out, const char *topic, size_t topic_len, int32_t partition);
void inv_event_group_close(struct buf *out);

// inv_event_record_len returns the exact length inv_event_record_write will write for |rec|.
size_t inv_event_record_len(const struct inv_event_cfg *cfg, const struct inv_record *rec);
// inv_event_record_write writes one record object {...}.
void inv_event_record_write(struct buf *out, const struct inv_event_cfg *cfg,
                            const struct inv_record *rec);
// inv_event_record_put writes the same bytes as inv_event_record_write straight into |dst|, which
// must have room for inv_event_record_len(cfg, rec) bytes, and returns the end of what it wrote
// (exactly dst + inv_event_record_len). For callers that reserve once and encode in place.
char *inv_event_record_put(char *dst, const struct inv_event_cfg *cfg,
                           const struct inv_record *rec);

// A record object is a per-partition prefix, {"topic":<topic>,"partition":<n>,"offset": , then
// the rest (the offset digits onward). Callers encoding many records of one partition write the
// prefix once and copy it: inv_event_record_len == inv_event_record_prefix_len +
// inv_event_record_rest_len, and prefix + inv_event_record_put_rest == inv_event_record_put.
size_t inv_event_record_prefix_len(const char *topic, size_t topic_len, int32_t partition);
void inv_event_record_prefix_write(struct buf *out, const char *topic, size_t topic_len,
                                   int32_t partition);
size_t inv_event_record_rest_len(const struct inv_event_cfg *cfg, const struct inv_record *rec);
char *inv_event_record_put_rest(char *dst, const struct inv_event_cfg *cfg,
                                const struct inv_record *rec);

// inv_event_nums: the offset and timestamp an encoder printed last, for
// inv_event_record_put_rest_nums: records of one partition come with offsets one apart and often
// the same timestamp, so their digits are reused (the offset's incremented in place) rather than
// printed again. Zero it (memset) before first use.
struct inv_event_nums {
    int64_t offset, timestamp;
    uint8_t offset_len, ts_len; // 0: nothing printed yet
    char offset_txt[20], ts_txt[20];
};

// inv_event_record_rest_max returns an upper bound of inv_event_record_rest_len that costs no
// pass over string bytes (headers are counted at their worst escaping): room for
// inv_event_record_put_rest_nums.
size_t inv_event_record_rest_max(const struct inv_event_cfg *cfg, const struct inv_record *rec);
// inv_event_record_put_rest_nums writes the same bytes as inv_event_record_put_rest, with the
// digits of the offset and timestamp taken from |nums| where they allow (and remembered there).
// |dst| needs room for inv_event_record_rest_max bytes; returns the end of what it wrote.
char *inv_event_record_put_rest_nums(char *dst, const struct inv_event_cfg *cfg,
                                     const struct inv_record *rec, struct inv_event_nums *nums);

// inv_json_str_len / inv_json_str_write: a quoted, escaped JSON string (rules above).
size_t inv_json_str_len(const char *s, size_t n);
void inv_json_str_write(struct buf *out, const char *s, size_t n);

// inv_event_partition_key writes "<topic>-<partition>" (unescaped) into |out|, the form of the
// "records" keys and of batchItemFailures[].itemIdentifier.partition.
void inv_event_partition_key(struct buf *out, const char *topic, size_t topic_len,
                             int32_t partition);

// inv_event_enc: a streaming encoder for one payload. Use:
//   inv_event_begin(&enc, &buf, &cfg);
//   while (...) { if (inv_event_final_len(&enc) + inv_event_add_len(&enc, &r) > cap) break;
//                 inv_event_add(&enc, &r); }
//   inv_event_end(&enc);
struct inv_event_enc {
    struct buf *out;
    const struct inv_event_cfg *cfg;
    size_t final_len; // payload length if inv_event_end were called now
    size_t num_records;
    bool in_group;
    char *group_topic; // copy of the current group's topic
    size_t group_topic_len;
    int32_t group_partition;
    int64_t last_offset;
    struct inv_event_seen *seen; // closed groups, to refuse a non-contiguous partition
    size_t num_seen;
};

// inv_event_begin starts a payload, appending to |out| (borrowed until inv_event_end).
void inv_event_begin(struct inv_event_enc *enc, struct buf *out, const struct inv_event_cfg *cfg);
// inv_event_add_len returns how many bytes adding |rec| would add to the finished payload.
size_t inv_event_add_len(const struct inv_event_enc *enc, const struct inv_record *rec);
// inv_event_final_len returns the payload length if it were finished now.
size_t inv_event_final_len(const struct inv_event_enc *enc);
// inv_event_add appends |rec|. Returns 0, or -1 (writing nothing) if |rec| belongs to a group that
// was already closed (records of one partition must be contiguous) or its offset does not
// increase within its group; |err| (may be NULL) says which.
int inv_event_add(struct inv_event_enc *enc, const struct inv_record *rec, struct inv_err *err);
// inv_event_end closes the payload and frees the encoder's state; returns the number of records.
size_t inv_event_end(struct inv_event_enc *enc);

#endif
