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
// Most records are plain: varints of at most three bytes, no headers, and more bytes of the
// batch after them. fast_next decodes those with plain pointer arithmetic under exactly the
// checks of record_fields; anything else (headers, a longer varint, a length that does not check
// out, the batch's last record) returns false and the checked path decodes the record from its
// start, so errors are reported as before.
//
// Bounds: each varint is read as one four-byte word. A record of at least FAST_MIN_LEN bytes
// followed by at least two more bytes of the batch lets every such read stay inside the batch:
// the record length starts at b->recs.p with at least four bytes left, the three header varints
// start at most seven bytes into the record (their words end at byte 10 <= the record's length
// + 1), and the value length is read only where at least two bytes of the record are left.
#define FAST_MIN_LEN 9

static inline uint32_t load_le32(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
#else
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
#endif
}

// peek3 reads a varint of one to three bytes at *pp (four bytes readable); false for a longer one.
static inline bool peek3(const uint8_t **pp, uint32_t *out)
{
    uint32_t w = load_le32(*pp);
    if (!(w & 0x80)) {
        *out = w & 0x7f;
        *pp += 1;
        return true;
    }
    if (!(w & 0x8000)) {
        *out = (w & 0x7f) | (w >> 1 & 0x3f80);
        *pp += 2;
        return true;
    }
    if (!(w & 0x800000)) {
        *out = (w & 0x7f) | (w >> 1 & 0x3f80) | (w >> 2 & 0x1fc000);
        *pp += 3;
        return true;
    }
    return false;
}

// fast_len reads a zigzag length at *pp: true with *out >= 0, or with *out -1 for a null when
// |null_ok|; false for any other negative value or a varint longer than three bytes.
static inline bool fast_len(const uint8_t **pp, bool null_ok, int32_t *out)
{
    uint32_t u;
    if (!peek3(pp, &u)) {
        return false;
    }
    if (u & 1) { // negative: only -1 (encoded as 1), a null
        *out = -1;
        return null_ok && u == 1;
    }
    *out = (int32_t)(u >> 1);
    return true;
}

// fast_next decodes the next record of b->recs on the fast path and moves past it; false leaves
// b->recs untouched.
static bool fast_next(struct kp_batch *b, struct kp_record *out)
{
    const uint8_t *p = b->recs.p;
    if (b->recs.fault != KR_OK || b->recs.len < 4) {
        return false;
    }
    const uint8_t *lim = p + b->recs.len;
    int32_t len, off_delta, key_len, value_len;
    uint32_t ts;
    if (!fast_len(&p, false, &len) || len < FAST_MIN_LEN || lim - p - len < 2) {
        return false;
    }
    const uint8_t *end = p + len;
    out->attributes = (int8_t)*p++;
    // An offset delta is never negative: an odd (negative) one fails the comparison below.
    if (!peek3(&p, &ts) || !fast_len(&p, false, &off_delta) || off_delta <= b->prev_offset ||
        off_delta > b->last_offset_delta || !fast_len(&p, true, &key_len)) {
        return false;
    }
    const uint8_t *base = b->recs.base;
    out->key_null = key_len < 0;
    if (key_len < 0) {
        out->key = (kr){NULL, 0, base, KR_OK};
    } else {
        if (key_len > end - p) {
            return false;
        }
        out->key = (kr){p, (size_t)key_len, base, KR_OK};
        p += key_len;
    }
    if (end - p < 2 || !fast_len(&p, true, &value_len)) { // the value length and header count
        return false;
    }
    out->value_null = value_len < 0;
    if (value_len < 0) {
        out->value = (kr){NULL, 0, base, KR_OK};
    } else {
        if (value_len >= end - p) { // leaves the header count
            return false;
        }
        out->value = (kr){p, (size_t)value_len, base, KR_OK};
        p += value_len;
    }
    if (end - p != 1 || *p != 0) { // no headers, nothing after them
        return false;
    }
    out->header_bytes = (kr){end, 0, base, KR_OK};
    out->headers = (kr){NULL, 0, NULL, KR_OK};
    out->num_headers = 0;
    out->headers_left = 0;
    out->headers_next = 0;
    record_place(b, out, off_delta, (int32_t)(ts >> 1) ^ -(int32_t)(ts & 1));
    b->recs.len -= (size_t)(end - b->recs.p);
    b->recs.p = end;
    return true;
}

// next_record_checked is kp_batch_next_record past the fast path: legacy batches, opening a
// batch, its end, and every record the fast path does not take.
static enum kp_status next_record_checked(struct kp_batch *b, struct kp_record *out, bool *out_end,
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

enum kp_status kp_batch_next_record(struct kp_batch *b, struct kp_record *out, bool *out_end,
                                    struct kp_err *err)
{
    if (b->opened && b->magic >= 2 && b->left > 0 && fast_next(b, out)) {
        *out_end = false;
        b->left--;
        return KP_OK;
    }
    return next_record_checked(b, out, out_end, err);
}

enum kp_status kp_batch_next_record_checked(struct kp_batch *b, struct kp_record *out,
                                            bool *out_end, struct kp_err *err)
{
    return next_record_checked(b, out, out_end, err);
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
