// sch.c: status names, errors and the bounded JSON output buffer (see sch.h).
#include "schema/sch.h"

#include "base/base64.h"
#include "base/hex.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sch_status_name(enum sch_status s)
{
    switch (s) {
    case SCH_OK:
        return "ok";
    case SCH_ERR_TRUNCATED:
        return "truncated";
    case SCH_ERR_MALFORMED:
        return "malformed";
    case SCH_ERR_LIMIT:
        return "limit";
    case SCH_ERR_SCHEMA:
        return "schema";
    case SCH_ERR_UNSUPPORTED:
        return "unsupported";
    case SCH_ERR_NOMEM:
        return "out of memory";
    }
    return "?";
}

enum sch_status sch_fail(struct sch_err *err, enum sch_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return st;
}

void sch_out_init(struct sch_out *o, size_t limit)
{
    memset(o, 0, sizeof *o);
    o->limit = limit ? limit : SCH_DEFAULT_OUT_LIMIT;
}

void sch_out_cleanup(struct sch_out *o)
{
    free(o->p);
    size_t limit = o->limit;
    memset(o, 0, sizeof *o);
    o->limit = limit;
}

void sch_out_reset(struct sch_out *o)
{
    o->len = 0;
    o->over = false;
    o->nomem = false;
}

bool sch_out_ok(const struct sch_out *o)
{
    return !o->over && !o->nomem;
}

enum sch_status sch_out_status(const struct sch_out *o, struct sch_err *err)
{
    if (o->nomem) {
        return sch_fail(err, SCH_ERR_NOMEM, "out of memory writing the JSON");
    }
    if (o->over) {
        return sch_fail(err, SCH_ERR_LIMIT, "the decoded JSON exceeds %zu bytes", o->limit);
    }
    return SCH_OK;
}

// room makes space for |n| more bytes; false (and the buffer failed) if it cannot.
static bool room(struct sch_out *o, size_t n)
{
    if (!sch_out_ok(o)) {
        return false;
    }
    if (n > o->limit || o->len > o->limit - n) {
        o->over = true;
        return false;
    }
    if (o->len + n <= o->cap) {
        return true;
    }
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->len + n) {
        cap *= 2;
    }
    if (cap > o->limit) {
        cap = o->limit;
    }
    char *p = realloc(o->p, cap);
    if (!p) {
        o->nomem = true;
        return false;
    }
    o->p = p;
    o->cap = cap;
    return true;
}

void sch_out_add(struct sch_out *o, const void *p, size_t n)
{
    if (n && room(o, n)) {
        memcpy(o->p + o->len, p, n);
        o->len += n;
    }
}

void sch_out_addc(struct sch_out *o, char c)
{
    if (room(o, 1)) {
        o->p[o->len++] = c;
    }
}

void sch_out_adds(struct sch_out *o, const char *s)
{
    sch_out_add(o, s, strlen(s));
}

static void put_escaped(struct sch_out *o, unsigned c)
{
    char e[6] = {'\\', 'u', '0', '0', hex_lower[(c >> 4) & 15], hex_lower[c & 15]};
    switch (c) {
    case '"':
        sch_out_add(o, "\\\"", 2);
        return;
    case '\\':
        sch_out_add(o, "\\\\", 2);
        return;
    case '\n':
        sch_out_add(o, "\\n", 2);
        return;
    case '\r':
        sch_out_add(o, "\\r", 2);
        return;
    case '\t':
        sch_out_add(o, "\\t", 2);
        return;
    default:
        sch_out_add(o, e, sizeof e);
        return;
    }
}

void sch_out_json_str(struct sch_out *o, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    sch_out_addc(o, '"');
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && u[j] >= 0x20 && u[j] != '"' && u[j] != '\\') {
            j++;
        }
        sch_out_add(o, s + i, j - i);
        if (j < n) {
            put_escaped(o, u[j]);
            j++;
        }
        i = j;
    }
    sch_out_addc(o, '"');
}

void sch_out_latin1_str(struct sch_out *o, const uint8_t *p, size_t n)
{
    sch_out_addc(o, '"');
    for (size_t i = 0; i < n && sch_out_ok(o); i++) {
        uint8_t c = p[i];
        if (c < 0x20 || c == '"' || c == '\\') {
            put_escaped(o, c);
        } else if (c < 0x80) {
            sch_out_addc(o, (char)c);
        } else {
            char two[2] = {(char)(0xc0 | (c >> 6)), (char)(0x80 | (c & 0x3f))};
            sch_out_add(o, two, 2);
        }
    }
    sch_out_addc(o, '"');
}

void sch_out_base64_str(struct sch_out *o, const uint8_t *p, size_t n)
{
    char enc[1024]; // base64_len of a 765-byte chunk (a multiple of 3 keeps '=' to the end)
    sch_out_addc(o, '"');
    for (size_t i = 0; i < n && sch_out_ok(o); i += 765) {
        size_t k = n - i < 765 ? n - i : 765;
        sch_out_add(o, enc, base64_encode(enc, p + i, k));
    }
    sch_out_addc(o, '"');
}

void sch_out_u64(struct sch_out *o, uint64_t v)
{
    char buf[24];
    size_t i = sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sch_out_add(o, buf + i, sizeof buf - i);
}

void sch_out_i64(struct sch_out *o, int64_t v)
{
    if (v < 0) {
        sch_out_addc(o, '-');
        sch_out_u64(o, (uint64_t)0 - (uint64_t)v);
    } else {
        sch_out_u64(o, (uint64_t)v);
    }
}

static bool nonfinite(struct sch_out *o, double v)
{
    if (isnan(v)) {
        sch_out_adds(o, "\"NaN\"");
        return true;
    }
    if (isinf(v)) {
        sch_out_adds(o, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return true;
    }
    return false;
}

// put_number writes the printf %.*g text of |v| made valid JSON ("1e+20" is, "inf" never gets
// here; a leading "-0" stays).
static void put_number(struct sch_out *o, const char *buf)
{
    sch_out_adds(o, buf);
}

void sch_out_double(struct sch_out *o, double v)
{
    if (nonfinite(o, v)) {
        return;
    }
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) {
            break;
        }
    }
    put_number(o, buf);
}

void sch_out_float(struct sch_out *o, float v)
{
    if (nonfinite(o, (double)v)) {
        return;
    }
    char buf[40];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v) {
            break;
        }
    }
    put_number(o, buf);
}
