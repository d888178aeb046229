// test_net_resolve.c: net_resolve against an in-process nameserver on 127.0.0.1: a name with an
// address, a name that does not exist (NXDOMAIN: no_such_name), a server failure (temporary: not
// no_such_name), the hosts file, an IP literal, cancel before the answer, and callbacks never
// running inside net_resolve_start.
#include "net/reactor.h"
#include "net/resolve.h"
#include "tests/lib/unit.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/dns_struct.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct env {
    struct net_reactor *r;
    struct evdns_server_port *port;
    evutil_socket_t fd;
    int queries;
};

struct result {
    int calls;
    bool ok;
    bool nx;
    char why[128];
};

static void dns_cb(struct evdns_server_request *req, void *arg)
{
    struct env *e = arg;
    e->queries++;
    int rcode = 3; // NXDOMAIN
    for (int i = 0; i < req->nquestions; i++) {
        const struct evdns_server_question *q = req->questions[i];
        if (strcasecmp(q->name, "fail.kesm.test") == 0) {
            rcode = 2; // SERVFAIL
        } else if (strcasecmp(q->name, "broker.kesm.test") == 0) {
            rcode = 0;
            if (q->type == EVDNS_TYPE_A) {
                struct in_addr a;
                inet_pton(AF_INET, "127.0.0.1", &a);
                evdns_server_request_add_a_reply(req, q->name, 1, &a, 60);
            }
        }
    }
    evdns_server_request_respond(req, rcode);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    e->fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(e->fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t sl = sizeof sin;
    getsockname(e->fd, (struct sockaddr *)&sin, &sl);
    evutil_make_socket_nonblocking(e->fd);
    char ns[64];
    snprintf(ns, sizeof ns, "127.0.0.1:%u", (unsigned)ntohs(sin.sin_port));
    struct net_reactor_config rc = {.nameserver = ns, .dns_timeout_ms = 500};
    e->r = net_reactor_new(&rc);
    assert_non_null(e->r);
    e->port = evdns_add_server_port_with_base(net_reactor_event_base(e->r), e->fd, 0, dns_cb, e);
    assert_non_null(e->port);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    evdns_close_server_port(e->port);
    evutil_closesocket(e->fd);
    net_reactor_free(e->r);
    free(e);
    return 0;
}

static void on_done(void *ctx, bool ok, bool no_such_name, const char *why)
{
    struct result *r = ctx;
    r->calls++;
    r->ok = ok;
    r->nx = no_such_name;
    snprintf(r->why, sizeof r->why, "%s", why ? why : "(null)");
}

static void resolve(struct env *e, const char *host, struct result *r)
{
    memset(r, 0, sizeof *r);
    struct net_resolve *q = net_resolve_start(e->r, host, on_done, r);
    assert_non_null(q);
    assert_int_equal(r->calls, 0); // never inside the call
    for (int i = 0; i < 50 && r->calls == 0; i++) {
        net_reactor_run_for(e->r, 100);
    }
    assert_int_equal(r->calls, 1);
}

static void test_answers(void **state)
{
    struct env *e = *state;
    struct result r;
    resolve(e, "broker.kesm.test", &r);
    assert_true(r.ok);
    resolve(e, "abc3.xyz.invalid", &r);
    assert_false(r.ok);
    assert_true(r.nx);
    assert_true(r.why[0] != '\0');
    resolve(e, "fail.kesm.test", &r);
    assert_false(r.ok);
    assert_false(r.nx); // a server failure proves nothing about the name
    int before = e->queries;
    resolve(e, "localhost", &r); // the hosts file: no query
    assert_true(r.ok);
    resolve(e, "127.0.0.1", &r); // a literal: no query
    assert_true(r.ok);
    assert_int_equal(e->queries, before);
}

static void test_cancel(void **state)
{
    struct env *e = *state;
    struct result r;
    memset(&r, 0, sizeof r);
    net_resolve_cancel(net_resolve_start(e->r, "broker.kesm.test", on_done, &r));
    net_resolve_cancel(net_resolve_start(e->r, "localhost", on_done, &r)); // already answered
    net_resolve_cancel(NULL);
    net_reactor_run_for(e->r, 300);
    assert_int_equal(r.calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
    };
    return cmocka_run_group_tests_name("net_resolve", tests, NULL, NULL);
}
