// fuzz_scram_server_final.c: arbitrary bytes as the SCRAM server-final-message, after the
// RFC 7677 SCRAM-SHA-256 server-first-message (a process-wide salted-password cache keeps each run
// cheap).
// Invariants: SCRAM_COMPLETE only for exactly "v=<the RFC 7677 signature>" optionally followed by
// ",<letter>=<value>..." extensions; otherwise SCRAM_FAILED with a non-empty printable error, and
// an e= reason reported only as printable text.
#include "sasl/crypto.h"
#include "sasl/sasl.h"
#include "sasl/scram.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NONCE "rOprNGfwEbeRWgbNEkqO"
#define FIRST "r=" NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define GOOD_V "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static struct scram_cache *cache;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cache) {
        cache = scram_cache_new(1); // lives for the whole fuzzing process
        assert(cache);
    }
    struct sasl_err err = {{0}};
    struct sasl_opts opts = {.cache = cache};
    const uint8_t *out;
    size_t out_len;
    struct scram *s = scram_new(SASL_HASH_SHA256, "user", "pencil", &opts, &err);
    assert(s);
    assert(scram_start(s, NONCE, &out, &out_len, &err) == SCRAM_CONTINUE);
    assert(scram_step(s, (const uint8_t *)FIRST, strlen(FIRST), &out, &out_len, &err) ==
           SCRAM_CONTINUE);
    enum scram_status st = scram_step(s, data, size, &out, &out_len, &err);
    size_t good = strlen(GOOD_V);
    if (st == SCRAM_COMPLETE) {
        assert(out_len == 0);
        assert(size >= good && memcmp(data, GOOD_V, good) == 0);
        assert(size == good || data[good] == ',');
        assert(memchr(data, 0, size) == NULL);
    } else {
        assert(st == SCRAM_FAILED);
        size_t n = strlen(err.msg);
        assert(n > 0);
        for (size_t i = 0; i < n; i++) {
            assert(err.msg[i] >= 0x20 && err.msg[i] <= 0x7e);
        }
        // The right signature followed by nothing or a valid extension must not fail.
        assert(!(size == good && memcmp(data, GOOD_V, good) == 0));
    }
    scram_free(s);
    return 0;
}
