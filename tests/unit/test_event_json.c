// test_event_json.c: the Lambda Kafka event encoder, parsed back with cJSON and compared field by
// field (base64 round trip, signed header bytes, nulls, empties, escaping, partitions, key order).
#include "base/base64.h"
#include "base/buf.h"
#include "invoke/event_json.h"
#include "tests/lib/unit.h"

#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct inv_event_cfg self_cfg = {
    .source = INV_EVENT_SELF_MANAGED,
    .bootstrap_servers = "b1.kafka.test:9096,b2.kafka.test:9096",
};

// utf8_valid is an independent decoder-based check (code point ranges, not byte patterns).
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (k == 0 || i + k > n) {
            return false;
        }
        unsigned long cp = k == 1 ? c : c & (0x7fu >> k);
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) {
                return false;
            }
            cp = cp << 6 | (s[i + j] & 0x3fu);
        }
        static const unsigned long min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += k;
    }
    return true;
}

// encode runs the streaming encoder over |recs| and checks the predicted sizes as it goes.
static char *encode(const struct inv_event_cfg *cfg, const struct inv_record *recs, size_t n,
                    size_t *out_len)
{
    struct buf b;
    buf_init(&b);
    struct inv_event_enc enc;
    inv_event_begin(&enc, &b, cfg);
    for (size_t i = 0; i < n; i++) {
        size_t before = inv_event_final_len(&enc);
        size_t add = inv_event_add_len(&enc, &recs[i]);
        size_t raw_before = b.len;
        assert_int_equal(inv_event_add(&enc, &recs[i], NULL), 0);
        assert_int_equal(inv_event_final_len(&enc), before + add);
        // The record object alone is exactly inv_event_record_len bytes at the end.
        size_t rl = inv_event_record_len(cfg, &recs[i]);
        assert_true(b.len - raw_before >= rl);
        assert_int_equal(b.p[b.len - rl], '{');
        assert_int_equal(b.p[b.len - 1], '}');
    }
    size_t predicted = inv_event_final_len(&enc);
    assert_int_equal(inv_event_end(&enc), n);
    assert_int_equal(b.len, predicted);
    assert_true(utf8_valid((const unsigned char *)b.p, b.len));
    return buf_steal(&b, out_len);
}

static cJSON *parse(const char *s, size_t len)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(s, len, &end, false);
    assert_non_null(j);
    assert_ptr_equal(end, s + len); // nothing after the object
    return j;
}

static void assert_b64(const cJSON *item, const void *want, size_t want_len)
{
    assert_true(cJSON_IsString(item));
    const char *s = item->valuestring;
    uint8_t *d = malloc(strlen(s) / 4 * 3 + 1);
    size_t dlen;
    assert_true(base64_decode(d, strlen(s) / 4 * 3 + 1, &dlen, NULL, s, strlen(s)));
    assert_int_equal(dlen, want_len);
    if (want_len) {
        assert_memory_equal(d, want, want_len);
    }
    free(d);
}

static void assert_keys(const cJSON *obj, const char *const *names, size_t n)
{
    const cJSON *c = obj->child;
    for (size_t i = 0; i < n; i++, c = c->next) {
        assert_non_null(c);
        assert_string_equal(c->string, names[i]);
    }
    assert_null(c);
}

static void assert_header(const cJSON *h, const char *name, const int *want, size_t n)
{
    assert_true(cJSON_IsObject(h));
    assert_int_equal(cJSON_GetArraySize(h), 1);
    const cJSON *v = h->child;
    assert_string_equal(v->string, name);
    assert_true(cJSON_IsArray(v));
    assert_int_equal(cJSON_GetArraySize(v), (int)n);
    for (size_t i = 0; i < n; i++) {
        const cJSON *e = cJSON_GetArrayItem(v, (int)i);
        assert_true(cJSON_IsNumber(e));
        assert_int_equal(e->valueint, want[i]);
    }
}

static void test_two_partitions_field_by_field(void **state)
{
    (void)state;
    const uint8_t hv_bytes[] = {0x00, 0x7f, 0x80, 0xff, 0x01, 0xc3, 0xa9};
    struct inv_header h0[] = {
        {"trace-id", 8, inv_bytes_of("abc123", 6)},
        {"bin", 3, inv_bytes_of(hv_bytes, sizeof hv_bytes)},
        {"trace-id", 8, inv_bytes_of("dup", 3)}, // duplicate kept, in order
        {"nullh", 5, inv_bytes_null()},
        {"empty", 5, inv_bytes_of("", 0)},
    };
    struct inv_record recs[] = {
        {"orders", 6, 0, 4711, 1735689600123, INV_TS_CREATE_TIME, inv_bytes_of("customer-42", 11),
         inv_bytes_of("{\"orderId\":\"A-1001\"}", 20), h0, 5, NULL, NULL, NULL},
        {"orders", 6, 0, 4712, 1735689600456, INV_TS_CREATE_TIME, inv_bytes_null(),
         inv_bytes_of("ping", 4), NULL, 0, NULL, NULL, NULL},
        {"orders", 6, 3, 90, 1735689601000, INV_TS_LOG_APPEND_TIME, inv_bytes_of("", 0),
         inv_bytes_of("", 0), NULL, 0, NULL, NULL, NULL},
    };
    size_t len;
    char *s = encode(&self_cfg, recs, 3, &len);
    cJSON *j = parse(s, len);
    static const char *const top[] = {"eventSource", "bootstrapServers", "records"};
    assert_keys(j, top, 3);
    assert_string_equal(cJSON_GetObjectItem(j, "eventSource")->valuestring, "SelfManagedKafka");
    assert_string_equal(cJSON_GetObjectItem(j, "bootstrapServers")->valuestring,
                        "b1.kafka.test:9096,b2.kafka.test:9096");
    const cJSON *records = cJSON_GetObjectItem(j, "records");
    static const char *const groups[] = {"orders-0", "orders-3"};
    assert_keys(records, groups, 2);
    const cJSON *g0 = cJSON_GetObjectItem(records, "orders-0");
    assert_int_equal(cJSON_GetArraySize(g0), 2);

    const cJSON *r0 = cJSON_GetArrayItem(g0, 0);
    static const char *const rkeys[] = {"topic",         "partition", "offset", "timestamp",
                                        "timestampType", "key",       "value",  "headers"};
    assert_keys(r0, rkeys, 8);
    assert_string_equal(cJSON_GetObjectItem(r0, "topic")->valuestring, "orders");
    assert_int_equal(cJSON_GetObjectItem(r0, "partition")->valueint, 0);
    assert_true(cJSON_GetObjectItem(r0, "offset")->valuedouble == 4711.0);
    assert_true(cJSON_GetObjectItem(r0, "timestamp")->valuedouble == 1735689600123.0);
    assert_string_equal(cJSON_GetObjectItem(r0, "timestampType")->valuestring, "CREATE_TIME");
    assert_b64(cJSON_GetObjectItem(r0, "key"), "customer-42", 11);
    assert_b64(cJSON_GetObjectItem(r0, "value"), "{\"orderId\":\"A-1001\"}", 20);
    const cJSON *hs = cJSON_GetObjectItem(r0, "headers");
    assert_int_equal(cJSON_GetArraySize(hs), 5);
    static const int want0[] = {97, 98, 99, 49, 50, 51};
    static const int want1[] = {0, 127, -128, -1, 1, -61, -87};
    static const int want2[] = {100, 117, 112};
    assert_header(cJSON_GetArrayItem(hs, 0), "trace-id", want0, 6);
    assert_header(cJSON_GetArrayItem(hs, 1), "bin", want1, 7);
    assert_header(cJSON_GetArrayItem(hs, 2), "trace-id", want2, 3);
    assert_header(cJSON_GetArrayItem(hs, 3), "nullh", NULL, 0); // default: []
    assert_header(cJSON_GetArrayItem(hs, 4), "empty", NULL, 0);

    const cJSON *r1 = cJSON_GetArrayItem(g0, 1);
    static const char *const r1keys[] = {"topic",         "partition", "offset", "timestamp",
                                         "timestampType", "value",     "headers"};
    assert_keys(r1, r1keys, 7); // null key: member omitted
    assert_b64(cJSON_GetObjectItem(r1, "value"), "ping", 4);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r1, "headers")), 0);

    const cJSON *r2 = cJSON_GetArrayItem(cJSON_GetObjectItem(records, "orders-3"), 0);
    assert_int_equal(cJSON_GetObjectItem(r2, "partition")->valueint, 3);
    assert_string_equal(cJSON_GetObjectItem(r2, "timestampType")->valuestring, "LOG_APPEND_TIME");
    assert_string_equal(cJSON_GetObjectItem(r2, "key")->valuestring, "");
    assert_string_equal(cJSON_GetObjectItem(r2, "value")->valuestring, "");
    cJSON_Delete(j);
    free(s);
}

static void test_exact_bytes(void **state)
{
    (void)state;
    const uint8_t hv[] = {102, 114, 45, 0xc3, 0xa9};
    struct inv_header h[] = {{"lang", 4, inv_bytes_of(hv, 5)}};
    struct inv_record r = {"orders",
                           6,
                           0,
                           15,
                           1545084650987,
                           INV_TS_CREATE_TIME,
                           inv_bytes_of("k0", 2),
                           inv_bytes_of("{\"order\":1}", 11),
                           h,
                           1,
                           NULL,
                           NULL,
                           NULL};
    size_t len;
    char *s = encode(&self_cfg, &r, 1, &len);
    const char *want =
        "{\"eventSource\":\"SelfManagedKafka\",\"bootstrapServers\":\"b1.kafka.test:9096,"
        "b2.kafka.test:9096\",\"records\":{\"orders-0\":[{\"topic\":\"orders\",\"partition\":0,"
        "\"offset\":15,\"timestamp\":1545084650987,\"timestampType\":\"CREATE_TIME\",\"key\":"
        "\"azA=\",\"value\":\"eyJvcmRlciI6MX0=\",\"headers\":[{\"lang\":[102,114,45,-61,-87]}]}]}}";
    assert_int_equal(len, strlen(want));
    assert_string_equal(s, want);
    free(s);
}

static void test_schema_metadata(void **state)
{
    (void)state;
    struct inv_schema_meta km = {"AVRO", "17"},
                           vm = {"PROTOBUF", "7b8e9f10-1111-4222-8333-944455556666"};
    struct inv_record r = {"orders",
                           6,
                           0,
                           15,
                           1545084650987,
                           INV_TS_CREATE_TIME,
                           inv_bytes_of("\"k\"", 3),
                           inv_bytes_of("{}", 2),
                           NULL,
                           0,
                           &km,
                           &vm,
                           NULL};
    size_t len;
    char *s = encode(&self_cfg, &r, 1, &len);
    const char *want =
        "{\"eventSource\":\"SelfManagedKafka\",\"bootstrapServers\":\"b1.kafka.test:9096,"
        "b2.kafka.test:9096\",\"records\":{\"orders-0\":[{\"topic\":\"orders\",\"partition\":0,"
        "\"offset\":15,\"timestamp\":1545084650987,\"timestampType\":\"CREATE_TIME\",\"key\":"
        "\"Imsi\",\"value\":\"e30=\",\"headers\":[],\"keySchemaMetadata\":{\"dataFormat\":"
        "\"AVRO\",\"schemaId\":\"17\"},\"valueSchemaMetadata\":{\"dataFormat\":\"PROTOBUF\","
        "\"schemaId\":\"7b8e9f10-1111-4222-8333-944455556666\"}}]}}";
    assert_int_equal(len, strlen(want));
    assert_string_equal(s, want);
    free(s);
    // only the value's metadata
    r.key_meta = NULL;
    s = encode(&self_cfg, &r, 1, &len);
    assert_null(strstr(s, "keySchemaMetadata"));
    assert_non_null(
        strstr(s, "\"headers\":[],\"valueSchemaMetadata\":{\"dataFormat\":\"PROTOBUF\""));
    assert_int_equal(len, strlen(s));
    free(s);
}

static void test_msk_and_null_options(void **state)
{
    (void)state;
    struct inv_event_cfg cfg = {
        .source = INV_EVENT_MSK,
        .event_source_arn = "arn:aws:kafka:us-east-1:123456789012:cluster/demo/abc-2",
        .bootstrap_servers = "b-1:9098",
        .null_value = INV_NULL_VALUE_JSON_NULL,
        .null_header = INV_NULL_HEADER_JSON_NULL,
    };
    struct inv_header h[] = {{"n", 1, inv_bytes_null()}};
    struct inv_record r = {
        "t", 1, 2,    0,    -1,  INV_TS_NO_TIMESTAMP_TYPE, inv_bytes_null(), inv_bytes_null(),
        h,   1, NULL, NULL, NULL};
    size_t len;
    char *s = encode(&cfg, &r, 1, &len);
    cJSON *j = parse(s, len);
    static const char *const top[] = {"eventSource", "eventSourceArn", "bootstrapServers",
                                      "records"};
    assert_keys(j, top, 4);
    assert_string_equal(cJSON_GetObjectItem(j, "eventSource")->valuestring, "aws:kafka");
    assert_string_equal(cJSON_GetObjectItem(j, "eventSourceArn")->valuestring,
                        cfg.event_source_arn);
    const cJSON *rec =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "records"), "t-2"), 0);
    assert_null(cJSON_GetObjectItem(rec, "key"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(rec, "value")));
    assert_true(cJSON_GetObjectItem(rec, "timestamp")->valuedouble == -1.0);
    assert_string_equal(cJSON_GetObjectItem(rec, "timestampType")->valuestring,
                        "NO_TIMESTAMP_TYPE");
    const cJSON *h0 = cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "headers"), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(h0, "n")));
    cJSON_Delete(j);
    free(s);

    // Default config: a null value omits the member.
    s = encode(&self_cfg, &r, 1, &len);
    j = parse(s, len);
    rec = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "records"), "t-2"), 0);
    assert_null(cJSON_GetObjectItem(rec, "value"));
    cJSON_Delete(j);
    free(s);
}

static void test_escaping_and_invalid_utf8(void **state)
{
    (void)state;
    const char topic[] = "we\"ird\\t\x01\x1f\x7f-é"; // quote, backslash, controls, DEL, UTF-8
    const char bad_name[] = "a\xff"
                            "b\xc3"
                            "c\xed\xa0\x80"
                            "d\xf4\x90\x80\x80"
                            "e\xe2\x82";
    const char good_name[] = "\xe2\x82\xac\xf0\x9f\x98\x80\n";
    struct inv_header h[] = {{bad_name, sizeof bad_name - 1, inv_bytes_of("v", 1)},
                             {good_name, sizeof good_name - 1, inv_bytes_of("w", 1)},
                             {"nul\0in", 6, inv_bytes_of("x", 1)}};
    struct inv_record r = {topic,
                           sizeof topic - 1,
                           7,
                           INT64_MAX,
                           INT64_MIN,
                           INV_TS_CREATE_TIME,
                           inv_bytes_null(),
                           inv_bytes_of("v", 1),
                           h,
                           3,
                           NULL,
                           NULL,
                           NULL};
    size_t len;
    char *s = encode(&self_cfg, &r, 1, &len);
    assert_non_null(strstr(s, "\\u0001\\u001f"));
    cJSON *j = parse(s, len);
    const cJSON *records = cJSON_GetObjectItem(j, "records");
    char key[64];
    snprintf(key, sizeof key, "%s-7", topic);
    const cJSON *g = cJSON_GetObjectItem(records, key);
    assert_non_null(g);
    const cJSON *rec = cJSON_GetArrayItem(g, 0);
    assert_string_equal(cJSON_GetObjectItem(rec, "topic")->valuestring, topic);
    assert_true(cJSON_GetObjectItem(rec, "offset")->valuedouble == 9223372036854775807.0);
    assert_non_null(strstr(s, "\"offset\":9223372036854775807,\"timestamp\":-9223372036854775808"));
    const cJSON *hs = cJSON_GetObjectItem(rec, "headers");
    // Each invalid byte becomes U+FFFD: \xff, \xc3 (truncated), \xed\xa0\x80 (surrogate: 3 bytes),
    // \xf4\x90\x80\x80 (above U+10FFFF: 4 bytes), \xe2\x82 (truncated: 2 bytes).
    const char *want = "a\xef\xbf\xbd"
                       "b\xef\xbf\xbd"
                       "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                       "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                       "e\xef\xbf\xbd\xef\xbf\xbd";
    assert_string_equal(cJSON_GetArrayItem(hs, 0)->child->string, want);
    assert_string_equal(cJSON_GetArrayItem(hs, 1)->child->string, good_name);
    assert_non_null(strstr(s, "\"nul\\u0000in\""));
    cJSON_Delete(j);
    free(s);
}

// check_number encodes one record with offset |v| and timestamp -|v| (and partition |p|) and
// finds both spelled as printf spells them.
static void check_number(int64_t v, int32_t p)
{
    struct inv_record r = {"t",
                           1,
                           p,
                           v,
                           v == INT64_MIN ? INT64_MAX : -v,
                           INV_TS_CREATE_TIME,
                           inv_bytes_null(),
                           inv_bytes_null(),
                           NULL,
                           0,
                           NULL,
                           NULL,
                           NULL};
    size_t len;
    char *s = encode(&self_cfg, &r, 1, &len);
    char want[128];
    snprintf(want, sizeof want,
             "\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"timestamp\":%" PRId64 ",", p,
             r.offset, r.timestamp);
    if (strstr(s, want) == NULL) {
        fail_msg("%s not in %s", want, s);
    }
    free(s);
}

// Integer printing at every digit count: 0, 10^k - 1, 10^k, 10^k + 1 for k = 1..18, both signs,
// INT64_MIN / INT64_MAX, the 13-digit millisecond timestamps of today, and random values.
static void test_integers_like_printf(void **state)
{
    (void)state;
    check_number(0, 0);
    check_number(INT64_MAX, INT32_MAX);
    check_number(INT64_MIN, 0);
    check_number(INT64_MIN + 1, 1);
    int64_t p10 = 1;
    for (int k = 1; k <= 18; k++) {
        p10 *= 10;
        for (int64_t d = -1; d <= 1; d++) {
            check_number(p10 + d, (int32_t)(p10 % 1000003));
            check_number(-(p10 + d), k);
        }
    }
    check_number(1765090000000, 47);
    srand(3);
    for (int i = 0; i < 2000; i++) {
        uint64_t u = (uint64_t)rand() << 42 ^ (uint64_t)rand() << 21 ^ (uint64_t)rand();
        check_number((int64_t)(u >> (rand() % 64)), rand());
    }
}

static void test_contiguity_and_order_enforced(void **state)
{
    (void)state;
    struct inv_record a0 = {
        "t",  1, 0,    5,    0,   INV_TS_CREATE_TIME, inv_bytes_null(), inv_bytes_of("a", 1),
        NULL, 0, NULL, NULL, NULL};
    struct inv_record a1 = a0, b0 = a0;
    a1.offset = 5; // not increasing
    b0.partition = 1;
    struct buf b;
    buf_init(&b);
    struct inv_event_enc enc;
    struct inv_err err;
    inv_event_begin(&enc, &b, &self_cfg);
    assert_int_equal(inv_event_add(&enc, &a0, &err), 0);
    size_t len_before = b.len;
    assert_int_equal(inv_event_add(&enc, &a1, &err), -1);
    assert_non_null(strstr(err.msg, "offset 5 after 5"));
    assert_int_equal(b.len, len_before);
    assert_int_equal(inv_event_add(&enc, &b0, &err), 0);
    a1.offset = 6;
    assert_int_equal(inv_event_add(&enc, &a1, &err), -1); // partition 0 already closed
    assert_non_null(strstr(err.msg, "not contiguous"));
    assert_int_equal(inv_event_end(&enc), 2);
    cJSON *j = parse(b.p, b.len);
    cJSON_Delete(j);
    buf_cleanup(&b);
}

// Random records: predicted sizes must match, output must parse and be valid UTF-8, and every
// key/value/header must round-trip.
static void test_random_records_sizes_and_round_trip(void **state)
{
    (void)state;
    srand(12345);
    for (int iter = 0; iter < 200; iter++) {
        size_t n = (size_t)(1 + rand() % 6);
        struct inv_record *recs = calloc(n, sizeof *recs);
        uint8_t pool[4096];
        for (size_t i = 0; i < sizeof pool; i++) {
            pool[i] = (uint8_t)rand();
        }
        char topic[16];
        size_t tl = (size_t)(1 + rand() % 10);
        for (size_t i = 0; i < tl; i++) {
            topic[i] = (char)(rand() % 256);
        }
        struct inv_header *hs = calloc(n * 3, sizeof *hs);
        for (size_t i = 0; i < n; i++) {
            struct inv_record *r = &recs[i];
            r->topic = topic;
            r->topic_len = tl;
            r->partition = (int32_t)(i / 2) * 7 - 1;
            r->offset = (int64_t)i * 10 + rand() % 10;
            r->timestamp = (int64_t)rand() * 1000;
            r->ts_type = (enum inv_ts_type)(rand() % 3);
            r->key = rand() % 4 ? inv_bytes_of(pool + rand() % 1000, (size_t)(rand() % 40))
                                : inv_bytes_null();
            r->value = rand() % 4 ? inv_bytes_of(pool + rand() % 1000, (size_t)(rand() % 400))
                                  : inv_bytes_null();
            r->headers = hs + i * 3;
            r->num_headers = (size_t)(rand() % 4);
            for (size_t k = 0; k < r->num_headers; k++) {
                hs[i * 3 + k].name = (const char *)pool + rand() % 1000;
                hs[i * 3 + k].name_len = (size_t)(rand() % 12);
                hs[i * 3 + k].value =
                    rand() % 5 ? inv_bytes_of(pool + rand() % 1000, (size_t)(rand() % 30))
                               : inv_bytes_null();
            }
        }
        struct inv_event_cfg cfg = self_cfg;
        cfg.null_value = (enum inv_null_value)(iter % 2);
        cfg.null_header = (enum inv_null_header)(iter / 2 % 2);
        size_t len;
        char *s = encode(&cfg, recs, n, &len);
        cJSON *j = parse(s, len);
        const cJSON *g = cJSON_GetObjectItem(j, "records")->child;
        size_t i = 0;
        for (; g != NULL; g = g->next) {
            const cJSON *rj;
            cJSON_ArrayForEach(rj, g)
            {
                const struct inv_record *r = &recs[i++];
                assert_int_equal(cJSON_GetObjectItem(rj, "partition")->valueint, r->partition);
                const cJSON *k = cJSON_GetObjectItem(rj, "key");
                if (r->key.is_null) {
                    assert_null(k);
                } else {
                    assert_b64(k, r->key.p, r->key.len);
                }
                const cJSON *v = cJSON_GetObjectItem(rj, "value");
                if (!r->value.is_null) {
                    assert_b64(v, r->value.p, r->value.len);
                } else if (cfg.null_value == INV_NULL_VALUE_OMIT) {
                    assert_null(v);
                } else {
                    assert_true(cJSON_IsNull(v));
                }
                const cJSON *hj = cJSON_GetObjectItem(rj, "headers");
                assert_int_equal(cJSON_GetArraySize(hj), (int)r->num_headers);
                for (size_t h = 0; h < r->num_headers; h++) {
                    const cJSON *hv = cJSON_GetArrayItem(hj, (int)h)->child;
                    const struct inv_bytes *want = &r->headers[h].value;
                    if (want->is_null && cfg.null_header == INV_NULL_HEADER_JSON_NULL) {
                        assert_true(cJSON_IsNull(hv));
                        continue;
                    }
                    size_t wl = want->is_null ? 0 : want->len;
                    assert_int_equal(cJSON_GetArraySize(hv), (int)wl);
                    for (size_t b = 0; b < wl; b++) {
                        assert_int_equal(cJSON_GetArrayItem(hv, (int)b)->valueint,
                                         (int8_t)want->p[b]);
                    }
                }
            }
        }
        assert_int_equal(i, n);
        cJSON_Delete(j);
        free(s);
        free(hs);
        free(recs);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_partitions_field_by_field),
        cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_schema_metadata),
        cmocka_unit_test(test_msk_and_null_options),
        cmocka_unit_test(test_escaping_and_invalid_utf8),
        cmocka_unit_test(test_integers_like_printf),
        cmocka_unit_test(test_contiguity_and_order_enforced),
        cmocka_unit_test(test_random_records_sizes_and_round_trip),
    };
    return cmocka_run_group_tests_name("event_json", tests, NULL, NULL);
}
