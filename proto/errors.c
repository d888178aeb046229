// errors.c: the Kafka error code table (see errors.h).
#include "proto/errors.h"

#include <stdio.h>

// Indexed by code + 1 (codes -1..133 are contiguous). Source: apache/kafka Errors.java and the
// exception class hierarchy under org.apache.kafka.common.errors.
static const struct kp_error_info table[] = {
    {-1, "UNKNOWN_SERVER_ERROR", false, false, KP_ACTION_RETRY},
    {0, "NONE", false, false, KP_ACTION_NONE},
    {1, "OFFSET_OUT_OF_RANGE", false, false, KP_ACTION_RESET_OFFSET},
    {2, "CORRUPT_MESSAGE", true, false, KP_ACTION_RETRY},
    {3, "UNKNOWN_TOPIC_OR_PARTITION", true, true, KP_ACTION_REFRESH_METADATA},
    {4, "INVALID_FETCH_SIZE", false, false, KP_ACTION_FATAL},
    {5, "LEADER_NOT_AVAILABLE", true, true, KP_ACTION_REFRESH_METADATA},
    {6, "NOT_LEADER_OR_FOLLOWER", true, true, KP_ACTION_REFRESH_METADATA},
    {7, "REQUEST_TIMED_OUT", true, false, KP_ACTION_RETRY},
    {8, "BROKER_NOT_AVAILABLE", false, false, KP_ACTION_REFRESH_METADATA},
    {9, "REPLICA_NOT_AVAILABLE", true, true, KP_ACTION_REFRESH_METADATA},
    {10, "MESSAGE_TOO_LARGE", false, false, KP_ACTION_FATAL},
    {11, "STALE_CONTROLLER_EPOCH", false, false, KP_ACTION_FATAL},
    {12, "OFFSET_METADATA_TOO_LARGE", false, false, KP_ACTION_FATAL},
    {13, "NETWORK_EXCEPTION", true, true, KP_ACTION_REFRESH_METADATA},
    {14, "COORDINATOR_LOAD_IN_PROGRESS", true, false, KP_ACTION_RETRY},
    {15, "COORDINATOR_NOT_AVAILABLE", true, false, KP_ACTION_FIND_COORDINATOR},
    {16, "NOT_COORDINATOR", true, false, KP_ACTION_FIND_COORDINATOR},
    {17, "INVALID_TOPIC_EXCEPTION", false, false, KP_ACTION_FATAL},
    {18, "RECORD_LIST_TOO_LARGE", false, false, KP_ACTION_FATAL},
    {19, "NOT_ENOUGH_REPLICAS", true, false, KP_ACTION_RETRY},
    {20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", true, false, KP_ACTION_RETRY},
    {21, "INVALID_REQUIRED_ACKS", false, false, KP_ACTION_FATAL},
    {22, "ILLEGAL_GENERATION", false, false, KP_ACTION_REJOIN},
    {23, "INCONSISTENT_GROUP_PROTOCOL", false, false, KP_ACTION_FATAL},
    {24, "INVALID_GROUP_ID", false, false, KP_ACTION_FATAL},
    {25, "UNKNOWN_MEMBER_ID", false, false, KP_ACTION_RESET_MEMBER_AND_REJOIN},
    {26, "INVALID_SESSION_TIMEOUT", false, false, KP_ACTION_FATAL},
    {27, "REBALANCE_IN_PROGRESS", false, false, KP_ACTION_REJOIN},
    {28, "INVALID_COMMIT_OFFSET_SIZE", false, false, KP_ACTION_FATAL},
    {29, "TOPIC_AUTHORIZATION_FAILED", false, false, KP_ACTION_AUTHZ_FATAL},
    {30, "GROUP_AUTHORIZATION_FAILED", false, false, KP_ACTION_AUTHZ_FATAL},
    {31, "CLUSTER_AUTHORIZATION_FAILED", false, false, KP_ACTION_AUTHZ_FATAL},
    {32, "INVALID_TIMESTAMP", false, false, KP_ACTION_FATAL},
    {33, "UNSUPPORTED_SASL_MECHANISM", false, false, KP_ACTION_AUTHN_FATAL},
    {34, "ILLEGAL_SASL_STATE", false, false, KP_ACTION_AUTHN_FATAL},
    {35, "UNSUPPORTED_VERSION", false, false, KP_ACTION_FATAL},
    {36, "TOPIC_ALREADY_EXISTS", false, false, KP_ACTION_FATAL},
    {37, "INVALID_PARTITIONS", false, false, KP_ACTION_FATAL},
    {38, "INVALID_REPLICATION_FACTOR", false, false, KP_ACTION_FATAL},
    {39, "INVALID_REPLICA_ASSIGNMENT", false, false, KP_ACTION_FATAL},
    {40, "INVALID_CONFIG", false, false, KP_ACTION_FATAL},
    {41, "NOT_CONTROLLER", true, false, KP_ACTION_RETRY},
    {42, "INVALID_REQUEST", false, false, KP_ACTION_FATAL},
    {43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", false, false, KP_ACTION_FATAL},
    {44, "POLICY_VIOLATION", false, false, KP_ACTION_FATAL},
    {45, "OUT_OF_ORDER_SEQUENCE_NUMBER", false, false, KP_ACTION_FATAL},
    {46, "DUPLICATE_SEQUENCE_NUMBER", false, false, KP_ACTION_FATAL},
    {47, "INVALID_PRODUCER_EPOCH", false, false, KP_ACTION_FATAL},
    {48, "INVALID_TXN_STATE", false, false, KP_ACTION_FATAL},
    {49, "INVALID_PRODUCER_ID_MAPPING", false, false, KP_ACTION_FATAL},
    {50, "INVALID_TRANSACTION_TIMEOUT", false, false, KP_ACTION_FATAL},
    {51, "CONCURRENT_TRANSACTIONS", true, false, KP_ACTION_RETRY},
    {52, "TRANSACTION_COORDINATOR_FENCED", false, false, KP_ACTION_FATAL},
    {53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false, false, KP_ACTION_AUTHZ_FATAL},
    {54, "SECURITY_DISABLED", false, false, KP_ACTION_FATAL},
    {55, "OPERATION_NOT_ATTEMPTED", false, false, KP_ACTION_FATAL},
    {56, "KAFKA_STORAGE_ERROR", true, true, KP_ACTION_REFRESH_METADATA},
    {57, "LOG_DIR_NOT_FOUND", false, false, KP_ACTION_FATAL},
    {58, "SASL_AUTHENTICATION_FAILED", false, false, KP_ACTION_AUTHN_FATAL},
    {59, "UNKNOWN_PRODUCER_ID", false, false, KP_ACTION_FATAL},
    {60, "REASSIGNMENT_IN_PROGRESS", false, false, KP_ACTION_FATAL},
    {61, "DELEGATION_TOKEN_AUTH_DISABLED", false, false, KP_ACTION_AUTHN_FATAL},
    {62, "DELEGATION_TOKEN_NOT_FOUND", false, false, KP_ACTION_AUTHN_FATAL},
    {63, "DELEGATION_TOKEN_OWNER_MISMATCH", false, false, KP_ACTION_AUTHN_FATAL},
    {64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", false, false, KP_ACTION_AUTHN_FATAL},
    {65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", false, false, KP_ACTION_AUTHZ_FATAL},
    {66, "DELEGATION_TOKEN_EXPIRED", false, false, KP_ACTION_AUTHN_FATAL},
    {67, "INVALID_PRINCIPAL_TYPE", false, false, KP_ACTION_FATAL},
    {68, "NON_EMPTY_GROUP", false, false, KP_ACTION_FATAL},
    {69, "GROUP_ID_NOT_FOUND", false, false, KP_ACTION_REJOIN},
    {70, "FETCH_SESSION_ID_NOT_FOUND", true, false, KP_ACTION_RETRY},
    {71, "INVALID_FETCH_SESSION_EPOCH", true, false, KP_ACTION_RETRY},
    {72, "LISTENER_NOT_FOUND", true, true, KP_ACTION_REFRESH_METADATA},
    {73, "TOPIC_DELETION_DISABLED", false, false, KP_ACTION_FATAL},
    {74, "FENCED_LEADER_EPOCH", true, true, KP_ACTION_REFRESH_METADATA},
    {75, "UNKNOWN_LEADER_EPOCH", true, false, KP_ACTION_RETRY},
    {76, "UNSUPPORTED_COMPRESSION_TYPE", false, false, KP_ACTION_FATAL},
    {77, "STALE_BROKER_EPOCH", false, false, KP_ACTION_FATAL},
    {78, "OFFSET_NOT_AVAILABLE", true, false, KP_ACTION_RETRY},
    {79, "MEMBER_ID_REQUIRED", false, false, KP_ACTION_REJOIN},
    {80, "PREFERRED_LEADER_NOT_AVAILABLE", true, true, KP_ACTION_REFRESH_METADATA},
    {81, "GROUP_MAX_SIZE_REACHED", false, false, KP_ACTION_FATAL},
    {82, "FENCED_INSTANCE_ID", false, false, KP_ACTION_FATAL},
    {83, "ELIGIBLE_LEADERS_NOT_AVAILABLE", true, true, KP_ACTION_REFRESH_METADATA},
    {84, "ELECTION_NOT_NEEDED", true, true, KP_ACTION_REFRESH_METADATA},
    {85, "NO_REASSIGNMENT_IN_PROGRESS", false, false, KP_ACTION_FATAL},
    {86, "GROUP_SUBSCRIBED_TO_TOPIC", false, false, KP_ACTION_FATAL},
    {87, "INVALID_RECORD", false, false, KP_ACTION_FATAL},
    {88, "UNSTABLE_OFFSET_COMMIT", true, false, KP_ACTION_RETRY},
    {89, "THROTTLING_QUOTA_EXCEEDED", true, false, KP_ACTION_RETRY},
    {90, "PRODUCER_FENCED", false, false, KP_ACTION_FATAL},
    {91, "RESOURCE_NOT_FOUND", false, false, KP_ACTION_FATAL},
    {92, "DUPLICATE_RESOURCE", false, false, KP_ACTION_FATAL},
    {93, "UNACCEPTABLE_CREDENTIAL", false, false, KP_ACTION_FATAL},
    {94, "INCONSISTENT_VOTER_SET", false, false, KP_ACTION_FATAL},
    {95, "INVALID_UPDATE_VERSION", false, false, KP_ACTION_FATAL},
    {96, "FEATURE_UPDATE_FAILED", false, false, KP_ACTION_FATAL},
    {97, "PRINCIPAL_DESERIALIZATION_FAILURE", false, false, KP_ACTION_FATAL},
    {98, "SNAPSHOT_NOT_FOUND", false, false, KP_ACTION_FATAL},
    {99, "POSITION_OUT_OF_RANGE", false, false, KP_ACTION_FATAL},
    {100, "UNKNOWN_TOPIC_ID", true, true, KP_ACTION_REFRESH_METADATA},
    {101, "DUPLICATE_BROKER_REGISTRATION", false, false, KP_ACTION_FATAL},
    {102, "BROKER_ID_NOT_REGISTERED", false, false, KP_ACTION_FATAL},
    {103, "INCONSISTENT_TOPIC_ID", true, true, KP_ACTION_REFRESH_METADATA},
    {104, "INCONSISTENT_CLUSTER_ID", false, false, KP_ACTION_FATAL},
    {105, "TRANSACTIONAL_ID_NOT_FOUND", false, false, KP_ACTION_FATAL},
    {106, "FETCH_SESSION_TOPIC_ID_ERROR", true, false, KP_ACTION_REFRESH_METADATA},
    {107, "INELIGIBLE_REPLICA", false, false, KP_ACTION_FATAL},
    {108, "NEW_LEADER_ELECTED", false, false, KP_ACTION_FATAL},
    {109, "OFFSET_MOVED_TO_TIERED_STORAGE", false, false, KP_ACTION_FATAL},
    {110, "FENCED_MEMBER_EPOCH", false, false, KP_ACTION_RESET_MEMBER_AND_REJOIN},
    {111, "UNRELEASED_INSTANCE_ID", false, false, KP_ACTION_FATAL},
    {112, "UNSUPPORTED_ASSIGNOR", false, false, KP_ACTION_FATAL},
    {113, "STALE_MEMBER_EPOCH", false, false, KP_ACTION_REJOIN},
    {114, "MISMATCHED_ENDPOINT_TYPE", false, false, KP_ACTION_FATAL},
    {115, "UNSUPPORTED_ENDPOINT_TYPE", false, false, KP_ACTION_FATAL},
    {116, "UNKNOWN_CONTROLLER_ID", false, false, KP_ACTION_FATAL},
    {117, "UNKNOWN_SUBSCRIPTION_ID", false, false, KP_ACTION_FATAL},
    {118, "TELEMETRY_TOO_LARGE", false, false, KP_ACTION_FATAL},
    {119, "INVALID_REGISTRATION", false, false, KP_ACTION_FATAL},
    {120, "TRANSACTION_ABORTABLE", false, false, KP_ACTION_FATAL},
    {121, "INVALID_RECORD_STATE", false, false, KP_ACTION_FATAL},
    {122, "SHARE_SESSION_NOT_FOUND", true, false, KP_ACTION_RETRY},
    {123, "INVALID_SHARE_SESSION_EPOCH", true, false, KP_ACTION_RETRY},
    {124, "FENCED_STATE_EPOCH", false, false, KP_ACTION_FATAL},
    {125, "INVALID_VOTER_KEY", false, false, KP_ACTION_FATAL},
    {126, "DUPLICATE_VOTER", false, false, KP_ACTION_FATAL},
    {127, "VOTER_NOT_FOUND", false, false, KP_ACTION_FATAL},
    {128, "INVALID_REGULAR_EXPRESSION", false, false, KP_ACTION_FATAL},
    {129, "REBOOTSTRAP_REQUIRED", false, false, KP_ACTION_REFRESH_METADATA},
    {130, "STREAMS_INVALID_TOPOLOGY", false, false, KP_ACTION_FATAL},
    {131, "STREAMS_INVALID_TOPOLOGY_EPOCH", false, false, KP_ACTION_FATAL},
    {132, "STREAMS_TOPOLOGY_FENCED", false, false, KP_ACTION_FATAL},
    {133, "SHARE_SESSION_LIMIT_REACHED", false, false, KP_ACTION_FATAL},
};

#define TABLE_LEN (sizeof table / sizeof table[0])

const struct kp_error_info *kp_error_info_get(int16_t code)
{
    int idx = code + 1;
    if (idx < 0 || (size_t)idx >= TABLE_LEN) {
        return NULL;
    }
    return &table[idx];
}

const char *kp_error_name(int16_t code)
{
    const struct kp_error_info *e = kp_error_info_get(code);
    return e ? e->name : "UNKNOWN_ERROR_CODE";
}

const char *kp_error_name_buf(int16_t code, char *buf, size_t cap)
{
    const struct kp_error_info *e = kp_error_info_get(code);
    if (e) {
        return e->name;
    }
    if (cap > 0) {
        snprintf(buf, cap, "UNKNOWN_ERROR_%d", code);
    }
    return buf;
}

bool kp_error_retriable(int16_t code)
{
    const struct kp_error_info *e = kp_error_info_get(code);
    return e && e->retriable;
}

enum kp_error_action kp_error_action_of(int16_t code)
{
    const struct kp_error_info *e = kp_error_info_get(code);
    return e ? e->action : KP_ACTION_FATAL;
}

const char *kp_error_action_name(enum kp_error_action action)
{
    switch (action) {
    case KP_ACTION_NONE:
        return "none";
    case KP_ACTION_RETRY:
        return "retry";
    case KP_ACTION_REFRESH_METADATA:
        return "refresh_metadata";
    case KP_ACTION_FIND_COORDINATOR:
        return "find_coordinator";
    case KP_ACTION_REJOIN:
        return "rejoin";
    case KP_ACTION_RESET_MEMBER_AND_REJOIN:
        return "reset_member_and_rejoin";
    case KP_ACTION_RESET_OFFSET:
        return "reset_offset";
    case KP_ACTION_AUTHZ_FATAL:
        return "authz_fatal";
    case KP_ACTION_AUTHN_FATAL:
        return "authn_fatal";
    case KP_ACTION_FATAL:
        return "fatal";
    }
    return "unknown";
}
