// fuzz_broker_session.c: drives the broker session state machine (broker/conn.c, conn_req.c,
// conn_reauth.c, with the SASL driver broker/sasl.c running PLAIN) without a reactor or a
// socket: a scripted byte stream, a fake clock and a fake driver (struct broker_io), as nghttp2's
// session fuzzer does.
//
// Input: one flags byte (bit 0 TLS, bit 1 SASL PLAIN, bit 2 no_reconnect, bits 3-4 max_in_flight
// 1..4), then steps of {op u8, len u8, payload[len]}:
//   op % 12 == 0   advance the clock by payload u16 ms; fire the timer if it is due
//   1              the stream reports a phase (payload[0] % 3: resolved, TCP up, open)
//   2              answer the oldest request on the wire: response header for it, then payload
//   3              a raw frame (payload as is)
//   4              the stream ends (payload[0] % 8 picks why, payload[1] the pending bytes)
//   5              send a request: api payload[0] (of kesm's), version AUTO or payload[1] % 16,
//                  timeout payload[2] * 10 ms, a prebuilt body when payload[3] & 1
//   6              pause; 7 resume
//   8              run the deferred work the session asked for (its wake)
//   9              fire the timer now, due or not
//   10             answer the oldest request with a well-formed ApiVersions answer (every API
//                  kesm speaks, its version range), or, for SaslHandshake / SaslAuthenticate, a
//                  success (SaslAuthenticate with the session lifetime payload u16 * 10 ms)
//   11             free the connection (the input ends there)
// Invariants (abort on violation): every accepted request's callback runs exactly once, never
// inside broker_conn_send; nothing is written unless the current stream reported open; written
// correlation ids increase; requests on the wire never exceed max_in_flight; only the SASL
// exchange is written while a re-authentication runs; a response delivered with BROKER_OK has
// the api key of its request; state changes follow the diagram of broker/conn.h; the driver is
// released exactly once, after which the session makes no call.
#include "base/log.h"
#include "broker/conn.h"
#include "broker/conn_io.h"
#include "broker/sasl.h"
#include "proto/api.h"
#include "proto/kw.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WIRE 64
#define MAX_REQS 256

struct wire_req {
    int16_t api_key, version;
    int32_t corr;
};

struct harness {
    struct broker_conn *c;
    uint64_t now;
    uint64_t armed;
    bool opened, open_reported, released, wake_pending, in_send;
    bool reading;
    uint32_t rng;
    uint32_t max_in_flight;
    struct wire_req wire[MAX_WIRE];
    size_t nwire;
    int32_t last_corr;
    int calls[MAX_REQS]; // per accepted request: callbacks seen
    int16_t req_api[MAX_REQS];
    size_t nreqs;
};

static struct harness H;

// ---- the fake driver -------------------------------------------------------------------------

static void io_open(void *ctx, struct broker_conn *c)
{
    (void)ctx;
    (void)c;
    assert(!H.released);
    H.opened = true;
    H.open_reported = false;
    H.reading = true;
    H.nwire = 0;
    H.last_corr = 0;
}

static void io_close(void *ctx)
{
    (void)ctx;
    assert(!H.released);
    H.opened = false;
    H.open_reported = false;
    H.nwire = 0;
}

static void io_write(void *ctx, const uint8_t *p, size_t len)
{
    (void)ctx;
    assert(!H.released);
    assert(H.opened && H.open_reported); // never before the stream is up
    kr r;
    kr_init(&r, p, len);
    int32_t size;
    assert(kr_i32(&r, &size) && (size_t)size == kr_left(&r));
    struct kp_req_hdr hdr;
    struct kp_err err = {0};
    assert(kp_req_hdr_parse(&r, &hdr, &err) == KP_OK);
    assert(hdr.correlation_id > H.last_corr || H.last_corr == INT32_MAX);
    H.last_corr = hdr.correlation_id;
    if (broker_conn_reauthenticating(H.c)) {
        assert(hdr.api_key == KP_API_SASL_HANDSHAKE || hdr.api_key == KP_API_SASL_AUTHENTICATE);
    }
    assert(H.nwire < MAX_WIRE && H.nwire < H.max_in_flight);
    H.wire[H.nwire++] = (struct wire_req){hdr.api_key, hdr.api_version, hdr.correlation_id};
}

static void io_set_reading(void *ctx, bool on)
{
    (void)ctx;
    assert(!H.released && H.opened);
    H.reading = on;
}

static size_t io_buffered(void *ctx)
{
    (void)ctx;
    return 0;
}

static void io_defer(void *ctx)
{
    (void)ctx;
    assert(!H.released);
    H.wake_pending = true;
}

static void io_arm(void *ctx, uint64_t at)
{
    (void)ctx;
    assert(!H.released);
    H.armed = at;
}

static uint64_t io_now(void *ctx)
{
    (void)ctx;
    return H.now;
}

static uint32_t io_random(void *ctx)
{
    (void)ctx;
    H.rng = H.rng * 1103515245u + 12345u;
    return H.rng;
}

static void io_release(void *ctx)
{
    (void)ctx;
    assert(!H.released);
    H.released = true;
}

// ---- the session's users ---------------------------------------------------------------------

static bool legal(enum broker_conn_state from, enum broker_conn_state to)
{
    if (to == BROKER_CONN_BACKOFF || to == BROKER_CONN_CLOSED) {
        return true; // any failure
    }
    switch (to) {
    case BROKER_CONN_RESOLVING:
        return from == BROKER_CONN_BACKOFF || from == BROKER_CONN_IDLE;
    case BROKER_CONN_CONNECTING:
        return from == BROKER_CONN_RESOLVING;
    case BROKER_CONN_TLS_HANDSHAKE:
        return from == BROKER_CONN_CONNECTING;
    case BROKER_CONN_API_VERSIONS:
        return from == BROKER_CONN_CONNECTING || from == BROKER_CONN_TLS_HANDSHAKE;
    case BROKER_CONN_AUTH:
        return from == BROKER_CONN_API_VERSIONS;
    case BROKER_CONN_READY:
        return from == BROKER_CONN_API_VERSIONS || from == BROKER_CONN_AUTH;
    case BROKER_CONN_IDLE:
        return from == BROKER_CONN_READY;
    case BROKER_CONN_BACKOFF:
    case BROKER_CONN_CLOSED:
        return true;
    }
    return false;
}

static void on_state(struct broker_conn *c, const struct broker_conn_event *ev, void *ctx)
{
    (void)c;
    (void)ctx;
    assert(legal(ev->from, ev->to));
    if (ev->to == BROKER_CONN_BACKOFF || ev->to == BROKER_CONN_CLOSED) {
        assert(ev->err != BROKER_OK && ev->msg != NULL);
    }
}

static void on_resp(struct broker_conn *c, const struct broker_resp *resp, void *ctx)
{
    (void)c;
    size_t id = (size_t)(uintptr_t)ctx;
    assert(!H.in_send);
    assert(id < H.nreqs && H.calls[id] == 0);
    H.calls[id]++;
    if (resp->err == BROKER_OK) {
        assert(resp->api_key == H.req_api[id]);
    } else {
        assert(resp->msg != NULL);
    }
}

// ---- steps -------------------------------------------------------------------------------------

static const int16_t apis[] = {KP_API_METADATA,   KP_API_FETCH,        KP_API_HEARTBEAT,
                               KP_API_PRODUCE,    KP_API_API_VERSIONS, KP_API_LIST_OFFSETS,
                               KP_API_SYNC_GROUP, KP_API_OFFSET_COMMIT};

static void send_req(const uint8_t *p, size_t n)
{
    if (H.nreqs >= MAX_REQS || n < 4) {
        return;
    }
    int16_t api = apis[p[0] % (sizeof apis / sizeof apis[0])];
    int16_t version = (p[1] & 0x80) ? BROKER_VERSION_AUTO : (int16_t)(p[1] % 16);
    size_t id = H.nreqs;
    H.req_api[id] = api;
    H.in_send = true;
    int rc;
    if (p[3] & 1) {
        rc = broker_conn_send_body(H.c, api, version < 0 ? 0 : version, p, n, on_resp,
                                   (void *)(uintptr_t)id);
    } else {
        struct broker_req r = {.api_key = api,
                               .version = version,
                               .on_resp = on_resp,
                               .ctx = (void *)(uintptr_t)id,
                               .timeout_ms = (uint32_t)p[2] * 10};
        rc = broker_conn_send(H.c, &r);
    }
    H.in_send = false;
    if (rc == BROKER_OK) {
        H.nreqs++;
    }
}

// answer writes a response frame for the oldest request on the wire: its correlation id, the
// header tag byte when flexible, then |body|.
static void answer(const uint8_t *body, size_t n)
{
    if (H.nwire == 0 || !H.opened) {
        return;
    }
    struct wire_req q = H.wire[0];
    memmove(H.wire, H.wire + 1, (H.nwire - 1) * sizeof H.wire[0]);
    H.nwire--;
    kw w;
    kw_init_grow(&w);
    kw_i32(&w, q.corr);
    if (kp_resp_hdr_version(q.api_key, q.version) >= 1) {
        kw_u8(&w, 0);
    }
    kw_raw(&w, body, n);
    size_t len = 0;
    if (kw_finish(&w, &len)) {
        broker_conn_io_frame(H.c, kw_data(&w), len);
    }
    kw_cleanup(&w);
}

// answer_ok writes a body that the session and the SASL driver accept.
static void answer_ok(const uint8_t *p, size_t n)
{
    if (H.nwire == 0) {
        return;
    }
    const struct wire_req q = H.wire[0];
    kw w;
    kw_init_grow(&w);
    if (q.api_key == KP_API_API_VERSIONS) {
        size_t num = 0;
        const struct kp_api_info *all = kp_api_all(&num);
        bool flex = q.version >= 3;
        kw_i16(&w, 0);
        if (flex) {
            kw_uvarint(&w, num + 1);
        } else {
            kw_i32(&w, (int32_t)num);
        }
        for (size_t i = 0; i < num; i++) {
            kw_i16(&w, all[i].key);
            kw_i16(&w, all[i].min_version);
            kw_i16(&w, all[i].max_version);
            if (flex) {
                kw_empty_tags(&w);
            }
        }
        if (q.version >= 1) {
            kw_i32(&w, 0); // throttle_time_ms
        }
        if (flex) {
            kw_empty_tags(&w);
        }
    } else if (q.api_key == KP_API_SASL_HANDSHAKE) {
        kw_i16(&w, 0);
        kw_i32(&w, 1);
        kw_str(&w, "PLAIN");
    } else if (q.api_key == KP_API_SASL_AUTHENTICATE) {
        uint16_t life = (uint16_t)(n >= 2 ? p[0] << 8 | p[1] : 0);
        bool flex = kp_api_is_flexible(q.api_key, q.version);
        kw_i16(&w, 0);
        if (flex) {
            kw_compact_str(&w, NULL);
            kw_compact_bytes(&w, "", 0);
        } else {
            kw_str(&w, NULL);
            kw_bytes(&w, "", 0);
        }
        if (q.version >= 1) {
            kw_i64(&w, (int64_t)life * 10);
        }
        if (flex) {
            kw_empty_tags(&w);
        }
    }
    size_t len = 0;
    if (kw_finish(&w, &len)) {
        uint8_t *copy = malloc(len ? len : 1);
        if (len > 0) {
            memcpy(copy, kw_data(&w), len);
        }
        answer(copy, len);
        free(copy);
    }
    kw_cleanup(&w);
}

static void stream_end(const uint8_t *p, size_t n)
{
    if (!H.opened || n < 2) {
        return;
    }
    static const char *const msgs[] = {"cannot resolve \"x\": no address",
                                       "127.0.0.1: refused",
                                       "TLS: x",
                                       "",
                                       "",
                                       "Connection reset by peer",
                                       "response frame size too large",
                                       "bad frame"};
    enum net_stream_end e = (enum net_stream_end)(p[0] % 8);
    struct net_stream_close why = {e, (enum net_tls_fail)(p[1] % 10), msgs[e], p[1]};
    H.opened = false; // the driver drops the stream after reporting its end
    H.nwire = 0;
    broker_conn_io_closed(H.c, &why);
}

static void fire_timer(bool force)
{
    if (force || H.armed <= H.now) {
        H.armed = BROKER_NEVER;
        broker_conn_io_timer(H.c);
    }
}

static void step(uint8_t op, const uint8_t *p, size_t n)
{
    switch (op % 12) {
    case 0:
        H.now += n >= 2 ? (uint64_t)(p[0] << 8 | p[1]) : 1;
        fire_timer(false);
        break;
    case 1:
        if (H.opened && n >= 1) {
            enum net_stream_phase ph = (enum net_stream_phase)(p[0] % 3);
            if (ph == NET_STREAM_OPEN) {
                H.open_reported = true;
            }
            broker_conn_io_phase(H.c, ph);
        }
        break;
    case 2:
        answer(p, n);
        break;
    case 3:
        if (H.opened && H.reading) {
            H.nwire = H.nwire > 0 ? H.nwire - 1 : 0;
            broker_conn_io_frame(H.c, p, n);
        }
        break;
    case 4:
        stream_end(p, n);
        break;
    case 5:
        send_req(p, n);
        break;
    case 6:
        broker_conn_pause(H.c);
        break;
    case 7:
        broker_conn_resume(H.c);
        break;
    case 8:
        if (H.wake_pending) {
            H.wake_pending = false;
            broker_conn_io_wake(H.c);
        }
        break;
    case 9:
        fire_timer(true);
        break;
    case 10:
        if (H.opened && H.reading) {
            answer_ok(p, n);
        }
        break;
    default:
        break;
    }
    struct broker_conn_stats st;
    broker_conn_get_stats(H.c, &st);
    assert(st.in_flight <= H.max_in_flight);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    // FUZZ_BROKER_LOG=debug shows the session's log lines while writing seeds.
    int lvl = kesm_log_level_parse(getenv("FUZZ_BROKER_LOG"));
    kesm_log_set_level(lvl >= 0 ? (enum kesm_log_level)lvl : KESM_LOG_OFF);
    memset(&H, 0, sizeof H);
    H.armed = BROKER_NEVER;
    H.rng = 1;
    uint8_t flags = data[0];
    H.max_in_flight = 1u + ((flags >> 3) & 3u);
    char err[200];
    struct broker_sasl_config sc = {.mechanism = "PLAIN",
                                    .user = "user",
                                    .password = "secret",
                                    .tls = (flags & 1) != 0,
                                    .allow_plaintext = true};
    struct broker_sasl *sasl = (flags & 2) ? broker_sasl_new_config(&sc, err, sizeof err) : NULL;
    struct broker_conn_config cfg = {.tls = (flags & 1) ? (struct net_tls_ctx *)&H : NULL,
                                     .auth = sasl ? broker_sasl_auth(sasl) : NULL,
                                     .no_reconnect = (flags & 4) != 0,
                                     .max_in_flight = H.max_in_flight,
                                     .max_queued = 64};
    struct broker_conn_callbacks cb = {.on_state = on_state};
    struct broker_io io = {io_open, io_close, io_write,  io_set_reading, io_buffered, io_defer,
                           io_arm,  io_now,   io_random, io_release,     NULL};
    H.c = broker_conn_new_io(&io, "broker.test", 9092, &cfg, &cb);
    size_t i = 1;
    while (i + 2 <= size) {
        uint8_t op = data[i];
        size_t n = data[i + 1];
        i += 2;
        if (n > size - i) {
            n = size - i;
        }
        if (op % 12 == 11) {
            break;
        }
        step(op, data + i, n);
        i += n;
    }
    broker_conn_free(H.c);
    assert(H.released);
    for (size_t k = 0; k < H.nreqs; k++) {
        assert(H.calls[k] == 1); // exactly once, by the end at the latest
    }
    broker_sasl_free(sasl);
    return 0;
}
