// unit.h: include this first in every cmocka test; cmocka needs these headers before its own.
#ifndef TESTS_LIB_UNIT_H
#define TESTS_LIB_UNIT_H

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#endif
