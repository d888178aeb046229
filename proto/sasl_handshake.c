// sasl_handshake.c: SaslHandshake (API 17) v0-1, checked against SaslHandshakeRequest.json and
// SaslHandshakeResponse.json.
#include "proto/sasl_handshake.h"

#include "proto/api.h"
#include "proto/flexwire.h"

// A mechanism name is at least its int16 length; brokers enable a handful.
#define MIN_MECH_LEN 2
#define MAX_MECHANISMS 1024

bool kp_sasl_handshake_req_write(kw *w, int16_t version, const struct kp_sasl_handshake_req *req)
{
    if (!kp_fw_version_ok(KP_API_SASL_HANDSHAKE, version) || !req->mechanism) {
        return kw_fail(w);
    }
    return kw_str(w, req->mechanism);
}

enum kp_status kp_sasl_handshake_resp_parse(kr *body, int16_t version,
                                            struct kp_sasl_handshake_resp *out, struct kp_err *err)
{
    if (!kp_fw_version_ok(KP_API_SASL_HANDSHAKE, version)) {
        return kp_fail_as(err, body, "version", KP_ERR_VERSION);
    }
    *out = (struct kp_sasl_handshake_resp){0};
    if (!kr_i16(body, &out->error_code)) {
        return kp_fail(err, body, "error_code");
    }
    if (!kr_array_count(body, MIN_MECH_LEN, MAX_MECHANISMS, &out->num_mechanisms, NULL)) {
        return kp_fail(err, body, "mechanisms");
    }
    kr mark = *body;
    for (uint32_t i = 0; i < out->num_mechanisms; i++) {
        kr name;
        if (!kr_str(body, &name, NULL)) {
            return kp_fail(err, body, "mechanisms.name");
        }
    }
    kr_sub(&mark, &out->mechanisms, kr_left(&mark) - kr_left(body));
    if (!kr_expect_done(body)) {
        return kp_fail(err, body, "end of body");
    }
    return KP_OK;
}

void kp_sasl_handshake_mechanisms(const struct kp_sasl_handshake_resp *resp,
                                  struct kp_sasl_handshake_iter *out_it)
{
    *out_it = (struct kp_sasl_handshake_iter){resp->mechanisms, resp->num_mechanisms};
}

bool kp_sasl_handshake_next_mechanism(struct kp_sasl_handshake_iter *it, kr *out)
{
    if (it->left == 0 || !kr_str(&it->rest, out, NULL)) {
        it->left = 0;
        return false;
    }
    it->left--;
    return true;
}

bool kp_sasl_handshake_has_mechanism(const struct kp_sasl_handshake_resp *resp, const char *name)
{
    struct kp_sasl_handshake_iter it;
    kr m;
    kp_sasl_handshake_mechanisms(resp, &it);
    while (kp_sasl_handshake_next_mechanism(&it, &m)) {
        if (kr_eq_cstr(&m, name)) {
            return true;
        }
    }
    return false;
}
