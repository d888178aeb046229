// msk_iam.h: the Amazon MSK IAM authentication token, as the aws-msk-iam-sasl-signer libraries
// build it for SASL/OAUTHBEARER.
//
// The token is the base64url encoding, without padding, of a SigV4 presigned URL:
//
//   https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect
//       &User-Agent=<ua>&X-Amz-Algorithm=AWS4-HMAC-SHA256
//       &X-Amz-Credential=<key id>%2F<yyyymmdd>%2F<region>%2Fkafka-cluster%2Faws4_request
//       &X-Amz-Date=<yyyymmddThhmmssZ>&X-Amz-Expires=<seconds>
//       [&X-Amz-Security-Token=<token>]&X-Amz-Signature=<hex>&X-Amz-SignedHeaders=host
//
// Signed: method GET, path "/", the query without User-Agent and X-Amz-Signature, the one header
// host:kafka.<region>.amazonaws.com (the regional endpoint, not the broker's name), and the
// SHA-256 of the empty payload; service "kafka-cluster". The query parameters of the URL are
// sorted by name, as the JavaScript signer (aws-msk-iam-sasl-signer-js 1.0.3) writes them; the
// User-Agent parameter is added after signing and is not signed. Names and values are
// percent-encoded except A-Z a-z 0-9 - _ . ~.
//
// Pure code: the time and the credentials are inputs; nothing here reads a clock, the environment
// or a file.
#ifndef SASL_MSK_IAM_H
#define SASL_MSK_IAM_H

#include "sasl/sasl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// MSK_IAM_MAX_EXPIRES is the token lifetime the signers use (seconds), also the upper bound.
#define MSK_IAM_MAX_EXPIRES 900

// Limits on the inputs (bytes), so a token stays well inside one SaslAuthenticate request.
#define MSK_IAM_MAX_REGION 64
#define MSK_IAM_MAX_KEY_ID 128
#define MSK_IAM_MAX_SECRET 256
#define MSK_IAM_MAX_SESSION_TOKEN 8192
#define MSK_IAM_MAX_USER_AGENT 256

// struct msk_iam_params: what a token is built from. All borrowed, NUL-terminated.
struct msk_iam_params {
    const char *region;            // "eu-west-1": lower-case letters, digits and '-'
    const char *access_key_id;     // letters and digits
    const char *secret_access_key; // printable ASCII without spaces
    const char *session_token;     // NULL or "" for long-term keys; printable ASCII without spaces
    const char *user_agent;        // printable ASCII; NULL = "kesm/<version>"
    int64_t now;                   // signing time, Unix seconds (0 .. 253402300799, year 9999)
    uint32_t expires;              // token lifetime in seconds, 1..900; 0 = 900
    int64_t credentials_expiry;    // Unix seconds the credentials expire at, 0 = never: the token
                                   // then expires no later than they do (as the signers do)
};

// struct msk_iam_token: a built token.
struct msk_iam_token {
    char *token;      // heap, NUL-terminated base64url (no padding); a bearer credential
    size_t token_len; // strlen(token)
    int64_t expiry;   // Unix seconds the token stops being valid: now + X-Amz-Expires
    uint32_t expires; // the X-Amz-Expires used
};

// msk_iam_token_build builds the token for |p| into |out| (which it initialises first). Returns
// true, or false with |err| set (which input is wrong and why, never its secret value) and |out|
// empty.
bool msk_iam_token_build(struct msk_iam_token *out, const struct msk_iam_params *p,
                         struct sasl_err *err);

// msk_iam_presigned_url writes the presigned URL itself (the token before base64url) to a heap
// string in *out_url (wipe and free it with msk_iam_url_free). Same inputs, checks and results as
// msk_iam_token_build; exposed for tests and debugging.
bool msk_iam_presigned_url(char **out_url, size_t *out_len, uint32_t *out_expires,
                           const struct msk_iam_params *p, struct sasl_err *err);

// msk_iam_url_free wipes and frees a URL of msk_iam_presigned_url. NULL is a no-op.
void msk_iam_url_free(char *url, size_t len);

// msk_iam_token_cleanup wipes and frees the token and zeroes |t|; safe on a zeroed or cleaned
// struct.
void msk_iam_token_cleanup(struct msk_iam_token *t);

#endif
