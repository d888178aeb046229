// fuzz_schema_frame.c: the schema-registry framings (schema/frame.h) and the JSON Schema check
// on arbitrary bytes. Byte 0 picks what to parse; the rest is the record key or value.
// Invariants: a parsed Confluent header leaves exactly len - 5 bytes; message indexes consume
// at least one byte per index and never more than there is; a parsed Glue header leaves
// len - 18 bytes; a UUID formats and parses back to itself.
#include "base/utf8.h"
#include "schema/frame.h"
#include "schema/jsonschema.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    uint8_t mode = data[0];
    data++;
    size--;
    struct sch_err err;
    if (mode & 1) {
        struct sch_confluent c;
        if (sch_confluent_parse(data, size, &c, &err) == SCH_OK) {
            assert(kr_left(&c.rest) == size - 5);
            assert(c.schema_id <= INT32_MAX);
            struct sch_msg_path path;
            size_t before = kr_left(&c.rest);
            if (sch_confluent_msg_indexes(&c.rest, &path, &err) == SCH_OK) {
                assert(path.n >= 1 && path.n <= SCH_MAX_MSG_INDEXES);
                assert(before - kr_left(&c.rest) >= (path.n == 1 ? 1u : path.n + 1u));
            } else {
                assert(err.msg[0]);
            }
        } else {
            assert(err.msg[0]);
        }
    } else {
        struct sch_glue g;
        if (sch_glue_parse(data, size, &g, &err) == SCH_OK) {
            assert(kr_left(&g.data) == size - SCH_GLUE_HEADER_LEN);
            assert(g.compression == 0 || g.compression == 5);
            char text[37];
            uint8_t back[16];
            sch_uuid_format(g.version_id, text);
            assert(strlen(text) == 36);
            assert(sch_uuid_parse(text, back) && memcmp(back, g.version_id, 16) == 0);
            uint32_t idx;
            (void)sch_glue_proto_index(&g.data, &idx, &err);
        } else {
            assert(err.msg[0]);
        }
    }
    enum sch_status st = sch_json_check(data, size, &err);
    assert(st == SCH_OK || st == SCH_ERR_MALFORMED);
    if (st == SCH_OK) {
        assert(utf8_valid(data, size));
    }
    return 0;
}
