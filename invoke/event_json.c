// event_json.c: Lambda Kafka event JSON, written straight into a buffer. Every *_write function
// has a *_len twin computing the same length without writing; the unit tests check they agree.
#include "invoke/event_json.h"

#include "base/alloc.h"
#include "base/base64.h"
#include "base/buf.h"
#include "base/hex.h"
#include "base/utf8.h"

#include <stdlib.h>
#include <string.h>

struct inv_event_seen {
    char *topic;
    size_t topic_len;
    int32_t partition;
};

// ---- strings --------------------------------------------------------------------------------

static const char replacement[3] = {(char)0xef, (char)0xbf, (char)0xbd}; // U+FFFD

size_t inv_json_str_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = 2;
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            len += 2;
            i++;
        } else if (c < 0x20) {
            len += 6;
            i++;
        } else if (c < 0x80) {
            len++;
            i++;
        } else {
            size_t k = utf8_seq(u + i, n - i);
            len += k ? k : sizeof replacement;
            i += k ? k : 1;
        }
    }
    return len;
}

// put_json_str writes the quoted, escaped string at |o| (room for inv_json_str_len(s, n) bytes)
// and returns the end.
static char *put_json_str(char *o, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    *o++ = '"';
    size_t i = 0;
    while (i < n) {
        // Copy the longest run of plain ASCII in one step.
        size_t j = i;
        while (j < n && u[j] >= 0x20 && u[j] < 0x80 && u[j] != '"' && u[j] != '\\') {
            j++;
        }
        if (j > i) {
            memcpy(o, s + i, j - i);
            o += j - i;
            i = j;
            continue;
        }
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
            i++;
        } else if (c < 0x20) {
            memcpy(o, "\\u00", 4);
            o[4] = hex_lower[c >> 4];
            o[5] = hex_lower[c & 15];
            o += 6;
            i++;
        } else {
            size_t k = utf8_seq(u + i, n - i);
            if (k) {
                memcpy(o, s + i, k);
                i += k;
                o += k;
            } else {
                memcpy(o, replacement, sizeof replacement);
                o += sizeof replacement;
                i++;
            }
        }
    }
    *o++ = '"';
    return o;
}

void inv_json_str_write(struct buf *out, const char *s, size_t n)
{
    size_t room = inv_json_str_len(s, n);
    char *d = buf_reserve(out, room);
    out->len += (size_t)(put_json_str(d, s, n) - d);
}

// ---- numbers --------------------------------------------------------------------------------

static const uint64_t pow10_table[20] = {1u,
                                         10u,
                                         100u,
                                         1000u,
                                         10000u,
                                         100000u,
                                         1000000u,
                                         10000000u,
                                         100000000u,
                                         1000000000u,
                                         10000000000u,
                                         100000000000u,
                                         1000000000000u,
                                         10000000000000u,
                                         100000000000000u,
                                         1000000000000000u,
                                         10000000000000000u,
                                         100000000000000000u,
                                         1000000000000000000u,
                                         10000000000000000000u};

static size_t u64_digits(uint64_t u)
{
#if defined(__GNUC__)
    // floor(log10(u)) from the bit length (1233 / 4096 ~ log10(2)), corrected by one comparison.
    // u | 1 keeps zero at one digit and changes no other count (powers of ten above 1 are even).
    uint64_t v = u | 1;
    size_t bits = 64 - (size_t)__builtin_clzll(v);
    size_t d = bits * 1233 >> 12;
    return d + (v >= pow10_table[d]);
#else
    size_t d = 1;
    while (d < 20 && u >= pow10_table[d]) {
        d++;
    }
    return d;
#endif
}

static size_t i64_len(int64_t v)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    return (v < 0 ? 1u : 0u) + u64_digits(u);
}

static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

// put_digits writes |u| (below 10^8) as exactly |n| decimal digits (1..8; zero-padded when
// |u| has fewer) at |o| and returns the end. No division: u / 10^(m-2) as a fixed-point number
// with 48 fraction bits (m = n rounded up to even; the multiplier is 2^48 / 10^(m-2) rounded
// up, so the error stays below one unit of the last pair), then each further pair of digits is
// the integer part of the fraction times 100. Checked against printf for every u below 10^8.
static char *put_digits(char *o, uint32_t u, size_t n)
{
    static const uint64_t scale[5] = {0, 1ull << 48, 2814749767107ull, 28147497672ull,
                                      281474977ull};
    const uint64_t frac = (1ull << 48) - 1;
    size_t m = (n + 1) & ~(size_t)1;
    uint64_t y = (uint64_t)u * scale[m / 2];
    if (n & 1) {
        *o++ = (char)('0' + (y >> 48));
    } else {
        memcpy(o, digit_pairs + 2 * (y >> 48), 2);
        o += 2;
    }
    for (size_t k = 2; k < m; k += 2) {
        y = (y & frac) * 100u;
        memcpy(o, digit_pairs + 2 * (y >> 48), 2);
        o += 2;
    }
    return o;
}

// put_i64 writes |v| in decimal at |o| (room for i64_len(v) bytes) and returns the end: up to
// three chunks of at most eight digits, split with two divisions by 10^8 (multiplications).
static char *put_i64(char *o, int64_t v)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (v < 0) {
        *o++ = '-';
    }
    size_t n = u64_digits(u);
    if (n <= 8) {
        return put_digits(o, (uint32_t)u, n);
    }
    uint32_t lo = (uint32_t)(u % 100000000u);
    u /= 100000000u;
    if (n <= 16) {
        o = put_digits(o, (uint32_t)u, n - 8);
    } else {
        o = put_digits(o, (uint32_t)(u / 100000000u), n - 16);
        o = put_digits(o, (uint32_t)(u % 100000000u), 8);
    }
    return put_digits(o, lo, 8);
}

static void i64_write(struct buf *out, int64_t v)
{
    char *d = buf_reserve(out, 20);
    out->len += (size_t)(put_i64(d, v) - d);
}

// sbyte_len is the length of a byte printed as a Java (signed) byte, plus its comma.
static size_t sbyte_len(uint8_t b)
{
    int v = (int8_t)b;
    int a = v < 0 ? -v : v;
    return (size_t)(v < 0) + (a < 10 ? 1 : a < 100 ? 2 : 3) + 1;
}

// ---- pieces ---------------------------------------------------------------------------------

static const char *source_name(enum inv_event_source s)
{
    switch (s) {
    case INV_EVENT_MSK:
        return "aws:kafka";
    case INV_EVENT_SELF_MANAGED:
        break;
    }
    return "SelfManagedKafka";
}

#define LIT(s) (sizeof(s) - 1)

static const char *nz(const char *s)
{
    return s ? s : "";
}

size_t inv_event_head_len(const struct inv_event_cfg *cfg)
{
    const char *src = source_name(cfg->source);
    size_t len = LIT("{\"eventSource\":") + inv_json_str_len(src, strlen(src));
    if (cfg->source == INV_EVENT_MSK) {
        const char *arn = nz(cfg->event_source_arn);
        len += LIT(",\"eventSourceArn\":") + inv_json_str_len(arn, strlen(arn));
    }
    const char *bs = nz(cfg->bootstrap_servers);
    len += LIT(",\"bootstrapServers\":") + inv_json_str_len(bs, strlen(bs));
    len += LIT(",\"records\":{");
    return len + INV_EVENT_TAIL_LEN;
}

void inv_event_head_write(struct buf *out, const struct inv_event_cfg *cfg)
{
    const char *src = source_name(cfg->source);
    buf_adds(out, "{\"eventSource\":");
    inv_json_str_write(out, src, strlen(src));
    if (cfg->source == INV_EVENT_MSK) {
        const char *arn = nz(cfg->event_source_arn);
        buf_adds(out, ",\"eventSourceArn\":");
        inv_json_str_write(out, arn, strlen(arn));
    }
    const char *bs = nz(cfg->bootstrap_servers);
    buf_adds(out, ",\"bootstrapServers\":");
    inv_json_str_write(out, bs, strlen(bs));
    buf_adds(out, ",\"records\":{");
}

void inv_event_tail_write(struct buf *out)
{
    buf_add(out, "}}", INV_EVENT_TAIL_LEN);
}

void inv_event_partition_key(struct buf *out, const char *topic, size_t topic_len,
                             int32_t partition)
{
    buf_add(out, topic, topic_len);
    buf_addc(out, '-');
    i64_write(out, partition);
}

size_t inv_event_group_len(const char *topic, size_t topic_len, int32_t partition)
{
    // The key is topic + "-" + partition; the partition digits never need escaping.
    size_t key = inv_json_str_len(topic, topic_len) + 1 + i64_len(partition);
    return key + LIT(":[") + LIT("]");
}

void inv_event_group_open(struct buf *out, const char *topic, size_t topic_len, int32_t partition)
{
    inv_json_str_write(out, topic, topic_len);
    out->len--; // reopen the closing quote to append "-<partition>"
    buf_addc(out, '-');
    i64_write(out, partition);
    buf_add(out, "\":[", 3);
}

void inv_event_group_close(struct buf *out)
{
    buf_addc(out, ']');
}

// b64_str_len is the length of a quoted base64 string of |b|.
static size_t b64_str_len(struct inv_bytes b)
{
    return 2 + base64_len(b.len);
}

size_t inv_event_record_prefix_len(const char *topic, size_t topic_len, int32_t partition)
{
    return LIT("{\"topic\":") + inv_json_str_len(topic, topic_len) + LIT(",\"partition\":") +
           i64_len(partition) + LIT(",\"offset\":");
}

size_t inv_event_record_len(const struct inv_event_cfg *cfg, const struct inv_record *rec)
{
    return inv_event_record_prefix_len(rec->topic, rec->topic_len, rec->partition) +
           inv_event_record_rest_len(cfg, rec);
}

// meta_len is the length of ,"<name>":{"dataFormat":"..","schemaId":".."} (0 without |m|).
static size_t meta_len(const char *name, const struct inv_schema_meta *m)
{
    if (!m) {
        return 0;
    }
    return 1 + strlen(name) + 2 + LIT(":{\"dataFormat\":") +
           inv_json_str_len(m->data_format, strlen(m->data_format)) + LIT(",\"schemaId\":") +
           inv_json_str_len(m->schema_id, strlen(m->schema_id)) + LIT("}");
}

size_t inv_event_record_rest_len(const struct inv_event_cfg *cfg, const struct inv_record *rec)
{
    const char *tt = inv_ts_type_name(rec->ts_type);
    size_t len = i64_len(rec->offset);
    len += LIT(",\"timestamp\":") + i64_len(rec->timestamp);
    len += LIT(",\"timestampType\":") + strlen(tt) + 2;
    if (!rec->key.is_null) {
        len += LIT(",\"key\":") + b64_str_len(rec->key);
    }
    if (!rec->value.is_null) {
        len += LIT(",\"value\":") + b64_str_len(rec->value);
    } else if (cfg->null_value == INV_NULL_VALUE_JSON_NULL) {
        len += LIT(",\"value\":null");
    }
    len += LIT(",\"headers\":[");
    for (size_t i = 0; i < rec->num_headers; i++) {
        const struct inv_header *h = &rec->headers[i];
        len += (i ? 1u : 0u) + 3 + inv_json_str_len(h->name, h->name_len); // , { : }
        if (h->value.is_null) {
            len += cfg->null_header == INV_NULL_HEADER_JSON_NULL ? LIT("null") : LIT("[]");
        } else if (h->value.len == 0) {
            len += LIT("[]");
        } else {
            len += 1; // '[' ; each byte's length includes a comma, the last one's is the ']'
            for (size_t j = 0; j < h->value.len; j++) {
                len += sbyte_len(h->value.p[j]);
            }
        }
    }
    len += LIT("]") + meta_len("keySchemaMetadata", rec->key_meta) +
           meta_len("valueSchemaMetadata", rec->value_meta) + LIT("}");
    return len;
}

#define PUT_LIT(o, s) (memcpy((o), (s), LIT(s)), (o) + LIT(s))

static char *put_b64(char *o, struct inv_bytes b)
{
    *o++ = '"';
    o += base64_encode(o, b.p, b.len);
    *o++ = '"';
    return o;
}

// put_header_value writes [b0,b1,...] with each byte as a signed decimal.
static char *put_header_value(char *o, const uint8_t *p, size_t n)
{
    *o++ = '[';
    for (size_t j = 0; j < n; j++) {
        int v = (int8_t)p[j];
        if (j) {
            *o++ = ',';
        }
        if (v < 0) {
            *o++ = '-';
            v = -v;
        }
        if (v >= 100) {
            *o++ = (char)('0' + v / 100);
            *o++ = (char)('0' + v / 10 % 10);
        } else if (v >= 10) {
            *o++ = (char)('0' + v / 10);
        }
        *o++ = (char)('0' + v % 10);
    }
    *o++ = ']';
    return o;
}

static char *put_prefix(char *o, const char *topic, size_t topic_len, int32_t partition)
{
    o = PUT_LIT(o, "{\"topic\":");
    o = put_json_str(o, topic, topic_len);
    o = PUT_LIT(o, ",\"partition\":");
    o = put_i64(o, partition);
    return PUT_LIT(o, ",\"offset\":");
}

void inv_event_record_prefix_write(struct buf *out, const char *topic, size_t topic_len,
                                   int32_t partition)
{
    char *d = buf_reserve(out, inv_event_record_prefix_len(topic, topic_len, partition));
    out->len += (size_t)(put_prefix(d, topic, topic_len, partition) - d);
}

static char *put_meta(char *o, const char *name, const struct inv_schema_meta *m)
{
    if (!m) {
        return o;
    }
    *o++ = ',';
    o = put_json_str(o, name, strlen(name));
    o = PUT_LIT(o, ":{\"dataFormat\":");
    o = put_json_str(o, m->data_format, strlen(m->data_format));
    o = PUT_LIT(o, ",\"schemaId\":");
    o = put_json_str(o, m->schema_id, strlen(m->schema_id));
    *o++ = '}';
    return o;
}

char *inv_event_record_put(char *dst, const struct inv_event_cfg *cfg, const struct inv_record *rec)
{
    char *o = put_prefix(dst, rec->topic, rec->topic_len, rec->partition);
    return inv_event_record_put_rest(o, cfg, rec);
}

// put_offset_nums writes |v| like put_i64, from |c|'s digits when |v| follows the last offset
// printed (incremented in place) or equals it. It copies 20 bytes to |o|: what a record writes
// after its offset digits (or its timestamp digits, put_ts_nums) is longer than that, so the
// extra bytes are overwritten and stay within the record's room.
static char *put_offset_nums(char *o, int64_t v, struct inv_event_nums *c)
{
    if (c->offset_len && c->offset >= 0 && v == c->offset + 1) {
        size_t i = c->offset_len;
        while (i > 0 && c->offset_txt[i - 1] == '9') {
            c->offset_txt[--i] = '0';
        }
        if (i > 0) {
            c->offset_txt[i - 1]++;
            c->offset = v;
        } else {
            c->offset_len = 0; // 99..9 + 1 has one more digit: print it
        }
    }
    if (c->offset_len == 0 || v != c->offset) {
        c->offset_len = (uint8_t)(put_i64(c->offset_txt, v) - c->offset_txt);
        c->offset = v;
    }
    memcpy(o, c->offset_txt, sizeof c->offset_txt);
    return o + c->offset_len;
}

// put_ts_nums writes |v| like put_i64, from |c|'s digits when it equals the last timestamp.
static char *put_ts_nums(char *o, int64_t v, struct inv_event_nums *c)
{
    if (c->ts_len == 0 || v != c->timestamp) {
        c->ts_len = (uint8_t)(put_i64(c->ts_txt, v) - c->ts_txt);
        c->timestamp = v;
    }
    memcpy(o, c->ts_txt, sizeof c->ts_txt);
    return o + c->ts_len;
}

size_t inv_event_record_rest_max(const struct inv_event_cfg *cfg, const struct inv_record *rec)
{
    (void)cfg;
    size_t len = 20 + LIT(",\"timestamp\":") + 20 + LIT(",\"timestampType\":\"NO_TIMESTAMP_TYPE\"");
    if (!rec->key.is_null) {
        len += LIT(",\"key\":") + b64_str_len(rec->key);
    }
    len +=
        rec->value.is_null ? LIT(",\"value\":null") : LIT(",\"value\":") + b64_str_len(rec->value);
    len += LIT(",\"headers\":[");
    for (size_t i = 0; i < rec->num_headers; i++) {
        // , { "name" : [values] } with every name byte at most 6 (\u00XX) and every value byte
        // at most 5 (-128,); null and empty values take at most 4.
        const struct inv_header *h = &rec->headers[i];
        len += 10 + 6 * h->name_len + 5 * (h->value.is_null ? 0 : h->value.len);
    }
    len += LIT("]") + meta_len("keySchemaMetadata", rec->key_meta) +
           meta_len("valueSchemaMetadata", rec->value_meta) + LIT("}");
    return len;
}

// put_rest is inlined into its two callers (inv_event_record_put_rest_nums: once per record).
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline char *
put_rest(char *dst, const struct inv_event_cfg *cfg, const struct inv_record *rec,
         struct inv_event_nums *nums)
{
    char *o;
    if (nums) {
        o = put_offset_nums(dst, rec->offset, nums);
        o = PUT_LIT(o, ",\"timestamp\":");
        o = put_ts_nums(o, rec->timestamp, nums);
    } else {
        o = put_i64(dst, rec->offset);
        o = PUT_LIT(o, ",\"timestamp\":");
        o = put_i64(o, rec->timestamp);
    }
    switch (rec->ts_type) {
    case INV_TS_LOG_APPEND_TIME:
        o = PUT_LIT(o, ",\"timestampType\":\"LOG_APPEND_TIME\"");
        break;
    case INV_TS_NO_TIMESTAMP_TYPE:
        o = PUT_LIT(o, ",\"timestampType\":\"NO_TIMESTAMP_TYPE\"");
        break;
    case INV_TS_CREATE_TIME:
    default:
        o = PUT_LIT(o, ",\"timestampType\":\"CREATE_TIME\"");
        break;
    }
    if (!rec->key.is_null) {
        o = PUT_LIT(o, ",\"key\":");
        o = put_b64(o, rec->key);
    }
    if (!rec->value.is_null) {
        o = PUT_LIT(o, ",\"value\":");
        o = put_b64(o, rec->value);
    } else if (cfg->null_value == INV_NULL_VALUE_JSON_NULL) {
        o = PUT_LIT(o, ",\"value\":null");
    }
    if (rec->num_headers == 0 && !rec->key_meta && !rec->value_meta) {
        return PUT_LIT(o, ",\"headers\":[]}"); // the usual record: its end in one copy
    }
    o = PUT_LIT(o, ",\"headers\":[");
    for (size_t i = 0; i < rec->num_headers; i++) {
        const struct inv_header *h = &rec->headers[i];
        if (i) {
            *o++ = ',';
        }
        *o++ = '{';
        o = put_json_str(o, h->name, h->name_len);
        *o++ = ':';
        if (h->value.is_null && cfg->null_header == INV_NULL_HEADER_JSON_NULL) {
            o = PUT_LIT(o, "null");
        } else if (h->value.is_null) {
            o = PUT_LIT(o, "[]");
        } else {
            o = put_header_value(o, h->value.p, h->value.len);
        }
        *o++ = '}';
    }
    *o++ = ']';
    o = put_meta(o, "keySchemaMetadata", rec->key_meta);
    o = put_meta(o, "valueSchemaMetadata", rec->value_meta);
    *o++ = '}';
    return o;
}

char *inv_event_record_put_rest(char *dst, const struct inv_event_cfg *cfg,
                                const struct inv_record *rec)
{
    return put_rest(dst, cfg, rec, NULL);
}

char *inv_event_record_put_rest_nums(char *dst, const struct inv_event_cfg *cfg,
                                     const struct inv_record *rec, struct inv_event_nums *nums)
{
    return put_rest(dst, cfg, rec, nums);
}

void inv_event_record_write(struct buf *out, const struct inv_event_cfg *cfg,
                            const struct inv_record *rec)
{
    size_t len = inv_event_record_len(cfg, rec);
    char *d = buf_reserve(out, len);
    out->len += (size_t)(inv_event_record_put(d, cfg, rec) - d);
}

// ---- streaming encoder ----------------------------------------------------------------------

void inv_event_begin(struct inv_event_enc *enc, struct buf *out, const struct inv_event_cfg *cfg)
{
    memset(enc, 0, sizeof *enc);
    enc->out = out;
    enc->cfg = cfg;
    enc->final_len = inv_event_head_len(cfg);
    inv_event_head_write(out, cfg);
}

static bool same_group(const struct inv_event_enc *enc, const struct inv_record *rec)
{
    return enc->in_group && enc->group_partition == rec->partition &&
           enc->group_topic_len == rec->topic_len &&
           memcmp(enc->group_topic, rec->topic, rec->topic_len) == 0;
}

size_t inv_event_add_len(const struct inv_event_enc *enc, const struct inv_record *rec)
{
    size_t len = inv_event_record_len(enc->cfg, rec);
    if (same_group(enc, rec)) {
        return len + 1; // comma
    }
    len += inv_event_group_len(rec->topic, rec->topic_len, rec->partition);
    return len + (enc->in_group ? 1u : 0u);
}

size_t inv_event_final_len(const struct inv_event_enc *enc)
{
    return enc->final_len;
}

static void close_group(struct inv_event_enc *enc)
{
    if (!enc->in_group) {
        return;
    }
    inv_event_group_close(enc->out);
    enc->seen = xrealloc(enc->seen, (enc->num_seen + 1) * sizeof *enc->seen);
    enc->seen[enc->num_seen].topic = enc->group_topic;
    enc->seen[enc->num_seen].topic_len = enc->group_topic_len;
    enc->seen[enc->num_seen].partition = enc->group_partition;
    enc->num_seen++;
    enc->group_topic = NULL;
    enc->in_group = false;
}

int inv_event_add(struct inv_event_enc *enc, const struct inv_record *rec, struct inv_err *err)
{
    size_t add = inv_event_add_len(enc, rec);
    if (same_group(enc, rec)) {
        if (rec->offset <= enc->last_offset) {
            return inv_fail(err, -1, "event: offset %lld after %lld in partition %d",
                            (long long)rec->offset, (long long)enc->last_offset,
                            (int)rec->partition);
        }
        buf_addc(enc->out, ',');
    } else {
        for (size_t i = 0; i < enc->num_seen; i++) {
            const struct inv_event_seen *s = &enc->seen[i];
            if (s->partition == rec->partition && s->topic_len == rec->topic_len &&
                memcmp(s->topic, rec->topic, rec->topic_len) == 0) {
                return inv_fail(err, -1, "event: partition %d is not contiguous in the batch",
                                (int)rec->partition);
            }
        }
        bool had_group = enc->in_group;
        close_group(enc);
        if (had_group) {
            buf_addc(enc->out, ',');
        }
        inv_event_group_open(enc->out, rec->topic, rec->topic_len, rec->partition);
        enc->in_group = true;
        enc->group_topic = xstrndup(rec->topic, rec->topic_len);
        enc->group_topic_len = rec->topic_len;
        enc->group_partition = rec->partition;
    }
    inv_event_record_write(enc->out, enc->cfg, rec);
    enc->last_offset = rec->offset;
    enc->final_len += add;
    enc->num_records++;
    return 0;
}

size_t inv_event_end(struct inv_event_enc *enc)
{
    close_group(enc);
    inv_event_tail_write(enc->out);
    for (size_t i = 0; i < enc->num_seen; i++) {
        free(enc->seen[i].topic);
    }
    free(enc->seen);
    size_t n = enc->num_records;
    memset(enc, 0, sizeof *enc);
    return n;
}
