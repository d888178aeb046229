// httpd_parse.c: strict incremental HTTP/1.1 request parser (see httpd_parse.h).
#include "net/httpd_parse.h"

#include "base/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TARGET 8192
#define MAX_METHOD 16
#define MAX_BLANK_LINES 2

void net_httpd_parser_init(struct net_httpd_parser *p, const struct net_httpd_limits *lim)
{
    memset(p, 0, sizeof *p);
    if (lim != NULL) {
        p->lim = *lim;
    }
    if (p->lim.max_head == 0) {
        p->lim.max_head = 16384;
    }
    if (p->lim.max_headers == 0) {
        p->lim.max_headers = 64;
    }
    if (p->lim.max_body == 0) {
        p->lim.max_body = 262144;
    }
}

void net_httpd_parser_reset(struct net_httpd_parser *p)
{
    struct net_httpd_limits lim = p->lim;
    net_httpd_parser_cleanup(p);
    net_httpd_parser_init(p, &lim);
}

void net_httpd_parser_cleanup(struct net_httpd_parser *p)
{
    free(p->head);
    free(p->path);
    free(p->fields);
    free(p->body);
    memset(p, 0, sizeof *p);
}

__attribute__((format(printf, 3, 4))) static enum net_httpd_parse_status
fail(struct net_httpd_parser *p, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
    p->phase = NET_HTTPD_PH_FAILED;
    p->err_status = status;
    return NET_HTTPD_PARSE_ERROR;
}

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

// is_field_char: field-vchar, SP, HTAB or obs-text.
static bool is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

// is_target_char: what an origin-form target may hold (visible ASCII; no space, no controls,
// no bytes >= 0x80, which RFC 3986 requires to be percent-encoded).
static bool is_target_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

// has_token: |list| (a comma-separated header value) contains |tok| (case-insensitive).
static bool has_token(const char *list, const char *tok)
{
    size_t tl = strlen(tok);
    const char *s = list;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',') {
            s++;
        }
        const char *e = s;
        while (*e && *e != ',') {
            e++;
        }
        const char *t = e;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t')) {
            t--;
        }
        if ((size_t)(t - s) == tl && strncasecmp(s, tok, tl) == 0) {
            return true;
        }
        s = e;
    }
    return false;
}

const char *net_httpd_find(const struct net_httpd_parser *p, const char *name)
{
    for (size_t i = 0; i < p->num_fields; i++) {
        if (strcasecmp(p->fields[i].name, name) == 0) {
            return p->fields[i].value;
        }
    }
    return NULL;
}

size_t net_httpd_count(const struct net_httpd_parser *p, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < p->num_fields; i++) {
        n += strcasecmp(p->fields[i].name, name) == 0 ? 1u : 0u;
    }
    return n;
}

// parse_request_line splits "METHOD SP target SP HTTP/1.x" (|line|, NUL-terminated in place).
static enum net_httpd_parse_status parse_request_line(struct net_httpd_parser *p, char *line)
{
    char *sp1 = strchr(line, ' ');
    if (sp1 == NULL || sp1 == line) {
        return fail(p, 400, "malformed request line (no method)");
    }
    *sp1 = '\0';
    if ((size_t)(sp1 - line) > MAX_METHOD) {
        return fail(p, 501, "request method longer than %d characters", MAX_METHOD);
    }
    for (const char *c = line; *c; c++) {
        if (!is_tchar((unsigned char)*c)) {
            return fail(p, 400, "malformed request line (method is not a token)");
        }
    }
    char *target = sp1 + 1;
    char *sp2 = strchr(target, ' ');
    if (sp2 == NULL || sp2 == target) {
        return fail(p, 400, "malformed request line (no request target)");
    }
    *sp2 = '\0';
    if ((size_t)(sp2 - target) > MAX_TARGET) {
        return fail(p, 414, "request target longer than %d bytes", MAX_TARGET);
    }
    for (const char *c = target; *c; c++) {
        if (!is_target_char((unsigned char)*c)) {
            return fail(p, 400, "request target holds a byte that must be percent-encoded");
        }
    }
    if (target[0] != '/') {
        return fail(p, 400, "request target must be a path (origin-form)");
    }
    const char *ver = sp2 + 1;
    if (strncmp(ver, "HTTP/", 5) != 0 || ver[5] < '0' || ver[5] > '9' || ver[6] != '.' ||
        ver[7] < '0' || ver[7] > '9' || ver[8] != '\0') {
        return fail(p, 400, "malformed request line (HTTP version)");
    }
    if (ver[5] != '1') {
        return fail(p, 505, "HTTP version %c.%c is not supported (HTTP/1.1 only)", ver[5], ver[7]);
    }
    p->method = line;
    p->target = target;
    p->minor_version = ver[7] - '0';
    p->path = xstrdup(target);
    char *q = strchr(p->path, '?');
    if (q != NULL) {
        *q = '\0';
        p->query = q + 1;
    }
    return NET_HTTPD_PARSE_MORE;
}

// parse_field splits one header line in place and records it.
static enum net_httpd_parse_status parse_field(struct net_httpd_parser *p, char *line)
{
    if (*line == ' ' || *line == '\t') {
        return fail(p, 400, "obsolete line folding in a header is not accepted");
    }
    char *colon = line;
    while (*colon && is_tchar((unsigned char)*colon)) {
        colon++;
    }
    if (*colon != ':' || colon == line) {
        return fail(p, 400, "malformed header line (a token and a colon expected)");
    }
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t') {
        v++;
    }
    char *end = v + strlen(v);
    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    *end = '\0';
    for (const char *c = v; *c; c++) {
        if (!is_field_char((unsigned char)*c)) {
            return fail(p, 400, "header %.64s holds a control character", line);
        }
    }
    if (p->num_fields >= p->lim.max_headers) {
        return fail(p, 431, "more than %zu header fields", p->lim.max_headers);
    }
    p->fields[p->num_fields].name = line;
    p->fields[p->num_fields].value = v;
    p->num_fields++;
    return NET_HTTPD_PARSE_MORE;
}

// check_framing applies the Content-Length / Transfer-Encoding / Host / Expect rules.
static enum net_httpd_parse_status check_framing(struct net_httpd_parser *p)
{
    size_t ncl = net_httpd_count(p, "Content-Length");
    bool te = net_httpd_count(p, "Transfer-Encoding") > 0;
    if (te && ncl > 0) {
        return fail(p, 400, "Transfer-Encoding together with Content-Length is refused");
    }
    if (te) {
        return fail(p, 501, "Transfer-Encoding is not accepted: send a Content-Length");
    }
    if (ncl > 1) {
        return fail(p, 400, "more than one Content-Length header");
    }
    if (ncl == 1) {
        const char *v = net_httpd_find(p, "Content-Length");
        size_t n = strlen(v);
        if (n == 0 || n > 15 || strspn(v, "0123456789") != n) {
            return fail(p, 400, "Content-Length '%.20s' is not a decimal length", v);
        }
        p->has_content_length = true;
        p->content_length = strtoull(v, NULL, 10);
        if (p->content_length > p->lim.max_body) {
            return fail(p, 413, "request body of %llu bytes is larger than the limit of %zu bytes",
                        (unsigned long long)p->content_length, p->lim.max_body);
        }
    }
    size_t nhost = net_httpd_count(p, "Host");
    if (nhost > 1) {
        return fail(p, 400, "more than one Host header");
    }
    if (nhost == 0 && p->minor_version >= 1) {
        return fail(p, 400, "an HTTP/1.1 request must carry a Host header");
    }
    const char *expect = net_httpd_find(p, "Expect");
    if (expect != NULL) {
        if (strcasecmp(expect, "100-continue") != 0) {
            return fail(p, 417, "Expect '%.40s' is not supported", expect);
        }
        p->expect_continue = true;
    }
    const char *conn = net_httpd_find(p, "Connection");
    p->keep_alive = p->minor_version >= 1 ? !(conn && has_token(conn, "close"))
                                          : (conn && has_token(conn, "keep-alive"));
    return NET_HTTPD_PARSE_MORE;
}

// parse_head splits the complete head (p->head, |len| bytes up to and including the empty line).
static enum net_httpd_parse_status parse_head(struct net_httpd_parser *p, size_t len)
{
    char *h = p->head;
    h[len] = '\0';
    for (size_t i = 0; i < len; i++) {
        if (h[i] == '\0') {
            return fail(p, 400, "NUL byte in the request head at byte %zu", i);
        }
        if (h[i] == '\n' && (i == 0 || h[i - 1] != '\r')) {
            return fail(p, 400, "bare LF in the request head at byte %zu (CRLF expected)", i);
        }
        if (h[i] == '\r' && (i + 1 >= len || h[i + 1] != '\n')) {
            return fail(p, 400, "bare CR in the request head at byte %zu", i);
        }
    }
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) {
        lines += h[i] == '\n' ? 1u : 0u;
    }
    p->fields = xcalloc(lines + 1, sizeof *p->fields);
    char *line = h;
    bool first = true;
    for (;;) {
        char *eol = strstr(line, "\r\n");
        *eol = '\0';
        if (*line == '\0') {
            break; // the empty line ends the head
        }
        enum net_httpd_parse_status st = first ? parse_request_line(p, line) : parse_field(p, line);
        if (st != NET_HTTPD_PARSE_MORE) {
            return st;
        }
        first = false;
        line = eol + 2;
    }
    if (first) {
        return fail(p, 400, "empty request");
    }
    p->head_done = true;
    return check_framing(p);
}

// head_step feeds head bytes; returns MORE with *used bytes taken, or the outcome of the head.
static enum net_httpd_parse_status head_step(struct net_httpd_parser *p, const char *data,
                                             size_t len, size_t *used)
{
    *used = 0;
    while (*used < len) {
        // Skip up to two empty lines before the request line (RFC 9112 2.2).
        if (p->head_len == 0 && (data[*used] == '\r' || data[*used] == '\n')) {
            if (data[*used] == '\n' && ++p->blank_lines > MAX_BLANK_LINES) {
                return fail(p, 400, "empty lines instead of a request");
            }
            (*used)++;
            continue;
        }
        if (p->head_len + 1 >= p->head_cap) {
            size_t cap = p->head_cap ? p->head_cap * 2 : 1024;
            p->head = xrealloc(p->head, cap + 1);
            p->head_cap = cap;
        }
        p->head[p->head_len++] = data[(*used)++];
        size_t n = p->head_len;
        if (n >= 4 && memcmp(p->head + n - 4, "\r\n\r\n", 4) == 0) {
            return parse_head(p, n);
        }
        if (n >= 2 && p->head[n - 1] == '\n' && p->head[n - 2] == '\n') {
            return fail(p, 400, "bare LF in the request head (CRLF expected)");
        }
        if (n >= p->lim.max_head) {
            return fail(p, 431, "request head larger than %zu bytes", p->lim.max_head);
        }
    }
    return NET_HTTPD_PARSE_MORE;
}

enum net_httpd_parse_status net_httpd_parse(struct net_httpd_parser *p, const char *data,
                                            size_t len, size_t *out_consumed)
{
    *out_consumed = 0;
    if (p->phase == NET_HTTPD_PH_FAILED) {
        return NET_HTTPD_PARSE_ERROR;
    }
    if (p->phase == NET_HTTPD_PH_DONE) {
        return NET_HTTPD_PARSE_DONE;
    }
    size_t used = 0;
    if (p->phase == NET_HTTPD_PH_HEAD) {
        enum net_httpd_parse_status st = head_step(p, data, len, &used);
        *out_consumed = used;
        p->in_total += used;
        if (st == NET_HTTPD_PARSE_ERROR || !p->head_done) {
            return st;
        }
        p->phase = NET_HTTPD_PH_BODY;
        if (p->content_length > 0) {
            p->body = xmalloc((size_t)p->content_length + 1);
        }
    }
    size_t want = (size_t)p->content_length - p->body_len;
    size_t take = len - used < want ? len - used : want;
    if (take > 0) {
        memcpy(p->body + p->body_len, data + used, take);
        p->body_len += take;
        used += take;
        p->in_total += take;
    }
    *out_consumed = used;
    if (p->body_len < (size_t)p->content_length) {
        return NET_HTTPD_PARSE_MORE;
    }
    if (p->body != NULL) {
        p->body[p->body_len] = '\0';
    }
    p->phase = NET_HTTPD_PH_DONE;
    return NET_HTTPD_PARSE_DONE;
}
