// consumer_due.c: what the consumer's pump sends (see consumer.c): the group machine's actions
// (requests, coordinator changes, revoke and assignment), the revoke's commit, and Metadata,
// OffsetFetch, ListOffsets, Fetch and OffsetCommit when they are due.
#include "consumer/consumer_int.h"
#include "proto/api.h"

#include <stdio.h>

static struct broker_node *broker_get(struct cons *c, int32_t id, const char *host, uint16_t port)
{
    return broker_cluster_node(c->cl, id, false, host, port);
}

static void notify_state(struct cons *c)
{
    enum cons_group_state st = cons_group_state(c->g);
    if (st == c->last_state) {
        return;
    }
    c->last_state = st;
    size_t n = 0;
    cons_group_assigned(c->g, &n);
    const char *why = st == CONS_GROUP_JOINING ? cons_group_why(c->g) : "";
    kesm_log(KESM_LOG_INFO, c->log, "group %s: %s (generation %d, member %s%s)%s%s",
             cons_group_id(c->g), cons_group_state_name(st), (int)cons_group_generation(c->g),
             cons_group_member_id(c->g)[0] ? cons_group_member_id(c->g) : "-",
             cons_group_is_leader(c->g) ? ", leader" : "", why[0] ? ": " : "", why);
    if (c->cb.on_state) {
        struct cons_state_info info = {.state = cons_group_state_name(st),
                                       .generation = cons_group_generation(c->g),
                                       .member_id = cons_group_member_id(c->g),
                                       .leader = cons_group_is_leader(c->g),
                                       .protocol = cons_group_protocol(c->g),
                                       .num_assigned = n};
        c->cb.on_state(c, &info, c->cb.ctx);
    }
}

// ---- group actions ------------------------------------------------------------------------

void cons_start_revoke(struct cons *c, const struct cons_tp *tps, size_t n, bool incremental)
{
    for (size_t i = 0; i < n; i++) {
        struct cons_part *p = cons_fetcher_find(&c->f, tps[i].topic, tps[i].partition);
        if (p) {
            p->stopped = true;
        }
    }
    if (incremental) {
        kesm_log(KESM_LOG_INFO, c->log, "group %s: revoking %zu partitions, keeping %zu",
                 c->group_id, n, c->f.num_parts > n ? c->f.num_parts - n : 0);
    } else {
        kesm_log(KESM_LOG_INFO, c->log, "group %s: revoking %zu partitions", c->group_id, n);
    }

    c->revoke = REV_WAIT_USER;
    if (c->cb.on_revoking) {
        c->cb.on_revoking(c, tps, n, c->cb.ctx);
    } else {
        c->revoke = REV_COMMIT;
    }
}

void cons_assigned(struct cons *c, const struct cons_tp *tps, size_t n, bool incremental)
{
    c->revoke = REV_NONE;
    size_t kept = 0;
    if (incremental) {
        // KIP-429: the partitions kept through the rebalance never stopped; only new ones start
        // from the committed offsets.
        for (size_t i = 0; i < n; i++) {
            const struct cons_part *p = cons_fetcher_find(&c->f, tps[i].topic, tps[i].partition);
            kept += p && !p->stopped;
        }
        cons_fetcher_update(&c->f, tps, n);
    } else {
        cons_fetcher_assign(&c->f, tps, n);
    }
    cons_apply_leaders(c);
    char line[512];
    size_t off = 0;
    line[0] = 0;
    for (size_t i = 0; i < n && off < sizeof line - 40; i++) {
        off += (size_t)snprintf(line + off, sizeof line - off, "%s%s[%d]", i ? " " : "",
                                tps[i].topic, (int)tps[i].partition);
    }
    kesm_log(KESM_LOG_INFO, c->log,
             "group %s: generation %d assigned %zu partitions (%s, %zu kept): %s", c->group_id,
             (int)cons_member_generation(c), n, cons_member_protocol(c), kept, n ? line : "none");
    c->next_commit = broker_cluster_now_ms(c->cl) + c->cfg.auto_commit_interval_ms;
    if (c->cb.on_assigned) {
        c->cb.on_assigned(c, tps, n, c->cb.ctx);
    }
}

static void group_actions(struct cons *c, uint64_t now)
{
    for (int guard = 0; guard < 32; guard++) {
        struct cons_group_action a;
        cons_group_poll(c->g, now, &a);
        notify_state(c);
        switch (a.kind) {
        case CONS_GACT_NONE:
            return;
        case CONS_GACT_SEND: {
            struct broker_node *b = a.to_coordinator ? c->coord : broker_cluster_any(c->cl);
            if (!b || !cons_send(c, b, R_GROUP, a.api_key, BROKER_VERSION_AUTO, a.timeout_ms)) {
                cons_group_on_response(c->g, now, a.api_key, -1, NULL, BROKER_ERR_DISCONNECTED);
            }
            break;
        }
        case CONS_GACT_COORDINATOR:
            kesm_log(KESM_LOG_INFO, c->log, "group %s: coordinator is broker %d (%s:%u)",
                     cons_group_id(c->g), (int)a.node_id, a.host, (unsigned)a.port);
            c->coord = broker_cluster_node(c->cl, a.node_id, true, a.host, a.port);
            break;
        case CONS_GACT_REVOKE: {
            size_t n = 0;
            const struct cons_tp *tps = cons_group_revoking(c->g, &n);
            cons_start_revoke(c, tps, n, cons_group_cooperative(c->g));
            break;
        }
        case CONS_GACT_ASSIGNED: {
            size_t n = 0;
            const struct cons_tp *tps = cons_group_assigned(c->g, &n);
            cons_assigned(c, tps, n, cons_group_cooperative(c->g));
            break;
        }
        case CONS_GACT_FATAL:
            cons_fail(c, a.err_class, a.msg);
            break;
        case CONS_GACT_CLOSED:
            kesm_log(KESM_LOG_INFO, c->log, "group %s: left", cons_group_id(c->g));
            break;
        }
    }
}

// ---- what is due --------------------------------------------------------------------------------

static void maybe_metadata(struct cons *c, uint64_t now)
{
    if (c->md_inflight || c->failed) {
        return;
    }
    bool due = !c->md_ready || c->md_wanted || now >= c->md_last_ok + c->cfg.metadata_max_age_ms;
    if (!due || now < c->md_next) {
        return;
    }
    struct broker_node *b = broker_cluster_any(c->cl);
    if (b && cons_send(c, b, R_METADATA, KP_API_METADATA, BROKER_VERSION_AUTO, 0)) {
        c->md_inflight = true;
        c->md_wanted = false;
    }
    c->md_next = now + c->cfg.retry_backoff_ms * 2;
}

static bool group_usable(const struct cons *c)
{
    return !c->failed && cons_member_stable(c) && c->coord && cons_member_coordinator(c) >= 0;
}

static void maybe_offset_fetch(struct cons *c, uint64_t now)
{
    if (c->ofetch_inflight || !group_usable(c) || now < c->ofetch_retry_at) {
        return;
    }
    if (cons_offsets_fetch_begin(&c->f) == 0) {
        return;
    }
    if (cons_send(c, c->coord, R_OFFSET_FETCH, KP_API_OFFSET_FETCH, BROKER_VERSION_AUTO, 0)) {
        c->ofetch_inflight = true;
    } else {
        struct cons_offsets_outcome o;
        cons_offsets_fetch_on_response(&c->f, -1, NULL, &o);
    }
}

static void maybe_broker_work(struct cons *c, struct broker_node *b, uint64_t now)
{
    if (b->id < 0 || b->coord || c->failed) {
        return;
    }
    if (!(b->busy & BUSY_LIST) && broker_conn_state(b->conn) == BROKER_CONN_READY) {
        int16_t v = broker_conn_version(b->conn, KP_API_LIST_OFFSETS);
        v = v > 3 ? 3 : v;
        if (v >= 1 && cons_offsets_list_begin(&c->f, b->id) > 0) {
            if (cons_send(c, b, R_LIST, KP_API_LIST_OFFSETS, v, 0)) {
                b->busy |= BUSY_LIST;
            } else {
                struct cons_offsets_outcome o;
                cons_offsets_list_on_response(&c->f, b->id, v, NULL, &o);
            }
        }
    }
    if (!(b->busy & BUSY_FETCH) && cons_fetcher_begin_fetch(&c->f, b->id, now) > 0) {
        uint32_t t = c->cfg.request_timeout_ms + (uint32_t)c->f.cfg.max_wait_ms;
        int sent = cons_send_fetch(c, b, t);
        if (sent > 0) {
            b->busy |= BUSY_FETCH;
        } else if (sent == 0) {
            cons_fetcher_cancel_fetch(&c->f, b->id); // no Fetch budget now: on a later pass
        } else {
            struct cons_fetch_outcome o;
            cons_fetcher_on_response(&c->f, b->id, now, -1, NULL, &o);
        }
    }
}

// ensure_leaders opens connections to the leaders of assigned partitions.
static void ensure_leaders(struct cons *c)
{
    for (size_t i = 0; i < c->f.num_parts; i++) {
        const struct cons_part *p = &c->f.parts[i];
        if (p->leader >= 0 && !p->stopped && !broker_get(c, p->leader, NULL, 0)) {
            c->md_wanted = true;
        }
    }
}

static void maybe_commit(struct cons *c, uint64_t now, bool force)
{
    if (c->commit_inflight || !c->coord || cons_member_coordinator(c) < 0 ||
        !cons_member_can_commit(c) || c->failed || now < c->commit_retry_at) {
        return;
    }
    if (!force && now < c->next_commit) {
        return;
    }
    c->next_commit = now + c->cfg.auto_commit_interval_ms;
    if (cons_offsets_commit_begin(&c->f) == 0) {
        return;
    }
    if (cons_send(c, c->coord, R_COMMIT, KP_API_OFFSET_COMMIT, BROKER_VERSION_AUTO, 0)) {
        c->commit_inflight = true;
    } else {
        struct cons_offsets_outcome o;
        cons_offsets_commit_on_response(&c->f, -1, NULL, &o);
    }
}

static void revoke_progress(struct cons *c, uint64_t now)
{
    if (c->revoke == REV_COMMIT) {
        bool can =
            c->coord && cons_member_coordinator(c) >= 0 && cons_member_can_commit(c) && !c->failed;
        if (c->commit_inflight) {
            return; // a periodic commit is out: wait for it, then commit the rest
        }
        if (can && cons_offsets_pending_commit(&c->f)) {
            c->commit_retry_at = 0;
            maybe_commit(c, now, true);
            c->revoke = c->commit_inflight ? REV_COMMITTING : REV_DONE;
        } else {
            c->revoke = REV_DONE;
        }
    }
    if (c->revoke == REV_DONE) {
        size_t n = 0;
        const struct cons_tp *tps = cons_member_revoking(c, &n);
        c->revoke = REV_NONE;
        cons_fetcher_remove(&c->f, tps, n);
        cons_member_revoke_done(c, now);
    }
}

void cons_run_due(struct cons *c, uint64_t now)
{
    if (c->md_ready && !c->failed && c->g8) {
        cons848_actions(c, now);
        revoke_progress(c, now);
        cons848_actions(c, now);
    } else if (c->md_ready && !c->failed) {
        group_actions(c, now);
        revoke_progress(c, now);
        group_actions(c, now);
    }
    maybe_metadata(c, now);
    maybe_offset_fetch(c, now);
    ensure_leaders(c);
    for (size_t i = 0; i < broker_cluster_num_nodes(c->cl); i++) {
        maybe_broker_work(c, broker_cluster_node_at(c->cl, i), now);
    }
    maybe_commit(c, now, false);
}
