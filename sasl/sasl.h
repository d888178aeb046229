// sasl.h: the generic client mechanism interface that net/ drives, and the error buffer every
// sasl/ function fills.
//
// A mechanism turns server tokens into client tokens and does no I/O. The driver (net/, with the
// SaslHandshake/SaslAuthenticate codecs of proto/) does:
//
//   struct sasl_err err;
//   struct sasl_mech *m = sasl_mech_new("SCRAM-SHA-512", user, password, &opts, &err);
//   sasl_mech_start(m, &tok, &tok_len, &err);            // send tok (the initial response)
//   while (sasl_mech_step(m, in, in_len, &tok, &tok_len, &err) == SASL_CONTINUE) { send tok; }
//   // SASL_COMPLETE: authenticated and (for SCRAM) the server proved it knows the password.
//   // SASL_FAILED: err.msg says why; drop the connection.
//   sasl_mech_free(m);
//
// Tokens returned through |out| point into the mechanism's own buffer: they are valid until the
// next call on it, and are wiped by the next call and by sasl_mech_free (a client-final carries a
// proof, a PLAIN token carries the password).
//
// Error texts never contain a password, a key, a proof or a signature; a reason given by the server
// is copied only as printable ASCII and cut short.
#ifndef SASL_SASL_H
#define SASL_SASL_H

#include "sasl/crypto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// struct sasl_err carries a human-readable reason, libpq-shaped:
// "malformed SCRAM message (invalid salt)". msg is "" when no error was recorded.
struct sasl_err {
    char msg[192];
};

// sasl_err_set formats a message into |err| (which may be NULL) and returns false, so a bool
// function can `return sasl_err_set(err, "...")`.
bool sasl_err_set(struct sasl_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

enum sasl_status {
    SASL_CONTINUE, // |out| holds a token to send; feed the server's reply to sasl_mech_step
    SASL_COMPLETE, // authentication finished successfully; |out| may hold a final token (empty)
    SASL_FAILED,   // see the sasl_err
    SASL_NEED_KDF, // (opts.defer_kdf) a key derivation must run first: see sasl_mech_take_kdf
};

// struct sasl_kdf: one PBKDF2 derivation (SCRAM's SaltedPassword), self-contained: it holds
// copies of the password and salt, so it can run on any thread while the mechanism waits, and
// outlive the mechanism (a connection that goes away). Wiped on free.
struct sasl_kdf;

// sasl_kdf_run computes the derivation. It touches nothing but |k|: safe on any thread.
void sasl_kdf_run(struct sasl_kdf *k);
// sasl_kdf_free wipes and frees. NULL is a no-op.
void sasl_kdf_free(struct sasl_kdf *k);

struct scram_cache;

// struct sasl_opts tunes a mechanism; a zeroed struct gives the defaults.
struct sasl_opts {
    uint32_t scram_max_iterations; // upper bound on the server's i=; 0 = SCRAM_DEFAULT_MAX_ITER
    struct scram_cache *cache;     // salted-password cache (borrowed, may be NULL); see scram.h
    const char *nonce;             // test hook: a fixed SCRAM client nonce; NULL = random
    // defer_kdf: SCRAM's PBKDF2 (up to 0.5 s at the iteration cap) is not run inside
    // sasl_mech_step: on a salted-password cache miss it returns SASL_NEED_KDF instead, so the
    // driver can run the derivation off its event loop.
    bool defer_kdf;
};

struct sasl_mech;

// sasl_mech_names lists the user-name-and-password mechanisms sasl_mech_new offers,
// NULL-terminated: "SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN". OAUTHBEARER has constructors of its
// own (below).
const char *const *sasl_mech_names(void);

// sasl_hash_from_mech maps "SCRAM-SHA-256"/"SCRAM-SHA-512" to the hash; false for anything else
// (SHA-1 is never offered).
bool sasl_hash_from_mech(const char *mech, enum sasl_hash *out);

// sasl_mech_new creates a client for mechanism |name| with the given credentials, which it copies
// (the caller may wipe its own copies at once). Returns NULL with |err| set for an unknown
// mechanism, credentials the mechanism refuses (see scram.h for the character policy), or
// allocation failure. |opts| may be NULL.
struct sasl_mech *sasl_mech_new(const char *name, const char *user, const char *password,
                                const struct sasl_opts *opts, struct sasl_err *err);

struct msk_iam_params;

// sasl_mech_new_oauthbearer creates an OAUTHBEARER client (RFC 7628; see oauthbearer.h) that sends
// |token| (|token_len| bytes, copied; reading a token file is the caller's business). |expiry| is
// when the token stops being valid (Unix seconds, 0 = unknown), reported back by
// sasl_mech_token_expiry. Returns NULL with |err| set for a token the policy refuses, or on OOM.
struct sasl_mech *sasl_mech_new_oauthbearer(const uint8_t *token, size_t token_len, int64_t expiry,
                                            struct sasl_err *err);

// sasl_mech_new_msk_iam creates an OAUTHBEARER client carrying an Amazon MSK IAM token built from
// |p| (credentials, region and the signing time; see msk_iam.h). Its token expiry is the signing
// time plus the token's lifetime. Returns NULL with |err| set (which input is wrong, never a
// secret) or on OOM.
struct sasl_mech *sasl_mech_new_msk_iam(const struct msk_iam_params *p, struct sasl_err *err);

// sasl_mech_token_expiry returns when the mechanism's credential stops being valid (Unix seconds):
// an OAUTHBEARER token's expiry, or 0 (unknown, or a password that does not expire). A session
// re-authenticates (KIP-368) with a fresh mechanism before then.
int64_t sasl_mech_token_expiry(const struct sasl_mech *m);

// sasl_mech_server_reason returns the error the server explained in the exchange (OAUTHBEARER's
// error JSON, as printable text), or "" if none: the server's SaslAuthenticate error that follows
// says less, so a driver adds this to its message.
const char *sasl_mech_server_reason(const struct sasl_mech *m);

// sasl_mech_name returns the mechanism name as sent in SaslHandshake.
const char *sasl_mech_name(const struct sasl_mech *m);

// sasl_mech_start produces the client's initial response. Returns SASL_CONTINUE with a token, or
// SASL_FAILED.
enum sasl_status sasl_mech_start(struct sasl_mech *m, const uint8_t **out, size_t *out_len,
                                 struct sasl_err *err);

// sasl_mech_step feeds one server token (|in|, |in_len| bytes; it need not be NUL-terminated and
// may contain anything). Returns SASL_CONTINUE with the next client token, SASL_COMPLETE (|out| is
// then an empty token), or SASL_FAILED; after SASL_FAILED or SASL_COMPLETE every further call
// fails.
enum sasl_status sasl_mech_step(struct sasl_mech *m, const uint8_t *in, size_t in_len,
                                const uint8_t **out, size_t *out_len, struct sasl_err *err);

// sasl_mech_take_kdf hands the pending derivation to the caller after SASL_NEED_KDF (the caller
// owns it: sasl_kdf_run it anywhere, then give it to sasl_mech_resume, or sasl_kdf_free it).
// NULL when none is pending.
struct sasl_kdf *sasl_mech_take_kdf(struct sasl_mech *m);
// sasl_mech_resume finishes the step that returned SASL_NEED_KDF with the derivation |k| (run;
// taken over and freed in any case). Returns what sasl_mech_step would have: SASL_CONTINUE with
// the client-final-message, or SASL_FAILED.
enum sasl_status sasl_mech_resume(struct sasl_mech *m, struct sasl_kdf *k, const uint8_t **out,
                                  size_t *out_len, struct sasl_err *err);

// sasl_mech_finished returns true once the exchange completed successfully.
bool sasl_mech_finished(const struct sasl_mech *m);

// sasl_mech_free wipes every secret the mechanism holds and frees it. NULL is a no-op.
void sasl_mech_free(struct sasl_mech *m);

#endif
