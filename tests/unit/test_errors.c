// test_errors.c: the Kafka error code table.
#include "proto/errors.h"
#include "tests/lib/unit.h"

#include <string.h>

static void test_table_is_dense_and_named(void **state)
{
    (void)state;
    for (int c = -1; c <= 133; c++) {
        const struct kp_error_info *e = kp_error_info_get((int16_t)c);
        assert_non_null(e);
        assert_int_equal(e->code, c);
        assert_true(strlen(e->name) > 0);
        for (const char *p = e->name; *p; p++) {
            assert_true((*p >= 'A' && *p <= 'Z') || *p == '_');
        }
        // InvalidMetadataException extends RetriableException.
        assert_true(!e->invalid_metadata || e->retriable);
        assert_string_equal(kp_error_name((int16_t)c), e->name);
        // Names are unique.
        for (int d = -1; d < c; d++) {
            assert_string_not_equal(kp_error_name((int16_t)d), e->name);
        }
    }
}

struct expect {
    int16_t code;
    const char *name;
    bool retriable;
    enum kp_error_action action;
};

// The consumer-facing rows of the error table in the protocol notes (section 8).
static const struct expect expected[] = {
    {-1, "UNKNOWN_SERVER_ERROR", false, KP_ACTION_RETRY},
    {0, "NONE", false, KP_ACTION_NONE},
    {1, "OFFSET_OUT_OF_RANGE", false, KP_ACTION_RESET_OFFSET},
    {2, "CORRUPT_MESSAGE", true, KP_ACTION_RETRY},
    {3, "UNKNOWN_TOPIC_OR_PARTITION", true, KP_ACTION_REFRESH_METADATA},
    {5, "LEADER_NOT_AVAILABLE", true, KP_ACTION_REFRESH_METADATA},
    {6, "NOT_LEADER_OR_FOLLOWER", true, KP_ACTION_REFRESH_METADATA},
    {7, "REQUEST_TIMED_OUT", true, KP_ACTION_RETRY},
    {8, "BROKER_NOT_AVAILABLE", false, KP_ACTION_REFRESH_METADATA},
    {9, "REPLICA_NOT_AVAILABLE", true, KP_ACTION_REFRESH_METADATA},
    {12, "OFFSET_METADATA_TOO_LARGE", false, KP_ACTION_FATAL},
    {13, "NETWORK_EXCEPTION", true, KP_ACTION_REFRESH_METADATA},
    {14, "COORDINATOR_LOAD_IN_PROGRESS", true, KP_ACTION_RETRY},
    {15, "COORDINATOR_NOT_AVAILABLE", true, KP_ACTION_FIND_COORDINATOR},
    {16, "NOT_COORDINATOR", true, KP_ACTION_FIND_COORDINATOR},
    {17, "INVALID_TOPIC_EXCEPTION", false, KP_ACTION_FATAL},
    {22, "ILLEGAL_GENERATION", false, KP_ACTION_REJOIN},
    {23, "INCONSISTENT_GROUP_PROTOCOL", false, KP_ACTION_FATAL},
    {24, "INVALID_GROUP_ID", false, KP_ACTION_FATAL},
    {25, "UNKNOWN_MEMBER_ID", false, KP_ACTION_RESET_MEMBER_AND_REJOIN},
    {26, "INVALID_SESSION_TIMEOUT", false, KP_ACTION_FATAL},
    {27, "REBALANCE_IN_PROGRESS", false, KP_ACTION_REJOIN},
    {28, "INVALID_COMMIT_OFFSET_SIZE", false, KP_ACTION_FATAL},
    {29, "TOPIC_AUTHORIZATION_FAILED", false, KP_ACTION_AUTHZ_FATAL},
    {30, "GROUP_AUTHORIZATION_FAILED", false, KP_ACTION_AUTHZ_FATAL},
    {31, "CLUSTER_AUTHORIZATION_FAILED", false, KP_ACTION_AUTHZ_FATAL},
    {33, "UNSUPPORTED_SASL_MECHANISM", false, KP_ACTION_AUTHN_FATAL},
    {34, "ILLEGAL_SASL_STATE", false, KP_ACTION_AUTHN_FATAL},
    {35, "UNSUPPORTED_VERSION", false, KP_ACTION_FATAL},
    {42, "INVALID_REQUEST", false, KP_ACTION_FATAL},
    {43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", false, KP_ACTION_FATAL},
    {56, "KAFKA_STORAGE_ERROR", true, KP_ACTION_REFRESH_METADATA},
    {58, "SASL_AUTHENTICATION_FAILED", false, KP_ACTION_AUTHN_FATAL},
    {69, "GROUP_ID_NOT_FOUND", false, KP_ACTION_REJOIN},
    {70, "FETCH_SESSION_ID_NOT_FOUND", true, KP_ACTION_RETRY},
    {71, "INVALID_FETCH_SESSION_EPOCH", true, KP_ACTION_RETRY},
    {72, "LISTENER_NOT_FOUND", true, KP_ACTION_REFRESH_METADATA},
    {74, "FENCED_LEADER_EPOCH", true, KP_ACTION_REFRESH_METADATA},
    {75, "UNKNOWN_LEADER_EPOCH", true, KP_ACTION_RETRY},
    {76, "UNSUPPORTED_COMPRESSION_TYPE", false, KP_ACTION_FATAL},
    {78, "OFFSET_NOT_AVAILABLE", true, KP_ACTION_RETRY},
    {79, "MEMBER_ID_REQUIRED", false, KP_ACTION_REJOIN},
    {81, "GROUP_MAX_SIZE_REACHED", false, KP_ACTION_FATAL},
    {82, "FENCED_INSTANCE_ID", false, KP_ACTION_FATAL},
    {88, "UNSTABLE_OFFSET_COMMIT", true, KP_ACTION_RETRY},
    {100, "UNKNOWN_TOPIC_ID", true, KP_ACTION_REFRESH_METADATA},
    {103, "INCONSISTENT_TOPIC_ID", true, KP_ACTION_REFRESH_METADATA},
    {106, "FETCH_SESSION_TOPIC_ID_ERROR", true, KP_ACTION_REFRESH_METADATA},
    {109, "OFFSET_MOVED_TO_TIERED_STORAGE", false, KP_ACTION_FATAL},
    {110, "FENCED_MEMBER_EPOCH", false, KP_ACTION_RESET_MEMBER_AND_REJOIN},
    {113, "STALE_MEMBER_EPOCH", false, KP_ACTION_REJOIN},
    {120, "TRANSACTION_ABORTABLE", false, KP_ACTION_FATAL},
    {128, "INVALID_REGULAR_EXPRESSION", false, KP_ACTION_FATAL},
    {129, "REBOOTSTRAP_REQUIRED", false, KP_ACTION_REFRESH_METADATA},
    {133, "SHARE_SESSION_LIMIT_REACHED", false, KP_ACTION_FATAL},
};

static void test_consumer_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        const struct expect *x = &expected[i];
        const struct kp_error_info *e = kp_error_info_get(x->code);
        assert_non_null(e);
        assert_string_equal(e->name, x->name);
        if (e->retriable != x->retriable || e->action != x->action) {
            fail_msg("code %d (%s): retriable %d action %s, want %d %s", x->code, x->name,
                     e->retriable, kp_error_action_name(e->action), x->retriable,
                     kp_error_action_name(x->action));
        }
        assert_int_equal(kp_error_retriable(x->code), x->retriable);
        assert_int_equal(kp_error_action_of(x->code), x->action);
    }
    assert_true(kp_error_info_get(KP_ERR_CODE_NOT_LEADER_OR_FOLLOWER)->invalid_metadata);
    assert_false(kp_error_info_get(KP_ERR_CODE_NOT_COORDINATOR)->invalid_metadata);
    assert_string_equal(kp_error_name(KP_ERR_CODE_UNKNOWN_TOPIC_ID), "UNKNOWN_TOPIC_ID");
    assert_string_equal(kp_error_name(KP_ERR_CODE_SASL_AUTHENTICATION_FAILED),
                        "SASL_AUTHENTICATION_FAILED");
}

// test_named_codes: every code proto/errors.h names carries the name the table gives it, so a
// typo in a number (24 for 26, say) cannot hide behind a constant.
static void test_named_codes(void **state)
{
    (void)state;
    static const struct {
        int16_t code;
        const char *name;
    } named[] = {
        {KP_ERR_CODE_UNKNOWN_SERVER_ERROR, "UNKNOWN_SERVER_ERROR"},
        {KP_ERR_CODE_NONE, "NONE"},
        {KP_ERR_CODE_OFFSET_OUT_OF_RANGE, "OFFSET_OUT_OF_RANGE"},
        {KP_ERR_CODE_UNKNOWN_TOPIC_OR_PARTITION, "UNKNOWN_TOPIC_OR_PARTITION"},
        {KP_ERR_CODE_LEADER_NOT_AVAILABLE, "LEADER_NOT_AVAILABLE"},
        {KP_ERR_CODE_NOT_LEADER_OR_FOLLOWER, "NOT_LEADER_OR_FOLLOWER"},
        {KP_ERR_CODE_REQUEST_TIMED_OUT, "REQUEST_TIMED_OUT"},
        {KP_ERR_CODE_COORDINATOR_LOAD_IN_PROGRESS, "COORDINATOR_LOAD_IN_PROGRESS"},
        {KP_ERR_CODE_COORDINATOR_NOT_AVAILABLE, "COORDINATOR_NOT_AVAILABLE"},
        {KP_ERR_CODE_NOT_COORDINATOR, "NOT_COORDINATOR"},
        {KP_ERR_CODE_ILLEGAL_GENERATION, "ILLEGAL_GENERATION"},
        {KP_ERR_CODE_INVALID_GROUP_ID, "INVALID_GROUP_ID"},
        {KP_ERR_CODE_UNKNOWN_MEMBER_ID, "UNKNOWN_MEMBER_ID"},
        {KP_ERR_CODE_INVALID_SESSION_TIMEOUT, "INVALID_SESSION_TIMEOUT"},
        {KP_ERR_CODE_REBALANCE_IN_PROGRESS, "REBALANCE_IN_PROGRESS"},
        {KP_ERR_CODE_TOPIC_AUTHORIZATION_FAILED, "TOPIC_AUTHORIZATION_FAILED"},
        {KP_ERR_CODE_GROUP_AUTHORIZATION_FAILED, "GROUP_AUTHORIZATION_FAILED"},
        {KP_ERR_CODE_UNSUPPORTED_SASL_MECHANISM, "UNSUPPORTED_SASL_MECHANISM"},
        {KP_ERR_CODE_ILLEGAL_SASL_STATE, "ILLEGAL_SASL_STATE"},
        {KP_ERR_CODE_UNSUPPORTED_VERSION, "UNSUPPORTED_VERSION"},
        {KP_ERR_CODE_INVALID_REQUEST, "INVALID_REQUEST"},
        {KP_ERR_CODE_SASL_AUTHENTICATION_FAILED, "SASL_AUTHENTICATION_FAILED"},
        {KP_ERR_CODE_FETCH_SESSION_ID_NOT_FOUND, "FETCH_SESSION_ID_NOT_FOUND"},
        {KP_ERR_CODE_INVALID_FETCH_SESSION_EPOCH, "INVALID_FETCH_SESSION_EPOCH"},
        {KP_ERR_CODE_FENCED_LEADER_EPOCH, "FENCED_LEADER_EPOCH"},
        {KP_ERR_CODE_UNKNOWN_LEADER_EPOCH, "UNKNOWN_LEADER_EPOCH"},
        {KP_ERR_CODE_OFFSET_NOT_AVAILABLE, "OFFSET_NOT_AVAILABLE"},
        {KP_ERR_CODE_MEMBER_ID_REQUIRED, "MEMBER_ID_REQUIRED"},
        {KP_ERR_CODE_FENCED_INSTANCE_ID, "FENCED_INSTANCE_ID"},
        {KP_ERR_CODE_UNKNOWN_TOPIC_ID, "UNKNOWN_TOPIC_ID"},
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        assert_string_equal(kp_error_name(named[i].code), named[i].name);
    }
}

static void test_unknown_codes(void **state)
{
    (void)state;
    const int16_t unknown[] = {-2, 134, 1000, INT16_MIN, INT16_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_null(kp_error_info_get(unknown[i]));
        assert_string_equal(kp_error_name(unknown[i]), "UNKNOWN_ERROR_CODE");
        assert_false(kp_error_retriable(unknown[i]));
        assert_int_equal(kp_error_action_of(unknown[i]), KP_ACTION_FATAL);
    }
    char buf[KP_ERROR_NAME_BUF];
    assert_string_equal(kp_error_name_buf(134, buf, sizeof buf), "UNKNOWN_ERROR_134");
    assert_string_equal(kp_error_name_buf(INT16_MIN, buf, sizeof buf), "UNKNOWN_ERROR_-32768");
    // A known code never touches the buffer.
    memset(buf, 'x', sizeof buf);
    assert_string_equal(kp_error_name_buf(6, buf, sizeof buf), "NOT_LEADER_OR_FOLLOWER");
    assert_int_equal(buf[0], 'x');
    // Truncation keeps the buffer NUL-terminated; cap 0 writes nothing.
    char small[8];
    assert_string_equal(kp_error_name_buf(999, small, sizeof small), "UNKNOWN");
    assert_true(kp_error_name_buf(999, small, 0) == small);
}

static void test_action_names(void **state)
{
    (void)state;
    assert_string_equal(kp_error_action_name(KP_ACTION_NONE), "none");
    assert_string_equal(kp_error_action_name(KP_ACTION_REFRESH_METADATA), "refresh_metadata");
    assert_string_equal(kp_error_action_name(KP_ACTION_RESET_MEMBER_AND_REJOIN),
                        "reset_member_and_rejoin");
    assert_string_equal(kp_error_action_name(KP_ACTION_FATAL), "fatal");
    assert_string_equal(kp_error_action_name((enum kp_error_action)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_dense_and_named),
        cmocka_unit_test(test_named_codes),
        cmocka_unit_test(test_consumer_rows),
        cmocka_unit_test(test_unknown_codes),
        cmocka_unit_test(test_action_names),
    };
    return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
