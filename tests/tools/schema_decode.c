// schema_decode.c: runs kesm's schema/ decoders on a file, for tests that compare them with
// independent peers (avsc, protobufjs, @bufbuild/protobuf from npm).
//
// usage: schema_decode avro DATA SCHEMA.avsc [REF.avsc ...]
//        schema_decode proto DATA MSG MAIN.proto [IMPORTPATH=FILE ...]
//        schema_decode json DATA
// DATA is the unframed data (Avro binary, Protobuf bytes, JSON text). MSG picks the Protobuf
// message: "c:<i>[.<j>...]" a Confluent message-index path, "g:<n>" a Glue index, or
// "cf" (read the Confluent message indexes from the front of DATA) / "gf" (the Glue index).
// Prints the JSON on stdout and exits 0, or prints "error: <status>: <message>" and exits 1.
#include "schema/avro.h"
#include "schema/frame.h"
#include "schema/jsonschema.h"
#include "schema/proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "schema_decode: cannot open %s\n", path);
        exit(2);
    }
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    size_t k;
    while (b && (k = fread(b + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap);
        }
    }
    fclose(f);
    if (!b) {
        exit(2);
    }
    *len = n;
    return b;
}

static int report(enum sch_status st, const struct sch_err *err, const struct sch_out *out)
{
    if (st != SCH_OK) {
        printf("error: %s: %s\n", sch_status_name(st), err->msg);
        return 1;
    }
    fwrite(out->p, 1, out->len, stdout);
    putchar('\n');
    return 0;
}

static int run_avro(const uint8_t *data, size_t len, int argc, char **argv)
{
    size_t n = (size_t)argc;
    const char **texts = calloc(n, sizeof *texts);
    char **owned = calloc(n, sizeof *owned);
    size_t *lens = calloc(n, sizeof *lens);
    for (size_t i = 0; i < n; i++) {
        texts[i] = owned[i] = slurp(argv[i], &lens[i]);
    }
    // schema_decode lists the data's schema first; sch_avro_parse wants it last
    const char *t0 = texts[0];
    size_t l0 = lens[0];
    memmove(texts, texts + 1, (n - 1) * sizeof *texts);
    memmove(lens, lens + 1, (n - 1) * sizeof *lens);
    texts[n - 1] = t0;
    lens[n - 1] = l0;
    struct sch_err err = {{0}};
    struct sch_avro *s = NULL;
    struct sch_out out;
    sch_out_init(&out, 0);
    enum sch_status st = sch_avro_parse(&s, texts, lens, n, &err);
    if (st == SCH_OK) {
        st = sch_avro_to_json(s, data, len, &out, &err);
    }
    int rc = report(st, &err, &out);
    sch_avro_free(s);
    sch_out_cleanup(&out);
    for (size_t i = 0; i < n; i++) {
        free(owned[i]);
    }
    free(owned);
    free(texts);
    free(lens);
    return rc;
}

static enum sch_status pick(const struct sch_proto *p, const char *how, kr *r, uint32_t *msg,
                            struct sch_err *err)
{
    struct sch_msg_path path = {0};
    enum sch_status st;
    if (!strcmp(how, "cf")) {
        st = sch_confluent_msg_indexes(r, &path, err);
        return st != SCH_OK ? st : sch_proto_confluent_msg(p, &path, msg, err);
    }
    if (!strcmp(how, "gf")) {
        uint32_t idx;
        st = sch_glue_proto_index(r, &idx, err);
        return st != SCH_OK ? st : sch_proto_glue_msg(p, idx, msg, err);
    }
    if (!strncmp(how, "g:", 2)) {
        return sch_proto_glue_msg(p, (uint32_t)strtoul(how + 2, NULL, 10), msg, err);
    }
    const char *s = how + 2;
    while (*s && path.n < SCH_MAX_MSG_INDEXES) {
        char *end;
        path.idx[path.n++] = (uint32_t)strtoul(s, &end, 10);
        s = *end == '.' ? end + 1 : end;
    }
    return sch_proto_confluent_msg(p, &path, msg, err);
}

static int run_proto(const uint8_t *data, size_t len, int argc, char **argv)
{
    const char *how = argv[0];
    size_t n = (size_t)argc - 1;
    struct sch_proto_file *files = calloc(n, sizeof *files);
    char **owned = calloc(n, sizeof *owned);
    for (size_t i = 1; i < n; i++) { // imports: PATH=FILE
        char *eq = strchr(argv[i + 1], '=');
        if (!eq) {
            fprintf(stderr, "schema_decode: import %s is not PATH=FILE\n", argv[i + 1]);
            return 2;
        }
        *eq = 0;
        files[i - 1].name = argv[i + 1];
        files[i - 1].text = owned[i - 1] = slurp(eq + 1, &files[i - 1].len);
    }
    files[n - 1].name = "main.proto";
    files[n - 1].text = owned[n - 1] = slurp(argv[1], &files[n - 1].len);
    struct sch_err err = {{0}};
    struct sch_proto *p = NULL;
    struct sch_out out;
    sch_out_init(&out, 0);
    enum sch_status st = sch_proto_parse(&p, files, n, &err);
    uint32_t msg = 0;
    kr r;
    kr_init(&r, data, len);
    if (st == SCH_OK) {
        st = pick(p, how, &r, &msg, &err);
    }
    if (st == SCH_OK) {
        st = sch_proto_to_json(p, msg, r.p, kr_left(&r), &out, &err);
    }
    int rc = report(st, &err, &out);
    sch_proto_free(p);
    sch_out_cleanup(&out);
    for (size_t i = 0; i < n; i++) {
        free(owned[i]);
    }
    free(owned);
    free(files);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: schema_decode avro|proto|json DATA ...\n");
        return 2;
    }
    size_t len;
    uint8_t *data = (uint8_t *)slurp(argv[2], &len);
    int rc = 2;
    if (!strcmp(argv[1], "avro") && argc >= 4) {
        rc = run_avro(data, len, argc - 3, argv + 3);
    } else if (!strcmp(argv[1], "proto") && argc >= 5) {
        rc = run_proto(data, len, argc - 3, argv + 3);
    } else if (!strcmp(argv[1], "json")) {
        struct sch_err err = {{0}};
        enum sch_status st = sch_json_check(data, len, &err);
        struct sch_out out;
        sch_out_init(&out, 0);
        sch_out_add(&out, data, len);
        rc = report(st, &err, &out);
        sch_out_cleanup(&out);
    } else {
        fprintf(stderr, "usage: schema_decode avro|proto|json DATA ...\n");
    }
    free(data);
    return rc;
}
