// frame.c: Confluent and Glue framing (see frame.h).
#include "schema/frame.h"

#include "base/hex.h"

#include <string.h>

static enum sch_status cursor_fail(const kr *r, struct sch_err *err, const char *what)
{
    switch (r->fault) {
    case KR_TRUNCATED:
        return sch_fail(err, SCH_ERR_TRUNCATED, "%s: truncated at byte %zu", what, kr_offset(r));
    case KR_LIMIT:
        return sch_fail(err, SCH_ERR_LIMIT, "%s: too large at byte %zu", what, kr_offset(r));
    case KR_OK:
    case KR_MALFORMED:
        break;
    }
    return sch_fail(err, SCH_ERR_MALFORMED, "%s: malformed at byte %zu", what, kr_offset(r));
}

enum sch_status sch_confluent_parse(const uint8_t *p, size_t len, struct sch_confluent *out,
                                    struct sch_err *err)
{
    kr r;
    kr_init(&r, p, len);
    uint8_t magic;
    uint32_t id;
    if (!kr_u8(&r, &magic)) {
        return sch_fail(err, SCH_ERR_TRUNCATED,
                        "Confluent framing: empty (no magic byte, not registry-encoded)");
    }
    if (magic != SCH_CONFLUENT_MAGIC) {
        return sch_fail(err, SCH_ERR_MALFORMED,
                        "Confluent framing: magic byte 0x%02x at byte 0, expected 0x00 (not "
                        "registry-encoded)",
                        magic);
    }
    if (!kr_u32(&r, &id)) {
        return cursor_fail(&r, err, "Confluent framing: schema id");
    }
    if (id > INT32_MAX) {
        return sch_fail(err, SCH_ERR_MALFORMED, "Confluent framing: negative schema id %d",
                        (int)(int32_t)id);
    }
    out->schema_id = id;
    kr_rest(&r, &out->rest);
    return SCH_OK;
}

enum sch_status sch_confluent_msg_indexes(kr *r, struct sch_msg_path *out, struct sch_err *err)
{
    int32_t count;
    memset(out, 0, sizeof *out);
    if (!kr_varint(r, &count)) {
        return cursor_fail(r, err, "Confluent Protobuf message indexes: count");
    }
    if (count == 0) {
        out->n = 1; // the [0] shortcut
        return SCH_OK;
    }
    if (count < 0) {
        return sch_fail(err, SCH_ERR_MALFORMED,
                        "Confluent Protobuf message indexes: negative count %d at byte %zu",
                        (int)count, kr_offset(r));
    }
    if ((size_t)count > SCH_MAX_MSG_INDEXES || (size_t)count > kr_left(r)) {
        return sch_fail(err, SCH_ERR_LIMIT,
                        "Confluent Protobuf message indexes: count %d (at most %d, and one byte "
                        "each must follow)",
                        (int)count, SCH_MAX_MSG_INDEXES);
    }
    for (int32_t i = 0; i < count; i++) {
        int32_t idx;
        if (!kr_varint(r, &idx)) {
            return cursor_fail(r, err, "Confluent Protobuf message index");
        }
        if (idx < 0) {
            return sch_fail(err, SCH_ERR_MALFORMED,
                            "Confluent Protobuf message indexes: negative index %d at byte %zu",
                            (int)idx, kr_offset(r));
        }
        out->idx[out->n++] = (uint32_t)idx;
    }
    return SCH_OK;
}

enum sch_status sch_glue_parse(const uint8_t *p, size_t len, struct sch_glue *out,
                               struct sch_err *err)
{
    kr r;
    kr_init(&r, p, len);
    uint8_t version, comp;
    if (!kr_u8(&r, &version)) {
        return sch_fail(err, SCH_ERR_TRUNCATED,
                        "Glue framing: empty (no header version byte, not registry-encoded)");
    }
    if (version != SCH_GLUE_VERSION) {
        return sch_fail(err, SCH_ERR_MALFORMED,
                        "Glue framing: header version %u at byte 0, expected %u (not "
                        "registry-encoded)",
                        version, SCH_GLUE_VERSION);
    }
    if (!kr_u8(&r, &comp) || !kr_uuid(&r, out->version_id)) {
        return cursor_fail(&r, err, "Glue framing: header");
    }
    if (comp != SCH_GLUE_COMPRESSION_NONE && comp != SCH_GLUE_COMPRESSION_ZLIB) {
        return sch_fail(err, SCH_ERR_MALFORMED,
                        "Glue framing: compression byte %u at byte 1 (0 none or 5 zlib)", comp);
    }
    out->compression = comp;
    kr_rest(&r, &out->data);
    return SCH_OK;
}

enum sch_status sch_glue_proto_index(kr *r, uint32_t *out, struct sch_err *err)
{
    if (!kr_uvarint32(r, out)) {
        return cursor_fail(r, err, "Glue Protobuf message index");
    }
    return SCH_OK;
}

void sch_uuid_format(const uint8_t uuid[16], char out[37])
{
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[o++] = '-';
        }
        out[o++] = hex_lower[uuid[i] >> 4];
        out[o++] = hex_lower[uuid[i] & 15];
    }
    out[o] = 0;
}

bool sch_uuid_parse(const char *s, uint8_t out[16])
{
    if (strlen(s) != 36) {
        return false;
    }
    size_t b = 0;
    for (size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return false;
            }
            i++;
            continue;
        }
        int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[b++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return b == 16;
}
