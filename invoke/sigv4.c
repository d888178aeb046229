// sigv4.c: SigV4 canonical request, string to sign, key derivation, signing and verification.
#include "invoke/sigv4.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/hex.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ALGORITHM "AWS4-HMAC-SHA256"

struct hdr {
    char *name;  // lower case
    char *value; // trimmed, inner whitespace collapsed
    size_t idx;  // input order, for a stable sort
};

static const char *const unsigned_headers[] = {
    "connection", "expect",  "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer",    "upgrade", "user-agent", "transfer-encoding",  "x-amzn-trace-id",
};

static bool is_unsigned(const char *lname)
{
    for (size_t i = 0; i < sizeof unsigned_headers / sizeof unsigned_headers[0]; i++) {
        if (strcmp(lname, unsigned_headers[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static char *lower_dup(const char *s)
{
    char *d = xstrdup(s);
    for (char *p = d; *p; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            *p = (char)(*p - 'A' + 'a');
        }
    }
    return d;
}

static char *trim_dup(const char *s)
{
    struct buf b;
    buf_init(&b);
    bool space = false;
    for (; *s; s++) {
        if (is_ws(*s)) {
            space = b.len > 0;
            continue;
        }
        if (space) {
            buf_addc(&b, ' ');
            space = false;
        }
        buf_addc(&b, *s);
    }
    return buf_steal(&b, NULL);
}

static void hdrs_add(struct hdr **v, size_t *n, const char *name, const char *value)
{
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[*n].name = lower_dup(name);
    (*v)[*n].value = trim_dup(value);
    (*v)[*n].idx = *n;
    (*n)++;
}

static void hdrs_free(struct hdr *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
}

static int hdr_cmp(const void *a, const void *b)
{
    const struct hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0) {
        return c;
    }
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

void sigv4_uri_encode(struct buf *out, const char *s, size_t n, bool keep_slash)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            buf_addc(out, (char)c);
        } else {
            char e[3] = {'%', hex_upper[c >> 4], hex_upper[c & 15]};
            buf_add(out, e, 3);
        }
    }
}

void sigv4_form_add(struct buf *out, const char *name, const char *value, size_t n)
{
    if (out->len > 0) {
        buf_addc(out, '&');
    }
    buf_adds(out, name);
    buf_addc(out, '=');
    sigv4_uri_encode(out, value, n, false);
}

// pct_decode decodes %XX escapes; a '%' not followed by two hex digits stays literal.
static void pct_decode(struct buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            buf_addc(out, (char)(hex_value(s[i + 1]) << 4 | hex_value(s[i + 2])));
            i += 2;
        } else {
            buf_addc(out, s[i]);
        }
    }
}

// canonical_uri: remove dot segments and empty segments, then percent-encode the (already
// encoded) path once more, keeping '/'.
static void canonical_uri(struct buf *out, const char *path)
{
    if (path == NULL || *path == '\0') {
        buf_addc(out, '/');
        return;
    }
    size_t n = strlen(path);
    const char **seg = xcalloc(n + 1, sizeof *seg);
    size_t *seg_len = xcalloc(n + 1, sizeof *seg_len);
    size_t num = 0;
    for (const char *p = path; p <= path + n;) {
        const char *slash = strchr(p, '/');
        const char *e = slash ? slash : path + n;
        size_t l = (size_t)(e - p);
        if (l == 2 && p[0] == '.' && p[1] == '.') {
            if (num) {
                num--;
            }
        } else if (l > 0 && !(l == 1 && p[0] == '.')) {
            seg[num] = p;
            seg_len[num++] = l;
        }
        p = e + 1;
    }
    if (path[0] == '/') {
        buf_addc(out, '/');
    }
    for (size_t i = 0; i < num; i++) {
        if (i) {
            buf_addc(out, '/');
        }
        sigv4_uri_encode(out, seg[i], seg_len[i], false);
    }
    if (path[n - 1] == '/' && num > 0) {
        buf_addc(out, '/');
    }
    free(seg);
    free(seg_len);
}

struct qpair {
    char *name, *value;
};

static int qpair_cmp(const void *a, const void *b)
{
    const struct qpair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *reencode(const char *s, size_t n)
{
    struct buf d, e;
    buf_init(&d);
    buf_init(&e);
    pct_decode(&d, s, n);
    sigv4_uri_encode(&e, d.p ? d.p : "", d.len, false);
    buf_cleanup(&d);
    return buf_steal(&e, NULL);
}

static void canonical_query(struct buf *out, const char *query)
{
    if (query == NULL || *query == '\0') {
        return;
    }
    struct qpair *v = NULL;
    size_t num = 0;
    const char *p = query;
    for (;;) {
        const char *amp = strchr(p, '&');
        const char *e = amp ? amp : p + strlen(p);
        if (e > p) {
            const char *eq = memchr(p, '=', (size_t)(e - p));
            const char *ne = eq ? eq : e;
            v = xrealloc(v, (num + 1) * sizeof *v);
            v[num].name = reencode(p, (size_t)(ne - p));
            v[num].value = eq ? reencode(eq + 1, (size_t)(e - eq - 1)) : xstrdup("");
            num++;
        }
        if (amp == NULL) {
            break;
        }
        p = amp + 1;
    }
    qsort(v, num, sizeof *v, qpair_cmp);
    for (size_t i = 0; i < num; i++) {
        if (i) {
            buf_addc(out, '&');
        }
        buf_adds(out, v[i].name);
        buf_addc(out, '=');
        buf_adds(out, v[i].value);
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
}

void sigv4_sha256_hex(char out[65], const void *p, size_t n)
{
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256(p, n, h);
    hex_encode(out, h, sizeof h);
}

// build_canonical sorts |h| and writes the canonical request; *out_signed gets the signed header
// list (heap).
static void build_canonical(struct buf *out, const struct sigv4_request *req, struct hdr *h,
                            size_t nh, bool s3, char **out_signed)
{
    qsort(h, nh, sizeof *h, hdr_cmp);
    buf_adds(out, req->method);
    buf_addc(out, '\n');
    if (s3) {
        buf_adds(out, req->path && *req->path ? req->path : "/"); // as sent, once encoded
    } else {
        canonical_uri(out, req->path);
    }
    buf_addc(out, '\n');
    canonical_query(out, req->query);
    buf_addc(out, '\n');
    struct buf sh;
    buf_init(&sh);
    for (size_t i = 0; i < nh; i++) {
        if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0) {
            buf_addc(out, ',');
            buf_adds(out, h[i].value);
            continue;
        }
        if (i > 0) {
            buf_addc(out, '\n');
            buf_addc(&sh, ';');
        }
        buf_adds(out, h[i].name);
        buf_addc(out, ':');
        buf_adds(out, h[i].value);
        buf_adds(&sh, h[i].name);
    }
    buf_add(out, "\n\n", 2);
    buf_adds(out, buf_cstr(&sh));
    buf_addc(out, '\n');
    const char *given = NULL;
    for (size_t i = 0; s3 && i < nh; i++) {
        if (strcmp(h[i].name, "x-amz-content-sha256") == 0) {
            given = h[i].value; // S3 signs the payload hash it was told (or UNSIGNED-PAYLOAD)
        }
    }
    char ph[65];
    sigv4_sha256_hex(ph, req->body ? req->body : "", req->body ? req->body_len : 0);
    buf_adds(out, given ? given : ph);
    *out_signed = buf_steal(&sh, NULL);
}

// collect_for_signing gathers the headers to sign; fails on a missing Host or a header that is
// the signer's output.
static int collect_for_signing(const struct sigv4_request *req, const char *amz_date,
                               const char *token, struct hdr **out, size_t *out_n,
                               struct inv_err *err)
{
    struct hdr *h = NULL;
    size_t n = 0;
    bool host = false;
    for (size_t i = 0; i < req->num_headers; i++) {
        const char *name = req->headers[i].name;
        if (strcasecmp(name, "authorization") == 0 || strcasecmp(name, "x-amz-date") == 0 ||
            strcasecmp(name, "x-amz-security-token") == 0) {
            hdrs_free(h, n);
            return inv_fail(err, -1, "sigv4: the request already has a %s header", name);
        }
        char *l = lower_dup(name);
        bool skip = is_unsigned(l);
        host = host || strcmp(l, "host") == 0;
        free(l);
        if (!skip) {
            hdrs_add(&h, &n, name, req->headers[i].value ? req->headers[i].value : "");
        }
    }
    if (!host) {
        hdrs_free(h, n);
        return inv_fail(err, -1, "sigv4: the request has no Host header");
    }
    hdrs_add(&h, &n, "x-amz-date", amz_date);
    if (token != NULL) {
        hdrs_add(&h, &n, "x-amz-security-token", token);
    }
    *out = h;
    *out_n = n;
    return 0;
}

int sigv4_canonical_request(struct buf *out, const struct sigv4_request *req, const char *amz_date,
                            const char *security_token, struct inv_err *err)
{
    struct hdr *h;
    size_t n;
    if (collect_for_signing(req, amz_date, security_token, &h, &n, err) != 0) {
        return -1;
    }
    char *signed_list;
    build_canonical(out, req, h, n, false, &signed_list);
    free(signed_list);
    hdrs_free(h, n);
    return 0;
}

static void hmac(unsigned char out[32], const void *key, size_t key_len, const char *msg,
                 size_t msg_len)
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, msg_len, out, &len);
}

// signature_hex derives the signing key and signs |sts|; every key is wiped before returning.
static void signature_hex(char out[65], const char *secret, const char *date, const char *region,
                          const char *service, const char *sts, size_t sts_len)
{
    size_t slen = strlen(secret);
    char *k0 = xmalloc(slen + 5);
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, slen + 1);
    unsigned char k[4][32], sig[32];
    hmac(k[0], k0, slen + 4, date, strlen(date));
    hmac(k[1], k[0], 32, region, strlen(region));
    hmac(k[2], k[1], 32, service, strlen(service));
    hmac(k[3], k[2], 32, "aws4_request", 12);
    hmac(sig, k[3], 32, sts, sts_len);
    hex_encode(out, sig, sizeof sig);
    OPENSSL_cleanse(k0, slen + 4);
    free(k0);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(sig, sizeof sig);
}

static void string_to_sign(struct buf *sts, const char *amz_date, const char *scope,
                           const struct buf *creq)
{
    char ch[65];
    sigv4_sha256_hex(ch, creq->p, creq->len);
    buf_adds(sts, ALGORITHM "\n");
    buf_adds(sts, amz_date);
    buf_addc(sts, '\n');
    buf_adds(sts, scope);
    buf_addc(sts, '\n');
    buf_add(sts, ch, 64);
}

void sigv4_signed_cleanup(struct sigv4_signed *s)
{
    free(s->authorization);
    memset(s, 0, sizeof *s);
}

static int sign(struct sigv4_signed *out, const struct inv_creds *creds, const char *region,
                const char *service, int64_t unix_time, const struct sigv4_request *req, bool s3,
                struct inv_err *err)
{
    memset(out, 0, sizeof *out);
    if (creds->access_key_id == NULL || creds->secret_access_key == NULL) {
        return inv_fail(err, -1, "sigv4: no credentials");
    }
    time_t t = (time_t)unix_time;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL ||
        strftime(out->amz_date, sizeof out->amz_date, "%Y%m%dT%H%M%SZ", &tm) != 16) {
        return inv_fail(err, -1, "sigv4: time %lld cannot be formatted", (long long)unix_time);
    }
    struct hdr *h;
    size_t n;
    if (collect_for_signing(req, out->amz_date, creds->session_token, &h, &n, err) != 0) {
        return -1;
    }
    struct buf creq, sts, scope, auth;
    buf_init(&creq);
    buf_init(&sts);
    buf_init(&scope);
    buf_init(&auth);
    char *signed_list;
    build_canonical(&creq, req, h, n, s3, &signed_list);
    hdrs_free(h, n);
    char date[9];
    memcpy(date, out->amz_date, 8);
    date[8] = '\0';
    buf_adds(&scope, date);
    buf_addc(&scope, '/');
    buf_adds(&scope, region);
    buf_addc(&scope, '/');
    buf_adds(&scope, service);
    buf_adds(&scope, "/aws4_request");
    string_to_sign(&sts, out->amz_date, buf_cstr(&scope), &creq);
    signature_hex(out->signature, creds->secret_access_key, date, region, service, sts.p, sts.len);
    buf_adds(&auth, ALGORITHM " Credential=");
    buf_adds(&auth, creds->access_key_id);
    buf_addc(&auth, '/');
    buf_adds(&auth, scope.p);
    buf_adds(&auth, ", SignedHeaders=");
    buf_adds(&auth, signed_list);
    buf_adds(&auth, ", Signature=");
    buf_adds(&auth, out->signature);
    out->authorization = buf_steal(&auth, NULL);
    out->security_token = creds->session_token;
    free(signed_list);
    buf_cleanup(&creq);
    buf_cleanup(&sts);
    buf_cleanup(&scope);
    return 0;
}

int sigv4_sign(struct sigv4_signed *out, const struct inv_creds *creds, const char *region,
               const char *service, int64_t unix_time, const struct sigv4_request *req,
               struct inv_err *err)
{
    return sign(out, creds, region, service, unix_time, req, false, err);
}

int sigv4_sign_s3(struct sigv4_signed *out, const struct inv_creds *creds, const char *region,
                  int64_t unix_time, const struct sigv4_request *req, struct inv_err *err)
{
    return sign(out, creds, region, "s3", unix_time, req, true, err);
}

// ---- verification ---------------------------------------------------------------------------

// find_header returns the value of the only header named |name|; sets *dup if there are several.
static const char *find_header(const struct sigv4_request *req, const char *name, bool *dup)
{
    const char *v = NULL;
    *dup = false;
    for (size_t i = 0; i < req->num_headers; i++) {
        if (strcasecmp(req->headers[i].name, name) == 0) {
            *dup = *dup || v != NULL;
            v = req->headers[i].value;
        }
    }
    return v;
}

struct authz {
    char *credential, *signed_headers, *signature;
};

static void authz_free(struct authz *a)
{
    free(a->credential);
    free(a->signed_headers);
    free(a->signature);
}

static int parse_authz(struct authz *a, const char *v, struct inv_err *err)
{
    memset(a, 0, sizeof *a);
    size_t al = strlen(ALGORITHM);
    if (strncmp(v, ALGORITHM, al) != 0 || v[al] != ' ') {
        return inv_fail(err, -1, "sigv4: Authorization is not " ALGORITHM);
    }
    // Components are separated by "," or ", " exactly, values taken verbatim.
    const char *p = v + al + 1;
    for (;;) {
        const char *e = p + strcspn(p, ",");
        const char *eq = memchr(p, '=', (size_t)(e - p));
        if (eq == NULL) {
            return inv_fail(err, -1, "sigv4: malformed Authorization component");
        }
        size_t kl = (size_t)(eq - p);
        char **slot = kl == 10 && memcmp(p, "Credential", 10) == 0      ? &a->credential
                      : kl == 13 && memcmp(p, "SignedHeaders", 13) == 0 ? &a->signed_headers
                      : kl == 9 && memcmp(p, "Signature", 9) == 0       ? &a->signature
                                                                        : NULL;
        if (slot == NULL || *slot != NULL) {
            return inv_fail(err, -1, "sigv4: unexpected or repeated Authorization component");
        }
        *slot = xstrndup(eq + 1, (size_t)(e - eq - 1));
        if (*e == '\0') {
            break;
        }
        p = e + 1;
        if (*p == ' ') {
            p++;
        }
    }
    if (!a->credential || !a->signed_headers || !a->signature) {
        return inv_fail(err, -1,
                        "sigv4: Authorization lacks Credential, SignedHeaders or "
                        "Signature");
    }
    return 0;
}

static int parse_amz_date(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (s == NULL || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z') {
        return -1;
    }
    for (int i = 0; i < 15; i++) {
        if (i != 8 && (s[i] < '0' || s[i] > '9')) {
            return -1;
        }
    }
    int v[6] = {0};
    static const int pos[6][2] = {{0, 4}, {4, 2}, {6, 2}, {9, 2}, {11, 2}, {13, 2}};
    for (int i = 0; i < 6; i++) {
        for (int j = 0; j < pos[i][1]; j++) {
            v[i] = v[i] * 10 + (s[pos[i][0] + j] - '0');
        }
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60) {
        return -1;
    }
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    *out = (int64_t)timegm(&tm);
    return 0;
}

// check_signed_list validates "a;b;c" (lower case, strictly sorted, host and x-amz-date present)
// and collects the request's headers with those names.
static int collect_signed(const struct sigv4_request *req, const char *list, struct hdr **out,
                          size_t *out_n, struct inv_err *err)
{
    struct hdr *h = NULL;
    size_t n = 0;
    bool host = false, date = false;
    char prev[128] = "";
    const char *p = list;
    int rc = -1;
    for (;;) {
        size_t l = strcspn(p, ";");
        if (l == 0 || l >= sizeof prev) {
            inv_fail(err, -1, "sigv4: malformed SignedHeaders");
            goto out;
        }
        char name[128];
        memcpy(name, p, l);
        name[l] = '\0';
        for (size_t i = 0; i < l; i++) {
            if (name[i] >= 'A' && name[i] <= 'Z') {
                inv_fail(err, -1, "sigv4: SignedHeaders not in lower case");
                goto out;
            }
        }
        if (strcmp(prev, name) >= 0) {
            inv_fail(err, -1, "sigv4: SignedHeaders not sorted");
            goto out;
        }
        memcpy(prev, name, l + 1);
        host = host || strcmp(name, "host") == 0;
        date = date || strcmp(name, "x-amz-date") == 0;
        bool found = false;
        for (size_t i = 0; i < req->num_headers; i++) {
            if (strcasecmp(req->headers[i].name, name) == 0) {
                hdrs_add(&h, &n, name, req->headers[i].value ? req->headers[i].value : "");
                found = true;
            }
        }
        if (!found) {
            inv_fail(err, -1, "sigv4: signed header %s is missing from the request", name);
            goto out;
        }
        if (p[l] == '\0') {
            break;
        }
        p += l + 1;
    }
    if (!host || !date) {
        inv_fail(err, -1, "sigv4: SignedHeaders must include host and x-amz-date");
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        hdrs_free(h, n);
        h = NULL;
        n = 0;
    }
    *out = h;
    *out_n = n;
    return rc;
}

static int check_token(const struct sigv4_request *req, const struct inv_creds *creds,
                       const char *signed_list, struct inv_err *err)
{
    bool dup;
    const char *tok = find_header(req, "x-amz-security-token", &dup);
    if (dup) {
        return inv_fail(err, -1, "sigv4: repeated X-Amz-Security-Token");
    }
    bool signed_tok = false;
    for (const char *p = signed_list; p != NULL; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL) {
        if (strncmp(p, "x-amz-security-token", 20) == 0 && (p[20] == ';' || p[20] == '\0')) {
            signed_tok = true;
        }
    }
    if (tok != NULL && !signed_tok) {
        return inv_fail(err, -1, "sigv4: X-Amz-Security-Token is not signed");
    }
    if (creds->session_token != NULL) {
        size_t l = strlen(creds->session_token);
        if (tok == NULL || strlen(tok) != l || CRYPTO_memcmp(tok, creds->session_token, l) != 0) {
            return inv_fail(err, -1, "sigv4: missing or wrong X-Amz-Security-Token");
        }
    }
    return 0;
}

int sigv4_verify(const struct sigv4_request *req, const struct inv_creds *creds, const char *region,
                 const char *service, int64_t now, int64_t max_skew_s, struct inv_err *err)
{
    bool dup;
    const char *av = find_header(req, "authorization", &dup);
    if (av == NULL || dup) {
        return inv_fail(err, -1, "sigv4: %s Authorization header", dup ? "repeated" : "no");
    }
    const char *amz_date = find_header(req, "x-amz-date", &dup);
    int64_t t;
    if (amz_date == NULL || dup || parse_amz_date(amz_date, &t) != 0) {
        return inv_fail(err, -1, "sigv4: missing or malformed X-Amz-Date");
    }
    if (t > now + max_skew_s || t < now - max_skew_s) {
        return inv_fail(err, -1, "sigv4: X-Amz-Date %s is more than %lld s from now", amz_date,
                        (long long)max_skew_s);
    }
    struct authz a;
    struct hdr *h = NULL;
    size_t nh = 0;
    struct buf creq, sts, scope;
    buf_init(&creq);
    buf_init(&sts);
    buf_init(&scope);
    char *signed_list = NULL;
    int rc = parse_authz(&a, av, err);
    if (rc != 0) {
        goto out;
    }
    char date[9];
    memcpy(date, amz_date, 8);
    date[8] = '\0';
    buf_adds(&scope, creds->access_key_id);
    buf_addc(&scope, '/');
    buf_adds(&scope, date);
    buf_addc(&scope, '/');
    buf_adds(&scope, region);
    buf_addc(&scope, '/');
    buf_adds(&scope, service);
    buf_adds(&scope, "/aws4_request");
    if (strcmp(a.credential, buf_cstr(&scope)) != 0) {
        rc = inv_fail(err, -1,
                      "sigv4: credential scope does not match (expected key, date %s, "
                      "region %s, service %s)",
                      date, region, service);
        goto out;
    }
    if ((rc = check_token(req, creds, a.signed_headers, err)) != 0 ||
        (rc = collect_signed(req, a.signed_headers, &h, &nh, err)) != 0) {
        goto out;
    }
    build_canonical(&creq, req, h, nh, false, &signed_list);
    string_to_sign(&sts, amz_date, scope.p + strlen(creds->access_key_id) + 1, &creq);
    char want[65];
    signature_hex(want, creds->secret_access_key, date, region, service, sts.p, sts.len);
    if (strlen(a.signature) != 64 || CRYPTO_memcmp(want, a.signature, 64) != 0) {
        rc = inv_fail(err, -1, "sigv4: signature mismatch");
    }
    OPENSSL_cleanse(want, sizeof want);
out:
    authz_free(&a);
    hdrs_free(h, nh);
    free(signed_list);
    buf_cleanup(&creq);
    buf_cleanup(&sts);
    buf_cleanup(&scope);
    return rc;
}
