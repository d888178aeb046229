// test_esm_mapping.c: mapping lifecycle (states, reasons, ResourceInUse/Conflict), listing with
// pagination, and the runner seam, driven through a test-double runner.
#include "esm/mapping.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// fake_runner: a test double that records calls; the test decides when it reports.
struct fake_runner {
    struct esm_manager *mgr;
    int starts, updates, stops, frees;
    struct esm_mapping *last;
};

static void fake_start(void *impl, struct esm_mapping *m)
{
    struct fake_runner *f = impl;
    f->starts++;
    f->last = m;
}

static void fake_update(void *impl, struct esm_mapping *m)
{
    struct fake_runner *f = impl;
    f->updates++;
    f->last = m;
}

static void fake_stop(void *impl, struct esm_mapping *m)
{
    struct fake_runner *f = impl;
    f->stops++;
    f->last = m;
}

static void fake_free(void *impl)
{
    struct fake_runner *f = impl;
    f->frees++;
}

static const struct esm_runner_ops fake_ops = {"fake", fake_start, fake_update, fake_stop,
                                               fake_free};

static double fixed_now(void *ctx)
{
    (void)ctx;
    return 1764000000.5;
}

static void quiet(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

static struct esm_manager *new_mgr(struct fake_runner *f)
{
    struct esm_manager_config mc = {0};
    mc.now = fixed_now;
    mc.log = quiet;
    struct esm_manager *mgr = esm_manager_new(&mc);
    assert_non_null(mgr);
    if (f) {
        memset(f, 0, sizeof *f);
        f->mgr = mgr;
        struct esm_runner r = {&fake_ops, f};
        esm_manager_set_runner(mgr, r);
    }
    return mgr;
}

static cJSON *request(const char *topic, const char *extra)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"FunctionName\":\"f\",\"Topics\":[\"%s\"],\"SelfManagedEventSource\":{"
             "\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b1:9092\"]}}%s}",
             topic, extra ? extra : "");
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    return o;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

// create makes a mapping and returns its UUID in |uuid|; asserts the Creating response.
static void create(struct esm_manager *mgr, const char *topic, const char *extra, char uuid[37])
{
    cJSON *req = request(topic, extra);
    struct esm_op_result r;
    esm_manager_create(mgr, req, &r);
    cJSON_Delete(req);
    if (r.status != ESM_OP_OK) {
        fprintf(stderr, "create failed: %s\n", r.message);
    }
    assert_int_equal(r.status, ESM_OP_OK);
    assert_string_equal(str(r.body, "State"), "Creating");
    assert_string_equal(str(r.body, "LastProcessingResult"), "No records processed");
    snprintf(uuid, 37, "%s", str(r.body, "UUID"));
    cJSON_Delete(r.body);
}

static void expect_state(struct esm_manager *mgr, const char *uuid, const char *state,
                         const char *reason)
{
    struct esm_op_result r;
    esm_manager_get(mgr, uuid, &r);
    assert_int_equal(r.status, ESM_OP_OK);
    assert_string_equal(str(r.body, "State"), state);
    assert_string_equal(str(r.body, "StateTransitionReason"), reason);
    cJSON_Delete(r.body);
}

static enum esm_op_status update(struct esm_manager *mgr, const char *uuid, const char *json,
                                 const char *expect_state_in_response)
{
    cJSON *u = cJSON_Parse(json);
    struct esm_op_result r;
    esm_manager_update(mgr, uuid, u, &r);
    cJSON_Delete(u);
    if (r.status == ESM_OP_OK && expect_state_in_response) {
        assert_string_equal(str(r.body, "State"), expect_state_in_response);
    }
    cJSON_Delete(r.body);
    return r.status;
}

static void test_lifecycle(void **state)
{
    (void)state;
    struct fake_runner f;
    struct esm_manager *mgr = new_mgr(&f);
    char u[37];
    create(mgr, "orders", NULL, u);
    assert_int_equal(f.starts, 1);
    expect_state(mgr, u, "Creating", "USER_INITIATED");
    // Transitional: updates and deletes are refused.
    struct esm_op_result r;
    cJSON *body = cJSON_Parse("{\"BatchSize\":5}");
    esm_manager_update(mgr, u, body, &r);
    cJSON_Delete(body);
    assert_int_equal(r.status, ESM_OP_IN_USE);
    char msg[200];
    snprintf(msg, sizeof msg,
             "Cannot update the event source mapping %s because it is in use (State: Creating). "
             "Try again once it is Enabled or Disabled.",
             u);
    assert_string_equal(r.message, msg);
    esm_manager_delete(mgr, u, &r);
    assert_int_equal(r.status, ESM_OP_IN_USE);

    esm_manager_on_running(mgr, f.last);
    expect_state(mgr, u, "Enabled", "USER_INITIATED");

    // Disable: Disabling until the runner confirms.
    assert_int_equal(update(mgr, u, "{\"Enabled\":false}", "Disabling"), ESM_OP_OK);
    assert_int_equal(f.stops, 1);
    expect_state(mgr, u, "Disabling", "USER_INITIATED");
    assert_int_equal(update(mgr, u, "{\"BatchSize\":5}", NULL), ESM_OP_IN_USE);
    esm_manager_on_stopped(mgr, f.last, ESM_REASON_USER_INITIATED, NULL);
    expect_state(mgr, u, "Disabled", "USER_INITIATED");

    // Update while disabled: Updating, then Disabled again without the runner.
    assert_int_equal(update(mgr, u, "{\"BatchSize\":7}", "Updating"), ESM_OP_OK);
    expect_state(mgr, u, "Disabled", "USER_INITIATED");
    assert_int_equal(f.starts, 1);
    assert_int_equal(f.updates, 0);

    // Enable.
    assert_int_equal(update(mgr, u, "{\"Enabled\":true}", "Enabling"), ESM_OP_OK);
    assert_int_equal(f.starts, 2);
    esm_manager_on_running(mgr, f.last);
    expect_state(mgr, u, "Enabled", "USER_INITIATED");

    // Update while enabled goes through the runner's update.
    assert_int_equal(update(mgr, u, "{\"BatchSize\":1000}", "Updating"), ESM_OP_OK);
    assert_int_equal(f.updates, 1);
    assert_int_equal(esm_mapping_config(f.last)->batch_size, 1000);
    esm_manager_on_running(mgr, f.last);
    expect_state(mgr, u, "Enabled", "USER_INITIATED");
    esm_manager_on_result(mgr, f.last, "OK");
    esm_manager_get(mgr, u, &r);
    assert_string_equal(str(r.body, "LastProcessingResult"), "OK");
    cJSON_Delete(r.body);

    // Invalid update.
    cJSON *bad = cJSON_Parse("{\"BatchSize\":0}");
    esm_manager_update(mgr, u, bad, &r);
    cJSON_Delete(bad);
    assert_int_equal(r.status, ESM_OP_INVALID);
    assert_string_equal(r.message, "1 validation error detected: Value '0' at 'BatchSize' failed "
                                   "to satisfy constraint: Member must be an integer between 1 "
                                   "and 10000");

    // Delete: Deleting until the runner has stopped, then gone.
    esm_manager_delete(mgr, u, &r);
    assert_int_equal(r.status, ESM_OP_OK);
    assert_string_equal(str(r.body, "State"), "Deleting");
    cJSON_Delete(r.body);
    assert_int_equal(f.stops, 2);
    assert_int_equal(esm_manager_count(mgr), 1);
    esm_manager_on_stopped(mgr, f.last, ESM_REASON_USER_INITIATED, NULL);
    assert_int_equal(esm_manager_count(mgr), 0);
    esm_manager_get(mgr, u, &r);
    assert_int_equal(r.status, ESM_OP_NOT_FOUND);
    assert_string_equal(r.message, "The resource you requested does not exist.");
    esm_manager_free(mgr);
    assert_int_equal(f.frees, 1);
}

static void test_runner_failure_reason(void **state)
{
    (void)state;
    struct fake_runner f;
    struct esm_manager *mgr = new_mgr(&f);
    char u[37];
    create(mgr, "orders", NULL, u);
    esm_manager_on_running(mgr, f.last);
    esm_manager_on_stopped(mgr, f.last, ESM_REASON_EVENT_SOURCE_AUTHN_ERROR,
                           "SASL authentication failed.");
    expect_state(mgr, u, "Disabled", "EVENT_SOURCE_AUTHN_ERROR");
    struct esm_op_result r;
    esm_manager_get(mgr, u, &r);
    assert_string_equal(str(r.body, "LastProcessingResult"),
                        "PROBLEM: SASL authentication failed.");
    cJSON_Delete(r.body);
    // Any update of a failed, still-enabled mapping retries it.
    assert_int_equal(update(mgr, u, "{\"BatchSize\":3}", "Updating"), ESM_OP_OK);
    assert_int_equal(f.starts, 2);
    esm_manager_on_running(mgr, f.last);
    expect_state(mgr, u, "Enabled", "USER_INITIATED");
    esm_manager_stop_all(mgr);
    assert_int_equal(f.stops, 1);
    esm_manager_on_stopped(mgr, f.last, ESM_REASON_USER_INITIATED, NULL);
    esm_manager_free(mgr);
}

static void test_create_disabled_and_unavailable_runner(void **state)
{
    (void)state;
    struct fake_runner f;
    struct esm_manager *mgr = new_mgr(&f);
    char u[37];
    create(mgr, "orders", ",\"Enabled\":false", u);
    assert_int_equal(f.starts, 0);
    expect_state(mgr, u, "Disabled", "USER_INITIATED");
    esm_manager_free(mgr);

    // The product runner of a build without the consumer never claims a mapping runs.
    mgr = new_mgr(NULL);
    create(mgr, "orders", NULL, u);
    expect_state(mgr, u, "Disabled", "KESM_CONSUMER_NOT_AVAILABLE");
    struct esm_op_result r;
    esm_manager_get(mgr, u, &r);
    assert_non_null(strstr(str(r.body, "LastProcessingResult"),
                           "PROBLEM: The Kafka consumer is not available in this build"));
    cJSON_Delete(r.body);
    esm_manager_delete(mgr, u, &r);
    assert_string_equal(str(r.body, "State"), "Deleting");
    cJSON_Delete(r.body);
    assert_int_equal(esm_manager_count(mgr), 0);
    esm_manager_free(mgr);
}

static void test_conflicts(void **state)
{
    (void)state;
    struct fake_runner f;
    struct esm_manager *mgr = new_mgr(&f);
    char u1[37], u2[37];
    create(mgr, "orders", ",\"SelfManagedKafkaEventSourceConfig\":{\"ConsumerGroupId\":\"g\"}", u1);
    cJSON *req = request("orders", NULL);
    struct esm_op_result r;
    esm_manager_create(mgr, req, &r);
    cJSON_Delete(req);
    assert_int_equal(r.status, ESM_OP_CONFLICT);
    char msg[400];
    snprintf(msg, sizeof msg,
             "An event source mapping with Kafka topic orders, the same bootstrap servers and "
             "function arn:aws:lambda:us-east-1:000000000000:function:f already exists. Please "
             "update or delete the existing mapping with UUID %s",
             u1);
    assert_string_equal(r.message, msg);
    // Same consumer group on the same cluster: conflict too.
    req = request("payments", ",\"SelfManagedKafkaEventSourceConfig\":{\"ConsumerGroupId\":\"g\"}");
    esm_manager_create(mgr, req, &r);
    cJSON_Delete(req);
    assert_int_equal(r.status, ESM_OP_CONFLICT);
    // Another topic is fine; renaming its function onto the first one's key is a conflict.
    create(mgr, "payments", NULL, u2);
    esm_manager_on_running(mgr, f.last);
    esm_manager_get(mgr, u2, &r);
    assert_int_equal(r.status, ESM_OP_OK);
    cJSON_Delete(r.body);
    esm_manager_free(mgr);
}

static int count_items(const cJSON *body)
{
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(body, "EventSourceMappings"));
}

static void test_list_pagination(void **state)
{
    (void)state;
    struct fake_runner f;
    struct esm_manager *mgr = new_mgr(&f);
    char uuids[7][37];
    for (int i = 0; i < 7; i++) {
        char topic[16];
        snprintf(topic, sizeof topic, "t%d", i);
        cJSON *req = request(topic, NULL);
        if (i == 3) {
            cJSON_ReplaceItemInObject(req, "FunctionName", cJSON_CreateString("other"));
        }
        struct esm_op_result r;
        esm_manager_create(mgr, req, &r);
        cJSON_Delete(req);
        assert_int_equal(r.status, ESM_OP_OK);
        snprintf(uuids[i], 37, "%s", str(r.body, "UUID"));
        cJSON_Delete(r.body);
    }
    // Pages of 3 in creation order.
    struct esm_op_result r;
    char marker[32] = "";
    int seen = 0, pages = 0;
    do {
        esm_manager_list(mgr, NULL, NULL, marker[0] ? marker : NULL, 3, &r);
        assert_int_equal(r.status, ESM_OP_OK);
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(r.body, "EventSourceMappings");
        const cJSON *it;
        cJSON_ArrayForEach(it, items)
        {
            assert_string_equal(str(it, "UUID"), uuids[seen]);
            seen++;
        }
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(r.body, "NextMarker");
        marker[0] = '\0';
        if (next) {
            snprintf(marker, sizeof marker, "%s", next->valuestring);
        }
        pages++;
        cJSON_Delete(r.body);
    } while (marker[0]);
    assert_int_equal(seen, 7);
    assert_int_equal(pages, 3);
    // No MaxItems: one page with everything, no NextMarker.
    esm_manager_list(mgr, NULL, NULL, NULL, 0, &r);
    assert_int_equal(count_items(r.body), 7);
    assert_null(cJSON_GetObjectItemCaseSensitive(r.body, "NextMarker"));
    cJSON_Delete(r.body);
    // Filters.
    esm_manager_list(mgr, "other", NULL, NULL, 0, &r);
    assert_int_equal(count_items(r.body), 1);
    assert_string_equal(
        str(cJSON_GetArrayItem(cJSON_GetObjectItem(r.body, "EventSourceMappings"), 0), "UUID"),
        uuids[3]);
    cJSON_Delete(r.body);
    esm_manager_list(mgr, "arn:aws:lambda:us-east-1:000000000000:function:f", NULL, NULL, 0, &r);
    assert_int_equal(count_items(r.body), 6);
    cJSON_Delete(r.body);
    esm_manager_list(mgr, NULL, "arn:aws:kafka:us-east-1:1:cluster/x/y", NULL, 0, &r);
    assert_int_equal(count_items(r.body), 0);
    cJSON_Delete(r.body);
    // Bad inputs.
    esm_manager_list(mgr, NULL, NULL, "abc", 0, &r);
    assert_int_equal(r.status, ESM_OP_INVALID);
    assert_string_equal(r.message,
                        "Invalid Marker 'abc': use the NextMarker of a previous response");
    esm_manager_list(mgr, "bad name!", NULL, NULL, 0, &r);
    assert_int_equal(r.status, ESM_OP_INVALID);
    esm_manager_list(mgr, NULL, NULL, NULL, 10001, &r);
    assert_int_equal(r.status, ESM_OP_INVALID);
    esm_manager_free(mgr);
}

static void test_invalid_create(void **state)
{
    (void)state;
    struct fake_runner f;
    struct esm_manager *mgr = new_mgr(&f);
    cJSON *req = request("orders", ",\"BatchSize\":0,\"StartingPosition\":\"NOW\"");
    struct esm_op_result r;
    esm_manager_create(mgr, req, &r);
    cJSON_Delete(req);
    assert_int_equal(r.status, ESM_OP_INVALID);
    assert_null(r.body);
    assert_string_equal(r.message,
                        "2 validation errors detected: Value 'NOW' at 'StartingPosition' failed to "
                        "satisfy constraint: Member must satisfy enum value set: [TRIM_HORIZON, "
                        "LATEST, AT_TIMESTAMP]; Value '0' at 'BatchSize' failed to satisfy "
                        "constraint: Member must be an integer between 1 and 10000");
    assert_int_equal(esm_manager_count(mgr), 0);
    assert_int_equal(f.starts, 0);
    esm_manager_free(mgr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_runner_failure_reason),
        cmocka_unit_test(test_create_disabled_and_unavailable_runner),
        cmocka_unit_test(test_conflicts),
        cmocka_unit_test(test_list_pagination),
        cmocka_unit_test(test_invalid_create),
    };
    return cmocka_run_group_tests_name("esm_mapping", tests, NULL, NULL);
}
