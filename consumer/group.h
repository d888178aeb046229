// group.h: classic consumer-group membership (eager, or incremental cooperative with KIP-429)
// as a sans-I/O state machine.
//
// The machine does no I/O and reads no clock: the driver (consumer/consumer.c, or a test) passes
// the time in, feeds it parsed broker responses, and asks it what to do next with
// cons_group_poll, which returns one action at a time:
//
//   SEND         write request |api_key| with cons_group_write_request and send it to the
//                coordinator (or, for FindCoordinator, to any broker); then report the answer
//                with cons_group_on_response (exactly once per SEND, an error included);
//   COORDINATOR  the coordinator is node |node_id| at host:port: (re)connect to it;
//   REVOKE       stop fetching the partitions cons_group_revoking lists (eager: every assigned
//                one; cooperative: those that move to another member), let in-flight work
//                finish (or abandon it), commit what finished, then call cons_group_revoke_done
//                (after rebalance_timeout_ms the machine goes on without it);
//   ASSIGNED     a new assignment is in force (cons_group_assigned lists it; for a
//                cooperative member it includes the partitions it kept, which never stopped);
//   FATAL        membership is impossible (class and message say why); the machine stops;
//   CLOSED       cons_group_close finished (LeaveGroup answered or given up).
// CONS_GACT_NONE means nothing until cons_group_next_wake (or the next response).
//
// States (one do_<state>() each, driven by a switch in cons_group_poll):
//
//   INIT -> JOINING -> SYNCING -> STABLE --(rebalance / error)--> REVOKING -> JOINING
//                ^  \_______________________________________________/
//                +-- errors that need a new join
//   any --(cons_group_close)--> REVOKING -> LEAVING -> CLOSED;   any --(fatal)--> FAILED
//   cooperative: STABLE --(rebalance)--> JOINING -> SYNCING -> STABLE, or -> REVOKING (what
//   moves) -> JOINING
//
// The coordinator is looked up (FindCoordinator) whenever it is unknown, in any state, without
// leaving the state: NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / a lost connection forget it.
// At most one request of each kind is outstanding at any time.
//
// Error handling follows the Java AbstractCoordinator (kafka-protocol notes, section 6.4):
// REBALANCE_IN_PROGRESS rejoins with the same member id; ILLEGAL_GENERATION resets the
// generation and rejoins; UNKNOWN_MEMBER_ID also forgets the member id; FENCED_INSTANCE_ID is
// fatal on JoinGroup/SyncGroup and a reset + rejoin on Heartbeat; COORDINATOR_LOAD_IN_PROGRESS
// backs off; MEMBER_ID_REQUIRED rejoins at once with the id given; INCONSISTENT_GROUP_PROTOCOL,
// INVALID_SESSION_TIMEOUT, INVALID_GROUP_ID, GROUP_MAX_SIZE_REACHED are fatal and
// GROUP_AUTHORIZATION_FAILED is fatal of class AUTHZ. Other codes follow proto/errors.h.
//
// Protocols offered: the configured assignors in order (default range, then roundrobin, the
// librdkafka and Java order). The subscription is a v1 ConsumerProtocolSubscription (topics,
// empty non-null user data, and the owned partitions: none for an eager member, which owns
// nothing when it joins).
//
// Cooperative (the assignors are cooperative-sticky; mixing them with eager ones is a CONFIG
// failure, as in librdkafka): a rebalance keeps the assignment (JOINING and SYNCING with
// partitions assigned, which the driver keeps fetching); after SyncGroup the partitions owned
// but no longer assigned are revoked (REVOKE, then ASSIGNED with the rest and what was added)
// and the member rejoins at once; a lost membership (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, no
// heartbeat for a session) revokes everything first, as an eager member does. group_coop.c.
// As leader the machine decodes every member's subscription (any version) and assigns with the
// protocol the coordinator selected, using the partition counts given by
// cons_group_set_topic_meta; a subscribed topic with no known count gets no partitions.
#ifndef CONSUMER_GROUP_H
#define CONSUMER_GROUP_H

#include "consumer/assignor.h"
#include "consumer/cons_error.h"
#include "proto/kr.h"
#include "proto/kw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cons_group_state {
    CONS_GROUP_INIT = 0,
    CONS_GROUP_JOINING,
    CONS_GROUP_SYNCING,
    CONS_GROUP_STABLE,
    CONS_GROUP_REVOKING,
    CONS_GROUP_LEAVING,
    CONS_GROUP_CLOSED,
    CONS_GROUP_FAILED,
};

enum cons_group_act_kind {
    CONS_GACT_NONE = 0,
    CONS_GACT_SEND,
    CONS_GACT_COORDINATOR,
    CONS_GACT_REVOKE,
    CONS_GACT_ASSIGNED,
    CONS_GACT_FATAL,
    CONS_GACT_CLOSED,
};

// struct cons_group_action: strings point into the machine and stay valid until the next call.
struct cons_group_action {
    enum cons_group_act_kind kind;
    int16_t api_key;                 // SEND
    bool to_coordinator;             // SEND: false = any broker
    uint32_t timeout_ms;             // SEND: client-side request timeout
    int32_t node_id;                 // COORDINATOR
    const char *host;                // COORDINATOR
    uint16_t port;                   // COORDINATOR
    enum cons_error_class err_class; // FATAL
    const char *msg;                 // FATAL: one line
};

// struct cons_group_config: borrowed strings are copied by cons_group_new. Zero = default.
struct cons_group_config {
    const char *group_id;
    const char *group_instance_id; // NULL = dynamic member (static membership otherwise)
    const char *const *topics;
    size_t num_topics;
    uint32_t session_timeout_ms;    // 45000
    uint32_t heartbeat_interval_ms; // 3000
    uint32_t rebalance_timeout_ms;  // 300000 (sent as RebalanceTimeoutMs)
    uint32_t retry_backoff_ms;      // 100 (doubles per consecutive failure up to 10x)
    // leader_sync_delay_ms holds the leader's SyncGroup back this long after the JoinGroup
    // answer when the group has other members (0 = none). librdkafka 2.0.2's mock coordinator
    // completes the sync as soon as the leader's SyncGroup arrives and answers followers whose
    // SyncGroup comes later with INVALID_REQUEST and no assignment; librdkafka's own leader
    // avoids that by refreshing metadata first. A real coordinator accepts any order.
    uint32_t leader_sync_delay_ms;
    const enum cons_assignor *assignors; // NULL = {range, roundrobin}; at most 3
    size_t num_assignors;
};

struct cons_group;

// cons_group_new copies |cfg|; never NULL (aborts on OOM). cons_group_free(NULL) is a no-op.
struct cons_group *cons_group_new(const struct cons_group_config *cfg);
void cons_group_free(struct cons_group *g);

// cons_group_poll returns the next action (CONS_GACT_NONE when there is none now). Call it
// until NONE after every input and when cons_group_next_wake passes.
void cons_group_poll(struct cons_group *g, uint64_t now_ms, struct cons_group_action *out);
// cons_group_next_wake returns the time the machine next needs a poll (UINT64_MAX: none).
uint64_t cons_group_next_wake(const struct cons_group *g);

// cons_group_write_request writes the body of the request the last SEND asked for, at
// |version| (the version negotiated with the broker). Returns false if |api_key| is not one the
// machine sent or the writer failed.
bool cons_group_write_request(struct cons_group *g, int16_t api_key, int16_t version, kw *w);

// cons_group_on_response reports the answer to a SEND: |body| is the response body after the
// header (NULL when |net_err| is non-zero: timeout, disconnect). A body that does not parse is
// treated like a lost connection. Must be called exactly once per SEND.
void cons_group_on_response(struct cons_group *g, uint64_t now_ms, int16_t api_key, int16_t version,
                            const kr *body, int net_err);

// cons_group_set_topic_meta gives the partition counts the leader assigns from (copied).
void cons_group_set_topic_meta(struct cons_group *g, const struct cons_topic_meta *topics,
                               size_t num_topics);

// cons_group_revoke_done tells the machine the upper layer finished a REVOKE.
void cons_group_revoke_done(struct cons_group *g, uint64_t now_ms);
// cons_group_rejoin asks for a rebalance (e.g. a commit saw REBALANCE_IN_PROGRESS /
// ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID: pass that code, or 0 for a plain rejoin).
void cons_group_rejoin(struct cons_group *g, uint64_t now_ms, int16_t error_code);
// cons_group_coordinator_lost forgets the coordinator (e.g. a commit saw NOT_COORDINATOR).
void cons_group_coordinator_lost(struct cons_group *g, uint64_t now_ms);
// cons_group_close starts leaving: REVOKE (if anything is assigned), LeaveGroup (dynamic
// members only, as Java), then CLOSED.
void cons_group_close(struct cons_group *g, uint64_t now_ms);

// Accessors.
enum cons_group_state cons_group_state(const struct cons_group *g);
const char *cons_group_state_name(enum cons_group_state st);
int32_t cons_group_generation(const struct cons_group *g);
const char *cons_group_member_id(const struct cons_group *g);
// cons_group_why: the broker answer that last sent the member back to JOINING, "" if none.
const char *cons_group_why(const struct cons_group *g);
const char *cons_group_id(const struct cons_group *g);
const char *cons_group_instance_id(const struct cons_group *g);
bool cons_group_is_leader(const struct cons_group *g);
const char *cons_group_protocol(const struct cons_group *g); // "" before the first sync
// cons_group_coordinator returns the coordinator node id, or -1 while it is unknown.
int32_t cons_group_coordinator(const struct cons_group *g);
// cons_group_assigned returns the current assignment (|*out_n| entries; the topic strings
// belong to the machine and stay valid until the next assignment or revoke).
const struct cons_tp *cons_group_assigned(const struct cons_group *g, size_t *out_n);
// cons_group_revoking returns what the current REVOKE is about (valid until the revoke ends).
const struct cons_tp *cons_group_revoking(const struct cons_group *g, size_t *out_n);
// cons_group_cooperative returns whether the member runs the cooperative rebalance protocol.
bool cons_group_cooperative(const struct cons_group *g);
// cons_group_inflight returns whether a request of |api_key| is outstanding.
bool cons_group_inflight(const struct cons_group *g, int16_t api_key);

#endif
