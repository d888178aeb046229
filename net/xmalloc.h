// xmalloc.h: allocation that aborts on out-of-memory (STYLE.md section 6: the consumer, net and
// invoke layers treat OOM as fatal, as librdkafka does). It lives in net/, the lowest layer that
// may abort on OOM, so that net/ and consumer/ share one copy. libc only: the libFuzzer build links
// it without libevent. invoke/buf.h spells them inv_x* and forwards here.
#ifndef NET_XMALLOC_H
#define NET_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
// xstrndup copies the first |n| bytes of |s| and a NUL.
char *xstrndup(const char *s, size_t n);

#endif
