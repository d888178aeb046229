#!/usr/bin/env bash
# invoke_http: the "lambda" and "http" transports (invoke/transport_net.h) against
# tests/tools/fake_lambda.py, a local fake Invoke API that checks every SigV4 signature with
# botocore and answers from a script (success, X-Amz-Function-Error, 429, 5xx, 413, 403/404,
# slow, dropped connections, chunked), and an emulator mode (RIE shapes). Also TLS with a
# throwaway CA (verified, wrong CA refused), keep-alive reuse counted by the server, and the
# exec transport driven on the net reactor (inv_driver).
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh

PROBE=${KESM_ASAN_TREE:-build/asan}/tools/invoke_probe
FAKE=tests/tools/fake_lambda.py
T=$TEST_TMP
FAKE_PID=
stop_fake() {
    stop_pid "$FAKE_PID"
    FAKE_PID=
}
cleanup() {
    stop_fake
}
at_exit cleanup
export KESM_LOG_LEVEL=info
SECRET='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE

if [ ! -x "$PROBE" ]; then
    tap_fail "invoke_probe is built" "$PROBE missing (make BUILD=build/asan SAN=1 unit-bins)"
    tap_done
fi
if ! /usr/bin/python3 -c 'import botocore' 2>/dev/null; then
    tap_fail "python3-botocore is installed" "/usr/bin/python3 cannot import botocore"
    tap_done
fi

# fake ARGS...: (re)start the fake server with a fresh log; sets PORT.
fake() {
    stop_fake
    rm -f "$T/port" "$T/log"
    : >"$T/log"
    timeout --kill-after=5 "$LIFETIME" /usr/bin/python3 "$FAKE" --port-file "$T/port" --log "$T/log" \
        --lifetime "$LIFETIME" "$@" 2>"$T/fake.err" &
    FAKE_PID=$!
    if ! wait_until 60 test -s "$T/port"; then
        tap_fail "fake server starts ($*)" "$(tail -5 "$T/fake.err")"
        return 1
    fi
    PORT=$(cat "$T/port")
}

# probe NAME ARGS...: run invoke_probe (60 s bound), output in $T/NAME.out, stderr in NAME.err.
probe() {
    local name=$1
    shift
    timeout --kill-after=5 60 "$PROBE" "$@" >"$T/$name.out" 2>"$T/$name.err"
    echo $? >"$T/$name.rc"
}

# expect NAME DESC REGEX...: ok if every REGEX matches a line of NAME.out.
expect() {
    local name=$1 desc=$2 re
    shift 2
    for re in "$@"; do
        if ! grep -qE -- "$re" "$T/$name.out"; then
            tap_fail "$desc" "no line matches: $re" "$(head -c 1500 "$T/$name.out")" \
                "$(tail -5 "$T/$name.err")"
            return 1
        fi
    done
    tap_ok "$desc"
}

# logcount REGEX: lines of the fake's log matching REGEX.
logcount() { grep -cE -- "$1" "$T/log"; }

# check DESC CMD...: tap_check with the fake's log attached on failure.
check() {
    local desc=$1
    shift
    if "$@"; then
        tap_ok "$desc"
    else
        tap_fail "$desc" "$(tail -8 "$T/log")"
    fi
}

LAMBDA=(lambda function=my-function region=us-east-1 backoff-ms=20 backoff-max-ms=100)

# ---- Invoke API: success, signature, keep-alive ---------------------------------------------
fake --script ok || tap_done
probe ok "${LAMBDA[@]}" endpoint="http://127.0.0.1:$PORT" count=5
expect ok "lambda: 5 invocations succeed" '^result 4 kind=ok status=200 ' \
    '^stats requests=5 opened=1 reused=4 '
check "lambda: botocore verifies all 5 signatures (RequestResponse, no Content-Type)" \
    test "$(logcount '"invocation_type": "RequestResponse", "content_type": null, "sigv4": "ok"')" = 5
check "lambda: keep-alive: the server saw one connection for 5 requests" \
    test "$(logcount '"event": "open"')" = 1
check "secrets stay out of the probe's output and log" \
    bash -c "! grep -qF -e '$SECRET' -e 'Signature=' '$T/ok.out' '$T/ok.err'"

fake --script ok --function 'my-function:prod' --token 'FQoGZXIvYXdzEXAMPLE//token=' || tap_done
AWS_SESSION_TOKEN='FQoGZXIvYXdzEXAMPLE//token=' KESM_LOG_LEVEL=debug probe tok "${LAMBDA[@]}" \
    function=my-function:prod qualifier=\$LATEST endpoint="http://127.0.0.1:$PORT" \
    payload='{"records":{"secret-payload":1}}'
expect tok "lambda: name:alias, Qualifier and a session token are signed as botocore signs" \
    '^result 0 kind=ok status=200 '
check "debug logs carry neither the token, the secret, the signature nor the payload" \
    bash -c "grep -q 'DEBUG http POST' '$T/tok.err' &&
        ! grep -qF -e 'FQoGZXIvYXdz' -e '$SECRET' -e 'Signature=' -e 'secret-payload' '$T/tok.out' '$T/tok.err'"
check "lambda: the name is sent as my-function%3Aprod and the qualifier as Qualifier=%24LATEST" \
    test "$(logcount '"path": "/2015-03-31/functions/my-function%3Aprod/invocations", "query": "Qualifier=%24LATEST".*"sigv4": "ok"')" = 1

fake --script ok || tap_done
AWS_SECRET_ACCESS_KEY=wrong-secret probe badsig "${LAMBDA[@]}" endpoint="http://127.0.0.1:$PORT"
expect badsig "lambda: a wrong secret is refused (403 InvalidSignatureException) as a config error" \
    '^result 0 kind=fatal status=403 .*FUNCTION_CONFIG_NOT_VALID.*InvalidSignatureException'
check "fake server: the bad signature was detected by botocore" \
    test "$(logcount '"sigv4": "signature mismatch"')" = 1

fake --script ok --region eu-west-1 || tap_done
probe arn lambda function=arn:aws:lambda:eu-west-1:123456789012:function:my-function \
    endpoint="http://127.0.0.1:$PORT"
fake --script ok --function 'arn:aws:lambda:eu-west-1:123456789012:function:my-function' \
    --region eu-west-1 || tap_done
probe arn lambda function=arn:aws:lambda:eu-west-1:123456789012:function:my-function \
    endpoint="http://127.0.0.1:$PORT"
expect arn "lambda: the region comes from a full ARN" '^result 0 kind=ok status=200 '

# ---- Invoke API: errors and retries ---------------------------------------------------------
fake --script unhandled || tap_done
probe unh "${LAMBDA[@]}" endpoint="http://127.0.0.1:$PORT"
expect unh "lambda: X-Amz-Function-Error: Unhandled is a function error with the error text" \
    '^result 0 kind=function error status=200 .*message=function error \(Unhandled\): PoisonError: boom: record 3 is poison$'

fake --script 429,503,ok || tap_done
probe thr "${LAMBDA[@]}" endpoint="http://127.0.0.1:$PORT"
expect thr "lambda: 429 then 503 then success: retried to success" '^result 0 kind=ok status=200 '
check "lambda: three attempts reached the server" test "$(logcount '"action"')" = 3
check "lambda: each retry is logged with its reason" \
    grep -q "attempt 1 of 5 at http://127.0.0.1:$PORT failed (HTTP 429: TooManyRequestsException: Rate Exceeded.); retrying in" "$T/thr.err"

fake --script 500 || tap_done
probe s500 "${LAMBDA[@]}" endpoint="http://127.0.0.1:$PORT" attempts=3
expect s500 "lambda: 500s: bounded attempts, then a retryable failure" \
    "^result 0 kind=retryable status=500 .*message=gave up after 3 attempts at http://127.0.0.1:$PORT: HTTP 500: ServiceException: Internal failure\\.\$"
check "lambda: exactly 3 attempts" test "$(logcount '"action": "500"')" = 3

fake --script 413 || tap_done
probe big "${LAMBDA[@]}" endpoint="http://127.0.0.1:$PORT"
expect big "lambda: 413 asks the caller to split the batch (no retry)" \
    '^result 0 kind=too large status=413 .*RequestEntityTooLargeException'
check "lambda: 413 was not retried" test "$(logcount '"action"')" = 1

before=$(logcount '"action"')
probe big2 "${LAMBDA[@]}" endpoint="http://127.0.0.1:$PORT" payload-size=6291457
expect big2 "lambda: a payload above 6291456 bytes is answered 'too large' without sending" \
    '^result 0 kind=too large status=-1 .*payload of 6291457 bytes is above the 6291456-byte limit'
check "lambda: the oversized payload never reached the server" \
    test "$(logcount '"action"')" = "$before"

fake --script 403 || tap_done
probe deny "${LAMBDA[@]}" endpoint="http://127.0.0.1:$PORT"
expect deny "lambda: 403 AccessDenied is FUNCTION_CONFIG_NOT_VALID with a readable reason" \
    '^result 0 kind=fatal status=403 .*message=Lambda Invoke: HTTP 403, not authorized \(FUNCTION_CONFIG_NOT_VALID\): AccessDeniedException: User is not authorized to perform: lambda:InvokeFunction$'

fake --script 404 || tap_done
probe nf "${LAMBDA[@]}" endpoint="http://127.0.0.1:$PORT"
expect nf "lambda: 404 is a fatal function-not-found" \
    '^result 0 kind=fatal status=404 .*function not found.*ResourceNotFoundException'

fake --script slow:4 || tap_done
probe slow "${LAMBDA[@]}" endpoint="http://127.0.0.1:$PORT" timeout-ms=1000
expect slow "lambda: an invocation beyond the timeout is a function error (after ~1 s)" \
    '^result 0 kind=function error status=-1 ms=(9[5-9][0-9]|[12][0-9][0-9][0-9]) .*invocation timed out .*timed out after 1000 ms waiting for the response'

fake --script close,ok || tap_done
probe drop "${LAMBDA[@]}" endpoint="http://127.0.0.1:$PORT"
expect drop "lambda: a connection dropped before the response is retried" \
    '^result 0 kind=ok status=200 ' '^stats requests=2 opened=2 '

fake --script ok,close,ok || tap_done
probe stale "${LAMBDA[@]}" endpoint="http://127.0.0.1:$PORT" count=2
expect stale "lambda: a kept-alive connection closed under a request: retried at once on a new one" \
    '^result 1 kind=ok status=200 ' '^stats requests=2 opened=2 reused=1 stale_retries=1 '

fake --script chunked || tap_done
probe chunk "${LAMBDA[@]}" endpoint="http://127.0.0.1:$PORT" count=2
expect chunk "lambda: chunked responses are read and the connection reused" \
    '^result 1 kind=ok status=200 ' '^stats requests=2 opened=1 reused=1 '

probe refused "${LAMBDA[@]}" endpoint="http://127.0.0.1:1" attempts=2 connect-timeout-ms=1000
expect refused "lambda: connection refused: retried, then a retryable failure naming the cause" \
    '^result 0 kind=retryable status=-1 .*gave up after 2 attempts at http://127.0.0.1:1: connect error: cannot connect \(127.0.0.1: Connection refused\)'

probe noregion lambda function=my-function endpoint="http://127.0.0.1:$PORT"
expect noregion "lambda: no region and no ARN is a setup error" '^setup-error lambda transport: no region'
probe toolong "${LAMBDA[@]}" endpoint="http://127.0.0.1:$PORT" timeout-ms=900000
expect toolong "lambda: a timeout above 14 minutes is refused" '^setup-error .*above the 14-minute maximum'

# ---- the emulator (RIE) through the http transport -------------------------------------------
# The emulator's answers (fake_lambda.py --mode rie): a function error is 200 text/plain with the
# error document and no X-Amz-Function-Error, its own timeout 200 "Task timed out after N.00
# seconds", a runtime exit 502 Runtime.ExitError. Lambda's ESM treats all three as function
# errors (retried by MaximumRetryAttempts, bisected, sent on failure), so kesm does too.
fake --mode rie --rie-timeout 1 --script ok,unhandled,rie-timeout,partial,400,exit || tap_done
RIE_URL="http://127.0.0.1:$PORT/2015-03-31/functions/function/invocations"
probe rie http url="$RIE_URL" report count=6 backoff-ms=20
expect rie "http (RIE): 200 ok, 200+errorMessage, 200+'Task timed out' and 502 are function errors, batchItemFailures read, 400 fatal" \
    '^result 0 kind=ok status=200 ' \
    '^result 1 kind=function error status=200 .*message=function error: PoisonError: boom: record 3 is poison$' \
    '^result 2 kind=function error status=200 .*message=function error: Task timed out after 1.00 seconds$' \
    '^result 3 kind=partial status=200 ms=[0-9]+ failures=t-0@7 ' \
    '^result 4 kind=fatal status=400 .*the endpoint refused the invocation' \
    '^result 5 kind=function error status=502 .*message=function error: HTTP 502 \(the runtime failed\): Runtime.ExitError: RequestId: [-0-9a-f]+ Error: Runtime exited with error: exit status 1$' \
    '^stats requests=6 opened=1 reused=5 '
check "http (RIE): the event is POSTed as application/json" \
    test "$(logcount '"content_type": "application/json"')" = 6

fake --mode url --script ok,partial --token 'IQoJb3JpZ2luX2VjEXAMPLE' || tap_done
AWS_SESSION_TOKEN='IQoJb3JpZ2luX2VjEXAMPLE' probe furl http \
    url="http://127.0.0.1:$PORT/fn/path?a=1&b=%20x" sign-region=us-east-1 report count=2
expect furl "http with SigV4 (function URL, AWS_IAM): botocore verifies, results read" \
    '^result 0 kind=ok status=200 ' '^result 1 kind=partial status=200 ms=[0-9]+ failures=t-0@7 '
check "function URL: both signatures (with session token and a query) verified" \
    test "$(logcount '"path": "/fn/path", "query": "a=1&b=%20x".*"content_type": "application/json", "sigv4": "ok"')" = 2
probe furlns http url="http://127.0.0.1:$PORT/fn/path"
expect furlns "function URL without signing is refused (403, fatal)" \
    '^result 0 kind=fatal status=403 '

fake --mode rie --script slow:0.3 || tap_done
RIE_URL="http://127.0.0.1:$PORT/2015-03-31/functions/function/invocations"
probe riebusy http url="$RIE_URL" count=3 parallel attempts=2 backoff-ms=20
expect riebusy "http (RIE): parallel invocations without a limit crash the emulator: empty replies, then refused" \
    '^result [0-2] kind=retryable status=-1 .*gave up after 2 attempts at http://127.0.0.1:[0-9]+: (disconnected|connect) error'
wait "$FAKE_PID"
rc=$?
FAKE_PID=
check "http (RIE): the emulator-shaped fake crashed on the overlap (exit 2) as the emulator does" \
    test "$rc" = 2 -a "$(logcount '"event": "crash"')" = 1
fake --mode rie --script slow:0.3 || tap_done
RIE_URL="http://127.0.0.1:$PORT/2015-03-31/functions/function/invocations"
probe rieone http url="$RIE_URL" count=3 parallel max-concurrency=1
expect rieone "http (RIE): max-concurrency=1 queues them on one connection, all succeed" \
    '^result 0 kind=ok ' '^result 1 kind=ok ' '^result 2 kind=ok ' \
    '^stats requests=3 opened=1 reused=2 '

# one_at_a_time LOG: every invocation in the fake's log started after the previous one's "done".
one_at_a_time() {
    python3 -c '
import json, sys
running = False
for line in open(sys.argv[1]):
    e = json.loads(line)
    if "action" in e and "event" not in e:
        if running:
            sys.exit("an invocation started while another was running")
        running = True
    elif e.get("event") == "done":
        running = False
' "$1"
}
# The probe measures with its own clock and the reactor fires the timer on its cached clock, so
# "after 500 ms" may read 499: the lower bound allows a few milliseconds of difference.
# A timed-out invocation is given up on, but the emulator keeps running it: the next one waits
# for its answer (or for the connection to close), never overlapping it.
fake --mode rie --script slow:1.5,ok || tap_done
RIE_URL="http://127.0.0.1:$PORT/2015-03-31/functions/function/invocations"
probe riewait http url="$RIE_URL" count=2 parallel max-concurrency=1 timeout-ms=500
expect riewait "http (RIE): a timeout is a function error after 500 ms; the next invocation waits for the emulator" \
    '^result 0 kind=function error status=-1 ms=(49[0-9]|[5-9][0-9][0-9]|1[0-4][0-9][0-9]) .*message=function error: invocation timed out \(timed out after 500 ms waiting for the response\)$' \
    '^result 1 kind=ok status=200 ms=[1-4][0-9]{3} ' '^stats requests=2 opened=1 reused=1 '
check "http (RIE): the emulator never saw two invocations at once (no crash)" \
    eval "one_at_a_time '$T/log' && [ \"\$(logcount '\"event\": \"crash\"')\" = 0 ]"
check "http (RIE): the wait is logged at WARN, naming the endpoint" \
    grep -q "WARN invoke http: http://127.0.0.1:$PORT: no answer within 500 ms, the invocation is given up on; .*at most 300 s" "$T/riewait.err"
# The wait is bounded: abandon-wait-ms after the timeout the connection is closed and the next
# invocation goes anyway (here into the emulator's crash, so the bound is visible).
fake --mode rie --script slow:3,ok || tap_done
RIE_URL="http://127.0.0.1:$PORT/2015-03-31/functions/function/invocations"
probe riebound http url="$RIE_URL" count=2 parallel max-concurrency=1 timeout-ms=300 \
    abandon-wait-ms=400 attempts=1
expect riebound "http (RIE): after abandon-wait-ms the next invocation is sent anyway" \
    '^result 0 kind=function error status=-1 .*invocation timed out' '^result 1 kind=retryable '
check "http (RIE): giving up the wait is logged at WARN" \
    grep -q "WARN invoke http: http://127.0.0.1:$PORT still had not answered the invocation given up on after [0-9]* ms more: connection closed" "$T/riebound.err"

fake --mode rie --script ok || tap_done
probe rie404 http url="http://127.0.0.1:$PORT/nope"
expect rie404 "http: a wrong path is a fatal 404" '^result 0 kind=fatal status=404 '

# ---- TLS ------------------------------------------------------------------------------------
pki() {
    local d=$T/pki
    mkdir -p "$d" && cd "$d" || return 1
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    for ca in ca other-ca; do
        openssl req -x509 "${ec[@]}" -days 2 -keyout $ca.key -out $ca.pem -subj "/CN=kesm $ca" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" || return 1
    done
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >server.ext
    openssl req "${ec[@]}" -keyout server.key -out server.csr -subj "/CN=server" || return 1
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile server.ext -out server.pem || return 1
    cd - >/dev/null || return 1
}
if ! pki >"$T/pki.log" 2>&1; then
    tap_fail "openssl CLI makes the test PKI" "$(tail -3 "$T/pki.log")"
    tap_done
fi
fake --script ok --tls-cert "$T/pki/server.pem" --tls-key "$T/pki/server.key" || tap_done
probe tls "${LAMBDA[@]}" endpoint="https://localhost:$PORT" ca="$T/pki/ca.pem" count=3
expect tls "lambda over TLS: verified against the test CA (name localhost), keep-alive kept" \
    '^result 2 kind=ok status=200 ' '^stats requests=3 opened=1 reused=2 '
check "lambda over TLS: signatures verify with Host localhost:PORT" \
    test "$(logcount '"sigv4": "ok"')" = 3
probe tlsip http url="https://127.0.0.1:$PORT/2015-03-31/functions/my-function/invocations" \
    ca="$T/pki/ca.pem"
expect tlsip "http over TLS to an IP literal: verified against the IP SAN" \
    '^result 0 kind=fatal status=403 .*InvalidSignatureException'
before=$(logcount '"action"')
probe tlsbad "${LAMBDA[@]}" endpoint="https://localhost:$PORT" ca="$T/pki/other-ca.pem"
expect tlsbad "TLS with the wrong CA is refused at once with a readable line (no retries)" \
    '^result 0 kind=fatal status=-1 .*message=TLS: unknown CA \(.*\)$'
check "TLS wrong CA: no request reached the server" test "$(logcount '"action"')" = "$before"

fake --mode rie --script ok || tap_done
probe nottls http url="https://127.0.0.1:$PORT/2015-03-31/functions/function/invocations" \
    attempts=2 backoff-ms=10
expect nottls "https to a plaintext server: 'not TLS' named, retried, then retryable" \
    "^result 0 kind=retryable status=-1 .*gave up after 2 attempts at https://127.0.0.1:$PORT: TLS error: .*not TLS"
# A TCP listener that never speaks (bounded lifetime): the TLS handshake times out.
timeout 15 /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
s.settimeout(0.2)
end = time.time() + 12
while time.time() < end:
    try:
        held.append(s.accept()[0])
    except OSError:
        pass
' "$T/silent.port" &
SILENT_PID=$!
if wait_until 10 test -s "$T/silent.port"; then
    probe hstmo http url="https://127.0.0.1:$(cat "$T/silent.port")/x" attempts=2 backoff-ms=10 \
        connect-timeout-ms=800
    expect hstmo "TLS handshake timeout (silent server): named and retried" \
        '^result 0 kind=retryable status=-1 .*gave up after 2 attempts at https://127.0.0.1:[0-9]+: TLS error: .*TLS handshake timed out after 800 ms'
else
    tap_fail "silent TCP listener starts"
fi
kill "$SILENT_PID" 2>/dev/null
wait "$SILENT_PID" 2>/dev/null

# ---- exec on the reactor (inv_driver) -------------------------------------------------------
probe exec exec count=3 report timeout-ms=10000 -- /bin/sh -c \
    'cat >/dev/null; echo "{\"batchItemFailures\":[{\"itemIdentifier\":{\"partition\":\"t-1\",\"offset\":9}}]}"'
expect exec "exec transport runs on the net reactor through inv_driver" \
    '^result 2 kind=partial status=0 ms=[0-9]+ failures=t-1@9 '
probe execfail exec timeout-ms=300 -- /bin/sh -c 'sleep 5'
expect execfail "exec on the reactor: the child timeout fires through the driver's timer" \
    '^result 0 kind=function error '

for f in "$T"/*.rc; do
    rc=$(cat "$f")
    if [ "$rc" -gt 2 ]; then
        tap_fail "probe $(basename "$f" .rc) exits cleanly (no sanitizer report)" \
            "exit $rc" "$(tail -20 "${f%.rc}.err")"
    fi
done
tap_ok "every probe run exited without a sanitizer report"
tap_done
