// batcher.c: count / window / encoded-byte-cap batching, one batch in flight per partition.
//
// Each added record is measured at once (its encoded length, inv_event_record_len, decides the
// cuts) and copied raw (key, value, headers: a compact blob, about half the size of its JSON) into
// its partition's arena, so the batcher keeps no pointers into the caller's memory. A batch is
// encoded straight from the arenas into its payload: one pass, no intermediate JSON copy.
#include "invoke/batcher.h"

#include "base/alloc.h"
#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    uint64_t seq;   // arrival order across partitions
    size_t off;     // blob offset in part.raw (unused when oversized)
    size_t len;     // encoded record length; for an oversized record, its whole event size
    int64_t offset; // Kafka offset (of a gap: its last offset)
    int64_t timestamp;
    bool oversized;
    enum batch_gap gap; // not NONE: an undecodable range (oversized too)
    int64_t first;      // a gap's first offset
    const char *reject; // handed out alone (a record the schema registry could not decode)
};

struct part {
    char *topic;
    size_t topic_len;
    int32_t partition;
    char *key;
    size_t group_len; // inv_event_group_len
    char *rec_prefix; // inv_event_record_prefix_write of this partition, shared by its records
    size_t rec_prefix_len;
    struct buf raw; // the queued records' blobs (raw_put)
    struct entry *q;
    size_t q_head, q_len, q_cap; // live entries are q[q_head .. q_len)
    size_t avail;                // entries before the first oversized one (from q_head)
    size_t avail_bytes;          // sum of their fragment lengths
    bool inflight;
    bool blocked;         // an oversized batch under BATCH_OVERSIZE_BLOCK is in flight
    bool dropped;         // dropped while in flight
    int64_t window_start; // when the oldest available record's window began
    bool has_last;
    int64_t last_offset;
};

struct batcher {
    struct batcher_cfg cfg;
    size_t head_len;
    struct part *parts;
    size_t num_parts;
    size_t last_hit;
    uint64_t next_seq;
    uint64_t next_id;
    size_t inflight;
    size_t pending;
    bool flush;
    struct inv_header *hdrs; // scratch for decoding a blob's headers
    size_t hdrs_cap;
    struct inv_schema_meta metas[2]; // scratch for a blob's key and value schema metadata
};

// A record blob: a raw_head, the key and value bytes (when not null), then per header a
// raw_header, its name and its value bytes (when not null). Fields are copied with memcpy, so
// blobs need no alignment.
struct raw_head {
    size_t key_len;
    size_t value_len;
    size_t num_headers;
    size_t meta_len[4]; // key dataFormat, key schemaId, value dataFormat, value schemaId, each
                        // with its NUL (0: no such metadata)
    int ts_type;
    bool key_null;
    bool value_null;
};

// meta_strs lists the schema metadata strings of |rec| (NULL where absent).
static void meta_strs(const struct inv_record *rec, const char *out[4])
{
    out[0] = rec->key_meta ? rec->key_meta->data_format : NULL;
    out[1] = rec->key_meta ? rec->key_meta->schema_id : NULL;
    out[2] = rec->value_meta ? rec->value_meta->data_format : NULL;
    out[3] = rec->value_meta ? rec->value_meta->schema_id : NULL;
}

struct raw_header {
    size_t name_len;
    size_t value_len;
    bool value_null;
};

static size_t raw_size(const struct inv_record *rec)
{
    size_t n = sizeof(struct raw_head);
    const char *ms[4];
    meta_strs(rec, ms);
    for (size_t i = 0; i < 4; i++) {
        n += ms[i] ? strlen(ms[i]) + 1 : 0;
    }
    n += rec->key.is_null ? 0 : rec->key.len;
    n += rec->value.is_null ? 0 : rec->value.len;
    for (size_t i = 0; i < rec->num_headers; i++) {
        const struct inv_header *h = &rec->headers[i];
        n += sizeof(struct raw_header) + h->name_len + (h->value.is_null ? 0 : h->value.len);
    }
    return n;
}

static char *put_bytes(char *o, const void *p, size_t n)
{
    if (n) {
        memcpy(o, p, n);
    }
    return o + n;
}

// raw_put appends |rec|'s blob (raw_size bytes) to |out|.
static void raw_put(struct buf *out, const struct inv_record *rec)
{
    size_t n = raw_size(rec);
    char *d = buf_reserve(out, n);
    struct raw_head rh;
    memset(&rh, 0, sizeof rh);
    rh.key_null = rec->key.is_null;
    rh.key_len = rec->key.is_null ? 0 : rec->key.len;
    rh.value_null = rec->value.is_null;
    rh.value_len = rec->value.is_null ? 0 : rec->value.len;
    rh.num_headers = rec->num_headers;
    rh.ts_type = (int)rec->ts_type;
    const char *ms[4];
    meta_strs(rec, ms);
    for (size_t i = 0; i < 4; i++) {
        rh.meta_len[i] = ms[i] ? strlen(ms[i]) + 1 : 0;
    }
    char *o = put_bytes(d, &rh, sizeof rh);
    for (size_t i = 0; i < 4; i++) {
        o = put_bytes(o, ms[i], rh.meta_len[i]);
    }
    o = put_bytes(o, rec->key.p, rh.key_len);
    o = put_bytes(o, rec->value.p, rh.value_len);
    for (size_t i = 0; i < rec->num_headers; i++) {
        const struct inv_header *h = &rec->headers[i];
        struct raw_header hh;
        memset(&hh, 0, sizeof hh);
        hh.name_len = h->name_len;
        hh.value_null = h->value.is_null;
        hh.value_len = h->value.is_null ? 0 : h->value.len;
        o = put_bytes(o, &hh, sizeof hh);
        o = put_bytes(o, h->name, hh.name_len);
        o = put_bytes(o, h->value.p, hh.value_len);
    }
    if (o != d + n) {
        abort(); // raw_size and raw_put disagree
    }
    out->len += n;
}

// raw_get fills |r| (offset, timestamp, topic and partition excepted) with views into the blob at
// |p|; headers go to b->hdrs.
static void raw_get(struct batcher *b, const char *p, struct inv_record *r)
{
    struct raw_head rh;
    memcpy(&rh, p, sizeof rh);
    p += sizeof rh;
    const char *ms[4];
    for (size_t i = 0; i < 4; i++) {
        ms[i] = rh.meta_len[i] ? p : NULL;
        p += rh.meta_len[i];
    }
    b->metas[0] = (struct inv_schema_meta){ms[0], ms[1]};
    b->metas[1] = (struct inv_schema_meta){ms[2], ms[3]};
    r->key_meta = ms[0] ? &b->metas[0] : NULL;
    r->value_meta = ms[2] ? &b->metas[1] : NULL;
    r->ts_type = (enum inv_ts_type)rh.ts_type;
    r->key = rh.key_null ? inv_bytes_null() : inv_bytes_of(p, rh.key_len);
    p += rh.key_len;
    r->value = rh.value_null ? inv_bytes_null() : inv_bytes_of(p, rh.value_len);
    p += rh.value_len;
    r->num_headers = rh.num_headers;
    r->headers = NULL;
    if (rh.num_headers == 0) {
        return;
    }
    if (rh.num_headers > b->hdrs_cap) {
        b->hdrs = xrealloc(b->hdrs, rh.num_headers * sizeof *b->hdrs);
        b->hdrs_cap = rh.num_headers;
    }
    for (size_t i = 0; i < rh.num_headers; i++) {
        struct raw_header hh;
        memcpy(&hh, p, sizeof hh);
        p += sizeof hh;
        b->hdrs[i].name = p;
        b->hdrs[i].name_len = hh.name_len;
        p += hh.name_len;
        b->hdrs[i].value = hh.value_null ? inv_bytes_null() : inv_bytes_of(p, hh.value_len);
        p += hh.value_len;
    }
    r->headers = b->hdrs;
}

void batcher_cfg_defaults(struct batcher_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->batch_size = BATCH_SIZE_DEFAULT;
    cfg->window_ms = BATCH_WINDOW_MS_DEFAULT;
    cfg->max_payload = BATCH_MAX_PAYLOAD;
    cfg->max_inflight = BATCH_MAX_INFLIGHT_DEFAULT;
    cfg->oversize = BATCH_OVERSIZE_SKIP;
    cfg->event.source = INV_EVENT_SELF_MANAGED;
}

int batcher_new(struct batcher **out, const struct batcher_cfg *cfg, struct inv_err *err)
{
    *out = NULL;
    if (cfg->batch_size < 1 || cfg->batch_size > BATCH_SIZE_MAX) {
        return inv_fail(err, -1, "batcher: BatchSize %u is outside 1..%d", cfg->batch_size,
                        BATCH_SIZE_MAX);
    }
    if (cfg->window_ms > BATCH_WINDOW_MS_MAX) {
        return inv_fail(err, -1, "batcher: batching window %u ms is outside 0..%d ms",
                        cfg->window_ms, BATCH_WINDOW_MS_MAX);
    }
    if (cfg->max_inflight < 1) {
        return inv_fail(err, -1, "batcher: max_inflight must be at least 1");
    }
    if (cfg->event.source == INV_EVENT_MSK && cfg->event.event_source_arn == NULL) {
        return inv_fail(err, -1, "batcher: an MSK event source needs eventSourceArn");
    }
    size_t head = inv_event_head_len(&cfg->event);
    if (cfg->max_payload > BATCH_MAX_PAYLOAD || cfg->max_payload <= head) {
        return inv_fail(err, -1, "batcher: max_payload %zu is outside %zu..%d", cfg->max_payload,
                        head + 1, BATCH_MAX_PAYLOAD);
    }
    struct batcher *b = xcalloc(1, sizeof *b);
    b->cfg = *cfg;
    b->head_len = head;
    b->next_id = 1;
    *out = b;
    return 0;
}

static void part_cleanup(struct part *p)
{
    free(p->topic);
    free(p->key);
    free(p->rec_prefix);
    buf_cleanup(&p->raw);
    free(p->q);
}

void batcher_free(struct batcher *b)
{
    if (b == NULL) {
        return;
    }
    for (size_t i = 0; i < b->num_parts; i++) {
        part_cleanup(&b->parts[i]);
    }
    free(b->parts);
    free(b->hdrs);
    free(b);
}

static size_t find_part(struct batcher *b, const char *topic, size_t topic_len, int32_t partition,
                        bool create)
{
    if (b->last_hit < b->num_parts) {
        struct part *p = &b->parts[b->last_hit];
        if (p->partition == partition && p->topic_len == topic_len &&
            memcmp(p->topic, topic, topic_len) == 0) {
            return b->last_hit;
        }
    }
    for (size_t i = 0; i < b->num_parts; i++) {
        struct part *p = &b->parts[i];
        if (p->partition == partition && p->topic_len == topic_len &&
            memcmp(p->topic, topic, topic_len) == 0) {
            b->last_hit = i;
            return i;
        }
    }
    if (!create) {
        return SIZE_MAX;
    }
    b->parts = xrealloc(b->parts, (b->num_parts + 1) * sizeof *b->parts);
    struct part *p = &b->parts[b->num_parts];
    memset(p, 0, sizeof *p);
    p->topic = xstrndup(topic, topic_len);
    p->topic_len = topic_len;
    p->partition = partition;
    struct buf k;
    buf_init(&k);
    inv_event_partition_key(&k, topic, topic_len, partition);
    p->key = buf_steal(&k, NULL);
    p->group_len = inv_event_group_len(topic, topic_len, partition);
    inv_event_record_prefix_write(&k, topic, topic_len, partition);
    p->rec_prefix = buf_steal(&k, &p->rec_prefix_len);
    buf_init(&p->raw);
    b->last_hit = b->num_parts;
    return b->num_parts++;
}

// recount recomputes avail/avail_bytes after the head of the queue moved.
static void recount(struct part *p)
{
    p->avail = 0;
    p->avail_bytes = 0;
    for (size_t i = p->q_head; i < p->q_len && !p->q[i].oversized && !p->q[i].reject; i++) {
        p->avail++;
        p->avail_bytes += p->q[i].len;
    }
}

// An emptied partition keeps at most this much of its arena and queue; a spike (one full Fetch
// answer, about 1 MiB per partition) is given back, so memory follows the records queued, not
// the number of partitions times their largest burst.
#define KEEP_RAW_BYTES (16u * 1024u)
#define KEEP_ENTRIES 128u

// compact drops consumed entries and fragment bytes once they dominate, and gives an emptied
// partition's spike back.
static void compact(struct part *p)
{
    if (p->q_head == p->q_len) {
        p->q_head = p->q_len = 0;
        p->raw.len = 0;
        if (p->raw.cap > KEEP_RAW_BYTES) {
            buf_cleanup(&p->raw);
        }
        if (p->q_cap > KEEP_ENTRIES) {
            free(p->q);
            p->q = NULL;
            p->q_cap = 0;
        }
        return;
    }
    if (p->q_head < 1024 || p->q_head < p->q_len / 2) {
        return;
    }
    size_t base = p->q[p->q_head].off;
    for (size_t i = p->q_head; i < p->q_len; i++) {
        if (!p->q[i].oversized && p->q[i].off < base) {
            base = p->q[i].off;
        }
    }
    memmove(p->raw.p, p->raw.p + base, p->raw.len - base);
    p->raw.len -= base;
    memmove(p->q, p->q + p->q_head, (p->q_len - p->q_head) * sizeof *p->q);
    p->q_len -= p->q_head;
    p->q_head = 0;
    for (size_t i = 0; i < p->q_len; i++) {
        if (!p->q[i].oversized) {
            p->q[i].off -= base;
        }
    }
}

int batcher_add(struct batcher *b, const struct inv_record *rec, int64_t now_ms,
                struct inv_err *err)
{
    size_t pi = find_part(b, rec->topic, rec->topic_len, rec->partition, true);
    struct part *p = &b->parts[pi];
    if (p->has_last && rec->offset <= p->last_offset) {
        return inv_fail(err, -1, "batcher: partition %s: offset %lld after %lld", p->key,
                        (long long)rec->offset, (long long)p->last_offset);
    }
    if (p->q_len == p->q_cap) {
        p->q_cap = p->q_cap ? p->q_cap * 2 : 64;
        p->q = xrealloc(p->q, p->q_cap * sizeof *p->q);
    }
    struct entry *e = &p->q[p->q_len];
    memset(e, 0, sizeof *e);
    e->seq = b->next_seq++;
    e->offset = rec->offset;
    e->timestamp = rec->timestamp;
    size_t len = p->rec_prefix_len + inv_event_record_rest_len(&b->cfg.event, rec);
    if (b->head_len + p->group_len + len > b->cfg.max_payload) {
        e->oversized = true;
        e->len = b->head_len + p->group_len + len;
    } else {
        e->off = p->raw.len;
        e->len = len;
        raw_put(&p->raw, rec);
    }
    bool behind_oversized = p->avail < p->q_len - p->q_head;
    e->reject = e->oversized ? NULL : rec->reject;
    if (p->q_head == p->q_len && !p->inflight) {
        p->window_start = now_ms;
    }
    p->q_len++;
    if (!e->oversized && !e->reject && !behind_oversized) {
        p->avail++;
        p->avail_bytes += len;
    }
    p->has_last = true;
    p->last_offset = rec->offset;
    b->pending++;
    return 0;
}

int batcher_add_gap(struct batcher *b, const char *topic, size_t topic_len, int32_t partition,
                    int64_t first_offset, int64_t last_offset, int64_t timestamp,
                    enum batch_gap gap, int64_t now_ms, struct inv_err *err)
{
    size_t pi = find_part(b, topic, topic_len, partition, true);
    struct part *p = &b->parts[pi];
    if ((p->has_last && first_offset <= p->last_offset) || last_offset < first_offset) {
        return inv_fail(err, -1, "batcher: partition %s: range %lld-%lld after %lld", p->key,
                        (long long)first_offset, (long long)last_offset,
                        (long long)(p->has_last ? p->last_offset : -1));
    }
    if (p->q_len == p->q_cap) {
        p->q_cap = p->q_cap ? p->q_cap * 2 : 64;
        p->q = xrealloc(p->q, p->q_cap * sizeof *p->q);
    }
    struct entry *e = &p->q[p->q_len];
    memset(e, 0, sizeof *e);
    e->seq = b->next_seq++;
    e->offset = last_offset;
    e->first = first_offset;
    e->timestamp = timestamp;
    e->oversized = true;
    e->gap = gap == BATCH_GAP_NONE ? BATCH_GAP_CORRUPT : gap;
    if (p->q_head == p->q_len && !p->inflight) {
        p->window_start = now_ms;
    }
    p->q_len++;
    p->has_last = true;
    p->last_offset = last_offset;
    b->pending++;
    return 0;
}

// part_ready_oversized: the head of |p| goes out alone (oversized, or a rejected record).
static bool part_ready_oversized(const struct part *p)
{
    return !p->inflight && p->q_head < p->q_len &&
           (p->q[p->q_head].oversized || p->q[p->q_head].reject);
}

// readiness evaluates the cut rules over idle partitions. Returns true if a batch is ready now
// (with *out_reason), else false with *out_deadline the window expiry (INT64_MAX if none).
static bool readiness(const struct batcher *b, enum batch_reason *out_reason, int64_t *out_deadline)
{
    *out_deadline = INT64_MAX;
    if (b->inflight >= b->cfg.max_inflight) {
        return false;
    }
    size_t count = 0, groups = 0, bytes = b->head_len;
    bool oversized_waits = false, any = false;
    int64_t oldest = INT64_MAX;
    for (size_t i = 0; i < b->num_parts; i++) {
        const struct part *p = &b->parts[i];
        if (p->inflight || p->q_head == p->q_len) {
            continue;
        }
        if (part_ready_oversized(p)) {
            *out_reason = BATCH_REASON_OVERSIZED;
            return true;
        }
        any = true;
        if (p->avail < p->q_len - p->q_head) {
            oversized_waits = true;
        }
        count += p->avail;
        bytes += (groups ? 1 : 0) + p->group_len + p->avail_bytes + (p->avail - 1);
        groups++;
        if (p->window_start < oldest) {
            oldest = p->window_start;
        }
    }
    if (!any) {
        return false;
    }
    if (count >= b->cfg.batch_size) {
        *out_reason = BATCH_REASON_COUNT;
        return true;
    }
    if (bytes > b->cfg.max_payload || oversized_waits) {
        *out_reason = BATCH_REASON_BYTES;
        return true;
    }
    if (b->flush) {
        *out_reason = BATCH_REASON_FLUSH;
        return true;
    }
    *out_deadline = oldest > INT64_MAX - (int64_t)b->cfg.window_ms
                        ? INT64_MAX
                        : oldest + (int64_t)b->cfg.window_ms;
    return false;
}

int64_t batcher_next_deadline(const struct batcher *b)
{
    enum batch_reason reason;
    int64_t deadline;
    if (readiness(b, &reason, &deadline)) {
        return INT64_MIN;
    }
    return deadline;
}

static struct batch *batch_alloc(size_t num_records, size_t num_parts)
{
    struct batch *bt = xcalloc(1, sizeof *bt);
    bt->offsets = xcalloc(num_records, sizeof *bt->offsets);
    bt->recs = xcalloc(num_records, sizeof *bt->recs);
    bt->parts = xcalloc(num_parts, sizeof *bt->parts);
    bt->pidx = xcalloc(num_parts, sizeof *bt->pidx);
    return bt;
}

static void batch_part_init(struct batch_part *bp, const struct part *p)
{
    bp->topic = xstrndup(p->topic, p->topic_len);
    bp->topic_len = p->topic_len;
    bp->partition = p->partition;
    bp->key = xstrdup(p->key);
}

// take_reject hands out the rejected record at the head of partition |pi| as a batch of its own,
// with a payload (the on-failure destination gets the record as it came).
static struct batch *take_reject(struct batcher *b, size_t pi)
{
    struct part *p = &b->parts[pi];
    struct entry *e = &p->q[p->q_head++];
    struct batch *bt = batch_alloc(1, 1);
    bt->reason = BATCH_REASON_OVERSIZED;
    bt->reject = e->reject;
    bt->num_records = 1;
    bt->num_parts = 1;
    bt->offsets[0] = e->offset;
    struct batch_part *bp = &bt->parts[0];
    batch_part_init(bp, p);
    bp->first_offset = bp->last_offset = e->offset;
    bp->first_timestamp = bp->last_timestamp = e->timestamp;
    bp->num_records = 1;
    bt->pidx[0] = pi;
    struct buf out;
    buf_init(&out);
    inv_event_head_write(&out, &b->cfg.event);
    inv_event_group_open(&out, p->topic, p->topic_len, p->partition);
    struct inv_record r;
    memset(&r, 0, sizeof r);
    r.topic = p->topic;
    r.topic_len = p->topic_len;
    r.partition = p->partition;
    r.offset = e->offset;
    r.timestamp = e->timestamp;
    raw_get(b, p->raw.p + e->off, &r);
    size_t start = out.len;
    inv_event_record_write(&out, &b->cfg.event, &r);
    bt->recs[0] = (struct batch_rec){.start = start,
                                     .len = out.len - start,
                                     .timestamp = e->timestamp,
                                     .key_len = r.key.is_null ? 0 : r.key.len,
                                     .key_null = r.key.is_null};
    if (!r.key.is_null && r.key.len > 0) {
        bt->keys = xmalloc(r.key.len);
        memcpy(bt->keys, r.key.p, r.key.len);
    }
    inv_event_group_close(&out);
    inv_event_tail_write(&out);
    bt->payload = buf_steal(&out, &bt->payload_len);
    recount(p);
    compact(p);
    return bt;
}

static struct batch *take_oversized(struct batcher *b, size_t pi)
{
    struct part *p = &b->parts[pi];
    if (p->q[p->q_head].reject) {
        return take_reject(b, pi);
    }
    struct entry *e = &p->q[p->q_head++];
    struct batch *bt = batch_alloc(1, 1);
    bt->reason = BATCH_REASON_OVERSIZED;
    bt->oversized = true;
    bt->oversized_len = e->len;
    bt->num_records = 1;
    bt->num_parts = 1;
    bt->offsets[0] = e->offset;
    bt->recs[0] = (struct batch_rec){.timestamp = e->timestamp, .key_null = true};
    struct batch_part *bp = &bt->parts[0];
    batch_part_init(bp, p);
    bp->first_offset = bp->last_offset = e->offset;
    bp->first_timestamp = bp->last_timestamp = e->timestamp;
    bp->num_records = 1;
    bt->pidx[0] = pi;
    p->blocked = b->cfg.oversize == BATCH_OVERSIZE_BLOCK;
    if (e->gap != BATCH_GAP_NONE) {
        bt->gap = e->gap;
        bp->first_offset = e->first;
        p->blocked = false; // a range that cannot be decoded never blocks its partition
    }
    recount(p);
    compact(p);
    return bt;
}

// plan picks records in arrival order: returns how many to take from each idle partition
// (take[pi]), in which order the partitions first appear (order[], *out_groups) and the totals.
// Records arrive in runs per partition (one fetch response at a time), so it takes whole runs: the
// partition holding the oldest record gives every record older than the oldest of any other
// partition before the partitions are scanned again.
static size_t plan(struct batcher *b, size_t *take, size_t *order, size_t *out_groups,
                   size_t *out_bytes)
{
    size_t count = 0, groups = 0, bytes = b->head_len;
    bool full = false;
    while (!full && count < b->cfg.batch_size) {
        size_t best = SIZE_MAX;
        uint64_t best_seq = UINT64_MAX, next_seq = UINT64_MAX;
        for (size_t i = 0; i < b->num_parts; i++) {
            struct part *p = &b->parts[i];
            if (p->inflight || take[i] >= p->avail) {
                continue;
            }
            uint64_t seq = p->q[p->q_head + take[i]].seq;
            if (seq < best_seq) {
                next_seq = best_seq;
                best_seq = seq;
                best = i;
            } else if (seq < next_seq) {
                next_seq = seq;
            }
        }
        if (best == SIZE_MAX) {
            break;
        }
        struct part *p = &b->parts[best];
        while (count < b->cfg.batch_size && take[best] < p->avail) {
            const struct entry *e = &p->q[p->q_head + take[best]];
            if (e->seq > next_seq) {
                break; // another partition holds an older record
            }
            size_t add = take[best] ? e->len + 1 : (groups ? 1 : 0) + p->group_len + e->len;
            if (bytes + add > b->cfg.max_payload) {
                full = true; // cut before the record that would cross the cap
                break;
            }
            if (take[best] == 0) {
                order[groups++] = best;
            }
            take[best]++;
            bytes += add;
            count++;
        }
    }
    *out_groups = groups;
    *out_bytes = bytes;
    return count;
}

static struct batch *take_batch(struct batcher *b, enum batch_reason reason)
{
    size_t *take = xcalloc(b->num_parts, sizeof *take);
    size_t *order = xcalloc(b->num_parts, sizeof *order);
    size_t groups, bytes;
    size_t count = plan(b, take, order, &groups, &bytes);
    struct batch *bt = NULL;
    if (count == 0) {
        goto out;
    }
    bt = batch_alloc(count, groups);
    bt->reason = reason;
    bt->num_records = count;
    bt->num_parts = groups;
    // The payload is exactly |bytes| long: reserve once and copy the fragments in place. The
    // reserve rounds the allocation up to a power of two, so successive payloads reuse the same
    // malloc chunks instead of fragmenting the heap with slightly different sizes.
    struct buf out, keys;
    buf_init(&out);
    buf_init(&keys);
    buf_reserve(&out, bytes);
    inv_event_head_write(&out, &b->cfg.event);
    size_t ri = 0;
    for (size_t g = 0; g < groups; g++) {
        struct part *p = &b->parts[order[g]];
        struct batch_part *bp = &bt->parts[g];
        batch_part_init(bp, p);
        bt->pidx[g] = order[g];
        bp->first_index = ri;
        bp->num_records = take[order[g]];
        if (g) {
            buf_addc(&out, ',');
        }
        inv_event_group_open(&out, p->topic, p->topic_len, p->partition);
        const struct entry *q = &p->q[p->q_head];
        size_t part_bytes = bp->num_records - 1;
        for (size_t k = 0; k < bp->num_records; k++) {
            part_bytes += q[k].len;
        }
        if (part_bytes + 1 > out.cap - out.len) {
            abort(); // plan() and the fragments disagree
        }
        char *o = out.p + out.len;
        struct inv_record r;
        memset(&r, 0, sizeof r);
        r.topic = p->topic;
        r.topic_len = p->topic_len;
        r.partition = p->partition;
        for (size_t k = 0; k < bp->num_records; k++) {
            if (k) {
                *o++ = ',';
            }
            char *start = o;
            o = put_bytes(o, p->rec_prefix, p->rec_prefix_len);
            r.offset = q[k].offset;
            r.timestamp = q[k].timestamp;
            raw_get(b, p->raw.p + q[k].off, &r);
            o = inv_event_record_put_rest(o, &b->cfg.event, &r);
            if (o != start + q[k].len) {
                abort(); // the size function and the writer disagree
            }
            bt->recs[ri] = (struct batch_rec){.start = (size_t)(start - out.p),
                                              .len = q[k].len,
                                              .timestamp = q[k].timestamp,
                                              .key_off = keys.len,
                                              .key_len = r.key.is_null ? 0 : r.key.len,
                                              .key_null = r.key.is_null};
            if (!r.key.is_null) {
                buf_add(&keys, r.key.p, r.key.len);
            }
            bt->offsets[ri++] = q[k].offset;
        }
        out.len += part_bytes;
        p->avail_bytes -= part_bytes - (bp->num_records - 1);
        inv_event_group_close(&out);
        bp->first_offset = q[0].offset;
        bp->first_timestamp = q[0].timestamp;
        bp->last_offset = q[bp->num_records - 1].offset;
        bp->last_timestamp = q[bp->num_records - 1].timestamp;
        p->q_head += bp->num_records;
        p->avail -= bp->num_records;
        p->inflight = true;
        compact(p);
    }
    inv_event_tail_write(&out);
    if (out.len != bytes) {
        // The size functions and writers disagree: a bug that would break the cap guarantee.
        abort();
    }
    bt->payload = buf_steal(&out, &bt->payload_len);
    bt->keys = keys.len > 0 ? (uint8_t *)buf_steal(&keys, NULL) : NULL;
    buf_cleanup(&keys);
out:
    free(take);
    free(order);
    return bt;
}

struct batch *batcher_next(struct batcher *b, int64_t now_ms)
{
    enum batch_reason reason;
    int64_t deadline;
    bool ready = readiness(b, &reason, &deadline);
    if (!ready && deadline <= now_ms) {
        ready = true;
        reason = BATCH_REASON_WINDOW;
    }
    if (!ready) {
        return NULL;
    }
    struct batch *bt = NULL;
    if (reason == BATCH_REASON_OVERSIZED) {
        for (size_t i = 0; i < b->num_parts; i++) {
            if (part_ready_oversized(&b->parts[i])) {
                bt = take_oversized(b, i);
                b->parts[i].inflight = true;
                break;
            }
        }
    } else {
        bt = take_batch(b, reason);
    }
    if (bt == NULL) {
        return NULL;
    }
    bt->id = b->next_id++;
    b->inflight++;
    b->pending -= bt->num_records;
    if (b->pending == 0) {
        b->flush = false;
    }
    return bt;
}

void batcher_flush(struct batcher *b)
{
    b->flush = b->pending > 0;
}

int batcher_complete(struct batcher *b, struct batch *batch, int64_t now_ms, struct inv_err *err)
{
    if (batch->oversized) {
        struct part *p = &b->parts[batch->pidx[0]];
        if (p->blocked && !p->dropped) {
            return inv_fail(err, -1,
                            "batcher: partition %s is blocked by a record of %zu bytes at "
                            "offset %lld (payload limit %zu)",
                            p->key, batch->oversized_len, (long long)batch->offsets[0],
                            b->cfg.max_payload);
        }
    }
    for (size_t g = 0; g < batch->num_parts; g++) {
        struct part *p = &b->parts[batch->pidx[g]];
        p->inflight = false;
        p->blocked = false;
        p->dropped = false;
        if (p->q_head < p->q_len) {
            p->window_start = now_ms;
        }
    }
    b->inflight--;
    batch_free(batch);
    return 0;
}

void batcher_drop_partition(struct batcher *b, const char *topic, size_t topic_len,
                            int32_t partition)
{
    size_t pi = find_part(b, topic, topic_len, partition, false);
    if (pi == SIZE_MAX) {
        return;
    }
    struct part *p = &b->parts[pi];
    b->pending -= p->q_len - p->q_head;
    p->q_head = p->q_len = 0;
    p->raw.len = 0;
    p->avail = p->avail_bytes = 0;
    p->has_last = false;
    if (p->inflight) {
        p->dropped = true;
    }
    if (b->pending == 0) {
        b->flush = false;
    }
}

size_t batcher_pending(const struct batcher *b)
{
    return b->pending;
}

size_t batcher_partition_queued(const struct batcher *b, const char *topic, size_t topic_len,
                                int32_t partition)
{
    for (size_t i = 0; i < b->num_parts; i++) {
        const struct part *p = &b->parts[i];
        if (p->partition == partition && p->topic_len == topic_len &&
            memcmp(p->topic, topic, topic_len) == 0) {
            return p->q_len - p->q_head;
        }
    }
    return 0;
}

size_t batcher_inflight(const struct batcher *b)
{
    return b->inflight;
}

bool batch_has_record(const struct batch *batch, const char *key, int64_t offset)
{
    for (size_t g = 0; g < batch->num_parts; g++) {
        const struct batch_part *bp = &batch->parts[g];
        if (strcmp(bp->key, key) != 0) {
            continue;
        }
        // Offsets increase within a part: binary search.
        size_t lo = bp->first_index, hi = bp->first_index + bp->num_records;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (batch->offsets[mid] == offset) {
                return true;
            }
            if (batch->offsets[mid] < offset) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return false;
    }
    return false;
}

bool batch_check_failures(const struct batch *batch, struct inv_result *res)
{
    if (res->kind != INV_RESULT_PARTIAL) {
        return true;
    }
    for (size_t i = 0; i < res->num_failures; i++) {
        const struct inv_item_failure *f = &res->failures[i];
        if (!batch_has_record(batch, f->partition, f->offset)) {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "batchItemFailures names %.100s offset %lld, which is not in the batch",
                     f->partition, (long long)f->offset);
            int status = res->status;
            inv_result_cleanup(res);
            res->kind = INV_RESULT_FUNCTION_ERROR;
            res->status = status;
            res->message = xstrdup(msg);
            return false;
        }
    }
    return true;
}

void batch_free(struct batch *batch)
{
    if (batch == NULL) {
        return;
    }
    for (size_t g = 0; g < batch->num_parts; g++) {
        free(batch->parts[g].topic);
        free(batch->parts[g].key);
    }
    free(batch->parts);
    free(batch->offsets);
    free(batch->recs);
    free(batch->keys);
    free(batch->pidx);
    free(batch->payload);
    free(batch);
}
