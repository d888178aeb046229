// store.c: one JSON file per mapping, written atomically (see store.h).
#include "esm/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct esm_store {
    char *dir;
    int dirfd;
    int lockfd; // "<dir>/.lock", flock'ed for the store's lifetime
};

static int fail(char *why, size_t why_len, const char *what, const char *path, int e)
{
    snprintf(why, why_len, "%s %s: %s", what, path, strerror(e));
    return -1;
}

struct esm_store *esm_store_open(const char *dir, char *why, size_t why_len)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fail(why, why_len, "cannot create state directory", dir, errno);
        return NULL;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        fail(why, why_len, "cannot open state directory", dir, errno);
        return NULL;
    }
    // One process per state directory: two servers writing the same files would undo each other.
    int lockfd = openat(fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (lockfd >= 0 && (e == EWOULDBLOCK || e == EAGAIN)) {
            snprintf(why, why_len, "state directory %s is in use by another kesm process", dir);
        } else {
            fail(why, why_len, "cannot lock state directory", dir, e);
        }
        if (lockfd >= 0) {
            close(lockfd);
        }
        close(fd);
        return NULL;
    }
    struct esm_store *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        close(lockfd);
        close(fd);
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    s->dirfd = fd;
    s->lockfd = lockfd;
    return s;
}

void esm_store_free(struct esm_store *s)
{
    if (!s) {
        return;
    }
    close(s->lockfd);
    close(s->dirfd);
    free(s->dir);
    free(s);
}

const char *esm_store_dir(const struct esm_store *s)
{
    return s->dir;
}

// name_ok: a mapping file name component is a UUID-like token; refuse anything path-like.
static bool name_ok(const char *uuid)
{
    size_t n = strlen(uuid);
    if (n == 0 || n > 64) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = uuid[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-')) {
            return false;
        }
    }
    return true;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int esm_store_save(struct esm_store *s, const char *uuid, const char *text, size_t len, char *why,
                   size_t why_len)
{
    if (!name_ok(uuid)) {
        snprintf(why, why_len, "invalid mapping id for a file name");
        return -1;
    }
    char tmp[96], fin[96];
    snprintf(tmp, sizeof tmp, "%s.json.tmp", uuid);
    snprintf(fin, sizeof fin, "%s.json", uuid);
    unlinkat(s->dirfd, tmp, 0);
    int fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return fail(why, why_len, "cannot create", tmp, errno);
    }
    int e = 0;
    if (fchmod(fd, 0600) != 0 || write_all(fd, text, len) != 0 || fsync(fd) != 0) {
        e = errno;
    }
    if (close(fd) != 0 && !e) {
        e = errno;
    }
    if (e) {
        unlinkat(s->dirfd, tmp, 0);
        return fail(why, why_len, "cannot write", tmp, e);
    }
    if (renameat(s->dirfd, tmp, s->dirfd, fin) != 0) {
        e = errno;
        unlinkat(s->dirfd, tmp, 0);
        return fail(why, why_len, "cannot rename into place", fin, e);
    }
    if (fsync(s->dirfd) != 0) {
        return fail(why, why_len, "cannot fsync state directory", s->dir, errno);
    }
    return 0;
}

int esm_store_remove(struct esm_store *s, const char *uuid, char *why, size_t why_len)
{
    if (!name_ok(uuid)) {
        snprintf(why, why_len, "invalid mapping id for a file name");
        return -1;
    }
    char fin[96];
    snprintf(fin, sizeof fin, "%s.json", uuid);
    if (unlinkat(s->dirfd, fin, 0) != 0 && errno != ENOENT) {
        return fail(why, why_len, "cannot remove", fin, errno);
    }
    if (fsync(s->dirfd) != 0) {
        return fail(why, why_len, "cannot fsync state directory", s->dir, errno);
    }
    return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && !strcmp(s + n - m, suffix);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// read_file reads |name| into a NUL-terminated heap buffer. Returns NULL with |why| set.
static char *read_file(struct esm_store *s, const char *name, size_t *out_len, char *why,
                       size_t why_len)
{
    int fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        fail(why, why_len, "cannot open", name, errno);
        return NULL;
    }
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, why_len, "%s is not a regular file", name);
        goto out;
    }
    if (st.st_size > ESM_STORE_MAX_FILE) {
        snprintf(why, why_len, "%s is larger than %d bytes", name, ESM_STORE_MAX_FILE);
        goto out;
    }
    size_t want = (size_t)st.st_size, got = 0;
    buf = malloc(want + 1);
    if (!buf) {
        snprintf(why, why_len, "out of memory");
        goto out;
    }
    while (got < want) {
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fail(why, why_len, "cannot read", name, n < 0 ? errno : EIO);
            free(buf);
            buf = NULL;
            goto out;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out_len = got;
out:
    close(fd);
    return buf;
}

// move_aside renames |name| to "<name>.corrupt-<UTC timestamp>[-N]" and reports it.
static void move_aside(struct esm_store *s, const char *name, const char *reason,
                       esm_store_report_fn report, void *ctx)
{
    char stamp[32], dst[320], line[2048];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(dst, sizeof dst, "%.255s.corrupt-%s", name, stamp);
    for (int i = 1; i < 100 && faccessat(s->dirfd, dst, F_OK, 0) == 0; i++) {
        snprintf(dst, sizeof dst, "%.255s.corrupt-%s-%d", name, stamp, i);
    }
    if (renameat(s->dirfd, name, s->dirfd, dst) == 0) {
        fsync(s->dirfd);
        snprintf(line, sizeof line,
                 "state file %.400s/%.255s not restored (%.700s); moved aside to %s", s->dir, name,
                 reason, dst);
    } else {
        snprintf(line, sizeof line,
                 "state file %.400s/%.255s not restored (%.700s); could not move it aside: %s",
                 s->dir, name, reason, strerror(errno));
    }
    if (report) {
        report(ctx, line);
    }
}

static char **list_names(struct esm_store *s, size_t *out_n)
{
    int fd = dup(s->dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    rewinddir(d);
    size_t n = 0, cap = 16;
    char **names = malloc(cap * sizeof *names);
    struct dirent *de;
    while (names && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            char **grown = realloc(names, (cap *= 2) * sizeof *names);
            if (!grown) {
                break;
            }
            names = grown;
        }
        if ((names[n] = strdup(de->d_name)) != NULL) {
            n++;
        }
    }
    closedir(d);
    if (names) {
        qsort(names, n, sizeof *names, cmp_names);
    }
    *out_n = n;
    return names;
}

int esm_store_load_all(struct esm_store *s, esm_store_load_fn load, esm_store_report_fn report,
                       void *ctx, unsigned *out_loaded, unsigned *out_bad)
{
    unsigned loaded = 0, bad = 0;
    size_t n = 0;
    char **names = list_names(s, &n);
    if (!names) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = names[i];
        char why[512] = "";
        if (has_suffix(name, ".json.tmp")) {
            char line[1024];
            unlinkat(s->dirfd, name, 0);
            snprintf(line, sizeof line,
                     "state file %.400s/%.255s was left by an interrupted write; removed it",
                     s->dir, name);
            if (report) {
                report(ctx, line);
            }
            continue;
        }
        if (!has_suffix(name, ".json")) {
            continue;
        }
        size_t len = 0;
        char *text = read_file(s, name, &len, why, sizeof why);
        if (text && load(ctx, name, text, len, why, sizeof why)) {
            loaded++;
        } else {
            bad++;
            move_aside(s, name, why[0] ? why : "rejected", report, ctx);
        }
        free(text);
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    if (out_loaded) {
        *out_loaded = loaded;
    }
    if (out_bad) {
        *out_bad = bad;
    }
    return 0;
}
