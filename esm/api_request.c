// api_request.c: the request checks of the management API that need no server (see api.h):
// client address, Host, Content-Type and query strings. Pure functions, shared with the fuzzer.
#include "base/utf8.h"
#include "esm/api.h"
#include "esm/api_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

bool esm_api_addr_is_loopback(const struct sockaddr *sa)
{
    if (!sa) {
        return false;
    }
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof sin);
        return (ntohl(sin.sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof sin6);
        const uint8_t *a = sin6.sin6_addr.s6_addr;
        static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        return IN6_IS_ADDR_LOOPBACK(&sin6.sin6_addr) ||
               (!memcmp(a, v4mapped, sizeof v4mapped) && a[12] == 127);
    }
    return false;
}

// split_host takes "name", "name:port", "[v6]" or "[v6]:port" apart. Returns false if malformed.
static bool split_host(const char *v, char *name, size_t cap, long *port)
{
    const char *end;
    *port = -1;
    if (v[0] == '[') {
        const char *rb = strchr(v, ']');
        if (!rb || (size_t)(rb - v - 1) >= cap) {
            return false;
        }
        memcpy(name, v + 1, (size_t)(rb - v - 1));
        name[rb - v - 1] = '\0';
        end = rb + 1;
    } else {
        size_t n = strcspn(v, ":");
        if (n == 0 || n >= cap) {
            return false;
        }
        memcpy(name, v, n);
        name[n] = '\0';
        end = v + n;
    }
    if (*end == '\0') {
        return true;
    }
    if (*end != ':' || end[1] == '\0' || strlen(end + 1) > 5 ||
        strspn(end + 1, "0123456789") != strlen(end + 1)) {
        return false;
    }
    *port = strtol(end + 1, NULL, 10);
    return *port <= 65535;
}

static bool is_ip_literal(const char *name)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

static bool same_ip(const char *a, const char *b)
{
    unsigned char x[16] = {0}, y[16] = {0};
    if (inet_pton(AF_INET, a, x) == 1) {
        return inet_pton(AF_INET, b, y) == 1 && !memcmp(x, y, 4);
    }
    return inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1 && !memcmp(x, y, 16);
}

static bool is_wildcard(const char *listen)
{
    return !strcmp(listen, "0.0.0.0") || !strcmp(listen, "::") || !strcmp(listen, "0::0");
}

bool esm_api_host_ok(const char *host, const char *listen_host, uint16_t port,
                     const char *const *allowed, size_t num_allowed)
{
    char name[256];
    long p;
    if (host == NULL || !split_host(host, name, sizeof name, &p)) {
        return false;
    }
    if (p < 0 ? port != 80 : p != port) {
        return false;
    }
    const char *listen = listen_host ? listen_host : "127.0.0.1";
    if (!strcasecmp(listen, "localhost")) {
        listen = "127.0.0.1";
    }
    bool loopback_listen = !strncmp(listen, "127.", 4) || !strcmp(listen, "::1");
    if (loopback_listen &&
        (!strcasecmp(name, "localhost") || !strcmp(name, "127.0.0.1") || !strcmp(name, "::1"))) {
        return true;
    }
    if (is_ip_literal(name) && (is_wildcard(listen) || same_ip(name, listen))) {
        return true;
    }
    for (size_t i = 0; i < num_allowed; i++) {
        if (!strcasecmp(name, allowed[i])) {
            return true;
        }
    }
    return false;
}

bool esm_api_json_content_type(const char *v)
{
    static const char *const types[] = {"application/json", "application/x-amz-json-1.0",
                                        "application/x-amz-json-1.1"};
    size_t n = strcspn(v, ";");
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) {
        n--;
    }
    bool known = false;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        known = known || (strlen(types[i]) == n && !strncasecmp(v, types[i], n));
    }
    if (!known) {
        return false;
    }
    // Parameters: only charset, and only UTF-8.
    const char *p = strchr(v, ';');
    while (p) {
        p++;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        size_t len = strcspn(p, ";");
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
            len--;
        }
        if (!((len == 13 && !strncasecmp(p, "charset=utf-8", 13)) ||
              (len == 15 && !strncasecmp(p, "charset=\"utf-8\"", 15)))) {
            return false;
        }
        p = strchr(p, ';');
    }
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// decode percent-decodes |n| bytes of |s| ('+' is a space) into |out|; false for a malformed
// escape, a NUL, invalid UTF-8 or a result that does not fit.
static bool decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return false;
            }
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == '\0' || o + 1 >= cap) {
            return false;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return utf8_valid(out, o);
}

int esm_api_query_get(const char *query, const char *name, char *out, size_t cap)
{
    if (query == NULL) {
        return 0;
    }
    size_t nl = strlen(name);
    for (const char *p = query; *p;) {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        size_t kl = eq ? (size_t)(eq - p) : len;
        if (kl == nl && !strncmp(p, name, nl)) {
            const char *v = eq ? eq + 1 : p + len;
            size_t vl = eq ? len - kl - 1 : 0;
            return decode(v, vl, out, cap) ? 1 : -1;
        }
        p += len;
        if (*p == '&') {
            p++;
        }
    }
    return 0;
}
