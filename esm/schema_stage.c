// schema_stage.c: the schema-registry stage (see schema_stage.h): the schema cache and its
// fetches (with references and backoff), and the per-record decoding.
#include "esm/schema_stage.h"

#include "base/alloc.h"
#include "base/log.h"
#include "invoke/batcher.h"
#include "invoke/schema_registry.h"
#include "schema/avro.h"
#include "schema/frame.h"
#include "schema/jsonschema.h"
#include "schema/proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum est {
    E_FETCHING, // a request is out
    E_BACKOFF,  // the last request failed; the timer asks again
    E_READY,
    E_NOT_FOUND, // the registry says there is no such schema (negative, expires)
    E_BROKEN,    // the schema (or a reference) cannot be used (negative, expires)
};

enum efmt {
    F_AVRO,
    F_PROTOBUF,
    F_JSON,
};

static const char *const fmt_names[] = {"AVRO", "PROTOBUF", "JSON"};

// struct node: one schema text of an entry: the main schema (nodes[0]) or a reference.
struct node {
    char *name;    // the reference's name (the import path of a Protobuf file)
    char *subject; // NULL for the main schema
    int64_t version;
    char *text;
    size_t len;
    bool fetched;
    uint32_t *refs; // indexes of the nodes it references
    size_t num_refs;
};

struct entry {
    struct esm_sstage *st;
    struct entry *prev, *next; // LRU list, most recently used first
    char key[40];              // the Confluent id in decimal or the Glue version UUID
    uint32_t id;
    enum est state;
    enum efmt fmt;
    struct sch_avro *avro;
    struct sch_proto *proto;
    size_t bytes;
    char problem[400];
    int64_t until_ms; // negative entries: when to ask again
    uint64_t req;
    bool req_active;
    struct net_timer *timer;
    uint32_t failures;
    struct node *nodes;
    size_t num_nodes;
};

struct esm_sstage {
    struct esm_sstage_cfg cfg;
    struct inv_registry *reg;
    struct entry *head, *tail;
    size_t num_entries;
    size_t bytes;
    char log[KESM_LOG_COMPONENT_CAP];
    struct esm_sstage_stats stats;
    struct sch_out json[2]; // decoded JSON of key [0] and value [1]
    uint8_t *zbuf[2];       // inflated Glue data of key and value
    size_t zcap[2];         //
    char ids[2][40];        // schemaId strings
    struct inv_schema_meta meta[2];
};

// ---- cache -----------------------------------------------------------------------------------

static int64_t now_ms(const struct esm_sstage *st)
{
    return (int64_t)net_reactor_now_ms(st->cfg.reactor);
}

static void lru_unlink(struct esm_sstage *st, struct entry *e)
{
    if (e->prev) {
        e->prev->next = e->next;
    } else {
        st->head = e->next;
    }
    if (e->next) {
        e->next->prev = e->prev;
    } else {
        st->tail = e->prev;
    }
    e->prev = e->next = NULL;
}

static void lru_front(struct esm_sstage *st, struct entry *e)
{
    e->next = st->head;
    e->prev = NULL;
    if (st->head) {
        st->head->prev = e;
    }
    st->head = e;
    if (!st->tail) {
        st->tail = e;
    }
}

static void nodes_free(struct entry *e)
{
    for (size_t i = 0; i < e->num_nodes; i++) {
        free(e->nodes[i].name);
        free(e->nodes[i].subject);
        free(e->nodes[i].text);
        free(e->nodes[i].refs);
    }
    free(e->nodes);
    e->nodes = NULL;
    e->num_nodes = 0;
}

static void entry_free(struct entry *e)
{
    struct esm_sstage *st = e->st;
    if (e->req_active) {
        inv_registry_cancel(st->reg, e->req);
    }
    net_timer_free(e->timer);
    nodes_free(e);
    sch_avro_free(e->avro);
    sch_proto_free(e->proto);
    st->bytes -= e->bytes;
    st->num_entries--;
    free(e);
}

// evict drops settled entries, least recently used first, while the cache is over its bounds
// (never |keep|, never one being fetched).
static void evict(struct esm_sstage *st, const struct entry *keep)
{
    struct entry *e = st->tail;
    while (e && (st->num_entries > st->cfg.max_entries || st->bytes > st->cfg.max_bytes)) {
        struct entry *prev = e->prev;
        if (e != keep && (e->state == E_READY || e->state == E_NOT_FOUND || e->state == E_BROKEN)) {
            lru_unlink(st, e);
            entry_free(e);
        }
        e = prev;
    }
}

static struct entry *find(struct esm_sstage *st, const char *key)
{
    for (struct entry *e = st->head; e; e = e->next) {
        if (!strcmp(e->key, key)) {
            return e;
        }
    }
    return NULL;
}

// ---- fetching ----------------------------------------------------------------------------------

static void fetch(struct entry *e);
static void fetch_next_ref(struct entry *e);

static void settle(struct entry *e, enum est state, const char *problem)
{
    struct esm_sstage *st = e->st;
    e->state = state;
    e->failures = 0;
    if (problem) {
        snprintf(e->problem, sizeof e->problem, "%s", problem);
        e->until_ms = now_ms(st) + ESM_SSTAGE_NEGATIVE_TTL_MS;
        kesm_log(KESM_LOG_WARN, st->log, "schema %s: %s", e->key, problem);
    }
    nodes_free(e);
    size_t b = sizeof *e + (e->avro ? sch_avro_mem(e->avro) : 0) +
               (e->proto ? sch_proto_mem(e->proto) : 0);
    e->bytes = b;
    st->bytes += b;
    evict(st, e);
    if (st->cfg.on_ready) {
        st->cfg.on_ready(st->cfg.ctx);
    }
}

static void on_backoff(void *ctx)
{
    struct entry *e = ctx;
    fetch(e);
}

static uint32_t backoff_ms(const struct esm_sstage *st, uint32_t failures)
{
    uint64_t d = st->cfg.backoff_initial_ms;
    for (uint32_t i = 1; i < failures && d < st->cfg.backoff_max_ms; i++) {
        d *= 2;
    }
    return (uint32_t)(d > st->cfg.backoff_max_ms ? st->cfg.backoff_max_ms : d);
}

static void fetch_failed(struct entry *e, const char *msg)
{
    struct esm_sstage *st = e->st;
    char line[600];
    st->stats.registry_errors++;
    e->failures++;
    e->state = E_BACKOFF;
    nodes_free(e);
    uint32_t d = backoff_ms(st, e->failures);
    snprintf(line, sizeof line, "Schema registry error: %.500s", msg);
    kesm_log(KESM_LOG_WARN, st->log, "%s (retry %" PRIu32 " in %" PRIu32 " ms; records wait)", line,
             e->failures, d);
    if (st->cfg.on_problem) {
        st->cfg.on_problem(st->cfg.ctx, line);
    }
    net_timer_arm(e->timer, d);
}

// post_order appends the nodes reachable from |i| to |out|, dependencies first.
static void post_order(struct entry *e, size_t i, bool *seen, size_t *out, size_t *n, int depth)
{
    if (seen[i] || depth > 32) {
        return;
    }
    seen[i] = true;
    for (size_t k = 0; k < e->nodes[i].num_refs; k++) {
        post_order(e, e->nodes[i].refs[k], seen, out, n, depth + 1);
    }
    out[(*n)++] = i;
}

// build parses the fetched texts and settles the entry.
static void build(struct entry *e)
{
    struct sch_err err = {{0}};
    enum sch_status s = SCH_OK;
    char problem[400];
    if (e->fmt == F_AVRO) {
        size_t n = 0, *order = calloc(e->num_nodes, sizeof *order);
        bool *seen = calloc(e->num_nodes, sizeof *seen);
        const char **texts = calloc(e->num_nodes, sizeof *texts);
        size_t *lens = calloc(e->num_nodes, sizeof *lens);
        if (order && seen && texts && lens) {
            post_order(e, 0, seen, order, &n, 0);
            for (size_t i = 0; i < n; i++) {
                texts[i] = e->nodes[order[i]].text;
                lens[i] = e->nodes[order[i]].len;
            }
            s = sch_avro_parse(&e->avro, texts, lens, n, &err);
        } else {
            s = sch_fail(&err, SCH_ERR_NOMEM, "out of memory");
        }
        free(order);
        free(seen);
        free(texts);
        free(lens);
    } else if (e->fmt == F_PROTOBUF) {
        struct sch_proto_file *files = calloc(e->num_nodes, sizeof *files);
        if (!files) {
            s = sch_fail(&err, SCH_ERR_NOMEM, "out of memory");
        } else {
            for (size_t i = 1; i < e->num_nodes; i++) {
                files[i - 1] =
                    (struct sch_proto_file){e->nodes[i].name, e->nodes[i].text, e->nodes[i].len};
            }
            files[e->num_nodes - 1] =
                (struct sch_proto_file){"schema.proto", e->nodes[0].text, e->nodes[0].len};
            s = sch_proto_parse(&e->proto, files, e->num_nodes, &err);
            free(files);
        }
    }
    if (s != SCH_OK) {
        snprintf(problem, sizeof problem, "the %s schema cannot be used: %s", fmt_names[e->fmt],
                 err.msg);
        settle(e, E_BROKEN, problem);
        return;
    }
    settle(e, E_READY, NULL);
}

// add_refs records the references of node |i| (Confluent [{name, subject, version}]).
static bool add_refs(struct entry *e, size_t i, const cJSON *refs, char *why, size_t cap)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, refs)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "name");
        const cJSON *subj = cJSON_GetObjectItemCaseSensitive(r, "subject");
        const cJSON *ver = cJSON_GetObjectItemCaseSensitive(r, "version");
        if (!cJSON_IsString(name) || !cJSON_IsString(subj) || !cJSON_IsNumber(ver)) {
            snprintf(why, cap, "a reference lacks name, subject or version");
            return false;
        }
        size_t k = 0;
        while (k < e->num_nodes &&
               !(e->nodes[k].subject && !strcmp(e->nodes[k].subject, subj->valuestring) &&
                 e->nodes[k].version == (int64_t)ver->valuedouble)) {
            k++;
        }
        if (k == e->num_nodes) {
            if (e->num_nodes > ESM_SSTAGE_MAX_REFERENCES) {
                snprintf(why, cap, "more than %d references", ESM_SSTAGE_MAX_REFERENCES);
                return false;
            }
            e->nodes = xrealloc(e->nodes, (e->num_nodes + 1) * sizeof *e->nodes);
            struct node *nd = &e->nodes[e->num_nodes++];
            memset(nd, 0, sizeof *nd);
            nd->name = xstrdup(name->valuestring);
            nd->subject = xstrdup(subj->valuestring);
            nd->version = (int64_t)ver->valuedouble;
        }
        struct node *from = &e->nodes[i];
        from->refs = xrealloc(from->refs, (from->num_refs + 1) * sizeof *from->refs);
        from->refs[from->num_refs++] = (uint32_t)k;
    }
    return true;
}

static void on_fetched(void *ctx, const struct inv_registry_result *res)
{
    struct entry *e = ctx;
    struct esm_sstage *st = e->st;
    e->req_active = false;
    st->stats.fetches++;
    if (res->kind == INV_REG_ERROR) {
        fetch_failed(e, res->message);
        return;
    }
    if (res->kind == INV_REG_NOT_FOUND) {
        settle(e, E_NOT_FOUND, res->message);
        return;
    }
    size_t i = 0;
    while (i < e->num_nodes && e->nodes[i].fetched) {
        i++;
    }
    struct node *nd = &e->nodes[i];
    nd->fetched = true;
    nd->text = xstrndup(res->schema, res->schema_len);
    nd->len = res->schema_len;
    if (i == 0) {
        e->fmt = !strcmp(res->schema_type, "PROTOBUF") ? F_PROTOBUF
                 : !strcmp(res->schema_type, "JSON")   ? F_JSON
                                                       : F_AVRO;
    }
    char why[200];
    if (e->fmt != F_JSON && res->references && !add_refs(e, i, res->references, why, sizeof why)) {
        char problem[300];
        snprintf(problem, sizeof problem, "schema references: %s", why);
        settle(e, E_BROKEN, problem);
        return;
    }
    fetch_next_ref(e);
}

static void fetch_next_ref(struct entry *e)
{
    struct esm_sstage *st = e->st;
    for (size_t i = 0; i < e->num_nodes; i++) {
        if (!e->nodes[i].fetched) {
            char err[300];
            if (inv_registry_get_subject_version(st->reg, e->nodes[i].subject, e->nodes[i].version,
                                                 on_fetched, e, &e->req, err, sizeof err) != 0) {
                fetch_failed(e, err);
                return;
            }
            e->req_active = true;
            return;
        }
    }
    build(e);
}

static void fetch(struct entry *e)
{
    struct esm_sstage *st = e->st;
    char err[300];
    int rc;
    nodes_free(e);
    e->state = E_FETCHING;
    e->nodes = xcalloc(1, sizeof *e->nodes);
    e->num_nodes = 1;
    if (st->cfg.reg->kind == ESM_SR_GLUE) {
        rc = inv_registry_glue_get(st->reg, e->key, on_fetched, e, &e->req, err, sizeof err);
    } else {
        rc = inv_registry_get_id(st->reg, e->id, on_fetched, e, &e->req, err, sizeof err);
    }
    if (rc != 0) {
        fetch_failed(e, err);
        return;
    }
    e->req_active = true;
}

// lookup returns the entry for |key|, starting a fetch for a new (or expired) one.
static struct entry *lookup(struct esm_sstage *st, const char *key, uint32_t id)
{
    struct entry *e = find(st, key);
    if (e && (e->state == E_NOT_FOUND || e->state == E_BROKEN) && now_ms(st) >= e->until_ms) {
        lru_unlink(st, e);
        entry_free(e);
        e = NULL;
    }
    if (e) {
        lru_unlink(st, e);
        lru_front(st, e);
        return e;
    }
    e = xcalloc(1, sizeof *e);
    e->st = st;
    snprintf(e->key, sizeof e->key, "%s", key);
    e->id = id;
    e->timer = net_timer_new(st->cfg.reactor, on_backoff, e);
    st->num_entries++;
    lru_front(st, e);
    fetch(e);
    return e;
}

// ---- decoding ----------------------------------------------------------------------------------

struct attr {
    struct inv_bytes bytes; // delivered
    struct inv_bytes json;  // decoded JSON (for the filter)
    bool has_meta;
};

// inflate_into inflates a zlib stream into the stage's buffer |slot| (bounded by out_limit).
static bool inflate_into(struct esm_sstage *st, int slot, const kr *in, size_t *out_len, char *why,
                         size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) {
        snprintf(why, cap, "Glue zlib data: cannot start inflating");
        return false;
    }
    z.next_in = (Bytef *)(uintptr_t)in->p;
    z.avail_in = (uInt)kr_left(in);
    size_t len = 0;
    int rc = Z_OK;
    while (rc == Z_OK) {
        if (len == st->zcap[slot]) {
            size_t nc = st->zcap[slot] ? st->zcap[slot] * 2 : 4096;
            if (st->zcap[slot] >= st->cfg.out_limit) {
                break;
            }
            st->zbuf[slot] = xrealloc(st->zbuf[slot], nc);
            st->zcap[slot] = nc;
        }
        z.next_out = st->zbuf[slot] + len;
        z.avail_out = (uInt)(st->zcap[slot] - len);
        rc = inflate(&z, Z_NO_FLUSH);
        len = st->zcap[slot] - z.avail_out;
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END || z.avail_in != 0) {
        snprintf(why, cap, "Glue zlib data does not inflate%s",
                 rc == Z_OK ? " within the size limit" : "");
        return false;
    }
    *out_len = len;
    return true;
}

// decode_attr handles one attribute (slot 0 key, 1 value). Returns READY, WAIT or REJECT (with
// *cond and |why|).
static enum esm_sstage_rc decode_attr(struct esm_sstage *st, int slot, struct inv_bytes in,
                                      struct attr *a, const char **cond, char *why, size_t cap)
{
    const struct esm_schema_registry *cfg = st->cfg.reg;
    struct sch_err err = {{0}};
    kr data;
    char key[40];
    uint32_t id = 0;
    *cond = "DESERIALIZATION_ERROR";
    if (cfg->kind == ESM_SR_GLUE) {
        struct sch_glue g;
        if (sch_glue_parse(in.p, in.len, &g, &err) != SCH_OK) {
            snprintf(why, cap, "%s", err.msg);
            return ESM_SSTAGE_REJECT;
        }
        sch_uuid_format(g.version_id, key);
        data = g.data;
        if (g.compression == SCH_GLUE_COMPRESSION_ZLIB) {
            size_t n;
            if (!inflate_into(st, slot, &g.data, &n, why, cap)) {
                return ESM_SSTAGE_REJECT;
            }
            kr_init(&data, st->zbuf[slot], n);
        }
    } else {
        struct sch_confluent c;
        if (sch_confluent_parse(in.p, in.len, &c, &err) != SCH_OK) {
            snprintf(why, cap, "%s", err.msg);
            return ESM_SSTAGE_REJECT;
        }
        id = c.schema_id;
        snprintf(key, sizeof key, "%" PRIu32, id);
        data = c.rest;
    }
    struct entry *e = lookup(st, key, id);
    if (e->state == E_FETCHING || e->state == E_BACKOFF) {
        return ESM_SSTAGE_WAIT;
    }
    if (e->state == E_NOT_FOUND || e->state == E_BROKEN) {
        *cond = e->state == E_NOT_FOUND ? "SCHEMA_NOT_FOUND" : "DESERIALIZATION_ERROR";
        snprintf(why, cap, "schema %s: %s", key, e->problem);
        return ESM_SSTAGE_REJECT;
    }
    struct sch_out *o = &st->json[slot];
    sch_out_reset(o);
    kr source = data; // what SOURCE delivers: Protobuf indexes kept
    enum sch_status s = SCH_OK;
    if (e->fmt == F_AVRO) {
        s = sch_avro_to_json(e->avro, data.p, kr_left(&data), o, &err);
    } else if (e->fmt == F_JSON) {
        s = sch_json_check(data.p, kr_left(&data), &err);
        if (s == SCH_OK) {
            sch_out_add(o, data.p, kr_left(&data));
            s = sch_out_status(o, &err);
        }
    } else {
        uint32_t msg = 0;
        if (cfg->kind == ESM_SR_GLUE) {
            uint32_t idx = 0;
            s = sch_glue_proto_index(&data, &idx, &err);
            s = s == SCH_OK ? sch_proto_glue_msg(e->proto, idx, &msg, &err) : s;
        } else {
            struct sch_msg_path path;
            s = sch_confluent_msg_indexes(&data, &path, &err);
            s = s == SCH_OK ? sch_proto_confluent_msg(e->proto, &path, &msg, &err) : s;
        }
        s = s == SCH_OK ? sch_proto_to_json(e->proto, msg, data.p, kr_left(&data), o, &err) : s;
    }
    if (s != SCH_OK) {
        snprintf(why, cap, "schema %s (%s): %s", key, fmt_names[e->fmt], err.msg);
        return ESM_SSTAGE_REJECT;
    }
    snprintf(st->ids[slot], sizeof st->ids[slot], "%s", key);
    st->meta[slot].data_format = fmt_names[e->fmt];
    st->meta[slot].schema_id = st->ids[slot];
    a->json = inv_bytes_of(o->p ? o->p : "", o->len);
    a->bytes =
        cfg->format == ESM_SR_FORMAT_JSON ? a->json : inv_bytes_of(source.p, kr_left(&source));
    a->has_meta = true;
    return ESM_SSTAGE_READY;
}

enum esm_sstage_rc esm_sstage_decode(struct esm_sstage *st, const struct inv_record *in,
                                     struct inv_record *out, struct inv_bytes *out_filter_value)
{
    const struct esm_schema_registry *cfg = st->cfg.reg;
    struct attr a[2] = {{in->key, in->key, false}, {in->value, in->value, false}};
    const bool want[2] = {cfg->key && !in->key.is_null, cfg->value && !in->value.is_null};
    const char *cond = NULL;
    char why[512] = "";
    *out = *in;
    *out_filter_value = in->value;
    for (int slot = 0; slot < 2; slot++) {
        if (!want[slot]) {
            continue;
        }
        enum esm_sstage_rc rc =
            decode_attr(st, slot, slot ? in->value : in->key, &a[slot], &cond, why, sizeof why);
        if (rc == ESM_SSTAGE_WAIT) {
            return rc;
        }
        if (rc == ESM_SSTAGE_REJECT) {
            char line[700];
            st->stats.rejected++;
            snprintf(line, sizeof line, "%s: %.*s-%" PRId32 " offset %" PRId64 " %s: %s", cond,
                     (int)in->topic_len, in->topic, in->partition, in->offset,
                     slot ? "value" : "key", why);
            kesm_log(KESM_LOG_WARN, st->log, "%s", line);
            if (st->cfg.on_problem) {
                st->cfg.on_problem(st->cfg.ctx, line);
            }
            out->reject = cond;
            return rc;
        }
    }
    out->key = a[0].bytes;
    out->value = a[1].bytes;
    out->key_meta = a[0].has_meta ? &st->meta[0] : NULL;
    out->value_meta = a[1].has_meta ? &st->meta[1] : NULL;
    *out_filter_value = a[1].json;
    st->stats.decoded++;
    return ESM_SSTAGE_READY;
}

// ---- lifecycle ---------------------------------------------------------------------------------

struct esm_sstage *esm_sstage_new(const struct esm_sstage_cfg *cfg, char *err, size_t err_cap)
{
    struct esm_sstage *st = xcalloc(1, sizeof *st);
    st->cfg = *cfg;
    snprintf(st->log, sizeof st->log, "%s", cfg->log_component ? cfg->log_component : "schema");
    st->cfg.log_component = st->log;
    st->cfg.user = st->cfg.password = st->cfg.log_tag = NULL;
    if (!st->cfg.max_entries) {
        st->cfg.max_entries = ESM_SSTAGE_MAX_ENTRIES_DEFAULT;
    }
    if (!st->cfg.max_bytes) {
        st->cfg.max_bytes = ESM_SSTAGE_MAX_BYTES_DEFAULT;
    }
    if (!st->cfg.backoff_initial_ms) {
        st->cfg.backoff_initial_ms = 1000;
    }
    if (st->cfg.backoff_max_ms < st->cfg.backoff_initial_ms) {
        st->cfg.backoff_max_ms =
            st->cfg.backoff_initial_ms > 60000 ? st->cfg.backoff_initial_ms : 60000;
    }
    if (!st->cfg.out_limit) {
        st->cfg.out_limit = BATCH_MAX_PAYLOAD;
    }
    for (int i = 0; i < 2; i++) {
        sch_out_init(&st->json[i], st->cfg.out_limit);
    }
    struct inv_registry_cfg rc = {.glue = cfg->reg->kind == ESM_SR_GLUE,
                                  .url = cfg->reg->uri,
                                  .glue_region = cfg->reg->glue_region,
                                  .aws = cfg->aws,
                                  .user = cfg->user,
                                  .password = cfg->password,
                                  .tls = cfg->tls,
                                  .timeout_ms = cfg->timeout_ms,
                                  .log_tag = cfg->log_tag};
    st->reg = inv_registry_new(cfg->reactor, &rc, err, err_cap);
    if (!st->reg) {
        esm_sstage_free(st);
        return NULL;
    }
    kesm_log(KESM_LOG_INFO, st->log, "schema registry %s: %s %s%s, EventRecordFormat %s",
             inv_registry_describe(st->reg), cfg->reg->key ? "KEY" : "",
             cfg->reg->key && cfg->reg->value ? "and " : "", cfg->reg->value ? "VALUE" : "",
             cfg->reg->format == ESM_SR_FORMAT_JSON ? "JSON" : "SOURCE");
    return st;
}

void esm_sstage_free(struct esm_sstage *st)
{
    if (!st) {
        return;
    }
    while (st->head) {
        struct entry *e = st->head;
        lru_unlink(st, e);
        entry_free(e);
    }
    inv_registry_free(st->reg);
    for (int i = 0; i < 2; i++) {
        sch_out_cleanup(&st->json[i]);
        free(st->zbuf[i]);
    }
    free(st);
}

void esm_sstage_stats(const struct esm_sstage *st, struct esm_sstage_stats *out)
{
    *out = st->stats;
    out->cache_entries = st->num_entries;
    out->cache_bytes = st->bytes;
}
