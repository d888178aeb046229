// status_check.c: checks of the status page's inputs: the Host header (esm_status_host_ok,
// status_http.h) and text from log lines made safe to show (esm_status_sanitize, status.h). No
// state, no I/O: fuzz/fuzz_status.c drives both.
#include "base/hostport.h"
#include "base/utf8.h"
#include "esm/status.h"
#include "esm/status_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool local_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof sin);
        return (ntohl(sin.sin_addr.s_addr) >> 24) == 127;
    }
    struct sockaddr_in6 s6;
    memcpy(&s6, sa, sizeof s6);
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return IN6_IS_ADDR_LOOPBACK(&s6.sin6_addr) ||
           (!memcmp(s6.sin6_addr.s6_addr, v4mapped, 12) && s6.sin6_addr.s6_addr[12] == 127);
}

// same_address compares an IP literal with the local address (an IPv4 literal also matches an
// IPv4-mapped IPv6 local address).
static bool same_address(const char *lit, bool bracketed, const struct sockaddr *local)
{
    uint8_t a[16];
    if (local->sa_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, local, sizeof sin);
        return !bracketed && inet_pton(AF_INET, lit, a) == 1 && !memcmp(a, &sin.sin_addr, 4);
    }
    struct sockaddr_in6 s6;
    memcpy(&s6, local, sizeof s6);
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (bracketed) {
        return inet_pton(AF_INET6, lit, a) == 1 && !memcmp(a, s6.sin6_addr.s6_addr, 16);
    }
    return inet_pton(AF_INET, lit, a) == 1 && !memcmp(s6.sin6_addr.s6_addr, v4mapped, 12) &&
           !memcmp(a, s6.sin6_addr.s6_addr + 12, 4);
}

bool esm_status_host_ok(const char *host, const struct sockaddr *local)
{
    if (!host || !local || (local->sa_family != AF_INET && local->sa_family != AF_INET6)) {
        return false;
    }
    size_t len = strlen(host);
    if (len == 0 || len > 300) {
        return false;
    }
    // Without a port the Host header means the http scheme's 80 (RFC 9110 section 7.2).
    bool bracketed = host[0] == '[';
    const char *close = bracketed ? strchr(host, ']') : NULL;
    bool has_port = bracketed ? close != NULL && close[1] == ':' : strchr(host, ':') != NULL;
    char text[310];
    snprintf(text, sizeof text, "%s%s", host, has_port ? "" : ":80");
    char lit[HOSTPORT_HOST_MAX + 1];
    uint16_t port;
    if (!hostport_parse(text, strlen(text), HOSTPORT_CANONICAL_PORT, lit, sizeof lit, &port,
                        NULL)) {
        return false;
    }
    uint16_t local_port;
    if (local->sa_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, local, sizeof sin);
        local_port = ntohs(sin.sin_port);
    } else {
        struct sockaddr_in6 s6;
        memcpy(&s6, local, sizeof s6);
        local_port = ntohs(s6.sin6_port);
    }
    if (port != local_port) {
        return false;
    }
    if (!bracketed && !strcasecmp(lit, "localhost")) {
        return local_is_loopback(local);
    }
    return same_address(lit, bracketed, local);
}

char *esm_status_sanitize(char *out, size_t cap, const char *src)
{
    size_t o = 0, n = strlen(src);
    const unsigned char *s = (const unsigned char *)src;
    for (size_t i = 0; i < n && o + 1 < cap;) {
        size_t len = utf8_seq(s + i, n - i);
        if (len == 0) {
            out[o++] = '?';
            i++;
        } else if (len == 1) {
            out[o++] = s[i] < 0x20 || s[i] == 0x7f ? ' ' : (char)s[i];
            i++;
        } else if (o + len < cap) {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        } else {
            break;
        }
    }
    out[o] = '\0';
    return out;
}
