// fuzz_decompress.c: the four decompressors on arbitrary bytes, under a small arena limit.
//
// The first byte picks the codec (bits 0-1: gzip, snappy, lz4, zstd), the LZ4 header-checksum
// fix (bit 2) and the arena limit (bits 3-4: 256 B, 4 KiB, 64 KiB, 1 MiB). Invariants: the
// arena never holds more than its limit, a failure leaves it as it was, a success's view lies in
// the arena, and compressing the output again and decompressing that gives the same bytes. For a
// raw snappy block (our own decoder, proto/snappy.c), libsnappy's decoder is the oracle: ours
// accepts exactly the blocks it accepts, with the same bytes. For LZ4 (our frame parser over
// liblz4's block decoder), liblz4's frame decoder is: what we accept it accepts with the same
// bytes, and what it accepts within the limit we accept (frames with a dictionary id aside).
#include "proto/compress.h"

#include <assert.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// snappy_oracle checks a raw snappy block's outcome |st| (and |out|) against libsnappy's.
static void snappy_oracle(const uint8_t *in, size_t in_len, enum kp_status st, const kr *out,
                          size_t limit)
{
    size_t n;
    if (snappy_uncompressed_length((const char *)in, in_len, &n) != SNAPPY_OK) {
        assert(st == KP_ERR_CORRUPT);
        return;
    }
    if (n > limit) {
        assert(st == KP_ERR_LIMIT);
        return;
    }
    char *ref = malloc(n ? n : 1);
    assert(ref);
    size_t got = n;
    snappy_status rc = n > 0 ? snappy_uncompress((const char *)in, in_len, ref, &got)
                             : snappy_validate_compressed_buffer((const char *)in, in_len);
    assert((st == KP_OK) == (rc == SNAPPY_OK));
    if (st == KP_OK) {
        assert(out->len == n && (n == 0 || memcmp(out->p, ref, n) == 0));
    }
    free(ref);
}

// lz4_ref decodes all of |in| with liblz4's frame decoder into |out| (|cap| bytes); returns true
// when every frame is complete and valid, and whether a frame had a dictionary id.
static bool lz4_ref(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *out_len,
                    bool *dict_id)
{
    LZ4F_dctx *ctx, *peek;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) {
        return false;
    }
    size_t pos = 0, len = 0, hint = 0;
    bool ok = n > 0;
    *dict_id = false;
    while (ok && pos < n) {
        LZ4F_frameInfo_t info;
        size_t src_n = n - pos;
        if (hint == 0 && !LZ4F_isError(LZ4F_createDecompressionContext(&peek, LZ4F_VERSION))) {
            size_t hn = src_n; // a frame starts here: does it carry a dictionary id?
            if (!LZ4F_isError(LZ4F_getFrameInfo(peek, &info, in + pos, &hn)) && info.dictID) {
                *dict_id = true;
            }
            LZ4F_freeDecompressionContext(peek);
        }
        size_t dst_n = cap - len;
        hint = LZ4F_decompress(ctx, out + len, &dst_n, in + pos, &src_n, NULL);
        ok = !LZ4F_isError(hint) && (src_n > 0 || dst_n > 0);
        pos += src_n;
        len += dst_n;
    }
    LZ4F_freeDecompressionContext(ctx);
    *out_len = len;
    return ok && hint == 0;
}

static void lz4_oracle(const uint8_t *in, size_t in_len, enum kp_status st, const kr *out,
                       size_t limit)
{
    size_t cap = limit + 1, len;
    uint8_t *ref = malloc(cap);
    assert(ref);
    bool dict_id;
    bool ok = lz4_ref(in, in_len, ref, cap, &len, &dict_id);
    if (st == KP_OK) {
        assert(ok && len == out->len && (len == 0 || memcmp(ref, out->p, len) == 0));
    } else if (ok && len <= limit && !dict_id) {
        assert(!"liblz4 decodes a frame we refused");
    }
    free(ref);
}

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
    if (codec == KP_CODEC_SNAPPY &&
        (size < 16 || memcmp(data, KP_XERIAL_MAGIC, KP_XERIAL_MAGIC_LEN) != 0)) {
        snappy_oracle(data, size, st, &out, limit);
    }
    if (codec == KP_CODEC_LZ4 && !(flags & KP_DECOMP_LZ4_FIX_HC)) {
        lz4_oracle(data, size, st, &out, limit);
    }
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
