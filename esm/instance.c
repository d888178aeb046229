// instance.c: one running mapping: consumer -> pipeline -> transport (see instance.h).
#include "esm/instance.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/hostport.h"
#include "base/log.h"
#include "broker/sasl.h"
#include "consumer/consumer.h"
#include "consumer/fetchbudget.h"
#include "esm/dest_aws.h"
#include "esm/dest_kafka.h"
#include "esm/instance_int.h"
#include "esm/metrics.h"
#include "esm/msk_discover.h"
#include "esm/route.h"
#include "esm/sasl_token.h"
#include "esm/secrets.h"
#include "invoke/aws.h"
#include "invoke/transport_net.h"
#include "net/membudget.h"
#include "net/resolve.h"
#include "net/tls.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

_Static_assert(ESM_CONN_STATES == BROKER_CONN_CLOSED + 1,
               "esm/metrics.h counts broker_conn states");
_Static_assert(ESM_CONN_READY == BROKER_CONN_READY && ESM_CONN_BACKOFF == BROKER_CONN_BACKOFF,
               "esm/metrics.h names READY's and BACKOFF's index");

int inst_fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

// ---- consumer glue ------------------------------------------------------------------------

static enum inv_ts_type ts_type(enum cons_ts_type t)
{
    switch (t) {
    case CONS_TS_CREATE:
        return INV_TS_CREATE_TIME;
    case CONS_TS_LOG_APPEND:
        return INV_TS_LOG_APPEND_TIME;
    case CONS_TS_NONE:
        return INV_TS_NO_TIMESTAMP_TYPE;
    }
    return INV_TS_CREATE_TIME;
}

static struct inv_bytes bytes(const uint8_t *p, size_t len, bool null)
{
    return null ? inv_bytes_null() : inv_bytes_of(p, len);
}

static void on_records(struct cons *c, const struct cons_record_batch *b, void *ctx)
{
    struct esm_instance *in = ctx;
    (void)c;
    if (b->num_records == 0 || in->stopping) {
        return;
    }
    if (b->num_records > in->cap_recs) {
        in->cap_recs = b->num_records;
        in->recs = xrealloc(in->recs, in->cap_recs * sizeof *in->recs);
    }
    size_t nh = 0;
    for (size_t i = 0; i < b->num_records; i++) {
        nh += b->records[i].num_headers;
    }
    if (nh > in->cap_hdrs) {
        in->cap_hdrs = nh;
        in->hdrs = xrealloc(in->hdrs, in->cap_hdrs * sizeof *in->hdrs);
    }
    size_t topic_len = strlen(b->topic), h = 0;
    for (size_t i = 0; i < b->num_records; i++) {
        const struct cons_record *cr = &b->records[i];
        struct inv_record *r = &in->recs[i];
        // Field by field: a compound literal would be built aside and copied, per record.
        r->topic = b->topic;
        r->topic_len = topic_len;
        r->partition = b->partition;
        r->offset = cr->offset;
        r->timestamp = cr->timestamp;
        r->ts_type = ts_type(cr->ts_type);
        r->key = bytes(cr->key, cr->key_len, cr->key_null);
        r->value = bytes(cr->value, cr->value_len, cr->value_null);
        r->headers = in->hdrs + h;
        r->num_headers = 0;
        r->key_meta = r->value_meta = NULL;
        r->reject = NULL;
        if (cr->num_headers == 0) {
            continue;
        }
        struct cons_record_header_iter it;
        struct cons_header kh;
        cons_record_headers(cr, &it);
        while (h < nh && cons_record_next_header(&it, &kh)) {
            in->hdrs[h++] = (struct inv_header){(const char *)kh.key, kh.key_len,
                                                bytes(kh.value, kh.value_len, kh.value_null)};
            r->num_headers++;
        }
    }
    esm_pipeline_add(in->pl, in->recs, b->num_records);
}

// on_undecodable: a record batch cannot be decoded. Each failed attempt is the mapping's
// LastProcessingResult (and logged by the consumer, counted in /metrics); once the consumer
// gives up, the range goes to the pipeline, which disposes of it like an oversized record.
static void on_undecodable(struct cons *c, const struct cons_undecodable *u, void *ctx)
{
    struct esm_instance *in = ctx;
    (void)c;
    if (in->stopping) {
        return;
    }
    char msg[400];
    snprintf(msg, sizeof msg,
             "PROBLEM: Record batch cannot be decoded: %.100s-%" PRId32 " offsets %" PRId64
             "-%" PRId64 ": %s (attempt %" PRIu32 ")%s",
             u->topic, u->partition, u->first_offset, u->last_offset, u->reason, u->attempts,
             u->skipped ? "; skipped, disposed of like an oversized record" : "; retrying");
    esm_pipeline_set_result(in->pl, msg);
    if (u->skipped) {
        esm_pipeline_add_gap(in->pl, u->topic, u->partition, u->first_offset, u->last_offset, -1,
                             u->too_large);
    }
}

static void on_assigned(struct cons *c, const struct cons_tp *tps, size_t n, void *ctx)
{
    struct esm_instance *in = ctx;
    (void)c;
    in->assigned = true;
    in->rebalances++;
    esm_inst_pause_assigned(in, tps, n);
    kesm_log(KESM_LOG_INFO, in->log, "assigned %zu partition(s)", n);
}

static void revoke_done(void *ctx)
{
    struct esm_instance *in = ctx;
    if (in->cons) {
        cons_revoke_done(in->cons);
    }
}

static void on_revoking(struct cons *c, const struct cons_tp *tps, size_t n, void *ctx)
{
    struct esm_instance *in = ctx;
    (void)c;
    struct esm_tp *e = xcalloc(n ? n : 1, sizeof *e);
    for (size_t i = 0; i < n; i++) {
        e[i].topic = tps[i].topic;
        e[i].partition = tps[i].partition;
    }
    kesm_log(KESM_LOG_INFO, in->log, "revoking %zu partition(s)", n);
    esm_inst_pause_revoked(in, tps, n);
    esm_pipeline_revoke(in->pl, e, n, REVOKE_TIMEOUT_MS, revoke_done, in);
    free(e);
}

static void stop_with(struct esm_instance *in, enum esm_reason reason, const char *detail);

static void on_cons_error(struct cons *c, enum cons_error_class cls, const char *msg, void *ctx)
{
    struct esm_instance *in = ctx;
    (void)c;
    in->poll_errors++;
    if (cls == CONS_ERR_TRANSIENT) {
        in->conn_errors++;
        kesm_log(KESM_LOG_WARN, in->log, "consumer: %s", msg);
        // through the pipeline, which owns LastProcessingResult: its next success reports OK
        esm_pipeline_set_result(in->pl, "PROBLEM: Connection error. Please check your event "
                                        "source connection configuration.");
        return;
    }
    enum esm_reason r = ESM_REASON_ESM_CONFIG_NOT_VALID;
    if (cls == CONS_ERR_AUTHN) {
        r = ESM_REASON_EVENT_SOURCE_AUTHN_ERROR;
    } else if (cls == CONS_ERR_AUTHZ) {
        r = ESM_REASON_EVENT_SOURCE_AUTHZ_ERROR;
    }
    kesm_log(KESM_LOG_ERROR, in->log, "consumer stopped (%s): %s", cons_error_class_name(cls), msg);
    stop_with(in, r, msg);
}

static int src_ack(void *ctx, const char *topic, int32_t partition, int64_t next)
{
    struct esm_instance *in = ctx;
    return in->cons ? cons_ack(in->cons, topic, partition, next) : -1;
}

static int src_pause(void *ctx, const char *topic, int32_t partition)
{
    struct esm_instance *in = ctx;
    return in->cons ? cons_pause(in->cons, topic, partition) : -1;
}

static int src_resume(void *ctx, const char *topic, int32_t partition)
{
    struct esm_instance *in = ctx;
    return in->cons ? cons_resume(in->cons, topic, partition) : -1;
}

static void pl_result(void *ctx, const char *result)
{
    struct esm_instance *in = ctx;
    if (in->cb.on_result) {
        in->cb.on_result(in->cb.ctx, result);
    }
}

static void pl_fatal(void *ctx, const char *detail)
{
    stop_with(ctx, ESM_REASON_FUNCTION_CONFIG_NOT_VALID, detail);
}

static void schema_ready(void *ctx)
{
    struct esm_instance *in = ctx;
    if (in->pl) {
        esm_pipeline_schema_ready(in->pl);
    }
}

static void schema_problem(void *ctx, const char *text)
{
    struct esm_instance *in = ctx;
    char line[700];
    snprintf(line, sizeof line, "PROBLEM: %s", text);
    if (in->pl) {
        esm_pipeline_set_result(in->pl, line);
    }
}

// build_schema makes the schema-registry stage when the mapping has a SchemaRegistryConfig.
static int build_schema(struct esm_instance *in, char *err, size_t cap)
{
    const struct esm_config *cfg = in->cfg;
    if (cfg->registry.kind == ESM_SR_NONE) {
        return 0;
    }
    char comp[KESM_LOG_COMPONENT_CAP];
    kesm_log_component(comp, sizeof comp, "schema", in->log_tag);
    struct esm_sstage_cfg sc = {.reactor = in->r,
                                .reg = &cfg->registry,
                                .aws = in->aws,
                                .log_component = comp,
                                .log_tag = in->log_tag,
                                .on_ready = schema_ready,
                                .on_problem = schema_problem,
                                .ctx = in};
    // KESM_SCHEMA_BACKOFF_MS=FIRST[,MAX]: registry retry delays (tests shorten them)
    const char *bo = getenv("KESM_SCHEMA_BACKOFF_MS");
    if (bo && *bo) {
        char *end, *end2 = NULL;
        unsigned long v = strtoul(bo, &end, 10), mx = v;
        if (*end == ',') {
            mx = strtoul(end + 1, &end2, 10);
            end = end2;
        }
        if (*end || v < 10 || v > 600000 || mx < v || mx > 600000) {
            return inst_fail(err, cap,
                             "KESM_SCHEMA_BACKOFF_MS='%s': must be FIRST[,MAX] milliseconds, "
                             "10 <= FIRST <= MAX <= 600000",
                             bo);
        }
        sc.backoff_initial_ms = (uint32_t)v;
        sc.backoff_max_ms = (uint32_t)mx;
    }
    enum esm_reason why;
    if (esm_schema_setup(&in->schema, &sc, in->opts.secrets, &why, err, cap) != 0) {
        in->why = why;
        return -1;
    }
    return 0;
}

// ---- stopping -----------------------------------------------------------------------------

static void report_stopped(void *ctx)
{
    struct esm_instance *in = ctx;
    if (in->stopped) {
        return;
    }
    in->stopped = true;
    if (in->cb.on_stopped) {
        in->cb.on_stopped(in->cb.ctx, in->reason, in->detail);
    }
}

static void cons_closed(struct cons *c, void *ctx)
{
    (void)c;
    report_stopped(ctx);
}

static void drained(void *ctx)
{
    struct esm_instance *in = ctx;
    if (in->cons) {
        cons_close(in->cons, cons_closed, in);
    } else {
        net_timer_arm(in->later, 0);
    }
}

static void stop_with(struct esm_instance *in, enum esm_reason reason, const char *detail)
{
    if (in->stopping) {
        return;
    }
    in->stopping = true;
    in->reason = reason;
    snprintf(in->detail, sizeof in->detail, "%s", detail ? detail : "");
    if (in->pl == NULL) { // an MSK mapping still asking for its brokers
        esm_msk_discover_free(in->discover);
        in->discover = NULL;
        net_timer_arm(in->later, 0);
        return;
    }
    esm_pipeline_drain(in->pl, in->opts.drain_timeout_ms, drained, in);
}

void inst_stop_with(struct esm_instance *in, enum esm_reason reason, const char *detail)
{
    stop_with(in, reason, detail);
}

void esm_instance_stop(struct esm_instance *in)
{
    stop_with(in, ESM_REASON_USER_INITIATED, "");
}

// ---- public -------------------------------------------------------------------------------

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3u;
    }
    return h * 0x100000001b3u;
}

void esm_default_group_id(const struct esm_config *cfg, char *out, size_t cap)
{
    uint64_t a = 0xcbf29ce484222325u, b = 0x84222325cbf29ce4u;
    const char *parts[] = {"kesm-run", cfg->fn.arn, cfg->topic, cfg->msk.arn};
    for (size_t i = 0; i < 4 && parts[i] != NULL; i++) {
        a = fnv1a(a, parts[i]);
        b = fnv1a(b ^ a, parts[i]);
    }
    for (size_t i = 0; i < cfg->num_bootstrap; i++) {
        a = fnv1a(a, cfg->bootstrap[i]);
        b = fnv1a(b ^ a, cfg->bootstrap[i]);
    }
    snprintf(out, cap, "%08" PRIx32 "-%04" PRIx32 "-4%03" PRIx32 "-%04" PRIx32 "-%012" PRIx64,
             (uint32_t)(a >> 32), (uint32_t)(a >> 16) & 0xffff, (uint32_t)a & 0xfff,
             (uint32_t)(0x8000 | ((b >> 48) & 0x3fff)), b & 0xffffffffffffu);
}

static char *join_bootstrap(const struct esm_config *cfg)
{
    struct buf b;
    buf_init(&b);
    for (size_t i = 0; i < cfg->num_bootstrap; i++) {
        if (i) {
            buf_addc(&b, ',');
        }
        buf_adds(&b, cfg->bootstrap[i]);
    }
    size_t len;
    return buf_steal(&b, &len);
}

static int build_pipeline(struct esm_instance *in, char *err, size_t cap)
{
    const struct esm_config *cfg = in->cfg;
    struct esm_pipeline_cfg pc;
    esm_pipeline_cfg_defaults(&pc);
    pc.reactor = in->r;
    pc.transport = in->transport;
    pc.batch.batch_size = cfg->batch_size;
    pc.batch.window_ms = cfg->batching_window_ms;
    pc.batch.lanes = cfg->parallelization_factor;
    pc.batch.max_inflight = cfg->kesm.max_concurrency ? cfg->kesm.max_concurrency
                            : cfg->kesm.transport == ESM_TRANSPORT_STDOUT
                                ? ESM_STDOUT_CONCURRENCY_DEFAULT
                            : in->opts.max_concurrency ? in->opts.max_concurrency
                                                       : ESM_MAX_CONCURRENCY_DEFAULT;
    pc.batch.event.source = cfg->msk.arn ? INV_EVENT_MSK : INV_EVENT_SELF_MANAGED;
    pc.batch.event.event_source_arn = cfg->msk.arn;
    pc.batch.event.bootstrap_servers = in->bootstrap;
    pc.max_retry_attempts = cfg->max_retry_attempts;
    pc.max_record_age_s = cfg->max_record_age_s;
    pc.bisect_on_error = cfg->bisect_on_error;
    pc.function_arn = cfg->fn.arn;
    pc.log_component = in->pl_log;
    if (cfg->dest_kind == ESM_DEST_DIR) {
        pc.dest_dir = cfg->destination + 7;
    } else if (cfg->dest_kind == ESM_DEST_KAFKA) {
        char derr[256];
        size_t nb;
        const char *const *bl = inst_bootstrap_list(in, &nb);
        in->dest = esm_dest_kafka_new(in->r, bl, nb, cfg->destination + 8, in->tls,
                                      in->sasl ? broker_sasl_auth(in->sasl) : NULL, in->log_tag,
                                      derr, sizeof derr);
        if (!in->dest) {
            return inst_fail(err, cap, "%s", derr);
        }
        pc.dest = esm_dest_kafka_dest(in->dest);
    } else if (cfg->dest_kind == ESM_DEST_ARN) {
        char derr[512];
        const char *mapping = in->opts.mapping_uuid ? in->opts.mapping_uuid : in->group;
        in->dest_aws = esm_dest_aws_new(in->r, in->aws, cfg->destination, mapping, cfg->fn.region,
                                        in->log_tag, derr, sizeof derr);
        if (!in->dest_aws) {
            return inst_fail(err, cap, "%s", derr);
        }
        pc.dest = esm_dest_aws_dest(in->dest_aws, &pc.dest_with_payload, &pc.dest_max_message);
        pc.dest_per_batch = true;
    }
    bool no_filter;
    char ferr[256];
    in->filter = esm_filter_from_criteria(cfg->filter_criteria, &no_filter, ferr, sizeof ferr);
    if (!in->filter && !no_filter) {
        return inst_fail(err, cap, "%s", ferr);
    }
    if (in->filter) {
        kesm_log(KESM_LOG_INFO, in->log, "FilterCriteria: %zu filter%s applied",
                 esm_filter_count(in->filter), esm_filter_count(in->filter) == 1 ? "" : "s");
    }
    pc.filter = in->filter;
    if (build_schema(in, err, cap) != 0) {
        return -1;
    }
    pc.schema = in->schema.stage;
    pc.source = (struct esm_source){src_ack, src_pause, src_resume, in};
    pc.on_result = pl_result;
    pc.on_fatal = pl_fatal;
    pc.cb_ctx = in;
    char perr[256];
    if (esm_pipeline_new(&in->pl, &pc, perr, sizeof perr) != 0) {
        return inst_fail(err, cap, "%s", perr);
    }
    return 0;
}

// env_ms reads an optional tuning variable (milliseconds within [lo, hi]); 0 = unset (the
// consumer default). Out-of-range or malformed values are refused.
static int env_num(const char *name, uint32_t lo, uint32_t hi, const char *unit, uint32_t *out,
                   char *err, size_t cap)
{
    const char *v = getenv(name);
    *out = 0;
    if (!v || !*v) {
        return 0;
    }
    char *end;
    unsigned long x = strtoul(v, &end, 10);
    if (*end || x < lo || x > hi) {
        return inst_fail(err, cap, "%s='%s': must be %" PRIu32 "..%" PRIu32 " %s", name, v, lo, hi,
                         unit);
    }
    *out = (uint32_t)x;
    return 0;
}

static int env_ms(const char *name, uint32_t lo, uint32_t hi, uint32_t *out, char *err, size_t cap)
{
    return env_num(name, lo, hi, "milliseconds", out, err, cap);
}

int esm_process_env(char *err, size_t err_cap)
{
    uint32_t mib = 0;
    if (env_num("KESM_BROKER_MEMORY_MB", 16, 65536, "MiB", &mib, err, err_cap) != 0) {
        return -1;
    }
    net_membudget_set_limit((size_t)mib << 20);
    mib = 0;
    if (env_num("KESM_FETCH_BUDGET_MB", 1, 65536, "MiB", &mib, err, err_cap) != 0) {
        return -1;
    }
    cons_fetch_budget_set_limit((size_t)mib << 20);
    return 0;
}

#define ESM_FETCH_MAX_KB_DEFAULT 4096u

static int build_consumer(struct esm_instance *in, bool tls, char *err, size_t cap)
{
    const struct esm_config *cfg = in->cfg;
    const char *topics[1] = {cfg->topic};
    struct cons_config cc = {.bootstrap = in->bootstrap,
                             .group_id =
                                 cfg->consumer_group_id ? cfg->consumer_group_id : in->group,
                             .topics = topics,
                             .num_topics = 1,
                             .tls = tls ? in->tls : NULL,
                             .auth = in->sasl ? broker_sasl_auth(in->sasl) : NULL,
                             .log_tag = in->log_tag,
                             .assignors = cfg->kesm.num_assignors ? cfg->kesm.assignors : NULL,
                             .num_assignors = cfg->kesm.num_assignors,
                             .group_protocol = (enum cons_group_protocol)cfg->kesm.group_protocol};
    uint32_t mib = 0, fetch_kib = 0;
    if (env_ms("KESM_SESSION_TIMEOUT_MS", 1000, 3600000, &cc.session_timeout_ms, err, cap) ||
        env_ms("KESM_HEARTBEAT_INTERVAL_MS", 100, 600000, &cc.heartbeat_interval_ms, err, cap) ||
        env_ms("KESM_COMMIT_INTERVAL_MS", 100, 600000, &cc.auto_commit_interval_ms, err, cap) ||
        env_num("KESM_MAX_DECOMPRESSED_MB", 1, 4096, "MiB", &mib, err, cap) ||
        env_num("KESM_FETCH_MAX_KB", 64, 1048576, "KiB", &fetch_kib, err, cap)) {
        return -1;
    }
    cc.decompress_limit = (size_t)mib << 20;
    // One Fetch answer is parsed and copied into the batcher at once, so its size is what memory
    // grows by per broker: 4 MiB (Java's default is 50 MiB) is four partitions' worth at the
    // 1 MiB partition limit and keeps the brokers busy.
    cc.fetch_max_bytes = (int32_t)((fetch_kib ? fetch_kib : ESM_FETCH_MAX_KB_DEFAULT) * 1024);
    switch (cfg->starting_position) {
    case ESM_START_TRIM_HORIZON:
        cc.start = CONS_START_TRIM_HORIZON;
        break;
    case ESM_START_LATEST:
        cc.start = CONS_START_LATEST;
        break;
    case ESM_START_AT_TIMESTAMP:
        cc.start = CONS_START_AT_TIMESTAMP;
        cc.start_timestamp_ms = (int64_t)(cfg->starting_position_timestamp * 1000.0);
        break;
    }
    struct cons_callbacks cb = {.on_records = on_records,
                                .on_assigned = on_assigned,
                                .on_revoking = on_revoking,
                                .on_error = on_cons_error,
                                .on_undecodable = on_undecodable,
                                .ctx = in};
    char cerr[256];
    in->cons = cons_new(in->r, &cc, &cb, cerr, sizeof cerr);
    if (!in->cons) {
        return inst_fail(err, cap, "consumer: %s", cerr);
    }
    return 0;
}

static void probed(void *ctx, bool ok, bool no_such_name, const char *why)
{
    struct probe *p = ctx;
    struct esm_instance *in = p->in;
    p->q = NULL;
    p->ok = ok || !no_such_name; // a temporary DNS failure is no proof the name is wrong
    if (--in->probes_left > 0 || in->assigned || in->stopping) {
        return;
    }
    for (size_t i = 0; i < in->cfg->num_bootstrap; i++) {
        if (in->probes[i].ok) {
            return;
        }
    }
    char detail[512];
    snprintf(detail, sizeof detail,
             "None of the bootstrap servers resolves (%s: %s). Check "
             "SelfManagedEventSource.Endpoints.KAFKA_BOOTSTRAP_SERVERS.",
             in->bootstrap, why);
    kesm_log(KESM_LOG_ERROR, in->log, "consumer stopped: %s", detail);
    stop_with(in, ESM_REASON_ESM_CONFIG_NOT_VALID, detail);
}

// probe_bootstrap looks every bootstrap server's host up (host:port or [v6]:port).
static void probe_bootstrap(struct esm_instance *in)
{
    const struct esm_config *cfg = in->cfg;
    in->probes = xcalloc(cfg->num_bootstrap ? cfg->num_bootstrap : 1, sizeof *in->probes);
    in->probes_left = cfg->num_bootstrap;
    for (size_t i = 0; i < cfg->num_bootstrap; i++) {
        char host[HOSTPORT_HOST_MAX + 1] = "";
        uint16_t port;
        const char *b = cfg->bootstrap[i];
        // Validated by esm/config.c already; a failure leaves the name empty (it resolves to
        // nothing and is reported as such).
        (void)hostport_parse(b, strlen(b), 0, host, sizeof host, &port, NULL);
        in->probes[i].in = in;
        in->probes[i].q = net_resolve_start(in->r, host, probed, &in->probes[i]);
    }
}

int esm_instance_new(struct esm_instance **out, struct net_reactor *r, const struct esm_config *cfg,
                     const struct esm_instance_opts *opts, const struct esm_instance_cb *cb,
                     char *err, size_t err_cap)
{
    *out = NULL;
    struct esm_instance *in = xcalloc(1, sizeof *in);
    in->r = r;
    in->cfg = cfg;
    if (cb) {
        in->cb = *cb;
    }
    if (opts) {
        in->opts = *opts;
    }
    if (!in->opts.drain_timeout_ms) {
        in->opts.drain_timeout_ms = DEFAULT_DRAIN_MS;
    }
    const char *uuid = in->opts.mapping_uuid;
    if (uuid) {
        snprintf(in->log_tag, sizeof in->log_tag, "mapping=%.40s", uuid);
        // LoggingConfig.SystemLogLevel: this mapping's lines at their own level (DEBUG, INFO or
        // WARN), whatever KESM_LOG_LEVEL says for the rest of the process.
        kesm_log_set_tag_level(in->log_tag, cfg->aws.system_log_level);
    }
    kesm_log_component(in->log, sizeof in->log, "esm", in->log_tag);
    kesm_log_component(in->pl_log, sizeof in->pl_log, "pipeline", in->log_tag);
    if (in->opts.group_id) {
        snprintf(in->group, sizeof in->group, "%s", in->opts.group_id);
    } else {
        esm_default_group_id(cfg, in->group, sizeof in->group);
    }
    in->bootstrap = cfg->msk.arn ? xstrdup("") : join_bootstrap(cfg);
    in->later = net_timer_new(r, report_stopped, in);
    in->aws = in->opts.aws;
    if (in->aws == NULL) {
        struct inv_aws_cfg ac = {.reactor = r, .default_region = cfg->fn.region};
        in->aws = in->own_aws = inv_aws_new(&ac);
    }
    bool tls = inst_wants_tls(cfg);
    in->why = ESM_REASON_ESM_CONFIG_NOT_VALID;
    if ((tls && inst_build_tls(in, err, err_cap) != 0) ||
        inst_build_sasl(in, tls, err, err_cap) != 0 ||
        inst_build_transport(in, err, err_cap) != 0 ||
        (cfg->msk.arn ? inst_msk_start(in, err, err_cap)
                      : inst_consume(in, tls, in->sasl != NULL, err, err_cap)) != 0) {
        if (in->opts.out_reason) {
            *in->opts.out_reason = in->why;
        }
        esm_instance_free(in);
        return -1;
    }
    *out = in;
    return 0;
}

int inst_consume(struct esm_instance *in, bool tls, bool sasl, char *err, size_t cap)
{
    const struct esm_config *cfg = in->cfg;
    if (!sasl) {
        broker_sasl_free(in->sasl); // MSK: the cluster has no IAM brokers
        in->sasl = NULL;
    }
    if (build_pipeline(in, err, cap) != 0 || build_consumer(in, tls, err, cap) != 0) {
        return -1;
    }
    if (!cfg->msk.arn) {
        probe_bootstrap(in);
    }
    kesm_log(KESM_LOG_INFO, in->log,
             "running: topic %s, group %s, bootstrap %s, transport %s, %s, batch size %" PRIu32
             ", window %" PRIu32 " ms",
             cfg->topic, cfg->consumer_group_id ? cfg->consumer_group_id : in->group, in->bootstrap,
             esm_transport_name(cfg->kesm.transport),
             tls ? (in->sasl ? "TLS+SASL" : "TLS") : (in->sasl ? "SASL (plaintext)" : "plaintext"),
             cfg->batch_size, cfg->batching_window_ms);
    return 0;
}

void esm_instance_status(struct esm_instance *in, struct esm_instance_status *out)
{
    memset(out, 0, sizeof *out);
    if (!in->pl) {
        out->lag = -1;
        out->last_result = "";
        return;
    }
    esm_pipeline_stats(in->pl, &out->pipeline);
    out->last_result = esm_pipeline_last_result(in->pl);
    out->lag = -1;
    if (!in->cons) {
        return;
    }
    struct cons_partition_stats ps[256];
    size_t n = cons_stats(in->cons, ps, 256);
    out->partitions = n;
    for (size_t i = 0; i < n && i < 256; i++) {
        if (ps[i].lag >= 0) {
            out->lag = (out->lag < 0 ? 0 : out->lag) + ps[i].lag;
        }
    }
}

uint64_t esm_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return 0;
    }
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            getrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

void esm_instance_free(struct esm_instance *in)
{
    if (!in) {
        return;
    }
    cons_free(in->cons);
    in->cons = NULL;
    esm_inst_pause_free(in);
    esm_pipeline_free(in->pl);
    in->pl = NULL;
    esm_schema_setup_cleanup(&in->schema);
    esm_filter_free(in->filter);
    esm_dest_kafka_free(in->dest);
    esm_dest_aws_free(in->dest_aws);
    inv_transport_free(in->transport);
    esm_msk_discover_free(in->discover);
    broker_sasl_free(in->sasl);
    esm_token_src_free(in->token);
    for (size_t i = 0; i < in->num_msk_brokers; i++) {
        free(in->msk_brokers[i]);
    }
    free(in->msk_brokers);
    net_tls_ctx_free(in->tls);
    inv_aws_free(in->own_aws);
    if (in->log_tag[0] != '\0') {
        kesm_log_set_tag_level(in->log_tag, -1); // LoggingConfig ends with the instance
    }
    net_timer_free(in->later);
    free(in->recs);
    free(in->hdrs);
    free(in->bootstrap);
    for (size_t i = 0; in->probes && i < in->cfg->num_bootstrap; i++) {
        net_resolve_cancel(in->probes[i].q);
    }
    free(in->probes);
    free(in);
}
