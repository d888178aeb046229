// compress_write.c: kp_compress, the compressors (zlib deflate, libsnappy, liblz4 frames, zstd).
// Only producers of test data and the batch builder's callers that ask for compression link this
// file; kesm decodes only, so it links neither libsnappy nor these compressors.
#include "proto/compress.h"

#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static enum kp_status gzip_into(uint8_t *dst, size_t *dst_len, const uint8_t *in, size_t in_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (in_len > UINT_MAX || *dst_len > UINT_MAX ||
        deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
            Z_OK) {
        return KP_ERR_LIMIT;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)in_len;
    zs.next_out = dst;
    zs.avail_out = (uInt)*dst_len;
    int rc = deflate(&zs, Z_FINISH);
    *dst_len = zs.total_out;
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? KP_OK : KP_ERR_LIMIT;
}

#define XERIAL_BLOCK 32768u

static size_t snappy_bound(const uint8_t *in, size_t in_len, unsigned flags)
{
    (void)in;
    if (!(flags & KP_COMP_SNAPPY_XERIAL)) {
        return snappy_max_compressed_length(in_len);
    }
    size_t blocks = in_len / XERIAL_BLOCK + 1;
    return 16 + blocks * (4 + snappy_max_compressed_length(XERIAL_BLOCK));
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static enum kp_status snappy_into(uint8_t *dst, size_t *dst_len, const uint8_t *in, size_t in_len,
                                  unsigned flags)
{
    if (!(flags & KP_COMP_SNAPPY_XERIAL)) {
        return snappy_compress((const char *)in, in_len, (char *)dst, dst_len) == SNAPPY_OK
                   ? KP_OK
                   : KP_ERR_LIMIT;
    }
    memcpy(dst, KP_XERIAL_MAGIC, KP_XERIAL_MAGIC_LEN);
    put_be32(dst + 8, 1);  // version
    put_be32(dst + 12, 1); // minimum compatible version
    size_t off = 16;
    for (size_t i = 0; i < in_len; i += XERIAL_BLOCK) {
        size_t n = in_len - i < XERIAL_BLOCK ? in_len - i : XERIAL_BLOCK;
        size_t clen = *dst_len - off - 4;
        if (snappy_compress((const char *)in + i, n, (char *)dst + off + 4, &clen) != SNAPPY_OK) {
            return KP_ERR_LIMIT;
        }
        put_be32(dst + off, (uint32_t)clen);
        off += 4 + clen;
    }
    *dst_len = off;
    return KP_OK;
}

static void lz4_prefs(LZ4F_preferences_t *p)
{
    memset(p, 0, sizeof *p);
    p->frameInfo.blockSizeID = LZ4F_max64KB;
    p->frameInfo.blockMode = LZ4F_blockIndependent;
    p->frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    p->frameInfo.frameType = LZ4F_frame;
}

static enum kp_status lz4_into(uint8_t *dst, size_t *dst_len, const uint8_t *in, size_t in_len,
                               unsigned flags)
{
    LZ4F_preferences_t prefs;
    lz4_prefs(&prefs);
    size_t n = LZ4F_compressFrame(dst, *dst_len, in, in_len, &prefs);
    if (LZ4F_isError(n)) {
        return KP_ERR_LIMIT;
    }
    size_t hlen = kp_lz4_header_len(dst, n);
    if ((flags & KP_COMP_LZ4_BAD_HC) && hlen > 0) {
        // Old Kafka hashed the four magic bytes too.
        dst[hlen - 1] = (uint8_t)(kp_xxh32(dst, hlen - 1, 0) >> 8);
    }
    *dst_len = n;
    return KP_OK;
}

static size_t compress_bound(int codec, unsigned flags, const uint8_t *in, size_t in_len)
{
    switch (codec) {
    case KP_CODEC_GZIP:
        return in_len + in_len / 1000 + 64 + (in_len >> 12) * 5;
    case KP_CODEC_SNAPPY:
        return snappy_bound(in, in_len, flags);
    case KP_CODEC_LZ4: {
        LZ4F_preferences_t prefs;
        lz4_prefs(&prefs);
        return LZ4F_compressFrameBound(in_len, &prefs);
    }
    case KP_CODEC_ZSTD:
        return ZSTD_compressBound(in_len);
    default:
        return 0;
    }
}

enum kp_status kp_compress(kw *w, int codec, unsigned flags, const uint8_t *in, size_t in_len)
{
    size_t cap = compress_bound(codec, flags, in, in_len);
    if (cap == 0) {
        return KP_ERR_UNSUPPORTED;
    }
    uint8_t *dst = malloc(cap);
    if (!dst) {
        kw_fail(w);
        return KP_ERR_LIMIT;
    }
    size_t n = cap;
    enum kp_status st = KP_ERR_UNSUPPORTED;
    switch (codec) {
    case KP_CODEC_GZIP:
        st = gzip_into(dst, &n, in, in_len);
        break;
    case KP_CODEC_SNAPPY:
        st = snappy_into(dst, &n, in, in_len, flags);
        break;
    case KP_CODEC_LZ4:
        st = lz4_into(dst, &n, in, in_len, flags);
        break;
    case KP_CODEC_ZSTD:
        n = ZSTD_compress(dst, cap, in, in_len, ZSTD_CLEVEL_DEFAULT);
        st = ZSTD_isError(n) ? KP_ERR_LIMIT : KP_OK;
        break;
    default:
        break;
    }
    if (st == KP_OK && !kw_raw(w, dst, n)) {
        st = KP_ERR_LIMIT;
    }
    if (st != KP_OK) {
        kw_fail(w);
    }
    free(dst);
    return st;
}
