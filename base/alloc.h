// alloc.h: allocation that aborts on out-of-memory (STYLE.md section 6: every layer above sasl/
// treats OOM as fatal, as librdkafka does), and wiping for memory that held a secret. libc only:
// the libFuzzer build links it without libevent. proto/ and sasl/ do not use it (proto/ does not
// allocate; sasl/ wipes with libcrypto).
#ifndef BASE_ALLOC_H
#define BASE_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
// xstrndup copies the first |n| bytes of |s| and a NUL.
char *xstrndup(const char *s, size_t n);

// mem_wipe overwrites |n| bytes at |p| with zeros in a way the compiler cannot drop (a password,
// a token, a key). |p| may be NULL.
void mem_wipe(void *p, size_t n);
// free_wiped wipes |n| bytes at |p|, then frees it. NULL is a no-op.
void free_wiped(void *p, size_t n);
// free_wiped_str wipes the NUL-terminated secret |s| (its strlen bytes), then frees it. NULL is a
// no-op.
void free_wiped_str(char *s);

#endif
