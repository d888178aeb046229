#!/usr/bin/env bash
# bench/partitions.sh: memory with many partitions (issue 15: a memory budget that holds with
# 1,000 partitions). Its own topic of PART_COUNT partitions (1,000) holding PART_RECORDS records
# (100,000) of BENCH_SIZE bytes (100), produced with kmock's producer (small batches, spread over
# every partition), then:
#
#   partitions.pipeline   `kesm run` as pipeline.stdout (BatchSize 10000, window 0, stdout
#                         transport into /dev/null) over that topic until its commits cover it:
#                         peak RSS, CPU seconds, wall
#   partitions.consumer   the consumer layer alone (tests/tools/cons_probe) reading it: peak RSS,
#                         CPU seconds, wall
#
# What bounds fetched data here is the process-wide Fetch budget (KESM_FETCH_BUDGET_MB, 2 MiB:
# the MaxBytes of all Fetch requests in flight, which their partitions share) and the broker
# frame budget (KESM_BROKER_MEMORY_MB), not the number of partitions: per partition the fetcher
# keeps about 150 bytes. The pipeline's share does grow with them: each partition holding queued
# records holds a 64 KiB arena chunk of encoded events (up to 62.5 MiB for 1,000), which is why
# partitions.pipeline peaks far above partitions.consumer and varies with the machine's load
# (README, "Memory budget of fetched data"). kmock ignores per-partition Fetch limits (one
# record batch per partition per answer until the request's MaxBytes), so these runs measure the
# budget, not the adaptive limits. No baseline: kcat reads the shared data set, not this topic.
#
# Needs bench/run's environment (KMOCK_BOOTSTRAP; kmock attached, see bench/lib.sh), or starts
# its own kmock when run alone (`bash bench/partitions.sh`). Environment: PART_COUNT,
# PART_RECORDS, BENCH_REPS, KESM_BIN (build/kesm), KESM_PROBE (build/tools/cons_probe).
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
KESM=${KESM_BIN:-build/kesm}
PROBE=${KESM_PROBE:-build/tools/cons_probe}
PARTS=${PART_COUNT:-1000}
N=${PART_RECORDS:-100000}
SIZE=${BENCH_SIZE:-100}

cleanup() {
    bench_kmock_stop
    bench_cleanup
}
trap cleanup EXIT
for b in "$KESM" "$PROBE"; do
    [ -x "$b" ] || {
        echo "partitions.sh: $b is not built" >&2
        exit 2
    }
done
bench_work
if [ -z "${KMOCK_BOOTSTRAP:-}" ]; then
    bench_kmock_start -b 3 || exit 1
fi
topic=bench-p${PARTS}-$$
echo "partitions.sh: producing $N records of $SIZE bytes over $PARTS partitions ($topic)" >&2
bench_produce "$topic" "$N" "$SIZE" "$PARTS" >&2 || exit 1

for i in $(seq "$BENCH_REPS"); do
    group=bench-partitions-$i-$$
    cfg=$BENCH_WORK/partitions.json
    BENCH_TOPIC=$topic bench_stdout_config "$cfg" "$group"
    stats=$BENCH_WORK/partitions.time
    bench_run_committed "partitions.sh: run $i" "$cfg" "$group" "$topic" "$PARTS" "$N" \
        "$stats" "$BENCH_WORK/partitions.err" || exit 1
    read -r cpu rss wall < <(bench_stats "$stats") || exit 1
    bench_emit partitions.pipeline max_rss_kib "$rss" KiB
    bench_emit partitions.pipeline cpu_s "$cpu" s
    bench_emit partitions.pipeline wall_s "$wall" s
    echo "partitions.sh: pipeline run $i: cpu ${cpu}s, peak rss ${rss} KiB, wall ${wall}s" >&2

    stats=$BENCH_WORK/probe.time
    bench_timed "$stats" "$PROBE" "$KMOCK_BOOTSTRAP" "bench-partitions-probe-$i-$$" "$topic" \
        start=earliest quiet expect="$N" lifetime=300 >/dev/null 2>"$BENCH_WORK/probe.err"
    got=$(sed -n 's/^delivered //p' "$BENCH_WORK/probe.err")
    if ! [ "$got" -ge "$N" ] 2>/dev/null; then
        echo "partitions.sh: run $i: the probe delivered '$got' of $N records" >&2
        tail -5 "$BENCH_WORK/probe.err" >&2
        exit 1
    fi
    read -r cpu rss wall < <(bench_stats "$stats") || exit 1
    bench_emit partitions.consumer max_rss_kib "$rss" KiB
    bench_emit partitions.consumer cpu_s "$cpu" s
    bench_emit partitions.consumer wall_s "$wall" s
    echo "partitions.sh: consumer run $i: cpu ${cpu}s, peak rss ${rss} KiB, wall ${wall}s" >&2
done
