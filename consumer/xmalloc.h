// xmalloc.h: allocation that aborts on out-of-memory, for consumer/ (STYLE.md section 6: the
// consumer, net and invoke layers treat OOM as fatal, as librdkafka does).
#ifndef CONSUMER_XMALLOC_H
#define CONSUMER_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
