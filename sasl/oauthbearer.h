// oauthbearer.h: the OAUTHBEARER client (RFC 7628) as Kafka uses it (KIP-255).
//
//   client: n,,\x01auth=Bearer <token>\x01\x01     (GS2 header without authzid, no extensions)
//   server: empty                                 -> authenticated (SASL_COMPLETE)
//        or an error JSON {"status":...}          -> the client answers "\x01" (SASL_CONTINUE)
//                                                    and the server then fails the exchange
//
// After an error JSON, oauthbearer_server_reason describes it ("status invalid_token, scope
// ..."), so the driver can add it to the SaslAuthenticate error that follows; if the server
// answers the "\x01" with anything but an error, the next step fails with that reason.
//
// Token policy: the bytes are taken as given except that trailing ASCII whitespace (a file's final
// newline) is dropped; the rest must be a non-empty RFC 6750 b64token (letters, digits, - . _ ~ +
// / then optional '=' padding) of at most OAUTHBEARER_MAX_TOKEN bytes. The client message carries
// the token, so it lives in a heap buffer wiped after the server's first answer and on free.
#ifndef SASL_OAUTHBEARER_H
#define SASL_OAUTHBEARER_H

#include "sasl/sasl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OAUTHBEARER_MAX_TOKEN 65536

struct oauthbearer;

// oauthbearer_new copies |token| (|token_len| bytes, not NUL-terminated); NULL with |err| set if
// it breaks the token policy (the message names the offending offset, never the token) or on OOM.
struct oauthbearer *oauthbearer_new(const uint8_t *token, size_t token_len, struct sasl_err *err);
// oauthbearer_start returns the client's message; SASL_CONTINUE, or SASL_FAILED if called twice.
enum sasl_status oauthbearer_start(struct oauthbearer *o, const uint8_t **out, size_t *out_len,
                                   struct sasl_err *err);
// oauthbearer_step takes a server message: see the exchange above.
enum sasl_status oauthbearer_step(struct oauthbearer *o, const uint8_t *in, size_t in_len,
                                  const uint8_t **out, size_t *out_len, struct sasl_err *err);
// oauthbearer_server_reason returns the server's error as printable text, or "" if none came.
const char *oauthbearer_server_reason(const struct oauthbearer *o);
// oauthbearer_free wipes and frees. NULL is a no-op.
void oauthbearer_free(struct oauthbearer *o);

#endif
