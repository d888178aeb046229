// http_int.h: what the HTTP client's files share: http.c (requests, the pool, the public API),
// http_conn.c (one connection) and http_wire.c (request bytes). Nothing outside net/http*.c uses
// it.
#ifndef NET_HTTP_INT_H
#define NET_HTTP_INT_H

#include "base/log.h"
#include "net/http.h"
#include "net/http_parse.h"
#include "net/internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_HTTP_METHOD_MAX 15

struct net_dial;
struct bufferevent;

enum cstate {
    CS_RESOLVING,
    CS_CONNECTING,
    CS_HANDSHAKE,
    CS_ACTIVE,
    CS_IDLE,
};

struct hreq;
struct hconn;

struct hconn {
    struct net_http *h;
    struct hconn *next;
    bool tls;
    uint16_t port;
    char host[256];
    char origin[300]; // "https://host:port" for messages
    enum cstate state;
    struct net_dial *dial;   // while connecting
    struct net_timer *timer; // idle
    struct bufferevent *bev;
    struct hreq *req;
    unsigned served;
    struct net_http_parser parser;
};

struct hreq {
    struct net_http *h;
    struct hreq *next;
    uint64_t id;
    net_http_done_fn *done;
    void *ctx;
    struct net_http_url url;
    char method[NET_HTTP_METHOD_MAX + 1];
    char *wire;
    size_t wire_len;
    bool head, sent, retried, reused;
    uint32_t timeout_ms;
    uint64_t start_ms;
    struct net_timer *timer;
    struct hconn *conn;
};

// done_item: a finished request waiting for its callback (delivered from the reactor by
// on_deliver, so no callback ever runs inside the client's own bookkeeping).
struct done_item {
    struct done_item *next;
    net_http_done_fn *done;
    void *ctx;
    uint64_t id;
    struct net_http_response resp;
    struct net_http_parser parser; // owns the head and body resp points into
    char *error;                   // owns resp.error
};

struct net_http {
    struct net_reactor *reactor;
    struct net_http_config cfg;
    char log[KESM_LOG_COMPONENT_CAP]; // log component: "http" or "http <log_tag>"
    struct hconn *conns;
    struct hreq *reqs;
    uint64_t next_id;
    struct net_timer *kick;
    struct net_timer *deliver;
    struct done_item *done_head, *done_tail;
    bool delivering;     // inside on_deliver
    bool free_requested; // net_http_free was called from a callback
    struct net_http_stats stats;
};

// http.c: completing a request (its callback runs later, from the reactor).
void http_finish(struct hreq *q, struct net_http_response *resp);
void http_finish_parsed(struct hreq *q, struct net_http_response *resp,
                        struct net_http_parser *parser);
void http_finish_err(struct hreq *q, enum net_http_err e, enum net_tls_fail tf, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

// http_conn.c: one connection of the pool.
// http_conn_open makes a connection for |q| and starts dialling it (callbacks come later).
void http_conn_open(struct net_http *h, struct hreq *q);
// http_conn_send writes |c|'s request (c->req) and starts reading its response.
void http_conn_send(struct hconn *c);
// http_conn_free closes |c| without touching its request (the caller detached or finished it).
void http_conn_free(struct hconn *c);
// http_kick assigns waiting requests to connections, from the reactor.
void http_kick(struct net_http *h);

// net_http_wire builds the request bytes for |r| to |u|: request line, Host (unless given),
// User-Agent kesm/<version> (unless given), the caller's headers, Content-Length (for a body and
// for POST/PUT/PATCH), the body. Refuses (-1 with |err|) a method that is not a token (or longer
// than NET_HTTP_METHOD_MAX), a header name that is not a token, a value with CR, LF or another
// control byte, and caller-set Content-Length, Transfer-Encoding or Connection. On success
// *out is a heap buffer the caller frees.
int net_http_wire(char **out, size_t *out_len, const struct net_http_url *u,
                  const struct net_http_request *r, char *err, size_t err_len);

#endif
