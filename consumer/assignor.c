// assignor.c: range and roundrobin, the names and the list parser. See assignor.h for the rules
// they follow; cooperative-sticky is assignor_sticky.c's.
#include "consumer/assignor.h"

#include "base/alloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cons_assignor_from_name(const char *name, enum cons_assignor *out)
{
    if (!strcmp(name, "range")) {
        *out = CONS_ASSIGNOR_RANGE;
        return 0;
    }
    if (!strcmp(name, "roundrobin")) {
        *out = CONS_ASSIGNOR_ROUNDROBIN;
        return 0;
    }
    if (!strcmp(name, "cooperative-sticky")) {
        *out = CONS_ASSIGNOR_COOPERATIVE_STICKY;
        return 0;
    }
    return -1;
}

bool cons_assignor_is_cooperative(enum cons_assignor a)
{
    return a == CONS_ASSIGNOR_COOPERATIVE_STICKY;
}

static int list_fail(char *err, size_t cap, const char *why, const char *name)
{
    if (err && cap) {
        snprintf(err, cap, "%s%s%.40s%s", why, name ? " '" : "", name ? name : "", name ? "'" : "");
    }
    return -1;
}

int cons_assignors_parse(const char *list, enum cons_assignor *out, char *err, size_t err_cap)
{
    int n = 0;
    const char *p = list ? list : "";
    for (;;) {
        while (*p == ' ') {
            p++;
        }
        size_t len = strcspn(p, ",");
        char name[32];
        size_t l = len;
        while (l > 0 && p[l - 1] == ' ') {
            l--;
        }
        if (l == 0 || l >= sizeof name) {
            return list_fail(err, err_cap, l ? "unknown assignor" : "empty assignor name",
                             l ? p : NULL);
        }
        memcpy(name, p, l);
        name[l] = 0;
        enum cons_assignor a;
        if (cons_assignor_from_name(name, &a) != 0) {
            return list_fail(err, err_cap,
                             "unknown assignor (range, roundrobin, cooperative-sticky)", name);
        }
        for (int i = 0; i < n; i++) {
            if (out[i] == a) {
                return list_fail(err, err_cap, "assignor listed twice", name);
            }
            if (cons_assignor_is_cooperative(out[i]) != cons_assignor_is_cooperative(a)) {
                return list_fail(err, err_cap, "cooperative and eager assignors cannot be mixed",
                                 name);
            }
        }
        out[n++] = a;
        p += len;
        if (*p == 0) {
            return n;
        }
        p++; // the comma
        if (n == CONS_MAX_ASSIGNORS) {
            return list_fail(err, err_cap, "too many assignors", NULL);
        }
    }
}

const char *cons_assignor_name(enum cons_assignor a)
{
    switch (a) {
    case CONS_ASSIGNOR_RANGE:
        return "range";
    case CONS_ASSIGNOR_ROUNDROBIN:
        return "roundrobin";
    case CONS_ASSIGNOR_COOPERATIVE_STICKY:
        return "cooperative-sticky";
    }
    return "unknown";
}

void cons_assignment_cleanup(struct cons_assignment *a)
{
    free(a->tps);
    a->tps = NULL;
    a->num_tps = 0;
}

// member_cmp orders members as Java does: static members (by instance id) before dynamic ones
// (by member id).
static int member_cmp(const struct cons_member_sub *a, const struct cons_member_sub *b)
{
    if (a->instance_id && b->instance_id) {
        return strcmp(a->instance_id, b->instance_id);
    }
    if (a->instance_id) {
        return -1;
    }
    if (b->instance_id) {
        return 1;
    }
    return strcmp(a->member_id, b->member_id);
}

// sort_members fills |order| with member indexes in assignor order (insertion sort: groups are
// small and this keeps the comparison free of globals).
static void sort_members(const struct cons_member_sub *m, size_t n, size_t *order)
{
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j > 0 && member_cmp(&m[i], &m[order[j - 1]]) < 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
}

static bool subscribed(const struct cons_member_sub *m, const char *topic)
{
    for (size_t i = 0; i < m->num_topics; i++) {
        if (!strcmp(m->topics[i], topic)) {
            return true;
        }
    }
    return false;
}

static void add_tp(struct cons_assignment *a, size_t *cap, const char *topic, int32_t partition)
{
    if (a->num_tps == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        a->tps = xrealloc(a->tps, *cap * sizeof *a->tps);
    }
    a->tps[a->num_tps].topic = topic;
    a->tps[a->num_tps].partition = partition;
    a->num_tps++;
}

static void assign_range(const struct cons_member_sub *m, size_t n, const size_t *order,
                         const struct cons_topic_meta *t, size_t nt, struct cons_assignment *out,
                         size_t *caps)
{
    size_t *subs = xmalloc((n ? n : 1) * sizeof *subs);
    for (size_t ti = 0; ti < nt; ti++) {
        if (t[ti].num_partitions <= 0) {
            continue;
        }
        size_t ns = 0;
        for (size_t k = 0; k < n; k++) {
            if (subscribed(&m[order[k]], t[ti].topic)) {
                subs[ns++] = order[k];
            }
        }
        if (ns == 0) {
            continue;
        }
        size_t np = (size_t)t[ti].num_partitions;
        size_t q = np / ns, r = np % ns;
        for (size_t i = 0; i < ns; i++) {
            size_t start = i * q + (i < r ? i : r);
            size_t count = q + (i < r ? 1 : 0);
            for (size_t p = start; p < start + count; p++) {
                add_tp(&out[subs[i]], &caps[subs[i]], t[ti].topic, (int32_t)p);
            }
        }
    }
    free(subs);
}

static int topic_cmp(const void *a, const void *b)
{
    const struct cons_topic_meta *x = *(const struct cons_topic_meta *const *)a;
    const struct cons_topic_meta *y = *(const struct cons_topic_meta *const *)b;
    return strcmp(x->topic, y->topic);
}

static void assign_roundrobin(const struct cons_member_sub *m, size_t n, const size_t *order,
                              const struct cons_topic_meta *t, size_t nt,
                              struct cons_assignment *out, size_t *caps)
{
    // Topics in byte-wise order; only those someone subscribes to and that have partitions.
    const struct cons_topic_meta **sorted = xmalloc((nt ? nt : 1) * sizeof *sorted);
    size_t ns = 0;
    for (size_t ti = 0; ti < nt; ti++) {
        bool any = false;
        for (size_t k = 0; k < n && !any; k++) {
            any = subscribed(&m[k], t[ti].topic);
        }
        if (any && t[ti].num_partitions > 0) {
            sorted[ns++] = &t[ti];
        }
    }
    if (ns > 1) {
        qsort(sorted, ns, sizeof *sorted, topic_cmp);
    }
    size_t cursor = 0;
    for (size_t ti = 0; ti < ns; ti++) {
        for (int32_t p = 0; p < sorted[ti]->num_partitions; p++) {
            // Someone subscribes to this topic, so this loop ends within n steps.
            while (!subscribed(&m[order[cursor]], sorted[ti]->topic)) {
                cursor = (cursor + 1) % n;
            }
            add_tp(&out[order[cursor]], &caps[order[cursor]], sorted[ti]->topic, p);
            cursor = (cursor + 1) % n;
        }
    }
    free(sorted);
}

static int tp_cmp(const void *a, const void *b)
{
    const struct cons_tp *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    if (c != 0) {
        return c;
    }
    return (x->partition > y->partition) - (x->partition < y->partition);
}

int cons_assign(enum cons_assignor a, const struct cons_member_sub *members, size_t num_members,
                const struct cons_topic_meta *topics, size_t num_topics,
                struct cons_assignment *out)
{
    for (size_t i = 0; i < num_members; i++) {
        out[i].tps = NULL;
        out[i].num_tps = 0;
    }
    for (size_t i = 0; i < num_members; i++) {
        if (!members[i].member_id) {
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(members[i].member_id, members[j].member_id)) {
                return -1;
            }
        }
    }
    if (num_members == 0) {
        return 0;
    }
    size_t *order = xmalloc(num_members * sizeof *order);
    size_t *caps = xcalloc(num_members, sizeof *caps);
    sort_members(members, num_members, order);
    switch (a) {
    case CONS_ASSIGNOR_RANGE:
        assign_range(members, num_members, order, topics, num_topics, out, caps);
        break;
    case CONS_ASSIGNOR_ROUNDROBIN:
        assign_roundrobin(members, num_members, order, topics, num_topics, out, caps);
        break;
    case CONS_ASSIGNOR_COOPERATIVE_STICKY:
        cons_assign_sticky(members, num_members, order, topics, num_topics, out);
        break;
    }
    for (size_t i = 0; i < num_members; i++) {
        if (out[i].num_tps > 1) {
            qsort(out[i].tps, out[i].num_tps, sizeof *out[i].tps, tp_cmp);
        }
    }
    free(order);
    free(caps);
    return 0;
}
