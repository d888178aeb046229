#!/usr/bin/env bash
# group_codecs: kesm's group, offset and fetch codecs against a real peer. tests/tools/group_probe
# (ASan build) joins a group on kmock (the librdkafka 2.0.2 mock cluster), syncs, fetches every
# record kmock produced (lz4-compressed and plain batches), commits and reads its offsets back,
# heartbeats and leaves, once per version profile, so every JoinGroup/SyncGroup/Heartbeat/
# LeaveGroup/OffsetFetch/OffsetCommit/Fetch version the mock serves inside kesm's ranges, and
# consumer-protocol blobs v0-3, go over the wire. kmock's own `committed` command (librdkafka's
# OffsetFetch) independently confirms each profile's commits.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/kmock.sh

PROBE=${KESM_ASAN_TREE:-build/asan}/tools/group_probe
T=$(mktemp -d "${TMPDIR:-/tmp}/group_codecs.XXXXXX")
KMOCK_DIR=$T/kmock
cleanup() {
    kmock_stop >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=66

TOPIC=gc
NPART=3
PER_PART=40 # 20 plain + 20 lz4 per partition

if [ ! -x "$PROBE" ]; then
    tap_fail "group_probe is built" "$PROBE missing (make BUILD=build/asan SAN=1 unit-bins)"
    tap_done
fi
if ! kmock_start -b 1 -t "$TOPIC:$NPART" -l 300; then
    tap_fail "kmock starts" "make build/kmock"
    tap_done
fi
BS=$(echo "$KMOCK_BOOTSTRAP" | cut -d, -f1)
tap_check "kmock produces plain records" kmock_cmd produce "$TOPIC" $((NPART * PER_PART / 2))
tap_check "kmock produces lz4 records" kmock_cmd produce "$TOPIC" $((NPART * PER_PART / 2)) codec=lz4

for prof in 0 1 2 3 4 5 6 7; do
    out=$T/probe$prof.out
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
    want=$(grep '^committed' "$out" | sed 's/^committed //')
    got=$(kmock_cmd committed "gc-group-$prof" "$TOPIC" "$NPART" | sed 's/^ok committed group=[^ ]* topic=[^ ]* //')
    if [ -n "$want" ] && [ "$want" = "$got" ]; then
        tap_ok "profile $prof: librdkafka reads back our commits ($got)"
    else
        tap_fail "profile $prof: librdkafka reads back our commits" "probe: $want" "kmock: $got"
    fi
done
kmock_stop >/dev/null 2>&1
tap_done
