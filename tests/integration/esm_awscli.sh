#!/usr/bin/env bash
# esm_awscli.sh: the real AWS CLI (Debian's /usr/bin/aws, v2) drives `kesm serve`: create (the
# AWS documentation's two self-managed Kafka examples), list with paging, get, update (disable,
# enable, batch size), delete, the errors the CLI prints, and a restart that restores mappings.
# Prints TAP-style "ok - ..." / "not ok - ..." lines; exits non-zero on any failure.
. "$(dirname "$0")/../lib/prelude.sh"
AWSCLI=/usr/bin/aws
. tests/lib/timescale.sh
TMP=$TEST_TMP
PID=
fails=0

cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
}
at_exit cleanup

ok() { echo "ok - $1"; }
nok() {
    echo "not ok - $1"
    fails=$((fails + 1))
}
# check DESC COMMAND...: ok if the command succeeds.
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else nok "$desc"; fi
}

for need in "$KESM" "$AWSCLI" /usr/bin/jq /usr/bin/curl; do
    if [ ! -x "$need" ]; then
        echo "not ok - $need is missing (build kesm; scripts/setup installs awscli and jq)"
        exit 1
    fi
done

# The CLI reads nothing from the real home: credentials are dummies from the environment.
export HOME=$TMP AWS_CONFIG_FILE=$TMP/aws-config AWS_SHARED_CREDENTIALS_FILE=$TMP/aws-credentials
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL AWS_CA_BUNDLE
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
# A second config that turns off the CLI's own parameter checks, so that values it would reject
# locally (BatchSize 0) reach the server.
printf '[default]\nparameter_validation = false\n' >"$TMP/aws-config-novalidate"

STATE=$TMP/state
PORT=

start_kesm() {
    : >"$TMP/serve.out"
    # --foreground: timeout(1) then forwards SIGTERM to kesm alone; otherwise it also sends SIGCONT
    # to the process group, which can race LeakSanitizer's exit-time stop-the-world in ASan builds.
    timeout --foreground --kill-after=20 "$LIFETIME" "$KESM" serve --listen 127.0.0.1:0 --state-dir "$STATE" \
        "$@" >"$TMP/serve.out" 2>>"$TMP/serve.err" &
    PID=$!
    PORT=
    for _ in $(seq $((100 * TIME_SCALE))); do
        PORT=$(sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' \
            "$TMP/serve.out")
        [ -n "$PORT" ] && return 0
        sleep 0.05
    done
    return 1
}

stop_kesm() {
    kill -TERM "$PID"
    wait "$PID"
    local rc=$?
    PID=
    return $rc
}

# lam ARGS...: one CLI call; stdout to $TMP/out, stderr to $TMP/err, exit code in $RC.
lam() {
    timeout 60 "$AWSCLI" --endpoint-url "http://127.0.0.1:$PORT" --region us-east-1 \
        --cli-read-timeout 20 --cli-connect-timeout 5 lambda "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
}
field() { jq -r "$1" "$TMP/out"; }
err_is() { [ "$RC" = 254 ] && grep -qF "$1" "$TMP/err"; }

check "kesm serve starts on a free loopback port" start_kesm
timeout 10 "$KESM" serve --listen 127.0.0.1:0 --state-dir "$STATE" >/dev/null 2>"$TMP/second.err"
check "a second kesm serve on the same state directory refuses to start" \
    [ "$?/$(tail -1 "$TMP/second.err")" = "1/kesm serve: state directory $STATE is in use by another kesm process" ]

# ---- create: the two documented examples (bootstrap servers changed) -----------------------
SECRET=arn:aws:secretsmanager:us-east-1:01234567890:secret:MyBrokerSecretName
FN=arn:aws:lambda:us-east-1:01234567890:function:my-kafka-function
lam create-event-source-mapping --topics AWSKafkaTopic --source-access-configuration Type=SASL_SCRAM_512_AUTH,URI=$SECRET --function-name $FN --self-managed-event-source '{"Endpoints":{"KAFKA_BOOTSTRAP_SERVERS":["127.0.0.1:19092", "127.0.0.1:19093"]}}'
U1=$(field .UUID)
check "create (SASL/SCRAM example) exits 0" [ "$RC" = 0 ]
check "create answers State Creating with a 36-character UUID" \
    [ "$(field .State)/${#U1}" = Creating/36 ]
check "create echoes the function ARN, topic and secret as given" \
    [ "$(field '.FunctionArn + " " + .Topics[0] + " " + .SourceAccessConfigurations[0].URI')" = "$FN AWSKafkaTopic $SECRET" ]
check "create adds the default BatchSize and the effective ConsumerGroupId (the UUID)" \
    [ "$(field '(.BatchSize|tostring) + " " + .SelfManagedKafkaEventSourceConfig.ConsumerGroupId')" = "100 $U1" ]
# awscli 2.9.19's model predates EventSourceMappingArn (2024) and drops it: look at the raw reply.
# kesm serve checks SigV4 by default: curl signs too (tests/lib/api.sh).
. tests/lib/api.sh
raw() { api_curl -sS -D "$TMP/hdr" -o "$TMP/out" "http://127.0.0.1:$PORT$1"; }
raw "/2015-03-31/event-source-mappings/$U1"
check "the raw reply carries EventSourceMappingArn" \
    [ "$(field .EventSourceMappingArn)" = "arn:aws:lambda:us-east-1:01234567890:event-source-mapping:$U1" ]
check "the raw reply carries x-amzn-RequestId" grep -qiE '^x-amzn-RequestId: [0-9a-f-]{36}' "$TMP/hdr"

VPC='[{"Type": "VPC_SUBNET", "URI": "subnet:subnet-0011001100"},{"Type": "VPC_SUBNET", "URI": "subnet:subnet-0022002200"},{"Type": "VPC_SECURITY_GROUP", "URI": "security_group:sg-0123456789"}]'
lam create-event-source-mapping --topics AWSKafkaTopic --source-access-configuration "$VPC" --function-name $FN --self-managed-event-source '{"Endpoints":{"KAFKA_BOOTSTRAP_SERVERS":["127.0.0.1:19094", "127.0.0.1:19095"]}}'
U2=$(field .UUID)
check "create (VPC example) exits 0" [ "$RC" = 0 ]
check "VPC_SUBNET / VPC_SECURITY_GROUP entries are echoed back exactly" \
    [ "$(jq -c .SourceAccessConfigurations "$TMP/out")" = "$(echo "$VPC" | jq -c .)" ]
check "the VPC entries are reported as not applicable" \
    grep -q "mapping $U2: VPC_SUBNET/VPC_SECURITY_GROUP entries are kept and echoed but do not apply" "$TMP/serve.err"

lam create-event-source-mapping --topics AWSKafkaTopic --function-name $FN --self-managed-event-source '{"Endpoints":{"KAFKA_BOOTSTRAP_SERVERS":["127.0.0.1:19093", "127.0.0.1:19092"]}}'
check "a duplicate mapping gives ResourceConflictException naming the existing UUID" \
    err_is "An error occurred (ResourceConflictException) when calling the CreateEventSourceMapping operation: An event source mapping with Kafka topic AWSKafkaTopic, the same bootstrap servers and function $FN already exists. Please update or delete the existing mapping with UUID $U1"

# ---- get: states are honest --------------------------------------------------------------------
# This kesm serve has neither --secrets-dir nor --secrets-manager, so the documented example (a
# Secrets Manager ARN) cannot run: it stops with ESM_CONFIG_NOT_VALID and says why
# (esm_awscli_secrets.sh runs it with a secrets directory).
lam get-event-source-mapping --uuid "$U1"
check "a mapping whose secret kesm cannot read is Disabled with ESM_CONFIG_NOT_VALID" \
    [ "$RC/$(field .State)/$(field .StateTransitionReason)" = "0/Disabled/ESM_CONFIG_NOT_VALID" ]
check "LastProcessingResult explains the problem" \
    [ "$(field .LastProcessingResult)" = "PROBLEM: SASL_SCRAM_512_AUTH: secret '$SECRET' names a Secrets Manager secret, and kesm has neither a secrets directory nor Secrets Manager configured (kesm serve --secrets-dir DIR, or a file:///absolute/path URI)" ]
lam get-event-source-mapping --uuid "$U2"
check "the VPC example (no secret) runs: Enabled, its consumer polling the bootstrap servers" \
    [ "$RC/$(field .State)/$(field .StateTransitionReason)" = "0/Enabled/USER_INITIATED" ]

# ---- list with paging ----------------------------------------------------------------------
for i in 0 1 2 3 4; do
    lam create-event-source-mapping --function-name paging-fn --topics "p$i" --starting-position LATEST \
        --batch-size 10 --self-managed-event-source '{"Endpoints":{"KAFKA_BOOTSTRAP_SERVERS":["127.0.0.1:19092"]}}'
    [ "$RC" = 0 ] || nok "create paging mapping p$i: $(cat "$TMP/err")"
done
lam list-event-source-mappings
check "list returns all 7 mappings" [ "$RC/$(field '.EventSourceMappings|length')" = 0/7 ]
lam list-event-source-mappings --function-name paging-fn --page-size 2
check "list --page-size 2 follows NextMarker across server pages to all 5" \
    [ "$RC/$(field '[.EventSourceMappings[].Topics[0]]|join(",")')" = "0/p0,p1,p2,p3,p4" ]
raw "/2015-03-31/event-source-mappings/?FunctionName=paging-fn&MaxItems=2"
check "one server page holds 2 mappings and a NextMarker" \
    [ "$(field '(.EventSourceMappings|length|tostring) + " " + (.NextMarker != null|tostring)')" = "2 true" ]
lam list-event-source-mappings --function-name paging-fn --max-items 3
TOKEN=$(field '.NextToken // empty')
FIRST=$(field '[.EventSourceMappings[].Topics[0]]|join(",")')
check "list --max-items 3 gives 3 mappings and a NextToken" [ "$FIRST/${TOKEN:+token}" = "p0,p1,p2/token" ]
lam list-event-source-mappings --function-name paging-fn --max-items 3 --starting-token "$TOKEN"
check "list --starting-token continues with the remaining 2" \
    [ "$(field '([.EventSourceMappings[].Topics[0]]|join(",")) + " " + (.NextToken // "none")')" = "p3,p4 none" ]
lam list-event-source-mappings --event-source-arn arn:aws:kafka:us-east-1:123456789012:cluster/c/x
check "list by EventSourceArn finds no self-managed mapping" [ "$RC/$(field '.EventSourceMappings|length')" = 0/0 ]

# ---- update: disable, enable, batch size -----------------------------------------------------
lam update-event-source-mapping --uuid "$U1" --no-enabled
check "update --no-enabled answers Disabling" [ "$RC/$(field .State)" = 0/Disabling ]
lam get-event-source-mapping --uuid "$U1"
check "then the mapping is Disabled, USER_INITIATED" \
    [ "$(field '.State + "/" + .StateTransitionReason')" = Disabled/USER_INITIATED ]
lam update-event-source-mapping --uuid "$U1" --enabled
check "update --enabled answers Enabling" [ "$RC/$(field .State)" = 0/Enabling ]
lam get-event-source-mapping --uuid "$U1"
check "enabling it again ends Disabled with ESM_CONFIG_NOT_VALID again" \
    [ "$(field '.State + "/" + .StateTransitionReason')" = Disabled/ESM_CONFIG_NOT_VALID ]
lam update-event-source-mapping --uuid "$U1" --batch-size 1000 --maximum-batching-window-in-seconds 1
check "update --batch-size 1000 answers Updating with the new values" \
    [ "$RC/$(field '.State + "/" + (.BatchSize|tostring) + "/" + (.MaximumBatchingWindowInSeconds|tostring)')" = "0/Updating/1000/1" ]
lam get-event-source-mapping --uuid "$U1"
check "get shows BatchSize 1000" [ "$(field .BatchSize)" = 1000 ]

# ---- errors as the CLI prints them -------------------------------------------------------------
AWS_CONFIG_FILE=$TMP/aws-config-novalidate lam create-event-source-mapping --function-name f --topics t --batch-size 0 --self-managed-event-source '{"Endpoints":{"KAFKA_BOOTSTRAP_SERVERS":["127.0.0.1:19092"]}}'
check "BatchSize 0 gives InvalidParameterValueException with the message" \
    err_is "An error occurred (InvalidParameterValueException) when calling the CreateEventSourceMapping operation: 1 validation error detected: Value '0' at 'BatchSize' failed to satisfy constraint: Member must be an integer between 1 and 10000"
lam create-event-source-mapping --function-name f --topics t --batch-size 20000 --self-managed-event-source '{"Endpoints":{"KAFKA_BOOTSTRAP_SERVERS":["127.0.0.1:19092"]}}'
check "BatchSize 20000 gives InvalidParameterValueException" \
    err_is "(InvalidParameterValueException) when calling the CreateEventSourceMapping operation: 1 validation error detected: Value '20000' at 'BatchSize'"
lam create-event-source-mapping --function-name f --topics t --source-access-configurations Type=VIRTUAL_HOST,URI=/vh --self-managed-event-source '{"Endpoints":{"KAFKA_BOOTSTRAP_SERVERS":["127.0.0.1:19092"]}}'
check "VIRTUAL_HOST is refused for Kafka" \
    err_is "Value 'VIRTUAL_HOST' at 'SourceAccessConfigurations[0].Type' failed to satisfy constraint: VIRTUAL_HOST applies to RabbitMQ brokers, not to Kafka"
lam update-event-source-mapping --uuid "$U1" --maximum-record-age-in-seconds 30
check "update with MaximumRecordAgeInSeconds 30 is refused" \
    err_is "(InvalidParameterValueException) when calling the UpdateEventSourceMapping operation: 1 validation error detected: Value '30' at 'MaximumRecordAgeInSeconds'"
lam get-event-source-mapping --uuid 00000000-0000-4000-8000-000000000000
check "an unknown UUID gives ResourceNotFoundException" \
    err_is "An error occurred (ResourceNotFoundException) when calling the GetEventSourceMapping operation: The resource you requested does not exist."

# ---- delete ------------------------------------------------------------------------------------
lam list-event-source-mappings --function-name paging-fn --query 'EventSourceMappings[4].UUID' --output text
U7=$(cat "$TMP/out")
lam delete-event-source-mapping --uuid "$U7"
check "delete answers State Deleting" [ "$RC/$(field .State)" = 0/Deleting ]
# U7 was running: it is gone once its consumer has stopped (left the group).
gone() {
    for _ in $(seq $((60 * TIME_SCALE))); do
        lam get-event-source-mapping --uuid "$1"
        err_is "(ResourceNotFoundException)" && return 0
        [ "$RC/$(field .State)" = 0/Deleting ] || return 1
        sleep 0.25
    done
    return 1
}
check "the deleted mapping is gone once its consumer stopped" gone "$U7"

# ---- persistence and restart ---------------------------------------------------------------------
check "state files are private (0600)" \
    [ "$(stat -c %a "$STATE/$U1.json")" = 600 ]
check "kesm serve exits 0 on SIGTERM" stop_kesm
echo '{"UUID": broken' >"$STATE/0badf11e-0000-4000-8000-000000000000.json"
check "kesm serve starts again on the same state directory" start_kesm
lam list-event-source-mappings
check "the 6 remaining mappings are restored" [ "$RC/$(field '.EventSourceMappings|length')" = 0/6 ]
lam get-event-source-mapping --uuid "$U1"
check "a restored mapping keeps its updated configuration" \
    [ "$(field '(.BatchSize|tostring) + " " + .FunctionArn')" = "1000 $FN" ]
lam get-event-source-mapping --uuid "$U2"
check "the restored VPC entries are still echoed exactly" \
    [ "$(jq -c .SourceAccessConfigurations "$TMP/out")" = "$(echo "$VPC" | jq -c .)" ]
check "a corrupt state file is reported and moved aside" \
    grep -q "state file $STATE/0badf11e-0000-4000-8000-000000000000.json not restored (not valid JSON); moved aside to 0badf11e-0000-4000-8000-000000000000.json.corrupt-" "$TMP/serve.err"

# ---- the raw HTTP error shapes (x-amzn-ErrorType, "message" vs "Message") ----------------------
rawx() { api_curl -sS -D "$TMP/hdr" -o "$TMP/out" -w '%{http_code}' "$@"; }
rawu() { curl -sS -D "$TMP/hdr" -o "$TMP/out" -w '%{http_code}' "$@"; } # unsigned
ctype() { sed -n 's/^x-amzn-ErrorType: \([A-Za-z]*\).*/\1/ip' "$TMP/hdr"; }
CODE=$(rawx "http://127.0.0.1:$PORT/2015-03-31/event-source-mappings/nope")
check "404 ResourceNotFoundException with Type and Message" \
    [ "$CODE/$(ctype)/$(jq -c . "$TMP/out")" = '404/ResourceNotFoundException/{"Type":"User","Message":"The resource you requested does not exist."}' ]
CODE=$(rawx -X POST -d '{"FunctionName":' "http://127.0.0.1:$PORT/2015-03-31/event-source-mappings")
check "400 InvalidRequestContentException for a body that is not JSON (path without slash)" \
    [ "$CODE/$(ctype)/$(field .message)" = "400/InvalidRequestContentException/Could not parse request body into json: syntax error at byte 15" ]
CODE=$(rawx -X POST -d '{"FunctionName":"f"}' "http://127.0.0.1:$PORT/2015-03-31/event-source-mappings")
check "400 InvalidParameterValueException spells its member \"message\"" \
    [ "$CODE/$(ctype)/$(field '.Type + " " + (.message|.[0:28])')" = "400/InvalidParameterValueException/User 2 validation errors detected" ]
CODE=$(rawx "http://127.0.0.1:$PORT/2015-03-31/functions")
check "an unknown path gives UnknownOperationException" [ "$CODE/$(ctype)" = 404/UnknownOperationException ]
check "kesm serve exits 0 on SIGTERM again" stop_kesm

# ---- SigV4 verification (the default; --verify-sigv4 is still accepted) ----------------------
check "kesm serve --verify-sigv4 starts with the environment's credentials" start_kesm --verify-sigv4
lam get-event-source-mapping --uuid "$U1"
check "a request the CLI signed with the right key is served" [ "$RC/$(field .UUID)" = "0/$U1" ]
lam list-event-source-mappings --function-name paging-fn --page-size 2
check "signed list requests with a query string are served (all pages)" \
    [ "$RC/$(field '.EventSourceMappings|length')" = 0/4 ]
lam create-event-source-mapping --function-name signed-fn --topics s --enabled --self-managed-event-source '{"Endpoints":{"KAFKA_BOOTSTRAP_SERVERS":["127.0.0.1:19092"]}}'
check "a signed create (POST with a body) is served" [ "$RC/$(field .State)" = 0/Creating ]
AWS_SECRET_ACCESS_KEY=not-the-secret lam get-event-source-mapping --uuid "$U1"
check "a request signed with another secret gives InvalidSignatureException" \
    err_is "An error occurred (InvalidSignatureException) when calling the GetEventSourceMapping operation: The request signature we calculated does not match the signature you provided (sigv4: signature mismatch)"
CODE=$(rawu "http://127.0.0.1:$PORT/2015-03-31/event-source-mappings/")
check "an unsigned request gives 403 MissingAuthenticationTokenException" \
    [ "$CODE/$(ctype)" = 403/MissingAuthenticationTokenException ]
check "the secret key never reaches the log" bash -c "! grep -qF '$AWS_SECRET_ACCESS_KEY' '$TMP/serve.err'"
check "kesm serve --verify-sigv4 exits 0 on SIGTERM" stop_kesm

if [ "$fails" != 0 ]; then
    echo "# kesm serve log:"
    sed 's/^/# /' "$TMP/serve.err"
    exit 1
fi
exit 0
