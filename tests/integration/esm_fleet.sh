#!/usr/bin/env bash
# esm_fleet.sh: fleet mode (`kesm serve --cluster-bootstrap ... --cluster-id f1`, esm/fleet.h)
# with three nodes on one kmock cluster and the AWS CLI as the client: a mapping created through
# node 1 is read back by nodes 2 and 3, updated and listed through them; its records are spread
# over the nodes (one consumer group) and delivered exactly once in the steady state; after a
# kill -9 of a node they are delivered at least once and in order per partition, the dead node's
# partitions moving to the others (the failover time is printed); the restarted node rebuilds
# the same view from the config topic; no secret reaches the config topic (kcat reads it); a
# delete through node 3 stops the mapping on every node; a node that cannot reach the cluster
# answers a ServiceException, never a stale success.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
T=$TEST_TMP
declare -A PIDS=()
cleanup() {
    for n in "${!PIDS[@]}"; do
        kill -TERM "${PIDS[$n]}" 2>/dev/null
    done
    for n in "${!PIDS[@]}"; do
        wait "${PIDS[$n]}" 2>/dev/null
    done
    kmock_stop
}
at_exit cleanup

for need in "$KESM" /usr/bin/aws /usr/bin/jq /usr/bin/curl /usr/bin/kcat; do
    if [ ! -x "$need" ]; then
        echo "not ok - $need is missing"
        exit 1
    fi
done
CONFIGS=_kesm-f1-configs
kmock_start -b 3 -t "$CONFIGS:1" -t orders:4 || {
    echo "not ok - kmock did not start"
    exit 1
}

export HOME=$T AWS_CONFIG_FILE=$T/aws-config AWS_SHARED_CREDENTIALS_FILE=$T/aws-credentials
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
. tests/lib/api.sh
# A short session timeout: kmock holds a rebalance for it when a member (re)joins, and a dead
# node's partitions move after it.
export KESM_SESSION_TIMEOUT_MS=6000 KESM_HEARTBEAT_INTERVAL_MS=500
# The secret of a mapping that names SASL credentials: it must stay on the nodes.
SECRET_PW=fleet-pw-$RANDOM$RANDOM
mkdir -m 700 "$T/secrets"
printf '{"username":"svc","password":"%s"}' "$SECRET_PW" >"$T/secrets/kafka-creds"
chmod 600 "$T/secrets/kafka-creds"

# start_node NAME LOG [BOOTSTRAP]: a fleet node whose handler logs to LOG.
start_node() {
    HANDLER_LOG=$2 KESM_LOG_LEVEL=info timeout --foreground --kill-after=20 "$LIFETIME" \
        "$KESM" serve --listen 127.0.0.1:0 --cluster-bootstrap "${3:-$KMOCK_BOOTSTRAP}" \
        --cluster-id f1 --cluster-timeout 8000 --drain-timeout 3000 \
        --route "demo=exec:$PWD/examples/handler.py" \
        --secrets-dir "$T/secrets" >"$T/$1.out" 2>"$T/$1.err" &
    PIDS[$1]=$!
}
port_of() { sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$T/$1.out" | grep .; }
lam() {
    local node=$1
    shift
    timeout 60 /usr/bin/aws --endpoint-url "http://127.0.0.1:$(port_of "$node")" --region us-east-1 \
        lambda "$@"
}
api() { echo "http://127.0.0.1:$(port_of "$1")/2015-03-31/event-source-mappings"; }
code_of() { api_curl -sS -o /dev/null -w '%{http_code}' "$(api "$1")/$2"; }

for n in n1 n2 n3; do
    start_node $n "$T/delivered.$n"
done
for n in n1 n2 n3; do
    tap_check "node $n starts" wait_until 20 port_of $n
done
# ready: the node has read the config topic to its end (until then it answers 500).
ready() { [ "$(api_curl -sS -o /dev/null -w '%{http_code}' "$(api "$1")/")" = 200 ]; }
for n in n1 n2 n3; do
    tap_check "node $n serves once it read the config topic" wait_until 20 ready $n
done

BS=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')
lam n1 create-event-source-mapping --function-name demo --topics orders \
    --starting-position TRIM_HORIZON --batch-size 5 --maximum-batching-window-in-seconds 0 \
    --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}}" \
    >"$T/create.json" 2>"$T/create.err" || cat "$T/create.err" >&2
U=$(jq -r .UUID "$T/create.json")
tap_check "create through node 1 answers Creating" test "$(jq -r .State "$T/create.json")" = Creating
T0=$(date +%s%N)
tap_check "node 2 knows the mapping" wait_until 10 eval '[ "$(code_of n2 "$U")" = 200 ]'
T1=$(date +%s%N)
echo "# node 2 saw node 1's create $(((T1 - T0) / 1000000)) ms after node 1 answered"
tap_check "node 3 knows it too" wait_until 10 eval '[ "$(code_of n3 "$U")" = 200 ]'
