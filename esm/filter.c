// filter.c: FilterCriteria patterns compiled into a small tree and matched against records (see
// filter.h for the semantics and bounds).
//
// Compilation (this file) walks the cJSON of a pattern once, validating every operator, and
// builds nodes (objects: fields ANDed, "$or" alternatives) and rules (a field's list, ORed).
// Matching (filter_match.c) visits the pattern, not the data: each field is looked up in the data
// object it applies to, and a data array is flattened into its leaf values. Every lookup step and
// rule test is charged to a per-record budget, so a hostile value costs at most a fixed multiple
// of its size.
#include "esm/filter.h"

#include "base/alloc.h"
#include "esm/filter_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
