#!/usr/bin/env bash
# tests/integration/esm_parallel.sh: ParallelizationFactor 4 on Kafka. Two partitions hold records
# of four keys, interleaved; the function (examples/handler.py, 50 ms per batch) logs what it
# processed. kesm is killed with SIGKILL half-way, at a moment the test does not choose, and
# started again: nothing may be lost (a commit past an unfinished record of a slower lane would
# skip it for good), the records of each key must reach the function in offset order within each
# run, and the final commits must cover everything.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/kmock.sh
. tests/integration/esm_run_lib.bash

cleanup() {
    kesm_kill
    kmock_stop
    [ -z "${KEEP_TMP:-}" ] && rm -rf "$RUN_TMP"
}
trap cleanup EXIT

if [ ! -x "$KESM" ]; then
    echo "not ok - $KESM is not built"
    exit 1
fi
kmock_start -b 1 -t par:2 -l 200 || {
    echo "not ok - kmock did not start"
    exit 1
}
T=$RUN_TMP
for _ in $(seq 10); do # runs of 3 records per key and partition, the keys interleaved
    for k in a b c d; do
        kmock_cmd produce par 6 key=$k >/dev/null || echo "# produce failed"
    done
done
run_mapping "$T/m.json" par '"BatchSize": 10, "ParallelizationFactor": 4,
 "SelfManagedKafkaEventSourceConfig": {"ConsumerGroupId": "par-'$$'"}'

HANDLER_LOG=$T/l1 HANDLER_SLEEP_S=0.05 kesm_start "$T/m.json"
wait_lines 60 "$T/l1" $((60 + RANDOM % 60))
kesm_kill
n1=$(lines "$T/l1")
HANDLER_LOG=$T/l2 HANDLER_SLEEP_S=0.05 kesm_start "$T/m.json"
all_committed() { grep -q "0=120 1=120" <<<"$(committed_of "par-$$" par 2)"; }
wait_until 90 all_committed
kesm_stop
n2=$(lines "$T/l2")
echo "# first run (killed) logged $n1 records, the second $n2"
cat "$T/l1" "$T/l2" >"$T/all"
tap_check "the first run was killed before the end" test "$n1" -lt 240
tap_check "no record lost across kill -9 and restart" log_check "$T/all" atleast par-0=120 par-1=120
tap_check "each key's records in offset order within each run" python3 -c '
import sys
for f in sys.argv[1:]:
    last = {}
    for l in open(f):
        tp, off, key = l.split()[:3]
        k = (tp, key)
        if int(off) <= last.get(k, -1):
            sys.exit("%s: %s key %s: offset %s after %d" % (f, tp, key, off, last[k]))
        last[k] = int(off)
' "$T/l1" "$T/l2"
tap_check "lanes ran side by side (a partition left offset order in a run)" python3 -c '
import sys
for f in sys.argv[1:]:
    last = {}
    for l in open(f):
        tp, off = l.split()[:2]
        if int(off) < last.get(tp, -1):
            sys.exit(0)
        last[tp] = int(off)
sys.exit("every partition was delivered in offset order: no lane overtook another")
' "$T/l1" "$T/l2"
tap_check "final commits cover every record" all_committed
tap_check "kesm exit 0 after SIGINT" test "$KESM_RC" = 0
if [ "$TAP_FAIL" != 0 ]; then
    echo "# kesm stderr (last 30 lines):"
    grep -v ' net \|handler: ' "$T/kesm.err" | tail -30 | sed 's/^/#   /'
fi
kmock_stop
tap_done
