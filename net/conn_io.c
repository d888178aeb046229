// conn_io.c: a connection's requests: the queue, pipelining, timeouts, response framing and
// dispatch, and the ApiVersions exchange of the handshake.
#include "net/conn.h"
#include "net/conn_int.h"
#include "net/log.h"
#include "proto/api.h"
#include "proto/frame.h"

#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- lists -------------------------------------------------------------------------------------

static void list_push(struct req_list *l, struct req *q)
{
    q->next = NULL;
    if (l->tail != NULL) {
        l->tail->next = q;
    } else {
        l->head = q;
    }
    l->tail = q;
    l->n++;
}

static void list_push_front(struct req_list *l, struct req *q)
{
    q->next = l->head;
    l->head = q;
    if (l->tail == NULL) {
        l->tail = q;
    }
    l->n++;
}

static bool list_remove(struct req_list *l, struct req *q)
{
    struct req *prev = NULL;
    for (struct req *it = l->head; it != NULL; prev = it, it = it->next) {
        if (it != q) {
            continue;
        }
        if (prev != NULL) {
            prev->next = q->next;
        } else {
            l->head = q->next;
        }
        if (l->tail == q) {
            l->tail = prev;
        }
        l->n--;
        q->next = NULL;
        return true;
    }
    return false;
}

// ---- delivery ----------------------------------------------------------------------------------

static void free_req(struct req *q)
{
    net_timer_free(q->timer);
    free(q->body_copy);
    free(q);
}

static void deliver(struct net_conn *c, struct req *q, const struct net_resp *resp)
{
    net_timer_cancel(q->timer);
    if (q->r.on_resp != NULL) {
        q->r.on_resp(c, resp, q->r.ctx);
    }
    free_req(q);
}

void io_deliver_error(struct net_conn *c, struct req *q, int err, const char *msg)
{
    struct net_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.err = err;
    resp.msg = msg;
    resp.api_key = q->r.api_key;
    resp.version = q->version;
    resp.correlation_id = q->version >= 0 ? q->corr : -1;
    kr_init(&resp.body, NULL, 0);
    deliver(c, q, &resp);
}

void io_fail_inflight(struct net_conn *c, int err, const char *msg)
{
    struct req *q = c->inflight.head;
    memset(&c->inflight, 0, sizeof c->inflight);
    while (q != NULL) {
        struct req *next = q->next;
        io_deliver_error(c, q, err, msg);
        q = next;
    }
}

void io_fail_queued(struct net_conn *c, int err, const char *msg, bool handshake_only)
{
    struct req_list keep = {0}, fail = {0};
    struct req *q = c->queue.head;
    while (q != NULL) {
        struct req *next = q->next;
        list_push(handshake_only && !q->r.handshake ? &keep : &fail, q);
        q = next;
    }
    c->queue = keep;
    q = fail.head;
    while (q != NULL) {
        struct req *next = q->next;
        io_deliver_error(c, q, err, msg);
        q = next;
    }
}

bool io_idle(const struct net_conn *c)
{
    return c->inflight.n == 0 && c->queue.n == 0;
}

// ---- writing -----------------------------------------------------------------------------------

static const char *api_name(int16_t key)
{
    return kp_api_name(key);
}

// write_req encodes |q| and hands it to the socket; on failure it delivers the error.
static void write_req(struct net_conn *c, struct req *q)
{
    int16_t version = q->r.version;
    char msg[512];
    if (version == NET_VERSION_AUTO) {
        version = kp_versions_get(&c->versions, q->r.api_key);
        if (version < 0) {
            snprintf(msg, sizeof msg, "broker %s has no version of %s in common with kesm", c->name,
                     api_name(q->r.api_key));
            io_deliver_error(c, q, NET_ERR_VERSION, msg);
            return;
        }
    }
    int32_t corr = c->next_corr;
    c->next_corr = c->next_corr == INT32_MAX ? 1 : c->next_corr + 1;
    kw w;
    kw_init_grow(&w);
    size_t pos, len = 0;
    bool ok = kp_req_begin(&w, q->r.api_key, version, corr, c->cfg.client_id, &pos) &&
              (q->r.write_body == NULL || q->r.write_body(&w, version, q->r.body_ctx)) &&
              kp_req_end(&w, pos) && kw_finish(&w, &len);
    if (!ok) {
        kw_cleanup(&w);
        snprintf(msg, sizeof msg, "cannot encode the %s v%d request", api_name(q->r.api_key),
                 version);
        io_deliver_error(c, q, NET_ERR_ENCODE, msg);
        return;
    }
    if (bufferevent_write(c->bev, kw_data(&w), len) != 0) {
        fputs("kesm: out of memory (write)\n", stderr);
        abort();
    }
    if (q->r.sensitive && w.buf != NULL) {
        OPENSSL_cleanse(w.buf, w.cap);
    }
    kw_cleanup(&w);
    q->corr = corr;
    q->version = version;
    list_push(&c->inflight, q);
    c->stats.requests++;
}

// pick returns the next queued request the current state may write, unlinked, or NULL.
static struct req *pick(struct net_conn *c)
{
    for (struct req *q = c->queue.head; q != NULL; q = q->next) {
        bool ok;
        switch (c->state) {
        case NET_CONN_READY:
            // While re-authenticating only the plug-in's exchange goes out.
            ok = c->reauth == REAUTH_NONE ||
                 (c->reauth == REAUTH_RUNNING && q->r.handshake && !q->internal);
            break;
        case NET_CONN_API_VERSIONS:
            ok = q->internal;
            break;
        case NET_CONN_AUTH:
            ok = q->r.handshake && !q->internal;
            break;
        case NET_CONN_RESOLVING:
        case NET_CONN_CONNECTING:
        case NET_CONN_TLS_HANDSHAKE:
        case NET_CONN_BACKOFF:
        case NET_CONN_IDLE:
        case NET_CONN_CLOSED:
            return NULL;
        }
        if (ok) {
            list_remove(&c->queue, q);
            return q;
        }
    }
    return NULL;
}

static void flush(struct net_conn *c)
{
    uint32_t gen = c->bev_gen;
    conn_reauth_maybe_begin(c);
    while (!c->freed && c->bev != NULL && c->bev_gen == gen &&
           c->inflight.n < c->cfg.max_in_flight) {
        struct req *q = pick(c);
        if (q == NULL) {
            break;
        }
        write_req(c, q);
    }
    conn_note_activity(c);
}

// ---- reading -----------------------------------------------------------------------------------

// dispatch hands one response frame to the oldest request in flight; returns false when the
// connection was torn down or freed meanwhile.
static bool dispatch(struct net_conn *c, kr *frame)
{
    uint32_t gen = c->bev_gen;
    kr peek = *frame;
    int32_t corr;
    if (!kr_i32(&peek, &corr)) {
        conn_fail(c, NET_ERR_PROTOCOL, NET_TLS_FAIL_NONE,
                  "response frame of %zu bytes is too short for a header", kr_left(frame));
        return false;
    }
    struct req *q = c->inflight.head;
    if (q == NULL) {
        conn_fail(c, NET_ERR_PROTOCOL, NET_TLS_FAIL_NONE,
                  "unsolicited response (correlation id %d) with no request in flight", corr);
        return false;
    }
    if (q->corr != corr) {
        conn_fail(c, NET_ERR_PROTOCOL, NET_TLS_FAIL_NONE,
                  "response correlation id %d does not match the oldest request in flight (%s "
                  "v%d, correlation id %d)",
                  corr, api_name(q->r.api_key), q->version, q->corr);
        return false;
    }
    list_remove(&c->inflight, q);
    c->stats.responses++;
    struct kp_err perr = {0};
    int32_t corr2;
    enum kp_status st = kp_resp_hdr_parse(frame, q->r.api_key, q->version, &corr2, &perr);
    if (st != KP_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s v%d response header: %s at byte %zu (%s)",
                 api_name(q->r.api_key), q->version, kp_status_name(st), perr.offset,
                 perr.field ? perr.field : "?");
        io_deliver_error(c, q, NET_ERR_PROTOCOL, msg);
        if (!c->freed && c->bev_gen == gen) {
            conn_fail(c, NET_ERR_PROTOCOL, NET_TLS_FAIL_NONE, "%s", msg);
        }
        return false;
    }
    struct net_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.api_key = q->r.api_key;
    resp.version = q->version;
    resp.correlation_id = corr;
    resp.body = *frame;
    deliver(c, q, &resp);
    return !c->freed && c->bev_gen == gen;
}

// read_paused: the consumer paused reading; a re-authentication's own answers are read anyway.
static bool read_paused(const struct net_conn *c)
{
    return c->paused && c->state == NET_CONN_READY && c->reauth != REAUTH_RUNNING;
}

// ---- the memory budget for frames being received (net/membudget.h) ---------------------

static void budget_granted(void *ctx)
{
    struct net_conn *c = ctx;
    c->mb_reserved = c->mb_wait.want;
    if (c->bev != NULL) {
        bufferevent_setwatermark(c->bev, EV_READ, 0, c->mb_reserved + NET_MEMBUDGET_FREE);
    }
    io_kick(c);
}

void io_budget_init(struct net_conn *c)
{
    c->mb_wait.granted = budget_granted;
    c->mb_wait.ctx = c;
    bufferevent_setwatermark(c->bev, EV_READ, 0, NET_MEMBUDGET_FREE);
}

void io_budget_release(struct net_conn *c)
{
    net_membudget_cancel(&c->mb_wait);
    if (c->mb_reserved > 0) {
        size_t n = c->mb_reserved;
        c->mb_reserved = 0;
        if (c->bev != NULL) {
            bufferevent_setwatermark(c->bev, EV_READ, 0, NET_MEMBUDGET_FREE);
        }
        net_membudget_release(n);
    }
}

// budget_for makes room to buffer a frame of |total| bytes of which |have| arrived: frames up to
// NET_MEMBUDGET_FREE need nothing, larger ones a reservation (granted now, or later through
// budget_granted while reading waits at the free share). Returns false when the connection
// failed (a frame larger than the whole budget).
static bool budget_for(struct net_conn *c, struct evbuffer *in, size_t total, size_t have)
{
    if (total <= NET_MEMBUDGET_FREE || c->mb_reserved >= total || c->mb_wait.queued) {
        return true;
    }
    if (total > net_membudget_limit()) {
        conn_fail(c, NET_ERR_FRAME_TOO_LARGE, NET_TLS_FAIL_NONE,
                  "response frame of %zu bytes exceeds the broker memory budget of %zu bytes "
                  "(KESM_BROKER_MEMORY_MB); refused before reading it",
                  total - 4, net_membudget_limit());
        return false;
    }
    if (!net_membudget_reserve(&c->mb_wait, total)) {
        kesm_log(KESM_LOG_DEBUG, c->log,
                 "broker %s: a frame of %zu bytes waits for the broker memory budget", c->name,
                 total);
        return true;
    }
    c->mb_reserved = total;
    bufferevent_setwatermark(c->bev, EV_READ, 0, total + NET_MEMBUDGET_FREE);
    evbuffer_expand(in, total - have); // one contiguous chain: the pullup below copies nothing
    return true;
}

static void process_input(struct net_conn *c)
{
    uint32_t gen = c->bev_gen;
    while (!c->freed && c->bev != NULL && c->bev_gen == gen && !read_paused(c)) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        size_t have = evbuffer_get_length(in);
        uint8_t hdr[4];
        if (have < sizeof hdr || evbuffer_copyout(in, hdr, sizeof hdr) != (ev_ssize_t)sizeof hdr) {
            break;
        }
        kr frame;
        size_t consumed = 0, need = 0;
        enum kp_status st =
            kp_frame_split(hdr, sizeof hdr, c->cfg.max_frame, &frame, &consumed, &need);
        if (st == KP_ERR_LIMIT || st == KP_ERR_MALFORMED) {
            uint32_t size =
                (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
            conn_fail(c, st == KP_ERR_LIMIT ? NET_ERR_FRAME_TOO_LARGE : NET_ERR_PROTOCOL,
                      NET_TLS_FAIL_NONE,
                      "response frame size %u%s exceeds the limit of %zu bytes (max_frame); "
                      "refused before reading it",
                      size, st == KP_ERR_MALFORMED ? " (negative)" : "", c->cfg.max_frame);
            return;
        }
        size_t total = st == KP_OK ? consumed : need;
        if (have < total) {
            if (!budget_for(c, in, total, have)) {
                return;
            }
            break;
        }
        const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)total);
        if (p == NULL ||
            kp_frame_split(p, total, c->cfg.max_frame, &frame, &consumed, &need) != KP_OK) {
            conn_fail(c, NET_ERR_PROTOCOL, NET_TLS_FAIL_NONE, "cannot split a response frame");
            return;
        }
        if (!dispatch(c, &frame)) {
            return;
        }
        evbuffer_drain(in, consumed);
        if (c->mb_reserved > 0) {
            io_budget_release(c);
        }
    }
    if (!c->freed && c->bev != NULL && c->bev_gen == gen) {
        flush(c);
    }
}

void io_on_read(struct bufferevent *bev, void *arg)
{
    struct net_conn *c = arg;
    if (bev != c->bev) {
        return;
    }
    conn_enter(c);
    process_input(c);
    conn_drive(c);
    conn_leave(c);
}

void io_kick(struct net_conn *c)
{
    event_active(c->kick_ev, EV_TIMEOUT, 0);
}

void io_kick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct net_conn *c = arg;
    conn_enter(c);
    if (c->state == NET_CONN_IDLE && c->queue.n > 0) {
        conn_wake(c);
    }
    if (!c->freed && c->bev != NULL) {
        process_input(c);
    }
    conn_drive(c);
    conn_leave(c);
}

// ---- requests ----------------------------------------------------------------------------------

static void on_req_timeout(void *arg)
{
    struct req *q = arg;
    struct net_conn *c = q->c;
    conn_enter(c);
    uint32_t tmo = q->r.timeout_ms ? q->r.timeout_ms : c->cfg.request_timeout_ms;
    char msg[640];
    if (read_paused(c) && q->version >= 0) {
        // Its answer may be waiting in the socket we stopped reading: not the broker's delay.
        net_timer_arm(q->timer, tmo);
        conn_leave(c);
        return;
    }
    c->stats.timeouts++;
    if (list_remove(&c->inflight, q)) {
        snprintf(msg, sizeof msg, "%s v%d request (correlation id %d) to %s timed out after %u ms",
                 api_name(q->r.api_key), q->version, q->corr, c->name, tmo);
        uint32_t gen = c->bev_gen;
        io_deliver_error(c, q, NET_ERR_TIMEOUT, msg);
        if (!c->freed && c->bev_gen == gen) {
            conn_fail(c, NET_ERR_TIMEOUT, NET_TLS_FAIL_NONE, "%s; closing the connection", msg);
        }
    } else if (list_remove(&c->queue, q)) {
        snprintf(msg, sizeof msg,
                 "%s request to %s timed out after %u ms before it could be sent "
                 "(connection %s)",
                 api_name(q->r.api_key), c->name, tmo, net_conn_state_name(c->state));
        io_deliver_error(c, q, NET_ERR_TIMEOUT, msg);
    }
    conn_drive(c);
    conn_leave(c);
}

static struct req *req_new(struct net_conn *c, const struct net_req *r)
{
    struct req *q = xcalloc(1, sizeof *q);
    q->c = c;
    q->r = *r;
    q->version = -1;
    q->corr = -1;
    return q;
}

int net_conn_send(struct net_conn *c, const struct net_req *r)
{
    if (c->freed || c->state == NET_CONN_CLOSED) {
        return NET_ERR_CLOSED;
    }
    if (r->version == NET_VERSION_AUTO) {
        if (kp_api_info_get(r->api_key) == NULL) {
            return NET_ERR_INVALID;
        }
        if (c->state == NET_CONN_READY && kp_versions_get(&c->versions, r->api_key) < 0) {
            return NET_ERR_VERSION;
        }
    } else if (r->version < 0 || r->api_key < 0) {
        return NET_ERR_INVALID;
    }
    if (c->queue.n >= c->cfg.max_queued) {
        return NET_ERR_QUEUE_FULL;
    }
    struct req *q = req_new(c, r);
    q->timer = net_timer_new(c->reactor, on_req_timeout, q);
    net_timer_arm(q->timer, r->timeout_ms ? r->timeout_ms : c->cfg.request_timeout_ms);
    list_push(&c->queue, q);
    io_kick(c);
    return NET_OK;
}

static bool copy_body(kw *w, int16_t version, void *ctx)
{
    (void)version;
    const struct req *q = ctx;
    return kw_raw(w, q->body_copy, q->body_len);
}

int net_conn_send_body(struct net_conn *c, int16_t api_key, int16_t version, const void *body,
                       size_t body_len, net_resp_fn on_resp, void *ctx)
{
    if (version < 0) {
        return NET_ERR_INVALID;
    }
    struct net_req r = {.api_key = api_key, .version = version, .on_resp = on_resp, .ctx = ctx};
    int rc = net_conn_send(c, &r);
    if (rc != NET_OK) {
        return rc;
    }
    struct req *q = c->queue.tail;
    q->body_copy = xcalloc(1, body_len);
    if (body_len > 0) {
        memcpy(q->body_copy, body, body_len);
    }
    q->body_len = body_len;
    q->r.write_body = copy_body;
    q->r.body_ctx = q;
    return NET_OK;
}

void net_conn_pause(struct net_conn *c)
{
    c->paused = true;
    if (c->bev != NULL && c->state == NET_CONN_READY && c->reauth != REAUTH_RUNNING) {
        bufferevent_disable(c->bev, EV_READ);
    }
}

void net_conn_resume(struct net_conn *c)
{
    if (!c->paused) {
        return;
    }
    c->paused = false;
    if (c->bev != NULL) {
        bufferevent_enable(c->bev, EV_READ);
    }
    io_kick(c);
}

size_t net_conn_buffered(const struct net_conn *c)
{
    return c->bev ? evbuffer_get_length(bufferevent_get_input(c->bev)) : 0;
}

// ---- the ApiVersions handshake -----------------------------------------------------------------

static bool apiv_body(kw *w, int16_t version, void *ctx)
{
    const struct net_conn *c = ctx;
    struct kp_api_versions_req rq = {c->cfg.software_name, c->cfg.software_version};
    return kp_api_versions_req_write(w, version, &rq);
}

static void apiv_retry(struct net_conn *c, int16_t version, const char *why)
{
    if (c->apiv_retried) {
        conn_fail(c, NET_ERR_PROTOCOL, NET_TLS_FAIL_NONE, "ApiVersions failed after a retry: %s",
                  why);
        return;
    }
    kesm_log(KESM_LOG_INFO, c->log, "broker %s: %s; retrying ApiVersions with v%d", c->name, why,
             version);
    c->apiv_retried = true;
    c->apiv_version = version;
    io_start_api_versions(c);
}

static void apiv_resp(struct net_conn *c, const struct net_resp *resp, void *ctx)
{
    (void)ctx;
    if (resp->err != NET_OK || c->state != NET_CONN_API_VERSIONS) {
        return; // the connection is going down already
    }
    char why[200];
    kr body = resp->body;
    int16_t fb = kp_api_versions_fallback(&body, resp->version);
    if (fb >= 0) {
        snprintf(why, sizeof why, "broker answered ApiVersions v%d with UNSUPPORTED_VERSION",
                 resp->version);
        apiv_retry(c, fb, why);
        return;
    }
    struct kp_api_versions_resp av;
    struct kp_err perr = {0};
    enum kp_status st = kp_api_versions_resp_parse(&body, resp->version, &av, &perr);
    if (st != KP_OK) {
        snprintf(why, sizeof why, "ApiVersions v%d answer does not parse (%s at byte %zu, %s)",
                 resp->version, kp_status_name(st), perr.offset, perr.field ? perr.field : "?");
        apiv_retry(c, 0, why);
        return;
    }
    struct kp_negotiate_fail nf;
    memset(&nf, 0, sizeof nf);
    st = kp_negotiate(&c->versions, &nf, &av, c->cfg.required_apis, c->cfg.num_required_apis);
    c->have_versions = true;
    if (st != KP_OK) {
        char line[160];
        conn_fail(c, NET_ERR_VERSION, NET_TLS_FAIL_NONE, "no usable API version: %s",
                  kp_negotiate_fail_str(&nf, line, sizeof line));
        return;
    }
    kesm_log(KESM_LOG_DEBUG, c->log, "broker %s: ApiVersions v%d: %u APIs, Metadata v%d Fetch v%d",
             c->name, resp->version, av.num_api_keys,
             kp_versions_get(&c->versions, KP_API_METADATA),
             kp_versions_get(&c->versions, KP_API_FETCH));
    conn_handshake_done(c);
}

void io_start_api_versions(struct net_conn *c)
{
    struct net_req r = {
        .api_key = KP_API_API_VERSIONS,
        .version = c->apiv_version,
        .write_body = apiv_body,
        .body_ctx = c,
        .on_resp = apiv_resp,
        .handshake = true,
    };
    struct req *q = req_new(c, &r);
    q->internal = true; // bounded by the handshake timeout, not a request timer
    list_push_front(&c->queue, q);
    io_kick(c);
}
