// leave_group.h: LeaveGroup (API 13) request writer and response parser, versions 0-5 (flexible
// 4+). v0-2 name one member (member_id); v3+ send a batch of member identities. One request
// shape covers both: below v3 it must hold exactly one member with no group_instance_id.
#ifndef PROTO_LEAVE_GROUP_H
#define PROTO_LEAVE_GROUP_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// One leaving member; strings are NUL-terminated and borrowed. reason (NULL = none) exists from
// v5 and is left out below it (ignorable in the schema).
struct kp_leave_group_req_member {
    const char *member_id;
    const char *group_instance_id; // NULL = dynamic member (v3+ only)
    const char *reason;
};

struct kp_leave_group_req {
    const char *group_id;
    const struct kp_leave_group_req_member *members;
    size_t num_members;
};

// kp_leave_group_req_write fails the writer on an out-of-range version, or below v3 unless
// there is exactly one member without a group_instance_id.
bool kp_leave_group_req_write(kw *w, int16_t version, const struct kp_leave_group_req *req);

// struct kp_leave_group_resp holds views into the response frame, which must outlive them.
// members (v3+) lists a result per member; below v3 it is empty.
struct kp_leave_group_resp {
    int32_t throttle_time_ms; // 0 below v1
    int16_t error_code;
    uint32_t num_members;
    kr members;
    int16_t version;
};

struct kp_leave_group_member {
    kr member_id;
    kr group_instance_id;
    bool group_instance_id_null;
    int16_t error_code;
};

struct kp_leave_group_member_iter {
    kr rest;
    uint32_t left;
    int16_t version;
};

enum kp_status kp_leave_group_resp_parse(kr *body, int16_t version, struct kp_leave_group_resp *out,
                                         struct kp_err *err);
void kp_leave_group_members(const struct kp_leave_group_resp *resp,
                            struct kp_leave_group_member_iter *out_it);
bool kp_leave_group_next_member(struct kp_leave_group_member_iter *it,
                                struct kp_leave_group_member *out);

#endif
