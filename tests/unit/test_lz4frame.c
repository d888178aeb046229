// test_lz4frame.c: proto/compress.c's LZ4 frame parser (blocks decoded by liblz4's block API).
//
// Frames made by the real encoder (Debian's liblz4 frame compressor, the one librdkafka uses)
// with every frame option are decoded back; hand-built frames check each malformed shape and
// the error it names; and mutated frames are accepted exactly when liblz4's own frame decoder
// (LZ4F_decompress) accepts them, with the same bytes.
#include "proto/compress.h"
#include "tests/lib/golden.h"
#include "tests/lib/unit.h"

#include <lz4frame.h>
#include <stdlib.h>
#include <string.h>

// fill makes |n| bytes with repeats within and across 64 KiB blocks, and stretches of noise
// (which the encoder stores uncompressed).
static uint8_t *fill(size_t n, uint32_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    uint32_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        uint32_t r = x >> 16;
        if ((i / 70000) % 3 == 2) {
            p[i] = (uint8_t)(x >> 24); // noise
        } else if (i > 40000 && r % 4 != 0) {
            p[i] = p[i - 40000]; // reaches into the previous block
        } else {
            p[i] = (uint8_t)('a' + r % 5);
        }
    }
    return p;
}

// decode runs kp_decompress on a guarded copy of |in|; returns the status and, on KP_OK, a
// malloc'd copy of the output in |out|.
static enum kp_status decode(const uint8_t *in, size_t n, size_t limit, uint8_t **out,
                             size_t *out_len, struct kp_err *err)
{
    struct guarded g;
    guarded_copy(&g, in, n);
    struct kp_arena a;
    kp_arena_init(&a, limit);
    kr view;
    enum kp_status st = kp_decompress(&a, KP_CODEC_LZ4, 0, g.data, g.len, &view, err);
    *out = NULL;
    *out_len = 0;
    if (st == KP_OK) {
        *out = malloc(view.len ? view.len : 1);
        memcpy(*out, view.p, view.len);
        *out_len = view.len;
    } else {
        assert_int_equal(kp_arena_used(&a), 0);
    }
    kp_arena_cleanup(&a);
    guarded_free(&g);
    return st;
}

static void test_real_encoder_options(void **state)
{
    (void)state;
    size_t sizes[] = {0, 1, 65536, 65537, 250000};
    for (unsigned opt = 0; opt < 64; opt++) {
        LZ4F_preferences_t prefs;
        memset(&prefs, 0, sizeof prefs);
        prefs.frameInfo.blockMode = (opt & 1) ? LZ4F_blockIndependent : LZ4F_blockLinked;
        prefs.frameInfo.blockChecksumFlag =
            (opt & 2) ? LZ4F_blockChecksumEnabled : LZ4F_noBlockChecksum;
        prefs.frameInfo.contentChecksumFlag =
            (opt & 4) ? LZ4F_contentChecksumEnabled : LZ4F_noContentChecksum;
        prefs.frameInfo.blockSizeID = (LZ4F_blockSizeID_t)(LZ4F_max64KB + ((opt >> 4) & 3));
        prefs.compressionLevel = (opt & 8) ? 9 : 0; // HC or fast
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            size_t n = sizes[s];
            prefs.frameInfo.contentSize = (opt & 1) ? n : 0; // declared on half of them
            uint8_t *in = fill(n, opt + 1);
            size_t cap = LZ4F_compressFrameBound(n, &prefs);
            uint8_t *c = malloc(cap);
            size_t clen = LZ4F_compressFrame(c, cap, in, n, &prefs);
            assert_false(LZ4F_isError(clen));
            uint8_t *out;
            size_t len;
            struct kp_err err = {NULL, 0};
            enum kp_status st = decode(c, clen, 0, &out, &len, &err);
            if (st != KP_OK) {
                fail_msg("options %u size %zu: %s (%s at %zu)", opt, n, kp_status_name(st),
                         err.field, err.offset);
            }
            assert_int_equal(len, n);
            if (n > 0) {
                assert_memory_equal(out, in, n);
            }
            free(out);
            free(c);
            free(in);
        }
    }
}

// frame_header writes an LZ4 frame header (magic, FLG, BD, [content size], HC) into |p|;
// returns its length.
static size_t frame_header(uint8_t *p, uint8_t flg, uint8_t bd, uint64_t size)
{
    static const uint8_t magic[4] = {0x04, 0x22, 0x4d, 0x18};
    memcpy(p, magic, 4);
    p[4] = flg;
    p[5] = bd;
    size_t n = 6;
    if (flg & 0x08) {
        for (int i = 0; i < 8; i++) {
            p[n++] = (uint8_t)(size >> (8 * i));
        }
    }
    if (flg & 0x01) {
        memset(p + n, 0, 4); // dictionary id
        n += 4;
    }
    p[n] = (uint8_t)(kp_xxh32(p + 4, n - 4, 0) >> 8);
    return n + 1;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void expect(const uint8_t *in, size_t n, enum kp_status want, const char *field_part,
                   size_t offset)
{
    uint8_t *out;
    size_t len;
    struct kp_err err = {NULL, 0};
    enum kp_status st = decode(in, n, 1u << 20, &out, &len, &err);
    free(out);
    if (st != want) {
        fail_msg("got %s (%s), want %s (%s)", kp_status_name(st), err.field, kp_status_name(want),
                 field_part);
    }
    if (want != KP_OK) {
        if (!err.field || !strstr(err.field, field_part)) {
            fail_msg("error \"%s\" does not say \"%s\"", err.field, field_part);
        }
        assert_int_equal(err.offset, offset);
    }
}

static void test_malformed_frames(void **state)
{
    (void)state;
    uint8_t f[64];
    // A valid frame: one stored block "hello", the end mark. FLG 0x60: version 01, independent.
    size_t h = frame_header(f, 0x60, 0x40, 0);
    put_le32(f + h, 0x80000005u);
    memcpy(f + h + 4, "hello", 5);
    put_le32(f + h + 9, 0);
    size_t n = h + 13;
    expect(f, n, KP_OK, NULL, 0);
    expect(f, 0, KP_ERR_CORRUPT, "lz4 data (empty)", 0);
    expect(f, 3, KP_ERR_CORRUPT, "frame magic (truncated)", 0);
    expect(f, 6, KP_ERR_CORRUPT, "frame header (truncated)", 0);
    expect(f, h + 2, KP_ERR_CORRUPT, "block size (truncated)", h);
    expect(f, h + 6, KP_ERR_CORRUPT, "block (truncated)", h);
    expect(f, n - 1, KP_ERR_CORRUPT, "block size (truncated)", h + 9);
    uint8_t g[80];
    memcpy(g, f, n);
    memcpy(g + n, "\x01\x02\x03\x04", 4);
    expect(g, n + 4, KP_ERR_CORRUPT, "frame magic (not 04 22 4d 18)", n);
    g[h - 1] ^= 1;
    expect(g, n, KP_ERR_CORRUPT, "header checksum", h - 1);
    // 0x80000000 is an empty stored block, not the end mark (liblz4 reads it so too).
    memcpy(g, f, n);
    put_le32(g + h + 9, 0x80000000u);
    expect(g, n, KP_ERR_CORRUPT, "block size (truncated)", n);
    put_le32(g + n, 0);
    expect(g, n + 4, KP_OK, NULL, 0);
    // Descriptor errors: version 10, a reserved FLG bit, reserved BD bits, block size id 3.
    static const uint8_t bad_desc[][2] = {
        {0xa0, 0x40}, {0x62, 0x40}, {0x60, 0xc0}, {0x60, 0x41}, {0x60, 0x30}};
    for (size_t i = 0; i < sizeof bad_desc / sizeof bad_desc[0]; i++) {
        size_t hh = frame_header(g, bad_desc[i][0], bad_desc[i][1], 0);
        put_le32(g + hh, 0);
        expect(g, hh + 4, KP_ERR_CORRUPT, i == 0 ? "frame version" : "frame descriptor", 4);
    }
    size_t hh = frame_header(g, 0x61, 0x40, 0); // a dictionary id
    put_le32(g + hh, 0);
    expect(g, hh + 4, KP_ERR_CORRUPT, "dictionary id (not supported)", 4);
    // A block over the frame's maximum (64 KiB).
    hh = frame_header(g, 0x60, 0x40, 0);
    put_le32(g + hh, 0x80010001u);
    expect(g, hh + 4, KP_ERR_CORRUPT, "over the frame's block maximum", hh);
    // A compressed block that does not decode (a match before the start of the output).
    put_le32(g + hh, 3);
    memcpy(g + hh + 4, "\x0f\x05\x00", 3);
    put_le32(g + hh + 7, 0);
    expect(g, hh + 11, KP_ERR_CORRUPT, "block (does not decode)", hh);
    // Block checksum (FLG 0x70) and content checksum (FLG 0x64), each wrong by one bit.
    hh = frame_header(g, 0x70, 0x40, 0);
    put_le32(g + hh, 0x80000005u);
    memcpy(g + hh + 4, "hello", 5);
    put_le32(g + hh + 9, kp_xxh32("hello", 5, 0));
    put_le32(g + hh + 13, 0);
    expect(g, hh + 17, KP_OK, NULL, 0);
    g[hh + 9] ^= 1;
    expect(g, hh + 17, KP_ERR_CORRUPT, "block checksum", hh + 9);
    hh = frame_header(g, 0x64, 0x40, 0);
    put_le32(g + hh, 0x80000005u);
    memcpy(g + hh + 4, "hello", 5);
    put_le32(g + hh + 9, 0);
    put_le32(g + hh + 13, kp_xxh32("hello", 5, 0));
    expect(g, hh + 17, KP_OK, NULL, 0);
    expect(g, hh + 15, KP_ERR_CORRUPT, "content checksum (truncated)", hh + 13);
    g[hh + 13] ^= 1;
    expect(g, hh + 17, KP_ERR_CORRUPT, "content checksum", hh + 13);
    // Content size (FLG 0x68): 5 is right, 6 is not; 2^40 is over the arena limit at once.
    static const uint64_t sizes[] = {5, 6, (uint64_t)1 << 40};
    for (size_t i = 0; i < 3; i++) {
        hh = frame_header(g, 0x68, 0x40, sizes[i]);
        put_le32(g + hh, 0x80000005u);
        memcpy(g + hh + 4, "hello", 5);
        put_le32(g + hh + 9, 0);
        if (i == 0) {
            expect(g, hh + 13, KP_OK, NULL, 0);
        } else if (i == 1) {
            expect(g, hh + 13, KP_ERR_CORRUPT, "content size (not what", hh + 13);
        } else {
            expect(g, hh + 13, KP_ERR_LIMIT, "content size (over the arena limit)", 6);
        }
    }
    // A skippable frame before the frame is skipped; a truncated one is an error.
    put_le32(g, 0x184d2a53u);
    put_le32(g + 4, 3);
    memcpy(g + 8, "xyz", 3);
    memcpy(g + 11, f, n);
    expect(g, n + 11, KP_OK, NULL, 0);
    expect(g, 10, KP_ERR_CORRUPT, "skippable frame (truncated)", 0);
}

// ref_decode runs liblz4's frame decoder over all of |in|; returns true when every frame in it
// is complete and valid, with the output in |out|.
static bool ref_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    LZ4F_dctx *ctx;
    assert_false(LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION)));
    size_t pos = 0, len = 0, hint = 1;
    bool ok = n > 0;
    while (ok && pos < n) {
        size_t src_n = n - pos, dst_n = cap - len;
        hint = LZ4F_decompress(ctx, out + len, &dst_n, in + pos, &src_n, NULL);
        if (LZ4F_isError(hint) || (src_n == 0 && dst_n == 0)) {
            ok = false;
        }
        pos += src_n;
        len += dst_n;
    }
    LZ4F_freeDecompressionContext(ctx);
    *out_len = len;
    return ok && hint == 0;
}

static void test_differential(void **state)
{
    (void)state;
    size_t n = 150000, cap = (size_t)1 << 20;
    uint8_t *in = fill(n, 5);
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.blockMode = LZ4F_blockLinked;
    prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
    size_t ccap = LZ4F_compressFrameBound(n, &prefs);
    uint8_t *c = malloc(ccap), *ref = malloc(cap), *m = malloc(ccap);
    size_t clen = LZ4F_compressFrame(c, ccap, in, n, &prefs);
    assert_false(LZ4F_isError(clen));
    uint32_t x = 7;
    unsigned bad = 0;
    for (unsigned round = 0; round < 600; round++) {
        memcpy(m, c, clen);
        size_t mlen = clen;
        x = x * 1103515245u + 12345u;
        size_t at = round < 60 ? 4 + round % 20 : (x >> 8) % mlen; // the header, then anywhere
        m[at] ^= (uint8_t)(1u << (x % 8));
        if (round % 7 == 0) {
            mlen -= 1 + (x >> 3) % 16;
        }
        if (m[4] & 0x01) {
            continue; // a dictionary id: liblz4 decodes without the dictionary, we refuse
        }
        size_t ref_len;
        bool ref_ok = ref_decode(m, mlen, ref, cap, &ref_len);
        uint8_t *out;
        size_t len;
        enum kp_status st = decode(m, mlen, cap, &out, &len, NULL);
        if ((st == KP_OK) != ref_ok) {
            fail_msg("round %u (bit at %zu, %zu bytes): ours %s, liblz4 %s", round, at, mlen,
                     kp_status_name(st), ref_ok ? "ok" : "error");
        }
        if (st == KP_OK) {
            assert_int_equal(len, ref_len);
            assert_memory_equal(out, ref, len);
        } else {
            bad++;
        }
        free(out);
    }
    assert_true(bad > 50);
    free(m);
    free(ref);
    free(c);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_encoder_options),
        cmocka_unit_test(test_malformed_frames),
        cmocka_unit_test(test_differential),
    };
    return cmocka_run_group_tests_name("lz4frame", tests, NULL, NULL);
}
