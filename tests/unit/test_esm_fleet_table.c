// test_esm_fleet_table.c: the status topic's table (fleet_status_apply, esm/fleet_status.c) fed
// records as the reader hands them: a record replaces its key's entry, a tombstone removes it,
// a bad key or value is skipped with a warning naming partition, offset and key (no secret, no
// crash) and counted; the table stops at FLEET_STATUS_MAX_ENTRIES live entries, dropping stale
// ones first to make room.
#include "base/log.h"
#include "consumer/fetcher.h"
#include "esm/fleet_status_int.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UUID "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"

static char last_warning[1024];
static int warnings;

static void sink(enum kesm_log_level level, const char *line, void *ctx)
{
    (void)ctx;
    if (level == KESM_LOG_WARN) {
        warnings++;
        snprintf(last_warning, sizeof last_warning, "%s", line);
    }
}

static void feed(struct fleet_status *s, int64_t offset, const char *key, const char *value)
{
    struct cons_record r = {.offset = offset,
                            .key = (const uint8_t *)key,
                            .key_len = key ? strlen(key) : 0,
                            .key_null = key == NULL,
                            .value = (const uint8_t *)value,
                            .value_len = value ? strlen(value) : 0,
                            .value_null = value == NULL};
    fleet_status_apply(s, 0, &r);
}

static char *value(const char *node, const char *uuid, double time, int parts)
{
    static char text[4096];
    int n = snprintf(text, sizeof text,
                     "{\"KesmFleetStatusVersion\":1,\"Node\":\"%s\",\"UUID\":\"%s\",\"State\":"
                     "\"Enabled\",\"StateTransitionReason\":\"USER_INITIATED\","
                     "\"LastProcessingResult\":\"OK\",\"Time\":%.3f,\"RefreshMs\":1000,"
                     "\"AssignedPartitions\":%d,\"Lag\":0,\"Partitions\":[",
                     node, uuid, time, parts);
    for (int i = 0; i < parts; i++) {
        n += snprintf(text + n, sizeof text - (size_t)n,
                      "%s{\"Topic\":\"orders\",\"Partition\":%d,\"Lag\":0}", i ? "," : "", i);
    }
    snprintf(text + n, sizeof text - (size_t)n, "]}");
    return text;
}

static void init(struct fleet_status *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->node, sizeof s->node, "self:1");
    snprintf(s->topic, sizeof s->topic, "_kesm-t-status");
    warnings = 0;
    last_warning[0] = '\0';
    kesm_log_set_sink(sink, NULL);
}

static void done(struct fleet_status *s)
{
    for (size_t i = 0; i < s->num_entries; i++) {
        fleet_status_rec_cleanup(&s->entries[i].rec);
    }
    free(s->entries);
    kesm_log_set_sink(NULL, NULL);
}

static void test_replace_and_tombstone(void **state)
{
    (void)state;
    struct fleet_status s;
    init(&s);
    double now = fleet_now_epoch();
    feed(&s, 0, "n2:1/" UUID, value("n2:1", UUID, now, 2));
    feed(&s, 1, "n3:1/" UUID, value("n3:1", UUID, now, 1));
    assert_int_equal(s.num_entries, 2);
    feed(&s, 2, "n2:1/" UUID, value("n2:1", UUID, now, 3)); // replaces
    assert_int_equal(s.num_entries, 2);
    size_t bytes = strlen(value("n2:1", UUID, now, 3)) + strlen(value("n3:1", UUID, now, 1));
    assert_int_equal(s.table_bytes, bytes);
    for (size_t i = 0; i < s.num_entries; i++) {
        if (!strcmp(s.entries[i].rec.node, "n2:1")) {
            assert_int_equal(s.entries[i].rec.num_assigned, 3);
        }
    }
    feed(&s, 3, "n2:1/" UUID, NULL); // tombstone
    assert_int_equal(s.num_entries, 1);
    assert_string_equal(s.entries[0].rec.node, "n3:1");
    assert_int_equal(s.table_bytes, strlen(value("n3:1", UUID, now, 1)));
    feed(&s, 4, "n9:1/" UUID, NULL); // a tombstone of nothing: nothing happens
    assert_int_equal(s.num_entries, 1);
    assert_int_equal(warnings, 0);
    assert_int_equal(s.skipped, 0);
    done(&s);
}

static void test_bad_records_skipped_and_named(void **state)
{
    (void)state;
    struct fleet_status s;
    init(&s);
    double now = fleet_now_epoch();
    feed(&s, 7, NULL, value("n2:1", UUID, now, 1));
    assert_non_null(strstr(last_warning, "partition 0 offset 7: key '(null)' is not NODE/UUID"));
    feed(&s, 8, "a\nb\x01/c", "{}");
    assert_non_null(strstr(last_warning, "offset 8: key 'a b /c' is not NODE/UUID; skipped"));
    feed(&s, 9, "n2:1/" UUID, value("n3:1", UUID, now, 1)); // the value names another node
    assert_non_null(strstr(last_warning, "offset 9 (key n2:1/" UUID
                                         "): Node and UUID must be the key's; skipped"));
    feed(&s, 10, "n2:1/" UUID, "{\"KesmFleetStatusVersion\":1,");
    assert_non_null(
        strstr(last_warning, "offset 10 (key n2:1/" UUID "): value is not accepted JSON"));
    assert_int_equal(s.num_entries, 0);
    assert_int_equal(s.skipped, 4);
    assert_int_equal(warnings, 4);
    done(&s);
}

static void test_table_is_bounded(void **state)
{
    (void)state;
    struct fleet_status s;
    init(&s);
    double now = fleet_now_epoch();
    char key[80], node[32];
    for (int i = 0; i < FLEET_STATUS_MAX_ENTRIES; i++) {
        snprintf(node, sizeof node, "n%d:1", i);
        snprintf(key, sizeof key, "%s/" UUID, node);
        // the first ten are stale (a minute old)
        feed(&s, i, key, value(node, UUID, i < 10 ? now - 60 : now, 1));
    }
    assert_int_equal(s.num_entries, FLEET_STATUS_MAX_ENTRIES);
    assert_int_equal(warnings, 0);
    feed(&s, 5000, "new:1/" UUID, value("new:1", UUID, now, 1)); // the stale ones make room
    assert_int_equal(s.num_entries, FLEET_STATUS_MAX_ENTRIES - 9);
    assert_int_equal(s.skipped, 0);
    for (int i = 0; i < 9; i++) {
        snprintf(node, sizeof node, "more%d:1", i);
        snprintf(key, sizeof key, "%s/" UUID, node);
        feed(&s, 5001 + i, key, value(node, UUID, now, 1));
    }
    assert_int_equal(s.num_entries, FLEET_STATUS_MAX_ENTRIES);
    feed(&s, 6000, "full:1/" UUID, value("full:1", UUID, now, 1)); // all live: skipped
    assert_int_equal(s.num_entries, FLEET_STATUS_MAX_ENTRIES);
    assert_int_equal(s.skipped, 1);
    assert_non_null(strstr(last_warning, "offset 6000 (key full:1/" UUID "): the table is full"));
    feed(&s, 6001, "n100:1/" UUID, value("n100:1", UUID, now, 2)); // a known key still updates
    assert_int_equal(s.skipped, 1);
    done(&s);
}

static void test_duplicate_node_id_warned(void **state)
{
    (void)state;
    struct fleet_status s;
    init(&s);
    double now = fleet_now_epoch();
    struct fst_pub pub = {.uuid = UUID, .sent_ms = 1, .sent_time = now};
    s.pubs = &pub;
    s.num_pubs = 1;
    feed(&s, 1, "self:1/" UUID, value("self:1", UUID, now, 1)); // our own record read back
    assert_int_equal(warnings, 0);
    feed(&s, 2, "self:1/" UUID, value("self:1", UUID, now + 5, 1)); // not ours
    assert_int_equal(warnings, 1);
    assert_non_null(strstr(last_warning, "another node publishes as node id self:1"));
    feed(&s, 3, "self:1/" UUID, value("self:1", UUID, now + 6, 1)); // said once
    assert_int_equal(warnings, 1);
    s.pubs = NULL;
    done(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replace_and_tombstone),
        cmocka_unit_test(test_bad_records_skipped_and_named),
        cmocka_unit_test(test_table_is_bounded),
        cmocka_unit_test(test_duplicate_node_id_warned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
