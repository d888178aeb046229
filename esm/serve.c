// serve.c: `kesm serve` (see serve.h).
//
// The process runs on one net reactor: the HTTP API (evhttp) and every mapping's consumer and
// invocations. Mappings run with esm_runner_instance (one esm_instance per enabled mapping).
//
// evhttp (esm/api.c) runs on the reactor's event_base, reached through net_reactor_event_base.
#include "esm/serve.h"

#include "esm/api.h"
#include "esm/mapping.h"
#include "esm/route.h"
#include "esm/runner_instance.h"
#include "esm/secrets.h"
#include "esm/status_http.h"
#include "esm/store.h"
#include "invoke/credentials.h"
#include "net/reactor.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef KESM_VERSION
#define KESM_VERSION "0.0.0"
#endif

struct serve_opts {
    uint32_t drain_ms;
    char host[256];
    uint16_t port;
    const char *state_dir;
    bool allow_remote;
    bool verify_sigv4;
    const char *region;
    const char *account;
    const char *nameserver;
    struct esm_secrets_config secrets;
    struct esm_routes routes;
    struct esm_status_opts status;
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: kesm serve [--listen HOST:PORT] [--state-dir DIR] [--allow-remote]\n"
        "                  [--region REGION] [--account ID] [--verify-sigv4]\n"
        "                  [--drain-timeout MS] [--secrets-dir DIR] [--secrets-manager]\n"
        "                  [--secrets-manager-endpoint URL] [--secrets-manager-ca FILE]\n"
        "                  [--route PATTERN=TARGET]... [--nameserver IP[:PORT]]\n"
        "                  [--status-listen HOST:PORT] [--stuck-after SECONDS]\n"
        "  --listen HOST:PORT  API address (default 127.0.0.1:9320; port 0 = pick one)\n"
        "  --state-dir DIR     where mappings are kept (default ./kesm-state)\n"
        "  --allow-remote      answer clients that are not on loopback\n"
        "  --region REGION     region for bare function names (default us-east-1)\n"
        "  --account ID        account for bare function names (default 000000000000)\n"
        "  --verify-sigv4      require requests signed (SigV4) with the credentials of the\n"
        "                      environment or the shared credentials file\n"
        "  --drain-timeout MS  how long in-flight invocations may finish when a mapping\n"
        "                      stops (default 10000)\n"
        "  --secrets-dir DIR   Secrets Manager ARNs and names in SourceAccessConfigurations\n"
        "                      resolve to DIR/<secret name> (mode 700 directory, 600 files)\n"
        "  --secrets-manager   fetch them from AWS Secrets Manager instead (GetSecretValue,\n"
        "                      SigV4 with the environment's credentials, the ARN's region)\n"
        "  --secrets-manager-endpoint URL   Secrets Manager endpoint override (tests)\n"
        "  --secrets-manager-ca FILE        CA file for an https endpoint\n"
        "  --route PATTERN=TARGET  where functions without Kesm.Transport are delivered:\n"
        "                      PATTERN '*', a name, name:qualifier or ARN; TARGET lambda,\n"
        "                      lambda:URL, http:URL, exec:PROG [ARG...] or stdout (repeatable;\n"
        "                      with routes, an unmatched function is FUNCTION_CONFIG_NOT_VALID)\n"
        "  --nameserver IP[:PORT]  DNS server for broker names instead of resolv.conf's\n");
    esm_status_usage(out);
}

static bool parse_listen(struct serve_opts *o, const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s) {
        return false;
    }
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535) {
        return false;
    }
    size_t hl = (size_t)(colon - s);
    if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') {
        s++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof o->host) {
        return false;
    }
    memcpy(o->host, s, hl);
    o->host[hl] = '\0';
    o->port = (uint16_t)port;
    return true;
}

static bool host_is_loopback(const char *h)
{
    return !strncmp(h, "127.", 4) || !strcmp(h, "::1") || !strcmp(h, "localhost");
}

// parse_args returns 0 to run, 1 for --help (exit 0), 2 on a usage error.
static int parse_args(struct serve_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    snprintf(o->host, sizeof o->host, "127.0.0.1");
    o->port = 9320;
    o->state_dir = "kesm-state";
    o->drain_ms = 10000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int took = esm_status_flag(&o->status, a, v);
        if (took < 0) {
            return 2;
        } else if (took > 0) {
            i += took - 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            return 1;
        } else if (!strcmp(a, "--allow-remote")) {
            o->allow_remote = true;
        } else if (!strcmp(a, "--verify-sigv4")) {
            o->verify_sigv4 = true;
        } else if (!strcmp(a, "--listen") && v) {
            if (!parse_listen(o, v)) {
                fprintf(stderr, "kesm serve: --listen wants HOST:PORT (port 0-65535), not '%s'\n",
                        v);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--drain-timeout") && v) {
            char *end = NULL;
            long ms = strtol(v, &end, 10);
            if (!*v || *end || ms < 0 || ms > 900000) {
                fprintf(stderr, "kesm serve: --drain-timeout wants 0-900000 ms, not '%s'\n", v);
                return 2;
            }
            o->drain_ms = (uint32_t)ms;
            i++;
        } else if (!strcmp(a, "--state-dir") && v) {
            o->state_dir = v;
            i++;
        } else if (!strcmp(a, "--region") && v) {
            o->region = v;
            i++;
        } else if (!strcmp(a, "--account") && v) {
            o->account = v;
            i++;
        } else if (!strcmp(a, "--secrets-dir") && v) {
            o->secrets.dir = v;
            i++;
        } else if (!strcmp(a, "--secrets-manager")) {
            o->secrets.secrets_manager = true;
        } else if (!strcmp(a, "--secrets-manager-endpoint") && v) {
            o->secrets.sm_endpoint = v;
            i++;
        } else if (!strcmp(a, "--secrets-manager-ca") && v) {
            o->secrets.sm_ca_file = v;
            i++;
        } else if (!strcmp(a, "--nameserver") && v) {
            o->nameserver = v;
            i++;
        } else if (!strcmp(a, "--route") && v) {
            char why[512];
            if (esm_routes_add(&o->routes, v, why, sizeof why) != 0) {
                fprintf(stderr, "kesm serve: %s\n", why);
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "kesm serve: unknown or incomplete option '%s' (see --help)\n", a);
            return 2;
        }
    }
    if (!o->allow_remote && !host_is_loopback(o->host)) {
        fprintf(stderr,
                "kesm serve: refusing to listen on non-loopback address %s without "
                "--allow-remote (and consider --verify-sigv4)\n",
                o->host);
        return 2;
    }
    if (o->status.listen && !o->allow_remote && !host_is_loopback(o->status.host)) {
        fprintf(stderr,
                "kesm serve: refusing to serve the status page on non-loopback address %s "
                "without --allow-remote\n",
                o->status.host);
        return 2;
    }
    return 0;
}

struct serve {
    struct net_reactor *r;
    int signals;
};

static void on_signal(int signo, void *ctx)
{
    struct serve *sv = ctx;
    sv->signals++;
    fprintf(stderr, "kesm: serve: signal %d, stopping%s\n", signo,
            sv->signals > 1 ? " now"
                            : " (mappings finish in-flight work; a second signal "
                              "skips that)");
    net_reactor_stop(sv->r);
}

static void log_line(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "kesm: %s\n", line);
}

// drain runs the reactor until every mapping's runner has stopped, at most |ms| (+1 s).
static void drain(struct serve *sv, struct esm_manager *mgr, uint32_t ms)
{
    if (esm_manager_stop_all(mgr) == 0) {
        return;
    }
    uint64_t deadline = net_reactor_now_ms(sv->r) + ms + 1000;
    int seen = sv->signals;
    while (esm_manager_active(mgr) > 0 && sv->signals == seen &&
           net_reactor_now_ms(sv->r) < deadline) {
        net_reactor_run_for(sv->r, 100);
    }
}

int esm_serve_main(int argc, char **argv)
{
    struct serve_opts o;
    int rc = parse_args(&o, argc, argv);
    if (rc != 0) {
        esm_routes_cleanup(&o.routes);
        usage(rc == 1 ? stdout : stderr);
        return rc == 1 ? 0 : 2;
    }
    // Ignore SIGTERM/SIGINT until the reactor's handlers take over; libevent restores this
    // disposition when they are freed, so a second signal during shutdown (timeout(1) sends one to
    // the process and one to its group) cannot kill the process half-way. Blocking the signals
    // instead hangs LeakSanitizer's exit-time check when one is pending.
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    char why[512];
    struct serve sv = {0};
    struct net_reactor_config rcfg = {.nameserver = o.nameserver};
    sv.r = net_reactor_new(&rcfg);
    struct esm_store *store = sv.r ? esm_store_open(o.state_dir, why, sizeof why) : NULL;
    struct esm_secrets *secrets = NULL;
    if (store) {
        o.secrets.sm_region = o.region;
        secrets = esm_secrets_new(sv.r, &o.secrets, why, sizeof why);
    }
    if (!sv.r || !store || !secrets) {
        fprintf(stderr, "kesm serve: %s\n", sv.r ? why : "cannot create the event loop");
        esm_store_free(store);
        esm_routes_cleanup(&o.routes);
        net_reactor_free(sv.r);
        return 1;
    }
    struct esm_manager_config mc = {0};
    mc.store = store;
    mc.region = o.region;
    mc.account = o.account;
    mc.log = log_line;
    struct esm_manager *mgr = esm_manager_new(&mc);
    struct esm_api_config ac = {o.host, o.port, o.allow_remote, 0, NULL, o.region, NULL, NULL};
    struct esm_api *api = NULL;
    struct esm_status_server *status = NULL;
    struct inv_creds creds;
    inv_creds_init(&creds);
    struct net_signal *sigterm = NULL, *sigint = NULL;
    rc = 1;
    struct esm_runner runner =
        mgr ? esm_runner_instance_new(mgr, sv.r, o.drain_ms) : (struct esm_runner){NULL, NULL};
    if (!mgr || !runner.ops) {
        fprintf(stderr, "kesm serve: out of memory\n");
        goto out;
    }
    struct esm_runner_env env = {secrets, &o.routes};
    esm_runner_instance_set_env(runner, &env);
    esm_manager_set_runner(mgr, runner);
    esm_manager_set_runner_metrics(mgr, esm_runner_instance_metrics);
    if (o.verify_sigv4) {
        struct inv_err err = {{0}};
        if (inv_creds_load(&creds, NULL, &err) != 0) {
            fprintf(stderr, "kesm serve: --verify-sigv4: %s\n", err.msg);
            goto out;
        }
        ac.verify_creds = &creds;
        fprintf(stderr, "kesm: serve: requests must be SigV4-signed with key %s (from %s)\n",
                creds.access_key_id, creds.source);
    }
    sigterm = net_signal_new(sv.r, SIGTERM, on_signal, &sv);
    sigint = net_signal_new(sv.r, SIGINT, on_signal, &sv);
    if (!sigterm || !sigint) {
        fprintf(stderr, "kesm serve: cannot install signal handlers\n");
        goto out;
    }
    esm_manager_restore(mgr);
    status =
        esm_status_server_new(sv.r, mgr, &o.status, o.allow_remote, KESM_VERSION, why, sizeof why);
    ac.extra = esm_status_server_handle;
    ac.extra_ctx = status;
    api = status ? esm_api_new(net_reactor_event_base(sv.r), mgr, &ac, why, sizeof why) : NULL;
    if (!api) {
        fprintf(stderr, "kesm serve: %s\n", why);
        goto out;
    }
    bool v6 = strchr(o.host, ':') != NULL;
    printf("kesm serve: listening on http://%s%s%s:%u (state in %s)\n", v6 ? "[" : "", o.host,
           v6 ? "]" : "", (unsigned)esm_api_port(api), o.state_dir);
    if (esm_status_server_port(status)) {
        bool sv6 = strchr(o.status.host, ':') != NULL;
        printf("kesm serve: status page on http://%s%s%s:%u/status\n", sv6 ? "[" : "",
               o.status.host, sv6 ? "]" : "", (unsigned)esm_status_server_port(status));
    }
    fflush(stdout);
    if (net_reactor_run(sv.r) < 0) {
        fprintf(stderr, "kesm serve: the event loop failed\n");
        goto out;
    }
    rc = 0;
out:
    esm_api_free(api);
    api = NULL;
    if (mgr) {
        drain(&sv, mgr, o.drain_ms);
    }
    esm_status_server_free(status);
    net_signal_free(sigterm);
    net_signal_free(sigint);
    esm_manager_free(mgr);
    esm_secrets_free(secrets);
    esm_routes_cleanup(&o.routes);
    inv_creds_cleanup(&creds);
    esm_store_free(store);
    net_reactor_free(sv.r);
    return rc;
}
