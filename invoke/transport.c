// transport.c: results, the batchItemFailures parser, vtable wrappers, the poll() runner and the
// stdout transport.
#include "invoke/transport.h"

#include "base/alloc.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void inv_result_init(struct inv_result *r)
{
    memset(r, 0, sizeof *r);
    r->status = -1;
}

void inv_result_cleanup(struct inv_result *r)
{
    free(r->message);
    for (size_t i = 0; i < r->num_failures; i++) {
        free(r->failures[i].partition);
    }
    free(r->failures);
    inv_result_init(r);
}

const char *inv_result_kind_name(enum inv_result_kind k)
{
    switch (k) {
    case INV_RESULT_OK:
        return "ok";
    case INV_RESULT_PARTIAL:
        return "partial";
    case INV_RESULT_FUNCTION_ERROR:
        return "function error";
    case INV_RESULT_RETRYABLE:
        return "retryable";
    case INV_RESULT_FATAL:
        return "fatal";
    case INV_RESULT_TOO_LARGE:
        return "too large";
    }
    return "?";
}

static void set_error(struct inv_result *out, const char *msg)
{
    inv_result_cleanup(out);
    out->kind = INV_RESULT_FUNCTION_ERROR;
    out->message = xstrdup(msg);
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
            return false;
        }
    }
    return true;
}

void inv_result_from_response(struct inv_result *out, const char *body, size_t len,
                              bool report_batch_item_failures)
{
    int status = out->status;
    inv_result_cleanup(out);
    out->status = status;
    out->kind = INV_RESULT_OK;
    if (!report_batch_item_failures || body == NULL || blank(body, len)) {
        return;
    }
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (j == NULL) {
        char msg[96];
        snprintf(msg, sizeof msg, "malformed response: not JSON (%zu bytes)", len);
        set_error(out, msg);
        out->status = status;
        return;
    }
    const cJSON *list =
        cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "batchItemFailures") : NULL;
    if (list == NULL || cJSON_IsNull(list)) {
        goto out;
    }
    if (!cJSON_IsArray(list)) {
        set_error(out, "malformed response: batchItemFailures is not an array");
        goto out;
    }
    size_t n = (size_t)cJSON_GetArraySize(list);
    out->failures = xcalloc(n, sizeof *out->failures);
    size_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "itemIdentifier");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(id, "partition");
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(id, "offset");
        double d = cJSON_IsNumber(o) ? o->valuedouble : NAN;
        if (!cJSON_IsObject(id) || !cJSON_IsString(p) || p->valuestring[0] == '\0' ||
            !isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0) {
            char msg[128];
            snprintf(msg, sizeof msg,
                     "malformed response: batchItemFailures[%zu] lacks a valid itemIdentifier "
                     "{partition, offset}",
                     i);
            set_error(out, msg);
            goto out;
        }
        out->failures[i].partition = xstrdup(p->valuestring);
        out->failures[i].offset = (int64_t)d;
        out->num_failures = ++i;
    }
    out->kind = n ? INV_RESULT_PARTIAL : INV_RESULT_OK;
out:
    out->status = status;
    cJSON_Delete(j);
}

int inv_transport_submit(struct inv_transport *t, const char *payload, size_t len,
                         inv_done_fn *done, void *ctx, uint64_t *out_id, struct inv_err *err)
{
    return t->funcs->submit(t, payload, len, done, ctx, out_id, err);
}

int inv_transport_cancel(struct inv_transport *t, uint64_t id)
{
    return t->funcs->cancel(t, id);
}

void inv_transport_free(struct inv_transport *t)
{
    if (t != NULL) {
        t->funcs->free(t);
    }
}

const char *inv_transport_name(const struct inv_transport *t)
{
    return t->funcs->name;
}

int inv_transport_run(struct inv_transport *t, int max_wait_ms)
{
    struct pollfd stack[16];
    struct pollfd *fds = stack;
    int timeout;
    size_t n = t->funcs->poll_fds(t, fds, 16, &timeout);
    if (n > 16) {
        fds = xcalloc(n, sizeof *fds);
        n = t->funcs->poll_fds(t, fds, n, &timeout);
    }
    if (max_wait_ms >= 0 && (timeout < 0 || timeout > max_wait_ms)) {
        timeout = max_wait_ms;
    }
    int rc = poll(fds, (nfds_t)n, timeout);
    if (rc >= 0) {
        t->funcs->dispatch(t, fds, n);
    }
    if (fds != stack) {
        free(fds);
    }
    return rc < 0 ? -1 : 0;
}

// ---- stdout ---------------------------------------------------------------------------------

struct done_item {
    uint64_t id;
    inv_done_fn *done;
    void *ctx;
    struct inv_result res;
};

struct stdout_transport {
    struct inv_transport base;
    int fd;
    uint64_t next_id;
    struct done_item *q;
    size_t num_q;
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int stdout_submit(struct inv_transport *t, const char *payload, size_t len,
                         inv_done_fn *done, void *ctx, uint64_t *out_id, struct inv_err *err)
{
    (void)err;
    struct stdout_transport *s = (struct stdout_transport *)t;
    struct done_item it = {.id = ++s->next_id, .done = done, .ctx = ctx};
    inv_result_init(&it.res);
    if (write_all(s->fd, payload, len) != 0 || write_all(s->fd, "\n", 1) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "stdout: write failed: %s", strerror(errno));
        it.res.kind = INV_RESULT_FATAL;
        it.res.message = xstrdup(msg);
    }
    s->q = xrealloc(s->q, (s->num_q + 1) * sizeof *s->q);
    s->q[s->num_q++] = it;
    *out_id = it.id;
    return 0;
}

static int stdout_cancel(struct inv_transport *t, uint64_t id)
{
    struct stdout_transport *s = (struct stdout_transport *)t;
    for (size_t i = 0; i < s->num_q; i++) {
        if (s->q[i].id == id) {
            inv_result_cleanup(&s->q[i].res);
            memmove(&s->q[i], &s->q[i + 1], (s->num_q - i - 1) * sizeof *s->q);
            s->num_q--;
            return 0;
        }
    }
    return -1;
}

static void stdout_free(struct inv_transport *t)
{
    struct stdout_transport *s = (struct stdout_transport *)t;
    for (size_t i = 0; i < s->num_q; i++) {
        inv_result_cleanup(&s->q[i].res);
    }
    free(s->q);
    free(s);
}

static size_t stdout_poll_fds(struct inv_transport *t, struct pollfd *fds, size_t cap,
                              int *out_timeout_ms)
{
    (void)fds;
    (void)cap;
    struct stdout_transport *s = (struct stdout_transport *)t;
    *out_timeout_ms = s->num_q ? 0 : -1;
    return 0;
}

static void stdout_dispatch(struct inv_transport *t, const struct pollfd *fds, size_t num_fds)
{
    (void)fds;
    (void)num_fds;
    struct stdout_transport *s = (struct stdout_transport *)t;
    // Detach the queue first: callbacks may submit again.
    struct done_item *q = s->q;
    size_t n = s->num_q;
    s->q = NULL;
    s->num_q = 0;
    for (size_t i = 0; i < n; i++) {
        q[i].done(q[i].ctx, q[i].id, &q[i].res);
        inv_result_cleanup(&q[i].res);
    }
    free(q);
}

static const struct inv_transport_funcs stdout_funcs = {
    .name = "stdout",
    .submit = stdout_submit,
    .cancel = stdout_cancel,
    .free = stdout_free,
    .poll_fds = stdout_poll_fds,
    .dispatch = stdout_dispatch,
};

struct inv_transport *inv_stdout_new(int fd)
{
    struct stdout_transport *s = xcalloc(1, sizeof *s);
    s->base.funcs = &stdout_funcs;
    s->fd = fd;
    return &s->base;
}
