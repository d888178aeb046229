// sasl.c: SaslHandshake + SaslAuthenticate driven by a sasl/ mechanism, first authentication and
// KIP-368 re-authentication (see sasl.h).
#include "broker/sasl.h"

#include "base/alloc.h"
#include "base/log.h"
#include "broker/kdf.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/sasl_authenticate.h"
#include "proto/sasl_handshake.h"
#include "sasl/crypto.h"
#include "sasl/msk_iam.h"
#include "sasl/sasl.h"
#include "sasl/scram.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// struct session is one connection's exchange.
struct session {
    struct session *next;
    struct broker_sasl *s;
    struct broker_conn *c;
    struct sasl_mech *m;
    uint8_t *token; // the next client token to send (wiped and freed after writing)
    size_t token_len;
    int16_t auth_version;
    bool reauth;            // a KIP-368 re-authentication of a READY connection
    struct broker_kdf *kdf; // a SCRAM key derivation running off the loop
    int64_t lifetime_ms;    // SessionLifetimeMs of the last SaslAuthenticate answer
    bool awaiting_token;    // OAUTHBEARER: asked the token source, no reply yet
    int64_t token_valid_ms; // OAUTHBEARER: how long the token is valid from its exchange (0 ?)
};

struct broker_sasl {
    struct broker_auth auth;
    char *mechanism;
    char *user;
    char *password;
    size_t password_len;
    uint32_t max_iter;
    bool allow_plaintext;
    bool ignore_lifetime;
    struct scram_cache *cache;
    struct session *sessions;
    struct broker_sasl_stats stats;
    const struct broker_sasl_token_source *token_src; // OAUTHBEARER
    char *msk_region;                                 // MSK IAM tokens; NULL otherwise
};

// Salted passwords kept: one per (salt, iterations) a broker hands out; brokers of one cluster
// share the credential, so a handful is plenty.
#define CACHE_ENTRIES 8

static void wipe_free(uint8_t *p, size_t n)
{
    if (p != NULL) {
        sasl_wipe(p, n);
        free(p);
    }
}

static void fail(struct session *ss, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct session *ss, const char *fmt, ...)
{
    char line[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ss->s->stats.failed++;
    broker_conn_auth_done(ss->c, BROKER_ERR_AUTH, line);
}

// printable copies a broker-supplied text as printable ASCII, cut short.
static const char *printable(const kr *v, char *buf, size_t cap)
{
    size_t n = kr_left(v) < cap - 1 ? kr_left(v) : cap - 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = v->p[i];
        buf[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    buf[n] = '\0';
    return buf;
}

static bool write_token(kw *w, int16_t version, void *ctx)
{
    struct session *ss = ctx;
    struct kp_sasl_authenticate_req req = {ss->token, ss->token_len};
    bool ok = kp_sasl_authenticate_req_write(w, version, &req);
    // The body is in |w| now; the connection wipes |w| after sending (sensitive request).
    wipe_free(ss->token, ss->token_len);
    ss->token = NULL;
    ss->token_len = 0;
    return ok;
}

static void on_authenticate(struct broker_conn *c, const struct broker_resp *resp, void *ctx);

static void send_token(struct session *ss, const uint8_t *tok, size_t len)
{
    wipe_free(ss->token, ss->token_len);
    ss->token = xcalloc(1, len);
    if (len > 0) {
        memcpy(ss->token, tok, len);
    }
    ss->token_len = len;
    struct broker_req r = {.api_key = KP_API_SASL_AUTHENTICATE,
                           .version = ss->auth_version,
                           .write_body = write_token,
                           .body_ctx = ss,
                           .on_resp = on_authenticate,
                           .ctx = ss,
                           .handshake = true,
                           .sensitive = true};
    int rc = broker_conn_send(ss->c, &r);
    if (rc != BROKER_OK) {
        fail(ss, "cannot send SaslAuthenticate: %s", broker_err_name(rc));
    }
}

static void complete(struct session *ss, int64_t lifetime_ms)
{
    struct broker_sasl *s = ss->s;
    s->stats.completed++;
    if (ss->reauth) {
        s->stats.reauths++;
    }
    if (lifetime_ms > 0 && ss->token_valid_ms > 0 && ss->token_valid_ms < lifetime_ms) {
        lifetime_ms = ss->token_valid_ms; // re-authenticate before the token expires
    }
    if (lifetime_ms > 0 && !s->ignore_lifetime) {
        broker_conn_auth_session_lifetime(ss->c, lifetime_ms);
    }
    kesm_log(KESM_LOG_INFO, broker_conn_log_component(ss->c),
             "broker %s: %s %s as %s (session lifetime %s%lld ms)", broker_conn_name(ss->c),
             ss->reauth ? "re-authenticated with" : "authenticated with", s->mechanism, s->user,
             lifetime_ms > 0 ? "" : "unlimited, ", (long long)lifetime_ms);
    broker_conn_auth_done(ss->c, BROKER_OK, NULL);
}

static void kdf_done(void *ctx, struct sasl_kdf *k);

// step_done acts on what the mechanism answered: send its token, finish, fail, or run its key
// derivation off the loop first (SASL_NEED_KDF; kdf_done resumes).
static void step_done(struct session *ss, enum sasl_status st, const uint8_t *tok, size_t tok_len,
                      const struct sasl_err *serr)
{
    switch (st) {
    case SASL_CONTINUE:
        send_token(ss, tok, tok_len);
        return;
    case SASL_COMPLETE:
        complete(ss, ss->lifetime_ms);
        return;
    case SASL_FAILED:
        fail(ss, "%s", serr->msg);
        return;
    case SASL_NEED_KDF:
        ss->kdf =
            broker_kdf_start(broker_conn_reactor(ss->c), sasl_mech_take_kdf(ss->m), kdf_done, ss);
        if (ss->kdf == NULL) {
            fail(ss, "cannot start the SCRAM key derivation (no thread available)");
        }
        return;
    }
}

static void kdf_done(void *ctx, struct sasl_kdf *k)
{
    struct session *ss = ctx;
    ss->kdf = NULL;
    const uint8_t *tok;
    size_t tok_len;
    struct sasl_err serr = {{0}};
    enum sasl_status st = sasl_mech_resume(ss->m, k, &tok, &tok_len, &serr);
    step_done(ss, st, tok, tok_len, &serr);
}

static void on_authenticate(struct broker_conn *c, const struct broker_resp *resp, void *ctx)
{
    (void)c;
    struct session *ss = ctx;
    if (resp->err != BROKER_OK) {
        return; // the connection is going down; stop() cleans up
    }
    struct kp_sasl_authenticate_resp ar;
    struct kp_err perr = {0};
    kr body = resp->body;
    if (kp_sasl_authenticate_resp_parse(&body, resp->version, &ar, &perr) != KP_OK) {
        fail(ss, "malformed SaslAuthenticate response (%s)", perr.field ? perr.field : "?");
        return;
    }
    if (ar.error_code != 0) {
        char msg[200] = "no message";
        if (!ar.error_message_null && kr_left(&ar.error_message) > 0) {
            printable(&ar.error_message, msg, sizeof msg);
        }
        // The mechanism's own account of the refusal (OAUTHBEARER's error JSON) comes first: the
        // broker's message is generic and long, and the whole line may be cut short later.
        const char *why = ss->m ? sasl_mech_server_reason(ss->m) : "";
        fail(ss, "%s (%d): %s%s%s%s", kp_error_name(ar.error_code), ar.error_code,
             why[0] ? "the server said " : "", why, why[0] ? "; " : "", msg);
        return;
    }
    ss->lifetime_ms = ar.session_lifetime_ms;
    const uint8_t *tok;
    size_t tok_len;
    struct sasl_err serr = {{0}};
    enum sasl_status st =
        sasl_mech_step(ss->m, ar.auth_bytes.p, kr_left(&ar.auth_bytes), &tok, &tok_len, &serr);
    step_done(ss, st, tok, tok_len, &serr);
}

static void on_handshake(struct broker_conn *c, const struct broker_resp *resp, void *ctx)
{
    (void)c;
    struct session *ss = ctx;
    if (resp->err != BROKER_OK) {
        return;
    }
    struct kp_sasl_handshake_resp hr;
    struct kp_err perr = {0};
    kr body = resp->body;
    if (kp_sasl_handshake_resp_parse(&body, resp->version, &hr, &perr) != KP_OK) {
        fail(ss, "malformed SaslHandshake response (%s)", perr.field ? perr.field : "?");
        return;
    }
    if (hr.error_code != 0) {
        char list[240] = "";
        struct kp_sasl_handshake_iter it;
        kr name;
        kp_sasl_handshake_mechanisms(&hr, &it);
        while (kp_sasl_handshake_next_mechanism(&it, &name)) {
            size_t n = strlen(list);
            char one[64];
            snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "",
                     printable(&name, one, sizeof one));
        }
        if (hr.error_code == KP_ERR_CODE_UNSUPPORTED_SASL_MECHANISM) {
            fail(ss, "%s (%d): the broker does not enable %s (enabled: %s)",
                 kp_error_name(hr.error_code), hr.error_code, ss->s->mechanism,
                 list[0] ? list : "none");
        } else {
            fail(ss, "%s (%d) in answer to SaslHandshake %s (enabled: %s)",
                 kp_error_name(hr.error_code), hr.error_code, ss->s->mechanism,
                 list[0] ? list : "none");
        }
        return;
    }
    const uint8_t *tok;
    size_t tok_len;
    struct sasl_err serr = {{0}};
    if (sasl_mech_start(ss->m, &tok, &tok_len, &serr) != SASL_CONTINUE) {
        fail(ss, "%s", serr.msg);
        return;
    }
    send_token(ss, tok, tok_len);
}

static bool write_handshake(kw *w, int16_t version, void *ctx)
{
    const struct session *ss = ctx;
    struct kp_sasl_handshake_req req = {ss->s->mechanism};
    return kp_sasl_handshake_req_write(w, version, &req);
}

static void send_handshake(struct session *ss)
{
    struct broker_req r = {.api_key = KP_API_SASL_HANDSHAKE,
                           .version = 1,
                           .write_body = write_handshake,
                           .body_ctx = ss,
                           .on_resp = on_handshake,
                           .ctx = ss,
                           .handshake = true};
    int rc = broker_conn_send(ss->c, &r);
    if (rc != BROKER_OK) {
        fail(ss, "cannot send SaslHandshake: %s", broker_err_name(rc));
    }
}

// token_session checks a token source's reply handle: the session must still wait for it.
static struct session *token_session(struct broker_sasl_token_req *req)
{
    struct session *ss = (struct session *)req;
    if (ss == NULL || !ss->awaiting_token) {
        kesm_log(KESM_LOG_ERROR, "broker", "SASL token reply for an exchange that is not waiting");
        return NULL;
    }
    ss->awaiting_token = false;
    return ss;
}

static void token_mech(struct session *ss, struct sasl_mech *m, const struct sasl_err *serr)
{
    if (m == NULL) {
        fail(ss, "OAUTHBEARER token: %s", serr->msg);
        return;
    }
    ss->m = m;
    send_handshake(ss);
}

void broker_sasl_token_reply(struct broker_sasl_token_req *req, const uint8_t *token, size_t len,
                             int64_t expiry, const char *err)
{
    struct session *ss = token_session(req);
    if (ss == NULL) {
        return;
    }
    if (err != NULL || token == NULL) {
        fail(ss, "no OAUTHBEARER token: %s", err ? err : "none given");
        return;
    }
    struct sasl_err serr = {{0}};
    token_mech(ss, sasl_mech_new_oauthbearer(token, len, expiry, &serr), &serr);
}

void broker_sasl_aws_reply(struct broker_sasl_token_req *req, const struct broker_sasl_aws_creds *c,
                           const char *err)
{
    struct session *ss = token_session(req);
    if (ss == NULL) {
        return;
    }
    if (err != NULL || c == NULL || ss->s->msk_region == NULL) {
        fail(ss, "no AWS credentials for the MSK IAM token: %s", err ? err : "none given");
        return;
    }
    struct msk_iam_params p = {.region = ss->s->msk_region,
                               .access_key_id = c->access_key_id,
                               .secret_access_key = c->secret_access_key,
                               .session_token = c->session_token,
                               .now = c->now,
                               .credentials_expiry = c->expiry};
    struct sasl_err serr = {{0}};
    struct sasl_mech *m = sasl_mech_new_msk_iam(&p, &serr);
    int64_t expiry = m ? sasl_mech_token_expiry(m) : 0;
    ss->token_valid_ms = expiry > c->now ? (expiry - c->now) * 1000 : 0;
    token_mech(ss, m, &serr);
}

// Every mechanism kesm offers is refused without TLS by default: PLAIN sends the password itself,
// SCRAM a proof that an eavesdropper can attack offline, OAUTHBEARER a bearer token.
static const char plaintext_why[] =
    "refused over a plaintext connection (no TLS): set allow_plaintext to send credentials "
    "unencrypted";

// check_transport applies the plaintext policy and the broker's SASL versions; false after
// failing the session.
static bool check_transport(struct session *ss)
{
    struct broker_sasl *s = ss->s;
    struct broker_conn *c = ss->c;
    if (!broker_conn_is_tls(c)) {
        if (!s->allow_plaintext) {
            fail(ss, "%s %s", s->mechanism, plaintext_why);
            return false;
        }
        if (!ss->reauth) {
            kesm_log(KESM_LOG_WARN, broker_conn_log_component(c),
                     "broker %s: %s over a plaintext connection: credentials travel unencrypted "
                     "(allow_plaintext is set)",
                     broker_conn_name(c), s->mechanism);
        }
    }
    int16_t hs = broker_conn_version(c, KP_API_SASL_HANDSHAKE);
    ss->auth_version = broker_conn_version(c, KP_API_SASL_AUTHENTICATE);
    if (hs < 1 || ss->auth_version < 0) {
        fail(ss, "%s",
             "the broker does not offer SaslHandshake v1 and SaslAuthenticate (is SASL "
             "enabled on this listener?)");
        return false;
    }
    return true;
}

static void start(struct broker_conn *c, void *ctx)
{
    struct broker_sasl *s = ctx;
    struct session *ss = xcalloc(1, sizeof *ss);
    ss->s = s;
    ss->c = c;
    ss->reauth = broker_conn_reauthenticating(c);
    ss->next = s->sessions;
    s->sessions = ss;
    s->stats.started++;
    if (!check_transport(ss)) {
        return;
    }
    if (s->token_src != NULL) {
        // The reply may come inside get() and may end the session: |ss| is not touched after.
        ss->awaiting_token = true;
        s->token_src->get(s->token_src->ctx, (struct broker_sasl_token_req *)ss);
        return;
    }
    // A session on a reactor derives SCRAM keys off its loop; one over another driver (the fuzz
    // target's) derives them inline.
    struct sasl_opts opts = {.scram_max_iterations = s->max_iter,
                             .cache = s->cache,
                             .defer_kdf = broker_conn_reactor(c) != NULL};
    struct sasl_err serr = {{0}};
    ss->m = sasl_mech_new(s->mechanism, s->user, s->password, &opts, &serr);
    if (ss->m == NULL) {
        fail(ss, "%s", serr.msg);
        return;
    }
    send_handshake(ss);
}

static void stop(struct broker_conn *c, void *ctx)
{
    struct broker_sasl *s = ctx;
    for (struct session **pp = &s->sessions; *pp != NULL; pp = &(*pp)->next) {
        struct session *ss = *pp;
        if (ss->c == c) {
            *pp = ss->next;
            if (ss->awaiting_token) {
                ss->awaiting_token = false;
                s->token_src->cancel(s->token_src->ctx, (struct broker_sasl_token_req *)ss);
            }
            broker_kdf_cancel(ss->kdf);
            sasl_mech_free(ss->m);
            wipe_free(ss->token, ss->token_len);
            free(ss);
            return;
        }
    }
}

// check_config lets sasl/ judge the mechanism and credentials now, so a bad config fails at start.
static bool check_config(const struct broker_sasl_config *cfg, const char *mech, char *err,
                         size_t err_len)
{
    if (strcmp(mech, "OAUTHBEARER") == 0) {
        const struct broker_sasl_token_source *ts = cfg->token_source;
        if (ts == NULL || ts->get == NULL || ts->cancel == NULL) {
            snprintf(err, err_len, "SASL: OAUTHBEARER needs a token source");
            return false;
        }
        return true;
    }
    struct sasl_err serr = {{0}};
    struct sasl_opts opts = {.scram_max_iterations = cfg->scram_max_iterations};
    struct sasl_mech *probe = sasl_mech_new(mech, cfg->user ? cfg->user : "",
                                            cfg->password ? cfg->password : "", &opts, &serr);
    if (probe == NULL) {
        snprintf(err, err_len, "SASL: %s", serr.msg);
        return false;
    }
    sasl_mech_free(probe);
    return true;
}

struct broker_sasl *broker_sasl_new_config(const struct broker_sasl_config *cfg, char *err,
                                           size_t err_len)
{
    const char *mech = cfg->mechanism ? cfg->mechanism : "";
    if (!check_config(cfg, mech, err, err_len)) {
        return NULL;
    }
    if (!cfg->tls && !cfg->allow_plaintext) {
        snprintf(err, err_len, "SASL: %s %s", mech, plaintext_why);
        return NULL;
    }
    struct broker_sasl *s = xcalloc(1, sizeof *s);
    s->cache = scram_cache_new(CACHE_ENTRIES);
    if (s->cache == NULL) {
        free(s);
        snprintf(err, err_len, "SASL: cannot create the SCRAM cache (out of memory or no CSPRNG)");
        return NULL;
    }
    const struct broker_sasl_token_source *ts = cfg->token_source;
    bool oauth = strcmp(mech, "OAUTHBEARER") == 0;
    const char *user = oauth ? (ts->principal ? ts->principal : "bearer token") : cfg->user;
    const char *password = oauth ? "" : cfg->password;
    s->mechanism = xstrdup(mech);
    s->user = xstrdup(user);
    s->password_len = strlen(password) + 1;
    s->password = xstrdup(password);
    s->max_iter = cfg->scram_max_iterations;
    s->allow_plaintext = cfg->allow_plaintext;
    s->ignore_lifetime = cfg->ignore_session_lifetime;
    s->token_src = oauth ? ts : NULL;
    s->msk_region = oauth && ts->msk_iam_region ? xstrdup(ts->msk_iam_region) : NULL;
    s->auth.mechanism = s->mechanism;
    s->auth.start = start;
    s->auth.stop = stop;
    s->auth.ctx = s;
    return s;
}

struct broker_sasl *broker_sasl_new(const char *mechanism, const char *user, const char *password,
                                    uint32_t scram_max_iterations, char *err, size_t err_len)
{
    struct broker_sasl_config cfg = {.mechanism = mechanism,
                                     .user = user,
                                     .password = password,
                                     .scram_max_iterations = scram_max_iterations,
                                     .tls = true};
    return broker_sasl_new_config(&cfg, err, err_len);
}

const struct broker_auth *broker_sasl_auth(struct broker_sasl *s)
{
    return &s->auth;
}

void broker_sasl_get_stats(const struct broker_sasl *s, struct broker_sasl_stats *out)
{
    *out = s->stats;
    scram_cache_stats(s->cache, &out->cache_hits, &out->cache_misses);
}

void broker_sasl_free(struct broker_sasl *s)
{
    if (s == NULL) {
        return;
    }
    while (s->sessions != NULL) {
        stop(s->sessions->c, s);
    }
    sasl_wipe(s->password, s->password_len);
    free(s->password);
    free(s->user);
    free(s->mechanism);
    free(s->msk_region);
    scram_cache_free(s->cache);
    free(s);
}
