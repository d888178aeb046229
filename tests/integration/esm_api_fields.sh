#!/usr/bin/env bash
# tests/integration/esm_api_fields.sh: the CreateEventSourceMapping members added since 2024
# through `kesm serve --verify-sigv4`: MetricsConfig, LoggingConfig, ProvisionedPollerConfig,
# KMSKeyArn and SelfManagedKafkaEventSourceConfig.ConsumptionMode. Debian's AWS CLI (botocore
# 1.29) drives what it knows; the newer members go in requests signed by botocore's SigV4 signer
# (tests/oracle/aws_signed_request.py). Checked: they are echoed exactly, AWS's limits give
# InvalidParameterValueException with the exact messages, ConsumptionMode Queue is refused and
# the mode cannot be updated; then, against kmock, AWS's metric names appear in /metrics for the
# groups MetricsConfig turns on (and only those), and LoggingConfig.SystemLogLevel DEBUG brings
# that mapping's debug lines (and no other's) while KESM_LOG_LEVEL stays info.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/kmock.sh
KESM=${KESM_BIN:-${KESM_BUILD:-build}/kesm}
AWSCLI=/usr/bin/aws
REQ=tests/oracle/aws_signed_request.py
T=$(mktemp -d /tmp/esm_api_fields.XXXXXX)
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    kmock_stop
    rm -rf "$T"
}
trap cleanup EXIT

export HOME=$T AWS_CONFIG_FILE=$T/aws-config AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER="" KESM_LOG_LEVEL=info
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL
: >"$AWS_CONFIG_FILE"
export KESM_SESSION_TIMEOUT_MS=6000 KESM_HEARTBEAT_INTERVAL_MS=500 KESM_COMMIT_INTERVAL_MS=500

kmock_start -b 1 -t fields:2 -t plain:1 || {
    echo "not ok - kmock did not start"
    exit 1
}
kmock_cmd produce fields 20 >/dev/null
kmock_cmd produce plain 5 >/dev/null
BS=$(printf '%s' "$KMOCK_BOOTSTRAP" | cut -d, -f1)

timeout --foreground --kill-after=20 300 "$KESM" serve --listen 127.0.0.1:0 --state-dir "$T/state" \
    --verify-sigv4 --route '*=stdout' >"$T/serve.out" 2>"$T/serve.err" &
PID=$!
PORT=
for _ in $(seq 200); do
    PORT=$(sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$T/serve.out")
    [ -n "$PORT" ] && break
    sleep 0.05
done
BASE=http://127.0.0.1:$PORT/2015-03-31/event-source-mappings
tap_check "kesm serve --verify-sigv4 listens" test -n "$PORT"

# req METHOD PATH JSON: a botocore-signed request; status in $T/status, body in $T/body.
req() {
    printf '%s' "${3:-}" >"$T/req.json"
    if [ -n "${3:-}" ]; then
        /usr/bin/python3 "$REQ" "$1" "$BASE$2" "$T/req.json" >"$T/resp"
    else
        /usr/bin/python3 "$REQ" "$1" "$BASE$2" >"$T/resp"
    fi
    head -1 "$T/resp" >"$T/status"
    tail -n +2 "$T/resp" >"$T/body"
}
status_is() { test "$(cat "$T/status")" = "$1"; }
jqb() { jq -c "$1" "$T/body"; }

SRC="\"SelfManagedEventSource\": {\"Endpoints\": {\"KAFKA_BOOTSTRAP_SERVERS\": [\"$BS\"]}}"
FIELDS='"MetricsConfig": {"Metrics": ["EventCount", "ErrorCount", "KafkaMetrics"]},
 "LoggingConfig": {"SystemLogLevel": "DEBUG"},
 "ProvisionedPollerConfig": {"MinimumPollers": 1, "MaximumPollers": 3, "PollerGroupName": "team-a_1"},
 "KMSKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"'
req POST / "{\"FunctionName\": \"fields-fn\", \"Topics\": [\"fields\"], $SRC,
 \"StartingPosition\": \"TRIM_HORIZON\", \"BatchSize\": 5,
 \"SelfManagedKafkaEventSourceConfig\": {\"ConsumerGroupId\": \"fields-group\", \"ConsumptionMode\": \"Stream\"},
 $FIELDS}"
U1=$(jq -r .UUID "$T/body")
tap_check "create with the newer members (botocore-signed): 202" status_is 202
tap_check "  MetricsConfig, LoggingConfig, ProvisionedPollerConfig and KMSKeyArn are echoed exactly" \
    test "$(jqb '[.MetricsConfig, .LoggingConfig, .ProvisionedPollerConfig, .KMSKeyArn]')" = \
    '[{"Metrics":["EventCount","ErrorCount","KafkaMetrics"]},{"SystemLogLevel":"DEBUG"},{"MinimumPollers":1,"MaximumPollers":3,"PollerGroupName":"team-a_1"},"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]'
tap_check "  ConsumptionMode Stream is echoed with the group" \
    test "$(jqb .SelfManagedKafkaEventSourceConfig)" = '{"ConsumerGroupId":"fields-group","ConsumptionMode":"Stream"}'
req GET "/$U1"
tap_check "  GetEventSourceMapping returns them too" \
    sh -c "test \"\$(jq -c '.LoggingConfig' '$T/body')\" = '{\"SystemLogLevel\":\"DEBUG\"}'"
timeout 60 "$AWSCLI" --endpoint-url "http://127.0.0.1:$PORT" lambda get-event-source-mapping \
    --uuid "$U1" >"$T/cli.out" 2>"$T/cli.err"
tap_check "  Debian's AWS CLI reads the mapping (the members its model lacks are left out)" \
    sh -c "jq -e '.UUID == \"$U1\" and .BatchSize == 5' '$T/cli.out' >/dev/null"
timeout 60 "$AWSCLI" --endpoint-url "http://127.0.0.1:$PORT" lambda create-event-source-mapping \
    --function-name plain-fn --topics plain --starting-position TRIM_HORIZON \
    --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}}" \
    >"$T/cli2.out" 2>"$T/cli2.err"
U2=$(jq -r .UUID "$T/cli2.out")
tap_check "a mapping without them, from the CLI" test -n "$U2"

# ---- validation: AWS's limits and messages --------------------------------------------------------
bad() { # DESCRIPTION EXTRA-JSON EXPECTED-MESSAGE
    req POST / "{\"FunctionName\": \"bad-fn\", \"Topics\": [\"t\"], $SRC, $2}"
    local msg
    msg=$(jq -r .message "$T/body" 2>/dev/null)
    if status_is 400 && [ "$msg" = "$3" ]; then
        echo "ok - refused: $1"
        TAP_OK=$((TAP_OK + 1))
    else
        echo "not ok - refused: $1"
        echo "#   status $(cat "$T/status"), message: $msg"
        echo "#   expected: $3"
        TAP_FAIL=$((TAP_FAIL + 1))
    fi
}
bad "an unknown metric" '"MetricsConfig": {"Metrics": ["EventCount", "Latency"]}' \
    "1 validation error detected: Value 'Latency' at 'MetricsConfig.Metrics[1]' failed to satisfy constraint: Member must satisfy enum value set: [EventCount, ErrorCount, KafkaMetrics]"
bad "more than 3 metrics" '"MetricsConfig": {"Metrics": ["EventCount", "ErrorCount", "KafkaMetrics", "EventCount"]}' \
    "1 validation error detected: Value '[\"EventCount\",\"ErrorCount\",\"KafkaMetrics\",\"EventCount\"]' at 'MetricsConfig.Metrics' failed to satisfy constraint: Member must have length less than or equal to 3"
bad "an unknown log level" '"LoggingConfig": {"SystemLogLevel": "TRACE"}' \
    "1 validation error detected: Value 'TRACE' at 'LoggingConfig.SystemLogLevel' failed to satisfy constraint: Member must satisfy enum value set: [DEBUG, INFO, WARN]"
bad "MinimumPollers 0 and MaximumPollers 10001" '"ProvisionedPollerConfig": {"MinimumPollers": 0, "MaximumPollers": 10001}' \
    "2 validation errors detected: Value '0' at 'ProvisionedPollerConfig.MinimumPollers' failed to satisfy constraint: Member must be an integer between 1 and 200; Value '10001' at 'ProvisionedPollerConfig.MaximumPollers' failed to satisfy constraint: Member must be an integer between 1 and 10000"
bad "MinimumPollers above MaximumPollers" '"ProvisionedPollerConfig": {"MinimumPollers": 5, "MaximumPollers": 2}' \
    "1 validation error detected: Value '5' at 'ProvisionedPollerConfig.MinimumPollers' failed to satisfy constraint: MinimumPollers must not be greater than MaximumPollers"
bad "a poller group name outside [a-zA-Z0-9-_]" '"ProvisionedPollerConfig": {"PollerGroupName": "team a"}' \
    "1 validation error detected: Value 'team a' at 'ProvisionedPollerConfig.PollerGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]*"
bad "a KMSKeyArn that is not an ARN" '"KMSKeyArn": "alias/mykey"' \
    "1 validation error detected: Value 'alias/mykey' at 'KMSKeyArn' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()"
bad "ConsumptionMode Queue (share groups)" '"SelfManagedKafkaEventSourceConfig": {"ConsumptionMode": "Queue"}' \
    "1 validation error detected: Value 'Queue' at 'SelfManagedKafkaEventSourceConfig.ConsumptionMode' failed to satisfy constraint: Queue mode (Kafka share groups, KIP-932) is not supported by kesm: use Stream (consumer groups, order kept per partition)"
bad "an unknown ConsumptionMode" '"SelfManagedKafkaEventSourceConfig": {"ConsumptionMode": "stream"}' \
    "1 validation error detected: Value 'stream' at 'SelfManagedKafkaEventSourceConfig.ConsumptionMode' failed to satisfy constraint: Member must satisfy enum value set: [Stream, Queue]"
bad "an unknown member of LoggingConfig" '"LoggingConfig": {"ApplicationLogLevel": "INFO"}' \
    "1 validation error detected: Value 'INFO' at 'LoggingConfig.ApplicationLogLevel' failed to satisfy constraint: Member is not a known member of the structure"
req PUT "/$U1" '{"SelfManagedKafkaEventSourceConfig": {"ConsumerGroupId": "fields-group", "ConsumptionMode": "Queue"}}'
tap_check "UpdateEventSourceMapping cannot change ConsumptionMode" \
    sh -c "test \"\$(cat '$T/status')\" = 400 && jq -r .message '$T/body' | grep -q \"at 'SelfManagedKafkaEventSourceConfig.ConsumptionMode' failed to satisfy constraint: Member cannot be updated\""

# ---- effects: metrics under AWS's names, the mapping's own log level ---------------------------------
deadline=$((SECONDS + 60))
until curl -sS "http://127.0.0.1:$PORT/metrics" >"$T/metrics" 2>/dev/null &&
    grep -q "^PolledEventCount{uuid=\"$U1\",function=\"arn:aws:lambda:us-east-1:000000000000:function:fields-fn\"} 20$" "$T/metrics" &&
    grep -q "^CommittedEventCount{uuid=\"$U1\".*} 20$" "$T/metrics" &&
    grep -q "^SumOffsetLag{uuid=\"$U1\".*} 0$" "$T/metrics" ||
    [ "$SECONDS" -ge "$deadline" ]; do
    sleep 0.5
done
tap_check "/metrics: PolledEventCount, InvokedEventCount, CommittedEventCount for MetricsConfig EventCount" \
    sh -c "grep -q '^PolledEventCount{uuid=\"$U1\".*} 20$' '$T/metrics' && grep -q '^InvokedEventCount{uuid=\"$U1\".*} 20$' '$T/metrics' && grep -q '^CommittedEventCount{uuid=\"$U1\".*} 20$' '$T/metrics' && grep -q '^DroppedEventCount{uuid=\"$U1\".*} 0$' '$T/metrics'"
tap_check "  ErrorCount: InvokeErrorCount, CommitErrorCount, OnFailureDestinationDeliveryErrorCount (0)" \
    sh -c "grep -q '^InvokeErrorCount{uuid=\"$U1\".*} 0$' '$T/metrics' && grep -q '^CommitErrorCount{uuid=\"$U1\".*} 0$' '$T/metrics' && grep -q '^OnFailureDestinationDeliveryErrorCount{uuid=\"$U1\".*} 0$' '$T/metrics'"
tap_check "  KafkaMetrics: MaxOffsetLag and SumOffsetLag over the two partitions" \
    sh -c "grep -q '^MaxOffsetLag{uuid=\"$U1\".*} 0$' '$T/metrics' && grep -q '^SumOffsetLag{uuid=\"$U1\".*} 0$' '$T/metrics'"
tap_check "  nothing of the kind for the mapping without MetricsConfig (kesm_offset_lag as always)" \
    sh -c "! grep -q '^[A-Z][A-Za-z]*{uuid=\"$U2\"' '$T/metrics' && grep -q 'kesm_offset_lag{uuid=\"$U2\"' '$T/metrics'"
tap_check "LoggingConfig DEBUG: that mapping's debug lines are written, KESM_LOG_LEVEL info for the rest" \
    sh -c "grep -q ' DEBUG [a-z]* mapping=$U1 ' '$T/serve.err' && ! grep ' DEBUG ' '$T/serve.err' | grep -vq 'mapping=$U1 '"

kill -TERM "$PID"
wait "$PID"
PID=
kmock_stop
tap_done
