// jsonschema.h: JSON Schema records. The registry's JSON Schema serializers write the record as
// JSON text; kesm checks that the text is valid UTF-8 and one valid JSON value and hands it on
// unchanged (it does not validate the value against the schema's constraints).
#ifndef SCHEMA_JSONSCHEMA_H
#define SCHEMA_JSONSCHEMA_H

#include "schema/sch.h"

#include <stddef.h>
#include <stdint.h>

// sch_json_check returns SCH_OK if |len| bytes at |p| are valid UTF-8 holding exactly one JSON
// value (whitespace around it allowed), else SCH_ERR_MALFORMED with where in |err|.
enum sch_status sch_json_check(const uint8_t *p, size_t len, struct sch_err *err);

#endif
