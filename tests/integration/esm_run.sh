#!/usr/bin/env bash
# tests/integration/esm_run.sh: `kesm run` end to end against kmock: records with keys, null keys,
# headers, tombstones and every codec go through the consumer, the pipeline and the exec
# transport (examples/handler.py) exactly once and in order per partition; offsets are committed;
# a restart resumes from them; kill -9 in the middle of a batch then a restart delivers the
# interrupted batch again and loses nothing; the http transport delivers to a local HTTP server;
# the live status line appears on a terminal only.
. "$(dirname "$0")/../lib/prelude.sh"
. tests/lib/kmock.sh
. tests/integration/esm_run_lib.bash

SINK_PID=
HANG_PID=
cleanup() {
    kesm_kill
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
    [ -n "$HANG_PID" ] && kill "$HANG_PID" 2>/dev/null
    kmock_stop
}
at_exit cleanup

if [ ! -x "$KESM" ]; then
    echo "not ok - $KESM is not built"
    exit 1
fi
kmock_start -b 3 -t orders:3 -t crash:2 -t web:2 -t tty:1 -l "$LIFETIME" || {
    echo "not ok - kmock did not start"
    exit 1
}
T=$RUN_TMP

# ---- exactly once, in order, every codec ----------------------------------------------------
produce_mix() { # TOPIC
    local ok=0
    kmock_cmd produce "$1" 9 codec=none headers=source=test,empty || ok=1
    kmock_cmd produce "$1" 6 codec=gzip key=null || ok=1
    kmock_cmd produce "$1" 6 codec=snappy key=%7Bk%7D headers=h%3D1=v%2C2 || ok=1
    kmock_cmd produce "$1" 6 codec=lz4 value=null || ok=1
    kmock_cmd produce "$1" 6 codec=zstd size=300 || ok=1
    return $ok
}
tap_check "produce 33 records (every codec, null keys, headers, tombstones)" produce_mix orders
run_mapping "$T/m1.json" orders
HANDLER_LOG=$T/log1 kesm_start "$T/m1.json"
wait_lines 40 "$T/log1" 33
wait_committed 20 orders 3 "0=11 1=11 2=11"
kesm_stop
tap_check "kesm run exits 0 after SIGINT" test "$KESM_RC" = 0
tap_check "every record delivered exactly once, in order per partition" \
    log_check "$T/log1" exact orders-0=11 orders-1=11 orders-2=11
tap_check "null keys arrive as absent keys" grep -q '^orders-0 [0-9]* None seq=' "$T/log1"
tap_check "tombstones arrive as absent values" grep -q '^orders-[0-9] [0-9]* k[0-9]*-[0-9]* None$' "$T/log1"
tap_check "headers arrive decoded (signed bytes)" grep -q 'headers=\[h=1=v,2\]' "$T/kesm.err"
G=$(group_of)
tap_check "offsets committed after success" \
    grep -q "0=11 1=11 2=11" <<<"$(committed_of "$G" orders 3)"
tap_check "graceful stop leaves the group" grep -q 'group .*: left' "$T/kesm.err"

# ---- restart resumes from the committed offsets --------------------------------------------
kmock_cmd produce orders 12 codec=lz4 >/dev/null
HANDLER_LOG=$T/log1 kesm_start "$T/m1.json"
wait_lines 40 "$T/log1" 45
wait_committed 20 orders 3 "0=15 1=15 2=15"
kesm_stop
tap_check "restart exits 0" test "$KESM_RC" = 0
tap_check "a restart resumes from the commits: nothing delivered twice" \
    log_check "$T/log1" exact orders-0=15 orders-1=15 orders-2=15
tap_check "offsets committed after the restart" \
    grep -q "0=15 1=15 2=15" <<<"$(committed_of "$G" orders 3)"

# ---- kill -9 in the middle of a batch ------------------------------------------------------
kmock_cmd produce crash 20 partition=0 >/dev/null
kmock_cmd produce crash 1 partition=0 value=hang >/dev/null
kmock_cmd produce crash 9 partition=0 >/dev/null
kmock_cmd produce crash 10 partition=1 >/dev/null
run_mapping "$T/m2.json" crash '"BatchSize": 5'
HANDLER_LOG=$T/log2 HANDLER_HANG_VALUE=hang HANDLER_HANG_MARK=$T/hang kesm_start "$T/m2.json"
wait_until 90 test -s "$T/hang"
HANG_PID=$(cat "$T/hang" 2>/dev/null)
before=$(lines "$T/log2")
kesm_kill
[ -n "$HANG_PID" ] && kill "$HANG_PID" 2>/dev/null
tap_check "kesm was killed while the handler held the batch with the marked record" \
    test -n "$HANG_PID" -a "$before" -ge 20
HANDLER_LOG=$T/log2 kesm_start "$T/m2.json"
wait_lines 40 "$T/log2" $((before + 10))
wait_committed 30 crash 2 "0=30 1=10"
kesm_stop
tap_check "restart after kill -9 exits 0" test "$KESM_RC" = 0
tap_check "nothing lost after kill -9: every offset delivered" \
    log_check "$T/log2" atleast crash-0=30 crash-1=10
tap_check "the interrupted batch was delivered again" grep -q '^crash-0 20 k0-20 hang$' "$T/log2"
G2=$(group_of)
tap_check "offsets committed after the restart" \
    grep -q "0=30 1=10" <<<"$(committed_of "$G2" crash 2)"

# ---- http transport ------------------------------------------------------------------------
# The emulator-shaped fake (one invocation at a time; a second one while one runs crashes it, as
# the Runtime Interface Emulator does). Each invocation takes 0.2 s: long enough for batches of
# two partitions to overlap if kesm sent them at once.
timeout "$LIFETIME" python3 tests/tools/fake_lambda.py --mode rie --script slow:0.2 --lifetime "$LIFETIME" \
    --port-file "$T/port" --log "$T/rie.log" --record-log "$T/log3" 2>"$T/rie.err" &
SINK_PID=$!
wait_until 60 test -s "$T/port"
kmock_cmd produce web 16 codec=zstd headers=x=y >/dev/null
run_mapping "$T/m3.json" web
sed -i "s|\"Kesm\": {.*|\"Kesm\": {\"Transport\": \"http\", \"Url\": \"http://127.0.0.1:$(cat "$T/port")/2015-03-31/functions/function/invocations\"}}|" "$T/m3.json"
kesm_start "$T/m3.json"
wait_lines 40 "$T/log3" 16
wait_committed 20 web 2 "0=8 1=8"
kesm_stop
tap_check "http transport: exits 0" test "$KESM_RC" = 0
tap_check "http transport: every record delivered exactly once, in order" \
    log_check "$T/log3" exact web-0=8 web-1=8
tap_check "http transport: one invocation at a time (the emulator-shaped fake never crashed)" \
    eval "kill -0 $SINK_PID && ! grep -q '\"event\": \"crash\"' '$T/rie.log'"
G3=$(group_of)
tap_check "http transport: offsets committed" grep -q "0=8 1=8" <<<"$(committed_of "$G3" web 2)"

# ---- the live status line on a terminal (script(1) provides one) -------------------------
kmock_cmd produce tty 5 >/dev/null
run_mapping "$T/m4.json" tty
sed -i 's|"Kesm": {.*|"Kesm": {"Transport": "stdout"}}|' "$T/m4.json"
# script(1) needs a pseudo-terminal; once in many runs under load the typescript stayed empty
# (not even script's own "Script started" header, so script itself never got going). Such a start
# is tried again (at most 3 times) with script's exit status and stderr kept for the log; a run
# whose typescript has the header is judged as it is, never retried.
for attempt in 1 2 3; do
    rm -f "$T/typescript"
    SCRIPT_RC=0
    KESM_LOG_LEVEL=warn timeout -s INT 30 script -qec "$KESM run --config $T/m4.json >/dev/null" \
        "$T/typescript" </dev/null >/dev/null 2>"$T/script.err" || SCRIPT_RC=$?
    grep -aq 'Script started' "$T/typescript" 2>/dev/null && break
    echo "# script(1) attempt $attempt did not start (exit $SCRIPT_RC): $(head -c 300 "$T/script.err" | tr '\n' ' ')"
done
tap_check "on a terminal: a live status line with records/s, lag, invocations and the result" \
    grep -aEq 'kesm: [0-9]+ rec/s  lag ([0-9]+|[?])  partitions 1  invocations [0-9]+  errors 0  done 5  OK' "$T/typescript"
tap_check "not on a terminal: no status line" sh -c "! grep -q 'rec/s' '$T/kesm.err'"
if ! grep -aq 'done 5  OK' "$T/typescript"; then
    echo "# terminal output (last 400 bytes, control characters shown):"
    tail -c 400 "$T/typescript" | cat -v | sed 's/^/#   /'
fi

if [ "$TAP_FAIL" != 0 ]; then
    echo "# kesm stderr (last 30 lines):"
    grep -v ' net ' "$T/kesm.err" | tail -30 | sed 's/^/#   /'
fi
kmock_stop
tap_done
