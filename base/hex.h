// hex.h: hexadecimal digits, one copy for every layer (SigV4's lower-case digests, JSON \u
// escapes, percent-encoding, HTTP chunk sizes). libc only: no allocation, no globals.
#ifndef BASE_HEX_H
#define BASE_HEX_H

#include <stddef.h>

// hex_lower / hex_upper: the sixteen digits ("0123456789abcdef", "0123456789ABCDEF").
extern const char hex_lower[16];
extern const char hex_upper[16];

// hex_value returns the value (0-15) of the hex digit |c| (either case), or -1.
int hex_value(int c);

// hex_encode writes 2 * |n| lower-case digits of the |n| bytes at |in| and a NUL to |out|
// (2 * n + 1 bytes).
void hex_encode(char *out, const void *in, size_t n);

#endif
