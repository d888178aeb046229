// test_esm_fleet_apply.c: the manager's side of fleet mode (esm/mapping_fleet.h): prepare checks
// without changing anything; apply creates, updates (in topic order, an equal record changing
// nothing), deletes on a tombstone, and refuses a stored request that does not validate.
#include "esm/mapping.h"
#include "esm/mapping_fleet.h"
#include "esm/policy.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// runner: counts calls; reports running at once, stopped when asked.
struct runner {
    struct esm_manager *mgr;
    int starts, updates, stops;
};

static void r_start(void *impl, struct esm_mapping *m)
{
    struct runner *r = impl;
    r->starts++;
    esm_manager_on_running(r->mgr, m);
}

static void r_update(void *impl, struct esm_mapping *m)
{
    struct runner *r = impl;
    r->updates++;
    esm_manager_on_running(r->mgr, m);
}

static void r_stop(void *impl, struct esm_mapping *m)
{
    struct runner *r = impl;
    r->stops++;
    esm_manager_on_stopped(r->mgr, m, ESM_REASON_USER_INITIATED, NULL);
}

static void r_free(void *impl)
{
    (void)impl;
}

static const struct esm_runner_ops ops = {"counting", r_start, r_update, r_stop, r_free};

static void quiet(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

static struct esm_manager *new_mgr_policy(struct runner *r, const struct esm_policy *pol)
{
    struct esm_manager_config mc = {.log = quiet, .policy = pol};
    struct esm_manager *mgr = esm_manager_new(&mc);
    assert_non_null(mgr);
    memset(r, 0, sizeof *r);
    r->mgr = mgr;
    esm_manager_set_runner(mgr, (struct esm_runner){&ops, r});
    return mgr;
}

static struct esm_manager *new_mgr(struct runner *r)
{
    return new_mgr_policy(r, NULL);
}

static cJSON *request(int batch)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"FunctionName\":\"f\",\"Topics\":[\"orders\"],\"BatchSize\":%d,"
             "\"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":"
             "[\"b1:9092\"]}}}",
             batch);
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    return o;
}

static int batch_of(struct esm_manager *mgr, const char *uuid)
{
    struct esm_op_result g;
    esm_manager_get(mgr, uuid, &g);
    if (g.status != ESM_OP_OK) {
        return -1;
    }
    int b = cJSON_GetObjectItemCaseSensitive(g.body, "BatchSize")->valueint;
    cJSON_Delete(g.body);
    return b;
}

static const char *U = "0a7b3e35-db1e-4b7b-ba1f-6e8b314f19a3";

static void test_prepare_changes_nothing(void **state)
{
    (void)state;
    struct runner r;
    struct esm_manager *mgr = new_mgr(&r);
    cJSON *req = request(5);
    char uuid[37];
    struct esm_op_result out;
    esm_manager_prepare_create(mgr, req, uuid, &out);
    assert_int_equal(out.status, ESM_OP_OK);
    assert_int_equal(strlen(uuid), 36);
    assert_true(cJSON_Compare(out.body, req, true));
    cJSON_Delete(out.body);
    assert_int_equal(esm_manager_count(mgr), 0);
    assert_int_equal(r.starts, 0);
    // Invalid input, an unknown mapping: refused the way the local operations refuse them.
    cJSON *bad = request(0);
    esm_manager_prepare_create(mgr, bad, uuid, &out);
    assert_int_equal(out.status, ESM_OP_INVALID);
    esm_manager_prepare_update(mgr, U, req, &out);
    assert_int_equal(out.status, ESM_OP_NOT_FOUND);
    esm_manager_prepare_delete(mgr, U, &out);
    assert_int_equal(out.status, ESM_OP_NOT_FOUND);
    cJSON_Delete(bad);
    cJSON_Delete(req);
    esm_manager_free(mgr);
}

static void test_apply_in_topic_order(void **state)
{
    (void)state;
    struct runner r;
    struct esm_manager *mgr = new_mgr(&r);
    char why[300];
    cJSON *snap = NULL;
    cJSON *a = request(5), *b = request(7);
    assert_int_equal(esm_manager_apply(mgr, U, a, 1, 1.5, &snap, why, sizeof why), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(snap, "State")->valuestring, "Creating");
    cJSON_Delete(snap);
    assert_int_equal(r.starts, 1);
    assert_int_equal(batch_of(mgr, U), 5);
    // The same record again (a node replaying its own write): nothing happens.
    assert_int_equal(esm_manager_apply(mgr, U, a, 2, 1.5, &snap, why, sizeof why), 0);
    cJSON_Delete(snap);
    assert_int_equal(r.starts + r.updates + r.stops, 1);
    // Two writers: the later record wins.
    assert_int_equal(esm_manager_apply(mgr, U, b, 3, 2.5, &snap, why, sizeof why), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(snap, "State")->valuestring, "Updating");
    cJSON_Delete(snap);
    assert_int_equal(r.updates, 1);
    assert_int_equal(batch_of(mgr, U), 7);
    assert_int_equal(esm_manager_apply(mgr, U, a, 4, 3.5, NULL, why, sizeof why), 0);
    assert_int_equal(batch_of(mgr, U), 5);
    // A stored request that no longer validates leaves the mapping as it was.
    cJSON *bad = request(0);
    assert_int_equal(esm_manager_apply(mgr, U, bad, 5, 4.5, NULL, why, sizeof why), -1);
    assert_non_null(strstr(why, "invalid stored request"));
    assert_int_equal(batch_of(mgr, U), 5);
    // A tombstone deletes it; a second one is a no-op.
    assert_int_equal(esm_manager_apply(mgr, U, NULL, 6, 5.5, &snap, why, sizeof why), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(snap, "State")->valuestring, "Deleting");
    cJSON_Delete(snap);
    assert_int_equal(r.stops, 1);
    assert_int_equal(batch_of(mgr, U), -1);
    assert_int_equal(esm_manager_apply(mgr, U, NULL, 7, 6.5, &snap, why, sizeof why), 0);
    assert_null(snap);
    assert_int_equal(esm_manager_count(mgr), 0);
    cJSON_Delete(bad);
    cJSON_Delete(a);
    cJSON_Delete(b);
    esm_manager_free(mgr);
}

// A record written by a node with more --allow-api-* flags is not run by a node without them.
static void test_apply_holds_own_policy(void **state)
{
    (void)state;
    struct runner r;
    struct esm_policy strict = {0};
    struct esm_manager *mgr = new_mgr_policy(&r, &strict);
    char why[600];
    cJSON *exec =
        cJSON_Parse("{\"FunctionName\":\"f\",\"Topics\":[\"orders\"],\"SelfManagedEventSource\":"
                    "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b1:9092\"]}},"
                    "\"Kesm\":{\"Transport\":\"exec\",\"Command\":[\"/bin/sh\",\"-c\",\"id\"]}}");
    assert_non_null(exec);
    assert_int_equal(esm_manager_apply(mgr, U, exec, 1, 1.5, NULL, why, sizeof why), -1);
    assert_non_null(strstr(why, "policy"));
    assert_int_equal(esm_manager_count(mgr), 0);
    assert_int_equal(r.starts, 0);
    // An allowed mapping, then an update asking for exec: the mapping stays as it was.
    cJSON *ok = request(5);
    assert_int_equal(esm_manager_apply(mgr, U, ok, 2, 2.5, NULL, why, sizeof why), 0);
    assert_int_equal(esm_manager_apply(mgr, U, exec, 3, 3.5, NULL, why, sizeof why), -1);
    assert_int_equal(batch_of(mgr, U), 5);
    assert_int_equal(r.updates, 0);
    cJSON_Delete(ok);
    cJSON_Delete(exec);
    esm_manager_free(mgr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepare_changes_nothing),
        cmocka_unit_test(test_apply_in_topic_order),
        cmocka_unit_test(test_apply_holds_own_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
