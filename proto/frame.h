// frame.h: splitting a byte stream into Kafka frames (int32 size prefix + payload).
#ifndef PROTO_FRAME_H
#define PROTO_FRAME_H

#include "proto/kr.h"
#include "proto/status.h"

#include <stddef.h>
#include <stdint.h>

// kp_frame_split looks at the start of |buf| (|len| bytes buffered so far) and answers, like
// picohttpparser, one of three ways:
//   KP_OK          a whole frame is there: |out_frame| views its payload (without the prefix) and
//                  *out_consumed is prefix + payload, the bytes to drop from the stream;
//   KP_NEED_MORE   not yet: *out_need is the total bytes needed to make progress (4 while the
//                  prefix is incomplete, then 4 + size), so a caller can reserve before reading;
//   KP_ERR_LIMIT   the size prefix exceeds |max_frame| (checked before anything is allocated);
//   KP_ERR_MALFORMED the size prefix is negative.
// Nothing is allocated; |out_frame| borrows |buf|.
enum kp_status kp_frame_split(const uint8_t *buf, size_t len, size_t max_frame, kr *out_frame,
                              size_t *out_consumed, size_t *out_need);

#endif
