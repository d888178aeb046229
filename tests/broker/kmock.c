// kmock.c: a Kafka test cluster for kesm's tests, driven one command per line on stdin.
//
// It hosts librdkafka's mock cluster (the `test.mock.num.brokers` property on an owning handle),
// feeds it records through librdkafka producers and reconfigures it on command. It is a test
// fixture, linked only with librdkafka; nothing in kesm links with it.
//
// Usage: kmock [-b BROKERS] [-t TOPIC:PARTITIONS]... [-l LIFETIME_S]
//   -b  number of brokers, ids 1..N (default 3)
//   -t  create a topic before starting (repeatable)
//   -l  maximum lifetime in seconds (default 900); when it expires kmock prints a line on stderr
//       and exits with status 3. A second guard besides EOF on stdin.
//
// Output: the first line on stdout is `BOOTSTRAP host:port,host:port,...`. After that every
// command gets exactly one answer line, `ok ...` or `error ...`, and nothing else is written to
// stdout (librdkafka's own log goes to stderr). stdout is line-buffered, so a test can send a
// command and wait for its answer line. Blank lines and lines starting with `#` are ignored
// and get no answer. kmock exits 0 on `quit` or at EOF on stdin, so a test that dies (and
// thereby closes the write end of kmock's stdin) never leaves it running.
//
// Arguments are separated by blanks. Literal strings (key=, value=, headers=) are
// percent-decoded: %20 is a space, %2C a comma, %3D an equals sign, %25 a percent sign.
// The literal `null` means a null key or value; write `%6Eull` for the four-letter string.
// APIKEY is a number or a name (Produce, Fetch, ListOffsets, Metadata, OffsetCommit,
// OffsetFetch, FindCoordinator, JoinGroup, Heartbeat, LeaveGroup, SyncGroup, ApiVersions, ...).
// ERR is a number or a librdkafka error name, case-insensitive, with or without the
// RD_KAFKA_RESP_ERR_ prefix: 6, NOT_LEADER_FOR_PARTITION, _TRANSPORT (-195: the mock drops the
// connection instead of answering).
//
// Commands and their answers:
//   topic NAME PARTITIONS [RF]            create a topic         -> ok topic NAME partitions=P
//   produce TOPIC COUNT [OPTION...]       produce COUNT records and wait for every delivery report
//       -> ok produce topic=T count=N delivered=D failed=F ms=M [first_error=NAME]
//     OPTION is one of:
//       partition=N|any   target partition; `any` (default) sends record i of this command to
//                         partition i % partitions
//       codec=C           none (default), gzip, snappy, lz4, zstd
//       size=N            value length: the generated value is padded with `.` and then a
//                         repeating a-z pattern, or truncated, to N bytes (default: its
//                         natural length)
//       value=LIT|null    a literal value for every record, or a null value (tombstone)
//       keysize=N         key length, padded or truncated like size=
//       key=LIT|null      a literal key for every record, or a null key
//       headers=none|H,H  headers, each `name=value` (or `name` for a null value); default none
//       ts=MS             CreateTime of the first record (default: the producer's clock)
//       tsstep=MS         added to the timestamp per record (default 1; needs ts=)
//     Every topic-partition has a sequence counter that starts at 0 and counts each record
//     produced to it by kmock (failed ones too). The generated value is `seq=<n> part=<p>` and
//     the generated key is `k<p>-<n>`, so a consumer can check loss and per-partition order:
//     when every record of a partition came from kmock and was delivered, seq equals offset.
//   down BROKER | up BROKER               take a broker's listener down / bring it back (-1 = all;
//                                         partition leadership does not move)
//   leader TOPIC PARTITION BROKER         move a partition leader (-1 = leaderless)
//   coord group|transaction KEY BROKER    pin the coordinator of a group or transactional id
//   reqerr APIKEY ERR [ERR...]            the next requests of APIKEY (any broker) fail in turn
//   brokerr BROKER APIKEY ERR RTT_MS [ERR RTT_MS...]  the same on one broker, with a delay each
//   clear APIKEY                          drop the pending cluster-wide errors of APIKEY
//   rtt BROKER MS                         add MS of round-trip time on a broker (-1 = all)
//   apiver APIKEY MIN MAX                 change the version range served (-1 -1 disables)
//   topicerr TOPIC ERR                    Metadata reports ERR for TOPIC (0 clears)
//   committed GROUP TOPIC NPART           committed offsets of GROUP (OffsetFetch)
//       -> ok committed group=G topic=T 0=OFFSET 1=none ...   (none: nothing committed)
//   watermarks TOPIC PARTITION            -> ok watermarks topic=T partition=P low=L high=H
//   bootstrap                             -> ok bootstrap host:port,...
//   help                                  -> ok commands: ...
//   quit                                  -> ok bye, then exit 0
//
// Mock facts worth knowing (librdkafka 2.0.2): partition leaders are chosen at random when a
// topic is created (pin them with `leader`); a Metadata request for an unknown topic creates it
// with 4 partitions; each partition keeps at most 5 MiB of batches; the first join of a group
// waits 3 s and later rebalances wait session.timeout.ms - 1000 ms.
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 64
#define MAX_LINE 8192
#define MAX_HEADERS 32
#define MSG_TIMEOUT_MS "15000"

enum codec { CODEC_NONE, CODEC_GZIP, CODEC_SNAPPY, CODEC_LZ4, CODEC_ZSTD, CODEC_COUNT };

static const char *const codec_names[CODEC_COUNT] = {"none", "gzip", "snappy", "lz4", "zstd"};

static rd_kafka_t *owner; // owns the mock cluster; also used for watermark queries
static rd_kafka_mock_cluster_t *mcluster;
static const char *bootstraps;
static int num_brokers = 3;
static rd_kafka_t *producers[CODEC_COUNT];

// Per topic-partition sequence counters.
struct seq {
    char *topic;
    int32_t partition;
    int64_t next;
};
static struct seq *seqs;
static size_t num_seqs, cap_seqs;

// Delivery accounting for one produce command.
struct tally {
    long delivered, failed;
    rd_kafka_resp_err_t first_error;
};

static void answer_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void answer_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("error ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

static void on_alarm(int sig)
{
    static const char msg[] = "kmock: maximum lifetime reached, exiting\n";
    (void)sig;
    ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)n;
    _exit(3);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "kmock: out of memory\n");
        exit(2);
    }
    return q;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

// parse_i64 parses all of s as a decimal integer in [min, max].
static bool parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

// parse_int parses an argument or answers an error naming the command and the field.
static bool parse_int(const char *cmd, const char *what, const char *s, int64_t min, int64_t max,
                      int64_t *out)
{
    if (parse_i64(s, min, max, out)) {
        return true;
    }
    answer_error("%s: %s \"%s\" is not an integer in [%lld, %lld]", cmd, what, s, (long long)min,
                 (long long)max);
    return false;
}

static bool parse_broker(const char *cmd, const char *s, bool allow_all, int32_t *out)
{
    int64_t v;
    if (!parse_int(cmd, "broker id", s, allow_all ? -1 : 1, num_brokers, &v)) {
        return false;
    }
    if (v == 0) {
        answer_error("%s: broker id 0 does not exist (ids are 1..%d%s)", cmd, num_brokers,
                     allow_all ? ", -1 = all" : "");
        return false;
    }
    *out = (int32_t)v;
    return true;
}

static const struct {
    const char *name;
    int16_t key;
} api_names[] = {
    {"Produce", 0},           {"Fetch", 1},           {"ListOffsets", 2},
    {"Metadata", 3},          {"OffsetCommit", 8},    {"OffsetFetch", 9},
    {"FindCoordinator", 10},  {"JoinGroup", 11},      {"Heartbeat", 12},
    {"LeaveGroup", 13},       {"SyncGroup", 14},      {"DescribeGroups", 15},
    {"ListGroups", 16},       {"SaslHandshake", 17},  {"ApiVersions", 18},
    {"CreateTopics", 19},     {"InitProducerId", 22}, {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25},  {"EndTxn", 26},         {"TxnOffsetCommit", 28},
    {"SaslAuthenticate", 36},
};

static bool parse_apikey(const char *cmd, const char *s, int16_t *out)
{
    int64_t v;
    if (parse_i64(s, 0, 99, &v)) {
        *out = (int16_t)v;
        return true;
    }
    for (size_t i = 0; i < sizeof api_names / sizeof api_names[0]; i++) {
        if (!strcasecmp(s, api_names[i].name)) {
            *out = api_names[i].key;
            return true;
        }
    }
    answer_error("%s: api key \"%s\" is neither a number in [0, 99] nor a known API name", cmd, s);
    return false;
}

static bool parse_errcode(const char *cmd, const char *s, rd_kafka_resp_err_t *out)
{
    int64_t v;
    if (parse_i64(s, -200, 200, &v)) {
        *out = (rd_kafka_resp_err_t)v;
        return true;
    }
    const char *name = s;
    if (!strncasecmp(name, "RD_KAFKA_RESP_ERR_", 18)) {
        name += 18;
    }
    const struct rd_kafka_err_desc *descs;
    size_t n;
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++) {
        if (descs[i].name && !strcasecmp(name, descs[i].name)) {
            *out = descs[i].code;
            return true;
        }
    }
    answer_error("%s: error code \"%s\" is neither a number in [-200, 200] nor a librdkafka "
                 "error name",
                 cmd, s);
    return false;
}

// pct_decode decodes %XX escapes in place; false on a malformed escape.
static bool pct_decode(char *s, size_t *out_len)
{
    size_t o = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] != '%') {
            s[o++] = s[i];
            continue;
        }
        unsigned v = 0;
        for (int k = 1; k <= 2; k++) {
            char c = s[i + (size_t)k];
            unsigned d;
            if (c >= '0' && c <= '9') {
                d = (unsigned)(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                d = (unsigned)(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                d = (unsigned)(c - 'A' + 10);
            } else {
                return false;
            }
            v = v * 16 + d;
        }
        s[o++] = (char)v;
        i += 2;
    }
    s[o] = '\0';
    *out_len = o;
    return true;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct tally *t = m->_private;
    (void)rk;
    (void)opaque;
    if (!t) {
        return;
    }
    if (m->err) {
        if (!t->failed) {
            t->first_error = m->err;
        }
        t->failed++;
    } else {
        t->delivered++;
    }
}

static rd_kafka_t *producer_for(enum codec c)
{
    if (producers[c]) {
        return producers[c];
    }
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *settings[][2] = {
        {"bootstrap.servers", bootstraps},
        {"compression.codec", codec_names[c]},
        {"linger.ms", "5"},
        {"batch.num.messages", "10000"},
        {"max.in.flight.requests.per.connection", "1"}, // keep order across retries
        {"message.timeout.ms", MSG_TIMEOUT_MS},
        {"queue.buffering.max.messages", "1000000"},
        {"queue.buffering.max.kbytes", "1048576"},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        if (rd_kafka_conf_set(conf, settings[i][0], settings[i][1], errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
            fprintf(stderr, "kmock: %s: %s\n", settings[i][0], errstr);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    producers[c] = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!producers[c]) {
        fprintf(stderr, "kmock: producer: %s\n", errstr);
    }
    return producers[c];
}

// seq_index returns the index in seqs of the counter of topic-partition, adding it if new.
static size_t seq_index(const char *topic, int32_t partition)
{
    for (size_t i = 0; i < num_seqs; i++) {
        if (seqs[i].partition == partition && !strcmp(seqs[i].topic, topic)) {
            return i;
        }
    }
    if (num_seqs == cap_seqs) {
        cap_seqs = cap_seqs ? cap_seqs * 2 : 64;
        seqs = xrealloc(seqs, cap_seqs * sizeof *seqs);
    }
    size_t len = strlen(topic) + 1;
    seqs[num_seqs].topic = memcpy(xrealloc(NULL, len), topic, len);
    seqs[num_seqs].partition = partition;
    seqs[num_seqs].next = 0;
    return num_seqs++;
}

// topic_partitions asks the cluster how many partitions TOPIC has (creating it if unknown,
// as the mock does). Returns -1 after answering an error.
static int topic_partitions(rd_kafka_t *rk, const char *topic)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err =
        rkt ? rd_kafka_metadata(rk, 0, rkt, &md, 10000) : rd_kafka_last_error();
    int n = -1;
    if (err) {
        answer_error("produce: metadata for topic \"%s\": %s", topic, rd_kafka_err2str(err));
    } else if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt < 1) {
        answer_error("produce: metadata for topic \"%s\": %s", topic,
                     md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "no topic");
    } else {
        n = md->topics[0].partition_cnt;
    }
    if (md) {
        rd_kafka_metadata_destroy(md);
    }
    if (rkt) {
        rd_kafka_topic_destroy(rkt);
    }
    return n;
}

// A literal or generated field of a record: a literal (possibly null), or generated text
// padded/truncated to `size` (size < 0: natural length).
struct field {
    bool literal, is_null;
    const char *lit;
    size_t lit_len;
    long size;
};

struct produce_opts {
    int32_t partition; // RD_KAFKA_PARTITION_UA = any
    enum codec codec;
    struct field key, value;
    int num_headers;
    const char *hname[MAX_HEADERS];
    const char *hval[MAX_HEADERS]; // NULL = null value
    size_t hval_len[MAX_HEADERS];
    bool has_ts;
    int64_t ts, tsstep;
};

static bool parse_literal(const char *opt, char *s, struct field *f)
{
    f->literal = true;
    if (!strcmp(s, "null")) {
        f->is_null = true;
        return true;
    }
    if (!pct_decode(s, &f->lit_len)) {
        answer_error("produce: %s=\"%s\" has a malformed %%XX escape", opt, s);
        return false;
    }
    f->lit = s;
    return true;
}

static bool parse_headers(char *s, struct produce_opts *o)
{
    if (!strcmp(s, "none")) {
        o->num_headers = 0;
        return true;
    }
    for (char *h = strtok(s, ","); h; h = strtok(NULL, ",")) {
        if (o->num_headers == MAX_HEADERS) {
            answer_error("produce: headers= has more than %d headers", MAX_HEADERS);
            return false;
        }
        char *eq = strchr(h, '=');
        size_t nlen, vlen = 0;
        if (eq) {
            *eq = '\0';
        }
        if (!pct_decode(h, &nlen) || (eq && !pct_decode(eq + 1, &vlen))) {
            answer_error("produce: headers= has a malformed %%XX escape");
            return false;
        }
        if (nlen == 0) {
            answer_error("produce: headers= has a header with an empty name");
            return false;
        }
        o->hname[o->num_headers] = h;
        o->hval[o->num_headers] = eq ? eq + 1 : NULL;
        o->hval_len[o->num_headers] = vlen;
        o->num_headers++;
    }
    return true;
}

static bool parse_produce_opt(char *arg, struct produce_opts *o)
{
    char *eq = strchr(arg, '=');
    if (!eq) {
        answer_error("produce: option \"%s\" is not NAME=VALUE (partition= codec= size= value= "
                     "keysize= key= headers= ts= tsstep=)",
                     arg);
        return false;
    }
    *eq = '\0';
    const char *name = arg;
    char *val = eq + 1;
    int64_t v;
    if (!strcmp(name, "partition")) {
        if (!strcmp(val, "any")) {
            o->partition = RD_KAFKA_PARTITION_UA;
            return true;
        }
        if (!parse_int("produce", "partition", val, 0, INT32_MAX, &v)) {
            return false;
        }
        o->partition = (int32_t)v;
        return true;
    }
    if (!strcmp(name, "codec")) {
        for (int c = 0; c < CODEC_COUNT; c++) {
            if (!strcmp(val, codec_names[c])) {
                o->codec = (enum codec)c;
                return true;
            }
        }
        answer_error("produce: codec \"%s\" is not one of none, gzip, snappy, lz4, zstd", val);
        return false;
    }
    if (!strcmp(name, "size") || !strcmp(name, "keysize")) {
        struct field *f = name[0] == 's' ? &o->value : &o->key;
        if (!parse_int("produce", name, val, 0, 1 << 20, &v)) {
            return false;
        }
        f->literal = false;
        f->size = (long)v;
        return true;
    }
    if (!strcmp(name, "value")) {
        return parse_literal("value", val, &o->value);
    }
    if (!strcmp(name, "key")) {
        return parse_literal("key", val, &o->key);
    }
    if (!strcmp(name, "headers")) {
        return parse_headers(val, o);
    }
    if (!strcmp(name, "ts")) {
        o->has_ts = true;
        return parse_int("produce", "ts", val, 0, INT64_MAX / 2, &o->ts);
    }
    if (!strcmp(name, "tsstep")) {
        return parse_int("produce", "tsstep", val, -1000000000, 1000000000, &o->tsstep);
    }
    answer_error("produce: unknown option \"%s\" (partition= codec= size= value= keysize= key= "
                 "headers= ts= tsstep=)",
                 name);
    return false;
}

// gen fills buf with `text` padded by '.' and a repeating a-z pattern, or truncated, to size
// bytes (size < 0: natural length). Returns the length.
static size_t gen(char *buf, size_t cap, const char *text, long size)
{
    size_t n = strlen(text);
    size_t want = size < 0 ? n : (size_t)size;
    if (want > cap) {
        want = cap;
    }
    for (size_t i = 0; i < want; i++) {
        buf[i] = i < n ? text[i] : i == n ? '.' : (char)('a' + (i - n - 1) % 26);
    }
    return want;
}

static rd_kafka_resp_err_t produce_one(rd_kafka_t *rk, const char *topic, int32_t part,
                                       const struct produce_opts *o, int64_t seq, long i,
                                       char *kbuf, char *vbuf, size_t cap, struct tally *t)
{
    char text[96];
    const void *key = NULL, *val = NULL;
    size_t klen = 0, vlen = 0;
    if (o->key.literal) {
        key = o->key.is_null ? NULL : o->key.lit;
        klen = o->key.lit_len;
    } else {
        snprintf(text, sizeof text, "k%d-%lld", (int)part, (long long)seq);
        klen = gen(kbuf, cap, text, o->key.size);
        key = kbuf;
    }
    if (o->value.literal) {
        val = o->value.is_null ? NULL : o->value.lit;
        vlen = o->value.lit_len;
    } else {
        snprintf(text, sizeof text, "seq=%lld part=%d", (long long)seq, (int)part);
        vlen = gen(vbuf, cap, text, o->value.size);
        val = vbuf;
    }
    rd_kafka_headers_t *hdrs = NULL;
    if (o->num_headers) {
        hdrs = rd_kafka_headers_new((size_t)o->num_headers);
        for (int h = 0; h < o->num_headers; h++) {
            rd_kafka_header_add(hdrs, o->hname[h], -1, o->hval[h],
                                o->hval[h] ? (ssize_t)o->hval_len[h] : 0);
        }
    }
    int64_t ts = o->has_ts ? o->ts + o->tsstep * i : 0;
    rd_kafka_resp_err_t err;
    for (;;) {
        err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(part), RD_KAFKA_V_KEY(key, klen),
            RD_KAFKA_V_VALUE((void *)(uintptr_t)val, vlen), RD_KAFKA_V_TIMESTAMP(ts),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE(t), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            break;
        }
        rd_kafka_poll(rk, 10);
    }
    if (err && hdrs) {
        rd_kafka_headers_destroy(hdrs); // ownership passes only on success
    }
    return err;
}

static void cmd_produce(int argc, char **argv)
{
    if (argc < 3) {
        answer_error("produce: usage: produce TOPIC COUNT [OPTION=VALUE...]");
        return;
    }
    const char *topic = argv[1];
    int64_t count;
    if (!parse_int("produce", "count", argv[2], 0, 100000000, &count)) {
        return;
    }
    struct produce_opts o = {.partition = RD_KAFKA_PARTITION_UA,
                             .codec = CODEC_NONE,
                             .key = {.size = -1},
                             .value = {.size = -1},
                             .tsstep = 1};
    for (int i = 3; i < argc; i++) {
        if (!parse_produce_opt(argv[i], &o)) {
            return;
        }
    }
    rd_kafka_t *rk = producer_for(o.codec);
    if (!rk) {
        answer_error("produce: could not create a %s producer (see stderr)", codec_names[o.codec]);
        return;
    }
    int nparts = topic_partitions(rk, topic);
    if (nparts < 0) {
        return;
    }
    if (o.partition != RD_KAFKA_PARTITION_UA && o.partition >= nparts) {
        answer_error("produce: partition %d out of range: topic \"%s\" has %d partitions",
                     (int)o.partition, topic, nparts);
        return;
    }
    // Look the counters up once: index i is partition i (or the one explicit partition).
    int nslots = o.partition != RD_KAFKA_PARTITION_UA ? 1 : nparts;
    size_t *slot = xrealloc(NULL, (size_t)nslots * sizeof *slot);
    for (int p = 0; p < nslots; p++) {
        slot[p] = seq_index(topic, o.partition != RD_KAFKA_PARTITION_UA ? o.partition : p);
    }
    size_t cap = (size_t)(o.value.size > o.key.size ? o.value.size : o.key.size) + 96;
    char *kbuf = xrealloc(NULL, cap), *vbuf = xrealloc(NULL, cap);
    struct tally t = {0, 0, RD_KAFKA_RESP_ERR_NO_ERROR};
    double t0 = now_ms();
    for (long i = 0; i < (long)count; i++) {
        int32_t part = o.partition != RD_KAFKA_PARTITION_UA ? o.partition : (int32_t)(i % nparts);
        struct seq *s = &seqs[slot[nslots == 1 ? 0 : part]];
        rd_kafka_resp_err_t err = produce_one(rk, topic, part, &o, s->next, i, kbuf, vbuf, cap, &t);
        if (err) {
            if (!t.failed) {
                t.first_error = err;
            }
            t.failed++;
            continue;
        }
        s->next++;
        if ((i & 1023) == 0) {
            rd_kafka_poll(rk, 0);
        }
    }
    // Every enqueued record gets a delivery report within message.timeout.ms.
    while (t.delivered + t.failed < (long)count) {
        rd_kafka_flush(rk, 1000);
    }
    free(slot);
    free(kbuf);
    free(vbuf);
    printf("ok produce topic=%s count=%lld delivered=%ld failed=%ld ms=%.0f", topic,
           (long long)count, t.delivered, t.failed, now_ms() - t0);
    if (t.failed) {
        printf(" first_error=%s", rd_kafka_err2name(t.first_error));
    }
    putchar('\n');
}

static void cmd_committed(int argc, char **argv)
{
    if (argc != 4) {
        answer_error("committed: usage: committed GROUP TOPIC NPART");
        return;
    }
    int64_t n;
    if (!parse_int("committed", "partition count", argv[3], 1, 100000, &n)) {
        return;
    }
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "group.id", argv[1], errstr, sizeof errstr)) {
        rd_kafka_conf_destroy(conf);
        answer_error("committed: config: %s", errstr);
        return;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        answer_error("committed: consumer: %s", errstr);
        return;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    for (int i = 0; i < (int)n; i++) {
        rd_kafka_topic_partition_list_add(l, argv[2], i);
    }
    rd_kafka_resp_err_t err = rd_kafka_committed(rk, l, 10000);
    if (err) {
        answer_error("committed: group \"%s\": %s", argv[1], rd_kafka_err2str(err));
    } else {
        printf("ok committed group=%s topic=%s", argv[1], argv[2]);
        for (int i = 0; i < l->cnt; i++) {
            const rd_kafka_topic_partition_t *p = &l->elems[i];
            if (p->err) {
                printf(" %d=%s", (int)p->partition, rd_kafka_err2name(p->err));
            } else if (p->offset < 0) {
                printf(" %d=none", (int)p->partition);
            } else {
                printf(" %d=%lld", (int)p->partition, (long long)p->offset);
            }
        }
        putchar('\n');
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
}

static void cmd_watermarks(int argc, char **argv)
{
    int64_t part;
    if (argc != 3) {
        answer_error("watermarks: usage: watermarks TOPIC PARTITION");
        return;
    }
    if (!parse_int("watermarks", "partition", argv[2], 0, INT32_MAX, &part)) {
        return;
    }
    int64_t lo, hi;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(owner, argv[1], (int32_t)part, &lo, &hi, 10000);
    if (err) {
        answer_error("watermarks: %s [%d]: %s", argv[1], (int)part, rd_kafka_err2str(err));
        return;
    }
    printf("ok watermarks topic=%s partition=%d low=%lld high=%lld\n", argv[1], (int)part,
           (long long)lo, (long long)hi);
}

static void cmd_topic(int argc, char **argv)
{
    int64_t parts, rf = num_brokers < 3 ? num_brokers : 3;
    if (argc < 3 || argc > 4) {
        answer_error("topic: usage: topic NAME PARTITIONS [RF]");
        return;
    }
    if (!parse_int("topic", "partition count", argv[2], 1, 100000, &parts) ||
        (argc == 4 && !parse_int("topic", "replication factor", argv[3], 1, num_brokers, &rf))) {
        return;
    }
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mcluster, argv[1], (int)parts, (int)rf);
    if (err) {
        answer_error("topic: %s: %s", argv[1], rd_kafka_err2str(err));
        return;
    }
    printf("ok topic %s partitions=%d\n", argv[1], (int)parts);
}

static void answer_mock(const char *cmd, rd_kafka_resp_err_t err)
{
    if (err) {
        answer_error("%s: %s", cmd, rd_kafka_err2str(err));
    } else {
        printf("ok %s\n", cmd);
    }
}

static bool want_args(const char *cmd, int argc, int min, int max, const char *usage)
{
    if (argc < min || argc > max) {
        answer_error("%s: usage: %s", cmd, usage);
        return false;
    }
    return true;
}

static void cmd_broker_state(int argc, char **argv)
{
    int32_t b;
    if (!want_args(argv[0], argc, 2, 2, argv[0][0] == 'd' ? "down BROKER" : "up BROKER") ||
        !parse_broker(argv[0], argv[1], true, &b)) {
        return;
    }
    answer_mock(argv[0], argv[0][0] == 'd' ? rd_kafka_mock_broker_set_down(mcluster, b)
                                           : rd_kafka_mock_broker_set_up(mcluster, b));
}

static void cmd_leader(int argc, char **argv)
{
    int64_t part, b;
    if (!want_args("leader", argc, 4, 4, "leader TOPIC PARTITION BROKER") ||
        !parse_int("leader", "partition", argv[2], 0, INT32_MAX, &part) ||
        !parse_int("leader", "broker id", argv[3], -1, num_brokers, &b)) {
        return;
    }
    if (b == 0) {
        answer_error("leader: broker id 0 does not exist (ids are 1..%d, -1 = leaderless)",
                     num_brokers);
        return;
    }
    answer_mock("leader",
                rd_kafka_mock_partition_set_leader(mcluster, argv[1], (int32_t)part, (int32_t)b));
}

static void cmd_coord(int argc, char **argv)
{
    int32_t b;
    if (!want_args("coord", argc, 4, 4, "coord group|transaction KEY BROKER")) {
        return;
    }
    if (strcmp(argv[1], "group") && strcmp(argv[1], "transaction")) {
        answer_error("coord: key type \"%s\" is not group or transaction", argv[1]);
        return;
    }
    if (!parse_broker("coord", argv[3], false, &b)) {
        return;
    }
    answer_mock("coord", rd_kafka_mock_coordinator_set(mcluster, argv[1], argv[2], b));
}

static void cmd_reqerr(int argc, char **argv)
{
    int16_t key;
    rd_kafka_resp_err_t errs[MAX_ARGS];
    if (!want_args("reqerr", argc, 3, MAX_ARGS, "reqerr APIKEY ERR [ERR...]") ||
        !parse_apikey("reqerr", argv[1], &key)) {
        return;
    }
    for (int i = 2; i < argc; i++) {
        if (!parse_errcode("reqerr", argv[i], &errs[i - 2])) {
            return;
        }
    }
    rd_kafka_mock_push_request_errors_array(mcluster, key, (size_t)(argc - 2), errs);
    printf("ok reqerr apikey=%d errors=%d\n", (int)key, argc - 2);
}

static void cmd_brokerr(int argc, char **argv)
{
    int32_t b;
    int16_t key;
    if (argc < 5 || (argc - 3) % 2) {
        answer_error("brokerr: usage: brokerr BROKER APIKEY ERR RTT_MS [ERR RTT_MS...]");
        return;
    }
    if (!parse_broker("brokerr", argv[1], false, &b) || !parse_apikey("brokerr", argv[2], &key)) {
        return;
    }
    rd_kafka_resp_err_t errs[MAX_ARGS];
    int64_t rtts[MAX_ARGS];
    int n = 0;
    for (int i = 3; i < argc; i += 2, n++) {
        if (!parse_errcode("brokerr", argv[i], &errs[n]) ||
            !parse_int("brokerr", "rtt", argv[i + 1], 0, 600000, &rtts[n])) {
            return;
        }
    }
    for (int i = 0; i < n; i++) {
        rd_kafka_resp_err_t err = rd_kafka_mock_broker_push_request_error_rtts(
            mcluster, b, key, 1, errs[i], (int)rtts[i]);
        if (err) {
            answer_mock("brokerr", err);
            return;
        }
    }
    printf("ok brokerr broker=%d apikey=%d errors=%d\n", (int)b, (int)key, n);
}

static void cmd_misc(int argc, char **argv)
{
    const char *c = argv[0];
    int16_t key;
    int64_t lo, hi;
    int32_t b;
    rd_kafka_resp_err_t err;
    if (!strcmp(c, "clear")) {
        if (want_args(c, argc, 2, 2, "clear APIKEY") && parse_apikey(c, argv[1], &key)) {
            rd_kafka_mock_clear_request_errors(mcluster, key);
            printf("ok clear apikey=%d\n", (int)key);
        }
    } else if (!strcmp(c, "rtt")) {
        if (want_args(c, argc, 3, 3, "rtt BROKER MS") && parse_broker(c, argv[1], true, &b) &&
            parse_int(c, "rtt", argv[2], 0, 600000, &lo)) {
            answer_mock(c, rd_kafka_mock_broker_set_rtt(mcluster, b, (int)lo));
        }
    } else if (!strcmp(c, "apiver")) {
        if (want_args(c, argc, 4, 4, "apiver APIKEY MIN MAX") && parse_apikey(c, argv[1], &key) &&
            parse_int(c, "min version", argv[2], -1, 100, &lo) &&
            parse_int(c, "max version", argv[3], -1, 100, &hi)) {
            answer_mock(c, rd_kafka_mock_set_apiversion(mcluster, key, (int16_t)lo, (int16_t)hi));
        }
    } else if (!strcmp(c, "topicerr")) {
        if (want_args(c, argc, 3, 3, "topicerr TOPIC ERR") && parse_errcode(c, argv[2], &err)) {
            rd_kafka_mock_topic_set_error(mcluster, argv[1], err);
            printf("ok topicerr %s %s\n", argv[1], rd_kafka_err2name(err));
        }
    }
}

static const char help_text[] =
    "ok commands: topic produce down up leader coord reqerr brokerr clear rtt apiver topicerr "
    "committed watermarks bootstrap help quit (see tests/broker/kmock.c)";

// dispatch runs one command; returns false on quit.
static bool dispatch(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*fn)(int, char **);
    } cmds[] = {
        {"topic", cmd_topic},         {"produce", cmd_produce},
        {"down", cmd_broker_state},   {"up", cmd_broker_state},
        {"leader", cmd_leader},       {"coord", cmd_coord},
        {"reqerr", cmd_reqerr},       {"brokerr", cmd_brokerr},
        {"clear", cmd_misc},          {"rtt", cmd_misc},
        {"apiver", cmd_misc},         {"topicerr", cmd_misc},
        {"committed", cmd_committed}, {"watermarks", cmd_watermarks},
    };
    if (!strcmp(argv[0], "quit")) {
        puts("ok bye");
        return false;
    }
    if (!strcmp(argv[0], "bootstrap")) {
        printf("ok bootstrap %s\n", bootstraps);
        return true;
    }
    if (!strcmp(argv[0], "help")) {
        puts(help_text);
        return true;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (!strcmp(argv[0], cmds[i].name)) {
            cmds[i].fn(argc, argv);
            return true;
        }
    }
    answer_error("unknown command \"%s\" (try help)", argv[0]);
    return true;
}

// read_line reads one line (without its newline) into buf; false at EOF. A longer line is
// consumed whole and flagged.
static bool read_line(char *buf, size_t cap, bool *out_too_long)
{
    size_t n = 0;
    int ch;
    *out_too_long = false;
    while ((ch = getchar()) != EOF && ch != '\n') {
        if (n + 1 == cap) {
            *out_too_long = true;
            continue;
        }
        // Commands are printable ASCII (literals carry other bytes as %XX), so every answer
        // line, which may quote an argument, stays one printable line.
        buf[n++] = (ch == '\t' || (ch >= 0x20 && ch < 0x7f)) ? (char)ch : '?';
    }
    buf[n] = '\0';
    return ch != EOF || n > 0;
}

// serve reads commands until EOF or quit.
static void serve(void)
{
    static char line[MAX_LINE];
    bool too_long;
    while (read_line(line, sizeof line, &too_long)) {
        if (too_long) {
            answer_error("command line longer than %d bytes", MAX_LINE - 1);
            continue;
        }
        char *argv[MAX_ARGS + 1];
        int argc = 0;
        bool too_many = false;
        for (char *t = strtok(line, " \t\r\n"); t; t = strtok(NULL, " \t\r\n")) {
            if (argc == MAX_ARGS) {
                too_many = true;
                break;
            }
            argv[argc++] = t;
        }
        if (argc == 0 || argv[0][0] == '#') {
            continue;
        }
        argv[argc] = NULL;
        if (too_many) {
            answer_error("%s: more than %d arguments", argv[0], MAX_ARGS);
            continue;
        }
        if (!dispatch(argc, argv)) {
            return;
        }
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: kmock [-b BROKERS] [-t TOPIC:PARTITIONS]... [-l LIFETIME_S]\n"
                    "commands on stdin; see the header comment of tests/broker/kmock.c\n");
    exit(2);
}

int main(int argc, char **argv)
{
    char *topics[MAX_ARGS];
    int num_topics = 0, opt;
    int64_t v, lifetime = 900;
    while ((opt = getopt(argc, argv, "b:t:l:h")) != -1) {
        switch (opt) {
        case 'b':
            if (!parse_i64(optarg, 1, 64, &v)) {
                fprintf(stderr, "kmock: -b \"%s\": broker count must be in [1, 64]\n", optarg);
                return 2;
            }
            num_brokers = (int)v;
            break;
        case 't':
            if (num_topics == MAX_ARGS || !strchr(optarg, ':')) {
                fprintf(stderr, "kmock: -t \"%s\": expected TOPIC:PARTITIONS (at most %d)\n",
                        optarg, MAX_ARGS);
                return 2;
            }
            topics[num_topics++] = optarg;
            break;
        case 'l':
            if (!parse_i64(optarg, 1, 86400, &lifetime)) {
                fprintf(stderr, "kmock: -l \"%s\": lifetime must be in [1, 86400] s\n", optarg);
                return 2;
            }
            break;
        default:
            usage();
        }
    }
    if (optind != argc) {
        usage();
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    alarm((unsigned)lifetime);

    char errstr[512], nb[16];
    snprintf(nb, sizeof nb, "%d", num_brokers);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "test.mock.num.brokers", nb, errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof errstr)) {
        fprintf(stderr, "kmock: %s\n", errstr);
        return 1;
    }
    owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!owner) {
        fprintf(stderr, "kmock: rd_kafka_new: %s\n", errstr);
        return 1;
    }
    mcluster = rd_kafka_handle_mock_cluster(owner);
    bootstraps = mcluster ? rd_kafka_mock_cluster_bootstraps(mcluster) : NULL;
    if (!bootstraps) {
        fprintf(stderr, "kmock: the mock cluster did not start\n");
        return 1;
    }
    for (int i = 0; i < num_topics; i++) {
        char *colon = strrchr(topics[i], ':');
        *colon = '\0';
        if (!parse_i64(colon + 1, 1, 100000, &v) ||
            rd_kafka_mock_topic_create(mcluster, topics[i], (int)v,
                                       num_brokers < 3 ? num_brokers : 3)) {
            fprintf(stderr, "kmock: -t %s:%s: cannot create topic\n", topics[i], colon + 1);
            rd_kafka_destroy(owner);
            return 2;
        }
    }
    printf("BOOTSTRAP %s\n", bootstraps);
    serve();
    for (int c = 0; c < CODEC_COUNT; c++) {
        if (producers[c]) {
            rd_kafka_flush(producers[c], 5000);
            rd_kafka_destroy(producers[c]);
        }
    }
    rd_kafka_destroy(owner); // destroys the mock cluster
    for (size_t i = 0; i < num_seqs; i++) {
        free(seqs[i].topic);
    }
    free(seqs);
    return 0;
}
