// test_pipeline_stdout.c: the pipeline over the real stdout transport on a real reactor, writing
// into a small pipe: a reader that stops reading pauses fetching (the transport's queued bytes
// count against pause_bytes) and the queue stays bounded; reading again resumes and delivers
// every record once, in order; a reader that goes away stops the mapping with a clear error.
#define _GNU_SOURCE // F_SETPIPE_SZ

#include "esm/pipeline.h"
#include "invoke/transport.h"
#include "net/reactor.h"
#include "tests/lib/unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NPART 4
#define PER_ADD 20

struct src {
    int64_t acked[NPART];
    bool paused[NPART];
    int pauses, resumes;
    char fatal[256];
};

static int src_ack(void *ctx, const char *topic, int32_t partition, int64_t next)
{
    struct src *s = ctx;
    (void)topic;
    assert_true(next > s->acked[partition]);
    s->acked[partition] = next;
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

static void on_fatal(void *ctx, const char *detail)
{
    struct src *s = ctx;
    snprintf(s->fatal, sizeof s->fatal, "%s", detail);
}

struct h {
    struct net_reactor *r;
    struct inv_transport *t;
    struct esm_pipeline *pl;
    struct src s;
    int p[2];
    int64_t next[NPART]; // next offset to add
};

static void h_init(struct h *h)
{
    memset(h, 0, sizeof *h);
    assert_int_equal(pipe(h->p), 0);
    assert_true(fcntl(h->p[0], F_SETPIPE_SZ, 4096) >= 4096);
    fcntl(h->p[0], F_SETFL, O_NONBLOCK);
    h->r = net_reactor_new(NULL);
    h->t = inv_stdout_new(h->p[1]);
    struct esm_pipeline_cfg cfg;
    esm_pipeline_cfg_defaults(&cfg);
    cfg.reactor = h->r;
    cfg.transport = h->t;
    cfg.batch.batch_size = 50;
    cfg.batch.window_ms = 0;
    cfg.batch.max_payload = 20000; // pause_bytes defaults to 4 x 20000
    cfg.batch.event.bootstrap_servers = "b:9092";
    cfg.source = (struct esm_source){src_ack, src_pause, src_resume, &h->s};
    cfg.on_fatal = on_fatal;
    cfg.cb_ctx = &h->s;
    for (int i = 0; i < NPART; i++) {
        h->s.acked[i] = -1;
    }
    char err[200];
    assert_int_equal(esm_pipeline_new(&h->pl, &cfg, err, sizeof err), 0);
}

static void h_free(struct h *h)
{
    esm_pipeline_free(h->pl);
    inv_transport_free(h->t);
    net_reactor_free(h->r);
    close(h->p[0]);
    close(h->p[1]);
}

// add gives partition |part| PER_ADD more records of about 200 bytes of event each, as a fetch
// answer would.
static void add(struct h *h, int32_t part)
{
    static char vals[PER_ADD][120];
    struct inv_record recs[PER_ADD];
    for (int i = 0; i < PER_ADD; i++) {
        int64_t o = h->next[part]++;
        snprintf(vals[i], sizeof vals[i], "%d-%lld-%080d", part, (long long)o, 0);
        recs[i] = (struct inv_record){.topic = "t",
                                      .topic_len = 1,
                                      .partition = part,
                                      .offset = o,
                                      .timestamp = 1000,
                                      .key = inv_bytes_null(),
                                      .value = inv_bytes_of(vals[i], strlen(vals[i]))};
    }
    assert_int_equal(esm_pipeline_add(h->pl, recs, PER_ADD), 0);
}

static size_t read_some(struct h *h)
{
    char buf[65536];
    size_t total = 0;
    ssize_t r;
    while ((r = read(h->p[0], buf, sizeof buf)) > 0) {
        total += (size_t)r;
    }
    return total;
}

static bool all_paused(const struct h *h)
{
    for (int i = 0; i < NPART; i++) {
        if (!h->s.paused[i]) {
            return false;
        }
    }
    return true;
}

static void test_slow_reader_pauses_fetching(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    // The source keeps fetching while it is not paused; nobody reads the pipe.
    size_t rounds = 0;
    for (; rounds < 200 && !all_paused(&h); rounds++) {
        for (int32_t p = 0; p < NPART; p++) {
            if (!h.s.paused[p]) {
                add(&h, p);
            }
        }
        net_reactor_run_for(h.r, 2);
    }
    assert_true(all_paused(&h));
    size_t added = 0;
    for (int p = 0; p < NPART; p++) {
        added += (size_t)h.next[p];
    }
    // Bounded: what stopped it is the bytes waiting (queued events + unwritten payloads): about
    // pause_bytes (80000), one add past it, plus the pipe's 4 KiB. About 200 bytes per record.
    assert_true(added * 200 < 80000 + NPART * PER_ADD * 250 + 4096 + 20000);
    assert_true(inv_transport_queued(h.t) > 0);
    // Still stuck while nobody reads: nothing resumes.
    net_reactor_run_for(h.r, 50);
    assert_true(all_paused(&h));
    assert_int_equal(h.s.resumes, 0);
    // The reader comes back: everything is written, acknowledged, and the partitions resume.
    size_t bytes = 0;
    for (int i = 0; i < 2000; i++) {
        bytes += read_some(&h);
        net_reactor_run_for(h.r, 2);
        bool done = true;
        for (int p = 0; p < NPART; p++) {
            done = done && h.s.acked[p] == h.next[p];
        }
        if (done && h.s.resumes >= NPART) {
            break;
        }
    }
    for (int p = 0; p < NPART; p++) {
        assert_int_equal(h.s.acked[p], h.next[p]);
        assert_false(h.s.paused[p]);
    }
    assert_true(bytes > added * 150);
    assert_int_equal(inv_transport_queued(h.t), 0);
    assert_string_equal(h.s.fatal, "");
    h_free(&h);
}

static void test_reader_gone_is_fatal(void **state)
{
    (void)state;
    struct h h;
    h_init(&h);
    close(h.p[0]);
    h.p[0] = open("/dev/null", O_RDONLY); // h_free closes it
    add(&h, 0);
    for (int i = 0; i < 500 && h.s.fatal[0] == '\0'; i++) {
        net_reactor_run_for(h.r, 2);
    }
    assert_non_null(strstr(h.s.fatal, "stdout: write failed: Broken pipe (the reader of kesm's "
                                      "standard output went away)"));
    assert_int_equal(h.s.acked[0], -1); // nothing acknowledged
    h_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_reader_pauses_fetching),
        cmocka_unit_test(test_reader_gone_is_fatal),
    };
    return cmocka_run_group_tests_name("pipeline_stdout", tests, NULL, NULL);
}
