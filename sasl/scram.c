// scram.c: the SCRAM client state machine (see scram.h for the list of security decisions).
//
// States: START --scram_start--> SERVER_FIRST --server-first--> SERVER_FINAL --server-final-->
// DONE. Any failure moves to FAILED. One do_<state>() per state; scram_step switches on the state.
// With defer_kdf, a server-first whose salted password is not cached moves to NEED_KDF instead:
// the derivation is handed out (scram_take_kdf) and scram_resume continues to SERVER_FINAL.
#include "sasl/scram.h"

#include "base/base64.h"
#include "proto/kr.h"
#include "sasl/scram_cache.h"
#include "sasl/scram_parse.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum scram_state {
    SCRAM_ST_START,
    SCRAM_ST_SERVER_FIRST,
    SCRAM_ST_NEED_KDF,
    SCRAM_ST_SERVER_FINAL,
    SCRAM_ST_DONE,
    SCRAM_ST_FAILED,
};

struct scram {
    enum scram_state state;
    enum sasl_hash hash;
    uint32_t max_iter;
    struct scram_cache *cache; // borrowed
    char *user;                // raw, NUL-terminated
    uint8_t *password;         // heap, wiped on free
    size_t password_len;
    char *first_bare;                    // "n=<escaped user>,r=<client nonce>"
    size_t nonce_len;                    // the client nonce is the tail of first_bare
    uint8_t server_sig[SASL_MAX_DIGEST]; // expected ServerSignature, wiped on free
    uint8_t *out;                        // current output token, wiped before reuse
    size_t out_len;
    bool defer_kdf;
    // NEED_KDF: the server-first being answered, and the derivation until it is taken
    uint8_t *pend_in;
    size_t pend_in_len, pend_nonce_off, pend_nonce_len;
    uint8_t *pend_salt;
    size_t pend_salt_len;
    uint32_t pend_iter;
    struct sasl_kdf *kdf;
};

struct sasl_kdf {
    enum sasl_hash hash;
    uint32_t iterations;
    uint8_t *salt;
    size_t salt_len;
    uint8_t *password;
    size_t password_len;
    uint8_t out[SASL_MAX_DIGEST];
    bool ok;
};

void sasl_kdf_run(struct sasl_kdf *k)
{
    k->ok = sasl_pbkdf2(k->hash, k->out, k->password, k->password_len, k->salt, k->salt_len,
                        k->iterations);
}

void sasl_kdf_free(struct sasl_kdf *k)
{
    if (!k) {
        return;
    }
    sasl_wipe(k->password, k->password_len);
    free(k->password);
    free(k->salt);
    sasl_wipe(k->out, sizeof k->out);
    free(k);
}

static const char gs2_header[] = "n,,";
static const char channel_binding[] = "c=biws"; // base64("n,,")

#define MALFORMED(what) "malformed SCRAM message (" what ")"

// fail records the error and moves to FAILED in one step.
static enum scram_status fail(struct scram *s, struct sasl_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum scram_status fail(struct scram *s, struct sasl_err *err, const char *fmt, ...)
{
    s->state = SCRAM_ST_FAILED;
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return SCRAM_FAILED;
}

// printable_ascii checks the credential character policy (decision 1).
static bool printable_ascii(const char *p)
{
    for (; *p; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
            return false;
        }
    }
    return true;
}

static void drop_out(struct scram *s)
{
    sasl_wipe(s->out, s->out_len);
    free(s->out);
    s->out = NULL;
    s->out_len = 0;
}

// drop_pending forgets a server-first waiting for its derivation (and the derivation, if it was
// not taken).
static void drop_pending(struct scram *s)
{
    free(s->pend_in);
    free(s->pend_salt);
    s->pend_in = s->pend_salt = NULL;
    sasl_kdf_free(s->kdf);
    s->kdf = NULL;
}

struct scram *scram_new(enum sasl_hash hash, const char *user, const char *password,
                        const struct sasl_opts *opts, struct sasl_err *err)
{
    uint32_t max_iter =
        opts && opts->scram_max_iterations ? opts->scram_max_iterations : SCRAM_DEFAULT_MAX_ITER;
    if (max_iter < SCRAM_MIN_ITER || max_iter > INT32_MAX) {
        sasl_err_set(err, "SCRAM maximum iteration count %u is outside [%u, %d]", max_iter,
                     SCRAM_MIN_ITER, INT32_MAX);
        return NULL;
    }
    if (!user || !*user || !printable_ascii(user)) {
        sasl_err_set(err, "SCRAM user name must be non-empty printable ASCII (SASLprep is not "
                          "implemented)");
        return NULL;
    }
    if (!password || !*password || !printable_ascii(password)) {
        sasl_err_set(err, "SCRAM password must be non-empty printable ASCII (SASLprep is not "
                          "implemented)");
        return NULL;
    }
    struct scram *s = calloc(1, sizeof *s);
    size_t pw_len = strlen(password);
    if (s) {
        s->user = strdup(user);
        s->password = malloc(pw_len);
    }
    if (!s || !s->user || !s->password) {
        scram_free(s);
        sasl_err_set(err, "out of memory");
        return NULL;
    }
    memcpy(s->password, password, pw_len);
    s->password_len = pw_len;
    s->hash = hash;
    s->max_iter = max_iter;
    s->cache = opts ? opts->cache : NULL;
    s->defer_kdf = opts && opts->defer_kdf;
    s->state = SCRAM_ST_START;
    return s;
}

void scram_free(struct scram *s)
{
    if (!s) {
        return;
    }
    sasl_wipe(s->password, s->password_len);
    free(s->password);
    sasl_wipe(s->server_sig, sizeof s->server_sig);
    drop_out(s);
    free(s->user);
    free(s->first_bare);
    drop_pending(s);
    free(s);
}

enum scram_status scram_start(struct scram *s, const char *nonce, const uint8_t **out,
                              size_t *out_len, struct sasl_err *err)
{
    if (s->state != SCRAM_ST_START) {
        return fail(s, err, "SCRAM exchange called in the wrong state");
    }
    size_t nonce_len = nonce ? strlen(nonce) : 0;
    if (nonce_len < SCRAM_MIN_NONCE_LEN ||
        !scram_nonce_chars_ok((const uint8_t *)nonce, nonce_len)) {
        return fail(s, err, "invalid SCRAM client nonce");
    }
    // Escaping at most triples the user name: "n=" + user*3 + ",r=" + nonce.
    size_t user_len = strlen(s->user);
    size_t cap = 2 + 3 * user_len + 3 + nonce_len + 1;
    s->first_bare = malloc(cap);
    s->out = malloc(sizeof gs2_header - 1 + cap);
    if (!s->first_bare || !s->out) {
        return fail(s, err, "out of memory");
    }
    size_t o = 0;
    memcpy(s->first_bare, "n=", 2);
    o = 2;
    for (size_t i = 0; i < user_len; i++) {
        const char *esc = s->user[i] == ',' ? "=2C" : s->user[i] == '=' ? "=3D" : NULL;
        if (esc) {
            memcpy(s->first_bare + o, esc, 3);
            o += 3;
        } else {
            s->first_bare[o++] = s->user[i];
        }
    }
    memcpy(s->first_bare + o, ",r=", 3);
    o += 3;
    memcpy(s->first_bare + o, nonce, nonce_len + 1);
    o += nonce_len;
    s->nonce_len = nonce_len;
    memcpy(s->out, gs2_header, sizeof gs2_header - 1);
    memcpy(s->out + sizeof gs2_header - 1, s->first_bare, o);
    s->out_len = sizeof gs2_header - 1 + o;
    s->state = SCRAM_ST_SERVER_FIRST;
    *out = s->out;
    *out_len = s->out_len;
    return SCRAM_CONTINUE;
}

// derive computes the proof and the expected server signature for the parsed server-first,
// writes the client-final-message to s->out, and wipes every intermediate key at |out|.
static enum scram_status derive(struct scram *s, const uint8_t *in, size_t in_len, const kr *nonce,
                                const uint8_t *salt, size_t salt_len, uint32_t iter,
                                const uint8_t *salted_given, bool put, struct sasl_err *err)
{
    size_t hl = sasl_hash_len(s->hash);
    uint8_t salted[SASL_MAX_DIGEST], client_key[SASL_MAX_DIGEST], stored_key[SASL_MAX_DIGEST];
    uint8_t server_key[SASL_MAX_DIGEST], client_sig[SASL_MAX_DIGEST], proof[SASL_MAX_DIGEST];
    size_t bare_len = strlen(s->first_bare);
    size_t wp_len = sizeof channel_binding - 1 + 3 + kr_left(nonce); // "c=biws,r=<nonce>"
    size_t auth_len = bare_len + 1 + in_len + 1 + wp_len;
    size_t final_cap = wp_len + 3 + base64_len(hl) + 1;
    char *auth = malloc(auth_len);
    enum scram_status st = SCRAM_FAILED;
    const char *why = "out of memory";
    drop_out(s);
    s->out = malloc(final_cap);
    if (!auth || !s->out) {
        goto out;
    }
    // client-final-message-without-proof, then AuthMessage = bare "," server-first "," that.
    size_t cb_len = sizeof channel_binding - 1;
    memcpy(s->out, channel_binding, cb_len);
    memcpy(s->out + cb_len, ",r=", 3);
    memcpy(s->out + cb_len + 3, nonce->p, kr_left(nonce));
    memcpy(auth, s->first_bare, bare_len);
    auth[bare_len] = ',';
    memcpy(auth + bare_len + 1, in, in_len);
    auth[bare_len + 1 + in_len] = ',';
    memcpy(auth + bare_len + 2 + in_len, s->out, wp_len);
    struct scram_cache_key key = {s->hash, iter,        salt,           salt_len,
                                  s->user, s->password, s->password_len};
    why = "SCRAM key derivation failed";
    if (salted_given) {
        memcpy(salted, salted_given, hl);
        if (put) {
            scram_cache_put(s->cache, &key, salted);
        }
    } else if (!scram_cache_get(s->cache, &key, salted)) {
        if (!sasl_pbkdf2(s->hash, salted, s->password, s->password_len, salt, salt_len, iter)) {
            goto out;
        }
        scram_cache_put(s->cache, &key, salted);
    }
    if (!sasl_hmac(s->hash, client_key, salted, hl, (const uint8_t *)"Client Key", 10) ||
        !sasl_digest(s->hash, stored_key, client_key, hl) ||
        !sasl_hmac(s->hash, client_sig, stored_key, hl, (const uint8_t *)auth, auth_len) ||
        !sasl_hmac(s->hash, server_key, salted, hl, (const uint8_t *)"Server Key", 10) ||
        !sasl_hmac(s->hash, s->server_sig, server_key, hl, (const uint8_t *)auth, auth_len)) {
        goto out;
    }
    for (size_t i = 0; i < hl; i++) {
        proof[i] = client_key[i] ^ client_sig[i];
    }
    memcpy(s->out + wp_len, ",p=", 3);
    s->out_len = wp_len + 3 + base64_encode((char *)s->out + wp_len + 3, proof, hl);
    st = SCRAM_CONTINUE;
out:
    sasl_wipe(salted, sizeof salted);
    sasl_wipe(client_key, sizeof client_key);
    sasl_wipe(stored_key, sizeof stored_key);
    sasl_wipe(server_key, sizeof server_key);
    sasl_wipe(client_sig, sizeof client_sig);
    sasl_wipe(proof, sizeof proof);
    if (auth) {
        sasl_wipe(auth, auth_len);
        free(auth);
    }
    if (st != SCRAM_CONTINUE) {
        drop_out(s);
        return fail(s, err, "%s", why);
    }
    return st;
}

// cached looks the salted password for these parameters up in the cache (one lookup, counted
// once), copying it to |out| on a hit.
static bool cached(struct scram *s, uint32_t iter, const uint8_t *salt, size_t salt_len,
                   uint8_t *out)
{
    struct scram_cache_key key = {s->hash, iter,        salt,           salt_len,
                                  s->user, s->password, s->password_len};
    return scram_cache_get(s->cache, &key, out);
}

// defer keeps the parsed server-first (taking |salt|) and prepares the derivation to hand out.
static enum scram_status defer(struct scram *s, const uint8_t *in, size_t in_len, const kr *nonce,
                               uint8_t *salt, size_t salt_len, uint32_t iter, struct sasl_err *err)
{
    drop_pending(s);
    s->pend_in = malloc(in_len);
    s->kdf = calloc(1, sizeof *s->kdf);
    uint8_t *ksalt = malloc(salt_len), *kpass = malloc(s->password_len);
    if (!s->pend_in || !s->kdf || !ksalt || !kpass) {
        free(salt);
        free(ksalt);
        free(kpass);
        return fail(s, err, "out of memory");
    }
    memcpy(s->pend_in, in, in_len);
    s->pend_in_len = in_len;
    s->pend_nonce_off = (size_t)(nonce->p - in);
    s->pend_nonce_len = kr_left(nonce);
    s->pend_salt = salt;
    s->pend_salt_len = salt_len;
    s->pend_iter = iter;
    memcpy(ksalt, salt, salt_len);
    memcpy(kpass, s->password, s->password_len);
    *s->kdf = (struct sasl_kdf){s->hash, iter, ksalt, salt_len, kpass, s->password_len, {0}, false};
    s->state = SCRAM_ST_NEED_KDF;
    return SCRAM_NEED_KDF;
}

static enum scram_status do_server_first(struct scram *s, const uint8_t *in, size_t in_len,
                                         struct sasl_err *err)
{
    const char *why;
    kr r, nonce, salt_b64, iter_v;
    char name;
    bool more = false;
    uint32_t iter = 0;
    if (!scram_check_message(in, in_len, &why)) {
        return fail(s, err, MALFORMED("%s"), why);
    }
    kr_init(&r, in, in_len);
    if (in_len >= 2 && in[0] == 'm' && in[1] == '=') {
        return fail(s, err, MALFORMED("unsupported mandatory extension"));
    }
    if (!scram_attr(&r, 'r', &name, &nonce, &more)) {
        return fail(s, err, MALFORMED("attribute \"r\" expected"));
    }
    const uint8_t *ours = (const uint8_t *)s->first_bare + strlen(s->first_bare) - s->nonce_len;
    if (!scram_nonce_chars_ok(nonce.p, kr_left(&nonce))) {
        return fail(s, err, MALFORMED("invalid nonce"));
    }
    if (kr_left(&nonce) <= s->nonce_len || memcmp(nonce.p, ours, s->nonce_len) != 0) {
        return fail(s, err, MALFORMED("server nonce does not extend the client nonce"));
    }
    if (!more || !scram_attr(&r, 's', &name, &salt_b64, &more)) {
        return fail(s, err, MALFORMED("attribute \"s\" expected"));
    }
    if (!more || !scram_attr(&r, 'i', &name, &iter_v, &more)) {
        return fail(s, err, MALFORMED("attribute \"i\" expected"));
    }
    if (!scram_parse_iterations(&iter_v, &iter)) {
        return fail(s, err, MALFORMED("invalid iteration count"));
    }
    if (!scram_extensions(&r, more)) {
        return fail(s, err, MALFORMED("garbage at end of server-first-message"));
    }
    if (iter < SCRAM_MIN_ITER || iter > s->max_iter) {
        return fail(s, err, "SCRAM iteration count %u is outside the allowed range [%u, %u]", iter,
                    SCRAM_MIN_ITER, s->max_iter);
    }
    size_t salt_cap = kr_left(&salt_b64) / 4 * 3, salt_len = 0;
    uint8_t *salt = malloc(salt_cap ? salt_cap : 1);
    if (!salt) {
        return fail(s, err, "out of memory");
    }
    if (!base64_decode(salt, salt_cap, &salt_len, NULL, (const char *)salt_b64.p,
                       kr_left(&salt_b64)) ||
        salt_len == 0) {
        free(salt);
        return fail(s, err, MALFORMED("invalid salt"));
    }
    uint8_t salted[SASL_MAX_DIGEST];
    bool hit = s->defer_kdf && cached(s, iter, salt, salt_len, salted);
    if (s->defer_kdf && !hit) {
        return defer(s, in, in_len, &nonce, salt, salt_len, iter, err);
    }
    enum scram_status st =
        derive(s, in, in_len, &nonce, salt, salt_len, iter, hit ? salted : NULL, false, err);
    sasl_wipe(salted, sizeof salted);
    free(salt);
    if (st == SCRAM_CONTINUE) {
        s->state = SCRAM_ST_SERVER_FINAL;
    }
    return st;
}

// server_reason copies up to 64 printable ASCII characters of the server's e= value.
static void server_reason(const kr *v, char *buf, size_t cap)
{
    kr d = *v;
    size_t o = 0;
    uint8_t c = 0;
    while (o + 1 < cap && kr_u8(&d, &c)) {
        buf[o++] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
    }
    buf[o] = '\0';
}

static enum scram_status do_server_final(struct scram *s, const uint8_t *in, size_t in_len,
                                         struct sasl_err *err)
{
    const char *why;
    kr r, v;
    char name;
    bool more = false;
    size_t hl = sasl_hash_len(s->hash);
    uint8_t sig[SASL_MAX_DIGEST];
    size_t sig_len = 0;
    if (!scram_check_message(in, in_len, &why)) {
        return fail(s, err, MALFORMED("%s"), why);
    }
    kr_init(&r, in, in_len);
    if (scram_attr(&r, 'e', &name, &v, &more)) {
        char reason[65];
        server_reason(&v, reason, sizeof reason);
        return fail(s, err, "SCRAM authentication failed: server error \"%s\"", reason);
    }
    kr_init(&r, in, in_len);
    if (!scram_attr(&r, 'v', &name, &v, &more)) {
        return fail(s, err, MALFORMED("attribute \"v\" expected"));
    }
    if (!scram_extensions(&r, more)) {
        return fail(s, err, MALFORMED("garbage at end of server-final-message"));
    }
    if (kr_left(&v) != base64_len(hl)) {
        return fail(s, err, MALFORMED("server signature has the wrong length"));
    }
    if (!base64_decode(sig, sizeof sig, &sig_len, NULL, (const char *)v.p, kr_left(&v)) ||
        sig_len != hl) {
        return fail(s, err, MALFORMED("invalid server signature"));
    }
    bool match = sasl_ct_equal(sig, s->server_sig, hl);
    sasl_wipe(sig, sizeof sig);
    if (!match) {
        return fail(s, err, "incorrect server signature");
    }
    s->state = SCRAM_ST_DONE;
    return SCRAM_COMPLETE;
}

enum scram_status scram_step(struct scram *s, const uint8_t *in, size_t in_len, const uint8_t **out,
                             size_t *out_len, struct sasl_err *err)
{
    enum scram_status st;
    *out = NULL;
    *out_len = 0;
    switch (s->state) {
    case SCRAM_ST_SERVER_FIRST:
        st = do_server_first(s, in, in_len, err);
        break;
    case SCRAM_ST_SERVER_FINAL:
        drop_out(s);
        st = do_server_final(s, in, in_len, err);
        break;
    case SCRAM_ST_START:
    case SCRAM_ST_NEED_KDF:
    case SCRAM_ST_DONE:
    case SCRAM_ST_FAILED:
    default:
        drop_out(s);
        return fail(s, err, "SCRAM exchange called in the wrong state");
    }
    if (st == SCRAM_CONTINUE) {
        *out = s->out;
        *out_len = s->out_len;
    }
    return st;
}

struct sasl_kdf *scram_take_kdf(struct scram *s)
{
    struct sasl_kdf *k = s->kdf;
    s->kdf = NULL;
    return k;
}

enum scram_status scram_resume(struct scram *s, struct sasl_kdf *k, const uint8_t **out,
                               size_t *out_len, struct sasl_err *err)
{
    *out = NULL;
    *out_len = 0;
    if (s->state != SCRAM_ST_NEED_KDF || !k || !s->pend_in) {
        sasl_kdf_free(k);
        return fail(s, err, "SCRAM exchange called in the wrong state");
    }
    if (!k->ok || k->hash != s->hash || k->iterations != s->pend_iter) {
        sasl_kdf_free(k);
        drop_pending(s);
        return fail(s, err, "SCRAM key derivation failed");
    }
    kr nonce;
    kr_init(&nonce, s->pend_in + s->pend_nonce_off, s->pend_nonce_len);
    enum scram_status st = derive(s, s->pend_in, s->pend_in_len, &nonce, s->pend_salt,
                                  s->pend_salt_len, s->pend_iter, k->out, true, err);
    sasl_kdf_free(k);
    drop_pending(s);
    if (st == SCRAM_CONTINUE) {
        s->state = SCRAM_ST_SERVER_FINAL;
        *out = s->out;
        *out_len = s->out_len;
    }
    return st;
}
