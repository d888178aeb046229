// conn_req.c: a session's requests: the queue, pipelining, deadlines, response dispatch, and the
// ApiVersions exchange of the handshake.
#include "base/alloc.h"
#include "base/log.h"
#include "broker/conn.h"
#include "broker/conn_int.h"
#include "proto/api.h"

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

// wipe overwrites |n| bytes in a way the compiler cannot drop.
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n-- > 0) {
        *v++ = 0;
    }
}

static void free_req(struct req *q)
{
    free(q->body_copy);
    free(q);
}

static void deliver(struct broker_conn *c, struct req *q, const struct broker_resp *resp)
{
    if (q->r.on_resp != NULL) {
        q->r.on_resp(c, resp, q->r.ctx);
    }
    free_req(q);
}

static void req_deliver_error(struct broker_conn *c, struct req *q, int err, const char *msg)
{
    struct broker_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.err = err;
    resp.msg = msg;
    resp.api_key = q->r.api_key;
    resp.version = q->version;
    resp.correlation_id = q->version >= 0 ? q->corr : -1;
    kr_init(&resp.body, NULL, 0);
    deliver(c, q, &resp);
}

void req_fail_inflight(struct broker_conn *c, int err, const char *msg)
{
    struct req *q = c->inflight.head;
    memset(&c->inflight, 0, sizeof c->inflight);
    while (q != NULL) {
        struct req *next = q->next;
        req_deliver_error(c, q, err, msg);
        q = next;
    }
}

void req_fail_queued(struct broker_conn *c, int err, const char *msg, bool handshake_only)
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
        req_deliver_error(c, q, err, msg);
        q = next;
    }
}

bool req_idle(const struct broker_conn *c)
{
    return c->inflight.n == 0 && c->queue.n == 0;
}

// ---- writing -----------------------------------------------------------------------------------

static const char *api_name(int16_t key)
{
    return kp_api_name(key);
}

// write_req encodes |q| and hands it to the socket; on failure it delivers the error.
static void write_req(struct broker_conn *c, struct req *q)
{
    int16_t version = q->r.version;
    char msg[512];
    if (version == BROKER_VERSION_AUTO) {
        version = kp_versions_get(&c->versions, q->r.api_key);
        if (version < 0) {
            snprintf(msg, sizeof msg, "broker %s has no version of %s in common with kesm", c->name,
                     api_name(q->r.api_key));
            req_deliver_error(c, q, BROKER_ERR_VERSION, msg);
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
        req_deliver_error(c, q, BROKER_ERR_ENCODE, msg);
        return;
    }
    c->io.write(c->io.ctx, kw_data(&w), len);
    if (q->r.sensitive && w.buf != NULL) {
        wipe(w.buf, w.cap);
    }
    kw_cleanup(&w);
    q->corr = corr;
    q->version = version;
    list_push(&c->inflight, q);
    c->stats.requests++;
}

// pick returns the next queued request the current state may write, unlinked, or NULL.
static struct req *pick(struct broker_conn *c)
{
    for (struct req *q = c->queue.head; q != NULL; q = q->next) {
        bool ok;
        switch (c->state) {
        case BROKER_CONN_READY:
            // While re-authenticating only the plug-in's exchange goes out.
            ok = c->reauth == REAUTH_NONE ||
                 (c->reauth == REAUTH_RUNNING && q->r.handshake && !q->internal);
            break;
        case BROKER_CONN_API_VERSIONS:
            ok = q->internal;
            break;
        case BROKER_CONN_AUTH:
            ok = q->r.handshake && !q->internal;
            break;
        case BROKER_CONN_RESOLVING:
        case BROKER_CONN_CONNECTING:
        case BROKER_CONN_TLS_HANDSHAKE:
        case BROKER_CONN_BACKOFF:
        case BROKER_CONN_IDLE:
        case BROKER_CONN_CLOSED:
            return NULL;
        }
        if (ok) {
            list_remove(&c->queue, q);
            return q;
        }
    }
    return NULL;
}

void req_flush(struct broker_conn *c)
{
    uint32_t gen = c->gen;
    conn_reauth_maybe_begin(c);
    while (!c->freed && c->wire_up && c->gen == gen && c->inflight.n < c->cfg.max_in_flight) {
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
static bool dispatch(struct broker_conn *c, kr *frame)
{
    uint32_t gen = c->gen;
    kr peek = *frame;
    int32_t corr;
    if (!kr_i32(&peek, &corr)) {
        conn_fail(c, BROKER_ERR_PROTOCOL, NET_TLS_FAIL_NONE,
                  "response frame of %zu bytes is too short for a header", kr_left(frame));
        return false;
    }
    struct req *q = c->inflight.head;
    if (q == NULL) {
        conn_fail(c, BROKER_ERR_PROTOCOL, NET_TLS_FAIL_NONE,
                  "unsolicited response (correlation id %d) with no request in flight", corr);
        return false;
    }
    if (q->corr != corr) {
        conn_fail(c, BROKER_ERR_PROTOCOL, NET_TLS_FAIL_NONE,
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
        req_deliver_error(c, q, BROKER_ERR_PROTOCOL, msg);
        if (!c->freed && c->gen == gen) {
            conn_fail(c, BROKER_ERR_PROTOCOL, NET_TLS_FAIL_NONE, "%s", msg);
        }
        return false;
    }
    struct broker_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.api_key = q->r.api_key;
    resp.version = q->version;
    resp.correlation_id = corr;
    resp.body = *frame;
    deliver(c, q, &resp);
    return !c->freed && c->gen == gen;
}

// req_read_paused: the user paused reading; a re-authentication's own answers are read anyway.
bool req_read_paused(const struct broker_conn *c)
{
    return c->paused && c->state == BROKER_CONN_READY && c->reauth != REAUTH_RUNNING;
}

void req_dispatch_frame(struct broker_conn *c, const uint8_t *p, size_t len)
{
    kr frame;
    kr_init(&frame, p, len);
    if (dispatch(c, &frame) && !c->freed && c->wire_up) {
        req_flush(c);
    }
}

void req_kick(struct broker_conn *c)
{
    if (!c->kick_pending) {
        c->kick_pending = true;
        c->io.defer(c->io.ctx);
    }
}

// ---- requests ----------------------------------------------------------------------------------

// expire handles the request |q| whose deadline passed.
static void expire(struct broker_conn *c, struct req *q, uint64_t now)
{
    char msg[640];
    if (req_read_paused(c) && q->version >= 0) {
        // Its answer may be waiting in the socket we stopped reading: not the broker's delay.
        q->deadline = now + q->timeout_ms;
        return;
    }
    c->stats.timeouts++;
    if (list_remove(&c->inflight, q)) {
        snprintf(msg, sizeof msg, "%s v%d request (correlation id %d) to %s timed out after %u ms",
                 api_name(q->r.api_key), q->version, q->corr, c->name, q->timeout_ms);
        uint32_t gen = c->gen;
        req_deliver_error(c, q, BROKER_ERR_TIMEOUT, msg);
        if (!c->freed && c->gen == gen) {
            conn_fail(c, BROKER_ERR_TIMEOUT, NET_TLS_FAIL_NONE, "%s; closing the connection", msg);
        }
    } else if (list_remove(&c->queue, q)) {
        snprintf(msg, sizeof msg,
                 "%s request to %s timed out after %u ms before it could be sent "
                 "(connection %s)",
                 api_name(q->r.api_key), c->name, q->timeout_ms, broker_conn_state_name(c->state));
        req_deliver_error(c, q, BROKER_ERR_TIMEOUT, msg);
    }
}

// earliest returns the request with the earliest deadline in |l| (ties: the older), or NULL.
static struct req *earliest(const struct req_list *l, struct req *best)
{
    for (struct req *q = l->head; q != NULL; q = q->next) {
        if (best == NULL || q->deadline < best->deadline) {
            best = q;
        }
    }
    return best;
}

uint64_t req_expire(struct broker_conn *c, uint64_t now)
{
    for (;;) {
        struct req *q = earliest(&c->queue, earliest(&c->inflight, NULL));
        if (q == NULL) {
            return BROKER_NEVER;
        }
        if (q->deadline > now) {
            return q->deadline;
        }
        expire(c, q, now);
        conn_drive(c);
        if (c->freed) {
            return BROKER_NEVER;
        }
    }
}

static struct req *req_new(struct broker_conn *c, const struct broker_req *r)
{
    struct req *q = xcalloc(1, sizeof *q);
    q->c = c;
    q->r = *r;
    q->version = -1;
    q->corr = -1;
    q->deadline = BROKER_NEVER;
    return q;
}

int broker_conn_send(struct broker_conn *c, const struct broker_req *r)
{
    if (c->freed || c->state == BROKER_CONN_CLOSED) {
        return BROKER_ERR_CLOSED;
    }
    if (r->version == BROKER_VERSION_AUTO) {
        if (kp_api_info_get(r->api_key) == NULL) {
            return BROKER_ERR_INVALID;
        }
        if (c->state == BROKER_CONN_READY && kp_versions_get(&c->versions, r->api_key) < 0) {
            return BROKER_ERR_VERSION;
        }
    } else if (r->version < 0 || r->api_key < 0) {
        return BROKER_ERR_INVALID;
    }
    if (c->queue.n >= c->cfg.max_queued) {
        return BROKER_ERR_QUEUE_FULL;
    }
    struct req *q = req_new(c, r);
    q->timeout_ms = r->timeout_ms ? r->timeout_ms : c->cfg.request_timeout_ms;
    q->deadline = conn_now(c) + q->timeout_ms;
    conn_deadline(c, q->deadline);
    list_push(&c->queue, q);
    req_kick(c);
    return BROKER_OK;
}

static bool copy_body(kw *w, int16_t version, void *ctx)
{
    (void)version;
    const struct req *q = ctx;
    return kw_raw(w, q->body_copy, q->body_len);
}

int broker_conn_send_body(struct broker_conn *c, int16_t api_key, int16_t version, const void *body,
                          size_t body_len, broker_resp_fn on_resp, void *ctx)
{
    if (version < 0) {
        return BROKER_ERR_INVALID;
    }
    struct broker_req r = {.api_key = api_key, .version = version, .on_resp = on_resp, .ctx = ctx};
    int rc = broker_conn_send(c, &r);
    if (rc != BROKER_OK) {
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
    return BROKER_OK;
}

void broker_conn_pause(struct broker_conn *c)
{
    c->paused = true;
    conn_sync_reading(c);
}

void broker_conn_resume(struct broker_conn *c)
{
    if (!c->paused) {
        return;
    }
    c->paused = false;
    conn_sync_reading(c);
    req_kick(c);
}

size_t broker_conn_buffered(const struct broker_conn *c)
{
    return c->open ? c->io.buffered(c->io.ctx) : 0;
}

// ---- the ApiVersions handshake -----------------------------------------------------------------

static bool apiv_body(kw *w, int16_t version, void *ctx)
{
    const struct broker_conn *c = ctx;
    struct kp_api_versions_req rq = {c->cfg.software_name, c->cfg.software_version};
    return kp_api_versions_req_write(w, version, &rq);
}

static void apiv_retry(struct broker_conn *c, int16_t version, const char *why)
{
    if (c->apiv_retried) {
        conn_fail(c, BROKER_ERR_PROTOCOL, NET_TLS_FAIL_NONE, "ApiVersions failed after a retry: %s",
                  why);
        return;
    }
    kesm_log(KESM_LOG_INFO, c->log, "broker %s: %s; retrying ApiVersions with v%d", c->name, why,
             version);
    c->apiv_retried = true;
    c->apiv_version = version;
    req_start_api_versions(c);
}

static void apiv_resp(struct broker_conn *c, const struct broker_resp *resp, void *ctx)
{
    (void)ctx;
    if (resp->err != BROKER_OK || c->state != BROKER_CONN_API_VERSIONS) {
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
        conn_fail(c, BROKER_ERR_VERSION, NET_TLS_FAIL_NONE, "no usable API version: %s",
                  kp_negotiate_fail_str(&nf, line, sizeof line));
        return;
    }
    kesm_log(KESM_LOG_DEBUG, c->log, "broker %s: ApiVersions v%d: %u APIs, Metadata v%d Fetch v%d",
             c->name, resp->version, av.num_api_keys,
             kp_versions_get(&c->versions, KP_API_METADATA),
             kp_versions_get(&c->versions, KP_API_FETCH));
    conn_handshake_done(c);
}

void req_start_api_versions(struct broker_conn *c)
{
    struct broker_req r = {
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
    req_kick(c);
}
