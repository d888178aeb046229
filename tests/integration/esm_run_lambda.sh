#!/usr/bin/env bash
# tests/integration/esm_run_lambda.sh: `kesm run` with the "lambda" transport against the fake
# Invoke API (tests/tools/fake_lambda.py, which checks every SigV4 signature with botocore): the
# records arrive as signed RequestResponse invocations of the function ARN and are committed; a
# function error (X-Amz-Function-Error) is retried until success; an AccessDenied-style 403 stops
# the mapping with FUNCTION_CONFIG_NOT_VALID and commits nothing.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/integration/esm_run_lib.bash

FAKE=tests/tools/fake_lambda.py
FAKE_PID=
FN=arn:aws:lambda:us-east-1:123456789012:function:demo
stop_fake() {
    stop_pid "$FAKE_PID"
    FAKE_PID=
}
cleanup() {
    kesm_kill
    stop_fake
    kmock_stop
}
at_exit cleanup
T=$RUN_TMP
SECRET='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE

if [ ! -x "$KESM" ]; then
    echo "not ok - $KESM is not built"
    exit 1
fi
if ! /usr/bin/python3 -c 'import botocore' 2>/dev/null; then
    echo "not ok - python3-botocore is installed"
    exit 1
fi

fake() { # LOG SCRIPT [extra fake_lambda arguments]
    stop_fake
    rm -f "$T/port"
    : >"$1"
    local log=$1 script=$2
    shift 2
    [ $# -eq 0 ] && set -- --key AKIDEXAMPLE --secret "$SECRET"
    timeout --kill-after=5 "$LIFETIME" /usr/bin/python3 "$FAKE" --port-file "$T/port" --log "$log" \
        --mode invoke --function "$FN" --region us-east-1 "$@" \
        --lifetime "$LIFETIME" --script "$script" 2>"$T/fake.err" &
    FAKE_PID=$!
    wait_until 60 test -s "$T/port"
}
lambda_mapping() { # FILE TOPIC
    run_mapping "$1" "$2"
    sed -i "s|\"Kesm\": {.*|\"Kesm\": {\"Transport\": \"lambda\", \"Url\": \"http://127.0.0.1:$(cat "$T/port")\"}}|" "$1"
}
# requests LOG FILTER: how many logged requests match the python expression FILTER (on e).
requests() {
    python3 -c 'import json,sys
n = 0
for l in open(sys.argv[1]):
    e = json.loads(l)
    if "path" in e and eval(sys.argv[2]):
        n += 1
print(n)' "$1" "$2"
}
# at_least LOG FILTER N: at least N matching requests (for wait_until).
at_least() {
    [ "$(requests "$1" "$2")" -ge "$3" ]
}

kmock_start -b 1 -t lam:2 -t lam2:1 -t lam3:1 -t lam4:1 -l "$LIFETIME" || {
    echo "not ok - kmock did not start"
    exit 1
}

kmock_cmd produce lam 20 >/dev/null
fake "$T/f1.log" ok
lambda_mapping "$T/m1.json" lam
kesm_start "$T/m1.json"
wait_until 30 at_least "$T/f1.log" True 2
wait_committed 20 lam 2 "0=10 1=10"
kesm_stop
tap_check "lambda transport: kesm run exits 0" test "$KESM_RC" = 0
tap_check "  every invocation was SigV4-signed (botocore verified), RequestResponse, to the ARN" \
    test "$(requests "$T/f1.log" 'e["sigv4"] == "ok" and e["invocation_type"] == "RequestResponse" and "function%3Ademo" in e["path"]')" = "$(requests "$T/f1.log" True)"
tap_check "  offsets committed" grep -q "0=10 1=10" <<<"$(committed_of "$(group_of)" lam 2)"

kmock_cmd produce lam2 5 >/dev/null
fake "$T/f2.log" unhandled,unhandled,ok
lambda_mapping "$T/m2.json" lam2
kesm_start "$T/m2.json"
wait_until 30 at_least "$T/f2.log" 'e.get("action") == "ok"' 1
wait_committed 20 lam2 1 "0=5"
kesm_stop
tap_check "function errors (X-Amz-Function-Error) are retried until success" \
    test "$(requests "$T/f2.log" True)" = 3
tap_check "  LastProcessingResult went PROBLEM then OK" \
    sh -c "grep -q 'LastProcessingResult: PROBLEM: Function call failed' '$T/kesm.err' && grep 'LastProcessingResult' '$T/kesm.err' | tail -1 | grep -q OK"
tap_check "  offsets committed" grep -q "0=5" <<<"$(committed_of "$(group_of)" lam2 1)"

kmock_cmd produce lam3 3 >/dev/null
fake "$T/f3.log" 403
lambda_mapping "$T/m3.json" lam3
timeout 60 "$KESM" run --no-status --config "$T/m3.json" 2>"$T/m3.err"
rc=$?
tap_check "403 from the Invoke API stops kesm run with status 1" test "$rc" = 1
tap_check "  reason FUNCTION_CONFIG_NOT_VALID" grep -q 'stopped: FUNCTION_CONFIG_NOT_VALID' "$T/m3.err"
tap_check "  nothing committed" grep -q "0=none" <<<"$(committed_of "$(grep -o 'group [0-9a-f-]*' "$T/m3.err" | head -1 | cut -d' ' -f2)" lam3 1)"
tap_check "  the secret key is never logged" sh -c "! grep -q -F '$SECRET' '$T/kesm.err' '$T/m3.err'"

# ---- credentials from the chain (credential_process, with a session token), endpoint from
# AWS_ENDPOINT_URL_LAMBDA ------------------------------------------------------------------------
kmock_cmd produce lam4 4 >/dev/null
fake "$T/f4.log" ok --key AKIDPROCESS000000001 --secret proc/secret+key --token proc-session-token
cat >"$T/creds.sh" <<'SH'
#!/bin/sh
echo '{"Version": 1, "AccessKeyId": "AKIDPROCESS000000001", "SecretAccessKey": "proc/secret+key", "SessionToken": "proc-session-token", "Expiration": "2099-01-01T00:00:00Z"}'
SH
chmod +x "$T/creds.sh"
printf '[profile proc]\ncredential_process = %s\n' "$T/creds.sh" >"$T/aws-config"
run_mapping "$T/m4.json" lam4
sed -i 's|"Kesm": {.*|"Kesm": {"Transport": "lambda"}}|' "$T/m4.json"
: >"$RUN_TMP/kesm.err"
(
    unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
    export AWS_PROFILE=proc AWS_CONFIG_FILE="$T/aws-config" AWS_EC2_METADATA_DISABLED=true \
        AWS_ENDPOINT_URL_LAMBDA="http://127.0.0.1:$(cat "$T/port")"
    kesm_start "$T/m4.json"
    wait_until 30 at_least "$T/f4.log" True 1
    sleep 1.5
    kesm_stop
)
tap_check "credentials from a credential_process profile sign the invocations (with the session token)" \
    test "$(requests "$T/f4.log" 'e["sigv4"] == "ok"')" -ge 1 -a "$(requests "$T/f4.log" 'e["sigv4"] != "ok"')" = 0
tap_check "  the Lambda endpoint came from AWS_ENDPOINT_URL_LAMBDA, and the log says so" \
    grep -q "Lambda endpoint http://127.0.0.1:$(cat "$T/port") (from AWS_ENDPOINT_URL_LAMBDA)" "$RUN_TMP/kesm.err"
tap_check "  the log names the credential source, never the secret or token" \
    sh -c "grep -q 'AWS credentials from credential_process of profile proc: access key AKIDPROCESS000000001' '$RUN_TMP/kesm.err' && ! grep -q 'proc/secret\|proc-session-token' '$RUN_TMP/kesm.err'"
tap_check "  offsets committed" grep -q "0=4" <<<"$(committed_of "$(group_of)" lam4 1)"

stop_fake
kmock_stop
tap_done
