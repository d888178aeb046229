// secrets.h: where the secrets a mapping's SourceAccessConfigurations name come from.
//
// A URI of BASIC_AUTH, SASL_SCRAM_256_AUTH, SASL_SCRAM_512_AUTH, CLIENT_CERTIFICATE_TLS_AUTH or
// SERVER_ROOT_CA_CERTIFICATE is one of:
//   - file:///absolute/path: that file, as before (kesm's own extension);
//   - a Secrets Manager ARN, arn:<partition>:secretsmanager:<region>:<account>:secret:<name>, or a
//     bare secret name (what Lambda's documentation pastes). By default it resolves to the file
//     <secrets dir>/<name> (or <name>.json); a name ending in Secrets Manager's random suffix
//     ("-" and 6 letters or digits) also finds the file without it. Names may hold '/' (sub-
//     directories) but no "." or ".." component. The directory and every file read from it must
//     not be accessible to group or others (mode & 0077 == 0): a looser one is refused with a
//     message naming the file and its mode.
//   - With Secrets Manager configured, ARNs and names are fetched instead with GetSecretValue
//     (JSON 1.1 over HTTPS, SigV4-signed with the AWS credential chain of invoke/aws.h, in the
//     ARN's region; the endpoint is --secrets-manager-endpoint, else
//     AWS_ENDPOINT_URL_SECRETS_MANAGER and the other SDK endpoint settings). Fetched values stay
//     cached in memory until esm_secrets_forget (the runner calls it when authentication with the
//     broker fails, so a rotated secret is picked up).
//
// Errors name the secret (ARN, name or path) and the reason, never its content; the reason for
// the mapping is ESM_CONFIG_NOT_VALID (missing, unreadable, loose permissions, not a JSON object,
// missing members, ResourceNotFoundException, ...) or EVENT_SOURCE_AUTHN_ERROR (Secrets Manager
// refused the credentials: AccessDeniedException and friends). Buffers that held a secret are
// wiped before they are freed.
#ifndef ESM_SECRETS_H
#define ESM_SECRETS_H

#include "esm/config.h"
#include "esm/mapping.h"
#include "invoke/aws.h"
#include "net/reactor.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define ESM_SECRET_MAX 65536

// struct esm_secrets_config: every string is copied by esm_secrets_new.
struct esm_secrets_config {
    const char *dir;         // local secrets directory; NULL: ARNs and names are refused
    bool secrets_manager;    // fetch ARNs and names from AWS Secrets Manager
    const char *sm_endpoint; // Secrets Manager URL override (http://127.0.0.1:PORT for tests);
                             // NULL: https://secretsmanager.<region>.amazonaws.com
    const char *sm_region;   // region for bare names (default: the function's region)
    const char *sm_ca_file;  // CA file for an https endpoint; NULL: the system store
    uint32_t sm_timeout_ms;  // per GetSecretValue [10000]
    // aws: credentials and endpoint overrides (invoke/aws.h; borrowed). NULL: the resolver
    // makes its own. sm_endpoint, when set, wins over AWS_ENDPOINT_URL_SECRETS_MANAGER.
    struct inv_aws *aws;
};

struct esm_secrets;

// esm_secrets_new makes a resolver on |r| (the reactor is used only for Secrets Manager).
// Returns NULL with a reason in |err| when the directory is unusable (missing, not a directory,
// group/world accessible) or the endpoint is not a valid URL.
struct esm_secrets *esm_secrets_new(struct net_reactor *r, const struct esm_secrets_config *cfg,
                                    char *err, size_t err_cap);
void esm_secrets_free(struct esm_secrets *s);

// esm_secrets_uses_manager returns whether |uri| would be fetched from Secrets Manager.
bool esm_secrets_uses_manager(const struct esm_secrets *s, const char *uri);

// esm_secret_read returns the secret |uri| names as a NUL-terminated heap buffer of *out_len
// bytes (free it with esm_secret_free), or NULL with *out_reason and a line in |err| that starts
// with |what| (the access configuration type). |s| may be NULL: then only file:// URIs work.
// Secrets Manager values must have been fetched (esm_secrets_fetch) first.
char *esm_secret_read(struct esm_secrets *s, const char *uri, const char *what, size_t *out_len,
                      enum esm_reason *out_reason, char *err, size_t err_cap);

// esm_secret_free wipes and frees a buffer from esm_secret_read. NULL is a no-op.
void esm_secret_free(char *text, size_t len);

// esm_secret_json reads the secret as a JSON object. Free it with esm_secret_json_free.
cJSON *esm_secret_json(struct esm_secrets *s, const char *uri, const char *what,
                       enum esm_reason *out_reason, char *err, size_t err_cap);
void esm_secret_json_free(cJSON *j);

// esm_secret_member returns the non-empty string member |name| of |j|, or NULL.
const char *esm_secret_member(const cJSON *j, const char *name);

// esm_secret_label writes how errors name |uri|: the path of a file:// URI, else the URI itself.
const char *esm_secret_label(const char *uri);

// esm_secrets_fetch starts GetSecretValue for every secret of |cfg| that comes from Secrets
// Manager and is not cached. |done| runs once, from the reactor (never inside this call), with
// rc 0 or -1 plus the reason and a line. Returns a handle for esm_secrets_fetch_cancel (which
// drops the callback); the handle is freed after |done| returns.
struct esm_secrets_fetch;
typedef void esm_secrets_done_fn(void *ctx, int rc, enum esm_reason reason, const char *err);
struct esm_secrets_fetch *esm_secrets_fetch(struct esm_secrets *s, const struct esm_config *cfg,
                                            esm_secrets_done_fn *done, void *ctx);
void esm_secrets_fetch_cancel(struct esm_secrets_fetch *f);

// esm_secrets_forget drops the cached values of |cfg|'s secrets; returns how many it dropped.
size_t esm_secrets_forget(struct esm_secrets *s, const struct esm_config *cfg);

// esm_secret_arn_region copies the region of a Secrets Manager ARN into |out|; false if |uri| is
// not such an ARN. esm_secret_name_of returns the secret name of an ARN or name (a view).
bool esm_secret_arn_region(const char *uri, char *out, size_t cap);
const char *esm_secret_name_of(const char *uri);

#endif
