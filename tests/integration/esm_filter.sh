#!/usr/bin/env bash
# tests/integration/esm_filter.sh: FilterCriteria end to end with `kesm run` against kmock: JSON
# values, some matching and some not, a plain-string value (a JSON pattern does not apply to it:
# Lambda then evaluates the metadata only, so it is delivered), tombstones, and a partition whose
# records all fail the filter. Exactly the matching records reach examples/handler.py, the
# committed offsets reach the end of both partitions, and the final log line counts the filtered
# records. A restart with FilterCriteria {} delivers everything again; a bad pattern is refused
# with the filter's index and the reason.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/kmock.sh
. tests/integration/esm_run_lib.bash

cleanup() {
    kesm_kill
    kmock_stop
    rm -rf "$RUN_TMP"
}
trap cleanup EXIT

if [ ! -x "$KESM" ]; then
    echo "not ok - $KESM is not built"
    exit 1
fi
kmock_start -b 1 -t filt:2 -t open:1 || {
    echo "not ok - kmock did not start"
    exit 1
}
T=$RUN_TMP

# pct: percent-encode a literal for kmock (blanks, commas, equals and percent signs).
pct() {
    printf '%s' "$1" | sed -e 's/%/%25/g' -e 's/ /%20/g' -e 's/,/%2C/g' -e 's/=/%3D/g'
}

produce_all() {
    local ok=0 keep5 keep9 low ping
    keep5=$(pct '{"kind":"order","n":5}')
    keep9=$(pct '{"kind":"order","n":9,"tags":["a","b"]}')
    low=$(pct '{"kind":"order","n":1}')
    ping=$(pct '{"kind":"ping"}')
    # partition 0: offsets 0-2 keep, 3-4 drop, 5-6 drop, 7-8 keep, 9 plain string (kept),
    # 10-12 tombstones (drop), 13 keep, 14-17 drop: the partition ends with filtered records.
    kmock_cmd produce filt 3 partition=0 "value=$keep5" || ok=1
    kmock_cmd produce filt 2 partition=0 "value=$ping" || ok=1
    kmock_cmd produce filt 2 partition=0 "value=$low" || ok=1
    kmock_cmd produce filt 2 partition=0 "value=$keep9" codec=lz4 || ok=1
    kmock_cmd produce filt 1 partition=0 "value=$(pct 'hello world')" || ok=1
    kmock_cmd produce filt 3 partition=0 value=null || ok=1
    kmock_cmd produce filt 1 partition=0 "value=$keep5" || ok=1
    kmock_cmd produce filt 4 partition=0 "value=$ping" codec=zstd || ok=1
    # partition 1: nothing matches.
    kmock_cmd produce filt 5 partition=1 "value=$low" || ok=1
    return $ok
}
tap_check "produce 23 records (JSON, plain string, tombstones) on two partitions" produce_all

PATTERN='{\"value\":{\"kind\":[\"order\"],\"n\":[{\"numeric\":[\">\",3]}]}}'
run_mapping "$T/m1.json" filt "\"FilterCriteria\": {\"Filters\": [{\"Pattern\": \"$PATTERN\"}]}"
HANDLER_LOG=$T/log1 kesm_start "$T/m1.json"
G=$(for i in $(seq 100); do
    g=$(group_of)
    [ -n "$g" ] && echo "$g" && break
    sleep 0.1
done)
committed_end() {
    grep -q "0=18 1=5" <<<"$(committed_of "$G" filt 2)"
}
tap_check "the committed offsets reach the end of both partitions" wait_until 30 committed_end
sleep 0.5
kesm_stop
tap_check "kesm run exits 0 after SIGINT" test "$KESM_RC" = 0
delivered() {
    local got
    got=$(awk '{print $1, $2}' "$T/log1" | tr '\n' ' ')
    [ "$got" = "filt-0 0 filt-0 1 filt-0 2 filt-0 7 filt-0 8 filt-0 9 filt-0 13 " ] || {
        echo "delivered: $got"
        return 1
    }
}
tap_check "exactly the matching records (and the plain-string one) reach the handler" delivered
tap_check "the plain-string value is delivered as it is" grep -q '^filt-0 9 .* hello world$' \
    "$T/log1"
tap_check "the final line counts 7 delivered and 16 filtered out" \
    grep -q 'stopped: offsets committed, group left (7 records delivered, 16 filtered out, 0 given up on)' \
    "$T/kesm.err"
tap_check "the filter is announced at start" grep -q 'FilterCriteria: 1 filter applied' "$T/kesm.err"

# ---- FilterCriteria {} removes the filter --------------------------------------------------
tap_check "produce 4 more records" kmock_cmd produce open 4 "value=$(pct '{"kind":"ping"}')"
run_mapping "$T/m2.json" open '"FilterCriteria": {}'
HANDLER_LOG=$T/log2 kesm_start "$T/m2.json"
wait_lines 30 "$T/log2" 4
sleep 0.5
kesm_stop
tap_check "with FilterCriteria {} every record is delivered" log_check "$T/log2" exact open-0=4

# ---- an invalid pattern is refused ---------------------------------------------------------
BAD='{\"value\":{\"n\":[{\"numberic\":[\">\",3]}]}}'
run_mapping "$T/m3.json" filt "\"FilterCriteria\": {\"Filters\": [{\"Pattern\": \"{}\"}, {\"Pattern\": \"$BAD\"}]}"
timeout 20 "$KESM" run --no-status --config "$T/m3.json" >"$T/m3.out" 2>"$T/m3.err"
rc=$?
tap_check "a bad pattern: kesm run exits 2 (ESM_CONFIG_NOT_VALID)" test "$rc" = 2
tap_check "  the error names the filter and the unknown operator" \
    grep -q "ESM_CONFIG_NOT_VALID: .*'FilterCriteria.Filters\[1\].Pattern' failed to satisfy constraint: Member must be a valid filter pattern: unknown operator \"numberic\" at value.n" \
    "$T/m3.err"

kmock_stop
tap_done
