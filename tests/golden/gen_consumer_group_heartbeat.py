#!/usr/bin/env python3
"""gen_consumer_group_heartbeat.py: writes the ConsumerGroupHeartbeat (API 68) golden files.

No Kafka 4.x broker is available here, so the bytes are assembled field by field from the
Kafka 4.0 JSON schemas (ConsumerGroupHeartbeatRequest.json / ConsumerGroupHeartbeatResponse.json,
validVersions 0-1, flexibleVersions 0+) with an encoder written independently of kesm's
(compact strings and arrays: unsigned varint length + 1, 0 = null; uuid: 16 raw bytes; nullable
struct: int8 -1 for null, 1 then the struct; every struct and the body end with a tagged-field
section, here empty: one 0 byte). Comparing kesm's writer with these files, and parsing them, are
cross-checks of two encoders. Run from the repository root:

    python3 tests/golden/gen_consumer_group_heartbeat.py
"""
import struct

TOPIC_A = bytes(range(0x10, 0x20))  # a topic id: 10 11 ... 1f
TOPIC_B = bytes(range(0xA0, 0xB0))


def uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def cstr(s):  # compact nullable string
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


def carray(items, enc):  # compact nullable array
    if items is None:
        return uvarint(0)
    return uvarint(len(items) + 1) + b"".join(enc(i) for i in items)


def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


TAGS = b"\x00"


def topic_partitions(tp):
    tid, parts = tp
    return tid + carray(parts, i32) + TAGS


def request(version, group, member, epoch, instance, rack, rebalance_ms, topics, regex,
            assignor, owned):
    body = cstr(group) + cstr(member) + i32(epoch) + cstr(instance) + cstr(rack)
    body += i32(rebalance_ms) + carray(topics, cstr)
    if version >= 1:
        body += cstr(regex)
    body += cstr(assignor) + carray(owned, topic_partitions) + TAGS
    return body


def response(corr, throttle, err, msg, member, epoch, interval, assignment):
    body = i32(throttle) + i16(err) + cstr(msg) + cstr(member) + i32(epoch) + i32(interval)
    if assignment is None:
        body += i8(-1)
    else:
        body += i8(1) + carray(assignment, topic_partitions) + TAGS
    body += TAGS
    frame = i32(corr) + TAGS + body  # response header v1: correlation id, tags
    return i32(len(frame)) + frame


FILES = {
    # The join of a v1 member: its own member id, epoch 0, the full subscription, owned empty.
    "cghb_req_v1_join.bin": request(1, "orders-group", "6nRZkx8ZQ5eYv0rMXb3b9w", 0, None, None,
                                    300000, ["orders"], None, None, []),
    # A v0 heartbeat acknowledging an assignment: epoch 7, owned partitions by topic id.
    "cghb_req_v0_ack.bin": request(0, "orders-group", "m-1", 7, None, None, -1, None, None,
                                   None, [(TOPIC_A, [0, 2]), (TOPIC_B, [])]),
    # Leaving: epoch -1.
    "cghb_req_v1_leave.bin": request(1, "g", "m-1", -1, None, None, -1, None, None, None, None),
    # The answer to a join: member id, epoch 1, interval 5000, two topics assigned.
    "cghb_resp_v1_assign.bin": response(3, 0, 0, None, "6nRZkx8ZQ5eYv0rMXb3b9w", 1, 5000,
                                        [(TOPIC_A, [0, 1, 2]), (TOPIC_B, [5])]),
    # A plain heartbeat answer: no assignment change (null).
    "cghb_resp_v0_null.bin": response(4, 25, 0, None, None, 7, 3000, None),
    # FENCED_MEMBER_EPOCH with a message.
    "cghb_resp_v1_fenced.bin": response(5, 0, 110, "The consumer group member has a greater "
                                        "member epoch (9) than the one known by the group "
                                        "coordinator (7).", None, 0, 0, None),
}

for name, data in FILES.items():
    with open("tests/golden/" + name, "wb") as f:
        f.write(data)
