// buf.c: the growable byte buffer (see buf.h).
#include "base/buf.h"

#include "base/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_cleanup(struct buf *b)
{
    free(b->p);
    buf_init(b);
}

char *buf_reserve(struct buf *b, size_t n)
{
    if (n > SIZE_MAX - b->len - 1) {
        fprintf(stderr, "kesm: buffer size overflow reserving %zu bytes\n", n);
        abort();
    }
    size_t need = b->len + n + 1; // room for buf_cstr's NUL
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need) {
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        }
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    return b->p + b->len;
}

void buf_add(struct buf *b, const void *p, size_t n)
{
    char *d = buf_reserve(b, n);
    if (n) {
        memcpy(d, p, n);
    }
    b->len += n;
}

void buf_addc(struct buf *b, char c)
{
    char *d = buf_reserve(b, 1);
    *d = c;
    b->len++;
}

void buf_adds(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n < sizeof tmp) {
        buf_add(b, tmp, (size_t)n);
        return;
    }
    char *d = buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *buf_cstr(struct buf *b)
{
    char *d = buf_reserve(b, 0);
    *d = '\0';
    return b->p;
}

char *buf_steal(struct buf *b, size_t *out_len)
{
    buf_cstr(b);
    char *p = b->p;
    if (out_len) {
        *out_len = b->len;
    }
    buf_init(b);
    return p;
}
