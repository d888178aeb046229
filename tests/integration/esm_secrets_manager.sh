#!/usr/bin/env bash
# esm_secrets_manager.sh: `kesm serve --secrets-manager` fetches the secrets that
# SourceAccessConfigurations name over HTTPS (--secrets-manager-ca: the test CA) from a local fake
# of AWS Secrets Manager (tests/tools/fake_secretsmanager.py), which checks every GetSecretValue against the request
# botocore builds for the same call (body, headers, signed headers, SigV4 signature with a session
# token) and answers with AWS's JSON 1.1 shapes:
#   - the documented SCRAM example runs: its secret is first served with a stale password (the
#     broker refuses it), kesm drops the cached value, fetches it again and delivers every record;
#   - the request is signed for the ARN's region (an eu-west-1 ARN is signed for eu-west-1);
#   - AccessDeniedException stops the mapping with EVENT_SOURCE_AUTHN_ERROR, and
#     ResourceNotFoundException with ESM_CONFIG_NOT_VALID, each naming the secret;
#   - no secret value reaches kesm's output.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/lib/secure_cluster.sh
T=$TEST_TMP
PID=
SMPID=
cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    if [ -n "$SMPID" ]; then
        kill -TERM "$SMPID" 2>/dev/null
        wait "$SMPID" 2>/dev/null
    fi
    secure_cluster_stop >/dev/null 2>&1
}
at_exit cleanup

for need in "$KESM" /usr/bin/aws /usr/bin/jq /usr/bin/curl; do
    if [ ! -x "$need" ]; then
        echo "not ok - $need is missing"
        exit 1
    fi
done
if ! secure_cluster_start -b 1 -t AWSKafkaTopic:2 -t t-denied:1 -t t-missing:1 -t t-eu:1 \
    >"$T/start.log" 2>&1; then
    tap_fail "secure cluster (kmock + sasl_front.pl) starts" "$(tail -3 "$T/start.log")"
    tap_done
fi
tap_check "produce 20 records to AWSKafkaTopic" kmock_cmd produce AWSKafkaTopic 20

export HOME=$T AWS_CONFIG_FILE=$T/aws-config AWS_SHARED_CREDENTIALS_FILE=$T/aws-credentials
export AWS_ACCESS_KEY_ID=ASIAKESMTESTKEY AWS_SECRET_ACCESS_KEY=kesmTestSecretAccessKey/xyz+EXAMPLE
export AWS_SESSION_TOKEN=kesm-test-session-token AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
unset AWS_PROFILE AWS_ENDPOINT_URL
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"

# MyBrokerSecretName: a stale password first (as after a rotation kesm has not seen), then the
# current one. The values are written by jq, never passed on a command line.
(
    umask 077
    jq -n '{MyBrokerSecretName: [({username: "alice", password: "stale-Pa55word"}|tojson),
                                 ({username: "alice", password: "alice-secret"}|tojson)],
            EuSecret: ({username: "alice", password: "alice-secret"}|tojson)}' >"$T/sm.json"
)
timeout --kill-after=5 "$LIFETIME" python3 tests/tools/fake_secretsmanager.py --port-file "$T/sm.port" \
    --log "$T/sm.log" --secrets "$T/sm.json" --key "$AWS_ACCESS_KEY_ID" \
    --secret "$AWS_SECRET_ACCESS_KEY" --token "$AWS_SESSION_TOKEN" --deny DeniedSecret \
    --tls-cert "$SECURE_DIR/server.pem" --tls-key "$SECURE_DIR/server.key" \
    --lifetime "$LIFETIME" 2>"$T/sm.err" &
SMPID=$!
tap_check "the fake Secrets Manager starts" wait_until 20 test -s "$T/sm.port"

export HANDLER_LOG=$T/delivered KESM_SESSION_TIMEOUT_MS=6000 KESM_HEARTBEAT_INTERVAL_MS=500
export SSL_CERT_FILE=$SECURE_CA
timeout --foreground --kill-after=20 "$LIFETIME" "$KESM" serve --listen 127.0.0.1:0 \
    --state-dir "$T/state" --drain-timeout 2000 --secrets-manager \
    --secrets-manager-endpoint "https://localhost:$(cat "$T/sm.port")" \
    --secrets-manager-ca "$SECURE_CA" \
    --route "*=exec:$PWD/examples/handler.py" >"$T/serve.out" 2>"$T/serve.err" &
PID=$!
serve_port() { sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$T/serve.out" | grep .; }
tap_check "kesm serve starts with --secrets-manager" wait_until 10 serve_port
PORT=$(serve_port)
API=http://127.0.0.1:$PORT/2015-03-31/event-source-mappings
ENDPOINT=http://127.0.0.1:$PORT
lines() { if [ -f "$HANDLER_LOG" ]; then wc -l <"$HANDLER_LOG"; else echo 0; fi; }
at_least() { [ "$(lines)" -ge "$1" ]; }
. tests/lib/api.sh # signed requests (kesm serve checks SigV4 by default)
get() { api_curl -sS "$API/$1" | jq -r "$2"; }
state_is() { [ "$(get "$1" '.State + "/" + .StateTransitionReason')" = "$2" ]; }
result_has() { get "$1" .LastProcessingResult | grep -qF -- "$2"; }
show() { api_curl -sS "$API/$1" | jq -c '{State, StateTransitionReason, LastProcessingResult}'; }
BS=$(printf '%s' "$SECURE_BOOTSTRAP" | sed 's/,/", "/g')

aws --endpoint-url "$ENDPOINT" lambda create-event-source-mapping --topics AWSKafkaTopic \
  --source-access-configuration Type=SASL_SCRAM_512_AUTH,URI=arn:aws:secretsmanager:us-east-1:01234567890:secret:MyBrokerSecretName \
  --function-name arn:aws:lambda:us-east-1:01234567890:function:my-kafka-function \
  --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}}" \
  >"$T/c1.json" 2>"$T/c1.err"
U1=$(jq -r .UUID "$T/c1.json")
tap_check "the SCRAM example creates a mapping" test "$(jq -r .State "$T/c1.json")" = Creating
tap_check "all 20 records are delivered with the secret from Secrets Manager" \
    wait_until 60 at_least 20
tap_check "  ... each offset exactly once" \
    test "$(cut -d' ' -f1,2 "$HANDLER_LOG" | sort -u | wc -l)/$(lines)" = 20/20
tap_check "the stale password was refused by the broker first" \
    grep -q 'SASL_AUTHENTICATION_FAILED\|authentication failed' "$T/serve.err"
tap_check "  ... and the secret fetched again (two GetSecretValue for it)" test \
    "$(jq -r 'select(.secret_id == "arn:aws:secretsmanager:us-east-1:01234567890:secret:MyBrokerSecretName") | .answer' "$T/sm.log" | tr '\n' ' ')" = "ok ok "
tap_check "the mapping is Enabled" state_is "$U1" Enabled/USER_INITIATED

# create TOPIC URI: a SCRAM mapping through the AWS CLI; prints its UUID.
create() {
    aws --endpoint-url "$ENDPOINT" lambda create-event-source-mapping --topics "$1" \
        --source-access-configuration "Type=SASL_SCRAM_512_AUTH,URI=$2" \
        --function-name my-kafka-function --starting-position TRIM_HORIZON \
        --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}}" |
        jq -r .UUID
}
UD=$(create t-denied arn:aws:secretsmanager:us-east-1:01234567890:secret:DeniedSecret)
UM=$(create t-missing arn:aws:secretsmanager:us-east-1:01234567890:secret:NoSuchSecret)
UE=$(create t-eu arn:aws:secretsmanager:eu-west-1:01234567890:secret:EuSecret)
tap_check "AccessDeniedException: Disabled, EVENT_SOURCE_AUTHN_ERROR" \
    wait_until 20 state_is "$UD" Disabled/EVENT_SOURCE_AUTHN_ERROR
tap_check "  ... naming the secret and AWS's error" result_has "$UD" \
    "Secrets Manager GetSecretValue for secret 'arn:aws:secretsmanager:us-east-1:01234567890:secret:DeniedSecret' failed: HTTP 400 AccessDeniedException: User: arn:aws:iam::01234567890:user/kesm is not authorized"
tap_check "ResourceNotFoundException: Disabled, ESM_CONFIG_NOT_VALID" \
    wait_until 20 state_is "$UM" Disabled/ESM_CONFIG_NOT_VALID
tap_check "  ... naming the secret and AWS's error" result_has "$UM" \
    "secret 'arn:aws:secretsmanager:us-east-1:01234567890:secret:NoSuchSecret' failed: HTTP 400 ResourceNotFoundException: Secrets Manager can't find the specified secret."
tap_check "an eu-west-1 secret ARN: the mapping runs" wait_until 20 state_is "$UE" Enabled/USER_INITIATED
tap_check "  ... its GetSecretValue was signed for eu-west-1" test \
    "$(jq -r 'select(.secret_id | endswith(":EuSecret")) | .region + "/" + .answer' "$T/sm.log")" = eu-west-1/ok
for u in "$UD" "$UM" "$UE"; do show "$u"; done | sed 's/^/# /'
tap_check "every GetSecretValue matched botocore's request and signature" \
    test "$(jq -r .check "$T/sm.log" | sort -u)" = ok
tap_check "  ... ($(wc -l <"$T/sm.log") requests, with the session token signed)" \
    test "$(wc -l <"$T/sm.log")" -ge 5

kill -TERM "$PID"
wait "$PID"
RC=$?
PID=
tap_check "kesm serve exits 0 on SIGTERM" test "$RC" = 0
tap_check "no secret value or credential in kesm's output or state" \
    test -z "$(grep -rlE 'alice-secret|stale-Pa55word|kesmTestSecretAccessKey|kesm-test-session-token' "$T/serve.out" "$T/serve.err" "$T/state")"
if [ "$TAP_FAIL" != 0 ]; then
    grep -v ' DEBUG ' "$T/serve.err" | grep -v '^handler' | tail -30 | sed 's/^/# /'
    sed 's/^/# sm: /' "$T/sm.log" "$T/sm.err" | tail -10
fi
tap_done
