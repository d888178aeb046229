// scram.h: a SCRAM client (RFC 5802, RFC 7677; SCRAM-SHA-256 and SCRAM-SHA-512 as Kafka uses them,
// KIP-84), as a pure state machine: server messages in, client messages out, no I/O, no clock, no
// globals.
//
//   struct scram *s = scram_new(SASL_HASH_SHA512, "alice", password, NULL, &err);
//   scram_start(s, nonce, &out, &out_len, &err);           // client-first-message
//   scram_step(s, server_first, n, &out, &out_len, &err);  // client-final-message
//   scram_step(s, server_final, n, &out, &out_len, &err);  // SCRAM_COMPLETE: server verified
//   scram_free(s);
//
// The nonce is a parameter so tests can pin it; real callers use sasl_nonce_new() (24 bytes from
// RAND_bytes, base64), which sasl_mech_new does for them. |out| points into the object's buffer,
// valid until the next call and wiped by it and by scram_free.
//
// Security decisions (scram.c implements each one; the tests check them):
//  1. Character policy instead of SASLprep: the user name and password must be non-empty printable
//     ASCII (0x20-0x7E). For such strings SASLprep is the identity and Kafka, which applies no
//     SASLprep and hashes the raw UTF-8 bytes, sees the same bytes, so both kinds of server agree.
//     Anything else (non-ASCII, control characters, NUL) is refused with a clear error instead of
//     being sent unnormalised and failing mysteriously.
//  2. The user name is escaped ',' -> "=2C" and '=' -> "=3D" (RFC 5802 section 5.1). No authzid is
//     sent (gs2 header "n,,"), and no channel binding ("c=biws").
//  3. The client nonce must be at least SCRAM_MIN_NONCE_LEN printable characters without ','.
//  4. server-first is parsed strictly in the order r, s, i. A leading m= (mandatory extension) is
//     refused; later extensions (letter=non-empty value) are accepted and ignored, as the RFC
//     allows. The server nonce must start with ours and be strictly longer, and be printable.
//  5. The salt must be non-empty, strictly valid base64 (canonical padding, no whitespace).
//  6. The iteration count must be a plain decimal (no sign, no leading zero) within
//     [SCRAM_MIN_ITER, max], max configurable (default SCRAM_DEFAULT_MAX_ITER, at most INT32_MAX),
//     so a hostile server can neither weaken the derivation nor make us burn CPU.
//  7. Any NUL byte, an empty message or one above SCRAM_MAX_MSG bytes is refused.
//  8. server-final: e=<reason> fails with the server's reason (printable ASCII only, cut short);
//     v= must decode to exactly the digest length and is compared with CRYPTO_memcmp. Success is
//     reported only after the server has proved it knows the password.
//  9. Secrets: the password lives in one heap buffer wiped on free. SaltedPassword, ClientKey,
//     StoredKey, ServerKey, ClientSignature, the proof and the AuthMessage are wiped at the one
//     exit label of the function that derives them; the expected ServerSignature is wiped on free;
//     output tokens are wiped before reuse. No secret ever reaches an error text.
// 10. The salted-password cache (below) is an explicit object: entries are keyed by an HMAC (with a
//     random per-cache key) over (hash, iterations, salt, user, password), so the cache holds no
//     password, and entries are wiped on free.
#ifndef SASL_SCRAM_H
#define SASL_SCRAM_H

#include "sasl/crypto.h"
#include "sasl/sasl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCRAM_MIN_ITER 4096u
#define SCRAM_DEFAULT_MAX_ITER 1000000u
#define SCRAM_MIN_NONCE_LEN 16u
#define SCRAM_MAX_MSG 16384u

enum scram_status {
    SCRAM_CONTINUE,
    SCRAM_COMPLETE,
    SCRAM_FAILED,
    SCRAM_NEED_KDF, // opts->defer_kdf and a cache miss: scram_take_kdf, run it, scram_resume
};

// scram_cache_new returns an empty salted-password cache holding up to |max_entries| entries
// (the oldest is replaced when full), or NULL on allocation or CSPRNG failure. The caller owns it
// and may share it among scram objects for the life of the process; it is not thread-safe.
struct scram_cache *scram_cache_new(size_t max_entries);
// scram_cache_free wipes every entry and frees the cache. NULL is a no-op.
void scram_cache_free(struct scram_cache *c);
// scram_cache_stats reports how many lookups hit and missed (for tests and metrics).
void scram_cache_stats(const struct scram_cache *c, uint64_t *out_hits, uint64_t *out_misses);

// scram_new creates a client for |user| and |password| (both copied). |opts| may be NULL; its
// scram_max_iterations and cache are used (its nonce is not: pass the nonce to scram_start).
// Returns NULL with |err| set if a credential breaks the character policy, the maximum iteration
// count is outside [SCRAM_MIN_ITER, INT32_MAX], or allocation fails.
struct scram *scram_new(enum sasl_hash hash, const char *user, const char *password,
                        const struct sasl_opts *opts, struct sasl_err *err);

// scram_start builds the client-first-message "n,,n=<user>,r=<nonce>" and returns SCRAM_CONTINUE,
// or SCRAM_FAILED for an invalid nonce or a call in the wrong state.
enum scram_status scram_start(struct scram *s, const char *nonce, const uint8_t **out,
                              size_t *out_len, struct sasl_err *err);

// scram_step takes the next server message: the server-first-message (returns SCRAM_CONTINUE with
// the client-final-message) or the server-final-message (returns SCRAM_COMPLETE with an empty
// output once the server signature is verified). Any failure returns SCRAM_FAILED, after which
// the object only fails.
enum scram_status scram_step(struct scram *s, const uint8_t *in, size_t in_len, const uint8_t **out,
                             size_t *out_len, struct sasl_err *err);

// scram_take_kdf hands over the derivation a step left pending (SCRAM_NEED_KDF); NULL if none.
struct sasl_kdf *scram_take_kdf(struct scram *s);
// scram_resume completes the server-first step with the run derivation |k| (always freed):
// SCRAM_CONTINUE with the client-final-message, or SCRAM_FAILED. The salted password goes into
// the cache.
enum scram_status scram_resume(struct scram *s, struct sasl_kdf *k, const uint8_t **out,
                               size_t *out_len, struct sasl_err *err);

// scram_free wipes the password, the expected server signature and the output buffer, then frees.
// NULL is a no-op.
void scram_free(struct scram *s);

#endif
