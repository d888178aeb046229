// api.h: the Lambda event source mapping management API over HTTP (libevent evhttp).
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
// Every response carries x-amzn-RequestId. Errors carry x-amzn-ErrorType and a JSON body
// {"Type": "User"|"Service", "message"|"Message": "..."} spelled per exception as Lambda does:
// InvalidParameterValueException 400 "message", InvalidRequestContentException 400 "message",
// ResourceInUseException 400 "Message", ResourceNotFoundException 404 "Message",
// ResourceConflictException 409 "message", ServiceException 500 "Message",
// AccessDeniedException 403 "Message" (a client that is not on loopback, unless allowed),
// UnknownOperationException 404 "message".
//
// Authentication: when the config names credentials, every request must carry a valid SigV4
// signature for them (service "lambda", the configured region, X-Amz-Date within 15 minutes);
// otherwise 403 MissingAuthenticationTokenException (no Authorization header) or
// InvalidSignatureException ("message"). Without credentials signatures are not checked.
#ifndef ESM_API_H
#define ESM_API_H

#include "esm/mapping.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evhttp_request;
struct esm_api;
struct inv_creds;
struct sockaddr;

struct esm_api_config {
    const char *host;  // address to bind; NULL = "127.0.0.1"
    uint16_t port;     // 0 = any free port (see esm_api_port)
    bool allow_remote; // answer clients that are not on loopback
    size_t max_body;   // request body limit; 0 = 1 MiB
    // verify_creds, if set (borrowed, must outlive the server), turns on SigV4 verification;
    // verify_region is the region of the credential scope (NULL = "us-east-1").
    const struct inv_creds *verify_creds;
    const char *verify_region;
    // extra, if set, is offered every request of a loopback (or allowed) client before the API
    // routes and before any SigV4 check; it answers and returns true for the paths it serves
    // (the status page: esm/status_http.h).
    bool (*extra)(void *ctx, struct evhttp_request *req, const char *path);
    void *extra_ctx;
};

// esm_api_new binds the server on |base| and serves |mgr| (both borrowed, must outlive it).
// Returns NULL with the reason in |why| on failure.
struct esm_api *esm_api_new(struct event_base *base, struct esm_manager *mgr,
                            const struct esm_api_config *cfg, char *why, size_t why_len);
// esm_api_port returns the bound port.
uint16_t esm_api_port(const struct esm_api *api);
// esm_api_addr_is_loopback reports whether a client address is loopback (127.0.0.0/8, ::1, or
// an IPv4-mapped 127.0.0.0/8): the clients answered without --allow-remote.
bool esm_api_addr_is_loopback(const struct sockaddr *sa);

// esm_api_free closes the listener and open connections. NULL is a no-op.
void esm_api_free(struct esm_api *api);

#endif
