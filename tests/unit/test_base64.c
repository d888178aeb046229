// test_base64.c: base/base64 against RFC 4648 section 10 vectors, round trips and strict
// rejection.
#include "base/base64.h"
#include "tests/lib/unit.h"

#include <stdlib.h>
#include <string.h>

static void test_rfc4648_vectors(void **state)
{
    (void)state;
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        size_t n = strlen(plain[i]);
        assert_int_equal(base64_len(n), strlen(enc[i]));
        size_t w = base64_encode(out, (const uint8_t *)plain[i], n);
        assert_int_equal(w, strlen(enc[i]));
        assert_memory_equal(out, enc[i], w);
        uint8_t back[16];
        size_t blen = 99;
        assert_true(base64_decode(back, sizeof back, &blen, NULL, enc[i], strlen(enc[i])));
        assert_int_equal(blen, n);
        assert_memory_equal(back, plain[i], n);
    }
}

static void test_alphabet_and_round_trip(void **state)
{
    (void)state;
    // 0xfb 0xff 0xbf encodes to "+/+/" in the standard alphabet (not '-' '_').
    const uint8_t in[] = {0xfb, 0xef, 0xbe, 0xff, 0xff, 0xff};
    char out[8];
    base64_encode(out, in, sizeof in);
    assert_memory_equal(out, "++++////", 8);
    srand(7);
    for (int iter = 0; iter < 500; iter++) {
        size_t n = (size_t)(rand() % 300);
        uint8_t *p = malloc(n + 1);
        for (size_t i = 0; i < n; i++) {
            p[i] = (uint8_t)rand();
        }
        char *e = malloc(base64_len(n) + 1);
        size_t elen = base64_encode(e, p, n);
        uint8_t *d = malloc(elen / 4 * 3 + 1);
        size_t dlen;
        assert_true(base64_decode(d, elen / 4 * 3 + 1, &dlen, NULL, e, elen));
        assert_int_equal(dlen, n);
        assert_memory_equal(d, p, n);
        free(p);
        free(e);
        free(d);
    }
}

// ref_encode is RFC 4648 section 4 spelled out one character at a time: the oracle for the
// table and SIMD paths of base64_encode.
static size_t ref_encode(char *o, const uint8_t *in, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        v |= i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0;
        v |= i + 2 < n ? in[i + 2] : 0;
        o[k++] = t[v >> 18];
        o[k++] = t[(v >> 12) & 63];
        o[k++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        o[k++] = i + 2 < n ? t[v & 63] : '=';
    }
    return k;
}

static void check_against_ref(const uint8_t *in, size_t n)
{
    char *a = malloc(base64_len(n) + 1);
    char *b = malloc(base64_len(n) + 1);
    size_t la = base64_encode(a, in, n);
    size_t lb = ref_encode(b, in, n);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
}

// Every length from 0 to 400 (0, 1 and 2 trailing bytes after the 12-byte SIMD steps, the
// 6-byte steps and their ends), then every value of the first two bytes of a 3-byte group
// with four third bytes, in runs long enough for the SIMD steps: each 6-bit field takes each
// of its 64 values in every lane.
static void test_encode_matches_reference(void **state)
{
    (void)state;
    uint8_t *buf = malloc(3 * 65536);
    srand(11);
    for (size_t n = 0; n <= 400; n++) {
        for (size_t i = 0; i < n; i++) {
            buf[i] = (uint8_t)rand();
        }
        check_against_ref(buf, n);
        memset(buf, 0xff, n);
        check_against_ref(buf, n);
    }
    static const uint8_t thirds[] = {0x00, 0x3f, 0xc0, 0xff};
    for (size_t t = 0; t < 4; t++) {
        for (uint32_t j = 0; j < 65536; j++) {
            buf[3 * j] = (uint8_t)(j >> 8);
            buf[3 * j + 1] = (uint8_t)j;
            buf[3 * j + 2] = (uint8_t)(thirds[t] ^ j);
        }
        check_against_ref(buf, 3 * 65536);
        check_against_ref(buf + 1, 3 * 65536 - 1); // the groups straddle the 3-byte grid
    }
    free(buf);
}

static void test_strict_rejects(void **state)
{
    (void)state;
    struct {
        const char *in;
        size_t bad;
    } cases[] = {
        {"Zg=", 3},       // length not a multiple of 4
        {"Zg", 2},        // missing padding
        {"Z g=", 1},      // whitespace
        {"Zh==", 1},      // non-zero trailing bits ("f" is Zg==)
        {"Zm9=", 2},      // non-zero trailing bits ("fo" is Zm8=)
        {"Zg==Zg==", 2},  // padding before the end
        {"=Zg=", 0},      // padding first
        {"Zm9v-_==", 4},  // URL-safe alphabet
        {"Zm9vYmFy\n", 9} // trailing newline: length
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t out[16];
        size_t n, bad = 999;
        assert_false(base64_decode(out, sizeof out, &n, &bad, cases[i].in, strlen(cases[i].in)));
        assert_int_equal(bad, cases[i].bad);
    }
}

// encode0 is base64_encode plus a NUL, as SCRAM (sasl/scram.c) uses it.
static size_t encode0(char *out, const uint8_t *in, size_t n)
{
    size_t el = base64_encode(out, in, n);
    out[el] = '\0';
    return el;
}

// test_base64_strict: the checks that came with sasl/'s own codec, now the one codec's.
static void test_base64_strict(void **state)
{
    (void)state;
    uint8_t buf[16];
    size_t n;
    char enc[32];
    assert_int_equal(encode0(enc, (const uint8_t *)"", 0), 0);
    assert_int_equal(encode0(enc, (const uint8_t *)"f", 1), 4);
    assert_string_equal(enc, "Zg==");
    assert_int_equal(encode0(enc, (const uint8_t *)"fo", 2), 4);
    assert_string_equal(enc, "Zm8=");
    assert_int_equal(encode0(enc, (const uint8_t *)"foobar", 6), 8);
    assert_string_equal(enc, "Zm9vYmFy");
    assert_true(base64_decode(buf, sizeof buf, &n, NULL, "Zm9vYg==", 8));
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "foob", 4);
    assert_true(base64_decode(buf, sizeof buf, &n, NULL, "", 0));
    assert_int_equal(n, 0);
    const char *bad[] = {"Zm9vYg=",  "Zm9vYg",       "Zm9vY===", "Zm9v=mFy",
                         "Zm9vYh==", "Zm9vYmE=Zm9v", "Zm9vYmF=", "Zm9v\nYmFy",
                         "Zm9-YmFy", "====",         "Z===",     "Zm9vYm_y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (base64_decode(buf, sizeof buf, &n, NULL, bad[i], strlen(bad[i]))) {
            print_error("accepted %s\n", bad[i]);
        }
        assert_false(base64_decode(buf, sizeof buf, &n, NULL, bad[i], strlen(bad[i])));
    }
    // Output capacity is respected.
    assert_false(base64_decode(buf, 5, &n, NULL, "Zm9vYmFy", 8));
    // Round trip of every length up to 15 over all byte values.
    for (size_t len = 0; len < 16; len++) {
        uint8_t in[16];
        for (size_t i = 0; i < len; i++) {
            in[i] = (uint8_t)(0xf7 * (i + 1) + len);
        }
        size_t el = encode0(enc, in, len);
        assert_int_equal(el, base64_len(len));
        assert_true(base64_decode(buf, sizeof buf, &n, NULL, enc, el));
        assert_int_equal(n, len);
        assert_memory_equal(buf, in, len);
    }
}

// RFC 4648 section 5: '-' and '_' for '+' and '/', no padding.
static void test_base64url(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } v[] = {
        {"", ""},
        {"f", "Zg"},
        {"fo", "Zm8"},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg"},
        {"fooba", "Zm9vYmE"},
        {"foobar", "Zm9vYmFy"},
        {"\xfb\xff", "-_8"},
        {"\x3e\x3f\xfe", "Pj_-"},
    };
    char out[16];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        memset(out, '#', sizeof out);
        size_t n = base64url_encode(out, (const uint8_t *)v[i].in, strlen(v[i].in));
        assert_int_equal(n, strlen(v[i].want));
        assert_memory_equal(out, v[i].want, n);
        assert_int_equal(out[base64_len(strlen(v[i].in))], '#'); // nothing past base64_len
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_alphabet_and_round_trip),
        cmocka_unit_test(test_encode_matches_reference),
        cmocka_unit_test(test_strict_rejects),
        cmocka_unit_test(test_base64_strict),
        cmocka_unit_test(test_base64url),
    };
    return cmocka_run_group_tests_name("base64", tests, NULL, NULL);
}
