// snappy.c: the raw snappy block decoder (the format is described in snappy.h).
//
// Every length and offset read from the input is checked against what is left of the input and
// of the output before a byte is copied; sizes are compared by subtraction from what is left, so
// no sum can wrap. Literals and copies of up to 64 bytes move in 16- or 8-byte chunks when both
// buffers have room for the last chunk (the excess is output not produced yet); the result is
// only ever read up to dst_len and only after the whole block decoded.
#include "proto/snappy.h"

#include <string.h>

static enum kp_status bad(struct kp_err *err, const char *what, size_t off)
{
    if (err) {
        err->field = what;
        err->offset = off;
    }
    return KP_ERR_CORRUPT;
}

// le_read returns the |n| (1-4) little-endian bytes at |p|.
static uint32_t le_read(const uint8_t *p, size_t n)
{
    uint32_t v = 0;
    for (size_t i = n; i > 0; i--) {
        v = v << 8 | p[i - 1];
    }
    return v;
}

// read_length reads the varint preamble: its value into |out_len|, its size into |out_hdr|.
static enum kp_status read_length(const uint8_t *in, size_t in_len, size_t *out_len,
                                  size_t *out_hdr, struct kp_err *err)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 5; i++) {
        if (i == in_len) {
            return bad(err, "snappy uncompressed length (truncated varint)", 0);
        }
        uint8_t b = in[i];
        if (i == 4 && b > 15) {
            return bad(err, "snappy uncompressed length (above 2^32 - 1)", 0);
        }
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out_len = (size_t)v;
            *out_hdr = i + 1;
            return KP_OK;
        }
    }
    return bad(err, "snappy uncompressed length (above 2^32 - 1)", 0); // not reached
}

enum kp_status kp_snappy_length(const uint8_t *in, size_t in_len, size_t *out_len,
                                struct kp_err *err)
{
    size_t hdr;
    return read_length(in, in_len, out_len, &hdr, err);
}

// chunks copies |len| bytes from |src| to |dst| as whole chunks of |step| (8 or 16) bytes, so up
// to step - 1 bytes more; the callers make sure both buffers have them, and, for a copy within
// the output, that each chunk's source lies wholly before its destination (offset >= step).
static inline void chunks(uint8_t *dst, const uint8_t *src, size_t len, size_t step)
{
    for (size_t i = 0; i < len; i += step) {
        if (step == 16) {
            memcpy(dst + i, src + i, 16);
        } else {
            memcpy(dst + i, src + i, 8);
        }
    }
}

// struct dec is one block being decoded: |ip| bytes of |in| and |op| of |dst| are used.
struct dec {
    uint8_t *dst;
    size_t cap;
    size_t op;
    const uint8_t *in;
    size_t len;
    size_t ip;
    struct kp_err *err;
};

// literal decodes the literal whose tag (at input offset |at|) has been read.
static enum kp_status literal(struct dec *d, size_t at, uint8_t tag)
{
    uint64_t n = tag >> 2;
    if (n >= 60) {
        size_t k = (size_t)n - 59; // 1-4 length bytes
        if (d->len - d->ip < k) {
            return bad(d->err, "snappy literal length (truncated)", at);
        }
        n = le_read(d->in + d->ip, k);
        d->ip += k;
    }
    uint64_t len = n + 1;
    if (len > d->len - d->ip) {
        return bad(d->err, "snappy literal (truncated: runs past the end of the input)", at);
    }
    if (len > d->cap - d->op) {
        return bad(d->err, "snappy literal (output longer than the declared length)", at);
    }
    // A literal of up to 64 bytes is copied in 16-byte chunks (a fixed size the compiler
    // inlines) when both buffers have them: the bytes past |len| land in output not produced
    // yet, which the next elements overwrite and nothing reads first (copies read only output
    // before |op|).
    size_t up = ((size_t)len + 15) & ~(size_t)15;
    if (len <= 64 && d->len - d->ip >= up && d->cap - d->op >= up) {
        chunks(d->dst + d->op, d->in + d->ip, up, 16);
    } else {
        memcpy(d->dst + d->op, d->in + d->ip, (size_t)len);
    }
    d->ip += (size_t)len;
    d->op += (size_t)len;
    return KP_OK;
}

// copy decodes the copy whose tag (at input offset |at|) has been read.
static enum kp_status copy(struct dec *d, size_t at, uint8_t tag)
{
    size_t k = (tag & 3) == 1 ? 1 : (tag & 3) == 2 ? 2 : 4; // offset bytes after the tag
    if (d->len - d->ip < k) {
        return bad(d->err, "snappy copy offset (truncated)", at);
    }
    size_t len, off;
    if (k == 1) {
        len = 4 + ((tag >> 2) & 7);
        off = (size_t)(tag >> 5) << 8 | d->in[d->ip];
    } else {
        len = 1 + (size_t)(tag >> 2);
        off = le_read(d->in + d->ip, k);
    }
    d->ip += k;
    if (off == 0) {
        return bad(d->err, "snappy copy offset 0", at);
    }
    if (off > d->op) {
        return bad(d->err, "snappy copy offset (before the start of the output)", at);
    }
    if (len > d->cap - d->op) {
        return bad(d->err, "snappy copy (output longer than the declared length)", at);
    }
    uint8_t *o = d->dst + d->op;
    const uint8_t *from = o - off;
    size_t room = d->cap - d->op;
    if (off >= 16 && room >= ((len + 15) & ~(size_t)15)) {
        chunks(o, from, len, 16); // as for literals; each chunk's source is before its target
    } else if (off >= 8 && room >= ((len + 7) & ~(size_t)7)) {
        chunks(o, from, len, 8);
    } else if (off >= len) {
        memcpy(o, from, len);
    } else {
        for (size_t i = 0; i < len; i++) { // overlapping: a repeated pattern
            o[i] = from[i];
        }
    }
    d->op += len;
    return KP_OK;
}

enum kp_status kp_snappy_decode(uint8_t *dst, size_t dst_len, const uint8_t *in, size_t in_len,
                                struct kp_err *err)
{
    size_t declared, hdr;
    enum kp_status st = read_length(in, in_len, &declared, &hdr, err);
    if (st != KP_OK) {
        return st;
    }
    if (declared != dst_len) {
        return bad(err, "snappy uncompressed length (not the output buffer's size)", 0);
    }
    struct dec d = {dst, dst_len, 0, in, in_len, hdr, err};
    while (d.ip < d.len) {
        size_t at = d.ip;
        uint8_t tag = in[d.ip++];
        st = (tag & 3) == 0 ? literal(&d, at, tag) : copy(&d, at, tag);
        if (st != KP_OK) {
            return st;
        }
    }
    if (d.op != dst_len) {
        return bad(err, "snappy data (truncated: ends before the declared length)", in_len);
    }
    return KP_OK;
}
