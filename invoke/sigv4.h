// sigv4.h: AWS Signature Version 4 header signing and verification (libcrypto SHA-256/HMAC).
//
// Canonicalization follows botocore's SigV4Auth (the oracle the tests run) for every service but
// S3:
//   - URI: the path as sent on the wire (already percent-encoded, e.g. a Lambda function name
//     "my-function:prod" is sent as my-function%3Aprod), dot segments removed and empty segments
//     collapsed, then percent-encoded AGAIN except A-Z a-z 0-9 - _ . ~ and '/'
//     (so %3A becomes %253A in the canonical request);
//   - query: '&'-separated pairs split at the first '=', each name and value percent-decoded and
//     re-encoded with the same unreserved set (identity for canonically encoded input), sorted by
//     name then value; empty pairs are dropped;
//   - headers: all request headers except hop-by-hop and unsigned ones (connection, expect,
//     keep-alive, proxy-authenticate, proxy-authorization, te, trailer, transfer-encoding, upgrade,
//     user-agent, x-amzn-trace-id), plus x-amz-date and, for session credentials,
//     x-amz-security-token; names lower-cased, values trimmed with inner whitespace runs collapsed,
//     duplicates joined with ',' in order, sorted by name;
//   - payload: hex SHA-256 of the body. No X-Amz-Content-Sha256 header (only S3 needs it).
#ifndef INVOKE_SIGV4_H
#define INVOKE_SIGV4_H

#include "base/buf.h"
#include "invoke/credentials.h"
#include "invoke/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sigv4_header {
    const char *name;
    const char *value;
};

// sigv4_request: a request as it goes on (or came off) the wire. All borrowed.
struct sigv4_request {
    const char *method; // "POST"
    const char *path;   // wire path, percent-encoded: "/2015-03-31/functions/f%3Aprod/invocations"
    const char *query;  // wire query without '?', or NULL
    const struct sigv4_header *headers; // must include Host (with the port when not default)
    size_t num_headers;
    const void *body;
    size_t body_len;
};

// sigv4_signed: the headers to add to the request.
struct sigv4_signed {
    char amz_date[17];          // X-Amz-Date: YYYYMMDDTHHMMSSZ
    char signature[65];         // hex
    char *authorization;        // Authorization header value (heap)
    const char *security_token; // X-Amz-Security-Token value (borrowed from creds) or NULL
};

void sigv4_signed_cleanup(struct sigv4_signed *s);

// sigv4_sign signs |req| for |region| and |service| at |unix_time| (seconds). The request must
// not already carry Authorization, X-Amz-Date or X-Amz-Security-Token (they are the output).
// Returns 0, or -1 with |err| (missing Host, forbidden header, bad credentials).
int sigv4_sign(struct sigv4_signed *out, const struct inv_creds *creds, const char *region,
               const char *service, int64_t unix_time, const struct sigv4_request *req,
               struct inv_err *err);

// sigv4_uri_encode appends |n| bytes of |s| to |out| percent-encoded as SigV4 (and RFC 3986)
// want: everything but A-Z a-z 0-9 - _ . ~ (and '/' when |keep_slash|) becomes %XX, upper case.
void sigv4_uri_encode(struct buf *out, const char *s, size_t n, bool keep_slash);

// sigv4_form_add appends "name=value" to an application/x-www-form-urlencoded body (the AWS
// query protocol's: STS, SQS, SNS), after a '&' unless |out| is empty; |value| (|n| bytes) is
// encoded as sigv4_uri_encode does, which is how botocore encodes it.
void sigv4_form_add(struct buf *out, const char *name, const char *value, size_t n);

// sigv4_sha256_hex writes the lower-case hex SHA-256 of |n| bytes at |p| and a NUL into |out|:
// a payload hash (S3's X-Amz-Content-SHA256).
void sigv4_sha256_hex(char out[65], const void *p, size_t n);

// sigv4_sign_s3 signs for S3 (service "s3") the way botocore's S3SigV4Auth does: the path is
// used exactly as sent (encoded once, not normalized), and the payload hash is the value of the
// request's X-Amz-Content-SHA256 header (which S3 requires; the caller adds it, with the hex
// SHA-256 of the body) instead of one computed here.
int sigv4_sign_s3(struct sigv4_signed *out, const struct inv_creds *creds, const char *region,
                  int64_t unix_time, const struct sigv4_request *req, struct inv_err *err);

// sigv4_canonical_request writes the canonical request of |req| as signed with the extra
// x-amz-date (and token) headers; exposed for tests and debugging.
int sigv4_canonical_request(struct buf *out, const struct sigv4_request *req, const char *amz_date,
                            const char *security_token, struct inv_err *err);

// sigv4_verify checks a received request (all its headers, including Authorization and
// X-Amz-Date) against |creds| (the one key pair the server accepts): algorithm, credential scope
// (key id, date, |region|, |service|), that host and x-amz-date are signed, that a sent
// x-amz-security-token is signed and equals creds' token when creds have one, that X-Amz-Date is
// within |max_skew_s| of |now|, and the signature (compared in constant time). Returns 0 if the
// request is authentic, or -1 with |err| saying why (never echoing the secret or a signature).
int sigv4_verify(const struct sigv4_request *req, const struct inv_creds *creds, const char *region,
                 const char *service, int64_t now, int64_t max_skew_s, struct inv_err *err);

#endif
