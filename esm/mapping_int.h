// mapping_int.h: the mapping objects, shared by esm/mapping.c (lifecycle, transitions,
// persistence, restore) and esm/mapping_ops.c (the API operations). Nothing outside esm/
// includes this.
#ifndef ESM_MAPPING_INT_H
#define ESM_MAPPING_INT_H

#include "esm/mapping.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct esm_mapping {
    struct esm_mapping *next; // in creation (seq) order
    char uuid[37];
    uint64_t seq;
    struct esm_config cfg;
    enum esm_state state;
    enum esm_reason reason;
    char *last_result;
    char *stuck_result; // a stuck partition's PROBLEM (esm_manager_set_stuck); not persisted
    double last_modified;
    bool active;         // the runner holds it (between start and on_stopped)
    bool stop_requested; // stop was called and on_stopped has not come yet
    void *runner_data;
};

struct esm_manager {
    struct esm_manager_config cfg;
    struct esm_mapping *head;
    uint64_t next_seq;
    struct esm_runner runner;
    esm_runner_metrics_fn runner_metrics;
    esm_metrics_hook_fn metrics_hook;
    void *metrics_hook_ctx;
    bool shutting_down;
};

// mapping.c: helpers the operations share.
void map_free(struct esm_mapping *m);
int map_save(struct esm_manager *mgr, struct esm_mapping *m, char *why, size_t why_len);
cJSON *map_snapshot(const struct esm_mapping *m);
void map_log(struct esm_manager *mgr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void map_reconcile(struct esm_manager *mgr, struct esm_mapping *m);
struct esm_parse_opts map_parse_opts(struct esm_manager *mgr);
bool map_set_result(struct esm_mapping *m, const char *text);
void map_link_sorted(struct esm_manager *mgr, struct esm_mapping *m);
struct esm_mapping *map_find(struct esm_manager *mgr, const char *uuid);

// mapping_ops.c: what the fleet's operations (mapping_fleet.c) share with the local ones.
void map_op_fail(struct esm_op_result *out, enum esm_op_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void map_op_ok(struct esm_op_result *out, cJSON *body);
bool map_conflict(struct esm_manager *mgr, const struct esm_config *cfg,
                  const struct esm_mapping *self, struct esm_op_result *out);
void map_note_vpc(struct esm_manager *mgr, const struct esm_mapping *m);
bool map_in_use(const struct esm_mapping *m, const char *verb, struct esm_op_result *out);

#endif
