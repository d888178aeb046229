// flexwire.h: version-switched field helpers shared by the API codecs.
//
// From an API's first flexible version on (KIP-482), strings, bytes and arrays use compact
// encodings (uvarint length + 1) and every struct ends with a tagged-field section; before it
// they use int16/int32 length prefixes and have no tags. Each helper takes |flex| and calls the
// matching kr_/kw_ primitive, so a codec states its schema once for both encodings.
#ifndef PROTO_FLEXWIRE_H
#define PROTO_FLEXWIRE_H

#include "proto/kr.h"
#include "proto/kw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Readers. Same contracts as kr_str / kr_bytes / kr_array_count (|out_null| NULL = not
// nullable). kp_fw_tags skips a tagged section when |flex| and does nothing otherwise.
bool kp_fw_str(kr *r, bool flex, kr *out, bool *out_null);
bool kp_fw_bytes(kr *r, bool flex, kr *out, bool *out_null);
bool kp_fw_array(kr *r, bool flex, size_t min_elem_len, uint32_t max, uint32_t *out_n,
                 bool *out_null);
bool kp_fw_tags(kr *r, bool flex);

// Writers. kp_fw_wstr writes a NUL-terminated string (NULL = null); kp_fw_wbytes writes |n|
// bytes at |p| (p NULL = null, so empty non-null bytes need a non-NULL p); kp_fw_warray writes a
// count (negative = null); kp_fw_wtags writes an empty tagged section when |flex|.
bool kp_fw_wstr(kw *w, bool flex, const char *s);
// kp_fw_wstr_nn writes a string that may not be null: NULL fails the writer.
bool kp_fw_wstr_nn(kw *w, bool flex, const char *s);
bool kp_fw_wbytes(kw *w, bool flex, const void *p, size_t n);
// kp_fw_wbytes_nn writes bytes that may not be null: p NULL with n 0 writes empty bytes, p NULL
// with n > 0 fails the writer.
bool kp_fw_wbytes_nn(kw *w, bool flex, const void *p, size_t n);
bool kp_fw_warray(kw *w, bool flex, int32_t n);
bool kp_fw_wtags(kw *w, bool flex);

// kp_fw_span makes |out| a view of the bytes between |mark| (an earlier copy of a cursor) and
// |now| (the same cursor after reading), keeping the root for error offsets.
void kp_fw_span(const kr *mark, const kr *now, kr *out);

// kp_fw_version_ok returns whether |version| of API |key| is inside the range kesm supports
// (the table in proto/api.c).
bool kp_fw_version_ok(int16_t key, int16_t version);

// kp_fw_count converts an element count to the int32 an array prefix holds; a count above
// INT32_MAX fails the writer.
bool kp_fw_count(kw *w, size_t n, int32_t *out);

#endif
