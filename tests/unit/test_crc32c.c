// test_crc32c.c: CRC-32C (table and SSE4.2 paths) and CRC-32 against known vectors and each
// other.
#include "proto/crc32c.h"
#include "proto/crc32c_table.h"
#include "tests/lib/unit.h"

#include <stdlib.h>
#include <string.h>

static void test_known_vectors(void **state)
{
    (void)state;
    static const char digits[] = "123456789";
    uint8_t buf[32];
    // RFC 3720 (iSCSI) appendix B.4 vectors and the "123456789" check value.
    assert_int_equal(kp_crc32c_sw(0, digits, 9), 0xe3069283u);
    memset(buf, 0, sizeof buf);
    assert_int_equal(kp_crc32c_sw(0, buf, 32), 0x8a9136aau);
    memset(buf, 0xff, sizeof buf);
    assert_int_equal(kp_crc32c_sw(0, buf, 32), 0x62a8ab43u);
    for (int i = 0; i < 32; i++) {
        buf[i] = (uint8_t)i;
    }
    assert_int_equal(kp_crc32c_sw(0, buf, 32), 0x46dd794eu);
    for (int i = 0; i < 32; i++) {
        buf[i] = (uint8_t)(31 - i);
    }
    assert_int_equal(kp_crc32c_sw(0, buf, 32), 0x113fdb5cu);
    assert_int_equal(kp_crc32c(0, digits, 9), 0xe3069283u);
    assert_int_equal(kp_crc32c_hw(0, digits, 9), 0xe3069283u);
    assert_int_equal(kp_crc32c(0, NULL, 0), 0);
    // IEEE CRC-32 check value.
    assert_int_equal(kp_crc32(0, digits, 9), 0xcbf43926u);
}

// Every table entry is what the polynomial gives.
static void test_table_from_polynomial(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        }
        assert_int_equal(crc32c_table[0][i], c);
        for (int t = 1; t < 8; t++) {
            c = (c >> 8) ^ crc32c_table[0][c & 0xff];
            assert_int_equal(crc32c_table[t][i], c);
        }
    }
}

// zeros_register runs the bare CRC register (no inversions) over |n| zero bytes, bit by bit.
static uint32_t zeros_register(uint32_t c, size_t n)
{
    for (size_t i = 0; i < 8 * n; i++) {
        c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    }
    return c;
}

// The shift tables are the zero-bytes operator, which is linear: check each entry against the
// images of the 32 basis registers.
static void check_shift_table(const uint32_t t[4][256], size_t n)
{
    uint32_t basis[32];
    for (int i = 0; i < 32; i++) {
        basis[i] = zeros_register(1u << i, n);
    }
    for (int k = 0; k < 4; k++) {
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t v = b << (8 * k), want = 0;
            for (int i = 0; i < 32; i++) {
                if ((v >> i) & 1) {
                    want ^= basis[i];
                }
            }
            assert_int_equal(t[k][b], want);
        }
    }
}

static void test_shift_tables(void **state)
{
    (void)state;
    check_shift_table(crc32c_long, KP_CRC32C_LONG);
    check_shift_table(crc32c_short, KP_CRC32C_SHORT);
}

// The bitwise definition, for cross-checks.
static uint32_t crc32c_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        }
    }
    return ~c;
}

static void test_paths_agree(void **state)
{
    (void)state;
    size_t cap = 4096 + 16;
    uint8_t *buf = malloc(cap);
    uint32_t x = 12345;
    for (size_t i = 0; i < cap; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    bool hw = kp_crc32c_hw_available();
    for (size_t align = 0; align < 8; align++) {
        for (size_t n = 0; n < 300; n++) {
            uint32_t want = crc32c_bitwise(buf + align, n);
            assert_int_equal(kp_crc32c_sw(0, buf + align, n), want);
            assert_int_equal(kp_crc32c(0, buf + align, n), want);
            if (hw) {
                assert_int_equal(kp_crc32c_hw(0, buf + align, n), want);
            }
        }
    }
    uint32_t whole = crc32c_bitwise(buf, 4096);
    assert_int_equal(kp_crc32c(0, buf, 4096), whole);
    assert_int_equal(kp_crc32c_sw(0, buf, 4096), whole);
    // In pieces, split anywhere.
    for (size_t cut = 0; cut <= 4096; cut += 37) {
        assert_int_equal(kp_crc32c(kp_crc32c(0, buf, cut), buf + cut, 4096 - cut), whole);
        assert_int_equal(kp_crc32c_sw(kp_crc32c_sw(0, buf, cut), buf + cut, 4096 - cut), whole);
    }
    free(buf);
}

// Long buffers take the three-stream path (blocks of 3 x 8192 and 3 x 256 bytes).
static void test_long_buffers(void **state)
{
    (void)state;
    size_t cap = 100000 + 8;
    uint8_t *buf = malloc(cap);
    uint32_t x = 99;
    for (size_t i = 0; i < cap; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    size_t lens[] = {767, 768, 769, 1000, 24575, 24576, 24577, 25000, 49152 + 768 + 13, 100000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (size_t align = 0; align < 8; align += 3) {
            uint32_t want = crc32c_bitwise(buf + align, lens[i]);
            assert_int_equal(kp_crc32c_sw(0, buf + align, lens[i]), want);
            assert_int_equal(kp_crc32c(0, buf + align, lens[i]), want);
            assert_int_equal(kp_crc32c_hw(0, buf + align, lens[i]), want);
        }
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors), cmocka_unit_test(test_table_from_polynomial),
        cmocka_unit_test(test_paths_agree),   cmocka_unit_test(test_shift_tables),
        cmocka_unit_test(test_long_buffers),
    };
    return cmocka_run_group_tests_name("crc32c", tests, NULL, NULL);
}
