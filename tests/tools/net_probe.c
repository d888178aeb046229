// net_probe.c: a command-line driver of one net/ broker connection, for the integration tests
// (tests/integration/net_*.sh) that put real peers in front of it: kmock, stunnel, openssl
// s_server and hostile python servers. It prints one line per event on stdout:
//   state FROM -> TO err=NAME authn=0|1 tls=CLASS msg=TEXT
//   ready metadata=V
//   response N ok metadata brokers=B topics=T
//   response N error=NAME msg=TEXT
//   tls-config-error TEXT
// and exits 0 when its goal was met, 1 otherwise.
//
// Usage: net_probe HOST PORT [option...]
//   tls                   use TLS (system store unless ca=/ca-dir=)
//   ca=FILE ca-dir=DIR cert=FILE key=FILE  trust and client credentials
//   key-pass-env=VAR      the client key's password is in environment variable VAR
//   insecure              no certificate verification
//   sasl=MECH user=NAME pass-env=VAR  authenticate with SASL (broker/sasl.h); the password is in
//                         environment variable VAR
//   sasl-allow-plaintext  let SASL run without TLS (refused otherwise, before connecting)
//   requests=N            send N Metadata requests (all topics, negotiated version) once READY,
//                         pipelined; goal: N answers (default 1)
//   spacing-ms=MS         send the requests one after another, MS apart, instead of at once
//   readies=N             goal: reach READY N times (reconnect tests; default 1)
//   expect-fail           goal: the first connection failure (exit 0 when it happens)
//   lifetime-ms=MS        give up after MS (default 20000)
//   request-timeout-ms=MS handshake-timeout-ms=MS max-frame=BYTES backoff-max-ms=MS
#include "broker/conn.h"
#include "base/log.h"
#include "net/reactor.h"
#include "broker/sasl.h"
#include "net/tls.h"
#include "proto/api.h"
#include "proto/metadata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct probe {
    struct net_reactor *r;
    struct broker_conn *c;
    int requests, spacing_ms, readies, readies_seen, answers, ok_answers, sent;
    bool expect_fail, failed_seen, done;
    struct net_timer *spacer;
};

static void finish(struct probe *p)
{
    p->done = true;
    net_reactor_stop(p->r);
}

static void on_resp(struct broker_conn *c, const struct broker_resp *resp, void *ctx)
{
    (void)c;
    struct probe *p = ctx;
    int n = ++p->answers;
    if (resp->err != BROKER_OK) {
        printf("response %d error=%s msg=%s\n", n, broker_err_name(resp->err), resp->msg);
    } else {
        struct kp_metadata_resp md;
        struct kp_err err = {0};
        kr body = resp->body;
        enum kp_status st = kp_metadata_resp_parse(&body, resp->version, &md, &err);
        if (st != KP_OK) {
            printf("response %d error=parse msg=Metadata v%d: %s at byte %zu (%s)\n", n,
                   resp->version, kp_status_name(st), err.offset, err.field ? err.field : "?");
        } else {
            p->ok_answers++;
            printf("response %d ok metadata v%d brokers=%u topics=%u\n", n, resp->version,
                   md.num_brokers, md.num_topics);
        }
    }
    fflush(stdout);
    if (p->answers >= p->requests && p->readies_seen >= p->readies && !p->expect_fail) {
        finish(p);
    }
}

static bool metadata_body(kw *w, int16_t version, void *ctx)
{
    (void)ctx;
    struct kp_metadata_req req = {.all_topics = true, .allow_auto_topic_creation = true};
    return kp_metadata_req_write(w, version, &req);
}

static void send_one(struct probe *p)
{
    struct broker_req r = {.api_key = KP_API_METADATA,
                        .version = BROKER_VERSION_AUTO,
                        .write_body = metadata_body,
                        .on_resp = on_resp,
                        .ctx = p};
    int rc = broker_conn_send(p->c, &r);
    if (rc != BROKER_OK) {
        printf("send error=%s\n", broker_err_name(rc));
        p->answers++;
    }
    p->sent++;
}

static void spacer_cb(void *ctx)
{
    struct probe *p = ctx;
    if (p->sent < p->requests) {
        send_one(p);
        net_timer_arm(p->spacer, (uint64_t)p->spacing_ms);
    }
}

static void on_state(struct broker_conn *c, const struct broker_conn_event *ev, void *ctx)
{
    struct probe *p = ctx;
    printf("state %s -> %s err=%s authn=%d tls=%s msg=%s\n", broker_conn_state_name(ev->from),
           broker_conn_state_name(ev->to), broker_err_name(ev->err), broker_conn_event_is_authn(ev),
           net_tls_fail_name(ev->tls_fail), ev->msg ? ev->msg : "");
    fflush(stdout);
    if (ev->err != BROKER_OK && p->expect_fail) {
        p->failed_seen = true;
        finish(p);
        return;
    }
    if (ev->to == BROKER_CONN_READY) {
        p->readies_seen++;
        printf("ready metadata=%d\n", broker_conn_version(c, KP_API_METADATA));
        fflush(stdout);
        if (p->readies_seen == 1) {
            if (p->spacing_ms > 0) {
                spacer_cb(p);
            } else {
                for (int i = 0; i < p->requests; i++) {
                    send_one(p);
                }
            }
        }
        if (p->answers >= p->requests && p->readies_seen >= p->readies) {
            finish(p);
        }
    }
}

static void on_lifetime(void *ctx)
{
    struct probe *p = ctx;
    printf("lifetime over\n");
    net_reactor_stop(p->r);
}

static const char *opt(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: net_probe HOST PORT [option...]\n");
        return 2;
    }
    struct probe p = {.requests = 1, .readies = 1};
    struct net_tls_config tc = {0};
    struct broker_conn_config cfg = {0};
    bool tls = false;
    const char *sasl_mech = NULL, *sasl_user = NULL, *sasl_pass = NULL;
    bool sasl_plaintext = false;
    uint32_t lifetime = 20000;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "tls") == 0) {
            tls = true;
        } else if (strcmp(a, "insecure") == 0) {
            tls = true;
            tc.insecure_skip_verify = true;
        } else if (strcmp(a, "sasl-allow-plaintext") == 0) {
            sasl_plaintext = true;
        } else if (strcmp(a, "expect-fail") == 0) {
            p.expect_fail = true;
        } else if ((v = opt(a, "ca"))) {
            tls = true;
            tc.ca_file = v;
        } else if ((v = opt(a, "ca-dir"))) {
            tls = true;
            tc.ca_dir = v;
        } else if ((v = opt(a, "cert"))) {
            tc.cert_file = v;
        } else if ((v = opt(a, "key"))) {
            tc.key_file = v;
        } else if ((v = opt(a, "key-pass-env"))) {
            tc.key_password = getenv(v);
        } else if ((v = opt(a, "sasl"))) {
            sasl_mech = v;
        } else if ((v = opt(a, "user"))) {
            sasl_user = v;
        } else if ((v = opt(a, "pass-env"))) {
            sasl_pass = getenv(v);
        } else if ((v = opt(a, "requests"))) {
            p.requests = atoi(v);
        } else if ((v = opt(a, "spacing-ms"))) {
            p.spacing_ms = atoi(v);
        } else if ((v = opt(a, "readies"))) {
            p.readies = atoi(v);
        } else if ((v = opt(a, "lifetime-ms"))) {
            lifetime = (uint32_t)atoi(v);
        } else if ((v = opt(a, "request-timeout-ms"))) {
            cfg.request_timeout_ms = (uint32_t)atoi(v);
        } else if ((v = opt(a, "handshake-timeout-ms"))) {
            cfg.handshake_timeout_ms = (uint32_t)atoi(v);
        } else if ((v = opt(a, "max-frame"))) {
            cfg.max_frame = (size_t)atoll(v);
        } else if ((v = opt(a, "backoff-max-ms"))) {
            cfg.backoff_max_ms = (uint32_t)atoi(v);
        } else {
            fprintf(stderr, "net_probe: unknown option %s\n", a);
            return 2;
        }
    }
    struct net_tls_ctx *ctx = NULL;
    if (tls) {
        char err[300];
        ctx = net_tls_ctx_new(&tc, err, sizeof err);
        if (ctx == NULL) {
            printf("tls-config-error %s\n", err);
            return 1;
        }
    }
    cfg.tls = ctx;
    struct broker_sasl *sasl = NULL;
    if (sasl_mech != NULL) {
        char err[300];
        struct broker_sasl_config sc = {.mechanism = sasl_mech,
                                     .user = sasl_user ? sasl_user : "",
                                     .password = sasl_pass ? sasl_pass : "",
                                     .tls = tls,
                                     .allow_plaintext = sasl_plaintext};
        sasl = broker_sasl_new_config(&sc, err, sizeof err);
        if (sasl == NULL) {
            printf("sasl-config-error %s\n", err);
            net_tls_ctx_free(ctx);
            return 1;
        }
        cfg.auth = broker_sasl_auth(sasl);
    }
    p.r = net_reactor_new(NULL);
    if (p.r == NULL) {
        return 1;
    }
    struct net_timer *life = net_timer_new(p.r, on_lifetime, &p);
    net_timer_arm(life, lifetime);
    p.spacer = net_timer_new(p.r, spacer_cb, &p);
    struct broker_conn_callbacks cb = {on_state, &p};
    p.c = broker_conn_new(p.r, argv[1], (uint16_t)atoi(argv[2]), &cfg, &cb);
    net_reactor_run(p.r);
    broker_conn_free(p.c);
    net_timer_free(p.spacer);
    net_timer_free(life);
    net_reactor_free(p.r);
    broker_sasl_free(sasl);
    net_tls_ctx_free(ctx);
    printf("done answers=%d ok=%d readies=%d failed=%d\n", p.answers, p.ok_answers, p.readies_seen,
           p.failed_seen);
    if (p.expect_fail) {
        return p.failed_seen ? 0 : 1;
    }
    return p.done ? 0 : 1;
}
