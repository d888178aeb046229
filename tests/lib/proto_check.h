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
#include "proto/kw.h"
#include "proto/status.h"
#include "tests/lib/golden.h"

#include <stddef.h>
#include <stdint.h>

typedef enum kp_status (*proto_parse_fn)(kr *body, int16_t version, void *ctx, struct kp_err *err);

void proto_check_bounds(const uint8_t *p, size_t len, int16_t version, proto_parse_fn parse,
                        void *ctx);

// proto_check_prefixes is proto_check_bounds without the extra-byte check (for formats that
// ignore trailing bytes by design).
void proto_check_prefixes(const uint8_t *p, size_t len, int16_t version, proto_parse_fn parse,
                          void *ctx);

// proto_golden_resp loads tests/golden/<name>, a whole response frame (int32 size prefix,
// header, body), checks the size prefix and the response header for |key| at |version|, and
// leaves |out_body| on the body, a view into |out_g| (free it with guarded_free).
void proto_golden_resp(const char *name, int16_t key, int16_t version, struct guarded *out_g,
                       kr *out_body);

// proto_golden_equal asserts that tests/golden/<name> holds exactly the |len| bytes at |p|
// (for example a request frame a writer produced); a failure names the first differing byte.
void proto_golden_equal(const char *name, const uint8_t *p, size_t len);

#endif
