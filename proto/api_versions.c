// api_versions.c: ApiVersions v0-3 codec, the UNSUPPORTED_VERSION fallback and negotiation.
#include "proto/api_versions.h"

#include "proto/api.h"
#include "proto/flexwire.h"

#include <stdio.h>

// Smallest encoding of one ApiKeys entry: three int16, plus an empty tag section when flexible.
#define KEY_ENTRY_LEN 6
// More entries than any broker lists (Kafka 4.x has under 100 APIs); a bound for hostile input.
#define MAX_API_KEYS 1024

bool kp_api_versions_req_write(kw *w, int16_t version, const struct kp_api_versions_req *req)
{
    if (!kp_fw_version_ok(KP_API_API_VERSIONS, version)) {
        return kw_fail(w);
    }
    if (!kp_api_is_flexible(KP_API_API_VERSIONS, version)) {
        return kw_ok(w); // v0-2: empty body; the v3 strings are ignorable
    }
    if (!req->client_software_name || !req->client_software_version) {
        return kw_fail(w);
    }
    return kw_compact_str(w, req->client_software_name) &&
           kw_compact_str(w, req->client_software_version) && kw_empty_tags(w);
}

// read_key reads one entry; the iterator and the validating parser share it.
static bool read_key(kr *r, bool flexible, struct kp_api_versions_key *out)
{
    return kr_i16(r, &out->api_key) && kr_i16(r, &out->min_version) &&
           kr_i16(r, &out->max_version) && (!flexible || kr_skip_tags(r));
}

// parse_keys validates the ApiKeys array and sets |it| to a view of exactly its entries.
static enum kp_status parse_keys(kr *body, bool flexible, struct kp_api_versions_resp *out,
                                 struct kp_err *err)
{
    uint32_t n;
    bool ok = flexible ? kr_compact_array_count(body, KEY_ENTRY_LEN + 1, MAX_API_KEYS, &n, NULL)
                       : kr_array_count(body, KEY_ENTRY_LEN, MAX_API_KEYS, &n, NULL);
    if (!ok) {
        return kp_fail(err, body, "api_keys");
    }
    kr start = *body;
    for (uint32_t i = 0; i < n; i++) {
        struct kp_api_versions_key k;
        if (!read_key(body, flexible, &k)) {
            return kp_fail(err, body, "api_keys.entry");
        }
    }
    out->num_api_keys = n;
    out->api_keys.left = n;
    out->api_keys.flexible = flexible;
    if (!kr_sub(&start, &out->api_keys.r, kr_left(&start) - kr_left(body))) {
        return kp_fail(err, body, "api_keys");
    }
    return KP_OK;
}

enum kp_status kp_api_versions_resp_parse(kr *body, int16_t version,
                                          struct kp_api_versions_resp *out, struct kp_err *err)
{
    if (!kp_fw_version_ok(KP_API_API_VERSIONS, version)) {
        return kp_fail_as(err, body, "version", KP_ERR_VERSION);
    }
    bool flexible = kp_api_is_flexible(KP_API_API_VERSIONS, version);
    *out = (struct kp_api_versions_resp){0};
    if (!kr_i16(body, &out->error_code)) {
        return kp_fail(err, body, "error_code");
    }
    enum kp_status st = parse_keys(body, flexible, out, err);
    if (st != KP_OK) {
        return st;
    }
    if (version >= 1 && !kr_i32(body, &out->throttle_time_ms)) {
        return kp_fail(err, body, "throttle_time_ms");
    }
    if (flexible && !kr_skip_tags(body)) {
        return kp_fail(err, body, "tagged_fields");
    }
    if (!kr_expect_done(body)) {
        return kp_fail(err, body, "end of body");
    }
    return KP_OK;
}

void kp_api_versions_keys(const struct kp_api_versions_resp *resp,
                          struct kp_api_versions_iter *out_it)
{
    *out_it = resp->api_keys;
}

bool kp_api_versions_next_key(struct kp_api_versions_iter *it, struct kp_api_versions_key *out)
{
    if (it->left == 0) {
        return false;
    }
    if (!read_key(&it->r, it->flexible, out)) {
        it->left = 0;
        return false;
    }
    it->left--;
    return true;
}

int16_t kp_api_versions_fallback(const kr *body, int16_t sent_version)
{
    kr r = *body;
    int16_t code;
    if (!kr_i16(&r, &code) || code != KP_API_VERSIONS_UNSUPPORTED_VERSION) {
        return -1;
    }
    // Brokers >= 2.4 answer in the v0 layout whatever version was sent, listing key 18's range.
    kr v0 = *body;
    struct kp_api_versions_resp resp;
    if (kp_api_versions_resp_parse(&v0, 0, &resp, NULL) != KP_OK) {
        return 0;
    }
    const struct kp_api_info *ours = kp_api_info_get(KP_API_API_VERSIONS);
    struct kp_api_versions_iter it = resp.api_keys;
    struct kp_api_versions_key k;
    while (kp_api_versions_next_key(&it, &k)) {
        if (k.api_key != KP_API_API_VERSIONS) {
            continue;
        }
        int16_t v = k.max_version < ours->max_version ? k.max_version : ours->max_version;
        if (v >= 0 && v < sent_version && v >= k.min_version) {
            return v;
        }
        return 0;
    }
    return 0;
}

int16_t kp_versions_get(const struct kp_versions *vs, int16_t key)
{
    if (key < 0 || key > KP_API_KEY_MAX) {
        return -1;
    }
    return vs->v[key];
}

static const int16_t consumer_required[] = {
    KP_API_METADATA,      KP_API_FETCH,       KP_API_LIST_OFFSETS, KP_API_FIND_COORDINATOR,
    KP_API_JOIN_GROUP,    KP_API_SYNC_GROUP,  KP_API_HEARTBEAT,    KP_API_LEAVE_GROUP,
    KP_API_OFFSET_COMMIT, KP_API_OFFSET_FETCH};

const int16_t *kp_consumer_required_apis(size_t *out_n)
{
    *out_n = sizeof consumer_required / sizeof consumer_required[0];
    return consumer_required;
}

// broker_range finds |key| in the response; the last entry wins if a broker repeats a key.
static bool broker_range(const struct kp_api_versions_resp *resp, int16_t key,
                         struct kp_api_versions_key *out)
{
    bool found = false;
    struct kp_api_versions_iter it;
    struct kp_api_versions_key k;
    kp_api_versions_keys(resp, &it);
    while (kp_api_versions_next_key(&it, &k)) {
        if (k.api_key == key) {
            *out = k;
            found = true;
        }
    }
    return found;
}

static int16_t common_version(const struct kp_api_info *a, bool has,
                              const struct kp_api_versions_key *b)
{
    if (!has) {
        return -1;
    }
    int16_t hi = a->max_version < b->max_version ? a->max_version : b->max_version;
    int16_t lo = a->min_version > b->min_version ? a->min_version : b->min_version;
    return hi >= lo ? hi : -1;
}

static bool is_required(int16_t key, const int16_t *required, size_t num_required)
{
    for (size_t i = 0; i < num_required; i++) {
        if (required[i] == key) {
            return true;
        }
    }
    return false;
}

enum kp_status kp_negotiate(struct kp_versions *out, struct kp_negotiate_fail *fail,
                            const struct kp_api_versions_resp *resp, const int16_t *required,
                            size_t num_required)
{
    for (size_t i = 0; i <= KP_API_KEY_MAX; i++) {
        out->v[i] = -1;
    }
    size_t n_apis;
    const struct kp_api_info *apis = kp_api_all(&n_apis);
    bool failed = false;
    if (resp->error_code != 0 && fail) {
        const struct kp_api_info *a = kp_api_info_get(KP_API_API_VERSIONS);
        *fail = (struct kp_negotiate_fail){
            resp->error_code, KP_API_API_VERSIONS, a->min_version, a->max_version, false, -1, -1};
    }
    if (resp->error_code != 0) {
        return KP_ERR_UNSUPPORTED;
    }
    for (size_t i = 0; i < n_apis; i++) {
        const struct kp_api_info *a = &apis[i];
        if (a->key < 0 || a->key > KP_API_KEY_MAX) {
            continue;
        }
        struct kp_api_versions_key b = {a->key, -1, -1};
        bool has = broker_range(resp, a->key, &b);
        int16_t v = common_version(a, has, &b);
        out->v[a->key] = v;
        if (v < 0 && !failed && is_required(a->key, required, num_required)) {
            failed = true;
            if (fail) {
                *fail = (struct kp_negotiate_fail){
                    0, a->key, a->min_version, a->max_version, has, b.min_version, b.max_version};
            }
        }
    }
    // A required key kesm does not speak at all can never be satisfied.
    for (size_t i = 0; i < num_required && !failed; i++) {
        if (!kp_api_info_get(required[i])) {
            failed = true;
            if (fail) {
                *fail = (struct kp_negotiate_fail){0, required[i], -1, -1, false, -1, -1};
            }
        }
    }
    return failed ? KP_ERR_UNSUPPORTED : KP_OK;
}

const char *kp_negotiate_fail_str(const struct kp_negotiate_fail *fail, char *buf, size_t cap)
{
    if (cap == 0) {
        return buf;
    }
    const char *name = kp_api_name(fail->api_key);
    if (fail->error_code != 0) {
        snprintf(buf, cap, "%s (key %d): broker answered error %d", name, fail->api_key,
                 fail->error_code);
    } else if (fail->our_max < 0) {
        snprintf(buf, cap, "%s (key %d): not spoken by kesm", name, fail->api_key);
    } else if (!fail->broker_has) {
        snprintf(buf, cap, "%s (key %d): kesm supports v%d-%d, broker does not offer it", name,
                 fail->api_key, fail->our_min, fail->our_max);
    } else {
        snprintf(buf, cap, "%s (key %d): kesm supports v%d-%d, broker v%d-%d", name, fail->api_key,
                 fail->our_min, fail->our_max, fail->broker_min, fail->broker_max);
    }
    return buf;
}
