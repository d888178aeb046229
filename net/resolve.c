// resolve.c: one name lookup (see resolve.h).
#include "net/resolve.h"

#include "base/alloc.h"
#include "net/internal.h"

#include <event2/dns.h>
#include <event2/util.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct net_resolve {
    struct evdns_getaddrinfo_request *rq; // while evdns works on it
    struct net_timer *later;              // reports from a clean stack
    net_resolve_fn cb;
    void *ctx;
    bool cancelled;
    bool ok;
    bool no_such_name;
    const char *why;
};

static void q_free(struct net_resolve *q)
{
    net_timer_free(q->later);
    free(q);
}

static void fire(void *arg)
{
    struct net_resolve *q = arg;
    net_resolve_fn cb = q->cb;
    void *ctx = q->ctx;
    bool ok = q->ok, nx = q->no_such_name;
    const char *why = q->why;
    q_free(q);
    cb(ctx, ok, nx, why);
}

static void on_ai(int err, struct evutil_addrinfo *ai, void *arg)
{
    struct net_resolve *q = arg;
    if (ai) {
        evutil_freeaddrinfo(ai);
    }
    q->rq = NULL;
    if (q->cancelled) {
        q_free(q);
        return;
    }
    q->ok = err == 0;
    q->no_such_name = err == EVUTIL_EAI_NONAME || err == EVUTIL_EAI_NODATA;
    q->why = err == 0 ? "" : evutil_gai_strerror(err);
    net_timer_arm(q->later, 0);
}

struct net_resolve *net_resolve_start(struct net_reactor *r, const char *host, net_resolve_fn cb,
                                      void *ctx)
{
    struct net_resolve *q = xcalloc(1, sizeof *q);
    q->cb = cb;
    q->ctx = ctx;
    q->later = net_timer_new(r, fire, q);
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct evdns_getaddrinfo_request *rq =
        evdns_getaddrinfo(net_reactor_dns(r), host, NULL, &hints, on_ai, q);
    if (rq) {
        q->rq = rq; // pending; a NULL return means on_ai already ran
    } else if (!net_timer_armed(q->later)) {
        q->why = "the resolver refused the lookup";
        net_timer_arm(q->later, 0);
    }
    return q;
}

void net_resolve_cancel(struct net_resolve *q)
{
    if (!q) {
        return;
    }
    if (q->rq) {
        q->cancelled = true;
        evdns_getaddrinfo_cancel(q->rq); // on_ai frees it
        return;
    }
    q_free(q);
}
