#!/usr/bin/env bash
# tests/integration/msk_iam.sh: an Amazon MSK mapping end to end on loopback. `kesm run` with an
# EventSourceArn asks a GetBootstrapBrokers fixture (tests/oracle/msk_fixture.py, which checks the
# request's SigV4 signature with botocore) for the cluster's IAM brokers, reached through
# AWS_ENDPOINT_URL_KAFKA; those are the secured test front (tests/broker/sasl_front.pl) in front
# of kmock, speaking SASL/OAUTHBEARER and checking each MSK IAM token's signature and expiry with
# botocore (tests/oracle/msk_iam_verify.py). Records are delivered as aws:kafka events with the
# cluster ARN and committed; the token is renewed on re-authentication; a token signed with the
# wrong key or arriving expired stops the mapping with EVENT_SOURCE_AUTHN_ERROR and the server's
# reason; SCRAM picks the SaslScram brokers; attacks on the Kafka API's answer are refused.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/lib/secure_cluster.sh
. tests/integration/esm_run_lib.bash

FIX_PID=
cleanup() {
    kesm_kill
    [ -n "$FIX_PID" ] && kill "$FIX_PID" 2>/dev/null
    secure_cluster_stop
}
at_exit cleanup

T=$RUN_TMP
REGION=eu-west-1
ARN="arn:aws:kafka:$REGION:123456789012:cluster/demo/6f1c2a9e-1111-2222-3333-444455556666-2"
AKID=AKIDMSKTEST0001
SECRET=msk-test-secret-key-0001
umask 077
printf '%s:%s\n' "$AKID" "$SECRET" >"$T/keys"
printf 'alice:alice-secret\n' >"$T/users"
export SECURE_USERS='alice:alice-secret'
VERIFY="python3 $PWD/tests/oracle/msk_iam_verify.py $REGION $T/keys"
if ! secure_cluster_start -b 2 -t msk:2 >"$T/start.log" 2>&1 ||
    ! secure_front_restart --mechanisms OAUTHBEARER,SCRAM-SHA-512 --session-lifetime-ms 6000 \
        --oauth-verifier "$VERIFY" >>"$T/start.log" 2>&1; then
    echo "not ok - secure cluster did not start"
    sed 's/^/#   /' "$T/start.log" | tail -10
    exit 1
fi
kmock_cmd produce msk 10 headers=h=v >/dev/null

# fixture [ARGS...]: (re)start the Kafka API fixture answering with the front as every listener.
fixture() {
    [ -n "$FIX_PID" ] && kill "$FIX_PID" 2>/dev/null && wait "$FIX_PID" 2>/dev/null
    rm -f "$T/fix.port"
    python3 tests/oracle/msk_fixture.py --port-file "$T/fix.port" --log "$T/fix.log" \
        --region "$REGION" --arn "$ARN" --key "$AKID=$SECRET" "$@" 2>>"$T/fix.err" &
    FIX_PID=$!
    wait_until 60 test -s "$T/fix.port"
    export AWS_ENDPOINT_URL_KAFKA="http://127.0.0.1:$(cat "$T/fix.port")"
}
fixture --member "bootstrapBrokerStringSaslIam=$SECURE_BOOTSTRAP" \
    --member "bootstrapBrokerStringSaslScram=$SECURE_BOOTSTRAP" \
    --member "bootstrapBrokerString=127.0.0.1:1"

export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET AWS_DEFAULT_REGION=$REGION \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL

# msk_mapping FILE [SAC JSON]: a mapping of $ARN printing events to stdout.
msk_mapping() {
    cat >"$1" <<JSON
{"FunctionName": "arn:aws:lambda:$REGION:123456789012:function:demo",
 "Topics": ["msk"], "EventSourceArn": "$ARN",
 "AmazonManagedKafkaEventSourceConfig": {"ConsumerGroupId": "msk-group-${3:-1}"},
 "SourceAccessConfigurations": [{"Type": "SERVER_ROOT_CA_CERTIFICATE", "URI": "file://$SECURE_CA"}${2:+, $2}],
 "BatchSize": 10, "MaximumBatchingWindowInSeconds": 1, "Kesm": {"Transport": "stdout"}}
JSON
}

msk_mapping "$T/m1.json"
kesm_start "$T/m1.json" >"$T/out1"
offsets() { grep -o '"offset"' "$1" 2>/dev/null | wc -l; }
has_offsets() { [ "$(offsets "$1")" -ge "$2" ]; }
wait_until 60 has_offsets "$T/out1" 10
# Stay until a re-authentication (session lifetime 6 s) happened with a fresh token.
wait_until 30 grep -q 're-authenticated OAUTHBEARER' "$SECURE_FRONT_LOG"
wait_until 30 kesm_committed_is msk 2 "0=5 1=5"
kesm_stop
tap_check "MSK IAM: kesm run exits 0" test "$KESM_RC" = 0
tap_check "  GetBootstrapBrokers signed with SigV4 (botocore agrees)" \
    grep -q '"path": "/v1/clusters/arn%3Aaws%3Akafka%3Aeu-west-1%3A123456789012%3Acluster%2Fdemo%2F6f1c2a9e-1111-2222-3333-444455556666-2/bootstrap-brokers", "status": 200, "sig": "ok"' "$T/fix.log"
tap_check "  the IAM listener was chosen" grep -q 'BootstrapBrokerStringSaslIam' "$T/kesm.err"
tap_check "  the front checked the token with botocore and authenticated the key" \
    grep -q "authenticated OAUTHBEARER user=$AKID" "$SECURE_FRONT_LOG"
tap_check "  re-authentication (KIP-368) with a fresh token" \
    grep -q "re-authenticated OAUTHBEARER user=$AKID" "$SECURE_FRONT_LOG"
count=$(grep -o '"offset"' "$T/out1" | wc -l)
tap_check "  all 10 records delivered (got $count)" test "$count" -ge 10
python3 - "$T/out1" "$ARN" >"$T/shape" <<'PY'
import json, sys
ev = json.loads(open(sys.argv[1]).readline())
keys = list(ev)
ok = (keys[:3] == ["eventSource", "eventSourceArn", "bootstrapServers"]
      and ev["eventSource"] == "aws:kafka" and ev["eventSourceArn"] == sys.argv[2]
      and ev["bootstrapServers"].count("127.0.0.1:") >= 1)
print("ok" if ok else "bad %s" % keys[:4])
PY
tap_check "  the event is aws:kafka with the cluster ARN and the discovered brokers" \
    grep -qx ok "$T/shape"
# Powertools' MSK schema (npm @aws-lambda-powertools/parser) on the event kesm delivered.
. tests/lib/node.sh
if node_deps "$T/npm.log" @aws-lambda-powertools/parser zod; then
    head -1 "$T/out1" >"$T/event.json"
    node tests/node/validate.mjs "$T/event.json" msk strict >"$T/pt.out" 2>&1
    tap_check "  Powertools' MSK schema (unmodified) accepts the delivered event" grep -q '"ok":true' "$T/pt.out"
    node tests/node/validate.mjs "$T/event.json" selfmanaged >"$T/pt2.out" 2>&1
    tap_check "  and its self-managed schema refuses it (the check can fail)" \
        grep -q '"ok":false' "$T/pt2.out"
else
    tap_check "npm ci in tests/node (Powertools)" false
fi
tap_check "  no secret key in any log" \
    sh -c "! grep -q -e '$SECRET' '$T/kesm.err' '$SECURE_FRONT_LOG' '$T/fix.log'"
tap_check "  the committed offsets reached the broker" \
    grep -q "0=5 1=5" <<<"$(committed_of msk-group-1 msk 2)"

# A token signed with a key the cluster does not know.
AWS_SECRET_ACCESS_KEY=not-the-secret timeout 60 "$KESM" run --no-status --config "$T/m1.json" \
    >/dev/null 2>"$T/wrong.err"
rc=$?
tap_check "wrong key: GetBootstrapBrokers refused (403) -> EVENT_SOURCE_AUTHN_ERROR, exit 1" \
    sh -c "[ $rc = 1 ] && grep -q 'stopped: EVENT_SOURCE_AUTHN_ERROR: GetBootstrapBrokers.*HTTP 403 ForbiddenException' '$T/wrong.err'"

# The broker finds the token expired when it arrives (its clock 1000 s ahead of the signer's).
KESM_VERIFY_CLOCK_OFFSET=1000 secure_front_restart --mechanisms OAUTHBEARER \
    --oauth-verifier "$VERIFY" >/dev/null 2>&1
fixture --member "bootstrapBrokerStringSaslIam=$SECURE_BOOTSTRAP"
timeout 60 "$KESM" run --no-status --config "$T/m1.json" >/dev/null 2>"$T/expired.err"
rc=$?
tap_check "expired token: kesm run stops with EVENT_SOURCE_AUTHN_ERROR (exit 1)" \
    sh -c "[ $rc = 1 ] && grep -q 'stopped: EVENT_SOURCE_AUTHN_ERROR: .*OAUTHBEARER.*SASL_AUTHENTICATION_FAILED (58): the server said status invalid_token' '$T/expired.err'"
tap_check "  the broker's message (token expired) is logged" \
    grep -q 'OAUTHBEARER authentication with broker .*: token expired' "$T/expired.err"
tap_check "  the front refused it as expired" grep -q 'token refused .*token expired' "$SECURE_FRONT_LOG"

# SASL_SCRAM_512_AUTH picks the SaslScram brokers; the front has SCRAM-SHA-512 too.
secure_front_restart --mechanisms OAUTHBEARER,SCRAM-SHA-512 --oauth-verifier "$VERIFY" \
    >/dev/null 2>&1
fixture --member "bootstrapBrokerStringSaslIam=127.0.0.1:1" \
    --member "bootstrapBrokerStringSaslScram=$SECURE_BOOTSTRAP"
printf '{"username": "alice", "password": "alice-secret"}' >"$T/scram.json"
msk_mapping "$T/m2.json" '{"Type": "SASL_SCRAM_512_AUTH", "URI": "file://'"$T"'/scram.json"}' 2
kesm_start "$T/m2.json" >"$T/out2"
wait_until 60 has_offsets "$T/out2" 10
kesm_stop
tap_check "MSK with SASL_SCRAM_512_AUTH: exit 0" test "$KESM_RC" = 0
tap_check "  the SaslScram brokers, SCRAM-SHA-512" \
    sh -c "grep -q 'BootstrapBrokerStringSaslScram' '$T/kesm.err' && grep -q 'authenticated SCRAM-SHA-512 user=alice' '$SECURE_FRONT_LOG'"
tap_check "  all 10 records delivered" has_offsets "$T/out2" 10

# Generic OAUTHBEARER (Kesm.OAuthBearerTokenFile) on a self-managed cluster: the token is one
# that npm's aws-msk-iam-sasl-signer-js built (an independent signer), read from the file.
secure_front_restart --mechanisms OAUTHBEARER --oauth-verifier "$VERIFY" >/dev/null 2>&1
token_mapping() {
    local bs
    bs=$(printf '%s' "$SECURE_BOOTSTRAP" | sed 's/,/","/g')
    cat >"$1" <<JSON
{"FunctionName": "demo", "Topics": ["msk"],
 "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["$bs"]}},
 "SelfManagedKafkaEventSourceConfig": {"ConsumerGroupId": "token-$2"},
 "SourceAccessConfigurations": [{"Type": "SERVER_ROOT_CA_CERTIFICATE", "URI": "file://$SECURE_CA"}],
 "Kesm": {"Transport": "stdout", "OAuthBearerTokenFile": "$T/token"}}
JSON
}
if node_deps "$T/npm2.log" aws-msk-iam-sasl-signer-js; then
    printf '{"region":"%s","accessKeyId":"%s","secretAccessKey":"%s","now":%s}\n' "$REGION" \
        "$AKID" "$SECRET" "$(date +%s)" | node tests/node/msk_iam_token.mjs |
        python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["token"])' >"$T/token"
    token_mapping "$T/m4.json" 1
    kesm_start "$T/m4.json" >"$T/out4"
    wait_until 60 has_offsets "$T/out4" 10
    kesm_stop
    tap_check "OAuthBearerTokenFile (a token of aws-msk-iam-sasl-signer-js): exit 0" \
        test "$KESM_RC" = 0
    tap_check "  all 10 records delivered over OAUTHBEARER" \
        sh -c "[ \$(grep -o '\"offset\"' '$T/out4' | wc -l) -ge 10 ] && grep -q 'authenticated OAUTHBEARER user=$AKID' '$SECURE_FRONT_LOG'"
    tap_check "  the token is not in kesm's log" sh -c "! grep -qF \"\$(cat '$T/token')\" '$T/kesm.err'"
else
    tap_check "npm ci in tests/node (aws-msk-iam-sasl-signer-js)" false
fi
printf 'not-a-valid-token\n' >"$T/token"
token_mapping "$T/m5.json" 2
timeout 60 "$KESM" run --no-status --config "$T/m5.json" >/dev/null 2>"$T/badtoken.err"
rc=$?
tap_check "a token the broker refuses: EVENT_SOURCE_AUTHN_ERROR (exit 1)" \
    sh -c "[ $rc = 1 ] && grep -q 'stopped: EVENT_SOURCE_AUTHN_ERROR: .*OAUTHBEARER.*invalid_token' '$T/badtoken.err'"
head -c 70000 /dev/zero | tr '\0' a >"$T/token"
timeout 60 "$KESM" run --no-status --config "$T/m5.json" >/dev/null 2>"$T/bigtoken.err"
rc=$?
tap_check "a token file over 64 KiB: EVENT_SOURCE_AUTHN_ERROR naming the file, not its content" \
    sh -c "[ $rc = 1 ] && grep -q 'stopped: EVENT_SOURCE_AUTHN_ERROR: .*token file $T/token is larger than 65536 bytes' '$T/bigtoken.err' && ! grep -q aaaaaaaa '$T/bigtoken.err'"
printf 'abc def\n' >"$T/token"
timeout 60 "$KESM" run --no-status --config "$T/m5.json" >/dev/null 2>"$T/spacetoken.err"
rc=$?
tap_check "a token with a space: refused before it is sent" \
    sh -c "[ $rc = 1 ] && grep -q 'stopped: EVENT_SOURCE_AUTHN_ERROR: .*OAUTHBEARER token: ' '$T/spacetoken.err' && ! grep -q 'abc def' '$T/spacetoken.err'"

# CLIENT_CERTIFICATE_TLS_AUTH picks the Tls brokers (MSK's mutual TLS listener, 9094): the front
# now takes no SASL, only a client certificate signed by the test CA.
secure_front_restart --no-sasl --client-ca "$SECURE_CA" >/dev/null 2>&1
fixture --member "bootstrapBrokerStringSaslIam=127.0.0.1:1" \
    --member "bootstrapBrokerStringTls=$SECURE_BOOTSTRAP"
python3 -c 'import json,sys; print(json.dumps({"certificate": open(sys.argv[1]).read(),
    "privateKey": open(sys.argv[2]).read()}))' "$SECURE_DIR/client.pem" "$SECURE_DIR/client.key" \
    >"$T/client.json"
msk_mapping "$T/m3.json" '{"Type": "CLIENT_CERTIFICATE_TLS_AUTH", "URI": "file://'"$T"'/client.json"}' 3
kesm_start "$T/m3.json" >"$T/out3"
wait_until 60 has_offsets "$T/out3" 10
kesm_stop
tap_check "MSK with CLIENT_CERTIFICATE_TLS_AUTH: exit 0" test "$KESM_RC" = 0
tap_check "  the Tls brokers, mutual TLS with the secret's certificate" \
    sh -c "grep -q 'brokers .* (BootstrapBrokerStringTls)' '$T/kesm.err' && grep -q 'authenticated by client certificate subject=.*kesm-test-client' '$SECURE_FRONT_LOG'"
tap_check "  all 10 records delivered" has_offsets "$T/out3" 10

# Attacks on the Kafka API's answer: each is refused with a reason, nothing is dialled. (The
# fixture reads the reply file for every request.)
: >"$T/reply"
fixture --reply-file "$T/reply"
attack() {
    printf '%s' "$2" >"$T/reply"
    timeout 60 "$KESM" run --no-status --config "$T/m1.json" >/dev/null 2>"$T/attack.err"
    local rc=$?
    tap_check "hostile GetBootstrapBrokers answer ($1): ESM_CONFIG_NOT_VALID, exit 1" \
        sh -c "[ $rc = 1 ] && grep -q 'stopped: ESM_CONFIG_NOT_VALID: .*$3' '$T/attack.err'"
}
attack "not JSON" 'xyz' 'not a JSON object'
attack "an array" '[1]' 'not a JSON object'
attack "no broker string" '{"bootstrapBrokerStringTls": ""}' 'offers no IAM, TLS or plaintext brokers'
attack "a broker that is not host:port" '{"bootstrapBrokerStringSaslIam": "evil/host:9098"}' 'entry 1 .evil/host:9098. is not host:port'
attack "a broker with a bad port" '{"bootstrapBrokerStringSaslIam": "b-1:9098,b-2:99999"}' 'entry 2'
many=$(python3 -c 'print(",".join("b-%d.example:9098" % i for i in range(65)))')
attack "65 brokers" "{\"bootstrapBrokerStringSaslIam\": \"$many\"}" 'more than 64 brokers'
deep=$(python3 -c 'print("{\"a\":" * 5 + "1" + "}" * 5)')
attack "nested JSON" "$deep" 'not a JSON object'
big=$(python3 -c 'print("{\"bootstrapBrokerStringSaslIam\": \"" + "a" * 70000 + ":1\"}")')
attack "a 70 KB answer" "$big" 'GetBootstrapBrokers'
dup='{"bootstrapBrokerStringSaslIam": "a:1", "bootstrapBrokerStringSaslIam": "b:2"}'
attack "a duplicate member" "$dup" 'duplicate key'

if [ "$TAP_FAIL" != 0 ]; then
    echo "# kesm stderr (last 30 lines):"
    tail -30 "$T/kesm.err" | sed 's/^/#   /'
    echo "# front stderr (last 20 lines):"
    tail -20 "$SECURE_FRONT_LOG" | sed 's/^/#   /'
fi
secure_cluster_stop
tap_done
