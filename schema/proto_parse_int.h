// proto_parse_int.h: the .proto parser's state and token helpers, shared by proto_lex.c (the
// tokenizer and token helpers) and proto_parse.c (declarations: messages, fields, enums, files).
#ifndef SCHEMA_PROTO_PARSE_INT_H
#define SCHEMA_PROTO_PARSE_INT_H

#include "schema/proto_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// enum tok_kind: what a token is (T_FLOAT only ever appears in skipped option values).
enum tok_kind {
    T_EOF,
    T_IDENT,
    T_INT,
    T_FLOAT,
    T_STR,
    T_SYM,
};

// struct tok: one token, a view into the text, and where it starts.
struct tok {
    enum tok_kind kind;
    const char *p;
    size_t n;
    uint32_t line, col;
};

// struct pp: the parse of one file into a pool: the text, the position, the current token,
// the file's package and syntax, the first error, and the import callback.
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

// pp_fail records the first error of |p| (|st|, the current token's file:line:col and the
// message); false.
bool pp_fail(struct pp *p, enum sch_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// pp_next reads the next token into p->t.
bool pp_next(struct pp *p);

// pp_is_sym / pp_is_word report whether the current token is symbol |c| / identifier |w|.
bool pp_is_sym(const struct pp *p, char c);
bool pp_is_word(const struct pp *p, const char *w);

// pp_tok_text writes the current token (quoted and cut) or "end of file" for messages.
void pp_tok_text(const struct pp *p, char *out, size_t cap);

// pp_expect_sym consumes symbol |c|, or fails naming what was found.
bool pp_expect_sym(struct pp *p, char c);

// pp_expect_ident copies an identifier (|what| in messages) into |out| and consumes it.
bool pp_expect_ident(struct pp *p, char *out, size_t cap, const char *what);

// pp_str_value decodes the current string token (and adjacent ones) into |out|; advances.
bool pp_str_value(struct pp *p, char *out, size_t cap);

// pp_uint reads an unsigned decimal, octal or hex integer token into *out; advances.
bool pp_uint(struct pp *p, uint64_t *out);

// pp_skip_block skips a balanced {...} starting at the current '{'.
bool pp_skip_block(struct pp *p);

// pp_skip_statement skips to and past the next ';' at this level (aggregates skipped whole).
bool pp_skip_statement(struct pp *p);

// pp_field_options reads [a = b, ...]; a json_name string goes to |json_name|.
bool pp_field_options(struct pp *p, char *json_name, size_t cap);

#endif
