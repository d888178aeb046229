// conn_net.c: broker_conn_new, the driver that runs a session (conn.c) over net/: a net_stream
// per connection attempt, one reactor timer for the session's deadlines, and a deferred call for
// its queued work.
#include "base/alloc.h"
#include "broker/conn.h"
#include "broker/conn_int.h"
#include "net/reactor.h"
#include "net/stream.h"

#include <stdlib.h>

struct drv {
    struct broker_conn *c;
    struct net_reactor *r;
    struct net_stream *s;
    struct net_timer *timer;
    struct net_timer *kick; // fired soon: the session's deferred work
};

// ---- the stream's callbacks -------------------------------------------------------------------

static void on_phase(void *ctx, enum net_stream_phase phase)
{
    struct drv *d = ctx;
    broker_conn_io_phase(d->c, phase);
}

static void on_frame(void *ctx, const uint8_t *p, size_t len)
{
    struct drv *d = ctx;
    broker_conn_io_frame(d->c, p, len);
}

static void on_close(void *ctx, const struct net_stream_close *why)
{
    struct drv *d = ctx;
    // The session may be freed from inside (and |d| with it): detach the stream first.
    struct net_stream *s = d->s;
    d->s = NULL;
    broker_conn_io_closed(d->c, why);
    net_stream_free(s);
}

static void on_timer(void *ctx)
{
    struct drv *d = ctx;
    broker_conn_io_timer(d->c);
}

static void on_kick(void *ctx)
{
    struct drv *d = ctx;
    broker_conn_io_wake(d->c);
}

// ---- struct broker_io ------------------------------------------------------------------------

static void io_open(void *ctx, struct broker_conn *c)
{
    struct drv *d = ctx;
    d->c = c;
    net_stream_free(d->s);
    struct net_stream_config sc = {.tls = c->cfg.tls,
                                   .connect_timeout_ms = c->cfg.connect_timeout_ms,
                                   .max_frame = c->cfg.max_frame,
                                   .log = c->log,
                                   .name = c->name};
    struct net_stream_callbacks cb = {on_phase, on_frame, on_close, d};
    d->s = net_stream_open(d->r, c->host, c->port, &sc, &cb);
}

static void io_close(void *ctx)
{
    struct drv *d = ctx;
    net_stream_free(d->s);
    d->s = NULL;
}

static void io_write(void *ctx, const uint8_t *p, size_t len)
{
    struct drv *d = ctx;
    if (d->s != NULL) {
        net_stream_write(d->s, p, len);
    }
}

static void io_set_reading(void *ctx, bool on)
{
    struct drv *d = ctx;
    if (d->s != NULL) {
        net_stream_set_reading(d->s, on);
    }
}

static size_t io_buffered(void *ctx)
{
    struct drv *d = ctx;
    return d->s != NULL ? net_stream_buffered(d->s) : 0;
}

static void io_defer(void *ctx)
{
    struct drv *d = ctx;
    net_timer_fire_soon(d->kick);
}

static void io_arm(void *ctx, uint64_t at_ms)
{
    struct drv *d = ctx;
    if (at_ms == BROKER_NEVER) {
        net_timer_cancel(d->timer);
        return;
    }
    uint64_t now = net_reactor_now_ms(d->r);
    net_timer_arm(d->timer, at_ms > now ? at_ms - now : 0);
}

static uint64_t io_now(void *ctx)
{
    struct drv *d = ctx;
    return net_reactor_now_ms(d->r);
}

static uint32_t io_random(void *ctx)
{
    (void)ctx;
    return net_random_u32();
}

static void io_release(void *ctx)
{
    struct drv *d = ctx;
    net_stream_free(d->s);
    net_timer_free(d->timer);
    net_timer_free(d->kick);
    free(d);
}

struct broker_conn *broker_conn_new(struct net_reactor *r, const char *host, uint16_t port,
                                    const struct broker_conn_config *cfg,
                                    const struct broker_conn_callbacks *cb)
{
    struct drv *d = xcalloc(1, sizeof *d);
    d->r = r;
    d->timer = net_timer_new(r, on_timer, d);
    d->kick = net_timer_new(r, on_kick, d);
    struct broker_io io = {io_open,     io_close,   io_write, io_set_reading,
                           io_buffered, io_defer,   io_arm,   io_now,
                           io_random,   io_release, d};
    d->c = broker_conn_new_io(&io, host, port, cfg, cb);
    d->c->reactor = r; // before anything can authenticate: the stream has not opened yet
    return d->c;
}
