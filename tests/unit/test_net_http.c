// test_net_http.c: the HTTP client against an in-process scripted server (a thread doing
// blocking socket I/O on 127.0.0.1): the request bytes, keep-alive reuse and its limits,
// Connection: close, the keep-alive race retry, timeouts (before and after sending), cancel,
// idle close, oversized and malformed responses, bytes after the response, an
// early answer to a large upload, a 6 MB body, and URL / header validation.
#define _GNU_SOURCE // memmem, strcasestr

#include "net/http.h"
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
#include <unistd.h>

// ---- the scripted server ----------------------------------------------------------------------

#define SRV_SILENT "<silent>" // read the request, never answer (until the client closes)
#define SRV_CLOSE "<close>"   // read the request, close without answering
#define SRV_EARLY "<early>"   // answer 413 after the head, without reading the body

struct srv {
    int lfd;
    uint16_t port;
    pthread_t th;
    pthread_mutex_t mu;
    const char *const *script; // one response per request; the last repeats
    size_t num_script, next;
    int conns;
    int requests;
    char first_req[4096];
    bool stop;
    const char *big; // when set, served for the response "<big>"
};

static const char *srv_take(struct srv *s)
{
    pthread_mutex_lock(&s->mu);
    size_t i = s->next < s->num_script ? s->next : s->num_script - 1;
    s->next++;
    s->requests++;
    pthread_mutex_unlock(&s->mu);
    return s->script[i];
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

// serve_conn answers requests on |fd| until the client closes or the script says so.
static void serve_conn(struct srv *s, int fd)
{
    char buf[65536];
    size_t have = 0;
    for (;;) {
        char *end;
        while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
            ssize_t r = recv(fd, buf + have, sizeof buf - have, 0);
            if (r <= 0 || __atomic_load_n(&s->stop, __ATOMIC_SEQ_CST)) {
                return;
            }
            have += (size_t)r;
        }
        size_t head = (size_t)(end - buf) + 4;
        const char *cl = strcasestr(buf, "Content-Length: ");
        size_t body = cl != NULL && cl < end ? strtoul(cl + 16, NULL, 10) : 0;
        pthread_mutex_lock(&s->mu);
        if (s->requests == 0) {
            size_t n = have < sizeof s->first_req - 1 ? have : sizeof s->first_req - 1;
            memcpy(s->first_req, buf, n);
            s->first_req[n] = '\0';
        }
        pthread_mutex_unlock(&s->mu);
        const char *resp = srv_take(s);
        if (strcmp(resp, SRV_EARLY) == 0) {
            const char *r413 = "HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n";
            write_all(fd, r413, strlen(r413));
            // Keep the connection; read and drop what follows until the client closes.
            while (recv(fd, buf, sizeof buf, 0) > 0) {
            }
            return;
        }
        // Consume the body (it may be larger than buf).
        size_t got = have - head;
        while (got < body) {
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r <= 0) {
                return;
            }
            got += (size_t)r;
        }
        have = 0;
        if (strcmp(resp, SRV_CLOSE) == 0) {
            return;
        }
        if (strcmp(resp, SRV_SILENT) == 0) {
            while (recv(fd, buf, sizeof buf, 0) > 0) {
            }
            return;
        }
        if (strcmp(resp, "<big>") == 0) {
            char h[128];
            int n = snprintf(h, sizeof h, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
                             strlen(s->big));
            write_all(fd, h, (size_t)n);
            write_all(fd, s->big, strlen(s->big));
            continue;
        }
        write_all(fd, resp, strlen(resp));
        if (strstr(resp, "Connection: close") != NULL || strstr(resp, "HTTP/1.0") != NULL) {
            return;
        }
    }
}

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
        pthread_mutex_lock(&s->mu);
        s->conns++;
        pthread_mutex_unlock(&s->mu);
        serve_conn(s, fd);
        close(fd);
    }
    return NULL;
}

static void srv_start_af(struct srv *s, const char *const *script, size_t n, int af)
{
    memset(s, 0, sizeof *s);
    s->script = script;
    s->num_script = n;
    pthread_mutex_init(&s->mu, NULL);
    s->lfd = socket(af, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t l;
    if (af == AF_INET6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_loopback;
        l = sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        l = sizeof *a4;
    }
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&ss, l), 0);
    assert_int_equal(listen(s->lfd, 8), 0);
    getsockname(s->lfd, (struct sockaddr *)&ss, &l);
    s->port = ntohs(af == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                   : ((struct sockaddr_in *)&ss)->sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_start(struct srv *s, const char *const *script, size_t n)
{
    srv_start_af(s, script, n, AF_INET);
}

static void srv_stop(struct srv *s)
{
    __atomic_store_n(&s->stop, true, __ATOMIC_SEQ_CST);
    shutdown(s->lfd, SHUT_RDWR);
    pthread_join(s->th, NULL);
    close(s->lfd);
    pthread_mutex_destroy(&s->mu);
}

static int srv_conns(struct srv *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->conns;
    pthread_mutex_unlock(&s->mu);
    return n;
}

// ---- the client side -----------------------------------------------------------------------

struct got {
    int calls;
    enum net_http_err err;
    enum net_tls_fail tls_fail;
    int status;
    bool sent, reused, started;
    char error[600];
    char body[256];
    size_t body_len;
    char hdr[128]; // value of X-Test
};

static void on_done(void *ctx, uint64_t id, const struct net_http_response *r)
{
    (void)id;
    struct got *g = ctx;
    g->calls++;
    g->err = r->err;
    g->tls_fail = r->tls_fail;
    g->status = r->status;
    g->sent = r->request_sent;
    g->reused = r->reused;
    g->started = r->response_started;
    snprintf(g->error, sizeof g->error, "%s", r->error);
    snprintf(g->body, sizeof g->body, "%s", r->body);
    g->body_len = r->body_len;
    const char *h = net_http_response_header(r, "x-test");
    snprintf(g->hdr, sizeof g->hdr, "%s", h ? h : "");
}

static void wait_calls(struct net_reactor *r, struct got *g, int n)
{
    for (int i = 0; i < 200 && g->calls < n; i++) {
        net_reactor_run_for(r, 25);
    }
    assert_int_equal(g->calls, n);
}

static uint64_t post(struct net_http *h, uint16_t port, const char *body, uint32_t timeout_ms,
                     struct got *g)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/p/q?x=1", port);
    struct net_http_header hs[] = {{"X-Amz-Invocation-Type", "RequestResponse"}};
    struct net_http_request rq = {.method = "POST",
                                  .url = url,
                                  .headers = hs,
                                  .num_headers = 1,
                                  .body = body,
                                  .body_len = strlen(body),
                                  .timeout_ms = timeout_ms};
    uint64_t id = 0;
    char err[200];
    assert_int_equal(net_http_request(h, &rq, on_done, g, &id, err, sizeof err), 0);
    assert_true(id > 0);
    return id;
}

#define OK_RESP "HTTP/1.1 200 OK\r\nX-Test: yes\r\nContent-Length: 2\r\n\r\nhi"

static void test_request_bytes_and_keep_alive(void **state)
{
    (void)state;
    static const char *const script[] = {OK_RESP};
    struct srv s;
    srv_start(&s, script, 1);
    struct net_reactor *r = net_reactor_new(NULL);
    struct net_http *h = net_http_new(r, NULL);
    struct got g = {0};
    for (int i = 0; i < 3; i++) {
        post(h, s.port, "hello", 0, &g);
        wait_calls(r, &g, i + 1);
        assert_int_equal(g.err, NET_HTTP_OK);
        assert_int_equal(g.status, 200);
        assert_string_equal(g.body, "hi");
        assert_string_equal(g.hdr, "yes");
        assert_int_equal(g.reused, i > 0);
        assert_true(g.sent);
    }
    // The request bytes, with the User-Agent line (kesm/<version>) checked and cut out.
    char *ua = strstr(s.first_req, "User-Agent: kesm/");
    assert_non_null(ua);
    char *eol = strstr(ua, "\r\n");
    memmove(ua, eol + 2, strlen(eol + 2) + 1);
    char want[256];
    snprintf(want, sizeof want,
             "POST /p/q?x=1 HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
             "X-Amz-Invocation-Type: RequestResponse\r\nContent-Length: 5\r\n\r\nhello",
             s.port);
    assert_string_equal(s.first_req, want);
    assert_int_equal(srv_conns(&s), 1);
    struct net_http_stats st;
    net_http_get_stats(h, &st);
    assert_int_equal(st.requests, 3);
    assert_int_equal(st.connections_opened, 1);
    assert_int_equal(st.connections_reused, 2);
    assert_int_equal(st.idle_connections, 1);
    net_http_free(h);
    net_reactor_free(r);
    srv_stop(&s);
}

static void test_connection_close_and_http10(void **state)
{
    (void)state;
    static const char *const script[] = {
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na",
        "HTTP/1.0 200 OK\r\n\r\nuntil close",
        OK_RESP,
    };
    struct srv s;
    srv_start(&s, script, 3);
    struct net_reactor *r = net_reactor_new(NULL);
    struct net_http *h = net_http_new(r, NULL);
    struct got g = {0};
    post(h, s.port, "1", 0, &g);
    wait_calls(r, &g, 1);
    assert_string_equal(g.body, "a");
    post(h, s.port, "2", 0, &g);
    wait_calls(r, &g, 2);
    assert_int_equal(g.err, NET_HTTP_OK);
    assert_string_equal(g.body, "until close");
    assert_false(g.reused);
    post(h, s.port, "3", 0, &g);
    wait_calls(r, &g, 3);
    assert_false(g.reused);
    assert_int_equal(srv_conns(&s), 3);
    net_http_free(h);
    net_reactor_free(r);
    srv_stop(&s);
}

static void test_stale_keep_alive_retry(void **state)
{
    (void)state;
    static const char *const script[] = {OK_RESP, SRV_CLOSE, OK_RESP};
    struct srv s;
    srv_start(&s, script, 3);
    struct net_reactor *r = net_reactor_new(NULL);
    struct net_http *h = net_http_new(r, NULL);
    struct got g = {0};
    post(h, s.port, "a", 0, &g);
    wait_calls(r, &g, 1);
    post(h, s.port, "b", 0, &g); // the reused connection is closed under it: retried once
    wait_calls(r, &g, 2);
    assert_int_equal(g.err, NET_HTTP_OK);
    assert_false(g.reused);
    struct net_http_stats st;
    net_http_get_stats(h, &st);
    assert_int_equal(st.stale_retries, 1);
    assert_int_equal(srv_conns(&s), 2);
    net_http_free(h);
    net_reactor_free(r);
    srv_stop(&s);
}

static void test_close_on_first_use_is_an_error(void **state)
{
    (void)state;
    static const char *const script[] = {SRV_CLOSE};
    struct srv s;
    srv_start(&s, script, 1);
    struct net_reactor *r = net_reactor_new(NULL);
    struct net_http *h = net_http_new(r, NULL);
    struct got g = {0};
    post(h, s.port, "a", 0, &g);
    wait_calls(r, &g, 1);
    assert_int_equal(g.err, NET_HTTP_ERR_DISCONNECTED);
    assert_false(g.started);
    assert_non_null(strstr(g.error, "connection closed before the response head"));
    net_http_free(h);
    net_reactor_free(r);
    srv_stop(&s);
}

static void test_timeouts_and_cancel(void **state)
{
    (void)state;
    static const char *const script[] = {SRV_SILENT};
    struct srv s;
    srv_start(&s, script, 1);
    struct net_reactor *r = net_reactor_new(NULL);
    struct net_http *h = net_http_new(r, NULL);
    struct got g = {0};
    post(h, s.port, "a", 300, &g);
    wait_calls(r, &g, 1);
    assert_int_equal(g.err, NET_HTTP_ERR_TIMEOUT);
    assert_true(g.sent);
    assert_non_null(strstr(g.error, "timed out after 300 ms waiting for the response"));

    struct got c = {0};
    uint64_t id = post(h, s.port, "b", 300, &c);
    net_reactor_run_for(r, 50);
    assert_int_equal(net_http_cancel(h, id), 0);
    assert_int_equal(net_http_cancel(h, id), -1);
    net_reactor_run_for(r, 400);
    assert_int_equal(c.calls, 0); // cancelled: never called back
    net_http_free(h);
    net_reactor_free(r);
    srv_stop(&s);
}

static void test_connect_refused(void **state)
{
    (void)state;
    struct net_reactor *r = net_reactor_new(NULL);
    struct net_http *h = net_http_new(r, NULL);
    struct got g = {0};
    post(h, 1, "a", 2000, &g);
    wait_calls(r, &g, 1);
    assert_int_equal(g.err, NET_HTTP_ERR_CONNECT);
    assert_false(g.sent);
    assert_string_equal(g.error,
                        "http://127.0.0.1:1: cannot connect (127.0.0.1: Connection refused)");
    net_http_free(h);
    net_reactor_free(r);
}

static void test_idle_close(void **state)
{
    (void)state;
    static const char *const script[] = {OK_RESP};
    struct srv s;
    srv_start(&s, script, 1);
    struct net_reactor *r = net_reactor_new(NULL);
    struct net_http_config cfg = {.idle_timeout_ms = 100};
    struct net_http *h = net_http_new(r, &cfg);
    struct got g = {0};
    post(h, s.port, "a", 0, &g);
    wait_calls(r, &g, 1);
    struct net_http_stats st;
    net_http_get_stats(h, &st);
    assert_int_equal(st.idle_connections, 1);
    net_reactor_run_for(r, 250);
    net_http_get_stats(h, &st);
    assert_int_equal(st.idle_connections, 0); // closed after the idle timeout
    post(h, s.port, "b", 0, &g);
    wait_calls(r, &g, 2);
    assert_false(g.reused);
    net_http_free(h);
    net_reactor_free(r);
    srv_stop(&s);
}

static void test_bad_responses(void **state)
{
    (void)state;
    static const char *const script[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiEXTRA",
        "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
    };
    struct srv s;
    srv_start(&s, script, 4);
    struct net_reactor *r = net_reactor_new(NULL);
    struct net_http_config cfg = {.max_response_body = 1000};
    struct net_http *h = net_http_new(r, &cfg);
    struct got g = {0};
    post(h, s.port, "a", 0, &g);
    wait_calls(r, &g, 1);
    assert_int_equal(g.err, NET_HTTP_ERR_TOO_LARGE);
    assert_non_null(strstr(g.error, "Content-Length 99999999 above the 1000-byte limit"));
    post(h, s.port, "b", 0, &g);
    wait_calls(r, &g, 2);
    assert_int_equal(g.err, NET_HTTP_ERR_PROTOCOL);
    assert_non_null(strstr(g.error, "header line 1: invalid character in the field name"));
    post(h, s.port, "c", 0, &g);
    wait_calls(r, &g, 3);
    assert_int_equal(g.err, NET_HTTP_ERR_PROTOCOL);
    assert_non_null(strstr(g.error, "5 unexpected bytes after the end of the response"));
    post(h, s.port, "d", 500, &g);
    // The server keeps the connection open after "short": the request times out reading.
    wait_calls(r, &g, 4);
    assert_int_equal(g.err, NET_HTTP_ERR_TIMEOUT);
    assert_true(g.started);
    assert_non_null(strstr(g.error, "reading the response"));
    net_http_free(h);
    net_reactor_free(r);
    srv_stop(&s);
}

static void test_early_answer_not_reused(void **state)
{
    (void)state;
    static const char *const script[] = {SRV_EARLY, OK_RESP};
    struct srv s;
    srv_start(&s, script, 2);
    struct net_reactor *r = net_reactor_new(NULL);
    struct net_http *h = net_http_new(r, NULL);
    size_t n = 8u << 20; // larger than the socket buffers: the server answers mid-upload
    char *body = malloc(n + 1);
    memset(body, 'x', n);
    body[n] = '\0';
    struct got g = {0};
    post(h, s.port, body, 5000, &g);
    wait_calls(r, &g, 1);
    if (g.err != NET_HTTP_OK) {
        fail_msg("%s", g.error);
    }
    assert_int_equal(g.status, 413);
    struct net_http_stats st;
    net_http_get_stats(h, &st);
    assert_int_equal(st.idle_connections, 0); // half-sent: not reusable
    free(body);
    net_http_free(h);
    net_reactor_free(r);
    srv_stop(&s);
}

static void test_large_body(void **state)
{
    (void)state;
    static const char *const script[] = {"<big>"};
    struct srv s;
    srv_start(&s, script, 1);
    size_t n = 6291456;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        big[i] = (char)('a' + i % 26);
    }
    big[n] = '\0';
    s.big = big;
    struct net_reactor *r = net_reactor_new(NULL);
    struct net_http *h = net_http_new(r, NULL);
    struct got g = {0};
    post(h, s.port, "a", 10000, &g);
    wait_calls(r, &g, 1);
    assert_int_equal(g.err, NET_HTTP_OK);
    assert_int_equal(g.body_len, n);
    assert_memory_equal(g.body, big, 255);
    net_http_free(h);
    net_reactor_free(r);
    srv_stop(&s);
    free(big);
}

static void test_invalid_requests(void **state)
{
    (void)state;
    struct net_reactor *r = net_reactor_new(NULL);
    struct net_http *h = net_http_new(r, NULL);
    struct got g = {0};
    char err[200];
    uint64_t id;
    struct net_http_header inj[] = {{"X-A", "v\r\nInjected: 1"}};
    struct net_http_request rq = {
        .method = "POST", .url = "http://127.0.0.1:9/", .headers = inj, .num_headers = 1};
    assert_int_equal(net_http_request(h, &rq, on_done, &g, &id, err, sizeof err), -1);
    assert_non_null(strstr(err, "invalid header X-A"));
    rq.num_headers = 0;
    rq.url = "https://127.0.0.1/";
    assert_int_equal(net_http_request(h, &rq, on_done, &g, &id, err, sizeof err), -1);
    assert_string_equal(err, "https URL but no TLS configuration");
    rq.url = "http://127.0.0.1/";
    rq.method = "PO ST";
    assert_int_equal(net_http_request(h, &rq, on_done, &g, &id, err, sizeof err), -1);
    assert_string_equal(err, "invalid HTTP method");
    net_reactor_run_for(r, 20);
    assert_int_equal(g.calls, 0);
    net_http_free(h);
    net_reactor_free(r);
}

static void test_url_parse(void **state)
{
    (void)state;
    struct net_http_url u;
    char err[128];
    assert_int_equal(net_http_url_parse(&u, "HTTPS://Example.com/a/b?c=d&e", err, sizeof err), 0);
    assert_true(u.tls);
    assert_int_equal(u.port, 443);
    assert_string_equal(u.host, "Example.com");
    assert_string_equal(u.host_header, "Example.com");
    assert_string_equal(u.path, "/a/b");
    assert_string_equal(u.query, "c=d&e");
    assert_int_equal(net_http_url_parse(&u, "http://[::1]:9000?x", err, sizeof err), 0);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.host_header, "[::1]:9000");
    assert_string_equal(u.path, "/");
    assert_string_equal(u.query, "x");
    assert_int_equal(net_http_url_parse(&u, "http://h:80", err, sizeof err), 0);
    assert_string_equal(u.host_header, "h");
    static const struct {
        const char *url, *msg;
    } bad[] = {
        {"ftp://h/", "scheme"},
        {"http://u:p@h/", "user information"},
        {"http://h/#frag", "fragments"},
        {"http://h/a b", "space"},
        {"http://h:0/", "bad port"},
        {"http://h:65536/", "bad port"},
        {"http://h:12x/", "bad port"},
        {"http:///path", "no host"},
        {"http://[::1/", "unterminated"},
        {"http://[zz]/", "bad IPv6"},
        {"http://h$/", "invalid character in the host"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (net_http_url_parse(&u, bad[i].url, err, sizeof err) != -1 ||
            strstr(err, bad[i].msg) == NULL) {
            fail_msg("%s: \"%s\"", bad[i].url, err);
        }
    }
}

struct freeing {
    struct net_http *h;
    int calls;
};

static void on_done_free(void *ctx, uint64_t id, const struct net_http_response *r)
{
    (void)id;
    (void)r;
    struct freeing *f = ctx;
    f->calls++;
    net_http_free(f->h); // the client goes away inside its own callback
    f->h = NULL;
}

static void test_free_inside_callback(void **state)
{
    (void)state;
    static const char *const script[] = {OK_RESP};
    struct srv s;
    srv_start(&s, script, 1);
    struct net_reactor *r = net_reactor_new(NULL);
    struct freeing f = {.h = net_http_new(r, NULL)};
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", s.port);
    struct net_http_request rq = {.method = "GET", .url = url, .timeout_ms = 2000};
    uint64_t id;
    char err[100];
    // Two requests finish; the first callback frees the client, so the second never runs.
    assert_int_equal(net_http_request(f.h, &rq, on_done_free, &f, &id, err, sizeof err), 0);
    assert_int_equal(net_http_request(f.h, &rq, on_done_free, &f, &id, err, sizeof err), 0);
    for (int i = 0; i < 100 && f.calls == 0; i++) {
        net_reactor_run_for(r, 20);
    }
    net_reactor_run_for(r, 100);
    assert_int_equal(f.calls, 1);
    assert_null(f.h);
    net_reactor_free(r);
    srv_stop(&s);
}

// An IPv6 literal URL: the connection goes to ::1 and Host carries the brackets.
static void test_ipv6_literal(void **state)
{
    (void)state;
    static const char *const script[] = {OK_RESP};
    struct srv s;
    srv_start_af(&s, script, 1, AF_INET6);
    struct net_reactor *r = net_reactor_new(NULL);
    struct net_http *h = net_http_new(r, NULL);
    struct got g = {0};
    char url[64];
    snprintf(url, sizeof url, "http://[::1]:%u/v6", s.port);
    struct net_http_request rq = {.method = "GET", .url = url, .timeout_ms = 2000};
    uint64_t id;
    char err[100];
    assert_int_equal(net_http_request(h, &rq, on_done, &g, &id, err, sizeof err), 0);
    wait_calls(r, &g, 1);
    assert_int_equal(g.err, NET_HTTP_OK);
    assert_string_equal(g.body, "hi");
    char want[64];
    snprintf(want, sizeof want, "GET /v6 HTTP/1.1\r\nHost: [::1]:%u\r\n", s.port);
    assert_true(strncmp(s.first_req, want, strlen(want)) == 0);
    assert_null(strstr(s.first_req, "Content-Length")); // none for a GET without a body
    net_http_free(h);
    net_reactor_free(r);
    srv_stop(&s);
}

// max_conns_per_origin 1: parallel requests wait their turn and share one connection (the test
// server serves one connection at a time, so a second connection would stall).
static void test_max_conns_per_origin(void **state)
{
    (void)state;
    static const char *const script[] = {OK_RESP};
    struct srv s;
    srv_start(&s, script, 1);
    struct net_reactor *r = net_reactor_new(NULL);
    struct net_http_config cfg = {.max_conns_per_origin = 1};
    struct net_http *h = net_http_new(r, &cfg);
    struct got g[3] = {{0}};
    for (int i = 0; i < 3; i++) {
        post(h, s.port, "x", 3000, &g[i]);
    }
    for (int i = 0; i < 200 && g[0].calls + g[1].calls + g[2].calls < 3; i++) {
        net_reactor_run_for(r, 25);
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].err, NET_HTTP_OK);
        assert_int_equal(g[i].reused, i > 0);
    }
    assert_int_equal(srv_conns(&s), 1);
    net_http_free(h);
    net_reactor_free(r);
    srv_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_bytes_and_keep_alive),
        cmocka_unit_test(test_connection_close_and_http10),
        cmocka_unit_test(test_stale_keep_alive_retry),
        cmocka_unit_test(test_close_on_first_use_is_an_error),
        cmocka_unit_test(test_timeouts_and_cancel),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_idle_close),
        cmocka_unit_test(test_bad_responses),
        cmocka_unit_test(test_early_answer_not_reused),
        cmocka_unit_test(test_large_body),
        cmocka_unit_test(test_invalid_requests),
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_free_inside_callback),
        cmocka_unit_test(test_ipv6_literal),
        cmocka_unit_test(test_max_conns_per_origin),
    };
    return cmocka_run_group_tests_name("net_http", tests, NULL, NULL);
}
