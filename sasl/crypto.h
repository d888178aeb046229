// crypto.h: the only part of sasl/ that touches libcrypto.
//
// Everything a SASL mechanism needs from a crypto library, in one small place so it can be read and
// audited at once: digests, HMAC and PBKDF2 over the hash chosen at run time, a constant-time
// comparison, wiping and random bytes. (Base64 is base/base64.h, the one codec.)
//
// SHA-1 is here only so the RFC 5802 example can be tested; nothing user-facing offers it (see
// sasl_hash_from_mech in sasl/sasl.h).
#ifndef SASL_CRYPTO_H
#define SASL_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sasl_hash {
    SASL_HASH_SHA1,
    SASL_HASH_SHA256,
    SASL_HASH_SHA512,
};

// SASL_MAX_DIGEST is the largest digest length (SHA-512), for stack buffers.
#define SASL_MAX_DIGEST 64

// sasl_hash_len returns the digest length of |h| in bytes.
size_t sasl_hash_len(enum sasl_hash h);

// sasl_digest writes H(|in|) (sasl_hash_len bytes) to |out|. Returns false on a libcrypto failure.
bool sasl_digest(enum sasl_hash h, uint8_t *out, const uint8_t *in, size_t in_len);

// sasl_hmac writes HMAC-H(|key|, |msg|) (sasl_hash_len bytes) to |out|.
bool sasl_hmac(enum sasl_hash h, uint8_t *out, const uint8_t *key, size_t key_len,
               const uint8_t *msg, size_t msg_len);

// sasl_pbkdf2 writes PBKDF2-HMAC-H(|pass|, |salt|, |iterations|) with dkLen = sasl_hash_len to
// |out| (RFC 5802's Hi()). |iterations| must be 1..INT32_MAX.
bool sasl_pbkdf2(enum sasl_hash h, uint8_t *out, const uint8_t *pass, size_t pass_len,
                 const uint8_t *salt, size_t salt_len, uint32_t iterations);

// sasl_ct_equal compares |n| bytes in time independent of their contents.
bool sasl_ct_equal(const void *a, const void *b, size_t n);

// sasl_wipe overwrites |n| bytes at |p| in a way the compiler cannot drop. |p| may be NULL.
void sasl_wipe(void *p, size_t n);

// sasl_random fills |out| with |n| bytes from the CSPRNG. Returns false if it is not seeded.
bool sasl_random(uint8_t *out, size_t n);

// SASL_NONCE_BYTES is how many random bytes a client nonce carries; SASL_NONCE_LEN is the length
// of its base64 text (no padding, since 24 is a multiple of 3).
#define SASL_NONCE_BYTES 24
#define SASL_NONCE_LEN 32

// sasl_nonce_new writes a fresh client nonce to |out|: SASL_NONCE_BYTES random bytes in base64,
// NUL-terminated (printable and comma-free, as RFC 5802 requires). Returns false if the CSPRNG
// fails.
bool sasl_nonce_new(char out[SASL_NONCE_LEN + 1]);

#endif
