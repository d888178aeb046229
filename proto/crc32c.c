// crc32c.c: CRC-32C with the SSE4.2 instruction or slicing-by-8 tables, and CRC-32 via zlib.
#include "proto/crc32c.h"

#include "proto/crc32c_table.h"

#include <string.h>
#include <zlib.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KP_CRC32C_X86 1
#include <nmmintrin.h>
#else
#define KP_CRC32C_X86 0
#endif

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

uint32_t kp_crc32c_sw(uint32_t crc, const void *p, size_t len)
{
    const uint8_t *b = p;
    uint32_t c = ~crc;
    while (len > 0 && ((uintptr_t)b & 7) != 0) {
        c = (c >> 8) ^ crc32c_table[0][(c ^ *b++) & 0xff];
        len--;
    }
    while (len >= 8) {
        uint64_t w = load_le64(b) ^ c;
        c = crc32c_table[7][w & 0xff] ^ crc32c_table[6][(w >> 8) & 0xff] ^
            crc32c_table[5][(w >> 16) & 0xff] ^ crc32c_table[4][(w >> 24) & 0xff] ^
            crc32c_table[3][(w >> 32) & 0xff] ^ crc32c_table[2][(w >> 40) & 0xff] ^
            crc32c_table[1][(w >> 48) & 0xff] ^ crc32c_table[0][w >> 56];
        b += 8;
        len -= 8;
    }
    while (len > 0) {
        c = (c >> 8) ^ crc32c_table[0][(c ^ *b++) & 0xff];
        len--;
    }
    return ~c;
}

#if KP_CRC32C_X86
bool kp_crc32c_hw_available(void)
{
    return __builtin_cpu_supports("sse4.2");
}

// shift moves a CRC register over the zero bytes its table was built for.
static uint32_t shift(const uint32_t table[4][256], uint32_t c)
{
    return table[0][c & 0xff] ^ table[1][(c >> 8) & 0xff] ^ table[2][(c >> 16) & 0xff] ^
           table[3][c >> 24];
}

// crc32c_sse42 runs three independent instruction streams over three consecutive blocks (the
// instruction has a latency of three cycles and a throughput of one), then joins them: the CRC
// of A||B is the register of A shifted over len(B) zero bytes, XORed with the register of B.
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *b,
                                                               size_t len)
{
    uint64_t c0 = ~crc;
    while (len > 0 && ((uintptr_t)b & 7) != 0) {
        c0 = _mm_crc32_u8((uint32_t)c0, *b++);
        len--;
    }
    static const size_t blocks[2] = {KP_CRC32C_LONG, KP_CRC32C_SHORT};
    for (size_t k = 0; k < 2; k++) {
        size_t blk = blocks[k];
        while (len >= 3 * blk) {
            uint64_t c1 = 0, c2 = 0;
            for (size_t i = 0; i < blk; i += 8) {
                uint64_t w0, w1, w2;
                memcpy(&w0, b + i, 8);
                memcpy(&w1, b + blk + i, 8);
                memcpy(&w2, b + 2 * blk + i, 8);
                c0 = _mm_crc32_u64(c0, w0);
                c1 = _mm_crc32_u64(c1, w1);
                c2 = _mm_crc32_u64(c2, w2);
            }
            const uint32_t(*t)[256] = k == 0 ? crc32c_long : crc32c_short;
            c0 = shift(t, (uint32_t)c0) ^ c1;
            c0 = shift(t, (uint32_t)c0) ^ c2;
            b += 3 * blk;
            len -= 3 * blk;
        }
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        c0 = _mm_crc32_u64(c0, w);
        b += 8;
        len -= 8;
    }
    while (len > 0) {
        c0 = _mm_crc32_u8((uint32_t)c0, *b++);
        len--;
    }
    return ~(uint32_t)c0;
}

uint32_t kp_crc32c_hw(uint32_t crc, const void *p, size_t len)
{
    if (!kp_crc32c_hw_available()) {
        return kp_crc32c_sw(crc, p, len);
    }
    return crc32c_sse42(crc, p, len);
}

uint32_t kp_crc32c(uint32_t crc, const void *p, size_t len)
{
    if (__builtin_cpu_supports("sse4.2")) {
        return crc32c_sse42(crc, p, len);
    }
    return kp_crc32c_sw(crc, p, len);
}
#else
bool kp_crc32c_hw_available(void)
{
    return false;
}

uint32_t kp_crc32c_hw(uint32_t crc, const void *p, size_t len)
{
    return kp_crc32c_sw(crc, p, len);
}

uint32_t kp_crc32c(uint32_t crc, const void *p, size_t len)
{
    return kp_crc32c_sw(crc, p, len);
}
#endif

uint32_t kp_crc32(uint32_t crc, const void *p, size_t len)
{
    const uint8_t *b = p;
    uLong c = crc;
    // zlib takes uInt lengths; feed very large buffers in pieces.
    while (len > 0) {
        uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
        c = crc32(c, b, n);
        b += n;
        len -= n;
    }
    return (uint32_t)c;
}
