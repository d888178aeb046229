// group_lead.c: the group leader's part (see group.h): decode every member's subscription from
// the JoinGroup answer, run the chosen assignor, and encode one assignment per member for
// SyncGroup. No I/O, no clock, no logging.
#include "base/alloc.h"
#include "consumer/group_int.h"
#include "proto/consumer_protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// collect_owned reads a member's owned partitions (subscription v1+) and generation (v2+) for
// cooperative-sticky; the strings and the array go to |store|.
static void collect_owned(const struct kp_consumer_subscription_view *sv,
                          struct cons_member_sub *sub, char ***store, size_t *num_store)
{
    sub->generation = sv->generation_id;
    struct kp_consumer_iter ti, pi;
    struct kp_consumer_tp_view tv;
    int32_t p;
    size_t total = 0;
    kp_consumer_iter_init(&ti, &sv->owned, sv->num_owned);
    while (kp_consumer_next_topic_partitions(&ti, &tv)) {
        total += tv.num_partitions;
    }
    struct cons_tp *owned = xcalloc(total + 1, sizeof *owned);
    *store = xrealloc(*store, (*num_store + 1) * sizeof **store);
    (*store)[(*num_store)++] = (char *)owned;
    kp_consumer_iter_init(&ti, &sv->owned, sv->num_owned);
    while (kp_consumer_next_topic_partitions(&ti, &tv)) {
        char *t = xmalloc(tv.topic.len + 1);
        *store = xrealloc(*store, (*num_store + 1) * sizeof **store);
        (*store)[(*num_store)++] = t;
        if (!kr_copy_cstr(&tv.topic, t, tv.topic.len + 1)) {
            continue;
        }
        kp_consumer_iter_init(&pi, &tv.partitions, tv.num_partitions);
        while (sub->num_owned < total && kp_consumer_next_partition(&pi, &p)) {
            owned[sub->num_owned++] = (struct cons_tp){.topic = t, .partition = p};
        }
    }
    sub->owned = owned;
}

static long collect_members(const struct kp_join_group_resp *r, struct cons_member_sub *subs,
                            char ***topic_store, size_t *num_store)
{
    struct kp_join_group_member_iter it;
    struct kp_join_group_member m;
    kp_join_group_members(r, &it);
    size_t n = 0;
    while (n < MAX_MEMBERS && kp_join_group_next_member(&it, &m)) {
        char *mid = xmalloc(m.member_id.len + 1);
        char *iid = NULL;
        *topic_store = xrealloc(*topic_store, (*num_store + 2) * sizeof **topic_store);
        (*topic_store)[(*num_store)++] = mid;
        if (!kr_copy_cstr(&m.member_id, mid, m.member_id.len + 1)) {
            return -1;
        }
        if (!m.group_instance_id_null) {
            iid = xmalloc(m.group_instance_id.len + 1);
            (*topic_store)[(*num_store)++] = iid;
            if (!kr_copy_cstr(&m.group_instance_id, iid, m.group_instance_id.len + 1)) {
                return -1;
            }
        }
        kr meta = m.metadata;
        struct kp_consumer_subscription_view sv;
        struct kp_err err = {0};
        const char **topics = NULL;
        size_t nt = 0;
        if (kp_consumer_subscription_parse(&meta, &sv, &err) == KP_OK) {
            struct kp_consumer_iter ti;
            kr name;
            topics = xcalloc(sv.num_topics + 1, sizeof *topics);
            kp_consumer_iter_init(&ti, &sv.topics, sv.num_topics);
            while (kp_consumer_next_topic_name(&ti, &name)) {
                char *t = xmalloc(name.len + 1);
                *topic_store = xrealloc(*topic_store, (*num_store + 1) * sizeof **topic_store);
                (*topic_store)[(*num_store)++] = t;
                if (kr_copy_cstr(&name, t, name.len + 1)) {
                    topics[nt++] = t;
                }
            }
        }
        // A member whose subscription does not decode gets an empty entry (it still must get one).
        *topic_store = xrealloc(*topic_store, (*num_store + 2) * sizeof **topic_store);
        (*topic_store)[(*num_store)++] = (char *)topics;
        subs[n] = (struct cons_member_sub){.member_id = mid,
                                           .instance_id = iid,
                                           .topics = topics,
                                           .num_topics = nt,
                                           .generation = -1};
        if (topics) {
            collect_owned(&sv, &subs[n], topic_store, num_store);
        }
        n++;
    }
    return (long)n;
}

static uint8_t *encode_assignment(const struct cons_assignment *a, size_t *out_len)
{
    // Group the (sorted) entries by topic.
    struct kp_consumer_topic_partitions *tps = xcalloc(a->num_tps + 1, sizeof *tps);
    int32_t *parts = xcalloc(a->num_tps + 1, sizeof *parts);
    size_t nt = 0;
    for (size_t i = 0; i < a->num_tps; i++) {
        if (nt == 0 || strcmp(tps[nt - 1].topic, a->tps[i].topic) != 0) {
            tps[nt++] = (struct kp_consumer_topic_partitions){.topic = a->tps[i].topic,
                                                              .partitions = &parts[i]};
        }
        parts[i] = a->tps[i].partition;
        tps[nt - 1].num_partitions++;
    }
    struct kp_consumer_assignment ca = {.version = 1,
                                        .assigned = tps,
                                        .num_assigned = nt,
                                        .user_data = (const uint8_t *)"",
                                        .user_data_len = 0};
    kw w;
    kw_init_grow(&w);
    uint8_t *blob = NULL;
    if (kp_consumer_assignment_write(&w, &ca)) {
        blob = kw_take_buf(&w, out_len);
    }
    kw_cleanup(&w);
    free(tps);
    free(parts);
    return blob;
}

// lead computes the assignment as leader; returns false (after failing the machine) when it
// cannot.
bool group_lead(struct cons_group *g, const struct kp_join_group_resp *r)
{
    enum cons_assignor a;
    if (cons_assignor_from_name(g->protocol, &a) != 0) {
        group_fail(g, CONS_ERR_FATAL, "coordinator selected an assignor kesm does not offer", 0);
        return false;
    }
    size_t cap = r->num_members < MAX_MEMBERS ? r->num_members : MAX_MEMBERS;
    struct cons_member_sub *subs = xcalloc(cap + 1, sizeof *subs);
    char **store = NULL;
    size_t num_store = 0;
    long n = collect_members(r, subs, &store, &num_store);
    bool ok = n > 0;
    struct cons_assignment *out = NULL;
    if (ok) {
        out = xcalloc((size_t)n, sizeof *out);
        ok = cons_assign(a, subs, (size_t)n, g->meta, g->num_meta, out) == 0;
    }
    if (ok) {
        g->sync = xcalloc((size_t)n, sizeof *g->sync);
        for (size_t i = 0; i < (size_t)n; i++) {
            struct sync_entry *e = &g->sync[g->num_sync++];
            e->member_id = xstrdup(subs[i].member_id);
            e->blob = encode_assignment(&out[i], &e->blob_len);
            ok = ok && e->blob != NULL;
        }
        for (size_t i = 0; i < (size_t)n; i++) {
            cons_assignment_cleanup(&out[i]);
        }
    }
    free(out);
    for (size_t i = 0; i < num_store; i++) {
        free(store[i]);
    }
    free(store);
    free(subs);
    if (!ok) {
        group_free_sync(g);
        group_fail(g, CONS_ERR_FATAL, "cannot compute the group assignment (bad member list)", 0);
    }
    return ok;
}
