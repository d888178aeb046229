// instance_int.h: the running mapping's object, shared by esm/instance.c (lifecycle, the
// consumer glue, stopping) and esm/instance_build.c (TLS, SASL and the transport from the
// configuration and its secrets). Nothing outside esm/ includes this.
#ifndef ESM_INSTANCE_INT_H
#define ESM_INSTANCE_INT_H

#include "base/log.h"
#include "esm/instance.h"
#include "esm/schema_stage.h"
#include "invoke/aws.h"

#include <stdbool.h>
#include <stddef.h>

#define DEFAULT_DRAIN_MS 30000u
#define REVOKE_TIMEOUT_MS 60000u

// struct esm_rb_pause: a partition's rebalance pauses (instance_metrics.c): revoked_ms is the
// monotonic time of its revocation while it waits to come back (-1: not waiting).
struct esm_rb_pause {
    char *topic;
    int32_t partition;
    int64_t revoked_ms;
    uint64_t pauses;
    uint64_t pause_ms;
};

struct esm_instance {
    struct net_reactor *r;
    const struct esm_config *cfg;
    struct esm_instance_cb cb;
    struct esm_instance_opts opts;
    char group[256];
    char *bootstrap;
    char *function_arn;
    struct net_tls_ctx *tls;
    struct broker_sasl *sasl;
    struct esm_token_src *token;       // OAUTHBEARER tokens (MSK IAM, a token file) for sasl
    struct esm_msk_discover *discover; // MSK: GetBootstrapBrokers in progress
    char **msk_brokers;                // MSK: the discovered bootstrap brokers (owned)
    size_t num_msk_brokers;
    struct inv_aws *aws;     // opts.aws, or own_aws
    struct inv_aws *own_aws; // made when the caller gave none
    struct inv_transport *transport;
    struct esm_pipeline *pl;
    struct esm_filter *filter;      // FilterCriteria; NULL: every record is delivered
    struct esm_schema_setup schema; // SchemaRegistryConfig; stage NULL without one
    struct esm_dest_kafka *dest;
    struct esm_dest_aws *dest_aws; // SQS, SNS or S3 on-failure destination
    struct cons *cons;
    struct inv_record *recs; // conversion scratch
    size_t cap_recs;
    struct inv_header *hdrs;
    size_t cap_hdrs;
    struct net_timer *later; // report on_stopped from a clean stack
    bool stopping;
    bool stopped;
    enum esm_reason reason;
    char detail[512];
    enum esm_reason why;  // why esm_instance_new failed
    bool assigned;        // partitions were assigned at least once
    struct probe *probes; // one name lookup per bootstrap server
    size_t probes_left;
    uint64_t rebalances;         // assignments received
    uint64_t conn_errors;        // transient consumer errors (broker connection problems)
    uint64_t poll_errors;        // consumer errors (PollingErrorCount)
    struct esm_rb_pause *pauses; // per partition seen revoked (instance_metrics.c)
    size_t num_pauses;
    // log_tag: "mapping=<UUID>" (empty without a UUID), handed to every layer below so each
    // line about this mapping names it; log and pl_log are this layer's and the pipeline's
    // components ("esm mapping=<UUID>", "pipeline mapping=<UUID>").
    char log_tag[KESM_LOG_TAG_MAX + 1];
    char log[KESM_LOG_COMPONENT_CAP];
    char pl_log[KESM_LOG_COMPONENT_CAP];
};

// struct probe: whether a bootstrap server's name resolves (so that names that do not exist
// stop the mapping with a reason instead of an endless "Connection error"). ok is also true
// when the lookup failed only temporarily.
struct probe {
    struct esm_instance *in;
    struct net_resolve *q;
    bool ok;
};

// instance.c: one line into |err| (|cap| bytes); returns -1.
int inst_fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// instance_build.c: each returns 0, or -1 with |err| (and in->why set to the ESM reason).
// inst_wants_tls: the broker connections run TLS (Kesm.Tls, or implied by SASL, a client
// certificate or a root CA).
bool inst_wants_tls(const struct esm_config *cfg);
int inst_build_tls(struct esm_instance *in, char *err, size_t cap);
int inst_build_sasl(struct esm_instance *in, bool tls, char *err, size_t cap);
int inst_build_transport(struct esm_instance *in, char *err, size_t cap);

// instance_metrics.c: the rebalance pause table (esm_rb_pause), from the consumer's revocations
// and assignments.
struct cons_tp;
void esm_inst_pause_revoked(struct esm_instance *in, const struct cons_tp *tps, size_t n);
void esm_inst_pause_assigned(struct esm_instance *in, const struct cons_tp *tps, size_t n);
void esm_inst_pause_free(struct esm_instance *in);

// instance.c: inst_consume builds the pipeline and the consumer on in->bootstrap and starts
// consuming (TLS and SASL as given); 0 or -1 with |err|. inst_stop_with stops with a reason.
int inst_consume(struct esm_instance *in, bool tls, bool sasl, char *err, size_t cap);
void inst_stop_with(struct esm_instance *in, enum esm_reason reason, const char *detail);

// instance_msk.c: an MSK mapping asks for its brokers first (esm/msk_discover.h) and consumes
// once they are known (inst_consume); a failure stops it with the reason. 0 or -1 with |err|.
int inst_msk_start(struct esm_instance *in, char *err, size_t cap);
// inst_bootstrap_list: the bootstrap servers as an array (the configuration's, or MSK's).
const char *const *inst_bootstrap_list(const struct esm_instance *in, size_t *out_n);

#endif
