// status_check.c: checks of the status page's inputs: the Host header (esm_status_host_ok,
// status_http.h) and text from log lines made safe to show (esm_status_sanitize, status.h). No
// state, no I/O: fuzz/fuzz_status.c drives both.
#include "esm/status.h"
#include "esm/status_http.h"
#include "invoke/utf8.h"

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

// parse_port reads 1-5 digits (no sign, no leading zero unless "0") up to 65535.
static bool parse_port(const char *s, unsigned *out)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 5 || s[n] != '\0' || (s[0] == '0' && n > 1)) {
        return false;
    }
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return v <= 65535;
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
    char name[301];
    memcpy(name, host, len + 1);
    char *port_s = NULL;
    bool bracketed = name[0] == '[';
    char *lit = name;
    if (bracketed) {
        char *end = strchr(name, ']');
        if (!end || (end[1] != '\0' && end[1] != ':')) {
            return false;
        }
        *end = '\0';
        lit = name + 1;
        port_s = end[1] == ':' ? end + 2 : NULL;
    } else {
        char *colon = strchr(name, ':');
        if (colon) {
            if (strchr(colon + 1, ':')) {
                return false; // an IPv6 literal needs brackets
            }
            *colon = '\0';
            port_s = colon + 1;
        }
    }
    unsigned port = 80;
    if (port_s && !parse_port(port_s, &port)) {
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
        size_t len = inv_utf8_seq(s + i, n - i);
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
