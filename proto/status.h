// status.h: how every proto/ parser reports its result.
//
// Parsers return enum kp_status and, on failure, fill a struct kp_err naming the field that was
// being read and its byte offset in the frame, so a higher layer can log
// "Fetch v11 response: malformed at byte 57 (records.batch_length)".
#ifndef PROTO_STATUS_H
#define PROTO_STATUS_H

#include "proto/kr.h"

#include <stddef.h>

enum kp_status {
    KP_OK = 0,
    KP_NEED_MORE = 1,        // frame splitter only: not an error, wait for more bytes
    KP_ERR_TRUNCATED = -1,   // the input ended inside a value
    KP_ERR_MALFORMED = -2,   // an invalid encoding, or bytes left over
    KP_ERR_LIMIT = -3,       // a size or count above a configured limit
    KP_ERR_VERSION = -4,     // a version this code does not support
    KP_ERR_UNSUPPORTED = -5, // a valid input using a feature we do not implement
    KP_ERR_CORRUPT = -6,     // a checksum mismatch, or compressed data that does not decode
};

struct kp_err {
    const char *field; // static string naming what was being read; NULL when none
    size_t offset;     // byte offset in the root buffer where the failure was seen
};

// kp_status_name returns a static lower-case name such as "truncated".
const char *kp_status_name(enum kp_status st);

// kp_status_from_fault maps a cursor fault to a status (KR_OK maps to KP_ERR_MALFORMED, for a
// caller that failed for a reason of its own).
enum kp_status kp_status_from_fault(enum kr_fault f);

// kp_fail records where |r| failed into |err| (which may be NULL) and returns the matching
// status: the one-step "record and fail" of the house style.
enum kp_status kp_fail(struct kp_err *err, const kr *r, const char *field);

// kp_fail_as is kp_fail with an explicit status, for semantic errors found after a clean read.
enum kp_status kp_fail_as(struct kp_err *err, const kr *r, const char *field, enum kp_status st);

#endif
