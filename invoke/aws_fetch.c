// aws_fetch.c: fetching credentials over the network (STS, the container endpoint, EC2 instance
// metadata) and from credential_process, all on the reactor (see aws.h).
#define _GNU_SOURCE // pipe2
#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "invoke/aws_int.h"
#include "invoke/err.h"
#include "invoke/sigv4.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define TOKEN_FILE_MAX 65536   // web identity and container authorization token files
#define IMDS_TOKEN_TTL "21600" // seconds, as botocore asks
#define PROCESS_POLL_MS 20

enum step {
    STEP_STS,
    STEP_CONTAINER,
    STEP_IMDS_TOKEN,
    STEP_IMDS_ROLE,
    STEP_IMDS_CREDS,
    STEP_PROCESS,
};

struct fetch {
    struct src *s;
    src_done_fn *done;
    enum step step;
    uint64_t http_id;
    bool http_active;
    uint32_t attempt;
    struct net_timer *timer; // retry delay, process poll/timeout, deferred completion
    char *imds_token;        // NULL: IMDSv1 (the token request was refused)
    char role[130];
    // credential_process
    pid_t pid;
    int fd;
    struct net_fdwatch *watch;
    struct buf out;
    bool eof;
    uint64_t deadline_ms;
    struct inv_aws_creds_doc doc; // the parsed answer, handed over by finish()
};

struct net_http *aws_http(struct inv_aws *a, bool https, struct inv_err *err)
{
    if (https && a->tls == NULL) {
        struct net_tls_config tc = {.ca_file = a->ca_file};
        char e[256];
        a->tls = net_tls_ctx_new(&tc, e, sizeof e);
        if (a->tls == NULL) {
            inv_fail(err, 0, "TLS for AWS credential endpoints: %s", e);
            return NULL;
        }
        net_http_free(a->http); // remade below with the TLS context
        a->http = NULL;
    }
    if (a->http == NULL) {
        struct net_http_config hc = {
            .tls = a->tls,
            .connect_timeout_ms = 5000,
            .max_response_body = INV_AWS_JSON_MAX,
            .max_response_head = 16384,
            .default_timeout_ms = 10000,
            .log_tag = "aws-credentials",
        };
        a->http = net_http_new(a->r, &hc);
    }
    return a->http;
}

static void fetch_free(struct fetch *f)
{
    struct inv_aws *a = f->s->a;
    if (f->http_active && a->http != NULL) {
        net_http_cancel(a->http, f->http_id);
    }
    net_fdwatch_free(f->watch);
    if (f->fd >= 0) {
        close(f->fd);
    }
    if (f->pid > 0) {
        kill(-f->pid, SIGKILL);
        while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    net_timer_free(f->timer);
    free_wiped_str(f->imds_token);
    if (f->out.p != NULL) {
        mem_wipe(f->out.p, f->out.cap);
    }
    buf_cleanup(&f->out);
    inv_aws_creds_doc_cleanup(&f->doc);
    free(f);
}

void fetch_cancel(struct src *s)
{
    if (s->fetch != NULL) {
        fetch_free(s->fetch);
        s->fetch = NULL;
    }
}

// finish ends the fetch now (from a reactor callback): detach, free, report.
static void finish(struct fetch *f, bool ok, const char *err)
{
    struct src *s = f->s;
    src_done_fn *done = f->done;
    struct inv_aws_creds_doc doc = f->doc;
    memset(&f->doc, 0, sizeof f->doc);
    char msg[400];
    snprintf(msg, sizeof msg, "%s", err ? err : "");
    s->fetch = NULL;
    fetch_free(f);
    done(s, ok ? &doc : NULL, ok ? NULL : msg);
    if (!ok) {
        inv_aws_creds_doc_cleanup(&doc);
    }
}

static void failf(struct fetch *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(struct fetch *f, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    finish(f, false, msg);
}

// read_small_file reads a token file (re-read on every fetch: rotated tokens).
static char *read_small_file(const char *path, const char *what, struct inv_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        inv_fail(err, 0, "%s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > TOKEN_FILE_MAX) {
        close(fd);
        inv_fail(err, 0, "%s %s: not a regular file of at most %d bytes", what, path,
                 TOKEN_FILE_MAX);
        return NULL;
    }
    char *buf = xmalloc((size_t)st.st_size + 1);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || (len += (size_t)n) == (size_t)st.st_size) {
            break;
        }
    }
    close(fd);
    buf[len] = '\0';
    if (len == 0 || strlen(buf) != len) {
        free_wiped_str(buf);
        inv_fail(err, 0, "%s %s: empty or holds a NUL byte", what, path);
        return NULL;
    }
    return buf;
}

// ---- HTTP plumbing --------------------------------------------------------------------------

static void on_http(void *ctx, uint64_t id, const struct net_http_response *resp);

static int send_request(struct fetch *f, const char *method, const char *url,
                        const struct net_http_header *hs, size_t nh, const char *body,
                        size_t body_len, uint32_t timeout_ms, struct inv_err *err)
{
    struct net_http_url u;
    char e[256];
    if (net_http_url_parse(&u, url, e, sizeof e) != 0) {
        return inv_fail(err, -1, "%s: %s", url, e);
    }
    struct net_http *h = aws_http(f->s->a, u.tls, err);
    if (h == NULL) {
        return -1;
    }
    struct net_http_request rq = {method, url, hs, nh, body, body_len, timeout_ms};
    if (net_http_request(h, &rq, on_http, f, &f->http_id, e, sizeof e) != 0) {
        return inv_fail(err, -1, "%s", e);
    }
    f->http_active = true;
    f->attempt++;
    return 0;
}

// ---- STS ------------------------------------------------------------------------------------

static void form_add(struct buf *b, const char *name, const char *value)
{
    sigv4_form_add(b, name, value, strlen(value));
}

// sts_body writes the query-protocol form in botocore's member order.
static int sts_body(struct fetch *f, struct buf *b, struct inv_err *err)
{
    struct src *s = f->s;
    bool web = s->kind == SRC_WEB_IDENTITY;
    char session[80];
    if (s->session_name != NULL) {
        snprintf(session, sizeof session, "%s", s->session_name);
    } else {
        snprintf(session, sizeof session, "kesm-session-%lld", (long long)inv_aws_now(s->a));
    }
    form_add(b, "Action", web ? "AssumeRoleWithWebIdentity" : "AssumeRole");
    form_add(b, "Version", "2011-06-15");
    form_add(b, "RoleArn", s->role_arn);
    form_add(b, "RoleSessionName", session);
    if (web) {
        char *tok = read_small_file(s->token_file, "web identity token file", err);
        if (tok == NULL) {
            return -1;
        }
        form_add(b, "WebIdentityToken", tok);
        free_wiped_str(tok);
        return 0;
    }
    if (s->duration_s > 0) {
        char d[16];
        snprintf(d, sizeof d, "%d", s->duration_s);
        form_add(b, "DurationSeconds", d);
    }
    if (s->external_id != NULL) {
        form_add(b, "ExternalId", s->external_id);
    }
    return 0;
}

static int start_sts(struct fetch *f, const struct inv_creds *base, struct inv_err *err)
{
    struct inv_aws *a = f->s->a;
    const char *region = inv_aws_region(a);
    char url[2100];
    if (inv_aws_endpoint(a, INV_AWS_STS, region, NULL, url, sizeof url - 1, NULL, err) != 0) {
        return -1;
    }
    if (url[strlen(url) - 1] != '/') {
        strcat(url, "/"); // botocore posts to the endpoint's path + "/"
    }
    struct net_http_url u;
    char e[256];
    if (net_http_url_parse(&u, url, e, sizeof e) != 0) {
        return inv_fail(err, -1, "STS endpoint %s: %s", url, e);
    }
    struct buf body;
    buf_init(&body);
    if (sts_body(f, &body, err) != 0) {
        buf_cleanup(&body);
        return -1;
    }
    const char *ct = "application/x-www-form-urlencoded; charset=utf-8";
    struct net_http_header hs[6] = {{"Host", u.host_header}, {"Content-Type", ct}};
    size_t nh = 2;
    struct sigv4_signed sig = {{0}, {0}, NULL, NULL};
    int rc = -1;
    if (base != NULL) {
        struct sigv4_header sh[2] = {{"Host", u.host_header}, {"Content-Type", ct}};
        struct sigv4_request rq = {"POST", u.path,  u.query[0] ? u.query : NULL, sh, 2,
                                   body.p, body.len};
        if (sigv4_sign(&sig, base, region, "sts", inv_aws_now(a), &rq, err) != 0) {
            goto out;
        }
        hs[nh++] = (struct net_http_header){"X-Amz-Date", sig.amz_date};
        if (sig.security_token != NULL) {
            hs[nh++] = (struct net_http_header){"X-Amz-Security-Token", sig.security_token};
        }
        hs[nh++] = (struct net_http_header){"Authorization", sig.authorization};
    }
    rc = send_request(f, "POST", url, hs, nh, body.p, body.len, a->sts_timeout_ms, err);
out:
    sigv4_signed_cleanup(&sig);
    mem_wipe(body.p, body.cap);
    buf_cleanup(&body);
    return rc;
}

static void sts_answer(struct fetch *f, const struct net_http_response *resp)
{
    bool web = f->s->kind == SRC_WEB_IDENTITY;
    const char *op = web ? "AssumeRoleWithWebIdentity" : "AssumeRole";
    struct inv_err e = {{0}};
    enum inv_aws_parse_status st =
        inv_aws_sts_parse(&f->doc, web ? "AssumeRoleWithWebIdentityResult" : "AssumeRoleResult",
                          resp->body, resp->body_len, &e);
    if (resp->status == 200 && st == INV_AWS_PARSE_OK) {
        finish(f, true, NULL);
    } else if (st == INV_AWS_PARSE_SERVICE_ERROR) {
        failf(f, "STS %s: HTTP %d %s%s%s", op, resp->status, f->doc.error_code,
              f->doc.error_message[0] ? ": " : "", f->doc.error_message);
    } else if (resp->status != 200) {
        failf(f, "STS %s: HTTP %d %s", op, resp->status, resp->reason ? resp->reason : "");
    } else {
        failf(f, "STS %s: %s", op, e.msg);
    }
}

// ---- container ------------------------------------------------------------------------------

static int start_container(struct fetch *f, struct inv_err *err)
{
    struct src *s = f->s;
    char *tok = NULL;
    if (s->auth_token_file != NULL) {
        tok = read_small_file(s->auth_token_file, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", err);
        if (tok == NULL) {
            return -1;
        }
    } else if (s->auth_token != NULL) {
        tok = xstrdup(s->auth_token);
    }
    if (tok != NULL && strpbrk(tok, "\r\n") != NULL) {
        free_wiped_str(tok);
        return inv_fail(err, -1,
                        "the container authorization token holds CR or LF (not a legal "
                        "header value)");
    }
    struct net_http_header hs[2] = {{"Accept", "application/json"}, {"Authorization", tok}};
    int rc = send_request(f, "GET", s->url, hs, tok ? 2 : 1, NULL, 0, s->timeout_ms, err);
    free_wiped_str(tok);
    return rc;
}

// ---- IMDS -----------------------------------------------------------------------------------

static int start_imds(struct fetch *f, struct inv_err *err)
{
    struct src *s = f->s;
    char url[2200];
    struct net_http_header hs[1];
    const char *method = "GET";
    size_t nh = 0;
    switch (f->step) {
    case STEP_IMDS_TOKEN:
        snprintf(url, sizeof url, "%s/latest/api/token", s->url);
        hs[nh++] = (struct net_http_header){"x-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL};
        method = "PUT";
        break;
    case STEP_IMDS_ROLE:
        snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/", s->url);
        break;
    case STEP_IMDS_CREDS:
        snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/%s", s->url,
                 f->role);
        break;
    case STEP_STS:
    case STEP_CONTAINER:
    case STEP_PROCESS:
        return inv_fail(err, -1, "internal: not an IMDS step");
    }
    if (f->step != STEP_IMDS_TOKEN && f->imds_token != NULL) {
        hs[nh++] = (struct net_http_header){"x-aws-ec2-metadata-token", f->imds_token};
    }
    return send_request(f, method, url, hs, nh, NULL, 0, s->timeout_ms, err);
}

static bool role_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 128) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("_+=,.@-", c) != NULL)) {
            return false;
        }
    }
    return true;
}

// imds_answer moves the IMDS exchange one step on (or ends it).
static void imds_answer(struct fetch *f, const struct net_http_response *resp)
{
    struct inv_err e = {{0}};
    if (f->step == STEP_IMDS_TOKEN) {
        if (resp->err == NET_HTTP_OK && resp->status == 200 && resp->body_len > 0 &&
            resp->body_len <= 4096 && strlen(resp->body) == resp->body_len) {
            f->imds_token = xstrdup(resp->body);
        } else if (resp->err == NET_HTTP_OK && resp->status == 400) {
            failf(f, "token request refused: HTTP 400");
            return;
        }
        // 403, 404, 405, a timeout or no answer: go on without a token (IMDSv1), as botocore.
        f->step = STEP_IMDS_ROLE;
        f->attempt = 0;
    } else if (f->step == STEP_IMDS_ROLE) {
        size_t n = resp->body_len;
        while (n > 0 && (resp->body[n - 1] == '\n' || resp->body[n - 1] == '\r')) {
            n--;
        }
        const char *nl = memchr(resp->body, '\n', n);
        n = nl ? (size_t)(nl - resp->body) : n;
        if (!role_name_ok(resp->body, n)) {
            failf(f, "the instance profile role name is not a valid IAM role name");
            return;
        }
        memcpy(f->role, resp->body, n);
        f->role[n] = '\0';
        f->step = STEP_IMDS_CREDS;
        f->attempt = 0;
    } else {
        enum inv_aws_parse_status st =
            inv_aws_creds_json_parse(&f->doc, INV_AWS_JSON_IMDS, resp->body, resp->body_len, &e);
        if (st == INV_AWS_PARSE_OK) {
            finish(f, true, NULL);
        } else if (st == INV_AWS_PARSE_SERVICE_ERROR) {
            failf(f, "role %s: %s: %s", f->role, f->doc.error_code, f->doc.error_message);
        } else {
            failf(f, "role %s: %s", f->role, e.msg);
        }
        return;
    }
    if (start_imds(f, &e) != 0) {
        failf(f, "%s", e.msg);
    }
}

// ---- answers ----------------------------------------------------------------------------------

static bool retryable(const struct fetch *f, const struct net_http_response *resp)
{
    if (f->attempt >= (f->s->attempts ? f->s->attempts : 1)) {
        return false;
    }
    if (f->step == STEP_IMDS_TOKEN || f->step == STEP_STS) {
        return false;
    }
    return resp->err != NET_HTTP_OK || resp->status != 200 || resp->body_len == 0;
}

static void on_retry(void *ctx)
{
    struct fetch *f = ctx;
    struct inv_err e = {{0}};
    int rc = f->step == STEP_CONTAINER ? start_container(f, &e) : start_imds(f, &e);
    if (rc != 0) {
        failf(f, "%s", e.msg);
    }
}

static void on_http(void *ctx, uint64_t id, const struct net_http_response *resp)
{
    struct fetch *f = ctx;
    (void)id;
    f->http_active = false;
    if (retryable(f, resp)) {
        net_timer_arm(f->timer, f->step == STEP_CONTAINER ? 1000 : 100);
        return;
    }
    if (resp->err != NET_HTTP_OK && f->step != STEP_IMDS_TOKEN) {
        failf(f, "%s", resp->error);
        return;
    }
    switch (f->step) {
    case STEP_STS:
        sts_answer(f, resp);
        return;
    case STEP_CONTAINER: {
        struct inv_err e = {{0}};
        if (resp->status != 200) {
            failf(f, "HTTP %d %s", resp->status, resp->reason ? resp->reason : "");
            return;
        }
        if (inv_aws_creds_json_parse(&f->doc, INV_AWS_JSON_CONTAINER, resp->body, resp->body_len,
                                     &e) != INV_AWS_PARSE_OK) {
            failf(f, "%s", e.msg);
            return;
        }
        finish(f, true, NULL);
        return;
    }
    case STEP_IMDS_TOKEN:
    case STEP_IMDS_ROLE:
    case STEP_IMDS_CREDS:
        if (f->step != STEP_IMDS_TOKEN && resp->status != 200) {
            failf(f, "HTTP %d from %s", resp->status,
                  f->step == STEP_IMDS_ROLE ? "the role list" : "the role's credentials");
            return;
        }
        imds_answer(f, resp);
        return;
    case STEP_PROCESS:
        return;
    }
}

// ---- credential_process -----------------------------------------------------------------------

static void process_end(struct fetch *f, int status)
{
    f->pid = 0;
    if (WIFSIGNALED(status)) {
        failf(f, "credential_process was killed by signal %d", WTERMSIG(status));
        return;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        failf(f, "credential_process exited with status %d%s", WEXITSTATUS(status),
              WEXITSTATUS(status) == 127 ? " (command not found?)" : "");
        return;
    }
    struct inv_err e = {{0}};
    if (inv_aws_creds_json_parse(&f->doc, INV_AWS_JSON_PROCESS, f->out.p ? f->out.p : "",
                                 f->out.len, &e) != INV_AWS_PARSE_OK) {
        failf(f, "%s", e.msg);
        return;
    }
    finish(f, true, NULL);
}

static void on_process_timer(void *ctx)
{
    struct fetch *f = ctx;
    int status = 0;
    pid_t r = waitpid(f->pid, &status, WNOHANG);
    if (f->eof && r == f->pid) {
        process_end(f, status);
        return;
    }
    if (r == f->pid) {
        f->pid = 0; // exited before closing stdout (a grandchild may hold it): judge by status
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            process_end(f, status);
            return;
        }
    }
    if (net_reactor_now_ms(f->s->a->r) >= f->deadline_ms) {
        failf(f, "credential_process did not finish within %u ms (killed)", f->s->timeout_ms);
        return;
    }
    if (f->eof && f->pid == 0) {
        process_end(f, 0);
        return;
    }
    net_timer_arm(f->timer, PROCESS_POLL_MS);
}

static void on_process_out(int fd, unsigned revents, void *ctx)
{
    struct fetch *f = ctx;
    (void)revents;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            if (f->out.len + (size_t)n > INV_AWS_JSON_MAX) {
                mem_wipe(buf, sizeof buf);
                failf(f, "credential_process wrote more than %d bytes", INV_AWS_JSON_MAX);
                return;
            }
            buf_add(&f->out, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            break;
        }
        f->eof = true; // EOF or an error: either way no more output
        net_fdwatch_free(f->watch);
        f->watch = NULL;
        close(f->fd);
        f->fd = -1;
        break;
    }
    mem_wipe(buf, sizeof buf);
}

static int start_process(struct fetch *f, struct inv_err *err)
{
    char *argv[INV_AWS_ARGV_MAX + 1];
    if (inv_aws_shell_split(argv, INV_AWS_ARGV_MAX + 1, f->s->command, err) < 0) {
        return -1;
    }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        inv_aws_argv_free(argv);
        return inv_fail(err, -1, "credential_process: pipe: %s", strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_init(&at);
    sigset_t none, dflt;
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dflt);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        inv_fail(err, -1, "credential_process: cannot run %.200s: %s", argv[0], strerror(rc));
        inv_aws_argv_free(argv);
        return -1;
    }
    inv_aws_argv_free(argv);
    f->pid = pid;
    f->fd = pfd[0];
    fcntl(f->fd, F_SETFL, fcntl(f->fd, F_GETFL) | O_NONBLOCK);
    f->watch = net_fdwatch_new(f->s->a->r, f->fd, NET_FD_READ, on_process_out, f);
    f->deadline_ms = net_reactor_now_ms(f->s->a->r) + f->s->timeout_ms;
    net_timer_arm(f->timer, PROCESS_POLL_MS);
    return 0;
}

// ---- start --------------------------------------------------------------------------------------

int fetch_start(struct src *s, const struct inv_creds *base_creds, src_done_fn *done,
                struct inv_err *err)
{
    struct fetch *f = xcalloc(1, sizeof *f);
    f->s = s;
    f->done = done;
    f->fd = -1;
    f->doc.expiration = -1;
    buf_init(&f->out);
    int rc;
    switch (s->kind) {
    case SRC_ASSUME_ROLE:
    case SRC_WEB_IDENTITY:
        f->step = STEP_STS;
        f->timer = net_timer_new(s->a->r, on_retry, f);
        rc = start_sts(f, s->kind == SRC_ASSUME_ROLE ? base_creds : NULL, err);
        break;
    case SRC_CONTAINER:
        f->step = STEP_CONTAINER;
        f->timer = net_timer_new(s->a->r, on_retry, f);
        rc = start_container(f, err);
        break;
    case SRC_IMDS:
        f->step = STEP_IMDS_TOKEN;
        f->timer = net_timer_new(s->a->r, on_retry, f);
        rc = start_imds(f, err);
        break;
    case SRC_PROCESS:
        f->step = STEP_PROCESS;
        f->timer = net_timer_new(s->a->r, on_process_timer, f);
        rc = start_process(f, err);
        break;
    case SRC_ENV:
    case SRC_SHARED_FILE:
    case SRC_CONFIG_FILE:
    default:
        rc = inv_fail(err, -1, "static credentials are not fetched");
        break;
    }
    if (rc != 0) {
        fetch_free(f);
        return -1;
    }
    s->fetch = f;
    return 0;
}
