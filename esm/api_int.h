// api_int.h: helpers shared by esm/api.c and esm/api_request.c (not for other modules).
#ifndef ESM_API_INT_H
#define ESM_API_INT_H

#include <stddef.h>

// esm_api_query_get finds |name| in a query string (no '?') and writes its percent-decoded value
// into |out| (|cap| bytes). Returns 1 when found, 0 when absent, -1 when the value is malformed
// (bad escape, NUL, invalid UTF-8, too long).
int esm_api_query_get(const char *query, const char *name, char *out, size_t cap);

#endif
