// api.c: the table of APIs, the header rules and the header codecs.
#include "proto/api.h"

// Ranges follow what issue 3 asks for; the first flexible version of each API comes from the
// Kafka message schemas ("flexibleVersions").
static const struct kp_api_info apis[] = {
    {KP_API_PRODUCE, "Produce", 3, 9, 9},
    {KP_API_FETCH, "Fetch", 4, 12, 12},
    {KP_API_LIST_OFFSETS, "ListOffsets", 1, 7, 6},
    {KP_API_METADATA, "Metadata", 1, 12, 9},
    {KP_API_OFFSET_COMMIT, "OffsetCommit", 2, 9, 8},
    {KP_API_OFFSET_FETCH, "OffsetFetch", 1, 8, 6},
    {KP_API_FIND_COORDINATOR, "FindCoordinator", 0, 4, 3},
    {KP_API_JOIN_GROUP, "JoinGroup", 2, 9, 6},
    {KP_API_HEARTBEAT, "Heartbeat", 0, 4, 4},
    {KP_API_LEAVE_GROUP, "LeaveGroup", 0, 5, 4},
    {KP_API_SYNC_GROUP, "SyncGroup", 0, 5, 4},
    {KP_API_SASL_HANDSHAKE, "SaslHandshake", 0, 1, INT16_MAX},
    {KP_API_API_VERSIONS, "ApiVersions", 0, 3, 3},
    {KP_API_SASL_AUTHENTICATE, "SaslAuthenticate", 0, 2, 2},
    {KP_API_CREATE_TOPICS, "CreateTopics", 2, 7, 5},
    {KP_API_CONSUMER_GROUP_HEARTBEAT, "ConsumerGroupHeartbeat", 0, 1, 0},
};

const struct kp_api_info *kp_api_all(size_t *out_n)
{
    *out_n = sizeof apis / sizeof apis[0];
    return apis;
}

const struct kp_api_info *kp_api_info_get(int16_t key)
{
    for (size_t i = 0; i < sizeof apis / sizeof apis[0]; i++) {
        if (apis[i].key == key) {
            return &apis[i];
        }
    }
    return NULL;
}

const char *kp_api_name(int16_t key)
{
    const struct kp_api_info *a = kp_api_info_get(key);
    return a ? a->name : "Unknown";
}

bool kp_api_is_flexible(int16_t key, int16_t version)
{
    const struct kp_api_info *a = kp_api_info_get(key);
    return a && version >= a->first_flexible;
}

int kp_req_hdr_version(int16_t key, int16_t version)
{
    return kp_api_is_flexible(key, version) ? 2 : 1;
}

int kp_resp_hdr_version(int16_t key, int16_t version)
{
    if (key == KP_API_API_VERSIONS) {
        return 0;
    }
    return kp_api_is_flexible(key, version) ? 1 : 0;
}

bool kp_req_hdr_write(kw *w, int16_t key, int16_t version, int32_t correlation_id,
                      const char *client_id)
{
    // ClientId stays an int16-length string even in header v2, so that any broker can read the
    // header of any request.
    bool ok =
        kw_i16(w, key) && kw_i16(w, version) && kw_i32(w, correlation_id) && kw_str(w, client_id);
    if (ok && kp_req_hdr_version(key, version) == 2) {
        ok = kw_empty_tags(w);
    }
    return ok;
}

bool kp_req_begin(kw *w, int16_t key, int16_t version, int32_t correlation_id,
                  const char *client_id, size_t *out_pos)
{
    return kw_begin_size32(w, out_pos) &&
           kp_req_hdr_write(w, key, version, correlation_id, client_id);
}

bool kp_req_end(kw *w, size_t pos)
{
    return kw_end_size32(w, pos);
}

enum kp_status kp_resp_hdr_parse(kr *frame, int16_t key, int16_t version, int32_t *out_corr_id,
                                 struct kp_err *err)
{
    if (!kr_i32(frame, out_corr_id)) {
        return kp_fail(err, frame, "header.correlation_id");
    }
    if (kp_resp_hdr_version(key, version) == 1 && !kr_skip_tags(frame)) {
        return kp_fail(err, frame, "header.tagged_fields");
    }
    return KP_OK;
}

enum kp_status kp_req_hdr_parse(kr *frame, struct kp_req_hdr *out, struct kp_err *err)
{
    if (!kr_i16(frame, &out->api_key) || !kr_i16(frame, &out->api_version) ||
        !kr_i32(frame, &out->correlation_id)) {
        return kp_fail(err, frame, "header");
    }
    if (!kr_str(frame, &out->client_id, &out->client_id_null)) {
        return kp_fail(err, frame, "header.client_id");
    }
    if (kp_req_hdr_version(out->api_key, out->api_version) == 2 && !kr_skip_tags(frame)) {
        return kp_fail(err, frame, "header.tagged_fields");
    }
    return KP_OK;
}
