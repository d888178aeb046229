#!/usr/bin/env bash
# group_codecs: kesm's group, offset and fetch codecs against a real peer. tests/tools/group_probe
# (ASan build) joins a group on kmock (the librdkafka 2.0.2 mock cluster), syncs, fetches every
# record kmock produced (lz4-compressed and plain batches), commits and reads its offsets back,
# heartbeats and leaves, once per version profile, so every JoinGroup/SyncGroup/Heartbeat/
# LeaveGroup/OffsetFetch/OffsetCommit/Fetch version the mock serves inside kesm's ranges, and
# consumer-protocol blobs v0-3, go over the wire. kmock's own `committed` command (librdkafka's
# OffsetFetch) independently confirms each profile's commits. Then two probes share one group
# (at the lowest and the highest profile): the leader sees both subscriptions and hands out
# the partitions, the follower takes its share, and together they commit every partition.
# (The mock completes a sync as soon as the leader's assignments arrive and then answers
# INVALID_REQUEST with a null assignment, so group_probe makes followers sync first.)
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh

PROBE=${KESM_ASAN_TREE:-build/asan}/tools/group_probe
T=$TEST_TMP
KMOCK_DIR=$T/kmock
cleanup() {
    kmock_stop >/dev/null 2>&1
}
at_exit cleanup

TOPIC=gc
NPART=3
PER_PART=40 # 20 plain + 20 lz4 per partition

if [ ! -x "$PROBE" ]; then
    tap_fail "group_probe is built" "$PROBE missing (make BUILD=build/asan SAN=1 unit-bins)"
    tap_done
fi
if ! kmock_start -b 1 -t "$TOPIC:$NPART" -l "$LIFETIME"; then
    tap_fail "kmock starts" "make build/kmock"
    tap_done
fi
BS=$(echo "$KMOCK_BOOTSTRAP" | cut -d, -f1)
tap_check "kmock produces plain records" kmock_cmd produce "$TOPIC" $((NPART * PER_PART / 2))
tap_check "kmock produces lz4 records" kmock_cmd produce "$TOPIC" $((NPART * PER_PART / 2)) codec=lz4

for prof in 0 1 2 3 4 5 6 7; do
    out=$T/probe$prof.out
    # Profile 7's first JoinGroup gets an injected error: the mock's error answer (null strings
    # in non-nullable fields) must still parse and show the code.
    [ "$prof" = 7 ] && kmock_cmd reqerr JoinGroup COORDINATOR_NOT_AVAILABLE >/dev/null
    timeout --kill-after=5 60 "$PROBE" "$BS" "gc-group-$prof" "$TOPIC" "$NPART" "$PER_PART" \
        "$prof" >"$out" 2>"$T/probe$prof.err"
    rc=$?
    grep -E '^(ok|not ok) - ' "$out" | sed "s/ - / - profile $prof: /"
    TAP_OK=$((TAP_OK + $(grep -cE '^ok - ' "$out")))
    TAP_FAIL=$((TAP_FAIL + $(grep -cE '^not ok - ' "$out")))
    if [ "$rc" = 0 ]; then
        tap_ok "profile $prof: group_probe exits 0"
    else
        tap_fail "profile $prof: group_probe exits 0" "exit $rc" "$(tail -5 "$T/probe$prof.err")"
    fi
    if [ "$prof" = 7 ]; then
        if grep -q 'JoinGroup v5 answered error 15 (parsed)' "$out"; then
            tap_ok "profile 7: the mock's JoinGroup error answer parses (error 15)"
        else
            tap_fail "profile 7: the mock's JoinGroup error answer parses (error 15)"
        fi
    fi
    want=$(grep '^committed' "$out" | sed 's/^committed //')
    got=$(kmock_cmd committed "gc-group-$prof" "$TOPIC" "$NPART" | sed 's/^ok committed group=[^ ]* topic=[^ ]* //')
    if [ -n "$want" ] && [ "$want" = "$got" ]; then
        tap_ok "profile $prof: librdkafka reads back our commits ($got)"
    else
        tap_fail "profile $prof: librdkafka reads back our commits" "probe: $want" "kmock: $got"
    fi
done
# two_members PROF: two probes in group gc-pair-PROF; each reads and commits its share.
two_members() {
    local prof=$1 bar=$T/barrier$1 a b rca rcb
    mkdir -p "$bar"
    timeout --kill-after=5 60 "$PROBE" "$BS" "gc-pair-$prof" "$TOPIC" "$NPART" "$PER_PART" \
        "$prof" 2 "$bar" >"$T/pa$prof.out" 2>"$T/pa$prof.err" &
    a=$!
    timeout --kill-after=5 60 "$PROBE" "$BS" "gc-pair-$prof" "$TOPIC" "$NPART" "$PER_PART" \
        "$prof" 2 "$bar" >"$T/pb$prof.out" 2>"$T/pb$prof.err" &
    b=$!
    wait "$a"
    rca=$?
    wait "$b"
    rcb=$?
    for f in "$T/pa$prof.out" "$T/pb$prof.out"; do
        grep -E '^(ok|not ok) - ' "$f" | sed "s/ - / - pair $prof: /"
        TAP_OK=$((TAP_OK + $(grep -cE '^ok - ' "$f")))
        TAP_FAIL=$((TAP_FAIL + $(grep -cE '^not ok - ' "$f")))
    done
    if [ "$rca" = 0 ] && [ "$rcb" = 0 ]; then
        tap_ok "pair $prof: both probes exit 0"
    else
        tap_fail "pair $prof: both probes exit 0" "exits $rca $rcb" \
            "$(tail -3 "$T/pa$prof.err" "$T/pb$prof.err")"
    fi
    local leaders
    leaders=$(cat "$T/pa$prof.out" "$T/pb$prof.out" | grep -c 'we are the leader')
    if [ "$leaders" = 1 ]; then
        tap_ok "pair $prof: exactly one leader"
    else
        tap_fail "pair $prof: exactly one leader" "leaders: $leaders"
    fi
    local union want got
    union=$(cat "$T/pa$prof.out" "$T/pb$prof.out" | grep '^committed' | sed 's/^committed//' |
        tr ' ' '\n' | grep . | sort -n | tr '\n' ' ' | sed 's/ $//')
    want=$(for ((p = 0; p < NPART; p++)); do printf '%s=%s ' "$p" "$PER_PART"; done | sed 's/ $//')
    got=$(kmock_cmd committed "gc-pair-$prof" "$TOPIC" "$NPART" | sed 's/^ok committed group=[^ ]* topic=[^ ]* //')
    if [ "$union" = "$want" ] && [ "$got" = "$want" ]; then
        tap_ok "pair $prof: the two shares cover every partition once; librdkafka agrees ($got)"
    else
        tap_fail "pair $prof: the two shares cover every partition once" "probes: $union" \
            "kmock: $got" "want: $want"
    fi
}
two_members 0
two_members 7

kmock_stop >/dev/null 2>&1
tap_done
