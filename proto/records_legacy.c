// records_legacy.c: magic-0 and magic-1 message sets, presented as batches.
//
// An uncompressed message is a batch of one record. A compressed wrapper message (codec bits
// set, value = compressed inner message set) is a batch of its inner messages, which must be
// uncompressed and of the wrapper's magic. Inner offsets are absolute for magic 0 and relative
// for magic 1 (KIP-31), where absolute = wrapperOffset - lastInnerRelative + innerRelative.
// With a magic-1 wrapper in LogAppendTime, inner records take the wrapper's timestamp.
#include "proto/crc32c.h"
#include "proto/records_internal.h"

#define LEGACY_ATTR_CODEC_MASK 0x07
#define LEGACY_ATTR_LOG_APPEND_TIME 0x08

struct legacy_msg {
    int64_t offset;
    int32_t size;
    uint32_t crc;
    int8_t magic;
    int8_t attributes;
    int64_t timestamp;
    kr key;
    bool key_null;
    kr value;
    bool value_null;
};

// legacy_read reads one entry (offset, size, message) from the message set |set|.
static enum kp_status legacy_read(kr *set, bool check_crc, struct legacy_msg *m, struct kp_err *err)
{
    kr msg;
    if (!kr_i64(set, &m->offset) || !kr_i32(set, &m->size)) {
        return kp_fail(err, set, "message.offset/size");
    }
    if (m->size < 14) {
        return kp_fail_as(err, set, "message.size (too small)", KP_ERR_MALFORMED);
    }
    if (!kr_sub(set, &msg, (size_t)m->size)) {
        return kp_fail(err, set, "message.size");
    }
    if (!kr_u32(&msg, &m->crc)) {
        return kp_fail(err, &msg, "message.crc");
    }
    if (check_crc && kp_crc32(0, msg.p, kr_left(&msg)) != m->crc) {
        return kp_fail_as(err, &msg, "message.crc (CRC-32 mismatch)", KP_ERR_CORRUPT);
    }
    if (!kr_i8(&msg, &m->magic) || !kr_i8(&msg, &m->attributes)) {
        return kp_fail(err, &msg, "message.magic/attributes");
    }
    if (m->magic != 0 && m->magic != 1) {
        return kp_fail_as(err, &msg, "message.magic (not 0 or 1)", KP_ERR_MALFORMED);
    }
    m->timestamp = -1;
    if (m->magic == 1 && !kr_i64(&msg, &m->timestamp)) {
        return kp_fail(err, &msg, "message.timestamp");
    }
    if (!kr_bytes(&msg, &m->key, &m->key_null)) {
        return kp_fail(err, &msg, "message.key");
    }
    if (!kr_bytes(&msg, &m->value, &m->value_null)) {
        return kp_fail(err, &msg, "message.value");
    }
    if (!kr_expect_done(&msg)) {
        return kp_fail(err, &msg, "message (bytes after the value)");
    }
    return KP_OK;
}

// scan_inner checks every inner message of a wrapper (CRC, magic, no nested compression,
// increasing offsets) and finds the first and last inner offsets and the count.
static enum kp_status scan_inner(struct kp_batch *b, bool check_crc, int64_t *out_first,
                                 int64_t *out_last, int32_t *out_n, struct kp_err *err)
{
    kr set = b->recs;
    int32_t n = 0;
    int64_t prev = 0;
    while (kr_left(&set) > 0) {
        struct legacy_msg m;
        enum kp_status st = legacy_read(&set, check_crc, &m, err);
        if (st != KP_OK) {
            return st;
        }
        if (m.magic != b->magic || (m.attributes & LEGACY_ATTR_CODEC_MASK) != 0) {
            return kp_fail_as(err, &set, "message (inner message compressed or of another magic)",
                              KP_ERR_MALFORMED);
        }
        if (n > 0 && m.offset <= prev) {
            return kp_fail_as(err, &set, "message.offset (inner offsets not increasing)",
                              KP_ERR_MALFORMED);
        }
        if (n == 0) {
            *out_first = m.offset;
        }
        if (n == INT32_MAX) {
            return kp_fail_as(err, &set, "message set (too many messages)", KP_ERR_LIMIT);
        }
        prev = m.offset;
        n++;
    }
    if (n == 0) {
        return kp_fail_as(err, &set, "message.value (empty inner message set)", KP_ERR_MALFORMED);
    }
    *out_last = prev;
    *out_n = n;
    return KP_OK;
}

static enum kp_status open_wrapper(struct kp_records_iter *it, const struct legacy_msg *m, kr *at,
                                   struct kp_batch *b, struct kp_err *err)
{
    if (b->codec > KP_CODEC_LZ4 || m->value_null) {
        return kp_fail_as(err, at, "message.attributes (bad compression wrapper)",
                          KP_ERR_MALFORMED);
    }
    if (!it->arena) {
        return kp_fail_as(err, at, "message.value (no decompression arena)", KP_ERR_UNSUPPORTED);
    }
    struct kp_err derr = {NULL, 0};
    unsigned flags = b->magic == 0 ? KP_DECOMP_LZ4_FIX_HC : 0;
    enum kp_status st =
        kp_decompress(it->arena, b->codec, flags, m->value.p, m->value.len, &b->recs, &derr);
    if (st != KP_OK) {
        if (err) {
            err->field = derr.field;
            err->offset = kr_offset(&m->value) + derr.offset;
        }
        return st;
    }
    int64_t first = 0, last = 0;
    st = scan_inner(b, it->check_crc, &first, &last, &b->num_records, err);
    if (st != KP_OK) {
        return st;
    }
    b->legacy_shift = 0;
    if (b->magic == 1 && __builtin_sub_overflow(m->offset, last, &b->legacy_shift)) {
        return kp_fail_as(err, at, "message.offset (wrapper offset)", KP_ERR_MALFORMED);
    }
    int64_t span;
    if (__builtin_add_overflow(first, b->legacy_shift, &b->base_offset) ||
        __builtin_add_overflow(last, b->legacy_shift, &last) || last > m->offset ||
        __builtin_sub_overflow(m->offset, b->base_offset, &span) || span > INT32_MAX) {
        return kp_fail_as(err, at, "message.offset (inner offsets do not fit the wrapper)",
                          KP_ERR_MALFORMED);
    }
    b->last_offset_delta = (int32_t)span;
    b->legacy_inner = true;
    return KP_OK;
}

enum kp_status kp_legacy_open(struct kp_records_iter *it, kr *entry, struct kp_batch *out,
                              struct kp_err *err)
{
    struct legacy_msg m;
    kr set = *entry;
    enum kp_status st = legacy_read(&set, it->check_crc, &m, err);
    if (st != KP_OK) {
        return st;
    }
    out->base_offset = m.offset;
    out->last_offset = m.offset;
    out->batch_length = m.size;
    out->partition_leader_epoch = -1;
    out->magic = m.magic;
    out->crc = m.crc;
    out->attributes = (uint8_t)m.attributes;
    out->codec = m.attributes & LEGACY_ATTR_CODEC_MASK;
    out->ts_type = m.magic == 0                                   ? KP_TS_NONE
                   : (m.attributes & LEGACY_ATTR_LOG_APPEND_TIME) ? KP_TS_LOG_APPEND
                                                                  : KP_TS_CREATE;
    out->base_timestamp = m.timestamp;
    out->max_timestamp = m.timestamp;
    out->producer_id = -1;
    out->producer_epoch = -1;
    out->base_sequence = -1;
    out->control_type = KP_CONTROL_UNKNOWN;
    out->body = m.value;
    out->prev_offset = INT64_MIN;
    out->opened = true;
    if (out->codec == KP_CODEC_NONE) {
        out->recs = *entry; // re-read as a one-message set; its CRC was checked just now
        out->num_records = 1;
    } else {
        st = open_wrapper(it, &m, entry, out, err);
        if (st != KP_OK) {
            return st;
        }
    }
    out->left = out->num_records;
    return KP_OK;
}

enum kp_status kp_legacy_next_record(struct kp_batch *b, struct kp_record *out, bool *out_end,
                                     struct kp_err *err)
{
    if (b->left == 0) {
        if (!kr_expect_done(&b->recs)) {
            return kp_fail(err, &b->recs, "message set (bytes after the last message)");
        }
        *out_end = true;
        return KP_OK;
    }
    struct legacy_msg m;
    enum kp_status st = legacy_read(&b->recs, false, &m, err);
    if (st != KP_OK) {
        kr_set_fault(&b->recs, KR_MALFORMED);
        return st;
    }
    // scan_inner checked that shifted offsets do not overflow and increase.
    out->offset = m.offset + b->legacy_shift;
    if (out->offset <= b->prev_offset) {
        kr_set_fault(&b->recs, KR_MALFORMED);
        return kp_fail_as(err, &b->recs, "message.offset (not increasing)", KP_ERR_MALFORMED);
    }
    b->prev_offset = out->offset;
    out->attributes = m.attributes;
    if (m.magic == 0) {
        out->ts_type = KP_TS_NONE;
        out->timestamp = -1;
    } else if (b->legacy_inner && b->ts_type == KP_TS_LOG_APPEND) {
        out->ts_type = KP_TS_LOG_APPEND;
        out->timestamp = b->max_timestamp;
    } else {
        out->ts_type =
            (m.attributes & LEGACY_ATTR_LOG_APPEND_TIME) ? KP_TS_LOG_APPEND : KP_TS_CREATE;
        out->timestamp = m.timestamp;
    }
    out->key = m.key;
    out->key_null = m.key_null;
    out->value = m.value;
    out->value_null = m.value_null;
    out->num_headers = 0;
    kr_init(&out->header_bytes, NULL, 0);
    out->headers_left = 0;
    out->headers_next = 0;
    kr_init(&out->headers, NULL, 0);
    b->left--;
    return KP_OK;
}
