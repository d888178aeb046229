// http_int.h: what the HTTP client's files share (nothing outside net/http*.c uses it).
#ifndef NET_HTTP_INT_H
#define NET_HTTP_INT_H

#include "net/http.h"

#include <stddef.h>

#define NET_HTTP_METHOD_MAX 15

// net_http_wire builds the request bytes for |r| to |u|: request line, Host (unless given),
// User-Agent kesm/<version> (unless given), the caller's headers, Content-Length (for a body and
// for POST/PUT/PATCH), the body. Refuses (-1 with |err|) a method that is not a token (or longer
// than NET_HTTP_METHOD_MAX), a header name that is not a token, a value with CR, LF or another
// control byte, and caller-set Content-Length, Transfer-Encoding or Connection. On success
// *out is a heap buffer the caller frees.
int net_http_wire(char **out, size_t *out_len, const struct net_http_url *u,
                  const struct net_http_request *r, char *err, size_t err_len);

#endif
