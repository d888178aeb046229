// offset_fetch.c: OffsetFetch (API 9), checked against OffsetFetchRequest.json and
// OffsetFetchResponse.json.
#include "proto/offset_fetch.h"

#include "proto/api.h"
#include "proto/flexwire.h"

static bool write_topics(kw *w, int16_t version, bool flex,
                         const struct kp_offset_fetch_req_group *g)
{
    if (g->all_topics) {
        return version >= 2 ? kp_fw_warray(w, flex, -1) : kw_fail(w);
    }
    int32_t n;
    if (!kp_fw_count(w, g->num_topics, &n) || !kp_fw_warray(w, flex, n)) {
        return false;
    }
    for (size_t i = 0; i < g->num_topics; i++) {
        const struct kp_offset_fetch_req_topic *t = &g->topics[i];
        int32_t np;
        if (!kp_fw_wstr_nn(w, flex, t->name) || !kp_fw_count(w, t->num_partitions, &np) ||
            !kp_fw_warray(w, flex, np)) {
            return false;
        }
        for (size_t j = 0; j < t->num_partitions; j++) {
            if (!kw_i32(w, t->partition_indexes[j])) {
                return false;
            }
        }
        if (!kp_fw_wtags(w, flex)) {
            return false;
        }
    }
    return true;
}

static bool write_groups(kw *w, int16_t version, bool flex, const struct kp_offset_fetch_req *req)
{
    int32_t n;
    if (!kp_fw_count(w, req->num_groups, &n) || !kp_fw_warray(w, flex, n)) {
        return false;
    }
    for (size_t i = 0; i < req->num_groups; i++) {
        const struct kp_offset_fetch_req_group *g = &req->groups[i];
        if (!kp_fw_wstr_nn(w, flex, g->group_id) || !write_topics(w, version, flex, g) ||
            !kp_fw_wtags(w, flex)) {
            return false;
        }
    }
    return true;
}

bool kp_offset_fetch_req_write(kw *w, int16_t version, const struct kp_offset_fetch_req *req)
{
    if (!kp_fw_version_ok(KP_API_OFFSET_FETCH, version) || (req->require_stable && version < 7)) {
        return kw_fail(w);
    }
    bool flex = kp_api_is_flexible(KP_API_OFFSET_FETCH, version);
    if (version >= 8) {
        if (!write_groups(w, version, flex, req)) {
            return false;
        }
    } else {
        if (req->num_groups != 1) {
            return kw_fail(w);
        }
        if (!kp_fw_wstr_nn(w, flex, req->groups[0].group_id) ||
            !write_topics(w, version, flex, &req->groups[0])) {
            return false;
        }
    }
    if (version >= 7 && !kw_bool(w, req->require_stable)) {
        return false;
    }
    return kp_fw_wtags(w, flex);
}

static bool read_partition(kr *r, int16_t version, bool flex, struct kp_offset_fetch_partition *out,
                           const char **field)
{
    *field = "topics.partitions.partition_index";
    if (!kr_i32(r, &out->partition_index) || !kr_i64(r, &out->committed_offset)) {
        return false;
    }
    out->committed_leader_epoch = -1;
    *field = "topics.partitions.committed_leader_epoch";
    if (version >= 5 && !kr_i32(r, &out->committed_leader_epoch)) {
        return false;
    }
    *field = "topics.partitions.metadata";
    if (!kp_fw_str(r, flex, &out->metadata, &out->metadata_null)) {
        return false;
    }
    *field = "topics.partitions.error_code";
    if (!kr_i16(r, &out->error_code)) {
        return false;
    }
    *field = "topics.partitions.tagged_fields";
    return kp_fw_tags(r, flex);
}

static size_t partition_min_len(int16_t version, bool flex)
{
    if (flex) {
        return 20; // index, offset, epoch, metadata (1), error, tags (1)
    }
    return version >= 5 ? 20 : 16;
}

static bool read_topic(kr *r, int16_t version, bool flex, struct kp_offset_fetch_topic *out,
                       const char **field)
{
    *field = "topics.name";
    if (!kp_fw_str(r, flex, &out->name, NULL)) {
        return false;
    }
    *field = "topics.partitions";
    if (!kp_fw_array(r, flex, partition_min_len(version, flex), UINT32_MAX, &out->num_partitions,
                     NULL)) {
        return false;
    }
    kr mark = *r;
    for (uint32_t i = 0; i < out->num_partitions; i++) {
        struct kp_offset_fetch_partition p;
        if (!read_partition(r, version, flex, &p, field)) {
            return false;
        }
    }
    kp_fw_span(&mark, r, &out->partitions);
    *field = "topics.tagged_fields";
    return kp_fw_tags(r, flex);
}

// read_topics reads a topics array into |out| (count and view).
static bool read_topics(kr *r, int16_t version, bool flex, struct kp_offset_fetch_group *out,
                        const char **field)
{
    // Not nullable in the schema, but the librdkafka mock answers a request for all topics
    // (a null topics array, v2+) with a null array; read it as no topics.
    bool was_null;
    *field = "topics";
    if (!kp_fw_array(r, flex, flex ? 3 : 6, UINT32_MAX, &out->num_topics, &was_null)) {
        return false;
    }
    kr mark = *r;
    for (uint32_t i = 0; i < out->num_topics; i++) {
        struct kp_offset_fetch_topic t;
        if (!read_topic(r, version, flex, &t, field)) {
            return false;
        }
    }
    kp_fw_span(&mark, r, &out->topics);
    return true;
}

static bool read_group(kr *r, int16_t version, bool flex, struct kp_offset_fetch_group *out,
                       const char **field)
{
    *field = "groups.group_id";
    if (!kp_fw_str(r, flex, &out->group_id, NULL) || !read_topics(r, version, flex, out, field)) {
        return false;
    }
    *field = "groups.error_code";
    if (!kr_i16(r, &out->error_code)) {
        return false;
    }
    *field = "groups.tagged_fields";
    return kp_fw_tags(r, flex);
}

static bool parse_body(kr *body, int16_t version, bool flex, struct kp_offset_fetch_resp *out,
                       const char **field)
{
    if (version < 8) {
        out->num_groups = 1;
        if (!read_topics(body, version, flex, &out->legacy, field)) {
            return false;
        }
        *field = "error_code";
        return version < 2 || kr_i16(body, &out->legacy.error_code);
    }
    *field = "groups";
    if (!kp_fw_array(body, flex, 5, UINT32_MAX, &out->num_groups, NULL)) {
        return false;
    }
    kr mark = *body;
    for (uint32_t i = 0; i < out->num_groups; i++) {
        struct kp_offset_fetch_group g;
        if (!read_group(body, version, flex, &g, field)) {
            return false;
        }
    }
    kp_fw_span(&mark, body, &out->groups);
    return true;
}

enum kp_status kp_offset_fetch_resp_parse(kr *body, int16_t version,
                                          struct kp_offset_fetch_resp *out, struct kp_err *err)
{
    if (!kp_fw_version_ok(KP_API_OFFSET_FETCH, version)) {
        return kp_fail_as(err, body, "version", KP_ERR_VERSION);
    }
    bool flex = kp_api_is_flexible(KP_API_OFFSET_FETCH, version);
    *out = (struct kp_offset_fetch_resp){.version = version};
    if (version >= 3 && !kr_i32(body, &out->throttle_time_ms)) {
        return kp_fail(err, body, "throttle_time_ms");
    }
    const char *field;
    if (!parse_body(body, version, flex, out, &field)) {
        return kp_fail(err, body, field);
    }
    if (!kp_fw_tags(body, flex)) {
        return kp_fail(err, body, "tagged_fields");
    }
    if (!kr_expect_done(body)) {
        return kp_fail(err, body, "trailing bytes");
    }
    return KP_OK;
}

void kp_offset_fetch_groups(const struct kp_offset_fetch_resp *resp,
                            struct kp_offset_fetch_iter *out_it)
{
    out_it->rest = resp->groups;
    out_it->left = resp->num_groups;
    out_it->version = resp->version;
    out_it->legacy = resp->version < 8 ? &resp->legacy : NULL;
}

bool kp_offset_fetch_next_group(struct kp_offset_fetch_iter *it, struct kp_offset_fetch_group *out)
{
    if (it->left == 0) {
        return false;
    }
    if (it->legacy) {
        *out = *it->legacy;
    } else {
        const char *field;
        if (!read_group(&it->rest, it->version, true, out, &field)) {
            return false;
        }
    }
    it->left--;
    return true;
}

void kp_offset_fetch_topics(const struct kp_offset_fetch_iter *groups,
                            const struct kp_offset_fetch_group *group,
                            struct kp_offset_fetch_iter *out_it)
{
    *out_it = (struct kp_offset_fetch_iter){
        .rest = group->topics, .left = group->num_topics, .version = groups->version};
}

bool kp_offset_fetch_next_topic(struct kp_offset_fetch_iter *it, struct kp_offset_fetch_topic *out)
{
    const char *field;
    bool flex = kp_api_is_flexible(KP_API_OFFSET_FETCH, it->version);
    if (it->left == 0 || !read_topic(&it->rest, it->version, flex, out, &field)) {
        return false;
    }
    it->left--;
    return true;
}

void kp_offset_fetch_partitions(const struct kp_offset_fetch_iter *topics,
                                const struct kp_offset_fetch_topic *topic,
                                struct kp_offset_fetch_iter *out_it)
{
    *out_it = (struct kp_offset_fetch_iter){
        .rest = topic->partitions, .left = topic->num_partitions, .version = topics->version};
}

bool kp_offset_fetch_next_partition(struct kp_offset_fetch_iter *it,
                                    struct kp_offset_fetch_partition *out)
{
    const char *field;
    bool flex = kp_api_is_flexible(KP_API_OFFSET_FETCH, it->version);
    if (it->left == 0 || !read_partition(&it->rest, it->version, flex, out, &field)) {
        return false;
    }
    it->left--;
    return true;
}
