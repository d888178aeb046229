// fuzz_proto_decode.c: Protobuf binary data to the proto3 JSON mapping (schema/proto.h) with
// a built-in schema covering every field type, nested messages, enums, maps, oneofs, proto3
// optional, groups (proto2) and the well-known types. Byte 0 picks the message (modulo the
// Glue index count); the rest is the data. Invariants: a successful decode writes valid UTF-8
// that cJSON parses as exactly one JSON object; errors carry a message.
#include "base/utf8.h"
#include "schema/proto.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char proto3_text[] =
    "syntax = \"proto3\";\n"
    "package shop.v1;\n"
    "\n"
    "import \"google/protobuf/timestamp.proto\";\n"
    "import \"google/protobuf/wrappers.proto\";\n"
    "import \"google/protobuf/struct.proto\";\n"
    "import \"google/protobuf/duration.proto\";\n"
    "\n"
    "message Order {\n"
    "  message Line {\n"
    "    string sku = 1;\n"
    "    int32 qty = 2;\n"
    "    repeated double prices = 3;\n"
    "  }\n"
    "  enum Status { STATUS_UNSPECIFIED = 0; PAID = 1; SHIPPED = 2; }\n"
    "  int64 id = 1;\n"
    "  string customer_name = 2;\n"
    "  repeated Line lines = 3;\n"
    "  map<string, int64> counters = 4;\n"
    "  Status status = 5;\n"
    "  bytes blob = 6;\n"
    "  optional int32 maybe = 7;\n"
    "  oneof contact { string email = 8; string phone = 9; }\n"
    "  google.protobuf.Timestamp created = 10;\n"
    "  google.protobuf.StringValue note = 11;\n"
    "  google.protobuf.Struct meta = 12;\n"
    "  google.protobuf.Duration ttl = 13;\n"
    "  uint64 big = 14;\n"
    "  sint32 delta = 15;\n"
    "  fixed64 f64 = 16;\n"
    "  bool flag = 17;\n"
    "  float ratio = 18;\n"
    "  repeated Status history = 19;\n"
    "  map<int32, Line> by_id = 20 [json_name = \"byIdent\"];\n"
    "}\n"
    "message Other { string x = 1; }\n";

static const char proto2_text[] =
    "syntax = \"proto2\";\n"
    "package legacy;\n"
    "import \"google/protobuf/any.proto\";\n"
    "import \"google/protobuf/field_mask.proto\";\n"
    "message Rec {\n"
    "  optional int32 a = 1 [default = 5];\n"
    "  repeated group Item = 2 { required string name = 3; optional Kind kind = 4; }\n"
    "  enum Kind { ONE = 1; TWO = 2; }\n"
    "  repeated Kind kinds = 5 [packed = true];\n"
    "  optional google.protobuf.Any any = 6;\n"
    "  optional google.protobuf.FieldMask mask = 7;\n"
    "  optional bytes b = 8;\n"
    "  extensions 100 to max;\n"
    "}\n";

static struct sch_proto *pools[2];

static void load(void)
{
    static const char *const texts[2] = {proto3_text, proto2_text};
    for (size_t i = 0; i < 2; i++) {
        struct sch_proto_file f = {"main.proto", texts[i], strlen(texts[i])};
        struct sch_err err;
        if (sch_proto_parse(&pools[i], &f, 1, &err) != SCH_OK) {
            assert(!"built-in schema does not parse");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!pools[0]) {
        load();
    }
    if (size < 1) {
        return 0;
    }
    struct sch_proto *p = pools[data[0] >> 7];
    struct sch_err err = {{0}};
    uint32_t count = 0, msg;
    while (sch_proto_glue_msg(p, count, &msg, &err) == SCH_OK) {
        count++;
    }
    assert(count > 0);
    assert(sch_proto_glue_msg(p, (data[0] & 0x7f) % count, &msg, &err) == SCH_OK);
    struct sch_out out;
    sch_out_init(&out, 1 << 20);
    enum sch_status st = sch_proto_to_json(p, msg, data + 1, size - 1, &out, &err);
    if (st == SCH_OK) {
        assert(utf8_valid((const uint8_t *)out.p, out.len));
        const char *end = NULL;
        cJSON *j = cJSON_ParseWithLengthOpts(out.p, out.len, &end, false);
        assert(cJSON_IsObject(j) || cJSON_IsString(j) || cJSON_IsNumber(j) || cJSON_IsBool(j) ||
               cJSON_IsNull(j) || cJSON_IsArray(j));
        assert(end == out.p + out.len);
        cJSON_Delete(j);
    } else {
        assert(err.msg[0]);
    }
    sch_out_cleanup(&out);
    return 0;
}
