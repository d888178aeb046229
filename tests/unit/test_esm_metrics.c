// test_esm_metrics.c: esm/metrics.c: histogram buckets, label escaping, and the Prometheus text
// exposition (families grouped, cumulative buckets ending in +Inf, unknown lags left out); the
// rebalance pause table of esm/instance_metrics.c.
#include "consumer/consumer.h"
#include "esm/instance_int.h"
#include "esm/metrics.h"
#include "net/reactor.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const STATES[] = {"Creating", "Enabled", "Disabled"};

// has_line reports whether |text| holds |line| as a whole line.
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n') {
            return true;
        }
    }
    return false;
}

static void test_hist_observe(void **state)
{
    (void)state;
    static const double le[] = {1, 5, 10};
    const struct esm_hist_bounds b = {le, 3};
    struct esm_hist h;
    memset(&h, 0, sizeof h);
    const double v[] = {0.5, 1, 1.0001, 5, 9, 10, 11, 1e9};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        esm_hist_observe(&h, &b, v[i]);
    }
    // an observation equal to a bound belongs to that bucket (le = "less or equal")
    assert_int_equal(h.buckets[0], 2);
    assert_int_equal(h.buckets[1], 2);
    assert_int_equal(h.buckets[2], 2);
    assert_int_equal(h.buckets[3], 2);
    assert_int_equal(h.count, 8);
    assert_true(h.sum > 1e9 && h.sum < 1e9 + 38);
}

static void fill(struct esm_metrics_mapping *m, const char *uuid, const char *fn, const char *st)
{
    memset(m, 0, sizeof *m);
    m->uuid = strdup(uuid);
    m->function = strdup(fn);
    m->state = st;
}

static void test_format_running(void **state)
{
    (void)state;
    struct esm_metrics_mapping m[2];
    fill(&m[0], "u-1", "arn:aws:lambda:us-east-1:000000000000:function:f", "Enabled");
    m[0].running = true;
    m[0].invocations[ESM_OUTCOME_OK] = 7;
    m[0].invocations[ESM_OUTCOME_FUNCTION_ERROR] = 2;
    m[0].retries = 3;
    m[0].rebalances = 1;
    m[0].connections[5] = 2; // READY
    esm_hist_observe(&m[0].batch_records, &esm_batch_records_bounds, 3);
    esm_hist_observe(&m[0].batch_records, &esm_batch_records_bounds, 3);
    esm_hist_observe(&m[0].batch_records, &esm_batch_records_bounds, 50000);
    esm_hist_observe(&m[0].invoke_seconds, &esm_invoke_seconds_bounds, 0.2);
    m[0].num_parts = 2;
    m[0].parts = calloc(2, sizeof *m[0].parts);
    m[0].parts[0] = (struct esm_metrics_part){.topic = strdup("orders"),
                                              .partition = 0,
                                              .lag = 5,
                                              .fetch_lag = 0,
                                              .committed = 10,
                                              .high_watermark = 15,
                                              .records_received = 15,
                                              .stuck = true,
                                              .inflight = 2,
                                              .rebalance_pauses = 1,
                                              .rebalance_pause_s = 3.5,
                                              .lanes = 2,
                                              .lane_lag = {4, -1},
                                              .lane_pending = {3, 0}};
    m[0].parts[1] = (struct esm_metrics_part){.topic = strdup("orders"),
                                              .partition = 1,
                                              .lag = -1,
                                              .fetch_lag = -1,
                                              .committed = -1,
                                              .high_watermark = -1};
    fill(&m[1], "u-2", "f2", "Disabled");
    size_t len = 0;
    char *t = esm_metrics_format(m, 2, STATES, 3, &len);
    assert_non_null(t);
    assert_int_equal(strlen(t), len);
    assert_true(has_line(t, "# TYPE kesm_offset_lag gauge"));
    assert_true(has_line(t, "kesm_offset_lag{uuid=\"u-1\",function=\"arn:aws:lambda:us-east-1:"
                            "000000000000:function:f\",topic=\"orders\",partition=\"0\"} 5"));
    // an unknown lag is left out, not written as -1
    assert_null(strstr(t, "partition=\"1\"} -1"));
    assert_null(strstr(t, "kesm_offset_lag{uuid=\"u-1\",function=\"arn:aws:lambda:us-east-1:"
                          "000000000000:function:f\",topic=\"orders\",partition=\"1\"}"));
    assert_true(has_line(t, "kesm_records_received_total{uuid=\"u-1\",function=\"arn:aws:lambda:"
                            "us-east-1:000000000000:function:f\",topic=\"orders\",partition=\"0\"} "
                            "15"));
    // kesm_partition_stuck: one sample per assigned partition, 1 for the stuck one
    assert_true(has_line(t, "kesm_partition_stuck{uuid=\"u-1\",function=\"arn:aws:lambda:us-east-1:"
                            "000000000000:function:f\",topic=\"orders\",partition=\"0\"} 1"));
    assert_true(has_line(t, "kesm_partition_stuck{uuid=\"u-1\",function=\"arn:aws:lambda:us-east-1:"
                            "000000000000:function:f\",topic=\"orders\",partition=\"1\"} 0"));
    // scaling: batches in flight and rebalance pauses per partition, lag and records per lane
    const char *p0 = "{uuid=\"u-1\",function=\"arn:aws:lambda:us-east-1:000000000000:function:f\","
                     "topic=\"orders\",partition=\"0\"";
    const char *p1 = "{uuid=\"u-1\",function=\"arn:aws:lambda:us-east-1:000000000000:function:f\","
                     "topic=\"orders\",partition=\"1\"";
    char line[400];
    snprintf(line, sizeof line, "kesm_partition_batches_inflight%s} 2", p0);
    assert_true(has_line(t, line));
    snprintf(line, sizeof line, "kesm_partition_batches_inflight%s} 0", p1);
    assert_true(has_line(t, line));
    snprintf(line, sizeof line, "kesm_rebalance_pauses_total%s} 1", p0);
    assert_true(has_line(t, line));
    snprintf(line, sizeof line, "kesm_rebalance_pause_seconds_total%s} 3.5", p0);
    assert_true(has_line(t, line));
    snprintf(line, sizeof line, "kesm_rebalance_pause_seconds_total%s} 0", p1);
    assert_true(has_line(t, line));
    snprintf(line, sizeof line, "kesm_lane_offset_lag%s,lane=\"0\"} 4", p0);
    assert_true(has_line(t, line));
    snprintf(line, sizeof line, "kesm_lane_offset_lag%s,lane=\"1\"}", p0);
    assert_null(strstr(t, line)); // unknown: left out
    snprintf(line, sizeof line, "kesm_lane_records_pending%s,lane=\"0\"} 3", p0);
    assert_true(has_line(t, line));
    snprintf(line, sizeof line, "kesm_lane_records_pending%s,lane=\"1\"} 0", p0);
    assert_true(has_line(t, line));
    snprintf(line, sizeof line, "kesm_lane_records_pending%s", p1);
    assert_null(strstr(t, line)); // no lanes: no lane samples
    assert_true(has_line(t, "kesm_invocations_total{uuid=\"u-1\",function=\"arn:aws:lambda:us-east-"
                            "1:000000000000:function:f\",outcome=\"function_error\"} 2"));
    assert_true(
        has_line(t, "kesm_mapping_state{uuid=\"u-2\",function=\"f2\",state=\"Disabled\"} 1"));
    assert_true(
        has_line(t, "kesm_mapping_state{uuid=\"u-2\",function=\"f2\",state=\"Enabled\"} 0"));
    assert_true(has_line(t, "kesm_mapping_running{uuid=\"u-2\",function=\"f2\"} 0"));
    // a mapping that does not run has no counters
    assert_null(strstr(t, "kesm_invocations_total{uuid=\"u-2\""));
    assert_true(has_line(t, "kesm_mappings 2"));
    // histograms: cumulative, +Inf equals _count, then _sum and _count
    const char *fnl = "{uuid=\"u-1\",function=\"arn:aws:lambda:us-east-1:000000000000:function:f\"";
    char want[400];
    snprintf(want, sizeof want, "kesm_batch_records_bucket%s,le=\"1\"} 0", fnl);
    assert_true(has_line(t, want));
    snprintf(want, sizeof want, "kesm_batch_records_bucket%s,le=\"5\"} 2", fnl);
    assert_true(has_line(t, want));
    snprintf(want, sizeof want, "kesm_batch_records_bucket%s,le=\"10000\"} 2", fnl);
    assert_true(has_line(t, want));
    snprintf(want, sizeof want, "kesm_batch_records_bucket%s,le=\"+Inf\"} 3", fnl);
    assert_true(has_line(t, want));
    snprintf(want, sizeof want, "kesm_batch_records_count%s} 3", fnl);
    assert_true(has_line(t, want));
    snprintf(want, sizeof want, "kesm_batch_records_sum%s} 50006", fnl);
    assert_true(has_line(t, want));
    snprintf(want, sizeof want, "kesm_invoke_duration_seconds_bucket%s,le=\"0.25\"} 1", fnl);
    assert_true(has_line(t, want));
    snprintf(want, sizeof want, "kesm_invoke_duration_seconds_bucket%s,le=\"0.1\"} 0", fnl);
    assert_true(has_line(t, want));
    snprintf(want, sizeof want, "kesm_broker_connections%s,state=\"READY\"} 2", fnl);
    assert_true(has_line(t, want));
    assert_true(strstr(t, "kesm_records_filtered_total") != NULL);
    assert_true(strstr(t, "matched no FilterCriteria filter") != NULL); // the HELP text
    free(t);
    esm_metrics_mapping_cleanup(&m[0]);
    esm_metrics_mapping_cleanup(&m[1]);
}

// test_families_grouped: each family is announced once, by HELP then TYPE, and every sample
// line that follows belongs to the family last announced (the exposition format's rule).
static void test_families_grouped(void **state)
{
    (void)state;
    struct esm_metrics_mapping m[2];
    fill(&m[0], "a", "f", "Enabled");
    fill(&m[1], "b", "g", "Enabled");
    m[0].running = m[1].running = true;
    size_t len;
    char *t = esm_metrics_format(m, 2, STATES, 3, &len);
    assert_non_null(t);
    char fam[128] = "", seen[8192] = " ";
    size_t samples = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "# HELP ", 7)) {
            size_t n = strcspn(line + 7, " ");
            assert_true(n < sizeof fam);
            memcpy(fam, line + 7, n);
            fam[n] = '\0';
            char key[140];
            snprintf(key, sizeof key, " %s ", fam);
            assert_null(strstr(seen, key)); // announced once
            strncat(seen, key + 1, sizeof seen - strlen(seen) - 1);
            continue;
        }
        if (!strncmp(line, "# TYPE ", 7)) {
            assert_int_equal(strncmp(line + 7, fam, strlen(fam)), 0);
            continue;
        }
        size_t n = strcspn(line, "{ ");
        bool ok = n == strlen(fam) ||
                  (n > strlen(fam) && !strncmp(line, fam, strlen(fam)) &&
                   (!strcmp(line + strlen(fam), "_bucket") || line[strlen(fam)] == '_'));
        assert_true(ok && !strncmp(line, fam, strlen(fam)));
        samples++;
    }
    assert_true(samples > 40);
    free(t);
    esm_metrics_mapping_cleanup(&m[0]);
    esm_metrics_mapping_cleanup(&m[1]);
}

static void test_label_escaping(void **state)
{
    (void)state;
    struct esm_metrics_mapping m;
    fill(&m, "q\"u\\o\nte", "fn", "Enabled");
    size_t len;
    char *t = esm_metrics_format(&m, 1, STATES, 3, &len);
    assert_non_null(t);
    assert_true(has_line(t, "kesm_mapping_running{uuid=\"q\\\"u\\\\o\\nte\",function=\"fn\"} 0"));
    // no raw newline from a label value splits a sample
    assert_null(strstr(t, "\nte\""));
    free(t);
    esm_metrics_mapping_cleanup(&m);
}

static void test_outcome_names(void **state)
{
    (void)state;
    assert_string_equal(esm_outcome_name(ESM_OUTCOME_OK), "ok");
    assert_string_equal(esm_outcome_name(ESM_OUTCOME_TOO_LARGE), "too_large");
    assert_string_equal(esm_outcome_name(ESM_OUTCOME_DROPPED), "dropped");
    assert_string_equal(esm_outcome_name(ESM_OUTCOME_COUNT), "unknown");
}

// test_rebalance_pauses: a partition revoked and assigned again in the next generation counts
// one pause of the time in between; one that moved elsewhere is forgotten (its next assignment,
// generations later, is no pause of ours); an assignment without a revocation counts nothing.
static void test_rebalance_pauses(void **state)
{
    (void)state;
    struct esm_instance in;
    memset(&in, 0, sizeof in);
    in.r = net_reactor_new(NULL);
    assert_non_null(in.r);
    struct cons_tp both[2] = {{.topic = "t", .partition = 0}, {.topic = "t", .partition = 1}};
    esm_inst_pause_assigned(&in, both, 2); // the first assignment: no pause
    assert_int_equal(in.num_pauses, 0);
    esm_inst_pause_revoked(&in, both, 2);
    net_reactor_run_for(in.r, 60);
    esm_inst_pause_assigned(&in, both, 1); // partition 1 moved to another member
    assert_int_equal(in.num_pauses, 2);
    assert_int_equal(in.pauses[0].pauses, 1);
    assert_true(in.pauses[0].pause_ms >= 50 && in.pauses[0].pause_ms < 5000);
    assert_int_equal(in.pauses[1].pauses, 0);
    net_reactor_run_for(in.r, 30);
    esm_inst_pause_assigned(&in, both, 2); // partition 1 back, generations later: not counted
    assert_int_equal(in.pauses[1].pauses, 0);
    assert_int_equal(in.pauses[1].pause_ms, 0);
    assert_int_equal(in.pauses[0].pauses, 1);
    esm_inst_pause_free(&in);
    net_reactor_free(in.r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_observe),     cmocka_unit_test(test_format_running),
        cmocka_unit_test(test_families_grouped), cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_outcome_names),    cmocka_unit_test(test_rebalance_pauses),
    };
    return cmocka_run_group_tests_name("esm_metrics", tests, NULL, NULL);
}
