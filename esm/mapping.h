// mapping.h: event source mappings as a service manages them: the set of mappings, their
// lifecycle (State, StateTransitionReason, LastProcessingResult), persistence, and the seam to
// whatever actually runs a mapping (struct esm_runner).
//
// Lifecycle (Lambda's documented states; arrows as kesm drives them):
//
//   create ─► Creating ─► Enabled            (runner reported running)
//                     └─► Disabled           (Enabled=false, or the runner stopped with a reason)
//   update Enabled=false: Enabled ─► Disabling ─► Disabled
//   update Enabled=true:  Disabled ─► Enabling ─► Enabled | Disabled (runner stopped: reason)
//   update other members: Enabled ─► Updating ─► Enabled;  Disabled ─► Updating ─► Disabled
//   delete ─► Deleting ─► (gone once the runner has stopped)
//
// Create/Update/Delete while a mapping is Creating, Enabling, Disabling, Updating or Deleting fail
// with ResourceInUseException. Each operation returns the mapping as it was when the operation
// was accepted (so Create shows Creating and Delete shows Deleting), then starts the transition;
// a runner may report synchronously or later.
//
// Everything here is single-threaded: call it from the thread that runs the event loop.
#ifndef ESM_MAPPING_H
#define ESM_MAPPING_H

#include "esm/config.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

struct esm_manager;
struct esm_mapping;
struct esm_store;
struct esm_metrics_mapping;

enum esm_state {
    ESM_STATE_CREATING,
    ESM_STATE_ENABLING,
    ESM_STATE_ENABLED,
    ESM_STATE_DISABLING,
    ESM_STATE_DISABLED,
    ESM_STATE_UPDATING,
    ESM_STATE_DELETING,
};

// enum esm_reason: StateTransitionReason. The first five are Lambda's; the last is kesm's own
// for a build or configuration that cannot run mappings at all.
enum esm_reason {
    ESM_REASON_USER_INITIATED,
    ESM_REASON_ESM_CONFIG_NOT_VALID,
    ESM_REASON_EVENT_SOURCE_AUTHN_ERROR,
    ESM_REASON_EVENT_SOURCE_AUTHZ_ERROR,
    ESM_REASON_FUNCTION_CONFIG_NOT_VALID,
    ESM_REASON_CONSUMER_NOT_AVAILABLE,
};

const char *esm_state_name(enum esm_state s);
const char *esm_reason_name(enum esm_reason r);
bool esm_state_is_transitional(enum esm_state s);

// struct esm_runner: what runs mappings (the Kafka consumer and invoke pipeline), behind a
// vtable. The manager calls start when a mapping should run, update when an enabled mapping's
// configuration changed, stop when it should stop (disable or delete). The runner answers through
// esm_manager_on_running / esm_manager_on_stopped / esm_manager_on_result, synchronously from
// within the call or later on the loop thread. After stop, the runner must eventually call
// esm_manager_on_stopped exactly once; a mapping is freed only after that.
struct esm_runner_ops {
    const char *name;
    void (*start)(void *impl, struct esm_mapping *m);
    void (*update)(void *impl, struct esm_mapping *m);
    void (*stop)(void *impl, struct esm_mapping *m);
    void (*free)(void *impl);
};

// esm_runner_metrics_fn fills the counters of a mapping the runner |impl| runs (esm/metrics.h,
// e.g. esm_runner_instance_metrics); it leaves |out| alone when it does not run |m|.
typedef void (*esm_runner_metrics_fn)(void *impl, struct esm_mapping *m,
                                      struct esm_metrics_mapping *out);

struct esm_runner {
    const struct esm_runner_ops *ops;
    void *impl;
};

// Runner → manager reports.
// esm_manager_on_running: the mapping is polling (Creating/Enabling/Updating → Enabled).
void esm_manager_on_running(struct esm_manager *mgr, struct esm_mapping *m);
// esm_manager_on_stopped: the runner stopped. ESM_REASON_USER_INITIATED answers a stop request;
// any other reason is an unrecoverable problem: State becomes Disabled, StateTransitionReason the
// reason, and LastProcessingResult "PROBLEM: <detail>".
void esm_manager_on_stopped(struct esm_manager *mgr, struct esm_mapping *m, enum esm_reason reason,
                            const char *detail);
// esm_manager_on_result sets LastProcessingResult (e.g. "OK", "PROBLEM: Connection error. ...").
void esm_manager_on_result(struct esm_manager *mgr, struct esm_mapping *m, const char *result);

// Accessors for runners.
const struct esm_config *esm_mapping_config(const struct esm_mapping *m);
const char *esm_mapping_uuid(const struct esm_mapping *m);
enum esm_state esm_mapping_state(const struct esm_mapping *m);
// esm_mapping_set_runner_data / esm_mapping_runner_data: one pointer of runner state per mapping.
void esm_mapping_set_runner_data(struct esm_mapping *m, void *data);
void *esm_mapping_runner_data(const struct esm_mapping *m);

// esm_runner_unavailable makes the runner of a build without the Kafka consumer: every start is
// answered with on_stopped(ESM_REASON_CONSUMER_NOT_AVAILABLE), so a mapping never claims to run.
struct esm_runner esm_runner_unavailable(struct esm_manager *mgr);

typedef void (*esm_log_fn)(void *ctx, const char *line);

// struct esm_manager_config: zero-initialise, then set what you need.
struct esm_manager_config {
    struct esm_store *store;  // borrowed; NULL = no persistence
    const char *region;       // for bare function names; NULL = "us-east-1"
    const char *account;      // for bare function names; NULL = "000000000000"
    double (*now)(void *ctx); // epoch seconds; NULL = the system clock
    void *now_ctx;
    esm_log_fn log; // NULL = stderr
    void *log_ctx;
    // policy: what create and update may ask for (esm/policy.h; borrowed); NULL = anything (a
    // manager not serving an API, tests).
    const struct esm_policy *policy;
};

// esm_manager_new makes an empty manager; esm_manager_set_runner installs the runner (the
// manager takes ownership and calls its free). esm_manager_free stops nothing: call it after the
// runner has stopped everything (or with a runner that holds no resources).
struct esm_manager *esm_manager_new(const struct esm_manager_config *cfg);
void esm_manager_set_runner(struct esm_manager *mgr, struct esm_runner runner);
// esm_manager_set_runner_metrics installs how esm_manager_metrics asks the installed runner for
// a running mapping's counters (NULL: none).
void esm_manager_set_runner_metrics(struct esm_manager *mgr, esm_runner_metrics_fn fn);
void esm_manager_free(struct esm_manager *mgr);

// esm_manager_restore loads every stored mapping and starts those that are enabled (a mapping
// that was Deleting is finished off). Files that fail validation are moved aside and logged.
// Returns the number restored.
unsigned esm_manager_restore(struct esm_manager *mgr);

// esm_manager_stop_all asks the runner to stop every mapping (for shutdown); states are not
// persisted as Disabled. Returns the number still waiting for on_stopped.
unsigned esm_manager_stop_all(struct esm_manager *mgr);

// esm_manager_active returns how many mappings the runner still holds (started and not yet
// reported stopped).
unsigned esm_manager_active(const struct esm_manager *mgr);

// enum esm_op_status: outcome of an API operation; the API layer maps it to an AWS error.
enum esm_op_status {
    ESM_OP_OK,
    ESM_OP_INVALID,   // InvalidParameterValueException (400)
    ESM_OP_NOT_FOUND, // ResourceNotFoundException (404)
    ESM_OP_CONFLICT,  // ResourceConflictException (409)
    ESM_OP_IN_USE,    // ResourceInUseException (400)
    ESM_OP_INTERNAL,  // ServiceException (500)
};

// struct esm_op_result: |body| (owned by the caller, cJSON_Delete it) on success, |message| on
// failure.
struct esm_op_result {
    enum esm_op_status status;
    cJSON *body;
    char message[2300];
};

void esm_manager_create(struct esm_manager *mgr, const cJSON *req, struct esm_op_result *out);
void esm_manager_get(struct esm_manager *mgr, const char *uuid, struct esm_op_result *out);
void esm_manager_update(struct esm_manager *mgr, const char *uuid, const cJSON *req,
                        struct esm_op_result *out);
void esm_manager_delete(struct esm_manager *mgr, const char *uuid, struct esm_op_result *out);
// esm_manager_list: |function_name|, |event_source_arn| and |marker| may be NULL; |max_items| 0
// means unset (1-10000 otherwise). At most 100 mappings per page; NextMarker when more remain.
void esm_manager_list(struct esm_manager *mgr, const char *function_name,
                      const char *event_source_arn, const char *marker, long max_items,
                      struct esm_op_result *out);

// esm_uuid_v4 writes a random (version 4) UUID, lower-case, NUL-terminated.
void esm_uuid_v4(char out[37]);

// esm_manager_metrics returns a snapshot of every mapping (uuid, function ARN, state and, from the
// runner, the counters of those it runs) in *out (caller: esm_metrics_mapping_cleanup on each,
// then free); the count in *out_n. Returns 0, or -1 on out-of-memory.
int esm_manager_metrics(struct esm_manager *mgr, struct esm_metrics_mapping **out, size_t *out_n);

// esm_metrics_hook_fn annotates a snapshot before esm_manager_metrics returns it (the status
// tracker marks stuck partitions: esm/status.h).
typedef void (*esm_metrics_hook_fn)(void *ctx, struct esm_metrics_mapping *maps, size_t n);
void esm_manager_set_metrics_hook(struct esm_manager *mgr, esm_metrics_hook_fn fn, void *ctx);

// esm_manager_set_stuck sets (|problem| "PROBLEM: ...") or clears (NULL) the stuck-partition
// problem of mapping |uuid|: while set, LastProcessingResult shows it instead of the pipeline's
// own result (which is kept, and shown again once cleared). It is not persisted, and a mapping
// that starts or stops drops it. Returns 0, or -1 for an unknown mapping or out of memory.
int esm_manager_set_stuck(struct esm_manager *mgr, const char *uuid, const char *problem);

// esm_manager_count returns how many mappings exist (Deleting ones included).
unsigned esm_manager_count(const struct esm_manager *mgr);

#endif
