// sasl.c: the generic mechanism interface over the SCRAM and PLAIN state machines.
#include "sasl/sasl.h"

#include "sasl/msk_iam.h"
#include "sasl/oauthbearer.h"
#include "sasl/plain.h"
#include "sasl/scram.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool sasl_err_set(struct sasl_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return false;
}

enum mech_kind {
    MECH_SCRAM,
    MECH_PLAIN,
    MECH_OAUTHBEARER,
};

struct sasl_mech {
    enum mech_kind kind;
    const char *name; // static
    bool started;
    bool finished;
    char nonce[SASL_NONCE_LEN + 1];
    const char *fixed_nonce; // borrowed test hook
    struct scram *scram;
    struct plain *plain;
    struct oauthbearer *oauth;
    int64_t token_expiry; // OAUTHBEARER: Unix seconds, 0 = unknown
};

static const char oauth_name[] = "OAUTHBEARER";

static const char *const mech_names[] = {"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN", NULL};

const char *const *sasl_mech_names(void)
{
    return mech_names;
}

bool sasl_hash_from_mech(const char *mech, enum sasl_hash *out)
{
    if (mech && strcmp(mech, "SCRAM-SHA-512") == 0) {
        *out = SASL_HASH_SHA512;
        return true;
    }
    if (mech && strcmp(mech, "SCRAM-SHA-256") == 0) {
        *out = SASL_HASH_SHA256;
        return true;
    }
    return false;
}

struct sasl_mech *sasl_mech_new(const char *name, const char *user, const char *password,
                                const struct sasl_opts *opts, struct sasl_err *err)
{
    enum sasl_hash hash;
    struct sasl_mech *m = calloc(1, sizeof *m);
    if (!m) {
        sasl_err_set(err, "out of memory");
        return NULL;
    }
    if (sasl_hash_from_mech(name, &hash)) {
        m->kind = MECH_SCRAM;
        m->name = hash == SASL_HASH_SHA512 ? mech_names[0] : mech_names[1];
        m->fixed_nonce = opts ? opts->nonce : NULL;
        m->scram = scram_new(hash, user, password, opts, err);
        if (!m->scram) {
            free(m);
            return NULL;
        }
        return m;
    }
    if (name && strcmp(name, "PLAIN") == 0) {
        m->kind = MECH_PLAIN;
        m->name = mech_names[2];
        m->plain = plain_new(user, password, err);
        if (!m->plain) {
            free(m);
            return NULL;
        }
        return m;
    }
    free(m);
    if (name && strcmp(name, oauth_name) == 0) {
        sasl_err_set(err, "OAUTHBEARER takes a bearer token or AWS credentials, not a user name "
                          "and password");
        return NULL;
    }
    sasl_err_set(err, "unsupported SASL mechanism (supported: SCRAM-SHA-512, SCRAM-SHA-256, "
                      "PLAIN)");
    return NULL;
}

struct sasl_mech *sasl_mech_new_oauthbearer(const uint8_t *token, size_t token_len, int64_t expiry,
                                            struct sasl_err *err)
{
    struct sasl_mech *m = calloc(1, sizeof *m);
    if (!m) {
        sasl_err_set(err, "out of memory");
        return NULL;
    }
    m->kind = MECH_OAUTHBEARER;
    m->name = oauth_name;
    m->token_expiry = expiry > 0 ? expiry : 0;
    m->oauth = oauthbearer_new(token, token_len, err);
    if (!m->oauth) {
        free(m);
        return NULL;
    }
    return m;
}

struct sasl_mech *sasl_mech_new_msk_iam(const struct msk_iam_params *p, struct sasl_err *err)
{
    struct msk_iam_token t;
    if (!msk_iam_token_build(&t, p, err)) {
        return NULL;
    }
    struct sasl_mech *m =
        sasl_mech_new_oauthbearer((const uint8_t *)t.token, t.token_len, t.expiry, err);
    msk_iam_token_cleanup(&t);
    return m;
}

int64_t sasl_mech_token_expiry(const struct sasl_mech *m)
{
    return m->token_expiry;
}

const char *sasl_mech_server_reason(const struct sasl_mech *m)
{
    return m->kind == MECH_OAUTHBEARER ? oauthbearer_server_reason(m->oauth) : "";
}

const char *sasl_mech_name(const struct sasl_mech *m)
{
    return m->name;
}

static enum sasl_status from_scram(enum scram_status st)
{
    switch (st) {
    case SCRAM_CONTINUE:
        return SASL_CONTINUE;
    case SCRAM_COMPLETE:
        return SASL_COMPLETE;
    case SCRAM_FAILED:
        return SASL_FAILED;
    case SCRAM_NEED_KDF:
        return SASL_NEED_KDF;
    }
    return SASL_FAILED;
}

enum sasl_status sasl_mech_start(struct sasl_mech *m, const uint8_t **out, size_t *out_len,
                                 struct sasl_err *err)
{
    *out = NULL;
    *out_len = 0;
    if (m->started) {
        sasl_err_set(err, "SASL exchange already started");
        return SASL_FAILED;
    }
    m->started = true;
    switch (m->kind) {
    case MECH_SCRAM:
        if (!m->fixed_nonce && !sasl_nonce_new(m->nonce)) {
            sasl_err_set(err, "cannot generate a SCRAM nonce (random number generator failed)");
            return SASL_FAILED;
        }
        return from_scram(
            scram_start(m->scram, m->fixed_nonce ? m->fixed_nonce : m->nonce, out, out_len, err));
    case MECH_PLAIN:
        return plain_start(m->plain, out, out_len, err);
    case MECH_OAUTHBEARER:
        return oauthbearer_start(m->oauth, out, out_len, err);
    }
    return SASL_FAILED;
}

enum sasl_status sasl_mech_step(struct sasl_mech *m, const uint8_t *in, size_t in_len,
                                const uint8_t **out, size_t *out_len, struct sasl_err *err)
{
    enum sasl_status st = SASL_FAILED;
    *out = NULL;
    *out_len = 0;
    if (!m->started || m->finished) {
        sasl_err_set(err, "SASL exchange called in the wrong state");
        return SASL_FAILED;
    }
    switch (m->kind) {
    case MECH_SCRAM:
        st = from_scram(scram_step(m->scram, in, in_len, out, out_len, err));
        break;
    case MECH_PLAIN:
        st = plain_step(m->plain, in, in_len, err);
        break;
    case MECH_OAUTHBEARER:
        st = oauthbearer_step(m->oauth, in, in_len, out, out_len, err);
        break;
    }
    m->finished = st == SASL_COMPLETE;
    return st;
}

struct sasl_kdf *sasl_mech_take_kdf(struct sasl_mech *m)
{
    return m->kind == MECH_SCRAM ? scram_take_kdf(m->scram) : NULL;
}

enum sasl_status sasl_mech_resume(struct sasl_mech *m, struct sasl_kdf *k, const uint8_t **out,
                                  size_t *out_len, struct sasl_err *err)
{
    *out = NULL;
    *out_len = 0;
    if (m->kind != MECH_SCRAM || m->finished) {
        sasl_kdf_free(k);
        sasl_err_set(err, "SASL exchange called in the wrong state");
        return SASL_FAILED;
    }
    return from_scram(scram_resume(m->scram, k, out, out_len, err));
}

bool sasl_mech_finished(const struct sasl_mech *m)
{
    return m->finished;
}

void sasl_mech_free(struct sasl_mech *m)
{
    if (!m) {
        return;
    }
    scram_free(m->scram);
    plain_free(m->plain);
    oauthbearer_free(m->oauth);
    sasl_wipe(m->nonce, sizeof m->nonce);
    free(m);
}
