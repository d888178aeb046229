// aws_creds.c: the credential cache: lazy resolution, refresh before expiry, waiters (see aws.h).
#include "base/alloc.h"
#include "base/log.h"
#include "invoke/aws_int.h"
#include "invoke/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG "aws"
#define ADVISORY_S 900  // refresh in the background with less than this left (botocore: 15 min)
#define MANDATORY_S 600 // never hand out with less than this left (botocore: 10 min)
#define BACKOFF_MAX_S 60

static void on_notify(void *ctx);
static void on_refresh_timer(void *ctx);

struct inv_aws *inv_aws_new(const struct inv_aws_cfg *cfg)
{
    struct inv_aws *a = xcalloc(1, sizeof *a);
    a->r = cfg->reactor;
    a->getenv_fn = cfg->getenv_fn;
    a->clock = cfg->clock;
    a->clock_ctx = cfg->clock_ctx;
    a->default_region = xstrdup(cfg->default_region ? cfg->default_region : "us-east-1");
    a->ca_file = cfg->ca_file ? xstrdup(cfg->ca_file) : NULL;
    a->process_timeout_ms = cfg->process_timeout_ms ? cfg->process_timeout_ms : 60000;
    a->sts_timeout_ms = cfg->sts_timeout_ms ? cfg->sts_timeout_ms : 10000;
    a->notify = net_timer_new(a->r, on_notify, a);
    a->refresh = net_timer_new(a->r, on_refresh_timer, a);
    return a;
}

void inv_aws_free(struct inv_aws *a)
{
    if (a == NULL) {
        return;
    }
    src_free(a->root);
    while (a->waiters != NULL) {
        struct waiter *w = a->waiters;
        a->waiters = w->next;
        free(w);
    }
    net_timer_free(a->notify);
    net_timer_free(a->refresh);
    net_http_free(a->http);
    net_tls_ctx_free(a->tls);
    inv_aws_files_free(a->files);
    free(a->default_region);
    free(a->ca_file);
    free(a);
}

int64_t inv_aws_now(const struct inv_aws *a)
{
    return a->clock ? a->clock(a->clock_ctx) : (int64_t)time(NULL);
}

const char *inv_aws_creds_source(const struct inv_aws *a)
{
    return a->source;
}

// margins: the refresh (advisory) and no-use (mandatory) windows of |s|'s credentials.
static void margins(const struct src *s, int64_t *advisory, int64_t *mandatory)
{
    int64_t life = s->expiration - s->fetched_at;
    if (life < 0) {
        life = 0;
    }
    *advisory = life / 2 < ADVISORY_S ? life / 2 : ADVISORY_S;
    *mandatory = life / 4 < MANDATORY_S ? life / 4 : MANDATORY_S;
}

bool src_usable(const struct src *s, int64_t now)
{
    if (!s->have) {
        return false;
    }
    if (s->expiration < 0) {
        return true;
    }
    int64_t adv, mand;
    margins(s, &adv, &mand);
    return now < s->expiration - mand;
}

static bool refresh_due(const struct src *s, int64_t now)
{
    if (!s->have || s->expiration < 0) {
        return !s->have;
    }
    int64_t adv, mand;
    margins(s, &adv, &mand);
    return now >= s->expiration - adv;
}

static void src_refresh(struct src *s);

static void iso(char *out, size_t cap, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, cap, "%lld", (long long)t);
    }
}

// root_done: the top source's fetch ended (|err| NULL on success).
static void root_done(struct inv_aws *a, const char *err)
{
    struct src *s = a->root;
    int64_t now = inv_aws_now(a);
    if (err == NULL) {
        a->backoff_s = 0;
        a->failed = false;
        char when[40] = "never";
        if (s->expiration >= 0) {
            iso(when, sizeof when, s->expiration);
            int64_t adv, mand;
            margins(s, &adv, &mand);
            int64_t due = s->expiration - adv - now;
            net_timer_arm(a->refresh, due > 0 ? (uint64_t)due * 1000u : 1000u);
        }
        kesm_log(KESM_LOG_INFO, LOG, "AWS credentials from %s: access key %s, expire %s", s->desc,
                 s->creds.access_key_id, when);
    } else {
        a->backoff_s = a->backoff_s ? a->backoff_s * 2 : 1;
        if (a->backoff_s > BACKOFF_MAX_S) {
            a->backoff_s = BACKOFF_MAX_S;
        }
        snprintf(a->last_err, sizeof a->last_err, "AWS credentials from %s: %s", s->desc, err);
        a->last_permanent = false;
        a->failed = !src_usable(s, now);
        a->plan_retry_at = now + a->backoff_s;
        kesm_log(KESM_LOG_WARN, LOG, "%s (%s; retrying in %u s)", a->last_err,
                 a->failed ? "no usable credentials" : "the current ones are still valid",
                 a->backoff_s);
        if (!a->failed) {
            net_timer_arm(a->refresh, (uint64_t)a->backoff_s * 1000u);
        }
    }
    net_timer_arm(a->notify, 0);
}

// on_src_done: |s|'s fetch ended; store the result and resume whoever waited for it.
static void on_src_done(struct src *s, struct inv_aws_creds_doc *doc, const char *err)
{
    struct inv_aws *a = s->a;
    if (doc != NULL) {
        char desc[sizeof s->desc];
        snprintf(desc, sizeof desc, "%s", s->desc);
        inv_creds_set(&s->creds, doc->access_key_id, doc->secret_access_key, doc->session_token,
                      desc);
        s->have = true;
        s->expiration = doc->expiration;
        s->fetched_at = inv_aws_now(a);
        inv_aws_creds_doc_cleanup(doc);
    }
    struct src *parent = s->resume;
    s->resume = NULL;
    if (parent != NULL) {
        if (err != NULL) {
            char msg[400];
            snprintf(msg, sizeof msg, "its source, %s: %s", s->desc, err);
            on_src_done(parent, NULL, msg);
            return;
        }
        struct inv_err e = {{0}};
        if (fetch_start(parent, &s->creds, on_src_done, &e) != 0) {
            on_src_done(parent, NULL, e.msg);
        }
        return;
    }
    if (s == a->root) {
        root_done(a, err);
    }
}

// src_refresh starts fetching |s| unless a fetch is already running.
static void src_refresh(struct src *s)
{
    if (s->fetch != NULL || (s->base != NULL && s->base->resume == s)) {
        return;
    }
    if (s->kind == SRC_ENV || s->kind == SRC_SHARED_FILE || s->kind == SRC_CONFIG_FILE) {
        return; // static: resolved with the chain
    }
    struct inv_err e = {{0}};
    if (s->kind == SRC_ASSUME_ROLE && !src_usable(s->base, inv_aws_now(s->a))) {
        s->base->resume = s;
        src_refresh(s->base);
        return;
    }
    if (fetch_start(s, s->base ? &s->base->creds : NULL, on_src_done, &e) != 0) {
        on_src_done(s, NULL, e.msg);
    }
}

static void on_refresh_timer(void *ctx)
{
    struct inv_aws *a = ctx;
    if (a->root != NULL && refresh_due(a->root, inv_aws_now(a)) && a->root->fetch == NULL) {
        a->failed = false;
        src_refresh(a->root);
    } else if (a->root != NULL && a->root->expiration >= 0) {
        // The clock says it is not due yet (a test clock, or a timer that fired early).
        net_timer_arm(a->refresh, 1000);
    }
}

// ensure makes sure a resolution or fetch is under way when credentials are needed, and says
// whether usable credentials are there now.
static bool ensure(struct inv_aws *a)
{
    int64_t now = inv_aws_now(a);
    if (a->root == NULL) {
        if (a->plan_err[0] && now < a->plan_retry_at) {
            return false;
        }
        if (chain_resolve(a) != 0) {
            a->plan_retry_at = now + 5;
            kesm_log(KESM_LOG_ERROR, LOG, "AWS credentials: %s", a->plan_err);
            return false;
        }
        a->plan_err[0] = '\0';
        if (a->root->have) {
            kesm_log(KESM_LOG_INFO, LOG, "AWS credentials from %s: access key %s", a->root->desc,
                     a->root->creds.access_key_id);
        }
    }
    struct src *s = a->root;
    bool usable = src_usable(s, now);
    if (refresh_due(s, now) && s->fetch == NULL && !(a->failed && now < a->plan_retry_at)) {
        a->failed = false; // a new attempt: waiters wait for it
        src_refresh(s);
        usable = src_usable(s, now); // a synchronous failure does not change it
    }
    return usable;
}

const struct inv_creds *inv_aws_creds_peek(struct inv_aws *a)
{
    return ensure(a) ? &a->root->creds : NULL;
}

// answer calls every waiter back: with credentials when usable; with the error when the last
// attempt failed (or resolution failed); otherwise they keep waiting for the fetch under way.
static void on_notify(void *ctx)
{
    struct inv_aws *a = ctx;
    bool usable = ensure(a);
    const char *err = NULL;
    bool permanent = false;
    if (!usable) {
        if (a->root == NULL) {
            err = a->plan_err;
            permanent = true;
        } else if (a->failed) {
            err = a->last_err;
        } else {
            return; // a fetch is running: wait for it
        }
    }
    while (a->waiters != NULL) {
        struct waiter *w = a->waiters;
        a->waiters = w->next;
        inv_creds_done_fn *done = w->done;
        void *dctx = w->ctx;
        free(w);
        if (usable) {
            done(dctx, &a->root->creds, NULL, false);
        } else {
            done(dctx, NULL, err, permanent);
        }
        // Waiters a callback adds are answered in this loop too.
    }
}

uint64_t inv_aws_creds_get(struct inv_aws *a, inv_creds_done_fn *done, void *ctx)
{
    struct waiter *w = xcalloc(1, sizeof *w);
    w->id = ++a->next_id;
    w->done = done;
    w->ctx = ctx;
    // FIFO: requests are answered in the order they asked.
    struct waiter **pp = &a->waiters;
    while (*pp != NULL) {
        pp = &(*pp)->next;
    }
    *pp = w;
    bool usable = ensure(a);
    if (usable || a->root == NULL || a->failed) {
        net_timer_arm(a->notify, 0);
    }
    return w->id;
}

void inv_aws_creds_cancel(struct inv_aws *a, uint64_t id)
{
    for (struct waiter **pp = &a->waiters; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            struct waiter *w = *pp;
            *pp = w->next;
            free(w);
            return;
        }
    }
}
