// schema_registry.h: fetching schemas from a Confluent Schema Registry (REST) or the AWS Glue
// Schema Registry (GetSchemaVersion, SigV4), on the net reactor.
//
// Confluent: GET <base>/schemas/ids/<id> and GET <base>/subjects/<subject>/versions/<version>
// (for the schemas a schema references), Accept application/vnd.schemaregistry.v1+json, HTTP
// Basic authentication when a user is configured, TLS through the given context. A 404 whose
// body carries Confluent's error_code 40401 (subject), 40402 (version) or 40403 (schema) means
// the schema does not exist (INV_REG_NOT_FOUND); any other failure is INV_REG_ERROR (retry
// later: the registry is down, refuses our credentials, or answers something else).
//
// Glue: POST / with X-Amz-Target AWSGlue.GetSchemaVersion and {"SchemaVersionId": "<uuid>"},
// JSON 1.1, signed with SigV4 (service glue) with the credentials of the AWS credential chain
// (invoke/aws.h: fetched or refreshed before a request is signed, never expired ones; without a
// chain, the static part of inv_creds_load). The endpoint is the chain's for service GLUE
// (AWS_ENDPOINT_URL_GLUE, AWS_ENDPOINT_URL, the profile's, else https://glue.<region>.
// amazonaws.com). EntityNotFoundException is INV_REG_NOT_FOUND.
//
// Messages name the registry, the request and the status, never a password, token or
// Authorization value. Bodies are bounded (INV_REG_MAX_BODY).
#ifndef INVOKE_SCHEMA_REGISTRY_H
#define INVOKE_SCHEMA_REGISTRY_H

#include "invoke/aws.h"
#include "net/reactor.h"
#include "net/tls.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INV_REG_MAX_BODY ((size_t)4 << 20)

struct inv_registry_cfg {
    bool glue;
    const char *url;         // Confluent base URL (http:// or https://; a path prefix is kept)
    const char *glue_region; // Glue: the registry ARN's region
    struct inv_aws *aws;     // Glue: the credential chain (borrowed; outlives the client), or NULL
    const char *user;        // BASIC_AUTH user (copied; NULL: none)
    const char *password;    // BASIC_AUTH password (copied, wiped on free)
    struct net_tls_ctx *tls; // for https (borrowed; must outlive the client); NULL: http only
    uint32_t timeout_ms;     // per request [10000]
    const char *log_tag;     // for the HTTP client's log lines (copied)
};

enum inv_reg_kind {
    INV_REG_OK,
    INV_REG_NOT_FOUND, // the registry says the schema (or a referenced subject version) is absent
    INV_REG_ERROR,     // anything else: retry later
};

// struct inv_registry_result: valid only during the callback.
struct inv_registry_result {
    enum inv_reg_kind kind;
    int status;              // HTTP status, -1 without a response
    const char *message;     // one line when kind != INV_REG_OK
    const char *schema;      // the schema text (INV_REG_OK)
    size_t schema_len;       //
    const char *schema_type; // "AVRO", "PROTOBUF" or "JSON"
    const cJSON *references; // Confluent: [{"name","subject","version"}], NULL when none
    int64_t id;              // Confluent: the id of a subject version's schema (-1 if unknown)
};

typedef void inv_registry_done_fn(void *ctx, const struct inv_registry_result *res);

struct inv_registry;

// inv_registry_new validates |cfg| and makes a client; NULL with a line in |err| otherwise.
struct inv_registry *inv_registry_new(struct net_reactor *r, const struct inv_registry_cfg *cfg,
                                      char *err, size_t err_cap);
// inv_registry_free cancels everything (no callbacks). NULL is a no-op.
void inv_registry_free(struct inv_registry *reg);

// Each call starts a request and returns 0 with a request id (|done| then runs once, from the
// reactor), or -1 with a line in |err| (nothing started).
int inv_registry_get_id(struct inv_registry *reg, uint32_t id, inv_registry_done_fn *done,
                        void *ctx, uint64_t *out_req, char *err, size_t err_cap);
int inv_registry_get_subject_version(struct inv_registry *reg, const char *subject, int64_t version,
                                     inv_registry_done_fn *done, void *ctx, uint64_t *out_req,
                                     char *err, size_t err_cap);
int inv_registry_glue_get(struct inv_registry *reg, const char *version_id,
                          inv_registry_done_fn *done, void *ctx, uint64_t *out_req, char *err,
                          size_t err_cap);
// inv_registry_cancel drops a request (its callback never runs).
void inv_registry_cancel(struct inv_registry *reg, uint64_t req);

// inv_registry_describe writes where the client fetches from ("http://sr:8081",
// "glue us-east-1 at https://glue.us-east-1.amazonaws.com/") for logs.
const char *inv_registry_describe(const struct inv_registry *reg);

#endif
