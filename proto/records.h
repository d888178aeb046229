// records.h: decoding the Records field of a Fetch partition.
//
// A records blob is a sequence of record batches (magic 2) and/or legacy messages (magic 0 and 1).
// kp_records_next_batch walks it one batch at a time; kp_batch_next_record walks the records of
// a batch; kp_record_next_header walks a record's headers. A legacy message presents itself as a
// batch too: an uncompressed message is a batch of one record, a compressed wrapper message a
// batch of its inner messages.
//
//     struct kp_records_iter it;
//     kp_records_init(&it, records.p, records.len, &arena, NULL);
//     struct kp_batch b;
//     bool end;
//     while ((st = kp_records_next_batch(&it, &b, &end, &err)) == KP_OK && !end) {
//         if (b.is_control || b.last_offset < fetch_offset) continue;     // skip whole batch
//         struct kp_record rec;
//         while ((st = kp_batch_next_record(&b, &rec, &end, &err)) == KP_OK && !end) { ... }
//     }
//
// Lifetime: every view (keys, values, header keys and values) points into the records blob or,
// for compressed batches, into a block of the caller's struct kp_arena (see compress.h); both
// must outlive the views. The decoders do not allocate except through that arena: a compressed
// magic-2 batch is decompressed when its records are first read (so a skipped batch never is),
// a compressed legacy wrapper and a compressed control batch (which no broker writes) when their
// header is read, since the offsets or the control type live inside.
//
// Partial batches: a broker cuts the last batch at its byte limits. When the bytes left are fewer
// than a batch header or than the batch's declared length, kp_records_next_batch reports the end
// (KP_OK, *out_end = true) and kp_records_partial_len tells how many bytes were left unread.
//
// Checks: CRC-32C of magic-2 batches and CRC-32 of legacy messages (unless disabled), declared
// lengths against bytes present, record counts against the bytes they need, every record through
// a child cursor that must be consumed exactly, offsets strictly increasing within a batch and
// within [baseOffset, baseOffset + lastOffsetDelta], header counts against bytes left.
#ifndef PROTO_RECORDS_H
#define PROTO_RECORDS_H

#include "proto/compress.h"
#include "proto/kr.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Attribute bits of a magic-2 batch (bits 0-2 are the codec).
#define KP_BATCH_ATTR_CODEC_MASK 0x0007
#define KP_BATCH_ATTR_LOG_APPEND_TIME 0x0008
#define KP_BATCH_ATTR_TRANSACTIONAL 0x0010
#define KP_BATCH_ATTR_CONTROL 0x0020
#define KP_BATCH_ATTR_DELETE_HORIZON 0x0040

// KP_BATCH_HEADER_LEN is the size of a magic-2 batch header (baseOffset through recordsCount).
#define KP_BATCH_HEADER_LEN 61

// enum kp_ts_type says what a record timestamp means.
enum kp_ts_type {
    KP_TS_NONE = -1,      // magic 0: no timestamp (timestamp is -1)
    KP_TS_CREATE = 0,     // set by the producer
    KP_TS_LOG_APPEND = 1, // set by the broker
};

// Control record types (the int16 after the version in a control record's key). Types 2-6
// occur only in KRaft metadata logs.
enum kp_control_type {
    KP_CONTROL_UNKNOWN = -1, // not a control batch, or its first record has no readable key
    KP_CONTROL_ABORT = 0,
    KP_CONTROL_COMMIT = 1,
};

// struct kp_records_opts tunes decoding; a NULL pointer means all defaults (zero values).
struct kp_records_opts {
    bool skip_crc; // do not verify CRC-32C / CRC-32 (librdkafka's default; Java checks)
};

// struct kp_records_iter walks a records blob. Fields are private; use the functions.
struct kp_records_iter {
    kr in;
    struct kp_arena *arena;
    bool check_crc;
    size_t partial_len;
};

// struct kp_batch is one record batch (or one legacy message). The public fields come straight
// from the batch header; for legacy messages the magic-2-only fields are -1 / 0.
struct kp_batch {
    int64_t base_offset;
    int32_t batch_length; // bytes after the length field (legacy: messageSize)
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int codec; // enum kp_codec
    enum kp_ts_type ts_type;
    bool is_transactional;
    bool is_control;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t num_records;
    int64_t last_offset; // base_offset + last_offset_delta; the next position is last_offset + 1
    int control_type;    // for control batches, the first record's type (enum kp_control_type)
    size_t wire_offset;  // where the batch starts in the records blob
    const uint8_t *wire; // the batch's bytes as received (wire_len of them)
    size_t wire_len;

    // private iteration state
    kr body;           // the records section as on the wire (compressed or not)
    kr recs;           // the records still to read
    bool opened;       // recs is set up (decompressed if needed)
    bool legacy_inner; // recs holds a wrapper's inner message set
    int32_t left;
    int64_t prev_offset;
    int64_t legacy_shift; // magic-1 wrapper: absolute = relative + shift
    struct kp_arena *arena;
};

// KP_RECORD_CACHED_HEADERS is how many headers a record remembers from its validation pass, so
// kp_record_next_header does not parse them twice.
#define KP_RECORD_CACHED_HEADERS 4

// struct kp_record is one record. key/value are views; *_null distinguishes null from empty.
struct kp_record {
    int64_t offset;
    int64_t timestamp;
    enum kp_ts_type ts_type;
    int8_t attributes;
    kr key;
    bool key_null;
    kr value;
    bool value_null;
    uint32_t num_headers;
    kr header_bytes; // the headers section (num_headers validated headers; empty for magic 0/1):
                     // a copy of a record that outlives it can be iterated with
                     // kp_headers_next
    // private: header iteration state
    kr headers; // the header bytes after the cached ones
    uint32_t headers_left;
    uint32_t headers_next;
    struct {
        const uint8_t *key;
        const uint8_t *value; // NULL for a null value
        uint32_t key_len;
        uint32_t value_len;
    } cached[KP_RECORD_CACHED_HEADERS];
};

// struct kp_header is one record header; the key is never null, the value may be.
struct kp_header {
    kr key;
    kr value;
    bool value_null;
};

// kp_records_init starts walking |len| bytes at |p|. |arena| receives decompressed records; it
// may be NULL if the caller never reads records of compressed batches (reading them then fails
// with KP_ERR_UNSUPPORTED). |opts| may be NULL.
void kp_records_init(struct kp_records_iter *it, const uint8_t *p, size_t len,
                     struct kp_arena *arena, const struct kp_records_opts *opts);

// kp_records_next_batch reads the next batch header. Returns KP_OK with *out_end false and the
// batch in |out|; KP_OK with *out_end true when no complete batch is left (see
// kp_records_partial_len); or an error (KP_ERR_MALFORMED, KP_ERR_CORRUPT for a CRC mismatch,
// KP_ERR_VERSION for an unknown magic, KP_ERR_LIMIT / KP_ERR_CORRUPT from decompressing a legacy
// wrapper) with |err| naming the field and its offset in the blob. After an error the iterator
// stays failed. A batch may be skipped by simply asking for the next one.
enum kp_status kp_records_next_batch(struct kp_records_iter *it, struct kp_batch *out,
                                     bool *out_end, struct kp_err *err);

// kp_records_partial_len returns, once the end was reported, the number of trailing bytes that
// held an incomplete batch (0 if the blob ended on a batch boundary).
size_t kp_records_partial_len(const struct kp_records_iter *it);

// kp_batch_next_record reads the next record of |b| (decompressing on the first call if the
// batch is compressed). Returns KP_OK with *out_end false and the record; KP_OK with *out_end
// true after the last one; or an error with |err| naming the field (offsets count from the
// start of the blob, or of the decompressed block for compressed batches).
enum kp_status kp_batch_next_record(struct kp_batch *b, struct kp_record *out, bool *out_end,
                                    struct kp_err *err);

// kp_batch_next_record_checked is kp_batch_next_record without its fast path: every record goes
// through the bounds-checked cursor. Same results; for the differential fuzz target and tests.
enum kp_status kp_batch_next_record_checked(struct kp_batch *b, struct kp_record *out,
                                            bool *out_end, struct kp_err *err);

// kp_record_next_header reads the next header of |rec|. Returns KP_OK with *out_end false and the
// header, KP_OK with *out_end true after the last one, or an error. Headers were validated when
// the record was read, so an error here means the record was modified.
enum kp_status kp_record_next_header(struct kp_record *rec, struct kp_header *out, bool *out_end,
                                     struct kp_err *err);

// kp_headers_next reads the next header from |hdrs|, a record's header_bytes (or what is left of
// them), and moves |hdrs| past it. Returns false at the end of the section (or on bytes that do
// not form a header: header_bytes were validated, so only when they were modified).
bool kp_headers_next(kr *hdrs, struct kp_header *out);

// kp_record_control_type reads the type of a control record (key = int16 version, int16 type).
// Returns KP_OK, or KP_ERR_MALFORMED if the key is null or shorter than four bytes.
enum kp_status kp_record_control_type(const struct kp_record *rec, int16_t *out_type);

#endif
