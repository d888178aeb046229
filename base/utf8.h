// utf8.h: strict UTF-8 checks shared by the event writer (invoke/event_json.c) and FilterCriteria
// (esm/filter.c). Strict means RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF),
// nothing above U+10FFFF, no stray continuation bytes. libc only: no allocation, no globals.
#ifndef BASE_UTF8_H
#define BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// utf8_seq returns the length (1-4) of the valid UTF-8 sequence at s[0..n), or 0 if s[0]
// does not start one (or it is cut short by n). n must be at least 1.
size_t utf8_seq(const unsigned char *s, size_t n);

// utf8_valid reports whether s[0..n) is valid UTF-8 as a whole (true for n == 0).
bool utf8_valid(const void *s, size_t n);

// utf8_encode writes the UTF-8 form of code point |cp| (at most U+10FFFF, not a surrogate: the
// caller checks) into |out| and returns its length, 1-4.
size_t utf8_encode(char out[4], uint32_t cp);

#endif
