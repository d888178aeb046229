// plain.c: the PLAIN client mechanism (see plain.h).
#include "sasl/plain.h"

#include <stdlib.h>
#include <string.h>

enum plain_state {
    PLAIN_ST_START,
    PLAIN_ST_SENT,
    PLAIN_ST_DONE,
    PLAIN_ST_FAILED,
};

struct plain {
    enum plain_state state;
    uint8_t *msg; // "\0user\0password", wiped on use and on free
    size_t msg_len;
};

static bool text_ok(const char *p)
{
    if (!p || !*p) {
        return false;
    }
    for (; *p; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) {
            return false;
        }
    }
    return true;
}

static void wipe_msg(struct plain *p)
{
    sasl_wipe(p->msg, p->msg_len);
    free(p->msg);
    p->msg = NULL;
    p->msg_len = 0;
}

struct plain *plain_new(const char *user, const char *password, struct sasl_err *err)
{
    if (!text_ok(user)) {
        sasl_err_set(err, "PLAIN user name must be non-empty and free of control characters");
        return NULL;
    }
    if (!text_ok(password)) {
        sasl_err_set(err, "PLAIN password must be non-empty and free of control characters");
        return NULL;
    }
    size_t ul = strlen(user), pl = strlen(password);
    struct plain *p = calloc(1, sizeof *p);
    if (p) {
        p->msg_len = 1 + ul + 1 + pl;
        p->msg = malloc(p->msg_len);
    }
    if (!p || !p->msg) {
        plain_free(p);
        sasl_err_set(err, "out of memory");
        return NULL;
    }
    p->msg[0] = 0;
    memcpy(p->msg + 1, user, ul);
    p->msg[1 + ul] = 0;
    memcpy(p->msg + 2 + ul, password, pl);
    p->state = PLAIN_ST_START;
    return p;
}

enum sasl_status plain_start(struct plain *p, const uint8_t **out, size_t *out_len,
                             struct sasl_err *err)
{
    *out = NULL;
    *out_len = 0;
    if (p->state != PLAIN_ST_START) {
        wipe_msg(p);
        p->state = PLAIN_ST_FAILED;
        sasl_err_set(err, "PLAIN exchange called in the wrong state");
        return SASL_FAILED;
    }
    p->state = PLAIN_ST_SENT;
    *out = p->msg;
    *out_len = p->msg_len;
    return SASL_CONTINUE;
}

enum sasl_status plain_step(struct plain *p, const uint8_t *in, size_t in_len, struct sasl_err *err)
{
    (void)in;
    wipe_msg(p);
    if (p->state != PLAIN_ST_SENT) {
        p->state = PLAIN_ST_FAILED;
        sasl_err_set(err, "PLAIN exchange called in the wrong state");
        return SASL_FAILED;
    }
    if (in_len != 0) {
        p->state = PLAIN_ST_FAILED;
        sasl_err_set(err, "unexpected PLAIN server response (%zu bytes, expected none)", in_len);
        return SASL_FAILED;
    }
    p->state = PLAIN_ST_DONE;
    return SASL_COMPLETE;
}

void plain_free(struct plain *p)
{
    if (!p) {
        return;
    }
    wipe_msg(p);
    free(p);
}
