// avro_schema.c: Avro schema JSON to struct sch_avro (see avro.h for what is accepted).
#include "schema/avro_int.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parse {
    struct sch_avro *s;
    struct sch_err *err;
    size_t text; // which text, for messages
    enum sch_status st;
};

static const char *const prim_names[] = {"null",  "boolean", "int",   "long",
                                         "float", "double",  "bytes", "string"};
#define NUM_PRIMS 8

static bool failed(struct parse *ps, enum sch_status st, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool failed(struct parse *ps, enum sch_status st, const char *path, const char *fmt, ...)
{
    if (ps->st == SCH_OK) {
        char what[160];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        sch_fail(ps->err, st, "Avro schema %zu at %s: %s", ps->text + 1, path[0] ? path : "/",
                 what);
        ps->st = st;
    }
    return false;
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return true;
    }
    size_t nc = *cap ? *cap * 2 : 16;
    while (nc < need) {
        nc *= 2;
    }
    void *np = realloc(*p, nc * elem);
    if (!np) {
        return false;
    }
    *p = np;
    *cap = nc;
    return true;
}

static char *dup_str(struct parse *ps, const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n + 1);
        ps->s->mem += n + 1;
    }
    return d;
}

// new_node appends a node; returns its index or UINT32_MAX (error recorded).
static uint32_t new_node(struct parse *ps, enum avro_type t, const char *path)
{
    struct sch_avro *s = ps->s;
    if (s->num_nodes >= SCH_AVRO_MAX_NODES) {
        failed(ps, SCH_ERR_LIMIT, path, "more than %s types", "100000");
        return UINT32_MAX;
    }
    if (!grow((void **)&s->nodes, &s->cap_nodes, s->num_nodes + 1, sizeof *s->nodes)) {
        failed(ps, SCH_ERR_NOMEM, path, "out of memory");
        return UINT32_MAX;
    }
    struct avro_node *n = &s->nodes[s->num_nodes];
    memset(n, 0, sizeof *n);
    n->type = t;
    return (uint32_t)s->num_nodes++;
}

static uint32_t find_named(const struct sch_avro *s, const char *full)
{
    for (size_t i = 0; i < s->num_nodes; i++) {
        if (s->nodes[i].name && !strcmp(s->nodes[i].name, full)) {
            return (uint32_t)i;
        }
    }
    return UINT32_MAX;
}

// full_name builds the full name of |name| in namespace |ns| into |out|.
static bool full_name(const char *name, const char *ns, char *out, size_t cap)
{
    int n;
    if (strchr(name, '.') || !ns || !*ns) {
        n = snprintf(out, cap, "%s", name);
    } else {
        n = snprintf(out, cap, "%s.%s", ns, name);
    }
    return n > 0 && (size_t)n < cap;
}

// namespace_of writes the namespace part of a full name ("" when none).
static void namespace_of(const char *full, char *out, size_t cap)
{
    const char *dot = strrchr(full, '.');
    size_t n = dot ? (size_t)(dot - full) : 0;
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), full);
}

static uint32_t parse_type(struct parse *ps, const cJSON *j, const char *ns, const char *path,
                           int depth);

static uint32_t resolve_name(struct parse *ps, const char *name, const char *ns, const char *path)
{
    for (size_t i = 0; i < NUM_PRIMS; i++) {
        if (!strcmp(name, prim_names[i])) {
            return (uint32_t)i; // the first NUM_PRIMS nodes are the primitives
        }
    }
    char full[512];
    uint32_t idx = UINT32_MAX;
    if (full_name(name, ns, full, sizeof full)) {
        idx = find_named(ps->s, full);
    }
    if (idx == UINT32_MAX && !strchr(name, '.')) {
        idx = find_named(ps->s, name);
    }
    if (idx == UINT32_MAX) {
        failed(ps, SCH_ERR_SCHEMA, path, "unknown type '%.100s'", name);
    }
    return idx;
}

// named_begin registers a named type (record, enum, fixed) of |j|: its full name goes into
// |out_ns| as the namespace for what it contains.
static uint32_t named_begin(struct parse *ps, const cJSON *j, enum avro_type t, const char *ns,
                            const char *path, char *out_ns, size_t ns_cap)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    const cJSON *jns = cJSON_GetObjectItemCaseSensitive(j, "namespace");
    if (!cJSON_IsString(name) || !name->valuestring[0]) {
        failed(ps, SCH_ERR_SCHEMA, path, "a named type needs a non-empty \"name\"");
        return UINT32_MAX;
    }
    const char *use_ns = cJSON_IsString(jns) ? jns->valuestring : ns;
    char full[512];
    if (!full_name(name->valuestring, use_ns, full, sizeof full)) {
        failed(ps, SCH_ERR_LIMIT, path, "name too long");
        return UINT32_MAX;
    }
    if (find_named(ps->s, full) != UINT32_MAX) {
        failed(ps, SCH_ERR_SCHEMA, path, "type '%.100s' is defined twice", full);
        return UINT32_MAX;
    }
    uint32_t idx = new_node(ps, t, path);
    if (idx == UINT32_MAX) {
        return idx;
    }
    ps->s->nodes[idx].name = dup_str(ps, full);
    if (!ps->s->nodes[idx].name) {
        failed(ps, SCH_ERR_NOMEM, path, "out of memory");
        return UINT32_MAX;
    }
    namespace_of(full, out_ns, ns_cap);
    return idx;
}

static uint32_t parse_record(struct parse *ps, const cJSON *j, const char *ns, const char *path,
                             int depth)
{
    char rns[512];
    uint32_t idx = named_begin(ps, j, AVRO_RECORD, ns, path, rns, sizeof rns);
    const cJSON *fl = cJSON_GetObjectItemCaseSensitive(j, "fields");
    if (idx == UINT32_MAX) {
        return idx;
    }
    if (!cJSON_IsArray(fl)) {
        failed(ps, SCH_ERR_SCHEMA, path, "a record needs a \"fields\" array");
        return UINT32_MAX;
    }
    size_t n = (size_t)cJSON_GetArraySize(fl);
    struct avro_field *tmp = calloc(n ? n : 1, sizeof *tmp);
    if (!tmp) {
        failed(ps, SCH_ERR_NOMEM, path, "out of memory");
        return UINT32_MAX;
    }
    size_t i = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, fl)
    {
        char fpath[300];
        const cJSON *fname = cJSON_GetObjectItemCaseSensitive(f, "name");
        snprintf(fpath, sizeof fpath, "%.200s/fields/%zu", path, i);
        if (!cJSON_IsString(fname)) {
            failed(ps, SCH_ERR_SCHEMA, fpath, "a field needs a \"name\"");
            break;
        }
        tmp[i].name = dup_str(ps, fname->valuestring);
        if (!tmp[i].name) {
            failed(ps, SCH_ERR_NOMEM, fpath, "out of memory");
            break;
        }
        tmp[i].type =
            parse_type(ps, cJSON_GetObjectItemCaseSensitive(f, "type"), rns, fpath, depth + 1);
        i++;
        if (ps->st != SCH_OK) {
            break;
        }
    }
    struct sch_avro *s = ps->s;
    if (ps->st == SCH_OK &&
        !grow((void **)&s->fields, &s->cap_fields, s->num_fields + n, sizeof *s->fields)) {
        failed(ps, SCH_ERR_NOMEM, path, "out of memory");
    }
    if (ps->st != SCH_OK) {
        for (size_t k = 0; k < i; k++) {
            free(tmp[k].name);
        }
        free(tmp);
        return UINT32_MAX;
    }
    s->nodes[idx].first = (uint32_t)s->num_fields;
    s->nodes[idx].count = (uint32_t)n;
    if (n) {
        memcpy(s->fields + s->num_fields, tmp, n * sizeof *tmp);
    }
    s->num_fields += n;
    free(tmp);
    return idx;
}

static uint32_t parse_enum(struct parse *ps, const cJSON *j, const char *ns, const char *path)
{
    char ens[512];
    uint32_t idx = named_begin(ps, j, AVRO_ENUM, ns, path, ens, sizeof ens);
    const cJSON *syms = cJSON_GetObjectItemCaseSensitive(j, "symbols");
    if (idx == UINT32_MAX) {
        return idx;
    }
    if (!cJSON_IsArray(syms)) {
        failed(ps, SCH_ERR_SCHEMA, path, "an enum needs a \"symbols\" array");
        return UINT32_MAX;
    }
    struct sch_avro *s = ps->s;
    size_t n = (size_t)cJSON_GetArraySize(syms);
    if (!grow((void **)&s->symbols, &s->cap_symbols, s->num_symbols + n, sizeof *s->symbols)) {
        failed(ps, SCH_ERR_NOMEM, path, "out of memory");
        return UINT32_MAX;
    }
    s->nodes[idx].first = (uint32_t)s->num_symbols;
    const cJSON *e;
    cJSON_ArrayForEach(e, syms)
    {
        if (!cJSON_IsString(e)) {
            failed(ps, SCH_ERR_SCHEMA, path, "enum symbols must be strings");
            return UINT32_MAX;
        }
        char *d = dup_str(ps, e->valuestring);
        if (!d) {
            failed(ps, SCH_ERR_NOMEM, path, "out of memory");
            return UINT32_MAX;
        }
        s->symbols[s->num_symbols++] = d;
        s->nodes[idx].count++;
    }
    return idx;
}

static uint32_t parse_fixed(struct parse *ps, const cJSON *j, const char *ns, const char *path)
{
    char fns[512];
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(j, "size");
    uint32_t idx = named_begin(ps, j, AVRO_FIXED, ns, path, fns, sizeof fns);
    if (idx == UINT32_MAX) {
        return idx;
    }
    if (!cJSON_IsNumber(size) || size->valuedouble < 0 || size->valuedouble > SCH_MAX_SCHEMA_TEXT ||
        floor(size->valuedouble) != size->valuedouble) {
        failed(ps, SCH_ERR_SCHEMA, path, "a fixed needs a \"size\" of 0..1048576");
        return UINT32_MAX;
    }
    ps->s->nodes[idx].size = (uint32_t)size->valuedouble;
    return idx;
}

// apply_decimal marks |idx| (bytes or fixed) as a decimal when |j| describes a valid one.
static void apply_decimal(struct parse *ps, const cJSON *j, uint32_t idx)
{
    const cJSON *lt = cJSON_GetObjectItemCaseSensitive(j, "logicalType");
    const cJSON *prec = cJSON_GetObjectItemCaseSensitive(j, "precision");
    const cJSON *scale = cJSON_GetObjectItemCaseSensitive(j, "scale");
    if (idx == UINT32_MAX || !cJSON_IsString(lt) || strcmp(lt->valuestring, "decimal") != 0) {
        return;
    }
    struct avro_node *n = &ps->s->nodes[idx];
    if (n->type != AVRO_BYTES && n->type != AVRO_FIXED) {
        return;
    }
    if (!cJSON_IsNumber(prec) || prec->valuedouble < 1 || prec->valuedouble > 1000) {
        return;
    }
    double sc = cJSON_IsNumber(scale) ? scale->valuedouble : 0;
    if (sc < 0 || sc > prec->valuedouble || floor(sc) != sc) {
        return;
    }
    n->decimal = true;
    n->scale = (int32_t)sc;
}

static uint32_t parse_union(struct parse *ps, const cJSON *j, const char *ns, const char *path,
                            int depth)
{
    size_t n = (size_t)cJSON_GetArraySize(j);
    uint32_t *tmp = calloc(n ? n : 1, sizeof *tmp);
    if (!tmp) {
        failed(ps, SCH_ERR_NOMEM, path, "out of memory");
        return UINT32_MAX;
    }
    size_t i = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, j)
    {
        char bpath[300];
        snprintf(bpath, sizeof bpath, "%.200s/%zu", path, i);
        if (cJSON_IsArray(b)) {
            failed(ps, SCH_ERR_SCHEMA, bpath, "a union may not contain a union");
            break;
        }
        tmp[i++] = parse_type(ps, b, ns, bpath, depth + 1);
        if (ps->st != SCH_OK) {
            break;
        }
    }
    uint32_t idx = ps->st == SCH_OK ? new_node(ps, AVRO_UNION, path) : UINT32_MAX;
    struct sch_avro *s = ps->s;
    if (idx != UINT32_MAX &&
        !grow((void **)&s->branches, &s->cap_branches, s->num_branches + n, sizeof *s->branches)) {
        failed(ps, SCH_ERR_NOMEM, path, "out of memory");
        idx = UINT32_MAX;
    }
    if (idx != UINT32_MAX) {
        s->nodes[idx].first = (uint32_t)s->num_branches;
        s->nodes[idx].count = (uint32_t)n;
        if (n) {
            memcpy(s->branches + s->num_branches, tmp, n * sizeof *tmp);
        }
        s->num_branches += n;
    }
    free(tmp);
    return idx;
}

static uint32_t parse_object(struct parse *ps, const cJSON *j, const char *ns, const char *path,
                             int depth)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
    if (!t) {
        failed(ps, SCH_ERR_SCHEMA, path, "an object type needs a \"type\"");
        return UINT32_MAX;
    }
    if (!cJSON_IsString(t)) {
        return parse_type(ps, t, ns, path, depth + 1); // {"type": {...}} or {"type": [...]}
    }
    const char *tn = t->valuestring;
    char ipath[300];
    if (!strcmp(tn, "record") || !strcmp(tn, "error")) {
        return parse_record(ps, j, ns, path, depth);
    }
    if (!strcmp(tn, "enum")) {
        return parse_enum(ps, j, ns, path);
    }
    if (!strcmp(tn, "fixed")) {
        uint32_t idx = parse_fixed(ps, j, ns, path);
        apply_decimal(ps, j, idx);
        return idx;
    }
    if (!strcmp(tn, "array") || !strcmp(tn, "map")) {
        bool arr = tn[0] == 'a';
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(j, arr ? "items" : "values");
        snprintf(ipath, sizeof ipath, "%.200s/%s", path, arr ? "items" : "values");
        if (!item) {
            failed(ps, SCH_ERR_SCHEMA, path, "missing \"%s\"", arr ? "items" : "values");
            return UINT32_MAX;
        }
        uint32_t it = parse_type(ps, item, ns, ipath, depth + 1);
        uint32_t idx = it == UINT32_MAX ? it : new_node(ps, arr ? AVRO_ARRAY : AVRO_MAP, path);
        if (idx != UINT32_MAX) {
            ps->s->nodes[idx].item = it;
        }
        return idx;
    }
    for (size_t i = 0; i < NUM_PRIMS; i++) {
        if (!strcmp(tn, prim_names[i])) {
            if (i == AVRO_BYTES && cJSON_GetObjectItemCaseSensitive(j, "logicalType")) {
                uint32_t idx = new_node(ps, AVRO_BYTES, path);
                apply_decimal(ps, j, idx);
                return idx;
            }
            return (uint32_t)i;
        }
    }
    return resolve_name(ps, tn, ns, path); // {"type": "com.acme.Named"}
}

static uint32_t parse_type(struct parse *ps, const cJSON *j, const char *ns, const char *path,
                           int depth)
{
    if (ps->st != SCH_OK) {
        return UINT32_MAX;
    }
    if (depth > SCH_MAX_DEPTH) {
        failed(ps, SCH_ERR_LIMIT, path, "definitions nested deeper than %s", "64");
        return UINT32_MAX;
    }
    if (cJSON_IsString(j)) {
        return resolve_name(ps, j->valuestring, ns, path);
    }
    if (cJSON_IsArray(j)) {
        return parse_union(ps, j, ns, path, depth);
    }
    if (cJSON_IsObject(j)) {
        return parse_object(ps, j, ns, path, depth);
    }
    failed(ps, SCH_ERR_SCHEMA, path, "a type must be a name, an object or a union array");
    return UINT32_MAX;
}

void sch_avro_free(struct sch_avro *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->num_nodes; i++) {
        free(s->nodes[i].name);
    }
    for (size_t i = 0; i < s->num_fields; i++) {
        free(s->fields[i].name);
    }
    for (size_t i = 0; i < s->num_symbols; i++) {
        free(s->symbols[i]);
    }
    free(s->nodes);
    free(s->fields);
    free(s->symbols);
    free(s->branches);
    free(s);
}

size_t sch_avro_mem(const struct sch_avro *s)
{
    return sizeof *s + s->cap_nodes * sizeof *s->nodes + s->cap_fields * sizeof *s->fields +
           s->cap_symbols * sizeof *s->symbols + s->cap_branches * sizeof *s->branches + s->mem;
}

enum sch_status sch_avro_parse(struct sch_avro **out, const char *const *texts, const size_t *lens,
                               size_t n, struct sch_err *err)
{
    *out = NULL;
    if (n == 0) {
        return sch_fail(err, SCH_ERR_SCHEMA, "Avro: no schema text");
    }
    struct sch_avro *s = calloc(1, sizeof *s);
    if (!s) {
        return sch_fail(err, SCH_ERR_NOMEM, "Avro: out of memory");
    }
    struct parse ps = {s, err, 0, SCH_OK};
    for (size_t i = 0; i < NUM_PRIMS; i++) {
        new_node(&ps, (enum avro_type)i, "");
    }
    uint32_t root = UINT32_MAX;
    for (size_t i = 0; i < n && ps.st == SCH_OK; i++) {
        ps.text = i;
        if (lens[i] > SCH_MAX_SCHEMA_TEXT) {
            sch_fail(err, SCH_ERR_LIMIT, "Avro schema %zu: %zu bytes (at most %u)", i + 1, lens[i],
                     SCH_MAX_SCHEMA_TEXT);
            ps.st = SCH_ERR_LIMIT;
            break;
        }
        const char *end = NULL;
        cJSON *j = cJSON_ParseWithLengthOpts(texts[i], lens[i], &end, false);
        size_t rest = j ? lens[i] - (size_t)(end - texts[i]) : 0;
        while (j && rest > 0 && strchr(" \t\r\n", end[0]) && end[0]) {
            end++;
            rest--;
        }
        if (j && rest > 0) {
            cJSON_Delete(j);
            j = NULL;
        }
        if (!j) {
            size_t at = end && end >= texts[i] ? (size_t)(end - texts[i]) : 0;
            sch_fail(err, SCH_ERR_SCHEMA, "Avro schema %zu: not valid JSON (at byte %zu)", i + 1,
                     at);
            ps.st = SCH_ERR_SCHEMA;
            break;
        }
        root = parse_type(&ps, j, "", "", 0);
        cJSON_Delete(j);
    }
    if (ps.st != SCH_OK) {
        sch_avro_free(s);
        return ps.st;
    }
    s->root = root;
    *out = s;
    return SCH_OK;
}
