# shellcheck shell=bash
# consumer_lib.bash: helpers shared by tests/integration/consumer_*.sh (sourced after
# tests/lib/kmock.sh). Not a test itself (scripts/run-tests runs *.sh only).
#
# Record lines come from build/tools/cons_probe and from kcat with CONS_KCAT_FMT; both print
#   TOPIC PARTITION OFFSET KEY VALUE
# and kmock's generated values are "seq=<n> part=<p>", with seq == offset while every record of
# a partition came from kmock.

# The probe comes from $KESM_ASAN_TREE/tools (default build/asan; `make test-static` and
# `make valgrind` point it at their own trees), else build/tools.
case ${KESM_ASAN_TREE:-build/asan} in
/*) CONS_PROBE=${CONS_PROBE:-$KESM_ASAN_TREE/tools/cons_probe} ;;
*) CONS_PROBE=${CONS_PROBE:-$KMOCK_ROOT/${KESM_ASAN_TREE:-build/asan}/tools/cons_probe} ;;
esac
[ -x "$CONS_PROBE" ] || CONS_PROBE=$KMOCK_ROOT/build/tools/cons_probe
# shellcheck disable=SC2034 # the three settings below are used by the sourcing tests
CONS_KCAT_FMT='%t %p %o %k %s\n'
# kcat as a group member with the mock-friendly timeouts (first assignor range, as ours).
# shellcheck disable=SC2034
CONS_KCAT_GROUP=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500
    -X auto.offset.reset=earliest -X topic.metadata.refresh.interval.ms=1000
    -X auto.commit.interval.ms=500)
# cons_probe options with the same timeouts.
# shellcheck disable=SC2034
CONS_PROBE_GROUP=(session=6000 heartbeat=500 commit=500)

# cons_no_gaps FILE...: per file and partition, each offset is at most one past the previous
# one (a step back is a redelivery, allowed; a step forward of more than one is a lost record)
# and every value's seq equals its offset. A "# assigned" line (a new assignment: partitions
# may resume where another member stopped) starts over.
cons_no_gaps() {
    local f
    for f in "$@"; do
        awk -v F="$f" '
            $1 == "#" { delete last; next }
            NF < 5 { next }
            { p = $2; o = $3
              if ((p in last) && o > last[p] + 1) { print F ": partition " p ": offset " o " after " last[p]; bad = 1 }
              if ($5 != "seq=" o) { print F ": partition " p " offset " o ": value " $5 " " $6; bad = 1 }
              last[p] = o }
            END { exit bad }' "$f" || return 1
    done
}

# cons_covers TOPIC NPART FILE...: every offset below each partition's high watermark (asked
# from kmock) appears in the union of the files.
cons_covers() {
    local topic=$1 npart=$2 p hw missing=0
    shift 2
    for ((p = 0; p < npart; p++)); do
        hw=$(kmock_cmd watermarks "$topic" "$p" | sed -n 's/.* high=\([0-9]*\).*/\1/p')
        [ -n "$hw" ] || { echo "no watermark for partition $p"; return 1; }
        local got
        got=$(cat "$@" | awk -v T="$topic" -v P="$p" -v H="$hw" '$1 == T && $2 == P && $3 < H { s[$3] = 1 } END { n = 0; for (k in s) n++; print n }')
        if [ "$got" != "$hw" ]; then
            echo "partition $p: $got of $hw offsets delivered"
            missing=1
        fi
    done
    return $missing
}

# cons_covers_upto TOPIC NPART HW FILE...: like cons_covers with a known high watermark HW for
# every partition (no kmock query: kmock's own client may be slow to reconnect after a fault).
cons_covers_upto() {
    local topic=$1 npart=$2 hw=$3 p missing=0 got
    shift 3
    for ((p = 0; p < npart; p++)); do
        got=$(cat "$@" | awk -v T="$topic" -v P="$p" -v H="$hw" '$1 == T && $2 == P && $3 < H { s[$3] = 1 } END { n = 0; for (k in s) n++; print n }')
        if [ "$got" != "$hw" ]; then
            echo "partition $p: $got of $hw offsets delivered"
            missing=1
        fi
    done
    return $missing
}

# cons_total TOPIC NPART: the sum of the partitions' high watermarks.
cons_total() {
    local p sum=0 hw
    for ((p = 0; p < $2; p++)); do
        hw=$(kmock_cmd watermarks "$1" "$p" | sed -n 's/.* high=\([0-9]*\).*/\1/p')
        sum=$((sum + ${hw:-0}))
    done
    echo "$sum"
}

# cons_wait_cover SECS TOPIC NPART FILE...: wait until cons_covers holds.
cons_wait_cover() {
    local secs=$1
    shift
    wait_until "$secs" cons_covers "$@"
}

# cons_assigned_parts FILE: the partitions of the last "assigned" line of a cons_probe stderr.
cons_assigned_parts() {
    grep '^assigned ' "$1" | tail -1 | tr ' ' '\n' | sed -n 's/.*\[\([0-9]*\)\]$/\1/p' | sort -n | tr '\n' ' '
}

# kcat_assigned_parts FILE: the partitions of kcat's last "rebalanced ... assigned:" line.
kcat_assigned_parts() {
    grep 'assigned:' "$1" | tail -1 | sed 's/.*assigned://' | tr ',' '\n' | sed -n 's/.*\[\([0-9]*\)\].*/\1/p' | sort -n | tr '\n' ' '
}

# stop_pid PID: tests/lib/prelude.sh's (SIGTERM, up to 20 s, then SIGKILL).
