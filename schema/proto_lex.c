// proto_lex.c: the .proto text tokenizer and the token helpers of the parser (proto_parse.c):
// a lexer that never reads past the text, expected tokens, string and integer values, skipping
// blocks and statements, and field options. Every error names the file, line and column.
#include "schema/proto_int.h"
#include "schema/proto_parse_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool pp_fail(struct pp *p, enum sch_status st, const char *fmt, ...)
{
    if (p->st != SCH_OK) {
        return false;
    }
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    sch_fail(p->err, st, "%.60s:%u:%u: %s", p->fname, p->t.line, p->t.col, what);
    p->st = st;
    return false;
}

// ---- lexer ------------------------------------------------------------------------------------

static char peekc(const struct pp *p, size_t k)
{
    return p->pos + k < p->len ? p->s[p->pos + k] : 0;
}

static void adv(struct pp *p, size_t k)
{
    while (k-- > 0 && p->pos < p->len) {
        if (p->s[p->pos] == '\n') {
            p->line++;
            p->col = 1;
        } else {
            p->col++;
        }
        p->pos++;
    }
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

// skip_space skips whitespace and comments; false on an unterminated block comment.
static bool skip_space(struct pp *p)
{
    for (;;) {
        char c = peekc(p, 0);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            adv(p, 1);
        } else if (c == '/' && peekc(p, 1) == '/') {
            while (p->pos < p->len && p->s[p->pos] != '\n') {
                adv(p, 1);
            }
        } else if (c == '/' && peekc(p, 1) == '*') {
            adv(p, 2);
            while (p->pos < p->len && !(peekc(p, 0) == '*' && peekc(p, 1) == '/')) {
                adv(p, 1);
            }
            if (p->pos >= p->len) {
                return false;
            }
            adv(p, 2);
        } else if (c == 0 && p->pos < p->len) {
            return false; // a NUL byte in the text
        } else {
            return true;
        }
    }
}

static bool lex_string(struct pp *p)
{
    char q = peekc(p, 0);
    adv(p, 1);
    while (p->pos < p->len && p->s[p->pos] != q) {
        if (p->s[p->pos] == '\n') {
            return pp_fail(p, SCH_ERR_SCHEMA, "line break inside a string");
        }
        adv(p, p->s[p->pos] == '\\' ? 2 : 1);
    }
    if (p->pos >= p->len) {
        return pp_fail(p, SCH_ERR_SCHEMA, "unterminated string");
    }
    adv(p, 1);
    return true;
}

// pp_next reads the next token into p->t.
bool pp_next(struct pp *p)
{
    if (p->st != SCH_OK) {
        return false;
    }
    if (!skip_space(p)) {
        p->t.line = p->line;
        p->t.col = p->col;
        return pp_fail(p, SCH_ERR_SCHEMA, "unterminated comment or NUL byte");
    }
    struct tok *t = &p->t;
    t->p = p->s + p->pos;
    t->line = p->line;
    t->col = p->col;
    size_t start = p->pos;
    char c = peekc(p, 0);
    if (p->pos >= p->len) {
        t->kind = T_EOF;
    } else if (is_alpha(c)) {
        t->kind = T_IDENT;
        while (is_alpha(peekc(p, 0)) || is_digit(peekc(p, 0))) {
            adv(p, 1);
        }
    } else if (is_digit(c) || (c == '.' && is_digit(peekc(p, 1)))) {
        t->kind = T_INT;
        bool hex = c == '0' && (peekc(p, 1) == 'x' || peekc(p, 1) == 'X');
        if (hex) {
            adv(p, 2);
        }
        for (;;) {
            char d = peekc(p, 0);
            if (is_digit(d) || (hex && ((d >= 'a' && d <= 'f') || (d >= 'A' && d <= 'F')))) {
                adv(p, 1);
            } else if (!hex && (d == '.' || d == 'e' || d == 'E' || is_alpha(d))) {
                t->kind = T_FLOAT; // floats are only ever skipped (option values)
                adv(p, 1);
                if ((d == 'e' || d == 'E') && (peekc(p, 0) == '-' || peekc(p, 0) == '+')) {
                    adv(p, 1);
                }
            } else {
                break;
            }
        }
    } else if (c == '"' || c == '\'') {
        t->kind = T_STR;
        if (!lex_string(p)) {
            return false;
        }
    } else {
        t->kind = T_SYM;
        adv(p, 1);
    }
    t->n = p->pos - start;
    return true;
}

bool pp_is_sym(const struct pp *p, char c)
{
    return p->t.kind == T_SYM && p->t.n == 1 && p->t.p[0] == c;
}

bool pp_is_word(const struct pp *p, const char *w)
{
    return p->t.kind == T_IDENT && p->t.n == strlen(w) && memcmp(p->t.p, w, p->t.n) == 0;
}

void pp_tok_text(const struct pp *p, char *out, size_t cap)
{
    if (p->t.kind == T_EOF) {
        snprintf(out, cap, "end of file");
    } else {
        snprintf(out, cap, "'%.*s'", (int)(p->t.n < 40 ? p->t.n : 40), p->t.p);
    }
}

bool pp_expect_sym(struct pp *p, char c)
{
    if (!pp_is_sym(p, c)) {
        char f[64];
        pp_tok_text(p, f, sizeof f);
        return pp_fail(p, SCH_ERR_SCHEMA, "expected '%c', found %s", c, f);
    }
    return pp_next(p);
}

bool pp_expect_ident(struct pp *p, char *out, size_t cap, const char *what)
{
    if (p->t.kind != T_IDENT) {
        char f[64];
        pp_tok_text(p, f, sizeof f);
        return pp_fail(p, SCH_ERR_SCHEMA, "expected %s, found %s", what, f);
    }
    if (p->t.n >= cap) {
        return pp_fail(p, SCH_ERR_LIMIT, "%s longer than %zu characters", what, cap - 1);
    }
    memcpy(out, p->t.p, p->t.n);
    out[p->t.n] = 0;
    return pp_next(p);
}

// pp_str_value decodes the current string token (and adjacent ones) into |out|; advances.
bool pp_str_value(struct pp *p, char *out, size_t cap)
{
    size_t o = 0;
    if (p->t.kind != T_STR) {
        return pp_fail(p, SCH_ERR_SCHEMA, "expected a string");
    }
    while (p->t.kind == T_STR) {
        const char *s = p->t.p + 1;
        size_t n = p->t.n - 2;
        for (size_t i = 0; i < n; i++) {
            char c = s[i];
            if (c == '\\' && i + 1 < n) {
                char e = s[++i];
                c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '0' ? 0 : e;
            }
            if (o + 1 >= cap) {
                return pp_fail(p, SCH_ERR_LIMIT, "string longer than %zu bytes", cap - 1);
            }
            out[o++] = c;
        }
        if (!pp_next(p)) {
            return false;
        }
    }
    out[o] = 0;
    if (strlen(out) != o) {
        return pp_fail(p, SCH_ERR_SCHEMA, "string holds a NUL byte");
    }
    return true;
}

bool pp_uint(struct pp *p, uint64_t *out)
{
    if (p->t.kind != T_INT) {
        char f[64];
        pp_tok_text(p, f, sizeof f);
        return pp_fail(p, SCH_ERR_SCHEMA, "expected an integer, found %s", f);
    }
    uint64_t v = 0;
    const char *s = p->t.p;
    size_t n = p->t.n, i = 0;
    unsigned base = 10;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    } else if (n > 1 && s[0] == '0') {
        base = 8;
        i = 1;
    }
    for (; i < n; i++) {
        char c = s[i];
        unsigned d = is_digit(c) ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
        if (d >= base || v > (UINT64_MAX - d) / base) {
            return pp_fail(p, SCH_ERR_SCHEMA, "integer '%.*s' is invalid or too large",
                           (int)(n < 30 ? n : 30), s);
        }
        v = v * base + d;
    }
    *out = v;
    return pp_next(p);
}

// pp_skip_block skips a balanced {...} starting at the current '{'.
bool pp_skip_block(struct pp *p)
{
    size_t depth = 0;
    do {
        if (p->t.kind == T_EOF) {
            return pp_fail(p, SCH_ERR_SCHEMA, "unterminated block");
        }
        if (pp_is_sym(p, '{')) {
            depth++;
        } else if (pp_is_sym(p, '}')) {
            depth--;
        }
        if (!pp_next(p)) {
            return false;
        }
    } while (depth > 0);
    return true;
}

// pp_skip_statement skips to and past the next ';' at this level (aggregates skipped whole).
bool pp_skip_statement(struct pp *p)
{
    while (!pp_is_sym(p, ';')) {
        if (p->t.kind == T_EOF) {
            return pp_fail(p, SCH_ERR_SCHEMA, "expected ';'");
        }
        if (pp_is_sym(p, '{')) {
            if (!pp_skip_block(p)) {
                return false;
            }
            continue;
        }
        if (!pp_next(p)) {
            return false;
        }
    }
    return pp_next(p);
}

// ---- options ----------------------------------------------------------------------------------

// parse_option_name reads an option name (ident, or (ext.name), then .sub parts) into |out|.
static bool parse_option_name(struct pp *p, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    for (;;) {
        if (pp_is_sym(p, '(')) {
            while (!pp_is_sym(p, ')')) {
                if (p->t.kind == T_EOF || !pp_next(p)) {
                    return pp_fail(p, SCH_ERR_SCHEMA, "unterminated option name");
                }
            }
            if (!pp_next(p)) {
                return false;
            }
            o = (size_t)snprintf(out, cap, "(ext)");
        } else if (p->t.kind == T_IDENT) {
            int w = snprintf(out + o, cap - o, "%s%.*s", o ? "." : "", (int)p->t.n, p->t.p);
            o = w > 0 && (size_t)w < cap - o ? o + (size_t)w : cap - 1;
            if (!pp_next(p)) {
                return false;
            }
        } else {
            return pp_fail(p, SCH_ERR_SCHEMA, "expected an option name");
        }
        if (!pp_is_sym(p, '.')) {
            return true;
        }
        if (!pp_next(p)) {
            return false;
        }
    }
}

// skip_constant skips an option value: a signed number, identifier, string(s) or aggregate.
static bool skip_constant(struct pp *p)
{
    if (pp_is_sym(p, '{')) {
        return pp_skip_block(p);
    }
    if (pp_is_sym(p, '-') || pp_is_sym(p, '+')) {
        if (!pp_next(p)) {
            return false;
        }
    }
    if (p->t.kind == T_STR) {
        while (p->t.kind == T_STR) {
            if (!pp_next(p)) {
                return false;
            }
        }
        return true;
    }
    if (p->t.kind == T_IDENT || p->t.kind == T_INT || p->t.kind == T_FLOAT) {
        return pp_next(p);
    }
    return pp_fail(p, SCH_ERR_SCHEMA, "expected an option value");
}

// pp_field_options reads [a = b, ...]; a json_name string goes to |json_name|.
bool pp_field_options(struct pp *p, char *json_name, size_t cap)
{
    if (!pp_is_sym(p, '[')) {
        return true;
    }
    if (!pp_next(p)) {
        return false;
    }
    for (;;) {
        char name[128];
        if (!parse_option_name(p, name, sizeof name) || !pp_expect_sym(p, '=')) {
            return false;
        }
        if (!strcmp(name, "json_name") && p->t.kind == T_STR) {
            if (!pp_str_value(p, json_name, cap)) {
                return false;
            }
        } else if (!skip_constant(p)) {
            return false;
        }
        if (pp_is_sym(p, ']')) {
            return pp_next(p);
        }
        if (!pp_expect_sym(p, ',')) {
            return false;
        }
    }
}
