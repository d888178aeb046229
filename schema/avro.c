// avro.c: Avro binary data to JSON (see avro.h for the mapping).
#include "base/utf8.h"
#include "proto/kr.h"
#include "schema/avro_int.h"

#include <string.h>

struct dec {
    const struct sch_avro *s;
    kr r;
    struct sch_out *out;
    struct sch_err *err;
    enum sch_status st;
};

static bool dfail(struct dec *d, enum sch_status st, const char *what)
{
    if (d->st == SCH_OK) {
        d->st = st;
        sch_fail(d->err, st, "Avro data: %s at byte %zu", what, kr_offset(&d->r));
    }
    return false;
}

static bool cursor_fail(struct dec *d, const char *what)
{
    switch (d->r.fault) {
    case KR_TRUNCATED:
        return dfail(d, SCH_ERR_TRUNCATED, what);
    case KR_LIMIT:
        return dfail(d, SCH_ERR_LIMIT, what);
    case KR_OK:
    case KR_MALFORMED:
        break;
    }
    return dfail(d, SCH_ERR_MALFORMED, what);
}

static bool out_ok(struct dec *d)
{
    if (!sch_out_ok(d->out)) {
        if (d->st == SCH_OK) {
            d->st = sch_out_status(d->out, d->err);
        }
        return false;
    }
    return true;
}

static bool read_long(struct dec *d, int64_t *v, const char *what)
{
    return kr_varlong(&d->r, v) || cursor_fail(d, what);
}

// read_len reads a byte length (a long) and takes that many bytes.
static bool read_len_bytes(struct dec *d, kr *out, const char *what)
{
    int64_t n;
    if (!read_long(d, &n, what)) {
        return false;
    }
    if (n < 0) {
        return dfail(d, SCH_ERR_MALFORMED, "negative length");
    }
    if ((uint64_t)n > kr_left(&d->r)) {
        return dfail(d, SCH_ERR_TRUNCATED, "length beyond the data");
    }
    return kr_sub(&d->r, out, (size_t)n) || cursor_fail(d, what);
}

static bool put_string(struct dec *d, kr *v)
{
    if (!utf8_valid(v->p, v->len)) {
        return dfail(d, SCH_ERR_MALFORMED, "string is not valid UTF-8");
    }
    sch_out_json_str(d->out, (const char *)v->p, v->len);
    return true;
}

// put_decimal writes the two's-complement big-endian unscaled value |p|[0..n) at |scale| as a
// JSON string.
static bool put_decimal(struct dec *d, const uint8_t *p, size_t n, int32_t scale)
{
    if (n > SCH_AVRO_MAX_DECIMAL_BYTES) {
        return dfail(d, SCH_ERR_LIMIT, "decimal longer than 128 bytes");
    }
    uint8_t mag[SCH_AVRO_MAX_DECIMAL_BYTES];
    bool neg = n > 0 && (p[0] & 0x80);
    memcpy(mag, p, n);
    if (neg) { // magnitude = ~x + 1
        unsigned carry = 1;
        for (size_t i = n; i > 0; i--) {
            unsigned v = (unsigned)(uint8_t)~mag[i - 1] + carry;
            mag[i - 1] = (uint8_t)v;
            carry = v >> 8;
        }
    }
    char digits[1100]; // 309 digits for 128 bytes; scale <= precision <= 1000 pads further
    size_t nd = 0;
    size_t start = 0;
    while (start < n && mag[start] == 0) {
        start++;
    }
    while (start < n) { // divide by 10 until zero
        unsigned rem = 0;
        for (size_t i = start; i < n; i++) {
            unsigned cur = rem << 8 | mag[i];
            mag[i] = (uint8_t)(cur / 10);
            rem = cur % 10;
        }
        digits[nd++] = (char)('0' + rem);
        while (start < n && mag[start] == 0) {
            start++;
        }
    }
    while (nd <= (size_t)scale) {
        digits[nd++] = '0';
    }
    sch_out_addc(d->out, '"');
    if (neg) {
        sch_out_addc(d->out, '-');
    }
    for (size_t i = nd; i > 0; i--) {
        if (scale > 0 && i == (size_t)scale) {
            sch_out_addc(d->out, '.');
        }
        sch_out_addc(d->out, digits[i - 1]);
    }
    sch_out_addc(d->out, '"');
    return true;
}

static bool decode(struct dec *d, uint32_t node, int depth);

static bool decode_record(struct dec *d, const struct avro_node *n, int depth)
{
    sch_out_addc(d->out, '{');
    for (uint32_t i = 0; i < n->count; i++) {
        const struct avro_field *f = &d->s->fields[n->first + i];
        if (i) {
            sch_out_addc(d->out, ',');
        }
        sch_out_json_str(d->out, f->name, strlen(f->name));
        sch_out_addc(d->out, ':');
        if (!decode(d, f->type, depth + 1)) {
            return false;
        }
    }
    sch_out_addc(d->out, '}');
    return true;
}

// decode_blocks reads array or map blocks: a count, then (when the count is negative) a byte
// size, then the items; a zero count ends.
static bool decode_blocks(struct dec *d, const struct avro_node *n, int depth)
{
    bool map = n->type == AVRO_MAP;
    bool first = true;
    sch_out_addc(d->out, map ? '{' : '[');
    for (;;) {
        int64_t count;
        if (!read_long(d, &count, map ? "map block count" : "array block count")) {
            return false;
        }
        if (count == 0) {
            break;
        }
        if (count < 0) {
            int64_t size;
            if (count == INT64_MIN || !read_long(d, &size, "block byte size")) {
                return count == INT64_MIN ? dfail(d, SCH_ERR_MALFORMED, "block count") : false;
            }
            count = -count;
        }
        for (int64_t i = 0; i < count; i++) {
            if (!first) {
                sch_out_addc(d->out, ',');
            }
            first = false;
            if (map) {
                kr key;
                if (!read_len_bytes(d, &key, "map key") || !put_string(d, &key)) {
                    return false;
                }
                sch_out_addc(d->out, ':');
            }
            if (!decode(d, n->item, depth + 1) || !out_ok(d)) {
                return false; // the output limit also bounds blocks of zero-byte items
            }
        }
    }
    sch_out_addc(d->out, map ? '}' : ']');
    return true;
}

static bool decode_bytes_like(struct dec *d, const struct avro_node *n)
{
    kr v;
    if (n->type == AVRO_FIXED) {
        if (!kr_sub(&d->r, &v, n->size)) {
            return cursor_fail(d, "fixed");
        }
    } else if (!read_len_bytes(d, &v, "bytes")) {
        return false;
    }
    if (n->decimal) {
        return put_decimal(d, v.p, v.len, n->scale);
    }
    sch_out_latin1_str(d->out, v.p, v.len);
    return true;
}

static bool decode_scalar(struct dec *d, const struct avro_node *n)
{
    uint8_t b;
    int32_t i32;
    int64_t i64;
    uint32_t u32;
    uint64_t u64;
    kr v;
    switch (n->type) {
    case AVRO_NULL:
        sch_out_adds(d->out, "null");
        return true;
    case AVRO_BOOLEAN:
        if (!kr_u8(&d->r, &b)) {
            return cursor_fail(d, "boolean");
        }
        if (b > 1) {
            return dfail(d, SCH_ERR_MALFORMED, "boolean byte not 0 or 1");
        }
        sch_out_adds(d->out, b ? "true" : "false");
        return true;
    case AVRO_INT:
        if (!kr_varint(&d->r, &i32)) {
            return cursor_fail(d, "int");
        }
        sch_out_i64(d->out, i32);
        return true;
    case AVRO_LONG:
        if (!read_long(d, &i64, "long")) {
            return false;
        }
        sch_out_i64(d->out, i64);
        return true;
    case AVRO_FLOAT: {
        float f;
        if (!kr_u32le(&d->r, &u32)) {
            return cursor_fail(d, "float");
        }
        memcpy(&f, &u32, sizeof f);
        sch_out_float(d->out, f);
        return true;
    }
    case AVRO_DOUBLE: {
        double x;
        if (!kr_u64le(&d->r, &u64)) {
            return cursor_fail(d, "double");
        }
        memcpy(&x, &u64, sizeof x);
        sch_out_double(d->out, x);
        return true;
    }
    case AVRO_STRING:
        return read_len_bytes(d, &v, "string") && put_string(d, &v);
    case AVRO_BYTES:
    case AVRO_FIXED:
    case AVRO_RECORD:
    case AVRO_ENUM:
    case AVRO_ARRAY:
    case AVRO_MAP:
    case AVRO_UNION:
        break;
    }
    return dfail(d, SCH_ERR_SCHEMA, "internal: not a scalar");
}

static bool decode(struct dec *d, uint32_t node, int depth)
{
    if (depth > SCH_MAX_DEPTH) {
        return dfail(d, SCH_ERR_LIMIT, "values nested deeper than 64");
    }
    if (!out_ok(d)) {
        return false;
    }
    const struct avro_node *n = &d->s->nodes[node];
    int64_t idx;
    switch (n->type) {
    case AVRO_RECORD:
        return decode_record(d, n, depth);
    case AVRO_ENUM:
        if (!read_long(d, &idx, "enum index")) {
            return false;
        }
        if (idx < 0 || (uint64_t)idx >= n->count) {
            return dfail(d, SCH_ERR_MALFORMED, "enum index out of range");
        }
        {
            const char *sym = d->s->symbols[n->first + (uint32_t)idx];
            sch_out_json_str(d->out, sym, strlen(sym));
        }
        return true;
    case AVRO_ARRAY:
    case AVRO_MAP:
        return decode_blocks(d, n, depth);
    case AVRO_UNION:
        if (!read_long(d, &idx, "union branch")) {
            return false;
        }
        if (idx < 0 || (uint64_t)idx >= n->count) {
            return dfail(d, SCH_ERR_MALFORMED, "union branch index out of range");
        }
        return decode(d, d->s->branches[n->first + (uint32_t)idx], depth + 1);
    case AVRO_BYTES:
    case AVRO_FIXED:
        return decode_bytes_like(d, n);
    case AVRO_NULL:
    case AVRO_BOOLEAN:
    case AVRO_INT:
    case AVRO_LONG:
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
    case AVRO_STRING:
        break;
    }
    return decode_scalar(d, n);
}

enum sch_status sch_avro_to_json(const struct sch_avro *s, const uint8_t *p, size_t len,
                                 struct sch_out *out, struct sch_err *err)
{
    struct dec d = {.s = s, .out = out, .err = err, .st = SCH_OK};
    kr_init(&d.r, p, len);
    if (!decode(&d, s->root, 0)) {
        return d.st != SCH_OK ? d.st : SCH_ERR_MALFORMED;
    }
    if (!out_ok(&d)) {
        return d.st;
    }
    if (kr_left(&d.r) != 0) {
        return sch_fail(err, SCH_ERR_MALFORMED,
                        "Avro data: %zu byte(s) left after the value at byte %zu (written with "
                        "another schema?)",
                        kr_left(&d.r), kr_offset(&d.r));
    }
    return SCH_OK;
}
