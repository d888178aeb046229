// fuzz_esm_filter.c: FilterCriteria compilation and matching (esm/filter.h) on arbitrary input.
// Input: byte 0 picks the record's metadata (null key, null value, partition), bytes 1-2 the
// pattern length (big-endian); then the pattern text, and the rest is the record value.
// Invariants: esm_filter_check_pattern agrees with esm_filter_new; matching is deterministic; a
// pattern given twice matches exactly what it matches once; inputs of fuzzing size (a few KB)
// never run out of the step budget.
#include "esm/filter.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) {
        return 0;
    }
    uint8_t meta = data[0];
    size_t plen = ((size_t)data[1] << 8) | data[2];
    data += 3;
    size -= 3;
    if (plen > size) {
        plen = size;
    }
    char *pattern = malloc(plen + 1);
    if (!pattern) {
        return 0;
    }
    memcpy(pattern, data, plen);
    pattern[plen] = 0;
    const uint8_t *value = data + plen;
    size_t vlen = size - plen;

    char why[256];
    bool valid = esm_filter_check_pattern(pattern, why, sizeof why);
    const char *pats[2] = {pattern, pattern};
    struct esm_filter *one = esm_filter_new(pats, 1, NULL, why, sizeof why);
    assert((one != NULL) == valid);
    if (!one) {
        assert(why[0] != 0);
        free(pattern);
        return 0;
    }
    struct esm_filter *two = esm_filter_new(pats, 2, NULL, why, sizeof why);
    assert(two != NULL);

    struct inv_record r;
    memset(&r, 0, sizeof r);
    r.topic = "fuzz-topic";
    r.topic_len = strlen(r.topic);
    r.partition = meta & 7;
    r.offset = 1000 + (meta >> 3);
    r.timestamp = 1700000000000;
    r.ts_type = (meta & 0x40) ? INV_TS_LOG_APPEND_TIME : INV_TS_CREATE_TIME;
    r.key = (meta & 0x08) ? inv_bytes_null() : inv_bytes_of(value, vlen < 8 ? vlen : 8);
    r.value = (meta & 0x80) ? inv_bytes_null() : inv_bytes_of(value, vlen);

    bool m1 = esm_filter_match(one, &r);
    bool m2 = esm_filter_match(one, &r);
    bool m3 = esm_filter_match(two, &r);
    assert(m1 == m2);
    assert(m1 == m3);
    assert(esm_filter_budget_exceeded(one) == 0);
    esm_filter_free(one);
    esm_filter_free(two);
    free(pattern);
    return 0;
}
