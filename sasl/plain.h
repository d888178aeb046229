// plain.h: the PLAIN client (RFC 4616) as Kafka uses it: one message "\0<user>\0<password>"
// (empty authzid), to which the server answers with an empty token.
//
// Character policy: the user name and password must be non-empty and free of control characters
// (0x00-0x1F, 0x7F); other bytes (UTF-8) are sent as they are, since RFC 4616 leaves preparation
// to the server. The message carries the password, so it is built in a heap buffer that is wiped
// as soon as the server's answer arrives and on free.
#ifndef SASL_PLAIN_H
#define SASL_PLAIN_H

#include "sasl/sasl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct plain;

// plain_new copies the credentials; NULL with |err| set if either breaks the policy or on OOM.
struct plain *plain_new(const char *user, const char *password, struct sasl_err *err);
// plain_start returns the message; SASL_CONTINUE, or SASL_FAILED if called twice.
enum sasl_status plain_start(struct plain *p, const uint8_t **out, size_t *out_len,
                             struct sasl_err *err);
// plain_step takes the server's answer, which must be empty: SASL_COMPLETE, else SASL_FAILED.
// The message is wiped either way.
enum sasl_status plain_step(struct plain *p, const uint8_t *in, size_t in_len,
                            struct sasl_err *err);
// plain_free wipes and frees. NULL is a no-op.
void plain_free(struct plain *p);

#endif
