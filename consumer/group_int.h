// group_int.h: the group state machine's object, shared by group.c (the states, request bodies
// and accessors), group_resp.c (response handlers) and group_lead.c (the leader's assignment).
// Nothing outside consumer/ includes this.
#ifndef CONSUMER_GROUP_INT_H
#define CONSUMER_GROUP_INT_H

#include "consumer/group.h"
#include "proto/join_group.h"

#define MAX_ID 256
#define MAX_MEMBERS 1024
#define NUM_KINDS 5

// Request kinds the machine sends (index into inflight/pending).
enum kind { K_FIND = 0, K_JOIN, K_SYNC, K_HEARTBEAT, K_LEAVE };

// group_kind_api: the API key of each kind.
extern const int16_t group_kind_api[NUM_KINDS];

// struct tp_set: partitions whose topic strings the set owns (one copy per entry).
struct tp_set {
    struct cons_tp *tps;
    size_t n;
};

struct sync_entry {
    char *member_id;
    uint8_t *blob;
    size_t blob_len;
};

struct cons_group {
    // configuration
    char *group_id;
    char *instance_id;
    char **topics;
    size_t num_topics;
    uint32_t session_ms, heartbeat_ms, rebalance_ms, backoff_ms, sync_delay_ms;
    enum cons_assignor assignors[CONS_MAX_ASSIGNORS];
    size_t num_assignors;
    bool cooperative;  // KIP-429: the assignors are cooperative (never mixed with eager ones)
    uint8_t *sub_blob; // our subscription (same for every protocol)
    size_t sub_blob_len;

    // membership
    enum cons_group_state state;
    char member_id[MAX_ID];
    int32_t generation;
    char leader[MAX_ID];
    char protocol[32];
    struct cons_tp *assigned;
    size_t num_assigned;
    char **assigned_topics; // owned strings the cons_tp entries point at
    size_t num_assigned_topics;
    struct sync_entry *sync;
    size_t num_sync;
    struct tp_set rev; // what the current REVOKE is about
    bool partial;      // cooperative: the current revoke is of the partitions that move only

    // coordinator
    int32_t coord_id; // -1 unknown
    char coord_host[256];
    uint16_t coord_port;
    bool coord_announce;

    // scheduling
    bool inflight[NUM_KINDS];
    bool join_wanted;  // send JoinGroup when possible
    bool sync_wanted;  // send SyncGroup when possible
    bool leave_wanted; // send LeaveGroup when possible
    bool closing;
    bool revoke_announce;
    bool revoke_done;
    bool assigned_announce;
    uint64_t revoke_deadline;
    uint64_t wait_until; // backoff: no request before this time
    uint64_t next_heartbeat;
    uint64_t last_heartbeat_ok;
    uint32_t failures;     // consecutive, for the backoff
    uint32_t sync_invalid; // consecutive SyncGroup INVALID_REQUEST answers
    char why[96];          // why the group last left STABLE/SYNCING for a new join ("" unknown)

    // topic metadata for assignment
    struct cons_topic_meta *meta;
    char **meta_names; // owned strings meta[].topic points at
    size_t num_meta;

    // fatal
    bool fatal_announce;
    enum cons_error_class fatal_class;
    char fatal_msg[256];
};

// group.c: small helpers the three files share.
int group_kind_of(int16_t api_key);
void group_free_sync(struct cons_group *g);
void group_clear_assignment(struct cons_group *g);
void group_backoff(struct cons_group *g, uint64_t now);
void group_fail(struct cons_group *g, enum cons_error_class cls, const char *what, int16_t code);
void group_fail_code(struct cons_group *g, const char *what, int16_t code);
// group_why records the answer that makes the member join again ("SyncGroup answered X").
void group_why(struct cons_group *g, const char *what, int16_t code);
void group_forget_coordinator(struct cons_group *g, uint64_t now);
void group_start_rejoin(struct cons_group *g, uint64_t now);

// group_coop.c: partition sets, the subscription, and the cooperative (KIP-429) steps.
void tpset_clear(struct tp_set *s);
void tpset_add(struct tp_set *s, const char *topic, int32_t partition);
bool tpset_has(const struct tp_set *s, const char *topic, int32_t partition);
// group_build_subscription (re)builds the subscription blob: v1, with the owned partitions when
// cooperative. False (the group failed) when it does not encode.
bool group_build_subscription(struct cons_group *g);
// group_begin_revoke enters REVOKING for |partial| (the cooperative revoke of moving
// partitions, already in g->rev) or for every assigned partition.
void group_begin_revoke(struct cons_group *g, uint64_t now, bool partial);
// group_coop_synced: a cooperative member got its assignment (already in g->assigned; |old| is
// what it owned before): revoke what moved away, or announce the assignment at once.
void group_coop_synced(struct cons_group *g, uint64_t now, const struct tp_set *old);
// group_revoke_finished: the revoke is over (done or timed out): what comes next.
void group_revoke_finished(struct cons_group *g, uint64_t now);

// group_lead.c: as the group leader, compute the assignment from JoinGroup's member list and
// keep one SyncGroup entry per member; false (the group failed) on a member list it cannot use.
bool group_lead(struct cons_group *g, const struct kp_join_group_resp *r);

#endif
