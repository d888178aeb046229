// run.c: `kesm run --config mapping.json`: one event source mapping in the foreground.
//
// The file is a CreateEventSourceMapping request (plus the "Kesm" extension member). It is
// validated before anything connects; an invalid file exits 2 with ESM_CONFIG_NOT_VALID and the
// same message `kesm serve` returns. SIGINT/SIGTERM stop gracefully (stop fetching, let in-flight
// invocations finish within --drain-timeout, commit, leave the group, exit 0); a second signal
// exits at once with 128 + the signal number. A mapping that stops by itself (authentication,
// authorization, a function that cannot be invoked) exits 1 after the same graceful steps.
// On a terminal, one live status line on stderr (off with --no-status or when not a TTY).
#include "esm/run.h"

#include "base/log.h"
#include "esm/config.h"
#include "esm/instance.h"
#include "esm/secrets.h"
#include "invoke/aws.h"
#include "net/reactor.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CONFIG_MAX (1024 * 1024)

struct run {
    struct net_reactor *r;
    struct esm_instance *in;
    struct net_timer *status_timer;
    bool status;
    bool status_shown;
    int signals;
    int exit_code;
    uint64_t last_ok;
    uint64_t last_ms;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: kesm run --config mapping.json [--no-status] [--drain-timeout SECONDS]\n"
               "  mapping.json: a CreateEventSourceMapping request plus the \"Kesm\" member\n"
               "  (see README.md, Configuration)\n");
}

static char *read_file(const char *path, size_t *out_len, char *err, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(CONFIG_MAX + 1);
    size_t len = buf ? fread(buf, 1, CONFIG_MAX + 1, f) : 0;
    bool bad = !buf || ferror(f) || len > CONFIG_MAX;
    fclose(f);
    if (bad) {
        snprintf(err, cap, "cannot read %s (or it is larger than %d bytes)", path, CONFIG_MAX);
        free(buf);
        return NULL;
    }
    buf[len] = 0;
    *out_len = len;
    return buf;
}

static void clear_status(struct run *rn)
{
    if (rn->status_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        rn->status_shown = false;
    }
}

static void on_status(void *ctx)
{
    struct run *rn = ctx;
    if (!rn->in) {
        return;
    }
    struct esm_instance_status st;
    esm_instance_status(rn->in, &st);
    uint64_t now = net_reactor_now_ms(rn->r);
    uint64_t ok =
        st.pipeline.records_ok + st.pipeline.records_disposed + st.pipeline.records_filtered;
    double rate =
        now > rn->last_ms ? (double)(ok - rn->last_ok) * 1000.0 / (double)(now - rn->last_ms) : 0.0;
    rn->last_ok = ok;
    rn->last_ms = now;
    char lag[32];
    if (st.lag >= 0) {
        snprintf(lag, sizeof lag, "%" PRId64, st.lag);
    } else {
        snprintf(lag, sizeof lag, "?");
    }
    fprintf(stderr,
            "\r\033[Kkesm: %.0f rec/s  lag %s  partitions %zu  invocations %" PRIu64
            "  errors %" PRIu64 "  done %" PRIu64 "  %.60s",
            rate, lag, st.partitions, st.pipeline.invocations,
            st.pipeline.function_errors + st.pipeline.retryable_errors, ok, st.last_result);
    fflush(stderr);
    rn->status_shown = true;
    net_timer_arm(rn->status_timer, 1000);
}

static void status_log_sink(enum kesm_log_level level, const char *line, void *ctx)
{
    struct run *rn = ctx;
    (void)level;
    clear_status(rn);
    fprintf(stderr, "%s\n", line);
}

static void on_result(void *ctx, const char *result)
{
    (void)ctx;
    kesm_log(KESM_LOG_INFO, "esm", "LastProcessingResult: %s", result);
}

static void on_stopped(void *ctx, enum esm_reason reason, const char *detail)
{
    struct run *rn = ctx;
    if (reason != ESM_REASON_USER_INITIATED) {
        kesm_log(KESM_LOG_ERROR, "esm", "stopped: %s: %s", esm_reason_name(reason), detail);
        rn->exit_code = 1;
    } else {
        struct esm_instance_status st;
        esm_instance_status(rn->in, &st);
        kesm_log(KESM_LOG_INFO, "esm",
                 "stopped: offsets committed, group left (%" PRIu64 " records delivered, %" PRIu64
                 " filtered out, %" PRIu64 " given up on)",
                 st.pipeline.records_ok, st.pipeline.records_filtered,
                 st.pipeline.records_disposed);
    }
    net_reactor_stop(rn->r);
}

static void on_signal(int signo, void *ctx)
{
    struct run *rn = ctx;
    if (++rn->signals > 1) {
        clear_status(rn);
        kesm_log(KESM_LOG_WARN, "esm", "second signal %d: exiting at once", signo);
        _exit(128 + signo);
    }
    kesm_log(KESM_LOG_INFO, "esm",
             "signal %d: stopping (in-flight invocations finish, offsets are committed; a "
             "second signal exits at once)",
             signo);
    esm_instance_stop(rn->in);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct fetch_wait {
    struct net_reactor *r;
    bool done;
    int rc;
    char err[512];
};

static void fetched(void *ctx, int rc, enum esm_reason reason, const char *err)
{
    struct fetch_wait *w = ctx;
    w->done = true;
    w->rc = rc;
    snprintf(w->err, sizeof w->err, "%s (%s)", err, esm_reason_name(reason));
    net_reactor_stop(w->r);
}

// load_secrets makes the resolver Kesm.SecretsDir / Kesm.SecretsManager ask for (NULL when
// neither is set) and fetches the Secrets Manager values before the instance starts.
static int load_secrets(struct esm_secrets **out, struct net_reactor *r, struct inv_aws *aws,
                        const struct esm_config *cfg, char *err, size_t cap)
{
    const struct esm_kesm *k = &cfg->kesm;
    *out = NULL;
    if (!k->secrets_dir && !k->secrets_manager) {
        return 0;
    }
    struct esm_secrets_config sc = {.dir = k->secrets_dir,
                                    .secrets_manager = k->secrets_manager,
                                    .sm_endpoint = k->secrets_manager_endpoint,
                                    .aws = aws};
    *out = esm_secrets_new(r, &sc, err, cap);
    if (!*out) {
        return -1;
    }
    if (!k->secrets_manager) {
        return 0;
    }
    struct fetch_wait w = {r, false, 0, ""};
    esm_secrets_fetch(*out, cfg, fetched, &w);
    while (!w.done) {
        net_reactor_run(r);
    }
    if (w.rc != 0) {
        snprintf(err, cap, "%s", w.err);
        return -1;
    }
    return 0;
}

static int run_loaded(struct esm_config *cfg, bool status, uint32_t drain_ms)
{
    struct esm_secrets *secrets = NULL;
    struct run rn = {.exit_code = 0};
    esm_raise_fd_limit(); // a connection or an exec child's pipes per batch in flight
    rn.r = net_reactor_new(NULL);
    if (!rn.r) {
        return 1;
    }
    struct net_signal *si = NULL, *st = NULL;
    char err[1024];
    if (cfg->aws.system_log_level >= 0 && getenv("KESM_LOG_LEVEL") == NULL) {
        // LoggingConfig.SystemLogLevel: kesm run runs this one mapping, so it is the process's.
        kesm_log_set_level((enum kesm_log_level)cfg->aws.system_log_level);
    }
    struct inv_aws_cfg awc = {.reactor = rn.r, .default_region = cfg->fn.region};
    struct inv_aws *aws = inv_aws_new(&awc);
    // before the signal handlers: they stop the instance, which does not exist yet
    if (load_secrets(&secrets, rn.r, aws, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "kesm run: %s\n", err);
        rn.exit_code = 2;
        goto out;
    }
    si = net_signal_new(rn.r, SIGINT, on_signal, &rn);
    st = net_signal_new(rn.r, SIGTERM, on_signal, &rn);
    struct esm_instance_opts opts = {.drain_timeout_ms = drain_ms, .secrets = secrets, .aws = aws};
    struct esm_instance_cb cb = {on_result, on_stopped, &rn};
    if (esm_instance_new(&rn.in, rn.r, cfg, &opts, &cb, err, sizeof err) != 0) {
        fprintf(stderr, "kesm run: %s\n", err);
        rn.exit_code = 2;
        goto out;
    }
    rn.status = status && isatty(2);
    if (rn.status) {
        kesm_log_set_sink(status_log_sink, &rn);
        rn.status_timer = net_timer_new(rn.r, on_status, &rn);
        rn.last_ms = net_reactor_now_ms(rn.r);
        net_timer_arm(rn.status_timer, 1000);
    }
    net_reactor_run(rn.r);
    clear_status(&rn);
    if (rn.status) {
        kesm_log_set_sink(NULL, NULL);
    }
out:
    esm_instance_free(rn.in);
    esm_secrets_free(secrets);
    inv_aws_free(aws);
    net_timer_free(rn.status_timer);
    net_signal_free(si);
    net_signal_free(st);
    net_reactor_free(rn.r);
    return rn.exit_code;
}

int esm_run_main(int argc, char **argv)
{
    const char *path = NULL;
    bool status = true;
    uint32_t drain_ms = 30000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            path = argv[++i];
        } else if (!strcmp(argv[i], "--no-status")) {
            status = false;
        } else if (!strcmp(argv[i], "--drain-timeout") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 840) {
                fprintf(stderr, "kesm run: --drain-timeout must be 1..840 seconds\n");
                return 2;
            }
            drain_ms = (uint32_t)v * 1000u;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "kesm run: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    char err[256];
    if (esm_process_env(err, sizeof err) != 0) {
        fprintf(stderr, "kesm run: %s\n", err);
        return 2;
    }
    size_t len = 0;
    char *text = read_file(path, &len, err, sizeof err);
    if (!text) {
        fprintf(stderr, "kesm run: %s\n", err);
        return 2;
    }
    struct esm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    struct esm_parse_opts po = {.now = now_s()};
    struct esm_cfg_err cerr;
    bool ok = esm_config_parse_text(&cfg, text, len, &po, &cerr);
    free(text);
    if (!ok) {
        fprintf(stderr, "kesm run: ESM_CONFIG_NOT_VALID: %s\n", cerr.message);
        return 2;
    }
    if (!cfg.enabled) {
        fprintf(stderr, "kesm run: Enabled is false in %s: nothing to run\n", path);
        esm_config_cleanup(&cfg);
        return 0;
    }
    int rc = run_loaded(&cfg, status, drain_ms);
    esm_config_cleanup(&cfg);
    return rc;
}
