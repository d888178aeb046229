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

#include <stdlib.h>

// unit_time_scale: how many times slower than usual the test runs, from KESM_TEST_TIME_SCALE
// (an integer 1..100; scripts/valgrind-tests sets 10, memcheck being 10-50x slower). Tests whose
// timing is part of what they check (a request timeout against a pause, say) multiply their
// durations by it; tests that only wait for something to happen should wait for it instead.
static inline unsigned unit_time_scale(void)
{
    const char *s = getenv("KESM_TEST_TIME_SCALE");
    long v = s ? strtol(s, NULL, 10) : 1;
    return v >= 1 && v <= 100 ? (unsigned)v : 1u;
}

#endif
