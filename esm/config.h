// config.h: one event source mapping's configuration, in the shape of Lambda's
// CreateEventSourceMapping request, validated.
//
// esm_config_parse takes the request JSON (what `aws lambda create-event-source-mapping` sends, or
// the file given to `kesm run --config`) and either fills a struct esm_config or reports every
// invalid member in one message, Lambda style:
//
//   2 validation errors detected: Value '0' at 'BatchSize' failed to satisfy constraint: Member
//   must be an integer between 1 and 10000; Value 'x' at 'Topics[0]' failed to satisfy ...
//
// The same message is the body of an InvalidParameterValueException (kesm serve) and the detail of
// ESM_CONFIG_NOT_VALID (kesm run). esm_config_merge_update applies an UpdateEventSourceMapping body
// to a stored request and re-validates the result as a whole, so every combination rule holds
// after an update too.
//
// The accepted request is kept (a deep copy, `request`) so that every member is echoed back
// exactly as given; the typed fields below are views into it for the consumer and the invoker.
#ifndef ESM_CONFIG_H
#define ESM_CONFIG_H

#include "consumer/assignor.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum esm_start_pos {
    ESM_START_TRIM_HORIZON,
    ESM_START_LATEST,
    ESM_START_AT_TIMESTAMP,
};

enum esm_sac_type {
    ESM_SAC_BASIC_AUTH,
    ESM_SAC_SASL_SCRAM_256_AUTH,
    ESM_SAC_SASL_SCRAM_512_AUTH,
    ESM_SAC_CLIENT_CERTIFICATE_TLS_AUTH,
    ESM_SAC_SERVER_ROOT_CA_CERTIFICATE,
    ESM_SAC_VPC_SUBNET,
    ESM_SAC_VPC_SECURITY_GROUP,
};

enum esm_dest_kind {
    ESM_DEST_NONE,  // absent or ""
    ESM_DEST_KAFKA, // kafka://<topic> on the source cluster
    ESM_DEST_ARN,   // an SQS/SNS/S3 ARN: stored and echoed; kesm cannot deliver to it
    ESM_DEST_DIR,   // kesm extension: file:///absolute/dir, one JSON file per failed batch
};

enum esm_transport {
    ESM_TRANSPORT_LAMBDA, // Lambda Invoke API with SigV4 (default)
    ESM_TRANSPORT_HTTP,   // POST the event to Url (e.g. the Runtime Interface Emulator)
    ESM_TRANSPORT_EXEC,   // run Command with the event on stdin
    ESM_TRANSPORT_STDOUT, // print each event as one line
};

struct esm_sac {
    enum esm_sac_type type;
    const char *uri;
};

// The schema registry of a mapping (SelfManagedKafkaEventSourceConfig.SchemaRegistryConfig;
// checks in esm/config_schema.c, use in esm/schema_stage.c).
enum esm_sr_kind {
    ESM_SR_NONE,
    ESM_SR_CONFLUENT, // SchemaRegistryURI is an http(s) URL
    ESM_SR_GLUE,      // SchemaRegistryURI is a Glue registry ARN
};

enum esm_sr_format {
    ESM_SR_FORMAT_JSON,   // the validated attributes are delivered as JSON text
    ESM_SR_FORMAT_SOURCE, // in their original encoding, registry framing removed
};

enum esm_sr_auth {
    ESM_SR_BASIC_AUTH,
    ESM_SR_CLIENT_CERTIFICATE_TLS_AUTH,
    ESM_SR_SERVER_ROOT_CA_CERTIFICATE,
};

#define ESM_SR_MAX_ACCESS 2

struct esm_schema_registry {
    enum esm_sr_kind kind;
    const char *uri; // view into the request
    enum esm_sr_format format;
    struct {
        enum esm_sr_auth type;
        const char *uri; // a secret, resolved like SourceAccessConfigurations URIs
    } access[ESM_SR_MAX_ACCESS];
    size_t num_access;
    bool key;                // SchemaValidationConfigs names KEY
    bool value;              // ... VALUE
    char glue_region[32];    // Glue: the registry ARN's region
    char glue_registry[256]; // Glue: the registry name
};

// struct esm_msk: an Amazon MSK event source (EventSourceArn; checks in esm/config_msk.c).
// The bootstrap brokers are asked from the Kafka API (GetBootstrapBrokers) when the mapping starts.
struct esm_msk {
    const char *arn;  // arn:<partition>:kafka:<region>:<account>:cluster/<name>/<uuid>; a view
    char region[32];  // the ARN's region
    char cluster[65]; // the cluster name
};

// struct esm_function_ref: FunctionName taken apart. Views into the request or `arn`.
struct esm_function_ref {
    char *arn;             // owned: arn:<partition>:lambda:<region>:<account>:function:<name>[:q]
    char *partition;       // owned
    char *region;          // owned
    char *account;         // owned
    char *name;            // owned
    char *qualifier;       // owned; NULL when unqualified
    bool given_as_arn;     // the request named a full ARN
    bool given_as_partial; // the request named <account>:function:<name>
};

// ESM_MAX_CONCURRENCY_DEFAULT: batches in flight at once per mapping when neither
// Kesm.MaxConcurrency nor `kesm serve --max-concurrency` says otherwise (one per partition up to
// it); ESM_MAX_CONCURRENCY_MAX bounds both. Each batch in flight holds one exec child process
// (three descriptors) or one HTTP connection.
#define ESM_MAX_CONCURRENCY_DEFAULT 100
// ESM_STDOUT_CONCURRENCY_DEFAULT: the same for the stdout transport when Kesm.MaxConcurrency is
// not set. One descriptor writes one payload at a time: a second batch keeps it busy, more would
// only hold encoded payloads in memory (48 partitions: 62 -> 31 MiB peak on the benchmark).
#define ESM_STDOUT_CONCURRENCY_DEFAULT 2
#define ESM_MAX_CONCURRENCY_MAX 1000

// struct esm_kesm: the "Kesm" extension member (documented in README.md, Configuration).
struct esm_kesm {
    enum esm_transport transport;
    const char *url;      // NULL = derived (lambda) / required (http)
    const char **command; // exec only: argv, NULL-terminated, owned array
    size_t num_command;
    const char *region;            // Lambda region override; NULL = the function ARN's
    uint32_t invoke_timeout_ms;    // default 840000 (14 min)
    bool tls_insecure_skip_verify; // broker TLS: skip certificate verification (tests only)
    bool sasl_allow_plaintext;     // allow SASL without TLS (Lambda refuses it)
    int tls;                       // -1 auto (from the access configurations), 0 off, 1 on
    // Secrets for `kesm run` (kesm serve uses its --secrets-* flags instead; see esm/secrets.h):
    const char *secrets_dir;              // directory for Secrets Manager ARNs and names
    bool secrets_manager;                 // fetch them from AWS Secrets Manager
    const char *secrets_manager_endpoint; // endpoint override (tests)
    uint32_t max_concurrency;             // MaxConcurrency, 1..1000; 0 = not given (the default)
    // PartitionAssignmentStrategy: the classic group protocol's assignors, in preference order
    // (0 = the consumer's default, range then roundrobin).
    enum cons_assignor assignors[CONS_MAX_ASSIGNORS];
    size_t num_assignors;
    // GroupProtocol: 0 classic (default), 1 consumer (KIP-848), 2 auto (consumer when the
    // broker offers it); the values of enum cons_group_protocol (consumer/consumer.h).
    int group_protocol;
    // SASL/OAUTHBEARER with the token in this file, read again for every authentication (so a
    // rotated token is picked up); for self-managed clusters that take OAUTHBEARER.
    const char *oauth_token_file;
};

// struct esm_aws_fields: the members added since 2024 (esm/config_aws.c). Views into request.
enum {
    ESM_METRICS_EVENT_COUNT = 1u << 0, // MetricsConfig.Metrics EventCount
    ESM_METRICS_ERROR_COUNT = 1u << 1, // ErrorCount
    ESM_METRICS_KAFKA = 1u << 2,       // KafkaMetrics
};
struct esm_aws_fields {
    unsigned metrics;             // ESM_METRICS_* bits
    int system_log_level;         // LoggingConfig.SystemLogLevel: -1 unset, 0 DEBUG, 1 INFO, 2 WARN
    bool provisioned;             // ProvisionedPollerConfig given
    uint32_t min_pollers;         // 1..200 (default 1)
    uint32_t max_pollers;         // 1..10000 (default 200)
    const char *poller_group;     // PollerGroupName or NULL
    const char *kms_key_arn;      // KMSKeyArn or NULL
    const char *consumption_mode; // "Stream" or NULL (Queue is refused)
};

struct esm_config {
    cJSON *request; // owned: the accepted request, members exactly as given
    struct esm_function_ref fn;
    const char *topic;
    enum esm_start_pos starting_position;
    bool starting_position_given;
    double starting_position_timestamp; // epoch seconds; AT_TIMESTAMP only
    uint32_t batch_size;                // default 100
    uint32_t batching_window_ms;        // default 500
    bool batching_window_given;
    uint32_t
        parallelization_factor; // ParallelizationFactor 1..10, default 1: batches per partition
    bool enabled;               // default true
    const char **bootstrap;     // owned array of views; empty for MSK (discovered at start)
    size_t num_bootstrap;
    struct esm_msk msk; // EventSourceArn (Amazon MSK); msk.arn NULL for self-managed
    // group_member: where the consumer group and schema registry are given and echoed:
    // "AmazonManagedKafkaEventSourceConfig" (MSK) or "SelfManagedKafkaEventSourceConfig".
    const char *group_member;
    struct esm_sac *sacs; // owned array
    size_t num_sacs;
    const char *consumer_group_id; // NULL: the mapping UUID
    enum esm_dest_kind dest_kind;
    const char *destination;         // the Destination string; NULL when none
    int32_t max_retry_attempts;      // -1 = infinite (default)
    int32_t max_record_age_s;        // -1 = infinite (default)
    bool bisect_on_error;            // default false
    bool report_batch_item_failures; // FunctionResponseTypes contains ReportBatchItemFailures
    const cJSON *filter_criteria;    // validated patterns; esm/filter.h compiles and applies them
    struct esm_aws_fields aws;       // MetricsConfig, LoggingConfig, ProvisionedPollerConfig, ...
    struct esm_schema_registry registry; // kind ESM_SR_NONE without SchemaRegistryConfig
    struct esm_kesm kesm;
};

// struct esm_parse_opts: context for validation.
struct esm_parse_opts {
    double now;                  // epoch seconds, for "StartingPositionTimestamp not in future"
    const char *default_region;  // for a bare function name; NULL = "us-east-1"
    const char *default_account; // for a bare function name; NULL = "000000000000"
};

// struct esm_cfg_err: the collected validation errors (at most ESM_CFG_MAX_ERRORS are listed).
#define ESM_CFG_MAX_ERRORS 8
struct esm_cfg_err {
    unsigned num;       // how many errors were found
    char items[2048];   // "Value ... ; Value ..." joined by "; "
    char message[2200]; // the full message, filled by the parse functions on failure
};

// esm_config_parse validates |req| (a CreateEventSourceMapping body). On success it returns true
// and |out| owns a deep copy of |req|; on failure it returns false, |out| is left zeroed and
// |err|->message says what is wrong. |out| must be zeroed or cleaned up before the call.
bool esm_config_parse(struct esm_config *out, const cJSON *req, const struct esm_parse_opts *opts,
                      struct esm_cfg_err *err);

// esm_config_parse_text is esm_config_parse on JSON text of |len| bytes.
bool esm_config_parse_text(struct esm_config *out, const char *text, size_t len,
                           const struct esm_parse_opts *opts, struct esm_cfg_err *err);

// esm_config_merge_update checks that |update| (an UpdateEventSourceMapping body) names only
// updatable members, overlays it on |cur|->request and validates the result into |out| (zeroed).
// ConsumerGroupId may be repeated but not changed. Returns false with |err| filled on failure.
bool esm_config_merge_update(struct esm_config *out, const struct esm_config *cur,
                             const cJSON *update, const struct esm_parse_opts *opts,
                             struct esm_cfg_err *err);

// esm_config_cleanup frees what |cfg| owns and zeroes it. Safe on a zeroed config.
void esm_config_cleanup(struct esm_config *cfg);

// struct esm_config_meta: what the service adds to a mapping's configuration in responses.
struct esm_config_meta {
    const char *uuid;
    const char *state;
    const char *state_transition_reason;
    const char *last_processing_result;
    double last_modified; // epoch seconds
};

// esm_config_to_response builds the EventSourceMappingConfiguration object (the members Create,
// Get, Update, Delete and List return) as a new cJSON object the caller frees; NULL on OOM.
cJSON *esm_config_to_response(const struct esm_config *cfg, const struct esm_config_meta *meta);

// esm_config_esm_arn writes arn:<partition>:lambda:<region>:<account>:event-source-mapping:<uuid>
// into |out| (|out_len| bytes). Returns false if it does not fit.
bool esm_config_esm_arn(const struct esm_config *cfg, const char *uuid, char *out, size_t out_len);

// esm_function_ref_parse takes a FunctionName apart (name, name:qualifier, partial or full ARN),
// filling |out| (owned strings; esm_function_ref_cleanup frees them). Returns false and writes a
// constraint text into |why| (|why_len| bytes) if it is not a valid function name.
bool esm_function_ref_parse(struct esm_function_ref *out, const char *name,
                            const struct esm_parse_opts *opts, char *why, size_t why_len);
void esm_function_ref_cleanup(struct esm_function_ref *ref);

// Names for logs and responses.
const char *esm_start_pos_name(enum esm_start_pos p);
const char *esm_sac_type_name(enum esm_sac_type t);
const char *esm_transport_name(enum esm_transport t);
const char *esm_sr_auth_name(enum esm_sr_auth t);

#endif
