// scram_cache.c: the salted-password cache, so a reconnect storm does not redo PBKDF2.
//
// An entry is (id, SaltedPassword). The id is HMAC-SHA-256 under a random per-cache key over a
// length-prefixed encoding of (hash, iterations, salt, user, password): the cache never stores the
// password, and an id is useless outside the process. Ids are compared in constant time. Entries
// are wiped when replaced and when the cache is freed.
#include "sasl/scram_cache.h"

#include <stdlib.h>
#include <string.h>

#define ID_LEN 32

struct cache_entry {
    bool used;
    uint8_t id[ID_LEN];
    uint8_t salted[SASL_MAX_DIGEST];
};

struct scram_cache {
    uint8_t key[32];
    size_t cap;
    size_t next; // ring position of the next replacement
    uint64_t hits;
    uint64_t misses;
    struct cache_entry entries[];
};

struct scram_cache *scram_cache_new(size_t max_entries)
{
    if (max_entries == 0 || max_entries > 4096) {
        return NULL;
    }
    struct scram_cache *c = calloc(1, sizeof *c + max_entries * sizeof c->entries[0]);
    if (!c) {
        return NULL;
    }
    c->cap = max_entries;
    if (!sasl_random(c->key, sizeof c->key)) {
        free(c);
        return NULL;
    }
    return c;
}

void scram_cache_free(struct scram_cache *c)
{
    if (!c) {
        return;
    }
    sasl_wipe(c, sizeof *c + c->cap * sizeof c->entries[0]);
    free(c);
}

void scram_cache_stats(const struct scram_cache *c, uint64_t *out_hits, uint64_t *out_misses)
{
    *out_hits = c ? c->hits : 0;
    *out_misses = c ? c->misses : 0;
}

static size_t put_field(uint8_t *p, const void *data, size_t len)
{
    p[0] = (uint8_t)(len >> 24);
    p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    if (len) {
        memcpy(p + 4, data, len);
    }
    return 4 + len;
}

// compute_id writes the entry id for |k|; false on allocation or libcrypto failure.
static bool compute_id(const struct scram_cache *c, const struct scram_cache_key *k,
                       uint8_t id[ID_LEN])
{
    size_t user_len = strlen(k->user);
    uint8_t head[5] = {(uint8_t)k->hash, (uint8_t)(k->iterations >> 24),
                       (uint8_t)(k->iterations >> 16), (uint8_t)(k->iterations >> 8),
                       (uint8_t)k->iterations};
    size_t len = 4 * 4 + sizeof head + k->salt_len + user_len + k->password_len;
    uint8_t *buf = malloc(len);
    if (!buf) {
        return false;
    }
    size_t o = put_field(buf, head, sizeof head);
    o += put_field(buf + o, k->salt, k->salt_len);
    o += put_field(buf + o, k->user, user_len);
    o += put_field(buf + o, k->password, k->password_len);
    bool ok = sasl_hmac(SASL_HASH_SHA256, id, c->key, sizeof c->key, buf, o);
    sasl_wipe(buf, len);
    free(buf);
    return ok;
}

bool scram_cache_get(struct scram_cache *c, const struct scram_cache_key *k, uint8_t *out)
{
    uint8_t id[ID_LEN];
    bool found = false;
    if (c && compute_id(c, k, id)) {
        for (size_t i = 0; i < c->cap && !found; i++) {
            if (c->entries[i].used && sasl_ct_equal(c->entries[i].id, id, ID_LEN)) {
                memcpy(out, c->entries[i].salted, sasl_hash_len(k->hash));
                found = true;
            }
        }
        if (found) {
            c->hits++;
        } else {
            c->misses++;
        }
    }
    sasl_wipe(id, sizeof id);
    return found;
}

void scram_cache_put(struct scram_cache *c, const struct scram_cache_key *k, const uint8_t *salted)
{
    if (!c) {
        return;
    }
    struct cache_entry *e = &c->entries[c->next];
    sasl_wipe(e, sizeof *e);
    if (!compute_id(c, k, e->id)) {
        return;
    }
    memcpy(e->salted, salted, sasl_hash_len(k->hash));
    e->used = true;
    c->next = (c->next + 1) % c->cap;
}
