// api.h: the Kafka APIs kesm speaks, the version ranges it supports, which versions are flexible,
// and the request/response headers.
//
// Header rules (KIP-482, KIP-511): a request uses header v2 (v1 + tagged fields) from the API's
// first flexible version on, v1 before; a response uses header v1 (correlation id + tagged
// fields) from the same version, v0 before, except ApiVersions whose response header is always v0.
// SaslHandshake is never flexible.
#ifndef PROTO_API_H
#define PROTO_API_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stdint.h>

enum kp_api_key {
    KP_API_PRODUCE = 0,
    KP_API_FETCH = 1,
    KP_API_LIST_OFFSETS = 2,
    KP_API_METADATA = 3,
    KP_API_OFFSET_COMMIT = 8,
    KP_API_OFFSET_FETCH = 9,
    KP_API_FIND_COORDINATOR = 10,
    KP_API_JOIN_GROUP = 11,
    KP_API_HEARTBEAT = 12,
    KP_API_LEAVE_GROUP = 13,
    KP_API_SYNC_GROUP = 14,
    KP_API_SASL_HANDSHAKE = 17,
    KP_API_CREATE_TOPICS = 19,
    KP_API_API_VERSIONS = 18,
    KP_API_SASL_AUTHENTICATE = 36,
    KP_API_CONSUMER_GROUP_HEARTBEAT = 68,
};

struct kp_api_info {
    int16_t key;
    const char *name;       // "Fetch"
    int16_t min_version;    // lowest version kesm writes and parses
    int16_t max_version;    // highest version kesm writes and parses
    int16_t first_flexible; // first flexible version; INT16_MAX if never flexible
};

// kp_api_info_get returns the entry for |key|, or NULL for an API kesm does not speak.
const struct kp_api_info *kp_api_info_get(int16_t key);
// kp_api_name returns the API's name, or "Unknown" for one not in the table.
const char *kp_api_name(int16_t key);
// kp_api_all returns the table (|*out_n| entries), in ascending key order.
const struct kp_api_info *kp_api_all(size_t *out_n);

// kp_api_is_flexible returns whether |version| of |key| uses compact encodings and tags.
bool kp_api_is_flexible(int16_t key, int16_t version);
// kp_req_hdr_version returns 1 or 2; kp_resp_hdr_version returns 0 or 1.
int kp_req_hdr_version(int16_t key, int16_t version);
int kp_resp_hdr_version(int16_t key, int16_t version);

// kp_req_hdr_write writes the request header (v1 or v2, chosen from |key| and |version|).
// |client_id| may be NULL (written as a null string).
bool kp_req_hdr_write(kw *w, int16_t key, int16_t version, int32_t correlation_id,
                      const char *client_id);

// kp_req_begin starts a whole request frame: it reserves the int32 size prefix (its position goes
// to *out_pos) and writes the header. The caller then writes the body with the API's
// kp_<api>_req_write and closes the frame with kp_req_end, which back-patches the size.
bool kp_req_begin(kw *w, int16_t key, int16_t version, int32_t correlation_id,
                  const char *client_id, size_t *out_pos);
bool kp_req_end(kw *w, size_t pos);

// kp_resp_hdr_parse reads the response header for a response to |key| at |version| and leaves
// |frame| at the start of the body.
enum kp_status kp_resp_hdr_parse(kr *frame, int16_t key, int16_t version, int32_t *out_corr_id,
                                 struct kp_err *err);

// kp_req_hdr_parse reads a request header (used by tests and by the fuzz harnesses that check
// writer output). The client id is returned as a view.
struct kp_req_hdr {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    kr client_id;
    bool client_id_null;
};
enum kp_status kp_req_hdr_parse(kr *frame, struct kp_req_hdr *out, struct kp_err *err);

#endif
