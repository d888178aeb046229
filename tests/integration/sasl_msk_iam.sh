#!/usr/bin/env bash
# sasl_msk_iam.sh: kesm's Amazon MSK IAM token (sasl/msk_iam.c, through build/asan/tools/
# msk_iam_token) byte for byte against the reference signer from npm, aws-msk-iam-sasl-signer-js
# (tests/node/msk_iam_token.mjs: the same credentials, region and a pinned clock, credentials given
# by a provider function), over several regions, with and without session tokens, with credentials
# that expire before the token would, and one random case per run. Then the signatures are checked
# once more with botocore's SigV4QueryAuth (tests/oracle/msk_iam_botocore.py), the signer of
# aws-msk-iam-sasl-signer-python. Nothing leaves the machine: both signers are pure here.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/node.sh

TOOL=$ASAN_TREE/tools/msk_iam_token
need "$TOOL" node python3
if ! node_deps "$TEST_TMP/npm.log" aws-msk-iam-sasl-signer-js; then
    tap_fail "npm ci in tests/node" "$(tail -20 "$TEST_TMP/npm.log")"
    tap_done
fi
SIGNER_VERSION=$(node -p 'require("./tests/node/node_modules/aws-msk-iam-sasl-signer-js/package.json").version')
tap_ok "aws-msk-iam-sasl-signer-js $SIGNER_VERSION installed"

SECRET=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
# A session token in the shape STS hands out (long, with + / and = that need percent-encoding).
LONG_TOKEN=IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+example/session+token==
for _ in 1 2 3 4 5 6; do LONG_TOKEN=$LONG_TOKEN$LONG_TOKEN; done # 64 times: about 4.7 KB
RAND_SECRET=$(head -c 30 /dev/urandom | base64 -w0)
RAND_TOKEN=$(head -c 900 /dev/urandom | base64 -w0)
RAND_NOW=$((1500000000 + $(od -An -N3 -tu4 /dev/urandom | tr -d ' ')))

CASES=$TEST_TMP/cases.jsonl
jq -cn --arg s "$SECRET" --arg lt "$LONG_TOKEN" --arg rs "$RAND_SECRET" --arg rt "$RAND_TOKEN" \
    --argjson rn "$RAND_NOW" '
    {region:"us-east-1", accessKeyId:"AKIAIOSFODNN7EXAMPLE", secretAccessKey:$s, now:1700000000},
    {region:"eu-west-1", accessKeyId:"ASIAIOSFODNN7EXAMPLE", secretAccessKey:$s,
     sessionToken:$lt, now:1718000123},
    {region:"ap-southeast-2", accessKeyId:"ASIAZZZZZZZZZZZZZZZZ", secretAccessKey:$s,
     sessionToken:"short/token+=", now:1718000123, credentialsExpiry:1718000423},
    {region:"us-gov-west-1", accessKeyId:"AKIAGOVGOVGOVGOVGOV1", secretAccessKey:($s + "+gov"),
     now:1709251199},
    {region:"cn-north-1", accessKeyId:"AKIACNCNCNCNCNCNCNCN", secretAccessKey:$s,
     sessionToken:"cn", now:946684799, credentialsExpiry:946692000},
    {region:"il-central-1", accessKeyId:"ASIAILILILILILILILIL", secretAccessKey:$s,
     sessionToken:$lt, now:0},
    {region:"ca-central-1", accessKeyId:"ASIACACACACACACACACA", secretAccessKey:$s,
     sessionToken:"one-second", now:1750000000, credentialsExpiry:1750000001},
    {region:"me-central-1", accessKeyId:"ASIARANDOMRANDOMRAND", secretAccessKey:$rs,
     sessionToken:$rt, now:$rn, credentialsExpiry:($rn + 3600)}
' >"$CASES"
NCASES=$(wc -l <"$CASES")
UA="aws-msk-iam-sasl-signer-js/$SIGNER_VERSION"
jq -c --arg ua "$UA" '. + {userAgent:$ua}' "$CASES" >"$TEST_TMP/cases_ua.jsonl"

node tests/node/msk_iam_token.mjs <"$CASES" >"$TEST_TMP/npm.jsonl" 2>"$TEST_TMP/npm.err"
"$TOOL" <"$TEST_TMP/cases_ua.jsonl" >"$TEST_TMP/kesm.jsonl" 2>"$TEST_TMP/kesm.err"
tap_check "the npm signer answered all $NCASES cases" test "$(grep -c '"token"' "$TEST_TMP/npm.jsonl")" = "$NCASES"
tap_check "kesm answered all $NCASES cases" test "$(grep -c '"token"' "$TEST_TMP/kesm.jsonl")" = "$NCASES"

for n in $(seq 1 "$NCASES"); do
    c=$(sed -n "${n}p" "$CASES")
    what=$(jq -r '"\(.region), \(if .sessionToken then "session token of \(.sessionToken|length) bytes" else "long-term keys" end)\(if .credentialsExpiry then ", credentials expire \(.credentialsExpiry - .now) s after signing" else "" end)"' <<<"$c")
    ref=$(sed -n "${n}p" "$TEST_TMP/npm.jsonl")
    got=$(sed -n "${n}p" "$TEST_TMP/kesm.jsonl")
    if [ -n "$ref" ] && [ "$(jq -r .token <<<"$ref")" = "$(jq -r .token <<<"$got")" ]; then
        tap_ok "case $n ($what): token identical ($(jq -r '.token|length' <<<"$got") bytes)"
    else
        tap_fail "case $n ($what): token identical" "npm:  $ref" "kesm: $got"
    fi
    tap_check "case $n: expiry identical ($(jq -r .expiryTime <<<"$ref") ms)" \
        test "$(jq -r .expiryTime <<<"$ref")" = "$(jq -r .expiryTime <<<"$got")"
done

# The comparison can fail: kesm's own user agent (it is part of the URL) gives other tokens.
"$TOOL" <"$CASES" >"$TEST_TMP/kesm_ua.jsonl"
tap_check "with kesm's own user agent the tokens differ from npm's" \
    test "$(jq -r .token "$TEST_TMP/kesm_ua.jsonl" | head -1)" != "$(jq -r .token "$TEST_TMP/npm.jsonl" | head -1)"
tap_check "... and the decoded URL carries User-Agent=kesm%2F" \
    sh -c "jq -r .token '$TEST_TMP/kesm_ua.jsonl' | head -1 | tr -- '-_' '+/' | base64 -d 2>/dev/null | grep -q 'User-Agent=kesm%2F'"

python3 tests/oracle/msk_iam_botocore.py "$CASES" "$TEST_TMP/kesm.jsonl" >"$TEST_TMP/boto.out" 2>&1
tap_check "botocore's SigV4QueryAuth signs all $NCASES requests the same" \
    test "$(grep -c '^ok ' "$TEST_TMP/boto.out")" = "$NCASES"
grep '^mismatch' "$TEST_TMP/boto.out" | sed 's/^/# /'
# ... and that check can fail too: a different secret for botocore.
jq -c '.secretAccessKey += "x"' "$CASES" >"$TEST_TMP/cases_bad.jsonl"
python3 tests/oracle/msk_iam_botocore.py "$TEST_TMP/cases_bad.jsonl" "$TEST_TMP/kesm.jsonl" >"$TEST_TMP/boto_bad.out" 2>&1
tap_check "botocore disagrees when it signs with another secret" \
    test "$(grep -c '^mismatch [0-9]*: X-Amz-Signature' "$TEST_TMP/boto_bad.out")" = "$NCASES"

# What kesm refuses, with a reason and without the secret.
printf '%s\n' '{"region":"us-east-1","accessKeyId":"AKIA","secretAccessKey":"s3cret","now":1700000000,"credentialsExpiry":1699999000}' \
    '{"region":"us-east-1.evil.example","accessKeyId":"AKIA","secretAccessKey":"s3cret","now":1700000000}' |
    "$TOOL" >"$TEST_TMP/refused.jsonl"
tap_check "expired credentials refused" grep -q '"error":"MSK IAM: the AWS credentials expired 1000 s before signing"' "$TEST_TMP/refused.jsonl"
tap_check "a region that would change the host refused" grep -q "region may hold only a-z, 0-9 and '-' (0x2e at offset 9)" "$TEST_TMP/refused.jsonl"
tap_check "no error names the secret" sh -c "! grep -q s3cret '$TEST_TMP/refused.jsonl'"
tap_done
