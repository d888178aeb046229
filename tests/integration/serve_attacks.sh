#!/usr/bin/env bash
# serve_attacks.sh: issue 14's attacks on `kesm serve`, repeated against the real binary on
# loopback (kmock as the broker, curl, python sockets and the AWS CLI as the clients):
#   - another local user (nobody) asks for an exec mapping that would run `id`: refused (no
#     SigV4 signature), and refused again by the operator policy when authentication is off;
#   - a browser-shaped request (text/plain, Origin) and a DNS-rebinding Host: refused;
#   - the cleartext relay: a signed request pointing a secrets-dir secret at a listener posing as
#     a broker, with Tls false: refused naming the member and the flag; the password never
#     arrives (tests/tools/sasl_sniffer.py records what it is sent); the other opt-in members too;
#     AWS ARNs (SQS/SNS/S3 destinations, Secrets Manager) whose region would name that listener;
#   - duplicate keys, invalid UTF-8, \u0000, nesting and size beyond the limits: refused naming
#     the problem; the largest accepted request survives a restart byte for byte;
#   - a request smuggled behind a second Content-Length: refused, never executed;
#   - errors are AWS-shaped JSON, never HTML;
#   - a function whose error output is not UTF-8: LastProcessingResult stays valid UTF-8 and
#     `aws lambda list-event-source-mappings` still works.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/lib/api.sh
T=$TEST_TMP
chmod 755 "$T" # nobody (the other local user below) writes into $T/pub
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        stop_pid "$p"
    done
    kmock_stop
}
at_exit cleanup
for need in "$KESM" /usr/bin/aws /usr/bin/jq /usr/bin/curl /usr/bin/setpriv; do
    [ -x "$need" ] || { echo "not ok - $need is missing"; exit 1; }
done
kmock_start -b 1 -t orders:1 || { echo "not ok - kmock did not start"; exit 1; }
tap_check "produce 2 records" kmock_cmd produce orders 2

export HOME=$T AWS_CONFIG_FILE=$T/aws-config AWS_SHARED_CREDENTIALS_FILE=$T/aws-credentials
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
export KESM_SESSION_TIMEOUT_MS=6000 KESM_HEARTBEAT_INTERVAL_MS=500
mkdir -m 700 "$T/secrets"
(umask 077 && echo '{"username": "alice", "password": "Relay-Pa55word"}' >"$T/secrets/Broker")
mkdir -m 1777 "$T/pub" # the attacker's scratch space
printf '#!/bin/sh\ncat >/dev/null\nprintf "boom \\377\\376 \\033[31m \\303\\251\\n"\nexit 1\n' >"$T/bad_fn.sh"
chmod 755 "$T/bad_fn.sh"
BS=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')

# start NAME ARGS...: a kesm serve on a free port; its port in $PORT.
start() {
    local name=$1
    shift
    timeout --foreground --kill-after=10 "$LIFETIME" "$KESM" serve --listen 127.0.0.1:0 \
        --state-dir "$T/state-$name" --drain-timeout 2000 "$@" \
        >"$T/$name.out" 2>>"$T/$name.err" &
    PIDS+=($!)
    eval "PID_$name=$!"
    wait_until 60 grep -q 'listening on' "$T/$name.out" || return 1
    PORT=$(sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$T/$name.out")
}
stop() { # NAME
    local pid
    eval "pid=\$PID_$1"
    kill -TERM "$pid"
    wait "$pid"
}
# code_type: the status and x-amzn-ErrorType of the last curl -D "$T/hdr" -w '%{http_code}'.
etype() { sed -n 's/^x-amzn-ErrorType: \([A-Za-z]*\).*/\1/ip' "$T/hdr"; }
msg() { jq -r '.message // .Message' "$T/body"; }

# ---- a server secure by default, with routes the operator chose ----------------------------
start secure --secrets-dir "$T/secrets" --route "bad-fn=exec:$T/bad_fn.sh" || tap_fail "serve starts"
SEC=http://127.0.0.1:$PORT
SECPORT=$PORT
EXEC_REQ="{\"FunctionName\":\"pwn\",\"Topics\":[\"orders\"],
 \"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}},
 \"Kesm\":{\"Transport\":\"exec\",\"Command\":[\"/bin/sh\",\"-c\",\"id > $T/pub/pwned\"]}}"
printf '%s' "$EXEC_REQ" >"$T/exec.json"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"; }
# nobody writes its answer into its own scratch space.
nobody_post() {
    as_nobody curl -sS -o "$T/pub/body" -D "$T/pub/hdr" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' --data-binary @"$T/exec.json" "$1/2015-03-31/event-source-mappings"
    cp "$T/pub/body" "$T/body" && cp "$T/pub/hdr" "$T/hdr"
}
CODE=$(nobody_post "$SEC")
tap_check "nobody's unsigned exec mapping is refused: 403 MissingAuthenticationTokenException" \
    test "$CODE/$(etype)" = 403/MissingAuthenticationTokenException
CODE=$(api_curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X POST \
    --data-binary @"$T/exec.json" "$SEC/2015-03-31/event-source-mappings")
tap_check "even signed, Kesm.Transport exec is refused naming the flag --allow-api-exec" \
    sh -c "test '$CODE/$(etype)' = 400/InvalidParameterValueException &&
           jq -r .message '$T/body' | grep -q \"at 'Kesm.Transport' failed to satisfy constraint: kesm serve runs programs named (the operator's --route exec:... targets need no flag) through its API only when started with --allow-api-exec\""
mapcount() { api_curl -sS "$1/2015-03-31/event-source-mappings" | jq '.EventSourceMappings|length'; }
tap_check "no mapping was created" test "$(mapcount "$SEC")" = 0

# The cleartext relay: a secret from --secrets-dir, Tls false, a listener posing as a broker.
timeout "$LIFETIME" python3 tests/tools/sasl_sniffer.py "$T/sniff.port" "$T/sniff.cap" "$LIFETIME" &
PIDS+=($!)
wait_until 60 test -s "$T/sniff.port" || tap_fail "the sniffer starts"
SNIFF=127.0.0.1:$(cat "$T/sniff.port")
relay() { # KESM_MEMBERS [SAC_URI]: a create pointing the secret at the sniffer (stdout transport)
    api_curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X POST "$SEC/2015-03-31/event-source-mappings" \
        -d "{\"FunctionName\":\"relay\",\"Topics\":[\"orders\"],
             \"SourceAccessConfigurations\":[{\"Type\":\"BASIC_AUTH\",\"URI\":\"${2:-Broker}\"}],
             \"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$SNIFF\"]}},
             \"Kesm\":{\"Transport\":\"${3:-stdout}\"$1}}"
}
refused_naming() { # CODE MEMBER FLAG (or another text the message must have)
    [ "$1/$(etype)" = 400/InvalidParameterValueException ] && msg | grep -qF "at '$2'" &&
        msg | grep -qF -- "$3"
}
CODE=$(relay ',"Tls":false,"SaslAllowPlaintext":true')
tap_check "Tls false + SaslAllowPlaintext: refused naming Kesm.SaslAllowPlaintext and --allow-api-plaintext-sasl" \
    refused_naming "$CODE" Kesm.SaslAllowPlaintext --allow-api-plaintext-sasl
CODE=$(relay ',"TlsInsecureSkipVerify":true')
tap_check "TlsInsecureSkipVerify: refused naming --allow-api-insecure-tls" \
    refused_naming "$CODE" Kesm.TlsInsecureSkipVerify --allow-api-insecure-tls
CODE=$(relay '' "file://$T/secrets/Broker")
tap_check "a file:// secret: refused naming --allow-api-file-secrets" \
    refused_naming "$CODE" 'SourceAccessConfigurations[0].URI' --allow-api-file-secrets
CODE=$(relay ',"Url":"http://127.0.0.1:9/x"' Broker lambda)
tap_check "Kesm.Url: refused naming --allow-api-http" refused_naming "$CODE" Kesm.Url --allow-api-http
CODE=$(api_curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X POST "$SEC/2015-03-31/event-source-mappings" \
    -d "{\"FunctionName\":\"relay\",\"Topics\":[\"orders\"],\"Kesm\":{\"Transport\":\"stdout\"},
         \"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"127.0.0.1:1\"]}},
         \"SelfManagedKafkaEventSourceConfig\":{\"SchemaRegistryConfig\":{\"SchemaRegistryURI\":\"http://$SNIFF\",
           \"EventRecordFormat\":\"JSON\",\"AccessConfigs\":[{\"Type\":\"BASIC_AUTH\",\"URI\":\"Broker\"}],
           \"SchemaValidationConfigs\":[{\"Attribute\":\"VALUE\"}]}}}")
tap_check "the same secret for an http:// schema registry: refused naming --allow-api-plaintext-sasl" \
    refused_naming "$CODE" SelfManagedKafkaEventSourceConfig.SchemaRegistryConfig.SchemaRegistryURI --allow-api-plaintext-sasl
# AWS endpoints are https://<service>.<region>.amazonaws.com: a region that names another host
# would send signed requests (with any session token), failure records and, for S3, the records
# themselves to the caller's listener. Refused at the API, naming the member.
aws_dest() { # DESTINATION
    api_curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X POST "$SEC/2015-03-31/event-source-mappings" \
        -d "{\"FunctionName\":\"relay\",\"Topics\":[\"orders\"],\"Kesm\":{\"Transport\":\"stdout\"},
             \"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}},
             \"DestinationConfig\":{\"OnFailure\":{\"Destination\":\"$1\"}}}"
}
CODE=$(aws_dest "arn:aws:sqs:x@$SNIFF/:123456789012:dlq")
tap_check "an SQS destination whose region names the caller's host is refused" \
    refused_naming "$CODE" DestinationConfig.OnFailure.Destination 'the region names no host'
CODE=$(aws_dest "arn:aws:s3:x@$SNIFF/::bucket")
tap_check "  so is an S3 bucket ARN with such a region (S3 records carry the payload)" \
    refused_naming "$CODE" DestinationConfig.OnFailure.Destination 'the region names no host'
CODE=$(relay '' "arn:aws:secretsmanager:x@$SNIFF/:123456789012:secret:Broker")
tap_check "  and a Secrets Manager ARN whose region names the caller's host" \
    refused_naming "$CODE" 'SourceAccessConfigurations[0].URI' 'it names no host'
CODE=$(relay ",\"SecretsDir\":\"$T/secrets\"")
tap_check "Kesm.SecretsDir (kesm run only) is refused, not silently ignored" \
    refused_naming "$CODE" Kesm.SecretsDir 'applies to kesm run only'

# ---- what is accepted is stored and comes back ---------------------------------------------
post() { # BODY-FILE: POST it signed; the status code on stdout
    api_curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X POST --data-binary @"$1" \
        "$SEC/2015-03-31/event-source-mappings"
}
base='"Topics":["orders"],"Enabled":false,"SelfManagedEventSource":{"Endpoints":{"KAFKA_BOOTSTRAP_SERVERS":["127.0.0.1:1"]}}'
printf '{"FunctionName":"f4",%s,"FunctionName":"f9"}' "$base" >"$T/dup.json"
CODE=$(post "$T/dup.json")
tap_check "a duplicate key is refused, naming it" \
    sh -c "test '$CODE/$(etype)' = 400/InvalidRequestContentException && jq -r .message '$T/body' | grep -q \"duplicate key 'FunctionName'\""
printf '{"FunctionName":"f\\u0000x",%s}' "$base" >"$T/nul.json"
CODE=$(post "$T/nul.json")
tap_check "\\u0000 in a string is refused" sh -c "test '$CODE' = 400 && jq -r .message '$T/body' | grep -q 'u0000'"
printf '{"FunctionName":"f\377x",%s}' "$base" >"$T/utf8.json"
CODE=$(post "$T/utf8.json")
tap_check "invalid UTF-8 is refused" sh -c "test '$CODE' = 400 && jq -r .message '$T/body' | grep -q 'invalid UTF-8'"
python3 -c "import sys; print('{\"FunctionName\":\"deep\",%s,\"Tags\":%s1%s}' % (sys.argv[1], '{\"a\":' * 1000, '}' * 1000))" "$base" >"$T/deep.json"
CODE=$(post "$T/deep.json")
tap_check "a member nested 1000 deep is refused (not accepted and lost at restart)" \
    sh -c "test '$CODE' = 400 && jq -r .message '$T/body' | grep -q 'nesting deeper than 10 levels'"
python3 -c "import sys; print('{\"FunctionName\":\"big\",%s,\"Tags\":{\"k\":\"%s\"}}' % (sys.argv[1], 'x' * 740000))" "$base" >"$T/big.json"
CODE=$(post "$T/big.json")
tap_check "a 740 KB body is refused: 413 RequestTooLargeException" \
    test "$CODE/$(etype)" = 413/RequestTooLargeException
python3 - "$base" >"$T/max.json" <<'PY'
import json, sys
tags = {("k%03d" % i) + "é" * 124: "v" * 255 + "é" for i in range(50)}
pat = json.dumps({"value": {"n": [{"prefix": "x" * 3900}]}})
req = json.loads("{" + sys.argv[1] + "}")
req.update({"FunctionName": "largest", "Tags": tags,
            "FilterCriteria": {"Filters": [{"Pattern": pat} for _ in range(10)]},
            "MetricsConfig": {"Metrics": ["EventCount", "ErrorCount", "KafkaMetrics"]},
            "LoggingConfig": {"SystemLogLevel": "WARN"},
            "ProvisionedPollerConfig": {"MinimumPollers": 1, "MaximumPollers": 2000,
                                        "PollerGroupName": "g" * 128}})
print(json.dumps(req, ensure_ascii=True))
PY
CODE=$(post "$T/max.json")
UMAX=$(jq -r .UUID "$T/body")
tap_check "the largest valid request (50 tags, 10 filters of 4 KB, every newer member) is accepted" \
    test "$CODE" = 202
api_curl -sS "$SEC/2015-03-31/event-source-mappings/$UMAX" | jq -S '{Tags, FilterCriteria, MetricsConfig, LoggingConfig, ProvisionedPollerConfig}' >"$T/before.json"
tap_check "its state file is compact (one line) and below the 1 MiB limit" \
    sh -c "test \$(wc -l <'$T/state-secure/$UMAX.json') -le 1 && test \$(stat -c %s '$T/state-secure/$UMAX.json') -lt 1048576"

# ---- a function whose error output is not UTF-8 --------------------------------------------
timeout 60 aws --endpoint-url "$SEC" lambda create-event-source-mapping --function-name bad-fn \
    --topics orders --starting-position TRIM_HORIZON --batch-size 1 \
    --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}}" >"$T/bad.json" 2>&1
UBAD=$(jq -r .UUID "$T/bad.json")
bad_result() { api_curl -sS "$SEC/2015-03-31/event-source-mappings/$UBAD" | jq -r .LastProcessingResult | grep -q 'exited with status 1'; }
tap_check "the function's failure shows in LastProcessingResult" wait_until 30 bad_result
timeout 60 aws --endpoint-url "$SEC" lambda list-event-source-mappings >"$T/list.json" 2>"$T/list.err"
tap_check "aws lambda list-event-source-mappings still works" sh -c "test $? = 0 && jq -e '.EventSourceMappings|length == 2' '$T/list.json' >/dev/null"
tap_check "LastProcessingResult quotes the output as valid UTF-8, control characters removed" \
    sh -c "jq -r '.EventSourceMappings[] | select(.UUID == \"$UBAD\") | .LastProcessingResult' '$T/list.json' | grep -qF 'boom ?? ?[31m é'"

stop secure
tap_check "kesm serve stops (exit 0)" test $? = 0
start secure --secrets-dir "$T/secrets" || tap_fail "serve restarts"
SEC=http://127.0.0.1:$PORT
api_curl -sS "$SEC/2015-03-31/event-source-mappings/$UMAX" | jq -S '{Tags, FilterCriteria, MetricsConfig, LoggingConfig, ProvisionedPollerConfig}' >"$T/after.json"
tap_check "after a restart the largest request comes back exactly" cmp "$T/before.json" "$T/after.json"
tap_check "no state file was moved aside" sh -c "! ls '$T/state-secure' | grep -q corrupt"
stop secure

# ---- a stored mapping is held to the flags of the server that runs it ----------------------
start flagged --allow-api-exec || tap_fail "serve --allow-api-exec starts"
FLAG=http://127.0.0.1:$PORT
api_curl -sS -o "$T/body" -X POST "$FLAG/2015-03-31/event-source-mappings" -d "{\"FunctionName\":\"allowed\",
  \"Topics\":[\"orders\"],\"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}},
  \"Kesm\":{\"Transport\":\"exec\",\"Command\":[\"/bin/true\"]}}"
UEX=$(jq -r .UUID "$T/body")
tap_check "with --allow-api-exec the exec mapping is accepted" test -n "$UEX" -a "$UEX" != null
stop flagged
start flagged || tap_fail "serve restarts without the flag"
FLAG=http://127.0.0.1:$PORT
held() {
    api_curl -sS "$FLAG/2015-03-31/event-source-mappings/$UEX" |
        jq -r '.State + " " + .StateTransitionReason + " " + .LastProcessingResult' |
        grep -q "^Disabled ESM_CONFIG_NOT_VALID PROBLEM: .*at 'Kesm.Transport'.*--allow-api-exec"
}
tap_check "restarted without the flag, the stored exec mapping stops naming the flag instead of running" \
    wait_until 30 held
stop flagged

# ---- --credentials-file: that file is the one source the signatures are checked against -------
(umask 077 && printf '[ops]\naws_access_key_id = AKIDOPSFILE\naws_secret_access_key = ops-file-secret\n' >"$T/ops-creds")
start filecreds --credentials-file "$T/ops-creds" --credentials-profile ops || tap_fail "serve --credentials-file starts"
tap_check "--credentials-file: the server names the file and the key it checks against" \
    grep -q "access key ending in FILE (from shared credentials file $T/ops-creds (profile ops))" "$T/filecreds.err"
CODE=$(api_curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}' "http://127.0.0.1:$PORT/2015-03-31/event-source-mappings")
tap_check "  a request signed with the environment's key is refused" test "$CODE" = 403
CODE=$(AWS_ACCESS_KEY_ID=AKIDOPSFILE AWS_SECRET_ACCESS_KEY=ops-file-secret api_curl -sS -o "$T/body" \
    -w '%{http_code}' "http://127.0.0.1:$PORT/2015-03-31/event-source-mappings")
tap_check "  one signed with the file's key is answered" test "$CODE" = 200
stop filecreds

# ---- authentication off: the other checks still hold -----------------------------------------
start open --insecure-no-auth || tap_fail "serve --insecure-no-auth starts"
OPEN=http://127.0.0.1:$PORT
tap_check "--insecure-no-auth is announced loudly" grep -q 'WARNING: --insecure-no-auth: API requests are NOT authenticated' "$T/open.err"
CODE=$(nobody_post "$OPEN")
tap_check "without authentication, nobody's exec mapping is refused by the policy" \
    refused_naming "$CODE" Kesm.Transport --allow-api-exec
CODE=$(curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X POST -H 'Content-Type: text/plain' \
    -H 'Origin: http://attacker.example' --data-binary @"$T/exec.json" "$OPEN/2015-03-31/event-source-mappings")
tap_check "a CSRF-shaped request (text/plain, Origin) is refused: 403" \
    test "$CODE/$(etype)" = 403/AccessDeniedException
CODE=$(curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X POST -H 'Content-Type: text/plain' \
    -d '{"FunctionName":"x"}' "$OPEN/2015-03-31/event-source-mappings")
tap_check "text/plain without Origin is refused: 415 UnsupportedMediaTypeException" \
    test "$CODE/$(etype)" = 415/UnsupportedMediaTypeException
CODE=$(curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}' -H "Host: rebind.attacker.example:$PORT" \
    "$OPEN/2015-03-31/event-source-mappings")
tap_check "DNS rebinding (a Host that is not the listen address) is refused: 403" \
    test "$CODE/$(etype)" = 403/AccessDeniedException
CODE=$(curl -sS -o /dev/null -w '%{http_code}' -H "Host: rebind.attacker.example:$PORT" "$OPEN/metrics")
tap_check "... also for /metrics" test "$CODE" = 403
CODE=$(curl -sS -o /dev/null -w '%{http_code}' -H "Host: localhost:$PORT" "$OPEN/health")
tap_check "/health answers a loopback Host" test "$CODE" = 200
# A second request smuggled behind two Content-Length headers.
python3 - "$PORT" >"$T/smuggle.out" <<'PY'
import socket, sys
port = int(sys.argv[1])
inner = ('{"FunctionName":"smuggled","Topics":["t"],"SelfManagedEventSource":{"Endpoints":'
         '{"KAFKA_BOOTSTRAP_SERVERS":["127.0.0.1:1"]}}}')
second = ("POST /2015-03-31/event-source-mappings HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
          "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (port, len(inner), inner))
first = ("POST /2015-03-31/event-source-mappings HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
         "Content-Type: application/json\r\nContent-Length: 0\r\nContent-Length: %d\r\n\r\n"
         % (port, len(second)))
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(5)
s.sendall((first + second).encode())
data = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
except socket.timeout:
    pass
print(data.count(b"HTTP/1.1 "), data.split(b"\r\n")[0].decode(errors="replace"))
PY
tap_check "two Content-Length headers: one 400 answer, the connection closed" \
    sh -c "test \"\$(cat '$T/smuggle.out')\" = '1 HTTP/1.1 400 Bad Request'"
smuggled() { curl -sS "$OPEN/2015-03-31/event-source-mappings" | jq -e '[.EventSourceMappings[].FunctionArn | select(test("smuggled"))] | length == 0' >/dev/null; }
tap_check "the smuggled request was never executed" smuggled
printf 'BREW /2015-03-31/event-source-mappings HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' "$PORT" >"$T/brew.req"
python3 - "$PORT" "$T/brew.req" >"$T/brew.out" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
s.sendall(open(sys.argv[2], "rb").read())
data = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
except socket.timeout:
    pass
sys.stdout.buffer.write(data)
PY
tap_check "a malformed request gets an AWS-shaped JSON error, not HTML" \
    sh -c "grep -qi '^x-amzn-ErrorType: ' '$T/brew.out' && grep -qi '^Content-Type: application/json' '$T/brew.out' && ! grep -qi '<html' '$T/brew.out' && tail -c 400 '$T/brew.out' | sed -n '/^{/p' | jq -e .Type >/dev/null"
stop open
tap_check "nothing ran as kesm for the attacker" sh -c "test ! -e '$T/pub/pwned' || { cat '$T/pub/pwned'; false; }"
tap_check "the password never reached the broker-shaped listener (nothing was sent to it at all)" \
    sh -c "! grep -aq 'Relay-Pa55word' '$T/sniff.cap' && test ! -s '$T/sniff.cap'"
tap_done
