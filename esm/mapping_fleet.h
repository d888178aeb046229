// mapping_fleet.h: the manager's side of fleet mode (esm/fleet.h). There, the config topic is the
// source of truth: an API operation is checked here (prepare: nothing changes), written to the
// topic by the fleet, and takes effect on every node, this one included, when the node reads the
// record back (apply). Records are applied in topic order, so the last writer wins everywhere.
#ifndef ESM_MAPPING_FLEET_H
#define ESM_MAPPING_FLEET_H

#include "esm/mapping.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

// esm_manager_prepare_create checks |req| as esm_manager_create does (validation, policy,
// conflicts) and picks a fresh UUID (|out_uuid|). On success out->body is the request to store
// (the caller owns it); nothing else changes.
void esm_manager_prepare_create(struct esm_manager *mgr, const cJSON *req, char out_uuid[37],
                                struct esm_op_result *out);
// esm_manager_prepare_update merges |req| into mapping |uuid| as esm_manager_update does; on
// success out->body is the merged request to store.
void esm_manager_prepare_update(struct esm_manager *mgr, const char *uuid, const cJSON *req,
                                struct esm_op_result *out);
// esm_manager_prepare_delete checks that mapping |uuid| exists and may be deleted now (out->body
// stays NULL).
void esm_manager_prepare_delete(struct esm_manager *mgr, const char *uuid,
                                struct esm_op_result *out);

// esm_manager_apply makes mapping |uuid| what the config topic says: |request| (NULL: a
// tombstone, the mapping is deleted). A new mapping is created (Creating, ordered by |seq|);
// a changed one goes through Updating, Enabling or Disabling as with an API update; an equal one
// is left alone. |last_modified| is epoch seconds. *out_snapshot (may be NULL) receives the
// mapping as the API would answer the operation (Creating, Updating, Deleting, ...), or NULL
// when there is none. Returns 0, or -1 with the reason in |why| (a stored request that no
// longer validates: the mapping is left as it was).
int esm_manager_apply(struct esm_manager *mgr, const char *uuid, const cJSON *request, uint64_t seq,
                      double last_modified, cJSON **out_snapshot, char *why, size_t why_len);

// esm_manager_each_request calls |fn| with the UUID and stored request of every mapping (not
// those being deleted), in list order.
void esm_manager_each_request(struct esm_manager *mgr,
                              void (*fn)(void *ctx, const char *uuid, const cJSON *request),
                              void *ctx);

#endif
