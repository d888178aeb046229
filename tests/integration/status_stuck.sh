#!/usr/bin/env bash
# status_stuck.sh: stuck detection in kesm serve (--stuck-after 3) against kmock, in two acts,
# each watched through GET /status.json, GET /metrics (kesm_partition_stuck), the API as the
# AWS CLI reads it (LastProcessingResult) and `kesm status` (its exit status):
#   1. a function that starts failing: mapping A (topic fa, exec handler that fails while
#      $T/fail exists) consumes fine, then the file appears and records arrive: partition fa-0
#      turns stuck with the cause "function failing" within the stuck time (plus the 1-second
#      tick), and once the file is gone the retried batch succeeds and everything is OK again;
#   2. a broker that goes away: mapping B (topic fb, whose only partition's leader is broker 2
#      while the group coordinator is broker 1) reads 300 KB records one per batch with a slow
#      handler, so most records are still on the broker when broker 2 goes down: fb-0 turns stuck
#      with the cause "broker unreachable", and after `up 2` it moves again and is OK.
# The time each flip took is printed (TAP comments).
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
T=$TEST_TMP
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    kmock_stop
}
at_exit cleanup

for need in "$KESM" /usr/bin/jq /usr/bin/curl /usr/bin/aws; do
    if [ ! -x "$need" ]; then
        echo "not ok - $need is missing"
        exit 1
    fi
done
kmock_start -b 2 -t fa:1 -t fb:1 || {
    echo "not ok - kmock did not start"
    exit 1
}
if kmock_cmd leader fa 0 1 >/dev/null && kmock_cmd leader fb 0 2 >/dev/null &&
    kmock_cmd coord group g-fa 1 >/dev/null && kmock_cmd coord group g-fb 1 >/dev/null; then
    tap_ok "fa-0 led by broker 1, fb-0 by broker 2, both groups' coordinator broker 1"
else
    tap_fail "kmock leader/coord commands"
fi

cat >"$T/fa.sh" <<'EOF'
#!/bin/sh
cat >/dev/null
if [ -e "$FN_DIR/fail" ]; then
    echo '{"errorType":"Boom","errorMessage":"told to fail"}'
    exit 1
fi
EOF
cat >"$T/fb.sh" <<'EOF'
#!/bin/sh
cat >/dev/null
sleep 0.5
EOF
chmod +x "$T/fa.sh" "$T/fb.sh"

export KESM_SESSION_TIMEOUT_MS=10000 KESM_HEARTBEAT_INTERVAL_MS=500 KESM_COMMIT_INTERVAL_MS=500
export FN_DIR=$T AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=example \
    AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null \
    AWS_SHARED_CREDENTIALS_FILE=/dev/null
# API requests are signed (the CLI, and curl through tests/lib/api.sh); --allow-api-exec lets
# them name the handlers.
. tests/lib/api.sh
timeout --foreground --kill-after=20 "$LIFETIME" "$KESM" serve --listen 127.0.0.1:0 \
    --state-dir "$T/state" --stuck-after 3 --drain-timeout 5000 --allow-api-exec \
    >"$T/serve.out" 2>"$T/serve.err" &
PID=$!
serve_port() { sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$T/serve.out" | grep .; }
tap_check "kesm serve starts" wait_until 10 serve_port
PORT=$(serve_port)
BASE=http://127.0.0.1:$PORT

BS=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')
create() { # NAME TOPIC GROUP BATCH
    api_curl -sS -X POST "$BASE/2015-03-31/event-source-mappings/" -d "{\"FunctionName\":\"$1\",
      \"Topics\":[\"$2\"],\"BatchSize\":$4,\"MaximumBatchingWindowInSeconds\":0,
      \"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}},
      \"SelfManagedKafkaEventSourceConfig\":{\"ConsumerGroupId\":\"$3\"},
      \"Kesm\":{\"Transport\":\"exec\",\"Command\":[\"$T/$1.sh\"]}}" | jq -r .UUID
}
UA=$(create fa fa g-fa 5)
UB=$(create fb fb g-fb 1)
if ! tap_check "mappings A ($UA) and B ($UB) created" test -n "$UA" -a -n "$UB" -a "$UA" != null -a \
    "$UB" != null; then
    sed 's/^/# /' "$T/create.log"
    tap_done
fi

doc() { curl -sS -f "$BASE/status.json"; }
# field UUID JQ: a jq expression over the mapping's object in /status.json
field() { doc | jq -r --arg u "$1" ".EventSourceMappings[] | select(.UUID == \$u) | $2"; }
stuck_metric() { # UUID TOPIC: the kesm_partition_stuck sample of partition 0
    curl -sS -f "$BASE/metrics" |
        sed -n "s/^kesm_partition_stuck{uuid=\"$1\",.*topic=\"$2\",partition=\"0\"} \([01]\)$/\1/p"
}
api_result() {
    aws --endpoint-url "$BASE" lambda get-event-source-mapping --uuid "$1" \
        --query LastProcessingResult --output text
}
status_rc() {
    "$KESM" status --endpoint "$BASE" >"$T/status.txt" 2>&1
    echo $?
}
is() { [ "$("${@:2}")" = "$1" ]; }
starts() { case "$("${@:2}")" in "$1"*) return 0 ;; esac; return 1; }

# ---- 1. a function that starts failing --------------------------------------------------------
kmock_cmd produce fa 5 >/dev/null
tap_check "A: the first 5 records are processed (lag 0, OK)" \
    wait_until 60 is "0 OK" field "$UA" '"\(.OffsetLag) \(.LastProcessingResult)"'
tap_check "A: kesm status exits 0 while nothing is stuck" is 0 status_rc
touch "$T/fail"
kmock_cmd produce fa 5 >/dev/null
t0=$SECONDS
tap_check "A: fa-0 turns stuck: LastProcessingResult names the partition and 'function failing'" \
    wait_until 30 starts "PROBLEM: Stuck partition fa-0 at offset 5: no progress for 3 s or more with records waiting (function failing)" \
    field "$UA" .LastProcessingResult
echo "# A: stuck $((SECONDS - t0)) s after the failing records arrived (stuck time 3 s)"
tap_check "A: status.json marks the partition stuck with its cause" \
    is "true function failing" field "$UA" '.Partitions[0] | "\(.Stuck) \(.StuckCause)"'
tap_check "A: kesm_partition_stuck is 1 for fa-0" is 1 stuck_metric "$UA" fa
tap_check "A: the API (aws lambda get-event-source-mapping) shows the problem" \
    starts "PROBLEM: Stuck partition fa-0" api_result "$UA"
tap_check "A: kesm status exits 1" is 1 status_rc
tap_check "A: ... with a STUCK line for the mapping" grep -qE "^STUCK +$UA " "$T/status.txt"
tap_check "A: the function's error is among the recent errors" \
    sh -c "curl -sS '$BASE/status.json' | jq -e '.RecentErrors[] | select(.Mapping == \"$UA\" and (.Message | contains(\"told to fail\")))' >/dev/null"
rm -f "$T/fail"
t0=$SECONDS
tap_check "A: after the function recovers, LastProcessingResult is OK again" \
    wait_until 60 is "0 OK" field "$UA" '"\(.OffsetLag) \(.LastProcessingResult)"'
echo "# A: OK again $((SECONDS - t0)) s after the function recovered (retry backoff included)"
tap_check "A: kesm_partition_stuck is 0 again" is 0 stuck_metric "$UA" fa
tap_check "A: the API shows OK" is OK api_result "$UA"
tap_check "A: kesm status exits 0 again" is 0 status_rc

# ---- 2. a broker that goes away ---------------------------------------------------------------
kmock_cmd produce fb 12 size=300000 >/dev/null
started() { [ "$(field "$UB" '.Partitions[0].ProcessedOffset // 0')" -ge 1 ]; }
tap_check "B: mapping B starts on the 300 KB records" wait_until 60 started
kmock_cmd down 2 >/dev/null
t0=$SECONDS
# The records fetched before are processed first (a slow function under load may count as
# stuck for a moment meanwhile: "waiting for the function"); then nothing can move.
tap_check "B: fb-0 turns stuck while broker 2 is down: 'broker unreachable', nothing in flight" \
    wait_until 60 is "true broker unreachable 0" field "$UB" \
    '.Partitions[0] | "\(.Stuck) \(.StuckCause) \(.BatchesInFlight)"'
echo "# B: stuck with nothing in flight $((SECONDS - t0)) s after broker 2 went down"
tap_check "B: LastProcessingResult names the partition and the cause" \
    sh -c "curl -sS '$BASE/status.json' | jq -r '.EventSourceMappings[] | select(.UUID == \"$UB\") | .LastProcessingResult' | grep -qE '^PROBLEM: Stuck partition fb-0 at offset [0-9]+: no progress for 3 s or more with records waiting \(broker unreachable\)$'"
tap_check "B: records are still waiting (lag > 0)" test "$(field "$UB" .OffsetLag)" -gt 0
tap_check "B: kesm_partition_stuck is 1 for fb-0" is 1 stuck_metric "$UB" fb
tap_check "B: kesm status exits 1" is 1 status_rc
kmock_cmd up 2 >/dev/null
t0=$SECONDS
tap_check "B: after broker 2 is back, every record is processed and the result is OK" \
    wait_until 90 is "0 OK" field "$UB" '"\(.OffsetLag) \(.LastProcessingResult)"'
echo "# B: OK again $((SECONDS - t0)) s after broker 2 came back"
tap_check "B: kesm_partition_stuck is 0 again" is 0 stuck_metric "$UB" fb
tap_check "B: kesm status exits 0 again" is 0 status_rc
tap_check "the stuck and recovery log lines name the partitions" \
    sh -c "grep -q 'WARN esm mapping=$UB partition fb-0 stuck at offset' '$T/serve.err' &&
           grep -q 'INFO esm mapping=$UA partition fa-0 moves again' '$T/serve.err'"

kill -TERM "$PID"
wait "$PID"
tap_check "kesm serve exits 0 on SIGTERM" test $? = 0
PID=
tap_done
