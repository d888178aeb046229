// sync_group.c: SyncGroup (API 14), checked against SyncGroupRequest.json/SyncGroupResponse.json.
#include "proto/sync_group.h"

#include "proto/api.h"
#include "proto/flexwire.h"

static bool write_assignments(kw *w, bool flex, const struct kp_sync_group_req *req)
{
    int32_t n;
    if (!kp_fw_count(w, req->num_assignments, &n) || !kp_fw_warray(w, flex, n)) {
        return false;
    }
    for (size_t i = 0; i < req->num_assignments; i++) {
        const struct kp_sync_group_req_assignment *a = &req->assignments[i];
        if (!kp_fw_wstr_nn(w, flex, a->member_id) ||
            !kp_fw_wbytes_nn(w, flex, a->assignment, a->assignment_len) || !kp_fw_wtags(w, flex)) {
            return false;
        }
    }
    return true;
}

bool kp_sync_group_req_write(kw *w, int16_t version, const struct kp_sync_group_req *req)
{
    if (!kp_fw_version_ok(KP_API_SYNC_GROUP, version)) {
        return kw_fail(w);
    }
    bool flex = kp_api_is_flexible(KP_API_SYNC_GROUP, version);
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
    if (version >= 5 &&
        (!kp_fw_wstr(w, flex, req->protocol_type) || !kp_fw_wstr(w, flex, req->protocol_name))) {
        return false;
    }
    return write_assignments(w, flex, req) && kp_fw_wtags(w, flex);
}

enum kp_status kp_sync_group_resp_parse(kr *body, int16_t version, struct kp_sync_group_resp *out,
                                        struct kp_err *err)
{
    if (!kp_fw_version_ok(KP_API_SYNC_GROUP, version)) {
        return kp_fail_as(err, body, "version", KP_ERR_VERSION);
    }
    bool flex = kp_api_is_flexible(KP_API_SYNC_GROUP, version);
    *out = (struct kp_sync_group_resp){.protocol_type_null = true, .protocol_name_null = true};
    if (version >= 1 && !kr_i32(body, &out->throttle_time_ms)) {
        return kp_fail(err, body, "throttle_time_ms");
    }
    if (!kr_i16(body, &out->error_code)) {
        return kp_fail(err, body, "error_code");
    }
    if (version >= 5) {
        if (!kp_fw_str(body, flex, &out->protocol_type, &out->protocol_type_null)) {
            return kp_fail(err, body, "protocol_type");
        }
        if (!kp_fw_str(body, flex, &out->protocol_name, &out->protocol_name_null)) {
            return kp_fail(err, body, "protocol_name");
        }
    }
    if (!kp_fw_bytes(body, flex, &out->assignment, &out->assignment_null)) {
        return kp_fail(err, body, "assignment");
    }
    if (!kp_fw_tags(body, flex)) {
        return kp_fail(err, body, "tagged_fields");
    }
    if (!kr_expect_done(body)) {
        return kp_fail(err, body, "trailing bytes");
    }
    return KP_OK;
}
