#!/usr/bin/env bash
# esm_fleet_secure.sh: fleet mode over a secured cluster connection: the fleet's topics live
# behind TLS + SASL/SCRAM-SHA-512 (tests/broker/sasl_front.pl in front of kmock,
# tests/lib/secure_cluster.sh), the node's credentials come from --cluster-sasl-file and its CA
# from --cluster-ca. A node with the right password serves, writes the config and status topics
# and shows the fleet view; one with a wrong password answers every API request with a 5xx
# naming the authentication failure, and no password reaches a log, an answer or a topic.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/lib/secure_cluster.sh
T=$TEST_TMP
. tests/lib/fleet.sh
cleanup() {
    fleet_stop_nodes
    secure_cluster_stop
}
at_exit cleanup

for need in "$KESM" /usr/bin/aws /usr/bin/jq /usr/bin/curl /usr/bin/kcat /usr/bin/perl; do
    if [ ! -x "$need" ]; then
        echo "not ok - $need is missing"
        exit 1
    fi
done
if ! secure_cluster_start -b 1 -t _kesm-s3-configs:1 -t _kesm-s3-status:1 -t orders:2 \
    >"$T/start.log" 2>&1; then
    echo "not ok - the secured cluster did not start"
    sed 's/^/# /' "$T/start.log"
    exit 1
fi
fleet_aws_env

umask 077
printf '{"username":"alice","password":"alice-secret"}' >"$T/good.json"
printf '{"username":"alice","password":"wrong-pw-%s"}' "$RANDOM$RANDOM" >"$T/bad.json"
BADPW=$(jq -r .password "$T/bad.json")

# start_node NAME CREDS: a fleet node reaching the cluster through the secured front only.
start_node() {
    HANDLER_LOG=$T/delivered KESM_LOG_LEVEL=debug timeout --foreground --kill-after=20 "$LIFETIME" \
        "$KESM" serve --listen 127.0.0.1:0 --cluster-bootstrap "$SECURE_BOOTSTRAP" \
        --cluster-id s3 --cluster-ca "$SECURE_CA" --cluster-sasl-file "$2" \
        --cluster-sasl-mechanism SCRAM-SHA-512 --cluster-status-interval 1000 \
        --route "demo=exec:$PWD/examples/handler.py" >"$T/$1.out" 2>"$T/$1.err" &
    PIDS[$1]=$!
}
code_of() { api_curl -sS -o "$T/$1.body" -w '%{http_code}' "$(api "$1")/"; }

start_node good "$T/good.json"
tap_check "a node with the right SCRAM password starts" wait_until 20 port_of good
tap_check "it reads the config topic through TLS + SCRAM and serves" \
    wait_until 30 eval '[ "$(code_of good)" = 200 ]'
tap_check "its cluster connections authenticated with SCRAM-SHA-512" \
    grep -q 'fleet broker .*SCRAM-SHA-512\|fleet .*authenticated' "$T/good.err"
timeout 60 /usr/bin/aws --endpoint-url "http://127.0.0.1:$(port_of good)" lambda \
    create-event-source-mapping --function-name demo --topics orders \
    --starting-position TRIM_HORIZON --maximum-batching-window-in-seconds 0 \
    --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$KMOCK_BOOTSTRAP\"]}}" \
    >"$T/create.json" 2>"$T/create.err" || cat "$T/create.err" >&2
U=$(jq -r .UUID "$T/create.json")
tap_check "a create through it is confirmed (written and read back through the front)" \
    test "$(jq -r .State "$T/create.json")" = Creating
fleet_parts() { [ "$(api_curl -sS "$(api good)/$U" | jq .KesmFleet.AssignedPartitions)" = 2 ]; }
tap_check "Get shows its status: both partitions on this node" wait_until 40 fleet_parts
timeout 30 kcat -C -b "$KMOCK_BOOTSTRAP" -t _kesm-s3-status -o beginning -e -q -f '%k %s\n' \
    >"$T/status.txt" 2>/dev/null
tap_check "its status record went through the secured front to the status topic" \
    grep -q "/$U {\"KesmFleetStatusVersion\":1," "$T/status.txt"
tap_check "kmock produces 10" kmock_cmd produce orders 10
tap_check "they are delivered" wait_until 30 eval '[ "$(wc -l <"$T/delivered")" -ge 10 ]'

start_node bad "$T/bad.json"
tap_check "a node with a wrong SCRAM password starts" wait_until 20 port_of bad
tap_check "it answers the API with 500 ServiceException" \
    wait_until 30 eval '[ "$(code_of bad)" = 500 ] && [ "$(jq -r .Type "$T/bad.body")" = Service ]'
tap_check "naming the authentication failure" \
    wait_until 20 eval "code_of bad >/dev/null; grep -qi 'auth' '$T/bad.body'"
sed 's/^/# /' "$T/bad.body"
echo
tap_check "its log says so too" grep -qiE 'fleet.*(authentication|SASL).*(fail|refused)' "$T/bad.err"
grep -iE 'fleet.*(authentication|SASL).*(fail|refused)' "$T/bad.err" | grep -v DEBUG | head -2 | sed 's/^/# /'
grep -E 'fleet .*SCRAM-SHA-512|fleet .*authenticated' "$T/good.err" | head -1 | sed 's/^/# /' 
timeout 60 /usr/bin/aws --endpoint-url "http://127.0.0.1:$(port_of bad)" lambda \
    list-event-source-mappings >/dev/null 2>"$T/bad-cli.err"
tap_check "the AWS CLI gets a ServiceException from it" grep -q ServiceException "$T/bad-cli.err"
tap_check "no password in any log, answer or topic" \
    eval "! grep -q -e alice-secret -e '$BADPW' '$T'/good.err '$T'/bad.err '$T'/*.out '$T'/bad.body '$T'/status.txt"

for n in good bad; do
    fleet_stop "$n"
    tap_check "node $n exits 0 on SIGTERM" test $? = 0
done
if [ "$TAP_FAIL" != 0 ]; then
    for n in good bad; do
        echo "# --- $n"
        grep -E 'fleet|WARN|ERROR' "$T/$n.err" | grep -v DEBUG | tail -12 | sed 's/^/# /'
    done
fi
secure_cluster_stop
tap_done
