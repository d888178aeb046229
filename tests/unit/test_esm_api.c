// test_esm_api.c: the management API over real HTTP in-process (net/httpd server, evhttp client,
// one event_base): routes with and without trailing slashes, status codes, x-amzn-ErrorType and the
// "message"/"Message" spelling per exception, SigV4 verification, and the loopback rule.
#include "esm/api.h"
#include "esm/mapping.h"
#include "invoke/credentials.h"
#include "invoke/sigv4.h"
#include "tests/lib/unit.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

static void test_loopback_addresses(void **state)
{
    (void)state;
    static const struct {
        const char *addr;
        bool loopback;
    } v4[] = {{"127.0.0.1", true},
              {"127.3.4.5", true},
              {"10.0.0.1", false},
              {"0.0.0.0", false},
              {"192.168.1.7", false}};
    for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++) {
        struct sockaddr_in sin = {.sin_family = AF_INET};
        assert_int_equal(inet_pton(AF_INET, v4[i].addr, &sin.sin_addr), 1);
        assert_int_equal(esm_api_addr_is_loopback((struct sockaddr *)&sin), v4[i].loopback);
    }
    static const struct {
        const char *addr;
        bool loopback;
    } v6[] = {{"::1", true},
              {"::ffff:127.0.0.1", true},
              {"::ffff:10.0.0.1", false},
              {"fe80::1", false},
              {"::", false}};
    for (size_t i = 0; i < sizeof v6 / sizeof v6[0]; i++) {
        struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
        assert_int_equal(inet_pton(AF_INET6, v6[i].addr, &sin6.sin6_addr), 1);
        assert_int_equal(esm_api_addr_is_loopback((struct sockaddr *)&sin6), v6[i].loopback);
    }
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    assert_false(esm_api_addr_is_loopback((struct sockaddr *)&sun));
    assert_false(esm_api_addr_is_loopback(NULL));
}

// ---- an in-process client -----------------------------------------------------------------------

struct reply {
    int status;
    char error_type[64];
    char request_id[64];
    cJSON *body;
};

struct env {
    struct event_base *base;
    struct esm_manager *mgr;
    struct esm_api *api;
    struct inv_creds creds;        // what the server accepts
    struct inv_creds client_creds; // what the client signs with
};

static void on_reply(struct evhttp_request *req, void *ctx)
{
    struct reply *r = ctx;
    if (req) {
        r->status = evhttp_request_get_response_code(req);
        struct evkeyvalq *h = evhttp_request_get_input_headers(req);
        const char *t = evhttp_find_header(h, "x-amzn-ErrorType");
        const char *id = evhttp_find_header(h, "x-amzn-RequestId");
        snprintf(r->error_type, sizeof r->error_type, "%s", t ? t : "");
        snprintf(r->request_id, sizeof r->request_id, "%s", id ? id : "");
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        r->body = cJSON_ParseWithLength((const char *)evbuffer_pullup(in, (ev_ssize_t)n), n);
    }
}

// call sends one request and runs the loop until its reply. |sign| adds SigV4 headers.
static struct reply call(struct env *e, enum evhttp_cmd_type cmd, const char *uri, const char *body,
                         bool sign)
{
    struct reply r = {0};
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%u", (unsigned)esm_api_port(e->api));
    struct evhttp_connection *c =
        evhttp_connection_base_new(e->base, NULL, "127.0.0.1", esm_api_port(e->api));
    struct evhttp_request *req = evhttp_request_new(on_reply, &r);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", host);
    if (body) {
        evhttp_add_header(h, "Content-Type", "application/json");
        evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    }
    struct sigv4_signed sig = {0};
    if (sign) {
        char path[256], *q;
        snprintf(path, sizeof path, "%s", uri);
        q = strchr(path, '?');
        if (q) {
            *q++ = '\0';
        }
        struct sigv4_header hs[2] = {{"Host", host}, {"Content-Type", "application/json"}};
        struct sigv4_request sr = {cmd == EVHTTP_REQ_POST ? "POST" : "GET",
                                   path,
                                   q,
                                   hs,
                                   body ? 2 : 1,
                                   body,
                                   body ? strlen(body) : 0};
        struct inv_err err = {{0}};
        assert_int_equal(sigv4_sign(&sig, &e->client_creds, "us-east-1", "lambda",
                                    (int64_t)time(NULL), &sr, &err),
                         0);
        evhttp_add_header(h, "X-Amz-Date", sig.amz_date);
        evhttp_add_header(h, "Authorization", sig.authorization);
    }
    assert_int_equal(evhttp_make_request(c, req, cmd, uri), 0);
    while (r.status == 0) {
        event_base_loop(e->base, EVLOOP_ONCE);
    }
    sigv4_signed_cleanup(&sig);
    evhttp_connection_free(c);
    return r;
}

static void env_init(struct env *e, bool verify)
{
    memset(e, 0, sizeof *e);
    e->base = event_base_new();
    struct esm_manager_config mc = {0};
    mc.log = NULL;
    e->mgr = esm_manager_new(&mc);
    inv_creds_init(&e->creds);
    inv_creds_set(&e->creds, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL,
                  "test");
    inv_creds_init(&e->client_creds);
    inv_creds_set(&e->client_creds, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL,
                  "test");
    struct esm_api_config ac = {
        .host = "127.0.0.1", .verify_creds = verify ? &e->creds : NULL, .no_auth = !verify};
    char why[256];
    e->api = esm_api_new(e->base, e->mgr, &ac, why, sizeof why);
    assert_non_null(e->api);
    assert_true(esm_api_port(e->api) > 0);
}

static void env_cleanup(struct env *e)
{
    esm_api_free(e->api);
    esm_manager_free(e->mgr);
    inv_creds_cleanup(&e->creds);
    inv_creds_cleanup(&e->client_creds);
    event_base_free(e->base);
}

static const char *member(const struct reply *r, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->body, name);
    return cJSON_IsString(v) ? v->valuestring : "(absent)";
}

static const char *CREATE =
    "{\"FunctionName\":\"f\",\"Topics\":[\"t\"],\"Enabled\":false,\"SelfManagedEventSource\":"
    "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b:1\"]}}}";

static void test_routes_and_errors(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, false);
    struct reply r = call(&e, EVHTTP_REQ_POST, "/2015-03-31/event-source-mappings", CREATE, false);
    assert_int_equal(r.status, 202);
    assert_string_equal(member(&r, "State"), "Creating");
    assert_int_equal(strlen(r.request_id), 36);
    char uuid[37], uri[128];
    snprintf(uuid, sizeof uuid, "%s", member(&r, "UUID"));
    cJSON_Delete(r.body);

    r = call(&e, EVHTTP_REQ_GET, "/2015-03-31/event-source-mappings/", NULL, false);
    assert_int_equal(r.status, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.body, "EventSourceMappings")), 1);
    cJSON_Delete(r.body);

    snprintf(uri, sizeof uri, "/2015-03-31/event-source-mappings/%s/", uuid);
    r = call(&e, EVHTTP_REQ_GET, uri, NULL, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(member(&r, "State"), "Disabled");
    cJSON_Delete(r.body);

    r = call(&e, EVHTTP_REQ_GET, "/2015-03-31/event-source-mappings/nope", NULL, false);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.error_type, "ResourceNotFoundException");
    assert_string_equal(member(&r, "Type"), "User");
    assert_string_equal(member(&r, "Message"), "The resource you requested does not exist.");
    cJSON_Delete(r.body);

    snprintf(uri, sizeof uri, "/2015-03-31/event-source-mappings/%s", uuid);
    r = call(&e, EVHTTP_REQ_PUT, uri, "[1]", false);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.error_type, "InvalidRequestContentException");
    assert_string_equal(member(&r, "message"),
                        "Could not parse request body into json: expected an object");
    cJSON_Delete(r.body);

    r = call(&e, EVHTTP_REQ_PUT, uri, "{\"BatchSize\":0}", false);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.error_type, "InvalidParameterValueException");
    assert_string_equal(member(&r, "message"),
                        "1 validation error detected: Value '0' at 'BatchSize' failed to satisfy "
                        "constraint: Member must be an integer between 1 and 10000");
    cJSON_Delete(r.body);

    r = call(&e, EVHTTP_REQ_POST, "/2015-03-31/event-source-mappings/", CREATE, false);
    assert_int_equal(r.status, 409);
    assert_string_equal(r.error_type, "ResourceConflictException");
    assert_non_null(strstr(member(&r, "message"), uuid));
    cJSON_Delete(r.body);

    r = call(&e, EVHTTP_REQ_GET, "/2015-03-31/event-source-mappings/?MaxItems=0", NULL, false);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.error_type, "InvalidParameterValueException");
    cJSON_Delete(r.body);

    r = call(&e, EVHTTP_REQ_GET, "/2015-03-31/functions/f/invocations", NULL, false);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.error_type, "UnknownOperationException");
    cJSON_Delete(r.body);

    r = call(&e, EVHTTP_REQ_DELETE, uri, NULL, false);
    assert_int_equal(r.status, 202);
    assert_string_equal(member(&r, "State"), "Deleting");
    cJSON_Delete(r.body);
    r = call(&e, EVHTTP_REQ_GET, uri, NULL, false);
    assert_int_equal(r.status, 404);
    cJSON_Delete(r.body);
    env_cleanup(&e);
}

static void test_sigv4_verification(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, true);
    struct reply r = call(&e, EVHTTP_REQ_GET, "/2015-03-31/event-source-mappings/", NULL, false);
    assert_int_equal(r.status, 403);
    assert_string_equal(r.error_type, "MissingAuthenticationTokenException");
    assert_string_equal(member(&r, "message"), "Missing Authentication Token");
    cJSON_Delete(r.body);

    r = call(&e, EVHTTP_REQ_GET, "/2015-03-31/event-source-mappings/?FunctionName=f&MaxItems=5",
             NULL, true);
    assert_int_equal(r.status, 200);
    cJSON_Delete(r.body);
    r = call(&e, EVHTTP_REQ_POST, "/2015-03-31/event-source-mappings/", CREATE, true);
    assert_int_equal(r.status, 202);
    cJSON_Delete(r.body);

    // Signed with another secret: refused, and the message names no secret.
    inv_creds_set(&e.client_creds, "AKIDEXAMPLE", "another-secret", NULL, "test");
    r = call(&e, EVHTTP_REQ_GET, "/2015-03-31/event-source-mappings/", NULL, true);
    assert_int_equal(r.status, 403);
    assert_string_equal(r.error_type, "InvalidSignatureException");
    assert_null(strstr(member(&r, "message"), "another-secret"));
    cJSON_Delete(r.body);
    env_cleanup(&e);
}

// Secure by default: without credentials to check and without an explicit opt-out, no server.
static void test_refuses_to_serve_unauthenticated(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct esm_manager_config mc = {0};
    struct esm_manager *mgr = esm_manager_new(&mc);
    struct esm_api_config ac = {.host = "127.0.0.1"};
    char why[256] = "";
    assert_null(esm_api_new(base, mgr, &ac, why, sizeof why));
    assert_non_null(strstr(why, "refusing to serve the API without authentication"));
    esm_manager_free(mgr);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback_addresses),
        cmocka_unit_test(test_routes_and_errors),
        cmocka_unit_test(test_sigv4_verification),
        cmocka_unit_test(test_refuses_to_serve_unauthenticated),
    };
    return cmocka_run_group_tests_name("esm_api", tests, NULL, NULL);
}
