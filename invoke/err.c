// err.c: invoke/'s error text (see err.h).
#include "invoke/err.h"

#include <stdarg.h>
#include <stdio.h>

int inv_fail(struct inv_err *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}
