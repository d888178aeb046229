// records_produce.c: sends one record batch written by kesm's batch builder to a broker with a
// Produce v3 request, for tests/integration/records_librdkafka.sh, which then reads it back with
// kcat (librdkafka, CRC checks on) and compares.
//
// Usage: records_produce HOST:PORT TOPIC PARTITION CODEC COUNT
//   CODEC is none, gzip, snappy, snappy-xerial, lz4 or zstd. The batch holds COUNT records:
//   record i has CreateTime 1700000000000 + i, key "rk<i>" (null for every fifth record),
//   value "rv<i>-<codec>" padded with '.' to 64 bytes, and headers h=<i> and codec=<codec>.
//   The broker must lead the partition. On success it prints, for each record, the line kcat
//   prints with -f '%o\t%k\t%s\t%h\t%T\n' when the batch lands at offset 0, and exits 0.
#include "proto/api.h"
#include "proto/batch_builder.h"
#include "proto/compress.h"
#include "proto/frame.h"
#include "proto/produce.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int die(const char *msg)
{
    fprintf(stderr, "records_produce: %s\n", msg);
    return 1;
}

static int connect_to(const char *hostport)
{
    char host[64];
    const char *colon = strrchr(hostport, ':');
    if (!colon || (size_t)(colon - hostport) >= sizeof host) {
        return -1;
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = 0;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {10, 0};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

static bool parse_codec(const char *name, int *out_codec, unsigned *out_flags)
{
    static const struct {
        const char *name;
        int codec;
        unsigned flags;
    } t[] = {
        {"none", KP_CODEC_NONE, 0},     {"gzip", KP_CODEC_GZIP, 0},
        {"snappy", KP_CODEC_SNAPPY, 0}, {"snappy-xerial", KP_CODEC_SNAPPY, KP_COMP_SNAPPY_XERIAL},
        {"lz4", KP_CODEC_LZ4, 0},       {"zstd", KP_CODEC_ZSTD, 0}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (strcmp(name, t[i].name) == 0) {
            *out_codec = t[i].codec;
            *out_flags = t[i].flags;
            return true;
        }
    }
    return false;
}

// build writes the batch into |w| and the expected kcat lines into |expect|.
static bool build(kw *w, const char *codec_name, int codec, unsigned flags, int count, FILE *expect)
{
    struct kp_batch_params p;
    kp_batch_params_default(&p);
    p.codec = codec;
    p.compress_flags = flags;
    p.compress = kp_compress;
    struct kp_batch_builder bb;
    kp_batch_builder_init(&bb, &p);
    bool ok = true;
    for (int i = 0; ok && i < count; i++) {
        char key[32], value[128], hval[16];
        snprintf(key, sizeof key, "rk%d", i);
        int n = snprintf(value, sizeof value, "rv%d-%s", i, codec_name);
        while (n < 64) {
            value[n++] = '.';
        }
        value[n] = 0;
        snprintf(hval, sizeof hval, "%d", i);
        struct kp_header_in h[2] = {{"h", 1, hval, strlen(hval)},
                                    {"codec", 5, codec_name, strlen(codec_name)}};
        bool null_key = i % 5 == 4;
        struct kp_record_in r = {
            1700000000000 + i, null_key ? NULL : key, strlen(key), value, strlen(value), h, 2};
        ok = kp_batch_builder_add(&bb, &r);
        fprintf(expect, "%d\t%s\t%s\th=%s,codec=%s\t%lld\n", i, null_key ? "" : key, value, hval,
                codec_name, 1700000000000LL + i);
    }
    ok = ok && kp_batch_builder_finish(&bb, w) == KP_OK;
    kp_batch_builder_cleanup(&bb);
    return ok;
}

static bool send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) {
            return false;
        }
        p += k;
        n -= (size_t)k;
    }
    return true;
}

// produce sends the batch and checks the response; returns 0 on success.
static int produce(int fd, const char *topic, int32_t partition, const uint8_t *batch,
                   size_t batch_len)
{
    struct kp_produce_req_partition part = {partition, batch, batch_len};
    struct kp_produce_req_topic t = {topic, &part, 1};
    struct kp_produce_req req = {NULL, -1, 10000, &t, 1};
    kw w;
    kw_init_grow(&w);
    size_t pos;
    bool ok = kp_req_begin(&w, 0, 3, 1, "records_produce", &pos) &&
              kp_produce_req_write(&w, 3, &req) && kp_req_end(&w, pos);
    ok = ok && send_all(fd, kw_data(&w), kw_len(&w));
    kw_cleanup(&w);
    if (!ok) {
        return die("cannot write or send the Produce request");
    }
    uint8_t buf[4096];
    size_t have = 0;
    for (;;) {
        kr frame;
        size_t consumed, need;
        enum kp_status st = kp_frame_split(buf, have, sizeof buf, &frame, &consumed, &need);
        if (st == KP_OK) {
            int32_t corr;
            struct kp_produce_resp resp;
            struct kp_produce_iter ti, pi;
            struct kp_produce_topic rt;
            struct kp_produce_partition rp;
            if (kp_resp_hdr_parse(&frame, 0, 3, &corr, NULL) != KP_OK ||
                kp_produce_resp_parse(&frame, 3, &resp, NULL) != KP_OK) {
                return die("malformed Produce response");
            }
            kp_produce_topics(&resp, &ti);
            if (!kp_produce_next_topic(&ti, &rt)) {
                return die("Produce response without topics");
            }
            kp_produce_partitions(&ti, &rt, &pi);
            if (!kp_produce_next_partition(&pi, &rp)) {
                return die("Produce response without partitions");
            }
            fprintf(stderr, "records_produce: error_code %d base_offset %lld\n", rp.error_code,
                    (long long)rp.base_offset);
            return rp.error_code == 0 ? 0 : 1;
        }
        if (st != KP_NEED_MORE || have == sizeof buf) {
            return die("bad response frame");
        }
        ssize_t k = recv(fd, buf + have, sizeof buf - have, 0);
        if (k <= 0) {
            return die("no response (closed or timed out)");
        }
        have += (size_t)k;
    }
}

int main(int argc, char **argv)
{
    int codec;
    unsigned flags;
    if (argc != 6 || !parse_codec(argv[4], &codec, &flags) || atoi(argv[5]) <= 0) {
        fprintf(stderr, "usage: records_produce HOST:PORT TOPIC PARTITION CODEC COUNT\n");
        return 2;
    }
    kw batch;
    kw_init_grow(&batch);
    char *expect_buf = NULL;
    size_t expect_len = 0;
    FILE *expect = open_memstream(&expect_buf, &expect_len);
    if (!expect || !build(&batch, argv[4], codec, flags, atoi(argv[5]), expect)) {
        return die("cannot build the batch");
    }
    fclose(expect);
    int fd = connect_to(argv[1]);
    if (fd < 0) {
        return die("cannot connect");
    }
    int rc = produce(fd, argv[2], (int32_t)atoi(argv[3]), kw_data(&batch), kw_len(&batch));
    close(fd);
    kw_cleanup(&batch);
    if (rc == 0) {
        fwrite(expect_buf, 1, expect_len, stdout);
    }
    free(expect_buf);
    return rc;
}
