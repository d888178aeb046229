// fleet_status.c: the status topic at run time (see fleet_status.h): this node's publisher, the
// readers that follow the topic, and the table of the latest record per (node, mapping).
#include "esm/fleet_status.h"

#include "base/log.h"
#include "consumer/admin.h"
#include "consumer/producer.h"
#include "consumer/reader.h"
#include "esm/fleet_int.h"
#include "esm/fleet_status_int.h"
#include "esm/json_guard.h"
#include "esm/mapping.h"
#include "esm/metrics.h"
#include "net/reactor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define TICK_MS 1000u   // how often this node checks what it runs for a change
#define MAX_READERS 64u // partitions of the status topic read

double fleet_now_epoch(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)(tv.tv_usec / 1000) / 1000.0;
}

// ---- the table -------------------------------------------------------------------------------

static struct fst_entry *table_find(struct fleet_status *s, const char *node, const char *uuid)
{
    for (size_t i = 0; i < s->num_entries; i++) {
        if (!strcmp(s->entries[i].rec.node, node) && !strcmp(s->entries[i].rec.uuid, uuid)) {
            return &s->entries[i];
        }
    }
    return NULL;
}

static void table_remove(struct fleet_status *s, struct fst_entry *e)
{
    fleet_status_rec_cleanup(&e->rec);
    s->table_bytes -= e->bytes;
    *e = s->entries[--s->num_entries];
}

static bool table_full(const struct fleet_status *s, const struct fst_entry *e, size_t bytes)
{
    size_t total = s->table_bytes - (e ? e->bytes : 0) + bytes;
    return (!e && s->num_entries == FLEET_STATUS_MAX_ENTRIES) ||
           total > FLEET_STATUS_MAX_TABLE_BYTES;
}

// table_put takes |rec| (a value of |bytes|) over on success; false when the table is full of
// live entries.
static bool table_put(struct fleet_status *s, struct fleet_status_rec *rec, size_t bytes)
{
    struct fst_entry *e = table_find(s, rec->node, rec->uuid);
    if (table_full(s, e, bytes)) {
        double now = fleet_now_epoch();
        for (size_t i = 0; i < s->num_entries; i++) { // make room: drop the stale ones
            struct fst_entry *x = &s->entries[i];
            if (x != e && fleet_status_stale(x->rec.time, x->rec.refresh_ms, now)) {
                table_remove(s, x);
                i--;
            }
        }
        e = table_find(s, rec->node, rec->uuid); // entries moved
    }
    if (table_full(s, e, bytes)) {
        return false;
    }
    if (!e) {
        if (s->num_entries == s->cap_entries) {
            size_t cap = s->cap_entries ? s->cap_entries * 2 : 16;
            struct fst_entry *n = realloc(s->entries, cap * sizeof *n);
            if (!n) {
                return false;
            }
            s->entries = n;
            s->cap_entries = cap;
        }
        e = &s->entries[s->num_entries++];
        fleet_status_rec_init(&e->rec);
        e->bytes = 0;
    }
    fleet_status_rec_cleanup(&e->rec);
    s->table_bytes = s->table_bytes - e->bytes + bytes;
    e->bytes = bytes;
    e->rec = *rec;
    fleet_status_rec_init(rec);
    return true;
}

// ---- reading the topic ------------------------------------------------------------------------

static struct fst_pub *pub_find(struct fleet_status *s, const char *uuid);

// check_own warns (once) when a record under this node's id carries a Time this process did not
// write after its last one: two nodes share the id and overwrite each other's records.
static void check_own(struct fleet_status *s, const struct fleet_status_rec *r)
{
    const struct fst_pub *p = strcmp(r->node, s->node) ? NULL : pub_find(s, r->uuid);
    if (!p || s->dup_warned || !p->sent_ms || r->time <= p->sent_time) {
        return;
    }
    s->dup_warned = true;
    kesm_log(KESM_LOG_WARN, "fleet",
             "status topic %s: another node publishes as node id %s (mapping %s); give every node "
             "its own --cluster-node-id",
             s->topic, s->node, r->uuid);
}

void fleet_status_apply(struct fleet_status *s, int32_t partition, const struct cons_record *rec)
{
    char node[FLEET_NODE_ID_MAX + 1], uuid[37], why[400], shown[200];
    if (!fleet_status_key_parse(rec->key, rec->key_null ? 0 : rec->key_len, node, uuid)) {
        s->skipped++;
        esm_utf8_sanitize(shown, sizeof shown, rec->key_null ? "(null)" : (const char *)rec->key,
                          rec->key_null ? 6 : rec->key_len);
        kesm_log(KESM_LOG_WARN, "fleet",
                 "status topic %s partition %d offset %lld: key '%s' is not NODE/UUID; skipped",
                 s->topic, (int)partition, (long long)rec->offset, shown);
        return;
    }
    if (rec->value_null) {
        struct fst_entry *e = table_find(s, node, uuid);
        if (e) {
            table_remove(s, e);
        }
        return;
    }
    struct fleet_status_rec r;
    if (!fleet_status_parse(node, uuid, rec->value, rec->value_len, &r, why, sizeof why)) {
        s->skipped++;
        kesm_log(KESM_LOG_WARN, "fleet",
                 "status topic %s partition %d offset %lld (key %s/%s): %s; skipped", s->topic,
                 (int)partition, (long long)rec->offset, node, uuid, why);
        fleet_status_rec_cleanup(&r);
        return;
    }
    check_own(s, &r);
    if (!table_put(s, &r, rec->value_len)) {
        s->skipped++;
        kesm_log(KESM_LOG_WARN, "fleet",
                 "status topic %s offset %lld (key %s/%s): the table is full of live entries "
                 "(at most %d entries, %u bytes); skipped",
                 s->topic, (long long)rec->offset, node, uuid, FLEET_STATUS_MAX_ENTRIES,
                 FLEET_STATUS_MAX_TABLE_BYTES);
    }
    fleet_status_rec_cleanup(&r);
}

static void on_records(void *ctx, const struct cons_record_batch *batch)
{
    struct fleet_status *s = ctx;
    for (size_t i = 0; i < batch->num_records; i++) {
        fleet_status_apply(s, batch->partition, &batch->records[i]);
    }
}

static void on_progress(void *ctx, int64_t position, int64_t high_watermark)
{
    struct fleet_status *s = ctx;
    (void)position;
    (void)high_watermark;
    s->problem[0] = '\0';
}

static void on_problem(void *ctx, bool fatal, const char *msg)
{
    struct fleet_status *s = ctx;
    snprintf(s->problem, sizeof s->problem, "%s", msg);
    kesm_log(fatal ? KESM_LOG_ERROR : KESM_LOG_WARN, "fleet", "status topic %s: %s", s->topic, msg);
}

static struct cons_reader *start_reader(struct fleet_status *s, int32_t partition)
{
    struct cons_reader_config rc = {.bootstrap = s->cfg.bootstrap,
                                    .topic = s->topic,
                                    .partition = partition,
                                    .tls = s->cfg.tls,
                                    .auth = s->cfg.auth,
                                    .log_tag = "fleet"};
    struct cons_reader_callbacks cb = {on_records, on_progress, on_problem, s};
    char err[300];
    struct cons_reader *rd = cons_reader_new(s->cfg.r, &rc, &cb, err, sizeof err);
    if (!rd) {
        kesm_log(KESM_LOG_ERROR, "fleet", "status topic %s partition %d: %s", s->topic,
                 (int)partition, err);
    }
    return rd;
}

static void on_created(void *ctx, int error_code, const char *msg)
{
    struct fleet_status *s = ctx;
    s->admin_done = true;
    if (error_code == 0 || error_code == 36) {
        kesm_log(KESM_LOG_INFO, "fleet", "%s", msg);
    } else {
        snprintf(s->problem, sizeof s->problem,
                 "the status topic %s does not exist and could not be created (%.600s); create it "
                 "with cleanup.policy=compact",
                 s->topic, msg);
        kesm_log(KESM_LOG_ERROR, "fleet", "%s", s->problem);
    }
}

// follow_topic creates the topic when missing and starts a reader per partition beyond the first.
static void follow_topic(struct fleet_status *s)
{
    if (s->admin_done && s->admin) {
        cons_admin_free(s->admin);
        s->admin = NULL;
    }
    int32_t parts = s->readers[0] ? cons_reader_partitions(s->readers[0]) : -1;
    if (parts == 0 && !s->create_tried) {
        s->create_tried = true;
        s->admin = fleet_create_topic(s->cfg.r, s->cfg.bootstrap, s->cfg.tls, s->cfg.auth, "status",
                                      s->topic, on_created, s);
    }
    for (int32_t p = (int32_t)s->num_readers; parts > 0 && p < parts && p < (int32_t)MAX_READERS;
         p++) {
        s->readers[p] = start_reader(s, p);
        if (!s->readers[p]) {
            break;
        }
        s->num_readers = (size_t)p + 1;
    }
}

// ---- publishing -------------------------------------------------------------------------------

static void on_sent(void *arg, bool ok, const char *why)
{
    struct fleet_status *s = arg;
    s->inflight--;
    if (!ok && !s->send_failing) {
        kesm_log(KESM_LOG_WARN, "fleet", "status topic %s: a status record was not written: %s",
                 s->topic, why);
    }
    s->send_failing = !ok;
    if (!ok) {
        for (size_t i = 0; i < s->num_pubs; i++) {
            s->pubs[i].sent_ms = 0; // publish everything again at the next tick
        }
    }
}

// send_record writes the record of |node|/|uuid| (|value| NULL: a tombstone).
static void send_record(struct fleet_status *s, const char *node, const char *uuid,
                        const char *value, size_t len)
{
    char key[FLEET_NODE_ID_MAX + 38];
    int klen = snprintf(key, sizeof key, "%s/%s", node, uuid);
    struct prod_msg m = {.key = (const uint8_t *)key,
                         .key_len = (size_t)klen,
                         .value = value,
                         .value_len = len,
                         .value_null = value == NULL};
    s->inflight++;
    prod_send(s->cfg.prod, s->topic, &m, 1, on_sent, s);
}

static void send_value(struct fleet_status *s, const char *uuid, const char *value, size_t len)
{
    send_record(s, s->node, uuid, value, len);
}

bool fleet_status_publishes(const struct esm_metrics_mapping *m)
{
    if (!strcmp(m->state, "Deleting")) {
        return false;
    }
    return strcmp(m->state, "Disabled") != 0 || (m->reason && strcmp(m->reason, "USER_INITIATED"));
}

int fleet_status_from_local(const struct fleet_status *s, const struct esm_metrics_mapping *m,
                            struct fleet_status_rec *out)
{
    fleet_status_rec_init(out);
    snprintf(out->node, sizeof out->node, "%s", s->node);
    snprintf(out->uuid, sizeof out->uuid, "%s", m->uuid);
    snprintf(out->state, sizeof out->state, "%s", m->state);
    snprintf(out->reason, sizeof out->reason, "%s", m->reason ? m->reason : "USER_INITIATED");
    const char *res = m->last_result ? m->last_result : "";
    esm_utf8_sanitize(out->result, sizeof out->result, res, strlen(res));
    out->time = fleet_now_epoch();
    out->refresh_ms = s->cfg.refresh_ms;
    out->num_assigned = (uint32_t)m->num_parts;
    size_t n = m->num_parts < FLEET_STATUS_MAX_PARTS ? m->num_parts : FLEET_STATUS_MAX_PARTS;
    out->parts = n ? calloc(n, sizeof *out->parts) : NULL;
    if (n && !out->parts) {
        return -1;
    }
    for (size_t i = 0; i < m->num_parts; i++) {
        if (i < n) {
            out->parts[i].topic = strdup(m->parts[i].topic ? m->parts[i].topic : "");
            out->num_parts = i + 1;
            if (!out->parts[i].topic) {
                return -1;
            }
            out->parts[i].partition = m->parts[i].partition;
            out->parts[i].lag = m->parts[i].lag < 0 ? -1 : m->parts[i].lag;
        }
        if (m->parts[i].lag >= 0) {
            out->lag = (out->lag < 0 ? 0 : out->lag) + m->parts[i].lag;
        }
    }
    return 0;
}

// signature: what makes a record worth publishing before the period (not the lag or time).
static uint64_t signature(const struct fleet_status_rec *r)
{
    uint64_t h = 1469598103934665603ull;
    const char *fields[3] = {r->state, r->reason, r->result};
    for (size_t f = 0; f < 3; f++) {
        for (const char *p = fields[f]; *p; p++) {
            h = (h ^ (uint8_t)*p) * 1099511628211ull;
        }
        h = (h ^ 0xff) * 1099511628211ull;
    }
    for (size_t i = 0; i < r->num_parts; i++) {
        for (const char *p = r->parts[i].topic; *p; p++) {
            h = (h ^ (uint8_t)*p) * 1099511628211ull;
        }
        h = (h ^ (uint32_t)r->parts[i].partition) * 1099511628211ull;
    }
    return (h ^ r->num_assigned) * 1099511628211ull;
}

static struct fst_pub *pub_find(struct fleet_status *s, const char *uuid)
{
    for (size_t i = 0; i < s->num_pubs; i++) {
        if (!strcmp(s->pubs[i].uuid, uuid)) {
            return &s->pubs[i];
        }
    }
    return NULL;
}

static void publish_one(struct fleet_status *s, const struct esm_metrics_mapping *m, uint64_t now)
{
    struct fleet_status_rec r;
    if (fleet_status_from_local(s, m, &r) != 0) {
        fleet_status_rec_cleanup(&r);
        return;
    }
    uint64_t sig = signature(&r);
    struct fst_pub *p = pub_find(s, m->uuid);
    if (!p && s->num_pubs < FLEET_STATUS_MAX_ENTRIES) {
        struct fst_pub *n = realloc(s->pubs, (s->num_pubs + 1) * sizeof *n);
        if (n) {
            s->pubs = n;
            p = &s->pubs[s->num_pubs++];
            memset(p, 0, sizeof *p);
            snprintf(p->uuid, sizeof p->uuid, "%s", m->uuid);
        }
    }
    if (p && (p->sig != sig || !p->sent_ms || now - p->sent_ms >= s->cfg.refresh_ms)) {
        size_t len = 0;
        char *text = fleet_status_encode(&r, &len);
        if (text) {
            send_value(s, m->uuid, text, len);
            p->sig = sig;
            p->sent_ms = now;
            p->sent_time = r.time;
        }
        free(text);
    }
    if (p) {
        p->seen = true;
    }
    fleet_status_rec_cleanup(&r);
}

static bool known(const struct esm_metrics_mapping *maps, size_t n, const char *uuid)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(maps[i].uuid, uuid)) {
            return true;
        }
    }
    return false;
}

// forget removes entries no one will refresh: this node id's former life (mappings it no longer
// runs), and other nodes' stale entries of mappings the fleet no longer has or not refreshed for
// FLEET_STATUS_FORGET_S. Any node may write those tombstones: the same one twice is harmless, and
// a live node writes its record again within its period.
static void forget(struct fleet_status *s, const struct esm_metrics_mapping *maps, size_t n)
{
    double now = fleet_now_epoch();
    for (size_t i = 0; i < s->num_entries; i++) {
        const struct fleet_status_rec *r = &s->entries[i].rec;
        bool mine = !strcmp(r->node, s->node);
        bool gone = mine ? !pub_find(s, r->uuid)
                         : fleet_status_stale(r->time, r->refresh_ms, now) &&
                               (!known(maps, n, r->uuid) || now - r->time > FLEET_STATUS_FORGET_S);
        if (gone) {
            send_record(s, r->node, r->uuid, NULL, 0);
            table_remove(s, &s->entries[i--]);
        }
    }
}

static void publish(struct fleet_status *s)
{
    struct esm_metrics_mapping *maps = NULL;
    size_t n = 0;
    if (esm_manager_metrics(s->cfg.mgr, &maps, &n) != 0) {
        return;
    }
    uint64_t now = net_reactor_now_ms(s->cfg.r);
    for (size_t i = 0; i < s->num_pubs; i++) {
        s->pubs[i].seen = false;
    }
    for (size_t i = 0; i < n; i++) {
        if (fleet_status_publishes(&maps[i])) {
            publish_one(s, &maps[i], now);
        }
    }
    for (size_t i = 0; i < s->num_pubs; i++) { // no longer runs it: a tombstone
        if (!s->pubs[i].seen) {
            send_value(s, s->pubs[i].uuid, NULL, 0);
            s->pubs[i--] = s->pubs[--s->num_pubs];
        }
    }
    forget(s, maps, n);
    for (size_t i = 0; i < n; i++) {
        esm_metrics_mapping_cleanup(&maps[i]);
    }
    free(maps);
}

static void on_tick(void *ctx)
{
    struct fleet_status *s = ctx;
    follow_topic(s);
    if (s->cfg.may_publish && s->cfg.may_publish(s->cfg.may_publish_ctx)) {
        publish(s);
    }
    net_timer_arm(s->tick, TICK_MS);
}

void fleet_status_retire(struct fleet_status *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->num_pubs; i++) {
        send_value(s, s->pubs[i].uuid, NULL, 0);
    }
    s->num_pubs = 0;
    s->retired = true;
    net_timer_cancel(s->tick);
}

// ---- life ---------------------------------------------------------------------------------------

struct fleet_status *fleet_status_new(const struct fleet_status_config *cfg, char *why,
                                      size_t why_len)
{
    struct fleet_status *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    snprintf(s->node, sizeof s->node, "%s", cfg->node);
    snprintf(s->topic, sizeof s->topic, "_kesm-%s-status", cfg->cluster_id);
    s->readers = calloc(MAX_READERS, sizeof *s->readers);
    if (s->readers) {
        s->readers[0] = start_reader(s, 0);
        s->tick = s->readers[0] ? net_timer_new(cfg->r, on_tick, s) : NULL;
    }
    if (!s->tick) {
        snprintf(why, why_len, "cannot follow the status topic %s", s->topic);
        fleet_status_free(s);
        return NULL;
    }
    s->num_readers = 1;
    net_timer_arm(s->tick, TICK_MS);
    kesm_log(KESM_LOG_INFO, "fleet",
             "node %s: publishing to and following status topic %s every %u ms", s->node, s->topic,
             (unsigned)cfg->refresh_ms);
    return s;
}

void fleet_status_free(struct fleet_status *s)
{
    if (!s) {
        return;
    }
    net_timer_free(s->tick);
    cons_admin_free(s->admin);
    for (size_t i = 0; s->readers && i < MAX_READERS; i++) {
        cons_reader_free(s->readers[i]);
    }
    free(s->readers);
    for (size_t i = 0; i < s->num_entries; i++) {
        fleet_status_rec_cleanup(&s->entries[i].rec);
    }
    free(s->entries);
    free(s->pubs);
    free(s);
}
