// stream.h: a framed byte stream to one broker: what a Kafka session (broker/) needs from the
// network and nothing more.
//
// A net_stream dials its host:port with net/dial (resolve, each address in turn with
// connect_timeout_ms, optional TLS), then writes what it is given and reads Kafka frames: each
// 4-byte size prefix is checked with kp_frame_split against max_frame before anything is
// buffered for it, and each whole frame is handed up without its prefix. Reading can be paused
// (the socket is then not read, so TCP pushes back on the peer) and resumed (frames already
// buffered are handed up from the reactor, never inside net_stream_resume). A frame above
// NET_MEMBUDGET_FREE is read only under a reservation of the process-wide memory budget
// (net/membudget.h), given back once the frame was handed up.
//
// Reads: a stream keeps its own input, a 64 KiB head for small frames and one buffer of exactly
// the frame's size for a larger one (allocated once its reservation is granted, freed once it
// was handed up). A plain TCP stream reads its socket itself with one readv into the rest of
// the frame plus the head (no 4 KiB reads, no ioctl(FIONREAD) before each as libevent 2.1's
// bufferevents do; the bufferevent only writes); a TLS stream takes what its bufferevent
// decrypted. Frames are handed up in place, never copied whole. The stream ends with
// exactly one on_close that classifies why (enum net_stream_end); net_stream_free ends it without
// a callback.
//
// Callbacks may call net_stream_free on their own stream; after on_close the stream is inert
// (free it). Single-threaded: the reactor's thread only.
#ifndef NET_STREAM_H
#define NET_STREAM_H

#include "net/reactor.h"
#include "net/tls.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_stream;

// enum net_stream_phase: progress reported to on_phase.
enum net_stream_phase {
    NET_STREAM_RESOLVED, // the name has addresses; connecting
    NET_STREAM_TCP,      // a TCP connection is up (TLS, if any, starts now)
    NET_STREAM_OPEN,     // ready for bytes (after the TLS handshake, with TLS)
};

// enum net_stream_end: why a stream ended.
enum net_stream_end {
    NET_STREAM_END_RESOLVE,     // the name did not resolve (msg: "cannot resolve ...")
    NET_STREAM_END_CONNECT,     // no address accepted (msg: each address and why, net/dial.h)
    NET_STREAM_END_TLS,         // a TLS failure, in or after the handshake (tls_fail, msg)
    NET_STREAM_END_EOF,         // the peer closed; |pending| bytes were buffered unread
    NET_STREAM_END_NO_NOTIFY,   // TLS: the peer closed without a close_notify
    NET_STREAM_END_ERROR,       // a socket error (msg: its text)
    NET_STREAM_END_FRAME_LIMIT, // a frame size above max_frame or the memory budget (msg)
    NET_STREAM_END_FRAME_BAD,   // a negative frame size, or a frame that does not split (msg)
};

// struct net_stream_close describes the end; valid during on_close only.
struct net_stream_close {
    enum net_stream_end end;
    enum net_tls_fail tls_fail; // NET_STREAM_END_TLS
    const char *msg;            // one line (never NULL; "" when the kind says it all)
    size_t pending;             // bytes read but not handed up
};

struct net_stream_callbacks {
    void (*on_phase)(void *ctx, enum net_stream_phase phase);
    // on_frame: one whole frame without its size prefix; |p| is valid during the call only.
    void (*on_frame)(void *ctx, const uint8_t *p, size_t len);
    void (*on_close)(void *ctx, const struct net_stream_close *why);
    void *ctx;
};

// struct net_stream_config: copied (the strings too); |tls| is borrowed.
struct net_stream_config {
    struct net_tls_ctx *tls;     // NULL = plaintext
    uint32_t connect_timeout_ms; // per address (required)
    size_t max_frame;            // largest frame accepted (required)
    const char *log;             // log component of the owner ("net mapping=...")
    const char *name;            // the peer as log lines name it ("host:port")
};

// net_stream_open starts dialling |host| (no brackets) on |port|; reading starts enabled.
// Callbacks never run inside this call. Never returns NULL.
struct net_stream *net_stream_open(struct net_reactor *r, const char *host, uint16_t port,
                                   const struct net_stream_config *cfg,
                                   const struct net_stream_callbacks *cb);
// net_stream_free closes the stream without a callback. NULL is a no-op.
void net_stream_free(struct net_stream *s);

// net_stream_write queues |len| bytes (copied) for the peer; aborts on out-of-memory. Ignored
// before NET_STREAM_OPEN and after the end.
void net_stream_write(struct net_stream *s, const void *p, size_t len);
// net_stream_set_reading pauses (false) or resumes (true) reading and handing up frames.
void net_stream_set_reading(struct net_stream *s, bool on);
// net_stream_buffered returns the bytes read but not yet handed up.
size_t net_stream_buffered(const struct net_stream *s);

#endif
