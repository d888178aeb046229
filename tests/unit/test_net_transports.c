// test_net_transports.c: the http and lambda transports against an in-process scripted server:
// the signed Invoke request (pinned clock, checked with invoke/sigv4's verifier and broken by a
// changed body), Retry-After, cancel during a backoff, free with a request in flight, result
// kinds the integration test does not reach (3xx, oversized response, X-Amz-Function-Error on the
// http transport), configuration errors, freeing from callbacks, and inv_driver with exec.
#define _GNU_SOURCE // memmem, strcasestr

#include "invoke/sigv4.h"
#include "invoke/transport_net.h"
#include "net/reactor.h"
#include "tests/lib/unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQS 8

struct srv {
    int lfd;
    uint16_t port;
    pthread_t th;
    pthread_mutex_t mu;
    const char *const *script; // "<silent>" never answers
    size_t num_script;
    int requests;
    char *req[MAX_REQS]; // raw requests (head + body), NUL-terminated
    bool stop;
};

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    while (!__atomic_load_n(&s->stop, __ATOMIC_SEQ_CST)) {
        struct pollfd pfd = {.fd = s->lfd, .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0) {
            continue;
        }
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        char buf[16384];
        size_t have = 0;
        for (;;) {
            char *end = NULL;
            while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL && have < sizeof buf - 1) {
                ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
                if (r <= 0) {
                    goto next;
                }
                have += (size_t)r;
            }
            if (end == NULL) {
                goto next;
            }
            size_t head = (size_t)(end - buf) + 4;
            const char *cl = strcasestr(buf, "Content-Length: ");
            size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0;
            while (have < head + body && have < sizeof buf - 1) {
                ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
                if (r <= 0) {
                    goto next;
                }
                have += (size_t)r;
            }
            buf[have] = '\0';
            pthread_mutex_lock(&s->mu);
            int n = s->requests++;
            if (n < MAX_REQS) {
                s->req[n] = strdup(buf);
            }
            const char *resp = s->script[(size_t)n < s->num_script ? (size_t)n : s->num_script - 1];
            pthread_mutex_unlock(&s->mu);
            have = 0;
            if (strcmp(resp, "<silent>") == 0) {
                while (recv(fd, buf, sizeof buf, 0) > 0) {
                }
                goto next;
            }
            send(fd, resp, strlen(resp), MSG_NOSIGNAL);
        }
    next:
        close(fd);
    }
    return NULL;
}

static void srv_start(struct srv *s, const char *const *script, size_t n)
{
    memset(s, 0, sizeof *s);
    s->script = script;
    s->num_script = n;
    pthread_mutex_init(&s->mu, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->lfd, 8), 0);
    socklen_t l = sizeof a;
    getsockname(s->lfd, (struct sockaddr *)&a, &l);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static int srv_requests(struct srv *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->requests;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void srv_stop(struct srv *s)
{
    __atomic_store_n(&s->stop, true, __ATOMIC_SEQ_CST);
    pthread_join(s->th, NULL);
    close(s->lfd);
    for (int i = 0; i < MAX_REQS; i++) {
        free(s->req[i]);
    }
    pthread_mutex_destroy(&s->mu);
}

struct got {
    int calls;
    enum inv_result_kind kind;
    int status;
    char message[600];
};

static void on_done(void *ctx, uint64_t id, const struct inv_result *res)
{
    (void)id;
    struct got *g = ctx;
    g->calls++;
    g->kind = res->kind;
    g->status = res->status;
    snprintf(g->message, sizeof g->message, "%s", res->message ? res->message : "");
}

static void wait_calls(struct net_reactor *r, struct got *g, int n)
{
    for (int i = 0; i < 200 && g->calls < n; i++) {
        net_reactor_run_for(r, 25);
    }
    assert_int_equal(g->calls, n);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t pinned_clock(void)
{
    return 1440938160; // 20150830T123600Z, the AWS test suite's time
}

static const char *const OK200[] = {"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnull"};

static void creds_example(struct inv_creds *c)
{
    inv_creds_init(c);
    inv_creds_set(c, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL, "test");
}

// verify_raw parses a raw request and checks it with sigv4_verify; |tamper| flips a body byte.
static int verify_raw(char *raw, const struct inv_creds *creds, bool tamper)
{
    struct sigv4_header hs[16];
    size_t n = 0;
    char *line_end = strstr(raw, "\r\n");
    *line_end = '\0';
    char *method = raw, *sp = strchr(raw, ' ');
    *sp = '\0';
    char *target = sp + 1;
    *strchr(target, ' ') = '\0';
    char *q = strchr(target, '?');
    if (q != NULL) {
        *q++ = '\0';
    }
    char *p = line_end + 2;
    while (strncmp(p, "\r\n", 2) != 0 && n < 16) {
        char *e = strstr(p, "\r\n");
        *e = '\0';
        char *colon = strchr(p, ':');
        *colon = '\0';
        hs[n].name = p;
        hs[n].value = colon + 2;
        n++;
        p = e + 2;
    }
    char *body = p + 2;
    if (tamper) {
        body[0] ^= 1;
    }
    struct sigv4_request rq = {.method = method,
                               .path = target,
                               .query = q,
                               .headers = hs,
                               .num_headers = n,
                               .body = body,
                               .body_len = strlen(body)};
    struct inv_err err = {{0}};
    return sigv4_verify(&rq, creds, "us-east-1", "lambda", pinned_clock(), 60, &err);
}

static void test_lambda_request_is_signed(void **state)
{
    (void)state;
    struct srv s;
    srv_start(&s, OK200, 1);
    struct net_reactor *r = net_reactor_new(NULL);
    struct inv_creds creds;
    creds_example(&creds);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%u/", s.port);
    struct inv_lambda_cfg cfg = {.function = "my-function:prod",
                                 .qualifier = "$LATEST",
                                 .region = "us-east-1",
                                 .endpoint = ep,
                                 .creds = &creds,
                                 .clock = pinned_clock};
    struct inv_transport *t;
    struct inv_err err = {{0}};
    assert_int_equal(inv_lambda_new(&t, r, &cfg, &err), 0);
    assert_string_equal(inv_transport_name(t), "lambda");
    struct got g = {0};
    uint64_t id;
    const char *ev = "{\"hello\":\"world\"}";
    assert_int_equal(inv_transport_submit(t, ev, strlen(ev), on_done, &g, &id, &err), 0);
    wait_calls(r, &g, 1);
    assert_int_equal(g.kind, INV_RESULT_OK);
    assert_int_equal(g.status, 200);
    char *raw = s.req[0];
    assert_non_null(raw);
    assert_true(strncmp(raw,
                        "POST /2015-03-31/functions/my-function%3Aprod/invocations"
                        "?Qualifier=%24LATEST HTTP/1.1\r\n",
                        82) == 0);
    assert_non_null(strstr(raw, "\r\nX-Amz-Date: 20150830T123600Z\r\n"));
    assert_non_null(strstr(raw, "\r\nX-Amz-Invocation-Type: RequestResponse\r\n"));
    assert_null(strcasestr(raw, "content-type"));
    assert_null(strstr(raw, "wJalrXUtnFEMI")); // the secret never goes on the wire
    assert_non_null(strstr(raw, "SignedHeaders=host;x-amz-date;x-amz-invocation-type, "));
    char *copy = strdup(raw);
    assert_int_equal(verify_raw(raw, &creds, false), 0);
    assert_int_equal(verify_raw(copy, &creds, true), -1); // a changed body breaks it
    free(copy);
    inv_transport_free(t);
    inv_creds_cleanup(&creds);
    net_reactor_free(r);
    srv_stop(&s);
}

static void test_retry_after_and_cap(void **state)
{
    (void)state;
    static const char *const script[] = {
        "HTTP/1.1 429 Too Many\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    };
    struct srv s;
    srv_start(&s, script, 2);
    struct net_reactor *r = net_reactor_new(NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", s.port);
    struct inv_http_cfg cfg = {.url = url,
                               .opts = {.backoff_initial_ms = 10, .backoff_max_ms = 5000}};
    struct inv_transport *t;
    struct inv_err err = {{0}};
    assert_int_equal(inv_http_new(&t, r, &cfg, &err), 0);
    struct got g = {0};
    uint64_t id;
    double t0 = now_s();
    assert_int_equal(inv_transport_submit(t, "{}", 2, on_done, &g, &id, &err), 0);
    wait_calls(r, &g, 1);
    double el = now_s() - t0;
    assert_int_equal(g.kind, INV_RESULT_OK);
    assert_true(el >= 0.95 && el < 2.5); // Retry-After: 1 raised the 10 ms backoff
    assert_int_equal(srv_requests(&s), 2);
    inv_transport_free(t);
    net_reactor_free(r);
    srv_stop(&s);
}

static void test_cancel_in_backoff_and_free_in_flight(void **state)
{
    (void)state;
    static const char *const script[] = {"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n",
                                         "<silent>"};
    struct srv s;
    srv_start(&s, script, 2);
    struct net_reactor *r = net_reactor_new(NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", s.port);
    struct inv_http_cfg cfg = {.url = url,
                               .opts = {.backoff_initial_ms = 400, .backoff_max_ms = 400}};
    struct inv_transport *t;
    struct inv_err err = {{0}};
    assert_int_equal(inv_http_new(&t, r, &cfg, &err), 0);
    struct got g = {0};
    uint64_t id;
    assert_int_equal(inv_transport_submit(t, "{}", 2, on_done, &g, &id, &err), 0);
    for (int i = 0; i < 40 && srv_requests(&s) < 1; i++) {
        net_reactor_run_for(r, 10);
    }
    net_reactor_run_for(r, 50); // the 503 arrives; the call waits 200-400 ms
    assert_int_equal(inv_transport_cancel(t, id), 0);
    assert_int_equal(inv_transport_cancel(t, id), -1);
    net_reactor_run_for(r, 600);
    assert_int_equal(g.calls, 0);
    assert_int_equal(srv_requests(&s), 1); // no second attempt after the cancel
    // A request in flight (the server stays silent) when the transport is freed: no callback,
    // nothing leaked (ASan).
    assert_int_equal(inv_transport_submit(t, "{}", 2, on_done, &g, &id, &err), 0);
    for (int i = 0; i < 40 && srv_requests(&s) < 2; i++) {
        net_reactor_run_for(r, 10);
    }
    inv_transport_free(t);
    net_reactor_run_for(r, 20);
    assert_int_equal(g.calls, 0);
    net_reactor_free(r);
    srv_stop(&s);
}

static void test_other_result_kinds(void **state)
{
    (void)state;
    static const char *const script[] = {
        "HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 80\r\n\r\n"
        "0123456789012345678901234567890123456789012345678901234567890123456789012345678",
        "HTTP/1.1 200 OK\r\nX-Amz-Function-Error: Handled\r\nContent-Length: 41\r\n\r\n"
        "{\"errorType\":\"E\",\"errorMessage\":\"m\\nx\"}  ",
        "HTTP/1.1 200 OK\r\nContent-Length: 62\r\n\r\n"
        "{\"batchItemFailures\":[{\"itemIdentifier\":{\"partition\":\"t-0\"}}]}",
    };
    struct srv s;
    srv_start(&s, script, 4);
    struct net_reactor *r = net_reactor_new(NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", s.port);
    struct inv_http_cfg cfg = {.url = url,
                               .opts = {.max_response = 70, .report_batch_item_failures = true}};
    struct inv_transport *t;
    struct inv_err err = {{0}};
    assert_int_equal(inv_http_new(&t, r, &cfg, &err), 0);
    struct got g = {0};
    uint64_t id;
    assert_int_equal(inv_transport_submit(t, "{}", 2, on_done, &g, &id, &err), 0);
    wait_calls(r, &g, 1);
    assert_int_equal(g.kind, INV_RESULT_FATAL);
    assert_string_equal(g.message, "HTTP 301 Moved: the endpoint refused the invocation");
    assert_int_equal(inv_transport_submit(t, "{}", 2, on_done, &g, &id, &err), 0);
    wait_calls(r, &g, 2);
    assert_int_equal(g.kind, INV_RESULT_FUNCTION_ERROR);
    assert_non_null(strstr(g.message, "response too large"));
    assert_int_equal(inv_transport_submit(t, "{}", 2, on_done, &g, &id, &err), 0);
    wait_calls(r, &g, 3);
    assert_int_equal(g.kind, INV_RESULT_FUNCTION_ERROR);
    assert_string_equal(g.message, "function error (Handled): E: m x"); // one line
    assert_int_equal(inv_transport_submit(t, "{}", 2, on_done, &g, &id, &err), 0);
    wait_calls(r, &g, 4);
    assert_int_equal(g.kind, INV_RESULT_FUNCTION_ERROR); // an item without an offset
    assert_non_null(strstr(g.message, "batchItemFailures[0]"));
    inv_transport_free(t);
    net_reactor_free(r);
    srv_stop(&s);
}

static void test_config_errors(void **state)
{
    (void)state;
    struct net_reactor *r = net_reactor_new(NULL);
    struct inv_creds creds;
    creds_example(&creds);
    struct inv_transport *t = NULL;
    struct inv_err err = {{0}};
    static const struct {
        const char *function, *qualifier, *region, *endpoint, *msg;
    } bad[] = {
        {NULL, NULL, "us-east-1", NULL, "function name missing or invalid"},
        {"a/b", NULL, "us-east-1", NULL, "function name missing or invalid"},
        {"f", NULL, NULL, NULL, "no region"},
        {"arn:aws:s3:::bucket", NULL, NULL, NULL, "no region"},
        {"f", NULL, "US EAST", NULL, "invalid region"},
        {"f", "a b", "us-east-1", NULL, "invalid qualifier"},
        {"f", NULL, "us-east-1", "http://127.0.0.1:1/prefix", "bad endpoint"},
        {"f", NULL, "us-east-1", "ftp://x", "bad endpoint"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct inv_lambda_cfg cfg = {.function = bad[i].function,
                                     .qualifier = bad[i].qualifier,
                                     .region = bad[i].region,
                                     .endpoint = bad[i].endpoint,
                                     .creds = &creds};
        if (inv_lambda_new(&t, r, &cfg, &err) != -1 || strstr(err.msg, bad[i].msg) == NULL) {
            fail_msg("case %zu: \"%s\"", i, err.msg);
        }
    }
    struct inv_lambda_cfg nocreds = {.function = "f", .region = "us-east-1"};
    assert_int_equal(inv_lambda_new(&t, r, &nocreds, &err), -1);
    assert_non_null(strstr(err.msg, "no AWS credentials"));
    struct inv_lambda_cfg arn = {.function = "arn:aws:lambda:eu-west-1:123456789012:function:f",
                                 .endpoint = "http://127.0.0.1:1",
                                 .creds = &creds,
                                 .opts = {.timeout_ms = 840001}};
    assert_int_equal(inv_lambda_new(&t, r, &arn, &err), -1);
    assert_non_null(strstr(err.msg, "above the 14-minute maximum"));
    arn.opts.timeout_ms = 840000;
    assert_int_equal(inv_lambda_new(&t, r, &arn, &err), 0);
    struct net_http_stats st;
    assert_int_equal(inv_net_transport_stats(t, &st), 0);
    inv_transport_free(t);
    // https without a TLS context: the transport makes one from the system store.
    struct inv_http_cfg h1 = {.url = "https://127.0.0.1/"};
    assert_int_equal(inv_http_new(&t, r, &h1, &err), 0);
    inv_transport_free(t);
    struct inv_lambda_cfg dflt = {.function = "f", .region = "us-east-1", .creds = &creds};
    assert_int_equal(inv_lambda_new(&t, r, &dflt, &err), 0); // https://lambda.us-east-1...
    inv_transport_free(t);
    struct inv_http_cfg h3 = {.url = "http://127.0.0.1:9/", .sign_creds = &creds};
    assert_int_equal(inv_http_new(&t, r, &h3, &err), -1);
    assert_non_null(strstr(err.msg, "signing needs credentials and a region"));
    struct inv_http_cfg h2 = {.url = "127.0.0.1:9000/x"};
    assert_int_equal(inv_http_new(&t, r, &h2, &err), -1);
    assert_non_null(strstr(err.msg, "scheme must be http"));
    struct inv_transport *so = inv_stdout_new(1);
    assert_int_equal(inv_net_transport_stats(so, &st), -1);
    inv_transport_free(so);
    inv_creds_cleanup(&creds);
    net_reactor_free(r);
}

struct freeing {
    struct inv_transport *t;
    int calls;
};

static void on_done_free(void *ctx, uint64_t id, const struct inv_result *res)
{
    (void)id;
    (void)res;
    struct freeing *f = ctx;
    f->calls++;
    inv_transport_free(f->t);
    f->t = NULL;
}

static void test_free_inside_done(void **state)
{
    (void)state;
    struct srv s;
    srv_start(&s, OK200, 1);
    struct net_reactor *r = net_reactor_new(NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", s.port);
    struct inv_http_cfg cfg = {.url = url};
    struct freeing f = {0};
    struct inv_err err = {{0}};
    assert_int_equal(inv_http_new(&f.t, r, &cfg, &err), 0);
    uint64_t id;
    assert_int_equal(inv_transport_submit(f.t, "{}", 2, on_done_free, &f, &id, &err), 0);
    assert_int_equal(inv_transport_submit(f.t, "{}", 2, on_done_free, &f, &id, &err), 0);
    for (int i = 0; i < 100 && f.calls == 0; i++) {
        net_reactor_run_for(r, 20);
    }
    net_reactor_run_for(r, 100);
    assert_int_equal(f.calls, 1); // freed in the first callback: the second is dropped
    net_reactor_free(r);
    srv_stop(&s);
}

struct drv_ctx {
    struct inv_driver *d;
    int calls;
    enum inv_result_kind kind;
};

static void on_done_drop_driver(void *ctx, uint64_t id, const struct inv_result *res)
{
    (void)id;
    struct drv_ctx *x = ctx;
    x->calls++;
    x->kind = res->kind;
    inv_driver_free(x->d); // from inside the driver's dispatch
    x->d = NULL;
}

// inv_driver runs the (poll-based) exec transport on the reactor, and may be freed from a done
// callback.
static void test_driver_exec(void **state)
{
    (void)state;
    struct net_reactor *r = net_reactor_new(NULL);
    static const char *const argv[] = {"/bin/sh", "-c", "cat >/dev/null; echo null", NULL};
    struct inv_exec_cfg ec = {.argv = argv, .timeout_ms = 5000};
    struct inv_transport *t;
    struct inv_err err = {{0}};
    assert_int_equal(inv_exec_new(&t, &ec, &err), 0);
    struct drv_ctx x = {.d = inv_driver_new(r, t)};
    uint64_t id;
    assert_int_equal(inv_transport_submit(t, "{}", 2, on_done_drop_driver, &x, &id, &err), 0);
    inv_driver_kick(x.d);
    for (int i = 0; i < 200 && x.calls == 0; i++) {
        net_reactor_run_for(r, 25);
    }
    assert_int_equal(x.calls, 1);
    assert_int_equal(x.kind, INV_RESULT_OK);
    assert_null(x.d);
    net_reactor_run_for(r, 50); // nothing left armed that touches the freed driver
    inv_transport_free(t);
    net_reactor_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lambda_request_is_signed),
        cmocka_unit_test(test_retry_after_and_cap),
        cmocka_unit_test(test_cancel_in_backoff_and_free_in_flight),
        cmocka_unit_test(test_other_result_kinds),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_free_inside_done),
        cmocka_unit_test(test_driver_exec),
    };
    return cmocka_run_group_tests_name("net_transports", tests, NULL, NULL);
}
