// fuzz_consumer_protocol.c: ConsumerProtocolSubscription / ConsumerProtocolAssignment decoding
// with a round trip. The first byte picks the blob type (even: subscription, odd: assignment),
// the rest is the blob. A blob that decodes at version 0-3 must re-encode to exactly the same
// bytes (write(parse(x)) == x), unless a topic name holds a NUL byte (the encoder takes C
// strings). Iterators must yield exactly the parsed counts.
#include "proto/consumer_protocol.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// cstr returns a malloc'd NUL-terminated copy of |v|, or NULL if |v| holds a NUL byte.
static char *cstr(const kr *v)
{
    if (v->len > 0 && memchr(v->p, 0, v->len)) {
        return NULL;
    }
    char *s = malloc(v->len + 1);
    assert(s);
    if (v->len > 0) {
        memcpy(s, v->p, v->len);
    }
    s[v->len] = 0;
    return s;
}

struct tps {
    struct kp_consumer_topic_partitions *items;
    char **names;    // owned copies behind items[i].topic
    int32_t **parts; // owned arrays behind items[i].partitions
    size_t n;
    bool ok; // every topic name is a C string
};

static void tps_build(struct tps *out, const kr *view, uint32_t count)
{
    size_t cap = count ? count : 1;
    out->items = calloc(cap, sizeof *out->items);
    out->names = calloc(cap, sizeof *out->names);
    out->parts = calloc(cap, sizeof *out->parts);
    assert(out->items && out->names && out->parts);
    out->n = 0;
    out->ok = true;
    struct kp_consumer_iter it, pit;
    struct kp_consumer_tp_view tp;
    kp_consumer_iter_init(&it, view, count);
    while (kp_consumer_next_topic_partitions(&it, &tp)) {
        struct kp_consumer_topic_partitions *t = &out->items[out->n];
        out->names[out->n] = cstr(&tp.topic);
        t->topic = out->names[out->n];
        out->ok = out->ok && t->topic != NULL;
        int32_t *parts = malloc((tp.num_partitions ? tp.num_partitions : 1) * sizeof *parts);
        assert(parts);
        out->parts[out->n++] = parts;
        size_t np = 0;
        kp_consumer_iter_init(&pit, &tp.partitions, tp.num_partitions);
        while (kp_consumer_next_partition(&pit, &parts[np])) {
            np++;
        }
        assert(np == tp.num_partitions);
        t->partitions = parts;
        t->num_partitions = np;
    }
    assert(out->n == count);
}

static void tps_free(struct tps *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->names[i]);
        free(t->parts[i]);
    }
    free(t->items);
    free(t->names);
    free(t->parts);
}

static void check_encoded(kw *w, const uint8_t *want, size_t want_len)
{
    size_t len;
    assert(kw_finish(w, &len));
    assert(len == want_len);
    assert(memcmp(kw_data(w), want, len) == 0);
    kw_cleanup(w);
}

static const uint8_t *user_data_ptr(const kr *v, bool is_null)
{
    if (is_null) {
        return NULL;
    }
    return v->len ? v->p : (const uint8_t *)"";
}

static void subscription(const uint8_t *data, size_t size)
{
    kr r;
    kr_init(&r, data, size);
    struct kp_consumer_subscription_view v;
    if (kp_consumer_subscription_parse(&r, &v, NULL) != KP_OK) {
        return;
    }
    char **names = calloc(v.num_topics ? v.num_topics : 1, sizeof *names);
    assert(names);
    bool ok = true;
    struct kp_consumer_iter it;
    kr name;
    size_t n = 0;
    kp_consumer_iter_init(&it, &v.topics, v.num_topics);
    while (kp_consumer_next_topic_name(&it, &name)) {
        names[n] = cstr(&name);
        ok = ok && names[n];
        n++;
    }
    assert(n == v.num_topics);
    struct tps owned;
    tps_build(&owned, &v.owned, v.num_owned);
    char *rack = v.rack_id_null ? NULL : cstr(&v.rack_id);
    ok = ok && owned.ok && (v.rack_id_null || rack);
    if (ok && v.version <= KP_CONSUMER_PROTOCOL_MAX_VERSION) {
        struct kp_consumer_subscription s = {.version = v.version,
                                             .topics = (const char *const *)names,
                                             .num_topics = n,
                                             .user_data =
                                                 user_data_ptr(&v.user_data, v.user_data_null),
                                             .user_data_len = v.user_data.len,
                                             .owned = owned.items,
                                             .num_owned = owned.n,
                                             .generation_id = v.generation_id,
                                             .rack_id = rack};
        kw w;
        kw_init_grow(&w);
        assert(kp_consumer_subscription_write(&w, &s));
        check_encoded(&w, data, size);
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    free(rack);
    tps_free(&owned);
}

static void assignment(const uint8_t *data, size_t size)
{
    kr r;
    kr_init(&r, data, size);
    struct kp_consumer_assignment_view v;
    if (kp_consumer_assignment_parse(&r, &v, NULL) != KP_OK) {
        return;
    }
    struct tps asg;
    tps_build(&asg, &v.assigned, v.num_assigned);
    if (size > 0 && asg.ok && v.version <= KP_CONSUMER_PROTOCOL_MAX_VERSION) {
        struct kp_consumer_assignment a = {.version = v.version,
                                           .assigned = asg.items,
                                           .num_assigned = asg.n,
                                           .user_data =
                                               user_data_ptr(&v.user_data, v.user_data_null),
                                           .user_data_len = v.user_data.len};
        kw w;
        kw_init_grow(&w);
        assert(kp_consumer_assignment_write(&w, &a));
        check_encoded(&w, data, size);
    }
    tps_free(&asg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    if (data[0] % 2 == 0) {
        subscription(data + 1, size - 1);
    } else {
        assignment(data + 1, size - 1);
    }
    return 0;
}
