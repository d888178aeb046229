# shellcheck shell=bash
# tests/lib/tap.sh: TAP output and condition waits for bash tests (sourced by tests/lib/prelude.sh
# and tests/lib/kmock.sh; scripts/demo and bench/ use it through kmock.sh).
#
#   tap_ok DESC / tap_fail DESC [DETAIL...]   one TAP line, counted (TAP_OK, TAP_FAIL)
#   tap_check DESC CMD...                     ok when CMD exits 0, else not ok with its output
#   tap_done                                  "# N ok, M not ok"; exit 1 on a failure or no check
#   wait_until SECS CMD...                    retry CMD every 0.1 s until it succeeds or SECS
#                                             (times the time scale) pass
#   wait_gone SECS PID                        wait until process PID has exited
#   holds_for SECS CMD...                     CMD keeps succeeding for SECS (a negative check:
#                                             "nothing more arrives"); fails at the first miss
#   with_timeout SECS CMD...                  CMD, killed after SECS
#   TIME_SCALE, scaled SECS                   tests/lib/timescale.sh
# Tests wait on conditions (a file, a log line, a port, a process) with wait_until, never with a
# fixed sleep: a fixed sleep is either too short on a loaded machine or wasted on an idle one.
TAP_LOADED=1
TAP_OK=${TAP_OK:-0}
TAP_FAIL=${TAP_FAIL:-0}
. "$(dirname "${BASH_SOURCE[0]}")/timescale.sh"

# tap_ok DESC / tap_fail DESC [DETAIL...]: print one TAP line and count it.
tap_ok() {
    TAP_OK=$((TAP_OK + 1))
    echo "ok - $*"
}
tap_fail() {
    TAP_FAIL=$((TAP_FAIL + 1))
    echo "not ok - $1"
    shift
    local d
    for d in "$@"; do printf '%s\n' "$d" | sed 's/^/#   /'; done
    return 0
}

# tap_check DESC CMD...: run CMD; ok if it exits 0. On failure CMD's output (stdout and
# stderr, first 20 lines) follows as `#` comment lines. Returns CMD's status.
tap_check() {
    local desc=$1 out rc
    shift
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" = 0 ]; then
        tap_ok "$desc"
    else
        tap_fail "$desc" "exit $rc: $*"
        [ -n "$out" ] && printf '%s\n' "$out" | head -20 | sed 's/^/#   | /'
    fi
    return $rc
}

# tap_done: print the summary line; exit 1 if any check failed or none ran, else 0.
tap_done() {
    echo "# $TAP_OK ok, $TAP_FAIL not ok"
    if [ "$TAP_FAIL" != 0 ] || [ "$TAP_OK" = 0 ]; then
        exit 1
    fi
    exit 0
}

# with_timeout SECS CMD...: run CMD, killed (TERM, then KILL 5 s later) after SECS seconds.
# For a background process you want to signal, call `timeout --kill-after=5 SECS CMD &`
# directly: $! of a backgrounded shell function is a subshell, which ignores SIGINT.
with_timeout() {
    local secs=$1
    shift
    timeout --kill-after=5 "$secs" "$@"
}

# wait_until SECS CMD...: retry CMD every 0.1 s until it succeeds (0) or SECS (times the time
# scale) pass (1). SECS may have a fraction (0.5).
wait_until() {
    local limit_us deadline
    limit_us=$(awk -v s="$1" -v k="$TIME_SCALE" 'BEGIN { printf "%d", s * k * 1000000 }')
    deadline=$((${EPOCHREALTIME//[.,]/} + limit_us))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ "${EPOCHREALTIME//[.,]/}" -ge "$deadline" ] && return 1
        sleep 0.1
    done
    return 0
}

# holds_for SECS CMD...: check CMD every 0.1 s for SECS (not scaled: the window in which something
# unwanted would show); 1 as soon as it fails, 0 if it held throughout.
holds_for() {
    local limit_us deadline
    limit_us=$(awk -v s="$1" 'BEGIN { printf "%d", s * 1000000 }')
    deadline=$((${EPOCHREALTIME//[.,]/} + limit_us))
    shift
    while "$@" >/dev/null 2>&1; do
        [ "${EPOCHREALTIME//[.,]/}" -ge "$deadline" ] && return 0
        sleep 0.1
    done
    return 1
}

# wait_gone SECS PID: wait until PID has exited (0), or SECS pass (1).
wait_gone() {
    wait_until "$1" eval "! kill -0 $2 2>/dev/null"
}
