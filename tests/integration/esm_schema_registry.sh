#!/usr/bin/env bash
# tests/integration/esm_schema_registry.sh: SchemaRegistryConfig end to end under `kesm serve`
# against kmock, with real peers from npm (tests/node): records serialized by
# @confluentinc/schemaregistry's Avro, Protobuf and JSON Schema serializers (and avsc with
# Confluent framing for a schema with references, and Glue-framed Avro/zlib/Protobuf/JSON)
# through a loopback registry (tests/node/sr_fixture.mjs, Confluent REST with HTTP Basic
# authentication from a file:// secret, and Glue GetSchemaVersion). Checked:
#   - EventRecordFormat JSON: every value (and the validated key) decodes to the produced
#     object, with {"dataFormat","schemaId"} metadata: Avro (nested records, arrays, maps,
#     unions, enums, bytes, fixed, decimal; v1 records read after v2 was registered; a
#     referenced schema), Protobuf (three message types of one file: message indexes [0], [1]
#     and [0,0]; maps, oneof, repeated enums, well-known types, a referenced file), JSON Schema,
#     and Glue (Avro, zlib Avro, Protobuf, JSON);
#   - EventRecordFormat SOURCE: @aws-lambda-powertools/kafka's Avro, Protobuf and JSON
#     deserializers decode kesm's events to the produced objects;
#   - FilterCriteria applies to the decoded Avro value;
#   - corrupt framing, an unknown schema id, truncated and trailing data: each record goes to
#     the on-failure directory with SCHEMA_NOT_FOUND or DESERIALIZATION_ERROR, /metrics counts
#     them, the good records around them are delivered;
#   - an unreachable registry: the partition waits (nothing delivered), LastProcessingResult and
#     kesm_schema_registry_errors_total say so, and the records arrive once the registry is back;
#   - Glue requests carry the SigV4 signature botocore computes.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/lib/node.sh
. tests/integration/esm_run_lib.bash

SERVE_PID= FIX_PID= FIX2_PID=
cleanup() {
    [ -n "$SERVE_PID" ] && kill -TERM "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
    [ -n "$FIX_PID" ] && kill "$FIX_PID" 2>/dev/null
    [ -n "$FIX2_PID" ] && kill "$FIX2_PID" 2>/dev/null
    kmock_stop
}
at_exit cleanup
T=$RUN_TMP
SR=tests/integration/schema_registry

if ! node_deps "$T/npm.log" @confluentinc/schemaregistry @aws-lambda-powertools/kafka avro-js; then
    tap_fail "npm ci in tests/node" "$(tail -20 "$T/npm.log")"
    tap_done
fi
if [ ! -x "$KESM" ]; then
    tap_fail "$KESM is built"
    tap_done
fi
kmock_start -b 1 -t sr-avro:1 -t sr-proto:1 -t sr-json:1 -t sr-bad:1 -t sr-glue:1 \
    -t sr-outage:1 || {
    tap_fail "kmock starts"
    tap_done
}

# ---- the registry, the records -------------------------------------------------------------
# fixture NAME [args]: start a registry (not in a subshell: its pid goes to FIXPID_OUT); its
# port appears in $T/NAME.port.
fixture() {
    local name=$1
    shift
    rm -f "$T/$name.port"
    timeout --kill-after=5 "$LIFETIME" node tests/node/sr_fixture.mjs --port-file "$T/$name.port" \
        --state "$T/sr-state.json" --user sr --password 's3cr3t w0rd' --glue-log "$T/glue.log" \
        "$@" </dev/null >/dev/null 2>>"$T/$name.err" &
    FIXPID_OUT=$!
}
fixture reg
FIX_PID=$FIXPID_OUT
tap_check "the registry fixture starts" wait_until 15 test -s "$T/reg.port"
REG=http://127.0.0.1:$(cat "$T/reg.port")
SR_USERINFO='sr:s3cr3t w0rd' node tests/node/sr_peers.mjs produce "$T" "$REG" >"$T/produce.out" 2>&1
tap_check "serializers from npm register the schemas and write the records" \
    grep -q '^ok - produced 24 records' "$T/produce.out" || sed 's/^/# /' "$T/produce.out"
feed() {
    local line
    while read -r line; do
        # shellcheck disable=SC2086
        kmock_cmd $line >/dev/null || return 1
    done <"$T/kmock.cmds"
}
tap_check "kmock takes the 24 records" feed

# a second registry (same schemas) for the outage: started, then stopped, restarted later
fixture reg2
FIX2_PID=$FIXPID_OUT
tap_check "a second registry starts (for the outage)" wait_until 15 test -s "$T/reg2.port"
PORT2=$(cat "$T/reg2.port")
kill "$FIX2_PID"
wait "$FIX2_PID" 2>/dev/null
FIX2_PID=

# ---- kesm serve with one mapping per case ----------------------------------------------------
umask 077
printf '{"username": "sr", "password": "s3cr3t w0rd"}' >"$T/sr-secret.json"
mkdir -p "$T/events" "$T/failed"
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_ENDPOINT_URL_GLUE=$REG/ HOME=$T
export KESM_SCHEMA_BACKOFF_MS=300,2000
# API requests are signed (tests/lib/api.sh); the flags let them name the handlers, the file://
# secret, the http:// registry with BASIC_AUTH and the failure directory.
. tests/lib/api.sh
timeout --foreground --kill-after=10 "$LIFETIME" "$KESM" serve --listen 127.0.0.1:0 \
    --state-dir "$T/state" --drain-timeout 3000 --allow-api-exec --allow-api-file-secrets \
    --allow-api-plaintext-sasl --allow-api-file-destinations >"$T/serve.out" 2>"$T/serve.err" &
SERVE_PID=$!
serve_port() { sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$T/serve.out" | grep .; }
tap_check "kesm serve starts" wait_until 10 serve_port
PORT=$(serve_port)
API=http://127.0.0.1:$PORT/2015-03-31/event-source-mappings
BS=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')
declare -A UUIDS
create() { # create NAME TOPIC REGISTRY_URI FORMAT ATTRS [extra members]
    local name=$1 topic=$2 uri=$3 fmt=$4 attrs=$5 extra=${6:-} access=
    case $uri in http*) access=",\"AccessConfigs\":[{\"Type\":\"BASIC_AUTH\",\"URI\":\"file://$T/sr-secret.json\"}]" ;; esac
    api_curl -sS -o "$T/create-$name.json" -X POST "$API/" -d "{\"FunctionName\":\"$name\",
      \"Topics\":[\"$topic\"],\"StartingPosition\":\"TRIM_HORIZON\",\"BatchSize\":100,
      \"MaximumBatchingWindowInSeconds\":0 ${extra:+,$extra},
      \"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}},
      \"SelfManagedKafkaEventSourceConfig\":{\"SchemaRegistryConfig\":{\"SchemaRegistryURI\":\"$uri\",
        \"EventRecordFormat\":\"$fmt\"$access,\"SchemaValidationConfigs\":$attrs}},
      \"Kesm\":{\"Transport\":\"exec\",\"Command\":[\"/bin/sh\",\"-c\",\"cat >>$T/events/$name.jsonl; echo >>$T/events/$name.jsonl\"]}}"
    UUIDS[$name]=$(sed -n 's/.*"UUID":"\([^"]*\)".*/\1/p' "$T/create-$name.json")
    [ -n "${UUIDS[$name]}" ] || {
        sed 's/^/# create: /' "$T/create-$name.json"
        echo
        return 1
    }
}
V='[{"Attribute":"VALUE"}]'
KV='[{"Attribute":"KEY"},{"Attribute":"VALUE"}]'
GLUE=arn:aws:glue:us-east-1:123456789012:registry/kesm-test
create avro-json sr-avro "$REG" JSON "$KV"
tap_check "create: Avro, JSON mode, key and value" test -n "${UUIDS[avro-json]}"
create avro-source sr-avro "$REG" SOURCE "$V"
tap_check "create: Avro, SOURCE mode" test -n "${UUIDS[avro-source]}"
create proto-json sr-proto "$REG" JSON "$V"
tap_check "create: Protobuf, JSON mode" test -n "${UUIDS[proto-json]}"
create proto-source sr-proto "$REG" SOURCE "$V"
tap_check "create: Protobuf, SOURCE mode" test -n "${UUIDS[proto-source]}"
create json-json sr-json "$REG" JSON "$V"
tap_check "create: JSON Schema, JSON mode" test -n "${UUIDS[json-json]}"
create json-source sr-json "$REG" SOURCE "$V"
tap_check "create: JSON Schema, SOURCE mode" test -n "${UUIDS[json-source]}"
create glue-json sr-glue "$GLUE" JSON "$V"
tap_check "create: Glue, JSON mode" test -n "${UUIDS[glue-json]}"
create glue-source sr-glue "$GLUE" SOURCE "$V"
tap_check "create: Glue, SOURCE mode" test -n "${UUIDS[glue-source]}"
create avro-filter sr-avro \
    "$REG" JSON "$V" '"FilterCriteria":{"Filters":[{"Pattern":"{\"value\":{\"status\":[\"PAID\"]}}"}]}'
tap_check "create: Avro with FilterCriteria on the decoded value" test -n "${UUIDS[avro-filter]}"
create bad sr-bad "$REG" JSON "$V" \
    "\"DestinationConfig\":{\"OnFailure\":{\"Destination\":\"file://$T/failed\"}}"
tap_check "create: undecodable records, on-failure directory" test -n "${UUIDS[bad]}"

records_in() { # NAME N: the events of NAME hold N records
    [ -f "$T/events/$1.jsonl" ] &&
        [ "$(grep -o '"offset":' "$T/events/$1.jsonl" | wc -l)" -ge "$2" ]
}
tap_check "every mapping delivers" wait_until 60 sh -c "
    for nn in avro-json:5 avro-source:5 proto-json:3 proto-source:3 json-json:2 json-source:2 \
              glue-json:4 glue-source:4 avro-filter:2 bad:2; do
        f=$T/events/\${nn%:*}.jsonl; n=\${nn#*:}
        [ -f \$f ] && [ \$(grep -o '\"offset\":' \$f | wc -l) -ge \$n ] || exit 1
    done"
check() { # check MODE NAME TOPIC
    node tests/node/sr_peers.mjs "check-$1" "$T" "$T/events/$2.jsonl" "$3" >"$T/check-$2.out" 2>&1
    local rc=$?
    cat "$T/check-$2.out"
    grep -q '^ok -' "$T/check-$2.out" && [ "$rc" = 0 ] && TAP_OK=$((TAP_OK + 1)) ||
        TAP_FAIL=$((TAP_FAIL + 1))
}
check json avro-json sr-avro
check source avro-source sr-avro
check json proto-json sr-proto
check source proto-source sr-proto
check json json-json sr-json
check source json-source sr-json
check json glue-json sr-glue
check source glue-source sr-glue
filtered_offsets() {
    [ "$(grep -o '"offset":[0-9]*' "$T/events/avro-filter.jsonl" | tr '\n' ' ')" = '"offset":0 "offset":2 ' ]
}
tap_check "FilterCriteria on the decoded Avro value keeps the PAID orders (offsets 0 and 2)" \
    wait_until 10 filtered_offsets

# ---- undecodable records ---------------------------------------------------------------------
bad_offsets() {
    [ "$(grep -o '"offset":[0-9]*' "$T/events/bad.jsonl" | tr '\n' ' ')" = '"offset":0 "offset":6 ' ]
}
tap_check "the good records around the bad ones are delivered (offsets 0 and 6)" bad_offsets
conditions() {
    cat "$T"/failed/* 2>/dev/null | grep -o '"condition":"[A-Z_]*"' | sort | uniq -c | tr -s ' ' |
        tr '\n' ' '
}
five_failed() { [ "$(conditions)" = ' 4 "condition":"DESERIALIZATION_ERROR"  1 "condition":"SCHEMA_NOT_FOUND" ' ]; }
tap_check "5 failure records: 4 DESERIALIZATION_ERROR, 1 SCHEMA_NOT_FOUND" wait_until 20 five_failed ||
    echo "# conditions: $(conditions)"
metric() { # metric NAME UUID VALUE
    curl -sS "http://127.0.0.1:$PORT/metrics" | grep -q "^$1{uuid=\"$2\",[^}]*} $3\$"
}
tap_check "/metrics: kesm_records_rejected_total 5 for that mapping" \
    wait_until 10 metric kesm_records_rejected_total "${UUIDS[bad]}" 5
tap_check "the log names the condition, the record and the reason" \
    grep -q 'SCHEMA_NOT_FOUND: sr-bad-0 offset 2 value: schema 9999: schema id 9999' "$T/serve.err"
committed_is() { grep -q "0=$3\b" <<<"$(committed_of "$1" "$2" 1)"; }
tap_check "the group of sr-bad commits past every record (no stall): offset 7" \
    wait_until 20 committed_is "${UUIDS[bad]}" sr-bad 7

# ---- the registry is down, then comes back ----------------------------------------------------
create outage sr-outage "http://127.0.0.1:$PORT2" JSON "$V"
tap_check "create: a mapping whose registry is down" test -n "${UUIDS[outage]}"
tap_check "its registry errors are logged" wait_until 20 grep -q 'Schema registry error: schema id' "$T/serve.err"
tap_check "while the registry is down nothing of sr-outage is delivered (watched for 1 s)" \
    holds_for 1 test ! -s "$T/events/outage.jsonl"
result_problem() {
    api_curl -sS "$API/${UUIDS[outage]}" | grep -q '"LastProcessingResult":"PROBLEM: Schema registry error: schema id [0-9]*: http://127.0.0.1:'"$PORT2"': '
}
tap_check "LastProcessingResult says the schema registry cannot be reached" \
    wait_until 10 result_problem
errors_counted() {
    curl -sS "http://127.0.0.1:$PORT/metrics" |
        grep -q "^kesm_schema_registry_errors_total{uuid=\"${UUIDS[outage]}\",[^}]*} [1-9]"
}
tap_check "kesm_schema_registry_errors_total counts the failures" errors_counted
nothing_committed() { ! grep -q '0=[0-9]' <<<"$(committed_of "${UUIDS[outage]}" sr-outage 1)"; }
tap_check "nothing past the waiting records is committed (watched for a few commit intervals)" \
    holds_for 1.5 nothing_committed
fixture reg2 --port "$PORT2"
FIX2_PID=$FIXPID_OUT
tap_check "the registry restarts on its port" wait_until 15 test -s "$T/reg2.port"
tap_check "then the held records are delivered" wait_until 30 records_in outage 3
check json outage sr-outage
tap_check "then the group commits offset 3" wait_until 20 committed_is "${UUIDS[outage]}" sr-outage 3
ok_again() { api_curl -sS "$API/${UUIDS[outage]}" | grep -q '"LastProcessingResult":"OK"'; }
tap_check "and LastProcessingResult is OK again" wait_until 10 ok_again

# ---- Glue requests were signed as botocore signs them ---------------------------------------
out=$(python3 "$SR/glue_sigv4_check.py" "$T/glue.log" us-east-1 2>&1)
rc=$?
echo "$out"
[ "$rc" = 0 ] && TAP_OK=$((TAP_OK + 1)) || TAP_FAIL=$((TAP_FAIL + 1))

tap_check "no secret reaches the logs" sh -c "! grep -q 's3cr3t' '$T/serve.err' '$T/serve.out'"
if [ "$TAP_FAIL" != 0 ]; then
    grep -v ' DEBUG ' "$T/serve.err" | tail -40 | sed 's/^/# serve: /'
fi
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
tap_check "kesm serve exits 0 on SIGTERM" test "$?" = 0
SERVE_PID=
tap_done
