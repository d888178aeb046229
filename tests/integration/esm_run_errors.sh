#!/usr/bin/env bash
# tests/integration/esm_run_errors.sh: `kesm run` failure handling against kmock with the exec
# transport (examples/handler.py): retry until success; MaximumRetryAttempts then the on-failure
# directory (failure-record shape) or a kafka:// topic (one message per record); bisect narrows to the bad record; a partial batch response
# commits up to the failed record and retries from it; MaximumRecordAgeInSeconds; configuration
# errors before any connection; a function that cannot be executed stops the mapping.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/integration/esm_run_lib.bash

cleanup() {
    kesm_kill
    kmock_stop
}
at_exit cleanup

if [ ! -x "$KESM" ]; then
    echo "not ok - $KESM is not built"
    exit 1
fi
T=$RUN_TMP

# ---- configuration errors: no connection needed ---------------------------------------------
cat >"$T/bad.json" <<'JSON'
{"FunctionName": "f", "Topics": ["t"], "BatchSize": 0, "StartingPosition": "TRIM_HORIZON",
 "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["127.0.0.1:1"]}}}
JSON
"$KESM" run --no-status --config "$T/bad.json" 2>"$T/bad.err"
rc=$?
tap_check "an invalid mapping exits 2" test "$rc" = 2
tap_check "the error is ESM_CONFIG_NOT_VALID naming the member and value" \
    grep -q "ESM_CONFIG_NOT_VALID: .*Value '0' at 'BatchSize'" "$T/bad.err"
cat >"$T/nosecret.json" <<JSON
{"FunctionName": "f", "Topics": ["t"], "StartingPosition": "TRIM_HORIZON",
 "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["127.0.0.1:1"]}},
 "SourceAccessConfigurations": [{"Type": "SASL_SCRAM_512_AUTH", "URI": "file://$T/missing.json"}],
 "Kesm": {"Transport": "stdout"}}
JSON
"$KESM" run --no-status --config "$T/nosecret.json" 2>"$T/nosecret.err"
rc=$?
tap_check "a missing secret file exits 2 naming it" \
    grep -q "SASL_SCRAM_512_AUTH: cannot open $T/missing.json" "$T/nosecret.err"
tap_check "  (exit status 2)" test "$rc" = 2

kmock_start -b 1 -t r1:1 -t r2:1 -t r3:1 -t r4:1 -t r5:1 -t r6:1 -t r7:1 -t dlq7:2 -l "$LIFETIME" || {
    echo "not ok - kmock did not start"
    exit 1
}
produce_around_bad() { # TOPIC BEFORE AFTER
    kmock_cmd produce "$1" "$2" partition=0 >/dev/null &&
        kmock_cmd produce "$1" 1 partition=0 value=bad >/dev/null &&
        kmock_cmd produce "$1" "$3" partition=0 >/dev/null
}
dest() {
    mkdir -p "$T/dlq-$1"
    echo "\"DestinationConfig\": {\"OnFailure\": {\"Destination\": \"file://$T/dlq-$1\"}}"
}
# jq_file DIR FILTER: the filter applied to the only failure record in DIR.
jq_file() {
    local n
    n=$(find "$1" -name '*.json' | wc -l)
    if [ "$n" != 1 ]; then
        echo "expected 1 failure record in $1, found $n"
        return 1
    fi
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$(find "$1" -name '*.json')" "$2"
}
run_case() { # MAPPING LOGFILE WANT_LINES TOPIC WANT_COMMITTED: until every record is settled
    kesm_start "$1"
    wait_lines 30 "$2" "$3"
    wait_committed 30 "$4" 1 "$5"
    kesm_stop
}

# ---- retry until success ----------------------------------------------------------------------
kmock_cmd produce r1 5 partition=0 >/dev/null
run_mapping "$T/r1.json" r1
HANDLER_LOG=$T/l1 HANDLER_FAIL_TIMES=2 HANDLER_STATE=$T/s1 run_case "$T/r1.json" "$T/l1" 5 r1 0=5
tap_check "function errors are retried until success (2 failures, then 1 success)" \
    test "$(cat "$T/s1")" = 3
tap_check "  every record delivered once, in order" log_check "$T/l1" exact r1-0=5
tap_check "  offsets committed" grep -q "0=5" <<<"$(committed_of "$(group_of)" r1 1)"

# ---- MaximumRetryAttempts, then the on-failure directory --------------------------------------
produce_around_bad r2 3 3
kmock_cmd produce r2 2 partition=0 >/dev/null
run_mapping "$T/r2.json" r2 "\"BatchSize\": 7, \"MaximumRetryAttempts\": 1, $(dest r2)"
HANDLER_LOG=$T/l2 HANDLER_FAIL_VALUE=bad run_case "$T/r2.json" "$T/l2" 2 r2 0=9
tap_check "retries exhausted: the next batch is delivered" \
    test "$(cut -d' ' -f2 "$T/l2" | tr '\n' ' ')" = "7 8 "
tap_check "  one failure record, condition RetryAttemptsExhausted" \
    test "$(jq_file "$T/dlq-r2" 'd["requestContext"]["condition"]')" = RetryAttemptsExhausted
tap_check "  approximateInvokeCount 2 (first attempt + 1 retry)" \
    test "$(jq_file "$T/dlq-r2" 'd["requestContext"]["approximateInvokeCount"]')" = 2
tap_check "  KafkaBatchInfo: batchSize 7, offsets 0..6 of r2-0 as strings" \
    test "$(jq_file "$T/dlq-r2" '(d["KafkaBatchInfo"]["batchSize"], d["KafkaBatchInfo"]["recordsInfo"]["r2-0"]["firstRecordOffset"], d["KafkaBatchInfo"]["recordsInfo"]["r2-0"]["lastRecordOffset"])')" = "(7, '0', '6')"
tap_check "  responseContext, version, function ARN, ISO timestamps" \
    test "$(jq_file "$T/dlq-r2" '(d["responseContext"]["functionError"], d["version"], d["requestContext"]["functionArn"].endswith(":function:demo"), d["timestamp"][-1], d["KafkaBatchInfo"]["recordsInfo"]["r2-0"]["firstRecordTimestamp"][10])')" = "('Unhandled', '1.0', True, 'Z', 'T')"
tap_check "  payload: the failed event as a JSON string, payloadSize its length" \
    test "$(jq_file "$T/dlq-r2" '(len(json.loads(d["payload"])["records"]["r2-0"]), d["KafkaBatchInfo"]["payloadSize"] == len(d["payload"].encode()))')" = "(7, True)"
tap_check "  offsets committed past the disposed batch" \
    grep -q "0=9" <<<"$(committed_of "$(group_of)" r2 1)"

# ---- bisect narrows to the bad record ---------------------------------------------------------
produce_around_bad r3 5 2
run_mapping "$T/r3.json" r3 "\"BatchSize\": 8, \"MaximumRetryAttempts\": 0, \"BisectBatchOnFunctionError\": true, $(dest r3)"
HANDLER_LOG=$T/l3 HANDLER_FAIL_VALUE=bad run_case "$T/r3.json" "$T/l3" 7 r3 0=8
tap_check "bisect: every good record delivered once, in order" \
    test "$(cut -d' ' -f2 "$T/l3" | tr '\n' ' ')" = "0 1 2 3 4 6 7 "
tap_check "  the failure record holds only the bad record (offset 5)" \
    test "$(jq_file "$T/dlq-r3" '(d["KafkaBatchInfo"]["batchSize"], d["KafkaBatchInfo"]["recordsInfo"]["r3-0"]["firstRecordOffset"], d["KafkaBatchInfo"]["recordsInfo"]["r3-0"]["lastRecordOffset"])')" = "(1, '5', '5')"
tap_check "  offsets committed" grep -q "0=8" <<<"$(committed_of "$(group_of)" r3 1)"

# ---- partial batch response -------------------------------------------------------------------
produce_around_bad r4 3 2
run_mapping "$T/r4.json" r4 '"FunctionResponseTypes": ["ReportBatchItemFailures"]'
HANDLER_LOG=$T/l4 HANDLER_PARTIAL_VALUE=bad HANDLER_STATE=$T/s4 run_case "$T/r4.json" "$T/l4" 9 r4 0=6
tap_check "partial batch response: retried from the failed record (0..5, then 3..5)" \
    test "$(cut -d' ' -f2 "$T/l4" | tr '\n' ' ')" = "0 1 2 3 4 5 3 4 5 "
tap_check "  offsets committed" grep -q "0=6" <<<"$(committed_of "$(group_of)" r4 1)"
tap_check "  the commit stopped at the failed record in between" \
    grep -q "LastProcessingResult: PROBLEM: Function call failed" "$T/kesm.err"

# ---- MaximumRecordAgeInSeconds ----------------------------------------------------------------
old=$(($(date +%s) * 1000 - 3600 * 1000))
kmock_cmd produce r5 3 partition=0 ts=$old >/dev/null
kmock_cmd produce r5 2 partition=0 >/dev/null
run_mapping "$T/r5.json" r5 "\"MaximumRecordAgeInSeconds\": 60, $(dest r5)"
HANDLER_LOG=$T/l5 run_case "$T/r5.json" "$T/l5" 2 r5 0=5
tap_check "record age: only the fresh records are sent" \
    test "$(cut -d' ' -f2 "$T/l5" | tr '\n' ' ')" = "3 4 "
tap_check "  the old ones go to the destination (RecordAgeExceeded, not invoked)" \
    test "$(jq_file "$T/dlq-r5" '(d["requestContext"]["condition"], d["responseContext"], d["KafkaBatchInfo"]["batchSize"])')" = "('RecordAgeExceeded', None, 3)"
tap_check "  offsets committed" grep -q "0=5" <<<"$(committed_of "$(group_of)" r5 1)"

# ---- kafka:// destination: one message per failed record ------------------------------------
kmock_cmd produce r7 1 partition=0 >/dev/null
kmock_cmd produce r7 1 partition=0 value=bad key=null >/dev/null
kmock_cmd produce r7 1 partition=0 >/dev/null
kmock_cmd produce r7 2 partition=0 >/dev/null
run_mapping "$T/r7.json" r7 '"BatchSize": 3, "MaximumRetryAttempts": 0, "DestinationConfig": {"OnFailure": {"Destination": "kafka://dlq7"}}'
HANDLER_LOG=$T/l7 HANDLER_FAIL_VALUE=bad run_case "$T/r7.json" "$T/l7" 2 r7 0=5
timeout 20 kcat -C -b "$KMOCK_BOOTSTRAP" -t dlq7 -o beginning -e -q -f '%k\t%s\n' >"$T/dlq7.txt" 2>/dev/null
check_dlq7() {
    python3 - "$T/dlq7.txt" <<'PY'
import json, sys
rows = [l.rstrip("\n").split("\t", 1) for l in open(sys.argv[1]) if l.strip()]
bad = []
if len(rows) != 3:
    bad.append("want 3 messages, got %d" % len(rows))
seen = {}
for key, value in rows:
    v = json.loads(value)
    off = v["KafkaBatchInfo"]["recordInfo"]["offset"]
    seen[off] = key
    recs = v["payload"]["records"]["r7-0"]
    if v["requestContext"]["condition"] != "RetryAttemptsExhausted":
        bad.append("condition %s" % v["requestContext"]["condition"])
    if v["KafkaBatchInfo"]["batchSize"] != 1 or len(recs) != 1 or str(recs[0]["offset"]) != off:
        bad.append("offset %s: payload does not hold exactly that record" % off)
want = {"0": "k0-0", "1": "", "2": "k0-2"}
if seen != want:
    bad.append("keys by offset %s, want %s" % (seen, want))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}
tap_check "kafka:// destination: one message per record of the failed batch, original keys" check_dlq7
tap_check "  the next batch is delivered" test "$(cut -d' ' -f2 "$T/l7" | tr '\n' ' ')" = "3 4 "
tap_check "  offsets committed past the disposed batch" \
    grep -q "0=5" <<<"$(committed_of "$(group_of)" r7 1)"

# ---- a function that cannot be invoked stops the mapping --------------------------------------
kmock_cmd produce r6 2 partition=0 >/dev/null
run_mapping "$T/r6.json" r6
sed -i "s|\"Command\": \[[^]]*\]|\"Command\": [\"$T/no-such-handler\"]|" "$T/r6.json"
timeout 40 "$KESM" run --no-status --config "$T/r6.json" 2>"$T/r6.err"
rc=$?
tap_check "an exec transport that cannot start the program stops kesm run with status 1" \
    test "$rc" = 1
tap_check "  reason FUNCTION_CONFIG_NOT_VALID" grep -q 'stopped: FUNCTION_CONFIG_NOT_VALID' "$T/r6.err"
tap_check "  nothing committed" grep -q "0=none" <<<"$(committed_of "$(grep -o 'group [0-9a-f-]*' "$T/r6.err" | head -1 | cut -d' ' -f2)" r6 1)"

if [ "$TAP_FAIL" != 0 ]; then
    echo "# kesm stderr (last 40 lines):"
    grep -v ' net \|handler: ' "$T/kesm.err" | tail -40 | sed 's/^/#   /'
fi
kmock_stop
tap_done
