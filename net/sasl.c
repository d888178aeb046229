// sasl.c: SaslHandshake + SaslAuthenticate driven by a sasl/ mechanism (see sasl.h).
#include "net/sasl.h"

#include "net/internal.h"
#include "proto/api.h"
#include "proto/sasl_authenticate.h"
#include "proto/sasl_handshake.h"
#include "sasl/sasl.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// struct session is one connection's exchange.
struct session {
    struct session *next;
    struct net_sasl *s;
    struct net_conn *c;
    struct sasl_mech *m;
    uint8_t *token; // the next client token to send (wiped and freed after writing)
    size_t token_len;
    int16_t auth_version;
};

struct net_sasl {
    struct net_auth auth;
    char *mechanism;
    char *user;
    char *password;
    size_t password_len;
    uint32_t max_iter;
    struct session *sessions;
};

static void wipe_free(uint8_t *p, size_t n)
{
    if (p != NULL) {
        OPENSSL_cleanse(p, n);
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
    net_conn_auth_done(ss->c, NET_ERR_AUTH, line);
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

static void on_authenticate(struct net_conn *c, const struct net_resp *resp, void *ctx);

static void send_token(struct session *ss, const uint8_t *tok, size_t len)
{
    wipe_free(ss->token, ss->token_len);
    ss->token = net_xcalloc(1, len);
    if (len > 0) {
        memcpy(ss->token, tok, len);
    }
    ss->token_len = len;
    struct net_req r = {.api_key = KP_API_SASL_AUTHENTICATE,
                        .version = ss->auth_version,
                        .write_body = write_token,
                        .body_ctx = ss,
                        .on_resp = on_authenticate,
                        .ctx = ss,
                        .handshake = true,
                        .sensitive = true};
    int rc = net_conn_send(ss->c, &r);
    if (rc != NET_OK) {
        fail(ss, "cannot send SaslAuthenticate: %s", net_err_name(rc));
    }
}

static void on_authenticate(struct net_conn *c, const struct net_resp *resp, void *ctx)
{
    (void)c;
    struct session *ss = ctx;
    if (resp->err != NET_OK) {
        return; // the connection is going down; stop() cleans up
    }
    struct kp_sasl_authenticate_resp ar;
    struct kp_err perr = {0};
    kr body = resp->body;
    if (kp_sasl_authenticate_resp_parse(&body, resp->version, &ar, &perr) != KP_OK) {
        fail(ss, "malformed SaslAuthenticate response (%s)", perr.field ? perr.field : "?");
        return;
    }
    char msg[200];
    if (ar.error_code != 0) {
        if (ar.error_message_null || kr_left(&ar.error_message) == 0) {
            snprintf(msg, sizeof msg, "error code %d", ar.error_code);
        } else {
            printable(&ar.error_message, msg, sizeof msg);
        }
        fail(ss, "broker says: %s", msg);
        return;
    }
    const uint8_t *tok;
    size_t tok_len;
    struct sasl_err serr = {{0}};
    switch (
        sasl_mech_step(ss->m, ar.auth_bytes.p, kr_left(&ar.auth_bytes), &tok, &tok_len, &serr)) {
    case SASL_CONTINUE:
        send_token(ss, tok, tok_len);
        return;
    case SASL_COMPLETE:
        net_conn_auth_done(ss->c, NET_OK, NULL);
        return;
    case SASL_FAILED:
        fail(ss, "%s", serr.msg);
        return;
    }
}

static void on_handshake(struct net_conn *c, const struct net_resp *resp, void *ctx)
{
    (void)c;
    struct session *ss = ctx;
    if (resp->err != NET_OK) {
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
        char list[200] = "";
        struct kp_sasl_handshake_iter it;
        kr name;
        kp_sasl_handshake_mechanisms(&hr, &it);
        while (kp_sasl_handshake_next_mechanism(&it, &name)) {
            size_t n = strlen(list);
            char one[64];
            snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "",
                     printable(&name, one, sizeof one));
        }
        char detail[300];
        snprintf(detail, sizeof detail,
                 "mechanism not enabled on the broker (error %d; enabled: %s)", hr.error_code,
                 list[0] ? list : "none");
        fail(ss, "%s", detail);
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

static void start(struct net_conn *c, void *ctx)
{
    struct net_sasl *s = ctx;
    struct session *ss = net_xcalloc(1, sizeof *ss);
    ss->s = s;
    ss->c = c;
    ss->next = s->sessions;
    s->sessions = ss;
    int16_t hs = net_conn_version(c, KP_API_SASL_HANDSHAKE);
    ss->auth_version = net_conn_version(c, KP_API_SASL_AUTHENTICATE);
    if (hs < 1 || ss->auth_version < 0) {
        fail(ss, "%s",
             "the broker does not offer SaslHandshake v1 and SaslAuthenticate (is SASL "
             "enabled on this listener?)");
        return;
    }
    struct sasl_opts opts = {.scram_max_iterations = s->max_iter};
    struct sasl_err serr = {{0}};
    ss->m = sasl_mech_new(s->mechanism, s->user, s->password, &opts, &serr);
    if (ss->m == NULL) {
        fail(ss, "%s", serr.msg);
        return;
    }
    struct net_req r = {.api_key = KP_API_SASL_HANDSHAKE,
                        .version = 1,
                        .write_body = write_handshake,
                        .body_ctx = ss,
                        .on_resp = on_handshake,
                        .ctx = ss,
                        .handshake = true};
    int rc = net_conn_send(c, &r);
    if (rc != NET_OK) {
        fail(ss, "cannot send SaslHandshake: %s", net_err_name(rc));
    }
}

static void stop(struct net_conn *c, void *ctx)
{
    struct net_sasl *s = ctx;
    for (struct session **pp = &s->sessions; *pp != NULL; pp = &(*pp)->next) {
        struct session *ss = *pp;
        if (ss->c == c) {
            *pp = ss->next;
            sasl_mech_free(ss->m);
            wipe_free(ss->token, ss->token_len);
            free(ss);
            return;
        }
    }
}

struct net_sasl *net_sasl_new(const char *mechanism, const char *user, const char *password,
                              uint32_t scram_max_iterations, char *err, size_t err_len)
{
    // Let sasl/ judge the mechanism and credentials now, so a bad config fails at start.
    struct sasl_err serr = {{0}};
    struct sasl_opts opts = {.scram_max_iterations = scram_max_iterations};
    struct sasl_mech *probe = sasl_mech_new(mechanism, user, password, &opts, &serr);
    if (probe == NULL) {
        snprintf(err, err_len, "SASL: %s", serr.msg);
        return NULL;
    }
    sasl_mech_free(probe);
    struct net_sasl *s = net_xcalloc(1, sizeof *s);
    s->mechanism = net_xstrdup(mechanism);
    s->user = net_xstrdup(user);
    s->password_len = strlen(password) + 1;
    s->password = net_xstrdup(password);
    s->max_iter = scram_max_iterations;
    s->auth.mechanism = s->mechanism;
    s->auth.start = start;
    s->auth.stop = stop;
    s->auth.ctx = s;
    return s;
}

const struct net_auth *net_sasl_auth(struct net_sasl *s)
{
    return &s->auth;
}

void net_sasl_free(struct net_sasl *s)
{
    if (s == NULL) {
        return;
    }
    while (s->sessions != NULL) {
        stop(s->sessions->c, s);
    }
    OPENSSL_cleanse(s->password, s->password_len);
    free(s->password);
    free(s->user);
    free(s->mechanism);
    free(s);
}
