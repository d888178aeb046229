// fuzz_resp_cluster.c: the connection, cluster and produce response parsers: ApiVersions 0-3
// (plus the UNSUPPORTED_VERSION fallback and negotiation), Metadata 1-12, FindCoordinator 0-4,
// ListOffsets 1-7, SaslHandshake 0-1, SaslAuthenticate 0-2, Produce 3-9. The first byte picks
// the API and version (index into the flattened list below, modulo its length), the rest is a
// response body. On KP_OK every iterator is walked to its end: item counts must match and every
// view must lie inside the input.
#include "proto/api.h"
#include "proto/api_versions.h"
#include "proto/find_coordinator.h"
#include "proto/list_offsets.h"
#include "proto/metadata.h"
#include "proto/produce.h"
#include "proto/sasl_authenticate.h"
#include "proto/sasl_handshake.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *in_start;
static const uint8_t *in_end;

static void assert_inside(const kr *v)
{
    if (v->len > 0) {
        assert(v->p >= in_start && v->p + v->len <= in_end);
    }
}

// check_status: success consumed every byte; a failure names a field at an offset inside the
// input.
static bool check_status(enum kp_status st, const struct kp_err *err, const kr *body)
{
    if (st == KP_OK) {
        assert(kr_done(body));
        return true;
    }
    assert(st == KP_ERR_TRUNCATED || st == KP_ERR_MALFORMED || st == KP_ERR_LIMIT);
    assert(err->field != NULL);
    assert(err->offset <= (size_t)(in_end - in_start));
    return false;
}

static void api_versions(kr *body, int16_t version)
{
    int16_t fb = kp_api_versions_fallback(body, version);
    assert(fb >= -1 && fb <= 3 && (fb < 0 || fb < version || fb == 0));
    struct kp_api_versions_resp resp;
    struct kp_err err = {0};
    if (!check_status(kp_api_versions_resp_parse(body, version, &resp, &err), &err, body)) {
        return;
    }
    assert_inside(&resp.api_keys.r);
    struct kp_api_versions_iter it = resp.api_keys;
    struct kp_api_versions_key k;
    uint32_t n = 0;
    while (kp_api_versions_next_key(&it, &k)) {
        n++;
    }
    assert(n == resp.num_api_keys);
    struct kp_versions vs;
    size_t n_req;
    const int16_t *req = kp_consumer_required_apis(&n_req);
    struct kp_negotiate_fail fail;
    enum kp_status st = kp_negotiate(&vs, &fail, &resp, req, n_req);
    assert(st == KP_OK || st == KP_ERR_UNSUPPORTED);
    for (int16_t key = 0; key <= KP_API_KEY_MAX; key++) {
        int16_t v = kp_versions_get(&vs, key);
        const struct kp_api_info *a = kp_api_info_get(key);
        assert(v == -1 || (a && v >= a->min_version && v <= a->max_version));
    }
    char line[160];
    if (st != KP_OK) {
        kp_negotiate_fail_str(&fail, line, sizeof line);
    }
}

static void metadata_partitions(const struct kp_metadata_iter *ti,
                                const struct kp_metadata_topic *t)
{
    struct kp_metadata_iter pi;
    struct kp_metadata_partition p;
    uint32_t n = 0;
    kp_metadata_partitions(ti, t, &pi);
    while (kp_metadata_next_partition(&pi, &p)) {
        assert_inside(&p.replica_nodes);
        assert_inside(&p.isr_nodes);
        assert_inside(&p.offline_replicas);
        assert(p.replica_nodes.len == (size_t)p.num_replicas * 4);
        assert(p.isr_nodes.len == (size_t)p.num_isr * 4);
        assert(p.offline_replicas.len == (size_t)p.num_offline * 4);
        for (uint32_t i = 0; i < p.num_replicas; i++) {
            (void)kp_metadata_node(&p.replica_nodes, i);
        }
        n++;
    }
    assert(n == t->num_partitions);
}

static void metadata(kr *body, int16_t version)
{
    struct kp_metadata_resp resp;
    struct kp_err err = {0};
    if (!check_status(kp_metadata_resp_parse(body, version, &resp, &err), &err, body)) {
        return;
    }
    assert_inside(&resp.cluster_id);
    struct kp_metadata_iter it;
    struct kp_metadata_broker b;
    uint32_t n = 0;
    kp_metadata_brokers(&resp, &it);
    while (kp_metadata_next_broker(&it, &b)) {
        assert_inside(&b.host);
        assert_inside(&b.rack);
        n++;
    }
    assert(n == resp.num_brokers);
    struct kp_metadata_topic t;
    n = 0;
    kp_metadata_topics(&resp, &it);
    while (kp_metadata_next_topic(&it, &t)) {
        assert_inside(&t.name);
        assert_inside(&t.partitions);
        metadata_partitions(&it, &t);
        n++;
    }
    assert(n == resp.num_topics);
}

static void find_coordinator(kr *body, int16_t version)
{
    struct kp_find_coordinator_resp resp;
    struct kp_err err = {0};
    if (!check_status(kp_find_coordinator_resp_parse(body, version, &resp, &err), &err, body)) {
        return;
    }
    struct kp_find_coordinator_iter it;
    struct kp_find_coordinator_coord c;
    uint32_t n = 0;
    kp_find_coordinator_coordinators(&resp, &it);
    while (kp_find_coordinator_next_coordinator(&it, &c)) {
        assert_inside(&c.key);
        assert_inside(&c.host);
        assert_inside(&c.error_message);
        n++;
    }
    assert(n == resp.num_coordinators);
    assert(version >= 4 || n == 1);
}

static void list_offsets(kr *body, int16_t version)
{
    struct kp_list_offsets_resp resp;
    struct kp_err err = {0};
    if (!check_status(kp_list_offsets_resp_parse(body, version, &resp, &err), &err, body)) {
        return;
    }
    struct kp_list_offsets_iter ti, pi;
    struct kp_list_offsets_topic t;
    struct kp_list_offsets_partition p;
    uint32_t nt = 0;
    kp_list_offsets_topics(&resp, &ti);
    while (kp_list_offsets_next_topic(&ti, &t)) {
        assert_inside(&t.name);
        uint32_t np = 0;
        kp_list_offsets_partitions(&ti, &t, &pi);
        while (kp_list_offsets_next_partition(&pi, &p)) {
            assert(version >= 4 || p.leader_epoch == -1);
            np++;
        }
        assert(np == t.num_partitions);
        nt++;
    }
    assert(nt == resp.num_topics);
}

static void sasl_handshake(kr *body, int16_t version)
{
    struct kp_sasl_handshake_resp resp;
    struct kp_err err = {0};
    if (!check_status(kp_sasl_handshake_resp_parse(body, version, &resp, &err), &err, body)) {
        return;
    }
    struct kp_sasl_handshake_iter it;
    kr m;
    uint32_t n = 0;
    kp_sasl_handshake_mechanisms(&resp, &it);
    while (kp_sasl_handshake_next_mechanism(&it, &m)) {
        assert_inside(&m);
        n++;
    }
    assert(n == resp.num_mechanisms);
    (void)kp_sasl_handshake_has_mechanism(&resp, "SCRAM-SHA-512");
}

static void sasl_authenticate(kr *body, int16_t version)
{
    struct kp_sasl_authenticate_resp resp;
    struct kp_err err = {0};
    if (!check_status(kp_sasl_authenticate_resp_parse(body, version, &resp, &err), &err, body)) {
        return;
    }
    assert_inside(&resp.error_message);
    assert_inside(&resp.auth_bytes);
    assert(!resp.error_message_null || resp.error_message.len == 0);
    assert(version >= 1 || resp.session_lifetime_ms == 0);
}

static void produce_partitions(const struct kp_produce_iter *ti, const struct kp_produce_topic *t)
{
    struct kp_produce_iter pi, ei;
    struct kp_produce_partition p;
    struct kp_produce_record_error e;
    uint32_t np = 0;
    kp_produce_partitions(ti, t, &pi);
    while (kp_produce_next_partition(&pi, &p)) {
        assert_inside(&p.error_message);
        uint32_t ne = 0;
        kp_produce_record_errors(&pi, &p, &ei);
        while (kp_produce_next_record_error(&ei, &e)) {
            assert_inside(&e.message);
            ne++;
        }
        assert(ne == p.num_record_errors);
        np++;
    }
    assert(np == t->num_partitions);
}

static void produce(kr *body, int16_t version)
{
    struct kp_produce_resp resp;
    struct kp_err err = {0};
    if (!check_status(kp_produce_resp_parse(body, version, &resp, &err), &err, body)) {
        return;
    }
    struct kp_produce_iter ti;
    struct kp_produce_topic t;
    uint32_t nt = 0;
    kp_produce_topics(&resp, &ti);
    while (kp_produce_next_topic(&ti, &t)) {
        assert_inside(&t.name);
        produce_partitions(&ti, &t);
        nt++;
    }
    assert(nt == resp.num_topics);
}

struct target {
    void (*run)(kr *body, int16_t version);
    int16_t min_version;
    int16_t num_versions;
};

// Selector byte: ApiVersions 0-3 = 0..3, Metadata 1-12 = 4..15, FindCoordinator 0-4 = 16..20,
// ListOffsets 1-7 = 21..27, SaslHandshake 0-1 = 28..29, SaslAuthenticate 0-2 = 30..32,
// Produce 3-9 = 33..39.
static const struct target targets[] = {
    {api_versions, 0, 4}, {metadata, 1, 12},      {find_coordinator, 0, 5},
    {list_offsets, 1, 7}, {sasl_handshake, 0, 2}, {sasl_authenticate, 0, 3},
    {produce, 3, 7},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    int total = 0;
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        total += targets[i].num_versions;
    }
    int sel = data[0] % total;
    size_t t = 0;
    while (sel >= targets[t].num_versions) {
        sel -= targets[t].num_versions;
        t++;
    }
    in_start = data + 1;
    in_end = data + size;
    kr body;
    kr_init(&body, data + 1, size - 1);
    targets[t].run(&body, (int16_t)(targets[t].min_version + sel));
    return 0;
}
