// fuzz_decompress.c: the four decompressors on arbitrary bytes, under a small arena limit.
//
// The first byte picks the codec (bits 0-1: gzip, snappy, lz4, zstd), the LZ4 header-checksum
// fix (bit 2) and the arena limit (bits 3-4: 256 B, 4 KiB, 64 KiB, 1 MiB). Invariants: the
// arena never holds more than its limit, a failure leaves it as it was, a success's view lies in
// the arena, and compressing the output again and decompressing that gives the same bytes.
#include "proto/compress.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    static const int codecs[4] = {KP_CODEC_GZIP, KP_CODEC_SNAPPY, KP_CODEC_LZ4, KP_CODEC_ZSTD};
    static const size_t limits[4] = {256, 4096, 65536, 1u << 20};
    int codec = codecs[data[0] & 3];
    unsigned flags = (data[0] & 4) ? KP_DECOMP_LZ4_FIX_HC : 0;
    size_t limit = limits[(data[0] >> 3) & 3];
    data++;
    size--;
    struct kp_arena a;
    kp_arena_init(&a, limit);
    kr out;
    struct kp_err err = {NULL, 0};
    enum kp_status st = kp_decompress(&a, codec, flags, data, size, &out, &err);
    assert(kp_arena_used(&a) <= limit);
    if (st != KP_OK) {
        assert(st == KP_ERR_CORRUPT || st == KP_ERR_LIMIT);
        assert(kp_arena_used(&a) == 0 && err.field != NULL);
        kp_arena_cleanup(&a);
        return 0;
    }
    assert(kp_arena_used(&a) == out.len);
    kw w;
    kw_init_grow(&w);
    assert(kp_compress(&w, codec, 0, out.p, out.len) == KP_OK);
    kr again;
    assert(kp_decompress(&a, codec, 0, kw_data(&w), kw_len(&w), &again, NULL) == KP_OK ||
           kp_arena_used(&a) + out.len > limit);
    if (kp_arena_used(&a) == 2 * out.len) {
        assert(again.len == out.len && (out.len == 0 || memcmp(again.p, out.p, out.len) == 0));
    }
    kw_cleanup(&w);
    kp_arena_cleanup(&a);
    return 0;
}
