// sasl_token.c: OAUTHBEARER tokens for a mapping's broker connections (see sasl_token.h).
#include "esm/sasl_token.h"

#include "base/alloc.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// struct waiter: one exchange waiting for the credential chain.
struct waiter {
    struct waiter *next;
    struct esm_token_src *t;
    struct broker_sasl_token_req *req;
    uint64_t id;
};

struct esm_token_src {
    struct broker_sasl_token_source src;
    struct inv_aws *aws; // MSK IAM
    char *region;
    char *path; // token file
    char principal[160];
    char log[96];
    struct waiter *waiters;
};

static void aws_reply(struct esm_token_src *t, struct broker_sasl_token_req *req,
                      const struct inv_creds *c, const char *err)
{
    if (c == NULL) {
        broker_sasl_aws_reply(req, NULL, err);
        return;
    }
    struct broker_sasl_aws_creds bc = {.access_key_id = c->access_key_id,
                                       .secret_access_key = c->secret_access_key,
                                       .session_token = c->session_token,
                                       .now = inv_aws_now(t->aws)};
    broker_sasl_aws_reply(req, &bc, NULL);
}

static void on_creds(void *ctx, const struct inv_creds *creds, const char *err, bool permanent)
{
    (void)permanent;
    struct waiter *w = ctx;
    struct esm_token_src *t = w->t;
    for (struct waiter **pp = &t->waiters; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    }
    struct broker_sasl_token_req *req = w->req;
    free(w);
    if (creds == NULL) {
        kesm_log(KESM_LOG_WARN, t->log, "MSK IAM: no AWS credentials: %s", err ? err : "?");
    }
    aws_reply(t, req, creds, err ? err : "the AWS credential chain gave none");
}

static void get_iam(void *ctx, struct broker_sasl_token_req *req)
{
    struct esm_token_src *t = ctx;
    const struct inv_creds *c = inv_aws_creds_peek(t->aws);
    if (c != NULL) {
        aws_reply(t, req, c, NULL);
        return;
    }
    struct waiter *w = xcalloc(1, sizeof *w);
    w->t = t;
    w->req = req;
    w->next = t->waiters;
    t->waiters = w;
    w->id = inv_aws_creds_get(t->aws, on_creds, w);
}

static void cancel_any(void *ctx, struct broker_sasl_token_req *req)
{
    struct esm_token_src *t = ctx;
    for (struct waiter **pp = &t->waiters; *pp; pp = &(*pp)->next) {
        struct waiter *w = *pp;
        if (w->req == req) {
            *pp = w->next;
            inv_aws_creds_cancel(t->aws, w->id);
            free(w);
            return;
        }
    }
}

// read_token reads the token file into a heap buffer (wiped by the caller); NULL with |err|.
static char *read_token(const char *path, size_t *out_len, char *err, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, cap, "cannot open the token file %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = xmalloc(ESM_TOKEN_FILE_MAX + 1);
    size_t n = 0;
    while (n <= ESM_TOKEN_FILE_MAX) {
        ssize_t r = read(fd, buf + n, ESM_TOKEN_FILE_MAX + 1 - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            snprintf(err, cap, "cannot read the token file %s: %s", path, strerror(errno));
            n = SIZE_MAX;
            break;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    if (n != SIZE_MAX && n > ESM_TOKEN_FILE_MAX) {
        snprintf(err, cap, "the token file %s is larger than %d bytes", path, ESM_TOKEN_FILE_MAX);
        n = SIZE_MAX;
    }
    if (n == SIZE_MAX) {
        free_wiped(buf, ESM_TOKEN_FILE_MAX + 1);
        return NULL;
    }
    *out_len = n;
    return buf;
}

static void get_file(void *ctx, struct broker_sasl_token_req *req)
{
    struct esm_token_src *t = ctx;
    char err[600];
    size_t len = 0;
    char *tok = read_token(t->path, &len, err, sizeof err);
    if (tok == NULL) {
        kesm_log(KESM_LOG_WARN, t->log, "OAUTHBEARER: %s", err);
        broker_sasl_token_reply(req, NULL, 0, 0, err);
        return;
    }
    broker_sasl_token_reply(req, (const uint8_t *)tok, len, 0, NULL);
    free_wiped(tok, ESM_TOKEN_FILE_MAX + 1);
}

static struct esm_token_src *src_new(const char *log)
{
    struct esm_token_src *t = xcalloc(1, sizeof *t);
    snprintf(t->log, sizeof t->log, "%s", log ? log : "esm");
    t->src.cancel = cancel_any;
    t->src.ctx = t;
    t->src.principal = t->principal;
    return t;
}

struct esm_token_src *esm_token_src_msk_iam(struct inv_aws *aws, const char *region,
                                            const char *log)
{
    struct esm_token_src *t = src_new(log);
    t->aws = aws;
    t->region = xstrdup(region);
    t->src.get = get_iam;
    t->src.msk_iam_region = t->region;
    snprintf(t->principal, sizeof t->principal, "IAM (MSK, %.40s)", region);
    return t;
}

struct esm_token_src *esm_token_src_file(const char *path, const char *log)
{
    struct esm_token_src *t = src_new(log);
    t->path = xstrdup(path);
    t->src.get = get_file;
    snprintf(t->principal, sizeof t->principal, "the token of %.120s", path);
    return t;
}

const struct broker_sasl_token_source *esm_token_src_get(struct esm_token_src *t)
{
    return &t->src;
}

void esm_token_src_free(struct esm_token_src *t)
{
    if (t == NULL) {
        return;
    }
    while (t->waiters != NULL) {
        cancel_any(t, t->waiters->req);
    }
    free(t->region);
    free(t->path);
    free(t);
}
