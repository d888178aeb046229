// secrets_int.h: internals shared by esm/secrets.c (names, files, the resolver and its cache)
// and esm/secrets_sm.c (fetching from Secrets Manager). Nothing outside esm/secrets*.c includes
// this.
#ifndef ESM_SECRETS_INT_H
#define ESM_SECRETS_INT_H

#include "esm/secrets.h"
#include "net/http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// struct cached: one secret fetched from Secrets Manager, kept until esm_secrets_forget.
struct cached {
    struct cached *next;
    char *uri;
    char *text; // wiped on free
    size_t len;
};

struct esm_secrets {
    struct net_reactor *r;
    char *dir;
    bool sm;
    char *sm_endpoint;
    char *sm_region;
    uint32_t sm_timeout_ms;
    struct net_tls_ctx *tls;
    struct net_http *http;
    struct inv_aws *aws;     // credentials and endpoints (borrowed, or own_aws)
    struct inv_aws *own_aws; // made when the configuration gave none
    struct cached *cache;
    struct esm_secrets_fetch *fetches;
};

// sec_is_secret_sac reports whether a SourceAccessConfiguration of type |t| names a secret (the
// VPC entries do not).
bool sec_is_secret_sac(enum esm_sac_type t);

// sec_fetch_free unlinks |f| from its resolver, cancels its requests and its wait for
// credentials, and frees it (its done callback is not called).
void sec_fetch_free(struct esm_secrets_fetch *f);

#endif
