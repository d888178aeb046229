// sasl_fetch.c: a command-line driver of one authenticated broker connection for the SASL
// end-to-end tests (tests/integration/sasl_e2e.sh): it fetches a topic's produced records over TLS
// + SASL through tests/broker/sasl_front.pl, and keeps a connection busy with pipelined requests
// across KIP-368 session lifetimes. One line per event on stdout:
//   state FROM -> TO err=NAME authn=0|1 msg=TEXT
//   partition P records=N next=OFFSET
//   fetched records=N
//   busy answers=A errors=E reauths=R connects=C
//   reauth hold_max_ms=MS            (longest time a re-authentication held requests back)
//   sasl exchanges=N completed=N failed=N reauths=N cache_hits=N cache_misses=N
//   response-error API msg=TEXT
//   sasl-config-error TEXT | tls-config-error TEXT
//   done records=N answers=A errors=E readies=N reauths=R failed=0|1
// and exits 0 when its goals were met, 1 otherwise.
//
// Usage: sasl_fetch HOST PORT [option...]
//   ca=FILE                          TLS, trusting FILE (without it: plaintext)
//   sasl=MECH user=NAME pass-env=VAR SASL (broker/sasl.h); the password is in environment VAR
//   sasl-allow-plaintext             let SASL run without TLS
//   sasl-no-reauth                   ignore the session lifetime (a client without KIP-368)
//   topic=NAME partitions=N expect=M goal: Fetch partitions 0..N-1 from offset 0 until M records
//   busy-ms=MS inflight=K            goal: keep K Metadata requests on the wire for MS, every one
//                                    answered without error (default K 8)
//   expect-fail                      goal: the first connection failure
//   lifetime-ms=MS                   give up after MS (default 30000)
#include "broker/conn.h"
#include "base/log.h"
#include "net/reactor.h"
#include "broker/sasl.h"
#include "net/tls.h"
#include "proto/api.h"
#include "proto/compress.h"
#include "proto/fetch.h"
#include "proto/metadata.h"
#include "proto/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARTS 64

struct app {
    struct net_reactor *r;
    struct broker_conn *c;
    struct kp_arena arena;
    // fetch goal
    const char *topic;
    int nparts;
    long expect, records;
    int64_t next[MAX_PARTS];
    bool fetching, fetch_done;
    // busy goal
    uint32_t busy_ms;
    int inflight, outstanding;
    bool busy_running, busy_done;
    long answers, errors;
    struct net_timer *busy_timer;
    // connection
    int readies;
    bool expect_fail, failed;
};

static void finish_if_done(struct app *a)
{
    bool fetch_ok = a->topic == NULL || a->fetch_done;
    bool busy_ok = a->busy_ms == 0 || a->busy_done;
    if (!a->expect_fail && fetch_ok && busy_ok) {
        net_reactor_stop(a->r);
    }
}

// ---- fetch -------------------------------------------------------------------------------------

static void send_fetch(struct app *a);

static bool fetch_body(kw *w, int16_t version, void *ctx)
{
    struct app *a = ctx;
    struct kp_fetch_req_partition parts[MAX_PARTS];
    for (int i = 0; i < a->nparts; i++) {
        parts[i] = (struct kp_fetch_req_partition){.partition = i,
                                                   .current_leader_epoch = -1,
                                                   .fetch_offset = a->next[i],
                                                   .last_fetched_epoch = -1,
                                                   .log_start_offset = -1,
                                                   .partition_max_bytes = 1 << 20};
    }
    struct kp_fetch_req_topic t = {
        .topic = a->topic, .partitions = parts, .num_partitions = (size_t)a->nparts};
    struct kp_fetch_req req = {.replica_id = -1,
                               .max_wait_ms = 200,
                               .min_bytes = 1,
                               .max_bytes = 4 << 20,
                               .session_epoch = -1,
                               .topics = &t,
                               .num_topics = 1};
    return kp_fetch_req_write(w, version, &req);
}

// count_records walks one partition's batches, counting records at or after its position.
static bool count_records(struct app *a, const struct kp_fetch_partition *p)
{
    struct kp_records_iter it;
    kp_records_init(&it, p->records.p, kr_left(&p->records), &a->arena, NULL);
    int idx = p->partition_index;
    long before = a->records;
    for (;;) {
        struct kp_batch b;
        bool end = false;
        struct kp_err err = {0};
        if (kp_records_next_batch(&it, &b, &end, &err) != KP_OK) {
            printf("response-error Fetch msg=record batch: %s\n", err.field ? err.field : "?");
            return false;
        }
        if (end) {
            break;
        }
        for (;;) {
            struct kp_record rec;
            if (kp_batch_next_record(&b, &rec, &end, &err) != KP_OK) {
                printf("response-error Fetch msg=record: %s\n", err.field ? err.field : "?");
                return false;
            }
            if (end) {
                break;
            }
            if (!b.is_control && rec.offset >= a->next[idx]) {
                a->records++;
            }
        }
        if (b.last_offset + 1 > a->next[idx]) {
            a->next[idx] = b.last_offset + 1;
        }
    }
    if (a->records > before) {
        printf("partition %d records=%ld next=%lld\n", idx, a->records - before,
               (long long)a->next[idx]);
    }
    return true;
}

static void on_fetch(struct broker_conn *c, const struct broker_resp *resp, void *ctx)
{
    (void)c;
    struct app *a = ctx;
    a->fetching = false;
    if (resp->err != BROKER_OK) {
        printf("response-error Fetch msg=%s\n", resp->msg);
        a->errors++;
        if (resp->err != BROKER_ERR_CLOSED) {
            send_fetch(a);
        }
        return;
    }
    struct kp_fetch_resp fr;
    struct kp_err err = {0};
    kr body = resp->body;
    if (kp_fetch_resp_parse(&body, resp->version, &fr, &err) != KP_OK) {
        printf("response-error Fetch msg=v%d does not parse (%s)\n", resp->version,
               err.field ? err.field : "?");
        a->errors++;
        return;
    }
    struct kp_fetch_iter ti, pi;
    struct kp_fetch_topic t;
    struct kp_fetch_partition p;
    kp_fetch_topics(&fr, &ti);
    while (kp_fetch_next_topic(&ti, &t)) {
        kp_fetch_partitions(&ti, &t, &pi);
        while (kp_fetch_next_partition(&pi, &p)) {
            if (p.partition_index < 0 || p.partition_index >= a->nparts) {
                continue;
            }
            if (p.error_code != 0) {
                printf("response-error Fetch msg=partition %d error %d\n", p.partition_index,
                       p.error_code);
                continue;
            }
            if (!count_records(a, &p)) {
                a->errors++;
            }
        }
    }
    kp_arena_reset(&a->arena);
    fflush(stdout);
    if (a->records >= a->expect) {
        printf("fetched records=%ld\n", a->records);
        a->fetch_done = true;
        finish_if_done(a);
        return;
    }
    send_fetch(a);
}

static void send_fetch(struct app *a)
{
    if (a->fetching || a->fetch_done) {
        return;
    }
    struct broker_req r = {.api_key = KP_API_FETCH,
                        .version = BROKER_VERSION_AUTO,
                        .write_body = fetch_body,
                        .body_ctx = a,
                        .on_resp = on_fetch,
                        .ctx = a};
    if (broker_conn_send(a->c, &r) == BROKER_OK) {
        a->fetching = true;
    }
}

// ---- busy --------------------------------------------------------------------------------------

static void send_metadata(struct app *a);

static bool metadata_body(kw *w, int16_t version, void *ctx)
{
    (void)ctx;
    struct kp_metadata_req req = {.all_topics = true, .allow_auto_topic_creation = true};
    return kp_metadata_req_write(w, version, &req);
}

static void busy_report(struct app *a)
{
    struct broker_conn_stats st;
    broker_conn_get_stats(a->c, &st);
    printf("busy answers=%ld errors=%ld reauths=%llu connects=%llu\n", a->answers, a->errors,
           (unsigned long long)st.reauths, (unsigned long long)st.connects);
    printf("reauth hold_max_ms=%u\n", st.reauth_hold_max_ms);
    fflush(stdout);
}

static void on_metadata(struct broker_conn *c, const struct broker_resp *resp, void *ctx)
{
    (void)c;
    struct app *a = ctx;
    a->outstanding--;
    if (resp->err != BROKER_OK) {
        printf("response-error Metadata msg=%s\n", resp->msg);
        a->errors++;
    } else {
        a->answers++;
    }
    if (a->busy_running && resp->err != BROKER_ERR_CLOSED) {
        send_metadata(a);
    } else if (!a->busy_running && a->outstanding == 0 && !a->busy_done) {
        busy_report(a);
        a->busy_done = a->errors == 0;
        finish_if_done(a);
    }
}

static void send_metadata(struct app *a)
{
    struct broker_req r = {.api_key = KP_API_METADATA,
                        .version = BROKER_VERSION_AUTO,
                        .write_body = metadata_body,
                        .on_resp = on_metadata,
                        .ctx = a};
    if (broker_conn_send(a->c, &r) == BROKER_OK) {
        a->outstanding++;
    }
}

static void busy_over(void *ctx)
{
    struct app *a = ctx;
    a->busy_running = false; // the answers still outstanding finish the goal
}

// ---- connection ----------------------------------------------------------------------------

static void on_state(struct broker_conn *c, const struct broker_conn_event *ev, void *ctx)
{
    (void)c;
    struct app *a = ctx;
    printf("state %s -> %s err=%s authn=%d msg=%s\n", broker_conn_state_name(ev->from),
           broker_conn_state_name(ev->to), broker_err_name(ev->err), broker_conn_event_is_authn(ev),
           ev->msg ? ev->msg : "");
    fflush(stdout);
    if (ev->err != BROKER_OK && a->expect_fail) {
        a->failed = true;
        net_reactor_stop(a->r);
        return;
    }
    if (ev->to != BROKER_CONN_READY || a->readies++ > 0) {
        return;
    }
    if (a->topic != NULL) {
        send_fetch(a);
    }
    if (a->busy_ms > 0) {
        a->busy_running = true;
        net_timer_arm(a->busy_timer, a->busy_ms);
        for (int i = 0; i < a->inflight; i++) {
            send_metadata(a);
        }
    }
}

static void on_lifetime(void *ctx)
{
    struct app *a = ctx;
    printf("lifetime over\n");
    net_reactor_stop(a->r);
}

static const char *opt(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: sasl_fetch HOST PORT [option...]\n");
        return 2;
    }
    struct app a = {.inflight = 8};
    struct net_tls_config tc = {0};
    struct broker_sasl_config sc = {0};
    const char *pass_env = NULL;
    uint32_t lifetime = 30000;
    for (int i = 3; i < argc; i++) {
        const char *s = argv[i], *v;
        if ((v = opt(s, "ca"))) {
            tc.ca_file = v;
        } else if ((v = opt(s, "sasl"))) {
            sc.mechanism = v;
        } else if ((v = opt(s, "user"))) {
            sc.user = v;
        } else if ((v = opt(s, "pass-env"))) {
            pass_env = v;
        } else if (strcmp(s, "sasl-allow-plaintext") == 0) {
            sc.allow_plaintext = true;
        } else if (strcmp(s, "sasl-no-reauth") == 0) {
            sc.ignore_session_lifetime = true;
        } else if ((v = opt(s, "topic"))) {
            a.topic = v;
        } else if ((v = opt(s, "partitions"))) {
            a.nparts = atoi(v);
        } else if ((v = opt(s, "expect"))) {
            a.expect = atol(v);
        } else if ((v = opt(s, "busy-ms"))) {
            a.busy_ms = (uint32_t)atol(v);
        } else if ((v = opt(s, "inflight"))) {
            a.inflight = atoi(v);
        } else if (strcmp(s, "expect-fail") == 0) {
            a.expect_fail = true;
        } else if ((v = opt(s, "lifetime-ms"))) {
            lifetime = (uint32_t)atol(v);
        } else {
            fprintf(stderr, "sasl_fetch: unknown option %s\n", s);
            return 2;
        }
    }
    if (a.topic != NULL && (a.nparts < 1 || a.nparts > MAX_PARTS || a.expect < 1)) {
        fprintf(stderr, "sasl_fetch: topic= needs partitions=1..%d and expect=M\n", MAX_PARTS);
        return 2;
    }
    char err[300];
    struct net_tls_ctx *tls = NULL;
    if (tc.ca_file != NULL) {
        tls = net_tls_ctx_new(&tc, err, sizeof err);
        if (tls == NULL) {
            printf("tls-config-error %s\n", err);
            return 1;
        }
    }
    struct broker_sasl *sasl = NULL;
    struct broker_conn_config cfg = {.tls = tls, .backoff_max_ms = 1000};
    if (sc.mechanism != NULL) {
        const char *pw = pass_env ? getenv(pass_env) : NULL;
        sc.password = pw ? pw : "";
        sc.user = sc.user ? sc.user : "";
        sc.tls = tls != NULL;
        sasl = broker_sasl_new_config(&sc, err, sizeof err);
        if (sasl == NULL) {
            printf("sasl-config-error %s\n", err);
            net_tls_ctx_free(tls);
            return 1;
        }
        cfg.auth = broker_sasl_auth(sasl);
    }
    kp_arena_init(&a.arena, 0);
    a.r = net_reactor_new(NULL);
    if (a.r == NULL) {
        return 1;
    }
    struct net_timer *life = net_timer_new(a.r, on_lifetime, &a);
    net_timer_arm(life, lifetime);
    a.busy_timer = net_timer_new(a.r, busy_over, &a);
    struct broker_conn_callbacks cb = {on_state, &a};
    a.c = broker_conn_new(a.r, argv[1], (uint16_t)atoi(argv[2]), &cfg, &cb);
    net_reactor_run(a.r);
    struct broker_conn_stats st;
    broker_conn_get_stats(a.c, &st);
    broker_conn_free(a.c);
    net_timer_free(a.busy_timer);
    net_timer_free(life);
    net_reactor_free(a.r);
    kp_arena_cleanup(&a.arena);
    if (sasl != NULL) {
        struct broker_sasl_stats ss;
        broker_sasl_get_stats(sasl, &ss);
        printf("sasl exchanges=%llu completed=%llu failed=%llu reauths=%llu cache_hits=%llu "
               "cache_misses=%llu\n",
               (unsigned long long)ss.started, (unsigned long long)ss.completed,
               (unsigned long long)ss.failed, (unsigned long long)ss.reauths,
               (unsigned long long)ss.cache_hits, (unsigned long long)ss.cache_misses);
    }
    broker_sasl_free(sasl);
    net_tls_ctx_free(tls);
    printf("done records=%ld answers=%ld errors=%ld readies=%d reauths=%llu failed=%d\n", a.records,
           a.answers, a.errors, a.readies, (unsigned long long)st.reauths, a.failed);
    if (a.expect_fail) {
        return a.failed ? 0 : 1;
    }
    bool ok = (a.topic == NULL || a.fetch_done) && (a.busy_ms == 0 || a.busy_done);
    return ok ? 0 : 1;
}
