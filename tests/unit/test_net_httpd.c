// test_net_httpd.c: the API server's request parser (net/httpd_parse.h) on golden bytes: a whole
// request fed at once and byte by byte, every strict prefix, the framing rules (duplicate and
// conflicting Content-Length, Transfer-Encoding, Host, Expect, line endings, folding, limits,
// versions, targets), keep-alive and pipelining; and the server (net/httpd.h) over loopback
// sockets: the connection cap with eviction and 429, the head deadline (408) against a client
// sending one byte at a time, and an accept() that pauses instead of spinning when descriptors
// run out.
#include "net/httpd.h"
#include "net/httpd_parse.h"
#include "tests/lib/unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// ---- the parser --------------------------------------------------------------------------

static const char GOOD[] = "POST /2015-03-31/event-source-mappings?MaxItems=5 HTTP/1.1\r\n"
                           "Host: 127.0.0.1:9320\r\n"
                           "Content-Type: application/json\r\n"
                           "X-Spaces:   padded value \t \r\n"
                           "Content-Length: 7\r\n"
                           "\r\n"
                           "{\"a\":1}";

static enum net_httpd_parse_status parse_all(struct net_httpd_parser *p, const char *s, size_t len,
                                             size_t *used)
{
    net_httpd_parser_init(p, NULL);
    return net_httpd_parse(p, s, len, used);
}

static void test_parse_good(void **state)
{
    (void)state;
    struct net_httpd_parser p;
    size_t used;
    assert_int_equal(parse_all(&p, GOOD, sizeof GOOD - 1, &used), NET_HTTPD_PARSE_DONE);
    assert_int_equal(used, sizeof GOOD - 1);
    assert_string_equal(p.method, "POST");
    assert_string_equal(p.path, "/2015-03-31/event-source-mappings");
    assert_string_equal(p.query, "MaxItems=5");
    assert_int_equal(p.minor_version, 1);
    assert_int_equal(p.num_fields, 4);
    assert_string_equal(net_httpd_find(&p, "x-spaces"), "padded value");
    assert_string_equal(net_httpd_find(&p, "HOST"), "127.0.0.1:9320");
    assert_int_equal(p.body_len, 7);
    assert_string_equal(p.body, "{\"a\":1}");
    assert_true(p.keep_alive);
    net_httpd_parser_cleanup(&p);

    // Byte by byte: the same result; every strict prefix asks for more.
    net_httpd_parser_init(&p, NULL);
    for (size_t i = 0; i < sizeof GOOD - 1; i++) {
        enum net_httpd_parse_status st = net_httpd_parse(&p, GOOD + i, 1, &used);
        assert_int_equal(used, 1);
        assert_int_equal(st, i + 2 == sizeof GOOD ? NET_HTTPD_PARSE_DONE : NET_HTTPD_PARSE_MORE);
    }
    assert_string_equal(p.body, "{\"a\":1}");
    net_httpd_parser_cleanup(&p);
}

static void test_pipelined_and_keep_alive(void **state)
{
    (void)state;
    const char two[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.0\r\n\r\n";
    struct net_httpd_parser p;
    size_t used;
    assert_int_equal(parse_all(&p, two, sizeof two - 1, &used), NET_HTTPD_PARSE_DONE);
    assert_int_equal(used, 28); // the second request is left for the next round
    assert_string_equal(p.path, "/a");
    assert_true(p.keep_alive);
    net_httpd_parser_reset(&p);
    assert_int_equal(net_httpd_parse(&p, two + used, sizeof two - 1 - used, &used),
                     NET_HTTPD_PARSE_DONE);
    assert_string_equal(p.path, "/b");
    assert_false(p.keep_alive); // HTTP/1.0 without keep-alive; no Host needed there
    net_httpd_parser_cleanup(&p);
    const char close[] = "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n";
    assert_int_equal(parse_all(&p, close, sizeof close - 1, &used), NET_HTTPD_PARSE_DONE);
    assert_false(p.keep_alive);
    net_httpd_parser_cleanup(&p);
    const char cont[] =
        "PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    assert_int_equal(parse_all(&p, cont, sizeof cont - 1, &used), NET_HTTPD_PARSE_MORE);
    assert_true(p.head_done && p.expect_continue);
    net_httpd_parser_cleanup(&p);
}

// refused parses |req| and checks the status and that the reason contains |why|.
static void refused(const char *req, int status, const char *why)
{
    struct net_httpd_limits lim = {.max_head = 512, .max_headers = 8, .max_body = 100};
    struct net_httpd_parser p;
    size_t used;
    net_httpd_parser_init(&p, &lim);
    enum net_httpd_parse_status st = net_httpd_parse(&p, req, strlen(req), &used);
    if (st != NET_HTTPD_PARSE_ERROR || p.err_status != status || !strstr(p.err, why)) {
        fail_msg("request %s: status %d/%d (%s), wanted %d (%s)", req, (int)st, p.err_status, p.err,
                 status, why);
    }
    // After an error the parser only fails.
    assert_int_equal(net_httpd_parse(&p, "x", 1, &used), NET_HTTPD_PARSE_ERROR);
    net_httpd_parser_cleanup(&p);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n", 400,
            "more than one Content-Length");
    refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400,
            "more than one Content-Length");
    refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", 400,
            "not a decimal length");
    refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400, "not a decimal");
    refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 501,
            "Transfer-Encoding is not accepted");
    refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            400, "Transfer-Encoding together with Content-Length");
    refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n", 413,
            "request body of 101 bytes is larger than the limit of 100 bytes");
    refused("GET / HTTP/1.1\r\n\r\n", 400, "must carry a Host header");
    refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host");
    refused("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "a token and a colon expected");
    refused("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400, "obsolete line folding");
    refused("GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare LF");
    refused("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400, "bare CR");
    refused("GET / HTTP/1.1\r\nX: a\x01b\r\nHost: a\r\n\r\n", 400, "control character");
    refused("GET / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n", 417, "not supported");
    refused("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "not supported");
    refused("GET / HTTQ/1.1\r\nHost: a\r\n\r\n", 400, "HTTP version");
    refused("GET http://evil/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "origin-form");
    refused("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "percent-encoded");
    refused("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "not a token");
    refused("\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", 400, "empty lines instead of a request");
    refused("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\n"
            "Host: a\r\n\r\n",
            431, "more than 8 header fields");
    char big[700];
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX: %0600d\r\n\r\n", 0);
    refused(big, 431, "request head larger than 512 bytes");
}

// ---- the server ----------------------------------------------------------------------------

struct srv {
    struct event_base *base;
    struct net_httpd *s;
    int handled;
    struct net_httpd_deferred *later; // the answer to /later, owed (net_httpd_defer)
};

static void handler(void *ctx, const struct net_httpd_parser *req,
                    const struct net_httpd_peer *peer, struct net_httpd_response *resp)
{
    (void)peer;
    struct srv *v = ctx;
    v->handled++;
    if (!strcmp(req->path, "/later")) {
        v->later = net_httpd_defer(resp);
        return;
    }
    resp->status = 200;
    net_httpd_response_header(resp, "Content-Type", "text/plain");
    net_httpd_response_body(resp, req->path, strlen(req->path));
}

static void srv_init(struct srv *v, size_t max_conns, uint32_t header_ms)
{
    memset(v, 0, sizeof *v);
    v->base = event_base_new();
    struct net_httpd_config c = {.max_conns = max_conns,
                                 .header_timeout_ms = header_ms,
                                 .idle_timeout_ms = 5000,
                                 .pressure_ms = 200,
                                 .handler = handler,
                                 .ctx = v};
    char why[200];
    v->s = net_httpd_new(v->base, &c, why, sizeof why);
    assert_non_null(v->s);
}

static void srv_free(struct srv *v)
{
    net_httpd_free(v->s);
    event_base_free(v->base);
}

static void run_ms(struct srv *v, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(v->base, &tv);
    event_base_dispatch(v->base);
}

static int dial(struct srv *v)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(net_httpd_port(v->s))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {0, 50000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

// answer reads what |fd| was sent so far into |buf| (running the loop meanwhile); returns the
// length, or -1 when the server closed the connection without a byte.
static ssize_t answer(struct srv *v, int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < 20; i++) {
        run_ms(v, 20);
        ssize_t r = recv(fd, buf + n, cap - 1 - n, MSG_DONTWAIT);
        if (r > 0) {
            n += (size_t)r;
        } else if (r == 0) {
            break;
        }
    }
    buf[n] = '\0';
    return (ssize_t)n;
}

static void test_cap_evicts_then_429(void **state)
{
    (void)state;
    struct srv v;
    srv_init(&v, 2, 5000);
    char buf[2048];
    int a = dial(&v);
    const char req[] = "GET /one HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_int_equal(send(a, req, sizeof req - 1, 0), (ssize_t)(sizeof req - 1));
    answer(&v, a, buf, sizeof buf);
    assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(buf, "\r\n\r\n/one"));
    int b = dial(&v); // a slow client: connected, nothing sent
    run_ms(&v, 20);
    // At the cap: the idle keep-alive connection (a) is closed to admit c.
    int c = dial(&v);
    run_ms(&v, 50);
    assert_int_equal(recv(a, buf, sizeof buf, 0), 0); // closed
    struct net_httpd_stats st;
    net_httpd_get_stats(v.s, &st);
    assert_int_equal(st.evicted, 1);
    assert_int_equal(st.open, 2);
    // b and c are young and sending nothing: a fourth connection is answered 429 and closed.
    int d = dial(&v);
    assert_true(answer(&v, d, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "HTTP/1.1 429 Too Many Requests\r\n"));
    assert_non_null(strstr(buf, "Retry-After: 1\r\n"));
    assert_non_null(strstr(buf, "Connection: close\r\n"));
    // Once b has been slow for longer than pressure_ms it gives way.
    run_ms(&v, 250);
    int e = dial(&v);
    run_ms(&v, 50);
    net_httpd_get_stats(v.s, &st);
    assert_int_equal(st.evicted, 2);
    assert_int_equal(st.refused, 1);
    assert_true(st.peak_open <= 2);
    close(a);
    close(b);
    close(c);
    close(d);
    close(e);
    srv_free(&v);
}

static void test_head_deadline(void **state)
{
    (void)state;
    struct srv v;
    srv_init(&v, 8, 300);
    int fd = dial(&v);
    const char *head = "GET /slow HTTP/1.1\r\nHost: h\r\n";
    char buf[1024];
    // One byte every 50 ms: an idle timer would never fire, the head deadline does.
    for (size_t i = 0; i < strlen(head); i++) {
        send(fd, head + i, 1, MSG_NOSIGNAL);
        run_ms(&v, 50);
    }
    ssize_t n = answer(&v, fd, buf, sizeof buf);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "HTTP/1.1 408 Request Timeout\r\n"));
    assert_non_null(strstr(buf, "the request head did not arrive in time"));
    assert_int_equal(v.handled, 0);
    struct net_httpd_stats st;
    net_httpd_get_stats(v.s, &st);
    assert_int_equal(st.timed_out, 1);
    assert_int_equal(st.open, 0);
    close(fd);
    srv_free(&v);
}

// finish_later answers the deferred /later request.
static void finish_later(struct srv *v)
{
    struct net_httpd_response r = {.status = 202};
    net_httpd_response_body(&r, "done", 4);
    net_httpd_deferred_finish(v->later, &r);
    v->later = NULL;
}

static void test_deferred_answer(void **state)
{
    (void)state;
    struct srv v;
    srv_init(&v, 8, 5000);
    int fd = dial(&v);
    const char reqs[] =
        "GET /later HTTP/1.1\r\nHost: h\r\n\r\nGET /now HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_int_equal(send(fd, reqs, sizeof reqs - 1, 0), (ssize_t)(sizeof reqs - 1));
    char buf[2048];
    // Nothing is answered while /later is owed, and the pipelined /now waits behind it.
    assert_int_equal(answer(&v, fd, buf, sizeof buf), 0);
    assert_non_null(v.later);
    assert_int_equal(v.handled, 1);
    finish_later(&v);
    answer(&v, fd, buf, sizeof buf);
    char *first = strstr(buf, "HTTP/1.1 202 Accepted\r\n");
    char *second = strstr(buf, "\r\n\r\n/now");
    assert_non_null(first);
    assert_non_null(strstr(buf, "\r\n\r\ndone"));
    assert_non_null(second);
    assert_true(first < second);
    assert_int_equal(v.handled, 2);
    // A client that leaves while its answer is owed: the later finish is a no-op.
    const char one[] = "GET /later HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_int_equal(send(fd, one, sizeof one - 1, 0), (ssize_t)(sizeof one - 1));
    run_ms(&v, 50);
    assert_non_null(v.later);
    close(fd);
    run_ms(&v, 50);
    struct net_httpd_stats st;
    net_httpd_get_stats(v.s, &st);
    assert_int_equal(st.open, 0);
    finish_later(&v);
    srv_free(&v);
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_accept_pauses_without_descriptors(void **state)
{
    (void)state;
    struct srv v;
    srv_init(&v, 64, 5000);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    // Fill every descriptor below a low limit, then connect: accept() fails with EMFILE.
    int fill[256], nfill = 0;
    low = old;
    low.rlim_cur = 200;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int client = -1;
    while (nfill < 256) {
        int fd = dup(0);
        if (fd < 0) {
            break;
        }
        fill[nfill++] = fd;
    }
    close(fill[--nfill]); // one for the client socket
    client = dial(&v);
    double t0 = cpu_s();
    run_ms(&v, 600);
    double used = cpu_s() - t0;
    struct net_httpd_stats st;
    net_httpd_get_stats(v.s, &st);
    assert_true(st.accept_pauses >= 1);
    assert_true(st.accept_pauses <= 4); // paused 250 ms each time, not spinning
    assert_true(used < 0.3);
    // Descriptors back: the waiting client is served.
    for (int i = 0; i < nfill; i++) {
        close(fill[i]);
    }
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    const char req[] = "GET /late HTTP/1.1\r\nHost: h\r\n\r\n";
    send(client, req, sizeof req - 1, MSG_NOSIGNAL);
    char buf[1024];
    answer(&v, client, buf, sizeof buf);
    assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
    close(client);
    srv_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_pipelined_and_keep_alive),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_cap_evicts_then_429),
        cmocka_unit_test(test_head_deadline),
        cmocka_unit_test(test_deferred_answer),
        cmocka_unit_test(test_accept_pauses_without_descriptors),
    };
    return cmocka_run_group_tests_name("net_httpd", tests, NULL, NULL);
}
