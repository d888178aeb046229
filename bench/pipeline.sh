#!/usr/bin/env bash
# bench/pipeline.sh: the whole kesm pipeline over the shared data set (bench/README.md):
#
#   pipeline.stdout  `kesm run` with BatchSize 10000, MaximumBatchingWindowInSeconds 0 and the
#                    stdout transport into /dev/null: consume every partition from the beginning,
#                    batch, encode the exact Lambda Kafka event JSON, "invoke", acknowledge and
#                    commit. A run ends when the group's committed offsets cover every record;
#                    kesm is then stopped with SIGINT (final commit, LeaveGroup). Measured like
#                    kcat.consume (CPU seconds, peak RSS, wall), with kcat.consume as baseline.
#                    wall_after_join_s is wall minus the group join (from kesm's "esm running"
#                    to its first "esm assigned" log line: about 3 s on kmock, which kcat's
#                    baseline, in no group, does not spend); it still includes the wait for the
#                    commit to be seen (committed offsets are polled every 0.1 s; kesm commits every 0.2 s here).
#   pipeline.vs_group the same runs' CPU, wall and wall_after_join_s against kcat.group (kcat -G,
#                    which joins a group as kesm does): the like-for-like wall ratios.
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
    BENCH_KESM_LOG_LEVEL=info bench_run_committed "pipeline.sh: run $i" "$cfg" "$group" "$BENCH_TOPIC" "$BENCH_PARTITIONS" \
        "$BENCH_RECORDS" "$stats" "$BENCH_WORK/pipeline.err" || exit 1
    read -r cpu rss wall < <(bench_stats "$stats") || exit 1
    bench_emit pipeline.stdout cpu_s "$cpu" s kcat.consume
    bench_emit pipeline.stdout max_rss_kib "$rss" KiB kcat.consume
    bench_emit pipeline.stdout wall_s "$wall" s kcat.consume
    # The same figures against kcat in a consumer group (kcat.group), which joins as kesm does.
    bench_emit pipeline.vs_group cpu_s "$cpu" s kcat.group
    bench_emit pipeline.vs_group wall_s "$wall" s kcat.group
    join=$(bench_join_s "$BENCH_WORK/pipeline.err")
    if [ -n "$join" ]; then
        after=$(awk -v w="$wall" -v j="$join" 'BEGIN { printf "%.2f", w - j }')
        bench_emit pipeline.stdout wall_after_join_s "$after" s kcat.consume
        bench_emit pipeline.vs_group wall_after_join_s "$after" s kcat.group
    fi
    echo "pipeline.sh: run $i: cpu ${cpu}s, peak rss ${rss} KiB, wall ${wall}s" >&2
done
