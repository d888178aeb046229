// find_coordinator.h: FindCoordinator (API 10) request writer and response parser, versions 0-4
// (flexible 3+).
//
// Checked against apache/kafka FindCoordinatorRequest.json / FindCoordinatorResponse.json:
// v1 KeyType, throttle time and error message; v3 flexible; v4 batched lookups (KIP-699:
// CoordinatorKeys in, Coordinators out, no top-level Key/ErrorCode/NodeId/Host/Port).
// One API covers both shapes: a request lists keys (exactly one below v4) and a response is
// walked as coordinators; below v4 the single coordinator has an empty key view (the caller
// knows which key it asked for).
#ifndef PROTO_FIND_COORDINATOR_H
#define PROTO_FIND_COORDINATOR_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Key types (KeyType, v1+).
#define KP_COORDINATOR_GROUP 0
#define KP_COORDINATOR_TRANSACTION 1

// struct kp_find_coordinator_req: |keys| are NUL-terminated group ids (or transactional ids),
// borrowed for the call. Below v4 exactly one key; a non-group key_type in v0 fails the writer.
struct kp_find_coordinator_req {
    int8_t key_type;
    const char *const *keys;
    size_t num_keys;
};

// kp_find_coordinator_req_write writes the body for |version| (0-4); anything |version| cannot
// carry fails |w|.
bool kp_find_coordinator_req_write(kw *w, int16_t version,
                                   const struct kp_find_coordinator_req *req);

// struct kp_find_coordinator_coord: one lookup result. |key| is empty below v4; |error_message|
// is null in v0 (and whenever the broker sends none).
struct kp_find_coordinator_coord {
    kr key;
    int32_t node_id;
    kr host;
    int32_t port;
    int16_t error_code;
    kr error_message;
    bool error_message_null;
};

// struct kp_find_coordinator_resp holds views into the response frame, which must outlive them.
struct kp_find_coordinator_resp {
    int16_t version;
    int32_t throttle_time_ms;                // 0 in v0
    uint32_t num_coordinators;               // 1 below v4
    kr coordinators;                         // v4+: the validated entries
    struct kp_find_coordinator_coord legacy; // below v4: the one result
};

struct kp_find_coordinator_iter {
    kr rest;
    uint32_t left;
    int16_t version;
    struct kp_find_coordinator_coord legacy;
};

// kp_find_coordinator_resp_parse parses and validates a whole response body of |version| (0-4).
enum kp_status kp_find_coordinator_resp_parse(kr *body, int16_t version,
                                              struct kp_find_coordinator_resp *out,
                                              struct kp_err *err);

// kp_find_coordinator_coordinators starts an iteration over the results (one below v4);
// kp_find_coordinator_next_coordinator returns false at the end.
void kp_find_coordinator_coordinators(const struct kp_find_coordinator_resp *resp,
                                      struct kp_find_coordinator_iter *out_it);
bool kp_find_coordinator_next_coordinator(struct kp_find_coordinator_iter *it,
                                          struct kp_find_coordinator_coord *out);

#endif
