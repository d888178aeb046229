// scram_cache.h: internal interface between scram.c and scram_cache.c (the public half of the
// cache, new/free/stats, is in scram.h).
#ifndef SASL_SCRAM_CACHE_H
#define SASL_SCRAM_CACHE_H

#include "sasl/crypto.h"
#include "sasl/scram.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// struct scram_cache_key names one derivation; every field is borrowed.
struct scram_cache_key {
    enum sasl_hash hash;
    uint32_t iterations;
    const uint8_t *salt;
    size_t salt_len;
    const char *user;
    const uint8_t *password;
    size_t password_len;
};

// scram_cache_get copies the cached SaltedPassword for |k| (sasl_hash_len bytes) to |out| and
// returns true, or returns false on a miss. |c| may be NULL (always a miss).
bool scram_cache_get(struct scram_cache *c, const struct scram_cache_key *k, uint8_t *out);
// scram_cache_put stores |salted| for |k|, replacing the oldest entry when full. No-op if |c| is
// NULL or the key cannot be computed.
void scram_cache_put(struct scram_cache *c, const struct scram_cache_key *k, const uint8_t *salted);

#endif
