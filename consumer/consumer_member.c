// consumer_member.c: the consumer's group membership as the driver sees it: the classic machine
// (consumer/group.h) or, when Kesm.GroupProtocol asks for it and the broker offers it, the
// KIP-848 machine (consumer/group848.h). The protocol is settled once, at the first Metadata
// answer (its connection's ApiVersions tell whether ConsumerGroupHeartbeat is offered). The
// KIP-848 assignment names topics by id: they are resolved against the Metadata of the
// subscribed topics (Metadata v10+ carries the ids); an id that matches none is skipped (and
// the metadata refreshed) until it does.
#include "base/alloc.h"
#include "consumer/consumer_int.h"
#include "proto/api.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// member_uuid writes a random UUID (KIP-1082: a v1 member chooses its own id).
static void member_uuid(char *out, size_t cap)
{
    uint8_t b[16] = {0};
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(b, 1, sizeof b, f) != sizeof b) {
        uint64_t t = (uint64_t)(uintptr_t)out ^ (uint64_t)time(NULL);
        memcpy(b, &t, sizeof t); // unique enough for a member id, never a secret
    }
    if (f) {
        fclose(f);
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, cap, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

void cons_member_decide(struct cons *c, int16_t hb_version)
{
    if (c->proto_decided) {
        return;
    }
    c->proto_decided = true;
    switch (c->cfg.group_protocol) {
    case CONS_GROUP_PROTOCOL_CLASSIC:
        return;
    case CONS_GROUP_PROTOCOL_AUTO:
        if (hb_version < 0) {
            kesm_log(KESM_LOG_INFO, c->log,
                     "group %s: the broker does not offer ConsumerGroupHeartbeat (KIP-848): "
                     "classic group protocol",
                     c->group_id);
            return;
        }
        break;
    case CONS_GROUP_PROTOCOL_CONSUMER:
        if (hb_version < 0) {
            cons_fail(c, CONS_ERR_CONFIG,
                      "GroupProtocol consumer: the broker does not offer ConsumerGroupHeartbeat "
                      "(API 68, KIP-848, Kafka 4.0+); use classic or auto");
            return;
        }
        break;
    }
    char id[40];
    member_uuid(id, sizeof id);
    struct cons_g848_config gc = {.group_id = c->group_id,
                                  .member_id = id,
                                  .instance_id = cons_group_instance_id(c->g),
                                  .topics = (const char *const *)c->topics,
                                  .num_topics = c->cfg.num_topics,
                                  .rebalance_timeout_ms = c->cfg.rebalance_timeout_ms,
                                  .retry_backoff_ms = c->cfg.retry_backoff_ms,
                                  .request_timeout_ms = c->cfg.request_timeout_ms};
    c->g8 = cons_g848_new(&gc);
    c->last_848 = CONS_G848_INIT;
    kesm_log(KESM_LOG_INFO, c->log,
             "group %s: consumer group protocol (KIP-848, ConsumerGroupHeartbeat v%d), member %s",
             c->group_id, (int)hb_version, id);
}

// resolve turns KIP-848 partitions into named ones in |*buf| (topics of the subscription only).
static size_t resolve(struct cons *c, const struct cons_tpid *v, size_t n, struct cons_tp **buf)
{
    *buf = xrealloc(*buf, (n + 1) * sizeof **buf);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = NULL;
        for (size_t t = 0; t < c->cfg.num_topics && !name; t++) {
            const struct broker_md_topic *mt = broker_metadata_topic(c->md, c->topics[t]);
            if (mt && !memcmp(mt->topic_id, v[i].topic_id, 16)) {
                name = c->topics[t];
            }
        }
        if (!name) {
            kesm_log(KESM_LOG_WARN, c->log,
                     "group %s: assigned partition %d of a topic id the metadata does not name "
                     "(Metadata v10+ needed); skipped",
                     c->group_id, (int)v[i].partition);
            c->md_wanted = true;
            continue;
        }
        (*buf)[out++] = (struct cons_tp){.topic = name, .partition = v[i].partition};
    }
    return out;
}

static void notify848(struct cons *c)
{
    enum cons_g848_state st = cons_g848_state(c->g8);
    if (st == c->last_848) {
        return;
    }
    c->last_848 = st;
    kesm_log(KESM_LOG_INFO, c->log, "group %s: %s (epoch %d, member %s)", c->group_id,
             cons_g848_state_name(st), (int)cons_g848_epoch(c->g8), cons_g848_member_id(c->g8));
    if (c->cb.on_state) {
        size_t n = 0;
        cons_g848_assigned(c->g8, &n);
        struct cons_state_info info = {.state = cons_g848_state_name(st),
                                       .generation = cons_g848_epoch(c->g8),
                                       .member_id = cons_g848_member_id(c->g8),
                                       .protocol = "consumer",
                                       .num_assigned = n};
        c->cb.on_state(c, &info, c->cb.ctx);
    }
}

static void act848(struct cons *c, uint64_t now, const struct cons_g848_action *a)
{
    size_t n = 0;
    switch (a->kind) {
    case CONS_G848_NONE:
        break;
    case CONS_G848_SEND: {
        struct broker_node *b = a->to_coordinator ? c->coord : broker_cluster_any(c->cl);
        if (!b || !cons_send(c, b, R_GROUP, a->api_key, BROKER_VERSION_AUTO, a->timeout_ms)) {
            cons_g848_on_response(c->g8, now, a->api_key, -1, NULL, BROKER_ERR_DISCONNECTED);
        }
        break;
    }
    case CONS_G848_COORDINATOR:
        kesm_log(KESM_LOG_INFO, c->log, "group %s: coordinator is broker %d (%s:%u)", c->group_id,
                 (int)a->node_id, a->host, (unsigned)a->port);
        c->coord = broker_cluster_node(c->cl, a->node_id, true, a->host, a->port);
        break;
    case CONS_G848_REVOKE: {
        const struct cons_tpid *v = cons_g848_revoking(c->g8, &n);
        c->num_rev848 = resolve(c, v, n, &c->rev848);
        if (a->lost) {
            kesm_log(KESM_LOG_WARN, c->log, "group %s: membership lost: %zu partitions lost",
                     c->group_id, c->num_rev848);
        }
        cons_start_revoke(c, c->rev848, c->num_rev848, true);
        break;
    }
    case CONS_G848_ASSIGNED: {
        const struct cons_tpid *v = cons_g848_assigned(c->g8, &n);
        size_t k = resolve(c, v, n, &c->tp848);
        cons_assigned(c, c->tp848, k, true);
        break;
    }
    case CONS_G848_FATAL:
        cons_fail(c, a->err_class, a->msg);
        break;
    case CONS_G848_CLOSED_ACT:
        kesm_log(KESM_LOG_INFO, c->log, "group %s: left", c->group_id);
        break;
    }
}

void cons848_actions(struct cons *c, uint64_t now)
{
    for (int guard = 0; guard < 32; guard++) {
        struct cons_g848_action a;
        cons_g848_poll(c->g8, now, &a);
        notify848(c);
        if (a.kind == CONS_G848_NONE) {
            return;
        }
        act848(c, now, &a);
    }
}

// ---- the membership, either protocol ------------------------------------------------------------

bool cons_member_stable(const struct cons *c)
{
    if (c->g8) {
        enum cons_g848_state st = cons_g848_state(c->g8);
        return st == CONS_G848_STABLE || st == CONS_G848_RECONCILING;
    }
    return cons_group_state(c->g) == CONS_GROUP_STABLE;
}

bool cons_member_can_commit(const struct cons *c)
{
    if (c->g8) {
        // OffsetCommit v9+ with the member epoch; a fenced member (epoch 0) must not commit.
        return cons_g848_epoch(c->g8) > 0 && cons_member_stable(c);
    }
    enum cons_group_state st = cons_group_state(c->g);
    return cons_group_generation(c->g) >= 0 &&
           (st == CONS_GROUP_STABLE || st == CONS_GROUP_REVOKING);
}

int32_t cons_member_coordinator(const struct cons *c)
{
    return c->g8 ? cons_g848_coordinator(c->g8) : cons_group_coordinator(c->g);
}

int32_t cons_member_generation(const struct cons *c)
{
    return c->g8 ? cons_g848_epoch(c->g8) : cons_group_generation(c->g);
}

const char *cons_member_id(const struct cons *c)
{
    return c->g8 ? cons_g848_member_id(c->g8) : cons_group_member_id(c->g);
}

const char *cons_member_protocol(const struct cons *c)
{
    return c->g8 ? "consumer" : cons_group_protocol(c->g);
}

bool cons_member_closed(const struct cons *c)
{
    return c->g8 ? cons_g848_state(c->g8) == CONS_G848_CLOSED
                 : cons_group_state(c->g) == CONS_GROUP_CLOSED;
}

void cons_member_close(struct cons *c, uint64_t now)
{
    if (c->g8) {
        cons_g848_close(c->g8, now);
    } else {
        cons_group_close(c->g, now);
    }
}

const struct cons_tp *cons_member_revoking(const struct cons *c, size_t *out_n)
{
    if (c->g8) {
        *out_n = c->num_rev848;
        return c->rev848;
    }
    return cons_group_revoking(c->g, out_n);
}

void cons_member_revoke_done(struct cons *c, uint64_t now)
{
    if (c->g8) {
        cons_g848_revoke_done(c->g8, now);
    } else {
        cons_group_revoke_done(c->g, now);
    }
}
