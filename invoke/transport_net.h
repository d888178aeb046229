// transport_net.h: the network transports of invoke/ ("http" and "lambda", on net/http) and the
// driver that runs any transport on the net reactor.
//
// Both network transports run on a net_reactor: submit() queues an HTTP request on the reactor and
// the done callback runs from a reactor callback (never inside submit). Their poll_fds() reports
// nothing and dispatch() does nothing, so inv_transport_run cannot drive them; run the reactor.
// A done callback may submit, cancel, and also free the transport.
//
// Result rules (shared; spec: Lambda Invoke API and the Runtime Interface Emulator):
//   - 2xx: X-Amz-Function-Error present -> INV_RESULT_FUNCTION_ERROR ("<header>: <errorType>:
//     <errorMessage>" from the body); for "http" also a JSON object body with a string
//     errorMessage or errorType (the emulator's 200-with-error shape) and a body starting with
//     "Task timed out after" (the emulator's timeout) are function errors. Otherwise the body goes
//     through inv_result_from_response (batchItemFailures when report_batch_item_failures).
//   - 413 -> INV_RESULT_TOO_LARGE (split the batch and try again); "lambda" also answers so,
//     without sending, for a payload above 6291456 bytes (the synchronous Invoke limit).
//   - "http" only: 502 -> INV_RESULT_FUNCTION_ERROR (the emulator answers 502 when the runtime
//     process exits, a function URL when the function fails); for "lambda" 502 is a service
//     error (ResourceNotReadyException, ENI/KMS problems) and is retried as below.
//   - 429, 5xx, 408, 409 and network failures (resolve, connect, TLS handshake timeout or a
//     non-authentication TLS error, disconnect, malformed response) are retried with exponential
//     backoff and full jitter (delay d = min(backoff_max, backoff_initial * 2^(attempt-1)),
//     waited uniformly in [d/2, d]; a Retry-After header in seconds raises it, still capped),
//     up to max_attempts attempts in all; then INV_RESULT_RETRYABLE with the last error.
//   - other 4xx and 3xx -> INV_RESULT_FATAL naming the status and the service's error type and
//     message (for Lambda: the x-amzn-ErrorType header and the body's message), e.g. an
//     AccessDeniedException, ResourceNotFoundException or a bad signature:
//     FUNCTION_CONFIG_NOT_VALID in ESM terms. A TLS authentication failure (unknown CA, wrong name,
//     expired, client cert) is FATAL too.
//   - the invocation timeout (timeout_ms) passing after the request was sent is a function error
//     (the function ran too long); passing before it was sent is retried like a network failure.
//   - a retryable failure's final message names the endpoint: "gave up after N attempts at
//     scheme://host[:port]: <last error>".
//
// One-at-a-time endpoints (max_concurrency 1, e.g. the Lambda Runtime Interface Emulator, which
// crashes when a second invocation arrives while one is running): the transport sends at most one
// request there at a time, retries and other calls included. When the invocation timeout passes
// after the request was sent (or such a call is cancelled), the function may still be running
// it: the call ends (a timeout is a function error, as above) but its connection is kept open,
// and the next request waits until the endpoint answers it (the answer is discarded) or closes
// the connection, at most abandon_wait_ms; then the connection is closed, a warning logged and
// the next request sent.
//   - a response body above max_response (6 MiB + 64 KiB) is a function error.
// Result messages hold no secrets and no payload bytes beyond the function's error text.
#ifndef INVOKE_TRANSPORT_NET_H
#define INVOKE_TRANSPORT_NET_H

#include "invoke/aws.h"
#include "invoke/credentials.h"
#include "invoke/transport.h"
#include "net/http.h"
#include "net/reactor.h"
#include "net/tls.h"

#include <stdbool.h>
#include <stdint.h>

// INV_NET_MAX_TIMEOUT_MS: 14 minutes, the longest function timeout a Kafka ESM accepts.
#define INV_NET_MAX_TIMEOUT_MS 840000u
// INV_NET_ABANDON_WAIT_MS: how long a one-at-a-time endpoint may go on with an invocation given up
// on before the next one is sent anyway: 300 s, the emulator's default function timeout
// (AWS_LAMBDA_FUNCTION_TIMEOUT). INV_NET_MAX_ABANDON_WAIT_MS: 15 minutes, Lambda's longest.
#define INV_NET_ABANDON_WAIT_MS 300000u
#define INV_NET_MAX_ABANDON_WAIT_MS 900000u

// struct inv_net_opts: knobs shared by both transports. Zero fields take the defaults.
struct inv_net_opts {
    // tls: for https endpoints (borrowed; must outlive the transport); NULL: the transport
    // makes its own from the system CA store.
    struct net_tls_ctx *tls;
    uint32_t timeout_ms;         // one attempt, connect to last byte [840000]; > 840000 refused
    uint32_t connect_timeout_ms; // per address, TCP + TLS handshake [10000]
    uint32_t max_attempts;       // attempts for retryable failures, first included [5]
    uint32_t backoff_initial_ms; // [200]
    uint32_t backoff_max_ms;     // [20000]
    uint32_t idle_timeout_ms;    // keep-alive idle close [30000]
    size_t max_response;         // response body limit [6356992]
    // max_concurrency: invocations on the wire at once (one connection each); more wait their
    // turn. 1 makes the endpoint one-at-a-time (above): the Runtime Interface Emulator runs one
    // invocation at a time and crashes on a second, so set 1 for it. [0: unlimited]
    uint32_t max_concurrency;
    // abandon_wait_ms: one-at-a-time endpoints only: how long an invocation given up on may keep
    // the endpoint before the next one is sent anyway [INV_NET_ABANDON_WAIT_MS]; at most
    // INV_NET_MAX_ABANDON_WAIT_MS.
    uint32_t abandon_wait_ms;
    bool report_batch_item_failures;
    // log_tag: added to the component of the transport's log lines ("invoke <tag>", "http
    // <tag>"), e.g. "mapping=<UUID>". Copied. [none]
    const char *log_tag;
};

// ---- http -----------------------------------------------------------------------------------

struct inv_http_cfg {
    // url: where to POST each event, e.g. the emulator
    // http://127.0.0.1:9000/2015-03-31/functions/function/invocations or a function URL.
    const char *url;
    struct inv_net_opts opts;
    // sign_creds: when set, every request is signed with SigV4 (service "lambda",
    // |sign_region|), as a function URL with AuthType AWS_IAM requires; copied.
    const struct inv_creds *sign_creds;
    const char *sign_region;
    int64_t (*clock)(void); // for X-Amz-Date; NULL means time()
};

// inv_http_new makes the "http" transport on |r| (borrowed; must outlive it). Config strings are
// copied. Returns 0, or -1 with |err| (bad URL, unloadable system CA store, timeout too long).
int inv_http_new(struct inv_transport **out, struct net_reactor *r, const struct inv_http_cfg *cfg,
                 struct inv_err *err);

// ---- lambda ---------------------------------------------------------------------------------

struct inv_lambda_cfg {
    // function: a name ("my-function"), name:qualifier, a partial ARN
    // ("123456789012:function:my-function") or a full ARN
    // ("arn:aws:lambda:us-east-1:123456789012:function:my-function[:alias]").
    const char *function;
    const char *qualifier; // optional: sent as ?Qualifier=
    // region: signing region; NULL takes the full ARN's region (an error if there is none).
    const char *region;
    // endpoint: scheme://host[:port] of the Lambda API; NULL means
    // https://lambda.<region>.amazonaws.com. Tests point it at http://127.0.0.1:PORT.
    const char *endpoint;
    // aws: the credential chain (invoke/aws.h; borrowed, must outlive the transport): each
    // attempt is signed with its current credentials, waiting while they are being fetched or
    // refreshed. When NULL, |creds| (copied) are used as they are.
    struct inv_aws *aws;
    const struct inv_creds *creds;
    struct inv_net_opts opts;
    // clock: seconds since the epoch for X-Amz-Date; NULL means time(). Tests pin it.
    int64_t (*clock)(void);
};

// inv_lambda_new makes the "lambda" transport: POST /2015-03-31/functions/<function>/invocations
// with X-Amz-Invocation-Type: RequestResponse, signed with SigV4 (service "lambda"; a session
// token is sent as X-Amz-Security-Token and signed) on every attempt. Returns 0, or -1 with |err|
// (no function, no region, bad endpoint, unloadable system CA store, incomplete credentials).
int inv_lambda_new(struct inv_transport **out, struct net_reactor *r,
                   const struct inv_lambda_cfg *cfg, struct inv_err *err);

// inv_net_transport_stats copies the HTTP client counters of an http or lambda transport
// (connections opened and reused); returns -1 for another kind of transport.
int inv_net_transport_stats(struct inv_transport *t, struct net_http_stats *out);

// ---- driving poll-based transports on the reactor -------------------------------------------

// inv_driver runs a poll-based transport (exec, stdout) on a net reactor: it watches the
// descriptors poll_fds() names (net_fdwatch), arms a timer for its timeout, and calls dispatch()
// on every wake-up. Call inv_driver_kick after each submit or cancel so the new descriptors are
// watched. It works with the network transports too (they need nothing from it). The transport is
// borrowed: free the driver before or together with it.
struct inv_driver;
struct inv_driver *inv_driver_new(struct net_reactor *r, struct inv_transport *t);
void inv_driver_kick(struct inv_driver *d);
// inv_driver_free stops watching (the transport is not freed). NULL is a no-op. It may be called
// from a done callback the driver's dispatch runs (the driver then goes when dispatch returns).
void inv_driver_free(struct inv_driver *d);

#endif
