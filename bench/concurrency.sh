#!/usr/bin/env bash
# bench/concurrency.sh: records/s of `kesm run` against a slow function, by partition count (the
# issue's case: an exec function that takes 200 ms, BatchSize 100). With one batch in flight per
# partition the ideal is 500 records/s per partition (100 records per 200 ms); kesm used to stop
# at 5 batches per member (2,500 records/s whatever the partition count).
#
#   concurrency.p<N>  N = 1, 8, 48 partitions (CONC_PARTS), CONC_PER records per partition
#                     (default 2000: 20 batches each): records_per_s = records / (last function
#                     exit - first function start), so the group join is not counted; and
#                     max_inflight, the most invocations seen running at once.
#
# Its own topics (conc-p<N>-<pid>) on bench/run's kmock, or on one it starts when run alone:
#   bash bench/concurrency.sh     (needs build/kesm and build/kmock)
# Kesm.MaxConcurrency can be set with CONC_MAX (default: kesm's, 100).
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
KESM=${KESM_BIN:-build/kesm}
PARTS_LIST=${CONC_PARTS:-1 8 48}
PER=${CONC_PER:-2000}
REPS=${BENCH_REPS:-5}
trap 'bench_kmock_stop; bench_cleanup' EXIT
bench_work
if [ -z "${KMOCK_PID:-}" ]; then
    bench_kmock_start -b 3 || exit 1
fi
[ -x "$KESM" ] || {
    echo "concurrency.sh: $KESM is not built" >&2
    exit 2
}
W=$BENCH_WORK
cat >"$W/h.sh" <<'SH'
#!/bin/bash
cat >/dev/null
echo "S ${EPOCHREALTIME/./}" >>"$HANDLER_SPANS"
sleep 0.2
echo "E ${EPOCHREALTIME/./}" >>"$HANDLER_SPANS"
SH
chmod +x "$W/h.sh"

# spans FILE: "SECONDS MAX_OVERLAP" from the handler's start/end lines.
spans() {
    python3 - "$1" <<'PY'
import sys
ev = []
for line in open(sys.argv[1]):
    kind, ns = line.split()[:2]
    ev.append((int(ns), 1 if kind == "S" else -1))
ev.sort()
cur = best = 0
for _, d in ev:
    cur += d
    best = max(best, cur)
print("%.3f %d" % ((ev[-1][0] - ev[0][0]) / 1e6, best))
PY
}

bs=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')
extra=${CONC_MAX:+, \"MaxConcurrency\": $CONC_MAX}
for p in $PARTS_LIST; do
    topic=conc-p$p-$$
    total=$((p * PER))
    bench_produce "$topic" "$total" 100 "$p" >/dev/null || exit 1
    for i in $(seq "$REPS"); do
        group=conc-$p-$i-$$
        cat >"$W/m.json" <<JSON
{"FunctionName": "bench", "Topics": ["$topic"], "StartingPosition": "TRIM_HORIZON",
 "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["$bs"]}},
 "SelfManagedKafkaEventSourceConfig": {"ConsumerGroupId": "$group"},
 "BatchSize": 100, "MaximumBatchingWindowInSeconds": 1,
 "Kesm": {"Transport": "exec", "Command": ["$W/h.sh"]$extra}}
JSON
        : >"$W/spans"
        HANDLER_SPANS=$W/spans KESM_COMMIT_INTERVAL_MS=200 KESM_LOG_LEVEL=warn \
            timeout --kill-after=5 600 "$KESM" run --no-status --config "$W/m.json" \
            2>"$W/kesm.err" &
        tpid=$!
        deadline=$((SECONDS + 300))
        sum=0
        while [ "$sum" -lt "$total" ] && [ "$SECONDS" -lt "$deadline" ] &&
            kill -0 "$tpid" 2>/dev/null; do
            sleep 0.5
            sum=$(bench_committed_sum "$group" "$topic" "$p")
        done
        kpid=$(pgrep -P "$tpid" | head -1)
        kill -INT "${kpid:-$tpid}" 2>/dev/null
        wait "$tpid"
        if [ "$sum" != "$total" ]; then
            echo "concurrency.sh: p$p run $i: committed $sum of $total" >&2
            tail -5 "$W/kesm.err" >&2
            exit 1
        fi
        read -r secs overlap < <(spans "$W/spans")
        rate=$(awk -v n="$total" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
        bench_emit "concurrency.p$p" records_per_s "$rate" rec/s
        bench_emit "concurrency.p$p" max_inflight "$overlap" batches
        echo "concurrency.sh: $p partitions, run $i: $total records in ${secs}s = $rate rec/s," \
            "at most $overlap invocations at once" >&2
    done
done
