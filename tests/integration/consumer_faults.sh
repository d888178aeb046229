#!/usr/bin/env bash
# consumer_faults.sh: faults injected through kmock while kesm's consumer (cons_probe) reads a
# 4-partition topic. After each fault 40 more records are produced, and then every record
# produced so far must have been delivered at least once, in order within its partition, with
# none missing (kmock's values carry seq == offset):
#   a broker down and up; a partition leader move; a group coordinator move; Heartbeat errors
#   NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID,
#   ILLEGAL_GENERATION; OffsetCommit REBALANCE_IN_PROGRESS; Fetch NOT_LEADER_OR_FOLLOWER (three
#   in a row) and OFFSET_OUT_OF_RANGE; a dropped Fetch connection.
# At the end kesm closes and its committed offsets must be the high watermarks.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/integration/consumer_lib.bash

WORK=$TEST_TMP
KMOCK_DIR=$WORK/kmock
PID=
cleanup() {
    stop_pid "$PID"
    kmock_stop
}
at_exit cleanup

T=flt
G=g-faults
NPART=4
if ! kmock_start -b 3 -t $T:$NPART -l "$LIFETIME"; then
    tap_fail "kmock starts"
    tap_done
fi
BS=$KMOCK_BOOTSTRAP
# Deterministic leaders and coordinator.
kmock_cmd leader $T 0 1 >/dev/null
kmock_cmd leader $T 1 2 >/dev/null
kmock_cmd leader $T 2 3 >/dev/null
kmock_cmd leader $T 3 1 >/dev/null
kmock_cmd coord group $G 1 >/dev/null
kmock_cmd produce $T 40 >/dev/null
PER=10 # records per partition so far (kmock spreads a produce round-robin)

timeout --kill-after=5 "$LIFETIME" "$CONS_PROBE" "$BS" $G $T "${CONS_PROBE_GROUP[@]}" lifetime="$LIFETIME" \
    >"$WORK/k.out" 2>"$WORK/k.err" &
PID=$!
if wait_until 20 cons_covers_upto $T $NPART $PER "$WORK/k.out"; then
    tap_ok "kesm joins and reads the first 40 records"
else
    tap_fail "kesm joins and reads the first 40 records" "$(grep -E '^(error|assigned)' "$WORK/k.err")"
fi

# after FAULT: produce 40 records, then check that all arrived, in order, none missing.
after() {
    local what=$1 codec=${2:-none} ans
    ans=$(kmock_cmd -t 40 produce $T 40 codec="$codec")
    case $ans in
    *" delivered=40 failed=0"*) PER=$((PER + 10)) ;;
    *)
        tap_fail "$what: kmock produced 40 records" "$ans"
        return
        ;;
    esac
    local why
    if wait_until 30 cons_covers_upto $T $NPART $PER "$WORK/k.out"; then
        if why=$(cons_no_gaps "$WORK/k.out"); then
            tap_ok "$what: every record delivered, in order, none missing ($((PER * NPART)) records)"
            return
        fi
    else
        why=$(cons_covers_upto $T $NPART $PER "$WORK/k.out")
    fi
    tap_fail "$what: every record delivered, in order, none missing" "$why" \
        "$(grep -E 'WARN|ERROR|^error' "$WORK/k.err" | tail -4)"
}

# stable: the group is STABLE again (after a rebalance the fault caused).
stable() {
    [ "$(grep -E '^state ' "$WORK/k.err" | tail -1 | cut -d' ' -f2)" = STABLE ]
}

# count PATTERN: how many lines of kesm's log match.
count() { grep -cE "$1" "$WORK/k.err"; }
# grew PATTERN BEFORE: the count went up (the fault really reached kesm).
grew() { [ "$(count "$1")" -gt "$2" ]; }

kmock_cmd down 2 >/dev/null
tap_check "the lost connection is reported to the upper layer as transient, naming the broker" \
    wait_until 20 grep -qE '^error transient broker 127\.0\.0\.1:[0-9]+: ' "$WORK/k.err"
kmock_cmd up 2 >/dev/null
after "broker 2 down until the loss was reported, then up again" lz4

kmock_cmd leader $T 1 3 >/dev/null
after "leader of partition 1 moved from broker 2 to broker 3" snappy

kmock_cmd coord group $G 2 >/dev/null
after "group coordinator moved from broker 1 to broker 2" gzip
tap_check "kesm found the new coordinator" \
    wait_until 10 grep -q 'coordinator is broker 2' "$WORK/k.err"

for err in NOT_COORDINATOR COORDINATOR_NOT_AVAILABLE REBALANCE_IN_PROGRESS UNKNOWN_MEMBER_ID \
    ILLEGAL_GENERATION; do
    case $err in
    *COORDINATOR*) sign='coordinator is broker' ;;
    *) sign=': REVOKING' ;;
    esac
    n=$(count "$sign")
    kmock_cmd reqerr Heartbeat "$err" >/dev/null
    tap_check "Heartbeat $err reaches kesm (log: \"$sign\")" wait_until 10 grew "$sign" "$n"
    wait_until 20 stable
    after "Heartbeat answered $err"
done
tap_check "UNKNOWN_MEMBER_ID made kesm rejoin with a new member id" \
    test "$(grep -oE 'member 0x[0-9a-f]+' "$WORK/k.err" | sort -u | wc -l)" -ge 2

n=$(count ': REVOKING')
kmock_cmd reqerr OffsetCommit REBALANCE_IN_PROGRESS >/dev/null
# The error answers the next OffsetCommit: the records after() delivers make one due.
after "OffsetCommit answered REBALANCE_IN_PROGRESS" zstd
tap_check "OffsetCommit REBALANCE_IN_PROGRESS makes kesm rejoin" wait_until 30 grew ': REVOKING' "$n"
wait_until 20 stable

kmock_cmd reqerr Fetch NOT_LEADER_OR_FOLLOWER NOT_LEADER_OR_FOLLOWER NOT_LEADER_OR_FOLLOWER >/dev/null
tap_check "NOT_LEADER_OR_FOLLOWER reaches kesm, which refreshes metadata" \
    wait_until 10 grep -q 'NOT_LEADER_OR_FOLLOWER; refreshing metadata' "$WORK/k.err"
after "Fetch answered NOT_LEADER_OR_FOLLOWER three times"

kmock_cmd reqerr Fetch OFFSET_OUT_OF_RANGE >/dev/null
tap_check "OFFSET_OUT_OF_RANGE reaches kesm, which resets the position" \
    wait_until 10 grep -q 'OFFSET_OUT_OF_RANGE; resetting by the starting position' "$WORK/k.err"
after "Fetch answered OFFSET_OUT_OF_RANGE (reset to the start: redelivery, nothing lost)"

n=$(count 'Fetch from broker 3: disconnected')
kmock_cmd brokerr 3 Fetch _TRANSPORT 0 >/dev/null
tap_check "broker 3 drops kesm's Fetch connection" \
    wait_until 10 grew 'Fetch from broker 3: disconnected' "$n"
after "broker 3 dropped the connection instead of answering a Fetch"

tap_check "the log names errors, not numbers" \
    bash -c "! grep -E 'WARN consumer .*(error|code)[ =]-?[0-9]+' '$WORK/k.err'"
kill -TERM "$PID"
wait "$PID"
PID=
COMMITTED=$(kmock_cmd committed $G $T $NPART)
WANT="ok committed group=$G topic=$T"
for ((p = 0; p < NPART; p++)); do
    WANT="$WANT $p=$PER"
done
tap_check "after all faults kesm closes and commits the high watermarks" test "$COMMITTED" = "$WANT"
[ "$COMMITTED" = "$WANT" ] || printf '#   got  %s\n#   want %s\n' "$COMMITTED" "$WANT"
tap_check "no ASan/UBSan report from kesm" \
    bash -c "! grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' '$WORK/k.err'"
kmock_stop
tap_done
