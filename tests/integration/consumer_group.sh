#!/usr/bin/env bash
# consumer_group.sh: kesm's consumer (tests/tools/cons_probe) in a consumer group with kcat
# (librdkafka 2.0.2), the peer we did not write, against kmock:
#   1. kesm alone gets all 6 partitions; kcat joins; after the rebalance the two assignments are
#      disjoint and cover every partition; records produced meanwhile all arrive, in order;
#   2. kcat leaves (SIGINT: commit + LeaveGroup); kesm takes over every partition from kcat's
#      committed offsets: every record is delivered, none is skipped;
#   3. kesm closes (commit + LeaveGroup): kmock's `committed` shows the high watermarks, and a
#      new kcat member of the group reads exactly the records produced after that;
#   4. kcat's commits are where kesm resumes: kesm reads exactly the records produced after;
#   5. kcat leads a second group and kesm joins it as a follower: kesm decodes the assignment
#      librdkafka computed, and the two split the partitions with no overlap and no gap.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/integration/consumer_lib.bash

WORK=$TEST_TMP
KMOCK_DIR=$WORK/kmock
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    kmock_stop
}
at_exit cleanup

T=cgt
G=cg-mixed
NPART=6
if ! kmock_start -b 3 -t $T:$NPART -l "$LIFETIME"; then
    tap_fail "kmock starts"
    tap_done
fi
BS=$KMOCK_BOOTSTRAP
kmock_cmd produce $T 300 codec=snappy >/dev/null

# ---- 1. kesm alone, then kcat joins -------------------------------------------------------
timeout --kill-after=5 150 "$CONS_PROBE" "$BS" $G $T "${CONS_PROBE_GROUP[@]}" lifetime=140 \
    >"$WORK/k1.out" 2>"$WORK/k1.err" &
K1=$!
PIDS+=("$K1")
if wait_until 20 grep -q "^assigned $NPART " "$WORK/k1.err"; then
    tap_ok "kesm joins the group alone and is assigned all $NPART partitions"
else
    tap_fail "kesm joins the group alone and is assigned all $NPART partitions" \
        "$(grep -E '^(assigned|error|state)' "$WORK/k1.err" | tail -5)"
fi
tap_check "kesm delivers the 300 records already there" cons_wait_cover 20 $T $NPART "$WORK/k1.out"

timeout --kill-after=5 120 kcat -b "$BS" -G $G "${CONS_KCAT_GROUP[@]}" -u -f "$CONS_KCAT_FMT" $T \
    >"$WORK/c1.out" 2>"$WORK/c1.err" &
C1=$!
PIDS+=("$C1")
if wait_until 30 grep -q 'assigned:' "$WORK/c1.err" &&
    wait_until 15 bash -c "[ \$(grep -c '^assigned ' '$WORK/k1.err') -ge 2 ]"; then
    tap_ok "kcat joins; both members are assigned after the rebalance"
else
    tap_fail "kcat joins; both members are assigned after the rebalance" \
        "$(tail -3 "$WORK/c1.err")" "$(grep '^assigned' "$WORK/k1.err")"
fi
KP=$(cons_assigned_parts "$WORK/k1.err")
CP=$(kcat_assigned_parts "$WORK/c1.err")
ALL=$(echo "$KP $CP" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
DUP=$(echo "$KP $CP" | tr ' ' '\n' | grep . | sort -n | uniq -d | tr '\n' ' ')
if [ "$ALL" = "0 1 2 3 4 5 " ] && [ -z "$DUP" ] && [ -n "$KP" ] && [ -n "$CP" ]; then
    tap_ok "the assignments are disjoint and cover every partition (kesm: $KP; kcat: $CP)"
else
    tap_fail "the assignments are disjoint and cover every partition" "kesm: $KP" "kcat: $CP"
fi
kmock_cmd produce $T 120 codec=lz4 >/dev/null
tap_check "records produced to the shared group all arrive (kesm or kcat)" \
    cons_wait_cover 20 $T $NPART "$WORK/k1.out" "$WORK/c1.out"
# Offsets 50-69 were produced after the split: kesm must have read them only on its partitions.
K_AFTER=$(awk '$3 >= 50 && $3 < 70 {print $2}' "$WORK/k1.out" | sort -un | tr '\n' ' ')
tap_check "records produced after the split reach kesm only on its own partitions (${K_AFTER:-none} within $KP)" \
    bash -c "for p in $K_AFTER; do case ' $KP' in *\" \$p \"*) ;; *) exit 1;; esac; done"

# ---- 2. kcat leaves; kesm takes over -----------------------------------------------------------
kill -INT "$C1"
wait "$C1" 2>/dev/null
full_again() { [ "$(grep -c "^assigned $NPART " "$WORK/k1.err")" -ge 2 ]; }
if wait_until 20 full_again; then
    tap_ok "after kcat leaves, kesm is assigned all $NPART partitions again"
else
    tap_fail "after kcat leaves, kesm is assigned all $NPART partitions again" \
        "$(grep '^assigned' "$WORK/k1.err")"
fi
kmock_cmd produce $T 60 codec=gzip >/dev/null
tap_check "every record is delivered after the takeover" \
    cons_wait_cover 20 $T $NPART "$WORK/k1.out" "$WORK/c1.out"
tap_check "kesm never skips an offset and every value matches its offset" \
    cons_no_gaps "$WORK/k1.out" "$WORK/c1.out"
# kesm resumed kcat's partitions at kcat's commits: it never re-read offsets 50-69 there.
REREAD=$(awk -v parts=" $CP" '$3 >= 50 && $3 < 70 && index(parts, " " $2 " ")' "$WORK/k1.out" | wc -l)
tap_check "kesm resumes kcat's partitions from kcat's commits ($REREAD records kcat had read were re-read)" \
    test "$REREAD" = 0

# ---- 3. kesm closes: its commits are where kcat resumes ------------------------------------------
kill -TERM "$K1"
wait "$K1"
rc=$?
tap_check "kesm closes cleanly on SIGTERM (exit $rc)" grep -q '^closed' "$WORK/k1.err"
COMMITTED=$(kmock_cmd committed $G $T $NPART)
WANT="ok committed group=$G topic=$T"
for ((p = 0; p < NPART; p++)); do
    hw=$(kmock_cmd watermarks $T $p | sed -n 's/.* high=\([0-9]*\).*/\1/p')
    WANT="$WANT $p=$hw"
done
tap_check "kesm committed every partition's high watermark on close" \
    test "$COMMITTED" = "$WANT"
[ "$COMMITTED" = "$WANT" ] || printf '#   got  %s\n#   want %s\n' "$COMMITTED" "$WANT"
kmock_cmd produce $T 12 >/dev/null
timeout --kill-after=5 40 kcat -b "$BS" -G $G "${CONS_KCAT_GROUP[@]}" -e -u -f "$CONS_KCAT_FMT" $T \
    >"$WORK/c2.out" 2>"$WORK/c2.err"
tap_check "kcat in the same group reads exactly the 12 records produced after kesm's commits" \
    test "$(wc -l <"$WORK/c2.out")" = 12
tap_check "those are the newest records" cons_no_gaps "$WORK/c2.out"

# ---- 4. kcat's commits are where kesm resumes ------------------------------------------------------
# at_end GROUP: kmock holds GROUP's commits at every partition's high watermark.
at_end() {
    local want="ok committed group=$1 topic=$T" p hw
    for ((p = 0; p < NPART; p++)); do
        hw=$(kmock_cmd watermarks $T $p | sed -n 's/.* high=\([0-9]*\).*/\1/p')
        want="$want $p=$hw"
    done
    [ "$(kmock_cmd committed "$1" $T $NPART)" = "$want" ]
}
tap_check "kcat's commits reached the broker" wait_until 20 at_end $G
kmock_cmd produce $T 18 >/dev/null
timeout --kill-after=5 60 "$CONS_PROBE" "$BS" $G $T "${CONS_PROBE_GROUP[@]}" close-after=18 \
    lifetime=50 >"$WORK/k2.out" 2>"$WORK/k2.err"
tap_check "kesm reads exactly the 18 records produced after kcat's commits" \
    test "$(grep -c "^$T " "$WORK/k2.out")" = 18
OLD=$(awk -v T=$T '$1 == T && $3 < 82' "$WORK/k2.out" | wc -l)
tap_check "and nothing kcat had committed ($OLD lines below offset 82)" test "$OLD" = 0
# ---- 5. kcat leads, kesm follows ---------------------------------------------------------------
G2=cg-kcat-leads
timeout --kill-after=5 90 kcat -b "$BS" -G $G2 "${CONS_KCAT_GROUP[@]}" -u -f "$CONS_KCAT_FMT" $T \
    >"$WORK/c3.out" 2>"$WORK/c3.err" &
C3=$!
PIDS+=("$C3")
wait_until 20 grep -q 'assigned:' "$WORK/c3.err"
timeout --kill-after=5 90 "$CONS_PROBE" "$BS" $G2 $T "${CONS_PROBE_GROUP[@]}" lifetime=80 \
    >"$WORK/k3.out" 2>"$WORK/k3.err" &
K3=$!
PIDS+=("$K3")
if wait_until 30 grep -q '^assigned [1-5] ' "$WORK/k3.err" &&
    wait_until 10 bash -c "[ \$(grep -c 'assigned:' '$WORK/c3.err') -ge 2 ]"; then
    tap_ok "with kcat as leader, kesm joins as a follower and both are assigned"
else
    tap_fail "with kcat as leader, kesm joins as a follower and both are assigned" \
        "$(grep -E '^(assigned|error|state)' "$WORK/k3.err" | tail -4)" "$(tail -2 "$WORK/c3.err")"
fi
tap_check "kesm is not the leader of that generation" \
    bash -c "grep '^state STABLE' '$WORK/k3.err' | tail -1 | grep -q 'leader=0'"
KP=$(cons_assigned_parts "$WORK/k3.err")
CP=$(kcat_assigned_parts "$WORK/c3.err")
ALL=$(echo "$KP $CP" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
DUP=$(echo "$KP $CP" | tr ' ' '\n' | grep . | sort -n | uniq -d | tr '\n' ' ')
if [ "$ALL" = "0 1 2 3 4 5 " ] && [ -z "$DUP" ]; then
    tap_ok "kcat's assignment (decoded by kesm) is disjoint and complete (kesm: $KP; kcat: $CP)"
else
    tap_fail "kcat's assignment (decoded by kesm) is disjoint and complete" "kesm: $KP" "kcat: $CP"
fi
kmock_cmd produce $T 60 >/dev/null
tap_check "records produced to that group all arrive (kesm or kcat)" \
    cons_wait_cover 20 $T $NPART "$WORK/k3.out" "$WORK/c3.out"
tap_check "kesm delivers only its partitions, without gaps" cons_no_gaps "$WORK/k3.out"
kill -TERM "$K3"
wait "$K3"
kill -INT "$C3"
wait "$C3"

tap_check "no ASan/UBSan report from kesm" \
    bash -c "! grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' '$WORK/k1.err' '$WORK/k2.err' '$WORK/k3.err'"
kmock_stop
tap_done
