// base64.c: base64 encoder (AVX2 24 bytes or SSSE3 12 bytes per step where the CPU has them,
// then 12-bit pair lookups) and strict decoder.
#include "base/base64.h"

#include <string.h>

static const char enc_table[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// pairs[h >> 6] + 2 * (h & 63) holds the two characters of the 12-bit value h, spelled out at
// compile time by string-literal concatenation (one row per first character, exactly 128 chars,
// no NUL): one lookup encodes 1.5 input bytes.
#define B64_ROW(c)                                                                                 \
    c "A" c "B" c "C" c "D" c "E" c "F" c "G" c "H" c "I" c "J" c "K" c "L" c "M" c "N" c "O" c    \
      "P" c "Q" c "R" c "S" c "T" c "U" c "V" c "W" c "X" c "Y" c "Z" c "a" c "b" c "c" c "d" c    \
      "e" c "f" c "g" c "h" c "i" c "j" c "k" c "l" c "m" c "n" c "o" c "p" c "q" c "r" c "s" c    \
      "t" c "u" c "v" c "w" c "x" c "y" c "z" c "0" c "1" c "2" c "3" c "4" c "5" c "6" c "7" c    \
      "8" c "9" c "+" c "/"
static const char pairs[64][128] = {
    B64_ROW("A"), B64_ROW("B"), B64_ROW("C"), B64_ROW("D"), B64_ROW("E"), B64_ROW("F"),
    B64_ROW("G"), B64_ROW("H"), B64_ROW("I"), B64_ROW("J"), B64_ROW("K"), B64_ROW("L"),
    B64_ROW("M"), B64_ROW("N"), B64_ROW("O"), B64_ROW("P"), B64_ROW("Q"), B64_ROW("R"),
    B64_ROW("S"), B64_ROW("T"), B64_ROW("U"), B64_ROW("V"), B64_ROW("W"), B64_ROW("X"),
    B64_ROW("Y"), B64_ROW("Z"), B64_ROW("a"), B64_ROW("b"), B64_ROW("c"), B64_ROW("d"),
    B64_ROW("e"), B64_ROW("f"), B64_ROW("g"), B64_ROW("h"), B64_ROW("i"), B64_ROW("j"),
    B64_ROW("k"), B64_ROW("l"), B64_ROW("m"), B64_ROW("n"), B64_ROW("o"), B64_ROW("p"),
    B64_ROW("q"), B64_ROW("r"), B64_ROW("s"), B64_ROW("t"), B64_ROW("u"), B64_ROW("v"),
    B64_ROW("w"), B64_ROW("x"), B64_ROW("y"), B64_ROW("z"), B64_ROW("0"), B64_ROW("1"),
    B64_ROW("2"), B64_ROW("3"), B64_ROW("4"), B64_ROW("5"), B64_ROW("6"), B64_ROW("7"),
    B64_ROW("8"), B64_ROW("9"), B64_ROW("+"), B64_ROW("/"),
};
#undef B64_ROW

static inline void put_pair(char *o, uint32_t h)
{
    // The rows are contiguous (64 * 128 bytes), so pairs[h >> 6] + 2 * (h & 63) is the byte at
    // 2 * h of the table's object representation.
    memcpy(o, (const char *)pairs + 2 * h, 2);
}

// load_be64 reads eight bytes as a big-endian integer: one load (and a byte swap on
// little-endian GCC/Clang targets), or byte by byte elsewhere.
static inline uint64_t load_be64(const uint8_t *p)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
#elif defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    uint64_t v = 0;
    for (int k = 0; k < 8; k++) {
        v = v << 8 | p[k];
    }
    return v;
#endif
}

// encode_tail encodes |n| bytes at |in| with table lookups and returns the characters written
// (inlined into both callers: a call costs about as much as a short tail).
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline size_t
encode_tail(char *out, const uint8_t *in, size_t n)
{
    char *o = out;
    size_t i = 0;
    // Six input bytes (two 24-bit groups, four 12-bit halves) per step, read as one big-endian
    // 64-bit load while at least eight bytes remain.
    for (; n - i >= 8; i += 6) {
        uint64_t v = load_be64(in + i);
        put_pair(o, (uint32_t)(v >> 52));
        put_pair(o + 2, (uint32_t)(v >> 40) & 0xfff);
        put_pair(o + 4, (uint32_t)(v >> 28) & 0xfff);
        put_pair(o + 6, (uint32_t)(v >> 16) & 0xfff);
        o += 8;
    }
    for (; n - i >= 3; i += 3) {
        uint32_t a = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        put_pair(o, a >> 12);
        put_pair(o + 2, a & 0xfff);
        o += 4;
    }
    // One or two bytes left: their bits padded with zeros, then one or two '='.
    if (n - i == 1) {
        put_pair(o, (uint32_t)in[i] << 4);
        memcpy(o + 2, "==", 2);
        o += 4;
    } else if (n - i == 2) {
        uint32_t a = (uint32_t)in[i] << 10 | (uint32_t)in[i + 1] << 2; // 18 bits
        put_pair(o, a >> 6);
        o[2] = enc_table[a & 63];
        o[3] = '=';
        o += 4;
    }
    return (size_t)(o - out);
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <tmmintrin.h>
#define B64_SSSE3 1

// encode12_ssse3 encodes the first 12 of the 16 bytes at |in| into 16 characters at |o|: the
// bytes of each 3-byte group are spread over a 32-bit lane, the four 6-bit fields moved to one
// byte each with two masks and two 16-bit multiplies, and each field turned into its character
// by adding an offset chosen by its range (A-Z, a-z, 0-9, +, /) through a byte shuffle.
__attribute__((target("ssse3"))) static void encode12_ssse3(char *o, const uint8_t *in)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)in);
    // Lane k holds bytes 3k+1, 3k, 3k+2, 3k+1 (low to high).
    v = _mm_shuffle_epi8(v, _mm_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1));
    // Fields a and c: high 16 bits of (masked value) * 2^6 and * 2^10 land them at bytes 0, 2.
    __m128i ac =
        _mm_mulhi_epu16(_mm_and_si128(v, _mm_set1_epi32(0x0fc0fc00)), _mm_set1_epi32(0x04000040));
    // Fields b and d: low 16 bits of (masked value) * 2^4 and * 2^8 land them at bytes 1, 3.
    __m128i bd =
        _mm_mullo_epi16(_mm_and_si128(v, _mm_set1_epi32(0x003f03f0)), _mm_set1_epi32(0x01000010));
    __m128i idx = _mm_or_si128(ac, bd);
    // Range number: 0 for 26..51, 1..10 for 52..61, 11 for 62, 12 for 63, 13 for 0..25.
    __m128i r = _mm_subs_epu8(idx, _mm_set1_epi8(51));
    __m128i low = _mm_cmpgt_epi8(_mm_set1_epi8(26), idx);
    r = _mm_or_si128(r, _mm_and_si128(low, _mm_set1_epi8(13)));
    const __m128i offsets =
        _mm_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                      '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
    __m128i out = _mm_add_epi8(_mm_shuffle_epi8(offsets, r), idx);
    _mm_storeu_si128((__m128i *)(void *)o, out);
}

// encode_ssse3 encodes 12 bytes per step while 16 can be read; returns the bytes consumed.
__attribute__((target("ssse3"))) static size_t encode_ssse3(char *o, const uint8_t *in, size_t n)
{
    size_t i = 0;
    for (; n - i >= 16; i += 12) {
        encode12_ssse3(o, in + i);
        o += 16;
    }
    return i;
}

// have_ssse3 reads the CPU features libgcc recorded at start-up (no lock, no state of ours).
static bool have_ssse3(void)
{
    return __builtin_cpu_supports("ssse3") != 0;
}

#include <immintrin.h>

// The constants of encode_avx2, loaded once per call straight from memory (both lanes alike).
#define B64_LANES(...)                                                                             \
    {                                                                                              \
        __VA_ARGS__, __VA_ARGS__                                                                   \
    }
static const int8_t avx2_shuf[32] __attribute__((aligned(32))) =
    B64_LANES(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
static const int8_t avx2_offsets[32] __attribute__((aligned(32))) =
    B64_LANES('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
              '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
static const uint32_t avx2_masks[4][8] __attribute__((aligned(32))) = {
    {0x0fc0fc00, 0x0fc0fc00, 0x0fc0fc00, 0x0fc0fc00, 0x0fc0fc00, 0x0fc0fc00, 0x0fc0fc00,
     0x0fc0fc00},
    {0x04000040, 0x04000040, 0x04000040, 0x04000040, 0x04000040, 0x04000040, 0x04000040,
     0x04000040},
    {0x003f03f0, 0x003f03f0, 0x003f03f0, 0x003f03f0, 0x003f03f0, 0x003f03f0, 0x003f03f0,
     0x003f03f0},
    {0x01000010, 0x01000010, 0x01000010, 0x01000010, 0x01000010, 0x01000010, 0x01000010,
     0x01000010},
};
static const uint8_t avx2_bytes[3][32] __attribute__((aligned(32))) = {
    B64_LANES(51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51),
    B64_LANES(26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26),
    B64_LANES(13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13),
};
#undef B64_LANES

#define LOAD256(p) _mm256_load_si256((const __m256i *)(const void *)(p))

// encode_avx2 is encode12_ssse3 on two 128-bit lanes at once: bytes [i, i+12) in the low lane
// and [i+12, i+24) in the high one (two 16-byte loads), 24 bytes to 32 characters per step while
// 28 can be read (the caller makes sure n >= 28), then the rest by encode_tail; returns the
// characters written.
__attribute__((target("avx2"))) static size_t encode_avx2(char *out, const uint8_t *in, size_t n)
{
    char *o = out;
    const __m256i shuf = LOAD256(avx2_shuf), offsets = LOAD256(avx2_offsets);
    const __m256i m_ac = LOAD256(avx2_masks[0]), k_ac = LOAD256(avx2_masks[1]);
    const __m256i m_bd = LOAD256(avx2_masks[2]), k_bd = LOAD256(avx2_masks[3]);
    const __m256i c51 = LOAD256(avx2_bytes[0]), c26 = LOAD256(avx2_bytes[1]),
                  c13 = LOAD256(avx2_bytes[2]);
    const uint8_t *p = in, *last = in + n - 28; // the last start with 28 bytes readable
    for (; p <= last; p += 24) {
        __m128i lo = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(p + 12));
        __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
        v = _mm256_shuffle_epi8(v, shuf);
        __m256i ac = _mm256_mulhi_epu16(_mm256_and_si256(v, m_ac), k_ac);
        __m256i bd = _mm256_mullo_epi16(_mm256_and_si256(v, m_bd), k_bd);
        __m256i idx = _mm256_or_si256(ac, bd);
        __m256i r = _mm256_subs_epu8(idx, c51);
        r = _mm256_or_si256(r, _mm256_and_si256(_mm256_cmpgt_epi8(c26, idx), c13));
        __m256i chars = _mm256_add_epi8(_mm256_shuffle_epi8(offsets, r), idx);
        _mm256_storeu_si256((__m256i *)(void *)o, chars);
        o += 32;
    }
    return (size_t)(o - out) + encode_tail(o, p, (size_t)(in + n - p));
}
#undef LOAD256

static bool have_avx2(void)
{
    return __builtin_cpu_supports("avx2") != 0;
}
#endif

size_t base64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

size_t base64_encode(char *out, const uint8_t *in, size_t n)
{
    size_t i = 0, o = 0;
#ifdef B64_SSSE3
    if (n >= 28 && have_avx2()) {
        return encode_avx2(out, in, n);
    }
    if (n >= 16 && have_ssse3()) {
        i = encode_ssse3(out, in, n);
        o = i / 3 * 4;
    }
#endif
    return o + encode_tail(out + o, in + i, n - i);
}

// dec returns the 6-bit value of |c|, or -1.
static int dec(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

static bool bad_at(size_t *out_bad, size_t at)
{
    if (out_bad != NULL) {
        *out_bad = at;
    }
    return false;
}

bool base64_decode(uint8_t *out, size_t cap, size_t *out_len, size_t *out_bad, const char *in,
                   size_t in_len)
{
    if (in_len % 4 != 0) {
        return bad_at(out_bad, in_len);
    }
    size_t o = 0;
    for (size_t i = 0; i < in_len; i += 4) {
        bool last = i + 4 == in_len;
        int pad = 0;
        if (last && in[i + 3] == '=') {
            pad = in[i + 2] == '=' ? 2 : 1;
        }
        int v[4] = {0, 0, 0, 0};
        for (int j = 0; j < 4 - pad; j++) {
            v[j] = dec((unsigned char)in[i + (size_t)j]);
            if (v[j] < 0) {
                return bad_at(out_bad, i + (size_t)j);
            }
        }
        if (cap - o < (size_t)(3 - pad)) {
            return bad_at(out_bad, i);
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (uint8_t)(w >> 16);
        if (pad == 2) {
            if (w & 0xffff) {
                return bad_at(out_bad, i + 1);
            }
        } else {
            out[o++] = (uint8_t)(w >> 8);
            if (pad == 1) {
                if (w & 0xff) {
                    return bad_at(out_bad, i + 2);
                }
            } else {
                out[o++] = (uint8_t)w;
            }
        }
    }
    *out_len = o;
    return true;
}

size_t base64url_encode(char *out, const uint8_t *in, size_t n)
{
    size_t len = base64_encode(out, in, n);
    while (len > 0 && out[len - 1] == '=') {
        len--;
    }
    for (size_t i = 0; i < len; i++) {
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    return len;
}
