// route.h: where `kesm serve` delivers a mapping whose request names no Kesm transport.
//
// A Lambda-shaped request (what `aws lambda create-event-source-mapping` sends) names only a
// function. With no routes, kesm invokes it through the Lambda API in the function ARN's region.
// Routes (kesm serve --route PATTERN=TARGET, tried in the order given) send it elsewhere:
//
//   PATTERN  '*' (every function), a function name ("my-kafka-function"), name:qualifier, or a
//            full function ARN; a name matches the function whatever its region and account.
//   TARGET   lambda               the Lambda Invoke API (in the ARN's region)
//            lambda:URL           the Lambda Invoke API at an endpoint override
//            http:URL             POST the event to URL
//            exec:PROG [ARG...]   run PROG with the event on stdin (split on spaces)
//            stdout               print each event as one line
//
// When routes are configured and none matches, the mapping stops with FUNCTION_CONFIG_NOT_VALID.
// A request with a Kesm.Transport member keeps its own transport.
#ifndef ESM_ROUTE_H
#define ESM_ROUTE_H

#include "esm/config.h"

#include <stddef.h>

struct esm_route {
    char *pattern;
    enum esm_transport transport;
    char *url;   // lambda endpoint override or http URL; NULL when none
    char **argv; // exec: NULL-terminated
    size_t argc;
};

struct esm_routes {
    struct esm_route *v;
    size_t n;
};

// esm_routes_add parses one PATTERN=TARGET and appends it. Returns 0, or -1 with a line in |err|.
int esm_routes_add(struct esm_routes *rs, const char *spec, char *err, size_t err_cap);

// esm_routes_match returns the first route whose pattern matches |fn|, or NULL.
const struct esm_route *esm_routes_match(const struct esm_routes *rs,
                                         const struct esm_function_ref *fn);

// esm_routes_cleanup frees the routes and zeroes |rs|.
void esm_routes_cleanup(struct esm_routes *rs);

#endif
