// metadata.c: Metadata (API 3) v1-12, checked against MetadataRequest.json and
// MetadataResponse.json.
#include "proto/metadata.h"

#include "proto/api.h"
#include "proto/flexwire.h"

#include <string.h>

// Bound on every array in a response; kr_*array_count also checks counts against the bytes left.
#define MAX_ENTRIES (1u << 20)
// Smallest encodings: broker (node id, empty host, port), topic (error, empty name, empty
// partitions), partition (error, index, leader, two empty node lists), node id.
#define MIN_BROKER_LEN 10
#define MIN_TOPIC_LEN 8
#define MIN_PARTITION_LEN 18
#define NODE_LEN 4

static bool write_topics(kw *w, int16_t version, bool flex, const struct kp_metadata_req *req)
{
    if (req->all_topics) {
        return kp_fw_warray(w, flex, -1);
    }
    int32_t n;
    if (!kp_fw_count(w, req->num_topics, &n) || !kp_fw_warray(w, flex, n)) {
        return false;
    }
    static const uint8_t zero_id[16];
    for (size_t i = 0; i < req->num_topics; i++) {
        const struct kp_metadata_req_topic *t = &req->topics[i];
        if (version >= 10 && !kw_uuid(w, t->topic_id ? t->topic_id : zero_id)) {
            return false;
        }
        bool ok = version >= 10 ? kp_fw_wstr(w, flex, t->name) : kp_fw_wstr_nn(w, flex, t->name);
        if (!ok || !kp_fw_wtags(w, flex)) {
            return false;
        }
    }
    return true;
}

bool kp_metadata_req_write(kw *w, int16_t version, const struct kp_metadata_req *req)
{
    if (!kp_fw_version_ok(KP_API_METADATA, version) ||
        (version < 4 && !req->allow_auto_topic_creation) ||
        (req->include_cluster_authorized_operations && (version < 8 || version > 10)) ||
        (req->include_topic_authorized_operations && version < 8)) {
        return kw_fail(w);
    }
    bool flex = kp_api_is_flexible(KP_API_METADATA, version);
    if (!write_topics(w, version, flex, req)) {
        return false;
    }
    if (version >= 4 && !kw_bool(w, req->allow_auto_topic_creation)) {
        return false;
    }
    if (version >= 8 && version <= 10 && !kw_bool(w, req->include_cluster_authorized_operations)) {
        return false;
    }
    if (version >= 8 && !kw_bool(w, req->include_topic_authorized_operations)) {
        return false;
    }
    return kp_fw_wtags(w, flex);
}

// span makes |out| a view of the bytes read between |mark| (an earlier copy of a cursor) and
// |now|.
static void span(const kr *mark, const kr *now, kr *out)
{
    kr m = *mark;
    kr_sub(&m, out, kr_left(mark) - kr_left(now));
}

static bool read_nodes(kr *r, bool flex, uint32_t *out_n, kr *out)
{
    return kp_fw_array(r, flex, NODE_LEN, MAX_ENTRIES, out_n, NULL) &&
           kr_sub(r, out, (size_t)*out_n * NODE_LEN);
}

// The read_* functions are shared by validation and iteration; |field| names what was being read
// when one fails.
static bool read_broker(kr *r, int16_t version, struct kp_metadata_broker *out, const char **field)
{
    bool flex = kp_api_is_flexible(KP_API_METADATA, version);
    *out = (struct kp_metadata_broker){.rack_null = true};
    *field = "brokers.node_id";
    if (!kr_i32(r, &out->node_id)) {
        return false;
    }
    *field = "brokers.host";
    if (!kp_fw_str(r, flex, &out->host, NULL)) {
        return false;
    }
    *field = "brokers.port";
    if (!kr_i32(r, &out->port)) {
        return false;
    }
    *field = "brokers.rack";
    if (version >= 1 && !kp_fw_str(r, flex, &out->rack, &out->rack_null)) {
        return false;
    }
    *field = "brokers.tagged_fields";
    return kp_fw_tags(r, flex);
}

static bool read_partition(kr *r, int16_t version, struct kp_metadata_partition *out,
                           const char **field)
{
    bool flex = kp_api_is_flexible(KP_API_METADATA, version);
    *out = (struct kp_metadata_partition){.leader_epoch = -1};
    *field = "topics.partitions.error_code";
    if (!kr_i16(r, &out->error_code)) {
        return false;
    }
    *field = "topics.partitions.partition_index";
    if (!kr_i32(r, &out->partition_index)) {
        return false;
    }
    *field = "topics.partitions.leader_id";
    if (!kr_i32(r, &out->leader_id)) {
        return false;
    }
    *field = "topics.partitions.leader_epoch";
    if (version >= 7 && !kr_i32(r, &out->leader_epoch)) {
        return false;
    }
    *field = "topics.partitions.replica_nodes";
    if (!read_nodes(r, flex, &out->num_replicas, &out->replica_nodes)) {
        return false;
    }
    *field = "topics.partitions.isr_nodes";
    if (!read_nodes(r, flex, &out->num_isr, &out->isr_nodes)) {
        return false;
    }
    *field = "topics.partitions.offline_replicas";
    if (version >= 5 && !read_nodes(r, flex, &out->num_offline, &out->offline_replicas)) {
        return false;
    }
    *field = "topics.partitions.tagged_fields";
    return kp_fw_tags(r, flex);
}

static bool read_partitions(kr *r, int16_t version, struct kp_metadata_topic *out,
                            const char **field)
{
    bool flex = kp_api_is_flexible(KP_API_METADATA, version);
    *field = "topics.partitions";
    if (!kp_fw_array(r, flex, MIN_PARTITION_LEN, MAX_ENTRIES, &out->num_partitions, NULL)) {
        return false;
    }
    kr mark = *r;
    for (uint32_t i = 0; i < out->num_partitions; i++) {
        struct kp_metadata_partition p;
        if (!read_partition(r, version, &p, field)) {
            return false;
        }
    }
    span(&mark, r, &out->partitions);
    return true;
}

static bool read_topic(kr *r, int16_t version, struct kp_metadata_topic *out, const char **field)
{
    bool flex = kp_api_is_flexible(KP_API_METADATA, version);
    *out = (struct kp_metadata_topic){.topic_authorized_operations = KP_METADATA_NO_AUTH_OPS};
    *field = "topics.error_code";
    if (!kr_i16(r, &out->error_code)) {
        return false;
    }
    *field = "topics.name";
    if (!kp_fw_str(r, flex, &out->name, version >= 12 ? &out->name_null : NULL)) {
        return false;
    }
    *field = "topics.topic_id";
    if (version >= 10 && !kr_uuid(r, out->topic_id)) {
        return false;
    }
    *field = "topics.is_internal";
    if (version >= 1 && !kr_bool(r, &out->is_internal)) {
        return false;
    }
    if (!read_partitions(r, version, out, field)) {
        return false;
    }
    *field = "topics.topic_authorized_operations";
    if (version >= 8 && !kr_i32(r, &out->topic_authorized_operations)) {
        return false;
    }
    *field = "topics.tagged_fields";
    return kp_fw_tags(r, flex);
}

static enum kp_status parse_brokers(kr *body, struct kp_metadata_resp *out, struct kp_err *err)
{
    bool flex = kp_api_is_flexible(KP_API_METADATA, out->version);
    if (!kp_fw_array(body, flex, MIN_BROKER_LEN, MAX_ENTRIES, &out->num_brokers, NULL)) {
        return kp_fail(err, body, "brokers");
    }
    kr mark = *body;
    for (uint32_t i = 0; i < out->num_brokers; i++) {
        struct kp_metadata_broker b;
        const char *field;
        if (!read_broker(body, out->version, &b, &field)) {
            return kp_fail(err, body, field);
        }
    }
    span(&mark, body, &out->brokers);
    return KP_OK;
}

static enum kp_status parse_topics(kr *body, struct kp_metadata_resp *out, struct kp_err *err)
{
    bool flex = kp_api_is_flexible(KP_API_METADATA, out->version);
    if (!kp_fw_array(body, flex, MIN_TOPIC_LEN, MAX_ENTRIES, &out->num_topics, NULL)) {
        return kp_fail(err, body, "topics");
    }
    kr mark = *body;
    for (uint32_t i = 0; i < out->num_topics; i++) {
        struct kp_metadata_topic t;
        const char *field;
        if (!read_topic(body, out->version, &t, &field)) {
            return kp_fail(err, body, field);
        }
    }
    span(&mark, body, &out->topics);
    return KP_OK;
}

enum kp_status kp_metadata_resp_parse(kr *body, int16_t version, struct kp_metadata_resp *out,
                                      struct kp_err *err)
{
    if (!kp_fw_version_ok(KP_API_METADATA, version)) {
        return kp_fail_as(err, body, "version", KP_ERR_VERSION);
    }
    bool flex = kp_api_is_flexible(KP_API_METADATA, version);
    *out = (struct kp_metadata_resp){.version = version,
                                     .cluster_id_null = true,
                                     .controller_id = -1,
                                     .cluster_authorized_operations = KP_METADATA_NO_AUTH_OPS};
    if (version >= 3 && !kr_i32(body, &out->throttle_time_ms)) {
        return kp_fail(err, body, "throttle_time_ms");
    }
    enum kp_status st = parse_brokers(body, out, err);
    if (st != KP_OK) {
        return st;
    }
    if (version >= 2 && !kp_fw_str(body, flex, &out->cluster_id, &out->cluster_id_null)) {
        return kp_fail(err, body, "cluster_id");
    }
    if (version >= 1 && !kr_i32(body, &out->controller_id)) {
        return kp_fail(err, body, "controller_id");
    }
    st = parse_topics(body, out, err);
    if (st != KP_OK) {
        return st;
    }
    if (version >= 8 && version <= 10 && !kr_i32(body, &out->cluster_authorized_operations)) {
        return kp_fail(err, body, "cluster_authorized_operations");
    }
    if (!kp_fw_tags(body, flex)) {
        return kp_fail(err, body, "tagged_fields");
    }
    if (!kr_expect_done(body)) {
        return kp_fail(err, body, "end of body");
    }
    return KP_OK;
}

void kp_metadata_brokers(const struct kp_metadata_resp *resp, struct kp_metadata_iter *out_it)
{
    *out_it = (struct kp_metadata_iter){resp->brokers, resp->num_brokers, resp->version};
}

bool kp_metadata_next_broker(struct kp_metadata_iter *it, struct kp_metadata_broker *out)
{
    const char *field;
    if (it->left == 0 || !read_broker(&it->rest, it->version, out, &field)) {
        it->left = 0;
        return false;
    }
    it->left--;
    return true;
}

void kp_metadata_topics(const struct kp_metadata_resp *resp, struct kp_metadata_iter *out_it)
{
    *out_it = (struct kp_metadata_iter){resp->topics, resp->num_topics, resp->version};
}

bool kp_metadata_next_topic(struct kp_metadata_iter *it, struct kp_metadata_topic *out)
{
    const char *field;
    if (it->left == 0 || !read_topic(&it->rest, it->version, out, &field)) {
        it->left = 0;
        return false;
    }
    it->left--;
    return true;
}

void kp_metadata_partitions(const struct kp_metadata_iter *topics,
                            const struct kp_metadata_topic *topic, struct kp_metadata_iter *out_it)
{
    *out_it = (struct kp_metadata_iter){topic->partitions, topic->num_partitions, topics->version};
}

bool kp_metadata_next_partition(struct kp_metadata_iter *it, struct kp_metadata_partition *out)
{
    const char *field;
    if (it->left == 0 || !read_partition(&it->rest, it->version, out, &field)) {
        it->left = 0;
        return false;
    }
    it->left--;
    return true;
}

int32_t kp_metadata_node(const kr *nodes, uint32_t i)
{
    if ((size_t)i >= nodes->len / NODE_LEN) {
        return -1;
    }
    kr r = *nodes;
    int32_t v;
    if (!kr_skip(&r, (size_t)i * NODE_LEN) || !kr_i32(&r, &v)) {
        return -1;
    }
    return v;
}
