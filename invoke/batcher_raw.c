// batcher_raw.c: the record blobs of the batcher's queues (see batcher.c): a record's key, value,
// headers and schema metadata copied into one compact, unaligned blob, and read back as views.
#include "base/alloc.h"
#include "invoke/batcher_int.h"

#include <stdlib.h>
#include <string.h>

// A record blob: a raw_head, the key and value bytes (when not null), then per header a
// raw_header, its name and its value bytes (when not null). Fields are copied with memcpy, so
// blobs need no alignment.
struct raw_head {
    size_t key_len;
    size_t value_len;
    size_t num_headers;
    size_t meta_len[4]; // key dataFormat, key schemaId, value dataFormat, value schemaId, each
                        // with its NUL (0: no such metadata)
    int ts_type;
    bool key_null;
    bool value_null;
};

// meta_strs lists the schema metadata strings of |rec| (NULL where absent).
static void meta_strs(const struct inv_record *rec, const char *out[4])
{
    out[0] = rec->key_meta ? rec->key_meta->data_format : NULL;
    out[1] = rec->key_meta ? rec->key_meta->schema_id : NULL;
    out[2] = rec->value_meta ? rec->value_meta->data_format : NULL;
    out[3] = rec->value_meta ? rec->value_meta->schema_id : NULL;
}

struct raw_header {
    size_t name_len;
    size_t value_len;
    bool value_null;
};

static size_t raw_size(const struct inv_record *rec)
{
    size_t n = sizeof(struct raw_head);
    const char *ms[4];
    meta_strs(rec, ms);
    for (size_t i = 0; i < 4; i++) {
        n += ms[i] ? strlen(ms[i]) + 1 : 0;
    }
    n += rec->key.is_null ? 0 : rec->key.len;
    n += rec->value.is_null ? 0 : rec->value.len;
    for (size_t i = 0; i < rec->num_headers; i++) {
        const struct inv_header *h = &rec->headers[i];
        n += sizeof(struct raw_header) + h->name_len + (h->value.is_null ? 0 : h->value.len);
    }
    return n;
}

char *bt_put_bytes(char *o, const void *p, size_t n)
{
    if (n) {
        memcpy(o, p, n);
    }
    return o + n;
}

// bt_raw_put appends |rec|'s blob (raw_size bytes) to |out|.
void bt_raw_put(struct buf *out, const struct inv_record *rec)
{
    size_t n = raw_size(rec);
    char *d = buf_reserve(out, n);
    struct raw_head rh;
    memset(&rh, 0, sizeof rh);
    rh.key_null = rec->key.is_null;
    rh.key_len = rec->key.is_null ? 0 : rec->key.len;
    rh.value_null = rec->value.is_null;
    rh.value_len = rec->value.is_null ? 0 : rec->value.len;
    rh.num_headers = rec->num_headers;
    rh.ts_type = (int)rec->ts_type;
    const char *ms[4];
    meta_strs(rec, ms);
    for (size_t i = 0; i < 4; i++) {
        rh.meta_len[i] = ms[i] ? strlen(ms[i]) + 1 : 0;
    }
    char *o = bt_put_bytes(d, &rh, sizeof rh);
    for (size_t i = 0; i < 4; i++) {
        o = bt_put_bytes(o, ms[i], rh.meta_len[i]);
    }
    o = bt_put_bytes(o, rec->key.p, rh.key_len);
    o = bt_put_bytes(o, rec->value.p, rh.value_len);
    for (size_t i = 0; i < rec->num_headers; i++) {
        const struct inv_header *h = &rec->headers[i];
        struct raw_header hh;
        memset(&hh, 0, sizeof hh);
        hh.name_len = h->name_len;
        hh.value_null = h->value.is_null;
        hh.value_len = h->value.is_null ? 0 : h->value.len;
        o = bt_put_bytes(o, &hh, sizeof hh);
        o = bt_put_bytes(o, h->name, hh.name_len);
        o = bt_put_bytes(o, h->value.p, hh.value_len);
    }
    if (o != d + n) {
        abort(); // raw_size and raw_put disagree
    }
    out->len += n;
}

// bt_raw_get fills |r| (offset, timestamp, topic and partition excepted) with views into the
// blob at |p|; headers go to b->hdrs.
void bt_raw_get(struct batcher *b, const char *p, struct inv_record *r)
{
    struct raw_head rh;
    memcpy(&rh, p, sizeof rh);
    p += sizeof rh;
    const char *ms[4];
    for (size_t i = 0; i < 4; i++) {
        ms[i] = rh.meta_len[i] ? p : NULL;
        p += rh.meta_len[i];
    }
    b->metas[0] = (struct inv_schema_meta){ms[0], ms[1]};
    b->metas[1] = (struct inv_schema_meta){ms[2], ms[3]};
    r->key_meta = ms[0] ? &b->metas[0] : NULL;
    r->value_meta = ms[2] ? &b->metas[1] : NULL;
    r->ts_type = (enum inv_ts_type)rh.ts_type;
    r->key = rh.key_null ? inv_bytes_null() : inv_bytes_of(p, rh.key_len);
    p += rh.key_len;
    r->value = rh.value_null ? inv_bytes_null() : inv_bytes_of(p, rh.value_len);
    p += rh.value_len;
    r->num_headers = rh.num_headers;
    r->headers = NULL;
    if (rh.num_headers == 0) {
        return;
    }
    if (rh.num_headers > b->hdrs_cap) {
        b->hdrs = xrealloc(b->hdrs, rh.num_headers * sizeof *b->hdrs);
        b->hdrs_cap = rh.num_headers;
    }
    for (size_t i = 0; i < rh.num_headers; i++) {
        struct raw_header hh;
        memcpy(&hh, p, sizeof hh);
        p += sizeof hh;
        b->hdrs[i].name = p;
        b->hdrs[i].name_len = hh.name_len;
        p += hh.name_len;
        b->hdrs[i].value = hh.value_null ? inv_bytes_null() : inv_bytes_of(p, hh.value_len);
        p += hh.value_len;
    }
    r->headers = b->hdrs;
}
