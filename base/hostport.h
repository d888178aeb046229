// hostport.h: the one "host:port" parser (bootstrap servers, the consumer's and producer's
// bootstrap lists, kafka:// destinations, `kesm serve --listen`).
//
// Accepted, and nothing else:
//   host  a DNS name: dot-separated labels of 1-63 letters, digits and inner hyphens, 253
//         characters at most, no trailing dot (a dotted IPv4 address is such a name); or an IPv6
//         literal in brackets, "[::1]", that inet_pton accepts (no zone index).
//   port  1-5 decimal digits, no sign or space, 1-65535 (0 as well with HOSTPORT_PORT_0; no
//         leading zero with HOSTPORT_CANONICAL_PORT).
// An IPv6 literal without brackets ("::1:9092") is refused: which colon starts the port cannot
// be told. libc only: no allocation, no globals.
#ifndef BASE_HOSTPORT_H
#define BASE_HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// HOSTPORT_HOST_MAX is the longest host the parser returns (an IPv6 literal without brackets is
// shorter); a buffer of HOSTPORT_HOST_MAX + 1 bytes always suffices.
#define HOSTPORT_HOST_MAX 253

enum hostport_flags {
    HOSTPORT_PORT_0 = 1,         // accept port 0 (a listener's "pick a free port")
    HOSTPORT_CANONICAL_PORT = 2, // refuse a port with a leading zero (an HTTP Host header check)
};

// hostport_parse splits the |len| bytes at |s| into the host (brackets removed, NUL-terminated,
// into |host| of |host_cap| bytes) and the port. Returns true on success; false when the text is
// not host:port as above or the host does not fit, with a static reason in |*out_why| when
// |out_why| is not NULL ("no port", "port out of range 1-65535", "bad host name", ...).
bool hostport_parse(const char *s, size_t len, unsigned flags, char *host, size_t host_cap,
                    uint16_t *out_port, const char **out_why);

// hostport_valid reports whether the C string |s| parses (flags 0).
bool hostport_valid(const char *s);

#endif
