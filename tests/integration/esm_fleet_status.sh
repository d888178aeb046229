#!/usr/bin/env bash
# esm_fleet_status.sh: the fleet's status topic (esm/fleet_status.h) with three `kesm serve`
# nodes on one kmock cluster, the AWS CLI and kcat as clients: Get on node 3 shows the partitions
# nodes 1 and 2 hold (KesmFleet), matching what each node's consumer was assigned and summing to
# all partitions; /metrics carries node labels and the fleet's kesm_fleet_* series; the status
# topic holds no secret; a rolling restart of all three nodes (each waits for the restarted node
# to rejoin) loses nothing: every produced record is delivered at least once and in order per
# partition (checked against what was produced, in the one delivery log all nodes append to),
# and Get matches reality after each step; a kill -9 makes the dead node's entries stale and its
# partitions show on the others (the failover time is printed); a delete tombstones every node's
# status of the mapping, the dead node's included.
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
PARTS=6
STATUS=_kesm-f2-status
kmock_start -b 3 -t _kesm-f2-configs:1 -t "$STATUS:1" -t "orders:$PARTS" || {
    echo "not ok - kmock did not start"
    exit 1
}

fleet_aws_env
export KESM_SESSION_TIMEOUT_MS=6000 KESM_HEARTBEAT_INTERVAL_MS=500
SECRET_PW=status-pw-$RANDOM$RANDOM
mkdir -m 700 "$T/secrets"
printf '{"username":"svc","password":"%s"}' "$SECRET_PW" >"$T/secrets/kafka-creds"
chmod 600 "$T/secrets/kafka-creds"
# Every node appends its deliveries to one log: its order is the order of delivery.
LOG=$T/delivered
: >"$LOG"

# start_node NAME [NODE-ID]: a fleet node publishing its status every second (stale after 3 s).
start_node() {
    local id=()
    [ -n "${2:-}" ] && id=(--cluster-node-id "$2")
    HANDLER_LOG=$LOG KESM_LOG_LEVEL=info timeout --foreground --kill-after=20 "$LIFETIME" \
        "$KESM" serve --listen 127.0.0.1:0 --cluster-bootstrap "$KMOCK_BOOTSTRAP" \
        --cluster-id f2 --cluster-timeout 8000 --drain-timeout 3000 \
        --cluster-status-interval 1000 "${id[@]}" \
        --route "demo=exec:$PWD/examples/handler.py" --route "other=exec:$PWD/examples/handler.py" \
        --secrets-dir "$T/secrets" >"$T/$1.out" 2>"$T/$1.err" &
    PIDS[$1]=$!
}
ready() { [ "$(api_curl -sS -o /dev/null -w '%{http_code}' "$(api "$1")/")" = 200 ]; }

start_node n1 node-1
start_node n2 # the default id: HOSTNAME:PORT
start_node n3 node-3
for n in n1 n2 n3; do
    tap_check "node $n starts and serves" eval "wait_until 20 port_of $n && wait_until 20 ready $n"
done
ID2="$(hostname):$(port_of n2)"
declare -A ID=([n1]=node-1 [n2]=$ID2 [n3]=node-3)

BS=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')
lam n1 create-event-source-mapping --function-name demo --topics orders \
    --starting-position TRIM_HORIZON --batch-size 5 --maximum-batching-window-in-seconds 0 \
    --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}}" \
    >"$T/create.json" 2>"$T/create.err" || cat "$T/create.err" >&2
U=$(jq -r .UUID "$T/create.json")
tap_check "a mapping is created through node 1" test "${#U}" = 36

# assigned NAME: the partitions node NAME's consumer was last assigned ("0 3"), from its log.
assigned() {
    grep -o "group $U: generation [0-9]* assigned [0-9]* partitions .*" "$T/$1.err" | tail -1 |
        sed 's/.*): //' | grep -o 'orders\[[0-9]*\]' | tr -dc '0-9\n' | sort -n | paste -sd' '
}
# fleet_view NODE: the KesmFleet member of Get through NODE, as "id=parts;..." sorted by id.
fleet_view() {
    api_curl -sS "$(api "$1")/$U" >"$T/get.json" || return 1
    jq -r '.KesmFleet.Nodes | sort_by(.Node)[] | "\(.Node)=\([.Partitions[].Partition] | sort | map(tostring) | join(" "))"' \
        "$T/get.json" | paste -sd';'
}
# reality NAME...: the same from the nodes' own logs (each must hold some partitions, together all
# of them, each once).
reality() {
    local n all=""
    for n in "$@"; do
        local a
        a=$(assigned "$n")
        [ -n "$a" ] || return 1
        all="$all $a"
        echo "${ID[$n]}=$a"
    done | sort | paste -sd';'
}
# matches VIA NAME...: Get through VIA shows exactly the nodes NAME... holding what their logs say,
# the partitions sum to $PARTS and cover every partition once.
matches() {
    local via=$1
    shift
    local want got
    want=$(reality "$@") || return 1
    got=$(fleet_view "$via") || return 1
    [ "$want" = "$got" ] || return 1
    [ "$(jq '.KesmFleet.AssignedPartitions' "$T/get.json")" = "$PARTS" ] || return 1
    [ "$(jq -r '[.KesmFleet.Nodes[].Partitions[].Partition] | sort | map(tostring) | join(" ")' "$T/get.json")" = "$(seq -s' ' 0 $((PARTS - 1)))" ]
}
tap_check "Get through node 3 shows the partitions nodes 1, 2 and 3 hold, summing to all $PARTS" \
    wait_until 60 matches n3 n1 n2 n3
echo "# Get through node 3: $(fleet_view n3)"
tap_check "node 2's default node id is HOSTNAME:PORT" \
    eval "[[ '$ID2' =~ ^[^:/]+:[0-9]+\$ ]] && jq -e --arg id '$ID2' '[.KesmFleet.Nodes[].Node] | index(\$id) != null' '$T/get.json' >/dev/null"
lam n3 get-event-source-mapping --uuid "$U" >"$T/cli-get.json" 2>"$T/cli-get.err"
tap_check "the AWS CLI reads the fleet's Get (State Enabled)" \
    test "$(jq -r .State "$T/cli-get.json" 2>/dev/null)" = Enabled
lam n2 list-event-source-mappings >"$T/cli-list.json" 2>"$T/cli-list.err"
tap_check "the AWS CLI lists it through node 2" \
    eval '[ "${#U}" = 36 ] && [ "$(jq -r ".EventSourceMappings[0].UUID" "$T/cli-list.json")" = "$U" ]'
list_fleet() { [ "$(api_curl -sS "$(api n2)/" | jq '.EventSourceMappings[0].KesmFleet.AssignedPartitions')" = "$PARTS" ]; }
tap_check "List through node 2 carries the fleet view too" wait_until 10 list_fleet

# /metrics: this node's series are labelled with its id; the fleet's from the status topic.
curl -sS "http://127.0.0.1:$(port_of n2)/metrics" >"$T/metrics.txt"
tap_check "/metrics on node 2 labels its own series node=\"$ID2\"" \
    grep -q "^kesm_mappings{node=\"$ID2\"} 1\$" "$T/metrics.txt"
tap_check "and every sample carries a node label" \
    eval "! grep -v '^#' '$T/metrics.txt' | grep -v 'node=\"' | grep -q ."
tap_check "it exports the fleet: kesm_fleet_mapping_assigned_partitions of node-1 and node-3" \
    eval "grep -q '^kesm_fleet_mapping_assigned_partitions{node=\"node-1\",uuid=\"$U\"} [1-9]' '$T/metrics.txt' &&
          grep -q '^kesm_fleet_mapping_assigned_partitions{node=\"node-3\",uuid=\"$U\"} [1-9]' '$T/metrics.txt'"
tap_check "and kesm_fleet_mapping_lag" grep -q "^kesm_fleet_mapping_lag{node=\"node-1\",uuid=\"$U\"} [0-9]" "$T/metrics.txt"

# A second mapping names SASL credentials; kmock has no SASL, so it stops with a problem on
# every node: the problem surfaces in LastProcessingResult naming a node, and no secret reaches
# the status topic.
lam n1 create-event-source-mapping --function-name other --topics orders \
    --self-managed-event-source "{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}}" \
    --source-access-configurations \
    Type=SASL_SCRAM_512_AUTH,URI=arn:aws:secretsmanager:us-east-1:123456789012:secret:kafka-creds \
    >"$T/create2.json" 2>"$T/create2.err" || cat "$T/create2.err" >&2
U2=$(jq -r .UUID "$T/create2.json")
problem_named() { api_curl -sS "$(api n3)/$U2" | jq -r .LastProcessingResult | grep -q '^PROBLEM: .*(node '; }
tap_check "the SASL mapping's problem shows in Get through node 3, naming the node" wait_until 40 problem_named
api_curl -sS "$(api n3)/$U2" | jq -r '"# " + .LastProcessingResult'
timeout 30 kcat -C -b "$KMOCK_BOOTSTRAP" -t "$STATUS" -o beginning -e -q -f '%k %s\n' \
    >"$T/status.txt" 2>"$T/kcat.err"
tap_check "kcat reads the status topic: records keyed NODE/UUID" grep -q "^node-1/$U {\"KesmFleetStatusVersion\":1," "$T/status.txt"
tap_check "the SASL mapping's status is there" grep -q "^node-3/$U2 " "$T/status.txt"
tap_check "no secret in the status topic (password, username's secret, secrets dir)" \
    eval "! grep -q -e '$SECRET_PW' -e password -e '$T/secrets' '$T/status.txt'"
tap_check "the SASL mapping is disabled through node 1" \
    eval "lam n1 update-event-source-mapping --uuid '$U2' --no-enabled >/dev/null 2>&1"

# check_delivery N: the log holds every offset 0..N/PARTS-1 of every partition (what was
# produced: kmock_cmd produce spreads records evenly), and in order per partition: no record was
# delivered before every earlier record of its partition had been (redeliveries after a
# rebalance are allowed: at least once).
check_delivery() {
    python3 - "$1" "$PARTS" "$LOG" <<'PY'
import sys
want, parts, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
top, seen, bad = {}, {}, []
for line in open(log):
    tp, off = line.split(" ")[:2]
    off = int(off)
    if off > top.get(tp, -1) + 1:
        bad.append("%s: offset %d delivered before %d" % (tp, off, top.get(tp, -1) + 1))
    top[tp] = max(top.get(tp, -1), off)
    seen.setdefault(tp, set()).add(off)
for tp in sorted(seen):
    if sorted(seen[tp]) != list(range(want // parts)):
        bad.append("%s: offsets %s" % (tp, sorted(seen[tp])))
if len(seen) != parts:
    bad.append("partitions seen: %s" % sorted(seen))
print("\n".join(bad[:5]))
sys.exit(1 if bad else 0)
PY
}
distinct() { sort -u "$LOG" | wc -l; }
N=60
tap_check "produce $N records" kmock_cmd produce orders $N
tap_check "all $N are delivered" wait_until 40 eval '[ "$(distinct)" -ge $N ]'

# Rolling restart: one node at a time is stopped (SIGTERM), records are produced while it is
# down, it is started again and the next one waits until the group holds all three again.
declare -A NEXT=([n1]=n1b [n2]=n2b [n3]=n3b)
live=(n1 n2 n3)
for old in n1 n2 n3; do
    new=${NEXT[$old]}
    fleet_stop "$old"
    tap_check "rolling restart: $old stops cleanly" test $? = 0
    others=()
    for n in "${live[@]}"; do [ "$n" = "$old" ] || others+=("$n"); done
    gone() {
        api_curl -sS "$(api "${others[0]}")/$U" | jq -e --arg id "${ID[$old]}" \
            '(.KesmFleet.Nodes | type == "array") and ([.KesmFleet.Nodes[] | select(.Node == $id)] | length == 0)' >/dev/null
    }
    tap_check "its status is withdrawn (a tombstone, not staleness) at once" wait_until 5 gone
    tap_check "produce 30 while $old is down" kmock_cmd produce orders 30
    N=$((N + 30))
    if [ "$old" = n2 ]; then
        start_node "$new"
        wait_until 20 port_of "$new"
        ID[$new]="$(hostname):$(port_of "$new")"
    else
        start_node "$new" "${ID[$old]}"
        ID[$new]=${ID[$old]}
    fi
    live=("${others[@]}" "$new")
    tap_check "$new starts and serves" eval "wait_until 20 port_of $new && wait_until 30 ready $new"
    tap_check "Get through ${others[0]} matches the three nodes' assignments again" \
        wait_until 60 matches "${others[0]}" "${live[@]}"
    tap_check "all $N records so far are delivered" wait_until 40 eval '[ "$(distinct)" -ge $N ]'
done
tap_check "the rolling restart lost nothing: at least once, in order per partition" check_delivery $N

# kill -9 of node 2: its entries go stale after 3 s, its partitions move to the others.
victim=n2b
read -r -a rest <<<"$(printf '%s\n' "${live[@]}" | grep -vx "$victim" | paste -sd' ')"
VP=$(assigned $victim | sed 's/\([0-9]*\)/orders-\1/g' | tr ' ' '|')
of_victim() { grep -c -E "^($VP) " "$LOG"; }
C0=$(of_victim)
KV=$(cat "/proc/${PIDS[$victim]}/task/${PIDS[$victim]}/children")
kill -KILL $KV
wait "${PIDS[$victim]}" 2>/dev/null
KILLED=$(date +%s%N)
unset "PIDS[$victim]"
tap_check "produce 30 right after the kill -9 of $victim" kmock_cmd produce orders 30
N=$((N + 30))
tap_check "its partitions ($VP) are delivered by another node" wait_until 60 eval '[ "$(of_victim)" -gt "$C0" ]'
echo "# failover: kill -9 of $victim to the first delivery of its partitions elsewhere: $((($(date +%s%N) - KILLED) / 1000000)) ms (session timeout ${KESM_SESSION_TIMEOUT_MS} ms, status interval 1000 ms)"
stale_shown() { api_curl -sS "$(api "${rest[0]}")/$U" | jq -e --arg id "${ID[$victim]}" '.KesmFleet.StaleNodes[] | select(.Node == $id and .Stale)' >/dev/null; }
tap_check "Get through ${rest[0]} lists the dead node as stale" wait_until 20 stale_shown
tap_check "and shows all partitions on the two live nodes" wait_until 60 matches "${rest[1]}" "${rest[@]}"
tap_check "every record is delivered" wait_until 40 eval '[ "$(distinct)" -ge $N ]'
tap_check "at least once and in order per partition across the kill" check_delivery $N
curl -sS "http://127.0.0.1:$(port_of "${rest[0]}")/metrics" >"$T/metrics2.txt"
tap_check "/metrics counts the dead node's entries as stale, not live" \
    eval "grep -q '^kesm_fleet_status_entries{node=\"${ID[${rest[0]}]}\",kind=\"stale\"} [1-9]' '$T/metrics2.txt' &&
          ! grep -q 'kesm_fleet_mapping_assigned_partitions{node=\"${ID[$victim]}\"' '$T/metrics2.txt'"

# A hostile status record is skipped with a log line naming its key and offset.
printf 'evil/%s\t{"KesmFleetStatusVersion":1,"Node":"other"}\n' "$U" |
    timeout 30 kcat -P -b "$KMOCK_BOOTSTRAP" -t "$STATUS" -K '\t' 2>"$T/kcat-p.err"
tap_check "a corrupt status record is skipped, naming its key and offset" \
    wait_until 20 grep -q "status topic $STATUS partition 0 offset [0-9]* (key evil/$U): Node and UUID must be the key's; skipped" "$T/${rest[0]}.err"
tap_check "the node still answers" ready "${rest[0]}"

# Deleting the mapping tombstones every node's status of it, the dead node's too (a stale entry of
# a mapping the fleet no longer has is removed by the live nodes).
lam "${rest[0]}" delete-event-source-mapping --uuid "$U" >/dev/null 2>"$T/del.err"
# last_of KEY: the last value of KEY in the status topic ("NULL" for a tombstone).
last_of() {
    timeout 30 kcat -C -b "$KMOCK_BOOTSTRAP" -t "$STATUS" -o beginning -e -q -Z -f '%k\t%s\n' 2>/dev/null |
        awk -F'\t' -v k="$1" '$1 == k { v = $2 } END { print v }'
}
tombstoned() { for id in "$@"; do [ "$(last_of "$id/$U")" = NULL ] || return 1; done; }
tap_check "after a delete, every node's status of the mapping is a tombstone, the dead node's too" \
    wait_until 20 tombstoned "${ID[${rest[0]}]}" "${ID[${rest[1]}]}" "${ID[$victim]}"

tap_check "no node took another's records for its own (restarts reused node ids)" \
    eval "! grep -q 'another node publishes as node id' '$T'/*.err"

for n in "${rest[@]}"; do
    fleet_stop "$n"
    tap_check "node $n exits 0 on SIGTERM" test $? = 0
done
if [ "$TAP_FAIL" != 0 ]; then
    for n in n1 n2 n3 n1b n2b n3b; do
        echo "# --- $n"
        grep -v ' DEBUG ' "$T/$n.err" 2>/dev/null | grep -E 'fleet|group|WARN|ERROR' | tail -12 | sed 's/^/# /'
    done
fi
kmock_stop
tap_done
