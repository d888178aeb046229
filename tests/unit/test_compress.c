// test_compress.c: the codecs, the arena and its limit, XXH32, and the LZ4 header-checksum fix.
#include "proto/compress.h"
#include "proto/kw.h"
#include "tests/lib/unit.h"

#include <lz4frame.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

static const int codecs[] = {KP_CODEC_GZIP, KP_CODEC_SNAPPY, KP_CODEC_LZ4, KP_CODEC_ZSTD};

// fill makes |n| bytes of compressible but non-trivial text.
static uint8_t *fill(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    uint32_t x = 7;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)('a' + ((x >> 16) % 8) + (i % 64 == 0 ? 10 : 0));
    }
    return p;
}

static void compress_into(kw *w, int codec, unsigned flags, const uint8_t *in, size_t n)
{
    kw_init_grow(w);
    assert_int_equal(kp_compress(w, codec, flags, in, n), KP_OK);
}

static void test_round_trips(void **state)
{
    (void)state;
    size_t sizes[] = {0, 1, 100, 65536, 65537, 300000};
    for (size_t c = 0; c < 4; c++) {
        for (unsigned xerial = 0; xerial < 2; xerial++) {
            if (xerial && codecs[c] != KP_CODEC_SNAPPY) {
                continue;
            }
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                uint8_t *in = fill(sizes[s]);
                kw w;
                compress_into(&w, codecs[c], xerial ? KP_COMP_SNAPPY_XERIAL : 0, in, sizes[s]);
                struct kp_arena a;
                kp_arena_init(&a, 0);
                kr out;
                struct kp_err err = {NULL, 0};
                enum kp_status st =
                    kp_decompress(&a, codecs[c], 0, kw_data(&w), kw_len(&w), &out, &err);
                if (st != KP_OK) {
                    fail_msg("%s size %zu: %s (%s at %zu)", kp_codec_name(codecs[c]), sizes[s],
                             kp_status_name(st), err.field, err.offset);
                }
                assert_int_equal(out.len, sizes[s]);
                if (sizes[s] > 0) {
                    assert_memory_equal(out.p, in, sizes[s]);
                }
                assert_int_equal(kp_arena_used(&a), sizes[s]);
                kp_arena_cleanup(&a);
                kw_cleanup(&w);
                free(in);
            }
        }
    }
}

// Every strict prefix of a single compressed stream is an error, never a silent short result.
static void test_truncated_streams(void **state)
{
    (void)state;
    uint8_t *in = fill(5000);
    for (size_t c = 0; c < 4; c++) {
        kw w;
        compress_into(&w, codecs[c], 0, in, 5000);
        struct kp_arena a;
        kp_arena_init(&a, 0);
        for (size_t n = 0; n < kw_len(&w); n++) {
            uint8_t *copy = malloc(n ? n : 1);
            memcpy(copy, kw_data(&w), n);
            kr out;
            enum kp_status st = kp_decompress(&a, codecs[c], 0, copy, n, &out, NULL);
            if (st == KP_OK) {
                fail_msg("%s prefix %zu of %zu decoded", kp_codec_name(codecs[c]), n, kw_len(&w));
            }
            free(copy);
        }
        assert_int_equal(kp_arena_used(&a), 0);
        kp_arena_cleanup(&a);
        kw_cleanup(&w);
    }
    free(in);
}

static void test_limit(void **state)
{
    (void)state;
    uint8_t *in = fill(100000);
    for (size_t c = 0; c < 4; c++) {
        kw w;
        compress_into(&w, codecs[c], 0, in, 100000);
        kr out;
        struct kp_arena a;
        kp_arena_init(&a, 100000); // exactly enough
        assert_int_equal(kp_decompress(&a, codecs[c], 0, kw_data(&w), kw_len(&w), &out, NULL),
                         KP_OK);
        // The arena is full now: a second copy does not fit.
        struct kp_err err = {NULL, 0};
        assert_int_equal(kp_decompress(&a, codecs[c], 0, kw_data(&w), kw_len(&w), &out, &err),
                         KP_ERR_LIMIT);
        assert_non_null(err.field);
        kp_arena_reset(&a);
        assert_int_equal(kp_arena_used(&a), 0);
        assert_int_equal(kp_decompress(&a, codecs[c], 0, kw_data(&w), kw_len(&w), &out, NULL),
                         KP_OK);
        kp_arena_cleanup(&a);
        kp_arena_init(&a, 99999); // one byte short
        assert_int_equal(kp_decompress(&a, codecs[c], 0, kw_data(&w), kw_len(&w), &out, NULL),
                         KP_ERR_LIMIT);
        kp_arena_cleanup(&a);
        kw_cleanup(&w);
    }
    free(in);
}

// Earlier views stay valid while later blobs are decompressed into the same arena.
static void test_arena_views_stable(void **state)
{
    (void)state;
    struct kp_arena a;
    kp_arena_init(&a, 0);
    kr views[20];
    uint8_t *ins[20];
    for (size_t i = 0; i < 20; i++) {
        size_t n = 1000 * (i + 1) * (i + 1);
        ins[i] = fill(n);
        ins[i][0] = (uint8_t)i;
        kw w;
        compress_into(&w, codecs[i % 4], 0, ins[i], n);
        assert_int_equal(
            kp_decompress(&a, codecs[i % 4], 0, kw_data(&w), kw_len(&w), &views[i], NULL), KP_OK);
        kw_cleanup(&w);
    }
    for (size_t i = 0; i < 20; i++) {
        assert_int_equal(views[i].len, 1000 * (i + 1) * (i + 1));
        assert_memory_equal(views[i].p, ins[i], views[i].len);
        free(ins[i]);
    }
    // After a reset a block is kept for reuse, and decompressing again works.
    kp_arena_reset(&a);
    assert_int_equal(kp_arena_used(&a), 0);
    assert_non_null(a.spare);
    uint8_t *in = fill(5000);
    kw w;
    compress_into(&w, KP_CODEC_ZSTD, 0, in, 5000);
    assert_int_equal(kp_decompress(&a, KP_CODEC_ZSTD, 0, kw_data(&w), kw_len(&w), &views[0], NULL),
                     KP_OK);
    assert_memory_equal(views[0].p, in, 5000);
    kw_cleanup(&w);
    free(in);
    kp_arena_cleanup(&a);
    kp_arena_cleanup(&a); // twice is fine
}

// Concatenated gzip members, LZ4 frames and zstd frames decode to the concatenation.
static void test_concatenated(void **state)
{
    (void)state;
    uint8_t *in = fill(30000);
    int cs[] = {KP_CODEC_GZIP, KP_CODEC_LZ4, KP_CODEC_ZSTD};
    for (size_t c = 0; c < 3; c++) {
        kw w;
        kw_init_grow(&w);
        assert_int_equal(kp_compress(&w, cs[c], 0, in, 10000), KP_OK);
        assert_int_equal(kp_compress(&w, cs[c], 0, in + 10000, 20000), KP_OK);
        struct kp_arena a;
        kp_arena_init(&a, 0);
        kr out;
        assert_int_equal(kp_decompress(&a, cs[c], 0, kw_data(&w), kw_len(&w), &out, NULL), KP_OK);
        assert_int_equal(out.len, 30000);
        assert_memory_equal(out.p, in, 30000);
        kp_arena_cleanup(&a);
        kw_cleanup(&w);
    }
    free(in);
}

// XXH32 against liblz4's own use of it: the header checksum and the content checksum.
static void test_xxh32(void **state)
{
    (void)state;
    assert_int_equal(kp_xxh32("", 0, 0), 0x02cc5d05u);
    uint8_t *in = fill(1000);
    for (size_t n = 0; n < 1000; n += 37) {
        LZ4F_preferences_t prefs;
        memset(&prefs, 0, sizeof prefs);
        prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
        size_t cap = LZ4F_compressFrameBound(n, &prefs);
        uint8_t *dst = malloc(cap);
        size_t len = LZ4F_compressFrame(dst, cap, in, n, &prefs);
        assert_false(LZ4F_isError(len));
        uint32_t content = (uint32_t)dst[len - 4] | (uint32_t)dst[len - 3] << 8 |
                           (uint32_t)dst[len - 2] << 16 | (uint32_t)dst[len - 1] << 24;
        assert_int_equal(kp_xxh32(in, n, 0), content);
        assert_int_equal((kp_xxh32(dst + 4, 2, 0) >> 8) & 0xff, dst[6]);
        free(dst);
    }
    free(in);
}

// Old Kafka (magic 0) LZ4 frames carry a header checksum over the magic bytes too.
static void test_lz4_bad_header_checksum(void **state)
{
    (void)state;
    uint8_t *in = fill(20000);
    kw w;
    compress_into(&w, KP_CODEC_LZ4, KP_COMP_LZ4_BAD_HC, in, 20000);
    struct kp_arena a;
    kp_arena_init(&a, 0);
    kr out;
    assert_int_equal(kp_decompress(&a, KP_CODEC_LZ4, 0, kw_data(&w), kw_len(&w), &out, NULL),
                     KP_ERR_CORRUPT);
    assert_int_equal(
        kp_decompress(&a, KP_CODEC_LZ4, KP_DECOMP_LZ4_FIX_HC, kw_data(&w), kw_len(&w), &out, NULL),
        KP_OK);
    assert_memory_equal(out.p, in, 20000);
    kw_cleanup(&w);
    // The fix is harmless on a correct frame.
    compress_into(&w, KP_CODEC_LZ4, 0, in, 20000);
    assert_int_equal(
        kp_decompress(&a, KP_CODEC_LZ4, KP_DECOMP_LZ4_FIX_HC, kw_data(&w), kw_len(&w), &out, NULL),
        KP_OK);
    assert_memory_equal(out.p, in, 20000);
    kw_cleanup(&w);
    kp_arena_cleanup(&a);
    free(in);
}

// A streaming zstd frame has no content size; it still decodes.
static void test_zstd_without_content_size(void **state)
{
    (void)state;
    uint8_t *in = fill(200000);
    size_t cap = ZSTD_compressBound(200000);
    uint8_t *dst = malloc(cap);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0)));
    ZSTD_inBuffer ib = {in, 200000, 0};
    ZSTD_outBuffer ob = {dst, cap, 0};
    size_t rc;
    do {
        rc = ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end);
        assert_false(ZSTD_isError(rc));
    } while (rc != 0);
    ZSTD_freeCCtx(cc);
    assert_int_equal(ZSTD_getFrameContentSize(dst, ob.pos), ZSTD_CONTENTSIZE_UNKNOWN);
    struct kp_arena a;
    kp_arena_init(&a, 0);
    kr out;
    assert_int_equal(kp_decompress(&a, KP_CODEC_ZSTD, 0, dst, ob.pos, &out, NULL), KP_OK);
    assert_int_equal(out.len, 200000);
    assert_memory_equal(out.p, in, 200000);
    kp_arena_cleanup(&a);
    kp_arena_init(&a, 150000);
    assert_int_equal(kp_decompress(&a, KP_CODEC_ZSTD, 0, dst, ob.pos, &out, NULL), KP_ERR_LIMIT);
    kp_arena_cleanup(&a);
    free(dst);
    free(in);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    struct kp_arena a;
    kp_arena_init(&a, 0);
    kr out;
    struct kp_err err = {NULL, 0};
    static const uint8_t junk[] = "this is not compressed data at all";
    assert_int_equal(kp_decompress(&a, KP_CODEC_NONE, 0, junk, sizeof junk, &out, &err),
                     KP_ERR_UNSUPPORTED);
    assert_int_equal(kp_decompress(&a, 7, 0, junk, sizeof junk, &out, &err), KP_ERR_UNSUPPORTED);
    for (size_t c = 0; c < 4; c++) {
        assert_int_equal(kp_decompress(&a, codecs[c], 0, junk, sizeof junk, &out, &err),
                         KP_ERR_CORRUPT);
        assert_non_null(err.field);
    }
    // A xerial header followed by a chunk length past the end.
    static const uint8_t xerial[] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0,
                                     1,    0,   0,   0,   1,   0,   0,   0, 9, 1, 2};
    assert_int_equal(kp_decompress(&a, KP_CODEC_SNAPPY, 0, xerial, sizeof xerial, &out, &err),
                     KP_ERR_CORRUPT);
    // A raw snappy block declaring 2^31 bytes stops at the limit before allocating.
    static const uint8_t huge[] = {0x80, 0x80, 0x80, 0x80, 0x08, 0x00};
    assert_int_equal(kp_decompress(&a, KP_CODEC_SNAPPY, 0, huge, sizeof huge, &out, &err),
                     KP_ERR_LIMIT);
    assert_int_equal(kp_arena_used(&a), 0);
    assert_int_equal(kp_compress(NULL, KP_CODEC_NONE, 0, junk, 1), KP_ERR_UNSUPPORTED);
    assert_string_equal(kp_codec_name(KP_CODEC_LZ4), "lz4");
    assert_string_equal(kp_codec_name(9), "unknown");
    kp_arena_cleanup(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_truncated_streams),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_arena_views_stable),
        cmocka_unit_test(test_concatenated),
        cmocka_unit_test(test_xxh32),
        cmocka_unit_test(test_lz4_bad_header_checksum),
        cmocka_unit_test(test_zstd_without_content_size),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests_name("compress", tests, NULL, NULL);
}
