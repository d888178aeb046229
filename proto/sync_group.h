// sync_group.h: SyncGroup (API 14) request writer and response parser, versions 0-5 (flexible
// 4+). The assignment bytes are a ConsumerProtocolAssignment (proto/consumer_protocol.h) for
// protocol type "consumer".
#ifndef PROTO_SYNC_GROUP_H
#define PROTO_SYNC_GROUP_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// One member's assignment, sent by the leader (followers send none). |assignment| may be NULL
// only when |assignment_len| is 0 (empty bytes).
struct kp_sync_group_req_assignment {
    const char *member_id;
    const uint8_t *assignment;
    size_t assignment_len;
};

// struct kp_sync_group_req: strings are NUL-terminated and borrowed for the call.
// group_instance_id needs v3+ (set below v3 it fails the writer); protocol_type and
// protocol_name exist from v5 and are left out below it (the schema marks them ignorable).
struct kp_sync_group_req {
    const char *group_id;
    int32_t generation_id;
    const char *member_id;
    const char *group_instance_id; // NULL = dynamic member
    const char *protocol_type;     // NULL allowed (null)
    const char *protocol_name;     // NULL allowed (null)
    const struct kp_sync_group_req_assignment *assignments;
    size_t num_assignments;
};

bool kp_sync_group_req_write(kw *w, int16_t version, const struct kp_sync_group_req *req);

// struct kp_sync_group_resp holds views into the response frame, which must outlive them.
struct kp_sync_group_resp {
    int32_t throttle_time_ms; // 0 below v1
    int16_t error_code;
    kr protocol_type; // v5+; *_null is true below v5 and when the broker sent null
    bool protocol_type_null;
    kr protocol_name;
    bool protocol_name_null;
    kr assignment; // the member's assignment bytes (possibly empty)
    // assignment_null: the schema does not allow a null assignment, but the librdkafka mock
    // sends one with every error (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, ...), so the
    // parser accepts it (as librdkafka does) rather than hide the error code; |assignment| is
    // then empty.
    bool assignment_null;
};

enum kp_status kp_sync_group_resp_parse(kr *body, int16_t version, struct kp_sync_group_resp *out,
                                        struct kp_err *err);

#endif
