// heartbeat.c: Heartbeat (API 12), checked against HeartbeatRequest.json/HeartbeatResponse.json.
#include "proto/heartbeat.h"

#include "proto/api.h"
#include "proto/flexwire.h"

bool kp_heartbeat_req_write(kw *w, int16_t version, const struct kp_heartbeat_req *req)
{
    if (!kp_fw_version_ok(KP_API_HEARTBEAT, version)) {
        return kw_fail(w);
    }
    bool flex = kp_api_is_flexible(KP_API_HEARTBEAT, version);
    if (!kp_fw_wstr_nn(w, flex, req->group_id) || !kw_i32(w, req->generation_id) ||
        !kp_fw_wstr_nn(w, flex, req->member_id)) {
        return false;
    }
    if (version >= 3) {
        if (!kp_fw_wstr(w, flex, req->group_instance_id)) {
            return false;
        }
    } else if (req->group_instance_id) {
        return kw_fail(w);
    }
    return kp_fw_wtags(w, flex);
}

enum kp_status kp_heartbeat_resp_parse(kr *body, int16_t version, struct kp_heartbeat_resp *out,
                                       struct kp_err *err)
{
    if (!kp_fw_version_ok(KP_API_HEARTBEAT, version)) {
        return kp_fail_as(err, body, "version", KP_ERR_VERSION);
    }
    bool flex = kp_api_is_flexible(KP_API_HEARTBEAT, version);
    out->throttle_time_ms = 0;
    if (version >= 1 && !kr_i32(body, &out->throttle_time_ms)) {
        return kp_fail(err, body, "throttle_time_ms");
    }
    if (!kr_i16(body, &out->error_code)) {
        return kp_fail(err, body, "error_code");
    }
    if (!kp_fw_tags(body, flex)) {
        return kp_fail(err, body, "tagged_fields");
    }
    if (!kr_expect_done(body)) {
        return kp_fail(err, body, "trailing bytes");
    }
    return KP_OK;
}
