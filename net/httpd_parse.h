// httpd_parse.h: a strict, bounded, incremental HTTP/1.1 request parser (sans-I/O) for the API
// server (net/httpd.h).
//
// The server feeds it the bytes read from a connection; it needs no socket, clock or log, so
// tests and the fuzzer drive it with any byte string. It accepts what RFC 9112 lets a client send
// to an origin server and refuses the rest with the status to answer and one line naming what and
// where:
//   - request line "METHOD SP origin-form SP HTTP/1.0|1.1" ending in CRLF; up to two empty lines
//     before it are skipped; absolute-form, authority-form and asterisk-form targets are refused;
//   - header names are tokens with the colon right after the name (whitespace before the colon
//     is refused, RFC 9112 5.1); values are trimmed and may hold visible ASCII, SP, HTAB and bytes
//     >= 0x80; bare LF, NUL, other control characters and obsolete line folding are refused;
//   - framing (no request smuggling): a body is read only by Content-Length, which must be plain
//     digits and appear once (a second Content-Length, even an equal one, is refused);
//     Transfer-Encoding is refused (501, or 400 together with Content-Length); a request without
//     Content-Length has no body;
//   - Host must appear at most once (and once in HTTP/1.1: a missing Host is refused);
//   - "Expect: 100-continue" is reported (the server answers 100 Continue); any other
//     expectation is refused with 417.
// Limits: the head (request line and headers) is at most max_head bytes and max_headers fields
// (431 beyond), the request target at most 8 KiB (414), the body at most max_body bytes: a larger
// Content-Length is refused (413) before any body byte is read.
#ifndef NET_HTTPD_PARSE_H
#define NET_HTTPD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum net_httpd_parse_status {
    NET_HTTPD_PARSE_MORE = 0,   // everything given was consumed; feed more
    NET_HTTPD_PARSE_DONE = 1,   // a complete request; *out_consumed says where it ended
    NET_HTTPD_PARSE_ERROR = -1, // refused: p->err_status is the HTTP status to answer, p->err why
};

struct net_httpd_limits {
    size_t max_head;    // default 16384
    size_t max_headers; // default 64
    size_t max_body;    // default 262144
};

// struct net_httpd_field: one header, NUL-terminated, the name as received (compare
// case-insensitively).
struct net_httpd_field {
    const char *name;
    const char *value;
};

enum net_httpd_phase {
    NET_HTTPD_PH_HEAD = 0,
    NET_HTTPD_PH_BODY,
    NET_HTTPD_PH_DONE,
    NET_HTTPD_PH_FAILED,
};

// struct net_httpd_parser: caller-allocated; net_httpd_parser_init enters the zero state,
// net_httpd_parser_reset makes it ready for the next request of the connection, and
// net_httpd_parser_cleanup frees. The request fields are valid once DONE was returned (method,
// target, fields and the framing fields also once the head is complete, see head_done) and live
// until the next reset or cleanup.
struct net_httpd_parser {
    struct net_httpd_limits lim;
    enum net_httpd_phase phase;
    char *head; // raw head; NULs are written into it while parsing
    size_t head_len, head_cap;
    size_t blank_lines; // empty lines skipped before the request line
    uint64_t in_total;  // bytes consumed for this request (for error positions)
    bool head_done;     // the head was parsed (fields below are set)
    // request
    const char *method; // e.g. "POST"
    const char *target; // the request target as sent (path and query)
    char *path;         // the target's path (not decoded), owned
    const char *query;  // the part after '?', or NULL; view into path's buffer
    int minor_version;  // HTTP/1.<minor>
    struct net_httpd_field *fields;
    size_t num_fields;
    bool has_content_length;
    uint64_t content_length;
    bool keep_alive;      // the connection may carry another request after this one
    bool expect_continue; // "Expect: 100-continue"
    char *body;           // NUL-terminated (the NUL is not counted); NULL if empty
    size_t body_len;
    // error
    int err_status; // 400, 413, 414, 417, 431, 501, 505
    char err[200];
};

void net_httpd_parser_init(struct net_httpd_parser *p, const struct net_httpd_limits *lim);
void net_httpd_parser_reset(struct net_httpd_parser *p);
void net_httpd_parser_cleanup(struct net_httpd_parser *p);

// net_httpd_parse consumes up to |len| bytes of |data| and sets *out_consumed to how many it
// used (all of them unless DONE: bytes after a complete request belong to the next one). After
// ERROR the connection must be closed (after answering err_status); further calls fail again.
enum net_httpd_parse_status net_httpd_parse(struct net_httpd_parser *p, const char *data,
                                            size_t len, size_t *out_consumed);

// net_httpd_find returns the value of the first header named |name| (case-insensitive), or NULL.
const char *net_httpd_find(const struct net_httpd_parser *p, const char *name);
// net_httpd_count returns how many headers named |name| the request has.
size_t net_httpd_count(const struct net_httpd_parser *p, const char *name);

#endif
