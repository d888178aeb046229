// kw.c: the writer cursor. reserve() is the only function that grows or checks capacity.
#include "proto/kw.h"

#include <stdlib.h>
#include <string.h>

void kw_init_fixed(kw *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->len = 0;
    w->cap = buf ? cap : 0;
    w->owned = false;
    w->failed = false;
}

void kw_init_grow(kw *w)
{
    w->buf = NULL;
    w->len = 0;
    w->cap = 0;
    w->owned = true;
    w->failed = false;
}

void kw_cleanup(kw *w)
{
    if (w->owned) {
        free(w->buf);
    }
    w->buf = NULL;
    w->len = 0;
    w->cap = 0;
    w->failed = false;
}

bool kw_ok(const kw *w)
{
    return !w->failed;
}

bool kw_fail(kw *w)
{
    w->failed = true;
    return false;
}

const uint8_t *kw_data(const kw *w)
{
    return w->buf;
}

size_t kw_len(const kw *w)
{
    return w->len;
}

bool kw_finish(const kw *w, size_t *out_len)
{
    if (w->failed) {
        return false;
    }
    *out_len = w->len;
    return true;
}

uint8_t *kw_take_buf(kw *w, size_t *out_len)
{
    if (w->failed || !w->owned) {
        return NULL;
    }
    uint8_t *b = w->buf;
    *out_len = w->len;
    if (!b) {
        b = malloc(1);
    }
    w->buf = NULL;
    w->len = 0;
    w->cap = 0;
    return b;
}

// reserve returns a pointer to |n| writable bytes at the end, growing an owned buffer.
static uint8_t *reserve(kw *w, size_t n)
{
    if (w->failed) {
        return NULL;
    }
    if (n > w->cap - w->len) {
        if (!w->owned || n > SIZE_MAX / 2 - w->len) {
            kw_fail(w);
            return NULL;
        }
        size_t cap = w->cap ? w->cap : 256;
        while (cap - w->len < n) {
            cap *= 2;
        }
        uint8_t *nb = realloc(w->buf, cap);
        if (!nb) {
            kw_fail(w);
            return NULL;
        }
        w->buf = nb;
        w->cap = cap;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

bool kw_raw(kw *w, const void *p, size_t n)
{
    uint8_t *d = reserve(w, n);
    if (!d) {
        return false;
    }
    if (n > 0) {
        memcpy(d, p, n);
    }
    return true;
}

bool kw_zeros(kw *w, size_t n)
{
    uint8_t *d = reserve(w, n);
    if (!d) {
        return false;
    }
    memset(d, 0, n);
    return true;
}

static bool write_be(kw *w, uint64_t v, size_t n)
{
    uint8_t *d = reserve(w, n);
    if (!d) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        d[n - 1 - i] = (uint8_t)(v >> (8 * i));
    }
    return true;
}

bool kw_i8(kw *w, int8_t v)
{
    return write_be(w, (uint8_t)v, 1);
}

bool kw_u8(kw *w, uint8_t v)
{
    return write_be(w, v, 1);
}

bool kw_i16(kw *w, int16_t v)
{
    return write_be(w, (uint16_t)v, 2);
}

bool kw_u16(kw *w, uint16_t v)
{
    return write_be(w, v, 2);
}

bool kw_i32(kw *w, int32_t v)
{
    return write_be(w, (uint32_t)v, 4);
}

bool kw_u32(kw *w, uint32_t v)
{
    return write_be(w, v, 4);
}

bool kw_i64(kw *w, int64_t v)
{
    return write_be(w, (uint64_t)v, 8);
}

bool kw_f64(kw *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return write_be(w, u, 8);
}

bool kw_bool(kw *w, bool v)
{
    return kw_u8(w, v ? 1 : 0);
}

bool kw_uuid(kw *w, const uint8_t v[16])
{
    return kw_raw(w, v, 16);
}

size_t kw_uvarint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

// zigzag32 and zigzag64 use unsigned arithmetic only: shifting a negative signed value right is
// implementation-defined in C.
static uint32_t zigzag32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (0u - ((uint32_t)v >> 31));
}

static uint64_t zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (0u - ((uint64_t)v >> 63));
}

size_t kw_varint_len(int32_t v)
{
    return kw_uvarint_len(zigzag32(v));
}

size_t kw_varlong_len(int64_t v)
{
    return kw_uvarint_len(zigzag64(v));
}

bool kw_uvarint(kw *w, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    return kw_raw(w, tmp, n);
}

bool kw_varint(kw *w, int32_t v)
{
    return kw_uvarint(w, zigzag32(v));
}

bool kw_varlong(kw *w, int64_t v)
{
    return kw_uvarint(w, zigzag64(v));
}

bool kw_str_n(kw *w, const void *p, size_t n)
{
    if (n > INT16_MAX) {
        return kw_fail(w);
    }
    return kw_i16(w, (int16_t)n) && kw_raw(w, p, n);
}

bool kw_str(kw *w, const char *s)
{
    if (!s) {
        return kw_i16(w, -1);
    }
    return kw_str_n(w, s, strlen(s));
}

bool kw_compact_str_n(kw *w, const void *p, size_t n)
{
    if (n >= UINT32_MAX) {
        return kw_fail(w);
    }
    return kw_uvarint(w, (uint64_t)n + 1) && kw_raw(w, p, n);
}

bool kw_compact_str(kw *w, const char *s)
{
    if (!s) {
        return kw_uvarint(w, 0);
    }
    return kw_compact_str_n(w, s, strlen(s));
}

bool kw_bytes(kw *w, const void *p, size_t n)
{
    if (!p) {
        return kw_i32(w, -1);
    }
    if (n > INT32_MAX) {
        return kw_fail(w);
    }
    return kw_i32(w, (int32_t)n) && kw_raw(w, p, n);
}

bool kw_compact_bytes(kw *w, const void *p, size_t n)
{
    if (!p) {
        return kw_uvarint(w, 0);
    }
    return kw_compact_str_n(w, p, n);
}

bool kw_str_view(kw *w, const kr *s, bool is_null)
{
    if (is_null) {
        return kw_i16(w, -1);
    }
    return kw_str_n(w, s->p, s->len);
}

bool kw_compact_str_view(kw *w, const kr *s, bool is_null)
{
    if (is_null) {
        return kw_uvarint(w, 0);
    }
    return kw_compact_str_n(w, s->p, s->len);
}

bool kw_array_count(kw *w, int32_t n)
{
    return kw_i32(w, n < 0 ? -1 : n);
}

bool kw_compact_array_count(kw *w, int32_t n)
{
    return kw_uvarint(w, n < 0 ? 0 : (uint64_t)n + 1);
}

bool kw_empty_tags(kw *w)
{
    return kw_u8(w, 0);
}

bool kw_begin_size32(kw *w, size_t *out_pos)
{
    *out_pos = w->len;
    return kw_zeros(w, 4);
}

bool kw_patch_u32(kw *w, size_t pos, uint32_t v)
{
    if (w->failed || pos > w->len || w->len - pos < 4) {
        return kw_fail(w);
    }
    for (size_t i = 0; i < 4; i++) {
        w->buf[pos + 3 - i] = (uint8_t)(v >> (8 * i));
    }
    return true;
}

bool kw_end_size32(kw *w, size_t pos)
{
    if (w->failed || pos > w->len || w->len - pos < 4 || w->len - pos - 4 > INT32_MAX) {
        return kw_fail(w);
    }
    return kw_patch_u32(w, pos, (uint32_t)(w->len - pos - 4));
}
