// pipeline_add.c: records entering the pipeline (see pipeline.h): the schema stage's decoding,
// the records held while their schema is fetched, FilterCriteria, then the batcher, and the
// partition's pause when its queue grows.
#include "base/alloc.h"
#include "base/log.h"
#include "esm/pipeline_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// add_one queues one decoded record: FilterCriteria (on |fv|, the value the filter sees), then
// the batcher. Returns 0, or -1 if the record was refused.
static int add_one(struct esm_pipeline *pl, struct part *p, const struct inv_record *r,
                   struct inv_bytes fv, int64_t now)
{
    struct inv_err err;
    bool keep = true;
    if (!r->reject && pl->cfg.filter) { // a rejected record is disposed of, not filtered
        struct inv_record fr = *r;
        fr.value = fv;
        uint64_t over = esm_filter_budget_exceeded(pl->cfg.filter);
        keep = esm_filter_match(pl->cfg.filter, &fr);
        if (esm_filter_budget_exceeded(pl->cfg.filter) != over) {
            kesm_log(KESM_LOG_WARN, pl->log,
                     "FilterCriteria: offset %" PRId64 " of %.*s-%" PRId32
                     " needs more matching steps than its size allows: delivered unfiltered",
                     r->offset, (int)r->topic_len, r->topic, r->partition);
        }
    }
    if (!keep) {
        if (r->offset <= p->kept_last || (p->has_filt && r->offset < p->filt_next) ||
            r->offset < p->done_next) {
            kesm_log(KESM_LOG_ERROR, pl->log,
                     "record refused: offset %" PRId64 " of %.*s-%" PRId32
                     " is not above the previous one",
                     r->offset, (int)r->topic_len, r->topic, r->partition);
            return -1;
        }
        pl->st.records_filtered++;
        p->has_filt = true;
        p->filt_next = r->offset + 1;
        p->filt_after = p->kept_last;
        return 0;
    }
    if (p->trk && r->offset <= p->kept_last) { // lanes: the batcher checks each lane only
        kesm_log(KESM_LOG_ERROR, pl->log,
                 "record refused: offset %" PRId64 " of %.*s-%" PRId32
                 " is not above the previous one",
                 r->offset, (int)r->topic_len, r->topic, r->partition);
        return -1;
    }
    if (batcher_add_hint(pl->bt, r, now, &p->bt_hint, &err) != 0) {
        kesm_log(KESM_LOG_ERROR, pl->log, "record refused: %s", err.msg);
        return -1;
    }
    if (r->reject) {
        pl->st.records_rejected++;
    }
    if (p->trk) {
        pl_track_push(p->trk, r->offset, batcher_lane(pl->cfg.batch.lanes, r));
    }
    p->kept_last = r->offset;
    pl->st.records_in++;
    return 0;
}

// ---- records waiting for a schema ---------------------------------------------------------

// struct held: a copy of a record (headers and bytes in the same allocation).
struct held {
    struct held *next;
    struct inv_record r;
};

static uint8_t *put(uint8_t *o, struct inv_bytes *b)
{
    if (!b->is_null && b->len) {
        memcpy(o, b->p, b->len);
        b->p = o;
        o += b->len;
    }
    return o;
}

static void held_push(struct part *p, const struct inv_record *r)
{
    size_t n = sizeof(struct held) + r->num_headers * sizeof(struct inv_header);
    n += (r->key.is_null ? 0 : r->key.len) + (r->value.is_null ? 0 : r->value.len);
    for (size_t i = 0; i < r->num_headers; i++) {
        n += r->headers[i].name_len + (r->headers[i].value.is_null ? 0 : r->headers[i].value.len);
    }
    struct held *h = xmalloc(n);
    struct inv_header *hdrs = (struct inv_header *)(h + 1);
    uint8_t *o = (uint8_t *)(hdrs + r->num_headers);
    h->next = NULL;
    h->r = *r;
    h->r.topic = p->topic;
    o = put(o, &h->r.key);
    o = put(o, &h->r.value);
    for (size_t i = 0; i < r->num_headers; i++) {
        hdrs[i] = r->headers[i];
        if (hdrs[i].name_len) {
            memcpy(o, r->headers[i].name, hdrs[i].name_len);
        }
        hdrs[i].name = (const char *)o;
        o += hdrs[i].name_len;
        o = put(o, &hdrs[i].value);
    }
    h->r.headers = hdrs;
    if (p->held_tail) {
        p->held_tail->next = h;
    } else {
        p->held_head = h;
    }
    p->held_tail = h;
    p->num_held++;
}

static void held_pop(struct part *p)
{
    struct held *h = p->held_head;
    p->held_head = h->next;
    if (!p->held_head) {
        p->held_tail = NULL;
    }
    p->num_held--;
    free(h);
}

void pl_held_drop(struct part *p)
{
    while (p->held_head) {
        held_pop(p);
    }
}

// process decodes one record through the schema stage (when there is one) and queues it;
// returns 1 when the record had to wait (it was copied), else add_one's result.
static int process(struct esm_pipeline *pl, struct part *p, const struct inv_record *r, int64_t now)
{
    if (!pl->cfg.schema) {
        return add_one(pl, p, r, r->value, now);
    }
    struct inv_record dec;
    struct inv_bytes fv;
    switch (esm_sstage_decode(pl->cfg.schema, r, &dec, &fv)) {
    case ESM_SSTAGE_WAIT:
        return 1;
    case ESM_SSTAGE_REJECT:
    case ESM_SSTAGE_READY:
        break;
    }
    return add_one(pl, p, &dec, fv, now);
}

// pause_if_full pauses |p| when its queue is full, and every partition when the pipeline's queue
// is full (pl_queue_full): a partition that has nothing queued yet would otherwise fetch
// another full answer (up to the partition fetch limit each), so memory would grow with the
// number of partitions. resume_parts lets them go again below half of it.
static void pause_if_full(struct esm_pipeline *pl, struct part *p)
{
    if (pl_queue_full(pl, 1)) {
        for (size_t i = 0; i < pl->num_parts; i++) {
            pl_part_pause(pl, &pl->parts[i]);
        }
    } else if (p->num_held > 0 || batcher_partition_queued(pl->bt, p->topic, p->topic_len,
                                                           p->partition) >= pl->cfg.pause_records) {
        pl_part_pause(pl, p);
    }
}

// add_gap puts an undecodable range into the batcher, in its place after the partition's records.
static int add_gap(struct esm_pipeline *pl, struct part *p, int64_t first_offset,
                   int64_t last_offset, int64_t timestamp, bool too_large)
{
    struct inv_err err;
    if (p->trk && first_offset <= p->kept_last) {
        kesm_log(KESM_LOG_ERROR, pl->log,
                 "undecodable range refused: offset %" PRId64 " is not above the previous one",
                 first_offset);
        return -1;
    }
    if (batcher_add_gap(pl->bt, p->topic, p->topic_len, p->partition, first_offset, last_offset,
                        timestamp, too_large ? BATCH_GAP_TOO_LARGE : BATCH_GAP_CORRUPT,
                        pl_mono_now(pl), &err) != 0) {
        kesm_log(KESM_LOG_ERROR, pl->log, "undecodable range refused: %s", err.msg);
        return -1;
    }
    kesm_log(KESM_LOG_WARN, pl->log,
             "%.*s-%" PRId32 " offsets %" PRId64 "-%" PRId64
             ": record batch cannot be decoded; disposing of it as %s",
             (int)p->topic_len, p->topic, p->partition, first_offset, last_offset,
             too_large ? "MaximumPayloadSizeExceeded" : "RecordBatchCorrupt");
    if (p->trk) { // lanes: no commit may pass the range before it is disposed of
        pl_track_push_range(p->trk, first_offset, last_offset, 0); // lane 0: batcher_add_gap
    }
    p->kept_last = last_offset;
    pl->st.records_in++;
    return 0;
}

void esm_pipeline_schema_ready(struct esm_pipeline *pl)
{
    if (pl->draining) {
        return;
    }
    int64_t now = pl_mono_now(pl);
    for (size_t i = 0; i < pl->num_parts; i++) {
        struct part *p = &pl->parts[i];
        while (p->held_head && process(pl, p, &p->held_head->r, now) != 1) {
            held_pop(p);
        }
        if (!p->held_head && p->gap_pending) { // an undecodable range waited behind them
            p->gap_pending = false;
            add_gap(pl, p, p->gap_first, p->gap_last, -1, p->gap_too_large);
        }
        pl_filtered_release(pl, p);
        pause_if_full(pl, p);
    }
    pl_pump(pl);
}

int esm_pipeline_add(struct esm_pipeline *pl, const struct inv_record *recs, size_t n)
{
    if (pl->draining || n == 0) {
        return 0;
    }
    int64_t now = pl_mono_now(pl);
    int rc = 0;
    struct part *p = NULL;
    // p_topic: the view of p's topic in this call (the same pointer holds the same text).
    const char *p_topic = NULL;
    bool fast = !pl->cfg.schema && !pl->cfg.filter && pl->cfg.batch.lanes <= 1;
    for (size_t i = 0; i < n; i++) {
        const struct inv_record *r = &recs[i];
        if (!p || p->partition != r->partition ||
            (r->topic != p_topic &&
             (p->topic_len != r->topic_len || memcmp(p->topic, r->topic, r->topic_len) != 0))) {
            p = pl_part_find(pl, r->topic, r->topic_len, r->partition, true);
        }
        p_topic = r->topic;
        if (p->acked_next < 0) {
            p->acked_next = r->offset; // everything before it was committed already
        }
        if (fast && !r->reject && p->num_held == 0) {
            // No schema stage, no FilterCriteria, no lanes: straight to the batcher (add_one's
            // last steps), the common case, the run of this partition's records in one call.
            size_t run = 1;
            while (i + run < n && recs[i + run].topic == p_topic &&
                   recs[i + run].partition == p->partition && !recs[i + run].reject) {
                run++;
            }
            struct inv_err err;
            size_t added = batcher_add_run(pl->bt, r, run, now, &p->bt_hint, &err);
            if (added > 0) {
                p->kept_last = r[added - 1].offset;
                pl->st.records_in += added;
            }
            if (added < run) {
                kesm_log(KESM_LOG_ERROR, pl->log, "record refused: %s", err.msg);
                rc = -1;
                added++; // the refused one; the loop goes on with the next
            }
            i += added - 1;
            continue;
        }
        int one = p->num_held > 0 ? 1 : process(pl, p, r, now);
        if (one == 1) {
            held_push(p, r); // waits for its schema, and so does everything after it
        } else if (one != 0) {
            rc = -1;
        }
    }
    for (size_t i = 0; i < pl->num_parts; i++) {
        pl_filtered_release(pl, &pl->parts[i]);
    }
    p = pl_part_find(pl, recs[0].topic, recs[0].topic_len, recs[0].partition, true);
    pause_if_full(pl, p);
    pl_pump(pl);
    return rc;
}

int esm_pipeline_add_gap(struct esm_pipeline *pl, const char *topic, int32_t partition,
                         int64_t first_offset, int64_t last_offset, int64_t timestamp,
                         bool too_large)
{
    if (pl->draining || pl->stopped) {
        return 0;
    }
    struct part *p = pl_part_find(pl, topic, strlen(topic), partition, true);
    if (p->held_head || p->gap_pending) {
        // Records before it wait for a schema: the range follows them (the partition is paused
        // meanwhile, so no second range can arrive).
        if (p->gap_pending) {
            kesm_log(KESM_LOG_ERROR, pl->log, "undecodable range refused: one is waiting already");
            return -1;
        }
        p->gap_pending = true;
        p->gap_first = first_offset;
        p->gap_last = last_offset;
        p->gap_too_large = too_large;
        return 0;
    }
    int rc = add_gap(pl, p, first_offset, last_offset, timestamp, too_large);
    pl_pump(pl);
    return rc;
}
