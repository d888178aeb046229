// fuzz_msk_iam.c: arbitrary inputs to the MSK IAM token builder (sasl/msk_iam.c). The input is
// split at NUL bytes into region, access key id, secret, session token and user agent; the bytes
// after the fifth NUL (up to 8, big-endian) are the signing time, the credentials' expiry is the
// time plus the first byte times 8 seconds (0: none).
// Invariants: a token is base64url without padding that decodes to
// "https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect&...", its expiry is the
// signing time plus 1..900 s and never after the credentials' expiry; a refusal is a printable
// message that never contains the secret (checked for secrets with a '/', which no message has).
#include "base/base64.h"
#include "sasl/msk_iam.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool b64url(const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_')) {
            return false;
        }
    }
    return n % 4 != 1;
}

static void check_url(const struct msk_iam_params *p, const struct msk_iam_token *t)
{
    size_t n = t->token_len;
    char *std = malloc(n + 4);
    uint8_t *url = malloc(n + 4);
    assert(std && url);
    for (size_t i = 0; i < n; i++) {
        std[i] = t->token[i] == '-' ? '+' : t->token[i] == '_' ? '/' : t->token[i];
    }
    while (n % 4) {
        std[n++] = '=';
    }
    size_t len = 0;
    assert(base64_decode(url, n, &len, NULL, std, n));
    const char *want = "https://kafka.";
    assert(len > strlen(want) && memcmp(url, want, strlen(want)) == 0);
    size_t rl = strlen(p->region);
    assert(memcmp(url + strlen(want), p->region, rl) == 0);
    const char *rest = ".amazonaws.com/?Action=kafka-cluster%3AConnect&";
    assert(memcmp(url + strlen(want) + rl, rest, strlen(rest)) == 0);
    free(std);
    free(url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 6);
    assert(buf);
    memcpy(buf, data, size);
    memset(buf + size, 0, 6);
    const char *field[5];
    size_t at = 0;
    for (int i = 0; i < 5; i++) {
        field[i] = buf + at;
        at += strlen(buf + at) + 1;
    }
    uint64_t now = 0;
    for (size_t i = at; i < size && i < at + 8; i++) {
        now = now << 8 | data[i];
    }
    struct msk_iam_params p = {
        .region = field[0],
        .access_key_id = field[1],
        .secret_access_key = field[2],
        .session_token = field[3],
        .user_agent = field[4][0] ? field[4] : NULL,
        .now = (int64_t)(now >> 2),
        .credentials_expiry = size > 0 && data[0] ? (int64_t)(now >> 2) + data[0] * 8 : 0,
    };
    struct msk_iam_token t;
    struct sasl_err err = {{0}};
    if (msk_iam_token_build(&t, &p, &err)) {
        assert(b64url(t.token, t.token_len) && strlen(t.token) == t.token_len);
        assert(t.expires >= 1 && t.expires <= MSK_IAM_MAX_EXPIRES);
        assert(t.expiry == p.now + t.expires);
        assert(!p.credentials_expiry || t.expiry <= p.credentials_expiry);
        check_url(&p, &t);
        msk_iam_token_cleanup(&t);
    } else {
        size_t n = strlen(err.msg);
        assert(n > 0);
        for (size_t i = 0; i < n; i++) {
            assert(err.msg[i] >= 0x20 && err.msg[i] <= 0x7e);
        }
        // No message has a '/', so a secret with one can only appear if it leaked.
        assert(!strchr(p.secret_access_key, '/') || !strstr(err.msg, p.secret_access_key));
    }
    free(buf);
    return 0;
}
