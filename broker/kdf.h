// kdf.h: SCRAM key derivations (PBKDF2, up to half a second at the iteration cap) off the event
// loop. Each derivation runs on a short-lived thread of its own; its result is posted back to the
// loop through a pipe the reactor watches, and the callback runs there. A connection that goes
// away cancels: the callback never runs, and whoever finishes last (the thread or the loop)
// wipes and frees the derivation. The thread touches only the derivation (struct sasl_kdf holds
// copies of the password and salt), never the connection or the mechanism.
#ifndef BROKER_KDF_H
#define BROKER_KDF_H

#include "net/reactor.h"
#include "sasl/sasl.h"

#include <stddef.h>

struct broker_kdf;

// broker_kdf_done_fn receives the derivation, run (ownership passes to the callee).
typedef void broker_kdf_done_fn(void *ctx, struct sasl_kdf *k);

// broker_kdf_start takes ownership of |k| and runs it on a thread; |done(ctx, k)| follows on |r|'s
// loop thread. Returns a handle for broker_kdf_cancel (valid until done runs), or NULL when no
// thread or pipe could be made (then |k| was freed).
struct broker_kdf *broker_kdf_start(struct net_reactor *r, struct sasl_kdf *k,
                                    broker_kdf_done_fn *done, void *ctx);
// broker_kdf_cancel drops the callback; the thread finishes and frees the derivation. NULL is a
// no-op.
void broker_kdf_cancel(struct broker_kdf *h);
// broker_kdf_running returns how many derivation threads have not finished yet (for tests).
size_t broker_kdf_running(void);

#endif
