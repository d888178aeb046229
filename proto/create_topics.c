// create_topics.c: CreateTopics (API 19), see create_topics.h.
#include "proto/create_topics.h"

#include "proto/api.h"
#include "proto/flexwire.h"

#include <string.h>

#define MAX_TOPICS 10000u
#define MAX_CONFIGS 10000u

static bool write_topic(kw *w, bool flex, const struct kp_create_topics_topic_req *t)
{
    int32_t nc;
    if (!kp_fw_wstr_nn(w, flex, t->name) || !kw_i32(w, t->num_partitions) ||
        !kw_i16(w, t->replication_factor) || !kp_fw_warray(w, flex, 0) ||
        !kp_fw_count(w, t->num_configs, &nc) || !kp_fw_warray(w, flex, nc)) {
        return false;
    }
    for (size_t i = 0; i < t->num_configs; i++) {
        if (!kp_fw_wstr_nn(w, flex, t->configs[i].name) ||
            !kp_fw_wstr(w, flex, t->configs[i].value) || !kp_fw_wtags(w, flex)) {
            return false;
        }
    }
    return kp_fw_wtags(w, flex);
}

bool kp_create_topics_req_write(kw *w, int16_t version, const struct kp_create_topics_req *req)
{
    if (!kp_fw_version_ok(KP_API_CREATE_TOPICS, version)) {
        return kw_fail(w);
    }
    bool flex = kp_api_is_flexible(KP_API_CREATE_TOPICS, version);
    int32_t n;
    if (!kp_fw_count(w, req->num_topics, &n) || !kp_fw_warray(w, flex, n)) {
        return false;
    }
    for (size_t i = 0; i < req->num_topics; i++) {
        if (!write_topic(w, flex, &req->topics[i])) {
            return false;
        }
    }
    return kw_i32(w, req->timeout_ms) && kw_bool(w, req->validate_only) && kp_fw_wtags(w, flex);
}

// skip_configs reads the v5+ Configs array (nullable) of one topic result.
static bool skip_configs(kr *r)
{
    uint32_t n;
    bool null = false;
    if (!kp_fw_array(r, true, 5, MAX_CONFIGS, &n, &null)) {
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        kr name, value;
        bool vnull, ro, sens;
        int8_t src;
        if (!kp_fw_str(r, true, &name, NULL) || !kp_fw_str(r, true, &value, &vnull) ||
            !kr_bool(r, &ro) || !kr_i8(r, &src) || !kr_bool(r, &sens) || !kp_fw_tags(r, true)) {
            return false;
        }
    }
    return true;
}

// read_result reads one topic result; |field| names what failed.
static bool read_result(kr *r, int16_t version, struct kp_create_topics_result *out,
                        const char **field)
{
    bool flex = version >= 5;
    *out = (struct kp_create_topics_result){.num_partitions = -1};
    uint8_t id[16];
    int16_t rf;
    if (!kp_fw_str(r, flex, &out->name, NULL)) {
        return *field = "topics.name", false;
    }
    if (version >= 7 && !kr_uuid(r, id)) {
        return *field = "topics.topic_id", false;
    }
    if (!kr_i16(r, &out->error_code) ||
        !kp_fw_str(r, flex, &out->error_message, &out->error_message_null)) {
        return *field = "topics.error", false;
    }
    if (version >= 5 && (!kr_i32(r, &out->num_partitions) || !kr_i16(r, &rf))) {
        return *field = "topics.num_partitions", false;
    }
    if (version >= 5 && !skip_configs(r)) {
        return *field = "topics.configs", false;
    }
    if (!kp_fw_tags(r, flex)) {
        return *field = "topics.tagged_fields", false;
    }
    return true;
}

enum kp_status kp_create_topics_resp_parse(kr *body, int16_t version,
                                           struct kp_create_topics_resp *out, struct kp_err *err)
{
    if (!kp_fw_version_ok(KP_API_CREATE_TOPICS, version)) {
        return kp_fail_as(err, body, "version", KP_ERR_VERSION);
    }
    bool flex = kp_api_is_flexible(KP_API_CREATE_TOPICS, version);
    *out = (struct kp_create_topics_resp){.version = version};
    if (!kr_i32(body, &out->throttle_time_ms)) {
        return kp_fail(err, body, "throttle_time_ms");
    }
    if (!kp_fw_array(body, flex, flex ? 5 : 6, MAX_TOPICS, &out->num_topics, NULL)) {
        return kp_fail(err, body, "topics");
    }
    kr mark = *body;
    for (uint32_t i = 0; i < out->num_topics; i++) {
        struct kp_create_topics_result t;
        const char *field = "topics";
        if (!read_result(body, version, &t, &field)) {
            return kp_fail(err, body, field);
        }
    }
    kp_fw_span(&mark, body, &out->topics);
    if (!kp_fw_tags(body, flex)) {
        return kp_fail(err, body, "tagged_fields");
    }
    if (!kr_expect_done(body)) {
        return kp_fail(err, body, "end of body");
    }
    return KP_OK;
}

void kp_create_topics_results(const struct kp_create_topics_resp *resp,
                              struct kp_create_topics_iter *out_it)
{
    *out_it = (struct kp_create_topics_iter){resp->topics, resp->num_topics, resp->version};
}

bool kp_create_topics_next(struct kp_create_topics_iter *it, struct kp_create_topics_result *out)
{
    const char *field = NULL;
    if (it->left == 0 || !read_result(&it->rest, it->version, out, &field)) {
        return false;
    }
    it->left--;
    return true;
}
