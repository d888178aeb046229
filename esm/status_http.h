// status_http.h: the status page of `kesm serve` over HTTP (esm/status.h has what it shows).
//
// Paths (GET only; HEAD too on the status listener):
//   /status, /status/     the page (HTML; its script and style are separate files below, so the
//                         Content-Security-Policy needs no 'unsafe-inline')
//   /status/status.js, /status/status.css, /status/icon.svg   the page's assets, embedded in the
//                         binary at build time from web/status/ (scripts/embed-assets)
//   /status.json          the status document (esm_status_json), for the page and for scripts
//   /                     the page, on the status listener only
// They are answered on the API listener (before any SigV4 check: the page is read-only and holds
// no secret) and, with --status-listen, on a listener of their own that serves nothing else.
//
// It must not be a way in:
//   - read-only: any other method is refused with 405;
//   - DNS rebinding: the Host header must name the address the connection arrived at (an IP
//     literal, or "localhost" on a loopback address) with its port, else 403;
//   - cross-origin: a request whose Origin is not the page's own, or whose Sec-Fetch-Site is
//     cross-site, is refused with 403, and no CORS header is ever sent;
//   - every response carries Content-Security-Policy (default-src 'none'; script, style, image
//     and fetch from 'self' only; no framing, no base URI, no forms), X-Content-Type-Options:
//     nosniff, X-Frame-Options: DENY, Referrer-Policy: no-referrer, Cross-Origin-Resource-Policy
//     and Cross-Origin-Opener-Policy same-origin, Cache-Control: no-store;
//   - the page builds its DOM with textContent and createElement only (no innerHTML), so no
//     string from the JSON is ever parsed as HTML;
//   - clients that are not on loopback are refused (403) unless --allow-remote.
#ifndef ESM_STATUS_HTTP_H
#define ESM_STATUS_HTTP_H

#include "esm/mapping.h"
#include "net/reactor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sockaddr;
struct net_httpd_parser;
struct net_httpd_peer;
struct net_httpd_response;
struct esm_status_server;

// struct esm_status_opts: the serve flags of the status page (zero: defaults).
struct esm_status_opts {
    uint32_t stuck_after_s; // --stuck-after SECONDS [300]
    bool listen;            // --status-listen HOST:PORT given
    char host[256];
    uint16_t port;
};

// esm_status_flag parses one `kesm serve` flag at argv |a| (value |v|, NULL if none): returns
// how many arguments it took (1 or 2), 0 if |a| is not a status flag, or -1 after printing why
// the value is wrong to stderr.
int esm_status_flag(struct esm_status_opts *o, const char *a, const char *v);
// esm_status_usage prints the flags' lines of `kesm serve --help`.
void esm_status_usage(FILE *out);

// esm_status_server_new starts tracking |mgr| (a 1-second timer on |r|), keeps WARN and ERROR
// log lines as recent errors (it installs a log sink that still writes every line to stderr),
// and binds the status listener when asked. |version| is borrowed. Returns NULL with |why|.
struct esm_status_server *esm_status_server_new(struct net_reactor *r, struct esm_manager *mgr,
                                                const struct esm_status_opts *o, bool allow_remote,
                                                const char *version, char *why, size_t why_len);
// esm_status_server_port returns the status listener's bound port (0: none).
uint16_t esm_status_server_port(const struct esm_status_server *srv);
// esm_status_server_handle answers |req| when |path| is a status path and returns true; false
// otherwise (the API's esm_api_config.extra hook).
bool esm_status_server_handle(void *srv, const struct net_httpd_parser *req,
                              const struct net_httpd_peer *peer, struct net_httpd_response *resp);
// esm_status_server_free stops everything and restores the log to stderr. NULL is a no-op.
void esm_status_server_free(struct esm_status_server *srv);

// esm_status_host_ok reports whether a Host header value names |local| (the address the
// connection arrived at, AF_INET or AF_INET6): an IP literal equal to it ([v6] in brackets; an
// IPv4 literal also matches an IPv4-mapped IPv6 address) or "localhost" when it is loopback,
// followed by its port (no port: 80). Anything else, an empty or longer than 300 bytes value
// included, is refused.
bool esm_status_host_ok(const char *host, const struct sockaddr *local);

#endif
