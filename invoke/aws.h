// aws.h: a process's view of AWS: the standard credential chain (cached, refreshed before expiry
// on the event loop) and the endpoint of every AWS service kesm calls.
//
// Credential chain, in botocore's order (the first source that is configured wins):
//   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN, or the older
//      AWS_SECURITY_TOKEN, which botocore reads first); an access key without the secret is an
//      error. (botocore skips this step only for a profile chosen in code, which kesm never
//      does: AWS_PROFILE does not skip it.)
//   2. assume role: the profile (AWS_DEFAULT_PROFILE, else AWS_PROFILE, else "default") has
//      role_arn (and no web_identity_token_file): STS AssumeRole, signed with the credentials of
//      source_profile (resolved by the profile steps below, recursively; a loop is an error) or of
//      credential_source (Environment, EcsContainer or Ec2InstanceMetadata). role_session_name,
//      external_id and duration_seconds are honoured; mfa_serial is refused (no one to prompt).
//   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME), each
//      falling back to the profile's web_identity_token_file, role_arn, role_session_name: STS
//      AssumeRoleWithWebIdentity (unsigned), the token file read again on every refresh (EKS IRSA
//      rotates it).
//   4. the shared credentials file: the profile's aws_access_key_id + aws_secret_access_key
//      (+ aws_security_token or aws_session_token).
//   5. credential_process from the profile: run without a shell (shlex-split), stdin and stderr
//      on /dev/null, stdout read up to 64 KiB within process_timeout_ms, never logged.
//   6. the config file's static keys for the profile.
//   7. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (GET
//   http://169.254.170.2<uri>)
//      or AWS_CONTAINER_CREDENTIALS_FULL_URI (https to anywhere; http only to a loopback address,
//      169.254.170.2, 169.254.170.23, [fd00:ec2::23] or localhost), with an Authorization header
//      from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read on every fetch) or
//      AWS_CONTAINER_AUTHORIZATION_TOKEN (a value with CR or LF is refused).
//   8. EC2 instance metadata (IMDSv2), unless AWS_EC2_METADATA_DISABLED=true: PUT /latest/api/token
//      (a 403/404/405 answer falls back to IMDSv1 requests without a token), then the role name and
//      its credentials under /latest/meta-data/iam/security-credentials/. The base URL is
//      AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254 or, with
//      AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6, http://[fd00:ec2::254]. Timeout and attempts:
//      AWS_METADATA_SERVICE_TIMEOUT (seconds, default 1) and AWS_METADATA_SERVICE_NUM_ATTEMPTS
//      (default 1), as botocore.
// (botocore's SSO and legacy boto2/EC2-tools file sources are not implemented.)
//
// Caching and refresh: credentials with an expiration are refreshed in the background when less
// than min(15 min, half their lifetime) remain; they are not handed out any more when less than
// min(10 min, a quarter of their lifetime) remain: a request then waits for the refresh in
// progress. A failed refresh is retried with backoff (1 s doubling to 60 s). Static credentials
// never expire. Nothing is fetched before the first request needs credentials.
//
// Logging and errors: when a source provides credentials, one INFO line names the source and the
// access key id (never the secret or token); every error names the source and the reason
// ("web identity (role arn:..., token file ...): STS AssumeRoleWithWebIdentity: HTTP 403
// AccessDenied: ...").
//
// Endpoints (inv_aws_endpoint), the SDKs' order: an explicit override from kesm's own
// configuration (Kesm.Url, --secrets-manager-endpoint, ...) wins; then, unless
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true, AWS_ENDPOINT_URL_<SERVICE> (LAMBDA, STS,
// SECRETS_MANAGER, SQS, SNS, S3, KAFKA, GLUE), AWS_ENDPOINT_URL, the profile's services section
// ([services NAME] with "<service> =" and an indented "endpoint_url = ...") and the profile's
// endpoint_url; otherwise https://<prefix>.<region>.amazonaws.com.
#ifndef INVOKE_AWS_H
#define INVOKE_AWS_H

#include "invoke/aws_config.h"
#include "invoke/credentials.h"
#include "net/reactor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct inv_aws;

struct inv_aws_cfg {
    struct net_reactor *reactor; // borrowed; must outlive the object
    inv_getenv_fn *getenv_fn;    // NULL: getenv
    // clock: epoch seconds, for expirations and X-Amz-Date; NULL: time(). Tests pass a clock they
    // advance (this is the only clock hook; release code never sets it).
    int64_t (*clock)(void *ctx);
    void *clock_ctx;
    const char *default_region;  // when the environment and profile name none [us-east-1]
    const char *ca_file;         // CA bundle for https STS/container endpoints; NULL: system
    uint32_t process_timeout_ms; // credential_process [60000]
    uint32_t sts_timeout_ms;     // one STS request [10000]
};

// inv_aws_new makes the object; it reads nothing yet. Strings are copied.
struct inv_aws *inv_aws_new(const struct inv_aws_cfg *cfg);
// inv_aws_free cancels fetches (a running credential_process is killed); waiters are dropped
// without callbacks. NULL is a no-op.
void inv_aws_free(struct inv_aws *a);

// inv_aws_now returns the object's clock (epoch seconds).
int64_t inv_aws_now(const struct inv_aws *a);

// inv_aws_creds_peek returns credentials usable now (outside the no-use window before expiry),
// or NULL. The pointer is valid until control returns to the reactor.
const struct inv_creds *inv_aws_creds_peek(struct inv_aws *a);

// inv_creds_done_fn: |creds| on success (valid during the call only), else NULL with |err| (one
// line naming the source and reason) and |permanent| true when the chain itself is unusable (no
// source is configured, a configuration error) rather than a fetch that may succeed later.
typedef void inv_creds_done_fn(void *ctx, const struct inv_creds *creds, const char *err,
                               bool permanent);

// inv_aws_creds_get calls |done| once, from a reactor callback (never inside this call), with
// usable credentials or an error, fetching them first if needed. Returns an id (> 0) for
// inv_aws_creds_cancel.
uint64_t inv_aws_creds_get(struct inv_aws *a, inv_creds_done_fn *done, void *ctx);
// inv_aws_creds_cancel drops a pending callback (no-op if it ran already).
void inv_aws_creds_cancel(struct inv_aws *a, uint64_t id);

// inv_aws_creds_source describes the source in use ("" before the first resolution).
const char *inv_aws_creds_source(const struct inv_aws *a);
// inv_aws_creds_method names the source as botocore's providers do ("env", "assume-role",
// "assume-role-with-web-identity", "shared-credentials-file", "custom-process", "config-file",
// "container-role", "iam-role"; "" before the first resolution).
const char *inv_aws_creds_method(const struct inv_aws *a);

// enum inv_aws_service: the services kesm calls.
enum inv_aws_service {
    INV_AWS_LAMBDA,
    INV_AWS_STS,
    INV_AWS_SECRETS_MANAGER,
    INV_AWS_SQS,
    INV_AWS_SNS,
    INV_AWS_S3,
    INV_AWS_KAFKA,
    INV_AWS_GLUE,
};

// inv_aws_endpoint writes the endpoint URL (scheme://host[:port][/path], no trailing '/') of
// |svc| in |region| to |out| (|cap| bytes). |explicit_url| (may be NULL) wins. *out_from, if
// set, says where it came from ("AWS_ENDPOINT_URL_SQS", "default", ...). Returns 0, or -1 with
// |err| (the config files cannot be read, or the result does not fit).
int inv_aws_endpoint(struct inv_aws *a, enum inv_aws_service svc, const char *region,
                     const char *explicit_url, char *out, size_t cap, const char **out_from,
                     struct inv_err *err);

// inv_aws_region: AWS_DEFAULT_REGION, else AWS_REGION, else the profile's region, else the
// configured default. The string lives as long as |a|.
const char *inv_aws_region(struct inv_aws *a);

// inv_aws_service_env_name: "SQS", "SECRETS_MANAGER", ... (the AWS_ENDPOINT_URL_ suffix).
const char *inv_aws_service_env_name(enum inv_aws_service svc);

#endif
