// status_view.h: the terminal view of the status JSON (`kesm status`, esm/status_cli.c).
//
// The document comes from a server, so it is untrusted: it is parsed with cJSON (bounded by the
// caller's size limit), missing or mistyped members print as "-", and every string is made safe
// for a terminal (control characters, escape sequences included, become '?'; strings are cut at
// 400 bytes). Output, one line per mapping (with |verbose| also one per partition):
//
//   kesm 0.1.0: 2 mappings, 1 OK, 1 stuck; stuck after 300 s
//   HEALTH   UUID                                  STATE      LAG       FUNCTION / TOPIC   RESULT
//   OK       6476a950-fad8-4b30-9b15-d002db9eb9b1  Enabled    0         f / orders         OK
//   STUCK    0f4d...                               Enabled    17        g / orders         PROBLEM:
//   ...
//            orders-0  committed 42  high watermark 59  lag 17  in flight 1  last delivery
//            2026-12-01T10:00:00.000Z  STUCK 31 s (function failing)
//
// HEALTH is STUCK (a partition is stuck), STOPPED (Disabled with a StateTransitionReason other
// than USER_INITIATED), PROBLEM (LastProcessingResult starts with PROBLEM), DISABLED, the state
// in capitals while it changes, or OK.
#ifndef ESM_STATUS_VIEW_H
#define ESM_STATUS_VIEW_H

#include <stdbool.h>
#include <stddef.h>

enum esm_status_verdict {
    ESM_STATUS_FINE = 0,      // nothing stuck, nothing stopped by a problem
    ESM_STATUS_ATTENTION = 1, // a partition is stuck or a mapping was stopped by a problem
    ESM_STATUS_INVALID = -1,  // not a kesm status document
};

// esm_status_view renders |json| (|len| bytes) into *out (NUL-terminated, caller frees; for
// ESM_STATUS_INVALID one line saying what is wrong) and returns the verdict.
enum esm_status_verdict esm_status_view(const char *json, size_t len, bool verbose, char **out);

#endif
