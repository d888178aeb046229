// fuzz_proto_parse.c: .proto schema text (schema/proto.h) on arbitrary input. The input is one
// or two files: when it holds a NUL byte, the part before it is imported as "dep.proto" by the
// part after it. Invariants: a pool that parses finds every Confluent top-level index and Glue
// index it advertises (and refuses the next one), and decodes empty data of each message to
// valid JSON; failures carry a message.
#include "schema/proto.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    struct sch_proto_file files[2];
    size_t n = 0;
    if (nul) {
        files[n++] = (struct sch_proto_file){"dep.proto", (const char *)data, (size_t)(nul - data)};
        files[n++] = (struct sch_proto_file){"main.proto", (const char *)nul + 1,
                                             size - (size_t)(nul - data) - 1};
    } else {
        files[n++] = (struct sch_proto_file){"main.proto", (const char *)data, size};
    }
    struct sch_err err = {{0}};
    struct sch_proto *p = NULL;
    if (sch_proto_parse(&p, files, n, &err) != SCH_OK) {
        assert(err.msg[0] && p == NULL);
        return 0;
    }
    for (uint32_t i = 0; i < 64; i++) {
        uint32_t msg;
        struct sch_msg_path path = {1, {i}};
        if (sch_proto_confluent_msg(p, &path, &msg, &err) != SCH_OK) {
            break;
        }
        struct sch_out out;
        sch_out_init(&out, 1 << 16);
        if (sch_proto_to_json(p, msg, NULL, 0, &out, &err) == SCH_OK) {
            cJSON *j = cJSON_ParseWithLength(out.p, out.len);
            assert(j != NULL);
            cJSON_Delete(j);
        }
        sch_out_cleanup(&out);
    }
    for (uint32_t i = 0; i < 64; i++) {
        uint32_t msg;
        if (sch_proto_glue_msg(p, i, &msg, &err) != SCH_OK) {
            break;
        }
        assert(sch_proto_msg_name(p, msg)[0]);
    }
    sch_proto_free(p);
    return 0;
}
