// http.h: a small asynchronous HTTP/1.1 client on the net reactor (for invoke/'s http and lambda
// transports).
//
// One net_http is a client with a keep-alive pool: connections are keyed by (scheme, host,
// port), carry one request at a time (no pipelining), and go back to the pool after a complete
// response the server lets us keep (HTTP/1.1 without "Connection: close", framed body, nothing
// extra after it). An idle connection is closed after idle_timeout_ms, when the pool for its
// origin already holds max_idle_per_origin, or when the server sends anything or closes it.
// A request that fails on a reused connection before any response byte arrived (the server
// closed the idle connection as we wrote: the keep-alive race) is retried once on a new one.
//
// Connecting: the host is resolved with evdns (hosts file first), each address is tried in turn
// with connect_timeout_ms (TCP and, for https, the TLS handshake through net/tls: CA file/dir or
// system store, hostname or IP verification, SNI). The per-request timeout covers everything
// from net_http_request to the end of the response.
//
// Responses are read with net/http_parse.h (strict; bounded head and body). The client never
// logs bodies, header values or query strings (so neither Authorization nor payloads reach a
// log); debug lines name the method, origin, path and status.
//
// Callbacks run on the reactor thread, never inside net_http_request or any other call into the
// client; a callback may start or cancel requests and may free the client.
#ifndef NET_HTTP_H
#define NET_HTTP_H

#include "net/http_parse.h"
#include "net/reactor.h"
#include "net/tls.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_http;

// struct net_http_config: zero fields take the defaults in brackets.
struct net_http_config {
    struct net_tls_ctx *tls;     // for https URLs (borrowed; must outlive the client); NULL:
                                 // https requests fail with NET_HTTP_ERR_INVALID
    uint32_t connect_timeout_ms; // per address, TCP connect + TLS handshake [10000]
    uint32_t idle_timeout_ms;    // keep-alive idle close [30000]
    size_t max_idle_per_origin;  // idle connections kept per origin [8]
    size_t max_conns_per_origin; // connections per origin, busy or idle; more requests wait
                                 // their turn in order [0: unlimited]
    size_t max_response_head;    // status line + headers [65536]
    size_t max_response_body;    // decoded body [6356992 = 6 MiB + 64 KiB]
    uint32_t default_timeout_ms; // per request when the request says 0 [60000]
    const char *log_tag;         // added to the log component ("http <tag>"); copied [none]
};

// enum net_http_err: 0 or negative.
enum net_http_err {
    NET_HTTP_OK = 0,
    NET_HTTP_ERR_INVALID = -1,      // bad URL or header (only from net_http_request itself)
    NET_HTTP_ERR_RESOLVE = -2,      // the host name did not resolve
    NET_HTTP_ERR_CONNECT = -3,      // no address accepted a TCP connection
    NET_HTTP_ERR_TLS = -4,          // TLS failure; see tls_fail
    NET_HTTP_ERR_TIMEOUT = -5,      // the request timeout passed
    NET_HTTP_ERR_PROTOCOL = -6,     // the response is not valid HTTP/1.1 (see error)
    NET_HTTP_ERR_TOO_LARGE = -7,    // the response head or body exceeds its limit
    NET_HTTP_ERR_DISCONNECTED = -8, // the connection closed or failed before the response ended
};

const char *net_http_err_name(enum net_http_err e);

struct net_http_header {
    const char *name;
    const char *value;
};

// struct net_http_request: borrowed for the duration of net_http_request only (everything is
// copied into the request bytes).
struct net_http_request {
    const char *method; // "POST", "GET", ...
    const char *url;    // http://host[:port][/path][?query] or https://...; no userinfo/fragment
    const struct net_http_header *headers; // extra headers; Host, Content-Length and
    size_t num_headers;                    // User-Agent are added unless given here
    const void *body;
    size_t body_len;
    uint32_t timeout_ms; // 0: the client's default_timeout_ms
};

// struct net_http_response: valid only during the callback.
struct net_http_response {
    enum net_http_err err;
    enum net_tls_fail tls_fail; // for NET_HTTP_ERR_TLS
    const char *error;          // one readable line when err != NET_HTTP_OK, else ""
    bool request_sent;          // the whole request was handed to the kernel
    bool response_started;      // at least one response byte arrived
    bool reused;                // the request went on a kept-alive connection
    int status;                 // HTTP status, or -1 without a response
    const char *reason;
    const struct net_http_field *headers; // as received (net/http_parse.h)
    size_t num_headers;
    const char *body; // NUL-terminated (not counted in body_len); "" when empty
    size_t body_len;
};

// net_http_response_header returns the first header named |name| (case-insensitive) or NULL.
const char *net_http_response_header(const struct net_http_response *r, const char *name);

typedef void net_http_done_fn(void *ctx, uint64_t id, const struct net_http_response *resp);

// net_http_new makes a client on |r|; |cfg| may be NULL.
struct net_http *net_http_new(struct net_reactor *r, const struct net_http_config *cfg);
// net_http_free closes every connection and drops pending requests and undelivered results
// without calling them back. NULL is a no-op. Allowed inside one of the client's callbacks.
void net_http_free(struct net_http *h);

// net_http_request starts a request. Returns 0 and sets *out_id; |done| then runs exactly once
// (unless the request is cancelled or the client freed). Returns -1 (no callback) with one line
// in |err| (|err_len| bytes) for a bad URL, an https URL without a TLS context, or a method or
// header with forbidden characters.
int net_http_request(struct net_http *h, const struct net_http_request *req, net_http_done_fn *done,
                     void *ctx, uint64_t *out_id, char *err, size_t err_len);

// net_http_cancel drops a request (its connection, if it had one, is closed). Returns 0, or -1
// if |id| is unknown or already finished.
int net_http_cancel(struct net_http *h, uint64_t id);

// net_http_request_sent returns 1 when the whole request |id| has been handed to the kernel (the
// server may be acting on it), 0 while it is not (waiting for a connection, connecting, writing),
// and -1 if |id| is unknown or already finished.
int net_http_request_sent(const struct net_http *h, uint64_t id);

// struct net_http_stats: counters since net_http_new.
struct net_http_stats {
    uint64_t requests;           // started
    uint64_t connections_opened; // TCP connections attempted to completion of connect
    uint64_t connections_reused; // requests sent on a kept-alive connection
    uint64_t stale_retries;      // keep-alive race retries
    size_t idle_connections;     // now in the pool
};
void net_http_get_stats(const struct net_http *h, struct net_http_stats *out);

// struct net_http_url: a parsed URL (net_http_url_parse). host is without brackets;
// host_header is what goes in Host ("host" or "host:port" when the port is not the scheme's
// default; IPv6 literals in brackets); path starts with '/' and excludes the query; query
// excludes '?' and is "" when absent.
struct net_http_url {
    bool tls;
    uint16_t port;
    char host[256];
    char host_header[272];
    char path[2048];
    char query[2048];
};

// net_http_url_parse parses |url|. Returns 0, or -1 with a reason in |err|. Accepts scheme
// http/https (case-insensitive), a DNS name, IPv4 or [IPv6] literal host, optional port 1-65535,
// path and query of visible ASCII. Refuses userinfo, fragments, spaces and control bytes.
int net_http_url_parse(struct net_http_url *out, const char *url, char *err, size_t err_len);

#endif
