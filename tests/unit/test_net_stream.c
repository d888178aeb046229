// test_net_stream.c: net/stream's own read path against a loopback peer that writes raw bytes
// in chosen pieces: frames split anywhere (inside the size prefix, at the 64 KiB head's edge,
// across a large frame's buffer), frames of 0 bytes to 3 MiB handed up whole and in order,
// pausing from inside on_frame and resuming while answers wait in the kernel (many times over),
// large frames waiting for the process-wide memory budget, a frame above the whole budget, and
// an end of stream in the middle of a frame.
#include "base/log.h"
#include "net/internal.h"
#include "net/membudget.h"
#include "net/reactor.h"
#include "net/stream.h"
#include "tests/lib/unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// ---- the peer: accepts one connection and writes |out| in pieces of the sizes in |chunks| ----

struct peer {
    struct evconnlistener *lis;
    uint16_t port;
    int fd;
    uint8_t *out;
    size_t len, off;
    const size_t *chunks; // piece sizes, cycled (NULL: as much as the socket takes)
    size_t nchunks, k;
    bool close_when_done;
    struct net_timer *pump;
};

static void peer_pump(void *ctx)
{
    struct peer *p = ctx;
    if (p->fd < 0) {
        return;
    }
    while (p->off < p->len) {
        size_t n = p->len - p->off;
        if (p->chunks != NULL && p->chunks[p->k % p->nchunks] < n) {
            n = p->chunks[p->k % p->nchunks];
        }
        ssize_t w = send(p->fd, p->out + p->off, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0) {
            assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
            net_timer_arm(p->pump, 1); // the socket is full: later
            return;
        }
        p->off += (size_t)w;
        if (p->chunks != NULL) {
            p->k++;
            net_timer_arm(p->pump, 0); // one piece per turn of the loop
            return;
        }
    }
    if (p->close_when_done) {
        close(p->fd);
        p->fd = -1;
    }
}

static void peer_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                        int salen, void *ctx)
{
    (void)l;
    (void)sa;
    (void)salen;
    struct peer *p = ctx;
    assert_true(p->fd < 0);
    p->fd = fd;
    net_timer_arm(p->pump, 0);
}

static void peer_start(struct peer *p, struct net_reactor *r)
{
    memset(p, 0, sizeof *p);
    p->fd = -1;
    p->pump = net_timer_new(r, peer_pump, p);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    p->lis = evconnlistener_new_bind(net_reactor_base(r), peer_accept, p,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 4,
                                     (struct sockaddr *)&sin, sizeof sin);
    assert_non_null(p->lis);
    struct sockaddr_in bound;
    socklen_t bl = sizeof bound;
    getsockname(evconnlistener_get_fd(p->lis), (struct sockaddr *)&bound, &bl);
    p->port = ntohs(bound.sin_port);
}

static void peer_stop(struct peer *p)
{
    evconnlistener_free(p->lis);
    net_timer_free(p->pump);
    if (p->fd >= 0) {
        close(p->fd);
    }
    free(p->out);
}

// peer_frame appends a frame of |size| payload bytes; byte j of frame |idx| is (idx * 7 + j).
static void peer_frame(struct peer *p, uint32_t idx, uint32_t size)
{
    p->out = realloc(p->out, p->len + 4 + size);
    assert_non_null(p->out);
    uint8_t *q = p->out + p->len;
    q[0] = (uint8_t)(size >> 24);
    q[1] = (uint8_t)(size >> 16);
    q[2] = (uint8_t)(size >> 8);
    q[3] = (uint8_t)size;
    for (uint32_t j = 0; j < size; j++) {
        q[4 + j] = (uint8_t)(idx * 7 + j);
    }
    p->len += 4 + (size_t)size;
}

// ---- the stream's side ---------------------------------------------------------------------

struct side {
    struct net_reactor *r;
    struct net_stream *s;
    uint32_t got;          // frames handed up
    uint32_t want;         // stop the reactor after this many
    uint32_t sizes[64];    // their sizes
    bool bad_content;      // a frame did not hold what the peer wrote
    uint32_t pause_every;  // pause after every Nth frame (0: never)
    bool paused;           // paused by on_frame, not yet resumed
    struct net_timer *res; // resumes after resume_ms
    uint32_t resume_ms;
    bool closed;
    struct net_stream_close why;
    char msg[600];
};

static void on_frame(void *ctx, const uint8_t *p, size_t len)
{
    struct side *sd = ctx;
    uint32_t idx = sd->got;
    for (size_t j = 0; j < len; j++) {
        if (p[j] != (uint8_t)(idx * 7 + j)) {
            sd->bad_content = true;
            break;
        }
    }
    if (idx < 64) {
        sd->sizes[idx] = (uint32_t)len;
    }
    sd->got++;
    if (sd->pause_every > 0 && sd->got % sd->pause_every == 0) {
        net_stream_set_reading(sd->s, false);
        sd->paused = true;
        net_timer_arm(sd->res, sd->resume_ms);
    }
    if (sd->got == sd->want) {
        net_reactor_stop(sd->r);
    }
}

static void on_close(void *ctx, const struct net_stream_close *why)
{
    struct side *sd = ctx;
    sd->closed = true;
    sd->why = *why;
    snprintf(sd->msg, sizeof sd->msg, "%s", why->msg);
    sd->why.msg = sd->msg;
    net_reactor_stop(sd->r);
}

static void on_resume(void *ctx)
{
    struct side *sd = ctx;
    sd->paused = false;
    net_stream_set_reading(sd->s, true);
}

static void side_open(struct side *sd, struct net_reactor *r, uint16_t port)
{
    memset(sd, 0, sizeof *sd);
    sd->r = r;
    sd->res = net_timer_new(r, on_resume, sd);
    struct net_stream_config cfg = {
        .connect_timeout_ms = 2000, .max_frame = 100u << 20, .log = "net", .name = "peer"};
    struct net_stream_callbacks cb = {NULL, on_frame, on_close, sd};
    sd->s = net_stream_open(r, "127.0.0.1", port, &cfg, &cb);
}

static void side_close(struct side *sd)
{
    net_stream_free(sd->s);
    net_timer_free(sd->res);
}

struct env {
    struct net_reactor *r;
    struct peer p;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    kesm_log_set_level(KESM_LOG_ERROR);
    e->r = net_reactor_new(NULL);
    assert_non_null(e->r);
    peer_start(&e->p, e->r);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    peer_stop(&e->p);
    net_reactor_free(e->r);
    net_membudget_set_limit(0);
    free(e);
    return 0;
}

static const uint32_t mixed[] = {0,          1,           100,   65532, 65533, 3,
                                 200 * 1024, 3u << 20,    5,     65531, 70000, 0,
                                 17,         1024 * 1024, 65536, 2,     9000,  4};
#define NMIXED (sizeof mixed / sizeof mixed[0])

static void check_mixed(const struct side *sd)
{
    assert_false(sd->closed);
    assert_false(sd->bad_content);
    assert_int_equal(sd->got, NMIXED);
    for (size_t i = 0; i < NMIXED; i++) {
        assert_int_equal(sd->sizes[i], mixed[i]);
    }
}

// Frames of every size class, the bytes dribbled in pieces that split size prefixes, the head's
// edge and large frames anywhere.
static void test_frames_split_anywhere(void **state)
{
    struct env *e = *state;
    static const size_t pieces[] = {1, 2, 3, 5000, 1, 70000, 4096, 7, 65536, 300000};
    for (uint32_t i = 0; i < NMIXED; i++) {
        peer_frame(&e->p, i, mixed[i]);
    }
    e->p.chunks = pieces;
    e->p.nchunks = sizeof pieces / sizeof pieces[0];
    struct side sd;
    side_open(&sd, e->r, e->p.port);
    sd.want = NMIXED;
    net_reactor_run_for(e->r, 20000 * unit_time_scale());
    check_mixed(&sd);
    assert_int_equal(net_stream_buffered(sd.s), 0);
    side_close(&sd);
}

// All frames written at once (they wait in the kernel), reading paused from inside on_frame after
// every frame and resumed from a timer: every resume must read on, whatever is buffered where.
static void test_pause_resume_with_kernel_data(void **state)
{
    struct env *e = *state;
    for (uint32_t i = 0; i < NMIXED; i++) {
        peer_frame(&e->p, i, mixed[i]);
    }
    struct side sd;
    side_open(&sd, e->r, e->p.port);
    sd.want = NMIXED;
    sd.pause_every = 1;
    sd.resume_ms = 0;
    net_reactor_run_for(e->r, 20000 * unit_time_scale());
    check_mixed(&sd);
    side_close(&sd);
}

// Paused for a while with megabytes waiting: nothing more is handed up and at most the head
// (64 KiB) is buffered; after the resume the rest arrives.
static void test_paused_buffers_little(void **state)
{
    struct env *e = *state;
    for (uint32_t i = 0; i < 16; i++) {
        peer_frame(&e->p, i, 256 * 1024);
    }
    struct side sd;
    side_open(&sd, e->r, e->p.port);
    sd.want = 16;
    sd.pause_every = 1;
    sd.resume_ms = 100000; // resumed by hand below
    net_reactor_run_for(e->r, 500 * unit_time_scale());
    assert_int_equal(sd.got, 1);
    assert_true(sd.paused);
    assert_true(net_stream_buffered(sd.s) <= NET_MEMBUDGET_FREE);
    sd.pause_every = 0;
    net_timer_cancel(sd.res);
    on_resume(&sd);
    net_reactor_run_for(e->r, 20000 * unit_time_scale());
    assert_int_equal(sd.got, 16);
    assert_false(sd.bad_content);
    side_close(&sd);
}

// Two streams receive 200 KiB frames under a 300 KiB budget: one frame at a time is read, the
// other stream waits for its reservation, and every frame still arrives.
static void test_budget_waits(void **state)
{
    struct env *e = *state;
    net_membudget_set_limit(300 * 1024);
    struct peer p2;
    peer_start(&p2, e->r);
    for (uint32_t i = 0; i < 6; i++) {
        peer_frame(&e->p, i, 200 * 1024);
        peer_frame(&p2, i, 200 * 1024);
    }
    struct net_membudget_stats st0, st;
    net_membudget_get_stats(&st0);
    struct side a, b;
    side_open(&a, e->r, e->p.port);
    side_open(&b, e->r, p2.port);
    a.want = b.want = 100; // run until the deadline or both are done
    uint64_t deadline = net_reactor_now_ms(e->r) + 20000 * unit_time_scale();
    size_t most = 0;
    while ((a.got < 6 || b.got < 6) && net_reactor_now_ms(e->r) < deadline) {
        net_reactor_run_for(e->r, 5);
        net_membudget_get_stats(&st);
        most = st.used > most ? st.used : most;
    }
    assert_int_equal(a.got, 6);
    assert_int_equal(b.got, 6);
    assert_false(a.bad_content || b.bad_content);
    net_membudget_get_stats(&st);
    assert_true(st.waits > st0.waits); // someone waited
    assert_true(most <= 300 * 1024);   // never more than the budget at once
    assert_int_equal(st.used, 0);      // everything given back
    side_close(&a);
    side_close(&b);
    peer_stop(&p2);
}

// A frame larger than the whole budget is refused from its size prefix.
static void test_frame_above_budget(void **state)
{
    struct env *e = *state;
    net_membudget_set_limit(128 * 1024);
    peer_frame(&e->p, 0, 10);
    peer_frame(&e->p, 1, 1024 * 1024);
    struct side sd;
    side_open(&sd, e->r, e->p.port);
    sd.want = 100;
    net_reactor_run_for(e->r, 10000 * unit_time_scale());
    assert_int_equal(sd.got, 1);
    assert_true(sd.closed);
    assert_int_equal(sd.why.end, NET_STREAM_END_FRAME_LIMIT);
    assert_non_null(strstr(sd.msg, "exceeds the broker memory budget"));
    side_close(&sd);
}

// The peer closes in the middle of a large frame: the end is EOF with the bytes received pending,
// and the frames before it were handed up.
static void test_eof_mid_frame(void **state)
{
    struct env *e = *state;
    peer_frame(&e->p, 0, 1000);
    peer_frame(&e->p, 1, 500 * 1024);
    e->p.len -= 100 * 1024; // the last 100 KiB never come
    e->p.close_when_done = true;
    struct side sd;
    side_open(&sd, e->r, e->p.port);
    sd.want = 100;
    net_reactor_run_for(e->r, 10000 * unit_time_scale());
    assert_int_equal(sd.got, 1);
    assert_true(sd.closed);
    assert_int_equal(sd.why.end, NET_STREAM_END_EOF);
    assert_int_equal(sd.why.pending, 4 + 400 * 1024);
    struct net_membudget_stats st;
    net_membudget_get_stats(&st);
    assert_int_equal(st.used, 0); // the reservation was given back
    side_close(&sd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_frames_split_anywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_resume_with_kernel_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paused_buffers_little, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frame_above_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eof_mid_frame, setup, teardown),
    };
    return cmocka_run_group_tests_name("net_stream", tests, NULL, NULL);
}
