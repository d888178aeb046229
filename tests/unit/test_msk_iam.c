// test_msk_iam.c: the Amazon MSK IAM token (sasl/msk_iam.c) against golden tokens made by npm's
// aws-msk-iam-sasl-signer-js 1.0.3 (tests/node/msk_iam_token.mjs with the same credentials, region
// and a pinned clock; tests/integration/sasl_msk_iam.sh repeats the comparison live), its input
// checks, and the OAUTHBEARER mechanism built on it.
#include "sasl/msk_iam.h"
#include "sasl/sasl.h"
#include "tests/lib/unit.h"

#include <string.h>

#define UA "aws-msk-iam-sasl-signer-js/1.0.3"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

// Long-term keys, us-east-1, 2023-11-14T22:13:20Z.
static const char url1[] =
    "https://kafka.us-east-1.amazonaws.com/?Action=kafka-cluster%3AConnect&User-Agent=aws"
    "-msk-iam-sasl-signer-js%2F1.0.3&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK"
    "IAIOSFODNN7EXAMPLE%2F20231114%2Fus-east-1%2Fkafka-cluster%2Faws4_request&X-Amz-Date="
    "20231114T221320Z&X-Amz-Expires=900&X-Amz-Signature=60a937d97246c187bc1a0ff0227b1c24a"
    "88823f677c3c0a4cd42dc47989484c5&X-Amz-SignedHeaders=host";
static const char tok1[] =
    "aHR0cHM6Ly9rYWZrYS51cy1lYXN0LTEuYW1hem9uYXdzLmNvbS8_QWN0aW9uPWthZmthLWNsdXN0ZXIlM0FD"
    "b25uZWN0JlVzZXItQWdlbnQ9YXdzLW1zay1pYW0tc2FzbC1zaWduZXItanMlMkYxLjAuMyZYLUFtei1BbGdv"
    "cml0aG09QVdTNC1ITUFDLVNIQTI1NiZYLUFtei1DcmVkZW50aWFsPUFLSUFJT1NGT0ROTjdFWEFNUExFJTJG"
    "MjAyMzExMTQlMkZ1cy1lYXN0LTElMkZrYWZrYS1jbHVzdGVyJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9"
    "MjAyMzExMTRUMjIxMzIwWiZYLUFtei1FeHBpcmVzPTkwMCZYLUFtei1TaWduYXR1cmU9NjBhOTM3ZDk3MjQ2"
    "YzE4N2JjMWEwZmYwMjI3YjFjMjRhODg4MjNmNjc3YzNjMGE0Y2Q0MmRjNDc5ODk0ODRjNSZYLUFtei1TaWdu"
    "ZWRIZWFkZXJzPWhvc3Q";

// Session credentials whose token needs percent-encoding, ap-southeast-2, 2024-06-10T06:15:23Z.
static const char url2[] =
    "https://kafka.ap-southeast-2.amazonaws.com/?Action=kafka-cluster%3AConnect&User-Agen"
    "t=aws-msk-iam-sasl-signer-js%2F1.0.3&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credenti"
    "al=ASIAIOSFODNN7EXAMPLE%2F20240610%2Fap-southeast-2%2Fkafka-cluster%2Faws4_request&X"
    "-Amz-Date=20240610T061523Z&X-Amz-Expires=900&X-Amz-Security-Token=FwoGZXIvYXdzEJr%2F"
    "%2F%2F%2F%2F%2F%2F%2F%2F%2FwEaDHrK%2BEx%2Fam%2Fple%3D%3D&X-Amz-Signature=e89a0fb6b26"
    "6a05347b22b1ba8d2d378c2337df25722e0191ce9f0eafdb9ba87&X-Amz-SignedHeaders=host";
static const char tok2[] =
    "aHR0cHM6Ly9rYWZrYS5hcC1zb3V0aGVhc3QtMi5hbWF6b25hd3MuY29tLz9BY3Rpb249a2Fma2EtY2x1c3Rl"
    "ciUzQUNvbm5lY3QmVXNlci1BZ2VudD1hd3MtbXNrLWlhbS1zYXNsLXNpZ25lci1qcyUyRjEuMC4zJlgtQW16"
    "LUFsZ29yaXRobT1BV1M0LUhNQUMtU0hBMjU2JlgtQW16LUNyZWRlbnRpYWw9QVNJQUlPU0ZPRE5ON0VYQU1Q"
    "TEUlMkYyMDI0MDYxMCUyRmFwLXNvdXRoZWFzdC0yJTJGa2Fma2EtY2x1c3RlciUyRmF3czRfcmVxdWVzdCZY"
    "LUFtei1EYXRlPTIwMjQwNjEwVDA2MTUyM1omWC1BbXotRXhwaXJlcz05MDAmWC1BbXotU2VjdXJpdHktVG9r"
    "ZW49RndvR1pYSXZZWGR6RUpyJTJGJTJGJTJGJTJGJTJGJTJGJTJGJTJGJTJGJTJGd0VhREhySyUyQkV4JTJG"
    "YW0lMkZwbGUlM0QlM0QmWC1BbXotU2lnbmF0dXJlPWU4OWEwZmI2YjI2NmEwNTM0N2IyMmIxYmE4ZDJkMzc4"
    "YzIzMzdkZjI1NzIyZTAxOTFjZTlmMGVhZmRiOWJhODcmWC1BbXotU2lnbmVkSGVhZGVycz1ob3N0";

// Session credentials expiring 300 s after signing: the token lives 300 s, eu-central-1.
static const char tok3[] =
    "aHR0cHM6Ly9rYWZrYS5ldS1jZW50cmFsLTEuYW1hem9uYXdzLmNvbS8_QWN0aW9uPWthZmthLWNsdXN0ZXIl"
    "M0FDb25uZWN0JlVzZXItQWdlbnQ9YXdzLW1zay1pYW0tc2FzbC1zaWduZXItanMlMkYxLjAuMyZYLUFtei1B"
    "bGdvcml0aG09QVdTNC1ITUFDLVNIQTI1NiZYLUFtei1DcmVkZW50aWFsPUFTSUFJT1NGT0ROTjdFWEFNUExF"
    "JTJGMjAyNDA2MTAlMkZldS1jZW50cmFsLTElMkZrYWZrYS1jbHVzdGVyJTJGYXdzNF9yZXF1ZXN0JlgtQW16"
    "LURhdGU9MjAyNDA2MTBUMDYxNTIzWiZYLUFtei1FeHBpcmVzPTMwMCZYLUFtei1TZWN1cml0eS1Ub2tlbj10"
    "b2smWC1BbXotU2lnbmF0dXJlPTQ2ZDExZWE0NjNhYTM2YjBiMTQ5MGMwNjE4NGI5ZDdiM2JlY2M5ZTI5ZWUw"
    "ODJkZjIyMDU1YzkxMjY2MmQwMjkmWC1BbXotU2lnbmVkSGVhZGVycz1ob3N0";

static struct msk_iam_params params1(void)
{
    return (struct msk_iam_params){.region = "us-east-1",
                                   .access_key_id = "AKIAIOSFODNN7EXAMPLE",
                                   .secret_access_key = SECRET,
                                   .user_agent = UA,
                                   .now = 1700000000};
}

static struct msk_iam_params params2(void)
{
    return (struct msk_iam_params){.region = "ap-southeast-2",
                                   .access_key_id = "ASIAIOSFODNN7EXAMPLE",
                                   .secret_access_key = SECRET,
                                   .session_token = "FwoGZXIvYXdzEJr//////////wEaDHrK+Ex/am/ple==",
                                   .user_agent = UA,
                                   .now = 1718000123};
}

static void expect_token(const struct msk_iam_params *p, const char *want, int64_t want_expiry)
{
    struct sasl_err err = {{0}};
    struct msk_iam_token t;
    assert_true(msk_iam_token_build(&t, p, &err));
    assert_string_equal(err.msg, "");
    assert_int_equal(t.token_len, strlen(want));
    assert_string_equal(t.token, want);
    assert_int_equal(t.expiry, want_expiry);
    assert_int_equal(t.expires, want_expiry - p->now);
    msk_iam_token_cleanup(&t);
    assert_null(t.token);
    msk_iam_token_cleanup(&t); // twice is fine
}

static void expect_url(const struct msk_iam_params *p, const char *want)
{
    struct sasl_err err = {{0}};
    char *url;
    size_t len;
    uint32_t expires;
    assert_true(msk_iam_presigned_url(&url, &len, &expires, p, &err));
    assert_int_equal(len, strlen(want));
    assert_string_equal(url, want);
    msk_iam_url_free(url, len);
}

static void test_golden_long_term_keys(void **state)
{
    (void)state;
    struct msk_iam_params p = params1();
    expect_url(&p, url1);
    expect_token(&p, tok1, 1700000900);
    // An empty session token is no session token; a credentials expiry far off changes nothing.
    p.session_token = "";
    p.credentials_expiry = 1700003600;
    expect_token(&p, tok1, 1700000900);
    // expires 0 means 900.
    p.expires = MSK_IAM_MAX_EXPIRES;
    expect_token(&p, tok1, 1700000900);
}

static void test_golden_session_token(void **state)
{
    (void)state;
    struct msk_iam_params p = params2();
    expect_url(&p, url2);
    expect_token(&p, tok2, 1718000123 + 900);
}

static void test_golden_credentials_expiry(void **state)
{
    (void)state;
    struct msk_iam_params p = {.region = "eu-central-1",
                               .access_key_id = "ASIAIOSFODNN7EXAMPLE",
                               .secret_access_key = SECRET,
                               .session_token = "tok",
                               .user_agent = UA,
                               .now = 1718000123,
                               .credentials_expiry = 1718000423};
    expect_token(&p, tok3, 1718000423);
    // The same lifetime asked for directly gives the same token.
    p.credentials_expiry = 0;
    p.expires = 300;
    expect_token(&p, tok3, 1718000423);
}

// Every input is signed: changing any one of them changes the token.
static void test_every_input_counts(void **state)
{
    (void)state;
    struct msk_iam_params base = params1(), p;
    struct msk_iam_token t;
    struct sasl_err err = {{0}};
    struct msk_iam_params variants[6];
    for (size_t i = 0; i < 6; i++) {
        variants[i] = base;
    }
    variants[0].now++;
    variants[1].region = "us-east-2";
    variants[2].access_key_id = "AKIAIOSFODNN7EXAMPLF";
    variants[3].secret_access_key = SECRET "x";
    variants[4].session_token = "t";
    variants[5].expires = 899;
    for (size_t i = 0; i < 6; i++) {
        p = variants[i];
        assert_true(msk_iam_token_build(&t, &p, &err));
        assert_string_not_equal(t.token, tok1);
        msk_iam_token_cleanup(&t);
    }
}

static void test_default_user_agent(void **state)
{
    (void)state;
    struct msk_iam_params p = params1();
    p.user_agent = NULL;
    struct sasl_err err = {{0}};
    char *url;
    size_t len;
    uint32_t expires;
    assert_true(msk_iam_presigned_url(&url, &len, &expires, &p, &err));
    assert_non_null(strstr(url, "&User-Agent=kesm%2F"));
    // The user agent is not signed: the signature is the golden one.
    assert_non_null(strstr(url, "X-Amz-Signature=60a937d97246c187bc1a0ff0227b1c24a88823f677c3c0a4"
                                "cd42dc47989484c5&"));
    msk_iam_url_free(url, len);
    // A user agent with a space and a slash is percent-encoded.
    p.user_agent = "my app/1.0";
    assert_true(msk_iam_presigned_url(&url, &len, &expires, &p, &err));
    assert_non_null(strstr(url, "&User-Agent=my%20app%2F1.0&"));
    msk_iam_url_free(url, len);
    msk_iam_url_free(NULL, 0);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    char long_token[MSK_IAM_MAX_SESSION_TOKEN + 2];
    memset(long_token, 'A', sizeof long_token - 1);
    long_token[sizeof long_token - 1] = '\0';
    const struct {
        int field; // 0 region, 1 key id, 2 secret, 3 session token, 4 user agent
        const char *value;
        const char *want;
    } bad[] = {
        {0, "", "MSK IAM: region is empty"},
        {0, NULL, "MSK IAM: region is empty"},
        {0, "US-EAST-1", "MSK IAM: region may hold only a-z, 0-9 and '-' (0x55 at offset 0)"},
        {0, "us-east-1.evil.example",
         "MSK IAM: region may hold only a-z, 0-9 and '-' (0x2e at "
         "offset 9)"},
        {0, "-us", "MSK IAM: region \"-us\" starts or ends with '-'"},
        {0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "MSK IAM: region is too long (65 bytes, at most 64)"},
        {1, "", "MSK IAM: access key id is empty"},
        {1, "AKIA/X", "MSK IAM: access key id has a byte not allowed there (0x2f at offset 4)"},
        {2, NULL, "MSK IAM: secret access key is empty"},
        {2, "s3cret with space",
         "MSK IAM: secret access key has a byte not allowed there (0x20 at offset 6)"},
        {2, "s3cret\n",
         "MSK IAM: secret access key has a byte not allowed there (0x0a at offset "
         "6)"},
        {3, "tok\x01", "MSK IAM: session token has a byte not allowed there (0x01 at offset 3)"},
        {3, long_token, "MSK IAM: session token is too long (8193 bytes, at most 8192)"},
        {4, "", "MSK IAM: user agent is empty"},
        {4, "ua\x7f", "MSK IAM: user agent has a byte not allowed there (0x7f at offset 2)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct msk_iam_params p = params1();
        const char **f[] = {&p.region, &p.access_key_id, &p.secret_access_key, &p.session_token,
                            &p.user_agent};
        *f[bad[i].field] = bad[i].value;
        struct sasl_err err = {{0}};
        struct msk_iam_token t = {.token = NULL};
        assert_false(msk_iam_token_build(&t, &p, &err));
        assert_null(t.token);
        assert_string_equal(err.msg, bad[i].want);
        assert_null(strstr(err.msg, "s3cret"));
    }
}

static void test_bad_times(void **state)
{
    (void)state;
    struct sasl_err err = {{0}};
    struct msk_iam_token t;
    struct msk_iam_params p = params1();
    p.now = -1;
    assert_false(msk_iam_token_build(&t, &p, &err));
    assert_string_equal(err.msg, "MSK IAM: signing time -1 is outside 1970..9999");
    p.now = 253402300800;
    assert_false(msk_iam_token_build(&t, &p, &err));
    assert_string_equal(err.msg, "MSK IAM: signing time 253402300800 is outside 1970..9999");
    p.now = 253402300799; // the last second of 9999 works
    assert_true(msk_iam_token_build(&t, &p, &err));
    msk_iam_token_cleanup(&t);
    p = params1();
    p.expires = 901;
    assert_false(msk_iam_token_build(&t, &p, &err));
    assert_string_equal(err.msg, "MSK IAM: token lifetime 901 s is longer than 900 s");
    p.expires = 0;
    p.credentials_expiry = p.now;
    assert_false(msk_iam_token_build(&t, &p, &err));
    assert_string_equal(err.msg, "MSK IAM: the AWS credentials expired 0 s before signing");
    p.credentials_expiry = p.now - 60;
    assert_false(msk_iam_token_build(&t, &p, &err));
    assert_string_equal(err.msg, "MSK IAM: the AWS credentials expired 60 s before signing");
    p.credentials_expiry = p.now + 1; // one second left: a one-second token
    assert_true(msk_iam_token_build(&t, &p, &err));
    assert_int_equal(t.expires, 1);
    assert_int_equal(t.expiry, p.now + 1);
    msk_iam_token_cleanup(&t);
}

static void test_mechanism(void **state)
{
    (void)state;
    struct sasl_err err = {{0}};
    struct msk_iam_params p = params2();
    struct sasl_mech *m = sasl_mech_new_msk_iam(&p, &err);
    assert_non_null(m);
    assert_string_equal(sasl_mech_name(m), "OAUTHBEARER");
    assert_int_equal(sasl_mech_token_expiry(m), 1718000123 + 900);
    const uint8_t *out;
    size_t out_len;
    assert_int_equal(sasl_mech_start(m, &out, &out_len, &err), SASL_CONTINUE);
    size_t n = strlen(tok2);
    assert_int_equal(out_len, 4 + 12 + n + 2);
    assert_memory_equal(out,
                        "n,,\x01"
                        "auth=Bearer ",
                        16);
    assert_memory_equal(out + 16, tok2, n);
    assert_memory_equal(out + 16 + n, "\x01\x01", 2);
    assert_int_equal(sasl_mech_step(m, (const uint8_t *)"", 0, &out, &out_len, &err),
                     SASL_COMPLETE);
    assert_true(sasl_mech_finished(m));
    assert_string_equal(sasl_mech_server_reason(m), "");
    sasl_mech_free(m);

    p.region = "Bad";
    assert_null(sasl_mech_new_msk_iam(&p, &err));
    assert_string_equal(err.msg, "MSK IAM: region may hold only a-z, 0-9 and '-' (0x42 at offset "
                                 "0)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_long_term_keys),
        cmocka_unit_test(test_golden_session_token),
        cmocka_unit_test(test_golden_credentials_expiry),
        cmocka_unit_test(test_every_input_counts),
        cmocka_unit_test(test_default_user_agent),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_bad_times),
        cmocka_unit_test(test_mechanism),
    };
    return cmocka_run_group_tests_name("msk_iam", tests, NULL, NULL);
}
