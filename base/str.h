// str.h: small string checks more than one layer needs.
#ifndef BASE_STR_H
#define BASE_STR_H

#include <stdbool.h>
#include <stddef.h>

// str_is_digits reports whether the |n| bytes at |s| are all ASCII digits (false for n == 0).
bool str_is_digits(const char *s, size_t n);

#endif
