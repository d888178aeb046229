// transport.h: how invoke/ hands a payload to a function, behind one small vtable.
//
// Shape (hiredis redisContextFuncs): a transport is a struct whose first member is
// struct inv_transport, pointing at a const table of functions. Implementations here: "stdout"
// (one event per line) and "exec" (a child process per batch). HTTP/Lambda transports (net/)
// plug in the same way.
//
// Driving (the c-ares ares_fds/ares_timeout/ares_process shape, so any reactor can drive it):
//   poll_fds()  says which descriptors to watch, for what, and how long the caller may sleep;
//   dispatch()  does the non-blocking work after the caller's poll/epoll/libevent wake-up and
//               runs completion callbacks.
// Nothing blocks longer than one write()/read() on a non-blocking descriptor; callbacks never run
// inside submit() (results, even immediate ones, are delivered by the next dispatch()), so a
// callback may call submit() or cancel() again. inv_transport_run() is a small poll() loop
// step for callers without a reactor. A libevent driver registers each (fd, events) as an event
// and a timer for the timeout, and calls dispatch() from their callbacks.
#ifndef INVOKE_TRANSPORT_H
#define INVOKE_TRANSPORT_H

#include "invoke/err.h"

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum inv_result_kind {
    INV_RESULT_OK,             // the whole batch succeeded
    INV_RESULT_PARTIAL,        // success with batchItemFailures (see failures)
    INV_RESULT_FUNCTION_ERROR, // the function failed (counts against retry limits)
    INV_RESULT_RETRYABLE,      // never reached the function (throttle, service, network): retry
    INV_RESULT_FATAL,          // configuration problem (cannot execute, no such function): stop
    INV_RESULT_TOO_LARGE,      // the request was refused as too large (HTTP 413): split the batch
};

// inv_item_failure: one batchItemFailures[].itemIdentifier.
struct inv_item_failure {
    char *partition; // "<topic>-<partition>"
    int64_t offset;
};

struct inv_result {
    enum inv_result_kind kind;
    char *message; // human-readable detail (error text, function's message); may be NULL
    int status;    // exit status (exec) or HTTP status; -1 when none
    struct inv_item_failure *failures;
    size_t num_failures;
};

void inv_result_init(struct inv_result *r);
void inv_result_cleanup(struct inv_result *r);
const char *inv_result_kind_name(enum inv_result_kind k);

// inv_result_from_response interprets the body a function returned successfully. Without
// |report_batch_item_failures| the body is ignored (INV_RESULT_OK). With it (Lambda's
// ReportBatchItemFailures rules):
//   - empty/blank body, JSON null, a JSON value that is not an object, an object without
//     "batchItemFailures", or with it null or [] -> INV_RESULT_OK;
//   - invalid JSON, batchItemFailures not an array, an item without an itemIdentifier object
//     holding a non-empty string "partition" and an integral number "offset" (|offset| <= 2^53)
//     -> INV_RESULT_FUNCTION_ERROR (the whole batch failed), message naming the item;
//   - otherwise INV_RESULT_PARTIAL with the identifiers in order. Whether each names a record of
//     the batch is for the caller (batch_check_failures in batcher.h) to decide.
// |out| must be initialized; it is overwritten.
void inv_result_from_response(struct inv_result *out, const char *body, size_t len,
                              bool report_batch_item_failures);

struct inv_transport;

// inv_done_fn receives the result of one submit; |res| is valid only during the call.
typedef void inv_done_fn(void *ctx, uint64_t id, const struct inv_result *res);

struct inv_transport_funcs {
    const char *name;
    // submit starts delivering |payload| (borrowed until done runs or the request is cancelled)
    // and sets *out_id. Returns 0, or -1 with |err| when nothing was started (no callback).
    int (*submit)(struct inv_transport *t, const char *payload, size_t len, inv_done_fn *done,
                  void *ctx, uint64_t *out_id, struct inv_err *err);
    // cancel abandons a request: its callback will not run. Returns 0, or -1 if unknown/finished.
    int (*cancel)(struct inv_transport *t, uint64_t id);
    // free cancels everything and frees the transport.
    void (*free)(struct inv_transport *t);
    // poll_fds fills up to |cap| entries, returns how many are needed (call again with more room
    // if larger than cap) and sets *out_timeout_ms (-1: no timeout needed).
    size_t (*poll_fds)(struct inv_transport *t, struct pollfd *fds, size_t cap,
                       int *out_timeout_ms);
    // dispatch does pending non-blocking work and runs due callbacks; |fds| are the entries from
    // poll_fds with revents filled in (may be NULL/0 after a timeout).
    void (*dispatch)(struct inv_transport *t, const struct pollfd *fds, size_t num_fds);
    // queued (optional, NULL: nothing is ever queued) returns the payload bytes submitted and not
    // yet handed on (written to stdout, to a child's stdin): the caller's backpressure.
    size_t (*queued)(struct inv_transport *t);
};

struct inv_transport {
    const struct inv_transport_funcs *funcs;
};

int inv_transport_submit(struct inv_transport *t, const char *payload, size_t len,
                         inv_done_fn *done, void *ctx, uint64_t *out_id, struct inv_err *err);
int inv_transport_cancel(struct inv_transport *t, uint64_t id);
// inv_transport_free: NULL is a no-op.
void inv_transport_free(struct inv_transport *t);
const char *inv_transport_name(const struct inv_transport *t);
// inv_transport_queued: bytes submitted and not yet handed on (0 for a transport without a queue);
// NULL is 0.
size_t inv_transport_queued(struct inv_transport *t);

// inv_transport_run does one poll() step: waits at most |max_wait_ms| (-1: as long as the
// transport says) and dispatches. Returns 0, or -1 if poll failed (errno set; EINTR included).
int inv_transport_run(struct inv_transport *t, int max_wait_ms);

// ---- stdout ---------------------------------------------------------------------------------

// inv_stdout_new writes each payload plus '\n' to |fd| (1 for stdout; borrowed) without blocking
// the caller: a pipe or socket is written as it drains (POLLOUT through poll_fds/dispatch), and a
// payload is INV_RESULT_OK once all of it is written (INV_RESULT_FATAL, naming the error, if a
// write fails: EPIPE when the reader went away). Bytes waiting are reported by
// inv_transport_queued. Event JSON contains no raw newline, so each event is one line; stdout
// transports on one descriptor share one queue, so lines never interleave. Cancelling a payload
// none of which is written drops it; one half written is still finished. SIGPIPE is ignored in the
// calling process. See transport_stdout.c.
struct inv_transport *inv_stdout_new(int fd);

// ---- exec -----------------------------------------------------------------------------------

struct inv_exec_cfg {
    // argv: program and arguments, run directly with fork + execve (PATH search, no shell).
    const char *const *argv;
    // shell_command: used only when argv is NULL: run as /bin/sh -c <shell_command>.
    const char *shell_command;
    uint32_t timeout_ms; // > 0: the child (and its process group) is SIGKILLed after this
    size_t max_output;   // stdout bytes kept; 0 means 6291456 (Lambda's response limit)
    bool report_batch_item_failures;
};

// inv_exec_new creates the exec transport: one child per submit, the event on its stdin, its
// stdout collected, its stderr inherited (passed through). Each child runs in its own process
// group with default signal dispositions and dies with the calling process (PR_SET_PDEATHSIG,
// so even when that is killed with SIGKILL). Success is exit status 0; then stdout (read until
// EOF, or for at most 200 ms after the exit) is interpreted by inv_result_from_response; what the
// child left in its process group is killed once it exited. Non-zero exit, death by signal and
// timeout are function errors; a program that cannot be started is INV_RESULT_FATAL, unless the
// reason is transient (out of descriptors, processes or memory: INV_RESULT_RETRYABLE). Error
// messages quote at most 200 bytes of the output, as printable UTF-8. Config strings are copied.
// inv_exec_new ignores SIGPIPE in the calling process (a child that does not read its stdin must
// not kill the daemon); children get the default disposition back.
int inv_exec_new(struct inv_transport **out, const struct inv_exec_cfg *cfg, struct inv_err *err);

#endif
