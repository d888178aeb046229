#!/usr/bin/env bash
# bench/kcat.sh: the kcat baseline every kesm benchmark compares itself with (bench/README.md).
#
#   kcat.consume  `kcat -C -e -q` over the whole shared data set (every partition, from the
#                 beginning to the end, values to a pipe that counts them): CPU seconds (user +
#                 sys), peak RSS and wall time per run (also as wall_after_join_s: kcat joins no
#                 group); each run must see every record.
#   kcat.group    the same with `kcat -G` (a fresh consumer group, -e): CPU, peak RSS and wall
#                 including the group join, and wall_after_join_s (less the time to its first
#                 assignment, from -d cgrp's ASSIGNMENT line): the baseline for pipeline.vs_group.
#   kcat.idle     `kcat -C -q -o end` with every partition assigned and no traffic: RSS after
#                 IDLE_S seconds (VmRSS) and its peak (VmHWM).
#
# Needs the environment bench/run sets: KMOCK_BOOTSTRAP, BENCH_TOPIC, BENCH_RECORDS, BENCH_REPS.
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
trap bench_cleanup EXIT
IDLE_S=${BENCH_IDLE_S:-5}

for v in KMOCK_BOOTSTRAP BENCH_TOPIC BENCH_RECORDS; do
    if [ -z "${!v:-}" ]; then
        echo "kcat.sh: $v is not set (run me through bench/run)" >&2
        exit 2
    fi
done
command -v kcat >/dev/null || {
    echo "kcat.sh: kcat is not installed" >&2
    exit 2
}
bench_work

# kcat_read NAME RUN KCAT-ARGS...: times `kcat KCAT-ARGS` (its stderr in $BENCH_WORK/NAME.err),
# counts the records it prints (one value per line; only kcat is timed, wc counts in the pipe),
# fails unless it read every record, and emits NAME's cpu_s, max_rss_kib and wall_s; the wall
# is left in $wall.
kcat_read() {
    local name=$1 run=$2 stats=$BENCH_WORK/$1.time got cpu rss
    shift 2
    got=$(bench_timed "$stats" timeout 300 kcat "$@" 2>"$BENCH_WORK/$name.err" | wc -l)
    if [ "$got" != "$BENCH_RECORDS" ]; then
        echo "kcat.sh: $name run $run read $got records, expected $BENCH_RECORDS" >&2
        tail -5 "$BENCH_WORK/$name.err" >&2
        exit 1
    fi
    read -r cpu rss wall < <(bench_stats "$stats") || exit 1
    bench_emit "$name" cpu_s "$cpu" s
    bench_emit "$name" max_rss_kib "$rss" KiB
    bench_emit "$name" wall_s "$wall" s
}

for i in $(seq "$BENCH_REPS"); do
    kcat_read kcat.consume "$i" -C -e -q -b "$KMOCK_BOOTSTRAP" -t "$BENCH_TOPIC" -o beginning
    # kcat -C joins no group: all of its wall time is reading (pipeline.stdout's
    # wall_after_join_s compares with this).
    bench_emit kcat.consume wall_after_join_s "$wall" s
done

# kcat.group: the same read as a member of a fresh consumer group (-G), the way kesm reads: it pays
# the group join (on kmock the first member of an empty group waits 3 s, as a Kafka broker's
# group.initial.rebalance.delay.ms does) and exits at the end of every assigned partition (-e).
for i in $(seq "$BENCH_REPS"); do
    t0=$(date +%s.%N)
    kcat_read kcat.group "$i" -G "bench-kcat-$i-$$" -b "$KMOCK_BOOTSTRAP" \
        -X auto.offset.reset=earliest -X enable.auto.commit=false -e -q -d cgrp "$BENCH_TOPIC"
    # Its join: from the start to the first assignment it received (-d cgrp's ASSIGNMENT line).
    join=$(awk -F'|' -v t0="$t0" '$3 == "ASSIGNMENT" { printf "%.2f", $2 - t0; exit }' \
        "$BENCH_WORK/kcat.group.err")
    if [ -n "$join" ]; then
        bench_emit kcat.group wall_after_join_s \
            "$(awk -v w="$wall" -v j="$join" 'BEGIN { printf "%.2f", w - j }')" s
    fi
done

for i in $(seq "$BENCH_REPS"); do
    timeout --kill-after=5 $((IDLE_S + 30)) kcat -C -q -b "$KMOCK_BOOTSTRAP" -t "$BENCH_TOPIC" \
        -o end >/dev/null 2>"$BENCH_WORK/idle.err" &
    pid=$!
    sleep "$IDLE_S"
    # timeout's child is kcat.
    kpid=$(pgrep -P "$pid" kcat | head -1)
    if [ -z "$kpid" ]; then
        echo "kcat.sh: idle kcat (run $i) is not running" >&2
        tail -5 "$BENCH_WORK/idle.err" >&2
        exit 1
    fi
    read -r rss hwm < <(bench_rss_of "$kpid")
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    bench_emit kcat.idle rss_kib "$rss" KiB
    bench_emit kcat.idle hwm_kib "$hwm" KiB
done
