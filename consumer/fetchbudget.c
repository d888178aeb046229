// fetchbudget.c: the process-wide Fetch budget (see fetchbudget.h).
#include "consumer/fetchbudget.h"

static struct {
    size_t limit;
    size_t used;
    size_t peak;
    uint64_t waits;
} fb = {CONS_FETCH_BUDGET_DEFAULT, 0, 0, 0};

void cons_fetch_budget_set_limit(size_t bytes)
{
    fb.limit = bytes == 0 ? CONS_FETCH_BUDGET_DEFAULT : bytes;
    if (fb.limit < CONS_FETCH_BUDGET_MIN) {
        fb.limit = CONS_FETCH_BUDGET_MIN;
    }
}

size_t cons_fetch_budget_limit(void)
{
    return fb.limit;
}

size_t cons_fetch_budget_take(size_t want)
{
    size_t free = fb.used < fb.limit ? fb.limit - fb.used : 0;
    size_t grant = want;
    if (grant > free / 2) {
        grant = free / 2; // leave the other half to the next request
    }
    if (grant > free) {
        grant = free;
    }
    size_t floor = want < CONS_FETCH_BUDGET_MIN ? want : CONS_FETCH_BUDGET_MIN;
    if (grant < floor) {
        grant = floor <= free ? floor : 0;
    }
    if (grant == 0) {
        fb.waits++;
        return 0;
    }
    fb.used += grant;
    if (fb.used > fb.peak) {
        fb.peak = fb.used;
    }
    return grant;
}

void cons_fetch_budget_give(size_t bytes)
{
    fb.used = bytes > fb.used ? 0 : fb.used - bytes;
}

void cons_fetch_budget_get_stats(struct cons_fetch_budget_stats *out)
{
    out->limit = fb.limit;
    out->used = fb.used;
    out->peak = fb.peak;
    out->waits = fb.waits;
}
