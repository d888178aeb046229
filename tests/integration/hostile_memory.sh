#!/usr/bin/env bash
# hostile_memory.sh: many hostile brokers cannot exhaust kesm's memory (issue 14, finding 7).
# tests/tools/hostile_peer.py answers every connection's first request with a whole 40 MiB
# frame. kesm serve (KESM_BROKER_MEMORY_MB=64) runs 10 mappings whose bootstrap server is that
# peer, so 10 connections receive 40 MiB frames at once, again after every reconnect. The budget
# lets one frame in at a time and holds the others back (their reads pause): kesm's peak RSS
# (VmHWM) stays within its idle size plus the budget, and the API still answers meanwhile.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/api.sh
T=$TEST_TMP
PID=
PEER=
cleanup() {
    for p in $PID $PEER; do
        stop_pid "$p"
    done
}
at_exit cleanup
for need in "$KESM" /usr/bin/jq /usr/bin/curl; do
    [ -x "$need" ] || { echo "not ok - $need is missing"; exit 1; }
done
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE

HOSTILE_FRAME_MB=40 timeout "$LIFETIME" python3 tests/tools/hostile_peer.py bigframe "$T/port" "$LIFETIME" \
    >"$T/peer.out" 2>&1 &
PEER=$!
tap_check "the hostile peer starts" wait_until 60 test -s "$T/port"
HP=127.0.0.1:$(cat "$T/port")
# Under ASan (scripts/run-tests runs build/asan/kesm) freed frames would wait in its 256 MiB
# quarantine of freed memory and count in the peak: a 16 MiB quarantine keeps use-after-free
# checks for everything smaller than a frame, and a freed frame is unmapped at once as without ASan.
export ASAN_OPTIONS=$ASAN_OPTIONS:quarantine_size_mb=16
KESM_BROKER_MEMORY_MB=64 timeout --foreground --kill-after=10 "$LIFETIME" "$KESM" serve --listen 127.0.0.1:0 \
    --state-dir "$T/state" --drain-timeout 1000 --route '*=stdout' \
    >"$T/serve.out" 2>"$T/serve.err" &
PID=$!
tap_check "kesm serve starts" wait_until 60 grep -q 'listening on' "$T/serve.out"
PORT=$(sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$T/serve.out")
API=http://127.0.0.1:$PORT/2015-03-31/event-source-mappings
KPID=$(pgrep -P "$PID" -x kesm || echo "$PID")
hwm() { awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$KPID/status"; }
BASE=$(hwm)
for i in $(seq 10); do
    api_curl -sS -o /dev/null -X POST "$API" -d "{\"FunctionName\":\"f$i\",\"Topics\":[\"t\"],
      \"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$HP\"]}}}"
done
count() { [ "$(api_curl -sS "$API" | jq '.EventSourceMappings|length')" = 10 ]; }
tap_check "10 mappings point at the hostile broker" count
conns() { [ "$(grep -c '^conn ' "$T/peer.out")" -ge 15 ]; }
tap_check "the peer served at least 15 connections (600 MiB of frames offered)" wait_until 40 conns
tap_check "the API answers meanwhile (/health)" \
    test "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health")" = 200
PEAK=$(hwm)
echo "# measured: kesm peak RSS ${PEAK} MiB (idle ${BASE} MiB, budget 64 MiB, frames of 40 MiB to 10 connections)"
# Slack: one frame being read; under ASan also its shadow memory, an eighth of what is allocated.
SLACK=40
ldd "$KESM" 2>/dev/null | grep -q libasan && SLACK=$((40 + (64 + 40) / 8))
tap_check "peak RSS stays within idle + budget + $SLACK MiB slack (${PEAK} MiB)" test "$PEAK" -le $((BASE + 64 + SLACK))
kill -TERM "$PID"
wait "$PID"
RC=$?
PID=
tap_check "kesm serve exits 0 on SIGTERM" test "$RC" = 0
tap_done
