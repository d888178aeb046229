#!/usr/bin/env bash
# tests/integration/esm_parallel.sh: kill -9 at random points, with one batch in flight per
# partition (ParallelizationFactor 1) and with ParallelizationFactor 4. Two partitions hold records
# of four keys in runs; the function (examples/handler.py, 50 ms per batch) logs each record once
# it has processed it. kesm is killed with SIGKILL at moments the test does not choose (after a
# random number of logged records) and started again, then runs to the end. Checked:
#   - commits never pass an unfinished record: after each kill, every offset below the group's
#     committed offset was logged by the function (a commit past an unfinished record of a slower
#     lane would skip that record for good);
#   - nothing is lost across the kills, and the final commits cover everything;
#   - order: per partition within each run (factor 1), per key within each run (factor 4), and
#     with factor 4 the lanes really ran side by side (a partition left offset order in a run).
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/integration/esm_run_lib.bash

cleanup() {
    kesm_kill
    kmock_stop
}
at_exit cleanup

if [ ! -x "$KESM" ]; then
    echo "not ok - $KESM is not built"
    exit 1
fi
kmock_start -b 1 -t par:2 -l "$LIFETIME" || {
    echo "not ok - kmock did not start"
    exit 1
}
T=$RUN_TMP
PER=120 # records per partition: two rounds of four keys, 15 records per key and partition
for _ in 1 2; do
    for k in a b c d; do
        kmock_cmd produce par 30 key=$k >/dev/null || echo "# produce failed"
    done
done

# below_commit_logged GROUP LOGS...: every offset below each partition's committed offset is in
# one of LOGS.
below_commit_logged() {
    local group=$1
    shift
    python3 - "$(committed_of "$group" par 2)" "$@" <<'PY'
import sys
committed = dict(kv.split("=") for kv in sys.argv[1].split() if "=" in kv)
seen = set()
for f in sys.argv[2:]:
    for l in open(f):
        tp, off = l.split()[:2]
        seen.add((tp, int(off)))
bad = []
for p, c in committed.items():
    if not c.lstrip("-").isdigit():
        continue
    missing = [o for o in range(int(c)) if ("par-" + p, o) not in seen]
    if missing:
        bad.append("partition %s committed at %s, but offsets %s were never finished" %
                   (p, c, missing[:10]))
print("\n".join(bad) or "committed: %s" % sys.argv[1])
sys.exit(1 if bad else 0)
PY
}

# in_order FIELD LOGS...: within each log, offsets increase per partition (FIELD part) or per
# partition and key (FIELD key).
in_order() {
    python3 - "$@" <<'PY'
import sys
field, files = sys.argv[1], sys.argv[2:]
for f in files:
    last = {}
    for l in open(f):
        tp, off, key = l.split()[:3]
        k = (tp, key) if field == "key" else tp
        if int(off) <= last.get(k, -1):
            sys.exit("%s: %s: offset %s after %d" % (f, k, off, last[k]))
        last[k] = int(off)
PY
}

# left_order LOGS...: some partition was delivered out of offset order in some run.
left_order() {
    python3 - "$@" <<'PY'
import sys
for f in sys.argv[1:]:
    last = {}
    for l in open(f):
        tp, off = l.split()[:2]
        if int(off) < last.get(tp, -1):
            sys.exit(0)
        last[tp] = int(off)
sys.exit("every partition was delivered in offset order: no lane overtook another")
PY
}

# kill_case NAME FACTOR KILLS: run the mapping, kill it KILLS times at random points, then run it
# to the end; the checks above.
kill_case() {
    local name=$1 factor=$2 kills=$3 group="par-$1-$$" run=0 logs=() n total=0 good=1 why
    run_mapping "$T/$name.json" par '"BatchSize": 10, "ParallelizationFactor": '"$factor"',
 "SelfManagedKafkaEventSourceConfig": {"ConsumerGroupId": "'"$group"'"}'
    # the system's python3 runs the handler: a version manager's shim on PATH (pyenv) can take
    # seconds per start on a loaded machine
    [ -x /usr/bin/python3 ] && sed -i 's|"Command": \["\([^"]*handler.py\)"\]|"Command": ["/usr/bin/python3", "\1"]|' "$T/$name.json"
    all_committed() { grep -q "0=$PER 1=$PER" <<<"$(committed_of "$group" par 2)"; }
    while [ "$run" -lt "$kills" ]; do
        run=$((run + 1))
        logs+=("$T/$name.$run")
        : >"$T/$name.$run"
        # a random point: after 10-69 more records were processed in this run
        n=$((10 + RANDOM % 60))
        HANDLER_LOG=$T/$name.$run HANDLER_SLEEP_S=0.05 kesm_start "$T/$name.json"
        wait_lines 60 "$T/$name.$run" "$n" || echo "# $name run $run: fewer than $n records logged"
        kesm_kill
        total=$((total + $(lines "$T/$name.$run")))
        why=$(below_commit_logged "$group" "${logs[@]}") || good=0
        echo "# $name: killed run $run after $(lines "$T/$name.$run") records ($why)"
    done
    tap_check "$name: commits never passed an unfinished record at $kills kill -9 points" \
        test "$good" = 1
    tap_check "$name: the killed runs stopped before the end ($total < $((2 * PER)) records)" \
        test "$total" -lt $((2 * PER))
    run=$((run + 1))
    logs+=("$T/$name.$run")
    HANDLER_LOG=$T/$name.$run HANDLER_SLEEP_S=0.05 kesm_start "$T/$name.json"
    wait_until 90 all_committed
    kesm_stop
    cat "${logs[@]}" >"$T/$name.all"
    tap_check "$name: no record lost across kill -9 and restarts" \
        log_check "$T/$name.all" atleast par-0=$PER par-1=$PER
    if [ "$factor" = 1 ]; then
        tap_check "$name: each partition in offset order within each run" in_order part "${logs[@]}"
    else
        tap_check "$name: each key's records in offset order within each run" \
            in_order key "${logs[@]}"
        tap_check "$name: lanes ran side by side" left_order "${logs[@]}"
    fi
    tap_check "$name: final commits cover every record" all_committed
    tap_check "$name: kesm exit 0 after SIGINT" test "$KESM_RC" = 0
}

kill_case perpartition 1 1
kill_case lanes 4 2
if [ "$TAP_FAIL" != 0 ]; then
    echo "# kesm stderr (last 30 lines):"
    grep -v ' net \|handler: ' "$T/kesm.err" | tail -30 | sed 's/^/#   /'
fi
kmock_stop
tap_done
