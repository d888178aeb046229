// test_utf8.c: base/utf8: the strict decoder check (utf8_seq, utf8_valid) and the encoder
// (utf8_encode, used by the XML character references of invoke/aws_parse.c), golden bytes at
// every length boundary and a round trip through the decoder over all of Unicode.
#include "base/utf8.h"
#include "tests/lib/unit.h"

#include <string.h>

static void test_encode_boundaries(void **state)
{
    (void)state;
    static const struct {
        uint32_t cp;
        const char *want;
    } cases[] = {
        {0x24, "\x24"},
        {0x7f, "\x7f"},
        {0x80, "\xc2\x80"},
        {0xe9, "\xc3\xa9"},
        {0x7ff, "\xdf\xbf"},
        {0x800, "\xe0\xa0\x80"},
        {0x20ac, "\xe2\x82\xac"},
        {0xd7ff, "\xed\x9f\xbf"},
        {0xe000, "\xee\x80\x80"},
        {0xffff, "\xef\xbf\xbf"},
        {0x10000, "\xf0\x90\x80\x80"},
        {0x1f600, "\xf0\x9f\x98\x80"},
        {0x10ffff, "\xf4\x8f\xbf\xbf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[4];
        size_t n = utf8_encode(out, cases[i].cp);
        assert_int_equal(n, strlen(cases[i].want));
        assert_memory_equal(out, cases[i].want, n);
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    for (uint32_t cp = 1; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) {
            continue; // surrogates are the caller's to refuse
        }
        char out[4];
        size_t n = utf8_encode(out, cp);
        assert_int_equal(utf8_seq((const unsigned char *)out, n), n);
        assert_true(utf8_valid(out, n));
    }
}

static void test_decoder_refuses(void **state)
{
    (void)state;
    assert_int_equal(utf8_seq((const unsigned char *)"\xc0\x80", 2), 0);         // overlong
    assert_int_equal(utf8_seq((const unsigned char *)"\xed\xa0\x80", 3), 0);     // surrogate
    assert_int_equal(utf8_seq((const unsigned char *)"\xf4\x90\x80\x80", 4), 0); // > U+10FFFF
    assert_int_equal(utf8_seq((const unsigned char *)"\xe2\x82", 2), 0);         // cut short
    assert_false(utf8_valid("a\xff", 2));
    assert_true(utf8_valid("", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_boundaries),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_decoder_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
