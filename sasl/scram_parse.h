// scram_parse.h: internal to sasl/: the attribute parsing shared by scram.c (and its fuzz
// targets through it). Values are kr views into the message, which must outlive them.
#ifndef SASL_SCRAM_PARSE_H
#define SASL_SCRAM_PARSE_H

#include "proto/kr.h"
#include "sasl/scram.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// scram_nonce_chars_ok returns whether all |n| bytes are RFC 5802 "printable" (0x21-0x7E but ',').
bool scram_nonce_chars_ok(const uint8_t *p, size_t n);
// scram_attr reads "<name>=<value>" up to the next ',' or the end, and that ','. |name| 0 accepts
// any byte as the name (returned in *out_name). *out_more tells whether a ',' followed.
bool scram_attr(kr *r, char name, char *out_name, kr *out_value, bool *out_more);
// scram_extensions accepts "ALPHA=value" extensions (non-empty values) when |more|, and requires
// the cursor to end there.
bool scram_extensions(kr *r, bool more);
// scram_parse_iterations reads a positive decimal without sign or leading zero (fits uint32).
bool scram_parse_iterations(const kr *v, uint32_t *out);
// scram_check_message: see scram_parse.c.
bool scram_check_message(const uint8_t *in, size_t in_len, const char **why);

#endif
