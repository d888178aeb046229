// reactor.c: the event loop, resolver, timers and signals (see reactor.h).
#include "net/reactor.h"

#include "base/alloc.h"
#include "base/log.h"
#include "net/internal.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct net_reactor {
    struct event_base *base;
    struct evdns_base *dns;
};

struct net_timer {
    struct event *ev;
    net_timer_fn cb;
    void *ctx;
};

struct net_signal {
    struct event *ev;
    net_signal_fn cb;
    void *ctx;
};

static bool dns_setup(struct net_reactor *r, const struct net_reactor_config *cfg)
{
    const char *ns = cfg ? cfg->nameserver : NULL;
    r->dns = evdns_base_new(r->base, ns ? 0 : EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (r->dns == NULL) {
        kesm_log(KESM_LOG_ERROR, "net", "cannot create the DNS resolver");
        return false;
    }
    if (ns != NULL) {
        if (evdns_base_nameserver_ip_add(r->dns, ns) != 0) {
            kesm_log(KESM_LOG_ERROR, "net", "bad nameserver address \"%s\"", ns);
            return false;
        }
        // Without INITIALIZE_NAMESERVERS the hosts file is not loaded; load it ourselves.
        evdns_base_load_hosts(r->dns, NULL);
    }
    if (!(cfg && cfg->dns_randomize_case)) {
        evdns_base_set_option(r->dns, "randomize-case:", "0");
    }
    char tmo[32];
    uint32_t ms = cfg && cfg->dns_timeout_ms ? cfg->dns_timeout_ms : 5000;
    snprintf(tmo, sizeof tmo, "%u.%03u", ms / 1000, ms % 1000);
    evdns_base_set_option(r->dns, "timeout:", tmo);
    evdns_base_set_option(r->dns, "attempts:", "2");
    return true;
}

struct net_reactor *net_reactor_new(const struct net_reactor_config *cfg)
{
    // A write to a socket the peer has closed must fail with EPIPE, not kill the process:
    // libevent writes without MSG_NOSIGNAL.
    signal(SIGPIPE, SIG_IGN);
    struct net_reactor *r = xcalloc(1, sizeof *r);
    r->base = event_base_new();
    if (r->base == NULL) {
        kesm_log(KESM_LOG_ERROR, "net", "cannot create the event loop");
        free(r);
        return NULL;
    }
    if (!dns_setup(r, cfg)) {
        net_reactor_free(r);
        return NULL;
    }
    return r;
}

void net_reactor_free(struct net_reactor *r)
{
    if (r == NULL) {
        return;
    }
    if (r->dns != NULL) {
        // 1: fail pending requests with EVUTIL_EAI_CANCEL (their owners are gone by now).
        evdns_base_free(r->dns, 1);
    }
    if (r->base != NULL) {
        // A bufferevent freed with deferred callbacks still queued (BEV_OPT_DEFER_CALLBACKS) is
        // only finalised when those run: they hold a reference to it. event_base_free cancels
        // them without dropping it, and the bufferevent would be lost (valgrind saw it after
        // kesm run's last connection closed just before the loop stopped). Every owner is gone
        // by now and bufferevent_free cleared the callbacks, so letting the queued work run only
        // finishes those frees. Bounded: each round runs what is active now, nothing waits.
        for (int i = 0; i < 8 && event_base_get_num_events(r->base, EVENT_BASE_COUNT_ACTIVE) > 0;
             i++) {
            event_base_loop(r->base, EVLOOP_NONBLOCK);
        }
        event_base_free(r->base);
    }
    free(r);
}

struct event_base *net_reactor_base(struct net_reactor *r)
{
    return r->base;
}

struct event_base *net_reactor_event_base(struct net_reactor *r)
{
    return r->base;
}

struct evdns_base *net_reactor_dns(struct net_reactor *r)
{
    return r->dns;
}

int net_reactor_run(struct net_reactor *r)
{
    return event_base_dispatch(r->base) < 0 ? -1 : 0;
}

int net_reactor_run_for(struct net_reactor *r, uint32_t ms)
{
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    event_base_loopexit(r->base, &tv);
    return event_base_dispatch(r->base) < 0 ? -1 : 0;
}

int net_reactor_run_once(struct net_reactor *r)
{
    return event_base_loop(r->base, EVLOOP_ONCE) < 0 ? -1 : 0;
}

void net_reactor_stop(struct net_reactor *r)
{
    event_base_loopbreak(r->base);
}

uint64_t net_reactor_now_ms(struct net_reactor *r)
{
    (void)r;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct net_timer *t = arg;
    t->cb(t->ctx);
}

struct net_timer *net_timer_new(struct net_reactor *r, net_timer_fn cb, void *ctx)
{
    struct net_timer *t = xcalloc(1, sizeof *t);
    t->cb = cb;
    t->ctx = ctx;
    t->ev = evtimer_new(r->base, timer_cb, t);
    if (t->ev == NULL) {
        fputs("kesm: out of memory (timer)\n", stderr);
        abort();
    }
    return t;
}

void net_timer_arm(struct net_timer *t, uint64_t ms)
{
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(t->ev, &tv);
}

void net_timer_cancel(struct net_timer *t)
{
    if (t != NULL) {
        evtimer_del(t->ev);
    }
}

bool net_timer_armed(const struct net_timer *t)
{
    return t != NULL && evtimer_pending(t->ev, NULL);
}

void net_timer_fire_soon(struct net_timer *t)
{
    evtimer_del(t->ev);
    event_active(t->ev, EV_TIMEOUT, 0);
}

uint32_t net_random_u32(void)
{
    uint32_t r;
    evutil_secure_rng_get_bytes(&r, sizeof r);
    return r;
}

void net_timer_free(struct net_timer *t)
{
    if (t == NULL) {
        return;
    }
    event_free(t->ev);
    free(t);
}

static void signal_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct net_signal *s = arg;
    s->cb((int)fd, s->ctx);
}

struct net_signal *net_signal_new(struct net_reactor *r, int signo, net_signal_fn cb, void *ctx)
{
    struct net_signal *s = xcalloc(1, sizeof *s);
    s->cb = cb;
    s->ctx = ctx;
    s->ev = evsignal_new(r->base, signo, signal_cb, s);
    if (s->ev == NULL || evsignal_add(s->ev, NULL) != 0) {
        kesm_log(KESM_LOG_ERROR, "net", "cannot watch signal %d", signo);
        if (s->ev != NULL) {
            event_free(s->ev);
        }
        free(s);
        return NULL;
    }
    return s;
}

void net_signal_free(struct net_signal *s)
{
    if (s == NULL) {
        return;
    }
    event_free(s->ev);
    free(s);
}

struct net_fdwatch {
    struct event *ev;
    net_fdwatch_fn cb;
    void *ctx;
};

static void fdwatch_cb(evutil_socket_t fd, short what, void *arg)
{
    struct net_fdwatch *w = arg;
    unsigned rev = 0;
    if (what & EV_READ) {
        rev |= NET_FD_READ;
    }
    if (what & EV_WRITE) {
        rev |= NET_FD_WRITE;
    }
    w->cb((int)fd, rev, w->ctx);
}

struct net_fdwatch *net_fdwatch_new(struct net_reactor *r, int fd, unsigned events,
                                    net_fdwatch_fn cb, void *ctx)
{
    short what = EV_PERSIST;
    if (events & NET_FD_READ) {
        what |= EV_READ;
    }
    if (events & NET_FD_WRITE) {
        what |= EV_WRITE;
    }
    struct net_fdwatch *w = xcalloc(1, sizeof *w);
    w->cb = cb;
    w->ctx = ctx;
    w->ev = event_new(r->base, fd, what, fdwatch_cb, w);
    if (w->ev == NULL || event_add(w->ev, NULL) != 0) {
        kesm_log(KESM_LOG_ERROR, "net", "cannot watch descriptor %d", fd);
        if (w->ev != NULL) {
            event_free(w->ev);
        }
        free(w);
        return NULL;
    }
    return w;
}

void net_fdwatch_free(struct net_fdwatch *w)
{
    if (w == NULL) {
        return;
    }
    event_free(w->ev);
    free(w);
}
