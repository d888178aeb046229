// assignor_sticky.c: the cooperative-sticky assignor (KIP-429). See cons_assign_sticky in
// assignor.h for the rules. Partitions are numbered 0..N-1 over the subscribed topics that have
// partitions (topic by topic, in metadata order); every table here is indexed by that number or
// by the member's index in the input.
#include "base/alloc.h"
#include "consumer/assignor.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct sticky {
    const struct cons_member_sub *m;
    size_t n;
    const struct cons_topic_meta *t;
    size_t nt;
    size_t *first; // per topic: number of its partition 0 (SIZE_MAX: not assigned at all)
    size_t np;     // partitions in all
    size_t *topic_of;
    long *owner;      // per partition: member index, -1 none
    long *prev_owner; // per partition: the member that owns it now (-1 none)
    size_t *count;    // per member: partitions in owner[]
    bool *subs;       // [member * nt + topic]: member subscribes to topic
};

static bool member_subscribes(const struct cons_member_sub *m, const char *topic)
{
    for (size_t i = 0; i < m->num_topics; i++) {
        if (!strcmp(m->topics[i], topic)) {
            return true;
        }
    }
    return false;
}

// setup numbers the partitions and fills the subscription table.
static void setup(struct sticky *s)
{
    s->first = xcalloc(s->nt + 1, sizeof *s->first);
    s->subs = xcalloc(s->n * s->nt + 1, sizeof *s->subs);
    s->np = 0;
    for (size_t ti = 0; ti < s->nt; ti++) {
        bool any = false;
        for (size_t k = 0; k < s->n; k++) {
            s->subs[k * s->nt + ti] = member_subscribes(&s->m[k], s->t[ti].topic);
            any = any || s->subs[k * s->nt + ti];
        }
        s->first[ti] = SIZE_MAX;
        if (any && s->t[ti].num_partitions > 0) {
            s->first[ti] = s->np;
            s->np += (size_t)s->t[ti].num_partitions;
        }
    }
    s->topic_of = xcalloc(s->np + 1, sizeof *s->topic_of);
    s->owner = xcalloc(s->np + 1, sizeof *s->owner);
    s->prev_owner = xcalloc(s->np + 1, sizeof *s->prev_owner);
    s->count = xcalloc(s->n + 1, sizeof *s->count);
    for (size_t ti = 0; ti < s->nt; ti++) {
        for (size_t p = 0; s->first[ti] != SIZE_MAX && p < (size_t)s->t[ti].num_partitions; p++) {
            s->topic_of[s->first[ti] + p] = ti;
        }
    }
    for (size_t i = 0; i < s->np; i++) {
        s->owner[i] = -1;
    }
}

// index_of returns the partition number of |tp|, or SIZE_MAX when it is not assignable.
static size_t index_of(const struct sticky *s, const struct cons_tp *tp)
{
    for (size_t ti = 0; ti < s->nt; ti++) {
        if (s->first[ti] != SIZE_MAX && !strcmp(s->t[ti].topic, tp->topic)) {
            if (tp->partition < 0 || tp->partition >= s->t[ti].num_partitions) {
                return SIZE_MAX;
            }
            return s->first[ti] + (size_t)tp->partition;
        }
    }
    return SIZE_MAX;
}

// keep_owned gives each member the partitions it owns and may keep: higher generations claim
// first, then member order.
static void keep_owned(struct sticky *s, const size_t *order)
{
    size_t *by_gen = xmalloc((s->n + 1) * sizeof *by_gen);
    for (size_t i = 0; i < s->n; i++) {
        size_t j = i;
        while (j > 0 && s->m[order[i]].generation > s->m[by_gen[j - 1]].generation) {
            by_gen[j] = by_gen[j - 1];
            j--;
        }
        by_gen[j] = order[i];
    }
    for (size_t k = 0; k < s->n; k++) {
        size_t mi = by_gen[k];
        for (size_t o = 0; o < s->m[mi].num_owned; o++) {
            size_t i = index_of(s, &s->m[mi].owned[o]);
            if (i != SIZE_MAX && s->prev_owner[i] == 0) {
                s->prev_owner[i] = (long)mi + 1; // claimed; +1 keeps 0 for "nobody" below
                if (s->subs[mi * s->nt + s->topic_of[i]]) {
                    s->owner[i] = (long)mi;
                    s->count[mi]++;
                }
            }
        }
    }
    for (size_t i = 0; i < s->np; i++) {
        s->prev_owner[i] = s->prev_owner[i] > 0 ? s->prev_owner[i] - 1 : -1;
    }
    free(by_gen);
}

// least_loaded returns the subscriber of topic |ti| with the fewest partitions (first in member
// order on a tie), or -1 when nobody subscribes.
static long least_loaded(const struct sticky *s, const size_t *order, size_t ti)
{
    long best = -1;
    for (size_t k = 0; k < s->n; k++) {
        size_t mi = order[k];
        if (s->subs[mi * s->nt + ti] && (best < 0 || s->count[mi] < s->count[best])) {
            best = (long)mi;
        }
    }
    return best;
}

static void give(struct sticky *s, size_t i, long to)
{
    if (s->owner[i] >= 0) {
        s->count[s->owner[i]]--;
    }
    s->owner[i] = to;
    s->count[to]++;
}

// balance moves one partition at a time from a member to the least loaded subscriber of its
// topic while that narrows the spread (each move lowers the sum of squared counts, so the loop
// ends; the bound is a backstop).
static void balance(struct sticky *s, const size_t *order)
{
    long *least = xcalloc(s->nt + 1, sizeof *least);
    for (size_t iter = 0; iter < 2 * s->np + 16; iter++) {
        for (size_t ti = 0; ti < s->nt; ti++) {
            least[ti] = least_loaded(s, order, ti);
        }
        size_t best = SIZE_MAX, best_gap = 1;
        for (size_t i = s->np; i-- > 0;) {
            long a = s->owner[i], b = least[s->topic_of[i]];
            if (a < 0 || b < 0 || s->count[a] <= s->count[b]) {
                continue;
            }
            size_t gap = s->count[a] - s->count[b];
            if (gap > best_gap) {
                best_gap = gap;
                best = i;
            }
        }
        if (best == SIZE_MAX) {
            break;
        }
        give(s, best, least[s->topic_of[best]]);
    }
    free(least);
}

static void add(struct cons_assignment *a, size_t *cap, const char *topic, int32_t p)
{
    if (a->num_tps == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        a->tps = xrealloc(a->tps, *cap * sizeof *a->tps);
    }
    a->tps[a->num_tps++] = (struct cons_tp){.topic = topic, .partition = p};
}

void cons_assign_sticky(const struct cons_member_sub *m, size_t n, const size_t *order,
                        const struct cons_topic_meta *t, size_t nt, struct cons_assignment *out)
{
    struct sticky s = {.m = m, .n = n, .t = t, .nt = nt};
    setup(&s);
    keep_owned(&s, order);
    for (size_t i = 0; i < s.np; i++) {
        if (s.owner[i] < 0) {
            long to = least_loaded(&s, order, s.topic_of[i]);
            if (to >= 0) {
                give(&s, i, to);
            }
        }
    }
    balance(&s, order);
    size_t *caps = xcalloc(n + 1, sizeof *caps);
    for (size_t i = 0; i < s.np; i++) {
        // KIP-429: a partition changing owners is withheld until its owner has revoked it.
        if (s.owner[i] < 0 || (s.prev_owner[i] >= 0 && s.prev_owner[i] != s.owner[i])) {
            continue;
        }
        size_t ti = s.topic_of[i];
        add(&out[s.owner[i]], &caps[s.owner[i]], t[ti].topic, (int32_t)(i - s.first[ti]));
    }
    free(caps);
    free(s.first);
    free(s.subs);
    free(s.topic_of);
    free(s.owner);
    free(s.prev_owner);
    free(s.count);
}
