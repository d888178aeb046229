#!/usr/bin/env bash
# bench/latency.sh: produce-to-invoke latency with MaximumBatchingWindowInSeconds 0, kcat side by
# side on the same records (bench/README.md):
#
#   latency.invoke    `kesm run` (BatchSize 100, window 0, stdout transport) consuming a fresh
#                     topic from LATEST; its stdout (one event per line, written unbuffered) goes
#                     to bench/latency_reader.py, which stamps each event's arrival with the wall
#                     clock. Latency = arrival - the record's timestamp (CreateTime, set by kmock's
#                     producer from the same clock when the record is produced).
#   latency.kcat      `kcat -C -u -o end -f '%T\n'` reading the same topic at the same time
#                     (its line = the record's timestamp, stamped on arrival the same way).
#
# Each run produces LAT_RECORDS (2000) records at a modest rate: bursts of LAT_BURST (10) records
# LAT_PAUSE (0.05) s apart (at most 200 records/s; each burst also waits for kmock's delivery
# report), over 8 partitions, after a warm-up that waits until both readers see
# records. Per run: p50 and p99 in ms (lower is better), and kesm's over kcat's as the ratio.
# The figures include the pipe to the reader and the broker's fetch wait: kesm and librdkafka
# both ask for at most 500 ms, and librdkafka's mock appears not to answer a waiting Fetch early
# when records arrive, so against kmock both latencies spread over 0-500 ms (p50 near 250 ms)
# whatever the client does; a real broker answers as soon as data is there.
#
# Needs bench/run's environment (KMOCK_BOOTSTRAP, BENCH_REPS), or starts its own kmock.
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
KESM=${KESM_BIN:-build/kesm}
LAT_RECORDS=${LAT_RECORDS:-2000}
LAT_BURST=${LAT_BURST:-10}
LAT_PAUSE=${LAT_PAUSE:-0.05}
PARTS=8

KPID=
CPID=
cleanup() {
    for p in $KPID $CPID; do
        kill -TERM "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    bench_kmock_stop
    bench_cleanup
}
trap cleanup EXIT
bench_work
[ -x "$KESM" ] || {
    echo "latency.sh: $KESM is not built" >&2
    exit 2
}
command -v kcat >/dev/null || {
    echo "latency.sh: kcat is not installed" >&2
    exit 2
}
if [ -z "${KMOCK_BOOTSTRAP:-}" ]; then
    bench_kmock_start -b 3 || exit 1
fi

# count FILE: records a reader has seen.
count() { wc -l <"$1" 2>/dev/null || echo 0; }

# pct FILE T0 P: the P-th percentile (nearest rank) of arrival - timestamp, in ms, over the
# records with timestamp >= T0.
pct() {
    awk -v t0="$2" '$2 >= t0 { print $1 - $2 }' "$1" | sort -g |
        awk -v p="$3" '{ v[NR] = $1 } END {
            if (NR == 0) { print "n/a"; exit }
            k = int(NR * p / 100 + 0.999999); if (k < 1) k = 1; if (k > NR) k = NR
            printf "%.1f\n", v[k] }'
}

bs=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')
for i in $(seq "$BENCH_REPS"); do
    topic=bench-latency-$i-$$
    ans=$(kmock_cmd topic "$topic" "$PARTS") || {
        echo "latency.sh: topic $topic: $ans" >&2
        exit 1
    }
    cfg=$BENCH_WORK/latency.json
    cat >"$cfg" <<JSON
{"FunctionName": "bench", "Topics": ["$topic"], "StartingPosition": "LATEST",
 "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["$bs"]}},
 "SelfManagedKafkaEventSourceConfig": {"ConsumerGroupId": "bench-latency-$i-$$"},
 "BatchSize": 100, "MaximumBatchingWindowInSeconds": 0, "Kesm": {"Transport": "stdout"}}
JSON
    kout=$BENCH_WORK/kesm.lat
    cout=$BENCH_WORK/kcat.lat
    : >"$kout"
    : >"$cout"
    KESM_LOG_LEVEL=warn timeout --kill-after=5 300 bash -c \
        "'$KESM' run --no-status --config '$cfg' 2>'$BENCH_WORK/kesm.err' |
            python3 bench/latency_reader.py kesm '$kout'" &
    KPID=$!
    timeout --kill-after=5 300 bash -c \
        "kcat -C -u -q -b '$KMOCK_BOOTSTRAP' -t '$topic' -o end -f '%T\n' 2>'$BENCH_WORK/kcat.err' |
            python3 bench/latency_reader.py kcat '$cout'" &
    CPID=$!
    # Warm up: one record at a time until both readers have seen one (both are assigned and
    # fetching from the end).
    ready=
    for _ in $(seq 120); do
        kmock_cmd produce "$topic" "$PARTS" >/dev/null || exit 1
        sleep 0.25
        if [ "$(count "$kout")" -gt 0 ] && [ "$(count "$cout")" -gt 0 ]; then
            ready=1
            break
        fi
    done
    if [ -z "$ready" ]; then
        echo "latency.sh: run $i: readers not ready (kesm saw $(count "$kout"), kcat $(count "$cout"))" >&2
        tail -5 "$BENCH_WORK/kesm.err" "$BENCH_WORK/kcat.err" >&2
        exit 1
    fi
    sleep 1
    t0=$(date +%s%3N)
    base_k=$(awk -v t0="$t0" '$2 < t0' "$kout" | wc -l)
    base_c=$(awk -v t0="$t0" '$2 < t0' "$cout" | wc -l)
    sent=0
    while [ "$sent" -lt "$LAT_RECORDS" ]; do
        kmock_cmd produce "$topic" "$LAT_BURST" >/dev/null || exit 1
        sent=$((sent + LAT_BURST))
        sleep "$LAT_PAUSE"
    done
    t1=$(date +%s%3N)
    # Wait (<= 30 s) until each reader has seen every measured record.
    for _ in $(seq 300); do
        [ "$(count "$kout")" -ge $((base_k + sent)) ] && [ "$(count "$cout")" -ge $((base_c + sent)) ] && break
        sleep 0.1
    done
    nk=$(awk -v t0="$t0" '$2 >= t0' "$kout" | wc -l)
    nc=$(awk -v t0="$t0" '$2 >= t0' "$cout" | wc -l)
    kill -TERM "$KPID" "$CPID" 2>/dev/null
    wait "$KPID" "$CPID" 2>/dev/null
    KPID=
    CPID=
    if [ "$nk" -lt "$sent" ] || [ "$nc" -lt "$sent" ]; then
        echo "latency.sh: run $i: of $sent records kesm delivered $nk, kcat read $nc" >&2
        tail -5 "$BENCH_WORK/kesm.err" >&2
        exit 1
    fi
    k50=$(pct "$kout" "$t0" 50)
    k99=$(pct "$kout" "$t0" 99)
    c50=$(pct "$cout" "$t0" 50)
    c99=$(pct "$cout" "$t0" 99)
    bench_emit latency.invoke p50_ms "$k50" ms latency.kcat
    bench_emit latency.invoke p99_ms "$k99" ms latency.kcat
    bench_emit latency.kcat p50_ms "$c50" ms
    bench_emit latency.kcat p99_ms "$c99" ms
    echo "latency.sh: run $i: $sent records in $(((t1 - t0) / 1000)) s; kesm p50 $k50 ms p99 $k99 ms; kcat p50 $c50 ms p99 $c99 ms" >&2
done
