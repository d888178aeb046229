# shellcheck shell=bash
# tests/lib/kmock.sh: sourced by bash integration tests. Drives build/kmock (the mock Kafka
# cluster, see tests/broker/kmock.c for its command language) and prints TAP lines.
#
#   . tests/lib/kmock.sh
#   trap 'kmock_stop' EXIT               # or your own cleanup that calls kmock_stop
#   kmock_start -b 3 -t orders:4 || exit 1   # sets KMOCK_PID, KMOCK_BOOTSTRAP, KMOCK_DIR
#   kmock_cmd produce orders 100 codec=lz4   # prints the answer; non-zero on error/timeout
#   kmock_cmd -t 60 produce orders 100000    # a longer answer timeout (default $KMOCK_TIMEOUT)
#   tap_check "kcat lists the topic" grep -q 'topic "orders"' out.txt
#   kmock_stop; tap_done                     # tap_done prints a summary and exits 1 on failure
#
# Variables: KMOCK_BIN (default <repo>/build/kmock), KMOCK_TIMEOUT (answer timeout, 30 s),
# KMOCK_DIR (scratch directory; created by kmock_start if unset; kmock's stdout/stderr are
# $KMOCK_DIR/kmock.out and kmock.err; the answer to the n-th command is line n+1 of kmock.out).
# Only one kmock per shell, and one kmock_cmd at a time. kmock_cmd works inside $(...).
# Background processes started after kmock_start inherit the write end of kmock's stdin; kmock
# sees EOF only when they have exited too, so bound them with timeout (kmock_stop sends quit).

KMOCK_ROOT=${KMOCK_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KMOCK_BIN=${KMOCK_BIN:-$KMOCK_ROOT/build/kmock}
KMOCK_TIMEOUT=${KMOCK_TIMEOUT:-30}
# TAP lines, wait_until, with_timeout, TIME_SCALE and scaled(): tests/lib/tap.sh.
[ -n "${TAP_LOADED:-}" ] || . "$KMOCK_ROOT/tests/lib/tap.sh"
KMOCK_PID=
KMOCK_FD=
KMOCK_BOOTSTRAP=

# kmock_start [kmock args...]: start kmock, wait (<= 15 s) for its BOOTSTRAP line.
kmock_start() {
    if [ -n "$KMOCK_PID" ]; then
        echo "kmock_start: kmock already running (pid $KMOCK_PID)" >&2
        return 1
    fi
    if [ ! -x "$KMOCK_BIN" ]; then
        echo "kmock_start: $KMOCK_BIN not built (make build/kmock)" >&2
        return 1
    fi
    if [ -z "${KMOCK_DIR:-}" ]; then
        KMOCK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kmock.XXXXXX") || return 1
        KMOCK_OWN_DIR=1
    fi
    mkdir -p "$KMOCK_DIR"
    rm -f "$KMOCK_DIR/kmock.in" "$KMOCK_DIR/kmock.out"
    mkfifo "$KMOCK_DIR/kmock.in" || return 1
    "$KMOCK_BIN" "$@" <"$KMOCK_DIR/kmock.in" >"$KMOCK_DIR/kmock.out" 2>"$KMOCK_DIR/kmock.err" &
    KMOCK_PID=$!
    # Opening the write end completes once kmock's shell has opened the read end. kmock reads
    # EOF when this shell closes the descriptor or dies.
    exec {KMOCK_FD}>"$KMOCK_DIR/kmock.in"
    echo 0 >"$KMOCK_DIR/kmock.sent"
    local deadline=$((SECONDS + 15))
    while ! head -1 "$KMOCK_DIR/kmock.out" 2>/dev/null | grep -q '^BOOTSTRAP '; do
        if ! kill -0 "$KMOCK_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
            echo "kmock_start: no BOOTSTRAP line; stderr:" >&2
            tail -5 "$KMOCK_DIR/kmock.err" >&2
            kmock_stop
            return 1
        fi
        sleep 0.05
    done
    KMOCK_BOOTSTRAP=$(head -1 "$KMOCK_DIR/kmock.out" | cut -d' ' -f2)
    export KMOCK_BOOTSTRAP
    return 0
}

# kmock_cmd [-t SECS] COMMAND...: send one command, print its answer line. Returns 0 on `ok`,
# 1 on `error`, 2 on timeout or when kmock is not running.
kmock_cmd() {
    local secs=$KMOCK_TIMEOUT
    if [ "${1:-}" = -t ]; then
        secs=$2
        shift 2
    fi
    if [ -z "$KMOCK_PID" ] || [ -z "$KMOCK_FD" ]; then
        echo "kmock_cmd: kmock is not running" >&2
        return 2
    fi
    if [ $# = 0 ]; then
        echo "kmock_cmd: no command" >&2
        return 2
    fi
    # A subshell ignoring SIGPIPE, so a dead kmock makes the write fail instead of killing us.
    if ! (trap '' PIPE && echo "$*" >&"$KMOCK_FD") 2>/dev/null; then
        echo "kmock_cmd: cannot send \"$*\": kmock is gone" >&2
        return 2
    fi
    # The count of commands sent lives in a file, so kmock_cmd also works inside $(...).
    local n
    n=$(($(cat "$KMOCK_DIR/kmock.sent") + 1))
    echo "$n" >"$KMOCK_DIR/kmock.sent"
    local line=$((n + 1)) ans deadline=$((SECONDS + secs))
    while :; do
        ans=$(sed -n "${line}{p;q}" "$KMOCK_DIR/kmock.out")
        [ -n "$ans" ] && break
        if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$KMOCK_PID" 2>/dev/null; then
            echo "kmock_cmd: no answer to \"$*\" within ${secs} s" >&2
            return 2
        fi
        sleep 0.02
    done
    echo "$ans"
    case $ans in
    ok*) return 0 ;;
    *) return 1 ;;
    esac
}

# kmock_stop: send quit, close kmock's stdin, wait up to 10 s, then TERM/KILL it by PID. Safe to
# call twice.
# Returns kmock's exit status (0 on a clean exit).
kmock_stop() {
    local rc=0
    if [ -n "$KMOCK_FD" ]; then
        # quit first: a background child may still hold the FIFO open, so EOF could come late.
        (trap '' PIPE && echo quit >&"$KMOCK_FD") 2>/dev/null
        exec {KMOCK_FD}>&-
        KMOCK_FD=
    fi
    if [ -n "$KMOCK_PID" ]; then
        for _ in $(seq 100); do
            kill -0 "$KMOCK_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$KMOCK_PID" 2>/dev/null; then
            echo "kmock_stop: kmock (pid $KMOCK_PID) ignored EOF; killing it" >&2
            kill -TERM "$KMOCK_PID" 2>/dev/null
            wait_gone 1 "$KMOCK_PID" || kill -KILL "$KMOCK_PID" 2>/dev/null
        fi
        wait "$KMOCK_PID" 2>/dev/null
        rc=$?
        KMOCK_PID=
    fi
    if [ -n "${KMOCK_OWN_DIR:-}" ] && [ -z "${KMOCK_KEEP:-}" ]; then
        rm -rf "$KMOCK_DIR"
        KMOCK_DIR=
        KMOCK_OWN_DIR=
    fi
    return $rc
}
