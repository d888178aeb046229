// http_wire.c: what the HTTP client puts on the wire: URL parsing (net_http_url_parse, see
// http.h) and the request bytes (net_http_wire, see http_int.h).
#include "base/alloc.h"
#include "base/buf.h"
#include "net/http.h"
#include "net/http_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef KESM_VERSION
#define KESM_VERSION "0"
#endif

static int url_fail(char *err, size_t err_len, const char *msg)
{
    if (err_len > 0) {
        snprintf(err, err_len, "%s", msg);
    }
    return -1;
}

static bool host_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

// parse_authority fills host, port and host_header from [s, e).
static int parse_authority(struct net_http_url *u, const char *s, const char *e, char *err,
                           size_t err_len)
{
    const char *host = s, *host_end, *port = NULL;
    bool v6 = false;
    if (memchr(s, '@', (size_t)(e - s)) != NULL) {
        return url_fail(err, err_len, "URL: user information (user@host) is not supported");
    }
    if (s < e && *s == '[') {
        host = s + 1;
        host_end = memchr(host, ']', (size_t)(e - host));
        if (host_end == NULL) {
            return url_fail(err, err_len, "URL: unterminated [IPv6] host");
        }
        v6 = true;
        if (host_end + 1 < e) {
            if (host_end[1] != ':') {
                return url_fail(err, err_len, "URL: junk after the [IPv6] host");
            }
            port = host_end + 2;
        }
    } else {
        host_end = memchr(s, ':', (size_t)(e - s));
        if (host_end != NULL) {
            port = host_end + 1;
        } else {
            host_end = e;
        }
    }
    size_t hl = (size_t)(host_end - host);
    if (hl == 0 || hl >= sizeof u->host) {
        return url_fail(err, err_len, hl ? "URL: host name too long" : "URL: no host");
    }
    memcpy(u->host, host, hl);
    u->host[hl] = '\0';
    if (v6) {
        unsigned char a[16];
        if (inet_pton(AF_INET6, u->host, a) != 1) {
            return url_fail(err, err_len, "URL: bad IPv6 address in [ ]");
        }
    } else {
        for (size_t i = 0; i < hl; i++) {
            if (!host_char(u->host[i])) {
                return url_fail(err, err_len, "URL: invalid character in the host name");
            }
        }
    }
    u->port = u->tls ? 443 : 80;
    bool explicit_port = false;
    if (port != NULL) {
        unsigned long p = 0;
        size_t n = 0;
        for (const char *c = port; c < e; c++, n++) {
            if (!isdigit((unsigned char)*c) || n >= 5) {
                return url_fail(err, err_len, "URL: bad port");
            }
            p = p * 10 + (unsigned long)(*c - '0');
        }
        if (n == 0 || p == 0 || p > 65535) {
            return url_fail(err, err_len, "URL: bad port (1-65535)");
        }
        explicit_port = p != u->port;
        u->port = (uint16_t)p;
    }
    const char *lb = v6 ? "[" : "", *rb = v6 ? "]" : "";
    if (explicit_port) {
        snprintf(u->host_header, sizeof u->host_header, "%s%s%s:%u", lb, u->host, rb, u->port);
    } else {
        snprintf(u->host_header, sizeof u->host_header, "%s%s%s", lb, u->host, rb);
    }
    return 0;
}

int net_http_url_parse(struct net_http_url *out, const char *url, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    const char *s;
    if (strncasecmp(url, "http://", 7) == 0) {
        s = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        out->tls = true;
        s = url + 8;
    } else {
        return url_fail(err, err_len, "URL: scheme must be http:// or https://");
    }
    for (const char *c = s; *c != '\0'; c++) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) {
            return url_fail(err, err_len, "URL: space, control or non-ASCII byte");
        }
        if (*c == '#') {
            return url_fail(err, err_len, "URL: fragments (#...) are not supported");
        }
    }
    const char *e = s + strcspn(s, "/?");
    if (parse_authority(out, s, e, err, err_len) != 0) {
        return -1;
    }
    const char *q = strchr(e, '?');
    size_t pl = q ? (size_t)(q - e) : strlen(e);
    if (pl + 2 > sizeof out->path || (q && strlen(q + 1) + 1 > sizeof out->query)) {
        return url_fail(err, err_len, "URL: path or query too long");
    }
    out->path[0] = '/';
    memcpy(out->path + (pl ? 0 : 1), e, pl);
    out->path[pl ? pl : 1] = '\0';
    if (q != NULL) {
        snprintf(out->query, sizeof out->query, "%s", q + 1);
    }
    return 0;
}

// ---- request bytes ----------------------------------------------------------------------------

static bool token_ok(const char *s)
{
    if (*s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              strchr("!#$%&'*+-.^_`|~", c) != NULL)) {
            return false;
        }
    }
    return true;
}

static bool value_ok(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return false;
        }
    }
    return true;
}

static bool has_header(const struct net_http_request *r, const char *name)
{
    for (size_t i = 0; i < r->num_headers; i++) {
        if (strcasecmp(r->headers[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

int net_http_wire(char **out, size_t *out_len, const struct net_http_url *u,
                  const struct net_http_request *r, char *err, size_t err_len)
{
    if (!token_ok(r->method) || strlen(r->method) > NET_HTTP_METHOD_MAX) {
        snprintf(err, err_len, "invalid HTTP method");
        return -1;
    }
    for (size_t i = 0; i < r->num_headers; i++) {
        if (!token_ok(r->headers[i].name) || !value_ok(r->headers[i].value)) {
            snprintf(err, err_len,
                     "invalid header %s (name must be a token; no CR, LF or "
                     "control bytes in the value)",
                     token_ok(r->headers[i].name) ? r->headers[i].name : "name");
            return -1;
        }
        if (strcasecmp(r->headers[i].name, "content-length") == 0 ||
            strcasecmp(r->headers[i].name, "transfer-encoding") == 0 ||
            strcasecmp(r->headers[i].name, "connection") == 0) {
            snprintf(err, err_len, "header %s is set by the client", r->headers[i].name);
            return -1;
        }
    }
    struct buf b;
    buf_init(&b);
    buf_adds(&b, r->method);
    buf_adds(&b, " ");
    buf_adds(&b, u->path);
    if (u->query[0] != '\0') {
        buf_adds(&b, "?");
        buf_adds(&b, u->query);
    }
    buf_adds(&b, " HTTP/1.1\r\n");
    if (!has_header(r, "host")) {
        buf_adds(&b, "Host: ");
        buf_adds(&b, u->host_header);
        buf_adds(&b, "\r\n");
    }
    if (!has_header(r, "user-agent")) {
        buf_adds(&b, "User-Agent: kesm/" KESM_VERSION "\r\n");
    }
    for (size_t i = 0; i < r->num_headers; i++) {
        buf_adds(&b, r->headers[i].name);
        buf_adds(&b, ": ");
        buf_adds(&b, r->headers[i].value);
        buf_adds(&b, "\r\n");
    }
    if (r->body_len > 0 || strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0 ||
        strcmp(r->method, "PATCH") == 0) {
        char cl[48];
        snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", r->body_len);
        buf_adds(&b, cl);
    }
    buf_adds(&b, "\r\n");
    if (r->body_len > 0) {
        buf_add(&b, r->body, r->body_len);
    }
    *out = buf_steal(&b, out_len);
    return 0;
}
