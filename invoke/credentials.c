// credentials.c: struct inv_creds (secrets wiped).
#include "invoke/credentials.h"

#include "base/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void inv_creds_init(struct inv_creds *c)
{
    memset(c, 0, sizeof *c);
}

void inv_creds_cleanup(struct inv_creds *c)
{
    free(c->access_key_id);
    free_wiped_str(c->secret_access_key);
    free_wiped_str(c->session_token);
    inv_creds_init(c);
}

void inv_creds_set(struct inv_creds *c, const char *access_key_id, const char *secret_access_key,
                   const char *session_token, const char *source)
{
    inv_creds_cleanup(c);
    c->access_key_id = xstrdup(access_key_id);
    c->secret_access_key = xstrdup(secret_access_key);
    c->session_token = session_token && *session_token ? xstrdup(session_token) : NULL;
    snprintf(c->source, sizeof c->source, "%s", source ? source : "");
}
