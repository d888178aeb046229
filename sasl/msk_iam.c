// msk_iam.c: the MSK IAM token (see msk_iam.h): a small SigV4 query presigner for the one
// request the token stands for.
//
// invoke/sigv4.c signs HTTP requests with headers for the AWS APIs kesm calls; sasl/ may not use
// it (layering), and this needs only the presigned form of one fixed GET, so it is written out
// here over crypto.c's SHA-256 and HMAC.
#include "sasl/msk_iam.h"

#include "base/base64.h"
#include "base/hex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef KESM_VERSION
#define KESM_VERSION "0"
#endif

#define SERVICE "kafka-cluster"
#define ALGORITHM "AWS4-HMAC-SHA256"
#define MAX_NOW 253402300799 // 9999-12-31T23:59:59Z
// SHA-256 of the empty payload.
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// struct sb: a growing string whose old copies are wiped (it carries the session token).
struct sb {
    char *p;
    size_t len, cap;
    bool oom;
};

static void sb_free(struct sb *b)
{
    if (b->p) {
        sasl_wipe(b->p, b->cap);
        free(b->p);
    }
    *b = (struct sb){0};
}

static void sb_add(struct sb *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = malloc(cap);
        if (!p) {
            b->oom = true;
            return;
        }
        if (b->p) {
            memcpy(p, b->p, b->len);
            sasl_wipe(b->p, b->cap);
            free(b->p);
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_adds(struct sb *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

// sb_add_escaped appends |s| percent-encoded (upper-case hex) except the unreserved characters.
static void sb_add_escaped(struct sb *b, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (unreserved(*c)) {
            sb_add(b, (const char *)c, 1);
        } else {
            char e[3] = {'%', hex_upper[*c >> 4], hex_upper[*c & 15]};
            sb_add(b, e, 3);
        }
    }
}

// check_text: |s| non-empty (unless |may_be_empty|), at most |max| bytes, every byte in
// [lo, 0x7e]; |alnum| restricts to letters and digits.
static bool check_text(const char *s, size_t max, unsigned char lo, bool alnum, const char *what,
                       struct sasl_err *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0) {
        return sasl_err_set(err, "MSK IAM: %s is empty", what);
    }
    if (n > max) {
        return sasl_err_set(err, "MSK IAM: %s is too long (%zu bytes, at most %zu)", what, n, max);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = alnum ? (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                        : c >= lo && c <= 0x7e;
        if (!ok) {
            return sasl_err_set(
                err, "MSK IAM: %s has a byte not allowed there (0x%02x at offset %zu)", what, c, i);
        }
    }
    return true;
}

static bool check_region(const char *r, struct sasl_err *err)
{
    size_t n = r ? strlen(r) : 0;
    if (n == 0) {
        return sasl_err_set(err, "MSK IAM: region is empty");
    }
    if (n > MSK_IAM_MAX_REGION) {
        return sasl_err_set(err, "MSK IAM: region is too long (%zu bytes, at most %d)", n,
                            MSK_IAM_MAX_REGION);
    }
    for (size_t i = 0; i < n; i++) {
        char c = r[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            return sasl_err_set(err,
                                "MSK IAM: region may hold only a-z, 0-9 and '-' (0x%02x at "
                                "offset %zu)",
                                (unsigned char)c, i);
        }
    }
    if (r[0] == '-' || r[n - 1] == '-') {
        return sasl_err_set(err, "MSK IAM: region \"%s\" starts or ends with '-'", r);
    }
    return true;
}

// check_params validates |p| and works out the lifetime into *out_expires.
static bool check_params(const struct msk_iam_params *p, uint32_t *out_expires,
                         struct sasl_err *err)
{
    if (!check_region(p->region, err) ||
        !check_text(p->access_key_id, MSK_IAM_MAX_KEY_ID, 0, true, "access key id", err) ||
        !check_text(p->secret_access_key, MSK_IAM_MAX_SECRET, 0x21, false, "secret access key",
                    err) ||
        (p->session_token && p->session_token[0] &&
         !check_text(p->session_token, MSK_IAM_MAX_SESSION_TOKEN, 0x21, false, "session token",
                     err)) ||
        (p->user_agent &&
         !check_text(p->user_agent, MSK_IAM_MAX_USER_AGENT, 0x20, false, "user agent", err))) {
        return false;
    }
    if (p->now < 0 || p->now > MAX_NOW) {
        return sasl_err_set(err, "MSK IAM: signing time %lld is outside 1970..9999",
                            (long long)p->now);
    }
    if (p->expires > MSK_IAM_MAX_EXPIRES) {
        return sasl_err_set(err, "MSK IAM: token lifetime %u s is longer than %d s", p->expires,
                            MSK_IAM_MAX_EXPIRES);
    }
    int64_t ttl = p->expires ? p->expires : MSK_IAM_MAX_EXPIRES;
    if (p->credentials_expiry != 0) {
        if (p->credentials_expiry <= p->now) {
            return sasl_err_set(err, "MSK IAM: the AWS credentials expired %lld s before signing",
                                (long long)(p->now - p->credentials_expiry));
        }
        if (p->credentials_expiry - p->now < ttl) {
            ttl = p->credentials_expiry - p->now;
        }
    }
    *out_expires = (uint32_t)ttl;
    return true;
}

// struct presign: the pieces of one presigned request.
struct presign {
    const struct msk_iam_params *p;
    char amz_date[17]; // YYYYMMDDTHHMMSSZ
    char short_date[9];
    char host[sizeof "kafka..amazonaws.com" + MSK_IAM_MAX_REGION];
    char expires[11];
    char credential[MSK_IAM_MAX_KEY_ID + sizeof "/YYYYMMDD//" SERVICE "/aws4_request" +
                    MSK_IAM_MAX_REGION];
    char signature[65];
};

// add_query appends the query in name order; |final| adds User-Agent and X-Amz-Signature (the
// URL), otherwise it is the canonical query that is signed.
static void add_query(struct sb *b, const struct presign *ps, bool final)
{
    const struct msk_iam_params *p = ps->p;
    const char *ua = p->user_agent ? p->user_agent : "kesm/" KESM_VERSION;
    bool token = p->session_token && p->session_token[0];
    const struct {
        const char *name, *value;
        bool on;
    } q[] = {
        {"Action", "kafka-cluster:Connect", true},
        {"User-Agent", ua, final},
        {"X-Amz-Algorithm", ALGORITHM, true},
        {"X-Amz-Credential", ps->credential, true},
        {"X-Amz-Date", ps->amz_date, true},
        {"X-Amz-Expires", ps->expires, true},
        {"X-Amz-Security-Token", token ? p->session_token : "", token},
        {"X-Amz-Signature", ps->signature, final},
        {"X-Amz-SignedHeaders", "host", true},
    };
    bool first = true;
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        if (!q[i].on) {
            continue;
        }
        sb_adds(b, first ? "" : "&");
        sb_add_escaped(b, q[i].name);
        sb_adds(b, "=");
        sb_add_escaped(b, q[i].value);
        first = false;
    }
}

// sign computes ps->signature over the canonical request.
static bool sign(struct presign *ps, struct sasl_err *err)
{
    const struct msk_iam_params *p = ps->p;
    struct sb creq = {0}, sts = {0}, key = {0};
    uint8_t h[32], k[32];
    char h_hex[65];
    bool ok = false;
    sb_adds(&creq, "GET\n/\n");
    add_query(&creq, ps, false);
    sb_adds(&creq, "\nhost:");
    sb_adds(&creq, ps->host);
    sb_adds(&creq, "\n\nhost\n" EMPTY_SHA256);
    if (creq.oom || !sasl_digest(SASL_HASH_SHA256, h, (const uint8_t *)creq.p, creq.len)) {
        sasl_err_set(err, "MSK IAM: cannot hash the canonical request (out of memory?)");
        goto out;
    }
    hex_encode(h_hex, h, sizeof h);
    sb_adds(&sts, ALGORITHM "\n");
    sb_adds(&sts, ps->amz_date);
    sb_adds(&sts, "\n");
    sb_adds(&sts, ps->short_date);
    sb_adds(&sts, "/");
    sb_adds(&sts, p->region);
    sb_adds(&sts, "/" SERVICE "/aws4_request\n");
    sb_adds(&sts, h_hex);
    sb_adds(&key, "AWS4");
    sb_adds(&key, p->secret_access_key);
    const char *chain[] = {ps->short_date, p->region, SERVICE, "aws4_request"};
    const uint8_t *kp = (const uint8_t *)key.p;
    size_t kl = key.len;
    ok = !sts.oom && !key.oom;
    for (size_t i = 0; ok && i < sizeof chain / sizeof chain[0]; i++) {
        ok = sasl_hmac(SASL_HASH_SHA256, k, kp, kl, (const uint8_t *)chain[i], strlen(chain[i]));
        kp = k;
        kl = sizeof k;
    }
    ok = ok && sasl_hmac(SASL_HASH_SHA256, h, k, sizeof k, (const uint8_t *)sts.p, sts.len);
    if (!ok) {
        sasl_err_set(err, "MSK IAM: cannot compute the signature (out of memory?)");
        goto out;
    }
    hex_encode(ps->signature, h, sizeof h);
out:
    sasl_wipe(k, sizeof k);
    sasl_wipe(h, sizeof h);
    sb_free(&creq);
    sb_free(&sts);
    sb_free(&key);
    return ok;
}

bool msk_iam_presigned_url(char **out_url, size_t *out_len, uint32_t *out_expires,
                           const struct msk_iam_params *p, struct sasl_err *err)
{
    *out_url = NULL;
    *out_len = 0;
    struct presign ps = {.p = p};
    uint32_t expires = 0;
    if (!check_params(p, &expires, err)) {
        return false;
    }
    time_t t = (time_t)p->now;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(ps.amz_date, sizeof ps.amz_date, "%Y%m%dT%H%M%SZ", &tm) !=
                                  sizeof ps.amz_date - 1) {
        return sasl_err_set(err, "MSK IAM: cannot format the signing time %lld", (long long)p->now);
    }
    memcpy(ps.short_date, ps.amz_date, 8);
    snprintf(ps.host, sizeof ps.host, "kafka.%s.amazonaws.com", p->region);
    snprintf(ps.expires, sizeof ps.expires, "%u", expires);
    snprintf(ps.credential, sizeof ps.credential, "%s/%s/%s/" SERVICE "/aws4_request",
             p->access_key_id, ps.short_date, p->region);
    if (!sign(&ps, err)) {
        return false;
    }
    struct sb url = {0};
    sb_adds(&url, "https://");
    sb_adds(&url, ps.host);
    sb_adds(&url, "/?");
    add_query(&url, &ps, true);
    sasl_wipe(ps.signature, sizeof ps.signature);
    if (url.oom) {
        sb_free(&url);
        return sasl_err_set(err, "out of memory");
    }
    *out_url = url.p; // cap > len: the caller wipes len bytes plus the NUL, the rest is unused
    *out_len = url.len;
    *out_expires = expires;
    return true;
}

void msk_iam_url_free(char *url, size_t len)
{
    if (url) {
        sasl_wipe(url, len);
        free(url);
    }
}

bool msk_iam_token_build(struct msk_iam_token *out, const struct msk_iam_params *p,
                         struct sasl_err *err)
{
    *out = (struct msk_iam_token){0};
    char *url;
    size_t url_len;
    uint32_t expires;
    if (!msk_iam_presigned_url(&url, &url_len, &expires, p, err)) {
        return false;
    }
    size_t cap = base64_len(url_len) + 1;
    char *tok = malloc(cap);
    if (!tok) {
        msk_iam_url_free(url, url_len);
        return sasl_err_set(err, "out of memory");
    }
    size_t n = base64url_encode(tok, (const uint8_t *)url, url_len); // RFC 4648 section 5
    tok[n] = '\0';
    msk_iam_url_free(url, url_len);
    out->token = tok;
    out->token_len = n;
    out->expires = expires;
    out->expiry = p->now + expires;
    return true;
}

void msk_iam_token_cleanup(struct msk_iam_token *t)
{
    if (t->token) {
        sasl_wipe(t->token, t->token_len);
        free(t->token);
    }
    *t = (struct msk_iam_token){0};
}
