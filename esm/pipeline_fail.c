// pipeline_fail.c: what the pipeline needs when a batch does not simply succeed: sub-payloads
// built from the batcher's record spans (to send part of a batch again: bisect, partial batch
// response, 413, record age), and the failure records for the on-failure destinations.
#include "base/alloc.h"
#include "base/buf.h"
#include "esm/pipeline_int.h"
#include "invoke/event_json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

size_t pl_part_of(const struct batch *b, size_t idx)
{
    for (size_t k = 0; k < b->num_parts; k++) {
        if (idx >= b->parts[k].first_index &&
            idx < b->parts[k].first_index + b->parts[k].num_records) {
            return k;
        }
    }
    return b->num_parts ? b->num_parts - 1 : 0;
}

char *pl_subpayload(const struct batch *b, const struct inv_event_cfg *cfg, const size_t *sel,
                    size_t n, size_t *out_len)
{
    struct buf buf;
    buf_init(&buf);
    inv_event_head_write(&buf, cfg);
    size_t cur = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t k = pl_part_of(b, sel[i]);
        if (k != cur) {
            if (cur != SIZE_MAX) {
                inv_event_group_close(&buf);
                buf_addc(&buf, ',');
            }
            inv_event_group_open(&buf, b->parts[k].topic, b->parts[k].topic_len,
                                 b->parts[k].partition);
            cur = k;
        } else {
            buf_addc(&buf, ',');
        }
        buf_add(&buf, b->payload + b->recs[sel[i]].start, b->recs[sel[i]].len);
    }
    if (cur != SIZE_MAX) {
        inv_event_group_close(&buf);
    }
    inv_event_tail_write(&buf);
    return buf_steal(&buf, out_len);
}

void pl_iso8601(char *out, size_t cap, int64_t ms)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    if (ms < 0 || !gmtime_r(&sec, &tm)) {
        snprintf(out, cap, "1970-01-01T00:00:00.000Z");
        return;
    }
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03dZ", day, (int)(ms % 1000));
}

static void add_str_offset(cJSON *o, const char *name, int64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%" PRId64, v);
    cJSON_AddStringToObject(o, name, s);
}

static void add_time(cJSON *o, const char *name, int64_t ms)
{
    char s[40];
    pl_iso8601(s, sizeof s, ms);
    cJSON_AddStringToObject(o, name, s);
}

static void request_id(char *out, size_t cap)
{
    unsigned char r[16] = {0};
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        if (fread(r, 1, sizeof r, f) != sizeof r) {
            memset(r, 0, sizeof r);
        }
        fclose(f);
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(out, cap, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
             r[14], r[15]);
}

// records_info adds KafkaBatchInfo.recordsInfo for the selection: per partition, first/last
// offset and timestamp.
static void records_info(cJSON *info, const struct batch *b, const size_t *sel, size_t n)
{
    cJSON *ri = cJSON_AddObjectToObject(info, "recordsInfo");
    size_t i = 0;
    while (i < n) {
        size_t k = pl_part_of(b, sel[i]), j = i;
        while (j + 1 < n && pl_part_of(b, sel[j + 1]) == k) {
            j++;
        }
        const struct batch_part *bp = &b->parts[k];
        cJSON *o = cJSON_AddObjectToObject(ri, bp->key);
        // An undecodable range is one entry standing for first_offset .. its offset.
        add_str_offset(o, "firstRecordOffset",
                       b->gap != BATCH_GAP_NONE ? bp->first_offset : b->offsets[sel[i]]);
        add_str_offset(o, "lastRecordOffset", b->offsets[sel[j]]);
        add_time(o, "firstRecordTimestamp", b->recs[sel[i]].timestamp);
        add_time(o, "lastRecordTimestamp", b->recs[sel[j]].timestamp);
        i = j + 1;
    }
}

static cJSON *failure_json(const struct pl_failure *f, const struct batch *b, const size_t *sel,
                           size_t n)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *rq = cJSON_AddObjectToObject(root, "requestContext");
    char id[40];
    request_id(id, sizeof id);
    cJSON_AddStringToObject(rq, "requestId", id);
    cJSON_AddStringToObject(rq, "functionArn", f->function_arn ? f->function_arn : "");
    cJSON_AddStringToObject(rq, "condition", f->condition);
    cJSON_AddNumberToObject(rq, "approximateInvokeCount", f->invoke_count);
    if (f->invoked) {
        cJSON *rs = cJSON_AddObjectToObject(root, "responseContext");
        cJSON_AddNumberToObject(rs, "statusCode", f->status_code);
        cJSON_AddStringToObject(rs, "executedVersion", "$LATEST");
        cJSON_AddStringToObject(rs, "functionError", "Unhandled");
    } else {
        cJSON_AddNullToObject(root, "responseContext");
    }
    cJSON_AddStringToObject(root, "version", "1.0");
    add_time(root, "timestamp", f->now_ms);
    cJSON *info = cJSON_AddObjectToObject(root, "KafkaBatchInfo");
    cJSON_AddNumberToObject(info, "batchSize", (double)n);
    if (f->event->source == INV_EVENT_MSK && f->event->event_source_arn) {
        cJSON_AddStringToObject(info, "eventSourceArn", f->event->event_source_arn);
    }
    cJSON_AddStringToObject(info, "bootstrapServers",
                            f->event->bootstrap_servers ? f->event->bootstrap_servers : "");
    cJSON_AddNumberToObject(info, "payloadSize",
                            (double)(f->payload ? f->payload_len : b->oversized_len));
    records_info(info, b, sel, n);
    if (f->payload && !f->omit_payload) {
        char *copy = xstrndup(f->payload, f->payload_len);
        cJSON_AddStringToObject(root, "payload", copy);
        free(copy);
    }
    return root;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

char *pl_failure_text(const struct pl_failure *f, const struct batch *b, const size_t *sel,
                      size_t n, size_t *out_len)
{
    cJSON *root = failure_json(f, b, sel, n);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (text == NULL) {
        return NULL;
    }
    *out_len = strlen(text);
    return text;
}

int pl_failure_write(const char *dir, const struct pl_failure *f, const struct batch *b,
                     const size_t *sel, size_t n, uint64_t *seq, char *err, size_t err_cap)
{
    cJSON *root = failure_json(f, b, sel, n);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text) {
        snprintf(err, err_cap, "out of memory formatting a failure record");
        return -1;
    }
    const struct batch_part *bp = &b->parts[pl_part_of(b, sel[0])];
    char name[600], tmp[620];
    int rc = -1;
    snprintf(name, sizeof name, "%s/%" PRId64 "-%.200s-%" PRId64 "-%" PRIu64 ".json", dir,
             f->now_ms, bp->key, b->offsets[sel[0]], ++*seq);
    snprintf(tmp, sizeof tmp, "%s/.tmp-%" PRIu64 "-%ld", dir, *seq, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_cap, "on-failure destination %s: cannot create a file: %s", dir,
                 strerror(errno));
        goto out;
    }
    size_t tl = strlen(text);
    if (write_all(fd, text, tl) != 0 || write_all(fd, "\n", 1) != 0 || fsync(fd) != 0) {
        snprintf(err, err_cap, "on-failure destination %s: write failed: %s", dir, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    if (rename(tmp, name) != 0) {
        snprintf(err, err_cap, "on-failure destination %s: rename failed: %s", dir,
                 strerror(errno));
        unlink(tmp);
        goto out;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    rc = 0;
out:
    free(text);
    return rc;
}

char *pl_failure_record_value(const struct pl_failure *f, const struct batch *b, size_t idx,
                              size_t *out_len)
{
    char *payload = NULL;
    size_t payload_len = 0;
    if (!b->oversized) {
        payload = pl_subpayload(b, f->event, &idx, 1, &payload_len);
    }
    struct pl_failure one = *f;
    one.payload = NULL; // spliced in below, as an object
    one.payload_len = payload_len;
    cJSON *root = failure_json(&one, b, &idx, 1);
    cJSON *info = cJSON_GetObjectItemCaseSensitive(root, "KafkaBatchInfo");
    cJSON_DeleteItemFromObjectCaseSensitive(info, "recordsInfo");
    cJSON_ReplaceItemInObjectCaseSensitive(info, "payloadSize",
                                           cJSON_CreateNumber((double)payload_len));
    cJSON *ri = cJSON_AddObjectToObject(info, "recordInfo");
    add_str_offset(ri, "offset", b->offsets[idx]);
    add_time(ri, "timestamp", b->recs[idx].timestamp);
    char *head = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    struct buf out;
    buf_init(&out);
    if (head) {
        size_t hl = strlen(head);
        buf_add(&out, head, hl - 1); // without the closing '}'
        buf_adds(&out, ",\"payload\":");
        if (payload) {
            buf_add(&out, payload, payload_len);
        } else {
            buf_adds(&out, "null");
        }
        buf_addc(&out, '}');
        free(head);
    }
    free(payload);
    return buf_steal(&out, out_len);
}
