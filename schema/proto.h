// proto.h: .proto schema text (what schema registries store) and Protobuf binary data to the
// proto3 JSON mapping.
//
// Schemas: proto2 and proto3 files ("syntax" statement; no "edition"): package, imports,
// messages with nested messages and enums, scalar, message and enum fields with the labels
// optional / required / repeated, map<K, V> fields, oneofs, proto2 groups, reserved and
// extensions ranges, options (json_name is used; the others are read and ignored), enums with
// aliases, and services and extend blocks (read and ignored). Type names resolve by the
// Protobuf scoping rules across every file given. Imports of well-known and registry built-in
// files are built in: google/protobuf/{any,duration,empty,field_mask,struct,timestamp,
// wrappers,descriptor}.proto, google/type/{date,timeofday,money,latlng,dayofweek}.proto and
// confluent/{meta,type/decimal}.proto; other imports must be among the files given (the
// registry's references).
//
// Data: the Protobuf binary encoding of one message becomes JSON by the proto3 JSON mapping:
// field names in lowerCamelCase (or json_name); int64, uint64, sint64, fixed64, sfixed64 as
// decimal strings; other integers as numbers; float and double as the shortest round-tripping
// decimal, NaN and the infinities as "NaN", "Infinity", "-Infinity"; bytes as standard base64;
// enums by value name (a number for an unknown value of an open proto3 enum; unknown values of
// closed proto2 enums are dropped, as Protobuf does); maps as objects with string keys; repeated
// fields packed or not; a singular field seen twice keeps its last value (messages merge).
// Fields without presence (proto3 scalars outside oneofs, repeated and map fields) are left
// out at their default value; fields with presence are written when present. Well-known types
// get their JSON form: Timestamp (RFC 3339, "Z"), Duration ("1.5s"), the wrappers (their
// value), Struct, Value, ListValue, NullValue (null), Empty ({}), FieldMask ("a.b,cD") and Any
// ({"@type": ..., fields} when the type is in the schema, else an error). Unknown fields are
// skipped. Strings must be valid UTF-8.
//
// Message selection: Confluent message indexes are a path through the main file's message
// declarations (top-level index, then nested index ...; synthesized map-entry types count among
// the nested ones where their map field is declared, as protoc orders them). A Glue index
// numbers every message type of the main file, nested and map-entry ones included, sorted by
// full name.
//
// Limits: schema text SCH_MAX_SCHEMA_TEXT per file, SCH_PROTO_MAX_FILES files, declarations
// nested SCH_MAX_DEPTH deep, SCH_PROTO_MAX_TYPES types, field numbers 1..536870911, data nested
// SCH_MAX_DEPTH deep (groups included), and the output limit of the struct sch_out.
#ifndef SCHEMA_PROTO_H
#define SCHEMA_PROTO_H

#include "schema/frame.h"
#include "schema/sch.h"

#include <stddef.h>
#include <stdint.h>

#define SCH_PROTO_MAX_FILES 64
#define SCH_PROTO_MAX_TYPES 20000

struct sch_proto_file {
    const char *name; // the import path the file is known by ("other.proto"); the main file's
                      // name may be anything
    const char *text;
    size_t len;
};

struct sch_proto;

// sch_proto_parse parses |n| files; the last one is the main file (the schema of the data), the
// others are what it imports (in any order). Returns SCH_OK with a pool in *out (free it with
// sch_proto_free), or an error naming the file, line and column.
enum sch_status sch_proto_parse(struct sch_proto **out, const struct sch_proto_file *files,
                                size_t n, struct sch_err *err);

// sch_proto_confluent_msg finds the message a Confluent message-index path names.
enum sch_status sch_proto_confluent_msg(const struct sch_proto *p, const struct sch_msg_path *path,
                                        uint32_t *out_msg, struct sch_err *err);
// sch_proto_glue_msg finds the message a Glue index names.
enum sch_status sch_proto_glue_msg(const struct sch_proto *p, uint32_t index, uint32_t *out_msg,
                                   struct sch_err *err);
// sch_proto_msg_name returns a message's full name (for messages and tests).
const char *sch_proto_msg_name(const struct sch_proto *p, uint32_t msg);

// sch_proto_to_json decodes |len| bytes at |data| as message |msg| and appends its JSON to |out|.
enum sch_status sch_proto_to_json(const struct sch_proto *p, uint32_t msg, const uint8_t *data,
                                  size_t len, struct sch_out *out, struct sch_err *err);

// sch_proto_mem returns about how many bytes the pool holds (for cache accounting).
size_t sch_proto_mem(const struct sch_proto *p);

void sch_proto_free(struct sch_proto *p);

#endif
