// errors.h: the Kafka protocol error codes (-1..133) with what a consumer should do about each.
//
// Names and retriability follow apache/kafka Errors.java: "retriable" means the Java exception
// for the code extends RetriableException, "invalid metadata" that it extends
// InvalidMetadataException (refresh metadata before retrying). The action is kesm's coarse advice
// for a consumer; the caller still decides per API (for example OFFSET_OUT_OF_RANGE on Fetch
// resets the position, but means nothing on a commit).
#ifndef PROTO_ERRORS_H
#define PROTO_ERRORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Error codes kesm's own code refers to by name.
enum kp_error_code {
    KP_ERR_CODE_UNKNOWN_SERVER_ERROR = -1,
    KP_ERR_CODE_NONE = 0,
    KP_ERR_CODE_OFFSET_OUT_OF_RANGE = 1,
    KP_ERR_CODE_UNKNOWN_TOPIC_OR_PARTITION = 3,
    KP_ERR_CODE_LEADER_NOT_AVAILABLE = 5,
    KP_ERR_CODE_NOT_LEADER_OR_FOLLOWER = 6,
    KP_ERR_CODE_REQUEST_TIMED_OUT = 7,
    KP_ERR_CODE_COORDINATOR_LOAD_IN_PROGRESS = 14,
    KP_ERR_CODE_COORDINATOR_NOT_AVAILABLE = 15,
    KP_ERR_CODE_NOT_COORDINATOR = 16,
    KP_ERR_CODE_ILLEGAL_GENERATION = 22,
    KP_ERR_CODE_INVALID_GROUP_ID = 24,
    KP_ERR_CODE_UNKNOWN_MEMBER_ID = 25,
    KP_ERR_CODE_INVALID_SESSION_TIMEOUT = 26,
    KP_ERR_CODE_REBALANCE_IN_PROGRESS = 27,
    KP_ERR_CODE_TOPIC_AUTHORIZATION_FAILED = 29,
    KP_ERR_CODE_GROUP_AUTHORIZATION_FAILED = 30,
    KP_ERR_CODE_UNSUPPORTED_SASL_MECHANISM = 33,
    KP_ERR_CODE_ILLEGAL_SASL_STATE = 34,
    KP_ERR_CODE_UNSUPPORTED_VERSION = 35,
    KP_ERR_CODE_INVALID_REQUEST = 42,
    KP_ERR_CODE_SASL_AUTHENTICATION_FAILED = 58,
    KP_ERR_CODE_FETCH_SESSION_ID_NOT_FOUND = 70,
    KP_ERR_CODE_INVALID_FETCH_SESSION_EPOCH = 71,
    KP_ERR_CODE_FENCED_LEADER_EPOCH = 74,
    KP_ERR_CODE_UNKNOWN_LEADER_EPOCH = 75,
    KP_ERR_CODE_OFFSET_NOT_AVAILABLE = 78,
    KP_ERR_CODE_MEMBER_ID_REQUIRED = 79,
    KP_ERR_CODE_FENCED_INSTANCE_ID = 82,
    KP_ERR_CODE_UNKNOWN_TOPIC_ID = 100,
};

// enum kp_error_action: what a consumer does on meeting a code.
enum kp_error_action {
    KP_ACTION_NONE = 0,                // no error
    KP_ACTION_RETRY,                   // back off and retry the same request on the same broker
    KP_ACTION_REFRESH_METADATA,        // refresh metadata (leader moved, topic changed), then retry
    KP_ACTION_FIND_COORDINATOR,        // look the group coordinator up again, then retry
    KP_ACTION_REJOIN,                  // rejoin the group, keeping the member id
    KP_ACTION_RESET_MEMBER_AND_REJOIN, // forget the member id (and generation), then rejoin
    KP_ACTION_RESET_OFFSET,            // apply the offset reset policy for the partition
    KP_ACTION_AUTHZ_FATAL,             // not authorized: stop and surface
    KP_ACTION_AUTHN_FATAL,             // authentication failed: stop and surface
    KP_ACTION_FATAL,                   // anything else: stop and surface
};

struct kp_error_info {
    int16_t code;
    const char *name;      // "NOT_LEADER_OR_FOLLOWER"
    bool retriable;        // Java RetriableException
    bool invalid_metadata; // Java InvalidMetadataException
    enum kp_error_action action;
};

// kp_error_info_get returns the table entry for |code|, or NULL for a code not in the table.
const struct kp_error_info *kp_error_info_get(int16_t code);

// kp_error_name returns the static name of |code|, or "UNKNOWN_ERROR_CODE" for an unknown one.
const char *kp_error_name(int16_t code);

// KP_ERROR_NAME_BUF is enough for any kp_error_name_buf result.
#define KP_ERROR_NAME_BUF 40

// kp_error_name_buf returns the static name of |code|, or writes "UNKNOWN_ERROR_<code>" into
// |buf| (NUL-terminated, truncated to |cap|) and returns |buf|.
const char *kp_error_name_buf(int16_t code, char *buf, size_t cap);

// kp_error_retriable returns the Java retriability of |code| (false for unknown codes).
bool kp_error_retriable(int16_t code);

// kp_error_action_of returns the consumer action for |code|; unknown codes are KP_ACTION_FATAL.
enum kp_error_action kp_error_action_of(int16_t code);

// kp_error_action_name returns a static lower-case name such as "refresh_metadata".
const char *kp_error_action_name(enum kp_error_action action);

#endif
