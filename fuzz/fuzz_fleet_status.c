// fuzz_fleet_status.c: the fleet status topic's record codec (esm/fleet_status.h) on arbitrary
// bytes, as a hostile node or a corrupt log might write them.
// Input: byte 0 is the key's length k (at most the rest); then k bytes of key and the value.
// Invariants: nothing crashes or leaks; a key that parses gives a valid node id and a UUID; a
// value accepted for that key has a known State and reason, at most FLEET_STATUS_MAX_PARTS
// partitions (no more than AssignedPartitions), a sanitized result, and re-encodes to a value
// that parses back to the same fields (the codec round-trips).
#include "esm/fleet_status.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct fleet_status_rec *a, const struct fleet_status_rec *b)
{
    assert(!strcmp(a->node, b->node) && !strcmp(a->uuid, b->uuid));
    assert(!strcmp(a->state, b->state) && !strcmp(a->reason, b->reason));
    assert(!strcmp(a->result, b->result));
    assert(a->refresh_ms == b->refresh_ms && a->num_assigned == b->num_assigned);
    assert(a->lag == b->lag && a->num_parts == b->num_parts);
    for (size_t i = 0; i < a->num_parts; i++) {
        assert(!strcmp(a->parts[i].topic, b->parts[i].topic));
        assert(a->parts[i].partition == b->parts[i].partition);
        assert(a->parts[i].lag == b->parts[i].lag);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t k = data[0] < size - 1 ? data[0] : size - 1;
    const uint8_t *key = data + 1, *value = data + 1 + k;
    size_t vlen = size - 1 - k;
    char node[FLEET_NODE_ID_MAX + 1], uuid[37], why[300];
    if (!fleet_status_key_parse(key, k, node, uuid)) {
        // Still parse the value against a fixed key: the value parser must hold on its own.
        strcpy(node, "n:1");
        strcpy(uuid, "00000000-0000-0000-0000-000000000000");
    }
    assert(fleet_node_id_ok(node) && strlen(uuid) == 36);
    struct fleet_status_rec r;
    if (!fleet_status_parse(node, uuid, value, vlen, &r, why, sizeof why)) {
        assert(why[0]);
        fleet_status_rec_cleanup(&r);
        return 0;
    }
    assert(r.num_parts <= FLEET_STATUS_MAX_PARTS && r.num_parts <= r.num_assigned);
    for (const unsigned char *p = (const unsigned char *)r.result; *p; p++) {
        assert(*p >= 0x20 && *p != 0x7f);
    }
    size_t len = 0;
    char *text = fleet_status_encode(&r, &len);
    assert(text);
    struct fleet_status_rec back;
    bool ok = fleet_status_parse(node, uuid, (const uint8_t *)text, len, &back, why, sizeof why);
    assert(ok);
    same(&r, &back);
    fleet_status_rec_cleanup(&back);
    fleet_status_rec_cleanup(&r);
    free(text);
    return 0;
}
