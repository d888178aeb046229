// fuzz_oauthbearer_error.c: arbitrary bytes as the OAUTHBEARER server's answer to the client's
// token (sasl/oauthbearer.c), and through the error-JSON parser directly
// (sasl/oauthbearer_parse.c).
// Invariants: an empty answer completes; any other answer is answered with the single byte 0x01
// and leaves a non-empty printable reason; the next step then fails with a printable error. The
// parser reports a reason and an offset inside the input when it refuses, views inside the input
// when it accepts, and an accepted message followed by one more non-space byte is refused.
#include "sasl/oauthbearer.h"
#include "sasl/oauthbearer_parse.h"
#include "sasl/sasl.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void assert_printable(const char *s, bool nonempty)
{
    size_t n = strlen(s);
    assert(!nonempty || n > 0);
    for (size_t i = 0; i < n; i++) {
        assert(s[i] >= 0x20 && s[i] <= 0x7e);
    }
}

static bool inside(const kr *v, const uint8_t *data, size_t size)
{
    return kr_left(v) == 0 || (v->p >= data && v->p + kr_left(v) <= data + size);
}

static void check_parser(const uint8_t *data, size_t size)
{
    struct oauth_error e;
    const char *why = NULL;
    size_t at = 0;
    if (!oauth_error_parse(&e, data, size, &why, &at)) {
        assert(why && *why);
        assert(at <= size);
        return;
    }
    assert(size <= OAUTH_ERR_MAX_LEN);
    assert(inside(&e.status, data, size) && inside(&e.scope, data, size) &&
           inside(&e.openid_configuration, data, size));
    char buf[160];
    oauth_error_describe(&e, buf, sizeof buf);
    assert_printable(buf, true);
    assert(strncmp(buf, "status ", 7) == 0);
    if (size < OAUTH_ERR_MAX_LEN) {
        uint8_t *more = malloc(size + 1);
        assert(more);
        memcpy(more, data, size);
        more[size] = 'x';
        assert(!oauth_error_parse(&e, more, size + 1, &why, &at));
        assert(strcmp(why, "trailing bytes after the object") == 0);
        free(more);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_parser(data, size);

    struct sasl_err err = {{0}};
    const uint8_t *out;
    size_t out_len;
    struct sasl_mech *m = sasl_mech_new_oauthbearer((const uint8_t *)"eyJ0.eyJ1.c2ln", 14, 0, &err);
    assert(m);
    assert(sasl_mech_start(m, &out, &out_len, &err) == SASL_CONTINUE);
    enum sasl_status st = sasl_mech_step(m, data, size, &out, &out_len, &err);
    if (size == 0) {
        assert(st == SASL_COMPLETE && out_len == 0);
        assert(sasl_mech_finished(m));
    } else {
        assert(st == SASL_CONTINUE && out_len == 1 && out[0] == 0x01);
        assert_printable(sasl_mech_server_reason(m), true);
        assert(sasl_mech_step(m, NULL, 0, &out, &out_len, &err) == SASL_FAILED);
        assert_printable(err.msg, true);
        assert(!sasl_mech_finished(m));
    }
    sasl_mech_free(m);
    return 0;
}
