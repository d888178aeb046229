#!/usr/bin/env bash
# bench/consumer.sh: kesm's consumer (the consumer/ layer alone, no batching or invoking) over the
# shared data set, with kcat's figures as the baseline (bench/README.md):
#
#   consumer.consume  tests/tools/cons_probe (a consumer group member, `quiet`, acknowledging every
#                     batch, exiting after every record) reads all of BENCH_TOPIC from the
#                     beginning: CPU seconds (user + sys), peak RSS and wall time per run, against
#                     kcat.consume.
#   consumer.idle     a member with every partition (BENCH_PARTITIONS, 48) of an empty topic
#                     assigned, once its fetches have settled (3 s): RSS and its peak (against
#                     kcat.idle), and the CPU seconds it uses in the next 10 s (long-poll fetches,
#                     heartbeats, the 100 ms tick).
#
# Under bench/run it reads the shared data set and kcat's figures come from bench/kcat.sh. Standing
# alone (`bench/consumer.sh`) it starts its own kmock, produces the same data set (BENCH_RECORDS,
# default 1,000,000 records of 100 bytes over 48 partitions) and runs kcat's consume runs itself
# (kcat.consume lines; no kcat.idle), so the consume ratios can be computed from its lines too.
# consumer.consume's wall_s includes joining the group (about 3 s against kmock, the group's
# initial rebalance delay); kcat joins no group.
#
# Environment: bench/run's (KMOCK_BOOTSTRAP, BENCH_TOPIC, BENCH_RECORDS, BENCH_PARTITIONS,
# BENCH_REPS); KESM_PROBE (default build/tools/cons_probe, the -O2 build).
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh

PROBE=${KESM_PROBE:-build/tools/cons_probe}
if ! make -s build/kmock "$PROBE" >&2; then
    [ -x build/kmock ] && [ -x "$PROBE" ] || exit 1
    echo "consumer.sh: the build failed; measuring the binaries already built" >&2
fi
[ -x /usr/bin/time ] || {
    echo "consumer.sh: /usr/bin/time (package time) is not installed" >&2
    exit 1
}

IDLE_PID=
cleanup() {
    if [ -n "$IDLE_PID" ]; then
        kill -TERM "$IDLE_PID" 2>/dev/null
        wait "$IDLE_PID" 2>/dev/null
    fi
    bench_kmock_stop
    bench_cleanup
}
trap cleanup EXIT
bench_work

STANDALONE=
if [ -z "${KMOCK_BOOTSTRAP:-}" ] || [ -z "${BENCH_TOPIC:-}" ]; then
    STANDALONE=1
    BENCH_RECORDS=${BENCH_RECORDS:-1000000}
    BENCH_PARTITIONS=${BENCH_PARTITIONS:-48}
    BENCH_TOPIC=bench-consumer-$$
    command -v kcat >/dev/null || {
        echo "consumer.sh: kcat is not installed" >&2
        exit 1
    }
    bench_kmock_start -b 3 || exit 1
    echo "consumer.sh: producing $BENCH_RECORDS records of 100 bytes over $BENCH_PARTITIONS" \
        "partitions" >&2
    bench_produce "$BENCH_TOPIC" "$BENCH_RECORDS" 100 "$BENCH_PARTITIONS" >&2 || exit 1
fi
N=$BENCH_RECORDS
PARTS=${BENCH_PARTITIONS:-48}

for i in $(seq "$BENCH_REPS"); do
    stats=$BENCH_WORK/kesm.time
    bench_timed "$stats" "$PROBE" "$KMOCK_BOOTSTRAP" "bench-consumer-$i-$$" "$BENCH_TOPIC" \
        start=earliest quiet expect="$N" lifetime=600 >/dev/null 2>"$BENCH_WORK/kesm.err"
    got=$(sed -n 's/^delivered //p' "$BENCH_WORK/kesm.err")
    if ! [ "$got" -ge "$N" ] 2>/dev/null; then
        echo "consumer.sh: run $i: the probe delivered '$got' of $N records" >&2
        tail -5 "$BENCH_WORK/kesm.err" >&2
        exit 1
    fi
    read -r cpu rss wall < <(bench_stats "$stats") || exit 1
    bench_emit consumer.consume cpu_s "$cpu" s kcat.consume
    bench_emit consumer.consume max_rss_kib "$rss" KiB kcat.consume
    bench_emit consumer.consume wall_s "$wall" s kcat.consume
    echo "consumer.sh: run $i: kesm cpu ${cpu}s, peak rss ${rss} KiB, wall ${wall}s" >&2
    if [ -n "$STANDALONE" ]; then
        stats=$BENCH_WORK/kcat.time
        lines=$(bench_timed "$stats" kcat -b "$KMOCK_BOOTSTRAP" -C -t "$BENCH_TOPIC" \
            -o beginning -e -q | wc -l)
        if [ "$lines" != "$N" ]; then
            echo "consumer.sh: run $i: kcat read $lines of $N records" >&2
            exit 1
        fi
        read -r cpu rss wall < <(bench_stats "$stats") || exit 1
        bench_emit kcat.consume cpu_s "$cpu" s
        bench_emit kcat.consume max_rss_kib "$rss" KiB
        bench_emit kcat.consume wall_s "$wall" s
    fi
done

# Idle: a member with every partition of an empty topic assigned, after its fetches settle.
idle_topic=bench-idle-$$
ans=$(kmock_cmd topic "$idle_topic" "$PARTS") || {
    echo "consumer.sh: topic $idle_topic: $ans" >&2
    exit 1
}
hz=$(getconf CLK_TCK)
for i in $(seq "$BENCH_REPS"); do
    timeout --kill-after=5 120 "$PROBE" "$KMOCK_BOOTSTRAP" "bench-idle-$i-$$" "$idle_topic" \
        start=earliest quiet lifetime=110 >/dev/null 2>"$BENCH_WORK/idle.err" &
    IDLE_PID=$!
    if ! wait_until 30 grep -q "^assigned $PARTS " "$BENCH_WORK/idle.err"; then
        echo "consumer.sh: idle member (run $i) was not assigned $PARTS partitions" >&2
        tail -5 "$BENCH_WORK/idle.err" >&2
        exit 1
    fi
    ppid=$(pgrep -P "$IDLE_PID" | head -1)
    if [ -z "$ppid" ]; then
        echo "consumer.sh: idle member (run $i) is not running" >&2
        exit 1
    fi
    sleep 3
    read -r rss hwm < <(bench_rss_of "$ppid")
    t0=$(awk '{ print $14 + $15 }' "/proc/$ppid/stat")
    sleep 10
    t1=$(awk '{ print $14 + $15 }' "/proc/$ppid/stat")
    kill -TERM "$IDLE_PID" 2>/dev/null
    wait "$IDLE_PID" 2>/dev/null
    IDLE_PID=
    bench_emit consumer.idle rss_kib "$rss" KiB kcat.idle
    bench_emit consumer.idle hwm_kib "$hwm" KiB kcat.idle
    bench_emit consumer.idle cpu_s_per_10s "$(awk -v a="$t0" -v b="$t1" -v hz="$hz" \
        'BEGIN { printf "%.2f", (b - a) / hz }')" s
    echo "consumer.sh: idle run $i: rss $rss KiB (peak $hwm KiB)" >&2
done
