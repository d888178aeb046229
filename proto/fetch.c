// fetch.c: Fetch (API 1), checked against FetchRequest.json and FetchResponse.json.
#include "proto/fetch.h"

#include "proto/api.h"
#include "proto/flexwire.h"

#include <string.h>

// version_ok: from the table's lowest Fetch version up to what this codec handles (which may be
// above the table's negotiated maximum, see fetch.h).
static bool version_ok(int16_t version)
{
    const struct kp_api_info *a = kp_api_info_get(KP_API_FETCH);
    return a && version >= a->min_version && version <= KP_FETCH_MAX_VERSION;
}

static bool write_partition(kw *w, int16_t version, const struct kp_fetch_req_partition *p)
{
    if (!kw_i32(w, p->partition)) {
        return false;
    }
    if (version >= 9 && !kw_i32(w, p->current_leader_epoch)) {
        return false;
    }
    if (!kw_i64(w, p->fetch_offset)) {
        return false;
    }
    if (version >= 12) {
        if (!kw_i32(w, p->last_fetched_epoch)) {
            return false;
        }
    } else if (p->last_fetched_epoch != -1) {
        return kw_fail(w);
    }
    if (version >= 5 && !kw_i64(w, p->log_start_offset)) {
        return false;
    }
    return kw_i32(w, p->partition_max_bytes) && kp_fw_wtags(w, version >= 12);
}

// write_topic_key writes a topic's name (v12 and below) or its id (v13+); an all-zero id is
// not a topic and fails the writer.
static bool write_topic_key(kw *w, int16_t version, bool flex, const char *name,
                            const uint8_t id[16])
{
    if (version < 13) {
        return kp_fw_wstr_nn(w, flex, name);
    }
    for (int i = 0; i < 16; i++) {
        if (id[i] != 0) {
            return kw_uuid(w, id);
        }
    }
    return kw_fail(w);
}

static bool write_topics(kw *w, int16_t version, bool flex, const struct kp_fetch_req *req)
{
    int32_t n;
    if (!kp_fw_count(w, req->num_topics, &n) || !kp_fw_warray(w, flex, n)) {
        return false;
    }
    for (size_t i = 0; i < req->num_topics; i++) {
        const struct kp_fetch_req_topic *t = &req->topics[i];
        int32_t np;
        if (!write_topic_key(w, version, flex, t->topic, t->topic_id) ||
            !kp_fw_count(w, t->num_partitions, &np) || !kp_fw_warray(w, flex, np)) {
            return false;
        }
        for (size_t j = 0; j < t->num_partitions; j++) {
            if (!write_partition(w, version, &t->partitions[j])) {
                return false;
            }
        }
        if (!kp_fw_wtags(w, flex)) {
            return false;
        }
    }
    return true;
}

static bool write_forgotten(kw *w, int16_t version, bool flex, const struct kp_fetch_req *req)
{
    int32_t n;
    if (!kp_fw_count(w, req->num_forgotten, &n) || !kp_fw_warray(w, flex, n)) {
        return false;
    }
    for (size_t i = 0; i < req->num_forgotten; i++) {
        const struct kp_fetch_req_forgotten *f = &req->forgotten[i];
        int32_t np;
        if (!write_topic_key(w, version, flex, f->topic, f->topic_id) ||
            !kp_fw_count(w, f->num_partitions, &np) || !kp_fw_warray(w, flex, np)) {
            return false;
        }
        for (size_t j = 0; j < f->num_partitions; j++) {
            if (!kw_i32(w, f->partitions[j])) {
                return false;
            }
        }
        if (!kp_fw_wtags(w, flex)) {
            return false;
        }
    }
    return true;
}

bool kp_fetch_req_write(kw *w, int16_t version, const struct kp_fetch_req *req)
{
    if (!version_ok(version) || (version < 7 && req->num_forgotten > 0)) {
        return kw_fail(w);
    }
    bool flex = kp_api_is_flexible(KP_API_FETCH, version);
    // ClusterId (tag 0, v12+) is never sent: a consumer has no use for it.
    if (!kw_i32(w, req->replica_id) || !kw_i32(w, req->max_wait_ms) || !kw_i32(w, req->min_bytes) ||
        !kw_i32(w, req->max_bytes) || !kw_i8(w, req->isolation_level)) {
        return false;
    }
    if (version >= 7 && (!kw_i32(w, req->session_id) || !kw_i32(w, req->session_epoch))) {
        return false;
    }
    if (!write_topics(w, version, flex, req)) {
        return false;
    }
    if (version >= 7 && !write_forgotten(w, version, flex, req)) {
        return false;
    }
    if (version >= 11 && !kp_fw_wstr(w, flex, req->rack_id ? req->rack_id : "")) {
        return false;
    }
    return kp_fw_wtags(w, flex);
}

// read_partition_tag reads one known tagged field's payload; the payload must be used up.
static bool read_partition_tag(kr *payload, uint32_t tag, struct kp_fetch_partition *out)
{
    switch (tag) {
    case 0:
        out->has_diverging_epoch = true;
        return kr_i32(payload, &out->diverging_epoch) &&
               kr_i64(payload, &out->diverging_end_offset) && kr_skip_tags(payload) &&
               kr_expect_done(payload);
    case 1:
        out->has_current_leader = true;
        return kr_i32(payload, &out->current_leader_id) &&
               kr_i32(payload, &out->current_leader_epoch) && kr_skip_tags(payload) &&
               kr_expect_done(payload);
    case 2:
        out->has_snapshot_id = true;
        return kr_i64(payload, &out->snapshot_end_offset) &&
               kr_i32(payload, &out->snapshot_epoch) && kr_skip_tags(payload) &&
               kr_expect_done(payload);
    default:
        return true; // unknown tags are skipped
    }
}

static bool read_partition_tags(kr *r, struct kp_fetch_partition *out, const char **field)
{
    struct kr_tags tags;
    *field = "responses.partitions.tagged_fields";
    if (!kr_tag_section_begin(r, &tags)) {
        return false;
    }
    while (tags.left > 0) {
        uint32_t tag;
        kr payload;
        if (!kr_tag_next(r, &tags, &tag, &payload)) {
            return false;
        }
        if (!read_partition_tag(&payload, tag, out)) {
            *field = tag == 0   ? "responses.partitions.diverging_epoch"
                     : tag == 1 ? "responses.partitions.current_leader"
                                : "responses.partitions.snapshot_id";
            // The payload's size came off the wire, so a payload too short for its struct is
            // malformed, not truncated.
            return kr_set_fault(r, KR_MALFORMED);
        }
    }
    return true;
}

static bool read_aborted(kr *r, bool flex, struct kp_fetch_partition *out, const char **field)
{
    *field = "responses.partitions.aborted_transactions";
    if (!kp_fw_array(r, flex, flex ? 17 : 16, UINT32_MAX, &out->num_aborted, &out->aborted_null)) {
        return false;
    }
    kr mark = *r;
    if (!flex) {
        if (!kr_skip(r, (size_t)out->num_aborted * 16)) {
            return false;
        }
    } else {
        for (uint32_t i = 0; i < out->num_aborted; i++) {
            if (!kr_skip(r, 16) || !kr_skip_tags(r)) {
                return false;
            }
        }
    }
    kp_fw_span(&mark, r, &out->aborted);
    return true;
}

static bool read_partition(kr *r, int16_t version, struct kp_fetch_partition *out,
                           const char **field)
{
    bool flex = version >= 12;
    *out = (struct kp_fetch_partition){.last_stable_offset = -1,
                                       .log_start_offset = -1,
                                       .preferred_read_replica = -1,
                                       .diverging_epoch = -1,
                                       .diverging_end_offset = -1,
                                       .current_leader_id = -1,
                                       .current_leader_epoch = -1,
                                       .snapshot_end_offset = -1,
                                       .snapshot_epoch = -1};
    *field = "responses.partitions.partition_index";
    if (!kr_i32(r, &out->partition_index)) {
        return false;
    }
    *field = "responses.partitions.error_code";
    if (!kr_i16(r, &out->error_code)) {
        return false;
    }
    *field = "responses.partitions.high_watermark";
    if (!kr_i64(r, &out->high_watermark)) {
        return false;
    }
    *field = "responses.partitions.last_stable_offset";
    if (!kr_i64(r, &out->last_stable_offset)) {
        return false;
    }
    *field = "responses.partitions.log_start_offset";
    if (version >= 5 && !kr_i64(r, &out->log_start_offset)) {
        return false;
    }
    if (!read_aborted(r, flex, out, field)) {
        return false;
    }
    *field = "responses.partitions.preferred_read_replica";
    if (version >= 11 && !kr_i32(r, &out->preferred_read_replica)) {
        return false;
    }
    *field = "responses.partitions.records";
    if (!kp_fw_bytes(r, flex, &out->records, &out->records_null)) {
        return false;
    }
    return !flex || read_partition_tags(r, out, field);
}

// partition_min_len: index, error, high watermark, LSO, log start (v5+), aborted count,
// preferred replica (v11+), records length, tags (v12+).
static size_t partition_min_len(int16_t version)
{
    if (version >= 12) {
        return 4 + 2 + 8 + 8 + 8 + 1 + 4 + 1 + 1;
    }
    size_t n = 4 + 2 + 8 + 8 + 4 + 4;
    if (version >= 5) {
        n += 8;
    }
    if (version >= 11) {
        n += 4;
    }
    return n;
}

static bool read_topic(kr *r, int16_t version, struct kp_fetch_topic *out, const char **field)
{
    bool flex = version >= 12;
    if (version >= 13) {
        *field = "responses.topic_id";
        out->topic = (kr){0};
        if (!kr_uuid(r, out->topic_id)) {
            return false;
        }
    } else {
        *field = "responses.topic";
        memset(out->topic_id, 0, sizeof out->topic_id);
        if (!kp_fw_str(r, flex, &out->topic, NULL)) {
            return false;
        }
    }
    *field = "responses.partitions";
    if (!kp_fw_array(r, flex, partition_min_len(version), UINT32_MAX, &out->num_partitions, NULL)) {
        return false;
    }
    kr mark = *r;
    for (uint32_t i = 0; i < out->num_partitions; i++) {
        struct kp_fetch_partition p;
        if (!read_partition(r, version, &p, field)) {
            return false;
        }
    }
    kp_fw_span(&mark, r, &out->partitions);
    *field = "responses.tagged_fields";
    return kp_fw_tags(r, flex);
}

enum kp_status kp_fetch_resp_parse(kr *body, int16_t version, struct kp_fetch_resp *out,
                                   struct kp_err *err)
{
    if (!version_ok(version)) {
        return kp_fail_as(err, body, "version", KP_ERR_VERSION);
    }
    bool flex = kp_api_is_flexible(KP_API_FETCH, version);
    *out = (struct kp_fetch_resp){.version = version};
    if (!kr_i32(body, &out->throttle_time_ms)) {
        return kp_fail(err, body, "throttle_time_ms");
    }
    if (version >= 7 && (!kr_i16(body, &out->error_code) || !kr_i32(body, &out->session_id))) {
        return kp_fail(err, body, "error_code");
    }
    if (!kp_fw_array(body, flex, version >= 13 ? 18 : (flex ? 3 : 6), UINT32_MAX, &out->num_topics,
                     NULL)) {
        return kp_fail(err, body, "responses");
    }
    kr mark = *body;
    for (uint32_t i = 0; i < out->num_topics; i++) {
        struct kp_fetch_topic t;
        const char *field;
        if (!read_topic(body, version, &t, &field)) {
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

void kp_fetch_topics(const struct kp_fetch_resp *resp, struct kp_fetch_iter *out_it)
{
    *out_it = (struct kp_fetch_iter){
        .rest = resp->topics, .left = resp->num_topics, .version = resp->version};
}

bool kp_fetch_next_topic(struct kp_fetch_iter *it, struct kp_fetch_topic *out)
{
    const char *field;
    if (it->left == 0 || !read_topic(&it->rest, it->version, out, &field)) {
        return false;
    }
    it->left--;
    return true;
}

void kp_fetch_partitions(const struct kp_fetch_iter *topics, const struct kp_fetch_topic *topic,
                         struct kp_fetch_iter *out_it)
{
    *out_it = (struct kp_fetch_iter){
        .rest = topic->partitions, .left = topic->num_partitions, .version = topics->version};
}

bool kp_fetch_next_partition(struct kp_fetch_iter *it, struct kp_fetch_partition *out)
{
    const char *field;
    if (it->left == 0 || !read_partition(&it->rest, it->version, out, &field)) {
        return false;
    }
    it->left--;
    return true;
}

void kp_fetch_aborted_txns(const struct kp_fetch_iter *partitions,
                           const struct kp_fetch_partition *partition, struct kp_fetch_iter *out_it)
{
    *out_it = (struct kp_fetch_iter){
        .rest = partition->aborted, .left = partition->num_aborted, .version = partitions->version};
}

bool kp_fetch_next_aborted(struct kp_fetch_iter *it, struct kp_fetch_aborted *out)
{
    if (it->left == 0 || !kr_i64(&it->rest, &out->producer_id) ||
        !kr_i64(&it->rest, &out->first_offset) || !kp_fw_tags(&it->rest, it->version >= 12)) {
        return false;
    }
    it->left--;
    return true;
}
