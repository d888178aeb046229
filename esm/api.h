// api.h: the Lambda event source mapping management API over HTTP (net/httpd.h).
//
// Routes (rest-json, as the AWS CLI and SDKs send them; the collection path is accepted with and
// without its trailing slash):
//   POST   /2015-03-31/event-source-mappings/          CreateEventSourceMapping  202
//   GET    /2015-03-31/event-source-mappings/?FunctionName=&EventSourceArn=&Marker=&MaxItems=
//                                                      ListEventSourceMappings   200
//   GET    /2015-03-31/event-source-mappings/<UUID>    GetEventSourceMapping     200
//   PUT    /2015-03-31/event-source-mappings/<UUID>    UpdateEventSourceMapping  202
//   DELETE /2015-03-31/event-source-mappings/<UUID>    DeleteEventSourceMapping  202
//
// Observability (esm/metrics.h; not SigV4-checked, loopback-only unless allowed like the rest):
//   GET    /metrics    Prometheus text exposition 0.0.4 of every mapping            200
//   GET    /health     {"Status":"ok","Total":N,"Mappings":{"Enabled":N,...}}       200
//                      (also /healthz) while the API serves: mapping problems show per
//                      mapping, never as process ill-health.
// The status page (/status, /status.json: esm/status_http.h) is answered through the config's
// extra hook, before these.
//
// Every response carries x-amzn-RequestId. Errors are never HTML: they carry x-amzn-ErrorType
// and a JSON body {"Type": "User"|"Service", "message"|"Message": "..."} spelled per exception as
// Lambda does: InvalidParameterValueException 400 "message", InvalidRequestContentException 400
// "message", ResourceInUseException 400 "Message", ResourceNotFoundException 404 "Message",
// ResourceConflictException 409 "message", ServiceException 500 "Message", AccessDeniedException
// 403 "Message", UnknownOperationException 404 "message", UnsupportedMediaTypeException 415
// "message", RequestTooLargeException 413 "message", TooManyRequestsException 429 "message"
// (with Retry-After and "Reason"), RequestTimeoutException 408 "message".
//
// Checks, in order, before a request reaches a handler:
//   1. the HTTP framing (net/httpd_parse.h: one Content-Length, no Transfer-Encoding, limits);
//   2. the client is on loopback, unless allow_remote (403 AccessDeniedException);
//   3. Host names this server (DNS rebinding): the listen address, localhost and the loopback
//      literals when listening on loopback, any IP literal when listening on a wildcard address,
//      or one of allowed_hosts; with the bound port (403 AccessDeniedException). /metrics and
//      /health stop here;
//   4. no Origin header (browsers send one; the AWS CLI and SDKs never do) (403);
//   5. POST, PUT and DELETE with a body carry Content-Type application/json or
//      application/x-amz-json-1.0/1.1 (optionally "; charset=utf-8"); a body-less DELETE may
//      carry none (415 UnsupportedMediaTypeException);
//   6. the SigV4 signature, unless the server was started without authentication (403
//      MissingAuthenticationTokenException / InvalidSignatureException); X-Amz-Date within 5
//      minutes, as AWS;
//   7. the body is guarded JSON (esm/json_guard.h: strict UTF-8, no \u0000, depth and size
//      limits, no duplicate key) (400 InvalidRequestContentException naming the problem), then
//      validated (esm/config.h) and held to the operator's policy (esm/policy.h) (400
//      InvalidParameterValueException).
#ifndef ESM_API_H
#define ESM_API_H

#include "esm/mapping.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct esm_api;
struct net_httpd_parser;
struct net_httpd_peer;
struct net_httpd_response;
struct inv_creds;
struct sockaddr;

// esm_api_extra_fn answers |req| into |resp| and returns true when |req|'s path is its own.
typedef bool esm_api_extra_fn(void *ctx, const struct net_httpd_parser *req,
                              const struct net_httpd_peer *peer, struct net_httpd_response *resp);

// enum esm_api_op / struct esm_api_writer: fleet mode (esm/fleet.h). read_ok says whether this
// node can answer reads truthfully now (false: ServiceException 500 with |why|, for every API
// request). write takes over a create (|uuid| ""), update or delete with its parsed body (NULL
// for a delete): it either fills |now| and returns false (answered at once, 202 on success), or
// defers |resp| (net_httpd_defer) and returns true, and later answers with esm_api_answer.
enum esm_api_op { ESM_API_CREATE, ESM_API_UPDATE, ESM_API_DELETE };
struct esm_api_writer {
    bool (*read_ok)(void *ctx, char *why, size_t why_len);
    bool (*write)(void *ctx, enum esm_api_op op, const char *uuid, const cJSON *body,
                  struct net_httpd_response *resp, struct esm_op_result *now);
    // decorate, if set, turns a Get (|list| false) or List answer into the fleet's view.
    void (*decorate)(void *ctx, cJSON *body, bool list);
    // metrics, if set, rewrites the /metrics exposition |text| (consumed): returns the new text
    // (heap) and its length.
    char *(*metrics)(void *ctx, char *text, size_t len, size_t *out_len);
    void *ctx;
};
struct net_httpd_deferred;
// esm_api_answer sends |r| (its body is consumed) as the deferred answer |d| (202/200 on success
// as |ok_status| says, else the error Lambda sends for r->status).
void esm_api_answer(struct net_httpd_deferred *d, struct esm_op_result *r, int ok_status);

struct esm_api_config {
    const char *host;  // address to bind (an IP literal or "localhost"); NULL = "127.0.0.1"
    uint16_t port;     // 0 = any free port (see esm_api_port)
    bool allow_remote; // answer clients that are not on loopback
    size_t max_body;   // request body limit; 0 = ESM_API_MAX_BODY
    // verify_creds, if set (borrowed, must outlive the server), turns on SigV4 verification;
    // verify_region is the region of the credential scope (NULL = "us-east-1").
    const struct inv_creds *verify_creds;
    const char *verify_region;
    // no_auth: serve without verify_creds (kesm serve --insecure-no-auth). Without it and without
    // verify_creds, esm_api_new refuses to start.
    bool no_auth;
    const char *const *allowed_hosts; // extra Host names (kesm serve --allowed-host)
    size_t num_allowed_hosts;
    size_t max_conns;           // connection cap; 0 = 128
    uint32_t header_timeout_ms; // 0 = 10000
    uint32_t body_timeout_ms;   // 0 = 30000
    uint32_t idle_timeout_ms;   // 0 = 15000
    // extra, if set, is offered every request of a loopback (or allowed) client before the API
    // checks and routes; it answers and returns true for the paths it serves (the status page:
    // esm/status_http.h, which checks its own Host, Origin and method).
    esm_api_extra_fn *extra;
    void *extra_ctx;
    const struct esm_api_writer *writer; // fleet mode: copied; NULL = local mappings
};

// ESM_API_MAX_BODY: the request body limit. AWS documents none for this API; the largest valid
// request (10 filter patterns of 4,096 characters, each character escaped, 22 access
// configurations, 50 tags) stays below it, and a state file of one mapping always fits
// ESM_STORE_MAX_FILE.
#define ESM_API_MAX_BODY (256 * 1024)

// esm_api_new binds the server on |base| and serves |mgr| (both borrowed, must outlive it).
// Returns NULL with the reason in |why| on failure.
struct esm_api *esm_api_new(struct event_base *base, struct esm_manager *mgr,
                            const struct esm_api_config *cfg, char *why, size_t why_len);
// esm_api_port returns the bound port.
uint16_t esm_api_port(const struct esm_api *api);
// esm_api_addr_is_loopback reports whether a client address is loopback (127.0.0.0/8, ::1, or
// an IPv4-mapped 127.0.0.0/8): the clients answered without --allow-remote.
bool esm_api_addr_is_loopback(const struct sockaddr *sa);

// esm_api_host_ok reports whether a Host header value names a server bound to |listen_host|
// (NULL = "127.0.0.1") and |port| (rule 3 above); |allowed| lists extra names.
bool esm_api_host_ok(const char *host, const char *listen_host, uint16_t port,
                     const char *const *allowed, size_t num_allowed);
// esm_api_json_content_type reports whether a Content-Type value is one the AWS SDKs send for
// JSON (rule 5 above).
bool esm_api_json_content_type(const char *v);

// esm_api_free closes the listener and open connections. NULL is a no-op.
void esm_api_free(struct esm_api *api);

#endif
