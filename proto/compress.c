// compress.c: the arena and the four decompressors (zlib, our own snappy block decoder in
// snappy.c, LZ4 frames parsed here over liblz4's block decoder, zstd streaming). The compressors
// are in compress_write.c, so a program that only decodes (kesm) links no compressor and no
// libsnappy.
#include "proto/compress.h"

#include "proto/snappy.h"

#include <limits.h>
#include <lz4.h>
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

// snappy_block decodes one raw block; |base| is its offset in the whole blob, for errors.
static enum kp_status snappy_block(struct sink *s, const uint8_t *in, size_t in_len, size_t base,
                                   struct kp_err *err)
{
    size_t n;
    enum kp_status st = kp_snappy_length(in, in_len, &n, err);
    if (st == KP_OK && (s->len > s->max || n > s->max - s->len)) {
        err->field = "snappy uncompressed length (over the arena limit)";
        err->offset = 0;
        st = KP_ERR_LIMIT;
    }
    if (st == KP_OK) {
        st = sink_reserve(s, n);
    }
    if (st == KP_OK) {
        st = kp_snappy_decode(n > 0 ? sink_ptr(s) : NULL, n, in, in_len, err);
    }
    if (st != KP_OK) {
        err->offset += base;
        return st;
    }
    s->len += n;
    return KP_OK;
}

// unsnappy decodes a raw block, or snappy-java's xerial framing: the magic, two big-endian int32
// versions, then {big-endian int32 length, raw block} chunks to the end.
static enum kp_status unsnappy(struct sink *s, const uint8_t *in, size_t in_len, struct kp_err *err)
{
    err->field = "snappy data";
    err->offset = 0;
    if (in_len < 16 || memcmp(in, KP_XERIAL_MAGIC, KP_XERIAL_MAGIC_LEN) != 0) {
        return snappy_block(s, in, in_len, 0, err);
    }
    kr r;
    kr_init(&r, in, in_len);
    kr_skip(&r, KP_XERIAL_MAGIC_LEN + 8); // the magic and both versions: 16 bytes are there
    while (kr_left(&r) > 0) {
        int32_t n;
        kr chunk;
        err->offset = kr_offset(&r);
        if (!kr_i32(&r, &n)) {
            err->field = "snappy xerial chunk length (truncated)";
            return KP_ERR_CORRUPT;
        }
        if (n < 0 || !kr_sub(&r, &chunk, (size_t)n)) {
            err->field = "snappy xerial chunk (negative or past the end of the input)";
            return KP_ERR_CORRUPT;
        }
        enum kp_status st = snappy_block(s, chunk.p, chunk.len, kr_offset(&r) - chunk.len, err);
        if (st != KP_OK) {
            return st;
        }
    }
    err->offset = in_len;
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

size_t kp_lz4_header_len(const uint8_t *p, size_t n)
{
    if (n < 7 || le32(p) != LZ4_FRAME_MAGIC) {
        return 0;
    }
    uint8_t flg = p[4];
    return 7 + ((flg & 0x08) ? 8u : 0u) + ((flg & 0x01) ? 4u : 0u);
}

// LZ4 frames (lz4's doc/lz4_Frame_format.md) are parsed here and each block is decoded by
// liblz4's LZ4_decompress_safe (linked blocks: _usingDict, the frame's last 64 KiB of output as
// the dictionary). liblz4's own frame decoder is not used: its object file carries the frame
// compressor, which pulls in the whole HC compressor (about 70 KB of kesm's static binary).
//
// A frame: magic, FLG (version 01, block independence, block checksums, content size, content
// checksum, reserved 0, dictionary id), BD (block maximum size id 4-7, reserved bits 0), the
// content size (8 bytes, optional; 0 means unknown), the header checksum (second byte of XXH32 over
// FLG..), then blocks {uint32 size, high bit = stored uncompressed; data; XXH32 of the data if FLG
// says so} up to a zero size, then the XXH32 of the frame's content if FLG says so. Skippable
// frames (magic 0x184D2A5?, uint32 size, bytes) are skipped. Frames with a dictionary id are
// refused: no Kafka client writes them.

#define LZ4_SKIP_MAGIC 0x184D2A50u // the low four bits are free

struct lz4_frame {
    size_t start;     // the sink's length when the frame began
    size_t bmax;      // the largest block, decoded
    bool linked;      // blocks may refer to earlier blocks' output
    bool block_sum;   // each block is followed by its XXH32
    bool content_sum; // the end mark is followed by the XXH32 of the content
    bool has_size;    // the header declares a content size other than 0
    uint64_t size;    // the declared content size
};

static enum kp_status lz4_bad(struct kp_err *e, const char *why, size_t at, enum kp_status st)
{
    e->field = why;
    e->offset = at;
    return st;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

// lz4_header parses the frame header at in[*pos] (its magic checked) into |f|.
static enum kp_status lz4_header(struct sink *s, const uint8_t *in, size_t in_len, unsigned flags,
                                 size_t *pos, struct lz4_frame *f, struct kp_err *e)
{
    size_t at = *pos;
    if (in_len - at < 7) {
        return lz4_bad(e, "lz4 frame header (truncated)", at, KP_ERR_CORRUPT);
    }
    uint8_t flg = in[at + 4], bd = in[at + 5];
    if (flg >> 6 != 1) {
        return lz4_bad(e, "lz4 frame version (not 01)", at + 4, KP_ERR_CORRUPT);
    }
    if ((flg & 0x02) || (bd & 0x8f) || ((bd >> 4) & 7) < 4) {
        return lz4_bad(e, "lz4 frame descriptor (reserved bits, or a block size id not 4-7)",
                       at + 4, KP_ERR_CORRUPT);
    }
    if (flg & 0x01) {
        return lz4_bad(e, "lz4 frame with a dictionary id (not supported)", at + 4, KP_ERR_CORRUPT);
    }
    size_t hlen = (flg & 0x08) ? 15 : 7;
    if (in_len - at < hlen) {
        return lz4_bad(e, "lz4 frame header (truncated)", at, KP_ERR_CORRUPT);
    }
    if (!(flags & KP_DECOMP_LZ4_FIX_HC) &&
        in[at + hlen - 1] != (uint8_t)(kp_xxh32(in + at + 4, hlen - 5, 0) >> 8)) {
        return lz4_bad(e, "lz4 frame header checksum", at + hlen - 1, KP_ERR_CORRUPT);
    }
    f->start = s->len;
    f->bmax = (size_t)1 << (8 + 2 * ((bd >> 4) & 7));
    f->linked = !(flg & 0x20);
    f->block_sum = (flg & 0x10) != 0;
    f->content_sum = (flg & 0x04) != 0;
    f->size = (flg & 0x08) ? le64(in + at + 6) : 0;
    f->has_size = f->size != 0; // as liblz4: a declared 0 means unknown
    if (f->has_size && (s->len > s->max || f->size > s->max - s->len)) {
        return lz4_bad(e, "lz4 content size (over the arena limit)", at + 6, KP_ERR_LIMIT);
    }
    *pos = at + hlen;
    return KP_OK;
}

// lz4_decode_block decodes the compressed block |src| (|n| bytes) onto the end of the sink.
static enum kp_status lz4_decode_block(struct sink *s, const struct lz4_frame *f,
                                       const uint8_t *src, size_t n, size_t at, struct kp_err *e)
{
    enum kp_status st = sink_reserve(s, f->bmax);
    if (st != KP_OK) {
        return lz4_bad(e, "lz4 block (over the arena limit)", at, st);
    }
    size_t room = sink_room(s) < f->bmax ? sink_room(s) : f->bmax;
    uint8_t *dst = sink_ptr(s);
    size_t dict = f->linked ? s->len - f->start : 0;
    if (dict > 65536) {
        dict = 65536;
    }
    int got = dict > 0
                  ? LZ4_decompress_safe_usingDict((const char *)src, (char *)dst, (int)n, (int)room,
                                                  (const char *)dst - dict, (int)dict)
                  : LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)room);
    if (got < 0) {
        // With less room than a whole block (the arena's limit), a failure may be either.
        return room < f->bmax
                   ? lz4_bad(e, "lz4 block (over the arena limit, or corrupt)", at, KP_ERR_LIMIT)
                   : lz4_bad(e, "lz4 block (does not decode)", at, KP_ERR_CORRUPT);
    }
    s->len += (size_t)got;
    return KP_OK;
}

// lz4_block reads the block at in[*pos]; *end is set at the end mark.
static enum kp_status lz4_block(struct sink *s, const struct lz4_frame *f, const uint8_t *in,
                                size_t in_len, size_t *pos, bool *end, struct kp_err *e)
{
    size_t at = *pos;
    if (in_len - at < 4) {
        return lz4_bad(e, "lz4 block size (truncated)", at, KP_ERR_CORRUPT);
    }
    uint32_t raw = le32(in + at);
    if (raw == 0) { // the end mark (0x80000000 is an empty stored block)
        *pos = at + 4;
        *end = true;
        return KP_OK;
    }
    size_t n = raw & 0x7fffffffu;
    if (n > f->bmax) {
        return lz4_bad(e, "lz4 block size (over the frame's block maximum)", at, KP_ERR_CORRUPT);
    }
    size_t sum = f->block_sum ? 4 : 0;
    if (in_len - at - 4 < n + sum) {
        return lz4_bad(e, "lz4 block (truncated)", at, KP_ERR_CORRUPT);
    }
    const uint8_t *src = in + at + 4;
    if (sum && le32(src + n) != kp_xxh32(src, n, 0)) {
        return lz4_bad(e, "lz4 block checksum", at + 4 + n, KP_ERR_CORRUPT);
    }
    enum kp_status st;
    if (raw >> 31) { // stored
        st = s->len > s->max || n > s->max - s->len ? KP_ERR_LIMIT : sink_reserve(s, n);
        if (st != KP_OK) {
            return lz4_bad(e, "lz4 block (over the arena limit)", at, st);
        }
        if (n > 0) {
            memcpy(sink_ptr(s), src, n);
            s->len += n;
        }
    } else if ((st = lz4_decode_block(s, f, src, n, at, e)) != KP_OK) {
        return st;
    }
    if (s->len > s->max) {
        return lz4_bad(e, "lz4 block (over the arena limit)", at, KP_ERR_LIMIT);
    }
    *pos = at + 4 + n + sum;
    return KP_OK;
}

// lz4_frame decodes the frame at in[*pos] (its magic checked).
static enum kp_status lz4_frame(struct sink *s, const uint8_t *in, size_t in_len, unsigned flags,
                                size_t *pos, struct kp_err *e)
{
    struct lz4_frame f;
    enum kp_status st = lz4_header(s, in, in_len, flags, pos, &f, e);
    bool end = false;
    while (st == KP_OK && !end) {
        st = lz4_block(s, &f, in, in_len, pos, &end, e);
    }
    if (st != KP_OK) {
        return st;
    }
    size_t got = s->len - f.start;
    if (f.has_size && got != f.size) {
        return lz4_bad(e, "lz4 content size (not what the frame header declares)", *pos,
                       KP_ERR_CORRUPT);
    }
    if (f.content_sum) {
        if (in_len - *pos < 4) {
            return lz4_bad(e, "lz4 content checksum (truncated)", *pos, KP_ERR_CORRUPT);
        }
        const uint8_t *content = got > 0 ? s->blk->data + f.start : NULL;
        if (le32(in + *pos) != kp_xxh32(content, got, 0)) {
            return lz4_bad(e, "lz4 content checksum", *pos, KP_ERR_CORRUPT);
        }
        *pos += 4;
    }
    return KP_OK;
}

// unlz4 decodes one or more frames (skippable frames are skipped).
static enum kp_status unlz4(struct sink *s, const uint8_t *in, size_t in_len, unsigned flags,
                            struct kp_err *e)
{
    size_t pos = 0;
    if (in_len == 0) {
        return lz4_bad(e, "lz4 data (empty)", 0, KP_ERR_CORRUPT);
    }
    while (pos < in_len) {
        if (in_len - pos < 4) {
            return lz4_bad(e, "lz4 frame magic (truncated)", pos, KP_ERR_CORRUPT);
        }
        uint32_t magic = le32(in + pos);
        if ((magic & 0xfffffff0u) == LZ4_SKIP_MAGIC) {
            if (in_len - pos < 8 || le32(in + pos + 4) > in_len - pos - 8) {
                return lz4_bad(e, "lz4 skippable frame (truncated)", pos, KP_ERR_CORRUPT);
            }
            pos += 8 + le32(in + pos + 4);
            continue;
        }
        if (magic != LZ4_FRAME_MAGIC) {
            return lz4_bad(e, "lz4 frame magic (not 04 22 4d 18)", pos, KP_ERR_CORRUPT);
        }
        enum kp_status st = lz4_frame(s, in, in_len, flags, &pos, e);
        if (st != KP_OK) {
            return st;
        }
    }
    e->offset = in_len;
    return KP_OK;
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
    case KP_CODEC_SNAPPY: {
        struct kp_err detail = {NULL, 0};
        st = unsnappy(&s, in, in_len, &detail);
        field = detail.field;
        pos = detail.offset;
        break;
    }
    case KP_CODEC_LZ4: {
        struct kp_err detail = {"lz4 data", 0};
        st = unlz4(&s, in, in_len, flags, &detail);
        field = detail.field;
        pos = detail.offset;
        break;
    }
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
