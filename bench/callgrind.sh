#!/usr/bin/env bash
# bench/callgrind.sh: instructions per delivered record, a deterministic figure (bench/README.md):
#
#   callgrind.pipeline  `kesm run` as in pipeline.stdout (BatchSize 10000, window 0, stdout
#                       transport into /dev/null) under `valgrind --tool=callgrind` over the
#                       shared data set, stopped with SIGINT once its commits cover every record:
#                       ir_per_record = every instruction kesm executed (start, group join,
#                       fetch, decode, batch, encode, write, commit, shutdown) / records delivered.
#
# It does not depend on the machine's load (only on the data set and on how the broker splits it
# into Fetch answers), so one run is enough: it runs BENCH_CALLGRIND_REPS times (default 1). The
# hottest functions of the last run go to build/bench/callgrind.err (callgrind_annotate), the
# profile to $BENCH_CALLGRIND_OUT (default build/bench/callgrind.profile).
#
# Needs bench/run's environment (KMOCK_BOOTSTRAP, BENCH_TOPIC, BENCH_RECORDS, BENCH_PARTITIONS);
# valgrind. The command alone: BENCH_FILTER=callgrind bench/run.
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
trap bench_cleanup EXIT
KESM=${KESM_BIN:-build/kesm}
REPS=${BENCH_CALLGRIND_REPS:-1}
OUTFILE=${BENCH_CALLGRIND_OUT:-build/bench/callgrind.profile}

for v in KMOCK_BOOTSTRAP BENCH_TOPIC BENCH_RECORDS BENCH_PARTITIONS; do
    if [ -z "${!v:-}" ]; then
        echo "callgrind.sh: $v is not set (run me through bench/run)" >&2
        exit 2
    fi
done
command -v valgrind >/dev/null || {
    echo "callgrind.sh: valgrind is not installed" >&2
    exit 2
}
[ -x "$KESM" ] || {
    echo "callgrind.sh: $KESM is not built" >&2
    exit 2
}
bench_work
mkdir -p "$(dirname "$OUTFILE")"

for i in $(seq "$REPS"); do
    group=bench-callgrind-$i-$$
    cfg=$BENCH_WORK/callgrind.json
    bench_stdout_config "$cfg" "$group"
    rm -f "$OUTFILE"
    bench_kesm_committed "callgrind.sh: run $i" "$cfg" "$group" "$BENCH_TOPIC" \
        "$BENCH_PARTITIONS" "$BENCH_RECORDS" "$BENCH_WORK/callgrind.err" 900 \
        valgrind --tool=callgrind --callgrind-out-file="$OUTFILE" || exit 1
    if [ ! -s "$OUTFILE" ]; then
        echo "callgrind.sh: run $i: valgrind wrote no profile" >&2
        exit 1
    fi
    sum=$BENCH_RECORDS
    ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$OUTFILE")
    per=$(awk -v a="$ir" -v b="$sum" 'BEGIN { printf "%.1f\n", a / b }')
    bench_emit callgrind.pipeline ir_per_record "$per" instr
    echo "callgrind.sh: run $i: $ir instructions, $sum records, $per per record" >&2
done
command -v callgrind_annotate >/dev/null &&
    callgrind_annotate --inclusive=no "$OUTFILE" 2>/dev/null | sed -n '1,60p' >&2
exit 0
