// find_coordinator.c: FindCoordinator (API 10) v0-4, checked against FindCoordinatorRequest.json
// and FindCoordinatorResponse.json.
#include "proto/find_coordinator.h"

#include "proto/api.h"
#include "proto/flexwire.h"

#define MAX_COORDINATORS (1u << 16)
// Smallest v4 entry: empty key, node id, empty host, port, error code, null message, tags.
#define MIN_COORD_LEN 14

bool kp_find_coordinator_req_write(kw *w, int16_t version,
                                   const struct kp_find_coordinator_req *req)
{
    if (!kp_fw_version_ok(KP_API_FIND_COORDINATOR, version) ||
        (version == 0 && req->key_type != KP_COORDINATOR_GROUP) ||
        (version < 4 && req->num_keys != 1)) {
        return kw_fail(w);
    }
    bool flex = kp_api_is_flexible(KP_API_FIND_COORDINATOR, version);
    if (version < 4 && !kp_fw_wstr_nn(w, flex, req->keys[0])) {
        return false;
    }
    if (version >= 1 && !kw_i8(w, req->key_type)) {
        return false;
    }
    if (version >= 4) {
        int32_t n;
        if (!kp_fw_count(w, req->num_keys, &n) || !kp_fw_warray(w, flex, n)) {
            return false;
        }
        for (size_t i = 0; i < req->num_keys; i++) {
            if (!kp_fw_wstr_nn(w, flex, req->keys[i])) {
                return false;
            }
        }
    }
    return kp_fw_wtags(w, flex);
}

// read_coord reads one v4 Coordinators entry; |field| names what failed.
static bool read_coord(kr *r, struct kp_find_coordinator_coord *out, const char **field)
{
    *field = "coordinators.key";
    if (!kr_compact_str(r, &out->key, NULL)) {
        return false;
    }
    *field = "coordinators.node_id";
    if (!kr_i32(r, &out->node_id)) {
        return false;
    }
    *field = "coordinators.host";
    if (!kr_compact_str(r, &out->host, NULL)) {
        return false;
    }
    *field = "coordinators.port";
    if (!kr_i32(r, &out->port)) {
        return false;
    }
    *field = "coordinators.error_code";
    if (!kr_i16(r, &out->error_code)) {
        return false;
    }
    *field = "coordinators.error_message";
    if (!kr_compact_str(r, &out->error_message, &out->error_message_null)) {
        return false;
    }
    *field = "coordinators.tagged_fields";
    return kr_skip_tags(r);
}

static enum kp_status parse_legacy(kr *body, int16_t version, bool flex,
                                   struct kp_find_coordinator_coord *c, struct kp_err *err)
{
    c->error_message_null = true;
    if (!kr_i16(body, &c->error_code)) {
        return kp_fail(err, body, "error_code");
    }
    if (version >= 1 && !kp_fw_str(body, flex, &c->error_message, &c->error_message_null)) {
        return kp_fail(err, body, "error_message");
    }
    if (!kr_i32(body, &c->node_id)) {
        return kp_fail(err, body, "node_id");
    }
    if (!kp_fw_str(body, flex, &c->host, NULL)) {
        return kp_fail(err, body, "host");
    }
    if (!kr_i32(body, &c->port)) {
        return kp_fail(err, body, "port");
    }
    return KP_OK;
}

static enum kp_status parse_batched(kr *body, struct kp_find_coordinator_resp *out,
                                    struct kp_err *err)
{
    if (!kr_compact_array_count(body, MIN_COORD_LEN, MAX_COORDINATORS, &out->num_coordinators,
                                NULL)) {
        return kp_fail(err, body, "coordinators");
    }
    kr mark = *body;
    for (uint32_t i = 0; i < out->num_coordinators; i++) {
        struct kp_find_coordinator_coord c;
        const char *field;
        if (!read_coord(body, &c, &field)) {
            return kp_fail(err, body, field);
        }
    }
    kr_sub(&mark, &out->coordinators, kr_left(&mark) - kr_left(body));
    return KP_OK;
}

enum kp_status kp_find_coordinator_resp_parse(kr *body, int16_t version,
                                              struct kp_find_coordinator_resp *out,
                                              struct kp_err *err)
{
    if (!kp_fw_version_ok(KP_API_FIND_COORDINATOR, version)) {
        return kp_fail_as(err, body, "version", KP_ERR_VERSION);
    }
    bool flex = kp_api_is_flexible(KP_API_FIND_COORDINATOR, version);
    *out = (struct kp_find_coordinator_resp){.version = version};
    if (version >= 1 && !kr_i32(body, &out->throttle_time_ms)) {
        return kp_fail(err, body, "throttle_time_ms");
    }
    enum kp_status st;
    if (version >= 4) {
        st = parse_batched(body, out, err);
    } else {
        out->num_coordinators = 1;
        st = parse_legacy(body, version, flex, &out->legacy, err);
    }
    if (st != KP_OK) {
        return st;
    }
    if (!kp_fw_tags(body, flex)) {
        return kp_fail(err, body, "tagged_fields");
    }
    if (!kr_expect_done(body)) {
        return kp_fail(err, body, "end of body");
    }
    return KP_OK;
}

void kp_find_coordinator_coordinators(const struct kp_find_coordinator_resp *resp,
                                      struct kp_find_coordinator_iter *out_it)
{
    *out_it = (struct kp_find_coordinator_iter){resp->coordinators, resp->num_coordinators,
                                                resp->version, resp->legacy};
}

bool kp_find_coordinator_next_coordinator(struct kp_find_coordinator_iter *it,
                                          struct kp_find_coordinator_coord *out)
{
    if (it->left == 0) {
        return false;
    }
    if (it->version < 4) {
        *out = it->legacy;
        it->left = 0;
        return true;
    }
    const char *field;
    if (!read_coord(&it->rest, out, &field)) {
        it->left = 0;
        return false;
    }
    it->left--;
    return true;
}
