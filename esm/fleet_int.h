// fleet_int.h: shared by esm/fleet.c, esm/fleet_opts.c and esm/fleet_import.c (not for other
// modules).
#ifndef ESM_FLEET_INT_H
#define ESM_FLEET_INT_H

#include "consumer/admin.h"
#include "esm/fleet.h"

#include <stddef.h>

struct net_tls_ctx;
struct broker_sasl;
struct broker_auth;
struct net_reactor;

// fleet_create_topic starts CreateTopics for the fleet's |what| ("config", "status") topic
// |name| (1 partition, compacted) on the fleet's connection, after a log line; |done| runs from
// the reactor, or at once (-1) when it cannot start. Returns the admin (free it once done ran).
struct cons_admin *fleet_create_topic(struct net_reactor *r, const char *bootstrap,
                                      struct net_tls_ctx *tls, const struct broker_auth *auth,
                                      const char *what, const char *name, cons_admin_done_fn *done,
                                      void *ctx);

// fleet_security builds the TLS context and SASL plug-in the flags ask for (either may stay
// NULL). Returns 0, or -1 with the reason in |why| (never a secret).
int fleet_security(const struct esm_fleet_opts *o, struct net_tls_ctx **out_tls,
                   struct broker_sasl **out_sasl, char *why, size_t why_len);

// fleet_write produces the record of mapping |uuid| (|request| NULL: a tombstone) and calls
// |done| once this node has read it back (ok), or when it failed or timed out (|why|).
// |snapshot| (owned by the callee, may be NULL) is the mapping as the write left it on this node.
typedef void fleet_done_fn(void *ctx, bool ok, const char *why, cJSON *snapshot);
void fleet_write(struct esm_fleet *f, const char *uuid, const cJSON *request, double modified,
                 fleet_done_fn *done, void *ctx);
// fleet_ready returns whether the node has read the config topic up to its end once.
bool fleet_ready(const struct esm_fleet *f);
// fleet_pending returns how many writes are not yet confirmed.
size_t fleet_pending(const struct esm_fleet *f);

#endif
