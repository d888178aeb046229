#!/usr/bin/env bash
# tests/integration/esm_dest_aws.sh: on-failure destinations that are AWS services, delivered by
# `kesm run` to servers others wrote, from npm: sqslite (SQS, query protocol), the SNS emulator of
# serverless-offline-sns (with an http subscriber that records what it delivers) and s3rver (S3,
# which checks every SigV4 signature). A function that always fails, MaximumRetryAttempts 0 and
# BatchSize 2 over 6 records: exactly three failure records arrive, in offset order, in Lambda's
# shape (metadata only for SQS and SNS; the record plus the event as "payload" for S3), and the
# AWS CLI reads them back. An SQS destination that is down holds the partition (nothing is
# committed, nothing dropped) until it is up, then everything is delivered.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/lib/node.sh
. tests/integration/esm_run_lib.bash
AWSCLI=/usr/bin/aws
T=$RUN_TMP
PIDS=()

cleanup() {
    kesm_kill
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    kmock_stop
}
at_exit cleanup

if [ ! -x "$KESM" ]; then
    echo "not ok - $KESM is not built"
    exit 1
fi
if ! node_deps "$T/npm.log" sqslite s3rver serverless-offline-sns express; then
    echo "not ok - npm ci in tests/node installs sqslite, s3rver, serverless-offline-sns and express"
    tail -20 "$T/npm.log" | sed 's/^/# /'
    exit 1
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# wait_port PORT: until something listens on 127.0.0.1:PORT (20 s).
wait_port() {
    local i
    for i in $(seq 100); do
        python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1)' \
            "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}
start_sqslite() { # PORT
    timeout 300 node tests/node/node_modules/sqslite/bin/cli.js --host 127.0.0.1 --port "$1" \
        >>"$T/sqslite.log" 2>&1 &
    SQS_PID=$!
    PIDS+=("$SQS_PID")
    wait_port "$1"
}

# Credentials and a region for kesm and the CLI; never the user's files or instance metadata.
# s3rver accepts only its own key pair (S3RVER/S3RVER); the others accept anything.
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 \
    AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ENDPOINT_URL

kmock_start -b 1 -t dsqs:1 -t dsns:1 -t ds3:1 -t ddown:1 || {
    echo "not ok - kmock did not start"
    exit 1
}
for t in dsqs dsns ds3 ddown; do
    kmock_cmd produce "$t" 6 partition=0 >/dev/null
done

SQS_PORT=$(free_port)
start_sqslite "$SQS_PORT" || echo "not ok - sqslite listens"
# sqslite finds queues by a URL on "localhost" (its QueueUrl is http://<Host>/queues/<name>).
SQS_URL=http://localhost:$SQS_PORT
$AWSCLI --endpoint-url "$SQS_URL" sqs create-queue --queue-name dlq1 >/dev/null
(cd tests/node && exec timeout 300 node sns_server.mjs "$T/sns.port") >"$T/sns.log" 2>&1 &
PIDS+=($!)
timeout 300 python3 tests/tools/capture_http.py --port-file "$T/cap.port" --log "$T/cap.log" \
    --lifetime 300 &
PIDS+=($!)
S3_PORT=$(free_port)
mkdir -p "$T/s3data"
timeout 300 node tests/node/node_modules/s3rver/bin/s3rver.js -d "$T/s3data" -a 127.0.0.1 \
    -p "$S3_PORT" --configure-bucket dlq3 >"$T/s3rver.log" 2>&1 &
PIDS+=($!)
for f in sns.port cap.port; do
    for i in $(seq 100); do
        [ -s "$T/$f" ] && break
        sleep 0.2
    done
done
wait_port "$S3_PORT" || echo "not ok - s3rver listens"
SNS_URL=http://127.0.0.1:$(cat "$T/sns.port")
$AWSCLI --endpoint-url "$SNS_URL" sns create-topic --name dlq2 >/dev/null
$AWSCLI --endpoint-url "$SNS_URL" sns subscribe --topic-arn arn:aws:sns:us-east-1:000000000000:dlq2 \
    --protocol http --notification-endpoint "http://127.0.0.1:$(cat "$T/cap.port")/sns" \
    --attributes RawMessageDelivery=true >/dev/null
export AWS_ENDPOINT_URL_SQS=$SQS_URL AWS_ENDPOINT_URL_SNS=$SNS_URL \
    AWS_ENDPOINT_URL_S3=http://127.0.0.1:$S3_PORT

# failing_mapping FILE TOPIC DESTINATION: BatchSize 2, no retries, a function that always fails.
failing_mapping() {
    run_mapping "$1" "$2" "\"BatchSize\": 2, \"MaximumRetryAttempts\": 0,
      \"DestinationConfig\": {\"OnFailure\": {\"Destination\": \"$3\"}}"
    sed -i 's/"Command": \[[^]]*\]/"Command": ["false"]/' "$1"
}

# check_records KIND TOPIC FILE: FILE holds one failure record per line; they must be exactly the
# three of TOPIC's batches, in order, in Lambda's shape (payload only for S3).
check_records() {
    python3 - "$@" <<'PY'
import json, sys
kind, topic, path = sys.argv[1:4]
recs = [json.loads(l) for l in open(path) if l.strip()]
bad = []
if len(recs) != 3:
    bad.append("want 3 records, got %d" % len(recs))
for i, r in enumerate(recs[:3]):
    rq, rs, info = r.get("requestContext", {}), r.get("responseContext"), r.get("KafkaBatchInfo", {})
    ri = info.get("recordsInfo", {}).get(topic + "-0", {})
    want = (str(2 * i), str(2 * i + 1))
    if (ri.get("firstRecordOffset"), ri.get("lastRecordOffset")) != want:
        bad.append("record %d covers %s, want offsets %s" % (i, ri, want))
    if rq.get("condition") != "RetryAttemptsExhausted" or rq.get("approximateInvokeCount") != 1:
        bad.append("record %d requestContext %s" % (i, rq))
    if rq.get("functionArn") != "arn:aws:lambda:us-east-1:123456789012:function:demo":
        bad.append("record %d functionArn %s" % (i, rq.get("functionArn")))
    if not rs or rs.get("functionError") != "Unhandled" or r.get("version") != "1.0":
        bad.append("record %d responseContext %s" % (i, rs))
    if info.get("batchSize") != 2 or not info.get("payloadSize"):
        bad.append("record %d KafkaBatchInfo %s" % (i, info))
    if kind == "s3":
        ev = json.loads(r.get("payload", "null") or "null")
        offs = [x["offset"] for x in (ev or {}).get("records", {}).get(topic + "-0", [])]
        if offs != [2 * i, 2 * i + 1] or len(r["payload"]) != info.get("payloadSize"):
            bad.append("record %d payload offsets %s" % (i, offs))
    elif "payload" in r:
        bad.append("record %d carries a payload (SQS and SNS get metadata only)" % i)
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}

# sqs_bodies URL QUEUE OUT N: receive until N messages arrived (20 s), one body per line to OUT.
sqs_bodies() {
    local deadline=$((SECONDS + 20))
    : >"$3"
    while [ "$(lines "$3")" -lt "$4" ] && [ "$SECONDS" -lt "$deadline" ]; do
        $AWSCLI --endpoint-url "$1" sqs receive-message --queue-url "$1/queues/$2" \
            --max-number-of-messages 10 --output json 2>/dev/null |
            python3 -c 'import json,sys
try:
    d = json.load(sys.stdin)
except ValueError:
    d = {}
for m in d.get("Messages", []): print(m["Body"])' >>"$3" 2>/dev/null
        [ "$(lines "$3")" -ge "$4" ] || sleep 0.5
    done
}

# ---- SQS -------------------------------------------------------------------------------------
failing_mapping "$T/sqs.json" dsqs arn:aws:sqs:us-east-1:000000000000:dlq1
kesm_start "$T/sqs.json"
sqs_bodies "$SQS_URL" dlq1 "$T/sqs.out" 3
sleep 1
kesm_stop
tap_check "SQS: the three failure records arrive in order, metadata only (aws sqs receive-message)" \
    check_records sqs dsqs "$T/sqs.out"
tap_check "  the partition is committed past them (0=6)" \
    grep -q "0=6" <<<"$(committed_of "$(group_of)" dsqs 1)"
tap_check "  the log names the destination and its endpoint override" \
    grep -q "arn:aws:sqs:us-east-1:000000000000:dlq1: SQS at $SQS_URL from AWS_ENDPOINT_URL_SQS" \
    "$T/kesm.err"

# ---- SNS -------------------------------------------------------------------------------------
failing_mapping "$T/sns.json" dsns arn:aws:sns:us-east-1:000000000000:dlq2
kesm_start "$T/sns.json"
wait_lines 20 "$T/cap.log" 3
sleep 1
kesm_stop
# SNS standard topics do not order their fan-out (the emulator posts to subscribers concurrently),
# so the records are put in the order of their own timestamp (when kesm gave the batch up) before
# checking that they cover the batches in order.
python3 -c 'import json,sys
bodies = [json.loads(l)["body"] for l in open(sys.argv[1])]
for b in sorted(bodies, key=lambda b: json.loads(b).get("timestamp", "")): print(b)' \
    "$T/cap.log" >"$T/sns.out"
tap_check "SNS: Publish through the emulator delivers the three records (in order of disposal), metadata only" \
    check_records sns dsns "$T/sns.out"
tap_check "  the partition is committed past them (0=6)" \
    grep -q "0=6" <<<"$(committed_of "$(group_of)" dsns 1)"

# ---- S3 --------------------------------------------------------------------------------------
failing_mapping "$T/s3.json" ds3 arn:aws:s3:::dlq3
kesm_start "$T/s3.json"
deadline=$((SECONDS + 20))
keys=
while [ "$SECONDS" -lt "$deadline" ]; do
    keys=$($AWSCLI --endpoint-url "http://127.0.0.1:$S3_PORT" s3api list-objects --bucket dlq3 \
        --query 'Contents[].Key' --output text 2>/dev/null | tr '\t' '\n' | grep -c .)
    [ "${keys:-0}" -ge 3 ] && break
    sleep 0.5
done
sleep 1
kesm_stop
: >"$T/s3.out"
for k in $($AWSCLI --endpoint-url "http://127.0.0.1:$S3_PORT" s3api list-objects --bucket dlq3 \
    --query 'Contents[].Key' --output text | tr '\t' '\n' | sort -t- -k1,1 -k5,5n); do
    $AWSCLI --endpoint-url "http://127.0.0.1:$S3_PORT" s3api get-object --bucket dlq3 --key "$k" \
        "$T/obj" >/dev/null && cat "$T/obj" >>"$T/s3.out" && echo >>"$T/s3.out"
done
tap_check "S3: PutObject (signatures checked by s3rver) stores the three records with the event as payload" \
    check_records s3 ds3 "$T/s3.out"
tap_check "  object keys follow aws/lambda/<mapping>/<topic>-<partition>/YYYY/MM/DD/..." \
    grep -Eq '^aws/lambda/[0-9a-f-]{36}/ds3-0/[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9T.-]+-[024]-[0-9a-f-]{36}\.json$' \
    <<<"$($AWSCLI --endpoint-url "http://127.0.0.1:$S3_PORT" s3api list-objects --bucket dlq3 \
        --query 'Contents[].Key' --output text | tr '\t' '\n')"

# ---- a destination that is down holds the partition -----------------------------------------
DOWN_PORT=$(free_port)
export AWS_ENDPOINT_URL_SQS=http://localhost:$DOWN_PORT
failing_mapping "$T/down.json" ddown arn:aws:sqs:us-east-1:000000000000:dlq4
kesm_start "$T/down.json"
deadline=$((SECONDS + 30))
until [ "$(grep -c 'on-failure destination arn:aws:sqs:us-east-1:000000000000:dlq4: SQS GetQueueUrl' "$T/kesm.err")" -ge 3 ] ||
    [ "$SECONDS" -ge "$deadline" ]; do
    sleep 0.3
done
tap_check "SQS down: deliveries fail with the destination and the reason named, and are retried" \
    test "$(grep -c 'arn:aws:sqs:us-east-1:000000000000:dlq4: SQS GetQueueUrl: connect error' "$T/kesm.err")" -ge 3
DOWN_GROUP=$(group_of)
tap_check "  nothing is committed while it is down" \
    grep -Eq "0=(none|0)( |$)" <<<"$(committed_of "$DOWN_GROUP" ddown 1)"
start_sqslite "$DOWN_PORT" || echo "not ok - the second sqslite listens"
$AWSCLI --endpoint-url "http://localhost:$DOWN_PORT" sqs create-queue --queue-name dlq4 >/dev/null
sqs_bodies "http://localhost:$DOWN_PORT" dlq4 "$T/down.out" 3
sleep 1
kesm_stop
tap_check "  once it is up, every failure record is delivered, in order, none lost or repeated" \
    check_records sqs ddown "$T/down.out"
tap_check "  and the partition is committed past them (0=6)" \
    grep -q "0=6" <<<"$(committed_of "$DOWN_GROUP" ddown 1)"

kmock_stop
tap_done
