// leave_group.c: LeaveGroup (API 13), checked against LeaveGroupRequest.json and
// LeaveGroupResponse.json.
#include "proto/leave_group.h"

#include "proto/api.h"
#include "proto/flexwire.h"

static bool write_members(kw *w, int16_t version, bool flex, const struct kp_leave_group_req *req)
{
    int32_t n;
    if (!kp_fw_count(w, req->num_members, &n) || !kp_fw_warray(w, flex, n)) {
        return false;
    }
    for (size_t i = 0; i < req->num_members; i++) {
        const struct kp_leave_group_req_member *m = &req->members[i];
        if (!kp_fw_wstr_nn(w, flex, m->member_id) || !kp_fw_wstr(w, flex, m->group_instance_id)) {
            return false;
        }
        if (version >= 5 && !kp_fw_wstr(w, flex, m->reason)) {
            return false;
        }
        if (!kp_fw_wtags(w, flex)) {
            return false;
        }
    }
    return true;
}

bool kp_leave_group_req_write(kw *w, int16_t version, const struct kp_leave_group_req *req)
{
    if (!kp_fw_version_ok(KP_API_LEAVE_GROUP, version)) {
        return kw_fail(w);
    }
    bool flex = kp_api_is_flexible(KP_API_LEAVE_GROUP, version);
    if (!kp_fw_wstr_nn(w, flex, req->group_id)) {
        return false;
    }
    if (version < 3) {
        if (req->num_members != 1 || req->members[0].group_instance_id) {
            return kw_fail(w);
        }
        return kp_fw_wstr_nn(w, flex, req->members[0].member_id) && kp_fw_wtags(w, flex);
    }
    return write_members(w, version, flex, req) && kp_fw_wtags(w, flex);
}

static bool read_member(kr *r, bool flex, struct kp_leave_group_member *out, const char **field)
{
    *field = "members.member_id";
    if (!kp_fw_str(r, flex, &out->member_id, NULL)) {
        return false;
    }
    *field = "members.group_instance_id";
    if (!kp_fw_str(r, flex, &out->group_instance_id, &out->group_instance_id_null)) {
        return false;
    }
    *field = "members.error_code";
    if (!kr_i16(r, &out->error_code)) {
        return false;
    }
    *field = "members.tagged_fields";
    return kp_fw_tags(r, flex);
}

enum kp_status kp_leave_group_resp_parse(kr *body, int16_t version, struct kp_leave_group_resp *out,
                                         struct kp_err *err)
{
    if (!kp_fw_version_ok(KP_API_LEAVE_GROUP, version)) {
        return kp_fail_as(err, body, "version", KP_ERR_VERSION);
    }
    bool flex = kp_api_is_flexible(KP_API_LEAVE_GROUP, version);
    *out = (struct kp_leave_group_resp){.version = version};
    if (version >= 1 && !kr_i32(body, &out->throttle_time_ms)) {
        return kp_fail(err, body, "throttle_time_ms");
    }
    if (!kr_i16(body, &out->error_code)) {
        return kp_fail(err, body, "error_code");
    }
    if (version >= 3) {
        // member id, instance id, error code (+ tags): 8 bytes plain, 5 compact.
        if (!kp_fw_array(body, flex, flex ? 5 : 8, UINT32_MAX, &out->num_members, NULL)) {
            return kp_fail(err, body, "members");
        }
        kr mark = *body;
        for (uint32_t i = 0; i < out->num_members; i++) {
            struct kp_leave_group_member m;
            const char *field;
            if (!read_member(body, flex, &m, &field)) {
                return kp_fail(err, body, field);
            }
        }
        kp_fw_span(&mark, body, &out->members);
    }
    if (!kp_fw_tags(body, flex)) {
        return kp_fail(err, body, "tagged_fields");
    }
    if (!kr_expect_done(body)) {
        return kp_fail(err, body, "trailing bytes");
    }
    return KP_OK;
}

void kp_leave_group_members(const struct kp_leave_group_resp *resp,
                            struct kp_leave_group_member_iter *out_it)
{
    out_it->rest = resp->members;
    out_it->left = resp->num_members;
    out_it->version = resp->version;
}

bool kp_leave_group_next_member(struct kp_leave_group_member_iter *it,
                                struct kp_leave_group_member *out)
{
    const char *field;
    bool flex = kp_api_is_flexible(KP_API_LEAVE_GROUP, it->version);
    if (it->left == 0 || !read_member(&it->rest, flex, out, &field)) {
        return false;
    }
    it->left--;
    return true;
}
