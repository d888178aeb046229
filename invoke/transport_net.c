// transport_net.c: the engine shared by the network transports (submit, retries with backoff
// and jitter, the serial gate; see transport_net.h). Results are classified in transport_http.c.
#include "base/alloc.h"
#include "base/log.h"
#include "invoke/transport_net_int.h"
#include "net/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct call {
    struct net_transport *t;
    struct call *next;
    uint64_t id;
    inv_done_fn *done;
    void *ctx;
    const char *payload;
    size_t len;
    uint32_t attempt;    // attempts started
    bool too_large;      // above the flavour's request limit: answered without sending
    bool waiting;        // serial: the next attempt waits for the endpoint to be free
    uint64_t http_id;    // 0 when no request is in flight
    uint64_t creds_wait; // 0 unless waiting for AWS credentials
    struct net_timer *backoff;
    struct net_timer *deadline; // serial: the invocation timeout of the attempt in flight
};

static uint32_t rnd(struct net_transport *t)
{
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return (uint32_t)(t->rng >> 11);
}

// ---- calls ------------------------------------------------------------------------------------

static void call_unlink_free(struct call *c)
{
    if (c->creds_wait != 0) {
        inv_aws_creds_cancel(c->t->flavour->aws(c->t->state), c->creds_wait);
    }
    for (struct call **pp = &c->t->calls; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    net_timer_free(c->backoff);
    net_timer_free(c->deadline);
    free(c);
}

// call_finish frees |c| and reports |res|. The done callback may free the transport: nothing may
// touch it afterwards.
static void call_finish(struct call *c, const struct inv_result *res)
{
    inv_done_fn *done = c->done;
    void *ctx = c->ctx;
    uint64_t id = c->id;
    call_unlink_free(c);
    done(ctx, id, res);
}

static void finish_with(struct call *c, enum inv_result_kind kind, const char *msg)
{
    struct inv_result r;
    inv_result_init(&r);
    inv_net_set_result(&r, kind, -1, msg);
    call_finish(c, &r);
    inv_result_cleanup(&r);
}

static void on_http_done(void *ctx, uint64_t http_id, const struct net_http_response *resp);

static void on_creds(void *ctx, const struct inv_creds *creds, const char *err, bool permanent);

// endpoint_busy: a request of this transport is at the endpoint (serial mode's gate).
static bool endpoint_busy(const struct net_transport *t)
{
    if (t->abandoned_id != 0) {
        return true;
    }
    for (const struct call *c = t->calls; c != NULL; c = c->next) {
        if (c->http_id != 0) {
            return true;
        }
    }
    return false;
}

static void note_endpoint(struct net_transport *t, const char *url)
{
    struct net_http_url u;
    char e[16];
    if (net_http_url_parse(&u, url, e, sizeof e) == 0) {
        snprintf(t->endpoint, sizeof t->endpoint, "%s://%s", u.tls ? "https" : "http",
                 u.host_header);
    }
}

// start_attempt sends the next attempt of |c|, or (serial, endpoint busy) marks it waiting.
static int start_attempt(struct call *c, struct inv_err *err)
{
    struct net_transport *t = c->t;
    if (t->serial && endpoint_busy(t)) {
        c->waiting = true;
        return 0;
    }
    c->waiting = false;
    struct inv_aws *aws = t->flavour->aws ? t->flavour->aws(t->state) : NULL;
    if (aws != NULL && inv_aws_creds_peek(aws) == NULL) {
        c->creds_wait = inv_aws_creds_get(aws, on_creds, c); // signed once they are there
        return 0;
    }
    struct inv_net_prepared p = {0};
    if (t->flavour->prepare(t->state, c->payload, c->len, &p, err) != 0) {
        inv_net_prepared_cleanup(&p);
        return -1;
    }
    note_endpoint(t, p.url);
    struct net_http_header hs[INV_NET_MAX_HEADERS];
    for (size_t i = 0; i < p.num_headers; i++) {
        hs[i].name = p.names[i];
        hs[i].value = p.values[i];
    }
    struct net_http_request rq = {
        .method = "POST",
        .url = p.url,
        .headers = hs,
        .num_headers = p.num_headers,
        .body = c->payload,
        .body_len = c->len,
        // Serial: the transport's own deadline ends the invocation; the request lives on (kept
        // open, abandoned) at most abandon_wait_ms longer.
        .timeout_ms = t->opts.timeout_ms + (t->serial ? t->opts.abandon_wait_ms : 0),
    };
    char e[256];
    int rc = net_http_request(t->http, &rq, on_http_done, t, &c->http_id, e, sizeof e);
    inv_net_prepared_cleanup(&p);
    if (rc != 0) {
        return inv_fail(err, -1, "%s: %s", t->flavour->name, e);
    }
    c->attempt++;
    if (t->serial) {
        net_timer_arm(c->deadline, t->opts.timeout_ms);
    }
    return 0;
}

// run_attempt starts the next attempt of |c| from a timer; a failure to start ends the call.
static void run_attempt(struct call *c)
{
    struct inv_err err = {{0}};
    if (start_attempt(c, &err) != 0) {
        finish_with(c, INV_RESULT_FATAL, err.msg);
    }
}

static void on_backoff(void *arg)
{
    struct call *c = arg;
    if (c->too_large) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "payload of %zu bytes is above the %zu-byte limit of a synchronous invocation: "
                 "split the batch",
                 c->len, c->t->flavour->max_request);
        finish_with(c, INV_RESULT_TOO_LARGE, msg);
        return;
    }
    run_attempt(c);
}

// on_resume (serial) starts the oldest waiting call once nothing is at the endpoint.
static void on_resume(void *arg)
{
    struct net_transport *t = arg;
    if (endpoint_busy(t)) {
        return;
    }
    struct call *oldest = NULL;
    for (struct call *c = t->calls; c != NULL; c = c->next) {
        if (c->waiting && (oldest == NULL || c->id < oldest->id)) {
            oldest = c;
        }
    }
    if (oldest != NULL) {
        run_attempt(oldest);
    }
}

static void on_creds(void *ctx, const struct inv_creds *creds, const char *err, bool permanent)
{
    struct call *c = ctx;
    c->creds_wait = 0;
    struct inv_err e = {{0}};
    if (creds != NULL && start_attempt(c, &e) == 0) {
        return;
    }
    struct inv_result r;
    inv_result_init(&r);
    char msg[600];
    snprintf(msg, sizeof msg, "%s", creds != NULL ? e.msg : err);
    inv_net_set_result(&r, creds == NULL && !permanent ? INV_RESULT_RETRYABLE : INV_RESULT_FATAL,
                       -1, msg);
    call_finish(c, &r);
    inv_result_cleanup(&r);
}

// on_attempt_done classifies one attempt's outcome: a retry after a backoff, or the call's result.
static void on_attempt_done(struct call *c, const struct net_http_response *resp)
{
    struct net_transport *t = c->t;
    struct inv_result r;
    inv_result_init(&r);
    bool retry;
    uint32_t retry_after;
    inv_net_classify(t, resp, &r, &retry, &retry_after);
    if (retry && c->attempt < t->opts.max_attempts) {
        uint64_t d = (uint64_t)t->opts.backoff_initial_ms
                     << (c->attempt - 1 < 20 ? c->attempt - 1 : 20);
        if (d > t->opts.backoff_max_ms) {
            d = t->opts.backoff_max_ms;
        }
        d = d / 2 + (d > 1 ? rnd(t) % (d - d / 2 + 1) : 0);
        if (retry_after > d) {
            d = retry_after < t->opts.backoff_max_ms ? retry_after : t->opts.backoff_max_ms;
        }
        kesm_log(KESM_LOG_INFO, t->log,
                 "%s: attempt %u of %u at %s failed (%s); retrying in %llu ms", t->flavour->name,
                 c->attempt, t->opts.max_attempts, t->endpoint, r.message, (unsigned long long)d);
        inv_result_cleanup(&r);
        net_timer_arm(c->backoff, d);
        return;
    }
    if (retry) {
        char msg[700];
        snprintf(msg, sizeof msg, "gave up after %u attempts at %s: %s", c->attempt, t->endpoint,
                 r.message);
        free(r.message);
        r.message = xstrdup(msg);
    }
    call_finish(c, &r);
    inv_result_cleanup(&r);
}

// on_abandoned_done: the endpoint finished (or the wait for) a request given up on.
static void on_abandoned_done(struct net_transport *t, const struct net_http_response *resp)
{
    unsigned long long ms = net_reactor_now_ms(t->reactor) - t->abandoned_at_ms;
    t->abandoned_id = 0;
    if (resp->err == NET_HTTP_OK) {
        kesm_log(KESM_LOG_INFO, t->log,
                 "%s: %s answered the invocation given up on %llu ms later (HTTP %d, discarded); "
                 "the next one goes now",
                 t->flavour->name, t->endpoint, ms, resp->status);
    } else if (resp->err == NET_HTTP_ERR_TIMEOUT) {
        kesm_log(KESM_LOG_WARN, t->log,
                 "%s: %s still had not answered the invocation given up on after %llu ms more: "
                 "connection closed, the next invocation goes now and may overlap it",
                 t->flavour->name, t->endpoint, ms);
    } else {
        kesm_log(
            KESM_LOG_INFO, t->log,
            "%s: %s ended the invocation given up on %llu ms later (%s); the next one goes now",
            t->flavour->name, t->endpoint, ms, net_http_err_name(resp->err));
    }
    net_timer_arm(t->resume, 0);
}

static void on_http_done(void *ctx, uint64_t http_id, const struct net_http_response *resp)
{
    struct net_transport *t = ctx;
    if (http_id == t->abandoned_id) {
        on_abandoned_done(t, resp);
        return;
    }
    struct call *c = t->calls;
    while (c != NULL && c->http_id != http_id) {
        c = c->next;
    }
    if (c == NULL) {
        return;
    }
    c->http_id = 0;
    net_timer_cancel(c->deadline);
    if (t->serial) {
        net_timer_arm(t->resume, 0); // before the result: its callback may free the transport
    }
    on_attempt_done(c, resp);
}

// abandon keeps |c|'s request open (serial: the endpoint may still be running it) and detaches
// it from |c|; the next request waits until it ends.
static void abandon(struct call *c, const char *why)
{
    struct net_transport *t = c->t;
    t->abandoned_id = c->http_id;
    t->abandoned_at_ms = net_reactor_now_ms(t->reactor);
    c->http_id = 0;
    kesm_log(KESM_LOG_WARN, t->log,
             "%s: %s: %s, the invocation is given up on; the endpoint runs one invocation at a "
             "time and may still be running it: the next one waits until it answers or closes "
             "the connection (at most %u s)",
             t->flavour->name, t->endpoint, why, t->opts.abandon_wait_ms / 1000u);
}

// on_deadline (serial): the invocation timeout of |c|'s attempt passed.
static void on_deadline(void *arg)
{
    struct call *c = arg;
    struct net_transport *t = c->t;
    char why[160], err[460];
    int sent = net_http_request_sent(t->http, c->http_id);
    if (sent < 0) {
        return; // it has just ended: on_http_done comes next with the answer
    }
    struct net_http_response r = {.err = NET_HTTP_ERR_TIMEOUT, .status = -1, .error = err};
    if (sent == 1) {
        snprintf(why, sizeof why, "no answer within %u ms", t->opts.timeout_ms);
        abandon(c, why);
        snprintf(err, sizeof err, "timed out after %u ms waiting for the response",
                 t->opts.timeout_ms);
        r.request_sent = true;
    } else {
        net_http_cancel(t->http, c->http_id);
        c->http_id = 0;
        snprintf(err, sizeof err, "timed out after %u ms before the request was sent",
                 t->opts.timeout_ms);
    }
    net_timer_arm(t->resume, 0);
    on_attempt_done(c, &r);
}

// ---- vtable -----------------------------------------------------------------------------------

static int net_submit(struct inv_transport *base, const char *payload, size_t len,
                      inv_done_fn *done, void *ctx, uint64_t *out_id, struct inv_err *err)
{
    struct net_transport *t = (struct net_transport *)base;
    struct call *c = xcalloc(1, sizeof *c);
    c->t = t;
    c->id = ++t->next_id;
    c->done = done;
    c->ctx = ctx;
    c->payload = payload;
    c->len = len;
    c->backoff = net_timer_new(t->reactor, on_backoff, c);
    c->deadline = net_timer_new(t->reactor, on_deadline, c);
    c->next = t->calls;
    t->calls = c;
    if (t->flavour->max_request > 0 && len > t->flavour->max_request) {
        // Refused without a round trip, from the reactor (never inside submit).
        c->too_large = true;
        net_timer_arm(c->backoff, 0);
        *out_id = c->id;
        return 0;
    }
    if (start_attempt(c, err) != 0) {
        call_unlink_free(c);
        return -1;
    }
    *out_id = c->id;
    return 0;
}

static int net_cancel(struct inv_transport *base, uint64_t id)
{
    struct net_transport *t = (struct net_transport *)base;
    for (struct call *c = t->calls; c != NULL; c = c->next) {
        if (c->id != id) {
            continue;
        }
        if (c->http_id != 0 && t->serial && net_http_request_sent(t->http, c->http_id) == 1) {
            abandon(c, "cancelled");
        } else if (c->http_id != 0) {
            net_http_cancel(t->http, c->http_id);
        }
        if (t->serial) {
            net_timer_arm(t->resume, 0);
        }
        call_unlink_free(c);
        return 0;
    }
    return -1;
}

static void net_free(struct inv_transport *base)
{
    struct net_transport *t = (struct net_transport *)base;
    while (t->calls != NULL) {
        call_unlink_free(t->calls);
    }
    net_http_free(t->http);
    net_timer_free(t->resume);
    net_tls_ctx_free(t->own_tls);
    if (t->flavour->free_state != NULL) {
        t->flavour->free_state(t->state);
    }
    free(t);
}

static size_t net_poll_fds(struct inv_transport *base, struct pollfd *fds, size_t cap,
                           int *out_timeout_ms)
{
    (void)base;
    (void)fds;
    (void)cap;
    *out_timeout_ms = -1;
    return 0;
}

static void net_dispatch(struct inv_transport *base, const struct pollfd *fds, size_t num_fds)
{
    (void)base;
    (void)fds;
    (void)num_fds;
}

static const struct inv_transport_funcs http_funcs = {
    .name = "http",
    .submit = net_submit,
    .cancel = net_cancel,
    .free = net_free,
    .poll_fds = net_poll_fds,
    .dispatch = net_dispatch,
};

static const struct inv_transport_funcs lambda_funcs = {
    .name = "lambda",
    .submit = net_submit,
    .cancel = net_cancel,
    .free = net_free,
    .poll_fds = net_poll_fds,
    .dispatch = net_dispatch,
};

static void dflt(uint32_t *v, uint32_t d)
{
    if (*v == 0) {
        *v = d;
    }
}

int inv_net_new(struct inv_transport **out, struct net_reactor *r, const struct inv_net_opts *opts,
                bool https, const struct inv_net_flavour *flavour, void *state, struct inv_err *err)
{
    struct inv_net_opts o = *opts;
    struct net_tls_ctx *own_tls = NULL;
    char terr[256] = "";
    if (o.timeout_ms <= INV_NET_MAX_TIMEOUT_MS && https && o.tls == NULL) {
        struct net_tls_config tc = {0}; // the system CA store, full verification
        own_tls = net_tls_ctx_new(&tc, terr, sizeof terr);
        o.tls = own_tls;
    }
    if (o.timeout_ms > INV_NET_MAX_TIMEOUT_MS || o.abandon_wait_ms > INV_NET_MAX_ABANDON_WAIT_MS ||
        (https && o.tls == NULL)) {
        if (flavour->free_state != NULL) {
            flavour->free_state(state);
        }
        net_tls_ctx_free(own_tls);
        if (o.timeout_ms > INV_NET_MAX_TIMEOUT_MS) {
            return inv_fail(err, -1, "%s: timeout %u ms above the 14-minute maximum (%u ms)",
                            flavour->name, o.timeout_ms, INV_NET_MAX_TIMEOUT_MS);
        }
        if (o.abandon_wait_ms > INV_NET_MAX_ABANDON_WAIT_MS) {
            return inv_fail(err, -1, "%s: abandon wait %u ms above the maximum (%u ms)",
                            flavour->name, o.abandon_wait_ms, INV_NET_MAX_ABANDON_WAIT_MS);
        }
        return inv_fail(err, -1, "%s: TLS (system CA store): %s", flavour->name, terr);
    }
    dflt(&o.timeout_ms, INV_NET_MAX_TIMEOUT_MS);
    dflt(&o.connect_timeout_ms, 10000);
    dflt(&o.max_attempts, 5);
    dflt(&o.backoff_initial_ms, 200);
    dflt(&o.backoff_max_ms, 20000);
    dflt(&o.idle_timeout_ms, 30000);
    dflt(&o.abandon_wait_ms, INV_NET_ABANDON_WAIT_MS);
    if (o.max_response == 0) {
        o.max_response = 6291456 + 65536;
    }
    struct net_transport *t = xcalloc(1, sizeof *t);
    t->base.funcs = strcmp(flavour->name, "lambda") == 0 ? &lambda_funcs : &http_funcs;
    t->reactor = r;
    t->opts = o;
    t->flavour = flavour;
    t->state = state;
    t->own_tls = own_tls;
    t->serial = o.max_concurrency == 1;
    t->resume = net_timer_new(r, on_resume, t);
    kesm_log_component(t->log, sizeof t->log, "invoke", o.log_tag);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    t->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^ 1u;
    struct net_http_config hc = {
        .tls = o.tls,
        .connect_timeout_ms = o.connect_timeout_ms,
        .idle_timeout_ms = o.idle_timeout_ms,
        .max_response_body = o.max_response,
        .max_conns_per_origin = o.max_concurrency,
        .default_timeout_ms = o.timeout_ms,
        .log_tag = o.log_tag,
    };
    t->opts.log_tag = NULL; // borrowed only for this call; t->log keeps it
    t->http = net_http_new(r, &hc);
    *out = &t->base;
    return 0;
}

int inv_net_transport_stats(struct inv_transport *t, struct net_http_stats *out)
{
    if (t->funcs != &http_funcs && t->funcs != &lambda_funcs) {
        return -1;
    }
    net_http_get_stats(((struct net_transport *)t)->http, out);
    return 0;
}
