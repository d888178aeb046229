// sasl_handshake.h: SaslHandshake (API 17) request writer and response parser, versions 0-1.
//
// Never flexible (apache/kafka SaslHandshakeRequest.json / SaslHandshakeResponse.json; the
// version cannot be bumped, KAFKA-9577). v0 and v1 have the same layout; they differ in what
// follows: after v0 the SASL tokens travel as raw size-prefixed frames, after v1 inside
// SaslAuthenticate requests (proto/sasl_authenticate.h). kesm uses v1.
#ifndef PROTO_SASL_HANDSHAKE_H
#define PROTO_SASL_HANDSHAKE_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// struct kp_sasl_handshake_req: |mechanism| such as "SCRAM-SHA-512", borrowed for the call.
struct kp_sasl_handshake_req {
    const char *mechanism;
};

// kp_sasl_handshake_req_write writes the body for |version| (0-1); NULL mechanism fails |w|.
bool kp_sasl_handshake_req_write(kw *w, int16_t version, const struct kp_sasl_handshake_req *req);

// struct kp_sasl_handshake_resp holds views into the response frame, which must outlive them.
// On UNSUPPORTED_SASL_MECHANISM (33) |mechanisms| lists what the broker enables.
struct kp_sasl_handshake_resp {
    int16_t error_code;
    uint32_t num_mechanisms;
    kr mechanisms;
};

struct kp_sasl_handshake_iter {
    kr rest;
    uint32_t left;
};

enum kp_status kp_sasl_handshake_resp_parse(kr *body, int16_t version,
                                            struct kp_sasl_handshake_resp *out, struct kp_err *err);

// kp_sasl_handshake_mechanisms starts an iteration over the enabled mechanisms;
// kp_sasl_handshake_next_mechanism gives each name as a view and returns false at the end.
void kp_sasl_handshake_mechanisms(const struct kp_sasl_handshake_resp *resp,
                                  struct kp_sasl_handshake_iter *out_it);
bool kp_sasl_handshake_next_mechanism(struct kp_sasl_handshake_iter *it, kr *out);

// kp_sasl_handshake_has_mechanism returns whether the broker listed |name| (exact match).
bool kp_sasl_handshake_has_mechanism(const struct kp_sasl_handshake_resp *resp, const char *name);

#endif
