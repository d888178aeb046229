// test_dest_kafka.c: the kafka:// destination's partitioner hash (consumer/producer.c's) against
// the murmur2 values of Kafka's own tests (org.apache.kafka.common.utils.UtilsTest,
// testMurmur2), and the bootstrap-entry check of esm_dest_kafka_new.
#include "consumer/producer.h"
#include "esm/dest_kafka.h"
#include "tests/lib/unit.h"

#include <string.h>

static void test_murmur2_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        int32_t want;
    } v[] = {
        {"21", -973932308},
        {"foobar", -790332482},
        {"a-little-bit-long-string", -985981536},
        {"a-little-bit-longer-string", -1486304829},
        {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
        {"abc", 479470107},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint32_t h = prod_murmur2((const uint8_t *)v[i].key, strlen(v[i].key));
        assert_int_equal((int32_t)h, v[i].want);
    }
}

static void test_bad_bootstrap(void **state)
{
    (void)state;
    char err[200];
    const char *bs[] = {"no-port"};
    assert_null(esm_dest_kafka_new(NULL, bs, 1, "dlq", NULL, NULL, NULL, err, sizeof err));
    assert_non_null(strstr(err, "'no-port' is not host:port"));
    assert_null(esm_dest_kafka_new(NULL, bs, 0, "dlq", NULL, NULL, NULL, err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_murmur2_vectors),
        cmocka_unit_test(test_bad_bootstrap),
    };
    return cmocka_run_group_tests_name("dest_kafka", tests, NULL, NULL);
}
