// sasl_authenticate.c: SaslAuthenticate (API 36) v0-2, checked against
// SaslAuthenticateRequest.json and SaslAuthenticateResponse.json.
#include "proto/sasl_authenticate.h"

#include "proto/api.h"
#include "proto/flexwire.h"

bool kp_sasl_authenticate_req_write(kw *w, int16_t version,
                                    const struct kp_sasl_authenticate_req *req)
{
    static const uint8_t empty[1];
    if (!kp_fw_version_ok(KP_API_SASL_AUTHENTICATE, version) ||
        (!req->auth_bytes && req->auth_len > 0)) {
        return kw_fail(w);
    }
    bool flex = kp_api_is_flexible(KP_API_SASL_AUTHENTICATE, version);
    const uint8_t *p = req->auth_bytes ? req->auth_bytes : empty;
    return kp_fw_wbytes(w, flex, p, req->auth_len) && kp_fw_wtags(w, flex);
}

enum kp_status kp_sasl_authenticate_resp_parse(kr *body, int16_t version,
                                               struct kp_sasl_authenticate_resp *out,
                                               struct kp_err *err)
{
    if (!kp_fw_version_ok(KP_API_SASL_AUTHENTICATE, version)) {
        return kp_fail_as(err, body, "version", KP_ERR_VERSION);
    }
    bool flex = kp_api_is_flexible(KP_API_SASL_AUTHENTICATE, version);
    *out = (struct kp_sasl_authenticate_resp){0};
    if (!kr_i16(body, &out->error_code)) {
        return kp_fail(err, body, "error_code");
    }
    if (!kp_fw_str(body, flex, &out->error_message, &out->error_message_null)) {
        return kp_fail(err, body, "error_message");
    }
    if (!kp_fw_bytes(body, flex, &out->auth_bytes, NULL)) {
        return kp_fail(err, body, "auth_bytes");
    }
    if (version >= 1 && !kr_i64(body, &out->session_lifetime_ms)) {
        return kp_fail(err, body, "session_lifetime_ms");
    }
    if (!kp_fw_tags(body, flex)) {
        return kp_fail(err, body, "tagged_fields");
    }
    if (!kr_expect_done(body)) {
        return kp_fail(err, body, "end of body");
    }
    return KP_OK;
}
