#!/usr/bin/env bash
# tests/integration/esm_run_group.sh: two `kesm run` processes share one consumer group (the same
# mapping): a rebalance while a slow function holds batches in flight waits for them and hands
# the partitions over; nothing is lost, each member sees each partition in order within each of
# its assignments, and the final commits cover everything. Delivery is at-least-once: records
# acknowledged but not yet committed when the rebalance starts are delivered again by the next
# owner (the librdkafka mock refuses OffsetCommit while a rebalance is in progress), so the
# duplicates are counted, not forbidden.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/integration/esm_run_lib.bash

A_PID=
A_CHILD=
cleanup() {
    [ -n "$A_CHILD" ] && kill -KILL "$A_CHILD" 2>/dev/null
    [ -n "$A_PID" ] && kill -KILL "$A_PID" 2>/dev/null
    kesm_kill
    kmock_stop
}
at_exit cleanup

if [ ! -x "$KESM" ]; then
    echo "not ok - $KESM is not built"
    exit 1
fi
kmock_start -b 3 -t shared:4 -l "$LIFETIME" || {
    echo "not ok - kmock did not start"
    exit 1
}
T=$RUN_TMP
kmock_cmd produce shared 120 >/dev/null
run_mapping "$T/m.json" shared '"BatchSize": 5'

# member A alone first
HANDLER_LOG=$T/la HANDLER_SLEEP_S=0.3 kesm_start "$T/m.json"
A_PID=$KESM_PID
A_CHILD=$KESM_CHILD
wait_lines 30 "$T/la" 20
# member B joins: A revokes everything while batches are in flight. B logs to $T/b/kesm.err, A to
# $T/kesm.err.
mkdir -p "$T/b"
HANDLER_LOG=$T/lb HANDLER_SLEEP_S=0.3 RUN_TMP=$T/b kesm_start "$T/m.json"
kmock_cmd produce shared 80 >/dev/null
distinct() { cat "$T/la" "$T/lb" 2>/dev/null | cut -d' ' -f1,2 | sort -u | wc -l; }
wait_until 60 eval '[ "$(distinct)" -ge 200 ]'
# Every record delivered; let the commits catch up (a commit during the rebalance may have been
# refused) before the members stop.
wait_committed 30 shared 4 "0=50 1=50 2=50 3=50"
# Stop B first and let A take every partition back before stopping it: a member's final commit
# racing the other's LeaveGroup would meet REBALANCE_IN_PROGRESS (at-least-once, not a loss).
kesm_stop
B_RC=$KESM_RC
reassigned() { [ "$(grep -c 'esm assigned 4 partition' "$T/kesm.err")" -ge 2 ]; }
wait_until 30 reassigned
KESM_PID=$A_PID KESM_CHILD=$A_CHILD
kesm_stop
A_RC=$KESM_RC
A_PID= A_CHILD=
cat "$T/la" "$T/lb" | sort -k1,1 -k2,2n >"$T/all"
tap_check "both members exit 0" test "$A_RC$B_RC" = 00
tap_check "both members processed records" test -s "$T/la" -a -s "$T/lb"
tap_check "the revoke was waited for and logged" grep -q 'esm revoking' "$T/kesm.err"
tap_check "no record lost across the group" \
    log_check "$T/all" atleast shared-0=50 shared-1=50 shared-2=50 shared-3=50
# Within each assignment a member's offsets of a partition only increase, so each partition's
# log is at most as many increasing runs as the member had assignments (two unless the group
# rebalanced again, e.g. a session timing out on a loaded machine).
tap_check "each member saw its partitions in order within each assignment" \
    python3 -c '
import sys
for f, err in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
    assignments = sum(1 for l in open(err) if " esm assigned " in l)
    last, runs = {}, {}
    for l in open(f):
        tp, off = l.split()[:2]
        if int(off) <= last.get(tp, -1):
            runs[tp] = runs.get(tp, 1) + 1
            if runs[tp] > assignments:
                sys.exit("%s: %s went back to %s: %d runs in %d assignments" %
                         (f, tp, off, runs[tp], assignments))
        last[tp] = int(off)
' "$T/la" "$T/kesm.err" "$T/lb" "$T/b/kesm.err"
echo "# records delivered twice across the rebalance: $(($(lines "$T/all") - 200))"
tap_check "final commits cover every record" \
    grep -q "0=50 1=50 2=50 3=50" <<<"$(committed_of "$(group_of)" shared 4)"
if [ "$TAP_FAIL" != 0 ]; then
    echo "# kesm stderr of A, then B (last 30 lines each):"
    grep -v ' net \|handler: ' "$T/kesm.err" | tail -30 | sed 's/^/#   A /'
    grep -v ' net \|handler: ' "$T/b/kesm.err" | tail -30 | sed 's/^/#   B /'
fi
kmock_stop
tap_done
