// avro.h: Avro schemas (JSON text, parsed with cJSON) and Avro binary data to JSON.
//
// Schemas: every type of the Avro 1.11 specification: null, boolean, int, long, float, double,
// bytes, string, record (and error), enum, array, map, union, fixed; named types with namespaces
// (a name with dots is a full name; otherwise the namespace attribute or the enclosing one),
// references to named types defined earlier (recursion included), and the logical type decimal
// on bytes and fixed (precision > 0, 0 <= scale <= precision; an invalid decimal falls back to
// its underlying type, as Avro's Java library does). Other logical types (date, time-*,
// timestamp-*, local-timestamp-*, uuid, duration) decode as their underlying type. Schema
// references (Confluent "references") are given as more texts parsed first, whose named types
// the last text can use.
//
// Data: the binary encoding of one datum written with the schema (no container, no reader-schema
// resolution: the registry hands out the writer's schema). The JSON it becomes (decided here;
// AWS documents no mapping):
//   null, boolean          null, true / false
//   int, long              a JSON number (every digit of a long)
//   float, double          the shortest decimal that reads back as the same value; NaN and the
//                          infinities as the strings "NaN", "Infinity", "-Infinity"
//   string                 a JSON string (the bytes must be valid UTF-8)
//   bytes, fixed           a JSON string of the code points U+0000..U+00FF, one per byte (the
//                          Avro specification's JSON encoding of bytes)
//   decimal                a JSON string of the exact value, e.g. "-1234.50" (scale digits kept)
//   record                 an object with the fields in schema order
//   enum                   the symbol as a string
//   array, map             an array, an object
//   union                  the branch's value itself, unwrapped (as Avro's GenericData.toString
//                          and most JSON users expect), e.g. null or "a@b.c"
// Bytes left after the datum are an error: the data was not written with this schema.
//
// Limits: schema text SCH_MAX_SCHEMA_TEXT, definitions nested SCH_MAX_DEPTH deep, at most
// SCH_AVRO_MAX_NODES types; data nested SCH_MAX_DEPTH deep, decimals up to 128 bytes, and the
// output limit of the struct sch_out.
#ifndef SCHEMA_AVRO_H
#define SCHEMA_AVRO_H

#include "schema/sch.h"

#include <stddef.h>
#include <stdint.h>

#define SCH_AVRO_MAX_NODES 100000
#define SCH_AVRO_MAX_DECIMAL_BYTES 128

struct sch_avro;

// sch_avro_parse parses |n| schema texts (texts[i] of lens[i] bytes): the first n-1 are
// references whose named types the last one may use; the last is the schema of the data.
// Returns SCH_OK with a new schema in *out (free it with sch_avro_free), or an error naming the
// text and the JSON path of the problem.
enum sch_status sch_avro_parse(struct sch_avro **out, const char *const *texts, const size_t *lens,
                               size_t n, struct sch_err *err);

// sch_avro_to_json decodes |len| bytes at |p| and appends the JSON to |out|. On error |out| may
// hold a partial value; |err| names the byte offset and the schema path.
enum sch_status sch_avro_to_json(const struct sch_avro *s, const uint8_t *p, size_t len,
                                 struct sch_out *out, struct sch_err *err);

// sch_avro_mem returns about how many bytes the parsed schema holds (for cache accounting).
size_t sch_avro_mem(const struct sch_avro *s);

void sch_avro_free(struct sch_avro *s);

#endif
