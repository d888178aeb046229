// batch_builder.c: the magic-2 record batch writer.
#include "proto/batch_builder.h"

#include "proto/crc32c.h"
#include "proto/records.h"

#include <string.h>

void kp_batch_params_default(struct kp_batch_params *p)
{
    memset(p, 0, sizeof *p);
    p->partition_leader_epoch = -1;
    p->codec = KP_CODEC_NONE;
    p->producer_id = -1;
    p->producer_epoch = -1;
    p->base_sequence = -1;
}

void kp_batch_builder_init(struct kp_batch_builder *b, const struct kp_batch_params *params)
{
    b->params = *params;
    kw_init_grow(&b->recs);
    b->count = 0;
    b->last_delta = -1;
    b->base_ts = -1;
    b->max_ts = -1;
}

void kp_batch_builder_cleanup(struct kp_batch_builder *b)
{
    kw_cleanup(&b->recs);
}

// vlen returns the varint length prefix of a byte string (-1 for NULL), or -2 if too long.
static int64_t vlen(const void *p, size_t n)
{
    if (!p) {
        return -1;
    }
    return n > INT32_MAX ? -2 : (int64_t)n;
}

static size_t vbytes_size(const void *p, size_t n)
{
    int64_t l = vlen(p, n);
    return kw_varint_len((int32_t)l) + (l > 0 ? (size_t)l : 0);
}

static bool write_vbytes(kw *w, const void *p, size_t n)
{
    int64_t l = vlen(p, n);
    return kw_varint(w, (int32_t)l) && (l <= 0 || kw_raw(w, p, (size_t)l));
}

static bool record_checks(const struct kp_record_in *rec)
{
    if (vlen(rec->key, rec->key_len) < -1 || vlen(rec->value, rec->value_len) < -1 ||
        rec->num_headers > INT32_MAX || (rec->num_headers > 0 && !rec->headers)) {
        return false;
    }
    for (size_t i = 0; i < rec->num_headers; i++) {
        const struct kp_header_in *h = &rec->headers[i];
        if (vlen(h->key ? h->key : "", h->key_len) < 0 || vlen(h->value, h->value_len) < -1) {
            return false;
        }
    }
    return true;
}

bool kp_batch_builder_add_at(struct kp_batch_builder *b, int32_t offset_delta,
                             const struct kp_record_in *rec)
{
    if (!kw_ok(&b->recs) || offset_delta <= b->last_delta || b->count == INT32_MAX ||
        !record_checks(rec)) {
        return kw_fail(&b->recs);
    }
    if (b->count == 0) {
        b->base_ts = rec->timestamp;
    }
    int64_t ts_delta = (int64_t)((uint64_t)rec->timestamp - (uint64_t)b->base_ts);
    size_t body = 1 + kw_varlong_len(ts_delta) + kw_varint_len(offset_delta) +
                  vbytes_size(rec->key, rec->key_len) + vbytes_size(rec->value, rec->value_len) +
                  kw_varint_len((int32_t)rec->num_headers);
    for (size_t i = 0; i < rec->num_headers; i++) {
        const struct kp_header_in *h = &rec->headers[i];
        body += vbytes_size(h->key ? h->key : "", h->key_len) + vbytes_size(h->value, h->value_len);
    }
    if (body > INT32_MAX) {
        return kw_fail(&b->recs);
    }
    kw *w = &b->recs;
    bool ok = kw_varint(w, (int32_t)body) && kw_i8(w, 0) && kw_varlong(w, ts_delta) &&
              kw_varint(w, offset_delta) && write_vbytes(w, rec->key, rec->key_len) &&
              write_vbytes(w, rec->value, rec->value_len) &&
              kw_varint(w, (int32_t)rec->num_headers);
    for (size_t i = 0; ok && i < rec->num_headers; i++) {
        const struct kp_header_in *h = &rec->headers[i];
        ok = write_vbytes(w, h->key ? h->key : "", h->key_len) &&
             write_vbytes(w, h->value, h->value_len);
    }
    if (!ok) {
        return kw_fail(w);
    }
    if (b->count == 0 || rec->timestamp > b->max_ts) {
        b->max_ts = rec->timestamp;
    }
    b->count++;
    b->last_delta = offset_delta;
    return true;
}

bool kp_batch_builder_add(struct kp_batch_builder *b, const struct kp_record_in *rec)
{
    if (b->last_delta == INT32_MAX) {
        return kw_fail(&b->recs);
    }
    return kp_batch_builder_add_at(b, b->last_delta + 1, rec);
}

static uint16_t batch_attributes(const struct kp_batch_params *p)
{
    uint16_t a = (uint16_t)((unsigned)p->codec & KP_BATCH_ATTR_CODEC_MASK);
    if (p->log_append_time) {
        a |= KP_BATCH_ATTR_LOG_APPEND_TIME;
    }
    if (p->transactional) {
        a |= KP_BATCH_ATTR_TRANSACTIONAL;
    }
    if (p->control) {
        a |= KP_BATCH_ATTR_CONTROL;
    }
    return a;
}

enum kp_status kp_batch_builder_finish(struct kp_batch_builder *b, kw *w)
{
    const struct kp_batch_params *p = &b->params;
    if (!kw_ok(&b->recs)) {
        return KP_ERR_LIMIT;
    }
    if (p->codec < KP_CODEC_NONE || p->codec > KP_CODEC_ZSTD ||
        (p->codec != KP_CODEC_NONE && !p->compress)) {
        return KP_ERR_UNSUPPORTED;
    }
    size_t len_pos, crc_pos;
    int64_t max_ts = p->log_append_time ? p->log_append_time_ms : b->max_ts;
    bool ok = kw_i64(w, p->base_offset) && kw_begin_size32(w, &len_pos) &&
              kw_i32(w, p->partition_leader_epoch) && kw_i8(w, 2);
    crc_pos = kw_len(w);
    ok = ok && kw_u32(w, 0) && kw_u16(w, batch_attributes(p)) &&
         kw_i32(w, b->count > 0 ? b->last_delta : 0) && kw_i64(w, b->base_ts) &&
         kw_i64(w, max_ts) && kw_i64(w, p->producer_id) && kw_i16(w, p->producer_epoch) &&
         kw_i32(w, p->base_sequence) && kw_i32(w, b->count);
    if (!ok) {
        return KP_ERR_LIMIT;
    }
    if (p->codec == KP_CODEC_NONE) {
        ok = kw_raw(w, kw_data(&b->recs), kw_len(&b->recs));
    } else {
        enum kp_status st =
            p->compress(w, p->codec, p->compress_flags, kw_data(&b->recs), kw_len(&b->recs));
        if (st != KP_OK) {
            return st;
        }
    }
    if (!ok || !kw_end_size32(w, len_pos)) {
        return KP_ERR_LIMIT;
    }
    uint32_t crc = kp_crc32c(0, kw_data(w) + crc_pos + 4, kw_len(w) - crc_pos - 4);
    return kw_patch_u32(w, crc_pos, crc) ? KP_OK : KP_ERR_LIMIT;
}
