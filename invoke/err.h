// err.h: the error text invoke/ modules hand to the layer above.
#ifndef INVOKE_ERR_H
#define INVOKE_ERR_H

// inv_err carries a human-readable message for the higher layer's log. Messages never contain
// secret values.
struct inv_err {
    char msg[256];
};

// inv_fail formats a message into |err| (which may be NULL) and returns |code|: the house
// style's "record and fail in one step".
int inv_fail(struct inv_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
