#!/usr/bin/env bash
# tests/integration/aws_credentials.sh: kesm's AWS credential chain against botocore's, source by
# source. For every case the same environment, config files, credential_process program and
# loopback endpoints (tests/oracle/aws_creds_fixture.py: STS, a container endpoint, EC2 instance
# metadata with IMDSv2) are given to botocore's own resolver (tests/oracle/aws_creds_botocore.py,
# Debian's python3-botocore) and to kesm's (build/asan/tools/creds_probe); both must pick the same
# source and the same credentials. The fixture checks every AssumeRole request kesm and botocore
# send with botocore's SigV4 signer, and that AssumeRoleWithWebIdentity goes unsigned. Then:
# refresh before expiry of 15-minute credentials on a clock the probe moves, and errors that name
# the source. The container's relative URI and the default metadata address are tested in a
# network namespace where 169.254.170.2 and 169.254.169.254 are this machine's own.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/kmock.sh # tap_check, tap_done
PROBE=${KESM_ASAN_TREE:-build/asan}/tools/creds_probe
ORACLE=tests/oracle/aws_creds_botocore.py
FIXTURE=tests/oracle/aws_creds_fixture.py
T=$(mktemp -d /tmp/kesm-awscreds-XXXXXX)
FIX_PID=
cleanup() {
    [ -n "$FIX_PID" ] && kill "$FIX_PID" 2>/dev/null && wait "$FIX_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
if [ ! -x "$PROBE" ]; then
    echo "not ok - $PROBE is not built (make BUILD=build/asan SAN=1 unit-bins)"
    exit 1
fi

SRC_KEY=AKIDSOURCEEXAMPLE01
SRC_SECRET=source/secret+key
echo -n "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6a2VzbSJ9.c2ln" >"$T/web-token"
start_fixture() { # extra fixture arguments
    [ -n "$FIX_PID" ] && kill "$FIX_PID" 2>/dev/null && wait "$FIX_PID" 2>/dev/null
    rm -f "$T/fix.port"
    : >"$T/fix.log"
    /usr/bin/python3 "$FIXTURE" --port-file "$T/fix.port" --log "$T/fix.log" \
        --key "$SRC_KEY=$SRC_SECRET" --key "AKIDENVEXAMPLE000001=env/secret" \
        --web-token "$(cat "$T/web-token")" --lifetime-s 240 "$@" &
    FIX_PID=$!
    local i
    for i in $(seq 100); do
        [ -s "$T/fix.port" ] && break
        sleep 0.1
    done
    FIX=http://127.0.0.1:$(cat "$T/fix.port")
}

# A clean environment: no real credentials, files or metadata unless a case sets them.
base_env() {
    env -i PATH="$PATH" HOME="$T/home" AWS_DEFAULT_REGION=us-east-1 \
        AWS_CONFIG_FILE="$T/config" AWS_SHARED_CREDENTIALS_FILE="$T/credentials" \
        AWS_EC2_METADATA_DISABLED=true "$@"
}
# compare NAME ENV...: kesm and botocore must print the same "creds" line.
compare() {
    local name=$1
    shift
    base_env "$@" /usr/bin/python3 "$ORACLE" >"$T/oracle.out" 2>"$T/oracle.err"
    base_env "$@" "$PROBE" get 2>"$T/probe.err" | sed 's/ [0-9-]*$//' >"$T/probe.out"
    if grep -q '^creds ' "$T/oracle.out" && cmp -s "$T/oracle.out" "$T/probe.out"; then
        echo "ok - $name: same source and credentials as botocore ($(cut -d' ' -f2 "$T/oracle.out"))"
        TAP_OK=$((TAP_OK + 1))
    else
        echo "not ok - $name: botocore and kesm differ"
        sed 's/^/#   botocore: /' "$T/oracle.out"
        sed 's/^/#   kesm:     /' "$T/probe.out"
        tail -3 "$T/probe.err" | sed 's/^/#   /'
        TAP_FAIL=$((TAP_FAIL + 1))
    fi
}
files() { # credentials-file-text config-file-text
    printf '%s' "$1" >"$T/credentials"
    printf '%s' "$2" >"$T/config"
}
log_has() { # jq-ish check on the fixture log: python expression over each entry e
    /usr/bin/python3 -c 'import json,sys
n = sum(1 for l in open(sys.argv[1]) if eval(sys.argv[2], {"e": json.loads(l)}))
sys.exit(0 if n >= int(sys.argv[3]) else 1)' "$T/fix.log" "$1" "${2:-1}"
}

start_fixture
mkdir -p "$T/home"

# ---- static sources ----------------------------------------------------------------------------
files "" ""
compare "environment" AWS_ACCESS_KEY_ID=AKIDENVEXAMPLE000001 AWS_SECRET_ACCESS_KEY=env/secret \
    AWS_SESSION_TOKEN=envtoken
compare "environment, AWS_SECURITY_TOKEN read first as botocore does" \
    AWS_ACCESS_KEY_ID=AKIDENVEXAMPLE000001 AWS_SECRET_ACCESS_KEY=env/secret \
    AWS_SESSION_TOKEN=newname AWS_SECURITY_TOKEN=oldname
files "[default]
aws_access_key_id = AKIDFILEDEFAULT00001
aws_secret_access_key = file/default
[prod]
AWS_ACCESS_KEY_ID = AKIDFILEPROD00000001
aws_secret_access_key: file/prod
aws_session_token = prodtoken
" "[profile cfgonly]
aws_access_key_id = AKIDCONFIGONLY000001
aws_secret_access_key = config/secret
"
compare "shared credentials file, default profile" A=1
compare "shared credentials file, AWS_PROFILE (keys are case-insensitive, ':' works)" AWS_PROFILE=prod
compare "AWS_DEFAULT_PROFILE wins over AWS_PROFILE" AWS_PROFILE=prod AWS_DEFAULT_PROFILE=default
compare "config file static keys ([profile name])" AWS_PROFILE=cfgonly
compare "the environment wins over the files" AWS_PROFILE=prod \
    AWS_ACCESS_KEY_ID=AKIDENVEXAMPLE000001 AWS_SECRET_ACCESS_KEY=env/secret

# ---- credential_process ----------------------------------------------------------------------------
cat >"$T/proc.sh" <<'SH'
#!/bin/sh
# a credential_process: the arguments come through without a shell
echo "args: $*" >&2
printf '{"Version": 1, "AccessKeyId": "AKIDPROCESS%s", "SecretAccessKey": "proc/secret", "SessionToken": "proctoken", "Expiration": "2099-01-01T00:00:00Z"}\n' "$1"
SH
chmod +x "$T/proc.sh"
files "" "[profile proc]
credential_process = $T/proc.sh 000000001 'a b' \"c\\\"d\"
"
compare "credential_process (shlex-split arguments, no shell)" AWS_PROFILE=proc
printf '#!/bin/sh\necho "{\\"Version\\": 2, \\"AccessKeyId\\": \\"AKIDPROCESS000000002\\", \\"SecretAccessKey\\": \\"x\\"}"\n' >"$T/proc2.sh"
chmod +x "$T/proc2.sh"
files "" "[profile proc2]
credential_process = $T/proc2.sh
"
base_env AWS_PROFILE=proc2 "$PROBE" get >"$T/p.out" 2>&1
tap_check "credential_process with Version 2: refused, naming the source and the reason" \
    grep -q "^error transient AWS credentials from credential_process of profile proc2: credential_process output: Version must be 1" "$T/p.out"
printf '#!/bin/sh\necho SECRETLEAK >&2; exit 3\n' >"$T/proc3.sh"
chmod +x "$T/proc3.sh"
files "" "[profile proc3]
credential_process = $T/proc3.sh
"
base_env AWS_PROFILE=proc3 "$PROBE" get >"$T/p.out" 2>&1
tap_check "a failing credential_process: its status is reported, its output never logged" \
    sh -c "grep -q 'credential_process exited with status 3' '$T/p.out' && ! grep -q SECRETLEAK '$T/p.out'"

# ---- web identity (EKS IRSA) -------------------------------------------------------------------
files "" ""
compare "web identity from the environment (AssumeRoleWithWebIdentity)" \
    AWS_WEB_IDENTITY_TOKEN_FILE="$T/web-token" \
    AWS_ROLE_ARN=arn:aws:iam::123456789012:role/irsa AWS_ROLE_SESSION_NAME=kesm-test \
    AWS_ENDPOINT_URL_STS="$FIX"
tap_check "  both sent it unsigned with the token (checked by the fixture)" \
    log_has 'e.get("action") == "AssumeRoleWithWebIdentity" and e["verified"] and e["status"] == 200 and e["form"].get("RoleSessionName") == "kesm-test"' 2
files "" "[profile wi]
web_identity_token_file = $T/web-token
role_arn = arn:aws:iam::123456789012:role/irsa-profile
"
compare "web identity from a profile" AWS_PROFILE=wi AWS_ENDPOINT_URL_STS="$FIX"
base_env AWS_WEB_IDENTITY_TOKEN_FILE="$T/web-token" "$PROBE" get >"$T/p.out" 2>&1
tap_check "web identity without a role ARN: an error naming what is missing" \
    grep -q "^error permanent web identity: AWS_WEB_IDENTITY_TOKEN_FILE is set but there is no role ARN" "$T/p.out"

# ---- assume role ------------------------------------------------------------------------------
: >"$T/fix.log"
files "[src]
aws_access_key_id = $SRC_KEY
aws_secret_access_key = $SRC_SECRET
" "[profile role]
role_arn = arn:aws:iam::123456789012:role/assumed
source_profile = src
role_session_name = kesm-role-test
external_id = ext-42
duration_seconds = 900
"
compare "assume role with source_profile (AssumeRole signed with the source keys)" \
    AWS_PROFILE=role AWS_ENDPOINT_URL_STS="$FIX"
tap_check "  both AssumeRole requests verify with botocore's signer" \
    log_has 'e.get("action") == "AssumeRole" and e["verified"] and e["status"] == 200 and e["form"].get("ExternalId") == "ext-42" and e["form"].get("DurationSeconds") == "900"' 2
files "" "[profile envrole]
role_arn = arn:aws:iam::123456789012:role/from-env
credential_source = Environment
"
compare "credential_source = Environment: the environment step itself comes first, as in botocore" \
    AWS_PROFILE=envrole AWS_ENDPOINT_URL_STS="$FIX" AWS_ACCESS_KEY_ID=AKIDENVEXAMPLE000001 \
    AWS_SECRET_ACCESS_KEY=env/secret
files "" "[profile ecsrole]
role_arn = arn:aws:iam::123456789012:role/from-task
credential_source = EcsContainer
"
: >"$T/fix.log"
compare "assume role with credential_source = EcsContainer (signed with the task's session credentials)" \
    AWS_PROFILE=ecsrole AWS_ENDPOINT_URL_STS="$FIX" \
    AWS_CONTAINER_CREDENTIALS_FULL_URI="$FIX/container/task"
tap_check "  both AssumeRole requests carry the task's session token and verify" \
    log_has 'e.get("action") == "AssumeRole" and e["verified"] and e["status"] == 200' 2
files "" "[profile chain]
role_arn = arn:aws:iam::123456789012:role/second
source_profile = role
[profile role]
role_arn = arn:aws:iam::123456789012:role/assumed
source_profile = src
[profile src]
aws_access_key_id = $SRC_KEY
aws_secret_access_key = $SRC_SECRET
"
compare "assume role chained through two profiles" AWS_PROFILE=chain AWS_ENDPOINT_URL_STS="$FIX"
files "" "[profile a]
role_arn = arn:aws:iam::123456789012:role/a
source_profile = b
[profile b]
role_arn = arn:aws:iam::123456789012:role/b
source_profile = a
"
base_env AWS_PROFILE=a "$PROBE" get >"$T/p.out" 2>&1
tap_check "a source_profile loop is an error naming the profiles" \
    grep -q "^error permanent profile b: source_profile a makes a loop" "$T/p.out"
files "" "[profile bad]
role_arn = arn:aws:iam::123456789012:role/x
credential_source = Ec2Config
"
base_env AWS_PROFILE=bad "$PROBE" get >"$T/p.out" 2>&1
tap_check "an unknown credential_source is refused" \
    grep -q 'credential_source "Ec2Config" is not valid' "$T/p.out"

# ---- container credentials ------------------------------------------------------------------------
files "" ""
: >"$T/fix.log"
compare "container credentials, AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN" \
    AWS_CONTAINER_CREDENTIALS_FULL_URI="$FIX/container/v2/credentials" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer container-token"
tap_check "  both sent the Authorization header" \
    log_has 'e["path"].startswith("/container") and e.get("auth") == "Bearer container-token"' 2
echo -n "token-from-file" >"$T/ctoken"
base_env AWS_CONTAINER_CREDENTIALS_FULL_URI="$FIX/container/v2/credentials" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/ctoken" AWS_CONTAINER_AUTHORIZATION_TOKEN=ignored \
    "$PROBE" get >"$T/p.out" 2>&1
tap_check "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (EKS Pod Identity) is read and wins" \
    sh -c "grep -q '^creds container-role ' '$T/p.out' && tail -1 '$T/fix.log' | grep -q '\"auth\": \"token-from-file\"'"
base_env AWS_CONTAINER_CREDENTIALS_FULL_URI="http://192.0.2.10:8080/creds" "$PROBE" get >"$T/p.out" 2>&1
tap_check "FULL_URI over http to a host that is not allowed is refused" \
    grep -q "host '192.0.2.10' is not allowed over http" "$T/p.out"
base_env AWS_CONTAINER_CREDENTIALS_FULL_URI="$FIX/container/x" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN="$(printf 'a\r\nX-Evil: 1')" "$PROBE" get >"$T/p.out" 2>&1
tap_check "an authorization token with CR/LF is refused" grep -q "holds CR or LF" "$T/p.out"

# ---- EC2 instance metadata ------------------------------------------------------------------------
: >"$T/fix.log"
compare "EC2 instance metadata, IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT)" \
    AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$FIX/"
tap_check "  token requests then token-bearing metadata reads" \
    sh -c "grep -c '\"method\": \"PUT\", \"path\": \"/latest/api/token\", \"status\": 200' '$T/fix.log' | grep -q 2"
start_fixture --imds-v1
compare "EC2 instance metadata falls back to IMDSv1 when the token is refused (403)" \
    AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$FIX"

# ---- default addresses in a network namespace --------------------------------------------------
if unshare --net true 2>/dev/null; then
    cat >"$T/ns.sh" <<SH
set -e
ip link set lo up
ip addr add 169.254.170.2/32 dev lo
ip addr add 169.254.169.254/32 dev lo
ip addr add fd00:ec2::254/128 dev lo nodad
/usr/bin/python3 $FIXTURE --port-file $T/ns.port --log $T/ns.log --listen 169.254.170.2:80 \
    --listen 169.254.169.254:80 --listen [fd00:ec2::254]:80 --lifetime-s 60 &
for i in \$(seq 100); do [ -s $T/ns.port ] && break; sleep 0.1; done
ENV="env -i PATH=$PATH HOME=$T/home AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null"
\$ENV AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/container/v2/credentials/abc /usr/bin/python3 $ORACLE >$T/ns-rel.oracle
\$ENV AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/container/v2/credentials/abc $PROBE get | sed 's/ [0-9-]*\$//' >$T/ns-rel.probe
\$ENV AWS_METADATA_SERVICE_TIMEOUT=5 /usr/bin/python3 $ORACLE >$T/ns-imds.oracle
\$ENV AWS_METADATA_SERVICE_TIMEOUT=5 $PROBE get | sed 's/ [0-9-]*\$//' >$T/ns-imds.probe
\$ENV AWS_METADATA_SERVICE_TIMEOUT=5 AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6 /usr/bin/python3 $ORACLE >$T/ns-v6.oracle
\$ENV AWS_METADATA_SERVICE_TIMEOUT=5 AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6 $PROBE get | sed 's/ [0-9-]*\$//' >$T/ns-v6.probe
grep -c '"path": "/latest/meta-data/iam/security-credentials/kesm-role"' $T/ns.log >$T/ns-count
kill %1
SH
    unshare --net sh "$T/ns.sh" >"$T/ns.out" 2>&1
    tap_check "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI goes to 169.254.170.2, as botocore's" \
        sh -c "grep -q '^creds container-role' '$T/ns-rel.oracle' && cmp -s '$T/ns-rel.oracle' '$T/ns-rel.probe'"
    tap_check "with nothing else configured, the chain ends at http://169.254.169.254, as botocore's" \
        sh -c "grep -q '^creds iam-role' '$T/ns-imds.oracle' && cmp -s '$T/ns-imds.oracle' '$T/ns-imds.probe'"
    tap_check "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6 goes to http://[fd00:ec2::254], as botocore's" \
        sh -c "grep -q '^creds iam-role' '$T/ns-v6.oracle' && cmp -s '$T/ns-v6.oracle' '$T/ns-v6.probe' && test \$(cat '$T/ns-count') = 4"
else
    echo "ok - # SKIP network namespaces are not available here"
fi

# ---- refresh before expiry (15-minute credentials, a clock the probe moves) -----------------------
start_fixture --rotate --clock-file "$T/clock"
rm -f "$T/clock"
base_env AWS_CONTAINER_CREDENTIALS_FULL_URI="$FIX/container/v2" CREDS_PROBE_CLOCK_FILE="$T/clock" \
    "$PROBE" get advance:300 peek advance:160 peek run:1500 peek advance:600 peek get \
    >"$T/refresh.out" 2>"$T/refresh.err"
awk '{print $3}' "$T/refresh.out" >"$T/keys"
tap_check "the first answer lives 15 minutes" grep -Eq '^creds container-role .* (899|900)$' <(head -1 "$T/refresh.out")
tap_check "5 minutes on: the same credentials, no refresh yet" \
    test "$(sed -n 1p "$T/keys")" = "$(sed -n 2p "$T/keys")"
tap_check "7.7 minutes on (less than half the lifetime left): still handed out, refreshed in the background" \
    sh -c "test '$(sed -n 2p "$T/keys")' = '$(sed -n 3p "$T/keys")' && test '$(sed -n 3p "$T/keys")' != '$(sed -n 4p "$T/keys")'"
tap_check "  the new ones live 15 minutes from their fetch" \
    grep -Eq '^creds container-role .* (899|900|898)$' <(sed -n 4p "$T/refresh.out")
tap_check "17.7 minutes on: the old ones would have expired; never handed out, the current ones are fresh" \
    sh -c "test \"\$(sed -n 5p '$T/keys')\" != '$(sed -n 1p "$T/keys")' && ! sed -n 5p '$T/refresh.out' | grep -q ' -[0-9]*$'"
start_fixture --rotate --fail-after 1
base_env AWS_CONTAINER_CREDENTIALS_FULL_URI="$FIX/container/v2" \
    "$PROBE" get advance:700 peek get >"$T/fail.out" 2>"$T/fail.err"
tap_check "credentials in their last quarter are not used when the refresh fails: none, and the error names the source" \
    sh -c "sed -n 2p '$T/fail.out' | grep -qx none && sed -n 3p '$T/fail.out' | grep -q '^error transient AWS credentials from container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI): HTTP 500'"
tap_check "the log names the source and key, never the secret" \
    sh -c "grep -q 'AWS credentials from container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI): access key ASIA' '$T/refresh.err' && ! grep -q 's/' '$T/refresh.err'"

# ---- endpoints ------------------------------------------------------------------------------------
files "" "[profile ep]
services = local
endpoint_url = http://127.0.0.1:9999
[services local]
sqs =
  endpoint_url = http://127.0.0.1:4576
"
base_env AWS_PROFILE=ep AWS_ENDPOINT_URL_S3=http://127.0.0.1:4568/ AWS_ENDPOINT_URL=http://127.0.0.1:7000 \
    "$PROBE" endpoint:s3 endpoint:lambda >"$T/ep.out"
base_env AWS_PROFILE=ep "$PROBE" endpoint:sqs endpoint:sns endpoint:kafka >>"$T/ep.out"
base_env AWS_PROFILE=ep AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true AWS_DEFAULT_REGION=eu-west-1 \
    "$PROBE" endpoint:secretsmanager endpoint:sts >>"$T/ep.out"
cat >"$T/ep.want" <<'EOF'
endpoint http://127.0.0.1:4568 AWS_ENDPOINT_URL_S3
endpoint http://127.0.0.1:7000 AWS_ENDPOINT_URL
endpoint http://127.0.0.1:4576 config file [services] section
endpoint http://127.0.0.1:9999 profile endpoint_url
endpoint http://127.0.0.1:9999 profile endpoint_url
endpoint https://secretsmanager.eu-west-1.amazonaws.com default
endpoint https://sts.eu-west-1.amazonaws.com default
EOF
tap_check "endpoints: AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, [services], endpoint_url, defaults" \
    diff "$T/ep.want" "$T/ep.out"

tap_done
