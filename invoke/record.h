// record.h: the record view consumer/ hands to invoke/.
//
// Plain C data with no Kafka wire types: every pointer is a borrowed view into memory the caller
// owns (typically a decoded Fetch response). The views must stay valid only for the duration of
// the call they are passed to; the batcher copies (encodes) what it keeps.
#ifndef INVOKE_RECORD_H
#define INVOKE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum inv_ts_type {
    INV_TS_CREATE_TIME,       // "CREATE_TIME"
    INV_TS_LOG_APPEND_TIME,   // "LOG_APPEND_TIME"
    INV_TS_NO_TIMESTAMP_TYPE, // "NO_TIMESTAMP_TYPE" (pre-0.10 messages; timestamp is then -1)
};

// inv_ts_type_name returns the name Lambda's event uses: "CREATE_TIME", "LOG_APPEND_TIME" or
// "NO_TIMESTAMP_TYPE".
const char *inv_ts_type_name(enum inv_ts_type t);

// inv_bytes is a nullable byte string: is_null distinguishes a Kafka null from an empty value.
// When is_null is true, p and len are ignored.
struct inv_bytes {
    const uint8_t *p;
    size_t len;
    bool is_null;
};

// inv_header is one record header: a name (bytes, expected UTF-8) and a nullable value.
struct inv_header {
    const char *name;
    size_t name_len;
    struct inv_bytes value;
};

// inv_schema_meta is a record's keySchemaMetadata / valueSchemaMetadata (a schema registry
// decoded that attribute): {"dataFormat": data_format, "schemaId": schema_id}. Both strings are
// NUL-terminated and borrowed like the rest of the record.
struct inv_schema_meta {
    const char *data_format; // "AVRO", "PROTOBUF" or "JSON"
    const char *schema_id;   // a Confluent id in decimal or a Glue schema version UUID
};

// inv_record is one Kafka record as invoke/ sees it. Headers keep their record order, duplicates
// included.
struct inv_record {
    const char *topic;
    size_t topic_len;
    int32_t partition;
    int64_t offset;
    int64_t timestamp; // epoch milliseconds
    enum inv_ts_type ts_type;
    struct inv_bytes key;
    struct inv_bytes value;
    const struct inv_header *headers;
    size_t num_headers;
    const struct inv_schema_meta *key_meta;   // NULL: no keySchemaMetadata
    const struct inv_schema_meta *value_meta; // NULL: no valueSchemaMetadata
    // reject: the record cannot be delivered as it is (its schema-registry data did not decode);
    // the batcher hands it out alone with this condition (static storage) for the on-failure
    // destination. NULL for every ordinary record.
    const char *reject;
};

// inv_bytes_of makes a non-null view; inv_bytes_null a null one.
static inline struct inv_bytes inv_bytes_of(const void *p, size_t len)
{
    struct inv_bytes b = {(const uint8_t *)p, len, false};
    return b;
}

static inline struct inv_bytes inv_bytes_null(void)
{
    struct inv_bytes b = {NULL, 0, true};
    return b;
}

#endif
