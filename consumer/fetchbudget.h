// fetchbudget.h: one process-wide budget for the data Fetch requests may bring back.
//
// Every Fetch asks the broker for at most MaxBytes of records (the broker still returns one
// whole record batch above it, so a partition always makes progress). Each request in flight is
// memory the process must be ready to receive and decode, whatever the number of mappings,
// brokers and partitions: the sum of the MaxBytes of all Fetch requests in flight is held under
// one limit. A consumer takes a grant before it sends a Fetch and gives it back when the answer
// was handled (or the request failed); the grant is the request's MaxBytes. While the budget is
// spent a fetch waits (the consumer tries again on its next pass), so memory stays bounded with
// 1,000 partitions or 100 mappings alike; the partitions in one request share its grant.
//
// Sharing: a request gets what it wants (its configured MaxBytes) as long as that leaves half of
// the free budget to others, else half of what is free, and never less than
// CONS_FETCH_BUDGET_MIN (when not even that is free it waits). Several brokers thus fetch at
// once, each with a share that shrinks as the budget fills: with the default 2 MiB and 4 MiB
// wanted, three brokers get 1 MiB, 512 and 256 KiB. Records are encoded when they arrive (JSON
// with base64 is about 2.7x the raw bytes), so what is fetched past the pipeline's pause bound
// costs that much again: 8 MiB gave the 48-partition benchmark a 62 MiB peak, 2 MiB 31 MiB,
// at the same speed.
//
// Wants: a consumer asks for what its request's partitions would use
// (cons_fetcher_fetch_want: the limit of each partition that had data, 64 KiB for each idle one,
// at most KESM_FETCH_MAX_KB), so a long poll over caught-up partitions holds little of the
// budget while it waits. Inside a request the partitions share the grant (fetcher.h): busy ones
// split it, idle ones ask a 64 KiB floor, and a limit raised for a large batch decays back.
//
// The memory budget this gives, with P partitions on R brokers and limit B (the README's
// "Memory budget of fetched data" has the figures):
//   fetched bytes asked for at once  <= B
//   fetched bytes received at once   <= B + Q x M1, where Q <= min(R x mappings,
//       B / CONS_FETCH_BUDGET_MIN) is the number of Fetch requests in flight (one per broker per
//       mapping, each holding at least 64 KiB) and M1 the largest record batch the brokers hold
//       (message.max.bytes, 1 MiB by default): KIP-74 lets the first partition with data in an
//       answer return one whole batch above every limit, so each answer may exceed its grant by
//       one batch;
//   P appears nowhere: 1,000 partitions share the same B (each costs its table entry in the
//       fetcher, about 150 bytes plus the topic name). A broker that answers more than it was
//       asked for is held by the frame budget (KESM_BROKER_MEMORY_MB), not by this one.
//
// Single-threaded: the event loop's thread only.
#ifndef CONSUMER_FETCHBUDGET_H
#define CONSUMER_FETCHBUDGET_H

#include <stddef.h>
#include <stdint.h>

#define CONS_FETCH_BUDGET_DEFAULT ((size_t)2 << 20)
// The smallest grant worth a request (a Fetch this small still returns one whole batch).
#define CONS_FETCH_BUDGET_MIN ((size_t)64 * 1024)

// cons_fetch_budget_set_limit sets the limit in bytes (0: CONS_FETCH_BUDGET_DEFAULT; at least
// CONS_FETCH_BUDGET_MIN). Lowering it below what is granted only delays new grants.
void cons_fetch_budget_set_limit(size_t bytes);
size_t cons_fetch_budget_limit(void);

// cons_fetch_budget_take returns the MaxBytes granted to a request that wants |want| bytes (at
// least 1), or 0: nothing now, try later.
size_t cons_fetch_budget_take(size_t want);
// cons_fetch_budget_give returns a grant.
void cons_fetch_budget_give(size_t bytes);

struct cons_fetch_budget_stats {
    size_t limit;
    size_t used;    // granted now
    size_t peak;    // most granted at once
    uint64_t waits; // requests that found no budget
};
void cons_fetch_budget_get_stats(struct cons_fetch_budget_stats *out);

#endif
