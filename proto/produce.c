// produce.c: Produce (API 0) v3-9, checked against ProduceRequest.json and ProduceResponse.json.
#include "proto/produce.h"

#include "proto/api.h"
#include "proto/flexwire.h"

#define MAX_ENTRIES (1u << 20)
// Smallest encodings: topic (empty name, empty partitions), partition (index, error, base
// offset), record error (index, null message).
#define MIN_TOPIC_LEN 2
#define MIN_PARTITION_LEN 14
#define MIN_RECORD_ERROR_LEN 5

static bool write_partitions(kw *w, bool flex, const struct kp_produce_req_topic *t)
{
    int32_t n;
    if (!kp_fw_count(w, t->num_partitions, &n) || !kp_fw_warray(w, flex, n)) {
        return false;
    }
    for (size_t i = 0; i < t->num_partitions; i++) {
        const struct kp_produce_req_partition *p = &t->partitions[i];
        if (!kw_i32(w, p->index) || !kp_fw_wbytes(w, flex, p->records, p->records_len) ||
            !kp_fw_wtags(w, flex)) {
            return false;
        }
    }
    return true;
}

bool kp_produce_req_write(kw *w, int16_t version, const struct kp_produce_req *req)
{
    if (!kp_fw_version_ok(KP_API_PRODUCE, version) ||
        (req->acks != 0 && req->acks != 1 && req->acks != -1)) {
        return kw_fail(w);
    }
    bool flex = kp_api_is_flexible(KP_API_PRODUCE, version);
    int32_t n;
    if (!kp_fw_wstr(w, flex, req->transactional_id) || !kw_i16(w, req->acks) ||
        !kw_i32(w, req->timeout_ms) || !kp_fw_count(w, req->num_topics, &n) ||
        !kp_fw_warray(w, flex, n)) {
        return false;
    }
    for (size_t i = 0; i < req->num_topics; i++) {
        const struct kp_produce_req_topic *t = &req->topics[i];
        if (!kp_fw_wstr_nn(w, flex, t->name) || !write_partitions(w, flex, t) ||
            !kp_fw_wtags(w, flex)) {
            return false;
        }
    }
    return kp_fw_wtags(w, flex);
}

static bool read_record_error(kr *r, bool flex, struct kp_produce_record_error *out,
                              const char **field)
{
    *field = "responses.partition_responses.record_errors.batch_index";
    if (!kr_i32(r, &out->batch_index)) {
        return false;
    }
    *field = "responses.partition_responses.record_errors.batch_index_error_message";
    if (!kp_fw_str(r, flex, &out->message, &out->message_null)) {
        return false;
    }
    *field = "responses.partition_responses.record_errors.tagged_fields";
    return kp_fw_tags(r, flex);
}

static bool read_record_errors(kr *r, bool flex, struct kp_produce_partition *out,
                               const char **field)
{
    *field = "responses.partition_responses.record_errors";
    if (!kp_fw_array(r, flex, MIN_RECORD_ERROR_LEN, MAX_ENTRIES, &out->num_record_errors, NULL)) {
        return false;
    }
    kr mark = *r;
    for (uint32_t i = 0; i < out->num_record_errors; i++) {
        struct kp_produce_record_error e;
        if (!read_record_error(r, flex, &e, field)) {
            return false;
        }
    }
    kr_sub(&mark, &out->record_errors, kr_left(&mark) - kr_left(r));
    return true;
}

static bool read_partition(kr *r, int16_t version, struct kp_produce_partition *out,
                           const char **field)
{
    bool flex = kp_api_is_flexible(KP_API_PRODUCE, version);
    *out = (struct kp_produce_partition){
        .log_append_time_ms = -1, .log_start_offset = -1, .error_message_null = true};
    *field = "responses.partition_responses.index";
    if (!kr_i32(r, &out->index)) {
        return false;
    }
    *field = "responses.partition_responses.error_code";
    if (!kr_i16(r, &out->error_code)) {
        return false;
    }
    *field = "responses.partition_responses.base_offset";
    if (!kr_i64(r, &out->base_offset)) {
        return false;
    }
    *field = "responses.partition_responses.log_append_time_ms";
    if (!kr_i64(r, &out->log_append_time_ms)) { // v2+, so every version we speak
        return false;
    }
    *field = "responses.partition_responses.log_start_offset";
    if (version >= 5 && !kr_i64(r, &out->log_start_offset)) {
        return false;
    }
    if (version >= 8) {
        if (!read_record_errors(r, flex, out, field)) {
            return false;
        }
        *field = "responses.partition_responses.error_message";
        if (!kp_fw_str(r, flex, &out->error_message, &out->error_message_null)) {
            return false;
        }
    }
    *field = "responses.partition_responses.tagged_fields";
    return kp_fw_tags(r, flex);
}

static bool read_topic(kr *r, int16_t version, struct kp_produce_topic *out, const char **field)
{
    bool flex = kp_api_is_flexible(KP_API_PRODUCE, version);
    *field = "responses.name";
    if (!kp_fw_str(r, flex, &out->name, NULL)) {
        return false;
    }
    *field = "responses.partition_responses";
    if (!kp_fw_array(r, flex, MIN_PARTITION_LEN, MAX_ENTRIES, &out->num_partitions, NULL)) {
        return false;
    }
    kr mark = *r;
    for (uint32_t i = 0; i < out->num_partitions; i++) {
        struct kp_produce_partition p;
        if (!read_partition(r, version, &p, field)) {
            return false;
        }
    }
    kr_sub(&mark, &out->partitions, kr_left(&mark) - kr_left(r));
    *field = "responses.tagged_fields";
    return kp_fw_tags(r, flex);
}

enum kp_status kp_produce_resp_parse(kr *body, int16_t version, struct kp_produce_resp *out,
                                     struct kp_err *err)
{
    if (!kp_fw_version_ok(KP_API_PRODUCE, version)) {
        return kp_fail_as(err, body, "version", KP_ERR_VERSION);
    }
    bool flex = kp_api_is_flexible(KP_API_PRODUCE, version);
    *out = (struct kp_produce_resp){.version = version};
    if (!kp_fw_array(body, flex, MIN_TOPIC_LEN, MAX_ENTRIES, &out->num_topics, NULL)) {
        return kp_fail(err, body, "responses");
    }
    kr mark = *body;
    for (uint32_t i = 0; i < out->num_topics; i++) {
        struct kp_produce_topic t;
        const char *field;
        if (!read_topic(body, version, &t, &field)) {
            return kp_fail(err, body, field);
        }
    }
    kr_sub(&mark, &out->topics, kr_left(&mark) - kr_left(body));
    if (!kr_i32(body, &out->throttle_time_ms)) {
        return kp_fail(err, body, "throttle_time_ms");
    }
    if (!kp_fw_tags(body, flex)) {
        return kp_fail(err, body, "tagged_fields");
    }
    if (!kr_expect_done(body)) {
        return kp_fail(err, body, "end of body");
    }
    return KP_OK;
}

void kp_produce_topics(const struct kp_produce_resp *resp, struct kp_produce_iter *out_it)
{
    *out_it = (struct kp_produce_iter){resp->topics, resp->num_topics, resp->version};
}

bool kp_produce_next_topic(struct kp_produce_iter *it, struct kp_produce_topic *out)
{
    const char *field;
    if (it->left == 0 || !read_topic(&it->rest, it->version, out, &field)) {
        it->left = 0;
        return false;
    }
    it->left--;
    return true;
}

void kp_produce_partitions(const struct kp_produce_iter *topics,
                           const struct kp_produce_topic *topic, struct kp_produce_iter *out_it)
{
    *out_it = (struct kp_produce_iter){topic->partitions, topic->num_partitions, topics->version};
}

bool kp_produce_next_partition(struct kp_produce_iter *it, struct kp_produce_partition *out)
{
    const char *field;
    if (it->left == 0 || !read_partition(&it->rest, it->version, out, &field)) {
        it->left = 0;
        return false;
    }
    it->left--;
    return true;
}

void kp_produce_record_errors(const struct kp_produce_iter *partitions,
                              const struct kp_produce_partition *partition,
                              struct kp_produce_iter *out_it)
{
    *out_it = (struct kp_produce_iter){partition->record_errors, partition->num_record_errors,
                                       partitions->version};
}

bool kp_produce_next_record_error(struct kp_produce_iter *it, struct kp_produce_record_error *out)
{
    const char *field;
    bool flex = kp_api_is_flexible(KP_API_PRODUCE, it->version);
    if (it->left == 0 || !read_record_error(&it->rest, flex, out, &field)) {
        it->left = 0;
        return false;
    }
    it->left--;
    return true;
}
