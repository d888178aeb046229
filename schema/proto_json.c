// proto_json.c: Protobuf binary to the proto3 JSON mapping (see proto.h for the rules).
//
// A message is decoded in two passes: the wire fields of its bytes (several byte ranges when a
// singular message field occurred more than once: Protobuf merges them, which is the same as
// reading their concatenation) are collected as occurrences of known fields, then written in
// field-number order (the order protobuf-java and C++ print in): repeated fields from all their
// occurrences, singular ones from the last, message ones from all merged, and of a oneof only
// the member seen last. Fields with a wire type their declaration does not allow are unknown
// fields, as Protobuf parsers treat them, and are skipped like any unknown field.
#include "base/utf8.h"
#include "proto/kr.h"
#include "schema/proto_int.h"
#include "schema/proto_json_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool pj_fail(struct pdec *d, enum sch_status st, const char *msg_name, const char *what)
{
    if (d->st == SCH_OK) {
        d->st = st;
        sch_fail(d->err, st, "Protobuf data (%.80s): %s", msg_name, what);
    }
    return false;
}

bool pj_out_ok(struct pdec *d)
{
    if (!sch_out_ok(d->out)) {
        if (d->st == SCH_OK) {
            d->st = sch_out_status(d->out, d->err);
        }
        return false;
    }
    return true;
}

static bool is_varint_type(uint8_t t)
{
    return t == PB_INT32 || t == PB_INT64 || t == PB_UINT32 || t == PB_UINT64 || t == PB_SINT32 ||
           t == PB_SINT64 || t == PB_BOOL || t == PB_ENUM;
}

static bool is_i32_type(uint8_t t)
{
    return t == PB_FIXED32 || t == PB_SFIXED32 || t == PB_FLOAT;
}

static bool is_i64_type(uint8_t t)
{
    return t == PB_FIXED64 || t == PB_SFIXED64 || t == PB_DOUBLE;
}

// wire_of returns the wire type a field's type is written with.
static uint8_t wire_of(uint8_t t)
{
    if (is_varint_type(t)) {
        return WT_VARINT;
    }
    if (is_i32_type(t)) {
        return WT_I32;
    }
    if (is_i64_type(t)) {
        return WT_I64;
    }
    return t == PB_GROUP ? WT_SGROUP : WT_LEN;
}

static const struct pb_field *find_field(const struct sch_proto *p, const struct pb_msg *m,
                                         uint32_t number, uint32_t *out_idx)
{
    size_t lo = 0, hi = m->num_fields; // fields are sorted by number (proto_pool.c)
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct pb_field *f = &p->fields[m->first_field + mid];
        if (f->number == number) {
            *out_idx = (uint32_t)mid;
            return f;
        }
        if (f->number < number) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

// read_group finds the extent of a group started by field |num|: its contents go to |out| and
// |r| moves past the END_GROUP tag.
static bool read_group(kr *r, uint32_t num, struct chunk *out, int depth)
{
    const uint8_t *start = r->p;
    size_t left0 = kr_left(r);
    for (;;) {
        size_t before = left0 - kr_left(r);
        uint64_t tag;
        if (!kr_uvarint64(r, &tag)) {
            return false;
        }
        uint32_t fnum = (uint32_t)(tag >> 3);
        uint8_t wt = (uint8_t)(tag & 7);
        if (tag >> 32 || fnum == 0) {
            return kr_set_fault(r, KR_MALFORMED);
        }
        if (wt == WT_EGROUP) {
            if (fnum != num) {
                return kr_set_fault(r, KR_MALFORMED);
            }
            out->p = start;
            out->len = before;
            return true;
        }
        uint64_t v;
        kr sub;
        struct chunk inner;
        switch (wt) {
        case WT_VARINT:
            if (!kr_uvarint64(r, &v)) {
                return false;
            }
            break;
        case WT_I64:
            if (!kr_skip(r, 8)) {
                return false;
            }
            break;
        case WT_I32:
            if (!kr_skip(r, 4)) {
                return false;
            }
            break;
        case WT_LEN:
            if (!kr_uvarint64(r, &v) || v > kr_left(r) || !kr_sub(r, &sub, (size_t)v)) {
                return kr_set_fault(r, v > kr_left(r) ? KR_TRUNCATED : KR_MALFORMED);
            }
            break;
        case WT_SGROUP:
            if (depth >= SCH_MAX_DEPTH || !read_group(r, fnum, &inner, depth + 1)) {
                return depth >= SCH_MAX_DEPTH ? kr_set_fault(r, KR_LIMIT) : false;
            }
            break;
        default:
            return kr_set_fault(r, KR_MALFORMED);
        }
    }
}

// read_value reads one value of wire type |wt| (after its tag) into |o|.
static bool read_value(kr *r, uint8_t wt, uint32_t num, struct occ *o, int depth)
{
    uint32_t u32;
    kr sub;
    switch (wt) {
    case WT_VARINT:
        return kr_uvarint64(r, &o->v);
    case WT_I64:
        return kr_u64le(r, &o->v);
    case WT_I32:
        if (!kr_u32le(r, &u32)) {
            return false;
        }
        o->v = u32;
        return true;
    case WT_LEN:
        if (!kr_uvarint64(r, &o->v)) {
            return false;
        }
        if (o->v > kr_left(r)) {
            return kr_set_fault(r, KR_TRUNCATED);
        }
        if (!kr_sub(r, &sub, (size_t)o->v)) {
            return false;
        }
        o->buf.p = sub.p;
        o->buf.len = sub.len;
        return true;
    case WT_SGROUP:
        if (depth >= SCH_MAX_DEPTH) {
            return kr_set_fault(r, KR_LIMIT);
        }
        return read_group(r, num, &o->buf, depth + 1);
    default:
        return kr_set_fault(r, KR_MALFORMED);
    }
}

static bool fault_fail(struct pdec *d, const kr *r, const struct pb_msg *m)
{
    char what[96];
    snprintf(what, sizeof what, "%s at byte %zu",
             r->fault == KR_TRUNCATED ? "truncated"
             : r->fault == KR_LIMIT   ? "groups nested too deep"
                                      : "malformed field",
             kr_offset(r));
    return pj_fail(d,
                   r->fault == KR_TRUNCATED ? SCH_ERR_TRUNCATED
                   : r->fault == KR_LIMIT   ? SCH_ERR_LIMIT
                                            : SCH_ERR_MALFORMED,
                   m->full_name, what);
}

// pj_collect reads every field of |chunks| into *out (allocated; *out_n entries).
bool pj_collect(struct pdec *d, const struct pb_msg *m, const struct chunk *chunks, size_t nc,
                int depth, struct occ **out, size_t *out_n)
{
    size_t n = 0, cap = 0;
    struct occ *occs = NULL;
    for (size_t c = 0; c < nc; c++) {
        kr r;
        kr_init(&r, chunks[c].p, chunks[c].len);
        while (kr_left(&r) > 0) {
            uint64_t tag;
            struct occ o = {0};
            if (!kr_uvarint64(&r, &tag)) {
                free(occs);
                return fault_fail(d, &r, m);
            }
            uint32_t num = (uint32_t)(tag >> 3);
            uint8_t wt = (uint8_t)(tag & 7);
            if (tag >> 32 || num == 0 || wt == WT_EGROUP || wt > WT_I32) {
                free(occs);
                return pj_fail(d, SCH_ERR_MALFORMED, m->full_name, "invalid field tag");
            }
            if (!read_value(&r, wt, num, &o, depth)) {
                free(occs);
                return fault_fail(d, &r, m);
            }
            uint32_t fi;
            const struct pb_field *f = find_field(d->p, m, num, &fi);
            if (!f) {
                continue; // unknown field
            }
            uint8_t want = wire_of(f->type);
            bool packed = f->label == PB_REPEATED && wt == WT_LEN && want != WT_LEN;
            if (wt != want && !packed) {
                continue; // wrong wire type: an unknown field to Protobuf too
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                struct occ *no = realloc(occs, cap * sizeof *occs);
                if (!no) {
                    free(occs);
                    return pj_fail(d, SCH_ERR_NOMEM, m->full_name, "out of memory");
                }
                occs = no;
            }
            o.field = fi;
            o.wt = wt;
            occs[n++] = o;
        }
    }
    *out = occs;
    *out_n = n;
    return true;
}

static const char *enum_name(const struct sch_proto *p, uint32_t e, int32_t v)
{
    const struct pb_enum *en = &p->enums[e];
    for (uint32_t i = 0; i < en->num_values; i++) {
        if (p->values[en->first_value + i].number == v) {
            return p->values[en->first_value + i].name;
        }
    }
    return NULL;
}

static bool is_null_enum(const struct sch_proto *p, const struct pb_field *f)
{
    return f->type == PB_ENUM && !strcmp(p->enums[f->ref].full_name, "google.protobuf.NullValue");
}

// scalar_default reports whether a scalar occurrence holds its type's default value.
static bool scalar_default(const struct pb_field *f, const struct occ *o)
{
    if (o->wt == WT_LEN) {
        return o->buf.len == 0;
    }
    if (f->type == PB_FLOAT) {
        float x;
        uint32_t u = (uint32_t)o->v;
        memcpy(&x, &u, sizeof x);
        return x == 0;
    }
    if (f->type == PB_DOUBLE) {
        double x;
        memcpy(&x, &o->v, sizeof x);
        return x == 0;
    }
    if (f->type == PB_INT32 || f->type == PB_UINT32 || f->type == PB_SINT32 || f->type == PB_ENUM ||
        f->type == PB_BOOL) {
        return (uint32_t)o->v == 0 && (f->type != PB_BOOL || o->v == 0);
    }
    return o->v == 0;
}

// enum_known reports whether a closed enum knows the value (open enums know every value).
static bool enum_known(const struct sch_proto *p, const struct pb_field *f, uint64_t v)
{
    return f->type != PB_ENUM || !p->enums[f->ref].closed || enum_name(p, f->ref, (int32_t)v);
}

// pj_emit_scalar writes one scalar value (|v| for numbers, |buf| for string and bytes).
bool pj_emit_scalar(struct pdec *d, const struct pb_msg *m, const struct pb_field *f, uint64_t v,
                    struct chunk buf)
{
    struct sch_out *o = d->out;
    switch (f->type) {
    case PB_INT32:
    case PB_SFIXED32:
        sch_out_i64(o, (int32_t)(uint32_t)v);
        return true;
    case PB_UINT32:
    case PB_FIXED32:
        sch_out_u64(o, (uint32_t)v);
        return true;
    case PB_SINT32: {
        uint32_t u = (uint32_t)v;
        sch_out_i64(o, (int32_t)((u >> 1) ^ (0u - (u & 1))));
        return true;
    }
    case PB_INT64:
    case PB_SFIXED64:
        sch_out_addc(o, '"');
        sch_out_i64(o, (int64_t)v);
        sch_out_addc(o, '"');
        return true;
    case PB_UINT64:
    case PB_FIXED64:
        sch_out_addc(o, '"');
        sch_out_u64(o, v);
        sch_out_addc(o, '"');
        return true;
    case PB_SINT64:
        sch_out_addc(o, '"');
        sch_out_i64(o, (int64_t)((v >> 1) ^ (0 - (v & 1))));
        sch_out_addc(o, '"');
        return true;
    case PB_BOOL:
        sch_out_adds(o, v ? "true" : "false");
        return true;
    case PB_FLOAT: {
        float x;
        uint32_t u = (uint32_t)v;
        memcpy(&x, &u, sizeof x);
        sch_out_float(o, x);
        return true;
    }
    case PB_DOUBLE: {
        double x;
        memcpy(&x, &v, sizeof x);
        sch_out_double(o, x);
        return true;
    }
    case PB_ENUM: {
        if (is_null_enum(d->p, f)) {
            sch_out_adds(o, "null");
            return true;
        }
        const char *name = enum_name(d->p, f->ref, (int32_t)(uint32_t)v);
        if (name) {
            sch_out_json_str(o, name, strlen(name));
        } else {
            sch_out_i64(o, (int32_t)(uint32_t)v);
        }
        return true;
    }
    case PB_STRING:
        if (!utf8_valid(buf.p, buf.len)) {
            char what[120];
            snprintf(what, sizeof what, "string field '%.60s' is not valid UTF-8", f->name);
            return pj_fail(d, SCH_ERR_MALFORMED, m->full_name, what);
        }
        sch_out_json_str(o, (const char *)buf.p, buf.len);
        return true;
    case PB_BYTES:
        sch_out_base64_str(o, buf.p, buf.len);
        return true;
    default:
        return pj_fail(d, SCH_ERR_SCHEMA, m->full_name, "internal: not a scalar");
    }
}

// emit_packed writes every value of a packed occurrence (comma-separated, after |*first|).
static bool emit_packed(struct pdec *d, const struct pb_msg *m, const struct pb_field *f,
                        const struct occ *oc, bool *first)
{
    kr r;
    kr_init(&r, oc->buf.p, oc->buf.len);
    uint8_t wt = wire_of(f->type);
    while (kr_left(&r) > 0) {
        struct occ v = {0};
        if (!read_value(&r, wt, 0, &v, 0)) {
            return fault_fail(d, &r, m);
        }
        if (!enum_known(d->p, f, v.v)) {
            continue;
        }
        if (!*first) {
            sch_out_addc(d->out, ',');
        }
        *first = false;
        if (!pj_emit_scalar(d, m, f, v.v, v.buf) || !pj_out_ok(d)) {
            return false;
        }
    }
    return true;
}

// pj_emit_value writes one non-packed value of |f| from occurrences |occs| (|n| of them: a message
// merges all, a scalar takes the last).
bool pj_emit_value(struct pdec *d, const struct pb_msg *m, const struct pb_field *f,
                   const struct occ *occs, size_t n, int depth)
{
    if (f->type == PB_MESSAGE || f->type == PB_GROUP) {
        struct chunk *ch = malloc(n * sizeof *ch);
        if (!ch) {
            return pj_fail(d, SCH_ERR_NOMEM, m->full_name, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            ch[i] = occs[i].buf;
        }
        bool ok = pj_emit_message(d, f->ref, ch, n, depth + 1);
        free(ch);
        return ok;
    }
    return pj_emit_scalar(d, m, f, occs[n - 1].v, occs[n - 1].buf);
}

static void emit_key(struct pdec *d, const struct pb_field *f, bool *first)
{
    if (!*first) {
        sch_out_addc(d->out, ',');
    }
    *first = false;
    sch_out_json_str(d->out, f->json_name, strlen(f->json_name));
    sch_out_addc(d->out, ':');
}

// emit_field writes field |f| from its occurrences |occs| (|n| > 0, input order).
static bool emit_field(struct pdec *d, const struct pb_msg *m, const struct pb_field *f,
                       const struct occ *occs, size_t n, bool *first, int depth)
{
    if (f->label == PB_REPEATED && f->type == PB_MESSAGE && d->p->msgs[f->ref].map_entry) {
        emit_key(d, f, first);
        return pj_emit_map(d, f, occs, n, depth);
    }
    if (f->label == PB_REPEATED) {
        size_t shown = 0;
        for (size_t i = 0; i < n; i++) {
            shown += occs[i].wt == WT_LEN && wire_of(f->type) != WT_LEN
                         ? 1
                         : enum_known(d->p, f, occs[i].v);
        }
        if (shown == 0) {
            return true;
        }
        emit_key(d, f, first);
        sch_out_addc(d->out, '[');
        bool efirst = true;
        for (size_t i = 0; i < n && d->st == SCH_OK; i++) {
            if (occs[i].wt == WT_LEN && wire_of(f->type) != WT_LEN) {
                emit_packed(d, m, f, &occs[i], &efirst);
                continue;
            }
            if (!enum_known(d->p, f, occs[i].v)) {
                continue;
            }
            if (!efirst) {
                sch_out_addc(d->out, ',');
            }
            efirst = false;
            if (!pj_emit_value(d, m, f, &occs[i], 1, depth) || !pj_out_ok(d)) {
                return false;
            }
        }
        sch_out_addc(d->out, ']');
        return d->st == SCH_OK;
    }
    if (f->type != PB_MESSAGE && f->type != PB_GROUP) {
        const struct occ *last = &occs[n - 1];
        if (!enum_known(d->p, f, last->v) ||
            (!f->presence && !is_null_enum(d->p, f) && scalar_default(f, last))) {
            return true;
        }
    }
    emit_key(d, f, first);
    return pj_emit_value(d, m, f, occs, n, depth);
}

// group_by_field orders |occs| by field index, keeping input order within a field (counting
// sort); |starts| gets num_fields + 1 offsets and |last| each field's last input position.
static bool group_by_field(struct occ *occs, size_t n, uint32_t nf, struct occ **out,
                           size_t **starts, size_t **last)
{
    *out = malloc((n ? n : 1) * sizeof **out);
    *starts = calloc(nf + 1, sizeof **starts);
    *last = calloc(nf ? nf : 1, sizeof **last);
    if (!*out || !*starts || !*last) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        (*starts)[occs[i].field + 1]++;
        (*last)[occs[i].field] = i + 1;
    }
    for (uint32_t k = 0; k < nf; k++) {
        (*starts)[k + 1] += (*starts)[k];
    }
    size_t *fill = calloc(nf ? nf : 1, sizeof *fill);
    if (!fill) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t k = occs[i].field;
        (*out)[(*starts)[k] + fill[k]++] = occs[i];
    }
    free(fill);
    return true;
}

// oneof_loses reports whether another member of |f|'s oneof occurred after |f| did.
static bool oneof_loses(const struct sch_proto *p, const struct pb_msg *m, uint32_t fi,
                        const size_t *last)
{
    const struct pb_field *f = &p->fields[m->first_field + fi];
    if (f->oneof < 0) {
        return false;
    }
    for (uint32_t k = 0; k < m->num_fields; k++) {
        if (k != fi && p->fields[m->first_field + k].oneof == f->oneof && last[k] > last[fi]) {
            return true;
        }
    }
    return false;
}

static bool emit_fields(struct pdec *d, const struct pb_msg *m, const struct chunk *chunks,
                        size_t nc, int depth)
{
    struct occ *occs = NULL, *sorted = NULL;
    size_t n = 0, *starts = NULL, *last = NULL;
    if (!pj_collect(d, m, chunks, nc, depth, &occs, &n)) {
        return false;
    }
    bool ok = group_by_field(occs, n, m->num_fields, &sorted, &starts, &last);
    if (!ok) {
        pj_fail(d, SCH_ERR_NOMEM, m->full_name, "out of memory");
    }
    sch_out_addc(d->out, '{');
    bool first = true;
    for (uint32_t k = 0; ok && k < m->num_fields; k++) {
        size_t cnt = starts[k + 1] - starts[k];
        if (cnt == 0 || oneof_loses(d->p, m, k, last)) {
            continue;
        }
        const struct pb_field *f = &d->p->fields[m->first_field + k];
        ok = emit_field(d, m, f, sorted + starts[k], cnt, &first, depth) && pj_out_ok(d);
    }
    sch_out_addc(d->out, '}');
    free(occs);
    free(sorted);
    free(starts);
    free(last);
    return ok && d->st == SCH_OK;
}

// ---- maps -------------------------------------------------------------------------------------

bool pj_emit_map(struct pdec *d, const struct pb_field *f, const struct occ *occs, size_t n,
                 int depth)
{
    const struct pb_msg *em = &d->p->msgs[f->ref];
    const struct pb_field *kf = &d->p->fields[em->first_field];
    const struct pb_field *vf = &d->p->fields[em->first_field + 1];
    sch_out_addc(d->out, '{');
    for (size_t i = 0; i < n; i++) {
        struct occ *eo = NULL;
        size_t en = 0;
        if (!pj_collect(d, em, &occs[i].buf, 1, depth + 1, &eo, &en)) {
            return false;
        }
        const struct occ *k = NULL, *v = NULL;
        size_t nv = 0;
        for (size_t j = 0; j < en; j++) {
            if (eo[j].field == 0) {
                k = &eo[j];
            } else {
                v = &eo[j];
                nv++;
            }
        }
        if (i) {
            sch_out_addc(d->out, ',');
        }
        bool ok = true;
        if (kf->type == PB_STRING) {
            struct chunk empty = {(const uint8_t *)"", 0};
            ok = pj_emit_scalar(d, em, kf, 0, k ? k->buf : empty);
        } else {
            sch_out_addc(d->out, '"');
            ok = pj_emit_scalar(d, em, kf, k ? k->v : 0, (struct chunk){NULL, 0});
            sch_out_addc(d->out, '"');
        }
        sch_out_addc(d->out, ':');
        if (ok && v && (vf->type == PB_MESSAGE || vf->type == PB_GROUP)) {
            // every value occurrence merges; pj_collect them in order
            struct occ *vs = malloc(nv * sizeof *vs);
            size_t c = 0;
            for (size_t j = 0; vs && j < en; j++) {
                if (eo[j].field == 1) {
                    vs[c++] = eo[j];
                }
            }
            ok = vs ? pj_emit_value(d, em, vf, vs, nv, depth + 1)
                    : pj_fail(d, SCH_ERR_NOMEM, em->full_name, "out of memory");
            free(vs);
        } else if (ok && v) {
            ok = pj_emit_value(d, em, vf, v, 1, depth + 1);
        } else if (ok) { // no value: the default
            if (vf->type == PB_MESSAGE) {
                ok = pj_emit_message(d, vf->ref, NULL, 0, depth + 1);
            } else {
                struct chunk empty = {(const uint8_t *)"", 0};
                ok = pj_emit_scalar(d, em, vf, 0, empty);
            }
        }
        free(eo);
        if (!ok || !pj_out_ok(d)) {
            return false;
        }
    }
    sch_out_addc(d->out, '}');
    return true;
}

// ---- messages ---------------------------------------------------------------------------------

bool pj_emit_message(struct pdec *d, uint32_t msg, const struct chunk *chunks, size_t nc, int depth)
{
    const struct pb_msg *m = &d->p->msgs[msg];
    if (depth > SCH_MAX_DEPTH) {
        return pj_fail(d, SCH_ERR_LIMIT, m->full_name, "messages nested deeper than 64");
    }
    if (!pj_out_ok(d)) {
        return false;
    }
    if (m->wkt != PB_WKT_NONE && m->wkt != PB_WKT_EMPTY) {
        return pj_emit_wkt(d, m, chunks, nc, depth);
    }
    return emit_fields(d, m, chunks, nc, depth);
}

enum sch_status sch_proto_to_json(const struct sch_proto *p, uint32_t msg, const uint8_t *data,
                                  size_t len, struct sch_out *out, struct sch_err *err)
{
    struct pdec d = {p, out, err, SCH_OK};
    struct chunk c = {data ? data : (const uint8_t *)"", len};
    if (msg >= p->num_msgs) {
        return sch_fail(err, SCH_ERR_SCHEMA, "Protobuf: no message %u", msg);
    }
    if (!pj_emit_message(&d, msg, &c, 1, 0)) {
        return d.st != SCH_OK ? d.st : SCH_ERR_MALFORMED;
    }
    return pj_out_ok(&d) ? SCH_OK : d.st;
}
