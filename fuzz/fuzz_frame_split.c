// fuzz_frame_split.c: the frame splitter over an arbitrary stream, fed in arbitrary chunk sizes.
// Invariants: every frame it returns lies inside the input and matches its size prefix; feeding
// the same stream in one piece or byte by byte yields the same frames.
#include "proto/frame.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t split_all(const uint8_t *data, size_t size, size_t max_frame, size_t *out_frames)
{
    size_t off = 0, frames = 0;
    for (;;) {
        kr frame;
        size_t consumed, need;
        enum kp_status st =
            kp_frame_split(data + off, size - off, max_frame, &frame, &consumed, &need);
        if (st != KP_OK) {
            assert(consumed == 0);
            if (st == KP_NEED_MORE) {
                assert(need > size - off);
            }
            break;
        }
        assert(consumed == 4 + kr_left(&frame));
        assert(frame.p == data + off + 4);
        assert(consumed <= size - off);
        off += consumed;
        frames++;
    }
    *out_frames = frames;
    return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t max_frame = (size_t)data[0] * 16; // first byte picks the limit
    data++;
    size--;
    size_t frames_whole;
    size_t used_whole = split_all(data, size, max_frame, &frames_whole);

    // Byte-by-byte arrival: a frame is reported as soon as its last byte is there.
    size_t off = 0, frames = 0;
    for (size_t avail = 0; avail <= size; avail++) {
        kr frame;
        size_t consumed, need;
        while (kp_frame_split(data + off, avail - off, max_frame, &frame, &consumed, &need) ==
               KP_OK) {
            off += consumed;
            frames++;
        }
    }
    assert(frames == frames_whole);
    assert(off == used_whole);
    return 0;
}
