// records.c: the records-blob iterator and magic-2 record batches (legacy messages are in
// records_legacy.c).
#include "proto/records.h"

#include "proto/crc32c.h"
#include "proto/records_internal.h"

#include <string.h>

// The smallest record: length, attributes, timestampDelta, offsetDelta, keyLength, valueLength
// and headersCount, one byte each.
#define MIN_RECORD_LEN 7
// The smallest legacy entry: offset, size and a magic-0 message with null key and value.
#define MIN_LEGACY_SIZE 14

void kp_records_init(struct kp_records_iter *it, const uint8_t *p, size_t len,
                     struct kp_arena *arena, const struct kp_records_opts *opts)
{
    kr_init(&it->in, p, len);
    it->arena = arena;
    it->check_crc = !(opts && opts->skip_crc);
    it->partial_len = 0;
}

size_t kp_records_partial_len(const struct kp_records_iter *it)
{
    return it->partial_len;
}

static enum kp_status batch_fail(struct kp_records_iter *it, struct kp_err *err, const kr *r,
                                 const char *field, enum kp_status st)
{
    kr_set_fault(&it->in, KR_MALFORMED); // the iterator stays failed
    return kp_fail_as(err, r, field, st);
}

// open_v2 sets up b->recs: the records section itself, or its decompressed form.
static enum kp_status open_v2(struct kp_batch *b, struct kp_err *err)
{
    if (b->codec == KP_CODEC_NONE) {
        b->recs = b->body;
    } else {
        if (!b->arena) {
            return kp_fail_as(err, &b->body, "record_batch.records (no decompression arena)",
                              KP_ERR_UNSUPPORTED);
        }
        struct kp_err derr = {NULL, 0};
        enum kp_status st =
            kp_decompress(b->arena, b->codec, 0, b->body.p, b->body.len, &b->recs, &derr);
        if (st != KP_OK) {
            if (err) {
                err->field = derr.field;
                err->offset = kr_offset(&b->body) + derr.offset;
            }
            return st;
        }
    }
    b->opened = true;
    if ((uint64_t)b->num_records * MIN_RECORD_LEN > kr_left(&b->recs)) {
        return kp_fail_as(err, &b->recs, "record_batch.records_count (more than the bytes hold)",
                          KP_ERR_MALFORMED);
    }
    return KP_OK;
}

// peek_control_type reads the type of a control batch's first record without consuming it.
static void peek_control_type(struct kp_batch *b)
{
    b->control_type = KP_CONTROL_UNKNOWN;
    if (b->num_records < 1 || open_v2(b, NULL) != KP_OK) {
        return;
    }
    struct kp_batch copy = *b;
    struct kp_record rec;
    bool end;
    int16_t type;
    if (kp_batch_next_record(&copy, &rec, &end, NULL) == KP_OK && !end &&
        kp_record_control_type(&rec, &type) == KP_OK) {
        b->control_type = type;
    }
}

static enum kp_status parse_v2(struct kp_records_iter *it, kr *r, struct kp_batch *b,
                               struct kp_err *err)
{
    if (!kr_i64(r, &b->base_offset) || !kr_i32(r, &b->batch_length) ||
        !kr_i32(r, &b->partition_leader_epoch) || !kr_i8(r, &b->magic) || !kr_u32(r, &b->crc)) {
        return batch_fail(it, err, r, "record_batch header", kp_status_from_fault(r->fault));
    }
    if (b->batch_length < KP_BATCH_HEADER_LEN - 12) {
        return batch_fail(it, err, r, "record_batch.batch_length (shorter than a batch header)",
                          KP_ERR_MALFORMED);
    }
    if (it->check_crc && kp_crc32c(0, r->p, kr_left(r)) != b->crc) {
        return batch_fail(it, err, r, "record_batch.crc (CRC-32C mismatch)", KP_ERR_CORRUPT);
    }
    uint16_t attrs;
    if (!kr_u16(r, &attrs) || !kr_i32(r, &b->last_offset_delta) || !kr_i64(r, &b->base_timestamp) ||
        !kr_i64(r, &b->max_timestamp) || !kr_i64(r, &b->producer_id) ||
        !kr_i16(r, &b->producer_epoch) || !kr_i32(r, &b->base_sequence) ||
        !kr_i32(r, &b->num_records) || !kr_rest(r, &b->body)) {
        return batch_fail(it, err, r, "record_batch header", kp_status_from_fault(r->fault));
    }
    b->attributes = (int16_t)attrs;
    b->codec = attrs & KP_BATCH_ATTR_CODEC_MASK;
    b->ts_type = (attrs & KP_BATCH_ATTR_LOG_APPEND_TIME) ? KP_TS_LOG_APPEND : KP_TS_CREATE;
    b->is_transactional = (attrs & KP_BATCH_ATTR_TRANSACTIONAL) != 0;
    b->is_control = (attrs & KP_BATCH_ATTR_CONTROL) != 0;
    if (b->codec > KP_CODEC_ZSTD) {
        return batch_fail(it, err, r, "record_batch.attributes (unknown compression codec)",
                          KP_ERR_UNSUPPORTED);
    }
    if (b->num_records < 0) {
        return batch_fail(it, err, r, "record_batch.records_count (negative)", KP_ERR_MALFORMED);
    }
    if (b->last_offset_delta < 0 ||
        __builtin_add_overflow(b->base_offset, (int64_t)b->last_offset_delta, &b->last_offset)) {
        return batch_fail(it, err, r, "record_batch.last_offset_delta", KP_ERR_MALFORMED);
    }
    if (b->codec == KP_CODEC_NONE &&
        (uint64_t)b->num_records * MIN_RECORD_LEN > kr_left(&b->body)) {
        return batch_fail(it, err, r, "record_batch.records_count (more than the bytes hold)",
                          KP_ERR_MALFORMED);
    }
    b->left = b->num_records;
    b->prev_offset = -1;
    b->control_type = KP_CONTROL_UNKNOWN;
    if (b->is_control) {
        peek_control_type(b);
    }
    return KP_OK;
}

enum kp_status kp_records_next_batch(struct kp_records_iter *it, struct kp_batch *out,
                                     bool *out_end, struct kp_err *err)
{
    *out_end = false;
    if (it->in.fault != KR_OK) {
        return kp_fail_as(err, &it->in, "records (iterator failed earlier)", KP_ERR_MALFORMED);
    }
    size_t left = kr_left(&it->in);
    int64_t offset;
    int32_t size;
    kr peek = it->in;
    if (left < 12 || !kr_i64(&peek, &offset) || !kr_i32(&peek, &size)) {
        it->partial_len = left;
        *out_end = true;
        return KP_OK;
    }
    if (size < MIN_LEGACY_SIZE) {
        return batch_fail(it, err, &peek, "record_batch.batch_length (too small)",
                          KP_ERR_MALFORMED);
    }
    if ((size_t)size > left - 12) {
        it->partial_len = left;
        *out_end = true;
        return KP_OK;
    }
    memset(out, 0, sizeof *out);
    out->wire_offset = kr_offset(&it->in);
    kr entry;
    kr_sub(&it->in, &entry, 12 + (size_t)size);
    out->wire = entry.p;
    out->wire_len = entry.len;
    out->arena = it->arena;
    int8_t magic;
    peek = entry;
    kr_skip(&peek, 16);
    if (!kr_i8(&peek, &magic)) {
        return batch_fail(it, err, &peek, "record_batch.magic", KP_ERR_MALFORMED);
    }
    switch (magic) {
    case 2:
        return parse_v2(it, &entry, out, err);
    case 0:
    case 1: {
        enum kp_status st = kp_legacy_open(it, &entry, out, err);
        if (st != KP_OK) {
            kr_set_fault(&it->in, KR_MALFORMED);
        }
        return st;
    }
    default:
        return batch_fail(it, err, &peek, "record_batch.magic (unknown)", KP_ERR_VERSION);
    }
}

// read_headers checks |n| headers in |r|, leaves |r| after them, remembers the first ones in
// |out| and leaves out->headers on the bytes after the remembered ones.
static bool read_headers(kr *r, uint32_t n, struct kp_record *out)
{
    for (uint32_t i = 0; i < n; i++) {
        if (i == KP_RECORD_CACHED_HEADERS) {
            out->headers = *r;
        }
        kr k, v;
        bool vnull;
        if (!kr_vbytes(r, &k, NULL) || !kr_vbytes(r, &v, &vnull)) {
            return false;
        }
        if (i < KP_RECORD_CACHED_HEADERS) {
            out->cached[i].key = k.p;
            out->cached[i].key_len = (uint32_t)k.len;
            out->cached[i].value = vnull ? NULL : v.p;
            out->cached[i].value_len = (uint32_t)v.len;
        }
    }
    return true;
}

// record_place gives a decoded record its offset and timestamp from the batch's base values
// (both decoding paths), and moves the batch past its offset delta.
static inline void record_place(struct kp_batch *b, struct kp_record *out, int32_t off_delta,
                                int64_t ts_delta)
{
    b->prev_offset = off_delta;
    out->offset = b->base_offset + off_delta; // cannot overflow: off_delta <= last_offset_delta
    out->ts_type = b->ts_type;
    if (b->ts_type == KP_TS_LOG_APPEND) {
        out->timestamp = b->max_timestamp;
    } else {
        out->timestamp = (int64_t)((uint64_t)b->base_timestamp + (uint64_t)ts_delta);
    }
}

static enum kp_status record_fields(struct kp_batch *b, kr *rec, struct kp_record *out,
                                    struct kp_err *err)
{
    int64_t ts_delta;
    int32_t off_delta, num_headers;
    if (!kr_i8(rec, &out->attributes) || !kr_varlong(rec, &ts_delta) ||
        !kr_varint(rec, &off_delta)) {
        return kp_fail(err, rec, "record header");
    }
    if (off_delta <= b->prev_offset || off_delta > b->last_offset_delta) {
        return kp_fail_as(err, rec, "record.offset_delta (not increasing or past the last)",
                          KP_ERR_MALFORMED);
    }
    if (!kr_vbytes(rec, &out->key, &out->key_null)) {
        return kp_fail(err, rec, "record.key");
    }
    if (!kr_vbytes(rec, &out->value, &out->value_null)) {
        return kp_fail(err, rec, "record.value");
    }
    if (!kr_varint(rec, &num_headers)) {
        return kp_fail(err, rec, "record.headers_count");
    }
    if (num_headers < 0 || (uint64_t)num_headers * 2 > kr_left(rec)) {
        return kp_fail_as(err, rec, "record.headers_count", KP_ERR_MALFORMED);
    }
    kr_init(&out->headers, NULL, 0);
    out->header_bytes = *rec; // the rest of the record is the headers (checked below)
    if (!read_headers(rec, (uint32_t)num_headers, out)) {
        return kp_fail(err, rec, "record.header");
    }
    if (!kr_expect_done(rec)) {
        return kp_fail(err, rec, "record (bytes after the headers)");
    }
    out->num_headers = (uint32_t)num_headers;
    out->headers_left = out->num_headers;
    out->headers_next = 0;
    record_place(b, out, off_delta, ts_delta);
    return KP_OK;
}

// ---- the fast path of record decoding ------------------------------------------------------
// Most records are plain: short varints, no headers. fast_record decodes those with plain
// pointer arithmetic under exactly the checks of record_fields; anything else (headers, a
// varint or length that does not check out) returns false and the checked path decodes the
// record again from its start, so errors are reported as before.

// fast_uvarint is read_uvarint over [*pp, end).
static inline bool fast_uvarint(const uint8_t **pp, const uint8_t *end, unsigned max_bytes,
                                unsigned bits, uint64_t *out)
{
    const uint8_t *p = *pp;
    // One to three groups (every length and delta of a typical record) need no checks of the
    // last group's bits: both types have more than 21.
    if (end - p >= 3) {
        uint64_t b0 = p[0], b1 = p[1], b2 = p[2];
        if (b0 < 0x80) {
            *out = b0;
            *pp = p + 1;
            return true;
        }
        if (b1 < 0x80) {
            *out = (b0 & 0x7f) | b1 << 7;
            *pp = p + 2;
            return true;
        }
        if (b2 < 0x80) {
            *out = (b0 & 0x7f) | (b1 & 0x7f) << 7 | b2 << 14;
            *pp = p + 3;
            return true;
        }
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < max_bytes && p < end; i++, p++) {
        unsigned shift = 7 * i;
        uint64_t group = (uint64_t)(*p & 0x7f);
        if (shift + 7 > bits && (group >> (bits - shift)) != 0) {
            return false;
        }
        v |= group << shift;
        if ((*p & 0x80) == 0) {
            *out = v;
            *pp = p + 1;
            return true;
        }
    }
    return false;
}

static inline bool fast_varint(const uint8_t **pp, const uint8_t *end, int32_t *out)
{
    uint64_t u;
    if (!fast_uvarint(pp, end, 5, 32, &u)) {
        return false;
    }
    uint32_t v = (uint32_t)u;
    *out = (int32_t)(v >> 1) ^ -(int32_t)(v & 1);
    return true;
}

// fast_bytes is kr_vbytes (a null allowed) over [*pp, end); views keep |base|.
static inline bool fast_bytes(const uint8_t **pp, const uint8_t *end, const uint8_t *base, kr *out,
                              bool *out_null)
{
    int32_t n;
    if (!fast_varint(pp, end, &n)) {
        return false;
    }
    if (n < 0) {
        if (n != -1) {
            return false;
        }
        *out_null = true;
        *out = (kr){NULL, 0, base, KR_OK};
        return true;
    }
    *out_null = false;
    if ((size_t)n > (size_t)(end - *pp)) {
        return false;
    }
    *out = (kr){*pp, (size_t)n, base, KR_OK};
    *pp += n;
    return true;
}

// fast_record decodes a record without headers from |rec| (see above).
static bool fast_record(struct kp_batch *b, const kr *rec, struct kp_record *out)
{
    const uint8_t *p = rec->p, *end = rec->p + rec->len;
    if (p >= end) {
        return false;
    }
    int8_t attributes = (int8_t)*p++;
    uint64_t u;
    if (!fast_uvarint(&p, end, 10, 64, &u)) {
        return false;
    }
    int64_t ts_delta = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    int32_t off_delta, num_headers;
    if (!fast_varint(&p, end, &off_delta) || off_delta <= b->prev_offset ||
        off_delta > b->last_offset_delta ||
        !fast_bytes(&p, end, rec->base, &out->key, &out->key_null) ||
        !fast_bytes(&p, end, rec->base, &out->value, &out->value_null) ||
        !fast_varint(&p, end, &num_headers) || num_headers != 0 || p != end) {
        return false;
    }
    out->attributes = attributes;
    out->header_bytes = (kr){p, 0, rec->base, KR_OK};
    out->headers = (kr){NULL, 0, NULL, KR_OK};
    out->num_headers = 0;
    out->headers_left = 0;
    out->headers_next = 0;
    record_place(b, out, off_delta, ts_delta);
    return true;
}

// fast_next decodes the next record of b->recs on the fast path and moves past it; false leaves
// b->recs untouched.
static bool fast_next(struct kp_batch *b, struct kp_record *out)
{
    if (b->recs.fault != KR_OK) {
        return false;
    }
    const uint8_t *p = b->recs.p, *end = b->recs.p + b->recs.len;
    int32_t len;
    if (!fast_varint(&p, end, &len) || len < MIN_RECORD_LEN - 1 ||
        (size_t)len > (size_t)(end - p)) {
        return false;
    }
    kr rec = {p, (size_t)len, b->recs.base, KR_OK};
    if (!fast_record(b, &rec, out)) {
        return false;
    }
    size_t used = (size_t)(p - b->recs.p) + (size_t)len;
    b->recs.p += used;
    b->recs.len -= used;
    return true;
}

enum kp_status kp_batch_next_record(struct kp_batch *b, struct kp_record *out, bool *out_end,
                                    struct kp_err *err)
{
    *out_end = false;
    if (b->magic < 2) {
        return kp_legacy_next_record(b, out, out_end, err);
    }
    if (!b->opened) {
        enum kp_status st = open_v2(b, err);
        if (st != KP_OK) {
            return st;
        }
    }
    if (b->left == 0) {
        if (!kr_expect_done(&b->recs)) {
            return kp_fail(err, &b->recs, "record_batch.records (bytes after the last record)");
        }
        *out_end = true;
        return KP_OK;
    }
    if (fast_next(b, out)) {
        b->left--;
        return KP_OK;
    }
    int32_t len;
    kr rec;
    if (!kr_varint(&b->recs, &len)) {
        return kp_fail(err, &b->recs, "record.length");
    }
    if (len < MIN_RECORD_LEN - 1) {
        return kp_fail_as(err, &b->recs, "record.length (too small)", KP_ERR_MALFORMED);
    }
    if (!kr_sub(&b->recs, &rec, (size_t)len)) {
        return kp_fail(err, &b->recs, "record.length");
    }
    enum kp_status st = record_fields(b, &rec, out, err);
    if (st != KP_OK) {
        kr_set_fault(&b->recs, KR_MALFORMED);
        return st;
    }
    b->left--;
    return KP_OK;
}

bool kp_headers_next(kr *hdrs, struct kp_header *out)
{
    return kr_left(hdrs) > 0 && kr_vbytes(hdrs, &out->key, NULL) &&
           kr_vbytes(hdrs, &out->value, &out->value_null);
}

enum kp_status kp_record_next_header(struct kp_record *rec, struct kp_header *out, bool *out_end,
                                     struct kp_err *err)
{
    *out_end = false;
    if (rec->headers_left == 0) {
        *out_end = true;
        return KP_OK;
    }
    uint32_t i = rec->headers_next;
    if (i < KP_RECORD_CACHED_HEADERS) {
        static const uint8_t empty[1] = {0};
        const uint8_t *k = rec->cached[i].key, *v = rec->cached[i].value;
        kr_init(&out->key, k ? k : empty, rec->cached[i].key_len);
        out->value_null = v == NULL;
        kr_init(&out->value, v ? v : empty, v ? rec->cached[i].value_len : 0);
    } else if (!kr_vbytes(&rec->headers, &out->key, NULL) ||
               !kr_vbytes(&rec->headers, &out->value, &out->value_null)) {
        return kp_fail(err, &rec->headers, "record.header");
    }
    rec->headers_next++;
    rec->headers_left--;
    return KP_OK;
}

enum kp_status kp_record_control_type(const struct kp_record *rec, int16_t *out_type)
{
    kr k = rec->key;
    int16_t version;
    if (rec->key_null || !kr_i16(&k, &version) || !kr_i16(&k, out_type)) {
        return KP_ERR_MALFORMED;
    }
    return KP_OK;
}
