// transport_exec.c: the "exec" transport. One child per batch: the event goes to its stdin
// through a non-blocking pipe, its stdout is collected through another, and its exit is noticed
// through a pidfd (Linux >= 5.3; without one, waitid(WNOHANG) every 50 ms). No step blocks
// (beyond fork/exec itself): every descriptor is non-blocking and work happens in dispatch().
//
// Lifetime: the child is started with fork + execve (not posix_spawn) so that it can ask the
// kernel for SIGKILL when kesm dies (PR_SET_PDEATHSIG, set before exec; if kesm died before the
// child got there, the child sees a new parent and exits without running the program). So a
// handler never outlives kesm, even after kill -9, and a partition is never invoked twice at
// once by an orphan. Each child leads its own process group: at a timeout, and once the child
// has exited, whatever it left behind in its group is killed (while the exited child is still
// unreaped, so its group id cannot be reused).
//
// The result is the child's exit status. After it exits, its stdout is read until EOF or for at
// most DRAIN_MS more: a grandchild that keeps stdout open cannot turn a success into a timeout.
#define _GNU_SOURCE // pipe2

#include "base/alloc.h"
#include "base/buf.h"
#include "base/utf8.h"
#include "invoke/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define POLL_TICK_MS 50
#define DRAIN_MS 200 // how long stdout is still read after the child exited

struct job {
    uint64_t id;
    inv_done_fn *done;
    void *ctx;
    pid_t pid; // 0 when the spawn failed
    int pidfd, in_fd, out_fd;
    const char *payload;
    size_t len, written;
    struct buf out;
    bool truncated, exited, reaped, timed_out, cancelled;
    int exit_status; // when exited: the exit code, or -1 when killed by exit_signal
    int exit_signal;
    int64_t deadline_ms;
    int64_t drain_until_ms; // after the exit: stdout is read until EOF or this time
    struct inv_result res;  // preset when the spawn failed
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

// kill_job kills the child's process group (grandchildren too) and the child. Safe until the
// child is reaped: its pid and group id cannot be reused before that.
static void kill_job(struct job *j)
{
    if (j->pid > 0 && !j->reaped) {
        kill(-j->pid, SIGKILL);
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
// kesm resolves the program itself, before fork, so that a missing or unrunnable program is
// reported with its reason at once; exec failures after that come back through a close-on-exec
// pipe.
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

// transient reports whether a failure to start the program may go away by itself (descriptors,
// processes or memory short for now, the file being written): the batch is then retried, and
// the mapping is never stopped for it.
static bool transient(int e)
{
    return e == EMFILE || e == ENFILE || e == EAGAIN || e == ENOMEM || e == ETXTBSY ||
           e == ENOBUFS || e == EINTR;
}

// child_exec runs in the forked child: async-signal-safe calls only. Never returns.
static void child_exec(const char *prog, char *const *argv, int in_fd, int out_fd, int err_fd,
                       pid_t parent)
{
    // Die with kesm (SIGKILL, even if kesm is killed with SIGKILL); if kesm is already gone, our
    // parent changed and the program must not start.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
        _exit(127);
    }
    setpgid(0, 0);
    static const int reset[] = {SIGPIPE, SIGINT,  SIGTERM, SIGHUP, SIGQUIT,
                                SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2};
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++) {
        sigaction(reset[i], &dfl, NULL);
    }
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0) {
        int e = errno;
        (void)!write(err_fd, &e, sizeof e);
        _exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(prog, argv, environ);
    int e = errno;
    (void)!write(err_fd, &e, sizeof e);
    _exit(127);
}

// start forks and execs |prog|; returns 0 with *out_pid, or the errno of the failure (the exec's
// own errno is reported back through a close-on-exec pipe).
static int start(const char *prog, char *const *argv, int in_fd, int out_fd, pid_t *out_pid)
{
    int errp[2];
    if (pipe2(errp, O_CLOEXEC) != 0) {
        return errno;
    }
    pid_t parent = getpid();
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); // no handler of ours may run in the child
    pid_t pid = fork();
    if (pid == 0) {
        close(errp[0]);
        child_exec(prog, argv, in_fd, out_fd, errp[1], parent);
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(errp[1]);
    if (pid < 0) {
        close(errp[0]);
        return fork_errno;
    }
    setpgid(pid, pid); // also from here, so kill(-pid) works at once (EACCES after exec is fine)
    int e = 0;
    ssize_t n;
    do {
        n = read(errp[0], &e, sizeof e);
    } while (n < 0 && errno == EINTR);
    close(errp[0]);
    if (n == (ssize_t)sizeof e) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        return e ? e : EIO;
    }
    *out_pid = pid;
    return 0;
}

// sanitize_into copies |len| bytes of a child's output into |out| as one line of printable
// text: valid UTF-8 kept, whitespace made spaces (trailing ones dropped), other control
// characters and invalid bytes replaced by '?', cut at a character boundary.
static void sanitize_into(char *out, size_t cap, const char *in, size_t len)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)in;
    for (size_t i = 0; i < len && o + 1 < cap;) {
        size_t n = p[i] < 0x80 ? 1 : utf8_seq(p + i, len - i);
        if (n <= 1 || o + n + 1 > cap) {
            char c = (char)p[i];
            if (n == 1 && (c == '\n' || c == '\r' || c == '\t')) {
                c = ' ';
            } else if (n != 1 || p[i] < 0x20 || p[i] == 0x7f) {
                c = '?';
            }
            out[o++] = c;
            i += n ? n : 1;
            continue;
        }
        memcpy(out + o, p + i, n);
        o += n;
        i += n;
    }
    while (o > 0 && out[o - 1] == ' ') {
        o--;
    }
    out[o] = '\0';
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
    pid_t pid = 0;
    rc = start(prog, e->argv, in[0], out[1], &pid);
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
    if (transient(rc)) {
        snprintf(msg, sizeof msg, "exec: cannot start '%s' now: %s (retried)", e->argv[0],
                 strerror(rc));
        j->res.kind = INV_RESULT_RETRYABLE;
    } else {
        snprintf(msg, sizeof msg, "exec: cannot execute '%s': %s", e->argv[0], strerror(rc));
        j->res.kind = INV_RESULT_FATAL;
    }
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

// reap_child kills what the exited (or cancelled) child left in its process group and reaps
// the child. The group id is still the unreaped child's, so the kill cannot hit a stranger.
static void reap_child(struct job *j)
{
    if (j->pid <= 0 || j->reaped) {
        return;
    }
    kill(-j->pid, SIGKILL);
    if (!j->exited) {
        kill(j->pid, SIGKILL);
    }
    while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    j->reaped = true;
    close_fd(&j->pidfd);
}

static void exec_free(struct inv_transport *t)
{
    struct exec_transport *e = (struct exec_transport *)t;
    for (size_t i = 0; i < e->num_jobs; i++) {
        struct job *j = e->jobs[i];
        reap_child(j);
        job_free(j);
    }
    free(e->jobs);
    for (char **a = e->argv; a && *a; a++) {
        free(*a);
    }
    free(e->argv);
    free(e);
}

static bool job_finished(const struct job *j, int64_t now)
{
    if (j->pid == 0) {
        return true; // spawn failed: report at once
    }
    if (!j->exited) {
        return false;
    }
    return j->timed_out || j->cancelled || j->out_fd < 0 || now >= j->drain_until_ms;
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
        if (job_finished(j, now)) {
            w = 0;
        } else if (j->exited) {
            w = j->drain_until_ms - now;
        } else if (j->pidfd < 0 || j->timed_out || j->cancelled) {
            w = POLL_TICK_MS;
        } else {
            w = j->deadline_ms - now;
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

// note_exit notices that the child exited, without reaping it (see reap_child), and starts the
// bounded drain of its stdout.
static void note_exit(struct job *j, int64_t now)
{
    if (j->pid <= 0 || j->exited) {
        return;
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r;
    do {
        r = waitid(P_PID, (id_t)j->pid, &si, WEXITED | WNOHANG | WNOWAIT);
    } while (r < 0 && errno == EINTR);
    if (r < 0 && errno == ECHILD) {
        j->exited = j->reaped = true; // reaped elsewhere (SIGCHLD ignored): status unknown
        j->exit_status = 0;
    } else if (r < 0 || si.si_pid != j->pid) {
        return;
    } else {
        j->exited = true;
        j->exit_status = si.si_code == CLD_EXITED ? si.si_status : -1;
        j->exit_signal = si.si_code == CLD_EXITED ? 0 : si.si_status;
    }
    j->drain_until_ms = now + DRAIN_MS;
    close_fd(&j->in_fd);
}

static void check_timeout(struct job *j, int64_t now)
{
    if (j->timed_out || j->cancelled || j->exited || j->pid <= 0 || now < j->deadline_ms) {
        return;
    }
    j->timed_out = true;
    kill_job(j);
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
    if (j->exit_status < 0) {
        snprintf(msg, sizeof msg, "exec: killed by signal %d", j->exit_signal);
        j->res.kind = INV_RESULT_FUNCTION_ERROR;
        j->res.message = xstrdup(msg);
        return;
    }
    j->res.status = j->exit_status;
    if (j->res.status != 0) {
        // The function's error document (or text) is its stdout, as Lambda returns the error
        // body: any bytes, so only printable UTF-8 of it is quoted.
        char shown[208];
        sanitize_into(shown, sizeof shown, j->out.p ? j->out.p : "",
                      j->out.len < 200 ? j->out.len : 200);
        snprintf(msg, sizeof msg, "exec: exited with status %d%s%s", j->res.status,
                 shown[0] ? ": " : "", shown);
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
            note_exit(j, now);
            check_timeout(j, now);
            note_exit(j, now);
        }
        if (job_finished(j, now)) {
            reap_child(j);
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

// exec_queued: the event bytes children have not read from their stdin yet.
static size_t exec_queued(struct inv_transport *t)
{
    struct exec_transport *e = (struct exec_transport *)t;
    size_t n = 0;
    for (size_t i = 0; i < e->num_jobs; i++) {
        const struct job *j = e->jobs[i];
        if (j->in_fd >= 0 && !j->cancelled) {
            n += j->len - j->written;
        }
    }
    return n;
}

static const struct inv_transport_funcs exec_funcs = {
    .name = "exec",
    .submit = exec_submit,
    .cancel = exec_cancel,
    .free = exec_free,
    .poll_fds = exec_poll_fds,
    .dispatch = exec_dispatch,
    .queued = exec_queued,
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
