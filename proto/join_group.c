// join_group.c: JoinGroup (API 11), checked against JoinGroupRequest.json/JoinGroupResponse.json.
#include "proto/join_group.h"

#include "proto/api.h"
#include "proto/flexwire.h"

// member_min_len is the smallest encoding of a member: member id, instance id (v5+), metadata,
// tags (flexible).
static size_t member_min_len(int16_t version, bool flex)
{
    if (flex) {
        return 4;
    }
    return version >= 5 ? 8 : 6;
}

static bool write_protocols(kw *w, bool flex, const struct kp_join_group_req *req)
{
    int32_t n;
    if (!kp_fw_count(w, req->num_protocols, &n) || !kp_fw_warray(w, flex, n)) {
        return false;
    }
    for (size_t i = 0; i < req->num_protocols; i++) {
        const struct kp_join_group_req_protocol *p = &req->protocols[i];
        if (!kp_fw_wstr_nn(w, flex, p->name) ||
            !kp_fw_wbytes_nn(w, flex, p->metadata, p->metadata_len) || !kp_fw_wtags(w, flex)) {
            return false;
        }
    }
    return true;
}

bool kp_join_group_req_write(kw *w, int16_t version, const struct kp_join_group_req *req)
{
    if (!kp_fw_version_ok(KP_API_JOIN_GROUP, version)) {
        return kw_fail(w);
    }
    bool flex = kp_api_is_flexible(KP_API_JOIN_GROUP, version);
    if (!kp_fw_wstr_nn(w, flex, req->group_id) || !kw_i32(w, req->session_timeout_ms) ||
        !kw_i32(w, req->rebalance_timeout_ms) || !kp_fw_wstr_nn(w, flex, req->member_id)) {
        return false;
    }
    if (version >= 5) {
        if (!kp_fw_wstr(w, flex, req->group_instance_id)) {
            return false;
        }
    } else if (req->group_instance_id) {
        return kw_fail(w);
    }
    if (!kp_fw_wstr_nn(w, flex, req->protocol_type) || !write_protocols(w, flex, req)) {
        return false;
    }
    if (version >= 8 && !kp_fw_wstr(w, flex, req->reason)) {
        return false;
    }
    return kp_fw_wtags(w, flex);
}

// read_member reads one member; *field names what was being read when it fails.
static bool read_member(kr *r, int16_t version, struct kp_join_group_member *out,
                        const char **field)
{
    bool flex = kp_api_is_flexible(KP_API_JOIN_GROUP, version);
    *field = "members.member_id";
    if (!kp_fw_str(r, flex, &out->member_id, NULL)) {
        return false;
    }
    out->group_instance_id = (kr){0};
    out->group_instance_id_null = true;
    *field = "members.group_instance_id";
    if (version >= 5 &&
        !kp_fw_str(r, flex, &out->group_instance_id, &out->group_instance_id_null)) {
        return false;
    }
    *field = "members.metadata";
    if (!kp_fw_bytes(r, flex, &out->metadata, NULL)) {
        return false;
    }
    *field = "members.tagged_fields";
    return kp_fw_tags(r, flex);
}

static enum kp_status parse_head(kr *body, int16_t version, bool flex,
                                 struct kp_join_group_resp *out, struct kp_err *err)
{
    if (!kr_i32(body, &out->throttle_time_ms)) {
        return kp_fail(err, body, "throttle_time_ms");
    }
    if (!kr_i16(body, &out->error_code) || !kr_i32(body, &out->generation_id)) {
        return kp_fail(err, body, "error_code");
    }
    if (version >= 7 && !kp_fw_str(body, flex, &out->protocol_type, &out->protocol_type_null)) {
        return kp_fail(err, body, "protocol_type");
    }
    // ProtocolName is nullable from v7 only, and Leader and MemberId never are, but the
    // librdkafka mock sends all three as null with every error; reading them as empty keeps the
    // error code visible (librdkafka reads them that way too).
    bool was_null;
    if (!kp_fw_str(body, flex, &out->protocol_name, &out->protocol_name_null)) {
        return kp_fail(err, body, "protocol_name");
    }
    if (!kp_fw_str(body, flex, &out->leader, &was_null)) {
        return kp_fail(err, body, "leader");
    }
    if (version >= 9 && !kr_bool(body, &out->skip_assignment)) {
        return kp_fail(err, body, "skip_assignment");
    }
    if (!kp_fw_str(body, flex, &out->member_id, &was_null)) {
        return kp_fail(err, body, "member_id");
    }
    return KP_OK;
}

enum kp_status kp_join_group_resp_parse(kr *body, int16_t version, struct kp_join_group_resp *out,
                                        struct kp_err *err)
{
    if (!kp_fw_version_ok(KP_API_JOIN_GROUP, version)) {
        return kp_fail_as(err, body, "version", KP_ERR_VERSION);
    }
    bool flex = kp_api_is_flexible(KP_API_JOIN_GROUP, version);
    *out = (struct kp_join_group_resp){.protocol_type_null = true, .version = version};
    enum kp_status st = parse_head(body, version, flex, out, err);
    if (st != KP_OK) {
        return st;
    }
    if (!kp_fw_array(body, flex, member_min_len(version, flex), UINT32_MAX, &out->num_members,
                     NULL)) {
        return kp_fail(err, body, "members");
    }
    kr mark = *body;
    for (uint32_t i = 0; i < out->num_members; i++) {
        struct kp_join_group_member m;
        const char *field;
        if (!read_member(body, version, &m, &field)) {
            return kp_fail(err, body, field);
        }
    }
    kp_fw_span(&mark, body, &out->members);
    if (!kp_fw_tags(body, flex)) {
        return kp_fail(err, body, "tagged_fields");
    }
    if (!kr_expect_done(body)) {
        return kp_fail(err, body, "trailing bytes");
    }
    return KP_OK;
}

void kp_join_group_members(const struct kp_join_group_resp *resp,
                           struct kp_join_group_member_iter *out_it)
{
    out_it->rest = resp->members;
    out_it->left = resp->num_members;
    out_it->version = resp->version;
}

bool kp_join_group_next_member(struct kp_join_group_member_iter *it,
                               struct kp_join_group_member *out)
{
    const char *field;
    if (it->left == 0 || !read_member(&it->rest, it->version, out, &field)) {
        return false;
    }
    it->left--;
    return true;
}
