# shellcheck shell=bash
# tests/lib/timescale.sh: sourced by tests/lib/kmock.sh and by tests that do not use kmock.
# KESM_TEST_TIME_SCALE (1..100, default 1): how many times slower than usual the programs under
# test run (scripts/valgrind-tests sets 10). Deadlines stretch by it; a deadline is only a
# ceiling, so a larger one never makes a test pass that should fail.
TIME_SCALE=${KESM_TEST_TIME_SCALE:-1}
case $TIME_SCALE in '' | *[!0-9]*) TIME_SCALE=1 ;; esac
{ [ "$TIME_SCALE" -ge 1 ] && [ "$TIME_SCALE" -le 100 ]; } || TIME_SCALE=1
# scaled SECS: print SECS times the time scale (for `timeout "$(scaled 40)" ...`).
scaled() { echo $(($1 * TIME_SCALE)); }
