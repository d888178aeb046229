// runner_instance.h: the runner of `kesm serve` that really runs mappings: one esm_instance
// (Kafka consumer, pipeline, transport) per enabled mapping, on a net reactor.
//
// start builds an instance from a private copy of the mapping's configuration (the manager may
// replace its own copy at any time) and reports running once it consumes, or stopped with
// ESM_CONFIG_NOT_VALID and the reason when it cannot be built (for example a secret URI that is
// not a readable file:// path, or a missing secret), with EVENT_SOURCE_AUTHN_ERROR when a
// secret's key or certificate is unusable, or FUNCTION_CONFIG_NOT_VALID when no route delivers
// the function. update restarts the instance with the new configuration (a
// graceful stop: in-flight invocations finish and offsets are committed first). stop stops it
// gracefully; problems that stop an instance by itself arrive with their reason.
#ifndef ESM_RUNNER_INSTANCE_H
#define ESM_RUNNER_INSTANCE_H

#include "esm/mapping.h"
#include "net/reactor.h"

#include <stdint.h>

// esm_runner_instance_new makes the runner; install it with esm_manager_set_runner, which takes
// ownership. |drain_timeout_ms| bounds how long in-flight invocations may finish on a stop.
// Returns a runner with NULL ops on out-of-memory.
struct esm_runner esm_runner_instance_new(struct esm_manager *mgr, struct net_reactor *r,
                                          uint32_t drain_timeout_ms);

// struct esm_runner_env: what `kesm serve` configures for every mapping (borrowed; must outlive
// the runner). secrets resolves Secrets Manager ARNs and names (fetching from Secrets Manager
// before a start when so configured; after an EVENT_SOURCE_AUTHN_ERROR stop the fetched values
// are dropped and the mapping starts once more with fresh ones); routes delivers requests
// without Kesm.Transport (esm/route.h); aws is shared by every mapping.
// policy (esm/policy.h) is checked again at every start: a stored mapping that asks for what the
// operator no longer allows stops with ESM_CONFIG_NOT_VALID naming the member and the flag.
struct esm_secrets;
struct esm_routes;
struct esm_policy;
struct inv_aws;
struct esm_runner_env {
    struct esm_secrets *secrets;
    const struct esm_routes *routes;
    const struct esm_policy *policy; // NULL: anything
    struct inv_aws *aws; // the process's AWS credential chain and endpoints (invoke/aws.h)
    // max_concurrency: batches in flight per mapping without Kesm.MaxConcurrency (kesm serve
    // --max-concurrency); 0: ESM_MAX_CONCURRENCY_DEFAULT.
    uint32_t max_concurrency;
};

// esm_runner_instance_metrics is the esm_runner_metrics_fn of this runner (install it with
// esm_manager_set_runner_metrics): the counters of the mapping's running instance.
void esm_runner_instance_metrics(void *impl, struct esm_mapping *m,
                                 struct esm_metrics_mapping *out);

// esm_runner_instance_set_env installs |env| on a runner from esm_runner_instance_new.
void esm_runner_instance_set_env(struct esm_runner rn, const struct esm_runner_env *env);

#endif
