// test_esm_api_guard.c: the pure checks in front of kesm serve's API: guarded JSON
// (esm/json_guard.h: UTF-8, \u0000, escapes, depth, counts, duplicate keys, trailing text), the
// text sanitiser, Host and Content-Type rules and query decoding (esm/api.h), the opaque members'
// shapes (esm/config.c), and the operator policy (esm/policy.h) naming member and flag.
#include "esm/api.h"
#include "esm/api_int.h"
#include "esm/config.h"
#include "esm/json_guard.h"
#include "esm/policy.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void guard_fails(const char *text, size_t len, const char *want)
{
    char why[300] = "";
    cJSON *v = esm_json_parse_guarded(text, len, NULL, why, sizeof why);
    if (v != NULL || !strstr(why, want)) {
        fail_msg("%.*s: got '%s', wanted '%s'", (int)len, text, why, want);
    }
}

static void guard_ok(const char *text)
{
    char why[300] = "";
    cJSON *v = esm_json_parse_guarded(text, strlen(text), NULL, why, sizeof why);
    if (!v) {
        fail_msg("%s: %s", text, why);
    }
    cJSON_Delete(v);
}

#define FAILS(lit, want) guard_fails(lit, sizeof lit - 1, want)

static void test_json_guard(void **state)
{
    (void)state;
    guard_ok("{\"a\":\"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00\",\"b\":[1,2.5e3,true,null],\"c\":{}}");
    FAILS("{\"a\":\"x\\u0000y\"}", "\\u0000 (a NUL character) in a string at byte 7");
    FAILS("{\"a\":\"x\xffy\"}", "invalid UTF-8 in a string at byte 7");
    FAILS("{\"a\":\"\xc0\xaf\"}", "invalid UTF-8");     // overlong
    FAILS("{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8"); // an encoded surrogate
    FAILS("{\"a\":\"\\ud83d\"}", "unpaired surrogate escape");
    FAILS("{\"a\":\"\\ude00\"}", "unpaired surrogate escape");
    FAILS("{\"a\":\"\\x41\"}", "invalid escape '\\x'");
    FAILS("{\"a\":\"tab\there\"}", "control character 0x09");
    FAILS("{\"a\":1,\"b\":2,\"a\":3}", "duplicate key 'a' (at 'a')");
    FAILS("{\"x\":{\"y\":[{\"k\":1,\"k\":2}]}}", "duplicate key 'k' (at 'x.y[0].k')");
    FAILS("{\"a\":1}x", "unexpected text after the JSON value");
    FAILS("{\"a\":1}}", "unbalanced '}'");
    FAILS("{\"a\":", "syntax error");
    FAILS("{\"a\":\"open", "unterminated string");
    char deep[100];
    size_t n = 0;
    for (int i = 0; i < 11; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < 11; i++) {
        deep[n++] = ']';
    }
    guard_fails(deep, n, "nesting deeper than 10 levels at byte 10");
    guard_ok("[[[[[[[[[[]]]]]]]]]]"); // 10 levels
    struct esm_json_limits lim;
    esm_json_limits_request(&lim);
    lim.max_items = 3;
    lim.max_members = 2;
    lim.max_string = 4;
    char why[200];
    assert_false(esm_json_scan("[1,2,3,4]", 9, &lim, why, sizeof why));
    assert_non_null(strstr(why, "an array with more than 3 items"));
    assert_false(esm_json_scan("{\"a\":1,\"b\":2,\"c\":3}", 19, &lim, why, sizeof why));
    assert_non_null(strstr(why, "an object with more than 2 members"));
    assert_false(esm_json_scan("[\"abcde\"]", 9, &lim, why, sizeof why));
    assert_non_null(strstr(why, "longer than 4 bytes"));
    assert_true(esm_json_scan("[\"ab\\u00e9\"]", 12, &lim, why, sizeof why)); // 4 bytes decoded
}

static void test_sanitize(void **state)
{
    (void)state;
    char out[64];
    const char in[] = "ok \xff\xfe\x1b[31m caf\xc3\xa9\n\xe2\x82";
    esm_utf8_sanitize(out, sizeof out, in, sizeof in - 1);
    assert_string_equal(out,
                        "ok \xef\xbf\xbd\xef\xbf\xbd [31m caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd");
    char tiny[6];
    esm_utf8_sanitize(tiny, sizeof tiny, "ab\xc3\xa9\xc3\xa9", 6); // never cuts a character
    assert_string_equal(tiny, "ab\xc3\xa9");
}

static void test_host_rules(void **state)
{
    (void)state;
    assert_true(esm_api_host_ok("127.0.0.1:9320", "127.0.0.1", 9320, NULL, 0));
    assert_true(esm_api_host_ok("localhost:9320", "127.0.0.1", 9320, NULL, 0));
    assert_true(esm_api_host_ok("[::1]:9320", "127.0.0.1", 9320, NULL, 0));
    assert_false(esm_api_host_ok("127.0.0.1:9321", "127.0.0.1", 9320, NULL, 0));
    assert_false(esm_api_host_ok("127.0.0.1", "127.0.0.1", 9320, NULL, 0)); // port 80 implied
    assert_true(esm_api_host_ok("127.0.0.1", "127.0.0.1", 80, NULL, 0));
    assert_false(esm_api_host_ok("attacker.example:9320", "127.0.0.1", 9320, NULL, 0));
    assert_false(esm_api_host_ok("10.0.0.5:9320", "127.0.0.1", 9320, NULL, 0));
    assert_false(esm_api_host_ok(NULL, "127.0.0.1", 9320, NULL, 0));
    assert_false(esm_api_host_ok("127.0.0.1:x", "127.0.0.1", 9320, NULL, 0));
    assert_false(esm_api_host_ok("[::1:9320", "127.0.0.1", 9320, NULL, 0));
    assert_true(esm_api_host_ok("10.0.0.5:9320", "0.0.0.0", 9320, NULL, 0));
    assert_false(esm_api_host_ok("kesm.internal:9320", "0.0.0.0", 9320, NULL, 0));
    const char *allowed[] = {"kesm.internal"};
    assert_true(esm_api_host_ok("KESM.internal:9320", "0.0.0.0", 9320, allowed, 1));
}

static void test_content_types(void **state)
{
    (void)state;
    assert_true(esm_api_json_content_type("application/json"));
    assert_true(esm_api_json_content_type("Application/JSON; charset=UTF-8"));
    assert_true(esm_api_json_content_type("application/x-amz-json-1.1"));
    assert_false(esm_api_json_content_type("text/plain"));
    assert_false(esm_api_json_content_type("application/x-www-form-urlencoded"));
    assert_false(esm_api_json_content_type("multipart/form-data; boundary=x"));
    assert_false(esm_api_json_content_type("application/json; charset=latin1"));
    assert_false(esm_api_json_content_type("application/jsonx"));
    assert_false(esm_api_json_content_type(""));
}

static void test_query(void **state)
{
    (void)state;
    char v[64];
    const char *q = "MaxItems=5&FunctionName=arn%3Aaws%3Alambda%3Af+x&Empty=&Bad=%zz&Nul=%00";
    assert_int_equal(esm_api_query_get(q, "FunctionName", v, sizeof v), 1);
    assert_string_equal(v, "arn:aws:lambda:f x");
    assert_int_equal(esm_api_query_get(q, "MaxItems", v, sizeof v), 1);
    assert_string_equal(v, "5");
    assert_int_equal(esm_api_query_get(q, "Empty", v, sizeof v), 1);
    assert_string_equal(v, "");
    assert_int_equal(esm_api_query_get(q, "Marker", v, sizeof v), 0);
    assert_int_equal(esm_api_query_get(q, "Bad", v, sizeof v), -1);
    assert_int_equal(esm_api_query_get(q, "Nul", v, sizeof v), -1);
    assert_int_equal(esm_api_query_get("F=%ff", "F", v, sizeof v), -1); // not UTF-8
}

static const char BASE[] =
    "\"FunctionName\":\"f\",\"Topics\":[\"t\"],\"SelfManagedEventSource\":{\"Endpoints\":"
    "{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b:9092\"]}}";

static bool parse(struct esm_config *c, const char *extra, struct esm_cfg_err *err)
{
    char text[4096];
    snprintf(text, sizeof text, "{%s%s}", BASE, extra);
    struct esm_parse_opts po = {0, NULL, NULL};
    return esm_config_parse_text(c, text, strlen(text), &po, err);
}

static void parse_fails(const char *extra, const char *want)
{
    struct esm_config c;
    struct esm_cfg_err err;
    if (parse(&c, extra, &err) || !strstr(err.message, want)) {
        fail_msg("%s: '%s', wanted '%s'", extra, err.message, want);
    }
}

static void test_opaque_shapes(void **state)
{
    (void)state;
    struct esm_config c;
    struct esm_cfg_err err;
    assert_true(
        parse(&c,
              ",\"Tags\":{\"team\":\"kafka\"},\"MetricsConfig\":{\"Metrics\":[\"EventCount\"]},"
              "\"LoggingConfig\":{\"SystemLogLevel\":\"WARN\"},\"ProvisionedPollerConfig\":"
              "{\"MinimumPollers\":1,\"MaximumPollers\":2000,\"PollerGroupName\":\"g-1\"},"
              "\"KMSKeyArn\":\"arn:aws:kms:us-east-1:1:key/x\"",
              &err));
    esm_config_cleanup(&c);
    parse_fails(",\"Tags\":{\"a\":{\"b\":1}}",
                "at 'Tags.a' failed to satisfy constraint: Member must be a string");
    parse_fails(",\"Tags\":{\"aws:x\":\"v\"}", "does not start with aws:");
    char many[1200] = ",\"Tags\":{";
    for (int i = 0; i < 51; i++) {
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"k%d\":\"v\"", i ? "," : "",
                 i);
    }
    strcat(many, "}");
    parse_fails(many, "at most 50 tags");
    parse_fails(",\"MetricsConfig\":{\"Metrics\":[\"Bogus\"]}", "MetricsConfig.Metrics[0]");
    parse_fails(",\"MetricsConfig\":{\"Extra\":[[[]]]}", "at 'MetricsConfig.Extra'");
    parse_fails(",\"LoggingConfig\":{\"SystemLogLevel\":\"TRACE\"}", "[DEBUG, INFO, WARN]");
    parse_fails(",\"ProvisionedPollerConfig\":{\"MaximumPollers\":10001}",
                "ProvisionedPollerConfig.MaximumPollers");
    parse_fails(",\"KMSKeyArn\":\"not-an-arn\"", "at 'KMSKeyArn'");
    parse_fails(",\"BatchSize\":1,\"BatchSize\":2", "duplicate key 'BatchSize'");
}

// ARNs whose region would name another host: kesm builds https://<service>.<region>.amazonaws.com
// from them (SQS, SNS and S3 destinations; Secrets Manager secrets), so a caller could otherwise
// send signed requests, failure records and record payloads to a host of its choosing.
static void test_arn_regions(void **state)
{
    (void)state;
    struct esm_config c;
    struct esm_cfg_err err;
    static const char *const good[] = {
        ",\"DestinationConfig\":{\"OnFailure\":{\"Destination\":"
        "\"arn:aws:sqs:us-east-2:123456789012:dlq\"}}",
        ",\"DestinationConfig\":{\"OnFailure\":{\"Destination\":\"arn:aws:s3:::bucket\"}}",
        ",\"SourceAccessConfigurations\":[{\"Type\":\"BASIC_AUTH\",\"URI\":"
        "\"arn:aws:secretsmanager:us-east-1:1:secret:x\"}]",
    };
    for (size_t i = 0; i < 3; i++) {
        if (!parse(&c, good[i], &err)) {
            fail_msg("%s: %s", good[i], err.message);
        }
        esm_config_cleanup(&c);
    }
    static const char *const regions[] = {"x@127.0.0.1:9/", "evil.example.com/", "@h"};
    for (size_t i = 0; i < 3; i++) {
        char req[300];
        snprintf(req, sizeof req,
                 ",\"DestinationConfig\":{\"OnFailure\":{\"Destination\":"
                 "\"arn:aws:sqs:%s:123456789012:dlq\"}}",
                 regions[i]);
        parse_fails(req, "at 'DestinationConfig.OnFailure.Destination' failed to satisfy "
                         "constraint: Member must satisfy regular expression pattern");
        snprintf(req, sizeof req,
                 ",\"DestinationConfig\":{\"OnFailure\":{\"Destination\":"
                 "\"arn:aws:s3:%s::bucket\"}}",
                 regions[i]);
        parse_fails(req, "the region names no host");
        snprintf(req, sizeof req,
                 ",\"SourceAccessConfigurations\":[{\"Type\":\"BASIC_AUTH\",\"URI\":"
                 "\"arn:aws:secretsmanager:%s:1:secret:x\"}]",
                 regions[i]);
        parse_fails(req, "at 'SourceAccessConfigurations[0].URI' failed to satisfy constraint: "
                         "An ARN must be");
    }
    parse_fails(",\"DestinationConfig\":{\"OnFailure\":{\"Destination\":"
                "\"arn:aws:sqs:us-east-1:12x:dlq\"}}",
                "DestinationConfig.OnFailure.Destination");
}

static void policy_refuses(const char *extra, const struct esm_policy *pol, const char *member,
                           const char *flag)
{
    struct esm_config c;
    struct esm_cfg_err err;
    if (!parse(&c, extra, &err)) {
        fail_msg("%s: %s", extra, err.message);
    }
    char why[2400], at[128];
    snprintf(at, sizeof at, "at '%s'", member);
    bool ok = esm_policy_check(&c, pol, why, sizeof why);
    if (ok || !strstr(why, at) || !strstr(why, flag)) {
        fail_msg("%s: '%s', wanted %s and %s", extra, ok ? "(allowed)" : why, at, flag);
    }
    esm_config_cleanup(&c);
}

// REG: a SchemaRegistryConfig with one BASIC_AUTH secret (printf: the URI, the secret).
#define REG                                                                                        \
    ",\"SelfManagedKafkaEventSourceConfig\":{\"SchemaRegistryConfig\":{\"SchemaRegistryURI\":"     \
    "\"%s\",\"EventRecordFormat\":\"JSON\",\"AccessConfigs\":[{\"Type\":\"BASIC_AUTH\","           \
    "\"URI\":\"%s\"}],\"SchemaValidationConfigs\":[{\"Attribute\":\"VALUE\"}]}}"

static void test_policy(void **state)
{
    (void)state;
    struct esm_policy none = {0};
    policy_refuses(",\"Kesm\":{\"Transport\":\"exec\",\"Command\":[\"id\"]}", &none,
                   "Kesm.Transport", "--allow-api-exec");
    policy_refuses(",\"Kesm\":{\"Transport\":\"http\",\"Url\":\"http://x/y\"}", &none,
                   "Kesm.Transport", "--allow-api-http");
    policy_refuses(",\"Kesm\":{\"Url\":\"http://x/y\"}", &none, "Kesm.Url", "--allow-api-http");
    policy_refuses(",\"Kesm\":{\"Tls\":false,\"SaslAllowPlaintext\":true},"
                   "\"SourceAccessConfigurations\":[{\"Type\":\"BASIC_AUTH\",\"URI\":\"s\"}]",
                   &none, "Kesm.SaslAllowPlaintext", "--allow-api-plaintext-sasl");
    policy_refuses(",\"Kesm\":{\"TlsInsecureSkipVerify\":true}", &none,
                   "Kesm.TlsInsecureSkipVerify", "--allow-api-insecure-tls");
    policy_refuses(",\"SourceAccessConfigurations\":[{\"Type\":\"BASIC_AUTH\",\"URI\":"
                   "\"file:///etc/shadow\"}]",
                   &none, "SourceAccessConfigurations[0].URI", "--allow-api-file-secrets");
    policy_refuses(",\"DestinationConfig\":{\"OnFailure\":{\"Destination\":\"file:///tmp/x\"}}",
                   &none, "DestinationConfig.OnFailure.Destination",
                   "--allow-api-file-destinations");
    char extra[600];
    snprintf(extra, sizeof extra, REG, "http://registry.example:8081", "RegistrySecret");
    policy_refuses(extra, &none,
                   "SelfManagedKafkaEventSourceConfig.SchemaRegistryConfig.SchemaRegistryURI",
                   "--allow-api-plaintext-sasl");
    snprintf(extra, sizeof extra, REG, "https://registry.example:8081", "file:///etc/kesm/reg");
    policy_refuses(extra, &none,
                   "SelfManagedKafkaEventSourceConfig.SchemaRegistryConfig.AccessConfigs[0].URI",
                   "--allow-api-file-secrets");
    struct esm_policy all = {true, true, true, true, true, true};
    policy_refuses(",\"Kesm\":{\"SecretsDir\":\"/etc/kesm\"}", &all, "Kesm.SecretsDir",
                   "applies to kesm run only");
    // With the flags, the same requests pass; the plain Lambda shape always does.
    struct esm_config c;
    struct esm_cfg_err err;
    char why[2400];
    assert_true(parse(&c, ",\"Kesm\":{\"Transport\":\"exec\",\"Command\":[\"id\"]}", &err));
    assert_true(esm_policy_check(&c, &all, why, sizeof why));
    esm_config_cleanup(&c);
    assert_true(parse(&c, "", &err));
    assert_true(esm_policy_check(&c, &none, why, sizeof why));
    esm_config_cleanup(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_guard),  cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_host_rules),  cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_query),       cmocka_unit_test(test_opaque_shapes),
        cmocka_unit_test(test_arn_regions), cmocka_unit_test(test_policy),
    };
    return cmocka_run_group_tests_name("esm_api_guard", tests, NULL, NULL);
}
