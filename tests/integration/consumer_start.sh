#!/usr/bin/env bash
# consumer_start.sh: kesm's starting positions against kmock (one group per case):
#   TRIM_HORIZON  reads every record from the start of each partition;
#   LATEST        reads only what is produced after it joined;
#   AT_TIMESTAMP  asks ListOffsets for the timestamp. The librdkafka 2.0.2 mock answers every
#                 timestamp lookup with offset -1 (no record), even for records produced with
#                 explicit earlier timestamps, so kesm must start at the end, as Lambda does when
#                 no record is at or after the timestamp, and say so in its log;
#   a committed offset wins over the starting position; and OFFSET_OUT_OF_RANGE on a fetch
#   resets by the starting position (a warning naming the error, not a number).
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

T=stt
NPART=2
if ! kmock_start -b 2 -t $T:$NPART -l "$LIFETIME"; then
    tap_fail "kmock starts"
    tap_done
fi
BS=$KMOCK_BOOTSTRAP
# 20 records with CreateTime 1000000, 1001000, ... (10 per partition).
kmock_cmd produce $T 20 ts=1000000 tsstep=1000 >/dev/null

records() { grep -c "^$T " "$1"; }

# start_probe NAME GROUP ARGS...: run cons_probe in the background, output in $WORK/NAME.*
start_probe() {
    local name=$1 group=$2
    shift 2
    timeout --kill-after=5 60 "$CONS_PROBE" "$BS" "$group" $T "${CONS_PROBE_GROUP[@]}" \
        lifetime=55 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    PIDS+=("$!")
    LAST_PID=$!
}

# positioned NAME: the probe has an assignment and a position for every partition (its
# fetches are under way): cons_probe's "positioned N" line.
positioned() {
    grep -q "^positioned $NPART\$" "$WORK/$1.err"
}

# ---- TRIM_HORIZON -----------------------------------------------------------------------------
start_probe earliest g-earliest start=earliest close-after=20 ts
wait "$LAST_PID"
tap_check "TRIM_HORIZON: all 20 records from the start" test "$(records "$WORK/earliest.out")" = 20
tap_check "TRIM_HORIZON: offsets 0-9 of both partitions, in order" cons_no_gaps "$WORK/earliest.out"
tap_check "TRIM_HORIZON: record timestamps are the producer's (1000000 + 1000 per record)" \
    grep -q '^stt 0 0 k0-0 seq=0 part=0 ts=1000000$' "$WORK/earliest.out"

# ---- LATEST -----------------------------------------------------------------------------------
start_probe latest g-latest start=latest close-after=6
wait_until 20 positioned latest
kmock_cmd produce $T 6 >/dev/null
wait "$LAST_PID"
tap_check "LATEST: exactly the 6 records produced after joining" \
    test "$(records "$WORK/latest.out")" = 6
OLD=$(awk -v T=$T '$1 == T && $3 < 10' "$WORK/latest.out" | wc -l)
tap_check "LATEST: none of the 20 older records ($OLD)" test "$OLD" = 0

# ---- AT_TIMESTAMP -----------------------------------------------------------------------------
start_probe ts g-ts start=ts:1004000 close-after=4
wait_until 20 positioned ts
kmock_cmd produce $T 4 >/dev/null
wait "$LAST_PID"
tap_check "AT_TIMESTAMP: the mock finds no offset for the timestamp, so kesm starts at the end (4 new records)" \
    test "$(records "$WORK/ts.out")" = 4
tap_check "AT_TIMESTAMP: the log says why it started at the end" \
    grep -q 'no record at or after the starting timestamp; starting at the end' "$WORK/ts.err"

# ---- a commit wins over the starting position ---------------------------------------------------
kmock_cmd produce $T 2 >/dev/null
start_probe again g-earliest start=latest close-after=12
wait "$LAST_PID"
tap_check "a committed offset wins over LATEST: the group resumes at its commits (12 records)" \
    test "$(records "$WORK/again.out")" = 12
tap_check "and those are offsets 10-15 of each partition" \
    test "$(awk -v T=$T '$1 == T && ($3 < 10 || $3 > 15)' "$WORK/again.out" | wc -l)" = 0

# ---- OFFSET_OUT_OF_RANGE resets by the starting position -----------------------------------------
start_probe oor g-oor start=earliest
wait_until 20 cons_covers $T $NPART "$WORK/oor.out"
kmock_cmd reqerr Fetch OFFSET_OUT_OF_RANGE >/dev/null
kmock_cmd produce $T 4 >/dev/null
if wait_until 20 grep -q 'OFFSET_OUT_OF_RANGE; resetting by the starting position' "$WORK/oor.err"; then
    tap_ok "OFFSET_OUT_OF_RANGE: a warning names the error and the reset"
else
    tap_fail "OFFSET_OUT_OF_RANGE: a warning names the error and the reset" \
        "$(grep -E 'WARN' "$WORK/oor.err" | tail -3)"
fi
tap_check "OFFSET_OUT_OF_RANGE: reset to the start (TRIM_HORIZON), every record delivered again, none missing" \
    wait_until 20 bash -c "[ \$(awk -v T=$T '\$1 == T && \$3 == 0' '$WORK/oor.out' | wc -l) -ge 3 ]"
tap_check "OFFSET_OUT_OF_RANGE: all records, in order within each partition" \
    cons_wait_cover 20 $T $NPART "$WORK/oor.out"
tap_check "OFFSET_OUT_OF_RANGE: no gaps" cons_no_gaps "$WORK/oor.out"
kill -TERM "$LAST_PID"
wait "$LAST_PID"
tap_check "no ASan/UBSan report from kesm" \
    bash -c "! grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' $WORK/*.err"
kmock_stop
tap_done
