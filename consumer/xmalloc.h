// xmalloc.h: the aborting allocators now live in net/xmalloc.h (one copy for net/ and consumer/);
// this header forwards there for the consumer/ files that still include it.
#ifndef CONSUMER_XMALLOC_H
#define CONSUMER_XMALLOC_H

#include "net/xmalloc.h"

#endif
