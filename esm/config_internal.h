// config_internal.h: helpers shared by config.c and config_kesm.c. Not for other modules.
#ifndef ESM_CONFIG_INTERNAL_H
#define ESM_CONFIG_INTERNAL_H

#include "esm/config.h"

#include <stdbool.h>
#include <stdint.h>

// cfg_fail records "Value '<value>' at '<field>' failed to satisfy constraint: <constraint>".
void cfg_fail(struct esm_cfg_err *err, const char *field, const cJSON *value,
              const char *constraint);
// cfg_fail_text records a free-form error item.
void cfg_fail_text(struct esm_cfg_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
// cfg_finish composes err->message from the items.
void cfg_finish(struct esm_cfg_err *err);

// Typed readers: each returns true and sets *out, or records an error naming |field|.
bool cfg_int(struct esm_cfg_err *err, const char *field, const cJSON *v, int64_t min, int64_t max,
             int64_t *out);
bool cfg_bool(struct esm_cfg_err *err, const char *field, const cJSON *v, bool *out);
bool cfg_str(struct esm_cfg_err *err, const char *field, const cJSON *v, size_t min_len,
             size_t max_len, const char **out);

bool cfg_charset_ok(const char *s, const char *extra);
bool cfg_lookup(const char *const *names, size_t num, const char *s, size_t *out);
bool cfg_topic_ok(const char *t);
// cfg_arn_split cuts an ARN at its first five ':' into f[0..5] (not NUL-terminated) with lengths
// n[0..5]; false when it has fewer than six fields (config_aws.c).
bool cfg_arn_split(const char *s, const char *f[6], size_t n[6]);
// cfg_arn_ok: an ARN's frame, its region a bare name (config_aws.c).
bool cfg_arn_ok(const char *s);

// cfg_parse_schema_registry validates a SchemaRegistryConfig member (|field| is its path for
// messages, e.g. "SelfManagedKafkaEventSourceConfig.SchemaRegistryConfig") into c->registry.
void cfg_parse_schema_registry(struct esm_config *c, const cJSON *v, const char *field,
                               struct esm_cfg_err *err);

// cfg_parse_msk sets c->group_member and, when |req| names an EventSourceArn, validates it and
// AmazonManagedKafkaEventSourceConfig's place (esm/config_msk.c) and returns true; false for a
// self-managed request (SelfManagedEventSource is then the caller's to check).
bool cfg_parse_msk(struct esm_config *c, const cJSON *req, const struct esm_parse_opts *o,
                   struct esm_cfg_err *err);

// cfg_check_msk_access refuses the SourceAccessConfigurations an MSK source cannot use
// (BASIC_AUTH, SASL_SCRAM_256_AUTH); nothing for a self-managed one.
void cfg_check_msk_access(const struct esm_config *c, const cJSON *req, struct esm_cfg_err *err);

// cfg_parse_kesm validates the "Kesm" extension member into c->kesm (defaults when |v| is NULL).
void cfg_parse_kesm(struct esm_config *c, const cJSON *v, struct esm_cfg_err *err);

// cfg_parse_aws_fields validates KMSKeyArn, MetricsConfig, LoggingConfig,
// ProvisionedPollerConfig, Tags and SelfManagedKafkaEventSourceConfig.ConsumptionMode into
// c->aws (esm/config_aws.c).
void cfg_parse_aws_fields(struct esm_config *c, const cJSON *req, struct esm_cfg_err *err);
// cfg_group_member_known says whether |name| is a SelfManagedKafkaEventSourceConfig member kesm
// accepts (ConsumerGroupId, ConsumptionMode, SchemaRegistryConfig).
bool cfg_group_member_known(const char *name);

#endif
