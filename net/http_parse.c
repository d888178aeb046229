// http_parse.c: strict incremental HTTP/1.1 response parser (see http_parse.h).
#include "net/http_parse.h"

#include "base/alloc.h"
#include "base/hex.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void net_http_parser_init(struct net_http_parser *p, const struct net_http_parse_limits *lim,
                          bool head_request)
{
    memset(p, 0, sizeof *p);
    if (lim != NULL) {
        p->lim = *lim;
    }
    if (p->lim.max_head == 0) {
        p->lim.max_head = 65536;
    }
    if (p->lim.max_headers == 0) {
        p->lim.max_headers = 100;
    }
    if (p->lim.max_body == 0) {
        p->lim.max_body = 6291456 + 65536;
    }
    p->head_request = head_request;
    p->content_length = -1;
    p->status = -1;
}

void net_http_parser_cleanup(struct net_http_parser *p)
{
    free(p->head);
    free(p->fields);
    free(p->body);
    memset(p, 0, sizeof *p);
}

__attribute__((format(printf, 3, 4))) static enum net_http_parse_status
fail(struct net_http_parser *p, enum net_http_parse_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
    p->phase = NET_HTTP_PH_FAILED;
    p->fail_status = st;
    return st;
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

// has_token: |list| (a comma-separated header value) contains |tok| (case-insensitive).
static bool has_token(const char *list, const char *tok)
{
    size_t n = strlen(tok);
    const char *s = list;
    while (*s != '\0') {
        while (*s == ' ' || *s == '\t' || *s == ',') {
            s++;
        }
        const char *e = s;
        while (*e != '\0' && *e != ',') {
            e++;
        }
        const char *t = e;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t')) {
            t--;
        }
        if ((size_t)(t - s) == n && strncasecmp(s, tok, n) == 0) {
            return true;
        }
        s = e;
    }
    return false;
}

const char *net_http_parser_header(const struct net_http_parser *p, const char *name)
{
    for (size_t i = 0; i < p->num_fields; i++) {
        if (strcasecmp(p->fields[i].name, name) == 0) {
            return p->fields[i].value;
        }
    }
    return NULL;
}

static enum net_http_parse_status parse_status_line(struct net_http_parser *p, char *s)
{
    // "HTTP/1.x SSS reason"
    if (strncmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' || s[8] != ' ') {
        return fail(p, NET_HTTP_PARSE_MALFORMED,
                    "bad status line: expected \"HTTP/1.x \" at byte 0");
    }
    p->minor_version = s[7] - '0';
    for (int i = 9; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return fail(p, NET_HTTP_PARSE_MALFORMED,
                        "bad status line: status code is not 3 digits (byte %d)", i);
        }
    }
    p->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (p->status < 100 || p->status > 599) {
        return fail(p, NET_HTTP_PARSE_MALFORMED, "bad status line: status %d out of range",
                    p->status);
    }
    if (s[12] != ' ' && s[12] != '\0') {
        return fail(p, NET_HTTP_PARSE_MALFORMED, "bad status line: no space after the status code");
    }
    const char *reason = s[12] == ' ' ? s + 13 : s + 12;
    for (const char *c = reason; *c != '\0'; c++) {
        if (!is_field_char((unsigned char)*c)) {
            return fail(p, NET_HTTP_PARSE_MALFORMED,
                        "bad status line: control character 0x%02x in the reason (byte %zu)",
                        (unsigned)(unsigned char)*c, (size_t)(c - s));
        }
    }
    p->reason = reason;
    return NET_HTTP_PARSE_MORE;
}

static enum net_http_parse_status parse_field(struct net_http_parser *p, char *s, size_t lineno)
{
    if (*s == ' ' || *s == '\t') {
        return fail(p, NET_HTTP_PARSE_MALFORMED,
                    "header line %zu: obsolete line folding (starts with whitespace)", lineno);
    }
    char *c = s;
    while (is_tchar((unsigned char)*c)) {
        c++;
    }
    if (c == s || *c != ':') {
        return fail(p, NET_HTTP_PARSE_MALFORMED, "header line %zu: %s at byte %zu of the line",
                    lineno,
                    c == s ? "empty or invalid field name" : "invalid character in the field name",
                    (size_t)(c - s));
    }
    *c++ = '\0';
    while (*c == ' ' || *c == '\t') {
        c++;
    }
    char *v = c;
    for (; *c != '\0'; c++) {
        if (!is_field_char((unsigned char)*c)) {
            return fail(p, NET_HTTP_PARSE_MALFORMED,
                        "header line %zu (%s): control character 0x%02x in the value", lineno, s,
                        (unsigned)(unsigned char)*c);
        }
    }
    while (c > v && (c[-1] == ' ' || c[-1] == '\t')) {
        *--c = '\0';
    }
    if (p->num_fields >= p->lim.max_headers) {
        return fail(p, NET_HTTP_PARSE_LIMIT, "more than %zu header fields", p->lim.max_headers);
    }
    p->fields[p->num_fields].name = s;
    p->fields[p->num_fields].value = v;
    p->num_fields++;
    return NET_HTTP_PARSE_MORE;
}

static enum net_http_parse_status parse_length(struct net_http_parser *p, const char *v)
{
    uint64_t n = 0;
    size_t i = 0;
    for (; v[i] >= '0' && v[i] <= '9'; i++) {
        if (i >= 18) {
            return fail(p, NET_HTTP_PARSE_LIMIT, "Content-Length \"%.24s\" is too large", v);
        }
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    if (i == 0 || v[i] != '\0') {
        return fail(p, NET_HTTP_PARSE_MALFORMED, "Content-Length \"%.24s\" is not a number", v);
    }
    if (p->content_length >= 0 && (uint64_t)p->content_length != n) {
        return fail(p, NET_HTTP_PARSE_MALFORMED, "conflicting Content-Length headers (%lld, %llu)",
                    (long long)p->content_length, (unsigned long long)n);
    }
    p->content_length = (int64_t)n;
    return NET_HTTP_PARSE_MORE;
}

// framing decides how the body is delimited once the head is parsed.
static enum net_http_parse_status framing(struct net_http_parser *p)
{
    size_t num_te = 0;
    for (size_t i = 0; i < p->num_fields; i++) {
        const struct net_http_field *f = &p->fields[i];
        if (strcasecmp(f->name, "content-length") == 0) {
            enum net_http_parse_status st = parse_length(p, f->value);
            if (st != NET_HTTP_PARSE_MORE) {
                return st;
            }
        } else if (strcasecmp(f->name, "transfer-encoding") == 0) {
            if (++num_te > 1 || strcasecmp(f->value, "chunked") != 0) {
                return fail(p, NET_HTTP_PARSE_MALFORMED,
                            "unsupported Transfer-Encoding \"%.40s\" (only a single \"chunked\")",
                            f->value);
            }
            p->chunked = true;
        }
    }
    if (p->chunked && p->content_length >= 0) {
        return fail(p, NET_HTTP_PARSE_MALFORMED,
                    "both Transfer-Encoding and Content-Length (ambiguous framing)");
    }
    const char *conn = net_http_parser_header(p, "connection");
    if (p->minor_version >= 1) {
        p->keep_alive = conn == NULL || !has_token(conn, "close");
    } else {
        p->keep_alive = conn != NULL && has_token(conn, "keep-alive");
    }
    if (p->head_request || p->status == 204 || p->status == 304) {
        p->phase = NET_HTTP_PH_DONE;
        return NET_HTTP_PARSE_DONE;
    }
    if (p->chunked) {
        p->phase = NET_HTTP_PH_CHUNK_SIZE;
        return NET_HTTP_PARSE_MORE;
    }
    if (p->content_length >= 0) {
        if ((uint64_t)p->content_length > p->lim.max_body) {
            return fail(p, NET_HTTP_PARSE_LIMIT, "Content-Length %lld above the %zu-byte limit",
                        (long long)p->content_length, p->lim.max_body);
        }
        p->remaining = (uint64_t)p->content_length;
        p->phase = NET_HTTP_PH_BODY_LENGTH;
        if (p->remaining == 0) {
            p->phase = NET_HTTP_PH_DONE;
            return NET_HTTP_PARSE_DONE;
        }
        return NET_HTTP_PARSE_MORE;
    }
    p->keep_alive = false;
    p->phase = NET_HTTP_PH_BODY_EOF;
    return NET_HTTP_PARSE_MORE;
}

// parse_head parses p->head (complete, ending in CRLFCRLF).
static enum net_http_parse_status parse_head(struct net_http_parser *p)
{
    size_t max_fields = 1;
    for (size_t i = 0; i < p->head_len; i++) {
        max_fields += p->head[i] == '\n';
    }
    if (max_fields > p->lim.max_headers + 2) {
        max_fields = p->lim.max_headers + 2;
    }
    free(p->fields);
    p->fields = xrealloc(NULL, max_fields * sizeof *p->fields);
    p->num_fields = 0;
    char *s = p->head;
    char *end = p->head + p->head_len - 2; // the final empty line
    size_t lineno = 0;
    while (s < end) {
        char *eol = strstr(s, "\r\n"); // head has no NUL (checked while reading)
        *eol = '\0';
        enum net_http_parse_status st =
            lineno == 0 ? parse_status_line(p, s) : parse_field(p, s, lineno);
        if (st != NET_HTTP_PARSE_MORE) {
            return st;
        }
        s = eol + 2;
        lineno++;
    }
    if (p->status >= 100 && p->status < 200) {
        if (p->status == 101) {
            return fail(p, NET_HTTP_PARSE_MALFORMED, "unexpected 101 Switching Protocols");
        }
        p->head_len = 0; // an interim response: the real one follows
        p->num_fields = 0;
        p->status = -1;
        p->reason = NULL;
        return NET_HTTP_PARSE_MORE;
    }
    return framing(p);
}

static enum net_http_parse_status feed_head(struct net_http_parser *p, const char *d, size_t len,
                                            size_t *used)
{
    for (size_t i = 0; i < len; i++) {
        char c = d[i];
        if (c == '\0' || (c == '\n' && (p->head_len == 0 || p->head[p->head_len - 1] != '\r'))) {
            return fail(p, NET_HTTP_PARSE_MALFORMED, "%s in the response head at byte %llu",
                        c == '\0' ? "NUL byte" : "bare LF (no CR)",
                        (unsigned long long)(p->in_total + i));
        }
        if (p->head_total >= p->lim.max_head) {
            return fail(p, NET_HTTP_PARSE_LIMIT, "response head longer than %zu bytes",
                        p->lim.max_head);
        }
        if (p->head_len + 1 >= p->head_cap) {
            p->head_cap = p->head_cap ? p->head_cap * 2 : 1024;
            p->head = xrealloc(p->head, p->head_cap);
        }
        p->head[p->head_len++] = c;
        p->head[p->head_len] = '\0';
        p->head_total++;
        if (c == '\n' && p->head_len >= 4 &&
            memcmp(p->head + p->head_len - 4, "\r\n\r\n", 4) == 0) {
            *used = i + 1;
            return parse_head(p);
        }
        if (c == '\n' && p->head_len == 2) {
            return fail(p, NET_HTTP_PARSE_MALFORMED, "empty line instead of a status line");
        }
    }
    *used = len;
    return NET_HTTP_PARSE_MORE;
}

static enum net_http_parse_status body_add(struct net_http_parser *p, const char *d, size_t n)
{
    if (n > p->lim.max_body - p->body_len) {
        return fail(p, NET_HTTP_PARSE_LIMIT, "response body longer than %zu bytes",
                    p->lim.max_body);
    }
    if (p->body_len + n + 1 > p->body_cap) {
        size_t cap = p->body_cap ? p->body_cap : 4096;
        while (cap < p->body_len + n + 1) {
            cap *= 2;
        }
        if (cap > p->lim.max_body + 1) {
            cap = p->lim.max_body + 1;
        }
        p->body = xrealloc(p->body, cap);
        p->body_cap = cap;
    }
    memcpy(p->body + p->body_len, d, n);
    p->body_len += n;
    p->body[p->body_len] = '\0';
    return NET_HTTP_PARSE_MORE;
}

// take_line assembles a CRLF-terminated line into p->line; returns MORE with *done set when the
// line is complete (without CRLF, NUL-terminated).
// |budget| bytes may be taken at most (the head limit for trailers), checked byte by byte so
// the outcome does not depend on how the input is split.
static enum net_http_parse_status take_line(struct net_http_parser *p, const char *d, size_t len,
                                            size_t budget, size_t *used, bool *done,
                                            const char *what)
{
    *done = false;
    for (size_t i = 0; i < len; i++) {
        char c = d[i];
        if (i >= budget) {
            return fail(p, NET_HTTP_PARSE_LIMIT, "response head and trailers longer than %zu bytes",
                        p->lim.max_head);
        }
        if (c == '\n') {
            if (p->line_len == 0 || p->line[p->line_len - 1] != '\r') {
                return fail(p, NET_HTTP_PARSE_MALFORMED, "bare LF in the %s at byte %llu", what,
                            (unsigned long long)(p->in_total + i));
            }
            p->line[--p->line_len] = '\0';
            *used = i + 1;
            *done = true;
            return NET_HTTP_PARSE_MORE;
        }
        if (c == '\0' || p->line_len + 2 > sizeof p->line) {
            return fail(p, NET_HTTP_PARSE_MALFORMED, "%s in the %s at byte %llu",
                        c == '\0' ? "NUL byte" : "line too long", what,
                        (unsigned long long)(p->in_total + i));
        }
        p->line[p->line_len++] = c;
    }
    *used = len;
    return NET_HTTP_PARSE_MORE;
}

static enum net_http_parse_status chunk_size(struct net_http_parser *p, const char *d, size_t len,
                                             size_t *used)
{
    bool done;
    enum net_http_parse_status st = take_line(p, d, len, SIZE_MAX, used, &done, "chunk-size line");
    if (st != NET_HTTP_PARSE_MORE || !done) {
        return st;
    }
    p->line_len = 0;
    uint64_t n = 0;
    size_t i = 0;
    for (; hex_value(p->line[i]) >= 0; i++) {
        if (i >= 15) {
            return fail(p, NET_HTTP_PARSE_LIMIT, "chunk size \"%.20s\" too large", p->line);
        }
        n = n * 16 + (uint64_t)hex_value(p->line[i]);
    }
    size_t j = i;
    while (p->line[j] == ' ' || p->line[j] == '\t') {
        j++;
    }
    if (i == 0 || (p->line[j] != '\0' && p->line[j] != ';')) {
        return fail(p, NET_HTTP_PARSE_MALFORMED, "bad chunk size line \"%.40s\" (byte %llu)",
                    p->line, (unsigned long long)(p->in_total + *used));
    }
    if (n > p->lim.max_body - p->body_len) {
        return fail(p, NET_HTTP_PARSE_LIMIT, "response body longer than %zu bytes",
                    p->lim.max_body);
    }
    p->remaining = n;
    p->phase = n ? NET_HTTP_PH_CHUNK_DATA : NET_HTTP_PH_TRAILERS;
    return NET_HTTP_PARSE_MORE;
}

static enum net_http_parse_status trailers(struct net_http_parser *p, const char *d, size_t len,
                                           size_t *used)
{
    bool done;
    size_t budget = p->lim.max_head > p->head_total ? p->lim.max_head - p->head_total : 0;
    enum net_http_parse_status st = take_line(p, d, len, budget, used, &done, "trailer section");
    if (st != NET_HTTP_PARSE_MORE) {
        return st;
    }
    p->head_total += *used;
    if (!done) {
        return NET_HTTP_PARSE_MORE;
    }
    bool empty = p->line_len == 0;
    if (!empty && strchr(p->line, ':') == NULL) {
        return fail(p, NET_HTTP_PARSE_MALFORMED, "trailer line without a colon");
    }
    p->line_len = 0;
    if (empty) {
        p->phase = NET_HTTP_PH_DONE;
        return NET_HTTP_PARSE_DONE;
    }
    return NET_HTTP_PARSE_MORE;
}

// step consumes some of |d| in the current phase.
static enum net_http_parse_status step(struct net_http_parser *p, const char *d, size_t len,
                                       size_t *used)
{
    *used = 0;
    switch (p->phase) {
    case NET_HTTP_PH_HEAD:
        return feed_head(p, d, len, used);
    case NET_HTTP_PH_BODY_LENGTH:
    case NET_HTTP_PH_CHUNK_DATA: {
        size_t n = len < p->remaining ? len : (size_t)p->remaining;
        enum net_http_parse_status st = body_add(p, d, n);
        *used = n;
        p->remaining -= n;
        if (st == NET_HTTP_PARSE_MORE && p->remaining == 0) {
            if (p->phase == NET_HTTP_PH_CHUNK_DATA) {
                p->phase = NET_HTTP_PH_CHUNK_CRLF;
            } else {
                p->phase = NET_HTTP_PH_DONE;
                return NET_HTTP_PARSE_DONE;
            }
        }
        return st;
    }
    case NET_HTTP_PH_BODY_EOF:
        *used = len;
        return body_add(p, d, len);
    case NET_HTTP_PH_CHUNK_CRLF:
        // p->line_len counts the CRLF bytes seen (0 or 1).
        for (; *used < len; (*used)++) {
            char want = p->line_len == 0 ? '\r' : '\n';
            if (d[*used] != want) {
                return fail(p, NET_HTTP_PARSE_MALFORMED,
                            "chunk data not followed by CRLF (byte %llu)",
                            (unsigned long long)(p->in_total + *used));
            }
            if (++p->line_len == 2) {
                (*used)++;
                p->line_len = 0;
                p->phase = NET_HTTP_PH_CHUNK_SIZE;
                break;
            }
        }
        return NET_HTTP_PARSE_MORE;
    case NET_HTTP_PH_CHUNK_SIZE:
        return chunk_size(p, d, len, used);
    case NET_HTTP_PH_TRAILERS:
        return trailers(p, d, len, used);
    case NET_HTTP_PH_DONE:
        return NET_HTTP_PARSE_DONE;
    case NET_HTTP_PH_FAILED:
        break;
    }
    return p->fail_status;
}

enum net_http_parse_status net_http_parser_feed(struct net_http_parser *p, const char *data,
                                                size_t len, size_t *out_consumed)
{
    size_t off = 0;
    enum net_http_parse_status st = NET_HTTP_PARSE_MORE;
    if (p->phase == NET_HTTP_PH_DONE || p->phase == NET_HTTP_PH_FAILED) {
        *out_consumed = 0;
        return step(p, data, 0, &off);
    }
    while (off < len) {
        size_t used = 0;
        st = step(p, data + off, len - off, &used);
        off += used;
        p->in_total += used;
        if (st != NET_HTTP_PARSE_MORE) {
            break;
        }
    }
    *out_consumed = off;
    return st;
}

enum net_http_parse_status net_http_parser_eof(struct net_http_parser *p)
{
    switch (p->phase) {
    case NET_HTTP_PH_BODY_EOF:
        p->phase = NET_HTTP_PH_DONE;
        return NET_HTTP_PARSE_DONE;
    case NET_HTTP_PH_DONE:
        return NET_HTTP_PARSE_DONE;
    case NET_HTTP_PH_HEAD:
        return fail(p, NET_HTTP_PARSE_MALFORMED,
                    "connection closed %s the response head (%zu bytes received)",
                    p->head_len ? "inside" : "before", p->head_len);
    case NET_HTTP_PH_BODY_LENGTH:
        return fail(p, NET_HTTP_PARSE_MALFORMED,
                    "connection closed after %zu of %lld body bytes (Content-Length mismatch)",
                    p->body_len, (long long)p->content_length);
    case NET_HTTP_PH_CHUNK_SIZE:
    case NET_HTTP_PH_CHUNK_DATA:
    case NET_HTTP_PH_CHUNK_CRLF:
    case NET_HTTP_PH_TRAILERS:
        return fail(p, NET_HTTP_PARSE_MALFORMED,
                    "connection closed inside the chunked body (%zu bytes decoded, no last chunk)",
                    p->body_len);
    case NET_HTTP_PH_FAILED:
        break;
    }
    return p->fail_status;
}
