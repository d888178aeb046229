// test_esm_status.c: the status tracker (esm/status.h) on a manager with a test-double runner and
// a fake clock: stuck detection (the threshold, every cause in its order, recovery, lag that comes
// and goes), the LastProcessingResult problem and kesm_partition_stuck, throughput and latency
// samples and their bounded ring, recent errors from log lines (levels, mapping, repeats,
// sanitising, the bound), the JSON document, the Host header check, and the terminal view.
#include "esm/mapping.h"
#include "esm/metrics.h"
#include "esm/status.h"
#include "esm/status_http.h"
#include "esm/status_view.h"
#include "tests/lib/unit.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

// ---- a fake runner whose one mapping reports what the test says ------------------------------

struct fake {
    struct esm_manager *mgr;
    struct esm_mapping *m;
    int64_t now; // the fake clock (ms), both monotonic and wall (+ an epoch offset)
    // what the runner reports for its one partition "t-0"
    int64_t processed, lag, committed, hw;
    bool paused;
    uint32_t inflight;
    uint64_t fn_errors, retryable, dest_errors, conn_errors, ready, backoff, records_ok;
    struct esm_hist hist;
};

static void f_start(void *impl, struct esm_mapping *m)
{
    struct fake *f = impl;
    f->m = m;
    esm_manager_on_running(f->mgr, m);
}

static void f_noop(void *impl, struct esm_mapping *m)
{
    (void)impl;
    (void)m;
}

static void f_stop(void *impl, struct esm_mapping *m)
{
    struct fake *f = impl;
    esm_manager_on_stopped(f->mgr, m, ESM_REASON_USER_INITIATED, NULL);
}

static void f_free(void *impl)
{
    (void)impl;
}

static const struct esm_runner_ops fake_ops = {"fake", f_start, f_noop, f_stop, f_free};

static void f_metrics(void *impl, struct esm_mapping *m, struct esm_metrics_mapping *out)
{
    struct fake *f = impl;
    (void)m;
    out->running = true;
    out->invocations[ESM_OUTCOME_FUNCTION_ERROR] = f->fn_errors;
    out->invocations[ESM_OUTCOME_RETRYABLE] = f->retryable;
    out->dest_errors = f->dest_errors;
    out->conn_errors = f->conn_errors;
    out->connections[ESM_CONN_READY] = f->ready;
    out->connections[ESM_CONN_BACKOFF] = f->backoff;
    out->records_ok = f->records_ok;
    out->invoke_seconds = f->hist;
    out->num_parts = 1;
    out->parts = calloc(1, sizeof *out->parts);
    struct esm_metrics_part *p = &out->parts[0];
    p->topic = strdup("t");
    p->partition = 0;
    p->processed = f->processed;
    p->lag = f->lag;
    p->committed = f->committed;
    p->high_watermark = f->hw;
    p->paused = f->paused;
    p->inflight = f->inflight;
    p->last_delivery_ms = -1;
}

static int64_t mono(void *ctx)
{
    return ((struct fake *)ctx)->now;
}

static int64_t wall(void *ctx)
{
    return ((struct fake *)ctx)->now + 1795000000000LL;
}

static void quiet(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

static const char *CREATE = "{\"FunctionName\":\"f\",\"Topics\":[\"t\"],\"SelfManagedEventSource\":"
                            "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b:1\"]}},"
                            "\"SourceAccessConfigurations\":[{\"Type\":\"BASIC_AUTH\","
                            "\"URI\":\"file:///run/secret-sasl-file\"}]}";

static struct esm_status *setup(struct fake *f, uint32_t stuck_s, char uuid[37])
{
    memset(f, 0, sizeof *f);
    f->ready = 1;
    f->committed = -1;
    f->hw = 10;
    struct esm_manager_config mc = {0};
    mc.log = quiet;
    f->mgr = esm_manager_new(&mc);
    esm_manager_set_runner(f->mgr, (struct esm_runner){&fake_ops, f});
    esm_manager_set_runner_metrics(f->mgr, f_metrics);
    cJSON *req = cJSON_Parse(CREATE);
    struct esm_op_result r;
    esm_manager_create(f->mgr, req, &r);
    cJSON_Delete(req);
    assert_int_equal(r.status, ESM_OP_OK);
    snprintf(uuid, 37, "%s", cJSON_GetObjectItem(r.body, "UUID")->valuestring);
    cJSON_Delete(r.body);
    struct esm_status_config sc = {stuck_s, "9.9.9", mono, wall, f};
    struct esm_status *st = esm_status_new(f->mgr, &sc);
    assert_non_null(st);
    return st;
}

static void teardown(struct fake *f, struct esm_status *st)
{
    esm_status_free(st);
    esm_manager_free(f->mgr);
}

// result returns the mapping's LastProcessingResult as GetEventSourceMapping shows it.
static char *result(struct fake *f, const char *uuid)
{
    struct esm_op_result r;
    esm_manager_get(f->mgr, uuid, &r);
    assert_int_equal(r.status, ESM_OP_OK);
    char *s = strdup(cJSON_GetObjectItem(r.body, "LastProcessingResult")->valuestring);
    cJSON_Delete(r.body);
    return s;
}

static bool stuck_metric(struct fake *f)
{
    struct esm_metrics_mapping *maps;
    size_t n;
    assert_int_equal(esm_manager_metrics(f->mgr, &maps, &n), 0);
    assert_int_equal(n, 1);
    bool s = maps[0].num_parts == 1 && maps[0].parts[0].stuck;
    size_t len;
    static const char *const states[] = {"Enabled"};
    char *text = esm_metrics_format(maps, n, states, 1, &len);
    assert_non_null(text);
    // the exposition agrees with the snapshot
    const char *line = strstr(text, "\nkesm_partition_stuck{");
    assert_non_null(line);
    const char *eol = strchr(line + 1, '\n');
    assert_non_null(eol);
    assert_int_equal(strncmp(eol - 3, s ? "} 1" : "} 0", 3), 0);
    free(text);
    esm_metrics_mapping_cleanup(&maps[0]);
    free(maps);
    return s;
}

// tick_at moves the clock to |ms| and ticks.
static void tick_at(struct fake *f, struct esm_status *st, int64_t ms)
{
    f->now = ms;
    esm_status_tick(st);
}

// ---- stuck detection ----------------------------------------------------------------------

static void test_stuck_function_failing_and_recovery(void **state)
{
    (void)state;
    struct fake f;
    char uuid[37];
    struct esm_status *st = setup(&f, 3, uuid);
    esm_manager_on_result(f.mgr, f.m, "OK");
    f.processed = 0;
    f.lag = 5;
    f.inflight = 1;
    tick_at(&f, st, 0);
    f.fn_errors = 2;
    tick_at(&f, st, 1000);
    tick_at(&f, st, 2999);
    char *r = result(&f, uuid);
    assert_string_equal(r, "OK"); // not yet: under 3 s without progress
    free(r);
    assert_false(stuck_metric(&f));
    tick_at(&f, st, 3000);
    r = result(&f, uuid);
    assert_string_equal(r, "PROBLEM: Stuck partition t-0 at offset 0: no progress for 3 s or more "
                           "with records waiting (function failing)");
    free(r);
    assert_true(stuck_metric(&f));
    // the JSON says so too
    size_t len;
    char *j = esm_status_json(st, &len);
    cJSON *doc = cJSON_Parse(j);
    cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "EventSourceMappings"), 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(m, "Stuck")));
    cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "Partitions"), 0);
    assert_string_equal(cJSON_GetObjectItem(p, "StuckCause")->valuestring, "function failing");
    assert_int_equal(cJSON_GetObjectItem(p, "StuckSeconds")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "Summary"), "Stuck")->valueint,
                     1);
    cJSON_Delete(doc);
    free(j);
    // the function recovers: the offset moves, the problem goes, the pipeline's result is back
    f.processed = 3;
    f.lag = 2;
    tick_at(&f, st, 4000);
    r = result(&f, uuid);
    assert_string_equal(r, "OK");
    free(r);
    assert_false(stuck_metric(&f));
    teardown(&f, st);
}

// cause_after runs one partition into being stuck after |change| altered the fake and returns
// the cause the JSON names.
static char *cause_after(void (*change)(struct fake *))
{
    struct fake f;
    char uuid[37];
    struct esm_status *st = setup(&f, 1, uuid);
    f.processed = 7;
    f.lag = 1;
    tick_at(&f, st, 0);
    change(&f);
    tick_at(&f, st, 1500);
    size_t len;
    char *j = esm_status_json(st, &len);
    cJSON *doc = cJSON_Parse(j);
    cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "EventSourceMappings"), 0);
    cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "Partitions"), 0);
    cJSON *c = cJSON_GetObjectItem(p, "StuckCause");
    char *out = strdup(cJSON_IsString(c) ? c->valuestring : "(none)");
    cJSON_Delete(doc);
    free(j);
    teardown(&f, st);
    return out;
}

static void c_all(struct fake *f)
{
    f->dest_errors = 1;
    f->fn_errors = 1;
    f->retryable = 1;
    f->conn_errors = 1;
    f->paused = true;
}
static void c_fn(struct fake *f)
{
    f->fn_errors = 3;
    f->retryable = 1;
    f->conn_errors = 1;
}
static void c_unreach(struct fake *f)
{
    f->retryable = 1;
    f->conn_errors = 1;
}
static void c_conn(struct fake *f)
{
    f->conn_errors = 1;
    f->paused = true;
}
static void c_ready(struct fake *f)
{
    f->ready = 0;
}
static void c_backoff(struct fake *f)
{
    f->backoff = 1;
    f->paused = true;
}
static void c_paused(struct fake *f)
{
    f->paused = true;
    f->inflight = 1;
}
static void c_inflight(struct fake *f)
{
    f->inflight = 1;
}
static void c_nothing(struct fake *f)
{
    (void)f;
}

static void test_stuck_causes_in_order(void **state)
{
    (void)state;
    struct {
        void (*change)(struct fake *);
        const char *want;
    } cases[] = {
        {c_all, "destination down"},          {c_fn, "function failing"},
        {c_unreach, "function unreachable"},  {c_conn, "broker unreachable"},
        {c_ready, "broker unreachable"},      {c_backoff, "broker unreachable"},
        {c_paused, "paused by backpressure"}, {c_inflight, "waiting for the function"},
        {c_nothing, "no progress"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = cause_after(cases[i].change);
        if (strcmp(got, cases[i].want) != 0) {
            fail_msg("case %zu: cause '%s', want '%s'", i, got, cases[i].want);
        }
        free(got);
    }
}

static void test_no_lag_is_never_stuck(void **state)
{
    (void)state;
    struct fake f;
    char uuid[37];
    struct esm_status *st = setup(&f, 2, uuid);
    f.processed = 9;
    f.lag = 0;
    for (int64_t t = 0; t <= 60000; t += 1000) {
        tick_at(&f, st, t);
    }
    assert_false(stuck_metric(&f));
    // records arrive after 60 s: the clock starts at the last tick that saw no lag (60 s), not
    // at the last move (0 s)
    f.lag = 4;
    tick_at(&f, st, 61000);
    tick_at(&f, st, 61999);
    assert_false(stuck_metric(&f));
    tick_at(&f, st, 62000);
    assert_true(stuck_metric(&f));
    // an unknown lag (-1) is no proof of anything: the partition is not stuck
    f.lag = -1;
    tick_at(&f, st, 64000);
    assert_false(stuck_metric(&f));
    teardown(&f, st);
}

static void test_stopped_mapping_drops_problem(void **state)
{
    (void)state;
    struct fake f;
    char uuid[37];
    struct esm_status *st = setup(&f, 1, uuid);
    f.processed = 0;
    f.lag = 3;
    tick_at(&f, st, 0);
    tick_at(&f, st, 1000);
    char *r = result(&f, uuid);
    assert_non_null(strstr(r, "PROBLEM: Stuck partition t-0"));
    free(r);
    // disable the mapping: the runner stops it, the stuck problem is gone with it
    cJSON *upd = cJSON_Parse("{\"Enabled\":false}");
    struct esm_op_result res;
    esm_manager_update(f.mgr, uuid, upd, &res);
    cJSON_Delete(upd);
    cJSON_Delete(res.body);
    r = result(&f, uuid);
    assert_null(strstr(r, "Stuck"));
    free(r);
    tick_at(&f, st, 2000);
    teardown(&f, st);
}

// ---- samples ------------------------------------------------------------------------------

static void test_samples_and_bounded_ring(void **state)
{
    (void)state;
    struct fake f;
    char uuid[37];
    struct esm_status *st = setup(&f, 300, uuid);
    tick_at(&f, st, 0);
    // 10 s: 100 records, 4 invocations of 20 ms and one of 2 s
    f.records_ok = 100;
    for (int i = 0; i < 4; i++) {
        esm_hist_observe(&f.hist, &esm_invoke_seconds_bounds, 0.02);
    }
    esm_hist_observe(&f.hist, &esm_invoke_seconds_bounds, 2.0);
    tick_at(&f, st, 10000);
    size_t len;
    char *j = esm_status_json(st, &len);
    cJSON *doc = cJSON_Parse(j);
    cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "EventSourceMappings"), 0);
    cJSON *tp = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "Throughput"), "Values");
    cJSON *mean = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "InvokeLatency"), "Mean");
    cJSON *p95 = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "InvokeLatency"), "P95");
    assert_int_equal(cJSON_GetArraySize(tp), 1);
    assert_true(cJSON_GetArrayItem(tp, 0)->valuedouble == 10.0);
    assert_true(cJSON_GetArrayItem(mean, 0)->valuedouble == 416.0); // (4 * 20 + 2000) / 5
    assert_true(cJSON_GetArrayItem(p95, 0)->valuedouble == 2500.0); // the 2.5 s bucket
    cJSON_Delete(doc);
    free(j);
    // an interval without invocations has no latency (null), and the ring keeps 90 intervals
    for (int i = 2; i <= 200; i++) {
        tick_at(&f, st, (int64_t)i * 10000);
    }
    f.now += 5000; // half an interval in progress: one more value
    j = esm_status_json(st, &len);
    doc = cJSON_Parse(j);
    m = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "EventSourceMappings"), 0);
    tp = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "Throughput"), "Values");
    mean = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "InvokeLatency"), "Mean");
    assert_int_equal(cJSON_GetArraySize(tp), ESM_STATUS_SAMPLES + 1);
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(mean, 0)));
    assert_true(cJSON_GetArrayItem(tp, 0)->valuedouble == 0.0);
    cJSON_Delete(doc);
    free(j);
    // counters restarting from zero (a restarted mapping) count as new, not negative
    f.records_ok = 30;
    tick_at(&f, st, 2020000);
    j = esm_status_json(st, &len);
    doc = cJSON_Parse(j);
    m = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "EventSourceMappings"), 0);
    tp = cJSON_GetObjectItem(cJSON_GetObjectItem(m, "Throughput"), "Values");
    assert_true(cJSON_GetArrayItem(tp, ESM_STATUS_SAMPLES - 1)->valuedouble >= 0);
    cJSON_Delete(doc);
    free(j);
    teardown(&f, st);
}

// ---- recent errors ------------------------------------------------------------------------

static cJSON *errors_of(struct esm_status *st, cJSON **doc)
{
    size_t len;
    char *j = esm_status_json(st, &len);
    *doc = cJSON_Parse(j);
    free(j);
    return cJSON_GetObjectItem(*doc, "RecentErrors");
}

static void test_recent_errors(void **state)
{
    (void)state;
    struct fake f;
    char uuid[37];
    struct esm_status *st = setup(&f, 300, uuid);
    esm_status_note_log_line(st, "2026-12-01T10:00:00.000Z INFO esm nothing to see");
    esm_status_note_log_line(st, "2026-12-01T10:00:01.250Z WARN consumer mapping=0f4d2c1a-1111-"
                                 "4222-8333-944455556666 group g: broker 1 is down");
    esm_status_note_log_line(st, "2026-12-01T10:00:02.000Z WARN consumer mapping=0f4d2c1a-1111-"
                                 "4222-8333-944455556666 group g: broker 1 is down");
    esm_status_note_log_line(st, "2026-12-01T10:00:03.000Z ERROR esm bad \x1b[31mred\x07 \xff\xfe "
                                 "caf\xc3\xa9");
    cJSON *doc;
    cJSON *e = errors_of(st, &doc);
    assert_int_equal(cJSON_GetArraySize(e), 2);
    cJSON *a = cJSON_GetArrayItem(e, 0);
    assert_string_equal(cJSON_GetObjectItem(a, "Level")->valuestring, "WARN");
    assert_string_equal(cJSON_GetObjectItem(a, "Mapping")->valuestring,
                        "0f4d2c1a-1111-4222-8333-944455556666");
    assert_string_equal(cJSON_GetObjectItem(a, "Message")->valuestring,
                        "consumer group g: broker 1 is down");
    assert_int_equal(cJSON_GetObjectItem(a, "Count")->valueint, 2);
    assert_string_equal(cJSON_GetObjectItem(a, "Time")->valuestring, "2026-12-01T10:00:02.000Z");
    cJSON *b = cJSON_GetArrayItem(e, 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(b, "Mapping")));
    // escape and bell become spaces, invalid UTF-8 '?', valid UTF-8 stays
    assert_string_equal(cJSON_GetObjectItem(b, "Message")->valuestring,
                        "esm bad  [31mred  ?? caf\xc3\xa9");
    cJSON_Delete(doc);
    // bounded: 50 entries of at most 300 bytes
    char line[2000];
    for (int i = 0; i < 120; i++) {
        int n = snprintf(line, sizeof line, "2026-12-01T10:00:04.000Z ERROR x %d ", i);
        memset(line + n, 'y', 900);
        line[n + 900] = '\0';
        esm_status_note_log_line(st, line);
    }
    e = errors_of(st, &doc);
    assert_int_equal(cJSON_GetArraySize(e), ESM_STATUS_ERRORS);
    const char *msg =
        cJSON_GetObjectItem(cJSON_GetArrayItem(e, ESM_STATUS_ERRORS - 1), "Message")->valuestring;
    assert_int_equal(strncmp(msg, "x 119 ", 6), 0);
    assert_int_equal(strlen(msg), ESM_STATUS_ERROR_LEN);
    cJSON_Delete(doc);
    teardown(&f, st);
}

static void test_sanitize_cuts_on_characters(void **state)
{
    (void)state;
    char out[6];
    // "ab" + é (2 bytes) + € (3 bytes): only what fits whole
    assert_string_equal(esm_status_sanitize(out, sizeof out, "ab\xc3\xa9\xe2\x82\xac"),
                        "ab\xc3\xa9");
    assert_string_equal(esm_status_sanitize(out, sizeof out, "\xe2\x82"), "??");
    assert_string_equal(esm_status_sanitize(out, sizeof out, "a\nb\rc"), "a b c");
}

// ---- the JSON document --------------------------------------------------------------------

static void test_json_document(void **state)
{
    (void)state;
    struct fake f;
    char uuid[37];
    struct esm_status *st = setup(&f, 42, uuid);
    f.processed = 5;
    f.lag = 5;
    f.hw = 10;
    f.committed = 5;
    tick_at(&f, st, 0);
    size_t len;
    char *j = esm_status_json(st, &len);
    assert_int_equal(strlen(j), len);
    // the request's secret URI never appears: only the ARN and the topic of the request do
    assert_null(strstr(j, "secret-sasl-file"));
    assert_null(strstr(j, "b:1"));
    cJSON *doc = cJSON_Parse(j);
    cJSON *k = cJSON_GetObjectItem(doc, "Kesm");
    assert_string_equal(cJSON_GetObjectItem(k, "Version")->valuestring, "9.9.9");
    assert_int_equal(cJSON_GetObjectItem(k, "StuckAfterSeconds")->valueint, 42);
    assert_int_equal(cJSON_GetObjectItem(k, "WindowSeconds")->valueint, 900);
    assert_string_equal(cJSON_GetObjectItem(k, "Time")->valuestring, "2026-11-18T11:06:40.000Z");
    cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "EventSourceMappings"), 0);
    assert_string_equal(cJSON_GetObjectItem(m, "UUID")->valuestring, uuid);
    assert_string_equal(cJSON_GetObjectItem(m, "FunctionArn")->valuestring,
                        "arn:aws:lambda:us-east-1:000000000000:function:f");
    assert_string_equal(cJSON_GetObjectItem(m, "Topic")->valuestring, "t");
    assert_string_equal(cJSON_GetObjectItem(m, "State")->valuestring, "Enabled");
    assert_string_equal(cJSON_GetObjectItem(m, "StateTransitionReason")->valuestring,
                        "USER_INITIATED");
    assert_int_equal(cJSON_GetObjectItem(m, "OffsetLag")->valueint, 5);
    cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "Partitions"), 0);
    assert_int_equal(cJSON_GetObjectItem(p, "CommittedOffset")->valueint, 5);
    assert_int_equal(cJSON_GetObjectItem(p, "HighWatermark")->valueint, 10);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(p, "LastDeliveryTime")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(p, "Stuck")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(p, "StuckCause")));
    cJSON_Delete(doc);
    free(j);
    // unknown offsets are null, not -1
    f.committed = -1;
    f.lag = -1;
    j = esm_status_json(st, &len);
    doc = cJSON_Parse(j);
    m = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "EventSourceMappings"), 0);
    p = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "Partitions"), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(p, "CommittedOffset")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(p, "OffsetLag")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(m, "OffsetLag")));
    cJSON_Delete(doc);
    free(j);
    teardown(&f, st);
}

// ---- Host header --------------------------------------------------------------------------

static void v4(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *s = (struct sockaddr_in *)ss;
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    inet_pton(AF_INET, ip, &s->sin_addr);
}

static void v6(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &s->sin6_addr);
}

static void test_host_header(void **state)
{
    (void)state;
    struct sockaddr_storage lo, lan, six, mapped, eighty;
    v4(&lo, "127.0.0.1", 9320);
    v4(&lan, "192.0.2.7", 9321);
    v6(&six, "::1", 9320);
    v6(&mapped, "::ffff:127.0.0.1", 9320);
    v4(&eighty, "127.0.0.1", 80);
    const struct sockaddr *L = (struct sockaddr *)&lo, *N = (struct sockaddr *)&lan,
                          *S = (struct sockaddr *)&six, *M = (struct sockaddr *)&mapped,
                          *E = (struct sockaddr *)&eighty;
    assert_true(esm_status_host_ok("127.0.0.1:9320", L));
    assert_true(esm_status_host_ok("localhost:9320", L));
    assert_true(esm_status_host_ok("LocalHost:9320", L));
    assert_true(esm_status_host_ok("192.0.2.7:9321", N));
    assert_true(esm_status_host_ok("[::1]:9320", S));
    assert_true(esm_status_host_ok("localhost:9320", S));
    assert_true(esm_status_host_ok("127.0.0.1:9320", M));
    assert_true(esm_status_host_ok("127.0.0.1", E));
    assert_true(esm_status_host_ok("localhost", E));
    // DNS rebinding: a name that is not the address
    assert_false(esm_status_host_ok("evil.example:9320", L));
    assert_false(esm_status_host_ok("localhost.evil.example:9320", L));
    assert_false(esm_status_host_ok("localhost:9321", N)); // localhost only on loopback
    // wrong or malformed ports and addresses
    assert_false(esm_status_host_ok("127.0.0.1:9321", L));
    assert_false(esm_status_host_ok("127.0.0.1", L));
    assert_false(esm_status_host_ok("127.0.0.1:", L));
    assert_false(esm_status_host_ok("127.0.0.1:09320", L));
    assert_false(esm_status_host_ok("127.0.0.1:+9320", L));
    assert_false(esm_status_host_ok("127.0.0.1:99999999999", L));
    assert_false(esm_status_host_ok("127.0.0.2:9320", L));
    assert_false(esm_status_host_ok("127.1:9320", L));
    assert_false(esm_status_host_ok("::1:9320", S));
    assert_false(esm_status_host_ok("[::1]9320", S));
    assert_false(esm_status_host_ok("[::1]:9320", L));
    assert_false(esm_status_host_ok("[127.0.0.1]:9320", L));
    assert_false(esm_status_host_ok("[::2]:9320", S));
    assert_false(esm_status_host_ok("", L));
    assert_false(esm_status_host_ok(NULL, L));
    assert_false(esm_status_host_ok("127.0.0.1:9320 ", L));
    char big[400];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_false(esm_status_host_ok(big, L));
}

// ---- the terminal view --------------------------------------------------------------------

static void test_view(void **state)
{
    (void)state;
    const char *doc =
        "{\"Kesm\":{\"Version\":\"1.2.3\",\"StuckAfterSeconds\":30},\"EventSourceMappings\":["
        "{\"UUID\":\"u-1\",\"FunctionArn\":\"arn:aws:lambda:r:1:function:good:live\","
        "\"Topic\":\"t\",\"State\":\"Enabled\",\"StateTransitionReason\":\"USER_INITIATED\","
        "\"LastProcessingResult\":\"OK\",\"Stuck\":false,\"OffsetLag\":0,\"Partitions\":["
        "{\"Topic\":\"t\",\"Partition\":0,\"CommittedOffset\":4,\"HighWatermark\":4,"
        "\"OffsetLag\":0,\"BatchesInFlight\":0,\"LastDeliveryTime\":\"2026-12-01T10:00:00.000Z\","
        "\"Stuck\":false}]},"
        "{\"UUID\":\"u-2\",\"FunctionArn\":\"bad\",\"Topic\":\"t\",\"State\":\"Enabled\","
        "\"LastProcessingResult\":\"PROBLEM: \\u001b[2Jgone\",\"Stuck\":true,\"OffsetLag\":7,"
        "\"Partitions\":[{\"Topic\":\"t\",\"Partition\":1,\"CommittedOffset\":null,"
        "\"OffsetLag\":7,\"Stuck\":true,\"StuckSeconds\":31,\"StuckCause\":\"function failing\"}]}"
        "]}";
    char *out = NULL;
    assert_int_equal(esm_status_view(doc, strlen(doc), false, &out), ESM_STATUS_ATTENTION);
    assert_non_null(strstr(out, "kesm 1.2.3: 2 mappings, 1 OK, 1 stuck; stuck after 30 s\n"));
    assert_non_null(strstr(out, "\nOK       u-1 "));
    assert_non_null(strstr(out, " good / t "));
    assert_non_null(strstr(out, "\nSTUCK    u-2 "));
    assert_null(strstr(out, "\x1b")); // no terminal escape survives
    assert_non_null(strstr(out, "PROBLEM: ?[2Jgone\n"));
    assert_null(strstr(out, "committed")); // no partition lines without -v
    free(out);
    assert_int_equal(esm_status_view(doc, strlen(doc), true, &out), ESM_STATUS_ATTENTION);
    assert_non_null(strstr(out, "         t-0  committed 4  high watermark 4  lag 0  in flight 0  "
                                "last delivery 2026-12-01T10:00:00.000Z\n"));
    assert_non_null(strstr(out, "         t-1  committed -  high watermark -  lag 7  in flight -  "
                                "last delivery never  STUCK 31 s (function failing)\n"));
    free(out);
    const char *fine = "{\"Kesm\":{},\"EventSourceMappings\":[{\"State\":\"Disabled\","
                       "\"StateTransitionReason\":\"USER_INITIATED\"},7,{\"State\":\"Creating\"}]}";
    assert_int_equal(esm_status_view(fine, strlen(fine), true, &out), ESM_STATUS_FINE);
    assert_non_null(strstr(out, "\nDISABLED "));
    assert_non_null(strstr(out, "\nCREATING "));
    free(out);
    const char *stopped = "{\"Kesm\":{},\"EventSourceMappings\":[{\"State\":\"Disabled\","
                          "\"StateTransitionReason\":\"EVENT_SOURCE_AUTHN_ERROR\"}]}";
    assert_int_equal(esm_status_view(stopped, strlen(stopped), false, &out), ESM_STATUS_ATTENTION);
    assert_non_null(strstr(out, "\nSTOPPED "));
    free(out);
    const char *bad[] = {"", "[]", "{\"Kesm\":{}}", "{\"EventSourceMappings\":[]}", "{\"Kesm\":"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(esm_status_view(bad[i], strlen(bad[i]), false, &out), ESM_STATUS_INVALID);
        assert_true(strlen(out) > 10);
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stuck_function_failing_and_recovery),
        cmocka_unit_test(test_stuck_causes_in_order),
        cmocka_unit_test(test_no_lag_is_never_stuck),
        cmocka_unit_test(test_stopped_mapping_drops_problem),
        cmocka_unit_test(test_samples_and_bounded_ring),
        cmocka_unit_test(test_recent_errors),
        cmocka_unit_test(test_sanitize_cuts_on_characters),
        cmocka_unit_test(test_json_document),
        cmocka_unit_test(test_host_header),
        cmocka_unit_test(test_view),
    };
    return cmocka_run_group_tests_name("esm_status", tests, NULL, NULL);
}
