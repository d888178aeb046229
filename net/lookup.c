// lookup.c: the host:port lookup a dial owns (see struct net_lookup in internal.h), used by
// net/dial.c for broker streams (stream.c) and the HTTP client (http.c).
#include "base/alloc.h"
#include "net/internal.h"

#include <event2/dns.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// struct net_lookup_ticket outlives an owner freed while its lookup is pending: evdns reports a
// cancellation later, so its callback must not find a freed connection (|lk| is then NULL).
struct net_lookup_ticket {
    struct net_lookup *lk;
    net_lookup_fn fn;
    void *owner;
};

static void on_resolved(int err, struct evutil_addrinfo *ai, void *arg)
{
    struct net_lookup_ticket *t = arg;
    struct net_lookup *lk = t->lk;
    net_lookup_fn fn = t->fn;
    void *owner = t->owner;
    free(t);
    if (lk == NULL) {
        if (ai != NULL) {
            evutil_freeaddrinfo(ai);
        }
        return;
    }
    lk->ticket = NULL;
    lk->req = NULL;
    lk->err = err;
    lk->ai = ai;
    lk->done = true;
    if (!lk->sync) {
        fn(owner);
    }
}

bool net_lookup_start(struct net_lookup *lk, struct net_reactor *r, const char *host, uint16_t port,
                      net_lookup_fn fn, void *owner)
{
    struct net_lookup_ticket *t = xcalloc(1, sizeof *t);
    t->lk = lk;
    t->fn = fn;
    t->owner = owner;
    lk->ticket = t;
    char port_s[8];
    snprintf(port_s, sizeof port_s, "%u", port);
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = EVUTIL_AI_NUMERICSERV;
    lk->sync = true;
    lk->done = false;
    lk->err = 0;
    struct evdns_getaddrinfo_request *rq =
        evdns_getaddrinfo(net_reactor_dns(r), host, port_s, &hints, on_resolved, t);
    lk->sync = false;
    lk->req = lk->ticket != NULL ? rq : NULL; // NULL rq: it completed (or failed) already
    return lk->done;
}

void net_lookup_cancel(struct net_lookup *lk)
{
    if (lk->ticket != NULL) {
        lk->ticket->lk = NULL; // the ticket is freed by the (later) cancellation callback
        lk->ticket = NULL;
        if (lk->req != NULL) {
            evdns_getaddrinfo_cancel(lk->req);
        }
    }
    lk->req = NULL;
    if (lk->ai != NULL) {
        evutil_freeaddrinfo(lk->ai);
        lk->ai = NULL;
        lk->ai_cur = NULL;
    }
}
