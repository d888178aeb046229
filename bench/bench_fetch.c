// bench_fetch.c: throughput of the Fetch response parser (validate + walk every partition).
//
// Builds a Fetch response body in memory (one topic, |partitions| partitions of |records_len|
// opaque record bytes each, at v11 and v12) and times kp_fetch_resp_parse plus a full walk of
// the topic and partition iterators. The parser never looks inside the records, so its cost
// is per partition, not per byte or per record.
//
// Build and run (after `make`):
//   gcc -O2 -I. -D_POSIX_C_SOURCE=200809L bench/bench_fetch.c build/libproto.a -o build/bench_fetch
//   build/bench_fetch
#include "proto/fetch.h"
#include "proto/kw.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void build(kw *w, int16_t version, int32_t partitions, size_t records_len,
                  const uint8_t *records)
{
    bool flex = version >= 12;
    kw_i32(w, 0); // throttle
    kw_i16(w, 0); // error
    kw_i32(w, 0); // session
    if (flex) {
        kw_compact_array_count(w, 1);
        kw_compact_str(w, "bench-topic");
        kw_compact_array_count(w, partitions);
    } else {
        kw_array_count(w, 1);
        kw_str(w, "bench-topic");
        kw_array_count(w, partitions);
    }
    for (int32_t p = 0; p < partitions; p++) {
        kw_i32(w, p);
        kw_i16(w, 0);
        kw_i64(w, 1000000); // high watermark
        kw_i64(w, 1000000); // LSO
        kw_i64(w, 0);       // log start
        if (flex) {
            kw_compact_array_count(w, 0); // aborted: empty
            kw_i32(w, -1);
            kw_compact_bytes(w, records, records_len);
            kw_empty_tags(w);
        } else {
            kw_array_count(w, -1); // aborted: null
            kw_i32(w, -1);
            kw_bytes(w, records, records_len);
        }
    }
    if (flex) {
        kw_empty_tags(w); // topic
        kw_empty_tags(w); // response
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run(int16_t version, int32_t partitions, size_t records_len)
{
    uint8_t *records = calloc(records_len ? records_len : 1, 1);
    kw w;
    kw_init_grow(&w);
    build(&w, version, partitions, records_len, records);
    size_t len;
    if (!kw_finish(&w, &len)) {
        fprintf(stderr, "build failed\n");
        exit(1);
    }
    const uint8_t *body = kw_data(&w);
    long iters = 0;
    int64_t check = 0;
    double t0 = now(), t1;
    do {
        for (int i = 0; i < 100; i++) {
            kr r;
            kr_init(&r, body, len);
            struct kp_fetch_resp resp;
            if (kp_fetch_resp_parse(&r, version, &resp, NULL) != KP_OK) {
                fprintf(stderr, "parse failed\n");
                exit(1);
            }
            struct kp_fetch_iter ti, pi;
            struct kp_fetch_topic t;
            struct kp_fetch_partition fp;
            kp_fetch_topics(&resp, &ti);
            while (kp_fetch_next_topic(&ti, &t)) {
                kp_fetch_partitions(&ti, &t, &pi);
                while (kp_fetch_next_partition(&pi, &fp)) {
                    check += (int64_t)fp.records.len;
                }
            }
        }
        iters += 100;
        t1 = now();
    } while (t1 - t0 < 1.0);
    double per = (t1 - t0) / (double)iters;
    printf("v%d %5d partitions x %6zu B records: %8.1f us/response, %6.1f ns/partition, "
           "%7.1f GB/s of response bytes (check %lld)\n",
           version, partitions, records_len, per * 1e6, per * 1e9 / partitions,
           (double)len / per / 1e9, (long long)(check / iters));
    kw_cleanup(&w);
    free(records);
}

int main(void)
{
    run(11, 100, 65536);
    run(12, 100, 65536);
    run(11, 1000, 1024);
    run(12, 1000, 1024);
    return 0;
}
