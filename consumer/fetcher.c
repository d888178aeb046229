// fetcher.c: see fetcher.h. No I/O, no clock, no logging: warnings go to f->note.
#include "consumer/fetcher.h"

#include "base/alloc.h"
#include "proto/errors.h"
#include "proto/fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ABORTED 100000

void cons_fetcher_init(struct cons_fetcher *f, const struct cons_fetcher_config *cfg,
                       cons_deliver_fn deliver, void *ctx)
{
    memset(f, 0, sizeof *f);
    f->cfg = *cfg;
    if (f->cfg.max_wait_ms <= 0) {
        f->cfg.max_wait_ms = 500;
    }
    if (f->cfg.min_bytes <= 0) {
        f->cfg.min_bytes = 1;
    }
    if (f->cfg.partition_max_bytes <= 0) {
        f->cfg.partition_max_bytes = 1 << 20;
    }
    if (f->cfg.max_bytes <= 0) {
        f->cfg.max_bytes = 50 << 20;
    }
    if (f->cfg.partition_max_bytes > f->cfg.max_bytes) {
        f->cfg.partition_max_bytes = f->cfg.max_bytes; // no partition gets more than a request
    }
    if (f->cfg.decompress_limit == 0) {
        f->cfg.decompress_limit = (size_t)64 << 20;
    }
    if (f->cfg.retry_backoff_ms == 0) {
        f->cfg.retry_backoff_ms = 100;
    }
    if (f->cfg.undecodable_retries == 0) {
        f->cfg.undecodable_retries = 3;
    }
    kp_arena_init(&f->arena, f->cfg.decompress_limit);
    f->deliver = deliver;
    f->deliver_ctx = ctx;
}

void cons_fetcher_set_undecodable(struct cons_fetcher *f, cons_undecodable_fn fn, void *ctx)
{
    f->undecodable = fn;
    f->undecodable_ctx = ctx;
}

static void clear_parts(struct cons_fetcher *f)
{
    for (size_t i = 0; i < f->num_parts; i++) {
        free(f->parts[i].topic);
    }
    free(f->parts);
    f->parts = NULL;
    f->num_parts = 0;
}

void cons_fetcher_cleanup(struct cons_fetcher *f)
{
    clear_parts(f);
    kp_arena_cleanup(&f->arena);
    free(f->recs);
    free(f->txns);
    memset(f, 0, sizeof *f);
}

static void init_part(struct cons_fetcher *f, struct cons_part *p, const struct cons_tp *tp)
{
    memset(p, 0, sizeof *p);
    p->topic = xstrdup(tp->topic);
    p->partition = tp->partition;
    p->pos_state = CONS_POS_NEED_COMMITTED;
    p->position = -1;
    p->acked = -1;
    p->committed = -1;
    p->commit_sent = -1;
    p->high_watermark = p->last_stable = p->log_start = -1;
    p->leader = -1;
    p->leader_epoch = -1;
    p->max_bytes = f->cfg.partition_max_bytes;
    p->busy = true; // until an answer says otherwise
    p->fetch_broker = -1;
    p->bad_offset = -1;
}

void cons_fetcher_assign(struct cons_fetcher *f, const struct cons_tp *tps, size_t n)
{
    clear_parts(f);
    f->parts = xcalloc(n + 1, sizeof *f->parts);
    for (size_t i = 0; i < n; i++) {
        init_part(f, &f->parts[i], &tps[i]);
    }
    f->num_parts = n;
}

void cons_fetcher_update(struct cons_fetcher *f, const struct cons_tp *tps, size_t n)
{
    struct cons_part *parts = xcalloc(n + 1, sizeof *parts);
    for (size_t i = 0; i < n; i++) {
        struct cons_part *old = NULL;
        for (size_t k = 0; k < f->num_parts && !old; k++) {
            struct cons_part *p = &f->parts[k];
            old = p->topic && !p->stopped && p->partition == tps[i].partition &&
                          !strcmp(p->topic, tps[i].topic)
                      ? p
                      : NULL;
        }
        if (old) {
            parts[i] = *old; // position, offsets, fetch state and the topic string move over
            old->topic = NULL;
        } else {
            init_part(f, &parts[i], &tps[i]);
        }
    }
    clear_parts(f); // frees what was not kept (moved entries hold NULL)
    f->parts = parts;
    f->num_parts = n;
}

void cons_fetcher_remove(struct cons_fetcher *f, const struct cons_tp *tps, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < f->num_parts; i++) {
        bool gone = false;
        for (size_t k = 0; k < n && !gone; k++) {
            gone = tps[k].partition == f->parts[i].partition &&
                   !strcmp(tps[k].topic, f->parts[i].topic);
        }
        if (gone) {
            free(f->parts[i].topic);
        } else {
            f->parts[w++] = f->parts[i];
        }
    }
    f->num_parts = w;
}

struct cons_part *cons_fetcher_find(struct cons_fetcher *f, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < f->num_parts; i++) {
        if (f->parts[i].partition == partition && !strcmp(f->parts[i].topic, topic)) {
            return &f->parts[i];
        }
    }
    return NULL;
}

struct cons_part *cons_fetcher_find_view(struct cons_fetcher *f, const kr *topic, int32_t partition)
{
    for (size_t i = 0; i < f->num_parts; i++) {
        if (f->parts[i].partition == partition && kr_eq_cstr(topic, f->parts[i].topic)) {
            return &f->parts[i];
        }
    }
    return NULL;
}

void cons_fetcher_reset_position(struct cons_fetcher *f, struct cons_part *p)
{
    (void)f;
    p->pos_state = CONS_POS_NEED_RESET;
    p->position = -1;
    p->fetching = false;
}

size_t cons_fetcher_begin_fetch(struct cons_fetcher *f, int32_t broker, uint64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < f->num_parts; i++) {
        struct cons_part *p = &f->parts[i];
        if (p->leader != broker || p->pos_state != CONS_POS_READY || p->paused || p->stopped ||
            p->fetching || now < p->retry_at) {
            continue;
        }
        p->fetching = true;
        p->fetch_broker = broker;
        p->fetch_offset = p->position;
        n++;
    }
    // A broker fills a Fetch answer partition by partition in request order until MaxBytes: each
    // request starts further along the table, so with many partitions and a small budget the
    // ones late in the table are not starved by busy ones early in it.
    if (n > 0 && f->num_parts > 0) {
        size_t step = (1 + n / 2) % f->num_parts;
        f->rot = (f->rot + (step ? step : 1)) % f->num_parts;
    }
    return n;
}

void cons_fetcher_cancel_fetch(struct cons_fetcher *f, int32_t broker)
{
    for (size_t i = 0; i < f->num_parts; i++) {
        struct cons_part *p = &f->parts[i];
        if (p->fetching && p->fetch_broker == broker) {
            p->fetching = false;
        }
    }
}

static void set_fatal(struct cons_fetch_outcome *out, enum cons_error_class cls, const char *topic,
                      int32_t partition, int16_t code)
{
    if (out->fatal) {
        return;
    }
    out->fatal = true;
    out->err_class = cls;
    char nb[KP_ERROR_NAME_BUF];
    snprintf(out->msg, sizeof out->msg, "Fetch %s [%d]: %s", topic, (int)partition,
             kp_error_name_buf(code, nb, sizeof nb));
}

static void push_record(struct cons_fetcher *f, size_t *n, const struct kp_record *rec)
{
    if (*n == f->recs_cap) {
        f->recs_cap = f->recs_cap ? f->recs_cap * 2 : 256;
        f->recs = xrealloc(f->recs, f->recs_cap * sizeof *f->recs);
    }
    struct cons_record *r = &f->recs[(*n)++];
    r->offset = rec->offset;
    r->timestamp = rec->timestamp;
    r->ts_type = rec->ts_type == KP_TS_LOG_APPEND ? CONS_TS_LOG_APPEND
                 : rec->ts_type == KP_TS_NONE     ? CONS_TS_NONE
                                                  : CONS_TS_CREATE;
    r->key = rec->key.p;
    r->key_len = rec->key.len;
    r->key_null = rec->key_null;
    r->value = rec->value.p;
    r->value_len = rec->value.len;
    r->value_null = rec->value_null;
    r->num_headers = rec->num_headers;
    r->header_bytes = rec->header_bytes;
}

// load_txns copies the partition's aborted transactions for the read_committed filter.
static size_t load_txns(struct cons_fetcher *f, const struct kp_fetch_iter *pi,
                        const struct kp_fetch_partition *fp)
{
    if (f->cfg.read_uncommitted || fp->aborted_null || fp->num_aborted == 0) {
        return 0;
    }
    size_t want = fp->num_aborted < MAX_ABORTED ? fp->num_aborted : MAX_ABORTED;
    if (want > f->txns_cap) {
        f->txns = xrealloc(f->txns, want * sizeof *f->txns);
        f->txns_cap = want;
    }
    struct kp_fetch_iter ai;
    struct kp_fetch_aborted a;
    size_t n = 0;
    kp_fetch_aborted_txns(pi, fp, &ai);
    while (n < want && kp_fetch_next_aborted(&ai, &a)) {
        f->txns[n++] =
            (struct kp_aborted_txn){.producer_id = a.producer_id, .first_offset = a.first_offset};
    }
    return n;
}

// struct bad_batch: where decoding stopped. |known|: the failing batch's header was read, so
// its offset range is known (a failure inside the records or their decompression).
struct bad_batch {
    bool known;
    int64_t first, last;
    enum kp_status st;
    char field[96];
};

// decode_partition walks one partition's records from |from|, collecting deliverable records into
// f->recs. Returns the status; *out_next is the position after the last whole batch decoded
// (unchanged if none), *out_largest the size of the largest whole batch seen (0: none), and on
// failure *out_n counts the records of the batches before the failing one (all deliverable).
static enum kp_status decode_partition(struct cons_fetcher *f, const struct kp_fetch_iter *pi,
                                       const struct kp_fetch_partition *fp, int64_t from,
                                       size_t *out_n, int64_t *out_next, size_t *out_largest,
                                       struct bad_batch *bad)
{
    struct kp_txn_filter filt;
    size_t nt = load_txns(f, pi, fp);
    kp_txn_filter_init(&filt, nt ? f->txns : NULL, nt);
    struct kp_records_opts opts = {.skip_crc = !f->cfg.check_crcs};
    struct kp_records_iter it;
    kp_records_init(&it, fp->records.p, fp->records.len, &f->arena, &opts);
    struct kp_batch b;
    struct kp_err err = {0};
    bool end = false;
    enum kp_status st;
    memset(bad, 0, sizeof *bad);
    while ((st = kp_records_next_batch(&it, &b, &end, &err)) == KP_OK && !end) {
        *out_largest = b.wire_len > *out_largest ? b.wire_len : *out_largest;
        enum kp_txn_verdict v = f->cfg.read_uncommitted
                                    ? (b.is_control ? KP_TXN_SKIP_CONTROL : KP_TXN_DELIVER)
                                    : kp_txn_filter_batch(&filt, &b);
        if (b.last_offset < from) {
            continue;
        }
        if (v == KP_TXN_DELIVER) {
            size_t before = *out_n;
            struct kp_record rec;
            bool rend = false;
            while ((st = kp_batch_next_record(&b, &rec, &rend, &err)) == KP_OK && !rend) {
                if (rec.offset >= from && rec.offset >= *out_next) {
                    push_record(f, out_n, &rec);
                }
            }
            if (st != KP_OK) {
                *out_n = before;
                bad->known = true;
                bad->first = b.base_offset > *out_next ? b.base_offset : *out_next;
                bad->last = b.last_offset;
                bad->st = st;
                snprintf(bad->field, sizeof bad->field, "%s", err.field ? err.field : "?");
                return st;
            }
        }
        if (b.last_offset + 1 > *out_next) {
            *out_next = b.last_offset + 1;
        }
    }
    if (st != KP_OK) {
        bad->st = st;
        snprintf(bad->field, sizeof bad->field, "%s", err.field ? err.field : "?");
    }
    return st;
}

static void deliver_records(struct cons_fetcher *f, struct cons_part *p, size_t n,
                            struct cons_fetch_outcome *out)
{
    if (n == 0) {
        return;
    }
    p->records_delivered += n;
    out->delivered += n;
    f->recs_hwm = n > f->recs_hwm ? n : f->recs_hwm;
    struct cons_record_batch batch = {.topic = p->topic,
                                      .partition = p->partition,
                                      .records = f->recs,
                                      .num_records = n,
                                      .high_watermark = p->high_watermark};
    if (f->deliver) {
        f->deliver(&batch, f->deliver_ctx);
    }
}

// undecodable handles a batch that did not decode at the partition's position: it is fetched
// again after a back-off, up to undecodable_retries times, then reported skipped and passed.
static void undecodable(struct cons_fetcher *f, struct cons_part *p, const struct bad_batch *bad,
                        uint64_t now)
{
    char reason[120];
    if (bad->st == KP_ERR_LIMIT) {
        snprintf(reason, sizeof reason, "it decompresses to more than %zu bytes (%.40s)",
                 f->cfg.decompress_limit, bad->field);
    } else {
        snprintf(reason, sizeof reason, "%s (%.80s)", kp_status_name(bad->st), bad->field);
    }
    if (p->bad_offset != bad->first) {
        p->bad_offset = bad->first;
        p->bad_attempts = 0;
    }
    p->bad_attempts++;
    bool skip = f->undecodable && p->bad_attempts > f->cfg.undecodable_retries;
    snprintf(f->note, sizeof f->note,
             "Fetch %.60s [%d]: the record batch at offsets %lld-%lld cannot be decoded: %s; %s",
             p->topic, (int)p->partition, (long long)bad->first, (long long)bad->last, reason,
             skip ? "skipping it" : "retrying");
    struct cons_undecodable u = {p->topic,
                                 p->partition,
                                 bad->first,
                                 bad->last,
                                 p->bad_attempts,
                                 skip,
                                 bad->st == KP_ERR_LIMIT,
                                 reason};
    if (f->undecodable) {
        f->undecodable(&u, f->undecodable_ctx);
    }
    if (skip) {
        p->position = bad->last + 1;
        p->bad_offset = -1;
        p->bad_attempts = 0;
    } else {
        p->retry_at = now + f->cfg.retry_backoff_ms * 10;
    }
}

// adapt_limit moves |p|'s batch hint and limit after an answer that decoded. Only part of a
// batch (it is bigger than what was asked for): when the partition asked for less than its limit
// (its share of the grant), the hint doubles so it asks for more next time; at its limit, the
// limit doubles, up to the request limit, as the Java client and librdkafka do. A raised limit
// comes back down step by step once it is no longer needed, i.e. CONS_FETCH_DECAY_AFTER answers
// in a row whose batches all fit in half of it (or that were empty with the partition caught
// up): halved each time, never below the configured partition limit. Answers that say nothing
// (empty while behind: the response filled up before this partition) leave the count as it is.
// |largest| is the largest whole batch of the answer (0: none).
static void adapt_limit(struct cons_fetcher *f, struct cons_part *p, size_t records_len,
                        size_t largest)
{
    if (largest == 0 && records_len > 0) {
        p->fit_streak = 0;
        if (p->asked > 0 && p->asked < p->max_bytes) {
            p->hint = p->asked > p->max_bytes / 2 ? p->max_bytes : p->asked * 2;
            return;
        }
        int32_t cap = f->cfg.max_bytes;
        p->max_bytes = p->max_bytes > cap / 2 ? cap : p->max_bytes * 2;
        p->hint = p->max_bytes;
        snprintf(f->note, sizeof f->note,
                 "Fetch %s [%d]: a batch exceeds the partition limit; "
                 "raised it to %d bytes",
                 p->topic, (int)p->partition, (int)p->max_bytes);
        return;
    }
    size_t hint = (size_t)(p->hint > 0 ? p->hint : 0) / 2;
    hint = largest > hint ? largest : hint;
    p->hint = hint < (size_t)p->max_bytes ? (int32_t)hint : p->max_bytes;
    int32_t base = f->cfg.partition_max_bytes;
    if (p->max_bytes <= base) {
        p->fit_streak = 0;
        return;
    }
    bool caught_up = p->high_watermark >= 0 && p->position >= p->high_watermark;
    if (largest > (size_t)p->max_bytes / 2) {
        p->fit_streak = 0; // the raised limit is still in use
    } else if (largest > 0 || caught_up) {
        p->fit_streak++;
    }
    if (p->fit_streak >= CONS_FETCH_DECAY_AFTER) {
        p->fit_streak = 0;
        p->max_bytes = p->max_bytes / 2 < base ? base : p->max_bytes / 2;
        p->hint = p->hint > p->max_bytes ? p->max_bytes : p->hint;
    }
}

static void handle_records(struct cons_fetcher *f, struct cons_part *p,
                           const struct kp_fetch_iter *pi, const struct kp_fetch_partition *fp,
                           uint64_t now, struct cons_fetch_outcome *out)
{
    size_t n = 0, largest = 0;
    int64_t next = p->fetch_offset;
    struct bad_batch bad;
    enum kp_status st = decode_partition(f, pi, fp, p->fetch_offset, &n, &next, &largest, &bad);
    if (fp->records.len > 0) {
        p->served = ++f->serve_seq; // it had data: the next requests put it behind the others
    }
    if (st != KP_OK) {
        // Deliver what came before the failing batch; the next fetch starts at that batch.
        p->position = bad.known ? bad.first : next;
        p->busy = true;
        deliver_records(f, p, n, out);
        kp_arena_reset(&f->arena);
        if (bad.known && bad.first == p->position) {
            undecodable(f, p, &bad, now);
        } else {
            snprintf(f->note, sizeof f->note,
                     "Fetch %s [%d] at offset %lld: records %s (%s); retrying", p->topic,
                     (int)p->partition, (long long)p->position, kp_status_name(st), bad.field);
            p->retry_at = now + f->cfg.retry_backoff_ms * 10;
        }
        return;
    }
    p->position = next;
    p->busy = fp->records.len > 0 || p->high_watermark < 0 || p->position < p->high_watermark;
    adapt_limit(f, p, fp->records.len, largest);
    p->bad_offset = -1;
    p->bad_attempts = 0;
    deliver_records(f, p, n, out);
    kp_arena_reset(&f->arena);
}

static void handle_partition(struct cons_fetcher *f, int32_t broker, uint64_t now,
                             const struct kp_fetch_topic *t, const struct kp_fetch_iter *pi,
                             const struct kp_fetch_partition *fp, struct cons_fetch_outcome *out)
{
    struct cons_part *p = cons_fetcher_find_view(f, &t->topic, fp->partition_index);
    if (!p || !p->fetching || p->fetch_broker != broker) {
        return; // not ours (any more)
    }
    p->fetching = false;
    if (p->stopped || p->pos_state != CONS_POS_READY || p->position != p->fetch_offset) {
        return; // revoked, reset or moved since the request went out
    }
    int16_t code = fp->error_code;
    if (code == 0) {
        p->high_watermark = fp->high_watermark;
        p->last_stable = fp->last_stable_offset;
        if (fp->log_start_offset >= 0) {
            p->log_start = fp->log_start_offset;
        }
        if (!p->paused) {
            handle_records(f, p, pi, fp, now, out);
        }
        return;
    }
    char nb[KP_ERROR_NAME_BUF];
    switch (kp_error_action_of(code)) {
    case KP_ACTION_RESET_OFFSET:
        snprintf(f->note, sizeof f->note,
                 "Fetch %s [%d] at offset %lld: %s; resetting by the starting position", p->topic,
                 (int)p->partition, (long long)p->fetch_offset,
                 kp_error_name_buf(code, nb, sizeof nb));
        cons_fetcher_reset_position(f, p);
        out->resets++;
        return;
    case KP_ACTION_REFRESH_METADATA:
    case KP_ACTION_FIND_COORDINATOR:
        snprintf(f->note, sizeof f->note, "Fetch %s [%d] from broker %d: %s; refreshing metadata",
                 p->topic, (int)p->partition, (int)broker, kp_error_name_buf(code, nb, sizeof nb));
        p->leader = -1; // wait for the refresh to name the leader
        out->refresh_metadata = true;
        return;
    case KP_ACTION_AUTHZ_FATAL:
        set_fatal(out, CONS_ERR_AUTHZ, p->topic, p->partition, code);
        return;
    case KP_ACTION_AUTHN_FATAL:
        set_fatal(out, CONS_ERR_AUTHN, p->topic, p->partition, code);
        return;
    case KP_ACTION_NONE:
    case KP_ACTION_RETRY:
    case KP_ACTION_REJOIN:
    case KP_ACTION_RESET_MEMBER_AND_REJOIN:
        p->retry_at = now + f->cfg.retry_backoff_ms;
        return;
    case KP_ACTION_FATAL:
        // Not recoverable for this partition by retrying soon; retry slowly and report.
        snprintf(f->note, sizeof f->note, "Fetch %s [%d]: %s; retrying in 1 s", p->topic,
                 (int)p->partition, kp_error_name_buf(code, nb, sizeof nb));
        p->retry_at = now + 1000;
        return;
    }
}

// shrink_recs halves the record array after a response that used less than a quarter of it, so
// a spike (one partition's 1 MiB of small records) does not stay; RECS_KEEP entries always stay.
#define RECS_KEEP 4096
static void shrink_recs(struct cons_fetcher *f)
{
    if (f->recs_cap > RECS_KEEP && f->recs_hwm < f->recs_cap / 4) {
        f->recs_cap /= 2;
        f->recs = xrealloc(f->recs, f->recs_cap * sizeof *f->recs);
    }
    f->recs_hwm = 0;
}

void cons_fetcher_on_response(struct cons_fetcher *f, int32_t broker, uint64_t now, int16_t version,
                              const kr *body, struct cons_fetch_outcome *out)
{
    memset(out, 0, sizeof *out);
    f->note[0] = 0;
    bool ok = body != NULL;
    bool back_off = !ok;
    struct kp_fetch_resp resp;
    if (ok) {
        kr b = *body;
        struct kp_err err = {0};
        enum kp_status st = kp_fetch_resp_parse(&b, version, &resp, &err);
        if (st != KP_OK) {
            snprintf(f->note, sizeof f->note, "Fetch v%d response: %s at byte %zu (%s)", version,
                     kp_status_name(st), err.offset, err.field ? err.field : "?");
            ok = false;
            back_off = true;
        } else if (resp.error_code != 0) {
            // A top-level error is about fetch sessions, which kesm does not open: note it,
            // still look at the partitions (some brokers and the librdkafka mock put the
            // partition errors there too), and fetch again after a back-off.
            char nb[KP_ERROR_NAME_BUF];
            snprintf(f->note, sizeof f->note, "Fetch v%d response: %s", version,
                     kp_error_name_buf(resp.error_code, nb, sizeof nb));
            back_off = true;
        }
    }
    if (ok) {
        struct kp_fetch_iter ti, pi;
        struct kp_fetch_topic t;
        struct kp_fetch_partition fp;
        kp_fetch_topics(&resp, &ti);
        while (kp_fetch_next_topic(&ti, &t)) {
            kp_fetch_partitions(&ti, &t, &pi);
            while (kp_fetch_next_partition(&pi, &fp)) {
                handle_partition(f, broker, now, &t, &pi, &fp, out);
            }
        }
    } else {
        out->refresh_metadata = true;
    }
    shrink_recs(f);
    // Whatever was not answered is fetched again after a back-off.
    for (size_t i = 0; i < f->num_parts; i++) {
        struct cons_part *p = &f->parts[i];
        if (p->fetching && p->fetch_broker == broker) {
            p->fetching = false;
            if (back_off) {
                p->retry_at = now + f->cfg.retry_backoff_ms;
            }
        }
    }
}

void cons_record_headers(const struct cons_record *r, struct cons_record_header_iter *out_it)
{
    out_it->left = r->header_bytes;
}

bool cons_record_next_header(struct cons_record_header_iter *it, struct cons_header *out)
{
    struct kp_header h;
    if (!kp_headers_next(&it->left, &h)) {
        return false;
    }
    *out = (struct cons_header){h.key.p, h.key.len, h.value.p, h.value.len, h.value_null};
    return true;
}
