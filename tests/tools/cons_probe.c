// cons_probe.c: runs one kesm consumer (consumer/consumer.h) for the integration tests and the
// benchmark. Every delivered record becomes one line on stdout
//   TOPIC PARTITION OFFSET KEY VALUE
// (null key/value print as "-"), and is acknowledged at once; each new assignment also prints a
// line "# assigned N" there. Events go to stderr as lines
//   assigned N T[P] ...  |  positioned N  |  revoking N  |  state NAME gen=G  |  error CLASS MSG
//   |  closed
// ("positioned N": every one of the N assigned partitions has a fetch position, so a record
// produced from now on is delivered whatever the starting position; once per assignment).
// SIGTERM or SIGINT closes the consumer gracefully (final commit, LeaveGroup) and exits 0.
//
// Usage: cons_probe BOOTSTRAP GROUP TOPIC[,TOPIC...] [option...]
//   start=latest|earliest|ts:MS     starting position (default earliest)
//   session=MS heartbeat=MS commit=MS   group timeouts and auto-commit interval
//   instance=ID                     static membership (group.instance.id)
//   expect=N                        exit (without closing) once N records were delivered
//   close-after=N                   close gracefully once N records were delivered, then exit
//   lifetime=S                      give up after S seconds (exit 3; default 120)
//   quiet                           do not print records (benchmark null sink)
//   ts                              append " ts=<record timestamp>" to each record line
//   pause=P                         pause partition P of every topic as soon as it is assigned
//   stats                           print per-partition stats lines on stderr when closing or
//                                   exiting
//   wait-ms=MS                      Fetch max wait (default 500)
//   ca=FILE                         TLS, trusting the CA certificates in FILE
//   sasl=MECH user=NAME pass-env=VAR  SASL (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN; TLS required);
//                                   the password is read from environment variable VAR
#include "consumer/consumer.h"
#include "base/log.h"
#include "net/reactor.h"
#include "broker/sasl.h"
#include "net/tls.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct probe {
    struct net_reactor *r;
    struct cons *c;
    long long delivered, expect, close_after;
    bool quiet, stats, closing, ts;
    bool positioned; // "positioned" printed for the current assignment
    int pause_part;  // -1 = none
    int rc;
    struct net_timer *position_timer;
};

static void print_bytes(const uint8_t *p, size_t n, bool null)
{
    if (null) {
        fputs("-", stdout);
        return;
    }
    fwrite(p, 1, n, stdout);
}

static void closed(struct cons *c, void *ctx)
{
    (void)c;
    struct probe *p = ctx;
    fprintf(stderr, "closed\n");
    net_reactor_stop(p->r);
}

static void print_stats(struct cons *c);

static void start_close(struct probe *p)
{
    if (!p->closing) {
        if (p->stats) {
            print_stats(p->c); // before the close empties the assignment
        }
        p->closing = true;
        cons_close(p->c, closed, p);
    }
}

static void on_records(struct cons *c, const struct cons_record_batch *b, void *ctx)
{
    struct probe *p = ctx;
    for (size_t i = 0; i < b->num_records; i++) {
        const struct cons_record *r = &b->records[i];
        if (!p->quiet) {
            printf("%s %d %lld ", b->topic, (int)b->partition, (long long)r->offset);
            print_bytes(r->key, r->key_len, r->key_null);
            fputc(' ', stdout);
            print_bytes(r->value, r->value_len, r->value_null);
            if (p->ts) {
                printf(" ts=%lld", (long long)r->timestamp);
            }
            fputc('\n', stdout);
        }
    }
    if (!p->quiet) {
        fflush(stdout);
    }
    p->delivered += (long long)b->num_records;
    if (b->num_records > 0) {
        cons_ack(c, b->topic, b->partition, b->records[b->num_records - 1].offset + 1);
    }
    if (p->expect > 0 && p->delivered >= p->expect) {
        net_reactor_stop(p->r);
    }
    if (p->close_after > 0 && p->delivered >= p->close_after) {
        start_close(p);
    }
}

static void on_assigned(struct cons *c, const struct cons_tp *tps, size_t n, void *ctx)
{
    struct probe *p = ctx;
    if (!p->quiet) {
        printf("# assigned %zu\n", n); // lets checkers tell a takeover from a lost record
        fflush(stdout);
    }
    p->positioned = false;
    fprintf(stderr, "assigned %zu", n);
    for (size_t i = 0; i < n; i++) {
        fprintf(stderr, " %s[%d]", tps[i].topic, (int)tps[i].partition);
        if (tps[i].partition == p->pause_part) {
            cons_pause(c, tps[i].topic, tps[i].partition);
        }
    }
    fprintf(stderr, "\n");
}

static void on_revoking(struct cons *c, const struct cons_tp *tps, size_t n, void *ctx)
{
    (void)tps;
    (void)ctx;
    fprintf(stderr, "revoking %zu\n", n);
    cons_revoke_done(c);
}

static void on_error(struct cons *c, enum cons_error_class cls, const char *msg, void *ctx)
{
    (void)c;
    struct probe *p = ctx;
    fprintf(stderr, "error %s %s\n", cons_error_class_name(cls), msg);
    if (cls != CONS_ERR_TRANSIENT) {
        p->rc = 1;
        net_reactor_stop(p->r);
    }
}

static void on_state(struct cons *c, const struct cons_state_info *st, void *ctx)
{
    (void)c;
    (void)ctx;
    fprintf(stderr, "state %s gen=%d leader=%d\n", st->state, (int)st->generation, st->leader);
}

static void on_signal(int signo, void *ctx)
{
    (void)signo;
    start_close(ctx);
}

static void on_lifetime(void *ctx)
{
    struct probe *p = ctx;
    fprintf(stderr, "lifetime expired\n");
    p->rc = 3;
    net_reactor_stop(p->r);
}

// on_position_timer prints "positioned N" once every assigned partition has a position.
static void on_position_timer(void *ctx)
{
    struct probe *p = ctx;
    struct cons_partition_stats st[256];
    size_t n = cons_stats(p->c, st, 256);
    bool all = n > 0 && n <= 256;
    for (size_t i = 0; all && i < n; i++) {
        all = st[i].position >= 0;
    }
    if (all && !p->positioned) {
        p->positioned = true;
        fprintf(stderr, "positioned %zu\n", n);
    }
    net_timer_arm(p->position_timer, 50);
}

static void print_stats(struct cons *c)
{
    struct cons_partition_stats st[256];
    size_t n = cons_stats(c, st, 256);
    for (size_t i = 0; i < n && i < 256; i++) {
        fprintf(stderr, "stats %s[%d] position=%lld committed=%lld hw=%lld lag=%lld\n", st[i].topic,
                (int)st[i].partition, (long long)st[i].position, (long long)st[i].committed,
                (long long)st[i].high_watermark, (long long)st[i].lag);
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: cons_probe BOOTSTRAP GROUP TOPIC[,TOPIC...] [option...]\n");
        return 2;
    }
    static char topic_buf[1024];
    snprintf(topic_buf, sizeof topic_buf, "%s", argv[3]);
    const char *topics[16];
    size_t nt = 0;
    for (char *t = strtok(topic_buf, ","); t && nt < 16; t = strtok(NULL, ",")) {
        topics[nt++] = t;
    }
    struct cons_config cfg = {.bootstrap = argv[1],
                              .group_id = argv[2],
                              .topics = topics,
                              .num_topics = nt,
                              .client_id = "cons-probe",
                              .start = CONS_START_TRIM_HORIZON};
    struct probe p = {.rc = 0, .pause_part = -1};
    long lifetime = 120;
    const char *ca = NULL, *mech = NULL, *user = "", *pass = "";
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "ca=", 3)) {
            ca = a + 3;
        } else if (!strncmp(a, "sasl=", 5)) {
            mech = a + 5;
        } else if (!strncmp(a, "user=", 5)) {
            user = a + 5;
        } else if (!strncmp(a, "pass-env=", 9)) {
            pass = getenv(a + 9) ? getenv(a + 9) : "";
        } else if (!strcmp(a, "start=latest")) {
            cfg.start = CONS_START_LATEST;
        } else if (!strcmp(a, "start=earliest")) {
            cfg.start = CONS_START_TRIM_HORIZON;
        } else if (!strncmp(a, "start=ts:", 9)) {
            cfg.start = CONS_START_AT_TIMESTAMP;
            cfg.start_timestamp_ms = atoll(a + 9);
        } else if (!strncmp(a, "session=", 8)) {
            cfg.session_timeout_ms = (uint32_t)atol(a + 8);
        } else if (!strncmp(a, "heartbeat=", 10)) {
            cfg.heartbeat_interval_ms = (uint32_t)atol(a + 10);
        } else if (!strncmp(a, "commit=", 7)) {
            cfg.auto_commit_interval_ms = (uint32_t)atol(a + 7);
        } else if (!strncmp(a, "instance=", 9)) {
            cfg.group_instance_id = a + 9;
        } else if (!strncmp(a, "expect=", 7)) {
            p.expect = atoll(a + 7);
        } else if (!strncmp(a, "close-after=", 12)) {
            p.close_after = atoll(a + 12);
        } else if (!strncmp(a, "lifetime=", 9)) {
            lifetime = atol(a + 9);
        } else if (!strncmp(a, "wait-ms=", 8)) {
            cfg.fetch_max_wait_ms = atoi(a + 8);
        } else if (!strcmp(a, "quiet")) {
            p.quiet = true;
        } else if (!strncmp(a, "pause=", 6)) {
            p.pause_part = atoi(a + 6);
        } else if (!strcmp(a, "ts")) {
            p.ts = true;
        } else if (!strcmp(a, "stats")) {
            p.stats = true;
        } else {
            fprintf(stderr, "cons_probe: unknown option %s\n", a);
            return 2;
        }
    }
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    p.r = net_reactor_new(NULL);
    if (!p.r) {
        return 1;
    }
    char err[256];
    struct net_tls_ctx *tls = NULL;
    struct broker_sasl *sasl = NULL;
    if (ca) {
        struct net_tls_config tc = {.ca_file = ca};
        if (!(tls = net_tls_ctx_new(&tc, err, sizeof err))) {
            fprintf(stderr, "error config %s\n", err);
            net_reactor_free(p.r);
            return 2;
        }
        cfg.tls = tls;
    }
    if (mech) {
        struct broker_sasl_config sc = {
            .mechanism = mech, .user = user, .password = pass, .tls = tls != NULL};
        if (!(sasl = broker_sasl_new_config(&sc, err, sizeof err))) {
            fprintf(stderr, "error config %s\n", err);
            net_tls_ctx_free(tls);
            net_reactor_free(p.r);
            return 2;
        }
        cfg.auth = broker_sasl_auth(sasl);
    }
    struct cons_callbacks cb = {.on_records = on_records,
                                .on_assigned = on_assigned,
                                .on_revoking = on_revoking,
                                .on_error = on_error,
                                .on_state = on_state,
                                .ctx = &p};
    p.c = cons_new(p.r, &cfg, &cb, err, sizeof err);
    if (!p.c) {
        fprintf(stderr, "error config %s\n", err);
        broker_sasl_free(sasl);
        net_tls_ctx_free(tls);
        net_reactor_free(p.r);
        return 2;
    }
    struct net_signal *s1 = net_signal_new(p.r, SIGTERM, on_signal, &p);
    struct net_signal *s2 = net_signal_new(p.r, SIGINT, on_signal, &p);
    struct net_timer *life = net_timer_new(p.r, on_lifetime, &p);
    net_timer_arm(life, (uint64_t)lifetime * 1000);
    p.position_timer = net_timer_new(p.r, on_position_timer, &p);
    net_timer_arm(p.position_timer, 50);
    net_reactor_run(p.r);
    if (p.stats && !p.closing) {
        print_stats(p.c);
    }
    fflush(stdout);
    net_timer_free(p.position_timer); // it reads the consumer
    cons_free(p.c);
    // libevent finishes freeing closed TLS connections from the loop: give it a turn.
    net_reactor_run_for(p.r, 20);
    net_timer_free(life);
    net_signal_free(s1);
    net_signal_free(s2);
    broker_sasl_free(sasl);
    net_tls_ctx_free(tls);
    net_reactor_free(p.r);
    fprintf(stderr, "delivered %lld\n", p.delivered);
    return p.rc;
}
