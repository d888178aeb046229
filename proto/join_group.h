// join_group.h: JoinGroup (API 11) request writer and response parser, versions 2-9 (flexible
// 6+). Protocol metadata bytes are a ConsumerProtocolSubscription (proto/consumer_protocol.h)
// for protocol type "consumer". MEMBER_ID_REQUIRED (79, v4+) arrives as an error code with the
// generated member_id filled in; acting on it is the caller's business.
#ifndef PROTO_JOIN_GROUP_H
#define PROTO_JOIN_GROUP_H

#include "proto/kr.h"
#include "proto/kw.h"
#include "proto/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// One protocol (assignor) the member supports, in preference order. |metadata| may be NULL only
// when |metadata_len| is 0.
struct kp_join_group_req_protocol {
    const char *name;
    const uint8_t *metadata;
    size_t metadata_len;
};

// struct kp_join_group_req: strings are NUL-terminated and borrowed for the call.
// group_instance_id (NULL = dynamic member) needs v5+ and fails the writer below it; reason
// (NULL = none) exists from v8 and is left out below it (ignorable in the schema).
struct kp_join_group_req {
    const char *group_id;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    const char *member_id; // "" on the first join
    const char *group_instance_id;
    const char *protocol_type; // "consumer"
    const struct kp_join_group_req_protocol *protocols;
    size_t num_protocols;
    const char *reason;
};

bool kp_join_group_req_write(kw *w, int16_t version, const struct kp_join_group_req *req);

// struct kp_join_group_resp holds views into the response frame, which must outlive them.
// Walk the members (non-empty only for the leader) with kp_join_group_members and
// kp_join_group_next_member.
struct kp_join_group_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    int32_t generation_id;
    kr protocol_type; // v7+; null below v7 or when the broker sent null
    bool protocol_type_null;
    kr protocol_name; // nullable from v7 (null is accepted at every version, see below)
    bool protocol_name_null;
    // leader and member_id are empty if the peer sent null: the librdkafka mock sends null
    // strings with every JoinGroup error, which the parser accepts so the error stays visible.
    kr leader;
    bool skip_assignment; // v9+
    kr member_id;
    uint32_t num_members;
    kr members; // the encoded members array, after its count
    int16_t version;
};

struct kp_join_group_member {
    kr member_id;
    kr group_instance_id; // v5+; null below v5
    bool group_instance_id_null;
    kr metadata;
};

struct kp_join_group_member_iter {
    kr rest;
    uint32_t left;
    int16_t version;
};

enum kp_status kp_join_group_resp_parse(kr *body, int16_t version, struct kp_join_group_resp *out,
                                        struct kp_err *err);

// kp_join_group_members starts an iteration over |resp|'s members.
void kp_join_group_members(const struct kp_join_group_resp *resp,
                           struct kp_join_group_member_iter *out_it);
// kp_join_group_next_member gives the next member; false at the end.
bool kp_join_group_next_member(struct kp_join_group_member_iter *it,
                               struct kp_join_group_member *out);

#endif
