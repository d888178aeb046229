#!/usr/bin/env bash
# tests/integration/group_cooperative.sh: incremental cooperative rebalancing (KIP-429) against
# eager rebalancing, with real group peers. Two groups run side by side on one kmock, each with
# a 6-partition topic that gets one record per partition every 100 ms:
#   eager:       kesm (`kesm run`, assignors range,roundrobin) + kcat with its default assignors;
#   cooperative: kesm (PartitionAssignmentStrategy cooperative-sticky) + kcat with
#                partition.assignment.strategy=cooperative-sticky.
# kesm starts alone and owns all 6 partitions; kcat joins (half the partitions move to it), then
# leaves (they come back). A third group (topic lead, 4 partitions) has kcat lead: it starts
# first with cooperative-sticky, kesm joins and must get its half only in the second rebalance. kesm delivers to stdout, time-stamped per partition by
# tests/tools/event_stamp.py. For the partitions kesm keeps throughout, the longest gap between
# two deliveries must be small with cooperative-sticky (those partitions never stop) and long
# with eager rebalancing (every partition stops for each rebalance: the mock holds a rebalance
# for session.timeout.ms - 1000 ms).
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh

need "$KESM" kcat python3
kmock_start -b 1 -t eager:6 -t coop:6 -t lead:4 -l "$LIFETIME" || {
    echo "not ok - kmock did not start"
    exit 1
}
at_exit kmock_stop
T=$TEST_TMP
SESSION=6000
export KESM_SESSION_TIMEOUT_MS=$SESSION KESM_HEARTBEAT_INTERVAL_MS=500 KESM_COMMIT_INTERVAL_MS=500

# mapping FILE TOPIC ASSIGNORS [EXTRA-KESM-MEMBERS]
mapping() {
    local strategy=
    [ -n "$3" ] && strategy=", \"PartitionAssignmentStrategy\": \"$3\""
    strategy="$strategy${4:+, $4}"
    cat >"$1" <<JSON
{"FunctionName": "demo", "Topics": ["$2"], "StartingPosition": "TRIM_HORIZON",
 "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["$KMOCK_BOOTSTRAP"]}},
 "SelfManagedKafkaEventSourceConfig": {"ConsumerGroupId": "g-$2"},
 "BatchSize": 100, "MaximumBatchingWindowInSeconds": 0,
 "Kesm": {"Transport": "stdout"$strategy}}
JSON
}
mapping "$T/eager.json" eager ""
# GroupProtocol auto: kmock (librdkafka 2.0.2) has no ConsumerGroupHeartbeat, so kesm must use
# the classic protocol.
mapping "$T/coop.json" coop cooperative-sticky '"GroupProtocol": "auto"'
# GroupProtocol consumer cannot work on kmock: kesm must stop at once with a clear reason.
mapping "$T/kip848.json" coop cooperative-sticky '"GroupProtocol": "consumer"'
bg_start KIP848_PID timeout 60 "$KESM" run --no-status --config "$T/kip848.json" \
    >/dev/null 2>"$T/kip848.err"

# kesm_member NAME: kesm run under event_stamp.py; its PID in NAME_PID.
kesm_member() {
    bg_start "${1}_PID" timeout --kill-after=5 "$LIFETIME" python3 tests/tools/event_stamp.py \
        "$T/$1.log" -- "$KESM" run --no-status --config "$T/$1.json" 2>>"$T/$1.err"
}
mapping "$T/lead.json" lead cooperative-sticky
kesm_member eager
kesm_member coop
produce() {
    kmock_cmd produce eager 6 >/dev/null && kmock_cmd produce coop 6 >/dev/null &&
        kmock_cmd produce lead 4 >/dev/null
}
assigned_lines() { grep -c "assigned $2 partitions" "$T/$1.err" 2>/dev/null; }
# kcat_member NAME [-X ...]: a kcat group member of g-NAME, its PID in KCAT_NAME.
kcat_member() {
    local name=$1
    shift
    bg_start "KCAT_$name" timeout --kill-after=5 "$LIFETIME" kcat -b "$KMOCK_BOOTSTRAP" \
        -G "g-$name" -X session.timeout.ms=$SESSION -X heartbeat.interval.ms=500 \
        -X auto.offset.reset=earliest -q -u -f '%p %o\n' "$@" "$name" \
        >"$T/kcat-$name.out" 2>"$T/kcat-$name.err"
}

kcat_member lead -X partition.assignment.strategy=cooperative-sticky -d cgrp

lead_PID=
KCAT_eager=
KCAT_coop=

# The script: produce every 100 ms; kcat joins once kesm delivers all 6 partitions, leaves once
# both groups have rebalanced and kcat delivered, and the run ends once kesm owns all 6 again.
phase=alone
deadline=$((SECONDS + $(scaled 90)))
after=0
while [ "$phase" != done ] && [ "$SECONDS" -lt "$deadline" ]; do
    produce || break
    # kesm joins the kcat-led group once kcat owns (and delivered) every partition.
    if [ -s "$T/kcat-lead.out" ] && [ -z "$lead_PID" ]; then
        kesm_member lead
    fi
    case $phase in
    alone)
        if [ "$(cut -d' ' -f1 "$T/eager.log" 2>/dev/null | sort -u | wc -l)" = 6 ] &&
            [ "$(cut -d' ' -f1 "$T/coop.log" 2>/dev/null | sort -u | wc -l)" = 6 ]; then
            kcat_member eager
            kcat_member coop -X partition.assignment.strategy=cooperative-sticky -d cgrp
            phase=joined
        fi
        ;;
    joined)
        if [ "$(assigned_lines eager 3)" -ge 1 ] && [ "$(assigned_lines coop 3)" -ge 1 ] &&
            [ "$(assigned_lines lead 2)" -ge 1 ] && [ -s "$T/lead.log" ] &&
            [ -s "$T/kcat-eager.out" ] && [ -s "$T/kcat-coop.out" ]; then
            after=$((after + 1))
            if [ "$after" -ge 10 ]; then
                kill -TERM "$KCAT_eager" "$KCAT_coop" 2>/dev/null
                phase=left
                after=0
            fi
        fi
        ;;
    left)
        if [ "$(assigned_lines eager 6)" -ge 2 ] && [ "$(assigned_lines coop 6)" -ge 2 ]; then
            after=$((after + 1))
            [ "$after" -ge 10 ] && phase=done
        fi
        ;;
    esac
    sleep 0.1
done
tap_check "the scenario ran to its end (kcat joined and left both groups)" test "$phase" = done
stop_pid "$eager_PID"
stop_pid "$coop_PID"
stop_pid "$lead_PID"
stop_pid "$KCAT_lead"
wait "$KCAT_eager" "$KCAT_coop" 2>/dev/null

# kept NAME: the partitions kesm had in every assignment; gaps NAME: the longest delivery gap
# (ms) among them after the first delivery of all 6.
kept() {
    grep -o 'assigned [0-9]* partitions ([^)]*): .*' "$T/$1.err" | sed 's/.*: //' |
        python3 -c '
import sys
sets = [set(l.split()) for l in sys.stdin if l.strip() and l.strip() != "none"]
print(" ".join(sorted(set.intersection(*sets))) if sets else "")'
}
gap() {
    python3 - "$T/$1.log" $(kept "$1") <<'PY'
import sys
log, keep = sys.argv[1], {k.replace("[", "-").rstrip("]") for k in sys.argv[2:]}
times = {}
for line in open(log):
    tp, first, last, ms = line.split()
    times.setdefault(tp, []).append(int(ms))
if not times:
    sys.exit(print(99999))
start = max(min(v) for v in times.values())
worst = 0
for tp in keep:
    ts = sorted(t for t in times.get(tp, []) if t >= start)
    worst = max([worst] + [b - a for a, b in zip(ts, ts[1:])])
print(worst)
PY
}
EAGER_KEPT=$(kept eager)
COOP_KEPT=$(kept coop)
EAGER_GAP=$(gap eager)
COOP_GAP=$(gap coop)
echo "# eager: kept $EAGER_KEPT, longest gap ${EAGER_GAP} ms; cooperative: kept $COOP_KEPT," \
    "longest gap ${COOP_GAP} ms"
tap_check "eager: kesm kept 3 partitions" test "$(wc -w <<<"$EAGER_KEPT")" = 3
tap_check "cooperative: kesm kept 3 partitions" test "$(wc -w <<<"$COOP_KEPT")" = 3
tap_check "eager: every rebalance stopped the kept partitions (gap >= $((SESSION - 1500)) ms)" \
    test "${EAGER_GAP:-0}" -ge $((SESSION - 1500))
tap_check "cooperative: the kept partitions never stopped (gap ${COOP_GAP} ms < half the eager gap)" \
    test "${COOP_GAP:-99999}" -lt $((EAGER_GAP / 2))
tap_check "cooperative: kesm revoked only the moving partitions" \
    grep -q 'revoking 3 partitions, keeping 3' "$T/coop.err"
tap_check "cooperative: kcat delivered the partitions handed over" test -s "$T/kcat-coop.out"
# kcat got the moving partitions only in the rebalance after kesm revoked them (KIP-429): its
# first assignment came from the leader's withheld one (empty).
tap_check "cooperative: kcat was first assigned nothing (kesm still owned what moves)" \
    grep -q 'incremental assignment: 0 newly added' "$T/kcat-coop.err"
tap_check "GroupProtocol auto on a broker without KIP-848 uses the classic protocol" \
    grep -q 'does not offer ConsumerGroupHeartbeat (KIP-848): classic group protocol' "$T/coop.err"
wait "$KIP848_PID"
KIP848_RC=$?
tap_check "GroupProtocol consumer on a broker without KIP-848 stops with the reason (exit $KIP848_RC)" \
    grep -q 'GroupProtocol consumer: the broker does not offer ConsumerGroupHeartbeat' "$T/kip848.err"
# withheld_first: kesm was given none of kcat's partitions before kcat revoked them (KIP-429).
# kcat leads and withholds what it still owns: kesm's first assignment is empty. librdkafka 2.0.2's
# mock answers a follower's SyncGroup that arrives after the leader's with an error instead of the
# assignment (kesm logs "SyncGroup answered ..." and joins again); then kesm's first assignment is
# the next generation's. Either way, the first assignment that gives kesm partitions must come
# after kcat started revoking them.
withheld_first() {
    python3 - "$T/lead.err" "$T/kcat-lead.err" <<'PY'
import re, sys, datetime
kesm, kcat = (open(f, errors="replace").read().splitlines() for f in sys.argv[1:3])
first = next((l for l in kesm if re.search(r"g-lead: generation \d+ assigned \d+ partitions", l)), None)
if first is None:
    sys.exit("kesm was never assigned anything in g-lead")
n = int(re.search(r"assigned (\d+) partitions", first).group(1))
if n == 0 and "(cooperative-sticky, 0 kept)" in first:
    sys.exit(print("first assignment empty: " + first))
if not any("g-lead: JOINING" in l and "SyncGroup answered" in l for l in kesm):
    sys.exit("kesm's first assignment was not empty and no SyncGroup of its failed: " + first)
rev = next((l for l in kcat if "incremental assignment: 0 newly added, 2 revoked" in l), None)
if rev is None:
    sys.exit("kcat never revoked the 2 partitions that move")
t_rev = float(rev.split("|")[1])
t_kesm = datetime.datetime.strptime(first.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
    tzinfo=datetime.timezone.utc).timestamp()
if t_kesm < t_rev:
    sys.exit(f"kesm got partitions at {t_kesm:.3f}, before kcat revoked them at {t_rev:.3f}")
print(f"kesm's SyncGroup failed (mock), first assignment at {t_kesm:.3f} after kcat revoked at {t_rev:.3f}")
PY
}
tap_check "kcat leading: kesm's first assignment withheld what kcat still owned" withheld_first
withheld_first | sed 's/^/# /'
if ! withheld_first >/dev/null 2>&1; then
    echo "# kesm in the kcat-led group (its group lines):"
    grep -E 'group .*(generation|JOINING|SYNCING|STABLE|revok)' "$T/lead.err" | head -20 | sed 's/^/#   /'
    echo "# kcat (its assignment lines):"
    grep -iE 'assignment|assigned|revok' "$T/kcat-lead.err" | head -20 | sed 's/^/#   /'
fi
tap_check "kcat leading: kesm got its 2 partitions in the next rebalance and delivered them" \
    test "$(assigned_lines lead 2)" -ge 1 -a -s "$T/lead.log"
tap_check "kcat leading: kcat revoked only what moved to kesm" \
    grep -q 'incremental assignment: 0 newly added, 2 revoked' "$T/kcat-lead.err"
tap_check "cooperative: kcat ran the cooperative protocol" \
    grep -qi 'cooperative' "$T/kcat-coop.err"
tap_done
