// proto_int.h: the parsed .proto pool shared by proto_lex.c, proto_parse.c, proto_pool.c,
// proto_json.c and proto_wkt.c.
#ifndef SCHEMA_PROTO_INT_H
#define SCHEMA_PROTO_INT_H

#include "schema/proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Field types, numbered as in descriptor.proto's FieldDescriptorProto.Type.
enum pb_type {
    PB_DOUBLE = 1,
    PB_FLOAT = 2,
    PB_INT64 = 3,
    PB_UINT64 = 4,
    PB_INT32 = 5,
    PB_FIXED64 = 6,
    PB_FIXED32 = 7,
    PB_BOOL = 8,
    PB_STRING = 9,
    PB_GROUP = 10,
    PB_MESSAGE = 11,
    PB_BYTES = 12,
    PB_UINT32 = 13,
    PB_ENUM = 14,
    PB_SFIXED32 = 15,
    PB_SFIXED64 = 16,
    PB_SINT32 = 17,
    PB_SINT64 = 18,
    PB_NAMED = 99, // a type name not resolved yet (message or enum)
};

enum pb_label {
    PB_OPTIONAL = 1,
    PB_REQUIRED = 2,
    PB_REPEATED = 3,
};

// Well-known types with their own JSON form.
enum pb_wkt {
    PB_WKT_NONE,
    PB_WKT_TIMESTAMP,
    PB_WKT_DURATION,
    PB_WKT_WRAPPER, // DoubleValue ... BytesValue: the "value" field
    PB_WKT_STRUCT,
    PB_WKT_VALUE,
    PB_WKT_LIST,
    PB_WKT_FIELD_MASK,
    PB_WKT_ANY,
    PB_WKT_EMPTY,
};

struct pb_field {
    char *name;
    char *json_name;
    uint32_t number;
    uint8_t type;  // enum pb_type
    uint8_t label; // enum pb_label
    bool presence; // written when present even at the default value
    int32_t oneof; // index within the message, -1 when none
    char *type_name;
    uint32_t ref; // message or enum index once resolved
};

struct pb_msg {
    char *full_name;
    uint32_t file;
    uint32_t first_field, num_fields;
    uint32_t first_nested, num_nested; // into pool.ids: nested messages in declaration order
    bool map_entry;
    uint8_t wkt; // enum pb_wkt
};

struct pb_enum {
    char *full_name;
    uint32_t first_value, num_values;
    bool closed; // proto2: unknown values are dropped
};

struct pb_enum_value {
    char *name;
    int32_t number;
};

struct pb_file {
    char *name;
    char *package;
    int syntax;                  // 2 or 3
    uint32_t first_top, num_top; // into pool.ids: top-level messages in declaration order
    bool builtin;
    bool done; // parsed to the end (an import of a file not done yet is a cycle)
};

struct sch_proto {
    struct pb_file *files;
    size_t num_files, cap_files;
    struct pb_msg *msgs;
    size_t num_msgs, cap_msgs;
    struct pb_field *fields;
    size_t num_fields, cap_fields;
    struct pb_enum *enums;
    size_t num_enums, cap_enums;
    struct pb_enum_value *values;
    size_t num_values, cap_values;
    uint32_t *ids;
    size_t num_ids, cap_ids;
    uint32_t main_file;
    size_t mem; // bytes of names
    // names: open-addressing index of every message and enum full name; an entry is
    // kind << 31 | index (kind 0 message, 1 enum), UINT32_MAX when empty.
    uint32_t *names;
    size_t names_cap;
};

// pb_name_add indexes message (|is_enum| false) or enum |idx| by its full name; false on OOM.
bool pb_name_add(struct sch_proto *p, bool is_enum, uint32_t idx);

// pb_grow makes room for |need| elements of |elem| bytes in *p (capacity *cap); false on OOM.
bool pb_grow(void **p, size_t *cap, size_t need, size_t elem);

// pb_parse_file parses one file's text into |pool| as file |name| (copied). Imports are
// recorded by calling |need_import(ctx, path)|, which must make that file part of the pool (or
// fail). Returns SCH_OK or the error with file:line:col in |err|.
typedef enum sch_status pb_import_fn(void *ctx, const char *path, struct sch_err *err);
enum sch_status pb_parse_file(struct sch_proto *pool, const char *name, const char *text,
                              size_t len, bool builtin, pb_import_fn *need_import, void *ctx,
                              struct sch_err *err);

// pb_builtin_text returns the built-in text of a well-known import path, or NULL.
const char *pb_builtin_text(const char *path);

// pb_find_msg / pb_find_enum look a full name (without the leading '.') up; UINT32_MAX if absent.
uint32_t pb_find_msg(const struct sch_proto *p, const char *full);
uint32_t pb_find_enum(const struct sch_proto *p, const char *full);

#endif
