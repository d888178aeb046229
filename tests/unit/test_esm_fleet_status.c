// test_esm_fleet_status.c: the status topic's record codec (esm/fleet_status.h): the exact bytes
// a node writes, their round trip, keys, node ids, staleness, and hostile values refused with a
// reason (never a crash): wrong types, unknown members, too many partitions, too large, a key
// that disagrees with the value.
#include "esm/fleet_status.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE "host-a:8080"
#define UUID "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"

static const char golden[] =
    "{\"KesmFleetStatusVersion\":1,\"Node\":\"host-a:8080\",\"UUID\":\"" UUID "\","
    "\"State\":\"Enabled\",\"StateTransitionReason\":\"USER_INITIATED\","
    "\"LastProcessingResult\":\"OK\",\"Time\":1765000000.5,\"RefreshMs\":10000,"
    "\"AssignedPartitions\":3,\"Lag\":7,\"Partitions\":[{\"Topic\":\"orders\",\"Partition\":0,"
    "\"Lag\":4},{\"Topic\":\"orders\",\"Partition\":2,\"Lag\":3}]}";

static void fill(struct fleet_status_rec *r)
{
    fleet_status_rec_init(r);
    snprintf(r->node, sizeof r->node, NODE);
    snprintf(r->uuid, sizeof r->uuid, UUID);
    snprintf(r->state, sizeof r->state, "Enabled");
    snprintf(r->reason, sizeof r->reason, "USER_INITIATED");
    snprintf(r->result, sizeof r->result, "OK");
    r->time = 1765000000.5;
    r->refresh_ms = 10000;
    r->num_assigned = 3; // one more than listed: a record may list fewer than it holds
    r->lag = 7;
    r->num_parts = 2;
    r->parts = calloc(2, sizeof *r->parts);
    r->parts[0].topic = strdup("orders");
    r->parts[0].lag = 4;
    r->parts[1].topic = strdup("orders");
    r->parts[1].partition = 2;
    r->parts[1].lag = 3;
}

static void test_encode_golden(void **state)
{
    (void)state;
    struct fleet_status_rec r;
    fill(&r);
    size_t len = 0;
    char *text = fleet_status_encode(&r, &len);
    assert_non_null(text);
    assert_string_equal(text, golden);
    assert_int_equal(len, strlen(golden));
    free(text);
    fleet_status_rec_cleanup(&r);
}

static void test_parse_golden(void **state)
{
    (void)state;
    struct fleet_status_rec r;
    char why[300] = "";
    assert_true(fleet_status_parse(NODE, UUID, (const uint8_t *)golden, strlen(golden), &r, why,
                                   sizeof why));
    assert_string_equal(r.node, NODE);
    assert_string_equal(r.state, "Enabled");
    assert_string_equal(r.result, "OK");
    assert_true(r.time == 1765000000.5);
    assert_int_equal(r.refresh_ms, 10000);
    assert_int_equal(r.num_assigned, 3);
    assert_int_equal(r.lag, 7);
    assert_int_equal(r.num_parts, 2);
    assert_string_equal(r.parts[1].topic, "orders");
    assert_int_equal(r.parts[1].partition, 2);
    assert_int_equal(r.parts[1].lag, 3);
    fleet_status_rec_cleanup(&r);
}

static void test_keys_and_node_ids(void **state)
{
    (void)state;
    char node[FLEET_NODE_ID_MAX + 1], uuid[37];
    const char *good = NODE "/" UUID;
    assert_true(fleet_status_key_parse((const uint8_t *)good, strlen(good), node, uuid));
    assert_string_equal(node, NODE);
    assert_string_equal(uuid, UUID);
    const char *bad[] = {
        "/" UUID,                                     // empty node
        NODE UUID,                                    // no separator
        NODE "/0D1E2F3A-4B5C-4D6E-8F70-8192A3B4C5D6", // upper-case UUID
        "a/b/" UUID,                                  // '/' in the node id
        "no de/" UUID,                                // a space
        NODE "/" UUID "x",                            // trailing byte
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(fleet_status_key_parse((const uint8_t *)bad[i], strlen(bad[i]), node, uuid));
    }
    char nul[80];
    memcpy(nul, "ab\0c/" UUID, 5 + 36);
    assert_false(fleet_status_key_parse((const uint8_t *)nul, 5 + 36, node, uuid));
    assert_false(fleet_status_key_parse(NULL, 0, node, uuid));
    char longid[FLEET_NODE_ID_MAX + 2];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    assert_false(fleet_node_id_ok(longid));
    longid[FLEET_NODE_ID_MAX] = '\0';
    assert_true(fleet_node_id_ok(longid));
    assert_false(fleet_node_id_ok(""));
    assert_false(fleet_node_id_ok("a\"b"));
    assert_false(fleet_node_id_ok("a\\b"));
    assert_false(fleet_node_id_ok("a\nb"));
    assert_false(fleet_node_id_ok("caf\xc3\xa9"));
}

// refused: |value| is refused with a reason containing |want|.
static void refused(const char *value, const char *want)
{
    struct fleet_status_rec r;
    char why[300] = "";
    bool ok =
        fleet_status_parse(NODE, UUID, (const uint8_t *)value, strlen(value), &r, why, sizeof why);
    fleet_status_rec_cleanup(&r);
    if (ok || !strstr(why, want)) {
        fail_msg("value %.120s: ok=%d why '%s', wanted '%s'", value, ok, why, want);
    }
}

static char *with(const char *from, const char *to)
{
    const char *at = strstr(golden, from);
    assert_non_null(at);
    size_t n = strlen(golden) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - golden), golden, to, at + strlen(from));
    return out;
}

static void test_hostile_values(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *want;
    } cases[] = {
        {"\"KesmFleetStatusVersion\":1", "\"KesmFleetStatusVersion\":2", "KesmFleetStatusVersion"},
        {"\"Node\":\"host-a:8080\"", "\"Node\":\"host-b:8080\"", "key's"},
        {"\"State\":\"Enabled\"", "\"State\":\"Running\"", "State"},
        {"\"USER_INITIATED\"", "\"WHATEVER\"", "StateTransitionReason"},
        {"\"LastProcessingResult\":\"OK\"", "\"LastProcessingResult\":7", "LastProcessingResult"},
        {"\"Time\":1765000000.5", "\"Time\":-1", "Time"},
        {"\"Time\":1765000000.5", "\"Time\":\"now\"", "Time"},
        {"\"RefreshMs\":10000", "\"RefreshMs\":1", "RefreshMs"},
        {"\"RefreshMs\":10000", "\"RefreshMs\":10000.5", "RefreshMs"},
        {"\"AssignedPartitions\":3", "\"AssignedPartitions\":1", "Partitions"},
        {"\"AssignedPartitions\":3", "\"AssignedPartitions\":1e300", "AssignedPartitions"},
        {"\"Lag\":7", "\"Lag\":-2", "Lag"},
        {"\"Partition\":0", "\"Partition\":-1", "Partitions[0]"},
        {"\"Topic\":\"orders\",\"Partition\":2", "\"Topic\":\"\",\"Partition\":2", "Partitions[1]"},
        {"\"Lag\":3}", "\"Lag\":3,\"X\":1}", "Partitions[1]"},
        {"\"Partitions\":[", "\"Extra\":1,\"Partitions\":[", "members kesm does not know"},
        {"\"Partitions\":[{", "\"Partitions\":{\"a\":[{", "not accepted JSON"},
        {"\"Node\":\"host-a:8080\"", "\"Node\":\"host-a:8080\",\"Node\":\"x\"", "duplicate key"},
        {"\"OK\"", "\"OK\\u0000\"", "not accepted JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *v = with(cases[i].from, cases[i].to);
        refused(v, cases[i].want);
        free(v);
    }
    refused("", "not accepted JSON");
    refused("[]", "KesmFleetStatusVersion");
    refused("{\"KesmFleetStatusVersion\":1}", "key's");
}

static void test_limits(void **state)
{
    (void)state;
    // More partitions than listed may be held, but no more than FLEET_STATUS_MAX_PARTS listed.
    struct buf_s {
        char *p;
        size_t n;
    } b = {malloc(FLEET_STATUS_MAX_RECORD * 2), 0};
    b.n = (size_t)snprintf(b.p, FLEET_STATUS_MAX_RECORD,
                           "{\"KesmFleetStatusVersion\":1,\"Node\":\"" NODE "\",\"UUID\":\"" UUID
                           "\",\"State\":\"Enabled\",\"StateTransitionReason\":\"USER_INITIATED\","
                           "\"LastProcessingResult\":\"OK\",\"Time\":1,\"RefreshMs\":1000,"
                           "\"AssignedPartitions\":1000,\"Lag\":0,\"Partitions\":[");
    for (int i = 0; i <= FLEET_STATUS_MAX_PARTS; i++) {
        b.n += (size_t)sprintf(b.p + b.n, "%s{\"Topic\":\"t\",\"Partition\":%d,\"Lag\":0}",
                               i ? "," : "", i);
    }
    b.n += (size_t)sprintf(b.p + b.n, "]}");
    struct fleet_status_rec r;
    char why[300] = "";
    assert_false(fleet_status_parse(NODE, UUID, (const uint8_t *)b.p, b.n, &r, why, sizeof why));
    assert_non_null(strstr(why, "256"));
    fleet_status_rec_cleanup(&r);
    // Too large a value is refused before it is parsed.
    memset(b.p, ' ', FLEET_STATUS_MAX_RECORD + 1);
    assert_false(fleet_status_parse(NODE, UUID, (const uint8_t *)b.p, FLEET_STATUS_MAX_RECORD + 1,
                                    &r, why, sizeof why));
    assert_non_null(strstr(why, "at most 65536"));
    fleet_status_rec_cleanup(&r);
    free(b.p);
    // The encoder lists at most FLEET_STATUS_MAX_PARTS and the result reads back.
    struct fleet_status_rec big;
    fill(&big);
    free(big.parts[0].topic);
    free(big.parts[1].topic);
    free(big.parts);
    big.num_parts = FLEET_STATUS_MAX_PARTS + 5;
    big.num_assigned = (uint32_t)big.num_parts;
    big.parts = calloc(big.num_parts, sizeof *big.parts);
    for (size_t i = 0; i < big.num_parts; i++) {
        big.parts[i].topic = strdup("orders");
        big.parts[i].partition = (int32_t)i;
    }
    size_t len = 0;
    char *text = fleet_status_encode(&big, &len);
    assert_true(fleet_status_parse(NODE, UUID, (const uint8_t *)text, len, &r, why, sizeof why));
    assert_int_equal(r.num_parts, FLEET_STATUS_MAX_PARTS);
    assert_int_equal(r.num_assigned, FLEET_STATUS_MAX_PARTS + 5);
    fleet_status_rec_cleanup(&r);
    fleet_status_rec_cleanup(&big);
    free(text);
}

static void test_result_control_chars_sanitized(void **state)
{
    (void)state;
    char *v = with("\"LastProcessingResult\":\"OK\"",
                   "\"LastProcessingResult\":\"PROBLEM: a\\nb\\u001b[31m\"");
    struct fleet_status_rec r;
    char why[300] = "";
    assert_true(fleet_status_parse(NODE, UUID, (const uint8_t *)v, strlen(v), &r, why, sizeof why));
    assert_string_equal(r.result, "PROBLEM: a b [31m");
    fleet_status_rec_cleanup(&r);
    free(v);
}

static void test_staleness(void **state)
{
    (void)state;
    // Three periods of the publisher's own RefreshMs.
    assert_false(fleet_status_stale(1000.0, 10000, 1029.9));
    assert_true(fleet_status_stale(1000.0, 10000, 1030.1));
    assert_false(fleet_status_stale(1000.0, 1000, 1002.9));
    assert_true(fleet_status_stale(1000.0, 1000, 1003.1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_golden),
        cmocka_unit_test(test_parse_golden),
        cmocka_unit_test(test_keys_and_node_ids),
        cmocka_unit_test(test_hostile_values),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_result_control_chars_sanitized),
        cmocka_unit_test(test_staleness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
