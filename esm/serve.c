// serve.c: `kesm serve` (see serve.h).
//
// This file owns the libevent event_base of the process: the shared reactor (net/reactor.h) had
// not landed when it was written. Mappings run with the runner this build has; without the Kafka
// consumer that is esm_runner_unavailable, which reports every mapping as not polling.
#include "esm/serve.h"

#include "esm/api.h"
#include "esm/mapping.h"
#include "esm/store.h"
#include "invoke/credentials.h"

#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct serve_opts {
    char host[256];
    uint16_t port;
    const char *state_dir;
    bool allow_remote;
    bool verify_sigv4;
    const char *region;
    const char *account;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: kesm serve [--listen HOST:PORT] [--state-dir DIR] [--allow-remote]\n"
            "                  [--region REGION] [--account ID] [--verify-sigv4]\n"
            "  --listen HOST:PORT  API address (default 127.0.0.1:9320; port 0 = pick one)\n"
            "  --state-dir DIR     where mappings are kept (default ./kesm-state)\n"
            "  --allow-remote      answer clients that are not on loopback\n"
            "  --region REGION     region for bare function names (default us-east-1)\n"
            "  --account ID        account for bare function names (default 000000000000)\n"
            "  --verify-sigv4      require requests signed (SigV4) with the credentials of the\n"
            "                      environment or the shared credentials file\n");
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
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
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
        } else if (!strcmp(a, "--state-dir") && v) {
            o->state_dir = v;
            i++;
        } else if (!strcmp(a, "--region") && v) {
            o->region = v;
            i++;
        } else if (!strcmp(a, "--account") && v) {
            o->account = v;
            i++;
        } else {
            fprintf(stderr, "kesm serve: unknown or incomplete option '%s' (see --help)\n", a);
            return 2;
        }
    }
    if (!o->allow_remote && !host_is_loopback(o->host)) {
        fprintf(stderr,
                "kesm serve: refusing to listen on non-loopback address %s without "
                "--allow-remote (the API has no authentication)\n",
                o->host);
        return 2;
    }
    return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *ctx)
{
    (void)what;
    fprintf(stderr, "kesm: serve: signal %d, stopping\n", (int)sig);
    event_base_loopexit(ctx, NULL);
}

static void log_line(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "kesm: %s\n", line);
}

int esm_serve_main(int argc, char **argv)
{
    struct serve_opts o;
    int rc = parse_args(&o, argc, argv);
    if (rc != 0) {
        usage(rc == 1 ? stdout : stderr);
        return rc == 1 ? 0 : 2;
    }
    signal(SIGPIPE, SIG_IGN);
    // Ignore SIGTERM/SIGINT until the loop's handlers take over; libevent restores this
    // disposition when they are freed, so a second signal during shutdown (timeout(1) sends one to
    // the process and one to its group) cannot kill the process half-way. Blocking the signals
    // instead hangs LeakSanitizer's exit-time check when one is pending.
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    char why[512];
    struct event_base *base = event_base_new();
    struct esm_store *store = base ? esm_store_open(o.state_dir, why, sizeof why) : NULL;
    if (!base || !store) {
        fprintf(stderr, "kesm serve: %s\n", base ? why : "cannot create the event loop");
        if (base) {
            event_base_free(base);
        }
        return 1;
    }
    struct esm_manager_config mc = {0};
    mc.store = store;
    mc.region = o.region;
    mc.account = o.account;
    mc.log = log_line;
    struct esm_manager *mgr = esm_manager_new(&mc);
    struct esm_api_config ac = {o.host, o.port, o.allow_remote, 0, NULL, o.region};
    struct esm_api *api = NULL;
    struct inv_creds creds;
    inv_creds_init(&creds);
    struct event *sigterm = NULL, *sigint = NULL;
    rc = 1;
    if (!mgr) {
        fprintf(stderr, "kesm serve: out of memory\n");
        goto out;
    }
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
    esm_manager_restore(mgr);
    api = esm_api_new(base, mgr, &ac, why, sizeof why);
    if (!api) {
        fprintf(stderr, "kesm serve: %s\n", why);
        goto out;
    }
    sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    sigint = evsignal_new(base, SIGINT, on_signal, base);
    if (!sigterm || !sigint || evsignal_add(sigterm, NULL) != 0 ||
        evsignal_add(sigint, NULL) != 0) {
        fprintf(stderr, "kesm serve: cannot install signal handlers\n");
        goto out;
    }
    bool v6 = strchr(o.host, ':') != NULL;
    printf("kesm serve: listening on http://%s%s%s:%u (state in %s)\n", v6 ? "[" : "", o.host,
           v6 ? "]" : "", (unsigned)esm_api_port(api), o.state_dir);
    fflush(stdout);
    if (event_base_dispatch(base) < 0) {
        fprintf(stderr, "kesm serve: the event loop failed\n");
        goto out;
    }
    rc = 0;
out:
    if (mgr) {
        esm_manager_stop_all(mgr);
    }
    esm_api_free(api);
    if (sigterm) {
        event_free(sigterm);
    }
    if (sigint) {
        event_free(sigint);
    }
    esm_manager_free(mgr);
    inv_creds_cleanup(&creds);
    esm_store_free(store);
    event_base_free(base);
    return rc;
}
