// oauthbearer_parse.h: internal to sasl/: the OAUTHBEARER server's error message (RFC 7628
// section 3.2.2), a JSON object such as
//   {"status":"invalid_token","scope":"kafka","openid-configuration":"https://.../"}
// parsed with proto/ kr cursors. Pure and allocation-free; the views point into the message,
// which must outlive them.
//
// Accepted: one JSON object (RFC 8259), optionally surrounded by whitespace, whose "status" member
// is a string (required) and whose "scope" and "openid-configuration" members, when present, are
// strings; other members may hold any JSON value, nested at most OAUTH_ERR_MAX_DEPTH deep.
// Rejected: anything else, a duplicate of the three names (compared as written, escapes
// undecoded), more than OAUTH_ERR_MAX_LEN bytes.
#ifndef SASL_OAUTHBEARER_PARSE_H
#define SASL_OAUTHBEARER_PARSE_H

#include "proto/kr.h"

#include <stdbool.h>
#include <stddef.h>

#define OAUTH_ERR_MAX_LEN 16384
#define OAUTH_ERR_MAX_DEPTH 16

// struct oauth_error: the members of interest, as raw views of the string contents between the
// quotes (escapes still in place; see oauth_json_printable).
struct oauth_error {
    kr status;
    kr scope;
    kr openid_configuration;
    bool has_scope;
    bool has_openid_configuration;
};

// oauth_error_parse parses |in_len| bytes at |in| into |out|. Returns true, or false with *out_why
// (a static phrase, e.g. "expected ':'") and *out_at (the byte offset where parsing stopped).
bool oauth_error_parse(struct oauth_error *out, const uint8_t *in, size_t in_len,
                       const char **out_why, size_t *out_at);

// oauth_json_printable writes the JSON string contents |raw| (as oauth_error_parse returns them)
// to |buf| (|cap| >= 1 bytes, NUL-terminated) with escapes decoded, keeping only printable ASCII:
// every other character becomes '?'; cut short (ending in "...") when it does not fit. Returns
// |buf|.
const char *oauth_json_printable(const kr *raw, char *buf, size_t cap);

// oauth_error_describe writes "status <s>[, scope "<s>"][, openid-configuration "<s>"]" to |buf|
// (printable ASCII, cut short to |cap|).
void oauth_error_describe(const struct oauth_error *e, char *buf, size_t cap);

#endif
