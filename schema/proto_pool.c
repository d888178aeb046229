// proto_pool.c: loading a schema's files into one pool (imports, built-ins), resolving type
// names, and finding the message a Confluent or Glue index names.
#include "schema/proto_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool pb_grow(void **p, size_t *cap, size_t need, size_t elem)
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

// ---- the name index ---------------------------------------------------------------------------

static uint64_t hash_name(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    }
    return h;
}

static const char *entry_name(const struct sch_proto *p, uint32_t e)
{
    uint32_t idx = e & 0x7fffffffu;
    return (e >> 31) ? p->enums[idx].full_name : p->msgs[idx].full_name;
}

static void name_put(uint32_t *tab, size_t cap, const char *name, uint32_t e)
{
    size_t i = (size_t)hash_name(name) & (cap - 1);
    while (tab[i] != UINT32_MAX) {
        i = (i + 1) & (cap - 1);
    }
    tab[i] = e;
}

bool pb_name_add(struct sch_proto *p, bool is_enum, uint32_t idx)
{
    size_t used = p->num_msgs + p->num_enums + 1;
    if (used * 2 > p->names_cap) {
        size_t cap = p->names_cap ? p->names_cap * 2 : 64;
        uint32_t *tab = malloc(cap * sizeof *tab);
        if (!tab) {
            return false;
        }
        memset(tab, 0xff, cap * sizeof *tab);
        for (size_t i = 0; i < p->names_cap; i++) {
            if (p->names[i] != UINT32_MAX) {
                name_put(tab, cap, entry_name(p, p->names[i]), p->names[i]);
            }
        }
        free(p->names);
        p->names = tab;
        p->names_cap = cap;
    }
    uint32_t e = (is_enum ? 0x80000000u : 0) | idx;
    const char *name = is_enum ? p->enums[idx].full_name : p->msgs[idx].full_name;
    name_put(p->names, p->names_cap, name, e);
    return true;
}

static uint32_t name_find(const struct sch_proto *p, const char *full, bool want_enum)
{
    if (!p->names_cap) {
        return UINT32_MAX;
    }
    size_t i = (size_t)hash_name(full) & (p->names_cap - 1);
    while (p->names[i] != UINT32_MAX) {
        uint32_t e = p->names[i];
        if ((bool)(e >> 31) == want_enum && !strcmp(entry_name(p, e), full)) {
            return e & 0x7fffffffu;
        }
        i = (i + 1) & (p->names_cap - 1);
    }
    return UINT32_MAX;
}

uint32_t pb_find_msg(const struct sch_proto *p, const char *full)
{
    return name_find(p, full, false);
}

uint32_t pb_find_enum(const struct sch_proto *p, const char *full)
{
    return name_find(p, full, true);
}

// ---- loading ----------------------------------------------------------------------------------

struct loader {
    struct sch_proto *pool;
    const struct sch_proto_file *files;
    size_t n; // the last one is the main file
};

static enum sch_status need_import(void *ctx, const char *path, struct sch_err *err)
{
    struct loader *l = ctx;
    struct sch_proto *pool = l->pool;
    for (size_t i = 0; i < pool->num_files; i++) {
        if (!strcmp(pool->files[i].name, path)) {
            if (!pool->files[i].done) {
                return sch_fail(err, SCH_ERR_SCHEMA, "import cycle through \"%.100s\"", path);
            }
            return SCH_OK;
        }
    }
    if (pool->num_files >= SCH_PROTO_MAX_FILES) {
        return sch_fail(err, SCH_ERR_LIMIT, "more than %d imported files", SCH_PROTO_MAX_FILES);
    }
    for (size_t i = 0; i + 1 < l->n; i++) {
        if (l->files[i].name && !strcmp(l->files[i].name, path)) {
            return pb_parse_file(pool, path, l->files[i].text, l->files[i].len, false, need_import,
                                 l, err);
        }
    }
    const char *text = pb_builtin_text(path);
    if (text) {
        return pb_parse_file(pool, path, text, strlen(text), true, need_import, l, err);
    }
    return sch_fail(err, SCH_ERR_SCHEMA,
                    "import \"%.100s\" is neither built in nor among the schema's references",
                    path);
}

// resolve_one finds |name| (as written in a field of message |scope|) by the scoping rules:
// a leading '.' is fully qualified, otherwise the innermost enclosing scope wins.
static bool resolve_one(const struct sch_proto *p, const char *scope, const char *name,
                        uint8_t *out_type, uint32_t *out_ref)
{
    char cand[1100];
    if (name[0] == '.') {
        snprintf(cand, sizeof cand, "%s", name + 1);
    }
    size_t sl = strlen(scope);
    for (;;) {
        if (name[0] != '.') {
            snprintf(cand, sizeof cand, "%.*s%s%s", (int)sl, scope, sl ? "." : "", name);
        }
        uint32_t m = pb_find_msg(p, cand);
        if (m != UINT32_MAX) {
            *out_type = PB_MESSAGE;
            *out_ref = m;
            return true;
        }
        uint32_t e = pb_find_enum(p, cand);
        if (e != UINT32_MAX) {
            *out_type = PB_ENUM;
            *out_ref = e;
            return true;
        }
        if (name[0] == '.' || sl == 0) {
            return false;
        }
        while (sl > 0 && scope[sl - 1] != '.') {
            sl--;
        }
        if (sl > 0) {
            sl--; // drop the '.'
        }
    }
}

static int cmp_number(const void *a, const void *b)
{
    uint32_t x = ((const struct pb_field *)a)->number, y = ((const struct pb_field *)b)->number;
    return x < y ? -1 : x > y;
}

// resolve_all resolves every field's type name and sorts each message's fields by number (the
// decoder looks fields up by number and writes them in that order).
static enum sch_status resolve_all(struct sch_proto *p, struct sch_err *err)
{
    for (size_t m = 0; m < p->num_msgs; m++) {
        struct pb_msg *msg = &p->msgs[m];
        if (msg->num_fields > 1) {
            qsort(p->fields + msg->first_field, msg->num_fields, sizeof *p->fields, cmp_number);
        }
        for (uint32_t i = 0; i < msg->num_fields; i++) {
            struct pb_field *f = &p->fields[msg->first_field + i];
            if (f->type == PB_NAMED) {
                uint8_t t;
                uint32_t ref;
                if (!resolve_one(p, msg->full_name, f->type_name, &t, &ref)) {
                    return sch_fail(err, SCH_ERR_SCHEMA,
                                    "%.100s.%.60s: unknown type '%.100s' (a missing reference?)",
                                    msg->full_name, f->name, f->type_name);
                }
                f->type = t;
                f->ref = ref;
            }
            if ((f->type == PB_MESSAGE || f->type == PB_GROUP) && f->label != PB_REPEATED) {
                f->presence = true;
            }
        }
        if (msg->map_entry && p->fields[msg->first_field + 1].type == PB_MESSAGE &&
            p->msgs[p->fields[msg->first_field + 1].ref].map_entry) {
            return sch_fail(err, SCH_ERR_SCHEMA, "%.100s: a map value may not be a map",
                            msg->full_name);
        }
    }
    return SCH_OK;
}

static void tag_wkt(struct sch_proto *p)
{
    static const struct {
        const char *name;
        uint8_t wkt;
    } tab[] = {
        {"google.protobuf.Timestamp", PB_WKT_TIMESTAMP},
        {"google.protobuf.Duration", PB_WKT_DURATION},
        {"google.protobuf.DoubleValue", PB_WKT_WRAPPER},
        {"google.protobuf.FloatValue", PB_WKT_WRAPPER},
        {"google.protobuf.Int64Value", PB_WKT_WRAPPER},
        {"google.protobuf.UInt64Value", PB_WKT_WRAPPER},
        {"google.protobuf.Int32Value", PB_WKT_WRAPPER},
        {"google.protobuf.UInt32Value", PB_WKT_WRAPPER},
        {"google.protobuf.BoolValue", PB_WKT_WRAPPER},
        {"google.protobuf.StringValue", PB_WKT_WRAPPER},
        {"google.protobuf.BytesValue", PB_WKT_WRAPPER},
        {"google.protobuf.Struct", PB_WKT_STRUCT},
        {"google.protobuf.Value", PB_WKT_VALUE},
        {"google.protobuf.ListValue", PB_WKT_LIST},
        {"google.protobuf.FieldMask", PB_WKT_FIELD_MASK},
        {"google.protobuf.Any", PB_WKT_ANY},
        {"google.protobuf.Empty", PB_WKT_EMPTY},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        uint32_t m = pb_find_msg(p, tab[i].name);
        if (m != UINT32_MAX) {
            p->msgs[m].wkt = tab[i].wkt;
        }
    }
}

void sch_proto_free(struct sch_proto *p)
{
    if (!p) {
        return;
    }
    for (size_t i = 0; i < p->num_files; i++) {
        free(p->files[i].name);
        free(p->files[i].package);
    }
    for (size_t i = 0; i < p->num_msgs; i++) {
        free(p->msgs[i].full_name);
    }
    for (size_t i = 0; i < p->num_fields; i++) {
        free(p->fields[i].name);
        free(p->fields[i].json_name);
        free(p->fields[i].type_name);
    }
    for (size_t i = 0; i < p->num_enums; i++) {
        free(p->enums[i].full_name);
    }
    for (size_t i = 0; i < p->num_values; i++) {
        free(p->values[i].name);
    }
    free(p->files);
    free(p->msgs);
    free(p->fields);
    free(p->enums);
    free(p->values);
    free(p->ids);
    free(p->names);
    free(p);
}

size_t sch_proto_mem(const struct sch_proto *p)
{
    return sizeof *p + p->cap_files * sizeof *p->files + p->cap_msgs * sizeof *p->msgs +
           p->cap_fields * sizeof *p->fields + p->cap_enums * sizeof *p->enums +
           p->cap_values * sizeof *p->values + p->cap_ids * sizeof *p->ids +
           p->names_cap * sizeof *p->names + p->mem;
}

enum sch_status sch_proto_parse(struct sch_proto **out, const struct sch_proto_file *files,
                                size_t n, struct sch_err *err)
{
    *out = NULL;
    if (n == 0 || n > SCH_PROTO_MAX_FILES) {
        return sch_fail(err, SCH_ERR_LIMIT, "Protobuf schema: %zu files (1..%d)", n,
                        SCH_PROTO_MAX_FILES);
    }
    struct sch_proto *p = calloc(1, sizeof *p);
    if (!p) {
        return sch_fail(err, SCH_ERR_NOMEM, "out of memory");
    }
    struct loader l = {p, files, n};
    const struct sch_proto_file *main = &files[n - 1];
    enum sch_status st = pb_parse_file(p, main->name ? main->name : "schema.proto", main->text,
                                       main->len, false, need_import, &l, err);
    if (st == SCH_OK) {
        for (size_t i = 0; i < p->num_files; i++) {
            if (!strcmp(p->files[i].name, main->name ? main->name : "schema.proto")) {
                p->main_file = (uint32_t)i;
            }
        }
        st = resolve_all(p, err);
    }
    if (st != SCH_OK) {
        sch_proto_free(p);
        return st;
    }
    tag_wkt(p);
    *out = p;
    return SCH_OK;
}

const char *sch_proto_msg_name(const struct sch_proto *p, uint32_t msg)
{
    return msg < p->num_msgs ? p->msgs[msg].full_name : "?";
}

enum sch_status sch_proto_confluent_msg(const struct sch_proto *p, const struct sch_msg_path *path,
                                        uint32_t *out_msg, struct sch_err *err)
{
    const struct pb_file *f = &p->files[p->main_file];
    uint32_t first = f->first_top, count = f->num_top;
    uint32_t m = UINT32_MAX;
    for (uint32_t k = 0; k < path->n; k++) {
        if (path->idx[k] >= count) {
            return sch_fail(err, SCH_ERR_MALFORMED,
                            "Confluent message index %u at depth %u: the schema has %u message%s "
                            "there",
                            path->idx[k], k, count, count == 1 ? "" : "s");
        }
        m = p->ids[first + path->idx[k]];
        first = p->msgs[m].first_nested;
        count = p->msgs[m].num_nested;
    }
    if (m == UINT32_MAX) {
        return sch_fail(err, SCH_ERR_MALFORMED, "Confluent message indexes: empty path");
    }
    *out_msg = m;
    return SCH_OK;
}

static bool name_less(const struct sch_proto *p, uint32_t x, uint32_t y)
{
    return strcmp(p->msgs[x].full_name, p->msgs[y].full_name) < 0;
}

static void sift_down(const struct sch_proto *p, uint32_t *a, size_t i, size_t n)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) {
            return;
        }
        if (c + 1 < n && name_less(p, a[c], a[c + 1])) {
            c++;
        }
        if (!name_less(p, a[i], a[c])) {
            return;
        }
        uint32_t t = a[i];
        a[i] = a[c];
        a[c] = t;
        i = c;
    }
}

// sort_by_name heap-sorts message indexes by full name (byte order, as Java's String order is
// for ASCII names).
static void sort_by_name(const struct sch_proto *p, uint32_t *a, size_t n)
{
    for (size_t i = n / 2; i > 0; i--) {
        sift_down(p, a, i - 1, n);
    }
    for (size_t end = n; end > 1; end--) {
        uint32_t t = a[0];
        a[0] = a[end - 1];
        a[end - 1] = t;
        sift_down(p, a, 0, end - 1);
    }
}

enum sch_status sch_proto_glue_msg(const struct sch_proto *p, uint32_t index, uint32_t *out_msg,
                                   struct sch_err *err)
{
    size_t n = 0;
    for (size_t i = 0; i < p->num_msgs; i++) {
        n += p->msgs[i].file == p->main_file;
    }
    if (index >= n) {
        return sch_fail(err, SCH_ERR_MALFORMED,
                        "Glue message index %u: the schema has %zu message type%s", index, n,
                        n == 1 ? "" : "s");
    }
    uint32_t *ids = malloc(n * sizeof *ids);
    if (!ids) {
        return sch_fail(err, SCH_ERR_NOMEM, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < p->num_msgs; i++) {
        if (p->msgs[i].file == p->main_file) {
            ids[k++] = (uint32_t)i;
        }
    }
    sort_by_name(p, ids, n);
    *out_msg = ids[index];
    free(ids);
    return SCH_OK;
}
