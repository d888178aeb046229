// json_guard.c: lexical limits, strict UTF-8 and duplicate keys for accepted JSON (see
// json_guard.h).
#include "esm/json_guard.h"

#include "base/utf8.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD_MAX_DEPTH 64 // the scanner's own stack; limits may ask for less

void esm_json_limits_request(struct esm_json_limits *out)
{
    out->max_depth = 10;
    out->max_members = 256;
    out->max_items = 1024;
    out->max_values = 10000;
    out->max_string = 65536;
}

__attribute__((format(printf, 3, 4))) static bool fail(char *why, size_t why_len, const char *fmt,
                                                       ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
    return false;
}

struct level {
    bool object;
    bool expect_key;
    size_t count;
};

struct scan {
    const unsigned char *p;
    size_t len, i;
    const struct esm_json_limits *lim;
    struct level st[GUARD_MAX_DEPTH];
    unsigned depth;
    size_t values;
    char *why;
    size_t why_len;
};

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// read_u4 reads the 4 hex digits after "\u" at s->i (which points at 'u').
static bool read_u4(struct scan *s, unsigned *out)
{
    if (s->i + 4 >= s->len) {
        return false;
    }
    unsigned v = 0;
    for (size_t k = 1; k <= 4; k++) {
        int h = hexval(s->p[s->i + k]);
        if (h < 0) {
            return false;
        }
        v = v << 4 | (unsigned)h;
    }
    *out = v;
    s->i += 5;
    return true;
}

// escape checks the escape at s->i (just after the backslash) and adds its decoded size.
static bool escape(struct scan *s, size_t *decoded)
{
    size_t at = s->i - 1;
    unsigned char c = s->p[s->i];
    if (c != 'u') {
        if (!strchr("\"\\/bfnrt", c) || c == '\0') {
            return fail(s->why, s->why_len, "invalid escape '\\%c' in a string at byte %zu",
                        c >= 0x20 && c < 0x7f ? c : '?', at);
        }
        s->i++;
        *decoded += 1;
        return true;
    }
    unsigned u;
    if (!read_u4(s, &u)) {
        return fail(s->why, s->why_len, "invalid \\u escape in a string at byte %zu", at);
    }
    if (u == 0) {
        return fail(s->why, s->why_len,
                    "\\u0000 (a NUL character) in a string at byte %zu is not accepted", at);
    }
    if (u >= 0xDC00 && u <= 0xDFFF) {
        return fail(s->why, s->why_len, "unpaired surrogate escape in a string at byte %zu", at);
    }
    if (u >= 0xD800 && u <= 0xDBFF) {
        unsigned lo;
        if (s->i + 1 >= s->len || s->p[s->i] != '\\' || s->p[s->i + 1] != 'u') {
            return fail(s->why, s->why_len, "unpaired surrogate escape in a string at byte %zu",
                        at);
        }
        s->i++;
        if (!read_u4(s, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
            return fail(s->why, s->why_len, "unpaired surrogate escape in a string at byte %zu",
                        at);
        }
        *decoded += 4;
        return true;
    }
    *decoded += u < 0x80 ? 1u : u < 0x800 ? 2u : 3u;
    return true;
}

// string checks the string starting at s->i (the opening quote); leaves s->i after the closing
// quote.
static bool string(struct scan *s)
{
    size_t start = s->i++;
    size_t decoded = 0;
    for (;;) {
        if (s->i >= s->len) {
            return fail(s->why, s->why_len, "unterminated string starting at byte %zu", start);
        }
        unsigned char c = s->p[s->i];
        if (c == '"') {
            s->i++;
            break;
        }
        if (c < 0x20) {
            return fail(s->why, s->why_len,
                        "control character 0x%02x in a string at byte %zu (escape it)", c, s->i);
        }
        if (c == '\\') {
            s->i++;
            if (s->i >= s->len || !escape(s, &decoded)) {
                return s->i >= s->len ? fail(s->why, s->why_len,
                                             "unterminated string starting at byte %zu", start)
                                      : false;
            }
        } else if (c >= 0x80) {
            size_t n = utf8_seq(s->p + s->i, s->len - s->i);
            if (n == 0) {
                return fail(s->why, s->why_len, "invalid UTF-8 in a string at byte %zu", s->i);
            }
            s->i += n;
            decoded += n;
        } else {
            s->i++;
            decoded++;
        }
        if (decoded > s->lim->max_string) {
            return fail(s->why, s->why_len, "string starting at byte %zu is longer than %zu bytes",
                        start, s->lim->max_string);
        }
    }
    return true;
}

// value_starts counts a new value in the current container and checks the counts.
static bool value_starts(struct scan *s)
{
    if (++s->values > s->lim->max_values) {
        return fail(s->why, s->why_len, "more than %zu JSON values", s->lim->max_values);
    }
    if (s->depth == 0) {
        return true;
    }
    struct level *l = &s->st[s->depth - 1];
    if (!l->object && ++l->count > s->lim->max_items) {
        return fail(s->why, s->why_len, "an array with more than %zu items at byte %zu",
                    s->lim->max_items, s->i);
    }
    return true;
}

static bool open_container(struct scan *s, bool object)
{
    if (!value_starts(s)) {
        return false;
    }
    if (s->depth >= s->lim->max_depth || s->depth >= GUARD_MAX_DEPTH) {
        return fail(s->why, s->why_len, "nesting deeper than %u levels at byte %zu",
                    s->lim->max_depth, s->i);
    }
    s->st[s->depth++] = (struct level){object, object, 0};
    s->i++;
    return true;
}

static bool key_or_string(struct scan *s)
{
    struct level *l = s->depth ? &s->st[s->depth - 1] : NULL;
    if (l && l->object && l->expect_key) {
        l->expect_key = false;
        if (++l->count > s->lim->max_members) {
            return fail(s->why, s->why_len, "an object with more than %zu members at byte %zu",
                        s->lim->max_members, s->i);
        }
    } else if (!value_starts(s)) {
        return false;
    }
    return string(s);
}

bool esm_json_scan(const char *text, size_t len, const struct esm_json_limits *lim, char *why,
                   size_t why_len)
{
    struct esm_json_limits def;
    if (lim == NULL) {
        esm_json_limits_request(&def);
        lim = &def;
    }
    struct scan s = {(const unsigned char *)text, len, 0, lim, {{0}}, 0, 0, why, why_len};
    bool in_token = false;
    while (s.i < s.len) {
        unsigned char c = s.p[s.i];
        bool token_char = c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9') ||
                          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (token_char) {
            if (!in_token && !value_starts(&s)) {
                return false;
            }
            in_token = true;
            s.i++;
            continue;
        }
        in_token = false;
        if (c == '"') {
            if (!key_or_string(&s)) {
                return false;
            }
        } else if (c == '{' || c == '[') {
            if (!open_container(&s, c == '{')) {
                return false;
            }
        } else if (c == '}' || c == ']') {
            if (s.depth == 0) {
                return fail(why, why_len, "unbalanced '%c' at byte %zu", c, s.i);
            }
            s.depth--;
            s.i++;
        } else if (c == ',') {
            if (s.depth > 0 && s.st[s.depth - 1].object) {
                s.st[s.depth - 1].expect_key = true;
            }
            s.i++;
        } else if (c == ':' || c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            s.i++;
        } else {
            return fail(why, why_len, "unexpected byte 0x%02x at byte %zu", c, s.i);
        }
    }
    return true;
}

// ---- duplicate keys ------------------------------------------------------------------------

static bool dup_walk(const cJSON *v, char *path, size_t path_len, size_t cap, char *why,
                     size_t why_len)
{
    bool object = cJSON_IsObject(v);
    if (!object && !cJSON_IsArray(v)) {
        return false;
    }
    size_t idx = 0;
    for (const cJSON *c = v->child; c != NULL; c = c->next, idx++) {
        size_t n;
        if (object) {
            for (const cJSON *d = v->child; d != c; d = d->next) {
                if (c->string && d->string && strcmp(c->string, d->string) == 0) {
                    snprintf(path + path_len, cap - path_len, "%s%s", path_len ? "." : "",
                             c->string);
                    snprintf(why, why_len, "duplicate key '%.100s' (at '%.200s')", c->string, path);
                    return true;
                }
            }
            n = (size_t)snprintf(path + path_len, cap - path_len, "%s%s", path_len ? "." : "",
                                 c->string ? c->string : "");
        } else {
            n = (size_t)snprintf(path + path_len, cap - path_len, "[%zu]", idx);
        }
        size_t len = path_len + n < cap ? path_len + n : cap - 1;
        if (dup_walk(c, path, len, cap, why, why_len)) {
            return true;
        }
        path[path_len] = '\0';
    }
    return false;
}

bool esm_json_duplicate_key(const cJSON *v, char *why, size_t why_len)
{
    char path[512] = "";
    return dup_walk(v, path, 0, sizeof path, why, why_len);
}

cJSON *esm_json_parse_guarded(const char *text, size_t len, const struct esm_json_limits *lim,
                              char *why, size_t why_len)
{
    if (!esm_json_scan(text, len, lim, why, why_len)) {
        return NULL;
    }
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (v == NULL) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        snprintf(why, why_len, "syntax error at byte %zu", at);
        return NULL;
    }
    for (const char *e = end; e && e < text + len; e++) {
        if (*e != ' ' && *e != '\t' && *e != '\r' && *e != '\n') {
            snprintf(why, why_len, "unexpected text after the JSON value at byte %zu",
                     (size_t)(e - text));
            cJSON_Delete(v);
            return NULL;
        }
    }
    if (esm_json_duplicate_key(v, why, why_len)) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

// ---- sanitising echoed text ----------------------------------------------------------------

char *esm_utf8_sanitize(char *out, size_t cap, const char *in, size_t len)
{
    static const char repl[] = "\xEF\xBF\xBD"; // U+FFFD
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)in;
    for (size_t i = 0; i < len;) {
        size_t n = p[i] < 0x80 ? 1 : utf8_seq(p + i, len - i);
        const char *piece = (const char *)p + i;
        size_t plen = n;
        char sp = ' ';
        if (n == 0) {
            piece = repl;
            plen = 3;
            n = 1;
        } else if (n == 1 && (p[i] < 0x20 || p[i] == 0x7f)) {
            piece = &sp;
            plen = 1;
        }
        if (o + plen + 1 > cap) {
            break;
        }
        memcpy(out + o, piece, plen);
        o += plen;
        i += n;
    }
    out[o] = '\0';
    return out;
}
