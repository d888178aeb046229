// offset_commit.c: OffsetCommit (API 8), checked against OffsetCommitRequest.json and
// OffsetCommitResponse.json.
#include "proto/offset_commit.h"

#include "proto/api.h"
#include "proto/flexwire.h"

static bool write_partitions(kw *w, int16_t version, bool flex,
                             const struct kp_offset_commit_req_topic *t)
{
    int32_t n;
    if (!kp_fw_count(w, t->num_partitions, &n) || !kp_fw_warray(w, flex, n)) {
        return false;
    }
    for (size_t i = 0; i < t->num_partitions; i++) {
        const struct kp_offset_commit_req_partition *p = &t->partitions[i];
        if (!kw_i32(w, p->partition_index) || !kw_i64(w, p->committed_offset)) {
            return false;
        }
        if (version >= 6 && !kw_i32(w, p->committed_leader_epoch)) {
            return false;
        }
        if (!kp_fw_wstr(w, flex, p->committed_metadata) || !kp_fw_wtags(w, flex)) {
            return false;
        }
    }
    return true;
}

static bool write_topics(kw *w, int16_t version, bool flex, const struct kp_offset_commit_req *req)
{
    int32_t n;
    if (!kp_fw_count(w, req->num_topics, &n) || !kp_fw_warray(w, flex, n)) {
        return false;
    }
    for (size_t i = 0; i < req->num_topics; i++) {
        const struct kp_offset_commit_req_topic *t = &req->topics[i];
        if (!kp_fw_wstr_nn(w, flex, t->name) || !write_partitions(w, version, flex, t) ||
            !kp_fw_wtags(w, flex)) {
            return false;
        }
    }
    return true;
}

bool kp_offset_commit_req_write(kw *w, int16_t version, const struct kp_offset_commit_req *req)
{
    if (!kp_fw_version_ok(KP_API_OFFSET_COMMIT, version)) {
        return kw_fail(w);
    }
    bool flex = kp_api_is_flexible(KP_API_OFFSET_COMMIT, version);
    if (!kp_fw_wstr_nn(w, flex, req->group_id) || !kw_i32(w, req->generation_id) ||
        !kp_fw_wstr_nn(w, flex, req->member_id)) {
        return false;
    }
    if (version >= 7) {
        if (!kp_fw_wstr(w, flex, req->group_instance_id)) {
            return false;
        }
    } else if (req->group_instance_id) {
        return kw_fail(w);
    }
    if (version <= 4 && !kw_i64(w, req->retention_time_ms)) {
        return false;
    }
    return write_topics(w, version, flex, req) && kp_fw_wtags(w, flex);
}

static bool read_partition(kr *r, bool flex, struct kp_offset_commit_partition *out,
                           const char **field)
{
    *field = "topics.partitions.partition_index";
    if (!kr_i32(r, &out->partition_index)) {
        return false;
    }
    *field = "topics.partitions.error_code";
    if (!kr_i16(r, &out->error_code)) {
        return false;
    }
    *field = "topics.partitions.tagged_fields";
    return kp_fw_tags(r, flex);
}

static bool read_topic(kr *r, bool flex, struct kp_offset_commit_topic *out, const char **field)
{
    *field = "topics.name";
    if (!kp_fw_str(r, flex, &out->name, NULL)) {
        return false;
    }
    *field = "topics.partitions";
    if (!kp_fw_array(r, flex, flex ? 7 : 6, UINT32_MAX, &out->num_partitions, NULL)) {
        return false;
    }
    kr mark = *r;
    for (uint32_t i = 0; i < out->num_partitions; i++) {
        struct kp_offset_commit_partition p;
        if (!read_partition(r, flex, &p, field)) {
            return false;
        }
    }
    kp_fw_span(&mark, r, &out->partitions);
    *field = "topics.tagged_fields";
    return kp_fw_tags(r, flex);
}

enum kp_status kp_offset_commit_resp_parse(kr *body, int16_t version,
                                           struct kp_offset_commit_resp *out, struct kp_err *err)
{
    if (!kp_fw_version_ok(KP_API_OFFSET_COMMIT, version)) {
        return kp_fail_as(err, body, "version", KP_ERR_VERSION);
    }
    bool flex = kp_api_is_flexible(KP_API_OFFSET_COMMIT, version);
    *out = (struct kp_offset_commit_resp){.version = version};
    if (version >= 3 && !kr_i32(body, &out->throttle_time_ms)) {
        return kp_fail(err, body, "throttle_time_ms");
    }
    if (!kp_fw_array(body, flex, flex ? 3 : 6, UINT32_MAX, &out->num_topics, NULL)) {
        return kp_fail(err, body, "topics");
    }
    kr mark = *body;
    for (uint32_t i = 0; i < out->num_topics; i++) {
        struct kp_offset_commit_topic t;
        const char *field;
        if (!read_topic(body, flex, &t, &field)) {
            return kp_fail(err, body, field);
        }
    }
    kp_fw_span(&mark, body, &out->topics);
    if (!kp_fw_tags(body, flex)) {
        return kp_fail(err, body, "tagged_fields");
    }
    if (!kr_expect_done(body)) {
        return kp_fail(err, body, "trailing bytes");
    }
    return KP_OK;
}

void kp_offset_commit_topics(const struct kp_offset_commit_resp *resp,
                             struct kp_offset_commit_iter *out_it)
{
    out_it->rest = resp->topics;
    out_it->left = resp->num_topics;
    out_it->version = resp->version;
}

bool kp_offset_commit_next_topic(struct kp_offset_commit_iter *it,
                                 struct kp_offset_commit_topic *out)
{
    const char *field;
    bool flex = kp_api_is_flexible(KP_API_OFFSET_COMMIT, it->version);
    if (it->left == 0 || !read_topic(&it->rest, flex, out, &field)) {
        return false;
    }
    it->left--;
    return true;
}

void kp_offset_commit_partitions(const struct kp_offset_commit_iter *topics,
                                 const struct kp_offset_commit_topic *topic,
                                 struct kp_offset_commit_iter *out_it)
{
    out_it->rest = topic->partitions;
    out_it->left = topic->num_partitions;
    out_it->version = topics->version;
}

bool kp_offset_commit_next_partition(struct kp_offset_commit_iter *it,
                                     struct kp_offset_commit_partition *out)
{
    const char *field;
    bool flex = kp_api_is_flexible(KP_API_OFFSET_COMMIT, it->version);
    if (it->left == 0 || !read_partition(&it->rest, flex, out, &field)) {
        return false;
    }
    it->left--;
    return true;
}
