// oauthbearer.c: the OAUTHBEARER client mechanism (see oauthbearer.h).
#include "sasl/oauthbearer.h"

#include "sasl/oauthbearer_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum oauth_state {
    OAUTH_ST_START,
    OAUTH_ST_SENT,       // waiting for the server's answer to the token
    OAUTH_ST_ERROR_SENT, // the server sent an error; we answered "\x01"
    OAUTH_ST_DONE,
    OAUTH_ST_FAILED,
};

struct oauthbearer {
    enum oauth_state state;
    uint8_t *msg; // "n,,\x01auth=Bearer <token>\x01\x01", wiped after use and on free
    size_t msg_len;
    char reason[160]; // the server's error, printable
};

static const char gs2_head[] = "n,,\x01"
                               "auth=Bearer ";
static const uint8_t kvsep = 0x01;

static bool token_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

// check_token trims trailing whitespace off |*len| and checks the b64token grammar.
static bool check_token(const uint8_t *t, size_t *len, struct sasl_err *err)
{
    size_t n = *len;
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\r' || t[n - 1] == '\n')) {
        n--;
    }
    if (n == 0) {
        return sasl_err_set(err, "OAUTHBEARER token is empty");
    }
    if (n > OAUTHBEARER_MAX_TOKEN) {
        return sasl_err_set(err, "OAUTHBEARER token is too long (%zu bytes, at most %d)", n,
                            OAUTHBEARER_MAX_TOKEN);
    }
    size_t i = 0;
    while (i < n && token_char(t[i])) {
        i++;
    }
    if (i == 0) {
        return sasl_err_set(err, "OAUTHBEARER token must start with a letter, digit or one of "
                                 "-._~+/ (RFC 6750 b64token)");
    }
    while (i < n && t[i] == '=') {
        i++;
    }
    if (i < n) {
        return sasl_err_set(err,
                            "OAUTHBEARER token has a byte not allowed in a bearer token (0x%02x at "
                            "offset %zu; RFC 6750 b64token)",
                            t[i], i);
    }
    *len = n;
    return true;
}

static void wipe_msg(struct oauthbearer *o)
{
    sasl_wipe(o->msg, o->msg_len);
    free(o->msg);
    o->msg = NULL;
    o->msg_len = 0;
}

struct oauthbearer *oauthbearer_new(const uint8_t *token, size_t token_len, struct sasl_err *err)
{
    if (!token) {
        sasl_err_set(err, "OAUTHBEARER token is empty");
        return NULL;
    }
    if (!check_token(token, &token_len, err)) {
        return NULL;
    }
    size_t head = sizeof gs2_head - 1;
    struct oauthbearer *o = calloc(1, sizeof *o);
    if (o) {
        o->msg_len = head + token_len + 2;
        o->msg = malloc(o->msg_len);
    }
    if (!o || !o->msg) {
        oauthbearer_free(o);
        sasl_err_set(err, "out of memory");
        return NULL;
    }
    memcpy(o->msg, gs2_head, head);
    memcpy(o->msg + head, token, token_len);
    o->msg[head + token_len] = kvsep;
    o->msg[head + token_len + 1] = kvsep;
    o->state = OAUTH_ST_START;
    return o;
}

static enum sasl_status fail_state(struct oauthbearer *o, struct sasl_err *err)
{
    wipe_msg(o);
    o->state = OAUTH_ST_FAILED;
    sasl_err_set(err, "OAUTHBEARER exchange called in the wrong state");
    return SASL_FAILED;
}

enum sasl_status oauthbearer_start(struct oauthbearer *o, const uint8_t **out, size_t *out_len,
                                   struct sasl_err *err)
{
    *out = NULL;
    *out_len = 0;
    if (o->state != OAUTH_ST_START) {
        return fail_state(o, err);
    }
    o->state = OAUTH_ST_SENT;
    *out = o->msg;
    *out_len = o->msg_len;
    return SASL_CONTINUE;
}

// record_error keeps a description of the server's error message in o->reason.
static void record_error(struct oauthbearer *o, const uint8_t *in, size_t in_len)
{
    struct oauth_error e;
    const char *why = NULL;
    size_t at = 0;
    if (oauth_error_parse(&e, in, in_len, &why, &at)) {
        oauth_error_describe(&e, o->reason, sizeof o->reason);
    } else {
        snprintf(o->reason, sizeof o->reason,
                 "malformed error message from the server (%zu bytes: %s at offset %zu)", in_len,
                 why, at);
    }
}

enum sasl_status oauthbearer_step(struct oauthbearer *o, const uint8_t *in, size_t in_len,
                                  const uint8_t **out, size_t *out_len, struct sasl_err *err)
{
    *out = NULL;
    *out_len = 0;
    wipe_msg(o);
    switch (o->state) {
    case OAUTH_ST_SENT:
        if (in_len == 0) {
            o->state = OAUTH_ST_DONE;
            return SASL_COMPLETE;
        }
        record_error(o, in, in_len);
        o->state = OAUTH_ST_ERROR_SENT;
        *out = &kvsep;
        *out_len = 1;
        return SASL_CONTINUE;
    case OAUTH_ST_ERROR_SENT:
        o->state = OAUTH_ST_FAILED;
        sasl_err_set(err, "OAUTHBEARER token rejected by the server: %s", o->reason);
        return SASL_FAILED;
    case OAUTH_ST_START:
    case OAUTH_ST_DONE:
    case OAUTH_ST_FAILED:
        break;
    }
    return fail_state(o, err);
}

const char *oauthbearer_server_reason(const struct oauthbearer *o)
{
    return o->reason;
}

void oauthbearer_free(struct oauthbearer *o)
{
    if (!o) {
        return;
    }
    wipe_msg(o);
    free(o);
}
