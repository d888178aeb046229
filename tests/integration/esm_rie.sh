#!/usr/bin/env bash
# esm_rie: kesm's http transport against an emulator-shaped endpoint (tests/tools/fake_lambda.py
# --mode rie: the Lambda Runtime Interface Emulator's answers, and its crash when a second
# invocation arrives while one is still running, even one whose caller gave up).
#
# 1. The stall of issue 23: InvokeTimeoutMs (1 s) shorter than the function (3 s), the emulator's
#    own timeout at its default (300 s). kesm must not send the retry while the emulator still
#    runs the abandoned call: it waits for that answer, so the emulator never crashes, the batch
#    is retried MaximumRetryAttempts times, written to the on-failure destination and committed.
# 2. Endless transport errors are never silent: with the emulator gone (kesm serve), the mapping's
#    LastProcessingResult turns PROBLEM naming the endpoint within a bounded time, /metrics shows
#    for how long (kesm_transport_error_seconds) and counts the retryable results, the log has a
#    WARN line; when the emulator is back the records arrive and all three recover.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
RUN_TMP=$TEST_TMP
T=$RUN_TMP
. tests/integration/esm_run_lib.bash

FAKE_PID=
SERVE_PID=
stop_fake() {
    stop_pid "$FAKE_PID"
    FAKE_PID=
}
cleanup() {
    kesm_kill
    if [ -n "$SERVE_PID" ]; then
        kill -TERM "$SERVE_PID" 2>/dev/null
        wait "$SERVE_PID" 2>/dev/null
    fi
    stop_fake
    kmock_stop >/dev/null 2>&1
}
at_exit cleanup
export KESM_LOG_LEVEL=info

for need in "$KESM" /usr/bin/python3 /usr/bin/curl /usr/bin/jq; do
    if [ ! -x "$need" ]; then
        tap_fail "$need is there" "build it (make all) or install it (scripts/setup)"
        tap_done
    fi
done

# fake NAME ARGS...: start the emulator-shaped fake (log $T/NAME.log, records $T/NAME.records);
# sets FPORT.
fake() {
    local name=$1
    shift
    rm -f "$T/$name.port"
    timeout --kill-after=5 "$LIFETIME" /usr/bin/python3 tests/tools/fake_lambda.py --mode rie \
        --port-file "$T/$name.port" --log "$T/$name.log" --record-log "$T/$name.records" \
        --lifetime "$LIFETIME" "$@" 2>>"$T/$name.err" &
    FAKE_PID=$!
    if ! wait_until 10 test -s "$T/$name.port"; then
        tap_fail "the emulator-shaped fake starts" "$(tail -5 "$T/$name.err")"
        tap_done
    fi
    FPORT=$(cat "$T/$name.port")
}
rie_url() { echo "http://127.0.0.1:$1/2015-03-31/functions/function/invocations"; }

kmock_start -b 1 -t slowfn:1 -t gone:1 || {
    tap_fail "kmock starts"
    tap_done
}

# ---- 1. a function slower than InvokeTimeoutMs ----------------------------------------------
fake slow --script slow:3
tap_check "produce 3 records" kmock_cmd produce slowfn 3
mkdir -p "$T/dlq"
run_mapping "$T/m1.json" slowfn '"MaximumRetryAttempts": 1, "MaximumBatchingWindowInSeconds": 0,
 "DestinationConfig": {"OnFailure": {"Destination": "file://'"$T"'/dlq"}}'
sed -i "s|\"Kesm\": {.*|\"Kesm\": {\"Transport\": \"http\", \"Url\": \"$(rie_url "$FPORT")\", \"InvokeTimeoutMs\": 1000}}|" "$T/m1.json"
: >"$RUN_TMP/kesm.err"
kesm_start "$T/m1.json"
dlq_file() { find "$T/dlq" -type f -name '*.json' | grep -q .; }
if wait_until 40 dlq_file; then
    tap_ok "the batch reached the on-failure destination after its retries"
else
    tap_fail "the batch reached the on-failure destination after its retries" \
        "no file in $T/dlq after $(scaled 40) s" "$(tail -12 "$RUN_TMP/kesm.err")" \
        "emulator log: $(tail -6 "$T/slow.log")"
fi
tap_check "the emulator did not crash (no invocation overlapped another)" \
    eval "! grep -q '\"event\": \"crash\"' '$T/slow.log' && kill -0 $FAKE_PID"
# One at a time: every invocation starts after the previous one's "done" event.
tap_check "each invocation started only after the previous (abandoned) one had finished" \
    python3 -c '
import json, sys
running, n = False, 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if "action" in e and "event" not in e:
        if running:
            sys.exit("invocation %d started while another was running" % (n + 1))
        running, n = True, n + 1
    elif e.get("event") == "done":
        running = False
sys.exit(0 if n == 2 else "%d invocations, want 2 (1 + MaximumRetryAttempts)" % n)
' "$T/slow.log"
tap_check "kesm said it waits for the abandoned invocation (WARN, naming the endpoint)" \
    grep -qE " WARN .*127\.0\.0\.1:$FPORT: no answer within 1000 ms, the invocation is given up on; .* the next one waits until it answers or closes the connection" "$RUN_TMP/kesm.err"
# failure_record: the one on-failure record says RetryAttemptsExhausted after 2 invocations of
# the 3 records.
failure_record() {
    local f
    f=$(find "$T/dlq" -type f -name '*.json' | head -1)
    [ -n "$f" ] && jq -e '.requestContext.condition == "RetryAttemptsExhausted" and
        .requestContext.approximateInvokeCount == 2 and .KafkaBatchInfo.batchSize == 3' "$f"
}
tap_check "the failure record: RetryAttemptsExhausted after 2 invocations of the 3 records" \
    failure_record
tap_check "the offsets are committed after the disposal" wait_committed 20 slowfn 1 "0=3"
kesm_stop
tap_check "kesm run exits 0" test "$KESM_RC" = 0
stop_fake

# ---- 2. the emulator goes away ----------------------------------------------------------------
fake gone --script ok
GONE_PORT=$FPORT
export KESM_SESSION_TIMEOUT_MS=6000 KESM_HEARTBEAT_INTERVAL_MS=500
# API requests are signed (tests/lib/api.sh); --allow-api-http lets them name the emulator's URL.
. tests/lib/api.sh
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE
timeout --kill-after=10 "$LIFETIME" "$KESM" serve --listen 127.0.0.1:0 --state-dir "$T/state" \
    --drain-timeout 5000 --allow-api-http >"$T/serve.out" 2>"$T/serve.err" &
SERVE_PID=$!
serve_port() { sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$T/serve.out" | grep .; }
tap_check "kesm serve starts" wait_until 10 serve_port
BASE=http://127.0.0.1:$(serve_port)
API=$BASE/2015-03-31/event-source-mappings
BS=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')
api_curl -sS -o "$T/create.json" -X POST "$API/" -d "{\"FunctionName\":\"gone\",
  \"Topics\":[\"gone\"],\"StartingPosition\":\"TRIM_HORIZON\",\"MaximumBatchingWindowInSeconds\":0,
  \"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}},
  \"Kesm\":{\"Transport\":\"http\",\"Url\":\"$(rie_url "$GONE_PORT")\"}}"
U=$(jq -r .UUID "$T/create.json")
tap_check "the mapping is created" test -n "$U" -a "$U" != null
result() { api_curl -sS "$API/$U" | jq -r .LastProcessingResult; }
records() { if [ -f "$T/gone.records" ]; then wc -l <"$T/gone.records"; else echo 0; fi; }
# metric NAME [LABEL="VALUE"]: the value of the mapping's sample NAME (with that label).
metric() {
    local re="^$1[{]uuid=\"$U\"[^}]*"
    [ $# -ge 2 ] && re="$re$2"
    curl -sS "$BASE/metrics" | grep -E "$re" | head -1 | awk '{print $2}'
}
kmock_cmd produce gone 2 >/dev/null
tap_check "records are delivered while the emulator runs, LastProcessingResult OK" \
    wait_until 30 eval '[ "$(records)" -ge 2 ] && [ "$(result)" = OK ]'
tap_check "kesm_transport_error_seconds is 0 while invocations reach the function" \
    test "$(metric kesm_transport_error_seconds)" = 0

stop_fake # the emulator is gone: connections are refused from now on
kmock_cmd produce gone 2 >/dev/null
START=$SECONDS
if wait_until 30 eval 'result | grep -q "^PROBLEM: .*127\.0\.0\.1:$GONE_PORT"'; then
    tap_ok "LastProcessingResult turns PROBLEM naming the endpoint ($((SECONDS - START)) s)"
else
    tap_fail "LastProcessingResult turns PROBLEM naming the endpoint" "got: $(result)"
fi
tap_check "the log has a WARN line naming the endpoint" \
    wait_until 10 grep -qE " WARN .*127\.0\.0\.1:$GONE_PORT" "$T/serve.err"
tap_check "/metrics: kesm_transport_error_seconds grows while the endpoint is gone" \
    wait_until 10 eval '[ "$(metric kesm_transport_error_seconds)" -ge 2 ]'
RETRYABLE='outcome="retryable"'
tap_check "/metrics: the retryable results are counted" \
    eval '[ "$(metric kesm_invocations_total "$RETRYABLE")" -ge 1 ]'
tap_check "no record counted as a retry attempt or given up on" \
    eval '[ "$(metric kesm_records_disposed_total)" = 0 ]'

fake gone --script ok --port "$GONE_PORT" # the emulator restarts on its port
tap_check "once the emulator is back the waiting records arrive" \
    wait_until 60 eval '[ "$(records)" -ge 4 ]'
tap_check "LastProcessingResult is OK again" wait_until 10 eval '[ "$(result)" = OK ]'
tap_check "kesm_transport_error_seconds is back to 0" \
    eval '[ "$(metric kesm_transport_error_seconds)" = 0 ]'
kill -TERM "$SERVE_PID" 2>/dev/null
wait "$SERVE_PID"
tap_check "kesm serve exits 0" test "$?" = 0
SERVE_PID=

if [ "$TAP_FAIL" != 0 ]; then
    echo "# kesm run stderr (last 25 lines):"
    tail -25 "$RUN_TMP/kesm.err" | sed 's/^/#   /'
    echo "# kesm serve stderr (last 25 lines):"
    grep -v ' DEBUG ' "$T/serve.err" | tail -25 | sed 's/^/#   /'
fi
tap_done
