// base64.h: RFC 4648 base64, standard alphabet ('+', '/') with '=' padding, no line breaks, and
// the unpadded base64url encoding: the one codec for the event JSON (invoke/), FilterCriteria
// (esm/), SCRAM and the MSK IAM token (sasl/). libc only: no allocation, no globals, so sasl/ may
// use it too.
#ifndef BASE_BASE64_H
#define BASE_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// base64_len returns the encoded length of |n| bytes: 4 * ceil(n / 3).
size_t base64_len(size_t n);

// base64_encode writes base64_len(n) characters to |out| (no NUL) and returns that count.
size_t base64_encode(char *out, const uint8_t *in, size_t n);

// base64_decode strictly decodes |in_len| characters into |out|, writing at most |cap| bytes
// (in_len / 4 * 3 always suffices). It rejects: a length that is not a multiple of 4, characters
// outside the alphabet (including whitespace), '=' anywhere but the last one or two positions,
// non-zero bits in the last character before the padding (non-canonical encodings), and output
// that would not fit |cap|. Returns true and sets |*out_len| on success; on failure returns false
// and sets |*out_bad| (when not NULL) to the offset of the first offending character (in_len for
// a bad length, the start of the group that does not fit for a short |cap|).
bool base64_decode(uint8_t *out, size_t cap, size_t *out_len, size_t *out_bad, const char *in,
                   size_t in_len);

// base64url_encode writes |n| bytes in the URL and filename safe alphabet of RFC 4648 section 5
// ('-' and '_' for '+' and '/') without padding: at most base64_len(n) characters to |out| (no
// NUL). Returns the count written (ceil(4 * n / 3)).
size_t base64url_encode(char *out, const uint8_t *in, size_t n);

#endif
