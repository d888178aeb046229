// base64.c: fast table-driven base64 encoder and strict decoder.
#include "invoke/base64.h"

static const char enc_table[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t inv_base64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

size_t inv_base64_encode(char *out, const uint8_t *in, size_t n)
{
    char *o = out;
    size_t i = 0;
    for (; n - i >= 3; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        o[0] = enc_table[v >> 18];
        o[1] = enc_table[(v >> 12) & 63];
        o[2] = enc_table[(v >> 6) & 63];
        o[3] = enc_table[v & 63];
        o += 4;
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        o[0] = enc_table[v >> 18];
        o[1] = enc_table[(v >> 12) & 63];
        o[2] = '=';
        o[3] = '=';
        o += 4;
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        o[0] = enc_table[v >> 18];
        o[1] = enc_table[(v >> 12) & 63];
        o[2] = enc_table[(v >> 6) & 63];
        o[3] = '=';
        o += 4;
    }
    return (size_t)(o - out);
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

bool inv_base64_decode(uint8_t *out, size_t *out_len, size_t *out_bad, const char *in,
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
