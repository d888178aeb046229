#!/usr/bin/env bash
# bench/pipeline.sh: the whole kesm pipeline over the shared data set (bench/README.md):
#
#   pipeline.stdout  `kesm run` with BatchSize 10000, MaximumBatchingWindowInSeconds 0 and the
#                    stdout transport into /dev/null: consume every partition from the beginning,
#                    batch, encode the exact Lambda Kafka event JSON, "invoke", acknowledge and
#                    commit. A run ends when the group's committed offsets cover every record;
#                    kesm is then stopped with SIGINT (final commit, LeaveGroup). Measured like
#                    kcat.consume (CPU seconds, peak RSS, wall), with kcat.consume as baseline.
#
# Needs bench/run's environment (KMOCK_BOOTSTRAP, BENCH_TOPIC, BENCH_RECORDS, BENCH_PARTITIONS,
# BENCH_REPS); for kcat side by side in the same run: BENCH_FILTER='kcat|pipeline' bench/run.
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
trap bench_cleanup EXIT
KESM=${KESM_BIN:-build/kesm}

for v in KMOCK_BOOTSTRAP BENCH_TOPIC BENCH_RECORDS BENCH_PARTITIONS; do
    if [ -z "${!v:-}" ]; then
        echo "pipeline.sh: $v is not set (run me through bench/run)" >&2
        exit 2
    fi
done
[ -x "$KESM" ] || {
    echo "pipeline.sh: $KESM is not built" >&2
    exit 2
}
bench_work

for i in $(seq "$BENCH_REPS"); do
    group=bench-pipeline-$i-$$
    cfg=$BENCH_WORK/pipeline.json
    bench_stdout_config "$cfg" "$group"
    stats=$BENCH_WORK/pipeline.time
    KESM_COMMIT_INTERVAL_MS=200 KESM_LOG_LEVEL=warn timeout --kill-after=5 600 \
        /usr/bin/time -v -o "$stats" "$KESM" run --no-status --config "$cfg" \
        >/dev/null 2>"$BENCH_WORK/pipeline.err" &
    tpid=$!
    kpid=
    for _ in $(seq 100); do
        tm=$(pgrep -P "$tpid" | head -1)
        [ -n "$tm" ] && kpid=$(pgrep -P "$tm" | head -1)
        [ -n "$kpid" ] && break
        sleep 0.05
    done
    deadline=$((SECONDS + 300))
    sum=0
    while [ "$sum" -lt "$BENCH_RECORDS" ] && [ "$SECONDS" -lt "$deadline" ] &&
        kill -0 "$tpid" 2>/dev/null; do
        sleep 0.5
        sum=$(bench_committed_sum "$group" "$BENCH_TOPIC" "$BENCH_PARTITIONS")
    done
    [ -n "$kpid" ] && kill -INT "$kpid" 2>/dev/null
    wait "$tpid"
    rc=$?
    if [ "$sum" != "$BENCH_RECORDS" ] || [ "$rc" != 0 ]; then
        echo "pipeline.sh: run $i: committed $sum of $BENCH_RECORDS records, kesm exit $rc" >&2
        tail -5 "$BENCH_WORK/pipeline.err" >&2
        exit 1
    fi
    read -r cpu rss wall < <(bench_stats "$stats") || exit 1
    bench_emit pipeline.stdout cpu_s "$cpu" s kcat.consume
    bench_emit pipeline.stdout max_rss_kib "$rss" KiB kcat.consume
    bench_emit pipeline.stdout wall_s "$wall" s kcat.consume
    echo "pipeline.sh: run $i: cpu ${cpu}s, peak rss ${rss} KiB, wall ${wall}s" >&2
done
