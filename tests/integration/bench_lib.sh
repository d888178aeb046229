#!/usr/bin/env bash
# bench_lib: the arithmetic and parsing of bench/lib.sh that bench/run's RESULTS.md rests on
# (`make bench` itself is not part of the test suite): medians, ratios, the /usr/bin/time -v
# report parser, the BENCH line format and the results table with its baseline ratios.
. "$(dirname "$0")/../lib/prelude.sh"
. bench/lib.sh
T=$TEST_TMP

eq() { # eq DESC GOT WANT
    if [ "$2" = "$3" ]; then
        tap_ok "$1"
    else
        tap_fail "$1" "got:  $2" "want: $3"
    fi
}

eq "median of an odd count" "$(printf '3\n1\n2\n' | bench_median)" 2
eq "median of an even count averages the middle two" "$(printf '4\n1\n3\n2\n' | bench_median)" 2.5
eq "median sorts numerically, not as text" "$(printf '10\n9\n100\n' | bench_median)" 10
eq "median of nothing" "$(printf '' | bench_median)" n/a
eq "ratio" "$(bench_ratio 1 4)" 0.250
eq "ratio over zero" "$(bench_ratio 1 0)" n/a
eq "BENCH line without a baseline" "$(bench_emit a.b cpu_s 1.5 s)" "BENCH a.b cpu_s 1.5 s"
eq "BENCH line with a baseline" "$(bench_emit a.b cpu_s 1.5 s kcat.consume)" \
    "BENCH a.b cpu_s 1.5 s baseline=kcat.consume"

# A real /usr/bin/time -v report of a process that burns CPU and touches ~40 MiB.
if bench_timed "$T/time.txt" /usr/bin/python3 -c \
    'b = bytearray(40 << 20); s = sum(range(3000000))'; then
    read -r cpu rss wall < <(bench_stats "$T/time.txt")
    tap_check "time -v: CPU seconds parsed ($cpu)" awk -v c="$cpu" 'BEGIN { exit !(c > 0.01 && c < 60) }'
    tap_check "time -v: peak RSS parsed ($rss KiB, >= 40 MiB)" test "$rss" -ge 40960
    tap_check "time -v: wall time parsed ($wall s)" awk -v w="$wall" 'BEGIN { exit !(w > 0 && w < 60) }'
else
    tap_fail "bench_timed runs a command under /usr/bin/time -v"
fi
printf '%s\n' 'Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02:03.5' 'User time (seconds): 1.25' \
    'System time (seconds): 0.50' 'Maximum resident set size (kbytes): 2048' >"$T/hms.txt"
eq "time -v: h:mm:ss wall clock and user+sys" "$(bench_stats "$T/hms.txt")" "1.750 2048 3723.500"
printf 'Elapsed (wall clock) time (h:mm:ss or m:ss): 0:01.00\n' >"$T/bad.txt"
tap_check "time -v: a report without CPU lines is an error" bash -c \
    ". bench/lib.sh; ! bench_stats '$T/bad.txt'"

cat >"$T/raw.txt" <<'EOF'
kcat kcat.consume cpu_s 2.0 s
kcat kcat.consume cpu_s 4.0 s
kcat kcat.consume cpu_s 3.0 s
kcat kcat.consume max_rss_kib 60000 KiB
consumer consumer.consume cpu_s 1.0 s baseline=kcat.consume
consumer consumer.consume cpu_s 1.5 s baseline=kcat.consume
consumer consumer.consume max_rss_kib 15000 KiB baseline=kcat.consume
consumer consumer.idle rss_kib 5000 KiB baseline=nothing.here
EOF
bench_table "$T/raw.txt" >"$T/table.md"
row() { grep -F "| $1 | $2 |" "$T/table.md"; }
eq "table: median, runs and range of the baseline" "$(row kcat.consume cpu_s)" \
    "| kcat.consume | cpu_s | 3 | s | 3 | 2 .. 4 |  |  |"
eq "table: ratio of medians to the baseline (1.25 / 3)" "$(row consumer.consume cpu_s)" \
    "| consumer.consume | cpu_s | 1.25 | s | 2 | 1 .. 1.5 | kcat.consume | 0.417 |"
eq "table: ratio per metric" "$(row consumer.consume max_rss_kib)" \
    "| consumer.consume | max_rss_kib | 15000 | KiB | 1 | 15000 .. 15000 | kcat.consume | 0.250 |"
eq "table: a missing baseline is named, not divided" "$(row consumer.idle rss_kib)" \
    "| consumer.idle | rss_kib | 5000 | KiB | 1 | 5000 .. 5000 | nothing.here | no baseline |"
eq "table: one row per name and metric, in first-seen order" "$(cut -d'|' -f2,3 "$T/table.md" | tr -d ' ' | tr '\n' ,)" \
    "kcat.consume|cpu_s,kcat.consume|max_rss_kib,consumer.consume|cpu_s,consumer.consume|max_rss_kib,consumer.idle|rss_kib,"

tap_done
