// consumer_protocol.c: ConsumerProtocolSubscription / ConsumerProtocolAssignment, checked
// against the Kafka schemas of the same names.
#include "proto/consumer_protocol.h"

#include "proto/flexwire.h"

static bool write_tps(kw *w, const struct kp_consumer_topic_partitions *tps, size_t num)
{
    int32_t n;
    if (!kp_fw_count(w, num, &n) || !kw_array_count(w, n)) {
        return false;
    }
    for (size_t i = 0; i < num; i++) {
        int32_t np;
        if (!kp_fw_wstr_nn(w, false, tps[i].topic) || !kp_fw_count(w, tps[i].num_partitions, &np) ||
            !kw_array_count(w, np)) {
            return false;
        }
        for (size_t j = 0; j < tps[i].num_partitions; j++) {
            if (!kw_i32(w, tps[i].partitions[j])) {
                return false;
            }
        }
    }
    return true;
}

bool kp_consumer_subscription_write(kw *w, const struct kp_consumer_subscription *s)
{
    int32_t n;
    if (s->version < 0 || s->version > KP_CONSUMER_PROTOCOL_MAX_VERSION ||
        !kp_fw_count(w, s->num_topics, &n)) {
        return kw_fail(w);
    }
    if (!kw_i16(w, s->version) || !kw_array_count(w, n)) {
        return false;
    }
    for (size_t i = 0; i < s->num_topics; i++) {
        if (!kp_fw_wstr_nn(w, false, s->topics[i])) {
            return false;
        }
    }
    if (!kw_bytes(w, s->user_data, s->user_data_len)) {
        return false;
    }
    if (s->version >= 1 && !write_tps(w, s->owned, s->num_owned)) {
        return false;
    }
    if (s->version >= 2 && !kw_i32(w, s->generation_id)) {
        return false;
    }
    return s->version < 3 || kw_str(w, s->rack_id);
}

bool kp_consumer_assignment_write(kw *w, const struct kp_consumer_assignment *a)
{
    if (a->version < 0 || a->version > KP_CONSUMER_PROTOCOL_MAX_VERSION) {
        return kw_fail(w);
    }
    return kw_i16(w, a->version) && write_tps(w, a->assigned, a->num_assigned) &&
           kw_bytes(w, a->user_data, a->user_data_len);
}

// read_tp reads one {topic, partitions []int32}.
static bool read_tp(kr *r, struct kp_consumer_tp_view *out)
{
    if (!kr_str(r, &out->topic, NULL) ||
        !kr_array_count(r, 4, UINT32_MAX, &out->num_partitions, NULL)) {
        return false;
    }
    return kr_sub(r, &out->partitions, (size_t)out->num_partitions * 4);
}

// read_tps validates an array of topic-partitions and keeps a view of it.
static bool read_tps(kr *r, uint32_t *out_n, kr *out_view)
{
    if (!kr_array_count(r, 6, UINT32_MAX, out_n, NULL)) {
        return false;
    }
    kr mark = *r;
    for (uint32_t i = 0; i < *out_n; i++) {
        struct kp_consumer_tp_view tp;
        if (!read_tp(r, &tp)) {
            return false;
        }
    }
    kp_fw_span(&mark, r, out_view);
    return true;
}

// finish ends a blob: exact for known versions, trailing bytes ignored above them.
static enum kp_status finish(kr *in, int16_t version, struct kp_err *err)
{
    if (version > KP_CONSUMER_PROTOCOL_MAX_VERSION) {
        kr rest;
        (void)kr_rest(in, &rest);
        return KP_OK;
    }
    if (!kr_expect_done(in)) {
        return kp_fail(err, in, "trailing bytes");
    }
    return KP_OK;
}

static bool read_version(kr *in, int16_t *out)
{
    return kr_i16(in, out) && (*out >= 0 || kr_set_fault(in, KR_MALFORMED));
}

static enum kp_status parse_sub_v1plus(kr *in, struct kp_consumer_subscription_view *out,
                                       struct kp_err *err)
{
    if (!read_tps(in, &out->num_owned, &out->owned)) {
        return kp_fail(err, in, "owned_partitions");
    }
    if (out->version >= 2 && !kr_i32(in, &out->generation_id)) {
        return kp_fail(err, in, "generation_id");
    }
    if (out->version >= 3 && !kr_str(in, &out->rack_id, &out->rack_id_null)) {
        return kp_fail(err, in, "rack_id");
    }
    return KP_OK;
}

enum kp_status kp_consumer_subscription_parse(kr *in, struct kp_consumer_subscription_view *out,
                                              struct kp_err *err)
{
    *out = (struct kp_consumer_subscription_view){.generation_id = -1, .rack_id_null = true};
    if (!read_version(in, &out->version)) {
        return kp_fail(err, in, "version");
    }
    if (!kr_array_count(in, 2, UINT32_MAX, &out->num_topics, NULL)) {
        return kp_fail(err, in, "topics");
    }
    kr mark = *in;
    for (uint32_t i = 0; i < out->num_topics; i++) {
        kr name;
        if (!kr_str(in, &name, NULL)) {
            return kp_fail(err, in, "topics");
        }
    }
    kp_fw_span(&mark, in, &out->topics);
    if (!kr_bytes(in, &out->user_data, &out->user_data_null)) {
        return kp_fail(err, in, "user_data");
    }
    if (out->version >= 1) {
        enum kp_status st = parse_sub_v1plus(in, out, err);
        if (st != KP_OK) {
            return st;
        }
    }
    return finish(in, out->version, err);
}

enum kp_status kp_consumer_assignment_parse(kr *in, struct kp_consumer_assignment_view *out,
                                            struct kp_err *err)
{
    *out = (struct kp_consumer_assignment_view){0};
    if (kr_left(in) == 0 && in->fault == KR_OK) {
        return KP_OK;
    }
    if (!read_version(in, &out->version)) {
        return kp_fail(err, in, "version");
    }
    if (!read_tps(in, &out->num_assigned, &out->assigned)) {
        return kp_fail(err, in, "assigned_partitions");
    }
    if (!kr_bytes(in, &out->user_data, &out->user_data_null)) {
        return kp_fail(err, in, "user_data");
    }
    return finish(in, out->version, err);
}

void kp_consumer_iter_init(struct kp_consumer_iter *out_it, const kr *view, uint32_t count)
{
    out_it->rest = *view;
    out_it->left = count;
}

bool kp_consumer_next_topic_name(struct kp_consumer_iter *it, kr *out)
{
    if (it->left == 0 || !kr_str(&it->rest, out, NULL)) {
        return false;
    }
    it->left--;
    return true;
}

bool kp_consumer_next_topic_partitions(struct kp_consumer_iter *it, struct kp_consumer_tp_view *out)
{
    if (it->left == 0 || !read_tp(&it->rest, out)) {
        return false;
    }
    it->left--;
    return true;
}

bool kp_consumer_next_partition(struct kp_consumer_iter *it, int32_t *out)
{
    if (it->left == 0 || !kr_i32(&it->rest, out)) {
        return false;
    }
    it->left--;
    return true;
}
