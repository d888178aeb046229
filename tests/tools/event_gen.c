// event_gen.c: writes Lambda Kafka event JSON files made by invoke/ (the encoder directly, and
// payloads cut by the batcher) for the independent check in tests/integration/
// event_json_powertools.sh. usage: event_gen OUTDIR
#include "invoke/batcher.h"
#include "base/buf.h"
#include "invoke/event_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_file(const char *dir, const char *name, const char *p, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "event_gen: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

static int encode_to(const char *dir, const char *name, const struct inv_event_cfg *cfg,
                     const struct inv_record *recs, size_t n)
{
    struct buf b;
    buf_init(&b);
    struct inv_event_enc enc;
    struct inv_err err;
    inv_event_begin(&enc, &b, cfg);
    for (size_t i = 0; i < n; i++) {
        if (inv_event_add(&enc, &recs[i], &err) != 0) {
            fprintf(stderr, "event_gen: %s\n", err.msg);
            return -1;
        }
    }
    inv_event_end(&enc);
    int rc = write_file(dir, name, b.p, b.len);
    buf_cleanup(&b);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: event_gen OUTDIR\n");
        return 2;
    }
    const char *dir = argv[1];
    static const uint8_t lang[] = {'f', 'r', '-', 0xc3, 0xa9};         // "fr-é": -61,-87
    static const uint8_t raw[] = {0x00, 0x7f, 0x80, 0xff, 0x01, 0xfe}; // 0,127,-128,-1,1,-2
    struct inv_header h_mixed[] = {
        {"trace-id", 8, inv_bytes_of("abc123", 6)}, {"lang", 4, inv_bytes_of(lang, sizeof lang)},
        {"raw", 3, inv_bytes_of(raw, sizeof raw)},  {"trace-id", 8, inv_bytes_of("dup", 3)},
        {"empty", 5, inv_bytes_of("", 0)},          {"nullh", 5, inv_bytes_null()},
    };
    struct inv_header h_ascii[] = {{"h1", 2, inv_bytes_of("v0", 2)},
                                   {"trace", 5, inv_bytes_of("abc", 3)}};
    const char *v0 = "{\"orderId\":\"A-1001\",\"qty\":2}";
    struct inv_record mixed[] = {
        {"orders", 6, 0, 4711, 1735689600123, INV_TS_CREATE_TIME, inv_bytes_of("customer-42", 11),
         inv_bytes_of(v0, strlen(v0)), h_mixed, 6, NULL, NULL, NULL},
        {"orders", 6, 0, 4712, 1735689600456, INV_TS_CREATE_TIME, inv_bytes_null(),
         inv_bytes_of("ping", 4), NULL, 0, NULL, NULL, NULL},
        {"orders", 6, 0, 4713, 1735689600457, INV_TS_CREATE_TIME, inv_bytes_of("", 0),
         inv_bytes_of("", 0), NULL, 0, NULL, NULL, NULL},
        {"orders", 6, 3, 90, 1735689601000, INV_TS_LOG_APPEND_TIME, inv_bytes_of("customer-7", 10),
         inv_bytes_of("{\"orderId\":\"B-7\"}", 17), h_ascii, 2, NULL, NULL, NULL},
    };
    struct inv_record ascii[] = {
        {"orders", 6, 0, 15, 1545084650987, INV_TS_CREATE_TIME, inv_bytes_of("k0", 2),
         inv_bytes_of("{\"order\":1}", 11), h_ascii, 2, NULL, NULL, NULL},
        {"orders", 6, 1, 16, 1545084650988, INV_TS_CREATE_TIME, inv_bytes_null(),
         inv_bytes_of("{\"order\":2}", 11), NULL, 0, NULL, NULL, NULL},
    };
    struct inv_event_cfg self = {.source = INV_EVENT_SELF_MANAGED,
                                 .bootstrap_servers =
                                     "kafka-1.internal:9092,kafka-2.internal:9092"};
    struct inv_event_cfg msk = {.source = INV_EVENT_MSK,
                                .event_source_arn = "arn:aws:kafka:us-east-1:123456789012:cluster/"
                                                    "demo/6f1c2a9e-1111-2222-3333-444455556666-2",
                                .bootstrap_servers = "b-1.demo.kafka.us-east-1.amazonaws.com:9098"};
    struct inv_event_cfg broken = self;
    broken.null_value = INV_NULL_VALUE_JSON_NULL;
    struct inv_record tombstone = mixed[1];
    tombstone.value = inv_bytes_null();
    if (encode_to(dir, "selfmanaged.json", &self, mixed, 4) != 0 ||
        encode_to(dir, "selfmanaged_ascii.json", &self, ascii, 2) != 0 ||
        encode_to(dir, "msk.json", &msk, mixed, 4) != 0 ||
        encode_to(dir, "broken_null_value.json", &broken, &tombstone, 1) != 0) {
        return 1;
    }
    // Payloads cut by the batcher: 3 partitions, arrival interleaved, BatchSize 40.
    struct batcher_cfg bc;
    batcher_cfg_defaults(&bc);
    bc.batch_size = 40;
    bc.max_inflight = 1;
    bc.event = self;
    struct batcher *b;
    struct inv_err err;
    if (batcher_new(&b, &bc, &err) != 0) {
        fprintf(stderr, "event_gen: %s\n", err.msg);
        return 1;
    }
    for (int64_t o = 0; o < 50; o++) {
        for (int32_t p = 0; p < 3; p++) {
            char key[32], val[64];
            int kl = snprintf(key, sizeof key, "key-%d-%lld", (int)p, (long long)o);
            int vl = snprintf(val, sizeof val, "{\"p\":%d,\"o\":%lld}", (int)p, (long long)o);
            uint8_t hv[2] = {(uint8_t)(o * 7), (uint8_t)(200 + p)};
            struct inv_header h[] = {{"seq", 3, inv_bytes_of(hv, 2)}};
            struct inv_record r = {"orders",
                                   6,
                                   p,
                                   1000 + o,
                                   1735689600000 + o,
                                   INV_TS_CREATE_TIME,
                                   o % 5 ? inv_bytes_of(key, (size_t)kl) : inv_bytes_null(),
                                   inv_bytes_of(val, (size_t)vl),
                                   h,
                                   1,
                                   NULL,
                                   NULL,
                                   NULL};
            if (batcher_add(b, &r, 0, &err) != 0) {
                fprintf(stderr, "event_gen: %s\n", err.msg);
                return 1;
            }
        }
    }
    batcher_flush(b);
    int i = 0;
    struct batch *bt;
    while ((bt = batcher_next(b, 1)) != NULL) {
        char name[64];
        snprintf(name, sizeof name, "batch_%d.json", i++);
        if (write_file(dir, name, bt->payload, bt->payload_len) != 0) {
            return 1;
        }
        batcher_complete(b, bt, 1, NULL);
    }
    batcher_free(b);
    printf("event_gen: wrote 4 events and %d batches to %s\n", i, dir);
    return 0;
}
