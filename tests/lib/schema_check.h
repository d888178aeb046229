// schema_check.h: helpers for the schema/ unit tests: source files as text, and JSON compared
// by value (numbers equal as doubles or as float32, so float fields may be written shortest).
#ifndef TESTS_LIB_SCHEMA_CHECK_H
#define TESTS_LIB_SCHEMA_CHECK_H

#include <stdbool.h>
#include <stddef.h>

// src_text reads <source tree>/<rel> into a NUL-terminated heap buffer (aborts if missing).
char *src_text(const char *rel, size_t *out_len);

// json_same parses both texts and compares them by value; on a difference it prints both to
// stderr and returns false.
bool json_same(const char *got, size_t got_len, const char *want, size_t want_len);

#endif
