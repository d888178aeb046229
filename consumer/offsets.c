// offsets.c: see offsets.h. No I/O, no clock, no logging.
#include "consumer/offsets.h"

#include "base/alloc.h"
#include "proto/errors.h"
#include "proto/list_offsets.h"
#include "proto/offset_commit.h"
#include "proto/offset_fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A selection of partitions grouped by topic: topic t owns idx[first[t] .. first[t]+count[t]).
struct by_topic {
    const char **names;
    size_t *first, *count;
    size_t num_topics;
    size_t *idx;
    size_t num_idx;
};

typedef bool (*part_pred)(const struct cons_part *p, int32_t arg);

static void by_topic_build(const struct cons_fetcher *f, part_pred pred, int32_t arg,
                           struct by_topic *out)
{
    size_t n = f->num_parts;
    memset(out, 0, sizeof *out);
    out->names = xcalloc(n + 1, sizeof *out->names);
    out->first = xcalloc(n + 1, sizeof *out->first);
    out->count = xcalloc(n + 1, sizeof *out->count);
    out->idx = xcalloc(n + 1, sizeof *out->idx);
    for (size_t i = 0; i < n; i++) {
        if (!pred(&f->parts[i], arg)) {
            continue;
        }
        size_t t = 0;
        while (t < out->num_topics && strcmp(out->names[t], f->parts[i].topic) != 0) {
            t++;
        }
        if (t == out->num_topics) {
            out->names[out->num_topics++] = f->parts[i].topic;
        }
    }
    for (size_t t = 0; t < out->num_topics; t++) {
        out->first[t] = out->num_idx;
        for (size_t i = 0; i < n; i++) {
            if (pred(&f->parts[i], arg) && !strcmp(f->parts[i].topic, out->names[t])) {
                out->idx[out->num_idx++] = i;
                out->count[t]++;
            }
        }
    }
}

static void by_topic_free(struct by_topic *b)
{
    free(b->names);
    free(b->first);
    free(b->count);
    free(b->idx);
}

static void set_fatal(struct cons_offsets_outcome *out, enum cons_error_class cls, const char *api,
                      const char *topic, int16_t code)
{
    if (out->fatal) {
        return;
    }
    char nb[KP_ERROR_NAME_BUF];
    out->fatal = true;
    out->err_class = cls;
    snprintf(out->msg, sizeof out->msg, "%s%s%s: %s", api, topic ? " " : "", topic ? topic : "",
             kp_error_name_buf(code, nb, sizeof nb));
}

// classify handles an error code shared by the three APIs; returns true if it was a group or
// coordinator problem (recorded in |out|).
static bool group_error(struct cons_offsets_outcome *out, const char *api, int16_t code)
{
    switch (kp_error_action_of(code)) {
    case KP_ACTION_FIND_COORDINATOR:
        out->coordinator_lost = true;
        return true;
    case KP_ACTION_REJOIN:
    case KP_ACTION_RESET_MEMBER_AND_REJOIN:
        out->rejoin_code = code;
        return true;
    case KP_ACTION_AUTHZ_FATAL:
        set_fatal(out, CONS_ERR_AUTHZ, api, NULL, code);
        return true;
    case KP_ACTION_NONE:
    case KP_ACTION_RETRY:
    case KP_ACTION_REFRESH_METADATA:
    case KP_ACTION_RESET_OFFSET:
    case KP_ACTION_AUTHN_FATAL:
    case KP_ACTION_FATAL:
        return false;
    }
    return false;
}

// ---- OffsetFetch ------------------------------------------------------------------------------

static bool is_asking(const struct cons_part *p, int32_t arg)
{
    (void)arg;
    return p->pos_state == CONS_POS_ASKING_COMMITTED;
}

size_t cons_offsets_fetch_begin(struct cons_fetcher *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->num_parts; i++) {
        if (f->parts[i].pos_state == CONS_POS_NEED_COMMITTED && !f->parts[i].stopped) {
            f->parts[i].pos_state = CONS_POS_ASKING_COMMITTED;
            n++;
        }
    }
    return n;
}

bool cons_offsets_fetch_write(const struct cons_fetcher *f, const char *group_id, int16_t version,
                              kw *w)
{
    struct by_topic b;
    by_topic_build(f, is_asking, 0, &b);
    struct kp_offset_fetch_req_topic *ts = xcalloc(b.num_topics + 1, sizeof *ts);
    int32_t *parts = xcalloc(b.num_idx + 1, sizeof *parts);
    for (size_t t = 0; t < b.num_topics; t++) {
        ts[t].name = b.names[t];
        ts[t].partition_indexes = &parts[b.first[t]];
        ts[t].num_partitions = b.count[t];
        for (size_t k = 0; k < b.count[t]; k++) {
            parts[b.first[t] + k] = f->parts[b.idx[b.first[t] + k]].partition;
        }
    }
    struct kp_offset_fetch_req_group g = {
        .group_id = group_id, .topics = ts, .num_topics = b.num_topics};
    struct kp_offset_fetch_req req = {.groups = &g, .num_groups = 1};
    bool ok = kp_offset_fetch_req_write(w, version, &req);
    free(ts);
    free(parts);
    by_topic_free(&b);
    return ok;
}

static void fetch_partition(struct cons_fetcher *f, const struct kp_offset_fetch_topic *t,
                            const struct kp_offset_fetch_partition *p,
                            struct cons_offsets_outcome *out)
{
    struct cons_part *cp = cons_fetcher_find_view(f, &t->name, p->partition_index);
    if (!cp || cp->pos_state != CONS_POS_ASKING_COMMITTED) {
        return;
    }
    if (p->error_code != 0) {
        if (!group_error(out, "OffsetFetch", p->error_code)) {
            if (kp_error_action_of(p->error_code) == KP_ACTION_AUTHZ_FATAL) {
                set_fatal(out, CONS_ERR_AUTHZ, "OffsetFetch", cp->topic, p->error_code);
            }
            out->retry_later = true;
        }
        cp->pos_state = CONS_POS_NEED_COMMITTED;
        return;
    }
    out->done++;
    if (p->committed_offset >= 0) {
        cp->position = p->committed_offset;
        cp->committed = p->committed_offset;
        cp->acked = p->committed_offset;
        cp->pos_state = CONS_POS_READY;
    } else {
        cp->pos_state = CONS_POS_NEED_RESET;
    }
}

void cons_offsets_fetch_on_response(struct cons_fetcher *f, int16_t version, const kr *body,
                                    struct cons_offsets_outcome *out)
{
    memset(out, 0, sizeof *out);
    struct kp_offset_fetch_resp resp;
    bool ok = body != NULL;
    if (ok) {
        kr b = *body;
        struct kp_err err = {0};
        ok = kp_offset_fetch_resp_parse(&b, version, &resp, &err) == KP_OK;
    }
    if (ok) {
        struct kp_offset_fetch_iter gi, ti, pi;
        struct kp_offset_fetch_group g;
        struct kp_offset_fetch_topic t;
        struct kp_offset_fetch_partition p;
        kp_offset_fetch_groups(&resp, &gi);
        while (kp_offset_fetch_next_group(&gi, &g)) {
            if (g.error_code != 0) {
                if (!group_error(out, "OffsetFetch", g.error_code)) {
                    out->retry_later = true;
                }
                continue;
            }
            kp_offset_fetch_topics(&gi, &g, &ti);
            while (kp_offset_fetch_next_topic(&ti, &t)) {
                kp_offset_fetch_partitions(&ti, &t, &pi);
                while (kp_offset_fetch_next_partition(&pi, &p)) {
                    fetch_partition(f, &t, &p, out);
                }
            }
        }
    } else {
        out->coordinator_lost = true;
    }
    for (size_t i = 0; i < f->num_parts; i++) {
        if (f->parts[i].pos_state == CONS_POS_ASKING_COMMITTED) {
            f->parts[i].pos_state = CONS_POS_NEED_COMMITTED; // unanswered: ask again
        }
    }
}

// ---- ListOffsets ------------------------------------------------------------------------------

static bool is_resetting(const struct cons_part *p, int32_t broker)
{
    return p->pos_state == CONS_POS_RESETTING && p->fetch_broker == broker;
}

size_t cons_offsets_list_begin(struct cons_fetcher *f, int32_t broker)
{
    size_t n = 0;
    for (size_t i = 0; i < f->num_parts; i++) {
        struct cons_part *p = &f->parts[i];
        if (p->pos_state == CONS_POS_NEED_RESET && p->leader == broker && !p->stopped) {
            p->pos_state = CONS_POS_RESETTING;
            p->fetch_broker = broker;
            n++;
        }
    }
    return n;
}

static int64_t reset_timestamp(const struct cons_fetcher *f, const struct cons_part *p)
{
    if (p->reset_to_end) {
        return KP_OFFSET_LATEST;
    }
    switch (f->cfg.start) {
    case CONS_START_LATEST:
        return KP_OFFSET_LATEST;
    case CONS_START_TRIM_HORIZON:
        return KP_OFFSET_EARLIEST;
    case CONS_START_AT_TIMESTAMP:
        return f->cfg.start_timestamp_ms >= 0 ? f->cfg.start_timestamp_ms : KP_OFFSET_LATEST;
    }
    return KP_OFFSET_LATEST;
}

bool cons_offsets_list_write(const struct cons_fetcher *f, int32_t broker, int16_t version, kw *w)
{
    struct by_topic b;
    by_topic_build(f, is_resetting, broker, &b);
    struct kp_list_offsets_req_topic *ts = xcalloc(b.num_topics + 1, sizeof *ts);
    struct kp_list_offsets_req_partition *ps = xcalloc(b.num_idx + 1, sizeof *ps);
    for (size_t t = 0; t < b.num_topics; t++) {
        ts[t].name = b.names[t];
        ts[t].partitions = &ps[b.first[t]];
        ts[t].num_partitions = b.count[t];
        for (size_t k = 0; k < b.count[t]; k++) {
            const struct cons_part *p = &f->parts[b.idx[b.first[t] + k]];
            ps[b.first[t] + k] =
                (struct kp_list_offsets_req_partition){.partition_index = p->partition,
                                                       .current_leader_epoch = p->leader_epoch,
                                                       .timestamp = reset_timestamp(f, p)};
        }
    }
    struct kp_list_offsets_req req = {
        .isolation_level = (int8_t)(version >= 2 && !f->cfg.read_uncommitted ? 1 : 0),
        .topics = ts,
        .num_topics = b.num_topics};
    bool ok = kp_list_offsets_req_write(w, version, &req);
    free(ts);
    free(ps);
    by_topic_free(&b);
    return ok;
}

static void list_partition(struct cons_fetcher *f, int32_t broker,
                           const struct kp_list_offsets_topic *t,
                           const struct kp_list_offsets_partition *p,
                           struct cons_offsets_outcome *out)
{
    struct cons_part *cp = cons_fetcher_find_view(f, &t->name, p->partition_index);
    if (!cp || !is_resetting(cp, broker)) {
        return;
    }
    cp->pos_state = CONS_POS_NEED_RESET;
    char nb[KP_ERROR_NAME_BUF];
    if (p->error_code != 0) {
        switch (kp_error_action_of(p->error_code)) {
        case KP_ACTION_REFRESH_METADATA:
            cp->leader = -1;
            out->refresh_metadata = true;
            return;
        case KP_ACTION_AUTHZ_FATAL:
            set_fatal(out, CONS_ERR_AUTHZ, "ListOffsets", cp->topic, p->error_code);
            return;
        case KP_ACTION_NONE:
        case KP_ACTION_RETRY:
        case KP_ACTION_FIND_COORDINATOR:
        case KP_ACTION_REJOIN:
        case KP_ACTION_RESET_MEMBER_AND_REJOIN:
        case KP_ACTION_RESET_OFFSET:
        case KP_ACTION_AUTHN_FATAL:
        case KP_ACTION_FATAL:
            snprintf(out->note, sizeof out->note, "ListOffsets %s [%d]: %s; retrying", cp->topic,
                     (int)cp->partition, kp_error_name_buf(p->error_code, nb, sizeof nb));
            out->retry_later = true;
            return;
        }
        return;
    }
    if (p->offset < 0) {
        // A timestamp lookup that matched no record: start at the end (Lambda's AT_TIMESTAMP
        // rule). A -1 for LATEST/EARLIEST would be a broker bug; the end is the safe answer too.
        snprintf(out->note, sizeof out->note,
                 "ListOffsets %s [%d]: no record at or after the starting timestamp; starting at "
                 "the end",
                 cp->topic, (int)cp->partition);
        cp->reset_to_end = true;
        return;
    }
    cp->position = p->offset;
    cp->pos_state = CONS_POS_READY;
    cp->reset_to_end = false;
    out->done++;
}

void cons_offsets_list_on_response(struct cons_fetcher *f, int32_t broker, int16_t version,
                                   const kr *body, struct cons_offsets_outcome *out)
{
    memset(out, 0, sizeof *out);
    struct kp_list_offsets_resp resp;
    bool ok = body != NULL;
    if (ok) {
        kr b = *body;
        struct kp_err err = {0};
        enum kp_status st = kp_list_offsets_resp_parse(&b, version, &resp, &err);
        if (st != KP_OK) {
            snprintf(out->note, sizeof out->note, "ListOffsets v%d response: %s (%s)", version,
                     kp_status_name(st), err.field ? err.field : "?");
            ok = false;
        }
    }
    if (ok) {
        struct kp_list_offsets_iter ti, pi;
        struct kp_list_offsets_topic t;
        struct kp_list_offsets_partition p;
        kp_list_offsets_topics(&resp, &ti);
        while (kp_list_offsets_next_topic(&ti, &t)) {
            kp_list_offsets_partitions(&ti, &t, &pi);
            while (kp_list_offsets_next_partition(&pi, &p)) {
                list_partition(f, broker, &t, &p, out);
            }
        }
    } else {
        out->refresh_metadata = true;
        out->retry_later = true;
    }
    for (size_t i = 0; i < f->num_parts; i++) {
        if (is_resetting(&f->parts[i], broker)) {
            f->parts[i].pos_state = CONS_POS_NEED_RESET;
        }
    }
}

// ---- OffsetCommit -----------------------------------------------------------------------------

static bool is_committing(const struct cons_part *p, int32_t arg)
{
    (void)arg;
    return p->commit_sent >= 0;
}

size_t cons_offsets_commit_begin(struct cons_fetcher *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->num_parts; i++) {
        struct cons_part *p = &f->parts[i];
        if (p->commit_sent < 0 && p->acked >= 0 && p->acked != p->committed) {
            p->commit_sent = p->acked;
            n++;
        }
    }
    return n;
}

bool cons_offsets_pending_commit(const struct cons_fetcher *f)
{
    for (size_t i = 0; i < f->num_parts; i++) {
        const struct cons_part *p = &f->parts[i];
        if (p->acked >= 0 && p->acked != p->committed) {
            return true;
        }
    }
    return false;
}

bool cons_offsets_commit_write(const struct cons_fetcher *f, const char *group_id,
                               int32_t generation, const char *member_id, const char *instance_id,
                               int16_t version, kw *w)
{
    struct by_topic b;
    by_topic_build(f, is_committing, 0, &b);
    struct kp_offset_commit_req_topic *ts = xcalloc(b.num_topics + 1, sizeof *ts);
    struct kp_offset_commit_req_partition *ps = xcalloc(b.num_idx + 1, sizeof *ps);
    for (size_t t = 0; t < b.num_topics; t++) {
        ts[t].name = b.names[t];
        ts[t].partitions = &ps[b.first[t]];
        ts[t].num_partitions = b.count[t];
        for (size_t k = 0; k < b.count[t]; k++) {
            const struct cons_part *p = &f->parts[b.idx[b.first[t] + k]];
            ps[b.first[t] + k] =
                (struct kp_offset_commit_req_partition){.partition_index = p->partition,
                                                        .committed_offset = p->commit_sent,
                                                        .committed_leader_epoch = -1,
                                                        .committed_metadata = ""};
        }
    }
    struct kp_offset_commit_req req = {.group_id = group_id,
                                       .generation_id = generation,
                                       .member_id = member_id,
                                       .group_instance_id = version >= 7 ? instance_id : NULL,
                                       .retention_time_ms = -1,
                                       .topics = ts,
                                       .num_topics = b.num_topics};
    bool ok = kp_offset_commit_req_write(w, version, &req);
    free(ts);
    free(ps);
    by_topic_free(&b);
    return ok;
}

static void commit_partition(struct cons_fetcher *f, const struct kp_offset_commit_topic *t,
                             const struct kp_offset_commit_partition *p,
                             struct cons_offsets_outcome *out)
{
    struct cons_part *cp = cons_fetcher_find_view(f, &t->name, p->partition_index);
    if (!cp || cp->commit_sent < 0) {
        return;
    }
    if (p->error_code == 0) {
        cp->committed = cp->commit_sent;
        cp->commit_sent = -1;
        out->done++;
        return;
    }
    char nb[KP_ERROR_NAME_BUF];
    cp->commit_sent = -1;
    out->failed++;
    if (!group_error(out, "OffsetCommit", p->error_code)) {
        if (kp_error_action_of(p->error_code) == KP_ACTION_AUTHZ_FATAL) {
            set_fatal(out, CONS_ERR_AUTHZ, "OffsetCommit", cp->topic, p->error_code);
        }
        out->retry_later = true;
    }
    snprintf(out->note, sizeof out->note, "OffsetCommit %s [%d] offset %lld: %s", cp->topic,
             (int)cp->partition, (long long)cp->acked,
             kp_error_name_buf(p->error_code, nb, sizeof nb));
}

void cons_offsets_commit_on_response(struct cons_fetcher *f, int16_t version, const kr *body,
                                     struct cons_offsets_outcome *out)
{
    memset(out, 0, sizeof *out);
    struct kp_offset_commit_resp resp;
    bool ok = body != NULL;
    if (ok) {
        kr b = *body;
        struct kp_err err = {0};
        ok = kp_offset_commit_resp_parse(&b, version, &resp, &err) == KP_OK;
    }
    if (ok) {
        struct kp_offset_commit_iter ti, pi;
        struct kp_offset_commit_topic t;
        struct kp_offset_commit_partition p;
        kp_offset_commit_topics(&resp, &ti);
        while (kp_offset_commit_next_topic(&ti, &t)) {
            kp_offset_commit_partitions(&ti, &t, &pi);
            while (kp_offset_commit_next_partition(&pi, &p)) {
                commit_partition(f, &t, &p, out);
            }
        }
    } else {
        out->coordinator_lost = true;
    }
    for (size_t i = 0; i < f->num_parts; i++) {
        f->parts[i].commit_sent = -1; // unanswered: commit again later
    }
}
