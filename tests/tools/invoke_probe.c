// invoke_probe.c: submits payloads through one invoke/ transport on the net reactor and prints
// each result, for tests/integration/invoke_http.sh. One line per result on stdout:
//   result N kind=KIND status=S ms=MS failures=P@O,P@O message=TEXT
// then one line of HTTP client counters (network transports):
//   stats requests=R opened=C reused=U stale_retries=S idle=I
// Exit status: 0 when every submission got a result, 1 otherwise, 2 for a setup error (printed
// as "setup-error TEXT").
//
// Usage: invoke_probe TRANSPORT [option...] [-- PROGRAM ARGS...]
//   TRANSPORT             http | lambda | exec
//   url=URL               http: where to POST
//   function=F qualifier=Q region=R endpoint=URL   lambda (credentials from the environment
//                         or the shared credentials file, as invoke/credentials.h says)
//   sign-region=R         http: sign with SigV4 (a function URL with AWS_IAM auth), credentials
//                         as for lambda
//   ca=FILE               trust this CA for https (else the system store)
//   timeout-ms=N attempts=N backoff-ms=N backoff-max-ms=N connect-timeout-ms=N
//   max-concurrency=N     invocations on the wire at once (network transports)
//   abandon-wait-ms=N     one-at-a-time endpoints: wait for an invocation given up on
//   report                ReportBatchItemFailures
//   count=N               submit the payload N times, each after the previous result (default 1)
//   parallel              submit all N at once instead
//   payload=TEXT          the event (default {"eventSource":"SelfManagedKafka","records":{}})
//   payload-size=N        an event of N bytes (a JSON object padded with spaces)
//   lifetime-ms=N         give up after N ms (default 60000)
//   exec runs PROGRAM ARGS (after --) through the inv_driver.
#include "invoke/credentials.h"
#include "invoke/transport.h"
#include "invoke/transport_net.h"
#include "net/http.h"
#include "net/reactor.h"
#include "net/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct probe {
    struct net_reactor *r;
    struct inv_transport *t;
    struct inv_driver *drv;
    const char *payload;
    size_t len;
    int count, submitted, done;
    bool parallel;
    uint64_t start_ms[64];
    int index_of_id[64];
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void submit_one(struct probe *p);

static void on_done(void *ctx, uint64_t id, const struct inv_result *res)
{
    struct probe *p = ctx;
    int n = id < 64 ? p->index_of_id[id] : 0;
    printf("result %d kind=%s status=%d ms=%llu failures=", n, inv_result_kind_name(res->kind),
           res->status, (unsigned long long)(now_ms() - p->start_ms[n % 64]));
    for (size_t i = 0; i < res->num_failures; i++) {
        printf("%s%s@%lld", i ? "," : "", res->failures[i].partition,
               (long long)res->failures[i].offset);
    }
    printf(" message=%s\n", res->message ? res->message : "");
    fflush(stdout);
    p->done++;
    if (p->done == p->count) {
        net_reactor_stop(p->r);
    } else if (!p->parallel) {
        submit_one(p);
    }
}

static void submit_one(struct probe *p)
{
    struct inv_err err = {{0}};
    uint64_t id;
    int n = p->submitted++;
    p->start_ms[n % 64] = now_ms();
    if (inv_transport_submit(p->t, p->payload, p->len, on_done, p, &id, &err) != 0) {
        printf("result %d kind=submit-error status=-1 ms=0 failures= message=%s\n", n, err.msg);
        p->done++;
        if (p->done == p->count) {
            net_reactor_stop(p->r);
        }
        return;
    }
    if (id < 64) {
        p->index_of_id[id] = n;
    }
    if (p->drv != NULL) {
        inv_driver_kick(p->drv);
    }
}

static void on_lifetime(void *ctx)
{
    struct probe *p = ctx;
    printf("lifetime-expired done=%d of %d\n", p->done, p->count);
    net_reactor_stop(p->r);
}

static const char *opt(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

static uint32_t u32(const char *s)
{
    return (uint32_t)strtoul(s, NULL, 10);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: invoke_probe http|lambda|exec [option...]\n");
        return 2;
    }
    const char *kind = argv[1];
    struct inv_net_opts o = {0};
    struct inv_lambda_cfg lc = {0};
    const char *url = NULL, *ca = NULL, *sign_region = NULL;
    const char *const *exec_argv = NULL;
    struct probe p = {.count = 1,
                      .payload = "{\"eventSource\":\"SelfManagedKafka\",\"records\":{}}"};
    uint32_t lifetime = 60000;
    char *big = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--") == 0) {
            exec_argv = (const char *const *)&argv[i + 1];
            break;
        } else if ((v = opt(a, "url"))) {
            url = v;
        } else if ((v = opt(a, "function"))) {
            lc.function = v;
        } else if ((v = opt(a, "qualifier"))) {
            lc.qualifier = v;
        } else if ((v = opt(a, "region"))) {
            lc.region = v;
        } else if ((v = opt(a, "endpoint"))) {
            lc.endpoint = v;
        } else if ((v = opt(a, "sign-region"))) {
            sign_region = v;
        } else if ((v = opt(a, "ca"))) {
            ca = v;
        } else if ((v = opt(a, "timeout-ms"))) {
            o.timeout_ms = u32(v);
        } else if ((v = opt(a, "connect-timeout-ms"))) {
            o.connect_timeout_ms = u32(v);
        } else if ((v = opt(a, "max-concurrency"))) {
            o.max_concurrency = u32(v);
        } else if ((v = opt(a, "abandon-wait-ms"))) {
            o.abandon_wait_ms = u32(v);
        } else if ((v = opt(a, "attempts"))) {
            o.max_attempts = u32(v);
        } else if ((v = opt(a, "backoff-ms"))) {
            o.backoff_initial_ms = u32(v);
        } else if ((v = opt(a, "backoff-max-ms"))) {
            o.backoff_max_ms = u32(v);
        } else if (strcmp(a, "report") == 0) {
            o.report_batch_item_failures = true;
        } else if ((v = opt(a, "count"))) {
            p.count = (int)u32(v);
        } else if (strcmp(a, "parallel") == 0) {
            p.parallel = true;
        } else if ((v = opt(a, "payload"))) {
            p.payload = v;
        } else if ((v = opt(a, "payload-size"))) {
            size_t n = strtoul(v, NULL, 10);
            big = malloc(n + 1);
            if (big == NULL || n < 2) {
                return 2;
            }
            memset(big, ' ', n);
            big[0] = '{';
            big[n - 1] = '}';
            big[n] = '\0';
            p.payload = big;
        } else if ((v = opt(a, "lifetime-ms"))) {
            lifetime = u32(v);
        } else {
            printf("setup-error unknown option %s\n", a);
            return 2;
        }
    }
    if (p.count < 1 || p.count > 64) {
        printf("setup-error count must be 1-64\n");
        return 2;
    }
    p.len = strlen(p.payload);
    p.r = net_reactor_new(NULL);
    if (p.r == NULL) {
        return 2;
    }
    struct net_tls_ctx *tls = NULL;
    char terr[300];
    struct net_tls_config tc = {.ca_file = ca};
    tls = net_tls_ctx_new(&tc, terr, sizeof terr);
    if (tls == NULL) {
        printf("setup-error TLS: %s\n", terr);
        return 2;
    }
    o.tls = tls;
    struct inv_err err = {{0}};
    struct inv_creds creds;
    inv_creds_init(&creds);
    int rc = -1;
    if (strcmp(kind, "http") == 0) {
        struct inv_http_cfg hc = {.url = url, .opts = o, .sign_region = sign_region};
        rc = 0;
        if (sign_region != NULL) {
            rc = inv_creds_load(&creds, NULL, &err);
            hc.sign_creds = &creds;
        }
        if (rc == 0) {
            rc = inv_http_new(&p.t, p.r, &hc, &err);
        }
    } else if (strcmp(kind, "lambda") == 0) {
        if (inv_creds_load(&creds, NULL, &err) == 0) {
            lc.creds = &creds;
            lc.opts = o;
            rc = inv_lambda_new(&p.t, p.r, &lc, &err);
        }
    } else if (strcmp(kind, "exec") == 0 && exec_argv != NULL) {
        struct inv_exec_cfg ec = {.argv = exec_argv,
                                  .timeout_ms = o.timeout_ms,
                                  .report_batch_item_failures = o.report_batch_item_failures};
        rc = inv_exec_new(&p.t, &ec, &err);
        if (rc == 0) {
            p.drv = inv_driver_new(p.r, p.t);
        }
    } else {
        snprintf(err.msg, sizeof err.msg, "unknown transport %s (or exec without -- PROGRAM)",
                 kind);
    }
    if (rc != 0) {
        printf("setup-error %s\n", err.msg);
        inv_creds_cleanup(&creds);
        net_tls_ctx_free(tls);
        net_reactor_free(p.r);
        free(big);
        return 2;
    }
    struct net_timer *life = net_timer_new(p.r, on_lifetime, &p);
    net_timer_arm(life, lifetime);
    int first = p.parallel ? p.count : 1;
    for (int i = 0; i < first; i++) {
        submit_one(&p);
    }
    if (p.done < p.count) {
        net_reactor_run(p.r);
    }
    struct net_http_stats st;
    if (inv_net_transport_stats(p.t, &st) == 0) {
        printf("stats requests=%llu opened=%llu reused=%llu stale_retries=%llu idle=%zu\n",
               (unsigned long long)st.requests, (unsigned long long)st.connections_opened,
               (unsigned long long)st.connections_reused, (unsigned long long)st.stale_retries,
               st.idle_connections);
    }
    int ok = p.done == p.count;
    net_timer_free(life);
    inv_driver_free(p.drv);
    inv_transport_free(p.t);
    inv_creds_cleanup(&creds);
    net_tls_ctx_free(tls);
    net_reactor_free(p.r);
    free(big);
    return ok ? 0 : 1;
}
