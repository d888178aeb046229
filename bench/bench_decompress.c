// bench_decompress.c: kesm's snappy and LZ4 decoding against the libraries' own decoders.
//
// kesm decodes raw snappy blocks itself (proto/snappy.c) and parses LZ4 frames over liblz4's
// block decoder (proto/compress.c), so its static binary links neither libsnappy nor liblz4's
// frame code. This measures what that costs: 1 MiB of JSON-like order records (what a Kafka
// batch of small events holds), compressed once by the real encoders (libsnappy, liblz4's frame
// compressor as librdkafka calls it), then decoded repeatedly by kp_decompress (into its arena,
// as the consumer does) and by snappy_uncompress / LZ4F_decompress into a plain buffer. Times
// are this thread's CPU time; each figure is the best of five rounds of |seconds| / 5.
//
// usage: bench_decompress [SECONDS]   (default 1.0)
// prints: "<codec> <decoder>: <MB/s> MB/s (ratio <r>)"
#include "proto/compress.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *records(size_t n)
{
    uint8_t *p = malloc(n);
    uint32_t x = 1;
    size_t o = 0;
    while (o < n) {
        char rec[160];
        x = x * 1103515245u + 12345u;
        int l = snprintf(rec, sizeof rec,
                         "{\"orderId\":%u,\"customer\":\"c-%u\",\"amount\":%u.%02u,"
                         "\"status\":\"NEW\"}\n",
                         x, x % 977, x % 10000, x % 100);
        for (int i = 0; i < l && o < n; i++) {
            p[o++] = (uint8_t)rec[i];
        }
    }
    return p;
}

struct job {
    int codec;
    int lib; // 1: the library's own decoder
    const uint8_t *c;
    size_t clen;
    uint8_t *out;
    size_t n;
    struct kp_arena *arena;
};

static int run_once(const struct job *j)
{
    if (!j->lib) {
        kr v;
        int ok =
            kp_decompress(j->arena, j->codec, 0, j->c, j->clen, &v, NULL) == KP_OK && v.len == j->n;
        kp_arena_reset(j->arena);
        return ok;
    }
    if (j->codec == KP_CODEC_SNAPPY) {
        size_t got = j->n;
        return snappy_uncompress((const char *)j->c, j->clen, (char *)j->out, &got) == SNAPPY_OK &&
               got == j->n;
    }
    LZ4F_dctx *d;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION))) {
        return 0;
    }
    size_t dn = j->n, sn = j->clen;
    size_t rc = LZ4F_decompress(d, j->out, &dn, j->c, &sn, NULL);
    LZ4F_freeDecompressionContext(d);
    return rc == 0 && dn == j->n;
}

// best_mb_s returns the best MB/s of five rounds of |seconds| / 5 each, or -1 on a failure.
static double best_mb_s(const struct job *j, double seconds)
{
    double best = 0;
    for (int round = 0; round < 5; round++) {
        long reps = 0;
        double t0 = now(), t;
        do {
            if (!run_once(j)) {
                return -1;
            }
            reps++;
            t = now() - t0;
        } while (t < seconds / 5);
        double mb_s = (double)reps * (double)j->n / t / 1e6;
        if (mb_s > best) {
            best = mb_s;
        }
    }
    return best;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    size_t n = (size_t)1 << 20;
    uint8_t *in = records(n), *out = malloc(n);
    struct kp_arena arena;
    kp_arena_init(&arena, 0);
    static const int codecs[2] = {KP_CODEC_SNAPPY, KP_CODEC_LZ4};
    static const char *libs[2] = {"libsnappy", "liblz4"};
    for (int c = 0; c < 2; c++) {
        kw w;
        kw_init_grow(&w);
        if (kp_compress(&w, codecs[c], 0, in, n) != KP_OK) {
            fprintf(stderr, "bench_decompress: compressing failed\n");
            return 1;
        }
        for (int lib = 0; lib < 2; lib++) {
            struct job j = {codecs[c], lib, kw_data(&w), kw_len(&w), out, n, &arena};
            double mb_s = best_mb_s(&j, seconds);
            if (mb_s < 0) {
                fprintf(stderr, "bench_decompress: %s decoding failed\n", kp_codec_name(codecs[c]));
                return 1;
            }
            printf("%s %s: %.0f MB/s (ratio %.2f)\n", kp_codec_name(codecs[c]),
                   lib ? libs[c] : "kesm", mb_s, (double)n / (double)kw_len(&w));
        }
        kw_cleanup(&w);
    }
    kp_arena_cleanup(&arena);
    free(in);
    free(out);
    return 0;
}
