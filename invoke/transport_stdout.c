// transport_stdout.c: the "stdout" transport. Each payload and a '\n' go to a descriptor (stdout)
// through the caller's reactor without blocking it: submit() queues the payload (borrowed, as
// every transport's) and writes what the descriptor takes at once, dispatch() writes the rest as
// the descriptor drains, and a batch is done (INV_RESULT_OK) once its last byte is written. While
// the reader is slow the bytes wait in the queue, which inv_transport_queued() reports, so the
// pipeline stops fetching (backpressure) instead of buffering without bound.
//
// Descriptors: a pipe or FIFO is reopened through /proc/self/fd with O_NONBLOCK (a file
// description of our own: the shell's or the parent's stays blocking), or made non-blocking
// itself when that fails (its flags restored at the end); a socket is written with MSG_DONTWAIT.
// Both are watched for POLLOUT. A regular file, /dev/null or a terminal cannot be polled: they are
// written in dispatch() with plain write() (a disk or terminal write is short).
//
// Every stdout transport of a process on one descriptor (`kesm serve` with several mappings to
// stdout) shares one writer and its queue, so lines never interleave: whichever transport
// dispatches writes the queue in submission order, and each transport delivers its own
// completions. A write error (EPIPE: the reader went away) fails the batch being written, every
// queued one and every later submit with INV_RESULT_FATAL naming the error.
#define _GNU_SOURCE // MSG_NOSIGNAL

#include "base/alloc.h"
#include "invoke/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_IOV 64
#define FREE_FLUSH_MS 2000 // free() finishes a half-written line for at most this long

struct stdout_transport;

struct item {
    struct stdout_transport *owner;
    uint64_t id;
    inv_done_fn *done;
    void *ctx;
    const char *p; // the payload (borrowed; own when cancelled half written)
    size_t len;
    size_t off;     // bytes of payload + '\n' written
    char *own;      // p, when the item owns its bytes (cancelled or orphaned half written)
    bool started;   // some of its bytes are out: the rest must follow
    bool cancelled; // no callback
};

enum wmode {
    WMODE_POLL,  // non-blocking, watched for POLLOUT
    WMODE_PLAIN, // not pollable (file, /dev/null, terminal): plain writes
};

struct writer {
    struct writer *next; // the process's writers
    int key;             // the descriptor stdout transports name
    int fd;              // the descriptor written
    bool own_fd;         // fd was reopened: close it at the end
    int restore_flags;   // >= 0: key's file status flags before we set O_NONBLOCK
    bool sock;
    enum wmode mode;
    size_t refs;
    struct item *q; // q[head .. len): waiting, in order
    size_t head, len, cap;
    int err; // a write failed with this errno: everything fails from now on
};

struct done_item {
    uint64_t id;
    inv_done_fn *done;
    void *ctx;
    struct inv_result res;
};

struct stdout_transport {
    struct inv_transport base;
    struct writer *w;
    uint64_t next_id;
    size_t queued;  // bytes of our items not written yet
    size_t pending; // our items in the writer's queue
    struct done_item *d;
    size_t num_d, cap_d;
};

static struct writer *writers; // single-threaded, like the reactor that drives them

// ---- the shared writer ----------------------------------------------------------------------

static void writer_setup(struct writer *w)
{
    struct stat st;
    if (fstat(w->key, &st) != 0) {
        return; // plain writes; the first one reports the error
    }
    if (S_ISSOCK(st.st_mode)) {
        w->sock = true;
        w->mode = WMODE_POLL;
        return;
    }
    if (!S_ISFIFO(st.st_mode)) {
        return;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", w->key);
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
        w->fd = fd;
        w->own_fd = true;
        w->mode = WMODE_POLL;
        return;
    }
    int fl = fcntl(w->key, F_GETFL);
    if (fl >= 0 && fcntl(w->key, F_SETFL, fl | O_NONBLOCK) == 0) {
        w->restore_flags = fl;
        w->mode = WMODE_POLL;
    }
}

static struct writer *writer_get(int fd)
{
    for (struct writer *w = writers; w; w = w->next) {
        if (w->key == fd) {
            w->refs++;
            return w;
        }
    }
    struct writer *w = xcalloc(1, sizeof *w);
    w->key = w->fd = fd;
    w->restore_flags = -1;
    w->mode = WMODE_PLAIN;
    w->refs = 1;
    writer_setup(w);
    w->next = writers;
    writers = w;
    return w;
}

static void done_push(struct stdout_transport *s, const struct item *it, int err)
{
    if (it->cancelled) {
        return;
    }
    if (s->num_d == s->cap_d) {
        s->cap_d = s->cap_d ? 2 * s->cap_d : 8;
        s->d = xrealloc(s->d, s->cap_d * sizeof *s->d);
    }
    struct done_item *d = &s->d[s->num_d++];
    *d = (struct done_item){.id = it->id, .done = it->done, .ctx = it->ctx};
    inv_result_init(&d->res);
    if (err) {
        char msg[200];
        snprintf(msg, sizeof msg, "stdout: write failed: %s%s", strerror(err),
                 err == EPIPE ? " (the reader of kesm's standard output went away)" : "");
        d->res.kind = INV_RESULT_FATAL;
        d->res.message = xstrdup(msg);
    }
}

// item_done retires the item at the head of the queue (written, or failed with |err|).
static void item_done(struct writer *w, int err)
{
    struct item *it = &w->q[w->head++];
    struct stdout_transport *s = it->owner;
    if (s) { // NULL: orphaned by a transport freed while its line was half out
        s->queued -= it->len + 1 - it->off;
        s->pending--;
        done_push(s, it, err);
    }
    free(it->own);
    if (w->head == w->len) {
        w->head = w->len = 0;
    }
}

static ssize_t write_iov(struct writer *w, struct iovec *iov, int n)
{
    if (w->sock) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        return sendmsg(w->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    return writev(w->fd, iov, n);
}

// writer_pump writes queued items until the descriptor would block or the queue is empty.
static void writer_pump(struct writer *w)
{
    while (w->head < w->len && !w->err) {
        struct iovec iov[MAX_IOV];
        int n = 0;
        for (size_t i = w->head; i < w->len && n + 2 <= MAX_IOV; i++) {
            const struct item *it = &w->q[i];
            if (it->off < it->len) {
                iov[n].iov_base = (void *)(uintptr_t)(it->p + it->off);
                iov[n++].iov_len = it->len - it->off;
            }
            iov[n].iov_base = (void *)(uintptr_t) "\n";
            iov[n++].iov_len = 1;
        }
        ssize_t r = write_iov(w, iov, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (r <= 0) {
            w->err = r < 0 ? errno : EIO;
            break;
        }
        size_t left = (size_t)r;
        while (left > 0) {
            struct item *it = &w->q[w->head];
            size_t take = it->len + 1 - it->off;
            take = take < left ? take : left;
            it->off += take;
            it->started = true;
            if (it->owner) {
                it->owner->queued -= take;
            }
            left -= take;
            if (it->off == it->len + 1) {
                item_done(w, 0);
            }
        }
    }
    while (w->err && w->head < w->len) {
        item_done(w, w->err);
    }
}

static void writer_put(struct writer *w)
{
    if (--w->refs > 0) {
        return;
    }
    for (struct writer **pp = &writers; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    }
    if (w->own_fd) {
        close(w->fd);
    }
    if (w->restore_flags >= 0) {
        fcntl(w->key, F_SETFL, w->restore_flags);
    }
    free(w->q);
    free(w);
}

// ---- the transport --------------------------------------------------------------------------

static int stdout_submit(struct inv_transport *t, const char *payload, size_t len,
                         inv_done_fn *done, void *ctx, uint64_t *out_id, struct inv_err *err)
{
    (void)err;
    struct stdout_transport *s = (struct stdout_transport *)t;
    struct writer *w = s->w;
    struct item it = {
        .owner = s, .id = ++s->next_id, .done = done, .ctx = ctx, .p = payload, .len = len};
    *out_id = it.id;
    if (w->err) {
        done_push(s, &it, w->err); // delivered by the next dispatch, never inside submit
        return 0;
    }
    if (w->len == w->cap) {
        if (w->head > 0) {
            memmove(w->q, w->q + w->head, (w->len - w->head) * sizeof *w->q);
            w->len -= w->head;
            w->head = 0;
        } else {
            w->cap = w->cap ? 2 * w->cap : 16;
            w->q = xrealloc(w->q, w->cap * sizeof *w->q);
        }
    }
    w->q[w->len++] = it;
    s->queued += len + 1;
    s->pending++;
    // Out at once as far as the descriptor takes it (never blocking: a pipe or socket is
    // non-blocking; a file or /dev/null takes it all); the callback still waits for dispatch.
    writer_pump(w);
    return 0;
}

// item_own copies the unwritten rest of a started item's payload, which the caller takes back.
static void item_own(struct item *it)
{
    if (it->own) {
        return;
    }
    size_t rest = it->off < it->len ? it->len - it->off : 0;
    it->own = xmalloc(rest + 1);
    if (rest) {
        memcpy(it->own, it->p + it->off, rest);
    }
    it->p = it->own;
    it->len = rest; // the '\n' is still to come (a queued item has off <= len)
    it->off = 0;
}

static int stdout_cancel(struct inv_transport *t, uint64_t id)
{
    struct stdout_transport *s = (struct stdout_transport *)t;
    struct writer *w = s->w;
    for (size_t i = w->head; i < w->len; i++) {
        struct item *it = &w->q[i];
        if (it->owner != s || it->id != id || it->cancelled) {
            continue;
        }
        if (!it->started) { // nothing written: it never happened
            s->queued -= it->len + 1;
            s->pending--;
            memmove(it, it + 1, (w->len - i - 1) * sizeof *it);
            w->len--;
            return 0;
        }
        // Half a line is out: the rest still goes (the line stays whole), from a copy, since
        // the payload is the caller's again once this returns.
        it->cancelled = true;
        item_own(it);
        return 0;
    }
    for (size_t i = 0; i < s->num_d; i++) {
        if (s->d[i].id == id) {
            inv_result_cleanup(&s->d[i].res);
            memmove(&s->d[i], &s->d[i + 1], (s->num_d - i - 1) * sizeof *s->d);
            s->num_d--;
            return 0;
        }
    }
    return -1;
}

// finish_lines writes the rest of a half-written line before the transport goes away, waiting at
// most FREE_FLUSH_MS for the reader, so the output never ends in the middle of an event.
static void finish_lines(struct stdout_transport *s)
{
    struct writer *w = s->w;
    for (int waited = 0; waited < FREE_FLUSH_MS && !w->err && w->head < w->len &&
                         w->q[w->head].owner == s && w->q[w->head].started;
         waited += 10) {
        writer_pump(w);
        if (w->head < w->len && w->q[w->head].owner == s && w->q[w->head].started && !w->err) {
            usleep(10 * 1000);
        }
    }
}

static void stdout_free(struct inv_transport *t)
{
    struct stdout_transport *s = (struct stdout_transport *)t;
    struct writer *w = s->w;
    for (size_t i = w->head; i < w->len; i++) {
        if (w->q[i].owner == s) {
            w->q[i].cancelled = true;
        }
    }
    finish_lines(s);
    // Our items that were not started are dropped; a half-written one that is left (the reader
    // is stuck) goes on being written by the other transports on the writer, orphaned.
    size_t keep = w->head;
    for (size_t i = w->head; i < w->len; i++) {
        struct item *it = &w->q[i];
        if (it->owner == s && it->started && w->refs > 1) {
            item_own(it);
            it->owner = NULL;
        }
        if (it->owner != s) {
            w->q[keep++] = *it;
        } else {
            free(it->own);
        }
    }
    w->len = keep;
    if (w->head == w->len) {
        w->head = w->len = 0;
    }
    for (size_t i = 0; i < s->num_d; i++) {
        inv_result_cleanup(&s->d[i].res);
    }
    free(s->d);
    writer_put(w);
    free(s);
}

static size_t stdout_poll_fds(struct inv_transport *t, struct pollfd *fds, size_t cap,
                              int *out_timeout_ms)
{
    struct stdout_transport *s = (struct stdout_transport *)t;
    struct writer *w = s->w;
    *out_timeout_ms = -1;
    if (s->num_d > 0 || (s->pending > 0 && (w->mode == WMODE_PLAIN || w->err))) {
        *out_timeout_ms = 0;
    }
    if (s->pending == 0 || w->mode != WMODE_POLL || w->err) {
        return 0;
    }
    if (cap > 0) {
        fds[0] = (struct pollfd){.fd = w->fd, .events = POLLOUT};
    }
    return 1;
}

static void stdout_dispatch(struct inv_transport *t, const struct pollfd *fds, size_t num_fds)
{
    (void)fds;
    (void)num_fds;
    struct stdout_transport *s = (struct stdout_transport *)t;
    writer_pump(s->w);
    // Detach the completions first: callbacks may submit again.
    struct done_item *d = s->d;
    size_t n = s->num_d;
    s->d = NULL;
    s->num_d = s->cap_d = 0;
    for (size_t i = 0; i < n; i++) {
        d[i].done(d[i].ctx, d[i].id, &d[i].res);
        inv_result_cleanup(&d[i].res);
    }
    free(d);
}

static size_t stdout_queued(struct inv_transport *t)
{
    return ((struct stdout_transport *)t)->queued;
}

static const struct inv_transport_funcs stdout_funcs = {
    .name = "stdout",
    .submit = stdout_submit,
    .cancel = stdout_cancel,
    .free = stdout_free,
    .poll_fds = stdout_poll_fds,
    .dispatch = stdout_dispatch,
    .queued = stdout_queued,
};

struct inv_transport *inv_stdout_new(int fd)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL); // a reader that goes away is an error, not a kill
    struct stdout_transport *s = xcalloc(1, sizeof *s);
    s->base.funcs = &stdout_funcs;
    s->w = writer_get(fd);
    return &s->base;
}
