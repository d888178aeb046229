// proto_check.h: the bounds checks every golden-byte parser test runs.
//
// proto_check_bounds runs |parse| over |len| bytes at |p| and asserts (cmocka) that the whole
// input parses (KP_OK), that every strict prefix fails with KP_ERR_TRUNCATED, and that the input
// with one extra byte appended fails with KP_ERR_MALFORMED. Every run uses a fresh guarded copy
// (tests/lib/golden.h), so a read past the end faults at once. A failure message names the
// prefix length. |ctx| is passed through to |parse| (for example an output struct).
#ifndef TESTS_LIB_PROTO_CHECK_H
#define TESTS_LIB_PROTO_CHECK_H

#include "proto/kr.h"
#include "proto/status.h"

#include <stddef.h>
#include <stdint.h>

typedef enum kp_status (*proto_parse_fn)(kr *body, int16_t version, void *ctx, struct kp_err *err);

void proto_check_bounds(const uint8_t *p, size_t len, int16_t version, proto_parse_fn parse,
                        void *ctx);

// proto_check_prefixes is proto_check_bounds without the extra-byte check (for formats that
// ignore trailing bytes by design).
void proto_check_prefixes(const uint8_t *p, size_t len, int16_t version, proto_parse_fn parse,
                          void *ctx);

#endif
