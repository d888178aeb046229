// transport.c: results, the batchItemFailures parser, vtable wrappers and the poll() runner (the
// stdout transport is transport_stdout.c's).
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

size_t inv_transport_queued(struct inv_transport *t)
{
    return t && t->funcs->queued ? t->funcs->queued(t) : 0;
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
