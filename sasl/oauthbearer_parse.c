// oauthbearer_parse.c: the OAUTHBEARER server error message (see oauthbearer_parse.h), a small
// strict JSON reader over kr cursors: every byte is read through kr, every failure names what was
// expected and where.
#include "sasl/oauthbearer_parse.h"

#include "base/hex.h"

#include <stdio.h>
#include <string.h>

// struct jp: the reader; |why| and |at| record the first failure.
struct jp {
    kr r;
    const char *why;
    size_t at;
};

static bool fail_at(struct jp *j, const kr *where, const char *why)
{
    if (!j->why) {
        j->why = why;
        j->at = kr_offset(where);
    }
    return false;
}

static bool fail(struct jp *j, const char *why)
{
    return fail_at(j, &j->r, why);
}

static bool peek(const kr *r, uint8_t *out)
{
    kr t = *r;
    return kr_u8(&t, out);
}

static void skip_ws(kr *r)
{
    uint8_t c;
    while (peek(r, &c) && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
        kr_skip(r, 1);
    }
}

// expect reads |want| after optional whitespace.
static bool expect(struct jp *j, uint8_t want, const char *why)
{
    uint8_t c;
    skip_ws(&j->r);
    if (!peek(&j->r, &c) || c != want) {
        return fail(j, why);
    }
    return kr_skip(&j->r, 1);
}

// escape_len checks the escape after a backslash on |scan| and returns its length after the
// backslash (1 or 5), or 0 if invalid.
static size_t escape_len(kr *scan)
{
    uint8_t e = 0, h = 0;
    if (!kr_u8(scan, &e)) {
        return 0;
    }
    if (e != 'u') {
        return strchr("\"\\/bfnrt", e) && e != 0 ? 1 : 0;
    }
    for (int i = 0; i < 4; i++) {
        if (!kr_u8(scan, &h) || hex_value(h) < 0) {
            return 0;
        }
    }
    return 5;
}

// string reads a JSON string after optional whitespace; |out| views its contents (escaped).
static bool string(struct jp *j, kr *out)
{
    if (!expect(j, '"', "expected a string")) {
        return false;
    }
    kr scan = j->r;
    size_t n = 0;
    for (;;) {
        uint8_t c = 0;
        kr here = scan;
        if (!kr_u8(&scan, &c)) {
            return fail_at(j, &here, "unterminated string");
        }
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            return fail_at(j, &here, "control character in a string");
        }
        if (c == '\\') {
            size_t e = escape_len(&scan);
            if (e == 0) {
                return fail_at(j, &here, "invalid escape in a string");
            }
            n += e;
        }
        n++;
    }
    return kr_sub(&j->r, out, n) && kr_skip(&j->r, 1);
}

static bool digits(kr *r)
{
    uint8_t c;
    size_t n = 0;
    while (peek(r, &c) && c >= '0' && c <= '9') {
        kr_skip(r, 1);
        n++;
    }
    return n > 0;
}

static bool number(struct jp *j)
{
    uint8_t c = 0;
    if (peek(&j->r, &c) && c == '-') {
        kr_skip(&j->r, 1);
    }
    if (peek(&j->r, &c) && c == '0') {
        kr_skip(&j->r, 1);
    } else if (!digits(&j->r)) {
        return fail(j, "invalid number");
    }
    if (peek(&j->r, &c) && c == '.') {
        kr_skip(&j->r, 1);
        if (!digits(&j->r)) {
            return fail(j, "invalid number");
        }
    }
    if (peek(&j->r, &c) && (c == 'e' || c == 'E')) {
        kr_skip(&j->r, 1);
        if (peek(&j->r, &c) && (c == '+' || c == '-')) {
            kr_skip(&j->r, 1);
        }
        if (!digits(&j->r)) {
            return fail(j, "invalid number");
        }
    }
    return true;
}

static bool literal(struct jp *j, const char *word)
{
    size_t n = strlen(word);
    kr start = j->r, w;
    if (kr_left(&j->r) < n || !kr_sub(&j->r, &w, n) || !kr_eq_cstr(&w, word)) {
        return fail_at(j, &start, "expected a value");
    }
    return true;
}

static bool value(struct jp *j, int depth);

// members reads the rest of an object after '{' (|top|: the message itself, whose three names
// are picked out into |e|) or of an array after '[' (|e| NULL, |close| ']').
static bool members(struct jp *j, int depth, struct oauth_error *e, bool object)
{
    uint8_t c = 0, close = object ? '}' : ']';
    skip_ws(&j->r);
    if (peek(&j->r, &c) && c == close) {
        kr_skip(&j->r, 1);
        return !e || fail(j, "no \"status\" member");
    }
    bool has_status = false;
    for (;;) {
        kr name = {0}, s;
        if (object && (!string(j, &name) || !expect(j, ':', "expected ':'"))) {
            return false;
        }
        kr *field = NULL;
        bool *seen = NULL;
        if (e && kr_eq_cstr(&name, "status")) {
            field = &e->status;
            seen = &has_status;
        } else if (e && kr_eq_cstr(&name, "scope")) {
            field = &e->scope;
            seen = &e->has_scope;
        } else if (e && kr_eq_cstr(&name, "openid-configuration")) {
            field = &e->openid_configuration;
            seen = &e->has_openid_configuration;
        }
        if (seen && *seen) {
            return fail_at(j, &name, "duplicate member");
        }
        if (field ? !string(j, &s) : !value(j, depth)) {
            return fail(j, field ? "expected a string value" : "expected a value");
        }
        if (field) {
            *field = s;
            *seen = true;
        }
        skip_ws(&j->r);
        if (!peek(&j->r, &c) || (c != ',' && c != close)) {
            return fail(j, object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
        kr_skip(&j->r, 1);
        if (c == close) {
            return !e || has_status || fail(j, "no \"status\" member");
        }
    }
}

static bool value(struct jp *j, int depth)
{
    uint8_t c = 0;
    skip_ws(&j->r);
    if (!peek(&j->r, &c)) {
        return fail(j, "expected a value");
    }
    switch (c) {
    case '"': {
        kr s;
        return string(j, &s);
    }
    case '{':
    case '[':
        if (depth >= OAUTH_ERR_MAX_DEPTH) {
            return fail(j, "nested too deeply");
        }
        kr_skip(&j->r, 1);
        return members(j, depth + 1, NULL, c == '{');
    case 't':
        return literal(j, "true");
    case 'f':
        return literal(j, "false");
    case 'n':
        return literal(j, "null");
    default:
        return number(j);
    }
}

bool oauth_error_parse(struct oauth_error *out, const uint8_t *in, size_t in_len,
                       const char **out_why, size_t *out_at)
{
    struct jp j = {.why = NULL};
    *out = (struct oauth_error){0};
    kr_init(&j.r, in, in_len);
    bool ok = false;
    if (in_len > OAUTH_ERR_MAX_LEN) {
        fail(&j, "longer than 16384 bytes");
    } else if (expect(&j, '{', "expected a JSON object")) {
        ok = members(&j, 1, out, true);
        skip_ws(&j.r);
        ok = ok && (kr_done(&j.r) || fail(&j, "trailing bytes after the object"));
    }
    if (!ok) {
        *out = (struct oauth_error){0};
        *out_why = j.why ? j.why : "malformed";
        *out_at = j.at;
    }
    return ok;
}

// unescape_one reads one character of a valid string's contents and returns it, or '?' for
// anything outside printable ASCII.
static char unescape_one(kr *r)
{
    uint8_t c = 0, e = 0, h = 0;
    kr_u8(r, &c);
    if (c != '\\') {
        return c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    kr_u8(r, &e);
    switch (e) {
    case 'u': {
        unsigned v = 0;
        for (int i = 0; i < 4 && kr_u8(r, &h); i++) {
            v = v * 16 + (unsigned)hex_value(h);
        }
        return v >= 0x20 && v < 0x7f ? (char)v : '?';
    }
    case '"':
    case '\\':
    case '/':
        return (char)e;
    default:
        return '?';
    }
}

const char *oauth_json_printable(const kr *raw, char *buf, size_t cap)
{
    kr r = *raw;
    size_t n = 0;
    while (kr_left(&r) > 0 && n + 1 < cap) {
        buf[n++] = unescape_one(&r);
    }
    if (kr_left(&r) > 0 && cap >= 4) {
        memcpy(buf + cap - 4, "...", 3);
        n = cap - 1;
    }
    buf[n] = '\0';
    return buf;
}

void oauth_error_describe(const struct oauth_error *e, char *buf, size_t cap)
{
    char st[40], sc[48], oc[64];
    snprintf(
        buf, cap, "status %s%s%s%s%s%s%s", oauth_json_printable(&e->status, st, sizeof st),
        e->has_scope ? ", scope \"" : "",
        e->has_scope ? oauth_json_printable(&e->scope, sc, sizeof sc) : "",
        e->has_scope ? "\"" : "", e->has_openid_configuration ? ", openid-configuration \"" : "",
        e->has_openid_configuration ? oauth_json_printable(&e->openid_configuration, oc, sizeof oc)
                                    : "",
        e->has_openid_configuration ? "\"" : "");
}
