// proto_check.c: prefix and extra-byte checks for parser tests (see proto_check.h).
#include "tests/lib/proto_check.h"

#include "tests/lib/golden.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum kp_status run_guarded(const uint8_t *p, size_t len, int16_t version,
                                  proto_parse_fn parse, void *ctx)
{
    struct guarded g;
    guarded_copy(&g, p, len);
    kr r;
    kr_init(&r, g.data, g.len);
    struct kp_err err = {0};
    enum kp_status st = parse(&r, version, ctx, &err);
    guarded_free(&g);
    return st;
}

void proto_check_prefixes(const uint8_t *p, size_t len, int16_t version, proto_parse_fn parse,
                          void *ctx)
{
    enum kp_status st = run_guarded(p, len, version, parse, ctx);
    if (st != KP_OK) {
        fail_msg("v%d: whole input (%zu bytes) gave %s", version, len, kp_status_name(st));
    }
    for (size_t n = 0; n < len; n++) {
        st = run_guarded(p, n, version, parse, ctx);
        if (st != KP_ERR_TRUNCATED) {
            fail_msg("v%d: prefix of %zu/%zu bytes gave %s, want truncated", version, n, len,
                     kp_status_name(st));
        }
    }
}

void proto_check_bounds(const uint8_t *p, size_t len, int16_t version, proto_parse_fn parse,
                        void *ctx)
{
    proto_check_prefixes(p, len, version, parse, ctx);
    uint8_t *more = malloc(len + 1);
    assert_non_null(more);
    if (len > 0) {
        memcpy(more, p, len);
    }
    more[len] = 0;
    enum kp_status st = run_guarded(more, len + 1, version, parse, ctx);
    free(more);
    if (st != KP_ERR_MALFORMED) {
        fail_msg("v%d: input + 1 byte gave %s, want malformed", version, kp_status_name(st));
    }
}
