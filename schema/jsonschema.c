// jsonschema.c: JSON Schema payloads (see jsonschema.h).
#include "schema/jsonschema.h"

#include "base/utf8.h"

#include <cjson/cJSON.h>

enum sch_status sch_json_check(const uint8_t *p, size_t len, struct sch_err *err)
{
    if (!utf8_valid(p, len)) {
        return sch_fail(err, SCH_ERR_MALFORMED, "JSON data: not valid UTF-8");
    }
    const char *text = len ? (const char *)p : "";
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!j) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        return sch_fail(err, SCH_ERR_MALFORMED, "JSON data: not valid JSON (at byte %zu)", at);
    }
    cJSON_Delete(j);
    size_t at = (size_t)(end - text);
    while (at < len &&
           (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r')) {
        at++;
    }
    if (at != len) {
        return sch_fail(err, SCH_ERR_MALFORMED, "JSON data: bytes after the value at byte %zu", at);
    }
    return SCH_OK;
}
