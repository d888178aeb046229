// proto_check.c: prefix and extra-byte checks for parser tests (see proto_check.h).
#include "tests/lib/proto_check.h"

#include "proto/api.h"
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

void proto_golden_resp(const char *name, int16_t key, int16_t version, struct guarded *out_g,
                       kr *out_body)
{
    golden_load_guarded(out_g, name);
    kr_init(out_body, out_g->data, out_g->len);
    uint32_t size;
    assert_true(kr_u32(out_body, &size));
    if (size != kr_left(out_body)) {
        fail_msg("%s: size prefix %u, %zu bytes follow", name, size, kr_left(out_body));
    }
    int32_t corr;
    struct kp_err err = {0};
    enum kp_status st = kp_resp_hdr_parse(out_body, key, version, &corr, &err);
    if (st != KP_OK) {
        fail_msg("%s: response header: %s", name, kp_status_name(st));
    }
}

void proto_golden_equal(const char *name, const uint8_t *p, size_t len)
{
    struct guarded g;
    golden_load_guarded(&g, name);
    size_t n = len < g.len ? len : g.len;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != g.data[i]) {
            fail_msg("%s: byte %zu is %02x, golden has %02x", name, i, p[i], g.data[i]);
        }
    }
    if (len != g.len) {
        fail_msg("%s: wrote %zu bytes, golden has %zu", name, len, g.len);
    }
    guarded_free(&g);
}
