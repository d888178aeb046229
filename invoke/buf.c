// buf.c: growable buffer, aborting allocators and error text for invoke/.
#include "invoke/buf.h"

#include "net/xmalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The inv_x* names are invoke/'s spelling of net/xmalloc.h's allocators (one copy, in the lowest
// layer that may abort on out-of-memory).
void *inv_xmalloc(size_t n)
{
    return xmalloc(n);
}

void *inv_xcalloc(size_t n, size_t size)
{
    return xcalloc(n, size);
}

void *inv_xrealloc(void *p, size_t n)
{
    return xrealloc(p, n);
}

char *inv_xstrndup(const char *s, size_t n)
{
    return xstrndup(s, n);
}

char *inv_xstrdup(const char *s)
{
    return xstrdup(s);
}

void inv_buf_init(struct inv_buf *b)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void inv_buf_cleanup(struct inv_buf *b)
{
    free(b->p);
    inv_buf_init(b);
}

char *inv_buf_reserve(struct inv_buf *b, size_t n)
{
    if (n > SIZE_MAX - b->len - 1) {
        fprintf(stderr, "kesm: buffer size overflow reserving %zu bytes\n", n);
        abort();
    }
    size_t need = b->len + n + 1; // room for inv_buf_cstr's NUL
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need) {
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        }
        b->p = inv_xrealloc(b->p, cap);
        b->cap = cap;
    }
    return b->p + b->len;
}

void inv_buf_add(struct inv_buf *b, const void *p, size_t n)
{
    char *d = inv_buf_reserve(b, n);
    if (n) {
        memcpy(d, p, n);
    }
    b->len += n;
}

void inv_buf_addc(struct inv_buf *b, char c)
{
    char *d = inv_buf_reserve(b, 1);
    *d = c;
    b->len++;
}

void inv_buf_adds(struct inv_buf *b, const char *s)
{
    inv_buf_add(b, s, strlen(s));
}

char *inv_buf_cstr(struct inv_buf *b)
{
    char *d = inv_buf_reserve(b, 0);
    *d = '\0';
    return b->p;
}

char *inv_buf_steal(struct inv_buf *b, size_t *out_len)
{
    inv_buf_cstr(b);
    char *p = b->p;
    if (out_len) {
        *out_len = b->len;
    }
    inv_buf_init(b);
    return p;
}

int inv_fail(struct inv_err *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}
