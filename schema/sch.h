// sch.h: what every schema/ parser and decoder shares: status codes, the error text, and the
// bounded JSON output buffer.
//
// schema/ holds the pure parsers and decoders of schema-registry data: the Confluent and Glue
// wire framings (frame.h), Avro schemas and Avro binary to JSON (avro.h), .proto text and
// Protobuf binary to the proto3 JSON mapping (proto.h), and JSON Schema payloads (jsonschema.h).
// It reads untrusted bytes with the proto/ kr cursors, uses libc and cJSON only, does no I/O and
// keeps no globals. Every input is bounded (sizes, counts, nesting depth) and every failure is a
// status plus one line naming what was wrong and where, never a crash.
#ifndef SCHEMA_SCH_H
#define SCHEMA_SCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sch_status {
    SCH_OK = 0,
    SCH_ERR_TRUNCATED,   // the bytes ran out before the value did
    SCH_ERR_MALFORMED,   // the bytes are not a valid encoding for the schema
    SCH_ERR_LIMIT,       // a size, count or depth limit was hit
    SCH_ERR_SCHEMA,      // the schema text is invalid, or a type it needs is missing
    SCH_ERR_UNSUPPORTED, // valid, but something kesm does not decode (said in the message)
    SCH_ERR_NOMEM,
};

// sch_status_name returns "ok", "truncated", "malformed", "limit", "schema", "unsupported" or
// "out of memory".
const char *sch_status_name(enum sch_status s);

// struct sch_err: one line saying what was wrong and where (a byte offset or a schema path).
// Never holds payload bytes beyond a short name taken from a schema.
struct sch_err {
    char msg[256];
};

// sch_fail writes the message into |err| (may be NULL) and returns |st|.
enum sch_status sch_fail(struct sch_err *err, enum sch_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// Limits shared by the decoders.
#define SCH_MAX_DEPTH 64                   // nesting of decoded values and of schema definitions
#define SCH_MAX_SCHEMA_TEXT (1024u * 1024) // one schema's text
#define SCH_DEFAULT_OUT_LIMIT ((size_t)8 << 20)

// struct sch_out: a growable output buffer with a hard limit. Once a write would pass the limit
// or memory runs out, the buffer is marked failed and ignores further writes; the decoders check
// sch_out_ok and report SCH_ERR_LIMIT / SCH_ERR_NOMEM. Zero state: sch_out_init.
struct sch_out {
    char *p;
    size_t len;
    size_t cap;
    size_t limit;
    bool over;  // a write passed the limit
    bool nomem; // an allocation failed
};

void sch_out_init(struct sch_out *o, size_t limit); // limit 0: SCH_DEFAULT_OUT_LIMIT
void sch_out_cleanup(struct sch_out *o);
void sch_out_reset(struct sch_out *o); // len = 0, failure flags cleared, memory kept
bool sch_out_ok(const struct sch_out *o);
// sch_out_status returns SCH_OK, or the failure with a message in |err|.
enum sch_status sch_out_status(const struct sch_out *o, struct sch_err *err);

void sch_out_add(struct sch_out *o, const void *p, size_t n);
void sch_out_addc(struct sch_out *o, char c);
void sch_out_adds(struct sch_out *o, const char *s);
// sch_out_json_str writes |n| bytes as a quoted JSON string (escaping '"', '\\' and control
// characters). The bytes must be valid UTF-8 (check with utf8_valid (base/utf8.h) first).
void sch_out_json_str(struct sch_out *o, const char *s, size_t n);
// sch_out_latin1_str writes bytes as a JSON string of the code points U+0000..U+00FF (Avro's JSON
// encoding of bytes and fixed).
void sch_out_latin1_str(struct sch_out *o, const uint8_t *p, size_t n);
// sch_out_base64_str writes bytes as a quoted standard base64 string with padding.
void sch_out_base64_str(struct sch_out *o, const uint8_t *p, size_t n);
void sch_out_i64(struct sch_out *o, int64_t v);
void sch_out_u64(struct sch_out *o, uint64_t v);
// sch_out_double / sch_out_float write the shortest decimal that reads back as the same value;
// NaN and infinities become the strings "NaN", "Infinity", "-Infinity" (proto3 JSON's rule,
// used for Avro too since JSON has no such numbers).
void sch_out_double(struct sch_out *o, double v);
void sch_out_float(struct sch_out *o, float v);

#endif
