// test_plain.c: the PLAIN client (sasl/plain.c), directly and through the generic interface.
#include "sasl/plain.h"
#include "sasl/sasl.h"
#include "tests/lib/unit.h"

#include <string.h>

static void test_plain_message(void **state)
{
    (void)state;
    struct sasl_err err = {{0}};
    const uint8_t *out;
    size_t out_len;
    struct plain *p = plain_new("alice", "alice-secret", &err);
    assert_non_null(p);
    assert_int_equal(plain_start(p, &out, &out_len, &err), SASL_CONTINUE);
    static const char want[] = "\0alice\0alice-secret";
    assert_int_equal(out_len, sizeof want - 1);
    assert_memory_equal(out, want, sizeof want - 1);
    assert_int_equal(plain_step(p, NULL, 0, &err), SASL_COMPLETE);
    assert_string_equal(err.msg, "");
    // A second round is refused.
    assert_int_equal(plain_step(p, NULL, 0, &err), SASL_FAILED);
    assert_string_equal(err.msg, "PLAIN exchange called in the wrong state");
    plain_free(p);
    plain_free(NULL);
}

static void test_plain_utf8_allowed(void **state)
{
    (void)state;
    struct sasl_err err = {{0}};
    const uint8_t *out;
    size_t out_len;
    struct plain *p = plain_new("j\xc3\xb6rg", "p\xe2\x82\xac ss", &err);
    assert_non_null(p);
    assert_int_equal(plain_start(p, &out, &out_len, &err), SASL_CONTINUE);
    static const char want[] = "\0j\xc3\xb6rg\0p\xe2\x82\xac ss";
    assert_int_equal(out_len, sizeof want - 1);
    assert_memory_equal(out, want, sizeof want - 1);
    plain_free(p);
}

static void test_plain_failures(void **state)
{
    (void)state;
    struct sasl_err err = {{0}};
    const uint8_t *out;
    size_t out_len;
    struct plain *p = plain_new("alice", "alice-secret", &err);
    assert_non_null(p);
    assert_int_equal(plain_step(p, NULL, 0, &err), SASL_FAILED);
    assert_string_equal(err.msg, "PLAIN exchange called in the wrong state");
    plain_free(p);

    p = plain_new("alice", "alice-secret", &err);
    assert_int_equal(plain_start(p, &out, &out_len, &err), SASL_CONTINUE);
    assert_int_equal(plain_start(p, &out, &out_len, &err), SASL_FAILED);
    assert_null(out);
    plain_free(p);

    p = plain_new("alice", "alice-secret", &err);
    assert_int_equal(plain_start(p, &out, &out_len, &err), SASL_CONTINUE);
    assert_int_equal(plain_step(p, (const uint8_t *)"xyz", 3, &err), SASL_FAILED);
    assert_string_equal(err.msg, "unexpected PLAIN server response (3 bytes, expected none)");
    plain_free(p);

    const struct {
        const char *user, *pass, *want;
    } bad[] = {
        {"", "pw", "PLAIN user name must be non-empty and free of control characters"},
        {NULL, "pw", "PLAIN user name must be non-empty and free of control characters"},
        {"a\tb", "pw", "PLAIN user name must be non-empty and free of control characters"},
        {"alice", "", "PLAIN password must be non-empty and free of control characters"},
        {"alice", "s3cret\n", "PLAIN password must be non-empty and free of control characters"},
        {"alice", "s3cret\x7f", "PLAIN password must be non-empty and free of control characters"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = '\0';
        assert_null(plain_new(bad[i].user, bad[i].pass, &err));
        assert_string_equal(err.msg, bad[i].want);
        assert_null(strstr(err.msg, "s3cret"));
    }
}

static void test_plain_generic(void **state)
{
    (void)state;
    struct sasl_err err = {{0}};
    const uint8_t *out;
    size_t out_len;
    struct sasl_mech *m = sasl_mech_new("PLAIN", "bob", "builder", NULL, &err);
    assert_non_null(m);
    assert_string_equal(sasl_mech_name(m), "PLAIN");
    assert_int_equal(sasl_mech_start(m, &out, &out_len, &err), SASL_CONTINUE);
    assert_int_equal(out_len, 12);
    assert_memory_equal(out, "\0bob\0builder", 12);
    assert_int_equal(sasl_mech_step(m, (const uint8_t *)"", 0, &out, &out_len, &err),
                     SASL_COMPLETE);
    assert_int_equal(out_len, 0);
    assert_true(sasl_mech_finished(m));
    assert_int_equal(sasl_mech_step(m, (const uint8_t *)"", 0, &out, &out_len, &err), SASL_FAILED);
    sasl_mech_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_message),
        cmocka_unit_test(test_plain_utf8_allowed),
        cmocka_unit_test(test_plain_failures),
        cmocka_unit_test(test_plain_generic),
    };
    return cmocka_run_group_tests_name("plain", tests, NULL, NULL);
}
