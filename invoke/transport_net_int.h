// transport_net_int.h: what the network transports share: transport_net.c (the engine: calls,
// retries, the serial gate, the vtable), transport_http.c (results from HTTP answers and the
// "http" flavour) and transport_lambda.c.
#ifndef INVOKE_TRANSPORT_NET_INT_H
#define INVOKE_TRANSPORT_NET_INT_H

#include "base/log.h"
#include "invoke/aws.h"
#include "invoke/transport_net.h"
#include "net/http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INV_NET_MAX_HEADERS 8

// struct inv_net_prepared: one attempt's URL and headers (owned strings).
struct inv_net_prepared {
    char *url;
    char *names[INV_NET_MAX_HEADERS];
    char *values[INV_NET_MAX_HEADERS];
    size_t num_headers;
};

void inv_net_prepared_add(struct inv_net_prepared *p, const char *name, const char *value);
void inv_net_prepared_cleanup(struct inv_net_prepared *p);

// struct inv_net_flavour: what differs between "http" and "lambda".
struct inv_net_flavour {
    const char *name;
    // prepare builds one attempt (signing happens here). Returns 0 or -1 with |err|.
    int (*prepare)(void *state, const char *payload, size_t len, struct inv_net_prepared *out,
                   struct inv_err *err);
    // classify_status interprets a non-2xx status that is neither 413 nor retryable into |out|
    // (FATAL with a reason).
    void (*classify_error_status)(void *state, const struct net_http_response *resp,
                                  struct inv_result *out);
    bool rie_heuristics; // 200 + errorMessage/errorType or "Task timed out" is a function error
    bool bad_gateway_is_function_error; // 502 means the function's runtime failed (RIE, URLs)
    size_t max_request; // payloads above this get INV_RESULT_TOO_LARGE unsent (0: no limit)
    // aws: the credential provider prepare() signs with (NULL: none, or static credentials).
    // When set, each attempt waits until it has usable credentials; a credential error ends the
    // call (INV_RESULT_FATAL when the chain is unusable, INV_RESULT_RETRYABLE otherwise).
    struct inv_aws *(*aws)(void *state);
    void (*free_state)(void *state);
};

// inv_net_new creates a transport with |flavour| (static) and |state| (owned: freed with
// flavour->free_state, also on failure). Validates and applies the defaults of |opts|; when
// |https| and opts->tls is NULL it makes (and owns) a system-store TLS context.
int inv_net_new(struct inv_transport **out, struct net_reactor *r, const struct inv_net_opts *opts,
                bool https, const struct inv_net_flavour *flavour, void *state,
                struct inv_err *err);

// inv_net_sign signs a POST of |payload| to |path| (wire form) and |query| (or NULL) with SigV4
// for service "lambda": the headers already in |p| (they must include Host) are signed, then
// X-Amz-Date, X-Amz-Security-Token (session credentials) and Authorization are appended.
// Returns 0 or -1 with |err|.
int inv_net_sign(struct inv_net_prepared *p, const struct inv_creds *creds, const char *region,
                 int64_t now, const char *path, const char *query, const char *payload, size_t len,
                 struct inv_err *err);

// inv_net_error_text extracts the service's error type and message from an error response
// ("<type>: <message>", either part may be missing; "" when neither is found) into |buf|.
void inv_net_error_text(const struct net_http_response *resp, char *buf, size_t len);

// struct net_transport: one network transport (the engine's state; transport_net.c owns it,
// inv_net_classify reads it).
struct net_transport {
    struct inv_transport base;
    struct net_reactor *reactor;
    struct net_http *http;
    struct inv_net_opts opts;
    const struct inv_net_flavour *flavour;
    void *state;
    struct net_tls_ctx *own_tls; // the system-store context made when opts.tls was NULL
    struct call *calls;
    uint64_t next_id;
    uint64_t rng;
    // serial (max_concurrency 1): at most one request at the endpoint, an abandoned one included.
    bool serial;
    uint64_t abandoned_id;    // the net_http id of a request given up on but kept open, or 0
    uint64_t abandoned_at_ms; // when it was given up on (reactor clock)
    struct net_timer *resume; // starts the oldest waiting call once the endpoint is free
    char endpoint[300];       // scheme://host[:port] of the last request (messages, logs)
    char log[KESM_LOG_COMPONENT_CAP]; // log component: "invoke" or "invoke <log_tag>"
};

// inv_net_set_result replaces |out| with a result of |kind|, |status| and a copy of |msg| (or
// none).
void inv_net_set_result(struct inv_result *out, enum inv_result_kind kind, int status,
                        const char *msg);

// inv_net_classify turns one attempt's outcome |resp| into |out|; *retry says whether to try
// again; *retry_after_ms is the server's Retry-After in ms (0: none), which lengthens the
// backoff up to its maximum.
void inv_net_classify(const struct net_transport *t, const struct net_http_response *resp,
                      struct inv_result *out, bool *retry, uint32_t *retry_after_ms);

#endif
