// Throwaway generator of hand-built legacy message sets and a xerial-snappy magic-2 batch.
#include "proto/batch_builder.h"
#include "proto/compress.h"
#include "proto/crc32c.h"
#include "proto/kw.h"
#include <stdio.h>
#include <string.h>

// msg writes one legacy entry: offset, size, crc, magic, attributes, [ts], key, value.
static void msg(kw *w, int64_t off, int8_t magic, int8_t attrs, int64_t ts, const char *key,
                const void *val, size_t val_len)
{
    kw_i64(w, off);
    size_t sp; kw_begin_size32(w, &sp);
    size_t cp = kw_len(w);
    kw_u32(w, 0);
    kw_i8(w, magic); kw_i8(w, attrs);
    if (magic == 1) kw_i64(w, ts);
    kw_bytes(w, key, key ? strlen(key) : 0);
    kw_bytes(w, val, val_len);
    kw_end_size32(w, sp);
    kw_patch_u32(w, cp, kp_crc32(0, kw_data(w) + cp + 4, kw_len(w) - cp - 4));
}
static void save(const char *name, kw *w)
{
    FILE *f = fopen(name, "wb"); fwrite(kw_data(w), 1, kw_len(w), f); fclose(f);
}
static void wrapper(kw *out, int64_t off, int8_t magic, int codec, unsigned cflags, int8_t extra_attrs, int64_t ts, kw *inner)
{
    kw c; kw_init_grow(&c);
    kp_compress(&c, codec, cflags, kw_data(inner), kw_len(inner));
    msg(out, off, magic, (int8_t)(codec | extra_attrs), ts, NULL, kw_data(&c), kw_len(&c));
    kw_cleanup(&c);
}
int main(void)
{
    // magic 0: two plain messages (offsets 10, 11), then an lz4 wrapper (old wrong HC) of
    // absolute inner offsets 12..14 (wrapper offset 14), then a gzip wrapper 15..16.
    kw w; kw_init_grow(&w);
    msg(&w, 10, 0, 0, -1, "a", "one", 3);
    msg(&w, 11, 0, 0, -1, NULL, "", 0);
    kw in; kw_init_grow(&in);
    msg(&in, 12, 0, 0, -1, "k12", "v12", 3);
    msg(&in, 13, 0, 0, -1, NULL, NULL, 0);
    msg(&in, 14, 0, 0, -1, "k14", "v14", 3);
    wrapper(&w, 14, 0, KP_CODEC_LZ4, KP_COMP_LZ4_BAD_HC, 0, -1, &in);
    kw_cleanup(&in); kw_init_grow(&in);
    msg(&in, 15, 0, 0, -1, "k15", "v15", 3);
    msg(&in, 16, 0, 0, -1, "k16", "v16", 3);
    wrapper(&w, 16, 0, KP_CODEC_GZIP, 0, 0, -1, &in);
    save("records_legacy_v0.bin", &w);
    kw_cleanup(&w); kw_cleanup(&in);

    // magic 1: plain CreateTime message at 20 (ts 1600000000000), a gzip wrapper with relative
    // inner offsets 0..2 and wrapper offset 23 (absolute 21..23, CreateTime inner timestamps
    // 1600000000001..3), a snappy (xerial) wrapper in LogAppendTime at 25 (inner 0,1 -> 24,25,
    // timestamps = wrapper ts 1600000009999), an lz4 wrapper (correct HC) 26..27.
    kw_init_grow(&w); kw_init_grow(&in);
    msg(&w, 20, 1, 0, 1600000000000, "k20", "v20", 3);
    for (int i = 0; i < 3; i++) {
        char k[8], v[8]; snprintf(k, sizeof k, "k%d", 21 + i); snprintf(v, sizeof v, "v%d", 21 + i);
        msg(&in, i, 1, 0, 1600000000001 + i, k, v, strlen(v));
    }
    wrapper(&w, 23, 1, KP_CODEC_GZIP, 0, 0, 1600000000003, &in);
    kw_cleanup(&in); kw_init_grow(&in);
    msg(&in, 0, 1, 0, 1, "k24", "v24", 3);
    msg(&in, 1, 1, 0, 2, "k25", NULL, 0);
    wrapper(&w, 25, 1, KP_CODEC_SNAPPY, KP_COMP_SNAPPY_XERIAL, 0x08, 1600000009999, &in);
    kw_cleanup(&in); kw_init_grow(&in);
    msg(&in, 0, 1, 0, 1600000000026, "k26", "v26", 3);
    msg(&in, 1, 1, 0, 1600000000027, "k27", "v27", 3);
    wrapper(&w, 27, 1, KP_CODEC_LZ4, 0, 0, 1600000000027, &in);
    save("records_legacy_v1.bin", &w);
    kw_cleanup(&w); kw_cleanup(&in);

    // magic 2 with xerial snappy: 3 records, values of 40000 bytes so the xerial stream has
    // two chunks per record run (32 KiB blocks).
    struct kp_batch_params p; kp_batch_params_default(&p);
    p.codec = KP_CODEC_SNAPPY; p.compress_flags = KP_COMP_SNAPPY_XERIAL; p.compress = kp_compress; p.base_offset = 100;
    struct kp_batch_builder bb; kp_batch_builder_init(&bb, &p);
    static char big[40000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('a' + (i * 7 + i / 91) % 26);
    for (int i = 0; i < 3; i++) {
        char k[8]; snprintf(k, sizeof k, "x%d", i);
        struct kp_header_in h = {"n", 1, k, strlen(k)};
        struct kp_record_in r = {1700000000000 + i, k, strlen(k), big, sizeof big, &h, 1};
        kp_batch_builder_add(&bb, &r);
    }
    kw_init_grow(&w);
    kp_batch_builder_finish(&bb, &w);
    save("records_xerial.bin", &w);
    kw_cleanup(&w); kp_batch_builder_cleanup(&bb);
    return 0;
}
