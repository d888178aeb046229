// frame.h: the schema-registry framings of Kafka keys and values.
//
// Confluent (Schema Registry serializers, KafkaAvroSerializer and friends):
//   byte 0       magic 0x00
//   bytes 1-4    schema id, int32 big-endian (ids are positive; bit 31 set is refused)
//   Protobuf only: the message-index array, zigzag varints: a count, then that many indexes
//                (a path through the schema file's nested message declarations). A count of 0
//                means [0], the first message of the file, which serializers write as the
//                single byte 0x00.
//   then the encoded data (Avro binary without a container, JSON text, or Protobuf bytes).
//
// AWS Glue Schema Registry (aws-glue-schema-registry serde):
//   byte 0       header version 3
//   byte 1       compression: 0 none, 5 zlib (the data then is a zlib stream)
//   bytes 2-17   the schema version id, a UUID
//   then the data; for Protobuf it starts with one unsigned varint, the index of the message type
//   among every message of the file (nested ones included) sorted by full name.
//
// Parsers return views into the input (which must outlive them) and end with every byte
// accounted for.
#ifndef SCHEMA_FRAME_H
#define SCHEMA_FRAME_H

#include "proto/kr.h"
#include "schema/sch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCH_CONFLUENT_MAGIC 0x00
#define SCH_GLUE_VERSION 3
#define SCH_GLUE_COMPRESSION_NONE 0
#define SCH_GLUE_COMPRESSION_ZLIB 5
#define SCH_GLUE_HEADER_LEN 18
#define SCH_MAX_MSG_INDEXES 32 // nesting of message types a path may name

struct sch_confluent {
    uint32_t schema_id;
    kr rest; // everything after the id (message indexes, then data)
};

// sch_confluent_parse reads the 5-byte header of |len| bytes at |p|.
enum sch_status sch_confluent_parse(const uint8_t *p, size_t len, struct sch_confluent *out,
                                    struct sch_err *err);

struct sch_msg_path {
    uint32_t n;
    uint32_t idx[SCH_MAX_MSG_INDEXES];
};

// sch_confluent_msg_indexes reads the message-index array from |r| (leaving |r| at the Protobuf
// data). Negative indexes, a count over SCH_MAX_MSG_INDEXES or one larger than the bytes left
// are refused.
enum sch_status sch_confluent_msg_indexes(kr *r, struct sch_msg_path *out, struct sch_err *err);

struct sch_glue {
    uint8_t compression;
    uint8_t version_id[16];
    kr data;
};

// sch_glue_parse reads the 18-byte header. Unknown versions and compressions are refused.
enum sch_status sch_glue_parse(const uint8_t *p, size_t len, struct sch_glue *out,
                               struct sch_err *err);

// sch_glue_proto_index reads the Glue Protobuf message index (an unsigned varint) from |r|.
enum sch_status sch_glue_proto_index(kr *r, uint32_t *out, struct sch_err *err);

// sch_uuid_format writes the canonical 36-character lower-case form (8-4-4-4-12) into |out|.
void sch_uuid_format(const uint8_t uuid[16], char out[37]);

// sch_uuid_parse reads the canonical form (either case); false if |s| is not one.
bool sch_uuid_parse(const char *s, uint8_t out[16]);

#endif
