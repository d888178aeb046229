// test_exec_transport.c: the exec transport with real children (sh scripts written by the test):
// success with the exact event on stdin, non-zero exit, batchItemFailures, malformed JSON,
// timeout (child and grandchild killed), death by signal, a child that ignores stdin, a program
// that cannot start (missing, not executable, a directory, not on PATH), concurrent jobs and
// cancel; success judged by the exit status while a grandchild holds stdout, a spawn that fails
// for lack of descriptors (retried, not fatal), invalid UTF-8 in error output, and a child that
// dies with the process that started it (PR_SET_PDEATHSIG).
#include "invoke/transport.h"
#include "tests/lib/unit.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct got {
    int calls;
    uint64_t id;
    enum inv_result_kind kind;
    int status;
    char message[512];
    size_t num_failures;
    char first_partition[64];
    int64_t first_offset;
};

static void on_done(void *ctx, uint64_t id, const struct inv_result *res)
{
    struct got *g = ctx;
    g->calls++;
    g->id = id;
    g->kind = res->kind;
    g->status = res->status;
    snprintf(g->message, sizeof g->message, "%s", res->message ? res->message : "");
    g->num_failures = res->num_failures;
    if (res->num_failures) {
        snprintf(g->first_partition, sizeof g->first_partition, "%s", res->failures[0].partition);
        g->first_offset = res->failures[0].offset;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// drive runs the transport until |n| callbacks arrived in |g| (or 10 s passed).
static void drive(struct inv_transport *t, struct got *g, size_t n)
{
    double end = now_s() + 10;
    for (;;) {
        size_t calls = 0;
        for (size_t i = 0; i < n; i++) {
            calls += (size_t)g[i].calls;
        }
        if (calls >= n || now_s() > end) {
            break;
        }
        assert_true(inv_transport_run(t, 100) == 0 || errno == EINTR);
    }
}

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/kesm-exec-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct inv_transport *sh(const char *script, uint32_t timeout_ms, bool report)
{
    struct inv_exec_cfg cfg = {
        .shell_command = script, .timeout_ms = timeout_ms, .report_batch_item_failures = report};
    struct inv_transport *t;
    struct inv_err err;
    assert_int_equal(inv_exec_new(&t, &cfg, &err), 0);
    assert_string_equal(inv_transport_name(t), "exec");
    return t;
}

static struct got run_one(const char *script, uint32_t timeout_ms, bool report, const char *payload,
                          size_t len)
{
    struct inv_transport *t = sh(script, timeout_ms, report);
    struct got g = {0};
    uint64_t id;
    assert_int_equal(inv_transport_submit(t, payload, len, on_done, &g, &id, NULL), 0);
    assert_int_equal(g.calls, 0); // never called back inside submit
    drive(t, &g, 1);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.id, id);
    inv_transport_free(t);
    return g;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    p[n] = '\0';
    *len = (size_t)n;
    return p;
}

static void test_success_gets_exact_event(void **state)
{
    (void)state;
    // 3 MB: far more than a pipe buffer, so the writes are partial and non-blocking.
    size_t len = 3 * 1024 * 1024;
    char *payload = malloc(len);
    for (size_t i = 0; i < len; i++) {
        payload[i] = (char)('a' + i % 26);
    }
    char script[256];
    snprintf(script, sizeof script, "cat > '%s/in'", dir);
    struct got g = run_one(script, 10000, true, payload, len);
    assert_int_equal(g.kind, INV_RESULT_OK);
    assert_int_equal(g.status, 0);
    char path[128];
    snprintf(path, sizeof path, "%s/in", dir);
    size_t got_len;
    char *got = read_file(path, &got_len);
    assert_int_equal(got_len, len);
    assert_memory_equal(got, payload, len);
    free(got);
    free(payload);
}

static void test_nonzero_exit_is_function_error(void **state)
{
    (void)state;
    struct got g =
        run_one("cat >/dev/null; echo '{\"errorMessage\":\"boom\"}'; exit 3", 10000, true, "{}", 2);
    assert_int_equal(g.kind, INV_RESULT_FUNCTION_ERROR);
    assert_int_equal(g.status, 3);
    assert_string_equal(g.message, "exec: exited with status 3: {\"errorMessage\":\"boom\"}");
}

static void test_batch_item_failures(void **state)
{
    (void)state;
    const char *script = "cat >/dev/null; printf '%s' '{\"batchItemFailures\":[{\"itemIdentifier\":"
                         "{\"partition\":\"orders-0\",\"offset\":4712}},{\"itemIdentifier\":"
                         "{\"partition\":\"orders-3\",\"offset\":90}}]}'";
    struct got g = run_one(script, 10000, true, "{}", 2);
    assert_int_equal(g.kind, INV_RESULT_PARTIAL);
    assert_int_equal(g.num_failures, 2);
    assert_string_equal(g.first_partition, "orders-0");
    assert_int_equal(g.first_offset, 4712);
    // Without ReportBatchItemFailures the response is ignored.
    g = run_one(script, 10000, false, "{}", 2);
    assert_int_equal(g.kind, INV_RESULT_OK);
    // Empty list and null mean success.
    g = run_one("cat >/dev/null; echo '{\"batchItemFailures\":[]}'", 10000, true, "{}", 2);
    assert_int_equal(g.kind, INV_RESULT_OK);
    g = run_one("cat >/dev/null; echo null", 10000, true, "{}", 2);
    assert_int_equal(g.kind, INV_RESULT_OK);
}

static void test_malformed_json_fails_batch(void **state)
{
    (void)state;
    struct got g =
        run_one("cat >/dev/null; echo '{\"batchItemFailures\":[{'", 10000, true, "{}", 2);
    assert_int_equal(g.kind, INV_RESULT_FUNCTION_ERROR);
    assert_non_null(strstr(g.message, "malformed response: not JSON"));
    g = run_one("cat >/dev/null; echo '{\"batchItemFailures\":[{\"itemIdentifier\":"
                "{\"partition\":\"\",\"offset\":1}}]}'",
                10000, true, "{}", 2);
    assert_int_equal(g.kind, INV_RESULT_FUNCTION_ERROR);
    assert_non_null(strstr(g.message, "batchItemFailures[0]"));
}

static bool process_gone(pid_t pid)
{
    // Gone, or a zombie waiting for its (new) parent: either way it no longer runs.
    for (int i = 0; i < 100; i++) {
        char path[64], buf[256];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            return true;
        }
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *rp = strrchr(buf, ')');
        if (rp && (rp[2] == 'Z' || rp[2] == 'X')) {
            return true;
        }
        usleep(20000);
    }
    return false;
}

static void test_timeout_kills_child_and_grandchild(void **state)
{
    (void)state;
    char script[256];
    snprintf(script, sizeof script, "echo $$ > '%s/pid'; sleep 30 & echo $! > '%s/gpid'; wait", dir,
             dir);
    double t0 = now_s();
    struct got g = run_one(script, 300, true, "{}", 2);
    double took = now_s() - t0;
    assert_int_equal(g.kind, INV_RESULT_FUNCTION_ERROR);
    assert_string_equal(g.message, "exec: timed out after 300 ms (killed)");
    assert_true(took >= 0.29 && took < 5.0);
    char path[128];
    size_t n;
    snprintf(path, sizeof path, "%s/pid", dir);
    char *pid = read_file(path, &n);
    snprintf(path, sizeof path, "%s/gpid", dir);
    char *gpid = read_file(path, &n);
    assert_true(process_gone((pid_t)atoi(pid)));
    assert_true(process_gone((pid_t)atoi(gpid)));
    free(pid);
    free(gpid);
}

static void test_signal_and_ignored_stdin(void **state)
{
    (void)state;
    struct got g = run_one("kill -9 $$", 10000, true, "{}", 2);
    assert_int_equal(g.kind, INV_RESULT_FUNCTION_ERROR);
    assert_string_equal(g.message, "exec: killed by signal 9");
    // A child that exits without reading 1 MB of stdin: EPIPE, not SIGPIPE; its status decides.
    size_t len = 1024 * 1024;
    char *payload = calloc(1, len);
    memset(payload, 'x', len);
    g = run_one("exit 0", 10000, true, payload, len);
    assert_int_equal(g.kind, INV_RESULT_OK);
    g = run_one("exit 1", 10000, true, payload, len);
    assert_int_equal(g.kind, INV_RESULT_FUNCTION_ERROR);
    assert_int_equal(g.status, 1);
    free(payload);
}

// The bytes a child has not read from its stdin yet are reported queued (the pipeline's
// backpressure), and none once it read them all.
static void test_unread_stdin_is_queued(void **state)
{
    (void)state;
    size_t len = 1024 * 1024;
    char *payload = calloc(1, len);
    memset(payload, 'x', len);
    struct inv_transport *t = sh("sleep 0.3; cat >/dev/null", 10000, false);
    struct got g = {0};
    uint64_t id;
    assert_int_equal(inv_transport_submit(t, payload, len, on_done, &g, &id, NULL), 0);
    assert_int_equal(inv_transport_run(t, 50), 0); // the pipe takes at most its buffer
    size_t q = inv_transport_queued(t);
    assert_true(q > len / 2 && q <= len);
    drive(t, &g, 1);
    assert_int_equal(g.kind, INV_RESULT_OK);
    assert_int_equal(inv_transport_queued(t), 0);
    inv_transport_free(t);
    free(payload);
}

static void test_argv_without_shell_and_spawn_failure(void **state)
{
    (void)state;
    const char *argv[] = {"cat", NULL}; // PATH search, no shell: the response echoes the event
    struct inv_exec_cfg cfg = {.argv = argv, .timeout_ms = 10000, .report_batch_item_failures = 1};
    struct inv_transport *t;
    assert_int_equal(inv_exec_new(&t, &cfg, NULL), 0);
    struct got g = {0};
    uint64_t id;
    const char *ev = "{\"batchItemFailures\":[{\"itemIdentifier\":{\"partition\":\"t-1\","
                     "\"offset\":9}}]}";
    assert_int_equal(inv_transport_submit(t, ev, strlen(ev), on_done, &g, &id, NULL), 0);
    drive(t, &g, 1);
    assert_int_equal(g.kind, INV_RESULT_PARTIAL);
    assert_string_equal(g.first_partition, "t-1");
    inv_transport_free(t);

    const char *bad[] = {"/nonexistent/kesm-function", "x", NULL};
    cfg.argv = bad;
    assert_int_equal(inv_exec_new(&t, &cfg, NULL), 0);
    memset(&g, 0, sizeof g);
    assert_int_equal(inv_transport_submit(t, "{}", 2, on_done, &g, &id, NULL), 0);
    assert_int_equal(g.calls, 0);
    drive(t, &g, 1);
    assert_int_equal(g.kind, INV_RESULT_FATAL);
    assert_string_equal(g.message,
                        "exec: cannot execute '/nonexistent/kesm-function': No such file or "
                        "directory");
    inv_transport_free(t);

    struct inv_err err;
    struct inv_exec_cfg none = {.timeout_ms = 1};
    assert_int_equal(inv_exec_new(&t, &none, &err), -1);
    assert_string_equal(err.msg, "exec: no command configured");
}

// run_once submits the event "{}" once to |argv| and returns its result in *g.
static void run_once(const char *const *argv, struct got *g)
{
    struct inv_exec_cfg cfg = {.argv = argv, .timeout_ms = 10000};
    struct inv_transport *t;
    assert_int_equal(inv_exec_new(&t, &cfg, NULL), 0);
    memset(g, 0, sizeof *g);
    uint64_t id;
    assert_int_equal(inv_transport_submit(t, "{}", 2, on_done, g, &id, NULL), 0);
    drive(t, g, 1);
    inv_transport_free(t);
}

// spawn_error runs |argv| once and returns the fatal message (the test fails if it ran).
static void spawn_error(const char *const *argv, char *msg, size_t cap)
{
    struct got g;
    run_once(argv, &g);
    assert_int_equal(g.kind, INV_RESULT_FATAL);
    snprintf(msg, cap, "%s", g.message);
}

// The program is found (or not) by kesm itself, so each reason reaches the result whatever
// posix_spawn can report (under valgrind it cannot report exec failures at all).
static void test_program_resolution(void **state)
{
    (void)state;
    char tmpd[] = "/tmp/kesm-exec-XXXXXX";
    assert_non_null(mkdtemp(tmpd));
    char plain[64], script[64], msg[512], want[512];
    snprintf(plain, sizeof plain, "%s/plain", tmpd);
    snprintf(script, sizeof script, "%s/kesm-test-fn", tmpd);
    FILE *f = fopen(plain, "w");
    assert_non_null(f);
    fputs("not a program\n", f);
    fclose(f);
    f = fopen(script, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\nexec /bin/cat\n", f);
    fclose(f);
    assert_int_equal(chmod(script, 0755), 0);

    const char *noexec[] = {plain, NULL};
    spawn_error(noexec, msg, sizeof msg);
    snprintf(want, sizeof want, "exec: cannot execute '%s': Permission denied", plain);
    assert_string_equal(msg, want);

    const char *isdir[] = {tmpd, NULL};
    spawn_error(isdir, msg, sizeof msg);
    snprintf(want, sizeof want, "exec: cannot execute '%s': Permission denied", tmpd);
    assert_string_equal(msg, want);

    const char *unknown[] = {"kesm-no-such-program-3b9e", NULL};
    spawn_error(unknown, msg, sizeof msg);
    assert_string_equal(
        msg, "exec: cannot execute 'kesm-no-such-program-3b9e': No such file or directory");

    const char *empty[] = {"", NULL};
    spawn_error(empty, msg, sizeof msg);
    assert_string_equal(msg, "exec: cannot execute '': No such file or directory");

    // A bare name is searched along PATH: the non-executable match in the first directory is
    // skipped for the runnable one after it; with only the former, the reason is EACCES.
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    char path[256];
    char shadow[80];
    snprintf(shadow, sizeof shadow, "%s/sub", tmpd);
    assert_int_equal(mkdir(shadow, 0755), 0);
    char shadow_fn[96];
    snprintf(shadow_fn, sizeof shadow_fn, "%s/kesm-test-fn", shadow);
    f = fopen(shadow_fn, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s:%s", shadow, tmpd);
    setenv("PATH", path, 1);
    const char *bare[] = {"kesm-test-fn", NULL};
    struct got g;
    run_once(bare, &g);
    assert_int_equal(g.kind, INV_RESULT_OK);
    setenv("PATH", shadow, 1);
    spawn_error(bare, msg, sizeof msg);
    assert_string_equal(msg, "exec: cannot execute 'kesm-test-fn': Permission denied");
    if (old) {
        setenv("PATH", old, 1);
    } else {
        unsetenv("PATH");
    }
    free(old);

    unlink(shadow_fn);
    rmdir(shadow);
    unlink(plain);
    unlink(script);
    rmdir(tmpd);
}

static void test_concurrent_jobs_and_cancel(void **state)
{
    (void)state;
    struct inv_transport *t = sh("cat >/dev/null; sleep 1; echo '{}'", 10000, true);
    struct got g[4];
    memset(g, 0, sizeof g);
    uint64_t ids[4];
    double t0 = now_s();
    for (int i = 0; i < 3; i++) {
        assert_int_equal(inv_transport_submit(t, "{}", 2, on_done, &g[i], &ids[i], NULL), 0);
    }
    drive(t, g, 3);
    double took = now_s() - t0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].kind, INV_RESULT_OK);
        assert_int_equal(g[i].id, ids[i]);
    }
    assert_true(took >= 1.0 && took < 2.5); // ran side by side, not 3 x 1 s in a row
    inv_transport_free(t);

    t = sh("sleep 30", 60000, true);
    assert_int_equal(inv_transport_submit(t, "{}", 2, on_done, &g[3], &ids[3], NULL), 0);
    assert_int_equal(inv_transport_cancel(t, ids[3]), 0);
    assert_int_equal(inv_transport_cancel(t, ids[3]), -1);
    for (int i = 0; i < 5; i++) {
        inv_transport_run(t, 50);
    }
    assert_int_equal(g[3].calls, 0);
    inv_transport_free(t);
}

// A handler that exits 0 but leaves a child holding its stdout succeeded: the exit status
// decides within a bounded drain, and the child left behind is killed (before: a timeout).
static void test_exit_status_decides_not_stdout(void **state)
{
    (void)state;
    char script[256];
    snprintf(script, sizeof script,
             "cat >/dev/null; sleep 30 & echo $! > '%s/leftover'; echo '{}'; exit 0", dir);
    double t0 = now_s();
    struct got g = run_one(script, 5000, true, "{}", 2);
    double took = now_s() - t0;
    assert_int_equal(g.kind, INV_RESULT_OK);
    assert_true(took < 3.0);
    char path[128];
    size_t n;
    snprintf(path, sizeof path, "%s/leftover", dir);
    char *pid = read_file(path, &n);
    assert_true(process_gone((pid_t)atoi(pid)));
    free(pid);
}

// Out of descriptors is a transient failure: the batch is retried, the mapping never stopped.
static void test_spawn_without_descriptors_is_retryable(void **state)
{
    (void)state;
    struct inv_transport *t = sh("exit 0", 5000, false);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 64;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int fds[64], nfds = 0;
    while (nfds < 64 && (fds[nfds] = dup(0)) >= 0) {
        nfds++;
    }
    struct got g = {0};
    uint64_t id;
    assert_int_equal(inv_transport_submit(t, "{}", 2, on_done, &g, &id, NULL), 0);
    for (int i = 0; i < nfds; i++) {
        close(fds[i]);
    }
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    drive(t, &g, 1);
    assert_int_equal(g.kind, INV_RESULT_RETRYABLE);
    assert_string_equal(g.message,
                        "exec: cannot start '/bin/sh' now: Too many open files (retried)");
    memset(&g, 0, sizeof g); // and with descriptors back, it runs
    assert_int_equal(inv_transport_submit(t, "{}", 2, on_done, &g, &id, NULL), 0);
    drive(t, &g, 1);
    assert_int_equal(g.kind, INV_RESULT_OK);
    inv_transport_free(t);
}

// A function's error output is any bytes: the message quotes printable UTF-8 only.
static void test_error_output_sanitised(void **state)
{
    (void)state;
    struct got g =
        run_one("cat >/dev/null; printf 'bad \\377\\376 \\033[31m red \\303\\251'; exit 1", 5000,
                true, "{}", 2);
    assert_int_equal(g.kind, INV_RESULT_FUNCTION_ERROR);
    assert_string_equal(g.message, "exec: exited with status 1: bad ?? ?[31m red \xc3\xa9");
}

// The handler dies with the process that started it, even when that one is killed with SIGKILL
// and never gets to clean up (before: the handler ran on as an orphan).
static void test_handler_dies_with_parent(void **state)
{
    (void)state;
    char pidfile[128], script[512];
    snprintf(pidfile, sizeof pidfile, "%s/orphan", dir);
    snprintf(script, sizeof script, "echo $$ > '%s.tmp'; mv '%s.tmp' '%s'; exec sleep 30", pidfile,
             pidfile, pidfile);
    pid_t mid = fork();
    assert_true(mid >= 0);
    if (mid == 0) {
        struct inv_transport *t = sh(script, 60000, false);
        struct got g = {0};
        uint64_t id;
        inv_transport_submit(t, "{}", 2, on_done, &g, &id, NULL);
        for (;;) {
            inv_transport_run(t, 100);
        }
    }
    double end = now_s() + 10;
    while (access(pidfile, F_OK) != 0 && now_s() < end) {
        usleep(20000);
    }
    size_t n;
    char *pid = read_file(pidfile, &n);
    pid_t handler = (pid_t)atoi(pid);
    free(pid);
    assert_true(handler > 0);
    assert_false(process_gone(handler));
    kill(mid, SIGKILL);
    waitpid(mid, NULL, 0);
    assert_true(process_gone(handler));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_gets_exact_event),
        cmocka_unit_test(test_nonzero_exit_is_function_error),
        cmocka_unit_test(test_batch_item_failures),
        cmocka_unit_test(test_malformed_json_fails_batch),
        cmocka_unit_test(test_timeout_kills_child_and_grandchild),
        cmocka_unit_test(test_signal_and_ignored_stdin),
        cmocka_unit_test(test_unread_stdin_is_queued),
        cmocka_unit_test(test_argv_without_shell_and_spawn_failure),
        cmocka_unit_test(test_program_resolution),
        cmocka_unit_test(test_concurrent_jobs_and_cancel),
        cmocka_unit_test(test_exit_status_decides_not_stdout),
        cmocka_unit_test(test_spawn_without_descriptors_is_retryable),
        cmocka_unit_test(test_error_output_sanitised),
        cmocka_unit_test(test_handler_dies_with_parent),
    };
    return cmocka_run_group_tests_name("exec_transport", tests, setup, teardown);
}
