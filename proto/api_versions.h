// api_versions.h: ApiVersions (key 18) v0-3 and version negotiation.
//
// Connection start (KIP-35, KIP-511):
//   1. send ApiVersions (v3 by default; kp_api_versions_req_write writes the body);
//   2. read the response header (always header v0, even for v3) with kp_resp_hdr_parse;
//   3. call kp_api_versions_fallback on the body FIRST: if it returns >= 0 the broker answered
//      UNSUPPORTED_VERSION (35) and the body must not be trusted; resend ApiVersions at the version
//      it returns (0 when nothing better is known; a broker that refuses v0 too is hopeless,
//      so retry at most once);
//   4. otherwise parse the body with kp_api_versions_resp_parse, then call kp_negotiate to fill a
//      struct kp_versions with the version to use for every API kesm speaks.
//
// Layouts (apache/kafka ApiVersionsRequest.json / ApiVersionsResponse.json):
//   request  v0-2: empty body; v3: ClientSoftwareName, ClientSoftwareVersion (compact strings),
//            tags.
//   response v0: ErrorCode int16, ApiKeys [ApiKey int16, MinVersion int16, MaxVersion int16];
//            v1-2: + ThrottleTimeMs int32 (after ApiKeys);
//            v3: compact array, every entry and the body end with a tagged-field section
//            (tags 0-3 carry feature information kesm does not use; they are skipped).
#ifndef PROTO_API_VERSIONS_H
#define PROTO_API_VERSIONS_H

#include "proto/api.h"
#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// KP_API_KEY_MAX is the largest API key in enum kp_api_key: struct kp_versions has one slot per
// key up to it.
#define KP_API_KEY_MAX 36

// KP_API_VERSIONS_UNSUPPORTED_VERSION is the Kafka error code that starts the ApiVersions fallback.
#define KP_API_VERSIONS_UNSUPPORTED_VERSION 35

// struct kp_api_versions_req: the request body. Both strings are used from v3 on and must then be
// non-NULL and match [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])? or the broker answers
// INVALID_REQUEST (42); the writer fails on NULL at v3. Before v3 they are ignored.
struct kp_api_versions_req {
    const char *client_software_name;    // e.g. "kesm"
    const char *client_software_version; // e.g. "0.1.0"
};

// kp_api_versions_req_write writes the body for |version| (0-3); fails |w| otherwise.
bool kp_api_versions_req_write(kw *w, int16_t version, const struct kp_api_versions_req *req);

// struct kp_api_versions_key: one entry of the broker's list.
struct kp_api_versions_key {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
};

// struct kp_api_versions_iter walks the validated ApiKeys array. Copy it out of the response and
// call kp_api_versions_next_key until it returns false.
struct kp_api_versions_iter {
    kr r;
    uint32_t left;
    bool flexible;
};

// struct kp_api_versions_resp: a parsed response body. |api_keys| is a view into the frame: the
// frame must outlive it.
struct kp_api_versions_resp {
    int16_t error_code;
    int32_t throttle_time_ms; // 0 before v1
    uint32_t num_api_keys;
    struct kp_api_versions_iter api_keys;
};

// kp_api_versions_resp_parse parses and validates a whole response body of |version| (0-3).
// Returns KP_OK, KP_ERR_VERSION for a version outside 0-3, or a parse error with |err| naming the
// field and offset. A non-zero error_code is not a parse error: check out->error_code.
enum kp_status kp_api_versions_resp_parse(kr *body, int16_t version,
                                          struct kp_api_versions_resp *out, struct kp_err *err);

// kp_api_versions_keys starts an iteration over the broker's list (the same as copying
// resp->api_keys); kp_api_versions_next_key stores the next entry in |out| and returns false at
// the end.
void kp_api_versions_keys(const struct kp_api_versions_resp *resp,
                          struct kp_api_versions_iter *out_it);
bool kp_api_versions_next_key(struct kp_api_versions_iter *it, struct kp_api_versions_key *out);

// kp_api_versions_fallback looks at the first two bytes of a response body to ApiVersions
// |sent_version|. It returns -1 when the error code is not UNSUPPORTED_VERSION (35): parse the
// body normally. On 35 it returns the version to retry with: if the body parses cleanly in the
// v0 layout (what brokers >= 2.4 send) and lists key 18 with a max below |sent_version|, that
// max (capped at kesm's own max); otherwise 0. The body is not consumed. A body too short for
// the error code also returns -1 (the normal parse then reports the truncation).
int16_t kp_api_versions_fallback(const kr *body, int16_t sent_version);

// struct kp_versions: the negotiated version of each API, indexed by API key; -1 = not available
// (kesm does not speak it, the broker does not list it, or the ranges do not overlap).
struct kp_versions {
    int16_t v[KP_API_KEY_MAX + 1];
};

// kp_versions_get returns the negotiated version of |key|, or -1 (also for keys out of range).
int16_t kp_versions_get(const struct kp_versions *vs, int16_t key);

// struct kp_negotiate_fail describes the first required API that has no common version.
struct kp_negotiate_fail {
    int16_t error_code; // non-zero: the ApiVersions response itself carried this error
    int16_t api_key;
    int16_t our_min, our_max;
    bool broker_has;                // false: the broker does not list the API at all
    int16_t broker_min, broker_max; // valid when broker_has
};

// kp_consumer_required_apis returns the APIs a consumer cannot work without (Metadata, Fetch,
// ListOffsets, FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
// OffsetFetch); |*out_n| gets the count. SASL APIs are required only when SASL is configured:
// the caller appends them.
const int16_t *kp_consumer_required_apis(size_t *out_n);

// kp_negotiate fills |out| from a parsed response: for every API in kesm's table (proto/api.c)
// the highest version both sides support, min(our max, broker max) when the ranges overlap, else
// -1. Entries for keys kesm does not speak stay -1. Returns KP_OK, or KP_ERR_UNSUPPORTED when one
// of the |num_required| keys in |required| has no common version (|fail|, which may be NULL,
// then describes the first such key; |out| is still filled). A response with a non-zero
// error_code gives KP_ERR_UNSUPPORTED too, with fail->error_code set and fail->api_key = 18.
enum kp_status kp_negotiate(struct kp_versions *out, struct kp_negotiate_fail *fail,
                            const struct kp_api_versions_resp *resp, const int16_t *required,
                            size_t num_required);

// kp_negotiate_fail_str writes a one-line description such as
// "Fetch (key 1): kesm supports v4-12, broker v0-3" into |buf| (NUL-terminated, truncated to
// |cap|) and returns |buf|.
const char *kp_negotiate_fail_str(const struct kp_negotiate_fail *fail, char *buf, size_t cap);

#endif
