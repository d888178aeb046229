// test_pipeline_dest.c: the failure records of per-batch on-failure destinations (SQS, SNS, S3;
// esm/pipeline_dest.c): one record per selection in Lambda's shape, payload only when asked for,
// and a record above the destination's size limit split into halves that cover every record
// once, in order, each within the limit.
#include "esm/pipeline.h"
#include "esm/pipeline_int.h"
#include "tests/lib/unit.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define PARTS 60

static struct batch *mixed_batch(struct batcher **out_b, struct batcher_cfg *cfg)
{
    batcher_cfg_defaults(cfg);
    cfg->batch_size = PARTS;
    cfg->window_ms = 0;
    cfg->event.bootstrap_servers = "127.0.0.1:9092";
    struct inv_err err;
    assert_int_equal(batcher_new(out_b, cfg, &err), 0);
    for (int32_t p = 0; p < PARTS; p++) {
        struct inv_record r = {.topic = "orders",
                               .topic_len = 6,
                               .partition = p,
                               .offset = 100 + p,
                               .timestamp = 1700000000000 + p,
                               .ts_type = INV_TS_CREATE_TIME,
                               .key = inv_bytes_null(),
                               .value = inv_bytes_of("value", 5)};
        assert_int_equal(batcher_add(*out_b, &r, 0, NULL), 0);
    }
    struct batch *bt = batcher_next(*out_b, 0);
    assert_non_null(bt);
    assert_int_equal(bt->num_records, PARTS);
    return bt;
}

static struct pl_failure failure(const struct batcher_cfg *cfg)
{
    struct pl_failure f = {.condition = "RetryAttemptsExhausted",
                           .function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f",
                           .event = &cfg->event,
                           .invoke_count = 1,
                           .invoked = true,
                           .status_code = 200,
                           .now_ms = 1700000000000};
    return f;
}

// covered checks that |msgs| cover records 0..PARTS-1 once and in order; returns how many.
static size_t covered(const struct esm_dest_msg *msgs, size_t n, bool payload, size_t max)
{
    int64_t next = 100;
    size_t records = 0;
    for (size_t i = 0; i < n; i++) {
        cJSON *j = cJSON_ParseWithLength(msgs[i].value, msgs[i].value_len);
        assert_non_null(j);
        assert_int_equal(strlen(msgs[i].value), msgs[i].value_len);
        if (max > 0 && msgs[i].num_records > 1) {
            assert_true(msgs[i].value_len <= max);
        }
        const cJSON *info = cJSON_GetObjectItem(j, "KafkaBatchInfo");
        assert_int_equal(cJSON_GetObjectItem(info, "batchSize")->valueint,
                         (int)msgs[i].num_records);
        assert_true(cJSON_GetObjectItem(info, "payloadSize")->valuedouble > 0);
        const cJSON *ri;
        cJSON_ArrayForEach(ri, cJSON_GetObjectItem(info, "recordsInfo"))
        {
            int64_t first = atoll(cJSON_GetObjectItem(ri, "firstRecordOffset")->valuestring);
            int64_t last = atoll(cJSON_GetObjectItem(ri, "lastRecordOffset")->valuestring);
            assert_int_equal(first, next);
            assert_int_equal(last, next); // one record per partition here
            next++;
            records++;
        }
        assert_int_equal(cJSON_GetObjectItem(j, "payload") != NULL, payload);
        if (payload) {
            cJSON *ev = cJSON_Parse(cJSON_GetObjectItem(j, "payload")->valuestring);
            assert_non_null(ev);
            assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(ev, "records")),
                             (int)msgs[i].num_records);
            cJSON_Delete(ev);
        }
        assert_int_equal(msgs[i].first_offset, 100 + (int64_t)(records - msgs[i].num_records));
        cJSON_Delete(j);
    }
    assert_int_equal(next, 100 + PARTS);
    return records;
}

static void test_one_record_per_selection(void **state)
{
    (void)state;
    struct batcher *b;
    struct batcher_cfg cfg;
    struct batch *bt = mixed_batch(&b, &cfg);
    size_t sel[PARTS];
    for (size_t i = 0; i < PARTS; i++) {
        sel[i] = i;
    }
    struct pl_failure f = failure(&cfg);
    struct esm_dest_msg *msgs;
    // SQS/SNS: metadata only, no limit reached.
    size_t n = pl_failure_batch_msgs(&f, bt, sel, PARTS, false, 262144, &msgs);
    assert_int_equal(n, 1);
    assert_int_equal(covered(msgs, n, false, 262144), PARTS);
    assert_string_equal(msgs[0].part_key, "orders-0");
    pl_dest_msgs_free(msgs, n);
    // S3: the payload (the event) comes along.
    n = pl_failure_batch_msgs(&f, bt, sel, PARTS, true, 0, &msgs);
    assert_int_equal(n, 1);
    assert_int_equal(covered(msgs, n, true, 0), PARTS);
    pl_dest_msgs_free(msgs, n);
    struct inv_err ie;
    batcher_complete(b, bt, 0, &ie);
    batcher_free(b);
}

static void test_split_above_the_limit(void **state)
{
    (void)state;
    struct batcher *b;
    struct batcher_cfg cfg;
    struct batch *bt = mixed_batch(&b, &cfg);
    size_t sel[PARTS];
    for (size_t i = 0; i < PARTS; i++) {
        sel[i] = i;
    }
    struct pl_failure f = failure(&cfg);
    struct esm_dest_msg *msgs;
    size_t whole = 0;
    size_t n = pl_failure_batch_msgs(&f, bt, sel, PARTS, false, 0, &msgs);
    whole = msgs[0].value_len;
    pl_dest_msgs_free(msgs, n);
    // A limit of a third of the whole record: halves, then quarters, all within the limit.
    size_t max = whole / 3;
    n = pl_failure_batch_msgs(&f, bt, sel, PARTS, false, max, &msgs);
    assert_true(n >= 4);
    assert_int_equal(covered(msgs, n, false, max), PARTS);
    pl_dest_msgs_free(msgs, n);
    // A limit no single record fits: split down to single records, each sent as it is.
    n = pl_failure_batch_msgs(&f, bt, sel, PARTS, false, 10, &msgs);
    assert_int_equal(n, PARTS);
    assert_int_equal(covered(msgs, n, false, 10), PARTS);
    pl_dest_msgs_free(msgs, n);
    struct inv_err ie;
    batcher_complete(b, bt, 0, &ie);
    batcher_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_record_per_selection),
        cmocka_unit_test(test_split_above_the_limit),
    };
    return cmocka_run_group_tests_name("pipeline_dest", tests, NULL, NULL);
}
