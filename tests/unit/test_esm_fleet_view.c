// test_esm_fleet_view.c: the fleet-wide views (esm/fleet_view.c) over a status table filled by
// hand: Get shows this node live and the other nodes' live entries, stale ones apart; the sums;
// a problem of another node surfaces naming it; a mapping this node stopped with a problem shows
// Enabled while another live node runs it (and not when that node is stale); /metrics labels
// every sample with the node and exports the live entries only.
#include "esm/fleet_status_int.h"
#include "esm/mapping.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct runner {
    struct esm_manager *mgr;
    bool fail; // stop every mapping with EVENT_SOURCE_AUTHN_ERROR
};

static void r_start(void *impl, struct esm_mapping *m)
{
    struct runner *r = impl;
    if (r->fail) {
        esm_manager_on_stopped(r->mgr, m, ESM_REASON_EVENT_SOURCE_AUTHN_ERROR,
                               "SASL authentication failed");
    } else {
        esm_manager_on_running(r->mgr, m);
    }
}

static void r_stop(void *impl, struct esm_mapping *m)
{
    struct runner *r = impl;
    esm_manager_on_stopped(r->mgr, m, ESM_REASON_USER_INITIATED, NULL);
}

static void r_free(void *impl)
{
    (void)impl;
}

static const struct esm_runner_ops ops = {"view", r_start, r_start, r_stop, r_free};

static void quiet(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

struct fixture {
    struct runner run;
    struct esm_manager *mgr;
    struct fleet_status s;
    char uuid[37];
};

static void setup(struct fixture *fx, bool fail)
{
    memset(fx, 0, sizeof *fx);
    struct esm_manager_config mc = {.log = quiet};
    fx->mgr = esm_manager_new(&mc);
    assert_non_null(fx->mgr);
    fx->run.mgr = fx->mgr;
    fx->run.fail = fail;
    esm_manager_set_runner(fx->mgr, (struct esm_runner){&ops, &fx->run});
    cJSON *req = cJSON_Parse("{\"FunctionName\":\"f\",\"Topics\":[\"orders\"],"
                             "\"SelfManagedEventSource\":{\"Endpoints\":"
                             "{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b1:9092\"]}}}");
    struct esm_op_result r;
    esm_manager_create(fx->mgr, req, &r);
    cJSON_Delete(req);
    assert_int_equal(r.status, ESM_OP_OK);
    snprintf(fx->uuid, sizeof fx->uuid, "%s",
             cJSON_GetObjectItemCaseSensitive(r.body, "UUID")->valuestring);
    cJSON_Delete(r.body);
    fx->s.cfg.mgr = fx->mgr;
    fx->s.cfg.refresh_ms = 1000;
    snprintf(fx->s.node, sizeof fx->s.node, "self:1");
    fx->s.entries = calloc(8, sizeof *fx->s.entries);
    fx->s.cap_entries = 8;
}

// add_entry puts another node's record in the table: |age| seconds old, partitions |first|..
// |first|+|n|-1 with a lag of 1 each.
static void add_entry(struct fixture *fx, const char *node, const char *state, const char *result,
                      double age, int first, int n)
{
    struct fleet_status_rec *r = &fx->s.entries[fx->s.num_entries++].rec;
    fleet_status_rec_init(r);
    snprintf(r->node, sizeof r->node, "%s", node);
    snprintf(r->uuid, sizeof r->uuid, "%s", fx->uuid);
    snprintf(r->state, sizeof r->state, "%s", state);
    snprintf(r->reason, sizeof r->reason, "USER_INITIATED");
    snprintf(r->result, sizeof r->result, "%s", result);
    r->time = fleet_now_epoch() - age;
    r->refresh_ms = 1000;
    r->num_assigned = (uint32_t)n;
    r->lag = n;
    r->parts = calloc((size_t)n + 1, sizeof *r->parts);
    r->num_parts = (size_t)n;
    for (int i = 0; i < n; i++) {
        r->parts[i].topic = strdup("orders");
        r->parts[i].partition = first + i;
        r->parts[i].lag = 1;
    }
}

static void teardown(struct fixture *fx)
{
    for (size_t i = 0; i < fx->s.num_entries; i++) {
        fleet_status_rec_cleanup(&fx->s.entries[i].rec);
    }
    free(fx->s.entries);
    esm_manager_stop_all(fx->mgr);
    esm_manager_free(fx->mgr);
}

static cJSON *get(struct fixture *fx)
{
    struct esm_op_result r;
    esm_manager_get(fx->mgr, fx->uuid, &r);
    assert_int_equal(r.status, ESM_OP_OK);
    fleet_status_decorate(&fx->s, r.body, false);
    return r.body;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : "(none)";
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void test_get_shows_live_and_stale_nodes(void **state)
{
    (void)state;
    struct fixture fx;
    setup(&fx, false);
    add_entry(&fx, "n2:1", "Enabled", "OK", 0.5, 0, 3);
    add_entry(&fx, "n3:1", "Enabled", "OK", 10, 3, 2); // 10 s > 3 periods of 1 s: stale
    cJSON *m = get(&fx);
    const cJSON *kf = cJSON_GetObjectItemCaseSensitive(m, "KesmFleet");
    assert_non_null(kf);
    assert_string_equal(str(kf, "Node"), "self:1");
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(kf, "Nodes");
    const cJSON *stale = cJSON_GetObjectItemCaseSensitive(kf, "StaleNodes");
    assert_int_equal(cJSON_GetArraySize(nodes), 2); // this node (live, no partition) and n2
    assert_string_equal(str(cJSON_GetArrayItem(nodes, 0), "Node"), "self:1");
    assert_string_equal(str(cJSON_GetArrayItem(nodes, 1), "Node"), "n2:1");
    assert_int_equal(cJSON_GetArraySize(stale), 1);
    assert_string_equal(str(cJSON_GetArrayItem(stale, 0), "Node"), "n3:1");
    assert_true(
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(stale, 0), "Stale")));
    assert_int_equal((int)num(kf, "AssignedPartitions"), 3); // the stale node's 2 do not count
    assert_int_equal((int)num(kf, "Lag"), 3);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(nodes, 1), "Partitions");
    assert_int_equal(cJSON_GetArraySize(p), 3);
    assert_int_equal((int)num(cJSON_GetArrayItem(p, 2), "Partition"), 2);
    assert_string_equal(str(m, "State"), "Enabled");
    assert_string_equal(str(m, "LastProcessingResult"), "No records processed");
    cJSON_Delete(m);
    teardown(&fx);
}

static void test_problem_of_another_node_names_it(void **state)
{
    (void)state;
    struct fixture fx;
    setup(&fx, false);
    add_entry(&fx, "n2:1", "Enabled", "OK", 0.2, 0, 1);
    add_entry(&fx, "n3:1", "Enabled", "PROBLEM: Connection error.", 0.2, 1, 1);
    add_entry(&fx, "n4:1", "Enabled", "PROBLEM: old news", 9, 2, 1); // stale: ignored
    cJSON *m = get(&fx);
    assert_string_equal(str(m, "LastProcessingResult"), "PROBLEM: Connection error. (node n3:1)");
    assert_string_equal(str(m, "State"), "Enabled");
    cJSON_Delete(m);
    teardown(&fx);
}

static void test_stopped_here_enabled_elsewhere(void **state)
{
    (void)state;
    struct fixture fx;
    setup(&fx, true); // this node stopped it: Disabled, EVENT_SOURCE_AUTHN_ERROR
    cJSON *m = get(&fx);
    assert_string_equal(str(m, "State"), "Disabled");
    assert_string_equal(str(m, "StateTransitionReason"), "EVENT_SOURCE_AUTHN_ERROR");
    assert_non_null(strstr(str(m, "LastProcessingResult"), "(node self:1)"));
    cJSON_Delete(m);
    add_entry(&fx, "n2:1", "Enabled", "OK", 5, 0, 4); // stale: changes nothing
    m = get(&fx);
    assert_string_equal(str(m, "State"), "Disabled");
    cJSON_Delete(m);
    fx.s.entries[0].rec.time = fleet_now_epoch(); // now live
    m = get(&fx);
    assert_string_equal(str(m, "State"), "Enabled");
    assert_string_equal(str(m, "StateTransitionReason"), "USER_INITIATED");
    assert_non_null(strstr(str(m, "LastProcessingResult"), "PROBLEM: "));
    assert_non_null(strstr(str(m, "LastProcessingResult"), "(node self:1)"));
    assert_int_equal(
        (int)num(cJSON_GetObjectItemCaseSensitive(m, "KesmFleet"), "AssignedPartitions"), 4);
    cJSON_Delete(m);
    teardown(&fx);
}

static void test_list_is_decorated(void **state)
{
    (void)state;
    struct fixture fx;
    setup(&fx, false);
    add_entry(&fx, "n2:1", "Enabled", "OK", 0.2, 0, 2);
    struct esm_op_result r;
    esm_manager_list(fx.mgr, NULL, NULL, NULL, 0, &r);
    assert_int_equal(r.status, ESM_OP_OK);
    fleet_status_decorate(&fx.s, r.body, true);
    const cJSON *m =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r.body, "EventSourceMappings"), 0);
    assert_int_equal(
        (int)num(cJSON_GetObjectItemCaseSensitive(m, "KesmFleet"), "AssignedPartitions"), 2);
    cJSON_Delete(r.body);
    teardown(&fx);
}

static void test_metrics_labelled_by_node(void **state)
{
    (void)state;
    struct fixture fx;
    setup(&fx, false);
    add_entry(&fx, "n2:1", "Enabled", "OK", 0.2, 0, 2);
    add_entry(&fx, "n3:1", "Enabled", "OK", 30, 2, 2); // stale
    const char *in = "# HELP kesm_mappings M.\n# TYPE kesm_mappings gauge\nkesm_mappings 1\n"
                     "kesm_x{uuid=\"u\",function=\"f\"} 2\nkesm_y{} 3\n";
    size_t len = 0;
    char *out = fleet_status_metrics(&fx.s, strdup(in), strlen(in), &len);
    assert_non_null(out);
    assert_int_equal(len, strlen(out));
    assert_non_null(strstr(out, "# HELP kesm_mappings M.\n# TYPE kesm_mappings gauge\n"
                                "kesm_mappings{node=\"self:1\"} 1\n"
                                "kesm_x{node=\"self:1\",uuid=\"u\",function=\"f\"} 2\n"
                                "kesm_y{node=\"self:1\"} 3\n"));
    char want[200];
    snprintf(want, sizeof want,
             "kesm_fleet_mapping_assigned_partitions{node=\"n2:1\",uuid=\"%s\"} 2\n", fx.uuid);
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof want, "kesm_fleet_mapping_lag{node=\"n2:1\",uuid=\"%s\"} 2\n", fx.uuid);
    assert_non_null(strstr(out, want));
    assert_null(strstr(out, "node=\"n3:1\""));
    assert_non_null(strstr(out, "kesm_fleet_status_entries{node=\"self:1\",kind=\"stale\"} 1\n"));
    free(out);
    teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_shows_live_and_stale_nodes),
        cmocka_unit_test(test_problem_of_another_node_names_it),
        cmocka_unit_test(test_stopped_here_enabled_elsewhere),
        cmocka_unit_test(test_list_is_decorated),
        cmocka_unit_test(test_metrics_labelled_by_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
