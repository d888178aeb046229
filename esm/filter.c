// filter.c: FilterCriteria patterns compiled into a small tree and matched against records (see
// filter.h for the semantics and bounds).
//
// Compilation walks the cJSON of a pattern once, validating every operator, and builds nodes
// (objects: fields ANDed, "$or" alternatives) and rules (a field's list, ORed). Matching visits
// the pattern, not the data: each field is looked up in the data object it applies to, and a
// data array is flattened into its leaf values. Every lookup step and rule test is charged to a
// per-record budget, so a hostile value costs at most a fixed multiple of its size.
#include "esm/filter.h"

#include "base/alloc.h"
#include "base/base64.h"
#include "base/utf8.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA_ARRAY_DEPTH 32
#define BUDGET_BASE 1000000u
#define BUDGET_PER_BYTE 32u

enum rkind {
    RK_STR,
    RK_NUM,
    RK_BOOL,
    RK_NULL,
    RK_PREFIX,
    RK_SUFFIX,
    RK_EIC, // equals-ignore-case
    RK_ANYBUT,
    RK_ANYBUT_PREFIX,
    RK_ANYBUT_SUFFIX,
    RK_ANYBUT_EIC,
    RK_NUMERIC,
    RK_EXISTS,
};

enum numop { OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE };

struct rule {
    enum rkind kind;
    char *s; // RK_STR and the string operators (owned)
    size_t len;
    double num;        // RK_NUM
    bool b;            // RK_BOOL, RK_EXISTS
    struct rule *list; // RK_ANYBUT: the excluded values (RK_STR, RK_NUM, RK_BOOL, RK_NULL)
    size_t n_list;
    enum numop ops[2]; // RK_NUMERIC
    double bounds[2];
    size_t n_ops;
};

struct node;

struct field {
    char *name;
    size_t name_len;
    struct node *obj; // an object pattern; NULL: rules
    struct rule *rules;
    size_t n_rules;
};

struct node {
    struct field *fields;
    size_t n_fields;
    struct node **ors; // "$or": alternatives, ANDed with the fields
    size_t n_ors;
};

struct esm_filter {
    struct node **pats;
    size_t n;
    uint64_t budget_exceeded;
};

// ---- allocation (base/alloc.h aborts on out-of-memory) ----------------------------------------

static void rule_cleanup(struct rule *r)
{
    free(r->s);
    for (size_t i = 0; i < r->n_list; i++) {
        rule_cleanup(&r->list[i]);
    }
    free(r->list);
}

static void node_free(struct node *n)
{
    if (!n) {
        return;
    }
    for (size_t i = 0; i < n->n_fields; i++) {
        struct field *f = &n->fields[i];
        free(f->name);
        node_free(f->obj);
        for (size_t k = 0; k < f->n_rules; k++) {
            rule_cleanup(&f->rules[k]);
        }
        free(f->rules);
    }
    free(n->fields);
    for (size_t i = 0; i < n->n_ors; i++) {
        node_free(n->ors[i]);
    }
    free(n->ors);
    free(n);
}

// ---- compilation --------------------------------------------------------------------------

struct cc {
    char path[256]; // dotted path of the field being compiled, for messages
    size_t path_len;
    size_t count; // fields and rules so far
    char *why;
    size_t why_cap;
};

static bool cc_fail(struct cc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool cc_fail(struct cc *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, c->why_cap, fmt, ap);
    va_end(ap);
    return false;
}

static const char *cc_path(const struct cc *c)
{
    return c->path_len ? c->path : "the top level";
}

// path_push appends ".name" (or "name" at the top) to the path; returns the previous length.
static size_t path_push(struct cc *c, const char *name)
{
    size_t old = c->path_len;
    int w = snprintf(c->path + old, sizeof c->path - old, "%s%s", old ? "." : "", name);
    if (w < 0 || (size_t)w >= sizeof c->path - old) {
        c->path_len = sizeof c->path - 1; // truncated: messages show a cut path
    } else {
        c->path_len = old + (size_t)w;
    }
    return old;
}

static void path_pop(struct cc *c, size_t old)
{
    c->path_len = old;
    c->path[old] = 0;
}

static bool count_one(struct cc *c)
{
    if (++c->count > ESM_FILTER_MAX_NODES) {
        return cc_fail(c, "pattern has more than %d fields and rules", ESM_FILTER_MAX_NODES);
    }
    return true;
}

// later_twin: a later member of the same object has the same name (duplicate keys: last wins).
static bool later_twin(const cJSON *item)
{
    for (const cJSON *o = item->next; o; o = o->next) {
        if (o->string && item->string && strcmp(o->string, item->string) == 0) {
            return true;
        }
    }
    return false;
}

static bool finite_number(const cJSON *v)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble);
}

// value_rule compiles an exact-match value (string, number, boolean, null) into |r|.
static bool value_rule(struct cc *c, const cJSON *v, struct rule *r)
{
    if (cJSON_IsString(v)) {
        r->kind = RK_STR;
        r->len = strlen(v->valuestring);
        r->s = xstrndup(v->valuestring, r->len);
    } else if (cJSON_IsNumber(v)) {
        if (!finite_number(v)) {
            return cc_fail(c, "number out of range at %s", cc_path(c));
        }
        r->kind = RK_NUM;
        r->num = v->valuedouble;
    } else if (cJSON_IsBool(v)) {
        r->kind = RK_BOOL;
        r->b = cJSON_IsTrue(v);
    } else if (cJSON_IsNull(v)) {
        r->kind = RK_NULL;
    } else {
        return false;
    }
    return true;
}

static bool string_op(struct cc *c, const cJSON *v, const char *op, enum rkind kind, struct rule *r)
{
    if (!cJSON_IsString(v)) {
        return cc_fail(c, "\"%s\" at %s must be a string", op, cc_path(c));
    }
    r->kind = kind;
    r->len = strlen(v->valuestring);
    r->s = xstrndup(v->valuestring, r->len);
    return true;
}

static bool anything_but(struct cc *c, const cJSON *v, struct rule *r)
{
    static const char shape[] = "must be a string, a number, a non-empty list of them, or an "
                                "object with one \"prefix\", \"suffix\" or "
                                "\"equals-ignore-case\" string";
    if (cJSON_IsObject(v)) {
        const cJSON *m = v->child;
        if (!m || m->next) {
            return cc_fail(c, "\"anything-but\" at %s %s", cc_path(c), shape);
        }
        if (strcmp(m->string, "prefix") == 0) {
            return string_op(c, m, "anything-but prefix", RK_ANYBUT_PREFIX, r);
        }
        if (strcmp(m->string, "suffix") == 0) {
            return string_op(c, m, "anything-but suffix", RK_ANYBUT_SUFFIX, r);
        }
        if (strcmp(m->string, "equals-ignore-case") == 0) {
            return string_op(c, m, "anything-but equals-ignore-case", RK_ANYBUT_EIC, r);
        }
        return cc_fail(c, "unknown operator \"%s\" inside \"anything-but\" at %s", m->string,
                       cc_path(c));
    }
    r->kind = RK_ANYBUT;
    if (!cJSON_IsArray(v)) {
        if (!cJSON_IsString(v) && !cJSON_IsNumber(v)) {
            return cc_fail(c, "\"anything-but\" at %s %s", cc_path(c), shape);
        }
        r->list = xcalloc(1, sizeof *r->list);
        r->n_list = 1;
        return value_rule(c, v, &r->list[0]);
    }
    int n = cJSON_GetArraySize(v);
    if (n <= 0) {
        return cc_fail(c, "\"anything-but\" at %s %s", cc_path(c), shape);
    }
    r->list = xcalloc((size_t)n, sizeof *r->list);
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!count_one(c)) {
            return false;
        }
        if (!cJSON_IsString(e) && !cJSON_IsNumber(e)) {
            return cc_fail(c, "\"anything-but\" at %s %s", cc_path(c), shape);
        }
        if (!value_rule(c, e, &r->list[r->n_list++])) {
            return false;
        }
    }
    return true;
}

static bool numop_of(const cJSON *v, enum numop *out)
{
    static const char *const names[] = {"=", "<", "<=", ">", ">="};
    if (!cJSON_IsString(v)) {
        return false;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(v->valuestring, names[i]) == 0) {
            *out = (enum numop)i;
            return true;
        }
    }
    return false;
}

static bool numeric(struct cc *c, const cJSON *v, struct rule *r)
{
    r->kind = RK_NUMERIC;
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (n != 2 && n != 4) {
        return cc_fail(c,
                       "\"numeric\" at %s must be [operator, number] or [\">\" or \">=\", number, "
                       "\"<\" or \"<=\", number]",
                       cc_path(c));
    }
    const cJSON *e = v->child;
    for (size_t i = 0; i < (size_t)n / 2; i++, e = e->next->next) {
        if (!numop_of(e, &r->ops[i])) {
            char shown[40];
            if (cJSON_IsString(e)) {
                snprintf(shown, sizeof shown, "\"%.30s\"", e->valuestring);
            } else {
                snprintf(shown, sizeof shown, "a non-string");
            }
            return cc_fail(c, "unknown numeric operator %s at %s (use =, <, <=, >, >=)", shown,
                           cc_path(c));
        }
        if (!finite_number(e->next)) {
            return cc_fail(c, "\"numeric\" at %s: operator \"%s\" must be followed by a number",
                           cc_path(c), e->valuestring);
        }
        r->bounds[i] = e->next->valuedouble;
    }
    r->n_ops = (size_t)n / 2;
    if (r->n_ops == 2) {
        bool lower = r->ops[0] == OP_GT || r->ops[0] == OP_GE;
        bool upper = r->ops[1] == OP_LT || r->ops[1] == OP_LE;
        if (!lower || !upper) {
            return cc_fail(c,
                           "\"numeric\" range at %s must be a lower bound (> or >=) followed by "
                           "an upper bound (< or <=)",
                           cc_path(c));
        }
        if (r->bounds[0] > r->bounds[1]) {
            return cc_fail(c, "\"numeric\" range at %s is empty (lower bound above upper bound)",
                           cc_path(c));
        }
    }
    return true;
}

// op_rule compiles an operator object {"<op>": ...} into |r|.
static bool op_rule(struct cc *c, const cJSON *v, struct rule *r)
{
    const cJSON *m = v->child;
    if (!m || m->next) {
        return cc_fail(c, "a rule object at %s must have exactly one operator", cc_path(c));
    }
    const char *op = m->string;
    if (strcmp(op, "prefix") == 0) {
        return string_op(c, m, op, RK_PREFIX, r);
    }
    if (strcmp(op, "suffix") == 0) {
        return string_op(c, m, op, RK_SUFFIX, r);
    }
    if (strcmp(op, "equals-ignore-case") == 0) {
        return string_op(c, m, op, RK_EIC, r);
    }
    if (strcmp(op, "anything-but") == 0) {
        return anything_but(c, m, r);
    }
    if (strcmp(op, "numeric") == 0) {
        return numeric(c, m, r);
    }
    if (strcmp(op, "exists") == 0) {
        if (!cJSON_IsBool(m)) {
            return cc_fail(c, "\"exists\" at %s must be true or false", cc_path(c));
        }
        r->kind = RK_EXISTS;
        r->b = cJSON_IsTrue(m);
        return true;
    }
    return cc_fail(c, "unknown operator \"%.40s\" at %s", op, cc_path(c));
}

static bool compile_rules(struct cc *c, const cJSON *arr, struct field *f)
{
    int n = cJSON_GetArraySize(arr);
    f->rules = xcalloc(n > 0 ? (size_t)n : 1, sizeof *f->rules);
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (!count_one(c)) {
            return false;
        }
        struct rule *r = &f->rules[f->n_rules++];
        if (cJSON_IsObject(e)) {
            if (!op_rule(c, e, r)) {
                return false;
            }
        } else if (!value_rule(c, e, r)) {
            if (c->why[0]) {
                return false;
            }
            return cc_fail(c,
                           "a rule at %s must be a string, number, boolean, null or an operator "
                           "object",
                           cc_path(c));
        }
    }
    return true;
}

static struct node *compile_node(struct cc *c, const cJSON *obj, int depth);

static bool compile_or(struct cc *c, const cJSON *v, struct node *n, int depth)
{
    int k = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (k < 1) {
        return cc_fail(c, "\"$or\" at %s must be a non-empty list of pattern objects", cc_path(c));
    }
    n->ors = xcalloc((size_t)k, sizeof *n->ors);
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsObject(e)) {
            return cc_fail(c, "\"$or\" at %s must be a non-empty list of pattern objects",
                           cc_path(c));
        }
        struct node *alt = compile_node(c, e, depth + 1);
        if (!alt) {
            return false;
        }
        n->ors[n->n_ors++] = alt;
    }
    return true;
}

static bool compile_member(struct cc *c, const cJSON *m, struct node *n, int depth)
{
    if (!count_one(c)) {
        return false;
    }
    if (strcmp(m->string, "$or") == 0) {
        if (n->n_ors) {
            return cc_fail(c, "more than one \"$or\" at %s", cc_path(c));
        }
        return compile_or(c, m, n, depth);
    }
    size_t old = path_push(c, m->string);
    struct field *f = &n->fields[n->n_fields++];
    f->name_len = strlen(m->string);
    f->name = xstrndup(m->string, f->name_len);
    bool ok;
    if (cJSON_IsObject(m)) {
        f->obj = compile_node(c, m, depth + 1);
        ok = f->obj != NULL;
    } else if (cJSON_IsArray(m)) {
        ok = compile_rules(c, m, f);
    } else {
        ok = cc_fail(c, "%s must be an object or a list of rules", cc_path(c));
    }
    if (ok) {
        path_pop(c, old);
    }
    return ok;
}

static struct node *compile_node(struct cc *c, const cJSON *obj, int depth)
{
    if (depth > ESM_FILTER_MAX_DEPTH) {
        cc_fail(c, "pattern nests deeper than %d objects at %s", ESM_FILTER_MAX_DEPTH, cc_path(c));
        return NULL;
    }
    struct node *n = xcalloc(1, sizeof *n);
    int k = cJSON_GetArraySize(obj);
    n->fields = xcalloc(k > 0 ? (size_t)k : 1, sizeof *n->fields);
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        if (later_twin(m)) {
            continue;
        }
        if (!compile_member(c, m, n, depth)) {
            node_free(n);
            return NULL;
        }
    }
    return n;
}

static struct node *compile_text(const char *text, char *why, size_t why_cap)
{
    char dummy[8];
    if (!why || why_cap == 0) {
        why = dummy;
        why_cap = sizeof dummy;
    }
    why[0] = 0;
    size_t len = text ? strlen(text) : 0;
    if (!text || len > ESM_FILTER_MAX_PATTERN) {
        snprintf(why, why_cap, "pattern is longer than %d characters", ESM_FILTER_MAX_PATTERN);
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLengthOpts(text, len + 1, NULL, true);
    if (!cJSON_IsObject(j)) {
        snprintf(why, why_cap, "pattern is not a JSON object");
        cJSON_Delete(j);
        return NULL;
    }
    struct cc c = {.why = why, .why_cap = why_cap};
    c.path[0] = 0;
    struct node *n = compile_node(&c, j, 1);
    cJSON_Delete(j);
    return n;
}

bool esm_filter_check_pattern(const char *pattern, char *why, size_t why_cap)
{
    struct node *n = compile_text(pattern, why, why_cap);
    node_free(n);
    return n != NULL;
}

struct esm_filter *esm_filter_new(const char *const *patterns, size_t n, size_t *out_bad, char *why,
                                  size_t why_cap)
{
    if (n > ESM_FILTER_MAX_FILTERS) {
        snprintf(why, why_cap, "more than %d filters", ESM_FILTER_MAX_FILTERS);
        if (out_bad) {
            *out_bad = ESM_FILTER_MAX_FILTERS;
        }
        return NULL;
    }
    struct esm_filter *f = xcalloc(1, sizeof *f);
    f->pats = xcalloc(n, sizeof *f->pats);
    for (size_t i = 0; i < n; i++) {
        f->pats[i] = compile_text(patterns[i], why, why_cap);
        if (!f->pats[i]) {
            if (out_bad) {
                *out_bad = i;
            }
            esm_filter_free(f);
            return NULL;
        }
        f->n++;
    }
    return f;
}

struct esm_filter *esm_filter_from_criteria(const cJSON *criteria, bool *out_none, char *why,
                                            size_t why_cap)
{
    *out_none = false;
    const cJSON *fl = criteria ? cJSON_GetObjectItemCaseSensitive(criteria, "Filters") : NULL;
    int n = cJSON_IsArray(fl) ? cJSON_GetArraySize(fl) : 0;
    if (n <= 0) {
        *out_none = true;
        return NULL;
    }
    if (n > ESM_FILTER_MAX_FILTERS) {
        snprintf(why, why_cap, "more than %d filters", ESM_FILTER_MAX_FILTERS);
        return NULL;
    }
    const char *pats[ESM_FILTER_MAX_FILTERS];
    size_t k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, fl)
    {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "Pattern");
        pats[k++] = cJSON_IsString(p) ? p->valuestring : NULL;
    }
    size_t bad = 0;
    char tmp[200];
    struct esm_filter *f = esm_filter_new(pats, k, &bad, tmp, sizeof tmp);
    if (!f) {
        snprintf(why, why_cap, "FilterCriteria.Filters[%zu].Pattern: %s", bad, tmp);
    }
    return f;
}

size_t esm_filter_count(const struct esm_filter *f)
{
    return f ? f->n : 0;
}

uint64_t esm_filter_budget_exceeded(const struct esm_filter *f)
{
    return f ? f->budget_exceeded : 0;
}

void esm_filter_free(struct esm_filter *f)
{
    if (!f) {
        return;
    }
    for (size_t i = 0; i < f->n; i++) {
        node_free(f->pats[i]);
    }
    free(f->pats);
    free(f);
}

// ---- matching -----------------------------------------------------------------------------

enum vclass { VC_UNKNOWN, VC_ABSENT, VC_NOT_UTF8, VC_JSON, VC_STRING };

struct mc {
    const struct inv_record *rec;
    uint64_t budget;
    bool exceeded;
    enum vclass vc;
    cJSON *json; // the parsed value (VC_JSON)
    char *key64; // the key as base64 (lazily), NULL until asked
    bool key_done;
};

// leaf: one scalar data value.
enum ltype { LT_STR, LT_NUM, LT_BOOL, LT_NULL };
struct leaf {
    enum ltype t;
    const char *s;
    size_t len;
    double num;
    bool b;
};

static bool charge(struct mc *m, uint64_t n)
{
    if (m->exceeded || m->budget < n) {
        m->exceeded = true;
        return false;
    }
    m->budget -= n;
    return true;
}

static bool json_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// classify decides once per record what the value is.
static void classify(struct mc *m)
{
    if (m->vc != VC_UNKNOWN) {
        return;
    }
    const struct inv_bytes *v = &m->rec->value;
    if (v->is_null) {
        m->vc = VC_ABSENT;
        return;
    }
    charge(m, v->len / 64 + 1);
    if (!utf8_valid(v->p, v->len)) {
        m->vc = VC_NOT_UTF8;
        return;
    }
    m->vc = VC_STRING;
    size_t i = 0;
    while (i < v->len && json_space(v->p[i])) {
        i++;
    }
    if (i == v->len || (v->p[i] != '{' && v->p[i] != '[') || v->len > ESM_FILTER_MAX_JSON_VALUE) {
        return;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts((const char *)v->p, v->len, &end, false);
    if (!j) {
        return;
    }
    size_t used = (size_t)((const uint8_t *)end - v->p);
    while (used < v->len && json_space(v->p[used])) {
        used++;
    }
    if (used != v->len) {
        cJSON_Delete(j);
        return;
    }
    m->json = j;
    m->vc = VC_JSON;
}

static bool eq_fold(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z') {
            x = (unsigned char)(x - 'A' + 'a');
        }
        if (y >= 'A' && y <= 'Z') {
            y = (unsigned char)(y - 'A' + 'a');
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

static bool has_prefix(const struct leaf *l, const struct rule *r)
{
    return l->t == LT_STR && l->len >= r->len && memcmp(l->s, r->s, r->len) == 0;
}

static bool has_suffix(const struct leaf *l, const struct rule *r)
{
    return l->t == LT_STR && l->len >= r->len && memcmp(l->s + l->len - r->len, r->s, r->len) == 0;
}

static bool equals_fold(const struct leaf *l, const struct rule *r)
{
    return l->t == LT_STR && l->len == r->len && eq_fold(l->s, r->s, r->len);
}

// value_eq: an exact-value rule (RK_STR, RK_NUM, RK_BOOL, RK_NULL) against a leaf.
static bool value_eq(const struct leaf *l, const struct rule *r)
{
    switch (r->kind) {
    case RK_STR:
        return l->t == LT_STR && l->len == r->len && memcmp(l->s, r->s, r->len) == 0;
    case RK_NUM:
        return l->t == LT_NUM && l->num == r->num;
    case RK_BOOL:
        return l->t == LT_BOOL && l->b == r->b;
    case RK_NULL:
        return l->t == LT_NULL;
    case RK_PREFIX:
    case RK_SUFFIX:
    case RK_EIC:
    case RK_ANYBUT:
    case RK_ANYBUT_PREFIX:
    case RK_ANYBUT_SUFFIX:
    case RK_ANYBUT_EIC:
    case RK_NUMERIC:
    case RK_EXISTS:
        break;
    }
    return false;
}

static bool numop_ok(enum numop op, double v, double bound)
{
    switch (op) {
    case OP_EQ:
        return v == bound;
    case OP_LT:
        return v < bound;
    case OP_LE:
        return v <= bound;
    case OP_GT:
        return v > bound;
    case OP_GE:
        return v >= bound;
    }
    return false;
}

// rule_leaf: does |r| (not RK_EXISTS) match the leaf?
static bool rule_leaf(const struct rule *r, const struct leaf *l)
{
    switch (r->kind) {
    case RK_STR:
    case RK_NUM:
    case RK_BOOL:
    case RK_NULL:
        return value_eq(l, r);
    case RK_PREFIX:
        return has_prefix(l, r);
    case RK_SUFFIX:
        return has_suffix(l, r);
    case RK_EIC:
        return equals_fold(l, r);
    case RK_ANYBUT:
        for (size_t i = 0; i < r->n_list; i++) {
            if (value_eq(l, &r->list[i])) {
                return false;
            }
        }
        return true;
    case RK_ANYBUT_PREFIX:
        return l->t == LT_STR && !has_prefix(l, r);
    case RK_ANYBUT_SUFFIX:
        return l->t == LT_STR && !has_suffix(l, r);
    case RK_ANYBUT_EIC:
        return l->t == LT_STR && !equals_fold(l, r);
    case RK_NUMERIC:
        if (l->t != LT_NUM) {
            return false;
        }
        for (size_t i = 0; i < r->n_ops; i++) {
            if (!numop_ok(r->ops[i], l->num, r->bounds[i])) {
                return false;
            }
        }
        return true;
    case RK_EXISTS:
        break;
    }
    return false;
}

// leaf_rules: any non-exists rule of |f| matches |l|.
static bool leaf_rules(struct mc *m, const struct field *f, const struct leaf *l)
{
    for (size_t i = 0; i < f->n_rules; i++) {
        if (!charge(m, 1)) {
            return false;
        }
        if (f->rules[i].kind != RK_EXISTS && rule_leaf(&f->rules[i], l)) {
            return true;
        }
    }
    return false;
}

static bool leaf_of_json(const cJSON *j, struct leaf *out)
{
    if (cJSON_IsString(j)) {
        *out = (struct leaf){.t = LT_STR, .s = j->valuestring, .len = strlen(j->valuestring)};
    } else if (cJSON_IsNumber(j)) {
        *out = (struct leaf){.t = LT_NUM, .num = j->valuedouble};
    } else if (cJSON_IsBool(j)) {
        *out = (struct leaf){.t = LT_BOOL, .b = cJSON_IsTrue(j)};
    } else if (cJSON_IsNull(j)) {
        *out = (struct leaf){.t = LT_NULL};
    } else {
        return false;
    }
    return true;
}

// json_leaves walks the leaves of |j| (arrays flattened, objects skipped): sets *any_leaf when
// there is one and returns true as soon as one matches a rule of |f|.
static bool json_leaves(struct mc *m, const struct field *f, const cJSON *j, int depth,
                        bool *any_leaf)
{
    struct leaf l;
    if (leaf_of_json(j, &l)) {
        *any_leaf = true;
        return leaf_rules(m, f, &l);
    }
    if (!cJSON_IsArray(j) || depth >= DATA_ARRAY_DEPTH) {
        return false;
    }
    for (const cJSON *e = j->child; e; e = e->next) {
        if (!charge(m, 1)) {
            return false;
        }
        if (json_leaves(m, f, e, depth + 1, any_leaf)) {
            return true;
        }
    }
    return false;
}

// exists_wanted: the result of the field's exists rules given whether a leaf is there.
static bool exists_wanted(const struct field *f, bool any_leaf)
{
    for (size_t i = 0; i < f->n_rules; i++) {
        if (f->rules[i].kind == RK_EXISTS && f->rules[i].b == any_leaf) {
            return true;
        }
    }
    return false;
}

// rules_on_json: the rule list |f| against data |j| (NULL: absent).
static bool rules_on_json(struct mc *m, const struct field *f, const cJSON *j)
{
    bool any_leaf = false;
    if (j && json_leaves(m, f, j, 0, &any_leaf)) {
        return true;
    }
    return exists_wanted(f, any_leaf);
}

// rules_on_leaf: the rule list |f| against one scalar (NULL: absent).
static bool rules_on_leaf(struct mc *m, const struct field *f, const struct leaf *l)
{
    if (l && leaf_rules(m, f, l)) {
        return true;
    }
    return exists_wanted(f, l != NULL);
}

static const cJSON *json_member(struct mc *m, const cJSON *obj, const struct field *f)
{
    const cJSON *found = NULL;
    for (const cJSON *c = obj->child; c; c = c->next) {
        if (!charge(m, 1)) {
            return NULL;
        }
        if (c->string && strlen(c->string) == f->name_len &&
            memcmp(c->string, f->name, f->name_len) == 0) {
            found = c; // duplicate keys in the data: the last one counts, as in the pattern
        }
    }
    return found;
}

static bool node_json(struct mc *m, const struct node *n, const cJSON *obj, int depth);

// obj_json: an object pattern against data |j|: an object, or an array holding one that matches.
static bool obj_json(struct mc *m, const struct node *n, const cJSON *j, int depth)
{
    if (cJSON_IsObject(j)) {
        return node_json(m, n, j, depth);
    }
    if (!cJSON_IsArray(j) || depth >= DATA_ARRAY_DEPTH) {
        return false;
    }
    for (const cJSON *e = j->child; e; e = e->next) {
        if (!charge(m, 1)) {
            return false;
        }
        if (obj_json(m, n, e, depth + 1)) {
            return true;
        }
    }
    return false;
}

static bool node_json(struct mc *m, const struct node *n, const cJSON *obj, int depth)
{
    for (size_t i = 0; i < n->n_fields; i++) {
        const struct field *f = &n->fields[i];
        const cJSON *d = json_member(m, obj, f);
        bool ok = f->obj ? d && obj_json(m, f->obj, d, depth + 1) : rules_on_json(m, f, d);
        if (!ok || m->exceeded) {
            return false;
        }
    }
    if (n->n_ors == 0) {
        return true;
    }
    for (size_t i = 0; i < n->n_ors; i++) {
        if (node_json(m, n->ors[i], obj, depth + 1)) {
            return true;
        }
    }
    return false;
}

// value_field: the pattern's `value` member (Lambda's Kafka table: a mismatch skips it).
static bool value_field(struct mc *m, const struct field *f)
{
    classify(m);
    switch (m->vc) {
    case VC_ABSENT:
        return f->obj ? false : rules_on_leaf(m, f, NULL);
    case VC_JSON:
        return f->obj ? obj_json(m, f->obj, m->json, 0) : true;
    case VC_STRING: {
        if (f->obj) {
            return true;
        }
        struct leaf l = {.t = LT_STR, .s = (const char *)m->rec->value.p, .len = m->rec->value.len};
        return rules_on_leaf(m, f, &l);
    }
    case VC_NOT_UTF8:
    case VC_UNKNOWN:
        break;
    }
    return true;
}

static bool name_is(const struct field *f, const char *name)
{
    return f->name_len == strlen(name) && memcmp(f->name, name, f->name_len) == 0;
}

// meta_leaf fills the metadata value named by |f|; false when the event has no such field.
static bool meta_leaf(struct mc *m, const struct field *f, struct leaf *l)
{
    const struct inv_record *r = m->rec;
    if (name_is(f, "topic")) {
        *l = (struct leaf){.t = LT_STR, .s = r->topic, .len = r->topic_len};
    } else if (name_is(f, "partition")) {
        *l = (struct leaf){.t = LT_NUM, .num = (double)r->partition};
    } else if (name_is(f, "offset")) {
        *l = (struct leaf){.t = LT_NUM, .num = (double)r->offset};
    } else if (name_is(f, "timestamp")) {
        *l = (struct leaf){.t = LT_NUM, .num = (double)r->timestamp};
    } else if (name_is(f, "timestampType")) {
        const char *s = inv_ts_type_name(r->ts_type);
        *l = (struct leaf){.t = LT_STR, .s = s, .len = strlen(s)};
    } else if (name_is(f, "key") && !r->key.is_null) {
        if (!m->key_done) {
            m->key_done = true;
            charge(m, r->key.len / 64 + 1);
            m->key64 = xcalloc(base64_len(r->key.len) + 1, 1);
            base64_encode(m->key64, r->key.p, r->key.len);
        }
        *l = (struct leaf){.t = LT_STR, .s = m->key64, .len = strlen(m->key64)};
    } else {
        return false;
    }
    return true;
}

static bool node_top(struct mc *m, const struct node *n, int depth)
{
    for (size_t i = 0; i < n->n_fields; i++) {
        const struct field *f = &n->fields[i];
        bool ok;
        if (name_is(f, "value")) {
            ok = value_field(m, f);
        } else {
            struct leaf l;
            bool present = meta_leaf(m, f, &l);
            ok = f->obj ? false : rules_on_leaf(m, f, present ? &l : NULL);
        }
        if (!ok || m->exceeded) {
            return false;
        }
    }
    if (n->n_ors == 0) {
        return true;
    }
    for (size_t i = 0; i < n->n_ors; i++) {
        if (node_top(m, n->ors[i], depth + 1)) {
            return true;
        }
    }
    return false;
}

bool esm_filter_match(struct esm_filter *f, const struct inv_record *rec)
{
    if (!f || f->n == 0) {
        return true;
    }
    struct mc m = {.rec = rec, .vc = VC_UNKNOWN};
    size_t vlen = rec->value.is_null ? 0 : rec->value.len;
    size_t klen = rec->key.is_null ? 0 : rec->key.len;
    m.budget = BUDGET_BASE + (uint64_t)BUDGET_PER_BYTE * ((uint64_t)vlen + klen);
    bool match = false;
    for (size_t i = 0; i < f->n && !match && !m.exceeded; i++) {
        match = node_top(&m, f->pats[i], 1);
    }
    if (m.exceeded) {
        f->budget_exceeded++;
        match = true;
    }
    cJSON_Delete(m.json);
    free(m.key64);
    return match;
}
