// proto_builtin.c: the files schema registries treat as built in, so a schema may import them
// without a reference: Protobuf's well-known types, the google/type files Confluent ships, and
// Confluent's own. Each is written here from the message and field numbers of the published
// definitions (only what decoding needs: messages, fields, enums; no options or comments).
#include "schema/proto_int.h"

#include <string.h>

static const char any_proto[] = "syntax = \"proto3\"; package google.protobuf;\n"
                                "message Any { string type_url = 1; bytes value = 2; }\n";

static const char duration_proto[] = "syntax = \"proto3\"; package google.protobuf;\n"
                                     "message Duration { int64 seconds = 1; int32 nanos = 2; }\n";

static const char empty_proto[] = "syntax = \"proto3\"; package google.protobuf;\n"
                                  "message Empty {}\n";

static const char field_mask_proto[] = "syntax = \"proto3\"; package google.protobuf;\n"
                                       "message FieldMask { repeated string paths = 1; }\n";

static const char struct_proto[] =
    "syntax = \"proto3\"; package google.protobuf;\n"
    "message Struct { map<string, Value> fields = 1; }\n"
    "message Value { oneof kind { NullValue null_value = 1; double number_value = 2;\n"
    "  string string_value = 3; bool bool_value = 4; Struct struct_value = 5;\n"
    "  ListValue list_value = 6; } }\n"
    "enum NullValue { NULL_VALUE = 0; }\n"
    "message ListValue { repeated Value values = 1; }\n";

static const char timestamp_proto[] = "syntax = \"proto3\"; package google.protobuf;\n"
                                      "message Timestamp { int64 seconds = 1; int32 nanos = 2; }\n";

static const char wrappers_proto[] = "syntax = \"proto3\"; package google.protobuf;\n"
                                     "message DoubleValue { double value = 1; }\n"
                                     "message FloatValue { float value = 1; }\n"
                                     "message Int64Value { int64 value = 1; }\n"
                                     "message UInt64Value { uint64 value = 1; }\n"
                                     "message Int32Value { int32 value = 1; }\n"
                                     "message UInt32Value { uint32 value = 1; }\n"
                                     "message BoolValue { bool value = 1; }\n"
                                     "message StringValue { string value = 1; }\n"
                                     "message BytesValue { bytes value = 1; }\n";

// descriptor.proto is imported by schemas that declare custom options (extend blocks, which
// kesm skips); its messages are not needed to decode data.
static const char descriptor_proto[] = "syntax = \"proto2\"; package google.protobuf;\n";

static const char date_proto[] =
    "syntax = \"proto3\"; package google.type;\n"
    "message Date { int32 year = 1; int32 month = 2; int32 day = 3; }\n";

static const char timeofday_proto[] =
    "syntax = \"proto3\"; package google.type;\n"
    "message TimeOfDay { int32 hours = 1; int32 minutes = 2; int32 seconds = 3;\n"
    "  int32 nanos = 4; }\n";

static const char money_proto[] =
    "syntax = \"proto3\"; package google.type;\n"
    "message Money { string currency_code = 1; int64 units = 2; int32 nanos = 3; }\n";

static const char latlng_proto[] =
    "syntax = \"proto3\"; package google.type;\n"
    "message LatLng { double latitude = 1; double longitude = 2; }\n";

static const char dayofweek_proto[] =
    "syntax = \"proto3\"; package google.type;\n"
    "enum DayOfWeek { DAY_OF_WEEK_UNSPECIFIED = 0; MONDAY = 1; TUESDAY = 2; WEDNESDAY = 3;\n"
    "  THURSDAY = 4; FRIDAY = 5; SATURDAY = 6; SUNDAY = 7; }\n";

static const char confluent_meta_proto[] =
    "syntax = \"proto3\"; package confluent;\n"
    "import \"google/protobuf/descriptor.proto\";\n"
    "message Meta { string doc = 1; map<string, string> params = 2; repeated string tags = 3; }\n";

static const char confluent_decimal_proto[] =
    "syntax = \"proto3\"; package confluent.type;\n"
    "message Decimal { bytes value = 1; uint32 precision = 2; int32 scale = 3; }\n";

static const struct {
    const char *path;
    const char *text;
} builtins[] = {
    {"google/protobuf/any.proto", any_proto},
    {"google/protobuf/duration.proto", duration_proto},
    {"google/protobuf/empty.proto", empty_proto},
    {"google/protobuf/field_mask.proto", field_mask_proto},
    {"google/protobuf/struct.proto", struct_proto},
    {"google/protobuf/timestamp.proto", timestamp_proto},
    {"google/protobuf/wrappers.proto", wrappers_proto},
    {"google/protobuf/descriptor.proto", descriptor_proto},
    {"google/type/date.proto", date_proto},
    {"google/type/timeofday.proto", timeofday_proto},
    {"google/type/money.proto", money_proto},
    {"google/type/latlng.proto", latlng_proto},
    {"google/type/dayofweek.proto", dayofweek_proto},
    {"confluent/meta.proto", confluent_meta_proto},
    {"confluent/type/decimal.proto", confluent_decimal_proto},
};

const char *pb_builtin_text(const char *path)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        if (!strcmp(builtins[i].path, path)) {
            return builtins[i].text;
        }
    }
    return NULL;
}
