// test_hostport.c: base/hostport, the one host:port parser, on the edge cases where the four
// parsers it replaced disagreed (bracketed and bare IPv6, port 0 and 65536, signs, spaces, empty
// parts, label rules) and on the listener's port 0.
#include "base/hostport.h"
#include "tests/lib/unit.h"

#include <string.h>

static bool parse(const char *s, unsigned flags, char *host, uint16_t *port, const char **why)
{
    return hostport_parse(s, strlen(s), flags, host, HOSTPORT_HOST_MAX + 1, port, why);
}

static void test_accepts(void **state)
{
    (void)state;
    static const struct {
        const char *in, *host;
        uint16_t port;
    } ok[] = {
        {"127.0.0.1:9092", "127.0.0.1", 9092},
        {"localhost:1", "localhost", 1},
        {"b-1.kafka.example-x.com:9096", "b-1.kafka.example-x.com", 9096},
        {"[::1]:9092", "::1", 9092},
        {"[2001:db8::7]:65535", "2001:db8::7", 65535},
        {"[::ffff:10.0.0.1]:9093", "::ffff:10.0.0.1", 9093},
        {"A1.B2:00080", "A1.B2", 80},
        {"x:09092", "x", 9092},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char host[HOSTPORT_HOST_MAX + 1];
        uint16_t port = 0;
        const char *why = NULL;
        assert_true(parse(ok[i].in, 0, host, &port, &why));
        assert_string_equal(host, ok[i].host);
        assert_int_equal(port, ok[i].port);
        assert_true(hostport_valid(ok[i].in));
    }
}

static void test_refuses(void **state)
{
    (void)state;
    static const struct {
        const char *in, *why;
    } bad[] = {
        {"host", "no port"},
        {"host:", "no port"},
        {":9092", "bad host name"},
        {"h:0", "port out of range 1-65535"},
        {"h:65536", "port out of range 1-65535"},
        {"h:+1", "port out of range 1-65535"},
        {"h:-1", "port out of range 1-65535"},
        {"h: 1", "port out of range 1-65535"},
        {"h:1 ", "port out of range 1-65535"},
        {"h:123456", "port out of range 1-65535"},
        {"h:0x10", "port out of range 1-65535"},
        {"::1:9092", "more than one ':' (an IPv6 address needs brackets)"},
        {"h:1:2", "more than one ':' (an IPv6 address needs brackets)"},
        {"[::1]", "no port"},
        {"[::1]9092", "expected ':' and a port after ']'"},
        {"[::1:9092", "'[' without ']'"},
        {"[]:9092", "bad IPv6 address in brackets"},
        {"[zz::1]:9092", "bad IPv6 address in brackets"},
        {"[1:2]:9092", "bad IPv6 address in brackets"},
        {"[fe80::1%eth0]:9092", "bad IPv6 address in brackets"},
        {"[127.0.0.1]:9092", "bad IPv6 address in brackets"},
        {"-x.com:1", "bad host name"},
        {"x-.com:1", "bad host name"},
        {"a..b:1", "bad host name"},
        {"a.b.:1", "bad host name"},
        {".a:1", "bad host name"},
        {"under_score:1", "bad host name"},
        {"sp ace:1", "bad host name"},
        {"tab\t:1", "bad host name"},
        {"", "no port"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char host[HOSTPORT_HOST_MAX + 1];
        uint16_t port = 0;
        const char *why = NULL;
        if (parse(bad[i].in, 0, host, &port, &why)) {
            fail_msg("accepted \"%s\"", bad[i].in);
        }
        if (why == NULL || strcmp(why, bad[i].why) != 0) {
            fail_msg("\"%s\": reason \"%s\", want \"%s\"", bad[i].in, why ? why : "(null)",
                     bad[i].why);
        }
        assert_false(hostport_valid(bad[i].in));
    }
}

static void test_lengths(void **state)
{
    (void)state;
    char in[400], host[HOSTPORT_HOST_MAX + 1];
    uint16_t port;
    // A 63-character label is fine, 64 is not.
    memset(in, 'a', 63);
    strcpy(in + 63, ":1");
    assert_true(parse(in, 0, host, &port, NULL));
    memset(in, 'a', 64);
    strcpy(in + 64, ":1");
    assert_false(parse(in, 0, host, &port, NULL));
    // 253 characters in all is the most a name may have.
    for (size_t i = 0; i < 253; i++) {
        in[i] = i % 2 ? '.' : 'a';
    }
    in[252] = 'a';
    strcpy(in + 253, ":1");
    assert_true(parse(in, 0, host, &port, NULL));
    assert_int_equal(strlen(host), 253);
    in[253] = '.';
    in[254] = 'b';
    strcpy(in + 255, ":1");
    assert_false(parse(in, 0, host, &port, NULL));
    // A host that does not fit the caller's buffer is refused, not cut.
    const char *why = NULL;
    assert_false(hostport_parse("abcdef:1", 8, 0, host, 6, &port, &why));
    assert_string_equal(why, "host name too long");
    assert_true(hostport_parse("abcde:1", 7, 0, host, 6, &port, NULL));
    // Only |len| bytes are read.
    assert_true(hostport_parse("h:12garbage", 4, 0, host, sizeof host, &port, NULL));
    assert_int_equal(port, 12);
}

static void test_port_zero(void **state)
{
    (void)state;
    char host[HOSTPORT_HOST_MAX + 1];
    uint16_t port = 7;
    const char *why = NULL;
    assert_true(parse("127.0.0.1:0", HOSTPORT_PORT_0, host, &port, NULL));
    assert_int_equal(port, 0);
    assert_true(parse("[::1]:0", HOSTPORT_PORT_0, host, &port, NULL));
    assert_string_equal(host, "::1");
    assert_false(parse("h:65536", HOSTPORT_PORT_0, host, &port, &why));
    assert_string_equal(why, "port out of range 0-65535");
}

static void test_canonical_port(void **state)
{
    (void)state;
    char host[HOSTPORT_HOST_MAX + 1];
    uint16_t port = 7;
    assert_true(parse("h:09092", 0, host, &port, NULL));
    assert_int_equal(port, 9092);
    assert_false(parse("h:09092", HOSTPORT_CANONICAL_PORT, host, &port, NULL));
    assert_false(parse("h:00", HOSTPORT_CANONICAL_PORT | HOSTPORT_PORT_0, host, &port, NULL));
    assert_true(parse("h:0", HOSTPORT_CANONICAL_PORT | HOSTPORT_PORT_0, host, &port, NULL));
    assert_true(parse("[::1]:9092", HOSTPORT_CANONICAL_PORT, host, &port, NULL));
    assert_int_equal(port, 9092);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),        cmocka_unit_test(test_refuses),
        cmocka_unit_test(test_lengths),        cmocka_unit_test(test_port_zero),
        cmocka_unit_test(test_canonical_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
