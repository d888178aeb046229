// status.c: status names and the fail helpers.
#include "proto/status.h"

const char *kp_status_name(enum kp_status st)
{
    switch (st) {
    case KP_OK:
        return "ok";
    case KP_NEED_MORE:
        return "need more bytes";
    case KP_ERR_TRUNCATED:
        return "truncated";
    case KP_ERR_MALFORMED:
        return "malformed";
    case KP_ERR_LIMIT:
        return "over limit";
    case KP_ERR_VERSION:
        return "unsupported version";
    case KP_ERR_UNSUPPORTED:
        return "unsupported feature";
    case KP_ERR_CORRUPT:
        return "corrupt";
    }
    return "unknown status";
}

enum kp_status kp_status_from_fault(enum kr_fault f)
{
    switch (f) {
    case KR_TRUNCATED:
        return KP_ERR_TRUNCATED;
    case KR_LIMIT:
        return KP_ERR_LIMIT;
    case KR_OK:
    case KR_MALFORMED:
        return KP_ERR_MALFORMED;
    }
    return KP_ERR_MALFORMED;
}

enum kp_status kp_fail_as(struct kp_err *err, const kr *r, const char *field, enum kp_status st)
{
    if (err) {
        err->field = field;
        err->offset = kr_offset(r);
    }
    return st;
}

enum kp_status kp_fail(struct kp_err *err, const kr *r, const char *field)
{
    return kp_fail_as(err, r, field, kp_status_from_fault(r->fault));
}
