// status.c: the status tracker: samples, stuck detection, recent errors (see status.h); the JSON
// is built in esm/status_json.c.
#include "esm/status.h"

#include "base/alloc.h"
#include "base/log.h"
#include "esm/status_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t st_mono(const struct esm_status *st)
{
    return st->cfg.mono_ms ? st->cfg.mono_ms(st->cfg.clock_ctx) : clock_ms(CLOCK_MONOTONIC);
}

int64_t st_wall(const struct esm_status *st)
{
    return st->cfg.wall_ms ? st->cfg.wall_ms(st->cfg.clock_ctx) : clock_ms(CLOCK_REALTIME);
}

// ---- trackers ---------------------------------------------------------------------------------

static void part_free(struct trk_part *p)
{
    free(p->topic);
}

static void map_free(struct trk_map *m)
{
    for (size_t i = 0; i < m->num_parts; i++) {
        part_free(&m->parts[i]);
    }
    free(m->parts);
    free(m);
}

struct trk_map *st_find_map(const struct esm_status *st, const char *uuid)
{
    for (struct trk_map *m = st->maps; m; m = m->next) {
        if (!strcmp(m->uuid, uuid)) {
            return m;
        }
    }
    return NULL;
}

const struct trk_part *st_find_part(const struct trk_map *m, const char *topic, int32_t partition)
{
    for (size_t i = 0; m && i < m->num_parts; i++) {
        if (m->parts[i].partition == partition && !strcmp(m->parts[i].topic, topic)) {
            return &m->parts[i];
        }
    }
    return NULL;
}

static struct trk_map *map_get(struct esm_status *st, const char *uuid, int64_t now)
{
    struct trk_map *m = st_find_map(st, uuid);
    if (m) {
        return m;
    }
    m = xcalloc(1, sizeof *m);
    snprintf(m->uuid, sizeof m->uuid, "%s", uuid);
    char tag[KESM_LOG_TAG_MAX + 1];
    snprintf(tag, sizeof tag, "mapping=%.40s", uuid);
    kesm_log_component(m->log, sizeof m->log, "esm", tag);
    m->sample_start = now;
    m->next = st->maps;
    st->maps = m;
    return m;
}

static struct trk_part *part_get(struct trk_map *m, const struct esm_metrics_part *mp, int64_t now,
                                 const struct st_counters *c)
{
    for (size_t i = 0; i < m->num_parts; i++) {
        if (m->parts[i].partition == mp->partition && !strcmp(m->parts[i].topic, mp->topic)) {
            return &m->parts[i];
        }
    }
    if (m->num_parts == m->cap_parts) {
        m->cap_parts = m->cap_parts ? 2 * m->cap_parts : 8;
        m->parts = xrealloc(m->parts, m->cap_parts * sizeof *m->parts);
    }
    struct trk_part *p = &m->parts[m->num_parts++];
    memset(p, 0, sizeof *p);
    p->topic = xstrdup(mp->topic);
    p->partition = mp->partition;
    p->processed = mp->processed;
    p->since = now;
    p->base = *c;
    return p;
}

// ---- samples ----------------------------------------------------------------------------------

// hist_delta: the histogram of the observations between |base| and |cur| (a restarted mapping
// has counters below the base: then everything in |cur| is new).
static struct esm_hist hist_delta(const struct esm_hist *cur, const struct esm_hist *base)
{
    struct esm_hist d = *cur;
    if (cur->count < base->count) {
        return d;
    }
    for (size_t i = 0; i <= ESM_HIST_MAX_BOUNDS; i++) {
        d.buckets[i] = cur->buckets[i] >= base->buckets[i] ? cur->buckets[i] - base->buckets[i] : 0;
    }
    d.count = cur->count - base->count;
    d.sum = cur->sum - base->sum;
    return d;
}

void st_sample_compute(struct st_sample *out, const struct trk_map *m, uint64_t records,
                       const struct esm_hist *hist, int64_t now)
{
    double secs = (double)(now - m->sample_start) / 1000.0;
    uint64_t dr = records >= m->base_records ? records - m->base_records : records;
    out->rate = secs > 0 ? (double)dr / secs : 0;
    struct esm_hist d = hist_delta(hist, &m->base_hist);
    out->has_latency = d.count > 0;
    out->mean_ms = d.count ? d.sum / (double)d.count * 1000.0 : 0;
    out->p95_ms = 0;
    uint64_t want = d.count - d.count / 20, cum = 0; // ceil(0.95 * count) for count >= 1
    const struct esm_hist_bounds *b = &esm_invoke_seconds_bounds;
    for (size_t i = 0; d.count && i <= b->n; i++) {
        cum += d.buckets[i];
        if (cum >= want) {
            // the bucket's upper bound; past the last one, the last bound
            out->p95_ms = (i < b->n ? b->le[i] : b->le[b->n - 1]) * 1000.0;
            break;
        }
    }
}

static void sample(struct trk_map *m, const struct esm_metrics_mapping *mm, int64_t now)
{
    if (now - m->sample_start < ESM_STATUS_SAMPLE_MS) {
        return;
    }
    struct st_sample s;
    st_sample_compute(&s, m, mm->running ? mm->records_ok : 0, &mm->invoke_seconds, now);
    size_t at = (m->ring_head + m->ring_n) % ESM_STATUS_SAMPLES;
    m->ring[at] = s;
    if (m->ring_n < ESM_STATUS_SAMPLES) {
        m->ring_n++;
    } else {
        m->ring_head = (m->ring_head + 1) % ESM_STATUS_SAMPLES;
    }
    m->sample_start = now;
    m->base_records = mm->running ? mm->records_ok : 0;
    m->base_hist = mm->invoke_seconds;
}

// ---- stuck detection --------------------------------------------------------------------------

static void counters_of(struct st_counters *c, const struct esm_metrics_mapping *mm)
{
    c->fn_errors =
        mm->invocations[ESM_OUTCOME_FUNCTION_ERROR] + mm->invocations[ESM_OUTCOME_PARTIAL];
    c->unreachable = mm->invocations[ESM_OUTCOME_RETRYABLE];
    c->dest_errors = mm->dest_errors;
    c->conn_errors = mm->conn_errors;
}

static bool counters_below(const struct st_counters *c, const struct st_counters *base)
{
    return c->fn_errors < base->fn_errors || c->unreachable < base->unreachable ||
           c->dest_errors < base->dest_errors || c->conn_errors < base->conn_errors;
}

static const char *cause_of(const struct trk_part *p, const struct st_counters *c,
                            const struct esm_metrics_mapping *mm, const struct esm_metrics_part *mp)
{
    if (c->dest_errors > p->base.dest_errors) {
        return "destination down";
    }
    if (c->fn_errors > p->base.fn_errors) {
        return "function failing";
    }
    if (c->unreachable > p->base.unreachable) {
        return "function unreachable";
    }
    if (c->conn_errors > p->base.conn_errors || mm->connections[ESM_CONN_READY] == 0 ||
        mm->connections[ESM_CONN_BACKOFF] > 0) {
        return "broker unreachable";
    }
    if (mp->paused) {
        return "paused by backpressure";
    }
    if (mp->inflight > 0) {
        return "waiting for the function";
    }
    return "no progress";
}

// track_part updates one partition; returns it.
static struct trk_part *track_part(struct esm_status *st, struct trk_map *m,
                                   const struct esm_metrics_mapping *mm,
                                   const struct esm_metrics_part *mp, const struct st_counters *c,
                                   int64_t now)
{
    struct trk_part *p = part_get(m, mp, now, c);
    p->seen = true;
    bool moved = mp->processed != p->processed;
    p->processed = mp->processed;
    if (moved || mp->lag <= 0 || mp->processed < 0 || counters_below(c, &p->base)) {
        p->since = now;
        p->base = *c;
        if (p->stuck) {
            kesm_log(KESM_LOG_INFO, m->log,
                     "partition %s-%" PRId32 " moves again (offset %" PRId64 ")", p->topic,
                     p->partition, mp->processed);
        }
        p->stuck = false;
        p->cause = NULL;
        return p;
    }
    if (now - p->since < (int64_t)st->cfg.stuck_after_s * 1000) {
        return p;
    }
    const char *cause = cause_of(p, c, mm, mp);
    if (!p->stuck || p->cause != cause) {
        kesm_log(KESM_LOG_WARN, m->log,
                 "partition %s-%" PRId32 " stuck at offset %" PRId64 ": no progress for %" PRIu32
                 " s or more with records waiting (%s)",
                 p->topic, p->partition, p->processed, st->cfg.stuck_after_s, cause);
    }
    p->stuck = true;
    p->cause = cause;
    return p;
}

// set_problem sets or clears the mapping's stuck problem (esm_manager_set_stuck).
static void set_problem(struct esm_status *st, struct trk_map *m, const struct trk_part *first,
                        size_t num_stuck)
{
    if (!first) {
        if (m->problem_set) {
            esm_manager_set_stuck(st->mgr, m->uuid, NULL);
            m->problem_set = false;
        }
        return;
    }
    char more[48] = "";
    if (num_stuck > 1) {
        snprintf(more, sizeof more, " (and %zu more)", num_stuck - 1);
    }
    char text[600];
    snprintf(text, sizeof text,
             "PROBLEM: Stuck partition %.249s-%" PRId32 " at offset %" PRId64 "%s: no progress "
             "for %" PRIu32 " s or more with records waiting (%s)",
             first->topic, first->partition, first->processed, more, st->cfg.stuck_after_s,
             first->cause);
    m->problem_set = esm_manager_set_stuck(st->mgr, m->uuid, text) == 0;
}

static void track_map(struct esm_status *st, struct trk_map *m,
                      const struct esm_metrics_mapping *mm, int64_t now)
{
    m->seen = true;
    sample(m, mm, now);
    for (size_t i = 0; i < m->num_parts; i++) {
        m->parts[i].seen = false;
    }
    struct st_counters c;
    counters_of(&c, mm);
    size_t num_stuck = 0;
    for (size_t i = 0; mm->running && i < mm->num_parts; i++) {
        num_stuck += track_part(st, m, mm, &mm->parts[i], &c, now)->stuck ? 1 : 0;
    }
    // Partitions no longer assigned (or of a mapping that stopped) are forgotten.
    size_t k = 0;
    const struct trk_part *first = NULL;
    for (size_t i = 0; i < m->num_parts; i++) {
        if (m->parts[i].seen) {
            m->parts[k++] = m->parts[i];
        } else {
            part_free(&m->parts[i]);
        }
    }
    m->num_parts = k;
    for (size_t i = 0; num_stuck && i < m->num_parts && !first; i++) {
        first = m->parts[i].stuck ? &m->parts[i] : NULL;
    }
    set_problem(st, m, first, num_stuck);
}

void esm_status_tick(struct esm_status *st)
{
    struct esm_metrics_mapping *maps = NULL;
    size_t n = 0;
    if (esm_manager_metrics(st->mgr, &maps, &n) != 0) {
        return;
    }
    int64_t now = st_mono(st);
    for (struct trk_map *m = st->maps; m; m = m->next) {
        m->seen = false;
    }
    for (size_t i = 0; i < n; i++) {
        track_map(st, map_get(st, maps[i].uuid, now), &maps[i], now);
    }
    for (struct trk_map **pp = &st->maps; *pp;) {
        struct trk_map *m = *pp;
        if (!m->seen) {
            *pp = m->next;
            map_free(m);
        } else {
            pp = &m->next;
        }
    }
    for (size_t i = 0; i < n; i++) {
        esm_metrics_mapping_cleanup(&maps[i]);
    }
    free(maps);
}

// annotate is the manager's metrics hook: it marks the partitions found stuck.
static void annotate(void *ctx, struct esm_metrics_mapping *maps, size_t n)
{
    const struct esm_status *st = ctx;
    for (size_t i = 0; i < n; i++) {
        const struct trk_map *m = st_find_map(st, maps[i].uuid);
        for (size_t k = 0; m && k < maps[i].num_parts; k++) {
            const struct trk_part *p =
                st_find_part(m, maps[i].parts[k].topic, maps[i].parts[k].partition);
            maps[i].parts[k].stuck = p && p->stuck;
        }
    }
}

// ---- recent errors ----------------------------------------------------------------------------

// parse_log_time reads "YYYY-MM-DDTHH:MM:SS.mmmZ" into epoch ms; -1 if it is not one.
static int64_t parse_log_time(const char *s)
{
    int y, mo, d, h, mi, sec, ms;
    char z;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &sec, &ms, &z) != 8 ||
        z != 'Z') {
        return -1;
    }
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? -1 : (int64_t)t * 1000 + ms;
}

// take_mapping removes " mapping=<UUID>" from |text| and copies the UUID into |uuid|.
static void take_mapping(char *text, char *uuid, size_t cap)
{
    uuid[0] = '\0';
    char *m = strstr(text, " mapping=");
    if (!m) {
        return;
    }
    size_t n = strspn(m + 9, "0123456789abcdefABCDEF-");
    if (n == 0 || n >= cap) {
        return;
    }
    memcpy(uuid, m + 9, n);
    uuid[n] = '\0';
    memmove(m, m + 9 + n, strlen(m + 9 + n) + 1);
}

void esm_status_note_log_line(struct esm_status *st, const char *line)
{
    const char *sp1 = strchr(line, ' ');
    const char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp2) {
        return;
    }
    char level[8];
    size_t ll = (size_t)(sp2 - sp1 - 1);
    if (ll >= sizeof level) {
        return;
    }
    memcpy(level, sp1 + 1, ll);
    level[ll] = '\0';
    if (strcmp(level, "WARN") != 0 && strcmp(level, "ERROR") != 0) {
        return;
    }
    struct st_error e = {0};
    e.time_ms = parse_log_time(line);
    if (e.time_ms < 0) {
        e.time_ms = st_wall(st);
    }
    snprintf(e.level, sizeof e.level, "%s", level);
    char text[ESM_STATUS_ERROR_LEN * 2];
    snprintf(text, sizeof text, "%s", sp2 + 1);
    take_mapping(text, e.mapping, sizeof e.mapping);
    esm_status_sanitize(e.message, sizeof e.message, text);
    e.count = 1;
    if (st->num_errors > 0) {
        struct st_error *last =
            &st->errors[(st->err_head + st->num_errors - 1) % ESM_STATUS_ERRORS];
        if (!strcmp(last->message, e.message) && !strcmp(last->mapping, e.mapping) &&
            !strcmp(last->level, e.level)) {
            last->count++;
            last->time_ms = e.time_ms;
            return;
        }
    }
    size_t at = (st->err_head + st->num_errors) % ESM_STATUS_ERRORS;
    st->errors[at] = e;
    if (st->num_errors < ESM_STATUS_ERRORS) {
        st->num_errors++;
    } else {
        st->err_head = (st->err_head + 1) % ESM_STATUS_ERRORS;
    }
}

// ---- lifetime ---------------------------------------------------------------------------------

struct esm_status *esm_status_new(struct esm_manager *mgr, const struct esm_status_config *cfg)
{
    struct esm_status *st = calloc(1, sizeof *st);
    if (!st) {
        return NULL;
    }
    st->mgr = mgr;
    pthread_mutex_init(&st->err_lock, NULL);
    if (cfg) {
        st->cfg = *cfg;
    }
    if (st->cfg.stuck_after_s == 0) {
        st->cfg.stuck_after_s = ESM_STATUS_STUCK_DEFAULT_S;
    }
    if (st->cfg.stuck_after_s > ESM_STATUS_STUCK_MAX_S) {
        st->cfg.stuck_after_s = ESM_STATUS_STUCK_MAX_S;
    }
    if (!st->cfg.version) {
        st->cfg.version = "0.0.0";
    }
    esm_manager_set_metrics_hook(mgr, annotate, st);
    return st;
}

void esm_status_free(struct esm_status *st)
{
    if (!st) {
        return;
    }
    esm_manager_set_metrics_hook(st->mgr, NULL, NULL);
    while (st->maps) {
        struct trk_map *m = st->maps;
        st->maps = m->next;
        if (m->problem_set) {
            esm_manager_set_stuck(st->mgr, m->uuid, NULL);
        }
        map_free(m);
    }
    pthread_mutex_destroy(&st->err_lock);
    free(st);
}

uint32_t esm_status_stuck_after(const struct esm_status *st)
{
    return st->cfg.stuck_after_s;
}
