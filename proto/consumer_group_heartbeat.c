// consumer_group_heartbeat.c: ConsumerGroupHeartbeat (API 68), checked against
// ConsumerGroupHeartbeatRequest.json / ConsumerGroupHeartbeatResponse.json of Kafka 4.0
// (validVersions 0-1, flexibleVersions 0+). See the header for the layout.
#include "proto/consumer_group_heartbeat.h"

#include "proto/api.h"
#include "proto/flexwire.h"

#include <string.h>

// A topic entry is at least a uuid, an empty compact array and an empty tag section.
#define TOPIC_MIN_LEN 18

static bool write_owned(kw *w, const struct kp_cghb_req *req)
{
    if (!req->send_owned) {
        return kw_compact_array_count(w, -1);
    }
    int32_t n;
    if (!kp_fw_count(w, req->num_owned, &n) || !kw_compact_array_count(w, n)) {
        return false;
    }
    for (size_t i = 0; i < req->num_owned; i++) {
        const struct kp_cghb_topic_partitions *t = &req->owned[i];
        int32_t np;
        if (!t->topic_id || !kw_uuid(w, t->topic_id) || !kp_fw_count(w, t->num_partitions, &np) ||
            !kw_compact_array_count(w, np)) {
            return kw_fail(w);
        }
        for (size_t k = 0; k < t->num_partitions; k++) {
            if (!kw_i32(w, t->partitions[k])) {
                return false;
            }
        }
        if (!kw_empty_tags(w)) {
            return false;
        }
    }
    return true;
}

bool kp_cghb_req_write(kw *w, int16_t version, const struct kp_cghb_req *req)
{
    if (!kp_fw_version_ok(KP_API_CONSUMER_GROUP_HEARTBEAT, version) || !req->group_id ||
        !req->member_id || (version < 1 && req->topic_regex)) {
        return kw_fail(w);
    }
    if (!kw_compact_str(w, req->group_id) || !kw_compact_str(w, req->member_id) ||
        !kw_i32(w, req->member_epoch) || !kw_compact_str(w, req->instance_id) ||
        !kw_compact_str(w, req->rack_id) || !kw_i32(w, req->rebalance_timeout_ms)) {
        return false;
    }
    if (!req->send_topics) {
        if (!kw_compact_array_count(w, -1)) {
            return false;
        }
    } else {
        int32_t n;
        if (!kp_fw_count(w, req->num_topics, &n) || !kw_compact_array_count(w, n)) {
            return false;
        }
        for (size_t i = 0; i < req->num_topics; i++) {
            if (!req->topics[i] || !kw_compact_str(w, req->topics[i])) {
                return kw_fail(w);
            }
        }
    }
    if (version >= 1 && !kw_compact_str(w, req->topic_regex)) {
        return false;
    }
    return kw_compact_str(w, req->server_assignor) && write_owned(w, req) && kw_empty_tags(w);
}

// parse_assignment validates the Assignment struct after its presence byte and keeps a view of
// its topic array.
static enum kp_status parse_assignment(kr *body, struct kp_cghb_resp *out, struct kp_err *err)
{
    if (!kr_compact_array_count(body, TOPIC_MIN_LEN, KP_CGHB_MAX_TOPICS, &out->num_topics, NULL)) {
        return kp_fail(err, body, "assignment.topic_partitions");
    }
    kr start = *body;
    for (uint32_t i = 0; i < out->num_topics; i++) {
        uint8_t id[16];
        uint32_t np;
        if (!kr_uuid(body, id)) {
            return kp_fail(err, body, "assignment.topic_partitions.topic_id");
        }
        if (!kr_compact_array_count(body, 4, KP_CGHB_MAX_PARTITIONS, &np, NULL) ||
            !kr_skip(body, (size_t)np * 4)) {
            return kp_fail(err, body, "assignment.topic_partitions.partitions");
        }
        if (!kr_skip_tags(body)) {
            return kp_fail(err, body, "assignment.topic_partitions.tagged_fields");
        }
    }
    kp_fw_span(&start, body, &out->topics);
    if (!kr_skip_tags(body)) {
        return kp_fail(err, body, "assignment.tagged_fields");
    }
    return KP_OK;
}

enum kp_status kp_cghb_resp_parse(kr *body, int16_t version, struct kp_cghb_resp *out,
                                  struct kp_err *err)
{
    memset(out, 0, sizeof *out);
    if (!kp_fw_version_ok(KP_API_CONSUMER_GROUP_HEARTBEAT, version)) {
        return kp_fail_as(err, body, "version", KP_ERR_VERSION);
    }
    if (!kr_i32(body, &out->throttle_time_ms)) {
        return kp_fail(err, body, "throttle_time_ms");
    }
    if (!kr_i16(body, &out->error_code)) {
        return kp_fail(err, body, "error_code");
    }
    if (!kr_compact_str(body, &out->error_message, &out->error_message_null)) {
        return kp_fail(err, body, "error_message");
    }
    if (!kr_compact_str(body, &out->member_id, &out->member_id_null)) {
        return kp_fail(err, body, "member_id");
    }
    if (!kr_i32(body, &out->member_epoch)) {
        return kp_fail(err, body, "member_epoch");
    }
    if (!kr_i32(body, &out->heartbeat_interval_ms)) {
        return kp_fail(err, body, "heartbeat_interval_ms");
    }
    int8_t present;
    if (!kr_i8(body, &present)) {
        return kp_fail(err, body, "assignment");
    }
    if (present == 1) {
        out->has_assignment = true;
        enum kp_status st = parse_assignment(body, out, err);
        if (st != KP_OK) {
            return st;
        }
    } else if (present != -1) {
        return kp_fail_as(err, body, "assignment (presence byte not -1 or 1)", KP_ERR_MALFORMED);
    }
    if (!kr_skip_tags(body)) {
        return kp_fail(err, body, "tagged_fields");
    }
    if (!kr_expect_done(body)) {
        return kp_fail(err, body, "trailing bytes");
    }
    return KP_OK;
}

void kp_cghb_topics(const struct kp_cghb_resp *resp, struct kp_cghb_iter *out_it)
{
    out_it->rest = resp->topics;
    out_it->left = resp->has_assignment ? resp->num_topics : 0;
}

bool kp_cghb_next_topic(struct kp_cghb_iter *it, struct kp_cghb_topic *out)
{
    if (it->left == 0) {
        return false;
    }
    it->left--;
    // Validated by the parser: these reads cannot fail.
    return kr_uuid(&it->rest, out->topic_id) &&
           kr_compact_array_count(&it->rest, 4, KP_CGHB_MAX_PARTITIONS, &out->num_partitions,
                                  NULL) &&
           kr_sub(&it->rest, &out->partitions, (size_t)out->num_partitions * 4) &&
           kr_skip_tags(&it->rest);
}

bool kp_cghb_partition(const struct kp_cghb_topic *t, uint32_t i, int32_t *out)
{
    kr r = t->partitions;
    return i < t->num_partitions && kr_skip(&r, (size_t)i * 4) && kr_i32(&r, out);
}
