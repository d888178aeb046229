// schema_stage.h: the schema-registry stage of a mapping's pipeline: each record's
// registry-encoded key and/or value (SchemaValidationConfigs) is unframed, its schema fetched
// (once; cached) and the data decoded, before FilterCriteria and batching.
//
// Per attribute (a null key or value is passed through untouched):
//   - Confluent framing (magic 0, schema id) or Glue framing (version 3, compression none/zlib,
//     schema version UUID) is read; a record without it is rejected (DESERIALIZATION_ERROR);
//   - the schema comes from the cache, or is fetched (Confluent GET /schemas/ids/<id> and its
//     references; Glue GetSchemaVersion) while the record waits;
//   - the data is decoded to JSON (schema/): Avro, Protobuf (message indexes / Glue index),
//     JSON Schema (checked as one UTF-8 JSON value). EventRecordFormat JSON delivers that JSON
//     text; SOURCE delivers the original encoding with the registry framing removed (Confluent
//     Protobuf message indexes and the Glue Protobuf index kept, as Lambda does; Glue zlib data
//     inflated). The record gains keySchemaMetadata / valueSchemaMetadata
//     {"dataFormat": AVRO|PROTOBUF|JSON, "schemaId": the Confluent id or the Glue UUID}, and the
//     filter sees the decoded JSON of the value in both modes.
// Outcomes (decided here after Lambda's documented rule, see README "Schema registries"):
//   - a schema the registry says does not exist: the record is rejected with condition
//     SCHEMA_NOT_FOUND; data that does not decode, or a schema kesm cannot use:
//     DESERIALIZATION_ERROR. Rejected records go to the on-failure destination (or are logged
//     and counted as dropped), never silently;
//   - a registry that cannot be reached or answers an error: the fetch is retried with
//     exponential backoff while the partition waits (its records are held, nothing after them
//     is acknowledged); each failure counts in SchemaRegistryErrorCount and sets
//     LastProcessingResult to "PROBLEM: Schema registry error: ...".
//
// Cache: per mapping, bounded in entries and bytes (least recently used first out); negative
// answers (not found, unusable schema) are kept for ESM_SSTAGE_NEGATIVE_TTL_MS and then asked
// again.
#ifndef ESM_SCHEMA_STAGE_H
#define ESM_SCHEMA_STAGE_H

#include "esm/config.h"
#include "esm/mapping.h"
#include "invoke/record.h"
#include "net/reactor.h"
#include "net/tls.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ESM_SSTAGE_MAX_ENTRIES_DEFAULT 1000
#define ESM_SSTAGE_MAX_BYTES_DEFAULT ((size_t)64 << 20)
#define ESM_SSTAGE_NEGATIVE_TTL_MS 60000
#define ESM_SSTAGE_MAX_REFERENCES 64

struct inv_aws; // invoke/aws.h

struct esm_sstage_cfg {
    struct net_reactor *reactor;           // borrowed
    const struct esm_schema_registry *reg; // borrowed for the stage's life
    struct net_tls_ctx *tls;               // for an https registry (borrowed); NULL: http only
    struct inv_aws *aws; // Glue: the AWS credential chain (borrowed); NULL: static credentials
    const char *user;    // BASIC_AUTH (copied; the password wiped on free)
    const char *password;
    const char *log_component;   // copied; NULL: "schema"
    const char *log_tag;         // for the HTTP client (copied)
    size_t max_entries;          // [ESM_SSTAGE_MAX_ENTRIES_DEFAULT]
    size_t max_bytes;            // [ESM_SSTAGE_MAX_BYTES_DEFAULT]
    uint32_t backoff_initial_ms; // [1000]
    uint32_t backoff_max_ms;     // [60000]
    uint32_t timeout_ms;         // per registry request [10000]
    size_t out_limit;            // decoded JSON per attribute [6 MiB]
    // on_ready: schemas arrived (or were given up on): call esm_sstage_decode again for the
    // records that waited. From a reactor callback, never inside esm_sstage_decode.
    void (*on_ready)(void *ctx);
    // on_problem: a line for LastProcessingResult ("Schema registry error: ...",
    // "DESERIALIZATION_ERROR: ...").
    void (*on_problem)(void *ctx, const char *text);
    void *ctx;
};

enum esm_sstage_rc {
    ESM_SSTAGE_READY,  // *out is the record to deliver
    ESM_SSTAGE_WAIT,   // a schema is on its way: keep the record (copied) and ask again later
    ESM_SSTAGE_REJECT, // *out is the original record with reject set (logged, counted)
};

struct esm_sstage_stats {
    uint64_t registry_errors; // SchemaRegistryErrorCount: failed fetches
    uint64_t fetches;         // registry requests answered
    uint64_t decoded;         // records decoded
    uint64_t rejected;        // records rejected (both conditions)
    size_t cache_entries;
    size_t cache_bytes;
};

struct esm_sstage;

// esm_sstage_new makes the stage and its registry client; NULL with a line in |err| otherwise.
struct esm_sstage *esm_sstage_new(const struct esm_sstage_cfg *cfg, char *err, size_t err_cap);
void esm_sstage_free(struct esm_sstage *st);

// esm_sstage_decode processes |in|. On READY, *out (and |out_filter_value|, the decoded JSON of
// the value for FilterCriteria, or in's value when the value is not validated) point into the
// stage and into |in|: valid until the next call. On REJECT *out is |in| with out->reject set.
enum esm_sstage_rc esm_sstage_decode(struct esm_sstage *st, const struct inv_record *in,
                                     struct inv_record *out, struct inv_bytes *out_filter_value);

void esm_sstage_stats(const struct esm_sstage *st, struct esm_sstage_stats *out);

// esm_schema_setup builds what a mapping with a SchemaRegistryConfig needs (esm/schema_setup.c):
// the registry's TLS context (system CAs, or the SERVER_ROOT_CA_CERTIFICATE secret, plus the
// CLIENT_CERTIFICATE_TLS_AUTH secret) and the stage, with the BASIC_AUTH secret's username and
// password; secrets are read through |secrets| as the broker's are (esm/secrets.h) and wiped.
// |cfg|'s reactor, reg and callbacks are used as given. Returns 0, or -1 with a line in |err|
// and the mapping's reason in *why (ESM_CONFIG_NOT_VALID, EVENT_SOURCE_AUTHN_ERROR).
struct esm_secrets;
struct esm_schema_setup {
    struct esm_sstage *stage;
    struct net_tls_ctx *tls;
};
int esm_schema_setup(struct esm_schema_setup *out, const struct esm_sstage_cfg *cfg,
                     struct esm_secrets *secrets, enum esm_reason *why, char *err, size_t err_cap);
void esm_schema_setup_cleanup(struct esm_schema_setup *s);

#endif
