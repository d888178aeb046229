// aws_parse.h: parsers for what AWS credential sources answer. All of it is untrusted input
// (a network peer or a program kesm runs), so every parser is bounded, never allocates more than
// its input allows, and reports what was wrong without echoing secret values.
//
//   - STS query-protocol XML (AssumeRole, AssumeRoleWithWebIdentity):
//     <XResponse><XResult><Credentials><AccessKeyId/><SecretAccessKey/><SessionToken/>
//     <Expiration/></Credentials>...</XResult></XResponse>, or the error shape
//     <ErrorResponse><Error><Type/><Code/><Message/></Error></ErrorResponse>. The scanner knows
//     elements, attributes, text, the five predefined entities and numeric character references,
//     comments, CDATA and the XML declaration; a DOCTYPE (and so any entity definition) is
//     refused, as are more than 32 levels of nesting and documents above INV_AWS_XML_MAX bytes.
//   - credential JSON: the container endpoint and EC2 instance metadata
//     ({"AccessKeyId","SecretAccessKey","Token","Expiration"}; IMDS adds "Code":"Success") and
//     credential_process ({"Version":1,"AccessKeyId","SecretAccessKey","SessionToken"?,
//     "Expiration"?}).
//   - ISO 8601 / RFC 3339 UTC times as AWS writes them (2026-12-07T00:15:00Z, with optional
//     fractional seconds or a +hh:mm offset).
//   - a credential_process command line split like Python's shlex.split (what botocore does),
//     so the program runs without a shell.
#ifndef INVOKE_AWS_PARSE_H
#define INVOKE_AWS_PARSE_H

#include "invoke/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INV_AWS_XML_MAX 65536    // STS answers are about 1-2 KiB
#define INV_AWS_JSON_MAX 65536   // container, IMDS and credential_process answers
#define INV_AWS_KEY_ID_MAX 128   // AccessKeyId: 16-128 characters of [\w]
#define INV_AWS_SECRET_MAX 256   // SecretAccessKey
#define INV_AWS_TOKEN_MAX 16384  // SessionToken / Token
#define INV_AWS_TIME_MAX 64      // Expiration text
#define INV_AWS_ERRTEXT_MAX 300  // error code + message kept for messages
#define INV_AWS_ARGV_MAX 64      // credential_process arguments
#define INV_AWS_CMDLINE_MAX 4096 // credential_process command line

// struct inv_aws_creds_doc: what a credential answer held. Strings are heap copies; the secret
// and token are wiped by inv_aws_creds_doc_cleanup. expiration is epoch seconds, or -1 when the
// answer carried none (static credentials).
struct inv_aws_creds_doc {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
    int64_t expiration;
    // For an STS error answer (inv_aws_sts_parse returned INV_AWS_PARSE_SERVICE_ERROR): the
    // error code and message, control characters replaced (no secrets: STS never echoes them).
    char error_code[96];
    char error_message[INV_AWS_ERRTEXT_MAX];
};

void inv_aws_creds_doc_cleanup(struct inv_aws_creds_doc *d);

enum inv_aws_parse_status {
    INV_AWS_PARSE_OK = 0,
    INV_AWS_PARSE_MALFORMED = -1,     // not the expected syntax; |err| says where
    INV_AWS_PARSE_LIMIT = -2,         // a size or depth limit was exceeded
    INV_AWS_PARSE_MISSING = -3,       // well-formed, but a required member is missing or bad
    INV_AWS_PARSE_SERVICE_ERROR = -4, // an error document (STS ErrorResponse, IMDS Code != Success)
};

// inv_aws_sts_parse reads an STS answer of |len| bytes (not NUL-terminated). |result| is the
// element holding Credentials ("AssumeRoleResult" or "AssumeRoleWithWebIdentityResult").
// Returns INV_AWS_PARSE_OK with |out| filled, INV_AWS_PARSE_SERVICE_ERROR with out->error_code
// and error_message, or another status with |err|. |out| must be zeroed.
enum inv_aws_parse_status inv_aws_sts_parse(struct inv_aws_creds_doc *out, const char *result,
                                            const char *xml, size_t len, struct inv_err *err);

// inv_aws_xml_value finds the first element at |path| (|depth| local names from the root, e.g.
// {"SendMessageResponse", "SendMessageResult", "MessageId"}) in an XML answer of |len| bytes and
// copies its text (control characters replaced, truncated to |cap|) into |out|. The same scanner
// and limits as inv_aws_sts_parse. Returns INV_AWS_PARSE_OK, INV_AWS_PARSE_MISSING when the
// document is well-formed but has no such element, or an error with |err|.
enum inv_aws_parse_status inv_aws_xml_value(char *out, size_t cap, const char *const *path,
                                            size_t depth, const char *xml, size_t len,
                                            struct inv_err *err);

enum inv_aws_json_kind {
    INV_AWS_JSON_CONTAINER, // Token; Expiration required
    INV_AWS_JSON_IMDS,      // Token; Expiration required; Code must be "Success" when present
    INV_AWS_JSON_PROCESS,   // Version 1; SessionToken and Expiration optional
};

// inv_aws_creds_json_parse reads a credential JSON answer of |len| bytes. Returns
// INV_AWS_PARSE_OK with |out| filled (expiration -1 when absent and optional), or an error
// status with |err| naming the member. |out| must be zeroed.
enum inv_aws_parse_status inv_aws_creds_json_parse(struct inv_aws_creds_doc *out,
                                                   enum inv_aws_json_kind kind, const char *json,
                                                   size_t len, struct inv_err *err);

// inv_aws_time_parse parses |len| bytes of an ISO 8601 time into epoch seconds (fractions are
// dropped). Accepts YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm), 't'/'z' in lower case too.
bool inv_aws_time_parse(const char *s, size_t len, int64_t *out);

// inv_aws_shell_split splits |cmd| like Python's shlex.split (POSIX mode, no comments): blanks
// (space, tab, CR, LF) separate words; '...' keeps everything literally; inside "..." a backslash
// escapes only '"' and '\\' (elsewhere it stays); outside quotes a backslash escapes the next
// character; "" and '' make an empty word. Returns the number of words (1 or more) with
// heap strings in out_argv[0..n-1] and out_argv[n] = NULL, or -1 with |err| (unterminated quote,
// trailing backslash, empty command, too long, more than INV_AWS_ARGV_MAX words).
int inv_aws_shell_split(char **out_argv, size_t cap, const char *cmd, struct inv_err *err);
void inv_aws_argv_free(char **argv);

#endif
