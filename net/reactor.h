// reactor.h: the one event loop of a kesm process.
//
// A net_reactor owns the libevent event_base, the evdns resolver, and every timer and signal
// event kesm uses, so the daemon runs on one reactor thread. Higher layers never include
// <event2/...>: they use the timer and signal handles below, and net/ internals reach the base
// through net_reactor_base / net_reactor_dns (declared in net/internal.h).
//
// Everything here is single-threaded: call it only from the reactor thread (or before
// net_reactor_run starts).
#ifndef NET_REACTOR_H
#define NET_REACTOR_H

#include <stdbool.h>
#include <stdint.h>

struct net_reactor;
struct net_timer;
struct net_signal;

// struct net_reactor_config: zero-initialise for the defaults.
struct net_reactor_config {
    // nameserver, if set ("127.0.0.1:5353"), replaces the servers of /etc/resolv.conf (tests
    // point this at a loopback stub). /etc/hosts is always honoured first.
    const char *nameserver;
    // dns_randomize_case keeps evdns's 0x20 query-name case randomisation (off by default, as
    // plain stub resolvers echo the name back verbatim only sometimes).
    bool dns_randomize_case;
    // dns_timeout_ms bounds one DNS query attempt (default 5000).
    uint32_t dns_timeout_ms;
};

// net_reactor_new creates the loop; |cfg| may be NULL. It sets SIGPIPE to be ignored for the
// whole process (a write to a closed socket then fails with EPIPE instead of killing kesm). Returns
// NULL (and logs why) if libevent or the resolver cannot be set up.
struct net_reactor *net_reactor_new(const struct net_reactor_config *cfg);
// net_reactor_free frees the loop. Free every timer, signal and connection first. NULL is a
// no-op.
void net_reactor_free(struct net_reactor *r);

// net_reactor_run dispatches events until net_reactor_stop is called (the resolver keeps an
// event registered, so the loop does not end by running out of work). Returns 0, or -1 if
// libevent failed.
int net_reactor_run(struct net_reactor *r);
// net_reactor_run_for dispatches for at most |ms| milliseconds (tests).
int net_reactor_run_for(struct net_reactor *r, uint32_t ms);
// net_reactor_run_once dispatches the events that are ready, waiting if none are (tests).
int net_reactor_run_once(struct net_reactor *r);
// net_reactor_stop makes net_reactor_run return after the current callback.
void net_reactor_stop(struct net_reactor *r);

// net_reactor_event_base returns the libevent event_base the reactor owns, as an opaque pointer,
// for esm/'s management API server (net/httpd, on libevent), which must run on the same loop. It is
// the one libevent object net/ hands out; everything else stays behind the handles here.
struct event_base;
struct event_base *net_reactor_event_base(struct net_reactor *r);

// net_reactor_now_ms returns a monotonic clock in milliseconds (the loop's cached time).
uint64_t net_reactor_now_ms(struct net_reactor *r);

// Timers. net_timer_new makes a disarmed timer that calls |cb(ctx)| on the reactor thread;
// net_timer_arm (re)arms it |ms| from now, one shot; net_timer_cancel disarms it. The callback
// may free the timer. net_timer_free(NULL) is a no-op.
typedef void (*net_timer_fn)(void *ctx);
struct net_timer *net_timer_new(struct net_reactor *r, net_timer_fn cb, void *ctx);
void net_timer_arm(struct net_timer *t, uint64_t ms);
void net_timer_cancel(struct net_timer *t);
bool net_timer_armed(const struct net_timer *t);
void net_timer_free(struct net_timer *t);
// net_timer_fire_soon makes the timer's callback run from the reactor's current loop iteration,
// after the callbacks already due (a deferred call, never from inside this call); it replaces a
// pending timeout.
void net_timer_fire_soon(struct net_timer *t);

// net_random_u32 returns 32 bits from the reactor's CSPRNG (libevent's arc4random), for
// jittering delays.
uint32_t net_random_u32(void);

// Signals: |cb(signo, ctx)| runs on the reactor thread, not in signal context, every time
// |signo| arrives, until net_signal_free.
typedef void (*net_signal_fn)(int signo, void *ctx);
struct net_signal *net_signal_new(struct net_reactor *r, int signo, net_signal_fn cb, void *ctx);
void net_signal_free(struct net_signal *s);

// Descriptor watches (so poll-driven code, e.g. invoke/'s exec transport, runs on the reactor).
// net_fdwatch_new calls |cb(fd, revents, ctx)| every time |fd| (borrowed, not closed on free)
// becomes ready for any of |events| (NET_FD_READ | NET_FD_WRITE); |revents| holds the ready
// subset (a hang-up or error reads as ready). The watch stays until net_fdwatch_free; the callback
// may free its own watch. Returns NULL (and logs) if libevent refuses the descriptor.
// net_fdwatch_free(NULL) is a no-op.
enum net_fd_events {
    NET_FD_READ = 1,
    NET_FD_WRITE = 2,
};
typedef void (*net_fdwatch_fn)(int fd, unsigned revents, void *ctx);
struct net_fdwatch;
struct net_fdwatch *net_fdwatch_new(struct net_reactor *r, int fd, unsigned events,
                                    net_fdwatch_fn cb, void *ctx);
void net_fdwatch_free(struct net_fdwatch *w);

#endif
