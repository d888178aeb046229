#!/usr/bin/env bash
# tests/integration/esm_concurrency.sh: per-partition concurrency. The issue's case: a function
# that takes 200 ms, 48 partitions, BatchSize 100. Each invocation of the exec handler records
# when it started and ended; the test computes how many invocations overlapped at most and asserts
# that more than 5 ran at once (kesm used to cap a member at 5 batches in flight) and at most
# Kesm.MaxConcurrency when that is set. No timing is asserted: throughput is measured in
# bench/concurrency.sh. Every record must be committed at the end.
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
PARTS=48
PER=200 # records per partition
kmock_start -b 3 -t wide:$PARTS -l "$LIFETIME" || {
    echo "not ok - kmock did not start"
    exit 1
}
T=$RUN_TMP
# The handler: drain the event, note start and end (microseconds), sleep 200 ms in between, answer
# nothing (success). Lines are short, so appends from concurrent handlers do not interleave.
cat >"$T/h.sh" <<'SH'
#!/bin/bash
cat >/dev/null
echo "S ${EPOCHREALTIME/./} $$" >>"$HANDLER_SPANS"
sleep 0.2
echo "E ${EPOCHREALTIME/./} $$" >>"$HANDLER_SPANS"
SH
chmod +x "$T/h.sh"
kmock_cmd -t 60 produce wide $((PARTS * PER)) >/dev/null

# max_overlap FILE: the largest number of invocations running at the same time.
max_overlap() {
    python3 - "$1" <<'PY'
import sys
ev = []
for line in open(sys.argv[1]):
    kind, ns, _ = line.split()
    ev.append((int(ns), 1 if kind == "S" else -1))
# at equal times count ends first: touching spans do not overlap
ev.sort(key=lambda e: (e[0], e[1]))
cur = best = 0
for _, d in ev:
    cur += d
    best = max(best, cur)
print(best)
PY
}

# run_case NAME 'extra Kesm members': run a mapping over the whole topic in a new group until
# every record is committed; sets OVERLAP and COMMITTED_OK.
run_case() {
    local name=$1 kesm_extra=$2 group="conc-$1-$$"
    local bs
    bs=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')
    cat >"$T/$name.json" <<JSON
{"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:demo",
 "Topics": ["wide"], "StartingPosition": "TRIM_HORIZON",
 "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["$bs"]}},
 "SelfManagedKafkaEventSourceConfig": {"ConsumerGroupId": "$group"},
 "BatchSize": 100, "MaximumBatchingWindowInSeconds": 1,
 "Kesm": {"Transport": "exec", "Command": ["$T/h.sh"]${kesm_extra:+, $kesm_extra}}}
JSON
    : >"$T/$name.spans"
    HANDLER_SPANS=$T/$name.spans kesm_start "$T/$name.json"
    all_committed() {
        local want out i
        want=$(for i in $(seq 0 $((PARTS - 1))); do printf '%s=%s ' "$i" "$PER"; done)
        out=$(committed_of "$group" wide $PARTS)
        [ "$(printf '%s' "$out" | tr ' ' '\n' | grep -E '^[0-9]+=[0-9]+$' | tr '\n' ' ')" = "$want" ]
    }
    COMMITTED_OK=0
    wait_until 90 all_committed && COMMITTED_OK=1
    kesm_stop
    OVERLAP=$(max_overlap "$T/$name.spans")
    echo "# $name: at most $OVERLAP invocations at once, $(grep -c '^S' "$T/$name.spans") invocations, kesm exit $KESM_RC"
}

run_case uncapped ''
tap_check "uncapped: every record of the $PARTS partitions committed" test "$COMMITTED_OK" = 1
tap_check "uncapped: more than 5 invocations ran at once (saw $OVERLAP)" test "$OVERLAP" -gt 5
tap_check "uncapped: never more than one batch per partition ($OVERLAP <= $PARTS)" \
    test "$OVERLAP" -le "$PARTS"

run_case capped '"MaxConcurrency": 3'
tap_check "MaxConcurrency 3: every record committed" test "$COMMITTED_OK" = 1
tap_check "MaxConcurrency 3: at most 3 invocations at once (saw $OVERLAP)" test "$OVERLAP" -le 3
tap_check "MaxConcurrency 3: the cap was reached (saw $OVERLAP)" test "$OVERLAP" = 3
if [ "$TAP_FAIL" != 0 ]; then
    echo "# kesm stderr (last 30 lines):"
    grep -v ' net ' "$T/kesm.err" | tail -30 | sed 's/^/#   /'
fi
kmock_stop
tap_done
