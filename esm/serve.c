// serve.c: `kesm serve` (see serve.h).
//
// The process runs on one net reactor: the HTTP API (net/httpd) and every mapping's consumer and
// invocations. Mappings run with esm_runner_instance (one esm_instance per enabled mapping).
//
// The API server (esm/api.c over net/httpd) runs on the reactor's event_base, reached through
// net_reactor_event_base.
#include "esm/serve.h"

#include "base/hostport.h"
#include "esm/api.h"
#include "esm/fleet.h"
#include "esm/instance.h"
#include "esm/mapping.h"
#include "esm/policy.h"
#include "esm/route.h"
#include "esm/runner_instance.h"
#include "esm/secrets.h"
#include "esm/status_http.h"
#include "esm/store.h"
#include "invoke/aws.h"
#include "invoke/credentials.h"
#include "net/reactor.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MAX_ALLOWED_HOSTS 16

#ifndef KESM_VERSION
#define KESM_VERSION "0.0.0"
#endif

struct serve_opts {
    uint32_t drain_ms;
    uint32_t max_concurrency;
    char host[256];
    uint16_t port;
    const char *state_dir;
    bool allow_remote;
    bool insecure_no_auth;
    const char *credentials_file;
    const char *credentials_profile;
    struct esm_policy policy;
    const char *allowed_hosts[MAX_ALLOWED_HOSTS];
    size_t num_allowed_hosts;
    long max_conns;
    long header_timeout_ms, body_timeout_ms, idle_timeout_ms;
    const char *region;
    const char *account;
    const char *nameserver;
    struct esm_secrets_config secrets;
    struct esm_routes routes;
    struct esm_status_opts status;
    struct esm_fleet_opts fleet;
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: kesm serve [--listen HOST:PORT] [--state-dir DIR] [--allow-remote]\n"
        "                  [--allowed-host NAME]... [--region REGION] [--account ID]\n"
        "                  [--credentials-file FILE [--credentials-profile NAME]]\n"
        "                  [--insecure-no-auth] [--allow-api-exec] [--allow-api-http]\n"
        "                  [--allow-api-plaintext-sasl] [--allow-api-insecure-tls]\n"
        "                  [--allow-api-file-secrets] [--allow-api-file-destinations]\n"
        "                  [--max-connections N] [--api-header-timeout MS]\n"
        "                  [--api-body-timeout MS] [--api-idle-timeout MS]\n"
        "                  [--drain-timeout MS] [--max-concurrency N]\n"
        "                  [--secrets-dir DIR] [--secrets-manager]\n"
        "                  [--secrets-manager-endpoint URL] [--secrets-manager-ca FILE]\n"
        "                  [--route PATTERN=TARGET]... [--nameserver IP[:PORT]]\n"
        "                  [--status-listen HOST:PORT] [--stuck-after SECONDS]\n"
        "  --listen HOST:PORT  API address (default 127.0.0.1:9320; port 0 = pick one)\n"
        "  --state-dir DIR     where mappings are kept (default ./kesm-state)\n"
        "  --allow-remote      answer clients that are not on loopback\n"
        "  --allowed-host NAME a Host name clients may use besides the listen address\n"
        "  --region REGION     region for bare function names and of SigV4 scopes (us-east-1)\n"
        "  --account ID        account for bare function names (default 000000000000)\n"
        "  API requests must be SigV4-signed with the credentials of the environment, the\n"
        "  shared credentials file, or:\n"
        "  --credentials-file FILE  a credentials file (INI, as ~/.aws/credentials)\n"
        "  --credentials-profile NAME  its profile (default: AWS_PROFILE, else default)\n"
        "  --insecure-no-auth  do not check signatures (loopback listen address only): any\n"
        "                      local user, and any web page, can then manage mappings\n"
        "  What API requests may ask for (the operator's --route targets need none):\n"
        "  --allow-api-exec    Kesm.Transport exec and Kesm.Command (run programs)\n"
        "  --allow-api-http    Kesm.Transport http and Kesm.Url (post events to URLs)\n"
        "  --allow-api-plaintext-sasl  Kesm.SaslAllowPlaintext (credentials without TLS)\n"
        "  --allow-api-insecure-tls    Kesm.TlsInsecureSkipVerify\n"
        "  --allow-api-file-secrets    file:// URIs in SourceAccessConfigurations\n"
        "  --allow-api-file-destinations  file:// on-failure destination directories\n"
        "  --max-connections N API connections at once (default 128, at most 1/4 of the\n"
        "                      open-file limit: the rest is kept for the mappings)\n"
        "  --api-header-timeout MS / --api-body-timeout MS / --api-idle-timeout MS\n"
        "                      request head, body and keep-alive deadlines (10000/30000/15000)\n"
        "  --drain-timeout MS  how long in-flight invocations may finish when a mapping\n"
        "                      stops (default 10000)\n"
        "  --max-concurrency N batches in flight at once per mapping (one per partition up\n"
        "                      to N) when its Kesm.MaxConcurrency is not set; 1-1000\n"
        "                      (default 100)\n"
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
    esm_fleet_usage(out);
}

static bool parse_listen(struct serve_opts *o, const char *s)
{
    return hostport_parse(s, strlen(s), HOSTPORT_PORT_0, o->host, sizeof o->host, &o->port, NULL);
}

static bool host_is_loopback(const char *h)
{
    return !strncmp(h, "127.", 4) || !strcmp(h, "::1") || !strcmp(h, "localhost");
}

// flag_bool sets the boolean option named |a|; false if |a| is none.
static bool flag_bool(struct serve_opts *o, const char *a)
{
    static const struct {
        const char *name;
        size_t off;
    } flags[] = {
        {"--allow-remote", offsetof(struct serve_opts, allow_remote)},
        {"--insecure-no-auth", offsetof(struct serve_opts, insecure_no_auth)},
        {"--secrets-manager", offsetof(struct serve_opts, secrets.secrets_manager)},
        {"--allow-api-exec", offsetof(struct serve_opts, policy.allow_exec)},
        {"--allow-api-http", offsetof(struct serve_opts, policy.allow_http)},
        {"--allow-api-plaintext-sasl", offsetof(struct serve_opts, policy.allow_plaintext_sasl)},
        {"--allow-api-insecure-tls", offsetof(struct serve_opts, policy.allow_insecure_tls)},
        {"--allow-api-file-secrets", offsetof(struct serve_opts, policy.allow_file_secrets)},
        {"--allow-api-file-destinations",
         offsetof(struct serve_opts, policy.allow_file_destinations)},
    };
    if (!strcmp(a, "--verify-sigv4")) {
        return true; // the default now; kept so existing command lines still work
    }
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if (!strcmp(a, flags[i].name)) {
            *(bool *)((char *)o + flags[i].off) = true;
            return true;
        }
    }
    return false;
}

// flag_ms parses a numeric option in [min, max]; false (with a message) when malformed.
static bool flag_num(const char *name, const char *v, long min, long max, long *out)
{
    char *end = NULL;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < min || x > max) {
        fprintf(stderr, "kesm serve: %s wants %ld-%ld, not '%s'\n", name, min, max, v);
        return false;
    }
    *out = x;
    return true;
}

// flag_value handles an option with a value; 1 handled, 0 not this kind, -1 bad value.
static int flag_value(struct serve_opts *o, const char *a, const char *v)
{
    long x;
    if (!strcmp(a, "--listen")) {
        if (!parse_listen(o, v)) {
            fprintf(stderr, "kesm serve: --listen wants HOST:PORT (port 0-65535), not '%s'\n", v);
            return -1;
        }
    } else if (!strcmp(a, "--drain-timeout")) {
        if (!flag_num(a, v, 0, 900000, &x)) {
            return -1;
        }
        o->drain_ms = (uint32_t)x;
    } else if (!strcmp(a, "--max-concurrency")) {
        if (!flag_num(a, v, 1, ESM_MAX_CONCURRENCY_MAX, &x)) {
            return -1;
        }
        o->max_concurrency = (uint32_t)x;
    } else if (!strcmp(a, "--max-connections")) {
        return flag_num(a, v, 1, 100000, &o->max_conns) ? 1 : -1;
    } else if (!strcmp(a, "--api-header-timeout")) {
        return flag_num(a, v, 100, 600000, &o->header_timeout_ms) ? 1 : -1;
    } else if (!strcmp(a, "--api-body-timeout")) {
        return flag_num(a, v, 100, 600000, &o->body_timeout_ms) ? 1 : -1;
    } else if (!strcmp(a, "--api-idle-timeout")) {
        return flag_num(a, v, 100, 600000, &o->idle_timeout_ms) ? 1 : -1;
    } else if (!strcmp(a, "--allowed-host")) {
        if (o->num_allowed_hosts == MAX_ALLOWED_HOSTS || !*v) {
            fprintf(stderr, "kesm serve: --allowed-host: at most %d non-empty names\n",
                    MAX_ALLOWED_HOSTS);
            return -1;
        }
        o->allowed_hosts[o->num_allowed_hosts++] = v;
    } else if (!strcmp(a, "--route")) {
        char why[512];
        if (esm_routes_add(&o->routes, v, why, sizeof why) != 0) {
            fprintf(stderr, "kesm serve: %s\n", why);
            return -1;
        }
    } else {
        static const struct {
            const char *name;
            size_t off;
        } strs[] = {
            {"--state-dir", offsetof(struct serve_opts, state_dir)},
            {"--region", offsetof(struct serve_opts, region)},
            {"--account", offsetof(struct serve_opts, account)},
            {"--secrets-dir", offsetof(struct serve_opts, secrets.dir)},
            {"--secrets-manager-endpoint", offsetof(struct serve_opts, secrets.sm_endpoint)},
            {"--secrets-manager-ca", offsetof(struct serve_opts, secrets.sm_ca_file)},
            {"--nameserver", offsetof(struct serve_opts, nameserver)},
            {"--credentials-file", offsetof(struct serve_opts, credentials_file)},
            {"--credentials-profile", offsetof(struct serve_opts, credentials_profile)},
        };
        for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
            if (!strcmp(a, strs[i].name)) {
                *(const char **)((char *)o + strs[i].off) = v;
                return 1;
            }
        }
        return 0;
    }
    return 1;
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
        took = took ? took : esm_fleet_flag(&o->fleet, a, v);
        if (took < 0) {
            return 2;
        } else if (took > 0) {
            i += took - 1;
            continue;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            return 1;
        }
        if (flag_bool(o, a)) {
            continue;
        }
        int rc = v ? flag_value(o, a, v) : 0;
        if (rc < 0) {
            return 2;
        }
        if (rc == 0) {
            fprintf(stderr, "kesm serve: unknown or incomplete option '%s' (see --help)\n", a);
            return 2;
        }
        i++;
    }
    if (!esm_fleet_check(&o->fleet)) {
        return 2;
    }
    if (!o->allow_remote && !host_is_loopback(o->host)) {
        fprintf(stderr,
                "kesm serve: refusing to listen on non-loopback address %s without "
                "--allow-remote\n",
                o->host);
        return 2;
    }
    if (o->insecure_no_auth && !host_is_loopback(o->host)) {
        fprintf(stderr, "kesm serve: --insecure-no-auth is allowed on a loopback listen address "
                        "only (127.0.0.1, ::1, localhost)\n");
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

// raise_nofile lifts the soft open-file limit to the hard one and returns it (the API's
// connection cap is kept well below it, so mappings always have descriptors left).
static rlim_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return 1024;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
        struct rlimit up = {want, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0) {
            rl.rlim_cur = want;
        }
    }
    return rl.rlim_cur == RLIM_INFINITY ? 1048576 : rl.rlim_cur;
}

// The environment --credentials-file shows the static part of the credential chain: that file as
// the shared credentials file, its profile, and nothing else (no keys from the environment, no
// config file, no instance metadata), so the file named on the command line is the one source.
static const char *file_env_path, *file_env_profile;

static const char *file_env(const char *name)
{
    if (strcmp(name, "AWS_SHARED_CREDENTIALS_FILE") == 0) {
        return file_env_path;
    }
    if (strcmp(name, "AWS_PROFILE") == 0) {
        return file_env_profile;
    }
    if (strcmp(name, "AWS_CONFIG_FILE") == 0) {
        return "/dev/null";
    }
    if (strcmp(name, "AWS_EC2_METADATA_DISABLED") == 0) {
        return "true";
    }
    return NULL;
}

// load_auth loads the credentials requests are checked against, or announces the opt-out.
// Returns false (after saying why) when neither is possible.
static bool load_auth(const struct serve_opts *o, struct inv_creds *creds)
{
    if (o->insecure_no_auth) {
        fprintf(stderr,
                "kesm: serve: WARNING: --insecure-no-auth: API requests are NOT authenticated.\n"
                "kesm: serve: WARNING: any local user, and any program that can reach %s,\n"
                "kesm: serve: WARNING: can create, change and delete mappings. Use it for local\n"
                "kesm: serve: WARNING: tests only; without it, requests must be SigV4-signed.\n",
                o->host);
        return true;
    }
    struct inv_err err = {{0}};
    int rc;
    if (o->credentials_file) {
        const char *prof = o->credentials_profile ? o->credentials_profile : getenv("AWS_PROFILE");
        file_env_path = o->credentials_file;
        file_env_profile = prof ? prof : "default";
        rc = inv_creds_load(creds, file_env, &err);
    } else {
        rc = inv_creds_load(creds, NULL, &err);
    }
    if (rc != 0) {
        fprintf(stderr,
                "kesm serve: API requests must be SigV4-signed, and there are no credentials to "
                "check them against (%s). Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
                "a profile in the shared credentials file) as for the AWS CLI, or give "
                "--credentials-file FILE; --insecure-no-auth turns the check off (loopback "
                "only)\n",
                err.msg);
        return false;
    }
    size_t n = strlen(creds->access_key_id);
    fprintf(stderr,
            "kesm: serve: API requests must be SigV4-signed with the access key ending in %s "
            "(from %s)\n",
            creds->access_key_id + (n > 4 ? n - 4 : 0), creds->source);
    return true;
}

static void api_config(const struct serve_opts *o, const struct inv_creds *creds,
                       struct esm_api_config *ac)
{
    memset(ac, 0, sizeof *ac);
    ac->host = o->host;
    ac->port = o->port;
    ac->allow_remote = o->allow_remote;
    ac->verify_creds = o->insecure_no_auth ? NULL : creds;
    ac->verify_region = o->region;
    ac->no_auth = o->insecure_no_auth;
    ac->allowed_hosts = o->allowed_hosts;
    ac->num_allowed_hosts = o->num_allowed_hosts;
    rlim_t nofile = raise_nofile();
    size_t cap = (size_t)(nofile / 4 > 8 ? nofile / 4 : 8);
    ac->max_conns = o->max_conns > 0 ? (size_t)o->max_conns : 128;
    if (ac->max_conns > cap) {
        fprintf(stderr,
                "kesm: serve: API connections capped at %zu (a quarter of the open-file limit "
                "%llu; the rest stays with the mappings)\n",
                cap, (unsigned long long)nofile);
        ac->max_conns = cap;
    }
    ac->header_timeout_ms = (uint32_t)o->header_timeout_ms;
    ac->body_timeout_ms = (uint32_t)o->body_timeout_ms;
    ac->idle_timeout_ms = (uint32_t)o->idle_timeout_ms;
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
    char why[512];
    if (esm_process_env(why, sizeof why) != 0) {
        fprintf(stderr, "kesm serve: %s\n", why);
        esm_routes_cleanup(&o.routes);
        return 2;
    }
    struct inv_creds creds;
    inv_creds_init(&creds);
    if (!load_auth(&o, &creds)) {
        esm_routes_cleanup(&o.routes);
        inv_creds_cleanup(&creds);
        return 1;
    }
    // Ignore SIGTERM/SIGINT until the reactor's handlers take over; libevent restores this
    // disposition when they are freed, so a second signal during shutdown (timeout(1) sends one to
    // the process and one to its group) cannot kill the process half-way. Blocking the signals
    // instead hangs LeakSanitizer's exit-time check when one is pending.
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    struct serve sv = {0};
    struct net_reactor_config rcfg = {.nameserver = o.nameserver};
    sv.r = net_reactor_new(&rcfg);
    bool fleet_on = esm_fleet_wanted(&o.fleet); // then the cluster holds the mappings
    struct esm_store *store =
        sv.r && !fleet_on ? esm_store_open(o.state_dir, why, sizeof why) : NULL;
    struct esm_secrets *secrets = NULL;
    struct inv_aws *aws = NULL;
    struct esm_fleet *fleet = NULL;
    struct esm_api_writer writer;
    if (store || (sv.r && fleet_on)) {
        struct inv_aws_cfg awc = {.reactor = sv.r, .default_region = o.region};
        aws = inv_aws_new(&awc);
        o.secrets.sm_region = o.region;
        o.secrets.aws = aws;
        secrets = esm_secrets_new(sv.r, &o.secrets, why, sizeof why);
    }
    if (!sv.r || (!store && !fleet_on) || !secrets) {
        fprintf(stderr, "kesm serve: %s\n", sv.r ? why : "cannot create the event loop");
        esm_store_free(store);
        esm_routes_cleanup(&o.routes);
        inv_creds_cleanup(&creds);
        inv_aws_free(aws);
        net_reactor_free(sv.r);
        return 1;
    }
    struct esm_manager_config mc = {0};
    mc.store = store;
    mc.region = o.region;
    mc.account = o.account;
    mc.log = log_line;
    mc.policy = &o.policy;
    struct esm_manager *mgr = esm_manager_new(&mc);
    struct esm_api_config ac;
    api_config(&o, &creds, &ac);
    struct esm_api *api = NULL;
    struct esm_status_server *status = NULL;
    struct net_signal *sigterm = NULL, *sigint = NULL;
    rc = 1;
    struct esm_runner runner =
        mgr ? esm_runner_instance_new(mgr, sv.r, o.drain_ms) : (struct esm_runner){NULL, NULL};
    if (!mgr || !runner.ops) {
        fprintf(stderr, "kesm serve: out of memory\n");
        goto out;
    }
    struct esm_runner_env env = {secrets, &o.routes, &o.policy, aws, o.max_concurrency};
    esm_runner_instance_set_env(runner, &env);
    esm_manager_set_runner(mgr, runner);
    esm_manager_set_runner_metrics(mgr, esm_runner_instance_metrics);
    sigterm = net_signal_new(sv.r, SIGTERM, on_signal, &sv);
    sigint = net_signal_new(sv.r, SIGINT, on_signal, &sv);
    if (!sigterm || !sigint) {
        fprintf(stderr, "kesm serve: cannot install signal handlers\n");
        goto out;
    }
    if (fleet_on) {
        fleet = esm_fleet_new(sv.r, mgr, &o.fleet, why, sizeof why);
        if (!fleet || o.fleet.import_dir) {
            rc = fleet ? (esm_fleet_import(fleet, sv.r, o.fleet.import_dir) == 0 ? 0 : 1) : 1;
            fprintf(stderr, fleet ? "" : "kesm serve: %s\n", why);
            goto out;
        }
        writer = esm_fleet_writer(fleet);
        ac.writer = &writer;
    } else {
        esm_manager_restore(mgr);
    }
    status =
        esm_status_server_new(sv.r, mgr, &o.status, o.allow_remote, KESM_VERSION, why, sizeof why);
    ac.extra = esm_status_server_handle;
    ac.extra_ctx = status;
    api = status ? esm_api_new(net_reactor_event_base(sv.r), mgr, &ac, why, sizeof why) : NULL;
    if (!api) {
        fprintf(stderr, "kesm serve: %s\n", why);
        goto out;
    }
    if (fleet && esm_fleet_start_status(fleet, esm_api_port(api), why, sizeof why) != 0) {
        fprintf(stderr, "kesm serve: %s\n", why);
        goto out;
    }
    bool v6 = strchr(o.host, ':') != NULL;
    printf("kesm serve: listening on http://%s%s%s:%u (%s %s)\n", v6 ? "[" : "", o.host,
           v6 ? "]" : "", (unsigned)esm_api_port(api), fleet_on ? "fleet" : "state in",
           fleet_on ? o.fleet.cluster_id : o.state_dir);
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
    // A clean stop: this node's status records become tombstones (for at most 2 s).
    for (uint64_t until = net_reactor_now_ms(sv.r) + 2000;
         esm_fleet_retire(fleet) > 0 && net_reactor_now_ms(sv.r) < until;) {
        net_reactor_run_for(sv.r, 50);
    }
out:
    esm_api_free(api);
    api = NULL;
    esm_fleet_free(fleet); // before the drain: no record may start a mapping again
    if (mgr) {
        drain(&sv, mgr, o.drain_ms);
    }
    esm_status_server_free(status);
    net_signal_free(sigterm);
    net_signal_free(sigint);
    esm_manager_free(mgr);
    esm_secrets_free(secrets);
    inv_aws_free(aws);
    esm_routes_cleanup(&o.routes);
    inv_creds_cleanup(&creds);
    esm_store_free(store);
    net_reactor_free(sv.r);
    return rc;
}
