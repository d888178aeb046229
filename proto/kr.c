// kr.c: the reader cursor. take() is the only function that moves r->p.
#include "proto/kr.h"

#include <string.h>

void kr_init(kr *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = p ? len : 0;
    r->base = p;
    r->fault = KR_OK;
}

size_t kr_left(const kr *r)
{
    return r->len;
}

size_t kr_offset(const kr *r)
{
    if (!r->p || !r->base) {
        return 0;
    }
    return (size_t)(r->p - r->base);
}

bool kr_done(const kr *r)
{
    return r->fault == KR_OK && r->len == 0;
}

bool kr_set_fault(kr *r, enum kr_fault fault)
{
    if (r->fault == KR_OK) {
        r->fault = fault;
    }
    return false;
}

bool kr_expect_done(kr *r)
{
    if (r->fault != KR_OK) {
        return false;
    }
    if (r->len != 0) {
        return kr_set_fault(r, KR_MALFORMED);
    }
    return true;
}

// take is the single choke point: it hands out |n| bytes or records KR_TRUNCATED.
static bool take(kr *r, size_t n, const uint8_t **out)
{
    if (r->fault != KR_OK) {
        return false;
    }
    if (n > r->len) {
        return kr_set_fault(r, KR_TRUNCATED);
    }
    *out = r->p;
    r->p += n;
    r->len -= n;
    return true;
}

static bool read_be(kr *r, size_t n, uint64_t *out)
{
    const uint8_t *p;
    if (!take(r, n, &p)) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    *out = v;
    return true;
}

bool kr_u8(kr *r, uint8_t *out)
{
    uint64_t v;
    if (!read_be(r, 1, &v)) {
        return false;
    }
    *out = (uint8_t)v;
    return true;
}

bool kr_i8(kr *r, int8_t *out)
{
    uint8_t v;
    if (!kr_u8(r, &v)) {
        return false;
    }
    *out = (int8_t)v;
    return true;
}

bool kr_u16(kr *r, uint16_t *out)
{
    uint64_t v;
    if (!read_be(r, 2, &v)) {
        return false;
    }
    *out = (uint16_t)v;
    return true;
}

bool kr_i16(kr *r, int16_t *out)
{
    uint16_t v;
    if (!kr_u16(r, &v)) {
        return false;
    }
    *out = (int16_t)v;
    return true;
}

bool kr_u32(kr *r, uint32_t *out)
{
    uint64_t v;
    if (!read_be(r, 4, &v)) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

bool kr_i32(kr *r, int32_t *out)
{
    uint32_t v;
    if (!kr_u32(r, &v)) {
        return false;
    }
    *out = (int32_t)v;
    return true;
}

bool kr_i64(kr *r, int64_t *out)
{
    uint64_t v;
    if (!read_be(r, 8, &v)) {
        return false;
    }
    *out = (int64_t)v;
    return true;
}

static bool read_le(kr *r, size_t n, uint64_t *out)
{
    const uint8_t *p;
    if (!take(r, n, &p)) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--) {
        v = (v << 8) | p[i - 1];
    }
    *out = v;
    return true;
}

bool kr_u32le(kr *r, uint32_t *out)
{
    uint64_t v;
    if (!read_le(r, 4, &v)) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

bool kr_u64le(kr *r, uint64_t *out)
{
    return read_le(r, 8, out);
}

bool kr_f64(kr *r, double *out)
{
    uint64_t v;
    if (!read_be(r, 8, &v)) {
        return false;
    }
    memcpy(out, &v, sizeof *out);
    return true;
}

bool kr_bool(kr *r, bool *out)
{
    uint8_t v;
    if (!kr_u8(r, &v)) {
        return false;
    }
    *out = v != 0;
    return true;
}

bool kr_uuid(kr *r, uint8_t out[16])
{
    const uint8_t *p;
    if (!take(r, 16, &p)) {
        return false;
    }
    memcpy(out, p, 16);
    return true;
}

// read_uvarint decodes at most |max_bytes| LEB128 groups into a value of |bits| bits.
static bool read_uvarint(kr *r, unsigned max_bytes, unsigned bits, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < max_bytes; i++) {
        const uint8_t *p;
        if (!take(r, 1, &p)) {
            return false;
        }
        unsigned shift = 7 * i;
        uint64_t group = (uint64_t)(*p & 0x7f);
        // The last group may only carry the bits the type has left.
        if (shift + 7 > bits && (group >> (bits - shift)) != 0) {
            return kr_set_fault(r, KR_MALFORMED);
        }
        v |= group << shift;
        if ((*p & 0x80) == 0) {
            *out = v;
            return true;
        }
    }
    return kr_set_fault(r, KR_MALFORMED);
}

bool kr_uvarint32(kr *r, uint32_t *out)
{
    uint64_t v;
    if (!read_uvarint(r, 5, 32, &v)) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

bool kr_uvarint64(kr *r, uint64_t *out)
{
    return read_uvarint(r, 10, 64, out);
}

bool kr_varint(kr *r, int32_t *out)
{
    uint32_t u;
    if (!kr_uvarint32(r, &u)) {
        return false;
    }
    *out = (int32_t)(u >> 1) ^ -(int32_t)(u & 1);
    return true;
}

bool kr_varlong(kr *r, int64_t *out)
{
    uint64_t u;
    if (!kr_uvarint64(r, &u)) {
        return false;
    }
    *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return true;
}

bool kr_skip(kr *r, size_t n)
{
    const uint8_t *p;
    return take(r, n, &p);
}

bool kr_sub(kr *r, kr *out, size_t n)
{
    const uint8_t *p;
    if (!take(r, n, &p)) {
        return false;
    }
    out->p = p;
    out->len = n;
    out->base = r->base;
    out->fault = KR_OK;
    return true;
}

bool kr_rest(kr *r, kr *out)
{
    return kr_sub(r, out, r->len);
}

// sized_view finishes a length-prefixed read: |len| < 0 is null when |null_len| says so.
static bool sized_view(kr *r, int64_t len, kr *out, bool *out_null)
{
    if (len < 0) {
        if (len != -1 || !out_null) {
            return kr_set_fault(r, KR_MALFORMED);
        }
        *out_null = true;
        kr_init(out, NULL, 0);
        out->base = r->base;
        return true;
    }
    if (out_null) {
        *out_null = false;
    }
    if ((uint64_t)len > r->len) {
        return kr_set_fault(r, KR_TRUNCATED);
    }
    return kr_sub(r, out, (size_t)len);
}

bool kr_str(kr *r, kr *out, bool *out_null)
{
    int16_t n;
    return kr_i16(r, &n) && sized_view(r, n, out, out_null);
}

bool kr_bytes(kr *r, kr *out, bool *out_null)
{
    int32_t n;
    return kr_i32(r, &n) && sized_view(r, n, out, out_null);
}

bool kr_vbytes(kr *r, kr *out, bool *out_null)
{
    int32_t n;
    return kr_varint(r, &n) && sized_view(r, n, out, out_null);
}

// compact lengths are N+1, with 0 meaning null.
static bool compact_len(kr *r, int64_t *out)
{
    uint32_t u;
    if (!kr_uvarint32(r, &u)) {
        return false;
    }
    *out = (int64_t)u - 1;
    return true;
}

bool kr_compact_str(kr *r, kr *out, bool *out_null)
{
    int64_t n;
    return compact_len(r, &n) && sized_view(r, n, out, out_null);
}

bool kr_compact_bytes(kr *r, kr *out, bool *out_null)
{
    int64_t n;
    return compact_len(r, &n) && sized_view(r, n, out, out_null);
}

// checked_count validates an array count read off the wire.
static bool checked_count(kr *r, int64_t n, size_t min_elem_len, uint32_t max, uint32_t *out_n,
                          bool *out_null)
{
    if (n < 0) {
        if (n != -1 || !out_null) {
            return kr_set_fault(r, KR_MALFORMED);
        }
        *out_null = true;
        *out_n = 0;
        return true;
    }
    if (out_null) {
        *out_null = false;
    }
    if ((uint64_t)n > max) {
        return kr_set_fault(r, KR_LIMIT);
    }
    // n <= UINT32_MAX, so the product cannot overflow a 64-bit size.
    if ((uint64_t)n * (uint64_t)min_elem_len > r->len) {
        return kr_set_fault(r, KR_TRUNCATED);
    }
    *out_n = (uint32_t)n;
    return true;
}

bool kr_array_count(kr *r, size_t min_elem_len, uint32_t max, uint32_t *out_n, bool *out_null)
{
    int32_t n;
    return kr_i32(r, &n) && checked_count(r, n, min_elem_len, max, out_n, out_null);
}

bool kr_compact_array_count(kr *r, size_t min_elem_len, uint32_t max, uint32_t *out_n,
                            bool *out_null)
{
    int64_t n;
    return compact_len(r, &n) && checked_count(r, n, min_elem_len, max, out_n, out_null);
}

bool kr_tag_section_begin(kr *r, struct kr_tags *out)
{
    uint32_t n;
    // Each tagged field takes at least two bytes (tag and size).
    if (!kr_uvarint32(r, &n) || !checked_count(r, n, 2, UINT32_MAX, &n, NULL)) {
        return false;
    }
    out->left = n;
    out->last_tag = -1;
    return true;
}

bool kr_tag_next(kr *r, struct kr_tags *t, uint32_t *out_tag, kr *out_payload)
{
    uint32_t tag, size;
    if (t->left == 0) {
        return kr_set_fault(r, KR_MALFORMED);
    }
    if (!kr_uvarint32(r, &tag) || !kr_uvarint32(r, &size)) {
        return false;
    }
    if ((int64_t)tag <= t->last_tag) {
        return kr_set_fault(r, KR_MALFORMED);
    }
    if (!kr_sub(r, out_payload, size)) {
        return false;
    }
    t->left--;
    t->last_tag = tag;
    *out_tag = tag;
    return true;
}

bool kr_skip_tags(kr *r)
{
    struct kr_tags t;
    if (!kr_tag_section_begin(r, &t)) {
        return false;
    }
    while (t.left > 0) {
        uint32_t tag;
        kr payload;
        if (!kr_tag_next(r, &t, &tag, &payload)) {
            return false;
        }
    }
    return true;
}

bool kr_eq_cstr(const kr *s, const char *cstr)
{
    size_t n = strlen(cstr);
    return s->len == n && (n == 0 || memcmp(s->p, cstr, n) == 0);
}

bool kr_copy_cstr(const kr *s, char *buf, size_t cap)
{
    if (cap == 0) {
        return false;
    }
    size_t n = s->len < cap - 1 ? s->len : cap - 1;
    if (n > 0) {
        memcpy(buf, s->p, n);
    }
    buf[n] = '\0';
    return n == s->len && (n == 0 || memchr(s->p, 0, n) == NULL);
}
