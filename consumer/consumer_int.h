// consumer_int.h: the consumer object, shared by consumer.c (lifecycle, public API, the pump),
// consumer_due.c (group actions and what is due) and consumer_resp.c (responses). Nothing
// outside consumer/ includes this.
#ifndef CONSUMER_CONSUMER_INT_H
#define CONSUMER_CONSUMER_INT_H

#include "base/log.h"
#include "broker/cluster.h"
#include "consumer/consumer.h"
#include "consumer/group.h"
#include "consumer/group848.h"
#include "consumer/offsets.h"

// Every broker id has one connection (struct broker_node of broker/cluster.h) for fetching and
// cluster requests; the group coordinator gets a second one of its own (coord), as the Java
// client and librdkafka do, so heartbeats and commits never queue behind a long-poll Fetch and a
// held JoinGroup never stalls fetches or metadata. The consumer's bits in broker_node.busy:
#define BUSY_FETCH 1u // a Fetch is in flight
#define BUSY_LIST 2u  // a ListOffsets is in flight

enum req_kind { R_GROUP, R_METADATA, R_OFFSET_FETCH, R_LIST, R_FETCH, R_COMMIT };

struct req_ctx {
    struct cons *c;
    enum req_kind kind;
    struct broker_node *b;
    int16_t api_key;
    size_t grant; // R_FETCH: the request's MaxBytes from the process-wide Fetch budget
};

enum revoke_phase { REV_NONE = 0, REV_WAIT_USER, REV_COMMIT, REV_COMMITTING, REV_DONE };

struct cons {
    struct broker_cluster *cl;
    uint64_t commit_errors; // OffsetCommit answers that failed, per partition (cons_commit_errors)
    struct cons_config cfg;
    char *bootstrap, *client_id;
    char **topics;
    struct cons_callbacks cb;
    char log_tag[KESM_LOG_TAG_MAX + 1]; // cfg.log_tag, copied
    char log[KESM_LOG_COMPONENT_CAP];   // log component: "consumer" or "consumer <log_tag>"

    struct cons_group *g;
    struct cons_g848 *g8;           // KIP-848 member, when that protocol was chosen (else NULL)
    bool proto_decided;             // classic or consumer is settled (at the first Metadata)
    char group_id[256];             // the group id, for logs and offset requests
    struct cons_tp *tp848, *rev848; // KIP-848 assignment / revoke, by topic name
    size_t num_rev848;
    enum cons_g848_state last_848;
    struct broker_metadata *md; // the cluster's
    struct cons_fetcher f;
    struct broker_node *coord;

    bool in_pump, pump_again;
    bool freeing, failed, closing, close_reported;
    uint64_t undecodable_batches; // decode failures of record batches
    bool done_due;                // close_done runs from the next tick
    void (*close_done)(struct cons *c, void *ctx);
    void *close_ctx;
    uint64_t close_deadline;

    bool md_ready, md_inflight, md_wanted;
    uint64_t md_next, md_last_ok;
    int unknown_topic_answers;
    bool boot_drop;
    bool ofetch_inflight, commit_inflight;
    uint64_t next_commit, ofetch_retry_at, commit_retry_at;
    enum revoke_phase revoke;
    enum cons_group_state last_state;
    uint64_t last_transient; // when on_error(TRANSIENT) was last called (0 = never)
    int32_t *part_counts;    // per subscribed topic, the partition count last seen (0 = unknown)
};

// consumer.c
void cons_fail(struct cons *c, enum cons_error_class cls, const char *msg);
void cons_pump(struct cons *c);
// cons_send sends a request of |kind| to |b|; false (nothing sent, logged) when the connection
// refuses it.
// cons_send_fetch sends |b|'s Fetch for the partitions marked for it, under a grant of the
// process-wide Fetch budget (consumer/fetchbudget.h). Returns 1 (sent), 0 (no budget now: try on
// a later pass) or -1 (the connection refused it).
int cons_send_fetch(struct cons *c, struct broker_node *b, uint32_t timeout_ms);
bool cons_send(struct cons *c, struct broker_node *b, enum req_kind kind, int16_t api_key,
               int16_t version, uint32_t timeout_ms);

// consumer_resp.c
void cons_on_resp(struct broker_conn *conn, const struct broker_resp *resp, void *ctx);
// cons_apply_leaders copies the metadata's leaders into the fetcher's partitions.
void cons_apply_leaders(struct cons *c);

// consumer_due.c
// cons_run_due drains the group machine's actions and sends whatever is due.
void cons_run_due(struct cons *c, uint64_t now);
// cons_start_revoke stops |tps| and asks the upper layer to finish them (REVOKE); incremental:
// only these go (cooperative or KIP-848), the rest keep running.
void cons_start_revoke(struct cons *c, const struct cons_tp *tps, size_t n, bool incremental);
// cons_assigned puts |tps| in force; incremental: partitions already fetched keep their state.
void cons_assigned(struct cons *c, const struct cons_tp *tps, size_t n, bool incremental);

// consumer_member.c: the membership as the driver sees it, classic (c->g) or KIP-848 (c->g8).
// cons_member_decide settles the protocol at the first Metadata answer; |hb_version| is the
// ConsumerGroupHeartbeat version negotiated with that broker (-1: not offered).
void cons_member_decide(struct cons *c, int16_t hb_version);
void cons848_actions(struct cons *c, uint64_t now);
bool cons_member_stable(const struct cons *c);
bool cons_member_can_commit(const struct cons *c);
int32_t cons_member_coordinator(const struct cons *c);
int32_t cons_member_generation(const struct cons *c); // generation, or the KIP-848 epoch
const char *cons_member_id(const struct cons *c);
const char *cons_member_protocol(const struct cons *c);
bool cons_member_closed(const struct cons *c);
void cons_member_close(struct cons *c, uint64_t now);
const struct cons_tp *cons_member_revoking(const struct cons *c, size_t *out_n);
void cons_member_revoke_done(struct cons *c, uint64_t now);

#endif
