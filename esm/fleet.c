// fleet.c: fleet mode (see fleet.h): the config topic's reader and writer, read-your-writes, and
// the API hooks.
#include "esm/fleet.h"

#include "base/log.h"
#include "broker/sasl.h"
#include "consumer/admin.h"
#include "consumer/producer.h"
#include "consumer/reader.h"
#include "esm/fleet_int.h"
#include "esm/fleet_status_int.h"
#include "esm/json_guard.h"
#include "esm/mapping_fleet.h"
#include "net/httpd.h"
#include "net/reactor.h"
#include "net/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define STALE_MS 8000u // a node whose last good read is older answers ServiceException
#define SWEEP_MS 200u  // how often deadlines are checked
#define MAX_RECORD (ESM_API_MAX_BODY + 4096)

// struct wr: one write, from the Produce until this node has read it back.
struct wr {
    struct wr *next;
    struct esm_fleet *f;
    char uuid[37];
    char *value; // NULL: a tombstone
    size_t value_len;
    uint64_t prod_id;
    int64_t offset; // the broker's, once acknowledged (-1 before)
    bool acked;
    bool seen;           // a record equal to ours was applied ...
    int64_t seen_offset; // ... at this offset
    cJSON *snap;         // the mapping as that record left it
    uint64_t deadline;
    fleet_done_fn *done;
    void *ctx;
};

struct esm_fleet {
    struct net_reactor *r;
    struct esm_manager *mgr;
    struct prod *prod;
    struct cons_reader *rd;
    struct net_tls_ctx *tls;
    struct broker_sasl *sasl;
    struct net_timer *sweep;
    struct cons_admin *admin; // creating the config topic
    bool create_tried, admin_done;
    const struct esm_fleet_opts *opts;
    char topic[256];
    long timeout_ms;
    bool ready;
    bool fatal;
    char problem[1200];
    uint64_t records;
    struct wr *writes;
    struct fleet_status *status; // the status topic, once the API's port is known
};

static double now_epoch(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)(tv.tv_usec / 1000) / 1000.0;
}

// ---- writes ---------------------------------------------------------------------------------

static void wr_finish(struct esm_fleet *f, struct wr *w, bool ok, const char *why)
{
    for (struct wr **pp = &f->writes; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    }
    if (!w->acked && f->prod) {
        prod_cancel(f->prod, w->prod_id);
    }
    cJSON *snap = w->snap;
    w->snap = NULL;
    if (ok && !snap) {
        struct esm_op_result r;
        esm_manager_get(f->mgr, w->uuid, &r);
        snap = r.status == ESM_OP_OK ? r.body : NULL;
    }
    w->done(w->ctx, ok, why, ok ? snap : NULL);
    if (!ok) {
        cJSON_Delete(snap);
    }
    free(w->value);
    free(w);
}

// settle answers the writes this node has read back: the record at the acknowledged offset was
// applied (or the reader is past it).
static void settle(struct esm_fleet *f)
{
    int64_t pos = f->rd ? cons_reader_position(f->rd) : -1;
    struct wr *w = f->writes;
    while (w) {
        struct wr *next = w->next;
        if (w->acked && w->offset >= 0 && pos > w->offset) {
            if (w->seen && w->seen_offset != w->offset) {
                cJSON_Delete(w->snap); // an equal record, but not ours: show the state now
                w->snap = NULL;
            }
            wr_finish(f, w, true, NULL);
        }
        w = next;
    }
}

static void on_produced(void *arg, bool ok, const char *why, int64_t base_offset)
{
    struct wr *w = arg;
    struct esm_fleet *f = w->f;
    w->acked = true;
    w->offset = base_offset;
    if (!ok || base_offset < 0) {
        char msg[400];
        snprintf(msg, sizeof msg, "kesm fleet: could not write to the config topic %s: %s",
                 f->topic, why ? why : "the broker gave no offset");
        wr_finish(f, w, false, msg);
        return;
    }
    settle(f);
}

void fleet_write(struct esm_fleet *f, const char *uuid, const cJSON *request, double modified,
                 fleet_done_fn *done, void *ctx)
{
    struct wr *w = calloc(1, sizeof *w);
    char *text = NULL;
    if (w && request) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "KesmFleetVersion", 1);
        cJSON_AddStringToObject(o, "UUID", uuid);
        cJSON_AddNumberToObject(o, "LastModified", modified);
        cJSON_AddItemToObject(o, "Request", cJSON_Duplicate(request, true));
        text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
    }
    if (!w || (request && !text)) {
        free(w);
        free(text);
        done(ctx, false, "kesm fleet: out of memory", NULL);
        return;
    }
    w->f = f;
    snprintf(w->uuid, sizeof w->uuid, "%s", uuid);
    w->value = text;
    w->value_len = text ? strlen(text) : 0;
    w->offset = -1;
    w->seen_offset = -1;
    w->deadline = net_reactor_now_ms(f->r) + (uint64_t)f->timeout_ms;
    w->done = done;
    w->ctx = ctx;
    w->next = f->writes;
    f->writes = w;
    struct prod_msg m = {.key = (const uint8_t *)w->uuid,
                         .key_len = strlen(w->uuid),
                         .value = text,
                         .value_len = w->value_len,
                         .value_null = text == NULL};
    w->prod_id = prod_send_tracked(f->prod, f->topic, &m, 1, on_produced, w);
}

static void on_created(void *ctx, int error_code, const char *msg)
{
    struct esm_fleet *f = ctx;
    f->admin_done = true;
    if (error_code == 0 || error_code == 36) { // created, or TOPIC_ALREADY_EXISTS
        kesm_log(KESM_LOG_INFO, "fleet", "%s", msg);
        return;
    }
    f->fatal = true;
    snprintf(f->problem, sizeof f->problem,
             "the config topic %s does not exist and could not be created (%.600s); create it with "
             "one partition and cleanup.policy=compact",
             f->topic, msg);
    kesm_log(KESM_LOG_ERROR, "fleet", "%s", f->problem);
}

// maybe_create starts CreateTopics once when the metadata says the config topic does not exist.
static void maybe_create(struct esm_fleet *f)
{
    if (f->admin_done && f->admin) {
        cons_admin_free(f->admin);
        f->admin = NULL;
    }
    if (f->ready || f->create_tried || cons_reader_partitions(f->rd) != 0) {
        return;
    }
    f->create_tried = true;
    f->admin = fleet_create_topic(f->r, f->opts->bootstrap, f->tls,
                                  f->sasl ? broker_sasl_auth(f->sasl) : NULL, "config", f->topic,
                                  on_created, f);
}

static void on_sweep(void *ctx)
{
    struct esm_fleet *f = ctx;
    uint64_t now = net_reactor_now_ms(f->r);
    maybe_create(f);
    struct wr *w = f->writes;
    while (w) {
        struct wr *next = w->next;
        if (now >= w->deadline) {
            char msg[500];
            snprintf(msg, sizeof msg,
                     "kesm fleet: the write of mapping %s was not confirmed by the config topic %s "
                     "within %ld ms (%s); it may still take effect: check with Get",
                     w->uuid, f->topic, f->timeout_ms,
                     !w->acked ? "the cluster did not acknowledge it"
                               : "this node did not read it back");
            wr_finish(f, w, false, msg);
        }
        w = next;
    }
    net_timer_arm(f->sweep, SWEEP_MS);
}

bool fleet_ready(const struct esm_fleet *f)
{
    return f->ready;
}

size_t fleet_pending(const struct esm_fleet *f)
{
    size_t n = 0;
    for (const struct wr *w = f->writes; w; w = w->next) {
        n++;
    }
    return n;
}

// ---- reading the config topic -----------------------------------------------------------------

// parse_value checks one record's value; returns the parsed object (caller frees) or NULL with
// |why|.
static cJSON *parse_value(const struct cons_record *rec, const char *uuid, const cJSON **out_req,
                          double *out_mod, char *why, size_t why_len)
{
    struct esm_json_limits lim;
    esm_json_limits_request(&lim);
    lim.max_depth++;
    if (rec->value_len > MAX_RECORD) {
        snprintf(why, why_len, "value of %zu bytes (at most %d)", rec->value_len, MAX_RECORD);
        return NULL;
    }
    char jwhy[300];
    cJSON *o =
        esm_json_parse_guarded((const char *)rec->value, rec->value_len, &lim, jwhy, sizeof jwhy);
    if (!o) {
        snprintf(why, why_len, "value is not accepted JSON: %s", jwhy);
        return NULL;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "KesmFleetVersion");
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "UUID");
    const cJSON *mod = cJSON_GetObjectItemCaseSensitive(o, "LastModified");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(o, "Request");
    if (!cJSON_IsNumber(v) || v->valuedouble != 1 || !cJSON_IsString(u) ||
        strcmp(u->valuestring, uuid) != 0 || !cJSON_IsNumber(mod) || !cJSON_IsObject(req)) {
        snprintf(why, why_len,
                 "value lacks KesmFleetVersion 1, the key's UUID, LastModified or Request");
        cJSON_Delete(o);
        return NULL;
    }
    *out_req = req;
    *out_mod = mod->valuedouble;
    return o;
}

static bool uuid_ok(const struct cons_record *rec, char out[37])
{
    if (rec->key_null || rec->key_len != 36) {
        return false;
    }
    for (size_t i = 0; i < 36; i++) {
        char c = (char)rec->key[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
        out[i] = c;
    }
    out[36] = '\0';
    return true;
}

// note_applied hands the snapshot to the write this record answers, if any.
static void note_applied(struct esm_fleet *f, const char *uuid, const struct cons_record *rec,
                         cJSON *snap)
{
    for (struct wr *w = f->writes; w; w = w->next) {
        if (w->seen || strcmp(w->uuid, uuid) != 0) {
            continue;
        }
        bool same = w->acked ? w->offset == rec->offset
                             : (rec->value_null ? w->value == NULL
                                                : (w->value && w->value_len == rec->value_len &&
                                                   !memcmp(w->value, rec->value, rec->value_len)));
        if (same) {
            w->seen = true;
            w->seen_offset = rec->offset;
            w->snap = snap;
            return;
        }
    }
    cJSON_Delete(snap);
}

static void apply_record(struct esm_fleet *f, const struct cons_record *rec)
{
    char uuid[37], why[600];
    f->records++;
    if (!uuid_ok(rec, uuid)) {
        kesm_log(KESM_LOG_WARN, "fleet",
                 "config topic %s offset %lld: key is not a mapping UUID; "
                 "skipped",
                 f->topic, (long long)rec->offset);
        return;
    }
    const cJSON *req = NULL;
    double mod = 0;
    cJSON *o = NULL;
    if (!rec->value_null) {
        o = parse_value(rec, uuid, &req, &mod, why, sizeof why);
        if (!o) {
            kesm_log(KESM_LOG_WARN, "fleet",
                     "config topic %s offset %lld (mapping %s): %s; skipped", f->topic,
                     (long long)rec->offset, uuid, why);
            return;
        }
    }
    cJSON *snap = NULL;
    if (esm_manager_apply(f->mgr, uuid, req, (uint64_t)rec->offset + 1, mod, &snap, why,
                          sizeof why) != 0) {
        kesm_log(KESM_LOG_WARN, "fleet", "config topic %s offset %lld (mapping %s): %s", f->topic,
                 (long long)rec->offset, uuid, why);
    }
    note_applied(f, uuid, rec, snap);
    cJSON_Delete(o);
}

static void on_records(void *ctx, const struct cons_record_batch *batch)
{
    struct esm_fleet *f = ctx;
    for (size_t i = 0; i < batch->num_records; i++) {
        apply_record(f, &batch->records[i]);
    }
}

static void on_progress(void *ctx, int64_t position, int64_t high_watermark)
{
    struct esm_fleet *f = ctx;
    int32_t parts = cons_reader_partitions(f->rd);
    if (parts > 1 && !f->fatal) {
        f->fatal = true;
        snprintf(f->problem, sizeof f->problem,
                 "the config topic %s has %d partitions; a fleet's config topic must have exactly "
                 "one (records of several partitions have no order)",
                 f->topic, (int)parts);
        kesm_log(KESM_LOG_ERROR, "fleet", "%s", f->problem);
    }
    if (!f->ready && !f->fatal && position >= 0 && position >= high_watermark) {
        f->ready = true;
        kesm_log(KESM_LOG_INFO, "fleet",
                 "read the config topic %s to its end (%llu records, %u "
                 "mappings); serving",
                 f->topic, (unsigned long long)f->records, esm_manager_count(f->mgr));
    }
    if (!f->fatal) {
        f->problem[0] = '\0'; // a good read ends whatever was retried
    }
    settle(f);
}

static void on_problem(void *ctx, bool fatal, const char *msg)
{
    struct esm_fleet *f = ctx;
    if (!f->fatal) {
        snprintf(f->problem, sizeof f->problem, "%s", msg);
        f->fatal = fatal;
    }
    kesm_log(fatal ? KESM_LOG_ERROR : KESM_LOG_WARN, "fleet", "config topic %s: %s", f->topic, msg);
}

// ---- the API hooks ----------------------------------------------------------------------------

static bool read_ok(void *ctx, char *why, size_t why_len)
{
    struct esm_fleet *f = ctx;
    uint64_t now = net_reactor_now_ms(f->r), last = cons_reader_last_ok_ms(f->rd);
    if (f->ready && !f->fatal && last && now - last < STALE_MS) {
        return true;
    }
    if (f->fatal) {
        snprintf(why, why_len, "kesm fleet: %s", f->problem);
    } else if (!f->ready) {
        snprintf(why, why_len,
                 "kesm fleet: this node has not read the config topic %s to its end yet%s%s",
                 f->topic, f->problem[0] ? ": " : "", f->problem);
    } else {
        snprintf(why, why_len,
                 "kesm fleet: this node lost the cluster (no read of the config topic %s for %llu "
                 "ms%s%s); it does not answer from a stale view",
                 f->topic, (unsigned long long)(now - last), f->problem[0] ? ": " : "", f->problem);
    }
    return false;
}

struct api_wait {
    struct net_httpd_deferred *d;
    cJSON *fallback; // a delete's answer when the mapping is already gone here
};

static void api_done(void *ctx, bool ok, const char *why, cJSON *snapshot)
{
    struct api_wait *aw = ctx;
    struct esm_op_result r = {.status = ok ? ESM_OP_OK : ESM_OP_INTERNAL};
    if (ok) {
        r.body = snapshot ? snapshot : aw->fallback;
        if (r.body == aw->fallback) {
            aw->fallback = NULL;
        }
        if (!r.body) {
            r.status = ESM_OP_NOT_FOUND;
            snprintf(r.message, sizeof r.message, "The resource you requested does not exist.");
        }
    } else {
        snprintf(r.message, sizeof r.message, "%s", why);
    }
    esm_api_answer(aw->d, &r, 202);
    cJSON_Delete(aw->fallback);
    free(aw);
}

static bool api_write(void *ctx, enum esm_api_op op, const char *uuid, const cJSON *body,
                      struct net_httpd_response *resp, struct esm_op_result *now)
{
    struct esm_fleet *f = ctx;
    char id[37] = "";
    cJSON *fallback = NULL;
    switch (op) {
    case ESM_API_CREATE:
        esm_manager_prepare_create(f->mgr, body, id, now);
        break;
    case ESM_API_UPDATE:
        esm_manager_prepare_update(f->mgr, uuid, body, now);
        snprintf(id, sizeof id, "%s", uuid);
        break;
    case ESM_API_DELETE:
        esm_manager_prepare_delete(f->mgr, uuid, now);
        snprintf(id, sizeof id, "%s", uuid);
        if (now->status == ESM_OP_OK) {
            struct esm_op_result g;
            esm_manager_get(f->mgr, uuid, &g);
            fallback = g.status == ESM_OP_OK ? g.body : NULL;
            cJSON_ReplaceItemInObjectCaseSensitive(fallback, "State",
                                                   cJSON_CreateString("Deleting"));
        }
        break;
    }
    if (now->status != ESM_OP_OK) {
        return false;
    }
    struct api_wait *aw = calloc(1, sizeof *aw);
    if (!aw) {
        cJSON_Delete(now->body);
        cJSON_Delete(fallback);
        now->body = NULL;
        now->status = ESM_OP_INTERNAL;
        snprintf(now->message, sizeof now->message, "out of memory");
        return false;
    }
    aw->d = net_httpd_defer(resp);
    aw->fallback = fallback;
    cJSON *request = now->body;
    now->body = NULL;
    fleet_write(f, id, request, now_epoch(), api_done, aw);
    cJSON_Delete(request);
    return true;
}

static void api_decorate(void *ctx, cJSON *body, bool list)
{
    struct esm_fleet *f = ctx;
    fleet_status_decorate(f->status, body, list);
}

static char *api_metrics(void *ctx, char *text, size_t len, size_t *out_len)
{
    struct esm_fleet *f = ctx;
    if (!f->status) {
        *out_len = len;
        return text;
    }
    return fleet_status_metrics(f->status, text, len, out_len);
}

struct esm_api_writer esm_fleet_writer(struct esm_fleet *f)
{
    struct esm_api_writer w = {read_ok, api_write, api_decorate, api_metrics, f};
    return w;
}

// ---- the status topic ---------------------------------------------------------------------------

static bool may_publish(void *ctx)
{
    struct esm_fleet *f = ctx;
    return f->ready && !f->fatal;
}

int esm_fleet_start_status(struct esm_fleet *f, uint16_t api_port, char *why, size_t why_len)
{
    char node[300];
    if (f->opts->node_id) {
        snprintf(node, sizeof node, "%s", f->opts->node_id);
    } else {
        char host[256] = "";
        if (gethostname(host, sizeof host - 1) != 0 || !host[0]) {
            snprintf(host, sizeof host, "localhost");
        }
        snprintf(node, sizeof node, "%s:%u", host, (unsigned)api_port);
    }
    if (!fleet_node_id_ok(node)) {
        snprintf(why, why_len,
                 "the node id '%.*s' is not 1-%d printable ASCII characters without '/', '\"' or "
                 "'\\'%s",
                 FLEET_NODE_ID_MAX + 8, node, FLEET_NODE_ID_MAX,
                 f->opts->node_id ? "" : " (this host's name: set --cluster-node-id)");
        return -1;
    }
    struct fleet_status_config c = {
        .r = f->r,
        .mgr = f->mgr,
        .prod = f->prod,
        .bootstrap = f->opts->bootstrap,
        .tls = f->tls,
        .auth = f->sasl ? broker_sasl_auth(f->sasl) : NULL,
        .cluster_id = f->opts->cluster_id,
        .node = node,
        .refresh_ms = f->opts->status_ms > 0 ? (uint32_t)f->opts->status_ms : 10000u,
        .may_publish = may_publish,
        .may_publish_ctx = f};
    f->status = fleet_status_new(&c, why, why_len);
    return f->status ? 0 : -1;
}

unsigned esm_fleet_retire(struct esm_fleet *f)
{
    if (!f || !f->status) {
        return 0;
    }
    if (!f->status->retired) {
        fleet_status_retire(f->status);
    }
    return f->status->inflight;
}

// ---- life ---------------------------------------------------------------------------------------

struct esm_fleet *esm_fleet_new(struct net_reactor *r, struct esm_manager *mgr,
                                const struct esm_fleet_opts *o, char *why, size_t why_len)
{
    struct esm_fleet *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    f->r = r;
    f->mgr = mgr;
    f->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
    f->opts = o;
    snprintf(f->topic, sizeof f->topic, "_kesm-%s-configs", o->cluster_id);
    if (fleet_security(o, &f->tls, &f->sasl, why, why_len) != 0) {
        free(f);
        return NULL;
    }
    const struct broker_auth *auth = f->sasl ? broker_sasl_auth(f->sasl) : NULL;
    struct prod_config pc = {.bootstrap = o->bootstrap,
                             .tls = f->tls,
                             .auth = auth,
                             .what = "fleet topic",
                             .log_tag = "fleet"};
    struct cons_reader_config rc = {.bootstrap = o->bootstrap,
                                    .topic = f->topic,
                                    .tls = f->tls,
                                    .auth = auth,
                                    .log_tag = "fleet"};
    struct cons_reader_callbacks cb = {on_records, on_progress, on_problem, f};
    f->prod = prod_new(r, &pc, why, why_len);
    f->rd = f->prod ? cons_reader_new(r, &rc, &cb, why, why_len) : NULL;
    f->sweep = f->rd ? net_timer_new(r, on_sweep, f) : NULL;
    if (!f->sweep) {
        esm_fleet_free(f);
        return NULL;
    }
    net_timer_arm(f->sweep, SWEEP_MS);
    kesm_log(KESM_LOG_INFO, "fleet", "fleet %s: reading config topic %s from %s", o->cluster_id,
             f->topic, o->bootstrap);
    return f;
}

void esm_fleet_free(struct esm_fleet *f)
{
    if (!f) {
        return;
    }
    while (f->writes) {
        wr_finish(f, f->writes, false, "kesm fleet: kesm serve is stopping");
    }
    net_timer_free(f->sweep);
    fleet_status_free(f->status);
    cons_admin_free(f->admin);
    cons_reader_free(f->rd);
    prod_free(f->prod);
    broker_sasl_free(f->sasl);
    net_tls_ctx_free(f->tls);
    free(f);
}
