#!/usr/bin/env bash
# esm_serve_kmock.sh: `kesm serve` runs what the management API creates, end to end against
# kmock: a mapping created over HTTP (with the Kesm exec transport) delivers every record to
# examples/handler.py and is Enabled with LastProcessingResult OK; an update through the AWS CLI
# restarts it with the new batch size without losing or repeating records; disabling stops
# delivery, enabling resumes from the committed offsets; delete removes it; SIGTERM exits 0.
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

for need in "$KESM" /usr/bin/aws /usr/bin/jq /usr/bin/curl; do
    if [ ! -x "$need" ]; then
        echo "not ok - $need is missing"
        exit 1
    fi
done
kmock_start -b 1 -t orders:2 || {
    echo "not ok - kmock did not start"
    exit 1
}

export HOME=$T AWS_CONFIG_FILE=$T/aws-config AWS_SHARED_CREDENTIALS_FILE=$T/aws-credentials
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"

# The handler logs one line per delivered record; kesm serve passes its environment on. kmock
# holds a rebalance for the session timeout minus 1 s when a member (re)joins a live group: keep
# it short so a restarted mapping is assigned within seconds.
export HANDLER_LOG=$T/delivered KESM_SESSION_TIMEOUT_MS=6000 KESM_HEARTBEAT_INTERVAL_MS=500
# API requests are signed (the CLI, and curl through tests/lib/api.sh); --allow-api-exec lets
# them name the handler.
. tests/lib/api.sh
KESM_LOG_LEVEL=debug timeout --foreground --kill-after=20 "$LIFETIME" "$KESM" serve --listen 127.0.0.1:0 --state-dir "$T/state" \
    --drain-timeout 3000 --allow-api-exec >"$T/serve.out" 2>"$T/serve.err" &
PID=$!
serve_port() { sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$T/serve.out" | grep .; }
tap_check "kesm serve starts" wait_until 10 serve_port
PORT=$(serve_port)
API=http://127.0.0.1:$PORT/2015-03-31/event-source-mappings

lam() { timeout 60 /usr/bin/aws --endpoint-url "http://127.0.0.1:$PORT" --region us-east-1 lambda "$@"; }
lines() { if [ -f "$HANDLER_LOG" ]; then wc -l <"$HANDLER_LOG"; else echo 0; fi; }
at_least() { [ "$(lines)" -ge "$1" ]; }
state_is() { [ "$(api_curl -sS "$API/$U" | jq -r '.State + "/" + .StateTransitionReason')" = "$1" ]; }
result_is() { [ "$(api_curl -sS "$API/$U" | jq -r .LastProcessingResult)" = "$1" ]; }
# in_order: every offset 0..N-1 of both partitions exactly once, in order per partition.
in_order() {
    python3 - "$HANDLER_LOG" "$1" <<'PY'
import sys
seen = {}
for line in open(sys.argv[1]):
    tp, off = line.split(" ")[:2]
    seen.setdefault(tp, []).append(int(off))
total = sum(len(v) for v in seen.values())
ok = total == int(sys.argv[2]) and all(v == list(range(len(v))) for v in seen.values())
print(seen if not ok else "")
sys.exit(0 if ok else 1)
PY
}

tap_check "produce 20 records" kmock_cmd produce orders 20
BS=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')
api_curl -sS -o "$T/create.json" -w '%{http_code}' -X POST "$API/" -d "{\"FunctionName\":\"demo\",
  \"Topics\":[\"orders\"],\"StartingPosition\":\"TRIM_HORIZON\",\"BatchSize\":4,
  \"MaximumBatchingWindowInSeconds\":0,
  \"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}},
  \"Kesm\":{\"Transport\":\"exec\",\"Command\":[\"$PWD/examples/handler.py\"]}}" >"$T/code"
U=$(jq -r .UUID "$T/create.json")
tap_check "create over HTTP answers 202 Creating" \
    test "$(cat "$T/code")/$(jq -r .State "$T/create.json")" = 202/Creating
tap_check "all 20 records reach the function" wait_until 30 at_least 20
tap_check "exactly once, in order per partition" in_order 20
tap_check "the mapping is Enabled" state_is Enabled/USER_INITIATED
tap_check "LastProcessingResult is OK" wait_until 10 result_is OK

lam update-event-source-mapping --uuid "$U" --batch-size 2 >"$T/upd.json" 2>"$T/upd.err"
tap_check "an AWS CLI update answers Updating" test "$(jq -r .State "$T/upd.json")" = Updating
tap_check "the restarted mapping is Enabled again" wait_until 20 state_is Enabled/USER_INITIATED
tap_check "produce 10 more" kmock_cmd produce orders 10
tap_check "they arrive after the restart" wait_until 30 at_least 30
tap_check "still exactly once and in order (offsets were committed before the restart)" in_order 30

lam update-event-source-mapping --uuid "$U" --no-enabled >"$T/upd.json" 2>"$T/upd.err"
tap_check "disable answers Disabling" test "$(jq -r .State "$T/upd.json")" = Disabling
tap_check "then Disabled" wait_until 20 state_is Disabled/USER_INITIATED
tap_check "produce 6 while disabled" kmock_cmd produce orders 6
tap_check "nothing is delivered while disabled (watched for 2 s)" \
    holds_for 2 eval '[ "$(lines)" = 30 ]'
lam update-event-source-mapping --uuid "$U" --enabled >"$T/upd.json" 2>"$T/upd.err"
tap_check "enable answers Enabling" test "$(jq -r .State "$T/upd.json")" = Enabling
tap_check "the 6 arrive after enabling" wait_until 30 at_least 36
tap_check "exactly once and in order across disable/enable" in_order 36

lam delete-event-source-mapping --uuid "$U" >"$T/del.json" 2>"$T/del.err"
tap_check "delete answers Deleting" test "$(jq -r .State "$T/del.json")" = Deleting
gone() { [ "$(api_curl -sS -o /dev/null -w '%{http_code}' "$API/$U")" = 404 ]; }
tap_check "the mapping is gone once its consumer left the group" wait_until 20 gone
tap_check "its state file is removed" test ! -e "$T/state/$U.json"

kill -TERM "$PID"
wait "$PID"
RC=$?
PID=
tap_check "kesm serve exits 0 on SIGTERM" test "$RC" = 0

# Log lines name the mapping they are about, from every layer that serves it: the mapping
# (esm), its consumer and the consumer's broker connections (net). The pipeline logs only
# failures, which this run has none of; the check below still covers its lines.
for comp in esm consumer net; do
    tap_check "$comp log lines name the mapping" grep -q " INFO $comp mapping=$U " "$T/serve.err"
done
untagged() {
    grep -E '^[0-9TZ:.-]+ [A-Z]+ (esm|pipeline|consumer|net|invoke|http)( |$)' "$T/serve.err" |
        grep -v -E '^[0-9TZ:.-]+ [A-Z]+ [a-z]+ mapping=[0-9a-f-]{36} ' >"$T/untagged"
    [ ! -s "$T/untagged" ]
}
tap_check "no line of those layers lacks a mapping" untagged
[ -s "$T/untagged" ] && sed 's/^/# untagged: /' "$T/untagged" | head -5
if [ "$TAP_FAIL" != 0 ]; then
    sed 's/^/# /' "$T/serve.err" | grep -v ' DEBUG ' | tail -40
fi
kmock_stop
tap_done
