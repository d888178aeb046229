// test_hex.c: base/hex, the one copy of the hex digits (SigV4 digests, JSON \u escapes,
// percent-encoding, HTTP chunk sizes).
#include "base/hex.h"
#include "tests/lib/unit.h"

#include <string.h>

static void test_value(void **state)
{
    (void)state;
    const char *digits = "0123456789abcdefABCDEF";
    const int want[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                        11, 12, 13, 14, 15, 10, 11, 12, 13, 14, 15};
    for (size_t i = 0; i < strlen(digits); i++) {
        assert_int_equal(hex_value(digits[i]), want[i]);
    }
    const char *bad = "gGzZ/:@`-+ x\n";
    for (size_t i = 0; i < strlen(bad); i++) {
        assert_int_equal(hex_value(bad[i]), -1);
    }
    assert_int_equal(hex_value(0), -1);
    assert_int_equal(hex_value(0xb0), -1);
    for (int v = 0; v < 16; v++) {
        assert_int_equal(hex_value(hex_lower[v]), v);
        assert_int_equal(hex_value(hex_upper[v]), v);
    }
}

static void test_encode(void **state)
{
    (void)state;
    char out[2 * 5 + 1];
    const unsigned char in[] = {0x00, 0x0f, 0xa5, 0xff, 0x10};
    hex_encode(out, in, sizeof in);
    assert_string_equal(out, "000fa5ff10");
    hex_encode(out, in, 0);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value),
        cmocka_unit_test(test_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
