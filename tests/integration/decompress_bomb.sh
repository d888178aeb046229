#!/usr/bin/env bash
# decompress_bomb.sh: a record batch that decompresses beyond the limit no longer stalls its
# partition silently (issue 14, finding 6). kmock holds one zstd batch of 20,000 records
# (tests/tools/records_produce: about 2 MB decompressed) and 5 ordinary records behind it; kesm
# serve runs with KESM_MAX_DECOMPRESSED_MB=1. The mapping reports the batch in
# LastProcessingResult, /metrics and the log, retries it, then writes a failure record with
# condition MaximumPayloadSizeExceeded and the batch's offset range to its on-failure directory,
# skips it, and delivers the 5 records behind it.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/lib/api.sh
PRODUCE=$ASAN_TREE/tools/records_produce
T=$TEST_TMP
PID=
cleanup() {
    [ -n "$PID" ] && stop_pid "$PID"
    kmock_stop
}
at_exit cleanup
for need in "$KESM" "$PRODUCE" /usr/bin/jq /usr/bin/curl; do
    [ -x "$need" ] || { echo "not ok - $need is missing"; exit 1; }
done
kmock_start -b 1 -t bomb:1 || { echo "not ok - kmock did not start"; exit 1; }
tap_check "a zstd batch of 20000 records lands at offsets 0-19999" \
    sh -c "'$PRODUCE' '$KMOCK_BOOTSTRAP' bomb 0 zstd 20000 >/dev/null"
tap_check "5 ordinary records behind it (20000-20004)" kmock_cmd produce bomb 5

export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
export AWS_DEFAULT_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE
export KESM_SESSION_TIMEOUT_MS=6000 KESM_HEARTBEAT_INTERVAL_MS=500 KESM_MAX_DECOMPRESSED_MB=1
export BOMB_LOG=$T/delivered
printf '#!/bin/sh\ncat >>"$BOMB_LOG"\necho >>"$BOMB_LOG"\n' >"$T/fn.sh"
chmod 755 "$T/fn.sh"
mkdir "$T/failed"
timeout --foreground --kill-after=10 "$LIFETIME" "$KESM" serve --listen 127.0.0.1:0 --state-dir "$T/state" \
    --drain-timeout 2000 --route "*=exec:$T/fn.sh" --allow-api-file-destinations \
    >"$T/serve.out" 2>"$T/serve.err" &
PID=$!
tap_check "kesm serve starts" wait_until 60 grep -q 'listening on' "$T/serve.out"
PORT=$(sed -n 's|^kesm serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$T/serve.out")
API=http://127.0.0.1:$PORT/2015-03-31/event-source-mappings
api_curl -sS -o "$T/create.json" -X POST "$API" -d "{\"FunctionName\":\"bomb-fn\",\"Topics\":[\"bomb\"],
  \"StartingPosition\":\"TRIM_HORIZON\",\"MaximumBatchingWindowInSeconds\":0,
  \"DestinationConfig\":{\"OnFailure\":{\"Destination\":\"file://$T/failed\"}},
  \"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"$KMOCK_BOOTSTRAP\"]}}}"
U=$(jq -r .UUID "$T/create.json")
tap_check "the mapping is created" test -n "$U" -a "$U" != null
result() { api_curl -sS "$API/$U" | jq -r .LastProcessingResult; }
reported() { result | grep -q "^PROBLEM: Record batch cannot be decoded: bomb-0 offsets 0-19999: it decompresses to more than 1048576 bytes"; }
tap_check "LastProcessingResult names the batch, its offsets and why" wait_until 30 reported
result | sed 's/^/# /'
metric() {
    curl -sS "http://127.0.0.1:$PORT/metrics" | grep -qE "^kesm_undecodable_batches_total\\{uuid=\"$U\"[^}]*\\} [1-9]"
}
tap_check "/metrics counts it (kesm_undecodable_batches_total)" wait_until 10 metric
tap_check "the log says so" grep -q 'the record batch at offsets 0-19999 cannot be decoded' "$T/serve.err"
failure() { ls "$T/failed"/*.json >/dev/null 2>&1; }
tap_check "after its retries a failure record is written" wait_until 30 failure
F=$(ls "$T"/failed/*.json | head -1)
tap_check "... with condition MaximumPayloadSizeExceeded, no response, and the offset range" \
    test "$(jq -r '[.requestContext.condition, (.responseContext|tostring), .KafkaBatchInfo.recordsInfo["bomb-0"].firstRecordOffset, .KafkaBatchInfo.recordsInfo["bomb-0"].lastRecordOffset] | join(" ")' "$F")" \
    = "MaximumPayloadSizeExceeded null 0 19999"
behind() { [ -f "$BOMB_LOG" ] && python3 -c '
import json, sys
offs = sorted(r["offset"] for l in open(sys.argv[1]) if l.strip()
              for rs in json.loads(l)["records"].values() for r in rs)
sys.exit(0 if offs == list(range(20000, 20005)) else 1)' "$BOMB_LOG"; }
tap_check "the partition moved on: the 5 records behind the batch are delivered" wait_until 30 behind
ok_again() { [ "$(result)" = OK ]; }
tap_check "LastProcessingResult is OK again" wait_until 10 ok_again
kill -TERM "$PID"
wait "$PID"
RC=$?
PID=
tap_check "kesm serve exits 0 on SIGTERM" test "$RC" = 0
tap_done
