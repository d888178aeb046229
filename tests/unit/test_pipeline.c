// test_pipeline.c: the delivery pipeline against a fake source (records in, acks/pauses out) and
// a scripted fake transport on a real reactor: exactly-once in-order delivery, retries, retry
// limits with the on-failure directory, bisect, partial batch responses, record age, 413 splits,
// oversized records, fatal errors, backpressure, revoke and drain; payload span scanning; the
// metrics counters (outcomes, retries, batch-size and latency histograms); FilterCriteria
// (filtered records acknowledged in order with the delivered ones).
#include "esm/filter.h"
#include "esm/pipeline.h"
#include "esm/pipeline_int.h"
#include "invoke/event_json.h"
#include "net/reactor.h"
#include "tests/lib/unit.h"

#include <cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// ---- fake transport ---------------------------------------------------------------------------

enum mode {
    MODE_OK,
    MODE_FAIL_FIRST,   // the first fail_n invocations fail
    MODE_FAIL_OFFSET,  // fail any payload holding partition 0 offset fail_offset
    MODE_PARTIAL_ONCE, // first invocation reports partial_offset of partition 0 as failed
    MODE_TOO_LARGE,    // 413 for payloads of more than max_records records
    MODE_FATAL,
    MODE_RETRYABLE, // the first fail_n invocations are RETRYABLE (endpoint unreachable)
};

struct call {
    int32_t part[64];
    int64_t off[64];
    size_t n;
    size_t len; // payload bytes
};

struct fake {
    struct inv_transport base;
    struct net_reactor *r;
    struct net_timer *timer;
    enum mode mode;
    int fail_n;
    int64_t fail_offset;
    int64_t partial_offset;
    const char *partial_key;
    size_t max_records;
    bool hold;
    // pending request
    struct pend {
        uint64_t id;
        inv_done_fn *done;
        void *ctx;
        char *payload;
        size_t len;
        bool live;
    } pend[16];
    uint64_t next_id;
    struct call calls[256];
    size_t num_calls;
    // successfully delivered (part, offset)
    int32_t ok_part[4096];
    int64_t ok_off[4096];
    size_t num_ok;
};

static void parse_call(const char *payload, size_t len, struct call *c)
{
    cJSON *j = cJSON_ParseWithLength(payload, len);
    assert_non_null(j);
    c->n = 0;
    c->len = len;
    const cJSON *g = cJSON_GetObjectItem(j, "records")->child;
    for (; g; g = g->next) {
        const cJSON *r;
        cJSON_ArrayForEach(r, g)
        {
            assert_true(c->n < 64);
            c->part[c->n] = (int32_t)cJSON_GetObjectItem(r, "partition")->valuedouble;
            c->off[c->n] = (int64_t)cJSON_GetObjectItem(r, "offset")->valuedouble;
            c->n++;
        }
    }
    cJSON_Delete(j);
}

static void decide(struct fake *f, const struct call *c, struct inv_result *res)
{
    int call_no = (int)f->num_calls; // 1-based after recording
    res->kind = INV_RESULT_OK;
    switch (f->mode) {
    case MODE_OK:
        break;
    case MODE_FAIL_FIRST:
        if (call_no <= f->fail_n) {
            res->kind = INV_RESULT_FUNCTION_ERROR;
        }
        break;
    case MODE_FAIL_OFFSET:
        for (size_t i = 0; i < c->n; i++) {
            if (c->part[i] == 0 && c->off[i] == f->fail_offset) {
                res->kind = INV_RESULT_FUNCTION_ERROR;
            }
        }
        break;
    case MODE_PARTIAL_ONCE:
        if (call_no == 1) {
            res->kind = INV_RESULT_PARTIAL;
            res->failures = calloc(1, sizeof *res->failures);
            res->failures[0].partition = strdup(f->partial_key);
            res->failures[0].offset = f->partial_offset;
            res->num_failures = 1;
        }
        break;
    case MODE_TOO_LARGE:
        if (c->n > f->max_records) {
            res->kind = INV_RESULT_TOO_LARGE;
        }
        break;
    case MODE_FATAL:
        res->kind = INV_RESULT_FATAL;
        break;
    case MODE_RETRYABLE:
        if (call_no <= f->fail_n) {
            res->kind = INV_RESULT_RETRYABLE;
            res->message = strdup("gave up after 5 attempts at http://127.0.0.1:9: connect error");
        }
        break;
    }
    if (res->kind == INV_RESULT_OK) {
        for (size_t i = 0; i < c->n; i++) {
            f->ok_part[f->num_ok] = c->part[i];
            f->ok_off[f->num_ok++] = c->off[i];
        }
    }
}

static void fake_fire(void *ctx)
{
    struct fake *f = ctx;
    if (f->hold) {
        return;
    }
    for (size_t i = 0; i < 16; i++) {
        struct pend *p = &f->pend[i];
        if (!p->live) {
            continue;
        }
        p->live = false;
        struct call *c = &f->calls[f->num_calls++];
        parse_call(p->payload, p->len, c);
        struct inv_result res;
        inv_result_init(&res);
        decide(f, c, &res);
        free(p->payload);
        p->payload = NULL;
        p->done(p->ctx, p->id, &res);
        inv_result_cleanup(&res);
    }
}

static int fake_submit(struct inv_transport *t, const char *payload, size_t len, inv_done_fn *done,
                       void *ctx, uint64_t *out_id, struct inv_err *err)
{
    struct fake *f = (struct fake *)t;
    (void)err;
    for (size_t i = 0; i < 16; i++) {
        struct pend *p = &f->pend[i];
        if (!p->live) {
            *p = (struct pend){++f->next_id, done, ctx, strndup(payload, len), len, true};
            *out_id = p->id;
            net_timer_arm(f->timer, 0);
            return 0;
        }
    }
    fail_msg("too many requests in flight");
    return -1;
}

static int fake_cancel(struct inv_transport *t, uint64_t id)
{
    struct fake *f = (struct fake *)t;
    for (size_t i = 0; i < 16; i++) {
        if (f->pend[i].live && f->pend[i].id == id) {
            f->pend[i].live = false;
            free(f->pend[i].payload);
            f->pend[i].payload = NULL;
            return 0;
        }
    }
    return -1;
}

static void fake_free(struct inv_transport *t)
{
    (void)t;
}

static size_t fake_poll_fds(struct inv_transport *t, struct pollfd *fds, size_t cap, int *tmo)
{
    (void)t;
    (void)fds;
    (void)cap;
    *tmo = -1;
    return 0;
}

static void fake_dispatch(struct inv_transport *t, const struct pollfd *fds, size_t n)
{
    (void)t;
    (void)fds;
    (void)n;
}

static const struct inv_transport_funcs fake_funcs = {
    "fake", fake_submit, fake_cancel, fake_free, fake_poll_fds, fake_dispatch, NULL,
};

// ---- fake source --------------------------------------------------------------------------

struct src {
#define NPART 16
    int64_t acked[NPART]; // next offset per partition of topic "t"
    int64_t ack_hist[256];
    size_t num_hist;
    int pauses, resumes;
    bool paused[NPART];
    int fatal;
    char result[256];
    int done_calls;
    struct esm_pipeline *drain_on_fatal;
};

static int src_ack(void *ctx, const char *topic, int32_t partition, int64_t next)
{
    struct src *s = ctx;
    assert_string_equal(topic, "t");
    assert_true(partition >= 0 && partition < NPART);
    assert_true(next > s->acked[partition]); // acks only move forward
    s->acked[partition] = next;
    if (partition == 0 && s->num_hist < 256) {
        s->ack_hist[s->num_hist++] = next;
    }
    return 0;
}

static int src_pause(void *ctx, const char *topic, int32_t partition)
{
    struct src *s = ctx;
    (void)topic;
    s->pauses++;
    s->paused[partition] = true;
    return 0;
}

static int src_resume(void *ctx, const char *topic, int32_t partition)
{
    struct src *s = ctx;
    (void)topic;
    s->resumes++;
    s->paused[partition] = false;
    return 0;
}

static void on_done(void *ctx)
{
    struct src *s = ctx;
    s->done_calls++;
}

static void on_fatal(void *ctx, const char *detail)
{
    struct src *s = ctx;
    s->fatal++;
    snprintf(s->result, sizeof s->result, "%s", detail);
    if (s->drain_on_fatal) { // what esm/instance does: stop from inside the callback
        esm_pipeline_drain(s->drain_on_fatal, 1000, on_done, s);
    }
}

static int64_t g_wall = 1700000000000;
static int64_t wall(void *ctx)
{
    (void)ctx;
    return g_wall;
}

// ---- harness ------------------------------------------------------------------------------

struct h {
    struct net_reactor *r;
    struct fake f;
    struct src s;
    struct esm_pipeline *pl;
    struct esm_pipeline_cfg cfg;
    char dir[64];
};

static void h_init(struct h *h)
{
    memset(h, 0, sizeof *h);
    h->r = net_reactor_new(NULL);
    assert_non_null(h->r);
    h->f.base.funcs = &fake_funcs;
    h->f.r = h->r;
    h->f.timer = net_timer_new(h->r, fake_fire, &h->f);
    esm_pipeline_cfg_defaults(&h->cfg);
    h->cfg.reactor = h->r;
    h->cfg.transport = &h->f.base;
    h->cfg.batch.batch_size = 10;
    h->cfg.batch.window_ms = 0;
    h->cfg.batch.event.bootstrap_servers = "b:9092";
    h->cfg.backoff_initial_ms = 1;
    h->cfg.backoff_max_ms = 4;
    h->cfg.function_arn = "arn:aws:lambda:us-east-1:000000000000:function:f";
    h->cfg.source = (struct esm_source){src_ack, src_pause, src_resume, &h->s};
    h->cfg.on_fatal = on_fatal;
    h->cfg.cb_ctx = &h->s;
    h->cfg.wall_ms = wall;
    for (int i = 0; i < NPART; i++) {
        h->s.acked[i] = -1;
    }
}

static void h_start(struct h *h)
{
    char err[200];
    assert_int_equal(esm_pipeline_new(&h->pl, &h->cfg, err, sizeof err), 0);
}

static void h_dir(struct h *h)
{
    snprintf(h->dir, sizeof h->dir, "/tmp/kesm-pl-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    h->cfg.dest_dir = h->dir;
}

static void h_free(struct h *h)
{
    esm_pipeline_free(h->pl);
    for (size_t i = 0; i < 16; i++) {
        free(h->f.pend[i].payload);
    }
    net_timer_free(h->f.timer);
    net_reactor_free(h->r);
    if (h->dir[0]) {
        DIR *d = opendir(h->dir);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (e->d_name[0] != '.') {
                char p[400];
                snprintf(p, sizeof p, "%s/%s", h->dir, e->d_name);
                unlink(p);
            }
        }
        if (d) {
            closedir(d);
        }
        rmdir(h->dir);
    }
}

static char g_val[64][48];

static void add_range(struct h *h, int32_t part, int64_t from, int64_t to, int64_t ts)
{
    struct inv_record recs[64];
    size_t n = 0;
    for (int64_t o = from; o < to; o++, n++) {
        snprintf(g_val[n], sizeof g_val[n], "v%d-%lld", part, (long long)o);
        recs[n] = (struct inv_record){"t",
                                      1,
                                      part,
                                      o,
                                      ts,
                                      INV_TS_CREATE_TIME,
                                      inv_bytes_null(),
                                      inv_bytes_of(g_val[n], strlen(g_val[n])),
                                      NULL,
                                      0,
                                      NULL,
                                      NULL,
                                      NULL};
    }
    assert_int_equal(esm_pipeline_add(h->pl, recs, n), 0);
}

static void run_until(struct h *h, bool (*cond)(struct h *), int max_ms)
{
    for (int i = 0; i < max_ms / 5 && !cond(h); i++) {
        net_reactor_run_for(h->r, 5);
    }
    assert_true(cond(h));
}

static bool idle(struct h *h)
{
    struct esm_pipeline_stats st;
    esm_pipeline_stats(h->pl, &st);
    return st.inflight == 0 && st.queued == 0;
}

// delivered_once: every offset [0, n) of |part| was delivered successfully exactly once, in order.
static void delivered_once(struct h *h, int32_t part, int64_t n, int64_t skip)
{
    int64_t next = 0;
    for (size_t i = 0; i < h->f.num_ok; i++) {
        if (h->f.ok_part[i] != part) {
            continue;
        }
        if (next == skip) {
            next++;
        }
        assert_int_equal(h->f.ok_off[i], next);
        next++;
    }
    if (next == skip) {
        next++;
    }
    assert_int_equal(next, n);
}

static cJSON *only_failure_file(struct h *h)
{
    DIR *d = opendir(h->dir);
    assert_non_null(d);
    struct dirent *e;
    char path[400] = "";
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", h->dir, e->d_name);
            n++;
        }
    }
    closedir(d);
    assert_int_equal(n, 1);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    static char buf[65536];
    size_t len = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[len] = 0;
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    return j;
}

static const char *jstr(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItem(o, a);
    if (b) {
        x = cJSON_GetObjectItem(x, b);
    }
    assert_true(cJSON_IsString(x));
    return x->valuestring;
}

// ---- tests --------------------------------------------------------------------------------

// counted checks the metrics counters: outcomes sum to the invocations the transport saw, one
// batch-size and one latency observation per invocation, |records| records sent in all.
static void counted(struct h *h, struct esm_pipeline_stats *st, uint64_t records)
{
    esm_pipeline_stats(h->pl, st);
    uint64_t n = 0;
    for (size_t k = 0; k < ESM_OUTCOME_COUNT; k++) {
        n += st->outcomes[k];
    }
    assert_int_equal(n, h->f.num_calls);
    assert_int_equal(st->invocations, h->f.num_calls);
    assert_int_equal(st->batch_records.count, h->f.num_calls);
    assert_int_equal(st->invoke_seconds.count, h->f.num_calls);
    assert_true(st->batch_records.sum == (double)records);
    uint64_t b = 0;
    for (size_t k = 0; k <= esm_batch_records_bounds.n; k++) {
        b += st->batch_records.buckets[k];
    }
    assert_int_equal(b, h->f.num_calls);
}

static void test_all_ok(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h_start(&h);
    add_range(&h, 0, 0, 25, g_wall);
    add_range(&h, 1, 0, 13, g_wall);
    add_range(&h, 0, 25, 30, g_wall);
    run_until(&h, idle, 2000);
    delivered_once(&h, 0, 30, -1);
    delivered_once(&h, 1, 13, -1);
    assert_int_equal(h.s.acked[0], 30);
    assert_int_equal(h.s.acked[1], 13);
    assert_string_equal(esm_pipeline_last_result(h.pl), "OK");
    // an outside problem (the consumer's) replaces it, and the next success reports OK again
    esm_pipeline_set_result(h.pl, "PROBLEM: Connection error.");
    assert_string_equal(esm_pipeline_last_result(h.pl), "PROBLEM: Connection error.");
    add_range(&h, 1, 13, 14, g_wall);
    run_until(&h, idle, 2000);
    assert_string_equal(esm_pipeline_last_result(h.pl), "OK");
    struct esm_pipeline_stats st;
    esm_pipeline_stats(h.pl, &st);
    assert_int_equal(st.records_in, 44);
    assert_int_equal(st.records_ok, 44);
    counted(&h, &st, 44);
    assert_int_equal(st.outcomes[ESM_OUTCOME_OK], h.f.num_calls);
    assert_int_equal(st.retries, 0);
    h_free(&h);
}

static void test_retry_until_success(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.f.mode = MODE_FAIL_FIRST;
    h.f.fail_n = 4;
    h_start(&h);
    add_range(&h, 0, 0, 5, g_wall);
    run_until(&h, idle, 3000);
    assert_int_equal(h.f.num_calls, 5);
    for (size_t i = 0; i < 5; i++) { // the same batch each time
        assert_int_equal(h.f.calls[i].n, 5);
        assert_int_equal(h.f.calls[i].off[0], 0);
    }
    assert_int_equal(h.s.num_hist, 1); // nothing acked before the success
    assert_int_equal(h.s.acked[0], 5);
    delivered_once(&h, 0, 5, -1);
    struct esm_pipeline_stats st;
    counted(&h, &st, 25);
    assert_int_equal(st.outcomes[ESM_OUTCOME_FUNCTION_ERROR], 4);
    assert_int_equal(st.outcomes[ESM_OUTCOME_OK], 1);
    assert_int_equal(st.retries, 4);
    assert_int_equal(st.batch_records.buckets[2], 5); // 5 records: the "le 5" bucket
    h_free(&h);
}

// Transport errors are retried without counting, for as long as they last, and reported:
// LastProcessingResult names the endpoint, kesm_transport_error_seconds (the stats) grows while
// they last and is 0 again once an invocation reaches the function.
static void test_transport_errors_reported(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.f.mode = MODE_RETRYABLE;
    h.f.fail_n = 1000000;
    h_start(&h);
    add_range(&h, 0, 0, 3, g_wall);
    net_reactor_run_for(h.r, 1100);
    struct esm_pipeline_stats st;
    esm_pipeline_stats(h.pl, &st);
    assert_true(st.outcomes[ESM_OUTCOME_RETRYABLE] >= 2);
    assert_true(st.transport_error_seconds >= 1.0);
    assert_int_equal(st.records_disposed, 0);
    assert_int_equal(h.s.num_hist, 0); // nothing acknowledged
    assert_string_equal(esm_pipeline_last_result(h.pl),
                        "PROBLEM: Function call failed: gave up after 5 attempts at "
                        "http://127.0.0.1:9: connect error");
    h.f.fail_n = 0; // the endpoint is back
    run_until(&h, idle, 3000);
    esm_pipeline_stats(h.pl, &st);
    assert_true(st.transport_error_seconds == 0);
    assert_string_equal(esm_pipeline_last_result(h.pl), "OK");
    delivered_once(&h, 0, 3, -1);
    h_free(&h);
}

static void test_retries_exhausted_to_dir(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h_dir(&h);
    h.cfg.max_retry_attempts = 2;
    h.f.mode = MODE_FAIL_OFFSET;
    h.f.fail_offset = 3;
    h_start(&h);
    add_range(&h, 0, 0, 5, g_wall);
    run_until(&h, idle, 3000);
    assert_int_equal(h.f.num_calls, 3); // first attempt + 2 retries
    assert_int_equal(h.s.acked[0], 5);
    cJSON *j = only_failure_file(&h);
    assert_string_equal(jstr(j, "requestContext", "condition"), "RetryAttemptsExhausted");
    assert_string_equal(jstr(j, "requestContext", "functionArn"), h.cfg.function_arn);
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "requestContext"), "approximateInvokeCount")
            ->valueint,
        3);
    assert_string_equal(jstr(j, "responseContext", "functionError"), "Unhandled");
    assert_string_equal(jstr(j, "version", NULL), "1.0");
    const cJSON *info = cJSON_GetObjectItem(j, "KafkaBatchInfo");
    assert_int_equal(cJSON_GetObjectItem(info, "batchSize")->valueint, 5);
    assert_string_equal(jstr(info, "bootstrapServers", NULL), "b:9092");
    const cJSON *ri = cJSON_GetObjectItem(cJSON_GetObjectItem(info, "recordsInfo"), "t-0");
    assert_string_equal(jstr(ri, "firstRecordOffset", NULL), "0");
    assert_string_equal(jstr(ri, "lastRecordOffset", NULL), "4");
    assert_string_equal(jstr(ri, "firstRecordTimestamp", NULL), "2023-11-14T22:13:20.000Z");
    struct call c;
    const char *payload = jstr(j, "payload", NULL);
    parse_call(payload, strlen(payload), &c);
    assert_int_equal(c.n, 5);
    assert_int_equal(cJSON_GetObjectItem(info, "payloadSize")->valueint, (int)strlen(payload));
    cJSON_Delete(j);
    h_free(&h);
}

static void test_infinite_retries_capped_with_destination(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h_dir(&h); // MaximumRetryAttempts -1 (the default) with a destination: at most 10 retries
    h.f.mode = MODE_FAIL_OFFSET;
    h.f.fail_offset = 0;
    h_start(&h);
    add_range(&h, 0, 0, 2, g_wall);
    run_until(&h, idle, 5000);
    assert_int_equal(h.f.num_calls, 11);
    assert_int_equal(h.s.acked[0], 2);
    cJSON *j = only_failure_file(&h);
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "requestContext"), "approximateInvokeCount")
            ->valueint,
        11);
    cJSON_Delete(j);
    h_free(&h);
}

static void test_bisect_narrows(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h_dir(&h);
    h.cfg.max_retry_attempts = 0;
    h.cfg.bisect_on_error = true;
    h.f.mode = MODE_FAIL_OFFSET;
    h.f.fail_offset = 5;
    h_start(&h);
    add_range(&h, 0, 0, 8, g_wall);
    run_until(&h, idle, 3000);
    delivered_once(&h, 0, 8, 5);
    assert_int_equal(h.s.acked[0], 8);
    cJSON *j = only_failure_file(&h);
    const cJSON *ri = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "KafkaBatchInfo"), "recordsInfo"), "t-0");
    assert_string_equal(jstr(ri, "firstRecordOffset", NULL), "5");
    assert_string_equal(jstr(ri, "lastRecordOffset", NULL), "5");
    cJSON_Delete(j);
    // halves in order: [0,4) ok, [4,6) fails, [4] ok, [5] disposed, [6,8) ok
    assert_int_equal(h.s.num_hist, 4);
    assert_int_equal(h.s.ack_hist[0], 4);
    assert_int_equal(h.s.ack_hist[1], 5);
    assert_int_equal(h.s.ack_hist[2], 6);
    assert_int_equal(h.s.ack_hist[3], 8);
    h_free(&h);
}

static void test_partial_response(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.f.mode = MODE_PARTIAL_ONCE;
    h.f.partial_key = "t-0";
    h.f.partial_offset = 4;
    h.cfg.batch.window_ms = 30; // both partitions in one batch
    h_start(&h);
    add_range(&h, 0, 0, 6, g_wall);
    add_range(&h, 1, 0, 3, g_wall);
    run_until(&h, idle, 3000);
    assert_int_equal(h.f.num_calls, 2);
    assert_int_equal(h.f.calls[0].n, 9);
    assert_int_equal(h.s.ack_hist[0], 4); // committed up to the failed record
    assert_int_equal(h.f.calls[1].n, 2);  // retried from it; partition 1 is done
    assert_int_equal(h.f.calls[1].part[0], 0);
    assert_int_equal(h.f.calls[1].off[0], 4);
    assert_int_equal(h.s.acked[0], 6);
    assert_int_equal(h.s.acked[1], 3);
    struct esm_pipeline_stats st;
    counted(&h, &st, 11);
    assert_int_equal(st.outcomes[ESM_OUTCOME_PARTIAL], 1);
    assert_int_equal(st.outcomes[ESM_OUTCOME_OK], 1);
    assert_int_equal(st.retries, 1);
    h_free(&h);
}

static void test_partial_unknown_id(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.f.mode = MODE_PARTIAL_ONCE;
    h.f.partial_key = "t-0";
    h.f.partial_offset = 99;
    h_start(&h);
    add_range(&h, 0, 0, 4, g_wall);
    run_until(&h, idle, 3000);
    assert_int_equal(h.f.num_calls, 2);
    assert_int_equal(h.f.calls[1].n, 4); // the whole batch again
    assert_int_equal(h.s.num_hist, 1);
    assert_int_equal(h.s.acked[0], 4);
    h_free(&h);
}

static void test_record_age(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h_dir(&h);
    h.cfg.max_record_age_s = 60;
    h_start(&h);
    struct inv_record recs[4];
    for (int i = 0; i < 4; i++) {
        recs[i] = (struct inv_record){"t",
                                      1,
                                      0,
                                      i,
                                      i < 2 ? g_wall - 61000 : g_wall - 1000,
                                      INV_TS_CREATE_TIME,
                                      inv_bytes_null(),
                                      inv_bytes_of("x", 1),
                                      NULL,
                                      0,
                                      NULL,
                                      NULL,
                                      NULL};
    }
    assert_int_equal(esm_pipeline_add(h.pl, recs, 4), 0);
    run_until(&h, idle, 3000);
    assert_int_equal(h.f.num_calls, 1);
    assert_int_equal(h.f.calls[0].n, 2);
    assert_int_equal(h.f.calls[0].off[0], 2);
    assert_int_equal(h.s.acked[0], 4);
    cJSON *j = only_failure_file(&h);
    assert_string_equal(jstr(j, "requestContext", "condition"), "RecordAgeExceeded");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "responseContext")));
    cJSON_Delete(j);
    h_free(&h);
}

static void test_too_large_splits(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.f.mode = MODE_TOO_LARGE;
    h.f.max_records = 2;
    h_start(&h);
    add_range(&h, 0, 0, 7, g_wall);
    run_until(&h, idle, 3000);
    delivered_once(&h, 0, 7, -1);
    assert_int_equal(h.s.acked[0], 7);
    struct esm_pipeline_stats st;
    uint64_t sent = 0, big = 0;
    for (size_t i = 0; i < h.f.num_calls; i++) {
        sent += h.f.calls[i].n;
        big += h.f.calls[i].n > 2;
    }
    counted(&h, &st, sent);
    assert_true(big > 0);
    assert_int_equal(st.outcomes[ESM_OUTCOME_TOO_LARGE], big);
    assert_int_equal(st.outcomes[ESM_OUTCOME_OK], h.f.num_calls - big);
    h_free(&h);
}

static void test_payload_cap(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.cfg.batch.batch_size = 10000;
    h.cfg.batch.max_payload = BATCH_MAX_PAYLOAD;
    h_start(&h);
    static char big[100000];
    memset(big, 'z', sizeof big);
    struct inv_record recs[60];
    for (int i = 0; i < 60; i++) {
        recs[i] = (struct inv_record){"t",
                                      1,
                                      0,
                                      i,
                                      g_wall,
                                      INV_TS_CREATE_TIME,
                                      inv_bytes_null(),
                                      inv_bytes_of(big, sizeof big),
                                      NULL,
                                      0,
                                      NULL,
                                      NULL,
                                      NULL};
    }
    assert_int_equal(esm_pipeline_add(h.pl, recs, 60), 0);
    run_until(&h, idle, 5000);
    delivered_once(&h, 0, 60, -1);
    assert_true(h.f.num_calls >= 2);
    struct inv_event_cfg ev = h.cfg.batch.event;
    size_t rec_len = inv_event_record_len(&ev, &recs[0]);
    for (size_t i = 0; i < h.f.num_calls; i++) {
        assert_true(h.f.calls[i].len <= BATCH_MAX_PAYLOAD);
    }
    // the first payload was cut exactly: one more record (plus a comma) would cross 6 MiB
    assert_true(h.f.calls[0].len + rec_len + 1 > BATCH_MAX_PAYLOAD);
    assert_int_equal(h.s.acked[0], 60);
    h_free(&h);
}

static void test_oversized_record(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h_dir(&h);
    h.cfg.batch.max_payload = 1000;
    h_start(&h);
    static char big[2000];
    memset(big, 'x', sizeof big);
    struct inv_record recs[3];
    for (int i = 0; i < 3; i++) {
        recs[i] = (struct inv_record){"t",
                                      1,
                                      0,
                                      i,
                                      g_wall,
                                      INV_TS_CREATE_TIME,
                                      inv_bytes_null(),
                                      i == 1 ? inv_bytes_of(big, sizeof big) : inv_bytes_of("y", 1),
                                      NULL,
                                      0,
                                      NULL,
                                      NULL,
                                      NULL};
    }
    assert_int_equal(esm_pipeline_add(h.pl, recs, 3), 0);
    run_until(&h, idle, 3000);
    delivered_once(&h, 0, 3, 1);
    assert_int_equal(h.s.acked[0], 3);
    cJSON *j = only_failure_file(&h);
    assert_string_equal(jstr(j, "requestContext", "condition"), "MaximumPayloadSizeExceeded");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "responseContext")));
    assert_null(cJSON_GetObjectItem(j, "payload"));
    assert_true(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "KafkaBatchInfo"), "payloadSize")->valueint >
        2000);
    cJSON_Delete(j);
    h_free(&h);
}

// An undecodable range (consumer/fetcher.h) is disposed of in its place like an oversized record:
// the records before it are delivered first, a failure record names the whole range, and the
// partition is acknowledged past it so the records behind it flow again.
static void test_undecodable_range(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h_dir(&h);
    h_start(&h);
    add_range(&h, 0, 0, 2, g_wall);
    assert_int_equal(esm_pipeline_add_gap(h.pl, "t", 0, 3, 9, -1, true), 0);
    assert_int_equal(esm_pipeline_add_gap(h.pl, "t", 0, 5, 6, -1, true), -1); // not after 9
    add_range(&h, 0, 10, 12, g_wall);
    run_until(&h, idle, 3000);
    assert_int_equal(h.s.acked[0], 12);
    cJSON *j = only_failure_file(&h);
    assert_string_equal(jstr(j, "requestContext", "condition"), "MaximumPayloadSizeExceeded");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "responseContext")));
    const cJSON *info = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "KafkaBatchInfo"), "recordsInfo"), "t-0");
    assert_string_equal(cJSON_GetObjectItem(info, "firstRecordOffset")->valuestring, "3");
    assert_string_equal(cJSON_GetObjectItem(info, "lastRecordOffset")->valuestring, "9");
    cJSON_Delete(j);
    h_free(&h);
}

// ---- asynchronous destination (kafka:// shape) --------------------------------------------

struct fdest {
    struct net_timer *timer;
    esm_dest_done_fn *done;
    void *arg;
    uint64_t id;
    int fail_first; // fail this many sends
    int sends;
    bool hold;
    cJSON *values[16];
    char keys[16][32];
    bool key_null[16];
    size_t num;
};

static void fdest_fire(void *ctx)
{
    struct fdest *d = ctx;
    if (d->hold || !d->done) {
        return;
    }
    esm_dest_done_fn *done = d->done;
    d->done = NULL;
    done(d->arg, d->sends > d->fail_first, d->sends > d->fail_first ? NULL : "broker down");
}

static uint64_t fdest_send(void *ctx, const struct esm_dest_msg *msgs, size_t n,
                           esm_dest_done_fn *done, void *arg)
{
    struct fdest *d = ctx;
    d->sends++;
    if (d->sends > d->fail_first) {
        for (size_t i = 0; i < n && d->num < 16; i++, d->num++) {
            d->values[d->num] = cJSON_ParseWithLength(msgs[i].value, msgs[i].value_len);
            d->key_null[d->num] = msgs[i].key.is_null;
            snprintf(d->keys[d->num], sizeof d->keys[0], "%.*s", (int)msgs[i].key.len,
                     (const char *)msgs[i].key.p);
        }
    }
    d->done = done;
    d->arg = arg;
    net_timer_arm(d->timer, 0);
    return ++d->id;
}

static void fdest_cancel(void *ctx, uint64_t id)
{
    struct fdest *d = ctx;
    (void)id;
    d->done = NULL;
}

static void test_async_destination(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    struct fdest d = {.fail_first = 1};
    d.timer = net_timer_new(h.r, fdest_fire, &d);
    h.cfg.dest = (struct esm_dest){fdest_send, fdest_cancel, &d};
    h.cfg.max_retry_attempts = 0;
    h.f.mode = MODE_FAIL_OFFSET;
    h.f.fail_offset = 1;
    h.cfg.batch.batch_size = 2;
    h_start(&h);
    struct inv_record recs[3];
    for (int i = 0; i < 3; i++) {
        recs[i] = (struct inv_record){"t",
                                      1,
                                      0,
                                      i,
                                      g_wall,
                                      INV_TS_CREATE_TIME,
                                      i == 1 ? inv_bytes_null() : inv_bytes_of("key-x", 5),
                                      inv_bytes_of("v", 1),
                                      NULL,
                                      0,
                                      NULL,
                                      NULL,
                                      NULL};
    }
    assert_int_equal(esm_pipeline_add(h.pl, recs, 3), 0);
    run_until(&h, idle, 3000);
    assert_int_equal(d.sends, 2); // the first delivery failed and was retried
    assert_int_equal(d.num, 2);   // one message per record of the failed batch (offsets 0, 1)
    assert_false(d.key_null[0]);
    assert_string_equal(d.keys[0], "key-x");
    assert_true(d.key_null[1]);
    const cJSON *v = d.values[1];
    assert_non_null(v);
    assert_string_equal(jstr(v, "requestContext", "condition"), "RetryAttemptsExhausted");
    const cJSON *info = cJSON_GetObjectItem(v, "KafkaBatchInfo");
    assert_int_equal(cJSON_GetObjectItem(info, "batchSize")->valueint, 1);
    assert_string_equal(jstr(info, "recordInfo", "offset"), "1");
    const cJSON *recs1 = cJSON_GetObjectItem(cJSON_GetObjectItem(v, "payload"), "records");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(recs1, "t-0")), 1);
    assert_int_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(recs1, "t-0"), 0)->child->next->next->valueint,
        1); // "offset" of the single record
    assert_int_equal(h.s.acked[0], 3);
    for (size_t i = 0; i < d.num; i++) {
        cJSON_Delete(d.values[i]);
    }
    net_timer_free(d.timer);
    h_free(&h);
}

static void test_fatal_stops(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.f.mode = MODE_FATAL;
    h_start(&h);
    add_range(&h, 0, 0, 3, g_wall);
    for (int i = 0; i < 20; i++) {
        net_reactor_run_for(h.r, 5);
    }
    assert_int_equal(h.s.fatal, 1);
    assert_int_equal(h.f.num_calls, 1);
    assert_int_equal(h.s.num_hist, 0);
    assert_non_null(strstr(esm_pipeline_last_result(h.pl), "PROBLEM: Function configuration"));
    add_range(&h, 1, 0, 3, g_wall); // nothing more is submitted
    net_reactor_run_for(h.r, 20);
    assert_int_equal(h.f.num_calls, 1);
    h_free(&h);

    // draining from inside on_fatal (the job is freed under the callback) is safe
    h_init(&h);
    h.f.mode = MODE_FATAL;
    h_start(&h);
    h.s.drain_on_fatal = h.pl;
    add_range(&h, 0, 0, 3, g_wall);
    for (int i = 0; i < 20 && h.s.done_calls == 0; i++) {
        net_reactor_run_for(h.r, 5);
    }
    assert_int_equal(h.s.fatal, 1);
    assert_int_equal(h.s.done_calls, 1);
    assert_true(idle(&h));
    h_free(&h);
}

static bool resumed(struct h *h)
{
    return h->s.resumes > 0 && idle(h);
}

static void test_backpressure(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.cfg.batch.batch_size = 5;
    h.cfg.pause_records = 8;
    h.f.hold = true;
    h_start(&h);
    add_range(&h, 0, 0, 5, g_wall); // goes out as one batch, held
    net_reactor_run_for(h.r, 10);
    add_range(&h, 0, 5, 14, g_wall); // 9 queued behind it: pause
    assert_int_equal(h.s.pauses, 1);
    assert_true(h.s.paused[0]);
    h.f.hold = false;
    net_timer_arm(h.f.timer, 0);
    run_until(&h, resumed, 3000);
    assert_false(h.s.paused[0]);
    delivered_once(&h, 0, 14, -1);
    h_free(&h);
}

// One batch per partition in flight and no fixed cap: 12 partitions with a slow function have 12
// batches out at once (kesm used to stop at 5), and a queued second batch per partition does not
// pause anything (the total queue limit scales with the partitions). MaxConcurrency caps it.
static void concurrency_case(uint32_t cap, size_t want_inflight)
{
    struct h h;
    h_init(&h);
    h.cfg.batch.batch_size = 5;
    h.cfg.batch.max_inflight = cap;
    h.f.hold = true;
    h_start(&h);
    for (int32_t p = 0; p < 12; p++) {
        add_range(&h, p, 0, 9, g_wall); // one batch out, 4 records queued behind it
    }
    net_reactor_run_for(h.r, 10);
    struct esm_pipeline_stats st;
    esm_pipeline_stats(h.pl, &st);
    assert_int_equal(st.inflight, want_inflight);
    assert_int_equal(st.queued, 108 - 5 * want_inflight);
    if (cap == 0) {
        assert_int_equal(h.s.pauses, 0);
    }
    h.f.hold = false;
    net_timer_arm(h.f.timer, 0);
    run_until(&h, idle, 3000);
    for (int32_t p = 0; p < 12; p++) {
        assert_int_equal(h.s.acked[p], 9);
    }
    h_free(&h);
}

static void test_concurrency_per_partition(void **state)
{
    (void)state;
    concurrency_case(0, 12);
    concurrency_case(3, 3);
}

// The queued bytes are bounded too: a partition adding records past pause_bytes is paused.
static void test_backpressure_bytes(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.cfg.batch.batch_size = 5;
    h.cfg.pause_bytes = 300; // two or three records' events (pause_records is 10)
    h.f.hold = true;
    h_start(&h);
    add_range(&h, 0, 0, 5, g_wall); // out, held
    net_reactor_run_for(h.r, 10);
    add_range(&h, 0, 5, 9, g_wall); // 4 records queued behind the held batch: only their bytes
                                    // reach a limit (4 < pause_records, 4 < pause_total)
    net_reactor_run_for(h.r, 10);
    assert_true(h.s.paused[0]);
    h.f.hold = false;
    net_timer_arm(h.f.timer, 0);
    run_until(&h, resumed, 3000);
    assert_false(h.s.paused[0]);
    delivered_once(&h, 0, 9, -1);
    h_free(&h);
}

// add_keyed adds offsets [from, to) of |part| with the key "k<offset % nkeys>".
static void add_keyed(struct h *h, int32_t part, int64_t from, int64_t to, int nkeys)
{
    static char keys[64][8];
    struct inv_record recs[64];
    size_t n = 0;
    for (int64_t o = from; o < to; o++, n++) {
        snprintf(g_val[n], sizeof g_val[n], "v%d-%lld", part, (long long)o);
        snprintf(keys[n], sizeof keys[n], "k%d", (int)(o % nkeys));
        recs[n] = (struct inv_record){.topic = "t",
                                      .topic_len = 1,
                                      .partition = part,
                                      .offset = o,
                                      .timestamp = g_wall,
                                      .ts_type = INV_TS_CREATE_TIME,
                                      .key = inv_bytes_of(keys[n], strlen(keys[n])),
                                      .value = inv_bytes_of(g_val[n], strlen(g_val[n]))};
    }
    assert_int_equal(esm_pipeline_add(h->pl, recs, n), 0);
}

// ParallelizationFactor: several batches of one partition in flight, each record's key in one
// lane: every key's records are delivered exactly once and in offset order.
static void test_lanes_key_order(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.cfg.batch.batch_size = 4;
    h.cfg.batch.lanes = 4;
    h.f.hold = true;
    h_start(&h);
    add_keyed(&h, 0, 0, 40, 6);
    net_reactor_run_for(h.r, 10);
    struct esm_pipeline_stats st;
    esm_pipeline_stats(h.pl, &st);
    assert_true(st.inflight >= 2); // one partition, several lanes at once
    assert_true(st.inflight <= 4);
    h.f.hold = false;
    net_timer_arm(h.f.timer, 0);
    run_until(&h, idle, 3000);
    assert_int_equal(h.s.acked[0], 40);
    int64_t last[6] = {-1, -1, -1, -1, -1, -1};
    size_t seen = 0;
    for (size_t i = 0; i < h.f.num_ok; i++) {
        int k = (int)(h.f.ok_off[i] % 6);
        assert_true(h.f.ok_off[i] > last[k]); // same key: in order, once
        last[k] = h.f.ok_off[i];
        seen++;
    }
    assert_int_equal(seen, 40);
    // a payload holds one lane of a partition: every call's keys map to a single lane
    for (size_t c = 0; c < h.f.num_calls; c++) {
        struct inv_record r = {.key = inv_bytes_of("k0", 2)};
        uint32_t lane = UINT32_MAX;
        for (size_t i = 0; i < h.f.calls[c].n; i++) {
            char kb[8];
            snprintf(kb, sizeof kb, "k%d", (int)(h.f.calls[c].off[i] % 6));
            r.key = inv_bytes_of(kb, strlen(kb));
            uint32_t l = batcher_lane(4, &r);
            assert_true(lane == UINT32_MAX || lane == l);
            lane = l;
        }
    }
    h_free(&h);
}

// ParallelizationFactor: a lane that keeps failing holds the partition's commit below its
// record, however far the other lanes got; once it succeeds the commit covers everything.
static void test_lanes_commit_lowest_unfinished(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.cfg.batch.batch_size = 10;
    h.cfg.batch.lanes = 2; // null keys: even offsets in one lane, odd ones in the other
    h.f.mode = MODE_FAIL_OFFSET;
    h.f.fail_offset = 2;
    h_start(&h);
    add_range(&h, 0, 0, 6, g_wall);
    for (int i = 0; i < 100 && h.f.num_ok < 3; i++) {
        net_reactor_run_for(h.r, 5);
    }
    assert_int_equal(h.f.num_ok, 3); // 1, 3, 5 delivered ...
    for (size_t i = 0; i < h.f.num_ok; i++) {
        assert_int_equal(h.f.ok_off[i] % 2, 1);
    }
    net_reactor_run_for(h.r, 30); // ... and 0, 2, 4 retried meanwhile
    assert_true(h.f.num_calls > 3);
    assert_int_equal(h.s.acked[0], -1); // offset 0 is unfinished: nothing committed
    struct esm_pipeline_part_info pi;
    assert_true(esm_pipeline_part_info(h.pl, "t", 0, &pi));
    assert_int_equal(pi.lanes, 2);
    assert_int_equal(pi.lane_oldest[0], 0); // the failing lane holds 0, 2 and 4
    assert_int_equal(pi.lane_pending[0], 3);
    assert_int_equal(pi.lane_oldest[1], -1); // the other lane is done
    assert_int_equal(pi.lane_pending[1], 0);
    h.f.mode = MODE_OK;
    run_until(&h, idle, 3000);
    assert_int_equal(h.s.acked[0], 6);
    // a record after a finished lane's batch: the commit moves only to the first unfinished
    h.f.hold = true;
    add_range(&h, 0, 6, 8, g_wall); // 6 (even lane), 7 (odd lane)
    net_reactor_run_for(h.r, 10);
    assert_int_equal(h.s.acked[0], 6);
    h.f.hold = false;
    net_timer_arm(h.f.timer, 0);
    run_until(&h, idle, 3000);
    assert_int_equal(h.s.acked[0], 8);
    h_free(&h);
}

// ParallelizationFactor with an undecodable range: the range (no keys) takes lane 0 and waits
// there for its on-failure disposal, held here by the destination; the other lane's records
// behind it are delivered meanwhile, but the partition's commit stays at the range's first
// offset until the range is disposed of. (A tracker that ignored ranges would commit 6, past the
// undisposed range 2-5, as soon as 0, 1 and 7 were delivered.)
static void test_lanes_gap_holds_commit(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    struct fdest d = {.hold = true};
    d.timer = net_timer_new(h.r, fdest_fire, &d);
    h.cfg.dest = (struct esm_dest){fdest_send, fdest_cancel, &d};
    h.cfg.batch.batch_size = 10;
    h.cfg.batch.lanes = 2; // null keys: even offsets in lane 0, odd ones in lane 1
    h_start(&h);
    add_range(&h, 0, 0, 2, g_wall);
    assert_int_equal(esm_pipeline_add_gap(h.pl, "t", 0, 2, 5, -1, false), 0);
    add_range(&h, 0, 6, 10, g_wall);
    for (int i = 0; i < 200 && (d.sends == 0 || h.f.num_ok < 4); i++) {
        net_reactor_run_for(h.r, 5);
    }
    assert_int_equal(d.sends, 1); // the range's disposal is under way (held)
    bool seen7 = false, seen9 = false;
    for (size_t i = 0; i < h.f.num_ok; i++) {
        seen7 = seen7 || h.f.ok_off[i] == 7;
        seen9 = seen9 || h.f.ok_off[i] == 9;
        assert_true(h.f.ok_off[i] != 6 && h.f.ok_off[i] != 8); // lane 0 waits behind the range
    }
    assert_true(seen7 && seen9); // lane 1 went on
    net_reactor_run_for(h.r, 30);
    assert_int_equal(h.s.acked[0], 2); // never past the range while it is not disposed of
    struct esm_pipeline_part_info pi;
    assert_true(esm_pipeline_part_info(h.pl, "t", 0, &pi));
    assert_int_equal(pi.lane_oldest[0], 2);  // the range ...
    assert_int_equal(pi.lane_pending[0], 6); // ... (4 offsets), then 6 and 8 behind it
    assert_int_equal(pi.lane_pending[1], 0);
    d.hold = false;
    net_timer_arm(d.timer, 0);
    run_until(&h, idle, 3000);
    assert_int_equal(h.s.acked[0], 10);
    assert_int_equal(h.f.num_ok, 6); // 0, 1, 6, 7, 8, 9
    for (size_t i = 0; i < d.num; i++) {
        cJSON_Delete(d.values[i]);
    }
    net_timer_free(d.timer);
    h_free(&h);
}

static void test_revoke_waits(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.f.hold = true;
    h_start(&h);
    add_range(&h, 0, 0, 3, g_wall);
    add_range(&h, 1, 0, 3, g_wall);
    net_reactor_run_for(h.r, 10);
    struct esm_tp tps[] = {{"t", 0}, {"t", 1}};
    esm_pipeline_revoke(h.pl, tps, 2, 5000, on_done, &h.s);
    net_reactor_run_for(h.r, 30);
    assert_int_equal(h.s.done_calls, 0); // waits for the batch being delivered
    h.f.hold = false;
    net_timer_arm(h.f.timer, 0);
    for (int i = 0; i < 40 && h.s.done_calls == 0; i++) {
        net_reactor_run_for(h.r, 5);
    }
    assert_int_equal(h.s.done_calls, 1);
    assert_int_equal(h.s.acked[0], 3); // its success was still acknowledged
    // after the revoke, the same partition may start again from an earlier offset
    h.s.acked[0] = -1;
    add_range(&h, 0, 1, 3, g_wall);
    run_until(&h, idle, 2000);
    assert_int_equal(h.f.num_ok, 8);
    h_free(&h);
}

static void test_revoke_timeout(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.f.hold = true;
    h_start(&h);
    add_range(&h, 0, 0, 3, g_wall);
    net_reactor_run_for(h.r, 10);
    struct esm_tp tps[] = {{"t", 0}};
    esm_pipeline_revoke(h.pl, tps, 1, 50, on_done, &h.s);
    for (int i = 0; i < 60 && h.s.done_calls == 0; i++) {
        net_reactor_run_for(h.r, 5);
    }
    assert_int_equal(h.s.done_calls, 1);
    assert_int_equal(h.s.num_hist, 0); // cancelled: nothing acked
    assert_true(idle(&h));
    h_free(&h);
}

// An incremental (cooperative) revoke of one partition must not abandon a batch that also holds
// a partition the member keeps: dropping it would lose the kept partition's records, and its
// next batch would be acknowledged past them.
static void test_partial_revoke_keeps_mixed_batch(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.f.mode = MODE_FAIL_FIRST;
    h.f.fail_n = 1;
    h.cfg.backoff_initial_ms = 150; // the batch waits in its retry when the revoke comes
    h.cfg.backoff_max_ms = 150;
    h.cfg.batch.window_ms = 30; // both partitions in one batch
    h_start(&h);
    add_range(&h, 0, 0, 3, g_wall);
    add_range(&h, 1, 0, 3, g_wall);
    for (int i = 0; i < 40 && h.f.num_calls == 0; i++) {
        net_reactor_run_for(h.r, 5);
    }
    assert_int_equal(h.f.num_calls, 1);
    size_t in_p1 = 0;
    for (size_t i = 0; i < h.f.calls[0].n; i++) {
        in_p1 += h.f.calls[0].part[i] == 1;
    }
    assert_int_equal(in_p1, 3); // one batch of both partitions
    assert_int_equal(h.f.calls[0].n, 6);
    struct esm_tp tps[] = {{"t", 1}};
    esm_pipeline_revoke(h.pl, tps, 1, 5000, on_done, &h.s);
    for (int i = 0; i < 40 && h.s.done_calls == 0; i++) {
        net_reactor_run_for(h.r, 5);
    }
    assert_int_equal(h.s.done_calls, 1); // nothing of partition 1 alone to wait for
    for (int i = 0; i < 100 && h.s.acked[0] != 3; i++) {
        net_reactor_run_for(h.r, 5);
    }
    assert_int_equal(h.f.num_calls, 2); // the retry went out
    assert_int_equal(h.s.acked[0], 3);  // the kept partition's records were delivered
    add_range(&h, 0, 3, 5, g_wall);
    run_until(&h, idle, 2000);
    assert_int_equal(h.s.acked[0], 5);
    h_free(&h);
}

static void test_drain_abandons_retries(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.f.mode = MODE_FAIL_FIRST;
    h.f.fail_n = 1000;
    h.cfg.backoff_initial_ms = 10000; // the retry waits long
    h.cfg.backoff_max_ms = 10000;
    h_start(&h);
    add_range(&h, 0, 0, 3, g_wall);
    net_reactor_run_for(h.r, 20);
    assert_int_equal(h.f.num_calls, 1);
    esm_pipeline_drain(h.pl, 5000, on_done, &h.s);
    for (int i = 0; i < 20 && h.s.done_calls == 0; i++) {
        net_reactor_run_for(h.r, 5);
    }
    assert_int_equal(h.s.done_calls, 1);
    assert_true(h.s.paused[0]);
    assert_int_equal(h.s.num_hist, 0);
    add_range(&h, 0, 3, 5, g_wall); // ignored after drain
    assert_true(idle(&h));
    h_free(&h);
}

// ---- FilterCriteria -----------------------------------------------------------------------

static struct esm_filter *h_filter(struct h *h, const char *pattern)
{
    char why[200];
    const char *pats[1] = {pattern};
    struct esm_filter *f = esm_filter_new(pats, 1, NULL, why, sizeof why);
    assert_non_null(f);
    h->cfg.filter = f;
    return f;
}

static bool acked_p0_10(struct h *h)
{
    return h->s.acked[0] == 10;
}

// Filtered records at the start, in the middle and at the end of a partition's stream: only the
// others are invoked, and the acknowledgement reaches the end once they are done.
static void test_filter_start_middle_end(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    struct esm_filter *f = h_filter(&h, "{\"offset\":[{\"anything-but\":[0,1,5,8,9]}]}");
    h_start(&h);
    add_range(&h, 0, 0, 10, g_wall);
    run_until(&h, acked_p0_10, 2000);
    run_until(&h, idle, 2000);
    assert_int_equal(h.f.num_ok, 5);
    const int64_t want[] = {2, 3, 4, 6, 7};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(h.f.ok_off[i], want[i]);
    }
    // the batch (2..7) first, then the filtered tail; never past a record not yet done
    assert_int_equal(h.s.num_hist, 2);
    assert_int_equal(h.s.ack_hist[0], 8);
    assert_int_equal(h.s.ack_hist[1], 10);
    struct esm_pipeline_stats st;
    esm_pipeline_stats(h.pl, &st);
    assert_int_equal(st.records_filtered, 5);
    assert_int_equal(st.records_in, 5);
    assert_int_equal(st.records_ok, 5);
    h_free(&h);
    esm_filter_free(f);
}

// A fetch filtered out entirely: no invocation, and the acknowledgement moves at once.
static void test_filter_whole_fetch(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    struct esm_filter *f = h_filter(&h, "{\"partition\":[3]}");
    h_start(&h);
    add_range(&h, 0, 0, 10, g_wall);
    assert_int_equal(h.s.acked[0], 10); // during the add: nothing was outstanding
    assert_int_equal(h.s.num_hist, 1);
    add_range(&h, 0, 10, 12, g_wall);
    assert_int_equal(h.s.acked[0], 12);
    net_reactor_run_for(h.r, 20);
    assert_int_equal(h.f.num_calls, 0);
    struct esm_pipeline_stats st;
    esm_pipeline_stats(h.pl, &st);
    assert_int_equal(st.records_filtered, 12);
    assert_int_equal(st.records_in, 0);
    assert_int_equal(st.invocations, 0);
    h_free(&h);
    esm_filter_free(f);
}

static bool acked_p0_6(struct h *h)
{
    return h->s.acked[0] == 6;
}

// Shutdown while a batch is in flight with filtered records behind it: the batch's success is
// acknowledged during the drain, and so are the filtered records after it.
static void test_filter_drain_acks_behind_success(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    struct esm_filter *f = h_filter(&h, "{\"offset\":[{\"numeric\":[\"<\",3]}]}");
    h_start(&h);
    h.f.hold = true;
    add_range(&h, 0, 0, 3, g_wall);
    net_reactor_run_for(h.r, 10);
    add_range(&h, 0, 3, 6, g_wall); // filtered
    esm_pipeline_drain(h.pl, 5000, on_done, &h.s);
    net_reactor_run_for(h.r, 10);
    assert_int_equal(h.s.acked[0], -1);
    h.f.hold = false;
    net_timer_arm(h.f.timer, 0);
    for (int i = 0; i < 40 && h.s.done_calls == 0; i++) {
        net_reactor_run_for(h.r, 5);
    }
    assert_int_equal(h.s.done_calls, 1);
    assert_int_equal(h.s.num_hist, 2);
    assert_int_equal(h.s.ack_hist[0], 3);
    assert_int_equal(h.s.ack_hist[1], 6);
    h_free(&h);
    esm_filter_free(f);
}

static void add_offsets(struct h *h, int32_t part, const int64_t *offs, size_t n, int64_t ts)
{
    struct inv_record recs[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        snprintf(g_val[i], sizeof g_val[i], "v%d-%lld", part, (long long)offs[i]);
        recs[i] = (struct inv_record){"t",
                                      1,
                                      part,
                                      offs[i],
                                      ts,
                                      INV_TS_CREATE_TIME,
                                      inv_bytes_null(),
                                      inv_bytes_of(g_val[i], strlen(g_val[i])),
                                      NULL,
                                      0,
                                      NULL,
                                      NULL,
                                      NULL};
    }
    assert_int_equal(esm_pipeline_add(h->pl, recs, n), 0);
}

// After a revoke the partition may be assigned again: a late success of the revoked batch says
// nothing about the new assignment's records, so it must not release filtered records that wait
// for one of them.
static void test_filter_revoked_job_releases_nothing(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.f.mode = MODE_FAIL_OFFSET; // offset 5 fails every time (infinite retries)
    h.f.fail_offset = 5;
    struct esm_filter *f = h_filter(&h, "{\"timestamp\":[{\"numeric\":[\"<\",100]}]}");
    h_start(&h);
    h.f.hold = true;
    const int64_t old[] = {3, 4, 6}; // a compacted stream: no 5
    add_offsets(&h, 0, old, 3, 1);
    net_reactor_run_for(h.r, 10);
    struct esm_tp tps[] = {{"t", 0}};
    esm_pipeline_revoke(h.pl, tps, 1, 5000, on_done, &h.s);
    // assigned again from offset 5: 5 is kept (and keeps failing), 6..9 are filtered
    const int64_t again[] = {5};
    add_offsets(&h, 0, again, 1, 1);
    add_range(&h, 0, 6, 10, 1000);
    h.f.hold = false;
    net_timer_arm(h.f.timer, 0);
    net_reactor_run_for(h.r, 100);
    assert_int_equal(h.s.done_calls, 1);
    assert_true(h.f.num_calls >= 2);   // the new batch was tried and failed
    assert_int_equal(h.s.num_hist, 1); // only the revoked batch's own acknowledgement
    assert_int_equal(h.s.acked[0], 7); // nothing past offset 5, which is not done
    h_free(&h);
    esm_filter_free(f);
}

// Filtered records behind an in-flight batch and a queued record of the same partition wait for
// both; another partition's filtered records do not wait for them.
static void test_filter_waits_for_inflight(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    struct esm_filter *f = h_filter(&h, "{\"partition\":[0],\"offset\":[{\"numeric\":[\"<\",4]}]}");
    h_start(&h);
    h.f.hold = true;
    add_range(&h, 0, 0, 3, g_wall); // in flight (held)
    net_reactor_run_for(h.r, 10);
    add_range(&h, 0, 3, 4, g_wall); // queued behind it
    add_range(&h, 0, 4, 6, g_wall); // filtered
    add_range(&h, 1, 0, 5, g_wall); // another partition, all filtered
    net_reactor_run_for(h.r, 20);
    assert_int_equal(h.s.acked[0], -1); // nothing past the batch being delivered
    assert_int_equal(h.s.acked[1], 5);  // not held up by partition 0
    h.f.hold = false;
    net_timer_arm(h.f.timer, 0);
    run_until(&h, acked_p0_6, 2000);
    run_until(&h, idle, 2000);
    assert_int_equal(h.f.num_calls, 2);
    assert_int_equal(h.f.num_ok, 4);
    assert_int_equal(h.s.num_hist, 3);
    assert_int_equal(h.s.ack_hist[0], 3);
    assert_int_equal(h.s.ack_hist[1], 4);
    assert_int_equal(h.s.ack_hist[2], 6);
    struct esm_pipeline_stats st;
    esm_pipeline_stats(h.pl, &st);
    assert_int_equal(st.records_filtered, 7);
    h_free(&h);
    esm_filter_free(f);
}

// A filtered record behind a batch that keeps failing is never acknowledged past it; the filtered
// offset goes out once the batch is finally disposed of.
static void test_filter_behind_failing_batch(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    h.f.mode = MODE_FAIL_OFFSET;
    h.f.fail_offset = 1;
    h.cfg.max_retry_attempts = 2;
    struct esm_filter *f = h_filter(&h, "{\"offset\":[{\"numeric\":[\"<\",3]}]}");
    h_start(&h);
    h.f.hold = true;
    add_range(&h, 0, 0, 3, g_wall);
    net_reactor_run_for(h.r, 10);
    add_range(&h, 0, 3, 10, g_wall); // filtered, behind the failing batch
    assert_int_equal(h.s.acked[0], -1);
    h.f.hold = false;
    net_timer_arm(h.f.timer, 0);
    run_until(&h, acked_p0_10, 3000);
    assert_int_equal(h.f.num_calls, 3);   // first attempt + 2 retries
    assert_int_equal(h.s.ack_hist[0], 3); // disposed of, then the filtered tail
    assert_int_equal(h.s.ack_hist[1], 10);
    h_free(&h);
    esm_filter_free(f);
}

static void test_batch_records_roundtrip(void **state)
{
    (void)state;
    struct batcher_cfg cfg;
    batcher_cfg_defaults(&cfg);
    cfg.window_ms = 0;
    cfg.event.bootstrap_servers = "b{\"]:1";
    struct batcher *bt;
    assert_int_equal(batcher_new(&bt, &cfg, NULL), 0);
    struct inv_header hd[2] = {{"n{[\"\\", 5, inv_bytes_of("}]", 2)}, {"e", 1, inv_bytes_null()}};
    for (int i = 0; i < 6; i++) {
        struct inv_record r = {"t.x",
                               3,
                               i % 2,
                               i,
                               1000 + i,
                               INV_TS_CREATE_TIME,
                               i == 2 ? inv_bytes_null() : inv_bytes_of("k", 1),
                               inv_bytes_of("{\"v\":1}", 7),
                               hd,
                               2,
                               NULL,
                               NULL,
                               NULL};
        r.offset = i / 2;
        assert_int_equal(batcher_add(bt, &r, 0, NULL), 0);
    }
    struct batch *b = batcher_next(bt, 0);
    assert_non_null(b);
    // The batcher's record spans are the payload's record objects: each parses on its own, with
    // the record's offset, timestamp and key (base64 of the bytes kept in b->keys).
    for (size_t i = 0; i < b->num_records; i++) {
        const struct batch_rec *r = &b->recs[i];
        assert_true(r->start + r->len <= b->payload_len);
        assert_int_equal(b->payload[r->start], '{');
        assert_int_equal(b->payload[r->start + r->len - 1], '}');
        char *one = strndup(b->payload + r->start, r->len);
        cJSON *o = cJSON_Parse(one);
        assert_non_null(o);
        assert_int_equal((int64_t)cJSON_GetObjectItem(o, "offset")->valuedouble, b->offsets[i]);
        assert_int_equal((int64_t)cJSON_GetObjectItem(o, "timestamp")->valuedouble, r->timestamp);
        const cJSON *key = cJSON_GetObjectItem(o, "key");
        if (r->key_null) {
            assert_true(key == NULL || cJSON_IsNull(key));
        } else {
            assert_int_equal(r->key_len, 1);
            assert_memory_equal(b->keys + r->key_off, "k", 1);
            assert_string_equal(key->valuestring, "aw==");
        }
        cJSON_Delete(o);
        free(one);
    }
    size_t all[6] = {0, 1, 2, 3, 4, 5}, len;
    char *again = pl_subpayload(b, &cfg.event, all, b->num_records, &len);
    assert_int_equal(len, b->payload_len);
    assert_memory_equal(again, b->payload, len);
    free(again);
    assert_int_equal(b->recs[0].timestamp, 1000);
    size_t nulls = 0;
    for (size_t i = 0; i < b->num_records; i++) {
        nulls += b->recs[i].key_null;
    }
    assert_int_equal(nulls, 1); // record 2 of the six
    size_t one[1] = {4};
    char *sub = pl_subpayload(b, &cfg.event, one, 1, &len);
    cJSON *j = cJSON_Parse(sub);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "records")), 1);
    cJSON_Delete(j);
    free(sub);
    batcher_complete(bt, b, 0, NULL);
    batcher_free(bt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_ok),
        cmocka_unit_test(test_retry_until_success),
        cmocka_unit_test(test_transport_errors_reported),
        cmocka_unit_test(test_retries_exhausted_to_dir),
        cmocka_unit_test(test_infinite_retries_capped_with_destination),
        cmocka_unit_test(test_bisect_narrows),
        cmocka_unit_test(test_partial_response),
        cmocka_unit_test(test_partial_unknown_id),
        cmocka_unit_test(test_record_age),
        cmocka_unit_test(test_undecodable_range),
        cmocka_unit_test(test_too_large_splits),
        cmocka_unit_test(test_payload_cap),
        cmocka_unit_test(test_oversized_record),
        cmocka_unit_test(test_async_destination),
        cmocka_unit_test(test_fatal_stops),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_concurrency_per_partition),
        cmocka_unit_test(test_backpressure_bytes),
        cmocka_unit_test(test_lanes_key_order),
        cmocka_unit_test(test_lanes_commit_lowest_unfinished),
        cmocka_unit_test(test_lanes_gap_holds_commit),
        cmocka_unit_test(test_revoke_waits),
        cmocka_unit_test(test_revoke_timeout),
        cmocka_unit_test(test_partial_revoke_keeps_mixed_batch),
        cmocka_unit_test(test_drain_abandons_retries),
        cmocka_unit_test(test_filter_start_middle_end),
        cmocka_unit_test(test_filter_whole_fetch),
        cmocka_unit_test(test_filter_waits_for_inflight),
        cmocka_unit_test(test_filter_behind_failing_batch),
        cmocka_unit_test(test_filter_drain_acks_behind_success),
        cmocka_unit_test(test_filter_revoked_job_releases_nothing),
        cmocka_unit_test(test_batch_records_roundtrip),
    };
    return cmocka_run_group_tests_name("pipeline", tests, NULL, NULL);
}
