// proto_wkt.c: the well-known types' own JSON forms in the proto3 JSON mapping (Timestamp,
// Duration, the wrappers, Struct/Value/ListValue, FieldMask, Any; see proto.h), for proto_json.c.
#include "base/utf8.h"
#include "schema/proto_int.h"
#include "schema/proto_json_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// wkt_last finds the last occurrence of field number |num| among |occs| (NULL if none).
static const struct occ *wkt_last(const struct sch_proto *p, const struct pb_msg *m,
                                  const struct occ *occs, size_t n, uint32_t num)
{
    const struct occ *o = NULL;
    for (size_t i = 0; i < n; i++) {
        if (p->fields[m->first_field + occs[i].field].number == num) {
            o = &occs[i];
        }
    }
    return o;
}

static void put_fraction(struct sch_out *o, int32_t nanos)
{
    if (nanos == 0) {
        return;
    }
    char buf[12];
    int digits = nanos % 1000000 == 0 ? 3 : nanos % 1000 == 0 ? 6 : 9;
    int32_t v = digits == 3 ? nanos / 1000000 : digits == 6 ? nanos / 1000 : nanos;
    snprintf(buf, sizeof buf, ".%0*d", digits, (int)v);
    sch_out_adds(o, buf);
}

// civil writes the proleptic Gregorian date of |days| since 1970-01-01 (Hinnant's algorithm).
static void civil(int64_t days, int64_t *y, unsigned *mo, unsigned *dd)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *dd = doy - (153 * mp + 2) / 5 + 1;
    *mo = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*mo <= 2);
}

static bool emit_timestamp(struct pdec *d, const struct pb_msg *m, const struct occ *sec,
                           const struct occ *nan)
{
    int64_t s = sec ? (int64_t)sec->v : 0;
    int32_t ns = nan ? (int32_t)(uint32_t)nan->v : 0;
    if (s < -62135596800 || s > 253402300799 || ns < 0 || ns > 999999999) {
        return pj_fail(d, SCH_ERR_MALFORMED, m->full_name,
                       "Timestamp outside 0001-01-01..9999-12-31 or nanos outside 0..999999999");
    }
    int64_t days = s >= 0 ? s / 86400 : (s - 86399) / 86400;
    int64_t rem = s - days * 86400;
    int64_t y;
    unsigned mo, dd;
    civil(days, &y, &mo, &dd);
    char buf[40];
    snprintf(buf, sizeof buf, "\"%04lld-%02u-%02uT%02d:%02d:%02d", (long long)y, mo, dd,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    sch_out_adds(d->out, buf);
    put_fraction(d->out, ns);
    sch_out_adds(d->out, "Z\"");
    return true;
}

static bool emit_duration(struct pdec *d, const struct pb_msg *m, const struct occ *sec,
                          const struct occ *nan)
{
    int64_t s = sec ? (int64_t)sec->v : 0;
    int32_t ns = nan ? (int32_t)(uint32_t)nan->v : 0;
    if (s < -315576000000 || s > 315576000000 || ns < -999999999 || ns > 999999999 ||
        (s > 0 && ns < 0) || (s < 0 && ns > 0)) {
        return pj_fail(d, SCH_ERR_MALFORMED, m->full_name,
                       "Duration out of range or with seconds and nanos of different signs");
    }
    sch_out_addc(d->out, '"');
    if (s < 0 || ns < 0) {
        sch_out_addc(d->out, '-');
    }
    sch_out_u64(d->out, (uint64_t)(s < 0 ? -s : s));
    put_fraction(d->out, ns < 0 ? -ns : ns);
    sch_out_adds(d->out, "s\"");
    return true;
}

static bool emit_field_mask(struct pdec *d, const struct pb_msg *m, const struct occ *occs,
                            size_t n)
{
    sch_out_addc(d->out, '"');
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const struct chunk *b = &occs[i].buf;
        if (!utf8_valid(b->p, b->len)) {
            return pj_fail(d, SCH_ERR_MALFORMED, m->full_name, "path is not valid UTF-8");
        }
        if (!first) {
            sch_out_addc(d->out, ',');
        }
        first = false;
        struct sch_out tmp;
        sch_out_init(&tmp, b->len + 1);
        bool up = false;
        for (size_t k = 0; k < b->len; k++) {
            char c = (char)b->p[k];
            if (c == '_') {
                up = true;
                continue;
            }
            sch_out_addc(&tmp, up && c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c);
            up = false;
        }
        // written through the string escaper, without its quotes
        size_t at = d->out->len;
        sch_out_json_str(d->out, tmp.p ? tmp.p : "", tmp.len);
        sch_out_cleanup(&tmp);
        if (pj_out_ok(d)) {
            memmove(d->out->p + at, d->out->p + at + 1, d->out->len - at - 2);
            d->out->len -= 2;
        }
    }
    sch_out_addc(d->out, '"');
    return true;
}

static bool emit_value_kind(struct pdec *d, const struct pb_msg *m, const struct occ *occs,
                            size_t n, int depth)
{
    // the kind is the oneof member that occurred last; messages merge their occurrences
    const struct occ *last = n ? &occs[n - 1] : NULL;
    if (!last) {
        sch_out_adds(d->out, "null");
        return true;
    }
    const struct pb_field *f = &d->p->fields[m->first_field + last->field];
    if (f->type != PB_MESSAGE) {
        return pj_emit_scalar(d, m, f, last->v, last->buf);
    }
    size_t cnt = 0;
    for (size_t i = 0; i < n; i++) {
        cnt += occs[i].field == last->field;
    }
    struct occ *same = malloc(cnt * sizeof *same);
    if (!same) {
        return pj_fail(d, SCH_ERR_NOMEM, m->full_name, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (occs[i].field == last->field) {
            same[k++] = occs[i];
        }
    }
    bool ok = pj_emit_value(d, m, f, same, cnt, depth);
    free(same);
    return ok;
}

static bool emit_any(struct pdec *d, const struct pb_msg *m, const struct occ *url,
                     const struct occ *val, int depth)
{
    if (!url || url->buf.len == 0) {
        if (val && val->buf.len) {
            return pj_fail(d, SCH_ERR_MALFORMED, m->full_name, "Any with a value but no type_url");
        }
        sch_out_adds(d->out, "{}");
        return true;
    }
    const struct chunk *u = &url->buf;
    char name[512];
    size_t slash = u->len;
    while (slash > 0 && u->p[slash - 1] != '/') {
        slash--;
    }
    size_t nl = u->len - slash;
    if (nl == 0 || nl >= sizeof name || !utf8_valid(u->p, u->len)) {
        return pj_fail(d, SCH_ERR_MALFORMED, m->full_name, "Any type_url has no type name");
    }
    memcpy(name, u->p + slash, nl);
    name[nl] = 0;
    uint32_t inner = pb_find_msg(d->p, name);
    if (inner == UINT32_MAX) {
        return pj_fail(d, SCH_ERR_SCHEMA, m->full_name,
                       "Any holds a type that is not in the schema or its references");
    }
    struct chunk vc = val ? val->buf : (struct chunk){(const uint8_t *)"", 0};
    sch_out_adds(d->out, "{\"@type\":");
    sch_out_json_str(d->out, (const char *)u->p, u->len);
    if (d->p->msgs[inner].wkt != PB_WKT_NONE && d->p->msgs[inner].wkt != PB_WKT_EMPTY) {
        sch_out_adds(d->out, ",\"value\":");
        if (!pj_emit_message(d, inner, &vc, 1, depth + 1)) {
            return false;
        }
        sch_out_addc(d->out, '}');
        return true;
    }
    size_t at = d->out->len;
    if (!pj_emit_message(d, inner, &vc, 1, depth + 1) || !pj_out_ok(d)) {
        return false;
    }
    if (d->out->len - at == 2) { // "{}": nothing to add
        d->out->len = at;
        sch_out_addc(d->out, '}');
    } else {
        d->out->p[at] = ',';
    }
    return true;
}

bool pj_emit_wkt(struct pdec *d, const struct pb_msg *m, const struct chunk *chunks, size_t nc,
                 int depth)
{
    struct occ *occs = NULL;
    size_t n = 0;
    if (!pj_collect(d, m, chunks, nc, depth, &occs, &n)) {
        return false;
    }
    const struct pb_field *f1 = m->num_fields ? &d->p->fields[m->first_field] : NULL;
    bool ok = true;
    size_t i;
    switch ((enum pb_wkt)m->wkt) {
    case PB_WKT_TIMESTAMP:
        ok = emit_timestamp(d, m, wkt_last(d->p, m, occs, n, 1), wkt_last(d->p, m, occs, n, 2));
        break;
    case PB_WKT_DURATION:
        ok = emit_duration(d, m, wkt_last(d->p, m, occs, n, 1), wkt_last(d->p, m, occs, n, 2));
        break;
    case PB_WKT_WRAPPER:
        if (n && f1) {
            ok = pj_emit_scalar(d, m, f1, occs[n - 1].v, occs[n - 1].buf);
        } else if (f1) {
            ok = pj_emit_scalar(d, m, f1, 0, (struct chunk){(const uint8_t *)"", 0});
        }
        break;
    case PB_WKT_STRUCT:
        if (n && f1) {
            ok = pj_emit_map(d, f1, occs, n, depth);
        } else {
            sch_out_adds(d->out, "{}");
        }
        break;
    case PB_WKT_VALUE:
        ok = emit_value_kind(d, m, occs, n, depth);
        break;
    case PB_WKT_LIST:
        sch_out_addc(d->out, '[');
        for (i = 0; i < n && ok; i++) {
            if (i) {
                sch_out_addc(d->out, ',');
            }
            ok = pj_emit_message(d, f1->ref, &occs[i].buf, 1, depth + 1) && pj_out_ok(d);
        }
        sch_out_addc(d->out, ']');
        break;
    case PB_WKT_FIELD_MASK:
        ok = emit_field_mask(d, m, occs, n);
        break;
    case PB_WKT_ANY:
        ok = emit_any(d, m, wkt_last(d->p, m, occs, n, 1), wkt_last(d->p, m, occs, n, 2), depth);
        break;
    case PB_WKT_NONE:
    case PB_WKT_EMPTY:
        ok = pj_fail(d, SCH_ERR_SCHEMA, m->full_name, "internal: not a well-known type");
        break;
    }
    free(occs);
    return ok && d->st == SCH_OK;
}
