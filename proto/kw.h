// kw.h: the writer cursor for Kafka wire bytes.
//
// A kw writes into either a fixed buffer the caller owns (kw_init_fixed) or a growable heap
// buffer it owns (kw_init_grow; the one documented allocation in proto/, released by
// kw_cleanup). Errors are sticky: once a write fails (fixed buffer full, allocation failed, a
// value out of range for its encoding), every later write fails and kw_finish reports it, so a
// writer can emit a whole request and check once.
//
// Size prefixes are back-patched: kw_begin_size32 reserves four bytes and returns their position,
// kw_end_size32 fills in the number of bytes written since.
#ifndef PROTO_KW_H
#define PROTO_KW_H

#include "proto/kr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kw {
    uint8_t *buf;
    size_t len;
    size_t cap;
    bool owned;  // buf is heap memory this kw grows and frees
    bool failed; // sticky
} kw;

// kw_init_fixed writes into |buf| of |cap| bytes, which the caller keeps owning.
void kw_init_fixed(kw *w, uint8_t *buf, size_t cap);
// kw_init_grow starts an empty heap buffer; kw_cleanup frees it.
void kw_init_grow(kw *w);
// kw_cleanup frees a growable buffer and returns |w| to an empty failed-free state. Safe to call
// on any initialised kw, any number of times.
void kw_cleanup(kw *w);

// kw_ok returns false once any write has failed.
bool kw_ok(const kw *w);
// kw_fail marks |w| failed; returns false.
bool kw_fail(kw *w);
// kw_data and kw_len expose what was written so far.
const uint8_t *kw_data(const kw *w);
size_t kw_len(const kw *w);
// kw_finish returns true and the written length iff no write failed.
bool kw_finish(const kw *w, size_t *out_len);
// kw_take_buf hands a growable buffer to the caller (who frees it with free()) and resets |w|.
// Returns NULL if |w| failed or is not growable.
uint8_t *kw_take_buf(kw *w, size_t *out_len);

bool kw_raw(kw *w, const void *p, size_t n);
bool kw_zeros(kw *w, size_t n);
bool kw_i8(kw *w, int8_t v);
bool kw_u8(kw *w, uint8_t v);
bool kw_i16(kw *w, int16_t v);
bool kw_u16(kw *w, uint16_t v);
bool kw_i32(kw *w, int32_t v);
bool kw_u32(kw *w, uint32_t v);
bool kw_i64(kw *w, int64_t v);
bool kw_f64(kw *w, double v);
bool kw_bool(kw *w, bool v);
bool kw_uuid(kw *w, const uint8_t v[16]);
bool kw_uvarint(kw *w, uint64_t v);
bool kw_varint(kw *w, int32_t v);
bool kw_varlong(kw *w, int64_t v);
// kw_uvarint_len returns how many bytes kw_uvarint would write for |v|.
size_t kw_uvarint_len(uint64_t v);
size_t kw_varint_len(int32_t v);
size_t kw_varlong_len(int64_t v);

// Strings and bytes. A NULL pointer writes null (nullable forms only); a string longer than its
// length prefix allows fails the writer.
bool kw_str(kw *w, const char *s);             // int16 length; NULL -> -1
bool kw_str_n(kw *w, const void *p, size_t n); // int16 length, not null
bool kw_compact_str(kw *w, const char *s);     // uvarint len+1; NULL -> 0
bool kw_compact_str_n(kw *w, const void *p, size_t n);
bool kw_bytes(kw *w, const void *p, size_t n);         // int32 length; p NULL -> -1
bool kw_compact_bytes(kw *w, const void *p, size_t n); // uvarint len+1; p NULL -> 0
// kw_view writes the bytes of a reader view with the given encoding helpers above.
bool kw_str_view(kw *w, const kr *s, bool is_null);
bool kw_compact_str_view(kw *w, const kr *s, bool is_null);

// Array counts; a negative count writes null (-1 / 0).
bool kw_array_count(kw *w, int32_t n);
bool kw_compact_array_count(kw *w, int32_t n);
// kw_empty_tags writes an empty tagged-field section.
bool kw_empty_tags(kw *w);

// Back-patched int32 size prefix.
bool kw_begin_size32(kw *w, size_t *out_pos);
bool kw_end_size32(kw *w, size_t pos);
// kw_patch_u32 / kw_patch_i32 overwrite four bytes already written at |pos|.
bool kw_patch_u32(kw *w, size_t pos, uint32_t v);

#endif
