// credentials.h: AWS credentials from the standard chain's static sources.
//
// Order (botocore's, for the sources implemented here):
//   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, optional AWS_SESSION_TOKEN (legacy
//      alias AWS_SECURITY_TOKEN). One of the pair without the other is an error.
//   2. the shared credentials file: AWS_SHARED_CREDENTIALS_FILE, else $HOME/.aws/credentials;
//      profile AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default"; keys aws_access_key_id,
//      aws_secret_access_key, optional aws_session_token.
// Not supported (listed in the README status table): assume-role/web-identity profiles, the
// config file's credentials, the container endpoint and EC2 instance metadata.
//
// Secrets: the secret key and session token live in heap buffers wiped with OPENSSL_cleanse on
// cleanup, and the file's bytes are wiped after parsing. No message ever contains a secret value
// (errors name the file, line and key only).
//
// INI rules: "[name]" sections (whitespace around the name ignored), "key = value" lines (key
// and value trimmed; keys compared case-sensitively as botocore does), '#' or ';' comment lines,
// blank lines; an indented line after a key is a continuation (botocore's nested values) and is
// ignored. Anything else is a malformed line, reported as "<file>:<line>: ...".
#ifndef INVOKE_CREDENTIALS_H
#define INVOKE_CREDENTIALS_H

#include "invoke/err.h"

struct inv_creds {
    char *access_key_id;
    char *secret_access_key; // wiped on cleanup
    char *session_token;     // NULL when none; wiped on cleanup
    char source[160];        // where they came from, for logs (no secret)
};

// inv_getenv_fn looks up an environment variable (getenv's shape), so tests can inject one.
typedef const char *inv_getenv_fn(const char *name);

void inv_creds_init(struct inv_creds *c);
// inv_creds_cleanup wipes and frees; safe on an initialized or zeroed struct.
void inv_creds_cleanup(struct inv_creds *c);
// inv_creds_set copies the given values (session_token may be NULL) into |c|, replacing any.
void inv_creds_set(struct inv_creds *c, const char *access_key_id, const char *secret_access_key,
                   const char *session_token, const char *source);

// inv_creds_load resolves credentials through the chain above. |getenv_fn| NULL means getenv.
// Returns 0 with |out| filled, or -1 with |err| explaining (no source, partial environment,
// unreadable or malformed file with its line, missing profile or key).
int inv_creds_load(struct inv_creds *out, inv_getenv_fn *getenv_fn, struct inv_err *err);

// inv_creds_load_file reads one profile from a credentials file (the second source alone).
int inv_creds_load_file(struct inv_creds *out, const char *path, const char *profile,
                        struct inv_err *err);

#endif
