// kr.h: the bounds-checked reader cursor over Kafka wire bytes.
//
// A kr is a borrowed view of bytes: it never owns or frees them, and every view taken from it
// (strings, bytes, child cursors) points into the same buffer, so the buffer must outlive them.
//
// Every read goes through one choke point (take() in kr.c). A read that fails leaves the cursor
// unchanged and records a fault, after which every further read on that cursor fails too (the
// fault is sticky, so a chain `a(r) && b(r) && c(r)` can be checked once at the end). A fault is
// one of:
//   KR_TRUNCATED  the bytes ran out before the value did (a strict prefix of valid input);
//   KR_MALFORMED  the bytes are present but not a valid encoding (negative length, overlong varint,
//                 null where null is not allowed, trailing bytes);
//   KR_LIMIT      a count or length is larger than the caller's limit.
//
// Counts are checked against the bytes left before the caller loops or allocates: an array of N
// elements whose smallest encoding is M bytes needs N*M bytes to follow (kr_array_count and
// friends), so a wire count can never size a loop or an allocation by itself.
#ifndef PROTO_KR_H
#define PROTO_KR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kr_fault {
    KR_OK = 0,
    KR_TRUNCATED,
    KR_MALFORMED,
    KR_LIMIT,
};

typedef struct kr {
    const uint8_t *p;    // next unread byte
    size_t len;          // bytes left
    const uint8_t *base; // start of the root buffer, for error offsets
    enum kr_fault fault; // sticky: once set, every read fails
} kr;

// kr_init makes |r| a view of |len| bytes at |p|. Offsets in errors count from |p|.
void kr_init(kr *r, const uint8_t *p, size_t len);

// kr_left returns the number of unread bytes.
size_t kr_left(const kr *r);
// kr_offset returns how far |r| is from the start of its root buffer.
size_t kr_offset(const kr *r);
// kr_done returns true iff no fault was recorded and every byte was read.
bool kr_done(const kr *r);
// kr_expect_done records KR_MALFORMED (trailing bytes) unless every byte was read; returns
// whether the cursor is done and fault-free.
bool kr_expect_done(kr *r);
// kr_set_fault records |fault| on |r| (a no-op if a fault is already recorded); returns false so a
// caller can `return kr_set_fault(r, KR_MALFORMED);` from a bool function.
bool kr_set_fault(kr *r, enum kr_fault fault);

// Fixed-width big-endian integers.
bool kr_i8(kr *r, int8_t *out);
bool kr_u8(kr *r, uint8_t *out);
bool kr_i16(kr *r, int16_t *out);
bool kr_u16(kr *r, uint16_t *out);
bool kr_i32(kr *r, int32_t *out);
bool kr_u32(kr *r, uint32_t *out);
bool kr_i64(kr *r, int64_t *out);
bool kr_f64(kr *r, double *out);
// Fixed-width little-endian integers (Avro floats, Protobuf fixed32/fixed64).
bool kr_u32le(kr *r, uint32_t *out);
bool kr_u64le(kr *r, uint64_t *out);
// kr_bool reads one byte; any non-zero value is true.
bool kr_bool(kr *r, bool *out);
// kr_uuid copies 16 raw bytes.
bool kr_uuid(kr *r, uint8_t out[16]);

// Variable-length integers (LEB128, least significant group first). An encoding longer than the
// type allows, or one whose value overflows the type, is KR_MALFORMED.
bool kr_uvarint32(kr *r, uint32_t *out); // at most 5 bytes
bool kr_uvarint64(kr *r, uint64_t *out); // at most 10 bytes
bool kr_varint(kr *r, int32_t *out);     // zigzag int32
bool kr_varlong(kr *r, int64_t *out);    // zigzag int64

// kr_skip advances |n| bytes.
bool kr_skip(kr *r, size_t n);
// kr_sub makes |out| a child cursor over the next |n| bytes and advances |r| past them. The child
// shares |r|'s root for error offsets and has its own fault.
bool kr_sub(kr *r, kr *out, size_t n);
// kr_rest makes |out| a child cursor over every byte left and leaves |r| done.
bool kr_rest(kr *r, kr *out);

// Length-prefixed strings and bytes. |out| is a child view of the payload. When |out_null| is
// NULL the value may not be null (a null encoding is KR_MALFORMED); otherwise *out_null reports
// null and |out| is then empty.
bool kr_str(kr *r, kr *out, bool *out_null);           // int16 length, -1 = null
bool kr_compact_str(kr *r, kr *out, bool *out_null);   // uvarint length+1, 0 = null
bool kr_bytes(kr *r, kr *out, bool *out_null);         // int32 length, -1 = null
bool kr_compact_bytes(kr *r, kr *out, bool *out_null); // uvarint length+1, 0 = null
// kr_vbytes reads a record-field byte string: zigzag varint length, -1 = null.
bool kr_vbytes(kr *r, kr *out, bool *out_null);

// Array counts. The count is checked against the bytes left: |n| elements of at least
// |min_elem_len| bytes each must fit (KR_TRUNCATED otherwise), and |n| must not exceed |max|
// (KR_LIMIT). When |out_null| is NULL a null array is KR_MALFORMED; a null array has count 0.
bool kr_array_count(kr *r, size_t min_elem_len, uint32_t max, uint32_t *out_n, bool *out_null);
bool kr_compact_array_count(kr *r, size_t min_elem_len, uint32_t max, uint32_t *out_n,
                            bool *out_null);

// kr_skip_tags reads a tagged-field section and skips every field. Tags must be strictly
// ascending (KR_MALFORMED otherwise).
bool kr_skip_tags(kr *r);

// kr_tag_next iterates a tagged-field section for callers that want some tags: call
// kr_tag_section_begin to read the count, then kr_tag_next up to that many times; each gives the
// tag and a child view of its payload. Tags must be strictly ascending.
struct kr_tags {
    uint32_t left;
    int64_t last_tag;
};
bool kr_tag_section_begin(kr *r, struct kr_tags *out);
bool kr_tag_next(kr *r, struct kr_tags *t, uint32_t *out_tag, kr *out_payload);

// kr_eq_cstr returns true iff the view |s| holds exactly the bytes of |cstr|.
bool kr_eq_cstr(const kr *s, const char *cstr);
// kr_copy_cstr copies the view into |buf| (of |cap| bytes) NUL-terminated, truncating if needed.
// Returns false if it had to truncate or the view holds a NUL byte.
bool kr_copy_cstr(const kr *s, char *buf, size_t cap);

#endif
