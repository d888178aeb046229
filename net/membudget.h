// membudget.h: one process-wide memory budget for broker response frames being received.
//
// Each broker connection may receive frames up to its max_frame (100 MiB) and buffers a frame
// whole before decoding it, so a few hostile (or just busy) brokers could otherwise hold
// hundreds of megabytes at once. Before a connection reads the body of a frame larger than
// NET_MEMBUDGET_FREE bytes, it reserves the frame's size here; the reservation is returned once
// the frame is decoded and dropped. When the budget is spent, the connection stops reading (its
// read watermark stays at NET_MEMBUDGET_FREE bytes, so TCP pushes back on the broker) and waits
// in line; releases grant waiting connections in arrival order (first come, first served: a
// big frame is not starved by a stream of small ones). This is backpressure, not failure: a
// frame larger than the whole budget is refused (the connection fails as for max_frame), any
// other waits. The request timeout still bounds a broker that announces a frame and never
// sends it, so a stalled reservation is given back.
//
// Single-threaded: call it from the event loop thread only.
#ifndef NET_MEMBUDGET_H
#define NET_MEMBUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Frames up to this size need no reservation: each connection buffers at most this much
// without one.
#define NET_MEMBUDGET_FREE ((size_t)64 * 1024)
#define NET_MEMBUDGET_DEFAULT ((size_t)256 << 20)

// struct net_membudget_waiter: a connection waiting for a reservation; caller-owned, zeroed.
struct net_membudget_waiter {
    struct net_membudget_waiter *prev, *next;
    size_t want;
    bool queued;
    void (*granted)(void *ctx); // runs from net_membudget_release, after the bytes were taken
    void *ctx;
};

// net_membudget_set_limit sets the budget in bytes (0: NET_MEMBUDGET_DEFAULT); at least
// NET_MEMBUDGET_FREE. Lowering it below what is reserved only delays new reservations.
void net_membudget_set_limit(size_t bytes);
size_t net_membudget_limit(void);

// net_membudget_reserve takes |bytes| at once (returns true) or, when they are not free or
// others wait already, queues |w| (returns false): w->granted runs once they were taken for
// it. |bytes| must not exceed the limit.
bool net_membudget_reserve(struct net_membudget_waiter *w, size_t bytes);
// net_membudget_cancel takes |w| out of the line (no-op if it is not queued).
void net_membudget_cancel(struct net_membudget_waiter *w);
// net_membudget_release returns |bytes| and grants waiters that fit now, in order.
void net_membudget_release(size_t bytes);

struct net_membudget_stats {
    size_t limit;
    size_t used;    // reserved now
    size_t peak;    // most reserved at once
    uint64_t waits; // reservations that had to wait
    size_t waiting; // connections waiting now
};
void net_membudget_get_stats(struct net_membudget_stats *out);

#endif
