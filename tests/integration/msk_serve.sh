#!/usr/bin/env bash
# tests/integration/msk_serve.sh: Amazon MSK mappings through `kesm serve` and the real AWS CLI
# (Debian's /usr/bin/aws): create with --event-source-arn and
# --amazon-managed-kafka-event-source-config, the ARN and group echoed by create, get, list
# (--event-source-arn finds the cluster's mappings only) and update; the records of the cluster
# (brokers from a GetBootstrapBrokers fixture checking SigV4 with botocore, IAM over OAUTHBEARER at
# the secured front, tokens checked with botocore) delivered through a route; the refusals (both
# sources, another region, an update of the ARN); a token the brokers refuse turns the mapping
# Disabled with EVENT_SOURCE_AUTHN_ERROR.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/lib/secure_cluster.sh

T=$TEST_TMP
PID=
FIX_PID=
cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    [ -n "$FIX_PID" ] && kill "$FIX_PID" 2>/dev/null
    secure_cluster_stop
}
at_exit cleanup

REGION=eu-west-1
ARN="arn:aws:kafka:$REGION:123456789012:cluster/demo/6f1c2a9e-1111-2222-3333-444455556666-2"
FN="arn:aws:lambda:$REGION:123456789012:function:orders"
export HOME=$T AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER="" \
    AWS_ACCESS_KEY_ID=AKIDMSKSERVE0001 AWS_SECRET_ACCESS_KEY=msk-serve-secret-0001 \
    AWS_DEFAULT_REGION=$REGION AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL
umask 077
printf '%s:%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$T/keys"
VERIFY="python3 $PWD/tests/oracle/msk_iam_verify.py $REGION $T/keys"
if ! secure_cluster_start -b 1 -t msk:2 >"$T/start.log" 2>&1 ||
    ! secure_front_restart --mechanisms OAUTHBEARER --oauth-verifier "$VERIFY" \
        >>"$T/start.log" 2>&1; then
    echo "not ok - secure cluster did not start"
    sed 's/^/#   /' "$T/start.log" | tail -10
    exit 1
fi
kmock_cmd produce msk 8 >/dev/null
# The fixture reads its answer for every request: the front's listeners change when it restarts.
brokers_answer() { printf '{"bootstrapBrokerStringSaslIam": "%s"}' "$SECURE_BOOTSTRAP" >"$T/reply"; }
brokers_answer
python3 tests/oracle/msk_fixture.py --port-file "$T/fix.port" --log "$T/fix.log" \
    --region "$REGION" --arn "$ARN" --key "$AWS_ACCESS_KEY_ID=$AWS_SECRET_ACCESS_KEY" \
    --reply-file "$T/reply" 2>"$T/fix.err" &
FIX_PID=$!
wait_until 60 test -s "$T/fix.port"
export AWS_ENDPOINT_URL_KAFKA="http://127.0.0.1:$(cat "$T/fix.port")"

timeout --foreground --kill-after=20 "$LIFETIME" "$KESM" serve --listen 127.0.0.1:0 \
    --state-dir "$T/state" --region "$REGION" --account 123456789012 --allow-api-file-secrets \
    --route '*=stdout' >"$T/serve.out" 2>"$T/serve.err" &
PID=$!
serve_port() { sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$T/serve.out" | grep .; }
tap_check "kesm serve starts" wait_until 20 serve_port
PORT=$(serve_port)
lam() {
    timeout 60 aws --endpoint-url "http://127.0.0.1:$PORT" --cli-read-timeout 20 lambda "$@" \
        >"$T/out" 2>"$T/err"
    RC=$?
}
field() { jq -r "$1" "$T/out"; }
. tests/lib/api.sh
API=http://127.0.0.1:$PORT/2015-03-31/event-source-mappings
get() { api_curl -sS "$API/$1" | jq -r "$2"; }
state_is() { [ "$(get "$1" '.State + "/" + .StateTransitionReason')" = "$2" ]; }
offsets() { grep -o '"offset"' "$T/serve.out" | wc -l; }
has_offsets() { [ "$(offsets)" -ge "$1" ]; }
CA="Type=SERVER_ROOT_CA_CERTIFICATE,URI=file://$SECURE_CA"

lam create-event-source-mapping --function-name "$FN" --event-source-arn "$ARN" --topics msk \
    --starting-position TRIM_HORIZON --source-access-configurations "$CA" \
    --amazon-managed-kafka-event-source-config '{"ConsumerGroupId": "msk-serve"}'
U1=$(field .UUID)
tap_check "create with --event-source-arn exits 0" test "$RC" = 0
tap_check "  echoes EventSourceArn and AmazonManagedKafkaEventSourceConfig" \
    test "$(field '.EventSourceArn + " " + .AmazonManagedKafkaEventSourceConfig.ConsumerGroupId + " " + (.SelfManagedEventSource|tostring)')" = "$ARN msk-serve null"
tap_check "the cluster's 8 records are delivered through the route" wait_until 60 has_offsets 8
tap_check "  as aws:kafka events with the cluster ARN" \
    grep -q "^{\"eventSource\":\"aws:kafka\",\"eventSourceArn\":\"$ARN\",\"bootstrapServers\":\"127.0.0.1:" "$T/serve.out"
tap_check "  over IAM: the front authenticated the key with botocore" \
    grep -q "authenticated OAUTHBEARER user=$AWS_ACCESS_KEY_ID" "$SECURE_FRONT_LOG"
lam get-event-source-mapping --uuid "$U1"
tap_check "get: Enabled, the ARN and group echoed" \
    test "$(field '.State + " " + .EventSourceArn + " " + .AmazonManagedKafkaEventSourceConfig.ConsumerGroupId')" = "Enabled $ARN msk-serve"
lam list-event-source-mappings --event-source-arn "$ARN"
tap_check "list --event-source-arn finds the mapping" \
    test "$(field '[.EventSourceMappings[].UUID]|join(",")')" = "$U1"
lam list-event-source-mappings --event-source-arn "${ARN%-2}-3"
tap_check "list with another cluster's ARN finds none" \
    test "$RC/$(field '.EventSourceMappings|length')" = 0/0
lam update-event-source-mapping --uuid "$U1" --batch-size 5
tap_check "update --batch-size echoes the ARN" \
    test "$RC/$(field '(.BatchSize|tostring) + " " + .EventSourceArn')" = "0/5 $ARN"
api_curl -sS -X PUT "$API/$U1" -d "{\"EventSourceArn\": \"${ARN%-2}-3\"}" >"$T/out"
tap_check "updating EventSourceArn is refused" \
    grep -q "'EventSourceArn' failed to satisfy constraint: Member cannot be updated" "$T/out"
lam create-event-source-mapping --function-name "$FN" --event-source-arn "$ARN" --topics msk \
    --self-managed-event-source '{"Endpoints":{"KAFKA_BOOTSTRAP_SERVERS":["127.0.0.1:9"]}}'
tap_check "both sources: InvalidParameterValueException" \
    sh -c "[ $RC != 0 ] && grep -q 'InvalidParameterValueException.*must not be given together with EventSourceArn' '$T/err'"
lam create-event-source-mapping --function-name orders --topics msk \
    --event-source-arn "arn:aws:kafka:us-east-1:123456789012:cluster/demo/x-1"
tap_check "a cluster of another region: refused, naming the mapping's region" \
    sh -c "[ $RC != 0 ] && grep -q \"must be in the mapping's region $REGION\" '$T/err'"
lam delete-event-source-mapping --uuid "$U1"
tap_check "delete exits 0" test "$RC" = 0

# Tokens the brokers refuse (they find them expired): the mapping stops with the reason.
KESM_VERIFY_CLOCK_OFFSET=1000 secure_front_restart --mechanisms OAUTHBEARER \
    --oauth-verifier "$VERIFY" >/dev/null 2>&1
brokers_answer
lam create-event-source-mapping --function-name "$FN" --event-source-arn "$ARN" --topics msk \
    --starting-position TRIM_HORIZON --source-access-configurations "$CA" \
    --amazon-managed-kafka-event-source-config '{"ConsumerGroupId": "msk-serve-2"}'
U2=$(field .UUID)
tap_check "refused tokens: Disabled with EVENT_SOURCE_AUTHN_ERROR" \
    wait_until 60 state_is "$U2" Disabled/EVENT_SOURCE_AUTHN_ERROR
result_has() { get "$1" .LastProcessingResult | grep -q -- "$2"; }
tap_check "  LastProcessingResult names OAUTHBEARER and the broker's reason" \
    result_has "$U2" 'OAUTHBEARER.*invalid_token'
tap_check "  the Kafka API calls were all signed (botocore agrees)" \
    sh -c "! grep -v '\"sig\": \"ok\"' '$T/fix.log' | grep -q ."
tap_check "no secret key in kesm's logs" \
    sh -c "! grep -q '$AWS_SECRET_ACCESS_KEY' '$T/serve.err' '$T/serve.out'"

kill -TERM "$PID"
wait "$PID"
rc=$?
PID=
tap_check "kesm serve stops with status 0" test "$rc" = 0
if [ "$TAP_FAIL" != 0 ]; then
    echo "# serve stderr (last 25 lines):"
    tail -25 "$T/serve.err" | sed 's/^/#   /'
fi
secure_cluster_stop
tap_done
