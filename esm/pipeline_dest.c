// pipeline_dest.c: the messages of per-batch on-failure destinations (SQS, SNS, S3): one failure
// record per disposed selection, split while above the destination's message size limit.
#include "base/alloc.h"
#include "esm/pipeline.h"
#include "esm/pipeline_int.h"

#include <stdlib.h>
#include <string.h>

struct msgs {
    struct esm_dest_msg *v;
    size_t n, cap;
};

static void push(struct msgs *m, char *text, size_t len, const struct batch *b, size_t first,
                 size_t num, int64_t now_ms)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 4;
        m->v = xrealloc(m->v, m->cap * sizeof *m->v);
    }
    struct esm_dest_msg *d = &m->v[m->n++];
    memset(d, 0, sizeof *d);
    d->key = inv_bytes_null();
    d->value = text;
    d->value_len = len;
    d->part_key = b->parts[pl_part_of(b, first)].key;
    d->first_offset = b->offsets[first];
    d->time_ms = now_ms;
    d->num_records = num;
}

// build adds the record(s) of |sel|, halving while too large (depth bounded by log2(n)).
static void build(struct msgs *m, const struct pl_failure *f, const struct batch *b,
                  const size_t *sel, size_t n, bool with_payload, size_t max)
{
    struct pl_failure one = *f;
    char *payload = NULL;
    one.payload = NULL;
    one.omit_payload = !with_payload;
    if (!b->oversized) {
        payload = pl_subpayload(b, f->event, sel, n, &one.payload_len);
        one.payload = payload;
    }
    size_t len = 0;
    char *text = pl_failure_text(&one, b, sel, n, &len);
    free(payload);
    if (text != NULL && max > 0 && len > max && n > 1) {
        free(text);
        size_t half = n / 2;
        build(m, f, b, sel, half, with_payload, max);
        build(m, f, b, sel + half, n - half, with_payload, max);
        return;
    }
    if (text == NULL) {
        text = xstrdup("");
    }
    push(m, text, len, b, sel[0], n, f->now_ms);
}

size_t pl_failure_batch_msgs(const struct pl_failure *f, const struct batch *b, const size_t *sel,
                             size_t n, bool with_payload, size_t max, struct esm_dest_msg **out)
{
    struct msgs m = {0};
    if (n > 0) {
        build(&m, f, b, sel, n, with_payload, max);
    }
    *out = m.v;
    return m.n;
}

void pl_dest_msgs_free(struct esm_dest_msg *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(msgs[i].value);
    }
    free(msgs);
}
