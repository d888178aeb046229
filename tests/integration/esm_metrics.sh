#!/usr/bin/env bash
# esm_metrics.sh: kesm serve's observability against kmock. A mapping (exec transport, a handler
# that is slow on its first invocation) consumes 30 records from two partitions while GET /metrics
# is scraped: every scrape parses under a strict Prometheus text-format 0.0.4 parser, the
# mapping's OffsetLag is seen above zero and then falls to zero on both partitions, and the
# counters match what the handler saw (records, invocations, batch sizes). GET /health answers 200
# with the mapping counted as Enabled; log lines of the mapping carry its UUID. The mapping runs
# with ParallelizationFactor 2: the per-lane gauges (unfinished records, lag) and the batches in
# flight per partition are seen while the first batch is slow and settle at 0. Then SIGTERM
# arrives during a slow invocation: kesm waits for it, commits the offsets after that batch
# (kmock `committed`) and exits 0.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
T=$TEST_TMP
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    kmock_stop
}
at_exit cleanup

for need in "$KESM" /usr/bin/jq /usr/bin/curl /usr/bin/python3; do
    if [ ! -x "$need" ]; then
        echo "not ok - $need is missing"
        exit 1
    fi
done
kmock_start -b 1 -t orders:2 || {
    echo "not ok - kmock did not start"
    exit 1
}

# The function: appends "<partition> <offset>" per record to $T/delivered and one line per
# invocation to $T/invocations (the batch size); sleeps 3 s on its first invocation, and 4 s on
# the invocation that follows the creation of $T/slow_next (touching $T/in_slow first).
cat >"$T/fn.py" <<'PY'
#!/usr/bin/env python3
import json, os, sys, time
d = os.environ["FN_DIR"]
ev = json.load(sys.stdin)
recs = [r for rs in ev["records"].values() for r in rs]
first = not os.path.exists(d + "/invocations")
if first:
    time.sleep(3)
if os.path.exists(d + "/slow_next"):
    os.unlink(d + "/slow_next")
    open(d + "/in_slow", "w").close()
    time.sleep(4)
with open(d + "/delivered", "a") as f:
    for r in recs:
        f.write("%d %d\n" % (r["partition"], r["offset"]))
with open(d + "/invocations", "a") as f:
    f.write("%d\n" % len(recs))
PY
chmod +x "$T/fn.py"

# prom_check FILE: a strict parser of the text exposition format 0.0.4 (HELP/TYPE before the
# samples of their family, each family once, names and label syntax, escapes, values, histogram
# buckets cumulative with +Inf equal to _count). Prints the samples as JSON lines on success.
cat >"$T/prom.py" <<'PY'
import json, math, re, sys
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
def unescape(s):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], s)
def fail(n, line, why):
    sys.exit("line %d: %s: %r" % (n, why, line))
text = open(sys.argv[1], encoding="utf-8").read()
if not text.endswith("\n"):
    sys.exit("no final newline")
types, helped, fam, out = {}, set(), None, []
for n, line in enumerate(text.split("\n")[:-1], 1):
    m = re.fullmatch(r"# (HELP|TYPE) (%s) (.*)" % NAME, line)
    if m:
        kind, name, rest = m.groups()
        if kind == "HELP":
            if name in helped:
                fail(n, line, "second HELP")
            helped.add(name)
            fam = name
        else:
            if name in types or rest not in ("counter", "gauge", "histogram", "summary", "untyped"):
                fail(n, line, "bad or second TYPE")
            if name != fam:
                fail(n, line, "TYPE without its HELP")
            types[name] = rest
        continue
    if line.startswith("#") or not line:
        fail(n, line, "unexpected line")
    m = re.fullmatch(r"(%s)(?:\{((?:%s)(?:,%s)*)\})? (\S+)" % (NAME, LABEL, LABEL), line)
    if not m:
        fail(n, line, "not a sample")
    name, value = m.group(1), m.group(m.lastindex)
    labels = {k: unescape(v) for k, v in re.findall(LABEL, m.group(2) or "")}
    base = re.sub(r"_(bucket|sum|count)$", "", name) if types.get(fam) == "histogram" else name
    if base != fam:
        fail(n, line, "sample outside its family %s" % fam)
    if types.get(fam) == "counter" and not name.endswith("_total"):
        fail(n, line, "counter without _total")
    v = float(value)
    if math.isnan(v):
        fail(n, line, "NaN")
    out.append({"name": name, "labels": labels, "value": v})
# histograms: buckets cumulative, last +Inf == _count
series = {}
for s in out:
    if s["name"].endswith("_bucket"):
        key = (s["name"], tuple(sorted((k, v) for k, v in s["labels"].items() if k != "le")))
        series.setdefault(key, []).append((s["labels"]["le"], s["value"]))
for (name, lbl), b in series.items():
    les = [float(le) for le, _ in b]
    if b[-1][0] != "+Inf" or les != sorted(les):
        sys.exit("%s %s: buckets not ending in +Inf or not increasing" % (name, lbl))
    if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
        sys.exit("%s %s: buckets not cumulative" % (name, lbl))
    count = [s["value"] for s in out if s["name"] == name[:-7] + "_count"
             and tuple(sorted(s["labels"].items())) == lbl]
    if count != [b[-1][1]]:
        sys.exit("%s %s: +Inf bucket != _count" % (name, lbl))
for s in out:
    print(json.dumps(s))
PY

export KESM_SESSION_TIMEOUT_MS=6000 KESM_HEARTBEAT_INTERVAL_MS=500 FN_DIR=$T
# API requests are signed (tests/lib/api.sh); --allow-api-exec lets them name the function.
. tests/lib/api.sh
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE
timeout --foreground --kill-after=20 "$LIFETIME" "$KESM" serve --listen 127.0.0.1:0 --state-dir "$T/state" \
    --drain-timeout 20000 --allow-api-exec >"$T/serve.out" 2>"$T/serve.err" &
PID=$!
serve_port() { sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$T/serve.out" | grep .; }
tap_check "kesm serve starts" wait_until 10 serve_port
PORT=$(serve_port)
BASE=http://127.0.0.1:$PORT
API=$BASE/2015-03-31/event-source-mappings

tap_check "GET /metrics parses before any mapping exists" \
    sh -c "curl -sS -f '$BASE/metrics' >'$T/m0' && python3 '$T/prom.py' '$T/m0' >/dev/null"
tap_check "produce 30 records" kmock_cmd produce orders 30
BS=$(printf '%s' "$KMOCK_BOOTSTRAP" | sed 's/,/","/g')
api_curl -sS -o "$T/create.json" -X POST "$API/" -d "{\"FunctionName\":\"metered\",
  \"Topics\":[\"orders\"],\"StartingPosition\":\"TRIM_HORIZON\",\"BatchSize\":5,
  \"MaximumBatchingWindowInSeconds\":0,\"ParallelizationFactor\":2,
  \"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$BS\"]}},
  \"Kesm\":{\"Transport\":\"exec\",\"Command\":[\"$T/fn.py\"]}}"
U=$(jq -r .UUID "$T/create.json")
tap_check "the mapping is created ($U)" test -n "$U" -a "$U" != null

# scrape: one scrape into $T/scrapes/N (parsed into N.json); fails if it does not parse.
mkdir "$T/scrapes"
SCRAPES=0
scrape() {
    SCRAPES=$((SCRAPES + 1))
    curl -sS -f "$BASE/metrics" >"$T/scrapes/$SCRAPES" &&
        python3 "$T/prom.py" "$T/scrapes/$SCRAPES" >"$T/scrapes/$SCRAPES.json" 2>"$T/scrapes/$SCRAPES.err"
}
# value NAME [k=v...]: the sum of the last scrape's samples NAME with those labels (and uuid=U).
value() {
    python3 - "$T/scrapes/$SCRAPES.json" "$U" "$@" <<'PY'
import json, sys
f, u, name = sys.argv[1], sys.argv[2], sys.argv[3]
want = dict(a.split("=", 1) for a in sys.argv[4:])
want["uuid"] = u
tot, seen = 0, False
for line in open(f):
    s = json.loads(line)
    if s["name"] == name and all(s["labels"].get(k) == v for k, v in want.items()):
        tot += s["value"]
        seen = True
print(int(tot) if seen else "none")
PY
}
# scrape_values: the last scrape's OffsetLag, batches in flight and lane records pending of
# partitions 0 and 1 ("none" where absent), in one python run (each start costs time).
scrape_values() {
    python3 - "$T/scrapes/$SCRAPES.json" "$U" <<'PY'
import json, sys
f, u = sys.argv[1], sys.argv[2]
want = ["kesm_offset_lag", "kesm_partition_batches_inflight", "kesm_lane_records_pending"]
got = {}
for line in open(f):
    s = json.loads(line)
    if s["name"] in want and s["labels"].get("uuid") == u:
        k = (s["name"], s["labels"].get("partition"))
        got[k] = got.get(k, 0) + s["value"]
print(" ".join(str(int(got[(n, p)])) if (n, p) in got else "none" for n in want for p in "01"))
PY
}
delivered() { if [ -f "$T/delivered" ]; then wc -l <"$T/delivered"; else echo 0; fi; }
BAD=0
MAXLAG=0
LAGS=
MAXINF=0    # the most batches in flight seen on one partition
MAXPEND=0   # the most unfinished records seen in one partition's lanes
for _ in $(seq 1 150); do
    scrape || BAD=$((BAD + 1))
    read -r l0 l1 inf0 inf1 pend0 pend1 < <(scrape_values)
    LAGS="$LAGS $l0/$l1"
    for l in $l0 $l1; do
        if [ "$l" != none ] && [ "$l" -gt "$MAXLAG" ]; then
            MAXLAG=$l
        fi
    done
    for i in $inf0 $inf1; do
        [ "$i" != none ] && [ "$i" -gt "$MAXINF" ] && MAXINF=$i
    done
    for i in $pend0 $pend1; do
        [ "$i" != none ] && [ "$i" -gt "$MAXPEND" ] && MAXPEND=$i
    done
    if [ "$(delivered)" -ge 30 ] && [ "$l0" = 0 ] && [ "$l1" = 0 ]; then
        break
    fi
    sleep 0.2
done
tap_check "every one of $SCRAPES scrapes parses as text format 0.0.4" test "$BAD" = 0
tap_check "the handler saw all 30 records" test "$(delivered)" = 30
tap_check "OffsetLag was above zero while the first batch was slow (max $MAXLAG)" test "$MAXLAG" -gt 0
tap_check "then fell to 0 on both partitions (last: ${LAGS##* })" test "${LAGS##* }" = 0/0
# nothing is produced meanwhile: a partition's lag, once known, never rises
never_rises() {
    python3 -c '
import sys
last = {}
for i, pair in enumerate(sys.argv[1:]):
    for p, v in enumerate(pair.split("/")):
        if v != "none":
            if p in last and int(v) > last[p]:
                sys.exit("partition %d: %d after %d" % (p, int(v), last[p]))
            last[p] = int(v)' $LAGS
}
tap_check "and never rose on the way ($LAGS)" never_rises
INV=$(wc -l <"$T/invocations")
tap_check "records received per partition sum to 30" test "$(value kesm_records_received_total)" = 30
tap_check "invocations{outcome=ok} = the handler's $INV invocations" \
    test "$(value kesm_invocations_total outcome=ok)" = "$INV"
tap_check "no other outcome" test "$(value kesm_invocations_total)" = "$INV"
tap_check "batch size histogram: _count = $INV, _sum = 30" \
    test "$(value kesm_batch_records_count)/$(value kesm_batch_records_sum)" = "$INV/30"
tap_check "invoke latency: one invocation took over 2.5 s (the slow one)" \
    test "$(($(value kesm_invoke_duration_seconds_count) - $(value kesm_invoke_duration_seconds_bucket le=2.5)))" -ge 1
tap_check "records processed = 30" test "$(value kesm_records_processed_total)" = 30
tap_check "filtered = 0 (not implemented)" test "$(value kesm_records_filtered_total)" = 0
tap_check "one assignment (rebalance)" test "$(value kesm_rebalances_total)" -ge 1
tap_check "no rebalance paused a partition" \
    test "$(value kesm_rebalance_pauses_total)/$(value kesm_rebalance_pause_seconds_total)" = 0/0
# ParallelizationFactor 2: two lanes per partition, each with its gauges
lane_samples() { grep -c "^kesm_lane_records_pending{uuid=\"$U\"" "$T/scrapes/$SCRAPES"; }
tap_check "lane gauges for 2 lanes of 2 partitions ($(lane_samples) samples)" \
    test "$(lane_samples)" = 4
tap_check "lanes held unfinished records while the first batch was slow (max $MAXPEND), none at the end" \
    test "$MAXPEND" -gt 0 -a "$(value kesm_lane_records_pending)" = 0
tap_check "lane lag 0 at the end" test "$(value kesm_lane_offset_lag)" = 0
tap_check "batches in flight per partition seen, at most 2 ($MAXINF)" \
    test "$MAXINF" -ge 1 -a "$MAXINF" -le 2
tap_check "broker connections READY" test "$(value kesm_broker_connections state=READY)" -ge 1
tap_check "mapping state Enabled = 1" test "$(value kesm_mapping_state state=Enabled)" = 1
tap_check "function label is the function ARN" \
    grep -q "function=\"arn:aws:lambda:us-east-1:000000000000:function:metered\"" "$T/scrapes/$SCRAPES"
curl -sS -o "$T/health.json" -w '%{http_code}' "$BASE/health" >"$T/health.code"
tap_check "GET /health answers 200 ok with 1 Enabled mapping" \
    test "$(cat "$T/health.code") $(jq -c '[.Status, .Total, .Mappings.Enabled]' "$T/health.json")" = '200 ["ok",1,1]'
tap_check "POST /metrics is refused" \
    test "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$BASE/metrics" -d x)" = 404
tap_check "the mapping's log lines carry its UUID" grep -q " esm mapping=$U " "$T/serve.err"

# SIGTERM during a slow invocation: it finishes, its offsets are committed, exit 0.
touch "$T/slow_next"
tap_check "produce 4 more" kmock_cmd produce orders 4
tap_check "the slow invocation started" wait_until 20 test -e "$T/in_slow"
kill -TERM "$PID"
wait "$PID"
RC=$?
PID=
tap_check "kesm serve exits 0 after SIGTERM" test "$RC" = 0
tap_check "all 34 records were delivered (the slow invocation finished before the exit)" test "$(delivered)" = 34
COMMITTED=$(kmock_cmd committed "$U" orders 2)
want=$(python3 -c '
import sys
hi = {}
for l in open(sys.argv[1]):
    p, o = map(int, l.split())
    hi[p] = max(hi.get(p, -1), o + 1)
print(" ".join("%d=%d" % (p, hi[p]) for p in sorted(hi)))' "$T/delivered")
tap_check "offsets after the slow batch are committed ($COMMITTED)" \
    test "$COMMITTED" = "ok committed group=$U topic=orders $want"
tap_check "no secret or credential in the log" sh -c "! grep -qiE 'password|secret_access|AKID' '$T/serve.err'"
if [ "$TAP_FAIL" != 0 ]; then
    sed 's/^/# /' "$T/serve.err" | grep -v ' DEBUG ' | tail -40
    echo "# lags:$LAGS"
    cat "$T/scrapes/"*.err 2>/dev/null | head -5 | sed 's/^/# /'
fi
kmock_stop
tap_done
