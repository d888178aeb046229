// transport_reactor.c: inv_driver, which runs a poll-based transport on the net reactor (see
// transport_net.h): poll_fds -> one net_fdwatch per descriptor plus a timer; every wake-up ->
// dispatch with the ready events filled in, then poll_fds again.
#include "base/alloc.h"
#include "invoke/transport_net.h"

#include <stdlib.h>
#include <string.h>

struct inv_driver;

struct watch {
    struct inv_driver *d;
    struct net_fdwatch *w;
    size_t index; // into d->fds
};

struct inv_driver {
    struct net_reactor *reactor;
    struct inv_transport *t;
    struct pollfd *fds;
    struct watch *watches;
    size_t num_fds, cap;
    struct net_timer *timer; // the transport's timeout
    struct net_timer *kick;  // re-poll soon
    bool in_wake;            // inside dispatch
    bool free_requested;     // inv_driver_free was called from a done callback
};

static void drop_watches(struct inv_driver *d)
{
    for (size_t i = 0; i < d->num_fds; i++) {
        net_fdwatch_free(d->watches[i].w);
        d->watches[i].w = NULL;
    }
    d->num_fds = 0;
}

static void on_fd(int fd, unsigned revents, void *ctx);

static void repoll(struct inv_driver *d)
{
    drop_watches(d);
    int timeout = -1;
    size_t n = d->t->funcs->poll_fds(d->t, d->fds, d->cap, &timeout);
    if (n > d->cap) {
        d->cap = n;
        d->fds = xrealloc(d->fds, n * sizeof *d->fds);
        d->watches = xrealloc(d->watches, n * sizeof *d->watches);
        n = d->t->funcs->poll_fds(d->t, d->fds, d->cap, &timeout);
    }
    d->num_fds = n;
    for (size_t i = 0; i < n; i++) {
        unsigned ev = 0;
        ev |= (d->fds[i].events & POLLIN) ? NET_FD_READ : 0u;
        ev |= (d->fds[i].events & POLLOUT) ? NET_FD_WRITE : 0u;
        d->fds[i].revents = 0;
        d->watches[i].d = d;
        d->watches[i].index = i;
        d->watches[i].w = net_fdwatch_new(d->reactor, d->fds[i].fd, ev, on_fd, &d->watches[i]);
    }
    if (timeout >= 0) {
        net_timer_arm(d->timer, (uint64_t)timeout);
    } else {
        net_timer_cancel(d->timer);
    }
}

static void destroy(struct inv_driver *d)
{
    drop_watches(d);
    net_timer_free(d->timer);
    net_timer_free(d->kick);
    free(d->fds);
    free(d->watches);
    free(d);
}

static void wake(struct inv_driver *d, size_t ready, short revents)
{
    for (size_t i = 0; i < d->num_fds; i++) {
        d->fds[i].revents = i == ready ? revents : 0;
    }
    d->in_wake = true;
    d->t->funcs->dispatch(d->t, d->fds, d->num_fds);
    d->in_wake = false;
    if (d->free_requested) {
        destroy(d);
        return;
    }
    repoll(d);
}

static void on_fd(int fd, unsigned revents, void *ctx)
{
    (void)fd;
    struct watch *w = ctx;
    short rev = 0;
    rev = (short)(rev | ((revents & NET_FD_READ) ? POLLIN : 0));
    rev = (short)(rev | ((revents & NET_FD_WRITE) ? POLLOUT : 0));
    wake(w->d, w->index, rev);
}

static void on_timer(void *ctx)
{
    struct inv_driver *d = ctx;
    wake(d, (size_t)-1, 0);
}

static void on_kick(void *ctx)
{
    repoll(ctx);
}

struct inv_driver *inv_driver_new(struct net_reactor *r, struct inv_transport *t)
{
    struct inv_driver *d = xcalloc(1, sizeof *d);
    d->reactor = r;
    d->t = t;
    d->cap = 8;
    d->fds = xcalloc(d->cap, sizeof *d->fds);
    d->watches = xcalloc(d->cap, sizeof *d->watches);
    d->timer = net_timer_new(r, on_timer, d);
    d->kick = net_timer_new(r, on_kick, d);
    return d;
}

void inv_driver_kick(struct inv_driver *d)
{
    net_timer_arm(d->kick, 0);
}

void inv_driver_free(struct inv_driver *d)
{
    if (d == NULL) {
        return;
    }
    if (d->in_wake) {
        d->free_requested = true; // destroyed when dispatch returns
        return;
    }
    destroy(d);
}
