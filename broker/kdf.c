// kdf.c: SCRAM key derivations on threads of their own (see kdf.h).
#define _GNU_SOURCE // pipe2

#include "broker/kdf.h"

#include "base/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct broker_kdf {
    pthread_mutex_t mu;
    int refs; // the thread's and the loop's
    bool cancelled;
    struct sasl_kdf *k;
    int rfd, wfd;
    struct net_fdwatch *watch;
    broker_kdf_done_fn *done;
    void *ctx;
};

static pthread_mutex_t running_mu = PTHREAD_MUTEX_INITIALIZER;
static size_t running;

size_t broker_kdf_running(void)
{
    pthread_mutex_lock(&running_mu);
    size_t n = running;
    pthread_mutex_unlock(&running_mu);
    return n;
}

// unref drops one reference; the last one wipes the derivation (if nobody took it) and frees.
static void unref(struct broker_kdf *h)
{
    pthread_mutex_lock(&h->mu);
    bool last = --h->refs == 0;
    pthread_mutex_unlock(&h->mu);
    if (!last) {
        return;
    }
    sasl_kdf_free(h->k);
    close(h->rfd);
    close(h->wfd);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static void *worker(void *arg)
{
    struct broker_kdf *h = arg;
    pthread_mutex_lock(&h->mu);
    bool cancelled = h->cancelled;
    pthread_mutex_unlock(&h->mu);
    if (!cancelled) {
        sasl_kdf_run(h->k);
    }
    char one = 1;
    ssize_t n;
    do {
        n = write(h->wfd, &one, 1);
    } while (n < 0 && errno == EINTR);
    unref(h);
    pthread_mutex_lock(&running_mu);
    running--;
    pthread_mutex_unlock(&running_mu);
    return NULL;
}

// wait_idle runs at exit, before OpenSSL's own exit-time cleanup (atexit handlers run in reverse
// order, and OpenSSL registers its handler when it is first used, before any derivation): a
// derivation still running (a process that exits right after an answer, or with one cancelled)
// would otherwise use digests OpenSSL is freeing. Bounded: at most 2 s (a derivation at the
// iteration cap takes about 0.5 s).
static void wait_idle(void)
{
    for (int i = 0; i < 2000 && broker_kdf_running() > 0; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void register_wait_idle(void)
{
    atexit(wait_idle);
}

static void on_ready(int fd, unsigned revents, void *ctx)
{
    (void)fd;
    (void)revents;
    struct broker_kdf *h = ctx;
    net_fdwatch_free(h->watch);
    h->watch = NULL;
    struct sasl_kdf *k = h->k;
    h->k = NULL;
    broker_kdf_done_fn *done = h->done;
    void *dctx = h->ctx;
    unref(h);
    done(dctx, k);
}

struct broker_kdf *broker_kdf_start(struct net_reactor *r, struct sasl_kdf *k,
                                    broker_kdf_done_fn *done, void *ctx)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_wait_idle);
    struct broker_kdf *h = xcalloc(1, sizeof *h);
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
        sasl_kdf_free(k);
        free(h);
        return NULL;
    }
    pthread_mutex_init(&h->mu, NULL);
    h->refs = 2;
    h->k = k;
    h->rfd = p[0];
    h->wfd = p[1];
    h->done = done;
    h->ctx = ctx;
    h->watch = net_fdwatch_new(r, h->rfd, NET_FD_READ, on_ready, h);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    // The thread must never take a signal meant for the loop (SIGTERM, SIGINT, SIGCHLD).
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_mutex_lock(&running_mu);
    running++;
    pthread_mutex_unlock(&running_mu);
    pthread_t t;
    int rc = h->watch ? pthread_create(&t, &at, worker, h) : EAGAIN;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&at);
    if (rc != 0) {
        pthread_mutex_lock(&running_mu);
        running--;
        pthread_mutex_unlock(&running_mu);
        net_fdwatch_free(h->watch);
        h->refs = 1;
        unref(h);
        return NULL;
    }
    return h;
}

void broker_kdf_cancel(struct broker_kdf *h)
{
    if (h == NULL) {
        return;
    }
    pthread_mutex_lock(&h->mu);
    h->cancelled = true;
    pthread_mutex_unlock(&h->mu);
    net_fdwatch_free(h->watch);
    h->watch = NULL;
    unref(h);
}
