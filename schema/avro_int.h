// avro_int.h: the parsed Avro schema shared by avro_schema.c (parser) and avro.c (decoder).
#ifndef SCHEMA_AVRO_INT_H
#define SCHEMA_AVRO_INT_H

#include "schema/avro.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum avro_type {
    AVRO_NULL,
    AVRO_BOOLEAN,
    AVRO_INT,
    AVRO_LONG,
    AVRO_FLOAT,
    AVRO_DOUBLE,
    AVRO_BYTES,
    AVRO_STRING,
    AVRO_RECORD,
    AVRO_ENUM,
    AVRO_ARRAY,
    AVRO_MAP,
    AVRO_UNION,
    AVRO_FIXED,
};

// struct avro_node: one type. Indexes point into the schema's arrays:
//   record: fields[first .. first+count)      enum: symbols[first .. first+count)
//   union: branches[first .. first+count)     array, map: item = the item / value type
//   fixed: size bytes
struct avro_node {
    enum avro_type type;
    uint32_t first;
    uint32_t count;
    uint32_t item;
    uint32_t size;
    bool decimal; // logical type decimal (bytes or fixed)
    int32_t scale;
    char *name; // full name of a named type (record, enum, fixed); NULL otherwise
};

struct avro_field {
    char *name;
    uint32_t type;
};

struct sch_avro {
    struct avro_node *nodes;
    size_t num_nodes, cap_nodes;
    struct avro_field *fields;
    size_t num_fields, cap_fields;
    char **symbols;
    size_t num_symbols, cap_symbols;
    uint32_t *branches;
    size_t num_branches, cap_branches;
    uint32_t root;
    size_t mem; // bytes allocated for names and symbols
};

#endif
