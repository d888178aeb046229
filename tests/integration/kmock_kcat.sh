#!/usr/bin/env bash
# kmock_kcat.sh: proves the kmock fixture (tests/broker/kmock.c) and kcat as test peers.
# kcat, as a consumer-group member, must read exactly the records kmock produced for every
# codec (keys, values, headers, per-partition order through the seq= numbers), see a broker go
# down and come back, and commit offsets that kmock's `committed` reports.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh

WORK=$TEST_TMP
KMOCK_DIR=$WORK/kmock
KCAT_PID=

cleanup() {
    if [ -n "$KCAT_PID" ]; then
        kill -TERM "$KCAT_PID" 2>/dev/null
        wait "$KCAT_PID" 2>/dev/null
    fi
    kmock_stop
}
at_exit cleanup

CODECS="none gzip snappy lz4 zstd"
PER_CODEC=40
NPART=4
SIZE=64
FILL=".abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
# kcat record format: partition, offset, key, value, headers (tab-separated)
FMT='%p\t%o\t%k\t%s\t%h\n'
GROUP_OPTS=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500
    -X auto.offset.reset=earliest -X topic.metadata.refresh.interval.ms=1000)

# expect_line P SEQ HEADERS: the line kcat prints for kmock's generated record SEQ of
# partition P (offset == SEQ when every record of the partition came from kmock).
expect_line() {
    local v="seq=$2 part=$1$FILL"
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "k$1-$2" "${v:0:$SIZE}" "$3"
}

# same_records EXPECTED GOT: the two files hold the same multiset of lines (else prints the
# first differences: `<` expected but missing, `>` unexpected).
same_records() {
    diff <(sort "$1") <(sort "$2") | grep '^[<>]' | head -5 | grep .
    [ "${PIPESTATUS[0]}" = 0 ]
}

# in_order FILE: per partition, offsets are consecutive from the first one seen and every
# value's seq= equals its offset.
in_order() {
    awk -F'\t' '
        { if (!($1 in next_off)) next_off[$1] = $2
          if ($2 != next_off[$1]) { print "partition " $1 ": offset " $2 ", expected " next_off[$1]; bad = 1 }
          if ($4 !~ ("^seq=" $2 " part=" $1 "([.]|$)")) { print "partition " $1 " offset " $2 ": value " $4; bad = 1 }
          next_off[$1] = $2 + 1 }
        END { exit bad }' "$1"
}

lines_at_least() {
    [ "$(wc -l <"$2")" -ge "$1" ]
}

if ! kmock_start -b 3 -t kk:$NPART -l "$LIFETIME"; then
    tap_fail "kmock starts and prints its bootstrap list"
    tap_done
fi
tap_ok "kmock starts and prints its bootstrap list ($KMOCK_BOOTSTRAP)"
BS=$KMOCK_BOOTSTRAP

# ---- command validation ----------------------------------------------------------------------
ans=$(kmock_cmd produce kk many)
tap_check "kmock rejects a non-numeric count, naming it" \
    grep -q '^error produce: count "many" is not an integer' <<<"$ans"
ans=$(kmock_cmd produce kk 1 colour=red)
tap_check "kmock rejects an unknown produce option" \
    grep -q '^error produce: unknown option "colour"' <<<"$ans"
ans=$(kmock_cmd leader kk 0 9)
tap_check "kmock rejects a broker id out of range" grep -q '^error leader: broker id "9"' <<<"$ans"
ans=$(kmock_cmd frobnicate)
tap_check "kmock rejects an unknown command" grep -q '^error unknown command "frobnicate"' <<<"$ans"

# ---- deterministic layout: pinned leaders and group coordinator ------------------------------
ok=1
for spec in "0 1" "1 2" "2 3" "3 1"; do
    kmock_cmd leader kk "${spec% *}" "${spec#* }" >/dev/null || ok=
done
kmock_cmd coord group g1 1 >/dev/null || ok=
if [ -n "$ok" ]; then tap_ok "leaders and coordinator pinned"; else tap_fail "leaders and coordinator pinned"; fi

# ---- produce every codec ---------------------------------------------------------------------
: >"$WORK/expected"
ci=0
for c in $CODECS; do
    ans=$(kmock_cmd produce kk $PER_CODEC codec="$c" size=$SIZE headers="codec=$c,trace=abc")
    tap_check "produce $PER_CODEC records with codec $c: $ans" \
        grep -q "delivered=$PER_CODEC failed=0" <<<"$ans"
    for ((i = 0; i < PER_CODEC; i++)); do
        expect_line $((i % NPART)) $((ci * PER_CODEC / NPART + i / NPART)) "codec=$c,trace=abc" \
            >>"$WORK/expected"
    done
    ci=$((ci + 1))
done
TOTAL=$(wc -l <"$WORK/expected")

# ---- metadata ----------------------------------------------------------------------------------
with_timeout 20 kcat -b "$BS" -L -t kk >"$WORK/meta.txt" 2>&1
tap_check "kcat -L shows topic kk with $NPART partitions" \
    grep -q "topic \"kk\" with $NPART partitions" "$WORK/meta.txt"
tap_check "kcat -L shows 3 brokers" grep -q ' 3 brokers:' "$WORK/meta.txt"

# ---- consume as a group member ---------------------------------------------------------------
# Plain `timeout`, not the with_timeout function: $! must be the process that gets SIGINT.
timeout --kill-after=5 60 kcat -b "$BS" -G g1 "${GROUP_OPTS[@]}" -u -f "$FMT" kk \
    >"$WORK/g1.out" 2>"$WORK/g1.err" &
KCAT_PID=$!
if ! wait_until 30 lines_at_least "$TOTAL" "$WORK/g1.out"; then
    tap_fail "kcat group member consumed $TOTAL records" "got $(wc -l <"$WORK/g1.out")" \
        "$(tail -3 "$WORK/g1.err")"
fi
# Anything beyond the expected records would show up within half a second.
holds_for 0.5 eval '[ "$(wc -l <"$WORK/g1.out")" -le "$TOTAL" ]'
tap_check "kcat read exactly the produced records (count, keys, values, headers, offsets)" \
    same_records "$WORK/expected" "$WORK/g1.out"
tap_check "per-partition order: offsets consecutive and seq= equals offset" in_order "$WORK/g1.out"

# ---- the checkers can fail -------------------------------------------------------------------
cp "$WORK/expected" "$WORK/expected.plus"
expect_line 0 999 "codec=none,trace=abc" >>"$WORK/expected.plus"
if same_records "$WORK/expected.plus" "$WORK/g1.out" >/dev/null; then
    tap_fail "checker rejects a missing record"
else
    tap_ok "checker rejects a missing record"
fi
awk -F'\t' '$1 == 0' "$WORK/g1.out" | awk 'NR == 2 { s = $0; next } NR == 3 { print; print s; next } { print }' \
    >"$WORK/swapped"
if in_order "$WORK/swapped" >/dev/null; then
    tap_fail "order checker rejects two swapped records"
else
    tap_ok "order checker rejects two swapped records"
fi

# ---- a broker goes down and comes back --------------------------------------------------------
kmock_cmd down 2 >/dev/null
tap_check "kcat logs the disconnect of broker 2" \
    wait_until 15 grep -q '/2: Disconnected' "$WORK/g1.err"
kmock_cmd up 2 >/dev/null
ans=$(kmock_cmd produce kk 20 codec=lz4 size=$SIZE headers=phase=after-up)
tap_check "produce after broker 2 is back: $ans" grep -q 'delivered=20 failed=0' <<<"$ans"
for ((i = 0; i < 20; i++)); do
    expect_line $((i % NPART)) $((PER_CODEC * 5 / NPART + i / NPART)) "phase=after-up" \
        >>"$WORK/expected"
done
TOTAL=$(wc -l <"$WORK/expected")
if wait_until 30 lines_at_least "$TOTAL" "$WORK/g1.out"; then
    tap_ok "consumption continues after broker 2 comes back (partition 1 is led by broker 2)"
else
    tap_fail "consumption continues after broker 2 comes back" \
        "got $(wc -l <"$WORK/g1.out") of $TOTAL"
fi
holds_for 0.5 eval '[ "$(wc -l <"$WORK/g1.out")" -le "$TOTAL" ]'
tap_check "after the outage: still exactly the produced records" \
    same_records "$WORK/expected" "$WORK/g1.out"
tap_check "after the outage: per-partition order holds" in_order "$WORK/g1.out"

# ---- commits -----------------------------------------------------------------------------------
kill -INT "$KCAT_PID" # kcat commits its offsets and leaves the group
wait "$KCAT_PID"
rc=$?
KCAT_PID=
tap_check "kcat exits cleanly on SIGINT (rc $rc)" test "$rc" = 0
ans=$(kmock_cmd committed g1 kk $NPART)
want="ok committed group=g1 topic=kk 0=55 1=55 2=55 3=55"
tap_check "committed reports kcat's commits: $ans" test "$ans" = "$want"
ans=$(kmock_cmd committed nobody kk 2)
tap_check "committed reports none for a group without commits" \
    test "$ans" = "ok committed group=nobody topic=kk 0=none 1=none"
ans=$(kmock_cmd watermarks kk 3)
tap_check "watermarks: $ans" test "$ans" = "ok watermarks topic=kk partition=3 low=0 high=55"

# ---- a new member resumes from the commits -----------------------------------------------------
kmock_cmd produce kk 8 codec=snappy size=$SIZE headers=none >/dev/null
with_timeout 30 kcat -b "$BS" -G g1 "${GROUP_OPTS[@]}" -e -u -f "$FMT" kk \
    >"$WORK/g1b.out" 2>"$WORK/g1b.err"
: >"$WORK/expected.resume"
for ((i = 0; i < 8; i++)); do
    expect_line $((i % NPART)) $((55 + i / NPART)) "" >>"$WORK/expected.resume"
done
tap_check "a new group member resumes from the commits: exactly the 8 new records" \
    same_records "$WORK/expected.resume" "$WORK/g1b.out"

# ---- null key, tombstone, literal key/value, headers with a null value, timestamps -----------
kmock_cmd topic kx 1 >/dev/null
kmock_cmd produce kx 2 partition=0 key=null value=null ts=1700000000000 tsstep=10 >/dev/null
kmock_cmd produce kx 1 partition=0 key=hello%20world value=a%2Cb headers=n,x=%3D codec=zstd \
    >/dev/null
with_timeout 20 kcat -b "$BS" -C -t kx -o beginning -e -q -f '%o|%K|%S|%T|%k|%s|%h\n' \
    >"$WORK/kx.out" 2>&1
printf '%s\n' '0|-1|-1|1700000000000|||' '1|-1|-1|1700000000010|||' >"$WORK/kx.want"
tap_check "null keys, tombstones and explicit timestamps arrive as produced" \
    diff "$WORK/kx.want" <(head -2 "$WORK/kx.out")
tap_check "literal key and value (percent-decoded), header with a null value" \
    grep -qE '^2\|11\|3\|[0-9]+\|hello world\|a,b\|n=NULL,x==$' "$WORK/kx.out"

# ---- fault injection reaches the wire --------------------------------------------------------
kmock_cmd rtt -1 300 >/dev/null
ans=$(kmock_cmd produce kx 1 partition=0)
kmock_cmd rtt -1 0 >/dev/null
ms=$(sed -n 's/.* ms=\([0-9]*\).*/\1/p' <<<"$ans")
tap_check "rtt 300 slows a produce down (${ms:-?} ms)" test "${ms:-0}" -ge 300
# the helper: a command that outlives its timeout returns 2, and the next command still gets
# its own answer, not the late one
kmock_cmd leader kx 0 1 >/dev/null
kmock_cmd rtt 1 2500 >/dev/null
kmock_cmd -t 1 produce kx 1 partition=0 >/dev/null 2>&1
rc=$?
ans=$(kmock_cmd -t 10 rtt 1 0)
tap_check "kmock_cmd times out (rc $rc) and the next command gets its own answer ($ans)" \
    test "$rc" = 2 -a "$ans" = "ok rtt"
kmock_cmd reqerr Produce REQUEST_TIMED_OUT REQUEST_TIMED_OUT >/dev/null
ans=$(kmock_cmd produce kx 3 partition=0)
tap_check "two injected Produce errors are retried: $ans" \
    grep -q 'delivered=3 failed=0' <<<"$ans"

# ---- shutdown ----------------------------------------------------------------------------------
kmock_stop
rc=$?
tap_check "kmock exits 0 on quit" test "$rc" = 0
with_timeout 20 "$KMOCK_BIN" </dev/null >"$WORK/eof.out" 2>"$WORK/eof.err"
rc=$?
tap_check "kmock exits 0 at EOF on stdin, after its BOOTSTRAP line (rc $rc)" \
    test "$rc" = 0 -a "$(cut -d' ' -f1 "$WORK/eof.out")" = BOOTSTRAP
start=$SECONDS
"$KMOCK_BIN" -l 1 < <(exec sleep 20) >/dev/null 2>"$WORK/lifetime.err"
rc=$?
kill "$!" 2>/dev/null # the sleep holding kmock's stdin open
tap_check "kmock -l 1 ends itself after its lifetime (exit $rc after $((SECONDS - start)) s)" \
    test "$rc" = 3 -a $((SECONDS - start)) -le 5

tap_done
