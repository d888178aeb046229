// test_broker_sasl.c: broker/sasl.h driving PLAIN through a connection against an in-process SASL
// broker on 127.0.0.1: KIP-368 re-authentication of a busy connection (nothing lost, nothing
// written mid-exchange, the 85-95% window), a refused re-authentication, the plaintext policy,
// failure messages for each broker error (58, 33, 34), the authentication backoff floor, and that
// no log line carries the password. The fake runs on the connection's reactor, so tests are bounded
// by the run deadline.
#include "base/log.h"
#include "broker/conn.h"
#include "broker/sasl.h"
#include "net/internal.h"
#include "net/reactor.h"
#include "proto/api.h"
#include "proto/kr.h"
#include "proto/kw.h"
#include "tests/lib/unit.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER "alice"
#define PASSWORD "alice-s3cret-pw"

// ---- fake SASL broker ------------------------------------------------------------------------

struct pending;

struct fake {
    struct net_reactor *r;
    struct pending *pending; // echo answers waiting for their delay, oldest first
    struct evconnlistener *lis;
    struct bufferevent *bev; // the one client
    uint16_t port;
    // behaviour
    int64_t lifetime_ms;    // SessionLifetimeMs granted
    int refuse_after;       // refuse authentications after this many succeeded (0 = never)
    bool scram_only;        // enable only SCRAM-SHA-512 (PLAIN gets error 33)
    bool illegal_state;     // answer SaslAuthenticate with error 34
    uint32_t echo_delay_ms; // delay of Metadata answers (keeps requests in flight)
    // state
    bool authenticated, in_exchange;
    uint64_t expiry; // reactor ms; 0 = none
    int outstanding; // Metadata answers not yet sent
    // observations
    int accepts, handshakes, auths, echoes;
    int violations; // a request written when it must not be (mid-exchange, or undrained)
    int expired;    // requests after the session expired (closed, as Kafka does)
    char why[200];
};

struct pending {
    struct pending *next;
    struct fake *f;
    struct net_timer *t;
    kw w;
};

static void violation(struct fake *f, const char *what)
{
    f->violations++;
    snprintf(f->why, sizeof f->why, "%s", what);
}

static void fake_close(struct fake *f)
{
    if (f->bev != NULL) {
        bufferevent_free(f->bev);
        f->bev = NULL;
    }
}

static void closing_flushed(struct bufferevent *bev, void *arg)
{
    (void)arg;
    bufferevent_free(bev);
}

static void closing_event(struct bufferevent *bev, short what, void *arg)
{
    (void)what;
    (void)arg;
    bufferevent_free(bev);
}

// fake_close_flushed closes the client once what was written has gone out, as a broker does
// after an authentication error.
static void fake_close_flushed(struct fake *f)
{
    struct bufferevent *bev = f->bev;
    f->bev = NULL;
    bufferevent_disable(bev, EV_READ);
    bufferevent_setcb(bev, NULL, closing_flushed, closing_event, NULL);
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        bufferevent_free(bev);
    }
}

// pending_fire sends the answers due, oldest first: equal delays may fire in any order, and a
// broker answers in request order.
static void pending_fire(void *ctx)
{
    struct pending *due = ctx;
    struct fake *f = due->f;
    for (;;) {
        struct pending *p = f->pending;
        f->pending = p->next;
        if (f->bev != NULL) {
            bufferevent_write(f->bev, kw_data(&p->w), kw_len(&p->w));
        }
        f->outstanding--;
        bool last = p == due;
        kw_cleanup(&p->w);
        net_timer_free(p->t); // may be the timer running now: allowed
        free(p);
        if (last) {
            return;
        }
    }
}

static void begin_resp(kw *w, size_t *pos, int32_t corr)
{
    kw_init_grow(w);
    kw_begin_size32(w, pos);
    kw_i32(w, corr);
}

static void send_resp(struct fake *f, kw *w, size_t pos)
{
    kw_end_size32(w, pos);
    bufferevent_write(f->bev, kw_data(w), kw_len(w));
    kw_cleanup(w);
}

static void api_versions(struct fake *f, int16_t version, int32_t corr)
{
    kw w;
    size_t pos;
    begin_resp(&w, &pos, corr);
    if (version >= 3) { // UNSUPPORTED_VERSION in the v0 layout, as brokers do
        kw_i16(&w, 35);
        kw_i32(&w, 1);
        kw_i16(&w, KP_API_API_VERSIONS);
        kw_i16(&w, 0);
        kw_i16(&w, 2);
    } else {
        const int16_t keys[][3] = {{KP_API_METADATA, 0, 2},
                                   {KP_API_SASL_HANDSHAKE, 0, 1},
                                   {KP_API_SASL_AUTHENTICATE, 0, 1},
                                   {KP_API_API_VERSIONS, 0, 2}};
        kw_i16(&w, 0);
        kw_i32(&w, 4);
        for (int i = 0; i < 4; i++) {
            kw_i16(&w, keys[i][0]);
            kw_i16(&w, keys[i][1]);
            kw_i16(&w, keys[i][2]);
        }
        if (version >= 1) {
            kw_i32(&w, 0);
        }
    }
    send_resp(f, &w, pos);
}

static void handshake(struct fake *f, kr *body, int32_t corr)
{
    kr mech;
    assert_true(kr_str(body, &mech, NULL));
    f->handshakes++;
    if (f->outstanding > 0) {
        violation(f, "SaslHandshake while requests were in flight");
    }
    bool plain = kr_left(&mech) == 5 && memcmp(mech.p, "PLAIN", 5) == 0;
    kw w;
    size_t pos;
    begin_resp(&w, &pos, corr);
    kw_i16(&w, plain && !f->scram_only ? 0 : 33);
    kw_i32(&w, 1);
    kw_str(&w, f->scram_only ? "SCRAM-SHA-512" : "PLAIN");
    send_resp(f, &w, pos);
    f->in_exchange = true;
}

static void authenticate(struct fake *f, kr *body, int16_t version, int32_t corr)
{
    kr tok;
    assert_true(kr_bytes(body, &tok, NULL));
    static const char want[] = "\0" USER "\0" PASSWORD;
    bool good = kr_left(&tok) == sizeof want - 1 && memcmp(tok.p, want, sizeof want - 1) == 0;
    bool refuse = f->refuse_after > 0 && f->auths >= f->refuse_after;
    int16_t code = f->illegal_state ? 34 : (good && !refuse ? 0 : 58);
    kw w;
    size_t pos;
    begin_resp(&w, &pos, corr);
    kw_i16(&w, code);
    kw_str(&w, code == 0    ? NULL
               : code == 34 ? "Unexpected SASL request"
                            : "Authentication failed: Invalid username or password");
    kw_bytes(&w, "", 0);
    if (version >= 1) {
        kw_i64(&w, code == 0 ? f->lifetime_ms : 0);
    }
    send_resp(f, &w, pos);
    f->in_exchange = false;
    if (code != 0) {
        fake_close_flushed(f);
        return;
    }
    f->auths++;
    f->authenticated = true;
    f->expiry = f->lifetime_ms > 0 ? net_reactor_now_ms(f->r) + (uint64_t)f->lifetime_ms : 0;
}

static void echo(struct fake *f, const kr *frame, int32_t corr)
{
    f->echoes++;
    struct pending *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->f = f;
    size_t pos;
    begin_resp(&p->w, &pos, corr);
    kw_raw(&p->w, frame->p, kr_left(frame));
    kw_end_size32(&p->w, pos);
    f->outstanding++;
    p->t = net_timer_new(f->r, pending_fire, p);
    net_timer_arm(p->t, f->echo_delay_ms);
    struct pending **tail = &f->pending;
    while (*tail != NULL) {
        tail = &(*tail)->next;
    }
    *tail = p;
}

// request handles one frame; returns false when the client was closed.
static bool request(struct fake *f, kr *frame)
{
    struct kp_req_hdr h;
    struct kp_err e = {0};
    assert_int_equal(kp_req_hdr_parse(frame, &h, &e), KP_OK);
    // As Kafka does: after expiry any request, a re-authentication's SaslHandshake included,
    // closes the connection.
    if (f->expiry != 0 && net_reactor_now_ms(f->r) > f->expiry) {
        f->expired++;
        fake_close(f);
        return false;
    }
    switch (h.api_key) {
    case KP_API_API_VERSIONS:
        api_versions(f, h.api_version, h.correlation_id);
        return true;
    case KP_API_SASL_HANDSHAKE:
        handshake(f, frame, h.correlation_id);
        return true;
    case KP_API_SASL_AUTHENTICATE:
        authenticate(f, frame, h.api_version, h.correlation_id);
        return f->bev != NULL;
    default:
        break;
    }
    if (!f->authenticated) {
        violation(f, "request before authentication");
        fake_close(f);
        return false;
    }
    if (f->in_exchange) {
        violation(f, "request written during the re-authentication exchange");
    }
    echo(f, frame, h.correlation_id);
    return true;
}

static void fake_read(struct bufferevent *bev, void *arg)
{
    struct fake *f = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (f->bev != NULL) {
        size_t have = evbuffer_get_length(in);
        uint8_t hdr[4];
        if (have < 4 || evbuffer_copyout(in, hdr, 4) != 4) {
            return;
        }
        size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
        if (have < 4 + n) {
            return;
        }
        uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)(4 + n));
        kr frame;
        kr_init(&frame, p + 4, n);
        if (!request(f, &frame)) {
            return;
        }
        evbuffer_drain(in, 4 + n);
    }
}

static void fake_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        fake_close(arg);
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
    fake_close(f);
    f->authenticated = false;
    f->in_exchange = false;
    f->expiry = 0;
    f->bev = bufferevent_socket_new(net_reactor_base(f->r), fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(f->bev, fake_read, NULL, fake_event, f);
    bufferevent_enable(f->bev, EV_READ | EV_WRITE);
}

static void fake_start(struct fake *f, struct net_reactor *r)
{
    memset(f, 0, sizeof *f);
    f->r = r;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->lis = evconnlistener_new_bind(net_reactor_base(r), fake_accept, f,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 4,
                                     (struct sockaddr *)&sin, sizeof sin);
    assert_non_null(f->lis);
    struct sockaddr_in bound;
    socklen_t bl = sizeof bound;
    getsockname(evconnlistener_get_fd(f->lis), (struct sockaddr *)&bound, &bl);
    f->port = ntohs(bound.sin_port);
}

// ---- client side -------------------------------------------------------------------------------

struct env {
    struct net_reactor *r;
    struct fake f;
    struct broker_sasl *sasl;
    struct broker_conn *c;
    struct broker_conn_config cfg;
    // events
    int readies, fails;
    struct broker_conn_event last_fail;
    char last_msg[600];
    bool stop_on_fail, stop_on_ready;
    // a busy client: keeps |window| requests outstanding until |goal| answers
    int window, goal, sent, ok, errors;
    char first_error[300];
    // captured log lines
    int log_lines, log_secret, log_warn_plaintext, log_reauth;
    bool log_echo; // KESM_TEST_LOG set: copy each line to stderr
};

static void log_sink(enum kesm_log_level level, const char *line, void *ctx)
{
    struct env *e = ctx;
    e->log_lines++;
    if (e->log_echo) {
        fprintf(stderr, "%s\n", line);
    }
    if (strstr(line, PASSWORD) != NULL) {
        e->log_secret++;
    }
    if (level == KESM_LOG_WARN && strstr(line, "plaintext connection") != NULL) {
        e->log_warn_plaintext++;
    }
    if (strstr(line, "re-authenticated with PLAIN as " USER) != NULL) {
        e->log_reauth++;
    }
}

static void on_state(struct broker_conn *c, const struct broker_conn_event *ev, void *ctx)
{
    (void)c;
    struct env *e = ctx;
    if (ev->to == BROKER_CONN_READY) {
        e->readies++;
        if (e->stop_on_ready) {
            net_reactor_stop(e->r);
        }
    }
    if (ev->err != BROKER_OK) {
        e->fails++;
        e->last_fail = *ev;
        snprintf(e->last_msg, sizeof e->last_msg, "%s", ev->msg ? ev->msg : "");
        e->last_fail.msg = e->last_msg;
        if (e->stop_on_fail) {
            net_reactor_stop(e->r);
        }
    }
}

static void send_one(struct env *e);

static void on_resp(struct broker_conn *c, const struct broker_resp *resp, void *ctx)
{
    (void)c;
    struct env *e = ctx;
    if (resp->err == BROKER_OK) {
        e->ok++;
    } else {
        if (e->errors++ == 0) {
            snprintf(e->first_error, sizeof e->first_error, "%s", resp->msg);
        }
    }
    if (e->ok + e->errors >= e->goal) {
        net_reactor_stop(e->r);
    } else if (e->sent < e->goal && resp->err != BROKER_ERR_CLOSED) {
        send_one(e);
    }
}

static void send_one(struct env *e)
{
    uint8_t body[4] = {0, 0, 0, (uint8_t)e->sent};
    int rc = broker_conn_send_body(e->c, KP_API_METADATA, 1, body, sizeof body, on_resp, e);
    assert_int_equal(rc, BROKER_OK);
    e->sent++;
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    assert_non_null(e);
    // Every line is captured at debug level (to look for the password); KESM_TEST_LOG=1 also
    // shows them on stderr while debugging a test.
    e->log_echo = getenv("KESM_TEST_LOG") != NULL;
    kesm_log_set_level(KESM_LOG_DEBUG);
    kesm_log_set_sink(log_sink, e);
    e->r = net_reactor_new(NULL);
    assert_non_null(e->r);
    fake_start(&e->f, e->r);
    e->cfg.backoff_initial_ms = 20;
    e->cfg.backoff_max_ms = 80;
    e->cfg.handshake_timeout_ms = 2000;
    e->cfg.request_timeout_ms = 3000;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    broker_conn_free(e->c);
    broker_sasl_free(e->sasl);
    if (e->f.lis != NULL) {
        evconnlistener_free(e->f.lis);
    }
    fake_close(&e->f);
    // Pending echo timers belong to the reactor; run it briefly so they fire and free themselves.
    net_reactor_run_for(e->r, e->f.echo_delay_ms + 20);
    net_reactor_free(e->r);
    kesm_log_set_sink(NULL, NULL);
    kesm_log_set_level(KESM_LOG_ERROR);
    free(e);
    return 0;
}

static void make_sasl(struct env *e, const char *mech, const char *password, bool allow_plaintext)
{
    struct broker_sasl_config sc = {.mechanism = mech,
                                    .user = USER,
                                    .password = password,
                                    .tls = false,
                                    .allow_plaintext = allow_plaintext};
    char err[300];
    e->sasl = broker_sasl_new_config(&sc, err, sizeof err);
    assert_non_null(e->sasl);
    e->cfg.auth = broker_sasl_auth(e->sasl);
}

static void connect_fake(struct env *e)
{
    struct broker_conn_callbacks cb = {on_state, e};
    e->c = broker_conn_new(e->r, "127.0.0.1", e->f.port, &e->cfg, &cb);
}

// ---- re-authentication -------------------------------------------------------------------------

// A connection kept busy (8 requests outstanding, each answered 15 ms later) across about three
// 2 s sessions re-authenticates before each expires and never loses or errors a request.
static void test_reauth_busy_connection(void **state)
{
    struct env *e = *state;
    e->f.lifetime_ms = 2000;
    e->f.echo_delay_ms = 15;
    make_sasl(e, "PLAIN", PASSWORD, true);
    connect_fake(e);
    e->goal = 3600; // 450 rounds of 15 ms: 6.75 s
    e->window = 8;
    for (int i = 0; i < e->window; i++) {
        send_one(e);
    }
    net_reactor_run_for(e->r, 20000);
    struct broker_conn_stats st;
    broker_conn_get_stats(e->c, &st);
    struct broker_sasl_stats ss;
    broker_sasl_get_stats(e->sasl, &ss);
    assert_string_equal(e->first_error, "");
    assert_int_equal(e->ok, e->goal);
    assert_int_equal(e->errors, 0);
    assert_int_equal(e->f.violations, 0);
    assert_int_equal(e->f.expired, 0);
    assert_int_equal(e->f.accepts, 1); // one TCP connection throughout
    assert_int_equal(e->fails, 0);
    assert_true(st.reauths >= 3);
    assert_int_equal(ss.reauths, st.reauths);
    assert_int_equal(e->f.auths, (int)st.reauths + 1);
    assert_int_equal(e->f.handshakes, e->f.auths);
    assert_int_equal(e->log_reauth, (int)st.reauths);
    assert_int_equal(e->log_secret, 0);
}

// The re-authentication is scheduled within [85%, 95%] of the lifetime, at a random point.
static void test_reauth_window(void **state)
{
    struct env *e = *state;
    e->f.lifetime_ms = 100000;
    make_sasl(e, "PLAIN", PASSWORD, true);
    e->stop_on_ready = true;
    uint32_t lo = UINT32_MAX, hi = 0;
    for (int i = 0; i < 6; i++) {
        connect_fake(e);
        net_reactor_run_for(e->r, 3000);
        struct broker_conn_stats st;
        broker_conn_get_stats(e->c, &st);
        assert_true(st.reauth_ms >= 85000 && st.reauth_ms <= 95000);
        lo = st.reauth_ms < lo ? st.reauth_ms : lo;
        hi = st.reauth_ms > hi ? st.reauth_ms : hi;
        broker_conn_free(e->c);
        e->c = NULL;
    }
    assert_int_equal(e->readies, 6);
    assert_true(hi > lo); // jittered, not a constant
}

// Without KIP-368 support a client is disconnected once its session expires: the fake, like Kafka,
// closes the connection on the first request after expiry, and the client reconnects.
static void test_no_reauth_is_disconnected(void **state)
{
    struct env *e = *state;
    e->f.lifetime_ms = 200;
    struct broker_sasl_config sc = {.mechanism = "PLAIN",
                                    .user = USER,
                                    .password = PASSWORD,
                                    .allow_plaintext = true,
                                    .ignore_session_lifetime = true};
    char err[300];
    e->sasl = broker_sasl_new_config(&sc, err, sizeof err);
    assert_non_null(e->sasl);
    e->cfg.auth = broker_sasl_auth(e->sasl);
    connect_fake(e);
    e->stop_on_fail = true;
    e->goal = 1000;
    send_one(e);
    e->f.echo_delay_ms = 50;
    net_reactor_run_for(e->r, 5000);
    assert_true(e->f.expired >= 1);
    assert_int_equal(e->last_fail.err, BROKER_ERR_DISCONNECTED);
    struct broker_conn_stats st;
    broker_conn_get_stats(e->c, &st);
    assert_int_equal(st.reauths, 0);
}

// While the consumer has paused reading, a re-authentication still reads its own exchange; the
// requests sent meanwhile go out after it, and their answers wait for broker_conn_resume.
static void test_reauth_while_paused(void **state)
{
    struct env *e = *state;
    e->f.lifetime_ms = 200;
    make_sasl(e, "PLAIN", PASSWORD, true);
    e->stop_on_ready = true;
    connect_fake(e);
    net_reactor_run_for(e->r, 3000);
    assert_int_equal(e->readies, 1);
    broker_conn_pause(e->c);
    net_reactor_run_for(e->r, 500); // two lifetimes, paused
    struct broker_conn_stats st;
    broker_conn_get_stats(e->c, &st);
    assert_true(st.reauths >= 1);
    e->goal = 1;
    send_one(e);
    net_reactor_run_for(e->r, 100);
    assert_int_equal(e->ok, 0); // paused: not dispatched
    assert_int_equal(e->f.echoes, 1);
    broker_conn_resume(e->c);
    net_reactor_run_for(e->r, 2000);
    assert_int_equal(e->ok, 1);
    assert_int_equal(e->f.violations, 0);
    assert_int_equal(e->f.expired, 0);
    assert_int_equal(e->f.accepts, 1);
    assert_int_equal(e->fails, 0);
}

// A refused re-authentication drops the connection as an authentication error.
static void test_reauth_refused(void **state)
{
    struct env *e = *state;
    e->f.lifetime_ms = 300;
    e->f.refuse_after = 1;
    e->f.echo_delay_ms = 20;
    make_sasl(e, "PLAIN", PASSWORD, true);
    connect_fake(e);
    e->stop_on_fail = true;
    e->goal = 1000;
    send_one(e);
    send_one(e);
    net_reactor_run_for(e->r, 5000);
    assert_int_equal(e->last_fail.err, BROKER_ERR_AUTH);
    assert_true(broker_conn_event_is_authn(&e->last_fail));
    assert_non_null(strstr(e->last_msg, "PLAIN re-authentication with broker 127.0.0.1:"));
    assert_non_null(strstr(e->last_msg, " failed: SASL_AUTHENTICATION_FAILED (58): "
                                        "Authentication failed: Invalid username or password"));
    assert_int_equal(e->f.violations, 0);
    assert_int_equal(e->errors, 0); // nothing was on the wire when the exchange failed
    assert_int_equal(e->log_secret, 0);
}

// ---- policy, classification, backoff ---------------------------------------------------------

static void test_plaintext_policy(void **state)
{
    struct env *e = *state;
    char err[300] = "";
    const char *mechs[] = {"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"};
    for (size_t i = 0; i < 3; i++) {
        struct broker_sasl_config sc = {
            .mechanism = mechs[i], .user = USER, .password = PASSWORD, .tls = false};
        assert_null(broker_sasl_new_config(&sc, err, sizeof err));
        char want[200];
        snprintf(want, sizeof want,
                 "SASL: %s refused over a plaintext connection (no TLS): set allow_plaintext to "
                 "send credentials unencrypted",
                 mechs[i]);
        assert_string_equal(err, want);
        sc.tls = true;
        struct broker_sasl *ok = broker_sasl_new_config(&sc, err, sizeof err);
        assert_non_null(ok);
        broker_sasl_free(ok);
    }
    // broker_sasl_new (transport unknown) on a plaintext connection: refused when AUTH starts,
    // before any credential is sent.
    e->sasl = broker_sasl_new("PLAIN", USER, PASSWORD, 0, err, sizeof err);
    assert_non_null(e->sasl);
    e->cfg.auth = broker_sasl_auth(e->sasl);
    e->cfg.no_reconnect = true;
    e->stop_on_fail = true;
    connect_fake(e);
    net_reactor_run_for(e->r, 3000);
    assert_int_equal(e->last_fail.err, BROKER_ERR_AUTH);
    assert_non_null(strstr(e->last_msg, "failed: PLAIN refused over a plaintext connection"));
    assert_int_equal(e->f.handshakes, 0);
}

// With allow_plaintext every connect logs one WARN line.
static void test_plaintext_opt_in_warns(void **state)
{
    struct env *e = *state;
    make_sasl(e, "PLAIN", PASSWORD, true);
    e->stop_on_ready = true;
    for (int i = 0; i < 2; i++) {
        connect_fake(e);
        net_reactor_run_for(e->r, 3000);
        broker_conn_free(e->c);
        e->c = NULL;
    }
    assert_int_equal(e->readies, 2);
    assert_int_equal(e->log_warn_plaintext, 2);
}

static void expect_auth_failure(struct env *e, const char *want)
{
    e->cfg.no_reconnect = true;
    e->stop_on_fail = true;
    connect_fake(e);
    net_reactor_run_for(e->r, 3000);
    assert_int_equal(e->last_fail.err, BROKER_ERR_AUTH);
    assert_true(broker_conn_event_is_authn(&e->last_fail));
    if (strstr(e->last_msg, want) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", e->last_msg, want);
    }
    assert_non_null(strstr(e->last_msg, "authentication with broker 127.0.0.1:"));
    assert_int_equal(e->log_secret, 0);
}

static void test_wrong_password(void **state)
{
    struct env *e = *state;
    make_sasl(e, "PLAIN", "not-the-password", true);
    expect_auth_failure(e, "failed: SASL_AUTHENTICATION_FAILED (58): Authentication failed: "
                           "Invalid username or password");
}

static void test_unsupported_mechanism(void **state)
{
    struct env *e = *state;
    e->f.scram_only = true;
    make_sasl(e, "PLAIN", PASSWORD, true);
    expect_auth_failure(e, "failed: UNSUPPORTED_SASL_MECHANISM (33): the broker does not enable "
                           "PLAIN (enabled: SCRAM-SHA-512)");
}

static void test_illegal_sasl_state(void **state)
{
    struct env *e = *state;
    e->f.illegal_state = true;
    make_sasl(e, "PLAIN", PASSWORD, true);
    expect_auth_failure(e, "failed: ILLEGAL_SASL_STATE (34): Unexpected SASL request");
}

// Authentication failures back off from 1 s (+-20%), not from backoff_initial_ms (20 ms here).
static void test_auth_backoff_floor(void **state)
{
    struct env *e = *state;
    make_sasl(e, "PLAIN", "not-the-password", true);
    e->stop_on_fail = true;
    connect_fake(e);
    net_reactor_run_for(e->r, 3000);
    assert_int_equal(e->last_fail.err, BROKER_ERR_AUTH);
    struct broker_conn_stats st;
    broker_conn_get_stats(e->c, &st);
    assert_true(st.backoff_ms >= 800 && st.backoff_ms <= 1200);
    // The auth floor doubles to its cap: with auth_backoff_max_ms 1500 the third wait is capped.
    broker_conn_free(e->c);
    e->cfg.auth_backoff_initial_ms = 600;
    e->cfg.auth_backoff_max_ms = 1500;
    connect_fake(e);
    uint32_t seen[3] = {0};
    for (int i = 0; i < 3; i++) {
        net_reactor_run_for(e->r, 4000);
        broker_conn_get_stats(e->c, &st);
        seen[i] = st.backoff_ms;
    }
    assert_true(seen[0] >= 480 && seen[0] <= 720);
    assert_true(seen[1] >= 960 && seen[1] <= 1440);
    assert_true(seen[2] >= 1200 && seen[2] <= 1800);
    assert_int_equal(e->f.auths, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reauth_busy_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reauth_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_reauth_is_disconnected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reauth_while_paused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reauth_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plaintext_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plaintext_opt_in_warns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_mechanism, setup, teardown),
        cmocka_unit_test_setup_teardown(test_illegal_sasl_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_backoff_floor, setup, teardown),
    };
    return cmocka_run_group_tests_name("broker_sasl", tests, NULL, NULL);
}
