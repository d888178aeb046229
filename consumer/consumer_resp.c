// consumer_resp.c: the consumer's responses (see consumer.c): Metadata (leaders, partition
// counts, unknown and unauthorized topics), OffsetFetch, ListOffsets, Fetch and OffsetCommit
// outcomes, and the group machine's answers.
#include "base/alloc.h"
#include "consumer/consumer_int.h"
#include "consumer/fetchbudget.h"
#include "proto/api.h"
#include "proto/errors.h"

#include <stdio.h>
#include <stdlib.h>

void cons_apply_leaders(struct cons *c)
{
    for (size_t i = 0; i < c->f.num_parts; i++) {
        struct cons_part *p = &c->f.parts[i];
        int32_t epoch;
        int32_t leader = broker_metadata_leader(c->md, p->topic, p->partition, &epoch);
        if (leader != p->leader && leader >= 0) {
            kesm_log(KESM_LOG_INFO, c->log, "%s [%d]: leader is broker %d", p->topic,
                     (int)p->partition, (int)leader);
        }
        p->leader = leader;
        p->leader_epoch = epoch;
        if (leader < 0) {
            c->md_wanted = true;
        }
    }
}

// check_partition_counts rejoins the group when a subscribed topic gained (or lost) partitions,
// so the leader assigns the new ones, as the Java client's leader does on a metadata change.
static void check_partition_counts(struct cons *c, uint64_t now)
{
    bool changed = false;
    for (size_t i = 0; i < c->cfg.num_topics; i++) {
        const struct broker_md_topic *t = broker_metadata_topic(c->md, c->topics[i]);
        int32_t n = t && t->error_code == 0 ? t->num_partitions : 0;
        if (n > 0 && c->part_counts[i] > 0 && n != c->part_counts[i]) {
            kesm_log(KESM_LOG_INFO, c->log, "topic %s: %d partitions, was %d; rejoining group %s",
                     c->topics[i], (int)n, (int)c->part_counts[i], c->group_id);
            changed = true;
        }
        if (n > 0) {
            c->part_counts[i] = n;
        }
    }
    if (changed && !c->g8) {
        cons_group_rejoin(c->g, now, 0); // KIP-848: the coordinator sees it by itself
    }
}

static void on_metadata(struct cons *c, const struct broker_resp *resp, int16_t hb_version)
{
    uint64_t now = broker_cluster_now_ms(c->cl);
    c->md_inflight = false;
    if (resp->err != BROKER_OK) {
        c->md_next = now + 500;
        return;
    }
    struct kp_err err = {0};
    enum kp_status st = broker_metadata_update(c->md, &resp->body, resp->version, &err);
    if (st != KP_OK) {
        kesm_log(KESM_LOG_WARN, c->log, "Metadata v%d response: %s at byte %zu (%s)", resp->version,
                 kp_status_name(st), err.offset, err.field ? err.field : "?");
        c->md_next = now + 1000;
        return;
    }
    struct cons_topic_meta *tm = xcalloc(c->cfg.num_topics + 1, sizeof *tm);
    size_t ntm = 0;
    bool unknown = false;
    for (size_t i = 0; i < c->cfg.num_topics; i++) {
        const struct broker_md_topic *t = broker_metadata_topic(c->md, c->topics[i]);
        char nb[KP_ERROR_NAME_BUF], msg[300];
        if (!t || t->error_code == KP_ERR_CODE_UNKNOWN_TOPIC_OR_PARTITION ||
            (t->error_code == 0 && t->num_partitions == 0)) {
            unknown = true;
            continue;
        }
        if (t->error_code == KP_ERR_CODE_TOPIC_AUTHORIZATION_FAILED) {
            snprintf(msg, sizeof msg, "not authorized to read topic %s (%s)", c->topics[i],
                     kp_error_name_buf(t->error_code, nb, sizeof nb));
            cons_fail(c, CONS_ERR_AUTHZ, msg);
            free(tm);
            return;
        }
        if (t->error_code != 0) {
            kesm_log(KESM_LOG_WARN, c->log, "Metadata for topic %s: %s", c->topics[i],
                     kp_error_name_buf(t->error_code, nb, sizeof nb));
        }
        tm[ntm++] = (struct cons_topic_meta){.topic = t->name, .num_partitions = t->num_partitions};
    }
    c->unknown_topic_answers = unknown ? c->unknown_topic_answers + 1 : 0;
    if (c->unknown_topic_answers >= 3) {
        char msg[300];
        snprintf(msg, sizeof msg, "topic %s does not exist (UNKNOWN_TOPIC_OR_PARTITION)",
                 c->cfg.num_topics == 1 ? c->topics[0] : "of the subscription");
        cons_fail(c, CONS_ERR_CONFIG, msg);
        free(tm);
        return;
    }
    cons_group_set_topic_meta(c->g, tm, ntm);
    free(tm);
    check_partition_counts(c, now);
    if (!c->md_ready && !unknown) {
        cons_member_decide(c, hb_version);
        c->md_ready = true;
        c->boot_drop = true;
        broker_cluster_retire_bootstrap(c->cl);
        kesm_log(KESM_LOG_INFO, c->log, "metadata: %zu brokers; joining group %s",
                 c->md->num_brokers, c->group_id);
    }
    c->md_last_ok = now;
    c->md_next = now + (unknown ? 1000 : c->cfg.retry_backoff_ms * 2);
    c->md_wanted = unknown;
    cons_apply_leaders(c);
}

static void log_note(const struct cons *c, const char *note)
{
    if (note && note[0]) {
        kesm_log(KESM_LOG_WARN, c->log, "%s", note);
    }
}

static void offsets_outcome(struct cons *c, const struct cons_offsets_outcome *o)
{
    uint64_t now = broker_cluster_now_ms(c->cl);
    log_note(c, o->note);
    if (o->fatal) {
        cons_fail(c, o->err_class, o->msg);
        return;
    }
    if (o->refresh_metadata) {
        c->md_wanted = true;
    }
    if (o->coordinator_lost) {
        if (c->g8) {
            cons_g848_coordinator_lost(c->g8, now);
        } else {
            cons_group_coordinator_lost(c->g, now);
        }
    }
    if (o->rejoin_code != 0 && c->g8) {
        // KIP-848: a commit refused for the epoch (STALE_MEMBER_EPOCH...) waits for the next
        // heartbeat, which brings the current epoch (or fences the member).
        char nb[KP_ERROR_NAME_BUF];
        kesm_log(KESM_LOG_WARN, c->log, "group %s: commit refused: %s", c->group_id,
                 kp_error_name_buf(o->rejoin_code, nb, sizeof nb));
    } else if (o->rejoin_code != 0) {
        char nb[KP_ERROR_NAME_BUF];
        kesm_log(KESM_LOG_WARN, c->log, "group %s: %s; rejoining", c->group_id,
                 kp_error_name_buf(o->rejoin_code, nb, sizeof nb));
        cons_group_rejoin(c->g, now, o->rejoin_code);
    }
}

static void on_fetch(struct cons *c, struct broker_node *b, const struct broker_resp *resp)
{
    uint64_t now = broker_cluster_now_ms(c->cl);
    b->busy &= ~BUSY_FETCH;
    struct cons_fetch_outcome o;
    cons_fetcher_on_response(&c->f, b->id, now, resp->version,
                             resp->err == BROKER_OK ? &resp->body : NULL, &o);
    log_note(c, c->f.note);
    if (resp->err != BROKER_OK && resp->err != BROKER_ERR_CLOSED) {
        kesm_log(KESM_LOG_WARN, c->log, "Fetch from broker %d: %s", (int)b->id,
                 broker_err_name(resp->err));
    }
    if (o.fatal) {
        cons_fail(c, o.err_class, o.msg);
    }
    if (o.refresh_metadata) {
        c->md_wanted = true;
    }
}

void cons_on_resp(struct broker_conn *conn, const struct broker_resp *resp, void *ctx)
{
    (void)conn;
    struct req_ctx *rc = ctx;
    struct cons *c = rc->c;
    if (c->freeing) {
        cons_fetch_budget_give(rc->grant);
        free(rc);
        return;
    }
    uint64_t now = broker_cluster_now_ms(c->cl);
    const kr *body = resp->err == BROKER_OK ? &resp->body : NULL;
    struct cons_offsets_outcome o;
    switch (rc->kind) {
    case R_GROUP:
        if (c->g8) {
            cons_g848_on_response(c->g8, now, rc->api_key, resp->version, body, resp->err);
        } else {
            cons_group_on_response(c->g, now, rc->api_key, resp->version, body, resp->err);
        }
        break;
    case R_METADATA:
        on_metadata(c, resp,
                    rc->b && rc->b->conn
                        ? broker_conn_version(rc->b->conn, KP_API_CONSUMER_GROUP_HEARTBEAT)
                        : -1);
        break;
    case R_OFFSET_FETCH:
        c->ofetch_inflight = false;
        cons_offsets_fetch_on_response(&c->f, resp->version, body, &o);
        if (o.retry_later || o.coordinator_lost) {
            c->ofetch_retry_at = now + c->cfg.retry_backoff_ms * 2;
        }
        offsets_outcome(c, &o);
        break;
    case R_LIST:
        rc->b->busy &= ~BUSY_LIST;
        cons_offsets_list_on_response(&c->f, rc->b->id, resp->version, body, &o);
        offsets_outcome(c, &o);
        break;
    case R_FETCH:
        on_fetch(c, rc->b, resp);
        break;
    case R_COMMIT:
        c->commit_inflight = false;
        cons_offsets_commit_on_response(&c->f, resp->version, body, &o);
        c->commit_errors += o.failed + (o.coordinator_lost ? 1u : 0u);
        if (o.retry_later || o.coordinator_lost) {
            c->commit_retry_at = now + c->cfg.retry_backoff_ms * 2;
        }
        offsets_outcome(c, &o);
        if (c->revoke == REV_COMMITTING) {
            c->revoke = REV_DONE;
        }
        break;
    }
    cons_fetch_budget_give(rc->grant); // 0 unless a Fetch: its answer was handled
    free(rc);
    cons_pump(c);
}
