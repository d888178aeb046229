// fleet_status.h: the fleet's status topic (esm/fleet.h): what each node says about each mapping
// it runs, and the table of what every node said, which fleet-wide Get, List and /metrics read.
//
// Topic "_kesm-NAME-status" (created like the config topic: 1 partition, cleanup.policy=compact;
// one of several partitions is read whole, each partition by its own reader). One record per
// (node, mapping): key "NODE/UUID", value
//   {"KesmFleetStatusVersion":1,"Node":"host:port","UUID":"...","State":"Enabled",
//    "StateTransitionReason":"USER_INITIATED","LastProcessingResult":"OK","Time":1765.5,
//    "RefreshMs":10000,"AssignedPartitions":3,"Lag":12,
//    "Partitions":[{"Topic":"orders","Partition":0,"Lag":4},...]}
// and a tombstone (null value) when the node stops running the mapping (deleted, disabled by the
// user, or the node stops cleanly). A node publishes when what it runs changes (state, reason,
// result, assigned partitions; checked every second) and every RefreshMs (default 10 s) for the
// lag. An entry not refreshed within FLEET_STATUS_STALE_PERIODS periods of its own RefreshMs
// (judged by its Time against this node's clock) is stale: a dead node's entries stop counting
// after 30 s by default. A stale entry of a mapping the fleet no longer has, or one not refreshed
// for an hour, is removed with a tombstone by whichever node notices first. Nothing secret is in a
// record: the node id, the mapping's UUID, state names, the result line the API already shows,
// topic names, partition numbers and lags.
//
// Limits: a value of at most FLEET_STATUS_MAX_RECORD bytes (the table keeps at most
// FLEET_STATUS_MAX_ENTRIES entries and FLEET_STATUS_MAX_TABLE_BYTES bytes of values, its memory
// in proportion), at most FLEET_STATUS_MAX_PARTS
// partitions listed (AssignedPartitions still counts them all), a node id of at most
// FLEET_NODE_ID_MAX printable ASCII characters without '/', '"' or '\'. A record that breaks any
// of them, or is not the JSON above, is skipped with a log line naming its key and offset.
#ifndef ESM_FLEET_STATUS_H
#define ESM_FLEET_STATUS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLEET_STATUS_MAX_RECORD 65536
#define FLEET_STATUS_MAX_PARTS 256
#define FLEET_NODE_ID_MAX 128
#define FLEET_STATUS_RESULT_MAX 600
#define FLEET_STATUS_STALE_PERIODS 3
#define FLEET_STATUS_MAX_ENTRIES 4096 // (node, mapping) pairs kept; more are skipped and logged
#define FLEET_STATUS_MAX_TABLE_BYTES (16u << 20) // the values kept, in all (likewise)
#define FLEET_STATUS_FORGET_S 3600.0 // a stale entry is removed (tombstoned) after this long
#define FLEET_STATUS_REFRESH_MIN 500
#define FLEET_STATUS_REFRESH_MAX 300000

struct fleet_status_part {
    char *topic; // owned by the record (1-249 bytes: Kafka's topic name limit)
    int32_t partition;
    int64_t lag; // -1 unknown
};

// struct fleet_status_rec: one decoded status record. _init before use, _cleanup after.
struct fleet_status_rec {
    char node[FLEET_NODE_ID_MAX + 1];
    char uuid[37];
    char state[16];
    char reason[40];
    char result[FLEET_STATUS_RESULT_MAX + 1];
    double time; // epoch seconds when published
    uint32_t refresh_ms;
    uint32_t num_assigned; // all assigned partitions (num_parts lists at most MAX_PARTS)
    int64_t lag;           // sum of the known lags, -1 when none is known
    size_t num_parts;
    struct fleet_status_part *parts; // owned
};

void fleet_status_rec_init(struct fleet_status_rec *r);
void fleet_status_rec_cleanup(struct fleet_status_rec *r);

// fleet_node_id_ok returns whether |id| is a valid node id (see above).
bool fleet_node_id_ok(const char *id);

// fleet_status_key_parse splits a record key "NODE/UUID"; false when it is not one.
bool fleet_status_key_parse(const uint8_t *key, size_t key_len,
                            char out_node[FLEET_NODE_ID_MAX + 1], char out_uuid[37]);

// fleet_status_parse decodes a (non-null) value whose key is |node|/|uuid| into |out| (entered
// zeroed by the call; clean it up either way). Returns true, or false with one line in |why|.
bool fleet_status_parse(const char *node, const char *uuid, const uint8_t *value, size_t value_len,
                        struct fleet_status_rec *out, char *why, size_t why_len);

// fleet_status_encode writes |r| as a value (heap string, caller frees; NULL on out of memory);
// parts beyond FLEET_STATUS_MAX_PARTS are left out.
char *fleet_status_encode(const struct fleet_status_rec *r, size_t *out_len);

// fleet_status_stale returns whether an entry published at |time| with |refresh_ms| is stale at
// epoch seconds |now|.
bool fleet_status_stale(double time, uint32_t refresh_ms, double now);

// fleet_status_json adds the record's member object ({"Node","State",...,"LastSeen"}) to |arr|.
void fleet_status_json(cJSON *arr, const struct fleet_status_rec *r, bool stale);

#endif
