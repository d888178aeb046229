// proto_parse.c: the .proto text tokenizer and parser (see proto.h for what is accepted).
//
// A recursive-descent parser over a lexer that never reads past the text. Declarations nest at
// most SCH_MAX_DEPTH deep; blocks kesm ignores (service, extend, aggregate option values) are
// skipped by counting braces, without recursion. Every error names the file, line and column.
#include "schema/proto_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum tok_kind {
    T_EOF,
    T_IDENT,
    T_INT,
    T_FLOAT,
    T_STR,
    T_SYM,
};

struct tok {
    enum tok_kind kind;
    const char *p;
    size_t n;
    uint32_t line, col;
};

struct pp {
    struct sch_proto *pool;
    const char *s;
    size_t len, pos;
    uint32_t line, col;
    struct tok t; // the current token
    const char *fname;
    uint32_t file;
    int syntax;
    char package[512];
    struct sch_err *err;
    enum sch_status st;
    pb_import_fn *imp;
    void *ctx;
};

#define MAX_FIELD_NUMBER 536870911u
#define MAX_NAME 512

static bool perr(struct pp *p, enum sch_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool perr(struct pp *p, enum sch_status st, const char *fmt, ...)
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
            return perr(p, SCH_ERR_SCHEMA, "line break inside a string");
        }
        adv(p, p->s[p->pos] == '\\' ? 2 : 1);
    }
    if (p->pos >= p->len) {
        return perr(p, SCH_ERR_SCHEMA, "unterminated string");
    }
    adv(p, 1);
    return true;
}

// next reads the next token into p->t.
static bool next(struct pp *p)
{
    if (p->st != SCH_OK) {
        return false;
    }
    if (!skip_space(p)) {
        p->t.line = p->line;
        p->t.col = p->col;
        return perr(p, SCH_ERR_SCHEMA, "unterminated comment or NUL byte");
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

static bool is_sym(const struct pp *p, char c)
{
    return p->t.kind == T_SYM && p->t.n == 1 && p->t.p[0] == c;
}

static bool is_word(const struct pp *p, const char *w)
{
    return p->t.kind == T_IDENT && p->t.n == strlen(w) && memcmp(p->t.p, w, p->t.n) == 0;
}

static void tok_text(const struct pp *p, char *out, size_t cap)
{
    if (p->t.kind == T_EOF) {
        snprintf(out, cap, "end of file");
    } else {
        snprintf(out, cap, "'%.*s'", (int)(p->t.n < 40 ? p->t.n : 40), p->t.p);
    }
}

static bool expect_sym(struct pp *p, char c)
{
    if (!is_sym(p, c)) {
        char f[64];
        tok_text(p, f, sizeof f);
        return perr(p, SCH_ERR_SCHEMA, "expected '%c', found %s", c, f);
    }
    return next(p);
}

static bool expect_ident(struct pp *p, char *out, size_t cap, const char *what)
{
    if (p->t.kind != T_IDENT) {
        char f[64];
        tok_text(p, f, sizeof f);
        return perr(p, SCH_ERR_SCHEMA, "expected %s, found %s", what, f);
    }
    if (p->t.n >= cap) {
        return perr(p, SCH_ERR_LIMIT, "%s longer than %zu characters", what, cap - 1);
    }
    memcpy(out, p->t.p, p->t.n);
    out[p->t.n] = 0;
    return next(p);
}

// str_value decodes the current string token (and adjacent ones) into |out|; advances.
static bool str_value(struct pp *p, char *out, size_t cap)
{
    size_t o = 0;
    if (p->t.kind != T_STR) {
        return perr(p, SCH_ERR_SCHEMA, "expected a string");
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
                return perr(p, SCH_ERR_LIMIT, "string longer than %zu bytes", cap - 1);
            }
            out[o++] = c;
        }
        if (!next(p)) {
            return false;
        }
    }
    out[o] = 0;
    if (strlen(out) != o) {
        return perr(p, SCH_ERR_SCHEMA, "string holds a NUL byte");
    }
    return true;
}

static bool parse_uint(struct pp *p, uint64_t *out)
{
    if (p->t.kind != T_INT) {
        char f[64];
        tok_text(p, f, sizeof f);
        return perr(p, SCH_ERR_SCHEMA, "expected an integer, found %s", f);
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
            return perr(p, SCH_ERR_SCHEMA, "integer '%.*s' is invalid or too large",
                        (int)(n < 30 ? n : 30), s);
        }
        v = v * base + d;
    }
    *out = v;
    return next(p);
}

// skip_block skips a balanced {...} starting at the current '{'.
static bool skip_block(struct pp *p)
{
    size_t depth = 0;
    do {
        if (p->t.kind == T_EOF) {
            return perr(p, SCH_ERR_SCHEMA, "unterminated block");
        }
        if (is_sym(p, '{')) {
            depth++;
        } else if (is_sym(p, '}')) {
            depth--;
        }
        if (!next(p)) {
            return false;
        }
    } while (depth > 0);
    return true;
}

// skip_statement skips to and past the next ';' at this level (aggregates skipped whole).
static bool skip_statement(struct pp *p)
{
    while (!is_sym(p, ';')) {
        if (p->t.kind == T_EOF) {
            return perr(p, SCH_ERR_SCHEMA, "expected ';'");
        }
        if (is_sym(p, '{')) {
            if (!skip_block(p)) {
                return false;
            }
            continue;
        }
        if (!next(p)) {
            return false;
        }
    }
    return next(p);
}

// ---- options ----------------------------------------------------------------------------------

// parse_option_name reads an option name (ident, or (ext.name), then .sub parts) into |out|.
static bool parse_option_name(struct pp *p, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = 0;
    for (;;) {
        if (is_sym(p, '(')) {
            while (!is_sym(p, ')')) {
                if (p->t.kind == T_EOF || !next(p)) {
                    return perr(p, SCH_ERR_SCHEMA, "unterminated option name");
                }
            }
            if (!next(p)) {
                return false;
            }
            o = (size_t)snprintf(out, cap, "(ext)");
        } else if (p->t.kind == T_IDENT) {
            int w = snprintf(out + o, cap - o, "%s%.*s", o ? "." : "", (int)p->t.n, p->t.p);
            o = w > 0 && (size_t)w < cap - o ? o + (size_t)w : cap - 1;
            if (!next(p)) {
                return false;
            }
        } else {
            return perr(p, SCH_ERR_SCHEMA, "expected an option name");
        }
        if (!is_sym(p, '.')) {
            return true;
        }
        if (!next(p)) {
            return false;
        }
    }
}

// skip_constant skips an option value: a signed number, identifier, string(s) or aggregate.
static bool skip_constant(struct pp *p)
{
    if (is_sym(p, '{')) {
        return skip_block(p);
    }
    if (is_sym(p, '-') || is_sym(p, '+')) {
        if (!next(p)) {
            return false;
        }
    }
    if (p->t.kind == T_STR) {
        while (p->t.kind == T_STR) {
            if (!next(p)) {
                return false;
            }
        }
        return true;
    }
    if (p->t.kind == T_IDENT || p->t.kind == T_INT || p->t.kind == T_FLOAT) {
        return next(p);
    }
    return perr(p, SCH_ERR_SCHEMA, "expected an option value");
}

// parse_field_options reads [a = b, ...]; a json_name string goes to |json_name|.
static bool parse_field_options(struct pp *p, char *json_name, size_t cap)
{
    if (!is_sym(p, '[')) {
        return true;
    }
    if (!next(p)) {
        return false;
    }
    for (;;) {
        char name[128];
        if (!parse_option_name(p, name, sizeof name) || !expect_sym(p, '=')) {
            return false;
        }
        if (!strcmp(name, "json_name") && p->t.kind == T_STR) {
            if (!str_value(p, json_name, cap)) {
                return false;
            }
        } else if (!skip_constant(p)) {
            return false;
        }
        if (is_sym(p, ']')) {
            return next(p);
        }
        if (!expect_sym(p, ',')) {
            return false;
        }
    }
}

// ---- pool helpers -----------------------------------------------------------------------------

static char *pdup(struct pp *p, const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (!d) {
        perr(p, SCH_ERR_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(d, s, n + 1);
    p->pool->mem += n + 1;
    return d;
}

static bool join_name(struct pp *p, const char *scope, const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%s%s", scope, scope[0] ? "." : "", name);
    if (n < 0 || (size_t)n >= cap) {
        return perr(p, SCH_ERR_LIMIT, "type name longer than %zu characters", cap - 1);
    }
    return true;
}

static bool types_ok(struct pp *p)
{
    if (p->pool->num_msgs + p->pool->num_enums >= SCH_PROTO_MAX_TYPES) {
        return perr(p, SCH_ERR_LIMIT, "more than %d message and enum types", SCH_PROTO_MAX_TYPES);
    }
    return true;
}

// new_msg reserves a message entry named |full|; returns its index or UINT32_MAX.
static uint32_t new_msg(struct pp *p, const char *full)
{
    struct sch_proto *pool = p->pool;
    if (!types_ok(p)) {
        return UINT32_MAX;
    }
    if (pb_find_msg(pool, full) != UINT32_MAX || pb_find_enum(pool, full) != UINT32_MAX) {
        perr(p, SCH_ERR_SCHEMA, "'%.100s' is already defined", full);
        return UINT32_MAX;
    }
    if (!pb_grow((void **)&pool->msgs, &pool->cap_msgs, pool->num_msgs + 1, sizeof *pool->msgs)) {
        perr(p, SCH_ERR_NOMEM, "out of memory");
        return UINT32_MAX;
    }
    struct pb_msg *m = &pool->msgs[pool->num_msgs];
    memset(m, 0, sizeof *m);
    m->file = p->file;
    m->full_name = pdup(p, full);
    if (!m->full_name) {
        return UINT32_MAX;
    }
    if (!pb_name_add(pool, false, (uint32_t)pool->num_msgs)) {
        free(m->full_name);
        perr(p, SCH_ERR_NOMEM, "out of memory");
        return UINT32_MAX;
    }
    return (uint32_t)pool->num_msgs++;
}

// struct body: what a message body collects before it is appended to the pool.
struct body {
    struct pb_field *fields;
    size_t num_fields, cap_fields;
    uint32_t *nested;
    size_t num_nested, cap_nested;
    int32_t num_oneofs;
};

static void body_free(struct body *b)
{
    for (size_t i = 0; i < b->num_fields; i++) {
        free(b->fields[i].name);
        free(b->fields[i].json_name);
        free(b->fields[i].type_name);
    }
    free(b->fields);
    free(b->nested);
}

static bool body_nested(struct pp *p, struct body *b, uint32_t id)
{
    if (!pb_grow((void **)&b->nested, &b->cap_nested, b->num_nested + 1, sizeof *b->nested)) {
        return perr(p, SCH_ERR_NOMEM, "out of memory");
    }
    b->nested[b->num_nested++] = id;
    return true;
}

static void json_name_of(const char *name, char *out, size_t cap)
{
    size_t o = 0;
    bool up = false;
    for (; *name && o + 1 < cap; name++) {
        if (*name == '_') {
            up = true;
        } else if (up) {
            out[o++] = (*name >= 'a' && *name <= 'z') ? (char)(*name - 'a' + 'A') : *name;
            up = false;
        } else {
            out[o++] = *name;
        }
    }
    out[o] = 0;
}

// body_field appends a field; takes |name|, |type_name| (may be NULL) and |json| as copies.
static struct pb_field *body_field(struct pp *p, struct body *b, const char *name, uint8_t type,
                                   const char *type_name, uint8_t label, uint64_t number,
                                   const char *json)
{
    if (number < 1 || number > MAX_FIELD_NUMBER) {
        perr(p, SCH_ERR_SCHEMA, "field '%.60s': number %llu is outside 1..536870911", name,
             (unsigned long long)number);
        return NULL;
    }
    for (size_t i = 0; i < b->num_fields; i++) {
        if (b->fields[i].number == number || !strcmp(b->fields[i].name, name)) {
            perr(p, SCH_ERR_SCHEMA, "field '%.60s' (number %llu) is declared twice", name,
                 (unsigned long long)number);
            return NULL;
        }
    }
    if (!pb_grow((void **)&b->fields, &b->cap_fields, b->num_fields + 1, sizeof *b->fields)) {
        perr(p, SCH_ERR_NOMEM, "out of memory");
        return NULL;
    }
    struct pb_field *f = &b->fields[b->num_fields];
    memset(f, 0, sizeof *f);
    char jn[MAX_NAME];
    if (json && json[0]) {
        snprintf(jn, sizeof jn, "%s", json);
    } else {
        json_name_of(name, jn, sizeof jn);
    }
    f->name = pdup(p, name);
    f->json_name = pdup(p, jn);
    f->type_name = type_name ? pdup(p, type_name) : NULL;
    b->num_fields++; // counted now so body_free frees what was copied
    if (!f->name || !f->json_name || (type_name && !f->type_name)) {
        return NULL;
    }
    f->number = (uint32_t)number;
    f->type = type;
    f->label = label;
    f->oneof = -1;
    f->ref = UINT32_MAX;
    return f;
}

static uint8_t scalar_type(const char *t)
{
    static const struct {
        const char *name;
        uint8_t type;
    } tab[] = {{"double", PB_DOUBLE},     {"float", PB_FLOAT},   {"int64", PB_INT64},
               {"uint64", PB_UINT64},     {"int32", PB_INT32},   {"fixed64", PB_FIXED64},
               {"fixed32", PB_FIXED32},   {"bool", PB_BOOL},     {"string", PB_STRING},
               {"bytes", PB_BYTES},       {"uint32", PB_UINT32}, {"sfixed32", PB_SFIXED32},
               {"sfixed64", PB_SFIXED64}, {"sint32", PB_SINT32}, {"sint64", PB_SINT64}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        if (!strcmp(t, tab[i].name)) {
            return tab[i].type;
        }
    }
    return PB_NAMED;
}

// parse_type_name reads a (possibly dotted, possibly '.'-led) type name into |out|.
static bool parse_type_name(struct pp *p, char *out, size_t cap)
{
    size_t o = 0;
    if (is_sym(p, '.')) {
        out[o++] = '.';
        if (!next(p)) {
            return false;
        }
    }
    for (;;) {
        if (p->t.kind != T_IDENT) {
            char f[64];
            tok_text(p, f, sizeof f);
            return perr(p, SCH_ERR_SCHEMA, "expected a type name, found %s", f);
        }
        if (o + p->t.n + 2 >= cap) {
            return perr(p, SCH_ERR_LIMIT, "type name longer than %zu characters", cap - 1);
        }
        memcpy(out + o, p->t.p, p->t.n);
        o += p->t.n;
        out[o] = 0;
        if (!next(p) || !is_sym(p, '.')) {
            return p->st == SCH_OK;
        }
        out[o++] = '.';
        if (!next(p)) {
            return false;
        }
    }
}

static uint32_t parse_message(struct pp *p, const char *scope, int depth, const char *given_name);
static bool parse_enum(struct pp *p, const char *scope);

// parse_field reads "[label] type name = N [options];" (the label already consumed into
// |label|); |oneof| >= 0 inside a oneof.
static bool parse_field(struct pp *p, struct body *b, const char *scope, uint8_t label,
                        bool label_given, int32_t oneof, int depth)
{
    char tname[MAX_NAME], name[MAX_NAME], json[MAX_NAME] = "";
    uint64_t number;
    if (is_word(p, "group")) { // proto2 group: a nested message and a field of it
        char gname[MAX_NAME], full[MAX_NAME];
        if (!next(p) || !expect_ident(p, gname, sizeof gname, "a group name") ||
            !expect_sym(p, '=') || !parse_uint(p, &number) ||
            !parse_field_options(p, json, sizeof json)) {
            return false;
        }
        if (!join_name(p, scope, gname, full, sizeof full)) {
            return false;
        }
        uint32_t id = parse_message(p, scope, depth + 1, gname);
        if (id == UINT32_MAX || !body_nested(p, b, id)) {
            return false;
        }
        for (char *c = gname; *c; c++) {
            *c = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : *c;
        }
        struct pb_field *f = body_field(p, b, gname, PB_GROUP, NULL, label, number, json);
        if (!f) {
            return false;
        }
        f->ref = id;
        f->oneof = oneof;
        f->presence = label != PB_REPEATED;
        return true;
    }
    if (!parse_type_name(p, tname, sizeof tname) ||
        !expect_ident(p, name, sizeof name, "a field name") || !expect_sym(p, '=') ||
        !parse_uint(p, &number) || !parse_field_options(p, json, sizeof json) ||
        !expect_sym(p, ';')) {
        return false;
    }
    uint8_t type = scalar_type(tname);
    struct pb_field *f =
        body_field(p, b, name, type, type == PB_NAMED ? tname : NULL, label, number, json);
    if (!f) {
        return false;
    }
    f->oneof = oneof;
    // Presence: proto2 singular fields, proto3 "optional", oneof members; message fields get
    // theirs when resolved.
    f->presence = label != PB_REPEATED && (p->syntax == 2 || label_given || oneof >= 0);
    return true;
}

// parse_map reads "map<K, V> name = N [options];" and adds the entry message and the field.
static bool parse_map(struct pp *p, struct body *b, const char *scope)
{
    char kt[MAX_NAME], vt[MAX_NAME], name[MAX_NAME], json[MAX_NAME] = "";
    uint64_t number;
    if (!next(p) || !expect_sym(p, '<') || !parse_type_name(p, kt, sizeof kt) ||
        !expect_sym(p, ',') || !parse_type_name(p, vt, sizeof vt) || !expect_sym(p, '>') ||
        !expect_ident(p, name, sizeof name, "a map field name") || !expect_sym(p, '=') ||
        !parse_uint(p, &number) || !parse_field_options(p, json, sizeof json) ||
        !expect_sym(p, ';')) {
        return false;
    }
    uint8_t kty = scalar_type(kt);
    if (kty == PB_NAMED || kty == PB_DOUBLE || kty == PB_FLOAT || kty == PB_BYTES) {
        return perr(p, SCH_ERR_SCHEMA, "map key type '%.60s' is not an integer, bool or string",
                    kt);
    }
    char entry[MAX_NAME], full[MAX_NAME];
    size_t o = 0;
    bool up = true;
    for (const char *c = name; *c && o + 6 < sizeof entry; c++) {
        if (*c == '_') {
            up = true;
        } else {
            entry[o++] = up && *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c;
            up = false;
        }
    }
    memcpy(entry + o, "Entry", 6);
    if (!join_name(p, scope, entry, full, sizeof full)) {
        return false;
    }
    uint32_t id = new_msg(p, full);
    if (id == UINT32_MAX || !body_nested(p, b, id)) {
        return false;
    }
    struct body eb = {0};
    uint8_t vty = scalar_type(vt);
    bool ok = body_field(p, &eb, "key", kty, NULL, PB_OPTIONAL, 1, NULL) &&
              body_field(p, &eb, "value", vty, vty == PB_NAMED ? vt : NULL, PB_OPTIONAL, 2, NULL);
    struct sch_proto *pool = p->pool;
    if (ok && !pb_grow((void **)&pool->fields, &pool->cap_fields, pool->num_fields + 2,
                       sizeof *pool->fields)) {
        ok = perr(p, SCH_ERR_NOMEM, "out of memory");
    }
    if (!ok) {
        body_free(&eb);
        return false;
    }
    pool->msgs[id].map_entry = true;
    pool->msgs[id].first_field = (uint32_t)pool->num_fields;
    pool->msgs[id].num_fields = 2;
    pool->msgs[id].first_nested = (uint32_t)pool->num_ids;
    memcpy(pool->fields + pool->num_fields, eb.fields, 2 * sizeof *eb.fields);
    pool->num_fields += 2;
    free(eb.fields);
    struct pb_field *f = body_field(p, b, name, PB_MESSAGE, NULL, PB_REPEATED, number, json);
    if (!f) {
        return false;
    }
    f->ref = id;
    return true;
}

static bool parse_oneof(struct pp *p, struct body *b, const char *scope, int depth)
{
    char name[MAX_NAME];
    if (!next(p) || !expect_ident(p, name, sizeof name, "a oneof name") || !expect_sym(p, '{')) {
        return false;
    }
    int32_t idx = b->num_oneofs++;
    while (!is_sym(p, '}')) {
        if (p->t.kind == T_EOF) {
            return perr(p, SCH_ERR_SCHEMA, "unterminated oneof");
        }
        if (is_word(p, "option")) {
            if (!skip_statement(p)) {
                return false;
            }
        } else if (is_sym(p, ';')) {
            if (!next(p)) {
                return false;
            }
        } else if (!parse_field(p, b, scope, PB_OPTIONAL, false, idx, depth)) {
            return false;
        }
    }
    return next(p);
}

// body_statement parses one statement of a message body.
static bool body_statement(struct pp *p, struct body *b, const char *full, int depth)
{
    if (is_sym(p, ';')) {
        return next(p);
    }
    if (is_word(p, "message")) {
        uint32_t id = parse_message(p, full, depth + 1, NULL);
        return id != UINT32_MAX && body_nested(p, b, id);
    }
    if (is_word(p, "enum")) {
        return parse_enum(p, full);
    }
    if (is_word(p, "option") || is_word(p, "reserved") || is_word(p, "extensions")) {
        return skip_statement(p);
    }
    if (is_word(p, "extend")) {
        while (!is_sym(p, '{')) {
            if (p->t.kind == T_EOF || !next(p)) {
                return perr(p, SCH_ERR_SCHEMA, "unterminated extend");
            }
        }
        return skip_block(p);
    }
    if (is_word(p, "oneof")) {
        return parse_oneof(p, b, full, depth);
    }
    if (is_word(p, "map")) {
        return parse_map(p, b, full);
    }
    uint8_t label = PB_OPTIONAL;
    bool given = false;
    if (is_word(p, "optional") || is_word(p, "required") || is_word(p, "repeated")) {
        label = is_word(p, "repeated")   ? PB_REPEATED
                : is_word(p, "required") ? PB_REQUIRED
                                         : PB_OPTIONAL;
        given = true;
        if (!next(p)) {
            return false;
        }
    }
    return parse_field(p, b, full, label, given, -1, depth);
}

// parse_message parses "message Name { ... }" (|given_name| set: a group, whose name and header
// were read already and whose '{' is current). Returns the message index or UINT32_MAX.
static uint32_t parse_message(struct pp *p, const char *scope, int depth, const char *given_name)
{
    char name[MAX_NAME], full[MAX_NAME];
    if (depth > SCH_MAX_DEPTH) {
        perr(p, SCH_ERR_LIMIT, "messages nested deeper than %d", SCH_MAX_DEPTH);
        return UINT32_MAX;
    }
    if (given_name) {
        snprintf(name, sizeof name, "%s", given_name);
    } else if (!next(p) || !expect_ident(p, name, sizeof name, "a message name")) {
        return UINT32_MAX;
    }
    if (!join_name(p, scope, name, full, sizeof full) || !expect_sym(p, '{')) {
        return UINT32_MAX;
    }
    uint32_t id = new_msg(p, full);
    if (id == UINT32_MAX) {
        return id;
    }
    struct body b = {0};
    while (!is_sym(p, '}') && p->st == SCH_OK) {
        if (p->t.kind == T_EOF) {
            perr(p, SCH_ERR_SCHEMA, "message '%.60s' is not closed", name);
            break;
        }
        body_statement(p, &b, full, depth);
    }
    struct sch_proto *pool = p->pool;
    if (p->st == SCH_OK && (!pb_grow((void **)&pool->fields, &pool->cap_fields,
                                     pool->num_fields + b.num_fields, sizeof *pool->fields) ||
                            !pb_grow((void **)&pool->ids, &pool->cap_ids,
                                     pool->num_ids + b.num_nested, sizeof *pool->ids))) {
        perr(p, SCH_ERR_NOMEM, "out of memory");
    }
    if (p->st != SCH_OK || !next(p)) {
        body_free(&b);
        return UINT32_MAX;
    }
    struct pb_msg *m = &pool->msgs[id];
    m->first_field = (uint32_t)pool->num_fields;
    m->num_fields = (uint32_t)b.num_fields;
    if (b.num_fields) {
        memcpy(pool->fields + pool->num_fields, b.fields, b.num_fields * sizeof *b.fields);
    }
    pool->num_fields += b.num_fields;
    m->first_nested = (uint32_t)pool->num_ids;
    m->num_nested = (uint32_t)b.num_nested;
    if (b.num_nested) {
        memcpy(pool->ids + pool->num_ids, b.nested, b.num_nested * sizeof *b.nested);
    }
    pool->num_ids += b.num_nested;
    free(b.fields);
    free(b.nested);
    return id;
}

static bool enum_value(struct pp *p, uint32_t eid)
{
    char name[MAX_NAME];
    uint64_t v;
    bool neg = false;
    if (!expect_ident(p, name, sizeof name, "an enum value name") || !expect_sym(p, '=')) {
        return false;
    }
    if (is_sym(p, '-')) {
        neg = true;
        if (!next(p)) {
            return false;
        }
    }
    char json[64];
    if (!parse_uint(p, &v) || !parse_field_options(p, json, sizeof json) || !expect_sym(p, ';')) {
        return false;
    }
    if ((!neg && v > INT32_MAX) || (neg && v > (uint64_t)INT32_MAX + 1)) {
        return perr(p, SCH_ERR_SCHEMA, "enum value '%.60s' is outside the int32 range", name);
    }
    struct sch_proto *pool = p->pool;
    if (!pb_grow((void **)&pool->values, &pool->cap_values, pool->num_values + 1,
                 sizeof *pool->values)) {
        return perr(p, SCH_ERR_NOMEM, "out of memory");
    }
    struct pb_enum_value *ev = &pool->values[pool->num_values];
    ev->name = pdup(p, name);
    if (!ev->name) {
        return false;
    }
    ev->number = neg ? (int32_t)(0 - v) : (int32_t)v;
    pool->num_values++;
    pool->enums[eid].num_values++;
    return true;
}

static bool parse_enum(struct pp *p, const char *scope)
{
    char name[MAX_NAME], full[MAX_NAME];
    if (!next(p) || !expect_ident(p, name, sizeof name, "an enum name") ||
        !join_name(p, scope, name, full, sizeof full) || !expect_sym(p, '{') || !types_ok(p)) {
        return false;
    }
    struct sch_proto *pool = p->pool;
    if (pb_find_msg(pool, full) != UINT32_MAX || pb_find_enum(pool, full) != UINT32_MAX) {
        return perr(p, SCH_ERR_SCHEMA, "'%.100s' is already defined", full);
    }
    if (!pb_grow((void **)&pool->enums, &pool->cap_enums, pool->num_enums + 1,
                 sizeof *pool->enums)) {
        return perr(p, SCH_ERR_NOMEM, "out of memory");
    }
    uint32_t eid = (uint32_t)pool->num_enums;
    struct pb_enum *e = &pool->enums[eid];
    memset(e, 0, sizeof *e);
    e->full_name = pdup(p, full);
    if (!e->full_name) {
        return false;
    }
    if (!pb_name_add(pool, true, eid)) {
        free(e->full_name);
        return perr(p, SCH_ERR_NOMEM, "out of memory");
    }
    pool->num_enums++;
    e->closed = p->syntax == 2;
    e->first_value = (uint32_t)pool->num_values;
    while (!is_sym(p, '}')) {
        if (p->t.kind == T_EOF) {
            return perr(p, SCH_ERR_SCHEMA, "enum '%.60s' is not closed", name);
        }
        bool ok = is_sym(p, ';')                                     ? next(p)
                  : (is_word(p, "option") || is_word(p, "reserved")) ? skip_statement(p)
                                                                     : enum_value(p, eid);
        if (!ok) {
            return false;
        }
    }
    return next(p);
}

// ---- file -------------------------------------------------------------------------------------

static bool parse_syntax(struct pp *p)
{
    char v[32];
    if (!next(p) || !expect_sym(p, '=') || !str_value(p, v, sizeof v) || !expect_sym(p, ';')) {
        return false;
    }
    if (!strcmp(v, "proto2")) {
        p->syntax = 2;
    } else if (!strcmp(v, "proto3")) {
        p->syntax = 3;
    } else {
        return perr(p, SCH_ERR_UNSUPPORTED, "syntax \"%.20s\" (proto2 or proto3)", v);
    }
    return true;
}

static bool parse_import(struct pp *p)
{
    char path[MAX_NAME];
    if (!next(p)) {
        return false;
    }
    if ((is_word(p, "public") || is_word(p, "weak")) && !next(p)) {
        return false;
    }
    if (!str_value(p, path, sizeof path) || !expect_sym(p, ';')) {
        return false;
    }
    enum sch_status st = p->imp(p->ctx, path, p->err);
    if (st != SCH_OK) {
        p->st = st; // the callback wrote the message
        return false;
    }
    return true;
}

static bool top_statement(struct pp *p, struct body *top)
{
    if (is_sym(p, ';')) {
        return next(p);
    }
    if (is_word(p, "syntax")) {
        return parse_syntax(p);
    }
    if (is_word(p, "edition")) {
        return perr(p, SCH_ERR_UNSUPPORTED, "editions (only proto2 and proto3 syntax)");
    }
    if (is_word(p, "package")) {
        char pkg[MAX_NAME];
        if (!next(p) || !parse_type_name(p, pkg, sizeof pkg) || !expect_sym(p, ';')) {
            return false;
        }
        snprintf(p->package, sizeof p->package, "%s", pkg);
        return true;
    }
    if (is_word(p, "import")) {
        return parse_import(p);
    }
    if (is_word(p, "option")) {
        return skip_statement(p);
    }
    if (is_word(p, "message")) {
        uint32_t id = parse_message(p, p->package, 1, NULL);
        return id != UINT32_MAX && body_nested(p, top, id);
    }
    if (is_word(p, "enum")) {
        return parse_enum(p, p->package);
    }
    if (is_word(p, "service") || is_word(p, "extend")) {
        while (!is_sym(p, '{')) {
            if (p->t.kind == T_EOF || !next(p)) {
                return perr(p, SCH_ERR_SCHEMA, "unterminated block");
            }
        }
        return skip_block(p);
    }
    char f[64];
    tok_text(p, f, sizeof f);
    return perr(p, SCH_ERR_SCHEMA, "unexpected %s at the top level", f);
}

enum sch_status pb_parse_file(struct sch_proto *pool, const char *name, const char *text,
                              size_t len, bool builtin, pb_import_fn *need_import, void *ctx,
                              struct sch_err *err)
{
    if (len > SCH_MAX_SCHEMA_TEXT) {
        return sch_fail(err, SCH_ERR_LIMIT, "%.60s: %zu bytes (at most %u)", name, len,
                        SCH_MAX_SCHEMA_TEXT);
    }
    if (!pb_grow((void **)&pool->files, &pool->cap_files, pool->num_files + 1,
                 sizeof *pool->files)) {
        return sch_fail(err, SCH_ERR_NOMEM, "out of memory");
    }
    uint32_t fid = (uint32_t)pool->num_files++;
    struct pb_file *f = &pool->files[fid];
    memset(f, 0, sizeof *f);
    f->builtin = builtin;
    f->syntax = 2; // no syntax statement means proto2
    struct pp p = {.pool = pool,
                   .s = text,
                   .len = len,
                   .line = 1,
                   .col = 1,
                   .fname = name,
                   .file = fid,
                   .syntax = 2,
                   .err = err,
                   .st = SCH_OK,
                   .imp = need_import,
                   .ctx = ctx};
    f->name = pdup(&p, name);
    struct body top = {0};
    if (f->name && next(&p)) {
        while (p.t.kind != T_EOF && p.st == SCH_OK) {
            top_statement(&p, &top);
        }
    }
    f = &pool->files[fid]; // imports may have moved the array
    f->syntax = p.syntax;
    f->done = p.st == SCH_OK;
    f->package = p.st == SCH_OK ? pdup(&p, p.package) : NULL;
    if (p.st == SCH_OK && !pb_grow((void **)&pool->ids, &pool->cap_ids,
                                   pool->num_ids + top.num_nested, sizeof *pool->ids)) {
        perr(&p, SCH_ERR_NOMEM, "out of memory");
    }
    if (p.st == SCH_OK) {
        f->first_top = (uint32_t)pool->num_ids;
        f->num_top = (uint32_t)top.num_nested;
        if (top.num_nested) {
            memcpy(pool->ids + pool->num_ids, top.nested, top.num_nested * sizeof *top.nested);
        }
        pool->num_ids += top.num_nested;
    }
    body_free(&top);
    return p.st;
}
