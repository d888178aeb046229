// compress.h: the Kafka compression codecs and the arena that owns decompressed bytes.
//
// Decoding: kp_decompress inflates one compressed blob (a magic-2 batch's records section, or a
// legacy wrapper message's value) into a block of a caller-owned struct kp_arena and returns a
// kr view of the result. The view stays valid until kp_arena_reset or kp_arena_cleanup; later
// decompressions into the same arena never move earlier blocks. The arena is the only allocation
// the record decoders make.
//
// Bombs: the arena has a byte limit on everything it holds at once. A blob whose output would
// push the arena past it fails with KP_ERR_LIMIT as soon as the excess is seen (a declared size
// over the limit fails before anything is allocated), never with an out-of-memory.
//
// Formats accepted:
//   gzip   RFC 1952 members (several concatenated members are accepted);
//   snappy a raw snappy block (librdkafka) or the xerial framing of snappy-java (Java clients:
//          "\x82SNAPPY\0", int32 version, int32 min-compatible version, then {int32 length,
//          raw block} chunks);
//   lz4    one or more LZ4 frames; with KP_DECOMP_LZ4_FIX_HC the frame header checksum is
//          recomputed before decoding, which magic-0 messages need (old Kafka computed it over
//          the magic bytes too, KAFKA-1493);
//   zstd   one or more frames, with or without a declared content size.
#ifndef PROTO_COMPRESS_H
#define PROTO_COMPRESS_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// enum kp_codec is the compression id in bits 0-2 of batch and message attributes.
enum kp_codec {
    KP_CODEC_NONE = 0,
    KP_CODEC_GZIP = 1,
    KP_CODEC_SNAPPY = 2,
    KP_CODEC_LZ4 = 3,
    KP_CODEC_ZSTD = 4,
};

// kp_codec_name returns "none", "gzip", "snappy", "lz4", "zstd", or "unknown".
const char *kp_codec_name(int codec);

// KP_ARENA_DEFAULT_LIMIT is the limit kp_arena_init uses when given 0.
#define KP_ARENA_DEFAULT_LIMIT ((size_t)256 << 20)

struct kp_arena_block;

// struct kp_arena owns decompressed bytes. Zero state: kp_arena_init. It is not thread-safe; use
// one per consumer thread. Fields are private.
struct kp_arena {
    struct kp_arena_block *blocks; // newest first; earlier blocks never move
    struct kp_arena_block *spare;  // kept by kp_arena_reset for reuse
    size_t used;                   // decompressed bytes held now
    size_t limit;                  // most bytes held at once
};

// kp_arena_init enters the empty state with a limit of |limit| bytes (0 = the default).
void kp_arena_init(struct kp_arena *a, size_t limit);
// KP_ARENA_SPARE_MAX is the largest block kp_arena_reset keeps for reuse.
#define KP_ARENA_SPARE_MAX ((size_t)8 << 20)

// kp_arena_reset releases every view handed out so far (their bytes become invalid) and keeps
// one block (the largest up to KP_ARENA_SPARE_MAX) for reuse.
void kp_arena_reset(struct kp_arena *a);
// kp_arena_cleanup frees everything; safe on a zeroed or already cleaned-up arena.
void kp_arena_cleanup(struct kp_arena *a);
// kp_arena_used returns the decompressed bytes the arena holds now.
size_t kp_arena_used(const struct kp_arena *a);

// Decompression flags.
#define KP_DECOMP_LZ4_FIX_HC 0x1u // recompute LZ4 frame header checksums (magic-0 messages)

// kp_decompress inflates |in_len| bytes at |in| compressed with |codec| into a new block of |a|
// and makes |out| a view of the result (out->base is the block start, so error offsets from
// reads on it count from there). Returns KP_OK; KP_ERR_LIMIT if the output would exceed the
// arena's limit; KP_ERR_CORRUPT if the data does not decode (truncated streams included);
// KP_ERR_UNSUPPORTED for KP_CODEC_NONE or an unknown codec. |err| (may be NULL) names the codec
// and the input offset where decoding stopped, when known.
enum kp_status kp_decompress(struct kp_arena *a, int codec, unsigned flags, const uint8_t *in,
                             size_t in_len, kr *out, struct kp_err *err);

// Compression flags.
#define KP_COMP_SNAPPY_XERIAL 0x1u // write the snappy-java framing instead of one raw block
#define KP_COMP_LZ4_BAD_HC 0x2u    // write the old Kafka (magic 0) header checksum, for tests

// kp_compress (compress_write.c, with libsnappy, liblz4's and libzstd's compressors and zlib's
// deflate) appends |in| compressed with |codec| to |w|, in the form the Java client or
// librdkafka writes (gzip member, raw snappy block, LZ4 frame with independent 64 KiB blocks and
// no checksums, one zstd frame). It allocates a temporary buffer of the codec's worst-case size.
// Returns KP_OK; KP_ERR_LIMIT if |w| is full or an allocation fails; KP_ERR_UNSUPPORTED for an
// unknown codec or KP_CODEC_NONE.
enum kp_status kp_compress(kw *w, int codec, unsigned flags, const uint8_t *in, size_t in_len);

// KP_XERIAL_MAGIC starts snappy-java's framing (KP_XERIAL_MAGIC_LEN bytes).
#define KP_XERIAL_MAGIC "\x82SNAPPY"
#define KP_XERIAL_MAGIC_LEN 8u

// kp_lz4_header_len returns the length of the LZ4 frame header at |p| (|n| bytes; through the
// header checksum byte), or 0 if |p| does not start an ordinary LZ4 frame.
size_t kp_lz4_header_len(const uint8_t *p, size_t n);

// kp_xxh32 is the XXH32 hash (LZ4 frames use it for checksums), exposed for tests.
uint32_t kp_xxh32(const void *p, size_t len, uint32_t seed);

#endif
