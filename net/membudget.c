// membudget.c: the process-wide budget for broker frames (see membudget.h).
#include "net/membudget.h"

#include <stddef.h>

static struct {
    size_t limit;
    size_t used;
    size_t peak;
    uint64_t waits;
    size_t waiting;
    struct net_membudget_waiter *head, *tail;
} mb = {NET_MEMBUDGET_DEFAULT, 0, 0, 0, 0, NULL, NULL};

void net_membudget_set_limit(size_t bytes)
{
    mb.limit = bytes == 0 ? NET_MEMBUDGET_DEFAULT : bytes;
    if (mb.limit < NET_MEMBUDGET_FREE) {
        mb.limit = NET_MEMBUDGET_FREE;
    }
}

size_t net_membudget_limit(void)
{
    return mb.limit;
}

static void take(size_t bytes)
{
    mb.used += bytes;
    if (mb.used > mb.peak) {
        mb.peak = mb.used;
    }
}

static bool fits(size_t bytes)
{
    return mb.used <= mb.limit && bytes <= mb.limit - mb.used;
}

static void unlink_waiter(struct net_membudget_waiter *w)
{
    if (w->prev) {
        w->prev->next = w->next;
    } else {
        mb.head = w->next;
    }
    if (w->next) {
        w->next->prev = w->prev;
    } else {
        mb.tail = w->prev;
    }
    w->prev = w->next = NULL;
    w->queued = false;
    mb.waiting--;
}

bool net_membudget_reserve(struct net_membudget_waiter *w, size_t bytes)
{
    if (w->queued) {
        return false;
    }
    if (mb.head == NULL && fits(bytes)) {
        take(bytes);
        return true;
    }
    w->want = bytes;
    w->queued = true;
    w->next = NULL;
    w->prev = mb.tail;
    if (mb.tail) {
        mb.tail->next = w;
    } else {
        mb.head = w;
    }
    mb.tail = w;
    mb.waits++;
    mb.waiting++;
    return false;
}

void net_membudget_cancel(struct net_membudget_waiter *w)
{
    if (w->queued) {
        unlink_waiter(w);
    }
}

void net_membudget_release(size_t bytes)
{
    mb.used = bytes > mb.used ? 0 : mb.used - bytes;
    while (mb.head != NULL && fits(mb.head->want)) {
        struct net_membudget_waiter *w = mb.head;
        unlink_waiter(w);
        take(w->want);
        if (w->granted) {
            w->granted(w->ctx);
        }
    }
}

void net_membudget_get_stats(struct net_membudget_stats *out)
{
    out->limit = mb.limit;
    out->used = mb.used;
    out->peak = mb.peak;
    out->waits = mb.waits;
    out->waiting = mb.waiting;
}
