// fuzz_http_response.c: the HTTP/1.1 response parser (net/http_parse.h) over arbitrary bytes.
// The first byte chooses HEAD (bit 0) and the chunk size of a second, piecewise feed (bits 1-7).
// Invariants: whole and piecewise feeding agree on the status, the bytes consumed by a complete
// response, and its body; an error always has a message; the body never exceeds its limit; a
// complete response has a final (2xx-5xx) status.
#include "net/http_parse.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum net_http_parse_status run(struct net_http_parser *p, const char *s, size_t len,
                                      size_t step, size_t *out_used)
{
    size_t off = 0;
    enum net_http_parse_status st = NET_HTTP_PARSE_MORE;
    while (off < len) {
        size_t n = step < len - off ? step : len - off, used = 0;
        st = net_http_parser_feed(p, s + off, n, &used);
        assert(used <= n);
        off += used;
        if (st != NET_HTTP_PARSE_MORE) {
            break;
        }
        assert(used == n);
    }
    if (st == NET_HTTP_PARSE_MORE) {
        st = net_http_parser_eof(p);
    }
    *out_used = off;
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    struct net_http_parse_limits lim = {.max_head = 1024, .max_headers = 16, .max_body = 512};
    bool head = data[0] & 1;
    size_t step = (size_t)(data[0] >> 1) + 1;
    const char *s = (const char *)data + 1;
    size_t len = size - 1, ua, ub;
    struct net_http_parser a, b;
    net_http_parser_init(&a, &lim, head);
    net_http_parser_init(&b, &lim, head);
    enum net_http_parse_status sa = run(&a, s, len, len ? len : 1, &ua);
    enum net_http_parse_status sb = run(&b, s, len, step, &ub);
    assert(sa == sb);
    assert(sa != NET_HTTP_PARSE_MORE);
    if (sa == NET_HTTP_PARSE_DONE) {
        assert(ua == ub);
        assert(a.status >= 200 && a.status <= 599);
        assert(a.body_len <= lim.max_body && a.body_len == b.body_len);
        assert(a.body_len == 0 || memcmp(a.body, b.body, a.body_len) == 0);
        assert(!head || a.body_len == 0);
        assert(strcmp(a.err, "") == 0);
    } else {
        assert(a.err[0] != '\0' && strcmp(a.err, b.err) == 0);
    }
    net_http_parser_cleanup(&a);
    net_http_parser_cleanup(&b);
    return 0;
}
