# shellcheck shell=bash
# bench/lib.sh: helpers for kesm's benchmarks (bench/*.sh, run by bench/run). Source it:
#
#   . bench/lib.sh
#   bench_kmock_start -b 3 || exit 1             # a kmock cluster (tests/lib/kmock.sh)
#   bench_produce bench-t 1000000 100 48         # N records of S bytes over P partitions
#   bench_repeat 5 kcat.consume - -- kcat -C -e -q -b "$KMOCK_BOOTSTRAP" -t bench-t
#   bench_kmock_stop
#
# Result lines (the only thing bench/run reads from a benchmark's stdout) look like
#   BENCH <name> <metric> <value> <unit> [baseline=<name>]
# one per measurement; a benchmark repeats a measurement by printing the same name and metric
# again, and bench/run reports the median. With baseline=NAME, bench/run adds the ratio
# value / (median of NAME's same metric), e.g. kesm's CPU seconds over kcat's. See bench/README.md.
#
# Functions:
#   bench_emit NAME METRIC VALUE UNIT [BASELINE]    print one BENCH line
#   bench_timed STATS CMD...         run CMD under /usr/bin/time -v (report in file STATS); CMD's
#                                    stdout/stderr are the caller's; returns CMD's exit status
#   bench_stats STATS                print "CPU_S MAXRSS_KIB WALL_S" from a /usr/bin/time -v report
#                                    (CPU_S = user + system seconds)
#   bench_repeat N NAME BASELINE -- CMD...   N timed runs of CMD (stdout to /dev/null; stderr to
#                                    $BENCH_WORK/NAME.err); per run prints BENCH lines cpu_s,
#                                    max_rss_kib and wall_s (BASELINE "-" for none); fails (1) on
#                                    the first run that exits non-zero
#   bench_median                     the median of the numbers on stdin (one per line)
#   bench_ratio A B                  A / B with 3 decimals ("n/a" when B is 0)
#   bench_rss_of PID                 "VmRSS_KIB VmHWM_KIB" of a running process
#   bench_kmock_start [kmock args]   start kmock (KMOCK_BOOTSTRAP set and exported); under
#                                    bench/run a benchmark is already attached to its kmock
#                                    (KMOCK_PID, KMOCK_DIR set) and need not start one
#   bench_kmock_stop                 stop it (only if this shell started it)
#   bench_produce TOPIC N SIZE P [CODEC]   create TOPIC with P partitions (if new) and produce N
#                                    records with S-byte values, spread round-robin over the
#                                    partitions; fails unless all N were delivered
#   bench_produce_kcat TOPIC N SIZE P [CODEC]   the same through `kcat -P` with large batches
#                                    (linger.ms=100, batch.num.messages=10000, one partition at a
#                                    time: about 1 MB per batch with 100-byte values, so one
#                                    Fetch answer carries about 1 MB per partition, as a current
#                                    broker's would); the partitions get N/P records each
#   bench_machine                    Markdown lines describing this machine
#   bench_table RAW                  Markdown table rows from RAW lines "SCRIPT NAME METRIC VALUE
#                                    UNIT [baseline=B]" (bench/run's build/bench/raw.txt):
#                                    median, runs, min .. max per (NAME, METRIC), and the ratio
#                                    to the baseline's median of the same metric
#
# Variables: BENCH_ROOT (the repository), BENCH_WORK (scratch directory; created on first use
# and removed by bench_cleanup), BENCH_REPS (repetitions bench/run asks for, default 5).

BENCH_ROOT=${BENCH_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BENCH_REPS=${BENCH_REPS:-5}
# kmock.sh starts with no kmock: keep the bootstrap bench/run exported.
bench_saved_bootstrap=${KMOCK_BOOTSTRAP:-}
# shellcheck source=tests/lib/kmock.sh
. "$BENCH_ROOT/tests/lib/kmock.sh"
KMOCK_BOOTSTRAP=$bench_saved_bootstrap

bench_work() {
    if [ -z "${BENCH_WORK:-}" ]; then
        BENCH_WORK=$(mktemp -d "${TMPDIR:-/tmp}/kesm-bench.XXXXXX")
        BENCH_OWN_WORK=1
    fi
    mkdir -p "$BENCH_WORK"
}

bench_cleanup() {
    if [ -n "${BENCH_OWN_WORK:-}" ] && [ -n "${BENCH_WORK:-}" ]; then
        rm -rf "$BENCH_WORK"
        BENCH_WORK=
        BENCH_OWN_WORK=
    fi
}

bench_emit() {
    local line="BENCH $1 $2 $3 $4"
    if [ -n "${5:-}" ] && [ "$5" != - ]; then
        line="$line baseline=$5"
    fi
    echo "$line"
}

bench_timed() {
    local stats=$1
    shift
    /usr/bin/time -v -o "$stats" "$@"
}

bench_stats() {
    awk -F': ' '
        /User time \(seconds\)/ { u = $2 }
        /System time \(seconds\)/ { s = $2 }
        /Maximum resident set size/ { r = $2 }
        /Elapsed \(wall clock\) time/ {
            n = split($2, p, ":")
            w = 0
            for (i = 1; i <= n; i++) w = w * 60 + p[i]
        }
        END {
            if (u == "" || r == "") exit 1
            printf "%.3f %d %.3f\n", u + s, r, w
        }' "$1"
}

bench_repeat() {
    local n=$1 name=$2 base=$3 i stats cpu rss wall
    shift 3
    [ "${1:-}" = -- ] && shift
    bench_work
    stats=$BENCH_WORK/$name.time
    for i in $(seq "$n"); do
        if ! bench_timed "$stats" "$@" >/dev/null 2>"$BENCH_WORK/$name.err"; then
            echo "bench_repeat: $name run $i failed: $*" >&2
            tail -5 "$BENCH_WORK/$name.err" >&2
            return 1
        fi
        read -r cpu rss wall < <(bench_stats "$stats") || return 1
        bench_emit "$name" cpu_s "$cpu" s "$base"
        bench_emit "$name" max_rss_kib "$rss" KiB "$base"
        bench_emit "$name" wall_s "$wall" s "$base"
    done
}

bench_median() {
    sort -g | awk '{ v[NR] = $1 }
        END {
            if (NR == 0) { print "n/a"; exit }
            if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
            print m
        }'
}

bench_ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.3f\n", a / b }'
}

bench_rss_of() {
    awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { print r + 0, h + 0 }' "/proc/$1/status"
}

# bench_kesm_committed NAME CFG GROUP TOPIC PARTITIONS N ERR SECS WRAPPER...: runs
# `WRAPPER... kesm run --config CFG` (stderr into ERR; killed after SECS) until GROUP committed N
# records of TOPIC, then stops kesm (the innermost process) with SIGINT; 1 (with the reason and
# ERR's tail on stderr, prefixed by NAME) when it committed fewer or did not exit 0. kesm logs at
# BENCH_KESM_LOG_LEVEL (default warn) and commits every 200 ms.
bench_kesm_committed() {
    local name=$1 cfg=$2 group=$3 topic=$4 parts=$5 n=$6 err=$7 secs=$8
    local tpid kpid child deadline sum=0 rc
    shift 8
    KESM_COMMIT_INTERVAL_MS=200 KESM_LOG_LEVEL=${BENCH_KESM_LOG_LEVEL:-warn} \
        timeout --kill-after=5 "$secs" "$@" "$KESM" run --no-status --config "$cfg" \
        >/dev/null 2>"$err" &
    tpid=$!
    # kesm is the innermost process under timeout (and the wrapper, when it forks).
    for _ in $(seq 100); do
        kpid=$tpid
        while child=$(pgrep -P "$kpid" | head -1) && [ -n "$child" ]; do
            kpid=$child
        done
        [ "$kpid" != "$tpid" ] && break
        sleep 0.05
    done
    [ "$kpid" = "$tpid" ] && kpid=
    deadline=$((SECONDS + secs))
    while [ "$sum" -lt "$n" ] && [ "$SECONDS" -lt "$deadline" ] && kill -0 "$tpid" 2>/dev/null; do
        sleep 0.1
        sum=$(bench_committed_sum "$group" "$topic" "$parts")
    done
    [ -n "$kpid" ] && kill -INT "$kpid" 2>/dev/null
    wait "$tpid"
    rc=$?
    if [ "$sum" != "$n" ] || [ "$rc" != 0 ]; then
        echo "$name: committed $sum of $n records, kesm exit $rc" >&2
        tail -5 "$err" >&2
        return 1
    fi
}

# bench_run_committed NAME CFG GROUP TOPIC PARTITIONS N STATS ERR: bench_kesm_committed under
# /usr/bin/time -v (its report into STATS), at most 300 s.
bench_run_committed() {
    bench_kesm_committed "$1" "$2" "$3" "$4" "$5" "$6" "$8" 300 /usr/bin/time -v -o "$7"
}

# bench_join_s ERR: seconds from kesm's "esm running" log line to its first "esm assigned" one in
# ERR (an info-level log): the time the group join took, which kcat's baseline (no group) does
# not spend; empty when ERR lacks either line.
bench_join_s() {
    python3 - "$1" <<'PY'
import sys
from datetime import datetime
t0 = t1 = None
for line in open(sys.argv[1], errors="replace"):
    if " esm running:" in line and t0 is None:
        t0 = line.split(" ", 1)[0]
    elif " esm assigned " in line and t1 is None:
        t1 = line.split(" ", 1)[0]
if t0 and t1:
    p = lambda s: datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
    print("%.2f" % (p(t1) - p(t0)).total_seconds())
PY
}

# bench_committed_sum GROUP TOPIC PARTITIONS: the sum of GROUP's committed offsets over the
# topic's partitions (0 before any commit).
bench_committed_sum() {
    kmock_cmd committed "$1" "$2" "$3" |
        tr ' ' '\n' | awk -F= '/^[0-9]+=[0-9]+$/ { s += $2 } END { print s + 0 }'
}

# bench_stdout_config FILE GROUP: writes the mapping pipeline.sh and callgrind.sh run (the data
# set's topic from the beginning, BatchSize 10000, window 0, the stdout transport) to FILE.
bench_stdout_config() {
    local bs
    bs=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')
    cat >"$1" <<JSON
{"FunctionName": "bench", "Topics": ["$BENCH_TOPIC"], "StartingPosition": "TRIM_HORIZON",
 "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["$bs"]}},
 "SelfManagedKafkaEventSourceConfig": {"ConsumerGroupId": "$2"}, "BatchSize": 10000, "MaximumBatchingWindowInSeconds": 0,
 "Kesm": {"Transport": "stdout"}}
JSON
}

bench_kmock_start() {
    bench_work
    KMOCK_DIR=$BENCH_WORK/kmock
    # A benchmark run lasts minutes, not kmock's default 15.
    kmock_start -l 3600 "$@" && BENCH_OWN_KMOCK=1
}

# bench_kmock_stop stops kmock only if this shell started it (a benchmark attached to bench/run's
# kmock leaves it running).
bench_kmock_stop() {
    if [ -n "${BENCH_OWN_KMOCK:-}" ]; then
        kmock_stop >/dev/null 2>&1
        BENCH_OWN_KMOCK=
    fi
}

# Attach to bench/run's kmock: its stdin descriptor is inherited, and kmock.sh's state lives in
# files under KMOCK_DIR, so kmock_cmd works here too (one command at a time).
if [ -n "${BENCH_KMOCK_PID:-}" ] && [ -z "${KMOCK_PID:-}" ]; then
    KMOCK_PID=$BENCH_KMOCK_PID
    KMOCK_FD=$BENCH_KMOCK_FD
    KMOCK_DIR=$BENCH_KMOCK_DIR
fi

bench_produce() {
    local topic=$1 n=$2 size=$3 parts=$4 codec=${5:-none} ans
    ans=$(kmock_cmd topic "$topic" "$parts") || case $ans in
    *"already exists"* | *ALREADY_EXISTS*) ;;
    *)
        echo "bench_produce: topic $topic: $ans" >&2
        return 1
        ;;
    esac
    # kmock keeps at most 5 MiB per partition (librdkafka's mock): stay well below it.
    local per=$(((n / parts + 1) * (size + 64)))
    if [ "$per" -gt $((4 * 1024 * 1024)) ]; then
        echo "bench_produce: ~$per bytes per partition is over kmock's 5 MiB partition limit" >&2
        return 1
    fi
    ans=$(kmock_cmd -t 900 produce "$topic" "$n" size="$size" codec="$codec") || {
        echo "bench_produce: $ans" >&2
        return 1
    }
    case $ans in
    *" delivered=$n failed=0"*) echo "$ans" ;;
    *)
        echo "bench_produce: not every record was delivered: $ans" >&2
        return 1
        ;;
    esac
}

bench_produce_kcat() {
    local topic=$1 n=$2 size=$3 parts=$4 codec=${5:-none} ans value start
    ans=$(kmock_cmd topic "$topic" "$parts") || case $ans in
    *"already exists"* | *ALREADY_EXISTS*) ;;
    *)
        echo "bench_produce_kcat: topic $topic: $ans" >&2
        return 1
        ;;
    esac
    local per=$(((n / parts + n / parts / 10 + 1) * (size + 64)))
    if [ "$per" -gt $((4 * 1024 * 1024)) ]; then
        echo "bench_produce_kcat: ~$per bytes per partition is over kmock's 5 MiB partition limit" >&2
        return 1
    fi
    value=$(printf '%*s' "$size" '' | tr ' ' v)
    start=$(date +%s%N)
    # One kcat -P per partition, so that each batch fills up to batch.num.messages (10,000
    # records, about 1 MB of 100-byte values) instead of spreading over every partition. kcat -P
    # exits non-zero when a delivery failed; the consumers check that every record arrived.
    local p cnt lane pids=() failed=0
    for ((p = 0; p < parts; p++)); do
        cnt=$((n / parts + (p < n % parts ? 1 : 0)))
        # Four partitions at a time.
        (yes "$value" | head -n "$cnt" | kcat -P -q -b "$KMOCK_BOOTSTRAP" -t "$topic" -p "$p" \
            -z "$codec" -X linger.ms=100 -X batch.num.messages=10000 \
            -X queue.buffering.max.messages=1000000) &
        pids+=($!)
        if [ "${#pids[@]}" -ge 4 ] || [ "$p" = $((parts - 1)) ]; then
            for lane in "${pids[@]}"; do
                wait "$lane" || failed=1
            done
            pids=()
        fi
    done
    if [ "$failed" != 0 ]; then
        echo "bench_produce_kcat: kcat -P failed" >&2
        return 1
    fi
    echo "kcat -P topic=$topic count=$n linger.ms=100 batch.num.messages=10000, one partition at a" \
        "time, ms=$((($(date +%s%N) - start) / 1000000))"
}

bench_machine() {
    local cpu mem
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- CPU: ${cpu:-unknown}, nproc $(nproc)"
    echo "- memory: $mem"
    echo "- kernel: $(uname -sr)"
    echo "- OS: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
    echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- kcat: $(kcat -V 2>&1 | sed -n 's/^Version \([^ ]*\).*librdkafka \([^ ]*\).*/\1 (librdkafka \2)/p')"
    echo "- kesm: $(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
        "($(cat "$BENCH_ROOT/VERSION" 2>/dev/null))"
}

bench_table() {
    awk '
    {
        key = $2 SUBSEP $3
        if (!(key in unit)) { order[++n] = key; unit[key] = $5; script[key] = $1 }
        vals[key] = vals[key] " " $4
        cnt[key]++
        for (i = 6; i <= NF; i++) if ($i ~ /^baseline=/) base[key] = substr($i, 10)
    }
    function median(s,    a, k, i, j, t) {
        k = split(s, a, " ")
        for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
        lo = a[1]; hi = a[k]
        return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    END {
        for (i = 1; i <= n; i++) { k = order[i]; med[k] = median(vals[k]); mn[k] = lo; mx[k] = hi }
        for (i = 1; i <= n; i++) {
            k = order[i]
            split(k, p, SUBSEP)
            r = ""; b = ""
            if (k in base) {
                b = base[k]
                bk = b SUBSEP p[2]
                if ((bk in med) && med[bk] + 0 != 0) r = sprintf("%.3f", med[k] / med[bk])
                else r = "no baseline"
            }
            printf "| %s | %s | %g | %s | %d | %g .. %g | %s | %s |\n", p[1], p[2], med[k], unit[k], cnt[k], mn[k], mx[k], b, r
        }
    }' "$1"
}
