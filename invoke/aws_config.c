// aws_config.c: the shared config and credentials files (see aws_config.h).
#include "invoke/aws_config.h"

#include "base/alloc.h"
#include "invoke/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct kv {
    char *key;   // lower case; "parent.sub" for nested values
    char *value; // wiped on free
};

struct section {
    char *name; // credentials file: the profile; config file: "profile X" -> "X" etc.
    int kind;   // SEC_PROFILE, SEC_SERVICES, SEC_OTHER
    struct kv *kvs;
    size_t num_kvs;
};

enum { SEC_PROFILE, SEC_SERVICES, SEC_OTHER };

struct ini {
    char path[1024];
    struct section *secs;
    size_t num_secs;
};

struct inv_aws_files {
    struct ini creds;
    struct ini config;
};

const char *inv_aws_env(inv_getenv_fn *getenv_fn, const char *name)
{
    const char *v = getenv_fn ? getenv_fn(name) : getenv(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

const char *inv_aws_profile_name(inv_getenv_fn *getenv_fn)
{
    const char *p = inv_aws_env(getenv_fn, "AWS_DEFAULT_PROFILE");
    if (p == NULL) {
        p = inv_aws_env(getenv_fn, "AWS_PROFILE");
    }
    return p ? p : "default";
}

static void ini_cleanup(struct ini *ini)
{
    for (size_t i = 0; i < ini->num_secs; i++) {
        struct section *s = &ini->secs[i];
        for (size_t k = 0; k < s->num_kvs; k++) {
            free(s->kvs[k].key);
            free_wiped_str(s->kvs[k].value);
        }
        free(s->kvs);
        free(s->name);
    }
    free(ini->secs);
    ini->secs = NULL;
    ini->num_secs = 0;
}

void inv_aws_files_free(struct inv_aws_files *f)
{
    if (f != NULL) {
        ini_cleanup(&f->creds);
        ini_cleanup(&f->config);
        free(f);
    }
}

// read_file reads a whole file (at most INV_AWS_FILE_MAX bytes). Returns 1 when it does not
// exist, 0 with the bytes, -1 with |err|.
static int read_file(const char *path, char **out, size_t *out_len, struct inv_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return 1;
        }
        return inv_fail(err, -1, "%s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 1; // as botocore: what is not a regular file (/dev/null) is no file
    }
    if (st.st_size > INV_AWS_FILE_MAX) {
        close(fd);
        return inv_fail(err, -1, "%s: larger than %d bytes", path, INV_AWS_FILE_MAX);
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = xmalloc(cap);
    while (len < cap - 1) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int e = errno;
            mem_wipe(buf, len);
            free(buf);
            close(fd);
            return inv_fail(err, -1, "%s: %s", path, strerror(e));
        }
        if (n == 0) {
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

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && is_blank(**s)) {
        (*s)++;
    }
    while (*e > *s && is_blank((*e)[-1])) {
        (*e)--;
    }
}

// struct parse: the state of one file's parse.
struct parse {
    struct ini *ini;
    bool config;
    int line;
    struct section *cur; // NULL before the first section
    struct kv *last;     // the key indented lines continue
    bool nested;         // last's own value was empty: indented lines are "sub = value"
    char parent[128];
    struct inv_err *err;
};

static int perr(struct parse *p, const char *what)
{
    return inv_fail(p->err, -1, "%s:%d: %s", p->ini->path, p->line, what);
}

static const struct section *find_section(const struct ini *ini, int kind, const char *name)
{
    for (size_t i = 0; i < ini->num_secs; i++) {
        if (ini->secs[i].kind == kind && strcmp(ini->secs[i].name, name) == 0) {
            return &ini->secs[i];
        }
    }
    return NULL;
}

// classify maps a config file section header to its kind and name ("profile x" -> x).
static int classify(bool config, const char *raw, const char **name)
{
    *name = raw;
    if (!config) {
        return SEC_PROFILE;
    }
    if (strcmp(raw, "default") == 0) {
        return SEC_PROFILE;
    }
    const char *prefixes[] = {"profile", "services"};
    for (int k = 0; k < 2; k++) {
        size_t n = strlen(prefixes[k]);
        if (strncmp(raw, prefixes[k], n) == 0 && is_blank(raw[n])) {
            const char *s = raw + n;
            while (is_blank(*s)) {
                s++;
            }
            *name = s;
            return *s ? (k == 0 ? SEC_PROFILE : SEC_SERVICES) : SEC_OTHER;
        }
    }
    return SEC_OTHER;
}

static int section_line(struct parse *p, const char *s, const char *e)
{
    if (e[-1] != ']') {
        return perr(p, "section header without a closing ']'");
    }
    const char *ns = s + 1, *ne = e - 1;
    trim(&ns, &ne);
    if (ns == ne || ne - ns > 255) {
        return perr(p, "empty or overlong section name");
    }
    char raw[256];
    memcpy(raw, ns, (size_t)(ne - ns));
    raw[ne - ns] = '\0';
    const char *name;
    int kind = classify(p->config, raw, &name);
    // "[default]" and "[profile default]" name the same profile in the config file; a real
    // duplicate is refused as configparser does.
    const struct section *dup = find_section(p->ini, kind, name);
    if (dup != NULL && !(p->config && kind == SEC_PROFILE && !strcmp(name, "default") &&
                         strcmp(raw, "default") != 0)) {
        return perr(p, "duplicate section");
    }
    if (p->ini->num_secs >= 10000) {
        return perr(p, "more than 10000 sections");
    }
    p->ini->secs = xrealloc(p->ini->secs, (p->ini->num_secs + 1) * sizeof *p->ini->secs);
    p->cur = &p->ini->secs[p->ini->num_secs++];
    memset(p->cur, 0, sizeof *p->cur);
    p->cur->name = xstrdup(name);
    p->cur->kind = kind;
    p->last = NULL;
    return 0;
}

static struct kv *add_kv(struct parse *p, const char *key, size_t klen, const char *v, size_t vlen)
{
    struct section *s = p->cur;
    char *k = xstrndup(key, klen);
    for (char *c = k; *c; c++) {
        if (*c >= 'A' && *c <= 'Z') {
            *c = (char)(*c - 'A' + 'a');
        }
    }
    for (size_t i = 0; i < s->num_kvs; i++) {
        if (strcmp(s->kvs[i].key, k) == 0) {
            free(k);
            perr(p, "duplicate key");
            return NULL;
        }
    }
    s->kvs = xrealloc(s->kvs, (s->num_kvs + 1) * sizeof *s->kvs);
    struct kv *kv = &s->kvs[s->num_kvs++];
    kv->key = k;
    kv->value = xstrndup(v, vlen);
    return kv;
}

// split_kv finds the delimiter ('=' or ':', whichever comes first) of a key line.
static const char *split_kv(const char *s, const char *e)
{
    for (const char *c = s; c < e; c++) {
        if (*c == '=' || *c == ':') {
            return c;
        }
    }
    return NULL;
}

static int continuation_line(struct parse *p, const char *s, const char *e)
{
    if (!p->nested) {
        size_t ol = strlen(p->last->value), nl = (size_t)(e - s);
        char *v = xmalloc(ol + nl + 2);
        memcpy(v, p->last->value, ol);
        v[ol] = '\n';
        memcpy(v + ol + 1, s, nl);
        v[ol + 1 + nl] = '\0';
        free_wiped_str(p->last->value);
        p->last->value = v;
        return 0;
    }
    const char *eq = split_kv(s, e);
    if (eq == NULL || eq == s) {
        return perr(p, "expected 'key = value' in a nested block");
    }
    const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
    trim(&ks, &ke);
    trim(&vs, &ve);
    char key[300];
    int n = snprintf(key, sizeof key, "%s.%.*s", p->parent, (int)(ke - ks), ks);
    if (n < 0 || (size_t)n >= sizeof key) {
        return perr(p, "nested key too long");
    }
    return add_kv(p, key, (size_t)n, vs, (size_t)(ve - vs)) ? 0 : -1;
}

static int key_line(struct parse *p, const char *s, const char *e)
{
    const char *eq = split_kv(s, e);
    if (eq == NULL || eq == s) {
        return perr(p, "expected 'key = value' or '[section]'");
    }
    if (p->cur == NULL) {
        return perr(p, "a key before the first [section]");
    }
    const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
    trim(&ks, &ke);
    trim(&vs, &ve);
    if (ks == ke || ke - ks > 120) {
        return perr(p, "empty or overlong key");
    }
    p->last = add_kv(p, ks, (size_t)(ke - ks), vs, (size_t)(ve - vs));
    if (p->last == NULL) {
        return -1;
    }
    p->nested = vs == ve;
    snprintf(p->parent, sizeof p->parent, "%s", p->last->key);
    return 0;
}

static int parse_ini(struct ini *ini, bool config, const char *buf, size_t len, struct inv_err *err)
{
    struct parse p = {.ini = ini, .config = config, .err = err};
    const char *cur = buf, *end = buf + len;
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
        cur += 3;
    }
    while (cur < end) {
        p.line++;
        const char *nl = memchr(cur, '\n', (size_t)(end - cur));
        const char *s = cur, *e = nl ? nl : end;
        cur = nl ? nl + 1 : end;
        if (memchr(s, '\0', (size_t)(e - s)) != NULL) {
            return perr(&p, "NUL byte");
        }
        bool indented = s < e && is_blank(*s);
        trim(&s, &e);
        if (s == e || *s == '#' || *s == ';') {
            continue;
        }
        int rc = indented && p.last != NULL ? continuation_line(&p, s, e)
                 : *s == '['                ? section_line(&p, s, e)
                                            : key_line(&p, s, e);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

static int load_one(struct ini *ini, const char *path, bool config, struct inv_err *err)
{
    snprintf(ini->path, sizeof ini->path, "%s", path);
    char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len, err);
    if (rc != 0) {
        return rc > 0 ? 0 : -1;
    }
    rc = parse_ini(ini, config, buf, len, err);
    mem_wipe(buf, len);
    free(buf);
    return rc;
}

// file_path: the variable's value, else $HOME/<rel>; "" when neither is known.
static void file_path(char *out, size_t cap, inv_getenv_fn *fn, const char *var, const char *rel)
{
    const char *v = inv_aws_env(fn, var);
    if (v != NULL && v[0] == '~' && (v[1] == '/' || v[1] == '\0')) {
        const char *home = inv_aws_env(fn, "HOME");
        snprintf(out, cap, "%s%s", home ? home : "", v + 1);
        return;
    }
    if (v != NULL) {
        snprintf(out, cap, "%s", v);
        return;
    }
    const char *home = inv_aws_env(fn, "HOME");
    snprintf(out, cap, "%s%s", home ? home : "", home ? rel : "");
}

struct inv_aws_files *inv_aws_files_load(inv_getenv_fn *getenv_fn, struct inv_err *err)
{
    struct inv_aws_files *f = xcalloc(1, sizeof *f);
    char cpath[1024], kpath[1024];
    file_path(kpath, sizeof kpath, getenv_fn, "AWS_SHARED_CREDENTIALS_FILE", "/.aws/credentials");
    file_path(cpath, sizeof cpath, getenv_fn, "AWS_CONFIG_FILE", "/.aws/config");
    if ((kpath[0] && load_one(&f->creds, kpath, false, err) != 0) ||
        (cpath[0] && load_one(&f->config, cpath, true, err) != 0)) {
        inv_aws_files_free(f);
        return NULL;
    }
    return f;
}

static const char *ini_get(const struct ini *ini, int kind, const char *name, const char *key)
{
    const char *found = NULL;
    for (size_t i = 0; i < ini->num_secs; i++) {
        const struct section *s = &ini->secs[i];
        if (s->kind != kind || strcmp(s->name, name) != 0) {
            continue;
        }
        for (size_t k = 0; k < s->num_kvs; k++) {
            if (strcmp(s->kvs[k].key, key) == 0) {
                found = s->kvs[k].value; // a later [profile default] wins over [default]
            }
        }
    }
    return found;
}

const char *inv_aws_profile_get(const struct inv_aws_files *f, const char *profile, const char *key)
{
    const char *v = ini_get(&f->creds, SEC_PROFILE, profile, key);
    return v ? v : ini_get(&f->config, SEC_PROFILE, profile, key);
}

const char *inv_aws_profile_get_in(const struct inv_aws_files *f, bool credentials_file,
                                   const char *profile, const char *key)
{
    return ini_get(credentials_file ? &f->creds : &f->config, SEC_PROFILE, profile, key);
}

bool inv_aws_profile_exists(const struct inv_aws_files *f, const char *profile)
{
    return find_section(&f->creds, SEC_PROFILE, profile) != NULL ||
           find_section(&f->config, SEC_PROFILE, profile) != NULL;
}

const char *inv_aws_services_get(const struct inv_aws_files *f, const char *name, const char *key)
{
    return ini_get(&f->config, SEC_SERVICES, name, key);
}

const char *inv_aws_config_path(const struct inv_aws_files *f)
{
    return f->config.path;
}

const char *inv_aws_credentials_path(const struct inv_aws_files *f)
{
    return f->creds.path;
}
