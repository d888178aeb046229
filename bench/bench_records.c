// bench_records.c: decode throughput of uncompressed magic-2 record batches on one core.
//
// Builds a blob of batches of 100-byte-value records (8-byte key, one 16-byte header) with the
// batch builder, then decodes it repeatedly: every batch header read and CRC-32C checked, every
// record iterated, key/value/headers exposed as views (and touched, so nothing is optimised
// away). It runs with CRC checks and without, and times CRC-32C alone over the same bytes
// (hardware and table paths), to give the CRC's share of the decode time. Times are this
// thread's CPU time, and each figure is the best of five runs, since the machine may be shared.
//
// usage: bench_records [RECORDS_PER_BATCH [NUM_BATCHES [SECONDS]]]   (default 500 200 1.0)
#include "proto/batch_builder.h"
#include "proto/crc32c.h"
#include "proto/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// now returns this thread's CPU time, so other processes on a shared machine count less.
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void build(kw *w, int per_batch, int batches)
{
    char value[100];
    for (size_t i = 0; i < sizeof value; i++) {
        value[i] = (char)('a' + i % 26);
    }
    for (int b = 0; b < batches; b++) {
        struct kp_batch_params p;
        kp_batch_params_default(&p);
        p.base_offset = (int64_t)b * per_batch;
        struct kp_batch_builder bb;
        kp_batch_builder_init(&bb, &p);
        for (int i = 0; i < per_batch; i++) {
            char key[16], trace[32];
            snprintf(key, sizeof key, "k%07d", i % 10000000);
            snprintf(trace, sizeof trace, "t%015d", (b * per_batch + i) % 1000000000);
            struct kp_header_in h = {"trace", 5, trace, 16};
            struct kp_record_in r = {1700000000000 + i, key, 8, value, sizeof value, &h, 1};
            if (!kp_batch_builder_add(&bb, &r)) {
                fprintf(stderr, "bench_records: builder failed\n");
                exit(1);
            }
        }
        if (kp_batch_builder_finish(&bb, w) != KP_OK) {
            fprintf(stderr, "bench_records: finish failed\n");
            exit(1);
        }
        kp_batch_builder_cleanup(&bb);
    }
}

// decode_all walks the blob once; returns the number of records and adds to *sink.
static size_t decode_all(const uint8_t *p, size_t len, bool check_crc, uint64_t *sink)
{
    struct kp_records_opts opts = {.skip_crc = !check_crc};
    struct kp_records_iter it;
    kp_records_init(&it, p, len, NULL, &opts);
    size_t n = 0;
    struct kp_batch b;
    bool end;
    while (kp_records_next_batch(&it, &b, &end, NULL) == KP_OK && !end) {
        struct kp_record rec;
        while (kp_batch_next_record(&b, &rec, &end, NULL) == KP_OK && !end) {
            struct kp_header h;
            *sink += rec.key.len + rec.value.len + (uint64_t)rec.offset;
            while (kp_record_next_header(&rec, &h, &end, NULL) == KP_OK && !end) {
                *sink += h.key.len + h.value.len;
            }
            n++;
        }
    }
    return n;
}

// run_once decodes repeatedly for at least |secs| of CPU time; returns records per second.
static double run_once(const uint8_t *p, size_t len, bool check_crc, double secs, size_t expect)
{
    uint64_t sink = 0;
    size_t total = 0;
    double t0 = now(), t;
    do {
        size_t n = decode_all(p, len, check_crc, &sink);
        if (n != expect) {
            fprintf(stderr, "bench_records: decoded %zu records, expected %zu\n", n, expect);
            exit(1);
        }
        total += n;
        t = now();
    } while (t - t0 < secs);
    if (sink == 0) {
        fprintf(stderr, "bench_records: nothing decoded\n");
    }
    return (double)total / (t - t0);
}

#define ROUNDS 5

// run returns the best of ROUNDS runs of |secs| / ROUNDS each (the least disturbed one).
static double run(const uint8_t *p, size_t len, bool check_crc, double secs, size_t expect)
{
    double best = 0;
    for (int i = 0; i < ROUNDS; i++) {
        double r = run_once(p, len, check_crc, secs / ROUNDS, expect);
        best = r > best ? r : best;
    }
    return best;
}

// crc_rate returns bytes per second of |fn| over the CRC-covered bytes of every batch.
static double crc_rate(uint32_t (*fn)(uint32_t, const void *, size_t), const uint8_t *p, size_t len,
                       double secs)
{
    size_t bytes = 0;
    uint32_t acc = 0;
    double t0 = now(), t;
    do {
        struct kp_records_iter it;
        kp_records_init(&it, p, len, NULL, &(struct kp_records_opts){.skip_crc = true});
        struct kp_batch b;
        bool end;
        while (kp_records_next_batch(&it, &b, &end, NULL) == KP_OK && !end) {
            acc ^= fn(0, b.wire + 21, b.wire_len - 21);
            bytes += b.wire_len - 21;
        }
        t = now();
    } while (t - t0 < secs);
    if (acc == 0x12345678u) {
        fprintf(stderr, "(unlikely)\n");
    }
    return (double)bytes / (t - t0);
}

int main(int argc, char **argv)
{
    int per_batch = argc > 1 ? atoi(argv[1]) : 500;
    int batches = argc > 2 ? atoi(argv[2]) : 200;
    double secs = argc > 3 ? atof(argv[3]) : 1.0;
    if (per_batch <= 0 || batches <= 0 || secs <= 0) {
        fprintf(stderr, "usage: bench_records [RECORDS_PER_BATCH [NUM_BATCHES [SECONDS]]]\n");
        return 2;
    }
    kw w;
    kw_init_grow(&w);
    build(&w, per_batch, batches);
    size_t len = kw_len(&w);
    size_t expect = (size_t)per_batch * (size_t)batches;
    printf("blob: %d batches x %d records, %zu bytes (%.1f bytes/record on the wire)\n", batches,
           per_batch, len, (double)len / (double)expect);
    run(kw_data(&w), len, true, secs / 4, expect); // warm up
    double with_crc = run(kw_data(&w), len, true, secs, expect);
    double no_crc = run(kw_data(&w), len, false, secs, expect);
    double hw = kp_crc32c_hw_available() ? crc_rate(kp_crc32c_hw, kw_data(&w), len, secs) : 0;
    double sw = crc_rate(kp_crc32c_sw, kw_data(&w), len, secs);
    double crc_ns = (1e9 / with_crc) - (1e9 / no_crc);
    printf("decode with CRC-32C check:    %6.2f M records/s (%.1f ns/record)\n", with_crc / 1e6,
           1e9 / with_crc);
    printf("decode without CRC check:     %6.2f M records/s (%.1f ns/record)\n", no_crc / 1e6,
           1e9 / no_crc);
    printf("CRC share of decode time:     %5.1f %% (%.1f ns/record)\n",
           100.0 * crc_ns * with_crc / 1e9, crc_ns);
    printf("CRC-32C alone: sse4.2 %.2f GB/s%s, table %.2f GB/s\n", hw / 1e9,
           kp_crc32c_hw_available() ? "" : " (not available)", sw / 1e9);
    kw_cleanup(&w);
    return 0;
}
