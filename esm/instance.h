// instance.h: one running event source mapping: its consumer, transport and pipeline on a
// reactor, built from a validated struct esm_config. `kesm run` drives one; a runner for
// `kesm serve` can drive one per mapping.
//
// esm_instance_new reads the secrets the SourceAccessConfigurations URIs name (file:// paths,
// Secrets Manager ARNs or names through esm/secrets.h, all holding Secrets Manager shaped JSON:
// {"username","password"}, {"certificate","privateKey", "privateKeyPassword"}, {"certificate"}; a
// SERVER_ROOT_CA_CERTIFICATE file may also be plain PEM), builds TLS and SASL, the transport
// (Kesm.Transport), the pipeline and the consumer, and starts consuming. Secrets never reach logs;
// buffers that held them are wiped.
//
// Stopping: esm_instance_stop stops fetching, lets in-flight invocations finish (bounded), commits
// what succeeded, leaves the group, then reports on_stopped(ESM_REASON_USER_INITIATED). A
// problem that stops the mapping by itself (authentication, authorization, a function that
// cannot be invoked) goes through the same path and reports its reason instead.
#ifndef ESM_INSTANCE_H
#define ESM_INSTANCE_H

#include "esm/config.h"
#include "esm/mapping.h"
#include "esm/pipeline.h"
#include "net/reactor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct esm_instance;

struct esm_instance_cb {
    // on_result: LastProcessingResult changed.
    void (*on_result)(void *ctx, const char *result);
    // on_stopped: the instance stopped (after esm_instance_stop, or by itself with a reason).
    // Free the instance afterwards, outside this callback's stack if convenient.
    void (*on_stopped)(void *ctx, enum esm_reason reason, const char *detail);
    void *ctx;
};

struct esm_secrets;
struct esm_routes;

struct esm_instance_opts {
    const char *group_id;      // used when the config names no ConsumerGroupId (the UUID)
    uint32_t drain_timeout_ms; // how long in-flight invocations may finish on stop [30000]
    // secrets resolves Secrets Manager ARNs and names (esm/secrets.h; borrowed). NULL: only
    // file:// URIs. Secrets Manager values must have been fetched before esm_instance_new.
    struct esm_secrets *secrets;
    // routes: kesm serve --route (esm/route.h; borrowed) for requests without Kesm.Transport.
    const struct esm_routes *routes;
    // out_reason, if set, receives the mapping's reason when esm_instance_new fails:
    // ESM_CONFIG_NOT_VALID, EVENT_SOURCE_AUTHN_ERROR (a secret's key or certificate is unusable,
    // Secrets Manager refused) or FUNCTION_CONFIG_NOT_VALID (no route for the function).
    enum esm_reason *out_reason;
    // mapping_uuid: named in every log line of the instance and its pipeline (component
    // "esm mapping=<UUID>" / "pipeline mapping=<UUID>"); NULL: no mapping (kesm run).
    const char *mapping_uuid;
    // aws: the process's AWS credential chain and endpoints (invoke/aws.h; borrowed, shared by
    // every mapping so credentials are fetched once). NULL: the instance makes its own.
    struct inv_aws *aws;
    // max_concurrency: batches in flight at once when the configuration has no
    // Kesm.MaxConcurrency (kesm serve --max-concurrency) [ESM_MAX_CONCURRENCY_DEFAULT].
    uint32_t max_concurrency;
};

// esm_instance_new builds and starts; 0, or -1 with one line in |err| (a configuration or
// secret problem: nothing was started).
int esm_instance_new(struct esm_instance **out, struct net_reactor *r, const struct esm_config *cfg,
                     const struct esm_instance_opts *opts, const struct esm_instance_cb *cb,
                     char *err, size_t err_cap);

// esm_instance_stop starts a graceful stop (see the file comment); calling it again is a no-op.
void esm_instance_stop(struct esm_instance *in);

// struct esm_instance_status: for a status line.
struct esm_instance_status {
    struct esm_pipeline_stats pipeline;
    int64_t lag; // sum over assigned partitions of high watermark - position (-1 unknown)
    size_t partitions;
    const char *last_result;
};
void esm_instance_status(struct esm_instance *in, struct esm_instance_status *out);

// esm_instance_metrics fills the counters, connection states and partitions of |out| (see
// esm/metrics.h; partitions and their topics are allocated: esm_metrics_mapping_cleanup) and sets
// out->running. The uuid, function and state members are left alone.
struct esm_metrics_mapping;
void esm_instance_metrics(struct esm_instance *in, struct esm_metrics_mapping *out);

// esm_raise_fd_limit raises the soft limit on open descriptors (RLIMIT_NOFILE) to the hard
// limit, at most 65536, as servers do at start: every batch in flight holds a connection or a
// child process's pipes, and the usual soft limit of 1024 is below what one mapping at
// ESM_MAX_CONCURRENCY_MAX needs. Returns the soft limit in force afterwards (0 if unknown).
uint64_t esm_raise_fd_limit(void);

// esm_instance_free frees at once (no commit). NULL is a no-op.
void esm_instance_free(struct esm_instance *in);

// esm_process_env applies the process-wide settings of the environment (KESM_BROKER_MEMORY_MB:
// the memory budget of broker response frames, net/membudget.h, 16..65536 MiB, default 256).
// Returns 0, or -1 with one line in |err| for a malformed or out-of-range value.
int esm_process_env(char *err, size_t err_cap);

// esm_default_group_id writes a stable UUID-shaped group id derived from the function, topic and
// bootstrap servers into |out| (>= 37 bytes): `kesm run` has no mapping UUID, and restarting it
// must resume from the same group's commits.
void esm_default_group_id(const struct esm_config *cfg, char *out, size_t cap);

#endif
