// aws_int.h: what invoke/aws_chain.c (resolving the chain), invoke/aws_creds.c (cache, refresh,
// waiters) and invoke/aws_fetch.c (STS, container, IMDS, credential_process) share. Not an API.
#ifndef INVOKE_AWS_INT_H
#define INVOKE_AWS_INT_H

#include "invoke/aws.h"
#include "invoke/aws_parse.h"
#include "net/http.h"
#include "net/tls.h"

enum src_kind {
    SRC_ENV,
    SRC_ASSUME_ROLE,
    SRC_WEB_IDENTITY,
    SRC_SHARED_FILE,
    SRC_PROCESS,
    SRC_CONFIG_FILE,
    SRC_CONTAINER,
    SRC_IMDS,
};

struct src;
struct fetch; // one fetch in progress (aws_fetch.c)

// src_done_fn: a fetch ended; |doc| holds the credentials on success (the callee takes the
// strings), else |err| says why.
typedef void src_done_fn(struct src *s, struct inv_aws_creds_doc *doc, const char *err);

// struct src: one source of the chain (a node: an assume-role source has a base source).
struct src {
    struct inv_aws *a;
    enum src_kind kind;
    char desc[300]; // for logs and errors: "web identity (role ..., token file ...)"
    // parameters (owned strings; NULL when not used)
    char *role_arn, *session_name, *external_id, *token_file;
    char *command; // credential_process (may name a secret-free command line only)
    char *url;     // container endpoint / IMDS base URL
    char *auth_token, *auth_token_file;
    int duration_s; // AssumeRole DurationSeconds, 0: STS's default
    uint32_t timeout_ms;
    uint32_t attempts;
    struct src *base; // assume role: the source credentials
    // state
    struct inv_creds creds;
    bool have;
    int64_t expiration; // epoch seconds; -1: never
    int64_t fetched_at;
    struct fetch *fetch;
    // waiting on this source as the base of an assume-role fetch: the parent to resume.
    struct src *resume;
};

struct waiter {
    struct waiter *next;
    uint64_t id;
    inv_creds_done_fn *done;
    void *ctx;
};

struct inv_aws {
    struct net_reactor *r;
    inv_getenv_fn *getenv_fn;
    int64_t (*clock)(void *ctx);
    void *clock_ctx;
    char *default_region;
    char *ca_file;
    uint32_t process_timeout_ms, sts_timeout_ms;
    struct inv_aws_files *files; // loaded on first use
    bool files_loaded;
    char files_err[256];
    char region[64];
    struct net_tls_ctx *tls; // made on first https fetch
    struct net_http *http;
    // the chain
    struct src *root; // NULL until resolved
    char plan_err[400];
    bool plan_permanent;
    int64_t plan_retry_at; // after a failed resolution, not before
    char source[320];
    // waiters and the notifier that answers them from a clean stack
    struct waiter *waiters;
    uint64_t next_id;
    struct net_timer *notify;
    struct net_timer *refresh;
    uint32_t backoff_s;
    char last_err[400];
    bool last_permanent;
    bool failed; // the last attempt failed and nothing usable is cached
};

// ---- aws_chain.c ----
// chain_resolve builds a->root from the environment and files. Returns 0, or -1 with a->plan_err
// and a->plan_permanent.
int chain_resolve(struct inv_aws *a);
void src_free(struct src *s);
const struct inv_aws_files *aws_files(struct inv_aws *a, struct inv_err *err);

// ---- aws_fetch.c ----
// fetch_start fetches |s|'s credentials (for an assume-role source, with |base_creds|);
// |done| runs later from the reactor. Returns 0, or -1 with |err| (nothing started).
int fetch_start(struct src *s, const struct inv_creds *base_creds, src_done_fn *done,
                struct inv_err *err);
void fetch_cancel(struct src *s);
struct net_http *aws_http(struct inv_aws *a, bool https, struct inv_err *err);

// ---- aws_creds.c ----
// src_usable says whether |s| holds credentials that may be handed out at |now|.
bool src_usable(const struct src *s, int64_t now);

#endif
