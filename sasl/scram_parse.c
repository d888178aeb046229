// scram_parse.c: the attribute-level parsing of SCRAM server messages (RFC 5802 section 7),
// over proto/ kr cursors. Pure functions; scram.c decides what each failure means.
#include "sasl/scram_parse.h"

#include <string.h>

// scram_nonce_chars_ok checks RFC 5802's "printable": %x21-2B / %x2D-7E.
bool scram_nonce_chars_ok(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',') {
            return false;
        }
    }
    return true;
}

// scram_attr reads "<name>=<value>" where the value runs to the next ',' or the end, then the ','
// (setting *out_more). Returns false if the next attribute is not |name| (any letter when |name|
// is 0, reported through *out_name).
bool scram_attr(kr *r, char name, char *out_name, kr *out_value, bool *out_more)
{
    uint8_t c = 0, eq = 0;
    if (!kr_u8(r, &c) || !kr_u8(r, &eq) || eq != '=' || (name && c != (uint8_t)name)) {
        return false;
    }
    // Measure the value on a scratch copy of the cursor, so every byte is read through kr.
    kr scan = *r;
    size_t n = 0;
    uint8_t ch = 0;
    bool comma = false;
    while (kr_u8(&scan, &ch)) {
        if (ch == ',') {
            comma = true;
            break;
        }
        n++;
    }
    *out_more = comma;
    *out_name = (char)c;
    return kr_sub(r, out_value, n) && (!comma || kr_skip(r, 1));
}

// scram_extensions accepts RFC 5802 extensions "ALPHA=value" (non-empty value) up to the end.
bool scram_extensions(kr *r, bool more)
{
    while (more) {
        char name;
        kr v;
        if (!scram_attr(r, 0, &name, &v, &more) ||
            !((name >= 'a' && name <= 'z') || (name >= 'A' && name <= 'Z')) || kr_left(&v) == 0) {
            return false;
        }
    }
    return kr_done(r);
}

// scram_parse_iterations reads a positive decimal without sign or leading zero into *out.
bool scram_parse_iterations(const kr *v, uint32_t *out)
{
    kr d = *v;
    uint64_t n = 0;
    uint8_t ch = 0;
    size_t len = kr_left(v);
    if (len == 0 || len > 10) {
        return false;
    }
    for (size_t i = 0; kr_u8(&d, &ch); i++) {
        if (ch < '0' || ch > '9' || (i == 0 && ch == '0')) {
            return false;
        }
        n = n * 10 + (uint64_t)(ch - '0');
    }
    if (n > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)n;
    return true;
}

// scram_check_message applies decision 7 (scram.h) to any server message: false, with the
// reason in *why, for an empty or oversized message or one containing a NUL byte.
bool scram_check_message(const uint8_t *in, size_t in_len, const char **why)
{
    *why = in_len == 0                     ? "empty message"
           : in_len > SCRAM_MAX_MSG        ? "message too long"
           : memchr(in, 0, in_len) != NULL ? "NUL byte in message"
                                           : NULL;
    return *why == NULL;
}
