// test_transport.c: the function-response interpreter (ReportBatchItemFailures rules) and the
// stdout transport (one event per line, callbacks deferred to dispatch).
#include "invoke/transport.h"
#include "tests/lib/unit.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct inv_result parse(const char *body, bool report)
{
    struct inv_result r;
    inv_result_init(&r);
    inv_result_from_response(&r, body, body ? strlen(body) : 0, report);
    return r;
}

static void test_response_rules(void **state)
{
    (void)state;
    static const char *ok[] = {NULL,
                               "",
                               " \n",
                               "null",
                               "{}",
                               "\"done\"",
                               "[1,2]",
                               "{\"batchItemFailures\":null}",
                               "{\"batchItemFailures\":[]}",
                               "{\"statusCode\":200}"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct inv_result r = parse(ok[i], true);
        assert_int_equal(r.kind, INV_RESULT_OK);
        assert_int_equal(r.num_failures, 0);
        inv_result_cleanup(&r);
    }
    static const char *bad[] = {
        "{",
        "not json",
        "{\"batchItemFailures\":{}}",
        "{\"batchItemFailures\":[{}]}",
        "{\"batchItemFailures\":[{\"itemIdentifier\":\"orders-0\"}]}",
        "{\"batchItemFailures\":[{\"itemIdentifier\":{\"partition\":\"orders-0\"}}]}",
        "{\"batchItemFailures\":[{\"itemIdentifier\":{\"partition\":\"orders-0\",\"offset\":\"5\"}}"
        "]}",
        "{\"batchItemFailures\":[{\"itemIdentifier\":{\"partition\":\"orders-0\",\"offset\":1.5}}]"
        "}",
        "{\"batchItemFailures\":[{\"itemIdentifier\":{\"partition\":null,\"offset\":1}}]}",
        "{\"batchItemFailures\":[{\"itemIdentifier\":{\"partition\":\"x\",\"offset\":1e300}}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct inv_result r = parse(bad[i], true);
        assert_int_equal(r.kind, INV_RESULT_FUNCTION_ERROR);
        assert_non_null(r.message);
        assert_non_null(strstr(r.message, "malformed response"));
        assert_int_equal(r.num_failures, 0);
        inv_result_cleanup(&r);
        // Without ReportBatchItemFailures nothing is parsed.
        r = parse(bad[i], false);
        assert_int_equal(r.kind, INV_RESULT_OK);
        inv_result_cleanup(&r);
    }
    struct inv_result r =
        parse("{\"batchItemFailures\":[{\"itemIdentifier\":{\"partition\":\"my-topic-12\","
              "\"offset\":9007199254740992}},{\"itemIdentifier\":{\"partition\":\"my-topic-0\","
              "\"offset\":0}}]}",
              true);
    assert_int_equal(r.kind, INV_RESULT_PARTIAL);
    assert_int_equal(r.num_failures, 2);
    assert_string_equal(r.failures[0].partition, "my-topic-12");
    assert_int_equal(r.failures[0].offset, 9007199254740992LL);
    assert_int_equal(r.failures[1].offset, 0);
    assert_string_equal(inv_result_kind_name(r.kind), "partial");
    inv_result_cleanup(&r);
}

// Mutated responses (function output is untrusted): never a crash, always a defined kind, and a
// partial result only with well-formed identifiers.
static void test_response_mutations(void **state)
{
    (void)state;
    const char *good =
        "{\"batchItemFailures\":[{\"itemIdentifier\":{\"partition\":\"t-0\","
        "\"offset\":17}},{\"itemIdentifier\":{\"partition\":\"t-1\",\"offset\":2}}]}";
    size_t len = strlen(good);
    char buf[256];
    srand(4242);
    int partial = 0, errors = 0;
    for (int iter = 0; iter < 5000; iter++) {
        memcpy(buf, good, len);
        size_t n = len;
        for (int m = 0; m < 1 + rand() % 3; m++) {
            size_t at = (size_t)rand() % n;
            switch (rand() % 3) {
            case 0:
                buf[at] = (char)(rand() % 256);
                break;
            case 1:
                n = at; // truncate
                break;
            default:
                buf[at] = "{}[]\":,0-.e"[rand() % 12];
                break;
            }
            if (n == 0) {
                break;
            }
        }
        struct inv_result r;
        inv_result_init(&r);
        inv_result_from_response(&r, buf, n, true);
        switch (r.kind) {
        case INV_RESULT_PARTIAL:
            partial++;
            assert_true(r.num_failures > 0);
            for (size_t i = 0; i < r.num_failures; i++) {
                assert_true(strlen(r.failures[i].partition) > 0);
            }
            break;
        case INV_RESULT_FUNCTION_ERROR:
            errors++;
            assert_non_null(r.message);
            break;
        case INV_RESULT_OK:
            break;
        case INV_RESULT_RETRYABLE:
        case INV_RESULT_FATAL:
        case INV_RESULT_TOO_LARGE:
            fail_msg("unexpected kind %d", (int)r.kind);
        }
        inv_result_cleanup(&r);
    }
    assert_true(partial > 0 && errors > 0);
}

struct calls {
    int n;
    enum inv_result_kind kind[4];
};

static void on_done(void *ctx, uint64_t id, const struct inv_result *res)
{
    (void)id;
    struct calls *c = ctx;
    c->kind[c->n++] = res->kind;
}

static void test_stdout_transport(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct inv_transport *t = inv_stdout_new(p[1]);
    assert_string_equal(inv_transport_name(t), "stdout");
    struct calls c = {0};
    uint64_t a, b, x;
    assert_int_equal(inv_transport_submit(t, "{\"a\":1}", 7, on_done, &c, &a, NULL), 0);
    assert_int_equal(inv_transport_submit(t, "{\"b\":2}", 7, on_done, &c, &b, NULL), 0);
    assert_int_equal(inv_transport_submit(t, "{\"c\":3}", 7, on_done, &c, &x, NULL), 0);
    assert_true(a != b);
    assert_int_equal(c.n, 0); // deferred
    assert_int_equal(inv_transport_cancel(t, x), 0);
    assert_int_equal(inv_transport_run(t, 1000), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.kind[0], INV_RESULT_OK);
    char buf[64] = {0};
    assert_int_equal(read(p[0], buf, sizeof buf - 1), 24);
    assert_string_equal(buf, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
    // A closed reader: the write fails (EPIPE; SIGPIPE ignored here) -> fatal result.
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(inv_transport_submit(t, "{}", 2, on_done, &c, &a, NULL), 0);
    assert_int_equal(inv_transport_run(t, 1000), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.kind[2], INV_RESULT_FATAL);
    inv_transport_free(t);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response_rules),
        cmocka_unit_test(test_response_mutations),
        cmocka_unit_test(test_stdout_transport),
    };
    return cmocka_run_group_tests_name("transport", tests, NULL, NULL);
}
