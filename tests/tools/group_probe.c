// group_probe.c: drives one consumer-group member through the whole classic group flow with
// kesm's proto/ codecs over a plain blocking socket, for tests/integration/group_codecs.sh
// (run against the kmock fixture). It prints TAP lines (`ok - ...` / `not ok - ...`), then
// one line `committed P=OFFSET ...` with what it committed, and exits 0 iff every check
// passed.
//
// Usage: group_probe HOST:PORT GROUP TOPIC NPART PER_PART PROFILE [MEMBERS BARRIER_DIR]
//   The broker must be the group's coordinator and lead every partition (a one-broker
//   cluster). With MEMBERS, that many probes join the group together: the leader checks it
//   sees them all and gives member k (in member-id order) the partitions p with
//   p % MEMBERS == k; followers send no assignments and take what they get. The probes meet in
//   BARRIER_DIR twice: followers send SyncGroup before the leader (the mock rejects a SyncGroup
//   that comes after the leader's), and nobody leaves before everyone has heartbeated. Every
//   probe works on its own partitions only. Each
//   partition must hold PER_PART records produced by kmock (values "seq=<offset> part=<p>").
//   PROFILE 0-7 picks the API versions: profile i uses JoinGroup 2+min(i,3), SyncGroup min(i,3),
//   Heartbeat min(i,3), LeaveGroup min(i,1), OffsetFetch 1+min(i,4), OffsetCommit 2+min(i,5), Fetch
//   4+min(i,7), and consumer-protocol blobs of version i%4 — together every version the
//   librdkafka 2.0.2 mock serves in kesm's ranges.
//
// Flow: JoinGroup (the leader gets every subscription echoed back), SyncGroup (the leader's own
// assignment echoed back; each member decodes its share), OffsetFetch (nothing committed), Fetch
// from offset 0 to the high watermark (every record decoded and checked), OffsetCommit (the high
// watermarks), OffsetFetch (reads them back), Heartbeat, LeaveGroup.
#include "proto/api.h"
#include "proto/consumer_protocol.h"
#include "proto/fetch.h"
#include "proto/heartbeat.h"
#include "proto/join_group.h"
#include "proto/leave_group.h"
#include "proto/offset_commit.h"
#include "proto/offset_fetch.h"
#include "proto/records.h"
#include "proto/sync_group.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_PART 16

static int failures;
static int fd = -1;
static int32_t corr_id;
static uint8_t *resp_buf;
static size_t resp_len;

static void check(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s - ", ok ? "ok" : "not ok");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (!ok) {
        failures++;
    }
}

static void die(const char *what)
{
    check(false, "%s", what);
    exit(1);
}

static void connect_to(const char *hostport)
{
    char host[64];
    const char *colon = strrchr(hostport, ':');
    if (!colon || (size_t)(colon - hostport) >= sizeof host) {
        die("bad HOST:PORT");
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        die("HOST must be an IPv4 address");
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 15};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        die("connect to the broker");
    }
}

// io_check dies unless a read or write of the broker socket made progress.
static void io_check(ssize_t k, const char *what)
{
    if (k <= 0 && !(k < 0 && errno == EINTR)) {
        die(what);
    }
}

static void send_all(const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        io_check(k, "send to the broker");
        if (k > 0) {
            p += k;
            n -= (size_t)k;
        }
    }
}

static void recv_all(uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        io_check(k, "read from the broker (closed or timed out)");
        if (k > 0) {
            p += k;
            n -= (size_t)k;
        }
    }
}

// send_request sends the request frame |w| holds and frees it.
static void send_request(kw *w)
{
    size_t len;
    if (!kw_finish(w, &len)) {
        die("request writer failed");
    }
    send_all(kw_data(w), len);
    kw_cleanup(w);
}

// recv_response reads the next response frame and leaves *out_body on its body for |key| at
// |version| (valid until the next call).
static void recv_response(int16_t key, int16_t version, kr *out_body)
{
    uint8_t hdr[4];
    recv_all(hdr, 4);
    uint32_t size =
        (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    if (size > (64u << 20)) {
        die("response frame too large");
    }
    free(resp_buf);
    resp_buf = malloc(size ? size : 1);
    resp_len = size;
    recv_all(resp_buf, size);
    kr_init(out_body, resp_buf, size);
    int32_t got_corr;
    struct kp_err err = {0};
    if (kp_resp_hdr_parse(out_body, key, version, &got_corr, &err) != KP_OK ||
        got_corr != corr_id) {
        die("response header");
    }
}

// round_trip sends a request frame (|w| holds it) and returns the response body.
static void round_trip(kw *w, int16_t key, int16_t version, kr *out_body)
{
    send_request(w);
    recv_response(key, version, out_body);
}

// begin starts a request frame in a fresh growable writer.
static void begin(kw *w, int16_t key, int16_t version, size_t *pos)
{
    kw_init_grow(w);
    corr_id++;
    if (!kp_req_begin(w, key, version, corr_id, "group-probe", pos)) {
        die("request header");
    }
}

static void finish_frame(kw *w, size_t pos, bool body_ok)
{
    if (!body_ok || !kp_req_end(w, pos)) {
        die("request body writer failed");
    }
}

static void report_parse(const char *api, int16_t v, enum kp_status st, const struct kp_err *err)
{
    if (st != KP_OK) {
        // The whole response frame, for the log.
        fprintf(stderr, "%s v%d response frame (%zu bytes):", api, v, resp_len);
        for (size_t i = 0; i < resp_len; i++) {
            fprintf(stderr, " %02x", resp_buf[i]);
        }
        fprintf(stderr, "\n");
    }
    check(st == KP_OK, "%s v%d response parses (%s%s%s)", api, v, kp_status_name(st),
          err->field ? " at " : "", err->field ? err->field : "");
}

struct profile {
    int16_t join, sync, hb, leave, ofetch, ocommit, fetch, blob;
};

static struct profile profile_of(int i)
{
    return (struct profile){.join = (int16_t)(2 + (i < 3 ? i : 3)),
                            .sync = (int16_t)(i < 3 ? i : 3),
                            .hb = (int16_t)(i < 3 ? i : 3),
                            .leave = (int16_t)(i < 1 ? i : 1),
                            .ofetch = (int16_t)(1 + (i < 4 ? i : 4)),
                            .ocommit = (int16_t)(2 + (i < 5 ? i : 5)),
                            .fetch = (int16_t)(4 + (i < 7 ? i : 7)),
                            .blob = (int16_t)(i % 4)};
}

#define MAX_MEMBERS 4

struct ctx {
    const char *group, *topic;
    int32_t npart, per_part, members;
    struct profile v;
    char member_id[128];
    int32_t generation;
    bool leader;
    const char *barrier_dir;    // NULL for a lone member
    char ids[MAX_MEMBERS][128]; // the leader's view of the members, sorted
    int32_t mine[MAX_PART];     // our partitions, from our SyncGroup assignment
    int32_t num_mine;
    int64_t hw[MAX_PART];
};

static size_t subscription_blob(const struct ctx *c, uint8_t *buf, size_t cap)
{
    const char *topics[] = {c->topic};
    static const int32_t owned_parts[] = {0};
    struct kp_consumer_topic_partitions owned = {
        .topic = c->topic, .partitions = owned_parts, .num_partitions = 1};
    struct kp_consumer_subscription s = {.version = c->v.blob,
                                         .topics = topics,
                                         .num_topics = 1,
                                         .user_data = (const uint8_t *)"ud",
                                         .user_data_len = 2,
                                         .owned = &owned,
                                         .num_owned = 1,
                                         .generation_id = 7,
                                         .rack_id = "rack-a"};
    kw w;
    kw_init_fixed(&w, buf, cap);
    size_t len = 0;
    if (!kp_consumer_subscription_write(&w, &s) || !kw_finish(&w, &len)) {
        die("subscription writer");
    }
    return len;
}

static void check_subscription(const struct ctx *c, const kr *meta)
{
    kr r = *meta;
    struct kp_consumer_subscription_view v;
    struct kp_err err = {0};
    check(kp_consumer_subscription_parse(&r, &v, &err) == KP_OK && v.version == c->v.blob,
          "member metadata decodes as a v%d subscription", c->v.blob);
    struct kp_consumer_iter it;
    kr name;
    kp_consumer_iter_init(&it, &v.topics, v.num_topics);
    check(v.num_topics == 1 && kp_consumer_next_topic_name(&it, &name) &&
              kr_eq_cstr(&name, c->topic) && kr_eq_cstr(&v.user_data, "ud"),
          "subscription topics and user data survive the broker");
    check(v.num_owned == (c->v.blob >= 1 ? 1u : 0u) &&
              v.generation_id == (c->v.blob >= 2 ? 7 : -1) &&
              (c->v.blob >= 3 ? kr_eq_cstr(&v.rack_id, "rack-a") : v.rack_id_null),
          "subscription v%d fields (owned, generation, rack)", c->v.blob);
}

static enum kp_status join_once(struct ctx *c, const uint8_t *blob, size_t blob_len,
                                struct kp_join_group_resp *out, struct kp_err *err)
{
    struct kp_join_group_req_protocol proto = {
        .name = "range", .metadata = blob, .metadata_len = blob_len};
    struct kp_join_group_req req = {.group_id = c->group,
                                    .session_timeout_ms = 6000,
                                    .rebalance_timeout_ms = 10000,
                                    .member_id = c->member_id,
                                    .protocol_type = "consumer",
                                    .protocols = &proto,
                                    .num_protocols = 1};
    kw w;
    size_t pos;
    kr body;
    begin(&w, KP_API_JOIN_GROUP, c->v.join, &pos);
    finish_frame(&w, pos, kp_join_group_req_write(&w, c->v.join, &req));
    round_trip(&w, KP_API_JOIN_GROUP, c->v.join, &body);
    return kp_join_group_resp_parse(&body, c->v.join, out, err);
}

// count_files counts the files in |dir| whose names end in |suffix|.
static int32_t count_files(const char *dir, const char *suffix)
{
    size_t slen = strlen(suffix);
    DIR *d = opendir(dir);
    int32_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        n += len > slen && strcmp(e->d_name + len - slen, suffix) == 0;
    }
    if (d) {
        closedir(d);
    }
    return n;
}

// mark drops "<member id><suffix>" in |dir|.
static void mark(const char *dir, const char *member_id, const char *suffix)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s%s", dir, member_id, suffix);
    FILE *f = fopen(path, "w");
    if (!f) {
        die("barrier: cannot create a file in BARRIER_DIR");
    }
    fclose(f);
}

// wait_marks waits (<= 30 s) until |n| members dropped a |suffix| file in |dir|.
static void wait_marks(const char *dir, int32_t n, const char *suffix)
{
    for (int tries = 0; tries < 300; tries++) {
        if (count_files(dir, suffix) >= n) {
            return;
        }
        usleep(100 * 1000);
    }
    die("barrier: the other members did not arrive within 30 s");
}

static int cmp_ids(const void *x, const void *y)
{
    return strcmp(x, y);
}

// leader_members checks the member list the leader gets: every member, each with our
// subscription byte for byte (all probes of a run send the same one), kept sorted in c->ids.
static void leader_members(struct ctx *c, const struct kp_join_group_resp *resp,
                           const uint8_t *blob, size_t blob_len)
{
    struct kp_join_group_member_iter it;
    struct kp_join_group_member m;
    int32_t n = 0, same = 0;
    bool self = false;
    kp_join_group_members(resp, &it);
    while (n < MAX_MEMBERS && kp_join_group_next_member(&it, &m)) {
        kr_copy_cstr(&m.member_id, c->ids[n], sizeof c->ids[n]);
        self = self || strcmp(c->ids[n], c->member_id) == 0;
        same += m.metadata.len == blob_len && memcmp(m.metadata.p, blob, blob_len) == 0;
        if (n == 0) {
            check_subscription(c, &m.metadata);
        }
        n++;
    }
    check((int32_t)resp->num_members == c->members && n == c->members && self,
          "JoinGroup: the leader sees all %d members, itself included", c->members);
    check(same == n, "JoinGroup: the leader gets every subscription back byte for byte");
    qsort(c->ids, (size_t)n, sizeof c->ids[0], cmp_ids);
}

static void join(struct ctx *c)
{
    uint8_t blob[256];
    size_t blob_len = subscription_blob(c, blob, sizeof blob);
    struct kp_join_group_resp resp;
    struct kp_err err = {0};
    enum kp_status st = join_once(c, blob, blob_len, &resp, &err);
    // Retriable coordinator errors (15 COORDINATOR_NOT_AVAILABLE, 16 NOT_COORDINATOR; the
    // integration test injects one) and MEMBER_ID_REQUIRED (79: rejoin with the given id).
    for (int tries = 0; st == KP_OK && tries < 3; tries++) {
        int16_t e = resp.error_code;
        if (e != 15 && e != 16 && e != 79) {
            break;
        }
        check(true, "JoinGroup v%d answered error %d (parsed), joining again", c->v.join, e);
        if (e == 79) {
            kr_copy_cstr(&resp.member_id, c->member_id, sizeof c->member_id);
        }
        st = join_once(c, blob, blob_len, &resp, &err);
    }
    report_parse("JoinGroup", c->v.join, st, &err);
    if (st != KP_OK) {
        exit(1);
    }
    check(resp.error_code == 0, "JoinGroup error %d", resp.error_code);
    kr_copy_cstr(&resp.member_id, c->member_id, sizeof c->member_id);
    c->generation = resp.generation_id;
    c->leader = kr_eq_cstr(&resp.leader, c->member_id);
    check(c->member_id[0] && kr_eq_cstr(&resp.protocol_name, "range"),
          "JoinGroup: generation %d with protocol range, we are %s", resp.generation_id,
          c->leader ? "the leader" : "a follower");
    if (c->members == 1) {
        check(c->leader, "JoinGroup: a lone member leads");
    }
    if (c->leader) {
        leader_members(c, &resp, blob, blob_len);
    } else {
        check(resp.num_members == 0, "JoinGroup: a follower gets no member list");
    }
}

// assignment_blob encodes member |k|'s share: the partitions p with p % members == k.
static size_t assignment_blob(const struct ctx *c, int32_t k, uint8_t *buf, size_t cap)
{
    int32_t parts[MAX_PART];
    size_t n = 0;
    for (int32_t p = 0; p < c->npart; p++) {
        if (p % c->members == k) {
            parts[n++] = p;
        }
    }
    struct kp_consumer_topic_partitions tp = {
        .topic = c->topic, .partitions = parts, .num_partitions = n};
    struct kp_consumer_assignment a = {.version = c->v.blob,
                                       .assigned = &tp,
                                       .num_assigned = 1,
                                       .user_data = (const uint8_t *)"asg",
                                       .user_data_len = 3};
    kw w;
    kw_init_fixed(&w, buf, cap);
    size_t len = 0;
    if (!kp_consumer_assignment_write(&w, &a) || !kw_finish(&w, &len)) {
        die("assignment writer");
    }
    return len;
}

// take_assignment decodes our assignment into c->mine.
static void take_assignment(struct ctx *c, const kr *blob)
{
    kr ar = *blob;
    struct kp_consumer_assignment_view av;
    struct kp_err err = {0};
    bool ok = kp_consumer_assignment_parse(&ar, &av, &err) == KP_OK && av.version == c->v.blob &&
              av.num_assigned == 1 && kr_eq_cstr(&av.user_data, "asg");
    struct kp_consumer_iter it, pit;
    struct kp_consumer_tp_view tp;
    kp_consumer_iter_init(&it, &av.assigned, av.num_assigned);
    c->num_mine = 0;
    while (ok && kp_consumer_next_topic_partitions(&it, &tp)) {
        ok = kr_eq_cstr(&tp.topic, c->topic) && tp.num_partitions <= MAX_PART;
        kp_consumer_iter_init(&pit, &tp.partitions, tp.num_partitions);
        while (ok && kp_consumer_next_partition(&pit, &c->mine[c->num_mine])) {
            ok = c->mine[c->num_mine] >= 0 && c->mine[c->num_mine] < c->npart;
            c->num_mine++;
        }
    }
    check(ok && c->num_mine > 0, "assignment decodes as v%d: %d partitions of %s", c->v.blob,
          c->num_mine, c->topic);
}

static void sync_group(struct ctx *c)
{
    uint8_t blobs[MAX_MEMBERS][256];
    struct kp_sync_group_req_assignment sa[MAX_MEMBERS];
    size_t n = 0, own = 0;
    for (int32_t k = 0; c->leader && k < c->members; k++) {
        sa[n] = (struct kp_sync_group_req_assignment){
            .member_id = c->ids[k],
            .assignment = blobs[k],
            .assignment_len = assignment_blob(c, k, blobs[k], sizeof blobs[k])};
        own = strcmp(c->ids[k], c->member_id) == 0 ? n : own;
        n++;
    }
    struct kp_sync_group_req req = {.group_id = c->group,
                                    .generation_id = c->generation,
                                    .member_id = c->member_id,
                                    .assignments = sa,
                                    .num_assignments = n};
    kw w;
    size_t pos;
    kr body;
    begin(&w, KP_API_SYNC_GROUP, c->v.sync, &pos);
    finish_frame(&w, pos, kp_sync_group_req_write(&w, c->v.sync, &req));
    // The librdkafka mock completes the sync as soon as the leader's assignments arrive and
    // answers any SyncGroup after that with INVALID_REQUEST, so followers go first.
    if (c->barrier_dir && c->leader) {
        wait_marks(c->barrier_dir, c->members - 1, ".syncsent");
        usleep(300 * 1000);
    }
    send_request(&w);
    if (c->barrier_dir && !c->leader) {
        mark(c->barrier_dir, c->member_id, ".syncsent");
    }
    recv_response(KP_API_SYNC_GROUP, c->v.sync, &body);
    struct kp_sync_group_resp resp;
    struct kp_err err = {0};
    enum kp_status st = kp_sync_group_resp_parse(&body, c->v.sync, &resp, &err);
    report_parse("SyncGroup", c->v.sync, st, &err);
    if (st != KP_OK) {
        exit(1);
    }
    check(resp.error_code == 0, "SyncGroup error %d", resp.error_code);
    if (c->leader) {
        check(resp.assignment.len == sa[own].assignment_len &&
                  memcmp(resp.assignment.p, sa[own].assignment, resp.assignment.len) == 0,
              "SyncGroup: the leader's own assignment comes back byte for byte");
    }
    take_assignment(c, &resp.assignment);
}

static void offset_fetch(struct ctx *c, bool after_commit)
{
    struct kp_offset_fetch_req_topic t = {
        .name = c->topic, .partition_indexes = c->mine, .num_partitions = (size_t)c->num_mine};
    struct kp_offset_fetch_req_group g = {.group_id = c->group, .topics = &t, .num_topics = 1};
    struct kp_offset_fetch_req req = {.groups = &g, .num_groups = 1};
    kw w;
    size_t pos;
    kr body;
    begin(&w, KP_API_OFFSET_FETCH, c->v.ofetch, &pos);
    finish_frame(&w, pos, kp_offset_fetch_req_write(&w, c->v.ofetch, &req));
    round_trip(&w, KP_API_OFFSET_FETCH, c->v.ofetch, &body);
    struct kp_offset_fetch_resp resp;
    struct kp_err err = {0};
    enum kp_status st = kp_offset_fetch_resp_parse(&body, c->v.ofetch, &resp, &err);
    report_parse("OffsetFetch", c->v.ofetch, st, &err);
    struct kp_offset_fetch_iter gi, ti, pi;
    struct kp_offset_fetch_group grp;
    struct kp_offset_fetch_topic topic;
    struct kp_offset_fetch_partition p;
    int seen = 0, right = 0;
    kp_offset_fetch_groups(&resp, &gi);
    while (st == KP_OK && kp_offset_fetch_next_group(&gi, &grp)) {
        kp_offset_fetch_topics(&gi, &grp, &ti);
        while (kp_offset_fetch_next_topic(&ti, &topic)) {
            kp_offset_fetch_partitions(&ti, &topic, &pi);
            while (kp_offset_fetch_next_partition(&pi, &p)) {
                seen++;
                bool in_range = p.partition_index >= 0 && p.partition_index < c->npart;
                int64_t want = after_commit && in_range ? c->hw[p.partition_index] : -1;
                right += in_range && p.error_code == 0 && p.committed_offset == want &&
                         kr_eq_cstr(&topic.name, c->topic) &&
                         (!after_commit || kr_eq_cstr(&p.metadata, "probe"));
            }
        }
    }
    check(seen == c->num_mine && right == c->num_mine, "OffsetFetch v%d: %s for %d/%d partitions",
          c->v.ofetch, after_commit ? "our commits read back" : "nothing committed yet", right,
          c->num_mine);
}

// offset_fetch_all asks for every committed offset of the group (a null topics array, v2+).
// Real brokers list them; the librdkafka mock answers with a null array, which must parse.
static void offset_fetch_all(struct ctx *c)
{
    struct kp_offset_fetch_req_group g = {.group_id = c->group, .all_topics = true};
    struct kp_offset_fetch_req req = {.groups = &g, .num_groups = 1};
    kw w;
    size_t pos;
    kr body;
    begin(&w, KP_API_OFFSET_FETCH, c->v.ofetch, &pos);
    finish_frame(&w, pos, kp_offset_fetch_req_write(&w, c->v.ofetch, &req));
    round_trip(&w, KP_API_OFFSET_FETCH, c->v.ofetch, &body);
    struct kp_offset_fetch_resp resp;
    struct kp_err err = {0};
    enum kp_status st = kp_offset_fetch_resp_parse(&body, c->v.ofetch, &resp, &err);
    check(st == KP_OK, "OffsetFetch v%d for all topics: the answer parses (%s)", c->v.ofetch,
          kp_status_name(st));
}

// check_records walks one partition's records from *next, checking kmock's values.
static bool check_records(int32_t part, const kr *records, int64_t *next, struct kp_arena *arena)
{
    struct kp_records_iter it;
    struct kp_batch b;
    struct kp_record rec;
    struct kp_err err = {0};
    bool end;
    kp_records_init(&it, records->p, records->len, arena, NULL);
    while (kp_records_next_batch(&it, &b, &end, &err) == KP_OK && !end) {
        bool rend;
        enum kp_status st;
        while ((st = kp_batch_next_record(&b, &rec, &rend, &err)) == KP_OK && !rend) {
            if (rec.offset < *next) {
                continue;
            }
            char want[64];
            snprintf(want, sizeof want, "seq=%lld part=%d", (long long)*next, (int)part);
            if (rec.offset != *next || !kr_eq_cstr(&rec.value, want)) {
                return false;
            }
            (*next)++;
        }
        if (st != KP_OK) {
            return false;
        }
    }
    return err.field == NULL;
}

// fetch_round sends one Fetch for the partitions not yet read up to their high watermark
// (all of them while the watermarks are unknown), checks the records it gets and advances
// next[]. Returns false on a parse, partition or record failure; *out_done when nothing is
// left to fetch.
static bool fetch_round(struct ctx *c, bool known, int64_t *next, struct kp_arena *arena,
                        bool *out_done)
{
    struct kp_fetch_req_partition ps[MAX_PART];
    size_t n = 0;
    for (int32_t m = 0; m < c->num_mine; m++) {
        int32_t i = c->mine[m];
        if (!known || next[i] < c->hw[i]) {
            ps[n++] = (struct kp_fetch_req_partition){.partition = i,
                                                      .current_leader_epoch = -1,
                                                      .fetch_offset = next[i],
                                                      .last_fetched_epoch = -1,
                                                      .log_start_offset = -1,
                                                      .partition_max_bytes = 1 << 20};
        }
    }
    *out_done = n == 0;
    if (n == 0) {
        return true;
    }
    struct kp_fetch_req_topic t = {.topic = c->topic, .partitions = ps, .num_partitions = n};
    struct kp_fetch_req req = {.replica_id = -1,
                               .max_wait_ms = 100,
                               .min_bytes = 1,
                               .max_bytes = 4 << 20,
                               .session_epoch = -1,
                               .topics = &t,
                               .num_topics = 1};
    kw w;
    size_t pos;
    kr body;
    begin(&w, KP_API_FETCH, c->v.fetch, &pos);
    finish_frame(&w, pos, kp_fetch_req_write(&w, c->v.fetch, &req));
    round_trip(&w, KP_API_FETCH, c->v.fetch, &body);
    struct kp_fetch_resp resp;
    struct kp_err err = {0};
    enum kp_status st = kp_fetch_resp_parse(&body, c->v.fetch, &resp, &err);
    if (st != KP_OK) {
        report_parse("Fetch", c->v.fetch, st, &err);
        return false;
    }
    bool ok = true;
    struct kp_fetch_iter ti, pi;
    struct kp_fetch_topic topic;
    struct kp_fetch_partition fp;
    kp_fetch_topics(&resp, &ti);
    while (kp_fetch_next_topic(&ti, &topic)) {
        kp_fetch_partitions(&ti, &topic, &pi);
        while (kp_fetch_next_partition(&pi, &fp)) {
            int32_t i = fp.partition_index;
            if (i < 0 || i >= c->npart || fp.error_code != 0) {
                ok = false;
                continue;
            }
            c->hw[i] = fp.high_watermark;
            ok = ok && check_records(i, &fp.records, &next[i], arena);
        }
    }
    return ok;
}

static void fetch_all(struct ctx *c)
{
    int64_t next[MAX_PART] = {0};
    bool ok = true, done = false;
    struct kp_arena arena;
    kp_arena_init(&arena, 0);
    for (int round = 0; round < 200 && ok && !done; round++) {
        ok = fetch_round(c, round > 0, next, &arena, &done);
        kp_arena_reset(&arena);
    }
    kp_arena_cleanup(&arena);
    int full = 0;
    for (int32_t m = 0; m < c->num_mine; m++) {
        int32_t i = c->mine[m];
        full += next[i] == c->per_part && c->hw[i] == c->per_part;
    }
    check(ok && done && full == c->num_mine,
          "Fetch v%d: every record of %d/%d partitions read in order with kmock's values",
          c->v.fetch, full, c->num_mine);
}

static void commit(struct ctx *c)
{
    struct kp_offset_commit_req_partition ps[MAX_PART];
    for (int32_t m = 0; m < c->num_mine; m++) {
        int32_t i = c->mine[m];
        ps[m] = (struct kp_offset_commit_req_partition){.partition_index = i,
                                                        .committed_offset = c->hw[i],
                                                        .committed_leader_epoch = -1,
                                                        .committed_metadata = "probe"};
    }
    struct kp_offset_commit_req_topic t = {
        .name = c->topic, .partitions = ps, .num_partitions = (size_t)c->num_mine};
    struct kp_offset_commit_req req = {.group_id = c->group,
                                       .generation_id = c->generation,
                                       .member_id = c->member_id,
                                       .retention_time_ms = -1,
                                       .topics = &t,
                                       .num_topics = 1};
    kw w;
    size_t pos;
    kr body;
    begin(&w, KP_API_OFFSET_COMMIT, c->v.ocommit, &pos);
    finish_frame(&w, pos, kp_offset_commit_req_write(&w, c->v.ocommit, &req));
    round_trip(&w, KP_API_OFFSET_COMMIT, c->v.ocommit, &body);
    struct kp_offset_commit_resp resp;
    struct kp_err err = {0};
    enum kp_status st = kp_offset_commit_resp_parse(&body, c->v.ocommit, &resp, &err);
    report_parse("OffsetCommit", c->v.ocommit, st, &err);
    struct kp_offset_commit_iter ti, pi;
    struct kp_offset_commit_topic topic;
    struct kp_offset_commit_partition p;
    int good = 0;
    kp_offset_commit_topics(&resp, &ti);
    while (st == KP_OK && kp_offset_commit_next_topic(&ti, &topic)) {
        kp_offset_commit_partitions(&ti, &topic, &pi);
        while (kp_offset_commit_next_partition(&pi, &p)) {
            good += p.error_code == 0 && kr_eq_cstr(&topic.name, c->topic);
        }
    }
    check(good == c->num_mine, "OffsetCommit v%d: %d/%d partitions committed", c->v.ocommit, good,
          c->num_mine);
}

static void heartbeat(struct ctx *c)
{
    struct kp_heartbeat_req req = {
        .group_id = c->group, .generation_id = c->generation, .member_id = c->member_id};
    kw w;
    size_t pos;
    kr body;
    begin(&w, KP_API_HEARTBEAT, c->v.hb, &pos);
    finish_frame(&w, pos, kp_heartbeat_req_write(&w, c->v.hb, &req));
    round_trip(&w, KP_API_HEARTBEAT, c->v.hb, &body);
    struct kp_heartbeat_resp resp;
    struct kp_err err = {0};
    enum kp_status st = kp_heartbeat_resp_parse(&body, c->v.hb, &resp, &err);
    report_parse("Heartbeat", c->v.hb, st, &err);
    check(st == KP_OK && resp.error_code == 0, "Heartbeat v%d accepted", c->v.hb);
    // A wrong generation must come back as ILLEGAL_GENERATION (22).
    req.generation_id = c->generation + 100;
    begin(&w, KP_API_HEARTBEAT, c->v.hb, &pos);
    finish_frame(&w, pos, kp_heartbeat_req_write(&w, c->v.hb, &req));
    round_trip(&w, KP_API_HEARTBEAT, c->v.hb, &body);
    st = kp_heartbeat_resp_parse(&body, c->v.hb, &resp, &err);
    check(st == KP_OK && resp.error_code == 22, "Heartbeat v%d with a wrong generation: error %d",
          c->v.hb, resp.error_code);
}

static void leave(struct ctx *c)
{
    struct kp_leave_group_req_member m = {.member_id = c->member_id};
    struct kp_leave_group_req req = {.group_id = c->group, .members = &m, .num_members = 1};
    kw w;
    size_t pos;
    kr body;
    begin(&w, KP_API_LEAVE_GROUP, c->v.leave, &pos);
    finish_frame(&w, pos, kp_leave_group_req_write(&w, c->v.leave, &req));
    round_trip(&w, KP_API_LEAVE_GROUP, c->v.leave, &body);
    struct kp_leave_group_resp resp;
    struct kp_err err = {0};
    enum kp_status st = kp_leave_group_resp_parse(&body, c->v.leave, &resp, &err);
    report_parse("LeaveGroup", c->v.leave, st, &err);
    check(st == KP_OK && resp.error_code == 0, "LeaveGroup v%d accepted", c->v.leave);
}

int main(int argc, char **argv)
{
    if (argc != 7 && argc != 9) {
        fprintf(stderr, "usage: group_probe HOST:PORT GROUP TOPIC NPART PER_PART PROFILE "
                        "[MEMBERS BARRIER_DIR]\n");
        return 2;
    }
    struct ctx c = {.group = argv[2], .topic = argv[3], .members = 1};
    c.npart = atoi(argv[4]);
    c.per_part = atoi(argv[5]);
    int prof = atoi(argv[6]);
    if (argc == 9) {
        c.members = atoi(argv[7]);
        c.barrier_dir = argv[8];
    }
    if (c.npart < 1 || c.npart > MAX_PART || prof < 0 || prof > 7 || c.members < 1 ||
        c.members > MAX_MEMBERS || c.members > c.npart) {
        fprintf(stderr, "group_probe: NPART 1-%d, PROFILE 0-7, MEMBERS 1-%d and <= NPART\n",
                MAX_PART, MAX_MEMBERS);
        return 2;
    }
    c.v = profile_of(prof);
    connect_to(argv[1]);
    join(&c);
    sync_group(&c);
    offset_fetch(&c, false);
    fetch_all(&c);
    commit(&c);
    offset_fetch(&c, true);
    if (c.v.ofetch >= 2) {
        offset_fetch_all(&c);
    }
    heartbeat(&c);
    if (c.barrier_dir) {
        // Nobody leaves (which starts a rebalance) while another still commits or heartbeats.
        mark(c.barrier_dir, c.member_id, ".done");
        wait_marks(c.barrier_dir, c.members, ".done");
    }
    leave(&c);
    printf("committed");
    for (int32_t m = 0; m < c.num_mine; m++) {
        printf(" %d=%lld", (int)c.mine[m], (long long)c.hw[c.mine[m]]);
    }
    printf("\n");
    close(fd);
    free(resp_buf);
    return failures == 0 ? 0 : 1;
}
