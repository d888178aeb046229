// test_esm_config.c: CreateEventSourceMapping / UpdateEventSourceMapping validation, the exact
// error messages, and the EventSourceMappingConfiguration response shape.
#include "esm/config.h"
#include "tests/lib/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct esm_parse_opts OPTS = {1764000000.0, "us-east-1", "123456789012"};

// A minimal valid request; tests add or replace members.
#define BASE                                                                                       \
    "\"FunctionName\":\"f\",\"Topics\":[\"orders\"],"                                              \
    "\"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b1:9092\"]}}"

static bool parse(struct esm_config *c, const char *json, struct esm_cfg_err *err)
{
    return esm_config_parse_text(c, json, strlen(json), &OPTS, err);
}

static void expect_error(const char *json, const char *message)
{
    struct esm_config c;
    struct esm_cfg_err err;
    bool ok = parse(&c, json, &err);
    if (ok || strcmp(err.message, message) != 0) {
        fprintf(stderr, "input:    %s\nexpected: %s\ngot:      %s\n", json, message,
                ok ? "(accepted)" : err.message);
    }
    assert_false(ok);
    assert_string_equal(err.message, message);
    assert_null(c.request);
}

static void expect_ok(struct esm_config *c, const char *json)
{
    struct esm_cfg_err err;
    bool ok = parse(c, json, &err);
    if (!ok) {
        fprintf(stderr, "input: %s\nerror: %s\n", json, err.message);
    }
    assert_true(ok);
}

static void test_seed_example_sasl(void **state)
{
    (void)state;
    // What `aws lambda create-event-source-mapping` sends for the AWS documentation's example.
    const char *req =
        "{\"FunctionName\": \"arn:aws:lambda:us-east-1:01234567890:function:my-kafka-function\", "
        "\"Topics\": [\"AWSKafkaTopic\"], \"SourceAccessConfigurations\": [{\"Type\": "
        "\"SASL_SCRAM_512_AUTH\", \"URI\": "
        "\"arn:aws:secretsmanager:us-east-1:01234567890:secret:MyBrokerSecretName\"}], "
        "\"SelfManagedEventSource\": {\"Endpoints\": {\"KAFKA_BOOTSTRAP_SERVERS\": "
        "[\"abc3.xyz.com:9092\", \"abc2.xyz.com:9092\"]}}}";
    struct esm_config c;
    expect_ok(&c, req);
    assert_string_equal(c.fn.arn,
                        "arn:aws:lambda:us-east-1:01234567890:function:my-kafka-function");
    assert_string_equal(c.fn.region, "us-east-1");
    assert_string_equal(c.fn.account, "01234567890");
    assert_string_equal(c.fn.name, "my-kafka-function");
    assert_null(c.fn.qualifier);
    assert_true(c.fn.given_as_arn);
    assert_string_equal(c.topic, "AWSKafkaTopic");
    assert_int_equal(c.num_bootstrap, 2);
    assert_string_equal(c.bootstrap[1], "abc2.xyz.com:9092");
    assert_int_equal(c.num_sacs, 1);
    assert_int_equal(c.sacs[0].type, ESM_SAC_SASL_SCRAM_512_AUTH);
    assert_string_equal(c.sacs[0].uri,
                        "arn:aws:secretsmanager:us-east-1:01234567890:secret:MyBrokerSecretName");
    // Defaults.
    assert_int_equal(c.batch_size, 100);
    assert_int_equal(c.batching_window_ms, 500);
    assert_false(c.batching_window_given);
    assert_true(c.enabled);
    assert_int_equal(c.starting_position, ESM_START_TRIM_HORIZON);
    assert_false(c.starting_position_given);
    assert_null(c.consumer_group_id);
    assert_int_equal(c.max_retry_attempts, -1);
    assert_int_equal(c.max_record_age_s, -1);
    assert_int_equal(c.dest_kind, ESM_DEST_NONE);
    assert_int_equal(c.kesm.transport, ESM_TRANSPORT_LAMBDA);
    assert_int_equal(c.kesm.invoke_timeout_ms, 840000);
    assert_int_equal(c.kesm.tls, -1);
    esm_config_cleanup(&c);
}

static void test_seed_example_vpc_echoed_exactly(void **state)
{
    (void)state;
    const char *sacs =
        "[{\"Type\":\"VPC_SUBNET\",\"URI\":\"subnet:subnet-0011001100\"},"
        "{\"Type\":\"VPC_SUBNET\",\"URI\":\"subnet:subnet-0022002200\"},"
        "{\"Type\":\"VPC_SECURITY_GROUP\",\"URI\":\"security_group:sg-0123456789\"}]";
    char req[1024];
    snprintf(req, sizeof req, "{" BASE ",\"SourceAccessConfigurations\":%s}", sacs);
    struct esm_config c;
    expect_ok(&c, req);
    assert_int_equal(c.num_sacs, 3);
    assert_int_equal(c.sacs[2].type, ESM_SAC_VPC_SECURITY_GROUP);
    struct esm_config_meta meta = {"6f1c2a9e-1111-4222-8333-444455556666", "Creating",
                                   "USER_INITIATED", "No records processed", 1764000000.5};
    cJSON *resp = esm_config_to_response(&c, &meta);
    char *got = cJSON_PrintUnformatted(cJSON_GetObjectItem(resp, "SourceAccessConfigurations"));
    assert_string_equal(got, sacs);
    free(got);
    cJSON_Delete(resp);
    esm_config_cleanup(&c);
}

static void test_function_names(void **state)
{
    (void)state;
    static const struct {
        const char *given, *arn, *qualifier;
    } ok[] = {
        {"f", "arn:aws:lambda:us-east-1:123456789012:function:f", NULL},
        {"my-func_1:prod", "arn:aws:lambda:us-east-1:123456789012:function:my-func_1:prod", "prod"},
        {"210987654321:function:g", "arn:aws:lambda:us-east-1:210987654321:function:g", NULL},
        {"210987654321:function:g:7", "arn:aws:lambda:us-east-1:210987654321:function:g:7", "7"},
        {"arn:aws:lambda:eu-west-1:111122223333:function:h:$LATEST",
         "arn:aws:lambda:eu-west-1:111122223333:function:h:$LATEST", "$LATEST"},
        {"arn:aws-cn:lambda:cn-north-1:111122223333:function:h",
         "arn:aws-cn:lambda:cn-north-1:111122223333:function:h", NULL},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct esm_function_ref ref;
        char why[256];
        assert_true(esm_function_ref_parse(&ref, ok[i].given, &OPTS, why, sizeof why));
        assert_string_equal(ref.arn, ok[i].arn);
        if (ok[i].qualifier) {
            assert_string_equal(ref.qualifier, ok[i].qualifier);
        } else {
            assert_null(ref.qualifier);
        }
        esm_function_ref_cleanup(&ref);
    }
    expect_error("{\"FunctionName\":\"bad name!\",\"Topics\":[\"t\"],\"SelfManagedEventSource\":{"
                 "\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b:1\"]}}}",
                 "1 validation error detected: Value 'bad name!' at 'FunctionName' failed to "
                 "satisfy constraint: The function name must be 1-64 characters of letters, "
                 "digits, '-' and '_'");
    expect_error(
        "{\"FunctionName\":\"arn:aws:s3:::bucket\",\"Topics\":[\"t\"],"
        "\"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b:1\"]}}}",
        "1 validation error detected: Value 'arn:aws:s3:::bucket' at 'FunctionName' "
        "failed to satisfy constraint: Member must be a function name, name:qualifier, "
        "<account>:function:<name>[:qualifier] or "
        "arn:aws:lambda:<region>:<account>:function:<name>[:qualifier]");
    expect_error(
        "{\"FunctionName\":\"1234567890123:function:f\",\"Topics\":[\"t\"],"
        "\"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"b:1\"]}}}",
        "1 validation error detected: Value '1234567890123:function:f' at 'FunctionName' "
        "failed to satisfy constraint: The account id must be 1-12 digits");
    expect_error("{\"Topics\":[\"t\"],\"SelfManagedEventSource\":{\"Endpoints\":{"
                 "\"KAFKA_BOOTSTRAP_SERVERS\":[\"b:1\"]}}}",
                 "1 validation error detected: Value null at 'FunctionName' failed to satisfy "
                 "constraint: Member must not be null");
}

static void test_batch_size_and_window(void **state)
{
    (void)state;
    expect_error("{" BASE ",\"BatchSize\":0}",
                 "1 validation error detected: Value '0' at 'BatchSize' failed to satisfy "
                 "constraint: Member must be an integer between 1 and 10000");
    expect_error("{" BASE ",\"BatchSize\":10001}",
                 "1 validation error detected: Value '10001' at 'BatchSize' failed to satisfy "
                 "constraint: Member must be an integer between 1 and 10000");
    expect_error("{" BASE ",\"BatchSize\":1.5}",
                 "1 validation error detected: Value '1.5' at 'BatchSize' failed to satisfy "
                 "constraint: Member must be an integer between 1 and 10000");
    expect_error("{" BASE ",\"BatchSize\":\"10\"}",
                 "1 validation error detected: Value '10' at 'BatchSize' failed to satisfy "
                 "constraint: Member must be an integer between 1 and 10000");
    expect_error("{" BASE ",\"MaximumBatchingWindowInSeconds\":301}",
                 "1 validation error detected: Value '301' at 'MaximumBatchingWindowInSeconds' "
                 "failed to satisfy constraint: Member must be an integer between 0 and 300");
    expect_error("{" BASE ",\"Enabled\":\"yes\"}",
                 "1 validation error detected: Value 'yes' at 'Enabled' failed to satisfy "
                 "constraint: Member must be a boolean (true or false)");
    struct esm_config c;
    expect_ok(&c, "{" BASE ",\"BatchSize\":10000,\"MaximumBatchingWindowInSeconds\":0,"
                  "\"Enabled\":false}");
    assert_int_equal(c.batch_size, 10000);
    assert_int_equal(c.batching_window_ms, 0);
    assert_true(c.batching_window_given);
    assert_false(c.enabled);
    esm_config_cleanup(&c);
    expect_ok(&c, "{" BASE ",\"MaximumBatchingWindowInSeconds\":300,\"BatchSize\":null}");
    assert_int_equal(c.batching_window_ms, 300000);
    assert_int_equal(c.batch_size, 100);
    esm_config_cleanup(&c);
}

static void test_topics(void **state)
{
    (void)state;
    const char *src = ",\"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":["
                      "\"b:1\"]}}}";
    char req[512];
    snprintf(req, sizeof req, "{\"FunctionName\":\"f\",\"Topics\":[]%s", src);
    expect_error(req, "1 validation error detected: Value '[]' at 'Topics' failed to satisfy "
                      "constraint: Member must be a list of exactly 1 topic name");
    snprintf(req, sizeof req, "{\"FunctionName\":\"f\",\"Topics\":[\"a\",\"b\"]%s", src);
    expect_error(req, "1 validation error detected: Value '[\"a\",\"b\"]' at 'Topics' failed to "
                      "satisfy constraint: Member must be a list of exactly 1 topic name");
    snprintf(req, sizeof req, "{\"FunctionName\":\"f\",\"Topics\":[\".hidden\"]%s", src);
    expect_error(req, "1 validation error detected: Value '.hidden' at 'Topics[0]' failed to "
                      "satisfy constraint: Member must satisfy regular expression pattern: "
                      "[^.]([a-zA-Z0-9\\-_.]+)");
    snprintf(req, sizeof req, "{\"FunctionName\":\"f\",\"Topics\":[\"or ders\"]%s", src);
    expect_error(req, "1 validation error detected: Value 'or ders' at 'Topics[0]' failed to "
                      "satisfy constraint: Member must satisfy regular expression pattern: "
                      "[^.]([a-zA-Z0-9\\-_.]+)");
    snprintf(req, sizeof req, "{\"FunctionName\":\"f\"%s", src);
    expect_error(req, "1 validation error detected: Value null at 'Topics' failed to satisfy "
                      "constraint: Member must not be null (give exactly one topic)");
}

static void test_starting_position(void **state)
{
    (void)state;
    expect_error("{" BASE ",\"StartingPosition\":\"EARLIEST\"}",
                 "1 validation error detected: Value 'EARLIEST' at 'StartingPosition' failed to "
                 "satisfy constraint: Member must satisfy enum value set: [TRIM_HORIZON, LATEST, "
                 "AT_TIMESTAMP]");
    expect_error("{" BASE ",\"StartingPosition\":\"AT_TIMESTAMP\"}",
                 "1 validation error detected: Value null at 'StartingPositionTimestamp' failed "
                 "to satisfy constraint: Member is required when StartingPosition is AT_TIMESTAMP "
                 "(epoch seconds)");
    expect_error("{" BASE ",\"StartingPosition\":\"AT_TIMESTAMP\","
                 "\"StartingPositionTimestamp\":1764000001}",
                 "1 validation error detected: Value '1764000001' at 'StartingPositionTimestamp' "
                 "failed to satisfy constraint: Member must not be in the future");
    expect_error("{" BASE ",\"StartingPosition\":\"LATEST\",\"StartingPositionTimestamp\":5}",
                 "1 validation error detected: Value '5' at 'StartingPositionTimestamp' failed to "
                 "satisfy constraint: Member is only allowed when StartingPosition is "
                 "AT_TIMESTAMP");
    struct esm_config c;
    expect_ok(&c, "{" BASE ",\"StartingPosition\":\"AT_TIMESTAMP\","
                  "\"StartingPositionTimestamp\":1700000000.25}");
    assert_int_equal(c.starting_position, ESM_START_AT_TIMESTAMP);
    assert_true(c.starting_position_timestamp == 1700000000.25);
    esm_config_cleanup(&c);
    expect_ok(&c, "{" BASE ",\"StartingPosition\":\"LATEST\"}");
    assert_int_equal(c.starting_position, ESM_START_LATEST);
    assert_true(c.starting_position_given);
    esm_config_cleanup(&c);
}

static void test_bootstrap_servers(void **state)
{
    (void)state;
    const char *head = "{\"FunctionName\":\"f\",\"Topics\":[\"t\"],\"SelfManagedEventSource\":";
    char req[1024];
    snprintf(req, sizeof req, "%s{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"host\"]}}}", head);
    expect_error(req, "1 validation error detected: Value 'host' at "
                      "'SelfManagedEventSource.Endpoints.KAFKA_BOOTSTRAP_SERVERS[0]' failed to "
                      "satisfy constraint: Member must be host:port (DNS name or IPv4 address, or "
                      "[IPv6], and a port 1-65535)");
    snprintf(req, sizeof req,
             "%s{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"ok:1\",\"h:70000\",\"-x.com:1\","
             "\"a..b:1\"]}}}",
             head);
    expect_error(req, "3 validation errors detected: Value 'h:70000' at "
                      "'SelfManagedEventSource.Endpoints.KAFKA_BOOTSTRAP_SERVERS[1]' failed to "
                      "satisfy constraint: Member must be host:port (DNS name or IPv4 address, or "
                      "[IPv6], and a port 1-65535); Value '-x.com:1' at "
                      "'SelfManagedEventSource.Endpoints.KAFKA_BOOTSTRAP_SERVERS[2]' failed to "
                      "satisfy constraint: Member must be host:port (DNS name or IPv4 address, or "
                      "[IPv6], and a port 1-65535); Value 'a..b:1' at "
                      "'SelfManagedEventSource.Endpoints.KAFKA_BOOTSTRAP_SERVERS[3]' failed to "
                      "satisfy constraint: Member must be host:port (DNS name or IPv4 address, or "
                      "[IPv6], and a port 1-65535)");
    snprintf(req, sizeof req,
             "%s{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"a:1\",\"a:2\",\"a:3\",\"a:4\","
             "\"a:5\",\"a:6\",\"a:7\",\"a:8\",\"a:9\",\"a:10\",\"a:11\"]}}}",
             head);
    expect_error(req, "1 validation error detected: Value "
                      "'[\"a:1\",\"a:2\",\"a:3\",\"a:4\",\"a:5\",\"a:6\",\"a:7\",\"a:8\",\"a:9\","
                      "\"a:10\",\"a:11\"]' at "
                      "'SelfManagedEventSource.Endpoints.KAFKA_BOOTSTRAP_SERVERS' failed to "
                      "satisfy constraint: Member must be a list of 1 to 10 host:port strings");
    snprintf(req, sizeof req,
             "%s{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"a:1\"],\"OTHER\":[]}}}", head);
    expect_error(req, "1 validation error detected: Value '[]' at "
                      "'SelfManagedEventSource.Endpoints.OTHER' failed to satisfy constraint: The "
                      "only valid key is KAFKA_BOOTSTRAP_SERVERS");
    expect_error("{\"FunctionName\":\"f\",\"Topics\":[\"t\"]}",
                 "1 validation error detected: Value null at 'SelfManagedEventSource' failed to "
                 "satisfy constraint: Member must not be null: kesm needs "
                 "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"host:port\", ...]}}");
    struct esm_config c;
    snprintf(req, sizeof req,
             "%s{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"[::1]:9092\",\"10.0.0.1:65535\","
             "\"b-1.kafka.example-x.com:9096\"]}}}",
             head);
    expect_ok(&c, req);
    assert_int_equal(c.num_bootstrap, 3);
    esm_config_cleanup(&c);
}

static void test_source_access_configurations(void **state)
{
    (void)state;
    expect_error("{" BASE ",\"SourceAccessConfigurations\":[{\"Type\":\"VIRTUAL_HOST\","
                 "\"URI\":\"/\"}]}",
                 "1 validation error detected: Value 'VIRTUAL_HOST' at "
                 "'SourceAccessConfigurations[0].Type' failed to satisfy constraint: VIRTUAL_HOST "
                 "applies to RabbitMQ brokers, not to Kafka");
    expect_error("{" BASE ",\"SourceAccessConfigurations\":[{\"Type\":\"SASL_PLAIN\","
                 "\"URI\":\"x\"}]}",
                 "1 validation error detected: Value 'SASL_PLAIN' at "
                 "'SourceAccessConfigurations[0].Type' failed to satisfy constraint: Member must "
                 "satisfy enum value set: [BASIC_AUTH, SASL_SCRAM_256_AUTH, SASL_SCRAM_512_AUTH, "
                 "CLIENT_CERTIFICATE_TLS_AUTH, SERVER_ROOT_CA_CERTIFICATE, VPC_SUBNET, "
                 "VPC_SECURITY_GROUP]");
    expect_error("{" BASE ",\"SourceAccessConfigurations\":[{\"Type\":\"BASIC_AUTH\","
                 "\"URI\":\"a\"},{\"Type\":\"SASL_SCRAM_256_AUTH\",\"URI\":\"b\"}]}",
                 "1 validation error detected: Value "
                 "'[{\"Type\":\"BASIC_AUTH\",\"URI\":\"a\"},{\"Type\":\"SASL_SCRAM_256_AUTH\","
                 "\"URI\":\"b\"}]' at 'SourceAccessConfigurations' failed to satisfy constraint: "
                 "At most one authentication entry is allowed (BASIC_AUTH, SASL_SCRAM_256_AUTH, "
                 "SASL_SCRAM_512_AUTH or CLIENT_CERTIFICATE_TLS_AUTH)");
    expect_error("{" BASE ",\"SourceAccessConfigurations\":[{\"Type\":\"BASIC_AUTH\","
                 "\"URI\":\"bad#uri\"}]}",
                 "1 validation error detected: Value 'bad#uri' at "
                 "'SourceAccessConfigurations[0].URI' failed to satisfy constraint: Member must "
                 "satisfy regular expression pattern: [ a-zA-Z0-9-\\/*:_+=.@-]*");
    expect_error("{" BASE ",\"SourceAccessConfigurations\":[{\"Type\":\"BASIC_AUTH\"}]}",
                 "1 validation error detected: Value null at 'SourceAccessConfigurations[0].URI' "
                 "failed to satisfy constraint: Member must be a string");
    struct esm_config c;
    expect_ok(&c, "{" BASE ",\"SourceAccessConfigurations\":[{\"Type\":\"CLIENT_CERTIFICATE_TLS_"
                  "AUTH\",\"URI\":\"arn:aws:secretsmanager:us-east-1:1:secret:cert\"},{\"Type\":"
                  "\"SERVER_ROOT_CA_CERTIFICATE\",\"URI\":\"arn:aws:secretsmanager:us-east-1:1:"
                  "secret:ca\"}]}");
    assert_int_equal(c.num_sacs, 2);
    assert_int_equal(c.sacs[1].type, ESM_SAC_SERVER_ROOT_CA_CERTIFICATE);
    esm_config_cleanup(&c);
}

static void test_consumer_group(void **state)
{
    (void)state;
    expect_error("{" BASE ",\"SelfManagedKafkaEventSourceConfig\":{\"ConsumerGroupId\":\"\"}}",
                 "1 validation error detected: Value '' at "
                 "'SelfManagedKafkaEventSourceConfig.ConsumerGroupId' failed to satisfy "
                 "constraint: Member must have length between 1 and 200");
    expect_error("{" BASE ",\"SelfManagedKafkaEventSourceConfig\":{\"ConsumerGroupId\":\"g#1\"}}",
                 "1 validation error detected: Value 'g#1' at "
                 "'SelfManagedKafkaEventSourceConfig.ConsumerGroupId' failed to satisfy "
                 "constraint: Member must satisfy regular expression pattern: "
                 "[a-zA-Z0-9-\\/*:_+=.@-]*");
    expect_error("{" BASE ",\"SelfManagedKafkaEventSourceConfig\":{\"ConsumptionMode\":\"Queue\"}}",
                 "1 validation error detected: Value 'Queue' at "
                 "'SelfManagedKafkaEventSourceConfig.ConsumptionMode' failed to satisfy "
                 "constraint: Queue mode (Kafka share groups, KIP-932) is not supported by kesm: "
                 "use Stream (consumer groups, order kept per partition)");
    expect_error("{" BASE ",\"SelfManagedKafkaEventSourceConfig\":{\"Mode\":\"Stream\"}}",
                 "1 validation error detected: Value 'Stream' at "
                 "'SelfManagedKafkaEventSourceConfig.Mode' failed to satisfy constraint: The "
                 "supported members are ConsumerGroupId, ConsumptionMode and SchemaRegistryConfig");
    struct esm_config c;
    expect_ok(&c, "{" BASE ",\"SelfManagedKafkaEventSourceConfig\":{\"ConsumerGroupId\":"
                  "\"lambda-orders/v1@x\"}}");
    assert_string_equal(c.consumer_group_id, "lambda-orders/v1@x");
    esm_config_cleanup(&c);
}

#define SR_PREFIX "{" BASE ",\"SelfManagedKafkaEventSourceConfig\":{\"SchemaRegistryConfig\":"
#define SR_FIELD "'SelfManagedKafkaEventSourceConfig.SchemaRegistryConfig"

static void test_schema_registry_confluent(void **state)
{
    (void)state;
    struct esm_config c;
    expect_ok(&c, SR_PREFIX "{\"SchemaRegistryURI\":\"https://psrc-1.us-east-2.aws.confluent.cloud"
                            "\",\"EventRecordFormat\":\"JSON\",\"AccessConfigs\":[{\"Type\":"
                            "\"BASIC_AUTH\",\"URI\":\"arn:aws:secretsmanager:us-east-1:123456789012"
                            ":secret:sr\"},{\"Type\":\"SERVER_ROOT_CA_CERTIFICATE\",\"URI\":\"file:"
                            "///etc/kesm/ca.json\"}],\"SchemaValidationConfigs\":[{\"Attribute\":"
                            "\"VALUE\"},{\"Attribute\":\"KEY\"}]}}}");
    assert_int_equal(c.registry.kind, ESM_SR_CONFLUENT);
    assert_string_equal(c.registry.uri, "https://psrc-1.us-east-2.aws.confluent.cloud");
    assert_int_equal(c.registry.format, ESM_SR_FORMAT_JSON);
    assert_int_equal(c.registry.num_access, 2);
    assert_int_equal(c.registry.access[0].type, ESM_SR_BASIC_AUTH);
    assert_string_equal(c.registry.access[1].uri, "file:///etc/kesm/ca.json");
    assert_true(c.registry.key && c.registry.value);
    // echoed exactly under SelfManagedKafkaEventSourceConfig, next to the ConsumerGroupId
    struct esm_config_meta meta = {"uuid-1", "Enabled", "USER_INITIATED", "OK", 1.0};
    cJSON *resp = esm_config_to_response(&c, &meta);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(resp, "SelfManagedKafkaEventSourceConfig");
    const cJSON *sr = cJSON_GetObjectItemCaseSensitive(g, "SchemaRegistryConfig");
    const cJSON *given = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(c.request, "SelfManagedKafkaEventSourceConfig"),
        "SchemaRegistryConfig");
    assert_true(cJSON_Compare(sr, given, true));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(g, "ConsumerGroupId")->valuestring,
                        "uuid-1");
    cJSON_Delete(resp);
    esm_config_cleanup(&c);

    expect_ok(&c, SR_PREFIX "{\"SchemaRegistryURI\":\"http://127.0.0.1:8081/prefix\","
                            "\"EventRecordFormat\":\"SOURCE\",\"SchemaValidationConfigs\":[{"
                            "\"Attribute\":\"KEY\"}]}}}");
    assert_int_equal(c.registry.format, ESM_SR_FORMAT_SOURCE);
    assert_true(c.registry.key && !c.registry.value);
    assert_int_equal(c.registry.num_access, 0);
    esm_config_cleanup(&c);
}

static void test_schema_registry_glue(void **state)
{
    (void)state;
    struct esm_config c;
    expect_ok(&c,
              SR_PREFIX "{\"SchemaRegistryURI\":\"arn:aws:glue:eu-west-1:123456789012:registry"
                        "/orders-reg\",\"EventRecordFormat\":\"SOURCE\",\"SchemaValidationConfigs"
                        "\":[{\"Attribute\":\"VALUE\"}]}}}");
    assert_int_equal(c.registry.kind, ESM_SR_GLUE);
    assert_string_equal(c.registry.glue_region, "eu-west-1");
    assert_string_equal(c.registry.glue_registry, "orders-reg");
    esm_config_cleanup(&c);
    expect_error(SR_PREFIX
                 "{\"SchemaRegistryURI\":\"arn:aws:glue:eu-west-1:123456789012:registry/r"
                 "\",\"EventRecordFormat\":\"JSON\",\"AccessConfigs\":[{\"Type\":\"BASIC_"
                 "AUTH\",\"URI\":\"s\"}],\"SchemaValidationConfigs\":[{\"Attribute\":\"KEY"
                 "\"}]}}}",
                 "1 validation error detected: Value '[{\"Type\":\"BASIC_AUTH\",\"URI\":\"s\"}]' "
                 "at " SR_FIELD ".AccessConfigs' failed to satisfy constraint: A Glue schema "
                 "registry takes no AccessConfigs: its access comes from the AWS credentials (the "
                 "execution role at AWS)");
    expect_error(SR_PREFIX "{\"SchemaRegistryURI\":\"arn:aws:kafka:eu-west-1:123456789012:cluster/"
                           "x\",\"EventRecordFormat\":\"JSON\",\"SchemaValidationConfigs\":[{"
                           "\"Attribute\":\"KEY\"}]}}}",
                 "1 validation error detected: Value 'arn:aws:kafka:eu-west-1:123456789012:"
                 "cluster/x' at " SR_FIELD ".SchemaRegistryURI' failed to satisfy constraint: An "
                 "ARN must name a Glue registry: arn:aws:glue:<region>:<account>:registry/<name>");
}

static void test_schema_registry_errors(void **state)
{
    (void)state;
    expect_error(SR_PREFIX "{}}}",
                 "3 validation errors detected: Value null at " SR_FIELD
                 ".SchemaRegistryURI' failed to satisfy constraint: Member must not be null (a "
                 "Confluent Schema Registry URL or a Glue registry ARN); Value null at " SR_FIELD
                 ".EventRecordFormat' failed to satisfy constraint: Member must satisfy enum value "
                 "set: [JSON, SOURCE]; Value null at " SR_FIELD
                 ".SchemaValidationConfigs' failed to satisfy constraint: Member must be a list of "
                 "1 or 2 {\"Attribute\": \"KEY\" | \"VALUE\"} objects");
    expect_error(
        SR_PREFIX "{\"SchemaRegistryURI\":\"ftp://sr:21\",\"EventRecordFormat\":\"XML\","
                  "\"SchemaValidationConfigs\":[{\"Attribute\":\"BOTH\"}],\"Extra\":1}}}",
        "4 validation errors detected: Value '1' at " SR_FIELD
        ".Extra' failed to satisfy constraint: Member is not a known "
        "KafkaSchemaRegistryConfig member; Value 'ftp://sr:21' at " SR_FIELD
        ".SchemaRegistryURI' failed to satisfy constraint: Member must be an http:// or "
        "https:// URL (Confluent Schema Registry) or a Glue registry ARN; Value 'XML' at " SR_FIELD
        ".EventRecordFormat' failed to satisfy constraint: Member must satisfy "
        "enum value set: [JSON, SOURCE]; Value 'BOTH' at " SR_FIELD
        ".SchemaValidationConfigs[0].Attribute' failed to satisfy constraint: Member must "
        "satisfy enum value set: [KEY, VALUE]");
    expect_error(SR_PREFIX
                 "{\"SchemaRegistryURI\":\"http://sr?x=1\",\"EventRecordFormat\":\"JSON\","
                 "\"SchemaValidationConfigs\":[{\"Attribute\":\"KEY\"},{\"Attribute\":"
                 "\"KEY\"}]}}}",
                 "2 validation errors detected: Value 'http://sr?x=1' at " SR_FIELD
                 ".SchemaRegistryURI' failed to satisfy constraint: Member must satisfy regular "
                 "expression pattern: [a-zA-Z0-9-\\/*:_+=.@-]*; Value 'KEY' at " SR_FIELD
                 ".SchemaValidationConfigs[1].Attribute' failed to satisfy constraint: Each "
                 "attribute may be listed once");
    expect_error(SR_PREFIX "{\"SchemaRegistryURI\":\"http://sr\",\"EventRecordFormat\":\"JSON\","
                           "\"AccessConfigs\":[{\"Type\":\"BASIC_AUTH\",\"URI\":\"a\"},{\"Type\":"
                           "\"CLIENT_CERTIFICATE_TLS_AUTH\",\"URI\":\"b\"}],"
                           "\"SchemaValidationConfigs\":[{\"Attribute\":\"VALUE\"}]}}}",
                 "1 validation error detected: Value '[{\"Type\":\"BASIC_AUTH\",\"URI\":\"a\"},"
                 "{\"Type\":\"CLIENT_CERTIFICATE_TLS_AUTH\",\"URI\":\"b\"}]' at " SR_FIELD
                 ".AccessConfigs' failed to satisfy constraint: At most one authentication entry "
                 "(BASIC_AUTH or CLIENT_CERTIFICATE_TLS_AUTH) and one SERVER_ROOT_CA_CERTIFICATE "
                 "are allowed");
    expect_error(
        SR_PREFIX "{\"SchemaRegistryURI\":\"http://sr\",\"EventRecordFormat\":\"JSON\","
                  "\"AccessConfigs\":[{\"Type\":\"SASL_SCRAM_512_AUTH\",\"URI\":\"a\"},"
                  "{\"Type\":\"BASIC_AUTH\",\"URI\":\"x#y\"},{\"Type\":\"BASIC_AUTH\"}],"
                  "\"SchemaValidationConfigs\":[{\"Attribute\":\"VALUE\"}]}}}",
        "1 validation error detected: Value '[{\"Type\":\"SASL_SCRAM_512_AUTH\",\"URI\":"
        "\"a\"},{\"Type\":\"BASIC_AUTH\",\"URI\":\"x#y\"},{\"Type\":\"BASIC_AUTH\"}]' at " SR_FIELD
        ".AccessConfigs' failed to satisfy constraint: Member must be a list of 0 "
        "to 2 {\"Type\",\"URI\"} objects");
    expect_error(SR_PREFIX "{\"SchemaRegistryURI\":\"http://sr\",\"EventRecordFormat\":\"JSON\","
                           "\"AccessConfigs\":[{\"Type\":\"SASL_SCRAM_512_AUTH\",\"URI\":\"a\"},"
                           "{\"Type\":\"BASIC_AUTH\",\"URI\":\"x#y\"}],"
                           "\"SchemaValidationConfigs\":[{\"Attribute\":\"VALUE\"}]}}}",
                 "2 validation errors detected: Value 'SASL_SCRAM_512_AUTH' at " SR_FIELD
                 ".AccessConfigs[0].Type' failed to satisfy constraint: Member must satisfy enum "
                 "value set: [BASIC_AUTH, CLIENT_CERTIFICATE_TLS_AUTH, "
                 "SERVER_ROOT_CA_CERTIFICATE]; Value 'x#y' at " SR_FIELD
                 ".AccessConfigs[1].URI' failed to satisfy constraint: Member must be a Secrets "
                 "Manager secret ARN (or name, or kesm's file:///path)");
    expect_error(SR_PREFIX "\"http://sr\"}}",
                 "1 validation error detected: Value 'http://sr' at " SR_FIELD
                 "' failed to satisfy constraint: Member must be an object {\"SchemaRegistryURI\", "
                 "\"EventRecordFormat\", \"AccessConfigs\", \"SchemaValidationConfigs\"}");
}

static void test_schema_registry_update(void **state)
{
    (void)state;
    struct esm_config cur, next;
    struct esm_cfg_err err;
    expect_ok(&cur,
              "{" BASE ",\"SelfManagedKafkaEventSourceConfig\":{\"ConsumerGroupId\":\"g1\"}}");
    assert_int_equal(cur.registry.kind, ESM_SR_NONE);
    cJSON *u = cJSON_Parse("{\"SelfManagedKafkaEventSourceConfig\":{\"SchemaRegistryConfig\":{"
                           "\"SchemaRegistryURI\":\"http://127.0.0.1:8081\",\"EventRecordFormat\":"
                           "\"SOURCE\",\"SchemaValidationConfigs\":[{\"Attribute\":\"VALUE\"}]}}}");
    assert_true(esm_config_merge_update(&next, &cur, u, &OPTS, &err));
    assert_string_equal(next.consumer_group_id, "g1"); // kept: the object's members overlay
    assert_int_equal(next.registry.kind, ESM_SR_CONFLUENT);
    cJSON_Delete(u);
    // null removes the registry again
    u = cJSON_Parse("{\"SelfManagedKafkaEventSourceConfig\":{\"SchemaRegistryConfig\":null}}");
    struct esm_config after;
    assert_true(esm_config_merge_update(&after, &next, u, &OPTS, &err));
    assert_int_equal(after.registry.kind, ESM_SR_NONE);
    assert_string_equal(after.consumer_group_id, "g1");
    cJSON_Delete(u);
    esm_config_cleanup(&after);
    esm_config_cleanup(&next);
    esm_config_cleanup(&cur);
}

static void test_destination(void **state)
{
    (void)state;
    static const struct {
        const char *dest;
        enum esm_dest_kind kind;
    } ok[] = {
        {"", ESM_DEST_NONE},
        {"kafka://orders-failed", ESM_DEST_KAFKA},
        {"arn:aws:sqs:us-east-1:123456789012:dlq", ESM_DEST_ARN},
        {"file:///var/lib/kesm/failed", ESM_DEST_DIR},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char req[512];
        snprintf(req, sizeof req,
                 "{" BASE ",\"DestinationConfig\":{\"OnFailure\":{"
                 "\"Destination\":\"%s\"}}}",
                 ok[i].dest);
        struct esm_config c;
        expect_ok(&c, req);
        assert_int_equal(c.dest_kind, ok[i].kind);
        esm_config_cleanup(&c);
    }
    expect_error("{" BASE ",\"DestinationConfig\":{\"OnFailure\":{\"Destination\":"
                 "\"kafka://orders\"}}}",
                 "1 validation error detected: Value 'kafka://orders' at "
                 "'DestinationConfig.OnFailure.Destination' failed to satisfy constraint: The "
                 "failure topic must differ from the source topic");
    expect_error("{" BASE ",\"DestinationConfig\":{\"OnFailure\":{\"Destination\":"
                 "\"file://relative\"}}}",
                 "1 validation error detected: Value 'file://relative' at "
                 "'DestinationConfig.OnFailure.Destination' failed to satisfy constraint: "
                 "file://<dir> needs an absolute directory path (kesm extension)");
    expect_error("{" BASE ",\"DestinationConfig\":{\"OnFailure\":{\"Destination\":"
                 "\"http://x\"}}}",
                 "1 validation error detected: Value 'http://x' at "
                 "'DestinationConfig.OnFailure.Destination' failed to satisfy constraint: Member "
                 "must be \"\", kafka://<topic>, an ARN, or file:///<absolute dir>");
    expect_error("{" BASE ",\"DestinationConfig\":{\"OnSuccess\":{\"Destination\":\"\"}}}",
                 "1 validation error detected: Value '{\"Destination\":\"\"}' at "
                 "'DestinationConfig.OnSuccess' failed to satisfy constraint: Only OnFailure is "
                 "supported for event source mappings");
}

static void test_retry_controls(void **state)
{
    (void)state;
    expect_error("{" BASE ",\"MaximumRetryAttempts\":-2,\"MaximumRecordAgeInSeconds\":59,"
                 "\"BisectBatchOnFunctionError\":1,\"FunctionResponseTypes\":[\"X\"]}",
                 "4 validation errors detected: Value '-2' at 'MaximumRetryAttempts' failed to "
                 "satisfy constraint: Member must be an integer between -1 and 10000; Value '59' "
                 "at 'MaximumRecordAgeInSeconds' failed to satisfy constraint: Member must be -1 "
                 "(infinite) or an integer between 60 and 604800; Value '1' at "
                 "'BisectBatchOnFunctionError' failed to satisfy constraint: Member must be a "
                 "boolean (true or false); Value '[\"X\"]' at 'FunctionResponseTypes' failed to "
                 "satisfy constraint: Member must be [] or [\"ReportBatchItemFailures\"]");
    expect_error("{" BASE ",\"MaximumRecordAgeInSeconds\":604801}",
                 "1 validation error detected: Value '604801' at 'MaximumRecordAgeInSeconds' "
                 "failed to satisfy constraint: Member must be -1 (infinite) or an integer between "
                 "60 and 604800");
    struct esm_config c;
    expect_ok(&c, "{" BASE ",\"MaximumRetryAttempts\":10000,\"MaximumRecordAgeInSeconds\":60,"
                  "\"BisectBatchOnFunctionError\":true,\"FunctionResponseTypes\":["
                  "\"ReportBatchItemFailures\"]}");
    assert_int_equal(c.max_retry_attempts, 10000);
    assert_int_equal(c.max_record_age_s, 60);
    assert_true(c.bisect_on_error);
    assert_true(c.report_batch_item_failures);
    esm_config_cleanup(&c);
}

static void test_filter_criteria(void **state)
{
    (void)state;
    expect_error("{" BASE ",\"FilterCriteria\":{\"Filters\":[{\"Pattern\":\"not json\"}]}}",
                 "1 validation error detected: Value 'not json' at "
                 "'FilterCriteria.Filters[0].Pattern' failed to satisfy constraint: Member must be "
                 "a JSON object (an EventBridge-style pattern)");
    struct esm_config c;
    expect_ok(&c, "{" BASE ",\"FilterCriteria\":{\"Filters\":[{\"Pattern\":"
                  "\"{\\\"value\\\":{\\\"a\\\":[1]}}\"}]}}");
    assert_non_null(c.filter_criteria);
    esm_config_cleanup(&c);
}

static void test_members(void **state)
{
    (void)state;
    expect_error("{" BASE ",\"BatchSzie\":10}",
                 "1 validation error detected: Value '10' at 'BatchSzie' failed to satisfy "
                 "constraint: Member is not a known CreateEventSourceMapping member");
    expect_error("{" BASE ",\"TumblingWindowInSeconds\":2}",
                 "1 validation error detected: Value '2' at 'TumblingWindowInSeconds' failed to "
                 "satisfy constraint: Member does not apply to a Kafka event source");
    expect_error("[1]", "1 validation error detected: Value '[1]' at 'request' failed to satisfy "
                        "constraint: The request body must be a JSON object");
    expect_error("{\"FunctionName\":", "Could not parse request body into json: syntax error at "
                                       "byte 15");
}

#define MSK_ARN "arn:aws:kafka:us-east-1:123456789012:cluster/demo/6f1c2a9e-1111-2222-3333-4444-2"
#define MSK_BASE "\"FunctionName\":\"f\",\"Topics\":[\"orders\"],\"EventSourceArn\":\"" MSK_ARN "\""

static void expect_msk_arn_error(const char *arn, const char *constraint)
{
    char req[1200], want[1600];
    snprintf(req, sizeof req,
             "{\"FunctionName\":\"f\",\"Topics\":[\"t\"],\"EventSourceArn\":\"%s\"}", arn);
    snprintf(want, sizeof want,
             "1 validation error detected: Value '%s' at 'EventSourceArn' failed to satisfy "
             "constraint: %s",
             arn, constraint);
    expect_error(req, want);
}

static void test_msk_source(void **state)
{
    (void)state;
    struct esm_config c;
    expect_ok(&c, "{" MSK_BASE ",\"AmazonManagedKafkaEventSourceConfig\":{\"ConsumerGroupId\":"
                  "\"g-1\"}}");
    assert_string_equal(c.msk.arn, MSK_ARN);
    assert_string_equal(c.msk.region, "us-east-1");
    assert_string_equal(c.msk.cluster, "demo");
    assert_int_equal(c.num_bootstrap, 0);
    assert_string_equal(c.consumer_group_id, "g-1");
    assert_string_equal(c.group_member, "AmazonManagedKafkaEventSourceConfig");
    struct esm_config_meta meta = {"u-1", "Creating", "USER_INITIATED", "No records processed", 1};
    cJSON *resp = esm_config_to_response(&c, &meta);
    char *text = cJSON_PrintUnformatted(resp);
    assert_non_null(strstr(text, "\"EventSourceArn\":\"" MSK_ARN "\""));
    assert_non_null(strstr(text, "\"AmazonManagedKafkaEventSourceConfig\":{\"ConsumerGroupId\":"
                                 "\"g-1\"}"));
    assert_null(strstr(text, "SelfManaged"));
    free(text);
    cJSON_Delete(resp);
    // Update: the ARN is fixed, the group too; the rest is updatable.
    struct esm_config u;
    struct esm_cfg_err err;
    cJSON *upd = cJSON_Parse("{\"EventSourceArn\":\"" MSK_ARN "x\"}");
    assert_false(esm_config_merge_update(&u, &c, upd, &OPTS, &err));
    assert_non_null(strstr(err.message, "'EventSourceArn' failed to satisfy constraint: Member "
                                        "cannot be updated"));
    cJSON_Delete(upd);
    upd = cJSON_Parse("{\"AmazonManagedKafkaEventSourceConfig\":{\"ConsumerGroupId\":\"g-2\"}}");
    assert_false(esm_config_merge_update(&u, &c, upd, &OPTS, &err));
    assert_non_null(strstr(err.message, "'AmazonManagedKafkaEventSourceConfig.ConsumerGroupId'"));
    cJSON_Delete(upd);
    upd = cJSON_Parse("{\"BatchSize\":7}");
    assert_true(esm_config_merge_update(&u, &c, upd, &OPTS, &err));
    assert_string_equal(u.msk.arn, MSK_ARN);
    assert_string_equal(u.consumer_group_id, "g-1");
    esm_config_cleanup(&u);
    cJSON_Delete(upd);
    esm_config_cleanup(&c);
    // A function ARN in the cluster's region; SCRAM-512 and mTLS entries are MSK's too.
    expect_ok(&c, "{\"FunctionName\":\"arn:aws:lambda:eu-west-1:123456789012:function:f\","
                  "\"Topics\":[\"t\"],\"EventSourceArn\":\"arn:aws:kafka:eu-west-1:"
                  "123456789012:cluster/c-2/abc\",\"SourceAccessConfigurations\":[{\"Type\":"
                  "\"SASL_SCRAM_512_AUTH\",\"URI\":\"file:///s\"}]}");
    assert_string_equal(c.msk.region, "eu-west-1");
    esm_config_cleanup(&c);
}

static void test_msk_refused(void **state)
{
    (void)state;
    expect_error(
        "{" BASE ",\"EventSourceArn\":\"" MSK_ARN "\"}",
        "1 validation error detected: Value '{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":"
        "[\"b1:9092\"]}}' at 'SelfManagedEventSource' failed to satisfy constraint: Member "
        "must not be given together with EventSourceArn: a mapping reads either an Amazon "
        "MSK cluster or a self-managed one");
    expect_error(
        "{" BASE ",\"AmazonManagedKafkaEventSourceConfig\":{}}",
        "1 validation error detected: Value '{}' at 'AmazonManagedKafkaEventSourceConfig' "
        "failed to satisfy constraint: Member applies to an Amazon MSK source "
        "(EventSourceArn); a self-managed cluster takes SelfManagedKafkaEventSourceConfig");
    expect_error("{" MSK_BASE ",\"SelfManagedKafkaEventSourceConfig\":{}}",
                 "1 validation error detected: Value '{}' at 'SelfManagedKafkaEventSourceConfig' "
                 "failed to satisfy constraint: Member applies to a self-managed cluster; an "
                 "Amazon MSK source (EventSourceArn) takes AmazonManagedKafkaEventSourceConfig");
    expect_error("{" MSK_BASE ",\"SourceAccessConfigurations\":[{\"Type\":\"BASIC_AUTH\","
                 "\"URI\":\"file:///s\"}]}",
                 "1 validation error detected: Value 'BASIC_AUTH' at "
                 "'SourceAccessConfigurations[0].Type' failed to satisfy constraint: Amazon MSK "
                 "does not support SASL/PLAIN: use SASL_SCRAM_512_AUTH, "
                 "CLIENT_CERTIFICATE_TLS_AUTH or no entry (IAM)");
    expect_error("{" MSK_BASE ",\"AmazonManagedKafkaEventSourceConfig\":{\"ConsumptionMode\":"
                 "\"Stream\"}}",
                 "1 validation error detected: Value 'Stream' at "
                 "'AmazonManagedKafkaEventSourceConfig.ConsumptionMode' failed to satisfy "
                 "constraint: The supported members are ConsumerGroupId and SchemaRegistryConfig");
    const char *other =
        "kesm reads Amazon MSK clusters (arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>) "
        "and self-managed Kafka clusters (SelfManagedEventSource)";
    const char *pattern = "Member must satisfy regular expression pattern: "
                          "arn:(aws[a-zA-Z0-9-]*):kafka:([a-z]{2}(-gov)?-[a-z]+-\\d{1}):(\\d{12}):"
                          "cluster/<name>/<uuid>";
    const char *resource = "An MSK event source must be a cluster ARN (cluster/<name>/<uuid>, the "
                           "name 1-64 letters, digits or '-'); VPC connection ARNs are not "
                           "supported";
    expect_msk_arn_error("arn:aws:sqs:us-east-1:123456789012:q", other);
    expect_msk_arn_error("arn:aws:kafka", other);
    expect_msk_arn_error("arn:aws.evil.com:kafka:us-east-1:123456789012:cluster/c/u", other);
    expect_msk_arn_error("arn:aws:kafka:evil.com#:123456789012:cluster/c/u", pattern);
    expect_msk_arn_error("arn:aws:kafka:us-east-1:12345:cluster/c/u", pattern);
    expect_msk_arn_error("arn:aws:kafka:us-east-1:12345678901x:cluster/c/u", pattern);
    expect_msk_arn_error("arn:aws:kafka:us-east-1:123456789012:vpc-connection/1/c/u", resource);
    expect_msk_arn_error("arn:aws:kafka:us-east-1:123456789012:cluster/c", resource);
    expect_msk_arn_error("arn:aws:kafka:us-east-1:123456789012:cluster/-c/u", resource);
    expect_msk_arn_error("arn:aws:kafka:us-east-1:123456789012:cluster/c/u/../x", resource);
    expect_msk_arn_error("arn:aws:kafka:us-east-1:123456789012:cluster/c%2f/u", resource);
    // The region is the mapping's (kesm serve --region us-east-1 here, bare function name).
    expect_msk_arn_error("arn:aws:kafka:eu-west-1:123456789012:cluster/c/u",
                         "The cluster must be in the mapping's region us-east-1 (Lambda reads MSK "
                         "clusters of its own region only)");
    // Too long.
    char big[1400];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "arn:aws:kafka:us-east-1:123456789012:cluster/c/", 47);
    struct esm_config c;
    struct esm_cfg_err err;
    char req[1600];
    snprintf(req, sizeof req,
             "{\"FunctionName\":\"f\",\"Topics\":[\"t\"],\"EventSourceArn\":\"%s\"}", big);
    assert_false(parse(&c, req, &err));
    assert_non_null(strstr(err.message, "Member must have length between 12 and 1024"));
}

static void test_kesm_extension(void **state)
{
    (void)state;
    expect_error("{" BASE ",\"Kesm\":{\"Transport\":\"exec\"}}",
                 "1 validation error detected: Value null at 'Kesm.Command' failed to satisfy "
                 "constraint: Member is required when Kesm.Transport is \"exec\"");
    expect_error("{" BASE ",\"Kesm\":{\"Transport\":\"http\",\"Url\":\"ftp://x/y\"}}",
                 "1 validation error detected: Value 'ftp://x/y' at 'Kesm.Url' failed to satisfy "
                 "constraint: Member must be an http:// or https:// URL");
    expect_error("{" BASE ",\"Kesm\":{\"Transport\":\"http\"}}",
                 "1 validation error detected: Value null at 'Kesm.Url' failed to satisfy "
                 "constraint: Member is required when Kesm.Transport is \"http\"");
    expect_error("{" BASE ",\"Kesm\":{\"Transport\":\"stdout\",\"Command\":[\"cat\"],"
                 "\"Colour\":1}}",
                 "2 validation errors detected: Value '1' at 'Kesm.Colour' failed to satisfy "
                 "constraint: Member is not one of Transport, Url, Command, Region, "
                 "InvokeTimeoutMs, Tls, TlsInsecureSkipVerify, SaslAllowPlaintext, SecretsDir, "
                 "SecretsManager, SecretsManagerEndpoint, MaxConcurrency, "
                 "PartitionAssignmentStrategy, GroupProtocol, OAuthBearerTokenFile; Value "
                 "'[\"cat\"]' at 'Kesm.Command' failed to satisfy constraint: Member only applies "
                 "to the exec transport");
    expect_error(
        "{" BASE ",\"Kesm\":{\"SecretsDir\":\"rel/dir\",\"SecretsManagerEndpoint\":"
        "\"ftp://example\"}}",
        "2 validation errors detected: Value 'rel/dir' at 'Kesm.SecretsDir' failed to "
        "satisfy constraint: Member must be an absolute directory path; Value 'ftp://example' "
        "at 'Kesm.SecretsManagerEndpoint' failed to satisfy constraint: Member must be "
        "an http:// or https:// URL");
    expect_error("{" BASE ",\"SourceAccessConfigurations\":[{\"Type\":\"SASL_SCRAM_512_AUTH\","
                 "\"URI\":\"s\"}],\"Kesm\":{\"Tls\":false}}",
                 "1 validation error detected: Value 'false' at 'Kesm.Tls' failed to satisfy "
                 "constraint: SASL authentication needs TLS (as on AWS); set "
                 "Kesm.SaslAllowPlaintext to true to send credentials in clear text anyway");
    struct esm_config c;
    expect_ok(&c, "{" BASE ",\"Kesm\":{\"Transport\":\"exec\",\"Command\":[\"/bin/cat\",\"-u\"],"
                  "\"InvokeTimeoutMs\":5000,\"Tls\":true,\"TlsInsecureSkipVerify\":true}}");
    assert_int_equal(c.kesm.transport, ESM_TRANSPORT_EXEC);
    assert_int_equal(c.kesm.num_command, 2);
    assert_string_equal(c.kesm.command[1], "-u");
    assert_null(c.kesm.command[2]);
    assert_int_equal(c.kesm.invoke_timeout_ms, 5000);
    assert_int_equal(c.kesm.tls, 1);
    assert_true(c.kesm.tls_insecure_skip_verify);
    assert_int_equal(c.kesm.max_concurrency, 0); // not given: the process default
    esm_config_cleanup(&c);
    expect_ok(&c, "{" BASE ",\"SourceAccessConfigurations\":[{\"Type\":\"BASIC_AUTH\",\"URI\":"
                  "\"s\"}],\"Kesm\":{\"Transport\":\"http\",\"Url\":\"http://127.0.0.1:9000/2015-"
                  "03-31/functions/function/invocations\",\"Tls\":false,\"SaslAllowPlaintext\":"
                  "true}}");
    assert_int_equal(c.kesm.transport, ESM_TRANSPORT_HTTP);
    assert_true(c.kesm.sasl_allow_plaintext);
    esm_config_cleanup(&c);
}

static void test_kesm_assignors(void **state)
{
    (void)state;
    expect_error("{" BASE
                 ",\"Kesm\":{\"PartitionAssignmentStrategy\":\"range,cooperative-sticky\"}}",
                 "1 validation error detected: Value 'range,cooperative-sticky' at "
                 "'Kesm.PartitionAssignmentStrategy' failed to satisfy constraint: Member must be "
                 "a comma-separated list of range, roundrobin or cooperative-sticky: cooperative "
                 "and eager assignors cannot be mixed 'cooperative-sticky'");
    expect_error("{" BASE ",\"Kesm\":{\"PartitionAssignmentStrategy\":\"sticky\"}}",
                 "1 validation error detected: Value 'sticky' at "
                 "'Kesm.PartitionAssignmentStrategy' failed to satisfy constraint: Member must be "
                 "a comma-separated list of range, roundrobin or cooperative-sticky: unknown "
                 "assignor (range, roundrobin, cooperative-sticky) 'sticky'");
    expect_error("{" BASE ",\"Kesm\":{\"PartitionAssignmentStrategy\":7}}",
                 "1 validation error detected: Value '7' at 'Kesm.PartitionAssignmentStrategy' "
                 "failed to satisfy constraint: Member must be a string");
    struct esm_config c;
    expect_ok(&c, "{" BASE ",\"Kesm\":{\"PartitionAssignmentStrategy\":\"cooperative-sticky\"}}");
    assert_int_equal(c.kesm.num_assignors, 1);
    assert_int_equal(c.kesm.assignors[0], CONS_ASSIGNOR_COOPERATIVE_STICKY);
    esm_config_cleanup(&c);
    expect_ok(&c, "{" BASE ",\"Kesm\":{\"PartitionAssignmentStrategy\":\"roundrobin, range\"}}");
    assert_int_equal(c.kesm.num_assignors, 2);
    assert_int_equal(c.kesm.assignors[0], CONS_ASSIGNOR_ROUNDROBIN);
    esm_config_cleanup(&c);
    expect_ok(&c, "{" BASE "}");
    assert_int_equal(c.kesm.num_assignors, 0);
    assert_int_equal(c.kesm.group_protocol, 0); // classic
    esm_config_cleanup(&c);
    expect_ok(&c, "{" BASE ",\"Kesm\":{\"GroupProtocol\":\"auto\"}}");
    assert_int_equal(c.kesm.group_protocol, 2);
    esm_config_cleanup(&c);
    expect_error("{" BASE ",\"Kesm\":{\"GroupProtocol\":\"eager\"}}",
                 "1 validation error detected: Value 'eager' at 'Kesm.GroupProtocol' failed to "
                 "satisfy constraint: Member must satisfy enum value set: [classic, consumer, "
                 "auto]");
}

static void test_kesm_max_concurrency(void **state)
{
    (void)state;
    expect_error("{" BASE ",\"Kesm\":{\"MaxConcurrency\":0}}",
                 "1 validation error detected: Value '0' at 'Kesm.MaxConcurrency' failed to "
                 "satisfy constraint: Member must be an integer between 1 and 1000");
    expect_error("{" BASE ",\"Kesm\":{\"MaxConcurrency\":1001}}",
                 "1 validation error detected: Value '1001' at 'Kesm.MaxConcurrency' failed to "
                 "satisfy constraint: Member must be an integer between 1 and 1000");
    expect_error("{" BASE ",\"Kesm\":{\"MaxConcurrency\":2.5}}",
                 "1 validation error detected: Value '2.5' at 'Kesm.MaxConcurrency' failed to "
                 "satisfy constraint: Member must be an integer between 1 and 1000");
    expect_error("{" BASE ",\"Kesm\":{\"MaxConcurrency\":\"7\"}}",
                 "1 validation error detected: Value '7' at 'Kesm.MaxConcurrency' failed to "
                 "satisfy constraint: Member must be an integer between 1 and 1000");
    struct esm_config c;
    expect_ok(&c, "{" BASE ",\"Kesm\":{\"Transport\":\"stdout\",\"MaxConcurrency\":1000}}");
    assert_int_equal(c.kesm.max_concurrency, 1000);
    struct esm_config_meta meta = {"0b6f3a52-8f0e-4c1e-9b7e-2d1f6c9a1e55", "Enabled",
                                   "USER_INITIATED", "OK", 1735689600.0};
    cJSON *resp = esm_config_to_response(&c, &meta);
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(resp, "Kesm");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(k, "MaxConcurrency")->valueint, 1000);
    cJSON_Delete(resp);
    // UpdateEventSourceMapping may change it (Kesm is updatable) and validates the result.
    struct esm_config next;
    struct esm_cfg_err err;
    cJSON *u = cJSON_Parse("{\"Kesm\":{\"Transport\":\"stdout\",\"MaxConcurrency\":4}}");
    assert_true(esm_config_merge_update(&next, &c, u, &OPTS, &err));
    assert_int_equal(next.kesm.max_concurrency, 4);
    esm_config_cleanup(&next);
    cJSON_Delete(u);
    u = cJSON_Parse("{\"Kesm\":{\"MaxConcurrency\":-1}}");
    assert_false(esm_config_merge_update(&next, &c, u, &OPTS, &err));
    cJSON_Delete(u);
    esm_config_cleanup(&c);
}

// ParallelizationFactor: AWS's streams member (1-10), taken for Kafka too; echoed when given,
// updatable.
static void test_parallelization_factor(void **state)
{
    (void)state;
    expect_error("{" BASE ",\"ParallelizationFactor\":0}",
                 "1 validation error detected: Value '0' at 'ParallelizationFactor' failed to "
                 "satisfy constraint: Member must be an integer between 1 and 10");
    expect_error("{" BASE ",\"ParallelizationFactor\":11}",
                 "1 validation error detected: Value '11' at 'ParallelizationFactor' failed to "
                 "satisfy constraint: Member must be an integer between 1 and 10");
    expect_error("{" BASE ",\"ParallelizationFactor\":\"2\"}",
                 "1 validation error detected: Value '2' at 'ParallelizationFactor' failed to "
                 "satisfy constraint: Member must be an integer between 1 and 10");
    struct esm_config c;
    expect_ok(&c, "{" BASE "}");
    assert_int_equal(c.parallelization_factor, 1);
    esm_config_cleanup(&c);
    expect_ok(&c, "{" BASE ",\"ParallelizationFactor\":10}");
    assert_int_equal(c.parallelization_factor, 10);
    struct esm_config_meta meta = {"0b6f3a52-8f0e-4c1e-9b7e-2d1f6c9a1e55", "Enabled",
                                   "USER_INITIATED", "OK", 1735689600.0};
    cJSON *resp = esm_config_to_response(&c, &meta);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(resp, "ParallelizationFactor")->valueint, 10);
    cJSON_Delete(resp);
    struct esm_config next;
    struct esm_cfg_err err;
    cJSON *u = cJSON_Parse("{\"ParallelizationFactor\":3}");
    assert_true(esm_config_merge_update(&next, &c, u, &OPTS, &err));
    assert_int_equal(next.parallelization_factor, 3);
    esm_config_cleanup(&next);
    cJSON_Delete(u);
    esm_config_cleanup(&c);
}

static void test_update_merge(void **state)
{
    (void)state;
    struct esm_config cur, next;
    struct esm_cfg_err err;
    expect_ok(&cur, "{" BASE ",\"BatchSize\":10,\"SelfManagedKafkaEventSourceConfig\":{"
                    "\"ConsumerGroupId\":\"g1\"},\"FilterCriteria\":{\"Filters\":[]},"
                    "\"SourceAccessConfigurations\":[{\"Type\":\"BASIC_AUTH\",\"URI\":\"s\"}]}");
    cJSON *u = cJSON_Parse("{\"BatchSize\":500,\"Enabled\":false,\"FilterCriteria\":{},"
                           "\"SelfManagedKafkaEventSourceConfig\":{\"ConsumerGroupId\":\"g1\"}}");
    assert_true(esm_config_merge_update(&next, &cur, u, &OPTS, &err));
    assert_int_equal(next.batch_size, 500);
    assert_false(next.enabled);
    assert_null(next.filter_criteria);
    assert_string_equal(next.consumer_group_id, "g1");
    assert_string_equal(next.topic, "orders");
    esm_config_cleanup(&next);
    cJSON_Delete(u);

    u = cJSON_Parse("{\"Topics\":[\"other\"],\"SelfManagedKafkaEventSourceConfig\":{"
                    "\"ConsumerGroupId\":\"g2\"}}");
    assert_false(esm_config_merge_update(&next, &cur, u, &OPTS, &err));
    assert_string_equal(err.message,
                        "2 validation errors detected: Value '[\"other\"]' at 'Topics' failed to "
                        "satisfy constraint: Member cannot be updated: it is fixed at creation; "
                        "Value 'g2' at 'SelfManagedKafkaEventSourceConfig.ConsumerGroupId' failed "
                        "to satisfy constraint: Member cannot be updated: the consumer group is "
                        "fixed at creation");
    cJSON_Delete(u);

    // Combination rules hold after the merge: a second SASL entry is refused.
    u = cJSON_Parse("{\"SourceAccessConfigurations\":[{\"Type\":\"BASIC_AUTH\",\"URI\":\"s\"},"
                    "{\"Type\":\"SASL_SCRAM_512_AUTH\",\"URI\":\"t\"}],\"BatchSize\":0}");
    assert_false(esm_config_merge_update(&next, &cur, u, &OPTS, &err));
    assert_int_equal(err.num, 2);
    assert_non_null(strstr(err.message, "At most one authentication entry is allowed"));
    assert_non_null(strstr(err.message, "Value '0' at 'BatchSize'"));
    cJSON_Delete(u);
    esm_config_cleanup(&cur);
}

static void test_response_shape(void **state)
{
    (void)state;
    const char *req =
        "{\"FunctionName\":\"order-processor:live\",\"Topics\":[\"orders\"],"
        "\"StartingPosition\":\"AT_TIMESTAMP\",\"StartingPositionTimestamp\":1700000000,"
        "\"BatchSize\":500,\"MaximumBatchingWindowInSeconds\":2,\"Enabled\":true,"
        "\"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":["
        "\"kafka-1.internal:9096\"]}},"
        "\"SourceAccessConfigurations\":[{\"Type\":\"SASL_SCRAM_512_AUTH\",\"URI\":"
        "\"arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka-creds\"}],"
        "\"DestinationConfig\":{\"OnFailure\":{\"Destination\":\"kafka://dlq\"}},"
        "\"MaximumRetryAttempts\":3,\"MaximumRecordAgeInSeconds\":3600,"
        "\"BisectBatchOnFunctionError\":true,\"FunctionResponseTypes\":["
        "\"ReportBatchItemFailures\"],\"FilterCriteria\":{\"Filters\":[{\"Pattern\":\"{}\"}]},"
        "\"Kesm\":{\"Transport\":\"stdout\"}}";
    struct esm_config c;
    expect_ok(&c, req);
    struct esm_config_meta meta = {"0b6f3a52-8f0e-4c1e-9b7e-2d1f6c9a1e55", "Enabled",
                                   "USER_INITIATED", "OK", 1735689600.123};
    cJSON *resp = esm_config_to_response(&c, &meta);
    char *text = cJSON_PrintUnformatted(resp);
    assert_string_equal(
        text,
        "{\"UUID\":\"0b6f3a52-8f0e-4c1e-9b7e-2d1f6c9a1e55\",\"StartingPosition\":\"AT_TIMESTAMP\","
        "\"StartingPositionTimestamp\":1700000000,\"BatchSize\":500,"
        "\"MaximumBatchingWindowInSeconds\":2,\"FilterCriteria\":{\"Filters\":[{\"Pattern\":"
        "\"{}\"}]},\"FunctionArn\":\"arn:aws:lambda:us-east-1:123456789012:function:order-"
        "processor:live\",\"LastModified\":1735689600.123,\"LastProcessingResult\":\"OK\","
        "\"State\":\"Enabled\",\"StateTransitionReason\":\"USER_INITIATED\","
        "\"DestinationConfig\":{\"OnFailure\":{\"Destination\":\"kafka://dlq\"}},"
        "\"Topics\":[\"orders\"],\"SourceAccessConfigurations\":[{\"Type\":"
        "\"SASL_SCRAM_512_AUTH\",\"URI\":\"arn:aws:secretsmanager:us-east-1:123456789012:secret:"
        "kafka-creds\"}],\"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":["
        "\"kafka-1.internal:9096\"]}},\"MaximumRecordAgeInSeconds\":3600,"
        "\"BisectBatchOnFunctionError\":true,\"MaximumRetryAttempts\":3,"
        "\"FunctionResponseTypes\":[\"ReportBatchItemFailures\"],"
        "\"SelfManagedKafkaEventSourceConfig\":{\"ConsumerGroupId\":"
        "\"0b6f3a52-8f0e-4c1e-9b7e-2d1f6c9a1e55\"},\"EventSourceMappingArn\":\"arn:aws:lambda:"
        "us-east-1:123456789012:event-source-mapping:0b6f3a52-8f0e-4c1e-9b7e-2d1f6c9a1e55\","
        "\"Kesm\":{\"Transport\":\"stdout\"}}");
    free(text);
    // Round trip: the stored request parses back to the same response.
    struct esm_config again;
    struct esm_cfg_err err;
    assert_true(esm_config_parse(&again, c.request, &OPTS, &err));
    cJSON *resp2 = esm_config_to_response(&again, &meta);
    assert_true(cJSON_Compare(resp, resp2, true));
    cJSON_Delete(resp2);
    cJSON_Delete(resp);
    esm_config_cleanup(&again);
    esm_config_cleanup(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_example_sasl),
        cmocka_unit_test(test_seed_example_vpc_echoed_exactly),
        cmocka_unit_test(test_function_names),
        cmocka_unit_test(test_batch_size_and_window),
        cmocka_unit_test(test_topics),
        cmocka_unit_test(test_starting_position),
        cmocka_unit_test(test_bootstrap_servers),
        cmocka_unit_test(test_source_access_configurations),
        cmocka_unit_test(test_consumer_group),
        cmocka_unit_test(test_schema_registry_confluent),
        cmocka_unit_test(test_schema_registry_glue),
        cmocka_unit_test(test_schema_registry_errors),
        cmocka_unit_test(test_schema_registry_update),
        cmocka_unit_test(test_destination),
        cmocka_unit_test(test_retry_controls),
        cmocka_unit_test(test_filter_criteria),
        cmocka_unit_test(test_members),
        cmocka_unit_test(test_msk_source),
        cmocka_unit_test(test_msk_refused),
        cmocka_unit_test(test_kesm_extension),
        cmocka_unit_test(test_kesm_assignors),
        cmocka_unit_test(test_kesm_max_concurrency),
        cmocka_unit_test(test_parallelization_factor),
        cmocka_unit_test(test_update_merge),
        cmocka_unit_test(test_response_shape),
    };
    return cmocka_run_group_tests_name("esm_config", tests, NULL, NULL);
}
