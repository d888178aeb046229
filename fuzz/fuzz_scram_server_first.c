// fuzz_scram_server_first.c: arbitrary bytes as the SCRAM server-first-message.
// The first input byte picks the hash (SHA-1, SHA-256, SHA-512). The maximum iteration count is
// set to the minimum (4096) so a valid input costs one cheap derivation.
// Invariants: on SCRAM_CONTINUE the client-final-message is "c=biws,r=<nonce>,p=<proof>" where
// <nonce> is the input's r= value, strictly extends the client nonce, and the proof is a
// canonical base64 of exactly one digest; on SCRAM_FAILED there is no output and a non-empty,
// printable error. A following server-final that is not the right signature never completes.
#include "base/base64.h"
#include "sasl/crypto.h"
#include "sasl/sasl.h"
#include "sasl/scram.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NONCE "fyko+d2lbbFgONRv9qkxdawL"

static void check_err(const struct sasl_err *err)
{
    size_t n = strlen(err->msg);
    assert(n > 0 && n < sizeof err->msg);
    for (size_t i = 0; i < n; i++) {
        assert(err->msg[i] >= 0x20 && err->msg[i] <= 0x7e);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    static const enum sasl_hash hashes[3] = {SASL_HASH_SHA1, SASL_HASH_SHA256, SASL_HASH_SHA512};
    enum sasl_hash hash = hashes[data[0] % 3];
    data++;
    size--;
    struct sasl_err err = {{0}};
    struct sasl_opts opts = {.scram_max_iterations = SCRAM_MIN_ITER};
    const uint8_t *out;
    size_t out_len;
    struct scram *s = scram_new(hash, "user", "pencil", &opts, &err);
    assert(s);
    enum scram_status st = scram_start(s, NONCE, &out, &out_len, &err);
    assert(st == SCRAM_CONTINUE);
    st = scram_step(s, data, size, &out, &out_len, &err);
    if (st == SCRAM_FAILED) {
        assert(out == NULL && out_len == 0);
        check_err(&err);
    } else {
        assert(st == SCRAM_CONTINUE);
        // The input starts "r=<nonce>," and the output echoes exactly that nonce.
        assert(size > 2 && data[0] == 'r' && data[1] == '=');
        const uint8_t *comma = memchr(data, ',', size);
        assert(comma);
        size_t nonce_len = (size_t)(comma - data) - 2;
        assert(nonce_len > strlen(NONCE) && memcmp(data + 2, NONCE, strlen(NONCE)) == 0);
        assert(out_len > 9 + nonce_len + 3);
        assert(memcmp(out, "c=biws,r=", 9) == 0);
        assert(memcmp(out + 9, data + 2, nonce_len) == 0);
        assert(memcmp(out + 9 + nonce_len, ",p=", 3) == 0);
        uint8_t proof[SASL_MAX_DIGEST];
        size_t proof_len;
        size_t b64_len = out_len - 12 - nonce_len;
        assert(b64_len == base64_len(sasl_hash_len(hash)));
        assert(base64_decode(proof, sizeof proof, &proof_len, NULL,
                             (const char *)out + 12 + nonce_len, b64_len));
        assert(proof_len == sasl_hash_len(hash));
        // The server-first bytes themselves are not a valid server-final.
        st = scram_step(s, data, size, &out, &out_len, &err);
        assert(st == SCRAM_FAILED);
        check_err(&err);
    }
    scram_free(s);
    return 0;
}
