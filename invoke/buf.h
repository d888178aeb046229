// buf.h: the growable byte buffer and error text shared by invoke/ modules.
//
// invoke/ allocates with inv_xmalloc/inv_xrealloc, which abort on out-of-memory (house style for
// consumer/, net/ and invoke/). An inv_buf is caller-allocated: inv_buf_init enters the zero state,
// inv_buf_cleanup frees (safe on every path, and on a zeroed struct).
#ifndef INVOKE_BUF_H
#define INVOKE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct inv_buf {
    char *p;    // the bytes (not NUL-terminated unless inv_buf_cstr was called); NULL when empty
    size_t len; // bytes written
    size_t cap; // bytes allocated
};

// inv_err carries a human-readable message for the higher layer's log. Messages never contain
// secret values.
struct inv_err {
    char msg[256];
};

void *inv_xmalloc(size_t n);
void *inv_xcalloc(size_t n, size_t size);
void *inv_xrealloc(void *p, size_t n);
char *inv_xstrdup(const char *s);
char *inv_xstrndup(const char *s, size_t n);

void inv_buf_init(struct inv_buf *b);
void inv_buf_cleanup(struct inv_buf *b);
// inv_buf_reserve makes room for |n| more bytes and returns a pointer to them.
char *inv_buf_reserve(struct inv_buf *b, size_t n);
void inv_buf_add(struct inv_buf *b, const void *p, size_t n);
void inv_buf_addc(struct inv_buf *b, char c);
void inv_buf_adds(struct inv_buf *b, const char *s);
// inv_buf_cstr NUL-terminates the contents (the NUL is not counted in len) and returns b->p.
char *inv_buf_cstr(struct inv_buf *b);
// inv_buf_steal returns the bytes (NUL-terminated) and leaves |b| empty; the caller frees them.
char *inv_buf_steal(struct inv_buf *b, size_t *out_len);

// inv_fail formats a message into |err| (which may be NULL) and returns |code|: the house
// style's "record and fail in one step".
int inv_fail(struct inv_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
