// test_snappy.c: proto/snappy.c, the raw snappy block decoder.
//
// Golden blocks written by hand from google/snappy's format_description.txt (one per element
// kind), blocks made by the real encoder (Debian's libsnappy, the one librdkafka and the Java
// client's snappy-java wrap) decoded back, every malformed shape the format forbids, and a
// differential check: mutated libsnappy blocks are accepted by our decoder exactly when
// libsnappy's own decoder accepts them, with the same bytes. Inputs sit flush against a
// PROT_NONE page, so a read past the end faults even without ASan.
#include "proto/compress.h"
#include "proto/snappy.h"
#include "tests/lib/golden.h"
#include "tests/lib/unit.h"

#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

// decode runs kp_snappy_length and kp_snappy_decode on a guarded copy of |hex|'s bytes. Returns
// the status; on KP_OK |out| (malloc'd, caller frees) holds *out_len bytes.
static enum kp_status decode_bytes(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len,
                                   struct kp_err *err)
{
    struct guarded g;
    guarded_copy(&g, in, n);
    size_t len = 0;
    *out = NULL;
    enum kp_status st = kp_snappy_length(g.data, g.len, &len, err);
    if (st == KP_OK && len > ((size_t)64 << 20)) {
        st = KP_ERR_LIMIT; // the tests never declare this much on purpose
    }
    if (st == KP_OK) {
        *out = malloc(len ? len : 1);
        st = kp_snappy_decode(*out, len, g.data, g.len, err);
    }
    if (st != KP_OK) {
        free(*out);
        *out = NULL;
    }
    *out_len = len;
    guarded_free(&g);
    return st;
}

static enum kp_status decode_hex(const char *hex, uint8_t **out, size_t *out_len,
                                 struct kp_err *err)
{
    uint8_t in[256];
    size_t n = hex_decode(hex, in, sizeof in);
    return decode_bytes(in, n, out, out_len, err);
}

static void expect_ok(const char *hex, const char *want)
{
    uint8_t *out;
    size_t len;
    struct kp_err err = {NULL, 0};
    enum kp_status st = decode_hex(hex, &out, &len, &err);
    if (st != KP_OK) {
        fail_msg("%s: %s (%s at %zu)", hex, kp_status_name(st), err.field, err.offset);
    }
    assert_int_equal(len, strlen(want));
    assert_memory_equal(out, want, len);
    free(out);
}

static void expect_bad(const char *hex, const char *field_part, size_t offset)
{
    uint8_t *out;
    size_t len;
    struct kp_err err = {NULL, 0};
    enum kp_status st = decode_hex(hex, &out, &len, &err);
    if (st != KP_ERR_CORRUPT) {
        fail_msg("%s: got %s, want corrupt (%s)", hex, kp_status_name(st), field_part);
    }
    assert_non_null(err.field);
    if (!strstr(err.field, field_part)) {
        fail_msg("%s: error \"%s\" does not say \"%s\"", hex, err.field, field_part);
    }
    assert_int_equal(err.offset, offset);
}

static void test_golden_elements(void **state)
{
    (void)state;
    expect_ok("00", "");                               // an empty block: the length alone
    expect_ok("03 08 61 62 63", "abc");                // literal, length - 1 = 2 in the tag
    expect_ok("07 08 78 61 62 | 01 02",                // "xab", then copy-1 length 4 offset 2 (RLE)
              "xababab");                              // the format description's own example
    expect_ok("0a 08 61 62 63 | 0d 03", "abcabcabca"); // copy-1: length 7 (bits 2-4 = 3)
    expect_ok("06 08 61 62 63 | 0a 03 00", "abcabc");  // copy-2: length 3, offset 3
    expect_ok("06 08 61 62 63 | 0b 03 00 00 00", "abcabc");    // copy-4: length 3, offset 3
    expect_ok("05 f0 04 68 65 6c 6c 6f", "hello");             // literal, 1 length byte (60)
    expect_ok("05 f4 04 00 68 65 6c 6c 6f", "hello");          // 2 length bytes (61)
    expect_ok("05 f8 04 00 00 68 65 6c 6c 6f", "hello");       // 3 length bytes (62)
    expect_ok("05 fc 04 00 00 00 68 65 6c 6c 6f", "hello");    // 4 length bytes (63)
    expect_ok("05 04 61 62 | 00 63 | 00 64 | 00 65", "abcde"); // literals back to back
    char run[129];
    memset(run, 'a', 128);
    run[128] = 0;
    expect_ok("80 01 00 61 | fe 01 00 | fa 01 00", run); // 128 x "a": 1, then copies of 64, 63
    // copy-1 with an offset above 255: bits 5-7 of the tag hold offset bits 8-10.
    uint8_t big[300], *out;
    size_t len;
    big[0] = 0xb0; // varint 304: 0x130
    big[1] = 0x02;
    big[2] = 0xf0; // literal, 1 length byte: 256 - 1
    big[3] = 0xff;
    for (size_t i = 0; i < 256; i++) {
        big[4 + i] = (uint8_t)i;
    }
    big[260] = 0x01 | 0 << 2 | 1 << 5; // copy-1, length 4, offset 256 (0x100)
    big[261] = 0x00;
    big[262] = 0x0d | 7 << 5; // copy-1, length 7... offset 0x7ff reaches before the start
    big[263] = 0xff;
    struct kp_err err = {NULL, 0};
    assert_int_equal(decode_bytes(big, 262, &out, &len, &err), KP_ERR_CORRUPT); // 260 of 304
    assert_non_null(strstr(err.field, "ends before the declared length"));
    big[0] = 0x84; // 260
    assert_int_equal(decode_bytes(big, 262, &out, &len, &err), KP_OK);
    assert_int_equal(len, 260);
    assert_memory_equal(out + 256, "\0\1\2\3", 4);
    free(out);
    big[0] = 0x8b; // 267
    assert_int_equal(decode_bytes(big, 264, &out, &len, &err), KP_ERR_CORRUPT);
    assert_non_null(strstr(err.field, "before the start of the output"));
    assert_int_equal(err.offset, 262);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_bad("", "truncated varint", 0);
    expect_bad("80", "truncated varint", 0);
    expect_bad("80 80 80 80", "truncated varint", 0);
    expect_bad("ff ff ff ff 10", "above 2^32 - 1", 0);               // 2^32
    expect_bad("80 80 80 80 80 00", "above 2^32 - 1", 0);            // a sixth byte
    expect_bad("04 0c 61 62 63", "truncated: runs past the end", 1); // 4 bytes, 3 there
    expect_bad("05 f0", "literal length (truncated)", 1);
    expect_bad("05 fc 04 00 00", "literal length (truncated)", 1);
    expect_bad("02 08 61 62 63", "output longer than the declared length", 1);
    expect_bad("04 00 61 | 01", "copy offset (truncated)", 3);
    expect_bad("04 00 61 | 02 01", "copy offset (truncated)", 3);
    expect_bad("04 00 61 | 03 01 00 00", "copy offset (truncated)", 3);
    expect_bad("05 00 61 | 01 00", "copy offset 0", 3);
    expect_bad("05 00 61 | 02 00 00", "copy offset 0", 3);
    expect_bad("05 00 61 | 03 00 00 00 00", "copy offset 0", 3);
    expect_bad("05 00 61 | 01 02", "before the start of the output", 3);
    expect_bad("04 00 61 | 02 02 00", "before the start of the output", 3);
    expect_bad("08 00 61 | 21 00", "before the start of the output", 3); // 11-bit offset 256
    expect_bad("03 00 61 | 05 01", "copy (output longer than the declared length", 3);
    expect_bad("01 00 61 | 00 62", "literal (output longer than the declared length", 3);
    expect_bad("05 08 61 62 63", "ends before the declared length", 5);
    expect_bad("01 01 01", "before the start of the output", 1); // a block starting with a copy
    // kp_snappy_decode checks its buffer against the declared length.
    uint8_t out[4];
    struct kp_err err = {NULL, 0};
    static const uint8_t abc[] = {0x03, 0x08, 'a', 'b', 'c'};
    assert_int_equal(kp_snappy_decode(out, sizeof out, abc, sizeof abc, &err), KP_ERR_CORRUPT);
    assert_non_null(strstr(err.field, "output buffer"));
    assert_int_equal(kp_snappy_decode(out, 3, abc, sizeof abc, NULL), KP_OK);
}

// fill makes |n| bytes with repeats near and far (so every copy kind appears) and noise.
static uint8_t *fill(size_t n, uint32_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    uint32_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        uint32_t r = x >> 16;
        if (i > 70000 && r % 5 == 0) {
            p[i] = p[i - 70000 + (r % 7)]; // far: a 4-byte offset once the encoder's 64 KiB
        } else if (i > 3000 && r % 3 == 0) {
            p[i] = p[i - 2500]; // 2-byte offsets
        } else {
            p[i] = (uint8_t)(r % 11 ? 'a' + r % 6 : r);
        }
    }
    return p;
}

static void test_real_encoder(void **state)
{
    (void)state;
    size_t sizes[] = {0, 1, 5, 59, 60, 61, 256, 257, 65535, 65536, 65537, 200000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (uint32_t seed = 1; seed <= 3; seed++) {
            size_t n = sizes[s];
            uint8_t *in = fill(n, seed);
            if (seed == 3) {
                memset(in, 'z', n); // one long run: overlapping copies only
            }
            size_t clen = snappy_max_compressed_length(n);
            char *c = malloc(clen);
            assert_int_equal(snappy_compress((const char *)in, n, c, &clen), SNAPPY_OK);
            uint8_t *out;
            size_t len;
            struct kp_err err = {NULL, 0};
            enum kp_status st = decode_bytes((const uint8_t *)c, clen, &out, &len, &err);
            if (st != KP_OK) {
                fail_msg("size %zu seed %u: %s (%s at %zu)", n, seed, kp_status_name(st), err.field,
                         err.offset);
            }
            assert_int_equal(len, n);
            if (n > 0) {
                assert_memory_equal(out, in, n);
            }
            free(out);
            // Every strict prefix fails (a short block never passes as a short result).
            for (size_t cut = 0; cut<clen; cut += clen> 4000 ? 97 : 1) {
                assert_int_equal(decode_bytes((const uint8_t *)c, cut, &out, &len, NULL),
                                 KP_ERR_CORRUPT);
            }
            free(c);
            free(in);
        }
    }
}

// Mutations of libsnappy blocks: ours accepts exactly when libsnappy's decoder does.
static void test_differential(void **state)
{
    (void)state;
    size_t n = 3000;
    uint8_t *in = fill(n, 9);
    size_t clen = snappy_max_compressed_length(n);
    char *c = malloc(clen);
    assert_int_equal(snappy_compress((const char *)in, n, c, &clen), SNAPPY_OK);
    uint32_t x = 42;
    unsigned agreed_bad = 0, agreed_ok = 0;
    for (unsigned round = 0; round < 3000; round++) {
        uint8_t *m = malloc(clen);
        memcpy(m, c, clen);
        size_t mlen = clen;
        for (unsigned k = 0; k < 1 + round % 3; k++) {
            x = x * 1103515245u + 12345u;
            size_t at = (x >> 8) % mlen;
            m[at] = (uint8_t)(round % 2 ? x >> 24 : m[at] ^ (1u << (x % 8)));
        }
        if (round % 5 == 0) {
            mlen -= (x >> 4) % 8; // cut a few bytes too
        }
        size_t want_len = 0;
        int ref = SNAPPY_INVALID_INPUT;
        char *ref_out = NULL;
        if (snappy_uncompressed_length((const char *)m, mlen, &want_len) == SNAPPY_OK &&
            want_len <= ((size_t)64 << 20)) {
            ref_out = malloc(want_len ? want_len : 1);
            size_t got = want_len;
            ref = snappy_uncompress((const char *)m, mlen, ref_out, &got);
            if (want_len == 0) {
                ref = snappy_validate_compressed_buffer((const char *)m, mlen);
            }
        }
        uint8_t *out;
        size_t len;
        enum kp_status st = decode_bytes(m, mlen, &out, &len, NULL);
        if ((st == KP_OK) != (ref == SNAPPY_OK)) {
            fail_msg("round %u: ours %s, libsnappy %d", round, kp_status_name(st), ref);
        }
        if (st == KP_OK) {
            assert_int_equal(len, want_len);
            assert_memory_equal(out, ref_out, len ? len : 0);
            agreed_ok++;
        } else {
            agreed_bad++;
        }
        free(out);
        free(ref_out);
        free(m);
    }
    assert_true(agreed_bad > 100); // the mutations did break blocks
    free(c);
    free(in);
    (void)agreed_ok;
}

// Through kp_decompress: xerial chunk errors name the place in the whole blob.
static void test_xerial_offsets(void **state)
{
    (void)state;
    uint8_t m[35] = {
        0x82, 'S', 'N', 'A', 'P',  'P',  'Y', 0,    0,    0,    0, 1, 0, 0, 0, 1, // magic, versions
        0,    0,   0,   5,   0x03, 0x08, 'a', 'b',  'c',        // chunk 1 at 16: "abc"
        0,    0,   0,   4,   0x05, 0x00, 'x', 0x01, 0x00, 0x00, // chunk 2 at 25
    };
    struct kp_arena a;
    kp_arena_init(&a, 0);
    kr out;
    struct kp_err err = {NULL, 0};
    // Chunk 2 (data at 29) holds 4 bytes: its copy at 32 lacks its offset byte.
    assert_int_equal(kp_decompress(&a, KP_CODEC_SNAPPY, 0, m, 33, &out, &err), KP_ERR_CORRUPT);
    assert_non_null(strstr(err.field, "copy offset (truncated)"));
    assert_int_equal(err.offset, 32);
    m[28] = 5; // 5 bytes now: the copy's offset is 0
    assert_int_equal(kp_decompress(&a, KP_CODEC_SNAPPY, 0, m, 34, &out, &err), KP_ERR_CORRUPT);
    assert_non_null(strstr(err.field, "copy offset 0"));
    assert_int_equal(err.offset, 32);
    m[33] = 1; // offset 1: "x" repeated
    assert_int_equal(kp_decompress(&a, KP_CODEC_SNAPPY, 0, m, 34, &out, &err), KP_OK);
    assert_int_equal(out.len, 8);
    assert_memory_equal(out.p, "abcxxxxx", 8);
    // A stray byte after the last chunk: a truncated chunk length at 34.
    assert_int_equal(kp_decompress(&a, KP_CODEC_SNAPPY, 0, m, 35, &out, &err), KP_ERR_CORRUPT);
    assert_non_null(strstr(err.field, "chunk length (truncated)"));
    assert_int_equal(err.offset, 34);
    assert_int_equal(kp_arena_used(&a), 8);
    kp_arena_cleanup(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_elements), cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_real_encoder),    cmocka_unit_test(test_differential),
        cmocka_unit_test(test_xerial_offsets),
    };
    return cmocka_run_group_tests_name("snappy", tests, NULL, NULL);
}
