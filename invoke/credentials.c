// credentials.c: struct inv_creds (secrets wiped).
#include "invoke/credentials.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void wipe_free(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void inv_creds_init(struct inv_creds *c)
{
    memset(c, 0, sizeof *c);
}

void inv_creds_cleanup(struct inv_creds *c)
{
    free(c->access_key_id);
    wipe_free(c->secret_access_key);
    wipe_free(c->session_token);
    inv_creds_init(c);
}

void inv_creds_set(struct inv_creds *c, const char *access_key_id, const char *secret_access_key,
                   const char *session_token, const char *source)
{
    inv_creds_cleanup(c);
    c->access_key_id = inv_xstrdup(access_key_id);
    c->secret_access_key = inv_xstrdup(secret_access_key);
    c->session_token = session_token && *session_token ? inv_xstrdup(session_token) : NULL;
    snprintf(c->source, sizeof c->source, "%s", source ? source : "");
}
