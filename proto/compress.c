// compress.c: the arena and the four codecs (zlib, snappy, liblz4 frames, zstd streaming).
#include "proto/compress.h"

#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

struct kp_arena_block {
    struct kp_arena_block *next;
    size_t cap;
    uint8_t data[];
};

const char *kp_codec_name(int codec)
{
    switch (codec) {
    case KP_CODEC_NONE:
        return "none";
    case KP_CODEC_GZIP:
        return "gzip";
    case KP_CODEC_SNAPPY:
        return "snappy";
    case KP_CODEC_LZ4:
        return "lz4";
    case KP_CODEC_ZSTD:
        return "zstd";
    default:
        return "unknown";
    }
}

void kp_arena_init(struct kp_arena *a, size_t limit)
{
    a->blocks = NULL;
    a->spare = NULL;
    a->used = 0;
    a->limit = limit ? limit : KP_ARENA_DEFAULT_LIMIT;
}

void kp_arena_reset(struct kp_arena *a)
{
    struct kp_arena_block *b = a->blocks;
    while (b) {
        struct kp_arena_block *next = b->next;
        if (b->cap <= KP_ARENA_SPARE_MAX && (!a->spare || b->cap > a->spare->cap)) {
            free(a->spare);
            a->spare = b;
        } else {
            free(b);
        }
        b = next;
    }
    a->blocks = NULL;
    a->used = 0;
}

void kp_arena_cleanup(struct kp_arena *a)
{
    kp_arena_reset(a);
    free(a->spare);
    a->spare = NULL;
}

size_t kp_arena_used(const struct kp_arena *a)
{
    return a->used;
}

// struct sink is one block being filled. |max| is what the arena may still take; the block may
// grow to max + 1 bytes so that "one byte too many" is seen without decoding into nowhere.
struct sink {
    struct kp_arena *a;
    struct kp_arena_block *blk;
    size_t len;
    size_t max;
};

static void sink_init(struct sink *s, struct kp_arena *a)
{
    s->a = a;
    s->blk = NULL;
    s->len = 0;
    s->max = a->limit > a->used ? a->limit - a->used : 0;
}

// sink_reserve makes sure at least one byte of room is left, and |want| bytes when the limit
// allows. The block may grow to max + 1 bytes, so "one byte too many" is seen without decoding
// into nowhere. Returns KP_OK, or KP_ERR_LIMIT when the limit is reached (or malloc fails).
static enum kp_status sink_reserve(struct sink *s, size_t want)
{
    size_t hard = s->max < SIZE_MAX - sizeof(struct kp_arena_block) - 1 ? s->max + 1 : s->max;
    size_t cap = s->blk ? s->blk->cap : 0;
    if (s->len >= hard) {
        return KP_ERR_LIMIT;
    }
    if (want == 0) {
        want = 1;
    }
    if (cap - s->len >= want || (cap > s->len && cap >= hard)) {
        return KP_OK;
    }
    size_t need = want > hard - s->len ? hard : s->len + want;
    size_t ncap = cap < 2048 ? 4096 : cap * 2;
    if (ncap < need) {
        ncap = need;
    }
    if (ncap > hard) {
        ncap = hard;
    }
    if (!s->blk && s->a->spare && s->a->spare->cap >= ncap) {
        s->blk = s->a->spare;
        s->a->spare = NULL;
        return KP_OK;
    }
    struct kp_arena_block *nb = realloc(s->blk, sizeof *nb + ncap);
    if (!nb) {
        return KP_ERR_LIMIT;
    }
    nb->cap = ncap;
    s->blk = nb;
    return KP_OK;
}

static uint8_t *sink_ptr(struct sink *s)
{
    return s->blk->data + s->len;
}

static size_t sink_room(const struct sink *s)
{
    return s->blk->cap - s->len;
}

static void sink_abort(struct sink *s)
{
    free(s->blk);
    s->blk = NULL;
}

// sink_commit links the block into the arena and makes |out| a view of its bytes.
static enum kp_status sink_commit(struct sink *s, kr *out)
{
    if (s->len > s->max) {
        sink_abort(s);
        return KP_ERR_LIMIT;
    }
    if (!s->blk && sink_reserve(s, 1) != KP_OK) {
        return KP_ERR_LIMIT;
    }
    s->blk->next = s->a->blocks;
    s->a->blocks = s->blk;
    s->a->used += s->len;
    kr_init(out, s->blk->data, s->len);
    s->blk = NULL;
    return KP_OK;
}

static enum kp_status fail_at(struct kp_err *err, const char *field, size_t off, enum kp_status st)
{
    if (err) {
        err->field = field;
        err->offset = off;
    }
    return st;
}

// ---- gzip ----------------------------------------------------------------------------------

static enum kp_status gunzip(struct sink *s, const uint8_t *in, size_t in_len, size_t *out_pos)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (in_len > UINT_MAX) {
        return KP_ERR_LIMIT;
    }
    if (inflateInit2(&zs, 15 + 32) != Z_OK) {
        return KP_ERR_LIMIT;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)in_len;
    enum kp_status st = KP_OK;
    size_t want = in_len < ((size_t)1 << 20) ? in_len * 4 : (size_t)4 << 20; // a first guess
    for (;;) {
        st = sink_reserve(s, want);
        want = 1;
        if (st != KP_OK) {
            break;
        }
        size_t room = sink_room(s);
        zs.next_out = sink_ptr(s);
        zs.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
        uInt before = zs.avail_out;
        int rc = inflate(&zs, Z_NO_FLUSH);
        s->len += before - zs.avail_out;
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0) {
                break;
            }
            if (inflateReset(&zs) != Z_OK) {
                st = KP_ERR_CORRUPT;
                break;
            }
            continue;
        }
        if (rc == Z_BUF_ERROR && zs.avail_out == 0) {
            continue;
        }
        if (rc != Z_OK || (zs.avail_in == 0 && zs.avail_out > 0)) {
            st = KP_ERR_CORRUPT;
            break;
        }
    }
    if (st == KP_OK && s->len > s->max) {
        st = KP_ERR_LIMIT;
    }
    *out_pos = in_len - zs.avail_in;
    inflateEnd(&zs);
    return st;
}

// ---- snappy --------------------------------------------------------------------------------

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};

static enum kp_status snappy_block(struct sink *s, const uint8_t *in, size_t in_len)
{
    size_t n;
    if (snappy_uncompressed_length((const char *)in, in_len, &n) != SNAPPY_OK) {
        return KP_ERR_CORRUPT;
    }
    if (s->len > s->max || n > s->max - s->len) {
        return KP_ERR_LIMIT;
    }
    enum kp_status st = sink_reserve(s, n);
    if (st != KP_OK) {
        return st;
    }
    size_t got = n;
    if (n > 0 &&
        snappy_uncompress((const char *)in, in_len, (char *)sink_ptr(s), &got) != SNAPPY_OK) {
        return KP_ERR_CORRUPT;
    }
    if (n == 0 && snappy_validate_compressed_buffer((const char *)in, in_len) != SNAPPY_OK) {
        return KP_ERR_CORRUPT;
    }
    if (got != n) {
        return KP_ERR_CORRUPT;
    }
    s->len += n;
    return KP_OK;
}

static enum kp_status unsnappy(struct sink *s, const uint8_t *in, size_t in_len, size_t *out_pos)
{
    *out_pos = 0;
    if (in_len < 16 || memcmp(in, xerial_magic, sizeof xerial_magic) != 0) {
        return snappy_block(s, in, in_len);
    }
    kr r;
    kr_init(&r, in, in_len);
    int32_t version, compat;
    kr_skip(&r, sizeof xerial_magic);
    if (!kr_i32(&r, &version) || !kr_i32(&r, &compat)) {
        return KP_ERR_CORRUPT;
    }
    while (kr_left(&r) > 0) {
        int32_t n;
        kr chunk;
        *out_pos = kr_offset(&r);
        if (!kr_i32(&r, &n) || n < 0 || !kr_sub(&r, &chunk, (size_t)n)) {
            return KP_ERR_CORRUPT;
        }
        enum kp_status st = snappy_block(s, chunk.p, chunk.len);
        if (st != KP_OK) {
            return st;
        }
    }
    *out_pos = in_len;
    return KP_OK;
}

// ---- lz4 -----------------------------------------------------------------------------------

#define LZ4_FRAME_MAGIC 0x184D2204u

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t rotl32(uint32_t x, unsigned r)
{
    return (x << r) | (x >> (32 - r));
}

uint32_t kp_xxh32(const void *p, size_t len, uint32_t seed)
{
    const uint32_t p1 = 2654435761u, p2 = 2246822519u, p3 = 3266489917u, p4 = 668265263u,
                   p5 = 374761393u;
    const uint8_t *b = p;
    size_t n = len;
    uint32_t h;
    if (n >= 16) {
        uint32_t v[4] = {seed + p1 + p2, seed + p2, seed, seed - p1};
        while (n >= 16) {
            for (size_t i = 0; i < 4; i++) {
                v[i] = rotl32(v[i] + le32(b + 4 * i) * p2, 13) * p1;
            }
            b += 16;
            n -= 16;
        }
        h = rotl32(v[0], 1) + rotl32(v[1], 7) + rotl32(v[2], 12) + rotl32(v[3], 18);
    } else {
        h = seed + p5;
    }
    h += (uint32_t)len;
    while (n >= 4) {
        h = rotl32(h + le32(b) * p3, 17) * p4;
        b += 4;
        n -= 4;
    }
    while (n > 0) {
        h = rotl32(h + *b * p5, 11) * p1;
        b++;
        n--;
    }
    h ^= h >> 15;
    h *= p2;
    h ^= h >> 13;
    h *= p3;
    h ^= h >> 16;
    return h;
}

// lz4_header_len returns the length of the LZ4 frame header at |p| (through the HC byte), or 0
// if |p| does not start an ordinary LZ4 frame.
static size_t lz4_header_len(const uint8_t *p, size_t n)
{
    if (n < 7 || le32(p) != LZ4_FRAME_MAGIC) {
        return 0;
    }
    uint8_t flg = p[4];
    return 7 + ((flg & 0x08) ? 8u : 0u) + ((flg & 0x01) ? 4u : 0u);
}

// lz4_step runs LZ4F_decompress once; returns false on a decoder error.
static bool lz4_step(LZ4F_dctx *ctx, struct sink *s, const uint8_t *src, size_t *src_n,
                     size_t *hint)
{
    size_t dst_n = sink_room(s);
    size_t rc = LZ4F_decompress(ctx, sink_ptr(s), &dst_n, src, src_n, NULL);
    if (LZ4F_isError(rc)) {
        return false;
    }
    s->len += dst_n;
    *hint = rc;
    return true;
}

// lz4_feed_fixed_header feeds a copy of the frame header at |in| with its HC byte recomputed.
static enum kp_status lz4_feed_fixed_header(LZ4F_dctx *ctx, struct sink *s, const uint8_t *in,
                                            size_t hlen, size_t *hint)
{
    uint8_t hdr[19];
    memcpy(hdr, in, hlen);
    hdr[hlen - 1] = (uint8_t)(kp_xxh32(hdr + 4, hlen - 5, 0) >> 8);
    size_t off = 0;
    while (off < hlen) {
        size_t n = hlen - off;
        enum kp_status st = sink_reserve(s, 1);
        if (st != KP_OK) {
            return st;
        }
        if (!lz4_step(ctx, s, hdr + off, &n, hint)) {
            return KP_ERR_CORRUPT;
        }
        if (n == 0) {
            return KP_ERR_CORRUPT;
        }
        off += n;
    }
    return KP_OK;
}

static enum kp_status lz4_loop(LZ4F_dctx *ctx, struct sink *s, const uint8_t *in, size_t in_len,
                               unsigned flags, size_t *pos)
{
    size_t hint = 0; // 0: at a frame boundary
    for (;;) {
        if (hint == 0 && *pos == in_len) {
            return KP_OK;
        }
        size_t hlen = lz4_header_len(in + *pos, in_len - *pos);
        if (hint == 0 && (flags & KP_DECOMP_LZ4_FIX_HC) && hlen > 0) {
            if (hlen > in_len - *pos) {
                return KP_ERR_CORRUPT;
            }
            enum kp_status st = lz4_feed_fixed_header(ctx, s, in + *pos, hlen, &hint);
            if (st != KP_OK) {
                return st;
            }
            *pos += hlen;
            continue;
        }
        enum kp_status st = sink_reserve(s, 65536);
        if (st != KP_OK) {
            return st;
        }
        size_t src_n = in_len - *pos;
        size_t len_before = s->len;
        if (!lz4_step(ctx, s, in + *pos, &src_n, &hint)) {
            return KP_ERR_CORRUPT;
        }
        *pos += src_n;
        if (s->len > s->max) {
            return KP_ERR_LIMIT;
        }
        if (src_n == 0 && s->len == len_before) {
            return KP_ERR_CORRUPT; // no progress with room left: the input ended inside a frame
        }
    }
}

static enum kp_status unlz4(struct sink *s, const uint8_t *in, size_t in_len, unsigned flags,
                            size_t *pos)
{
    LZ4F_dctx *ctx;
    *pos = 0;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) {
        return KP_ERR_LIMIT;
    }
    enum kp_status st = in_len == 0 ? KP_ERR_CORRUPT : lz4_loop(ctx, s, in, in_len, flags, pos);
    LZ4F_freeDecompressionContext(ctx);
    return st;
}

// ---- zstd ----------------------------------------------------------------------------------

static enum kp_status unzstd(struct sink *s, const uint8_t *in, size_t in_len, size_t *pos)
{
    *pos = 0;
    unsigned long long declared = ZSTD_getFrameContentSize(in, in_len);
    if (declared == ZSTD_CONTENTSIZE_ERROR) {
        return KP_ERR_CORRUPT;
    }
    size_t first = 65536;
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN) {
        if (declared > s->max) {
            return KP_ERR_LIMIT;
        }
        first = declared > 0 ? (size_t)declared : 1;
    }
    ZSTD_DCtx *ctx = ZSTD_createDCtx();
    if (!ctx) {
        return KP_ERR_LIMIT;
    }
    ZSTD_inBuffer ib = {in, in_len, 0};
    size_t ret = 1;
    enum kp_status st = KP_OK;
    for (;;) {
        st = sink_reserve(s, first);
        if (st != KP_OK) {
            break;
        }
        first = 1;
        ZSTD_outBuffer ob = {sink_ptr(s), sink_room(s), 0};
        size_t in_before = ib.pos;
        ret = ZSTD_decompressStream(ctx, &ob, &ib);
        if (ZSTD_isError(ret)) {
            st = KP_ERR_CORRUPT;
            break;
        }
        s->len += ob.pos;
        if (s->len > s->max) {
            st = KP_ERR_LIMIT;
            break;
        }
        if (ib.pos == in_len && ret == 0) {
            break;
        }
        if (ob.pos == 0 && ib.pos == in_before) {
            st = KP_ERR_CORRUPT; // the input ended inside a frame
            break;
        }
    }
    *pos = ib.pos;
    ZSTD_freeDCtx(ctx);
    return st;
}

enum kp_status kp_decompress(struct kp_arena *a, int codec, unsigned flags, const uint8_t *in,
                             size_t in_len, kr *out, struct kp_err *err)
{
    struct sink s;
    sink_init(&s, a);
    size_t pos = 0;
    enum kp_status st;
    const char *field;
    switch (codec) {
    case KP_CODEC_GZIP:
        field = "gzip data";
        st = gunzip(&s, in, in_len, &pos);
        break;
    case KP_CODEC_SNAPPY:
        field = "snappy data";
        st = unsnappy(&s, in, in_len, &pos);
        break;
    case KP_CODEC_LZ4:
        field = "lz4 data";
        st = unlz4(&s, in, in_len, flags, &pos);
        break;
    case KP_CODEC_ZSTD:
        field = "zstd data";
        st = unzstd(&s, in, in_len, &pos);
        break;
    default:
        return fail_at(err, "compression codec", 0, KP_ERR_UNSUPPORTED);
    }
    if (st == KP_OK) {
        st = sink_commit(&s, out);
    }
    if (st != KP_OK) {
        sink_abort(&s);
        return fail_at(err, field, pos, st);
    }
    return KP_OK;
}

// ---- compression ---------------------------------------------------------------------------

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
    memcpy(dst, xerial_magic, sizeof xerial_magic);
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
    size_t hlen = lz4_header_len(dst, n);
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
