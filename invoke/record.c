// record.c: names of record enums (see record.h).
#include "invoke/record.h"

const char *inv_ts_type_name(enum inv_ts_type t)
{
    switch (t) {
    case INV_TS_LOG_APPEND_TIME:
        return "LOG_APPEND_TIME";
    case INV_TS_NO_TIMESTAMP_TYPE:
        return "NO_TIMESTAMP_TYPE";
    case INV_TS_CREATE_TIME:
        break;
    }
    return "CREATE_TIME";
}
