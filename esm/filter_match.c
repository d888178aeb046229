// filter_match.c: matching a record against compiled FilterCriteria patterns (see filter.h and
// filter.c): the record's value classified once (JSON object, other JSON, or a plain string),
// each pattern field looked up where it applies, every step charged to the record's budget.
#include "base/alloc.h"
#include "base/base64.h"
#include "base/utf8.h"
#include "esm/filter_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
