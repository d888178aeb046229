// transport_exec.c: the "exec" transport. One child per batch: the event goes to its stdin
// through a non-blocking pipe, its stdout is collected through another, and its exit is noticed
// through a pidfd (Linux >= 5.3; without one, waitpid(WNOHANG) every 50 ms). No step blocks:
// every descriptor is non-blocking and work happens in dispatch().
#define _GNU_SOURCE // pipe2

#include "base/alloc.h"
#include "base/buf.h"
#include "invoke/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define POLL_TICK_MS 50

struct job {
    uint64_t id;
    inv_done_fn *done;
    void *ctx;
    pid_t pid; // 0 when the spawn failed
    int pidfd, in_fd, out_fd;
    const char *payload;
    size_t len, written;
    struct buf out;
    bool truncated, exited, timed_out, cancelled;
    int wstatus;
    int64_t deadline_ms;
    struct inv_result res; // preset when the spawn failed
};

struct exec_transport {
    struct inv_transport base;
    char **argv; // NULL-terminated copy
    uint32_t timeout_ms;
    size_t max_output;
    bool report;
    uint64_t next_id;
    struct job **jobs;
    size_t num_jobs;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void kill_job(struct job *j)
{
    if (j->pid > 0 && !j->exited) {
        kill(-j->pid, SIGKILL); // the child's process group (grandchildren too)
        kill(j->pid, SIGKILL);
    }
}

static void job_free(struct job *j)
{
    close_fd(&j->pidfd);
    close_fd(&j->in_fd);
    close_fd(&j->out_fd);
    buf_cleanup(&j->out);
    inv_result_cleanup(&j->res);
    free(j);
}

// runnable returns 0 when |path| names an executable regular file, otherwise the errno execve
// would give (ENOENT, EACCES; ENAMETOOLONG etc. from stat).
static int runnable(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        return errno;
    }
    if (!S_ISREG(st.st_mode) || access(path, X_OK) != 0) {
        return EACCES;
    }
    return 0;
}

// resolve_program finds the file execvp would run for |name| and writes it to |out|: |name|
// itself when it contains a slash, otherwise the first runnable |dir|/|name| along PATH (an empty
// entry is the current directory; no PATH means "/bin:/usr/bin", as glibc). Returns 0, or the
// errno to report: EACCES when a match exists but none is runnable, ENOENT when there is none.
//
// kesm resolves the program itself, before posix_spawn, so that a missing or unrunnable program
// is always reported here with its reason. posix_spawnp reports exec failures through memory
// shared with a vfork'd child; where that sharing is not real (under valgrind, which turns the
// vfork into a fork) the failure would only show as a child exiting 127.
static int resolve_program(const char *name, char *out, size_t cap)
{
    if (name[0] == '\0') {
        return ENOENT;
    }
    if (strchr(name, '/') != NULL) {
        if ((size_t)snprintf(out, cap, "%s", name) >= cap) {
            return ENAMETOOLONG;
        }
        return runnable(out);
    }
    const char *path = getenv("PATH");
    if (path == NULL) {
        path = "/bin:/usr/bin";
    }
    int why = ENOENT;
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t dlen = end ? (size_t)(end - p) : strlen(p);
        int n = dlen == 0 ? snprintf(out, cap, "%s", name)
                          : snprintf(out, cap, "%.*s/%s", (int)dlen, p, name);
        if (n >= 0 && (size_t)n < cap) {
            int rc = runnable(out);
            if (rc == 0) {
                return 0;
            }
            if (rc == EACCES) {
                why = EACCES;
            }
        }
        if (end == NULL) {
            break;
        }
        p = end;
    }
    return why;
}

// spawn starts the child; on failure it leaves j->pid == 0 and j->res describing why.
static void spawn(struct exec_transport *e, struct job *j)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    char prog[4096];
    int rc = resolve_program(e->argv[0], prog, sizeof prog);
    if (rc != 0) {
        goto fail;
    }
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        rc = errno;
        goto fail;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawnattr_init(&at);
    sigset_t def, none;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETPGROUP);
    pid_t pid;
    rc = posix_spawn(&pid, prog, &fa, &at, e->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        goto fail;
    }
    close(in[0]);
    close(out[1]);
    j->pid = pid;
    j->in_fd = in[1];
    j->out_fd = out[0];
    set_nonblock(j->in_fd);
    set_nonblock(j->out_fd);
#if defined(SYS_pidfd_open) && !defined(INV_EXEC_NO_PIDFD) // the define tests the fallback
    j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (j->pidfd >= 0) {
        fcntl(j->pidfd, F_SETFD, FD_CLOEXEC);
    }
#endif
    if (j->len == 0) {
        close_fd(&j->in_fd);
    }
    return;
fail:
    for (int i = 0; i < 2; i++) {
        close_fd(&in[i]);
        close_fd(&out[i]);
    }
    char msg[256];
    snprintf(msg, sizeof msg, "exec: cannot execute '%s': %s", e->argv[0], strerror(rc));
    j->res.kind = INV_RESULT_FATAL;
    j->res.message = xstrdup(msg);
}

static int exec_submit(struct inv_transport *t, const char *payload, size_t len, inv_done_fn *done,
                       void *ctx, uint64_t *out_id, struct inv_err *err)
{
    (void)err;
    struct exec_transport *e = (struct exec_transport *)t;
    struct job *j = xcalloc(1, sizeof *j);
    j->id = ++e->next_id;
    j->done = done;
    j->ctx = ctx;
    j->pidfd = j->in_fd = j->out_fd = -1;
    j->payload = payload;
    j->len = len;
    buf_init(&j->out);
    inv_result_init(&j->res);
    j->deadline_ms = now_ms() + (int64_t)e->timeout_ms;
    spawn(e, j);
    e->jobs = xrealloc(e->jobs, (e->num_jobs + 1) * sizeof *e->jobs);
    e->jobs[e->num_jobs++] = j;
    *out_id = j->id;
    return 0;
}

static int exec_cancel(struct inv_transport *t, uint64_t id)
{
    struct exec_transport *e = (struct exec_transport *)t;
    for (size_t i = 0; i < e->num_jobs; i++) {
        struct job *j = e->jobs[i];
        if (j->id == id && !j->cancelled) {
            // Kill now, reap later (dispatch), never call back.
            j->cancelled = true;
            kill_job(j);
            close_fd(&j->in_fd);
            close_fd(&j->out_fd);
            return 0;
        }
    }
    return -1;
}

static void exec_free(struct inv_transport *t)
{
    struct exec_transport *e = (struct exec_transport *)t;
    for (size_t i = 0; i < e->num_jobs; i++) {
        struct job *j = e->jobs[i];
        kill_job(j);
        if (j->pid > 0 && !j->exited) {
            while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR) {
            }
        }
        job_free(j);
    }
    free(e->jobs);
    for (char **a = e->argv; a && *a; a++) {
        free(*a);
    }
    free(e->argv);
    free(e);
}

static bool job_finished(const struct job *j)
{
    if (j->pid == 0) {
        return true; // spawn failed: report at once
    }
    return j->exited && (j->out_fd < 0 || j->timed_out || j->cancelled);
}

static size_t exec_poll_fds(struct inv_transport *t, struct pollfd *fds, size_t cap,
                            int *out_timeout_ms)
{
    struct exec_transport *e = (struct exec_transport *)t;
    size_t n = 0;
    int64_t now = now_ms(), wait = -1;
    for (size_t i = 0; i < e->num_jobs; i++) {
        struct job *j = e->jobs[i];
        int fdv[3] = {j->in_fd, j->out_fd, j->exited ? -1 : j->pidfd};
        short ev[3] = {POLLOUT, POLLIN, POLLIN};
        for (int k = 0; k < 3; k++) {
            if (fdv[k] >= 0) {
                if (n < cap) {
                    fds[n].fd = fdv[k];
                    fds[n].events = ev[k];
                    fds[n].revents = 0;
                }
                n++;
            }
        }
        int64_t w;
        if (job_finished(j)) {
            w = 0;
        } else if (!j->exited && j->pidfd < 0) {
            w = POLL_TICK_MS;
        } else {
            w = j->timed_out ? POLL_TICK_MS : j->deadline_ms - now;
        }
        if (w < 0) {
            w = 0;
        }
        if (wait < 0 || w < wait) {
            wait = w;
        }
    }
    *out_timeout_ms = wait > 0x7fffffff ? 0x7fffffff : (int)wait;
    return n;
}

static void pump_stdin(struct job *j)
{
    while (j->in_fd >= 0 && j->written < j->len) {
        ssize_t w = write(j->in_fd, j->payload + j->written, j->len - j->written);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                close_fd(&j->in_fd); // EPIPE: the child stopped reading; its exit decides
            }
            return;
        }
        j->written += (size_t)w;
    }
    if (j->written == j->len) {
        close_fd(&j->in_fd);
    }
}

static void pump_stdout(struct exec_transport *e, struct job *j)
{
    while (j->out_fd >= 0) {
        char buf[65536];
        ssize_t r = read(j->out_fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (r <= 0) {
            close_fd(&j->out_fd);
            return;
        }
        size_t keep = (size_t)r;
        if (j->out.len + keep > e->max_output) {
            keep = e->max_output - j->out.len;
            j->truncated = true;
        }
        buf_add(&j->out, buf, keep);
    }
}

static void reap(struct job *j)
{
    if (j->pid <= 0 || j->exited) {
        return;
    }
    int st;
    pid_t r;
    do {
        r = waitpid(j->pid, &st, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == j->pid || (r < 0 && errno == ECHILD)) {
        j->exited = true;
        j->wstatus = r == j->pid ? st : 0;
        close_fd(&j->pidfd);
    }
}

static void check_timeout(struct exec_transport *e, struct job *j, int64_t now)
{
    if (j->timed_out || j->cancelled || j->pid <= 0 || now < j->deadline_ms) {
        return;
    }
    if (j->exited && j->out_fd < 0) {
        return;
    }
    (void)e;
    j->timed_out = true;
    kill_job(j);
    if (j->exited) {
        kill(-j->pid, SIGKILL); // a grandchild still holds stdout open
    }
    close_fd(&j->in_fd);
    close_fd(&j->out_fd);
}

static void make_result(struct exec_transport *e, struct job *j)
{
    if (j->pid == 0) {
        return; // spawn failure, preset
    }
    char msg[320];
    if (j->timed_out) {
        snprintf(msg, sizeof msg, "exec: timed out after %u ms (killed)", e->timeout_ms);
        j->res.kind = INV_RESULT_FUNCTION_ERROR;
        j->res.message = xstrdup(msg);
        return;
    }
    if (WIFSIGNALED(j->wstatus)) {
        snprintf(msg, sizeof msg, "exec: killed by signal %d", WTERMSIG(j->wstatus));
        j->res.kind = INV_RESULT_FUNCTION_ERROR;
        j->res.message = xstrdup(msg);
        return;
    }
    j->res.status = WIFEXITED(j->wstatus) ? WEXITSTATUS(j->wstatus) : -1;
    if (j->res.status != 0) {
        // The function's error document (or text) is its stdout, as Lambda returns the error body.
        int shown = (int)(j->out.len < 200 ? j->out.len : 200);
        snprintf(msg, sizeof msg, "exec: exited with status %d%s%.*s", j->res.status,
                 shown ? ": " : "", shown, j->out.p ? j->out.p : "");
        j->res.kind = INV_RESULT_FUNCTION_ERROR;
        j->res.message = xstrdup(msg);
        return;
    }
    if (j->truncated && e->report) {
        snprintf(msg, sizeof msg, "exec: response larger than %zu bytes", e->max_output);
        j->res.kind = INV_RESULT_FUNCTION_ERROR;
        j->res.message = xstrdup(msg);
        return;
    }
    inv_result_from_response(&j->res, j->out.p, j->out.len, e->report);
}

static void exec_dispatch(struct inv_transport *t, const struct pollfd *fds, size_t num_fds)
{
    (void)fds;
    (void)num_fds;
    struct exec_transport *e = (struct exec_transport *)t;
    int64_t now = now_ms();
    struct job **done = NULL;
    size_t num_done = 0, keep = 0;
    for (size_t i = 0; i < e->num_jobs; i++) {
        struct job *j = e->jobs[i];
        if (j->pid > 0) {
            pump_stdin(j);
            pump_stdout(e, j);
            reap(j);
            check_timeout(e, j, now);
            reap(j);
        }
        if (job_finished(j)) {
            done = xrealloc(done, (num_done + 1) * sizeof *done);
            done[num_done++] = j;
        } else {
            e->jobs[keep++] = j;
        }
    }
    e->num_jobs = keep;
    // Callbacks run after the job list is consistent: they may submit or cancel.
    for (size_t i = 0; i < num_done; i++) {
        struct job *j = done[i];
        if (!j->cancelled) {
            make_result(e, j);
            j->done(j->ctx, j->id, &j->res);
        }
        job_free(j);
    }
    free(done);
}

static const struct inv_transport_funcs exec_funcs = {
    .name = "exec",
    .submit = exec_submit,
    .cancel = exec_cancel,
    .free = exec_free,
    .poll_fds = exec_poll_fds,
    .dispatch = exec_dispatch,
};

int inv_exec_new(struct inv_transport **out, const struct inv_exec_cfg *cfg, struct inv_err *err)
{
    *out = NULL;
    if ((cfg->argv == NULL || cfg->argv[0] == NULL) &&
        (cfg->shell_command == NULL || cfg->shell_command[0] == '\0')) {
        return inv_fail(err, -1, "exec: no command configured");
    }
    if (cfg->timeout_ms == 0) {
        return inv_fail(err, -1, "exec: the timeout must be positive");
    }
    struct exec_transport *e = xcalloc(1, sizeof *e);
    e->base.funcs = &exec_funcs;
    e->timeout_ms = cfg->timeout_ms;
    e->max_output = cfg->max_output ? cfg->max_output : 6291456;
    e->report = cfg->report_batch_item_failures;
    if (cfg->argv != NULL && cfg->argv[0] != NULL) {
        size_t n = 0;
        while (cfg->argv[n]) {
            n++;
        }
        e->argv = xcalloc(n + 1, sizeof *e->argv);
        for (size_t i = 0; i < n; i++) {
            e->argv[i] = xstrdup(cfg->argv[i]);
        }
    } else {
        e->argv = xcalloc(4, sizeof *e->argv);
        e->argv[0] = xstrdup("/bin/sh");
        e->argv[1] = xstrdup("-c");
        e->argv[2] = xstrdup(cfg->shell_command);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    *out = &e->base;
    return 0;
}
