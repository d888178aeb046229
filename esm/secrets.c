// secrets.c: secret resolution (see secrets.h).
#include "esm/secrets.h"

#include "base/alloc.h"
#include "base/log.h"
#include "invoke/aws.h"
#include "invoke/err.h"
#include "invoke/sigv4.h"
#include "net/http.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct cached {
    struct cached *next;
    char *uri;
    char *text; // wiped on free
    size_t len;
};

struct esm_secrets {
    struct net_reactor *r;
    char *dir;
    bool sm;
    char *sm_endpoint;
    char *sm_region;
    uint32_t sm_timeout_ms;
    struct net_tls_ctx *tls;
    struct net_http *http;
    struct inv_aws *aws;     // credentials and endpoints (borrowed, or own_aws)
    struct inv_aws *own_aws; // made when the configuration gave none
    struct cached *cache;
    struct esm_secrets_fetch *fetches;
};

struct pending {
    struct esm_secrets_fetch *f;
    char *uri;
    uint64_t id;
    bool active;
};

struct esm_secrets_fetch {
    struct esm_secrets_fetch *next;
    struct esm_secrets *s;
    esm_secrets_done_fn *done;
    void *ctx;
    struct pending *p;
    size_t num_p, left;
    struct net_timer *later;
    uint64_t creds_wait; // waiting for AWS credentials before the requests go out
    const struct esm_config *cfg;
    int rc;
    enum esm_reason reason;
    char err[512];
};

static int failf(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

// ---- names --------------------------------------------------------------------------------

static bool is_file_uri(const char *uri)
{
    return strncmp(uri, "file://", 7) == 0;
}

const char *esm_secret_label(const char *uri)
{
    return is_file_uri(uri) ? uri + 7 : uri;
}

// arn_field returns field |i| (0-based, ':'-separated) of |uri| and its length via |out_len|.
static const char *arn_field(const char *uri, int i, size_t *out_len)
{
    const char *p = uri;
    for (int k = 0; k < i; k++) {
        p = strchr(p, ':');
        if (!p) {
            return NULL;
        }
        p++;
    }
    const char *e = strchr(p, ':');
    *out_len = e ? (size_t)(e - p) : strlen(p);
    return p;
}

static bool is_sm_arn(const char *uri)
{
    size_t n;
    const char *svc = arn_field(uri, 2, &n);
    const char *res = arn_field(uri, 5, &n);
    return strncmp(uri, "arn:", 4) == 0 && svc && strncmp(svc, "secretsmanager:", 15) == 0 && res &&
           n == 6 && strncmp(res, "secret", 6) == 0 && arn_field(uri, 6, &n) && n > 0;
}

bool esm_secret_arn_region(const char *uri, char *out, size_t cap)
{
    size_t n;
    const char *reg = is_sm_arn(uri) ? arn_field(uri, 3, &n) : NULL;
    if (!reg || n == 0 || n >= cap) {
        return false;
    }
    memcpy(out, reg, n);
    out[n] = '\0';
    return true;
}

const char *esm_secret_name_of(const char *uri)
{
    size_t n;
    if (is_sm_arn(uri)) {
        return arn_field(uri, 6, &n);
    }
    return uri;
}

// name_ok: Secrets Manager's name characters, '/' separated, no "." or ".." component.
static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 512 || name[0] == '/' || name[n - 1] == '/') {
        return false;
    }
    for (const char *c = name; *c; c++) {
        if (!isalnum((unsigned char)*c) && !strchr("/_+=.@-", *c)) {
            return false;
        }
    }
    for (const char *c = name; *c;) {
        const char *e = strchr(c, '/');
        size_t l = e ? (size_t)(e - c) : strlen(c);
        if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.')) {
            return false;
        }
        c = e ? e + 1 : c + l;
    }
    return true;
}

bool esm_secrets_uses_manager(const struct esm_secrets *s, const char *uri)
{
    return s && s->sm && !is_file_uri(uri);
}

// ---- files --------------------------------------------------------------------------------

// read_fd reads at most ESM_SECRET_MAX bytes; NULL (and a message) when larger.
static char *read_fd(int fd, const char *label, const char *what, size_t *out_len, char *err,
                     size_t cap)
{
    char *buf = xmalloc(ESM_SECRET_MAX + 1);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, ESM_SECRET_MAX + 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            esm_secret_free(buf, ESM_SECRET_MAX + 1);
            failf(err, cap, "%s: cannot read %s: %s", what, label, strerror(errno));
            return NULL;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
        if (len > ESM_SECRET_MAX) {
            esm_secret_free(buf, ESM_SECRET_MAX + 1);
            failf(err, cap, "%s: %s is larger than %d bytes", what, label, ESM_SECRET_MAX);
            return NULL;
        }
    }
    buf[len] = '\0';
    *out_len = len;
    return buf;
}

// open_nosymlinks opens |path| (relative to |dirfd|) for reading without following a symbolic
// link in any component (openat2 RESOLVE_NO_SYMLINKS; where the kernel lacks it, O_NOFOLLOW
// covers the last component). |beneath| also keeps the path inside |dirfd|.
static int open_nosymlinks(int dirfd, const char *path, bool beneath)
{
#ifdef SYS_openat2
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW;
    how.resolve = RESOLVE_NO_SYMLINKS | (beneath ? RESOLVE_BENEATH : 0);
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) {
        return (int)fd;
    }
#else
    (void)beneath;
#endif
    return openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

// public_cert: a root CA certificate is public: others may read it, but nobody but its owner may
// change it. Every other secret must not be accessible to group or others at all.
static bool public_cert(const char *what)
{
    return strcmp(what, "SERVER_ROOT_CA_CERTIFICATE") == 0;
}

// open_private opens the secret file |path| (relative to |dirfd|, or absolute) for reading and
// checks, on the opened file (fstat, so nothing can be swapped in between): a regular file,
// reached without a symbolic link, owned by kesm's user or root, and not accessible to group or
// others (for a root CA certificate: not writable by them). |label| names it in messages.
// Returns the fd, -2 when it does not exist, or -1.
static int open_private(int dirfd, const char *path, const char *label, const char *what, char *err,
                        size_t cap)
{
    int fd = open_nosymlinks(dirfd, path, dirfd != AT_FDCWD);
    if (fd < 0) {
        if (errno == ENOENT) {
            return -2;
        }
        if (errno == ELOOP || errno == EXDEV) {
            return failf(err, cap,
                         "%s: secret file %s is reached through a symbolic link: refused (name "
                         "the file itself)",
                         what, label);
        }
        return failf(err, cap, "%s: cannot open %s: %s", what, label, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return failf(err, cap, "%s: %s is not a regular file", what, label);
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        close(fd);
        return failf(err, cap,
                     "%s: secret file %s is owned by uid %u: it must belong to kesm's user (uid "
                     "%u) or root",
                     what, label, (unsigned)st.st_uid, (unsigned)geteuid());
    }
    if (public_cert(what) ? (st.st_mode & 0022) : (st.st_mode & 0077)) {
        close(fd);
        return failf(err, cap,
                     public_cert(what)
                         ? "%s: secret file %s has mode %04o: it must not be writable by group or "
                           "others (chmod 644 it)"
                         : "%s: secret file %s has mode %04o: it must not be accessible to group "
                           "or others (chmod 600 it)",
                     what, label, (unsigned)(st.st_mode & 07777));
    }
    return fd;
}

static char *read_dir_secret(struct esm_secrets *s, const char *uri, const char *what,
                             size_t *out_len, enum esm_reason *out_reason, char *err, size_t cap)
{
    *out_reason = ESM_REASON_ESM_CONFIG_NOT_VALID;
    if (!s || !s->dir) {
        failf(err, cap,
              "%s: secret '%s' names a Secrets Manager secret, and kesm has neither a secrets "
              "directory nor Secrets Manager configured (kesm serve --secrets-dir DIR, or a "
              "file:///absolute/path URI)",
              what, uri);
        return NULL;
    }
    const char *name = esm_secret_name_of(uri);
    if (!name_ok(name)) {
        failf(err, cap, "%s: '%s' is not a valid secret name or Secrets Manager ARN", what, uri);
        return NULL;
    }
    size_t nl = strlen(name);
    // candidates: <name>, <name>.json, and both without a "-XXXXXX" random suffix
    char cand[4][1100];
    size_t nc = 0;
    if ((size_t)snprintf(cand[nc++], sizeof cand[0], "%s/%s", s->dir, name) + 5 >= sizeof cand[0]) {
        failf(err, cap, "%s: secret name '%.100s' is too long for the secrets directory", what,
              name);
        return NULL;
    }
    snprintf(cand[nc++], sizeof cand[0], "%s/%s.json", s->dir, name);
    if (nl > 7 && name[nl - 7] == '-') {
        bool suffix = true;
        for (size_t i = nl - 6; i < nl; i++) {
            suffix = suffix && isalnum((unsigned char)name[i]);
        }
        if (suffix) {
            snprintf(cand[nc++], sizeof cand[0], "%s/%.*s", s->dir, (int)(nl - 7), name);
            snprintf(cand[nc++], sizeof cand[0], "%s/%.*s.json", s->dir, (int)(nl - 7), name);
        }
    }
    int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        failf(err, cap, "%s: cannot open the secrets directory %s: %s", what, s->dir,
              strerror(errno));
        return NULL;
    }
    size_t skip = strlen(s->dir) + 1; // the candidates relative to the directory
    for (size_t i = 0; i < nc; i++) {
        int fd = open_private(dfd, cand[i] + skip, cand[i], what, err, cap);
        if (fd == -1) {
            close(dfd);
            return NULL;
        }
        if (fd >= 0) {
            close(dfd);
            char *text = read_fd(fd, cand[i], what, out_len, err, cap);
            close(fd);
            return text;
        }
    }
    close(dfd);
    failf(err, cap, "%s: secret '%s' not found: no file %s or %s.json in the secrets directory",
          what, name, name, name);
    return NULL;
}

char *esm_secret_read(struct esm_secrets *s, const char *uri, const char *what, size_t *out_len,
                      enum esm_reason *out_reason, char *err, size_t cap)
{
    *out_reason = ESM_REASON_ESM_CONFIG_NOT_VALID;
    *out_len = 0;
    if (is_file_uri(uri)) {
        if (uri[7] != '/') {
            failf(err, cap, "%s: URI '%s' is not a file:///absolute/path", what, uri);
            return NULL;
        }
        int fd = open_private(AT_FDCWD, uri + 7, uri + 7, what, err, cap);
        if (fd == -2) {
            failf(err, cap, "%s: cannot open %s: %s", what, uri + 7, strerror(ENOENT));
        }
        if (fd < 0) {
            return NULL;
        }
        char *text = read_fd(fd, uri + 7, what, out_len, err, cap);
        close(fd);
        return text;
    }
    if (esm_secrets_uses_manager(s, uri)) {
        for (struct cached *c = s->cache; c; c = c->next) {
            if (!strcmp(c->uri, uri)) {
                char *t = xmalloc(c->len + 1);
                memcpy(t, c->text, c->len + 1);
                *out_len = c->len;
                return t;
            }
        }
        failf(err, cap, "%s: secret '%s' has not been fetched from Secrets Manager", what, uri);
        return NULL;
    }
    return read_dir_secret(s, uri, what, out_len, out_reason, err, cap);
}

void esm_secret_free(char *text, size_t len)
{
    if (text) {
        explicit_bzero(text, len);
        free(text);
    }
}

static void wipe_json(cJSON *j)
{
    for (cJSON *c = j; c; c = c->next) {
        if (c->valuestring) {
            explicit_bzero(c->valuestring, strlen(c->valuestring));
        }
        wipe_json(c->child);
    }
}

void esm_secret_json_free(cJSON *j)
{
    if (j) {
        wipe_json(j);
        cJSON_Delete(j);
    }
}

cJSON *esm_secret_json(struct esm_secrets *s, const char *uri, const char *what,
                       enum esm_reason *out_reason, char *err, size_t cap)
{
    size_t len = 0;
    char *text = esm_secret_read(s, uri, what, &len, out_reason, err, cap);
    if (!text) {
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength(text, len);
    esm_secret_free(text, len);
    if (!cJSON_IsObject(j)) {
        esm_secret_json_free(j);
        *out_reason = ESM_REASON_ESM_CONFIG_NOT_VALID;
        failf(err, cap, "%s: secret %s is not a JSON object", what, esm_secret_label(uri));
        return NULL;
    }
    return j;
}

const char *esm_secret_member(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

// ---- resolver -----------------------------------------------------------------------------

struct esm_secrets *esm_secrets_new(struct net_reactor *r, const struct esm_secrets_config *cfg,
                                    char *err, size_t cap)
{
    if (cfg->dir) {
        struct stat st;
        errno = 0;
        if (stat(cfg->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            failf(err, cap, "secrets directory %s: %s", cfg->dir,
                  errno ? strerror(errno) : "not a directory");
            return NULL;
        }
        if (st.st_mode & 0077) {
            failf(err, cap,
                  "secrets directory %s has mode %04o: it must not be accessible to group or "
                  "others (chmod 700 it)",
                  cfg->dir, (unsigned)(st.st_mode & 07777));
            return NULL;
        }
    }
    if (cfg->sm_endpoint) {
        struct net_http_url u;
        char uerr[256];
        if (net_http_url_parse(&u, cfg->sm_endpoint, uerr, sizeof uerr) != 0) {
            failf(err, cap, "Secrets Manager endpoint %s: %s", cfg->sm_endpoint, uerr);
            return NULL;
        }
    }
    struct esm_secrets *s = xcalloc(1, sizeof *s);
    s->r = r;
    s->dir = cfg->dir ? xstrdup(cfg->dir) : NULL;
    s->sm = cfg->secrets_manager;
    s->sm_endpoint = cfg->sm_endpoint ? xstrdup(cfg->sm_endpoint) : NULL;
    s->sm_region = cfg->sm_region ? xstrdup(cfg->sm_region) : NULL;
    s->sm_timeout_ms = cfg->sm_timeout_ms ? cfg->sm_timeout_ms : 10000;
    s->aws = cfg->aws;
    if (s->aws == NULL && s->sm) {
        struct inv_aws_cfg ac = {.reactor = r, .default_region = cfg->sm_region};
        s->aws = s->own_aws = inv_aws_new(&ac);
    }
    if (s->sm) {
        struct net_tls_config tc = {.ca_file = cfg->sm_ca_file};
        char terr[256];
        s->tls = net_tls_ctx_new(&tc, terr, sizeof terr);
        if (!s->tls) {
            failf(err, cap, "Secrets Manager TLS: %s", terr);
            esm_secrets_free(s);
            return NULL;
        }
        struct net_http_config hc = {.tls = s->tls, .default_timeout_ms = s->sm_timeout_ms};
        s->http = net_http_new(r, &hc);
    }
    return s;
}

static void cached_free(struct cached *c)
{
    free(c->uri);
    esm_secret_free(c->text, c->len);
    free(c);
}

static void fetch_free(struct esm_secrets_fetch *f);

void esm_secrets_free(struct esm_secrets *s)
{
    if (!s) {
        return;
    }
    while (s->fetches) {
        fetch_free(s->fetches);
    }
    net_http_free(s->http);
    net_tls_ctx_free(s->tls);
    while (s->cache) {
        struct cached *c = s->cache;
        s->cache = c->next;
        cached_free(c);
    }
    inv_aws_free(s->own_aws);
    free(s->dir);
    free(s->sm_endpoint);
    free(s->sm_region);
    free(s);
}

static bool is_secret_sac(enum esm_sac_type t)
{
    switch (t) {
    case ESM_SAC_BASIC_AUTH:
    case ESM_SAC_SASL_SCRAM_256_AUTH:
    case ESM_SAC_SASL_SCRAM_512_AUTH:
    case ESM_SAC_CLIENT_CERTIFICATE_TLS_AUTH:
    case ESM_SAC_SERVER_ROOT_CA_CERTIFICATE:
        return true;
    case ESM_SAC_VPC_SUBNET:
    case ESM_SAC_VPC_SECURITY_GROUP:
        return false;
    }
    return false;
}

size_t esm_secrets_forget(struct esm_secrets *s, const struct esm_config *cfg)
{
    size_t n = 0;
    if (!s) {
        return 0;
    }
    for (size_t i = 0; i < cfg->num_sacs + cfg->registry.num_access; i++) {
        bool sac = i < cfg->num_sacs;
        const char *uri = sac ? cfg->sacs[i].uri : cfg->registry.access[i - cfg->num_sacs].uri;
        if (sac && !is_secret_sac(cfg->sacs[i].type)) {
            continue;
        }
        for (struct cached **pc = &s->cache; *pc;) {
            if (!strcmp((*pc)->uri, uri)) {
                struct cached *c = *pc;
                *pc = c->next;
                cached_free(c);
                n++;
            } else {
                pc = &(*pc)->next;
            }
        }
    }
    return n;
}

// ---- Secrets Manager ----------------------------------------------------------------------

static void fetch_free(struct esm_secrets_fetch *f)
{
    struct esm_secrets *s = f->s;
    for (struct esm_secrets_fetch **pf = &s->fetches; *pf; pf = &(*pf)->next) {
        if (*pf == f) {
            *pf = f->next;
            break;
        }
    }
    for (size_t i = 0; i < f->num_p; i++) {
        if (f->p[i].active) {
            net_http_cancel(s->http, f->p[i].id);
        }
        free(f->p[i].uri);
    }
    free(f->p);
    net_timer_free(f->later);
    if (f->creds_wait != 0) {
        inv_aws_creds_cancel(s->aws, f->creds_wait);
    }
    free(f);
}

void esm_secrets_fetch_cancel(struct esm_secrets_fetch *f)
{
    if (f) {
        fetch_free(f);
    }
}

static void fetch_later(void *ctx)
{
    struct esm_secrets_fetch *f = ctx;
    esm_secrets_done_fn *done = f->done;
    void *dctx = f->ctx;
    int rc = f->rc;
    enum esm_reason reason = f->reason;
    char err[sizeof f->err];
    memcpy(err, f->err, sizeof err);
    fetch_free(f);
    done(dctx, rc, reason, err);
}

static void fetch_fail(struct esm_secrets_fetch *f, enum esm_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fetch_fail(struct esm_secrets_fetch *f, enum esm_reason reason, const char *fmt, ...)
{
    if (f->rc != 0) {
        return; // the first problem is the one reported
    }
    f->rc = -1;
    f->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->err, sizeof f->err, fmt, ap);
    va_end(ap);
}

static void cache_put(struct esm_secrets *s, const char *uri, const char *text)
{
    for (struct cached *c = s->cache; c; c = c->next) {
        if (!strcmp(c->uri, uri)) {
            return;
        }
    }
    struct cached *c = xcalloc(1, sizeof *c);
    c->uri = xstrdup(uri);
    c->len = strlen(text);
    c->text = xmalloc(c->len + 1);
    memcpy(c->text, text, c->len + 1);
    c->next = s->cache;
    s->cache = c;
}

static bool authn_error(const char *type)
{
    static const char *const authn[] = {
        "AccessDeniedException",      "UnrecognizedClientException", "InvalidSignatureException",
        "IncompleteSignature",        "ExpiredTokenException",       "InvalidClientTokenId",
        "MissingAuthenticationToken", "SignatureDoesNotMatch",
    };
    for (size_t i = 0; i < sizeof authn / sizeof authn[0]; i++) {
        if (!strcmp(type, authn[i])) {
            return true;
        }
    }
    return false;
}

// error_shape takes the AWS JSON error apart: the type (x-amzn-ErrorType or __type, without a
// "prefix#" or ":suffix") and the message.
static void error_shape(const struct net_http_response *resp, const cJSON *j, char *type,
                        size_t type_cap, char *msg, size_t msg_cap)
{
    const char *t = net_http_response_header(resp, "x-amzn-ErrorType");
    const cJSON *jt = cJSON_GetObjectItemCaseSensitive(j, "__type");
    if (!t && cJSON_IsString(jt)) {
        t = jt->valuestring;
    }
    const char *hash = t ? strrchr(t, '#') : NULL;
    t = hash ? hash + 1 : t;
    size_t tl = t ? strcspn(t, ":") : 0;
    snprintf(type, type_cap, "%.*s", (int)tl, t ? t : "");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "Message");
    if (!cJSON_IsString(m)) {
        m = cJSON_GetObjectItemCaseSensitive(j, "message");
    }
    snprintf(msg, msg_cap, "%s", cJSON_IsString(m) ? m->valuestring : "");
    for (char *c = msg; *c; c++) {
        if ((unsigned char)*c < 0x20) {
            *c = ' ';
        }
    }
}

static void on_response(void *ctx, uint64_t id, const struct net_http_response *resp)
{
    struct pending *p = ctx;
    struct esm_secrets_fetch *f = p->f;
    (void)id;
    p->active = false;
    if (resp->err != NET_HTTP_OK) {
        fetch_fail(f, ESM_REASON_ESM_CONFIG_NOT_VALID,
                   "Secrets Manager GetSecretValue for secret '%s' failed: %s", p->uri,
                   resp->error);
    } else {
        cJSON *j = cJSON_ParseWithLength(resp->body, resp->body_len);
        if (resp->status != 200) {
            char type[128], msg[256];
            error_shape(resp, j, type, sizeof type, msg, sizeof msg);
            fetch_fail(f,
                       authn_error(type) ? ESM_REASON_EVENT_SOURCE_AUTHN_ERROR
                                         : ESM_REASON_ESM_CONFIG_NOT_VALID,
                       "Secrets Manager GetSecretValue for secret '%s' failed: HTTP %d %s%s%s",
                       p->uri, resp->status, type[0] ? type : "(no error type)", msg[0] ? ": " : "",
                       msg);
        } else {
            const cJSON *ss = cJSON_GetObjectItemCaseSensitive(j, "SecretString");
            if (cJSON_IsString(ss)) {
                cache_put(f->s, p->uri, ss->valuestring);
            } else {
                fetch_fail(f, ESM_REASON_ESM_CONFIG_NOT_VALID,
                           "Secrets Manager secret '%s' has no SecretString (kesm needs the "
                           "JSON text shape Lambda uses, not SecretBinary)",
                           p->uri);
            }
        }
        esm_secret_json_free(j);
    }
    if (--f->left == 0) {
        net_timer_arm(f->later, 0);
    }
}

// start_get signs and sends one GetSecretValue. Returns 0, or -1 after fetch_fail.
static int start_get(struct esm_secrets_fetch *f, struct pending *p, const struct esm_config *cfg,
                     const struct inv_creds *creds)
{
    struct esm_secrets *s = f->s;
    char region[64], url[600], err[256];
    if (!esm_secret_arn_region(p->uri, region, sizeof region)) {
        snprintf(region, sizeof region, "%s",
                 s->sm_region ? s->sm_region : (cfg->fn.region ? cfg->fn.region : "us-east-1"));
    }
    struct inv_err ie = {{0}};
    if (inv_aws_endpoint(s->aws, INV_AWS_SECRETS_MANAGER, region, s->sm_endpoint, url,
                         sizeof url - 1, NULL, &ie) != 0) {
        fetch_fail(f, ESM_REASON_ESM_CONFIG_NOT_VALID, "Secrets Manager endpoint: %s", ie.msg);
        return -1;
    }
    strcat(url, "/");
    struct net_http_url u;
    if (net_http_url_parse(&u, url, err, sizeof err) != 0) {
        fetch_fail(f, ESM_REASON_ESM_CONFIG_NOT_VALID, "Secrets Manager endpoint %s: %s", url, err);
        return -1;
    }
    // The body as botocore writes it (json.dumps: ": " after the name), so that the request is
    // byte for byte the one the AWS SDK would sign.
    cJSON *id = cJSON_CreateString(p->uri);
    char *quoted = id ? cJSON_PrintUnformatted(id) : NULL;
    cJSON_Delete(id);
    if (!quoted) {
        fetch_fail(f, ESM_REASON_ESM_CONFIG_NOT_VALID, "out of memory");
        return -1;
    }
    size_t blen = strlen(quoted) + 16;
    char *body = xmalloc(blen);
    snprintf(body, blen, "{\"SecretId\": %s}", quoted);
    free(quoted);
    struct sigv4_header sh[] = {{"Host", u.host_header},
                                {"Content-Type", "application/x-amz-json-1.1"},
                                {"X-Amz-Target", "secretsmanager.GetSecretValue"}};
    struct sigv4_request rq = {"POST", u.path,      u.query[0] ? u.query : NULL, sh, 3,
                               body,   strlen(body)};
    struct sigv4_signed sig = {{0}, {0}, NULL, NULL};
    int rc = -1;
    if (sigv4_sign(&sig, creds, region, "secretsmanager", inv_aws_now(s->aws), &rq, &ie) != 0) {
        fetch_fail(f, ESM_REASON_ESM_CONFIG_NOT_VALID, "signing GetSecretValue: %s", ie.msg);
        goto out;
    }
    struct net_http_header hh[6] = {{"Host", u.host_header},
                                    {"Content-Type", "application/x-amz-json-1.1"},
                                    {"X-Amz-Target", "secretsmanager.GetSecretValue"},
                                    {"X-Amz-Date", sig.amz_date},
                                    {"Authorization", sig.authorization},
                                    {"X-Amz-Security-Token", sig.security_token}};
    struct net_http_request hr = {
        "POST", url, hh, sig.security_token ? 6u : 5u, body, strlen(body), s->sm_timeout_ms};
    p->active = true;
    if (net_http_request(s->http, &hr, on_response, p, &p->id, err, sizeof err) != 0) {
        p->active = false;
        fetch_fail(f, ESM_REASON_ESM_CONFIG_NOT_VALID, "GetSecretValue request: %s", err);
        goto out;
    }
    rc = 0;
out:
    sigv4_signed_cleanup(&sig);
    free(body);
    return rc;
}

static bool cached_has(const struct esm_secrets *s, const char *uri)
{
    for (const struct cached *c = s->cache; c; c = c->next) {
        if (!strcmp(c->uri, uri)) {
            return true;
        }
    }
    return false;
}

// on_fetch_creds: credentials are there (or not): send every GetSecretValue.
static void on_fetch_creds(void *ctx, const struct inv_creds *creds, const char *err, bool perm)
{
    struct esm_secrets_fetch *f = ctx;
    (void)perm;
    f->creds_wait = 0;
    if (creds == NULL) {
        fetch_fail(f, ESM_REASON_ESM_CONFIG_NOT_VALID, "AWS credentials for Secrets Manager: %s",
                   err);
        net_timer_arm(f->later, 0);
        return;
    }
    size_t started = 0;
    for (size_t i = 0; i < f->num_p && f->rc == 0; i++) {
        f->left++;
        if (start_get(f, &f->p[i], f->cfg, creds) != 0) {
            f->left--;
            break;
        }
        started++;
    }
    if (started == 0 || f->left == 0) {
        net_timer_arm(f->later, 0);
    }
}

struct esm_secrets_fetch *esm_secrets_fetch(struct esm_secrets *s, const struct esm_config *cfg,
                                            esm_secrets_done_fn *done, void *ctx)
{
    struct esm_secrets_fetch *f = xcalloc(1, sizeof *f);
    f->s = s;
    f->done = done;
    f->ctx = ctx;
    f->later = net_timer_new(s->r, fetch_later, f);
    f->next = s->fetches;
    s->fetches = f;
    f->p = xcalloc(cfg->num_sacs + cfg->registry.num_access + 1, sizeof *f->p);
    for (size_t i = 0; i < cfg->num_sacs + cfg->registry.num_access; i++) {
        // the broker's secrets, then the schema registry's (SchemaRegistryConfig.AccessConfigs)
        bool sac = i < cfg->num_sacs;
        const char *uri = sac ? cfg->sacs[i].uri : cfg->registry.access[i - cfg->num_sacs].uri;
        if ((sac && !is_secret_sac(cfg->sacs[i].type)) || !esm_secrets_uses_manager(s, uri) ||
            cached_has(s, uri)) {
            continue;
        }
        bool dup = false;
        for (size_t k = 0; k < f->num_p; k++) {
            dup = dup || !strcmp(f->p[k].uri, uri);
        }
        if (dup) {
            continue;
        }
        struct pending *p = &f->p[f->num_p++];
        p->f = f;
        p->uri = xstrdup(uri);
    }
    if (f->num_p == 0) {
        net_timer_arm(f->later, 0);
        return f;
    }
    f->cfg = cfg;
    f->creds_wait = inv_aws_creds_get(s->aws, on_fetch_creds, f);
    return f;
}
