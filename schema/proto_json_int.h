// proto_json_int.h: the Protobuf data decoder's internals, shared by proto_json.c (wire fields,
// scalars, repeated fields, maps, messages) and proto_wkt.c (the well-known types).
#ifndef SCHEMA_PROTO_JSON_INT_H
#define SCHEMA_PROTO_JSON_INT_H

#include "schema/proto_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Protobuf wire types.
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

// struct chunk: a byte range of the data (a view).
struct chunk {
    const uint8_t *p;
    size_t len;
};

// struct occ: one occurrence of a known field, as pj_collect finds it.
struct occ {
    uint32_t field; // index within the message
    uint8_t wt;
    uint64_t v;       // varint, I32 and I64 values
    struct chunk buf; // LEN and group contents
};

// struct pdec: one decoding: the pool, the output, and its first error.
struct pdec {
    const struct sch_proto *p;
    struct sch_out *out;
    struct sch_err *err;
    enum sch_status st;
};

// pj_fail records the first error of |d| (|st|, naming message |msg_name| and |what|); false.
bool pj_fail(struct pdec *d, enum sch_status st, const char *msg_name, const char *what);

// pj_out_ok reports whether |d|'s output is still good, recording its error when not.
bool pj_out_ok(struct pdec *d);

// pj_collect reads every field of |chunks| into *out (allocated; *out_n entries): the
// occurrences of known fields with an allowed wire type. False after pj_fail.
bool pj_collect(struct pdec *d, const struct pb_msg *m, const struct chunk *chunks, size_t nc,
                int depth, struct occ **out, size_t *out_n);

// pj_emit_scalar writes one scalar value of |f| (|v| for numbers, |buf| for string and bytes).
bool pj_emit_scalar(struct pdec *d, const struct pb_msg *m, const struct pb_field *f, uint64_t v,
                    struct chunk buf);

// pj_emit_value writes one non-packed value of |f| from occurrences |occs| (|n| of them: a
// message merges all, a scalar takes the last).
bool pj_emit_value(struct pdec *d, const struct pb_msg *m, const struct pb_field *f,
                   const struct occ *occs, size_t n, int depth);

// pj_emit_map writes map field |f| from its entries |occs| (|n|) as a JSON object.
bool pj_emit_map(struct pdec *d, const struct pb_field *f, const struct occ *occs, size_t n,
                 int depth);

// pj_emit_message writes message |msg| from the merged byte ranges |chunks| (|nc|).
bool pj_emit_message(struct pdec *d, uint32_t msg, const struct chunk *chunks, size_t nc,
                     int depth);

// pj_emit_wkt writes well-known type |m| (not Empty) from |chunks| in its own JSON form.
bool pj_emit_wkt(struct pdec *d, const struct pb_msg *m, const struct chunk *chunks, size_t nc,
                 int depth);

#endif
