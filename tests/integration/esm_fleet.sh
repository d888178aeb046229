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
. tests/lib/fleet.sh
cleanup() {
    fleet_stop_nodes
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

fleet_aws_env
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

# Work placement: one consumer group (the UUID) over the three nodes.
# spread NODE...: the last assignment of every NODE is of one generation, none is empty, and
# together they hold the 4 partitions (a stable group over exactly these nodes).
spread() {
    local n line gens="" total=0
    for n in "$@"; do
        line=$(grep -o "group $U: generation [0-9]* assigned [0-9]* partitions" "$T/$n.err" | tail -1)
        [ -n "$line" ] || return 1
        set -- $line
        [ "$6" -gt 0 ] || return 1
        gens="$gens $4"
        total=$((total + $6))
    done
    [ "$total" = 4 ] && [ "$(echo $gens | tr ' ' '\n' | sort -u | wc -l)" = 1 ]
}
tap_check "the mapping's partitions are spread over all three nodes" wait_until 40 spread n1 n2 n3
delivered() { cat "$T"/delivered.* 2>/dev/null | wc -l; }
tap_check "produce 40 records" kmock_cmd produce orders 40
tap_check "all 40 reach the function" wait_until 30 eval '[ "$(delivered)" -ge 40 ]'
# check_delivery N ONCE: every offset 0..N/4-1 of the 4 partitions delivered (exactly once when
# ONCE is 1, else at least once), and in order per partition in every node's log: each offset
# follows the one before it, or (at least once only) goes back to redeliver from a committed
# offset after a rebalance.
check_delivery() {
    python3 - "$1" "$2" "$T"/delivered.* <<'PY'
import sys
want, once, files = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3:]
seen, bad = {}, []
for f in files:
    last = {}
    for line in open(f):
        tp, off = line.split(" ")[:2]
        off = int(off)
        if tp in last and off <= last[tp] and once:
            bad.append("%s: %s offset %d after %d" % (f, tp, off, last[tp]))
        last[tp] = off
        seen.setdefault(tp, []).append(off)
total = sum(len(v) for v in seen.values())
for tp, offs in seen.items():
    if sorted(set(offs)) != list(range(want // 4)):
        bad.append("%s: offsets %s" % (tp, sorted(set(offs))))
if once and total != want:
    bad.append("%d deliveries for %d records" % (total, want))
if len(seen) != 4:
    bad.append("partitions seen: %s" % sorted(seen))
print("\n".join(bad[:5]))
sys.exit(1 if bad else 0)
PY
}
tap_check "exactly once, in order per partition, in the steady state" check_delivery 40 1
tap_check "more than one node delivered" \
    test "$(for n in n1 n2 n3; do [ -s "$T/delivered.$n" ] && echo $n; done | wc -l)" -ge 2

# Get, list and update through the other nodes.
lam n3 list-event-source-mappings >"$T/list3.json"
tap_check "list through node 3 shows the mapping" \
    test "$(jq -r '[.EventSourceMappings[].UUID] | join(",")' "$T/list3.json")" = "$U"
lam n2 update-event-source-mapping --uuid "$U" --batch-size 3 >"$T/upd.json" 2>"$T/upd.err"
tap_check "update through node 2 answers Updating" test "$(jq -r .State "$T/upd.json")" = Updating
tap_check "node 2 answered with the new batch size (read-your-writes)" \
    test "$(jq -r .BatchSize "$T/upd.json")" = 3
bs_is() { [ "$(api_curl -sS "$(api "$1")/$U" | jq -r .BatchSize)" = "$2" ]; }
tap_check "node 3 sees batch size 3" wait_until 10 bs_is n3 3
tap_check "node 1 sees batch size 3" wait_until 10 bs_is n1 3
enabled_on() { [ "$(api_curl -sS "$(api "$1")/$U" | jq -r .State)" = Enabled ]; }
tap_check "the mapping is Enabled again on every node" \
    wait_until 40 eval 'enabled_on n1 && enabled_on n2 && enabled_on n3'
tap_check "and spread over the three nodes again" wait_until 40 spread n1 n2 n3

# A second mapping names SASL credentials (disabled: it never connects); the secret's value
# stays on the nodes.
lam n1 create-event-source-mapping --function-name other --topics orders --no-enabled \
    --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}}" \
    --source-access-configurations \
    Type=SASL_SCRAM_512_AUTH,URI=arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka-creds \
    >"$T/create2.json" 2>"$T/create2.err" || cat "$T/create2.err" >&2
U2=$(jq -r .UUID "$T/create2.json")
tap_check "a mapping with SASL credentials is created" test "${#U2}" = 36
timeout 30 kcat -C -b "$KMOCK_BOOTSTRAP" -t "$CONFIGS" -o beginning -e -q \
    -f 'key=%k value=%s\n' >"$T/configs.txt" 2>"$T/kcat.err"
tap_check "kcat reads the config topic: one record per write, keyed by UUID" \
    grep -q "key=$U2 value={\"KesmFleetVersion\":1,\"UUID\":\"$U2\"" "$T/configs.txt"
tap_check "the secret's password is in no record of the config topic" \
    eval '! grep -q -- "$SECRET_PW" "$T/configs.txt"'
tap_check "the secret's reference is (only the URI)" grep -q 'secret:kafka-creds' "$T/configs.txt"

# kill -9 of node 2: its partitions move to nodes 1 and 3 after the session timeout and resume
# at the committed offsets; the records are delivered at least once and in order.
N=40
grep "group $U: generation [0-9]* assigned" "$T/n2.err" | tail -1 >"$T/n2.assigned"
sed 's/^/# node 2 before the kill: /' "$T/n2.assigned"
# P2: node 2's partitions as the handler names them (orders-2 ...); others_of_p2 counts their
# deliveries by the other nodes.
P2=$(grep -o 'orders\[[0-9]*\]' "$T/n2.assigned" | tr '[' '-' | tr -d ']' | paste -sd'|')
others_of_p2() { cat "$T/delivered.n1" "$T/delivered.n3" | grep -c -E "^($P2) "; }
C0=$(others_of_p2)
# PIDS holds timeout(1)'s pid: kill -9 kesm itself, its only child.
KESM2=$(cat "/proc/${PIDS[n2]}/task/${PIDS[n2]}/children")
kill -KILL $KESM2
wait "${PIDS[n2]}" 2>/dev/null
KILLED=$(date +%s%N)
echo "# node 2 (pid $KESM2) killed at $(date -u +%H:%M:%S.%3N)"
unset 'PIDS[n2]'
tap_check "produce 40 records right after the kill" kmock_cmd produce orders 40
N=80
tap_check "node 2's partitions ($P2) are delivered by another node" \
    wait_until 60 eval '[ "$(others_of_p2)" -gt "$C0" ]'
FAILED_OVER=$(date +%s%N)
echo "# failover: kill -9 of node 2 to the first delivery of its partitions by another node: $(((FAILED_OVER - KILLED) / 1000000)) ms (session timeout ${KESM_SESSION_TIMEOUT_MS} ms)"
tap_check "all of them are delivered by the surviving nodes" \
    wait_until 60 eval '[ "$(sort -u "$T"/delivered.* | wc -l)" -ge $N ]'
echo "# kill -9 to all 40 records delivered: $((($(date +%s%N) - KILLED) / 1000000)) ms"
tap_check "at least once, in order per partition, across the kill" check_delivery $N 0

# The restarted node rebuilds the fleet's view from the config topic alone.
start_node n2b "$T/delivered.n2b"
tap_check "the restarted node starts" wait_until 20 port_of n2b
tap_check "and serves once it read the config topic" wait_until 20 ready n2b
view() { lam "$1" list-event-source-mappings | jq -S '[.EventSourceMappings[] | del(.State, .StateTransitionReason, .LastProcessingResult)] | sort_by(.UUID)'; }
view n1 >"$T/view1.json"
view n2b >"$T/view2b.json"
tap_check "its rebuilt view equals node 1's" cmp -s "$T/view1.json" "$T/view2b.json"
tap_check "it holds both mappings" test "$(jq length "$T/view2b.json")" = 2
tap_check "it takes part in the group again" wait_until 40 spread n1 n2b n3
tap_check "produce 40 more" kmock_cmd produce orders 40
N=120
tap_check "they are delivered" wait_until 40 eval '[ "$(sort -u "$T"/delivered.* | wc -l)" -ge $N ]'
tap_check "at least once and in order per partition overall" check_delivery $N 0

# Delete through node 3: the mapping stops on every node.
lam n3 delete-event-source-mapping --uuid "$U" >"$T/del.json" 2>"$T/del.err"
tap_check "delete through node 3 answers Deleting" test "$(jq -r .State "$T/del.json")" = Deleting
gone_everywhere() { for n in n1 n2b n3; do [ "$(code_of $n "$U")" = 404 ] || return 1; done; }
tap_check "the mapping is gone on every node" wait_until 20 gone_everywhere
BEFORE=$(delivered)
tap_check "produce 8 after the delete" kmock_cmd produce orders 8
tap_check "no node delivers them (watched for 3 s)" holds_for 3 eval '[ "$(delivered)" = "$BEFORE" ]'
tap_check "the delete is a tombstone in the config topic" \
    eval "timeout 30 kcat -C -b '$KMOCK_BOOTSTRAP' -t '$CONFIGS' -o beginning -e -q -Z -f '%k=%s\n' | grep -q '^$U=NULL\$'"

# A config topic of several partitions is refused (kmock creates a missing topic with 4 on
# Metadata, whatever the request says; a Kafka broker answers UNKNOWN_TOPIC_OR_PARTITION and the
# node creates it with CreateTopics, which kmock does not serve).
HANDLER_LOG=/dev/null timeout --foreground 60 "$KESM" serve --listen 127.0.0.1:0 \
    --cluster-bootstrap "$KMOCK_BOOTSTRAP" --cluster-id f9 >"$T/f9.out" 2>"$T/f9.err" &
PIDS[f9]=$!
tap_check "a node of fleet f9 starts" wait_until 20 port_of f9
f9_refused() { api_curl -sS "$(api f9)/" | grep -q '_kesm-f9-configs has 4 partitions; a fleet.s config topic must have exactly one'; }
tap_check "its 4-partition config topic is refused with a ServiceException saying so" \
    wait_until 20 f9_refused

# Migration: a single-node state directory imported into the fleet keeps its UUID.
HANDLER_LOG=/dev/null timeout --foreground 60 "$KESM" serve --listen 127.0.0.1:0 \
    --state-dir "$T/single" >"$T/single.out" 2>"$T/single.err" &
PIDS[single]=$!
tap_check "a single-node kesm serve starts" wait_until 20 port_of single
lam single create-event-source-mapping --function-name legacy --topics orders --no-enabled \
    --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}}" \
    >"$T/single.json"
U3=$(jq -r .UUID "$T/single.json")
fleet_stop single
timeout 60 "$KESM" serve --cluster-bootstrap "$KMOCK_BOOTSTRAP" --cluster-id f1 \
    --import-state "$T/single" >"$T/import.out" 2>"$T/import.err"
tap_check "--import-state exits 0" test $? = 0
tap_check "and says what it imported" grep -q 'imported 1 mapping from' "$T/import.out"
tap_check "the imported mapping, same UUID, is on node 3" \
    wait_until 10 eval '[ "$(code_of n3 "$U3")" = 200 ]'

# A node that cannot reach the cluster answers a clear 5xx.
start_node lost "$T/delivered.lost" 127.0.0.1:1
tap_check "a node with an unreachable cluster starts" wait_until 20 port_of lost
api_curl -sS -o "$T/lost.json" -w '%{http_code}' "$(api lost)/" >"$T/lost.code"
tap_check "it answers List with 500 ServiceException" \
    test "$(cat "$T/lost.code")/$(jq -r .Type "$T/lost.json")" = 500/Service
tap_check "saying why" grep -q 'has not read the config topic _kesm-f1-configs' "$T/lost.json"
lam lost create-event-source-mapping --function-name demo --topics orders \
    --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}}" \
    >/dev/null 2>"$T/lost-create.err"
tap_check "a create through it fails with ServiceException" grep -q ServiceException "$T/lost-create.err"
tap_check "kmock: take every broker down" kmock_cmd down -1
lost_cluster() { [ "$(code_of n1 "$U2")" = 500 ]; }
tap_check "node 1 answers 500 once it lost the cluster, not its stale view" wait_until 30 lost_cluster
tap_check "saying so" eval "api_curl -sS '$(api n1)/$U2' | grep -q 'lost the cluster'"
tap_check "kmock: brokers back up" kmock_cmd up -1
tap_check "node 1 answers again" wait_until 30 eval '[ "$(code_of n1 "$U2")" = 200 ]'

fleet_stop f9
for n in n1 n2b n3 lost; do
    fleet_stop "$n"
    tap_check "node $n exits 0 on SIGTERM" test $? = 0
done
if [ "$TAP_FAIL" != 0 ]; then
    for n in n1 n2 n3 n2b; do
        echo "# --- $n"
        grep -v ' DEBUG ' "$T/$n.err" 2>/dev/null | tail -15 | sed 's/^/# /'
    done
fi
kmock_stop
tap_done
