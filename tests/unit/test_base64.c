// test_base64.c: invoke/base64 against RFC 4648 section 10 vectors, round trips and strict
// rejection.
#include "invoke/base64.h"
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
        assert_int_equal(inv_base64_len(n), strlen(enc[i]));
        size_t w = inv_base64_encode(out, (const uint8_t *)plain[i], n);
        assert_int_equal(w, strlen(enc[i]));
        assert_memory_equal(out, enc[i], w);
        uint8_t back[16];
        size_t blen = 99;
        assert_true(inv_base64_decode(back, &blen, NULL, enc[i], strlen(enc[i])));
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
    inv_base64_encode(out, in, sizeof in);
    assert_memory_equal(out, "++++////", 8);
    srand(7);
    for (int iter = 0; iter < 500; iter++) {
        size_t n = (size_t)(rand() % 300);
        uint8_t *p = malloc(n + 1);
        for (size_t i = 0; i < n; i++) {
            p[i] = (uint8_t)rand();
        }
        char *e = malloc(inv_base64_len(n) + 1);
        size_t elen = inv_base64_encode(e, p, n);
        uint8_t *d = malloc(elen / 4 * 3 + 1);
        size_t dlen;
        assert_true(inv_base64_decode(d, &dlen, NULL, e, elen));
        assert_int_equal(dlen, n);
        assert_memory_equal(d, p, n);
        free(p);
        free(e);
        free(d);
    }
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
        assert_false(inv_base64_decode(out, &n, &bad, cases[i].in, strlen(cases[i].in)));
        assert_int_equal(bad, cases[i].bad);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_alphabet_and_round_trip),
        cmocka_unit_test(test_strict_rejects),
    };
    return cmocka_run_group_tests_name("base64", tests, NULL, NULL);
}
