// heartbeat.h: Heartbeat (API 12) request writer and response parser, versions 0-4 (flexible 4+).
#ifndef PROTO_HEARTBEAT_H
#define PROTO_HEARTBEAT_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stdint.h>

// struct kp_heartbeat_req: strings are NUL-terminated and borrowed for the call.
// group_instance_id (NULL = dynamic member) needs v3+; set below v3 it fails the writer.
struct kp_heartbeat_req {
    const char *group_id;
    int32_t generation_id;
    const char *member_id;
    const char *group_instance_id;
};

// kp_heartbeat_req_write writes the request body; false if |version| is out of range or a field
// cannot be represented at it (the kw is then failed).
bool kp_heartbeat_req_write(kw *w, int16_t version, const struct kp_heartbeat_req *req);

struct kp_heartbeat_resp {
    int32_t throttle_time_ms; // 0 below v1
    int16_t error_code;
};

// kp_heartbeat_resp_parse parses the response body (after the header) and requires every byte
// to be used.
enum kp_status kp_heartbeat_resp_parse(kr *body, int16_t version, struct kp_heartbeat_resp *out,
                                       struct kp_err *err);

#endif
