// test_esm_secrets_sm.c: esm/secrets' Secrets Manager client against an in-process endpoint
// (evhttp on the reactor): the GetSecretValue request (body, target, content type, signed headers,
// a signature sigv4_verify accepts for the ARN's region), the cache and esm_secrets_forget, and
// AWS's error shapes (x-amzn-ErrorType with a ":" suffix, "__type" with a namespace "#") mapped to
// the mapping's reason, with messages that name the secret and never its value.
#include "esm/secrets.h"
#include "invoke/credentials.h"
#include "invoke/sigv4.h"
#include "net/reactor.h"
#include "tests/lib/unit.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_ID "AKIDSECRETSTEST"
#define KEY_SECRET "secretsTestSecretKey/EXAMPLE"

struct env {
    struct net_reactor *r;
    struct evhttp *http;
    uint16_t port;
    struct inv_creds creds;
    int requests;
    char last_region[32];
    char verify[256]; // "ok" or why the last request did not verify
    char body[512];
    bool done;
    int rc;
    enum esm_reason reason;
    char err[512];
};

static void answer(struct evhttp_request *req, int code, const char *type_header, const char *body)
{
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    evhttp_add_header(oh, "Content-Type", "application/x-amz-json-1.1");
    if (type_header) {
        evhttp_add_header(oh, "x-amzn-ErrorType", type_header);
    }
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, body, strlen(body));
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Bad Request", b);
    evbuffer_free(b);
}

// check_request verifies the request the way AWS would, with our own verifier.
static void check_request(struct env *e, struct evhttp_request *req, const char *body, size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    struct sigv4_header hs[16];
    size_t n = 0;
    for (struct evkeyval *kv = h->tqh_first; kv && n < 16; kv = kv->next.tqe_next) {
        hs[n++] = (struct sigv4_header){kv->key, kv->value};
    }
    const char *auth = evhttp_find_header(h, "Authorization");
    const char *scope = auth ? strstr(auth, "/secretsmanager/") : NULL;
    e->last_region[0] = '\0';
    if (auth && scope) {
        const char *start = scope;
        while (start > auth && start[-1] != '/') {
            start--;
        }
        snprintf(e->last_region, sizeof e->last_region, "%.*s", (int)(scope - start), start);
    }
    struct sigv4_request rq = {"POST", "/", NULL, hs, n, body, len};
    struct inv_err ie = {{0}};
    if (sigv4_verify(&rq, &e->creds, e->last_region, "secretsmanager", (int64_t)time(NULL), 300,
                     &ie) != 0) {
        snprintf(e->verify, sizeof e->verify, "%s", ie.msg);
    } else if (!auth || !strstr(auth, "SignedHeaders=content-type;host;x-amz-date;x-amz-target,")) {
        snprintf(e->verify, sizeof e->verify, "signed headers differ from botocore's");
    } else {
        const char *t = evhttp_find_header(h, "X-Amz-Target");
        const char *ct = evhttp_find_header(h, "Content-Type");
        bool hdrs = t && !strcmp(t, "secretsmanager.GetSecretValue") && ct &&
                    !strcmp(ct, "application/x-amz-json-1.1");
        snprintf(e->verify, sizeof e->verify, "%s", hdrs ? "ok" : "target or content type");
    }
}

static void on_request(struct evhttp_request *req, void *ctx)
{
    struct env *e = ctx;
    e->requests++;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len >= sizeof e->body) {
        len = sizeof e->body - 1;
    }
    evbuffer_copyout(in, e->body, len);
    e->body[len] = '\0';
    check_request(e, req, e->body, len);
    if (strstr(e->body, "Good")) {
        answer(
            req, 200, NULL,
            "{\"ARN\":\"arn:aws:secretsmanager:eu-west-1:1:secret:Good-AbCdEf\",\"Name\":\"Good\","
            "\"SecretString\":\"{\\\"username\\\":\\\"u\\\",\\\"password\\\":\\\"pw-sm\\\"}\"}");
    } else if (strstr(e->body, "Denied")) {
        answer(req, 400, NULL,
               "{\"__type\":\"com.amazonaws.secretsmanager#AccessDeniedException\","
               "\"Message\":\"not authorized\"}");
    } else if (strstr(e->body, "Binary")) {
        answer(req, 200, NULL, "{\"Name\":\"Binary\",\"SecretBinary\":\"AAAA\"}");
    } else if (strstr(e->body, "Garbage")) {
        answer(req, 500, NULL, "<html>oops</html>");
    } else {
        answer(req, 400, "ResourceNotFoundException:http://internal.amazon.com/",
               "{\"message\":\"Secrets Manager can't find the specified secret.\"}");
    }
}

static const char *env_get(const char *name)
{
    if (!strcmp(name, "AWS_ACCESS_KEY_ID")) {
        return KEY_ID;
    }
    if (!strcmp(name, "AWS_SECRET_ACCESS_KEY")) {
        return KEY_SECRET;
    }
    return NULL;
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    e->r = net_reactor_new(NULL);
    assert_non_null(e->r);
    e->http = evhttp_new(net_reactor_event_base(e->r));
    struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(e->http, "127.0.0.1", 0);
    assert_non_null(s);
    struct sockaddr_in sin;
    socklen_t sl = sizeof sin;
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&sin, &sl), 0);
    e->port = ntohs(sin.sin_port);
    evhttp_set_gencb(e->http, on_request, e);
    inv_creds_init(&e->creds);
    struct inv_err ie;
    assert_int_equal(inv_creds_load(&e->creds, env_get, &ie), 0);
    // the client under test loads the same credentials from the environment
    setenv("AWS_ACCESS_KEY_ID", KEY_ID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", KEY_SECRET, 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_SECURITY_TOKEN");
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    evhttp_free(e->http);
    inv_creds_cleanup(&e->creds);
    net_reactor_free(e->r);
    free(e);
    return 0;
}

static void done_cb(void *ctx, int rc, enum esm_reason reason, const char *err)
{
    struct env *e = ctx;
    e->done = true;
    e->rc = rc;
    e->reason = reason;
    snprintf(e->err, sizeof e->err, "%s", err);
}

// fetch runs esm_secrets_fetch for one SASL_SCRAM_512_AUTH secret |uri| to completion.
static void fetch(struct env *e, struct esm_secrets *s, const char *uri)
{
    struct esm_sac sac = {ESM_SAC_SASL_SCRAM_512_AUTH, uri};
    struct esm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.sacs = &sac;
    cfg.num_sacs = 1;
    e->done = false;
    esm_secrets_fetch(s, &cfg, done_cb, e);
    assert_false(e->done); // never called back inside the call
    for (int i = 0; i < 100 && !e->done; i++) {
        net_reactor_run_for(e->r, 100);
    }
    assert_true(e->done);
}

static struct esm_secrets *client(struct env *e)
{
    char url[64], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)e->port);
    struct esm_secrets_config c = {.secrets_manager = true, .sm_endpoint = url};
    struct esm_secrets *s = esm_secrets_new(e->r, &c, err, sizeof err);
    assert_non_null(s);
    return s;
}

static void test_fetch_cache_forget(void **state)
{
    struct env *e = *state;
    struct esm_secrets *s = client(e);
    const char *arn = "arn:aws:secretsmanager:eu-west-1:01234567890:secret:Good";
    assert_true(esm_secrets_uses_manager(s, arn));
    assert_false(esm_secrets_uses_manager(s, "file:///x"));
    fetch(e, s, arn);
    assert_int_equal(e->rc, 0);
    assert_string_equal(e->verify, "ok");
    assert_string_equal(e->last_region, "eu-west-1");
    assert_string_equal(
        e->body, "{\"SecretId\": \"arn:aws:secretsmanager:eu-west-1:01234567890:secret:Good\"}");
    enum esm_reason why;
    char err[256];
    cJSON *j = esm_secret_json(s, arn, "SASL_SCRAM_512_AUTH", &why, err, sizeof err);
    assert_non_null(j);
    assert_string_equal(esm_secret_member(j, "password"), "pw-sm");
    esm_secret_json_free(j);
    // cached: a second fetch asks nothing
    fetch(e, s, arn);
    assert_int_equal(e->rc, 0);
    assert_int_equal(e->requests, 1);
    struct esm_sac sac = {ESM_SAC_SASL_SCRAM_512_AUTH, arn};
    struct esm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.sacs = &sac;
    cfg.num_sacs = 1;
    assert_int_equal(esm_secrets_forget(s, &cfg), 1);
    size_t len;
    assert_null(esm_secret_read(s, arn, "SASL_SCRAM_512_AUTH", &len, &why, err, sizeof err));
    assert_non_null(strstr(err, "has not been fetched from Secrets Manager"));
    fetch(e, s, arn);
    assert_int_equal(e->requests, 2);
    esm_secrets_free(s);
}

static void expect_fail(struct env *e, struct esm_secrets *s, const char *uri,
                        enum esm_reason reason, const char *want)
{
    fetch(e, s, uri);
    assert_int_equal(e->rc, -1);
    assert_int_equal(e->reason, reason);
    if (!strstr(e->err, want)) {
        fail_msg("error '%s' lacks '%s'", e->err, want);
    }
    assert_string_equal(e->verify, "ok");
}

static void test_error_shapes(void **state)
{
    struct env *e = *state;
    struct esm_secrets *s = client(e);
    expect_fail(e, s, "arn:aws:secretsmanager:us-east-2:1:secret:Missing",
                ESM_REASON_ESM_CONFIG_NOT_VALID,
                "Secrets Manager GetSecretValue for secret "
                "'arn:aws:secretsmanager:us-east-2:1:secret:Missing' failed: HTTP 400 "
                "ResourceNotFoundException: Secrets Manager can't find the specified secret.");
    assert_string_equal(e->last_region, "us-east-2");
    expect_fail(e, s, "arn:aws:secretsmanager:us-east-1:1:secret:Denied",
                ESM_REASON_EVENT_SOURCE_AUTHN_ERROR,
                "failed: HTTP 400 AccessDeniedException: not authorized");
    expect_fail(e, s, "Binary", ESM_REASON_ESM_CONFIG_NOT_VALID,
                "Secrets Manager secret 'Binary' has no SecretString");
    assert_string_equal(e->last_region, "us-east-1"); // a bare name: the default region
    expect_fail(e, s, "Garbage", ESM_REASON_ESM_CONFIG_NOT_VALID,
                "failed: HTTP 500 (no error type)");
    esm_secrets_free(s);
}

static void test_unreachable_and_cancel(void **state)
{
    struct env *e = *state;
    char err[256];
    struct esm_secrets_config c = {
        .secrets_manager = true, .sm_endpoint = "http://127.0.0.1:1", .sm_timeout_ms = 2000};
    struct esm_secrets *s = esm_secrets_new(e->r, &c, err, sizeof err);
    assert_non_null(s);
    fetch(e, s, "Anything");
    assert_int_equal(e->rc, -1);
    assert_non_null(strstr(e->err, "Secrets Manager GetSecretValue for secret 'Anything' failed"));
    // a cancelled fetch never calls back
    struct esm_sac sac = {ESM_SAC_BASIC_AUTH, "Other"};
    struct esm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.sacs = &sac;
    cfg.num_sacs = 1;
    e->done = false;
    esm_secrets_fetch_cancel(esm_secrets_fetch(s, &cfg, done_cb, e));
    net_reactor_run_for(e->r, 200);
    assert_false(e->done);
    // freeing the resolver with a fetch in flight is safe too
    esm_secrets_fetch(s, &cfg, done_cb, e);
    esm_secrets_free(s);
    struct esm_secrets_config bad = {.secrets_manager = true, .sm_endpoint = "ftp://x"};
    assert_null(esm_secrets_new(e->r, &bad, err, sizeof err));
    assert_non_null(strstr(err, "Secrets Manager endpoint ftp://x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fetch_cache_forget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_and_cancel, setup, teardown),
    };
    return cmocka_run_group_tests_name("esm_secrets_sm", tests, NULL, NULL);
}
