// credentials.h: one set of AWS credentials, and the synchronous (static) part of the chain.
//
// The full credential chain (assume role, web identity, credential_process, container, EC2
// instance metadata, cached and refreshed on the event loop) is invoke/aws.h. This header holds
// the struct every signer uses and inv_creds_load, which resolves the same chain but accepts only
// sources that need no fetching (the environment, the shared credentials file, the config file's
// static keys): what `kesm serve --verify-sigv4` compares signatures against.
//
// Secrets: the secret key and session token live in heap buffers wiped with OPENSSL_cleanse on
// cleanup. No message ever contains a secret value.
#ifndef INVOKE_CREDENTIALS_H
#define INVOKE_CREDENTIALS_H

#include "invoke/aws_config.h"
#include "invoke/err.h"

struct inv_creds {
    char *access_key_id;
    char *secret_access_key; // wiped on cleanup
    char *session_token;     // NULL when none; wiped on cleanup
    char source[320];        // where they came from, for logs (no secret)
};

void inv_creds_init(struct inv_creds *c);
// inv_creds_cleanup wipes and frees; safe on an initialized or zeroed struct.
void inv_creds_cleanup(struct inv_creds *c);
// inv_creds_set copies the given values (session_token may be NULL) into |c|, replacing any.
void inv_creds_set(struct inv_creds *c, const char *access_key_id, const char *secret_access_key,
                   const char *session_token, const char *source);

// inv_creds_load resolves the chain of invoke/aws.h with |getenv_fn| (NULL: getenv). Returns 0
// with |out| filled when the chain ends at static credentials, or -1 with |err| explaining (no
// source, partial environment, malformed file with its line, or a source that must be fetched:
// "credentials come from <source>, which kesm fetches ...").
int inv_creds_load(struct inv_creds *out, inv_getenv_fn *getenv_fn, struct inv_err *err);

#endif
