// batch_builder.h: writing magic-2 record batches (for Produce requests and for tests).
//
//     struct kp_batch_params p;
//     kp_batch_params_default(&p);
//     p.codec = KP_CODEC_LZ4;
//     p.compress = kp_compress;                 // compress.h; NULL means no compression
//     struct kp_batch_builder bb;
//     kp_batch_builder_init(&bb, &p);
//     kp_batch_builder_add(&bb, &(struct kp_record_in){.timestamp = ts, .value = "v", .value_len =
//     1}); st = kp_batch_builder_finish(&bb, &w);   // appends the whole batch to the kw |w|
//     kp_batch_builder_cleanup(&bb);
//
// The builder copies each record into a growable buffer it owns (so the inputs need not outlive
// the add call); compression allocates a temporary buffer (compress.h). The CRC-32C and the batch
// length are back-patched. The base timestamp is the first record's; offset deltas count from 0
// unless given explicitly.
#ifndef PROTO_BATCH_BUILDER_H
#define PROTO_BATCH_BUILDER_H

#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// struct kp_header_in is a header to write; a NULL value is written as null.
struct kp_header_in {
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
};

// struct kp_record_in is a record to write; a NULL key or value is written as null, a non-NULL
// pointer with length 0 as empty.
struct kp_record_in {
    int64_t timestamp;
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    const struct kp_header_in *headers;
    size_t num_headers;
};

// kp_compress_fn is the shape of kp_compress (compress.h). The builder reaches compression only
// through params.compress, so a program that never compresses (kesm writes uncompressed batches
// to its kafka:// failure destination) does not link the codecs' compressors: zstd's alone is
// about 0.4 MB of the static release binary.
typedef enum kp_status (*kp_compress_fn)(kw *w, int codec, unsigned flags, const uint8_t *in,
                                         size_t in_len);

struct kp_batch_params {
    int64_t base_offset;            // 0 for Produce (the broker assigns offsets)
    int32_t partition_leader_epoch; // -1 for Produce
    int codec;                      // enum kp_codec
    unsigned compress_flags;        // KP_COMP_* (compress.h)
    kp_compress_fn compress;        // required when codec is not KP_CODEC_NONE: kp_compress
    bool log_append_time;           // timestampType = LogAppendTime
    int64_t log_append_time_ms;     // maxTimestamp when log_append_time
    bool transactional;
    bool control;
    int64_t producer_id; // -1 if none
    int16_t producer_epoch;
    int32_t base_sequence;
};

// kp_batch_params_default fills |p| for a plain, uncompressed, non-idempotent Produce batch
// (compress NULL).
void kp_batch_params_default(struct kp_batch_params *p);

// struct kp_batch_builder collects records. Fields are private.
struct kp_batch_builder {
    struct kp_batch_params params;
    kw recs;
    int32_t count;
    int32_t last_delta;
    int64_t base_ts;
    int64_t max_ts;
};

// kp_batch_builder_init enters the empty state; kp_batch_builder_cleanup frees what it holds
// (safe on every path, more than once).
void kp_batch_builder_init(struct kp_batch_builder *b, const struct kp_batch_params *params);
void kp_batch_builder_cleanup(struct kp_batch_builder *b);

// kp_batch_builder_add appends a record with the next offset delta (last + 1). Returns false
// (and the builder stays failed) if a length does not fit its encoding or memory runs out.
bool kp_batch_builder_add(struct kp_batch_builder *b, const struct kp_record_in *rec);
// kp_batch_builder_add_at appends a record with an explicit offset delta, which must be greater
// than the previous one (gaps are allowed, as after compaction).
bool kp_batch_builder_add_at(struct kp_batch_builder *b, int32_t offset_delta,
                             const struct kp_record_in *rec);

// kp_batch_builder_finish appends the whole batch to |w|. Returns KP_OK; KP_ERR_LIMIT if an add
// failed or |w| ran out of room; KP_ERR_UNSUPPORTED for an unknown codec, or a codec other than
// KP_CODEC_NONE without params.compress. The builder keeps its
// records, so finishing twice writes the same batch twice.
enum kp_status kp_batch_builder_finish(struct kp_batch_builder *b, kw *w);

#endif
