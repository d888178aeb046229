#!/usr/bin/env bash
# esm_awscli_secrets.sh: Lambda's documented AWS CLI examples, pasted unchanged apart from
# --endpoint-url and the bootstrap servers, run against `kesm serve` with a local secrets
# directory and the secured test cluster (TLS + SASL/SCRAM in front of kmock):
#   - the SASL_SCRAM_512_AUTH example resolves arn:...:secret:MyBrokerSecretName to
#     <secrets dir>/MyBrokerSecretName and delivers every record to the routed function;
#   - the VPC example is accepted, runs, and echoes its entries exactly;
#   - get-event-source-mapping prints what was created, list echoes the VPC entries too;
#   - a --route to the lambda transport invokes a function in its ARN's region (eu-west-1, checked
#     by tests/tools/fake_lambda.py with botocore);
#   - kesm run finds the same secrets through Kesm.SecretsDir (and the broker CA in a secret);
#   - a secret file with loose permissions, one with a missing key, a missing secret, invalid PEM
#     and an encrypted private key with the wrong password each stop their mapping with their
#     own reason and message; a function no route delivers is FUNCTION_CONFIG_NOT_VALID;
#   - bootstrap servers that do not resolve (a loopback DNS stub answers NXDOMAIN) leave their
#     mapping Disabled with ESM_CONFIG_NOT_VALID and a reason, while the API and the other
#     mappings carry on;
#   - no secret value reaches kesm's output.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/lib/secure_cluster.sh
T=$TEST_TMP
PID=
DNSPID=
cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    if [ -n "${LAMBDAPID:-}" ]; then
        kill -TERM "$LAMBDAPID" 2>/dev/null
        wait "$LAMBDAPID" 2>/dev/null
    fi
    if [ -n "$DNSPID" ]; then
        kill -TERM "$DNSPID" 2>/dev/null
        wait "$DNSPID" 2>/dev/null
    fi
    secure_cluster_stop >/dev/null 2>&1
}
at_exit cleanup

for need in "$KESM" /usr/bin/aws /usr/bin/jq /usr/bin/curl /usr/bin/openssl; do
    if [ ! -x "$need" ]; then
        echo "not ok - $need is missing"
        exit 1
    fi
done
if ! secure_cluster_start -b 1 -t AWSKafkaTopic:2 -t t-loose:1 -t t-nokey:1 -t t-missing:1 \
    -t t-pem:1 -t t-pw:1 -t t-dns:1 -t t-route:1 -t t-eu:1 >"$T/start.log" 2>&1; then
    tap_fail "secure cluster (kmock + sasl_front.pl) starts" "$(tail -3 "$T/start.log")"
    tap_done
fi
tap_check "produce 20 records to AWSKafkaTopic" kmock_cmd produce AWSKafkaTopic 20

timeout --kill-after=5 "$LIFETIME" python3 tests/tools/dns_nx.py --port-file "$T/dns.port" \
    --lifetime "$LIFETIME" 2>"$T/dns.log" &
DNSPID=$!
tap_check "the NXDOMAIN DNS stub starts" wait_until 10 test -s "$T/dns.port"

# A fake Lambda Invoke API (botocore checks every signature) for a function in eu-west-1: the
# lambda route must sign for the region of the function's ARN.
EUFN=arn:aws:lambda:eu-west-1:01234567890:function:eu-function
timeout --kill-after=5 "$LIFETIME" /usr/bin/python3 tests/tools/fake_lambda.py --port-file "$T/lambda.port" \
    --log "$T/lambda.log" --mode invoke --function "$EUFN" --region eu-west-1 \
    --key AKIDEXAMPLE --secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY --lifetime "$LIFETIME" \
    --script ok 2>"$T/lambda.err" &
LAMBDAPID=$!
tap_check "the fake Lambda API starts" wait_until 10 test -s "$T/lambda.port"

# ---- the secrets directory ----------------------------------------------------------------
S=$T/secrets
mkdir -m 700 "$S"
(
    umask 077
    printf '{"username": "alice", "password": "alice-secret"}' >"$S/MyBrokerSecretName"
    printf '{"username": "alice", "password": "alice-secret"}' >"$S/LooseSecret"
    printf '{"username": "alice"}' >"$S/NoPasswordSecret"
    jq -n '{certificate: "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
            privateKey: "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"}' \
        >"$S/BadPemSecret"
    openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES -in "$SECURE_DIR/client.key" \
        -passout pass:right-key-password -out "$T/enc.key" 2>/dev/null
    jq -n --rawfile c "$SECURE_DIR/client.pem" --rawfile k "$T/enc.key" \
        '{certificate: $c, privateKey: $k, privateKeyPassword: "wrong-key-password"}' \
        >"$S/WrongPasswordSecret"
    jq -n --rawfile c "$SECURE_CA" '{certificate: $c}' >"$S/RootCaSecret"
)
chmod 644 "$S/LooseSecret"
tap_check "the encrypted (PBES1) client key was made" grep -q 'BEGIN ENCRYPTED PRIVATE KEY' "$T/enc.key"

export HOME=$T AWS_CONFIG_FILE=$T/aws-config AWS_SHARED_CREDENTIALS_FILE=$T/aws-credentials
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
export HANDLER_LOG=$T/delivered KESM_SESSION_TIMEOUT_MS=6000 KESM_HEARTBEAT_INTERVAL_MS=500
# The documented SCRAM example names no root CA: the test CA is the "system" store here.
export SSL_CERT_FILE=$SECURE_CA

timeout --foreground --kill-after=20 "$LIFETIME" "$KESM" serve --listen 127.0.0.1:0 \
    --state-dir "$T/state" --drain-timeout 2000 --secrets-dir "$S" \
    --nameserver "127.0.0.1:$(cat "$T/dns.port")" \
    --route "my-kafka-function=exec:$PWD/examples/handler.py" \
    --route "eu-function=lambda:http://127.0.0.1:$(cat "$T/lambda.port")" \
    >"$T/serve.out" 2>"$T/serve.err" &
PID=$!
serve_port() { sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$T/serve.out" | grep .; }
tap_check "kesm serve starts with --secrets-dir and --route" wait_until 10 serve_port
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

# ---- example 1, verbatim apart from --endpoint-url and the bootstrap servers ---------------
aws --endpoint-url "$ENDPOINT" lambda create-event-source-mapping --topics AWSKafkaTopic \
  --source-access-configuration Type=SASL_SCRAM_512_AUTH,URI=arn:aws:secretsmanager:us-east-1:01234567890:secret:MyBrokerSecretName \
  --function-name arn:aws:lambda:us-east-1:01234567890:function:my-kafka-function \
  --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}}" \
  >"$T/c1.json" 2>"$T/c1.err"
tap_check "the SCRAM example creates a mapping" test "$(jq -r .State "$T/c1.json")" = Creating ||
    cat "$T/c1.err"
U1=$(jq -r .UUID "$T/c1.json")
tap_check "all 20 records reach my-kafka-function through SCRAM-SHA-512 with the directory's secret" \
    wait_until 40 at_least 20
tap_check "  ... each offset exactly once" \
    test "$(cut -d' ' -f1,2 "$HANDLER_LOG" | sort -u | wc -l)/$(lines)" = 20/20
tap_check "  ... alice authenticated at the front with SCRAM-SHA-512" \
    grep -q 'authenticated SCRAM-SHA-512 user=alice' "$SECURE_FRONT_LOG"
tap_check "the SCRAM mapping is Enabled" state_is "$U1" Enabled/USER_INITIATED

# ---- example 2: VPC (kmock directly: the example names no authentication) ---------------------
KBS=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/", "/g')
aws --endpoint-url "$ENDPOINT" lambda create-event-source-mapping --topics AWSKafkaTopic \
  --source-access-configuration '[{"Type": "VPC_SUBNET", "URI": "subnet:subnet-0011001100"},{"Type": "VPC_SUBNET", "URI": "subnet:subnet-0022002200"},{"Type": "VPC_SECURITY_GROUP", "URI": "security_group:sg-0123456789"}]' \
  --function-name arn:aws:lambda:us-east-1:01234567890:function:my-kafka-function \
  --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$KBS\"]}}" \
  >"$T/c2.json" 2>"$T/c2.err"
U2=$(jq -r .UUID "$T/c2.json")
VPC='[{"Type":"VPC_SUBNET","URI":"subnet:subnet-0011001100"},{"Type":"VPC_SUBNET","URI":"subnet:subnet-0022002200"},{"Type":"VPC_SECURITY_GROUP","URI":"security_group:sg-0123456789"}]'
tap_check "the VPC example creates a mapping echoing its entries exactly" \
    test "$(jq -c .SourceAccessConfigurations "$T/c2.json")" = "$VPC"
tap_check "the VPC mapping (its own consumer group) delivers the 20 records too" \
    wait_until 40 at_least 40
tap_check "  ... every offset exactly twice over the two mappings" \
    test "$(cut -d' ' -f1,2 "$HANDLER_LOG" | sort | uniq -c | awk '$1 != 2' | wc -l)/$(lines)" = 0/40

aws --endpoint-url "$ENDPOINT" lambda list-event-source-mappings \
    --function-name arn:aws:lambda:us-east-1:01234567890:function:my-kafka-function >"$T/l.json" 2>"$T/l.err"
tap_check "list-event-source-mappings echoes the VPC entries exactly" test \
    "$(jq -c --arg u "$U2" '.EventSourceMappings[] | select(.UUID == $u) | .SourceAccessConfigurations' "$T/l.json")" = "$VPC"

# ---- example 3: get ---------------------------------------------------------------------
aws --endpoint-url "$ENDPOINT" lambda get-event-source-mapping --uuid "$U1" >"$T/g1.json" 2>"$T/g1.err"
tap_check "get-event-source-mapping prints the SCRAM mapping as created" test \
    "$(jq -c '[.UUID, .FunctionArn, .Topics, .SourceAccessConfigurations, .SelfManagedEventSource, .State]' "$T/g1.json")" = \
    "$(jq -c --arg bs "$SECURE_BOOTSTRAP" '[.UUID, "arn:aws:lambda:us-east-1:01234567890:function:my-kafka-function", ["AWSKafkaTopic"],
        [{"Type":"SASL_SCRAM_512_AUTH","URI":"arn:aws:secretsmanager:us-east-1:01234567890:secret:MyBrokerSecretName"}],
        {"Endpoints":{"KAFKA_BOOTSTRAP_SERVERS":($bs|split(","))}}, "Enabled"]' "$T/c1.json")"
aws --endpoint-url "$ENDPOINT" lambda get-event-source-mapping --uuid "$U2" >"$T/g2.json" 2>"$T/g2.err"
tap_check "get-event-source-mapping echoes the VPC entries exactly" \
    test "$(jq -c .SourceAccessConfigurations "$T/g2.json")/$(jq -r .State "$T/g2.json")" = "$VPC/Enabled"

# ---- a lambda route: the Invoke API in the region of the function's ARN ----------------------
tap_check "produce 3 records to t-eu" kmock_cmd produce t-eu 3
aws --endpoint-url "$ENDPOINT" lambda create-event-source-mapping --topics t-eu \
    --function-name "$EUFN" --starting-position TRIM_HORIZON \
    --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$KBS\"]}}" >"$T/c-eu.json"
eu_ok() { [ "$(jq -r 'select(.sigv4 == "ok" and .action == "ok") | .body_len' "$T/lambda.log" 2>/dev/null | wc -l)" -ge 1 ]; }
tap_check "the eu-west-1 function is invoked through the Invoke API, signed for eu-west-1" \
    wait_until 30 eu_ok
tap_check "  ... and no request failed its signature check" \
    test -z "$(jq -r 'select(.sigv4 != null and .sigv4 != "ok") | .sigv4' "$T/lambda.log")"

# ---- secrets that cannot be used --------------------------------------------------------
# create TOPIC TYPE URI [FUNCTION]: a mapping through the AWS CLI; prints its UUID.
create() {
    aws --endpoint-url "$ENDPOINT" lambda create-event-source-mapping --topics "$1" \
        --source-access-configuration "Type=$2,URI=$3" \
        --function-name "${4:-arn:aws:lambda:us-east-1:01234567890:function:my-kafka-function}" \
        --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}}" \
        --starting-position TRIM_HORIZON | jq -r .UUID
}
ARN=arn:aws:secretsmanager:us-east-1:01234567890:secret
UL=$(create t-loose SASL_SCRAM_512_AUTH "$ARN:LooseSecret")
UK=$(create t-nokey SASL_SCRAM_512_AUTH NoPasswordSecret)
UM=$(create t-missing BASIC_AUTH "$ARN:NoSuchSecret-a1B2c3")
UP=$(create t-pem CLIENT_CERTIFICATE_TLS_AUTH "$ARN:BadPemSecret")
UW=$(create t-pw CLIENT_CERTIFICATE_TLS_AUTH "$ARN:WrongPasswordSecret")
UR=$(create t-route SASL_SCRAM_512_AUTH "$ARN:MyBrokerSecretName" \
    arn:aws:lambda:us-east-1:01234567890:function:unrouted-function)

tap_check "a world-readable secret file: Disabled, ESM_CONFIG_NOT_VALID" \
    wait_until 15 state_is "$UL" Disabled/ESM_CONFIG_NOT_VALID
tap_check "  ... the message names the file and its mode" result_has "$UL" \
    "SASL_SCRAM_512_AUTH: secret file $S/LooseSecret has mode 0644: it must not be accessible to group or others"
tap_check "a secret without \"password\": Disabled, ESM_CONFIG_NOT_VALID" \
    wait_until 15 state_is "$UK" Disabled/ESM_CONFIG_NOT_VALID
tap_check "  ... naming the secret and the missing key" result_has "$UK" \
    'SASL_SCRAM_512_AUTH: secret NoPasswordSecret has no "password" (it needs "username" and "password")'
tap_check "a secret that does not exist: Disabled, ESM_CONFIG_NOT_VALID" \
    wait_until 15 state_is "$UM" Disabled/ESM_CONFIG_NOT_VALID
tap_check "  ... naming it (random suffix dropped)" result_has "$UM" \
    "BASIC_AUTH: secret 'NoSuchSecret-a1B2c3' not found: no file NoSuchSecret-a1B2c3 or NoSuchSecret-a1B2c3.json"
tap_check "invalid PEM in a client certificate secret: Disabled, EVENT_SOURCE_AUTHN_ERROR" \
    wait_until 15 state_is "$UP" Disabled/EVENT_SOURCE_AUTHN_ERROR
tap_check "  ... naming the secret, not a temporary file" result_has "$UP" \
    "CLIENT_CERTIFICATE_TLS_AUTH: client certificate (secret $ARN:BadPemSecret): not a valid PEM certificate"
tap_check "an encrypted key with the wrong password: Disabled, EVENT_SOURCE_AUTHN_ERROR" \
    wait_until 15 state_is "$UW" Disabled/EVENT_SOURCE_AUTHN_ERROR
tap_check "  ... saying the key cannot be decrypted" result_has "$UW" \
    "CLIENT_CERTIFICATE_TLS_AUTH: client key (secret $ARN:WrongPasswordSecret): cannot decrypt it (wrong password?)"
tap_check "a function no --route matches: Disabled, FUNCTION_CONFIG_NOT_VALID" \
    wait_until 15 state_is "$UR" Disabled/FUNCTION_CONFIG_NOT_VALID
tap_check "  ... naming the function" result_has "$UR" \
    "no kesm route delivers function arn:aws:lambda:us-east-1:01234567890:function:unrouted-function"
for u in "$UL" "$UK" "$UM" "$UP" "$UW" "$UR"; do show "$u"; done | sed 's/^/# /'

# ---- bootstrap servers that do not resolve ------------------------------------------------
aws --endpoint-url "$ENDPOINT" lambda create-event-source-mapping --topics t-dns \
  --source-access-configuration Type=SASL_SCRAM_512_AUTH,URI=arn:aws:secretsmanager:us-east-1:01234567890:secret:MyBrokerSecretName \
  --function-name arn:aws:lambda:us-east-1:01234567890:function:my-kafka-function \
  --self-managed-event-source '{"Endpoints":{"KAFKA_BOOTSTRAP_SERVERS":["abc3.xyz.com:9092", "abc2.xyz.com:9092"]}}' \
  >"$T/c3.json" 2>"$T/c3.err"
UD=$(jq -r .UUID "$T/c3.json")
tap_check "the documented bootstrap servers (unresolvable here) are accepted: Creating" \
    test "$(jq -r .State "$T/c3.json")" = Creating
tap_check "  ... then Disabled with ESM_CONFIG_NOT_VALID" \
    wait_until 30 state_is "$UD" Disabled/ESM_CONFIG_NOT_VALID
tap_check "  ... LastProcessingResult says they do not resolve" result_has "$UD" \
    "PROBLEM: None of the bootstrap servers resolves (abc3.xyz.com:9092,abc2.xyz.com:9092: "
tap_check "  ... both names were asked of the loopback stub" \
    grep -q 'abc2' "$T/dns.log"
show "$UD" | sed 's/^/# /'
tap_check "the API answered meanwhile and the first mapping is still Enabled" \
    state_is "$U1" Enabled/USER_INITIATED
tap_check "produce 5 more" kmock_cmd produce AWSKafkaTopic 5
tap_check "the SCRAM and VPC mappings still deliver them" wait_until 30 at_least 50

# ---- kesm run: the same secret through Kesm.SecretsDir ---------------------------------------
run_cfg() {
    jq -n --arg bs "$SECURE_BOOTSTRAP" --arg dir "$S" --arg secret "$1" --arg h "$PWD/examples/handler.py" \
        '{FunctionName: "arn:aws:lambda:us-east-1:01234567890:function:my-kafka-function",
          Topics: ["AWSKafkaTopic"], StartingPosition: "TRIM_HORIZON", BatchSize: 10,
          SourceAccessConfigurations: [{Type: "SASL_SCRAM_512_AUTH", URI: $secret},
                                       {Type: "SERVER_ROOT_CA_CERTIFICATE", URI: "RootCaSecret"}],
          SelfManagedEventSource: {Endpoints: {KAFKA_BOOTSTRAP_SERVERS: ($bs|split(","))}},
          Kesm: {Transport: "exec", Command: [$h], SecretsDir: $dir}}'
}
run_cfg "$ARN:NoSuchSecret" >"$T/run-missing.json"
HANDLER_LOG=$T/run-delivered timeout 30 "$KESM" run --config "$T/run-missing.json" >"$T/run-missing.out" 2>&1
RC=$?
tap_check "kesm run with Kesm.SecretsDir and a missing secret exits 2 naming it" \
    test "$RC/$(grep -c "SASL_SCRAM_512_AUTH: secret 'NoSuchSecret' not found" "$T/run-missing.out")" = 2/1
run_cfg "$ARN:MyBrokerSecretName" >"$T/run.json"
# the broker CA comes from the RootCaSecret secret here, not from SSL_CERT_FILE
HANDLER_LOG=$T/run-delivered timeout --foreground --kill-after=5 60 env -u SSL_CERT_FILE "$KESM" run --config "$T/run.json" \
    >"$T/run.out" 2>"$T/run.err" &
RUNPID=$!
run_lines() { [ -f "$T/run-delivered" ] && [ "$(wc -l <"$T/run-delivered")" -ge 25 ]; }
tap_check "kesm run with Kesm.SecretsDir delivers all 25 records (SCRAM secret, root CA secret)" \
    wait_until 40 run_lines
kill -TERM "$RUNPID" 2>/dev/null
wait "$RUNPID"
tap_check "  ... and exits 0 on SIGTERM" test "$?" = 0

# ---- secrets stay out of the output --------------------------------------------------------
kill -TERM "$PID"
wait "$PID"
RC=$?
PID=
tap_check "kesm serve exits 0 on SIGTERM" test "$RC" = 0
tap_check "no secret value in kesm's output or state" \
    test -z "$(grep -rlE 'alice-secret|wrong-key-password|bm90IGEga2V5' "$T/serve.out" "$T/serve.err" "$T/state" "$T"/run*.out "$T/run.err")"
if [ "$TAP_FAIL" != 0 ]; then
    grep -v ' DEBUG ' "$T/serve.err" | tail -30 | sed 's/^/# /'
fi
tap_done
