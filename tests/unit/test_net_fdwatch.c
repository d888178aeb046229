// test_net_fdwatch.c: net_fdwatch on a pipe: readiness for read and write, nothing before data,
// persistence across wake-ups, and a callback that frees its own watch.
#include "net/reactor.h"
#include "tests/lib/unit.h"

#include <stdlib.h>
#include <unistd.h>

struct seen {
    int calls;
    int fd;
    unsigned revents;
    struct net_fdwatch *self_free; // freed by the callback when set
    int drain_fd;                  // read one byte from it in the callback when >= 0
};

static void on_ready(int fd, unsigned revents, void *ctx)
{
    struct seen *s = ctx;
    s->calls++;
    s->fd = fd;
    s->revents = revents;
    if (s->drain_fd >= 0) {
        char c;
        assert_int_equal(read(s->drain_fd, &c, 1), 1);
    }
    if (s->self_free != NULL) {
        net_fdwatch_free(s->self_free);
        s->self_free = NULL;
    }
}

static void test_read_ready(void **state)
{
    (void)state;
    struct net_reactor *r = net_reactor_new(NULL);
    assert_non_null(r);
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct seen s = {.drain_fd = p[0]};
    struct net_fdwatch *w = net_fdwatch_new(r, p[0], NET_FD_READ, on_ready, &s);
    assert_non_null(w);
    net_reactor_run_for(r, 50);
    assert_int_equal(s.calls, 0); // nothing to read yet
    assert_int_equal(write(p[1], "ab", 2), 2);
    net_reactor_run_for(r, 50);
    assert_int_equal(s.calls, 2); // persistent: one wake-up per byte drained
    assert_int_equal(s.fd, p[0]);
    assert_int_equal(s.revents, NET_FD_READ);
    net_fdwatch_free(w);
    assert_int_equal(write(p[1], "c", 1), 1);
    net_reactor_run_for(r, 30);
    assert_int_equal(s.calls, 2); // freed: no more calls
    close(p[0]);
    close(p[1]);
    net_reactor_free(r);
}

static void test_write_ready_self_free(void **state)
{
    (void)state;
    struct net_reactor *r = net_reactor_new(NULL);
    assert_non_null(r);
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct seen s = {.drain_fd = -1};
    s.self_free = net_fdwatch_new(r, p[1], NET_FD_WRITE | NET_FD_READ, on_ready, &s);
    assert_non_null(s.self_free);
    net_reactor_run_for(r, 50);
    assert_int_equal(s.calls, 1); // freed itself after the first call
    assert_int_equal(s.revents, NET_FD_WRITE);
    assert_null(s.self_free);
    net_fdwatch_free(NULL);
    close(p[0]);
    close(p[1]);
    net_reactor_free(r);
}

static void test_hangup_reads_ready(void **state)
{
    (void)state;
    struct net_reactor *r = net_reactor_new(NULL);
    assert_non_null(r);
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct seen s = {.drain_fd = -1};
    s.self_free = net_fdwatch_new(r, p[0], NET_FD_READ, on_ready, &s);
    close(p[1]);
    net_reactor_run_for(r, 50);
    assert_int_equal(s.calls, 1);
    assert_true(s.revents & NET_FD_READ);
    close(p[0]);
    net_reactor_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_ready),
        cmocka_unit_test(test_write_ready_self_free),
        cmocka_unit_test(test_hangup_reads_ready),
    };
    return cmocka_run_group_tests_name("net_fdwatch", tests, NULL, NULL);
}
