// metadata.c: see metadata.h.
#include "broker/metadata.h"

#include "base/alloc.h"
#include "proto/metadata.h"

#include <stdlib.h>
#include <string.h>

#define MAX_BROKERS 4096
#define MAX_PARTITIONS 100000

void broker_metadata_init(struct broker_metadata *md, const char *const *topics, size_t num_topics,
                          bool allow_auto_create)
{
    memset(md, 0, sizeof *md);
    md->wanted = xcalloc(num_topics + 1, sizeof *md->wanted);
    for (size_t i = 0; i < num_topics; i++) {
        md->wanted[i] = xstrdup(topics[i]);
    }
    md->num_wanted = num_topics;
    md->allow_auto_create = allow_auto_create;
}

void broker_metadata_want(struct broker_metadata *md, const char *topic)
{
    for (size_t i = 0; i < md->num_wanted; i++) {
        if (strcmp(md->wanted[i], topic) == 0) {
            return;
        }
    }
    md->wanted = xrealloc(md->wanted, (md->num_wanted + 2) * sizeof *md->wanted);
    md->wanted[md->num_wanted++] = xstrdup(topic);
}

static void free_topic(struct broker_md_topic *t)
{
    free(t->name);
    free(t->leaders);
    free(t->epochs);
    memset(t, 0, sizeof *t);
}

void broker_metadata_cleanup(struct broker_metadata *md)
{
    free(md->brokers);
    for (size_t i = 0; i < md->num_topics; i++) {
        free_topic(&md->topics[i]);
    }
    free(md->topics);
    for (size_t i = 0; i < md->num_wanted; i++) {
        free(md->wanted[i]);
    }
    free(md->wanted);
    memset(md, 0, sizeof *md);
}

bool broker_metadata_write_request(const struct broker_metadata *md, int16_t version, kw *w)
{
    struct kp_metadata_req_topic *ts = xcalloc(md->num_wanted + 1, sizeof *ts);
    for (size_t i = 0; i < md->num_wanted; i++) {
        ts[i].name = md->wanted[i];
    }
    struct kp_metadata_req req = {.topics = ts,
                                  .num_topics = md->num_wanted,
                                  .allow_auto_topic_creation =
                                      md->allow_auto_create || version < 4};
    bool ok = kp_metadata_req_write(w, version, &req);
    free(ts);
    return ok;
}

static bool wanted(const struct broker_metadata *md, const kr *name)
{
    for (size_t i = 0; i < md->num_wanted; i++) {
        if (kr_eq_cstr(name, md->wanted[i])) {
            return true;
        }
    }
    return false;
}

// read_topic fills |t| from one response topic; false if the entry is unusable.
static bool read_topic(const struct kp_metadata_iter *ti, const struct kp_metadata_topic *mt,
                       struct broker_md_topic *t)
{
    memset(t, 0, sizeof *t);
    t->name = xmalloc(mt->name.len + 1);
    if (!kr_copy_cstr(&mt->name, t->name, mt->name.len + 1)) {
        return false;
    }
    t->error_code = mt->error_code;
    memcpy(t->topic_id, mt->topic_id, 16);
    int32_t max_index = -1;
    struct kp_metadata_iter pi;
    struct kp_metadata_partition p;
    kp_metadata_partitions(ti, mt, &pi);
    while (kp_metadata_next_partition(&pi, &p)) {
        if (p.partition_index < 0 || p.partition_index >= MAX_PARTITIONS) {
            return false;
        }
        max_index = p.partition_index > max_index ? p.partition_index : max_index;
    }
    t->num_partitions = max_index + 1;
    size_t n = (size_t)t->num_partitions;
    t->leaders = xmalloc((n + 1) * sizeof *t->leaders);
    t->epochs = xmalloc((n + 1) * sizeof *t->epochs);
    for (size_t i = 0; i < n; i++) {
        t->leaders[i] = -1;
        t->epochs[i] = -1;
    }
    kp_metadata_partitions(ti, mt, &pi);
    while (kp_metadata_next_partition(&pi, &p)) {
        // A partition with an error (LEADER_NOT_AVAILABLE ...) has no usable leader now.
        t->leaders[p.partition_index] = p.error_code == 0 ? p.leader_id : -1;
        t->epochs[p.partition_index] = p.leader_epoch;
    }
    return true;
}

static void put_topic(struct broker_metadata *md, struct broker_md_topic *t)
{
    for (size_t i = 0; i < md->num_topics; i++) {
        if (!strcmp(md->topics[i].name, t->name)) {
            free_topic(&md->topics[i]);
            md->topics[i] = *t;
            return;
        }
    }
    md->topics = xrealloc(md->topics, (md->num_topics + 1) * sizeof *md->topics);
    md->topics[md->num_topics++] = *t;
}

enum kp_status broker_metadata_update(struct broker_metadata *md, const kr *body, int16_t version,
                                      struct kp_err *err)
{
    kr b = *body;
    struct kp_metadata_resp resp;
    enum kp_status st = kp_metadata_resp_parse(&b, version, &resp, err);
    if (st != KP_OK) {
        return st;
    }
    size_t nb = resp.num_brokers < MAX_BROKERS ? resp.num_brokers : MAX_BROKERS;
    struct broker_md_node *brokers = xcalloc(nb + 1, sizeof *brokers);
    size_t kept = 0;
    struct kp_metadata_iter it;
    struct kp_metadata_broker br;
    kp_metadata_brokers(&resp, &it);
    while (kept < nb && kp_metadata_next_broker(&it, &br)) {
        struct broker_md_node *c = &brokers[kept];
        if (br.port <= 0 || br.port > 65535 || !kr_copy_cstr(&br.host, c->host, sizeof c->host)) {
            continue;
        }
        c->id = br.node_id;
        c->port = (uint16_t)br.port;
        kept++;
    }
    free(md->brokers);
    md->brokers = brokers;
    md->num_brokers = kept;

    struct kp_metadata_topic mt;
    kp_metadata_topics(&resp, &it);
    while (kp_metadata_next_topic(&it, &mt)) {
        if (mt.name_null || !wanted(md, &mt.name)) {
            continue;
        }
        struct broker_md_topic t;
        if (read_topic(&it, &mt, &t)) {
            put_topic(md, &t);
        } else {
            free_topic(&t);
        }
    }
    return KP_OK;
}

const struct broker_md_node *broker_metadata_broker(const struct broker_metadata *md, int32_t id)
{
    for (size_t i = 0; i < md->num_brokers; i++) {
        if (md->brokers[i].id == id) {
            return &md->brokers[i];
        }
    }
    return NULL;
}

const struct broker_md_topic *broker_metadata_topic(const struct broker_metadata *md,
                                                    const char *name)
{
    for (size_t i = 0; i < md->num_topics; i++) {
        if (!strcmp(md->topics[i].name, name)) {
            return &md->topics[i];
        }
    }
    return NULL;
}

int32_t broker_metadata_leader(const struct broker_metadata *md, const char *topic,
                               int32_t partition, int32_t *out_epoch)
{
    const struct broker_md_topic *t = broker_metadata_topic(md, topic);
    *out_epoch = -1;
    if (!t || partition < 0 || partition >= t->num_partitions) {
        return -1;
    }
    *out_epoch = t->epochs[partition];
    return t->leaders[partition];
}
