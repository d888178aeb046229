# shellcheck shell=bash
# tests/lib/prelude.sh: the common start of every integration test (tests/integration/*.sh).
# First line after the header comment of a test:
#
#   . "$(dirname "$0")/../lib/prelude.sh"
#
# What it does and gives:
#   - set -u; the working directory is the repository root (ROOT).
#   - TAP output and condition waits: tap_ok, tap_fail, tap_check, tap_done, wait_until,
#     wait_gone, with_timeout, TIME_SCALE, scaled (tests/lib/tap.sh).
#   - TEST_NAME (the script's name without .sh) and TEST_TMP, a fresh private scratch directory
#     (${TMPDIR:-/tmp}/<name>.XXXXXX), removed at exit unless KESM_KEEP_TMP=1. Tests put every
#     file, port file, state directory and socket there and take ports from the kernel (port 0),
#     so any number of tests run at once (scripts/run-tests runs them in parallel).
#   - KESM: the kesm binary under test: $KESM_BIN, else $KESM_BUILD/kesm, else build/kesm
#     (scripts/run-tests sets KESM_BIN to the ASan+UBSan build/asan/kesm). ASAN_TREE: the tree of
#     the test drivers (tools/*): $KESM_ASAN_TREE, else build/asan.
#   - Sanitizers: every ASan/UBSan program the test starts (kesm, the drivers) writes its report
#     to a file in KESM_SAN_DIR (ASAN_OPTIONS/UBSAN_OPTIONS log_path; exit status 66 on an ASan
#     error) instead of its stderr, so no report is lost with the test's scratch files. At exit
#     each report is a "not ok" line and the test fails; scripts/run-tests checks the same
#     directory (build/test-logs/san/<test>) again. Tests do not set ASAN_OPTIONS themselves;
#     append to it (ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0) when a run needs an exception.
#   - at_exit CMD...: run CMD at exit (the last registered first), before the sanitizer check
#     and before TEST_TMP is removed. Tests do not set their own EXIT trap.
#   - bg_start VAR CMD...: start CMD in the background (its PID in VAR); it is stopped at exit
#     if still running (stop_pid).
#   - stop_pid PID [SECS]: SIGTERM, wait up to SECS (20) for the exit, then SIGKILL; reaps it.
#   - need PROG...: a "not ok" line and exit 1 when a program (path or command name) is missing.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
. "$ROOT/tests/lib/tap.sh"

TEST_NAME=$(basename "$0" .sh)
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$TEST_NAME.XXXXXX") || {
    echo "not ok - $TEST_NAME: cannot make a scratch directory"
    exit 1
}
KESM=${KESM_BIN:-${KESM_BUILD:-build}/kesm}
# LIFETIME: the bound (seconds) of long-lived helpers (kesm serve/run, kmock -l, fake servers):
# only a guard against strays, never a deadline a test waits for; scripts/run-tests ends a test
# and its process group at KESM_INTEGRATION_TIMEOUT anyway.
LIFETIME=$(scaled "${KESM_INTEGRATION_TIMEOUT:-600}")
ASAN_TREE=${KESM_ASAN_TREE:-build/asan}

KESM_SAN_DIR=${KESM_SAN_DIR:-$TEST_TMP/sanitizer}
mkdir -p "$KESM_SAN_DIR"
export KESM_SAN_DIR
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=66:log_path=$KESM_SAN_DIR/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$KESM_SAN_DIR/ubsan"

PRELUDE_AT_EXIT=()
PRELUDE_BG=()

# at_exit CMD...: register CMD (one string, eval'd) to run at exit.
at_exit() {
    PRELUDE_AT_EXIT+=("$*")
}

# stop_pid PID [SECS]: SIGTERM, up to SECS (default 20) for it to exit, then SIGKILL; reaped when
# it is a child of this shell.
stop_pid() {
    local pid=$1 secs=${2:-20}
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || {
        wait "$pid" 2>/dev/null
        return 0
    }
    wait_gone "$secs" "$pid" || kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# bg_start VAR CMD...: CMD in the background, its PID in VAR, stopped at exit.
bg_start() {
    local var=$1
    shift
    "$@" &
    printf -v "$var" '%s' "$!"
    PRELUDE_BG+=("$!")
}

# need PROG...: fail the test (not ok, exit 1) when PROG is neither an executable path nor a
# command on PATH.
need() {
    local p
    for p in "$@"; do
        if [ ! -x "$p" ] && ! command -v "$p" >/dev/null 2>&1; then
            tap_fail "$p is available" "build it (make all; make BUILD=build/asan SAN=1 unit-bins) or install it (scripts/setup)"
            tap_done
        fi
    done
}

# sanitizer_reports: one "not ok" line per report file in KESM_SAN_DIR; returns 1 if any.
sanitizer_reports() {
    local f bad=0
    for f in "$KESM_SAN_DIR"/*; do
        [ -f "$f" ] || continue
        bad=1
        TAP_FAIL=$((TAP_FAIL + 1))
        echo "not ok - sanitizer report ($(basename "$f")): $(grep -m1 -oE '(ERROR: [A-Za-z]*Sanitizer: [a-z -]*[a-z]|LeakSanitizer has encountered a fatal error|runtime error: .*)' "$f")"
        grep -E 'ERROR:|runtime error|SUMMARY|Sanitizer|^ +#[0-9] ' "$f" | head -12 | sed 's/^/#   /'
        if [ "$KESM_SAN_DIR" = "$TEST_TMP/sanitizer" ]; then
            cp "$f" "${TMPDIR:-/tmp}/$TEST_NAME-$(basename "$f")" 2>/dev/null &&
                echo "#   report kept in ${TMPDIR:-/tmp}/$TEST_NAME-$(basename "$f")"
        fi
    done
    return $bad
}

prelude_exit() {
    local rc=$? i
    trap - EXIT
    for ((i = ${#PRELUDE_AT_EXIT[@]} - 1; i >= 0; i--)); do
        eval "${PRELUDE_AT_EXIT[$i]}"
    done
    for i in "${PRELUDE_BG[@]}"; do
        kill -0 "$i" 2>/dev/null && stop_pid "$i"
    done
    sanitizer_reports || rc=1
    if [ -z "${KESM_KEEP_TMP:-}" ]; then
        rm -rf "$TEST_TMP"
    else
        echo "# scratch files kept in $TEST_TMP"
    fi
    exit "$rc"
}
trap prelude_exit EXIT
