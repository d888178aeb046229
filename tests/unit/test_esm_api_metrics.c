// test_esm_api_metrics.c: GET /metrics and GET /health over real HTTP in-process (evhttp server
// and client on one event_base): content types, the mapping-state samples of mappings that do not
// run, the health body, only GET on these paths, and that they answer without a SigV4 signature
// while the management API still demands one.
#include "esm/api.h"
#include "esm/mapping.h"
#include "invoke/credentials.h"
#include "tests/lib/unit.h"

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reply {
    int status;
    char type[128];
    char *body; // NUL-terminated
};

struct env {
    struct event_base *base;
    struct esm_manager *mgr;
    struct esm_api *api;
    struct inv_creds creds;
};

static void on_reply(struct evhttp_request *req, void *ctx)
{
    struct reply *r = ctx;
    if (!req) {
        r->status = -1;
        return;
    }
    r->status = evhttp_request_get_response_code(req);
    const char *t = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    snprintf(r->type, sizeof r->type, "%s", t ? t : "");
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    r->body = calloc(1, n + 1);
    evbuffer_remove(in, r->body, n);
}

static struct reply call(struct env *e, enum evhttp_cmd_type cmd, const char *uri, const char *body)
{
    struct reply r = {0};
    struct evhttp_connection *c =
        evhttp_connection_base_new(e->base, NULL, "127.0.0.1", esm_api_port(e->api));
    struct evhttp_request *req = evhttp_request_new(on_reply, &r);
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%u", (unsigned)esm_api_port(e->api));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host", host);
    if (body) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/json");
        evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    }
    assert_int_equal(evhttp_make_request(c, req, cmd, uri), 0);
    while (r.status == 0) {
        event_base_loop(e->base, EVLOOP_ONCE);
    }
    evhttp_connection_free(c);
    return r;
}

static void env_init(struct env *e, bool verify)
{
    memset(e, 0, sizeof *e);
    e->base = event_base_new();
    struct esm_manager_config mc = {0};
    e->mgr = esm_manager_new(&mc);
    esm_manager_set_runner(e->mgr, esm_runner_unavailable(e->mgr));
    inv_creds_init(&e->creds);
    inv_creds_set(&e->creds, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL,
                  "test");
    struct esm_api_config ac = {
        .host = "127.0.0.1", .verify_creds = verify ? &e->creds : NULL, .no_auth = !verify};
    char why[256];
    e->api = esm_api_new(e->base, e->mgr, &ac, why, sizeof why);
    assert_non_null(e->api);
}

static void env_cleanup(struct env *e)
{
    esm_api_free(e->api);
    esm_manager_free(e->mgr);
    inv_creds_cleanup(&e->creds);
    event_base_free(e->base);
}

static const char *CREATE = "{\"FunctionName\":\"f\",\"Topics\":[\"t\"],\"SelfManagedEventSource\":"
                            "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b:1\"]}}}";

static void test_metrics_and_health(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, false);
    struct reply r = call(&e, EVHTTP_REQ_GET, "/metrics", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.type, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body, "\nkesm_mappings 0\n"));
    free(r.body);

    r = call(&e, EVHTTP_REQ_POST, "/2015-03-31/event-source-mappings/", CREATE);
    assert_int_equal(r.status, 202);
    cJSON *j = cJSON_Parse(r.body);
    char uuid[37];
    snprintf(uuid, sizeof uuid, "%s", cJSON_GetObjectItem(j, "UUID")->valuestring);
    cJSON_Delete(j);
    free(r.body);

    // without a consumer the mapping is Disabled at once: state samples, no counters
    r = call(&e, EVHTTP_REQ_GET, "/metrics", NULL);
    assert_int_equal(r.status, 200);
    char want[300];
    snprintf(want, sizeof want,
             "\nkesm_mapping_state{uuid=\"%s\",function=\"arn:aws:lambda:us-east-1:000000000000:"
             "function:f\",state=\"Disabled\"} 1\n",
             uuid);
    assert_non_null(strstr(r.body, want));
    snprintf(want, sizeof want,
             "\nkesm_mapping_state{uuid=\"%s\",function=\"arn:aws:lambda:us-east-1:000000000000:"
             "function:f\",state=\"Enabled\"} 0\n",
             uuid);
    assert_non_null(strstr(r.body, want));
    assert_non_null(strstr(r.body, "\nkesm_mappings 1\n"));
    assert_null(strstr(r.body, "kesm_invocations_total{"));
    assert_null(strstr(r.body, "b:1")); // no bootstrap servers (nor any URI) in the metrics
    free(r.body);

    r = call(&e, EVHTTP_REQ_GET, "/health", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.type, "application/json");
    j = cJSON_Parse(r.body);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "Status")->valuestring, "ok");
    assert_int_equal(cJSON_GetObjectItem(j, "Total")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "Mappings"), "Disabled")->valueint,
                     1);
    cJSON_Delete(j);
    free(r.body);

    r = call(&e, EVHTTP_REQ_GET, "/healthz", NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = call(&e, EVHTTP_REQ_POST, "/metrics", "x");
    assert_int_equal(r.status, 404);
    free(r.body);
    r = call(&e, EVHTTP_REQ_DELETE, "/health", NULL);
    assert_int_equal(r.status, 404);
    free(r.body);
    r = call(&e, EVHTTP_REQ_GET, "/metricsx", NULL);
    assert_int_equal(r.status, 404);
    free(r.body);
    env_cleanup(&e);
}

static void test_unsigned_when_verifying(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, true);
    struct reply r = call(&e, EVHTTP_REQ_GET, "/2015-03-31/event-source-mappings/", NULL);
    assert_int_equal(r.status, 403); // the API itself wants a signature
    free(r.body);
    r = call(&e, EVHTTP_REQ_GET, "/metrics", NULL);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "AKIDEXAMPLE"));
    free(r.body);
    r = call(&e, EVHTTP_REQ_GET, "/health", NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    env_cleanup(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_and_health),
        cmocka_unit_test(test_unsigned_when_verifying),
    };
    return cmocka_run_group_tests_name("esm_api_metrics", tests, NULL, NULL);
}
