// buf.h: the growable byte buffer every layer above sasl/ builds text and bytes in (event JSON,
// SigV4 canonical requests, HTTP request bytes, /metrics, file names).
//
// A buf is caller-allocated: buf_init enters the zero state, buf_cleanup frees (safe on every
// path, and on a zeroed struct). Growing aborts on out-of-memory (base/alloc.h).
#ifndef BASE_BUF_H
#define BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    char *p;    // the bytes (not NUL-terminated unless buf_cstr was called); NULL when empty
    size_t len; // bytes written
    size_t cap; // bytes allocated
};

void buf_init(struct buf *b);
void buf_cleanup(struct buf *b);
// buf_reserve makes room for |n| more bytes (and a NUL after them) and returns a pointer to them.
char *buf_reserve(struct buf *b, size_t n);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_addc(struct buf *b, char c);
void buf_adds(struct buf *b, const char *s);
// buf_addf appends printf-formatted text.
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// buf_cstr NUL-terminates the contents (the NUL is not counted in len) and returns b->p.
char *buf_cstr(struct buf *b);
// buf_steal returns the bytes (NUL-terminated) and leaves |b| empty; the caller frees them.
char *buf_steal(struct buf *b, size_t *out_len);

#endif
