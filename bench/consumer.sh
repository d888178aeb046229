#!/usr/bin/env bash
# bench/consumer.sh: kesm's consumer against kcat on the same data in the same run.
#
# kmock (3 brokers) holds N (default 1,000,000) records of 100 bytes in a 48-partition topic.
# Each run reads all of them into a null sink: kesm through tests/tools/cons_probe (a consumer
# group member, `quiet`, acknowledging every batch, exiting after N records) and kcat with
# `-C -e -q` (plain partition consumer, output to wc). Both are measured with /usr/bin/time -v:
# CPU seconds (user + sys) and peak RSS. The report gives the medians of RUNS (default 5) runs
# each and the ratios kesm / kcat, then kesm's idle RSS with 48 partitions assigned and no
# traffic (and the CPU it uses in 10 s). Not a timed test: run it by hand (`bench/consumer.sh`), on an otherwise quiet machine.
#
# Environment: N, RUNS, PARTS (48), KESM_PROBE (default build/tools/cons_probe, the -O2 build).
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/kmock.sh

N=${N:-1000000}
RUNS=${RUNS:-5}
PARTS=${PARTS:-48}
PROBE=${KESM_PROBE:-build/tools/cons_probe}
if ! make -s build/kmock "$PROBE" >/dev/null; then
    [ -x build/kmock ] && [ -x "$PROBE" ] || exit 1
    echo "# bench: the build failed; measuring the binaries already built" >&2
fi
command -v kcat >/dev/null || { echo "bench: kcat is not installed" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time (package time) is not installed" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench_consumer.XXXXXX")
KMOCK_DIR=$WORK/kmock
IDLE_PID=
cleanup() {
    [ -n "$IDLE_PID" ] && kill -TERM "$IDLE_PID" 2>/dev/null && wait "$IDLE_PID" 2>/dev/null
    kmock_stop
    rm -rf "$WORK"
}
trap cleanup EXIT

kmock_start -b 3 -t b$PARTS:$PARTS -t idle$PARTS:$PARTS -l 3600 || exit 1
BS=$KMOCK_BOOTSTRAP
echo "# producing $N records of 100 bytes into $PARTS partitions"
ans=$(kmock_cmd -t 600 produce b$PARTS "$N" size=100) || { echo "$ans"; exit 1; }
echo "# $ans"
low_sum=0
for ((p = 0; p < PARTS; p++)); do
    low=$(kmock_cmd watermarks b$PARTS $p | sed -n 's/.* low=\([0-9]*\).*/\1/p')
    low_sum=$((low_sum + low))
done
[ "$low_sum" = 0 ] || { echo "bench: the mock evicted $low_sum records (retention cap)"; exit 1; }

# measure FILE: prints "cpu_seconds max_rss_kb" from a /usr/bin/time -v report.
measure() {
    awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} /Maximum resident/ {m = $2}
        END {printf "%.2f %d\n", u + s, m}' "$1"
}

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

: >"$WORK/kesm.txt"
: >"$WORK/kcat.txt"
for ((i = 1; i <= RUNS; i++)); do
    /usr/bin/time -v -o "$WORK/kesm.time" "$PROBE" "$BS" "bench-$i-$$" b$PARTS start=earliest \
        quiet expect="$N" lifetime=600 >/dev/null 2>"$WORK/kesm.err"
    got=$(sed -n 's/^delivered //p' "$WORK/kesm.err")
    [ "$got" -ge "$N" ] 2>/dev/null || { echo "bench: kesm run $i delivered '$got'"; tail -5 "$WORK/kesm.err"; exit 1; }
    measure "$WORK/kesm.time" >>"$WORK/kesm.txt"
    lines=$(/usr/bin/time -v -o "$WORK/kcat.time" kcat -b "$BS" -C -t b$PARTS -o beginning -e -q |
        wc -l)
    [ "$lines" = "$N" ] || { echo "bench: kcat run $i read $lines records"; exit 1; }
    measure "$WORK/kcat.time" >>"$WORK/kcat.txt"
    echo "# run $i: kesm $(tail -1 "$WORK/kesm.txt") kcat $(tail -1 "$WORK/kcat.txt") (cpu s, peak rss KiB)"
done

k_cpu=$(cut -d' ' -f1 "$WORK/kesm.txt" | median)
k_rss=$(cut -d' ' -f2 "$WORK/kesm.txt" | median)
c_cpu=$(cut -d' ' -f1 "$WORK/kcat.txt" | median)
c_rss=$(cut -d' ' -f2 "$WORK/kcat.txt" | median)

# Idle: a member with every partition of an empty topic assigned, after its fetches settle.
"$PROBE" "$BS" "idle-$$" idle$PARTS start=earliest quiet lifetime=120 >/dev/null 2>"$WORK/idle.err" &
IDLE_PID=$!
wait_until 30 grep -q "^assigned $PARTS " "$WORK/idle.err" || { echo "bench: idle member not assigned"; exit 1; }
sleep 3
idle_rss=$(awk '/VmRSS/ {print $2}' "/proc/$IDLE_PID/status")
idle_hwm=$(awk '/VmHWM/ {print $2}' "/proc/$IDLE_PID/status")
# CPU used while idle (long-poll fetches, heartbeats, the 100 ms tick) over 10 s.
ticks() { awk '{print $14 + $15}' "/proc/$IDLE_PID/stat"; }
t0=$(ticks)
sleep 10
idle_cpu=$(awk -v a="$t0" -v b="$(ticks)" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) / hz}')

awk -v n="$N" -v p="$PARTS" -v r="$RUNS" -v kc="$k_cpu" -v kr="$k_rss" -v cc="$c_cpu" -v cr="$c_rss" \
    -v ir="$idle_rss" -v ih="$idle_hwm" -v ic="$idle_cpu" 'BEGIN {
    printf "consumer benchmark: %d records x 100 B, %d partitions, medians of %d runs\n", n, p, r
    printf "  kesm  cpu %.2f s  peak rss %.1f MiB\n", kc, kr / 1024
    printf "  kcat  cpu %.2f s  peak rss %.1f MiB\n", cc, cr / 1024
    printf "  ratio cpu %.2f (target <= 0.50)  peak rss %.2f (target <= 0.25)\n", kc / cc, kr / cr
    printf "  kesm idle rss with %d partitions assigned: %.1f MiB (high water %.1f MiB; target <= 8)\n", p, ir / 1024, ih / 1024
    printf "  kesm idle cpu: %.2f s in 10 s\n", ic
}'
