// http_parse.h: a strict, bounded, incremental HTTP/1.1 response parser (sans-I/O).
//
// The client (net/http.c) feeds it the bytes read from a connection; it needs no socket, clock or
// log, so tests drive it with any byte string. It accepts what RFC 9112 lets a server send and
// refuses the rest with one line naming what and where:
//   - status line "HTTP/1.<digit> <3 digits> <reason>" ending in CRLF (bare LF anywhere in the
//     head is refused); interim 1xx responses are skipped (101 is refused: no upgrades);
//   - header names are tokens with the colon right after the name; values are trimmed and may
//     hold visible ASCII, SP, HTAB and bytes >= 0x80, nothing else; obsolete line folding is
//     refused;
//   - framing: Transfer-Encoding must be exactly "chunked" (anything else is refused, and so is
//     Transfer-Encoding together with Content-Length); repeated Content-Length headers must agree;
//     a response without either is read until the connection closes (and is not reusable);
//     204, 304 and responses to HEAD have no body;
//   - chunked bodies: hex size (at most 15 digits), optional extensions (ignored), CRLF after the
//     data, trailers (bounded, ignored) up to the empty line.
// Limits: the head (status line, headers, interim responses and trailers together) is at most
// max_head bytes and max_headers fields; the decoded body at most max_body bytes. A
// Content-Length above max_body is refused before any body byte is read.
#ifndef NET_HTTP_PARSE_H
#define NET_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum net_http_parse_status {
    NET_HTTP_PARSE_MORE = 0,       // everything given was consumed; feed more
    NET_HTTP_PARSE_DONE = 1,       // a complete response; *out_consumed says where it ended
    NET_HTTP_PARSE_MALFORMED = -1, // refused (see err)
    NET_HTTP_PARSE_LIMIT = -2,     // a limit was exceeded (see err)
};

// net_http_field: one header, NUL-terminated, name as received (compare case-insensitively).
struct net_http_field {
    const char *name;
    const char *value;
};

struct net_http_parse_limits {
    size_t max_head;    // default 65536
    size_t max_headers; // default 100
    size_t max_body;    // default 6356992 (Lambda's 6 MB response limit plus 64 KiB)
};

enum net_http_phase {
    NET_HTTP_PH_HEAD = 0,
    NET_HTTP_PH_BODY_LENGTH,
    NET_HTTP_PH_BODY_EOF,
    NET_HTTP_PH_CHUNK_SIZE,
    NET_HTTP_PH_CHUNK_DATA,
    NET_HTTP_PH_CHUNK_CRLF,
    NET_HTTP_PH_TRAILERS,
    NET_HTTP_PH_DONE,
    NET_HTTP_PH_FAILED,
};

// struct net_http_parser: caller-allocated; net_http_parser_init enters the zero state and
// net_http_parser_cleanup frees. Fields below "results" are valid once DONE was returned (status
// and fields also once the head is complete) and live until cleanup.
struct net_http_parser {
    struct net_http_parse_limits lim;
    bool head_request;
    enum net_http_phase phase;
    char *head; // raw head of the final response; NULs are written into it while parsing
    size_t head_len, head_cap;
    size_t head_total; // head bytes over all interim responses and trailers
    char line[256];    // chunk-size / trailer line being assembled
    size_t line_len;
    uint64_t remaining; // Content-Length or chunk bytes still to read
    uint64_t in_total;  // bytes consumed so far (for error positions)
    // results
    int status;
    int minor_version;
    const char *reason;
    struct net_http_field *fields;
    size_t num_fields;
    char *body; // NUL-terminated (the NUL is not counted); NULL if empty
    size_t body_len, body_cap;
    bool keep_alive; // the connection may carry another request after this response
    bool chunked;
    int64_t content_length;                 // -1 when absent
    enum net_http_parse_status fail_status; // what every call returns after a failure
    char err[200];
};

// net_http_parser_init: |lim| NULL or zero fields mean the defaults.
void net_http_parser_init(struct net_http_parser *p, const struct net_http_parse_limits *lim,
                          bool head_request);
void net_http_parser_cleanup(struct net_http_parser *p);

// net_http_parser_feed consumes bytes from |data|. Returns MORE (all consumed), DONE (the response
// ended after *out_consumed bytes; the rest belongs to whatever follows) or an error with p->err
// set. After DONE or an error further calls return the same status and consume nothing.
enum net_http_parse_status net_http_parser_feed(struct net_http_parser *p, const char *data,
                                                size_t len, size_t *out_consumed);

// net_http_parser_eof tells the parser the connection closed. Returns DONE for a body delimited
// by the close (or a response already complete), otherwise MALFORMED with p->err saying where the
// response was cut.
enum net_http_parse_status net_http_parser_eof(struct net_http_parser *p);

// net_http_parser_header returns the value of the first field named |name| (case-insensitive),
// or NULL.
const char *net_http_parser_header(const struct net_http_parser *p, const char *name);

#endif
