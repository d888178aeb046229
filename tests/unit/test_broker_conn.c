// test_broker_conn.c: broker/ sessions over net/ streams against an in-process fake broker on
// 127.0.0.1: ApiVersions negotiation and fallback, queueing before READY, pipelining bounds,
// per-request timeouts, drops, frame limits, reconnect backoff, idle close, read backpressure, the
// auth plug-in point, freeing from a callback, and the log line format. The fake broker runs on the
// same reactor as the connection, so each test is deterministic and bounded by a run deadline.
#include "base/log.h"
#include "broker/conn.h"
#include "net/internal.h"
#include "net/reactor.h"
#include "proto/api.h"
#include "proto/kr.h"
#include "proto/kw.h"
#include "tests/lib/unit.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/dns_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

// ---- fake broker -------------------------------------------------------------------------------

enum fake_bad {
    BAD_NONE,
    BAD_HUGE_FRAME,  // answer with a 2 GB size prefix
    BAD_HALF_CLOSE,  // answer with half a frame, then close
    BAD_WRONG_CORR,  // answer with a correlation id nobody asked for
    BAD_SILENT_DROP, // close after close_after requests without answering
    BAD_HDR_TAGS,    // a flexible response header whose tag section runs past the frame
};

struct fake;
struct fake_client {
    struct fake *f;
    struct bufferevent *bev;
    struct fake_client *next;
};
struct delayed {
    struct delayed *next;
    struct fake_client *cl;
    struct event *ev;
    uint8_t *data;
    size_t len;
};
struct fake {
    struct event_base *base;
    struct evconnlistener *lis;
    uint16_t port;
    struct fake_client *clients;
    struct delayed *delayed;
    // behaviour
    bool apiv_v3_ok;      // answer ApiVersions v3 in v3 layout (else UNSUPPORTED_VERSION)
    bool apiv_v3_garbage; // answer ApiVersions v3 with bytes that do not parse
    int16_t metadata_max; // advertised Metadata max version
    uint32_t delay_ms;
    int close_after; // BAD_SILENT_DROP: close after this many non-ApiVersions requests
    enum fake_bad bad;
    size_t pad; // bytes appended to every echo response
    // observations
    int accepts;
    int16_t apiv_seen[8];
    int napiv;
    int reqs;
    int outstanding, max_outstanding;
    int16_t keys[256];
    int nkeys;
};

static void fake_send(struct fake_client *cl, const uint8_t *p, size_t n)
{
    if (cl->bev != NULL) {
        bufferevent_write(cl->bev, p, n);
    }
}

static void delayed_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct delayed *d = arg;
    // Equal timeouts may fire in any order: send every earlier answer to this client first, so
    // the fake keeps Kafka's in-order guarantee.
    for (struct delayed *it = d->cl->f->delayed; it != NULL; it = it->next) {
        if (it->cl == d->cl && it->data != NULL) {
            fake_send(it->cl, it->data, it->len);
            it->cl->f->outstanding--;
            free(it->data);
            it->data = NULL;
            event_del(it->ev);
        }
        if (it == d) {
            break;
        }
    }
}

static void fake_answer(struct fake_client *cl, kw *w)
{
    struct fake *f = cl->f;
    size_t len = kw_len(w);
    if (f->delay_ms == 0) {
        fake_send(cl, kw_data(w), len);
        f->outstanding--;
        return;
    }
    struct delayed *d = calloc(1, sizeof *d);
    d->cl = cl;
    d->data = malloc(len);
    memcpy(d->data, kw_data(w), len);
    d->len = len;
    d->ev = evtimer_new(f->base, delayed_cb, d);
    struct timeval tv = {(time_t)(f->delay_ms / 1000), (suseconds_t)(f->delay_ms % 1000) * 1000};
    evtimer_add(d->ev, &tv);
    struct delayed **tail = &f->delayed;
    while (*tail != NULL) {
        tail = &(*tail)->next;
    }
    *tail = d;
}

static void fake_close(struct fake_client *cl)
{
    if (cl->bev != NULL) {
        bufferevent_free(cl->bev);
        cl->bev = NULL;
    }
}

static void answer_api_versions(struct fake_client *cl, int16_t version, int32_t corr, kw *w)
{
    struct fake *f = cl->f;
    const int16_t keys[][3] = {{KP_API_METADATA, 0, f->metadata_max},
                               {KP_API_SASL_HANDSHAKE, 0, 1},
                               {KP_API_API_VERSIONS, 0, 3}};
    size_t pos;
    kw_begin_size32(w, &pos);
    kw_i32(w, corr);
    if (version >= 3 && f->apiv_v3_garbage) {
        kw_i16(w, 0);
        kw_u8(w, 0xff); // a compact array count that runs past the end
    } else if (version >= 3 && f->apiv_v3_ok) {
        kw_i16(w, 0);
        kw_uvarint(w, 4);
        for (int i = 0; i < 3; i++) {
            kw_i16(w, keys[i][0]);
            kw_i16(w, keys[i][1]);
            kw_i16(w, keys[i][2]);
            kw_empty_tags(w);
        }
        kw_i32(w, 0);
        kw_empty_tags(w);
    } else if (version >= 3) {
        // What brokers send for a version they do not know: error 35 in the v0 layout.
        kw_i16(w, 35);
        kw_i32(w, 1);
        kw_i16(w, KP_API_API_VERSIONS);
        kw_i16(w, 0);
        kw_i16(w, 2);
    } else {
        kw_i16(w, 0);
        kw_i32(w, 3);
        for (int i = 0; i < 3; i++) {
            kw_i16(w, keys[i][0]);
            kw_i16(w, keys[i][1]);
            kw_i16(w, i == 2 ? 2 : keys[i][2]);
        }
        if (version >= 1) {
            kw_i32(w, 0);
        }
    }
    kw_end_size32(w, pos);
}

// fake_request handles one request frame; returns false if the client was closed.
static bool fake_request(struct fake_client *cl, kr *frame)
{
    struct fake *f = cl->f;
    struct kp_req_hdr h;
    struct kp_err e;
    assert_int_equal(kp_req_hdr_parse(frame, &h, &e), KP_OK);
    f->outstanding++;
    if (f->outstanding > f->max_outstanding) {
        f->max_outstanding = f->outstanding;
    }
    kw w;
    kw_init_grow(&w);
    if (h.api_key == KP_API_API_VERSIONS) {
        if (f->napiv < 8) {
            f->apiv_seen[f->napiv++] = h.api_version;
        }
        answer_api_versions(cl, h.api_version, h.correlation_id, &w);
        fake_send(cl, kw_data(&w), kw_len(&w));
        f->outstanding--;
        kw_cleanup(&w);
        return true;
    }
    f->reqs++;
    if (f->nkeys < 256) {
        f->keys[f->nkeys++] = h.api_key;
    }
    if (f->bad == BAD_SILENT_DROP && f->reqs >= f->close_after) {
        f->outstanding = 0;
        fake_close(cl);
        kw_cleanup(&w);
        return false;
    }
    if (f->bad == BAD_HUGE_FRAME) {
        uint8_t huge[] = {0x7f, 0xff, 0xff, 0xf0, 0, 0, 0, 1};
        fake_send(cl, huge, sizeof huge);
        kw_cleanup(&w);
        return true;
    }
    // Echo: header v0 or v1 (flexible versions), then the request body and |pad| bytes.
    size_t pos;
    kw_begin_size32(&w, &pos);
    kw_i32(&w, f->bad == BAD_WRONG_CORR ? h.correlation_id + 1000 : h.correlation_id);
    if (f->bad == BAD_HDR_TAGS) {
        kw_u8(&w, 5); // five tagged fields follow... but none do
        kw_end_size32(&w, pos);
        fake_answer(cl, &w);
        kw_cleanup(&w);
        return true;
    }
    if (kp_resp_hdr_version(h.api_key, h.api_version) == 1) {
        kw_empty_tags(&w);
    }
    kw_raw(&w, frame->p, kr_left(frame));
    kw_zeros(&w, f->pad);
    kw_end_size32(&w, pos);
    if (f->bad == BAD_HALF_CLOSE) {
        // Half a frame straight to the socket (the ApiVersions answers left long ago), then FIN.
        evutil_socket_t fd = bufferevent_getfd(cl->bev);
        ssize_t sent = send(fd, kw_data(&w), kw_len(&w) / 2 + 2, MSG_NOSIGNAL);
        assert_true(sent > 4);
        kw_cleanup(&w);
        shutdown(fd, SHUT_WR);
        bufferevent_disable(cl->bev, EV_READ);
        return false;
    }
    fake_answer(cl, &w);
    kw_cleanup(&w);
    return true;
}

static void fake_read(struct bufferevent *bev, void *arg)
{
    struct fake_client *cl = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        size_t have = evbuffer_get_length(in);
        if (have < 4) {
            return;
        }
        uint8_t hdr[4];
        evbuffer_copyout(in, hdr, 4);
        size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
        if (have < 4 + n) {
            return;
        }
        uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)(4 + n));
        kr frame;
        kr_init(&frame, p + 4, n);
        bool alive = fake_request(cl, &frame);
        if (!alive || cl->bev == NULL) {
            return;
        }
        evbuffer_drain(in, 4 + n);
    }
}

static void fake_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct fake_client *cl = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        fake_close(cl);
    }
}

static void fake_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                        int socklen, void *arg)
{
    (void)lis;
    (void)sa;
    (void)socklen;
    struct fake *f = arg;
    f->accepts++;
    struct fake_client *cl = calloc(1, sizeof *cl);
    cl->f = f;
    cl->bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(cl->bev, fake_read, NULL, fake_event, cl);
    bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
    cl->next = f->clients;
    f->clients = cl;
}

static void fake_start(struct fake *f, struct net_reactor *r)
{
    memset(f, 0, sizeof *f);
    f->base = net_reactor_base(r);
    f->metadata_max = 2;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->lis =
        evconnlistener_new_bind(f->base, fake_accept, f, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                16, (struct sockaddr *)&sin, sizeof sin);
    assert_non_null(f->lis);
    struct sockaddr_in bound;
    socklen_t bl = sizeof bound;
    getsockname(evconnlistener_get_fd(f->lis), (struct sockaddr *)&bound, &bl);
    f->port = ntohs(bound.sin_port);
}

// fake_stop_listening closes the listener (connects are refused) but keeps clients.
static void fake_stop_listening(struct fake *f)
{
    if (f->lis != NULL) {
        evconnlistener_free(f->lis);
        f->lis = NULL;
    }
}

static void fake_drop_clients(struct fake *f)
{
    for (struct fake_client *cl = f->clients; cl != NULL; cl = cl->next) {
        fake_close(cl);
    }
}

static void fake_free(struct fake *f)
{
    fake_stop_listening(f);
    while (f->clients != NULL) {
        struct fake_client *cl = f->clients;
        f->clients = cl->next;
        fake_close(cl);
        free(cl);
    }
    while (f->delayed != NULL) {
        struct delayed *d = f->delayed;
        f->delayed = d->next;
        event_free(d->ev);
        free(d->data);
        free(d);
    }
}

// ---- client side helpers -----------------------------------------------------------------------

struct watch {
    struct net_reactor *r;
    enum broker_conn_state stop_at; // stop the loop when this state is entered
    bool stop_armed;
    int ready;
    int backoffs;
    uint32_t backoff_ms[16];
    struct broker_conn_event last_fail;
    char last_msg[600];
    struct broker_conn *conn;
};

static void on_state(struct broker_conn *c, const struct broker_conn_event *ev, void *ctx)
{
    struct watch *w = ctx;
    (void)c;
    if (ev->to == BROKER_CONN_READY) {
        w->ready++;
    }
    if (ev->err != BROKER_OK) {
        w->last_fail = *ev;
        snprintf(w->last_msg, sizeof w->last_msg, "%s", ev->msg ? ev->msg : "");
        w->last_fail.msg = w->last_msg;
    }
    if (w->stop_armed && ev->to == w->stop_at) {
        w->stop_armed = false;
        net_reactor_stop(w->r);
    }
}

// run_until runs the loop until |w| sees state |st| or |ms| pass; returns whether it was seen.
static bool run_until(struct watch *w, enum broker_conn_state st, uint32_t ms)
{
    w->stop_at = st;
    w->stop_armed = true;
    net_reactor_run_for(w->r, ms);
    bool seen = !w->stop_armed;
    w->stop_armed = false;
    return seen;
}

struct resp_log {
    int n;
    int err[512];
    int32_t corr[512];
    uint32_t tag[512]; // first 4 body bytes (the echoed request index)
    size_t body_len[512];
    char msg[512];
    struct net_reactor *r;
    int stop_after;
    struct broker_conn *pause_on_first;
    struct broker_conn *free_on_first;
};

static void on_resp(struct broker_conn *c, const struct broker_resp *resp, void *ctx)
{
    (void)c;
    struct resp_log *l = ctx;
    assert_true(l->n < 512);
    l->err[l->n] = resp->err;
    l->corr[l->n] = resp->correlation_id;
    l->body_len[l->n] = kr_left(&resp->body);
    kr b = resp->body;
    uint32_t tag = UINT32_MAX;
    if (resp->err == BROKER_OK) {
        assert_true(kr_u32(&b, &tag));
    } else {
        assert_non_null(resp->msg);
        snprintf(l->msg, sizeof l->msg, "%s", resp->msg);
    }
    l->tag[l->n] = tag;
    l->n++;
    if (l->n == 1 && l->pause_on_first != NULL) {
        broker_conn_pause(l->pause_on_first);
    }
    if (l->n == 1 && l->free_on_first != NULL) {
        broker_conn_free(l->free_on_first);
        l->free_on_first = NULL;
    }
    if (l->stop_after > 0 && l->n == l->stop_after) {
        net_reactor_stop(l->r);
    }
}

// send_tagged sends a Metadata v1 request whose body is the 4-byte |tag| (echoed back).
static int send_tagged(struct broker_conn *c, uint32_t tag, struct resp_log *l, uint32_t timeout)
{
    uint8_t body[4] = {(uint8_t)(tag >> 24), (uint8_t)(tag >> 16), (uint8_t)(tag >> 8),
                       (uint8_t)tag};
    (void)timeout;
    return broker_conn_send_body(c, KP_API_METADATA, 1, body, sizeof body, on_resp, l);
}

struct env {
    struct net_reactor *r;
    struct evdns_server_port *dns_port;
    evutil_socket_t dns_fd;
    int dns_queries;
    struct fake f;
    struct watch w;
    struct resp_log log;
    struct broker_conn_config cfg;
    struct broker_conn_callbacks cb;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    // KESM_TEST_LOG=debug shows the connection's log lines while debugging a test.
    int lvl = kesm_log_level_parse(getenv("KESM_TEST_LOG"));
    kesm_log_set_level(lvl < 0 ? KESM_LOG_ERROR : (enum kesm_log_level)lvl);
    e->r = net_reactor_new(NULL);
    assert_non_null(e->r);
    fake_start(&e->f, e->r);
    e->w.r = e->r;
    e->log.r = e->r;
    e->cfg.backoff_initial_ms = 20;
    e->cfg.backoff_max_ms = 80;
    e->cfg.connect_timeout_ms = 2000;
    e->cfg.handshake_timeout_ms = 2000;
    e->cfg.request_timeout_ms = 3000;
    e->cb.on_state = on_state;
    e->cb.ctx = &e->w;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    fake_free(&e->f);
    if (e->dns_port != NULL) {
        evdns_close_server_port(e->dns_port);
        evutil_closesocket(e->dns_fd);
    }
    net_reactor_free(e->r);
    free(e);
    kesm_log_set_sink(NULL, NULL);
    return 0;
}

static struct broker_conn *connect_fake(struct env *e)
{
    struct broker_conn *c = broker_conn_new(e->r, "127.0.0.1", e->f.port, &e->cfg, &e->cb);
    e->w.conn = c;
    return c;
}

// ---- tests -------------------------------------------------------------------------------------

static void test_negotiate_with_fallback(void **state)
{
    struct env *e = *state;
    e->f.metadata_max = 2;
    struct broker_conn *c = connect_fake(e);
    assert_null(broker_conn_versions(c));
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000));
    // v3 first, UNSUPPORTED_VERSION, then the version the fallback picks from the v0 list (2).
    assert_int_equal(e->f.napiv, 2);
    assert_int_equal(e->f.apiv_seen[0], 3);
    assert_int_equal(e->f.apiv_seen[1], 2);
    assert_non_null(broker_conn_versions(c));
    assert_int_equal(broker_conn_version(c, KP_API_METADATA), 2);
    assert_int_equal(broker_conn_version(c, KP_API_FETCH), -1);
    // AUTO on an API the broker lacks is refused up front.
    struct broker_req r = {.api_key = KP_API_FETCH, .version = BROKER_VERSION_AUTO};
    assert_int_equal(broker_conn_send(c, &r), BROKER_ERR_VERSION);
    broker_conn_free(c);
}

static void test_negotiate_v3(void **state)
{
    struct env *e = *state;
    e->f.apiv_v3_ok = true;
    e->f.metadata_max = 12;
    struct broker_conn *c = connect_fake(e);
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000));
    assert_int_equal(e->f.napiv, 1);
    assert_int_equal(e->f.apiv_seen[0], 3);
    assert_int_equal(broker_conn_version(c, KP_API_METADATA), 12);
    broker_conn_free(c);
}

static void test_negotiate_garbage_retries_v0(void **state)
{
    struct env *e = *state;
    e->f.apiv_v3_garbage = true;
    struct broker_conn *c = connect_fake(e);
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000));
    assert_int_equal(e->f.napiv, 2);
    assert_int_equal(e->f.apiv_seen[0], 3);
    assert_int_equal(e->f.apiv_seen[1], 0);
    assert_int_equal(e->f.accepts, 1); // on the same connection
    assert_int_equal(broker_conn_version(c, KP_API_METADATA), 2);
    broker_conn_free(c);
}

static void test_required_api_missing(void **state)
{
    struct env *e = *state;
    const int16_t req[] = {KP_API_FETCH};
    e->cfg.required_apis = req;
    e->cfg.num_required_apis = 1;
    e->cfg.no_reconnect = true;
    struct broker_conn *c = connect_fake(e);
    assert_true(run_until(&e->w, BROKER_CONN_CLOSED, 3000));
    assert_int_equal(e->w.last_fail.err, BROKER_ERR_VERSION);
    assert_non_null(strstr(e->w.last_msg, "Fetch"));
    assert_int_equal(broker_conn_send_body(c, 3, 1, "x", 1, on_resp, &e->log), BROKER_ERR_CLOSED);
    broker_conn_free(c);
}

static void test_pipelined_in_order(void **state)
{
    struct env *e = *state;
    e->cfg.max_in_flight = 8;
    e->f.delay_ms = 2;
    struct broker_conn *c = connect_fake(e);
    // Sent before READY: they wait in the queue.
    for (uint32_t i = 0; i < 200; i++) {
        assert_int_equal(send_tagged(c, i, &e->log, 0), BROKER_OK);
    }
    e->log.stop_after = 200;
    net_reactor_run_for(e->r, 10000);
    assert_int_equal(e->log.n, 200);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(e->log.err[i], BROKER_OK);
        assert_int_equal(e->log.tag[i], (uint32_t)i);
        if (i > 0) {
            assert_true(e->log.corr[i] > e->log.corr[i - 1]);
        }
    }
    assert_true(e->f.max_outstanding <= 8);
    assert_true(e->f.max_outstanding >= 2); // it did pipeline
    struct broker_conn_stats st;
    broker_conn_get_stats(c, &st);
    assert_int_equal(st.requests, 202); // + 2 ApiVersions
    assert_int_equal(st.in_flight, 0);
    broker_conn_free(c);
}

static void test_queue_bound_and_bad_args(void **state)
{
    struct env *e = *state;
    e->cfg.max_queued = 3;
    struct broker_conn *c = connect_fake(e);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(send_tagged(c, i, &e->log, 0), BROKER_OK);
    }
    assert_int_equal(send_tagged(c, 3, &e->log, 0), BROKER_ERR_QUEUE_FULL);
    struct broker_req unknown = {.api_key = 9999, .version = BROKER_VERSION_AUTO};
    assert_int_equal(broker_conn_send(c, &unknown), BROKER_ERR_INVALID);
    struct broker_req negative = {.api_key = KP_API_METADATA, .version = -7};
    assert_int_equal(broker_conn_send(c, &negative), BROKER_ERR_INVALID);
    assert_int_equal(
        broker_conn_send_body(c, KP_API_METADATA, BROKER_VERSION_AUTO, "x", 1, on_resp, &e->log),
        BROKER_ERR_INVALID);
    e->log.stop_after = 3;
    net_reactor_run_for(e->r, 3000);
    assert_int_equal(e->log.n, 3); // the refused ones never call back
    assert_string_equal(broker_err_name(BROKER_ERR_QUEUE_FULL), "queue full");
    broker_conn_free(c);
}

static void test_request_timeout(void **state)
{
    struct env *e = *state;
    e->f.delay_ms = 500;
    e->cfg.request_timeout_ms = 100;
    struct broker_conn *c = connect_fake(e);
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000));
    int ready_before = e->w.ready;
    assert_int_equal(send_tagged(c, 1, &e->log, 0), BROKER_OK);
    assert_int_equal(send_tagged(c, 2, &e->log, 0), BROKER_OK);
    e->log.stop_after = 2;
    net_reactor_run_for(e->r, 3000);
    assert_int_equal(e->log.n, 2);
    assert_int_equal(e->log.err[0], BROKER_ERR_TIMEOUT);
    assert_int_equal(e->log.err[1], BROKER_ERR_DISCONNECTED);
    assert_int_equal(e->w.last_fail.err, BROKER_ERR_TIMEOUT);
    assert_non_null(strstr(e->w.last_msg, "timed out after 100 ms"));
    // The connection comes back by itself and serves requests again.
    e->f.delay_ms = 0;
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000));
    assert_true(e->w.ready > ready_before);
    e->log.stop_after = 3;
    assert_int_equal(send_tagged(c, 3, &e->log, 0), BROKER_OK);
    net_reactor_run_for(e->r, 3000);
    assert_int_equal(e->log.n, 3);
    assert_int_equal(e->log.err[2], BROKER_OK);
    assert_int_equal(e->log.tag[2], 3);
    struct broker_conn_stats st;
    broker_conn_get_stats(c, &st);
    assert_int_equal(st.timeouts, 1);
    broker_conn_free(c);
}

static void test_drop_fails_inflight_once(void **state)
{
    struct env *e = *state;
    e->f.bad = BAD_SILENT_DROP;
    e->f.close_after = 3;
    e->f.delay_ms = 1000; // nothing is answered before the drop
    struct broker_conn *c = connect_fake(e);
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000));
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(send_tagged(c, i, &e->log, 0), BROKER_OK);
    }
    assert_true(run_until(&e->w, BROKER_CONN_BACKOFF, 3000));
    assert_int_equal(e->log.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(e->log.err[i], BROKER_ERR_DISCONNECTED);
    }
    assert_non_null(strstr(e->log.msg, "connection closed by the broker"));
    struct broker_conn_stats st;
    broker_conn_get_stats(c, &st);
    assert_true(st.backoff_ms >= 16 && st.backoff_ms <= 24); // 20 ms +-20%
    e->f.bad = BAD_NONE;
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000));
    net_reactor_run_for(e->r, 50);
    assert_int_equal(e->log.n, 3); // exactly once each
    broker_conn_free(c);
}

static void test_frame_too_large(void **state)
{
    struct env *e = *state;
    e->f.bad = BAD_HUGE_FRAME;
    e->cfg.max_frame = 1 << 20;
    struct broker_conn *c = connect_fake(e);
    assert_int_equal(send_tagged(c, 1, &e->log, 0), BROKER_OK);
    assert_true(run_until(&e->w, BROKER_CONN_BACKOFF, 3000));
    assert_int_equal(e->w.last_fail.err, BROKER_ERR_FRAME_TOO_LARGE);
    assert_non_null(strstr(e->w.last_msg, "frame size 2147483632 exceeds the limit of 1048576"));
    assert_int_equal(e->log.n, 1);
    assert_int_equal(e->log.err[0], BROKER_ERR_DISCONNECTED);
    broker_conn_free(c);
}

static void test_close_mid_frame(void **state)
{
    struct env *e = *state;
    e->f.bad = BAD_HALF_CLOSE;
    e->f.pad = 1000;
    struct broker_conn *c = connect_fake(e);
    assert_int_equal(send_tagged(c, 1, &e->log, 0), BROKER_OK);
    assert_true(run_until(&e->w, BROKER_CONN_BACKOFF, 3000));
    assert_int_equal(e->w.last_fail.err, BROKER_ERR_DISCONNECTED);
    assert_non_null(strstr(e->w.last_msg, "mid-frame"));
    assert_int_equal(e->log.n, 1);
    assert_int_equal(e->log.err[0], BROKER_ERR_DISCONNECTED);
    broker_conn_free(c);
}

static void test_wrong_correlation_id(void **state)
{
    struct env *e = *state;
    e->f.bad = BAD_WRONG_CORR;
    struct broker_conn *c = connect_fake(e);
    assert_int_equal(send_tagged(c, 1, &e->log, 0), BROKER_OK);
    assert_true(run_until(&e->w, BROKER_CONN_BACKOFF, 3000));
    assert_int_equal(e->w.last_fail.err, BROKER_ERR_PROTOCOL);
    assert_non_null(strstr(e->w.last_msg, "does not match the oldest request in flight"));
    broker_conn_free(c);
}

static void test_bad_response_header(void **state)
{
    struct env *e = *state;
    e->f.bad = BAD_HDR_TAGS;
    e->f.apiv_v3_ok = true;
    e->f.metadata_max = 12;
    struct broker_conn *c = connect_fake(e);
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000));
    // Metadata v9 is flexible: its response header has a tag section.
    assert_int_equal(broker_conn_send_body(c, KP_API_METADATA, 9, "\0\0\0\1", 4, on_resp, &e->log),
                     BROKER_OK);
    assert_true(run_until(&e->w, BROKER_CONN_BACKOFF, 3000));
    assert_int_equal(e->log.n, 1);
    assert_int_equal(e->log.err[0], BROKER_ERR_PROTOCOL);
    assert_non_null(strstr(e->log.msg, "Metadata v9 response header: truncated at byte"));
    assert_int_equal(e->w.last_fail.err, BROKER_ERR_PROTOCOL);
    broker_conn_free(c);
}

// full_listener makes a listening socket that never accepts, with its queue filled by |fill|
// connections, so a further connect stays pending (the kernel drops its SYNs). Returns the port.
static uint16_t full_listener(int *out_fd, int fill[2])
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(fd, 0), 0);
    socklen_t sl = sizeof sin;
    getsockname(fd, (struct sockaddr *)&sin, &sl);
    for (int i = 0; i < 2; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&sin, sizeof sin);
    }
    *out_fd = fd;
    return ntohs(sin.sin_port);
}

static void test_connect_timeout_and_free_while_connecting(void **state)
{
    struct env *e = *state;
    int lfd, fill[2];
    uint16_t port = full_listener(&lfd, fill);
    e->cfg.connect_timeout_ms = 200;
    e->cfg.no_reconnect = true;
    struct broker_conn *c = broker_conn_new(e->r, "127.0.0.1", port, &e->cfg, &e->cb);
    assert_true(run_until(&e->w, BROKER_CONN_CLOSED, 3000));
    assert_int_equal(e->w.last_fail.err, BROKER_ERR_CONNECT);
    char want[128];
    snprintf(want, sizeof want,
             "cannot connect to 127.0.0.1:%u (127.0.0.1: timed out after 200 ms)", port);
    assert_string_equal(e->w.last_msg, want);
    broker_conn_free(c);
    // Freed while the connect is pending: nothing leaks, nothing fires later.
    c = broker_conn_new(e->r, "127.0.0.1", port, &e->cfg, &e->cb);
    net_reactor_run_for(e->r, 50);
    assert_int_equal(broker_conn_state(c), BROKER_CONN_CONNECTING);
    broker_conn_free(c);
    net_reactor_run_for(e->r, 300);
    close(fill[0]);
    close(fill[1]);
    close(lfd);
}

static void test_refused_backoff_grows(void **state)
{
    struct env *e = *state;
    uint16_t port = e->f.port;
    fake_stop_listening(&e->f);
    struct broker_conn *c = broker_conn_new(e->r, "127.0.0.1", port, &e->cfg, &e->cb);
    uint32_t seen[6];
    for (int i = 0; i < 6; i++) {
        assert_true(run_until(&e->w, BROKER_CONN_BACKOFF, 3000));
        struct broker_conn_stats st;
        broker_conn_get_stats(c, &st);
        seen[i] = st.backoff_ms;
    }
    assert_int_equal(e->w.last_fail.err, BROKER_ERR_CONNECT);
    assert_non_null(strstr(e->w.last_msg, "Connection refused"));
    // 20, 40, 80, 80, ... each +-20%.
    const uint32_t base[] = {20, 40, 80, 80, 80, 80};
    for (int i = 0; i < 6; i++) {
        assert_true(seen[i] >= base[i] * 8 / 10 && seen[i] <= base[i] * 12 / 10);
    }
    broker_conn_free(c);
}

static void test_localhost_and_down_up(void **state)
{
    struct env *e = *state;
    // "localhost" comes from /etc/hosts (maybe ::1 first, which nobody serves: the next address
    // is tried).
    struct broker_conn *c = broker_conn_new(e->r, "localhost", e->f.port, &e->cfg, &e->cb);
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000));
    // Broker goes down: listener closed, clients dropped; reconnects fail until it is back.
    uint16_t port = e->f.port;
    fake_stop_listening(&e->f);
    fake_drop_clients(&e->f);
    assert_true(run_until(&e->w, BROKER_CONN_BACKOFF, 3000));
    assert_true(run_until(&e->w, BROKER_CONN_BACKOFF, 3000)); // a refused attempt
    assert_int_equal(e->w.last_fail.err, BROKER_ERR_CONNECT);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons(port);
    e->f.lis = evconnlistener_new_bind(e->f.base, fake_accept, &e->f,
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                       (struct sockaddr *)&sin, sizeof sin);
    assert_non_null(e->f.lis);
    int ready = e->w.ready;
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000));
    assert_int_equal(e->w.ready, ready + 1);
    broker_conn_free(c);
}

static void test_resolve_failure(void **state)
{
    struct env *e = *state;
    e->cfg.no_reconnect = true;
    // An empty name never reaches a nameserver and fails cleanly.
    struct broker_conn *c = broker_conn_new(e->r, "", 9, &e->cfg, &e->cb);
    assert_true(run_until(&e->w, BROKER_CONN_CLOSED, 6000));
    assert_true(e->w.last_fail.err == BROKER_ERR_RESOLVE ||
                e->w.last_fail.err == BROKER_ERR_CONNECT);
    broker_conn_free(c);
}

static void test_idle_close_and_reopen(void **state)
{
    struct env *e = *state;
    e->cfg.idle_timeout_ms = 50;
    struct broker_conn *c = connect_fake(e);
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000));
    assert_true(run_until(&e->w, BROKER_CONN_IDLE, 3000));
    assert_int_equal(e->f.accepts, 1);
    e->log.stop_after = 1;
    assert_int_equal(send_tagged(c, 5, &e->log, 0), BROKER_OK);
    net_reactor_run_for(e->r, 3000);
    assert_int_equal(e->log.n, 1);
    assert_int_equal(e->log.err[0], BROKER_OK);
    assert_int_equal(e->log.tag[0], 5);
    assert_int_equal(e->f.accepts, 2);
    broker_conn_free(c);
}

static void test_backpressure(void **state)
{
    struct env *e = *state;
    unsigned k = unit_time_scale();
    e->f.pad = 256 * 1024;
    // The request timeout is shorter than the pause: paused requests must not expire. After the
    // resume the timers run again, and reading 8 MiB must finish within one timeout: 1 s leaves
    // room for ASan on a loaded machine (200 ms did not), the scale for valgrind.
    e->cfg.request_timeout_ms = 1000 * k;
    struct broker_conn *c = connect_fake(e);
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000 * k));
    for (uint32_t i = 0; i < 32; i++) {
        assert_int_equal(send_tagged(c, i, &e->log, 0), BROKER_OK);
    }
    e->log.pause_on_first = c;
    net_reactor_run_for(e->r, 2500 * k);
    // 8 MiB were answered; one response was taken, then reading stopped.
    assert_int_equal(e->log.n, 1);
    assert_true(broker_conn_buffered(c) < 2u * 1024 * 1024);
    struct broker_conn_stats st;
    broker_conn_get_stats(c, &st);
    assert_int_equal(st.timeouts, 0);
    e->log.stop_after = 32;
    broker_conn_resume(c);
    net_reactor_run_for(e->r, 5000 * k);
    assert_int_equal(e->log.n, 32);
    for (int i = 0; i < 32; i++) {
        assert_int_equal(e->log.err[i], BROKER_OK);
        assert_int_equal(e->log.tag[i], (uint32_t)i);
        assert_int_equal(e->log.body_len[i], 4 + 256 * 1024);
    }
    broker_conn_free(c);
}

static void test_free_in_callback(void **state)
{
    struct env *e = *state;
    struct broker_conn *c = connect_fake(e);
    for (uint32_t i = 0; i < 10; i++) {
        assert_int_equal(send_tagged(c, i, &e->log, 0), BROKER_OK);
    }
    e->log.free_on_first = c;
    net_reactor_run_for(e->r, 500);
    // The first got its response; freeing the connection inside its callback closed the other
    // nine, once each.
    assert_int_equal(e->log.n, 10);
    assert_int_equal(e->log.err[0], BROKER_OK);
    for (int i = 1; i < 10; i++) {
        assert_int_equal(e->log.err[i], BROKER_ERR_CLOSED);
    }
}

struct auth_state {
    int starts, stops;
    bool fail;
    struct resp_log log;
};

static void auth_resp(struct broker_conn *c, const struct broker_resp *resp, void *ctx)
{
    struct auth_state *a = ctx;
    on_resp(c, resp, &a->log);
    if (resp->err == BROKER_OK) {
        broker_conn_auth_done(c, a->fail ? BROKER_ERR_AUTH : BROKER_OK,
                              a->fail ? "Authentication failed: invalid credentials" : NULL);
    }
}

static bool auth_body(kw *w, int16_t version, void *ctx)
{
    (void)version;
    (void)ctx;
    return kw_u32(w, 0xa0a0a0a0u);
}

static void auth_start(struct broker_conn *c, void *ctx)
{
    struct auth_state *a = ctx;
    a->starts++;
    struct broker_req r = {.api_key = KP_API_SASL_HANDSHAKE,
                           .version = BROKER_VERSION_AUTO,
                           .write_body = auth_body,
                           .on_resp = auth_resp,
                           .ctx = a,
                           .handshake = true};
    assert_int_equal(broker_conn_send(c, &r), BROKER_OK);
}

static void auth_stop(struct broker_conn *c, void *ctx)
{
    (void)c;
    struct auth_state *a = ctx;
    a->stops++;
}

static void test_auth_plugin(void **state)
{
    struct env *e = *state;
    struct auth_state a = {0};
    struct broker_auth auth = {"TEST-MECH", auth_start, auth_stop, &a};
    e->cfg.auth = &auth;
    struct broker_conn *c = connect_fake(e);
    // A request queued before READY must wait for the auth exchange.
    assert_int_equal(send_tagged(c, 9, &e->log, 0), BROKER_OK);
    e->log.stop_after = 1;
    net_reactor_run_for(e->r, 3000);
    assert_int_equal(a.starts, 1);
    assert_int_equal(a.stops, 1);
    assert_int_equal(a.log.n, 1);
    assert_int_equal(a.log.tag[0], 0xa0a0a0a0u);
    assert_int_equal(e->log.n, 1);
    assert_int_equal(e->log.tag[0], 9);
    assert_int_equal(e->f.nkeys, 2);
    assert_int_equal(e->f.keys[0], KP_API_SASL_HANDSHAKE);
    assert_int_equal(e->f.keys[1], KP_API_METADATA);
    broker_conn_free(c);
}

static void test_auth_failure_is_authn(void **state)
{
    struct env *e = *state;
    struct auth_state a = {.fail = true};
    struct broker_auth auth = {"TEST-MECH", auth_start, auth_stop, &a};
    e->cfg.auth = &auth;
    e->cfg.no_reconnect = true;
    struct broker_conn *c = connect_fake(e);
    assert_int_equal(send_tagged(c, 9, &e->log, 0), BROKER_OK);
    assert_true(run_until(&e->w, BROKER_CONN_CLOSED, 3000));
    assert_int_equal(e->w.last_fail.err, BROKER_ERR_AUTH);
    assert_true(broker_conn_event_is_authn(&e->w.last_fail));
    // "TEST-MECH authentication with broker 127.0.0.1:<port> failed: <reason>"
    assert_non_null(strstr(e->w.last_msg, "TEST-MECH authentication with broker 127.0.0.1:"));
    assert_non_null(strstr(e->w.last_msg, " failed: Authentication failed: invalid credentials"));
    assert_int_equal(a.stops, 1);
    assert_int_equal(e->log.n, 1); // the queued request was closed with the connection
    assert_int_equal(e->log.err[0], BROKER_ERR_CLOSED);
    broker_conn_free(c);
}

// ---- DNS: an in-process nameserver on 127.0.0.1 (evdns's server side) ----------------------

// The zone: broker1 -> 127.0.0.1; twobad -> 127.0.0.2, 127.0.0.3 (nobody listens there);
// badthengood -> 127.0.0.2, 127.0.0.1; slow -> never answered; anything else NXDOMAIN.
static void dns_cb(struct evdns_server_request *req, void *arg)
{
    struct env *e = arg;
    e->dns_queries++;
    bool any = false;
    for (int i = 0; i < req->nquestions; i++) {
        const struct evdns_server_question *q = req->questions[i];
        if (strcasecmp(q->name, "slow.kafka.test") == 0) {
            evdns_server_request_drop(req);
            return;
        }
        if (q->type != EVDNS_TYPE_A) {
            any = any || strcasecmp(q->name, "nosuch.kafka.test") != 0;
            continue;
        }
        struct in_addr a[2];
        int n = 0;
        if (strcasecmp(q->name, "broker1.kafka.test") == 0) {
            inet_pton(AF_INET, "127.0.0.1", &a[n++]);
        } else if (strcasecmp(q->name, "twobad.kafka.test") == 0) {
            inet_pton(AF_INET, "127.0.0.2", &a[n++]);
            inet_pton(AF_INET, "127.0.0.3", &a[n++]);
        } else if (strcasecmp(q->name, "badthengood.kafka.test") == 0) {
            inet_pton(AF_INET, "127.0.0.2", &a[n++]);
            inet_pton(AF_INET, "127.0.0.1", &a[n++]);
        }
        if (n > 0) {
            evdns_server_request_add_a_reply(req, q->name, n, a, 60);
            any = true;
        }
    }
    evdns_server_request_respond(req, any ? 0 : 3 /* NXDOMAIN */);
}

static int setup_dns(void **state)
{
    setup(state);
    struct env *e = *state;
    // Replace the reactor by one whose resolver asks our nameserver.
    fake_free(&e->f);
    net_reactor_free(e->r);
    e->dns_fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(e->dns_fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t sl = sizeof sin;
    getsockname(e->dns_fd, (struct sockaddr *)&sin, &sl);
    evutil_make_socket_nonblocking(e->dns_fd);
    char ns[32];
    snprintf(ns, sizeof ns, "127.0.0.1:%u", ntohs(sin.sin_port));
    struct net_reactor_config rc = {.nameserver = ns, .dns_timeout_ms = 500};
    e->r = net_reactor_new(&rc);
    assert_non_null(e->r);
    e->w.r = e->r;
    e->log.r = e->r;
    e->dns_port = evdns_add_server_port_with_base(net_reactor_base(e->r), e->dns_fd, 0, dns_cb, e);
    assert_non_null(e->dns_port);
    fake_start(&e->f, e->r);
    return 0;
}

static void test_dns_name(void **state)
{
    struct env *e = *state;
    struct broker_conn *c = broker_conn_new(e->r, "broker1.kafka.test", e->f.port, &e->cfg, &e->cb);
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000));
    assert_true(e->dns_queries >= 1);
    broker_conn_free(c);
}

static void test_dns_every_address_tried(void **state)
{
    struct env *e = *state;
    struct broker_conn *c =
        broker_conn_new(e->r, "badthengood.kafka.test", e->f.port, &e->cfg, &e->cb);
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000));
    assert_int_equal(e->f.accepts, 1);
    broker_conn_free(c);
    e->cfg.no_reconnect = true;
    c = broker_conn_new(e->r, "twobad.kafka.test", e->f.port, &e->cfg, &e->cb);
    assert_true(run_until(&e->w, BROKER_CONN_CLOSED, 3000));
    assert_int_equal(e->w.last_fail.err, BROKER_ERR_CONNECT);
    char want[200];
    snprintf(want, sizeof want,
             "cannot connect to twobad.kafka.test:%u (127.0.0.2: Connection refused; "
             "127.0.0.3: Connection refused)",
             e->f.port);
    assert_string_equal(e->w.last_msg, want);
    broker_conn_free(c);
}

static void test_dns_nxdomain(void **state)
{
    struct env *e = *state;
    e->cfg.no_reconnect = true;
    struct broker_conn *c = broker_conn_new(e->r, "nosuch.kafka.test", e->f.port, &e->cfg, &e->cb);
    assert_true(run_until(&e->w, BROKER_CONN_CLOSED, 3000));
    assert_int_equal(e->w.last_fail.err, BROKER_ERR_RESOLVE);
    assert_non_null(strstr(e->w.last_msg, "cannot resolve \"nosuch.kafka.test\": "));
    broker_conn_free(c);
}

static void test_dns_free_while_resolving(void **state)
{
    struct env *e = *state;
    struct broker_conn *c = broker_conn_new(e->r, "slow.kafka.test", e->f.port, &e->cfg, &e->cb);
    net_reactor_run_for(e->r, 100);
    assert_int_equal(broker_conn_state(c), BROKER_CONN_RESOLVING);
    broker_conn_free(c); // the pending lookup is cancelled; LeakSanitizer checks the rest
    net_reactor_run_for(e->r, 100);
}

static void test_ipv6_literal(void **state)
{
    struct env *e = *state;
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = in6addr_loopback;
    struct evconnlistener *l6 = evconnlistener_new_bind(e->f.base, fake_accept, &e->f,
                                                        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                                        16, (struct sockaddr *)&sin6, sizeof sin6);
    if (l6 == NULL) {
        skip(); // no IPv6 loopback on this machine
    }
    socklen_t sl = sizeof sin6;
    getsockname(evconnlistener_get_fd(l6), (struct sockaddr *)&sin6, &sl);
    uint16_t port = ntohs(sin6.sin6_port);
    struct broker_conn *c = broker_conn_new(e->r, "::1", port, &e->cfg, &e->cb);
    char want[32];
    snprintf(want, sizeof want, "[::1]:%u", port);
    assert_string_equal(broker_conn_name(c), want);
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000));
    assert_int_equal(e->f.accepts, 1);
    broker_conn_free(c);
    evconnlistener_free(l6);
}

static char captured[4096];
static void sink(enum kesm_log_level level, const char *line, void *ctx)
{
    (void)level;
    (void)ctx;
    size_t n = strlen(captured);
    snprintf(captured + n, sizeof captured - n, "%s\n", line);
}

static void test_log_format(void **state)
{
    (void)state;
    captured[0] = '\0';
    kesm_log_set_sink(sink, NULL);
    kesm_log_set_level(KESM_LOG_INFO);
    kesm_log(KESM_LOG_DEBUG, "net", "hidden");
    kesm_log(KESM_LOG_WARN, "net", "broker %s: two\nlines", "b1");
    kesm_log_set_level(KESM_LOG_ERROR);
    kesm_log_set_sink(NULL, NULL);
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                             "WARN net broker b1: two lines\n$",
                             REG_EXTENDED),
                     0);
    assert_int_equal(regexec(&re, captured, 0, NULL, 0), 0);
    regfree(&re);
    assert_int_equal(kesm_log_level_parse("warn"), KESM_LOG_WARN);
    assert_int_equal(kesm_log_level_parse("loud"), -1);

    char comp[KESM_LOG_COMPONENT_CAP];
    assert_string_equal(kesm_log_component(comp, sizeof comp, "net", NULL), "net");
    assert_string_equal(kesm_log_component(comp, sizeof comp, "net", ""), "net");
    assert_string_equal(kesm_log_component(comp, sizeof comp, "net", "mapping=u-1"),
                        "net mapping=u-1");
    // An over-long tag is cut at KESM_LOG_TAG_MAX; a short buffer cuts the whole component.
    char longtag[200];
    memset(longtag, 'x', sizeof longtag - 1);
    longtag[sizeof longtag - 1] = '\0';
    assert_int_equal(strlen(kesm_log_component(comp, sizeof comp, "consumer", longtag)),
                     strlen("consumer ") + KESM_LOG_TAG_MAX);
    char small[6];
    assert_string_equal(kesm_log_component(small, sizeof small, "consumer", "mapping=u"), "consu");
}

static void test_state_log_lines(void **state)
{
    struct env *e = *state;
    captured[0] = '\0';
    kesm_log_set_sink(sink, NULL);
    kesm_log_set_level(KESM_LOG_INFO);
    struct broker_conn *c = connect_fake(e);
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000));
    broker_conn_free(c);
    kesm_log_set_level(KESM_LOG_ERROR);
    kesm_log_set_sink(NULL, NULL);
    char want[128];
    snprintf(want, sizeof want, "INFO net broker 127.0.0.1:%u: API_VERSIONS -> READY", e->f.port);
    assert_non_null(strstr(captured, want));
    assert_non_null(strstr(captured, "RESOLVING -> CONNECTING"));
}

// A connection made with a log tag puts it in the component of every line it writes, and the
// tag is copied: the caller's buffer may change or go away after broker_conn_new.
static void test_state_log_lines_tagged(void **state)
{
    struct env *e = *state;
    captured[0] = '\0';
    kesm_log_set_sink(sink, NULL);
    kesm_log_set_level(KESM_LOG_INFO);
    char tag[32] = "mapping=3f2a-test";
    e->cfg.log_tag = tag;
    struct broker_conn *c = connect_fake(e);
    e->cfg.log_tag = NULL;
    memset(tag, 'Z', sizeof tag - 1);
    assert_string_equal(broker_conn_log_component(c), "net mapping=3f2a-test");
    assert_true(run_until(&e->w, BROKER_CONN_READY, 3000));
    broker_conn_free(c);
    kesm_log_set_level(KESM_LOG_ERROR);
    kesm_log_set_sink(NULL, NULL);
    char want[128];
    snprintf(want, sizeof want,
             "INFO net mapping=3f2a-test broker 127.0.0.1:%u: API_VERSIONS -> READY", e->f.port);
    assert_non_null(strstr(captured, want));
    // every line this connection wrote carries the tag
    size_t lines = 0;
    for (const char *p = captured; *p != '\0'; lines++) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(nl - p), p);
        assert_non_null(strstr(line, " net mapping=3f2a-test broker "));
        p = nl + 1;
    }
    assert_true(lines >= 3);
    assert_null(strstr(captured, "ZZZ"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_negotiate_with_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_log_lines_tagged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negotiate_v3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negotiate_garbage_retries_v0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_required_api_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_bound_and_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_fails_inflight_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frame_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_mid_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_correlation_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_response_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_timeout_and_free_while_connecting, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused_backoff_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_localhost_and_down_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_close_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_plugin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_failure_is_authn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns_name, setup_dns, teardown),
        cmocka_unit_test_setup_teardown(test_dns_every_address_tried, setup_dns, teardown),
        cmocka_unit_test_setup_teardown(test_dns_nxdomain, setup_dns, teardown),
        cmocka_unit_test_setup_teardown(test_dns_free_while_resolving, setup_dns, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_literal, setup, teardown),
        cmocka_unit_test(test_log_format),
        cmocka_unit_test_setup_teardown(test_state_log_lines, setup, teardown),
    };
    return cmocka_run_group_tests_name("broker_conn", tests, NULL, NULL);
}
