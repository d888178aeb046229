// proto_parse.c: the .proto text parser (see proto.h for what is accepted).
//
// A recursive-descent parser over the lexer of proto_lex.c, which never reads past the text.
// Declarations nest at most SCH_MAX_DEPTH deep; blocks kesm ignores (service, extend, aggregate
// option values) are skipped by counting braces, without recursion. Every error names the file,
// line and column.
#include "schema/proto_int.h"
#include "schema/proto_parse_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELD_NUMBER 536870911u
#define MAX_NAME 512

// ---- pool helpers -----------------------------------------------------------------------------

static char *pdup(struct pp *p, const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (!d) {
        pp_fail(p, SCH_ERR_NOMEM, "out of memory");
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
        return pp_fail(p, SCH_ERR_LIMIT, "type name longer than %zu characters", cap - 1);
    }
    return true;
}

static bool types_ok(struct pp *p)
{
    if (p->pool->num_msgs + p->pool->num_enums >= SCH_PROTO_MAX_TYPES) {
        return pp_fail(p, SCH_ERR_LIMIT, "more than %d message and enum types",
                       SCH_PROTO_MAX_TYPES);
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
        pp_fail(p, SCH_ERR_SCHEMA, "'%.100s' is already defined", full);
        return UINT32_MAX;
    }
    if (!pb_grow((void **)&pool->msgs, &pool->cap_msgs, pool->num_msgs + 1, sizeof *pool->msgs)) {
        pp_fail(p, SCH_ERR_NOMEM, "out of memory");
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
        pp_fail(p, SCH_ERR_NOMEM, "out of memory");
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
        return pp_fail(p, SCH_ERR_NOMEM, "out of memory");
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
        pp_fail(p, SCH_ERR_SCHEMA, "field '%.60s': number %llu is outside 1..536870911", name,
                (unsigned long long)number);
        return NULL;
    }
    for (size_t i = 0; i < b->num_fields; i++) {
        if (b->fields[i].number == number || !strcmp(b->fields[i].name, name)) {
            pp_fail(p, SCH_ERR_SCHEMA, "field '%.60s' (number %llu) is declared twice", name,
                    (unsigned long long)number);
            return NULL;
        }
    }
    if (!pb_grow((void **)&b->fields, &b->cap_fields, b->num_fields + 1, sizeof *b->fields)) {
        pp_fail(p, SCH_ERR_NOMEM, "out of memory");
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
    if (pp_is_sym(p, '.')) {
        out[o++] = '.';
        if (!pp_next(p)) {
            return false;
        }
    }
    for (;;) {
        if (p->t.kind != T_IDENT) {
            char f[64];
            pp_tok_text(p, f, sizeof f);
            return pp_fail(p, SCH_ERR_SCHEMA, "expected a type name, found %s", f);
        }
        if (o + p->t.n + 2 >= cap) {
            return pp_fail(p, SCH_ERR_LIMIT, "type name longer than %zu characters", cap - 1);
        }
        memcpy(out + o, p->t.p, p->t.n);
        o += p->t.n;
        out[o] = 0;
        if (!pp_next(p) || !pp_is_sym(p, '.')) {
            return p->st == SCH_OK;
        }
        out[o++] = '.';
        if (!pp_next(p)) {
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
    if (pp_is_word(p, "group")) { // proto2 group: a nested message and a field of it
        char gname[MAX_NAME], full[MAX_NAME];
        if (!pp_next(p) || !pp_expect_ident(p, gname, sizeof gname, "a group name") ||
            !pp_expect_sym(p, '=') || !pp_uint(p, &number) ||
            !pp_field_options(p, json, sizeof json)) {
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
        !pp_expect_ident(p, name, sizeof name, "a field name") || !pp_expect_sym(p, '=') ||
        !pp_uint(p, &number) || !pp_field_options(p, json, sizeof json) || !pp_expect_sym(p, ';')) {
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
    if (!pp_next(p) || !pp_expect_sym(p, '<') || !parse_type_name(p, kt, sizeof kt) ||
        !pp_expect_sym(p, ',') || !parse_type_name(p, vt, sizeof vt) || !pp_expect_sym(p, '>') ||
        !pp_expect_ident(p, name, sizeof name, "a map field name") || !pp_expect_sym(p, '=') ||
        !pp_uint(p, &number) || !pp_field_options(p, json, sizeof json) || !pp_expect_sym(p, ';')) {
        return false;
    }
    uint8_t kty = scalar_type(kt);
    if (kty == PB_NAMED || kty == PB_DOUBLE || kty == PB_FLOAT || kty == PB_BYTES) {
        return pp_fail(p, SCH_ERR_SCHEMA, "map key type '%.60s' is not an integer, bool or string",
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
        ok = pp_fail(p, SCH_ERR_NOMEM, "out of memory");
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
    if (!pp_next(p) || !pp_expect_ident(p, name, sizeof name, "a oneof name") ||
        !pp_expect_sym(p, '{')) {
        return false;
    }
    int32_t idx = b->num_oneofs++;
    while (!pp_is_sym(p, '}')) {
        if (p->t.kind == T_EOF) {
            return pp_fail(p, SCH_ERR_SCHEMA, "unterminated oneof");
        }
        if (pp_is_word(p, "option")) {
            if (!pp_skip_statement(p)) {
                return false;
            }
        } else if (pp_is_sym(p, ';')) {
            if (!pp_next(p)) {
                return false;
            }
        } else if (!parse_field(p, b, scope, PB_OPTIONAL, false, idx, depth)) {
            return false;
        }
    }
    return pp_next(p);
}

// body_statement parses one statement of a message body.
static bool body_statement(struct pp *p, struct body *b, const char *full, int depth)
{
    if (pp_is_sym(p, ';')) {
        return pp_next(p);
    }
    if (pp_is_word(p, "message")) {
        uint32_t id = parse_message(p, full, depth + 1, NULL);
        return id != UINT32_MAX && body_nested(p, b, id);
    }
    if (pp_is_word(p, "enum")) {
        return parse_enum(p, full);
    }
    if (pp_is_word(p, "option") || pp_is_word(p, "reserved") || pp_is_word(p, "extensions")) {
        return pp_skip_statement(p);
    }
    if (pp_is_word(p, "extend")) {
        while (!pp_is_sym(p, '{')) {
            if (p->t.kind == T_EOF || !pp_next(p)) {
                return pp_fail(p, SCH_ERR_SCHEMA, "unterminated extend");
            }
        }
        return pp_skip_block(p);
    }
    if (pp_is_word(p, "oneof")) {
        return parse_oneof(p, b, full, depth);
    }
    if (pp_is_word(p, "map")) {
        return parse_map(p, b, full);
    }
    uint8_t label = PB_OPTIONAL;
    bool given = false;
    if (pp_is_word(p, "optional") || pp_is_word(p, "required") || pp_is_word(p, "repeated")) {
        label = pp_is_word(p, "repeated")   ? PB_REPEATED
                : pp_is_word(p, "required") ? PB_REQUIRED
                                            : PB_OPTIONAL;
        given = true;
        if (!pp_next(p)) {
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
        pp_fail(p, SCH_ERR_LIMIT, "messages nested deeper than %d", SCH_MAX_DEPTH);
        return UINT32_MAX;
    }
    if (given_name) {
        snprintf(name, sizeof name, "%s", given_name);
    } else if (!pp_next(p) || !pp_expect_ident(p, name, sizeof name, "a message name")) {
        return UINT32_MAX;
    }
    if (!join_name(p, scope, name, full, sizeof full) || !pp_expect_sym(p, '{')) {
        return UINT32_MAX;
    }
    uint32_t id = new_msg(p, full);
    if (id == UINT32_MAX) {
        return id;
    }
    struct body b = {0};
    while (!pp_is_sym(p, '}') && p->st == SCH_OK) {
        if (p->t.kind == T_EOF) {
            pp_fail(p, SCH_ERR_SCHEMA, "message '%.60s' is not closed", name);
            break;
        }
        body_statement(p, &b, full, depth);
    }
    struct sch_proto *pool = p->pool;
    if (p->st == SCH_OK && (!pb_grow((void **)&pool->fields, &pool->cap_fields,
                                     pool->num_fields + b.num_fields, sizeof *pool->fields) ||
                            !pb_grow((void **)&pool->ids, &pool->cap_ids,
                                     pool->num_ids + b.num_nested, sizeof *pool->ids))) {
        pp_fail(p, SCH_ERR_NOMEM, "out of memory");
    }
    if (p->st != SCH_OK || !pp_next(p)) {
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
    if (!pp_expect_ident(p, name, sizeof name, "an enum value name") || !pp_expect_sym(p, '=')) {
        return false;
    }
    if (pp_is_sym(p, '-')) {
        neg = true;
        if (!pp_next(p)) {
            return false;
        }
    }
    char json[64];
    if (!pp_uint(p, &v) || !pp_field_options(p, json, sizeof json) || !pp_expect_sym(p, ';')) {
        return false;
    }
    if ((!neg && v > INT32_MAX) || (neg && v > (uint64_t)INT32_MAX + 1)) {
        return pp_fail(p, SCH_ERR_SCHEMA, "enum value '%.60s' is outside the int32 range", name);
    }
    struct sch_proto *pool = p->pool;
    if (!pb_grow((void **)&pool->values, &pool->cap_values, pool->num_values + 1,
                 sizeof *pool->values)) {
        return pp_fail(p, SCH_ERR_NOMEM, "out of memory");
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
    if (!pp_next(p) || !pp_expect_ident(p, name, sizeof name, "an enum name") ||
        !join_name(p, scope, name, full, sizeof full) || !pp_expect_sym(p, '{') || !types_ok(p)) {
        return false;
    }
    struct sch_proto *pool = p->pool;
    if (pb_find_msg(pool, full) != UINT32_MAX || pb_find_enum(pool, full) != UINT32_MAX) {
        return pp_fail(p, SCH_ERR_SCHEMA, "'%.100s' is already defined", full);
    }
    if (!pb_grow((void **)&pool->enums, &pool->cap_enums, pool->num_enums + 1,
                 sizeof *pool->enums)) {
        return pp_fail(p, SCH_ERR_NOMEM, "out of memory");
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
        return pp_fail(p, SCH_ERR_NOMEM, "out of memory");
    }
    pool->num_enums++;
    e->closed = p->syntax == 2;
    e->first_value = (uint32_t)pool->num_values;
    while (!pp_is_sym(p, '}')) {
        if (p->t.kind == T_EOF) {
            return pp_fail(p, SCH_ERR_SCHEMA, "enum '%.60s' is not closed", name);
        }
        bool ok = pp_is_sym(p, ';')                                        ? pp_next(p)
                  : (pp_is_word(p, "option") || pp_is_word(p, "reserved")) ? pp_skip_statement(p)
                                                                           : enum_value(p, eid);
        if (!ok) {
            return false;
        }
    }
    return pp_next(p);
}

// ---- file -------------------------------------------------------------------------------------

static bool parse_syntax(struct pp *p)
{
    char v[32];
    if (!pp_next(p) || !pp_expect_sym(p, '=') || !pp_str_value(p, v, sizeof v) ||
        !pp_expect_sym(p, ';')) {
        return false;
    }
    if (!strcmp(v, "proto2")) {
        p->syntax = 2;
    } else if (!strcmp(v, "proto3")) {
        p->syntax = 3;
    } else {
        return pp_fail(p, SCH_ERR_UNSUPPORTED, "syntax \"%.20s\" (proto2 or proto3)", v);
    }
    return true;
}

static bool parse_import(struct pp *p)
{
    char path[MAX_NAME];
    if (!pp_next(p)) {
        return false;
    }
    if ((pp_is_word(p, "public") || pp_is_word(p, "weak")) && !pp_next(p)) {
        return false;
    }
    if (!pp_str_value(p, path, sizeof path) || !pp_expect_sym(p, ';')) {
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
    if (pp_is_sym(p, ';')) {
        return pp_next(p);
    }
    if (pp_is_word(p, "syntax")) {
        return parse_syntax(p);
    }
    if (pp_is_word(p, "edition")) {
        return pp_fail(p, SCH_ERR_UNSUPPORTED, "editions (only proto2 and proto3 syntax)");
    }
    if (pp_is_word(p, "package")) {
        char pkg[MAX_NAME];
        if (!pp_next(p) || !parse_type_name(p, pkg, sizeof pkg) || !pp_expect_sym(p, ';')) {
            return false;
        }
        snprintf(p->package, sizeof p->package, "%s", pkg);
        return true;
    }
    if (pp_is_word(p, "import")) {
        return parse_import(p);
    }
    if (pp_is_word(p, "option")) {
        return pp_skip_statement(p);
    }
    if (pp_is_word(p, "message")) {
        uint32_t id = parse_message(p, p->package, 1, NULL);
        return id != UINT32_MAX && body_nested(p, top, id);
    }
    if (pp_is_word(p, "enum")) {
        return parse_enum(p, p->package);
    }
    if (pp_is_word(p, "service") || pp_is_word(p, "extend")) {
        while (!pp_is_sym(p, '{')) {
            if (p->t.kind == T_EOF || !pp_next(p)) {
                return pp_fail(p, SCH_ERR_SCHEMA, "unterminated block");
            }
        }
        return pp_skip_block(p);
    }
    char f[64];
    pp_tok_text(p, f, sizeof f);
    return pp_fail(p, SCH_ERR_SCHEMA, "unexpected %s at the top level", f);
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
    if (f->name && pp_next(&p)) {
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
        pp_fail(&p, SCH_ERR_NOMEM, "out of memory");
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
