// sasl_authenticate.h: SaslAuthenticate (API 36) request writer and response parser, versions
// 0-2 (flexible 2+).
//
// Checked against apache/kafka SaslAuthenticateRequest.json / SaslAuthenticateResponse.json:
// v1 adds SessionLifetimeMs (KIP-368: re-authenticate before it runs out; 0 = no limit); v2 is
// flexible (compact strings and bytes, tag sections).
//
// Auth bytes carry credentials (a PLAIN password, SCRAM proofs): this codec copies them only
// into the caller's kw buffer and never logs them; the caller wipes that buffer.
#ifndef PROTO_SASL_AUTHENTICATE_H
#define PROTO_SASL_AUTHENTICATE_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// struct kp_sasl_authenticate_req: |auth_len| bytes at |auth_bytes| (NULL only when
// |auth_len| is 0: empty, never null), borrowed for the call.
struct kp_sasl_authenticate_req {
    const uint8_t *auth_bytes;
    size_t auth_len;
};

// kp_sasl_authenticate_req_write writes the body for |version| (0-2).
bool kp_sasl_authenticate_req_write(kw *w, int16_t version,
                                    const struct kp_sasl_authenticate_req *req);

// struct kp_sasl_authenticate_resp holds views into the response frame, which must outlive them.
// On SASL_AUTHENTICATION_FAILED (58) |error_message| says why.
struct kp_sasl_authenticate_resp {
    int16_t error_code;
    kr error_message;
    bool error_message_null;
    kr auth_bytes;
    int64_t session_lifetime_ms; // 0 before v1
};

enum kp_status kp_sasl_authenticate_resp_parse(kr *body, int16_t version,
                                               struct kp_sasl_authenticate_resp *out,
                                               struct kp_err *err);

#endif
