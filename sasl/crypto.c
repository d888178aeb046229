// crypto.c: libcrypto behind the small interface of crypto.h, plus a strict base64 codec.
#include "sasl/crypto.h"

#include "base/base64.h"

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

bool sasl_nonce_new(char out[SASL_NONCE_LEN + 1])
{
    uint8_t raw[SASL_NONCE_BYTES];
    bool ok = sasl_random(raw, sizeof raw);
    if (ok) {
        out[base64_encode(out, raw, sizeof raw)] = '\0';
    }
    sasl_wipe(raw, sizeof raw);
    return ok;
}
