#!/usr/bin/env bash
# tests/integration/esm_filter.sh: FilterCriteria end to end with `kesm run` against kmock: JSON
# values, some matching and some not, a plain-string value (a JSON pattern does not apply to it:
# Lambda then evaluates the metadata only, so it is delivered), tombstones, and a partition whose
# records all fail the filter. Exactly the matching records reach examples/handler.py, the
# committed offsets reach the end of both partitions, and the final log line counts the filtered
# records. Under kesm serve, /metrics counts the filtered records, an update with new
# FilterCriteria takes effect and FilterCriteria {} removes the filter; a bad pattern is refused
# with the filter's index and the reason.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/integration/esm_run_lib.bash

SERVE_PID=
cleanup() {
    kesm_kill
    [ -n "$SERVE_PID" ] && kill -TERM "$SERVE_PID" 2>/dev/null
    kmock_stop
}
at_exit cleanup

if [ ! -x "$KESM" ]; then
    echo "not ok - $KESM is not built"
    exit 1
fi
kmock_start -b 1 -t filt:2 -t upd:1 || {
    echo "not ok - kmock did not start"
    exit 1
}
T=$RUN_TMP

# pct: percent-encode a literal for kmock (blanks, commas, equals and percent signs).
pct() {
    printf '%s' "$1" | sed -e 's/%/%25/g' -e 's/ /%20/g' -e 's/,/%2C/g' -e 's/=/%3D/g'
}

produce_all() {
    local ok=0 keep5 keep9 low ping
    keep5=$(pct '{"kind":"order","n":5}')
    keep9=$(pct '{"kind":"order","n":9,"tags":["a","b"]}')
    low=$(pct '{"kind":"order","n":1}')
    ping=$(pct '{"kind":"ping"}')
    # partition 0: offsets 0-2 keep, 3-4 drop, 5-6 drop, 7-8 keep, 9 plain string (kept),
    # 10-12 tombstones (drop), 13 keep, 14-17 drop: the partition ends with filtered records.
    kmock_cmd produce filt 3 partition=0 "value=$keep5" || ok=1
    kmock_cmd produce filt 2 partition=0 "value=$ping" || ok=1
    kmock_cmd produce filt 2 partition=0 "value=$low" || ok=1
    kmock_cmd produce filt 2 partition=0 "value=$keep9" codec=lz4 || ok=1
    kmock_cmd produce filt 1 partition=0 "value=$(pct 'hello world')" || ok=1
    kmock_cmd produce filt 3 partition=0 value=null || ok=1
    kmock_cmd produce filt 1 partition=0 "value=$keep5" || ok=1
    kmock_cmd produce filt 4 partition=0 "value=$ping" codec=zstd || ok=1
    # partition 1: nothing matches.
    kmock_cmd produce filt 5 partition=1 "value=$low" || ok=1
    return $ok
}
tap_check "produce 23 records (JSON, plain string, tombstones) on two partitions" produce_all

PATTERN='{\"value\":{\"kind\":[\"order\"],\"n\":[{\"numeric\":[\">\",3]}]}}'
run_mapping "$T/m1.json" filt "\"FilterCriteria\": {\"Filters\": [{\"Pattern\": \"$PATTERN\"}]}"
HANDLER_LOG=$T/log1 kesm_start "$T/m1.json"
G=$(for i in $(seq 100); do
    g=$(group_of)
    [ -n "$g" ] && echo "$g" && break
    sleep 0.1
done)
committed_end() {
    grep -q "0=18 1=5" <<<"$(committed_of "$G" filt 2)"
}
tap_check "the committed offsets reach the end of both partitions" wait_until 30 committed_end
kesm_stop
tap_check "kesm run exits 0 after SIGINT" test "$KESM_RC" = 0
delivered() {
    local got
    got=$(awk '{print $1, $2}' "$T/log1" | tr '\n' ' ')
    [ "$got" = "filt-0 0 filt-0 1 filt-0 2 filt-0 7 filt-0 8 filt-0 9 filt-0 13 " ] || {
        echo "delivered: $got"
        return 1
    }
}
tap_check "exactly the matching records (and the plain-string one) reach the handler" delivered
tap_check "the plain-string value is delivered as it is" grep -q '^filt-0 9 .* hello world$' \
    "$T/log1"
tap_check "the final line counts 7 delivered and 16 filtered out" \
    grep -q 'stopped: offsets committed, group left (7 records delivered, 16 filtered out, 0 given up on)' \
    "$T/kesm.err"
tap_check "the filter is announced at start" grep -q 'FilterCriteria: 1 filter applied' "$T/kesm.err"

# ---- kesm serve: /metrics counts them; updates change the filter, {} removes it ------------
export HOME=$T HANDLER_LOG=$T/log2 # kesm serve passes its environment on to the handler
# API requests are signed (tests/lib/api.sh); --allow-api-exec lets them name the handler.
. tests/lib/api.sh
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE
timeout --foreground --kill-after=10 "$LIFETIME" "$KESM" serve --listen 127.0.0.1:0 --state-dir "$T/state" \
    --drain-timeout 3000 --allow-api-exec >"$T/serve.out" 2>"$T/serve.err" &
SERVE_PID=$!
serve_port() { sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$T/serve.out" | grep .; }
tap_check "kesm serve starts" wait_until 10 serve_port
PORT=$(serve_port)
API=http://127.0.0.1:$PORT/2015-03-31/event-source-mappings
kinds() { # KIND COUNT ...: produce COUNT records {"kind":KIND} for each pair, in order
    while [ $# -ge 2 ]; do
        kmock_cmd produce upd "$2" "value=$(pct "{\"kind\":\"$1\"}")" >/dev/null || return 1
        shift 2
    done
}
filter_of() { # KIND: a FilterCriteria member keeping {"kind":KIND}
    printf '"FilterCriteria":{"Filters":[{"Pattern":"{\\"value\\":{\\"kind\\":[\\"%s\\"]}}"}]}' "$1"
}
tap_check "produce a a b b (offsets 0-3)" kinds a 2 b 2
BS=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')
api_curl -sS -o "$T/create.json" -X POST "$API/" -d "{\"FunctionName\":\"demo\",
  \"Topics\":[\"upd\"],\"StartingPosition\":\"TRIM_HORIZON\",\"BatchSize\":10,
  \"MaximumBatchingWindowInSeconds\":0, $(filter_of a),
  \"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}},
  \"Kesm\":{\"Transport\":\"exec\",\"Command\":[\"$PWD/examples/handler.py\"]}}"
U=$(sed -n 's/.*"UUID":"\([^"]*\)".*/\1/p' "$T/create.json")
tap_check "create with a filter answers a UUID" test -n "$U"
filtered_is() {
    curl -sS "http://127.0.0.1:$PORT/metrics" |
        grep -q "^kesm_records_filtered_total{uuid=\"$U\",[^}]*} $1\$"
}
tap_check "/metrics counts the 2 filtered records" wait_until 20 filtered_is 2
state_is() { api_curl -sS "$API/$U" | grep -q "\"State\":\"$1\""; }
offsets_in() { [ "$(awk '{print $2}' "$HANDLER_LOG" 2>/dev/null | tr '\n' ' ')" = "$1" ]; }
tap_check "only the a records were delivered" wait_until 20 offsets_in "0 1 "
api_curl -sS -o /dev/null -X PUT "$API/$U" -d "{$(filter_of b)}"
tap_check "update to keep b: Enabled again" wait_until 20 state_is Enabled
tap_check "produce a a b b (offsets 4-7)" kinds a 2 b 2
tap_check "after the update only the b records arrive" wait_until 20 offsets_in "0 1 6 7 "
api_curl -sS -o /dev/null -X PUT "$API/$U" -d '{"FilterCriteria":{}}'
tap_check "update with FilterCriteria {}: Enabled again" wait_until 20 state_is Enabled
tap_check "produce a b (offsets 8-9)" kinds a 1 b 1
tap_check "without a filter every record arrives" wait_until 20 offsets_in "0 1 6 7 8 9 "
if [ "$TAP_FAIL" != 0 ]; then
    sed 's/^/# delivered: /' "$HANDLER_LOG" 2>/dev/null | head -20
    grep -v ' DEBUG ' "$T/serve.err" | tail -30 | sed 's/^/# serve: /'
fi
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
tap_check "kesm serve exits 0 on SIGTERM" test "$?" = 0
SERVE_PID=

# ---- an invalid pattern is refused ---------------------------------------------------------
BAD='{\"value\":{\"n\":[{\"numberic\":[\">\",3]}]}}'
run_mapping "$T/m3.json" filt "\"FilterCriteria\": {\"Filters\": [{\"Pattern\": \"{}\"}, {\"Pattern\": \"$BAD\"}]}"
timeout 20 "$KESM" run --no-status --config "$T/m3.json" >"$T/m3.out" 2>"$T/m3.err"
rc=$?
tap_check "a bad pattern: kesm run exits 2 (ESM_CONFIG_NOT_VALID)" test "$rc" = 2
tap_check "  the error names the filter and the unknown operator" \
    grep -q "ESM_CONFIG_NOT_VALID: .*'FilterCriteria.Filters\[1\].Pattern' failed to satisfy constraint: Member must be a valid filter pattern: unknown operator \"numberic\" at value.n" \
    "$T/m3.err"

kmock_stop
tap_done
