# shellcheck shell=bash
# tests/integration/esm_run_lib.bash: helpers for the `kesm run` end-to-end tests (sourced after
# tests/lib/kmock.sh and kmock_start). Not a test by itself.
#
#   run_mapping FILE TOPIC 'extra JSON members'   write a mapping for TOPIC on kmock (exec handler;
#                                                 BatchSize or MaximumBatchingWindowInSeconds
#                                                 in the extra members replace the defaults)
#   kesm_start FILE                               start kesm run in the background (KESM_PID is
#                                                 the timeout wrapper, KESM_CHILD kesm itself)
#   kesm_stop                                     SIGINT, wait; sets KESM_RC to kesm's status
#   kesm_kill                                     SIGKILL kesm itself (a crash)
#   log_check LOG exact|atleast TOPIC-P=N ...     every offset 0..N-1 of each partition is in LOG
#                                                 (exactly once and in order, or at least once)
#   wait_committed SECS TOPIC NPART "0=N 1=M"     until kmock has those commits of the group kesm
#                                                 logged last (every batch before them finished)
KESM_PID=
RUN_TMP=${RUN_TMP:-$TEST_TMP}

run_mapping() {
    local file=$1 topic=$2 extra=${3:-} bs batch='"BatchSize": 10,'
    local window='"MaximumBatchingWindowInSeconds": 1,'
    bs=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')
    # A member given in |extra| replaces the default (kesm refuses duplicate keys).
    case $extra in *'"BatchSize"'*) batch= ;; esac
    case $extra in *'"MaximumBatchingWindowInSeconds"'*) window= ;; esac
    cat >"$file" <<JSON
{"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:demo",
 "Topics": ["$topic"], "StartingPosition": "TRIM_HORIZON",
 "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["$bs"]}},
 $batch $window
 ${extra:+$extra,}
 "Kesm": {"Transport": "exec", "Command": ["$KMOCK_ROOT/examples/handler.py"]}}
JSON
}

KESM_CHILD=
KESM_RC=
# The librdkafka mock delays a rejoin by the session timeout: keep it short (and commits often).
export KESM_SESSION_TIMEOUT_MS=6000 KESM_HEARTBEAT_INTERVAL_MS=500 KESM_COMMIT_INTERVAL_MS=500
kesm_start() {
    timeout --kill-after=5 "$LIFETIME" "$KESM" run --no-status --config "$1" 2>>"$RUN_TMP/kesm.err" &
    KESM_PID=$!
    KESM_CHILD=
    local i
    for i in $(seq 50); do
        KESM_CHILD=$(pgrep -P "$KESM_PID" | head -1)
        [ -n "$KESM_CHILD" ] && break
        sleep 0.05
    done
}

kesm_stop() {
    KESM_RC=
    [ -z "$KESM_PID" ] && return 0
    # kesm itself: timeout would also signal its whole process group (a second signal)
    kill -INT "${KESM_CHILD:-$KESM_PID}" 2>/dev/null
    wait "$KESM_PID"
    KESM_RC=$?
    KESM_PID=
    KESM_CHILD=
}

kesm_kill() {
    [ -n "$KESM_CHILD" ] && kill -KILL "$KESM_CHILD" 2>/dev/null
    if [ -n "$KESM_PID" ]; then
        kill -KILL "$KESM_PID" 2>/dev/null
        wait "$KESM_PID" 2>/dev/null
    fi
    KESM_PID=
    KESM_CHILD=
}

# lines FILE: number of lines (0 when missing).
lines() {
    if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# wait_lines SECS FILE N: wait until FILE has at least N lines.
wait_lines() {
    wait_until "$1" has_lines "$2" "$3"
}
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }

log_check() {
    python3 - "$@" <<'PY'
import sys
log, mode, want = sys.argv[1], sys.argv[2], sys.argv[3:]
seen = {}
for line in open(log):
    tp, off = line.split(" ")[:2]
    seen.setdefault(tp, []).append(int(off))
bad = []
for w in want:
    tp, n = w.rsplit("=", 1)
    got = seen.get(tp, [])
    if mode == "exact":
        if got != list(range(int(n))):
            bad.append("%s: want offsets 0..%d once in order, got %d entries %s..." %
                       (tp, int(n) - 1, len(got), got[:12]))
    elif set(got) != set(range(int(n))):
        missing = sorted(set(range(int(n))) - set(got))
        bad.append("%s: missing %s" % (tp, missing[:12]))
extra = set(seen) - {w.rsplit("=", 1)[0] for w in want}
if extra:
    bad.append("unexpected partitions %s" % sorted(extra))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}

# committed GROUP TOPIC NPART: kmock's committed answer.
committed_of() {
    kmock_cmd committed "$1" "$2" "$3"
}

# wait_committed SECS TOPIC NPART WANT: wait until the group kesm logged last has committed WANT
# ("0=11 1=11 ..." as kmock's `committed` prints it) on TOPIC.
wait_committed() {
    local secs=$1
    shift
    wait_until "$secs" kesm_committed_is "$@"
}
kesm_committed_is() {
    grep -q " $3\$" <<<"$(committed_of "$(group_of)" "$1" "$2")"
}

# group_of: the group id kesm logged last.
group_of() {
    grep -o 'running: topic [^,]*, group [0-9a-zA-Z._-]*' "$RUN_TMP/kesm.err" | tail -1 | sed 's/.*group //'
}
