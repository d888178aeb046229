// test_esm_msk.c: the GetBootstrapBrokers answer (esm_msk_pick: which broker string Lambda's
// order picks, the limits on it) and the request path (esm_msk_path).
#include "esm/msk_discover.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The answer's shape as botocore's model gives it (kafka/2018-11-14, lowerCamelCase on the wire).
static const char answer[] =
    "{\"bootstrapBrokerString\":\"b-1.demo.kafka.eu-west-1.amazonaws.com:9092\","
    "\"bootstrapBrokerStringTls\":\"b-1.demo.kafka.eu-west-1.amazonaws.com:9094,"
    "b-2.demo.kafka.eu-west-1.amazonaws.com:9094\","
    "\"bootstrapBrokerStringSaslScram\":\"b-1.demo.kafka.eu-west-1.amazonaws.com:9096\","
    "\"bootstrapBrokerStringSaslIam\":\"b-1.demo.kafka.eu-west-1.amazonaws.com:9098,"
    "b-2.demo.kafka.eu-west-1.amazonaws.com:9098\"}";

static bool pick(const char *body, enum esm_msk_auth auth, char *out, size_t cap,
                 enum esm_msk_listener *l, const char **m, char *err)
{
    return esm_msk_pick(body, strlen(body), auth, out, cap, l, m, err, 600);
}

static void test_pick_order(void **state)
{
    (void)state;
    char out[ESM_MSK_MAX_STRING + 1], err[600];
    enum esm_msk_listener l;
    const char *m;
    assert_true(pick(answer, ESM_MSK_AUTH_NONE, out, sizeof out, &l, &m, err));
    assert_int_equal(l, ESM_MSK_LISTENER_IAM);
    assert_string_equal(m, "BootstrapBrokerStringSaslIam");
    assert_string_equal(out, "b-1.demo.kafka.eu-west-1.amazonaws.com:9098,"
                             "b-2.demo.kafka.eu-west-1.amazonaws.com:9098");
    assert_true(pick(answer, ESM_MSK_AUTH_SCRAM, out, sizeof out, &l, &m, err));
    assert_int_equal(l, ESM_MSK_LISTENER_SCRAM);
    assert_string_equal(out, "b-1.demo.kafka.eu-west-1.amazonaws.com:9096");
    assert_true(pick(answer, ESM_MSK_AUTH_MTLS, out, sizeof out, &l, &m, err));
    assert_int_equal(l, ESM_MSK_LISTENER_TLS);
    assert_string_equal(m, "BootstrapBrokerStringTls");
    // No IAM: TLS without authentication, then plaintext (Lambda's order).
    assert_true(
        pick("{\"bootstrapBrokerStringTls\":\"t:9094\",\"bootstrapBrokerString\":\"p:9092\"}",
             ESM_MSK_AUTH_NONE, out, sizeof out, &l, &m, err));
    assert_int_equal(l, ESM_MSK_LISTENER_TLS);
    assert_true(pick("{\"bootstrapBrokerString\":\"p:9092\",\"bootstrapBrokerStringSaslIam\":\"\"}",
                     ESM_MSK_AUTH_NONE, out, sizeof out, &l, &m, err));
    assert_int_equal(l, ESM_MSK_LISTENER_PLAINTEXT);
    assert_string_equal(out, "p:9092");
    // Public access only; the API reference's UpperCamelCase names are accepted too.
    assert_true(pick("{\"BootstrapBrokerStringPublicSaslIam\":\"pub:9198\"}", ESM_MSK_AUTH_NONE,
                     out, sizeof out, &l, &m, err));
    assert_int_equal(l, ESM_MSK_LISTENER_IAM);
    assert_string_equal(m, "BootstrapBrokerStringPublicSaslIam");
    // SCRAM configured but the cluster has no SCRAM listener: no weaker fallback.
    assert_false(pick("{\"bootstrapBrokerStringSaslIam\":\"i:9098\"}", ESM_MSK_AUTH_SCRAM, out,
                      sizeof out, &l, &m, err));
    assert_string_equal(err, "GetBootstrapBrokers: the cluster offers no SASL/SCRAM brokers "
                             "(BootstrapBrokerStringSaslScram): enable that authentication on the "
                             "cluster");
}

static void expect_refused(const char *body, const char *want)
{
    char out[ESM_MSK_MAX_STRING + 1], err[600];
    enum esm_msk_listener l;
    const char *m;
    bool ok = pick(body, ESM_MSK_AUTH_NONE, out, sizeof out, &l, &m, err);
    if (ok || !strstr(err, want)) {
        fprintf(stderr, "body %.80s: %s\n", body, ok ? "accepted" : err);
    }
    assert_false(ok);
    assert_non_null(strstr(err, want));
}

static void test_pick_attacks(void **state)
{
    (void)state;
    expect_refused("", "not a JSON object");
    expect_refused("null", "not a JSON object (another JSON value)");
    expect_refused("{\"bootstrapBrokerStringSaslIam\":1}", "offers no IAM, TLS or plaintext");
    expect_refused("{\"bootstrapBrokerStringSaslIam\":\"a:1\",\"bootstrapBrokerStringSaslIam\":"
                   "\"b:2\"}",
                   "duplicate key");
    expect_refused("{\"bootstrapBrokerStringSaslIam\":\"a:1,,b:2\"}",
                   "entry 2 '' is not host:port");
    expect_refused("{\"bootstrapBrokerStringSaslIam\":\"a:1,\"}", "entry 2 '' is not host:port");
    expect_refused("{\"bootstrapBrokerStringSaslIam\":\"user@h:1\"}", "is not host:port");
    expect_refused("{\"bootstrapBrokerStringSaslIam\":\"h:0\"}", "is not host:port");
    expect_refused("{\"bootstrapBrokerStringSaslIam\":\"h\\u0000:1\"}", "not a JSON object");
    expect_refused("{\"bootstrapBrokerStringSaslIam\":\"h\\n:1\"}", "entry 1 'h :1'");
    char *big = malloc(ESM_MSK_MAX_STRING + 100);
    strcpy(big, "{\"bootstrapBrokerStringSaslIam\":\"");
    size_t n = strlen(big);
    while (n < ESM_MSK_MAX_STRING + 40) {
        n += (size_t)sprintf(big + n, "b:%d,", 1);
    }
    strcpy(big + n - 1, "\"}");
    expect_refused(big, "is longer than 8193 bytes");
    n = (size_t)sprintf(big, "{\"bootstrapBrokerStringSaslIam\":\"");
    for (int i = 0; i < 65; i++) {
        n += (size_t)sprintf(big + n, "%sb%d:1", i ? "," : "", i);
    }
    strcpy(big + n, "\"}");
    expect_refused(big, "lists more than 64 brokers");
    free(big);
}

static void test_path(void **state)
{
    (void)state;
    char p[600];
    assert_true(esm_msk_path("arn:aws:kafka:us-east-1:123456789012:cluster/demo/"
                             "6f1c2a9e-1111-2222-3333-444455556666-2",
                             p, sizeof p));
    assert_string_equal(p, "/v1/clusters/arn%3Aaws%3Akafka%3Aus-east-1%3A123456789012%3Acluster"
                           "%2Fdemo%2F6f1c2a9e-1111-2222-3333-444455556666-2/bootstrap-brokers");
    assert_false(esm_msk_path("arn:aws:kafka:us-east-1:123456789012:cluster/demo/x", p, 40));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_order),
        cmocka_unit_test(test_pick_attacks),
        cmocka_unit_test(test_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
