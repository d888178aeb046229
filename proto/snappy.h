// snappy.h: a decoder of the raw snappy block format (no compressor; libc only).
//
// The format (google/snappy's format_description.txt): the uncompressed length as a
// little-endian base-128 varint of at most 5 bytes (at most 2^32 - 1), then elements until the
// input ends. Each element starts with a tag byte whose two low bits say what follows:
//   00 literal: (length - 1) in the tag's upper six bits when it is at most 59; the values
//      60-63 say that (length - 1) is in the next 1-4 bytes, little-endian; then the bytes;
//   01 copy, length 4-11 (bits 2-4 hold length - 4), an 11-bit offset (bits 5-7 of the tag are
//      its upper three bits, the next byte its lower eight);
//   10 copy, length 1-64 (bits 2-7 hold length - 1), a 16-bit little-endian offset;
//   11 the same with a 32-bit offset.
// A copy repeats the |length| bytes that start |offset| bytes back in the output; it may
// overlap itself (offset < length repeats a pattern). An offset of 0, or one reaching before the
// start of the output, is invalid.
//
// The decoder accepts what google/snappy's accepts: it fails on a truncated varint or element,
// a varint longer than 5 bytes or above 2^32 - 1, an invalid copy offset, an element that would
// write past the declared length, and input that ends before the declared length is produced.
// Kafka's framings around the block (raw, or snappy-java's xerial chunks) are compress.c's.
#ifndef PROTO_SNAPPY_H
#define PROTO_SNAPPY_H

#include "proto/status.h"

#include <stddef.h>
#include <stdint.h>

// kp_snappy_length reads the uncompressed length at the start of the block |in| (|in_len|
// bytes) into |out_len|. Returns KP_OK, or KP_ERR_CORRUPT with |err| (may be NULL) naming the
// varint, offset 0.
enum kp_status kp_snappy_length(const uint8_t *in, size_t in_len, size_t *out_len,
                                struct kp_err *err);

// kp_snappy_decode decodes the whole block |in| into |dst|, which has room for exactly
// |dst_len| bytes, the block's declared length (kp_snappy_length). Returns KP_OK when the
// elements produce exactly |dst_len| bytes and use all of |in|; KP_ERR_CORRUPT otherwise, with
// |err| (may be NULL) saying what was wrong and the offset in |in| of the element (or varint)
// where it was seen. Never writes outside dst[0, dst_len) or reads outside in[0, in_len).
enum kp_status kp_snappy_decode(uint8_t *dst, size_t dst_len, const uint8_t *in, size_t in_len,
                                struct kp_err *err);

#endif
