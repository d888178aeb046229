// aws_chain.c: which credential source applies (botocore's order, see aws.h), the region and the
// endpoints.
#include "base/alloc.h"
#include "base/log.h"
#include "invoke/aws_int.h"
#include "invoke/err.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SOURCE_DEPTH_MAX 8 // assume-role chains: profile -> source_profile -> ...

static const char *env(struct inv_aws *a, const char *name)
{
    return inv_aws_env(a->getenv_fn, name);
}

const struct inv_aws_files *aws_files(struct inv_aws *a, struct inv_err *err)
{
    if (!a->files_loaded) {
        struct inv_err e = {{0}};
        a->files = inv_aws_files_load(a->getenv_fn, &e);
        a->files_loaded = true;
        snprintf(a->files_err, sizeof a->files_err, "%s", e.msg);
    }
    if (a->files == NULL) {
        inv_fail(err, 0, "AWS config files: %s", a->files_err);
    }
    return a->files;
}

void src_free(struct src *s)
{
    if (s == NULL) {
        return;
    }
    fetch_cancel(s);
    src_free(s->base);
    free(s->role_arn);
    free(s->session_name);
    free(s->external_id);
    free(s->token_file);
    free(s->command);
    free(s->url);
    free_wiped_str(s->auth_token);
    free(s->auth_token_file);
    inv_creds_cleanup(&s->creds);
    free(s);
}

static struct src *src_new(struct inv_aws *a, enum src_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static struct src *src_new(struct inv_aws *a, enum src_kind kind, const char *fmt, ...)
{
    struct src *s = xcalloc(1, sizeof *s);
    s->a = a;
    s->kind = kind;
    s->expiration = -1;
    inv_creds_init(&s->creds);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->desc, sizeof s->desc, fmt, ap);
    va_end(ap);
    return s;
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

// struct resolve: one resolution's context.
struct resolve {
    struct inv_aws *a;
    const struct inv_aws_files *f;
    const char *visited[SOURCE_DEPTH_MAX];
    size_t num_visited;
    char err[400];
};

static struct src *rfail(struct resolve *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static struct src *rfail(struct resolve *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return NULL;
}

// ---- single sources -------------------------------------------------------------------------

// env_source: the environment step. *found says whether it applies; NULL with r->err on a
// partial environment.
static struct src *env_source(struct resolve *r, bool *found)
{
    struct inv_aws *a = r->a;
    const char *akid = env(a, "AWS_ACCESS_KEY_ID");
    *found = akid != NULL;
    if (akid == NULL) {
        return NULL;
    }
    const char *secret = env(a, "AWS_SECRET_ACCESS_KEY");
    if (secret == NULL) {
        return rfail(r, "environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    }
    const char *token = env(a, "AWS_SECURITY_TOKEN");
    if (token == NULL) {
        token = env(a, "AWS_SESSION_TOKEN");
    }
    struct src *s = src_new(a, SRC_ENV, "environment variables");
    inv_creds_set(&s->creds, akid, secret, token, s->desc);
    s->have = true;
    return s;
}

// static_source: aws_access_key_id (+ secret, token) from one profile section view. |get| is
// inv_aws_profile_get restricted to the file in question.
static struct src *static_source(struct resolve *r, enum src_kind kind, const char *profile,
                                 const char *akid, const char *secret, const char *token,
                                 const char *path)
{
    if (secret == NULL || *secret == '\0' || *akid == '\0') {
        return rfail(r, "%s: profile [%s] has %s without %s", path, profile,
                     *akid ? "aws_access_key_id" : "an empty aws_access_key_id",
                     "aws_secret_access_key");
    }
    struct src *s =
        src_new(r->a, kind, "%s %s (profile %s)",
                kind == SRC_SHARED_FILE ? "shared credentials file" : "config file", path, profile);
    inv_creds_set(&s->creds, akid, secret, token && *token ? token : NULL, s->desc);
    s->have = true;
    return s;
}

static const char *pget(struct resolve *r, const char *profile, const char *key)
{
    return inv_aws_profile_get(r->f, profile, key);
}

// web_identity_source: step 3 for |profile| (environment values first unless |no_env|).
static struct src *web_identity_source(struct resolve *r, const char *profile, bool no_env,
                                       bool *found)
{
    struct inv_aws *a = r->a;
    const char *file = no_env ? NULL : env(a, "AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *from = "AWS_WEB_IDENTITY_TOKEN_FILE";
    if (file == NULL) {
        file = pget(r, profile, "web_identity_token_file");
        from = "web_identity_token_file";
    }
    *found = file != NULL && *file != '\0';
    if (!*found) {
        return NULL;
    }
    const char *role = no_env ? NULL : env(a, "AWS_ROLE_ARN");
    if (role == NULL) {
        role = pget(r, profile, "role_arn");
    }
    if (role == NULL || *role == '\0') {
        return rfail(r,
                     "web identity: %s is set but there is no role ARN (AWS_ROLE_ARN or the "
                     "profile's role_arn)",
                     from);
    }
    const char *session = no_env ? NULL : env(a, "AWS_ROLE_SESSION_NAME");
    if (session == NULL) {
        session = pget(r, profile, "role_session_name");
    }
    struct src *s =
        src_new(a, SRC_WEB_IDENTITY, "web identity (role %.120s, token file %.120s)", role, file);
    s->role_arn = xstrdup(role);
    s->token_file = xstrdup(file);
    s->session_name = dup_or_null(session);
    return s;
}

static struct src *process_source(struct resolve *r, const char *profile, bool *found)
{
    const char *cmd = pget(r, profile, "credential_process");
    *found = cmd != NULL && *cmd != '\0';
    if (!*found) {
        return NULL;
    }
    struct src *s = src_new(r->a, SRC_PROCESS, "credential_process of profile %s", profile);
    s->command = xstrdup(cmd);
    s->timeout_ms = r->a->process_timeout_ms;
    return s;
}

static bool host_allowed(const struct net_http_url *u)
{
    static const char *const allowed[] = {"169.254.170.2", "169.254.170.23", "fd00:ec2::23",
                                          "localhost"};
    if (u->tls) {
        return true;
    }
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        if (strcasecmp(u->host, allowed[i]) == 0) {
            return true;
        }
    }
    if (strcmp(u->host, "::1") == 0) {
        return true;
    }
    // 127.0.0.0/8, written as a dotted quad
    unsigned b[4];
    char tail;
    return sscanf(u->host, "%u.%u.%u.%u%c", &b[0], &b[1], &b[2], &b[3], &tail) == 4 &&
           b[0] == 127 && b[1] < 256 && b[2] < 256 && b[3] < 256;
}

static struct src *container_source(struct resolve *r, bool *found)
{
    struct inv_aws *a = r->a;
    const char *rel = env(a, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env(a, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    *found = rel != NULL || full != NULL;
    if (!*found) {
        return NULL;
    }
    char url[2100];
    if (rel != NULL) {
        snprintf(url, sizeof url, "http://169.254.170.2%s%s", rel[0] == '/' ? "" : "/", rel);
    } else {
        snprintf(url, sizeof url, "%s", full);
    }
    struct net_http_url u;
    char e[200];
    if (net_http_url_parse(&u, url, e, sizeof e) != 0) {
        return rfail(r, "container credentials: %s %s: %s",
                     rel ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
                         : "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                     rel ? rel : full, e);
    }
    if (rel == NULL && !host_allowed(&u)) {
        return rfail(r,
                     "container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI host '%s' is "
                     "not allowed over http: use https, a loopback address, 169.254.170.2, "
                     "169.254.170.23, fd00:ec2::23 or localhost",
                     u.host);
    }
    struct src *s = src_new(a, SRC_CONTAINER, "container credentials (%s)",
                            rel ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
                                : "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    s->url = xstrdup(url);
    s->auth_token_file = dup_or_null(env(a, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
    s->auth_token = dup_or_null(env(a, "AWS_CONTAINER_AUTHORIZATION_TOKEN"));
    s->timeout_ms = 2000;
    s->attempts = 3;
    return s;
}

// metadata_setting: an integer from the environment, else the profile, within [lo, hi].
static int metadata_setting(struct resolve *r, const char *profile, const char *var,
                            const char *key, int dflt, int lo, int hi, bool *bad)
{
    const char *v = env(r->a, var);
    if (v == NULL && r->f != NULL) {
        v = pget(r, profile, key);
    }
    if (v == NULL) {
        return dflt;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || n < lo || n > hi) {
        *bad = true;
        return dflt;
    }
    return (int)n;
}

static struct src *imds_source(struct resolve *r, const char *profile)
{
    struct inv_aws *a = r->a;
    const char *ep = env(a, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (ep == NULL && r->f != NULL) {
        ep = pget(r, profile, "ec2_metadata_service_endpoint");
    }
    const char *mode = env(a, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    if (mode == NULL && r->f != NULL) {
        mode = pget(r, profile, "ec2_metadata_service_endpoint_mode");
    }
    if (mode != NULL && strcasecmp(mode, "ipv4") != 0 && strcasecmp(mode, "ipv6") != 0) {
        return rfail(r,
                     "instance metadata: AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE '%.40s' is "
                     "neither IPv4 nor IPv6",
                     mode);
    }
    const char *base = ep                                          ? ep
                       : mode != NULL && !strcasecmp(mode, "ipv6") ? "http://[fd00:ec2::254]"
                                                                   : "http://169.254.169.254";
    struct net_http_url u;
    char e[200];
    if (net_http_url_parse(&u, base, e, sizeof e) != 0) {
        return rfail(r, "instance metadata: endpoint %.200s: %s", base, e);
    }
    bool bad = false;
    int timeout = metadata_setting(r, profile, "AWS_METADATA_SERVICE_TIMEOUT",
                                   "metadata_service_timeout", 1, 1, 60, &bad);
    int attempts = metadata_setting(r, profile, "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
                                    "metadata_service_num_attempts", 1, 1, 10, &bad);
    if (bad) {
        return rfail(r, "instance metadata: AWS_METADATA_SERVICE_TIMEOUT must be 1-60 (seconds) "
                        "and AWS_METADATA_SERVICE_NUM_ATTEMPTS 1-10");
    }
    struct src *s = src_new(a, SRC_IMDS, "EC2 instance metadata (%.200s)", base);
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') {
        n--;
    }
    s->url = xstrndup(base, n);
    s->timeout_ms = (uint32_t)timeout * 1000u;
    s->attempts = (uint32_t)attempts;
    return s;
}

// ---- profiles -----------------------------------------------------------------------------

static struct src *assume_role_source(struct resolve *r, const char *profile);

// file_static: the static keys of |profile| in one file (the shared-file or config-file step).
static struct src *file_static(struct resolve *r, const char *profile, bool creds_file, bool *found)
{
    const char *akid = inv_aws_profile_get_in(r->f, creds_file, profile, "aws_access_key_id");
    *found = akid != NULL;
    if (akid == NULL) {
        return NULL;
    }
    const char *tok = inv_aws_profile_get_in(r->f, creds_file, profile, "aws_security_token");
    if (tok == NULL) {
        tok = inv_aws_profile_get_in(r->f, creds_file, profile, "aws_session_token");
    }
    return static_source(r, creds_file ? SRC_SHARED_FILE : SRC_CONFIG_FILE, profile, akid,
                         inv_aws_profile_get_in(r->f, creds_file, profile, "aws_secret_access_key"),
                         tok,
                         creds_file ? inv_aws_credentials_path(r->f) : inv_aws_config_path(r->f));
}

// profile_steps: the steps after web identity: the credentials file, credential_process, the
// config file. *found false: none of them applies.
static struct src *profile_steps(struct resolve *r, const char *profile, bool *found)
{
    struct src *s = file_static(r, profile, true, found);
    if (*found) {
        return s;
    }
    if ((s = process_source(r, profile, found)) != NULL) {
        return s;
    }
    return file_static(r, profile, false, found);
}

// profile_chain: the profile steps for a source profile (web identity from the profile only).
static struct src *profile_chain(struct resolve *r, const char *profile, bool *found)
{
    struct src *s = web_identity_source(r, profile, true, found);
    if (*found || r->err[0]) {
        return s;
    }
    return profile_steps(r, profile, found);
}

static bool visited(const struct resolve *r, const char *profile)
{
    for (size_t i = 0; i < r->num_visited; i++) {
        if (strcmp(r->visited[i], profile) == 0) {
            return true;
        }
    }
    return false;
}

static bool has_static(struct resolve *r, const char *profile)
{
    return pget(r, profile, "aws_access_key_id") != NULL ||
           pget(r, profile, "aws_secret_access_key") != NULL;
}

static bool has_role(struct resolve *r, const char *profile)
{
    return pget(r, profile, "role_arn") != NULL &&
           pget(r, profile, "web_identity_token_file") == NULL;
}

// named_source: credential_source = Environment | EcsContainer | Ec2InstanceMetadata.
static struct src *named_source(struct resolve *r, const char *profile, const char *name)
{
    bool found = false;
    struct src *s = NULL;
    if (strcasecmp(name, "Environment") == 0) {
        s = env_source(r, &found);
    } else if (strcasecmp(name, "EcsContainer") == 0) {
        s = container_source(r, &found);
    } else if (strcasecmp(name, "Ec2InstanceMetadata") == 0) {
        s = imds_source(r, profile);
        found = s != NULL;
    } else {
        return rfail(r,
                     "profile %s: credential_source \"%.60s\" is not valid (Environment, "
                     "EcsContainer or Ec2InstanceMetadata)",
                     profile, name);
    }
    if (s == NULL && !r->err[0]) {
        rfail(r, "profile %s: credential_source %s provides no credentials", profile, name);
    }
    (void)found;
    return s;
}

// base_source: where |profile|'s role gets the credentials it signs AssumeRole with.
static struct src *base_source(struct resolve *r, const char *profile)
{
    const char *sp = pget(r, profile, "source_profile");
    const char *cs = pget(r, profile, "credential_source");
    if (sp != NULL && cs != NULL) {
        return rfail(r, "profile %s contains both source_profile and credential_source", profile);
    }
    if (sp == NULL && cs == NULL) {
        return rfail(r,
                     "profile %s has role_arn but neither source_profile nor "
                     "credential_source",
                     profile);
    }
    if (cs != NULL) {
        return named_source(r, profile, cs);
    }
    if (!inv_aws_profile_exists(r->f, sp)) {
        return rfail(r, "the source_profile \"%.60s\" of profile %s does not exist", sp, profile);
    }
    bool self = strcmp(sp, profile) == 0;
    if (visited(r, sp) && !(self && has_static(r, sp))) {
        return rfail(r, "profile %s: source_profile %s makes a loop", profile, sp);
    }
    if (r->num_visited >= SOURCE_DEPTH_MAX) {
        return rfail(r, "profile %s: more than %d chained source profiles", profile,
                     SOURCE_DEPTH_MAX);
    }
    r->visited[r->num_visited++] = sp;
    if (has_static(r, sp) || !has_role(r, sp)) {
        bool found = false;
        struct src *s = profile_chain(r, sp, &found);
        if (!found && !r->err[0]) {
            return rfail(r, "the source profile \"%.60s\" must have credentials", sp);
        }
        return s;
    }
    return assume_role_source(r, sp);
}

static struct src *assume_role_source(struct resolve *r, const char *profile)
{
    if (pget(r, profile, "mfa_serial") != NULL) {
        return rfail(r, "profile %s: mfa_serial is not supported (kesm cannot prompt for a code)",
                     profile);
    }
    struct src *base = base_source(r, profile);
    if (base == NULL) {
        return NULL;
    }
    const char *role = pget(r, profile, "role_arn");
    struct src *s = src_new(r->a, SRC_ASSUME_ROLE, "assume role %.120s (profile %s, from %.100s)",
                            role, profile, base->desc);
    s->base = base;
    s->role_arn = xstrdup(role);
    s->session_name = dup_or_null(pget(r, profile, "role_session_name"));
    s->external_id = dup_or_null(pget(r, profile, "external_id"));
    const char *d = pget(r, profile, "duration_seconds");
    if (d != NULL) {
        char *end;
        long v = strtol(d, &end, 10);
        if (end == d || *end != '\0' || v < 900 || v > 43200) {
            src_free(s);
            return rfail(r, "profile %s: duration_seconds must be 900-43200", profile);
        }
        s->duration_s = (int)v;
    }
    return s;
}

// ---- the chain ------------------------------------------------------------------------------

static struct src *resolve_chain(struct resolve *r, const char *profile)
{
    bool found = false;
    struct src *s = env_source(r, &found);
    if (found || r->err[0]) {
        return s;
    }
    struct inv_err fe = {{0}};
    r->f = aws_files(r->a, &fe);
    if (r->f == NULL) {
        return rfail(r, "%s", fe.msg);
    }
    if (has_role(r, profile)) {
        r->visited[r->num_visited++] = profile;
        return assume_role_source(r, profile);
    }
    if ((s = web_identity_source(r, profile, false, &found)) != NULL || r->err[0]) {
        return s;
    }
    if ((s = profile_steps(r, profile, &found)) != NULL || found) {
        return s;
    }
    if ((s = container_source(r, &found)) != NULL || r->err[0]) {
        return s;
    }
    const char *disabled = env(r->a, "AWS_EC2_METADATA_DISABLED");
    if (disabled != NULL && strcasecmp(disabled, "true") == 0) {
        return rfail(r,
                     "no AWS credentials: none in the environment (AWS_ACCESS_KEY_ID), no web "
                     "identity, profile %s has none in %s or %s, no container endpoint, and "
                     "instance metadata is disabled (AWS_EC2_METADATA_DISABLED)",
                     profile, inv_aws_credentials_path(r->f), inv_aws_config_path(r->f));
    }
    return imds_source(r, profile);
}

int chain_resolve(struct inv_aws *a)
{
    struct resolve r = {.a = a};
    const char *profile = inv_aws_profile_name(a->getenv_fn);
    struct src *s = resolve_chain(&r, profile);
    if (s == NULL) {
        snprintf(a->plan_err, sizeof a->plan_err, "%s",
                 r.err[0] ? r.err : "no AWS credentials found");
        a->plan_permanent = true;
        return -1;
    }
    a->root = s;
    snprintf(a->source, sizeof a->source, "%s", s->desc);
    return 0;
}

const char *inv_aws_creds_method(const struct inv_aws *a)
{
    if (a->root == NULL) {
        return "";
    }
    switch (a->root->kind) {
    case SRC_ENV:
        return "env";
    case SRC_ASSUME_ROLE:
        return "assume-role";
    case SRC_WEB_IDENTITY:
        return "assume-role-with-web-identity";
    case SRC_SHARED_FILE:
        return "shared-credentials-file";
    case SRC_PROCESS:
        return "custom-process";
    case SRC_CONFIG_FILE:
        return "config-file";
    case SRC_CONTAINER:
        return "container-role";
    case SRC_IMDS:
        return "iam-role";
    }
    return "";
}

// ---- region and endpoints -------------------------------------------------------------------

const char *inv_aws_region(struct inv_aws *a)
{
    if (a->region[0] != '\0') {
        return a->region;
    }
    const char *r = env(a, "AWS_DEFAULT_REGION");
    if (r == NULL) {
        r = env(a, "AWS_REGION");
    }
    if (r == NULL) {
        struct inv_err e;
        const struct inv_aws_files *f = aws_files(a, &e);
        r = f ? inv_aws_profile_get(f, inv_aws_profile_name(a->getenv_fn), "region") : NULL;
    }
    snprintf(a->region, sizeof a->region, "%s",
             r && *r             ? r
             : a->default_region ? a->default_region
                                 : "us-east-1");
    return a->region;
}

static const struct {
    const char *env;    // AWS_ENDPOINT_URL_<env>
    const char *config; // key in a [services] section
    const char *host;   // default host prefix
} services[] = {
    [INV_AWS_LAMBDA] = {"LAMBDA", "lambda", "lambda"},
    [INV_AWS_STS] = {"STS", "sts", "sts"},
    [INV_AWS_SECRETS_MANAGER] = {"SECRETS_MANAGER", "secrets_manager", "secretsmanager"},
    [INV_AWS_SQS] = {"SQS", "sqs", "sqs"},
    [INV_AWS_SNS] = {"SNS", "sns", "sns"},
    [INV_AWS_S3] = {"S3", "s3", "s3"},
    [INV_AWS_KAFKA] = {"KAFKA", "kafka", "kafka"},
    [INV_AWS_GLUE] = {"GLUE", "glue", "glue"},
};

const char *inv_aws_service_env_name(enum inv_aws_service svc)
{
    return services[svc].env;
}

static bool env_true(struct inv_aws *a, const char *name)
{
    const char *v = env(a, name);
    return v != NULL && strcasecmp(v, "true") == 0;
}

// configured_endpoint finds the SDK-style override; NULL when there is none.
static const char *configured_endpoint(struct inv_aws *a, enum inv_aws_service svc,
                                       const char **from, struct inv_err *err, bool *failed)
{
    static char var[64];
    snprintf(var, sizeof var, "AWS_ENDPOINT_URL_%s", services[svc].env);
    const char *v = env(a, var);
    if (v != NULL) {
        *from = var;
        return v;
    }
    if ((v = env(a, "AWS_ENDPOINT_URL")) != NULL) {
        *from = "AWS_ENDPOINT_URL";
        return v;
    }
    const struct inv_aws_files *f = aws_files(a, err);
    if (f == NULL) {
        *failed = true;
        return NULL;
    }
    const char *profile = inv_aws_profile_name(a->getenv_fn);
    const char *sect = inv_aws_profile_get(f, profile, "services");
    if (sect != NULL) {
        char key[64];
        snprintf(key, sizeof key, "%s.endpoint_url", services[svc].config);
        if ((v = inv_aws_services_get(f, sect, key)) != NULL) {
            *from = "config file [services] section";
            return v;
        }
    }
    if ((v = inv_aws_profile_get(f, profile, "endpoint_url")) != NULL) {
        *from = "profile endpoint_url";
        return v;
    }
    return NULL;
}

// region_name_ok: the default endpoint is https://<service>.<region>.amazonaws.com, so the region
// must be one DNS label: nothing in it may name another host ('.', '/', '@', ':').
static bool region_name_ok(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n > 63 || r[0] == '-') {
        return false;
    }
    for (const char *c = r; *c; c++) {
        if (!isalnum((unsigned char)*c) && *c != '-') {
            return false;
        }
    }
    return true;
}

int inv_aws_endpoint(struct inv_aws *a, enum inv_aws_service svc, const char *region,
                     const char *explicit_url, char *out, size_t cap, const char **out_from,
                     struct inv_err *err)
{
    const char *from = "default";
    const char *v = NULL;
    bool failed = false;
    if (explicit_url != NULL && *explicit_url != '\0') {
        v = explicit_url;
        from = "kesm configuration";
    } else if (!env_true(a, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) {
        v = configured_endpoint(a, svc, &from, err, &failed);
        if (failed) {
            return -1;
        }
    }
    int n;
    if (v != NULL) {
        size_t len = strlen(v);
        while (len > 0 && v[len - 1] == '/') {
            len--;
        }
        n = snprintf(out, cap, "%.*s", (int)len, v);
    } else {
        const char *reg = region && *region ? region : inv_aws_region(a);
        if (!region_name_ok(reg)) {
            return inv_fail(err, -1,
                            "endpoint of %s: region '%.64s' is not a region name (letters, digits "
                            "and '-')",
                            services[svc].env, reg);
        }
        n = snprintf(out, cap, "https://%s.%s.amazonaws.com", services[svc].host, reg);
    }
    if (n < 0 || (size_t)n >= cap) {
        return inv_fail(err, -1, "endpoint of %s from %s: too long", services[svc].env, from);
    }
    if (out_from != NULL) {
        *out_from = from;
    }
    return 0;
}

// ---- the static part, synchronously (credentials.h) --------------------------------------------

int inv_creds_load(struct inv_creds *out, inv_getenv_fn *getenv_fn, struct inv_err *err)
{
    struct inv_aws a;
    memset(&a, 0, sizeof a);
    a.getenv_fn = getenv_fn;
    int rc = -1;
    if (chain_resolve(&a) != 0) {
        inv_fail(err, 0, "%s", a.plan_err);
    } else if (!a.root->have) {
        inv_fail(err, 0,
                 "credentials come from %s, which kesm fetches over the network or from a "
                 "program; static credentials (environment or shared files) are needed here",
                 a.root->desc);
    } else {
        inv_creds_set(out, a.root->creds.access_key_id, a.root->creds.secret_access_key,
                      a.root->creds.session_token, a.root->desc);
        rc = 0;
    }
    src_free(a.root);
    inv_aws_files_free(a.files);
    return rc;
}
