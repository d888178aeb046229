// test_stdout_transport.c: the stdout transport writes without blocking: payloads larger than the
// pipe go out in pieces as the reader drains it (EAGAIN in between, the batch done only once its
// last byte is written), the shell's descriptor stays blocking, the queued bytes are reported
// for backpressure, a half-written payload is finished even when cancelled, several transports
// on one descriptor never interleave lines, sockets and plain files work, and a reader that goes
// away (EPIPE) fails every batch with a clear error. The pipeline side (a reader that stops
// reading pauses fetching) is in test_pipeline_stdout.c.
#define _GNU_SOURCE // F_SETPIPE_SZ

#include "invoke/transport.h"
#include "tests/lib/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct calls {
    int n;
    uint64_t id[16];
    enum inv_result_kind kind[16];
    char msg[16][256];
};

static void on_done(void *ctx, uint64_t id, const struct inv_result *res)
{
    struct calls *c = ctx;
    assert_true(c->n < 16);
    c->id[c->n] = id;
    c->kind[c->n] = res->kind;
    snprintf(c->msg[c->n], sizeof c->msg[c->n], "%s", res->message ? res->message : "");
    c->n++;
}

static char *payload(size_t n, char fill)
{
    char *p = malloc(n);
    for (size_t i = 0; i < n; i++) {
        p[i] = (char)(fill + (char)(i % 7));
    }
    return p;
}

// drain reads what the pipe holds now (non-blocking) into |out|.
static void drain(int fd, char *out, size_t *len, size_t cap)
{
    for (;;) {
        ssize_t r = read(fd, out + *len, cap - *len);
        if (r <= 0) {
            return;
        }
        *len += (size_t)r;
    }
}

static void mk_pipe(int p[2])
{
    assert_int_equal(pipe(p), 0);
    assert_true(fcntl(p[0], F_SETPIPE_SZ, 4096) >= 4096); // a small pipe: many partial writes
    fcntl(p[0], F_SETFL, O_NONBLOCK);
}

static void test_partial_writes_eagain(void **state)
{
    (void)state;
    int p[2];
    mk_pipe(p);
    struct inv_transport *t = inv_stdout_new(p[1]);
    assert_false(fcntl(p[1], F_GETFL) & O_NONBLOCK); // the shared descriptor is left as it was
    size_t n1 = 100000, n2 = 30000;
    char *a = payload(n1, 'a'), *b = payload(n2, 'A');
    struct calls c = {0};
    uint64_t ia, ib;
    assert_int_equal(inv_transport_submit(t, a, n1, on_done, &c, &ia, NULL), 0);
    assert_int_equal(inv_transport_submit(t, b, n2, on_done, &c, &ib, NULL), 0);
    size_t cap = n1 + n2 + 16, len = 0, rounds = 0;
    char *out = malloc(cap);
    // submit wrote what the pipe takes at once; the rest is queued.
    drain(p[0], out, &len, cap);
    assert_true(len >= 4096 && len < n1);
    assert_int_equal(inv_transport_queued(t), n1 + n2 + 2 - len);
    assert_int_equal(c.n, 0);
    while (c.n < 2) {
        // One step: it writes what fits and returns (no reader runs meanwhile: a blocking write
        // would hang here).
        struct pollfd fds[4];
        int timeout;
        size_t nf = t->funcs->poll_fds(t, fds, 4, &timeout);
        assert_int_equal(nf, 1); // waiting for POLLOUT on the pipe
        assert_true(fds[0].events & POLLOUT);
        assert_int_equal(inv_transport_run(t, 1000), 0);
        drain(p[0], out, &len, cap);
        // Everything written is read now: the rest is what the transport reports queued, and
        // a is done only once its last byte (the newline) is out.
        assert_int_equal(inv_transport_queued(t), n1 + n2 + 2 - len);
        assert_int_equal(c.n > 0, len >= n1 + 1);
        rounds++;
        assert_true(rounds < 1000);
    }
    drain(p[0], out, &len, cap);
    assert_true(rounds > 10); // it really went out in pieces
    assert_int_equal(c.id[0], ia);
    assert_int_equal(c.id[1], ib);
    assert_int_equal(c.kind[0], INV_RESULT_OK);
    assert_int_equal(c.kind[1], INV_RESULT_OK);
    assert_int_equal(len, n1 + n2 + 2);
    assert_memory_equal(out, a, n1);
    assert_int_equal(out[n1], '\n');
    assert_memory_equal(out + n1 + 1, b, n2);
    assert_int_equal(out[n1 + 1 + n2], '\n');
    assert_int_equal(inv_transport_queued(t), 0);
    inv_transport_free(t);
    close(p[0]);
    close(p[1]);
    free(a);
    free(b);
    free(out);
}

// Cancelled half written: the line is finished (from a copy: the caller may free the payload),
// with no callback; cancelled before any byte: dropped.
static void test_cancel_half_written(void **state)
{
    (void)state;
    int p[2];
    mk_pipe(p);
    struct inv_transport *t = inv_stdout_new(p[1]);
    size_t n1 = 50000;
    char *a = payload(n1, 'a');
    char *keep = malloc(n1);
    memcpy(keep, a, n1);
    struct calls c = {0};
    uint64_t ia, ib, ic;
    assert_int_equal(inv_transport_submit(t, a, n1, on_done, &c, &ia, NULL), 0);
    assert_int_equal(inv_transport_submit(t, "{\"b\":1}", 7, on_done, &c, &ib, NULL), 0);
    assert_int_equal(inv_transport_submit(t, "{\"c\":1}", 7, on_done, &c, &ic, NULL), 0);
    assert_int_equal(inv_transport_run(t, 1000), 0); // part of a
    assert_int_equal(inv_transport_cancel(t, ia), 0);
    memset(a, 'X', n1); // the caller's memory is the caller's again
    free(a);
    assert_int_equal(inv_transport_cancel(t, ic), 0);
    assert_int_equal(inv_transport_cancel(t, ic), -1);
    size_t cap = n1 + 64, len = 0;
    char *out = malloc(cap);
    for (int i = 0; i < 1000 && c.n < 1; i++) {
        assert_int_equal(inv_transport_run(t, 1000), 0);
        drain(p[0], out, &len, cap);
    }
    drain(p[0], out, &len, cap);
    assert_int_equal(c.n, 1); // only b
    assert_int_equal(c.id[0], ib);
    assert_int_equal(len, n1 + 1 + 8);
    assert_memory_equal(out, keep, n1);
    assert_memory_equal(out + n1, "\n{\"b\":1}\n", 9);
    inv_transport_free(t);
    close(p[0]);
    close(p[1]);
    free(keep);
    free(out);
}

// Two transports on one descriptor (two mappings to stdout): whole lines, in submission order.
static void test_shared_descriptor(void **state)
{
    (void)state;
    int p[2];
    mk_pipe(p);
    struct inv_transport *t1 = inv_stdout_new(p[1]);
    struct inv_transport *t2 = inv_stdout_new(p[1]);
    size_t n = 20000;
    char *x = payload(n, 'x'), *y = payload(n, 'A'), *z = payload(n, '0');
    struct calls c1 = {0}, c2 = {0};
    uint64_t id;
    assert_int_equal(inv_transport_submit(t1, x, n, on_done, &c1, &id, NULL), 0);
    assert_int_equal(inv_transport_submit(t2, y, n, on_done, &c2, &id, NULL), 0);
    assert_int_equal(inv_transport_submit(t1, z, n, on_done, &c1, &id, NULL), 0);
    size_t cap = 3 * n + 16, len = 0;
    char *out = malloc(cap);
    for (int i = 0; i < 3000 && (c1.n < 2 || c2.n < 1); i++) {
        assert_int_equal(inv_transport_run(i % 2 ? t1 : t2, 100), 0);
        drain(p[0], out, &len, cap);
    }
    drain(p[0], out, &len, cap);
    assert_int_equal(c1.n, 2);
    assert_int_equal(c2.n, 1);
    assert_int_equal(len, 3 * n + 3);
    assert_memory_equal(out, x, n);
    assert_memory_equal(out + n + 1, y, n);
    assert_memory_equal(out + 2 * n + 2, z, n);
    inv_transport_free(t1);
    inv_transport_free(t2);
    close(p[0]);
    close(p[1]);
    free(x);
    free(y);
    free(z);
    free(out);
}

// The reader goes away: the batch being written and every later one fail, naming the reason.
static void test_epipe(void **state)
{
    (void)state;
    int p[2];
    mk_pipe(p);
    struct inv_transport *t = inv_stdout_new(p[1]); // ignores SIGPIPE itself
    size_t n = 100000;
    char *a = payload(n, 'a');
    struct calls c = {0};
    uint64_t id;
    assert_int_equal(inv_transport_submit(t, a, n, on_done, &c, &id, NULL), 0);
    assert_int_equal(inv_transport_submit(t, "{}", 2, on_done, &c, &id, NULL), 0);
    assert_int_equal(inv_transport_run(t, 1000), 0); // part of a, then the pipe is full
    assert_int_equal(c.n, 0);
    close(p[0]);
    for (int i = 0; i < 100 && c.n < 2; i++) {
        assert_int_equal(inv_transport_run(t, 1000), 0);
    }
    assert_int_equal(c.n, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(c.kind[i], INV_RESULT_FATAL);
        assert_string_equal(c.msg[i], "stdout: write failed: Broken pipe (the reader of kesm's "
                                      "standard output went away)");
    }
    assert_int_equal(inv_transport_queued(t), 0);
    assert_int_equal(inv_transport_submit(t, "{}", 2, on_done, &c, &id, NULL), 0);
    assert_int_equal(c.n, 2); // never inside submit
    assert_int_equal(inv_transport_run(t, 1000), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.kind[2], INV_RESULT_FATAL);
    inv_transport_free(t);
    close(p[1]);
    free(a);
}

// A socket (MSG_DONTWAIT) and a regular file (not pollable: written in dispatch).
static void test_socket_and_file(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    struct inv_transport *t = inv_stdout_new(sv[0]);
    assert_false(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
    size_t n = 300000, len = 0;
    char *a = payload(n, 'a'), *out = malloc(n + 8);
    struct calls c = {0};
    uint64_t id;
    assert_int_equal(inv_transport_submit(t, a, n, on_done, &c, &id, NULL), 0);
    int rounds = 0;
    for (; rounds < 10000 && c.n < 1; rounds++) {
        assert_int_equal(inv_transport_run(t, 1000), 0);
        drain(sv[1], out, &len, n + 8);
    }
    drain(sv[1], out, &len, n + 8);
    assert_true(rounds > 2);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.kind[0], INV_RESULT_OK);
    assert_int_equal(len, n + 1);
    assert_memory_equal(out, a, n);
    inv_transport_free(t);
    close(sv[0]);
    close(sv[1]);

    char path[] = "/tmp/kesm-stdout-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    t = inv_stdout_new(fd);
    assert_int_equal(inv_transport_submit(t, a, n, on_done, &c, &id, NULL), 0);
    struct pollfd fds[2];
    int timeout;
    assert_int_equal(t->funcs->poll_fds(t, fds, 2, &timeout), 0); // a file is not polled
    assert_int_equal(timeout, 0);
    assert_int_equal(inv_transport_run(t, 1000), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.kind[1], INV_RESULT_OK);
    assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)n + 1);
    inv_transport_free(t);
    close(fd);
    free(a);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partial_writes_eagain), cmocka_unit_test(test_cancel_half_written),
        cmocka_unit_test(test_shared_descriptor),     cmocka_unit_test(test_epipe),
        cmocka_unit_test(test_socket_and_file),
    };
    return cmocka_run_group_tests_name("stdout_transport", tests, NULL, NULL);
}
