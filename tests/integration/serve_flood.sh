#!/usr/bin/env bash
# serve_flood.sh: a bounded connection flood against `kesm serve` (issue 14, finding 3) while a
# mapping keeps delivering. kesm runs with an open-file limit of 1024 and --max-connections 64;
# tests/tools/api_flood.py holds up to 2000 idle connections and 200 slowloris ones (one byte a
# second, never a whole head) for 8 seconds, reconnecting whatever is closed. Meanwhile kmock
# receives a record every 0.2 s and an exec handler (the operator's --route) logs each delivery.
# Checks: the mapping delivers throughout (worst gap under 5 s) and ends Enabled / OK; kesm holds
# at most its cap of API connections; a signed AWS CLI call during the flood is served (429s are
# retried by the CLI); kesm's CPU and log stay small. The measured figures are printed.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/lib/api.sh
# The release build, not the ASan one scripts/run-tests passes: this test measures kesm's CPU and
# delivery gaps under a flood, and ASan's instrumentation (two to three times the CPU, its own
# allocator) would measure the sanitizer instead. The API server's code runs under ASan in
# serve_attacks.sh and the unit tests. A static KESM_BIN (make test-static) is used as it is.
case $KESM in */asan/*) KESM=$ROOT/build/kesm ;; esac
T=$TEST_TMP
PID=
PROD=
FLOOD=
LEGIT_PID=
cleanup() {
    touch "$T/stop"
    for p in $PROD $FLOOD $LEGIT_PID $PID; do
        stop_pid "$p"
    done
    kmock_stop
}
at_exit cleanup
for need in "$KESM" /usr/bin/aws /usr/bin/jq /usr/bin/curl /usr/bin/ss; do
    [ -x "$need" ] || { echo "not ok - $need is missing"; exit 1; }
done
kmock_start -b 1 -t flood:1 || { echo "not ok - kmock did not start"; exit 1; }

export HOME=$T AWS_CONFIG_FILE=$T/aws-config AWS_SHARED_CREDENTIALS_FILE=$T/aws-credentials
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
export KESM_SESSION_TIMEOUT_MS=6000 KESM_HEARTBEAT_INTERVAL_MS=500 FLOOD_LOG=$T/delivered
printf '#!/bin/sh\ncat >/dev/null\ndate +%%s.%%N >>"$FLOOD_LOG"\n' >"$T/fn.sh"
chmod 755 "$T/fn.sh"

(
    ulimit -n 1024
    exec timeout --foreground --kill-after=10 "$LIFETIME" "$KESM" serve --listen 127.0.0.1:0 \
        --state-dir "$T/state" --drain-timeout 2000 --max-connections 64 \
        --api-header-timeout 2000 --api-idle-timeout 2000 --route "*=exec:$T/fn.sh"
) >"$T/serve.out" 2>"$T/serve.err" &
PID=$!
tap_check "kesm serve starts (open-file limit 1024)" wait_until 60 grep -q 'listening on' "$T/serve.out"
PORT=$(sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$T/serve.out")
API=http://127.0.0.1:$PORT
BS=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')
timeout 60 aws --endpoint-url "$API" lambda create-event-source-mapping --function-name flood-fn \
    --topics flood --starting-position TRIM_HORIZON --batch-size 1 \
    --maximum-batching-window-in-seconds 0 \
    --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}}" >"$T/create.json" 2>&1
U=$(jq -r .UUID "$T/create.json")
tap_check "the mapping is created" test -n "$U" -a "$U" != null

# One record every 0.2 s until $T/stop exists.
(
    while [ ! -e "$T/stop" ]; do
        kmock_cmd -t 10 produce flood 1 >/dev/null
        sleep 0.2
    done
) &
PROD=$!
deliveries() { if [ -f "$FLOOD_LOG" ]; then wc -l <"$FLOOD_LOG"; else echo 0; fi; }
at_least() { [ "$(deliveries)" -ge "$1" ]; }
tap_check "the mapping delivers before the flood" wait_until 40 at_least 3

KPID=$(pgrep -P "$PID" -x kesm || echo "$PID")
HZ=$(getconf CLK_TCK)
LOG0=$(stat -c %s "$T/serve.err")
CPU0=$(awk '{print $14 + $15}' "/proc/$KPID/stat")
FD0=$(ls "/proc/$KPID/fd" | wc -l)
T0=$(date +%s.%N)
(
    ulimit -n 8192
    exec timeout 60 python3 tests/tools/api_flood.py "$PORT" 2000 200 8 "$T/flood.json"
) &
FLOOD=$!
MAXCONN=0
MAXFD=0
LEGIT=1
# The legitimate call goes in once the flood is on (kesm holds half its cap or more).
flooding() { [ "$(ss -Htn state established "( sport = :$PORT )" 2>/dev/null | wc -l)" -ge 32 ]; }
wait_until 10 flooding
# A client that expects throttling retries it: standard retry mode with 8 attempts (the CLI's
# default of 3 to 5 can all meet a 429 while 2,000 connections compete for 64 slots on a loaded
# machine: once in a clean run).
AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=8 timeout 55 aws --endpoint-url "$API" \
    lambda get-event-source-mapping --uuid "$U" >"$T/legit.json" 2>"$T/legit.err" &
LEGIT_PID=$!
while kill -0 "$FLOOD" 2>/dev/null; do
    n=$(ss -Htnp state established "( sport = :$PORT )" 2>/dev/null | grep -c "pid=$KPID,")
    f=$(ls "/proc/$KPID/fd" 2>/dev/null | wc -l)
    [ "$n" -gt "$MAXCONN" ] && MAXCONN=$n
    [ "$f" -gt "$MAXFD" ] && MAXFD=$f
    sleep 0.5
done
wait "$FLOOD"
FLOOD=
T1=$(date +%s.%N)
CPU1=$(awk '{print $14 + $15}' "/proc/$KPID/stat")
LOG1=$(stat -c %s "$T/serve.err")
wait "$LEGIT_PID"
LEGIT=$?
LEGIT_PID=
# Deliveries for 2 s after the flood, so the gap check sees the recovery.
after_flood() { awk -v t="$T1" '$1 > t + 2 { found = 1 } END { exit !found }' "$FLOOD_LOG"; }
wait_until 20 after_flood
touch "$T/stop"
wait "$PROD"
PROD=

GAP=$(python3 - "$FLOOD_LOG" "$T0" "$T1" <<'PY'
import sys
t = sorted(float(l) for l in open(sys.argv[1]) if l.strip())
lo, hi = float(sys.argv[2]) - 1, float(sys.argv[3]) + 2
w = [x for x in t if lo <= x <= hi]
gaps = [b - a for a, b in zip([lo] + w, w + [hi])]
print("%.2f" % max(gaps))
PY
)
CPUPCT=$(awk -v a="$CPU0" -v b="$CPU1" -v hz="$HZ" -v t0="$T0" -v t1="$T1" 'BEGIN { printf "%.0f", 100 * (b - a) / hz / (t1 - t0) }')
LOGKB=$(( (LOG1 - LOG0) / 1024 ))
echo "# measured: flood $(jq -c . "$T/flood.json")"
echo "# measured: kesm held at most $MAXCONN API connections (cap 64); its descriptors peaked at $MAXFD of 1024 ($FD0 before the flood)"
echo "# measured: worst delivery gap ${GAP} s, kesm CPU ${CPUPCT}% of one core over the flood, log +${LOGKB} KiB"
tap_check "the flood applied pressure (over 1000 connections held by the driver)" \
    test "$(jq .max_open "$T/flood.json")" -gt 1000
tap_check "kesm held at most its cap of API connections" test "$MAXCONN" -le 64
tap_check "kesm's descriptors stayed far below its limit" test "$MAXFD" -le $((FD0 + 64 + 32))
tap_check "the mapping kept delivering: no gap over 5 s" awk -v g="$GAP" 'BEGIN { exit !(g < 5) }'
tap_check "a signed AWS CLI call during the flood was served" \
    sh -c "test '$LEGIT' = 0 && test \"\$(jq -r .UUID '$T/legit.json')\" = '$U'"
if [ "$LEGIT" != 0 ]; then
    echo "# the AWS CLI call exited $LEGIT; its stderr:"
    tail -c 1500 "$T/legit.err" | sed 's/^/#   /'
fi
tap_check "kesm's CPU stayed below one core (${CPUPCT}%)" test "$CPUPCT" -lt 90
tap_check "kesm's log grew by less than 256 KiB (rate-limited)" test "$LOGKB" -lt 256
state() { api_curl -sS "$API/2015-03-31/event-source-mappings/$U" | jq -r '.State + " " + .LastProcessingResult'; }
tap_check "the mapping is Enabled with LastProcessingResult OK" test "$(state)" = "Enabled OK"
kill -TERM "$PID"
wait "$PID"
RC=$?
PID=
tap_check "kesm serve exits 0 on SIGTERM" test "$RC" = 0
tap_done
