// list_offsets.c: ListOffsets (API 2) v1-7, checked against ListOffsetsRequest.json and
// ListOffsetsResponse.json.
#include "proto/list_offsets.h"

#include "proto/api.h"
#include "proto/flexwire.h"

#define MAX_ENTRIES (1u << 20)
// Smallest encodings: topic (empty name, empty partitions), partition (index, error, timestamp,
// offset).
#define MIN_TOPIC_LEN 2
#define MIN_PARTITION_LEN 22

static bool timestamp_ok(int16_t version, int64_t ts)
{
    if (ts >= 0 || ts == KP_OFFSET_LATEST || ts == KP_OFFSET_EARLIEST) {
        return true;
    }
    return ts == KP_OFFSET_MAX_TIMESTAMP && version >= 7;
}

static bool write_partitions(kw *w, int16_t version, bool flex,
                             const struct kp_list_offsets_req_topic *t)
{
    int32_t n;
    if (!kp_fw_count(w, t->num_partitions, &n) || !kp_fw_warray(w, flex, n)) {
        return false;
    }
    for (size_t i = 0; i < t->num_partitions; i++) {
        const struct kp_list_offsets_req_partition *p = &t->partitions[i];
        if (!timestamp_ok(version, p->timestamp) || !kw_i32(w, p->partition_index) ||
            (version >= 4 && !kw_i32(w, p->current_leader_epoch)) || !kw_i64(w, p->timestamp) ||
            !kp_fw_wtags(w, flex)) {
            return kw_fail(w);
        }
    }
    return true;
}

bool kp_list_offsets_req_write(kw *w, int16_t version, const struct kp_list_offsets_req *req)
{
    if (!kp_fw_version_ok(KP_API_LIST_OFFSETS, version) ||
        (version < 2 && req->isolation_level != KP_READ_UNCOMMITTED)) {
        return kw_fail(w);
    }
    bool flex = kp_api_is_flexible(KP_API_LIST_OFFSETS, version);
    if (!kw_i32(w, -1) || (version >= 2 && !kw_i8(w, req->isolation_level))) {
        return false;
    }
    int32_t n;
    if (!kp_fw_count(w, req->num_topics, &n) || !kp_fw_warray(w, flex, n)) {
        return false;
    }
    for (size_t i = 0; i < req->num_topics; i++) {
        const struct kp_list_offsets_req_topic *t = &req->topics[i];
        if (!kp_fw_wstr_nn(w, flex, t->name) || !write_partitions(w, version, flex, t) ||
            !kp_fw_wtags(w, flex)) {
            return false;
        }
    }
    return kp_fw_wtags(w, flex);
}

static bool read_partition(kr *r, int16_t version, struct kp_list_offsets_partition *out,
                           const char **field)
{
    *out = (struct kp_list_offsets_partition){.leader_epoch = -1};
    *field = "topics.partitions.partition_index";
    if (!kr_i32(r, &out->partition_index)) {
        return false;
    }
    *field = "topics.partitions.error_code";
    if (!kr_i16(r, &out->error_code)) {
        return false;
    }
    *field = "topics.partitions.timestamp";
    if (!kr_i64(r, &out->timestamp)) {
        return false;
    }
    *field = "topics.partitions.offset";
    if (!kr_i64(r, &out->offset)) {
        return false;
    }
    *field = "topics.partitions.leader_epoch";
    if (version >= 4 && !kr_i32(r, &out->leader_epoch)) {
        return false;
    }
    *field = "topics.partitions.tagged_fields";
    return kp_fw_tags(r, kp_api_is_flexible(KP_API_LIST_OFFSETS, version));
}

static bool read_topic(kr *r, int16_t version, struct kp_list_offsets_topic *out,
                       const char **field)
{
    bool flex = kp_api_is_flexible(KP_API_LIST_OFFSETS, version);
    *field = "topics.name";
    if (!kp_fw_str(r, flex, &out->name, NULL)) {
        return false;
    }
    *field = "topics.partitions";
    if (!kp_fw_array(r, flex, MIN_PARTITION_LEN, MAX_ENTRIES, &out->num_partitions, NULL)) {
        return false;
    }
    kr mark = *r;
    for (uint32_t i = 0; i < out->num_partitions; i++) {
        struct kp_list_offsets_partition p;
        if (!read_partition(r, version, &p, field)) {
            return false;
        }
    }
    kr_sub(&mark, &out->partitions, kr_left(&mark) - kr_left(r));
    *field = "topics.tagged_fields";
    return kp_fw_tags(r, flex);
}

enum kp_status kp_list_offsets_resp_parse(kr *body, int16_t version,
                                          struct kp_list_offsets_resp *out, struct kp_err *err)
{
    if (!kp_fw_version_ok(KP_API_LIST_OFFSETS, version)) {
        return kp_fail_as(err, body, "version", KP_ERR_VERSION);
    }
    bool flex = kp_api_is_flexible(KP_API_LIST_OFFSETS, version);
    *out = (struct kp_list_offsets_resp){.version = version};
    if (version >= 2 && !kr_i32(body, &out->throttle_time_ms)) {
        return kp_fail(err, body, "throttle_time_ms");
    }
    if (!kp_fw_array(body, flex, MIN_TOPIC_LEN, MAX_ENTRIES, &out->num_topics, NULL)) {
        return kp_fail(err, body, "topics");
    }
    kr mark = *body;
    for (uint32_t i = 0; i < out->num_topics; i++) {
        struct kp_list_offsets_topic t;
        const char *field;
        if (!read_topic(body, version, &t, &field)) {
            return kp_fail(err, body, field);
        }
    }
    kr_sub(&mark, &out->topics, kr_left(&mark) - kr_left(body));
    if (!kp_fw_tags(body, flex)) {
        return kp_fail(err, body, "tagged_fields");
    }
    if (!kr_expect_done(body)) {
        return kp_fail(err, body, "end of body");
    }
    return KP_OK;
}

void kp_list_offsets_topics(const struct kp_list_offsets_resp *resp,
                            struct kp_list_offsets_iter *out_it)
{
    *out_it = (struct kp_list_offsets_iter){resp->topics, resp->num_topics, resp->version};
}

bool kp_list_offsets_next_topic(struct kp_list_offsets_iter *it, struct kp_list_offsets_topic *out)
{
    const char *field;
    if (it->left == 0 || !read_topic(&it->rest, it->version, out, &field)) {
        it->left = 0;
        return false;
    }
    it->left--;
    return true;
}

void kp_list_offsets_partitions(const struct kp_list_offsets_iter *topics,
                                const struct kp_list_offsets_topic *topic,
                                struct kp_list_offsets_iter *out_it)
{
    *out_it =
        (struct kp_list_offsets_iter){topic->partitions, topic->num_partitions, topics->version};
}

bool kp_list_offsets_next_partition(struct kp_list_offsets_iter *it,
                                    struct kp_list_offsets_partition *out)
{
    const char *field;
    if (it->left == 0 || !read_partition(&it->rest, it->version, out, &field)) {
        it->left = 0;
        return false;
    }
    it->left--;
    return true;
}
