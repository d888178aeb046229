// group_coop.c: the group machine's partition sets, its subscription, and the revoke steps,
// eager and cooperative (KIP-429). See group.h for the flow. No I/O, no clock, no logging.
//
// Cooperative members keep their partitions across a rebalance: they rejoin with what they own
// in the subscription (ConsumerProtocolSubscription v1 OwnedPartitions), the leader withholds
// every partition that changes owners, and after SyncGroup a member revokes only the partitions
// it owns but was not given, then rejoins at once, so the next rebalance hands them to their
// new owner. A lost membership (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, a session that expired)
// still loses everything, as in Java's ConsumerCoordinator.
#include "base/alloc.h"
#include "consumer/group_int.h"
#include "proto/consumer_protocol.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void tpset_clear(struct tp_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free((void *)(uintptr_t)s->tps[i].topic); // the set owns its copies
    }
    free(s->tps);
    s->tps = NULL;
    s->n = 0;
}

void tpset_add(struct tp_set *s, const char *topic, int32_t partition)
{
    s->tps = xrealloc(s->tps, (s->n + 1) * sizeof *s->tps);
    s->tps[s->n++] = (struct cons_tp){.topic = xstrdup(topic), .partition = partition};
}

bool tpset_has(const struct tp_set *s, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->tps[i].partition == partition && !strcmp(s->tps[i].topic, topic)) {
            return true;
        }
    }
    return false;
}

static bool assigned_has(const struct cons_group *g, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < g->num_assigned; i++) {
        if (g->assigned[i].partition == partition && !strcmp(g->assigned[i].topic, topic)) {
            return true;
        }
    }
    return false;
}

// owned_groups groups the assigned partitions by topic (first appearance order) for the
// subscription; |parts| holds the partition numbers the groups point into.
static size_t owned_groups(const struct cons_group *g, struct kp_consumer_topic_partitions *out,
                           int32_t *parts)
{
    size_t nt = 0, np = 0;
    for (size_t i = 0; i < g->num_assigned; i++) {
        bool seen = false;
        for (size_t t = 0; t < nt && !seen; t++) {
            seen = !strcmp(out[t].topic, g->assigned[i].topic);
        }
        if (seen) {
            continue;
        }
        out[nt] = (struct kp_consumer_topic_partitions){.topic = g->assigned[i].topic,
                                                        .partitions = &parts[np]};
        for (size_t j = i; j < g->num_assigned; j++) {
            if (!strcmp(g->assigned[j].topic, g->assigned[i].topic)) {
                parts[np++] = g->assigned[j].partition;
                out[nt].num_partitions++;
            }
        }
        nt++;
    }
    return nt;
}

bool group_build_subscription(struct cons_group *g)
{
    size_t n = g->cooperative ? g->num_assigned : 0;
    struct kp_consumer_topic_partitions *owned = xcalloc(n + 1, sizeof *owned);
    int32_t *parts = xcalloc(n + 1, sizeof *parts);
    struct kp_consumer_subscription s = {.version = 1,
                                         .topics = (const char *const *)g->topics,
                                         .num_topics = g->num_topics,
                                         .user_data = (const uint8_t *)"",
                                         .user_data_len = 0,
                                         .owned = owned,
                                         .num_owned = n ? owned_groups(g, owned, parts) : 0,
                                         .generation_id = -1};
    kw w;
    kw_init_grow(&w);
    size_t len = 0;
    bool ok = kp_consumer_subscription_write(&w, &s) && kw_finish(&w, &len);
    free(g->sub_blob);
    g->sub_blob = NULL;
    g->sub_blob_len = 0;
    if (ok) {
        g->sub_blob = kw_take_buf(&w, &g->sub_blob_len);
    }
    kw_cleanup(&w);
    free(owned);
    free(parts);
    if (!ok) {
        group_fail(g, CONS_ERR_CONFIG, "subscription does not encode (topic name too long?)", 0);
    }
    return ok;
}

void group_begin_revoke(struct cons_group *g, uint64_t now, bool partial)
{
    g->state = CONS_GROUP_REVOKING;
    g->revoke_announce = true;
    g->revoke_done = false;
    g->revoke_deadline = now + g->rebalance_ms;
    g->partial = partial;
    if (!partial) {
        g->assigned_announce = false; // an assignment not yet announced is given up at once
        tpset_clear(&g->rev);
        for (size_t i = 0; i < g->num_assigned; i++) {
            tpset_add(&g->rev, g->assigned[i].topic, g->assigned[i].partition);
        }
    }
}

void group_coop_synced(struct cons_group *g, uint64_t now, const struct tp_set *old)
{
    tpset_clear(&g->rev);
    for (size_t i = 0; i < old->n; i++) {
        if (!assigned_has(g, old->tps[i].topic, old->tps[i].partition)) {
            tpset_add(&g->rev, old->tps[i].topic, old->tps[i].partition);
        }
    }
    g->last_heartbeat_ok = now;
    g->next_heartbeat = now + g->heartbeat_ms;
    if (g->rev.n > 0) {
        group_begin_revoke(g, now, true);
        return;
    }
    g->state = CONS_GROUP_STABLE;
    g->why[0] = 0;
    g->assigned_announce = true;
}

void group_revoke_finished(struct cons_group *g, uint64_t now)
{
    tpset_clear(&g->rev);
    if (g->partial) {
        g->partial = false;
        if (!g->closing && g->generation >= 0 && g->member_id[0]) {
            // The moving partitions are gone: what stays (and what was added) is ours now, and
            // the next rebalance hands the revoked ones over.
            g->assigned_announce = true;
            g->state = CONS_GROUP_JOINING;
            g->join_wanted = true;
            return;
        }
        if (g->num_assigned > 0) {
            group_begin_revoke(g, now, false); // leaving, or the membership was lost meanwhile
            return;
        }
    }
    group_clear_assignment(g);
    if (g->closing) {
        g->state = CONS_GROUP_LEAVING;
        g->leave_wanted = g->member_id[0] && !g->instance_id;
    } else {
        g->state = CONS_GROUP_JOINING;
        g->join_wanted = true;
    }
}
