// group848.h: membership of a KIP-848 ("consumer" protocol) consumer group as a sans-I/O state
// machine: ConsumerGroupHeartbeat (API 68) with server-side assignment. Same shape as the
// classic machine (group.h): the driver passes the time in, feeds parsed answers, and polls one
// action at a time:
//
//   SEND         write request |api_key| (FindCoordinator or ConsumerGroupHeartbeat) with
//                cons_g848_write_request, send it, report the answer with cons_g848_on_response
//                exactly once;
//   COORDINATOR  the coordinator is node |node_id| at host:port;
//   REVOKE       stop the partitions cons_g848_revoking lists, finish or abandon their work,
//                commit (unless |lost|: the membership is gone, a commit would be refused), then
//                call cons_g848_revoke_done (the machine goes on by itself after
//                rebalance_timeout_ms);
//   ASSIGNED     cons_g848_assigned is the new assignment (by topic id: resolve the names with
//                Metadata v10+);
//   FATAL        membership is impossible (class and message say why);
//   CLOSED       the member left the group (epoch -1 answered or given up).
//
// States: INIT -> JOINING (epoch 0 sent) -> STABLE (heartbeats every HeartbeatIntervalMs, as
// the coordinator says) <-> RECONCILING (a new target: revoke what is no longer assigned, then
// take the rest, then acknowledge with the next heartbeat) ; any -> LEAVING -> CLOSED ; FAILED.
//
// Rules (KIP-848 and the Java client, round-2 notes section 5):
// - The member id is the caller's (a UUID, as version 1 requires; version 0 accepts it too) and
//   is kept for the life of the machine. The epoch starts at 0 (join); every answer's
//   MemberEpoch becomes the current one; leaving sends -1 (static members -2).
// - A join, and the first heartbeat after a lost answer or a fencing, is "full": it carries
//   RebalanceTimeoutMs, SubscribedTopicNames, ServerAssignor (if set) and the owned partitions
//   (an empty array on join); other heartbeats send those as null (unchanged), except the owned
//   partitions whenever they changed since the last heartbeat.
// - An Assignment in an answer is the complete target. Partitions owned but not in it are
//   revoked first (REVOKE), then the target is taken (ASSIGNED), then a heartbeat acknowledges
//   it at once: nothing is acknowledged before its revoke is done.
// - FENCED_MEMBER_EPOCH and UNKNOWN_MEMBER_ID: every owned partition is lost (REVOKE with
//   |lost|), the epoch goes back to 0 and the member joins again with the same member id.
// - NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, a lost answer: find the coordinator again;
//   COORDINATOR_LOAD_IN_PROGRESS: back off. UNSUPPORTED_VERSION (the cluster does not run the
//   protocol), GROUP_AUTHORIZATION_FAILED, TOPIC_AUTHORIZATION_FAILED, INVALID_REQUEST,
//   UNSUPPORTED_ASSIGNOR, UNRELEASED_INSTANCE_ID, FENCED_INSTANCE_ID, GROUP_MAX_SIZE_REACHED:
//   fatal. Anything else retriable backs off; the rest is fatal.
#ifndef CONSUMER_GROUP848_H
#define CONSUMER_GROUP848_H

#include "consumer/cons_error.h"
#include "proto/kr.h"
#include "proto/kw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cons_g848_state {
    CONS_G848_INIT = 0,
    CONS_G848_JOINING,
    CONS_G848_STABLE,
    CONS_G848_RECONCILING,
    CONS_G848_LEAVING,
    CONS_G848_CLOSED,
    CONS_G848_FAILED,
};

enum cons_g848_act_kind {
    CONS_G848_NONE = 0,
    CONS_G848_SEND,
    CONS_G848_COORDINATOR,
    CONS_G848_REVOKE,
    CONS_G848_ASSIGNED,
    CONS_G848_FATAL,
    CONS_G848_CLOSED_ACT,
};

struct cons_g848_action {
    enum cons_g848_act_kind kind;
    int16_t api_key;                 // SEND
    bool to_coordinator;             // SEND
    uint32_t timeout_ms;             // SEND
    int32_t node_id;                 // COORDINATOR
    const char *host;                // COORDINATOR
    uint16_t port;                   // COORDINATOR
    bool lost;                       // REVOKE: the membership is gone (do not commit)
    enum cons_error_class err_class; // FATAL
    const char *msg;                 // FATAL
};

// A partition by topic id.
struct cons_tpid {
    uint8_t topic_id[16];
    int32_t partition;
};

// struct cons_g848_config: strings are copied. Zero = default.
struct cons_g848_config {
    const char *group_id;
    const char *member_id;   // required: the member's own id (a UUID string, 1-64 bytes)
    const char *instance_id; // static membership; NULL = dynamic
    const char *const *topics;
    size_t num_topics;
    const char *server_assignor;   // "uniform" / "range"; NULL = the coordinator's default
    uint32_t rebalance_timeout_ms; // 300000
    uint32_t retry_backoff_ms;     // 100
    uint32_t request_timeout_ms;   // 30000
};

struct cons_g848;

struct cons_g848 *cons_g848_new(const struct cons_g848_config *cfg);
void cons_g848_free(struct cons_g848 *g);

void cons_g848_poll(struct cons_g848 *g, uint64_t now_ms, struct cons_g848_action *out);
uint64_t cons_g848_next_wake(const struct cons_g848 *g);
// cons_g848_write_request writes the body of the request the last SEND asked for at |version|.
bool cons_g848_write_request(struct cons_g848 *g, int16_t api_key, int16_t version, kw *w);
// cons_g848_on_response: |body| after the response header, NULL with |net_err| != 0.
void cons_g848_on_response(struct cons_g848 *g, uint64_t now_ms, int16_t api_key, int16_t version,
                           const kr *body, int net_err);
void cons_g848_revoke_done(struct cons_g848 *g, uint64_t now_ms);
// cons_g848_close starts leaving: REVOKE what is owned, then a heartbeat with epoch -1 (-2 for
// a static member), then CLOSED.
void cons_g848_close(struct cons_g848 *g, uint64_t now_ms);
// cons_g848_coordinator_lost forgets the coordinator (a commit saw NOT_COORDINATOR).
void cons_g848_coordinator_lost(struct cons_g848 *g, uint64_t now_ms);

enum cons_g848_state cons_g848_state(const struct cons_g848 *g);
const char *cons_g848_state_name(enum cons_g848_state st);
// cons_g848_epoch is the member epoch for OffsetCommit v9+ (GenerationIdOrMemberEpoch).
int32_t cons_g848_epoch(const struct cons_g848 *g);
const char *cons_g848_member_id(const struct cons_g848 *g);
uint32_t cons_g848_heartbeat_interval(const struct cons_g848 *g);
int32_t cons_g848_coordinator(const struct cons_g848 *g);
const struct cons_tpid *cons_g848_assigned(const struct cons_g848 *g, size_t *out_n);
const struct cons_tpid *cons_g848_revoking(const struct cons_g848 *g, size_t *out_n);

#endif
