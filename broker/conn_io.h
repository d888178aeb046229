// conn_io.h: the sans-I/O side of a broker_conn, for its drivers: conn_net.c (net/stream and a
// reactor timer) and fuzz/fuzz_broker_session.c (scripted bytes, a fake clock).
//
// The session never touches a socket, a timer or the clock itself: it asks through struct
// broker_io and is told what happened through the broker_conn_io_* calls below. Every output
// call may come from inside any input call; no input call may be made from inside an output call
// (the driver queues, as the reactor does).
#ifndef BROKER_CONN_IO_H
#define BROKER_CONN_IO_H

#include "broker/conn.h"
#include "net/stream.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// BROKER_NEVER: no deadline.
#define BROKER_NEVER UINT64_MAX

// struct broker_io: what a session needs from its driver. Every member is required.
struct broker_io {
    // open starts a connection for |c| to its host and port (broker_conn_host, broker_conn_port;
    // TLS when its config has a context): report progress with broker_conn_io_phase, frames with
    // broker_conn_io_frame, and the end, once, with broker_conn_io_closed. Reading starts enabled.
    void (*open)(void *ctx, struct broker_conn *c);
    // close drops the connection (or attempt) opened last; nothing more is reported about it.
    void (*close)(void *ctx);
    // write sends bytes (copied) on the open connection.
    void (*write)(void *ctx, const uint8_t *p, size_t len);
    // set_reading pauses (false) or resumes (true) handing up frames.
    void (*set_reading)(void *ctx, bool on);
    // buffered returns the bytes read from the connection and not yet handed up.
    size_t (*buffered)(void *ctx);
    // defer asks for one broker_conn_io_wake call soon (never from inside this call).
    void (*defer)(void *ctx);
    // arm asks for broker_conn_io_timer at |at_ms| on the now_ms clock (BROKER_NEVER: none),
    // replacing the previous request.
    void (*arm)(void *ctx, uint64_t at_ms);
    // now_ms returns a monotonic clock in milliseconds.
    uint64_t (*now_ms)(void *ctx);
    // random returns 32 random bits (backoff and re-authentication jitter).
    uint32_t (*random)(void *ctx);
    // release is the last call: the session is gone, free the driver's state.
    void (*release)(void *ctx);
    void *ctx;
};

// broker_conn_new_io creates a session over |io| (copied) and starts it: like broker_conn_new,
// with the config defaults applied the same way.
struct broker_conn *broker_conn_new_io(const struct broker_io *io, const char *host, uint16_t port,
                                       const struct broker_conn_config *cfg,
                                       const struct broker_conn_callbacks *cb);

// Inputs. Each runs the state machine; callbacks of the session's users run from inside them.
void broker_conn_io_phase(struct broker_conn *c, enum net_stream_phase phase);
void broker_conn_io_frame(struct broker_conn *c, const uint8_t *p, size_t len);
void broker_conn_io_closed(struct broker_conn *c, const struct net_stream_close *why);
void broker_conn_io_timer(struct broker_conn *c);
void broker_conn_io_wake(struct broker_conn *c);

#endif
