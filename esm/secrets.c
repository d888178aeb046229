// secrets.c: secret resolution (see secrets.h): names, files, the resolver and its cache;
// fetching from Secrets Manager is esm/secrets_sm.c.
#include "base/alloc.h"
#include "esm/secrets_int.h"
#include "invoke/aws.h"
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
#include <unistd.h>

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

void esm_secrets_free(struct esm_secrets *s)
{
    if (!s) {
        return;
    }
    while (s->fetches) {
        sec_fetch_free(s->fetches);
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

bool sec_is_secret_sac(enum esm_sac_type t)
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
        if (sac && !sec_is_secret_sac(cfg->sacs[i].type)) {
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
