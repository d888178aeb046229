// test_http_parse.c: the strict HTTP/1.1 response parser: framing (Content-Length, chunked with
// extensions and trailers, read-until-close, 204/HEAD, interim 1xx), keep-alive rules, every
// split point of the input, each refusal with its message, the limits, truncation at EOF, and a
// seeded mutation run (fuzz-style) checking that whole and byte-by-byte feeding agree.
#include "net/http_parse.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// parse_all feeds |s| in pieces of |step| bytes (0: all at once), then EOF if |eof| and the
// parser still wants more. Returns the final status; *out_used is the bytes consumed.
static enum net_http_parse_status parse_all(struct net_http_parser *p, const char *s, size_t len,
                                            size_t step, bool eof, size_t *out_used)
{
    size_t off = 0;
    enum net_http_parse_status st = NET_HTTP_PARSE_MORE;
    while (off < len) {
        size_t n = step == 0 || step > len - off ? len - off : step;
        size_t used = 0;
        st = net_http_parser_feed(p, s + off, n, &used);
        assert_true(used <= n);
        off += used;
        if (st != NET_HTTP_PARSE_MORE) {
            break;
        }
        assert_int_equal(used, n);
    }
    if (st == NET_HTTP_PARSE_MORE && eof) {
        st = net_http_parser_eof(p);
    }
    if (out_used != NULL) {
        *out_used = off;
    }
    return st;
}

static enum net_http_parse_status parse_str(struct net_http_parser *p, const char *s, bool eof)
{
    net_http_parser_init(p, NULL, false);
    return parse_all(p, s, strlen(s), 0, eof, NULL);
}

static void test_content_length(void **state)
{
    (void)state;
    const char *r = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    "X-Amz-Function-Error:  Unhandled \r\nContent-Length: 5\r\n\r\nhelloNEXT";
    struct net_http_parser p;
    net_http_parser_init(&p, NULL, false);
    size_t used;
    assert_int_equal(parse_all(&p, r, strlen(r), 0, false, &used), NET_HTTP_PARSE_DONE);
    assert_int_equal(used, strlen(r) - 4); // "NEXT" is not part of the response
    assert_int_equal(p.status, 200);
    assert_string_equal(p.reason, "OK");
    assert_int_equal(p.num_fields, 3);
    assert_string_equal(net_http_parser_header(&p, "x-amz-function-error"), "Unhandled");
    assert_string_equal(net_http_parser_header(&p, "CONTENT-TYPE"), "application/json");
    assert_null(net_http_parser_header(&p, "content-encoding"));
    assert_int_equal(p.body_len, 5);
    assert_string_equal(p.body, "hello");
    assert_true(p.keep_alive);
    assert_false(p.chunked);
    net_http_parser_cleanup(&p);
}

// Every split point gives the same result as one feed.
static void test_every_split(void **state)
{
    (void)state;
    const char *cases[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;name=val\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
    };
    for (size_t c = 0; c < 2; c++) {
        size_t len = strlen(cases[c]);
        for (size_t step = 1; step <= len; step++) {
            struct net_http_parser p;
            net_http_parser_init(&p, NULL, false);
            size_t used;
            assert_int_equal(parse_all(&p, cases[c], len, step, false, &used), NET_HTTP_PARSE_DONE);
            assert_int_equal(used, len);
            assert_int_equal(p.status, 200);
            assert_string_equal(p.body, "hello world");
            net_http_parser_cleanup(&p);
        }
        // Every strict prefix wants more, and EOF there is a truncation error.
        for (size_t cut = 0; cut < len; cut++) {
            struct net_http_parser p;
            net_http_parser_init(&p, NULL, false);
            assert_int_equal(parse_all(&p, cases[c], cut, 0, false, NULL), NET_HTTP_PARSE_MORE);
            assert_int_equal(net_http_parser_eof(&p), NET_HTTP_PARSE_MALFORMED);
            assert_non_null(strstr(p.err, "connection closed"));
            net_http_parser_cleanup(&p);
        }
    }
}

static void test_chunked(void **state)
{
    (void)state;
    struct net_http_parser p;
    assert_int_equal(parse_str(&p,
                               "HTTP/1.1 200 OK\r\ntransfer-encoding: CHUNKED\r\n\r\n"
                               "A ; ext\r\n0123456789\r\n1\r\n!\r\n0\r\n\r\n",
                               false),
                     NET_HTTP_PARSE_DONE);
    assert_true(p.chunked);
    assert_string_equal(p.body, "0123456789!");
    assert_true(p.keep_alive);
    net_http_parser_cleanup(&p);
}

static void test_until_close_and_keep_alive(void **state)
{
    (void)state;
    struct net_http_parser p;
    // No framing: the body runs to the close, and the connection cannot be reused.
    assert_int_equal(parse_str(&p, "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nTask timed out", true),
                     NET_HTTP_PARSE_DONE);
    assert_string_equal(p.body, "Task timed out");
    assert_false(p.keep_alive);
    assert_int_equal(p.minor_version, 0);
    net_http_parser_cleanup(&p);

    assert_int_equal(parse_str(&p,
                               "HTTP/1.1 200 OK\r\nConnection: foo, Close\r\n"
                               "Content-Length: 0\r\n\r\n",
                               false),
                     NET_HTTP_PARSE_DONE);
    assert_false(p.keep_alive);
    net_http_parser_cleanup(&p);

    assert_int_equal(parse_str(&p,
                               "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
                               "Content-Length: 0\r\n\r\n",
                               false),
                     NET_HTTP_PARSE_DONE);
    assert_true(p.keep_alive);
    net_http_parser_cleanup(&p);

    // 204 and 304 have no body even with a Content-Length; nor does a response to HEAD.
    assert_int_equal(parse_str(&p, "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", false),
                     NET_HTTP_PARSE_DONE);
    assert_int_equal(p.body_len, 0);
    net_http_parser_cleanup(&p);
    net_http_parser_init(&p, NULL, true);
    const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n";
    assert_int_equal(parse_all(&p, h, strlen(h), 0, false, NULL), NET_HTTP_PARSE_DONE);
    assert_int_equal(p.body_len, 0);
    net_http_parser_cleanup(&p);

    // An empty reason phrase is allowed, with or without the space.
    assert_int_equal(parse_str(&p, "HTTP/1.1 502 \r\nContent-Length: 0\r\n\r\n", false),
                     NET_HTTP_PARSE_DONE);
    assert_int_equal(p.status, 502);
    net_http_parser_cleanup(&p);
    assert_int_equal(parse_str(&p, "HTTP/1.1 429\r\nContent-Length: 0\r\n\r\n", false),
                     NET_HTTP_PARSE_DONE);
    assert_int_equal(p.status, 429);
    net_http_parser_cleanup(&p);
}

struct bad {
    const char *in;
    enum net_http_parse_status want;
    const char *msg; // substring of p.err
};

static void test_refusals(void **state)
{
    (void)state;
    static const struct bad bad[] = {
        {"HTTP/2 200 OK\r\n\r\n", NET_HTTP_PARSE_MALFORMED, "bad status line"},
        {"http/1.1 200 OK\r\n\r\n", NET_HTTP_PARSE_MALFORMED, "bad status line"},
        {"HTTP/1.1 20 OK\r\n\r\n", NET_HTTP_PARSE_MALFORMED, "not 3 digits"},
        {"HTTP/1.1 2000 OK\r\n\r\n", NET_HTTP_PARSE_MALFORMED, "no space after the status"},
        {"HTTP/1.1 600 Odd\r\n\r\n", NET_HTTP_PARSE_MALFORMED, "out of range"},
        {"HTTP/1.1 200 O\001K\r\n\r\n", NET_HTTP_PARSE_MALFORMED, "control character 0x01"},
        {"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", NET_HTTP_PARSE_MALFORMED, "bare LF"},
        {"\r\nHTTP/1.1 200 OK\r\n\r\n", NET_HTTP_PARSE_MALFORMED, "empty line"},
        {"HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", NET_HTTP_PARSE_MALFORMED, "line folding"},
        {"HTTP/1.1 200 OK\r\nName : v\r\n\r\n", NET_HTTP_PARSE_MALFORMED, "header line 1"},
        {"HTTP/1.1 200 OK\r\n: v\r\n\r\n", NET_HTTP_PARSE_MALFORMED, "empty or invalid field name"},
        {"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", NET_HTTP_PARSE_MALFORMED, "field name"},
        {"HTTP/1.1 200 OK\r\nA: x\033y\r\n\r\n", NET_HTTP_PARSE_MALFORMED, "0x1b in the value"},
        {"HTTP/1.1 200 OK\r\nA: x\ry\r\n\r\n", NET_HTTP_PARSE_MALFORMED, "0x0d in the value"},
        {"HTTP/1.1 101 Switching\r\n\r\n", NET_HTTP_PARSE_MALFORMED, "101"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", NET_HTTP_PARSE_MALFORMED,
         "unsupported Transfer-Encoding"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
         NET_HTTP_PARSE_MALFORMED, "unsupported Transfer-Encoding"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
         NET_HTTP_PARSE_MALFORMED, "ambiguous framing"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
         NET_HTTP_PARSE_MALFORMED, "conflicting Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", NET_HTTP_PARSE_MALFORMED, "not a number"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", NET_HTTP_PARSE_MALFORMED,
         "not a number"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", NET_HTTP_PARSE_LIMIT,
         "too large"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 6356993\r\n\r\n", NET_HTTP_PARSE_LIMIT,
         "above the 6356992-byte limit"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", NET_HTTP_PARSE_MALFORMED,
         "bad chunk size"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\n", NET_HTTP_PARSE_MALFORMED,
         "bad chunk size"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
         NET_HTTP_PARSE_LIMIT, "too large"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX", NET_HTTP_PARSE_MALFORMED,
         "not followed by CRLF"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nab", NET_HTTP_PARSE_MALFORMED,
         "bare LF in the chunk-size line"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
         NET_HTTP_PARSE_MALFORMED, "trailer line without a colon"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n610001\r\n", NET_HTTP_PARSE_LIMIT,
         "longer than 6356992"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct net_http_parser p;
        enum net_http_parse_status st = parse_str(&p, bad[i].in, false);
        if (st != bad[i].want || strstr(p.err, bad[i].msg) == NULL) {
            fail_msg("case %zu (%s): status %d, err \"%s\"", i, bad[i].in, (int)st, p.err);
        }
        // Sticky: more input changes nothing.
        size_t used = 99;
        assert_int_equal(net_http_parser_feed(&p, "x", 1, &used), bad[i].want);
        assert_int_equal(used, 0);
        net_http_parser_cleanup(&p);
    }
    // A NUL byte in the head.
    struct net_http_parser p;
    net_http_parser_init(&p, NULL, false);
    assert_int_equal(parse_all(&p, "HTTP/1.1 200 OK\r\nA: \0\r\n\r\n", 24, 0, false, NULL),
                     NET_HTTP_PARSE_MALFORMED);
    assert_non_null(strstr(p.err, "NUL byte in the response head at byte 20"));
    net_http_parser_cleanup(&p);
}

static void test_limits(void **state)
{
    (void)state;
    struct net_http_parse_limits lim = {.max_head = 64, .max_headers = 3, .max_body = 10};
    struct net_http_parser p;
    char big[200];
    snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nX-Long: %080d\r\n\r\n", 0);
    net_http_parser_init(&p, &lim, false);
    assert_int_equal(parse_all(&p, big, strlen(big), 0, false, NULL), NET_HTTP_PARSE_LIMIT);
    assert_string_equal(p.err, "response head longer than 64 bytes");
    net_http_parser_cleanup(&p);

    const char *many = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    net_http_parser_init(&p, &lim, false);
    assert_int_equal(parse_all(&p, many, strlen(many), 0, false, NULL), NET_HTTP_PARSE_LIMIT);
    assert_string_equal(p.err, "more than 3 header fields");
    net_http_parser_cleanup(&p);

    const char *cl = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n";
    net_http_parser_init(&p, &lim, false);
    assert_int_equal(parse_all(&p, cl, strlen(cl), 0, false, NULL), NET_HTTP_PARSE_LIMIT);
    net_http_parser_cleanup(&p);

    const char *ch = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\n";
    net_http_parser_init(&p, &lim, false);
    assert_int_equal(parse_all(&p, ch, strlen(ch), 0, false, NULL), NET_HTTP_PARSE_LIMIT);
    assert_string_equal(p.err, "response body longer than 10 bytes");
    net_http_parser_cleanup(&p);

    const char *eof = "HTTP/1.1 200 OK\r\n\r\n0123456789A";
    net_http_parser_init(&p, &lim, false);
    assert_int_equal(parse_all(&p, eof, strlen(eof), 3, true, NULL), NET_HTTP_PARSE_LIMIT);
    net_http_parser_cleanup(&p);

    // Trailers count against the head limit byte by byte: the outcome does not depend on how
    // the input is split (a NUL past the limit is reported as the limit either way; found by
    // libFuzzer).
    char tr[160];
    int tn = snprintf(tr, sizeof tr,
                      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "0\r\nT: %040d",
                      0);
    tr[tn++] = '\0';
    lim.max_head = 80;
    for (size_t step = 0; step <= 1; step++) {
        net_http_parser_init(&p, &lim, false);
        assert_int_equal(parse_all(&p, tr, (size_t)tn, step, false, NULL), NET_HTTP_PARSE_LIMIT);
        assert_string_equal(p.err, "response head and trailers longer than 80 bytes");
        net_http_parser_cleanup(&p);
    }
    lim.max_head = 64;

    // Exactly at the body limit is fine.
    const char *ok = "HTTP/1.1 200 OK\r\n\r\n0123456789";
    net_http_parser_init(&p, &lim, false);
    assert_int_equal(parse_all(&p, ok, strlen(ok), 0, true, NULL), NET_HTTP_PARSE_DONE);
    assert_int_equal(p.body_len, 10);
    net_http_parser_cleanup(&p);
}

static void test_truncation_messages(void **state)
{
    (void)state;
    struct net_http_parser p;
    assert_int_equal(parse_str(&p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true),
                     NET_HTTP_PARSE_MALFORMED);
    assert_string_equal(p.err,
                        "connection closed after 3 of 10 body bytes (Content-Length mismatch)");
    net_http_parser_cleanup(&p);
    assert_int_equal(parse_str(&p, "", true), NET_HTTP_PARSE_MALFORMED);
    assert_string_equal(p.err, "connection closed before the response head (0 bytes received)");
    net_http_parser_cleanup(&p);
    assert_int_equal(
        parse_str(&p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", true),
        NET_HTTP_PARSE_MALFORMED);
    assert_string_equal(
        p.err, "connection closed inside the chunked body (3 bytes decoded, no last chunk)");
    net_http_parser_cleanup(&p);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)rng_state;
}

// A seeded mutation run: flips, inserts and deletes bytes of valid responses. Whatever the
// input, the parser returns a status (ASan watches the memory), whole and byte-by-byte feeding
// agree on status, consumed length and body, and an error always has a message.
static void test_mutations(void **state)
{
    (void)state;
    static const char *seeds[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Amz-Function-Error: Unhandled\r\n\r\nhello",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
        "HTTP/1.0 502 Bad Gateway\r\n\r\n{\"errorMessage\":\"x\"}",
    };
    struct net_http_parse_limits lim = {.max_head = 256, .max_headers = 8, .max_body = 64};
    char buf[512];
    for (int iter = 0; iter < 20000; iter++) {
        const char *seed = seeds[rnd() % 3];
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        int edits = 1 + (int)(rnd() % 4);
        for (int e = 0; e < edits; e++) {
            size_t pos = len ? rnd() % len : 0;
            switch (rnd() % 3) {
            case 0:
                buf[pos] = (char)(rnd() & 0xff);
                break;
            case 1:
                if (len + 1 < sizeof buf) {
                    memmove(buf + pos + 1, buf + pos, len - pos);
                    buf[pos] = "\r\n:0 ;\x80"[rnd() % 7];
                    len++;
                }
                break;
            default:
                if (len > 0) {
                    memmove(buf + pos, buf + pos + 1, len - pos - 1);
                    len--;
                }
            }
        }
        struct net_http_parser a, b;
        net_http_parser_init(&a, &lim, false);
        net_http_parser_init(&b, &lim, false);
        size_t ua, ub;
        bool eof = rnd() & 1;
        enum net_http_parse_status sa = parse_all(&a, buf, len, 0, eof, &ua);
        enum net_http_parse_status sb = parse_all(&b, buf, len, 1, eof, &ub);
        assert_int_equal(sa, sb);
        if (sa == NET_HTTP_PARSE_DONE) {
            assert_int_equal(ua, ub);
            assert_int_equal(a.body_len, b.body_len);
            assert_true(a.body_len <= lim.max_body);
            assert_true(a.body_len == 0 || memcmp(a.body, b.body, a.body_len) == 0);
            assert_true(a.status >= 200 && a.status <= 599);
        } else if (sa != NET_HTTP_PARSE_MORE) {
            assert_true(a.err[0] != '\0');
            assert_string_equal(a.err, b.err);
        }
        net_http_parser_cleanup(&a);
        net_http_parser_cleanup(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_until_close_and_keep_alive),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_truncation_messages),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests_name("http_parse", tests, NULL, NULL);
}
