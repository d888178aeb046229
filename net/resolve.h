// resolve.h: one name lookup on the reactor's resolver (hosts file, then DNS through evdns), for
// layers that must know whether a name exists before anything connects to it (esm/ reports
// bootstrap servers that do not resolve).
#ifndef NET_RESOLVE_H
#define NET_RESOLVE_H

#include "net/reactor.h"

#include <stdbool.h>

struct net_resolve;

// net_resolve_fn: |ok| is whether |host| has at least one address. When it has none, |no_such_name|
// says the answer was definite (NXDOMAIN or no address: the name does not exist) rather than a
// temporary failure (timeout, server failure), and |why| is the resolver's reason (static).
typedef void (*net_resolve_fn)(void *ctx, bool ok, bool no_such_name, const char *why);

// net_resolve_start looks |host| up. |cb| runs exactly once, from the reactor (never inside this
// call), unless net_resolve_cancel is called first. The handle is freed after |cb| returns.
struct net_resolve *net_resolve_start(struct net_reactor *r, const char *host, net_resolve_fn cb,
                                      void *ctx);

// net_resolve_cancel drops a lookup whose callback has not run. NULL is a no-op.
void net_resolve_cancel(struct net_resolve *q);

#endif
