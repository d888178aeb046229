#!/usr/bin/env bash
# tests/integration/esm_run_secure.sh: `kesm run` against a TLS + SASL cluster (kmock behind
# tests/broker/sasl_front.pl): secrets come from the files the SourceAccessConfigurations URIs
# name (SCRAM-SHA-512 credentials as Secrets Manager JSON, the root CA as plain PEM or as JSON),
# records are delivered and committed, the password never reaches the logs, and wrong
# credentials stop the mapping with EVENT_SOURCE_AUTHN_ERROR.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/lib/secure_cluster.sh
. tests/integration/esm_run_lib.bash

cleanup() {
    kesm_kill
    secure_cluster_stop
}
at_exit cleanup

if [ ! -x "$KESM" ]; then
    echo "not ok - $KESM is not built"
    exit 1
fi
T=$RUN_TMP
if ! secure_cluster_start -b 1 -t sec:2 >"$T/start.log" 2>&1; then
    echo "not ok - secure cluster did not start"
    sed 's/^/#   /' "$T/start.log" | tail -10
    exit 1
fi
kmock_cmd produce sec 12 codec=gzip headers=h=v >/dev/null

# secure_mapping FILE SECRET CA_URI: a mapping on the TLS+SASL front listeners.
secure_mapping() {
    local bs
    bs=$(printf '%s' "$SECURE_BOOTSTRAP" | sed 's/,/","/g')
    cat >"$1" <<JSON
{"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:demo",
 "Topics": ["sec"], "StartingPosition": "TRIM_HORIZON",
 "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["$bs"]}},
 "SourceAccessConfigurations": [{"Type": "SASL_SCRAM_512_AUTH", "URI": "file://$2"},
                                {"Type": "SERVER_ROOT_CA_CERTIFICATE", "URI": "$3"}],
 "BatchSize": 10, "MaximumBatchingWindowInSeconds": 1,
 "Kesm": {"Transport": "exec", "Command": ["$KMOCK_ROOT/examples/handler.py"]}}
JSON
}
umask 077
printf '{"username": "alice", "password": "alice-secret"}' >"$T/scram.json"
printf '{"username": "alice", "password": "not-the-secret"}' >"$T/wrong.json"
python3 -c 'import json,sys; print(json.dumps({"certificate": open(sys.argv[1]).read()}))' \
    "$SECURE_CA" >"$T/ca.json"

secure_mapping "$T/m1.json" "$T/scram.json" "file://$SECURE_CA"
HANDLER_LOG=$T/l1 kesm_start "$T/m1.json"
wait_lines 40 "$T/l1" 12
wait_committed 20 sec 2 "0=6 1=6"
kesm_stop
tap_check "TLS + SCRAM-SHA-512 (root CA as a PEM file): exits 0" test "$KESM_RC" = 0
tap_check "  every record delivered once, in order" log_check "$T/l1" exact sec-0=6 sec-1=6
tap_check "  the mapping said TLS+SASL" grep -q 'transport exec, TLS+SASL' "$T/kesm.err"
tap_check "  offsets committed" grep -q "0=6 1=6" <<<"$(committed_of "$(group_of)" sec 2)"

kmock_cmd produce sec 6 >/dev/null
secure_mapping "$T/m2.json" "$T/scram.json" "file://$T/ca.json"
HANDLER_LOG=$T/l1 kesm_start "$T/m2.json"
wait_lines 40 "$T/l1" 18
wait_committed 20 sec 2 "0=9 1=9"
kesm_stop
tap_check "root CA given as Secrets Manager JSON: resumes from the commits, exits 0" \
    log_check "$T/l1" exact sec-0=9 sec-1=9
tap_check "  exit status 0" test "$KESM_RC" = 0

secure_mapping "$T/m3.json" "$T/wrong.json" "file://$SECURE_CA"
timeout 60 "$KESM" run --no-status --config "$T/m3.json" 2>"$T/wrong.err"
rc=$?
tap_check "wrong SCRAM password: kesm run stops with status 1" test "$rc" = 1
tap_check "  reason EVENT_SOURCE_AUTHN_ERROR naming the mechanism" \
    grep -q 'stopped: EVENT_SOURCE_AUTHN_ERROR: .*SCRAM-SHA-512' "$T/wrong.err"
tap_check "no password in any log" \
    sh -c "! grep -q -e alice-secret -e not-the-secret '$T/kesm.err' '$T/wrong.err'"

sed 's/"SourceAccessConfigurations": \[.*/"SourceAccessConfigurations": [{"Type": "SASL_SCRAM_512_AUTH", "URI": "file:\/\/'"${T//\//\\/}"'\/scram.json"}], "Kesm": {"Tls": false, "Transport": "stdout"},/; /SERVER_ROOT_CA/d; /"Kesm": {"Transport": "exec"/d' \
    "$T/m1.json" | sed 's/"MaximumBatchingWindowInSeconds": 1,$/"MaximumBatchingWindowInSeconds": 1}/' >"$T/plain.json"
"$KESM" run --no-status --config "$T/plain.json" 2>"$T/plain.err"
rc=$?
tap_check "SASL over plaintext without SaslAllowPlaintext is refused before connecting (exit 2)" \
    test "$rc" = 2
tap_check "  naming Kesm.Tls" grep -q "ESM_CONFIG_NOT_VALID: .*Kesm.Tls" "$T/plain.err"

if [ "$TAP_FAIL" != 0 ]; then
    echo "# kesm stderr (last 30 lines):"
    grep -v ' net \|handler: ' "$T/kesm.err" | tail -30 | sed 's/^/#   /'
fi
secure_cluster_stop
tap_done
