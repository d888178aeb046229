// fuzz_avro_decode.c: Avro schemas and Avro binary data to JSON (schema/avro.h).
// Byte 0: bit 7 set, the schema text comes from the input (bytes 1-2 its length, big-endian,
// then the text, then the data); otherwise one of the built-in schemas (byte 0 modulo their
// number) decodes the rest. Invariants: a successful decode writes valid UTF-8 that cJSON parses
// as exactly one JSON value; the output limit holds; errors always carry a message.
#include "base/utf8.h"
#include "schema/avro.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const schemas[] = {
    "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"com.acme\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"name\",\"type\":\"string\"},"
    "{\"name\":\"email\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
    "{\"name\":\"attrs\",\"type\":{\"type\":\"map\",\"values\":\"int\"}},"
    "{\"name\":\"status\",\"type\":{\"type\":\"enum\",\"name\":\"Status\",\"symbols\":[\"NEW\","
    "\"PAID\"]}},{\"name\":\"raw\",\"type\":\"bytes\"},"
    "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"Four\",\"size\":4}},"
    "{\"name\":\"price\",\"type\":\"float\"},{\"name\":\"total\",\"type\":\"double\"},"
    "{\"name\":\"ok\",\"type\":\"boolean\"},{\"name\":\"next\",\"type\":[\"null\",\"Order\"]}]}",
    "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":40,\"scale\":6}",
    "{\"type\":\"array\",\"items\":[\"null\",{\"type\":\"map\",\"values\":{\"type\":\"fixed\","
    "\"name\":\"D\",\"size\":3,\"logicalType\":\"decimal\",\"precision\":7,\"scale\":2}}]}",
    "{\"type\":\"record\",\"name\":\"E\",\"fields\":[]}",
};

static void check_output(const struct sch_out *out)
{
    assert(out->len <= out->limit);
    assert(utf8_valid((const uint8_t *)out->p, out->len));
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(out->p, out->len, &end, false);
    assert(j != NULL);
    assert(end == out->p + out->len);
    cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const char *text;
    size_t tlen;
    const uint8_t *payload;
    size_t plen;
    if (data[0] & 0x80) {
        if (size < 3) {
            return 0;
        }
        tlen = (size_t)data[1] << 8 | data[2];
        if (tlen > size - 3) {
            tlen = size - 3;
        }
        text = (const char *)data + 3;
        payload = data + 3 + tlen;
        plen = size - 3 - tlen;
    } else {
        text = schemas[data[0] % (sizeof schemas / sizeof schemas[0])];
        tlen = strlen(text);
        payload = data + 1;
        plen = size - 1;
    }
    struct sch_err err = {{0}};
    struct sch_avro *s = NULL;
    enum sch_status st = sch_avro_parse(&s, &text, &tlen, 1, &err);
    if (st != SCH_OK) {
        assert(err.msg[0] && s == NULL);
        return 0;
    }
    struct sch_out out;
    sch_out_init(&out, 1 << 20);
    st = sch_avro_to_json(s, payload, plen, &out, &err);
    if (st == SCH_OK) {
        check_output(&out);
    } else {
        assert(err.msg[0]);
    }
    sch_out_cleanup(&out);
    sch_avro_free(s);
    return 0;
}
