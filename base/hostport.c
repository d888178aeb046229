// hostport.c: the host:port parser (see hostport.h).
#include "base/hostport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static bool why(const char **out_why, const char *reason)
{
    if (out_why != NULL) {
        *out_why = reason;
    }
    return false;
}

// dns_name_ok checks |n| bytes as dot-separated labels (letters, digits, inner '-').
static bool dns_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > HOSTPORT_HOST_MAX) {
        return false;
    }
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '.') {
            if (label == 0 || s[i - 1] == '-') {
                return false;
            }
            label = 0;
            continue;
        }
        bool alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && !(ch == '-' && label > 0)) {
            return false;
        }
        if (++label > 63) {
            return false;
        }
    }
    return label > 0 && s[n - 1] != '-';
}

static bool ipv6_ok(const char *s, size_t n)
{
    char tmp[INET6_ADDRSTRLEN + 1];
    struct in6_addr a;
    if (n == 0 || n >= sizeof tmp) {
        return false;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return inet_pton(AF_INET6, tmp, &a) == 1;
}

static bool port_ok(const char *s, size_t n, unsigned flags, uint16_t *out)
{
    if (n == 0 || n > 5 || ((flags & HOSTPORT_CANONICAL_PORT) && n > 1 && s[0] == '0')) {
        return false;
    }
    uint32_t p = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        p = p * 10 + (uint32_t)(s[i] - '0');
    }
    if (p > 65535 || (p == 0 && !(flags & HOSTPORT_PORT_0))) {
        return false;
    }
    *out = (uint16_t)p;
    return true;
}

bool hostport_parse(const char *s, size_t len, unsigned flags, char *host, size_t host_cap,
                    uint16_t *out_port, const char **out_why)
{
    const char *h = s;
    size_t hl;
    const char *rest;
    if (len > 0 && s[0] == '[') {
        const char *rb = memchr(s, ']', len);
        if (rb == NULL) {
            return why(out_why, "'[' without ']'");
        }
        h = s + 1;
        hl = (size_t)(rb - h);
        if (!ipv6_ok(h, hl)) {
            return why(out_why, "bad IPv6 address in brackets");
        }
        rest = rb + 1;
    } else {
        const char *colon = memchr(s, ':', len);
        if (colon == NULL) {
            return why(out_why, "no port");
        }
        hl = (size_t)(colon - s);
        if (memchr(colon + 1, ':', len - hl - 1) != NULL) {
            return why(out_why, "more than one ':' (an IPv6 address needs brackets)");
        }
        if (!dns_name_ok(h, hl)) {
            return why(out_why, "bad host name");
        }
        rest = colon;
    }
    size_t rl = len - (size_t)(rest - s);
    if (rl == 0) {
        return why(out_why, "no port");
    }
    if (rest[0] != ':') {
        return why(out_why, "expected ':' and a port after ']'");
    }
    if (rl == 1) {
        return why(out_why, "no port");
    }
    if (!port_ok(rest + 1, rl - 1, flags, out_port)) {
        return why(out_why, (flags & HOSTPORT_PORT_0) ? "port out of range 0-65535"
                                                      : "port out of range 1-65535");
    }
    if (hl >= host_cap) {
        return why(out_why, "host name too long");
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    return true;
}

bool hostport_valid(const char *s)
{
    char host[HOSTPORT_HOST_MAX + 1];
    uint16_t port;
    return hostport_parse(s, strlen(s), 0, host, sizeof host, &port, NULL);
}
