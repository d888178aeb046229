// frame.c: the frame splitter.
#include "proto/frame.h"

enum kp_status kp_frame_split(const uint8_t *buf, size_t len, size_t max_frame, kr *out_frame,
                              size_t *out_consumed, size_t *out_need)
{
    kr r;
    int32_t size;

    *out_consumed = 0;
    *out_need = 4;
    kr_init(&r, buf, len);
    if (!kr_i32(&r, &size)) {
        return KP_NEED_MORE;
    }
    if (size < 0) {
        return KP_ERR_MALFORMED;
    }
    if ((size_t)size > max_frame) {
        return KP_ERR_LIMIT;
    }
    *out_need = 4 + (size_t)size;
    if (!kr_sub(&r, out_frame, (size_t)size)) {
        return KP_NEED_MORE;
    }
    // The frame is a root of its own: error offsets count from its first byte.
    out_frame->base = out_frame->p;
    *out_consumed = 4 + (size_t)size;
    return KP_OK;
}
