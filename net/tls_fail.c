// tls_fail.c: names and classes of TLS failures (see enum net_tls_fail in tls.h). libc only, so
// the session fuzzer (which links no libssl) can classify a stream's end.
#include "net/tls.h"

const char *net_tls_fail_name(enum net_tls_fail f)
{
    switch (f) {
    case NET_TLS_FAIL_NONE:
        return "none";
    case NET_TLS_UNKNOWN_CA:
        return "unknown CA";
    case NET_TLS_HOSTNAME_MISMATCH:
        return "hostname mismatch";
    case NET_TLS_EXPIRED:
        return "certificate expired";
    case NET_TLS_CERT_INVALID:
        return "certificate invalid";
    case NET_TLS_CLIENT_CERT_REQUIRED:
        return "client certificate required";
    case NET_TLS_CLIENT_CERT_REJECTED:
        return "client certificate rejected";
    case NET_TLS_HANDSHAKE_TIMEOUT:
        return "handshake timeout";
    case NET_TLS_NOT_TLS:
        return "not TLS";
    case NET_TLS_PROTOCOL:
        return "TLS protocol error";
    }
    return "?";
}

bool net_tls_fail_is_authn(enum net_tls_fail f)
{
    switch (f) {
    case NET_TLS_UNKNOWN_CA:
    case NET_TLS_HOSTNAME_MISMATCH:
    case NET_TLS_EXPIRED:
    case NET_TLS_CERT_INVALID:
    case NET_TLS_CLIENT_CERT_REQUIRED:
    case NET_TLS_CLIENT_CERT_REJECTED:
        return true;
    case NET_TLS_FAIL_NONE:
    case NET_TLS_HANDSHAKE_TIMEOUT:
    case NET_TLS_NOT_TLS:
    case NET_TLS_PROTOCOL:
        return false;
    }
    return false;
}
