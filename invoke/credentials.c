// credentials.c: environment and shared-credentials-file sources, secrets wiped.
#include "invoke/credentials.h"

#include "base/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CREDS_FILE_MAX (1024 * 1024)

static void wipe_free(char *s)
{
    free_wiped(s, s != NULL ? strlen(s) : 0);
}

void inv_creds_init(struct inv_creds *c)
{
    memset(c, 0, sizeof *c);
}

void inv_creds_cleanup(struct inv_creds *c)
{
    free(c->access_key_id);
    wipe_free(c->secret_access_key);
    wipe_free(c->session_token);
    inv_creds_init(c);
}

void inv_creds_set(struct inv_creds *c, const char *access_key_id, const char *secret_access_key,
                   const char *session_token, const char *source)
{
    inv_creds_cleanup(c);
    c->access_key_id = xstrdup(access_key_id);
    c->secret_access_key = xstrdup(secret_access_key);
    c->session_token = session_token && *session_token ? xstrdup(session_token) : NULL;
    snprintf(c->source, sizeof c->source, "%s", source ? source : "");
}

// read_file reads a whole (small) file into a NUL-terminated heap buffer.
static int read_file(const char *path, char **out, size_t *out_len, struct inv_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return inv_fail(err, -1, "credentials file %s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CREDS_FILE_MAX) {
        close(fd);
        return inv_fail(err, -1, "credentials file %s: not a regular file of at most %d bytes",
                        path, CREDS_FILE_MAX);
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int e = errno;
            mem_wipe(buf, len);
            free(buf);
            close(fd);
            return inv_fail(err, -1, "credentials file %s: %s", path, strerror(e));
        }
        if (n == 0 || len + (size_t)n == cap - 1) {
            len += (size_t)n;
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

// trim returns the [*s, *e) range without surrounding blanks.
static void trim(const char **s, const char **e)
{
    while (*s < *e && is_space(**s)) {
        (*s)++;
    }
    while (*e > *s && is_space((*e)[-1])) {
        (*e)--;
    }
}

struct profile_out {
    char *akid, *secret, *token;
};

static void profile_out_wipe(struct profile_out *p)
{
    free(p->akid);
    wipe_free(p->secret);
    wipe_free(p->token);
    memset(p, 0, sizeof *p);
}

static bool key_is(const char *k, size_t klen, const char *name)
{
    return strlen(name) == klen && memcmp(k, name, klen) == 0;
}

// parse_ini scans |buf| for |profile|'s keys. Returns 1 if the profile section exists, 0 if not,
// -1 on a malformed line.
static int parse_ini(const char *buf, size_t len, const char *path, const char *profile,
                     struct profile_out *out, struct inv_err *err)
{
    const char *p = buf, *end = buf + len;
    int line = 0;
    bool in_profile = false, found = false, after_key = false;
    while (p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *s = p, *e = le;
        p = nl ? nl + 1 : end;
        bool indented = s < e && is_space(*s);
        trim(&s, &e);
        if (s == e || *s == '#' || *s == ';') {
            continue;
        }
        if (indented && after_key) {
            continue; // continuation of a nested value
        }
        if (*s == '[') {
            if (e[-1] != ']') {
                return inv_fail(err, -1, "%s:%d: section header without a closing ']'", path, line);
            }
            const char *ns = s + 1, *ne = e - 1;
            trim(&ns, &ne);
            if (ns == ne) {
                return inv_fail(err, -1, "%s:%d: empty section name", path, line);
            }
            in_profile =
                strlen(profile) == (size_t)(ne - ns) && memcmp(ns, profile, (size_t)(ne - ns)) == 0;
            found = found || in_profile;
            after_key = false;
            continue;
        }
        const char *eq = memchr(s, '=', (size_t)(e - s));
        if (eq == NULL || eq == s) {
            return inv_fail(err, -1, "%s:%d: expected 'key = value' or '[section]'", path, line);
        }
        const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
        trim(&ks, &ke);
        trim(&vs, &ve);
        after_key = true;
        if (!in_profile) {
            continue;
        }
        size_t klen = (size_t)(ke - ks), vlen = (size_t)(ve - vs);
        char **slot = key_is(ks, klen, "aws_access_key_id")       ? &out->akid
                      : key_is(ks, klen, "aws_secret_access_key") ? &out->secret
                      : key_is(ks, klen, "aws_session_token")     ? &out->token
                                                                  : NULL;
        if (slot != NULL) {
            if (*slot != NULL) {
                mem_wipe(*slot, strlen(*slot));
                free(*slot);
            }
            *slot = xstrndup(vs, vlen);
        }
    }
    return found ? 1 : 0;
}

int inv_creds_load_file(struct inv_creds *out, const char *path, const char *profile,
                        struct inv_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    if (read_file(path, &buf, &len, err) != 0) {
        return -1;
    }
    struct profile_out po = {0};
    int rc = parse_ini(buf, len, path, profile, &po, err);
    mem_wipe(buf, len);
    free(buf);
    if (rc < 0) {
        goto out;
    }
    if (rc == 0) {
        rc = inv_fail(err, -1, "credentials file %s: no profile [%s]", path, profile);
        goto out;
    }
    if (po.akid == NULL || *po.akid == '\0' || po.secret == NULL || *po.secret == '\0') {
        rc = inv_fail(err, -1, "credentials file %s: profile [%s] lacks %s", path, profile,
                      po.akid == NULL || *po.akid == '\0' ? "aws_access_key_id"
                                                          : "aws_secret_access_key");
        goto out;
    }
    char source[160];
    snprintf(source, sizeof source, "shared credentials file %s (profile %s)", path, profile);
    inv_creds_set(out, po.akid, po.secret, po.token, source);
    rc = 0;
out:
    profile_out_wipe(&po);
    return rc;
}

static const char *env(inv_getenv_fn *fn, const char *name)
{
    const char *v = fn(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

static const char *sys_getenv(const char *name)
{
    return getenv(name);
}

int inv_creds_load(struct inv_creds *out, inv_getenv_fn *getenv_fn, struct inv_err *err)
{
    inv_getenv_fn *fn = getenv_fn ? getenv_fn : sys_getenv;
    const char *akid = env(fn, "AWS_ACCESS_KEY_ID");
    const char *secret = env(fn, "AWS_SECRET_ACCESS_KEY");
    if (akid != NULL && secret != NULL) {
        const char *token = env(fn, "AWS_SESSION_TOKEN");
        if (token == NULL) {
            token = env(fn, "AWS_SECURITY_TOKEN");
        }
        inv_creds_set(out, akid, secret, token, "environment");
        return 0;
    }
    if (akid != NULL || secret != NULL) {
        return inv_fail(err, -1, "environment: %s is set but %s is not",
                        akid ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                        akid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    }
    const char *profile = env(fn, "AWS_PROFILE");
    if (profile == NULL) {
        profile = env(fn, "AWS_DEFAULT_PROFILE");
    }
    if (profile == NULL) {
        profile = "default";
    }
    const char *path = env(fn, "AWS_SHARED_CREDENTIALS_FILE");
    char home_path[4096];
    if (path == NULL) {
        const char *home = env(fn, "HOME");
        if (home == NULL) {
            return inv_fail(err, -1,
                            "no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY unset "
                            "and neither AWS_SHARED_CREDENTIALS_FILE nor HOME is set");
        }
        snprintf(home_path, sizeof home_path, "%s/.aws/credentials", home);
        path = home_path;
    }
    if (access(path, F_OK) != 0) {
        return inv_fail(err, -1,
                        "no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY unset and "
                        "%s does not exist",
                        path);
    }
    return inv_creds_load_file(out, path, profile, err);
}
