// crypto.c: libcrypto behind the small interface of crypto.h, plus a strict base64 codec.
#include "sasl/crypto.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>

static const EVP_MD *md_of(enum sasl_hash h)
{
    switch (h) {
    case SASL_HASH_SHA1:
        return EVP_sha1();
    case SASL_HASH_SHA256:
        return EVP_sha256();
    case SASL_HASH_SHA512:
        return EVP_sha512();
    }
    return NULL;
}

size_t sasl_hash_len(enum sasl_hash h)
{
    switch (h) {
    case SASL_HASH_SHA1:
        return 20;
    case SASL_HASH_SHA256:
        return 32;
    case SASL_HASH_SHA512:
        return 64;
    }
    return 0;
}

bool sasl_digest(enum sasl_hash h, uint8_t *out, const uint8_t *in, size_t in_len)
{
    unsigned int n = 0;
    const EVP_MD *md = md_of(h);
    return md && EVP_Digest(in, in_len, out, &n, md, NULL) == 1 && n == sasl_hash_len(h);
}

bool sasl_hmac(enum sasl_hash h, uint8_t *out, const uint8_t *key, size_t key_len,
               const uint8_t *msg, size_t msg_len)
{
    unsigned int n = 0;
    const EVP_MD *md = md_of(h);
    if (!md || key_len > INT_MAX) {
        return false;
    }
    return HMAC(md, key, (int)key_len, msg, msg_len, out, &n) != NULL && n == sasl_hash_len(h);
}

bool sasl_pbkdf2(enum sasl_hash h, uint8_t *out, const uint8_t *pass, size_t pass_len,
                 const uint8_t *salt, size_t salt_len, uint32_t iterations)
{
    const EVP_MD *md = md_of(h);
    if (!md || pass_len > INT_MAX || salt_len > INT_MAX || iterations == 0 ||
        iterations > INT32_MAX) {
        return false;
    }
    return PKCS5_PBKDF2_HMAC((const char *)pass, (int)pass_len, salt, (int)salt_len,
                             (int)iterations, md, (int)sasl_hash_len(h), out) == 1;
}

bool sasl_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void sasl_wipe(void *p, size_t n)
{
    if (p && n) {
        OPENSSL_cleanse(p, n);
    }
}

bool sasl_random(uint8_t *out, size_t n)
{
    return n <= INT_MAX && RAND_bytes(out, (int)n) == 1;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t sasl_b64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

size_t sasl_b64_encode(char *out, const uint8_t *in, size_t in_len)
{
    size_t o = 0;
    for (size_t i = 0; i < in_len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t left = in_len - i;
        if (left > 1) {
            v |= (uint32_t)in[i + 1] << 8;
        }
        if (left > 2) {
            v |= in[i + 2];
        }
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = left > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = left > 2 ? b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

// b64_value returns the 6-bit value of |c|, or -1 if it is not in the alphabet.
static int b64_value(char c)
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

bool sasl_b64_decode(uint8_t *out, size_t cap, size_t *out_len, const char *in, size_t in_len)
{
    *out_len = 0;
    if (in_len % 4 != 0) {
        return false;
    }
    size_t o = 0;
    for (size_t i = 0; i < in_len; i += 4) {
        bool last = i + 4 == in_len;
        size_t pad = 0;
        if (last && in[i + 3] == '=') {
            pad = in[i + 2] == '=' ? 2 : 1;
        }
        uint32_t v = 0;
        for (size_t k = 0; k < 4; k++) {
            int d = k < 4 - pad ? b64_value(in[i + k]) : 0;
            if (d < 0) {
                return false;
            }
            v = v << 6 | (uint32_t)d;
        }
        size_t n = 3 - pad;
        // The bits the padding leaves unused must be zero (a canonical encoding).
        if ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0)) {
            return false;
        }
        if (cap - o < n) {
            return false;
        }
        out[o++] = (uint8_t)(v >> 16);
        if (n > 1) {
            out[o++] = (uint8_t)(v >> 8);
        }
        if (n > 2) {
            out[o++] = (uint8_t)v;
        }
    }
    *out_len = o;
    return true;
}

bool sasl_nonce_new(char out[SASL_NONCE_LEN + 1])
{
    uint8_t raw[SASL_NONCE_BYTES];
    bool ok = sasl_random(raw, sizeof raw);
    if (ok) {
        sasl_b64_encode(out, raw, sizeof raw);
    }
    sasl_wipe(raw, sizeof raw);
    return ok;
}
